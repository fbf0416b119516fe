#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The per-core 100k EDNS workloads in several separate processes.

One process's numbers move with where its memory landed and with what
other guests do to the shared L3; a batch of processes shows the spread.
Runs build/bench/per_core N times (floor, 100k uniform and 100k Zipf,
EDNS, hits only, 3 repetitions each), merges the JSON (each benchmark
gets a "process" field) and prints medians and ranges:

    bench/per_core_processes.py [-n 8] [-o bench/results/per_core_100k_processes.json]

--smoke (CI): 2 processes of 1000 iterations each, to /tmp unless -o;
it checks that every run reported its counters and no error, and asserts
no speed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

FILTER = 'BM_per_core_(floor_100k_edns|100k_(uniform|zipf)_edns_0miss)$'
NAMES = ['BM_per_core_floor_100k_edns', 'BM_per_core_100k_uniform_edns_0miss',
         'BM_per_core_100k_zipf_edns_0miss']


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('-n', type=int, default=8, help='processes (default 8)')
    ap.add_argument('-o', default='bench/results/per_core_100k_processes.json')
    ap.add_argument('--bin', default='build/bench/per_core')
    ap.add_argument('--smoke', action='store_true', help='2 short processes (CI)')
    a = ap.parse_args()
    if a.n < 1:
        sys.exit('per_core_processes.py: -n must be at least 1')
    args = [a.bin, '--benchmark_filter=' + FILTER, '--benchmark_repetitions=3',
            '--benchmark_format=json']
    if a.smoke:
        a.n = 2
        args.append('--benchmark_min_time=1000x')
        if a.o == ap.get_default('o'):
            a.o = '/tmp/per_core_100k_processes_smoke.json'
    merged = None
    for i in range(a.n):
        r = subprocess.run(args, capture_output=True, text=True,
                           env=dict(os.environ, HF_BENCH_SMOKE='1') if a.smoke else None)
        if r.returncode != 0:
            sys.exit('per_core_processes.py: %s failed: %s' % (a.bin, r.stderr.strip()[-500:]))
        j = json.loads(r.stdout)
        if merged is None:
            merged = {'context': j['context'], 'benchmarks': []}
        for bm in j['benchmarks']:
            if bm.get('error_occurred'):
                sys.exit('per_core_processes.py: %s: %s' % (bm['name'], bm.get('error_message')))
            bm['process'] = i
            merged['benchmarks'].append(bm)
    with open(a.o, 'w') as f:
        json.dump(merged, f, indent=1)
        f.write('\n')

    def runs(name, key):
        v = [bm[key] for bm in merged['benchmarks']
             if bm['run_type'] == 'iteration' and bm['run_name'] == name]
        if len(v) != 3 * a.n:
            sys.exit('per_core_processes.py: %d runs of %s with %s, not %d' % (len(v), name, key, 3 * a.n))
        return v

    print('%d processes, 3 repetitions each (%s)' % (a.n, a.o))
    for name in NAMES:
        rate, cyc = runs(name, 'answers_per_second'), runs(name, 'cycles_per_answer')
        line = '%-38s %6.2f M/s (%.2f-%.2f), %3.0f cycles' % (
            name, statistics.median(rate) / 1e6, min(rate) / 1e6, max(rate) / 1e6,
            statistics.median(cyc))
        if 'floor' not in name:
            fr = runs(name, 'floor_fraction')
            line += ', floor fraction %.3f (%.3f-%.3f)' % (statistics.median(fr), min(fr), max(fr))
        print(line)


if __name__ == '__main__':
    main()
