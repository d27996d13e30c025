#!/bin/bash
# bench/singleton.sh: how long the cluster singleton is away when its node
# goes, on a local 3-node cluster (n1 n2 n3, role backend, singletond -s w on
# each, the child being the test witness t/witness, which logs its starts and
# stops with epoch milliseconds).
#
#  graceful: akc-leave of the node running the witness until the witness runs
#    on the next oldest, split into leave -> MemberExited (in the next
#    oldest's akc-events stream), Exiting -> old child stopped (witness stop
#    line), stopped -> new child started (witness start line);
#  crash: kill -9 of memberd, leaderd and singletond of the node running the
#    witness (its child dies with singletond) until the witness runs on the
#    next oldest, split into detection (UnreachableMember), downing
#    (MemberDowned, keep-majority after stable-after), removal
#    (MemberRemoved), margin + start (witness start line).
#
# After each round the node that went is started again as a new incarnation
# (the youngest), so the singleton moves n1 -> n2 -> n3 -> n1 ...
#
# Environment: RUNS (rounds of each kind, default 5), PROFILES (default
# "default fast"), GAP (seconds from a leaver's exit to the next akc-leave;
# default stable-after + 1: a new oldest waits for every older member that
# left within the removal margin and did not tell it "hand-over done", so
# back-to-back leaves, as in a rolling restart, are slower: GAP=0 shows it),
# KEEP=1 (keep the time-stamped logs in the temporary directory), AKC_BIN.
#   default: heartbeat-interval 1s, acceptable-heartbeat-pause 3s,
#            gossip-interval 1s, keep-majority stable-after 5s
#   fast:    heartbeat-interval 100ms, acceptable-heartbeat-pause 1s,
#            gossip-interval 100ms, keep-majority stable-after 2s
#   auto:    as default, but stable-after not set: auto (issue 13), 2s at
#            3 nodes; needs a build that has it
#   old:     as default, with stable-after 20s (the default before auto)
# The removal margin is stable-after (down-removal-margin is left at 0).
# Figures are printed, not asserted. Every process it starts is killed by pid
# at exit.
set -u
cd "$(dirname "$0")/.." || exit 1
AKC_BIN=${AKC_BIN:-$PWD}
RUNS=${RUNS:-5}
PROFILES=${PROFILES:-default fast}
GAP=${GAP:-}
KEEP=${KEEP:-}
export PATH="$AKC_BIN:$PATH"
export LC_ALL=C
if [ ! -x "$AKC_BIN/singletond" ] || [ ! -x "$AKC_BIN/t/witness" ]; then
	echo "bench: build first (make; make t/witness)" >&2
	exit 1
fi
. bench/lib.sh

N=3
TOP=$(mktemp -d /tmp/akcsg.XXXXXX)
D=""				# the current cluster's directory
declare -A LIVE=()		# pid -> what, for every process we started and not yet reaped
export WITNESS_LOG=""

cleanup() {
	local p
	{
		for p in "${!LIVE[@]}"; do our_child "$p" && kill -9 "$p"; done
		for p in "${!LIVE[@]}"; do wait_for 5 gone "$p"; done
		# singletond's keeper kills the witness when singletond dies; make sure
		if [ -n "$WITNESS_LOG" ] && [ -f "$WITNESS_LOG" ]; then
			awk '$3 == "start" { print $4 }' "$WITNESS_LOG" | while read -r p; do
				[ "$(cat "/proc/$p/comm" 2>/dev/null)" = witness ] && kill -9 "$p"
			done
		fi
	} 2>/dev/null
	LIVE=()
}
trap finish EXIT
trap 'exit 130' INT TERM

# runs_on NODE: the witness's last line for NODE is a start
runs_on() {
	[ "$(awk -v n="$1" '$2 == n { last = $3 } END { print last }' "$WITNESS_LOG")" = start ]
}
# witness_ms NODE WHAT T0: epoch ms of NODE's first WHAT line at or after T0
witness_ms() {
	awk -v n="$1" -v w="$2" -v t0="$3" '$2 == n && $3 == w {
	    s = $1; sub(/\./, "", s); if (s + 0 >= t0) { print s; exit } }' "$WITNESS_LOG"
}
started_since() { [ -n "$(witness_ms "$1" start "$2")" ]; }

