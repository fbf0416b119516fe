#!/usr/bin/python3
"""holdfastctl against a running holdfast, on the lab's signed world.

    test_ctl.py HOLDFAST SOURCE_ROOT [CASE ...]

Brings up a lab of its own (tag "c" + 5 hex digits of the pid, lab dir
/tmp/hf-e2ec-<pid>), starts holdfast validating with 2 worker cores (3
lcores on the CPUs there are, net_af_packet with 2 queue pairs) and a
control socket and NTA state file in the lab dir, and runs holdfastctl
(beside HOLDFAST, or HF_HOLDFASTCTL) against it: every command of the
interface, its --json output parsed and its values checked against what
the clients in the lab's namespace see on the wire; usage errors, server
errors and connection errors with their exit status and one-line message;
the socket's permissions (a process running as nobody is refused); raw
garbage, oversized and stalled requests on the socket while holdfast keeps
answering DNS; NTA persistence across a restart and a crash, a corrupt state
file, lifetime expiry and limits, NTAs in the config file, and
`control-socket-group`.

Prints "ok NAME" / "FAIL NAME: reason" per case, then "N passed, N failed";
exits 1 when anything failed. The runner, the rig and holdfastctl's
helpers are tests/e2e/lib's. Environment as test_e2e.py (HF_E2E_VERBOSE,
HF_E2E_LOGDIR, HF_LAB_UPSTREAM_ADDR) plus HF_HOLDFASTCTL.
"""

import errno
import json
import math
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import grp
import pwd

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from lib import runner  # noqa: E402
from lib.checks import Fail, check, rnd, rcode_name  # noqa: E402
from lib.client import spread_query  # noqa: E402
from lib.ctl import per_core, counter, raw_request, parse_prom  # noqa: E402
from lib.dnsmsg import T_A, T_AAAA, T_TXT, NOERROR, SERVFAIL, NXDOMAIN  # noqa: E402
from lib.lab import lab_tag  # noqa: E402
from lib.rig import Rig  # noqa: E402

WORKERS = 2
WWW_TTL = 300
SECURE = {"www.example.de": "192.0.2.1", "www.alg8.de": "192.0.2.8", "www.alg13.de": "192.0.2.13",
          "www.alg15.de": "192.0.2.15"}
WILD_A = "192.0.2.2"
UNSIGNED_A = "192.0.2.200"
SHORT_TEST_A = "198.51.100.20"
EDE_STALE, EDE_EXPIRED = 3, 7
WEEK = 7 * 86400
NOBODY = ("nobody", "nogroup")

COUNTERS = ["rx_packets", "queries", "answers", "hits_fresh", "hits_stale", "stale_ede3", "stale_ede19",
            "hits_failure", "misses", "refreshes", "parked", "waiters", "cache_entries", "cache_evictions",
            "truncated", "servfail_timeout"]
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
DROPS = ["not_ip", "not_ours", "malformed_l3", "fragment", "bad_cksum", "dns_header", "ring_full", "tx_full",
         "park_full"]
CONTROL = ["requests", "resolutions", "upstream_queries", "responses", "timeouts", "failures", "fills",
           "nta_count"]
VERDICTS = ["secure", "insecure", "bogus", "indeterminate"]
STALE_KEYS = {"serve-stale-window": 86400, "serve-stale-client-timeout": 1.8, "serve-stale-ttl": 30,
              "serve-stale-failure-recheck": 30}

RIG = None


def q(name, qtype=T_A, **kw):
    kw.setdefault("timeout", 6.0)
    return RIG.client.query(name, qtype, **kw)[0]


def spread(name, qtype=T_A, n=16, **kw):
    """n queries for name from n source ports at once (both cores)."""
    res = spread_query(RIG.netns, RIG.lab["HF_LAB_SERVICE4"], [(name, qtype)] * n, timeout=8.0, **kw)
    out = []
    for nm, t, r in res:
        check(r is not None, f"no answer to {nm} within 8 s")
        out.append(r)
    return out


def ctl(*a, **kw):
    return RIG.ctl(*a, **kw)


def ctl_raw(*a, **kw):
    return RIG.ctl_raw(*a, **kw)


def one_line_error(r, codes, what):
    codes = (codes,) if isinstance(codes, int) else tuple(codes)
    check(r.rc in codes, f"{what}: exit {r.rc}, expected {' or '.join(map(str, codes))}: {r.show()}")
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    check(len(lines) == 1 and lines[0].startswith("holdfastctl: ") and len(lines[0]) > len("holdfastctl: "),
          f"{what}: stderr is not one line \"holdfastctl: <message>\": {r.err!r}")
    if r.obj is not None:
        check(r.obj.get("ok") is False and isinstance(r.obj.get("error"), str) and r.obj["error"],
              f'{what}: --json error output without "ok": false and "error": {r.out!r}')
    return lines[0]


