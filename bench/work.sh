#!/bin/bash
# bench/work.sh: the work manager (master, worker) on local real nodes: 3
# nodes n1 n2 n3 on 127.0.0.1, role backend, each running memberd, leaderd
# and singletond -s master (the master on the oldest, `master --standby` on
# the others), every node in [master] replica-nodes and replicas = 1: a
# submit is acknowledged once its event is synced on a majority of the nodes
# (with 3: the master and one standby).
#
#  throughput: durable submits per second, no workers, from 1 and from 16
#    concurrent submitters (bench/submit.c: one REQ socket each to a node's
#    proxy, ipc://RUN/singleton.master, a request at a time), through the
#    master's own node and through another node; the latency of each submit;
#    the syncs (fdatasync + fsync system calls, counted by `perf stat` when
#    it can) of the master and of the standbys during each run, against the
#    events journalled (group commit: many events per sync); the disk's own
#    fdatasync time (a C loop: 128-byte append + fdatasync).
#  e2e: WORKERS workers (`worker`, exec cat, concurrency 1) and JOBS jobs
#    from 16 submitters at once; jobs/s and submit-to-result latency (sent by
#    the submitter -> seen by a results poller polling every 10 ms when idle),
#    which under that burst is mostly the wait in the queue; then PACED jobs
#    from one submitter pausing GAP_MS after each acknowledgement (far below
#    what the workers can do): the latency of the path itself.
#  failover: kill -9 of memberd, leaderd and singletond of the master's node
#    (the master dies with singletond), then a submit through the third node
#    until one is acknowledged; phases from the next oldest's akc-events
#    stream (UnreachableMember, MemberDowned, MemberRemoved), its
#    singletond's log (the master started) and the new master's ("replayed
#    ...": recovery done), the probe's acknowledgement. The killed node
#    comes back as a new incarnation (the master moves n1 -> n2 -> n3 -> n1).
#    The last phase includes up to 1 s of singletond's reconnect backoff to
#    its child's endpoint (nanomsg, 100 ms doubling to 1 s).
#  queue: issue 12's table in one run, side by side with beanstalkd (-f 0:
#    fsync before every reply; installed with apt-get when missing), the
#    ratios akc/beanstalkd: durable submits/s from 1 and 16 submitters
#    (bench/beanstalk.c: put into a tube), one akc-submit process per job
#    (its rate and CPU from start to exit, bench/submit.c cpu, with
#    /bin/true's for the floor), end to end jobs/s with WORKERS workers
#    (beanstalkd: reserve + delete, spawning cat per job or not), submit ->
#    result latency from one submitter pausing QGAP_MS (default 4) after each
#    acknowledgement, and CPU per job of the queue's own processes and of the
#    workers. bench/queue.sh runs it with 64-byte payloads.
#  drain: end to end without the submitters as the bound: DRAIN_JOBS (4000)
#    jobs submitted by DRAIN_SUBMITTERS (32) with no worker (that rate alone
#    printed), then WORKERS `worker --pipe echo-worker` (concurrency
#    WORKER_CONC, default 1; beanstalkd: as many reserve+delete clients,
#    inline) drain them, timed from their start to the last result's
#    "finished"; then a mixed run of as many more jobs while the workers
#    run, its submit rate printed beside its jobs/s. CPU per job of akc's
#    own processes (not the workers). AKC_BEFORE=DIR: the same rows for
#    another build's daemons in the same run (DRAIN_BEFORE_FIRST=1: first).
#  one: the one-submitter row alone, ONE_ROUNDS rounds alternating
#    beanstalkd, akc (lib/spc's client) and akc through a nanomsg REQ
#    client on one cluster; each round's ratios and the medians.
#  grow: one submitter's rounds on one cluster with no workers (every job
#    stays pending): per round the rate, the master's and the standbys' CPU
#    per submit, pending jobs; whether a submit's cost grows with them.
#  hold: a steady cluster to profile by hand, until $TOP/stop exists.
#  replay: bench/replay.c, the master's journal.c and work.c on LevelDB:
#    EVENTS events (accepted/started/completed cycles) then journal_replay
#    with no snapshot, with only a snapshot, and with a snapshot at 90 % and
#    the rest after it.
#
# Environment: PARTS (default "throughput e2e failover replay"), SUBMITS
# (per throughput run, default 4000), JOBS (default 2000), PACED (default
# 200), GAP_MS (default 50), WORKERS (default 4), WORKER_PIPE=1 (the queue
# part's akc workers persistent: --pipe echo-worker), BYTES (payload bytes,
# default 100), RUNS (failovers, default 3), PRELOAD (jobs submitted before
# the failovers, default 2000), EVENTS (default 1000000), KEEP=1 (keep the
# logs), AKC_BIN (the daemons and tools to measure; the bench clients are
# built by `make bench` in this tree), AKC_MASTER_DIRECT=0 (the clients on
# the master's node go through its proxy, not the master's own socket;
# passed on to the daemons and tools too). Needs jq, and perf for the sync
# counts (optional).
# Detector and downing, all parts: heartbeat-interval 100ms,
# acceptable-heartbeat-pause 1s, gossip-interval 100ms, keep-majority
# stable-after 2s. Figures are printed, not asserted. Every process it starts
# is killed by pid at exit (with what they started: singletond's keeper and
# master, the workers' jobs).
set -u
cd "$(dirname "$0")/.." || exit 1
AKC_BIN=${AKC_BIN:-$PWD}
PARTS=${PARTS:-throughput e2e failover replay}
SUBMITS=${SUBMITS:-4000}
JOBS=${JOBS:-2000}
WORKERS=${WORKERS:-4}
BYTES=${BYTES:-100}
RUNS=${RUNS:-3}
PRELOAD=${PRELOAD:-2000}
EVENTS=${EVENTS:-1000000}
PACED=${PACED:-200}
GAP_MS=${GAP_MS:-50}
KEEP=${KEEP:-}
export PATH="$AKC_BIN:$PATH"
export LC_ALL=C
for p in memberd leaderd singletond master worker akc-status akc-members akc-events akc-queue; do
	if [ ! -x "$AKC_BIN/$p" ]; then
		echo "bench: build first: make master worker akc-submit akc-results akc-queue singletond memberd leaderd" >&2
		exit 1
	fi
done
. bench/lib.sh

N=3
TOP=$(mktemp -d /tmp/akcwk.XXXXXX)
D=""				# the current cluster's directory
declare -A LIVE=()		# pid -> what, for every process we started and not yet reaped

