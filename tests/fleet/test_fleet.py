"""The fleet (issue 16): three holdfast sites, each with its holdfast-fleet
agent, a 3-member etcd cluster, BIRD on a router and on each site, and a
client behind the router, on this one machine.

    tests/fleet/test_fleet.py HOLDFAST SOURCE_ROOT [CASE ...]     (as root)

Site a runs on a lab with the signed world (tests/lab/lab.sh); sites b and
c on labs of their own without one, forwarding to site a's lab resolver
with the same trust anchor, so one `lab.sh fault-expired de` breaks de.
for all three. Sites a and c's agents talk to the etcd members directly,
site b's through TCP proxies the cases can cut (fleetlab.Proxy). Each
site's BIRD runs in its lab's namespace and peers over BGP with a router
BIRD in a namespace of its own; the agents enable and disable the static
protocols holding the service routes (198.18.53.1/32, fd53::1/128). The
router puts its best route into its kernel: a client namespace behind it
reaches one site's holdfast (site a while it announces), through the
site's namespace, which forwards. Every site runs with max-ttl 4 s,
failure-ttl 1 s and serve-stale-failure-recheck 2 s (the drill's cached
names pass their TTL quickly, and validate again soon after the repair).

Cases:
  sites_current      every agent reports the fleet's revision (fleet status)
  nta_reaches_sites  de. broken (EDE 7 on every site); one fleet NTA; all
                     sites' `nta list` have it (reason "fleet: ..."), the
                     same expiry, and answer NOERROR without AD or EDE; the
                     time to apply it on all is printed; a local NTA on
                     site a stays local (not in the fleet list, not on b or c,
                     untouched by fleet edits)
  nta_removed        fleet remove: gone on every site, EDE 7 again
  expiry_same_time   a 3 s fleet NTA leaves every site within 1 s of each
                     other and of its expiry
  partition          site b cut off from etcd keeps its NTAs and expires
                     them; edits made meanwhile reach it within 1 s of
                     reconnecting; with the revision compacted meanwhile it
                     catches up through a full read
  leader_killed      the etcd leader SIGKILLed: an edit still reaches every
                     site (p99 kept under 1 s), the member rejoins
  holdfast_restart   site b's holdfast restarted without a state file: its
                     agent applies the fleet NTAs again
  latency            50 fleet NTA adds and 50 removes with --wait: p50/p99
                     of the time from the etcd commit to every site applied
  drain              `holdfastctl drain` on site a: the router's route via
                     site a is withdrawn (birdc show route), b and c stay;
                     `undrain`: back after the hold-down
  withdraw_on_kill   site a's holdfast SIGKILLed: the router loses the route
                     via a (time printed, must be < 3 s); holdfast back: the
                     route returns after the hold-down
  bird_restart       site a's BIRD restarted (announcing nothing at start): the
                     agent's periodic restatement brings the route back
  canary_fails       lab a's resolver stopped: site a's agent, probing a fresh
                     name under probe.test. through its packet path, gets no
                     answer and withdraws after --probe-fail; resolver back:
                     announced again after the hold-down
  core_stalled       site c (two worker cores) under load from its lab's
                     namespace, one worker thread stopped (ptrace): its
                     rx_packets stand still while the other's rise, c's
                     agent withdraws within 3 s (--stall-after 1500ms,
                     --stall-load 50); running again: back after the
                     hold-down
  etcd_auth          etcd's auth with roles on a 1-member cluster of its own:
                     site a's agent as user site-a (read PREFIX state/,
                     write PREFIX sites/a) applies the operator's NTA and
                     reports; site-a cannot add an NTA (permission
                     denied, exit 1); no user or a wrong password: refused
  drill              issue 16's fleet drill: de. broken, every site serves
                     cached names stale (EDE 3) and uncached ones SERVFAIL
                     EDE 7; one fleet NTA, every site insecure within 1 s;
                     site a's holdfast killed under the client's load (100
                     queries/s through the router): its route withdrawn
                     within 3 s, the client's queries answered by site b,
                     the lost ones counted; site b cut off from etcd and the
                     NTA removed: b keeps it until it rejoins, then drops it
                     within 1 s; de. repaired, every site secure again
  agent_idle         each agent's CPU share and resident memory over 10 s idle,
                     printed; it fails on a spinning agent (half a core) or a
                     memory bound, not on a speed

Output as the e2e suites: "ok CASE" / "FAIL CASE: reason", "N passed, N
failed". Logs (holdfast, agents, etcd, BIRD) in meson-logs/ or
$HF_E2E_LOGDIR.
"""

import json
import os
import random
import selectors
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))  # lib
sys.path.insert(0, HERE)
from lib import runner  # noqa: E402
from lib import client as clientmod  # noqa: E402
from lib import lab as labmod  # noqa: E402
from lib.checks import check, rnd  # noqa: E402
from lib.dnsmsg import T_A, NOERROR, SERVFAIL, Response, build_query  # noqa: E402
from lib.rig import Rig  # noqa: E402
from lib.threads import Stopped, thread_of  # noqa: E402
import fleetlab  # noqa: E402

EDE_EXPIRED = 7
PREFIX = "/holdfast-test/"
HOLD_DOWN = "2s"
PROBE_FAIL = "2s"
REASON = "registry signatures broken"
SITES = "abc"
STALL_AFTER, STALL_LOAD = "1500ms", 50  # site c's counter rule
MAX_TTL = 4  # holdfast max-ttl on every site: cached names pass their TTL quickly (the drill)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))]


