#!/usr/bin/env bats
# 0005: the daemons' logs: a time or the journal's <N> at the start of each
# line, [node] log-level, -v and -q, levels of what matters to an operator,
# and a failed job's stderr in the worker's log and in its result line.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# journal_start NAME PROG [ARGS...]: PROG of node NAME with JOURNAL_STREAM
# naming its log file, as systemd names the journal's stream on stderr.
journal_start() {
	local log="$AKC_DIR/$1.$2.log"
	: > "$log"
	JOURNAL_STREAM=$(stat -c %d:%i "$log") start_daemon "$@"
}

# absent REGEX FILE: no line of FILE matches REGEX (a bare "! grep" in the
# middle of a test would not fail it).
absent() { ! grep -q -E "$1" "$2"; }

# every_line LOG REGEX: LOG has lines, and each of them matches REGEX.
every_line() {
	[ -s "$1" ] || { echo "$1 is empty"; return 1; }
	! grep -n -v -E "$2" "$1"
}

@test "without the journal each line starts with an RFC 3339 UTC time with milliseconds" {
	start_cluster 1
	wait_until 10 all_up n1 1
	every_line "$AKC_DIR/n1.memberd.log" "^${AKC_TIME_RE}memberd: "
	every_line "$AKC_DIR/n1.leaderd.log" "^${AKC_TIME_RE}leaderd: "
	# the time is now (UTC), not some other clock
	local t
	t=$(head -1 "$AKC_DIR/n1.memberd.log" | cut -c1-19)
	(( $(date -u +%s) - $(date -u -d "$t" +%s) < 60 ))
	# JOURNAL_STREAM that does not name stderr (a child of a service whose
	# stderr was redirected) is not the journal: times, not priorities
	JOURNAL_STREAM=1:2 run untimed memberd -c /dev/null
	assert_failure 1
	assert_line "memberd: /dev/null: missing required key 'name' in [node]"
	JOURNAL_STREAM=1:2 run memberd -c /dev/null
	assert_line --regexp "^${AKC_TIME_RE}memberd: /dev/null: missing required key 'name'"
}

@test "under the journal lines start with <N>: warnings <4>, an unreachable member <4>, MemberUp <6>" {
	cluster_conf 2
	local i
	for i in 1 2; do
		journal_start "n$i" memberd
		start_daemon "n$i" leaderd
	done
	wait_until 20 all_up_everywhere 2 n1 n2
	local log="$AKC_DIR/n1.memberd.log"
	every_line "$log" '^<[3-7]>memberd: '
	grep -q '^<4>memberd: no \[security\] key-file' "$log"
	grep -q '^<6>memberd: event MemberUp: n2 (Up)' "$log"
	grep -q '^<6>memberd: .* starting as uid' "$log"
	kill -9 "$(pid_of n2 memberd)" "$(pid_of n2 leaderd)"
	wait_until 20 grep -q 'as UNREACHABLE' "$log"
	wait_until 10 grep -q 'event UnreachableMember: n2' "$log"
	grep -q '^<4>memberd: marking n2 (.*) as UNREACHABLE: no heartbeat' "$log"
	grep -q '^<4>memberd: event UnreachableMember: n2' "$log"
	every_line "$log" '^<[3-7]>memberd: '
	# leaderd ran without the journal: times
	every_line "$AKC_DIR/n1.leaderd.log" "^${AKC_TIME_RE}leaderd: "
}

@test "log-level = warning hides info lines; -v shows debug lines and -q hides info, over the file" {
	node_conf n1 "[node]=" log-level=warning
	journal_start n1 memberd
	start_daemon n1 leaderd -v
	wait_until 10 all_up n1 1
	wait_until 10 grep -q -E 'leaderd: applied [0-9]+ leader actions' "$AKC_DIR/n1.leaderd.log"
	# memberd: warnings, nothing at info
	grep -q '^<4>memberd: no \[security\] key-file' "$AKC_DIR/n1.memberd.log"
	absent '^<[67]>' "$AKC_DIR/n1.memberd.log"
	absent 'starting as uid' "$AKC_DIR/n1.memberd.log"
	# leaderd -v: debug, and info, whatever the file says
	grep -q 'leaderd: n1: downing strategy none' "$AKC_DIR/n1.leaderd.log"
	# -q: notice and above, though the file says debug
	node_conf n2 "[node]=" log-level=debug
	journal_start n2 memberd -q
	start_daemon n2 leaderd
	wait_until 10 all_up n2 1
	wait_until 10 grep -q 'forming a new cluster' "$AKC_DIR/n2.memberd.log"
	grep -q '^<5>memberd: forming a new cluster' "$AKC_DIR/n2.memberd.log"
	absent '^<[67]>' "$AKC_DIR/n2.memberd.log"
	# leaderd of n2 follows the file: debug
	wait_until 10 grep -q -E 'leaderd: applied [0-9]+ leader actions' "$AKC_DIR/n2.leaderd.log"
}

