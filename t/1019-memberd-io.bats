#!/usr/bin/env bats
# 1019: what memberd's shell spends per message and per version (issue 13,
# bench/README.md "What memberd's shell spends per message"): the membership
# memory is swapped with its spare file rather than written as a new file
# each time, a connection's readiness is told to epoll only when it changes,
# a read that empties a socket is not followed by one that says EAGAIN, and
# akc-status counts the frames and the system calls that carried them.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# inodes NODE: the inode numbers of NODE's memory file and its spare, sorted
inodes() {
	stat -c %i "$AKC_DIR/$1.state/memberd.cluster" "$AKC_DIR/$1.state/memberd.cluster.new" |
		sort -n | tr '\n' ' '
}
remembered() { jq '.members | length' "$AKC_DIR/$1.state/memberd.cluster" 2>/dev/null; }

@test "the memory is written into its spare and swapped with it: two inodes for every write, gone when the node leaves" {
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	wait_until 10 eval '[ "$(remembered n1)" = 3 ]'
	node_conf n4
	start_node n4
	wait_until 30 all_up_everywhere 4 n1 n2 n3 n4
	wait_until 10 eval '[ "$(remembered n1)" = 4 ]'
	# two versions written: the current one and its spare (the one before)
	wait_until 10 test -f "$AKC_DIR/n1.state/memberd.cluster.new"
	local before
	before=$(inodes n1)
	jq -e '.members | length >= 1' "$AKC_DIR/n1.state/memberd.cluster.new" >/dev/null
	# another member: another write, into the same two files
	node_conf n5
	start_node n5
	wait_until 30 all_up_everywhere 5 n1 n2 n3 n4 n5
	wait_until 10 eval '[ "$(remembered n1)" = 5 ]'
	[ "$(inodes n1)" = "$before" ]
	jq -e '.members | length == 5' "$AKC_DIR/n1.state/memberd.cluster" >/dev/null
	# a node that leaves forgets its cluster: neither file is left
	[ -f "$AKC_DIR/n5.state/memberd.cluster" ]
	akc-leave -c "$(conf_of n5)"
	wait_until 20 process_exited "$(pid_of n5 memberd)"
	[ ! -e "$AKC_DIR/n5.state/memberd.cluster" ]
	[ ! -e "$AKC_DIR/n5.state/memberd.cluster.new" ]
}

@test "akc-status counts the frames sent and received and the writes and reads that carried them" {
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	run status_json n1
	[ "$status" -eq 0 ]
	local c
	c=$(jq -c .connections <<<"$output")
	[ "$(jq '.frames_out > 0 and .writes > 0 and .frames_in > 0 and .reads > 0' <<<"$c")" = true ]
	# a write carries whole frames (these are small): never more writes than frames
	[ "$(jq '.writes <= .frames_out' <<<"$c")" = true ]
	# every frame sent was counted as a message (the counters agree)
	[ "$(jq '.traffic.sent_messages >= .connections.frames_out' <<<"$output")" = true ]
}

# syscalls NODE SECS: strace -c of NODE's memberd (every thread) for SECS seconds
syscalls() {
	timeout "$2" strace -c -f -p "$(pid_of "$1" memberd)" -o "$AKC_DIR/$1.strace" 2>/dev/null || true
	cat "$AKC_DIR/$1.strace"
}
# calls FILE NAME: the calls of NAME in strace -c's table; errors FILE NAME: its errors
calls() { awk -v n="$2" '$NF == n { print $4; f = 1 } END { if (!f) print 0 }' "$1"; }
errors() { awk -v n="$2" '$NF == n { print (NF == 6 ? $5 : 0); f = 1 } END { if (!f) print 0 }' "$1"; }

@test "an idle memberd sends without telling epoll each time, and reads without a recv that says EAGAIN" {
	command -v strace >/dev/null || skip "no strace"
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	syscalls n1 5 >/dev/null
	local f="$AKC_DIR/n1.strace" s e r re
	s=$(calls "$f" sendmsg) e=$(calls "$f" epoll_ctl) r=$(calls "$f" recvfrom) re=$(errors "$f" recvfrom)
	echo "sendmsg $s, epoll_ctl $e, recvfrom $r ($re EAGAIN)" >&3
	# heartbeats and their answers, digests: a few writes a second to each peer
	[ "$s" -ge 5 ]
	[ "$r" -ge 5 ]
	# before: a write's epoll_ctl each (POLLOUT, then back to POLLIN), and each
	# wake-up's recv twice (the second one EAGAIN); the connections stay open here
	[ "$e" -le $(( s / 4 )) ]
	[ "$re" -le $(( r / 4 )) ]
}

