#!/usr/bin/env bats
# 4030: a job the master gave in an answer that was lost with the worker's
# connection (the proxy's singletond killed while the answer was in it) is
# given again to the worker's next ask, which carries the lost ask's token
# ("ask"), instead of running nowhere until the master's work-timeout; and
# by a successor master too, after a fail-over (the token is journaled in
# the job's started event).

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

job_status() { akc-job -c "$(conf_of "$1")" "$2" | jq -r .status; }
result_of() { akc-results -c "$(conf_of "$1")" | jq -c --arg id "$2" 'select(.id == $id)'; }
worker_known() { akc-queue -c "$(conf_of "$1")" --json | jq -e '.workers | length == 1' > /dev/null; }

# lose_answer NODE: a job (its id in $id) started for the worker on NODE,
# its answer held in NODE's stopped singletond (whose pid is in $sgd).
lose_answer() {
	local i
	# the worker's ask waits at the master (a long poll of 1 s, then again):
	# with the proxy stopped, a job submitted before that ask's second is out
	# goes to it, and its answer stays in the stopped proxy (else the job
	# stays pending: let it run, and try again)
	for i in 1 2 3 4 5 6; do
		id="lost-$i"
		sgd=$(pid_of "$1" singletond)
		kill -STOP "$sgd"
		akc-submit -c "$(conf_of n1)" --id "$id" "payload of $id" > /dev/null
		[ "$(job_status n1 "$id")" = running ] && return 0
		kill -CONT "$sgd"
		wait_until 20 eval '[ "$(result_of n1 "$id" | jq -r .status)" = done ]'
	done
	return 1
}

@test "a job in an answer lost with the proxy is given again to the worker's next ask, not left to work-timeout" {
	work_cluster 3 work-timeout=60s "[worker]=" concurrency=1
	[ "$(oldest_with n1 backend)" = n1 ]
	local sgd id off
	start_worker n2 -v > /dev/null
	wait_until 20 worker_known n1
	lose_answer n2
	[ "$(job_status n1 "$id")" = running ]
	off=$(stat -c %s "$AKC_DIR/n1.singletond.log")
	# the proxy dies with the answer in it, and comes back
	kill -9 "$sgd"	# a stopped process dies of SIGKILL too
	wait_until 10 process_dead "$sgd"
	start_singleton n2 master
	# the worker's next ask carries the lost one's token: the job again, at
	# once; before, it ran nowhere until work-timeout (60 s here)
	wait_until 20 eval '[ "$(result_of n1 "$id" | jq -r .status)" = done ]'
	[ "$(result_of n1 "$id" | jq -r '.result + " " + (.attempts | tostring)')" = "payload of $id 1" ]
	tail -c "+$((off + 1))" "$AKC_DIR/n1.singletond.log" |
	    grep -q "jobs $id given again to worker n2-[^ ]*: its ask came again"
	[ "$(queue_field n1 asks_again)" -ge 1 ]
}

@test "after a fail-over, a job in an answer lost with the proxy goes again to the worker's next ask (its token journaled)" {
	work_cluster 3 work-timeout=60s "[worker]=" concurrency=1
	[ "$(oldest_with n1 backend)" = n1 ]
	local sgd id off next wn
	# the master after n1 is the next oldest; the worker is on the other node
	next=$(members_json n1 | jq -r 'sort_by(.up_number) | .[1].node')
	wn=$([ "$next" = n2 ] && echo n3 || echo n2)
	start_worker "$wn" -v > /dev/null
	wait_until 20 worker_known n1
	lose_answer "$wn"
	[ "$(job_status n1 "$id")" = running ]
	# the next master's standby holds the job's started event
	wait_until 20 standby_caught_up n1 "$next"
	off=$(log_from "$next")
	# the master's node dies and is downed; the worker's proxy dies with the
	# answer in it, and comes back; the new master has only its journal
	down_gone n1
	stop_singleton "$wn"
	start_singleton "$wn" master
	wait_until 60 serving "$next"
	# the worker's next ask carries the lost one's token, which the new
	# master read from the started event: the job again, well inside the
	# work-timeout (60 s); before, the token was in the old master's memory
	# only, and the job ran nowhere until the timeout gave it a second attempt
	wait_until 30 eval '[ "$(result_of "$next" "$id" | jq -r .status)" = done ]'
	[ "$(result_of "$next" "$id" | jq -r '.result + " " + (.attempts | tostring)')" = "payload of $id 1" ]
	logged "$next" "$off" "jobs $id given again to worker $wn-[^ ]*: its ask came again" > /dev/null
	[ "$(queue_field "$next" asks_again)" -ge 1 ]
}
