#!/usr/bin/env bats
# 4004: the work queue's user features on a real 3-node cluster: priorities,
# delays and per-job timeouts, times in result lines, akc-job, akc-cancel,
# an id with another payload, akc-submit --batch, workers that unregister
# or go silent, times and histories that survive a failover, and the work
# protocol's version.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# master_call NODE JSON: one raw request to the master through NODE's proxy
# (as a worker sends it); prints the answer.
master_call() {
	timeout 10 nanocat --req --connect "ipc://$AKC_DIR/$1/singleton.master" -D "$2" -A 3>&- |
	    tr -d '\r' | sed '/^$/d'
}

# ms_of RFC3339: its milliseconds since the epoch.
ms_of() { echo $(( $(date -u -d "$1" +%s%3N) )); }

# job_status NODE ID
job_status() { akc-job -c "$(conf_of "$1")" "$2" | jq -r .status; }

# result_of NODE ID: the job's result line
result_of() { akc-results -c "$(conf_of "$1")" | jq -c --arg id "$2" 'select(.id == $id)'; }

RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

@test "priorities: lower runs first; a delayed job waits for its time; result lines carry RFC 3339 times" {
	work_cluster 3
	local c
	c=$(conf_of n2)
	akc-submit -c "$c" --id p-late --priority 5000 x >/dev/null
	akc-submit -c "$c" --id p-mid x >/dev/null
	akc-submit -c "$c" --id p-first --priority 10 x >/dev/null
	akc-submit -c "$c" --id p-mid2 --priority 1024 x >/dev/null
	# (the checks of d-1's state below take ~0.3 s, on a loaded machine too)
	akc-submit -c "$c" --id d-1 --priority 0 --delay 3s x >/dev/null
	[ "$(job_status n3 d-1)" = delayed ]
	[ "$(job_status n3 p-mid)" = pending ]
	[ "$(akc-job -c "$c" p-first | jq -r .priority)" = 10 ]
	[ "$(akc-job -c "$c" p-mid | jq -r .priority)" = 1024 ]
	[ "$(queue_field n1 delayed)" = 1 ]
	# one slot: the order of the runs is the order of the picks
	start_worker n3 --exec 'echo "$AKC_WORK_ID" >> "$AKC_DIR/order"; cat' >/dev/null
	wait_until 30 finished n1 5
	# (d-1 has the lowest number but is not due yet: where it lands among
	# them depends on how fast they run, so it is checked by its times)
	run grep -v '^d-1$' "$AKC_DIR/order"
	[ "${lines[*]}" = "p-first p-mid p-mid2 p-late" ]
	# the delayed job started no sooner than 3 s after its acceptance
	local line sub sta fin
	line=$(result_of n1 d-1)
	sub=$(jq -r .submitted <<<"$line")
	sta=$(jq -r .started <<<"$line")
	fin=$(jq -r .finished <<<"$line")
	[[ "$sub" =~ $RFC3339 ]]
	[[ "$sta" =~ $RFC3339 ]]
	[[ "$fin" =~ $RFC3339 ]]
	[ $(( $(ms_of "$sta") - $(ms_of "$sub") )) -ge 3000 ]
	[ "$(ms_of "$fin")" -ge "$(ms_of "$sta")" ]
	# akc-job shows the same times, from any node
	[ "$(akc-job -c "$(conf_of n3)" d-1 | jq -c '[.submitted, .started, .finished]')" = \
	    "$(jq -c '[.submitted, .started, .finished]' <<<"$line")" ]
	# bad values are usage errors, named
	run akc-submit -c "$c" --priority -1 x
	[ "$status" = 2 ]
	assert_output --partial "bad --priority"
	run akc-submit -c "$c" --delay soon x
	[ "$status" = 2 ]
	assert_output --partial "bad --delay 'soon'"
	run akc-submit -c "$c" --timeout 0s x
	[ "$status" = 2 ]
	assert_output --partial "bad --timeout '0s'"
}

