"""A random-subdomain flood under a signed zone: the hit path keeps answering
(issue 15, "A flood scenario ... asserting the hit path keeps answering").

    test_subdomain_flood.py HOLDFAST SOURCE_ROOT

Brings up the lab with its signed world (as test_e2e_dnssec.py) and starts
holdfast validating with the lab's trust anchor through the lab's resolver,
one worker, aggressive-nsec on (its default). Then:

1. the hit set is cached (www.example.de, www.alg13.de, www.test A), and
   one NXDOMAIN in each of alg13.de's three NSEC ranges (before ns1,
   between ns1 and www, after www), so that the NSECs kept cover every
   name under the zone;
2. one client floods: 3,000 names under alg13.de never asked before (12
   random [a-z0-9] characters, DO set), each once, with a hit every 10th
   query, at most 200 queries in flight;
3. every flood query is answered NXDOMAIN with AD and exactly EDE 29
   (Synthesized), every hit NOERROR with its address, while the flood runs;
4. the counters moved by exactly that: answers, NXDOMAIN and NOERROR by
   the queries sent, no SERVFAIL, no park_full or ring_full drop, no
   upstream query, and answers synthesized (control's synth_nxdomain plus
   any counter of the workers whose name holds "synth": the synthesis may
   move onto the cores) by the flood;
5. after it, 1,000 more hits are all answered, nothing stays parked or in
   flight.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed".
"""

import random
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import check  # noqa: E402
from lib.ctl import counter  # noqa: E402
from lib.dnsmsg import build_query, Response, T_A, NOERROR, NXDOMAIN  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig, TEST_A  # noqa: E402

ZONE = "alg13.de"
HITS = {"www.example.de": "192.0.2.1", "www.alg13.de": "192.0.2.13", "www.test": TEST_A}
# one name in each of alg13.de's NSEC ranges: apex..ns1, ns1..www, www..apex
RANGE_NAMES = ("a-warm", "p-warm", "z-warm")
FLOOD = 3000
HIT_EVERY = 10
WINDOW = 200
AFTER_HITS = 1000
EDE_SYNTHESIZED = 29
RIG = None


def synth_total(st):
    """Answers synthesized from kept NSECs: control's synth_nxdomain, plus
    every counter of the workers' ("total") whose name holds "synth"."""
    n = counter(st, "control.validation.synth_nxdomain")

    def walk(d):
        s = 0
        for k, v in d.items():
            if isinstance(v, dict):
                s += walk(v)
            elif "synth" in k and isinstance(v, int) and not isinstance(v, bool):
                s += v
        return s
    return n + walk(st["total"])


def exchange(sock, queries, what):
    """Send every (qid, wire) of queries, at most WINDOW outstanding; return
    {qid: Response}. Fails on an answer nobody asked for, twice, or missing."""
    got, sent, i = {}, {}, 0
    deadline = time.monotonic() + 30
    while len(got) < len(queries):
        while i < len(queries) and len(sent) - len(got) < WINDOW:
            qid, wire = queries[i]
            sock.send(wire)
            sent[qid] = True
            i += 1
        left = deadline - time.monotonic()
        check(left > 0, f"{what}: {len(queries) - len(got)} of {len(queries)} queries unanswered after 30 s")
        sock.settimeout(min(left, 5))
        try:
            r = Response(sock.recv(65535))
        except socket.timeout:
            continue
        check(r.id in sent, f"{what}: an answer with ID {r.id} nobody asked for: {r.summary()}")
        check(r.id not in got, f"{what}: ID {r.id} answered twice")
        got[r.id] = r
    return got