class Fleet:
    """The whole lab, shaped as the rig runner.main drives."""

    what = "holdfast"

    def __init__(self, holdfast, srcdir, name="fleet"):
        self.holdfast = os.path.abspath(holdfast)
        self.srcdir = os.path.abspath(srcdir)
        bindir = os.path.dirname(self.holdfast)
        self.ctl_bin = os.environ.get("HF_HOLDFASTCTL") or os.path.join(bindir, "holdfastctl")
        self.agent_bin = os.path.join(bindir, "holdfast-fleet")
        self.name = name
        pid = os.getpid()
        script = os.path.basename(sys.argv[0])  # test_fleet.py, or fleetlab.py (up)
        self.a = Rig(holdfast, srcdir, name + "a", labmod.lab_tag("a"), signed=True, script=script)
        self.b = Rig(holdfast, srcdir, name + "b", labmod.lab_tag("b"), script=script,
                     upstream=f"127.53.255.{1 + pid % 254}")
        # site c on two worker cores: the counter rule (case core_stalled)
        self.c = Rig(holdfast, srcdir, name + "c", labmod.lab_tag("c"), script=script, workers=2,
                     upstream=f"127.53.254.{1 + pid % 254}")
        for r in (self.b, self.c):
            r.lab_env["HF_LAB_WORLD"] = "0"
        self.rigs = [self.a, self.b, self.c]
        x = fleetlab.octet()
        proxies = [f"127.61.{x}.{21 + i}" for i in range(3)]
        self.etcd = fleetlab.Etcd(name, extra_ips=proxies)
        self.proxy = fleetlab.Proxy(proxies, self.etcd.addrs)
        self.bgp = None  # on the labs' namespaces, once they are up
        self.agents = []
        self.faulted = False
        self.torn_down = False
        self.log_path = None

    @staticmethod
    def state_file(rig):
        return os.path.join(rig.lab["HF_LAB_DIR"], "nta.state")

    # the runner's interface
    def lab_up(self):
        for r in self.rigs:
            r.lab_up()
        for r in (self.b, self.c):
            r.config = {"forwarder": self.a.lab["HF_LAB_RESOLVER"], "dnssec": "yes",
                        "trust-anchor": self.a.lab["HF_LAB_TRUST_ANCHOR"]}
        for r in self.rigs:
            r.config["nta-state-file"] = self.state_file(r)
            # cached names (and keys) pass their TTL quickly: the drill's stale answers
            r.config["max-ttl"] = str(MAX_TTL)
            r.config["failure-ttl"] = "1"
            # a failed refresh is asked again after 2 s, not 30: secure soon after the repair
            r.config["serve-stale-failure-recheck"] = "2s"
        self.etcd.up()
        self.proxy.join()
        self.bgp = fleetlab.Bgp(self.name, [r.lab["HF_LAB_NETNS"] for r in self.rigs], ("198.18.53.1", "fd53::1"))
        self.bgp.up()
        urls = [self.etcd.endpoints(), self.proxy.urls(), self.etcd.endpoints()]
        # site a also probes through its packet path, a fresh name under
        # probe.test. each time: the control plane must resolve it
        probe = [["--probe-netns", self.a.lab["HF_LAB_NETNS"], "--probe", self.a.lab["HF_LAB_SERVICE4"],
                  "--probe-name", "*.probe.test", "--probe-fail", PROBE_FAIL], [],
                 ["--stall-after", STALL_AFTER, "--stall-load", str(STALL_LOAD)]]
        for i, r in enumerate(self.rigs):
            self.agents.append(fleetlab.Agent(
                self.agent_bin, SITES[i], r.sock, urls[i], PREFIX,
                ["--bird-socket", self.bgp.ctl(i), "--bird-protocol", "svc4", "--bird-protocol", "svc6",
                 "--hold-down", HOLD_DOWN, *probe[i]], tls_args=self.etcd.agent_args()))

    def start(self, **_knobs):
        for r in self.rigs:
            r.start()
        self.log_path = self.a.log_path
        for ag in self.agents:
            if not ag.alive():
                ag.start()
        wait_current()

    def restart(self):
        self.start()

    def running(self):
        return all(r.running() for r in self.rigs) and all(ag.alive() for ag in self.agents)

    def take_exits(self):
        out = []
        for r in self.rigs:
            out += r.take_exits()
        for ag in self.agents:
            if ag.proc is not None and ag.proc.poll() is not None:
                ag.exits.append(f"agent {ag.site} exited with {ag.proc.returncode} (log {ag.log})")
                ag.proc = None
            out += ag.exits
            ag.exits = []
        return out

    def stop(self):
        for ag in self.agents:
            ag.stop()
        for r in self.rigs:
            r.stop()

    def repair(self):
        self.a.repair()
        self.faulted = False

    def log_tail(self, n=40, path=None):
        return self.a.log_tail(n, path)

    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        for ag in self.agents:
            try:
                ag.stop()
            except Exception as e:
                print(f"# teardown: agent: {e}", file=sys.stderr)
        for f in (self.proxy.cut, self.bgp.down if self.bgp else None, self.etcd.down):
            if f is None:
                continue
            try:
                f()
            except Exception as e:
                print(f"# teardown: {e}", file=sys.stderr)
        for r in self.rigs:
            r.teardown()


F = None


def fleet_ctl(*args, check_rc=True, etcd=None):
    """holdfastctl --fleet --json ARGS; (exit status, object or None, elapsed s)."""
    cmd = [F.ctl_bin, "--fleet", "--etcd", etcd or F.etcd.endpoints(), "--prefix", PREFIX, "--json",
           *[str(a) for a in args]]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30,
                       env=F.etcd.client_env())
    dt = time.monotonic() - t0
    obj = None
    if r.stdout.strip():
        obj = json.loads(r.stdout)
    if check_rc:
        check(r.returncode == 0 and obj and obj.get("ok") is True,
              f"`holdfastctl --fleet {' '.join(map(str, args))}`: exit {r.returncode}, {r.stdout.strip()[:300]!r}, "
              f"{r.stderr.strip()[:300]!r}")
    return r.returncode, obj, dt, r.stderr


def wait_current(limit=15.0):
    t0 = time.monotonic()
    st = None
    while time.monotonic() - t0 < limit:
        _, st, _, _ = fleet_ctl("status", check_rc=False)
        sites = {s["site"]: s for s in (st or {}).get("sites", [])}
        if all(sites.get(s, {}).get("current") and sites[s].get("live") for s in SITES):
            return st
        time.sleep(0.1)
    raise RuntimeError(f"the sites did not report the fleet's revision within {limit:g} s: {st}; agent logs: "
                       + " | ".join(ag.log_tail(5) for ag in F.agents))


def ntas(rig):
    return {e["name"]: e for e in rig.ctl("nta", "list")["ntas"]}


def wait_for(cond, limit, what, step=0.01):
    t0 = time.monotonic()
    while True:
        v = cond()
        if v:
            return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            raise AssertionError(f"{what}: not within {limit:g} s")
        time.sleep(step)


def query(rig, name):
    r, _ = rig.client.query(name, T_A, do=True)
    return r


