#!/usr/bin/env bats
# 3002: the singleton's lease on one node (t/9005 has the partitions and
# the stalls): the keeper's grace for what its command left behind, with
# singletond's renewals coming meanwhile. keep-majority, so that there is a
# lease: stable-after 2 s gives 1.9 s at the suite's timings.

load lib/akc

setup() {
	akc_setup
	witness_log
}
teardown() {
	cont_stopped
	akc_teardown
}

started_times() { [ "$(witness_starts "$WITNESS_LOG" "$1")" -ge "$2" ]; }

# start_one STOP-TIMEOUT [CMD...]: node n1 with singletond w (the witness
# unless CMD), keep-majority with stable-after 2 s; returns once singletond is
# started.
start_one() {
	local stop=$1; shift
	node_conf n1 roles=backend "[singleton.w]=" role=backend stop-timeout="$stop" \
	    "[downing]=" strategy=keep-majority stable-after=2s
	start_node n1
	wait_until 20 all_up n1 1
	start_singleton n1 w "$@"
}

# one_node [CMD...]: start_one with stop-timeout 2 s; waits until it runs and
# singletond has logged its lease ($lease).
one_node() {
	start_one 2s "$@"
	wait_until 20 runs_on n1
	wait_until 10 grep -q "singleton w: its lease is [0-9]*ms" "$AKC_DIR/n1.singletond.log"
	lease=$(grep -o "its lease is [0-9]*ms" "$AKC_DIR/n1.singletond.log" | tail -1 | tr -dc 0-9)
	echo "lease ${lease}ms"
}

@test "a command that exits leaving a process that ignores SIGTERM: killed after the grace, and it runs again" {
	local lease wpid
	# the shell exits once the witness it left (which ignores SIGTERM) runs
	cat > "$AKC_DIR/leave-one" <<-EOS
		#!/bin/sh
		n=\$(grep -c start "$WITNESS_LOG")
		"$AKC_BIN/t/witness" --ignore-term &
		while [ "\$(grep -c start "$WITNESS_LOG")" = "\$n" ]; do sleep 0.05; done
		exit 0
	EOS
	chmod +x "$AKC_DIR/leave-one"
	one_node "$AKC_DIR/leave-one"
	wpid=$(witness_pid n1)
	# the keeper's 5 s grace, then SIGKILL (before: each renewal, every
	# quarter of the lease, began the grace again, so the witness ran on
	# and singletond, its keeper alive, never started the command again)
	wait_until 15 process_dead "$wpid"
	echo "$(date +%s.%3N) n1 killed $wpid" >> "$WITNESS_LOG"
	wait_until 20 started_times n1 2
	grep -q "singleton w (pid [0-9]*) killed by signal 9: restarting it after a backoff" \
	    "$AKC_DIR/n1.singletond.log"
	witness_check "$WITNESS_LOG"
}

now_ms() { echo $(( ${EPOCHREALTIME/[.,]/} / 1000 )); }

@test "a keeper that did not run for a while takes the newest renewal sent meanwhile" {
	local lease sgd keeper wpid ts t1 k
	one_node "$AKC_BIN/t/witness"
	sgd=$(pid_of n1 singletond)
	keeper=$(pgrep -P "$sgd" | head -1)
	wpid=$(witness_pid n1)
	[ -n "$keeper" ] && [ -n "$wpid" ]
	# the keeper stopped for 0.6 of the lease: singletond renews every
	# quarter of it meanwhile (its deadline is still 0.15 of the lease off)
	kill -STOP "$keeper"
	STOPPED="$keeper"
	k=$((lease * 6 / 10))
	sleep "$((k / 1000)).$(printf %03d $((k % 1000)))"	# the keeper's stall, not an assertion
	# then singletond stops renewing: the keeper holds the last renewal it got
	ts=$(now_ms)
	kill -STOP "$sgd"
	STOPPED="$keeper $sgd"
	kill -CONT "$keeper"
	STOPPED="$sgd"
	wait_until 15 process_dead "$wpid"
	t1=$(now_ms)
	kill -CONT "$sgd"
	STOPPED=
	echo "$(date +%s.%3N) n1 killed $wpid" >> "$WITNESS_LOG"
	echo "killed $((t1 - ts)) ms after singletond stopped (lease ${lease}ms)"
	# the newest renewal was at most a quarter of the lease before singletond
	# stopped: the kill comes at least 3/4 of a lease after. Before, the
	# renewals were SIGUSR1, not queued: the keeper took only the first sent
	# while it was stopped (0.6 of a lease before), and killed at most 0.65 of
	# a lease after singletond stopped
	[ $((t1 - ts)) -ge $((lease * 7 / 10)) ]
	witness_check "$WITNESS_LOG"
}

