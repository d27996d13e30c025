#!/bin/bash
# bench/queue.sh: issue 12's table in one run, akc's work path side by side
# with beanstalkd (fsync before every reply): bench/work.sh's "queue" part.
# Environment as bench/work.sh (SUBMITS, JOBS, PACED, WORKERS, BYTES, KEEP),
# plus QGAP_MS (the pause after each acknowledgement in the latency rows,
# default 4: about 200 jobs/s) and SUBMIT_RUNS (akc-submit processes for
# its CPU figure, default 200).
# Then the "drain" part: the end-to-end rows without the submitters as the
# bound (DRAIN_JOBS preloaded by DRAIN_SUBMITTERS, then drained by WORKERS
# persistent workers of concurrency WORKER_CONC; then a mixed run), with
# AKC_BEFORE=DIR a before build's cluster in the same run (bench/work.sh).
cd "$(dirname "$0")/.." || exit 1
export BYTES=${BYTES:-64} PACED=${PACED:-1000}
PARTS=${PARTS:-queue drain} exec bench/work.sh
