#!/usr/bin/env bats
# 4024: a job goes to its worker before its own events (accepted, started)
# are committed, so that its run overlaps their replication and sync (issue
# 12: one commit less on a job's way; doc/PROTOCOL.md "Work", "A job's
# answer and its commit"). What does not change: the submitter's
# acknowledgement and the job's result wait for their events to be
# committed (on a majority of the replica set), and a job runs once when
# nothing fails. Both standbys are stopped (SIGSTOP) so that nothing can
# commit: the job must still reach the worker and run, unacknowledged and
# unseen; once they go on, everything commits, once.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

ran() { [ -e "$AKC_DIR/ran.$1" ]; }

@test "a job runs while its events are not yet committed; its ack and its result wait for the commit" {
	work_cluster 3
	# the job's command notes each run (one file line a run) and echoes its payload
	start_worker n2 --exec 'echo "$AKC_WORK_ATTEMPT" >> "$AKC_DIR/ran.$AKC_WORK_ID"; cat' >/dev/null
	wait_until 20 eval '[ "$(akc-queue -c "$(conf_of n1)" --json | jq ".workers | length")" = 1 ]'
	run akc-submit -c "$(conf_of n2)" --id warm "warm"
	assert_success
	wait_until 20 finished n1 1
	wait_until 20 standby_caught_up n1 n2
	wait_until 20 standby_caught_up n1 n3
	local s2 s3
	s2=$(standby_pid n2)
	s3=$(standby_pid n3)
	[ -n "$s2" ] && [ -n "$s3" ]
	echo "$s2" >> "$AKC_DIR/pids"
	echo "$s3" >> "$AKC_DIR/pids"
	# no standby answers: nothing the master journals can be committed
	kill -STOP "$s2" "$s3"
	akc-submit -c "$(conf_of n2)" --timeout 30s --id early-1 "the payload" \
	    > "$AKC_DIR/submit.out" 2> "$AKC_DIR/submit.err" 3>&- &
	local sub=$!
	echo "$sub" >> "$AKC_DIR/pids"
	# the job ran (well before the master's 5 s for a stalled answer) ...
	wait_until 4 ran early-1
	# ... and its submitter has no acknowledgement: its event is not replicated
	[ ! -s "$AKC_DIR/submit.out" ]
	kill -0 "$sub"
	kill -CONT "$s2" "$s3"
	# replication goes on: the submit is acknowledged (or, past 5 s, refused
	# as not yet replicated: the same id again is the same job)
	wait "$sub" || akc-submit -c "$(conf_of n2)" --id early-1 "the payload" > "$AKC_DIR/submit.out"
	[ "$(cat "$AKC_DIR/submit.out")" = early-1 ]
	wait_until 20 finished n1 2
	run akc-results -c "$(conf_of n1)"
	assert_success
	[ "$(grep -c '"id":"early-1"' <<<"$output")" = 1 ]
	[ "$(grep '"id":"early-1"' <<<"$output" | jq -r '.status + " " + .result + " " + (.attempts | tostring)')" = "done the payload 1" ]
	# it ran once
	[ "$(cat "$AKC_DIR/ran.early-1")" = 1 ]
}
