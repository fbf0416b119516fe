#!/usr/bin/python3
"""The cache survives restarts (issue 17): cache-snapshot end to end.

    test_snapshot.py HOLDFAST SOURCE_ROOT [CASE ...]

Brings up a lab of its own (tag "s" + 5 hex digits of the pid, lab dir
/tmp/hf-e2es-<pid>) with the signed world and runs holdfast validating on
two worker cores, with `cache-snapshot` in the lab dir. It fills the cache
with a fresh secure name (AD), a name that goes stale (example.de's
short., TTL 2) and a bogus one (fault-expired de: SERVFAIL, EDE 7, cached
for failure-ttl), stops holdfast with SIGTERM, stops the lab's Unbound (the
only forwarder) and starts holdfast again: every answer comes from the
snapshot, on both cores, with its TTL still counting down, its AD, its
EDE, the stale one stale (EDE 3). Then a corrupted snapshot (one line on
stderr, set aside, an empty cache) and `holdfastctl cache save` (the file
it writes, byte for byte, loaded after a SIGKILL).

The runner and the rig are tests/e2e/lib's.
"""

import os
import re
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import check, expect, expect_a, expect_no_ede, ede_str, answer_ttl  # noqa: E402
from lib.dnsmsg import T_A, NOERROR, SERVFAIL  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig  # noqa: E402

WORKERS = 2
FRESH, FRESH_A, FRESH_TTL = "www.alg13.de", "192.0.2.13", 300
STALE, STALE_A, STALE_TTL = "short.example.de", "192.0.2.3", 30  # zone TTL 2; serve-stale-ttl
BOGUS, EDE_EXPIRED, EDE_STALE = "www.alg8.de", 7, 3  # never cached before fault-expired de
SAVED = "www.alg15.de"
CONFIG = {"failure-ttl": "300"}  # the bogus answer outlives the restart

RIG = None
STATE = {}


def q(name, **kw):
    return RIG.client.query(name, T_A, timeout=kw.pop("timeout", 4.0), do=True, **kw)


def path():
    return RIG.knobs["cache-snapshot"]


def log_lines(pattern):
    return [ln for ln in RIG.log_text().splitlines() if re.search(pattern, ln)]


def snapshot_lines():
    return log_lines(r"^holdfast: cache-snapshot")


def header(raw):
    """The snapshot header (cache/hf_snap.h), checked: records, saved at.
    Its checksums are the load's to check (the next start loads it all)."""
    check(len(raw) >= 48, f"snapshot of {len(raw)} bytes")
    magic, version, bom, saved, count, body = struct.unpack("<8sIIqQQ", raw[:40])
    check(magic == b"HFCACHE\0" and version == 1 and bom == 0x01020304,
          f"snapshot header: magic {magic!r}, version {version}, byte order {bom:#x}")
    check(body == len(raw) - 48, f"snapshot: {body} bytes of records in the header, {len(raw) - 48} in the file")
    return count, saved


def expect_on_every_core(name, state, security, ttl_max):
    obj = RIG.ctl("cache", "lookup", name, "A")
    cores = obj.get("cores") or []
    check(len(cores) == WORKERS, f"cache lookup {name}: {len(cores)} cores, expected {WORKERS}")
    for c in cores:
        e = [x for x in c.get("entries", []) if x.get("do") is True and x.get("cd") is False]
        check(len(e) == 1, f"cache lookup {name}: core {c.get('core')}: DO entries {c.get('entries')}")
        check(e[0].get("state") == state and e[0].get("security") == security and 0 < e[0].get("ttl") <= ttl_max,
              f"cache lookup {name}: core {c.get('core')}: {e[0]}, expected {state}, {security}, "
              f"TTL 1..{ttl_max}")


# ------------------------------------------------------------------ cases

