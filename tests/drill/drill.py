#!/usr/bin/python3
"""The .de outage drill: the night of 2026-05-05 replayed on the lab.

    tests/drill/drill.py [HOLDFAST [SOURCE_ROOT]]      (as root; defaults:
                                                        build/holdfast, this tree)

Brings up the lab with its signed world (tag "drill", or HF_LAB_TAG; knotd
on 127.53.0.20 unless HF_LAB_UPSTREAM_ADDR says otherwise), starts holdfast
validating with 2 worker cores (3 lcores mapped onto the CPUs we have;
net_af_packet with 2 queue pairs, the kernel's fanout hash spreading the
client flows), max-ttl 4 s so cached names pass their TTL quickly, and runs
a steady client load from 16 source ports (100 queries/s: names cached in
phase 1 and a fresh never-seen name under de. each time) while it goes
through the incident:

  1. healthy: .de names (some cached, some not) answer secure, AD, on every core
  2. `lab.sh fault-expired de`: de. re-signed with signatures that expired
  3. cached names, past their TTL: stale, EDE 3, TTL 30; uncached names:
     SERVFAIL with EDE 7 (never 22); www.test (outside de.) untouched
  3b. holdfast stopped (SIGTERM) and started again (cache-snapshot): the
     cached names stale again at once, on every core; the load's queries
     sent while no holdfast was up are counted (the only ones lost)
  4. `holdfastctl nta add de --lifetime 15s --reason "registry signatures
     broken"`: every .de name NOERROR without AD, on every core
  5. the NTA expires: .de fails again with EDE 7; then `nta add` + `nta
     remove`: the same at once
  6. `nta add de --recheck 1s`, `lab.sh repair de`: the NTA removes itself
     and answers are secure (AD) again
  7. de. broken again, no NTA: the cached names stale and held (asking them
     sends nothing upstream); `lab.sh repair de`: every core drops its
     holds under de. once a name there validates, and the cached names are
     secure again within 5 s (REPAIR_MAX)

Every phase asserts rcodes, AD bits, EDE codes and TTLs on the wire, the
load's answers by when they were sent, and per-core counters (`holdfastctl
stats --per-core --json`) that each core answered. Prints a timeline:
answers per second by outcome (secure, stale, servfail, insecure: the
NTA's), the events, and the NTA's time to reach every core (apply_us).
Prints "ok PHASE" / "FAIL PHASE: reason" (the last, "load and totals",
judges the load's answers by window) and "N passed, N failed"; exits 1
when anything failed. Registered as meson test "drill" (suites drill and
e2e). About a minute.

Environment: HF_HOLDFASTCTL (default: holdfastctl beside HOLDFAST),
HF_E2E_LOGDIR (holdfast's log; default meson-logs/ or /tmp),
HF_E2E_VERBOSE=1, HF_LAB_TAG, HF_LAB_UPSTREAM_ADDR.
"""

import collections
import os
import random
import re
import selectors
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))  # lib
from lib import runner  # noqa: E402
from lib.checks import Fail, check, rcode_name, type_name  # noqa: E402
from lib.client import VERBOSE, spread_query  # noqa: E402
from lib.ctl import per_core, counter  # noqa: E402
from lib.dnsmsg import build_query, Response, T_A, T_AAAA, T_SOA, NOERROR, SERVFAIL  # noqa: E402
from lib.rig import Rig, TEST_A  # noqa: E402

WORKERS = 2
MAX_TTL = 4  # holdfast max-ttl: cached names (and keys) pass their TTL quickly
# s before the SIGTERM in which a load query's send time may have been taken
# while its send() came after the last poll (the load thread's clock read and
# its send() can straddle a GIL switch of 5 ms) (phase 3b)
IN_TRANSIT = 0.01
UPSTREAM_WINDOW = 1.5  # s before the SIGTERM whose answers the timeline reports (phase 3b)
STALE_TTL = 30  # serve-stale-ttl default
CLIENT_TIMEOUT = 1.8  # serve-stale-client-timeout default
NTA_LIFETIME = 15
REPAIR_MAX = 5.0  # s from lab.sh repair de (no NTA) to the cached names secure again (issue 15)
REASON = "registry signatures broken"
EDE_STALE, EDE_EXPIRED, EDE_NO_REACHABLE = 3, 7, 22
LOAD_RATE = 100  # queries per second
LOAD_SOCKETS = 16

# The signed world (tests/lab/README.md): name -> (qtype, value)
CACHED = [("www.example.de", T_A, "192.0.2.1"), ("www.example.de", T_AAAA, "2001:db8:53::1"),
          ("www.alg13.de", T_A, "192.0.2.13"), ("www.alg15.de", T_A, "192.0.2.15"),
          ("deep.ent.example.de", T_A, "192.0.2.4")]
UNCACHED = [("www.alg8.de", T_A, "192.0.2.8"), ("www.nsec3n.de", T_A, "192.0.2.34"),
            ("de", T_SOA, None)]  # the broken zone's own apex
WILD_A = "192.0.2.2"
OUTSIDE = ("www.test", T_A, TEST_A)

RIG = None
T0 = None
EVENTS = []  # (t, text)
PHASES = []  # (t, label)
WINDOWS = []  # (label, t_from, t_to, {kind: allowed outcomes}, extra check)
INFO = {}


def now():
    return time.monotonic() - T0


