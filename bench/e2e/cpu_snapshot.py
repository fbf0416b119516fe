#!/usr/bin/python3
"""Print "pid ticks comm" (user+system clock ticks, children not included)
for every user-space process, then "total ticks hz" for the whole machine
(/proc/stat), then "cpuN ticks" for each CPU (busy: all but idle and
iowait) and "wall SECONDS" (CLOCK_MONOTONIC). bench/e2e/side_by_side.sh takes one before and one after each
measurement; report.py (which imports this file) subtracts them to show how
much CPU processes other than the benchmark's own used meanwhile (the
machine may be shared). Standard library only.

    cpu_snapshot.py                      print a snapshot
    cpu_snapshot.py busy A B OURS_FILE   CPU seconds other processes used
                                         between snapshots A and B (pids in
                                         OURS_FILE and the load tools excluded),
                                         and the name of the busiest
"""
import os
import sys
import time

# the load generators and the script's own helpers
OURS_COMM = {"kxdpgun", "dnsperf", "cpu_snapshot.py", "timeout", "ip", "taskset", "conn_rate", "openssl"}


def read(path):
    """A snapshot file: ({pid: (ticks, comm)}, machine busy ticks, hz)."""
    procs, total, hz = {}, None, 100
    with open(path) as f:
        for line in f:
            a = line.split()
            if a[0] == "total":
                total, hz = int(a[1]), int(a[2])
            elif not a[0].startswith("cpu") and a[0] != "wall":
                procs[a[0]] = (int(a[1]), a[2])
    return procs, total, hz


def per_cpu(path):
    """A snapshot file's ({CPU number: busy ticks}, wall seconds); ({}, None)
    for snapshots older than these lines."""
    out, wall = {}, None
    with open(path) as f:
        for line in f:
            a = line.split()
            if a[0].startswith("cpu"):
                out[int(a[0][3:])] = int(a[1])
            elif a[0] == "wall":
                wall = float(a[1])
    return out, wall


def busy_ticks(fields):
    """A /proc/stat cpu line's fields after its name: all but idle and iowait."""
    return sum(int(x) for x in fields) - int(fields[3]) - int(fields[4])


def others(p0, p1, ours):
    """Ticks used between two snapshots by processes that are not ours, by name."""
    by = {}
    for pid, (ticks, comm) in p1.items():
        if pid in ours or comm in OURS_COMM:
            continue
        d = ticks - p0.get(pid, (0, comm))[0]
        if d > 0:
            by[comm] = by.get(comm, 0) + d
    return by


def snapshot():
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")].replace(" ", "_")
        fields = s[s.rindex(")") + 2:].split()
        # fields[0] is state (field 3); ppid is field 4, utime and stime 14, 15
        if pid == "2" or fields[1] == "2":
            continue  # kernel threads: may be doing our packets' work, not counted
        out.append(f"{pid} {int(fields[11]) + int(fields[12])} {comm}")
    with open("/proc/stat") as f:
        lines = [line.split() for line in f if line.startswith("cpu")]
    out.append(f"total {busy_ticks(lines[0][1:])} {os.sysconf('SC_CLK_TCK')}")
    out += [f"{a[0]} {busy_ticks(a[1:])}" for a in lines[1:]]
    out.append(f"wall {time.clock_gettime(time.CLOCK_MONOTONIC):.3f}")
    return "\n".join(out)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "busy":
        p0, _, hz = read(sys.argv[2])
        p1, _, _ = read(sys.argv[3])
        try:
            ours = set(open(sys.argv[4]).read().split())
        except OSError:
            ours = set()
        by = others(p0, p1, ours)
        top = max(by.items(), key=lambda x: x[1])[0] if by else "-"
        print(f"{sum(by.values()) / hz:.2f} {top}")
        return 0
    print(snapshot())
    return 0


if __name__ == "__main__":
    sys.exit(main())
