#!/usr/bin/env bats
# 4023: the master link (issue 12): a proxy on a node that does not run the
# master sends its requests straight to the serving master over a sealed
# TCP link of the master's own (lib/link.c, kinds M/m), learned through
# hellos in memberd's relay, instead of through the oldest's singletond and
# its socket to the master; the proxy link and the relay stay the fallback.
# Real nodes under a keyring: the path counted at both ends, the master's
# link port taken (the old path carries, then the link comes), the port
# blocked (new requests take the proxy link meanwhile), kill -9 of
# the master's node under submits, and forged frames at the port.

load lib/akc
load lib/work
load lib/link

setup() {
	akc_setup
	link_setup
	SUBMIT_PIDS=
	PORT_PID=
}
teardown() {
	link_teardown
	local p
	for p in $SUBMIT_PIDS $PORT_PID; do kill "$p" 2>/dev/null || true; done
	akc_teardown
}

# sg NODE JQ: a field of NODE's singletond (master) status (akc-status --json).
sg() {
	akc-status -c "$(conf_of "$1")" --json |
	    jq -r ".singletons[] | select(.name == \"master\") | $2"
}
# ml NODE JQ: a field of the master's "mlink" counters, asked through NODE.
ml() { akc-queue -c "$(conf_of "$1")" --json | jq -r ".mlink | $2"; }
# mlink_up NODE: NODE's proxy has the master's link up.
mlink_up() { [ "$(sg "$1" '[.mlink.peers[] | select(.up)] | length')" -ge 1 ]; }
# mdropped_over NODE REASON N: the master's count of link frames dropped for REASON is over N.
mdropped_over() { [ "$(ml "$1" ".dropped.$2")" -gt "$3" ]; }
@test "requests from another node go straight to the master over its link, counted at both ends" {
	link_cluster 3
	[ "$(oldest_with n1 backend)" = n1 ]
	[ "$(ml n1 .on)" = true ]
	[ "$(ml n1 .listening)" = true ]
	[ "$(sg n2 .mlink.on)" = true ]
	# a proxy says hello once it has clients: the first request wakes it
	submit_n n2 warm 1
	wait_until 20 mlink_up n2
	local r0 p0 s0
	r0=$(ml n1 .requests)
	p0=$(sg n1 .link.received)
	s0=$(sg n2 .mlink.requests_sent)
	submit_n n2 j 50
	# every one of them over the master link: none reached n1's singletond
	[ "$(( $(ml n1 .requests) - r0 ))" -ge 50 ]
	[ "$(( $(sg n2 .mlink.requests_sent) - s0 ))" -ge 50 ]
	[ "$(sg n1 .link.received)" = "$p0" ]
	[ "$(ml n1 .dropped.unauthenticated)" = 0 ]
	[ "$(ml n1 .duplicates)" = 0 ]
	# a worker on n3 asks and reports through its proxy, over the link too
	start_worker n3 >/dev/null
	wait_until 30 all_done n2 "$AKC_DIR/acked"
	wait_until 20 mlink_up n3
	# its next asks (long polls) take it
	wait_until 20 eval '[ "$(sg n3 .mlink.answers)" -gt 0 ]'
	# the proxies answered every request once
	[ "$(sg n2 .proxy.accepted)" = "$(sg n2 .proxy.answered)" ]
	[ "$(queue_field n1 accepted)" = 51 ]
	# the master's own node has no use for it: its clients take the direct socket
	[ "$(sg n1 .mlink.requests_sent)" = 0 ]
}

@test "AKC_MASTER_LINK=0: no link, the proxy link carries as before" {
	AKC_MASTER_LINK=0 link_cluster 3
	[ "$(ml n1 .)" = false ]
	[ "$(sg n2 .mlink)" = false ]
	local p0
	p0=$(sg n1 '.link.received + .link.relay.received')
	submit_n n2 j 20
	# n1's singletond took them (over the proxy link, or the relay before that is up)
	[ "$(sg n1 '.link.received + .link.relay.received')" -ge $((p0 + 20)) ]
}

