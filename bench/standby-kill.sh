#!/bin/bash
# bench/standby-kill.sh: what a standby's kill -9 costs the submitters: a
# 3-node work cluster (bench/lib.sh's work_confs: replicas = 1, every node
# in the replica set), one submitter on the master's node (bench/submit, one
# request at a time on a REQ socket), and a kill -9 of one standby process
# (`master --standby`, singletond restarts it) KILL_AT s into the run: with a
# build that syncs lazily (branch lazy), the standby on sync duty (akc-queue
# --json's standbys[].sync), else the first standby. Prints, per run, the
# submits/s before and after the kill, the longest time between two
# acknowledgements in the second before the kill and in the second after it
# (the stall), and the submit -> ack p50 / p99 of each part.
#
# Environment: AKC_BIN (the build, default this tree; the bench clients come
# from `make bench` in this tree), BEFORE (a second build, run first in
# each round), RUNS (rounds, default 2), SUBMITS (default 6000), KILL_AT
# (seconds, default 1.5), KEEP=1 (keep the logs). Figures are printed, not
# asserted; every process it starts is stopped by pid at exit.
set -u
cd "$(dirname "$0")/.." || exit 1
AKC_BIN=${AKC_BIN:-$PWD}
BEFORE=${BEFORE:-}
RUNS=${RUNS:-2}
SUBMITS=${SUBMITS:-6000}
KILL_AT=${KILL_AT:-1.5}
KEEP=${KEEP:-}
SUBMIT=$PWD/bench/submit
export LC_ALL=C
PATH0=$PATH
[ -x "$SUBMIT" ] || { echo "bench: make bench first" >&2; exit 1; }
. bench/lib.sh
N=3
TOP=$(mktemp -d /tmp/akckill.XXXXXX)
declare -A LIVE=()

cleanup() {
	local p kids
	[ ${#LIVE[@]} -gt 0 ] || return 0
	kids=$(descendants "${!LIVE[@]}")
	for p in "${!LIVE[@]}" $kids; do kill -9 "$p" 2>/dev/null; done
	for p in "${!LIVE[@]}"; do wait_for 10 gone "$p"; reap "$p"; done
}
trap finish EXIT

# standby_pid NODE: the `master --standby` under NODE's singletond
standby_pid() {
	local p
	for p in $(descendants "$(pid_of "$1" singletond)"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = master ] &&
		    tr '\0' ' ' < "/proc/$p/cmdline" | grep -q -- --standby && echo "$p"
	done
	return 0
}
caught_up() {
	akc-queue -c "$D/n1.conf" --json | jq -e '.seq as $q | [.standbys[] | select(.acked >= $q)] | length == 2'
}

# one TAG BIN: a fresh cluster of BIN's build, the run, one line of figures
one() {
	local tag=$1 bin=$2 victim sb tk i rb ra gb ga
	D=$TOP/$tag
	mkdir -p "$D"
	work_confs "$D" "$N" "$bin"
	local PATH="$bin:$PATH0"
	export PATH
	for i in 1 2 3; do start_node "n$i" master || return 1; done
	wait_for 60 all_up_everywhere || { say "$tag: not all Up"; return 1; }
	wait_for 60 caught_up || { say "$tag: the standbys do not follow"; return 1; }
	"$SUBMIT" submit "ipc://$D/n1/singleton.master" k "$SUBMITS" 1 100 "$D/acks" > "$D/submit.out" &
	LIVE[$!]=submit
	sb=$!
	disown $!
	sleep "$KILL_AT"
	victim=$(akc-queue -c "$D/n1.conf" --json | jq -r '[.standbys[] | select(.sync == true) | .node][0] // "n2"')
	tk=$(now_ms)
	kill -9 "$(standby_pid "$victim")"
	wait_for 120 gone "$sb"
	reap "$sb"
	# id sent_ms acked_ms, in ack order: latencies before and after the kill,
	# the rates, and the longest gaps within a second of it
	sort -n -k3 "$D/acks" | awk -v tk="$tk" -v D="$D" '
	    { lat = $3 - $2
	      if ($3 < tk) { print lat > (D "/lat.before"); nb++; if ($3 >= tk - 1000 && prev && $3 - prev > gb) gb = $3 - prev; if (!fb) fb = $3; lb = $3 }
	      else { print lat > (D "/lat.after"); na++; if ($3 <= tk + 1000 && prev && $3 - prev > ga) ga = $3 - prev; if (!fa) fa = $3; la = $3 }
	      prev = $3 }
	    END { printf "%.0f %.0f %d %d\n", (lb > fb ? nb * 1000 / (lb - fb) : 0), (la > fa ? na * 1000 / (la - fa) : 0), gb, ga }' > "$D/sum"
	read -r rb ra gb ga < "$D/sum"
	printf '%-8s killed %s'"'"'s standby: submits/s %s before, %s after; longest gap %s ms before, %s ms after the kill; ack p50/p99 %s/%s ms before, %s/%s after\n' \
	    "$tag" "$victim" "$rb" "$ra" "$gb" "$ga" "$(pct 50 < "$D/lat.before")" "$(pct 99 < "$D/lat.before")" \
	    "$(pct 50 < "$D/lat.after")" "$(pct 99 < "$D/lat.after")"
	echo "    the master's duty_moves: $(akc-queue -c "$D/n1.conf" --json | jq -r '.duty_moves // "-"')"
	cleanup
}

for ((r = 1; r <= RUNS; r++)); do
	[ -n "$BEFORE" ] && { one "before$r" "$BEFORE" || exit 1; }
	one "after$r" "$AKC_BIN" || exit 1
done
