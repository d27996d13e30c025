#!/usr/bin/env bats
# 4005: the worker's own features on real nodes: --pipe (a command per slot
# that stays, one JSON line per job each way), its restarts and protocol
# errors, and a quick exit on SIGTERM that hands its jobs back at once.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

ECHO_JQ="jq -c --unbuffered '{id, result: .payload}'"

# submit_many NODE N PREFIX: jobs PREFIX-0 .. PREFIX-(N-1), payload "payload of ID".
submit_many() { submit_each "$1" "$3" "$2"; }

# results_right NODE PREFIX N: N results for PREFIX-*, each done with its own payload.
results_right() {
	akc-results -c "$(conf_of "$1")" | jq -c --arg p "$2-" 'select(.id | startswith($p))' \
	    > "$AKC_DIR/res.$2"
	[ "$(jq -r .id "$AKC_DIR/res.$2" | sort -u | wc -l)" = "$3" ]
	[ "$(jq -r 'select(.status != "done" or .result != "payload of " + .id) | .id' \
	    "$AKC_DIR/res.$2" | wc -l)" = 0 ]
}

# slot_pids WORKER_PID: the commands of its slots (its children).
slot_pids() { pgrep -P "$1"; }

# none CMD...: CMD fails (a plain "! CMD" does not fail a bats test unless it comes last).
none() { ! "$@"; }

# result_of NODE ID: the job's result line.
result_of() { akc-results -c "$(conf_of "$1")" | jq -c --arg id "$2" 'select(.id == $id)'; }

@test "--pipe: the jq echo worker and the C example each run 500 jobs, every result its own job's" {
	[ -x "$AKC_BIN/etc/examples/echo-worker" ] || skip "build the check programs first (make check TESTS=)"
	work_cluster 1 "[worker]=" concurrency=4
	local w
	w=$(start_worker n1 --pipe "$ECHO_JQ")
	submit_many n1 500 jq
	wait_until 120 finished n1 500
	results_right n1 jq 500
	# four slots, four commands that stayed: started once each
	[ "$(slot_pids "$w" | wc -l)" = 4 ]
	grep -q "4 slot(s) running '/bin/sh -c $ECHO_JQ' once each (--pipe)" "$AKC_DIR/n1.worker.log"
	none grep -q "exited" "$AKC_DIR/n1.worker.log"
	kill -TERM "$w"
	wait_until 10 process_exited "$w"
	start_worker n1 --pipe "$AKC_BIN/etc/examples/echo-worker" >/dev/null
	submit_many n1 500 c
	wait_until 120 finished n1 1000
	results_right n1 c 500
	# bytes that are not text go through exactly
	printf '\xff\x00\xfe' > "$AKC_DIR/bin"
	akc-submit -c "$(conf_of n1)" --id bin-1 - < "$AKC_DIR/bin" >/dev/null
	wait_until 30 finished n1 1001
	[ "$(result_of n1 bin-1 | jq -r .result_base64)" = "$(base64 < "$AKC_DIR/bin")" ]
}

@test "--pipe: a command killed with -9 is started again and its job retried" {
	work_cluster 1
	# attempt 1 hangs (and says where it runs); later attempts echo
	cat > "$AKC_DIR/hang.sh" <<-'SH'
	while IFS= read -r l; do
		case "$l" in
		*'"attempt":1}') echo $$ > "$AKC_DIR/hang.$AKC_WORKER_SLOT"; sleep 60 ;;
		esac
		printf '%s\n' "$l" | jq -c '{id, result: .payload}'
	done
	SH
	local w first
	# exec: the slot's process is the script's shell itself
	w=$(start_worker n1 --pipe "exec sh $AKC_DIR/hang.sh")
	akc-submit -c "$(conf_of n1)" --id k-1 "survives" >/dev/null
	wait_until 20 [ -s "$AKC_DIR/hang.1" ]
	first=$(cat "$AKC_DIR/hang.1")
	[ "$(slot_pids "$w")" = "$first" ]
	kill -9 "$first"
	wait_until 20 finished n1 1
	[ "$(result_of n1 k-1 | jq -r '.status + " " + .result + " " + (.attempts | tostring)')" = "done survives 2" ]
	grep -q "slot 1: 'exec sh $AKC_DIR/hang.sh' exited (killed by signal 9): starting it again" \
	    "$AKC_DIR/n1.worker.log"
	# a new command runs in the slot (and its old sleep was killed with its group)
	wait_until 10 eval '[ -n "$(slot_pids "$w")" ] && [ "$(slot_pids "$w")" != "$first" ]'
	none pgrep -g "$first" >/dev/null
}

