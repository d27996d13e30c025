#!/usr/bin/env bats
# 9001: real partitions between hosts made of network namespaces, with downing.

load lib/akc
load lib/netns

setup() {
	akc_setup
	net_require
}
teardown() {
	net_teardown
	akc_teardown
}

# (one cluster for the split and the rejoin after it: the rejoin starts
# from where the split ends, so a test of the split alone ran the same
# steps again)
@test "keep-majority, 5 hosts split 3|2: the 2 shut themselves down, the 3 remove them; healed and restarted, the 2 rejoin as new incarnations" {
	net_setup 5
	host_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	local old
	old=$(members_json h1 | jq -r '.[] | select(.node == "h4") | .uid')
	net_cut "h1 h2 h3" "h4 h5"
	exited_with h4 3
	exited_with h5 3
	wait_until 30 all_up_everywhere 3 h1 h2 h3
	grep -h "downing (keep-majority): 3 reachable against 2 unreachable" "$AKC_DIR"/h[123].leaderd.log
	grep -h "downing (keep-majority): 2 reachable against 3 unreachable: down this side" \
	    "$AKC_DIR"/h[45].leaderd.log
	# the split healed, the downed hosts started again
	net_heal
	host_start h4
	host_start h5
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	[ "$(members_json h1 | jq -r '.[] | select(.node == "h4") | .uid')" != "$old" ]
}

@test "keep-majority, 2|2 tie: the side with the lowest address survives" {
	net_setup 4
	host_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	net_cut "h1 h3" "h2 h4"		# 10.211.X.1 is the lowest address
	exited_with h2 3
	exited_with h4 3
	wait_until 30 all_up_everywhere 2 h1 h3
}

@test "a one-way cut: both ends are indirectly connected and downed, as Akka does" {
	net_setup 4
	host_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	net_cut_oneway h3 h1		# packets from h3 to h1 are lost: TCP between them fails both ways
	wait_until 20 is_unreachable h2 h3
	exited_with h1 3
	exited_with h3 3
	wait_until 30 all_up_everywhere 2 h2 h4
	# decided by a leader on either side (h1 counts itself reachable and leads too)
	grep -h "2 indirectly connected" "$AKC_DIR"/h[1234].leaderd.log
}

@test "auto-down in a split: both sides carry on as two clusters (the split brain it is)" {
	net_setup 5
	host_cluster "[downing]=" strategy=auto-down stable-after=2s
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	net_cut "h1 h2 h3" "h4 h5"
	wait_until 30 all_up_everywhere 3 h1 h2 h3
	wait_until 30 all_up_everywhere 2 h4 h5
	kill -0 "$(pid_of h4 memberd)"
}

@test "a flapping link downs nobody when stable-after outlasts the flapping" {
	AKC_PAUSE=300ms
	net_setup 4
	host_cluster "[downing]=" strategy=keep-majority stable-after=12s
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	local end=$((SECONDS + 10)) flips=0
	while [ $SECONDS -lt $end ]; do
		net_cut "h1 h2" "h3 h4"
		sleep 0.8
		net_heal
		sleep 0.4
		flips=$((flips + 1))
	done
	# the flapping was seen...
	grep -qh "as UNREACHABLE" "$AKC_DIR"/h*.memberd.log
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	# ...and nobody was downed
	run grep -h "downing (" "$AKC_DIR"/h1.leaderd.log "$AKC_DIR"/h2.leaderd.log \
	    "$AKC_DIR"/h3.leaderd.log "$AKC_DIR"/h4.leaderd.log
	assert_failure 1
	for h in h1 h2 h3 h4; do kill -0 "$(pid_of $h memberd)"; done
}

@test "keep-oldest with the oldest on the small side: the large side downs itself" {
	net_setup 5
	host_cluster "[downing]=" strategy=keep-oldest stable-after=2s
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	local oldest rest=() h
	oldest=$(members_json h1 | jq -r 'sort_by(.up_number) | .[0].node')
	for h in h1 h2 h3 h4 h5; do [ "$h" != "$oldest" ] && rest+=("$h"); done
	# the oldest and one other against three
	net_cut "$oldest ${rest[0]}" "${rest[1]} ${rest[2]} ${rest[3]}"
	exited_with "${rest[1]}" 3
	exited_with "${rest[2]}" 3
	exited_with "${rest[3]}" 3
	wait_until 30 all_up_everywhere 2 "$oldest" "${rest[0]}"
}

@test "static-quorum below quorum-size: the small side downs itself, the quorum stays" {
	net_setup 5
	host_cluster "[downing]=" strategy=static-quorum quorum-size=3 stable-after=2s
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	net_cut "h1 h4 h5" "h2 h3"
	exited_with h2 3
	exited_with h3 3
	wait_until 30 all_up_everywhere 3 h1 h4 h5
}

@test "down-all: a split ends both sides" {
	net_setup 4
	host_cluster "[downing]=" strategy=down-all stable-after=2s
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	net_cut "h1 h2" "h3 h4"
	exited_with h1 3
	exited_with h2 3
	exited_with h3 3
	exited_with h4 3
}

@test "a lossy host (10% of packets dropped) is not downed" {
	# TCP hides the loss behind retransmissions, which back off 0.2, 0.4,
	# 0.8, 1.6 s: the pause must outlast a few in a row, as the default does
	AKC_PAUSE=3s
	net_setup 3
	host_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 3 h1 h2 h3
	net_lossy h3 10
	sleep 10
	net_heal
	wait_until 30 all_up_everywhere 3 h1 h2 h3
	run grep -h "downing (" "$AKC_DIR"/h1.leaderd.log "$AKC_DIR"/h2.leaderd.log "$AKC_DIR"/h3.leaderd.log
	assert_failure 1
}

@test "reachability that keeps changing past stable-after + 3/4 of it downs everyone" {
	AKC_PAUSE=300ms
	net_setup 4
	host_cluster "[downing]=" strategy=keep-majority stable-after=3s
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	# h4 is cut off for good while h3's links come and go (cut 1.2 s, healed
	# 1 s: h3 turns unreachable, then reachable, in every round, with room for
	# busy cores): the unreachable set never stays put for 3s, for longer
	# than 3s + max(4s, 2.25s)
	local end=$((SECONDS + 18))
	net_cut "h1 h2 h3" "h4"
	while [ $SECONDS -lt $end ] && kill -0 "$(pid_of h1 memberd)" 2>/dev/null; do
		net_cut "h1 h2" "h3"
		sleep 1.2
		net_uncut "h1 h2" "h3"
		sleep 1
	done
	exited_with h1 3
	exited_with h2 3
	grep -h "reachability kept changing" "$AKC_DIR"/h*.leaderd.log
}

@test "a slow link (200 ms each way) is not a partition" {
	net_setup 3
	net_delay h3 200 || skip "this kernel has no netem qdisc for delays"
	host_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 3 h1 h2 h3
	sleep 5
	all_up_everywhere 3 h1 h2 h3
}