# started PID: the process's start time (to tell it from a later one with its pid)
started() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }
cleanup() {
	local p t below=()
	{
		if [ ${#LIVE[@]} -gt 0 ]; then
			for p in $(descendants "${!LIVE[@]}"); do below+=("$p:$(started "$p")"); done
		fi
		for p in "${!LIVE[@]}"; do our_child "$p" && kill -9 "$p"; done
		for p in "${!LIVE[@]}"; do wait_for 5 gone "$p"; done
		# singletond's keeper kills the master when singletond dies; make sure
		for p in "${below[@]}"; do
			t=${p#*:}
			p=${p%%:*}
			[ -n "$t" ] && [ "$(started "$p")" = "$t" ] && kill -9 "$p"
		done
	} 2>/dev/null
	LIVE=()
}
trap finish EXIT
trap 'exit 130' INT TERM

# the clients, built against the project's objects
# the clients (bench/submit.c, bench/beanstalk.c, bench/replay.c): `make bench`
# builds them against the project's objects
make -s bench >&2 || { say "cannot build the bench clients: make bench"; exit 1; }
SUB=$PWD/bench/submit
BS=$PWD/bench/beanstalk
REPLAY=$PWD/bench/replay

# master_answers NODE: the master answers through NODE's proxy
master_answers() { akc-queue -c "$D/$1.conf" --json --timeout 2s >/dev/null; }
answers_everywhere() {
	local i
	for ((i = 1; i <= N; i++)); do master_answers "n$i" || return 1; done
}
proxy_of() { echo "ipc://$D/$1/singleton.master"; }
# client_of NODE: where a client of NODE sends, as the tools and workers do:
# the master's own socket when it runs there (a build that binds one, and
# AKC_MASTER_DIRECT not 0), else the proxy. Not for the failover part, whose
# nanomsg clients would wait on a stale socket file.
client_of() {
	local d="$D/$1/singleton.master.direct"
	if [ "${AKC_MASTER_DIRECT:-1}" != 0 ] && [ -S "$d" ]; then
		echo "ipc://$d"
	else
		proxy_of "$1"
	fi
}

# master_pid NODE [standby]: the master (or the standby) under NODE's singletond
master_pid() {
	local p want=${2:-}
	for p in $(descendants "$(pid_of "$1" singletond)"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = master ] || continue
		if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- --standby; then
			[ -n "$want" ] && { echo "$p"; return 0; }
		else
			[ -z "$want" ] && { echo "$p"; return 0; }
		fi
	done
	return 1
}
has_standby() { master_pid "$1" standby; }

# standbys_in NODE: NODE's master (since its last start) says it replicates to
# every other node
standbys_in() {
	local n
	for n in $(others "$1"); do
		awk -v n="$n" '/singleton master started as pid/ { ok = 0 }
		    index($0, "master: standby " n " (") && /replicating to it/ { ok = 1 }
		    END { exit !ok }' "$D/$1.singletond.log" || return 1
	done
}
others() { local i; for ((i = 1; i <= N; i++)); do [ "n$i" != "$1" ] && echo "n$i"; done; }

# build NAME: a fresh cluster of N nodes
build() {
	local i
	D=$TOP/$1
	mkdir -p "$D"
	work_confs "$D" "$N" "$AKC_BIN"
	for ((i = 1; i <= N; i++)); do
		cat >> "$D/n$i.conf" <<CONF
[cluster]
join-retry-max = 1s
[downing]
strategy = keep-majority
stable-after = 2s
CONF
	done
	for ((i = 1; i <= N; i++)); do start_node "n$i" master || return 1; done
	steady
}

# steady: all Up, everyone knows the oldest, the master answers everywhere,
# both standbys run and the master replicates to them
steady() {
	local old n
	wait_for 60 all_up_everywhere || { say "cluster not all Up"; return 1; }
	old=$(nth_oldest 0 | cut -d' ' -f1)
	wait_for 30 everyone_knows "$old" || { say "not every singletond knows $old is the oldest"; return 1; }
	wait_for 60 answers_everywhere || { say "the master does not answer on every node"; return 1; }
	for n in $(others "$old"); do
		wait_for 30 has_standby "$n" || { say "no standby on $n"; return 1; }
	done
	wait_for 30 standbys_in "$old" || say "the master on $old does not say it replicates to every standby"
	return 0
}

# ---- CPU, from /proc ----

HZ=$(getconf CLK_TCK)
ME=$(cat /proc/$$/comm)
# proc_kind PID: what one of our processes is
proc_kind() {
	local c
	c=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	case $c in
	master) tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- --standby && echo standby || echo master ;;
	memberd | leaderd | singletond | worker) echo "$c" ;;
	"$ME") echo stamp ;;	# the log stampers (subshells of this script)
	*) return 1 ;;
	esac
}
# cpu_mark FILE: CPU ticks so far of each of our processes (a worker with its
# finished jobs), and the machine's busy ticks
cpu_mark() {
	local p k
	{
		awk '/^cpu / { print "machine", "machine", $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
		# the children this script waited for: the clients (and the bench's own tools)
		awk '{ print "self", "clients", $16 + $17 }' /proc/$$/stat
		for p in "${!LIVE[@]}" $(descendants "${!LIVE[@]}"); do
			k=$(proc_kind "$p") || continue
			awk -v p="$p" -v k="$k" '{ t = $14 + $15; if (k == "worker") t += $16 + $17; print p, k, t }' \
			    "/proc/$p/stat" 2>/dev/null
		done
	} > "$1"
}
# cpu_report BEFORE AFTER SECONDS [COUNT WHAT]: core-seconds used in between,
# by kind, and per WHAT
cpu_report() {
	awk -v hz="$HZ" -v secs="$3" -v cores="$(nproc)" -v n="${4:-0}" -v what="${5:-}" '
	    NR == FNR { a[$1 " " $2] = $3; next }
	    { d = $3 - (($1 " " $2) in a ? a[$1 " " $2] : 0); s[$2] += d; if ($2 != "machine") ours += d }
	    END { printf "   CPU (core-seconds): master %.2f, standbys %.2f, memberd %.2f, singletond %.2f, leaderd %.2f,\n",
	              s["master"] / hz, s["standby"] / hz, s["memberd"] / hz, s["singletond"] / hz, s["leaderd"] / hz
	          if (s["worker"] > 0) printf "   workers with their jobs %.2f, ", s["worker"] / hz; else printf "   "
	          printf "log stampers %.2f, clients %.2f,\n", s["stamp"] / hz, s["clients"] / hz
	          rest = s["machine"] - ours; if (rest < 0) rest = 0	# two counters: ~0 when idle
	          printf "   the rest (other processes on the machine) %.2f; machine busy %.2f of %.2f in %.2fs\n",
	              rest / hz, s["machine"] / hz, secs * cores, secs
	          if (n > 0) {
	              k = 1000 / hz / n
	              printf "   per %s, ms of CPU: master %.2f, standbys %.2f, memberd %.2f, singletond %.2f,",
	                  what, s["master"] * k, s["standby"] * k, s["memberd"] * k, s["singletond"] * k
	              if (s["worker"] > 0) printf " workers %.2f,", s["worker"] * k
	              printf " clients %.2f; all of ours %.2f\n", s["clients"] * k, (ours - s["stamp"]) * k
	              # akc daemons, the workers with their jobs, the clients (ms per WHAT)
	              own = s["master"] + s["standby"] + s["memberd"] + s["singletond"] + s["leaderd"]
	              if (sum != "")
	                  printf "%.3f %.3f %.3f\n", own * k, s["worker"] * k, s["clients"] * k > sum } }' \
	    sum="${CPU_SUM:-}" "$1" "$2"
}

# ---- syncs, counted by perf ----

PERF=""
if command -v perf >/dev/null 2>&1 &&
    perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync true >/dev/null 2>&1; then
	PERF=1
fi
# perf_start FILE PID[,PID...]: counts fdatasync + fsync calls of those processes
perf_start() {
	[ -n "$PERF" ] || return 0
	perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync -p "$2" -o "$1" &
	LIVE[$!]="perf"
	PERF_PIDS+=("$!")
}
perf_stop() {
	local p
	for p in "${PERF_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${PERF_PIDS[@]}"; do wait "$p" 2>/dev/null; reap "$p"; done
	PERF_PIDS=()
}
PERF_PIDS=()
perf_count() {
	if [ -z "$PERF" ] || [ ! -s "$1" ]; then
		echo n/a
		return
	fi
	awk -F, '$3 ~ /sys_enter_f/ && $1 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }' "$1"
}

# run_bg OUT CMD...: runs CMD (ours, killed at exit if still there), waits for it
run_bg() {
	local out=$1 p rc; shift
	"$@" > "$out" &
	p=$!
	LIVE[$p]="$1"
	wait "$p"
	rc=$?
	reap "$p"
	return $rc
}

# ---- 1. throughput ----