def expect_nta_answer(rig, name, site):
    r = query(rig, name)
    check(r.rcode == NOERROR and not r.ad and not r.ede,
          f"site {site}: {name}: expected NOERROR without AD or EDE (NTA): {r.summary()}")


def expect_servfail7(rig, name, site):
    r = query(rig, name)
    check(r.rcode == SERVFAIL and r.ede_codes() == [EDE_EXPIRED],
          f"site {site}: {name}: expected SERVFAIL with EDE 7: {r.summary()}")


# ------------------------------------------------------------------ cases

def case_sites_current():
    st = wait_current()
    for s in st["sites"]:
        check(s["healthy"] and s["announced"] and s["holdfast_up"] and not s["drained"],
              f"site {s['site']}: {s}")
    print(f"#   fleet revision {st['fleet_revision']}, sites: "
          + ", ".join(f"{s['site']}@{s['revision']}" for s in st["sites"]), flush=True)


def case_nta_reaches_sites():
    F.a.fault("expired", "de")
    F.faulted = True
    for i, rig in enumerate(F.rigs):
        expect_servfail7(rig, "www.example.de", SITES[i])
    # a local NTA on site a
    F.a.ctl("nta", "add", "alg8.de", "--lifetime", "1h", "--reason", "local only")
    _, obj, dt, _ = fleet_ctl("nta", "add", "de", "--lifetime", "2h", "--reason", REASON, "--wait", "5s")
    for rig in F.rigs:  # --wait returned: every site has it already
        check("de." in ntas(rig), f"site {rig.name}: no de. in nta list after --wait returned")
    _, fl, _, _ = fleet_ctl("nta", "list")
    rec = {e["name"]: e for e in fl["fleet_ntas"]}
    check(set(rec) == {"de."}, f"fleet nta list: {fl} (the local alg8.de must not be there)")
    for i, rig in enumerate(F.rigs):
        n = ntas(rig)
        e = n["de."]
        check(e["reason"] == "fleet: " + REASON, f"site {SITES[i]}: reason {e['reason']!r}")
        check(e["expires"] == rec["de."]["expires"],
              f"site {SITES[i]}: expires {e['expires']}, the fleet's {rec['de.']['expires']}")
        expect_nta_answer(rig, "www.example.de", SITES[i])
    check("alg8.de." in ntas(F.a) and "alg8.de." not in ntas(F.b) and "alg8.de." not in ntas(F.c),
          f"local NTA: a {sorted(ntas(F.a))}, b {sorted(ntas(F.b))}, c {sorted(ntas(F.c))}")
    st = fleet_ctl("status")[1]
    for site in st["sites"]:  # the local alg8.de. on a is not counted
        check(site["fleet_ntas"] == 1 and site["current"], f"fleet status: {site}")
    print(f"#   fleet NTA de.: committed at revision {obj['revision']}, every site applied it "
          f"{obj['wait_ms']} ms after the commit (holdfastctl --fleet took {dt * 1000:.0f} ms in all)", flush=True)


def case_nta_removed():
    if "de." not in ntas(F.a):
        fleet_ctl("nta", "add", "de", "--lifetime", "2h", "--reason", REASON, "--wait", "5s")
    if not F.faulted:
        F.a.fault("expired", "de")
        F.faulted = True
    _, obj, _, _ = fleet_ctl("nta", "remove", "de", "--wait", "5s")
    for i, rig in enumerate(F.rigs):
        n = ntas(rig)
        check("de." not in n, f"site {SITES[i]}: de. still there after the fleet removed it: {n}")
        expect_servfail7(rig, "www.example.de", SITES[i])
    rc, _, _, err = fleet_ctl("nta", "remove", "de", check_rc=False)
    check(rc == 1 and "no fleet NTA for de." in err, f"second remove: exit {rc}, {err!r}")
    if "alg8.de." in ntas(F.a):
        check(ntas(F.a)["alg8.de."]["reason"] == "local only", "the local NTA changed")
        F.a.ctl("nta", "remove", "alg8.de")
    F.repair()
    print(f"#   removed at revision {obj['revision']}, applied on every site {obj['wait_ms']} ms after", flush=True)


def case_expiry_same_time():
    _, obj, _, _ = fleet_ctl("nta", "add", "alg13.de", "--lifetime", "3s", "--reason", "short", "--wait", "5s")
    _, fl, _, _ = fleet_ctl("nta", "list")
    exp = [e for e in fl["fleet_ntas"] if e["name"] == "alg13.de."][0]["expires"]
    gone = [None] * len(F.rigs)
    t_end = time.time() + 6
    while time.time() < t_end and None in gone:
        for i, rig in enumerate(F.rigs):
            if gone[i] is None and "alg13.de." not in ntas(rig):
                gone[i] = time.time()
        time.sleep(0.02)
    check(None not in gone, f"alg13.de. did not expire on every site: {gone}")
    spread = max(gone) - min(gone)
    check(spread <= 1.0, f"expired {spread:.2f} s apart on the sites")
    # every site has the record's expiry to the second (nta add --expires:
    # nta_reaches_sites checks it), and holdfast checks expiries every
    # 100 ms; the rest is this loop's polling, 3 holdfastctl calls a round
    # (+0.64 s under ASan). A site given a lifetime instead could be a
    # second late on top.
    for g in gone:
        check(exp - 0.05 <= g <= exp + 1.0, f"expired at {g:.2f}, the record says {exp}")
    print(f"#   expired on " + ", ".join(f"{SITES[i]} {g - exp:+.2f} s" for i, g in enumerate(gone))
          + f" from its expiry ({spread * 1000:.0f} ms apart)", flush=True)
    # the record stays in etcd (expired) until removed; the agents ignore it
    fleet_ctl("nta", "remove", "alg13.de")


