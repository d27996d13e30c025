#!/usr/bin/env bats
# 1030: a daemon's local sockets (lib/sps.c's, here memberd.ctl) bound what
# a local peer can hold: a connection that sends no header, or stops inside
# a frame, is closed at the deadline (5 s) and counted, and past 512
# connections at once a new one is refused and counted, while the daemon's
# clients go on being served (lib/sps.h, "Deadlines and the cap"). The
# hostile peers are t/lib/hold-conns.py, a raw client that never speaks
# nanomsg's protocol past what its MODE says.

load lib/akc

setup() {
	command -v python3 >/dev/null || skip "these tests need python3"
	akc_setup
}
teardown() { akc_teardown; }

# hold SOCKET N MODE SECONDS OUT: t/lib/hold-conns.py in the background.
hold() {
	python3 "$BATS_TEST_DIRNAME/lib/hold-conns.py" "$@" </dev/null 3>&- &
	echo $! >> "$AKC_DIR/pids"
}

# timed_out_logged: the connections to memberd.ctl its log says it closed at the deadline
timed_out_logged() {
	sed -n "s|.*memberd: closed \([0-9]*\) connections\{0,1\} to '$AKC_DIR/n1/memberd.ctl' that sent no whole header or frame within 5000 ms\$|\1|p" \
	    "$AKC_DIR/n1.memberd.log" | awk '{ n += $1 } END { print n + 0 }'
}

ctl_conns() { status_json n1 | jq -r ".local_connections.control.$1"; }

# leaderd_pings: how many of leaderd's pings its memberd connection answered
leaderd_pings() {
	nanocat --req --connect "ipc://$AKC_DIR/n1/leaderd.ctl" --data '{"v":2,"cmd":"status"}' \
	    --recv-timeout 2 -A 2>/dev/null | jq -r 'select(.memberd_silent_ms == null) | .pings'
}

@test "peers that never send a header, or stop inside a frame, are closed at the deadline and counted, while akc-status answers; idle clients between frames are kept" {
	start_cluster 1
	wait_until 30 all_up_everywhere 1 n1
	local ctl="$AKC_DIR/n1/memberd.ctl"
	[ "$(ctl_conns timed_out)" = 0 ]
	hold "$ctl" 40 none 40 "$AKC_DIR/none.out"
	hold "$ctl" 20 half 40 "$AKC_DIR/half.out"
	hold "$ctl" 10 hello 40 "$AKC_DIR/hello.out"
	wait_until 10 test -f "$AKC_DIR/none.out.ready" -a -f "$AKC_DIR/half.out.ready" -a -f "$AKC_DIR/hello.out.ready"
	# memberd answers its clients meanwhile, at once
	for _ in 1 2 3; do
		run timeout 2 akc-status -c "$(conf_of n1)" --json
		[ "$status" -eq 0 ]
	done
	wait_until 20 test -f "$AKC_DIR/none.out" -a -f "$AKC_DIR/half.out"
	cat "$AKC_DIR/none.out" "$AKC_DIR/half.out"
	# each closed by the server, none before its 5 s (counted from its
	# connect, which is before memberd took it), none long after
	[ "$(jq '.opened == 40 and .refused == 0 and .open == 0 and (.closed | length) == 40' "$AKC_DIR/none.out")" = true ]
	[ "$(jq '.opened == 20 and .refused == 0 and .open == 0 and (.closed | length) == 20' "$AKC_DIR/half.out")" = true ]
	[ "$(jq -s '[.[].closed[]] | min >= 4.95 and max < 15' "$AKC_DIR/none.out" "$AKC_DIR/half.out")" = true ]
	[ "$(ctl_conns timed_out)" -ge 60 ]
	[ "$(status_json n1 | jq .local_dropped.control)" -ge 60 ]
	# the ten that sent their header and wait between frames are kept
	[ "$(ctl_conns open)" -ge 10 ]
	touch "$AKC_DIR/hello.out.stop"
	wait_until 10 test -f "$AKC_DIR/hello.out"
	cat "$AKC_DIR/hello.out"
	[ "$(jq '.opened == 10 and .open == 10 and (.closed | length) == 0' "$AKC_DIR/hello.out")" = true ]
	# said in memberd's log, naming the socket, not once per connection:
	# the first at once, the others together up to 5 s later
	wait_until 10 eval '[ "$(timed_out_logged)" -ge 60 ]'
	grep "that sent no whole header or frame within 5000 ms" "$AKC_DIR/n1.memberd.log"
	[ "$(grep -c "that sent no whole header" "$AKC_DIR/n1.memberd.log")" -le 4 ]
	kill -0 "$(pid_of n1 memberd)"
}