@test "--pipe: a command that writes garbage fails the attempt with a clear why and is started again" {
	work_cluster 1
	local w
	w=$(start_worker n1 --pipe 'echo "started" >&2; while read -r l; do echo "not json"; done')
	akc-submit -c "$(conf_of n1)" --id g-1 x >/dev/null
	wait_until 30 finished n1 1
	[ "$(result_of n1 g-1 | jq -r '.status + " " + (.attempts | tostring) + " " + .result')" = \
	    "failed 3 gave up after 3 attempts: pipe protocol error: answer is not JSON: 'not json'" ]
	grep -q "slot 1: pipe protocol error: answer is not JSON: 'not json': restarting" \
	    "$AKC_DIR/n1.worker.log"
	# its stderr between jobs is the slot's, logged
	grep -q "slot 1: stderr: started" "$AKC_DIR/n1.worker.log"
	# an answer for another job, and a command's own error
	kill -TERM "$w"
	wait_until 10 process_exited "$w"
	start_worker n1 --pipe "jq -c --unbuffered '{id: \"other\", result: .payload}'" >/dev/null
	akc-submit -c "$(conf_of n1)" --id g-2 x >/dev/null
	wait_until 30 finished n1 2
	[ "$(result_of n1 g-2 | jq -r .result)" = \
	    "gave up after 3 attempts: pipe protocol error: answer for id 'other' while job 'g-2' runs" ]
	w=$(tail -1 "$AKC_DIR/n1.worker.pids")
	kill -TERM "$w"
	wait_until 10 process_exited "$w"
	: > "$AKC_DIR/n1.worker.log"
	# stderr first, then the answer: what it wrote while the job ran is the job's
	cat > "$AKC_DIR/err.sh" <<-'SH'
	while IFS= read -r l; do
		echo "cannot open image" >&2
		printf '%s\n' "$l" | jq -c '{id, error: "no such image"}'
	done
	SH
	start_worker n1 --pipe "exec sh $AKC_DIR/err.sh" >/dev/null
	akc-submit -c "$(conf_of n1)" --id g-3 x >/dev/null
	wait_until 30 finished n1 3
	[ "$(result_of n1 g-3 | jq -r '.status + " " + .result')" = "failed gave up after 3 attempts: no such image" ]
	[ "$(result_of n1 g-3 | jq -r .stderr)" = "cannot open image" ]
	grep -q 'job g-3: stderr: cannot open image' "$AKC_DIR/n1.worker.log"
	# an error answer is no protocol error: the command stays
	none grep -q "restarting\|exited" "$AKC_DIR/n1.worker.log"
}

@test "--pipe: usage errors; a command that cannot start is retried with backoff and eats no attempts" {
	run "$AKC_BIN/worker" --pipe
	[ "$status" = 2 ]
	run "$AKC_BIN/worker" --pipe ''
	[ "$status" = 2 ]
	assert_output --partial "worker: --pipe needs a command"
	run "$AKC_BIN/worker" --pipe cat --exec cat
	[ "$status" = 2 ]
	assert_output --partial "worker: --exec and --pipe exclude each other"
	work_cluster 1
	start_worker n1 --pipe "$AKC_DIR/no-such-command" >/dev/null
	wait_until 20 grep -q "exited (exit status 127) within 1s of its start 3 times in a row: starting it again in 200ms" \
	    "$AKC_DIR/n1.worker.log"
	grep -q "slot 1: stderr: .*no-such-command: not found" "$AKC_DIR/n1.worker.log"
	# past the requests for work it sent while its command was up (1 s long polls)
	wait_until 20 grep -q "6 times in a row" "$AKC_DIR/n1.worker.log"
	# it asks for no job while its command dies at once: the job stays pending
	akc-submit -c "$(conf_of n1)" --id never-1 x >/dev/null
	wait_until 20 grep -q "7 times in a row" "$AKC_DIR/n1.worker.log"
	[ "$(queue_field n1 pending)" = 1 ]
	[ "$(queue_field n1 'running | length')" = 0 ]
}