def case_partition():
    fleet_ctl("nta", "add", "alg15.de", "--lifetime", "1h", "--reason", "before the cut", "--wait", "5s")
    fleet_ctl("nta", "add", "nsec3.de", "--lifetime", "4s", "--reason", "expires while cut", "--wait", "5s")
    F.proxy.cut()
    try:
        _, o1, _, _ = fleet_ctl("nta", "remove", "alg15.de")
        _, o2, _, _ = fleet_ctl("nta", "add", "alg8.de", "--lifetime", "1h", "--reason", "while cut")
        wait_for(lambda: "alg8.de." in ntas(F.a) and "alg15.de." not in ntas(F.a), 2.0, "site a applies")
        time.sleep(1.0)
        nb = ntas(F.b)
        check("alg15.de." in nb and "alg8.de." not in nb, f"site b, cut off, changed: {sorted(nb)}")
        # expiry happens without etcd
        wait_for(lambda: "nsec3.de." not in ntas(F.b), 6.0, "nsec3.de. expiring on the cut-off site b")
        check("alg15.de." in ntas(F.b), "site b lost its NTA while cut off")
    finally:
        F.proxy.join()
    t = wait_for(lambda: "alg8.de." in ntas(F.b) and "alg15.de." not in ntas(F.b), 1.0,
                 "site b catching up after the reconnect")
    print(f"#   site b caught up {t * 1000:.0f} ms after etcd was reachable again", flush=True)
    # compaction while cut off: the agent's next revision is gone, it reads everything
    F.proxy.cut()
    try:
        fleet_ctl("nta", "add", "alg13.de", "--lifetime", "1h", "--reason", "compacted away")
        fleet_ctl("nta", "remove", "alg8.de")
        F.etcd.compact(F.etcd.revision())
    finally:
        F.proxy.join()
    t = wait_for(lambda: "alg13.de." in ntas(F.b) and "alg8.de." not in ntas(F.b), 2.0,
                 "site b catching up past a compaction")
    log = open(F.agents[1].log, errors="replace").read()
    check("compacted" in log and "full read" in log, "site b's agent did not log its full read after compaction")
    print(f"#   past a compaction: caught up {t * 1000:.0f} ms after the reconnect (full read)", flush=True)
    fleet_ctl("nta", "remove", "alg13.de", "--wait", "5s")


def case_leader_killed():
    lead = F.etcd.leader()
    check(lead is not None, "no etcd leader")
    F.etcd.kill(lead)
    try:
        lat = []
        for i in range(5):
            _, obj, dt, _ = fleet_ctl("nta", "add", f"k{i}.example.de", "--lifetime", "1h", "--reason", "leader gone",
                                      "--wait", "5s")
            lat.append(obj["wait_ms"])
            for rig in F.rigs:
                check(f"k{i}.example.de." in ntas(rig), f"k{i}.example.de. missing on a site")
        for i in range(5):
            fleet_ctl("nta", "remove", f"k{i}.example.de", "--wait", "5s")
    finally:
        F.etcd.start(lead)
    F.etcd.wait_healthy()
    print(f"#   member {lead + 1} (the leader) killed: 5 edits applied on every site in "
          f"{', '.join(str(x) for x in lat)} ms; the member rejoined", flush=True)


def case_holdfast_restart():
    fleet_ctl("nta", "add", "alg15.de", "--lifetime", "1h", "--reason", "survives restarts", "--wait", "5s")
    F.b.stop()
    os.unlink(F.state_file(F.b))
    F.b.restart()
    t = wait_for(lambda: "alg15.de." in ntas(F.b), 5.0, "the fleet NTA back on a restarted holdfast")
    print(f"#   site b's holdfast restarted (its state file removed): the fleet NTA back {t * 1000:.0f} ms after it answered",
          flush=True)
    fleet_ctl("nta", "remove", "alg15.de", "--wait", "5s")


def case_latency():
    adds, rms, ends = [], [], []
    names = [f"lat{i}.example.de" for i in range(50)]
    for n in names:
        _, obj, dt, _ = fleet_ctl("nta", "add", n, "--lifetime", "1h", "--reason", "latency", "--wait", "5s")
        adds.append(obj["wait_ms"])
        ends.append(dt * 1000)
    for rig in F.rigs:
        n = ntas(rig)
        check(all(x + "." in n for x in names), f"not every latency NTA on {rig.name}")
    for n in names:
        _, obj, _, _ = fleet_ctl("nta", "remove", n, "--wait", "5s")
        rms.append(obj["wait_ms"])
    print(f"#   fleet NTA add, etcd commit to applied on every site (every core): p50 {pct(adds, 50)} ms, "
          f"p99 {pct(adds, 99)} ms, max {max(adds)} ms (50 adds); whole holdfastctl --fleet --wait: "
          f"p50 {pct(ends, 50):.0f} ms, p99 {pct(ends, 99):.0f} ms", flush=True)
    print(f"#   fleet NTA remove: p50 {pct(rms, 50)} ms, p99 {pct(rms, 99)} ms (50 removes)", flush=True)
    check(pct(adds, 99) < 1000 and pct(rms, 99) < 1000, f"p99 over 1 s: adds {sorted(adds)[-3:]}, "
          f"removes {sorted(rms)[-3:]}")


def site_hops():
    return F.bgp.routes(), F.bgp.routes(v6=True)


def wait_routes(want4, want6, limit, what):
    return wait_for(lambda: site_hops() == (want4, want6), limit, f"{what}: router has {site_hops()}", step=0.05)


HOPS4 = {"198.18.70.1", "198.18.70.5", "198.18.70.9"}
HOPS6 = {"fd53:70:0::1", "fd53:70:1::1", "fd53:70:2::1"}
BUT_A4 = HOPS4 - {"198.18.70.1"}  # every site's route but site a's
BUT_A6 = HOPS6 - {"fd53:70:0::1"}


def norm6(s):
    import ipaddress
    return {str(ipaddress.ip_address(x)) for x in s}


def case_drain():
    all4, all6 = HOPS4, norm6(HOPS6)
    wait_for(lambda: (F.bgp.routes(), norm6(F.bgp.routes(True))) == (all4, all6), 15.0,
             f"both sites' routes on the router (has {site_hops()})", step=0.1)
    obj = F.a.ctl("drain")
    check(obj.get("drained") is True, f"drain: {obj}")
    check(F.a.ctl("status").get("drained") is True, "status does not say drained")
    t = wait_for(lambda: (F.bgp.routes(), norm6(F.bgp.routes(True))) == (BUT_A4, norm6(BUT_A6)), 3.0,
                 f"site a's route withdrawn (router has {site_hops()})", step=0.02)
    def site_a():
        return [s for s in fleet_ctl("status")[1]["sites"] if s["site"] == "a"][0]
    wait_for(lambda: site_a()["drained"] and not site_a()["announced"], 1.0,
             f"fleet status saying site a is drained and withdrawn ({site_a()})", step=0.05)
    F.a.ctl("undrain")
    t2 = wait_for(lambda: (F.bgp.routes(), norm6(F.bgp.routes(True))) == (all4, all6), 6.0,
                  f"site a's route back (router has {site_hops()})", step=0.05)
    check(t2 >= 1.5, f"route back {t2:.2f} s after undrain: the {HOLD_DOWN} hold-down was not kept")
    print(f"#   drain: withdrawn on the router {t * 1000:.0f} ms after holdfastctl drain; undrain: back after "
          f"{t2:.2f} s (hold-down {HOLD_DOWN})", flush=True)


