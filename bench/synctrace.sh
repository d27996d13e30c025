#!/bin/bash
# bench/synctrace.sh: where a synced write's time goes inside the running
# system (branch sync, issue 12). For each build given (default: this tree),
# a steady 3-node cluster (bench/work.sh's hold part), then SUBMITS submits
# by one submitter, one at a time, to the master's own socket, while
# bench/synctrace.bt (bpftrace, root) watches: per synced write of the
# master and of each standby (fdatasync, or pwritev2 with RWF_DSYNC) its
# mean time, the part off the CPU, the run-queue delay after its wake-ups,
# the wake-ups; the device's requests per submit by kind (WS a synced data
# write, WSM a synced metadata write: the inode, FF a cache flush); and the
# wake-ups of the master's, the standbys' and the submitter's threads per
# submit. Figures are printed, not asserted; run it under flock
# /work/bench.lock. Every process it starts is stopped at exit.
#
#   [SUBMITS=4000] bench/synctrace.sh [BUILD_DIR...]
#
# e.g. bench/synctrace.sh /work/wt-base "$PWD" (a base build, then this one)
set -u
cd "$(dirname "$0")/.." || exit 1
SUBMITS=${SUBMITS:-4000}
[ $# -gt 0 ] || set -- "$PWD"
command -v bpftrace >/dev/null || { echo "synctrace: needs bpftrace (apt-get install bpftrace)" >&2; exit 1; }
make -s bench >&2 || exit 1
OUT=$(mktemp -d /tmp/akcsync.XXXXXX)
HOLD=""
BT=""

stop() {
	[ -n "$BT" ] && kill -INT "$BT" 2>/dev/null && wait "$BT" 2>/dev/null
	BT=""
	if [ -n "$HOLD" ]; then
		touch "$HOLD/stop"
		for _ in $(seq 100); do pgrep -f "$HOLD" >/dev/null || break; sleep 0.1; done
		HOLD=""
	fi
}
trap 'stop; rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM

for b in "$@"; do
	log=$OUT/hold.$(basename "$b").log
	AKC_BIN=$b PARTS=hold bench/work.sh > "$log" 2>&1 &
	for _ in $(seq 120); do grep -q 'cluster up' "$log" && break; sleep 0.5; done
	HOLD=$(sed -n 's/.*touch \(.*\)\/stop to end.*/\1/p' "$log")
	[ -n "$HOLD" ] || { echo "synctrace: no cluster for $b"; cat "$log"; exit 1; }
	d=$HOLD/hold
	addr=ipc://$d/n1/singleton.master.direct
	[ -S "$d/n1/singleton.master.direct" ] || addr=ipc://$d/n1/singleton.master
	# the master under n1's singletond; the standbys under the others'
	bt=$OUT/bt.$(basename "$b").out
	bpftrace bench/synctrace.bt > "$bt" 2>/dev/null &
	BT=$!
	sleep 4
	echo "== $b: $(uptime)"
	read -r ok err secs < <(bench/submit submit "$addr" "st$RANDOM" "$SUBMITS" 1 64)
	kill -INT "$BT"; wait "$BT" 2>/dev/null; BT=""
	echo "   $ok submits in ${secs}s: $(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f/s, %.0f us a submit", n / s, s * 1e6 / n }')"
	masters=$(pgrep -f "^$b/master" | tr '\n' ' ')
	awk -v n="$ok" -v masters="$masters" -v b="$b" '
	    function key(s) { sub(/^[^[]*\[/, "", s); sub(/\]:.*/, "", s); return s }
	    function val(s) { sub(/.*: /, "", s); return s + 0 }
	    /^@sync_sum\[/ { ss[key($0)] = val($0) } /^@sync_n\[/ { sn[key($0)] = val($0) }
	    /^@off_sum\[/ { off[key($0)] = val($0) } /^@rq_sum\[/ { rq[key($0)] = val($0) }
	    /^@io_n\[/ { io[key($0)] += val($0) }
	    /^@wakes_tid\[(master|submit), / { split(key($0), f, ", "); w[f[1]] += val($0) }
	    END {
		for (k in sn) {
			if (k !~ /^master/ || sn[k] < n / 10) continue
			printf "   %-16s %5d syncs, mean %4.0f us: off the CPU %4.0f (run-queue delay %3.0f), on it %3.0f\n",
			    k, sn[k], ss[k] / sn[k], off[k] / sn[k], rq[k] / sn[k], (ss[k] - off[k]) / sn[k]
		}
		printf "   device requests a submit:"
		for (k in io) if (io[k] / n >= 0.05) printf " %s %.2f", k, io[k] / n
		printf "\n   wake-ups a submit: master processes %.1f, the submitter %.1f\n", w["master"] / n, w["submit"] / n
	    }' "$bt"
	stop
done
