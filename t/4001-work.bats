#!/usr/bin/env bats
# 4001: the work manager on real nodes: master as singleton, workers, the
# tools, a real LevelDB journal on disk, kill -9.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "1000 jobs on 3 nodes with 3 workers: 1000 results, each id once" {
	work_cluster 3
	local i
	for i in 1 2 3; do start_worker "n$i" >/dev/null; done
	submit_each n2 job 1000
	wait_until 120 finished n3 1000
	akc-results -c "$(conf_of n3)" > "$AKC_DIR/results"
	[ "$(jq -r .id "$AKC_DIR/results" | sort -u | wc -l)" = 1000 ]
	[ "$(wc -l < "$AKC_DIR/results")" = 1000 ]
	# cat echoes each payload: every result is its own job's
	[ "$(jq -r 'select(.result != "payload of " + .id) | .id' "$AKC_DIR/results" | wc -l)" = 0 ]
	# seq increases, so a reader can resume
	jq -r .seq "$AKC_DIR/results" | sort -n -c
	local mid
	mid=$(sed -n 500p "$AKC_DIR/results" | jq -r .seq)
	[ "$(akc-results -c "$(conf_of n1)" --since "$mid" | wc -l)" = 500 ]
	[ "$(queue_field n1 done)" = 1000 ]
}

@test "akc-submit --wait prints the result; the same id twice is one job" {
	work_cluster 1
	start_worker n1 >/dev/null
	run --separate-stderr akc-submit -c "$(conf_of n1)" --id same-1 --wait "hello"
	assert_success
	# the id once accepted, then the result line
	[ "${lines[0]}" = same-1 ]
	[ "$(jq -r .result <<<"${lines[1]}")" = hello ]
	[ "$(jq -r .status <<<"${lines[1]}")" = done ]
	run akc-submit -c "$(conf_of n1)" --id same-1 "hello"
	assert_success
	assert_output same-1
	# the same id with another payload is another job under a taken name: refused
	run akc-submit -c "$(conf_of n1)" --id same-1 "other payload"
	[ "$status" = 1 ]
	assert_output "akc-submit: id same-1 exists with a different payload"
	[ "$(akc-results -c "$(conf_of n1)" | jq -r 'select(.id == "same-1") | .result')" = hello ]
	[ "$(results_count n1)" = 1 ]
	# a generated id is printed once accepted
	run akc-submit -c "$(conf_of n1)" "no id given"
	assert_success
	[[ "$output" =~ ^[0-9a-f]{32}$ ]]
}

@test "keep-finished: finished jobs leave the state, their results stay; a forgotten id is a new job; replays agree" {
	work_cluster 1 keep-finished=2s snapshot-every=100
	start_worker n1 >/dev/null
	run --separate-stderr akc-submit -c "$(conf_of n1)" --id old-1 --wait "first"
	assert_success
	[ "$(jq -r .result <<<"${lines[1]}")" = first ]
	wait_until 20 eval '[ "$(queue_field n1 forgotten)" = 1 ]'
	grep -q "forgot 1 finished job" "$AKC_DIR/n1.singletond.log"
	# the id is free again: a new job, and both results are in the journal
	run --separate-stderr akc-submit -c "$(conf_of n1)" --id old-1 --wait "second"
	assert_success
	[ "$(jq -r .result <<<"${lines[1]}")" = second ]
	[ "$(akc-results -c "$(conf_of n1)" | jq -r 'select(.id == "old-1") | .result' | tr '\n' ' ')" = "first second " ]
	# more events than snapshot-every: the forget is in a snapshot as well as the log
	local i
	for ((i = 0; i < 60; i++)); do
		akc-submit -c "$(conf_of n1)" --id "more-$i" "x" >/dev/null
	done
	wait_until 60 finished n1 62
	local before
	before=$(queue_field n1 forgotten)
	[ "$before" -ge 1 ]
	kill_node n1
	wait_until 10 process_exited "$(pid_of n1 singletond)"
	start_node n1
	wait_until 30 all_up_everywhere 1 n1
	start_singleton n1 master
	wait_until 30 master_answers n1
	# replayed: the totals count forgotten jobs, and the rest is forgotten in time
	[ "$(queue_field n1 done)" = 62 ]
	[ "$(queue_field n1 forgotten)" -ge "$before" ]
	wait_until 20 eval '[ "$(queue_field n1 forgotten)" = 62 ]'
	[ "$(results_count n1)" = 62 ]
}

