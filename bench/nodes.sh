#!/bin/bash
# bench/nodes.sh [N] [SPREAD] [HOLD]: N real nodes (memberd + leaderd) on
# 127.0.0.1, started evenly over SPREAD seconds (default 200 over 10), with
# 3 seeds and the default detector and gossip settings; after HOLD seconds
# (default 60) prints how many memberds and leaderds are still alive (none
# should die: a library abort, a crash), how many nodes see all N Up, how
# long after the last start 10 sampled nodes all did, the CPU (core-seconds)
# of all memberds and leaderds until then and idle after, and
# memberd RSS, how many leaderds waited on a slow memberd or lost it, and
# the sampled leaderds' state reads (rounds, and those memberd answered
# "unchanged"). AKC_BIN picks the build (another checkout's, to compare).
# The join's messages count n1 (a seed and the leader: several times a
# member's) apart from the other sampled, and estimate all N's from both.
# Then, from every memberd's log (its timestamped event lines): the time all
# nodes saw all N Up, idle bytes sent per memberd (its own counters, over
# the hold), and DOWNS nodes killed in turn (kill -9 -> UnreachableMember
# on every other node, then akc-down -> MemberRemoved everywhere) and LEAVES
# nodes leaving (akc-leave -> MemberRemoved everywhere), each delay counted
# per observing node: min / median / max (default DOWNS=3 LEAVES=3).
# Each delay is also split into its phases (the version seen everywhere,
# the leader's decision, the next version seen everywhere), from the same
# logs. A memberd or leaderd that died is reported with its exit status
# (128 + the signal that ended it), and its core when it dumped one: every
# daemon runs with ulimit -c unlimited in a directory of its own.
# PEER_SOCKETS sets [cluster] peer-sockets (default: memberd's, 128); the
# sampled memberds' connections made and evicted are printed at the end.
# WELCOME_BUDGET sets [cluster] welcome-budget (default: memberd's, 4000; 0:
# every joiner of this build gets a partial welcome).
# LEADER_V=1 runs n1's daemons (the leader) with -v: their debug lines
# (leaderd's rounds, exit notices) in its logs.
# STARTS_OUT=FILE writes when each node started (ms after the first), for
# akc-sim --starts: under load the loop's forks fall behind SPREAD.
# Over the removals (the downs and leaves) it prints the CPU of n1's memberd
# and leaderd and the other memberds' and leaderds' mean, and the messages
# the sampled memberds handled then (what a version costs outside its
# messages: akc-sim's --version-cost and --state-cost). PERF_OUT=DIR also
# records n1's memberd and leaderd and the middle node's memberd with perf
# (DWARF call graphs) over them, and with a uprobe on events_diff (perf probe
# -x "$AKC_BIN/memberd" --add events_diff) counts the versions each published.
# NODES_DIR=DIR puts the nodes' directory (run-dirs, state-dirs, logs) in DIR
# (default /tmp). On a file system without a journal (ext4 here: /tmp, /run)
# every file made checks the inodes deleted in the last minute or more
# (ext4's recently_deleted), so a run started soon after another's cleanup
# paid for the previous run's ~15 files a node at each of its own: up to
# 0.35 core-s per 100 nodes more at 100, more at 200, the second run of a
# back-to-back pair charged. NODES_DIR=/dev/shm (a tmpfs, as /run is on a
# systemd host) has no such cost; compare builds on the same one.
# KEEP=1 keeps the nodes' directory (configs, logs) for a look afterwards;
# it is kept anyway when a core was dumped.
set -u
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
N=${1:-200}
SPREAD=${2:-10}
HOLD=${3:-60}
DOWNS=${DOWNS:-3}
LEAVES=${LEAVES:-3}
export PATH="$AKC_BIN:$PATH"
[ -x "$AKC_BIN/memberd" ] || { echo "bench: build first (bin/akc-bootstrap)" >&2; exit 1; }
. bench/lib.sh

D=$(mktemp -d "${NODES_DIR:-/tmp}/akc-nodes.XXXXXX") || exit 1
PIDS=()
MPID=() LPID=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${KEEP:-}" ] || [ -n "$(find "$D/cores" -type f -name 'core*' 2>/dev/null | head -1)" ]; then
		echo "logs kept in $D"
	else
		rm -rf "$D"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true
# a daemon that crashes leaves its core in $D/cores/nI (core_pattern permitting)
ulimit -c unlimited 2>/dev/null || true

