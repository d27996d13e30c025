#!/usr/bin/env bats
# 4026: the journal's write-ahead file (src/master/wal.c, doc/ARCHITECTURE.md
# "The journal's write-ahead file"): a commit is durable once its record is
# in akc.wal; LevelDB's copy is written unsynced. A master killed -9 whose
# LevelDB then lost those unsynced writes (its log cut back to where it was
# before the submits: what a power loss may do) gets every acknowledged job
# back from the file when it starts again. One node, no standby: its own
# journal is the only copy.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() {
	[ -n "${SD:-}" ] && kill -CONT "$SD" 2>/dev/null
	akc_teardown
}

@test "LevelDB's unsynced writes lost after the master's kill -9: every acknowledged job comes back from the write-ahead file" {
	work_cluster 1
	local db="$AKC_DIR/n1.state/master" log size i m
	[ "$(stat -c %s "$db/akc.wal")" = 1048576 ]
	log=$(ls "$db"/*.log | sort | tail -1)
	size=$(stat -c %s "$log")
	for i in 1 2 3 4 5; do
		akc-submit -c "$(conf_of n1)" --id "j$i" "payload $i" >/dev/null
	done
	[ "$(queue_field n1 pending)" = 5 ]
	# LevelDB's log has them (unsynced); the write-ahead file did not grow
	[ "$(stat -c %s "$log")" -gt "$size" ]
	[ "$(stat -c %s "$db/akc.wal")" = 1048576 ]
	# singletond held still so that it restarts nothing meanwhile; the master killed
	SD=$(pid_of n1 singletond)
	m=$(standby_pid n1 | head -1)	# on the oldest: the master itself
	[ -n "$m" ]
	kill -STOP "$SD"
	kill -9 "$m"
	wait_until 10 eval "! kill -0 $m 2>/dev/null"
	truncate -s "$size" "$log"
	kill -CONT "$SD"
	SD=""
	wait_until 30 grep -q "killed by signal 9: restarting" "$AKC_DIR/n1.singletond.log"
	wait_until 30 master_answers n1
	[ "$(queue_field n1 pending)" = 5 ]
	grep -q "records of the write-ahead file replayed" "$AKC_DIR/n1.singletond.log"
	start_worker n1 >/dev/null
	wait_until 60 finished n1 5
	[ "$(akc-results -c "$(conf_of n1)" | jq -r .id | sort | tr '\n' ' ')" = "j1 j2 j3 j4 j5 " ]
}
