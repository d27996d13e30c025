#!/usr/bin/env bats
# 1007: cluster identity, encryption, key rotation and replays on a real network.

load lib/akc

setup() { akc_setup; }
teardown() {
	[ -n "${TCPDUMP_PID:-}" ] && kill "$TCPDUMP_PID" 2>/dev/null
	[ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null
	akc_teardown
}

port_of() { local a; a=$(addr_of "$1"); echo "${a##*:}"; }
in_clear() { grep -a -c -E '"from":\{"node"|tcp://127\.0\.0\.1|"members"' "$1" || true; }
keys_in_file() { grep -v '^#' "$1" | grep -c .; }

@test "two clusters with different names never merge: the join is refused, both sides log it, akc-join exits 1" {
	start_cluster 2 "[cluster]=" "name=blue"
	wait_until 20 all_up_everywhere 2 n1 n2
	node_conf r1 seeds=none "[cluster]=" "name=red"
	start_node r1
	run akc-join -c "$(conf_of r1)" "$(addr_of n1)"
	assert_failure 1
	assert_output --partial 'join refused: cluster "red" is not "blue"'
	grep -q 'join refused: r1 .* asked to join, but cluster "red" is not "blue"' "$AKC_DIR/n1.memberd.log"
	grep -q 'join refused by n1 .*: cluster "red" is not "blue"' "$AKC_DIR/r1.memberd.log"
	# logged once, however often it asks
	[ "$(grep -c 'join refused: r1' "$AKC_DIR/n1.memberd.log")" = 1 ]
	# a red node whose seeds are blue's: refused the same way, never admitted
	node_conf r2 "seeds=$(addr_of n1), $(addr_of n2)" "[cluster]=" "name=red"
	start_node r2
	wait_until 10 bash -c "akc-status -c $(conf_of r2) --json | jq -r .join_refused | grep -q 'is not \"blue\"'"
	[ "$(status_json n1 | jq .dropped.cluster)" -gt 0 ]
	[ "$(status_json n1 | jq -r .cluster)" = blue ]
	[ "$(members_json n1 | jq length)" = 2 ]
	[ "$(members_json n2 | jq length)" = 2 ]
	[ "$(status_json r2 | jq -r .phase)" = joining ]
	# a bad name is a configuration error
	node_conf bad "[cluster]=" "name=no spaces"
	run memberd -c "$(conf_of bad)"
	assert_failure 1
	assert_output --partial "bad value 'no spaces' for 'name'"
}

@test "a keyed cluster's traffic shows no member, address or state in clear; without a key it does" {
	command -v tcpdump >/dev/null || skip "tcpdump is not installed"
	# without a key: the capture is readable (the check below can see it)
	node_conf p1
	node_conf p2 "seeds=$(addr_of p1)"
	sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of p1)|" "$(conf_of p1)"
	capture_start "$AKC_DIR/plain.pcap" "$(port_of p1)" "$(port_of p2)"
	start_node p1
	start_node p2
	wait_until 20 all_up_everywhere 2 p1 p2
	capture_stop
	[ "$(in_clear "$AKC_DIR/plain.pcap")" -gt 0 ]
	kill_node p1
	kill_node p2
	# with a key
	akc-keys generate > "$AKC_DIR/cluster.key"
	chmod 600 "$AKC_DIR/cluster.key"
	node_conf n1 "[security]=" "key-file=$AKC_DIR/cluster.key"
	node_conf n2 "seeds=$(addr_of n1)" "[security]=" "key-file=$AKC_DIR/cluster.key"
	sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of n1)|" "$(conf_of n1)"
	capture_start "$AKC_DIR/sealed.pcap" "$(port_of n1)" "$(port_of n2)"
	start_node n1
	start_node n2
	wait_until 20 all_up_everywhere 2 n1 n2
	akc-down -c "$(conf_of n1)" n2
	wait_until 20 bash -c "[ \$(akc-members -c $(conf_of n1) --json | jq length) = 1 ]"
	capture_stop
	[ "$(stat -c %s "$AKC_DIR/sealed.pcap")" -gt 2000 ]
	[ "$(in_clear "$AKC_DIR/sealed.pcap")" = 0 ]
	! grep -a -q '"n2"' "$AKC_DIR/sealed.pcap"
}

