#!/bin/bash
# per-core guard: ec1d972 (before) against the fl branch head (zone-mark grace + ring-full answer)
out=/tmp/ringab
uptime > $out/load.txt
for r in 1 2 3; do
  for side in base fl; do
    if [ $side = base ]; then bin=/work/main/build/bench/per_core; else bin=/work/fl/build/bench/per_core; fi
    taskset -c 1 $bin --benchmark_filter='BM_per_core_100k_(uniform|zipf)_edns_0miss$' --benchmark_repetitions=3 \
      --benchmark_out=$out/$side-round$r.json >/dev/null 2>$out/$side-round$r.err
  done
done
uptime >> $out/load.txt
