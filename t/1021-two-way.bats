#!/usr/bin/env bats
# 1021: a member answers on the connection its peer opened when that peer
# says it reads it back (the "rb" hello, or the 0xb4 mark after a bind
# frame): a pair that talks both ways holds one connection, not two (issue
# 13; doc/PROTOCOL.md, "Answers on the opener's connection"). A peer that
# does not say so (a node of an earlier build: AKC_TEST_ONE_WAY=1) keeps
# the one-way connections it always had.

load lib/akc

setup() { akc_setup; }
teardown() {
	[ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null
	REPLAY_PID=
	akc_teardown
}

port_of() { local a; a=$(addr_of "$1"); echo "${a##*:}"; }

# conn NODE FIELD: NODE's akc-status --json .connections.FIELD
conn() { status_json "$1" | jq -r ".connections.$2"; }

# short_grew NODE BASE MORE: NODE read at least MORE short forms since BASE
short_grew() { [ "$(status_json "$1" | jq .compact.short_received)" -ge $(( $2 + $3 )) ]; }

# still_reachable SECS NODE OTHER: OTHER stays reachable on NODE for SECS seconds
still_reachable() {
	local end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		! is_unreachable "$2" "$3" || return 1
		sleep 0.2
	done
}

# one_connection A B: the pair holds one connection between them, the other's
# written on by whichever of them did not open it
one_connection() {
	[ $(( $(conn "$1" outbound) + $(conn "$2" outbound) )) = 1 ] &&
	[ $(( $(conn "$1" inbound) + $(conn "$2" inbound) )) = 1 ] &&
	[ $(( $(conn "$1" borrowed) + $(conn "$2" borrowed) )) -ge 1 ]
}

no_drops() {	# no_drops NODE...: nothing malformed, unknown, stale or unauthenticated
	local n
	for n in "$@"; do
		[ "$(status_json "$n" | jq '.dropped | .malformed + .unknown + .stale + .unauthenticated')" = 0 ]
	done
}

# pair [VAR=VALUE] [conf args...]: two nodes, n2 joining n1 (its only seed)
# once n1 has formed alone, so that n2 opens first; VAR=VALUE in n2's environment
pair() {
	local env=
	[[ "${1:-}" == *=* && "${1:-}" != *"["* && "${1:-}" == [A-Z]* ]] && { env=$1; shift; }
	node_conf n1 "$@"
	start_node n1
	wait_until 20 all_up n1 1
	node_conf n2 "seeds=$(addr_of n1)" "$@"
	if [ -n "$env" ]; then
		(export "${env?}"; start_node n2)
	else
		start_node n2
	fi
	wait_until 20 all_up_everywhere 2 n1 n2
}

# one_connection_only: n1 and n2 come to hold one connection between them,
# the one n2 opened (n1 opened at most one, given up since)
one_connection_only() {
	wait_until 10 one_connection n1 n2
	echo "n1: $(status_json n1 | jq -c .connections)"
	echo "n2: $(status_json n2 | jq -c .connections)"
	[ "$(conn n1 connects)" -le 1 ]
	[ "$(conn n2 connects)" = 1 ]
}

@test "plain frames: one connection carries a pair's traffic both ways, short forms included; a restarted peer is taken anew" {
	pair
	local base
	base=$(status_json n2 | jq .compact.short_received)
	# n1's heartbeats and answers reach n2 in their short forms on n2's own connection
	wait_until 20 short_grew n2 "$base" 40
	still_reachable 2 n1 n2
	still_reachable 1 n2 n1
	# one connection carries both ways (without: one each way). n1 answers
	# the join on n2's connection (those answers only: nothing bound to n1
	# has proved it yet), and writes on it once proved; had n1 opened one
	# of its own meanwhile (an answer sent later, from a timer), the higher
	# address of the two gives its own up once each proved the other's
	one_connection_only
	[ "$(conn n1 read_back)" -ge 1 ]
	no_drops n1 n2

	# a new incarnation of n2: its connection went with it, the new one is written on
	kill_node n2
	wait_until 10 is_unreachable n1 n2
	start_node n2
	wait_until 30 all_up_everywhere 2 n1 n2
	base=$(status_json n2 | jq .compact.short_received)
	wait_until 20 short_grew n2 "$base" 40
	still_reachable 2 n1 n2
	wait_until 10 one_connection n1 n2
}

@test "sealed frames: the rb hello, the same one connection" {
	akc-keys generate > "$AKC_DIR/cluster.key"
	pair "[security]=" "key-file=$AKC_DIR/cluster.key"
	still_reachable 3 n1 n2
	still_reachable 1 n2 n1
	one_connection_only
	no_drops n1 n2
}

@test "a peer that does not read back (an earlier build) gets its answers on a connection of their own" {
	pair AKC_TEST_ONE_WAY=1
	local base
	base=$(status_json n2 | jq .compact.short_received)
	wait_until 20 short_grew n2 "$base" 40
	still_reachable 2 n1 n2
	still_reachable 1 n2 n1
	echo "n1: $(status_json n1 | jq -c .connections)"
	echo "n2: $(status_json n2 | jq -c .connections)"
	[ "$(conn n1 connects)" -ge 1 ]
	[ "$(conn n1 borrowed)" = 0 ]
	[ "$(conn n1 read_back)" = 0 ]
	[ "$(conn n2 borrowed)" = 0 ]
	no_drops n1
	# what an earlier build makes of the mark after n1's bind frames: unknown, nothing more
	[ "$(status_json n2 | jq .dropped.unknown)" -ge 1 ]
	[ "$(status_json n2 | jq '.dropped | .malformed + .stale + .unauthenticated')" = 0 ]
}

# A hello names no receiver, so one captured on its way to a member passes
# the counter's window at another (or at a later incarnation of the same
# one); with "rb" it must not make that member write what it sends to the
# hello's address on the replayer's connection (here: the answers to a
# joiner at that address, which then never joined while the replayer held
# its connection open, and read them).
@test "sealed frames: a replayed rb hello takes nothing meant for its address" {
	command -v tcpdump >/dev/null || skip "tcpdump is not installed"
	akc-keys generate > "$AKC_DIR/cluster.key"
	chmod 600 "$AKC_DIR/cluster.key"
	node_conf n1 "[security]=" "key-file=$AKC_DIR/cluster.key"
	node_conf n2 "seeds=$(addr_of n1)" "[security]=" "key-file=$AKC_DIR/cluster.key"
	node_conf n3 "[security]=" "key-file=$AKC_DIR/cluster.key"
	capture_start "$AKC_DIR/c.pcap" "$(port_of n1)"
	start_node n1
	wait_until 20 all_up n1 1
	start_node n2
	wait_until 20 all_up_everywhere 2 n1 n2
	capture_stop
	kill_node n1
	kill_node n2
	mkdir "$AKC_DIR/frames"
	"$AKC_BIN/t/pcap-frames" "$AKC_DIR/c.pcap" "$(port_of n1)" "$AKC_DIR/frames"
	# n2's first frame to n1: its hello, sealed, with "rb"
	local len
	len=$(head -c 4 "$AKC_DIR/frames/stream-0" | od -An -tu1 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
	head -c $(( 4 + len )) "$AKC_DIR/frames/stream-0" > "$AKC_DIR/hello"

	start_node n3
	wait_until 20 all_up n3 1
	# replayed to n3 (which never saw it) on a connection held open and read
	timeout 120 bash -c "exec 5<>/dev/tcp/127.0.0.1/$(port_of n3); cat '$AKC_DIR/hello' >&5; exec cat <&5" \
	    > "$AKC_DIR/got" 3>&- &
	REPLAY_PID=$!
	# it passed every check: n3 took its word that its opener reads back
	wait_until 10 bash -c "[ \$(akc-status -c $(conf_of n3) --json | jq .connections.read_back) -ge 1 ]"
	[ "$(status_json n3 | jq '.dropped | .replayed + .malformed + .unauthenticated')" = 0 ]
	# a new incarnation at the hello's address joins n3
	sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of n3)|" "$(conf_of n2)"
	start_node n2
	wait_until 20 all_up_everywhere 2 n3 n2
	still_reachable 2 n3 n2
	echo "n3: $(status_json n3 | jq -c .connections)"
	# nothing went to the replayer
	[ "$(stat -c %s "$AKC_DIR/got")" = 0 ]
	kill "$REPLAY_PID"
	REPLAY_PID=
}
