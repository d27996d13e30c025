#!/usr/bin/env bats
# 4019: the master sends its batch to the standbys before it syncs it, so
# that their syncs overlap its own (doc/PROTOCOL.md, "Journal replication").
# A master killed between the two leaves events only the standbys hold:
# none was acknowledged, and the master that recovers takes them from the
# standbys' log. AKC_TEST_CRASH_BEFORE_SYNC names a file: while it exists,
# the master's next commit sends, removes the file, waits 0.3 s and kills
# itself (SIGKILL) before its own sync.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "a master killed after sending its batch, before syncing it: the events come back from the standbys, each job once" {
	export AKC_TEST_CRASH_BEFORE_SYNC="$AKC_DIR/crash"
	work_cluster 3
	local i
	for i in 1 2 3; do
		akc-submit -c "$(conf_of n2)" --id "before-$i" "payload $i" >/dev/null
	done
	wait_until 20 standby_caught_up n1 n2
	wait_until 20 standby_caught_up n1 n3
	touch "$AKC_DIR/crash"
	# its answer may never come: the master dies before it commits the job
	timeout 3 akc-submit -c "$(conf_of n2)" --id lost-1 "the lost one" >/dev/null 2>&1 || true
	wait_until 20 grep -q "killed after sending events" "$AKC_DIR/n1.singletond.log"
	[ ! -e "$AKC_DIR/crash" ]
	# singletond starts it again; its recovery copies the standbys' longer log
	wait_until 30 master_answers n1
	wait_until 20 grep -q "journal: copied the log of n[23] up to event" "$AKC_DIR/n1.singletond.log"
	local sent
	sent=$(grep -o "killed after sending events [0-9]*-[0-9]*" "$AKC_DIR/n1.singletond.log" | tail -1 | sed 's/.*-//')
	local copied
	copied=$(grep -o "copied the log of n[23] up to event [0-9]*" "$AKC_DIR/n1.singletond.log" | tail -1 | awk '{ print $NF }')
	[ "$copied" -ge "$sent" ]
	# the recovery that copied the log replayed it in the same process: the
	# test's SIGKILL is the only death (it crashed with SIGSEGV while the
	# replay after a changed log was handed no context)
	grep "killed by signal" "$AKC_DIR/n1.singletond.log" || true
	[ "$(grep -c "killed by signal" "$AKC_DIR/n1.singletond.log")" = 1 ]
	# and singletond names the signal that killed it, not its keeper's SIGTERM
	grep -q "killed by signal 9: restarting" "$AKC_DIR/n1.singletond.log"
	# the job that was never acknowledged is there (from a standby's copy), once; all run
	[ "$(akc-queue -c "$(conf_of n1)" --json | jq -r .pending)" = 4 ]
	start_worker n3 >/dev/null
	wait_until 60 finished n1 4
	sleep 0.5
	akc-results -c "$(conf_of n1)" > "$AKC_DIR/results"
	[ "$(jq -r .id "$AKC_DIR/results" | sort | tr '\n' ' ')" = "before-1 before-2 before-3 lost-1 " ]
	[ "$(jq -r 'select(.id == "lost-1") | .result' "$AKC_DIR/results")" = "the lost one" ]
	# the standbys follow the new epoch (their logs continue the master's)
	akc-submit -c "$(conf_of n2)" --id after-1 "after" >/dev/null
	wait_until 20 standby_caught_up n1 n2
	wait_until 20 standby_caught_up n1 n3
}