part_throughput() {
	local old sb via via_n conc tag log ok err secs m s1 s2 fs t0
	say "throughput: starting $N nodes"
	build tp || return 1
	read -r old _ < <(nth_oldest 0)
	read -r via _ < <(nth_oldest 2)
	fs=$("$SUB" fsync "$D" 1000)
	# warm-up: the first submits open the standbys' relay paths
	run_bg "$TOP/tp.warm" "$SUB" submit "$(client_of "$old")" warm 200 4 "$BYTES" ||
		say "warm-up: some submits failed"
	m=$(master_pid "$old") || { say "no master process under $old's singletond"; return 1; }
	sb=$(for n in $(others "$old"); do master_pid "$n" standby; done | paste -sd,)
	echo
	echo "== durable submits: $N nodes on 127.0.0.1, role backend, all $N the replica set, replicas = 1 (acknowledged"
	echo "   once synced on a majority: the master and one of its 2 standbys); no workers; $BYTES-byte payloads;"
	echo "   master on $old; each submitter a REQ socket to a node's proxy, one request at a time"
	echo "   disk: fdatasync of a 128-byte append (1000 in a row, $D on $(df --output=source "$D" | tail -1)):" \
	    "median $(awk '{ print $1 }' <<<"$fs") ms, mean $(awk '{ print $2 }' <<<"$fs") ms," \
	    "max $(awk '{ print $3 }' <<<"$fs") ms"
	[ -z "$PERF" ] && echo "   (perf cannot count system calls here: syncs n/a)"
	printf '%-24s %10s %7s %7s %9s %18s %12s %11s %13s\n' "through the proxy of" submitters submits seconds \
	    submits/s "latency p50/p99 ms" "master syncs" events/sync "standby syncs"
	for via_n in "$old" "$via"; do
		for conc in 1 16; do
			tag=tp-$via_n-$conc
			log=$TOP/$tag.log
			: > "$log"
			perf_start "$TOP/$tag.perf.m" "$m"
			perf_start "$TOP/$tag.perf.s" "$sb"
			sleep 0.5	# perf attached
			cpu_mark "$TOP/$tag.cpu0"
			t0=$(now_ms)
			run_bg "$TOP/$tag.out" "$SUB" submit "$(client_of "$via_n")" "$tag" "$SUBMITS" "$conc" \
			    "$BYTES" "$log"
			t0=$(( $(now_ms) - t0 ))
			cpu_mark "$TOP/$tag.cpu1"
			perf_stop
			read -r ok err secs < "$TOP/$tag.out"
			s1=$(perf_count "$TOP/$tag.perf.m")
			s2=$(perf_count "$TOP/$tag.perf.s")
			printf '%-24s %10d %7d %7.2f %9.0f %11s/%-6s %12s %11s %13s\n' \
			    "$via_n$([ "$via_n" = "$old" ] && echo " (master's node)" || echo " (another node)")" \
			    "$conc" "$ok" "$secs" "$(awk -v n="$ok" -v s="$secs" 'BEGIN { print n / s }')" \
			    "$(awk '{ print $3 - $2 }' "$log" | pct 50)" "$(awk '{ print $3 - $2 }' "$log" | pct 99)" \
			    "$s1" "$(awk -v n="$ok" -v s="$s1" 'BEGIN { if (s + 0 > 0) printf "%.1f", n / s; else print "n/a" }')" \
			    "$s2"
			[ "$err" -gt 0 ] && echo "   ($err submits got no acknowledgement)"
			cpu_report "$TOP/$tag.cpu0" "$TOP/$tag.cpu1" "$(awk -v t="$t0" 'BEGIN { print t / 1000 }')" \
			    "$ok" submit > "$TOP/$tag.cpu"
		done
	done
	for via_n in "$old" "$via"; do
		for conc in 1 16; do
			echo "  through $via_n, $conc submitter$([ "$conc" -gt 1 ] && echo s):"
			cat "$TOP/tp-$via_n-$conc.cpu"
		done
	done
	echo "   syncs: fdatasync + fsync calls of the master process (all threads; LevelDB's own table and"
	echo "   manifest writes included) and of both standbys together, counted by perf during the run"
	cleanup
}

# ---- 2. end to end ----

part_e2e() {
	local old via i
	say "e2e: starting $N nodes"
	build e2e || return 1
	read -r old _ < <(nth_oldest 0)
	read -r via _ < <(nth_oldest 2)
	for ((i = 0; i < WORKERS; i++)); do
		LABEL=worker$i start worker "n$(( i % N + 1 ))"
	done
	wait_for 30 workers_in "$old" || { say "not all $WORKERS workers registered"; return 1; }
	echo
	echo "== end to end: $WORKERS workers (exec cat, concurrency 1) on $(for ((i = 0; i < WORKERS; i++)); do
	    echo -n "n$(( i % N + 1 )) "; done)(master on $old); $BYTES-byte payloads; submitters and a"
	echo "   results poller (polling every 10 ms when nothing is new) all through $via's proxy"
	e2e_run burst "$JOBS" 16 0 "$old" "$via"
	e2e_run paced "$PACED" 1 "$GAP_MS" "$old" "$via"
	cleanup
}

# e2e_run TAG JOBS SUBMITTERS GAP_MS MASTER VIA: one load and its figures
e2e_run() {
	local tag=$1 jobs=$2 conc=$3 gap=$4 old=$5 via=$6 sent res lat first last ok err secs t0 fp
	sent=$TOP/e2e.$tag.sent
	res=$TOP/e2e.$tag.results
	: > "$sent"
	: > "$res"
	cpu_mark "$TOP/e2e.$tag.cpu0"
	t0=$(now_ms)
	"$SUB" follow "$(client_of "$via")" "$jobs" 600 "$res" "$tag-" > "$TOP/e2e.$tag.follow" &
	fp=$!
	LIVE[$fp]=follow
	SUBMIT_GAP_MS=$gap run_bg "$TOP/e2e.$tag.out" "$SUB" submit "$(client_of "$via")" "$tag" "$jobs" "$conc" \
	    "$BYTES" "$sent"
	wait "$fp"
	reap "$fp"
	cpu_mark "$TOP/e2e.$tag.cpu1"
	t0=$(( $(now_ms) - t0 ))
	read -r ok err secs < "$TOP/e2e.$tag.out"
	lat=$TOP/e2e.$tag.lat
	# id sent acked (submitter) joined with seq id arrived status worker (poller)
	awk 'NR == FNR { s[$1] = $2; next } ($2 in s) { printf "%.3f %.3f %s\n", $3 - s[$2], $3, $4 }' \
	    "$sent" "$res" > "$lat"
	first=$(awk '{ print $2 }' "$sent" | sort -n | head -1)
	last=$(awk '{ print $3 }' "$res" | sort -n | tail -1)
	if [ "$gap" -gt 0 ]; then
		echo "  $jobs jobs from 1 submitter, ${gap} ms between an acknowledgement and the next submit:"
	else
		echo "  $jobs jobs from $conc submitters at once (each a request at a time):"
	fi
	printf '    %-50s %s\n' "submitted (acknowledged, durable)" \
	    "$ok in $secs s ($(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')/s)$([ "$err" -gt 0 ] &&
	    echo "; $err not acknowledged")"
	printf '    %-50s %s\n' "results seen" "$(wc -l < "$res") ($(awk '$4 == "done"' "$res" | wc -l) done)"
	[ -n "$first" ] && [ -n "$last" ] && printf '    %-50s %s\n' "first submit sent -> last result seen" \
	    "$(awk -v a="$first" -v b="$last" -v n="$(wc -l < "$res")" 'BEGIN {
	        printf "%.2f s: %.0f jobs/s", (b - a) / 1000, n * 1000 / (b - a) }')"
	printf '    %-50s p50 %s ms, p99 %s ms, max %s ms\n' "submit sent -> result seen, per job" \
	    "$(awk '{ print $1 }' "$lat" | pct 50)" "$(awk '{ print $1 }' "$lat" | pct 99)" \
	    "$(awk '{ print $1 }' "$lat" | pct 100)"
	printf '    %-50s p50 %s ms, p99 %s ms\n' "submit sent -> acknowledged" \
	    "$(awk '{ print $3 - $2 }' "$sent" | pct 50)" "$(awk '{ print $3 - $2 }' "$sent" | pct 99)"
	printf '    %-50s %s\n' "jobs per worker" "$(awk '{ n[$5]++ } END { for (w in n) print n[w] }' "$res" |
	    sort -rn | paste -sd' ')"
	CPU_SUM=$TOP/e2e.$tag.cpusum cpu_report "$TOP/e2e.$tag.cpu0" "$TOP/e2e.$tag.cpu1" \
	    "$(awk -v t="$t0" 'BEGIN { print t / 1000 }')" "$([ "$gap" -eq 0 ] && wc -l < "$res")" job | sed 's/^/  /'
	# for the queue part: jobs/s (first sent -> last seen), latency p50 p99 (ms)
	echo "$( [ -n "$first" ] && [ -n "$last" ] && awk -v a="$first" -v b="$last" -v n="$(wc -l < "$res")" \
	    'BEGIN { printf "%.0f", n * 1000 / (b - a) }' || echo 0)" \
	    "$(awk '{ print $1 }' "$lat" | pct 50)" "$(awk '{ print $1 }' "$lat" | pct 99)" > "$TOP/e2e.$tag.sum"
}
workers_in() {
	[ "$(akc-queue -c "$D/$1.conf" --json --timeout 2s | jq '.workers | length')" -ge "$WORKERS" ]
}

