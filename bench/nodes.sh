#!/bin/bash
# bench/nodes.sh [N] [SPREAD] [HOLD]: N real nodes (memberd + leaderd) on
# 127.0.0.1, started evenly over SPREAD seconds (default 200 over 10), with
# 3 seeds and the default detector and gossip settings; after HOLD seconds
# (default 60) prints how many memberds and leaderds are still alive (none
# should die: a library abort, a crash), how many nodes see all N Up, and
# memberd RSS. AKC_BIN picks the build (another checkout's, to compare).
set -u
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
N=${1:-200}
SPREAD=${2:-10}
HOLD=${3:-60}
export PATH="$AKC_BIN:$PATH"
[ -x "$AKC_BIN/memberd" ] || { echo "bench: build first (bin/akc-bootstrap)" >&2; exit 1; }
. bench/lib.sh

D=$(mktemp -d /tmp/akc-nodes.XXXXXX)
PIDS=()
MPID=() LPID=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

# ports below the ephemeral range, where outbound connections' ports would collide
read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
base=$(( 20000 + RANDOM % (lo - 20000 - N - 1) ))
while ! port_free $((base + 1)) || ! port_free $((base + N)); do
	base=$(( 20000 + RANDOM % (lo - 20000 - N - 1) ))
done
addr() { echo "tcp://127.0.0.1:$((base + $1))"; }
seeds="$(addr 1), $(addr 2), $(addr 3)"
for ((i = 1; i <= N; i++)); do
	cat > "$D/n$i.conf" <<CONF
[node]
name = n$i
address = $(addr "$i")
run-dir = $D/n$i
state-dir = $D/n$i.state
[cluster]
seed-nodes = $seeds
CONF
done
echo "akc nodes benchmark, $(date -u +%FT%RZ), $(nproc) cores, build $AKC_BIN"
echo "$N nodes (memberd + leaderd) started over ${SPREAD}s, held ${HOLD}s"
t0=$(date +%s%N)
for ((i = 1; i <= N; i++)); do
	memberd -c "$D/n$i.conf" >"$D/n$i.memberd.log" 2>&1 &
	PIDS+=($!)
	MPID[i]=$!
	leaderd -c "$D/n$i.conf" >"$D/n$i.leaderd.log" 2>&1 &
	PIDS+=($!)
	LPID[i]=$!
	# evenly over SPREAD seconds
	target=$(( t0 + i * SPREAD * 1000000000 / N ))
	now=$(date +%s%N)
	(( target > now )) && sleep "$(( (target - now) / 1000000 ))e-3"
done
sleep "$HOLD"
alive_m=0 alive_l=0 allup=0 rss=()
# builtins only: under this load every fork takes a while
for ((i = 1; i <= N; i++)); do
	kill -0 "${MPID[i]}" 2>/dev/null && alive_m=$((alive_m + 1))
	kill -0 "${LPID[i]}" 2>/dev/null && alive_l=$((alive_l + 1))
	r=0
	while read -r k v _; do
		[ "$k" = VmRSS: ] && r=$v
	done < "/proc/${MPID[i]}/status" 2>/dev/null
	rss+=("$r")
done
for ((i = 1; i <= N; i += N / 10 > 0 ? N / 10 : 1)); do
	up=$(akc-members -c "$D/n$i.conf" --json 2>/dev/null | jq '[.[] | select(.status == "Up")] | length')
	[ "${up:-0}" = "$N" ] && allup=$((allup + 1))
done
sampled=$(( (N + (N / 10 > 0 ? N / 10 : 1) - 1) / (N / 10 > 0 ? N / 10 : 1) ))
printf 'memberd alive: %d/%d   leaderd alive: %d/%d\n' "$alive_m" "$N" "$alive_l" "$N"
printf 'nodes seeing all %d Up: %d of %d sampled\n' "$N" "$allup" "$sampled"
printf '%s\n' "${rss[@]}" | sort -n | awk '{v[NR]=$1; s+=$1} END {
	printf "memberd RSS: mean %.2f MiB, max %.2f MiB\n", s/NR/1024, v[NR]/1024 }'
died=$(grep -l -E "Assertion|assert|abort|Aborted" "$D"/*.log 2>/dev/null | wc -l)
printf 'logs naming an assertion or abort: %d\n' "$died"
grep -h -E "Assertion|abort" "$D"/*.log 2>/dev/null | sort | uniq -c | head -3
if (( alive_l < N )); then
	echo "why leaderds ended (last lines, counted):"
	for ((i = 1; i <= N; i++)); do
		kill -0 "${LPID[i]}" 2>/dev/null || tail -1 "$D/n$i.leaderd.log"
	done | sed 's/[0-9]\{2,\}/N/g' | sort | uniq -c | sort -rn | head -5
fi
