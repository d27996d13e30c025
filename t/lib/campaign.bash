# t/lib/campaign.bash: a randomized, seeded fault campaign over network-namespace
# hosts, and the checker of akc's two promises (never two singletons, never a
# lost acknowledged job) plus liveness after the last heal and no daemon crash.
# Sourced by t/9003-campaign.bats and bench/campaign.sh, after t/lib/akc.bash
# and t/lib/netns.bash (it uses akc_setup's AKC_DIR, net_setup, host_conf,
# wait_until, all_up_everywhere).
#
# Five hosts h1..h5 (seeds h1 h2 h3, h1 the first seed), roles backend,worker,
# each running memberd, leaderd, singletond -s w (the test witness),
# singletond -s master (master, with master --standby elsewhere) and a worker
# (exec cat), every daemon under a supervisor loop inside the host's network
# namespace that starts it again 1 s after it exits (systemd's Restart=always)
# and logs every start and exit in AKC_DIR/HOST.exits:
#     TIME HOST PROG start PID
#     TIME HOST PROG exit STATUS PID
# Our helpers outside the hosts (the submitter's lanes, the sampler) run in
# one more namespace, akcNNc, with no network (the node's sockets are ipc
# files): net_teardown kills whatever runs in it, like in the hosts.
#
# Files in AKC_DIR (kept with AKC_KEEP=1 in the tests, always by the bench):
#   HOST.PROG.log     a daemon's output (singletond-w, singletond-master for
#                     the singletonds), with a "--- supervisor" line per start
#   HOST.exits        the supervisor's start/exit lines (above)
#   witness.log       the witness's start/stop lines, plus our "killed" lines
#   plan              the fault plan drawn from the seed: SECONDS ACTION ARGS
#   faults.log        what was done: REL-SECONDS EPOCH ACTION ARGS
#   acks              TIME ID HOST for every job akc-submit acknowledged
#   submit.log        every failed submit attempt (and its error)
#   samples           TIME masters=HOSTS witnesses=HOSTS, every ~200 ms
#   results.HOST.json akc-results through each node at the end; results.json
#                     the one missing the fewest acknowledged ids
#   lost, duplicated, crashes   what the checker found
#   report            the checker's findings and the summary line
# shellcheck shell=bash

# Settings (environment, or set by the caller before campaign_setup).
: "${CAMPAIGN_SEED_TIMEOUT:=30s}"	# [cluster] seed-node-timeout
: "${CAMPAIGN_GAP_MIN:=5}"		# seconds between two faults
: "${CAMPAIGN_GAP_MAX:=20}"
: "${CAMPAIGN_DOWN_MIN:=5}"		# seconds a killed host stays down
: "${CAMPAIGN_DOWN_MAX:=30}"
: "${CAMPAIGN_PAUSE_MIN:=1}"		# seconds a memberd (a singletond, a whole host) stays SIGSTOPped
: "${CAMPAIGN_PAUSE_MAX:=8}"
: "${CAMPAIGN_RATE:=15}"		# jobs acknowledged per second, at most (all lanes)
: "${CAMPAIGN_LANES:=5}"		# submitters at once, each with its own ids
: "${CAMPAIGN_LIVENESS:=120}"		# seconds after the end for everything to be well again
# Weights of the faults the plan draws (each fault is one of these). A kind
# added here changes every seed's plan (t/9003's fixed seed was chosen for
# its plan): nodepause (a whole host stopped) is drawn only when named,
# as bench/campaign.sh does.
: "${CAMPAIGN_WEIGHTS:=cut23:3 cut14:2 heal:4 kill:2 pause:3 sgpause:2 oneway:2 lossy:2 seedrestart:1}"

CAMPAIGN_PROGS="memberd leaderd singletond-w singletond-master worker"

_campaign_ms() {	# now, in epoch milliseconds (from $EPOCHREALTIME: no date(1))
	local t=${EPOCHREALTIME/./}
	echo "${t%???}"
}
_campaign_now() { echo "${EPOCHREALTIME%???}"; }	# epoch seconds.milliseconds

# campaign_setup: the network of 5 hosts and the control namespace, the
# nodes' configurations. Call after akc_setup (and net_require in a test).
campaign_setup() {
	local h
	# read by node_conf (t/lib/akc.bash)
	# shellcheck disable=SC2034
	AKC_GOSSIP=200ms AKC_HB=200ms AKC_PAUSE=1s
	witness_log
	: > "$AKC_DIR/faults.log"
	: > "$AKC_DIR/acks"
	: > "$AKC_DIR/samples"
	: > "$AKC_DIR/stopped"
	: > "$AKC_DIR/sgstopped"
	: > "$AKC_DIR/nstopped"
	: > "$AKC_DIR/campaign.pids"
	rm -f "$AKC_DIR/submit.stop" "$AKC_DIR/sampler.stop"
	net_setup 5
	CAMPAIGN_NS="akc${NET_ID}c"
	ip netns add "$CAMPAIGN_NS"
	echo "$CAMPAIGN_NS" >> "$AKC_DIR/net.namespaces"
	# shellcheck disable=SC2034
	AKC_SEEDS="tcp://$(ip_of h1):7400, tcp://$(ip_of h2):7400, tcp://$(ip_of h3):7400"
	declare -gA CAMPAIGN_DOWN=()
	for h in "${NET_HOSTS[@]}"; do
		campaign_conf "$h"
		: > "$AKC_DIR/$h.exits"
		CAMPAIGN_DOWN[$h]=1
	done
}

