#!/usr/bin/env bats
# 1002: a killed node is detected by every other node, then downed and removed.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "kill -9 of a node: unreachable everywhere within the detector's bound, akc-down removes it" {
	start_cluster 5
	wait_until 30 all_up_everywhere 5 $(nodes 5)
	watch_events n1 n2 n3 n4
	kill_node n5
	# phi reaches 8 about pause + interval + 4.5 x 100 ms after the last heartbeat
	# (1.55 s with the test timings); the rest is slack for a loaded machine.
	wait_until 6 everywhere is_unreachable n5 n1 n2 n3 n4
	for n in n1 n2 n3 n4; do
		saw "$n" UnreachableMember n5
	done
	# no convergence while an Up member is unreachable
	run bash -c "akc-status -c $(conf_of n1) --json | jq .convergence"
	assert_output false
	run bash -c "akc-status -c $(conf_of n2) --json | jq -r '.unreachable[0].node'"
	assert_output n5
	run akc-down -c "$(conf_of n3)" n5
	assert_success
	wait_until 10 everywhere removed_on n5 n1 n2 n3 n4
	wait_until 10 all_up_everywhere 4 n1 n2 n3 n4
	saw n1 MemberDowned n5
}

@test "akc-down by address works and a downed live node shuts itself down" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local m3 l3
	m3=$(pid_of n3 memberd)
	l3=$(pid_of n3 leaderd)
	run akc-down -c "$(conf_of n1)" "$(addr_of n3)"
	assert_success
	wait_until 10 process_exited "$m3"
	wait_until 10 process_exited "$l3"
	[ "$(exit_status_of "$m3")" = 3 ]
	[ "$(exit_status_of "$l3")" = 3 ]
	wait_until 10 all_up_everywhere 2 n1 n2
	grep -q "this node was downed" "$AKC_DIR/n3.memberd.log"
}

@test "a paused process becomes unreachable and reachable again" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	kill -STOP "$(pid_of n3 memberd)"
	wait_until 6 everywhere is_unreachable n3 n1 n2
	kill -CONT "$(pid_of n3 memberd)"
	wait_until 10 all_up_everywhere 3 n1 n2 n3
}

@test "a node downed by its own akc-down tells the others before it goes" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	watch_events n1
	local m3
	m3=$(pid_of n3 memberd)
	run akc-down -c "$(conf_of n3)" n3
	assert_success
	wait_until 10 process_exited "$m3"
	[ "$(exit_status_of "$m3")" = 3 ]
	wait_until 10 saw n1 MemberRemoved n3
	saw n1 MemberDowned n3
	wait_until 10 all_up_everywhere 2 n1 n2
}
