#!/bin/bash
# bench/local-conns.sh: what a local socket's connections cost the daemon
# (lib/sps.c: its deadlines and its cap), on memberd's control socket: the
# CPU memberd spends per connection (connect, one ping, close: as each tool
# call does) and per request on one kept connection (as leaderd, workers and
# akc-httpd do), read from /proc/PID/stat around CONNS connections and
# REQS requests made by a raw Python client. AKC_BIN picks the build
# (default this tree), to compare two back to back:
#   flock /work/bench.lock bench/local-conns.sh
#   AKC_BIN=/path/to/other/tree flock /work/bench.lock bench/local-conns.sh
# Environment: CONNS (default 20000), REQS (default 100000), ROUNDS (3).
set -eu
cd "$(dirname "$0")/.."
AKC_BIN=${AKC_BIN:-$PWD}
CONNS=${CONNS:-20000} REQS=${REQS:-100000} ROUNDS=${ROUNDS:-3}
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 1; }
dir=$(mktemp -d /tmp/akc-lc.XXXXXX)
pid=""
# shellcheck disable=SC2317	# run by the trap
finish() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap finish EXIT
port=$(( 20000 + RANDOM % 20000 ))
cat > "$dir/n1.conf" <<EOF
[node]
name = n1
address = tcp://127.0.0.1:$port
run-dir = $dir/n1
state-dir = $dir/n1.state
[cluster]
seed-nodes = tcp://127.0.0.1:$port
EOF
# STRACE=1: memberd under strace -c, its system calls counted instead (one
# round: the counts, not the CPU, are the figure then)
if [ "${STRACE:-}" = 1 ]; then
	strace -c -f -o "$dir/strace" "$AKC_BIN/memberd" -c "$dir/n1.conf" >"$dir/memberd.log" 2>&1 &
	ROUNDS=1
else
	"$AKC_BIN/memberd" -c "$dir/n1.conf" >"$dir/memberd.log" 2>&1 &
fi
pid=$!
for _ in $(seq 100); do
	"$AKC_BIN/akc-status" -c "$dir/n1.conf" >/dev/null 2>&1 && break
	sleep 0.1
done
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$pid/stat"; }
client() {	# MODE N: connections, or requests on one connection
	python3 - "$dir/n1/memberd.ctl" "$1" "$2" <<'PY'
import socket, struct, sys
path, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = b'{"v":2,"cmd":"ping"}'
def recv_all(s, k):
    b = b""
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c:
            raise SystemExit("closed")
        b += c
    return b
def ask(s, i):
    s.sendall(b"\x01" + struct.pack(">QI", len(body) + 4, 0x80000000 | i) + body)
    h = recv_all(s, 9)
    recv_all(s, struct.unpack(">Q", h[1:])[0])
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"\0SP\0\0\x30\0\0")
    recv_all(s, 8)
    return s
if mode == "conns":
    for i in range(n):
        s = conn(); ask(s, i); s.close()
else:
    s = conn()
    for i in range(n):
        ask(s, i)
PY
}
echo "local connections, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, AKC_BIN=$AKC_BIN"
echo "uptime: $(uptime)"
for ((r = 1; r <= ROUNDS; r++)); do
	c0=$(cpu_ms); t0=$(date +%s%N)
	client conns "$CONNS"
	c1=$(cpu_ms); t1=$(date +%s%N)
	client reqs "$REQS"
	c2=$(cpu_ms); t2=$(date +%s%N)
	awk -v a="$c0" -v b="$c1" -v c="$c2" -v n="$CONNS" -v m="$REQS" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
	    printf "round %d: memberd CPU per connection (connect, ping, close) %.1f us (%d in %.1f s); per request on one connection %.2f us (%d in %.1f s)\n",
	        '"$r"', (b - a) * 1000 / n, n, (t1 - t0) / 1e9, (c - b) * 1000 / m, m, (t2 - t1) / 1e9 }'
done
echo "uptime: $(uptime)"
if [ "${STRACE:-}" = 1 ]; then
	pkill -P "$pid" -x memberd	# strace ends with it
	wait "$pid" 2>/dev/null; pid=""
	echo "memberd's system calls over the run ($CONNS connections, then $REQS requests):"
	awk 'NR <= 2 || $4 + 0 >= 1000 || /total|timerfd|read$/' "$dir/strace"
fi
