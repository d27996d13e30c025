# t/lib/akc.bash: start real akc nodes for a test, wait for conditions, clean up by pid.
# shellcheck shell=bash

bats_require_minimum_version 1.5.0
# bats-support and bats-assert, loaded at a test's first call of one of
# their functions: bats sources the test file, and so this, once a test,
# and loading them cost 0.16 s a test at a load of 6 (bats's DEBUG trap
# runs on every command), in a suite where most tests call none of them.
# Their files define functions and nothing else, so loading them from a
# function defines the same functions. Their load.bash files source their
# 15 parts as "$(dirname "${BASH_SOURCE[0]}")/src/...", a fork and exec of
# dirname(1) each: dirname is a shell function meanwhile (0.07 s of the
# 0.16). AKC_ASSERT_FNS: the functions they define that a test may call.
AKC_ASSERT_FNS="fail assert refute assert_equal assert_not_equal assert_success assert_failure
	assert_output refute_output assert_line refute_line assert_regex refute_regex"
akc_load_assert() {
	local f
	for f in $AKC_ASSERT_FNS; do unset -f "$f"; done
	# shellcheck disable=SC2317	# called by the libraries' load.bash files
	dirname() {
		local p=${1%/*}
		[ "$p" = "$1" ] && p=.
		printf '%s\n' "${p:-/}"
	}
	bats_load_library bats-support
	bats_load_library bats-assert
	unset -f dirname
}
for _f in $AKC_ASSERT_FNS; do
	eval "$_f() { akc_load_assert; $_f \"\$@\"; }"
done
unset _f

: "${AKC_BIN:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${AKC_SRC:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
export PATH="$AKC_BIN:$PATH"
export LC_ALL=C

# Timings for tests: fast, but with slack for a shared, noisy 2-core machine.
AKC_GOSSIP=${AKC_GOSSIP:-100ms}
AKC_HB=${AKC_HB:-100ms}
AKC_PAUSE=${AKC_PAUSE:-1s}

# akc_setup: a short private directory (ipc paths must stay short) and a port range.
akc_setup() {
	AKC_DIR=$(mktemp -d /tmp/akc.XXXXXX)
	export AKC_DIR
	: > "$AKC_DIR/pids"
	AKC_SEEDS=""
}

# akc_teardown: kill every process we started, by pid, then remove the directory.
akc_teardown() {
	[ -n "${AKC_DIR:-}" ] || return 0
	if [ -f "$AKC_DIR/pids" ]; then
		{
			while read -r pid; do
				kill -9 "$pid" 2>/dev/null || true
			done < "$AKC_DIR/pids"
			while read -r pid; do
				wait "$pid" 2>/dev/null || true
			done < "$AKC_DIR/pids"
		} 2>/dev/null
	fi
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${AKC_KEEP:-}" ]; then
		rm -rf "$AKC_DIR"
	else
		echo "# logs kept in $AKC_DIR" >&3
	fi
}

# free_port: a TCP port no socket uses (and that we have not handed out),
# below the kernel's ephemeral range: with thousands of connections open on a
# busy machine, a port there is often some connection's local end, and
# memberd's bind then fails with "Address already in use".
#
# Within a test the ports go up: n1's address sorts before n2's, and so on.
# Members moved Up in one leader round get their up numbers in address
# order, so n1 is the oldest even when n2 joined before n1 was Up (tests
# count on it; with ports in random order they failed now and then).
free_port() {
	local p lo last=0
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	(( lo > 21000 )) || lo=61000
	[ -s "$AKC_DIR/ports.last" ] && last=$(cat "$AKC_DIR/ports.last")
	while :; do
		if (( last == 0 || last > lo - 100 )); then
			p=$(( 20000 + (RANDOM * 32768 + RANDOM) % (lo - 25000) ))
		else
			p=$(( last + 1 + RANDOM % 50 ))
		fi
		grep -qx -e "$p" -e "$((p + 1000))" "$AKC_DIR/ports" 2>/dev/null && continue
		# p + 1000 is the master's journal link port ([master] port) on that
		# node; one ss for both (each lists every socket of the machine: 40 ms
		# with the 13,000 of a busy session)
		[ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1000)) )" 2>/dev/null)" ] || continue
		printf '%s\n%s\n' "$p" "$((p + 1000))" >> "$AKC_DIR/ports"
		echo "$p" > "$AKC_DIR/ports.last"
		echo "$p"
		return 0
	done
}

# node_conf NAME [SECTION.KEY=VALUE...]: writes $AKC_DIR/NAME.conf and records NAME's address.
node_conf() {
	local name=$1; shift
	local port addr
	port=$(free_port)
	addr="tcp://127.0.0.1:$port"
	echo "$addr" > "$AKC_DIR/$name.addr"
	local roles="" seeds="${AKC_SEEDS:-$addr}" minnr=1 extra=() kv
	for kv in "$@"; do
		case $kv in
		roles=*) roles=${kv#roles=} ;;
		seeds=*) seeds=${kv#seeds=} ;;
		min-nr=*) minnr=${kv#min-nr=} ;;
		*) extra+=("$kv") ;;
		esac
	done
	{
		echo "[node]"
		echo "name = $name"
		echo "address = $addr"
		[ -n "$roles" ] && echo "roles = $roles"
		echo "run-dir = $AKC_DIR/$name"
		echo "state-dir = $AKC_DIR/$name.state"
		echo "[cluster]"
		[ "$seeds" != none ] && echo "seed-nodes = $seeds"
		echo "min-nr-of-members = $minnr"
		echo "gossip-interval = $AKC_GOSSIP"
		echo "seed-node-timeout = 1s"
		echo "join-retry-max = 1s"
		echo "[failure-detector]"
		echo "heartbeat-interval = $AKC_HB"
		echo "acceptable-heartbeat-pause = $AKC_PAUSE"
		for kv in "${extra[@]}"; do
			case $kv in
			"["*"]=") echo "${kv%=}" ;;	# a section header
			*) echo "${kv%%=*} = ${kv#*=}" ;;
			esac
		done
	} > "$AKC_DIR/$name.conf"
}

# AKC_TIME_RE: the RFC 3339 time (UTC, milliseconds) and blank that start a
# daemon's log lines when they do not go to the journal.
AKC_TIME_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '

# untimed CMD [ARGS...]: runs CMD with its stderr on stdout and the time
# taken off the start of each line, for exact comparisons; CMD's status.
untimed() {
	"$@" 2>&1 | sed -E "s/^$AKC_TIME_RE//"
	return "${PIPESTATUS[0]}"
}

# addr_of NAME
addr_of() { cat "$AKC_DIR/$1.addr"; }
conf_of() { echo "$AKC_DIR/$1.conf"; }

# AKC_WRAP: a command the daemons started below run under (split on blanks;
# e.g. valgrind and its options), or empty. Set it for one call to wrap
# one node: AKC_WRAP="valgrind ..." start_node n1. The pid recorded is the
# wrapper's, which must exec or be the daemon (valgrind is).

# start_daemon NAME PROG [ARGS...]: starts PROG for node NAME in the background
# (fd 3 closed for bats), with ARGS after -c FILE.
start_daemon() {
	local name=$1 prog=$2; shift 2
	# shellcheck disable=SC2086
	${AKC_WRAP:-} "$AKC_BIN/$prog" -c "$AKC_DIR/$name.conf" "$@" >>"$AKC_DIR/$name.$prog.log" 2>&1 3>&- &
	local pid=$!
	echo "$pid" >> "$AKC_DIR/pids"
	echo "$pid" > "$AKC_DIR/$name.$prog.pid"
}

# start_singleton NAME SINGLETON [CMD ARGS...]: singletond -s SINGLETON for node NAME.
start_singleton() {
	local name=$1 sg=$2; shift 2
	local args=(-c "$AKC_DIR/$name.conf" -s "$sg")
	[ $# -gt 0 ] && args+=(-- "$@")
	# shellcheck disable=SC2086
	${AKC_WRAP:-} "$AKC_BIN/singletond" "${args[@]}" >>"$AKC_DIR/$name.singletond.log" 2>&1 3>&- &
	local pid=$!
	echo "$pid" >> "$AKC_DIR/pids"
	echo "$pid" > "$AKC_DIR/$name.singletond.pid"
}

# witness_log: the witness's log, $AKC_DIR/witness.log, exported (the
# witness finds it in its environment) and empty.
witness_log() {
	export WITNESS_LOG="$AKC_DIR/witness.log"
	: > "$WITNESS_LOG"
}

# cont_stopped: SIGCONT to the pids a test left in $STOPPED (it stopped them
# with SIGSTOP and failed before it continued them), for its teardown.
cont_stopped() {
	local p
	for p in ${STOPPED:-}; do
		kill -CONT "$p" 2>/dev/null || true
	done
}

# witness_check LOG: the witness singleton never ran twice at once: no
# OVERLAP (it could not take the shared lock) and no start while another
# start is open (closed by stop, crash, or a "killed" line the test wrote).
witness_check() {
	awk '$3 == "OVERLAP" { print "overlap: " $0; bad = 1 }
	     $3 == "start" { if (open > 0) { print "started while another runs: " $0; bad = 1 }
	                     open++; run[$4] = 1 }
	     $3 == "stop" || $3 == "crash" || $3 == "killed" { if ($4 in run) { delete run[$4]; open-- } }
	     END { exit bad }' "$1" && return 0
	# the evidence, for the test's output
	echo "--- $1"
	cat "$1"
	local f
	for f in "$AKC_DIR"/*.singletond.log; do
		echo "--- $f"
		cat "$f"
	done
	return 1
}

# witness_starts LOG NODE: how many times the witness started on NODE.
witness_starts() { awk -v n="$2" '$2 == n && $3 == "start"' "$1" | wc -l; }

# runs_on NODE: the witness runs on NODE ($WITNESS_LOG's last line of NODE is a start).
runs_on() {
	[ "$(awk -v n="$1" '$2 == n { last = $3 } END { print last }' "$WITNESS_LOG")" = start ]
}

# witness_pid NODE: the pid of the witness's last start on NODE ($WITNESS_LOG).
witness_pid() { awk -v n="$1" '$2 == n && $3 == "start" { p = $4 } END { print p }' "$WITNESS_LOG"; }

# oldest_with NODE ROLE: the oldest Up member with ROLE in NODE's view.
oldest_with() {
	members_json "$1" | jq -r --arg r "$2" '[.[] | select(.status == "Up" and
	    ($r == "" or (.roles | index($r))))] | sort_by(.up_number) | .[0].node'
}

# singleton_on NODE NAME WHERE: NODE's singletond NAME says it runs on WHERE.
singleton_on() {
	[ "$(akc-status -c "$(conf_of "$1")" --json | jq -r --arg s "$2" \
	    '.singletons[] | select(.name == $s) | .running_on')" = "$3" ]
}

# start_node NAME: memberd and leaderd, then wait until memberd answers
# (longer under AKC_WRAP: valgrind takes seconds to start).
start_node() {
	local name=$1
	start_daemon "$name" memberd
	start_daemon "$name" leaderd
	# memberd answers within milliseconds of its start, mostly at the first
	# poll; when not, the next one comes 20 ms later, not 0.1 s
	WAIT_STEP=0.02 wait_until "$([ -n "${AKC_WRAP:-}" ] && echo 60 || echo 10)" \
	    akc-status -c "$AKC_DIR/$name.conf" >/dev/null
}

# cluster_conf N [conf args...]: the configurations of nodes n1..nN, seeds n1 and n2.
cluster_conf() {
	local n=$1 i; shift
	for ((i = 1; i <= n; i++)); do
		node_conf "n$i" "$@"
	done
	AKC_SEEDS="$(addr_of n1)"
	[ "$n" -ge 2 ] && AKC_SEEDS="$AKC_SEEDS, $(addr_of n2)"
	for ((i = 1; i <= n; i++)); do
		sed -i "s|^seed-nodes = .*|seed-nodes = $AKC_SEEDS|" "$AKC_DIR/n$i.conf"
	done
}

# asks_answered SOCKET MATCH...: asks the control socket SOCKET for its
# status 8 times, 0.3 s apart, each with 1 s to answer, and prints how many
# answers held every MATCH (nanocat exits 0 on a timeout too: an answer is
# what it prints). A daemon whose loop blocks on a call leaves some unanswered.
asks_answered() {
	local sock=$1 i ok=0 out m good
	shift
	for i in 1 2 3 4 5 6 7 8; do
		out=$(nanocat --req --connect "ipc://$sock" --data '{"v":2,"cmd":"status"}' \
		    --recv-timeout 1 -A 2>/dev/null || true)
		good=1
		for m in "$@"; do [[ "$out" == *"$m"* ]] || good=0; done
		ok=$((ok + good))
		[ "$i" = 8 ] || sleep 0.3	# pacing: spread the asks over the daemon's calls
	done
	echo "$ok"
}

# start_cluster N [conf args...]: nodes n1..nN, seeds n1 and n2, all started.
start_cluster() {
	local n=$1 i
	cluster_conf "$@"
	for ((i = 1; i <= n; i++)); do
		start_node "n$i"
	done
}

pid_of() { cat "$AKC_DIR/$1.$2.pid"; }

# kill_node NAME: kill -9 every daemon of NAME, and wait until they are dead:
# a process dies a little after its SIGKILL, holding its ports until then,
# and a daemon started on them at once found them in use (as a supervisor
# does, the next start waits for the exit).
kill_node() {
	local f p pids=()
	for f in "$AKC_DIR/$1".*.pid; do
		read -r p < "$f"
		pids+=("$p")
	done
	kill -9 "${pids[@]}" 2>/dev/null || true
	# one wait for all, in short steps: they die within milliseconds of
	# the signal
	WAIT_STEP=0.02 wait_until 10 all_dead "${pids[@]}" >/dev/null
}

# process_dead PID: PID is gone or a zombie (its sockets are closed).
process_dead() {
	kill -0 "$1" 2>/dev/null || return 0
	[ "$(sed -E 's/^.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
# all_dead PID...: process_dead holds for each.
all_dead() {
	local p
	for p in "$@"; do
		process_dead "$p" || return 1
	done
}

# stays_false SECONDS CMD...: CMD keeps failing for that long (a bounded window).
stays_false() {
	local secs=$1; shift
	local end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
	while (( $(date +%s%N) / 1000000 < end )); do
		"$@" && return 1
		sleep 0.2
	done
	return 0
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s (WAIT_STEP) until it succeeds or time
# runs out (the clock from bash's EPOCHREALTIME: no fork of date(1) per poll).
wait_until() {
	local secs=$1; shift
	local t=${EPOCHREALTIME/[.,]/}
	local deadline=$(( t / 1000 + secs * 1000 ))
	local out="$AKC_DIR/wait.out"
	while :; do
		if "$@" >"$out" 2>&1; then
			cat "$out"
			return 0
		fi
		t=${EPOCHREALTIME/[.,]/}
		if (( t / 1000 >= deadline )); then
			echo "timed out after ${secs}s waiting for: $*" >&2
			sed 's/^/  last output: /' "$out" >&2
			return 1
		fi
		sleep "${WAIT_STEP:-0.1}"
	done
}

# capture_start FILE PORT...: tcpdump on loopback, TCP to or from the ports, into FILE
# until capture_stop (TCPDUMP_PID: a teardown kills it if a test fails first).
capture_start() {
	local file=$1 filter="" p; shift
	for p in "$@"; do
		filter="${filter:+$filter or }tcp port $p"
	done
	tcpdump -Z root --immediate-mode -i lo -U -s 0 -w "$file" "$filter" >"$AKC_DIR/tcpdump.log" 2>&1 3>&- &
	TCPDUMP_PID=$!
	wait_until 10 grep -q "listening on" "$AKC_DIR/tcpdump.log"
}
capture_stop() {
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" 2>/dev/null || true
	TCPDUMP_PID=
}

# members_json NODE: akc-members --json of NODE.
members_json() { akc-members -c "$AKC_DIR/$1.conf" --json; }
status_json() { akc-status -c "$AKC_DIR/$1.conf" --json; }

# count_status NODE STATUS: how many members NODE sees in STATUS.
count_status() {
	members_json "$1" | jq --arg s "$2" '[.[] | select(.status == $s)] | length'
}

# all_up NODE N: NODE sees exactly N members, all Up, and convergence.
all_up() { all_up_everywhere "$2" "$1"; }

# everywhere PRED SUBJECT NODES...: PRED NODE SUBJECT holds on every listed node.
everywhere() {
	local pred=$1 subject=$2 n; shift 2
	for n in "$@"; do
		"$pred" "$n" "$subject" || return 1
	done
}

# watch_events NODES...: akc-events of each node into $AKC_DIR/NODE.events,
# returning once each stream has delivered its snapshot.
watch_events() {
	local n
	for n in "$@"; do
		akc-events -c "$(conf_of "$n")" > "$AKC_DIR/$n.events" 2>&1 3>&- &
		echo $! >> "$AKC_DIR/pids"
	done
	for n in "$@"; do
		WAIT_STEP=0.02 wait_until 10 grep -q LeaderChanged "$AKC_DIR/$n.events"
	done
}

# saw NODE TYPE SUBJECT: NODE's event stream has an event TYPE about SUBJECT.
saw() {
	grep -q "\"type\":\"$2\",\"node\":\"$3\"" "$AKC_DIR/$1.events"
}

# removed_on NODE SUBJECT: NODE's event stream shows SUBJECT removed.
removed_on() { saw "$1" MemberRemoved "$2"; }

# all_up_everywhere N NODES...: every listed node sees exactly N members, all
# Up, and convergence. It is the suite's most polled condition, so no jq: a
# start of jq 1.6 costs ~40 ms of CPU (compiling its builtins) and 0.2 s of
# wall time at a load of 5, more than the akc-status calls. akc-status's
# own lines say the same from the same answer: "convergence: yes", and
# "members:" followed by the count of each status present (every status
# akc-status knows is counted there), so exactly "members:     N Up" is N
# members, all Up. A node that does not answer fails it at once.
all_up_everywhere() {
	local n=$1 node out
	shift
	for node in "$@"; do
		out=$'\n'$(akc-status -c "$AKC_DIR/$node.conf")$'\n' || return 1
		[[ $out == *$'\n'"convergence: yes"$'\n'* ]] || return 1
		[[ $out == *$'\n'"members:     $n Up"$'\n'* ]] || return 1
	done
}

# member_status NODE SUBJECT: SUBJECT's status as NODE sees it ("" if absent).
member_status() {
	members_json "$1" | jq -r --arg n "$2" '.[] | select(.node == $n) | .status'
}

# is_unreachable NODE SUBJECT
is_unreachable() {
	[ "$(members_json "$1" | jq -r --arg n "$2" '.[] | select(.node == $n) | .reachable')" = false ]
}

is_absent() {
	[ -z "$(member_status "$1" "$2")" ]
}

# process_exited PID: true once PID is gone.
process_exited() { ! kill -0 "$1" 2>/dev/null; }

# exited_with NODE STATUS: both daemons of NODE exit, with STATUS.
exited_with() {
	local m l
	m=$(pid_of "$1" memberd)
	l=$(pid_of "$1" leaderd)
	wait_until 30 process_exited "$m"
	wait_until 30 process_exited "$l"
	[ "$(exit_status_of "$m")" = "$2" ] && [ "$(exit_status_of "$l")" = "$2" ]
}

# exit_status_of PID: waits for a child started by start_daemon and prints its status.
exit_status_of() {
	local rc=0
	wait "$1" || rc=$?
	echo "$rc"
}

# lowest_node NODES...: the node with the lowest address (the leader rule's first pick).
lowest_node() {
	local n
	for n in "$@"; do
		echo "$(addr_of "$n" | sed 's/.*://') $n"
	done | sort -n | head -1 | cut -d' ' -f2
}

nodes() {
	local i out=()
	for ((i = 1; i <= $1; i++)); do out+=("n$i"); done
	echo "${out[@]}"
}
