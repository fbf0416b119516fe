"""A burst of misses larger than the parking lot, on one DPDK driver.

    test_miss_flood.py HOLDFAST SOURCE_ROOT DRIVER

DRIVER is af_xdp or af_packet. Brings up a lab of its own (as test_e2e.py)
and starts holdfast with its defaults (4096 waiters per worker) on the lab's
veth through net_DRIVER. Then, twice:

1. the upstream is paused, and one client sends 6,000 names nobody has
   asked before, back to back, with a cached name (www.test) every 20th
   query: more misses than there are waiters, so some park and the rest
   get SERVFAIL at once;
2. every query must be answered: each hit with its address while the flood
   is on, each miss with SERVFAIL and an EDE (park full, or the upstream
   timing out);
3. the upstream comes back; waiters and resolutions in flight return to 0,
   2,000 more hits are all answered, and the worker's mbuf pool has as many
   free buffers as before the flood.

The second round is there because a buffer that is lost for good (on
net_af_xdp 22.11, a pool laid out wider than the UMEM the driver registers
loses every buffer past its end to the fill ring) shows as an RX stall only
once enough of them have cycled through the port.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed".
"""

import os
import random
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import check  # noqa: E402
from lib.dnsmsg import build_query, Response, T_A, NOERROR, SERVFAIL  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig  # noqa: E402

FLOOD = 6000
HIT_EVERY = 20
HIT_NAME, HIT_A = "www.test", "198.51.100.10"
AFTER_HITS = 2000
ROUNDS = 2
EDE_OTHER, EDE_NO_REACHABLE = 0, 22
RIG = None


def ctl_stats(rig):
    return rig.ctl("stats")


def settled_free(rig, sock):
    """The pool's free count after one answered hit (so the port holds what
    it holds after any exchange: its fill ring, one completed send)."""
    sock.send(build_query(HIT_NAME, T_A, qid=1))
    sock.settimeout(2)
    r = Response(sock.recv(65535))
    check(r.rcode == NOERROR and r.values(T_A) == [HIT_A], f"settle hit: {r.summary()}")
    time.sleep(0.1)
    st = ctl_stats(rig)
    pools = st["mbuf_pools"]
    check(len(pools) == 1, f"{len(pools)} mbuf pools for one worker")
    # the Prometheus gauges say the same (nothing moves while it settles)
    prom = rig.ctl_text("stats", "--prometheus")
    for key, metric in (("size", "holdfast_mbuf_pool_size"), ("free", "holdfast_mbuf_pool_free")):
        line = f'{metric}{{pool="{pools[0]["name"]}"}} {pools[0][key]}'
        check(line in prom.splitlines(), f"no line '{line}' in stats --prometheus")
    return pools[0]["free"], st


def drain(sock, want, deadline):
    """Receive answers until every ID in want is answered or the deadline
    passes: {id: Response}; an ID answered twice fails."""
    got = {}
    while len(got) < len(want) and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            r = Response(sock.recv(65535))
        except socket.timeout:
            break
        check(r.id in want, f"an answer with ID {r.id} nobody asked for: {r.summary()}")
        check(r.id not in got, f"ID {r.id} answered twice")
        got[r.id] = r
    return got