def case_withdraw_on_kill():
    all4, all6 = HOPS4, norm6(HOPS6)
    F.a.ctl("undrain")  # should a case before have left it drained
    wait_for(lambda: (F.bgp.routes(), norm6(F.bgp.routes(True))) == (all4, all6), 15.0,
             f"both sites' routes on the router (has {site_hops()})", step=0.1)
    t0 = time.monotonic()
    F.a.kill()
    wait_for(lambda: F.bgp.routes() == BUT_A4, 3.0,
             f"site a's route withdrawn after holdfast was killed (router has {site_hops()})", step=0.02)
    print(f"#   holdfast killed: its route withdrawn on the router after {(time.monotonic() - t0) * 1000:.0f} ms",
          flush=True)
    F.a.restart()
    wait_for(lambda: F.bgp.routes() == all4, 10.0, f"site a's route back (router has {site_hops()})", step=0.1)


def proc_cpu_rss(pid):
    """(CPU seconds used, resident KiB) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open(f"/proc/{pid}/status") as f:
        rss = [int(x.split()[1]) for x in f if x.startswith("VmRSS:")][0]
    return cpu, rss


def case_agent_idle():
    """Both agents for 10 s with nothing to do: CPU share and memory."""
    out = []
    t0 = time.monotonic()
    before = [proc_cpu_rss(ag.proc.pid)[0] for ag in F.agents]
    time.sleep(10)
    dt = time.monotonic() - t0
    for ag, b in zip(F.agents, before):
        cpu, rss = proc_cpu_rss(ag.proc.pid)
        share = (cpu - b) / dt * 100
        out.append(f"site {ag.site}: {share:.2f}% of a core, {rss / 1024:.1f} MiB resident")
        # resident: 10-12 MiB; under ASan 66-122 MiB (its shadow and the
        # quarantine of freed memory)
        with open(f"/proc/{ag.proc.pid}/maps") as f:
            asan = "libasan" in f.read()
        limit = 512 * 1024 if asan else 32 * 1024
        # the share is a benchmark's number (bench/results/fleet.txt), printed
        # below; here only that the agent sleeps between its timers rather
        # than spinning (a spinning loop takes a whole core)
        check(share < 50 and rss < limit, f"agent {ag.site} at idle: {share:.2f}% CPU, {rss} KiB "
              f"(at most 50% and {limit} KiB{' under ASan' if asan else ''})")
    print(f"#   agents at idle over {dt:.0f} s (health every 500 ms, site key every 1 s, a probe on a): "
          + "; ".join(out), flush=True)


def case_bird_restart():
    all4 = HOPS4
    F.a.ctl("undrain")
    wait_for(lambda: F.bgp.routes() == all4, 15.0, f"both sites' routes on the router (has {site_hops()})",
             step=0.1)
    F.bgp.restart_site_bird(0)
    t = wait_for(lambda: F.bgp.routes() == all4, 10.0,
                 f"site a's route back after its BIRD restarted (router has {site_hops()})", step=0.1)
    print(f"#   site a's BIRD killed and started again (service protocols disabled at start): route back "
          f"after {t:.1f} s (the agent says its state again every 5 s)", flush=True)


def case_canary_fails():
    all4 = HOPS4
    F.a.ctl("undrain")
    wait_for(lambda: F.bgp.routes() == all4, 15.0, f"both sites' routes on the router (has {site_hops()})",
             step=0.1)
    t0 = time.monotonic()
    F.a.resolver("stop")  # lab a's Unbound: the control planes of both sites cannot resolve
    try:
        wait_for(lambda: F.bgp.routes() == BUT_A4, 5.0,
                 f"site a's route withdrawn while its probe fails (router has {site_hops()})", step=0.05)
        t = time.monotonic() - t0
        check(t >= 1.5, f"withdrawn {t:.2f} s after the resolver stopped: before --probe-fail {PROBE_FAIL}")
        log = F.agents[0].log_tail(30)
        check("no answer to the probe" in log, f"site a's agent does not say why: {log[-600:]!r}")
    finally:
        F.a.resolver("start")
    t2 = wait_for(lambda: F.bgp.routes() == all4, 10.0, f"site a's route back (router has {site_hops()})", step=0.05)
    print(f"#   canary: the resolver stopped, site a (probing *.probe.test) withdrawn after {t:.2f} s (probe-fail "
          f"{PROBE_FAIL}); resolver back, announced again {t2:.2f} s later (hold-down {HOLD_DOWN})", flush=True)


def case_core_stalled():
    """Site c (two worker cores) under load from its lab's namespace; one
    worker thread stopped (ptrace): its rx_packets stand still while the
    other core's rise, and c's agent withdraws; the thread running again,
    announced again after the hold-down."""
    wait_for(lambda: F.bgp.routes() == HOPS4, 15.0, f"every site's route on the router (has {site_hops()})",
             step=0.1)
    per = lambda: [c["rx_packets"] for c in F.c.stats()["per_core"] if c["role"] == "worker"]  # noqa: E731
    check(len(per()) == 2, f"site c has {len(per())} worker cores, expected 2")
    load = ClientLoad("www.test", netns=F.c.lab["HF_LAB_NETNS"], rate=200, ports=32)
    load.start()
    try:
        r0 = per()
        time.sleep(1.0)
        r1 = per()
        check(all(b > a for a, b in zip(r0, r1)), f"the load does not reach both of c's cores: rx {r0} -> {r1}")
        t0 = time.monotonic()
        with Stopped(F.c.proc.pid, thread_of(F.c.proc.pid, "rte-worker-2")):
            t = wait_for(lambda: F.bgp.routes() == HOPS4 - {"198.18.70.9"}, 3.0,
                         f"site c's route withdrawn with a worker core stopped (router has {site_hops()})",
                         step=0.02)
            r2 = per()
            check(F.c.running(), "site c's holdfast exited")
        log = F.agents[2].log_tail(30)
        check("unhealthy: worker core 1 received nothing for" in log, f"site c's agent does not say why: "
              f"{log[-600:]!r}")
        t2 = wait_for(lambda: F.bgp.routes() == HOPS4, 8.0, f"site c's route back (router has {site_hops()})",
                      step=0.05)
    finally:
        load.stop_ev.set()
        load.join(timeout=10)
    check(r2[1] == r1[1] or r2[1] - r1[1] < 100, f"core 1 kept counting while stopped: {r1} -> {r2}")
    print(f"#   site c's worker core 1 stopped under load (200 queries/s from 32 ports): withdrawn after "
          f"{t:.2f} s (--stall-after {STALL_AFTER}, --stall-load {STALL_LOAD}; rx per core {r1} -> {r2}); "
          f"running again: announced {t2:.2f} s later (hold-down {HOLD_DOWN})", flush=True)


def case_etcd_auth():
    """etcd's auth with roles (docs/fleet.md, "Access control") on a
    single-member cluster of its own: an operator role that writes the
    layout, a site role that reads PREFIX state/ and writes only its own
    PREFIX sites/SITE. Site a's agent, restarted on it as the site's user,
    applies the operator's NTA and reports; the site's user cannot write
    an NTA; no user, or a wrong password, gets nothing."""
    e = fleetlab.Etcd("fleetauth", n=1, net="127.62")
    d = e.dir
    ag = bad = None
    try:
        e.up()
        pw = {}
        for u in ("root", "ops", "site-a", "wrong"):
            pw[u] = os.path.join(d, f"{u}.pw")
            with open(pw[u], "w") as f:
                f.write(f"pw-{u}-{os.getpid()}\n")
            os.chmod(pw[u], 0o600)

        def secret(u):
            return open(pw[u]).read().strip()
        e.etcdctl("user", "add", "root", "--new-user-password", secret("root"))
        e.etcdctl("user", "grant-role", "root", "root")
        e.etcdctl("role", "add", "holdfast-operator")
        e.etcdctl("role", "grant-permission", "holdfast-operator", "readwrite", "--prefix=true", PREFIX)
        e.etcdctl("role", "add", "holdfast-site-a")
        e.etcdctl("role", "grant-permission", "holdfast-site-a", "read", "--prefix=true", PREFIX + "state/")
        e.etcdctl("role", "grant-permission", "holdfast-site-a", "readwrite", PREFIX + "sites/a")
        for u, role in (("ops", "holdfast-operator"), ("site-a", "holdfast-site-a")):
            e.etcdctl("user", "add", u, "--new-user-password", secret(u))
            e.etcdctl("user", "grant-role", u, role)
        e.etcdctl("auth", "enable")

        def actl(user, *args):
            env = dict(os.environ, HOLDFAST_ETCD_CACERT=e.tls["ca"], HOLDFAST_ETCD_CERT=e.tls["cert"],
                       HOLDFAST_ETCD_KEY=e.tls["key"])
            if user:
                env.update(HOLDFAST_ETCD_USER=user, HOLDFAST_ETCD_PASSWORD_FILE=pw[user])
            r = subprocess.run([F.ctl_bin, "--fleet", "--etcd", e.endpoints(), "--prefix", PREFIX, "--json",
                                *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30,
                               env=env)
            return r.returncode, r.stdout, r.stderr

        rc, out, err = actl("ops", "nta", "add", "alg13.de", "--lifetime", "1h", "--reason", "auth")
        check(rc == 0 and json.loads(out)["ok"], f"the operator's nta add: exit {rc}, {out!r} {err!r}")
        rc, out, err = actl("site-a", "nta", "add", "alg15.de", "--lifetime", "1h", "--reason", "not mine")
        check(rc == 1 and "permission denied" in err, f"the site's user adding an NTA: exit {rc}, {err!r}")
        rc, out, err = actl(None, "nta", "list")
        check(rc == 1 and "user name is empty" in err, f"no user: exit {rc}, {err!r}")
        os.rename(pw["wrong"], pw["ops"] + ".x")  # the operator's name with another password
        pw["ops-wrong"] = pw["ops"] + ".x"
        env_bad = dict(os.environ, HOLDFAST_ETCD_CACERT=e.tls["ca"], HOLDFAST_ETCD_CERT=e.tls["cert"],
                       HOLDFAST_ETCD_KEY=e.tls["key"], HOLDFAST_ETCD_USER="ops",
                       HOLDFAST_ETCD_PASSWORD_FILE=pw["ops-wrong"])
        r = subprocess.run([F.ctl_bin, "--fleet", "--etcd", e.endpoints(), "--prefix", PREFIX, "nta", "list"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30, env=env_bad)
        check(r.returncode == 1 and "invalid user ID or password" in r.stderr,
              f"a wrong password: exit {r.returncode}, {r.stderr!r}")

        # site a's agent on the auth cluster, as the site's user
        F.agents[0].stop()
        ag = fleetlab.Agent(F.agent_bin, "a", F.a.sock, e.endpoints(), PREFIX,
                            ["--etcd-user", "site-a", "--etcd-password-file", pw["site-a"]],
                            tls_args=e.agent_args())
        ag.start()
        t = wait_for(lambda: "alg13.de." in ntas(F.a), 5.0, "the operator's NTA on site a through the auth cluster")

        def site_a():
            rc, out, _ = actl("ops", "status")
            return rc == 0 and [s for s in json.loads(out)["sites"] if s["site"] == "a" and s["current"]]
        wait_for(site_a, 5.0, "site a's key written by its agent as site-a", step=0.1)
        bad = fleetlab.Agent(F.agent_bin, "b", F.b.sock, e.endpoints(), PREFIX,
                             ["--etcd-user", "site-a", "--etcd-password-file", pw["ops-wrong"]],
                             tls_args=e.agent_args())
        bad.start()
        wait_for(lambda: "invalid user ID or password" in bad.log_tail(10), 5.0,
                 "an agent with a wrong password saying so", step=0.1)
        check(bad.alive(), "the agent with a wrong password exited (it should keep trying)")
        print(f"#   etcd auth: the operator's NTA on site a {t * 1000:.0f} ms after its agent started as site-a; "
              "site-a cannot add an NTA (permission denied), no user and a wrong password get nothing", flush=True)
    finally:
        for x in (ag, bad):
            if x is not None:
                x.stop()
                x.exits = []
        e.down()
        if "alg13.de." in ntas(F.a):
            F.a.ctl("nta", "remove", "alg13.de")
        F.agents[0].start()
    wait_current()


# ------------------------------------------------------------ the drill

EDE_STALE = 3
STALE_TTL = 30  # serve-stale-ttl default
DRILL_CACHED = [("www.alg13.de", "192.0.2.13"), ("www.alg15.de", "192.0.2.15")]
WILD_A = "192.0.2.2"
LOAD_RATE = 100  # the client's queries per second during the kill
KILL_MARGIN = 0.1  # s: a query sent this close to the kill may die with site a


def fresh_wild():
    return f"f{random.randrange(16 ** 8):08x}.wild.example.de"


def site_queries(rig):
    """DNS queries the site's worker cores have parsed (stats, summed)."""
    return sum(c.get("queries", 0) for c in rig.stats().get("per_core") or [])


