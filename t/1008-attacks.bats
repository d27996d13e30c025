#!/usr/bin/env bats
# 1008: a stranger without the key, on memberd's port, costs CPU but never
# the node: bounded memory and descriptors, the tools answer, leaderd and
# singletond stay. (bench/attack.sh measures the same at length.)

load lib/akc

setup() { akc_setup; }
teardown() {
	[ -n "${ATTACK_PID:-}" ] && kill "$ATTACK_PID" 2>/dev/null
	akc_teardown
}

# under_attack MODE SECS [ARGS...]: runs bench/attack MODE against n1 for
# SECS while probing n1 every 0.5 s: akc-status (2 s at most), memberd's RSS
# and descriptors. Sets FAILED, RSS_MAX (KiB), FDS_MAX.
under_attack() {
	local mode=$1 secs=$2 pid end
	shift 2
	local port
	port=$(addr_of n1)
	port=${port##*:}
	"$AKC_BIN/bench/attack" --akc "$mode" -d "$secs" "$@" "127.0.0.1:$port" \
	    > "$AKC_DIR/attack.$mode" 2>&1 3>&- &
	ATTACK_PID=$!
	pid=$(pid_of n1 memberd)
	FAILED=0 RSS_MAX=0 FDS_MAX=0
	end=$((SECONDS + secs))
	while (( SECONDS < end )); do
		timeout 2 akc-status -c "$(conf_of n1)" >/dev/null 2>&1 || FAILED=$((FAILED + 1))
		local rss fds
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
		fds=$(ls "/proc/$pid/fd" | wc -l)
		(( rss > RSS_MAX )) && RSS_MAX=$rss
		(( fds > FDS_MAX )) && FDS_MAX=$fds
		sleep 0.5
	done
	wait "$ATTACK_PID" || true
	ATTACK_PID=
	echo "# $mode: akc-status failed $FAILED, memberd RSS max ${RSS_MAX} KiB, fds max $FDS_MAX" >&3
	cat "$AKC_DIR/attack.$mode" >&3
}

alive_after() {
	kill -0 "$(pid_of n1 memberd)" && kill -0 "$(pid_of n1 leaderd)" &&
	    kill -0 "$(pid_of n1 singletond)"
}

@test "a flood of garbage, a memory hog and a descriptor hog leave the node working" {
	ulimit -n 4096
	akc-keys generate > "$AKC_DIR/cluster.key"
	# peer-sockets 32: an inbound cap of 128, which the fd hog passes for sure (with
	# the default 512 it did only when the kernel's SYN retries let enough through)
	start_cluster 3 "[security]=" "key-file=$AKC_DIR/cluster.key" "[singleton.s]=" "command=sleep 1000" \
	    "[cluster]=" "peer-sockets=32"
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	# on every node: n1 need not be the oldest (nodes that join before the
	# first is Up are moved Up together, in address order, and ports are random)
	local n old
	for n in n1 n2 n3; do start_singleton "$n" s; done
	old=$(oldest_with n1 "")
	wait_until 20 singleton_on n1 s "$old"
	# one connection after another of 64 KiB then 4 MiB frames that fail
	under_attack flood 8
	(( FAILED == 0 ))
	(( RSS_MAX < 20 * 1024 ))
	alive_after
	[ "$(status_json n1 | jq '.dropped.malformed + .dropped.unauthenticated')" -gt 100 ]
	# 40 connections announcing the most a stranger may (64 KiB), never finishing
	under_attack memhog 7
	(( FAILED == 0 ))
	(( RSS_MAX < 20 * 1024 ))
	alive_after
	[ "$(status_json n1 | jq .connections.preauth_timeout)" -ge 40 ]
	# 1100 idle connections against the cap (4 x peer-sockets = 128)
	under_attack fdhog 8
	(( FAILED == 0 ))
	(( FDS_MAX < 128 + 64 ))	# the cap and memberd's own descriptors
	alive_after
	[ "$(status_json n1 | jq .connections.evicted)" -gt 0 ]
	# and the cluster never lost n1
	wait_until 10 all_up_everywhere 3 n1 n2 n3
	singleton_on n1 s "$old"
}
