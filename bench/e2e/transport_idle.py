#!/usr/bin/python3
"""What an idle worker costs, and what its sleeping costs the first query.

    transport_idle.py HOLDFAST SOURCE_ROOT OUT.md [--driver af_xdp|af_packet]
                      [--samples N] [--configs "SLEEP:MAX ..."]

On the lab (tests/lab/lab.sh, the e2e rig: one worker on CPU 1, control on
CPU 0, `--driver` the worker's PMD, default af_xdp), holdfast runs once per
configuration, `idle-sleep` SLEEP and `idle-sleep-max` MAX in
microseconds (default "0:0 100:100 100:1000 20:1000": busy polling, the
loop before the back-off at the benchmarks' 100 µs, the back-off to 1 ms,
and the e2e rig's 20 µs with it). For each:

- the worker thread's CPU time over 3 s with no traffic (/proc ticks: % of
  one CPU) and its idle_sleeps over them (holdfastctl stats);
- the latency of a cached UDP query (www.test A) sent after 200 ms of
  silence, N times (default 40): the first packet after idle, which finds
  the worker asleep; and of the query sent right after it, which finds the
  worker polling: median, 90th percentile and worst, in µs as the client
  (Python, in the lab's client namespace) sees them.

Writes a Markdown table to OUT.md (with the machine's load average) and
prints it. Run as root with the system python (dnspython), under the lab lock
(flock /tmp/hf-lab.lock); about 30 s
per configuration. See docs/decisions.md, "An idle worker backs off to
idle-sleep-max".
"""

import argparse
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "e2e"))
sys.dont_write_bytecode = True
from lib.dnsmsg import T_A, NOERROR  # noqa: E402
from lib.rig import Rig  # noqa: E402


def thread_ticks(pid):
    """{tid: (comm, utime + stime)} of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        w = s[s.rindex(")") + 2:].split()
        out[tid] = (comm, int(w[11]) + int(w[12]))
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def query_us(rig):
    r, dt = rig.client.query("www.test", T_A)
    if r.rcode != NOERROR or r.values(T_A) != ["198.51.100.10"]:
        raise RuntimeError(f"www.test A: {r.summary()}")
    return dt * 1e6


def measure(rig, sleep_us, max_us, samples):
    rig.start(**{"idle-sleep": str(sleep_us), "idle-sleep-max": str(max_us)})
    query_us(rig)  # resolved and cached
    time.sleep(0.5)
    pid = rig.proc.pid
    hz = os.sysconf("SC_CLK_TCK")
    s0 = rig.ctl("stats", "--per-core")["per_core"][0]["idle_sleeps"]
    t0, w0 = thread_ticks(pid), time.monotonic()
    time.sleep(3.0)
    t1, w1 = thread_ticks(pid), time.monotonic()
    s1 = rig.ctl("stats", "--per-core")["per_core"][0]["idle_sleeps"]
    per = {}
    for tid, (comm, n) in t1.items():
        per[comm] = per.get(comm, 0) + n - t0.get(tid, (comm, n))[1]
    wall = w1 - w0
    worker = max((n for c, n in per.items() if c.startswith("rte-worker")), default=0)
    first, second = [], []
    for _ in range(samples):
        time.sleep(0.2)
        first.append(query_us(rig))
        second.append(query_us(rig))
    rig.stop()
    return {"sleep": sleep_us, "max": max_us, "worker_cpu": 100.0 * worker / hz / wall,
            "all_cpu": 100.0 * sum(per.values()) / hz / wall, "sleeps_per_s": (s1 - s0) / wall,
            "first": first, "second": second}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("holdfast")
    ap.add_argument("srcdir")
    ap.add_argument("out")
    ap.add_argument("--driver", default="af_xdp", choices=("af_xdp", "af_packet"))
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--configs", default="0:0 100:100 100:1000 20:1000")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("must run as root (network namespaces, DPDK)")
    configs = [tuple(int(x) for x in c.split(":")) for c in a.configs.split()]
    rig = Rig(a.holdfast, a.srcdir, "idle", f"i{os.getpid() % 10000}")
    rig.driver = a.driver
    load0 = open("/proc/loadavg").read().split()[:3]
    rows = []
    try:
        rig.lab_up()
        for sleep_us, max_us in configs:
            m = measure(rig, sleep_us, max_us, a.samples)
            rows.append(m)
            print(f"idle: {sleep_us}:{max_us} worker {m['worker_cpu']:.1f}% "
                  f"first p50 {statistics.median(m['first']):.0f} us", file=sys.stderr, flush=True)
    finally:
        rig.teardown()
    load1 = open("/proc/loadavg").read().split()[:3]
    lines = [f"# An idle worker's CPU and the first query after idle (bench/e2e/transport_idle.py)", "",
             f"holdfast {os.environ.get('HF_IDLE_COMMIT', '')} on net_{a.driver}, one worker (CPU 1), control "
             f"on CPU 0; {a.samples} samples of a cached UDP query after 200 ms of silence; load average "
             f"{' '.join(load0)} at the start, {' '.join(load1)} at the end; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             "",
             "| idle-sleep / idle-sleep-max (µs) | worker CPU idle | all of holdfast idle | idle sleeps/s "
             "| first query after idle p50 / p90 / max (µs) | the query right after it p50 / p90 / max (µs) |",
             "|---|---:|---:|---:|---|---|"]
    for m in rows:
        f, s = m["first"], m["second"]
        lines.append(f"| {m['sleep']} / {m['max']} | {m['worker_cpu']:.1f}% | {m['all_cpu']:.1f}% "
                     f"| {m['sleeps_per_s']:,.0f} | {pct(f, 50):.0f} / {pct(f, 90):.0f} / {max(f):.0f} "
                     f"| {pct(s, 50):.0f} / {pct(s, 90):.0f} / {max(s):.0f} |")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as fo:
        fo.write(text)
    print(text)


if __name__ == "__main__":
    main()