def case_signed_flood():
    rnd = random.Random()
    sock = RIG.netns.socket(socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.connect((RIG.lab["HF_LAB_SERVICE4"], 53))
        for name, addr in HITS.items():
            r, _ = RIG.client.query(name, do=True, timeout=8)
            check(r.rcode == NOERROR and r.values(T_A) == [addr], f"{name}: {r.summary()}")
        for label in RANGE_NAMES:
            r, _ = RIG.client.query(f"{label}.{ZONE}", do=True, timeout=8)
            check(r.rcode == NXDOMAIN and r.ad, f"{label}.{ZONE}: {r.summary()}")
        st0 = RIG.ctl("stats")

        # the flood, hits in among it
        hit_names = list(HITS)
        want, queries = {}, []
        for i in range(FLOOD + FLOOD // HIT_EVERY):
            qid = i + 1
            if i % (HIT_EVERY + 1) == HIT_EVERY:
                name = hit_names[i % len(hit_names)]
                want[qid] = ("hit", name)
            else:
                name = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12)) + "." + ZONE
                want[qid] = ("flood", name)
            queries.append((qid, build_query(name, T_A, qid=qid, do=True)))
        flood_n = sum(1 for k, _ in want.values() if k == "flood")
        hit_n = len(want) - flood_n
        check(flood_n == FLOOD, f"{flood_n} flood names, meant {FLOOD}")
        got = exchange(sock, queries, "the flood")
        bad_hits = [f"{n}: {got[q].summary()}" for q, (k, n) in want.items()
                    if k == "hit" and (got[q].rcode != NOERROR or got[q].values(T_A) != [HITS[n]])]
        check(not bad_hits, f"{len(bad_hits)} of {hit_n} hits during the flood answered wrongly, first {bad_hits[:1]}")
        bad = [f"{n}: {got[q].summary()}" for q, (k, n) in want.items()
               if k == "flood" and (got[q].rcode != NXDOMAIN or not got[q].ad
                                    or got[q].ede_codes() != [EDE_SYNTHESIZED])]
        check(not bad, f"{len(bad)} of {FLOOD} flood answers not NXDOMAIN with AD and EDE 29, first {bad[:1]}")

        st1 = RIG.ctl("stats")
        moved = {k: counter(st1, k) - counter(st0, k) for k in (
            "total.answers", "total.rcode.NOERROR", "total.rcode.NXDOMAIN", "total.rcode.SERVFAIL",
            "total.drops.park_full", "total.drops.ring_full", "control.upstream_queries")}
        wanted = {"total.answers": FLOOD + hit_n, "total.rcode.NOERROR": hit_n, "total.rcode.NXDOMAIN": FLOOD,
                  "total.rcode.SERVFAIL": 0, "total.drops.park_full": 0, "total.drops.ring_full": 0,
                  "control.upstream_queries": 0}
        check(moved == wanted, f"counters moved by {moved}, expected {wanted}")
        synth = synth_total(st1) - synth_total(st0)
        check(synth == FLOOD, f"{synth} answers synthesized, expected {FLOOD} (one per flood name)")

        # hits after it: every one answered
        queries = [(qid, build_query(hit_names[qid % len(hit_names)], T_A, qid=qid))
                   for qid in range(1, AFTER_HITS + 1)]
        got = exchange(sock, queries, "hits after the flood")
        bad_hits = [got[q].summary() for q, _ in queries
                    if got[q].rcode != NOERROR or got[q].values(T_A) != [HITS[hit_names[q % len(hit_names)]]]]
        check(not bad_hits, f"{len(bad_hits)} of {AFTER_HITS} hits after the flood answered wrongly, "
              f"first {bad_hits[:1]}")
        st2 = RIG.ctl("stats")
        check(counter(st2, "total.waiters") == 0 and counter(st2, "control.in_flight") == 0,
              f"after the flood: waiters {counter(st2, 'total.waiters')}, "
              f"in flight {counter(st2, 'control.in_flight')}")
        print(f"# {FLOOD} flood names and {hit_n} hits: {synth} synthesized, "
              f"parked {counter(st1, 'total.parked') - counter(st0, 'total.parked')}, "
              f"kept NSECs {counter(st2, 'control.validation.aggressive_nsec_records')}", flush=True)
    finally:
        sock.close()


def make_rig(holdfast, srcdir):
    global RIG
    RIG = Rig(holdfast, srcdir, "e2ew", lab_tag("w"), signed=True)
    return RIG


def main():
    plan = [("signed flood", {}, [case_signed_flood])]
    return runner.main(__doc__, "subdomain_flood", plan, make_rig)


if __name__ == "__main__":
    sys.exit(main())