@test "a node with the wrong key is never admitted, and both sides say so" {
	akc-keys generate > "$AKC_DIR/cluster.key"
	akc-keys generate > "$AKC_DIR/other.key"
	start_cluster 2 "[security]=" "key-file=$AKC_DIR/cluster.key"
	wait_until 20 all_up_everywhere 2 n1 n2
	node_conf bad "seeds=$(addr_of n1), $(addr_of n2)" "[security]=" "key-file=$AKC_DIR/other.key"
	start_node bad
	wait_until 10 grep -q "failed authentication: wrong key?" "$AKC_DIR/n1.memberd.log"
	# the joining side: no answer, and it says what may be wrong
	wait_until 20 grep -q "may use another key-file or \[cluster\] name" "$AKC_DIR/bad.memberd.log"
	[ "$(members_json n1 | jq length)" = 2 ]
	[ "$(status_json bad | jq -r .phase)" = joining ]
}

@test "a full key rotation on a running cluster: install, use, remove; all stay Up; a node with only the new key joins" {
	akc-keys generate > "$AKC_DIR/cluster.key"
	local k1 k2
	k1=$(cat "$AKC_DIR/cluster.key")
	# one key-file each, as on separate hosts
	local i
	for i in 1 2 3; do
		cp "$AKC_DIR/cluster.key" "$AKC_DIR/n$i.key"
		node_conf "n$i" "[security]=" "key-file=$AKC_DIR/n$i.key"
	done
	for i in 1 2 3; do
		sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of n1), $(addr_of n2)|" "$(conf_of n$i)"
	done
	start_node n1; start_node n2; start_node n3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	k2=$(akc-keys generate)
	[ "${#k2}" = 44 ]
	run akc-keys -c "$(conf_of n2)" install "$k2"
	assert_success
	[ "$(grep -c ': ok$' <<<"$output")" = 3 ]
	run akc-keys -c "$(conf_of n1)" list
	assert_success
	assert_line "$k1  3/3 members, primary"
	assert_line "$k2  3/3 members"
	run akc-keys -c "$(conf_of n1)" use "$k2"
	assert_success
	# the old primary cannot go while the cluster uses it... the new one cannot go at all
	run akc-keys -c "$(conf_of n3)" remove "$k2"
	assert_failure 1
	assert_output --partial "key is the primary key"
	run akc-keys -c "$(conf_of n3)" remove "$k1"
	assert_success
	[ "$(grep -c ': ok$' <<<"$output")" = 3 ]
	for i in 1 2 3; do
		[ "$(keys_in_file "$AKC_DIR/n$i.key")" = 1 ]
		grep -qx "$k2" "$AKC_DIR/n$i.key"
		[ "$(stat -c %a "$AKC_DIR/n$i.key")" = 600 ]
	done
	run akc-keys -c "$(conf_of n2)" list --json
	assert_success
	[ "$(jq '[.results[] | select(.keys == ["'"$k2"'"])] | length' <<<"$output")" = 3 ]
	wait_until 10 all_up_everywhere 3 n1 n2 n3
	for i in 1 2 3; do
		[ "$(members_json n$i | jq '[.[] | select(.reachable == false)] | length')" = 0 ]
	done
	# a node started now with the new key alone
	echo "$k2" > "$AKC_DIR/n4.key"
	node_conf n4 "seeds=$(addr_of n1), $(addr_of n2)" "[security]=" "key-file=$AKC_DIR/n4.key"
	start_node n4
	wait_until 20 all_up_everywhere 4 n1 n2 n3 n4
	# and one with the old key alone is not admitted any more
	echo "$k1" > "$AKC_DIR/n5.key"
	node_conf n5 "seeds=$(addr_of n1), $(addr_of n2)" "[security]=" "key-file=$AKC_DIR/n5.key"
	start_node n5
	wait_until 10 grep -q "failed authentication: wrong key?" "$AKC_DIR/n1.memberd.log"
	[ "$(members_json n1 | jq length)" = 4 ]
}

