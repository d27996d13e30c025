#!/usr/bin/env bats
# 5001: the akc-* tools: usage, exit codes, error lines, JSON shapes, the umbrella.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

TOOLS="akc-members akc-status akc-events akc-join akc-leave akc-down akc-keys"

@test "every tool takes -h/--help and --version" {
	for t in akc $TOOLS; do
		run "$t" --help
		assert_success
		assert_output --partial "usage: $t"
		run "$t" --version
		assert_success
		assert_output --regexp "^$t.* [0-9]+\.[0-9]+\.[0-9]+$"
	done
	run akc-members -h
	assert_success
}

@test "usage errors exit 2 with a one-line message" {
	node_conf n1
	run akc-down -c "$(conf_of n1)"
	assert_failure 2
	assert_line --index 0 "akc-down: missing NODE"
	run akc-join -c "$(conf_of n1)" not-an-address
	assert_failure 2
	assert_line --index 0 "akc-join: ADDRESS must look like tcp://HOST:PORT"
	run akc-members --bogus
	assert_failure 2
	run akc-status -c "$(conf_of n1)" extra
	assert_failure 2
	run akc nosuchverb
	assert_failure 2
	assert_output "akc: 'nosuchverb' is not an akc command (no 'akc-nosuchverb' found)"
}

@test "a daemon that is not running exits 3 naming the socket" {
	node_conf n1
	for t in akc-members akc-status akc-events; do
		run "$t" -c "$(conf_of n1)"
		assert_failure 3
		assert_output "$t: 'memberd' is not running (no socket '$AKC_DIR/n1/memberd.ctl')"
	done
	run akc-down -c "$(conf_of n1)" x
	assert_failure 3
}

@test "a daemon killed with kill -9 left its socket: the tools say at once it is not running" {
	start_cluster 1
	wait_until 20 all_up n1 1
	kill -9 "$(pid_of n1 memberd)" "$(pid_of n1 leaderd)"
	wait_until 5 process_exited "$(pid_of n1 memberd)"
	[ -S "$AKC_DIR/n1/memberd.ctl" ]
	local t0=$SECONDS
	run akc-status -c "$(conf_of n1)"
	assert_failure 3
	assert_output "akc-status: 'memberd' is not running (stale socket '$AKC_DIR/n1/memberd.ctl')"
	run akc-leave -c "$(conf_of n1)"
	assert_failure 3
	assert_output --partial "is not running (stale socket"
	(( SECONDS - t0 < 3 ))	# not after the 5 s timeout
}

@test "a daemon that does not answer in time exits 3" {
	start_cluster 1
	wait_until 20 all_up n1 1
	kill -STOP "$(pid_of n1 memberd)"
	run akc-status -c "$(conf_of n1)"
	kill -CONT "$(pid_of n1 memberd)"
	assert_failure 3
	assert_output --partial "no answer from '$AKC_DIR/n1/memberd.ctl' within"
}

@test "akc-members --json and akc-status --json have the contract's shapes" {
	start_cluster 2 roles=backend,worker
	wait_until 20 all_up_everywhere 2 n1 n2
	run members_json n1
	assert_success
	run jq -e 'length == 2 and all(.[]; (keys | sort) == ["address","node","reachable","roles","status","uid","up_number"]) and all(.[]; .roles == ["backend","worker"] and (.uid | type) == "string" and (.up_number | type) == "number" and .reachable == true)' <<<"$output"
	assert_success
	run status_json n2
	assert_success
	run jq -e '.self == "n2" and (.leader | type) == "string" and .role_leaders.backend == .leader and .role_leaders.worker == .leader and .convergence == true and (.members | length) == 2 and .unreachable == [] and (.dropped | type) == "object"' <<<"$output"
	assert_success
}