# ---- 3. failover ----

# log_ms FILE REGEX T0: epoch ms of the first stamped line matching REGEX at or after T0
log_ms() {
	awk -v t0="$3" -v re="$2" '$1 * 1000 >= t0 && $0 ~ re { printf "%.0f\n", $1 * 1000; exit }' "$1"
}

failover_round() {
	local r=$1 old olduid next third ev="$D/f$1.events" t0 tu td trm tsg trep tok tries out rep p
	steady || return 1
	sleep 1
	read -r old olduid < <(nth_oldest 0)
	read -r next _ < <(nth_oldest 1)
	read -r third _ < <(nth_oldest 2)
	watch "$next" "$ev" || { say "no event stream from $next"; return 1; }
	# a random moment within a heartbeat interval
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.1 * r / 32768 }')"
	t0=$(now_ms)
	kill -9 "$(pid_of "$old" memberd)" "$(pid_of "$old" leaderd)" "$(pid_of "$old" singletond)"
	out=$TOP/f$r.probe
	run_bg "$out" "$SUB" probe "$(proxy_of "$third")" "probe-$r" 120 ||
		say "failover $r: no submit acknowledged through $third within 120s"
	read -r tok tries < "$out"
	tok=${tok%.*}
	wait_for 10 node_gone "$old" || say "failover $r: $old's daemons still there"
	for p in $(pid_of "$old" memberd) $(pid_of "$old" leaderd) $(pid_of "$old" singletond); do reap "$p"; done
	sleep 0.5
	unwatch
	tu=$(event_ms "$ev" UnreachableMember "$old" "$olduid")
	td=$(event_ms "$ev" MemberDowned "$old" "$olduid")
	trm=$(event_ms "$ev" MemberRemoved "$old" "$olduid")
	tsg=$(log_ms "$D/$next.singletond.log" "singleton master started as pid" "$t0")
	trep=$(log_ms "$D/$next.singletond.log" "master: journal .*: replayed to event" "$t0")
	rep=$(awk -v t0="$t0" '$1 * 1000 >= t0 && /master: journal .*: replayed to event/ {
	    sub(/.*replayed to event /, ""); print; exit }' "$D/$next.singletond.log")
	start_node "$old" master || return 1
	if [ -z "$tu" ] || [ -z "$td" ] || [ -z "$trm" ] || [ -z "$tsg" ] || [ -z "$trep" ] || [ -z "$tok" ]; then
		say "failover $r ($old -> $next): missing unreachable '$tu' downed '$td' removed '$trm'" \
		    "started '$tsg' replayed '$trep' acked '$tok'"
		return 1
	fi
	echo "$((tu - t0)) $((td - tu)) $((trm - td)) $((tsg - trm)) $((trep - tsg)) $((tok - trep)) $((tok - t0))" \
	    >> "$OUT"
	printf '  failover %d: %s -> %s %6.3fs (probe tries %s; replayed to event %s)\n' "$r" "$old" "$next" \
	    "$((tok - t0))e-3" "$tries" "$rep" >&2
	echo "$r $old $next $rep" >> "$OUT.replayed"
}

part_failover() {
	local r old
	say "failover: starting $N nodes"
	build fo || return 1
	read -r old _ < <(nth_oldest 0)
	run_bg "$TOP/fo.preload" "$SUB" submit "$(proxy_of "$old")" pre "$PRELOAD" 16 "$BYTES" ||
		say "preload: some submits failed"
	OUT=$TOP/fo.out
	: > "$OUT"
	: > "$OUT.replayed"
	for ((r = 1; r <= RUNS; r++)); do failover_round "$r" || say "failover $r failed"; done
	echo
	echo "== master failover: kill -9 of memberd, leaderd and singletond of the master's node; heartbeat-interval"
	echo "   100ms, acceptable-heartbeat-pause 1s, gossip-interval 100ms, keep-majority stable-after 2s (= the"
	echo "   removal margin); $PRELOAD jobs pending (no workers) before the first kill; a submit through the"
	echo "   third node's proxy from the kill on, until one is acknowledged (a majority of 3); seconds"
	printf '%-52s %8s %8s %8s\n' "kill -9 of the master's node ($(rows "$OUT")/$RUNS runs)" min median max
	printf '  %-50s %s\n' "kill -> UnreachableMember (detection)" "$(stats 1 "$OUT")"
	printf '  %-50s %s\n' "-> MemberDowned (stable-after)" "$(stats 2 "$OUT")"
	printf '  %-50s %s\n' "-> MemberRemoved" "$(stats 3 "$OUT")"
	printf '  %-50s %s\n' "-> master started on the next oldest (margin)" "$(stats 4 "$OUT")"
	printf '  %-50s %s\n' "-> master replayed, recovered (promises, replay)" "$(stats 5 "$OUT")"
	printf '  %-50s %s\n' "-> first submit acknowledged" "$(stats 6 "$OUT")"
	printf '  %-50s %s\n' "total: kill -> a submit acknowledged again" "$(stats 7 "$OUT")"
	[ -s "$OUT.replayed" ] && awk '{ printf "   run %s: %s -> %s, replayed to event %s\n", $1, $2, $3,
	    substr($0, index($0, $4)) }' "$OUT.replayed"
	cleanup
}

# ---- 4. replay ----

part_replay() {
	local d=$TOP/rp w s
	mkdir -p "$d"
	say "replay: writing $EVENTS events three times"
	local jobs s1 s2 sz
	echo
	echo "== journal replay (bench/replay.c: journal.c + work.c on LevelDB, $(leveldb_version)); $EVENTS events:"
	echo "   an epoch marker, then accepted/started/completed cycles (64-byte payloads and results, result"
	echo "   lines as the master stores them), appended and committed 1000 at a time (synced); replay ="
	echo "   journal_open + journal_replay into a fresh work state, as a starting master; warm page cache"
	read -r w jobs s < <("$REPLAY" write "$d/a" "$EVENTS")
	echo "   written: $w events, $jobs jobs, in $s s ($(awk -v n="$w" -v s="$s" 'BEGIN { printf "%.0f", n / s }') events/s)"
	printf '  %-40s %8s %8s %5s %7s %8s %7s %7s\n' "" events snapshot MiB open_s replay_s total_s RSS_MiB
	replay_row "(a) no snapshot" "$d/a"
	replay_row "    again" "$d/a"
	cp -a "$d/a" "$d/b"
	read -r _ s1 s2 sz _ < <("$REPLAY" snapshot "$d/b")
	replay_row "(b) snapshot at the end only" "$d/b"
	replay_row "    again" "$d/b"
	"$REPLAY" write "$d/c" "$EVENTS" $(( EVENTS * 9 / 10 )) > /dev/null
	replay_row "(c) snapshot at $(( EVENTS * 9 / 10 )) + $(( EVENTS - EVENTS * 9 / 10 )) events" "$d/c"
	replay_row "    again" "$d/c"
	echo "   events: replayed after the snapshot; MiB: du of the LevelDB directory before that replay; 'again'"
	echo "   opens it a second time (LevelDB has turned its log into tables and compacted in the meantime);"
	echo "   RSS: the replaying process's peak"
	echo "   the snapshot of (b): $(awk -v b="$sz" 'BEGIN { printf "%.1f MiB", b / 1048576 }') of JSON (every job ever" \
	    "finished is in it);"
	echo "   written in $s2 s (serialised, its $w events deleted, one synced write)"
	# what the master pays every 10000 events (SNAPSHOT_EVERY) with that many jobs known
	"$REPLAY" write "$d/d" "$EVENTS" $(( EVENTS - 10000 )) > /dev/null
	read -r _ s1 s2 sz _ < <("$REPLAY" snapshot "$d/d")
	echo "   a periodic snapshot as the master takes one every 10000 events, with $jobs jobs in the state"
	echo "   (10000 events to delete): $s2 s, during which the master's loop answers nothing"
	# the same once keep-finished has forgotten all but the last 10000 finished jobs
	"$REPLAY" write "$d/e" "$EVENTS" $(( EVENTS - 10000 )) > /dev/null
	local kept sf
	read -r _ s1 s2 sz kept sf < <("$REPLAY" snapshot "$d/e" 10000)
	echo "   the same after keep-finished forgot all but the last 10000 finished jobs (one forget event,"
	echo "   applied in $sf s): $kept jobs in the state, snapshot $(awk -v b="$sz" 'BEGIN { printf "%.1f MiB", b / 1048576 }'), written in $s2 s"
	replay_row "(e) that journal, replayed" "$d/e"
}
leveldb_version() {
	local v
	v=$(dpkg-query -W -f='${Version}\n' 'libleveldb1*' 2>/dev/null | grep -m1 .)
	echo "leveldb ${v:-(version unknown)}"
}
replay_row() {
	local mib out
	mib=$(du -sm "$2" | cut -f1)
	out=$("$REPLAY" read "$2") || { printf '  %-40s failed\n' "$1"; return; }
	# last_seq snap_seq events open replay total jobs done maxrss_kib
	awk -v l="$1" -v m="$mib" '{ printf "  %-40s %8d %8d %5d %7.3f %8.3f %7.3f %7.0f\n", l, $3, $2, m, $4, $5, $6,
	    $9 / 1024 }' <<<"$out"
}

