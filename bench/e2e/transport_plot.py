#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The TCP/TLS side-by-side chart from one bench/e2e/transport.sh run.

    bench/e2e/transport_plot.py RESULTS/transport.json RESULTS/transport.png

Grouped bars, one group per measurement (answered queries/s over TCP and
over DoT with long-lived connections, from dnsperf and from bench/stream_load; new TCP connections/s, TLS full and
resumed handshakes/s with short ones), one bar per server; every number
comes from the JSON, that is from one run (its median round per server),
and the subtitle names the holdfast commit and the date. Needs gnuplot.
"""
import json
import os
import subprocess
import sys
import tempfile

PARTS = [('tcp.long.max', 'TCP'),
         ('dot.long.max', 'DoT'),
         ('tcp.long.gen', 'TCP*'),  # * bench/stream_load (the xlabel says so)
         ('dot.long.gen', 'DoT*'),
         ('tcp.short', 'TCP connect'),
         ('tls.short', 'TLS full'),
         ('tls.short.resumed', 'TLS resumed')]
COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd']


def rate(part):
    for k in ('answered_qps', 'per_second'):
        if k in part:
            return part[k]
    sys.exit('transport_plot.py: no rate in %s' % sorted(part))


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: transport_plot.py TRANSPORT.json OUT.png')
    j = json.load(open(sys.argv[1]))
    servers = list(j['servers'])
    f = j['facts']
    rows = []
    for key, label in PARTS:
        vals = []
        for s in servers:
            p = j['servers'][s]['parts'].get(key)
            if p is None:
                sys.exit('transport_plot.py: %s has no %s' % (s, key))
            vals.append(rate(p))
        rows.append((label, vals))
    with tempfile.TemporaryDirectory() as d:
        dat = os.path.join(d, 'transport.dat')
        with open(dat, 'w') as o:
            # long-lived rates and short-connection rates differ by 10-100x:
            # two plots, same bars
            for label, vals in rows:
                o.write('"%s" %s\n' % (label, ' '.join(str(v) for v in vals)))
        titles = ' '.join('"%s"' % j['servers'][s]['label'] for s in servers)
        gp = '''
set terminal pngcairo size 1000,560 noenhanced font 'DejaVu Sans,11'
set output '%(out)s'
set multiplot layout 1,2 title "DNS over TCP and TLS, one server core (dnsperf, bench/stream_load, bench/conn_rate)\\nholdfast %(commit)s, %(date)s, median round of %(rounds)s" font ",11"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set grid ytics lc rgb '#dddddd'
set format y '%%.0s%%c'
set yrange [0:*]
set key top right
titles = '%(titles)s'
n = %(n)d
array C[4] = ["%(c0)s", "%(c1)s", "%(c2)s", "%(c3)s"]
set ylabel 'answered queries per second (long-lived connections)'
set xlabel 'dnsperf; * bench/stream_load (the same wire, a cheaper client)'
plot for [i=2:n+1] '%(dat)s' every ::0::3 using i:xtic(1) lc rgb C[i-1] title word(titles, i-1)
set ylabel 'connections (one query each) per second'
unset xlabel
plot for [i=2:n+1] '%(dat)s' every ::4::6 using i:xtic(1) lc rgb C[i-1] title word(titles, i-1)
unset multiplot
''' % dict(out=sys.argv[2], commit=f.get('holdfast_commit', '?'), date=f.get('date', '?'),
           rounds=f.get('rounds', '?'), titles=titles, n=len(servers), dat=dat,
           c0=COLOURS[0], c1=COLOURS[1], c2=COLOURS[2], c3=COLOURS[3])
        r = subprocess.run(['gnuplot'], input=gp, text=True, capture_output=True)
        if r.returncode != 0 or r.stderr.strip():
            sys.exit('transport_plot.py: gnuplot: %s' % r.stderr.strip())


if __name__ == '__main__':
    main()
