#!/usr/bin/env bats
# 4006: results are pushed, not polled: akc-results --follow and
# akc-submit --wait are long polls the master answers when a result line is
# committed; many at once, and across a failover.

load lib/akc
load lib/work

setup() { akc_setup; }
teardown() { akc_teardown; }

# follow NODE OUT [args...]: akc-results --follow in the background, each
# line stamped with the wall time (s.us) it reached us: "TIME LINE".
follow() {
	local node=$1 out=$2; shift 2
	akc-results -c "$(conf_of "$node")" --follow "$@" 2>>"$out.err" 3>&- \
	    > >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done > "$out" 3>&-) &
	echo "$!" >> "$AKC_DIR/pids"
	echo "$!"
}

# seen_at OUT ID: when the reader writing OUT got ID's line (empty: not yet).
seen_at() { awk -v id="\"id\":\"$2\"" 'index($0, id) { print $1; exit }' "$1"; }
has_line() { [ -n "$(seen_at "$1" "$2")" ]; }

# ms A B: (B - A) in whole milliseconds, for times in s.us.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; }

# median N...: the middle one (the upper of the two middle ones).
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }'; }

# under MS N...: how many of the N are below MS.
under() { local lim=$1 n=0 v; shift; for v in "$@"; do (( v < lim )) && n=$((n + 1)); done; echo "$n"; }

# A worker that stamps the moment each job's command ends: AKC_DIR/end.ID.
stamping_worker() {
	start_worker "$1" --exec 'cat; date +%s.%N > "$AKC_DIR/end.$AKC_WORK_ID"' >/dev/null
}