# ---- 5. queue: issue 12's table, side by side with beanstalkd ----

BS_PORT=""
BS_PID=""
# bs_start: beanstalkd on a free port, fsync before every reply (-f 0) into
# a binlog (-b), as a durable queue
bs_start() {
	local dir=$TOP/bs
	if ! command -v beanstalkd >/dev/null 2>&1; then
		say "installing beanstalkd (Debian package beanstalkd)"
		apt-get install -y beanstalkd >/dev/null 2>&1 ||
			{ say "cannot install beanstalkd: apt-get install beanstalkd"; return 1; }
	fi
	mkdir -p "$dir"
	BS_PORT=$(( 20000 + RANDOM % 10000 ))
	while ! port_free "$BS_PORT"; do BS_PORT=$(( 20000 + RANDOM % 10000 )); done
	beanstalkd -l 127.0.0.1 -p "$BS_PORT" -f 0 -b "$dir" > "$TOP/bs.log" 2>&1 &
	BS_PID=$!
	LIVE[$BS_PID]=beanstalkd
	disown "$BS_PID"
	wait_for 10 bs_listening || { say "beanstalkd does not listen on $BS_PORT"; return 1; }
}
bs_listening() { ! port_free "$BS_PORT"; }
bs_ticks() { awk '{ print $14 + $15 }' "/proc/$BS_PID/stat"; }

# bs_e2e TAG JOBS CONC GAP_MS MODE: beanstalkd with 4 worker processes
# (reserve, run, delete) and CONC putters; prints "jobs/s p50 p99
# server_cpu_ms_per_job workers_cpu_ms_per_job" (latency: put sent -> the
# result seen by a follower on a results tube)
bs_e2e() {
	local tag=$1 jobs=$2 conc=$3 gap=$4 mode=$5 c0 c1 wp fp wj wl wc first sent=$TOP/bs.$1.sent
	local res=$TOP/bs.$1.res
	: > "$sent"
	: > "$res"
	c0=$(bs_ticks)
	"$BS" work "$BS_PORT" "$tag" "$WORKERS" "$mode" 1 "$tag.r" > "$TOP/bs.$tag.work" &
	wp=$!
	LIVE[$wp]=bs-work
	"$BS" follow "$BS_PORT" "$tag.r" "$jobs" 120 "$res" > /dev/null &
	fp=$!
	LIVE[$fp]=bs-follow
	SUBMIT_GAP_MS=$gap run_bg "$TOP/bs.$tag.put" "$BS" put "$BS_PORT" "$tag" "$tag" "$jobs" "$conc" "$BYTES" "$sent"
	wait "$fp"
	reap "$fp"
	wait "$wp"
	reap "$wp"
	c1=$(bs_ticks)
	read -r wj wl wc < "$TOP/bs.$tag.work"
	first=$(awk '{ print $2 }' "$sent" | sort -n | head -1)
	awk 'NR == FNR { s[$1] = $2; next } ($1 in s) { printf "%.3f\n", $2 - s[$1] }' "$sent" "$res" > "$TOP/bs.$tag.lat"
	awk -v n="$(wc -l < "$res")" -v a="$first" -v b="$(awk '{ print $2 }' "$res" | sort -n | tail -1)" \
	    -v p50="$(pct 50 < "$TOP/bs.$tag.lat")" -v p99="$(pct 99 < "$TOP/bs.$tag.lat")" \
	    -v sc="$((c1 - c0))" -v hz="$HZ" -v wc="$wc" 'BEGIN {
	    printf "%.0f %s %s %.3f %.3f\n", n * 1000 / (b - a), p50, p99, sc * 1000 / hz / n, wc / n }'
}

# ratio A B: A / B with 2 decimals, or "-"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
qrow() { printf '%-58s %12s %12s %8s\n' "$1" "$2" "$3" "$4"; }

