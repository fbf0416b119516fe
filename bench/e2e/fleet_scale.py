#!/usr/bin/python3
"""The fleet at scale: many holdfast-fleet agents against the fleet lab's
3-member etcd cluster (tests/fleet/fleetlab.py: TLS with client
certificates, data on /dev/shm), on this one machine.

    bench/e2e/fleet_scale.py [HOLDFAST [SOURCE_ROOT]] [--agents 50,100,200]
                             [--edits 20] [--idle 20] [--out FILE]   (as root)

One holdfast on a lab of its own (tests/lab/lab.sh, unsigned, forwarding
to its knotd): every agent applies to it, as a site of its own (--site
sNNN; a real fleet has a holdfast per site, here they share one, so each
fleet NTA is N `nta add` on the one management socket, one after the
other: that cost is in the figures and measured apart). Agents run with
--health-interval 5s --report-interval 5s --stall-load 0 (the health
checks of N agents would otherwise load the one holdfast's control
thread, which a real site does not share).

For each N: start N agents and wait until every site reports the fleet's
revision; then, idle for --idle s: etcd members' and agents' CPU share
and resident memory; then --edits fleet NTA adds with `holdfastctl --fleet
nta add --wait`: wait_ms, from the etcd commit to every site having
reported the revision applied (p50, p99, max), and the time holdfast takes
for N `nta add` of one name in a row over its socket (holdfastctl, one
process each: the part of wait_ms that a shared holdfast adds).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
sys.path.insert(0, os.path.join(TOP, "tests", "fleet"))
from lib import lab as labmod  # noqa: E402
from lib.rig import Rig  # noqa: E402
import fleetlab  # noqa: E402

PREFIX = "/holdfast-scale/"


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))]


def cpu_rss(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        rss = [int(x.split()[1]) for x in f if x.startswith("VmRSS:")][0]
    return cpu, rss


def fleet_ctl(etcd, ctl_bin, *args):
    r = subprocess.run([ctl_bin, "--fleet", "--etcd", etcd.endpoints(), "--prefix", PREFIX, "--json",
                        *[str(a) for a in args]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120, env=etcd.client_env())
    if r.returncode != 0:
        raise RuntimeError(f"holdfastctl --fleet {' '.join(map(str, args))}: exit {r.returncode}: "
                           f"{r.stderr.strip()[:300]}")
    return json.loads(r.stdout)


def wait_all_current(etcd, ctl_bin, n, limit):
    t0 = time.monotonic()
    st = None
    while time.monotonic() - t0 < limit:
        st = fleet_ctl(etcd, ctl_bin, "status")
        cur = sum(1 for s in st["sites"] if s.get("current") and s.get("live"))
        if cur >= n:
            return time.monotonic() - t0
        time.sleep(0.5)
    raise RuntimeError(f"only {cur} of {n} sites current after {limit} s")


def one_size(n, rig, etcd, agent_bin, ctl_bin, args, out):
    agents = []
    try:
        t0 = time.monotonic()
        for i in range(n):
            ag = fleetlab.Agent(agent_bin, f"s{i:03d}", rig.sock, etcd.endpoints(), PREFIX,
                                ["--health-interval", "5s", "--stall-load", "0"], tls_args=etcd.agent_args(),
                                report="5s")
            ag.start()
            agents.append(ag)
        t_up = wait_all_current(etcd, ctl_bin, n, 120 + n)
        t_start = time.monotonic() - t0
        time.sleep(5)  # start-up's full reads settled
        procs = [p.pid for p in etcd.procs if p] + [ag.proc.pid for ag in agents]
        before = {pid: cpu_rss(pid)[0] for pid in procs}
        t1 = time.monotonic()
        time.sleep(args.idle)
        dt = time.monotonic() - t1
        now = {pid: cpu_rss(pid) for pid in procs}
        e_pids = [p.pid for p in etcd.procs if p]
        e_cpu = [(now[p][0] - before[p]) / dt * 100 for p in e_pids]
        e_rss = [now[p][1] / 1024 for p in e_pids]
        a_cpu = sum(now[ag.proc.pid][0] - before[ag.proc.pid] for ag in agents) / dt * 100
        a_rss = [now[ag.proc.pid][1] / 1024 for ag in agents]
        waits, ends = [], []
        for i in range(args.edits):
            t = time.monotonic()
            obj = fleet_ctl(etcd, ctl_bin, "nta", "add", f"scale{n}-{i}.example", "--lifetime", "1h", "--reason",
                            "scale", "--wait", "60s")
            ends.append((time.monotonic() - t) * 1000)
            waits.append(obj["wait_ms"])
        for i in range(args.edits):
            fleet_ctl(etcd, ctl_bin, "nta", "remove", f"scale{n}-{i}.example", "--wait", "60s")
        # what the one shared holdfast adds: n nta add of one name in a row
        t = time.monotonic()
        for _ in range(n):
            rig.ctl("nta", "add", "shared.example", "--lifetime", "1h", "--reason", "fleet: scale")
        t_hf = (time.monotonic() - t) * 1000
        rig.ctl("nta", "remove", "shared.example")
        line = (f"agents {n}: all current {t_start:.1f} s after the first started ({t_up:.1f} s of it waiting); "
                f"idle over {dt:.0f} s: etcd members {', '.join(f'{c:.1f}%' for c in e_cpu)} of a core, "
                f"{', '.join(f'{r:.0f}' for r in e_rss)} MiB resident; all agents together {a_cpu:.1f}% of a "
                f"core, {statistics.mean(a_rss):.1f} MiB resident each (max {max(a_rss):.1f}); "
                f"fleet NTA add ({args.edits}), etcd commit to all {n} sites applied: p50 {pct(waits, 50)} ms, "
                f"p99 {pct(waits, 99)} ms, max {max(waits)} ms; whole holdfastctl --fleet --wait p50 "
                f"{pct(ends, 50):.0f} ms; the shared holdfast's {n} nta add in a row (holdfastctl each): "
                f"{t_hf:.0f} ms")
        print(line, flush=True)
        out.append({"agents": n, "start_s": round(t_start, 1), "etcd_cpu_pct": [round(c, 2) for c in e_cpu],
                    "etcd_rss_mib": [round(r, 1) for r in e_rss], "agents_cpu_pct": round(a_cpu, 2),
                    "agent_rss_mib_mean": round(statistics.mean(a_rss), 1), "agent_rss_mib_max": round(max(a_rss), 1),
                    "wait_ms": waits, "wait_p50": pct(waits, 50), "wait_p99": pct(waits, 99),
                    "cli_ms_p50": round(pct(ends, 50)), "shared_holdfast_adds_ms": round(t_hf)})
    finally:
        for ag in agents:
            ag.stop()
        # the sites' keys go with the agents: the next size starts clean
        try:
            subprocess.run(["etcdctl", "--endpoints", etcd.endpoints(), "--cacert", etcd.tls["ca"], "--cert",
                            etcd.tls["cert"], "--key", etcd.tls["key"], "del", "--prefix", PREFIX + "sites/"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
                           env=dict(os.environ, ETCDCTL_API="3"))
        except Exception:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("holdfast", nargs="?", default=os.path.join(TOP, "build", "holdfast"))
    ap.add_argument("srcdir", nargs="?", default=TOP)
    ap.add_argument("--agents", default="50,100,200")
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--idle", type=float, default=20)
    ap.add_argument("--out")
    args = ap.parse_args()
    bindir = os.path.dirname(os.path.abspath(args.holdfast))
    agent_bin, ctl_bin = os.path.join(bindir, "holdfast-fleet"), os.path.join(bindir, "holdfastctl")
    rig = Rig(args.holdfast, args.srcdir, "fleetscale", labmod.lab_tag("s"), script="fleet_scale.py")
    etcd = fleetlab.Etcd("fleetscale", net="127.63")
    results = []
    try:
        rig.lab_up()
        rig.config["nta-state-file"] = os.path.join(rig.lab["HF_LAB_DIR"], "nta.state")
        rig.start()
        etcd.up()
        for n in [int(x) for x in args.agents.split(",")]:
            one_size(n, rig, etcd, agent_bin, ctl_bin, args, results)
    finally:
        etcd.down()
        rig.teardown()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