@test "the master's link port taken: the old path carries; once free, the link comes and carries" {
	command -v python3 >/dev/null || skip "this test needs python3"
	local port
	port=$(free_port)
	python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(600)' "$port" 3>&- &
	PORT_PID=$!
	AKC_MASTER_LINK_PORT=$port link_cluster 3
	[ "$(ml n1 .listening)" = false ]
	local p0
	p0=$(sg n1 '.link.received + .link.relay.received')
	submit_n n2 a 20
	# not one over the master link: the master has none to offer; n1's
	# singletond took them (over the proxy link, or the relay before that is up)
	[ "$(ml n1 .requests)" = 0 ]
	[ "$(sg n1 '.link.received + .link.relay.received')" -ge $((p0 + 20)) ]
	[ "$(sg n2 .mlink.welcomes)" -gt 0 ]
	grep -q "master link: not on tcp://127.0.0.1:$port for now" "$AKC_DIR/n1.singletond.log"
	kill "$PORT_PID"
	PORT_PID=
	wait_until 20 eval '[ "$(ml n1 .listening)" = true ]'
	submit_n n2 b 1
	wait_until 20 mlink_up n2
	submit_n n2 c 20
	[ "$(ml n1 .requests)" -ge 20 ]
	[ "$(queue_field n1 accepted)" = 41 ]
	[ "$(sg n2 .proxy.accepted)" = "$(sg n2 .proxy.answered)" ]
}

@test "the master's link port blocked: new requests take the proxy link, each answered once; unblocked, the master link carries again" {
	command -v nft >/dev/null || skip "this test needs nftables"
	link_cluster 3
	submit_n n2 warm 1
	wait_until 20 mlink_up n2
	submit_n n2 before 10
	block_port "$(ml n1 .port)"
	wait_until 20 eval '! mlink_up n2'
	local r0 p0
	r0=$(ml n1 .requests)
	p0=$(sg n1 '.link.received + .link.relay.received')
	submit_n n2 during 20
	# none over the master link while it is down: the oldest's singletond took them
	[ "$(ml n1 .requests)" = "$r0" ]
	[ "$(sg n1 '.link.received + .link.relay.received')" -ge $((p0 + 20)) ]
	unblock_port
	wait_until 30 mlink_up n2
	submit_n n2 after 10
	[ "$(ml n1 .requests)" -ge $((r0 + 10)) ]
	[ "$(queue_field n1 accepted)" = 41 ]
	[ "$(sg n2 .proxy.accepted)" = "$(sg n2 .proxy.answered)" ]
	[ "$(sg n2 .proxy.buffered)" = 0 ]
}


@test "the master's node killed -9 under submits over the link: every acknowledged job done, results reach the other nodes' clients" {
	link_cluster 3
	start_worker n2 >/dev/null
	start_worker n3 >/dev/null
	submit_n n3 warm 1
	wait_until 20 mlink_up n3
	submitter n3 s 150 &
	SUBMIT_PIDS=$!
	wait_until 30 lines_at_least "$AKC_DIR/s.ids" 40
	[ "$(ml n1 .requests)" -ge 40 ]
	kill_node n1
	wait "$SUBMIT_PIDS"
	SUBMIT_PIDS=
	wait_until 60 serving n3
	cat "$AKC_DIR/s.ids" "$AKC_DIR/acked" > "$AKC_DIR/all"
	wait_until 60 all_done n3 "$AKC_DIR/all"
	# the master moved to n2 or n3: the other one's proxy learns its link and uses it
	local on other r0
	on=$(sg n3 .running_on)
	case $on in n2) other=n3 ;; n3) other=n2 ;; *) false ;; esac
	submit_n "$other" after 1
	wait_until 20 mlink_up "$other"
	r0=$(ml "$other" .requests)
	submit_n "$other" later 10
	[ "$(ml "$other" .requests)" -ge $((r0 + 10)) ]
	cat "$AKC_DIR/s.ids" "$AKC_DIR/acked" > "$AKC_DIR/all"
	wait_until 30 all_done "$other" "$AKC_DIR/all"
	# no job ran twice under one id: one result line each
	[ "$(akc-results -c "$(conf_of n3)" | jq -r .id | sort | uniq -d | wc -l)" = 0 ]
}

@test "forged frames at the master's link port: without the key, of another cluster, another link's kind, for another process, oversized: dropped and counted" {
	link_cluster 2
	submit_n n2 warm 1
	wait_until 20 mlink_up n2
	local addr
	addr="tcp://127.0.0.1:$(ml n1 .port)"
	link_attacks "$addr" -M -P mdropped_over n1
	grep -q "master link: dropped .* that failed authentication" "$AKC_DIR/n1.singletond.log"
	[ "$(queue_field n1 accepted)" = 1 ]
	# the link still carries
	wait_until 20 mlink_up n2
	local r0
	r0=$(ml n1 .requests)
	submit_n n2 b 10
	[ "$(ml n1 .requests)" -ge $((r0 + 10)) ]
}
