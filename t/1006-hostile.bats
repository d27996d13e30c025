#!/usr/bin/env bats
# 1006: garbage, truncated and hostile messages are dropped and counted, never a crash.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# Messages carry their sender's counter "n" (doc/PROTOCOL.md, Replays):
# each made-up message below has one of its own, so only the field under
# test makes it dropped; push sends it 3 times, the repeats count as replayed.
# push ADDRESS DATA: to a node's port as frames of our cluster (t/frame-send),
# to a local ipc socket with nanocat, repeatedly for a moment (its one-shot
# send may be lost)
push() {
	case $1 in
	tcp://*) timeout 5 "$AKC_BIN/t/frame-send" -n 3 "$1" -D "$2" 3>&- || true ;;
	*) timeout 1 nanocat --push --connect "$1" -i 0.05 -D "$2" >/dev/null 2>&1 3>&- || true ;;
	esac
}

dropped_total() {
	status_json "$1" | jq '[.dropped[]] | add'
}

@test "garbage and truncated frames on memberd's port do not disturb the cluster" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local a
	a=$(addr_of n1)
	push "$a" 'not json at all'
	push "$a" '{"v":2,"t":"gossip","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"101","state":'
	push "$a" '{"v":99,"t":"hb","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"102"}'
	# a node of protocol version 1 (before the compact state): refused, named in one line
	push "$a" '{"v":1,"t":"hb","from":{"node":"old","address":"tcp://127.0.0.1:2","uid":"6"},"n":"1","to":"1","seq":"1"}'
	push "$a" '{"v":2,"t":"no-such-type","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"103"}'
	push "$a" '{"v":2,"t":"gossip","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"104","to":"1","state":{}}'
	push "$a" '{"v":2,"t":"gossip","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"105","state":{"members":[{"node":1}]}}'
	push "$a" '{"v":2,"t":"removed","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"106","to":"1"}'
	push "$a" '[1,2,3]'
	# raw bytes straight onto the TCP port: random lengths, nanomsg's header,
	# an empty frame, a frame of no known kind
	local port=${a##*:}
	head -c 4096 /dev/urandom > "/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
	printf '\x00SP\x00\x00\x51\x00\x00\x00\x00\x00\x00\xff\xff' > "/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
	printf '\x00\x00\x00\x00' > "/dev/tcp/127.0.0.1/$port" 2>/dev/null || true
	"$AKC_BIN/t/frame-send" -r "$a" -D 'zzzz' 3>&- || true
	# a first frame over the limit before authentication (64 KiB): closed unread
	{ printf '{"v":2,"t":"gossip","pad":"'; head -c 100000 /dev/zero | tr '\0' 'x'; printf '"}'; } > "$AKC_DIR/pre"
	"$AKC_BIN/t/frame-send" "$a" -F "$AKC_DIR/pre" 3>&- || true
	# an oversized membership message after a good one (over 1 MiB; only relays may be larger)
	{ printf '{"v":2,"t":"gossip","pad":"'; head -c 1100000 /dev/zero | tr '\0' 'x'; printf '"}'; } > "$AKC_DIR/big"
	timeout 5 "$AKC_BIN/t/frame-send" "$a" -D '{"v":2,"t":"hello"}' -F "$AKC_DIR/big" 3>&- || true
	run status_json n1
	assert_success
	local j=$output
	[ "$(jq .dropped.malformed <<<"$j")" -gt 0 ]
	[ "$(jq .dropped.version <<<"$j")" -ge 2 ]
	grep -q 'refused a message of protocol version 1 from old (tcp://127.0.0.1:2): this node speaks version 2' \
	    "$AKC_DIR/n1.memberd.log"
	[ "$(grep -c 'protocol version 1 from' "$AKC_DIR/n1.memberd.log")" -eq 1 ]	# once, not per copy
	[ "$(jq .dropped.unknown <<<"$j")" -gt 0 ]
	[ "$(jq .dropped.stale <<<"$j")" -gt 0 ]
	[ "$(jq .dropped.oversized <<<"$j")" -gt 0 ]
	[ "$(jq .connections.oversized <<<"$j")" -ge 3 ]
	[ "$(jq .dropped.replayed <<<"$j")" -gt 0 ]	# push's repeats
	kill -0 "$(pid_of n1 memberd)"
	wait_until 10 all_up_everywhere 3 n1 n2 n3
}

@test "garbage on the control socket gets an error answer and changes nothing" {
	start_cluster 2
	wait_until 20 all_up_everywhere 2 n1 n2
	local ctl=ipc://$AKC_DIR/n1/memberd.ctl
	run timeout 5 nanocat --req --connect "$ctl" -D 'garbage' -A
	assert_output --partial "malformed request"
	run timeout 5 nanocat --req --connect "$ctl" -D '{"v":2,"cmd":"down"}' -A
	assert_output --partial "down needs a node"
	run timeout 5 nanocat --req --connect "$ctl" -D '{"v":2,"cmd":"leader-actions","state_seq":"1","actions":[{"uid":"1","status":"Removed"}]}' -A
	assert_output --partial '"ok":false'
	run timeout 5 nanocat --req --connect "$ctl" -D '{"v":7,"cmd":"members"}' -A
	assert_output --partial "protocol version mismatch"
	run timeout 5 nanocat --req --connect "$ctl" -D '{"v":2,"cmd":"self-destruct"}' -A
	assert_output --partial "unknown command"
	[ "$(status_json n1 | jq .dropped.control)" -ge 3 ]
	kill -0 "$(pid_of n1 memberd)"
	wait_until 10 all_up_everywhere 2 n1 n2
}