def parse_duration(v):
    """Seconds from a config duration ("1d", "1.8s", "1800ms", "30", 30)."""
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)?\s*", str(v))
    check(m, f"not a duration: {v!r}")
    mult = {"ms": 0.001, None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    return float(m.group(1)) * mult


def expect_ad(r, ad, what):
    check(r.rcode == NOERROR, f"{what}: {rcode_name(r.rcode)}: {r.summary()}")
    check(r.ad == ad, f"{what}: AD={int(r.ad)}, expected {int(ad)}: {r.summary()}")
    check(not r.ede, f"{what}: EDE {r.ede_codes()}: {r.summary()}")


def lookup_entries(name, *typ):
    """{core: [entries]} of `cache lookup NAME [TYPE]`, checked for shape."""
    obj = ctl("cache", "lookup", name, *typ)
    check(obj.get("name", "").lower() == name.lower().rstrip(".") + ".",
          f"cache lookup {name}: name {obj.get('name')!r}, expected {name.lower().rstrip('.')}.")
    cores = obj.get("cores")
    check(isinstance(cores, list) and len(cores) == WORKERS,
          f"cache lookup {name}: cores {cores!r:.300}, expected a list of {WORKERS}")
    out = {}
    for c in cores:
        check(isinstance(c.get("entries"), list), f"cache lookup: core without an entries list: {c}")
        out[c.get("core")] = c["entries"]
    check(sorted(out) == list(range(WORKERS)), f"cache lookup: core ids {sorted(out)}")
    return out


def entry_of(entries, typ="A", do=False):
    m = [e for e in entries if e.get("type") == typ and e.get("do") is do and e.get("cd") is False]
    return m[0] if m else None


def nta_list():
    obj = ctl("nta", "list")
    check(isinstance(obj.get("ntas"), list), f"nta list: no ntas list: {obj}")
    return {e.get("name"): e for e in obj["ntas"]}


def nta_clear():
    for name in list(nta_list()):
        ctl("nta", "remove", name)


def wait_for(fn, limit, step=0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if fn():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def upstream_back():
    """lab.sh upstream-start, then make the lab's Unbound forget that the
    test. server was down (its infra cache would SERVFAIL for a while)."""
    RIG.upstream("start")
    conf = RIG.lab["HF_LAB_UNBOUND_CONF"]
    for args in (["flush_infra", "all"], ["flush_zone", "test."], ["flush_requestlist"]):
        subprocess.run(["unbound-control", "-c", conf, *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)


def still_serving(what):
    """DNS through the dataplane and a miss through control still work."""
    check(RIG.running(), f"{what}: holdfast exited ({RIG.proc.returncode if RIG.proc else '?'})")
    name = rnd("alive") + ".wild.example.de"
    r = q(name, ad=True, timeout=3.0)
    check(r.rcode == NOERROR and r.values(T_A) == [WILD_A], f"{what}: a miss ({name}) after it: {r.summary()}")


# ================================================================ cases: main instance


def case_status():
    t0 = time.time()
    obj = ctl("status")
    check(isinstance(obj.get("version"), str) and re.match(r"^\d+\.\d+", obj["version"]),
          f"status: version {obj.get('version')!r}")
    with open(os.path.join(RIG.srcdir, "meson.build")) as f:
        want = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
    check(want in obj["version"], f"status: version {obj['version']!r}, the project's is {want}")
    up = obj.get("uptime_s")
    check(isinstance(up, (int, float)) and 0 <= up <= t0 - RIG.started_at + 2,
          f"status: uptime_s {up!r}, holdfast started {t0 - RIG.started_at:.1f} s ago")
    check(obj.get("workers") == WORKERS, f"status: workers {obj.get('workers')!r}, expected {WORKERS}")
    ports = obj.get("ports")
    check(ports == 1 or (isinstance(ports, list) and len(ports) == 1), f"status: ports {ports!r}, expected 1 port")
    conf = obj.get("config")
    check(isinstance(conf, str) and f"control-socket: {RIG.sock}" in conf.replace('"', ""),
          f"status: config text does not say control-socket: {RIG.sock}: {str(conf)[:400]!r}")
    check(re.search(r"^forwarder:\s*\"?" + re.escape(RIG.lab["HF_LAB_RESOLVER"]), conf, re.M),
          f"status: config text has no forwarder {RIG.lab['HF_LAB_RESOLVER']}")
    check(re.search(r"^serve-stale-ttl:", conf, re.M), "status: config text has no serve-stale-ttl")
    time.sleep(1.1)
    up2 = ctl("status")["uptime_s"]
    check(up2 >= up + 1, f"status: uptime_s {up} then {up2} 1.1 s later")
    r = ctl_raw("status", json_out=False)
    check(r.rc == 0 and r.out.strip() and not r.out.lstrip().startswith("{") and want in r.out,
          f"status (text): expected human-readable text with the version: {r.show()}")
    # --socket, --timeout and HOLDFAST_CONTROL_SOCKET
    r = ctl_raw("--socket", RIG.sock, "--timeout", "3s", "status", sock=False)
    check(r.rc == 0 and r.obj and r.obj.get("ok") is True, f"--socket PATH --timeout 3s: {r.show()}")
    r = ctl_raw("status", sock=False, env=dict(os.environ, HOLDFAST_CONTROL_SOCKET=RIG.sock))
    check(r.rc == 0 and r.obj and r.obj.get("workers") == WORKERS, f"HOLDFAST_CONTROL_SOCKET: {r.show()}")


def case_help():
    for args in (["--help"], ["status", "--help"], ["stats", "--help"], ["nta", "--help"],
                 ["nta", "add", "--help"], ["nta", "remove", "--help"], ["nta", "list", "--help"],
                 ["cache", "--help"], ["cache", "lookup", "--help"], ["cache", "flush", "--help"],
                 ["cache", "save", "--help"],
                 ["config", "--help"], ["config", "set", "--help"]):
        r = ctl_raw(*args, json_out=False)
        check(r.rc == 0, f"{' '.join(args)}: exit {r.rc}, expected 0: {r.show()}")
        word = args[-2] if len(args) > 1 else "usage"
        check(len(r.out.strip()) > 20 and word in r.out.lower(),
              f"{' '.join(args)}: help does not mention {word!r}: {r.out[:300]!r}")
    r = ctl_raw("nta", "add", "--help", json_out=False)
    for opt in ("--lifetime", "--reason", "--recheck"):
        check(opt in r.out, f"nta add --help does not mention {opt}: {r.out[:400]!r}")


def case_usage_errors():
    """Detected locally: exit 2 and one line on stderr, nothing sent."""
    cases = [
        ["frobnicate"], [], ["--bogus-option", "status"], ["status", "extra"], ["stats", "--nope"],
        ["nta"], ["nta", "frob"], ["nta", "add"], ["nta", "remove"], ["nta", "add", "x.de", "--lifetime"],
        ["nta", "add", "x.de", "--lifetime", "banana"], ["nta", "add", "x.de", "--recheck", "soon"],
        ["nta", "add", "x.de", "--colour", "red"], ["nta", "add", "x.de", "--expires"],
        ["nta", "add", "x.de", "--expires", "soon"], ["nta", "add", "x.de", "--expires", "-5"],
        ["nta", "add", "x.de", "--expires", "0"],
        ["nta", "add", "x.de", "--lifetime", "1h", "--expires", "4102444800"], ["cache"], ["cache", "lookup"], ["cache", "flush"],
        ["cache", "frob", "x.de"], ["config"], ["config", "set", "serve-stale-ttl"], ["config", "frob"],
        ["--timeout", "abc", "status"],
    ]
    for args in cases:
        r = ctl_raw(*args)
        one_line_error(r, 2, f"holdfastctl {' '.join(args)}")
        check(not r.out.strip() or (r.obj and r.obj.get("ok") is False),
              f"holdfastctl {' '.join(args)}: stdout {r.out!r} on a usage error")
    check(not nta_list(), f"usage errors left NTAs behind: {nta_list()}")


def case_connect_errors():
    """No server: exit 3, one line (also for a server that never answers, after --timeout)."""
    missing = os.path.join(RIG.run_dir, "nothing-here.sock")
    r = ctl_raw("status", sock=missing)
    one_line_error(r, 3, f"-s {missing} status")
    # a socket that accepts and never answers: --timeout 1s gives up with 3
    path = os.path.join(RIG.run_dir, "silent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(path)
        srv.listen(4)
        r = ctl_raw("--timeout", "1s", "status", sock=path)
        one_line_error(r, 3, "--timeout 1s against a server that never answers")
        check(r.elapsed < 4.0, f"--timeout 1s took {r.elapsed:.1f} s")
    finally:
        srv.close()
        os.unlink(path)


def case_stats_shape():
    obj = ctl("stats", "--per-core")
    check(obj.get("workers") == WORKERS, f"stats: workers {obj.get('workers')}")
    check(isinstance(obj.get("uptime_s"), (int, float)), f"stats: uptime_s {obj.get('uptime_s')!r}")
    for where, d in [("total", obj.get("total"))] + [(f"per_core[{i}]", c) for i, c in
                                                     enumerate(obj.get("per_core") or [])]:
        check(isinstance(d, dict), f"stats: {where} is {d!r}")
        for k in COUNTERS:
            check(isinstance(d.get(k), int) and d[k] >= 0, f"stats: {where}.{k} = {d.get(k)!r}")
        for k in RCODES:
            check(isinstance(d.get("rcode", {}).get(k), int), f"stats: {where}.rcode.{k} = "
                  f"{d.get('rcode', {}).get(k)!r}")
        for k in DROPS:
            check(isinstance(d.get("drops", {}).get(k), int), f"stats: {where}.drops.{k} = "
                  f"{d.get('drops', {}).get(k)!r}")
        check(isinstance(d.get("ede"), dict), f"stats: {where}.ede = {d.get('ede')!r}")
    pcs = obj.get("per_core")
    check(isinstance(pcs, list) and [c.get("core") for c in pcs] == list(range(WORKERS)),
          f"stats --per-core: cores {[c.get('core') for c in pcs or []]}")
    for k in ("queries", "answers", "misses", "hits_fresh", "cache_entries"):
        check(sum(c[k] for c in pcs) == obj["total"][k], f"stats: total.{k} {obj['total'][k]} != sum of "
              f"per_core {[c[k] for c in pcs]}")
    c = obj.get("control")
    check(isinstance(c, dict), f"stats: control {c!r}")
    for k in CONTROL:
        check(isinstance(c.get(k), int) and c[k] >= 0, f"stats: control.{k} = {c.get(k)!r}")
    for k in VERDICTS:
        check(isinstance(c.get("validation", {}).get(k), int), f"stats: control.validation.{k}")
    ports = obj.get("ports")
    check(isinstance(ports, list) and len(ports) == 1, f"stats: ports {ports!r} (the rig has one port)")
    for pt in ports or []:
        check(isinstance(pt.get("port"), int) and isinstance(pt.get("name"), str) and
              pt["name"].startswith("net_"), f"stats: port {pt!r}")
        for k in PORT_COUNTERS:
            check(isinstance(pt.get(k), int) and pt[k] >= 0, f"stats: ports[].{k} = {pt.get(k)!r}")
    check("per_core" not in ctl("stats"), "stats without --per-core has per_core")
    r = ctl_raw("stats", json_out=False)
    check(r.rc == 0 and "queries" in r.out and not r.out.lstrip().startswith("{"), f"stats (text): {r.show()}")


def delta(a, b, key):
    return counter(b, key) - counter(a, key)


PORT_COUNTERS = ("rx_packets", "tx_packets", "rx_missed", "rx_errors", "rx_no_mbuf", "tx_errors")


def port_delta(a, b, key):
    """How far a counter of the rig's one port moved between two `stats`."""
    return b["ports"][0][key] - a["ports"][0][key]


def case_stats_counters():
    s0 = ctl("stats", "--per-core")
    name = rnd("cnt") + ".wild.example.de"
    for _ in range(10):
        r = q(name, ad=True)
        expect_ad(r, True, name)
    nx = rnd("nx") + ".example.de"
    r = q(nx, ad=True)
    check(r.rcode == NXDOMAIN and r.ad, f"{nx}: {r.summary()}")
    time.sleep(0.2)
    s1 = ctl("stats", "--per-core")
    d = {k: delta(s0, s1, "total." + k) for k in ("queries", "answers", "misses", "hits_fresh", "rcode.NOERROR",
                                                   "rcode.NXDOMAIN", "rcode.SERVFAIL", "cache_entries")}
    check(d["queries"] == 11 and d["answers"] == 11, f"stats: 11 queries moved queries/answers by {d}")
    check(d["rcode.NOERROR"] == 10 and d["rcode.NXDOMAIN"] == 1 and d["rcode.SERVFAIL"] == 0,
          f"stats: rcode counters moved by {d} for 10 NOERROR + 1 NXDOMAIN")
    check(delta(s0, s1, "total.parked") >= 2 and s1["total"]["waiters"] == 0,
          f"stats: parked moved by {delta(s0, s1, 'total.parked')} for two misses, waiters now "
          f"{s1['total']['waiters']}")
    later = []  # checked last, so the other counters are checked too
    check(2 <= d["misses"] <= 3, f"stats: misses moved by {d} (two names, 10 + 1 queries)")
    if d["hits_fresh"] != 11 - d["misses"]:
        later.append(f"stats: misses moved by {d['misses']} and hits_fresh by {d['hits_fresh']} for 11 queries "
                     f"(a query is a hit or a miss: hits_fresh should be {11 - d['misses']}): {d}")
    check(d["cache_entries"] == 2 * WORKERS, f"stats: cache_entries moved by {d['cache_entries']}, expected "
          f"{2 * WORKERS} (two names on {WORKERS} cores)")
    pq = {c: per_core(s1, "queries")[c] - per_core(s0, "queries")[c] for c in range(WORKERS)}
    check(sum(pq.values()) == 11, f"stats: per-core queries moved by {pq}")
    c = {k: delta(s0, s1, "control." + k) for k in ("requests", "resolutions", "upstream_queries", "responses",
                                                     "fills", "validation.secure", "timeouts", "failures")}
    check(2 <= c["requests"] <= 3 and c["resolutions"] == 2 and c["fills"] >= 2, f"stats: control moved by {c}")
    check(c["upstream_queries"] >= 2 and c["responses"] >= 2 and c["validation.secure"] >= 2,
          f"stats: control moved by {c}")
    check(c["timeouts"] == 0 and c["failures"] == 0, f"stats: control timeouts/failures moved: {c}")
    # TC=1 and a packet too short for a DNS header
    s0 = ctl("stats")
    r = q("big.test", T_TXT, timeout=8)
    check(r.tc, f"big.test TXT (about 2000 bytes, EDNS 1232): expected TC=1: {r.summary()}")
    data, _ = RIG.client.exchange(b"\x12\x34\x01", timeout=1.0)
    check(data is None, "a 3-byte packet was answered")
    time.sleep(0.2)
    s1 = ctl("stats")
    check(delta(s0, s1, "total.truncated") == 1, f"stats: truncated moved by {delta(s0, s1, 'total.truncated')}")
    check(delta(s0, s1, "total.drops.dns_header") == 1, f"stats: drops.dns_header moved by "
          f"{delta(s0, s1, 'total.drops.dns_header')} for one 3-byte packet")
    # a spread of hits: every core's counters move
    s0 = ctl("stats", "--per-core")
    spread(name, n=32, ad=True)
    s1 = ctl("stats", "--per-core")
    pa = {k: per_core(s1, "answers")[k] - per_core(s0, "answers")[k] for k in range(WORKERS)}
    check(sum(pa.values()) == 32 and all(v > 0 for v in pa.values()),
          f"stats: 32 queries from 32 ports: answers per core {pa} (every core should answer some)")
    # the port's own counters saw them: 32 frames in, 32 answers out (and
    # no more than a handful of ARP/ND frames besides); nothing dropped
    rx, tx = port_delta(s0, s1, "rx_packets"), port_delta(s0, s1, "tx_packets")
    check(32 <= rx <= 40 and 32 <= tx <= 40, f"stats: port rx/tx moved by {rx}/{tx} for 32 queries")
    for k in ("rx_missed", "rx_errors", "rx_no_mbuf", "tx_errors"):
        check(port_delta(s0, s1, k) == 0, f"stats: port {k} moved by {port_delta(s0, s1, k)}")
    check(not later, "; ".join(later))


def case_stats_reset():
    q("www.alg13.de", ad=True)
    before = ctl("stats", "--per-core")
    check(before["total"]["queries"] > 0 and before["total"]["cache_entries"] > 0, f"stats: {before['total']}")
    p0 = prom_queries(prom())
    ctl("stats", "--reset")
    after = ctl("stats", "--per-core")
    p1 = prom_queries(prom())
    check(p1 == p0, f"stats --reset moved the Prometheus counters: queries {p0} -> {p1} (documented: "
          "totals since start-up)")
    for k in ("queries", "answers", "hits_fresh", "misses", "rcode.NOERROR"):
        check(counter(after, "total." + k) == 0, f"stats after --reset: total.{k} = {counter(after, 'total.' + k)}")
        check(all(v == 0 for v in per_core(after, k).values()), f"stats after --reset: per-core {k} "
              f"{per_core(after, k)}")
    check(counter(after, "control.requests") == 0, f"stats after --reset: control.requests "
          f"{counter(after, 'control.requests')}")
    # a gauge, not a counter: --reset leaves it (it may still grow as the other
    # core applies the last FILL and its 1 ms timer publishes the count)
    check(after["total"]["cache_entries"] >= before["total"]["cache_entries"],
          f"stats --reset changed the cache_entries gauge: {before['total']['cache_entries']} -> "
          f"{after['total']['cache_entries']} (the cache still holds them)")
    r = q("www.alg13.de", ad=True)
    expect_ad(r, True, "www.alg13.de after stats --reset")
    s = ctl("stats")
    check(s["total"]["queries"] == 1 and s["total"]["hits_fresh"] == 1, f"stats after reset + 1 query: "
          f"queries {s['total']['queries']}, hits_fresh {s['total']['hits_fresh']}")
    # the port's counters start again too: the query and its answer (an ARP
    # exchange at most besides)
    pt = s["ports"][0]
    check(1 <= pt["rx_packets"] <= 3 and 1 <= pt["tx_packets"] <= 3,
          f"stats after reset + 1 query: port rx/tx {pt['rx_packets']}/{pt['tx_packets']}")


def prom_queries(samples):
    """The queries counter summed over its cores."""
    qm = [k for k in samples if re.search(r"quer(y|ies)", k) and "upstream" not in k and "control" not in k]
    check(qm, f"no metric for queries among {sorted(samples)[:40]}")
    return {k: sum(v for lbl, v in samples[k] if "rcode" not in lbl) for k in qm}


def prom():
    r = ctl_raw("stats", "--prometheus", json_out=False)
    check(r.rc == 0, f"stats --prometheus: {r.show()}")
    return parse_prom(r.out, "stats --prometheus")


def case_stats_prometheus():
    """The text exposition; its counters count since start-up (`stats
    --reset` does not touch them, docs/operations.md), so compare moves."""
    q("www.alg13.de", ad=True)
    p0, j0 = prom(), ctl("stats")
    for _ in range(3):
        q("www.alg13.de", ad=True)
    samples, j1 = prom(), ctl("stats")
    check(len(samples) >= 10, f"stats --prometheus: only {len(samples)} metrics: {sorted(samples)}")
    # the queries counter (summed over its cores) moves as the JSON total does
    want = delta(j0, j1, "total.queries")
    q0, q1 = prom_queries(p0), prom_queries(samples)
    check(want == 3 and any(q1[k] - q0.get(k, 0) == want for k in q1),
          f"stats --prometheus: queries {q0} -> {q1}, the JSON total moved by {want} (3 queries)")
    # one name everywhere (docs/operations.md, "Counters"): every JSON total
    # counter X is holdfast_X_total summed over the cores, every drops.R is
    # holdfast_drops_total{reason="R"}, and they moved alike
    names = {"hits_fresh": 3, "queries": 3, "answers": 3, "misses": 0, "formerr_answers": 0, "parked": 0}
    for name, want_move in names.items():
        fam = f"holdfast_{name}_total"
        check(fam in samples, f"stats --prometheus: no {fam}")
        pm = sum(v for _, v in samples[fam]) - sum(v for _, v in p0.get(fam, []))
        jm = delta(j0, j1, "total." + name)
        check(pm == jm == want_move, f"{fam} moved by {pm}, JSON total.{name} by {jm}; want {want_move}")
    for reason in j1["total"]["drops"]:
        fam = samples.get("holdfast_drops_total", [])
        got = sum(v for lbl, v in fam if f'reason="{reason}"' in lbl)
        check(len([1 for lbl, _ in fam if f'reason="{reason}"' in lbl]) == j1["workers"],
              f"holdfast_drops_total{{reason={reason}}}: want one sample per core: {fam}")
        check(got >= j1["total"]["drops"][reason], f"drops.{reason}: Prometheus {got} < JSON {j1['total']['drops'][reason]}")
    pk = samples.get("holdfast_port_packets_total") or []
    check(any('direction="rx"' in lbl and v >= 4 for lbl, v in pk) and
          any('direction="tx"' in lbl and v >= 4 for lbl, v in pk),
          f"holdfast_port_packets_total: {pk} (at least the 4 queries and answers)")
    dr = samples.get("holdfast_port_dropped_total") or []
    check(sorted(lbl.split('reason="')[1].split('"')[0] for lbl, _ in dr) ==
          ["missed", "no_mbuf", "rx_error", "tx_error"], f"holdfast_port_dropped_total: {dr}")
    r = ctl_raw("stats", "--prometheus", "--per-core", json_out=False)
    check(r.rc == 0, f"stats --prometheus --per-core: {r.show()}")
    parse_prom(r.out, "stats --prometheus --per-core")


def case_stats_textfile():
    """stats-textfile (1 s): the exposition for node_exporter's textfile
    collector, rewritten atomically, following the counters."""
    path = STATE["textfile"]
    check(wait_for(lambda: os.path.exists(path), 4.0) is not None, f"{path} not written within 4 s")
    for _ in range(5):
        q("www.alg13.de", ad=True)
    want = prom_queries(prom())

    def caught_up():
        with open(path) as f:
            got = prom_queries(parse_prom(f.read(), path))
        return got == want
    check(wait_for(caught_up, 4.0, 0.2) is not None, f"{path}: queries did not reach {want} (stats "
          "--prometheus) within 4 s (interval 1s)")
    d = os.path.dirname(path)
    leftovers = [f for f in os.listdir(d) if f.startswith(os.path.basename(path)) and f != os.path.basename(path)]
    check(not leftovers, f"temporary files beside {path}: {leftovers}")


def case_cache_lookup():
    name = "www.alg13.de"
    spread(name, n=8, ad=True)
    ta0 = time.monotonic()
    e = lookup_entries(name, "A")
    tb0 = time.monotonic()
    for core, entries in e.items():
        en = entry_of(entries)
        check(en, f"cache lookup {name} A: core {core} holds no A entry (do false): {entries}")
        check(en.get("state") == "fresh", f"core {core}: state {en.get('state')!r}, expected fresh: {en}")
        check(isinstance(en.get("ttl"), int) and 0 < en["ttl"] <= WWW_TTL, f"core {core}: ttl {en.get('ttl')!r}")
        check(en.get("security") == "secure", f"core {core}: security {en.get('security')!r}: {en}")
        check(en.get("nta") is False, f"core {core}: nta {en.get('nta')!r}")
        check(en.get("rcode") == "NOERROR", f"core {core}: rcode {en.get('rcode')!r}")
        check(en.get("ede") is None, f"core {core}: ede {en.get('ede')!r}")
        check(not [x for x in entries if x.get("type") != "A"], f"cache lookup {name} A shows other types: "
              f"{entries}")
    ttl0 = entry_of(e[0])["ttl"]
    # the TTL the client sees agrees with the lookup's
    r = q(name, ad=True)
    t = min(rr.ttl for rr in r.records(T_A))
    check(abs(t - ttl0) <= 1, f"cache lookup ttl {ttl0}, the answer's TTL {t}")
    time.sleep(2.1)
    ta1 = time.monotonic()
    e2 = lookup_entries(name.upper())
    tb1 = time.monotonic()
    en = entry_of(e2[0])
    check(en, f"cache lookup {name.upper()} (no type): no A entry: {e2}")
    # the TTL ages in whole seconds: between lookups dt apart it drops by floor(dt) .. ceil(dt)
    lo, hi = math.floor(ta1 - tb0), math.ceil(tb1 - ta0)
    check(ttl0 - hi <= en["ttl"] <= ttl0 - lo,
          f"cache lookup: ttl {ttl0} then {en['ttl']} {ta1 - tb0:.2f} .. {tb1 - ta0:.2f} s later")
    e3 = lookup_entries(name, "AAAA")
    check(all(not entry_of(x) for x in e3.values()), f"cache lookup {name} AAAA shows A entries: {e3}")
    # insecure and negative entries
    r = q("www.unsigned.de", ad=True)
    expect_ad(r, False, "www.unsigned.de")
    for core, entries in lookup_entries("www.unsigned.de", "A").items():
        en = entry_of(entries)
        check(en and en.get("security") == "insecure" and en.get("state") == "fresh",
              f"cache lookup www.unsigned.de: core {core}: {entries}")
    # a name the cores' copies of example.de's NSECs deny is answered there
    # and never cached (RFC 8198 on the cores): drop them, so it is resolved
    ctl("cache", "flush", "example.de")
    nx = rnd("nx") + ".example.de"
    r = q(nx, ad=True)
    check(r.rcode == NXDOMAIN, f"{nx}: {r.summary()}")
    for core, entries in lookup_entries(nx, "A").items():
        en = entry_of(entries)
        check(en and en.get("rcode") == "NXDOMAIN" and en.get("security") == "secure" and 0 < en.get("ttl", 0) <= 60,
              f"cache lookup {nx}: core {core}: {entries}")
    # a name nobody asked for: nothing on any core
    never = rnd("never") + ".example.de"
    r = ctl_raw("cache", "lookup", never)
    if r.rc == 0:
        check(r.obj and all(not c.get("entries") for c in r.obj.get("cores", [])),
              f"cache lookup of a name never asked: {r.show()}")
    else:
        one_line_error(r, 1, f"cache lookup {never}")
    r = ctl_raw("cache", "lookup", name, json_out=False)
    check(r.rc == 0 and "secure" in r.out and not r.out.lstrip().startswith("{"), f"cache lookup (text): {r.show()}")
    r = ctl_raw("cache", "lookup", name, "NOSUCHTYPE")
    check(r.rc in (1, 2), f"cache lookup {name} NOSUCHTYPE: {r.show()}")
    one_line_error(r, (1, 2), "cache lookup with a bad type")
    r = ctl_raw("cache", "lookup", "bad..name")
    one_line_error(r, (1, 2), "cache lookup bad..name")


def case_cache_flush_name():
    name = "www.alg15.de"
    spread(name, T_A, n=8, ad=True)
    spread(name, T_AAAA, n=8, ad=True)
    e = lookup_entries(name)
    check(all(entry_of(x, "A") and entry_of(x, "AAAA") for x in e.values()), f"before the flush: {e}")
    n_before = sum(len(x) for x in e.values())
    obj = ctl("cache", "flush", name)
    check(obj.get("removed") == n_before and n_before == 2 * WORKERS,
          f"cache flush {name}: removed {obj.get('removed')}, the cores held {n_before} (A and AAAA on "
          f"{WORKERS} cores): {obj}")
    check(obj.get("cores") == WORKERS and isinstance(obj.get("apply_us"), int) and obj["apply_us"] >= 0,
          f"cache flush: {obj}")
    e = lookup_entries(name)
    check(all(not x for x in e.values()), f"cache lookup after the flush: {e}")
    s0 = ctl("stats")
    r = q(name, ad=True)
    expect_ad(r, True, f"{name} after the flush")
    s1 = ctl("stats")
    check(delta(s0, s1, "total.misses") == 1, f"{name} after the flush: misses moved by "
          f"{delta(s0, s1, 'total.misses')}, expected 1 (a miss)")
    obj = ctl("cache", "flush", rnd("never") + ".de")
    check(obj.get("removed") == 0, f"cache flush of a name never cached: {obj}")


def case_cache_flush_subtree():
    names = [rnd("a") + ".wild.example.de", rnd("b") + ".wild.example.de", "www.example.de"]
    for n in names + ["www.alg13.de"]:
        expect_ad(q(n, ad=True), True, n)
    time.sleep(0.1)
    obj = ctl("cache", "flush", "example.de")  # the name only: nothing cached at example.de itself
    check(obj.get("removed") == 0, f"cache flush example.de (no --subtree): removed {obj.get('removed')}")
    check(all(entry_of(x) for x in lookup_entries("www.example.de").values()),
          "cache flush example.de without --subtree removed www.example.de")
    obj = ctl("cache", "flush", "example.de", "--subtree")
    check(obj.get("removed", 0) >= len(names) * WORKERS, f"cache flush example.de --subtree: removed "
          f"{obj.get('removed')}, expected at least {len(names) * WORKERS}: {obj}")
    for n in names:
        check(all(not x for x in lookup_entries(n).values()), f"{n} still cached after flush --subtree")
    check(all(entry_of(x) for x in lookup_entries("www.alg13.de").values()),
          "cache flush example.de --subtree removed www.alg13.de")


def case_cache_flush_bogus():
    name = "www.alg8.de"
    ctl("cache", "flush", name)
    expect_ad(q("www.alg13.de", ad=True), True, "www.alg13.de")
    s0 = ctl("stats")
    RIG.fault("expired", "alg8.de")
    try:
        r = q(name, ad=True, timeout=8)
        check(r.rcode == SERVFAIL and r.ede_codes() == [EDE_EXPIRED], f"{name} under fault-expired alg8.de: "
              f"{r.summary()}")
        time.sleep(0.1)
        for core, entries in lookup_entries(name, "A").items():
            en = entry_of(entries)
            check(en, f"cache lookup {name}: core {core}: no entry for the failure: {entries}")
            check(en.get("state") == "failure" and en.get("rcode") == "SERVFAIL" and en.get("ede") == EDE_EXPIRED,
                  f"cache lookup {name}: core {core}: expected state failure, SERVFAIL, ede 7: {en}")
            if en.get("security") != "bogus":
                STATE.setdefault("bogus_security", f"cache lookup {name} (a cached validation failure, EDE 7): "
                                 f"core {core}: security {en.get('security')!r}, expected 'bogus': {en}")
        r = q(name, ad=True)
        check(r.rcode == SERVFAIL, f"{name} again: {r.summary()}")
        s1 = ctl("stats")
        check(delta(s0, s1, "total.rcode.SERVFAIL") == 2, f"stats: rcode.SERVFAIL moved by "
              f"{delta(s0, s1, 'total.rcode.SERVFAIL')} for 2 SERVFAIL answers")
        check(counter(s1, "total.ede").get("7", 0) - counter(s0, "total.ede").get("7", 0) >= 1,
              f"stats: ede.7 {counter(s0, 'total.ede')} -> {counter(s1, 'total.ede')}")
        check(delta(s0, s1, "total.misses") == 1 and delta(s0, s1, "total.hits_failure") >= 1,
              f"stats: misses moved by {delta(s0, s1, 'total.misses')}, hits_failure by "
              f"{delta(s0, s1, 'total.hits_failure')} (the first SERVFAIL a miss, the second from the cache)")
        check(delta(s0, s1, "control.validation.bogus") >= 1, "stats: control.validation.bogus did not move")
        obj = ctl("cache", "flush", "--bogus")
        check(obj.get("removed", 0) >= WORKERS and obj.get("cores") == WORKERS,
              f"cache flush --bogus: {obj} (the failure was on {WORKERS} cores)")
        check(all(not entry_of(x) for x in lookup_entries(name, "A").values()),
              f"{name}: failure entry still there after cache flush --bogus")
        check(all(entry_of(x) for x in lookup_entries("www.alg13.de", "A").values()),
              "cache flush --bogus removed the secure www.alg13.de")
        s2 = ctl("stats")
        r = q(name, ad=True, timeout=8)
        s3 = ctl("stats")
        check(delta(s2, s3, "total.misses") == 1, f"{name} after cache flush --bogus: not a miss "
              f"(misses {delta(s2, s3, 'total.misses')}, hits_failure {delta(s2, s3, 'total.hits_failure')})")
        check("bogus_security" not in STATE, STATE.pop("bogus_security", ""))
    finally:
        RIG.repair()


def case_cache_flush_all():
    for n in ("www.alg13.de", "www.example.de"):
        q(n, ad=True)
    # a core other than the one that answered may not have applied the fill
    # yet; a lookup is applied by every core after it, and the gauges are
    # published before a core reports a message applied
    lookup_entries("www.example.de")
    s0 = ctl("stats", "--per-core")
    n = s0["total"]["cache_entries"]
    check(n >= 2 * WORKERS, f"cache_entries {n} before flush --all")
    obj = ctl("cache", "flush", "--all")
    check(obj.get("removed") == n and obj.get("cores") == WORKERS, f"cache flush --all: {obj}, cache_entries was {n}")
    s1 = ctl("stats", "--per-core")
    check(s1["total"]["cache_entries"] == 0 and all(v == 0 for v in per_core(s1, "cache_entries").values()),
          f"cache_entries after flush --all: {s1['total']['cache_entries']} {per_core(s1, 'cache_entries')}")
    check(all(not x for x in lookup_entries("www.alg13.de").values()), "www.alg13.de cached after flush --all")
    expect_ad(q("www.alg13.de", ad=True), True, "www.alg13.de after flush --all")
    r = ctl_raw("cache", "flush", "--all", json_out=False)
    check(r.rc == 0 and r.out.strip(), f"cache flush --all (text): {r.show()}")


def case_nta_add_list_remove():
    nta_clear()
    spread("www.example.de", n=8, ad=True)
    t0 = time.time()
    obj = ctl("nta", "add", "example.de", "--lifetime", "90s", "--reason", "ctl test: broken")
    t1 = time.time()
    check(obj.get("name") == "example.de.", f"nta add: name {obj.get('name')!r}")
    check(obj.get("lifetime") == 90, f"nta add: lifetime {obj.get('lifetime')!r}")
    check(isinstance(obj.get("expires"), int) and int(t0) + 89 <= obj["expires"] <= int(t1) + 91,
          f"nta add: expires {obj.get('expires')!r}, now {t1:.0f}")
    check(obj.get("recheck") == 0, f"nta add: recheck {obj.get('recheck')!r}")
    check(obj.get("cores") == WORKERS, f"nta add: cores {obj.get('cores')!r}")
    check(isinstance(obj.get("apply_us"), int) and 0 <= obj["apply_us"] <= (t1 - t0) * 1e6 + 1000,
          f"nta add: apply_us {obj.get('apply_us')!r} (the command took {(t1 - t0) * 1e3:.0f} ms)")
    # O(1) on every core: nothing is walked (docs/decisions.md); each entry
    # under the NTA is changed when next used, a lookup included
    check(obj.get("flushed") == 0, f"nta add: flushed {obj.get('flushed')!r}, expected 0 (no walk)")
    for core, entries in lookup_entries("www.example.de", "A").items():
        en = entry_of(entries)
        check(en is not None and en.get("security") == "insecure" and en.get("nta") is True,
              f"cache lookup www.example.de under the NTA: core {core}: {en} (every core held it secure)")
    for r in spread("www.example.de", n=16, ad=True):
        expect_ad(r, False, "www.example.de under the NTA")
        check(r.values(T_A) == [SECURE["www.example.de"]], r.summary())
    for r in spread(rnd("w") + ".wild.example.de", n=4, ad=True):
        expect_ad(r, False, "a fresh wildcard name under the NTA")
    expect_ad(q("www.alg13.de", ad=True), True, "www.alg13.de (no NTA)")
    lst = nta_list()
    e = lst.get("example.de.")
    check(e, f"nta list: no example.de.: {lst}")
    check(e.get("reason") == "ctl test: broken" and e.get("source") == "cli" and e.get("recheck") == 0,
          f"nta list: {e}")
    check(e.get("expires") == obj["expires"] and abs(e.get("added", 0) - t0) <= 2,
          f"nta list: added/expires {e}, nta add said expires {obj['expires']}, added at {t0:.0f}")
    check(isinstance(e.get("remaining"), int) and 85 <= e["remaining"] <= 90, f"nta list: remaining {e}")
    s = ctl("stats")
    check(counter(s, "control.nta_count") == 1, f"stats: control.nta_count {counter(s, 'control.nta_count')}")
    r = ctl_raw("nta", "list", json_out=False)
    check(r.rc == 0 and "example.de" in r.out and "ctl test: broken" in r.out, f"nta list (text): {r.show()}")
    # text shows times as UTC ISO 8601, the same instants as the JSON's Unix seconds
    exp_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(obj["expires"]))
    add_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["added"]))
    check(f"expires: {exp_iso}" in r.out and f"added: {add_iso}" in r.out,
          f"nta list (text): wanted expires: {exp_iso}, added: {add_iso}: {r.show()}")
    obj = ctl("nta", "remove", "example.de")
    check(obj.get("name") == "example.de." and obj.get("cores") == WORKERS and isinstance(obj.get("apply_us"), int),
          f"nta remove: {obj}")
    check(obj.get("flushed") == 0, f"nta remove: flushed {obj.get('flushed')!r}, expected 0 (no walk)")
    for core, entries in lookup_entries("www.example.de", "A").items():
        check(not any(en.get("nta") for en in entries),
              f"cache lookup www.example.de after nta remove: core {core} still has an NTA-derived entry: {entries}")
    check("example.de." not in nta_list(), "nta list still has example.de. after nta remove")
    for r in spread("www.example.de", n=16, ad=True):
        expect_ad(r, True, "www.example.de right after nta remove")
    r = ctl_raw("nta", "remove", "example.de")
    msg = one_line_error(r, 1, "nta remove of an NTA that does not exist")
    check("example.de" in msg, f"the error does not name the NTA: {msg!r}")
    r = ctl_raw("nta", "remove", "example.de", json_out=False)
    one_line_error(r, 1, "nta remove (text) of an NTA that does not exist")
    r = ctl_raw("nta", "add", "Example.DE.", "--lifetime", "1m", json_out=False)
    check(r.rc == 0 and re.search(r"\b2\b", r.out) and "core" in r.out.lower(),
          f"nta add (text) should say on how many cores: {r.show()}")
    check("example.de." in nta_list(), f"nta add Example.DE.: {nta_list()}")
    ctl("nta", "remove", "EXAMPLE.de")
    check(not nta_list(), f"nta remove EXAMPLE.de: {nta_list()}")


def case_nta_lifetimes():
    nta_clear()
    t0 = time.time()
    obj = ctl("nta", "add", "alg15.de")
    check(obj.get("lifetime") == 3600 and abs(obj.get("expires", 0) - (t0 + 3600)) <= 2,
          f"nta add without --lifetime: {obj} (default 1h)")
    obj = ctl("nta", "add", "alg8.de", "--lifetime", "1w")
    check(obj.get("lifetime") == WEEK, f"nta add --lifetime 1w: {obj}")
    obj = ctl("nta", "add", "nsec3.de", "--lifetime", f"{WEEK}s")
    check(obj.get("lifetime") == WEEK, f"nta add --lifetime {WEEK}s: {obj}")
    obj = ctl("nta", "add", "nsec3n.de", "--lifetime", "1s")
    check(obj.get("lifetime") == 1, f"nta add --lifetime 1s: {obj}")
    # adding an existing NTA renews it (docs/man/holdfastctl.8): one entry, the new lifetime and reason
    ctl("nta", "add", "iter.de", "--lifetime", "1m", "--reason", "first")
    obj = ctl("nta", "add", "iter.de", "--lifetime", "2m", "--reason", "second")
    e = nta_list().get("iter.de.")
    check(e and e.get("reason") == "second" and 115 <= e.get("remaining", 0) <= 120 and
          e.get("expires") == obj.get("expires"), f"nta add of an existing NTA (renew): {e}")
    check(sum(1 for n in nta_list() if n == "iter.de.") == 1, "two entries for iter.de.")
    ctl("nta", "remove", "iter.de")
    # --expires: an absolute expiry (the fleet agent's), kept to the second
    exp = int(time.time()) + 120
    obj = ctl("nta", "add", "iter.de", "--expires", str(exp))
    e = nta_list().get("iter.de.")
    check(obj.get("expires") == exp and e and e.get("expires") == exp and 118 <= obj.get("lifetime", 0) <= 120,
          f"nta add --expires {exp}: {obj}, listed {e}")
    ctl("nta", "remove", "iter.de")
    now = int(time.time())
    for bad in (now - 10, now, now + WEEK + 60):
        r = ctl_raw("nta", "add", "iter.de", "--expires", str(bad))
        one_line_error(r, (1, 2), f"nta add iter.de --expires {bad} (now {now}; limits 1s .. 1w from now)")
    for bad in ("8d", f"{WEEK + 1}s", "2w", "0", "0s", "500ms", "-5s"):
        r = ctl_raw("nta", "add", "iter.de", "--lifetime", bad)
        one_line_error(r, (1, 2), f"nta add iter.de --lifetime {bad} (limits 1s .. 1w)")
    check("iter.de." not in nta_list(), f"an NTA with a refused lifetime is listed: {nta_list()}")
    for bad in ("bad..name.de", "a" * 64 + ".de", ".".join(["abcdefgh"] * 30), ""):
        r = ctl_raw("nta", "add", bad)
        one_line_error(r, (1, 2), f"nta add {bad[:40]!r}")
    r = ctl_raw("nta", "add", "iter.de", "--reason", "x\ny")
    one_line_error(r, (1, 2), "nta add with a newline in the reason")
    lst = nta_list()
    check(set(lst) <= {"alg15.de.", "alg8.de.", "nsec3.de.", "nsec3n.de."}, f"nta list: {sorted(lst)}")
    # the 1 s NTA runs out on its own (and must be gone before nta_clear lists
    # the rest, or its remove would race the expiry)
    check(wait_for(lambda: "nsec3n.de." not in nta_list(), 3.0) is not None,
          f"nsec3n.de. (--lifetime 1s) still listed 3 s later: {sorted(nta_list())}")
    nta_clear()


def case_nta_expiry():
    nta_clear()
    name = "www.alg13.de"
    expect_ad(q(name, ad=True), True, name)
    t0 = time.monotonic()
    obj = ctl("nta", "add", "alg13.de", "--lifetime", "2s")
    check(obj.get("lifetime") == 2, f"nta add --lifetime 2s: {obj}")
    for r in spread(name, n=8, ad=True):
        expect_ad(r, False, f"{name} under a 2 s NTA")
    took = wait_for(lambda: "alg13.de." not in nta_list(), 6.0)
    check(took is not None, "an NTA with lifetime 2s is still listed 6 s later")
    gone = time.monotonic() - t0
    # lifetimes are whole seconds of wall-clock time (expires is a unix second)
    check(gone >= 0.9, f"the 2 s NTA was gone after {gone:.1f} s")
    check(gone <= 4.0, f"the 2 s NTA went away only after {gone:.1f} s")
    for r in spread(name, n=8, ad=True):
        expect_ad(r, True, f"{name} after the NTA expired (NTA-derived entries flushed)")


def case_nta_recheck_healthy():
    """--recheck on a zone that validates: the NTA removes itself and says so."""
    nta_clear()
    obj = ctl("nta", "add", "alg15.de", "--lifetime", "1h", "--recheck", "1s")
    check(obj.get("recheck") == 1, f"nta add --recheck 1s: {obj}")
    e = nta_list().get("alg15.de.")
    check(e is None or e.get("recheck") == 1, f"nta list: recheck {e}")
    took = wait_for(lambda: "alg15.de." not in nta_list(), 6.0)
    check(took is not None, "an NTA with --recheck 1s on a zone that validates is still there after 6 s")
    expect_ad(q("www.alg15.de", ad=True), True, "www.alg15.de after the recheck")
    check("holdfast: nta: alg15.de. validates again, removed" in RIG.log_text(),
          "no \"holdfast: nta: alg15.de. validates again, removed\" in holdfast's log (the interface's "
          f"message); its nta lines: {[ln for ln in RIG.log_text().splitlines() if 'alg15.de' in ln]}")


def case_config_get():
    obj = ctl("config", "get")
    c = obj.get("config")
    check(isinstance(c, dict), f"config get: config {c!r}")
    for k, want in STALE_KEYS.items():
        check(k in c, f"config get: no {k}: {c}")
        check(abs(parse_duration(c[k]) - want) < 1e-6, f"config get: {k} = {c[k]!r}, expected {want} s")
    obj = ctl("config", "get", "serve-stale-ttl")
    check(parse_duration(obj.get("config", {}).get("serve-stale-ttl")) == 30, f"config get serve-stale-ttl: {obj}")
    r = ctl_raw("config", "get", "no-such-key")
    one_line_error(r, (1, 2), "config get no-such-key")
    r = ctl_raw("config", "get", json_out=False)
    check(r.rc == 0 and "serve-stale-ttl" in r.out, f"config get (text): {r.show()}")


def case_config_set_errors():
    for args in (["max-ttl", "5"], ["control-socket", "/tmp/x"], ["serve-stale-ttl", "2h"],
                 ["serve-stale-ttl", "0"], ["serve-stale-ttl", "1.5s"], ["serve-stale-ttl", "abc"],
                 ["serve-stale-window", "8d"], ["serve-stale-client-timeout", "31s"],
                 ["serve-stale-failure-recheck", "2d"], ["no-such-key", "1"]):
        r = ctl_raw("config", "set", *args)
        one_line_error(r, (1, 2), f"config set {' '.join(args)}")
    c = ctl("config", "get")["config"]
    for k, want in STALE_KEYS.items():
        check(abs(parse_duration(c[k]) - want) < 1e-6, f"after refused config sets: {k} = {c[k]!r}")


def case_cache_save_unset():
    """cache save without cache-snapshot (this instance's): one line saying
    so, exit 1; an argument after it: a usage error, exit 2."""
    r = ctl_raw("cache", "save")
    line = one_line_error(r, 1, "cache save without cache-snapshot")
    check(line == "holdfastctl: cache save: cache-snapshot is not set", f"cache save: {line!r}")
    r = ctl_raw("cache", "save", "now")
    line = one_line_error(r, 2, "cache save now")
    check(line.startswith('holdfastctl: cache save: unexpected argument "now"'), f"cache save now: {line!r}")


def case_config_set_stale_ttl():
    """config set serve-stale-ttl 17 and serve-stale-client-timeout 0: the
    next stale answer comes at once with TTL 17 (short.test, TTL 2, its
    authority stopped)."""
    obj = ctl("config", "set", "serve-stale-ttl", "17")
    check(obj.get("key") == "serve-stale-ttl" and parse_duration(obj.get("value")) == 17 and
          obj.get("cores") == WORKERS and isinstance(obj.get("apply_us"), int), f"config set: {obj}")
    obj = ctl("config", "set", "serve-stale-client-timeout", "0")
    check(parse_duration(obj.get("value")) == 0, f"config set serve-stale-client-timeout 0: {obj}")
    c = ctl("config", "get")["config"]
    check(parse_duration(c["serve-stale-ttl"]) == 17 and parse_duration(c["serve-stale-client-timeout"]) == 0,
          f"config get after set: {c}")
    check(re.search(r"^serve-stale-ttl:\s*\"?17", ctl("status")["config"], re.M),
          "status: the config in force does not show serve-stale-ttl 17")
    try:
        r = q("short.test")
        check(r.rcode == NOERROR and r.values(T_A) == [SHORT_TEST_A], f"short.test: {r.summary()}")
        s0 = ctl("stats")
        RIG.upstream("stop")
        time.sleep(3.2)
        r, dt = RIG.client.query("short.test", T_A, timeout=6)
        check(r.rcode == NOERROR and r.values(T_A) == [SHORT_TEST_A] and r.ede_codes() == [EDE_STALE],
              f"short.test past its TTL, authority stopped: expected the stale answer with EDE 3: {r.summary()}")
        ttl = min(rr.ttl for rr in r.records(T_A))
        later = []  # checked last, so the other facts are known too
        if ttl != 17:
            later.append(f"stale answer TTL {ttl}, expected 17 (config set serve-stale-ttl 17): {r.summary()}")
        check(dt < 0.7, f"stale answer after {dt:.2f} s with serve-stale-client-timeout 0")
        time.sleep(0.5)
        s1 = ctl("stats")
        check(delta(s0, s1, "total.hits_stale") >= 1 and delta(s0, s1, "total.stale_ede3") >= 1,
              "stats: hits_stale / stale_ede3 did not move for a stale answer")
        check(counter(s1, "total.ede").get("3", 0) > counter(s0, "total.ede").get("3", 0),
              f"stats: ede.3 {counter(s0, 'total.ede')} -> {counter(s1, 'total.ede')}")
        for core, entries in lookup_entries("short.test", "A").items():
            en = entry_of(entries)
            check(en and en.get("state") == "stale" and 0 < en.get("ttl", -1) <= 86400,
                  f"cache lookup short.test: core {core}: expected state stale, ttl in the window: {entries}")
        ctl("config", "set", "serve-stale-ttl", "5")
        r = q("short.test")
        check(r.ede_codes() == [EDE_STALE], f"after config set serve-stale-ttl 5: {r.summary()}")
        if min(rr.ttl for rr in r.records(T_A)) != 5:
            later.append(f"after config set serve-stale-ttl 5: stale TTL {min(rr.ttl for rr in r.records(T_A))}")
        check(not later, "; ".join(later))
    finally:
        upstream_back()
        ctl("config", "set", "serve-stale-ttl", "30s")
        ctl("config", "set", "serve-stale-client-timeout", "1.8s")


def case_config_set_window():
    """config set serve-stale-window 0 turns serve-stale off at once: an
    answer past its TTL is no longer served stale (SERVFAIL instead)."""
    try:
        ctl("config", "set", "serve-stale-client-timeout", "0")
        r = q("here.stale.test")
        check(r.rcode == NOERROR, f"here.stale.test: {r.summary()}")
        RIG.upstream("stop")
        time.sleep(3.2)
        r = q("here.stale.test")
        check(r.rcode == NOERROR and r.ede_codes() == [EDE_STALE], f"here.stale.test past its TTL, authority "
              f"stopped, window 1d: expected stale: {r.summary()}")
        obj = ctl("config", "set", "serve-stale-window", "0")
        check(parse_duration(obj.get("value")) == 0 and obj.get("cores") == WORKERS, f"config set: {obj}")
        r = q("here.stale.test", timeout=8)
        check(r.rcode == SERVFAIL and EDE_STALE not in r.ede_codes() and not r.answer,
              f"here.stale.test with serve-stale-window 0: expected SERVFAIL, no stale data: {r.summary()}")
    finally:
        upstream_back()
        ctl("config", "set", "serve-stale-window", "1d")
        ctl("config", "set", "serve-stale-client-timeout", "1.8s")


def unbound_pid():
    with open(os.path.join(RIG.lab["HF_LAB_DIR"], "world", "unbound", "proc.pid")) as f:
        pid = int(f.read().split()[0])
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        check(b"unbound" in f.read(), f"pid {pid} is not the lab's unbound")
    return pid


def case_flush_keeps_waiters():
    """A client parked on a question control is still resolving: a cache
    flush (--all, or of that name) does not answer it with a made-up
    "resolution timed out"; it gets the answer when the resolution ends.
    (The lab's Unbound is SIGSTOPped for 0.8 s, so the question stays in
    flight; the forwarder's retry after upstream-timeout 1 s gets the answer.)"""
    bad = []
    for flush in (["--all"], ["NAME"], ["wild.example.de", "--subtree"]):
        name = rnd("inflight") + ".wild.example.de"
        args = [name if a == "NAME" else a for a in flush]
        pid = unbound_pid()
        out = {}

        def client():
            try:
                out["r"], out["dt"] = RIG.client.query(name, T_A, ad=True, timeout=8.0)
            except Fail as e:
                out["err"] = str(e)
        os.kill(pid, signal.SIGSTOP)
        try:
            t = threading.Thread(target=client)
            t.start()
            time.sleep(0.3)  # parked on the pending entry, the upstream query unanswered
            obj = ctl("cache", "flush", *args)
            time.sleep(0.5)
        finally:
            os.kill(pid, signal.SIGCONT)
        t.join(10)
        check("r" in out, f"cache flush {' '.join(args)} while {name} was being resolved: the client got no "
              f"answer: {out.get('err')}")
        r = out["r"]
        if not (r.rcode == NOERROR and r.values(T_A) == [WILD_A]):
            bad.append(f"cache flush {' '.join(args)} (removed {obj.get('removed')}) while {name} was being "
                       f"resolved: the parked client got {r.summary()} after {out['dt']:.2f} s")
        still_serving(f"after cache flush {' '.join(args)}")
    check(not bad, "; ".join(bad) + " (expected the answer once the resolution ended, about 1 s later)")


def case_socket_permissions():
    st = os.stat(RIG.sock)
    check(stat.S_ISSOCK(st.st_mode), f"{RIG.sock} is not a socket")
    check(stat.S_IMODE(st.st_mode) == 0o600, f"{RIG.sock}: mode {stat.S_IMODE(st.st_mode):o}, expected 600")
    check(st.st_uid == 0, f"{RIG.sock}: owner uid {st.st_uid}")
    # nobody can reach the path (the dir is 0755): only the socket's mode keeps it out
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "test", "-S",
                        RIG.sock], timeout=10)
    check(r.returncode == 0, "nobody cannot even see the socket path (test precondition)")
    r = ctl_raw("status", user=NOBODY)
    msg = one_line_error(r, 3, "holdfastctl status as nobody")
    check("denied" in msg.lower() or "permission" in msg.lower(), f"as nobody: {msg!r} (expected the "
          "kernel's permission denied)")
    r = ctl_raw("nta", "add", "alg8.de", user=NOBODY)
    one_line_error(r, 3, "holdfastctl nta add as nobody")
    check("alg8.de." not in nta_list(), "nobody's nta add took effect")
    code = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1])\nexcept "
            "PermissionError:\n sys.exit(13)\nsys.exit(0)\n")
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", sys.executable,
                        "-c", code, RIG.sock], timeout=10)
    check(r.returncode == 13, f"a raw connect as nobody: exit {r.returncode}, expected EACCES")
    still_serving("after nobody's attempts")