@test "singletond stopped by SIGTERM gives its command the whole stop-timeout: its lease still runs from memberd's views" {
	local sgd t0 t1
	# a command that takes 4 s to stop (longer than lease + 1 s of
	# reaction) and says when it is done
	cat > "$AKC_DIR/slow-stop" <<-EOS
		#!/bin/sh
		echo "\$(date +%s.%3N) n1 start \$\$" >> "$WITNESS_LOG"
		trap 'sleep 4; echo "\$(date +%s.%3N) n1 stop \$\$" >> "$WITNESS_LOG"; exit 0' TERM
		while :; do sleep 0.05; done
	EOS
	chmod +x "$AKC_DIR/slow-stop"
	start_one 10s "$AKC_DIR/slow-stop"
	wait_until 20 runs_on n1
	wait_until 10 grep -q "singleton w: its lease is [0-9]*ms" "$AKC_DIR/n1.singletond.log"
	grep -o "its lease is [0-9]*ms" "$AKC_DIR/n1.singletond.log" | tail -1
	sgd=$(pid_of n1 singletond)
	t0=$(now_ms)
	kill -TERM "$sgd"
	wait_until 20 process_exited "$sgd"
	t1=$(now_ms)
	echo "singletond exited $((t1 - t0)) ms after SIGTERM"
	cat "$WITNESS_LOG"
	# the command stopped on its own, in its stop-timeout (before: singletond
	# read no view while it stopped, so the lease ran out 1.9-2.9 s after
	# the SIGTERM and the keeper killed the command in its clean-up)
	grep -q " n1 stop " "$WITNESS_LOG"
	if grep -q "longer than singleton w's lease" "$AKC_DIR/n1.singletond.log"; then false; fi
	[ "$(exit_status_of "$sgd")" = 0 ]
}

@test "renewals take no queued signal: with RLIMIT_SIGPENDING 0 the singleton runs on, lease after lease" {
	local lease wpid t_end
	# singletond and its keeper with a limit of 0 queued signals. Until
	# 2026-12-08 each renewal was a queued real-time signal: none reached
	# the keeper, which killed the witness at its first deadline (and a
	# keeper stopped for hours filled the user's slots the same way)
	node_conf n1 roles=backend "[singleton.w]=" role=backend stop-timeout=2s \
	    "[downing]=" strategy=keep-majority stable-after=2s
	start_node n1
	wait_until 20 all_up n1 1
	AKC_WRAP="prlimit --sigpending=0" start_singleton n1 w "$AKC_BIN/t/witness"
	wait_until 20 runs_on n1
	wait_until 10 grep -q "singleton w: its lease is [0-9]*ms" "$AKC_DIR/n1.singletond.log"
	lease=$(grep -o "its lease is [0-9]*ms" "$AKC_DIR/n1.singletond.log" | tail -1 | tr -dc 0-9)
	wpid=$(witness_pid n1)
	[ -n "$wpid" ]
	# the window watched: four leases (each renewed three times meanwhile)
	t_end=$(($(now_ms) + 4 * lease))
	while [ "$(now_ms)" -lt "$t_end" ] && kill -0 "$wpid" 2>/dev/null; do sleep 0.1; done
	echo "lease ${lease}ms; witness $wpid watched for four"
	kill -0 "$wpid"
	if grep -q "killed by signal 9" "$AKC_DIR/n1.singletond.log"; then false; fi
	[ "$(witness_starts "$WITNESS_LOG" n1)" = 1 ]
}

@test "a start due after singletond stalled through the crash backoff waits for a fresh view: the program is not killed at once" {
	local sgd wpid
	# the command crashes twice, then runs the witness
	cat > "$AKC_DIR/crash-twice" <<-EOS
		#!/bin/sh
		n=\$(cat "$AKC_DIR/crashes" 2>/dev/null || echo 0)
		if [ "\$n" -lt 2 ]; then echo \$((n + 1)) > "$AKC_DIR/crashes"; exit 1; fi
		exec "$AKC_BIN/t/witness"
	EOS
	chmod +x "$AKC_DIR/crash-twice"
	start_one 2s "$AKC_DIR/crash-twice"
	sgd=$(pid_of n1 singletond)
	# stopped in the second crash's backoff (2 s), for longer than that and
	# than the lease (1.9 s) and singletond's reaction (1 s) together
	wait_until 20 eval '[ "$(grep -c "exited with status 1: restarting it after a backoff" \
	    "$AKC_DIR/n1.singletond.log")" = 2 ]'
	kill -STOP "$sgd"
	STOPPED=$sgd
	sleep 4	# the stall itself, not an assertion
	kill -CONT "$sgd"
	STOPPED=
	wait_until 20 runs_on n1
	wpid=$(witness_pid n1)
	# before: started at once from the view of before the stall, whose lease
	# had run out: the keeper killed it at once, singletond said the lease
	# lapsed, and the next start came after a doubled backoff
	stays_false 3 process_dead "$wpid"
	[ "$(witness_starts "$WITNESS_LOG" n1)" = 1 ]
	run grep -E "longer than singleton w's lease" "$AKC_DIR/n1.singletond.log"
	[ "$status" = 1 ]
	witness_check "$WITNESS_LOG"
}
