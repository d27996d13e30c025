#!/usr/bin/env bats
# 7003: akc-sim on threads (--threads): the same run whatever the number of
# threads (summary and time series byte for byte), one thread where the
# windows cannot be used (the machine model, a latency of 0), and clear
# refusals of a bad count.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# The summary without what depends on the machine.
stable() { jq -cS 'del(.wall_s, .mem_per_node_kib, .phase_s)'; }

@test "one thread or two: the same kill, summary and time series, byte for byte" {
	# loss and jitter: every sender's draws matter; a kill, its detection, akc-down, removal
	for t in 1 2 2; do
		akc-sim -n 60 --seed 5 --settle 12s --loss 0.01 --jitter 3ms --threads $t \
		    --csv "$AKC_DIR/t$t.csv" --json | stable > "$AKC_DIR/t$t.json"
	done
	run jq -e '.end.members == 59 and .end.leaders == 1 and .removal_s.missed == 0
		and .detection_s.missed == 0 and .lost > 0' "$AKC_DIR/t1.json"
	assert_success
	cmp "$AKC_DIR/t1.json" "$AKC_DIR/t2.json"
	cmp "$AKC_DIR/t1.csv" "$AKC_DIR/t2.csv"
	[ "$(wc -l < "$AKC_DIR/t1.csv")" -gt 20 ]
}

@test "one thread or two: the same partition and heal, the same leave" {
	a=$(akc-sim -n 40 --scenario partition --kill 15 --settle 10s --hold 5s --threads 1 --json | stable)
	b=$(akc-sim -n 40 --scenario partition --kill 15 --settle 10s --hold 5s --threads 2 --json | stable)
	[ -n "$a" ]
	[ "$a" = "$b" ]
	a=$(akc-sim -n 30 --scenario leave --kill 2 --settle 8s --threads 1 --json | stable)
	b=$(akc-sim -n 30 --scenario leave --kill 2 --settle 8s --threads 2 --json | stable)
	[ "$a" = "$b" ]
	run jq -e '.end.members == 28' <<<"$b"
	assert_success
}

@test "-v says how many threads run, and why only one with --cores or no latency" {
	run akc-sim -n 5 --scenario start --threads 2 -v --json
	assert_success
	assert_line --partial "akc-sim: 2 threads"
	run akc-sim -n 5 --scenario start --threads 2 --cores 2 -v --json
	assert_success
	assert_line --partial "akc-sim: 1 thread: the machine model (--cores)"
	run akc-sim -n 5 --scenario start --threads 2 --latency 0ms -v --json
	assert_success
	assert_line --partial "akc-sim: 1 thread: a latency under 1 ms leaves no window"
}

@test "bad thread counts are refused with one clear line, exit 2" {
	for bad in 0 65 two -1; do
		run akc-sim --threads "$bad"
		assert_failure 2
		assert_line --index 0 --partial "bad --threads"
	done
}
