#!/bin/bash
# bench/serf.sh [N...]: idle bytes per second per agent of N Serf agents
# (Debian package serf, -profile=lan, no encryption) on 127.0.0.1, for the
# comparison of issue 13. Bytes are the UDP and TCP payloads between the
# agents' ports, captured on the loopback with tcpdump for IDLE seconds
# (default 30) once every agent sees all N alive, divided by N and IDLE: what
# the agents send each other, without IP/UDP/TCP headers or bare ACKs.
# AKC=1 also captures an akc cluster of the same N (bench/lib.sh's configs,
# AKC_BIN's build) the same way, and prints its own counters beside, to show
# that both are counted alike (akc's payload = its frames + 4 bytes each).
# SETTLE (default 5) is the seconds waited after that before the capture:
# akc's members learn that a peer reads the compact digests and bound
# connections at their first contact, so at 100 nodes the first minute or
# two is still partly JSON digests (doc/PROTOCOL.md, "Compact digests and
# bound connections"); SETTLE=120 shows the steady state.
# Needs root (tcpdump) and serf; prints figures, never passes or fails.
set -u
cd "$(dirname "$0")/.."
IDLE=${IDLE:-30}
SETTLE=${SETTLE:-5}
AKC_BIN=${AKC_BIN:-$PWD}
command -v serf >/dev/null || { echo "bench: no serf (apt-get install serf)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "bench: no tcpdump" >&2; exit 1; }
. bench/lib.sh

pids_cleanup_trap

# a base port below the ephemeral range with base+1..base+2N free
pick_base() {
	local n=$1 lo base
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	base=$(( 20000 + RANDOM % (lo - 20000 - 2 * n - 1) ))
	while ! port_free $((base + 1)) || ! port_free $((base + 2 * n)); do
		base=$(( 20000 + RANDOM % (lo - 20000 - 2 * n - 1) ))
	done
	echo "$base"
}

# capture BASE N: payload bytes between ports BASE+1..BASE+N over IDLE seconds
capture() {
	local base=$1 n=$2 tp
	tcpdump -i lo -nn -q -w "$D/cap.pcap" \
	    "(tcp or udp) and portrange $((base + 1))-$((base + n))" 2>/dev/null &
	tp=$!
	sleep 1		# tcpdump's start
	sleep "$IDLE"
	kill -INT "$tp"
	wait "$tp" 2>/dev/null
	# "IP A.p > B.q: UDP, length L" / "IP A.p > B.q: tcp L"
	tcpdump -r "$D/cap.pcap" -nn -q 2>/dev/null | awk '{s += $NF} END {print s + 0}'
}

serf_bench() {
	local n=$1 base i alive end bytes
	D=$(mktemp -d /tmp/serfb.XXXXXX)
	base=$(pick_base "$n")
	# the first, then the others: an agent whose -join fails at its start
	# exits, so they retry instead
	for ((i = 1; i <= n; i++)); do
		serf agent -node="s$i" -bind="127.0.0.1:$((base + i))" \
		    -rpc-addr="127.0.0.1:$((base + n + i))" -profile=lan -log-level=warn \
		    $([ "$i" -gt 1 ] && echo "-retry-join=127.0.0.1:$((base + 1)) -retry-interval=1s") \
		    > "$D/s$i.log" 2>&1 & PIDS+=($!)
		if [ "$i" = 1 ]; then
			until serf members -rpc-addr="127.0.0.1:$((base + n + 1))" >/dev/null 2>&1; do
				sleep 0.1
			done
		fi
	done
	end=$(( SECONDS + 120 ))
	while [ $SECONDS -lt $end ]; do
		alive=0
		for i in 1 $(( (n + 1) / 2 )) "$n"; do
			[ "$(serf members -rpc-addr="127.0.0.1:$((base + n + i))" -status=alive 2>/dev/null |
			    wc -l)" = "$n" ] && alive=$((alive + 1))
		done
		[ $alive = 3 ] && break
		sleep 0.5
	done
	[ "$alive" = 3 ] || echo "bench: not all $n serf agents alive everywhere" >&2
	sleep "$SETTLE"		# the join's broadcasts die down
	bytes=$(capture "$base" "$n")
	alive=$(serf members -rpc-addr="127.0.0.1:$((base + n + 1))" -status=alive | wc -l)
	printf 'serf  N=%-4d idle payload bytes/s per agent: %.0f (%d alive at the end)\n' "$n" \
	    "$(bc -l <<<"$bytes / $n / $IDLE")" "$alive"
	pids_cleanup
}

akc_bench() {
	local n=$1 base i end up s0=0 s1=0 m0=0 m1=0 bytes t a0 a1 b0 b1
	D=$(mktemp -d /tmp/akcb.XXXXXX)
	bench_confs "$D" "$n"
	base=$(sed -n 's|^address = tcp://127.0.0.1:||p' "$D/n1.conf")
	base=$((base - 1))
	for ((i = 1; i <= n; i++)); do
		"$AKC_BIN/memberd" -c "$D/n$i.conf" 2>"$D/n$i.memberd.log" & PIDS+=($!)
		"$AKC_BIN/leaderd" -c "$D/n$i.conf" 2>"$D/n$i.leaderd.log" & PIDS+=($!)
	done
	end=$(( SECONDS + 120 ))
	while [ $SECONDS -lt $end ]; do
		up=$("$AKC_BIN/akc-members" -c "$D/n$n.conf" --json 2>/dev/null |
		    jq '[.[] | select(.status == "Up")] | length' 2>/dev/null)
		[ "${up:-0}" = "$n" ] && break
		sleep 0.5
	done
	sleep "$SETTLE"
	# its own counters around the capture: the window runs from the middle
	# of the first round of status calls to the middle of the second
	a0=$(date +%s%N)
	for ((i = 1; i <= n; i++)); do
		t=$("$AKC_BIN/akc-status" -c "$D/n$i.conf" --json | jq -r '"\(.traffic.sent_bytes) \(.traffic.sent_messages)"')
		s0=$((s0 + ${t% *})); m0=$((m0 + ${t#* }))
	done
	a1=$(date +%s%N)
	bytes=$(capture "$base" "$n")
	b0=$(date +%s%N)
	for ((i = 1; i <= n; i++)); do
		t=$("$AKC_BIN/akc-status" -c "$D/n$i.conf" --json | jq -r '"\(.traffic.sent_bytes) \(.traffic.sent_messages)"')
		s1=$((s1 + ${t% *})); m1=$((m1 + ${t#* }))
	done
	b1=$(date +%s%N)
	t=$(bc -l <<<"(($b0 + $b1) - ($a0 + $a1)) / 2 / 1000000000")
	printf 'akc   N=%-4d idle payload bytes/s per node: %.0f (its counters: %.0f sent in frames, %.0f with TCP'"'"'s 4-byte lengths)\n' \
	    "$n" "$(bc -l <<<"$bytes / $n / $IDLE")" "$(bc -l <<<"($s1 - $s0) / $n / $t")" \
	    "$(bc -l <<<"($s1 - $s0 + 4 * ($m1 - $m0)) / $n / $t")"
	pids_cleanup
}

echo "serf: $(serf version | head -1) (Debian $(dpkg-query -W -f '${Version}' serf 2>/dev/null)), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, capture of ${IDLE} s from ${SETTLE} s after all are up"
for n in "${@:-20 50}"; do
	serf_bench "$n"
	[ "${AKC:-0}" = 1 ] && akc_bench "$n"
done