@test "[worker] pipe = CMD in the configuration; exec and pipe together are refused" {
	node_conf n1 "[worker]=" "pipe=$ECHO_JQ" concurrency=2
	run "$AKC_BIN/worker" -n -c "$(conf_of n1)"
	assert_success
	assert_output "configuration OK"
	node_conf n2 "[worker]=" "pipe=$ECHO_JQ" exec=cat
	run "$AKC_BIN/worker" -n -c "$(conf_of n2)"
	[ "$status" = 1 ]
	assert_output --partial "[worker] exec and pipe exclude each other"
	node_conf n3 "[worker]=" "pipe="
	run "$AKC_BIN/worker" -n -c "$(conf_of n3)"
	[ "$status" = 1 ]
	assert_output --partial "'pipe' needs a command"
}

@test "SIGTERM in the middle of a long job: the worker leaves at once and the job is retried on another worker well before work-timeout" {
	work_cluster 2 work-timeout=10s
	local w1 t0 t1
	w1=$(start_worker n1 --exec '[ "$AKC_WORK_ATTEMPT" = 1 ] && { touch "$AKC_DIR/started.$AKC_WORK_ID"; sleep 60; }; cat')
	akc-submit -c "$(conf_of n1)" --id t-1 "moved" >/dev/null
	wait_until 20 [ -e "$AKC_DIR/started.t-1" ]
	start_worker n2 >/dev/null
	wait_until 20 eval '[ "$(queue_field n1 "workers | length")" = 2 ]'
	t0=$(date +%s%N)
	kill -TERM "$w1"
	# it leaves quickly: kills its job, reports, unregisters, exits 0 ("stopped")
	wait_until 4 process_exited "$w1"
	grep -q "worker: stopped" "$AKC_DIR/n1.worker.log"
	wait_until 20 finished n2 1
	t1=$(date +%s%N)
	[ "$(result_of n2 t-1 | jq -r '.status + " " + .result')" = "done moved" ]
	# well before the 10 s work-timeout would have retried it
	(( (t1 - t0) / 1000000 < 6000 ))
	# the job's shell (and its sleep) went with it
	none pgrep -f "sleep 60" -P "$w1" >/dev/null
}

@test "a plain command runs without the shell, with the job's environment; shell syntax still goes to /bin/sh" {
	work_cluster 1
	local w
	w=$(start_worker n1 --exec env)
	wait_until 10 grep -q "a plain command: run as '.*/env' without the shell" "$AKC_DIR/n1.worker.log"
	akc-submit -c "$(conf_of n1)" --id e-1 x >/dev/null
	wait_until 30 finished n1 1
	result_of n1 e-1 | jq -r .result > "$AKC_DIR/env.out"
	grep -qx "AKC_WORK_ID=e-1" "$AKC_DIR/env.out"
	grep -qx "AKC_WORK_ATTEMPT=1" "$AKC_DIR/env.out"
	grep -qx "AKC_WORKER=n1-$w-.*" "$AKC_DIR/env.out"
	kill -TERM "$w"
	wait_until 10 process_exited "$w"
	: > "$AKC_DIR/n1.worker.log"
	start_worker n1 --exec 'echo "$AKC_WORK_ID" | tr a-z A-Z' >/dev/null
	akc-submit -c "$(conf_of n1)" --id e-2 x >/dev/null
	wait_until 30 finished n1 2
	[ "$(result_of n1 e-2 | jq -r .result)" = E-2 ]
	none grep -q "without the shell" "$AKC_DIR/n1.worker.log"
}

# fake_master: t/fake-master on n1's proxy socket (no cluster): it logs each
# request to $AKC_DIR/fake.log and answers from files in $AKC_DIR/fake/.
fake_master() {
	node_conf n1 "[master]=" work-timeout=60s
	mkdir -m 700 -p "$AKC_DIR/n1" "$AKC_DIR/fake"
	"$AKC_BIN/t/fake-master" "ipc://$AKC_DIR/n1/singleton.master" "$AKC_DIR/fake.log" \
	    "$AKC_DIR/fake" 3>&- &
	echo "$!" >> "$AKC_DIR/pids"
	: > "$AKC_DIR/fake.log"
}

# fake_job ID [TIMEOUT_MS]: the fake master gives job ID (payload "x", attempt 1) to the next request.
fake_job() {
	echo "{\"id\":\"$1\",\"payload\":\"eA==\",\"attempt\":1,\"timeout_ms\":${2:-60000}}" > "$AKC_DIR/fake/job.tmp"
	mv "$AKC_DIR/fake/job.tmp" "$AKC_DIR/fake/job"
}

# requests_after N: the fake master has logged more than N requests.
requests_after() { [ "$(wc -l < "$AKC_DIR/fake.log")" -gt "$1" ]; }