# steady: all Up everywhere, the witness runs on the oldest, everyone knows
steady() {
	wait_for 60 all_up_everywhere || { say "cluster not all Up"; return 1; }
	local old
	old=$(nth_oldest 0 | cut -d' ' -f1)
	wait_for 30 runs_on "$old" || { say "witness not running on $old"; return 1; }
	wait_for 30 everyone_knows "$old" || { say "not every singletond knows $old is the oldest"; return 1; }
	sleep "$SETTLE"
	local wait_ms=$(( NOT_BEFORE - $(now_ms) ))
	[ $wait_ms -gt 0 ] && sleep "$(( wait_ms / 1000 )).$(printf '%03d' $(( wait_ms % 1000 )))"
	return 0
}

reap_node() {
	local p
	for p in $(pid_of "$1" memberd) $(pid_of "$1" leaderd) $(pid_of "$1" singletond); do
		reap "$p"
	done
}

# build PROFILE: a fresh cluster with the profile's settings
build() {
	local i
	D=$TOP/$1
	mkdir -p "$D"
	WITNESS_LOG=$D/witness.log
	: > "$WITNESS_LOG"
	bench_confs "$D" "$N"
	for ((i = 1; i <= N; i++)); do
		sed -i "s|^name = n$i\$|&\nroles = backend\nstate-dir = $D/n$i.state|" "$D/n$i.conf"
		cat >> "$D/n$i.conf" <<CONF
gossip-interval = $GOSSIP
join-retry-max = 1s
[failure-detector]
heartbeat-interval = $HB
acceptable-heartbeat-pause = $PAUSE
[downing]
strategy = keep-majority
$([ "$STABLE" = auto ] || echo "stable-after = $STABLE")
[singleton.w]
role = backend
command = $AKC_BIN/t/witness
CONF
	done
	for ((i = 1; i <= N; i++)); do start_node "n$i" w || return 1; done
}

# a random moment within one interval (ms), so rounds sample the cycles
jitter() { sleep "$(awk -v ms="$1" -v r="$RANDOM" 'BEGIN { printf "%.3f", ms * r / 32768 / 1000 }')"; }

# graceful_round R: akc-leave of the oldest; appends "exit stop start total" ms
graceful_round() {
	local r=$1 old olduid next t0 ev="$D/g$1.events" texit tstop tstart child
	steady || return 1
	read -r old olduid < <(nth_oldest 0)
	read -r next _ < <(nth_oldest 1)
	child=$(awk -v n="$old" '$2 == n && $3 == "start" { p = $4 } END { print p }' "$WITNESS_LOG")
	watch "$next" "$ev" || { say "no event stream from $next"; return 1; }
	jitter "$GOSSIP_MS"
	t0=$(now_ms)
	akc-leave -c "$D/$old.conf" >/dev/null || { say "akc-leave failed"; unwatch; return 1; }
	wait_for 60 started_since "$next" "$t0" || say "graceful $r: the witness did not start on $next within 60s"
	unwatch
	texit=$(event_ms "$ev" MemberExited "$old" "$olduid")
	tstop=$(witness_ms "$old" stop "$t0")
	tstart=$(witness_ms "$next" start "$t0")
	if [ -z "$tstop" ] && [ -n "$tstart" ] && gone "$child"; then
		# SIGKILLed before it could log its stop (the /bin/sh -c of
		# "command" died of the SIGTERM first): singletond's own
		# "exited"/"killed" line tells when it took the child as stopped
		echo "$r" >> "$OUT.cut"
		tstop=$(awk -v t0="$t0" '$1 * 1000 >= t0 && /singleton w \(pid [0-9]+\) (exited|killed)/ {
		    printf "%.0f\n", $1 * 1000; exit }' "$D/$old.singletond.log")
		[ -n "$tstop" ] &&
			echo "$((tstop / 1000)).$(printf '%03d' $((tstop % 1000))) $old killed $child" >> "$WITNESS_LOG"
		say "graceful $r: the witness $child on $old was killed before its stop line; stopped at $tstop by singletond's log"
	fi
	# the leaver goes by itself: then it comes back as a new incarnation
	wait_for 60 node_gone "$old" || { say "$old did not exit after leaving"; return 1; }
	NOT_BEFORE=$(( $(now_ms) + GAP_MS ))
	reap_node "$old"
	start_node "$old" w || return 1
	if [ -z "$texit" ] || [ -z "$tstop" ] || [ -z "$tstart" ]; then
		say "graceful $r ($old -> $next): missing exit '$texit' stop '$tstop' start '$tstart'"
		return 1
	fi
	echo "$((texit - t0)) $((tstop - texit)) $((tstart - tstop)) $((tstart - t0))" >> "$OUT.graceful"
	printf '  graceful %d: %s -> %s %6.3fs\n' "$r" "$old" "$next" "$((tstart - t0))e-3" >&2
}