def case_fill():
    """A fresh secure name (AD, TTL 300), a name that expires in 2 s, and,
    under fault-expired de, a bogus one (SERVFAIL, EDE 7)."""
    r, _ = q(FRESH)
    STATE["fresh_at"] = time.time()
    expect(r, NOERROR, ad=True, what=FRESH)
    expect_a(r, FRESH_A, FRESH)
    expect_no_ede(r, FRESH)
    check(answer_ttl(r, T_A) == FRESH_TTL, f"{FRESH}: TTL {answer_ttl(r, T_A)}, expected {FRESH_TTL} (a miss)")
    r, _ = q(STALE)
    stale_at = time.monotonic()
    expect(r, NOERROR, ad=True, what=STALE)
    expect_a(r, STALE_A, STALE)
    RIG.fault("expired", "de")
    r, _ = q(BOGUS, timeout=8)
    expect(r, SERVFAIL, ad=False, what=f"{BOGUS} under fault-expired de")
    check([c for c, _ in r.ede] == [EDE_EXPIRED], f"{BOGUS}: EDE {ede_str(r)}, expected exactly {EDE_EXPIRED}")
    STATE["bogus_ede"] = r.ede
    time.sleep(max(0.0, stale_at + 3.0 - time.monotonic()))  # expired when it is saved


def case_restart_upstream_down():
    """SIGTERM writes the snapshot (4 entries: those 3 and the rig's
    www.test); with the forwarder stopped, the new holdfast loads it into
    both cores and answers every one of them from it."""
    check("bogus_ede" in STATE, "not filled (an earlier case failed)")
    RIG.stop()
    saved = log_lines(r"cache-snapshot: saved")
    check(len(saved) == 1 and re.fullmatch(
        rf"holdfast: cache-snapshot: saved 4 entries \((\d+) bytes\) to {re.escape(path())}: walk \d+ ms, "
        rf"write \d+ ms", saved[0]), f"the line of the save at SIGTERM: {saved}")
    with open(path(), "rb") as f:
        raw = f.read()
    count, saved_at = header(raw)
    check(count == 4, f"snapshot: {count} records, expected 4")
    check(f"({len(raw)} bytes)" in saved[0], f"the save says {saved[0]!r}, the file has {len(raw)} bytes")
    check(abs(saved_at / 1000 - time.time()) < 10, f"snapshot saved at {saved_at}")
    RIG.resolver("stop")
    RIG.restart()  # its ready probe (www.test) is answered from the snapshot
    lines = snapshot_lines()
    check(len(lines) == 1 and re.fullmatch(
        rf"holdfast: cache-snapshot: loaded 4 of 4 entries from {re.escape(path())} \(saved \d+s ago\) into "
        rf"{WORKERS} core\(s\) in \d+ ms; left out: 0 expired \(past the stale window, a failure past its TTL\), "
        rf"0 for want of room", lines[0]),
        f"the lines of the load: {lines}")

    r, _ = q(FRESH)
    age = time.time() - STATE["fresh_at"]
    expect(r, NOERROR, ad=True, what=f"{FRESH} after the restart, forwarder down")
    expect_a(r, FRESH_A, FRESH)
    expect_no_ede(r, FRESH)
    t = answer_ttl(r, T_A)
    check(FRESH_TTL - age - 1 <= t <= FRESH_TTL - age + 1 and t < FRESH_TTL,
          f"{FRESH}: TTL {t} {age:.1f} s after it was cached with {FRESH_TTL}: the TTL did not go on counting down")
    expect_on_every_core(FRESH, "fresh", "secure", t + 1)

    r, dt = q(BOGUS)
    expect(r, SERVFAIL, ad=False, what=f"{BOGUS} after the restart")
    check(r.ede == STATE["bogus_ede"], f"{BOGUS}: EDE {ede_str(r)}, expected {STATE['bogus_ede']} as before")
    check(dt < 0.5, f"{BOGUS}: took {dt:.2f} s: not from the cache")
    expect_on_every_core(BOGUS, "failure", "bogus", 300)

    r, dt = q(STALE, timeout=8)
    expect(r, NOERROR, ad=True, what=f"{STALE} after the restart")
    expect_a(r, STALE_A, STALE)
    check(r.ede_codes() == [EDE_STALE], f"{STALE}: EDE {ede_str(r)}, expected exactly {EDE_STALE}")
    check(answer_ttl(r, T_A) == STALE_TTL, f"{STALE}: TTL {answer_ttl(r, T_A)}, expected {STALE_TTL}")
    check(dt < 1.8 + 1.7, f"{STALE}: stale answer after {dt:.2f} s")
    expect_on_every_core(STALE, "stale", "secure", 86400)