@test "the umbrella runs akc-VERB and the human forms print" {
	start_cluster 1
	wait_until 20 all_up n1 1
	run akc members -c "$(conf_of n1)"
	assert_success
	assert_line --index 0 --regexp '^NODE +ADDRESS +STATUS +REACHABLE +UP +ROLES$'
	assert_line --index 1 --regexp "^n1 +$(addr_of n1) +Up +yes +1 +-$"
	run akc status -c "$(conf_of n1)"
	assert_success
	assert_line "leader:      n1"
	assert_line "convergence: yes"
}

@test "akc-events | head -3 returns, and --type filters" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	run timeout 10 bash -c "akc-events -c $(conf_of n1) | head -3"
	assert_success
	[ "${#lines[@]}" = 3 ]
	# and akc-events itself ends with status 0 when its reader goes
	for i in 1 2 3; do
		run timeout 10 bash -c "akc-events -c $(conf_of n1) | head -1 >/dev/null; echo \${PIPESTATUS[0]}"
		assert_output 0
	done
	run timeout 10 bash -c "akc-events -c $(conf_of n1) --type LeaderChanged | head -1 | jq -r .type"
	assert_success
	assert_output LeaderChanged
	# --no-snapshot prints nothing until something happens; a closed reader ends it too
	akc-events -c "$(conf_of n1)" --no-snapshot > "$AKC_DIR/ev" 2>&1 3>&- &
	local p=$!
	echo "$p" >> "$AKC_DIR/pids"
	sleep 0.5
	[ ! -s "$AKC_DIR/ev" ]
	run akc-leave -c "$(conf_of n1)" n3
	wait_until 10 grep -q '"type":"MemberLeft","node":"n3"' "$AKC_DIR/ev"
	kill -TERM "$p"
}

@test "a write error on stdout is reported (full disk)" {
	start_cluster 1
	wait_until 20 all_up n1 1
	run akc-members -c "$(conf_of n1)" --json > /dev/full
	run bash -c "akc-members -c $(conf_of n1) --json > /dev/full"
	assert_failure 1
	assert_output --partial "akc-members: cannot write to standard output"
}

@test "akc-status --check: 0 when Up, leaderd running and converged; 1 with the reason otherwise" {
	start_cluster 2
	wait_until 20 all_up_everywhere 2 n1 n2
	run akc-status -c "$(conf_of n1)" --check
	assert_success
	assert_output ""
	run akc-status -c "$(conf_of n1)"
	assert_line "leaderd:     running"
	kill "$(pid_of n1 leaderd)"
	wait_until 5 process_exited "$(pid_of n1 leaderd)"
	run akc-status -c "$(conf_of n1)" --check
	assert_failure 1
	assert_output --partial "akc-status: not healthy: leaderd is not running here"
	run akc-status -c "$(conf_of n1)"
	assert_success
	assert_output --partial "leaderd:     NOT RUNNING"
	[ "$(status_json n1 | jq .daemons.leaderd)" = false ]
	start_daemon n1 leaderd
	wait_until 10 akc-status -c "$(conf_of n1)" --check
	# a node that is not a member yet
	node_conf n3 seeds=none
	start_node n3
	run akc-status -c "$(conf_of n3)" --check
	assert_failure 1
	assert_output --partial "not healthy: this node is"
	run akc-status -c "$(conf_of n1)" --check --json
	assert_failure 2
}

@test "akc-status lists the workers running on this node; one killed with -9 drops out" {
	start_cluster 1 "[worker]=" "exec=cat"
	wait_until 20 all_up n1 1
	start_daemon n1 worker
	wait_until 10 bash -c "akc-status -c $(conf_of n1) | grep -q '^workers:     1 here: n1-'"
	[ "$(status_json n1 | jq '.daemons.workers | length')" = 1 ]
	kill -9 "$(pid_of n1 worker)"
	wait_until 5 process_exited "$(pid_of n1 worker)"
	ls "$AKC_DIR"/n1/worker.*.lock	# the file stays behind, its lock does not
	run akc-status -c "$(conf_of n1)"
	assert_line "workers:     none here"
}