# crash_round R: kill -9 of the oldest's daemons; appends
# "detect down remove start total" ms
crash_round() {
	local r=$1 old olduid next t0 ev="$D/c$1.events" child tu td trm tstart
	steady || return 1
	read -r old olduid < <(nth_oldest 0)
	read -r next _ < <(nth_oldest 1)
	child=$(awk -v n="$old" '$2 == n && $3 == "start" { p = $4 } END { print p }' "$WITNESS_LOG")
	watch "$next" "$ev" || { say "no event stream from $next"; return 1; }
	jitter "$HB_MS"
	t0=$(now_ms)
	kill -9 "$(pid_of "$old" memberd)" "$(pid_of "$old" leaderd)" "$(pid_of "$old" singletond)"
	wait_for 5 gone "$child" || say "crash $r: the witness $child outlived its singletond"
	echo "$(date +%s.%3N) $old killed $child" >> "$WITNESS_LOG"
	reap_node "$old"
	wait_for 120 started_since "$next" "$t0" || say "crash $r: the witness did not start on $next within 120s"
	unwatch
	tu=$(event_ms "$ev" UnreachableMember "$old" "$olduid")
	td=$(event_ms "$ev" MemberDowned "$old" "$olduid")
	trm=$(event_ms "$ev" MemberRemoved "$old" "$olduid")
	tstart=$(witness_ms "$next" start "$t0")
	start_node "$old" w || return 1
	if [ -z "$tu" ] || [ -z "$td" ] || [ -z "$trm" ] || [ -z "$tstart" ]; then
		say "crash $r ($old -> $next): missing unreachable '$tu' downed '$td' removed '$trm' start '$tstart'"
		return 1
	fi
	echo "$((tu - t0)) $((td - tu)) $((trm - td)) $((tstart - trm)) $((tstart - t0))" >> "$OUT.crash"
	printf '  crash %d: %s -> %s %6.3fs\n' "$r" "$old" "$next" "$((tstart - t0))e-3" >&2
}

# exclusion: witness starts while another ran (there should be none): a start
# that could not take the shared lock (OVERLAP), or one while another start
# had no stop (or "killed" line, written here when a child was killed)
exclusion() {
	awk '$3 == "OVERLAP" { lock++ }
	     $3 == "start" { if (open > 0) bad++; open++; run[$4] = 1 }
	     $3 == "stop" || $3 == "crash" || $3 == "killed" { if ($4 in run) { delete run[$4]; open-- } }
	     END { printf "%d OVERLAP (lock taken), %d started while another was open", lock, bad }' \
	    <(sort -s -n -k1,1 "$WITNESS_LOG")
}

