#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Smoke pass of one benchmark binary (meson suite 'bench').

Runs it with a fixed small iteration count, the JSON written to a
temporary file, and checks: exit status 0, the JSON parses, it lists at
least one benchmark, and no benchmark reported an error. Speed is never
asserted. HF_BENCH_SMOKE=1 (set by meson) keeps the workloads small.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    exe = sys.argv[1]
    extra = sys.argv[2:]
    env = dict(os.environ)
    env.setdefault("HF_BENCH_SMOKE", "1")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        cmd = [exe, "--benchmark_min_time=1000x", "--benchmark_out=" + out,
               "--benchmark_out_format=json", "--benchmark_color=false"] + extra
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=280)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        if p.returncode != 0:
            print("FAIL: %s exited with %d" % (exe, p.returncode))
            return 1
        with open(out) as f:
            data = json.load(f)
    runs = data.get("benchmarks", [])
    if not runs:
        print("FAIL: no benchmarks in the JSON output")
        return 1
    bad = [r["name"] for r in runs if r.get("error_occurred")]
    for r in runs:
        if r.get("error_occurred"):
            print("FAIL: %s: %s" % (r["name"], r.get("error_message")))
    if bad:
        return 1
    print("ok: %d benchmarks ran, JSON parses" % len(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
