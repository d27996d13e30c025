#!/usr/bin/env bats
# 1021: a member answers on the connection its peer opened when that peer
# says it reads it back (the "rb" hello, or the 0xb4 mark after a bind
# frame): a pair that talks both ways holds one connection, not two (issue
# 13; doc/PROTOCOL.md, "Answers on the opener's connection"). A peer that
# does not say so (a node of an earlier build: AKC_TEST_ONE_WAY=1) keeps
# the one-way connections it always had.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

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

@test "plain frames: one connection carries a pair's traffic both ways, short forms included; a restarted peer is taken anew" {
	pair
	local base
	base=$(status_json n2 | jq .compact.short_received)
	# n1's heartbeats and answers reach n2 in their short forms on n2's own connection
	wait_until 20 short_grew n2 "$base" 40
	still_reachable 2 n1 n2
	still_reachable 1 n2 n1
	echo "n1: $(status_json n1 | jq -c .connections)"
	echo "n2: $(status_json n2 | jq -c .connections)"
	# n1 never opened a connection: it wrote on n2's (without: one of its own)
	[ "$(conn n1 connects)" = 0 ]
	[ "$(conn n1 outbound)" = 0 ]
	[ "$(conn n1 borrowed)" -ge 1 ]
	[ "$(conn n1 read_back)" -ge 1 ]
	[ "$(conn n2 connects)" = 1 ]
	[ "$(conn n2 inbound)" = 0 ]
	no_drops n1 n2

	# a new incarnation of n2: its connection went with it, the new one is written on
	kill_node n2
	wait_until 10 is_unreachable n1 n2
	base=$(conn n1 borrowed)
	start_node n2
	wait_until 30 all_up_everywhere 2 n1 n2
	wait_until 10 bash -c "[ \$(akc-status -c $(conf_of n1) --json | jq .connections.borrowed) -gt $base ]"
	base=$(status_json n2 | jq .compact.short_received)
	wait_until 20 short_grew n2 "$base" 40
	still_reachable 2 n1 n2
	[ "$(conn n2 inbound)" = 0 ]
}

@test "sealed frames: the rb hello, the same one connection" {
	akc-keys generate > "$AKC_DIR/cluster.key"
	pair "[security]=" "key-file=$AKC_DIR/cluster.key"
	still_reachable 3 n1 n2
	still_reachable 1 n2 n1
	echo "n1: $(status_json n1 | jq -c .connections)"
	echo "n2: $(status_json n2 | jq -c .connections)"
	[ "$(conn n1 connects)" = 0 ]
	[ "$(conn n1 borrowed)" -ge 1 ]
	[ "$(conn n2 connects)" = 1 ]
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
