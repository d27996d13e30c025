# bench/lib.sh: what the benchmarks share. Sourced, not run.
# shellcheck shell=bash

port_free() { [ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

# bench_confs DIR N: configs DIR/n1.conf..nN.conf for nodes on 127.0.0.1 with
# the contract's default detector and gossip settings; seeds n1 and n2.
bench_confs() {
	local dir=$1 n=$2 i base
	# below the ephemeral range: connections' local ports (and singletond's
	# proxy link listeners) would collide there; so is the journal link's
	# port, the node's + 1000, which otherwise was in it in 1 run of 13
	local lo
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	base=$(( 20000 + RANDOM % (lo - 1000 - 20000 - n - 1) ))
	while ! port_free $((base + 1)) || ! port_free $((base + n)); do
		base=$(( 20000 + RANDOM % (lo - 1000 - 20000 - n - 1) ))
	done
	for ((i = 1; i <= n; i++)); do
		cat > "$dir/n$i.conf" <<CONF
[node]
name = n$i
address = tcp://127.0.0.1:$((base + i))
run-dir = $dir/n$i
state-dir = $dir/n$i.state
[cluster]
seed-nodes = tcp://127.0.0.1:$((base + 1)), tcp://127.0.0.1:$((base + 2))
seed-node-timeout = 1s
CONF
	done
}

# ---- processes ----

say() { echo "bench: $*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_for SECS CMD...: polls CMD until it succeeds or SECS pass
wait_for() {
	local end=$(( $(now_ms) + $1 * 1000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -ge $end ] && return 1
		sleep 0.05
	done
}
# gone PID: the process exited (a zombie of ours counts as gone)
gone() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ]
}
# our_child PID: PID is (still) a process this shell started, not a reused pid
our_child() { [ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = "$$" ]; }
# cpu_ns PID: the ns its threads have spent on a CPU (/proc/PID/task/*/schedstat:
# exact, where /proc/PID/stat's clock ticks miss short wake-ups); 0 when gone
cpu_ns() {
	local s=0 t x
	for t in /proc/"$1"/task/*/schedstat; do
		{ read -r x _ < "$t"; } 2>/dev/null && s=$((s + x))
	done
	echo "$s"
}

# descendants PID...: every process below them (singletond's keeper and
# master, a worker's jobs, the submitters' children), from one ps listing
descendants() {
	ps -e -o pid=,ppid= | awk -v roots="$*" '
	    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) mine[r[i]] = 1 }
	    { kid[NR] = $1; par[NR] = $2 }
	    END { do { more = 0; for (i = 1; i <= NR; i++)
	              if ((par[i] in mine) && !(kid[i] in mine)) { mine[kid[i]] = 1; more = 1; print kid[i] } }
	          while (more) }'
}

# work_confs DIR N BIN: bench_confs for a work cluster of BIN's daemons:
# role backend, gossip and heartbeats every 100ms (pause 1s), the master on
# the oldest with standbys on the others, every node in [master]
# replica-nodes (a majority of N survives a failover) and replicas = 1,
# workers running `exec cat` one job at a time
work_confs() {
	local dir=$1 n=$2 bin=$3 i set
	bench_confs "$dir" "$n"
	set=$(sed -n 's/^address = //p' "$dir"/n*.conf | paste -sd, | sed 's/,/, /g')
	for ((i = 1; i <= n; i++)); do
		sed -i "s|^name = n$i\$|&\nroles = backend|" "$dir/n$i.conf"
		cat >> "$dir/n$i.conf" <<CONF
gossip-interval = 100ms
[failure-detector]
heartbeat-interval = 100ms
acceptable-heartbeat-pause = 1s
[singleton.master]
role = backend
command = exec $bin/master
standby-command = exec $bin/master --standby
stop-timeout = 5s
[master]
replica-nodes = $set
replicas = 1
work-timeout = 60s
[worker]
exec = cat
concurrency = 1
CONF
	done
}

# finish: the scripts' EXIT trap: their own cleanup (every process they
# started, by pid), then their $TOP is removed unless KEEP is set
finish() {
	cleanup
	if [ -n "$KEEP" ]; then say "logs kept in $TOP"; else rm -rf "$TOP"; fi
}

# ---- a local cluster of N nodes n1..nN in $D ----
# These need the script's D (the cluster's directory), N, and LIVE
# (`declare -A LIVE=()`: pid -> what, for every process started and not yet
# reaped; the script's cleanup kills them by pid).

# reap PID: forget it once it is gone (so it is never killed after reuse).
# Every process is disowned once started (no job notices when one is killed);
# bash still collects its exit status.
reap() { unset "LIVE[$1]"; }
# stamp: each line of stdin with the wall time of its arrival (the daemons'
# own logs carry none)
stamp() {
	local l
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
}
# start PROG NODE [ARGS...]: a daemon of NODE, its pid in $D/NODE.LABEL.pid,
# its output (and its children's: the master's log goes to singletond's)
# time-stamped into $D/NODE.LABEL.log; LABEL is PROG unless $LABEL says
# otherwise (two workers on one node)
start() {
	local prog=$1 node=$2; shift 2
	local label=${LABEL:-$prog}
	local fifo=$D/$node.$label.fifo
	[ -p "$fifo" ] || mkfifo "$fifo"
	stamp < "$fifo" >> "$D/$node.$label.log" &
	LIVE[$!]="$node $label log"
	disown $!
	"$prog" -c "$D/$node.conf" "$@" > "$fifo" 2>&1 &
	LIVE[$!]="$node $label"
	echo $! >> "$D/$node.$label.pid"
	disown $!
}
# pid_of NODE LABEL: the last one started
pid_of() { tail -1 "$D/$1.$2.pid"; }
# start_node NODE SINGLETON: memberd, leaderd and singletond -s SINGLETON
start_node() {
	local node=$1
	start memberd "$node"
	start leaderd "$node"
	wait_for 10 akc-status -c "$D/$node.conf" || { say "$node: memberd does not answer"; return 1; }
	start singletond "$node" -s "$2"
}
status_json() { akc-status -c "$D/$1.conf" --json 2>/dev/null; }
# all_up NODE: NODE sees N members, all Up, converged, and its singletond
# knows the oldest
all_up() {
	status_json "$1" | jq -e --argjson n "$N" '
	    ([.members[] | select(.status == "Up")] | length) == $n and
	    (.members | length) == $n and .convergence == true and
	    (.singletons[0].oldest // null) != null' >/dev/null
}
all_up_everywhere() {
	local i
	for ((i = 1; i <= N; i++)); do all_up "n$i" || return 1; done
}
# nth_oldest K: the K-th oldest Up member (0: the oldest) as "NAME UID"
nth_oldest() {
	local i j
	for ((i = 1; i <= N; i++)); do
		j=$(akc-members -c "$D/n$i.conf" --json 2>/dev/null) || continue
		jq -r --argjson k "$1" '[.[] | select(.status == "Up")] | sort_by(.up_number) |
		    .[$k] | "\(.node) \(.uid)"' <<<"$j"
		return 0
	done
	return 1
}
# everyone_knows NODE: every singletond says the oldest is NODE
everyone_knows() {
	local i
	for ((i = 1; i <= N; i++)); do
		[ "$(status_json "n$i" | jq -r '.singletons[0].oldest')" = "$1" ] || return 1
	done
}
# node_gone NODE: memberd, leaderd and singletond of NODE have exited
node_gone() {
	local p
	for p in $(pid_of "$1" memberd) $(pid_of "$1" leaderd) $(pid_of "$1" singletond); do
		gone "$p" || return 1
	done
}
# event_ms FILE TYPE NODE [UID]: epoch ms of that event in an akc-events stream
event_ms() {
	jq -R -r --arg t "$2" --arg n "$3" --arg u "${4:-}" 'fromjson? |
	    select(.type == $t and .node == $n and ($u == "" or .uid == $u) and (.time // "") != "") |
	    ((.time[0:19] + "Z") | fromdateiso8601) * 1000 + (.time[20:23] | tonumber)' "$1" |
	    head -1
}
# watch NODE FILE: akc-events of NODE into FILE, once its snapshot is in
watch() {
	akc-events -c "$D/$1.conf" > "$2" 2>>"$D/$1.events.err" &
	LIVE[$!]="$1 akc-events"
	WATCHER=$!
	disown $!
	wait_for 10 grep -q LeaderChanged "$2"
}
unwatch() { kill -9 "$WATCHER" 2>/dev/null; wait_for 5 gone "$WATCHER"; reap "$WATCHER"; }

# ---- statistics ----

# pct P: the P-th percentile of the numbers on stdin (nearest rank)
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { if (!NR) { print "n/a"; exit }
    i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i] }'; }
# stats COLUMN FILE: min/median/max of a column of ms, in seconds
stats() {
	[ -s "$2" ] || { echo "   n/a      n/a      n/a"; return; }
	awk -v c="$1" '{ print $c }' "$2" | sort -n | awk '{ v[NR] = $1 }
	    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
	          printf "%8.3f %8.3f %8.3f", v[1] / 1000, m / 1000, v[NR] / 1000 }'
}
rows() { [ -s "$1" ] && wc -l < "$1" || echo 0; }

# pids_cleanup_trap: for scripts that keep their processes in PIDS and their
# directory in D (both set here): on exit, every pid is killed, D removed.
pids_cleanup() {
	local p
	{
		for p in "${PIDS[@]}"; do kill -9 "$p"; done
		wait
	} 2>/dev/null
	[ -n "$D" ] && rm -rf "$D"
	D=""
	PIDS=()
}
pids_cleanup_trap() {
	D=""
	PIDS=()
	trap pids_cleanup EXIT
	trap 'exit 130' INT TERM
}
