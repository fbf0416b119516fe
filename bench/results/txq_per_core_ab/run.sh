#!/bin/bash
out=/tmp/txq-ab
uptime > $out/load.txt
for r in 1 2 3; do
  for side in 244a668 3312428; do
    if [ $side = 244a668 ]; then bin=/tmp/ab-base/build/bench/per_core; else bin=/work/main/build/bench/per_core; fi
    $bin --benchmark_filter='BM_per_core_(floor_)?100k_(uniform|zipf)_edns_0miss$' --benchmark_repetitions=3 \
      --benchmark_out=$out/$side-round$r.json >/dev/null 2>$out/$side-round$r.err
  done
done
uptime >> $out/load.txt
