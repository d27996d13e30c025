#!/bin/bash
# bench/cluster.sh [N...]: start N real nodes on 127.0.0.1 with the contract's
# default failure-detector and gossip settings and print: join convergence,
# idle CPU / memory / bytes per memberd, false unreachables while idle,
# failure detection after kill -9, akc-down -> removed, akc-leave -> removed.
# Environment: IDLE (seconds of idle measurement, default 60), KILLS (nodes
# killed one after another for the detection figures, default 5), AKC_BIN.
set -u
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
IDLE=${IDLE:-60}
KILLS=${KILLS:-5}
export PATH="$AKC_BIN:$PATH"
[ -x "$AKC_BIN/memberd" ] || { echo "bench: build first (bin/akc-bootstrap)" >&2; exit 1; }
. bench/lib.sh

pids_cleanup_trap

# event_ms: the "time" of each JSON event on stdin as epoch milliseconds
event_ms() { jq -r '((.time[0:19] + "Z") | fromdateiso8601) * 1000 + (.time[20:23] | tonumber)'; }
# stats: min/median/max (ms -> s) of numbers on stdin
stats() { sort -n | awk '{v[NR]=$1} END { if (NR == 0) { print "n/a"; exit }
	printf "min %.2fs median %.2fs max %.2fs (n=%d)", v[1]/1000, v[int((NR+1)/2)]/1000, v[NR]/1000, NR }'; }

# waits until every listed events file has a line of TYPE for NODE, or SECS pass
wait_events() {
	local type=$1 node=$2 secs=$3; shift 3
	local end=$(( $(now_ms) + secs * 1000 )) f
	while :; do
		local missing=0
		for f in "$@"; do
			grep -q "\"type\":\"$type\",\"node\":\"$node\"" "$f" || { missing=1; break; }
		done
		[ $missing = 0 ] && return 0
		[ "$(now_ms)" -ge $end ] && return 1
		sleep 0.05
	done
}
# per-file delay of the first TYPE event for NODE after T0 (ms)
delays() {
	local type=$1 node=$2 t0=$3; shift 3
	local f
	for f in "$@"; do
		grep "\"type\":\"$type\",\"node\":\"$node\"" "$f" | head -1 | event_ms |
			awk -v t0="$t0" '{print $1 - t0}'
	done
}

