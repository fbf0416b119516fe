#!/usr/bin/env bash
# Names that expire under load (issue 12). --upstream resolver (default):
# 1000 wildcard names under the lab's signed example.de, every answer
# capped at a 5 s TTL by the lab's caching Unbound, validated by holdfast.
# --upstream auth: 1000 names under ttl5.test (a 5 s wildcard) straight
# from the lab's authoritative knotd, which hands out the full TTL every
# time, no validation. holdfast on net_af_xdp; warmed with two passes at
# 3k qps, then kxdpgun offers RATE qps for SECONDS. Counts, from holdfast's
# own counters, how many clients were parked per second (each one waited
# for a refresh because the name it asked had just expired), how many
# found the parking lot full, and how many queries were answered; for
# prefetch-percent 0 (no prefetch: the behaviour before it existed) and
# 10 (the default), alternating, ROUNDS times each.
#
#   bench/e2e/expiring.sh [--upstream resolver|auth] [--rate 100000] [--seconds 10]
#                         [--rounds 2] [--out DIR]
#
# Writes DIR/expiring-UPSTREAM.json (default bench/results/) and prints a table.
# Server (holdfast worker) on CPU 1, control and the generator on CPU 0.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
rate=100000 seconds=10 rounds=2 out=$top/bench/results holdfast=${HOLDFAST:-} upstream=resolver
while [ $# -gt 0 ]; do
	case $1 in
	--upstream) upstream=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "expiring.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
log() { echo "expiring: $*" >&2; }
die() { log "error: $*"; exit 1; }
case $upstream in resolver | auth) ;; *) die "--upstream is resolver or auth, not '$upstream'" ;; esac
# shellcheck source=lib.sh
. "$here/lib.sh"
prelude expiring

export HF_LAB_TAG=exp HF_LAB_RESOLVER_MAX_TTL=5 HF_LAB_UPSTREAM_ADDR=${HF_EXP_UPSTREAM_ADDR:-127.53.250.53}
run=$(mktemp -d /tmp/hf-exp.XXXXXX)
pidf=$run/holdfast.pid
cleanup() {
	stop_pidfile "$pidf" holdfast
	"$top/tests/lab/lab.sh" down >/dev/null 2>&1 || true
	rm -rf "$run"
}
trap cleanup EXIT
"$top/tests/lab/lab.sh" up >/dev/null 2>&1 || die "lab up failed"
eval "$("$top/tests/lab/lab.sh" env)"
ns=(ip netns exec "$HF_LAB_NETNS")
if [ "$upstream" = auth ]; then
	zone=ttl5.test want=198.51.100.55
	fwd=(--forwarder "$HF_LAB_UPSTREAM" --dnssec no)
	workload="1000 names *.ttl5.test A, TTL 5 s, from the authoritative knotd, not validated, net_af_xdp"
else
	zone=wild.example.de want=192.0.2.2
	fwd=(--forwarder "$HF_LAB_RESOLVER" --trust-anchor "$HF_LAB_TRUST_ANCHOR")
	workload="1000 names *.wild.example.de A, signed, validated, TTL capped at 5 s by a caching Unbound, net_af_xdp"
fi
for i in $(seq 0 999); do echo "w$i.$zone A"; done >"$run/names"
host_mac=$(cat "/sys/class/net/$HF_LAB_HOST_IF/address")
ctl() { "$top/build/holdfastctl" -s "$run/holdfast.sock" "$@"; }

kx() { # rate seconds
	"${ns[@]}" taskset -c 0 kxdpgun -t "$2" -Q "$1" -F 0 -I "$HF_LAB_CLIENT_IF" -R "$host_mac" \
		-i "$run/names" "$HF_LAB_SERVICE4" 2>&1
}

one() { # prefetch-percent -> one JSON object on stdout
	local pct=$1 kxout before after
	wait_xdp_detached "$HF_LAB_HOST_IF"
	taskset -c 0,1 "$holdfast" -l 0,1 --no-huge -m 1024 --no-pci --file-prefix=hf_exp \
		--vdev=net_af_xdp0,iface="$HF_LAB_HOST_IF" -- \
		--service-address "$HF_LAB_SERVICE4" "${fwd[@]}" --control-socket "$run/holdfast.sock" \
		--prefetch-percent "$pct" >"$run/holdfast.$pct.log" 2>&1 &
	echo $! >"$pidf"
	for _ in $(seq 100); do
		"${ns[@]}" dig +time=1 +tries=1 +short "@$HF_LAB_SERVICE4" "w0.$zone" A | grep -q "$want" && break
		sleep 0.2
	done
	kx 3000 1 >/dev/null
	kx 3000 1 >/dev/null
	before=$(ctl --json stats)
	kxout=$(kx "$rate" "$seconds")
	after=$(ctl --json stats)
	stop_pidfile "$pidf" holdfast
	python3 - "$pct" "$rate" "$seconds" "$before" "$after" "$kxout" <<'PY'
import json, re, sys
pct, rate, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
b, a, kx = json.loads(sys.argv[4])["total"], json.loads(sys.argv[5])["total"], sys.argv[6]
d = lambda k: a[k] - b[k]
dd = lambda k: a["drops"][k] - b["drops"][k]
sent = int(re.search(r"total queries:\s+(\d+)", kx).group(1))
got = int(re.search(r"total replies:\s+(\d+)", kx).group(1))
print(json.dumps({"prefetch_percent": pct, "offered_qps": rate, "seconds": secs, "sent": sent,
                  "answered": got, "answered_pct": round(100.0 * got / max(sent, 1), 2),
                  "parked_per_s": round(d("parked") / secs, 1), "park_full": dd("park_full"),
                  "refreshes": d("refreshes"), "hits_fresh": d("hits_fresh"), "hits_stale": d("hits_stale"),
                  "servfail": a["rcode"]["SERVFAIL"] - b["rcode"]["SERVFAIL"]}))
PY
}

commit=$(git -C "$top" rev-parse --short HEAD)
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] || commit=$commit-dirty
: >"$run/rows"
for r in $(seq "$rounds"); do
	for pct in 0 10; do
		log "round $r, prefetch-percent $pct"
		one "$pct" | tee -a "$run/rows" >&2
	done
done
mkdir -p "$out"
res=$out/expiring-$upstream.json
python3 - "$run/rows" "$commit" "$rate" "$seconds" "$workload" "$upstream" >"$res" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(json.dumps({"commit": sys.argv[2], "offered_qps": int(sys.argv[3]), "seconds": int(sys.argv[4]),
                  "workload": sys.argv[5], "upstream": sys.argv[6], "runs": rows}, indent=1))
PY
python3 - "$res" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"holdfast {d['commit']}: {d['workload']}; {d['offered_qps']} qps offered for {d['seconds']} s")
print("| prefetch-percent | answered | parked/s | park_full | refreshes | stale hits |")
print("|---:|---:|---:|---:|---:|---:|")
for r in d["runs"]:
    print(f"| {r['prefetch_percent']} | {r['answered_pct']}% | {r['parked_per_s']} | {r['park_full']} | "
          f"{r['refreshes']} | {r['hits_stale']} |")
PY
