#!/usr/bin/env bats
# 1003: graceful leave: Leaving, Exiting, Removed everywhere; the leaver exits 0.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "akc-leave: Leaving, Exiting, Removed on every node; the leaver's daemons exit 0" {
	start_cluster 4
	wait_until 30 all_up_everywhere 4 $(nodes 4)
	watch_events n1 n2 n3 n4
	local m4 l4
	m4=$(pid_of n4 memberd)
	l4=$(pid_of n4 leaderd)
	run akc-leave -c "$(conf_of n4)"
	assert_success
	for n in n1 n2 n3; do
		wait_until 15 saw "$n" MemberRemoved n4
		saw "$n" MemberLeft n4
		saw "$n" MemberExited n4
	done
	grep '"type":"MemberRemoved","node":"n4"' "$AKC_DIR/n1.events" | grep -q '"previous_status":"Exiting"'
	wait_until 15 process_exited "$m4"
	wait_until 15 process_exited "$l4"
	[ "$(exit_status_of "$m4")" = 0 ]
	[ "$(exit_status_of "$l4")" = 0 ]
	saw n4 MemberLeft n4
	wait_until 10 all_up_everywhere 3 n1 n2 n3
}

@test "akc-leave NODE from another node; the leader leaving hands leadership on" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local leader rest=() n
	leader=$(lowest_node n1 n2 n3)
	for n in n1 n2 n3; do [ "$n" != "$leader" ] && rest+=("$n"); done
	local m
	m=$(pid_of "$leader" memberd)
	run akc-leave -c "$(conf_of "${rest[0]}")" "$leader"
	assert_success
	wait_until 15 process_exited "$m"
	[ "$(exit_status_of "$m")" = 0 ]
	wait_until 15 all_up_everywhere 2 "${rest[@]}"
	run bash -c "akc-status -c $(conf_of "${rest[1]}") --json | jq -r .leader"
	assert_output "$(lowest_node "${rest[@]}")"
}

@test "akc-leave of an unknown node is refused with exit 1" {
	start_cluster 1
	wait_until 20 all_up n1 1
	run akc-leave -c "$(conf_of n1)" nosuchnode
	assert_failure 1
	assert_output "akc-leave: unknown node 'nosuchnode'"
	run akc-down -c "$(conf_of n1)" nosuchnode
	assert_failure 1
	assert_output "akc-down: unknown node 'nosuchnode'"
}