@test "--timeout: a job's own timeout overrides work-timeout" {
	work_cluster 3 work-timeout=20s
	start_worker n2 --exec 'sleep 30' >/dev/null
	local t0 t1
	t0=$(date +%s)
	run --separate-stderr akc-submit -c "$(conf_of n1)" --id t-1 --timeout 1s --wait x
	t1=$(date +%s)
	[ "$status" = 1 ]
	[ "$(jq -r .status <<<"${lines[1]}")" = failed ]
	[ "$(jq -r .attempts <<<"${lines[1]}")" = 3 ]
	# three attempts of 1 s (+ the master's 1 s margin at most), far from 3 x 20 s
	[ $((t1 - t0)) -lt 15 ]
	run akc-job -c "$(conf_of n3)" t-1
	assert_success
	[ "$(jq -r .timeout_ms <<<"$output")" = 1000 ]
	[ "$(jq -r '[.history[] | select(.e == "started")] | length' <<<"$output")" = 3 ]
	[ "$(jq -r '.history[-1].e' <<<"$output")" = failed ]
	# without --timeout: the master's work-timeout
	akc-submit -c "$(conf_of n1)" --id t-2 x >/dev/null
	[ "$(akc-job -c "$(conf_of n1)" t-2 | jq -r .timeout_ms)" = 20000 ]
}

@test "akc-job: state, times and history of one job; an unknown id exits 1" {
	work_cluster 3
	start_worker n1 --exec 'case "$(cat)" in fail-once) [ -e "$AKC_DIR/failed" ] && echo ok || { touch "$AKC_DIR/failed"; exit 4; };; *) echo ok;; esac' >/dev/null
	run akc-submit -c "$(conf_of n2)" --id j-1 --wait fail-once
	assert_success
	run akc-job -c "$(conf_of n3)" j-1
	assert_success
	[ "${#lines[@]}" = 1 ]
	local o=$output
	[ "$(jq -r .id <<<"$o")" = j-1 ]
	[ "$(jq -r .status <<<"$o")" = done ]
	[ "$(jq -r .attempts <<<"$o")" = 2 ]
	[ "$(jq -r .priority <<<"$o")" = 1024 ]
	[ "$(jq -r .timeout_ms <<<"$o")" = 3000 ]
	[[ "$(jq -r .submitted <<<"$o")" =~ $RFC3339 ]]
	[[ "$(jq -r .started <<<"$o")" =~ $RFC3339 ]]
	[[ "$(jq -r .finished <<<"$o")" =~ $RFC3339 ]]
	[ "$(jq -r '[.history[].e] | join(" ")' <<<"$o")" = "accepted started attempt-failed started completed" ]
	[ "$(jq -r '.history[1].attempt' <<<"$o")" = 1 ]
	[ "$(jq -r '.history[3].attempt' <<<"$o")" = 2 ]
	[[ "$(jq -r '.history[1].worker' <<<"$o")" == n1-* ]]
	[[ "$(jq -r '.history[2].why' <<<"$o")" == *"exit status 4"* ]]
	jq -e '.history | all(.at | test("Z$"))' <<<"$o" >/dev/null
	run akc-job -c "$(conf_of n2)" nope
	[ "$status" = 1 ]
	assert_output "akc-job: no job nope"
	run akc-job -c "$(conf_of n2)"
	[ "$status" = 2 ]
}

@test "akc-cancel: pending and delayed jobs end cancelled; a finished one is refused; a running one's worker is told" {
	work_cluster 3
	local c
	c=$(conf_of n2)
	akc-submit -c "$c" --id c-pend x >/dev/null
	akc-submit -c "$c" --id c-late --delay 1m x >/dev/null
	run akc-cancel -c "$c" c-pend
	assert_success
	run akc-cancel -c "$c" c-late
	assert_success
	[ "$(job_status n1 c-pend)" = cancelled ]
	[ "$(result_of n3 c-pend | jq -r .status)" = cancelled ]
	[ "$(result_of n3 c-late | jq -r .status)" = cancelled ]
	[[ "$(result_of n3 c-late | jq -r .finished)" =~ $RFC3339 ]]
	run akc-cancel -c "$c" c-pend
	[ "$status" = 1 ]
	assert_output "akc-cancel: job c-pend is already cancelled"
	run akc-cancel -c "$c" nope
	[ "$status" = 1 ]
	assert_output "akc-cancel: no job nope"
	# a running job, on a worker we play through the proxy
	akc-submit -c "$c" --id c-run x >/dev/null
	run master_call n3 '{"op":"request","worker":"fake-1","wait":0}'
	[ "$(jq -r .job.id <<<"$output")" = c-run ]
	[ "$(jq -r .job.attempt <<<"$output")" = 1 ]
	run akc-job -c "$c" c-run
	[ "$(jq -r '.status + " " + .worker' <<<"$output")" = "running fake-1" ]
	run akc-cancel -c "$c" c-run
	assert_success
	[ "$(result_of n1 c-run | jq -r .status)" = cancelled ]
	# its worker learns it in its next answer, once
	run master_call n3 '{"op":"register","worker":"fake-1"}'
	[ "$(jq -c .cancel <<<"$output")" = '["c-run"]' ]
	run master_call n3 '{"op":"register","worker":"fake-1"}'
	[ "$(jq -c .cancel <<<"$output")" = null ]
	# and its late report is stale
	run master_call n3 '{"op":"done","worker":"fake-1","id":"c-run","attempt":1,"result":"eA=="}'
	[ "$(jq -r .ok <<<"$output")" = false ]
	[ "$(jq -r .code <<<"$output")" = 1 ]
	[[ "$(jq -r .error <<<"$output")" == *"not the running one"* ]]
	[ "$(result_of n1 c-run | jq -r .status)" = cancelled ]
	# akc-submit --wait on a job that gets cancelled: its line, exit 1
	akc-submit -c "$c" --id c-wait --delay 1m --wait x > "$AKC_DIR/submit.out" 2>&1 3>&- &
	local waiter=$!
	echo "$waiter" >> "$AKC_DIR/pids"
	wait_until 20 grep -qx c-wait "$AKC_DIR/submit.out"
	akc-cancel -c "$c" c-wait >/dev/null
	local rc=0
	wait "$waiter" || rc=$?
	[ "$rc" = 1 ]
	[ "$(tail -1 "$AKC_DIR/submit.out" | jq -r '.id + " " + .status')" = "c-wait cancelled" ]
	[[ "$(tail -1 "$AKC_DIR/submit.out" | jq -r .finished)" =~ $RFC3339 ]]
	# a finished job
	start_worker n1 >/dev/null
	akc-submit -c "$c" --id c-done --wait x >/dev/null
	run akc-cancel -c "$c" c-done
	[ "$status" = 1 ]
	assert_output "akc-cancel: job c-done is already done"
	[ "$(queue_field n1 cancelled)" = 4 ]
}

