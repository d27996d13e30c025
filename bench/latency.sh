#!/bin/bash
# bench/latency.sh: submit -> result latency as a user sees it, at a steady
# rate: a 3-node cluster on 127.0.0.1 (role backend, master with standbys on
# the other two, every node in [master] replica-nodes, replicas = 1), WORKERS
# workers (`worker`, exec cat: a shell per job, concurrency 1) on the nodes
# that do not run the master, submitters (bench/paced.c: CONC processes with
# a REQ socket each to n2's proxy, job i sent at i / RATE s) and one
# `akc-results --follow`
# reader on n2 whose lines are time-stamped as they arrive. Per job: the
# submit sent -> its line printed by the reader; and sent -> acknowledged.
#
# Environment: BIN (the build to measure, default this tree), BEFORE (a
# second build, measured first, e.g. /work/main or a checkout of the commit
# before push), RATE (jobs/s, default 200), SECS (default 10), WORKERS
# (default 4), PIPE=1 (the workers persistent: --pipe etc/examples/echo-worker),
# CONC (submitting processes sharing the rate, default 4),
# RUNS (default 1: each build measured RUNS times, alternating), KEEP=1
# (keep the logs), VIA=master (the submitters and the reader on the master's
# node instead of n2, on the master's own socket when the build binds one;
# AKC_MASTER_DIRECT=0: its proxy), TRACE=1 (the daemons run with AKC_TRACE: the master logs
# each commit's stages, the standbys each sync, and bench/timeline.py prints
# where a job's time goes; a build without the trace prints no timeline),
# STAMP=bash (the reader's lines stamped by a bash loop, as before lat2:
# about 0.1 ms later than they arrive, bash reading a byte at a time).
# Each run also measures the disk's fdatasync (bench/submit fsync) in its
# state directory. Figures are printed, not asserted.
# Every process it starts is stopped by pid at exit.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
BIN=${BIN:-$PWD}
BEFORE=${BEFORE:-}
RATE=${RATE:-200}
SECS=${SECS:-10}
WORKERS=${WORKERS:-4}
CONC=${CONC:-4}
RUNS=${RUNS:-1}
KEEP=${KEEP:-}
PIPE=${PIPE:-}
TRACE=${TRACE:-}
VIA=${VIA:-}
STAMP=${STAMP:-}
STAMPER='import sys, time
out = sys.stdout.buffer
for l in iter(sys.stdin.buffer.readline, b""):
	out.write(b"%.6f " % time.time() + l)
	out.flush()'
export LC_ALL=C
[ -n "$TRACE" ] && export AKC_TRACE=1
N=3
TOP=$(mktemp -d /tmp/akclat.XXXXXX)
PIDS=()