# campaign_conf HOST: HOST's configuration (see the top of this file).
campaign_conf() {
	local h=$1 conf="$AKC_DIR/$1.conf"
	host_conf "$h" roles=backend,worker \
	    "[cluster]=" "seed-node-timeout=$CAMPAIGN_SEED_TIMEOUT" \
	    "[downing]=" strategy=keep-majority stable-after=2s down-removal-margin=8s \
	    "[singleton.w]=" role=backend "command=exec $AKC_BIN/t/witness" stop-timeout=2s \
	    "[singleton.master]=" role=backend "command=exec $AKC_BIN/master -c $conf" \
	    "standby-command=exec $AKC_BIN/master -c $conf --standby" \
	    "[master]=" replicas=1 \
	    "[worker]=" exec=cat
}

# _campaign_supervise HOST PROG LOG EXITS PIDFILE CMD...: runs CMD again 1 s
# after each exit, logging starts and exits. Runs inside the host's namespace
# (passed there with declare -f, so it must stand alone).
_campaign_supervise() {
	local host=$1 prog=$2 log=$3 exits=$4 pidf=$5 child rc
	shift 5
	while :; do
		"$@" </dev/null >>"$log" 2>&1 &
		child=$!
		echo "$child" > "$pidf"
		echo "${EPOCHREALTIME%???} $host $prog start $child" >> "$exits"
		echo "--- supervisor: ${EPOCHREALTIME%???} started pid $child" >> "$log"
		rc=0
		wait "$child" || rc=$?
		echo "${EPOCHREALTIME%???} $host $prog exit $rc $child" >> "$exits"
		echo "--- supervisor: ${EPOCHREALTIME%???} pid $child exited with status $rc" >> "$log"
		sleep 1
	done
}

# _campaign_in_ns NS "FUNCTION [HELPER...]" ARGS...: FUNCTION (with the
# functions it calls, standing alone) in the background inside NS, stdin from
# /dev/null and fd 3 closed (for bats); its pid (the bash inside NS: ip netns
# exec execs) in $CAMPAIGN_PID and in AKC_DIR/campaign.pids.
_campaign_in_ns() {
	local ns=$1 fns=$2 fn
	shift 2
	fn=${fns%% *}
	# shellcheck disable=SC2016,SC2086
	ip netns exec "$ns" bash -c "$(declare -f $fns); $fn \"\$@\"" "$fn" "$@" \
	    </dev/null >>"$AKC_DIR/campaign.err" 2>&1 3>&- &
	CAMPAIGN_PID=$!
	echo "$CAMPAIGN_PID" >> "$AKC_DIR/campaign.pids"
}

# campaign_host_start HOST: a supervisor for each of HOST's five daemons.
campaign_host_start() {
	local h=$1 ns conf prog cmd
	ns=$(ns_of "$h")
	conf="$AKC_DIR/$h.conf"
	for prog in $CAMPAIGN_PROGS; do
		case $prog in
		singletond-*) cmd=("$AKC_BIN/singletond" -c "$conf" -s "${prog#singletond-}") ;;
		*) cmd=("$AKC_BIN/$prog" -c "$conf") ;;
		esac
		_campaign_in_ns "$ns" _campaign_supervise "$h" "$prog" "$AKC_DIR/$h.$prog.log" \
		    "$AKC_DIR/$h.exits" "$AKC_DIR/$h.$prog.pid" "${cmd[@]}"
		echo "$CAMPAIGN_PID" > "$AKC_DIR/$h.$prog.sup"
		# never waited for (killed with their host, reaped by bash): no job notices
		disown "$CAMPAIGN_PID"
	done
	CAMPAIGN_DOWN[$h]=0
}

# _campaign_witness_pids NS: the witnesses running in namespace NS.
_campaign_witness_pids() {
	local p c
	for p in $(ip netns pids "$1" 2>/dev/null); do
		c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[ "$c" = witness ] && echo "$p"
	done
	return 0
}