# ports below the ephemeral range, where outbound connections' ports would collide
read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
# every one of the N free (a memberd that cannot listen exits 1 at start:
# seen once at 200, its port taken by another session's test)
ports_free() {
	ss -Htln 2>/dev/null | awk -v a="$1" -v b="$2" '{ n = split($4, p, ":"); if (p[n] >= a && p[n] <= b) bad = 1 }
	    END { exit bad }'
}
base=$(( 20000 + RANDOM % (lo - 20000 - N - 1) ))
while ! ports_free $((base + 1)) $((base + N)); do
	base=$(( 20000 + RANDOM % (lo - 20000 - N - 1) ))
done
addr() { echo "tcp://127.0.0.1:$((base + $1))"; }
seeds="$(addr 1), $(addr 2), $(addr 3)"
for ((i = 1; i <= N; i++)); do
	cat > "$D/n$i.conf" <<CONF
[node]
name = n$i
address = $(addr "$i")
run-dir = $D/n$i
state-dir = $D/n$i.state
[cluster]
seed-nodes = $seeds
${PEER_SOCKETS:+peer-sockets = $PEER_SOCKETS}
${WELCOME_BUDGET:+welcome-budget = $WELCOME_BUDGET}
CONF
done
echo "akc nodes benchmark, $(date -u +%FT%RZ), $(nproc) cores, build $AKC_BIN, in $D ($(stat -f -c %T "$D"))"
echo "$N nodes (memberd + leaderd) started over ${SPREAD}s, held ${HOLD}s"
# TCP connections opened on the machine (every process's, not only ours: a quiet machine's figure)
tcp_opens() { awk '/^Tcp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }
tcp_segs() { awk '/^Tcp:/ { if (h) { print $12; exit } h = 1 }' /proc/net/snmp; }
opens0=$(tcp_opens) segs0=$(tcp_segs)
t0=$(date +%s%N)
for ((i = 1; i <= N; i++)); do
	mkdir -p "$D/cores/n$i"
	cd "$D/cores/n$i" || exit 1
	v=""
	[ "$i" = 1 ] && [ -n "${LEADER_V:-}" ] && v=-v
	memberd $v -c "$D/n$i.conf" >"$D/n$i.memberd.log" 2>&1 &
	PIDS+=($!)
	MPID[i]=$!
	leaderd $v -c "$D/n$i.conf" >"$D/n$i.leaderd.log" 2>&1 &
	cd "$OLDPWD" || exit 1
	PIDS+=($!)
	LPID[i]=$!
	TSTART[i]=${EPOCHREALTIME/./}	# us: forks slow down as the load grows
	# evenly over SPREAD seconds
	target=$(( t0 + i * SPREAD * 1000000000 / N ))
	now=$(date +%s%N)
	(( target > now )) && sleep "$(( (target - now) / 1000000 ))e-3"
done
t_last=$(date +%s%N)
# the starts as they were: under load the loop's forks fall behind SPREAD
# (200 nodes over 10 s took 30 s here), and akc-sim's --window should be this
# STARTS_OUT=FILE: each node's start, ms after the first, for akc-sim --starts
if [ -n "${STARTS_OUT:-}" ]; then
	for ((i = 1; i <= N; i++)); do echo $(( (TSTART[i] - TSTART[1]) / 1000 )); done > "$STARTS_OUT"
fi
started=$(awk -v a="${TSTART[1]}" -v h="${TSTART[$(( (N + 1) / 2 ))]}" -v z="${TSTART[N]}" \
    'BEGIN { printf "%.1f s (half of them by %.1f s)", (z - a) / 1e6, (h - a) / 1e6 }')
# CPU seconds (user + system) of all memberds and leaderds, from /proc:
# "all memberds leaderds memberds-kernel memberds-schedstat leaderds-schedstat"
# (a process that died counts no more). /proc/PID/stat's times are in clock
# ticks, sampled: a process charged only when it runs at a tick, which a
# daemon woken for 50 us at a time mostly is not (100 memberds in a join:
# 3.7 core-s by the ticks, 4.9 by schedstat); each thread's schedstat
# (/proc/PID/task/TID: nanomsg's worker threads too) has its time on a CPU
# in ns, exact. The tick figures are kept (the user/kernel split, the
# figures before)
cpu_all() {
	local i t m=0 l=0 ms=0 hz sm=0 sl=0 x
	hz=$(getconf CLK_TCK)
	for ((i = 1; i <= N; i++)); do
		{ read -r -a st < "/proc/${MPID[i]}/stat"; } 2>/dev/null &&
		    m=$((m + st[13] + st[14])) ms=$((ms + st[14]))
		{ read -r -a st < "/proc/${LPID[i]}/stat"; } 2>/dev/null && l=$((l + st[13] + st[14]))
		for t in /proc/"${MPID[i]}"/task/*/schedstat; do
			{ read -r x _ < "$t"; } 2>/dev/null && sm=$((sm + x))
		done
		for t in /proc/"${LPID[i]}"/task/*/schedstat; do
			{ read -r x _ < "$t"; } 2>/dev/null && sl=$((sl + x))
		done
	done
	# all, memberds, leaderds, the memberds' system (kernel) time, and schedstat's
	echo "$m $l $hz $ms $sm $sl" | awk '{ printf "%.1f %.1f %.1f %.1f %.3f %.3f", ($1 + $2) / $3,
	    $1 / $3, $2 / $3, $4 / $3, $5 / 1e9, $6 / 1e9 }'
}
# every 2 s until HOLD: do the sampled nodes all see N Up yet?
step=$(( N / 10 > 0 ? N / 10 : 1 ))
up_s=never
while (( $(date +%s%N) - t_last < HOLD * 1000000000 )); do
	ok=1
	for ((i = 1; i <= N; i += step)); do
		up=$(timeout 5 akc-members -c "$D/n$i.conf" --json 2>/dev/null |
			jq '[.[] | select(.status == "Up")] | length' 2>/dev/null)
		[ "${up:-0}" = "$N" ] || { ok=0; break; }
	done
	if (( ok )); then
		up_s=$(( ($(date +%s%N) - t_last) / 1000000 ))
		up_s=$(awk -v m="$up_s" 'BEGIN { printf "%.1f", m / 1000 }')
		break
	fi
	sleep 1
