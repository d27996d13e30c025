#!/usr/bin/env bats
# 9005: a singleton's lease. singletond stops its child when its node loses
# the majority or is downed, in time for the other side's wait; but a
# singletond that does not run (stopped, starved, blocked on a full log
# pipe) stops nothing, and the other side would start the singleton beside
# the one it left running. singletond renews a lease to the child's keeper
# from its loop; the keeper kills the child's process group when the lease
# runs out (sg_lease: the forced stop's bound).

load lib/akc
load lib/netns

setup() {
	akc_setup
	net_require
	witness_log
}
teardown() {
	cont_stopped
	net_teardown
	akc_teardown
}

now_ms() { echo $(( ${EPOCHREALTIME/[.,]/} / 1000 )); }

# lease_cluster [COMMAND [STOP-TIMEOUT [KEY=VALUE...]]]: three hosts with
# singletond w (COMMAND, by default the witness), keep-majority with
# stable-after 2 s (and [downing] KEY=VALUEs); waits until the witness runs on
# the oldest ($old), and prints its lease as its singletond logged it
# ($lease, ms).
lease_cluster() {
	local h cmd=${1:-$AKC_BIN/t/witness} stop=${2:-2s}
	shift 2 || shift $#
	net_setup 3
	host_cluster "[singleton.w]=" "command=$cmd" stop-timeout="$stop" \
	    "[downing]=" strategy=keep-majority stable-after=2s "$@"
	for h in "${NET_HOSTS[@]}"; do
		host_singleton "$h" w
	done
	wait_until 30 all_up_everywhere 3 h1 h2 h3
	old=$(oldest_with h1 "")
	wait_until 20 runs_on "$old"
	wait_until 10 grep -q "singleton w: its lease is [0-9]*ms" "$AKC_DIR/$old.singletond.log"
	lease=$(grep -o "its lease is [0-9]*ms" "$AKC_DIR/$old.singletond.log" | tail -1 | tr -dc 0-9)
	echo "the witness runs on $old, lease ${lease}ms"
	[ "$lease" -ge 1000 ]
}

# stopped_and_cut: $old's singletond stopped ($sgd, its witness $wpid) and
# $old cut off from the other two ($minority, $majority, $next: split_around).
stopped_and_cut() {
	split_around "$old" 1 h1 h2 h3
	sgd=$(pid_of "$old" singletond)
	wpid=$(witness_pid "$old")
	kill -STOP "$sgd"
	STOPPED=$sgd
	net_cut "$minority" "$majority"
}

# killed_before_next WPID SECONDS: the old witness WPID (on $old) dies within
# SECONDS ("killed" in the witness log), then the witness runs on $next,
# started after that kill; never two at once.
killed_before_next() {
	wait_until "$2" process_dead "$1"
	echo "$(date +%s.%3N) $old killed $1" >> "$WITNESS_LOG"
	wait_until 30 runs_on "$next"
	cat "$WITNESS_LOG"
	awk -v o="$old" -v n="$next" '$2 == o && $3 == "killed" { k = $1 } $2 == n && $3 == "start" { t = $1 }
	     END { printf "killed %.3f, started %.3f, gap %.3f s\n", k, t, t - k; exit !(k > 0 && t > k) }' \
	    "$WITNESS_LOG"
	witness_check "$WITNESS_LOG"
}

@test "a singleton whose singletond stops running is killed when its lease runs out, and runs again after" {
	local old lease sgd wpid t0 t1
	lease_cluster
	sgd=$(pid_of "$old" singletond)
	wpid=$(witness_pid "$old")
	kill -STOP "$sgd"
	STOPPED=$sgd
	t0=$(now_ms)
	# before: nothing stopped the witness while its singletond was stopped
	wait_until 15 process_dead "$wpid"
	t1=$(now_ms)
	echo "killed $((t1 - t0)) ms after singletond stopped (lease ${lease}ms)"
	# by the lease, not sooner: its last renewal was at most a quarter of it before
	[ $((t1 - t0)) -ge $((lease / 2)) ]
	echo "$(date +%s.%3N) $old killed $wpid" >> "$WITNESS_LOG"
	kill -CONT "$sgd"
	STOPPED=
	# singletond says why, and starts it again: this node is still the oldest
	wait_until 20 grep -q "singletond did not run for [0-9]*ms, longer than singleton w's lease" \
	    "$AKC_DIR/$old.singletond.log"
	wait_until 30 eval '[ "$(witness_starts "$WITNESS_LOG" "$old")" = 2 ] && runs_on "$old"'
	[ "$(grep -c start "$WITNESS_LOG")" = 2 ]
	witness_check "$WITNESS_LOG"
}

@test "the oldest cut off with its singletond stopped: the keeper kills the singleton before the majority starts one" {
	local old lease sgd wpid minority majority next
	lease_cluster
	stopped_and_cut
	# the old one's keeper ends it when the lease runs out (before: it ran
	# on, and the majority's started beside it: OVERLAP in the witness log)
	killed_before_next "$wpid" 15
}

@test "the oldest cut off while its singletond stalls for longer than a heartbeat + 2 s: the lease runs from memberd's last view with a majority, so the keeper kills the singleton before the majority starts one" {
	local old lease sgd wpid minority majority next p
	# a margin of 8 s makes the lease (7.9 s) longer than heartbeat-interval +
	# 2 s; the witness ignores SIGTERM, and is the keeper's child (exec: no
	# shell whose end would start the leftovers' grace), so only a SIGKILL
	# at the stop's or the lease's end ends it
	lease_cluster "exec $AKC_BIN/t/witness --ignore-term" 10s down-removal-margin=8s
	[ "$lease" -gt 5000 ]
	stopped_and_cut
	echo "$(date +%s.%3N) cut off, $old's singletond stopped"
	# stalled for 0.6 of the lease: under what the keeper holds (its last
	# renewal was at most a quarter of the lease before the stop), so no
	# lapse; longer than the majority's detection and heartbeat-interval + 2 s
	p=$((lease * 6 / 10))
	sleep "$((p / 1000)).$(printf %03d $((p % 1000)))"	# the stall itself, not an assertion
	kill -CONT "$sgd"
	STOPPED=
	# before: singletond renewed from when it ran again, then began its forced
	# stop with the SIGKILL a whole lease after that: the witness ran on past
	# the majority's start (OVERLAP). Now the lease is dated from memberd's
	# last view that showed a majority, from before the cut.
	killed_before_next "$wpid" 20
}
