#!/bin/bash
# baseline hit loss (no flood), alternating two holdfast builds: the first 30 s phase of flood.sh
out=/tmp/base_ab; rm -rf $out; mkdir -p $out
cd /work/main
for r in 1 2; do
  for side in base head; do
    if [ $side = base ]; then bin=/tmp/wt-base/build/holdfast; else bin=/work/main/build/holdfast; fi
    log=$out/$side-r$r.log
    setsid bench/e2e/flood.sh --servers holdfast --holdfast $bin --out $out/$side-r$r > $log 2>&1 < /dev/null &
    pid=$!
    for i in $(seq 150); do grep -q "baseline hits" $log && break; sleep 1; done
    sleep 1
    kill -TERM -- -$pid 2>/dev/null
    wait $pid
    sleep 2
    HF_LAB_TAG=fld timeout 60 tests/lab/lab.sh down >/dev/null 2>&1
    echo "$side r$r: $(grep 'baseline hits' $log) drops=$(grep -m1 rx_queue_0_drops $out/$side-r$r.raw 2>/dev/null)"
    sleep 2
  done
done
