#!/usr/bin/env bats
# 2001: leaderd: the leader rule, role leaders, and actions only on convergence.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

leader_on() { status_json "$1" | jq -r .leader; }

@test "role leaders are the first members with the role in address order" {
	node_conf n1 roles=backend
	AKC_SEEDS=$(addr_of n1)
	node_conf n2 roles=frontend
	node_conf n3 roles=backend,frontend
	start_node n1
	start_node n2
	start_node n3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local j
	j=$(status_json n2)
	[ "$(jq -r .role_leaders.backend <<<"$j")" = "$(lowest_node n1 n3)" ]
	[ "$(jq -r .role_leaders.frontend <<<"$j")" = "$(lowest_node n2 n3)" ]
	[ "$(jq -r .leader <<<"$j")" = "$(lowest_node n1 n2 n3)" ]
}

@test "when the leader dies and is downed, the next member in address order leads" {
	start_cluster 4
	wait_until 30 all_up_everywhere 4 $(nodes 4)
	local leader rest=() n
	leader=$(lowest_node $(nodes 4))
	for n in $(nodes 4); do [ "$n" != "$leader" ] && rest+=("$n"); done
	watch_events "${rest[0]}"
	kill_node "$leader"
	# an unreachable member is not leader any more, even before it is downed
	local next
	next=$(lowest_node "${rest[@]}")
	wait_until 10 bash -c "[ \"\$(akc-status -c $(conf_of "${rest[0]}") --json | jq -r .leader)\" = $next ]"
	grep -q "\"type\":\"LeaderChanged\",\"leader\":\"$next\"" "$AKC_DIR/${rest[0]}.events"
	run akc-down -c "$(conf_of "${rest[1]}")" "$leader"
	assert_success
	wait_until 10 all_up_everywhere 3 "${rest[@]}"
}

@test "an unreachable member blocks joining until it is downed (no convergence)" {
	start_cluster 3 "[cluster]=" allow-weakly-up-members=off
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local victim
	victim=$(for n in n1 n2 n3; do [ "$n" != "$(lowest_node n1 n2 n3)" ] && echo $n; done | tail -1)
	kill_node "$victim"
	wait_until 10 is_unreachable n1 "$victim"
	node_conf n4 "seeds=$(addr_of n1), $(addr_of n2)" "[cluster]=" allow-weakly-up-members=off
	start_node n4
	wait_until 10 bash -c "[ \"\$(akc-members -c $(conf_of n1) --json | jq -r '.[] | select(.node == \"n4\") | .status')\" = Joining ]"
	sleep 1
	[ "$(member_status n1 n4)" = Joining ]
	akc-down -c "$(conf_of n1)" "$victim"
	local live=()
	for n in n1 n2 n3; do [ "$n" != "$victim" ] && live+=("$n"); done
	wait_until 15 all_up_everywhere 3 "${live[@]}" n4
}

@test "without convergence, a joining member becomes WeaklyUp after allow-weakly-up-members, then Up" {
	start_cluster 3 "[cluster]=" allow-weakly-up-members=1s
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local victim
	victim=$(for n in n1 n2 n3; do [ "$n" != "$(lowest_node n1 n2 n3)" ] && echo $n; done | tail -1)
	kill_node "$victim"
	wait_until 10 is_unreachable n1 "$victim"
	node_conf n4 "seeds=$(addr_of n1), $(addr_of n2)" "[cluster]=" allow-weakly-up-members=1s
	start_node n4
	wait_until 15 bash -c "[ \"\$(akc-members -c $(conf_of n1) --json | jq -r '.[] | select(.node == \"n4\") | .status')\" = WeaklyUp ]"
	run bash -c "akc-members -c $(conf_of n4) --json | jq '.[] | select(.node == \"n4\") | .up_number'"
	assert_output null
	akc-down -c "$(conf_of n1)" "$victim"
	local live=()
	for n in n1 n2 n3; do [ "$n" != "$victim" ] && live+=("$n"); done
	wait_until 15 all_up_everywhere 3 "${live[@]}" n4
}

