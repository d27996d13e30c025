#!/usr/bin/env bats
# 4012: the journal link (issue 12): the master and its standbys replicate
# over a direct TCP connection of their own ([master] port, by default the
# node's port + 1000), sealed under the cluster's keyring, instead of through
# both memberds; the relay through memberd is the fallback. Real nodes, a
# keyring, attacks on the link port, a blocked port, kill -9.

load lib/akc
load lib/work
load lib/link

setup() {
	akc_setup
	link_setup
}
teardown() {
	link_teardown
	akc_teardown
}

# link_port NODE: NODE's journal link port (its node port + 1000).
link_port() { local a; a=$(addr_of "$1"); echo "$((${a##*:} + 1000))"; }
link_addr() { echo "tcp://127.0.0.1:$(link_port "$1")"; }
# link_field NODE JQ: a field of the master's "link" object, read through NODE.
link_field() { akc-queue -c "$(conf_of "$1")" --json | jq -r ".link | $2"; }
# link_up_to NODE COUNT: the master (through NODE) has its link up to COUNT standbys.
link_up_to() { [ "$(link_field "$1" '[.peers[] | select(.up)] | length')" -ge "$2" ]; }
link_down_all() { [ "$(link_field "$1" '[.peers[] | select(.up)] | length')" = 0 ]; }
# dropped NODE REASON: the master's count of link frames dropped for REASON.
dropped() { link_field "$1" ".dropped.$2"; }
dropped_over() { [ "$(dropped "$1" "$2")" -gt "$3" ]; }

@test "jobs are replicated over the link, not the relay, and the standbys hold every one" {
	link_cluster 3
	[ "$(oldest_with n1 backend)" = n1 ]
	[ "$(link_field n1 .on)" = true ]
	[ "$(link_field n1 .port)" = "$(link_port n1)" ]
	wait_until 20 link_up_to n1 2
	local rs ls
	rs=$(link_field n1 .relay.sent)
	ls=$(link_field n1 .sent)
	submit_n n2 j 100
	wait_until 20 standby_caught_up n1 n2
	wait_until 20 standby_caught_up n1 n3
	local drs dls dlr
	drs=$(( $(link_field n1 .relay.sent) - rs ))
	dls=$(( $(link_field n1 .sent) - ls ))
	dlr=$(link_field n1 .received)
	echo "# link sent $dls, relay sent $drs, link received $dlr" >&3
	# each submit is an append to the standby on sync duty, and each is acked,
	# over the link; the lazy standby's appends wait up to 5 ms and take what
	# came meanwhile (doc/PROTOCOL.md, "Lazy standbys"): fewer, over the link too
	[ "$dls" -ge 110 ]
	[ "$dlr" -ge 110 ]
	[ "$drs" -lt $((dls / 10)) ]
	# nothing was dropped on the link in normal operation
	[ "$(dropped n1 unauthenticated)" = 0 ]
	[ "$(dropped n1 replayed)" = 0 ]
	[ "$(dropped n1 stale)" = 0 ]
	grep -q "journal link to tcp://127.0.0.1:$(link_port n2) is up" "$AKC_DIR/n1.singletond.log"
	grep -q "journal link to tcp://127.0.0.1:$(link_port n1) is up" "$AKC_DIR/n2.singletond.log"
	# a standby's log says what went over its link when it stops
	kill "$(pid_of n3 singletond)"
	wait_until 20 process_exited "$(pid_of n3 singletond)"
	grep -E "standby of master: stopping at event [0-9]+ \([0-9]+ syncs, [0-9]+ appends written lazily; journal link: [1-9][0-9]+ messages sent, [1-9][0-9]+ received" \
	    "$AKC_DIR/n3.singletond.log"
}

