#!/bin/bash
# bench/startcost.sh [K]: what a node's start costs in CPU, for akc-sim's
# --start-cost. K times (default 20): a memberd + leaderd pair started as
# bench/nodes.sh starts them, on a config whose only seed is itself (its own
# 1-node cluster, Up), their CPU read from /proc/PID/schedstat (ns on a CPU,
# exec, config, sockets, the first connection included) 300 ms after
# akc-members first answers; the medians. Then the CPU of bench/nodes.sh's
# start loop around a node (mkdir -p, two forks of its shell, date, sleep),
# with /bin/true standing for the daemons, 50 times under perf stat.
# AKC_BIN picks the build. Run it under the bench lock.
set -u
cd "$(dirname "$0")/.."
B=${AKC_BIN:-$PWD}
export PATH=$B:$PATH
K=${1:-20}
D=$(mktemp -d /tmp/akc-sc.XXXXXX)
m="" l=""
# the daemons must not outlive the script (they would hold the bench lock's fd)
trap '[ -n "$m" ] && kill $m $l 2>/dev/null; rm -rf "$D"' EXIT
for ((i = 0; i < K; i++)); do
	port=$(( 30000 + RANDOM % 20000 ))
	cat > "$D/c$i.conf" <<C
[node]
name = s$i
address = tcp://127.0.0.1:$port
run-dir = $D/r$i
state-dir = $D/s$i
[cluster]
seed-nodes = tcp://127.0.0.1:$port
C
	memberd -c "$D/c$i.conf" 2>/dev/null 3>&- & m=$!
	leaderd -c "$D/c$i.conf" 2>/dev/null 3>&- & l=$!
	for ((t = 0; t < 200; t++)); do
		akc-members -c "$D/c$i.conf" >/dev/null 2>&1 && break
		sleep 0.01
	done
	sleep 0.3
	read -r ms _ < "/proc/$m/schedstat"
	read -r ls _ < "/proc/$l/schedstat"
	echo "$ms $ls"
	kill "$m" "$l"
	wait "$m" "$l" 2>/dev/null
	m="" l=""
done > "$D/out"
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] }'; }
both() { awk '{ print ($1 + $2) / 1000 }' "$D/out"; }
echo "$K starts: memberd median $(awk '{ print $1 / 1000 }' "$D/out" | med) us," \
    "leaderd median $(awk '{ print $2 / 1000 }' "$D/out" | med) us," \
    "both median $(both | med) us (min $(both | sort -n | head -1), max $(both | sort -n | tail -1))"
perf stat -x, -e task-clock -o "$D/ps" bash -c '
declare -a A; for ((i = 0; i < 400; i++)); do A+=($i); done
for ((i = 0; i < 50; i++)); do
	mkdir -p '"$D"'/c$i; /bin/true & /bin/true & t=$(date +%s%N); sleep 0.001
done; wait'
awk -F, '/task-clock/ { printf "the bench loop around a start: %.0f us a node (task-clock of 50, children included)\n", $1 * 1000 / 50 }' "$D/ps"