@test "akc-keys refuses bad keys and clusters without a key-file; SIGHUP re-reads the key-file" {
	run akc-keys generate extra
	assert_failure 2
	start_cluster 1
	wait_until 20 all_up_everywhere 1 n1
	run akc-keys -c "$(conf_of n1)" install "$(akc-keys generate)"
	assert_failure 1
	assert_output --partial "without a [security] key-file"
	run akc-keys -c "$(conf_of n1)" install not-a-key
	assert_failure 2
	assert_output --partial "KEY is not a key"
	kill_node n1
	akc-keys generate > "$AKC_DIR/n1.key"
	chmod 600 "$AKC_DIR/n1.key"
	AKC_SEEDS='' node_conf k1 "[security]=" "key-file=$AKC_DIR/n1.key"
	start_node k1
	wait_until 20 all_up_everywhere 1 k1
	run akc-keys -c "$(conf_of k1)" remove "$(akc-keys generate)"
	assert_failure 1
	assert_output --partial "k1: failed: key is not installed"
	akc-keys generate >> "$AKC_DIR/n1.key"
	kill -HUP "$(pid_of k1 memberd)"
	wait_until 10 grep -q "key-file re-read: 2 keys" "$AKC_DIR/k1.memberd.log"
	run akc-keys -c "$(conf_of k1)" list
	assert_success
	[ "${#lines[@]}" = 2 ]
	# a broken file on SIGHUP keeps the keys in use
	echo short > "$AKC_DIR/n1.key"
	kill -HUP "$(pid_of k1 memberd)"
	wait_until 10 grep -q "SIGHUP: keeping the 2 keys in use" "$AKC_DIR/k1.memberd.log"
}

@test "a killed node's captured frames replayed to the others do not keep it reachable" {
	command -v tcpdump >/dev/null || skip "tcpdump is not installed"
	akc-keys generate > "$AKC_DIR/cluster.key"
	local i
	for i in 1 2 3; do
		node_conf "n$i" "[security]=" "key-file=$AKC_DIR/cluster.key"
	done
	for i in 1 2 3; do
		sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of n1), $(addr_of n2)|" "$(conf_of n$i)"
	done
	# from the start, so that every connection to n1 is captured whole
	capture_start "$AKC_DIR/c.pcap" "$(port_of n1)"
	start_node n1; start_node n2; start_node n3
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	sleep 2	# and then some heartbeats and gossip
	capture_stop
	mkdir "$AKC_DIR/frames"
	local frames
	frames=$("$AKC_BIN/t/pcap-frames" "$AKC_DIR/c.pcap" "$(port_of n1)" "$AKC_DIR/frames")
	[ "$frames" -gt 5 ]
	kill_node n3
	# every captured stream, again and again, to n1
	local port
	port=$(port_of n1)
	(
		while :; do
			for f in "$AKC_DIR"/frames/stream-*; do
				cat "$f" > "/dev/tcp/127.0.0.1/$port" 2>/dev/null
			done
			sleep 0.1
		done
	) 3>&- &
	REPLAY_PID=$!
	wait_until 20 is_unreachable n1 n3
	[ "$(status_json n1 | jq .dropped.replayed)" -gt 0 ]
	kill "$REPLAY_PID"
	REPLAY_PID=
	[ "$(members_json n1 | jq -r '.[] | select(.node == "n2") | .status')" = Up ]
}