@test "an id submitted again with another payload is refused, before and after it finished" {
	work_cluster 3
	run akc-submit -c "$(conf_of n1)" --id same x
	assert_success
	run akc-submit -c "$(conf_of n2)" --id same y
	[ "$status" = 1 ]
	assert_output "akc-submit: id same exists with a different payload"
	run akc-submit -c "$(conf_of n2)" --id same x
	assert_success
	assert_output same
	start_worker n3 >/dev/null
	wait_until 20 finished n1 1
	printf 'x\n' > "$AKC_DIR/x-nl"
	run akc-submit -c "$(conf_of n3)" --id same - < "$AKC_DIR/x-nl"
	[ "$status" = 1 ]
	assert_output "akc-submit: id same exists with a different payload"
	run akc-submit -c "$(conf_of n3)" --id same x
	assert_success
	[ "$(results_count n1)" = 1 ]
}

@test "akc-submit --batch: one job per line, many in flight, ids as acknowledged; refusals named, exit 1" {
	work_cluster 3
	# one seq, not 3000 shell commands (each pays bats' DEBUG trap: ~2.6 s)
	seq -f 'line %.0f' 0 2999 > "$AKC_DIR/lines"
	run akc-submit -c "$(conf_of n2)" --batch --priority 7 < "$AKC_DIR/lines"
	assert_success
	[ "${#lines[@]}" = 3000 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | grep -cE '^[0-9a-f]{32}$')" = 3000 ]
	[ "$(queue_field n1 pending)" = 3000 ]
	[ "$(akc-job -c "$(conf_of n1)" "${lines[0]}" | jq -r .priority)" = 7 ]
	# ids from a prefix and the line number: the batch can be re-run safely
	printf 'a\nb\n\nd\n' > "$AKC_DIR/four"
	run akc-submit -c "$(conf_of n1)" --batch --id-prefix "b1:" < "$AKC_DIR/four"
	assert_success
	[ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "b1:1 b1:2 b1:3 b1:4 " ]
	run akc-submit -c "$(conf_of n1)" --batch --id-prefix "b1:" < "$AKC_DIR/four"
	assert_success
	# ID<TAB>PAYLOAD; a line with another payload for a known id is refused and named
	printf 'w-1\tone\nb1:1\tnot a\nw-2\ttwo\n' > "$AKC_DIR/tabbed"
	run akc-submit -c "$(conf_of n3)" --batch --with-ids < "$AKC_DIR/tabbed"
	[ "$status" = 1 ]
	assert_line "w-1"
	assert_line "w-2"
	assert_line "akc-submit: line 2 (b1:1): id b1:1 exists with a different payload"
	# the payloads arrived exactly (the empty line is an empty payload)
	start_worker n3 >/dev/null
	start_worker n1 >/dev/null
	wait_until 120 finished n1 3006
	[ "$(result_of n1 b1:3 | jq -r .result)" = "" ]
	[ "$(result_of n1 w-2 | jq -r .result)" = two ]
	[ "$(akc-results -c "$(conf_of n1)" | jq -r 'select(.result | startswith("line ")) | .result' | sort -u | wc -l)" = 3000 ]
	run akc-submit -c "$(conf_of n1)" --batch --id x < /dev/null
	[ "$status" = 2 ]
	# no proxy on the node: exit 3, nothing sent
	node_conf n9
	run akc-submit -c "$(conf_of n9)" --batch < "$AKC_DIR/four"
	[ "$status" = 3 ]
	assert_output --partial "the master's proxy is not running on this node"
}

