#!/usr/bin/env bats
# bench/lease-load.bats (not part of the suite; bats bench/lease-load.bats): a 3-node cluster with the defaults (lease 1 s) and
# the witness, under CPU hogs (LOAD_HOGS) and optionally memberd stalls of
# the oldest (LOAD_MSTALL ms every 2 s), for LOAD_SECS; counts the witness's
# starts and the keeper's lease kills. AKC_BIN picks the build.
load ../t/lib/akc
AKC_GOSSIP=1s
AKC_HB=1s
AKC_PAUSE=3s
setup() { akc_setup; export WITNESS_LOG="$AKC_DIR/witness.log"; : > "$WITNESS_LOG"; HOGS=; MST=; }
teardown() {
	local p
	for p in $HOGS; do kill "$p" 2>/dev/null || true; done
	[ -n "$MST" ] && kill -CONT "$MST" 2>/dev/null || true
	akc_teardown
}
@test "load" {
	local i old mpid t_end starts kills lapses
	cluster_conf 3 roles=backend "[downing]=" strategy=keep-majority \
	    "[singleton.w]=" role=backend "command=$AKC_BIN/t/witness"
	for i in 1 2 3; do start_node "n$i"; done
	for i in 1 2 3; do start_singleton "n$i" w; done
	wait_until 60 all_up_everywhere 3 n1 n2 n3
	old=$(oldest_with n1 backend)
	wait_until 20 runs_on "$old"
	wait_until 10 grep -q "singleton w: its lease is [0-9]*ms" "$AKC_DIR/$old.singletond.log"
	echo "# $(grep -o "its lease is [0-9]*ms" "$AKC_DIR/$old.singletond.log" | tail -1)" >&3
	for ((i = 0; i < ${LOAD_HOGS:-0}; i++)); do
		sh -c 'while :; do :; done' & HOGS="$HOGS $!"
	done
	mpid=$(pid_of "$old" memberd)
	t_end=$(( $(date +%s) + ${LOAD_SECS:-60} ))
	while (( $(date +%s) < t_end )); do
		if [ "${LOAD_MSTALL:-0}" -gt 0 ]; then
			kill -STOP "$mpid"; MST=$mpid
			sleep "$(( LOAD_MSTALL / 1000 )).$(printf %03d $(( LOAD_MSTALL % 1000 )))"
			kill -CONT "$mpid"; MST=
			sleep "$(( (2000 - LOAD_MSTALL) / 1000 )).$(printf %03d $(( (2000 - LOAD_MSTALL) % 1000 )))"
		else
			sleep 1
		fi
	done
	for p in $HOGS; do kill "$p" 2>/dev/null || true; done; HOGS=
	sleep 2
	starts=$(grep -c " start " "$WITNESS_LOG")
	lapses=$(cat "$AKC_DIR"/*.singletond.log | grep -c "lease (" || true)
	kills=$(cat "$AKC_DIR"/*.singletond.log | grep -c "killed by signal 9" || true)
	echo "# build=$AKC_BIN hogs=${LOAD_HOGS:-0} mstall=${LOAD_MSTALL:-0}ms secs=${LOAD_SECS:-60}: witness starts=$starts lease-lapse-warnings=$lapses killed-by-9=$kills" >&3
	cat "$AKC_DIR"/*.singletond.log | grep -E "lease \(|killed by signal|lost memberd" | head -5 | sed 's/^/# /' >&3
}