# campaign_host_kill HOST: kill -9 of every process of HOST, supervisors
# included, until none is left; a "killed" line in the witness log for each
# witness it ran (it had no chance to log its stop).
campaign_host_kill() {
	local h=$1 ns pids p i now
	local -A wit=()
	ns=$(ns_of "$h")
	for ((i = 0; i < 100; i++)); do
		for p in $(_campaign_witness_pids "$ns"); do wit[$p]=1; done
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$pids" ] && break
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null || true
		sleep 0.05
	done
	[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || echo "campaign: $h: processes left after kill -9: $(ip netns pids "$ns")" >&2
	now=$(_campaign_now)
	for p in "${!wit[@]}"; do
		echo "$now $h killed $p" >> "$WITNESS_LOG"
	done
	CAMPAIGN_DOWN[$h]=1
}

# campaign_host_stop HOST: SIGSTOP of every process of HOST (its daemons,
# the singletons and their keepers, the standby, the worker and its jobs, the
# supervisors), all in one kill(1); their pids in AKC_DIR/nstopped ("HOST
# PID..."). Prints how many, or why none.
campaign_host_stop() {
	local h=$1 pids
	pids=$(ip netns pids "$(ns_of "$h")" 2>/dev/null | tr '\n' ' ')
	if [ -z "${pids// /}" ]; then
		echo "(nothing runs)"
		return 0
	fi
	# shellcheck disable=SC2086
	kill -STOP $pids 2>/dev/null
	echo "$h $pids" >> "$AKC_DIR/nstopped"
	echo "$(wc -w <<<"$pids") processes"
}

# campaign_host_cont HOST: SIGCONT, all in one kill(1), of the processes
# campaign_host_stop stopped on HOST that are still there (a kill -9 of the
# host may have come meanwhile, and a pid been reused); prints how many.
campaign_host_cont() {
	local h=$1 ns line p pids="" n=0
	ns=$(ns_of "$h")
	while read -r line; do
		# shellcheck disable=SC2086
		set -- $line
		[ "$1" = "$h" ] || continue
		shift
		for p in "$@"; do
			[ "$(ip netns identify "$p" 2>/dev/null)" = "$ns" ] && pids+=" $p" n=$((n + 1))
		done
	done < "$AKC_DIR/nstopped"
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -CONT $pids 2>/dev/null
	# once continued, not again (the end continues what is still listed)
	awk -v h="$h" '$1 != h' "$AKC_DIR/nstopped" > "$AKC_DIR/nstopped.new" &&
	    mv "$AKC_DIR/nstopped.new" "$AKC_DIR/nstopped"
	echo "$n processes"
}

# _campaign_census DIR WITNESS_LOG: "masters=HOSTS witnesses=HOSTS", the hosts
# (comma-separated, - for none) where an active master (not --standby) of
# this cluster and a witness of this campaign run now, from /proc (pgrep
# reads /proc/PID/cmdline; a witness's environment names its node and log).
# Stands alone (the sampler runs it in the control namespace).
_campaign_census() {
	local dir=$1 wlog=$2 line host p e ok m="" w=""
	local -a env
	while read -r line; do
		case $line in *" --standby"*) continue ;; esac
		case $line in *" -c $dir/"*) ;; *) continue ;; esac
		host=${line##* -c "$dir"/}
		host=${host%%.conf*}
		m+="${m:+,}$host"
	done < <(pgrep -a -x master)
	for p in $(pgrep -x witness); do
		mapfile -t -d '' env 2>/dev/null < "/proc/$p/environ" || continue
		ok=0 host="?"
		for e in "${env[@]}"; do
			case $e in
			"WITNESS_LOG=$wlog") ok=1 ;;
			AKC_NODE=*) host=${e#AKC_NODE=} ;;
			esac
		done
		[ "$ok" = 1 ] && w+="${w:+,}$host"
	done
	echo "masters=${m:--} witnesses=${w:--}"
}
campaign_census() { _campaign_census "$AKC_DIR" "$WITNESS_LOG"; }

# _campaign_sampler DIR WITNESS_LOG STOPFILE OUT: a census every ~200 ms.
_campaign_sampler() {
	while [ ! -e "$3" ]; do
		echo "${EPOCHREALTIME%???} $(_campaign_census "$1" "$2")" >> "$4"
		sleep 0.2
	done
}

campaign_sampler_start() {
	rm -f "$AKC_DIR/sampler.stop"
	_campaign_in_ns "$CAMPAIGN_NS" "_campaign_sampler _campaign_census" "$AKC_DIR" "$WITNESS_LOG" \
	    "$AKC_DIR/sampler.stop" "$AKC_DIR/samples"
	CAMPAIGN_SAMPLER=$CAMPAIGN_PID
}
campaign_sampler_stop() {
	touch "$AKC_DIR/sampler.stop"
	[ -n "${CAMPAIGN_SAMPLER:-}" ] && wait "$CAMPAIGN_SAMPLER" 2>/dev/null
	CAMPAIGN_SAMPLER=""
	return 0
}

