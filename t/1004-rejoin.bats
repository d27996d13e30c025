#!/usr/bin/env bats
# 1004: a restarted node is a new incarnation; the old one is downed and removed.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

uid_of() {	# uid_of NODE SUBJECT
	members_json "$1" | jq -r --arg n "$2" '[.[] | select(.node == $n)][0].uid'
}

@test "a node restarted after kill -9 rejoins with a new uid, the old incarnation is removed" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local old
	old=$(uid_of n1 n3)
	watch_events n1
	kill_node n3
	start_node n3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	local new
	new=$(uid_of n1 n3)
	[ -n "$new" ] && [ "$new" != "$old" ]
	[ "$(uid_of n2 n3)" = "$new" ]
	# the old incarnation went Down and Removed; the new one Joined and came Up
	grep "\"type\":\"MemberRemoved\",\"node\":\"n3\"" "$AKC_DIR/n1.events" | grep -q "\"uid\":\"$old\""
	grep "\"type\":\"MemberUp\",\"node\":\"n3\"" "$AKC_DIR/n1.events" | grep -q "\"uid\":\"$new\""
	# no member appears twice
	run bash -c "akc-members -c $(conf_of n2) --json | jq '[.[].node] | unique | length'"
	assert_output 3
}

@test "a downed node restarted by its supervisor joins again as a new member" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local m3
	m3=$(pid_of n3 memberd)
	run akc-down -c "$(conf_of n1)" n3
	assert_success
	wait_until 10 process_exited "$m3"
	[ "$(exit_status_of "$m3")" = 3 ]
	wait_until 10 process_exited "$(pid_of n3 leaderd)"
	start_node n3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
}

@test "a restarted first seed that a member answered never forms a second cluster" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	kill_node n1
	kill_node n3
	wait_until 10 is_unreachable n2 n1
	start_node n1
	# n2 answers n1's new incarnation, but cannot admit it before the old one
	# is removed, which the unreachable n3 blocks; n1 must keep waiting
	sleep 3
	run bash -c "akc-status -c $(conf_of n1) --json | jq -r .phase"
	assert_output joining
	run akc-down -c "$(conf_of n2)" n3
	assert_success
	wait_until 30 all_up_everywhere 2 n1 n2
}
