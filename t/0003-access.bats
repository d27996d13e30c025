#!/usr/bin/env bats
# 0003: local access: who may use a node's sockets ([node] socket-group), and
# the run dirs the daemons refuse.

load lib/akc

setup() {
	akc_setup
	[ "$(id -u)" = 0 ] || skip "needs root (to run programs as another user)"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# the tools of other users must reach the run dir and read the configuration
	chmod 0711 "$AKC_DIR"
	GROUP=$(id -gn nobody)
	GID=$(id -g nobody)
}

teardown() { akc_teardown; }

# as_member CMD...: CMD as user nobody whose only group is GROUP.
as_member() { setpriv --reuid=nobody --regid="$GID" --clear-groups -- "$@"; }
# as_stranger CMD...: CMD as a user (uid 54321) in no group of the node's.
as_stranger() { setpriv --reuid=54321 --regid=54321 --clear-groups -- "$@"; }

# mode_of PATH: octal mode, owner and group of PATH.
mode_of() { stat -c '%a %U %G' "$1"; }

@test "without socket-group only the daemons' user may use the sockets; others are told so" {
	node_conf n1
	chmod 0644 "$(conf_of n1)"
	start_node n1
	[ "$(mode_of "$AKC_DIR/n1")" = "700 root root" ]
	[ "$(mode_of "$AKC_DIR/n1/memberd.ctl")" = "600 root root" ]
	run akc-status -c "$(conf_of n1)"
	assert_success
	run as_stranger akc-status -c "$(conf_of n1)"
	assert_failure 3
	assert_output "akc-status: permission denied on $AKC_DIR/n1/memberd.ctl (only the daemons' user may use it; see socket-group in akc.conf(5))"
	run as_stranger akc-events -c "$(conf_of n1)"
	assert_failure 3
	assert_output --partial "akc-events: permission denied on $AKC_DIR/n1/memberd.events ("
	run as_stranger akc-down -c "$(conf_of n1)" n1
	assert_failure 3
	assert_output --partial "permission denied"
	# a node that is not running is not a permission problem
	kill -TERM "$(pid_of n1 memberd)" "$(pid_of n1 leaderd)"
	wait_until 10 process_exited "$(pid_of n1 memberd)"
	run akc-status -c "$(conf_of n1)"
	assert_failure 3
	assert_output "akc-status: 'memberd' is not running (no socket '$AKC_DIR/n1/memberd.ctl')"
}

@test "socket-group members use the tools, the daemons' own sockets stay private" {
	node_conf n1 "[node]=" "socket-group=$GROUP"
	chmod 0644 "$(conf_of n1)"
	start_node n1
	start_singleton n1 master sleep 1000
	wait_until 10 test -S "$AKC_DIR/n1/singleton.master.ctl"
	[ "$(mode_of "$AKC_DIR/n1")" = "750 root $GROUP" ]
	local s
	for s in memberd.ctl memberd.events leaderd.ctl singleton.master singleton.master.ctl; do
		[ "$(mode_of "$AKC_DIR/n1/$s")" = "660 root $GROUP" ] || { mode_of "$AKC_DIR/n1/$s"; false; }
	done
	for s in memberd.relay memberd.state memberd.leader memberd.svc; do
		[ "$(mode_of "$AKC_DIR/n1/$s")" = "600 root root" ] || { mode_of "$AKC_DIR/n1/$s"; false; }
	done
	wait_until 20 all_up n1 1
	run as_member akc-members -c "$(conf_of n1)" --json
	assert_success
	[ "$(jq -r '.[0].node' <<<"$output")" = n1 ]
	run as_member akc-status -c "$(conf_of n1)" --json
	assert_success
	[ "$(jq -r '.singletons[0].name' <<<"$output")" = master ]
	[ "$(jq -r '.singletons[0].error' <<<"$output")" = null ]
	run -124 as_member timeout 3 akc-events -c "$(conf_of n1)"
	assert_output --partial '"type":"MemberUp","node":"n1"'
	run as_stranger akc-status -c "$(conf_of n1)"
	assert_failure 3
	assert_output "akc-status: permission denied on $AKC_DIR/n1/memberd.ctl (is your user in group $GROUP?)"
	run as_stranger akc-queue -c "$(conf_of n1)"
	assert_failure 3
	assert_output "akc-queue: permission denied on $AKC_DIR/n1/singleton.master (is your user in group $GROUP?)"
}