# _campaign_lane SUBMIT LANE SEED INTERVAL_MS STOPFILE ACKS LOG CONF...: jobs
# with the ids c-SEED-LANE-N, N = 0, 1, ...; each id is submitted again (to
# the next node's config) until akc-submit prints it and exits 0, then it is
# recorded as acknowledged; at most one job per INTERVAL_MS.
_campaign_lane() {
	local submit=$1 lane=$2 seed=$3 iv=$4 stop=$5 acks=$6 log=$7
	shift 7
	local -a confs=("$@")
	local n=0 k=$lane id conf out rc t0 t host
	while [ ! -e "$stop" ]; do
		id="c-$seed-$lane-$n"
		t=${EPOCHREALTIME/./}
		t0=${t%???}
		while [ ! -e "$stop" ]; do
			conf=${confs[k % ${#confs[@]}]}
			k=$((k + 1))
			host=${conf##*/}
			host=${host%.conf}
			rc=0
			out=$("$submit" -c "$conf" --call-timeout 2s --id "$id" "payload of $id" 2>&1) || rc=$?
			if [ "$rc" = 0 ] && [ "$out" = "$id" ]; then
				echo "${EPOCHREALTIME%???} $id $host" >> "$acks"
				break
			fi
			echo "${EPOCHREALTIME%???} $id $host rc=$rc ${out//$'\n'/ }" >> "$log"
			sleep 0.2
		done
		n=$((n + 1))
		t=${EPOCHREALTIME/./}
		t=$(( iv - (${t%???} - t0) ))
		if [ "$t" -gt 0 ]; then
			sleep "$((t / 1000)).$(printf %03d $((t % 1000)))"
		fi
	done
}

# campaign_submitter_start SEED: CAMPAIGN_LANES lanes, CAMPAIGN_RATE jobs/s in all.
campaign_submitter_start() {
	local seed=$1 lane iv confs=() h
	for h in "${NET_HOSTS[@]}"; do confs+=("$AKC_DIR/$h.conf"); done
	iv=$(( 1000 * CAMPAIGN_LANES / CAMPAIGN_RATE ))
	rm -f "$AKC_DIR/submit.stop"
	CAMPAIGN_LANE_PIDS=()
	for ((lane = 1; lane <= CAMPAIGN_LANES; lane++)); do
		_campaign_in_ns "$CAMPAIGN_NS" _campaign_lane "$AKC_BIN/akc-submit" "$lane" "$seed" "$iv" \
		    "$AKC_DIR/submit.stop" "$AKC_DIR/acks" "$AKC_DIR/submit.log" "${confs[@]}"
		CAMPAIGN_LANE_PIDS+=("$CAMPAIGN_PID")
	done
}

# campaign_submitter_stop: no new submit; waits for the ones under way (each
# bounded by akc-submit --call-timeout).
campaign_submitter_stop() {
	local p
	touch "$AKC_DIR/submit.stop"
	for p in "${CAMPAIGN_LANE_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	CAMPAIGN_LANE_PIDS=()
	return 0
}

acked_count() { wc -l < "$AKC_DIR/acks"; }

# campaign_start_all: every host's daemons; waits until all 5 are Up in every
# view, a master answers and a witness runs.
campaign_start_all() {
	local h
	for h in "${NET_HOSTS[@]}"; do
		campaign_host_start "$h"
	done
	wait_until 60 all_up_everywhere 5 "${NET_HOSTS[@]}" >/dev/null &&
	wait_until 60 akc-queue -c "$AKC_DIR/h1.conf" --json >/dev/null &&
	wait_until 30 census_is 1 1 >/dev/null
}

# census_is M W: exactly M active masters and W witnesses run now.
census_is() {
	local c m w
	c=$(campaign_census)
	echo "$c"
	m=${c#masters=}; m=${m%% *}
	w=${c#* witnesses=}
	[ "$(_campaign_nhosts "$m")" = "$1" ] && [ "$(_campaign_nhosts "$w")" = "$2" ]
}
_campaign_nhosts() {	# "h1,h2" -> 2, "-" -> 0
	[ "$1" = - ] && { echo 0; return; }
	local IFS=,
	# shellcheck disable=SC2086
	set -- $1
	echo $#
}

# ---- the plan: faults drawn from the seed ----

# _campaign_pick WORDS...: one of them, drawn with $RANDOM, in PICK (not
# echoed: a command substitution is a subshell, which reseeds RANDOM)
_campaign_pick() {
	local -a a=("$@")
	PICK=${a[RANDOM % ${#a[@]}]}
}

# campaign_plan SEED DURATION FILE: the fault plan, "SECONDS ACTION ARGS" lines in
# time order. Drawn from RANDOM=SEED alone (not from what happens), so a seed
# always gives the same plan. Actions: cut A,B C,D,E | heal | kill H | restart H
# | stop H | cont H | sgstop H w|master | sgcont H w|master | nstop H | ncont H
# | oneway FROM TO | lossy H PERCENT | seedrestart h1.
campaign_plan() {
	local seed=$1 dur=$2 out=$3 t=0 total=0 r w kind h a b d i
	local -a kinds=() weights=() ev=() up hs
	local -A back=() pending=()
	for w in $CAMPAIGN_WEIGHTS; do
		kinds+=("${w%%:*}")
		weights+=("${w#*:}")
		total=$((total + ${w#*:}))
	done
	RANDOM=$seed
	while :; do
		t=$(( t + CAMPAIGN_GAP_MIN + RANDOM % (CAMPAIGN_GAP_MAX - CAMPAIGN_GAP_MIN + 1) ))
		(( t < dur )) || break
		r=$(( RANDOM % total ))
		for ((i = 0; i < ${#kinds[@]}; i++)); do
			(( r < weights[i] )) && break
			r=$(( r - weights[i] ))
		done
		kind=${kinds[i]}
		up=()
		for h in "${NET_HOSTS[@]}"; do
			(( ${back[$h]:-0} <= t )) && up+=("$h")
		done
		[ ${#up[@]} -eq 0 ] && case $kind in kill|pause|sgpause|nodepause) kind=heal ;; esac
		case $kind in
		cut23|cut14)
			hs=("${NET_HOSTS[@]}")
			for ((i = ${#hs[@]} - 1; i > 0; i--)); do	# shuffle
				d=$(( RANDOM % (i + 1) ))
				a=${hs[i]} hs[i]=${hs[d]} hs[d]=$a
			done
			if [ "$kind" = cut23 ]; then
				a="${hs[0]},${hs[1]}" b="${hs[2]},${hs[3]},${hs[4]}"
			else
				a="${hs[0]}" b="${hs[1]},${hs[2]},${hs[3]},${hs[4]}"
			fi
			ev+=("$t cut $a $b") ;;
		heal)
			ev+=("$t heal") ;;
		kill)
			_campaign_pick "${up[@]}"; h=$PICK
			d=$(( CAMPAIGN_DOWN_MIN + RANDOM % (CAMPAIGN_DOWN_MAX - CAMPAIGN_DOWN_MIN + 1) ))
			back[$h]=$((t + d))
			ev+=("$t kill $h")
			pending[$h]=${#ev[@]}
			ev+=("$((t + d)) restart $h") ;;
		pause)
			_campaign_pick "${up[@]}"; h=$PICK
			d=$(( CAMPAIGN_PAUSE_MIN + RANDOM % (CAMPAIGN_PAUSE_MAX - CAMPAIGN_PAUSE_MIN + 1) ))
			ev+=("$t stop $h" "$((t + d)) cont $h") ;;
		sgpause)
			# a singletond stalled: only the singleton's lease (its keeper)
			# can stop the singleton on time if the node is cut off or
			# downed meanwhile
			_campaign_pick "${up[@]}"; h=$PICK
			_campaign_pick w master; a=$PICK
			d=$(( CAMPAIGN_PAUSE_MIN + RANDOM % (CAMPAIGN_PAUSE_MAX - CAMPAIGN_PAUSE_MIN + 1) ))
			ev+=("$t sgstop $h $a" "$((t + d)) sgcont $h $a") ;;
		nodepause)
			# a whole host stalled (a VM paused, a machine swapping):
			# every process of it, the singletons' keepers too, so no
			# lease can act before the SIGCONT; only the down-removal
			# margin keeps the others from starting a second singleton
			_campaign_pick "${up[@]}"; h=$PICK
			d=$(( CAMPAIGN_PAUSE_MIN + RANDOM % (CAMPAIGN_PAUSE_MAX - CAMPAIGN_PAUSE_MIN + 1) ))
			ev+=("$t nstop $h" "$((t + d)) ncont $h") ;;
		oneway)
			_campaign_pick "${NET_HOSTS[@]}"; a=$PICK
			_campaign_pick "${NET_HOSTS[@]}"; b=$PICK
			while [ "$b" = "$a" ]; do _campaign_pick "${NET_HOSTS[@]}"; b=$PICK; done
			ev+=("$t oneway $a $b") ;;
		lossy)
			_campaign_pick "${NET_HOSTS[@]}"; h=$PICK
			ev+=("$t lossy $h $(( 10 + RANDOM % 21 ))") ;;
		seedrestart)
			# kill -9 of the first seed and its restart at once; a restart
			# still planned for it (it was down) is no longer needed
			if [ -n "${pending[h1]:-}" ] && (( ${back[h1]:-0} > t )); then
				unset "ev[${pending[h1]}]"
			fi
			back[h1]=$t
			unset "pending[h1]"
			ev+=("$t seedrestart h1") ;;
		esac
	done
	printf '%s\n' "${ev[@]}" | sort -s -n -k1,1 > "$out"
}

# _campaign_log ACTION ARGS: a line in faults.log, relative to the start.
_campaign_log() {
	local ms
	ms=$(( $(_campaign_ms) - CAMPAIGN_T0 ))
	echo "$((ms / 1000)).$(printf %03d $((ms % 1000))) $(_campaign_now) $*" >> "$AKC_DIR/faults.log"
}

# campaign_execute PLAN DURATION: does each action at its time; returns at DURATION.
campaign_execute() {
	local plan=$1 dur=$2 t kind a b pid now
	CAMPAIGN_T0=$(_campaign_ms)
	while read -r t kind a b; do
		while now=$(_campaign_ms); (( now < CAMPAIGN_T0 + t * 1000 )); do
			sleep 0.1
		done
		case $kind in
		cut)
			net_cut "${a//,/ }" "${b//,/ }" ;;
		heal)
			net_heal ;;
		kill)
			campaign_host_kill "$a" ;;
		restart)
			[ "${CAMPAIGN_DOWN[$a]}" = 1 ] || { _campaign_log "$kind $a (up already: nothing to do)"; continue; }
			campaign_host_start "$a" ;;
		seedrestart)
			campaign_host_kill "$a"
			campaign_host_start "$a" ;;
		stop)
			pid=$(cat "$AKC_DIR/$a.memberd.pid" 2>/dev/null)
			if [ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$a")" ] &&
			    kill -STOP "$pid" 2>/dev/null; then
				echo "$a $pid" >> "$AKC_DIR/stopped"
				b=$pid
			else
				b="(no memberd running)"
			fi ;;
		sgstop)
			pid=$(cat "$AKC_DIR/$a.singletond-$b.pid" 2>/dev/null)
			if [ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$a")" ] &&
			    kill -STOP "$pid" 2>/dev/null; then
				echo "$a $pid $b" >> "$AKC_DIR/sgstopped"
				b="$b $pid"
			else
				b="$b (no singletond running)"
			fi ;;
		sgcont)
			pid=$(awk -v h="$a" -v w="$b" '$1 == h && $3 == w { p = $2 } END { print p }' \
			    "$AKC_DIR/sgstopped" 2>/dev/null)
			[ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$a")" ] &&
			    kill -CONT "$pid" 2>/dev/null
			b="$b $pid" ;;
		nstop)
			b=$(campaign_host_stop "$a") ;;
		ncont)
			b=$(campaign_host_cont "$a") ;;
		cont)
			pid=$(awk -v h="$a" '$1 == h { p = $2 } END { print p }' "$AKC_DIR/stopped")
			# only while it is still that host's (it may have been killed since)
			[ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$a")" ] &&
			    kill -CONT "$pid" 2>/dev/null
			b=$pid ;;
		oneway)
			net_cut_oneway "$a" "$b" ;;
		lossy)
			net_lossy "$a" "$b" ;;
		esac
		_campaign_log "$kind $a $b"
	done < "$plan"
	while now=$(_campaign_ms); (( now < CAMPAIGN_T0 + dur * 1000 )); do
		sleep 0.2
	done
}

