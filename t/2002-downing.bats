#!/usr/bin/env bats
# 2002: downing strategies decided by leaderd; the other side is made of killed nodes.
# (Partitions between live hosts are tested on network namespaces in 9xxx.)

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# cluster N STRATEGY [extra conf...]: N nodes with stable-after 2s, all Up.
cluster() {
	local n=$1 strategy=$2; shift 2
	start_cluster "$n" "[downing]=" "strategy=$strategy" "stable-after=2s" "$@"
	wait_until 30 all_up_everywhere "$n" $(nodes "$n")
}

# nodes NAMES... sorted by address
by_address() {
	local n
	for n in "$@"; do echo "$(addr_of "$n" | sed 's/.*://') $n"; done | sort -n | cut -d' ' -f2
}

@test "keep-majority: 3 against 2, the 2 unreachable are downed and removed" {
	cluster 5 keep-majority
	local order=($(by_address $(nodes 5)))
	kill_node "${order[3]}"
	kill_node "${order[4]}"
	wait_until 20 all_up_everywhere 3 "${order[0]}" "${order[1]}" "${order[2]}"
	grep -h "downing (keep-majority): 3 reachable against 2 unreachable: down the unreachable side" \
	    "$AKC_DIR"/*.leaderd.log
}

@test "keep-majority: on a 2 against 2 tie the side without the lowest address downs itself" {
	cluster 4 keep-majority
	local order=($(by_address $(nodes 4)))
	# the lowest address is on the other side: we lose
	kill_node "${order[0]}"
	kill_node "${order[2]}"
	exited_with "${order[1]}" 3
	exited_with "${order[3]}" 3
	grep -h "a tie, 2 against 2: the side of the lowest address ${order[0]}" "$AKC_DIR"/*.leaderd.log
}

@test "keep-majority: on a tie the side with the lowest address stays" {
	cluster 4 keep-majority
	local order=($(by_address $(nodes 4)))
	kill_node "${order[1]}"
	kill_node "${order[3]}"
	wait_until 20 all_up_everywhere 2 "${order[0]}" "${order[2]}"
}

@test "static-quorum: below quorum-size the remaining side downs itself" {
	cluster 5 static-quorum quorum-size=3
	local order=($(by_address $(nodes 5)))
	kill_node "${order[0]}"
	kill_node "${order[1]}"
	kill_node "${order[2]}"
	exited_with "${order[3]}" 3
	exited_with "${order[4]}" 3
	grep -h "2 reachable, quorum-size 3: down this side" "$AKC_DIR"/*.leaderd.log
}

@test "static-quorum: at quorum-size the unreachable are downed" {
	cluster 4 static-quorum quorum-size=3
	local order=($(by_address $(nodes 4)))
	kill_node "${order[1]}"
	wait_until 20 all_up_everywhere 3 "${order[0]}" "${order[2]}" "${order[3]}"
}

@test "keep-oldest: the side without the oldest downs itself" {
	cluster 4 keep-oldest
	local oldest rest=() n
	oldest=$(members_json n1 | jq -r 'sort_by(.up_number) | .[0].node')
	for n in $(nodes 4); do [ "$n" != "$oldest" ] && rest+=("$n"); done
	kill_node "$oldest"
	kill_node "${rest[0]}"
	exited_with "${rest[1]}" 3
	exited_with "${rest[2]}" 3
	grep -h "the oldest, $oldest, is on the other side" "$AKC_DIR"/*.leaderd.log
}

@test "keep-oldest: the oldest's side keeps going" {
	cluster 4 keep-oldest
	local oldest rest=() n
	oldest=$(members_json n1 | jq -r 'sort_by(.up_number) | .[0].node')
	for n in $(nodes 4); do [ "$n" != "$oldest" ] && rest+=("$n"); done
	kill_node "${rest[0]}"
	wait_until 20 all_up_everywhere 3 "$oldest" "${rest[1]}" "${rest[2]}"
}

@test "down-all: any unreachable member ends the whole cluster" {
	cluster 3 down-all
	kill_node n3
	exited_with n1 3
	exited_with n2 3
}

@test "auto-down: an unreachable member is downed after stable-after, the rest carry on" {
	cluster 3 auto-down
	watch_events n1
	kill_node n3
	wait_until 20 all_up_everywhere 2 n1 n2
	saw n1 MemberDowned n3
	grep -h "auto-down: 1 member unreachable for 2s or more" "$AKC_DIR"/*.leaderd.log
}

@test "no downing before stable-after: a member back within it is kept" {
	cluster 3 keep-majority
	kill -STOP "$(pid_of n3 memberd)"
	wait_until 10 is_unreachable n1 n3
	kill -CONT "$(pid_of n3 memberd)"
	wait_until 10 all_up_everywhere 3 n1 n2 n3
	sleep 3
	all_up_everywhere 3 n1 n2 n3
	run grep -q "downing (" "$AKC_DIR"/n1.leaderd.log "$AKC_DIR"/n2.leaderd.log "$AKC_DIR"/n3.leaderd.log
	assert_failure 1
}