@test "daemons run by an unprivileged user share the node with socket-group" {
	node_conf n1 "[node]=" "socket-group=$GROUP"
	chmod 0644 "$(conf_of n1)"
	mkdir -m 0700 "$AKC_DIR/n1" "$AKC_DIR/n1.state"
	chown nobody "$AKC_DIR/n1" "$AKC_DIR/n1.state"
	setpriv --reuid=nobody --regid="$GID" --clear-groups -- \
	    "$AKC_BIN/memberd" -c "$(conf_of n1)" >>"$AKC_DIR/n1.memberd.log" 2>&1 3>&- &
	echo $! >> "$AKC_DIR/pids"
	wait_until 10 as_member akc-status -c "$(conf_of n1)"
	[ "$(mode_of "$AKC_DIR/n1")" = "750 nobody $GROUP" ]
	[ "$(mode_of "$AKC_DIR/n1/memberd.ctl")" = "660 nobody $GROUP" ]
	run as_stranger akc-status -c "$(conf_of n1)"
	assert_failure 3
	assert_output --partial "permission denied on $AKC_DIR/n1/memberd.ctl"
}

@test "a socket-group the daemons' user is not in is refused at start" {
	node_conf n1 "[node]=" "socket-group=root"
	chmod 0644 "$(conf_of n1)"
	mkdir -m 0700 "$AKC_DIR/n1" "$AKC_DIR/n1.state"
	chown "nobody:$GID" "$AKC_DIR/n1" "$AKC_DIR/n1.state"
	run untimed timeout 10 setpriv --reuid=nobody --regid="$GID" --clear-groups -- \
	    "$AKC_BIN/memberd" -c "$(conf_of n1)" 3>&-
	assert_failure 1
	assert_output "memberd: cannot give run-dir '$AKC_DIR/n1' to socket-group 'root' (is 'nobody' in it?): Operation not permitted"
}

@test "a run dir of another user, or one others may write in, is refused" {
	node_conf n1
	mkdir -m 0700 "$AKC_DIR/n1"
	chown nobody "$AKC_DIR/n1"
	run untimed timeout 10 "$AKC_BIN/memberd" -c "$(conf_of n1)" 3>&-
	assert_failure 1
	assert_output "memberd: run-dir '$AKC_DIR/n1' is owned by 'nobody', not by 'root' who runs the daemons: refusing to use it"
	chown root "$AKC_DIR/n1"
	chmod 1777 "$AKC_DIR/n1"
	run untimed timeout 10 "$AKC_BIN/leaderd" -c "$(conf_of n1)" 3>&-
	assert_failure 1
	assert_output "leaderd: run-dir '$AKC_DIR/n1' is writable by others (mode 1777): refusing to use it"
	chmod 0770 "$AKC_DIR/n1"
	chgrp "$GROUP" "$AKC_DIR/n1"
	run untimed timeout 10 "$AKC_BIN/memberd" -c "$(conf_of n1)" 3>&-
	assert_failure 1
	assert_output "memberd: run-dir '$AKC_DIR/n1' is writable by group '$GROUP' (mode 0770), which is not [node] socket-group: refusing to use it"
	[ "$(mode_of "$AKC_DIR/n1")" = "770 root $GROUP" ]
	# the socket-group may write in it
	printf '[node]\nsocket-group = %s\n' "$GROUP" >> "$(conf_of n1)"
	start_daemon n1 memberd
	wait_until 10 akc-status -c "$(conf_of n1)"
	[ "$(mode_of "$AKC_DIR/n1")" = "770 root $GROUP" ]
}

@test "socket-group must name a group" {
	node_conf n1 "[node]=" "socket-group=akc-no-such-group"
	local line
	line=$(grep -n '^socket-group' "$(conf_of n1)" | cut -d: -f1)
	run memberd -n -c "$(conf_of n1)"
	assert_failure 1
	assert_output "memberd: $(conf_of n1):$line: bad value 'akc-no-such-group' for 'socket-group': no such group"
}
