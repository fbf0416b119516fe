#!/usr/bin/env bash
# Soak (issue 12): holdfast on net_af_xdp under a steady mixed load for a
# long time, sampled every 10 s; what must stay flat does.
#
#   bench/e2e/soak.sh [--minutes 10] [--rate 50000] [--out DIR]
#
# The load (kxdpgun from the lab's client namespace, cycling one file):
#   70% hits      gen-1..1000.test (TTL 3600)
#   10% expiring  w<N>.ttl5.test (TTL 5: refreshed while asked, parked at expiry)
#   10% NXDOMAIN  nx<N>.test from a set of 1000 (negative answers, cached 60 s)
#   10% misses    m<N>.test, 1.2M distinct, with cache-entries 65536 so they
#                 keep evicting one another and missing again
# holdfast: one worker (CPU 1), control on CPU 0 with the generator,
# forwarding to the lab's knotd, no validation.
#
# Every 10 s: holdfast's RSS, the mbuf pool's free count, waiters,
# resolutions in flight, cache entries, and the counters (answers, drops by
# reason, park_full, port rx_missed). At the end: the least-squares slope
# of each gauge per minute over the run (after the first minute's warm-up),
# and the answered fraction. Writes DIR/soak.json (default
# bench/results/) and prints a table. Goal: every gauge's slope about 0.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
minutes=10 rate=50000 out=$top/bench/results holdfast=${HOLDFAST:-}
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 2 ] || { echo "soak.sh: --minutes: a whole number, at least 2" >&2; exit 2; }
log() { echo "soak: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
. "$here/lib.sh"
prelude soak

export HF_LAB_TAG=soak HF_LAB_WORLD=0 HF_LAB_UPSTREAM_ADDR=${HF_SOAK_UPSTREAM_ADDR:-127.53.251.53}
run=$(mktemp -d /tmp/hf-soak.XXXXXX)
pidf=$run/holdfast.pid
cleanup() {
	[ -n "${kxpid:-}" ] && kill "$kxpid" 2>/dev/null || true
	stop_pidfile "$pidf" holdfast
	"$top/tests/lab/lab.sh" down >/dev/null 2>&1 || true
	rm -rf "$run"
}
trap cleanup EXIT
"$top/tests/lab/lab.sh" up >/dev/null 2>&1 || die "lab up failed"
eval "$("$top/tests/lab/lab.sh" env)"
ns=(ip netns exec "$HF_LAB_NETNS")
host_mac=$(cat "/sys/class/net/$HF_LAB_HOST_IF/address")

python3 - "$run/queries" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1200000):
        k = i % 10
        if k < 7:
            f.write(f"gen-{i % 1000 + 1}.test A\n")
        elif k == 7:
            f.write(f"w{i % 1000}.ttl5.test A\n")
        elif k == 8:
            f.write(f"nx{i % 1000}.test A\n")
        else:
            f.write(f"m{i}.test A\n")
PY

wait_xdp_detached "$HF_LAB_HOST_IF"
taskset -c 0,1 "$holdfast" -l 0,1 --no-huge -m 1024 --no-pci --file-prefix=hf_soak \
	--vdev=net_af_xdp0,iface="$HF_LAB_HOST_IF" -- \
	--service-address "$HF_LAB_SERVICE4" --forwarder "$HF_LAB_UPSTREAM" --dnssec no \
	--cache-entries 65536 --control-socket "$run/holdfast.sock" >"$run/holdfast.log" 2>&1 &
echo $! >"$pidf"
hpid=$(cat "$pidf")
for _ in $(seq 100); do
	"${ns[@]}" dig +time=1 +tries=1 +short "@$HF_LAB_SERVICE4" gen-1.test A | grep -q 203.0.113.1 && break
	sleep 0.2
done
secs=$((minutes * 60))
"${ns[@]}" taskset -c 0 kxdpgun -t "$secs" -Q "$rate" -F 0 -I "$HF_LAB_CLIENT_IF" -R "$host_mac" \
	-i "$run/queries" "$HF_LAB_SERVICE4" >"$run/kxdpgun.txt" 2>&1 &
kxpid=$!
: >"$run/samples"
t0=$(date +%s)
while kill -0 "$kxpid" 2>/dev/null; do
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$hpid/status")
	printf '{"t": %d, "rss_kib": %d, "stats": %s}\n' "$(($(date +%s) - t0))" "$rss" \
		"$("$top/build/holdfastctl" -s "$run/holdfast.sock" --json stats)" >>"$run/samples"
	sleep 10
done
wait "$kxpid" || true
kxpid=
commit=$(git -C "$top" rev-parse --short HEAD)
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] || commit=$commit-dirty
mkdir -p "$out"
python3 - "$run/samples" "$run/kxdpgun.txt" "$commit" "$rate" "$minutes" >"$out/soak.json" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
kx = open(sys.argv[2]).read()
sent = int(re.search(r"total queries:\s+(\d+)", kx).group(1))
got = int(re.search(r"total replies:\s+(\d+)", kx).group(1))


def gauges(r):
    s = r["stats"]
    return {"rss_kib": r["rss_kib"], "mbuf_free": s["mbuf_pools"][0]["free"], "waiters": s["total"]["waiters"],
            "in_flight": s["control"]["in_flight"], "cache_entries": s["total"]["cache_entries"]}


def slope(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return 0.0 if sxx == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


steady = [r for r in rows if r["t"] >= 60] or rows
series = {k: [gauges(r)[k] for r in steady] for k in gauges(rows[0])}
ts = [r["t"] / 60.0 for r in steady]
first, last = rows[0]["stats"], rows[-1]["stats"]
drops = {k: last["total"]["drops"][k] - first["total"]["drops"][k] for k in last["total"]["drops"]}
print(json.dumps({
    "commit": sys.argv[3], "offered_qps": int(sys.argv[4]), "minutes": int(sys.argv[5]),
    "load": "70% hits, 10% TTL-5 names, 10% cached NXDOMAIN, 10% misses (1.2M names, cache-entries 65536); "
            "net_af_xdp, one worker, knotd upstream, no validation",
    "sent": sent, "answered": got, "answered_pct": round(100.0 * got / max(sent, 1), 3),
    "slope_per_minute": {k: round(slope(ts, v), 2) for k, v in series.items()},
    "min": {k: min(v) for k, v in series.items()}, "max": {k: max(v) for k, v in series.items()},
    "drops": drops, "rx_missed": last["ports"][0]["rx_missed"] - first["ports"][0]["rx_missed"],
    "samples": [dict(t=r["t"], **gauges(r)) for r in rows]}, indent=1))
PY
python3 - "$out/soak.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"soak, holdfast {d['commit']}: {d['minutes']} min at {d['offered_qps']} qps offered; {d['load']}")
print(f"answered {d['answered']:,} of {d['sent']:,} ({d['answered_pct']}%); port rx_missed {d['rx_missed']}; "
      f"drops {({k: v for k, v in d['drops'].items() if v})}")
print("| gauge | min | max | slope per minute (after the first minute) |")
print("|---|---:|---:|---:|")
for k, v in d["slope_per_minute"].items():
    print(f"| {k} | {d['min'][k]:,} | {d['max'][k]:,} | {v} |")
PY
