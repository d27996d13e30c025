#!/usr/bin/env bats
# 9004: no memory definitely lost. The daemons of n1 and n2 (memberd,
# leaderd, singletond) run under valgrind while a 3-node cluster forms,
# loses n3 (kill -9 of its daemons, which are not checked), downs and
# removes it, and answers the tools; then SIGTERM stops them and each must
# exit 0 with 0 bytes definitely lost. Skipped without valgrind.

load lib/akc

# Slower timings: valgrind makes every daemon many times slower.
AKC_GOSSIP=250ms
AKC_HB=250ms
AKC_PAUSE=5s

VG_ERROR=97	# valgrind's exit status when it found an error

setup() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	akc_setup
}
teardown() { akc_teardown; }

# vg_report NODE PROG: the daemon's exit status and valgrind's verdict on
# it; fails, showing valgrind's log, unless it exited 0 with nothing
# definitely lost (or no leak at all) and no other error.
vg_report() {
	local pid rc=0 log
	pid=$(pid_of "$1" "$2")
	log="$AKC_DIR/vg.$pid.log"
	wait "$pid" || rc=$?	# not in a subshell: it must be this shell's child
	echo "$1 $2: exit $rc, $(grep -E 'definitely lost:|no leaks are possible|ERROR SUMMARY' "$log" |
	    sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
	if [ "$rc" != 0 ] || ! grep -qE 'definitely lost: 0 bytes|no leaks are possible' "$log" ||
	    ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
		cat "$log"
		return 1
	fi
}

@test "memberd, leaderd and singletond lose no memory: forming, losing a member, SIGTERM" {
	cluster_conf 3 roles=backend "[singleton.s]=" role=backend "command=exec sleep 600" \
	    stop-timeout=5s "[downing]=" strategy=keep-majority stable-after=1s
	# n3 forms the cluster (the first seed): it is the oldest and runs the singleton
	sed -i "s|^seed-nodes = .*|seed-nodes = $(addr_of n3), $(addr_of n1)|" "$AKC_DIR"/n?.conf
	local vg="valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite"
	vg="$vg --error-exitcode=$VG_ERROR --log-file=$AKC_DIR/vg.%p.log"
	local n p
	start_node n3
	AKC_WRAP=$vg start_node n1
	AKC_WRAP=$vg start_node n2
	AKC_WRAP=$vg start_singleton n1 s
	AKC_WRAP=$vg start_singleton n2 s
	start_singleton n3 s
	wait_until 90 all_up_everywhere 3 n1 n2 n3
	[ "$(oldest_with n1 backend)" = n3 ]
	wait_until 60 singleton_on n1 s n3
	wait_until 60 singleton_on n2 s n3
	# the tools' requests to memberd, leaderd and singletond
	for n in n1 n2; do
		akc-members -c "$(conf_of "$n")" --json >/dev/null
		akc-status -c "$(conf_of "$n")" --json >/dev/null
	done
	# n3 lost without a goodbye: unreachable, downed by keep-majority,
	# removed; the singleton starts on the oldest of n1 and n2
	kill_node n3
	wait_until 90 is_absent n1 n3
	wait_until 60 is_absent n2 n3
	wait_until 30 all_up_everywhere 2 n1 n2
	local o
	o=$(oldest_with n1 backend)
	wait_until 60 singleton_on n1 s "$o"
	wait_until 60 singleton_on n2 s "$o"
	# SIGTERM: every daemon exits 0 and valgrind finds nothing definitely lost
	for n in n1 n2; do
		for p in singletond leaderd memberd; do
			kill -TERM "$(pid_of "$n" "$p")"
		done
	done
	local bad=0
	for n in n1 n2; do
		for p in memberd leaderd singletond; do
			vg_report "$n" "$p" || bad=1
		done
	done
	[ "$bad" = 0 ]
}
