#!/usr/bin/env python3
"""The summary of a `bench/e2e/transport.sh --perf DIR` run, one file per part.

    transport_profile.py PERF_DIR RAW_DIR OUT_DIR LABEL [TITLE]

PERF_DIR is transport.sh's --perf directory (r<round>.<part>.perf.data,
.syscalls, .cpu0, .cpu1), RAW_DIR its raw tool output (--out's
transport/raw: holdfast.r<round>.<part>.txt and the holdfastctl stats
before and after, .hf0 and .hf1). Writes OUT_DIR/LABEL.<part>.txt for each
part profiled:

- the transport thread's system calls (perf stat), and per query (the
  transport's tcp_queries + tls_queries over the part) or per connection
  (tcp_accepted + tls_accepted) for the short-connection parts;
- every holdfast thread's share of its CPU time (/proc ticks over the
  part) and CPU 1's busy share (/proc/stat);
- CPU 1's samples by thread and object, the transport thread's samples by
  object (its share of them), and its top symbols (perf report).

TITLE (optional) goes on each file's first line after "holdfast LABEL".
See docs/bench.md, "DoT and TLS handshakes: where the core goes".
"""

import glob
import json
import os
import re
import subprocess
import sys


def ticks(path):
    """{tid: (comm, ticks)} and {cpu: (busy, total)} from a prof_snap file."""
    threads, cpus = {}, {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0].startswith("cpu"):
                v = [int(x) for x in w[1:]]
                idle = v[3] + v[4]  # idle, iowait
                cpus[w[0]] = (sum(v[:8]) - idle, sum(v[:8]))
            elif len(w) == 3:
                threads[w[0]] = (w[1], int(w[2]))
    return threads, cpus


def transport_counters(path):
    try:
        with open(path) as f:
            return json.load(f)["total"]["transport"]
    except (OSError, ValueError, KeyError):
        return None


def perf_report(data, *args):
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                        "--percent-limit", "0.05", *args], capture_output=True, text=True, check=False)
    return [ln for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")]


def summarize(perf_dir, raw_dir, label, title, stem):
    m = re.match(r"r(\d+)\.(.+)$", stem)
    rnd, part = m.group(1), m.group(2)
    out = [f"# holdfast {label}, part {part}" + (f" ({title})" if title else "")]
    c0 = transport_counters(os.path.join(raw_dir, f"holdfast.r{rnd}.{part}.txt.hf0"))
    c1 = transport_counters(os.path.join(raw_dir, f"holdfast.r{rnd}.{part}.txt.hf1"))
    calls = None
    try:
        with open(os.path.join(perf_dir, stem + ".syscalls")) as f:
            for line in f:
                if "raw_syscalls:sys_enter" in line:
                    calls = int(line.split(",")[0])
    except (OSError, ValueError):
        pass
    out.append("## the transport thread's system calls (perf stat -e raw_syscalls:sys_enter -t TID)")
    if calls is None:
        out.append("not counted")
    else:
        line = f"{calls:,} system calls"
        if c0 and c1:
            q = (c1["tcp_queries"] - c0["tcp_queries"]) + (c1["tls_queries"] - c0["tls_queries"])
            conns = (c1["tcp_accepted"] - c0["tcp_accepted"]) + (c1["tls_accepted"] - c0["tls_accepted"])
            line += f"; {q:,} queries, {conns:,} connections over the part (holdfastctl stats)"
            if ".short" in part and conns:
                line += f": {calls / conns:.1f} per connection"
            elif q:
                line += f": {calls / q:.2f} per query"
        out.append(line)
    try:
        t0, cpu0 = ticks(os.path.join(perf_dir, stem + ".cpu0"))
        t1, cpu1 = ticks(os.path.join(perf_dir, stem + ".cpu1"))
        used = {tid: (t1[tid][0], t1[tid][1] - t0.get(tid, (None, 0))[1]) for tid in t1}
        total = sum(v[1] for v in used.values())
        out.append("## holdfast's CPU time by thread (/proc ticks over the part)")
        main_tid = min(used, key=int)
        for tid, (comm, n) in sorted(used.items(), key=lambda kv: -kv[1][1]):
            if n > 0:
                name = f"{comm} (main thread: the worker with -l 1)" if tid == main_tid else f"{comm} ({tid})"
                out.append(f"{name:<44} {n:6d} ticks  {100.0 * n / total:5.1f}%")
        if "cpu1" in cpu0 and "cpu1" in cpu1:
            busy = cpu1["cpu1"][0] - cpu0["cpu1"][0]
            all_ = cpu1["cpu1"][1] - cpu0["cpu1"][1]
            out.append(f"CPU 1 busy {100.0 * busy / max(all_, 1):.1f}% of the part; holdfast's threads "
                       f"{100.0 * total / max(all_, 1):.1f}% of CPU 1")
    except (OSError, KeyError, ValueError):
        out.append("## holdfast's CPU time by thread: not recorded")
    data = os.path.join(perf_dir, stem + ".perf.data")
    rows = perf_report(data, "--sort", "comm,dso")
    out.append("## CPU 1 samples by thread and object (perf record -g -C 1, cpu-clock)")
    out += rows[:30]
    mine = {}
    for r in rows:
        w = r.split()
        if len(w) >= 3 and w[1] == "hf-transport":
            mine[" ".join(w[2:])] = float(w[0].rstrip("%"))
    tot = sum(mine.values())
    out.append(f"## the transport thread's samples by object ({tot:.2f}% of CPU 1's samples = 100%)")
    for dso, v in sorted(mine.items(), key=lambda kv: -kv[1]):
        out.append(f"{100.0 * v / max(tot, 1e-9):8.1f}%  {dso}")
    out.append("## the transport thread's top symbols (share of CPU 1's samples)")
    out += perf_report(data, "--comm", "hf-transport", "--sort", "dso,sym")[:40]
    return part, "\n".join(out) + "\n"


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    perf_dir, raw_dir, out_dir, label = sys.argv[1:5]
    title = sys.argv[5] if len(sys.argv) == 6 else ""
    os.makedirs(out_dir, exist_ok=True)
    stems = sorted(os.path.basename(p)[:-len(".perf.data")] for p in glob.glob(os.path.join(perf_dir, "r*.perf.data")))
    if not stems:
        sys.exit(f"no r*.perf.data in {perf_dir}")
    for stem in stems:
        part, text = summarize(perf_dir, raw_dir, label, title, stem)
        with open(os.path.join(out_dir, f"{label}.{part}.txt"), "w") as f:
            f.write(text)
        print(f"{out_dir}/{label}.{part}.txt")


if __name__ == "__main__":
    main()