def expect_each(what, judge, names):
    """judge(site, name, response) on every site for every name."""
    for i, rig in enumerate(F.rigs):
        for name in names:
            judge(SITES[i], name, query(rig, name))


def judge_secure(site, name, r):
    check(r.rcode == NOERROR and r.ad and not r.ede, f"site {site}: {name}: expected NOERROR, AD: {r.summary()}")


def judge_insecure(site, name, r):
    check(r.rcode == NOERROR and not r.ad and not r.ede,
          f"site {site}: {name}: expected NOERROR without AD or EDE (the NTA): {r.summary()}")


def judge_stale(site, name, r):
    want = dict(DRILL_CACHED)[name]
    # as the single-site drill: rcode, value, EDE 3 alone, TTL 30 (the AD bit is the one the data was
    # validated with)
    check(r.rcode == NOERROR and r.values(T_A) == [want] and r.ede_codes() == [EDE_STALE],
          f"site {site}: {name}: expected the stale answer {want} with EDE 3 only: {r.summary()}")
    ttl = min(x.ttl for x in r.records(T_A))
    check(ttl == STALE_TTL, f"site {site}: {name}: stale TTL {ttl}, expected {STALE_TTL}")


def judge_servfail7(site, name, r):
    check(r.rcode == SERVFAIL and r.ede_codes() == [EDE_EXPIRED],
          f"site {site}: {name}: expected SERVFAIL with EDE 7 only: {r.summary()}")


