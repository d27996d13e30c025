#!/usr/bin/env bats
# 7001: akc-sim runs the real cores at small N: the outcomes the protocol
# guarantees (all Up, one leader, a kill detected within the detector's
# bound and removed after akc-down, a partition healed or decided), the same
# run for the same seed, and clear refusals of bad options.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# The summary without what depends on the machine.
stable() { jq -cS 'del(.wall_s, .mem_per_node_kib, .phase_s)'; }

@test "the default scenario: all Up, the kill detected within the bound, removed after down" {
	run akc-sim --nodes 20 --seed 3 --json
	assert_success
	echo "$output" > "$AKC_DIR/out.json"
	# every field of the contract, and sane values
	run jq -e '(.all_up_s | type == "number") and .all_up_s >= 0 and .all_up_s < 10
		and .detection_s.observers == 19 and .detection_s.missed == 0
		and .detection_s.min > 0 and .detection_s.min <= .detection_s.median
		and .detection_s.median <= .detection_s.max and .detection_s.max < 6
		and .removal_s.max < 2 and .removal_s.missed == 0
		and .down_seen_s.missed == 0 and .down_seen_s.min >= 0
		and .down_seen_s.max <= .removal_s.max and .down_seen_s.median <= .removal_s.median
		and .idle_bytes_per_node_s > 0 and .idle_bytes_per_node_s < 5000
		and (.wall_s | type == "number") and .end.leaders == 1 and .end.members == 19
		and .false_unreachable == 0 and .msg_bytes.peak >= .msg_bytes.median
		and .per_node_s.heartbeat.msgs > 0 and .per_node_s.gossip.bytes > 0' "$AKC_DIR/out.json"
	assert_success
}

@test "the same seed gives the same run; another seed another one" {
	a=$(akc-sim -n 20 --seed 11 --json | stable)
	b=$(akc-sim -n 20 --seed 11 --json | stable)
	c=$(akc-sim -n 20 --seed 12 --json | stable)
	[ -n "$a" ]
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
	[ "$(jq -r .seed <<<"$c")" = 12 ]
}

@test "a rack of 3 killed: every survivor sees all three unreachable, then removed" {
	run akc-sim -n 20 --scenario rack --kill 3 --settle 15s --json
	assert_success
	run jq -e '.detection_s.observers == 17 and .detection_s.missed == 0
		and .detection_s.max < 6 and .removal_s.missed == 0 and .end.members == 17
		and .end.leaders == 1' <<<"$output"
	assert_success
}

@test "a partition heals: one cluster again, nothing marked unreachable wrongly" {
	run akc-sim -n 20 --scenario partition --kill 8 --settle 15s --hold 8s --json
	assert_success
	run jq -e '(.heal_s.max | type == "number") and .heal_s.missed == 0
		and .heal_s.max < 10 and .end.members == 20 and .end.leaders == 1
		and .false_unreachable == 0 and .lost > 0' <<<"$output"
	assert_success
}

@test "a rolling restart: every node sees the new incarnations Up, the old ones gone" {
	run akc-sim -n 20 --scenario restart --kill 5 --settle 15s --json
	assert_success
	run jq -e '(.all_up_s | type == "number") and .all_up_s < 10 and .end.members == 20
		and .end.alive == 20 and .end.leaders == 1' <<<"$output"
	assert_success
}

@test "keep-majority decides a 3|2 partition: the two down themselves" {
	run akc-sim -n 5 --scenario partition --kill 2 --settle 15s --hold 30s \
		--set downing.strategy=keep-majority --set downing.stable-after=5s --json
	assert_success
	run jq -e '.end.exited == 2 and .end.members == 3 and .end.alive == 3
		and .end.leaders == 1' <<<"$output"
	assert_success
}

@test "50 nodes start within the window and all see all Up" {
	run akc-sim -n 50 --scenario start --window 5s --json
	assert_success
	run jq -e '(.all_up_s | type == "number") and .all_up_s < 10
		and .end.members == 50 and .end.leaders == 1
		and .msg_bytes.peak < 1048576' <<<"$output"
	assert_success
}

@test "a join storm's welcomes stay within the welcome budget: partial welcomes past it" {
	# 200 nodes in 2 s: 100 joins a second, the rate of 1,000 in 10 s; the
	# welcome budget scaled as the state is (4,000 x 200 / 1,000). Before
	# partial welcomes the busiest node sent 341 KB of welcomes in a second
	# (711 KB in all); within the budget a node sends at most 1.5 x 800
	# records a second (~51 bytes each here): 71.6 KB (465 KB in all).
	run akc-sim -n 200 --window 2s --scenario start --set cluster.welcome-budget=800 --json
	assert_success
	run jq -e '(.all_up_s | type == "number") and .all_up_s < 5 and .end.members == 200
		and .end.leaders == 1 and .peak_welcome_bytes_per_node_s > 0
		and .peak_welcome_bytes_per_node_s < 120000 and .peak_bytes_per_node_s < 600000' <<<"$output"
	assert_success
}

