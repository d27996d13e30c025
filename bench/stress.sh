#!/bin/bash
# bench/stress.sh [N]: N nodes (default 25) with the default failure-detector
# settings; counts false UnreachableMember events during WINDOW seconds idle,
# then during WINDOW seconds with every core saturated by LOAD busy processes
# (default 2 per core). NICE (default -10, as etc/systemd) is memberd's nice
# level; NICE=0 shows the difference.
set -u
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
N=${1:-25}
WINDOW=${WINDOW:-60}
LOAD=${LOAD:-$(( 2 * $(nproc) ))}
NICE=${NICE:--10}
export PATH="$AKC_BIN:$PATH"
D=$(mktemp -d /tmp/akcs.XXXXXX)
PIDS=()
LOADPIDS=()
cleanup() {
	{
		for p in "${LOADPIDS[@]}" "${PIDS[@]}"; do kill -9 "$p"; done
		wait
	} 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. bench/lib.sh
bench_confs "$D" "$N"
for ((i = 1; i <= N; i++)); do
	nice -n "$NICE" memberd -c "$D/n$i.conf" 2>"$D/n$i.log" & PIDS+=($!)
	leaderd -c "$D/n$i.conf" 2>/dev/null & PIDS+=($!)
done
for ((i = 1; i <= N; i++)); do
	until [ -S "$D/n$i/memberd.ctl" ]; do sleep 0.05; done
done
until [ "$(akc-members -c "$D/n$N.conf" --json | jq '[.[] | select(.status == "Up")] | length')" = "$N" ]; do
	sleep 0.2
done
sleep 5
for ((i = 1; i <= N; i++)); do
	akc-events -c "$D/n$i.conf" --no-snapshot --type UnreachableMember > "$D/n$i.ev" & PIDS+=($!)
done
sleep 1
count() { cat "$D"/n*.ev | wc -l; }
echo "stress: $N nodes, default detector (1s / 3s pause / phi 8), memberd nice $NICE, $(nproc) cores"
c0=$(count)
sleep "$WINDOW"
c1=$(count)
echo "  idle ${WINDOW}s: $((c1 - c0)) false UnreachableMember events (over all $N observers)"
for ((k = 0; k < LOAD; k++)); do
	(while :; do :; done) & LOADPIDS+=($!)
done
sleep "$WINDOW"
c2=$(count)
echo "  ${LOAD} busy processes on $(nproc) cores, ${WINDOW}s: $((c2 - c1)) false UnreachableMember events"
grep -h "heartbeat" "$D"/n*.log | grep UNREACHABLE | head -3 | sed 's/^/    /'