@test "a link frame without the key, of another cluster, a memberd frame, a replayed or oversized frame is refused and counted" {
	command -v tcpdump >/dev/null || skip "tcpdump is not installed"
	local port addr
	link_cluster 2
	port=$(link_port n1)
	addr=$(link_addr n1)
	wait_until 20 link_up_to n1 1
	# a standby's traffic to the master's link port, captured from a fresh connection
	capture_start "$AKC_DIR/c.pcap" "$port"
	kill "$(pid_of n2 singletond)"
	wait_until 20 process_exited "$(pid_of n2 singletond)"
	wait_until 20 link_down_all n1
	start_singleton n2 master
	# the new standby's link is learned from the first messages through the relay
	submit_n n1 r 3
	wait_until 30 link_up_to n1 1
	submit_n n1 a 20
	wait_until 20 standby_caught_up n1 n2
	capture_stop
	local frames
	frames=$(captured_frames "$port")
	echo "# $frames frames captured" >&3
	[ "$frames" -gt 10 ]

	link_attacks "$addr" -L - dropped_over n1
	# the captured streams replayed: every frame is old news
	local done_before
	done_before=$(queue_field n1 accepted)
	link_replay "$port" "$AKC_DIR/frames"
	wait_until 10 dropped_over n1 replayed 10
	[ "$(queue_field n1 accepted)" = "$done_before" ]
	# the link still carries, and jobs still commit over it (a round whose
	# link lapsed under load goes through the relay: another round then)
	local ls r carried=0
	for r in 1 2 3; do
		wait_until 20 link_up_to n1 1
		ls=$(link_field n1 .sent)
		submit_n n1 "b$r" 10
		if [ "$(link_field n1 .sent)" -ge $((ls + 10)) ]; then
			carried=1
			break
		fi
	done
	[ "$carried" = 1 ]
	grep -q "journal link: dropped .* that failed authentication" "$AKC_DIR/n1.singletond.log"
}

@test "the link port blocked: the relay carries, jobs still commit; unblocked, the link comes back" {
	command -v nft >/dev/null || skip "this test needs nftables"
	link_cluster 3
	wait_until 20 link_up_to n1 2
	submit_n n2 before 10
	block_port "$(link_port n1)"
	wait_until 20 link_down_all n1
	grep -q "journal link to .* is down: the relay through memberd carries" "$AKC_DIR/n1.singletond.log"
	local rs
	rs=$(link_field n1 .relay.sent)
	# one at a time, each acknowledged only once a standby holds it
	submit_n n2 during 30
	[ "$(link_field n1 .relay.sent)" -ge $((rs + 30)) ]
	# each of those sends found the link down first, and says so
	[ "$(link_field n1 .unusable)" -ge 30 ]
	wait_until 20 standby_caught_up n1 n2
	unblock_port
	wait_until 30 link_up_to n1 2
	local ls
	ls=$(link_field n1 .sent)
	submit_n n3 after 10
	[ "$(link_field n1 .sent)" -ge $((ls + 10)) ]
	[ "$(queue_field n1 accepted)" = 50 ]
}

@test "the master's node killed -9 with the link up: the new master has every acknowledged job" {
	link_cluster 3
	wait_until 20 link_up_to n1 2
	local i
	: > "$AKC_DIR/ids"
	for ((i = 0; i < 150; i++)); do
		akc-submit -c "$(conf_of n2)" --call-timeout 2s --id "k-$i" "p$i" >> "$AKC_DIR/ids" \
		    2>>"$AKC_DIR/submit.err" || true
		if [ "$i" = 80 ]; then
			kill_node n1	# every daemon of the master's node
		fi
	done
	[ "$(wc -l < "$AKC_DIR/ids")" -ge 100 ]
	wait_until 60 master_answers n2
	# the new master is n2 or n3, and it runs a link to the other
	wait_until 30 link_up_to n2 1
	start_worker n3 >/dev/null
	wait_until 120 finished n3 "$(wc -l < "$AKC_DIR/ids")"
	akc-results -c "$(conf_of n3)" | jq -r .id | sort > "$AKC_DIR/got"
	sort "$AKC_DIR/ids" | comm -23 - "$AKC_DIR/got" > "$AKC_DIR/lost"
	[ ! -s "$AKC_DIR/lost" ]
}