@test "leaderd leaves with status 1 when its memberd is gone" {
	start_cluster 1
	wait_until 20 all_up n1 1
	local l1
	l1=$(pid_of n1 leaderd)
	kill -9 "$(pid_of n1 memberd)"
	wait_until 15 process_exited "$l1"
	[ "$(exit_status_of "$l1")" = 1 ]
	grep -q "lost memberd" "$AKC_DIR/n1.leaderd.log"
}

@test "leaderd answers its control socket while memberd is stopped (its calls never block its loop)" {
	start_cluster 1
	wait_until 20 all_up_everywhere 1 n1
	local m ok t0
	m=$(pid_of n1 memberd)
	kill -STOP "$m"
	t0=$(date +%s%N)
	# leaderd calls memberd at least every 5 s and gives each call 2 s:
	# a call that blocked its loop would leave most of these unanswered
	ok=$(asks_answered "$AKC_DIR/n1/leaderd.ctl" '"ok":true')
	kill -CONT "$m"
	echo "# $ok of 8 answered in $(( ($(date +%s%N) - t0) / 1000000 )) ms with memberd stopped" >&3
	[ "$ok" = 8 ]
	# and it carries on with memberd back
	wait_until 10 bash -c "akc-status -c $(conf_of n1) --check"
	kill -0 "$(pid_of n1 leaderd)"
}

# leaderd_status NODE: leaderd's control answer (JSON), or nothing.
leaderd_status() {
	nanocat --req --connect "ipc://$AKC_DIR/$1/leaderd.ctl" --data '{"v":2,"cmd":"status"}' \
	    --recv-timeout 1 -A 2>/dev/null
}

@test "a memberd that is alive but slow is waited for, not lost: leaderd says what it waits for, and carries on" {
	start_cluster 1
	wait_until 20 all_up_everywhere 1 n1
	local m l
	m=$(pid_of n1 memberd)
	l=$(pid_of n1 leaderd)
	kill -STOP "$m"
	# well past LOST_AFTER (5 s): a stopped memberd's socket still accepts connections
	wait_until 20 grep -q "memberd is slow: no answer to '[a-z]*' for [0-9.]*s (it is running" \
	    "$AKC_DIR/n1.leaderd.log"
	wait_until 20 eval 'leaderd_status n1 | jq -e ".memberd_silent_ms > 9000"'
	kill -0 "$l"
	# at most one warning every 5 s
	[ "$(grep -c "memberd is slow" "$AKC_DIR/n1.leaderd.log")" -le 3 ]
	kill -CONT "$m"
	wait_until 30 grep -q "memberd answers again, after [0-9.]*s without an answer" "$AKC_DIR/n1.leaderd.log"
	wait_until 10 bash -c "akc-status -c $(conf_of n1) --check"
	kill -0 "$l"
	! grep -q "lost memberd" "$AKC_DIR/n1.leaderd.log"
}

@test "while it waits on an unreachable member, leaderd reads the state again only when it changed" {
	start_cluster 2
	wait_until 20 all_up_everywhere 2 n1 n2
	kill_node n2
	wait_until 20 is_unreachable n1 n2
	# no convergence: a round every second, and memberd leaves the unchanged state out
	wait_until 20 eval 'leaderd_status n1 | jq -e ".rounds_unchanged >= 3"'
	leaderd_status n1 | jq -c '{rounds, rounds_unchanged}' >&3
}

# full_reads NODE: the rounds in which leaderd took the whole state from memberd
full_reads() {
	leaderd_status "$1" | jq -e '.rounds - .rounds_unchanged - .rounds_not_leader'
}

@test "with no downing strategy only the leader's leaderd reads the state; with one, every node's does" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local leader n followers=()
	leader=$(lowest_node n1 n2 n3)
	for n in n1 n2 n3; do [ "$n" != "$leader" ] && followers+=("$n"); done
	# the followers' notices are skipped, and the rounds they do make carry no state
	for n in "${followers[@]}"; do
		wait_until 10 eval "leaderd_status $n | jq -e '.notices_skipped > 0'"
		leaderd_status "$n" | jq -c '{rounds, rounds_unchanged, rounds_not_leader, notices_skipped}' >&3
		[ "$(full_reads "$n")" = 0 ]
	done
	[ "$(full_reads "$leader")" -gt 0 ]
	# the leader gone and downed: the next one reads the state and leads (moves a joiner Up)
	kill_node "$leader"
	wait_until 10 is_unreachable "${followers[0]}" "$leader"
	akc-down -c "$(conf_of "${followers[0]}")" "$leader"
	node_conf n4 "seeds=$(addr_of "${followers[0]}")"
	start_node n4
	wait_until 20 all_up_everywhere 3 "${followers[@]}" n4
	n=$(lowest_node "${followers[@]}" n4)
	[ "$(full_reads "$n")" -gt 0 ]
	wait_until 5 eval "leaderd_status $n | jq -e .leader"
}