def case_corrupt():
    """A bit flipped in the snapshot: holdfast starts, one line names the
    problem, the file is set aside as PATH.corrupt, the cache is empty."""
    RIG.stop()
    RIG.repair()  # the forwarder back, the fault gone
    with open(path(), "r+b") as f:
        raw = bytearray(f.read())
        raw[len(raw) // 2] ^= 0x08
        f.seek(0)
        f.write(raw)
    RIG.restart()
    lines = snapshot_lines()
    check(len(lines) == 1 and re.fullmatch(
        rf"holdfast: cache-snapshot: {re.escape(path())}: checksum mismatch \(CRC32-C of the records "
        rf"[0-9a-f]{{8}}, header [0-9a-f]{{8}}\); set aside as {re.escape(path())}\.corrupt, starting with an "
        rf"empty cache", lines[0]), f"the lines of the load: {lines}")
    check(not os.path.exists(path()) and os.path.exists(path() + ".corrupt"),
          f"{path()} exists: {os.path.exists(path())}, .corrupt exists: {os.path.exists(path() + '.corrupt')}")
    for name in (FRESH, BOGUS, STALE):
        obj = RIG.ctl("cache", "lookup", name)
        check([c.get("matched") for c in obj.get("cores", [])] == [0] * WORKERS,
              f"cache lookup {name} after a corrupt snapshot: {obj.get('cores')}")
    r, _ = q(FRESH)  # a miss, resolved
    expect(r, NOERROR, ad=True, what=f"{FRESH} after a corrupt snapshot")
    check(answer_ttl(r, T_A) == FRESH_TTL, f"{FRESH}: TTL {answer_ttl(r, T_A)}: not a fresh resolution")


def case_save_on_demand():
    """`holdfastctl cache save` writes the snapshot while holdfast runs;
    after a SIGKILL (nothing written at exit) it is what the next start
    loads."""
    os.unlink(path() + ".corrupt")
    r, _ = q(SAVED)
    expect(r, NOERROR, ad=True, what=SAVED)
    obj = RIG.ctl("cache", "save")
    with open(path(), "rb") as f:
        raw = f.read()
    count, _ = header(raw)
    # www.test (the ready probe), www.alg13.de (the case before), SAVED
    want = {"ok": True, "path": path(), "entries": 3, "bytes": len(raw), "cores": WORKERS}
    check({k: obj.get(k) for k in want} == want and count == 3,
          f"cache save: {obj}, expected {want}; the file has {count} records")
    check(all(isinstance(obj.get(k), int) for k in ("walk_us", "write_us", "apply_us")), f"cache save: {obj}")
    line = log_lines(r"cache-snapshot: saved")
    check(len(line) == 1 and f"saved 3 entries ({len(raw)} bytes) to {path()}" in line[0], f"save lines: {line}")
    RIG.kill()
    RIG.resolver("stop")
    RIG.restart()
    lines = snapshot_lines()
    check(len(lines) == 1 and "loaded 3 of 3 entries" in lines[0], f"the lines of the load: {lines}")
    r, _ = q(SAVED)
    expect(r, NOERROR, ad=True, what=f"{SAVED} from the saved snapshot, forwarder down")
    expect_a(r, "192.0.2.15", SAVED)
    RIG.resolver("start")


PLAN = [
    ("snapshot", {}, [case_fill, case_restart_upstream_down, case_corrupt, case_save_on_demand]),
]


def make_rig(holdfast, srcdir):
    global RIG
    RIG = Rig(holdfast, srcdir, "e2es", lab_tag("s"), signed=True, workers=WORKERS, config=CONFIG)
    return RIG


def start(rig, label, knobs):
    STATE.clear()
    p = os.path.join(rig.lab["HF_LAB_DIR"], "cache.snapshot")
    for f in (p, p + ".corrupt"):
        if os.path.exists(f):
            os.unlink(f)
    rig.start(**dict(knobs, **{"cache-snapshot": p}))


if __name__ == "__main__":
    sys.exit(runner.main(__doc__, "e2e_snapshot", PLAN, make_rig, start))