def event(text):
    EVENTS.append((now(), text))
    print(f"# {now():6.1f}s  {text}", flush=True)


def phase(label):
    PHASES.append((now(), label))
    event(f"--- phase {label}")


def fresh_wild():
    return f"f{random.randrange(16 ** 8):08x}.wild.example.de"


def fresh_nx():
    return f"nx{random.randrange(16 ** 8):08x}.de"


def classify(r):
    if r is None:
        return "lost"
    codes = r.ede_codes()
    if r.rcode == NOERROR:
        if EDE_STALE in codes:
            return "stale"
        if r.ad:
            return "secure"
        if not codes:
            return "insecure"
        return "other"
    if r.rcode == SERVFAIL:
        return "servfail"
    return "other"


def tname(qtype):
    return type_name(qtype)


def ede_s(r):
    return ",".join(str(c) for c in r.ede_codes()) or "none"


# ------------------------------------------------------------------ load


class Load(threading.Thread):
    """A steady stream from LOAD_SOCKETS source ports: 3 of 4 queries a name
    cached in phase 1, 1 of 4 a fresh name under wild.example.de (a miss each
    time). Every answer is kept with when its query was sent."""

    def __init__(self, netns, server):
        super().__init__(daemon=True)
        self.server = server
        self.socks = []
        for _ in range(LOAD_SOCKETS):
            s = netns.socket(socket.AF_INET)
            s.connect((server, 53))
            s.setblocking(False)
            self.socks.append(s)
        self.results = []  # (t_send, t_recv or None, kind, name, qtype, outcome, ede codes, ttl, summary)
        self.stop_ev = threading.Event()
        self.paused = threading.Event()
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the drill
            self.error = f"{type(e).__name__}: {e}"

    def _run(self):
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self.socks):
            sel.register(s, selectors.EVENT_READ, i)
        pending = {}  # (sock index, qid) -> (t_send, kind, name, qtype)
        n = 0
        interval = 1.0 / LOAD_RATE
        next_send = now()
        while not self.stop_ev.is_set():
            t = now()
            if t >= next_send:
                next_send += interval
                if next_send < t - 1:
                    next_send = t  # we fell behind (a pause): no catch-up burst
                if not self.paused.is_set():
                    if n % 4 == 3:
                        kind, name, qtype = "fresh", fresh_wild(), T_A
                    else:
                        kind = "cached"
                        name, qtype, _ = CACHED[(n - n // 4) % len(CACHED)]
                    i = n % len(self.socks)
                    wire = build_query(name, qtype, ad=True)
                    qid = int.from_bytes(wire[:2], "big")
                    if (i, qid) not in pending:
                        try:
                            self.socks[i].send(wire)
                            pending[(i, qid)] = (t, kind, name, qtype)
                        except OSError:
                            pass
                    n += 1
            for key, _ in sel.select(max(0.0, min(next_send - now(), 0.05))):
                s = key.fileobj
                while True:
                    try:
                        data = s.recv(65535)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    if len(data) < 2:
                        continue
                    qid = int.from_bytes(data[:2], "big")
                    p = pending.pop((key.data, qid), None)
                    if p is None:
                        continue
                    t_send, kind, name, qtype = p
                    try:
                        r = Response(data)
                        outcome = classify(r)
                        recs = r.records(qtype)
                        ttl = min(rr.ttl for rr in recs) if recs else None
                        self.results.append((t_send, now(), kind, name, qtype, outcome, r.ede_codes(), ttl,
                                             r.summary()))
                    except Fail as e:
                        self.results.append((t_send, now(), kind, name, qtype, "other", [], None, str(e)))
            t = now()
            for k in [k for k, v in pending.items() if t - v[0] > 4.0]:
                t_send, kind, name, qtype = pending.pop(k)
                self.results.append((t_send, None, kind, name, qtype, "lost", [], None, "no answer in 4 s"))
        for s in self.socks:
            s.close()
        sel.close()

    def pause(self):
        self.paused.set()
        time.sleep(0.3)  # answers in flight arrive

    def resume(self):
        self.paused.clear()


LOAD = None


def window(label, t_from, t_to, want):
    """The load's answers to queries sent and answered in [t_from, t_to)
    must have the outcome want[kind] (kind "cached" or "fresh"); want values
    are (outcome, ede codes or None, ttl or None). A query answered after
    t_to is not judged here: windows end where the drill changes the world
    (an NTA, a repair), and a miss sent just before that change is resolved
    after it. Lost queries are always judged."""
    WINDOWS.append((label, t_from, t_to, want))


def check_windows():
    fails = []
    for label, t_from, t_to, want in WINDOWS:
        bad, total = [], 0
        for t_send, t_recv, kind, name, qtype, outcome, codes, ttl, summ in LOAD.results:
            if not (t_from <= t_send < t_to) or kind not in want:
                continue
            if t_recv is not None and t_recv >= t_to:
                continue
            total += 1
            w_out, w_ede, w_ttl = want[kind]
            ok = outcome == w_out and (w_ede is None or codes == w_ede) and (w_ttl is None or ttl == w_ttl)
            if not ok:
                bad.append(f"{t_send:.2f}s {name} {tname(qtype)} -> {outcome} ({summ})")
        if total == 0:
            fails.append(f"load, {label}: no load answers to queries sent and answered in "
                         f"[{t_from:.2f}s, {t_to:.2f}s)")
        elif bad:
            fails.append(f"load, {label}: {len(bad)} of {total} answers to queries sent and answered in "
                         f"[{t_from:.2f}s, {t_to:.2f}s) not as expected "
                         f"({', '.join(f'{k}: {v[0]}' + (f' EDE {v[1]}' if v[1] else '') + (f' TTL {v[2]}' if v[2] else '') for k, v in want.items())}); "
                         f"first: {'; '.join(bad[:3])}")
    return fails


# ----------------------------------------------------------------- checks


def ask(queries, **kw):
    """Ask queries at once from ports of their own; every one must be answered."""
    res = spread_query(RIG.netns, RIG.lab["HF_LAB_SERVICE4"], queries, timeout=8.0, ad=True, **kw)
    for name, qtype, r in res:
        check(r is not None, f"no answer to {name} {tname(qtype)} within 8 s")
        if VERBOSE:
            print(f"#   {name} {tname(qtype)} -> {r.summary()}", flush=True)
    return res


def expect_value(name, qtype, r, value):
    vals = r.values(qtype)
    check(vals == [value], f"{name} {tname(qtype)}: {vals}, expected [{value}]: {r.summary()}")


def expect_secure(items, what):
    res = ask([(n, t) for n, t, _ in items])
    for (name, qtype, value), (_, _, r) in zip(items, res):
        check(r.rcode == NOERROR and r.ad and not r.ede,
              f"{what}: {name} {tname(qtype)}: expected NOERROR, AD, no EDE: {r.summary()}")
        if value:
            expect_value(name, qtype, r, value)
        recs = r.records(qtype)
        check(0 < min(x.ttl for x in recs) <= MAX_TTL, f"{what}: {name}: TTL {min(x.ttl for x in recs)}, "
              f"expected 1..{MAX_TTL} (max-ttl)")


def expect_insecure(items, what):
    res = ask([(n, t) for n, t, _ in items])
    for (name, qtype, value), (_, _, r) in zip(items, res):
        check(r.rcode == NOERROR and not r.ad and not r.ede,
              f"{what}: {name} {tname(qtype)}: expected NOERROR without AD and without EDE "
              f"(the NTA: insecure, fresh): EDE {ede_s(r)}: {r.summary()}")
        if value:
            expect_value(name, qtype, r, value)
        recs = r.records(qtype)
        check(recs and 0 < min(x.ttl for x in recs) <= MAX_TTL,
              f"{what}: {name}: TTL {[x.ttl for x in recs]}, expected 1..{MAX_TTL} (max-ttl; 30 would be stale)")


def expect_servfail7(items, what):
    res = ask([(n, t) for n, t, _ in items])
    for (name, qtype, _), (_, _, r) in zip(items, res):
        check(r.rcode == SERVFAIL, f"{what}: {name} {tname(qtype)}: {rcode_name(r.rcode)}, "
              f"expected SERVFAIL with EDE 7: {r.summary()}")
        check(not r.ad and not r.answer, f"{what}: {name}: SERVFAIL with AD or data: {r.summary()}")
        check(EDE_NO_REACHABLE not in r.ede_codes(), f"{what}: {name}: EDE 22 (No Reachable Authority) "
              f"for expired signatures: {r.summary()}")
        check(r.ede_codes() == [EDE_EXPIRED], f"{what}: {name}: EDE {ede_s(r)}, expected exactly 7 "
              f"(Signature Expired): {r.summary()}")


def expect_outside(what):
    name, qtype, value = OUTSIDE
    (_, _, r), = ask([(name, qtype)])
    check(r.rcode == NOERROR and not r.ad and not r.ede, f"{what}: {name} (outside de.): expected NOERROR, "
          f"no AD, no EDE: {r.summary()}")
    expect_value(name, qtype, r, value)


def all_de(n_fresh=2):
    return CACHED + UNCACHED + [(fresh_wild(), T_A, WILD_A) for _ in range(n_fresh)]


def per_core_burst(items, judge, what, n=64):
    """With the load paused: n queries over items, each from a port of its
    own; judge(name, qtype, value, r) asserts each answer; then every core's
    answer counter must have moved (each core answered some of them).
    Returns {core: answers in the burst}."""
    LOAD.pause()
    try:
        before = RIG.stats()
        qs = [items[i % len(items)] for i in range(n)]
        res = ask([(nm, t) for nm, t, _ in qs])
        for (name, qtype, value), (_, _, r) in zip(qs, res):
            judge(name, qtype, value, r)
        time.sleep(0.2)
        after = RIG.stats()
    finally:
        LOAD.resume()
    check(after.get("workers") == WORKERS, f"stats: workers {after.get('workers')}, expected {WORKERS}")
    pc = after.get("per_core")
    check(isinstance(pc, list) and len(pc) == WORKERS, f"stats --per-core: per_core {pc!r:.200}, expected "
          f"{WORKERS} cores")
    a0, a1 = per_core(before, "answers"), per_core(after, "answers")
    delta = {c: a1[c] - a0.get(c, 0) for c in a1}
    check(sum(delta.values()) >= n, f"{what}: per-core answers moved by {delta} for {n} queries")
    check(all(v > 0 for v in delta.values()), f"{what}: not every core answered: answers per core {delta} "
          f"for {n} queries from {n} source ports")
    INFO.setdefault("per_core", []).append((what, delta))
    event(f"{what}: {n} queries from {n} ports, answers per core {delta}")
    return before, after, delta


def judge_secure(name, qtype, value, r):
    check(r.rcode == NOERROR and r.ad and not r.ede, f"{name} {tname(qtype)}: expected secure (AD): {r.summary()}")
    if value:
        expect_value(name, qtype, r, value)


def judge_stale(name, qtype, value, r):
    check(r.rcode == NOERROR, f"{name} {tname(qtype)} (cached, past its TTL): {rcode_name(r.rcode)}, "
          f"expected the stale answer: {r.summary()}")
    expect_value(name, qtype, r, value)
    check(r.ede_codes() == [EDE_STALE], f"{name}: EDE {ede_s(r)}, expected exactly 3 (Stale Answer): {r.summary()}")
    ttl = min(x.ttl for x in r.records(qtype))
    check(ttl == STALE_TTL, f"{name}: stale TTL {ttl}, expected {STALE_TTL}")


def expect_stale(what):
    res = ask([(n, t) for n, t, _ in CACHED])
    for (name, qtype, value), (_, _, r) in zip(CACHED, res):
        try:
            judge_stale(name, qtype, value, r)
        except Fail as e:
            raise Fail(f"{what}: {e}")


def judge_insecure(name, qtype, value, r):
    check(r.rcode == NOERROR and not r.ad and not r.ede,
          f"{name} {tname(qtype)}: expected NOERROR without AD or EDE (NTA): {r.summary()}")
    if value:
        expect_value(name, qtype, r, value)


def nta_list():
    return {e.get("name"): e for e in RIG.ctl("nta", "list").get("ntas", [])}


def nta_add(*args):
    t = now()
    obj = RIG.ctl("nta", "add", *args)
    took = now() - t
    check(obj.get("name") == "de.", f"nta add: name {obj.get('name')!r}, expected 'de.': {obj}")
    check(obj.get("cores") == WORKERS, f"nta add: cores {obj.get('cores')}, expected {WORKERS}: {obj}")
    check(isinstance(obj.get("apply_us"), int) and 0 <= obj["apply_us"] <= took * 1e6 + 1000,
          f"nta add: apply_us {obj.get('apply_us')!r} (the command took {took * 1e3:.0f} ms): {obj}")
    # an NTA is applied in O(1): nothing walked, each entry changes when next used
    check(obj.get("flushed") == 0, f"nta add: flushed {obj.get('flushed')!r}, expected 0 (no walk)")
    event(f"holdfastctl nta add {' '.join(args)}: on {obj['cores']} cores in {obj['apply_us']} us "
          f"(command {took * 1e3:.0f} ms), flushed {obj['flushed']}")
    INFO.setdefault("apply_us", []).append(obj["apply_us"])
    return obj


# ----------------------------------------------------------------- phases


def phase1():
    phase("1 healthy")
    # the cached set, one by one first (misses filled to every core)
    for name, qtype, value in CACHED:
        r, _ = RIG.client.query(name, qtype, ad=True, timeout=6)
        judge_secure(name, qtype, value, r)
    expect_secure(CACHED, "phase 1, cached names")
    expect_outside("phase 1")
    global LOAD
    LOAD = Load(RIG.netns, RIG.lab["HF_LAB_SERVICE4"])
    LOAD.start()
    INFO["load_start"] = now()
    event(f"load: {LOAD_RATE} queries/s from {LOAD_SOCKETS} ports ({len(CACHED)} cached names, "
          "1 in 4 a fresh name)")
    time.sleep(1.5)
    per_core_burst(CACHED + [(fresh_wild(), T_A, WILD_A) for _ in range(8)], judge_secure, "phase 1 per-core")
    time.sleep(MAX_TTL)  # the load sees the cached names pass their TTL and refresh, still secure
    # the uncached set is asked for the first time in phase 3


def phase2():
    phase("2 fault")
    INFO["t_fault0"] = now()
    RIG.fault("expired", "de")
    INFO["t_fault"] = now()
    event("lab.sh fault-expired de: de. signatures expired yesterday")
    window("phase 1 (healthy, before the fault)", INFO["load_start"], INFO["t_fault0"],
           {"cached": ("secure", [], None), "fresh": ("secure", [], None)})


def phase3():
    phase("3 stale / servfail")
    # every cached entry and every cached key has passed max-ttl
    time.sleep(max(0.0, INFO["t_fault"] + MAX_TTL + 1.0 - now()))
    expect_stale("phase 3")
    items = UNCACHED + [(fresh_wild(), T_A, None), (fresh_nx(), T_A, None)]
    expect_servfail7(items, "phase 3, uncached")
    # and again: the cached failure keeps its EDE (7, or 13 Cached Error)
    res = ask([(n, t) for n, t, _ in items])
    for name, qtype, r in res:
        check(r.rcode == SERVFAIL and r.ede_codes() in ([EDE_EXPIRED], [13]),
              f"phase 3: {name} again: expected SERVFAIL, EDE 7 (or 13): {r.summary()}")
    expect_outside("phase 3")
    t = INFO["t_fault"] + MAX_TTL + 1.0
    time.sleep(1.0)
    INFO["t_p3_end"] = now()
    window("phase 3 (past max-ttl after the fault)", t, INFO["t_p3_end"],
           {"cached": ("stale", [EDE_STALE], STALE_TTL), "fresh": ("servfail", [EDE_EXPIRED], None)})


def phase3b():
    """A restart in the middle of it (issue 17): SIGTERM writes the cache
    to cache-snapshot, the next holdfast loads it into both cores before
    they answer, and the cached names are answered stale (EDE 3) again at
    once, on every core. Only the load's queries sent while no holdfast
    was up may be lost (counted in "load and totals")."""
    phase("3b restart")
    time.sleep(0.5)  # the answers to phase 3's last queries arrive
    t_stop = now()
    RIG.stop()
    saved = [ln for ln in RIG.log_text().splitlines() if ln.startswith("holdfast: cache-snapshot: saved")]
    check(len(saved) == 1, f"no (or more than one) line of the save at SIGTERM: {saved}")
    event(f"holdfast stopped (SIGTERM): {saved[0][len('holdfast: '):]}")
    RIG.restart()
    t_up = now()
    INFO["restart"] = (t_stop, t_up)
    loaded = [ln for ln in RIG.log_text().splitlines() if ln.startswith("holdfast: cache-snapshot:")]
    # left out: the failures cached for failure-ttl 1 s
    m = re.fullmatch(r"holdfast: cache-snapshot: loaded (\d+) of (\d+) entries .* left out: (\d+) expired .*, "
                     r"0 for want of room", loaded[0]) if loaded else None
    check(len(loaded) == 1 and m and int(m.group(1)) + int(m.group(3)) == int(m.group(2)) and
          int(m.group(1)) >= len(CACHED), f"the lines of the load: {loaded}")
    event(f"holdfast started again, {t_up - t_stop:.1f} s after the stop: {loaded[0][len('holdfast: '):]}")
    expect_stale("phase 3b, right after the restart")
    expect_servfail7(UNCACHED, "phase 3b, uncached")
    expect_outside("phase 3b")
    per_core_burst(CACHED, judge_stale, "phase 3b per-core (restarted)")
    time.sleep(1.0)
    INFO["t_p3b_end"] = now()
    window("phase 3b (restarted from the snapshot)", t_up, INFO["t_p3b_end"],
           {"cached": ("stale", [EDE_STALE], STALE_TTL), "fresh": ("servfail", [EDE_EXPIRED], None)})


def phase4():
    phase("4 NTA")
    t_before = time.time()
    obj = nta_add("de", "--lifetime", f"{NTA_LIFETIME}s", "--reason", REASON)
    INFO["t_nta"] = now()
    check(obj.get("lifetime") == NTA_LIFETIME, f"nta add: lifetime {obj.get('lifetime')}, expected {NTA_LIFETIME}")
    exp = obj.get("expires")
    check(isinstance(exp, int) and t_before + NTA_LIFETIME - 1 <= exp <= time.time() + NTA_LIFETIME + 1,
          f"nta add: expires {exp!r}, expected about now + {NTA_LIFETIME}")
    INFO["nta_expires_mono"] = INFO["t_nta"] + (exp - time.time())
    check(obj.get("recheck") == 0, f"nta add: recheck {obj.get('recheck')!r}, expected 0")
    # the very next queries: every .de name insecure, none stale, none SERVFAIL
    expect_insecure(all_de(), "phase 4, right after nta add")
    (_, _, r), = ask([(fresh_nx(), T_A)])
    check(r.rcode == 3 and not r.ad and not r.ede, f"phase 4: NXDOMAIN under de. with the NTA: expected "
          f"NXDOMAIN without AD or EDE: {r.summary()}")
    expect_outside("phase 4")
    entry = nta_list().get("de.")
    check(entry, f"nta list: no de. after nta add: {nta_list()}")
    check(entry.get("reason") == REASON, f"nta list: reason {entry.get('reason')!r}, expected {REASON!r}")
    check(entry.get("source") == "cli", f"nta list: source {entry.get('source')!r}, expected 'cli'")
    check(0 < entry.get("remaining", -1) <= NTA_LIFETIME, f"nta list: remaining {entry.get('remaining')!r}")
    check(entry.get("expires") == exp, f"nta list: expires {entry.get('expires')} != nta add's {exp}")
    before, after, _ = per_core_burst(all_de(8), judge_insecure, "phase 4 per-core (NTA)")
    for key in ("rcode.SERVFAIL", "ede.3"):
        b, a = per_core(before, key), per_core(after, key)
        check(all(a[c] == b.get(c, 0) for c in a), f"phase 4: per-core {key} moved under the NTA: {b} -> {a}")
    window("phase 4 (NTA in force)", INFO["t_nta"], INFO["nta_expires_mono"] - 0.5,
           {"cached": ("insecure", [], None), "fresh": ("insecure", [], None)})
    # the NTA stays in force until it expires; nothing to do but watch the load
    time.sleep(max(0.0, INFO["nta_expires_mono"] - 1.0 - now()))
    check("de." in nta_list(), f"the NTA went away before its expiry (in {INFO['nta_expires_mono'] - now():.1f} s)")


def phase5():
    phase("5 NTA expires / removed")
    check("nta_expires_mono" in INFO, "phase 4 did not add the NTA")
    deadline = INFO["nta_expires_mono"] + 3.0
    while now() < deadline and "de." in nta_list():
        time.sleep(0.2)
    gone = now()
    check("de." not in nta_list(), f"the NTA was still listed 3 s after it expired: {nta_list()}")
    check(gone >= INFO["nta_expires_mono"] - 1.0, f"the NTA was gone {INFO['nta_expires_mono'] - gone:.1f} s "
          "before its expiry")
    event(f"NTA de. expired ({gone - INFO['nta_expires_mono']:+.1f} s from its expiry time)")
    expect_servfail7(all_de(), "phase 5, after expiry")
    time.sleep(1.5)
    t_end = now()
    window("phase 5 (NTA expired)", gone + 0.3, t_end, {"cached": ("servfail", [EDE_EXPIRED], None),
                                                        "fresh": ("servfail", [EDE_EXPIRED], None)})
    # nta remove: add again, then remove it by hand
    nta_add("de", "--lifetime", "1h", "--reason", REASON)
    t_add = now()
    expect_insecure(all_de(), "phase 5, second NTA")
    time.sleep(1.0)
    t = now()
    obj = RIG.ctl("nta", "remove", "de")
    t_rm = now()
    check(obj.get("name") == "de." and obj.get("cores") == WORKERS and isinstance(obj.get("apply_us"), int)
          and isinstance(obj.get("flushed"), int), f"nta remove: {obj}")
    # O(1): nothing walked; the NTA-derived entries both cores held (the
    # insecure answers just given) go when next used (checked right below
    # and per core in the load's window)
    check(obj["flushed"] == 0, f"nta remove: flushed {obj['flushed']}, expected 0 (no walk)")
    event(f"holdfastctl nta remove de: on {obj['cores']} cores in {obj['apply_us']} us "
          f"(command {(t_rm - t) * 1e3:.0f} ms), flushed {obj['flushed']}")
    window("phase 5 (second NTA)", t_add, t, {"cached": ("insecure", [], None), "fresh": ("insecure", [], None)})
    check("de." not in nta_list(), "nta list still has de. after nta remove")
    expect_servfail7(all_de(), "phase 5, right after nta remove")
    r = RIG.ctl_raw("nta", "remove", "de")
    check(r.rc == 1 and r.obj is not None and r.obj.get("ok") is False and r.obj.get("error"),
          f"nta remove of an NTA that is gone: expected exit 1 and ok false: {r.show()}")
    time.sleep(1.0)
    INFO["t_p5_end"] = now()
    window("phase 5 (NTA removed)", t_rm + 0.1, INFO["t_p5_end"],
           {"cached": ("servfail", [EDE_EXPIRED], None), "fresh": ("servfail", [EDE_EXPIRED], None)})


def phase6():
    phase("6 repair, NTA recheck")
    obj = nta_add("de", "--lifetime", "10m", "--recheck", "1s", "--reason", REASON)
    t_add = now()
    check(obj.get("recheck") == 1, f"nta add --recheck 1s: recheck {obj.get('recheck')!r}, expected 1")
    expect_insecure(all_de(), "phase 6, NTA with recheck")
    time.sleep(2.5)  # rechecks while de. is still broken must keep the NTA
    check("de." in nta_list(), "the NTA with --recheck went away while de. was still broken")
    t_rep = now()
    RIG.repair("de")
    event("lab.sh repair de: de. re-signed with valid signatures")
    deadline = now() + 8.0
    while now() < deadline and "de." in nta_list():
        time.sleep(0.1)
    gone = now()
    check("de." not in nta_list(), f"the NTA with --recheck 1s was still there {gone - t_rep:.1f} s after "
          "lab.sh repair de")
    event(f"NTA de. removed by its recheck, {gone - t_rep:.1f} s after the repair")
    INFO["recheck_s"] = gone - t_rep
    window("phase 6 (NTA with recheck, before the repair)", t_add, t_rep,
           {"cached": ("insecure", [], None), "fresh": ("insecure", [], None)})
    expect_secure(all_de(), "phase 6, after the recheck removed the NTA")
    expect_outside("phase 6")
    per_core_burst(all_de(8), judge_secure, "phase 6 per-core (repaired)")
    time.sleep(2.0)
    INFO["t_end"] = now()
    window("phase 6 (repaired, NTA gone)", gone + 0.3, INFO["t_end"],
           {"cached": ("secure", [], None), "fresh": ("secure", [], None)})
    check("holdfast: nta: de. validates again, removed" in RIG.log_text(),
          "holdfast's log has no line \"holdfast: nta: de. validates again, removed\" (the interface's "
          f"recheck message); its nta lines: {[ln for ln in RIG.log_text().splitlines() if 'nta:' in ln][-3:]}")


def phase7():
    """Repaired without an NTA (issue 15): de. breaks again; the cached
    names pass their TTL, their refresh fails, and they are answered stale
    and held (not asked again for serve-stale-failure-recheck, 30 s: the
    upstreams are protected while de. is broken); then `lab.sh repair de`,
    and the first secure answer under de. (a fresh name of the load, once
    the validator's bogus de. keys have run out: failure-ttl) makes every
    core drop its holds and failures under de.: the cached names are secure
    again within REPAIR_MAX s of the repair, on every core."""
    phase("7 repair without an NTA")
    RIG.fault("expired", "de")
    t_fault = now()
    event("lab.sh fault-expired de: de. broken again, no NTA this time")
    # the cached names and the validator's de. keys pass their TTL (max-ttl
    # each); then every refresh fails
    time.sleep(2 * MAX_TTL + 0.5)
    expect_stale("phase 7, de. broken again")
    # held: with the load paused, asking the cached names again and again
    # sends nothing upstream (no REFRESH from any core)
    LOAD.pause()
    try:
        time.sleep(0.3)  # the load's last queries are answered
        before = RIG.stats()
        for _ in range(4):
            expect_stale("phase 7, held")
            time.sleep(0.25)
        after = RIG.stats()
    finally:
        LOAD.resume()
    t_resumed = now()
    up = counter(after, "control.upstream_queries") - counter(before, "control.upstream_queries")
    r0, r1 = per_core(before, "refreshes"), per_core(after, "refreshes")
    hits = {c: per_core(after, "hits_stale")[c] - per_core(before, "hits_stale").get(c, 0) for c in r1}
    check(up == 0 and all(r1[c] == r0.get(c, 0) for c in r1),
          f"phase 7: {4 * len(CACHED)} queries for the held names sent {up} upstream queries "
          f"(refreshes per core {r0} -> {r1}); the failure-recheck hold must keep them off the upstreams")
    check(all(v > 0 for v in hits.values()), f"phase 7: not every core answered the held names: stale hits {hits}")
    event(f"held: {4 * len(CACHED)} queries for the cached names, stale hits per core {hits}, "
          "0 upstream queries, 0 refreshes")
    time.sleep(1.5)  # the load sees it held too
    t_rep = now()
    RIG.repair("de")
    event("lab.sh repair de (no NTA)")
    secure_at = None
    while now() < t_rep + REPAIR_MAX + 2.0:
        res = ask([(n, t) for n, t, _ in CACHED])
        if all(r.rcode == NOERROR and r.ad and not r.ede for _, _, r in res):
            secure_at = now()
            break
        time.sleep(0.1)
    check(secure_at is not None, f"phase 7: the cached de. names were not secure {REPAIR_MAX + 2:.0f} s after "
          f"lab.sh repair de: {[r.summary() for _, _, r in res]}")
    took = secure_at - t_rep
    INFO["repair_s"] = took
    event(f"the cached de. names secure again {took:.1f} s after the repair")
    check(took <= REPAIR_MAX, f"phase 7: the cached de. names became secure {took:.1f} s after the repair, "
          f"more than {REPAIR_MAX} s")
    check("holdfast: repair: de. validates again" in RIG.log_text(),
          "holdfast's log has no line \"holdfast: repair: de. validates again ...\"; its repair lines: "
          f"{[ln for ln in RIG.log_text().splitlines() if 'repair' in ln][-3:]}")
    expect_secure(CACHED, "phase 7, repaired")
    per_core_burst(CACHED, judge_secure, "phase 7 per-core (repaired, no NTA)")
    time.sleep(1.5)
    INFO["t_p7_end"] = now()
    window("phase 7 (held while broken)", t_resumed + 0.2, t_rep,
           {"cached": ("stale", [EDE_STALE], STALE_TTL), "fresh": ("servfail", [EDE_EXPIRED], None)})
    window("phase 7 (repaired, no NTA)", secure_at + 0.3, INFO["t_p7_end"],
           {"cached": ("secure", [], None), "fresh": ("secure", [], None)})


def with_load(fn):
    """fn, once the load (started in phase 1) is seen running."""
    def run():
        check(LOAD is not None and LOAD.is_alive(), f"the load is not running ({LOAD and LOAD.error})")
        fn()
    return run


def load_and_totals():
    """The load's answers judged by window, and the totals per core."""
    check(LOAD is not None, "no load ran")
    LOAD.stop_ev.set()
    LOAD.join(timeout=10)
    fails = ([f"load: {LOAD.error}"] if LOAD.error else []) + check_windows()
    if "restart" in INFO:  # phase 3b: lost only while no holdfast was up
        t_stop, t_up = INFO["restart"]
        lost = [r for r in LOAD.results if r[5] == "lost" and INFO["t_p3_end"] <= r[0] < t_up]
        # A stop answers every client it holds (a parked one with what the
        # cache has), so a query sent before the SIGTERM is never lost.
        in_transit = [r for r in lost if t_stop - IN_TRANSIT <= r[0] < t_stop]
        gap = [r for r in lost if r[0] >= t_stop]
        at_stop = [r for r in LOAD.results if t_stop - UPSTREAM_WINDOW <= r[0] < t_stop]
        event(f"restart: {len(gap)} load queries lost, sent in the {t_up - t_stop:.1f} s without a holdfast "
              f"(of {sum(1 for r in LOAD.results if t_stop <= r[0] < t_up)} sent then); of the "
              f"{len(at_stop)} sent in the {UPSTREAM_WINDOW:g} s before the SIGTERM: "
              f"{dict(collections.Counter(r[5] for r in at_stop))}, "
              f"{len(in_transit)} lost within {IN_TRANSIT * 1e3:g} ms of it")
        INFO["restart_lost"] = len(gap)
        if len(lost) != len(gap) + len(in_transit):
            fails.append(f"restart: {len(lost) - len(gap) - len(in_transit)} load queries sent before the "
                         "SIGTERM were lost (a stop must answer every client it holds): "
                         f"{[f'{r[0] - t_stop:.3f}s {r[3]}' for r in lost if r[0] < t_stop - IN_TRANSIT][:5]}")
    check(not fails, "\nFAIL ".join(fails))
    st = RIG.stats()
    event(f"total answers per core: {per_core(st, 'answers')}, validation {counter(st, 'control.validation')}")


PLAN = [("drill", {"max-ttl": MAX_TTL, "failure-ttl": 1}, [
    ("1 healthy", phase1), ("2 fault-expired de", with_load(phase2)), ("3 stale and servfail", with_load(phase3)),
    ("3b restart from the snapshot", with_load(phase3b)),
    ("4 nta add", with_load(phase4)), ("5 nta expiry and remove", with_load(phase5)),
    ("6 repair and recheck", with_load(phase6)), ("7 repair without an NTA", with_load(phase7)),
    ("load and totals", load_and_totals)])]


# --------------------------------------------------------------- timeline

OUTCOMES = ("secure", "stale", "servfail", "insecure", "other", "lost")


def print_timeline():
    if LOAD is None or not LOAD.results:
        print("# no load ran: no timeline")
        return
    end = max((r[1] or r[0]) for r in LOAD.results)
    start = int(INFO.get("load_start", 0))
    print()
    print(f"# .de outage drill timeline: answers per second by outcome ({LOAD_RATE} queries/s from "
          f"{LOAD_SOCKETS} ports; 'insecure' = NOERROR without AD: the NTA's)")
    hdr = f"#  {'t':>4}  {'phase':<24}" + "".join(f"{o:>9}" for o in OUTCOMES)
    print(hdr)
    ev = sorted(EVENTS)
    ei = 0
    for sec in range(start, int(end) + 1):
        while ei < len(ev) and ev[ei][0] < sec + 1:
            if not ev[ei][1].startswith("--- phase"):
                print(f"#        @ {ev[ei][0]:6.1f}s  {ev[ei][1]}")
            ei += 1
        label = ""
        for t, lab in PHASES:
            if t < sec + 1:
                label = lab
        counts = dict.fromkeys(OUTCOMES, 0)
        for t_send, t_recv, *_rest in LOAD.results:
            t = t_recv if t_recv is not None else t_send + 4.0
            if sec <= t < sec + 1:
                counts[_rest[3]] += 1
        print(f"#  {sec:>3}s  {label:<24}" + "".join(f"{counts[o]:>9}" for o in OUTCOMES))
    while ei < len(ev):
        if not ev[ei][1].startswith("--- phase"):
            print(f"#        @ {ev[ei][0]:6.1f}s  {ev[ei][1]}")
        ei += 1
    # per phase totals
    print("# per phase (by the time the query was sent):")
    bounds = PHASES + [(float("inf"), "")]
    for (t, lab), (t_next, _) in zip(bounds, bounds[1:]):
        counts = dict.fromkeys(OUTCOMES, 0)
        ede = {}
        for t_send, _t_recv, _k, _n, _q, outcome, codes, _ttl, _s in LOAD.results:
            if t <= t_send < t_next:
                counts[outcome] += 1
                if outcome in ("servfail", "stale"):
                    for c in codes:
                        ede[c] = ede.get(c, 0) + 1
        tot = sum(counts.values())
        if tot:
            print(f"#   {lab:<24} {tot:>6} answers: " + ", ".join(f"{o} {counts[o]}" for o in OUTCOMES if counts[o])
                  + (f"; EDE {', '.join(f'{c}: {n}' for c, n in sorted(ede.items()))}" if ede else ""))
    if INFO.get("apply_us"):
        a = INFO["apply_us"]
        print(f"# NTA to all {WORKERS} cores (apply_us of each nta add): {', '.join(f'{x} us' for x in a)}")
    if "recheck_s" in INFO:
        print(f"# NTA recheck removed de. {INFO['recheck_s']:.1f} s after lab.sh repair de")
    if "repair_s" in INFO:
        print(f"# without an NTA: the cached de. names secure again {INFO['repair_s']:.1f} s after lab.sh repair de")
    for what, d in INFO.get("per_core", []):
        print(f"# {what}: answers per core {d}")


# ----------------------------------------------------------------- runner


def make_rig(holdfast, srcdir):
    global RIG, T0
    T0 = time.monotonic()
    tag = os.environ.get("HF_LAB_TAG", "drill")
    RIG = Rig(holdfast, srcdir, "drill", tag, signed=True, workers=WORKERS,
              upstream=os.environ.get("HF_LAB_UPSTREAM_ADDR") or "127.53.0.20", lab_dir=f"/tmp/hf-lab-{tag}",
              script="drill.py")
    return RIG


def start(rig, label, knobs):
    event(f"lab up (tag {rig.tag}, signed world)")
    snap = os.path.join(rig.lab["HF_LAB_DIR"], "cache.snapshot")
    if os.path.exists(snap):  # a lab dir of an earlier drill: start empty
        os.unlink(snap)
    rig.start(**knobs, **{"nta-state-file": os.path.join(rig.lab["HF_LAB_DIR"], "nta.state"),
                          "cache-snapshot": snap})
    event(f"holdfast up: {WORKERS} workers, net_af_packet qpairs={WORKERS}, max-ttl {MAX_TTL}s")


def stop_load(_runner):
    if LOAD is not None:
        LOAD.stop_ev.set()
    print_timeline()


if __name__ == "__main__":
    sys.exit(runner.main(__doc__, "drill", PLAN, make_rig, start, finally_=stop_load, paths_optional=True,
                         select=False))