bench() {
	local n=$1 i
	D=$(mktemp -d /tmp/akcb.XXXXXX)
	bench_confs "$D" "$n"
	# join: start every node as fast as we can, each with an event subscriber
	local t_first t_last
	t_first=$(now_ms)
	for ((i = 1; i <= n; i++)); do
		memberd -c "$D/n$i.conf" 2>"$D/n$i.memberd.log" & PIDS+=($!); echo $! > "$D/n$i.mpid"
		leaderd -c "$D/n$i.conf" 2>"$D/n$i.leaderd.log" & PIDS+=($!); echo $! > "$D/n$i.lpid"
	done
	t_last=$(now_ms)
	for ((i = 1; i <= n; i++)); do
		until [ -S "$D/n$i/memberd.ctl" ]; do sleep 0.01; done
		akc-events -c "$D/n$i.conf" > "$D/n$i.events" 2>/dev/null & PIDS+=($!); echo $! > "$D/n$i.epid"
	done
	local end=$(( $(now_ms) + 120000 )) done_nodes=0
	while [ "$(now_ms)" -lt $end ]; do
		done_nodes=0
		for ((i = 1; i <= n; i++)); do
			[ "$(grep -c '"type":"MemberUp"' "$D/n$i.events")" -ge "$n" ] && done_nodes=$((done_nodes + 1))
		done
		[ $done_nodes = "$n" ] && break
		sleep 0.2
	done
	local join
	join=$(for ((i = 1; i <= n; i++)); do
		grep '"type":"MemberUp"' "$D/n$i.events" | event_ms | sort -n | tail -1 |
			awk -v t0="$t_last" '{print $1 - t0}'
	done | stats)

	# idle: CPU (all threads, schedstat ns), RSS, PSS, bytes written per second
	local files=() mp
	for ((i = 1; i <= n; i++)); do files+=("$D/n$i.events"); done
	sleep 2
	local before_unreach
	before_unreach=$(cat "${files[@]}" | grep -c '"type":"UnreachableMember"')
	declare -A cpu0 w0 s0
	for ((i = 1; i <= n; i++)); do
		mp=$(cat "$D/n$i.mpid")
		cpu0[$i]=$(cpu_ns "$mp")
		w0[$i]=$(akc-status -c "$D/n$i.conf" --json | jq '.traffic.sent_bytes + .traffic.received_bytes')
		s0[$i]=$(akc-status -c "$D/n$i.conf" --json | jq '.traffic.sent_bytes')
	done
	sleep "$IDLE"
	local idle_rows=""
	for ((i = 1; i <= n; i++)); do
		mp=$(cat "$D/n$i.mpid")
		idle_rows+="$(( ($(cpu_ns "$mp") - cpu0[$i]) / IDLE )) "
		idle_rows+="$(awk '/^VmRSS/ {print $2}' /proc/$mp/status) "
		idle_rows+="$(awk '/^Pss:/ {print $2}' /proc/$mp/smaps_rollup) "
		idle_rows+="$(( ($(akc-status -c "$D/n$i.conf" --json | jq '.traffic.sent_bytes + .traffic.received_bytes') - w0[$i]) / IDLE )) "
		idle_rows+="$(( ($(akc-status -c "$D/n$i.conf" --json | jq '.traffic.sent_bytes') - s0[$i]) / IDLE ))"$'\n'
	done
	local false_unreach
	false_unreach=$(( $(cat "${files[@]}" | grep -c '"type":"UnreachableMember"') - before_unreach ))

	# failure detection: kill -9 of KILLS nodes in turn, each at a random
	# moment of the heartbeat cycle, then akc-down -> MemberRemoved everywhere
	local k victim others detect_all="" down_all="" t_kill t_down
	local live=()
	for ((i = 1; i <= n; i++)); do live+=("n$i"); done
	for ((k = 0; k < KILLS && k < n - 3; k++)); do
		victim=n$((n - k))
		others=()
		for ((i = 1; i < n - k; i++)); do others+=("$D/n$i.events"); done
		sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
		t_kill=$(now_ms)
		kill -9 "$(cat "$D/$victim.mpid")" "$(cat "$D/$victim.lpid")" "$(cat "$D/$victim.epid")" 2>/dev/null
		wait_events UnreachableMember "$victim" 60 "${others[@]}" ||
			echo "bench: not every node saw $victim unreachable" >&2
		detect_all+="$(delays UnreachableMember "$victim" "$t_kill" "${others[@]}" | sort -n |
			awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"$'\n'
		t_down=$(now_ms)
		akc-down -c "$D/n1.conf" "$victim" >/dev/null
		wait_events MemberRemoved "$victim" 30 "${others[@]}" ||
			echo "bench: $victim not removed everywhere" >&2
		down_all+="$(delays MemberRemoved "$victim" "$t_down" "${others[@]}")"$'\n'
	done
	local detect down
	detect=$(grep . <<<"$detect_all" | stats)
	down=$(grep . <<<"$down_all" | stats)
	n=$((n - k))	# the nodes still running

	# graceful leave of another node -> MemberRemoved everywhere else
	local leaver=n$n rest=()
	for ((i = 1; i < n; i++)); do rest+=("$D/n$i.events"); done
	local t_leave
	t_leave=$(now_ms)
	akc-leave -c "$D/$leaver.conf" >/dev/null
	wait_events MemberRemoved "$leaver" 30 "${rest[@]}" || echo "bench: $leaver not removed everywhere" >&2
	local leave
	leave=$(delays MemberRemoved "$leaver" "$t_leave" "${rest[@]}" | stats)

	printf '\n== N=%d  (started %d nodes in %.2fs)\n' "$((n + k))" "$((n + k))" "$(( t_last - t_first ))e-3"
	printf '  all Up on every node, after the last start: %s\n' "$join"
	printf '  failure detection (kill -9 -> UnreachableMember everywhere, median over observers, %d kills): %s\n' "$k" "$detect"
	printf '  akc-down -> MemberRemoved on every node:          %s\n' "$down"
	printf '  akc-leave -> MemberRemoved on every node:         %s\n' "$leave"
	printf '  false UnreachableMember events in %ds idle:      %d\n' "$IDLE" "$false_unreach"
	awk '{c+=$1; r+=$2; p+=$3; b+=$4; s+=$5; if ($1>mc) mc=$1; if ($2>mr) mr=$2}
	     END {printf "  idle memberd: CPU mean %.3f%% max %.3f%% of a core; RSS mean %.2f MiB max %.2f MiB; PSS mean %.2f MiB; %.0f bytes/s sent+received mean, %.0f sent\n",
		c/NR/1e7, mc/1e7, r/NR/1024, mr/1024, p/NR/1024, b/NR, s/NR}' <<<"$idle_rows"
	pids_cleanup
}

echo "akc cluster benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
echo "settings: heartbeat-interval 1s, acceptable-heartbeat-pause 3s, threshold 8.0,"
echo "          monitored-by-nr-of-members 5, gossip-interval 1s, seed-node-timeout 1s; no key-file"
for n in "${@:-5 25 50}"; do
	bench "$n"
done