# campaign_end: every link healed, every paused memberd continued, every host
# that is down started again.
campaign_end() {
	local h pid
	net_heal
	_campaign_log "end: heal"
	while read -r h pid; do
		[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$h")" ] && kill -CONT "$pid" 2>/dev/null
	done < "$AKC_DIR/stopped"
	while read -r h pid _; do
		[ "$(ip netns identify "$pid" 2>/dev/null)" = "$(ns_of "$h")" ] && kill -CONT "$pid" 2>/dev/null
	done < <(cat "$AKC_DIR/sgstopped" 2>/dev/null)
	for h in "${NET_HOSTS[@]}"; do
		campaign_host_cont "$h" >/dev/null
	done
	for h in "${NET_HOSTS[@]}"; do
		if [ "${CAMPAIGN_DOWN[$h]}" = 1 ]; then
			campaign_host_start "$h"
			_campaign_log "end: restart $h"
		fi
	done
}

# campaign_results FILE: akc-results of the first node that answers.
campaign_results() {
	local h
	for h in "${NET_HOSTS[@]}"; do
		akc-results -c "$AKC_DIR/$h.conf" --timeout 5s > "$1.tmp" 2>/dev/null &&
		    mv "$1.tmp" "$1" && return 0
	done
	rm -f "$1.tmp"
	return 1
}

