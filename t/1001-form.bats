#!/usr/bin/env bats
# 1001: nodes form a cluster through their seed nodes.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "5 nodes form a cluster: all Up everywhere with one agreed leader" {
	start_cluster 5
	wait_until 30 all_up_everywhere 5 $(nodes 5)
	local leaders
	leaders=$(for n in $(nodes 5); do status_json "$n" | jq -r .leader; done | sort -u)
	[ "$leaders" = "$(lowest_node $(nodes 5))" ]
	# up-numbers are distinct: every member has its own age
	run bash -c "akc-members -c $(conf_of n3) --json | jq '[.[].up_number] | unique | length'"
	assert_output 5
}

@test "akc-events shows MemberJoined and MemberUp for a joining node" {
	start_cluster 2
	wait_until 20 all_up_everywhere 2 n1 n2
	watch_events n1
	node_conf n3 "seeds=$(addr_of n1)"
	start_node n3
	wait_until 20 saw n1 MemberUp n3
	saw n1 MemberJoined n3
	# every event line carries type, time and seq, and the snapshot came first
	run jq -e -s 'all(.[]; has("type") and has("time") and has("seq"))' "$AKC_DIR/n1.events"
	assert_success
	run bash -c "head -1 '$AKC_DIR/n1.events' | jq -r .type"
	assert_output MemberUp
}

@test "min-nr-of-members = 3 keeps members Joining until the third arrives" {
	node_conf n1 min-nr=3
	AKC_SEEDS=$(addr_of n1)
	node_conf n2 min-nr=3
	node_conf n3 min-nr=3
	start_node n1
	start_node n2
	wait_until 20 bash -c "[ \"\$(akc-members -c $(conf_of n1) --json | jq length)\" = 2 ]"
	# give the leader rounds to act: nobody may be Up with only two members
	sleep 1
	[ "$(count_status n1 Joining)" = 2 ]
	[ "$(count_status n2 Up)" = 0 ]
	start_node n3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
}

@test "a node not in the seed list joins with akc-join" {
	start_cluster 2
	wait_until 20 all_up_everywhere 2 n1 n2
	node_conf n9 seeds=none
	start_node n9
	run akc-status -c "$(conf_of n9)" --json
	assert_success
	[ "$(jq -r .phase <<<"$output")" = idle ]
	# another name for the same address works too
	run akc-join -c "$(conf_of n9)" "$(addr_of n2 | sed 's/127.0.0.1/localhost/')"
	assert_success
	wait_until 20 all_up_everywhere 3 n1 n2 n9
	# joining again is refused: it is a member now
	run akc-join -c "$(conf_of n9)" "$(addr_of n1)"
	assert_failure 1
	assert_output --partial "already a member"
}

@test "the first seed never forms a cluster alone while the other seeds are silent, and says why" {
	node_conf n1 "[cluster]=" seed-node-timeout=300ms
	AKC_SEEDS="$(addr_of n1), tcp://127.0.0.1:$(free_port), tcp://127.0.0.1:$(free_port)"
	sed -i "s|^seed-nodes = .*|seed-nodes = $AKC_SEEDS|" "$(conf_of n1)"
	start_node n1
	# it says what it waits for (after 10 s), and is still looking then
	wait_until 30 grep -q "no cluster found and none formed: 0 of 2 other seeds answer" \
	    "$AKC_DIR/n1.memberd.log"
	run akc-status -c "$(conf_of n1)" --json
	[ "$(jq -r .phase <<<"$output")" = joining ]
	! grep -q "forming a new cluster" "$AKC_DIR/n1.memberd.log"
}

@test "required-contact-points = 1: the first seed forms alone after seed-node-timeout" {
	node_conf n1 "[cluster]=" required-contact-points=1
	AKC_SEEDS="$(addr_of n1), tcp://127.0.0.1:$(free_port)"
	sed -i "s|^seed-nodes = .*|seed-nodes = $AKC_SEEDS|" "$(conf_of n1)"
	start_node n1
	wait_until 20 all_up n1 1
}

