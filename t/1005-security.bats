#!/usr/bin/env bats
# 1005: with [security] key-file, only nodes holding the key are admitted.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

dropped() {	# dropped NODE KIND
	status_json "$1" | jq ".dropped.$2"
}

@test "nodes sharing the key form a cluster; a node with the wrong key is never admitted" {
	head -c 32 /dev/urandom | base64 > "$AKC_DIR/cluster.key"
	head -c 32 /dev/urandom | base64 > "$AKC_DIR/other.key"
	chmod 600 "$AKC_DIR"/*.key
	start_cluster 3 "[security]=" "key-file=$AKC_DIR/cluster.key"
	wait_until 20 all_up_everywhere 3 n1 n2 n3
	grep -q "messages encrypted" "$AKC_DIR/n1.memberd.log"
	node_conf bad "seeds=$(addr_of n1), $(addr_of n2)" "[security]=" "key-file=$AKC_DIR/other.key"
	start_node bad
	wait_until 10 bash -c "[ \$(akc-status -c $(conf_of n1) --json | jq .dropped.unauthenticated) -gt 0 ]"
	sleep 1
	[ "$(members_json n1 | jq length)" = 3 ]
	[ "$(members_json n2 | jq length)" = 3 ]
	run bash -c "akc-status -c $(conf_of bad) --json | jq -r .phase"
	assert_output joining
	# and one without any key
	node_conf nokey "seeds=$(addr_of n1)"
	start_node nokey
	wait_until 10 bash -c "[ \$(akc-status -c $(conf_of n1) --json | jq .dropped.unauthenticated) -gt 1 ]"
	[ "$(members_json n1 | jq length)" = 3 ]
	run bash -c "akc-status -c $(conf_of nokey) --json | jq -r .phase"
	assert_output joining
	wait_until 10 all_up_everywhere 3 n1 n2 n3
}

@test "a key-file that is missing or too short is refused at start" {
	node_conf n1 "[security]=" "key-file=$AKC_DIR/missing.key"
	run memberd -c "$(conf_of n1)"
	assert_failure 1
	assert_output --partial "cannot open key-file '$AKC_DIR/missing.key'"
	echo short > "$AKC_DIR/short.key"
	sed -i "s|missing.key|short.key|" "$(conf_of n1)"
	run memberd -c "$(conf_of n1)"
	assert_failure 1
	assert_output --partial "too short"
}
