#!/usr/bin/env bats
# 4022: local clients straight to the master: the master binds
# singleton.master.direct next to its node's proxy; akc-submit, akc-results,
# akc-queue and workers on that node try it first and fall back to the
# proxy when it is not there (the master elsewhere, stopped, or killed).
# Nothing acknowledged is lost when the master's node dies under them.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# direct_of NODE: the master's count of requests on its direct socket, asked through NODE.
direct_of() { queue_field "$1" direct_requests; }

# submit_range NODE PREFIX FROM TO: jobs PREFIX-FROM .. PREFIX-TO through NODE, ids printed.
submit_range() {
	local i
	for ((i = $3; i <= $4; i++)); do
		akc-submit -c "$(conf_of "$1")" --id "$2-$i" "payload $i" || return 1
	done
}

# master_pid NODE: the pid of the master singletond runs on NODE.
master_pid() {
	akc-status -c "$(conf_of "$1")" --json | jq -r '.singletons[] | select(.name == "master") | .pid'
}

@test "clients on the master's node use its direct socket, others the proxy; AKC_MASTER_DIRECT=0 does not" {
	work_cluster 3
	wait_until 30 serving n1
	[ -S "$AKC_DIR/n1/singleton.master.direct" ]
	[ ! -e "$AKC_DIR/n2/singleton.master.direct" ]
	local d0 d1 d2 d3
	d0=$(direct_of n2)
	[[ "$d0" =~ ^[0-9]+$ ]]
	submit_range n1 a 1 20 > "$AKC_DIR/acked"
	d1=$(direct_of n2)
	[ "$((d1 - d0))" = 20 ]
	# through n2's proxy: none of them direct
	submit_range n2 b 1 20 >> "$AKC_DIR/acked"
	d2=$(direct_of n2)
	[ "$d2" = "$d1" ]
	AKC_MASTER_DIRECT=0 submit_range n1 c 1 5 >> "$AKC_DIR/acked"
	[ "$(direct_of n2)" = "$d2" ]
	# a worker on n1 asks and reports on it; one on n2 through its proxy
	start_worker n1 >/dev/null
	start_worker n2 >/dev/null
	wait_until 30 all_done n1 "$AKC_DIR/acked"
	d3=$(direct_of n2)
	[ "$d3" -gt "$d2" ]
	# the request ids of the worker's one connection, answered on the socket they came in on
	[ "$(results_count n1)" = 45 ]
}

@test "the master killed -9: local clients fall back to the proxy at once; its restart binds the socket again" {
	work_cluster 3
	submit_range n1 a 1 5 > "$AKC_DIR/acked"
	local pid
	pid=$(master_pid n1)
	[[ "$pid" =~ ^[0-9]+$ ]]
	kill -9 "$pid"
	# a stale socket file, nothing listening: the tool goes through n1's proxy,
	# which holds the request until the master is back (on n1, or elsewhere)
	run akc-submit -c "$(conf_of n1)" --id during-1 --call-timeout 20s "payload"
	assert_success
	echo during-1 >> "$AKC_DIR/acked"
	wait_until 20 eval '[ "$(master_pid n1)" != "$pid" ] && [ -n "$(master_pid n1)" ]'
	wait_until 30 serving n1
	local d0
	d0=$(direct_of n1)
	submit_range n1 after 1 3 >> "$AKC_DIR/acked"
	[ "$(( $(direct_of n1) - d0 ))" = 4 ]	# three submits and this status
	start_worker n2 >/dev/null
	wait_until 30 all_done n2 "$AKC_DIR/acked"
}

@test "the master's node killed -9: its jobs survive, the new master's node gets the direct socket, clients there use it" {
	work_cluster 3
	start_worker n1 >/dev/null
	start_worker n3 >/dev/null
	submit_range n1 a 1 30 > "$AKC_DIR/acked"
	kill_node n1
	# the master moves to the oldest left (n2, unless n3 was Up first: under
	# load their joins may finish in either order): clients there find its
	# socket, and a worker of that node started now asks on it
	wait_until 60 eval '[ -S "$AKC_DIR/n2/singleton.master.direct" ] || [ -S "$AKC_DIR/n3/singleton.master.direct" ]'
	local m=n2 o=n3 d0
	if [ ! -S "$AKC_DIR/n2/singleton.master.direct" ]; then
		m=n3 o=n2
	fi
	wait_until 30 serving $m
	start_worker $m >/dev/null
	d0=$(direct_of $m)
	submit_range $m b 1 10 >> "$AKC_DIR/acked"
	[ "$(direct_of $m)" -ge $((d0 + 11)) ]
	submit_range $o c 1 10 >> "$AKC_DIR/acked"
	wait_until 60 all_done $o "$AKC_DIR/acked"
}

@test "the master stopped on its node (singletond stopped): the socket goes; its worker, cut off, comes back on the new one" {
	work_cluster 3
	start_worker n1 >/dev/null
	submit_range n1 a 1 5 > "$AKC_DIR/acked"
	wait_until 30 all_done n1 "$AKC_DIR/acked"
	kill -TERM "$(pid_of n1 singletond)"
	wait_until 20 process_exited "$(pid_of n1 singletond)"
	# a clean stop removes it: no stale file for clients to try
	[ ! -e "$AKC_DIR/n1/singleton.master.direct" ]
	# n1 is still the oldest member: its singletond started again runs the master again
	start_singleton n1 master
	wait_until 30 eval '[ -S "$AKC_DIR/n1/singleton.master.direct" ]'
	wait_until 30 serving n1
	local d0
	d0=$(direct_of n1)
	submit_range n1 b 1 5 >> "$AKC_DIR/acked"
	[ "$(( $(direct_of n1) - d0 ))" -ge 6 ]	# five submits, this status (and the worker's)
	# the worker lost its connection, sent its requests again and runs the new jobs
	wait_until 30 all_done n1 "$AKC_DIR/acked"
	grep -q 'connection lost (to the proxy or the master.s own socket): [1-9][0-9]* request(s) go again at once' \
	    "$AKC_DIR/n1.worker.log"
}

@test "a worker on the proxy moves to the master's own socket when the master comes to its node" {
	work_cluster 3
	start_worker n2 >/dev/null
	start_worker n3 >/dev/null
	submit_range n1 a 1 5 > "$AKC_DIR/acked"
	wait_until 30 all_done n1 "$AKC_DIR/acked"
	# n1 leaves: the master is handed over to the oldest of the other two
	akc-leave -c "$(conf_of n1)"
	wait_until 60 eval '[ -S "$AKC_DIR/n2/singleton.master.direct" ] || [ -S "$AKC_DIR/n3/singleton.master.direct" ]'
	local m=n2 o=n3 d0
	if [ ! -S "$AKC_DIR/n2/singleton.master.direct" ]; then
		m=n3 o=n2
	fi
	wait_until 30 serving $m
	# before: its worker stayed on the proxy (the direct socket was tried only
	# at a connect, and the proxy's connection never broke)
	wait_until 20 grep -q "the master runs on this node now: its own socket instead of the proxy" \
	    "$AKC_DIR/$m.worker.log"
	run grep -q "the master runs on this node now" "$AKC_DIR/$o.worker.log"
	[ "$status" = 1 ]
	# its asks and reports now come on the direct socket
	d0=$(direct_of $m)
	submit_range $o b 1 10 >> "$AKC_DIR/acked"
	wait_until 60 all_done $o "$AKC_DIR/acked"
	[ "$(direct_of $m)" -gt $((d0 + 1)) ]
}