@test "a NUL or invalid UTF-8 in a control request is refused and counted, never cut short" {
	start_cluster 2
	wait_until 20 all_up_everywhere 2 n1 n2
	local ctl=ipc://$AKC_DIR/n1/memberd.ctl before
	before=$(status_json n1 | jq .dropped.control)
	# "n2\u0000x" was "n2" to memberd: this downed n2
	run timeout 5 nanocat --req --connect "$ctl" -D '{"v":2,"cmd":"down","node":"n2\u0000x"}' -A
	assert_output --partial "malformed request: 'node' contains a NUL character"
	printf '{"v":2,"cmd":"down","node":"n2\0x"}' > "$AKC_DIR/raw-nul"
	run timeout 5 nanocat --req --connect "$ctl" -F "$AKC_DIR/raw-nul" -A
	assert_output --partial "'node' contains a NUL character"
	printf '{"v":2,"cmd":"down","node":"n2\xed\xa0\x80"}' > "$AKC_DIR/surrogate"
	run timeout 5 nanocat --req --connect "$ctl" -F "$AKC_DIR/surrogate" -A
	assert_output --partial "'node' is not valid UTF-8"
	# the same from the tool: refused as a usage error, naming the field
	run akc-down -c "$(conf_of n1)" "$(printf 'n2\xff')"
	[ "$status" = 2 ]
	assert_output "akc-down: malformed request: 'node' is not valid UTF-8"
	[ "$(status_json n1 | jq .dropped.control)" = $((before + 4)) ]
	[ "$(member_status n1 n2)" = Up ]
	[ "$(member_status n2 n2)" = Up ]
}

@test "relays: from non-members, malformed, to unknown members or garbage bodies are dropped and counted" {
	witness_log
	start_cluster 2 "[singleton.w]=" "command=$AKC_BIN/t/witness"
	wait_until 20 all_up_everywhere 2 n1 n2
	start_singleton n1 w
	start_singleton n2 w
	wait_until 20 grep -q start "$WITNESS_LOG"
	local a uid1
	a=$(addr_of n1)
	uid1=$(members_json n1 | jq -r '.[] | select(.node == "n1") | .uid')
	# on the network: a relay from a stranger, and malformed ones
	push "$a" '{"v":2,"t":"relay","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"107","to":"'"$uid1"'","svc":"singleton.w","body":{"m":"hand-over-to-me"}}'
	push "$a" '{"v":2,"t":"relay","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"108","to":"'"$uid1"'","svc":"../../etc","body":{}}'
	push "$a" '{"v":2,"t":"relay","from":{"node":"x","address":"tcp://127.0.0.1:1","uid":"5"},"n":"109","to":"'"$uid1"'","svc":"singleton.w","body":"x"}'
	# locally, through n2's memberd: to nobody, garbage, and bodies n1's singletond cannot use
	local r2=ipc://$AKC_DIR/n2/memberd.relay
	push "$r2" '{"v":2,"relay":{"to":"12345","svc":"singleton.w","body":{}}}'
	push "$r2" 'garbage'
	push "$r2" '{"v":2,"publish":{"type":"MemberUp","name":"x","node":"y"}}'
	push "$r2" '{"v":2,"relay":{"to":"'"$uid1"'","svc":"singleton.w","body":{"m":"no-such"}}}'
	push "$r2" '{"v":2,"relay":{"to":"'"$uid1"'","svc":"singleton.w","body":{"m":"req","rid":"x"}}}'
	push "$r2" '{"v":2,"relay":{"to":"'"$uid1"'","svc":"singleton.w","body":{"m":"req","rid":"7","body":"%%%"}}}'
	run timeout 5 nanocat --req --connect "ipc://$AKC_DIR/n1/singleton.w.ctl" -D 'garbage' -A
	assert_output --partial "malformed request"
	local j
	j=$(status_json n1)
	[ "$(jq .dropped.not_member <<<"$j")" -gt 0 ]
	[ "$(jq .dropped.malformed <<<"$j")" -gt 0 ]
	j=$(status_json n2)
	[ "$(jq .traffic.relay_refused <<<"$j")" -gt 0 ]
	[ "$(jq .dropped.control <<<"$j")" -gt 0 ]
	[ "$(status_json n1 | jq '.singletons[0].dropped')" -gt 0 ]
	# nothing moved: the singleton still runs where it started, once
	[ "$(grep -c start "$WITNESS_LOG")" = 1 ]
	status_json n1 | jq -e '.singletons[0].state == "oldest" or .singletons[0].state == "younger"'
	kill -0 "$(pid_of n1 singletond)"
	kill -0 "$(pid_of n2 singletond)"
}