done
read -r cpu_join cpu_join_m cpu_join_l cpu_join_ms cpu_join_sm cpu_join_sl <<< "$(cpu_all)"
opens_join=$(tcp_opens) segs_join=$(tcp_segs)
# context switches of the memberds (every thread) until then: their wake-ups
ctxt_join=$(for ((i = 1; i <= N; i++)); do cat /proc/"${MPID[i]}"/task/*/status 2>/dev/null; done |
    awk '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 }
    END { printf "%d voluntary, %d involuntary", v, n }')
# and their minor page faults (memory the heap took from the kernel, or gave back and took again)
flt_join=$(for ((i = 1; i <= N; i++)); do cat /proc/"${MPID[i]}"/stat 2>/dev/null; done |
    awk '{ f += $10 } END { printf "%d", f }')
t_join=$(date +%s%N)
# bytes sent by the sampled memberds (their own counters), over the idle rest of the hold;
# their status answers are kept in FILE (the join's messages and system calls, below)
sent_bytes() {
	local i
	for ((i = 1; i <= N; i += step)); do
		timeout 10 akc-status -c "$D/n$i.conf" --json 2>/dev/null | jq -c . | tee -a "$1" |
		    jq '.traffic.sent_bytes'
	done | awk '{ s += $1; n++ } END { printf "%.0f %d", s, n }'
}
t_b0=$(date +%s%N)
read -r bytes0 nb0 <<< "$(sent_bytes "$D/status.join")"
rest=$(( HOLD * 1000 - (t_join - t_last) / 1000000 ))
(( rest > 0 )) && sleep "$(( rest ))e-3"
read -r bytes1 nb1 <<< "$(sent_bytes "$D/status.end")"
t_b1=$(date +%s%N)
read -r cpu_end cpu_end_m cpu_end_l _ <<< "$(cpu_all)"
idle_s=$(( ($(date +%s%N) - t_join) / 1000000 ))
alive_m=0 alive_l=0 allup=0 rss=() deaths=()
# builtins only: under this load every fork takes a while
for ((i = 1; i <= N; i++)); do
	if kill -0 "${MPID[i]}" 2>/dev/null; then
		alive_m=$((alive_m + 1))
	else
		wait "${MPID[i]}" 2>/dev/null
		deaths+=("n$i memberd: exit status $?: $(tail -1 "$D/n$i.memberd.log" 2>/dev/null)")
	fi
	if kill -0 "${LPID[i]}" 2>/dev/null; then
		alive_l=$((alive_l + 1))
	else
		wait "${LPID[i]}" 2>/dev/null
		deaths+=("n$i leaderd: exit status $?")
	fi
	r=0
	while read -r k v _; do
		[ "$k" = VmRSS: ] && r=$v
	done < "/proc/${MPID[i]}/status" 2>/dev/null
	rss+=("$r")
done
for ((i = 1; i <= N; i += N / 10 > 0 ? N / 10 : 1)); do
	up=$(akc-members -c "$D/n$i.conf" --json 2>/dev/null | jq '[.[] | select(.status == "Up")] | length')
	[ "${up:-0}" = "$N" ] && allup=$((allup + 1))
done
sampled=$(( (N + (N / 10 > 0 ? N / 10 : 1) - 1) / (N / 10 > 0 ? N / 10 : 1) ))
# the sampled leaderds' state reads (a leaderd without these fields: none shown)
conns=$(for ((i = 1; i <= N; i += N / 10 > 0 ? N / 10 : 1)); do
	timeout 10 akc-status -c "$D/n$i.conf" --json 2>/dev/null | jq -c '.connections'
done | jq -rs '"\(length) sampled memberds: \(map(.connects) | add) connections made, \(map(.evicted) | add) evicted (least recently used, at peer-sockets), \(map(.accepted) | add) accepted"' 2>/dev/null)
rounds=$(for ((i = 1; i <= N; i += N / 10 > 0 ? N / 10 : 1)); do
	kill -0 "${LPID[i]}" 2>/dev/null || continue
	nanocat --req --connect "ipc://$D/n$i/leaderd.ctl" --data '{"v":2,"cmd":"status"}' \
	    --recv-timeout 5 -A 2>/dev/null
done | jq -rs '[.[] | select(.rounds != null)] | select(length > 0) |
    "\(length) leaderds, \(map(.rounds) | add) state reads, \(map(.rounds_unchanged) | add) of them unchanged, \(map(.rounds_not_leader // 0) | add) without the state (not the leader)"' 2>/dev/null)

# ---- from the memberds' logs: "<rfc3339 ms> memberd: event TYPE: NODE (STATUS)" ----
# ms of the UTC day (the logs' timestamps and date +%s%N compared alike)
day_ms() { echo $(( $1 / 1000000 % 86400000 )); }
# logs_of I...: the memberd logs of nodes I...
logs_of() { local i; for i in "$@"; do echo "$D/n$i.memberd.log"; done; }
# delays TYPE NODE T0_MS LOG...: per log, ms from T0 (of the day) to its
# first such event at or after T0 (one before, from the join's churn, is not it)
delays() {
	local type=$1 node=$2; shift 2
	delays_f "memberd: event $type: $node (" "$@"
}
# delays_f STRING T0_MS LOG...: the same for the first line holding STRING
delays_f() {
	local str=$1 t0=$2; shift 2
	grep -H -F "$str" "$@" 2>/dev/null |
		sed 's/^\([^:]*\):\([0-9-]*T\)\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z.*/\1 \3 \4 \5/' |
		awk -v t0="$t0" '{ d = ($2 * 3600 + $3 * 60 + $4) * 1000 - t0;
		    if (d < -43200000) d += 86400000
		    if (d >= -5 && !($1 in seen)) { seen[$1] = 1; printf "%d\n", d } }'
}
# wait_logs SECS TYPE NODE LOG...: until every LOG has the event, or SECS pass
wait_logs() {
	local end=$(( $(date +%s) + $1 )) type=$2 node=$3; shift 3
	while [ -n "$(grep -L -m1 -F "memberd: event $type: $node (" "$@" 2>/dev/null | head -1)" ]; do
		(( $(date +%s) >= end )) && return 1
		sleep 0.2
	done
}
# stats3: min / median / max (ms -> s) and the count of numbers on stdin
stats3() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "min %.3f  median %.3f  max %.3f s (n=%d)", v[1] / 1000, m / 1000, v[NR] / 1000, NR }'; }