@test "akc-submit --wait finds the result of a job finished and forgotten while it could not ask" {
	work_cluster 1 keep-finished=1s
	akc-submit -c "$(conf_of n1)" --id w-1 --wait "late" > "$AKC_DIR/submit.out" 2>&1 &
	local waiter=$!
	echo "$waiter" >> "$AKC_DIR/pids"
	wait_until 20 grep -qx w-1 "$AKC_DIR/submit.out"
	kill -STOP "$waiter"
	start_worker n1 >/dev/null
	wait_until 30 eval '[ "$(queue_field n1 forgotten)" = 1 ]'
	kill -CONT "$waiter"
	local rc=0
	wait "$waiter" || rc=$?
	cat "$AKC_DIR/submit.out"
	[ "$rc" = 0 ]
	[ "$(tail -1 "$AKC_DIR/submit.out" | jq -r '.id + " " + .status + " " + .result')" = "w-1 done late" ]
}

@test "a failing command is retried, then failed; a job over work-timeout is killed and retried" {
	work_cluster 1
	start_worker n1 --exec 'case "$(cat)" in fail) echo "no disk" >&2; exit 3;; slow) sleep 30;; *) echo ok;; esac' >/dev/null
	run --separate-stderr akc-submit -c "$(conf_of n1)" --id f1 --wait fail
	[ "$status" = 1 ]
	[ "$(jq -r .status <<<"${lines[1]}")" = failed ]
	[ "$(jq -r .attempts <<<"${lines[1]}")" = 3 ]
	# --wait's line is akc-results' line: the tail of stderr too
	[ "$(jq -r .stderr <<<"${lines[1]}")" = "no disk" ]
	run akc-submit -c "$(conf_of n1)" --id s1 --wait --call-timeout 60s slow
	[ "$status" = 1 ]
	[ "$(jq -r .attempts <<<"${lines[1]}")" = 3 ]
	assert_output --partial "timed out"
	run akc-submit -c "$(conf_of n1)" --id ok1 --wait fine
	assert_success
}

@test "a worker killed mid-job: the job is retried on another worker and done" {
	work_cluster 2
	local w1
	w1=$(start_worker n1 --exec 'touch "$AKC_DIR/started.$AKC_WORK_ID"; sleep 2; cat')
	akc-submit -c "$(conf_of n1)" --id long-1 "survives" >/dev/null
	wait_until 20 [ -e "$AKC_DIR/started.long-1" ]
	kill -9 "$w1"
	start_worker n2 >/dev/null
	wait_until 30 finished n2 1
	[ "$(akc-results -c "$(conf_of n2)" | jq -r .result)" = survives ]
	[ "$(akc-results -c "$(conf_of n2)" | jq -r .attempts)" = 2 ]
}

@test "oversized payloads and a full queue are refused with a clear error" {
	work_cluster 1 max-payload=1000 max-pending=2
	run akc-submit -c "$(conf_of n1)" "$(head -c 2000 /dev/zero | tr '\0' x)"
	[ "$status" = 1 ]
	assert_output --partial "over max-payload"
	akc-submit -c "$(conf_of n1)" a >/dev/null
	akc-submit -c "$(conf_of n1)" b >/dev/null
	run akc-submit -c "$(conf_of n1)" c
	[ "$status" = 1 ]
	assert_output --partial "queue full"
}

@test "the master's node killed mid-run (keep-majority): the new master completes every id akc-submit printed" {
	work_cluster 3
	local i old n w
	old=$(oldest_with n1 backend)
	for n in n1 n2 n3; do
		[ "$n" != "$old" ] && w=$n
	done
	start_worker "$w" --exec 'sleep 0.05; cat' >/dev/null
	: > "$AKC_DIR/ids"
	for ((i = 0; i < 200; i++)); do
		akc-submit -c "$(conf_of "$w")" "p$i" >> "$AKC_DIR/ids" 2>>"$AKC_DIR/submit.err" || true
		if [ "$i" = 100 ]; then
			kill_node "$old"	# every daemon of the master's node; the master dies with singletond
		fi
	done
	# every printed id has a result in the end, on the new master
	wait_until 120 finished "$w" "$(wc -l < "$AKC_DIR/ids")"
	akc-results -c "$(conf_of "$w")" | jq -r .id | sort > "$AKC_DIR/got"
	sort "$AKC_DIR/ids" | comm -23 - "$AKC_DIR/got" > "$AKC_DIR/lost"
	[ ! -s "$AKC_DIR/lost" ]
	[ "$(wc -l < "$AKC_DIR/ids")" -ge 150 ]
}

