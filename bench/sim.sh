#!/bin/bash
# bench/sim.sh [N...]: akc-sim's default scenario (N nodes start over 10 s,
# one killed 30 s later, then akc-down) at each N (default 50 200 500 1000
# 2400), one table row each, plus the other scenarios at SIM_SCEN_N nodes
# (default 200). SIM_BIG=1 then runs issue 13's big runs one at a time,
# niced, under /usr/bin/time (wall, CPU, max RSS): 20 nodes added to 1,500,
# a kill at 2,400, and 10,000 nodes (cold start + one kill: over an hour of
# CPU with today's cores, bench/README.md; SIM_BIG_N changes the list, e.g.
# SIM_BIG_N="add:1500 kill:2400", what was run). SIM_COST="500 1000 2000"
# runs the cold start alone at each N under /usr/bin/time: akc-sim's CPU,
# the protocol's work, to compare builds (AKC_BIN) and extrapolate to larger
# N; an empty list ("" or SIM_COST= ) skips the tables above. Each run's JSON, CSV and
# plots go to SIM_OUT (default /tmp/akc-sim-bench). AKC_BIN picks the
# build; SIM_SEED the seed (default 1). Prints figures; it does not pass or
# fail.
set -u
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
SIM="$AKC_BIN/akc-sim"
OUT=${SIM_OUT:-/tmp/akc-sim-bench}
SEED=${SIM_SEED:-1}
[ -x "$SIM" ] || { echo "bench: build first (bin/akc-bootstrap)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: needs jq" >&2; exit 1; }
if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt-get install -y -q gnuplot-nox >/dev/null 2>&1
fi
command -v gnuplot >/dev/null || echo "bench: no gnuplot: CSV and plot scripts only (apt-get install gnuplot-nox)" >&2
mkdir -p "$OUT"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50 200 500 1000 2400)

row() {	# name, json file
	jq -r --arg name "$1" '[$name, .nodes,
		(.all_up_s // "never"),
		(.detection_s.median // "-"), (.detection_s.max // "-"),
		(.down_seen_s.max // "-"), (.removal_s.max // "-"), (.heal_s.max // "-"),
		(.idle_bytes_per_node_s // "-"), .peak_bytes_per_node_s,
		.msg_bytes.median, .msg_bytes.peak, .false_unreachable,
		.end.members, .end.leaders, .mem_per_node_kib, .wall_s] | @tsv' "$2"
}
header() {
	printf 'scenario\tN\tall_up_s\tdetect_med\tdetect_max\tdown_seen_max\tremoval_max\theal_max\tidle_B/s/node\tpeak_B/s/node\tmsg_med\tmsg_peak\tfalse_unr\tmembers\tleaders\tKiB/node\twall_s\n'
}

# The cost runs: the cold start alone, its CPU and memory.
cost() {	# N
	local n=$1 d="$OUT/cost-start-$1"

	nice /usr/bin/time -v "$SIM" --nodes "$n" --seed "$SEED" --scenario start --json \
	    > "$d.json" 2> "$d.err" || return
	jq -r --arg user "$(sed -n 's/.*User time (seconds): //p' "$d.err")" \
	    --arg wall "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$d.err")" \
	    '[.nodes, (.all_up_s // "never"), .messages, .bytes, .msg_bytes.peak, $user,
	     ((($user | tonumber) / .nodes * 100 * 100 | round) / 100), $wall, .mem_per_node_kib,
	     (.full_states.full_reads_per_node // "-"), (.full_states.records_per_node // "-")] | @tsv' "$d.json"
}
if [ -n "${SIM_COST+x}" ]; then
	{
		printf 'N\tall_up_s\tmessages\tbytes\tmsg_peak\tuser_s\tuser_s_per_100\twall\tKiB/node\tfull_reads/node\trecords/node\n'
		for n in $SIM_COST; do
			cost "$n"
		done
	} | column -t -s $'\t'
	[ $# -gt 0 ] || exit 0
fi

{
	header
	for n in "${sizes[@]}"; do
		d="$OUT/kill-$n"
		"$SIM" --nodes "$n" --seed "$SEED" --json --plot "$d" > "$d.json" 2>"$d.err" &&
			row kill "$d.json"
	done
	n=${SIM_SCEN_N:-200}
	for sc in "rack --kill 10" "partition" "one-way" "pause --kill 5" "add --add 20" \
		"restart --kill 20" "idle"; do
		name=${sc%% *}
		d="$OUT/$name-$n"
		# shellcheck disable=SC2086
		"$SIM" --nodes "$n" --seed "$SEED" --scenario $sc --json --plot "$d" > "$d.json" \
			2>"$d.err" && row "$name" "$d.json"
	done
} | column -t -s $'\t'

# The big runs: figures of the protocol plus what they cost this machine.
big() {	# scenario:N
	local sc=${1%%:*} n=${1##*:} d args
	d="$OUT/big-$sc-$n"
	args=(--nodes "$n" --seed "$SEED" --json --csv "$d.csv")
	[ "$sc" = add ] && args+=(--scenario add --add 20)
	nice /usr/bin/time -v "$SIM" "${args[@]}" > "$d.json" 2> "$d.err" || return
	jq -r --arg sc "$sc" \
	    --arg wall "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$d.err")" \
	    --arg user "$(sed -n 's/.*User time (seconds): //p' "$d.err")" \
	    --arg sys "$(sed -n 's/.*System time (seconds): //p' "$d.err")" \
	    --arg rss "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$d.err")" \
	    '[$sc, .nodes, (.all_up_s // "never"), (.detection_s.max // "-"),
	     (.removal_s.max // "-"), .peak_bytes_per_node_s, .msg_bytes.peak,
	     .false_unreachable, .end.members, $wall, $user, $sys,
	     ($rss | tonumber / 1024 | round), .mem_per_node_kib] | @tsv' "$d.json"
}
if [ "${SIM_BIG:-0}" = 1 ]; then
	echo
	{
		printf 'scenario\tN\tall_up_s\tdetect_max\tremoval_max\tpeak_B/s/node\tmsg_peak\tfalse_unr\tmembers\twall\tuser_s\tsys_s\tmaxRSS_MiB\tKiB/node\n'
		for b in ${SIM_BIG_N:-add:1500 kill:2400 kill:10000}; do
			big "$b"
		done
	} | column -t -s $'\t'
fi
echo "runs, series and plots: $OUT"