@test "workers gone: unregister retries its job at once; a silent worker is dropped within seconds" {
	work_cluster 3
	akc-submit -c "$(conf_of n1)" --id u-1 x >/dev/null
	run master_call n2 '{"op":"request","worker":"fake-u","wait":0}'
	[ "$(jq -r .job.id <<<"$output")" = u-1 ]
	[ "$(queue_field n1 'workers | length')" = 1 ]
	run master_call n2 '{"op":"unregister","worker":"fake-u"}'
	[ "$(jq -r .ok <<<"$output")" = true ]
	[ "$(queue_field n1 'workers | length')" = 0 ]
	[ "$(job_status n1 u-1)" = pending ]
	[ "$(akc-job -c "$(conf_of n1)" u-1 | jq -r '.history[-1].why')" = "worker fake-u stopped" ]
	run master_call n2 '{"op":"unregister"}'
	[ "$(jq -r .code <<<"$output")" = 2 ]
	# a worker that goes silent with a job: dropped after about 4 s, the job
	# retried (past the master's start grace, when nothing is dropped)
	sleep 8
	run master_call n2 '{"op":"request","worker":"fake-s","wait":0}'
	[ "$(jq -r .job.id <<<"$output")" = u-1 ]
	local t0=$SECONDS
	wait_until 20 eval '[ "$(queue_field n1 "workers | length")" = 0 ]'
	[ $((SECONDS - t0)) -le 9 ]
	grep -q "worker fake-s not heard from for 4s: dropped" "$AKC_DIR"/n*.singletond.log
	[ "$(job_status n1 u-1)" = pending ]
	start_worker n3 >/dev/null
	wait_until 20 finished n1 1
	[ "$(result_of n1 u-1 | jq -r .attempts)" = 3 ]
}

@test "after a failover the new master shows the same times, histories and result lines, and honours a delay" {
	work_cluster 3
	local old n w
	old=$(oldest_with n1 backend)
	for n in n1 n2 n3; do
		[ "$n" != "$old" ] && w=$n
	done
	start_worker "$w" >/dev/null
	akc-submit -c "$(conf_of "$w")" --id f-1 --wait x >/dev/null
	# the delay outlasts the fail-over (about 5-8 s here), checked below
	akc-submit -c "$(conf_of "$w")" --id f-d --delay 15s --priority 3 y >/dev/null
	akc-job -c "$(conf_of "$w")" f-1 > "$AKC_DIR/before.job"
	result_of "$w" f-1 > "$AKC_DIR/before.line"
	akc-job -c "$(conf_of "$w")" f-d | jq -c 'del(.status)' > "$AKC_DIR/before.delayed"
	wait_until 20 standby_caught_up "$w" "$w"
	local killed
	killed=$(date +%s%3N)
	kill_node "$old"
	wait_until 60 master_answers "$w"
	# the new master serves before the delay is up, with the job still
	# waiting: one that lost its delay would run at once on $w's worker
	echo "new master after $(( $(date +%s%3N) - killed )) ms"
	[ "$(job_status "$w" f-d)" = delayed ]
	akc-job -c "$(conf_of "$w")" f-1 > "$AKC_DIR/after.job"
	result_of "$w" f-1 > "$AKC_DIR/after.line"
	diff "$AKC_DIR/before.job" "$AKC_DIR/after.job"
	diff "$AKC_DIR/before.line" "$AKC_DIR/after.line"
	akc-job -c "$(conf_of "$w")" f-d | jq -c 'del(.status)' > "$AKC_DIR/after.delayed"
	diff "$AKC_DIR/before.delayed" "$AKC_DIR/after.delayed"
	# the delay counts from the first acceptance, on the wall clock in the event
	wait_until 60 eval '[ "$(job_status "$w" f-d)" = done ]'
	local line
	line=$(result_of "$w" f-d)
	[ $(( $(ms_of "$(jq -r .started <<<"$line")") - $(ms_of "$(jq -r .submitted <<<"$line")") )) -ge 15000 ]
}

