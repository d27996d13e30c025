#!/bin/bash
# bench/worker.sh: how fast one worker with 4 slots (CONC) empties a queue, by the
# way it runs jobs. One node (memberd, leaderd, singletond -s master with
# the master; no standbys, so the master's path is as short as it gets and
# the worker's own cost shows), JOBS jobs of BYTES bytes submitted first
# (bench/submit.c), then one worker, concurrency CONC, runs them all; jobs/s
# from the worker's start to the last result (polled every 20 ms), and the
# CPU seconds of the worker with its jobs. Each variant gets its own jobs;
# RUNS runs of each, in turns, the median printed.
#
#   exec-fork   a shell per job, `/bin/sh -c cat` started with fork
#               (AKC_WORKER_FORK=1 AKC_WORKER_SHELL=1)
#   exec-sh     the same started with vfork (AKC_WORKER_SHELL=1)
#   exec        `cat` per job, run without the shell (a plain command), vfork:
#               the default
#   exec-np     exec without prefetching (AKC_WORKER_PREFETCH=0)
#   pipe-c      --pipe etc/examples/echo-worker (the C echo, a process per slot)
#   pipe-c-np   the same without prefetching
#   pipe-jq     --pipe "jq -c --unbuffered '{id, result: .payload}'"
#   base        BASE_WORKER=PATH: another worker binary (say, the one before
#               a change), a shell per job, `cat`
#
# Environment: JOBS (default 2000), BYTES (100), RUNS (3), CONC (the
# worker's concurrency, default 4), VARIANTS (default
# "exec-fork exec-sh exec pipe-c pipe-jq", plus base with BASE_WORKER), KEEP=1,
# AKC_BIN. Figures are printed, not asserted; every process it starts is
# killed by pid at exit.
set -u
cd "$(dirname "$0")/.." || exit 1
AKC_BIN=${AKC_BIN:-$PWD}
JOBS=${JOBS:-2000}
BYTES=${BYTES:-100}
RUNS=${RUNS:-3}
CONC=${CONC:-4}
BASE_WORKER=${BASE_WORKER:-}
VARIANTS=${VARIANTS:-${BASE_WORKER:+base }exec-fork exec-sh exec pipe-c pipe-jq}
KEEP=${KEEP:-}
export PATH="$AKC_BIN:$PATH"
export LC_ALL=C
. bench/lib.sh

for p in memberd leaderd singletond master worker akc-queue etc/examples/echo-worker; do
	[ -x "$AKC_BIN/$p" ] || { say "build first: make && make check TESTS= ($p missing)"; exit 1; }
done
D=$(mktemp -d /tmp/akcwb.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$KEEP" ] && say "logs kept in $D" || rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

SUB=$D/submit
cc -std=gnu11 -D_GNU_SOURCE -O2 -o "$SUB" bench/submit.c -lnanomsg -lcjson ||
	{ say "cannot build bench/submit.c"; exit 1; }

bench_confs "$D" 1
cat >> "$D/n1.conf" <<CONF
roles = backend
[singleton.master]
role = backend
command = exec $AKC_BIN/master -c $D/n1.conf
[master]
work-timeout = 30s
max-pending = 1000000
[worker]
concurrency = $CONC
CONF
# roles belong in [node]: move the line there; the one node is the only seed
sed -i '/^roles = backend$/d; s/^\[node\]$/[node]\nroles = backend/' "$D/n1.conf"
sed -i "s|^seed-nodes = .*|seed-nodes = $(sed -n 's/^address = //p' "$D/n1.conf")|" "$D/n1.conf"
for d in memberd leaderd; do
	"$AKC_BIN/$d" -c "$D/n1.conf" >"$D/n1.$d.log" 2>&1 &
	PIDS+=($!)
done
"$AKC_BIN/singletond" -c "$D/n1.conf" -s master >"$D/n1.singletond.log" 2>&1 &
PIDS+=($!)
ADDR="ipc://$D/n1/singleton.master"
for ((i = 0; i < 300; i++)); do
	akc-queue -c "$D/n1.conf" --json --timeout 1s >/dev/null 2>&1 && break
	sleep 0.1
done
akc-queue -c "$D/n1.conf" --json --timeout 1s >/dev/null 2>&1 || { say "no master"; exit 1; }

done_count() { akc-queue -c "$D/n1.conf" --json --timeout 2s | jq -r '.done + .failed'; }
cpu_of() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# one_run VARIANT K: prints "jobs_per_s cpu_ms_per_job"
one_run() {
	local v=$1 k=$2 before target t0 t1 w cpu args=() env=()
	"$SUB" submit "$ADDR" "$v-$k" "$JOBS" 4 "$BYTES" >/dev/null || { say "submits failed"; return 1; }
	before=$(done_count)
	target=$((before + JOBS))
	case $v in
	exec-fork) env=(AKC_WORKER_FORK=1 AKC_WORKER_SHELL=1); args=(--exec cat) ;;
	exec-sh) env=(AKC_WORKER_SHELL=1); args=(--exec cat) ;;
	exec) args=(--exec cat) ;;
	exec-np) env=(AKC_WORKER_PREFETCH=0); args=(--exec cat) ;;
	pipe-c) args=(--pipe "$AKC_BIN/etc/examples/echo-worker") ;;
	pipe-c-np) env=(AKC_WORKER_PREFETCH=0); args=(--pipe "$AKC_BIN/etc/examples/echo-worker") ;;
	pipe-jq) args=(--pipe "jq -c --unbuffered '{id, result: .payload}'") ;;
	base) args=(--exec cat) ;;
	esac
	local bin=$AKC_BIN/worker
	[ "$v" = base ] && bin=$BASE_WORKER
	t0=$(date +%s%N)
	env "${env[@]}" "$bin" -c "$D/n1.conf" "${args[@]}" >>"$D/worker.$v.log" 2>&1 &
	w=$!
	PIDS+=("$w")
	while [ "$(done_count)" -lt "$target" ]; do
		sleep 0.02
		if (( ($(date +%s%N) - t0) / 1000000000 > 600 )); then say "$v: timed out"; break; fi
	done
	t1=$(date +%s%N)
	cpu=$(cpu_of "$w")
	kill -TERM "$w"
	wait "$w" 2>/dev/null
	awk -v n="$JOBS" -v ns=$((t1 - t0)) -v c="$cpu" -v hz="$(getconf CLK_TCK)" \
	    'BEGIN { printf "%.0f %.3f\n", n / (ns / 1e9), c / hz * 1000 / n }'
}

echo "== one worker, concurrency $CONC, $JOBS jobs of $BYTES bytes queued first; 1 node, no standbys;"
echo "   jobs/s from the worker's start to its last result; CPU ms per job of the worker and its"
echo "   children (cat, sh, the pipe commands: those that exited before the worker); median of $RUNS"
declare -A R=() C=()
for ((k = 1; k <= RUNS; k++)); do
	for v in $VARIANTS; do
		read -r js cpu < <(one_run "$v" "$k") || continue
		R[$v]+="$js "
		C[$v]+="$cpu "
		say "run $k $v: $js jobs/s, $cpu CPU ms/job"
	done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "n/a" }'; }
printf '%-10s %10s %14s   %s\n' variant jobs/s "CPU ms/job" "runs (jobs/s)"
for v in $VARIANTS; do
	printf '%-10s %10s %14s   %s\n' "$v" "$(med <<<"${R[$v]:-}")" "$(med <<<"${C[$v]:-}")" "${R[$v]:-}"
done
