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

# write_gaps NODE: the ms between the beginnings of NODE's consecutive writes
# of its memory (its debug log says each one when done, and how long ago it
# began: a slow fsync must not make the next write look early), one a line
write_gaps() {
	grep -E "memberd: wrote the membership memory" "$AKC_DIR/$1.memberd.log" |
		sed -E 's/^[0-9-]+T([0-9]+):([0-9]+):([0-9.]+)Z .*\(begun ([0-9]+) ms ago\)$/\1 \2 \3 \4/' |
		awk '{ t = ($1 * 3600 + $2 * 60 + $3) * 1000 - $4; if (NR > 1) printf "%d\n", t - last; last = t }'
}

@test "the memory is written at most once a second in a burst of joins, and what was held back is written on a stop" {
	start_cluster 3 "[node]=" log-level=debug
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	wait_until 10 eval '[ "$(remembered n1)" = 3 ]'
	# a burst: four joins at once; each changes the memory, the writes are spaced
	local i
	for i in 4 5 6 7; do node_conf "n$i"; done
	for i in 4 5 6 7; do start_node "n$i"; done
	wait_until 30 eval '[ "$(remembered n1)" = 7 ]'
	write_gaps n1 | tr '\n' ' ' | sed 's/^/# ms between writes: /' >&3
	echo >&3
	[ "$(write_gaps n1 | wc -l)" -ge 1 ]
	[ -z "$(write_gaps n1 | awk '$1 < 900')" ]
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