part_queue() {
	local old via r ps pt bsp bsi ae ap50 ap99 lp50 lp99 aown awk_ acl t
	GAP_MS=${QGAP_MS:-4}
	say "queue: starting beanstalkd and $N nodes"
	bs_start || return 1
	build q || return 1
	read -r old _ < <(nth_oldest 0)
	read -r via _ < <(nth_oldest 2)
	run_bg "$TOP/q.warm" "$SUB" submit "$(client_of "$old")" warm 200 4 "$BYTES" || say "warm-up: some submits failed"
	# durable submits, 1 and 16 submitters, each side right after the other
	for r in 1 16; do
		run_bg "$TOP/q.bs$r" "$BS" put "$BS_PORT" "tp$r" "tp$r" "$SUBMITS" "$r" "$BYTES"
		run_bg "$TOP/q.akc$r" "$SUB" submit "$(client_of "$old")" "tp$r" "$SUBMITS" "$r" "$BYTES"
		run_bg "$TOP/q.akcv$r" "$SUB" submit "$(client_of "$via")" "tpv$r" "$SUBMITS" "$r" "$BYTES"
	done
	# the same one submitter through a nanomsg REQ socket (its library thread)
	SUBMIT_CLIENT=nn run_bg "$TOP/q.akcn1" "$SUB" submit "$(client_of "$old")" tpn1 "$SUBMITS" 1 "$BYTES"
	rate() { awk '{ printf "%.0f", $1 / $3 }' "$1"; }
	# one akc-submit process per job: its CPU from start to exit, and the rate
	ps=$("$SUB" cpu "${SUBMIT_RUNS:-200}" akc-submit -c "$D/$old.conf" \
	    "$(head -c "$BYTES" /dev/zero | tr '\0' x)")
	# the floor: any process start here
	pt=$("$SUB" cpu "${SUBMIT_RUNS:-200}" /bin/true)
	# one akc-submit --batch process: a payload per line, acks as they come
	local bt0 bt1 bn
	awk -v n="$SUBMITS" -v b="$BYTES" 'BEGIN { p = sprintf("%*s", b - 8, ""); gsub(/ /, "x", p);
	    for (i = 0; i < n; i++) printf "%08d%s\n", i, p }' > "$TOP/q.batch.in"
	bt0=$(date +%s.%N)
	bn=$(akc-submit -c "$D/$via.conf" --batch < "$TOP/q.batch.in" 2> "$TOP/q.batch.err" | wc -l)
	bt1=$(date +%s.%N)
	awk -v n="$bn" -v a="$bt0" -v b="$bt1" 'BEGIN { printf "%d 0 %.6f\n", n, b - a }' > "$TOP/q.batch"
	# end to end on a fresh cluster and beanstalkd: the throughput rows left
	# thousands of jobs pending, which the workers would run first
	cleanup
	bs_start || return 1
	build qe || return 1
	read -r old _ < <(nth_oldest 0)
	read -r via _ < <(nth_oldest 2)
	# workers (exec cat) in the cluster; beanstalkd's spawn cat or not
	# WORKER_PIPE=1: akc's workers persistent (--pipe echo-worker), the rows marked so
	local wargs=() wkind="exec cat"
	[ -n "${WORKER_PIPE:-}" ] && wargs=(--pipe "$AKC_BIN/etc/examples/echo-worker") &&
	    wkind="--pipe echo-worker"
	for ((t = 0; t < WORKERS; t++)); do
		LABEL=worker$t start worker "n$(( t % N + 1 ))" "${wargs[@]}"
	done
	wait_for 30 workers_in "$old" || { say "not all $WORKERS workers registered"; return 1; }
	bsp=$(bs_e2e e2es "$JOBS" 16 0 spawn)
	bsi=$(bs_e2e e2ei "$JOBS" 16 0 inline)
	e2e_run burst "$JOBS" 16 0 "$old" "$via" > "$TOP/q.e2e.burst.txt"
	# latency at a steady ~200 jobs/s: one submitter, GAP_MS after each ack
	local lsp lsi
	lsp=$(bs_e2e lats "$PACED" 1 "$GAP_MS" spawn)
	lsi=$(bs_e2e lati "$PACED" 1 "$GAP_MS" inline)
	e2e_run paced "$PACED" 1 "$GAP_MS" "$old" "$via" > "$TOP/q.e2e.paced.txt"
	read -r ae ap50 ap99 < "$TOP/e2e.burst.sum"
	read -r _ lp50 lp99 < "$TOP/e2e.paced.sum"
	read -r aown awk_ acl < "$TOP/e2e.burst.cpusum"
	echo
	echo "== issue 12's table, this run: beanstalkd $(dpkg-query -W -f='${Version}' beanstalkd 2>/dev/null) -f 0 -b DIR"
	echo "   (fsync before every reply) against akc: $N nodes, master with replicas = 1 (acknowledged once synced"
	echo "   on the master and a standby), master on $old, 'another node' = $via; $BYTES-byte payloads;"
	echo "   $SUBMITS submits per throughput row, $JOBS jobs per end-to-end row (a fresh cluster and queue), $WORKERS"
	echo "   workers (akc: $wkind), each submitter one request at a time"
	qrow "" beanstalkd akc "akc/bs"
	qrow "durable submits/s, 1 submitter, via the master's node" "$(rate "$TOP/q.bs1")" "$(rate "$TOP/q.akc1")" \
	    "$(ratio "$(rate "$TOP/q.akc1")" "$(rate "$TOP/q.bs1")")"
	qrow "  via another node" "" "$(rate "$TOP/q.akcv1")" "$(ratio "$(rate "$TOP/q.akcv1")" "$(rate "$TOP/q.bs1")")"
	qrow "  the master's node, a nanomsg REQ client" "" "$(rate "$TOP/q.akcn1")" \
	    "$(ratio "$(rate "$TOP/q.akcn1")" "$(rate "$TOP/q.bs1")")"
	qrow "  one akc-submit process per job (in a row)" "" \
	    "$(awk '{ printf "%.0f", 1000 / $4 }' <<<"$ps")" \
	    "$(ratio "$(awk '{ printf "%.0f", 1000 / $4 }' <<<"$ps")" "$(rate "$TOP/q.bs1")")"
	qrow "  one akc-submit --batch process ($SUBMITS lines), another node" "" "$(rate "$TOP/q.batch")" \
	    "$(ratio "$(rate "$TOP/q.batch")" "$(rate "$TOP/q.bs1")")"
	qrow "durable submits/s, 16 submitters, via the master's node" "$(rate "$TOP/q.bs16")" \
	    "$(rate "$TOP/q.akc16")" "$(ratio "$(rate "$TOP/q.akc16")" "$(rate "$TOP/q.bs16")")"
	qrow "  via another node" "" "$(rate "$TOP/q.akcv16")" "$(ratio "$(rate "$TOP/q.akcv16")" "$(rate "$TOP/q.bs16")")"
	qrow "end to end jobs/s, $WORKERS workers, a process per job (cat)" "$(cut -d' ' -f1 <<<"$bsp")" "$ae" \
	    "$(ratio "$ae" "$(cut -d' ' -f1 <<<"$bsp")")"
	qrow "  persistent worker (beanstalkd: no spawn)" "$(cut -d' ' -f1 <<<"$bsi")" \
	    "$([ -n "${WORKER_PIPE:-}" ] && echo "$ae" || echo n/a)" \
	    "$(ratio "$ae" "$(cut -d' ' -f1 <<<"$bsi")")"
	qrow "submit -> result p50 / p99 ms, 1 submitter + ${GAP_MS} ms pauses, cat" \
	    "$(cut -d' ' -f2,3 <<<"$lsp" | tr ' ' /)" "$lp50/$lp99" \
	    "$(ratio "$lp50" "$(cut -d' ' -f2 <<<"$lsp")")/$(ratio "$lp99" "$(cut -d' ' -f3 <<<"$lsp")")"
	qrow "  persistent worker (beanstalkd)" "$(cut -d' ' -f2,3 <<<"$lsi" | tr ' ' /)" "n/a" \
	    "$(ratio "$lp50" "$(cut -d' ' -f2 <<<"$lsi")")/$(ratio "$lp99" "$(cut -d' ' -f3 <<<"$lsi")")"
	qrow "CPU ms per job, the queue's own processes (burst)" "$(cut -d' ' -f4 <<<"$bsp")" "$aown" \
	    "$(ratio "$aown" "$(cut -d' ' -f4 <<<"$bsp")")"
	qrow "  the workers with their jobs (cat)" "$(cut -d' ' -f5 <<<"$bsp")" "$awk_" \
	    "$(ratio "$awk_" "$(cut -d' ' -f5 <<<"$bsp")")"
	qrow "  the workers, persistent (beanstalkd)" "$(cut -d' ' -f5 <<<"$bsi")" "" ""
	qrow "CPU ms of one akc-submit process, start to exit" "-" "$(awk '{ printf "%.2f", $1 }' <<<"$ps")" "-"
	echo "   akc-submit: user $(awk '{ printf "%.2f", $2 }' <<<"$ps") ms, sys $(awk '{ printf "%.2f", $3 }' <<<"$ps") ms," \
	    "wall $(awk '{ printf "%.2f", $4 }' <<<"$ps") ms per run, $(awk '{ print $5 }' <<<"$ps") failed;" \
	    "/bin/true $(awk '{ printf "%.2f", $1 }' <<<"$pt") ms (process start here)"
	echo "   akc's own processes: memberd, leaderd, singletond, master and standbys of all $N nodes; beanstalkd's:"
	echo "   the beanstalkd process. Latency: sent -> seen by a poller of 'results' (akc, every 10 ms when idle)"
	echo "   or a reserver of a results tube the workers put into (beanstalkd)."
	echo "  akc's end to end runs in detail:"
	sed 's/^/  /' "$TOP/q.e2e.burst.txt" "$TOP/q.e2e.paced.txt"
	cleanup
}

# ---- 6. drain: end to end without the submitters as the bound ----

# done_count NODE: the master's finished jobs (done), or 0
done_count() { akc-queue -c "$D/$1.conf" --json --timeout 2s 2>/dev/null | jq -r '.done // 0'; }
done_reach() { [ "$(done_count "$1")" -ge "$2" ]; }
# last_finished NODE PREFIX: epoch ms of the last "finished" of PREFIX's result lines
last_finished() {
	akc-results -c "$D/$1.conf" | jq -r --arg p "$2" 'select(.id | startswith($p)) | .finished' |
	    sort | tail -1 | { read -r t; date -d "$t" +%s%3N; }
}

