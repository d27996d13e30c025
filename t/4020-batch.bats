#!/usr/bin/env bats
# 4020: several jobs per message (issue 12): a worker asks once for as many
# jobs as it has free slots and gets them in one answer ("max", "jobs"),
# and sends the results that are ready together in one "report" (which asks
# for the next jobs); a worker killed holding a batch has every job of it
# retried elsewhere.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# submit_many NODE N PREFIX: jobs PREFIX-0 .. PREFIX-(N-1), payload "payload of ID", in one process.
submit_many() {
	local i
	for ((i = 0; i < $2; i++)); do
		printf '%s-%d\tpayload of %s-%d\n' "$3" "$i" "$3" "$i"
	done | akc-submit -c "$(conf_of "$1")" --batch --with-ids >/dev/null
}

# result_of NODE ID: the job's result line.
result_of() { akc-results -c "$(conf_of "$1")" | jq -c --arg id "$2" 'select(.id == $id)'; }

# batches NODE FIELD: the master's count of it in akc-queue's "batches".
batches() { akc-queue -c "$(conf_of "$1")" --json | jq -r ".batches.$2"; }

# worker_jobs NODE WORKER_PID: the jobs the master counts running on that worker, sorted.
worker_jobs() {
	akc-queue -c "$(conf_of "$1")" --json |
	    jq -r --arg w "n1-$2-" '.workers[] | select(.worker | startswith($w)) | .jobs[]' | sort | xargs
}

# gate_script: a --pipe command that holds attempt 1 of every job until
# $AKC_DIR/go exists (saying it holds it in $AKC_DIR/held.ID), then echoes
# it and says so in $AKC_DIR/out.ID; later attempts are echoed at once.
gate_script() {
	cat > "$AKC_DIR/gate.sh" <<-'SH'
	while IFS= read -r l; do
		id=$(printf '%s\n' "$l" | jq -r .id)
		case "$l" in
		*'"attempt":1}'|*'"attempt":1,'*)
			: > "$AKC_DIR/held.$id"
			while [ ! -e "$AKC_DIR/go" ]; do sleep 0.05; done ;;
		esac
		printf '%s\n' "$l" | jq -c '{id, result: .payload}'
		: > "$AKC_DIR/out.$id"
	done
	SH
}

held() { [ "$(ls "$AKC_DIR"/held.* 2>/dev/null | wc -l)" -ge "$1" ]; }
out() { [ "$(ls "$AKC_DIR"/out.* 2>/dev/null | wc -l)" -ge "$1" ]; }

@test "a worker with 4 free slots gets 4 queued jobs in one answer; killed -9 holding them, every job of the batch is retried on another worker" {
	work_cluster 1 "[worker]=" concurrency=4 "[master]=" work-timeout=60s
	gate_script
	submit_many n1 4 b
	[ "$(akc-queue -c "$(conf_of n1)" --json | jq -r .pending)" = 4 ]
	local w
	w=$(start_worker n1 -v --pipe "exec sh $AKC_DIR/gate.sh")
	# one request for 4, one answer with 4: all four slots hold one each
	wait_until 20 held 4
	[ "$(batches n1 max_jobs)" = 4 ]
	[ "$(batches n1 answers)" = 1 ]
	[ "$(batches n1 jobs)" = 4 ]
	grep -q "4 jobs came in one answer (asked for 4)" "$AKC_DIR/n1.worker.log"
	[ "$(worker_jobs n1 "$w")" = "b-0 b-1 b-2 b-3" ]
	# killed -9 with the whole batch: dropped after its silence, all four go to another worker
	kill -9 "$w"
	start_worker n1 --pipe "$AKC_BIN/etc/examples/echo-worker" >/dev/null
	wait_until 30 finished n1 4
	local i
	for i in 0 1 2 3; do
		[ "$(result_of n1 "b-$i" | jq -r '.status + " " + .result + " " + (.attempts | tostring)')" = \
		    "done payload of b-$i 2" ]
	done
	[ ! -e "$AKC_DIR/go" ]
}

@test "results that are ready together go in one report: all of them committed, and the report asks for the next jobs" {
	work_cluster 1 "[worker]=" concurrency=4 "[master]=" work-timeout=60s
	gate_script
	submit_many n1 4 r
	local w
	w=$(start_worker n1 -v --pipe "exec sh $AKC_DIR/gate.sh")
	wait_until 20 held 4
	[ "$(batches n1 reports)" = 0 ]
	# the worker stopped while its four commands finish: their results wait for it together
	kill -STOP "$w"
	touch "$AKC_DIR/go"
	wait_until 10 out 4
	submit_many n1 4 s
	kill -CONT "$w"
	wait_until 30 finished n1 8
	[ "$(batches n1 max_results)" = 4 ]
	grep -q "4 results in one report, asking for [1-9][0-9]* jobs" "$AKC_DIR/n1.worker.log"
	local i
	for i in 0 1 2 3; do
		[ "$(result_of n1 "r-$i" | jq -r '.status + " " + .result + " " + .worker')" = \
		    "done payload of r-$i $(akc-queue -c "$(conf_of n1)" --json | jq -r '.workers[0].worker')" ]
		[ "$(result_of n1 "s-$i" | jq -r '.status + " " + .result')" = "done payload of s-$i" ]
	done
	# the s- jobs came in the answer to that report or to the one after it, not by a request
	(( $(grep -c "came with the answer to the report on job" "$AKC_DIR/n1.worker.log") >= 4 ))
	(( $(batches n1 results) >= 8 ))
	[ "$(queue_field n1 bad_requests)" = 0 ]
}
