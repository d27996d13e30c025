#!/usr/bin/env bats
# 4013: the proxy link (issue 12): a singletond's proxy on a node that does
# not run the singleton sends its requests to the oldest's singletond over a
# direct TCP link of their own (a port the kernel picks, learned through
# memberd's relay), sealed under the cluster's keyring, instead of through
# both memberds; the relay is the fallback. Real nodes running the master as
# singleton, a keyring, attacks on the link port, a blocked port, kill -9.

load lib/akc
load lib/work
load lib/link

setup() {
	akc_setup
	link_setup
	SUBMIT_PIDS=
	# the proxy link itself: without the master link, which would take the
	# requests past the oldest's singletond (t/4023 tests that one)
	export AKC_MASTER_LINK=0
}
teardown() {
	link_teardown
	local p
	for p in $SUBMIT_PIDS; do kill "$p" 2>/dev/null || true; done
	akc_teardown
}

# plink NODE JQ: a field of NODE's singletond (master) "link" object (akc-status --json).
plink() {
	akc-status -c "$(conf_of "$1")" --json |
	    jq -r ".singletons[] | select(.name == \"master\") | .link | $2"
}
# proxy_field NODE JQ: a field of NODE's proxy counters.
proxy_field() {
	akc-status -c "$(conf_of "$1")" --json |
	    jq -r ".singletons[] | select(.name == \"master\") | .proxy | $2"
}
plink_addr() { echo "tcp://127.0.0.1:$(plink "$1" .port)"; }
# plink_up NODE PEER_NODE: NODE's proxy link to PEER_NODE's singletond is up.
plink_up() {
	[ "$(plink "$1" "[.peers[] | select(.up and .address == \"$(plink_addr "$2")\")] | length")" = 1 ]
}
plink_down() { ! plink_up "$@"; }
# pdropped NODE REASON: NODE's count of proxy link frames dropped for REASON.
pdropped() { plink "$1" ".dropped.$2"; }
pdropped_over() { [ "$(pdropped "$1" "$2")" -gt "$3" ]; }

@test "submits through a node that does not run the master go over the proxy link, not the relay" {
	link_cluster 3
	[ "$(oldest_with n1 backend)" = n1 ]
	[ "$(plink n2 .on)" = true ]
	[ "$(plink n2 .listening)" = true ]
	[ "$(plink n2 .port)" -gt 0 ]
	# the proxies learn the oldest's link from its answers to "where" through the relay
	wait_until 20 plink_up n2 n1
	wait_until 20 plink_up n1 n2
	local ls rs lr
	ls=$(plink n2 .sent)
	rs=$(plink n2 .relay.sent)
	lr=$(plink n2 .received)
	submit_n n2 j 100
	local dls drs dlr
	dls=$(( $(plink n2 .sent) - ls ))
	drs=$(( $(plink n2 .relay.sent) - rs ))
	dlr=$(( $(plink n2 .received) - lr ))
	echo "# n2's proxy: link sent $dls, relay sent $drs, link received $dlr" >&3
	# one request and one answer per submit, over the link
	[ "$dls" -ge 100 ]
	[ "$dlr" -ge 100 ]
	[ "$drs" -lt 10 ]
	[ "$(plink n1 .received)" -ge 100 ]
	[ "$(queue_field n1 accepted)" = 100 ]
	[ "$(pdropped n1 unauthenticated)" = 0 ]
	[ "$(pdropped n1 replayed)" = 0 ]
	[ "$(pdropped n1 stale)" = 0 ]
	[ "$(proxy_field n2 .resent)" = 0 ]
	# akc-status says it in text too
	run akc-status -c "$(conf_of n2)"
	assert_output --regexp "  link:      port $(plink n2 .port), [1-9][0-9]* of [1-9][0-9]* peers up; sent [1-9][0-9]+, received [0-9]+; relay sent [0-9]+, received [0-9]+; dropped "
	grep -q "proxy link to $(plink_addr n1) is up" "$AKC_DIR/n2.singletond.log"
	grep -q "proxy link to $(plink_addr n2) is up" "$AKC_DIR/n1.singletond.log"
	# link-port 0: no link, the relay carries as before
	sed -i 's|^\[singleton.master\]$|[singleton.master]\nlink-port = 0|' "$(conf_of n3)"
	kill "$(pid_of n3 singletond)"
	wait_until 20 process_exited "$(pid_of n3 singletond)"
	start_singleton n3 master
	wait_until 20 master_answers n3
	[ "$(plink n3 .on)" = false ]
	run akc-status -c "$(conf_of n3)"
	assert_output --partial "  link:      off (requests go through memberd's relay)"
	rs=$(plink n3 .relay.sent)
	submit_n n3 off 5
	[ "$(plink n3 .relay.sent)" -ge $((rs + 5)) ]
	[ "$(queue_field n1 accepted)" = 105 ]
}

@test "a proxy link frame without the key, of another cluster, a journal link frame, a replayed or oversized frame is refused and counted" {
	command -v tcpdump >/dev/null || skip "tcpdump is not installed"
	local port addr
	link_cluster 2
	wait_until 20 plink_up n1 n2
	port=$(plink n1 .port)
	addr=$(plink_addr n1)
	# n2's proxy traffic to n1's link port, captured from a fresh connection
	capture_start "$AKC_DIR/c.pcap" "$port"
	kill "$(pid_of n2 singletond)"
	wait_until 20 process_exited "$(pid_of n2 singletond)"
	start_singleton n2 master
	wait_until 30 plink_up n2 n1
	submit_n n2 a 20
	[ "$(plink n1 .received)" -ge 20 ]
	capture_stop
	local frames
	frames=$(captured_frames "$port")
	echo "# $frames frames captured" >&3
	[ "$frames" -gt 10 ]

	link_attacks "$addr" -P -L pdropped_over n1
	# the captured streams replayed: every frame is old news, no job runs twice
	local before
	before=$(queue_field n1 accepted)
	link_replay "$port" "$AKC_DIR/frames"
	wait_until 10 pdropped_over n1 replayed 10
	[ "$(queue_field n1 accepted)" = "$before" ]
	grep -q "proxy link: dropped .* that failed authentication" "$AKC_DIR/n1.singletond.log"
	# the link still carries
	wait_until 20 plink_up n2 n1
	local ls
	ls=$(plink n2 .sent)
	submit_n n2 b 10
	[ "$(plink n2 .sent)" -ge $((ls + 10)) ]
}

@test "the proxy link port blocked: the relay carries, submits still answered; unblocked, the link comes back" {
	command -v nft >/dev/null || skip "this test needs nftables"
	link_cluster 3
	wait_until 20 plink_up n2 n1
	submit_n n2 before 10
	block_port "$(plink n1 .port)"
	# submits while the link goes down: each answered once, none lost
	submit_n n2 going 10
	wait_until 20 plink_down n2 n1
	grep -q "proxy link to $(plink_addr n1) is down: the relay through memberd carries" \
	    "$AKC_DIR/n2.singletond.log"
	local rs
	rs=$(plink n2 .relay.sent)
	submit_n n2 during 30
	[ "$(plink n2 .relay.sent)" -ge $((rs + 30)) ]
	# each found the link down: counted, and sent through the relay
	[ "$(plink n2 .unusable)" -ge 30 ]
	unblock_port
	wait_until 30 plink_up n2 n1
	local ls
	ls=$(plink n2 .sent)
	submit_n n2 after 10
	[ "$(plink n2 .sent)" -ge $((ls + 10)) ]
	[ "$(queue_field n1 accepted)" = 60 ]
	[ "$(wc -l < "$AKC_DIR/acked")" = 60 ]
	# every request the proxy took was answered once
	[ "$(proxy_field n2 .accepted)" = "$(proxy_field n2 .answered)" ]
	[ "$(proxy_field n2 .buffered)" = 0 ]
}


@test "the oldest's node killed -9 while submits run over the link: no acknowledged job lost, one answer each" {
	link_cluster 3
	wait_until 20 plink_up n2 n1
	wait_until 20 plink_up n3 n1
	: > "$AKC_DIR/s2.ids"; : > "$AKC_DIR/s2.failed"
	: > "$AKC_DIR/s3.ids"; : > "$AKC_DIR/s3.failed"
	submitter n2 s2 120 3>&- &
	SUBMIT_PIDS="$!"
	submitter n3 s3 120 3>&- &
	SUBMIT_PIDS="$SUBMIT_PIDS $!"
	wait_until 30 lines_at_least "$AKC_DIR/s2.ids" 40
	# the submits so far went over the links
	[ "$(plink n2 .sent)" -ge 40 ]
	kill_node n1	# every daemon of the master's node
	local p
	for p in $SUBMIT_PIDS; do wait "$p"; done
	SUBMIT_PIDS=
	# one answer per client: an id or an error, never both, never none
	[ $(( $(wc -l < "$AKC_DIR/s2.ids") + $(wc -l < "$AKC_DIR/s2.failed") )) = 120 ]
	[ $(( $(wc -l < "$AKC_DIR/s3.ids") + $(wc -l < "$AKC_DIR/s3.failed") )) = 120 ]
	cat "$AKC_DIR/s2.ids" "$AKC_DIR/s3.ids" | sort > "$AKC_DIR/ids"
	[ "$(sort -u "$AKC_DIR/ids" | wc -l)" = "$(wc -l < "$AKC_DIR/ids")" ]
	echo "# acknowledged $(wc -l < "$AKC_DIR/ids") of 240" >&3
	[ "$(wc -l < "$AKC_DIR/ids")" -ge 200 ]
	wait_until 60 master_answers n2
	# each proxy answered every request it took exactly once
	local n
	for n in n2 n3; do
		[ "$(proxy_field $n .buffered)" = 0 ]
		[ "$(proxy_field $n .accepted)" = $(( $(proxy_field $n .answered) + $(proxy_field $n .expired) )) ]
	done
	# the new oldest's link is learned and carries again
	local o
	o=$(oldest_with n2 backend)
	[ "$o" = n2 ] || [ "$o" = n3 ]
	if [ "$o" = n2 ]; then wait_until 30 plink_up n3 n2; else wait_until 30 plink_up n2 n3; fi
	start_worker n3 >/dev/null
	wait_until 120 finished n3 "$(wc -l < "$AKC_DIR/ids")"
	akc-results -c "$(conf_of n3)" | jq -r .id | sort > "$AKC_DIR/got"
	comm -23 "$AKC_DIR/ids" "$AKC_DIR/got" > "$AKC_DIR/lost"
	[ ! -s "$AKC_DIR/lost" ]
}