# campaign_results_best FILE: akc-results of every node that answers (in
# AKC_DIR/results.HOST.json; after a split that never healed, the nodes may
# reach different masters); FILE gets the one that misses the fewest
# acknowledged ids (so the loss counted is the least any node shows). One
# line per node that answered when they do not all agree.
campaign_results_best() {
	local h best="" bestn="" n lines=() seen=""
	for h in "${NET_HOSTS[@]}"; do
		rm -f "$AKC_DIR/results.$h.json"
		akc-results -c "$AKC_DIR/$h.conf" --timeout 5s > "$AKC_DIR/results.$h.json.tmp" 2>/dev/null || continue
		mv "$AKC_DIR/results.$h.json.tmp" "$AKC_DIR/results.$h.json"
		n=$(comm -23 <(awk '{ print $2 }' "$AKC_DIR/acks" | sort -u) \
		    <(jq -r .id "$AKC_DIR/results.$h.json" | sort -u) | wc -l)
		lines+=("results through $h: $(wc -l < "$AKC_DIR/results.$h.json") jobs, $n acknowledged ids missing")
		seen+=" $n:$(wc -l < "$AKC_DIR/results.$h.json")"
		if [ -z "$bestn" ] || [ "$n" -lt "$bestn" ]; then best=$h bestn=$n; fi
	done
	rm -f "$AKC_DIR"/results.*.json.tmp
	[ -n "$best" ] || return 1
	cp "$AKC_DIR/results.$best.json" "$1"
	# shellcheck disable=SC2086
	if [ "$(printf '%s\n' $seen | sort -u | wc -l)" != 1 ]; then
		printf '%s\n' "${lines[@]}"
		echo "acknowledged ids in no node's results: $(comm -23 <(awk '{ print $2 }' "$AKC_DIR/acks" | sort -u) \
		    <(cat "$AKC_DIR"/results.h*.json | jq -r .id | sort -u) | wc -l)"
	fi
	return 0
}

# acked_missing: acknowledged ids not (yet) in AKC_DIR/results.json.
acked_missing() {
	comm -23 <(awk '{ print $2 }' "$AKC_DIR/acks" | sort -u) \
	    <(jq -r .id "$AKC_DIR/results.json" | sort -u)
}

# campaign_alive: every node Up in every view, one master, one witness, and
# every acknowledged job in the results. Says what is missing when not.
campaign_alive() {
	local n
	all_up_everywhere 5 "${NET_HOSTS[@]}" || { echo "not all 5 Up and converged in every view"; return 1; }
	census_is 1 1 || { echo "not one master and one witness"; return 1; }
	campaign_results "$AKC_DIR/results.json" || { echo "no node gives the results"; return 1; }
	n=$(acked_missing | wc -l)
	[ "$n" = 0 ] || { echo "$n acknowledged jobs not in the results"; return 1; }
}

# campaign_liveness SECONDS: sets CAMPAIGN_LIVE to ok or FAILED.
campaign_liveness() {
	local t0
	t0=$(_campaign_ms)
	if wait_until "$1" campaign_alive >/dev/null 2>"$AKC_DIR/liveness.err"; then
		CAMPAIGN_LIVE=ok
	else
		CAMPAIGN_LIVE=FAILED
	fi
	CAMPAIGN_LIVE_S=$(( ($(_campaign_ms) - t0) / 1000 ))
}