@test "the leader reads no state while it waits for convergence, and a leave still completes" {
	start_cluster 4
	wait_until 20 all_up_everywhere 4 n1 n2 n3 n4
	local leader
	leader=$(lowest_node n1 n2 n3 n4)
	[ "$leader" = n1 ]
	# the joins moved the leader's state many times before each convergence
	leaderd_status n1 | jq -c '{rounds, notices_skipped, notices_before_convergence}' >&3
	leaderd_status n1 | jq -e '.notices_before_convergence > 0 and .notices_skipped >= .notices_before_convergence'
	# Leaving -> Exiting and Exiting -> Removed each wait for convergence
	akc-leave -c "$(conf_of n4)"
	wait_until 20 everywhere is_absent n4 n1 n2 n3
	exited_with n4 0
}

@test "memberd tells a follower's leaderd (no strategy) only of what may make it lead" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local before after
	# n2 follows n1: once its leaderd asked for the state if_leader (a
	# round answered "not leading"), a change that leaves n2 a follower
	# sends its leaderd no notice. (Waiting for a held notice instead raced:
	# the cluster may be quiet before leaderd's first round.)
	wait_until 10 eval "leaderd_status n2 | jq -e '.rounds_not_leader > 0'"
	before=$(status_json n2 | jq -c .state_notices)
	akc-leave -c "$(conf_of n3)"
	wait_until 20 everywhere is_absent n3 n1 n2
	after=$(status_json n2 | jq -c .state_notices)
	echo "n2 notices: before the leave $before, after $after" >&3
	[ "$(jq .sent <<<"$after")" = "$(jq .sent <<<"$before")" ]
	[ "$(jq .held <<<"$after")" -gt "$(jq .held <<<"$before")" ]
	# the leader's leaderd was told of each convergence: n3 left (Exiting, then Removed)
	exited_with n3 0
	[ "$(status_json n1 | jq .state_notices.sent)" -gt 0 ]
}

@test "with a downing strategy every leaderd reads the state (the stability clock must be right on the next leader)" {
	start_cluster 3 "[downing]=" strategy=keep-majority
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local n
	for n in n1 n2 n3; do
		[ "$(full_reads "$n")" -gt 0 ]
		[ "$(leaderd_status "$n" | jq '.rounds_not_leader + .notices_skipped')" = 0 ]
	done
}

@test "an idle leaderd asks memberd whether it is there only every 5 s while its subscription is up, and at once when it drops" {
	start_cluster 1
	wait_until 20 all_up_everywhere 1 n1
	local a b
	a=$(leaderd_status n1)
	sleep 6	# the interval under test: leaderd's ticks over 6 s
	b=$(leaderd_status n1)
	echo "# before: $(jq -c '{pings, pings_skipped}' <<<"$a"), after 6 s: $(jq -c '{pings, pings_skipped}' <<<"$b")" >&3
	# before: a ping every tick (1 s), no such counters
	[ "$(jq -n --argjson a "$a" --argjson b "$b" '$b.pings - $a.pings <= 2 and $b.pings_skipped - $a.pings_skipped >= 3')" = true ]
	# memberd gone: its end of the subscription closes, leaderd asks at once and
	# leaves LOST_AFTER (5 s) later, as when it asked every second
	local l t0
	l=$(pid_of n1 leaderd)
	t0=$(date +%s%N)
	kill -9 "$(pid_of n1 memberd)"
	wait_until 15 process_exited "$l"
	[ "$(exit_status_of "$l")" = 1 ]
	echo "# leaderd left $(( ($(date +%s%N) - t0) / 1000000 )) ms after memberd's kill" >&3
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 4000 ]
}