@test "a restarted node remembers its cluster: cut off from it, it never forms one alone; back, it rejoins" {
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	# the memory is written, and names every member
	wait_until 10 bash -c "[ \"\$(jq '.members | length' '$AKC_DIR/n1.state/memberd.cluster')\" = 3 ]"
	# n1 (the first seed) alone after a restart: n2 and n3 stopped too (not left)
	kill_node n2
	kill_node n3
	kill_node n1
	start_node n1
	wait_until 30 grep -q "of the 3 members this node remembers answer as non-members" \
	    "$AKC_DIR/n1.memberd.log"
	[ "$(akc-status -c "$(conf_of n1)" --json | jq -r .phase)" = joining ]
	# the whole cluster back: one cluster again, formed by a majority of what they remember
	start_node n2
	start_node n3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
}

@test "a node whose seeds are all down keeps retrying and joins once one starts" {
	node_conf n1
	node_conf n2
	AKC_SEEDS="$(addr_of n1)"
	sed -i "s|^seed-nodes = .*|seed-nodes = $AKC_SEEDS|" "$(conf_of n1)" "$(conf_of n2)"
	start_node n2
	sleep 2
	run akc-status -c "$(conf_of n2)" --json
	[ "$(jq -r .phase <<<"$output")" = joining ]
	start_node n1
	wait_until 20 all_up_everywhere 2 n1 n2
}

# remembered NODE: how many members NODE's memory file names
remembered() { jq '.members | length' "$AKC_DIR/$1.state/memberd.cluster" 2>/dev/null; }

# watch_writes MS: for MS milliseconds (or until n1 remembers 7), counts the
# writes of n1's memory file (writes) and those less than 0.9 s after the one
# before (gaps), from its mtime
watch_writes() {
	local end=$(( $(date +%s%N) + $1 * 1000000 )) mt
	while (( $(date +%s%N) < end )); do
		mt=$(stat -c %.3Y "$AKC_DIR/n1.state/memberd.cluster" | tr -d .)
		if [ "$mt" != "$last" ]; then
			(( mt - last < 900 )) && gaps=$((gaps + 1))
			writes=$((writes + 1))
			last=$mt
		fi
		[ "$(remembered n1)" = 7 ] && return
		sleep 0.02
	done
}

@test "the memory is written at most once a second in a burst of joins, and what was held back is written on a stop" {
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	wait_until 10 eval '[ "$(remembered n1)" = 3 ]'
	# a burst: four joins, one every 0.3 s or so; the writes that follow are spaced
	local i last gaps=0 writes=0
	for i in 4 5 6 7; do node_conf "n$i"; done
	last=$(stat -c %.3Y "$AKC_DIR/n1.state/memberd.cluster" | tr -d .)
	for i in 4 5 6 7; do
		start_node "n$i"
		watch_writes 300
	done
	watch_writes 10000
	echo "# $writes writes seen, $gaps of them less than 0.9 s after the one before" >&3
	[ "$(remembered n1)" = 7 ]
	# (under load the joins may all land in one write: nothing to space then)
	[ "$gaps" = 0 ]
	# two members leave at once: n1 forgets them (they exited); stopped by
	# a signal as soon as it sees them gone, it has written what it held back
	wait_until 30 all_up_everywhere 7 n1 n2 n3 n4 n5 n6 n7
	local lp
	akc-leave -c "$(conf_of n6)" &
	lp=$!
	akc-leave -c "$(conf_of n7)"
	wait "$lp"
	wait_until 15 bash -c "[ \"\$(akc-members -c $(conf_of n1) --json | jq length)\" = 5 ]"
	kill -TERM "$(pid_of n1 memberd)"
	wait_until 10 eval '! kill -0 $(pid_of n1 memberd) 2>/dev/null'
	[ "$(remembered n1)" = 5 ]
}