# bs_drain: beanstalkd: DRAIN_JOBS puts by DRAIN_SUBMITTERS with no worker
# (their rate alone), then 4 reserve+delete clients (inline: a persistent
# worker) drain them; then the mixed run: the workers running while the
# same number of putters put DRAIN_JOBS more. Prints "put/s drain/s
# server_ms/job mixed_put/s mixed/s server_ms/job"
bs_drain() {
	local c0 c1 c2 c3 t0 t1 wp last jobs mixed_put put
	run_bg "$TOP/bsd.put" "$BS" put "$BS_PORT" dr dr "$DRAIN_JOBS" "$DRAIN_SUBMITTERS" "$BYTES"
	put=$(awk '{ printf "%.0f", $1 / $3 }' "$TOP/bsd.put")
	c0=$(bs_ticks)
	t0=$(now_ms)
	run_bg "$TOP/bsd.work" "$BS" work "$BS_PORT" dr "$WORKERS" inline 1
	c1=$(bs_ticks)
	read -r jobs last _ < "$TOP/bsd.work"
	# the mixed run: workers first (they wait in reserve), then the putters
	"$BS" work "$BS_PORT" mx "$WORKERS" inline 2 > "$TOP/bsd.mwork" &
	wp=$!
	LIVE[$wp]=bs-work
	c2=$(bs_ticks)
	t1=$(now_ms)
	run_bg "$TOP/bsd.mput" "$BS" put "$BS_PORT" mx mx "$DRAIN_JOBS" "$DRAIN_SUBMITTERS" "$BYTES"
	mixed_put=$(awk '{ printf "%.0f", $1 / $3 }' "$TOP/bsd.mput")
	wait "$wp"
	reap "$wp"
	c3=$(bs_ticks)
	awk -v put="$put" -v n="$jobs" -v t0="$t0" -v last="$last" -v c="$((c1 - c0))" -v hz="$HZ" \
	    -v mp="$mixed_put" -v t1="$t1" -v c2="$((c3 - c2))" -v f="$TOP/bsd.mwork" 'BEGIN {
	    getline l < f; split(l, a, " ")
	    printf "%s %.0f %.3f %s %.0f %.3f\n", put, n * 1000 / (last - t0), c * 1000 / hz / n, mp,
	        a[1] * 1000 / (a[2] - t1), c2 * 1000 / hz / a[1] }'
}

# akc_drain TAG: the same on a fresh cluster of $AKC_BIN's build: DRAIN_JOBS
# submits by DRAIN_SUBMITTERS (bench/submit.c) through the master's node,
# no worker; then WORKERS `worker --pipe echo-worker` (concurrency
# WORKER_CONC) drain them: from their start to the last result's
# "finished"; then the mixed run. Prints "submit/s drain/s own_ms/job
# workers_ms/job mixed_submit/s mixed/s own_ms/job"
akc_drain() {
	local tag=$1 old t0 t1 end t i put mput own wk mown
	build "dr$tag" || return 1
	read -r old _ < <(nth_oldest 0)
	sed -i "s/^concurrency = .*/concurrency = ${WORKER_CONC:-1}/" "$D"/n*.conf
	run_bg "$TOP/dr$tag.put" "$SUB" submit "$(client_of "$old")" "d$tag" "$DRAIN_JOBS" "$DRAIN_SUBMITTERS" \
	    "$BYTES" || say "drain $tag: some submits failed"
	put=$(awk '{ printf "%.0f", $1 / $3 }' "$TOP/dr$tag.put")
	cpu_mark "$TOP/dr$tag.cpu0"
	t0=$(now_ms)
	for ((t = 0; t < WORKERS; t++)); do
		LABEL=worker$t start worker "n$(( t % N + 1 ))" --pipe "$AKC_BIN/etc/examples/echo-worker"
	done
	wait_for 300 done_reach "$old" "$DRAIN_JOBS" || say "drain $tag: not all done"
	cpu_mark "$TOP/dr$tag.cpu1"
	end=$(last_finished "$old" "d$tag")
	CPU_SUM=$TOP/dr$tag.cpusum cpu_report "$TOP/dr$tag.cpu0" "$TOP/dr$tag.cpu1" \
	    "$(( (end - t0) / 1000 ))" "$DRAIN_JOBS" job > "$TOP/dr$tag.cpu.txt"
	read -r own wk _ < "$TOP/dr$tag.cpusum"
	# mixed: the workers stay; DRAIN_JOBS more from as many submitters
	cpu_mark "$TOP/dr$tag.cpu2"
	t1=$(now_ms)
	run_bg "$TOP/dr$tag.mput" "$SUB" submit "$(client_of "$old")" "m$tag" "$DRAIN_JOBS" "$DRAIN_SUBMITTERS" \
	    "$BYTES" || say "mixed $tag: some submits failed"
	mput=$(awk '{ printf "%.0f", $1 / $3 }' "$TOP/dr$tag.mput")
	wait_for 300 done_reach "$old" "$(( 2 * DRAIN_JOBS ))" || say "mixed $tag: not all done"
	cpu_mark "$TOP/dr$tag.cpu3"
	i=$(last_finished "$old" "m$tag")
	CPU_SUM=$TOP/dr$tag.mcpusum cpu_report "$TOP/dr$tag.cpu2" "$TOP/dr$tag.cpu3" \
	    "$(( (i - t1) / 1000 ))" "$DRAIN_JOBS" job > "$TOP/dr$tag.mcpu.txt"
	read -r mown _ < "$TOP/dr$tag.mcpusum"
	# what went several to a message (a master without "batches" has null)
	akc-queue -c "$D/$old.conf" --json --timeout 2s | jq -c '{requests, reports_next, batches}' \
	    > "$TOP/dr$tag.batches"
	awk -v put="$put" -v n="$DRAIN_JOBS" -v t0="$t0" -v end="$end" -v own="$own" -v wk="$wk" \
	    -v mp="$mput" -v t1="$t1" -v mend="$i" -v mown="$mown" 'BEGIN {
	    printf "%s %.0f %s %s %s %.0f %s\n", put, n * 1000 / (end - t0), own, wk, mp, n * 1000 / (mend - t1), mown }'
	cleanup
}

part_drain() {
	local bs a b=""
	DRAIN_JOBS=${DRAIN_JOBS:-4000}
	DRAIN_SUBMITTERS=${DRAIN_SUBMITTERS:-32}
	say "drain: beanstalkd, then akc ($AKC_BIN)${AKC_BEFORE:+ and before ($AKC_BEFORE)}"
	bs_start || return 1
	# not in $( ): a subshell's processes are not the script's children, and
	# cleanup (our_child) would leave them running
	bs_drain > "$TOP/drbs.sum"
	bs=$(cat "$TOP/drbs.sum")
	cleanup
	# DRAIN_BEFORE_FIRST=1: the before build first (alternate the order between runs)
	[ -z "${DRAIN_BEFORE_FIRST:-}" ] && { akc_drain after > "$TOP/drafter.sum" || return 1; }
	if [ -n "${AKC_BEFORE:-}" ]; then
		local keep_bin=$AKC_BIN keep_path=$PATH
		AKC_BIN=$AKC_BEFORE
		PATH="$AKC_BEFORE:$keep_path"
		akc_drain before > "$TOP/drbefore.sum"
		AKC_BIN=$keep_bin
		PATH=$keep_path
	fi
	[ -n "${DRAIN_BEFORE_FIRST:-}" ] && { akc_drain after > "$TOP/drafter.sum" || return 1; }
	a=$(cat "$TOP/drafter.sum")
	[ -n "${AKC_BEFORE:-}" ] && b=$(cat "$TOP/drbefore.sum")
	echo
	echo "== end to end without the submitters as the bound: $DRAIN_JOBS jobs of $BYTES bytes put/submitted by"
	echo "   $DRAIN_SUBMITTERS submitters with no worker (their rate alone), then drained by $WORKERS workers"
	echo "   (beanstalkd: reserve+delete clients, inline; akc: worker --pipe echo-worker, concurrency ${WORKER_CONC:-1},"
	echo "   one per node in turn); then the mixed run: $DRAIN_JOBS more while the workers run. $N nodes, replicas = 1"
	printf '%-50s %12s %12s %7s' "" beanstalkd "akc" "akc/bs"
	[ -n "$b" ] && printf ' %12s %7s %9s' "akc before" "bef/bs" "aft/bef"
	echo
	drow() {	# label field
		local x y z
		x=-
		[ "$2" != 0 ] && x=$(cut -d' ' -f"$2" <<<"$bs")
		y=$(cut -d' ' -f"$3" <<<"$a")
		printf '%-50s %12s %12s %7s' "$1" "$x" "$y" "$(ratio "$y" "$x")"
		if [ -n "$b" ]; then
			z=$(cut -d' ' -f"$3" <<<"$b")
			printf ' %12s %7s %9s' "$z" "$(ratio "$z" "$x")" "$(ratio "$y" "$z")"
		fi
		echo
	}
	drow "submits/s alone, $DRAIN_SUBMITTERS submitters (the preload)" 1 1
	drow "drain jobs/s, $WORKERS persistent workers" 2 2
	drow "CPU ms per job, the queue's own processes (drain)" 3 3
	drow "  the workers with their commands (drain)" 0 4
	drow "mixed: submits/s acknowledged during it" 4 5
	drow "mixed: end to end jobs/s" 5 6
	drow "CPU ms per job, the queue's own processes (mixed)" 6 7
	echo "   akc's own processes: memberd, leaderd, singletond, master and standbys of all $N nodes (not the workers);"
	echo "   beanstalkd's: the beanstalkd process. Drain: from the workers' start to the last job's finish."
	echo "   akc's CPU in detail (drain, mixed):"
	sed 's/^/  /' "$TOP/drafter.cpu.txt" "$TOP/drafter.mcpu.txt"
	[ -n "$b" ] && sed 's/^/  before: /' "$TOP/drbefore.cpu.txt" "$TOP/drbefore.mcpu.txt"
	echo "   the master's counters at the end (drain and mixed): $(cat "$TOP/drafter.batches")"
	[ -n "$b" ] && echo "   before: $(cat "$TOP/drbefore.batches")"
	cleanup
}