def raw_reply(data, **kw):
    out, closed = raw_request(RIG.sock, data, **kw)
    return out.decode("utf-8", "replace"), closed


def case_raw_protocol():
    out, closed = raw_reply(b"HF1 json status\n")
    first, _, rest = out.partition("\n")
    check(first == "OK", f"HF1 json status: first line {first!r}")
    try:
        obj = json.loads(rest)
    except ValueError as e:
        raise Fail(f"HF1 json status: not JSON after OK ({e}): {rest[:300]!r}")
    check(obj.get("ok") is True and obj.get("workers") == WORKERS, f"HF1 json status: {obj}")
    check(closed, "the server did not close the connection after its reply")
    out, _ = raw_reply(b"HF1 text status\n")
    check(out.startswith("OK\n") and len(out) > 10 and "{" not in out.splitlines()[1][:1],
          f"HF1 text status: {out[:200]!r}")
    out, _ = raw_reply(b"HF1 json cache\tlookup\twww.alg13.de\tA\n")
    first, _, rest = out.partition("\n")
    check(first == "OK" and json.loads(rest).get("name") == "www.alg13.de.", f"HF1 json cache lookup: {out[:300]!r}")
    for what, data in [
        ("unknown command", b"HF1 json frobnicate\n"),
        ("unknown format", b"HF1 yaml status\n"),
        ("no HF1", b"status\n"),
        ("HTTP", b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"),
        ("binary", bytes(range(256)) + b"\n"),
        ("control character", b"HF1 json status\x07\n"),
        ("NUL", b"HF1 json st\x00atus\n"),
        ("oversized request line", b"HF1 json status\t" + b"a" * 5000 + b"\n"),
        ("oversized, no newline", b"x" * 8192),
        ("oversized HF1, no newline", b"HF1 json nta\tadd\tde\t--reason\t" + b"r" * 6000),
    ]:
        out, closed = raw_reply(data, timeout=8.0)
        check(out.startswith("ERR"), f"raw request ({what}): reply {out[:120]!r}, expected \"ERR ...\"")
        check(len(out.splitlines()[0]) > 4, f"raw request ({what}): ERR without a message: {out[:120]!r}")
        check(closed, f"raw request ({what}): the connection was not closed after ERR")
        check(RIG.running(), f"holdfast exited after a raw request ({what})")
    check(not nta_list(), f"garbage requests left NTAs: {nta_list()}")
    # connect and hang up at once, and half-close without a newline
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(RIG.sock)
    s.close()
    out, closed = raw_reply(b"HF1 json status", shut=True)
    check(closed and (out == "" or out.startswith(("ERR", "OK"))), f"half-closed request: {out[:120]!r}")
    still_serving("after garbage on the control socket")


def case_raw_stalled_connection():
    """A client that sends half a request and waits: DNS misses (control)
    and other holdfastctl commands are served meanwhile; the server closes
    the stalled connection after its 5 s timeout."""
    stalled = []
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(RIG.sock)
        s.sendall(b"HF1 json sta")
        stalled.append(s)
    try:
        t0 = time.monotonic()
        for i in range(3):
            name = rnd(f"stall{i}") + ".wild.example.de"
            # a control plane that waited on a stalled connection would take its 5 s timeout
            r, dt = RIG.client.query(name, T_A, ad=True, timeout=4.5)
            check(r.rcode == NOERROR and dt < 4.0, f"a miss while control connections stall: {dt:.2f} s, "
                  f"{r.summary()}")
        r = ctl_raw("status", timeout=10)
        check(r.rc == 0 and r.elapsed < 2.0, f"holdfastctl status while 3 connections stall: {r.elapsed:.2f} s "
              f"(the control plane waited on them?): {r.show()}")
        # the server gives up on the stalled ones after 5 s
        stalled[0].settimeout(8.0)
        try:
            data = stalled[0].recv(4096)
        except socket.timeout:
            raise Fail(f"a stalled connection still open {time.monotonic() - t0:.1f} s later (5 s timeout)")
        except ConnectionResetError:
            data = b""
        took = time.monotonic() - t0
        check(4.0 <= took <= 8.0, f"stalled connection closed after {took:.1f} s, expected about 5 s")
        check(data == b"" or data.startswith(b"ERR"), f"stalled connection got {data[:100]!r}")
    finally:
        for s in stalled:
            s.close()
    # many clients at once (within the 16 connections holdfast serves at once)
    results = []

    def one():
        results.append(ctl_raw("stats"))
    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    bad = [r.show() for r in results if r.rc != 0 or not r.obj or r.obj.get("ok") is not True]
    check(len(results) == 12 and not bad, f"12 holdfastctl stats at once: {len(results)} done, failures: {bad[:2]}")
    # every connection slot held by a stalled client: the next one is told
    # so at once (ERR busy), DNS goes on, and the slots come back
    stalled = []
    try:
        for _ in range(16):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(RIG.sock)
            s.sendall(b"HF1 json sta")
            stalled.append(s)
        time.sleep(0.2)
        # the server says busy and hangs up, maybe before holdfastctl has
        # written its request: it must still print what the server said
        t_busy = time.monotonic()
        for i in range(10):
            r = ctl_raw("status", timeout=10)
            check(r.rc == 1 and r.err == "holdfastctl: busy: too many management connections\n" and r.out == "",
                  f"holdfastctl status #{i + 1} while 16 connections stall: {r.show()}")
            check(r.elapsed < 2.0, f"holdfastctl status while 16 connections stall took {r.elapsed:.1f} s")
        check(time.monotonic() - t_busy < 4.0, "the busy checks outlasted the stalled connections' 5 s")
        r2, _ = RIG.client.query(rnd("busy") + ".wild.example.de", T_A, ad=True, timeout=3.0)
        check(r2.rcode == NOERROR, f"a miss while every control connection stalls: {r2.summary()}")
    finally:
        for s in stalled:
            s.close()
    check(wait_for(lambda: ctl_raw("status").rc == 0, 8.0, 0.3) is not None,
          "holdfastctl status still failing 8 s after the stalled connections were closed")
    still_serving("after stalled control connections")


def case_nta_limit():
    """One limit for every NTA in force (config file, state file, holdfastctl):
    64. The 65th add is refused with one line; renewing one at the limit works."""
    nta_clear()
    names = [f"n{i:02d}.limit.example" for i in range(64)]
    try:
        for n in names:
            ctl("nta", "add", n, "--lifetime", "10m")
        check(len(nta_list()) == 64, f"nta list after 64 adds: {len(nta_list())} NTAs")
        r = ctl_raw("nta", "add", "one-too-many.example")
        check(r.rc == 1 and r.err == "holdfastctl: too many NTAs: at most 64 in force at once\n",
              f"the 65th nta add: {r.show()}")
        check(r.obj == {"ok": False, "error": "too many NTAs: at most 64 in force at once"}, f"--json: {r.out!r}")
        check(len(nta_list()) == 64 and "one-too-many.example." not in nta_list(), "the 65th NTA is listed")
        o = ctl("nta", "add", names[0], "--lifetime", "20m")  # renewing is not adding
        check(o.get("lifetime") == 1200, f"renewing an NTA at the limit: {o}")
        ctl("nta", "remove", names[1])
        ctl("nta", "add", "one-too-many.example")
        check(len(nta_list()) == 64, f"nta list after remove + add at the limit: {len(nta_list())}")
    finally:
        nta_clear()


def case_concurrent_commands():
    """20 holdfastctl nta add at once, then 20 nta remove at once, under a
    DNS query stream; and clients that hang up while their change is being
    applied on the cores: every change lands once, holdfast keeps serving."""
    nta_clear()
    names = [f"z{i:02d}.example.de" for i in range(12)]  # at most 16 connections at once
    stop = threading.Event()
    answered = []
    odd = []
    t_start = time.monotonic()
    events = []

    def dns_stream():
        while not stop.is_set():
            try:
                r = q("www.alg13.de", ad=True, timeout=4.0)
                answered.append(r.rcode == NOERROR and r.ad)
                if not answered[-1]:
                    odd.append(f"{time.monotonic() - t_start:.2f}s: {r.summary()}")
            except Fail as e:
                answered.append(False)
                odd.append(f"{time.monotonic() - t_start:.2f}s: {e}")

    def run_all(argvs):
        out = [None] * len(argvs)

        def one(i):
            out[i] = ctl_raw(*argvs[i])
        ts = [threading.Thread(target=one, args=(i,)) for i in range(len(argvs))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        return out
    bg = threading.Thread(target=dns_stream)
    bg.start()
    try:
        res = run_all([["nta", "add", n, "--lifetime", "10m"] for n in names])
        bad = [r.show() for r in res if r is None or r.rc != 0 or not r.obj or r.obj.get("cores") != WORKERS]
        check(not bad, f"{len(names)} nta add at once: {len(bad)} failed: {bad[:2]}")
        check(set(nta_list()) == {n + "." for n in names}, f"nta list after {len(names)} adds: {sorted(nta_list())}")
        events.append(f"{time.monotonic() - t_start:.2f}s: {len(names)} removes")
        res = run_all([["nta", "remove", n] for n in names])
        bad = [r.show() for r in res if r is None or r.rc != 0]
        check(not bad, f"{len(names)} nta remove at once: {len(bad)} failed: {bad[:2]}")
        check(not nta_list(), f"nta list after {len(names)} removes: {sorted(nta_list())}")
        # hang up right after sending a change: it is applied (or not) but nothing breaks
        events.append(f"{time.monotonic() - t_start:.2f}s: hang-ups")
        for req in (b"HF1 json nta\tadd\thangup.example.de\t--lifetime\t1m\n", b"HF1 json cache\tflush\t--all\n",
                    b"HF1 json config\tset\tserve-stale-ttl\t30\n", b"HF1 json cache\tflush\texample.de\t--subtree\n",
                    b"HF1 json nta\tremove\thangup.example.de\n", b"HF1 json stats\t--per-core\n"):
            for _ in range(5):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(RIG.sock)
                    s.sendall(req)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # "ERR busy": at most 16 connections at once, and the hung-up ones may still count
                finally:
                    s.close()
        time.sleep(0.5)
        check(RIG.running(), "holdfast exited after clients hung up mid-command")
        lst = nta_list()
        check(set(lst) <= {"hangup.example.de."}, f"nta list after the hang-ups: {sorted(lst)}")
        nta_clear()
    finally:
        stop.set()
        bg.join(10)
    check(len(answered) > 10 and all(answered), f"DNS during the concurrent commands: {answered.count(False)} of "
          f"{len(answered)} queries for www.alg13.de not answered secure: {odd[:3]}; commands: {events}")
    still_serving("after concurrent commands")


# ================================================================ cases: restart instances

STATE = {}


def case_nta_persist_restart():
    nta_clear()
    t0 = time.time()
    ctl("nta", "add", "example.de", "--lifetime", "5m", "--reason", "persist me")
    ctl("nta", "add", "alg13.de", "--lifetime", "1h", "--recheck", "10m")
    ctl("nta", "add", "alg15.de", "--lifetime", "3s")
    before = nta_list()
    check(set(before) == {"example.de.", "alg13.de.", "alg15.de."}, f"nta list: {sorted(before)}")
    check(os.path.getsize(RIG.state_file) > 0, f"{RIG.state_file} empty after nta add")
    leftovers = [f for f in os.listdir(os.path.dirname(RIG.state_file))
                 if f.startswith(os.path.basename(RIG.state_file)) and f != os.path.basename(RIG.state_file)]
    check(not leftovers, f"temporary files left beside the state file: {leftovers}")
    RIG.stop()
    time.sleep(3.5)  # alg15.de's 3 s run out while holdfast is down
    RIG.restart()
    t_a = time.time()
    after = nta_list()
    t_b = time.time()
    check(set(after) == {"example.de.", "alg13.de."}, f"nta list after a restart: {sorted(after)} (expected "
          "example.de. and alg13.de. restored, alg15.de. expired while down)")
    for name in ("example.de.", "alg13.de."):
        a, b = after[name], before[name]
        check(a.get("source") == "state", f"{name} after restart: source {a.get('source')!r}, expected state")
        check(a.get("expires") == b.get("expires"), f"{name}: expires {b.get('expires')} before, "
              f"{a.get('expires')} after the restart (remaining lifetime not kept)")
        check(abs(a.get("added", 0) - b.get("added", 0)) <= 1, f"{name}: added {b.get('added')} -> {a.get('added')}")
        check(a.get("reason") == b.get("reason"), f"{name}: reason {b.get('reason')!r} -> {a.get('reason')!r}")
        rem = a.get("remaining", -1)
        # holdfast says expires - its now in whole seconds, read between t_a and t_b
        check(b["expires"] - int(t_b) <= rem <= b["expires"] - int(t_a),
              f"{name}: remaining {rem}, expires {b['expires']}, listed at {t_a:.2f} .. {t_b:.2f}")
    check(after["example.de."].get("reason") == "persist me", f"reason {after['example.de.']}")
    check(after["alg13.de."].get("recheck") == 600, f"recheck after restart: {after['alg13.de.']}")
    check(t0 + 295 <= after["example.de."]["expires"] <= t0 + 302, f"expires {after['example.de.']}")
    for r in spread("www.example.de", n=16, ad=True):
        expect_ad(r, False, "www.example.de after a restart with its NTA restored")
    expect_ad(q("www.alg8.de", ad=True), True, "www.alg8.de (no NTA)")
    # removal persists too
    ctl("nta", "remove", "alg13.de")
    RIG.restart()
    check(set(nta_list()) == {"example.de."}, f"after nta remove and a restart: {sorted(nta_list())}")


def case_nta_persist_crash():
    """Written when it changes, not at exit: a SIGKILLed holdfast restores it."""
    ctl("nta", "add", "alg8.de", "--lifetime", "10m", "--reason", "before the crash")
    RIG.kill()
    RIG.restart()
    lst = nta_list()
    check("alg8.de." in lst and lst["alg8.de."].get("reason") == "before the crash",
          f"after SIGKILL and a restart: {lst}")
    check("example.de." in lst, f"after SIGKILL and a restart: {sorted(lst)}")
    for r in spread("www.alg8.de", n=8, ad=True):
        expect_ad(r, False, "www.alg8.de with its NTA restored after a crash")


def case_nta_state_corrupt():
    RIG.stop()
    garbage = b"this is not an NTA state file\n\x00\xff\xfe {{{ de. 99999999999999999999\n"
    with open(RIG.state_file, "wb") as f:
        f.write(garbage)
    corrupt = RIG.state_file + ".corrupt"
    if os.path.exists(corrupt):
        os.unlink(corrupt)
    RIG.restart()  # must start
    check(os.path.exists(corrupt), f"{corrupt} does not exist: the corrupt state file was not set aside")
    with open(corrupt, "rb") as f:
        check(f.read() == garbage, f"{corrupt} does not hold the corrupt file's bytes")
    log = RIG.log_text()
    check(re.search(re.escape(RIG.state_file) + r".*corrupt|corrupt.*" + re.escape(RIG.state_file), log),
          f"holdfast's log does not report the corrupt state file {RIG.state_file}: "
          f"{[ln for ln in log.splitlines() if 'nta' in ln.lower()][:5]}")
    check(not nta_list(), f"NTAs from a corrupt state file: {nta_list()}")
    expect_ad(q("www.example.de", ad=True), True, "www.example.de (no NTA after the corrupt state)")
    # a fresh state file works again
    ctl("nta", "add", "example.de", "--lifetime", "5m", "--reason", "after corruption")
    RIG.restart()
    lst = nta_list()
    check(lst.get("example.de.", {}).get("source") == "state", f"after a new add and a restart: {lst}")
    nta_clear()


def mount(*args):
    r = subprocess.run(["mount", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=20)
    check(r.returncode == 0, f"mount {' '.join(args)}: {r.stderr.strip()}")


def persist_status(failed, error):
    st = ctl("status")
    check(st.get("nta_state_persist_failed") is failed and st.get("nta_state_error") == error,
          f"status: nta_state_persist_failed {st.get('nta_state_persist_failed')!r}, nta_state_error "
          f"{st.get('nta_state_error')!r}; expected {failed!r}, {error!r}")
    g = prom().get("holdfast_nta_state_persist_failed")
    check(g == [("", 1 if failed else 0)], f"holdfast_nta_state_persist_failed: {g}, expected {int(failed)}")


def state_names(path):
    with open(path) as f:
        lines = f.read().splitlines()
    check(lines and lines[0] == "holdfast-nta 1", f"{path}: {lines[:2]}")
    return sorted(ln.split("\t")[0] for ln in lines[1:])


def case_nta_persist_failure():
    """nta-state-file on a file system of its own (a tmpfs this case mounts):
    read-only, then full. A change that cannot be written stays applied on
    every core, but holdfastctl exits 1 naming the file and the errno text,
    and status and the Prometheus gauge say so until a write succeeds."""
    d = os.path.join(RIG.lab["HF_LAB_DIR"], "ro-state")
    path = os.path.join(d, "nta.state")
    os.makedirs(d, exist_ok=True)
    knobs = dict(RIG.knobs)
    mount("-t", "tmpfs", "-o", "size=64k,mode=0755", "hf-ro-state", d)
    try:
        RIG.start(**dict(knobs, **{"nta-state-file": path}))
        nta_clear()
        ctl("nta", "add", "example.de", "--lifetime", "10m")
        persist_status(False, "")
        mount("-o", "remount,ro", d)
        erofs = f"cannot write {path}: Read-only file system"
        r = ctl_raw("nta", "add", "alg8.de", "--lifetime", "10m")
        msg = f"NTA applied on every core but NOT persisted: {erofs}"
        check(r.rc == 1 and r.err == f"holdfastctl: {msg}\n", f"nta add on a read-only file system: {r.show()}")
        check(r.obj == {"ok": False, "error": msg}, f"--json: {r.out!r}")
        check(set(nta_list()) == {"example.de.", "alg8.de."}, f"nta list: {sorted(nta_list())}")
        for x in spread("www.alg8.de", n=8, ad=True):
            expect_ad(x, False, "www.alg8.de under its NTA that could not be written")
        persist_status(True, erofs)
        r = ctl_raw("nta", "remove", "example.de")
        check(r.rc == 1 and r.err == f"holdfastctl: {msg}\n", f"nta remove on a read-only file system: {r.show()}")
        check(set(nta_list()) == {"alg8.de."}, f"nta list after the remove: {sorted(nta_list())}")
        check(state_names(path) == ["example.de."], f"{path} changed on a read-only file system")
        # writable again, but full
        mount("-o", "remount,rw", d)
        fd = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            check(e.errno == errno.ENOSPC, f"filling {d}: {e}")
        finally:
            os.close(fd)
        r = ctl_raw("nta", "add", "alg13.de", "--lifetime", "10m")
        enospc = f"cannot write {path}: No space left on device"
        check(r.rc == 1 and r.err == f"holdfastctl: NTA applied on every core but NOT persisted: {enospc}\n",
              f"nta add on a full file system: {r.show()}")
        persist_status(True, enospc)
        check(state_names(path) == ["example.de."], f"{path} changed on a full file system")
        leftovers = sorted(f for f in os.listdir(d) if f not in ("nta.state", "filler"))
        check(not leftovers, f"left in {d} after failed writes: {leftovers}")
        # room again: the next change writes the whole list and clears the flag
        os.unlink(os.path.join(d, "filler"))
        ctl("nta", "add", "alg15.de", "--lifetime", "10m")
        persist_status(False, "")
        check(state_names(path) == ["alg13.de.", "alg15.de.", "alg8.de."], f"{path} after a write succeeded")
        check("written again" in RIG.log_text(), "no log line that the state file was written again")
        nta_clear()
    finally:
        RIG.stop()
        subprocess.run(["umount", "-l", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
        RIG.knobs = knobs


def case_unsafe_dirs():
    """A state or textfile directory others could plant names in stops start-up with one line."""
    base = os.path.join(RIG.lab["HF_LAB_DIR"], "unsafe")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o777)
    owned = os.path.join(RIG.lab["HF_LAB_DIR"], "owned")
    os.makedirs(owned, exist_ok=True)
    os.chmod(owned, 0o755)
    os.chown(owned, pwd.getpwnam("nobody").pw_uid, -1)
    cases = [({"nta-state-file": os.path.join(base, "nta.state")},
              f"holdfast: nta-state-file: directory {base} is writable by group or others without the sticky "
              "bit (mode 0777)"),
             ({"stats-textfile": os.path.join(owned, "holdfast.prom")},
              f"holdfast: stats-textfile: directory {owned} is owned by uid {pwd.getpwnam('nobody').pw_uid}, "
              "not root or holdfast's uid 0")]
    knobs = dict(RIG.knobs)
    try:
        for extra_knobs, want in cases:
            rc, lines = RIG.failed_start(RIG.start, **dict(knobs, **extra_knobs))
            check(rc == 1 and lines and lines[-1] == want, f"{extra_knobs}: exit {rc}, last lines {lines[-2:]}")
        os.chmod(base, 0o1777)  # sticky, as /tmp: fine
        RIG.start(**dict(knobs, **{"nta-state-file": os.path.join(base, "nta.state")}))
        ctl("nta", "add", "alg8.de", "--lifetime", "1m")
        check(state_names(os.path.join(base, "nta.state")) == ["alg8.de."], "state file in a sticky directory")
        nta_clear()
    finally:
        RIG.stop()
        RIG.knobs = knobs


def case_nta_from_config():
    lst = nta_list()
    now_ = time.time()
    e = lst.get("example.de.")
    check(e, f"nta list: no example.de. from the config file: {lst}")
    check(e.get("source") == "config", f"config NTA: source {e.get('source')!r}")
    check(e.get("reason") == "config says so", f"config NTA: reason {e.get('reason')!r}")
    up = now_ - RIG.started_at  # the lifetime started while holdfast started, before the list
    check(600 - up - 2 <= e.get("remaining", 0) <= 600
          and int(RIG.started_at) + 600 <= e.get("expires", 0) <= now_ + 600,
          f"config NTA with lifetime 10m: {e}, started {now_ - RIG.started_at:.0f} s ago")
    e = lst.get("alg15.de.")
    check(e and e.get("source") == "config" and 3600 - up - 2 <= e.get("remaining", 0) <= 3600,
          f"config NTA without a lifetime (1h): {e}")
    check(set(lst) == {"example.de.", "alg15.de."}, f"nta list: {sorted(lst)}")
    for r in spread("www.example.de", n=8, ad=True):
        expect_ad(r, False, "www.example.de under its config NTA")
    for r in spread("www.alg15.de", n=8, ad=True):
        expect_ad(r, False, "www.alg15.de under its config NTA")
    expect_ad(q("www.alg13.de", ad=True), True, "www.alg13.de (no NTA)")
    check(counter(ctl("stats"), "control.nta_count") == 2, "stats: control.nta_count")


def case_nta_config_limits():
    """A config NTA above the 1w maximum (or with a bad name) stops start-up with one line."""
    for value in ("example.de 8d", "bad..name.de", "example.de soon"):
        try:
            RIG.start(extra=[("nta", value)], wait=False, **RIG.knobs)
            try:
                rc = RIG.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise Fail(f"holdfast started with `nta: {value}` in its config")
            check(rc != 0, f"holdfast exited 0 with `nta: {value}`")
            lines = [ln for ln in RIG.log_text().splitlines() if ln.startswith("holdfast:")]
            check(lines and "nta" in lines[-1], f"`nta: {value}`: no error line naming nta: {lines[-3:]}")
        finally:
            RIG.proc = None


def case_socket_group():
    st = os.stat(RIG.sock)
    gid = grp.getgrnam("nogroup").gr_gid
    check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid,
          f"control-socket-group nogroup: mode {stat.S_IMODE(st.st_mode):o} gid {st.st_gid}, expected 660 {gid}")
    r = ctl_raw("status", user=("nobody", "nogroup", "nogroup"))
    check(r.rc == 0 and r.obj and r.obj.get("ok") is True, f"nobody in group nogroup: {r.show()}")
    uid = pwd.getpwnam("nobody").pw_uid
    r = ctl_raw("status", user=(str(uid), "daemon"))
    one_line_error(r, 3, "a process in neither the owner nor the group")


# ================================================================ runner


# (instance, knobs, extra config lines, cases)
# (instance, {config key: value, "extra": [(key, value) lines]}, [cases]); the
# nta-state-file is named here and made a path in the lab dir by start().
PLAN = [
    ("main", {"failure-ttl": 30, "nta-state-file": "main"},
     [case_status, case_help, case_usage_errors, case_connect_errors, case_stats_shape, case_stats_counters,
      case_stats_reset, case_stats_prometheus, case_cache_lookup, case_cache_flush_name, case_cache_flush_subtree,
      case_cache_flush_bogus, case_cache_flush_all, case_nta_add_list_remove, case_nta_lifetimes,
      case_nta_expiry, case_nta_recheck_healthy, case_config_get, case_config_set_errors, case_cache_save_unset,
      case_config_set_stale_ttl, case_config_set_window, case_flush_keeps_waiters, case_socket_permissions, case_raw_protocol, case_raw_stalled_connection,
      case_nta_limit, case_concurrent_commands]),
    ("persist", {"nta-state-file": "persist"},
     [case_nta_persist_restart, case_nta_persist_crash, case_nta_state_corrupt, case_nta_persist_failure,
      case_unsafe_dirs]),
    ("config", {"nta-state-file": "config", "extra": [("nta", "example.de 10m config says so"), ("nta", "alg15.de")]},
     [case_nta_from_config, case_nta_config_limits]),
    ("group", {"nta-state-file": "group", "control-socket-group": "nogroup", "stats-textfile": "textfile",
               "stats-textfile-interval": "1s"}, [case_socket_group, case_stats_textfile]),
]


def make_rig(holdfast, srcdir):
    global RIG
    RIG = Rig(holdfast, srcdir, "e2ec", lab_tag("c"), signed=True, workers=WORKERS)
    return RIG


def start(rig, label, knobs):
    k = dict(knobs)
    k["nta-state-file"] = os.path.join(rig.lab["HF_LAB_DIR"], f"nta-{knobs['nta-state-file']}.state")
    rig.state_file = k["nta-state-file"]
    if "stats-textfile" in k:
        k["stats-textfile"] = STATE["textfile"] = os.path.join(rig.lab["HF_LAB_DIR"], "tf", "holdfast.prom")
        os.makedirs(os.path.dirname(k["stats-textfile"]), exist_ok=True)
        os.chmod(os.path.dirname(k["stats-textfile"]), 0o755)  # holdfast refuses 0777
    rig.start(**k)


if __name__ == "__main__":
    sys.exit(runner.main(__doc__, "e2e_ctl", PLAN, make_rig, start))