# ---- the checker ----

# _campaign_runs FIELD: in the samples, each run of two or more consecutive
# samples with FIELD (masters, witnesses) on two or more hosts: one line each;
# the exit status is how many (at most 255).
_campaign_runs() {
	awk -v f="$1" '
	function flush() {
		if (run >= 2) { printf "two %s at once in %d samples in a row, %s .. %s (%s)\n", f, run, first, last, hosts; n++ }
		run = 0
	}
	{ v = $0; sub(".*" f "=", "", v); sub(/ .*/, "", v); k = (v == "-") ? 0 : split(v, x, ",") }
	k >= 2 { if (!run) { first = $1; hosts = v } run++; last = $1; next }
	{ flush() }
	END { flush(); exit n > 255 ? 255 : n }' "$AKC_DIR/samples"
}

# _campaign_witness_log: the witness's bad starts: one that found the lock
# held by another (OVERLAP), or a start while another start is open (closed
# by stop, crash or our "killed" line). A witness its keeper killed (the
# singleton's lease ran out: its singletond was stalled) logs no stop; a
# start that took the lock closes the runs before it (the kernel frees a
# flock only when its holder is gone). One line each; the status is how many.
_campaign_witness_log() {
	awk '$3 == "OVERLAP" { lock[$4] = 1 }
	     $3 == "start" && !($4 in lock) { for (p in run) { delete run[p]; open-- } }
	     $3 == "start" { if (open > 0 || ($4 in lock)) {
	                         printf "witness started while another runs%s:", ($4 in lock) ? " (the lock was held)" : ""
	                         for (p in run) printf " [%s]", run[p]; print " -> " $0; n++ }
	                     open++; run[$4] = $2 " pid " $4 " since " $1 }
	     $3 == "stop" || $3 == "crash" || $3 == "killed" { if ($4 in run) { delete run[$4]; open-- } }
	     END { exit n > 255 ? 255 : n }' "$WITNESS_LOG"
}

# _campaign_crashes: daemon exits by a signal we did not send (our kill -9
# takes the supervisor too, so it logs no exit), statuses other than 0, 1, 3;
# aborts in any log; singleton children killed by a signal singletond does not
# send (it stops them with TERM, then KILL). One line each.
_campaign_crashes() {
	awk '$4 == "exit" && $5 !~ /^(0|1|3|137)$/ { print "abnormal exit: " $0 }' "$AKC_DIR"/h*.exits
	grep -H -E "Aborted|Assertion|AddressSanitizer|runtime error:|Segmentation fault|double free|stack smashing" \
	    "$AKC_DIR"/h*.log 2>/dev/null | sed 's/^/abort in a log: /'
	grep -H -E "killed by signal [0-9]+" "$AKC_DIR"/h*.singletond-*.log 2>/dev/null |
	    grep -v -E "killed by signal (9|15)([^0-9]|$)" | sed 's/^/child killed by a signal: /'
	return 0
}

_campaign_count() { awk -v k="$1" '$3 == k' "$AKC_DIR/faults.log" | wc -l; }