# reports_of ID: the done and failed reports the fake master got for job ID.
reports_of() { grep -c "\"op\":\"\(done\|failed\)\".*\"id\":\"$1\"" "$AKC_DIR/fake.log"; }

@test "cancel (a fake master's answers): a running job is killed and not reported; with --pipe the slot's command starts again" {
	[ -x "$AKC_BIN/t/fake-master" ] || skip "build the check programs first (make check TESTS=)"
	fake_master
	local w n first
	w=$(start_worker n1 --exec 'touch "$AKC_DIR/started.$AKC_WORK_ID"; sleep 60')
	fake_job c-1
	wait_until 20 [ -e "$AKC_DIR/started.c-1" ]
	echo '["c-1"]' > "$AKC_DIR/fake/cancel"
	wait_until 10 grep -q "job c-1 attempt 1 cancelled by the master: killed" "$AKC_DIR/n1.worker.log"
	wait_until 10 eval '[ -z "$(slot_pids "$w")" ]'
	# a few more exchanges (the free slot asks every 250 ms): still no report of c-1
	n=$(wc -l < "$AKC_DIR/fake.log")
	wait_until 10 requests_after $((n + 4))
	[ "$(reports_of c-1)" = 0 ]
	kill -TERM "$w"
	wait_until 10 process_exited "$w"
	rm -f "$AKC_DIR/fake/cancel"

	# --pipe: the slot's command is killed with the job and started again
	cat > "$AKC_DIR/hang.sh" <<-'SH'
	while IFS= read -r l; do echo $$ > "$AKC_DIR/hang"; sleep 60; done
	SH
	w=$(start_worker n1 --pipe "exec sh $AKC_DIR/hang.sh")
	fake_job c-2
	wait_until 20 [ -s "$AKC_DIR/hang" ]
	first=$(cat "$AKC_DIR/hang")
	echo '["c-2"]' > "$AKC_DIR/fake/cancel"
	wait_until 10 grep -q "job c-2 attempt 1 cancelled by the master: restarting slot 1's command" \
	    "$AKC_DIR/n1.worker.log"
	wait_until 10 eval '[ -n "$(slot_pids "$w")" ] && [ "$(slot_pids "$w")" != "$first" ]'
	none pgrep -g "$first" >/dev/null
	n=$(wc -l < "$AKC_DIR/fake.log")
	wait_until 10 requests_after $((n + 4))
	[ "$(reports_of c-2)" = 0 ]
	# a malformed list is logged once, and its good ids still count
	echo '["c-3", 7]' > "$AKC_DIR/fake/cancel"
	wait_until 10 grep -q 'malformed "cancel" list from the master' "$AKC_DIR/n1.worker.log"
	[ "$(grep -c 'malformed "cancel" list' "$AKC_DIR/n1.worker.log")" = 1 ]
}

@test "a busy worker registers every second; SIGTERM kills its job, sends unregister and exits 0 within seconds (a fake master)" {
	[ -x "$AKC_BIN/t/fake-master" ] || skip "build the check programs first (make check TESTS=)"
	fake_master
	local w t0
	w=$(start_worker n1 --exec 'touch "$AKC_DIR/started.$AKC_WORK_ID"; sleep 60')
	fake_job long-1
	wait_until 20 [ -e "$AKC_DIR/started.long-1" ]
	: > "$AKC_DIR/fake.log"
	wait_until 10 eval '[ "$(grep -c "\"op\":\"register\"" "$AKC_DIR/fake.log")" -ge 4 ]'
	# every second, give or take the loop's wake-ups: 4 within about 4 s
	awk '{ if (p) { d = $1 - p; if (d < 800 || d > 1600) bad++ } p = $1 } END { exit bad }' \
	    <(grep '"op":"register"' "$AKC_DIR/fake.log")
	t0=$(date +%s%N)
	kill -TERM "$w"
	wait_until 5 process_exited "$w"
	(( ($(date +%s%N) - t0) / 1000000 < 4000 ))
	grep -q "\"v\":1,\"op\":\"unregister\",\"worker\":\"n1-$w-" "$AKC_DIR/fake.log"
	grep -q "unregistered: the master gives our jobs to other workers" "$AKC_DIR/n1.worker.log"
	grep -q "worker: stopped" "$AKC_DIR/n1.worker.log"
	# the master took the unregister: no report for the killed job
	[ "$(reports_of long-1)" = 0 ]
	none pgrep -f "sleep 60" -P "$w"
}

