#!/usr/bin/env bats
# 1012: the idle round's digest travels compact between members that
# announced it ("cv"), and in plain frames the connections are bound, so
# heartbeats, answers and digests leave out both uids (issue 13; doc/PROTOCOL.md,
# "Compact digests and bound connections"); sealed frames keep the long forms.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

# compact_of NODE FIELD: NODE's akc-status --json .compact.FIELD
compact_of() { status_json "$1" | jq -r ".compact.$2"; }

# grew NODE FIELD BASE MORE: compact.FIELD of NODE is at least BASE + MORE
grew() { [ "$(compact_of "$1" "$2")" -ge $(( $3 + $4 )) ]; }

# knows_all NODE N: NODE knows that the N-1 others read the compact forms
knows_all() { [ "$(compact_of "$1" peers)" -ge $(( $2 - 1 )) ]; }

# frames_at_most NODE KIND MAX: the next 40 frames of traffic KIND (heartbeat,
# gossip) NODE sends are MAX bytes or less on average, frame header included
frames_at_most() {
	local a b m0 b0 m1 b1
	a=$(status_json "$1" | jq -r ".traffic.by_type.$2 | \"\(.sent_messages) \(.sent_bytes)\"")
	m0=${a% *} b0=${a#* }
	wait_until 20 bash -c "[ \$(akc-status -c $(conf_of "$1") --json |
	    jq .traffic.by_type.$2.sent_messages) -ge $((m0 + 40)) ]"
	b=$(status_json "$1" | jq -r ".traffic.by_type.$2 | \"\(.sent_messages) \(.sent_bytes)\"")
	m1=${b% *} b1=${b#* }
	echo "$1: $((m1 - m0)) $2 frames, $((b1 - b0)) bytes"
	[ $(( (b1 - b0) / (m1 - m0) )) -le "$3" ]
}

no_drops() {	# no_drops NODE...: nothing malformed, unknown or unauthenticated
	local n
	for n in "$@"; do
		[ "$(status_json "$n" | jq '.dropped | .malformed + .unknown + .unauthenticated')" = 0 ]
	done
}

@test "plain frames: compact digests and short forms on bound connections; a restarted node is bound anew" {
	start_cluster 4
	wait_until 20 all_up_everywhere 4 n1 n2 n3 n4
	local n base
	for n in n1 n2 n3 n4; do
		wait_until 20 knows_all "$n" 4
	done
	for n in n1 n2 n3 n4; do
		base=$(compact_of "$n" digests_received)
		wait_until 10 grew "$n" digests_received "$base" 10
		base=$(compact_of "$n" short_received)
		wait_until 10 grew "$n" short_received "$base" 40
		[ "$(compact_of "$n" binds_received)" -gt 0 ]
	done
	# a short heartbeat is 8 bytes in a plain frame (a long one 23-25, JSON ~150)
	frames_at_most n1 heartbeat 10
	frames_at_most n3 heartbeat 10
	# every digest of an idle round is compact: 26 bytes short, 45 long, ~200 in JSON
	frames_at_most n2 gossip 45
	no_drops n1 n2 n3 n4
	[ "$(status_json n1 | jq .dropped.stale)" = 0 ]

	# a new incarnation at n4's address: the others' connections to it are bound to its new uid
	kill_node n4
	wait_until 6 everywhere is_unreachable n4 n1 n2 n3
	start_node n4
	wait_until 30 all_up_everywhere 4 n1 n2 n3 n4
	wait_until 20 knows_all n4 4
	base=$(compact_of n4 short_received)
	wait_until 10 grew n4 short_received "$base" 40
	frames_at_most n4 heartbeat 10
	no_drops n1 n2 n3 n4
}

@test "sealed frames: compact digests in their long form, no bound connections" {
	akc-keys generate > "$AKC_DIR/cluster.key"
	start_cluster 3 "[security]=" "key-file=$AKC_DIR/cluster.key"
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	local n base
	for n in n1 n2 n3; do
		wait_until 20 knows_all "$n" 3
		base=$(compact_of "$n" digests_received)
		wait_until 10 grew "$n" digests_received "$base" 10
	done
	# sealed: 49 bytes of header and seal, 34-36 of digest (~245 in JSON)
	frames_at_most n1 gossip 95
	for n in n1 n2 n3; do
		[ "$(compact_of "$n" short_sent)" = 0 ]
		[ "$(compact_of "$n" binds_sent)" = 0 ]
	done
	no_drops n1 n2 n3
}