cleanup() {
	local p kids
	[ ${#PIDS[@]} -gt 0 ] || return 0
	kids=$(descendants "${PIDS[@]}")
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		wait_for 10 eval "! kill -0 $p" || kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# what they started and did not stop (kill -9 only these very pids)
	for p in $kids; do kill -9 "$p" 2>/dev/null; done
	PIDS=()
}
trap finish EXIT
trap 'exit 130' INT TERM

make -s bench >&2 || { say "cannot build the bench clients: make bench"; exit 1; }
PACED=$PWD/bench/paced

# run LABEL BINDIR: one cluster of that build, one load, its figures
run() {
	local label=$1 bin=$2 D=$TOP/$1 i p old sent=$TOP/$1.sent seen=$TOP/$1.seen jobs
	jobs=$(( RATE * SECS ))
	for p in memberd leaderd singletond master worker akc-results akc-queue akc-status; do
		[ -x "$bin/$p" ] || { say "$bin/$p: build it first"; return 1; }
	done
	mkdir -p "$D"
	local fs
	fs=$(bench/submit fsync "$D" 200)
	work_confs "$D" "$N" "$bin"
	for ((i = 1; i <= N; i++)); do
		"$bin/memberd" -c "$D/n$i.conf" >> "$D/n$i.log" 2>&1 & PIDS+=($!)
		"$bin/leaderd" -c "$D/n$i.conf" >> "$D/n$i.log" 2>&1 & PIDS+=($!)
		wait_for 10 "$bin/akc-status" -c "$D/n$i.conf" || { say "n$i: memberd does not answer"; return 1; }
		"$bin/singletond" -c "$D/n$i.conf" -s master >> "$D/n$i.log" 2>&1 & PIDS+=($!)
	done
	for ((i = 1; i <= N; i++)); do
		wait_for 60 "$bin/akc-queue" -c "$D/n$i.conf" --json --timeout 2s ||
		    { say "the master does not answer on n$i"; return 1; }
	done
	wait_for 30 eval "[ \"\$($bin/akc-queue -c $D/n1.conf --json | jq '.standbys | length')\" = 2 ]" ||
	    say "the master does not have both standbys"
	old=$("$bin/akc-status" -c "$D/n1.conf" --json | jq -r '.singletons[0].oldest')
	local others=()
	for p in n1 n2 n3; do [ "$p" != "$old" ] && others+=("$p"); done
	for ((i = 0; i < WORKERS; i++)); do
		p=${others[i % 2]}
		# PIPE=1: a persistent worker (the C echo example) instead of cat per job
		if [ -n "$PIPE" ]; then
			"$bin/worker" -c "$D/$p.conf" --pipe "$bin/etc/examples/echo-worker" \
			    >> "$D/$p.worker.log" 2>&1 & PIDS+=($!)
		else
			"$bin/worker" -c "$D/$p.conf" >> "$D/$p.worker.log" 2>&1 & PIDS+=($!)
		fi
	done
	wait_for 30 eval "[ \"\$($bin/akc-queue -c $D/n1.conf --json | jq '.workers | length')\" -ge $WORKERS ]" ||
	    { say "not all workers registered"; return 1; }
	# VIA=master: the clients on the master's node, on its own socket when the
	# build binds one (as akc-submit and akc-results do there)
	local at=n2 addr
	[ "$VIA" = master ] && at=$old
	addr="ipc://$D/$at/singleton.master"
	[ "$VIA" = master ] && [ "${AKC_MASTER_DIRECT:-1}" != 0 ] &&
	    [ -S "$D/$at/singleton.master.direct" ] && addr="ipc://$D/$at/singleton.master.direct"
	: > "$sent"
	# each line stamped as it arrives; bash's read takes a pipe a byte a
	# syscall (about 0.1 ms a result line here), so a line's stamp came that
	# late: STAMP=bash measures the old way
	if [ "$STAMP" = bash ]; then
		"$bin/akc-results" -c "$D/$at.conf" --follow 2>> "$D/follow.err" \
		    > >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done > "$seen") &
	else
		"$bin/akc-results" -c "$D/$at.conf" --follow 2>> "$D/follow.err" \
		    > >(python3 -c "$STAMPER" > "$seen") &
	fi
	PIDS+=($!)
	# a warm-up job: everything connected, the reader waiting
	"$PACED" "$addr" "warm" 1 1 1 "$D/warm" > /dev/null
	wait_for 20 grep -q '"warm-0"' "$seen" || { say "the reader saw nothing"; return 1; }
	"$PACED" "$addr" "$label" "$jobs" "$RATE" "$CONC" "$sent" > "$TOP/$label.out"
	cat "$sent".* > "$sent"
	wait_for 60 eval "[ \$(grep -c '\"$label-' $seen) -ge \$(wc -l < $sent) ]" ||
	    say "not every acknowledged job's result was seen"
	cleanup
	local ok err secs
	read -r ok err secs < "$TOP/$label.out"
	# id sent acked (submitter) joined with "time line" (reader)
	awk 'NR == FNR { s[$1] = $2; a[$1] = $3; next }
	    { if (match($0, /"id":"[^"]*"/)) { id = substr($0, RSTART + 6, RLENGTH - 7);
	      if (id in s) printf "%.3f %.3f\n", $1 * 1000 - s[id], a[id] - s[id] } }' \
	    "$sent" "$seen" > "$TOP/$label.lat"
	printf '%-8s %5s jobs in %5ss (%s/s), %s not acked; seen %5s;  submit->result p50 %6s p99 %6s max %6s ms;  submit->ack p50 %5s p99 %5s ms\n' \
	    "$label" "$ok" "$secs" "$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')" "$err" \
	    "$(wc -l < "$TOP/$label.lat")" \
	    "$(awk '{ print $1 }' "$TOP/$label.lat" | pct 50)" "$(awk '{ print $1 }' "$TOP/$label.lat" | pct 99)" \
	    "$(awk '{ print $1 }' "$TOP/$label.lat" | pct 100)" \
	    "$(awk '{ print $2 }' "$TOP/$label.lat" | pct 50)" "$(awk '{ print $2 }' "$TOP/$label.lat" | pct 99)"
	echo "         disk: fdatasync of a 128-byte append, 200 in a row before the run: median $(awk '{ print $1 }' <<<"$fs") ms, max $(awk '{ print $3 }' <<<"$fs") ms"
	if [ -n "$TRACE" ] && grep -q "trace commit" "$D"/n*.log 2>/dev/null; then
		python3 bench/timeline.py "$sent" "$seen" "$D"/n*.log
	fi
}

kind="exec cat"
[ -n "$PIPE" ] && kind="--pipe echo-worker"
echo "== submit -> result at $RATE jobs/s for ${SECS}s: 3 nodes, $WORKERS workers ($kind), submitter and"
if [ "$VIA" = master ]; then
	echo "   akc-results --follow reader on the master's node (its own socket if the build has one); $CONC submitting processes"
else
	echo "   akc-results --follow reader on n2 (the master on another node); $CONC submitting processes"
fi
# before and after alternate, so that both see the same share of a busy machine
for ((r = 1; r <= RUNS; r++)); do
	if [ -n "$BEFORE" ]; then
		run "before$r" "$BEFORE" || exit 1
	fi
	run "after$r" "$BIN" || exit 1
done
