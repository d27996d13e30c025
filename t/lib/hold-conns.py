#!/usr/bin/env python3
# t/lib/hold-conns.py SOCKET N MODE SECONDS OUT: opens N connections to the
# unix socket SOCKET (a daemon's local REQ/REP socket, lib/sps.c's) and
# holds them for at most SECONDS, then writes OUT (JSON, written to OUT.new
# and renamed: a test polls for OUT):
#   {"opened": connections made, "refused": closed by the server before its
#    8-byte header came (over its cap), "closed": [seconds after its connect
#    at which the server closed each of the others], "open": still open at
#    the end}
# MODE is what each one sends: "none" (nothing: a peer that never
# handshakes), "half" (a REQ header and half a frame), "hello" (a REQ header
# only, then idle, as a client between requests), "stream" (a REQ header,
# then requests back to back for SECONDS, each write the rest of one and
# the start of the next, every 0.1 s: a busy client whose every write ends
# inside a frame, each frame whole in 0.1 s). It returns once every
# connection is closed, or at SECONDS, or when the file OUT.stop appears;
# OUT.ready appears once all N have connected.
import json
import os
import select
import socket
import struct
import sys
import time

path, n, mode, secs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
REQ_HDR = b"\0SP\0\0\x30\0\0"
BODY = b'{"v":2,"cmd":"status"}'
FRAME = b"\x01" + struct.pack(">Q", 4 + len(BODY)) + b"\x80\0\0\x01" + BODY
conns = {}
t0 = time.monotonic()
opened = refused = 0
closed = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        refused += 1
        continue
    opened += 1
    if mode == "half":
        s.sendall(REQ_HDR + b"\x01" + struct.pack(">Q", 64) + b"\x80\0\0\x01" + b"x" * 10)
    elif mode == "hello":
        s.sendall(REQ_HDR)
    elif mode == "stream":
        s.sendall(REQ_HDR + FRAME[:20])
    conns[s.fileno()] = [s, time.monotonic(), b""]
open(out + ".ready", "w").close()	# all connected (or refused by connect)
poller = select.poll()
for fd in conns:
    poller.register(fd, select.POLLIN)
end = t0 + secs
next_write = time.monotonic() + 0.1
while conns and time.monotonic() < end and not os.path.exists(out + ".stop"):
    if mode == "stream" and time.monotonic() >= next_write:
        next_write += 0.1
        for fd in list(conns):
            try:
                conns[fd][0].sendall(FRAME[20:] + FRAME[:20])
            except OSError:
                pass	# closed: its recv says so
    for fd, _ in poller.poll(50 if mode == "stream" else 200):
        s, at, got = conns[fd]
        try:
            b = s.recv(4096)
        except OSError:
            b = b""
        if b:
            conns[fd][2] = got + b
            continue
        poller.unregister(fd)
        if len(got) < 8:
            refused += 1
            opened -= 1
        else:
            closed.append(round(time.monotonic() - at, 3))
        s.close()
        del conns[fd]
with open(out + ".new", "w") as f:
    json.dump({"opened": opened, "refused": refused, "closed": sorted(closed), "open": len(conns)}, f)
os.rename(out + ".new", out)
# the rest stay open until the test is done with them (OUT.stop, or SECONDS)
while conns and time.monotonic() < end and not os.path.exists(out + ".stop"):
    time.sleep(0.1)
