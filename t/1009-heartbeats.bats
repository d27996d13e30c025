#!/usr/bin/env bats
# 1009: heartbeats and their answers travel as compact frames once a member
# answered one (issue 13; doc/PROTOCOL.md, "Compact heartbeats"), sealed or
# not, and the failure detector works on them as it did on JSON ones.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# hb_sent NODE: "MESSAGES BYTES" of the heartbeats and answers NODE sent so far
hb_sent() {
	status_json "$1" | jq -r '.traffic.by_type.heartbeat | "\(.sent_messages) \(.sent_bytes)"'
}

# hb_more NODE COUNT BASE: NODE sent COUNT more of them than BASE ("MESSAGES BYTES")
hb_more() {
	local now
	now=$(hb_sent "$1")
	[ "${now%% *}" -ge $(( ${3%% *} + $2 )) ]
}

# hb_frames_at_most NODE MAX: the 40 heartbeat frames NODE sends after the next
# 10 are MAX bytes or less on average (memberd counts a frame without TCP's
# 4-byte length). The 10 first: a member it began to watch just before gets
# JSON until it answered one (CI saw one such ~195-byte frame in the window
# right after all Up: 44 frames, 3,091 bytes under a key)
hb_frames_at_most() {
	local a b msgs bytes
	a=$(hb_sent "$1")
	wait_until 20 hb_more "$1" 10 "$a"
	a=$(hb_sent "$1")
	wait_until 20 hb_more "$1" 40 "$a"
	b=$(hb_sent "$1")
	msgs=$(( ${b%% *} - ${a%% *} ))
	bytes=$(( ${b#* } - ${a#* } ))
	echo "$1: $msgs heartbeat frames, $bytes bytes"
	[ $(( bytes / msgs )) -le "$2" ]
}

@test "plain frames: idle heartbeats are compact (25 bytes or less), and a kill is detected" {
	start_cluster 3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	# a JSON heartbeat is ~150 bytes: this fails unless nearly all are compact
	hb_frames_at_most n1 25
	hb_frames_at_most n2 25
	local n
	for n in n1 n2 n3; do
		[ "$(status_json "$n" | jq '.dropped | .malformed + .unknown + .stale + .replayed')" = 0 ]
	done
	watch_events n1 n2
	kill_node n3
	wait_until 6 everywhere is_unreachable n3 n1 n2
	saw n1 UnreachableMember n3
	[ "$(status_json n1 | jq '.dropped.malformed + .dropped.unknown')" = 0 ]
}

@test "sealed frames: compact heartbeats (69 bytes or less); a paused member goes unreachable and comes back" {
	akc-keys generate > "$AKC_DIR/cluster.key"
	start_cluster 3 "[security]=" "key-file=$AKC_DIR/cluster.key"
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	hb_frames_at_most n1 69
	hb_frames_at_most n3 69
	# unanswered: the watchers fall back to JSON heartbeats, then compact again
	kill -STOP "$(pid_of n3 memberd)"
	wait_until 6 everywhere is_unreachable n3 n1 n2
	kill -CONT "$(pid_of n3 memberd)"
	wait_until 10 all_up_everywhere 3 n1 n2 n3
	hb_frames_at_most n1 69
	hb_frames_at_most n2 69
	[ "$(status_json n1 | jq '.dropped | .malformed + .unknown + .unauthenticated')" = 0 ]
}
