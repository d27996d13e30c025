#!/usr/bin/env python3
# bench/timeline.py: where one job's submit -> result time goes, from
# bench/latency.sh's logs with TRACE=1 (AKC_TRACE: the master logs each
# committed turn's stages and event ids, a standby each sync).
#
#   timeline.py SENT SEEN LOG...
#
# SENT: paced's "id sent_ms acked_ms" (wall ms); SEEN: the reader's
# "epoch_s line" (line JSON with "id"); LOG: the nodes' logs (trace lines).
# Prints, per stage, the median and p90 over the jobs seen whole, in ms.
# A job handed to its worker before its events commit (lat3) makes
# "accepted committed -> completed journaled" negative; the row after it
# counts from the accepted event's journaling instead.
import json
import re
import sys

COMMIT = re.compile(r"trace commit (\d+)-(\d+) put ([\d.]+) sent ([-+\d.]+) durable ([-+\d.]+) "
                    r"\(sync ([\d.]+)\) committed ([-+\d.]+) ms: (.*)$")
STANDBY = re.compile(r"trace standby sync (\d+)-(\d+) put ([\d.]+) durable ([-+\d.]+) \(sync ([\d.]+)\)")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def main():
    sent_f, seen_f, logs = sys.argv[1], sys.argv[2], sys.argv[3:]
    sent, acked, seen = {}, {}, {}
    for ln in open(sent_f):
        f = ln.split()
        if len(f) >= 3:
            sent[f[0]], acked[f[0]] = float(f[1]), float(f[2])
    for ln in open(seen_f):
        t, _, rest = ln.partition(" ")
        try:
            seen[json.loads(rest)["id"]] = float(t) * 1000
        except (ValueError, KeyError):
            pass
    ev = {}          # (id, event) -> batch
    sb = []          # standby syncs: (lo, hi, put, durable, sync)
    for name in logs:
        for ln in open(name, errors="replace"):
            m = COMMIT.search(ln)
            if m:
                b = dict(lo=int(m[1]), hi=int(m[2]), put=float(m[3]), sent=float(m[4]),
                         durable=float(m[5]), sync=float(m[6]), committed=float(m[7]))
                for x in m[8].split():
                    i, _, e = x.rpartition("/")
                    ev[(i, e)] = b
                continue
            m = STANDBY.search(ln)
            if m:
                sb.append((int(m[1]), int(m[2]), float(m[3]), float(m[4]), float(m[5])))
    sb.sort()

    def standby_of(b):
        # the first standby sync (of either standby) that holds the batch's last event
        best = None
        for lo, hi, put, dur, sync in sb:
            if lo <= b["hi"] <= hi and put >= b["put"] - 1 and (best is None or put < best[0]):
                best = (put, dur, sync)
        return best

    rows = {k: [] for k in (
        "submit sent -> accepted journaled (client, proxy, relay, master)",
        "  journaled -> its append sent to a standby (the first)",
        "  journaled -> a standby stored it",
        "  journaled -> a standby synced it",
        "  journaled -> durable here (the master's sync)",
        "  the master's fdatasync itself (LevelDB write)",
        "  the standby's fdatasync itself",
        "  journaled -> committed (standby ack in, answers out)",
        "committed -> the submitter has its ack",
        "accepted committed -> completed journaled (job to worker, run, done back)",
        "accepted journaled -> completed journaled (the same from the journal: lat3)",
        "  completed journaled -> committed",
        "completed committed -> the reader printed the line (push)",
        "submit sent -> ack",
        "submit sent -> result line (total)")}
    names = list(rows)
    n = 0
    for i, t0 in sent.items():
        a, c = ev.get((i, "accepted")), ev.get((i, "completed"))
        if a is None or c is None or i not in seen:
            continue
        n += 1
        ac = a["put"] + a["committed"]
        cc = c["put"] + c["committed"]
        s = standby_of(a)
        vals = [a["put"] - t0, a["sent"] if a["sent"] >= 0 else None,
                s[0] - a["put"] if s else None, s[0] + s[1] - a["put"] if s else None,
                a["durable"], a["sync"], s[2] if s else None, a["committed"],
                acked[i] - ac, c["put"] - ac, c["put"] - a["put"], c["committed"], seen[i] - cc,
                acked[i] - t0, seen[i] - t0]
        for k, v in zip(names, vals):
            if v is not None:
                rows[k].append(v)
    print("   per-stage timeline of %d jobs (ms; the master's and standbys' AKC_TRACE lines):" % n)
    print("   %-78s %7s %7s %6s" % ("stage", "p50", "p90", "n"))
    for k in names:
        print("   %-78s %7.3f %7.3f %6d" % (k, pct(rows[k], 50), pct(rows[k], 90), len(rows[k])))


main()