def flood_round(rig, sock, rnd):
    free0, st0 = settled_free(rig, sock)
    check(st0["total"]["waiters"] == 0 and st0["control"]["in_flight"] == 0,
          f"before the flood: waiters {st0['total']['waiters']}, in flight {st0['control']['in_flight']}")
    rig.upstream("pause")
    want = {}
    tag = f"{random.randrange(16 ** 6):06x}"
    try:
        for i in range(FLOOD):
            if i % 100 == 99:
                # about 20k qps: all 6,000 within the 4.5 s a parked miss
                # waits, and no faster than a busy 2-core machine's veth
                # and AF_PACKET ring carry without loss
                time.sleep(0.005)
            qid = 2 + i
            if i % HIT_EVERY == 0:
                want[qid] = "hit"
                sock.send(build_query(HIT_NAME, T_A, qid=qid))
            else:
                want[qid] = "miss"
                sock.send(build_query(f"flood{rnd}-{tag}-{i}.test", T_A, qid=qid))
        # every parked client has its answer by the miss timeout (4.5 s)
        got = drain(sock, want, time.monotonic() + 10)
    finally:
        rig.upstream("resume")
    hits = [q for q, k in want.items() if k == "hit"]
    bad_hits = [got[q].summary() for q in hits if q in got and
                (got[q].rcode != NOERROR or got[q].values(T_A) != [HIT_A])]
    check(not bad_hits, f"round {rnd}: {len(bad_hits)} wrong hit answers, first {bad_hits[:1]}")
    check(all(q in got for q in hits),
          f"round {rnd}: {sum(q not in got for q in hits)} of {len(hits)} hits during the flood unanswered")
    misses = [q for q, k in want.items() if k == "miss"]
    unanswered = sum(q not in got for q in misses)
    check(unanswered == 0, f"round {rnd}: {unanswered} of {len(misses)} flood queries unanswered")
    # a client that found no room: SERVFAIL at once with EDE 0 (Other) and
    # its reason; a parked one: SERVFAIL with EDE 22 once the upstream
    # attempts ran out
    full = [q for q in misses if got[q].rcode == SERVFAIL and got[q].ede_codes() == [EDE_OTHER]]
    waited = [q for q in misses if got[q].rcode == SERVFAIL and got[q].ede_codes() == [EDE_NO_REACHABLE]]
    other = [got[q].summary() for q in misses if q not in full and q not in waited]
    check(not other, f"round {rnd}: {len(other)} flood answers neither EDE 0 nor EDE 22, first {other[:1]}")

    # waiters and resolutions drain
    deadline = time.monotonic() + 10
    while True:
        st = ctl_stats(rig)
        if st["total"]["waiters"] == 0 and st["control"]["in_flight"] == 0:
            break
        check(time.monotonic() < deadline, f"round {rnd}: 10 s after the flood: waiters "
              f"{st['total']['waiters']}, in flight {st['control']['in_flight']}")
        time.sleep(0.2)
    park_full = st["total"]["drops"]["park_full"] - st0["total"]["drops"]["park_full"]
    check(park_full > 0, f"round {rnd}: no client found the parking lot full: the flood did not reach "
          "the limit it is meant to test")
    check(park_full == len(full), f"round {rnd}: park_full rose by {park_full}, {len(full)} answers with EDE 0")

    # hits after it, 100 in flight at a time: every one answered
    sent, answered, qid = 0, 0, 10000
    outstanding = {}
    deadline = time.monotonic() + 20
    while answered < AFTER_HITS and time.monotonic() < deadline:
        while sent < AFTER_HITS and len(outstanding) < 100:
            qid += 1
            outstanding[qid] = True
            sock.send(build_query(HIT_NAME, T_A, qid=qid))
            sent += 1
        sock.settimeout(1)
        try:
            r = Response(sock.recv(65535))
        except socket.timeout:
            break
        check(outstanding.pop(r.id, None), f"round {rnd}: unexpected answer ID {r.id}")
        check(r.rcode == NOERROR and r.values(T_A) == [HIT_A], f"round {rnd}: hit after the flood: {r.summary()}")
        answered += 1
    check(answered == AFTER_HITS, f"round {rnd}: {answered} of {AFTER_HITS} hits after the flood answered "
          f"(port: {st['ports'][0]})")

    free1, st1 = settled_free(rig, sock)
    check(free1 == free0, f"round {rnd}: mbuf pool free count {free1} after the flood, {free0} before "
          f"(size {st1['mbuf_pools'][0]['size']})")
    return st1


def case_miss_flood():
    sock = RIG.netns.socket(socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.connect((RIG.lab["HF_LAB_SERVICE4"], 53))
        sock.send(build_query(HIT_NAME, T_A, qid=1))  # into the cache
        sock.settimeout(3)
        Response(sock.recv(65535))
        for rnd in range(1, ROUNDS + 1):
            st = flood_round(RIG, sock, rnd)
        print(f"# {os.environ['HF_E2E_DRIVER']} after {ROUNDS} rounds: park_full "
              f"{st['total']['drops']['park_full']}, parked {st['total']['parked']}, "
              f"rx_missed {st['ports'][0]['rx_missed']}, pool {st['mbuf_pools'][0]}", flush=True)
    finally:
        sock.close()


def make_rig(holdfast, srcdir):
    global RIG
    RIG = Rig(holdfast, srcdir, "e2ef", lab_tag("f"))
    return RIG


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("af_xdp", "af_packet"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    driver = sys.argv[3]
    os.environ["HF_E2E_DRIVER"] = driver
    plan = [(f"net_{driver}", {}, [(f"miss_flood_{driver}", case_miss_flood)])]
    return runner.main(__doc__, "miss_flood", plan, make_rig, argv=sys.argv[1:3])


if __name__ == "__main__":
    sys.exit(main())
