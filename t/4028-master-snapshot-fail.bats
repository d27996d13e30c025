#!/usr/bin/env bats
# 4028: a master whose snapshot write fails (here: RLIMIT_FSIZE on its
# LevelDB log, as a full disk would) stops at once, saying why, and is
# started again by singletond; its next open drops the torn record at the
# log's end and nothing acknowledged is lost.
#
# A failed LevelDB write of the journal is final (journal.c, write_failed):
# every later write is refused. Before the fix, a failed snapshot only logged
# a warning: an idle master then ran on as the master, unable to write, and
# logged the refusal again at every turn until a submit came to fail.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

master_pid() {
	akc-status -c "$(conf_of n1)" --json | jq -r '.singletons[] | select(.name == "master") | .pid'
}
snapshot_failed() { grep -q "cannot write a snapshot" "$AKC_DIR/n1.singletond.log"; }

@test "a master whose snapshot write fails stops saying why; started again, it has every job" {
	# 100 events (an epoch's, 99 jobs of ~13 KB) fit under 1536 KiB; the
	# snapshot of their jobs, due at event 100, after the last, does not
	# (sh's ulimit -f counts 512-byte blocks)
	start_cluster 1 roles=backend "[singleton.master]=" role=backend \
	    "command=ulimit -f 3072 && trap '' XFSZ && exec $AKC_BIN/master" \
	    stop-timeout=5s "[master]=" snapshot-every=100
	set_replicas n1
	wait_until 30 all_up_everywhere 1 n1
	start_singleton n1 master
	wait_until 20 master_answers n1
	local pid p i
	pid=$(master_pid)
	[[ "$pid" =~ ^[0-9]+$ ]]
	p=$(head -c 10000 /dev/zero | tr '\0' x)
	for ((i = 0; i < 99; i++)); do echo "$i $p"; done |
	    akc-submit -c "$(conf_of n1)" --batch --id-prefix job- > "$AKC_DIR/ids" || true
	wait_until 20 snapshot_failed
	grep -n "cannot write a snapshot" "$AKC_DIR/n1.singletond.log" | cut -c1-200
	# no more submits: the master stops on its own, not at the next write
	wait_until 20 process_exited "$pid"
	[ "$(grep -c "cannot write a snapshot: .*: stopping (a failed write of the journal is final)" "$AKC_DIR/n1.singletond.log")" = 1 ]
	# started again (singletond's backoff), the torn record dropped: every acknowledged job there
	wait_until 40 master_answers n1
	[ "$(master_pid)" != "$pid" ]
	run akc-queue -c "$(conf_of n1)" --json
	echo "$output" | jq -c '{accepted, seq}'
	[ "$(wc -l < "$AKC_DIR/ids")" = 99 ]
	[ "$(echo "$output" | jq -r '.accepted')" = 99 ]
	! grep -n "refuses to start\|checksum mismatch" "$AKC_DIR/n1.singletond.log"
}
