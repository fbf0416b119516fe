# Answered vs offered queries per second, one line per server, from
# report.py's side_by_side.dat (one block per server: sent qps, answered qps)
# and side_by_side.gpvars (n, titles t0.., xmax, subtitle).
#   gnuplot -e "datafile='X.dat'; outfile='X.png'" bench/e2e/plot.gp
varsfile = datafile[1:strlen(datafile) - 4] . '.gpvars'
load varsfile

set terminal pngcairo size 1000,620 noenhanced font 'DejaVu Sans,11'
set output outfile
set title "Answered vs offered queries per second (kxdpgun over a veth pair, one server core)\n".subtitle font ",10"
set xlabel 'offered (sent) queries per second'
set ylabel 'answered queries per second'
set format x '%.0s%c' ; set format y '%.0s%c'
set xrange [0:xmax * 1.08]
set yrange [0:xmax * 1.08]
set grid lc rgb '#dddddd'
set key top left box opaque Left reverse width 1
set style line 1 lc rgb '#d62728' lw 3 pt 7 ps 1.4
set style line 2 lc rgb '#1f77b4' lw 2 pt 5 ps 1.2
set style line 3 lc rgb '#2ca02c' lw 2 pt 9 ps 1.4
set style line 4 lc rgb '#9467bd' lw 2 pt 13 ps 1.4
set style line 5 lc rgb '#8c564b' lw 2 pt 11 ps 1.4
title(i) = value(sprintf('t%d', i))
plot x with lines dt 2 lc rgb '#999999' title 'answered = offered (no loss)', \
     for [i = 0:n - 1] datafile index i using 1:2 with linespoints ls (i + 1) title title(i)
