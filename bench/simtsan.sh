#!/bin/sh
# bench/simtsan.sh [akc-sim options...]: the race check of akc-sim's
# --threads, not a benchmark. Builds akc-sim with ThreadSanitizer in its
# own directory (TSAN_OUT, default /tmp/akc-sim-tsan; the tree's build is
# not touched) from the sources Makefile.am lists for it, then runs it on
# two threads with the options given (default: a 40-node kill with 1%
# loss) and prints how many races TSan reported (0 expected). Needs gcc's
# libtsan. Slow (5-15x): keep N small.
set -eu
cd "$(dirname "$0")/.."
out=${TSAN_OUT:-/tmp/akc-sim-tsan}
mkdir -p "$out"
lib=$(sed -n '/^lib_libakc_a_SOURCES/,/^$/p' Makefile.am | tr ' \t\\' '\n\n\n' | grep '\.c$')
core=$(sed -n '/^memberd_core/,/[^\\]$/p' Makefile.am | tr ' \t\\' '\n\n\n' | grep '\.c$')
# shellcheck disable=SC2046,SC2086
gcc -std=gnu11 -O1 -g -fsanitize=thread -pthread -D_GNU_SOURCE -DPACKAGE_VERSION='"tsan"' \
    -Ilib -Isrc/memberd -Isrc/leaderd $(pkg-config --cflags libcjson libsodium inih nanomsg) \
    -o "$out/akc-sim" src/sim/sim.c src/sim/engine.c src/sim/simnet.c src/sim/machine.c \
    $core src/memberd/memory.c src/leaderd/actions.c src/leaderd/downing.c $lib \
    $(pkg-config --libs libcjson libsodium inih nanomsg) -lm
[ $# -gt 0 ] || set -- -n 40 --seed 5 --settle 10s --loss 0.01
TSAN_OPTIONS="halt_on_error=0 ${TSAN_OPTIONS:-}" "$out/akc-sim" --threads 2 --json "$@" \
    > "$out/out.json" 2> "$out/err.txt" || true
races=$(grep -c 'WARNING: ThreadSanitizer' "$out/err.txt" || true)
echo "akc-sim under TSan ($*): $races races reported ($out/err.txt); end: $(jq -c .end "$out/out.json" 2>/dev/null)"
