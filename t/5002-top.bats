#!/usr/bin/env bats
# 5002: akc-top, the cluster in a terminal: the real curses screen under
# tmux at 80x24 over a real cluster shows the members Up, then a killed
# member unreachable, and a daemon that goes away and comes back; q quits
# and gives the terminal back. The last screens are kept for a person to
# look at (t/artifacts/, and in the test's output as "# " lines).

load lib/akc
load lib/work

setup() {
	akc_setup
	TOP_TMUX="$AKC_DIR/tmux"	# a tmux server of our own: no one else's sessions
}

teardown() {
	if [ -S "${TOP_TMUX:-}" ]; then
		tmux -S "$TOP_TMUX" kill-server 2>/dev/null || true
	fi
	akc_teardown
}

need_tmux() {
	command -v tmux >/dev/null || skip "tmux is not installed (bin/akc-bootstrap installs it)"
}

# top_start NODE: akc-top -c NODE's config in a detached 80x24 tmux session
# "top"; its exit status lands in $AKC_DIR/top.rc when it ends.
top_start() {
	tmux -S "$TOP_TMUX" new-session -d -s top -x 80 -y 24 \
	    "'$AKC_BIN/akc-top' -c '$(conf_of "$1")' 2>'$AKC_DIR/top.err'; echo \$? > '$AKC_DIR/top.rc'" 3>&-
}

# screen: the pane's text now, kept in $AKC_DIR/screen.txt.
screen() {
	tmux -S "$TOP_TMUX" capture-pane -p -t top > "$AKC_DIR/screen.txt" && cat "$AKC_DIR/screen.txt"
}

# shows REGEX...: the screen has a line matching each extended REGEX.
shows() {
	local s re
	s=$(screen) || return 1
	for re in "$@"; do
		grep -qE -- "$re" <<<"$s" || return 1
	done
}

# keep NAME: the last screen, in t/artifacts/NAME.txt and as "# " lines on fd 3.
keep() {
	local dir="$AKC_BIN/t/artifacts"
	mkdir -p "$dir"
	cp "$AKC_DIR/screen.txt" "$dir/$1.txt"
	cp "$AKC_DIR/screen.txt" "${BATS_RUN_TMPDIR:-$AKC_DIR}/$1.txt" 2>/dev/null || true
	{
		echo "# akc-top at 80x24 ($1, kept in $dir/$1.txt):"
		sed 's/^/# |/' "$AKC_DIR/screen.txt"
	} >&3
}

session_gone() { ! tmux -S "$TOP_TMUX" has-session -t top 2>/dev/null; }

@test "akc-top under tmux at 80x24 shows the members Up, then the killed one unreachable; q quits" {
	need_tmux
	start_cluster 3
	wait_until 30 all_up_everywhere 3 n1 n2 n3
	top_start n1
	wait_until 20 shows '^  n1 +Up +yes +[0-9]' '^  n2 +Up +yes +[0-9]' '^  n3 +Up +yes +[0-9]' \
	    '^ akc-top  node n1 \(member\)' 'events live' 'converged' 'MemberUp n3'
	keep top-all-up
	# nothing unreachable yet, the matrix beside the members, no proxy for the queue
	run ! grep -E '^!|UNREACHABLE' "$AKC_DIR/screen.txt"
	grep -qE 'REACHABILITY' "$AKC_DIR/screen.txt"
	grep -qE 'QUEUE  no master proxy here' "$AKC_DIR/screen.txt"
	grep -qE '^ q quit' "$AKC_DIR/screen.txt"
	# every line fits the 80 columns, the last row is the keys' help
	[ "$(awk '{ if (length($0) > n) n = length($0) } END { print n }' "$AKC_DIR/screen.txt")" -le 80 ]
	[ "$(wc -l < "$AKC_DIR/screen.txt")" = 24 ]
	kill_node n3
	wait_until 30 shows '^! n3 +Up +NO +[0-9]' '^! UNREACHABLE n3' 'UnreachableMember n3' \
	    '^  n1 +Up +yes' '^  n2 +Up +yes'
	# the matrix marks n3 unreachable in the row of an observer, once the status names them
	wait_until 10 shows '\| n[12] +.*X'
	keep top-unreachable
	tmux -S "$TOP_TMUX" send-keys -t top q
	wait_until 10 test -s "$AKC_DIR/top.rc"
	[ "$(cat "$AKC_DIR/top.rc")" = 0 ]
	wait_until 10 session_gone
	[ ! -s "$AKC_DIR/top.err" ]
}

