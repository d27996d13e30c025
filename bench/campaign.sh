#!/bin/bash
# bench/campaign.sh [--seed S] [--duration SECONDS]: a randomized, seeded fault
# campaign against 5 hosts in network namespaces (as root), then a check of
# akc's promises. The harness is t/lib/campaign.bash (shared with
# t/9003-campaign.bats): hosts h1..h5 (seeds h1 h2 h3), each running memberd,
# leaderd, singletond -s w (the test witness), singletond -s master and a
# worker, every daemon restarted 1 s after it exits by a supervisor loop in
# the host's namespace; keep-majority, stable-after 2s, down-removal-margin
# 8s, heartbeat 200ms / pause 1s, gossip 200ms, [master] replicas = 1.
#
# During DURATION seconds (default 600) a submitter sends jobs with unique ids
# at about 15/s through all five nodes, each id again until akc-submit
# acknowledges it, and faults come every 5-20 s, drawn from the seed: 2|3 and
# 1|4 partitions, heals, kill -9 of a whole host (supervisors included) and
# its restart 5-30 s later, SIGSTOP of a memberd for 1-8 s, SIGSTOP of a
# singletond (of the witness or of the master) for 1-8 s, SIGSTOP of a whole
# host (every process of it: its daemons, the singletons and their keepers,
# the standby, the worker and its jobs) for 1-8 s, one-way cuts, 10-30% loss
# on a host, kill -9 and immediate restart of the first seed.
# Then every link is healed, every host started, and the checker waits
# (CAMPAIGN_LIVENESS, default 120 s) for all 5 Up in every view, one master,
# one witness, every acknowledged job in the results, and checks:
#   - never two singletons: the witness's lock and log, and a census of /proc
#     every ~200 ms (two masters or two witnesses in two samples in a row);
#   - every acknowledged id in akc-results exactly once, done (or failed);
#   - liveness after the heal, within the deadline;
#   - no daemon crash (an exit by a signal we did not send, an abort).
# It prints the findings and one summary line, keeps the logs (their
# directory is printed; t/lib/campaign.bash lists the files) and exits 1 on
# any violation (2 if the cluster did not even form, 64 on a usage error).
#
# Environment: AKC_BIN (the built tree, default this one), and the
# CAMPAIGN_* settings at the top of t/lib/campaign.bash (CAMPAIGN_SEED_TIMEOUT
# default 30s, CAMPAIGN_GAP_MIN/MAX, CAMPAIGN_DOWN_MIN/MAX, CAMPAIGN_PAUSE_MIN/MAX,
# CAMPAIGN_RATE, CAMPAIGN_LANES, CAMPAIGN_LIVENESS, CAMPAIGN_WEIGHTS; the
# bench's default weights add nodepause:2 to the library's, which t/9003's
# fixed seed keeps).
# Every process it starts is killed at exit (everything in its namespaces).
set -u
cd "$(dirname "$0")/.." || exit 1
AKC_BIN=${AKC_BIN:-$PWD}
AKC_SRC=$PWD
export AKC_BIN AKC_SRC LC_ALL=C

usage() { echo "usage: bench/campaign.sh [--seed S] [--duration SECONDS]" >&2; exit 64; }
SEED="" DURATION=600
while [ $# -gt 0 ]; do
	case $1 in
	--seed) [ $# -ge 2 ] || usage; SEED=$2; shift 2 ;;
	--seed=*) SEED=${1#--seed=}; shift ;;
	--duration) [ $# -ge 2 ] || usage; DURATION=$2; shift 2 ;;
	--duration=*) DURATION=${1#--duration=}; shift ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
if ! [[ "$DURATION" =~ ^[0-9]+$ ]] || [ "$DURATION" -eq 0 ]; then usage; fi
[ -z "$SEED" ] && SEED=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
[[ "$SEED" =~ ^[0-9]+$ ]] || usage

if [ "$(id -u)" != 0 ]; then
	echo "bench: the campaign needs root (network namespaces)" >&2
	exit 1
fi
for c in ip nft jq pgrep; do
	command -v "$c" >/dev/null || { echo "bench: $c is needed" >&2; exit 1; }
done
for p in memberd leaderd singletond master worker akc-submit akc-results akc-status t/witness; do
	if [ ! -x "$AKC_BIN/$p" ]; then
		echo "bench: build first (make; make check TESTS=): $AKC_BIN/$p is missing" >&2
		exit 1
	fi
done

# t/lib/akc.bash is written for bats: what it asks of bats is not needed here
bats_require_minimum_version() { :; }
bats_load_library() { :; }
BATS_TEST_DIRNAME=$PWD/t
: "${CAMPAIGN_WEIGHTS:=cut23:3 cut14:2 heal:4 kill:2 pause:3 sgpause:2 nodepause:2 oneway:2 lossy:2 seedrestart:1}"
. t/lib/akc.bash
. t/lib/netns.bash
. t/lib/campaign.bash

# shellcheck disable=SC2317	# run by the trap
finish() {
	trap - EXIT INT TERM
	campaign_teardown
	net_teardown
	if [ -n "${AKC_DIR:-}" ]; then
		echo "bench: logs kept in $AKC_DIR" >&2
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "akc fault campaign, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, seed $SEED, ${DURATION}s of faults"
echo "settings: 5 hosts (seeds h1 h2 h3), heartbeat-interval 200ms, acceptable-heartbeat-pause 1s," \
    "gossip-interval 200ms, seed-node-timeout $CAMPAIGN_SEED_TIMEOUT; keep-majority stable-after 2s," \
    "down-removal-margin 8s; [master] replicas 1; faults every ${CAMPAIGN_GAP_MIN}-${CAMPAIGN_GAP_MAX}s," \
    "hosts down ${CAMPAIGN_DOWN_MIN}-${CAMPAIGN_DOWN_MAX}s; ~${CAMPAIGN_RATE} jobs/s; liveness deadline ${CAMPAIGN_LIVENESS}s;" \
    "fault weights: $CAMPAIGN_WEIGHTS"

akc_setup
rc=0
campaign_run "$SEED" "$DURATION" || rc=$?
exit "$rc"