profile() {
	case $1 in
	default) HB=1s HB_MS=1000 PAUSE=3s GOSSIP=1s GOSSIP_MS=1000 STABLE=5s STABLE_MS=5000 SETTLE=3 ;;
	fast) HB=100ms HB_MS=100 PAUSE=1s GOSSIP=100ms GOSSIP_MS=100 STABLE=2s STABLE_MS=2000 SETTLE=1 ;;
	# auto: 1 s heartbeats + 1 s gossip x 1 hop for 3 members
	auto) HB=1s HB_MS=1000 PAUSE=3s GOSSIP=1s GOSSIP_MS=1000 STABLE=auto STABLE_MS=2000 SETTLE=3 ;;
	old) HB=1s HB_MS=1000 PAUSE=3s GOSSIP=1s GOSSIP_MS=1000 STABLE=20s STABLE_MS=20000 SETTLE=3 ;;
	*) say "unknown profile '$1' (default, fast, auto, old)"; return 1 ;;
	esac
	if [ -n "$GAP" ]; then
		GAP_MS=$(awk -v g="$GAP" 'BEGIN { printf "%d", g * 1000 }')
	else
		GAP_MS=$(( STABLE_MS + 1000 ))
	fi
	NOT_BEFORE=0
}

run_profile() {
	local p=$1 r
	profile "$p" || return
	OUT=$TOP/$p.out
	: > "$OUT.graceful"
	: > "$OUT.crash"
	: > "$OUT.cut"
	say "profile $p: starting $N nodes"
	if build "$p"; then
		for ((r = 1; r <= RUNS; r++)); do graceful_round "$r" || say "graceful $r failed"; done
		for ((r = 1; r <= RUNS; r++)); do crash_round "$r" || say "crash $r failed"; done
	fi
	local g=$OUT.graceful c=$OUT.crash
	echo
	echo "== profile $p: heartbeat-interval $HB, acceptable-heartbeat-pause $PAUSE, threshold 8.0,"
	echo "   gossip-interval $GOSSIP; downing keep-majority, stable-after $STABLE (= the removal margin);"
	echo "   $N nodes on 127.0.0.1, role backend, [singleton.w] the witness; each leave at least"
	echo "   $(awk -v g="$GAP_MS" 'BEGIN { print g / 1000 }')s after the previous leaver exited; seconds"
	printf '%-52s %8s %8s %8s\n' "graceful: akc-leave of the oldest ($(rows "$g")/$RUNS runs)" min median max
	printf '  %-50s %s\n' "leave -> MemberExited" "$(stats 1 "$g")"
	printf '  %-50s %s\n' "Exiting -> old child stopped" "$(stats 2 "$g")"
	printf '  %-50s %s\n' "stopped -> new child started" "$(stats 3 "$g")"
	printf '  %-50s %s\n' "total: leave -> running on the next oldest" "$(stats 4 "$g")"
	printf '%-52s %8s %8s %8s\n' "crash: kill -9 of the oldest ($(rows "$c")/$RUNS runs)" min median max
	printf '  %-50s %s\n' "kill -> UnreachableMember (detection)" "$(stats 1 "$c")"
	printf '  %-50s %s\n' "-> MemberDowned (stable-after)" "$(stats 2 "$c")"
	printf '  %-50s %s\n' "-> MemberRemoved" "$(stats 3 "$c")"
	printf '  %-50s %s\n' "-> new child started (margin + start)" "$(stats 4 "$c")"
	printf '  %-50s %s\n' "total: kill -> running on the next oldest" "$(stats 5 "$c")"
	echo "   witness: $(grep -c ' start ' "$WITNESS_LOG") starts; $(exclusion)"
	[ -s "$OUT.cut" ] && echo "   graceful runs whose old child was SIGKILLed before its stop line: $(rows "$OUT.cut")" \
	    "(stopped = singletond's reap; /bin/sh -c died of SIGTERM first)"
	cleanup
}

echo "akc singleton benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, RUNS=$RUNS"
for p in $PROFILES; do
	run_profile "$p"
done