@test "a client streaming requests back to back, every write ending inside the next one, is kept past the deadline and answered" {
	start_cluster 1
	wait_until 30 all_up_everywhere 1 n1
	local ctl="$AKC_DIR/n1/memberd.ctl"
	# two clients, 8 s each (the deadline is 5 s), a request whole every 0.1 s.
	# Until 2026-12-08 the due set by the first write that ended inside a
	# frame stood until a read ended between two: both were closed at 5 s
	hold "$ctl" 2 stream 8 "$AKC_DIR/stream.out"
	wait_until 20 test -f "$AKC_DIR/stream.out"
	cat "$AKC_DIR/stream.out"
	[ "$(jq '.opened == 2 and .open == 2 and (.closed | length) == 0' "$AKC_DIR/stream.out")" = true ]
	[ "$(ctl_conns timed_out)" = 0 ]
	if grep -q "that sent no whole header or frame" "$AKC_DIR/n1.memberd.log"; then false; fi
}

@test "past 512 connections at once a new one is refused and counted, while memberd's clients are served; once they go, new clients get in" {
	command -v nanocat >/dev/null || skip "no nanocat"
	start_cluster 1
	wait_until 30 all_up_everywhere 1 n1
	local ctl="$AKC_DIR/n1/memberd.ctl" p0 open0
	open0=$(ctl_conns open)
	wait_until 10 eval '[ -n "$(leaderd_pings)" ]'
	# shellcheck disable=SC2034	# read by the eval below
	p0=$(leaderd_pings)
	hold "$ctl" 530 hello 60 "$AKC_DIR/many.out"
	# every one not taken is refused at once (not left waiting in the backlog)
	wait_until 20 eval '[ "$(grep -c "refused [0-9]* connection" "$AKC_DIR/n1.memberd.log")" -ge 1 ]'
	grep "refused [0-9]* connections\{0,1\} to '$ctl': 512 open, the most it takes" "$AKC_DIR/n1.memberd.log"
	# a new client is refused meanwhile (akc-status: the daemon did not answer)
	run timeout 5 akc-status -c "$(conf_of n1)" --json
	[ "$status" -ne 0 ]
	# memberd's clients of before go on: leaderd's connection is answered
	# (its pings go on, and it moves a new member Up through it)
	wait_until 10 eval '[ "$(leaderd_pings)" -gt "$p0" ]'
	node_conf n2
	start_node n2
	wait_until 30 all_up n2 2
	# they go: new clients get in again
	touch "$AKC_DIR/many.out.stop"
	wait_until 10 test -f "$AKC_DIR/many.out"
	cat "$AKC_DIR/many.out"
	wait_until 10 akc-status -c "$(conf_of n1)" --json
	# 512 were taken at once, with those open before (leaderd's); the rest refused
	[ "$(jq --argjson o "$open0" '.opened + .refused == 530 and .opened == 512 - $o + 1' "$AKC_DIR/many.out")" = true ]
	[ "$(ctl_conns refused)" -ge $((530 - 512 + open0 - 1)) ]
	[ "$(ctl_conns timed_out)" = 0 ]
	[ "$(ctl_conns open)" -lt 10 ]
	kill -0 "$(pid_of n1 memberd)"
}