@test "--follow and --wait see a result within milliseconds of its job's end, not a poll period" {
	work_cluster 3
	stamping_worker n3
	follow n2 "$AKC_DIR/follow" >/dev/null
	# a first job: the reader is there and waiting
	akc-submit -c "$(conf_of n1)" --id warm-up --wait "x" >/dev/null
	wait_until 20 has_line "$AKC_DIR/follow" warm-up
	local i t_end t_sub t_seen worst_wait=0 worst_seen=0 worst_gap=0 d all_wait=() all_seen=()
	for ((i = 0; i < 10; i++)); do
		akc-submit -c "$(conf_of n1)" --id "p-$i" --wait "x$i" >/dev/null
		t_sub=$EPOCHREALTIME
		wait_until 5 has_line "$AKC_DIR/follow" "p-$i"
		t_end=$(cat "$AKC_DIR/end.p-$i")
		t_seen=$(seen_at "$AKC_DIR/follow" "p-$i")
		# the job's end -> --wait returned; -> the reader had its line; and between the two
		d=$(ms "$t_end" "$t_sub"); (( d > worst_wait )) && worst_wait=$d; all_wait+=("$d")
		d=$(ms "$t_end" "$t_seen"); (( d > worst_seen )) && worst_seen=$d; all_seen+=("$d")
		d=$(ms "$t_sub" "$t_seen"); d=${d#-}; (( d > worst_gap )) && worst_gap=$d
	done
	echo "# worst of 10: job end -> --wait returned ${worst_wait}ms, -> --follow line" \
	    "${worst_seen}ms; between the two ${worst_gap}ms" >&3
	echo "# wait: ${all_wait[*]}  follow: ${all_seen[*]}" >&3
	# polls of 100 ms (--wait) and 200 ms (--follow) miss these bounds: the
	# old --wait took 100-110 ms every time here, --follow up to 200 ms and
	# more (a 200 ms poll is under 50 ms for a quarter of the jobs: 7 of 10
	# by chance is 0.4%). No bound on the worst one: a loaded 2-core machine
	# stretches any single wake-up past 150 ms now and then.
	(( $(median "${all_wait[@]}") < 50 ))
	(( $(median "${all_seen[@]}") < 50 ))
	(( $(under 50 "${all_wait[@]}") >= 7 ))
	(( $(under 50 "${all_seen[@]}") >= 7 ))
	# each result once, in order
	[ "$(awk '{ print $2 }' "$AKC_DIR/follow" | jq -r .id | tr '\n' ' ')" = \
	    "warm-up p-0 p-1 p-2 p-3 p-4 p-5 p-6 p-7 p-8 p-9 " ]
}

@test "long polls that find nothing end after their wait and are asked again; status waits for its job" {
	work_cluster 1
	follow n1 "$AKC_DIR/follow" >/dev/null
	wait_until 20 eval '[ "$(queue_field n1 parked.results)" = 1 ]'
	# nothing comes: each wait ends empty (1 s) and the reader asks again, printing nothing
	wait_until 10 eval '[ "$(queue_field n1 parked.expired)" -ge 3 ]'
	[ ! -s "$AKC_DIR/follow" ]
	# no worker yet: --wait parks a status request for the pending job
	akc-submit -c "$(conf_of n1)" --id st-1 --wait "late" > "$AKC_DIR/submit.out" 2>&1 &
	local waiter=$!
	echo "$waiter" >> "$AKC_DIR/pids"
	wait_until 10 eval '[ "$(queue_field n1 parked.status)" = 1 ]'
	start_worker n1 >/dev/null
	wait "$waiter"
	[ "$(tail -1 "$AKC_DIR/submit.out" | jq -r '.id + " " + .status + " " + .result')" = "st-1 done late" ]
	wait_until 5 has_line "$AKC_DIR/follow" st-1
	[ "$(queue_field n1 parked.status)" = 0 ]
	[ "$(queue_field n1 parked.woken)" -ge 2 ]
}

@test "50 --follow readers parked at once all see the result" {
	work_cluster 3
	stamping_worker n3
	local i
	for ((i = 0; i < 50; i++)); do
		follow "n$((i % 2 + 1))" "$AKC_DIR/follow.$i" >/dev/null
	done
	wait_until 30 eval '[ "$(queue_field n1 parked.results)" = 50 ]'
	akc-submit -c "$(conf_of n3)" --id many-1 --wait "to all" >/dev/null
	for ((i = 0; i < 50; i++)); do
		wait_until 10 has_line "$AKC_DIR/follow.$i" many-1
	done
	for ((i = 0; i < 50; i++)); do
		[ "$(wc -l < "$AKC_DIR/follow.$i")" = 1 ]
	done
	# a second result reaches them all too: they parked again
	wait_until 20 eval '[ "$(queue_field n1 parked.results)" = 50 ]'
	akc-submit -c "$(conf_of n3)" --id many-2 --wait "again" >/dev/null
	for ((i = 0; i < 50; i++)); do
		wait_until 10 has_line "$AKC_DIR/follow.$i" many-2
	done
}

@test "the master's node killed while --follow waits: the reader goes on and sees every later result once" {
	work_cluster 3
	local old n others=() i
	old=$(oldest_with n1 backend)
	for n in n1 n2 n3; do
		[ "$n" != "$old" ] && others+=("$n")
	done
	start_worker "${others[0]}" >/dev/null
	follow "${others[1]}" "$AKC_DIR/follow" >/dev/null
	for ((i = 0; i < 5; i++)); do
		akc-submit -c "$(conf_of "${others[0]}")" --id "before-$i" --wait x >/dev/null
	done
	wait_until 10 has_line "$AKC_DIR/follow" before-4
	wait_until 10 eval '[ "$(queue_field "${others[0]}" parked.results)" = 1 ]'
	kill_node "$old"
	# submits go on through the failover (an id printed is never lost; retried until printed)
	for ((i = 0; i < 10; i++)); do
		until akc-submit -c "$(conf_of "${others[0]}")" --id "after-$i" x >/dev/null 2>&1; do
			sleep 0.2
		done
	done
	wait_until 90 has_line "$AKC_DIR/follow" after-9
	for ((i = 0; i < 10; i++)); do
		wait_until 10 has_line "$AKC_DIR/follow" "after-$i"
	done
	awk '{ print $2 }' "$AKC_DIR/follow" | jq -r .id | sort > "$AKC_DIR/ids"
	# every id once: none lost, none twice
	[ "$(wc -l < "$AKC_DIR/ids")" = 15 ]
	[ "$(sort -u "$AKC_DIR/ids" | wc -l)" = 15 ]
	# and in seq order
	awk '{ print $2 }' "$AKC_DIR/follow" | jq -r .seq | sort -n -c
	grep -q "retrying" "$AKC_DIR/follow.err" || true
}

@test "--wait on jobs that finish as fast as they are asked about: every line carries its result" {
	# A status asked in the master's turn in which its job finished used to
	# be answered before the result line was written: "done" with a null result.
	work_cluster 1
	start_worker n1 --pipe "jq -c --unbuffered '{id, result: .payload}'" >/dev/null
	start_worker n1 --pipe "jq -c --unbuffered '{id, result: .payload}'" >/dev/null
	akc-submit -c "$(conf_of n1)" --id warm-up --wait "x" >/dev/null
	local i k pids=()
	for ((k = 0; k < 8; k++)); do
		(for ((i = 0; i < 25; i++)); do
			akc-submit -c "$(conf_of n1)" --id "r-$k-$i" --wait "p$k-$i" | tail -1
		done > "$AKC_DIR/wait.$k" 3>&-) 3>&- &
		pids+=("$!")
	done
	for k in "${pids[@]}"; do wait "$k"; done
	cat "$AKC_DIR"/wait.* > "$AKC_DIR/waits"
	[ "$(wc -l < "$AKC_DIR/waits")" = 200 ]
	# each line: done, with its own payload as the result
	[ "$(jq -r 'select(.status == "done" and .result == ("p" + (.id | ltrimstr("r-")))) | .id' \
	    "$AKC_DIR/waits" | wc -l)" = 200 ]
}