_campaign_check() {	# SEED DURATION: see campaign_check
	local seed=$1 dur=$2 d=$AKC_DIR bad=0 nf wst mst acked lost dup failed wrong wov mov wsov crashes nres
	nf=$(awk '$3 ~ /^(cut|heal|kill|stop|sgstop|nstop|oneway|lossy|seedrestart)$/' "$d/faults.log" | wc -l)

	# never two singletons: the witness's lock and log, and the samples of /proc
	wst=$(awk '$3 == "start"' "$WITNESS_LOG" | wc -l)
	mst=$(cat "$d"/h*.singletond-master.log 2>/dev/null | grep -c "singleton master started as pid" || true)
	wov=0; _campaign_witness_log || wov=$?
	mov=0; _campaign_runs masters || mov=$?
	wsov=0; _campaign_runs witnesses || wsov=$?

	# every acknowledged job in the results, once, done (or failed by itself)
	acked=$(awk '{ print $2 }' "$d/acks" | sort -u | wc -l)
	if campaign_results_best "$d/results.json"; then
		acked_missing > "$d/lost"
		lost=$(wc -l < "$d/lost")
		jq -r .id "$d/results.json" | sort | uniq -d > "$d/duplicated"
		dup=$(wc -l < "$d/duplicated")
		failed=$(jq -r 'select(.status == "failed") | .id' "$d/results.json" | wc -l)
		wrong=$(jq -r 'select(.status != "failed" and (.status != "done" or .result != "payload of " + .id)) | .id' \
		    "$d/results.json" | wc -l)
		nres=$(wc -l < "$d/results.json")
	else
		echo "no node gave the results: every acknowledged job counts as lost"
		awk '{ print $2 }' "$d/acks" | sort -u > "$d/lost"
		lost=$acked dup=0 failed=0 wrong=0 nres=0
	fi
	[ "$lost" -gt 0 ] && echo "lost (first 5 of $lost): $(head -5 "$d/lost" | tr '\n' ' ')"
	[ "$dup" -gt 0 ] && echo "duplicated (first 5 of $dup): $(head -5 "$d/duplicated" | tr '\n' ' ')"
	[ "$wrong" -gt 0 ] && echo "$wrong results with a status other than done/failed or another job's result"

	# no daemon crash
	_campaign_crashes > "$d/crashes"
	crashes=$(wc -l < "$d/crashes")
	head -20 "$d/crashes"

	# not a violation by itself (a whole cluster may be cold-started again),
	# but what to look at first after one
	echo "clusters formed (the first at the start): $(grep -c "forming a new cluster" "$d"/h*.memberd.log |
	    awk -F: '$2 > 0 { sub(/.*\//, "", $1); sub(/\.memberd\.log/, "", $1); printf "%s%s %d", sep, $1, $2; sep = ", " }')"
	echo "witness: $wst starts, $wov bad ones in its log; master: $mst starts;" \
	    "samples: $mov runs of two masters, $wsov of two witnesses (of $(wc -l < "$d/samples") samples)"
	echo "jobs: $acked acknowledged, $nres results; $lost lost, $dup duplicated, $failed failed, $wrong wrong"
	if [ "${CAMPAIGN_LIVE:-}" = ok ]; then
		echo "liveness: ok ${CAMPAIGN_LIVE_S:-?}s after the end"
	else
		echo "liveness: FAILED after ${CAMPAIGN_LIVE_S:-?}s: $(grep -v '^timed out' "$d/liveness.err" 2>/dev/null | tail -1)"
	fi
	# one count for the witness: the most either of its detectors saw
	[ "$wsov" -gt "$wov" ] && wov=$wsov
	[ "$((wov + mov))" = 0 ] || bad=1
	[ "$lost" = 0 ] && [ "$dup" = 0 ] && [ "$wrong" = 0 ] || bad=1
	[ "$crashes" = 0 ] || bad=1
	[ "${CAMPAIGN_LIVE:-}" = ok ] || bad=1
	echo "campaign seed=$seed duration=${dur}s faults=$nf (kills=$(_campaign_count kill)" \
	    "partitions=$(_campaign_count cut) pauses=$(_campaign_count stop)" \
	    "singletond-pauses=$(_campaign_count sgstop) node-pauses=$(_campaign_count nstop)" \
	    "oneway=$(_campaign_count oneway)" \
	    "lossy=$(_campaign_count lossy) seed-restarts=$(_campaign_count seedrestart) heals=$(_campaign_count heal))" \
	    "starts: witness=$wst master=$mst acknowledged=$acked lost=$lost duplicated=$dup" \
	    "overlaps=$((wov + mov)) crashes=$crashes liveness=${CAMPAIGN_LIVE:-FAILED}"
	return "$bad"
}

# campaign_check SEED DURATION: prints the findings and, last, the summary
# line (all also in AKC_DIR/report); returns 1 on any violation.
campaign_check() {
	local rc=0
	_campaign_check "$@" > "$AKC_DIR/report" 2>&1 || rc=$?
	cat "$AKC_DIR/report"
	return "$rc"
}

# campaign_run SEED DURATION: the whole campaign: start, faults for DURATION
# seconds with the submitter running, the end, liveness, the checker.
# Returns the checker's status (2 if the cluster never formed).
campaign_run() {
	local seed=$1 dur=$2
	campaign_setup
	if ! campaign_start_all; then
		echo "campaign: the cluster did not form" >&2
		return 2
	fi
	campaign_sampler_start
	campaign_submitter_start "$seed"
	campaign_plan "$seed" "$dur" "$AKC_DIR/plan"
	campaign_execute "$AKC_DIR/plan" "$dur"
	campaign_submitter_stop
	campaign_end
	campaign_liveness "$CAMPAIGN_LIVENESS"
	campaign_sampler_stop
	campaign_check "$seed" "$dur"
}

# campaign_teardown: stop the helpers, then kill -9 whatever runs in our
# namespaces, supervisors included, until nothing does (net_teardown then
# deletes them); a pid from campaign.pids is killed only while it is still in
# one of our namespaces (a pid may have been reused by now).
campaign_teardown() {
	[ -n "${AKC_DIR:-}" ] && [ -f "$AKC_DIR/net.namespaces" ] || return 0
	_campaign_teardown 2>/dev/null	# no job notices of what it kills
	return 0
}
_campaign_teardown() {
	local ns p pids i mine
	touch "$AKC_DIR/submit.stop" "$AKC_DIR/sampler.stop"
	mine=$(cat "$AKC_DIR/net.namespaces")
	if [ -f "$AKC_DIR/campaign.pids" ]; then
		while read -r p; do
			ns=$(ip netns identify "$p" 2>/dev/null) || continue
			[ -n "$ns" ] && grep -qx "$ns" <<<"$mine" && kill -9 "$p"
		done < "$AKC_DIR/campaign.pids"
	fi
	for ((i = 0; i < 100; i++)); do
		pids=""
		while read -r ns; do
			pids+=" $(ip netns pids "$ns" 2>/dev/null)"
		done <<<"$mine"
		[ -z "${pids// /}" ] && break
		# shellcheck disable=SC2086
		kill -9 $pids
		sleep 0.05
	done
	# reap our children (the supervisors, lanes and sampler started from here)
	if [ -f "$AKC_DIR/campaign.pids" ]; then
		while read -r p; do
			wait "$p"
		done < "$AKC_DIR/campaign.pids"
	fi
	return 0
}