@test "akc-top shows a daemon that goes away, keeps running, and picks it up again" {
	need_tmux
	start_cluster 1
	wait_until 20 all_up n1 1
	top_start n1
	wait_until 20 shows '^  n1 +Up +yes' 'memberd ok' 'leaderd ok' 'events live'
	kill -9 "$(pid_of n1 leaderd)"
	wait_until 10 shows 'leaderd DOWN' '^! leaderd: leaderd is not running'
	kill -9 "$(pid_of n1 memberd)"
	wait_until 10 shows 'memberd DOWN' '^! memberd gone \(view of [0-9:]+\)'
	keep top-memberd-gone
	# still drawing: the clock moves, q is still read
	local t0
	t0=$(head -1 "$AKC_DIR/screen.txt")
	wait_until 5 eval '[ "$(screen | head -1)" != "$t0" ]'
	# memberd and leaderd come back (a new incarnation): the screen follows them
	start_daemon n1 memberd
	start_daemon n1 leaderd
	wait_until 30 shows 'memberd ok' 'leaderd ok' 'events live' '^  n1 +Up +yes' \
	    'memberd answers again'
	run ! grep -E '^! (memberd|leaderd)' "$AKC_DIR/screen.txt"
	keep top-memberd-back
	tmux -S "$TOP_TMUX" send-keys -t top q
	wait_until 10 test -s "$AKC_DIR/top.rc"
	[ "$(cat "$AKC_DIR/top.rc")" = 0 ]
}

@test "akc-top follows a resize of its terminal" {
	need_tmux
	start_cluster 1
	wait_until 20 all_up n1 1
	top_start n1
	wait_until 20 shows '^  n1 +Up +yes'
	tmux -S "$TOP_TMUX" resize-window -t top -x 120 -y 30
	wait_until 10 eval '[ "$(screen | wc -l)" = 30 ] && screen | tail -1 | grep -q "q quit"'
	wait_until 10 eval 'screen | head -1 | grep -qE "UTC$" && [ "$(screen | head -1 | wc -c)" -gt 100 ]'
	tmux -S "$TOP_TMUX" resize-window -t top -x 50 -y 12
	wait_until 10 eval '[ "$(screen | wc -l)" = 12 ] && screen | grep -qE "^  n1 +Up +yes"'
	tmux -S "$TOP_TMUX" send-keys -t top q
	wait_until 10 test -s "$AKC_DIR/top.rc"
	[ "$(cat "$AKC_DIR/top.rc")" = 0 ]
}

@test "akc-top --once: one frame as plain text, the queue through this node's proxy" {
	work_cluster 2
	start_worker n2 >/dev/null
	run akc-submit -c "$(conf_of n2)" --wait hello
	assert_success
	# the master's answer told n2 where it runs (before n2's next "where"
	# to n1, 2 s after the one that found it not yet started)
	singleton_on n2 master n1
	run akc-top -c "$(conf_of n2)" --once
	assert_success
	assert_line --index 0 --regexp '^ akc-top  node n2 \(member\) +[0-9:]{8} UTC$'
	assert_line --regexp '^  n1 +Up +yes +1  backend'
	assert_line --regexp '^  n2 +Up +yes +2  backend'
	assert_line --regexp '^SINGLETONS  master on n1$'
	assert_line --regexp '^QUEUE  pending 0  running 0  done 1  failed 0  workers 1 \((0|1) busy\)$'
	assert_line --regexp 'SingletonStarted master on n1$'
	refute_line --regexp '^!'
	refute_line --partial 'q quit'
	run akc-top -c "$(conf_of n1)" --once --width 120
	assert_success
	assert_line --regexp '^SINGLETONS  master on n1 \(here\)$'
	[ "$(printf '%s\n' "$output" | awk '{ if (length($0) > n) n = length($0) } END { print n }')" -le 120 ]
}

@test "akc-top: usage, no terminal, no memberd" {
	run akc-top --help
	assert_success
	assert_output --partial "usage: akc-top"
	run akc-top --version
	assert_success
	assert_output --regexp '^akc-top \(akc\) [0-9]+\.[0-9]+\.[0-9]+$'
	run akc-top --bogus
	assert_failure 2
	node_conf n1
	run akc-top -c "$(conf_of n1)" --once --width 5
	assert_failure 2
	run akc-top -c "$(conf_of n1)" </dev/null
	assert_failure 2
	assert_line --index 0 "akc-top: needs a terminal (or --once for plain text)"
	run akc-top -c "$(conf_of n1)" --once
	assert_failure 3
	assert_output --regexp "^akc-top: .*not running.*$AKC_DIR/n1/memberd.ctl"
}