# skipped NODE: the state changes of NODE's memberd that could change no event
skipped() { status_json "$1" | jq '.state_notices.events_skipped'; }

@test "a state change of the seen set alone compares no members for events, and every event still comes once" {
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	node_conf n4
	start_node n4
	wait_until 30 all_up_everywhere 4 n1 n2 n3 n4
	# each member's report of a version to the leader grows its seen set only
	wait_until 10 eval '[ "$(skipped n1)" -gt 0 ]'
	local n m
	for n in n1 n2 n3 n4; do
		for m in n1 n2 n3 n4; do
			[ "$(grep -c "memberd: event MemberUp: $m (" "$AKC_DIR/$n.memberd.log")" = 1 ]
			[ "$(grep -c "memberd: event MemberJoined: $m (" "$AKC_DIR/$n.memberd.log")" -le 1 ]
		done
	done
	# a change of the members after skipped ones is still seen: a leave, on every other node
	akc-leave -c "$(conf_of n4)"
	for n in n1 n2 n3; do
		wait_until 20 grep -q "memberd: event MemberRemoved: n4 (" "$AKC_DIR/$n.memberd.log"
	done
	# and an unreachable member after skipped ones too
	kill_node n3
	wait_until 20 grep -q "memberd: event UnreachableMember: n3 (" "$AKC_DIR/n1.memberd.log"
}

# threads PID: how many threads the process runs
threads() { ls "/proc/$1/task" | wc -l; }
# subscribers NODE SOCKET: connections accepted on NODE's SOCKET (memberd.leader...) now
subscribers() {
	ss -xH state connected 2>/dev/null | awk -v p="$AKC_DIR/$1/$2" '$5 == p' | wc -l
}

@test "memberd and leaderd run one thread each (no nanomsg thread); nanomsg's clients and subscribers are served, and leaderd subscribes again after memberd restarts" {
	command -v ss >/dev/null || skip "no ss"
	start_cluster 2
	wait_until 30 all_up_everywhere 2 n1 n2
	local m l
	m=$(pid_of n1 memberd) l=$(pid_of n1 leaderd)
	# before: nanomsg's worker thread in each (2 threads)
	[ "$(threads "$m")" -eq 1 ]
	[ "$(threads "$l")" -eq 1 ]
	# a nanomsg REQ (nanocat) gets memberd's answer; akc-status (lib/spc.c) leaderd's
	run nanocat --req --connect "ipc://$AKC_DIR/n1/memberd.ctl" --data '{"v":2,"cmd":"status"}' \
	    --recv-timeout 2 -A
	[[ "$output" == *'"self"'* ]]
	[ "$(status_json n1 | jq .daemons.leaderd)" = true ]
	# a nanomsg SUB (akc-events) gets memberd's events
	run timeout 5 akc-events -c "$(conf_of n1)" --type MemberUp
	[[ "$output" == *MemberUp* ]]
	# leaderd's subscription to memberd's notices is up
	wait_until 10 eval '[ "$(subscribers n1 memberd.leader)" -ge 1 ]'
	# memberd restarts (a supervisor's quick restart): leaderd stays and subscribes again
	kill -9 "$m"
	wait_until 10 process_dead "$m"
	[ "$(subscribers n1 memberd.leader)" -eq 0 ]
	start_daemon n1 memberd
	wait_until 20 eval '[ "$(subscribers n1 memberd.leader)" -ge 1 ]'
	kill -0 "$l"
	wait_until 30 all_up_everywhere 2 n1 n2
	[ "$(threads "$(pid_of n1 memberd)")" -eq 1 ]
}

# whole_pads FILE LEN: how many "pad":"A...A" of exactly LEN letters FILE holds
whole_pads() { grep -ao '"pad":"A*"' "$1" | awk -v n="$2" 'length($0) == n + 8' | wc -l; }

@test "a relayed message larger than the PUB's backlog (256 KiB) reaches a nanomsg SUB on memberd.svc whole, and the next one too" {
	command -v nanocat >/dev/null || skip "no nanocat"
	start_cluster 2
	wait_until 30 all_up_everywhere 2 n1 n2
	local uid pad
	uid=$(members_json n1 | jq -r '.[] | select(.node == "n1") | .uid')
	# a service on n1 listens on memberd's svc PUB (as lib/svc.c does, topic "SVC\n")
	nanocat --sub --connect "ipc://$AKC_DIR/n1/memberd.svc" --subscribe $'t.big\n' --raw \
	    >"$AKC_DIR/svc.out" 2>"$AKC_DIR/svc.err" 3>&- &
	echo $! >>"$AKC_DIR/pids"
	# 400 KiB of body (a journal batch is up to 512 KiB), sent from n2 through its relay
	pad=$(head -c 300000 /dev/zero | base64 -w0)
	printf '{"v":2,"relay":{"to":"%s","svc":"t.big","body":{"pad":"%s"}}}' "$uid" "$pad" \
	    >"$AKC_DIR/big.json"
	[ "$(stat -c %s "$AKC_DIR/big.json")" -gt 300000 ]
	# nanocat's PUSH may exit before its message leaves (NN_LINGER): it sends every 0.5 s
	nanocat --push --connect "ipc://$AKC_DIR/n2/memberd.relay" -F "$AKC_DIR/big.json" -i 0.5 \
	    >/dev/null 2>&1 3>&- &
	echo $! >>"$AKC_DIR/pids"
	# whole: the body's pad (all "A") arrives with its every byte, twice
	wait_until 20 eval '[ "$(whole_pads "$AKC_DIR/svc.out" "${#pad}")" -ge 2 ]'
}

# rss_kib PID: the process's resident memory, KiB
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

@test "a subscriber that stops reading (kill -STOP) blocks nothing: memberd keeps answering, its memory stays bounded, and what the subscriber missed is counted (local_dropped)" {
	command -v nanocat >/dev/null || skip "no nanocat"
	start_cluster 1
	wait_until 30 all_up_everywhere 1 n1
	local uid pad m stuck rss0 rss1
	m=$(pid_of n1 memberd)
	uid=$(members_json n1 | jq -r '.[0].uid')
	[ "$(status_json n1 | jq .local_dropped.svc)" = 0 ]
	nanocat --sub --connect "ipc://$AKC_DIR/n1/memberd.svc" --raw >/dev/null 2>&1 3>&- &
	stuck=$!
	echo "$stuck" >>"$AKC_DIR/pids"
	wait_until 10 eval '[ "$(ss -xH state connected 2>/dev/null | awk -v p="$AKC_DIR/n1/memberd.svc" "\$5 == p" | wc -l)" -ge 1 ]'
	kill -STOP "$stuck"
	rss0=$(rss_kib "$m")
	# 200 KiB relays to this node's own service, 20 a second: 4 MiB/s for the stuck one
	pad=$(head -c 150000 /dev/zero | base64 -w0)
	printf '{"v":2,"relay":{"to":"%s","svc":"t.flood","body":{"pad":"%s"}}}' "$uid" "$pad" \
	    >"$AKC_DIR/flood.json"
	nanocat --push --connect "ipc://$AKC_DIR/n1/memberd.relay" -F "$AKC_DIR/flood.json" -i 0.05 \
	    >/dev/null 2>&1 3>&- &
	echo $! >>"$AKC_DIR/pids"
	wait_until 20 eval '[ "$(status_json n1 | jq .local_dropped.svc)" -ge 20 ]'
	# memberd answers at once, and holds no more than the backlog and a message or two for it
	run timeout 2 akc-status -c "$(conf_of n1)" --json
	[ "$status" -eq 0 ]
	rss1=$(rss_kib "$m")
	echo "memberd RSS ${rss0} KiB -> ${rss1} KiB" >&3
	[ $((rss1 - rss0)) -lt 8192 ]
	kill -0 "$stuck"
}
