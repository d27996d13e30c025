#!/bin/bash
# bench/transport/storm.sh: the measurements behind the choice of memberd's
# node-to-node transport, NNG 1.5 against libnanomsg 1.1.5. As root it runs
# in a network namespace of its own (unshare -n): its loopback, ephemeral
# ports and TIME_WAITs are its own.
#
# 1. storm: NPROC (200) processes of nng-storm.c (or nn-storm.c), started
#    over SPREAD (10) seconds, each listening on its own port of 127.0.0.1
#    and pushing small frames every 100-200 ms to NPEERS (8) random others
#    (memberd's pattern: a socket per peer, reset after a second without a
#    send); from the 5th second, every KILL_MS (500) ms one random process
#    is killed with kill -9 and started again 1-3 s later, so that peers
#    reconnect all the time; STORM_SECS (60) seconds in all. Counted: the
#    processes that died by themselves (an abort or assertion: status 134,
#    with their last words; other statuses listed), and over the live ones
#    10 s before the end, RSS, threads (/proc/PID/status) and CPU.
# 2. churn: the same, and every ROTATE_MS (250) each process also replaces
#    one peer socket by one to another random peer, as memberd's pool of
#    128 sockets does when a node talks to more peers than that. With 200
#    memberds on one host, their pools hold some 25,000 connections, each
#    with an ephemeral port; our 1,600 do not, so in the namespace the
#    ephemeral range is cut to CHURN_PORTS (4000) during this storm to
#    stand for the rest (not when not root).
# 3. hangup: HANGUP_RUNS (12) times, one process dials a listener that
#    completes the SP handshake and hangs up at once (attack.c hangup), 2 s.
# 4. attacks on one listener (the same program with no peers, with
#    RLIMIT_NOFILE 1024 and a receive limit of 64 KiB), ATTACK_SECS (15)
#    each, with bench/attack.c: memhog (40 connections announcing 8 MiB;
#    then 900 announcing 64 KiB, just under the limit) and fdhog (1100 idle
#    connections after the SP header; then with no SP header at all, --akc;
#    for NNG also with STORM_MAXPIPES=100, pipes beyond 100 closed from
#    NNG_PIPE_EV_ADD_PRE): RSS max, fds max, CPU, for fdhog the accept calls
#    made in 2 s (strace -c, when strace is there), and whether a real peer
#    started 3 s into the attack got any frame through during it.
#
# Usage: bench/transport/storm.sh [nng] [nn]  (default both). Environment:
# PARTS (default "storm churn hangup attacks"), the settings above, KEEP=1
# (keep the logs). Prints two tables at the end. Figures are printed, not
# asserted. Every process it starts is killed by pid at exit.
set -u
cd "$(dirname "$0")/../.." || exit 1
# a network namespace of our own (as root): its loopback, its ephemeral
# ports and TIME_WAITs; the churn storm exhausts them, and others' tests on
# this machine must not feel it
if [ -z "${STORM_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare > /dev/null; then
	STORM_NETNS=1 exec unshare -n -- "$0" "$@"
fi
[ -n "${STORM_NETNS:-}" ] && ip link set lo up
NPROC=${NPROC:-200}
NPEERS=${NPEERS:-8}
SPREAD=${SPREAD:-10}
STORM_SECS=${STORM_SECS:-60}
KILL_MS=${KILL_MS:-500}
ATTACK_SECS=${ATTACK_SECS:-15}
ROTATE_MS=${ROTATE_MS:-250}
CHURN_PORTS=${CHURN_PORTS:-4000}
HANGUP_RUNS=${HANGUP_RUNS:-12}
PARTS=${PARTS:-storm churn hangup attacks}
KEEP=${KEEP:-}
export LC_ALL=C
. bench/lib.sh

TOP=$(mktemp -d /tmp/akcst.XXXXXX)
declare -A LIVE=()	# pid -> what

# gone PID: exited (a zombie counts); builtins only, it runs 400 times a second
gone() {
	local s
	read -r s < "/proc/$1/stat" 2>/dev/null || return 0
	s=${s##*) }
	[ "${s%% *}" = Z ]
}
# ms since the storm started, in MS
tick() { local t=${EPOCHREALTIME/./}; MS=$(( t / 1000 - T0 )); }
say() { echo "storm: $*" >&2; }
cleanup() {
	local p
	{
		for p in "${!LIVE[@]}"; do our_child "$p" && kill -9 "$p"; done
		for p in "${!LIVE[@]}"; do wait "$p"; done
	} 2>/dev/null
	LIVE=()
}
finish() {
	cleanup
	if [ -n "$KEEP" ]; then say "logs kept in $TOP"; else rm -rf "$TOP"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$TOP/nng-storm" bench/transport/nng-storm.c -lnng &&
cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$TOP/nn-storm" bench/transport/nn-storm.c -lnanomsg &&
cc -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$TOP/attack" bench/attack.c ||
	{ say "cannot build the storm programs (libnng-dev, libnanomsg-dev)"; exit 1; }

# ports BASE..BASE+COUNT-1 that nobody listens on, below the ephemeral
# range (32768-60999): a restarted process must find its port free, not
# taken by someone's outgoing connection
free_range() {
	local count=$1 base p ok
	while :; do
		base=$(( 10000 + RANDOM % (32768 - 10000 - count) ))
		ok=1
		for ((p = base; p < base + count; p += 10)); do port_free $p || { ok=0; break; }; done
		[ $ok = 1 ] && port_free $((base + count - 1)) && { echo $base; return; }
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }
maxof() { sort -n | tail -1; }

declare -a PID=()	# index -> pid of its current process

# spawn I: (re)start process I of the storm
spawn() {
	local i=$1
	STORM_ROTATE_MS=$ROT "$TOP/$LIB-storm" "$i" "$NPROC" "$BASE" "$NPEERS" 2>> "$D/$i.err" &
	PID[$i]=$!
	LIVE[$!]="$LIB $i"
}
# died PID I: process I (pid PID) ended by itself: its status and last
# words go to $D/deaths; a crash (a signal of its own) is started again
# 2 s later, as systemd's Restart= would
died() {
	local p=$1 i=$2 st
	wait "$p"
	st=$?
	unset "LIVE[$p]"
	[ $st = 0 ] && return
	echo "$i $st $(tail -n 1 "$D/$i.err")" >> "$D/deaths"
	[ -n "${due[$i]+x}" ] || due[$i]=$(( MS + 2000 ))
}
# reap_dead: the processes that ended by themselves since the last look
reap_dead() {
	local i p
	for ((i = 0; i < NPROC; i++)); do
		[ -n "${due[$i]:-}" ] && continue
		p=${PID[$i]}
		gone "$p" && died "$p" "$i"
	done
}
# crashes: "A aborts + S segfaults (P processes)" from $D/deaths
crashes() {
	awk '$2 == 134 { a++; p[$1] = 1 } $2 == 139 { s++; p[$1] = 1 }
	     END { n = 0; for (i in p) n++; printf "%d aborts + %d segfaults (%d processes)", a, s, n }' "$D/deaths"
}

storm() {
	LIB=$1
	ROT=$2
	D=$TOP/$LIB-$ROT
	local range=""
	if [ "$ROT" != 0 ] && [ -n "${STORM_NETNS:-}" ]; then
		range=$(cat /proc/sys/net/ipv4/ip_local_port_range)
		echo "32768 $(( 32768 + CHURN_PORTS - 1 ))" > /proc/sys/net/ipv4/ip_local_port_range
	fi
	mkdir -p "$D"
	: > "$D/deaths"
	PID=()
	BASE=$(free_range "$NPROC")
	local i p st kills=0 sampled=0 gap t spawned end
	local -A due=()	# index -> when to start it again (ms since the start)
	t=${EPOCHREALTIME/./}
	T0=$(( t / 1000 ))
	gap=$(awk -v s="$SPREAD" -v n="$NPROC" 'BEGIN { printf "%.3f", s / n }')
	for ((i = 0; i < NPROC; i++)); do
		spawn "$i"
		sleep "$gap"
	done
	tick
	spawned=$MS
	# the storm lasts STORM_SECS - SPREAD after the last start, however
	# long the starts took on a loaded machine
	end=$(( spawned + (STORM_SECS - SPREAD) * 1000 ))
	while tick; [ $MS -lt $end ]; do
		reap_dead
		for i in "${!due[@]}"; do
			if [ $MS -ge "${due[$i]}" ]; then
				spawn "$i"
				unset "due[$i]"
			fi
		done
		# kills at a steady rate whatever the load: catch up if late
		# (while there is a live one to kill)
		local tries=0
		while [ $MS -ge 5000 ] && [ $kills -lt $(( (MS - 5000) / KILL_MS + 1 )) ] &&
		    [ $tries -lt $(( 4 * NPROC )) ]; do
			i=$((RANDOM % NPROC))
			tries=$((tries + 1))
			[ -n "${due[$i]:-}" ] && continue
			p=${PID[$i]}
			kill -9 "$p" 2>/dev/null
			wait "$p"
			unset "LIVE[$p]"
			kills=$((kills + 1))
			due[$i]=$(( MS + 1000 + RANDOM % 2000 ))
		done
		if [ $sampled = 0 ] && [ $MS -ge $(( end - 10000 )) ]; then
			sampled=1
			local files=()
			for ((i = 0; i < NPROC; i++)); do
				[ -n "${due[$i]:-}" ] && continue
				files+=("/proc/${PID[$i]}/status" "/proc/${PID[$i]}/stat")
			done
			# RSS KiB, threads, CPU % of a core over the process's life
			awk -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" '
			    { split(FILENAME, f, "/"); p = f[3] }
			    FILENAME ~ /status$/ && /^VmRSS/ { r[p] = $2 }
			    FILENAME ~ /status$/ && /^Threads/ { t[p] = $2 }
			    FILENAME ~ /stat$/ { c[p] = ($14 + $15) / hz / (up - $22 / hz) * 100 }
			    END { for (p in r) printf "%d %d %.1f\n", r[p], t[p], c[p] }' \
			    "${files[@]}" 2>/dev/null > "$D/samples"
		fi
		sleep 0.2
	done
	reap_dead
	# the end: SIGTERM to every live one; their last lines say what flowed
	for ((i = 0; i < NPROC; i++)); do
		[ -z "${due[$i]:-}" ] && kill -TERM "${PID[$i]}" 2>/dev/null
	done
	for ((i = 0; i < NPROC; i++)); do
		[ -z "${due[$i]:-}" ] && died "${PID[$i]}" "$i"
	done
	local sent recv k=$LIB/$ROT tw
	sent=$(cat "$D"/*.err | awk '$1 == "sent" { s += $2 } END { print s + 0 }')
	recv=$(cat "$D"/*.err | awk '$1 == "sent" { s += $4 } END { print s + 0 }')
	tw=$(ss -Htan state time-wait | wc -l)
	S_CRASH[$k]=$(crashes)
	S_RSS[$k]="$(awk '{ print $1 }' "$D/samples" | median | awk '{ printf "%.1f", $1 / 1024 }') / $(awk '{ print $1 }' "$D/samples" | maxof | awk '{ printf "%.1f", $1 / 1024 }')"
	S_CPU[$k]="$(awk '{ print $3 }' "$D/samples" | median) / $(awk '{ print $3 }' "$D/samples" | maxof)"
	S_THR[$k]="$(awk '{ print $2 }' "$D/samples" | median) / $(awk '{ print $2 }' "$D/samples" | maxof)"
	printf '%s storm%s: %d processes (started in %.1fs), %d peers each, %d kill -9 + restarts in %ds; died by themselves: %s%s; frames sent %d, received %d (by the processes alive at the end); %d TIME_WAIT at the end\n' \
	    "$LIB" "$( [ "$ROT" != 0 ] && echo ", a peer socket replaced every ${ROT}ms${range:+, $CHURN_PORTS ephemeral ports}")" \
	    "$NPROC" "$(awk -v m="$spawned" 'BEGIN { print m / 1000 }')" "$NPEERS" "$kills" "$(( (end + 500) / 1000 ))" \
	    "${S_CRASH[$k]}" "$(awk '$2 != 134 && $2 != 139 { printf " %s", $2 }' "$D/deaths" | sed 's/^./, other exit statuses: /')" \
	    "$sent" "$recv" "$tw"
	# the last words of the dead, most frequent first
	cut -d' ' -f3- "$D/deaths" | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
	[ -n "$range" ] && echo "$range" > /proc/sys/net/ipv4/ip_local_port_range
	return 0
}

# hangup LIB: HANGUP_RUNS times, one process of LIB dials (push) a listener
# that completes the SP handshake and hangs up at once (attack.c hangup),
# for 2 s: how often does the dialer crash?
hangup() {
	local lib=$1 r port hp st crashed=0 sts="" d=$TOP/$lib-hangup
	mkdir -p "$d"
	for ((r = 0; r < HANGUP_RUNS; r++)); do
		port=$(free_range 2)
		"$TOP/attack" --sp hangup -d 2.5 "127.0.0.1:$port" >> "$d/hangup.out" 2>&1 &
		hp=$!
		LIVE[$hp]=hangup
		sleep 0.2
		timeout 2 "$TOP/$lib-storm" 1 2 "$port" 1 2>> "$d/dialer.err"
		st=$?
		wait "$hp"
		unset "LIVE[$hp]"
		sts+=" $st"
		[ $st = 134 ] || [ $st = 139 ] && crashed=$((crashed + 1))
	done
	HANG[$lib]="$crashed of $HANGUP_RUNS"
	printf '%s hangup: a dialer whose pipes are closed right after the handshake crashed in %d of %d 2-second runs (exit statuses:%s; 124: alive at the end)\n' \
	    "$lib" "$crashed" "$HANGUP_RUNS" "$sts"
	grep -h '^panic\|Assertion' "$d/dialer.err" | sort | uniq -c | sed 's/^/    /'
}

# listener_attack LIB MODE FRAMING OPTS [ENV...]: one attack on one listener of
# LIB; 3 s in, a real peer sends to it for 5 s: did any frame get through
# during the attack? (its frames flow only once the SP handshake is done,
# so none can arrive late from the backlog after it was killed)
listener_attack() {
	local lib=$1 mode=$2 framing=$3 opts=$4; shift 4
	local d=$TOP/$lib-attack port lp ap pp c0 t0 ms rss fds accepts="" cpu st got
	mkdir -p "$d"
	port=$(free_range 2)
	: > "$d/listener.err"
	( ulimit -n 1024; exec env STORM_RECVMAX=65536 "$@" "$TOP/$lib-storm" 0 2 "$port" 0 ) 2>> "$d/listener.err" &
	lp=$!
	LIVE[$lp]="$lib listener"
	sleep 0.3
	c0=$(awk '{ print $14 + $15 }' "/proc/$lp/stat")
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	"$TOP/attack" "$framing" "$mode" $opts -d "$ATTACK_SECS" "127.0.0.1:$port" > "$d/$mode.out" 2>&1 &
	ap=$!
	LIVE[$ap]=attack
	( while kill -0 "$ap" 2>/dev/null; do
		echo "$(awk '/^VmRSS/ { print $2 }' "/proc/$lp/status" 2>/dev/null) $(ls "/proc/$lp/fd" 2>/dev/null | wc -l)"
		sleep 0.2
	  done ) > "$d/$mode.samples" &
	sleep 3
	"$TOP/$lib-storm" 1 2 "$port" 1 2> /dev/null &
	pp=$!
	LIVE[$pp]="$lib peer"
	sleep 5
	local peer=alive
	kill -9 "$pp" 2> /dev/null
	wait "$pp"
	st=$?
	[ $st = 137 ] || peer="CRASHED (status $st)"
	unset "LIVE[$pp]"
	if [ "$mode" = fdhog ] && command -v strace > /dev/null; then
		accepts=$(timeout 2 strace -f -c -e trace=accept,accept4 -p "$lp" 2>&1 |
		    awk '$NF ~ /^accept/ { print $4 (NF == 6 ? " (" $5 " failed)" : "") }' | head -1)
	fi
	wait "$ap"
	unset "LIVE[$ap]"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	cpu=$(awk -v a="$c0" -v b="$(awk '{ print $14 + $15 }' "/proc/$lp/stat" 2>/dev/null || echo "$c0")" \
	    -v ms="$ms" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (b - a) / hz * 100000 / ms }')
	rss=$(awk '{ print $1 }' "$d/$mode.samples" | maxof)
	fds=$(awk '{ print $2 }' "$d/$mode.samples" | maxof)
	kill -TERM "$lp" 2>/dev/null
	wait "$lp"
	st=$?
	unset "LIVE[$lp]"
	got=$(awk '$1 == "sent" { print $4 }' "$d/listener.err")
	printf '  %-4s %-7s %-26s RSS max %5.1f MiB, fds max %4d, CPU %3d%%%s; a real peer'"'"'s frames received during it: %s (the peer: %s); listener exit %d\n' \
	    "$lib" "$mode" "$framing${opts:+ $opts}${*:+ $*}" "$(awk -v r="${rss:-0}" 'BEGIN { print r / 1024 }')" "${fds:-0}" "$cpu" \
	    "${accepts:+, accept calls in 2s (strace): $accepts}" "${got:-?}" "$peer" "$st"
	printf '       attacker: %s\n' "$(cat "$d/$mode.out")"
	A_RSS="$(awk -v r="${rss:-0}" 'BEGIN { printf "%.1f", r / 1024 }') MiB"
	A_LINE="fds $fds, CPU $cpu%${accepts:+, accept calls/2s $accepts}, peer frames ${got:-?}"
}

declare -A S_CRASH=() S_RSS=() S_THR=() S_CPU=() HANG=() A_MEM=() A_MEM64=() A_FD=()
echo "transport storm, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; NNG $(dpkg-query -W -f='${Version}' libnng1 2>/dev/null), nanomsg $(dpkg-query -W -f='${Version}' libnanomsg5 2>/dev/null)"
LIBS=${*:-nng nn}
for lib in $LIBS; do
	# (bash's notices of crashed children go to a log, not the table)
	[[ " $PARTS " == *" storm "* ]] && storm "$lib" 0 2>> "$TOP/shell.log"
	[[ " $PARTS " == *" churn "* ]] && storm "$lib" "$ROTATE_MS" 2>> "$TOP/shell.log"
	[[ " $PARTS " == *" hangup "* ]] && hangup "$lib" 2>> "$TOP/shell.log"
done
if [[ " $PARTS " == *" attacks "* ]]; then
	echo "attacks on one listener (RLIMIT_NOFILE 1024, receive limit 64 KiB), ${ATTACK_SECS}s each:"
	for lib in $LIBS; do
		listener_attack "$lib" memhog --sp "" 2>> "$TOP/shell.log"
		A_MEM[$lib]=$A_RSS
		listener_attack "$lib" memhog --sp "-n 900 -s 65536" 2>> "$TOP/shell.log"
		A_MEM64[$lib]=$A_RSS
		listener_attack "$lib" fdhog --sp "" 2>> "$TOP/shell.log"
		A_FD[$lib]=$A_LINE
		listener_attack "$lib" fdhog --akc "" 2>> "$TOP/shell.log"
		[ "$lib" = nng ] && listener_attack nng fdhog --sp "" STORM_MAXPIPES=100 2>> "$TOP/shell.log"
	done
fi
echo
printf '%-26s %-42s %-12s %-12s %s\n' "storm ($NPROC processes)" "died by themselves" "RSS/proc MiB" "threads/proc" "CPU/proc %"
for lib in $LIBS; do
	for rot in 0 "$ROTATE_MS"; do
		k=$lib/$rot
		[ -n "${S_CRASH[$k]:-}" ] || continue
		printf '%-26s %-42s %-12s %-12s %s\n' "$lib$( [ "$rot" != 0 ] && echo " + churn ${rot}ms")" \
		    "${S_CRASH[$k]}" "${S_RSS[$k]}" "${S_THR[$k]}" "${S_CPU[$k]}"
	done
done
echo "  (RSS, threads, CPU: median / max over the live processes 10 s before the end; CPU in % of a core)"
printf '%-9s %-16s %-12s %-12s %s\n' "listener" "hangup crashes" "memhog 40x8M" "900x64K" "fdhog (1100 idle; 1024 fds)"
for lib in $LIBS; do
	printf '%-9s %-16s %-12s %-12s %s\n' "$lib" "${HANG[$lib]:-}" "${A_MEM[$lib]:-}" "${A_MEM64[$lib]:-}" "${A_FD[$lib]:-}"
done
