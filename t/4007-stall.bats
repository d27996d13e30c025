#!/usr/bin/env bats
# 4007: no silent stall. A master that waits for replicas (a node with the
# role but no standby-command, a standby stopped or killed, a recovery short
# of promises) says what it waits for: in its log every few seconds, in
# akc-queue's `waiting`, and in the error its waiting answers get after 5 s.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# stall_cluster: n1..n3 with role backend, replicas = 2 (so the
# master waits for both standbys), the master on n1.
stall_cluster() {
	cluster_conf 3 roles=backend "[singleton.master]=" role=backend \
	    "command=exec $AKC_BIN/master" "standby-command=exec $AKC_BIN/master --standby" \
	    stop-timeout=5s "[downing]=" strategy=keep-majority stable-after=2s \
	    "[master]=" work-timeout=3s max-attempts=3 replicas=2
	set_replicas n1 n2 n3
}

start_all() {
	local i
	for i in 1 2 3; do start_node "n$i"; done
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	start_singleton n1 master
	# n1 first: the oldest, so the master runs there
	wait_until 20 grep -q "singleton master started" "$AKC_DIR/n1.singletond.log"
	start_singleton n2 master
	start_singleton n3 master
}

# cpu_ticks PID: user + system time of PID, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

waiting_of() { akc-queue -c "$(conf_of "$1")" --json --timeout 5s | jq -r .waiting; }
waiting_matches() { waiting_of "$1" | grep -q -- "$2"; }
not_waiting() { [ "$(waiting_of "$1")" = null ]; }
master_log() { cat "$AKC_DIR"/n1.singletond.log; }

@test "a node with the role but no standby-command: the master says so, akc-queue shows it, akc-submit fails with it" {
	stall_cluster
	sed -i '/^standby-command = /d' "$(conf_of n3)"
	start_all
	# the recovery needs a majority of the set (n1, n2): it ends; the epoch marker then waits for n3
	wait_until 30 waiting_matches n1 "a standby on n3: it has role backend but no \`master --standby\` answers; is \[singleton.master\] standby-command set there?"
	run akc-queue -c "$(conf_of n1)"
	assert_success
	assert_line --partial "waiting: event "
	assert_line --partial "standby-command set there?"
	# waiting is not spinning: the stalled master takes well under a tenth of a core
	local m c0
	m=$(standby_pid n1)
	c0=$(cpu_ticks "$m")
	sleep 3
	[ $(($(cpu_ticks "$m") - c0)) -lt 30 ]
	# a submit is answered within about 5 s: an error that names the cause, not a hang
	local t0=$SECONDS
	run akc-submit -c "$(conf_of n2)" --id stuck-1 "payload"
	[ "$status" = 1 ]
	[ $((SECONDS - t0)) -lt 15 ]
	assert_output --partial "job stuck-1 is journaled but not replicated within 5s"
	assert_output --partial "a standby on n3: it has role backend but no \`master --standby\` answers"
	# the master's log says it too, at warning level, every few seconds
	wait_until 20 eval '[ "$(master_log | grep -c "master: event [0-9]* is not replicated yet .*a standby on n3: it has role backend but no .master --standby. answers")" -ge 2 ]'
	# set it, and the same id again is the same job, acknowledged now
	sed -i "s|^\[singleton.master\]\$|[singleton.master]\nstandby-command = exec $AKC_BIN/master --standby|" "$(conf_of n3)"
	kill "$(pid_of n3 singletond)"
	wait_until 15 process_exited "$(pid_of n3 singletond)"
	start_singleton n3 master
	wait_until 30 not_waiting n1
	run akc-submit -c "$(conf_of n2)" --id stuck-1 "payload"
	assert_success
	assert_output stuck-1
	[ "$(queue_field n1 pending)" = 1 ]
	wait_until 20 eval 'master_log | grep -q "replication goes on: the wait is over"'
}

@test "a standby stopped: named as silent; killed -9: singletond restarts it and replication goes on" {
	stall_cluster
	start_all
	wait_until 30 master_answers n1
	run akc-submit -c "$(conf_of n1)" --id before "x"
	assert_success
	local sb
	sb=$(standby_pid n3)
	[ -n "$sb" ]
	echo "$sb" >> "$AKC_DIR/pids"
	kill -STOP "$sb"
	run akc-submit -c "$(conf_of n1)" --id during "x"
	kill -CONT "$sb"
	[ "$status" = 1 ]
	assert_output --partial "job during is journaled but not replicated within 5s"
	assert_output --regexp "the standby on n3: it has not answered for [0-9]+s"
	wait_until 20 not_waiting n1
	run akc-submit -c "$(conf_of n1)" --id during "x"
	assert_success
	# kill -9: singletond restarts the standby (with a backoff), which catches up
	kill -9 "$sb"
	wait_until 20 eval '[ -n "$(standby_pid n3)" ] && [ "$(standby_pid n3)" != "$sb" ]'
	standby_pid n3 >> "$AKC_DIR/pids"
	run akc-submit -c "$(conf_of n1)" --timeout 30s --id after "x"
	assert_success
	assert_output after
	wait_until 20 not_waiting n1
}

@test "a recovery short of promises: akc-queue says what it waits for; held requests get the reason" {
	stall_cluster
	sed -i '/^standby-command = /d' "$(conf_of n2)" "$(conf_of n3)"
	start_all
	# n1 alone of three: no majority promises its epoch
	wait_until 30 waiting_matches n1 "recovery waits for a majority of the replica set: 1 of 2 needed promised"
	run akc-queue -c "$(conf_of n1)" --json
	assert_success
	[ "$(jq -r .recovering <<<"$output")" = true ]
	jq -e '.waiting | test("n2: it has role backend but no `master --standby` answers")' <<<"$output"
	run akc-submit -c "$(conf_of n1)" --id early "x"
	[ "$status" = 1 ]
	assert_output --partial "this master is recovering: recovery waits for a majority"
	wait_until 20 eval 'master_log | grep -q "master: recovery waits for a majority of the replica set"'
}
