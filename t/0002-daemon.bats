#!/usr/bin/env bats
# 0002: daemon basics: systemd readiness once the sockets are up, clean stop on SIGTERM.

load lib/akc

setup() { akc_setup; }
teardown() { akc_teardown; }

@test "memberd and leaderd tell systemd READY=1 once their sockets answer" {
	node_conf n1
	"$AKC_BIN/t/notify-listen" "$AKC_DIR/notify" 20 > "$AKC_DIR/notified" 3>&- &
	echo $! >> "$AKC_DIR/pids"
	wait_until 5 test -S "$AKC_DIR/notify"
	NOTIFY_SOCKET=$AKC_DIR/notify start_daemon n1 memberd
	wait_until 10 grep -qx READY=1 "$AKC_DIR/notified"
	# ready means the control socket answers now, not eventually
	run akc-status -c "$(conf_of n1)" --json
	assert_success
	NOTIFY_SOCKET=$AKC_DIR/notify start_daemon n1 leaderd
	wait_until 10 bash -c "[ \$(grep -cx READY=1 '$AKC_DIR/notified') = 2 ]"
	run timeout 5 nanocat --req --connect "ipc://$AKC_DIR/n1/leaderd.ctl" -D '{"v":2,"cmd":"ping"}' -A
	assert_output --partial '"strategy":"none"'
}

@test "SIGTERM stops both daemons cleanly with status 0 and STOPPING=1" {
	node_conf n1
	"$AKC_BIN/t/notify-listen" "$AKC_DIR/notify" 20 > "$AKC_DIR/notified" 3>&- &
	echo $! >> "$AKC_DIR/pids"
	wait_until 5 test -S "$AKC_DIR/notify"
	NOTIFY_SOCKET=$AKC_DIR/notify start_daemon n1 memberd
	start_daemon n1 leaderd
	wait_until 20 all_up n1 1
	local m l
	m=$(pid_of n1 memberd)
	l=$(pid_of n1 leaderd)
	kill -TERM "$l" "$m"
	wait_until 10 process_exited "$m"
	wait_until 10 process_exited "$l"
	[ "$(exit_status_of "$m")" = 0 ]
	[ "$(exit_status_of "$l")" = 0 ]
	wait_until 5 grep -qx STOPPING=1 "$AKC_DIR/notified"
	# memberd's sockets are gone with it
	run akc-status -c "$(conf_of n1)"
	assert_failure 3
}