@test "who reads the compact forms spreads by gossip: idle bytes do not grow from 20 to 100 nodes" {
	# a full state's "cvs" (doc/PROTOCOL.md, "Compact digests"): without it a
	# pair learned at its first direct contact, and 100 nodes idled at 1.26x
	# the bytes of 20 (126.7 and 100.3 a node-second for seed 1)
	local a b
	run akc-sim -n 20 --seed 1 --scenario idle --settle 20s --duration 1s --json
	assert_success
	a=$(jq .idle_bytes_per_node_s <<<"$output")
	run akc-sim -n 100 --seed 1 --scenario idle --settle 20s --duration 1s --json
	assert_success
	b=$(jq .idle_bytes_per_node_s <<<"$output")
	echo "idle bytes a node-second: 20 nodes $a, 100 nodes $b"
	jq -en "$b <= 1.1 * $a" >/dev/null
}

@test "the time series and the plot script" {
	run akc-sim -n 10 --scenario idle --settle 12s --csv "$AKC_DIR/s.csv" --plot "$AKC_DIR/plot" --json
	assert_success
	run head -1 "$AKC_DIR/s.csv"
	assert_output "t_s,alive,members,up_min,nodes_seeing_all_up,msgs,bytes,gossip_bytes,heartbeat_bytes,peak_node_bytes"
	# one row a simulated second, the last with all 10 Up everywhere
	[ "$(wc -l < "$AKC_DIR/s.csv")" -ge 20 ]
	run tail -1 "$AKC_DIR/s.csv"
	assert_output --regexp '^[0-9]+,10,10,10,10,'
	[ -s "$AKC_DIR/plot/plot.gp" ]
	if command -v gnuplot >/dev/null; then
		[ -s "$AKC_DIR/plot/convergence.png" ] || [ -s "$AKC_DIR/plot/convergence.svg" ]
	fi
}

@test "bad options are refused with one clear line, exit 2" {
	run akc-sim --nodes 0
	assert_failure 2
	assert_line --index 0 "akc-sim: bad --nodes '0' (expected 1 to 60000)"
	run akc-sim --bogus
	assert_failure 2
	assert_line --index 0 "akc-sim: unknown option '--bogus'"
	run akc-sim --scenario nope
	assert_failure 2
	assert_line --index 0 --partial "akc-sim: unknown scenario 'nope'"
	run akc-sim --window soon
	assert_failure 2
	assert_line --index 0 --partial "akc-sim: bad duration 'soon' for --window"
	run akc-sim --set gossip-interval=1s
	assert_failure 2
	assert_line --index 0 "akc-sim: bad --set 'gossip-interval=1s' (expected SECTION.KEY=VALUE)"
	run akc-sim --set cluster.no-such-key=1
	assert_failure 2
	assert_output --partial "unknown key 'no-such-key' in [cluster]"
	run akc-sim --loss 1
	assert_failure 2
	run akc-sim --seed
	assert_failure 2
	assert_line --index 0 "akc-sim: option '--seed' needs a value"
	run akc-sim -n 5 --kill 5
	assert_failure 2
	run akc-sim -c /nonexistent/akc.conf
	assert_failure 1
	assert_output --partial "/nonexistent/akc.conf"
	run akc-sim --help
	assert_success
	assert_output --partial "Capacity planning"
	run akc-sim --version
	assert_success
	assert_output --regexp '^akc-sim [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "full_states and phase_s: what full states cost, by why, and where the time went" {
	run akc-sim -n 20 --scenario start --json
	assert_success
	run jq -e '.full_states.sent_per_node.push > 0 and .full_states.sent_per_node.welcome > 0
		and .full_states.sent_per_node.round >= 0 and .full_states.sent_per_node.answer >= 0
		and .full_states.heads_per_node >= .full_states.full_reads_per_node
		and .full_states.full_reads_per_node > 0
		and .full_states.records_per_node >= .full_states.full_reads_per_node
		and .full_states.made_per_node > 0
		and .full_states.adopted_per_node + .full_states.merged_per_node > 0
		and .full_states.bytes_per_node > 0
		and (.phase_s.gossip | type == "number") and .phase_s.parse > 0' <<<"$output"
	assert_success
}
