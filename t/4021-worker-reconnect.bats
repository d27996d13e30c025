#!/usr/bin/env bats
# 4021: the worker's requests share one raw connection to its node's proxy
# (no nanomsg socket per request); when that connection is lost (singletond
# killed and started again) every request out on it goes again as soon as
# the proxy is back, not after the worker's 5 s answer timeout.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# lost_count: the times n2's worker said its requests went again after a lost connection.
lost_count() {
	grep -c 'connection lost (to the proxy or the master.s own socket): [1-9][0-9]* request(s) go again at once' \
	    "$AKC_DIR/n2.worker.log" || true
}

# now_ms: the monotonic-enough wall clock, in ms.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

@test "the worker's proxy restarts under it: its lost requests go again at once, the jobs keep flowing" {
	work_cluster 3
	# the worker on n2, whose singletond is not the master's (n1 is the oldest)
	start_worker n2 --pipe "$AKC_BIN/etc/examples/echo-worker" >/dev/null
	# stdout alone: a loaded machine may make akc-submit say on stderr that it
	# still waits (the suite failed once here with a line that was not the result)
	run --separate-stderr akc-submit -c "$(conf_of n1)" --id before-1 --wait "first"
	assert_success
	[ "$(jq -r .result <<<"${lines[1]}")" = first ] || { echo "# stdout: $output; stderr: $stderr" >&3; false; }
	# idle now: its requests for work are long polls out on n2's proxy
	local round t0 t1 lost
	for round in 1 2; do
		lost=$(lost_count)
		kill -9 "$(pid_of n2 singletond)"
		wait_until 10 process_exited "$(pid_of n2 singletond)"
		start_singleton n2 master
		wait_until 20 master_answers n2
		t0=$(now_ms)
		# the worker is back by itself: the requests lost with the connection went
		# again (said once per loss: a kill can be two, the first new connection
		# reaching a listener the dying process still held), not after the answer
		# timeout (5 s)
		wait_until 3 eval '[ "$(grep -c "master reachable again" "$AKC_DIR/n2.worker.log")" = "$round" ]'
		[ "$(lost_count)" -gt "$lost" ]
		[ "$(grep -c 'no answer within' "$AKC_DIR/n2.worker.log")" = 0 ]
		# and it takes jobs at once
		run --separate-stderr akc-submit -c "$(conf_of n1)" --id "after-$round" --wait "job $round"
		assert_success
		t1=$(now_ms)
		[ "$(jq -r .result <<<"${lines[1]}")" = "job $round" ] || { echo "# stdout: $output; stderr: $stderr" >&3; false; }
		echo "# round $round: a job done $((t1 - t0)) ms after n2's proxy answered again" >&3
		[ $((t1 - t0)) -lt 3000 ]
	done
	[ "$(results_count n1)" = 3 ]
}