@test "akc-submit --batch through a proxy whose buffer is full: the turned-away lines go again, none is lost" {
	work_cluster 3 "[singleton.master]=" buffer-size=4
	seq -f 'busy %.0f' 0 499 > "$AKC_DIR/lines"
	run akc-submit -c "$(conf_of n2)" --batch --id-prefix busy: < "$AKC_DIR/lines"
	assert_success
	[ "${#lines[@]}" = 500 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" = 500 ]
	[ "$(queue_field n1 pending)" = 500 ]
	# (32 requests in flight against room for 4: without going again, the
	# first refusal of the proxy would end it with exit 3)
}

@test "with real workers: a cancelled running job is killed on its worker; a worker stopped by SIGTERM leaves at once and its job runs elsewhere" {
	work_cluster 3 work-timeout=60s
	local w1 t0
	w1=$(start_worker n2 --exec 'touch "$AKC_DIR/started.$AKC_WORK_ID"; sleep 30; echo late')
	akc-submit -c "$(conf_of n1)" --id k-1 x >/dev/null
	wait_until 20 [ -e "$AKC_DIR/started.k-1" ]
	t0=$SECONDS
	run akc-cancel -c "$(conf_of n3)" k-1
	assert_success
	# the worker kills it (long before its 30 s), and takes the next job
	wait_until 20 grep -q "job k-1 attempt 1 cancelled by the master" "$AKC_DIR/n2.worker.log"
	akc-submit -c "$(conf_of n1)" --id k-2 y >/dev/null
	wait_until 20 [ -e "$AKC_DIR/started.k-2" ]
	[ $((SECONDS - t0)) -lt 20 ]
	[ "$(result_of n1 k-1 | jq -r .status)" = cancelled ]
	[ "$(akc-results -c "$(conf_of n1)" | jq -r 'select(.id == "k-1") | .status' | wc -l)" = 1 ]
	# SIGTERM while k-2 runs: the worker unregisters, the master retries k-2 on another worker
	kill -TERM "$w1"
	wait_until 10 eval '[ "$(queue_field n1 "workers | length")" = 0 ]'
	[ $((SECONDS - t0)) -lt 30 ]
	[ "$(job_status n1 k-2)" = pending ]
	[ "$(akc-job -c "$(conf_of n1)" k-2 | jq -r '.history[-1].why')" = "worker $(akc-job -c "$(conf_of n1)" k-2 | jq -r '.history[1].worker') stopped" ]
	start_worker n3 >/dev/null
	wait_until 30 eval '[ "$(job_status n1 k-2)" = done ]'
	[ "$(result_of n1 k-2 | jq -r .attempts)" = 2 ]
}

@test "work protocol version: another version is refused with both named and counted; no \"v\" is version 1" {
	work_cluster 1
	run master_call n1 '{"v":2,"op":"submit","id":"v-2","payload":"eA=="}'
	assert_output --partial '"ok":false'
	assert_output --partial '"code":2'
	assert_output --partial "work protocol version 2 refused: this master speaks version 1"
	# what a tool or worker from before "v" sends is version 1, served as ever
	run master_call n1 '{"op":"submit","id":"v-none","payload":"eA=="}'
	assert_output --partial '"ok":true'
	run master_call n1 '{"v":1,"op":"submit","id":"v-1","payload":"eA=="}'
	assert_output --partial '"ok":true'
	run master_call n1 '{"v":"1","op":"queue"}'
	assert_output --partial 'malformed request: \"v\" is not a version number'
	run master_call n1 '{"v":3,"op":"queue"}'
	assert_output --partial "work protocol version 3 refused"
	# the tools speak the version (akc-job: no such job, refused as ever, exit 1)
	run akc-job -c "$(conf_of n1)" v-2
	assert_failure 1
	assert_output "akc-job: no job v-2"
	local q
	q=$(akc-queue -c "$(conf_of n1)" --json)
	[ "$(jq -r '[.pending, .bad_requests, .bad_version] | join(" ")' <<<"$q")" = "2 3 2" ]
	# the master says so once, in its log, and goes on serving
	[ "$(grep -c "work protocol version 2 refused" "$AKC_DIR/n1.singletond.log")" = 1 ]
	[ "$(grep -c "work protocol version 3 refused" "$AKC_DIR/n1.singletond.log")" = 0 ]
	master_answers n1
}