@test "a new backend node catches up through a snapshot sent in pieces, and takes over with every job" {
	# n3 is in the replica set from the start: n1 and n2 are a majority of it
	node_conf n3 roles=backend "[singleton.master]=" role=backend \
	    "command=exec $AKC_BIN/master" "standby-command=exec $AKC_BIN/master --standby" \
	    "[master]=" snapshot-every=100
	WORK_STRATEGY=none WORK_EXTRA=n3 work_cluster 2 snapshot-every=100
	local i big ids=()
	big=$(head -c 1500 /dev/zero | tr '\0' y)
	# four at a time (submit_each), the ids it prints kept
	ids=($(seq 0 399 | xargs -P 4 -I{} akc-submit -c "$(conf_of n2)" "$big{}"))
	[ "${#ids[@]}" = 400 ]
	# the third node joins: its standby needs the whole log, compacted into a
	# snapshot of about 1 MiB (more than one relay piece)
	sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of n1)|" "$(conf_of n3)"
	start_node n3
	start_singleton n3 master
	wait_until 60 standby_caught_up n1 n3
	# n1 and n2 lost; n2 comes back with an empty journal: n3's copy is all there is
	n3_copy_only --join
	wait_until 60 master_answers n3
	grep -q "promised by 2 of the replica set" "$AKC_DIR/n3.singletond.log"
	[ "$(queue_field n3 pending)" = 400 ]
	start_worker n3 --exec 'wc -c' >/dev/null
	wait_until 120 finished n3 400
	akc-results -c "$(conf_of n3)" | jq -r .id | sort > "$AKC_DIR/got"
	printf '%s\n' "${ids[@]}" | sort | comm -23 - "$AKC_DIR/got" > "$AKC_DIR/lost"
	[ ! -s "$AKC_DIR/lost" ]
}

@test "the whole cluster stopped and started again: pending work carries on, nothing acknowledged is lost" {
	work_cluster 3
	local i n ids=()
	for ((i = 0; i < 50; i++)); do
		ids+=("$(akc-submit -c "$(conf_of n2)" "p$i")")
	done
	for n in n1 n2 n3; do
		kill_node "$n"	# kill -9: memberd, leaderd, singletond; master and standbys die with it
	done
	for n in n1 n2 n3; do
		wait_until 10 process_exited "$(pid_of "$n" singletond)"
	done
	for n in n1 n2 n3; do
		start_node "$n"
	done
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	for n in n1 n2 n3; do
		start_singleton "$n" master
	done
	wait_until 30 master_answers n3
	[ "$(queue_field n3 pending)" = 50 ]
	start_worker n3 >/dev/null
	wait_until 60 finished n3 50
	akc-results -c "$(conf_of n3)" | jq -r .id | sort > "$AKC_DIR/got"
	printf '%s\n' "${ids[@]}" | sort | comm -23 - "$AKC_DIR/got" > "$AKC_DIR/lost"
	cat "$AKC_DIR/lost"
	[ ! -s "$AKC_DIR/lost" ]
}

@test "a corrupted or truncated journal: the master refuses to start, saying why" {
	work_cluster 1
	akc-submit -c "$(conf_of n1)" --id c1 x >/dev/null
	kill -TERM "$(pid_of n1 singletond)"
	wait_until 20 process_exited "$(pid_of n1 singletond)"
	local dir="$AKC_DIR/n1.state/master" f
	# compact the journal into a table first: a clean stop and start
	# exec: $! must be the master itself (bats' traps keep a plain
	# background command in a subshell of its own, which a TERM misses)
	( exec "$AKC_BIN/master" -c "$(conf_of n1)" --listen "ipc://$AKC_DIR/m.sock" 3>&- ) &
	local m=$!
	# the table is in the journal once LevelDB dropped the log it came from:
	# a table file alone may be one the manifest does not name yet (a stop
	# then leaves it out, and the next start writes it again over our damage)
	wait_until 10 table_in_journal "$dir"
	kill -TERM "$m"
	wait_until 20 process_exited "$m"
	cp -a "$dir" "$dir.good"
	f=$(ls "$dir"/*.ldb | head -1)
	[ -n "$f" ]
	printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null
	# bounded: a master that does not refuse would otherwise run for ever
	run timeout 60 "$AKC_BIN/master" -c "$(conf_of n1)" --listen "ipc://$AKC_DIR/m.sock"
	[ "$status" = 1 ]
	assert_output --partial "Corruption"
	assert_output --partial "refusing to start rather than lose events"
	rm -rf "$dir" && cp -a "$dir.good" "$dir"
	truncate -s 100 "$f"
	run timeout 60 "$AKC_BIN/master" -c "$(conf_of n1)" --listen "ipc://$AKC_DIR/m.sock"
	[ "$status" = 1 ]
	assert_output --partial "refusing to start"
}