# one: issue 12's one-submitter row alone, ONE_ROUNDS (default 5) rounds on
# one cluster and one beanstalkd, each round beanstalkd, akc (lib/spc's
# client, as akc-submit), akc through a nanomsg REQ client, one right after
# the other, SUBMITS each, a request at a time through the master's node;
# each round's rates and ratios, then the medians
part_one() {
	local old r bs a n mp
	say "one: beanstalkd and $N nodes, ${ONE_ROUNDS:-5} rounds"
	bs_start || return 1
	build one || return 1
	read -r old _ < <(nth_oldest 0)
	run_bg "$TOP/o.warm" "$SUB" submit "$(client_of "$old")" warm 200 1 "$BYTES" || say "warm-up: some submits failed"
	mp=$(master_pid "$old")
	echo
	echo "== one submitter, a request at a time, $SUBMITS submits of $BYTES bytes a run, through the master's node ($old)"
	echo "   (master us: the master process's CPU per submit in the spc run, its threads' schedstat)"
	printf '%-8s %12s %12s %12s %8s %8s %10s\n' round beanstalkd "akc (spc)" "akc (nn)" spc/bs nn/bs "master us"
	for ((r = 1; r <= ${ONE_ROUNDS:-5}; r++)); do
		local c0 c1
		run_bg "$TOP/o.bs$r" "$BS" put "$BS_PORT" "o$r" "o$r" "$SUBMITS" 1 "$BYTES"
		c0=$(cpu_ns "$mp")
		run_bg "$TOP/o.akc$r" "$SUB" submit "$(client_of "$old")" "o$r" "$SUBMITS" 1 "$BYTES"
		c1=$(cpu_ns "$mp")
		SUBMIT_CLIENT=nn run_bg "$TOP/o.nn$r" "$SUB" submit "$(client_of "$old")" "on$r" "$SUBMITS" 1 "$BYTES"
		# a run that failed (no "N_OK N_ERR SECONDS" line) is "-", and its round left out of the medians
		bs=$(awk '$3 > 0 { printf "%.0f", $1 / $3 }' "$TOP/o.bs$r" 2>/dev/null)
		a=$(awk '$3 > 0 { printf "%.0f", $1 / $3 }' "$TOP/o.akc$r" 2>/dev/null)
		n=$(awk '$3 > 0 { printf "%.0f", $1 / $3 }' "$TOP/o.nn$r" 2>/dev/null)
		if [ -z "$bs" ] || [ -z "$a" ] || [ -z "$n" ]; then
			printf '%-8s %12s %12s %12s   (a run failed: left out of the medians)\n' "$r" "${bs:--}" "${a:--}" "${n:--}"
			continue
		fi
		printf '%-8s %12s %12s %12s %8s %8s %10s\n' "$r" "$bs" "$a" "$n" "$(ratio "$a" "$bs")" "$(ratio "$n" "$bs")" \
		    "$(awk -v a="${c0:-0}" -v b="${c1:-0}" -v n="$SUBMITS" 'BEGIN { printf "%.0f", (b - a) / 1e3 / n }')" |
		    tee -a "$TOP/o.rows"
	done
	[ -s "$TOP/o.rows" ] || { say "one: no round completed"; cleanup; return 1; }
	awk '{ b[NR] = $2; a[NR] = $3; n[NR] = $4; x[NR] = $5; y[NR] = $6; c[NR] = $7 }
	    function med(v, k,  i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
	        if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
	    END { printf "%-8s %12s %12s %12s %8.2f %8.2f %10s\n", "median", med(b, NR), med(a, NR), med(n, NR),
	        med(x, NR), med(y, NR), med(c, NR) }' "$TOP/o.rows"
	cleanup
}

# grow: whether a submit's cost grows with the jobs held (q12): GROW_ROUNDS
# (default 10) rounds of GROW_SUBMITS (default 4000) submits, one submitter
# through the master's node, on one cluster with no workers (every job stays
# pending); each round's rate, the master's and the standbys' CPU per submit
# (their threads' schedstat), the disk's fdatasync of a 128-byte append
# just before, and the jobs pending after it
part_grow() {
	local old r mp sps s c0 c1 s0 s1 fs a p n=${GROW_SUBMITS:-4000}
	say "grow: $N nodes, ${GROW_ROUNDS:-10} rounds of $n submits"
	build grow || return 1
	read -r old _ < <(nth_oldest 0)
	mp=$(master_pid "$old")
	sps=$(for s in $(others "$old"); do master_pid "$s" standby; done)
	run_bg "$TOP/g.warm" "$SUB" submit "$(client_of "$old")" warm 200 1 "$BYTES" || say "warm-up: some submits failed"
	echo
	echo "== one submitter, a request at a time, $n submits of $BYTES bytes a round, no workers, through the master's node ($old)"
	printf '%-6s %10s %10s %12s %12s %10s\n' round submits/s pending "master us" "standbys us" "fsync ms"
	for ((r = 1; r <= ${GROW_ROUNDS:-10}; r++)); do
		fs=$("$SUB" fsync "$D" 300 | cut -d' ' -f1)
		c0=$(cpu_ns "$mp"); s0=0
		for s in $sps; do s0=$((s0 + $(cpu_ns "$s"))); done
		run_bg "$TOP/g.$r" "$SUB" submit "$(client_of "$old")" "g$r" "$n" 1 "$BYTES"
		c1=$(cpu_ns "$mp"); s1=0
		for s in $sps; do s1=$((s1 + $(cpu_ns "$s"))); done
		a=$(awk '$3 > 0 { printf "%.0f", $1 / $3 }' "$TOP/g.$r" 2>/dev/null)
		p=$(akc-queue -c "$D/$old.conf" --json 2>/dev/null | jq -r '.pending // "-"')
		printf '%-6s %10s %10s %12s %12s %10s\n' "$r" "${a:--}" "$p" \
		    "$(( (c1 - c0) / 1000 / n ))" "$(( (s1 - s0) / 1000 / n ))" "$fs"
	done
	cleanup
}

# hold: a steady cluster for profiling by hand (perf, strace) until
# $TOP/stop exists; its configs are $TOP/hold/nN.conf
part_hold() {
	build hold || return 1
	say "cluster up: configs $D/n*.conf, master on $(nth_oldest 0 | cut -d' ' -f1); touch $TOP/stop to end"
	until [ -e "$TOP/stop" ]; do sleep 1; done
}

echo "akc work benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for part in $PARTS; do
	case $part in
	throughput) part_throughput || say "throughput failed" ;;
	e2e) part_e2e || say "e2e failed" ;;
	failover) part_failover || say "failover failed" ;;
	replay) part_replay || say "replay failed" ;;
	queue) part_queue || say "queue failed" ;;
	drain) part_drain || say "drain failed" ;;
	one) part_one || say "one failed" ;;
	grow) part_grow || say "grow failed" ;;
	hold) part_hold ;;
	*) say "unknown part '$part' (throughput e2e failover replay queue drain one grow hold)" ;;
	esac
	cleanup
done
