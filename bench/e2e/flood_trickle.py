#!/usr/bin/python3
"""The legitimate misses of bench/e2e/flood.sh: a trickle of new names that
exist, each checked.

    flood_trickle.py [--port P] [--timeout S] ADDR PREFIX ZONE ANSWER RATE SECONDS OUT_JSON

Sends RATE queries a second for SECONDS seconds over UDP to ADDR port 53,
from one socket bound to local port P (default 1090: below the ports
kxdpgun's XDP program takes), each for a name never asked before,
PREFIX-N.ZONE A (with EDNS, no DO), once. A query is resolved when a
NOERROR answer with our ID and question carries exactly the A record ANSWER
within --timeout seconds (default 5) of its sending; no query is sent
twice. Writes OUT_JSON: sent, resolved, wrong (any other answer, by
rcode and EDE codes and texts), unanswered, and the resolved answers' latency
percentiles in milliseconds; prints a one-line summary on stderr. Exits 0
when it ran (whatever it measured).
"""
import argparse
import collections
import json
import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from lib.dnsmsg import NOERROR, T_A, Response, build_query  # noqa: E402
from lib.checks import Fail, rcode_name  # noqa: E402


def pct(vals, p):
    if not vals:
        return None
    i = min(len(vals) - 1, max(0, int(round(p / 100.0 * len(vals) + 0.5)) - 1))
    return round(vals[i], 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=1090)
    ap.add_argument("--timeout", type=float, default=5.0)
    for a in ("addr", "prefix", "zone", "answer"):
        ap.add_argument(a)
    ap.add_argument("rate", type=float)
    ap.add_argument("seconds", type=float)
    ap.add_argument("out")
    a = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("0.0.0.0", a.port))
    sock.connect((a.addr, 53))
    sock.setblocking(False)

    n = int(a.rate * a.seconds)
    pending = {}  # qid -> (name, sent at)
    lat, wrong = [], collections.Counter()
    resolved = unanswered = 0
    t0 = time.monotonic()
    i = 0
    while i < n or pending:
        now = time.monotonic()
        # give up on queries past their timeout
        for qid, (_, t) in list(pending.items()):
            if now - t > a.timeout:
                del pending[qid]
                unanswered += 1
        if i < n and now >= t0 + i / a.rate:
            qid = i % 65536
            name = f"{a.prefix}-{i}.{a.zone}"
            sock.send(build_query(name, T_A, qid=qid))
            pending[qid] = (name.lower() + ".", now)
            i += 1
            continue
        wait = (t0 + i / a.rate - now) if i < n else 0.05
        r, _, _ = select.select([sock], [], [], max(0.0, min(wait, 0.05)))
        if not r:
            continue
        try:
            wire = sock.recv(65535)
        except (BlockingIOError, ConnectionRefusedError):
            continue
        try:
            resp = Response(wire)
        except Fail:
            wrong["unparsable"] += 1
            continue
        got = pending.get(resp.id)
        if got is None or [q[0].lower() for q in resp.questions] != [got[0]]:
            wrong["not ours"] += 1  # late (past its timeout) or not our question
            continue
        del pending[resp.id]
        if resp.rcode == NOERROR and resp.values(T_A) == [a.answer]:
            resolved += 1
            lat.append((time.monotonic() - got[1]) * 1000)
        else:
            # the EDE codes and texts: which limit or timeout it was
            ede = "; ".join(f"{c} {t!r}" if t else str(c) for c, t in resp.ede)
            wrong[rcode_name(resp.rcode) + (f" EDE {ede}" if ede else "")] += 1
    lat.sort()
    out = {
        "sent": n, "resolved": resolved, "unanswered": unanswered,
        "wrong": dict(wrong), "wrong_total": sum(v for k, v in wrong.items() if k != "not ours"),
        "resolved_pct": round(100.0 * resolved / n, 3) if n else None,
        "rate_qps": a.rate, "seconds": a.seconds, "timeout_s": a.timeout,
        "latency_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": round(lat[-1], 2) if lat else None},
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"flood_trickle: {a.prefix}: sent {n}, resolved {resolved}, unanswered {unanswered}, "
          f"wrong {dict(wrong)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
