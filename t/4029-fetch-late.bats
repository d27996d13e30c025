#!/usr/bin/env bats
# 4029: a new master copies the best standby's log a piece at a time
# (fetch, batch). A fetch unanswered for a second is sent again, so a slow
# standby answers the same fetch twice: the second answer repeats what the
# first brought and must be dropped and counted, not taken for a broken log
# (which stopped the master: "a replicated event out of order").

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() {
	[ -z "${GDB_CONF:-}" ] || kill_by_conf "$GDB_CONF"
	akc_teardown
}

@test "a late second answer to a recovering master's fetch is dropped and counted; the master recovers, nothing lost" {
	command -v gdb > /dev/null || skip "needs gdb (to hold a standby's answer past the fetch's resend)"
	local i next slow line src="$BATS_TEST_DIRNAME/../src/master/repl.c" payload off
	for i in 1 2 3; do
		node_conf "n$i" roles=backend "[singleton.master]=" role=backend \
		    "command=exec $AKC_BIN/master" "standby-command=exec $AKC_BIN/master --standby" \
		    stop-timeout=5s "[master]=" port=0
	done
	AKC_SEEDS="$(addr_of n1), $(addr_of n2), $(addr_of n3)"
	for i in 1 2 3; do
		sed -i "s|^seed-nodes = .*|seed-nodes = $AKC_SEEDS|" "$(conf_of "n$i")"
	done
	for i in 1 2 3; do
		start_node "n$i"
	done
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	# the master after n1 is the next oldest; the other one's standby will
	# hold the longest log, and answers the new master's fetches under gdb,
	# which holds its first answer 3.5 s (the fetch is sent again after 1 s).
	# The journal link is off: through the relay every fetch sent reaches the
	# held standby (a link coming up during the hold is closed under it, with
	# what it carried, and the late answer then came in some runs, not all)
	next=$(members_json n1 | jq -r 'sort_by(.up_number) | .[1].node')
	slow=$([ "$next" = n2 ] && echo n3 || echo n2)
	line=$(grep -n 'm = rc_msg(JMSG_BATCH);' "$src" | cut -d: -f1)
	[ "$(grep -c 'm = rc_msg(JMSG_BATCH);' "$src")" = 1 ]
	cat > "$AKC_DIR/hold.gdb" <<-GDB
		set pagination off
		set confirm off
		handle SIGPIPE nostop noprint pass
		handle SIGTERM nostop noprint pass
		break repl.c:$line
		run
		shell sleep 3.5
		delete
		continue
	GDB
	GDB_CONF=$(conf_of "$slow")
	sed -i "s|^standby-command = .*|standby-command = exec gdb -q -batch -x $AKC_DIR/hold.gdb --args $AKC_BIN/master --standby|" \
	    "$GDB_CONF"
	for i in 1 2 3; do
		start_singleton "n$i" master
	done
	wait_until 30 master_answers n1
	[ "$(queue_field n1 quorum)" = 2 ]
	# the next master's standby stops: what follows is on n1 and the slow one alone
	stop_singleton "$next"
	# 8 jobs of 100 kB: two pieces of a fetch (512 KiB each at most)
	payload=$(head -c 100000 /dev/zero | tr '\0' x)
	for i in $(seq 8); do
		akc-submit -c "$(conf_of n1)" --id "big-$i" "$payload" >> "$AKC_DIR/acked"
	done
	[ "$(wc -l < "$AKC_DIR/acked")" = 8 ]
	off=$(log_from "$next")
	down_gone n1
	start_singleton "$next" master
	wait_until 60 master_answers "$next"
	logged "$next" "$off" "journal: copied the log of $slow"
	# before the fix: the master stopped on the late answer, and the next one recovered again
	run logged "$next" "$off" "out of order|stopping"
	[ "$status" = 1 ]
	# every acknowledged job is there, once
	[ "$(queue_field "$next" pending)" = 8 ]
	for i in $(seq 8); do
		akc-job -c "$(conf_of "$next")" "big-$i" | jq -e '.status == "pending"' > /dev/null
	done
	# the late answer came in every run alone, but in one of a loaded -j2 suite's
	# none came (no resent fetch reached the held standby): say so, do not fail
	if ! logged "$next" "$off" "journal: dropped an answer of .*$slow.* to a fetch: events from [0-9]+, which the log holds up to [0-9]+ \(a late answer\)"; then
		# for the post-mortem: what the two memberds dropped
		for i in "$next" "$slow"; do
			echo "# $i memberd dropped: $(status_json "$i" | jq -c .dropped)" >&3
		done
		skip "no late answer came in this run (no fetch sent again reached the held standby)"
	fi
	[ "$(queue_field "$next" journal_dropped)" -ge 1 ]
}
