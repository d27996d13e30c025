#!/bin/bash
# bench/simthreads.sh [N:SCENARIO...]: akc-sim on one thread and on two
# (THREADS, default "1 2"), back to back, for each run (default 1000:start
# 2000:start 1000:kill; bench/README.md "akc-sim on two threads"). BEFORE=DIR
# first runs DIR/akc-sim, a build without --threads (the one-thread loop
# before the windows). One line a run: wall, user and system CPU
# (/usr/bin/time), the load average before and after, and whether its
# summary (without wall_s, phase_s, mem_per_node_kib) and CSV are byte for
# byte the first --threads run's. AKC_BIN picks the build, SIM_SEED the
# seed (1), SIM_OUT where the JSON and CSV go. Run it under the bench lock
# (flock /work/bench.lock bench/simthreads.sh): it measures. Prints figures;
# it does not pass or fail.
set -u
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
SIM="$AKC_BIN/akc-sim"
OUT=${SIM_OUT:-/tmp/akc-sim-threads}
SEED=${SIM_SEED:-1}
THREADS=${THREADS:-1 2}
BEFORE=${BEFORE:-}
[ -x "$SIM" ] || { echo "bench: build first (bin/akc-bootstrap)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: needs jq" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
mkdir -p "$OUT"
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(1000:start 2000:start 1000:kill)

load1() { cut -d' ' -f1 /proc/loadavg; }

one() {	# label, binary, N, scenario, extra args...
	local label=$1 bin=$2 n=$3 sc=$4 f l0
	shift 4
	f="$OUT/$n-$sc-$label"
	l0=$(load1)
	/usr/bin/time -f '%e %U %S %M' -o "$f.time" "$bin" --nodes "$n" --seed "$SEED" \
	    --scenario "$sc" --json --csv "$f.csv" "$@" > "$f.json" || return 1
	jq -cS 'del(.wall_s, .phase_s, .mem_per_node_kib)' "$f.json" > "$f.stable"
	read -r wall user sys rss < "$f.time"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$sc" "$label" "$wall" "$user" "$sys" \
	    "$((rss / 1024))" "$l0" "$(load1)" "$(jq -r '.all_up_s // "never"' "$f.json")" \
	    "$(jq -r '.removal_s.max // "-"' "$f.json")"
}

printf 'N\tscenario\trun\twall_s\tuser_s\tsys_s\tmaxrss_MiB\tload_before\tload_after\tall_up_s\tremoval_max\tsame_as_first\n'
for r in "${runs[@]}"; do
	n=${r%%:*} sc=${r#*:}
	if [ -n "$BEFORE" ]; then
		line=$(one before "$BEFORE/akc-sim" "$n" "$sc") || { echo "bench: $r before failed" >&2; continue; }
		printf '%s\t-\n' "$line"
	fi
	first=
	for t in $THREADS; do
		line=$(one "T$t" "$SIM" "$n" "$sc" --threads "$t") || { echo "bench: $r T$t failed" >&2; continue; }
		f="$OUT/$n-$sc-T$t"
		if [ -z "$first" ]; then
			first=$f same=-
		elif cmp -s "$first.stable" "$f.stable" && cmp -s "$first.csv" "$f.csv"; then
			same=yes
		else
			same=NO
		fi
		printf '%s\t%s\n' "$line" "$same"
	done
done
