#!/usr/bin/env bats
# 9002: the singleton across real partitions between network-namespace hosts.
# The witness child holds a lock shared by all hosts while it runs: a second
# one starting anywhere before the first stopped is caught.

load lib/akc
load lib/netns

setup() {
	akc_setup
	net_require
	witness_log
}
teardown() {
	net_teardown
	akc_teardown
}

# singleton_cluster [conf args...]: a node and singletond w on every host.
singleton_cluster() {
	local h
	host_cluster "[singleton.w]=" "command=$AKC_BIN/t/witness" stop-timeout=2s "$@"
	for h in "${NET_HOSTS[@]}"; do
		host_singleton "$h" w
	done
}

@test "the oldest cut off in the minority stops its singleton before the majority starts one" {
	net_setup 5
	singleton_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	local old h minority majority next
	old=$(oldest_with h1 "")
	wait_until 20 runs_on "$old"
	split_around "$old" 2 h1 h2 h3 h4 h5
	net_cut "$minority" "$majority"
	exited_with "$old" 3
	wait_until 10 process_exited "$(pid_of "$old" singletond)"
	[ "$(exit_status_of "$(pid_of "$old" singletond)")" = 3 ]
	wait_until 30 runs_on "$next"
	cat "$WITNESS_LOG"
	# the old one's stop comes before the new one's start, and never both at once
	awk -v o="$old" -v n="$next" '$2 == o && $3 == "stop" { s = $1 } $2 == n && $3 == "start" { t = $1 }
	     END { printf "stopped %.3f, started %.3f, gap %.3f s\n", s, t, t - s; exit !(s > 0 && t > s) }' \
	    "$WITNESS_LOG"
	witness_check "$WITNESS_LOG"
}

@test "the oldest on the majority side keeps its singleton through a split" {
	net_setup 5
	singleton_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 5 h1 h2 h3 h4 h5
	local old h majority="" minority=""
	old=$(oldest_with h1 "")
	wait_until 20 runs_on "$old"
	majority="$old"
	for h in h1 h2 h3 h4 h5; do
		[ "$h" = "$old" ] && continue
		if [ "$(echo "$majority" | wc -w)" -lt 3 ]; then majority="$majority $h"
		else minority="$minority $h"; fi
	done
	net_cut "$majority" "$minority"
	for h in $minority; do
		exited_with "$h" 3
	done
	wait_until 30 all_up_everywhere 3 $majority
	runs_on "$old"
	[ "$(grep -c start "$WITNESS_LOG")" = 1 ]
	witness_check "$WITNESS_LOG"
}

@test "a 2|2 tie under keep-majority: the side of the lowest address keeps the singleton" {
	net_setup 4
	singleton_cluster "[downing]=" strategy=keep-majority stable-after=2s
	wait_until 30 all_up_everywhere 4 h1 h2 h3 h4
	local old low high h
	old=$(oldest_with h1 "")
	wait_until 20 runs_on "$old"
	# 10.211.X.1 (h1) is the lowest address: its side survives the tie
	low="h1"
	[ "$old" != h1 ] && low="h1 $old"
	for h in h2 h3 h4; do
		[ "$(echo "$low" | wc -w)" -lt 2 ] && [ "$h" != "$old" ] && { low="$low $h"; continue; }
		case " $low " in *" $h "*) ;; *) high="$high $h" ;; esac
	done
	net_cut "$low" "$high"
	for h in $high; do
		exited_with "$h" 3
	done
	wait_until 30 all_up_everywhere 2 $low
	# the guard's majority holds on the low side (2 of 4 with the lowest
	# address, as the tie is decided): the singleton never stopped
	wait_until 10 runs_on "$old"
	cat "$WITNESS_LOG"
	[ "$(grep -c start "$WITNESS_LOG")" = 1 ]
	[ "$(grep -c stop "$WITNESS_LOG")" = 0 ]
	witness_check "$WITNESS_LOG"
}
