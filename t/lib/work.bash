# t/lib/work.bash: the work manager on test nodes: a backend cluster running
# the master as a singleton with standbys, workers, and what the tests ask it.
# shellcheck shell=bash

# work_cluster N [conf args...]: nodes n1..nN with role backend, each running
# memberd, leaderd and singletond -s master (the master runs on the oldest).
# The replica set is n1..nN and the nodes named in $WORK_EXTRA (configured
# already), so a majority of them acknowledges.
work_cluster() {
	local n=$1 i; shift
	start_cluster "$n" roles=backend "[singleton.master]=" role=backend \
	    "command=exec $AKC_BIN/master" "standby-command=exec $AKC_BIN/master --standby" \
	    stop-timeout=5s "[downing]=" "strategy=${WORK_STRATEGY:-keep-majority}" stable-after=2s \
	    "[master]=" work-timeout=3s max-attempts=3 "$@"
	set_replicas $(nodes "$n") ${WORK_EXTRA:-}
	wait_until 30 all_up_everywhere "$n" $(nodes "$n")
	for ((i = 1; i <= n; i++)); do
		start_singleton "n$i" master
	done
	wait_until 20 master_answers n1
}

# set_replicas NODES...: [master] replica-nodes = their addresses, in every node's config.
set_replicas() {
	local list="" n f
	for n in "$@"; do
		list="$list${list:+, }$(addr_of "$n")"
	done
	for f in "$AKC_DIR"/*.conf; do
		sed -i "/^replica-nodes = /d; s|^\[master\]\$|[master]\nreplica-nodes = $list|" "$f"
	done
}

# master_answers NODE: the master answers through NODE's proxy, done with its recovery
# (both fields required: an answer without them is not a serving master's).
master_answers() { akc-queue -c "$(conf_of "$1")" --json | jq -e '.recovering == false and (.seq | type) == "number"' >/dev/null; }

# start_worker NODE [worker args...]
start_worker() {
	local name=$1; shift
	"$AKC_BIN/worker" -c "$(conf_of "$name")" "$@" >>"$AKC_DIR/$name.worker.log" 2>&1 3>&- &
	local pid=$!
	echo "$pid" >> "$AKC_DIR/pids"
	echo "$pid" >> "$AKC_DIR/$name.worker.pids"
	echo "$pid"
}

# submit_each NODE PREFIX N: jobs PREFIX-0 .. PREFIX-(N-1), payload "payload
# of ID", one akc-submit process each (as a user's script runs them), four at a
# time: a submit mostly waits for its answer, and one at a time the 1000 of
# t/4001 took 20-26 s on a loaded 2-core machine, against ~5 s. Fails if any
# submit failed.
submit_each() {
	seq 0 $(( $3 - 1 )) |
	    xargs -P 4 -I{} akc-submit -c "$(conf_of "$1")" --id "$2-{}" "payload of $2-{}" >/dev/null
}

# results_count NODE: finished jobs as akc-results prints them.
results_count() { akc-results -c "$(conf_of "$1")" | wc -l; }
finished() { [ "$(results_count "$1")" -ge "$2" ]; }

# standby_caught_up NODE STANDBY: the master (via NODE) has STANDBY's ack of its whole log.
standby_caught_up() {
	akc-queue -c "$(conf_of "$1")" --json |
	    jq -e --arg s "$2" '.seq as $q | .standbys[] | select(.node == $s and .acked >= $q)' >/dev/null
}

# table_in_journal DIR: this open of the LevelDB in DIR wrote its log into a
# table and named it in the manifest (the log it came from is deleted then).
table_in_journal() {
	grep -q "Level-0 table #[0-9]*: [0-9]* bytes OK" "$1/LOG" && grep -q "Delete type=0" "$1/LOG"
}

# queue_field NODE FIELD
# all_done NODE FILE: every id in FILE has a done result, seen through NODE.
all_done() {
	local want got
	want=$(sort -u "$2" | wc -l)
	got=$(akc-results -c "$(conf_of "$1")" | jq -r 'select(.status == "done") | .id' |
	    sort -u | comm -12 - <(sort -u "$2") | wc -l)
	[ "$got" = "$want" ]
}

# serving NODE: the master answers through NODE, recovered (master_answers
# also passes on an empty or proxy answer: its jq sees no field).
serving() {
	akc-queue -c "$(conf_of "$1")" --json 2>/dev/null | jq -e '.epoch != null and .recovering != true' >/dev/null
}

queue_field() { akc-queue -c "$(conf_of "$1")" --json | jq -r ".$2"; }

# n3_copy_only [--join]: n1 and n2 lost (kill -9, downed from n3); n2 comes
# back with an empty journal, so n3's copy of the log is all there is. n2
# joins through its seeds, or with akc-join through n3 (--join) when its
# seeds cannot take it; then its singletond starts.
n3_copy_only() {
	kill_node n1
	kill_node n2
	akc-down -c "$(conf_of n3)" n1
	akc-down -c "$(conf_of n3)" n2
	wait_until 10 process_exited "$(pid_of n2 singletond)"
	mv "$AKC_DIR/n2.state" "$AKC_DIR/n2.state.lost"
	wait_until 30 is_absent n3 n2
	start_node n2
	if [ "${1:-}" = --join ]; then
		akc-join -c "$(conf_of n2)" "$(addr_of n3)"
	fi
	start_singleton n2 master
}

# descendants PID: every process below PID (t/4002, 4007 and 4025 each had a copy).
descendants() {
	local p
	for p in $(pgrep -P "$1"); do
		echo "$p"
		descendants "$p"
	done
}

# standby_pid NODE: the `master --standby` process under NODE's singletond
# (under the oldest's, the master itself).
standby_pid() {
	local p
	for p in $(descendants "$(pid_of "$1" singletond)"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = master ] && echo "$p"
	done
	return 0
}

# stop_singleton NODE: kill -9 of NODE's singletond; waits until what ran
# under it (master or standby) is gone too, so its journal is free (polled
# in short steps, as kill_node: they go within milliseconds).
stop_singleton() {
	local sgd p kids
	sgd=$(pid_of "$1" singletond)
	kids=$(descendants "$sgd")
	kill -9 "$sgd"
	WAIT_STEP=0.02 wait_until 10 process_exited "$sgd"
	for p in $kids; do
		WAIT_STEP=0.02 wait_until 10 process_exited "$p"
	done
}

# log_from NODE: the size of NODE's singletond log (where to read it from).
log_from() { stat -c %s "$AKC_DIR/$1.singletond.log"; }
# logged NODE OFFSET REGEX: NODE's singletond logged REGEX after OFFSET.
logged() { tail -c "+$(($2 + 1))" "$AKC_DIR/$1.singletond.log" | grep -E "$3"; }

# down_gone NODE: NODE is killed, downed from n2 and removed everywhere else.
down_gone() {
	kill_node "$1"
	WAIT_STEP=0.02 wait_until 10 process_exited "$(pid_of "$1" singletond)"
	akc-down -c "$(conf_of n2)" "$1"
	wait_until 30 is_absent n2 "$1"
}

# kill_by_conf CONF: kill -9 of every process whose environment names CONF as
# AKC_CONF (what singletond gives its child): a standby run under gdb outlives
# a killed tracer, and is not among the pids the test recorded.
kill_by_conf() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null < "$p/environ" | grep -q -x -F "AKC_CONF=$1" &&
		    kill -9 "${p#/proc/}" 2>/dev/null
	done
	return 0
}