@test "an ask answered by the proxy instead of the master (past its request-timeout: the master may have served it) gives its token to the next ask (a fake master)" {
	[ -x "$AKC_BIN/t/fake-master" ] || skip "build the check programs first (make check TESTS=)"
	fake_master
	local w ask
	w=$(start_worker n1 --exec 'sleep 60')
	wait_until 20 grep -q '"op":"request".*"ask":' "$AKC_DIR/fake.log"
	: > "$AKC_DIR/fake/proxy"
	wait_until 20 [ -s "$AKC_DIR/fake/proxy.ask" ]
	ask=$(cat "$AKC_DIR/fake/proxy.ask")
	[ "$ask" -gt 0 ]
	# the worker tells the outage, and asks again with the same token: the
	# jobs the master gave the lost answer come to it, not after work-timeout
	wait_until 10 grep -q "the proxy answered\|request-timeout" "$AKC_DIR/n1.worker.log"
	wait_until 10 eval '[ "$(grep -c "\"op\":\"request\".*\"ask\":$ask[,}]" "$AKC_DIR/fake.log")" -ge 2 ]'
	kill -TERM "$w"
	wait_until 5 process_exited "$w"
}

@test "--pipe: a job's timeout kills the command and starts it again; SIGTERM kills the slots' commands and unregisters (a fake master)" {
	[ -x "$AKC_BIN/t/fake-master" ] || skip "build the check programs first (make check TESTS=)"
	fake_master
	cat > "$AKC_DIR/slow.sh" <<-'SH'
	while IFS= read -r l; do echo "working on it" >&2; echo $$ >> "$AKC_DIR/slow"; sleep 60; done
	SH
	local w first
	w=$(start_worker n1 --pipe "exec sh $AKC_DIR/slow.sh")
	fake_job p-1 500
	wait_until 20 [ -s "$AKC_DIR/slow" ]
	first=$(head -1 "$AKC_DIR/slow")
	wait_until 10 grep -q '"op":"failed".*"id":"p-1".*"why":"timed out after 0.5s","stderr":"working on it\\n"' \
	    "$AKC_DIR/fake.log"
	wait_until 10 eval '[ -n "$(slot_pids "$w")" ] && [ "$(slot_pids "$w")" != "$first" ]'
	none pgrep -g "$first" >/dev/null
	# a job running at SIGTERM: the command is killed, the master told to give it to others
	fake_job p-2
	wait_until 20 eval '[ "$(wc -l < "$AKC_DIR/slow")" = 2 ]'
	kill -TERM "$w"
	wait_until 5 process_exited "$w"
	grep -q '"op":"unregister"' "$AKC_DIR/fake.log"
	[ "$(reports_of p-2)" = 0 ]
	none pgrep -g "$(tail -1 "$AKC_DIR/slow")" >/dev/null
}

@test "--pipe: a report carries the next request (\"next\"): with jobs queued they come in the answers to done, counted in reports_next" {
	[ -x "$AKC_BIN/etc/examples/echo-worker" ] || skip "build the check programs first (make check TESTS=)"
	work_cluster 1 "[worker]=" concurrency=2
	seq 0 299 | awk '{ printf "nx-%d\tpayload of nx-%d\n", $1, $1 }' > "$AKC_DIR/nx"
	akc-submit -c "$(conf_of n1)" --batch --with-ids < "$AKC_DIR/nx" >/dev/null
	[ "$(queue_field n1 pending)" = 300 ]
	start_worker n1 -v --pipe "$AKC_BIN/etc/examples/echo-worker" >/dev/null
	wait_until 60 finished n1 300
	results_right n1 nx 300
	# with work queued, each report asks for its slot's next job: one message per job
	(( $(queue_field n1 reports_next) >= 250 ))
	# in the worker's log, fewer under load: a slot busy long enough asks for
	# its next job ahead (prefetch, 6.), and two results ready together go in
	# one report that asks only for the slot without a job (224-232 of 300
	# seen on a loaded machine, ~290 on a quiet one)
	(( $(grep -c "came with the answer to the report on job nx-" "$AKC_DIR/n1.worker.log") >= 200 ))
	none grep -q 'does not answer "next"' "$AKC_DIR/n1.worker.log"
}

# hold_script: a --pipe command that holds attempt 1 of jobs hold-* (sleeps, saying so in
# $AKC_DIR/hold) and echoes every other job at once.
hold_script() {
	cat > "$AKC_DIR/hold.sh" <<-'SH'
	while IFS= read -r l; do
		case "$l" in
		*'"id":"hold-'*'"attempt":1}') echo $$ > "$AKC_DIR/hold"; sleep 60 ;;
		esac
		printf '%s\n' "$l" | jq -c '{id, result: .payload}'
	done
	SH
}

