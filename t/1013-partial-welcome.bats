#!/usr/bin/env bats
# 1013: partial welcomes (doc/PROTOCOL.md, "Partial welcomes"): past its
# welcome budget a member lets a joiner in with itself and the joiner only,
# and the joiner takes the cluster's state from gossip, saying so.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "no welcome budget: joiners come in by partial welcomes, take the state by gossip, all Up" {
	start_cluster 4 "[cluster]=" welcome-budget=0
	wait_until 30 all_up_everywhere 4 $(nodes 4)
	local n partial=0
	for n in n3 n4; do
		# not seeds: they joined through a seed that had no budget, and said what they waited for
		wait_until 10 grep -q "took the cluster's state (.* members) .*ms after the partial welcome of n[12]" \
		    "$AKC_DIR/$n.memberd.log"
		grep -Eq "joined the cluster through n[12] \(tcp://[^)]*\) by a partial welcome .*waiting for the cluster's state from gossip" \
		    "$AKC_DIR/$n.memberd.log"
	done
	# every node that joined (all but the one that formed it) came in that way
	for n in $(nodes 4); do
		grep -q "by a partial welcome" "$AKC_DIR/$n.memberd.log" && partial=$((partial + 1))
	done
	[ "$partial" = 3 ]
	if grep -q "still waiting for the cluster's state" "$AKC_DIR"/n*.memberd.log; then false; fi
	# akc-status counts them: three partial welcomes sent in all, no full one, nobody waiting
	local sent=0
	for n in $(nodes 4); do
		status_json "$n" | jq -e '.welcomes.full == 0 and .welcomes.waiting_for_state == false'
		sent=$((sent + $(status_json "$n" | jq .welcomes.partial)))
	done
	[ "$sent" = 3 ]
	# and every member knows every other one, with one leader
	for n in $(nodes 4); do
		[ "$(members_json "$n" | jq length)" = 4 ]
		[ "$(status_json "$n" | jq -r .leader)" = "$(lowest_node $(nodes 4))" ]
	done
}

@test "a node that joins a formed cluster later, by a partial welcome, is Up everywhere" {
	start_cluster 3 "[cluster]=" welcome-budget=0
	wait_until 30 all_up_everywhere 3 $(nodes 3)
	node_conf n4 "[cluster]=" welcome-budget=0
	start_node n4
	wait_until 30 all_up_everywhere 4 $(nodes 4)
	grep -q "by a partial welcome" "$AKC_DIR/n4.memberd.log"
	grep -q "took the cluster's state (.* members)" "$AKC_DIR/n4.memberd.log"
}

@test "the default budget: a small cluster's welcomes are full, as before" {
	start_cluster 4
	wait_until 30 all_up_everywhere 4 $(nodes 4)
	if grep -q "partial welcome" "$AKC_DIR"/n*.memberd.log; then false; fi
	[ "$(grep -l "joined the cluster through" "$AKC_DIR"/n*.memberd.log | wc -l)" = 3 ]
	local n full=0
	for n in $(nodes 4); do
		status_json "$n" | jq -e '.welcomes.partial == 0'
		full=$((full + $(status_json "$n" | jq .welcomes.full)))
	done
	[ "$full" -ge 3 ]
}

@test "a bad welcome-budget is refused naming the key" {
	node_conf n1 "[cluster]=" welcome-budget=-5
	run memberd -n -c "$(conf_of n1)"
	assert_failure 1
	assert_output --partial "bad value '-5' for 'welcome-budget'"
}

# Mixed versions: AKC_OLD_BIN names a directory with memberd and leaderd of a
# build before partial welcomes (e.g. main's); skipped without it.
old_node() {	# NAME: starts NAME from AKC_OLD_BIN (its configuration without welcome-budget)
	sed -i '/^welcome-budget/d' "$(conf_of "$1")"
	AKC_BIN=$AKC_OLD_BIN start_node "$1"
}

@test "mixed versions: an older joiner gets a full welcome, a newer one of an older member too" {
	[ -n "${AKC_OLD_BIN:-}" ] || skip "AKC_OLD_BIN (a build before partial welcomes) not set"
	# a new seed without budget: the old joiner gets the full state, the new one a partial one
	node_conf n1 "[cluster]=" welcome-budget=0
	AKC_SEEDS=$(addr_of n1)
	node_conf n2
	node_conf n3 "[cluster]=" welcome-budget=0
	start_node n1
	wait_until 20 all_up_everywhere 1 n1
	old_node n2
	wait_until 30 all_up_everywhere 2 n1 n2
	start_node n3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	grep -q "joined the cluster through n1" "$AKC_DIR/n2.memberd.log"
	if grep -q "partial" "$AKC_DIR/n2.memberd.log"; then false; fi
	grep -q "joined the cluster through n1 (.*) by a partial welcome" "$AKC_DIR/n3.memberd.log"
	# an old seed: it never sends a partial welcome
	AKC_SEEDS=""
	node_conf n4
	AKC_SEEDS=$(addr_of n4)
	node_conf n5 "[cluster]=" welcome-budget=0
	old_node n4
	wait_until 20 all_up_everywhere 1 n4
	start_node n5
	wait_until 30 all_up_everywhere 2 n4 n5
	grep -q "joined the cluster through n4" "$AKC_DIR/n5.memberd.log"
	! grep -q "partial welcome" "$AKC_DIR/n5.memberd.log"
}