# all Up on every node: per log, the time of its N-th MemberUp line
upall=$(for ((i = 1; i <= N; i++)); do
	grep -F "memberd: event MemberUp: " "$D/n$i.memberd.log" 2>/dev/null | sed -n "${N}p" |
		sed 's/^[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z.*/\1 \2 \3/' |
		awk -v t0="$(day_ms "$t_last")" '{ d = ($1 * 3600 + $2 * 60 + $3) * 1000 - t0;
		    if (d < -43200000) d += 86400000; printf "%d\n", d }'
done)
nup=$(grep -c . <<< "$upall")

live=()
for ((i = 1; i <= N; i++)); do kill -0 "${MPID[i]}" 2>/dev/null && live+=("$i"); done
others() { local i; for i in "${live[@]}"; do [ "$i" != "$1" ] && echo "$i"; done; }
detect_all="" down_all="" leave_all=""
ph_down="" ph_down_rm="" ph_left="" ph_exiting="" ph_exited="" ph_removed="" rows=""
# mm: "median/max" of the ms on stdin (one number: itself)
mm() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) { printf "n/a"; exit }
	m = NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)
	if (NR == 1) printf "%d", v[1]; else printf "%d/%d", m, v[NR] }'; }
# the removals' CPU, per process: what a version costs outside its messages
# (akc-sim's --version-cost, --state-cost); PERF_OUT=DIR also records n1's
# memberd and leaderd and a follower's memberd (the middle node) with perf
cpu_each() {
	local i hz
	for ((i = 1; i <= N; i++)); do
		st=(0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
		{ read -r -a st < "/proc/${MPID[i]}/stat"; } 2>/dev/null
		lt=(0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)
		{ read -r -a lt < "/proc/${LPID[i]}/stat"; } 2>/dev/null
		echo "$i $((st[13] + st[14])) $((lt[13] + lt[14]))"
	done
}
rm_msgs() {
	local i
	for ((i = 1; i <= N; i += step)); do
		timeout 10 akc-status -c "$D/n$i.conf" --json 2>/dev/null |
		    jq -r --arg i "$i" '"\($i) \(.traffic.sent_messages) \(.traffic.received_messages) \(.traffic.sent_bytes) \(.traffic.received_bytes)"'
	done
}
rm_msgs > "$D/rm.msgs0"
cpu_each > "$D/rm.cpu0"
t_rm0=$(date +%s%N)
perf_pid=""
if [ -n "${PERF_OUT:-}" ]; then
	mkdir -p "$PERF_OUT"
	mid=$(( N / 2 ))
	perf record -q -F 4999 --call-graph dwarf,8192 -o "$PERF_OUT/leader.data" -p "${MPID[1]},${LPID[1]}" 2>/dev/null &
	perf_pid="$! "
	perf record -q -F 4999 --call-graph dwarf,8192 -o "$PERF_OUT/follower.data" -p "${MPID[mid]}" 2>/dev/null &
	perf_pid+="$!"
	# the versions each published (events_diff runs once a version): a uprobe,
	# when one is set (perf probe -x "$AKC_BIN/memberd" --add events_diff)
	if perf probe -l 2>/dev/null | grep -q 'probe_memberd:events_diff'; then
		perf stat -x, -e probe_memberd:events_diff -o "$PERF_OUT/leader.versions" -p "${MPID[1]}" 2>/dev/null &
		perf_pid+=" $!"
		perf stat -x, -e probe_memberd:events_diff -o "$PERF_OUT/follower.versions" -p "${MPID[mid]}" 2>/dev/null &
		perf_pid+=" $!"
	fi
fi
for ((k = 0; k < DOWNS && ${#live[@]} > 5; k++)); do
	v=$(( N - k ))
	kill -0 "${MPID[v]}" 2>/dev/null || continue
	mapfile -t obs < <(logs_of $(others "$v"))
	sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
	t_kill=$(date +%s%N)
	{ kill -9 "${MPID[v]}" "${LPID[v]}"; wait "${MPID[v]}" "${LPID[v]}"; } 2>/dev/null
	live=($(others "$v"))
	wait_logs 60 UnreachableMember "n$v" "${obs[@]}" ||
		echo "bench: not every node saw n$v unreachable within 60 s" >&2
	detect_all+="$(delays UnreachableMember "n$v" "$(day_ms "$t_kill")" "${obs[@]}")"$'\n'
	t_down=$(date +%s%N)
	akc-down -c "$D/n1.conf" "n$v" >/dev/null
	wait_logs 60 MemberRemoved "n$v" "${obs[@]}" ||
		echo "bench: n$v not removed everywhere within 60 s" >&2
	down_all+="$(delays MemberRemoved "n$v" "$(day_ms "$t_down")" "${obs[@]}")"$'\n'
	a=$(delays MemberDowned "n$v" "$(day_ms "$t_down")" "${obs[@]}")
	b=$(delays_f "memberd: leader: n$v ($(addr "$v")) Down -> Removed" \
	    "$(day_ms "$t_down")" "${obs[@]}")
	c=$(delays MemberRemoved "n$v" "$(day_ms "$t_down")" "${obs[@]}")
	ph_down+="$a"$'\n'
	ph_down_rm+="$b"$'\n'
	rows+="$(printf '  down n%s: Down everywhere %s, leader Down -> Removed %s, Removed everywhere %s ms' \
	    "$v" "$(mm <<< "$a")" "$(mm <<< "$b")" "$(mm <<< "$c")")"$'\n'
done
for ((k = 0; k < LEAVES && ${#live[@]} > 5; k++)); do
	v=$(( N - DOWNS - k ))
	kill -0 "${MPID[v]}" 2>/dev/null || continue
	mapfile -t obs < <(logs_of $(others "$v"))
	t_leave=$(date +%s%N)
	akc-leave -c "$D/n$v.conf" >/dev/null
	live=($(others "$v"))
	wait_logs 60 MemberRemoved "n$v" "${obs[@]}" ||
		echo "bench: n$v not removed everywhere within 60 s" >&2
	leave_all+="$(delays MemberRemoved "n$v" "$(day_ms "$t_leave")" "${obs[@]}")"$'\n'
	a=$(delays MemberLeft "n$v" "$(day_ms "$t_leave")" "${obs[@]}")
	b=$(delays_f "memberd: leader: n$v ($(addr "$v")) Leaving -> Exiting" \
	    "$(day_ms "$t_leave")" "${obs[@]}")
	c=$(delays MemberExited "n$v" "$(day_ms "$t_leave")" "${obs[@]}")
	# the leaving node itself: when it saw itself Exiting and told every member
	x=$(delays_f "memberd: this node is Exiting" "$(day_ms "$t_leave")" "$D/n$v.memberd.log")
	e=$(delays_f "memberd: leader: n$v ($(addr "$v")) Exiting -> Removed" \
	    "$(day_ms "$t_leave")" "${obs[@]}")
	f=$(delays MemberRemoved "n$v" "$(day_ms "$t_leave")" "${obs[@]}")
	ph_left+="$a"$'\n'
	ph_exiting+="$b"$'\n'
	ph_exited+="$c"$'\n'
	ph_removed+="$e"$'\n'
	rows+="$(printf '  leave n%s: Leaving everywhere %s, leader Leaving -> Exiting %s, Exiting everywhere %s (n%s itself %s), leader Exiting -> Removed %s, Removed everywhere %s ms' \
	    "$v" "$(mm <<< "$a")" "$(mm <<< "$b")" "$(mm <<< "$c")" "$v" "$(mm <<< "$x")" "$(mm <<< "$e")" "$(mm <<< "$f")")"$'\n'
done

[ -n "$perf_pid" ] && { kill -INT $perf_pid; wait $perf_pid; } 2>/dev/null
t_rm1=$(date +%s%N)
cpu_each > "$D/rm.cpu1"
rm_msgs > "$D/rm.msgs1"
printf 'started over %s, asked %d s\n' "$started" "$SPREAD"
printf 'memberd alive: %d/%d   leaderd alive: %d/%d\n' "$alive_m" "$N" "$alive_l" "$N"
printf 'nodes seeing all %d Up: %d of %d sampled\n' "$N" "$allup" "$sampled"
printf 'all sampled nodes saw all %d Up: %s s after the last start\n' "$N" "$up_s"
printf 'all %d Up, per node from its log (%d of %d nodes logged all): %s\n' "$N" "$nup" "$N" \
    "$(grep . <<< "$upall" | stats3)"
awk -v j="$cpu_join" -v e="$cpu_end" -v n="$N" -v s="$idle_s" -v jm="$cpu_join_m" \
    -v jl="$cpu_join_l" -v jms="$cpu_join_ms" -v em="$cpu_end_m" -v el="$cpu_end_l" \
    -v sm="$cpu_join_sm" -v sl="$cpu_join_sl" 'BEGIN {
	printf "CPU (memberd+leaderd) until then: %.1f core-s (%.2f per 100 nodes)\n", j, j * 100 / n
	printf "  of which memberds %.1f (%.1f of it in the kernel), leaderds %.1f core-s\n", jm, jms, jl
	printf "  by schedstat (exact): %.3f core-s (%.2f per 100 nodes): memberds %.3f, leaderds %.3f\n", sm + sl, (sm + sl) * 100 / n, sm, sl
	if (s > 0) printf "idle CPU after: %.2f %% of a core per node (over %.0f s; memberds %.1f, leaderds %.1f core-s)\n", (e - j) * 100000 / s / n, s / 1000, em - jm, el - jl }'
printf '%s\n' "${rss[@]}" | sort -n | awk '{v[NR]=$1; s+=$1} END {
	printf "memberd RSS: mean %.2f MiB, max %.2f MiB\n", s/NR/1024, v[NR]/1024 }'
printf 'memberd context switches until then (all %d): %s; minor page faults %d\n' "$N" "$ctxt_join" "$flt_join"
# from start to all Up, per sampled memberd: messages by kind, and the system calls that carried them
jq -rs 'length as $n | select($n > 0) | def avg(f): (map(f // 0) | add) / $n | floor;
    "the join, per sampled memberd (\($n)): sent \(avg(.traffic.sent_messages)) messages (gossip \(avg(.traffic.by_type.gossip.sent_messages)), heartbeat \(avg(.traffic.by_type.heartbeat.sent_messages)), other \(avg(.traffic.by_type.other.sent_messages))) in \(avg(.connections.writes)) writes; received \(avg(.traffic.received_messages)) in \(avg(.connections.reads)) reads; \(avg(.traffic.sent_bytes)) bytes sent"' \
    "$D/status.join" 2>/dev/null
# n1, the first sampled, is a seed and the leader: it sends several times what a member does
# (akc-sim: 20% of a 100-node join's messages), so the others' mean stands for the other N-1
jq -rs --arg n "$N" 'length as $k | select($k > 1) | (.[0].traffic.sent_messages // 0) as $l |
    ((.[1:] | map(.traffic.sent_messages // 0) | add) / ($k - 1)) as $o |
    "the join: n1 (seed, leader) sent \($l) messages, the other sampled \($o | floor) each: \(($l + $o * (($n | tonumber) - 1)) / ($n | tonumber) | floor) per node"' \
    "$D/status.join" 2>/dev/null
# the join's full states and statuses by why (akc-status "gossip"; akc-sim's full_states.gossip_per_node)
jq -rs 'length as $k | select($k > 1 and .[0].gossip != null) |
    def fmt(o): o | to_entries | map("\(.key) \(.value | floor)") | join(", ");
    def mean(f): (.[1:] | map(f) | add) / ($k - 1);
    "the join, n1: states sent \(fmt(.[0].gossip.states_sent)); statuses \(fmt(.[0].gossip.statuses_sent)); answers deferred \(.[0].gossip.answers_deferred), adopted \(.[0].gossip.adopted), merged \(.[0].gossip.merged)",
    "the join, other sampled (mean): states sent \(fmt(reduce (.[1:][] | .gossip.states_sent | to_entries[]) as $e ({}; .[$e.key] += $e.value / ($k - 1)))); statuses \(fmt(reduce (.[1:][] | .gossip.statuses_sent | to_entries[]) as $e ({}; .[$e.key] += $e.value / ($k - 1)))); answers deferred \(mean(.gossip.answers_deferred) | floor), adopted \(mean(.gossip.adopted) | floor), merged \(mean(.gossip.merged) | floor)"' \
    "$D/status.join" 2>/dev/null
# the join's memberd CPU per message: the messages vary from run to run (timing), the cost per message less
jq -rs --arg cpu "$cpu_join_m" --arg n "$N" 'length as $k | select($k > 1) |
    ((.[0].traffic.sent_messages // 0) + (.[1:] | map(.traffic.sent_messages // 0) | add) / ($k - 1) *
    (($n | tonumber) - 1)) as $m | select($m > 0) |
    ((.[0].traffic.received_messages // 0) + (.[1:] | map(.traffic.received_messages // 0) | add) / ($k - 1) *
    (($n | tonumber) - 1)) as $r |
    "memberd CPU per message sent in the join: \(($cpu | tonumber) * 1e6 / $m | floor) us; per message sent or received \(($cpu | tonumber) * 1e6 / ($m + $r) | floor) us (\($m | floor) sent, \($r | floor) received: n1 and the other sampled times N-1)"' \
    "$D/status.join" 2>/dev/null
awk -v b0="$bytes0" -v b1="$bytes1" -v n="$nb1" -v t0="$t_b0" -v t1="$t_b1" 'BEGIN {
	if (n > 0 && t1 > t0) printf "idle bytes sent per memberd (own counters, %d sampled, %.0f s): %.0f B/s\n",
	    n, (t1 - t0) / 1e9, (b1 - b0) / n / ((t1 - t0) / 1e9) }'
printf 'kill -9 -> UnreachableMember on every other node (%d kills): %s\n' "$DOWNS" \
    "$(grep . <<< "$detect_all" | stats3)"
printf 'akc-down -> MemberRemoved on every other node:   %s\n' "$(grep . <<< "$down_all" | stats3)"
printf 'akc-leave -> MemberRemoved on every other node (%d leaves): %s\n' "$LEAVES" \
    "$(grep . <<< "$leave_all" | stats3)"
# where a removal's time goes: each version seen everywhere, and the leader's decisions
printf '  phases, s after akc-down: Down on every other node %s\n' "$(grep . <<< "$ph_down" | stats3)"
printf '    leader: Down -> Removed %s\n' "$(grep . <<< "$ph_down_rm" | stats3)"
printf '  phases, s after akc-leave: Leaving on every other node %s\n' "$(grep . <<< "$ph_left" | stats3)"
printf '    leader: Leaving -> Exiting %s\n' "$(grep . <<< "$ph_exiting" | stats3)"
printf '    Exiting on every other node %s\n' "$(grep . <<< "$ph_exited" | stats3)"
printf '    leader: Exiting -> Removed %s\n' "$(grep . <<< "$ph_removed" | stats3)"
echo "each one, ms after the command (median/max over the other nodes):"
printf '%s' "$rows"
# the removals (downs and leaves): CPU over the window, n1 apart, and the
# sampled memberds' messages handled in it (the idle rate is in it too)
join -j1 "$D/rm.cpu0" "$D/rm.cpu1" | awk -v hz="$(getconf CLK_TCK)" -v dt="$(( (t_rm1 - t_rm0) / 1000000 ))" '
	$1 == 1 { m1 = ($4 - $2) / hz; l1 = ($5 - $3) / hz; next }
	$4 > 0 { n++; m += ($4 - $2) / hz; l += ($5 - $3) / hz }
	END { printf "the removals (%.1f s): n1 memberd %.3f, leaderd %.3f core-s; the other %d memberds %.4f, leaderds %.4f core-s each\n",
	    dt / 1000, m1, l1, n, m / n, l / n }'
join -j1 "$D/rm.msgs0" "$D/rm.msgs1" | awk '
	$1 == 1 { printf "  n1 handled %d messages (%d bytes) in them", $6 - $2 + $7 - $3, $8 - $4 + $9 - $5; next }
	{ k++; s += $6 - $2 + $7 - $3; b += $8 - $4 + $9 - $5 }
	END { if (k) printf ", the other sampled %.0f each (%.0f bytes)", s / k, b / k; printf "\n" }'
printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$conns" ] && printf 'connections over the whole run: %s\n' "$conns"
printf 'TCP connections opened on the machine (TcpActiveOpens): %d in the join, %d over the whole run; segments sent in the join (OutSegs) %d\n' \
    $((opens_join - opens0)) $(($(tcp_opens) - opens0)) $((segs_join - segs0))
[ -n "$rounds" ] && printf 'sampled leaderds over the whole run: %s\n' "$rounds"
died=$(grep -l -E "Assertion|assert|abort|Aborted|corrupted|double free|invalid pointer|stack smashing" "$D"/*.log 2>/dev/null | wc -l)
printf 'leaderds that waited on a slow memberd: %d; that lost it: %d\n' \
    "$(grep -l "memberd is slow" "$D"/*.leaderd.log 2>/dev/null | wc -l)" \
    "$(grep -l "lost memberd" "$D"/*.leaderd.log 2>/dev/null | wc -l)"
printf 'logs naming an assertion, an abort or a corrupted heap: %d\n' "$died"
if (( ${#deaths[@]} > 0 )); then
	echo "daemons that died before the downs (128 + N: signal N):"
	printf '  %s\n' "${deaths[@]}"
	find "$D/cores" -type f -name 'core*' 2>/dev/null | sed 's/^/  core: /'
fi
grep -h -E "Assertion|abort|corrupted|double free|invalid pointer|stack smashing" "$D"/*.log 2>/dev/null | sort | uniq -c | head -3
if (( alive_l < N )); then
	echo "why leaderds ended (last lines, counted):"
	for ((i = 1; i <= N; i++)); do
		kill -0 "${LPID[i]}" 2>/dev/null || tail -1 "$D/n$i.leaderd.log"
	done | sed 's/[0-9]\{2,\}/N/g' | sort | uniq -c | sort -rn | head -5
fi