# worker_jobs NODE WORKER_PID: the jobs the master counts running on that worker, sorted.
worker_jobs() {
	akc-queue -c "$(conf_of "$1")" --json |
	    jq -r --arg w "n1-$2-" '.workers[] | select(.worker | startswith($w)) | .jobs[]' | sort | xargs
}

@test "--pipe prefetch: a busy slot's prefetched job can be cancelled; killed -9, the worker's running and prefetched jobs are retried on another worker" {
	work_cluster 1 "[worker]=" concurrency=1 "[master]=" work-timeout=60s
	hold_script
	local w
	w=$(start_worker n1 -v --pipe "exec sh $AKC_DIR/hold.sh")
	# short jobs first: the worker sees its jobs are short and prefetches
	submit_many n1 5 q
	wait_until 30 finished n1 5
	akc-submit -c "$(conf_of n1)" --id hold-1 "payload of hold-1" >/dev/null
	wait_until 20 [ -s "$AKC_DIR/hold" ]
	akc-submit -c "$(conf_of n1)" --id pre-1 "payload of pre-1" >/dev/null
	# pre-1 waits on the worker (started for it at the master) while hold-1 runs
	wait_until 20 eval '[ "$(worker_jobs n1 "$w")" = "hold-1 pre-1" ]'
	# cancelled while prefetched: dropped by the worker, its result says cancelled
	akc-cancel -c "$(conf_of n1)" pre-1 >/dev/null
	wait_until 10 grep -q "job pre-1 attempt 1 cancelled by the master before it started" \
	    "$AKC_DIR/n1.worker.log"
	[ "$(result_of n1 pre-1 | jq -r .status)" = cancelled ]
	# another one prefetched, then the worker is killed -9 holding both
	akc-submit -c "$(conf_of n1)" --id pre-2 "payload of pre-2" >/dev/null
	wait_until 20 eval '[ "$(worker_jobs n1 "$w")" = "hold-1 pre-2" ]'
	kill -9 "$w"
	start_worker n1 --pipe "exec sh $AKC_DIR/hold.sh" >/dev/null
	# dropped after some seconds of silence: both go to the new worker, attempt 2
	wait_until 30 finished n1 8
	[ "$(result_of n1 pre-2 | jq -r '.status + " " + .result + " " + (.attempts | tostring)')" = \
	    "done payload of pre-2 2" ]
	[ "$(result_of n1 hold-1 | jq -r '.status + " " + (.attempts | tostring)')" = "done 2" ]
}

@test "--pipe against a master that does not know \"next\", \"max\" or \"report\" (a fake master): the worker falls back to request, one job each, and to done" {
	[ -x "$AKC_BIN/t/fake-master" ] || skip "build the check programs first (make check TESTS=)"
	fake_master
	start_worker n1 -v --pipe "$AKC_BIN/etc/examples/echo-worker" >/dev/null
	fake_job f-1
	wait_until 20 eval '[ "$(reports_of f-1)" -ge 1 ]'
	# the report asked for the next job too; the answer had none, so requests go alone
	grep -q '"op":"done".*"id":"f-1".*"next":true' "$AKC_DIR/fake.log"
	wait_until 10 grep -q 'the master does not answer "next" in reports: asking with "request" instead' \
	    "$AKC_DIR/n1.worker.log"
	fake_job f-2
	wait_until 20 eval '[ "$(reports_of f-2)" -ge 1 ]'
	grep '"op":"done".*"id":"f-2"' "$AKC_DIR/fake.log" | none grep -q '"next"'
	grep -q '"op":"request"' "$AKC_DIR/fake.log"
	# nor "max" and "report" (issue 12's batches): one job a request, the reports one by one
	grep -q '"op":"request".*"max":' "$AKC_DIR/fake.log"
	grep -q 'the master does not answer "max": asking for one job a request' "$AKC_DIR/n1.worker.log"
	[ "$(grep -c '"op":"report"' "$AKC_DIR/fake.log")" = 1 ]
	grep -q "the master does not take several results in a report (unknown op 'report'): reporting one by one" \
	    "$AKC_DIR/n1.worker.log"
	[ "$(grep '"op":"request"' "$AKC_DIR/fake.log" | tail -1 | grep -c '"max"')" = 0 ]
}