class ClientLoad(threading.Thread):
    """rate queries a second for name from a network namespace (default:
    the client's, behind the router) to the service address, from `ports`
    source ports; each query's send time and answer time (None: lost, no
    answer within 2 s) and response."""

    def __init__(self, name, netns=None, rate=LOAD_RATE, ports=8):
        super().__init__(daemon=True)
        self.name, self.rate = name, rate
        ns = clientmod.Netns(netns or F.bgp.client_ns)
        self.socks = []
        try:
            for _ in range(ports):
                s = ns.socket(socket.AF_INET)
                s.connect((F.bgp.services[0], 53))
                s.setblocking(False)
                self.socks.append(s)
        finally:
            ns.close()
        self.results = []  # (t_send, t_answer or None, response or None)
        self.stop_ev = threading.Event()
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"

    def _run(self):
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self.socks):
            sel.register(s, selectors.EVENT_READ, i)
        pending = {}
        n, nxt = 0, time.monotonic()
        draining_until = None
        while True:
            t = time.monotonic()
            if self.stop_ev.is_set() and draining_until is None:
                draining_until = t + 2.0
            if draining_until is not None and (t > draining_until or not pending):
                break
            if draining_until is None and t >= nxt:
                nxt += 1.0 / self.rate
                i = n % len(self.socks)
                wire = build_query(self.name, T_A, ad=True)
                qid = int.from_bytes(wire[:2], "big")
                if (i, qid) not in pending:
                    try:
                        self.socks[i].send(wire)
                    except OSError:
                        pass  # no route for a moment: lost, as a real client's
                    pending[(i, qid)] = t
                n += 1
            for key, _ in sel.select(max(0.0, min(nxt - time.monotonic(), 0.02))):
                while True:
                    try:
                        data = key.fileobj.recv(65535)
                    except OSError:  # nothing more, or an ICMP error (no route for a moment)
                        break
                    if len(data) < 12:
                        continue
                    t_send = pending.pop((key.data, int.from_bytes(data[:2], "big")), None)
                    if t_send is not None:
                        self.results.append((t_send, time.monotonic(), Response(data)))
            t = time.monotonic()
            for k in [k for k, v in pending.items() if t - v > 2.0]:
                self.results.append((pending.pop(k), None, None))
        for k, v in pending.items():
            self.results.append((v, None, None))
        for s in self.socks:
            s.close()
        sel.close()


