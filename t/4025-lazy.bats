#!/usr/bin/env bats
# 4025: a standby the commit point does not need syncs lazily (issue 12;
# doc/PROTOCOL.md, "Lazy standbys"). With three nodes and replicas = 1 the
# master gives the sync duty to one standby; the other answers "written"
# at once and syncs a few ms later. A kill -9 of the one on duty moves the
# duty at once (commits stall briefly), a kill -9 of the master loses no
# acknowledged job.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# on_duty NODE: the standby the master (asked through NODE) has on sync duty, one name.
on_duty() { akc-queue -c "$(conf_of "$1")" --json | jq -r '[.standbys[] | select(.sync) | .node] | join(",")'; }
one_on_duty() { [[ "$(on_duty "$1")" =~ ^n[0-9]$ ]]; }
some_on_duty() { [ -n "$(on_duty "$1")" ]; }
duty_is() { [ "$(on_duty "$1")" = "$2" ]; }

# submitter NODE PREFIX: akc-submit one job at a time until $AKC_DIR/stop
# exists; each acknowledged id goes to $AKC_DIR/PREFIX.acked as "TIME ID"
# (TIME in µs, after the acknowledgement).
submitter() {
	local i=0 id
	while [ ! -e "$AKC_DIR/stop" ]; do
		i=$((i + 1))
		if id=$(akc-submit -c "$(conf_of "$1")" --id "$2-$i" "payload $i" 2>/dev/null); then
			echo "${EPOCHREALTIME/./} $id" >> "$AKC_DIR/$2.acked"
		fi
	done
}

# start_submitter NODE PREFIX
start_submitter() {
	submitter "$1" "$2" 3>&- &
	echo $! >> "$AKC_DIR/pids"
	echo $!
}

acked_count() { [ -f "$AKC_DIR/$1.acked" ] && [ "$(wc -l < "$AKC_DIR/$1.acked")" -ge "$2" ]; }

# syncs NODE: the standby syncs on NODE (AKC_TRACE's lines in its singletond's log).
syncs() { grep -c "trace standby sync" "$AKC_DIR/$1.singletond.log" || true; }
# commits: the master's committed batches on n1 (AKC_TRACE).
commits() { grep -c "trace commit" "$AKC_DIR/n1.singletond.log" || true; }

# max_gap_ms FILE: the longest time between two acknowledgements in FILE, in ms.
max_gap_ms() { awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%d\n", m / 1000 }' "$1"; }

# batch_syncs: 300 jobs from one akc-submit --batch, a line every 2 ms or
# so (a batch each, mostly) on a new 3-node cluster; prints "ON_DUTY SYNCS
# LAZY SYNCS BATCHES" (the standbys' syncs meanwhile, as the duty was at the
# start: with both on duty, the first is "on duty"; the master's batches)
# once both acknowledged everything.
batch_syncs() {
	export AKC_TRACE=1
	work_cluster 3
	wait_until 20 some_on_duty n1
	local duty lazy d0 l0 c0 i
	duty=$(on_duty n1 | cut -d, -f1)
	if [ "$duty" = n2 ]; then lazy=n3; else lazy=n2; fi
	d0=$(syncs "$duty")
	l0=$(syncs "$lazy")
	c0=$(commits)
	for ((i = 1; i <= 300; i++)); do
		echo "job $i"
		sleep 0.002
	done | akc-submit -c "$(conf_of n1)" --batch > "$AKC_DIR/ids"
	[ "$(wc -l < "$AKC_DIR/ids")" = 300 ] || return 1
	wait_until 20 standby_caught_up n1 "$lazy"
	wait_until 20 standby_caught_up n1 "$duty"
	echo "$duty $(($(syncs "$duty") - d0)) $lazy $(($(syncs "$lazy") - l0)) $(($(commits) - c0))"
}

@test "one standby syncs every batch, the other lazily, and answers at once what it wrote" {
	local r duty ds lazy ls b written
	r=$(batch_syncs)
	read -r duty ds lazy ls b <<<"$r"
	echo "syncs: $duty (on duty) $ds, $lazy (lazy) $ls; batches $b; duty moves $(queue_field n1 duty_moves)"
	[ "$b" -ge 100 ]
	# each batch synced by the one on duty, a few by the other (the duty may
	# move on a busy machine: an ack 10 ms late)
	[ $((ds + ls)) -lt $((b * 3 / 2)) ]
	# the master knows what the lazy one wrote, and counts what it synced
	written=$(akc-queue -c "$(conf_of n1)" --json | jq -r --arg s "$lazy" '.standbys[] | select(.node == $s) | .written')
	[ "$written" -ge "$(queue_field n1 seq)" ]
	# a clean stop of the lazy standby leaves nothing unsynced behind it
	kill "$(standby_pid "$lazy")"
	wait_until 20 grep -q "standby of master: stopping at event" "$AKC_DIR/$lazy.singletond.log"
	grep "standby of master: stopping at event" "$AKC_DIR/$lazy.singletond.log" | grep -q "[1-9][0-9]* appends written lazily"
}

@test "AKC_REPL_LAZY=0: both standbys sync every batch" {
	export AKC_REPL_LAZY=0
	local r duty ds lazy ls b
	r=$(batch_syncs)
	read -r duty ds lazy ls b <<<"$r"
	echo "syncs: $duty $ds, $lazy $ls; batches $b"
	[ "$b" -ge 100 ]
	[ $((ds + ls)) -ge $((b * 3 / 2)) ]
}

@test "the standby on duty killed -9: the duty moves at once, commits stall briefly, nothing acknowledged is lost" {
	work_cluster 3
	wait_until 20 one_on_duty n1
	local duty other sb gap
	duty=$(on_duty n1)
	if [ "$duty" = n2 ]; then other=n3; else other=n2; fi
	start_submitter n1 a >/dev/null
	wait_until 30 acked_count a 50
	sb=$(standby_pid "$duty")
	[ -n "$sb" ]
	echo "$sb" >> "$AKC_DIR/pids"
	cp "$AKC_DIR/a.acked" "$AKC_DIR/before"
	kill -9 "$sb"
	# the membership does not change (only the process died): the master moves the duty itself
	wait_until 10 duty_is n1 "$other"
	local n0
	n0=$(wc -l < "$AKC_DIR/a.acked")
	wait_until 30 acked_count a $((n0 + 50))
	touch "$AKC_DIR/stop"
	[ "$(queue_field n1 duty_moves)" -ge 1 ]
	# the longest wait between two acknowledgements around the kill
	gap=$(max_gap_ms "$AKC_DIR/a.acked")
	echo "longest gap between acknowledgements: $gap ms"
	[ "$gap" -lt 2000 ]
	# every acknowledged job is there
	awk '{ print $2 }' "$AKC_DIR/a.acked" > "$AKC_DIR/ids"
	start_worker n2 >/dev/null
	wait_until 60 all_done n1 "$AKC_DIR/ids"
}

@test "the master killed -9 while a standby holds events it did not sync: no acknowledged job is lost" {
	work_cluster 3
	wait_until 20 one_on_duty n1
	start_submitter n2 b >/dev/null
	wait_until 30 acked_count b 100
	kill_node n1
	touch "$AKC_DIR/stop"
	akc-down -c "$(conf_of n2)" n1
	wait_until 60 serving n2
	awk '{ print $2 }' "$AKC_DIR/b.acked" > "$AKC_DIR/ids"
	start_worker n3 >/dev/null
	wait_until 60 all_done n2 "$AKC_DIR/ids"
	# the new master has the one standby left on duty
	wait_until 20 one_on_duty n2
}