@test "a bad log-level is refused at start naming file, line and key" {
	node_conf n1 "[node]=" log-level=loud
	local f line
	f=$(conf_of n1)
	line=$(grep -n '^log-level' "$f" | cut -d: -f1)
	for prog in memberd leaderd worker; do
		run untimed timeout 10 "$AKC_BIN/$prog" -c "$f" 3>&-
		assert_failure 1
		assert_output "$prog: $f:$line: bad value 'loud' for 'log-level': expected err, warning, notice, info or debug"
	done
	run memberd -n -c "$f"
	assert_failure 1
	assert_output "memberd: $f:$line: bad value 'loud' for 'log-level': expected err, warning, notice, info or debug"
	# refusing to start is an error: <3> under the journal
	: > "$AKC_DIR/bad.log"
	JOURNAL_STREAM=$(stat -c %d:%i "$AKC_DIR/bad.log") \
	    timeout 10 "$AKC_BIN/memberd" -c "$f" 2>>"$AKC_DIR/bad.log" 3>&- || true
	grep -q "^<3>memberd: $f:$line: bad value 'loud'" "$AKC_DIR/bad.log"
}

@test "a failing job's stderr is logged with its id, and its last lines are in the result's stderr" {
	work_cluster 1
	cat > "$AKC_DIR/job.sh" <<'SH'
p=$(cat)
case $p in
ok) echo "all fine" >&2; echo done ;;
big) head -c 10000 /dev/zero | tr '\0' x >&2; exit 1 ;;
*) echo "first line of $AKC_WORK_ID" >&2
   i=1; while [ $i -le 30 ]; do echo "line $i" >&2; i=$((i + 1)); done
   printf 'no newline at the end' >&2
   exit 2 ;;
esac
SH
	start_worker n1 --exec "sh $AKC_DIR/job.sh" >/dev/null
	akc-submit -c "$(conf_of n1)" --id bad-1 "fail" >/dev/null
	akc-submit -c "$(conf_of n1)" --id big-1 "big" >/dev/null
	run akc-submit -c "$(conf_of n1)" --id ok-1 --wait "ok"
	assert_success
	wait_until 30 finished n1 3
	local log="$AKC_DIR/n1.worker.log"
	# each line, with the job's id, at info; every attempt's
	[ "$(grep -c -E "^${AKC_TIME_RE}worker: job bad-1: stderr: first line of bad-1\$" "$log")" = 3 ]
	grep -q -E "^${AKC_TIME_RE}worker: job bad-1: stderr: line 30\$" "$log"
	grep -q -E "^${AKC_TIME_RE}worker: job bad-1: stderr: no newline at the end\$" "$log"
	grep -q -E "^${AKC_TIME_RE}worker: job ok-1: stderr: all fine\$" "$log"
	# per-job lines are debug: not at the default level
	absent "started as pid" "$log"
	absent "job bad-1 failed after" "$AKC_DIR/n1.singletond.log"
	akc-results -c "$(conf_of n1)" > "$AKC_DIR/results"
	local bad
	bad=$(jq -c 'select(.id == "bad-1")' "$AKC_DIR/results")
	[ "$(jq -r .status <<<"$bad")" = failed ]
	[ "$(jq -r .result <<<"$bad")" = "gave up after 3 attempts: exit status 2" ]
	# the last 20 lines, as the command wrote them
	[ "$(jq -r .stderr <<<"$bad")" = "$(seq 12 30 | sed 's/^/line /'; echo 'no newline at the end')" ]
	# a long line is kept in pieces, at most 4 KiB in all
	jq -e -s '.[] | select(.id == "big-1") | .stderr | test("^(x+\n)+$") and length <= 4096 and length > 3000' \
	    "$AKC_DIR/results"
	# a done job has no stderr field
	jq -e -s '.[] | select(.id == "ok-1") | .status == "done" and has("stderr") == false' "$AKC_DIR/results"
}