def case_drill():
    """Issue 16's fleet drill: the .de night replayed across the three sites."""
    names_cached = [n for n, _ in DRILL_CACHED]
    if F.faulted:  # a case before failed halfway
        F.repair()
    for n in names_cached:  # not left from a case before: removed NTAs flush their names
        check(all(n.split(".", 1)[1] + "." not in ntas(r) for r in F.rigs), f"an NTA over {n} left on a site")
    # 1. healthy, the names cached on every site; then de. broken
    expect_each("healthy", judge_secure, names_cached + [fresh_wild()])
    t_fault = time.monotonic()
    F.a.fault("expired", "de")
    F.faulted = True
    time.sleep(max(0.0, t_fault + MAX_TTL + 1.0 - time.monotonic()))  # every cached name and key past max-ttl
    expect_each("stale", judge_stale, names_cached)
    expect_each("servfail", judge_servfail7, [fresh_wild(), "www.nsec3n.de"])
    print(f"#   1. de. broken: every site serves {', '.join(names_cached)} stale (EDE 3, TTL {STALE_TTL}) "
          "and uncached names SERVFAIL with EDE 7", flush=True)

    # 2. one fleet NTA: every site insecure within 1 s
    t0 = time.monotonic()
    _, obj, _, _ = fleet_ctl("nta", "add", "de", "--lifetime", "1h", "--reason", REASON, "--wait", "5s")
    expect_each("NTA", judge_insecure, names_cached + [fresh_wild()])
    t_all = time.monotonic() - t0
    check(t_all < 1.0, f"every site insecure only {t_all * 1000:.0f} ms after holdfastctl --fleet nta add")
    print(f"#   2. fleet NTA de.: applied on every site {obj['wait_ms']} ms after the commit; every site "
          f"answering insecure {t_all * 1000:.0f} ms after holdfastctl --fleet nta add started", flush=True)

    # 3. site a's holdfast killed under the client's load
    wait_for(lambda: F.bgp.routes() == HOPS4, 15.0, f"every site's route on the router (has {site_hops()})",
             step=0.1)
    wait_for(lambda: F.bgp.kernel_hop() == "198.18.70.1", 5.0,
             f"the router's kernel route via site a (has {F.bgp.kernel_hop()})", step=0.05)
    qb = site_queries(F.b)
    load = ClientLoad("www.alg13.de")
    load.start()
    try:
        time.sleep(1.0)
        t_kill = time.monotonic()
        F.a.kill()
        wait_for(lambda: F.bgp.routes() == BUT_A4, 3.0,
                 f"site a's route withdrawn after holdfast was killed (router has {site_hops()})", step=0.01)
        t_withdrawn = time.monotonic()
        wait_for(lambda: F.bgp.kernel_hop() == "198.18.70.5", 1.0,
                 f"the router's kernel route moving to site b (has {F.bgp.kernel_hop()})", step=0.01)
        t_moved = time.monotonic()
        time.sleep(2.0)
    finally:
        load.stop_ev.set()
        load.join(timeout=10)
    check(load.error is None, f"the client's load: {load.error}")
    res = load.results
    # A query still on its way to site a, or in its receive ring, when SIGKILL lands is lost as any
    # server's would be: the steady state is judged on the queries sent up to KILL_MARGIN before.
    before = [x for x in res if x[0] < t_kill - KILL_MARGIN]
    lost = [x for x in res if x[1] is None]
    after = [x for x in res if x[0] >= t_moved + 0.1]
    lost_before = [f"{(x[0] - t_kill) * 1000:.0f} ms" for x in before if x[1] is None]
    check(before and not lost_before, f"queries lost before the kill: {len(lost_before)} of {len(before)}, "
          f"sent at {', '.join(lost_before)} from it")
    check(len(after) >= LOAD_RATE, f"only {len(after)} queries sent after the route moved")
    check(all(x[1] is not None for x in after),
          f"{sum(1 for x in after if x[1] is None)} of {len(after)} queries lost after the route moved to site b")
    for _, _, r in res:
        if r is not None:
            judge_insecure("a or b, to the client", "www.alg13.de", r)
    served_b = site_queries(F.b) - qb
    check(served_b >= len(after), f"site b parsed {served_b} queries, the client's {len(after)} after the "
          "move among them")
    print(f"#   3. site a's holdfast killed: route withdrawn on the router {(t_withdrawn - t_kill) * 1000:.0f} ms "
          f"after, the router's kernel route on site b {(t_moved - t_kill) * 1000:.0f} ms after; the client's "
          f"queries ({LOAD_RATE}/s): {len(lost)} lost of {len(res)} (sent between the kill and the move), "
          f"{len(after)} answered by site b after it", flush=True)
    F.a.restart()
    wait_for(lambda: F.bgp.routes() == HOPS4, 10.0, f"site a's route back (router has {site_hops()})", step=0.1)
    wait_for(lambda: "de." in ntas(F.a), 2.0, "the fleet NTA on site a after its restart")

    # 4. site b cut off from etcd; the NTA removed fleet-wide
    F.proxy.cut()
    try:
        fleet_ctl("nta", "remove", "de")
        t = wait_for(lambda: "de." not in ntas(F.a) and "de." not in ntas(F.c), 1.0,
                     "the NTA gone from the sites that reach etcd")
        for rig, site in ((F.a, "a"), (F.c, "c")):
            judge_servfail7(site, "www.nsec3n.de", query(rig, "www.nsec3n.de"))
        time.sleep(1.5)
        check("de." in ntas(F.b), f"site b, cut off, lost the NTA: {sorted(ntas(F.b))}")
        judge_insecure("b", "www.nsec3n.de", query(F.b, "www.nsec3n.de"))
    finally:
        F.proxy.join()
    t2 = wait_for(lambda: "de." not in ntas(F.b), 1.0, "site b dropping the NTA after it rejoined")
    judge_servfail7("b", fresh_wild(), query(F.b, fresh_wild()))
    print(f"#   4. site b cut off from etcd, the NTA removed: gone from a and c after {t * 1000:.0f} ms, kept on b "
          f"until it rejoined, gone from b {t2 * 1000:.0f} ms after", flush=True)

    # 5. de. repaired: every site secure again
    t0 = time.monotonic()
    F.repair()

    def all_secure():
        for rig in F.rigs:
            for n in names_cached + [fresh_wild()]:
                r = query(rig, n)
                if not (r.rcode == NOERROR and r.ad and not r.ede):
                    return False
        return True
    t = wait_for(all_secure, 15.0, "every site secure again after de. was repaired", step=0.2)
    print(f"#   5. de. repaired: every site secure (AD) again {time.monotonic() - t0:.1f} s after lab.sh repair "
          f"({t:.1f} s of it waiting for the cached keys and failures to pass max-ttl {MAX_TTL} s / "
          "failure-ttl 1 s)", flush=True)


PLAN = [("fleet", {}, [case_sites_current, case_nta_reaches_sites, case_nta_removed, case_expiry_same_time,
                       case_partition, case_leader_killed, case_holdfast_restart, case_latency, case_drain,
                       case_withdraw_on_kill, case_bird_restart, case_canary_fails, case_core_stalled, case_etcd_auth,
                       case_drill,
                       case_agent_idle])]


def make_rig(holdfast, srcdir, name="fleet"):
    global F
    F = Fleet(holdfast, srcdir, name)
    return F


if __name__ == "__main__":
    sys.exit(runner.main(__doc__, "fleet", PLAN, make_rig))
