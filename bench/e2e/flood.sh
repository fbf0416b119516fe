#!/usr/bin/env bash
# A random-subdomain ("water torture") flood, side by side (issue 15,
# "Random-subdomain floods"): holdfast, Unbound (aggressive-nsec: yes) and
# Knot Resolver, each in turn on side_by_side.sh's path.
#
#   bench/e2e/flood.sh           the whole run: about 2 minutes per server
#   bench/e2e/flood.sh --smoke   every part for a few seconds (about 65
#                                s); results go to /tmp/hf-flood-smoke
#                                unless --out; checks that every part
#                                produced results, asserts no speed
#   options: --out DIR (default bench/results/flood), --holdfast PATH
#            (default: build/holdfast, built with ninja), --holdfastctl PATH
#            (default: beside the holdfast binary), --servers "holdfast
#            unbound kresd", --hit-qps N (default 20000), --trickle-qps N
#            (default 50), --flood-names N (random names per flood zone;
#            default 1000000, smoke 5000), --fetches-per-zone N (holdfast's;
#            default 20)
#   environment: HF_FLOOD_TAG (lab tag, default fld), HF_FLOOD_UPSTREAM_ADDR
#            (the lab's loopback base, default 127.90.254.53; the signed
#            world takes 127.91-95.254.53), HF_FLOOD_COMMIT (what to call the
#            holdfast build in the results; default git describe)
#
# The path is side_by_side.sh's (lib.sh): the lab with its signed world, the
# server on CPU 1 behind the veth pair (holdfast through DPDK net_af_xdp,
# its worker on CPU 1 and its control thread on CPU 0; the peers through the
# kernel's UDP stack, one thread each on CPU 1), the generators in the
# client namespace on CPU 0. Every server validates with the lab's root
# anchor and forwards to the lab's iterator-only Unbound. One server at a
# time; the lab's Unbound is flushed before each.
#
# Per server:
#   1. warm: the hit set (gen-1 .. gen-1000.test A, TTL 3600) twice, and
#      one NXDOMAIN under each flood zone (alg13.de, signed with NSEC;
#      unsigned.de, not signed);
#   2. baseline: dnsperf asks the hit set at --hit-qps (a rate every server
#      carries without loss) alone: answered/s, loss, latency;
#   3. flood: the same hit load, plus kxdpgun as fast as it sends (XDP, one
#      thread, nice 19: it must not starve the hit load and the trickle on
#      their shared core) over a file of random names (12 random [a-z0-9] characters)
#      alternating between <r>.alg13.de and <r>.unsigned.de, plus a trickle
#      of legitimate misses (bench/e2e/flood_trickle.py: --trickle-qps new
#      names <prefix>-N.wild.example.de, each of which exists, one query
#      each, a right answer being A 192.0.2.2 within 5 s);
#   4. after: the hit load alone again (is the hit path back?).
# The server's RSS (VmRSS, VmHWM) after the warm-up and after the flood;
# holdfast's counters (`holdfastctl --json stats`) around every phase; after
# every phase the veth pair's and the client's drop counters and the
# server's threads' run and wait-for-CPU times (net_snap).
# dnsperf and the trickle send from ports below 2000: kxdpgun's XDP program
# takes every UDP packet to a port from 2000 up on the client interface.
#
# Writes flood.json and flood.md (bench/e2e/flood_report.py) under --out,
# with the configs, versions and raw tool output beside them. Run as root on
# Debian 12. See docs/bench.md, "Random-subdomain flood".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
lab=$top/tests/lab/lab.sh
# shellcheck source=lib.sh
. "$here/lib.sh"

log() { echo "flood: [$(($(date +%s) - ${t_start:-$(date +%s)})) s] $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

smoke=0
out=
holdfast=
holdfastctl=
servers="holdfast unbound kresd"
hit_qps=20000
trickle_qps=50
flood_names=
fetches_per_zone=20
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--out) out=$2; shift ;;
	--holdfast) holdfast=$2; shift ;;
	--holdfastctl) holdfastctl=$2; shift ;;
	--servers) servers=$2; shift ;;
	--hit-qps) hit_qps=$2; shift ;;
	--trickle-qps) trickle_qps=$2; shift ;;
	--flood-names) flood_names=$2; shift ;;
	--fetches-per-zone) fetches_per_zone=$2; shift ;;
	-h | --help) header_help "$0" ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
if [ $smoke = 1 ]; then
	mode=smoke base_t=2 flood_t=4 after_t=2 kx_pad=2
	flood_names=${flood_names:-5000}
	out=${out:-/tmp/hf-flood-smoke}
else
	mode=full base_t=30 flood_t=60 after_t=10 kx_pad=4
	flood_names=${flood_names:-1000000}
	out=${out:-$top/bench/results/flood}
fi
for v in hit_qps trickle_qps flood_names fetches_per_zone; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v//_/-} takes a positive whole number"
done
read -r -a servers <<<"$servers"
for s in "${servers[@]}"; do
	case $s in holdfast | unbound | kresd) ;; *) die "--servers: holdfast, unbound or kresd, not '$s'" ;; esac
done

prelude flood
holdfastctl=${holdfastctl:-$(dirname "$holdfast")/holdfastctl}
if [ ! -x "$holdfastctl" ] && [ "$holdfastctl" = "$top/build/holdfastctl" ]; then
	ninja -C "$top/build" holdfastctl >/dev/null || die "building holdfastctl failed"
fi
[ -x "$holdfastctl" ] || die "no holdfastctl at $holdfastctl (--holdfastctl)"
for t in kxdpgun dnsperf unbound unbound-control kresd python3 taskset dig ethtool; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh)"
done

# ---------------------------------------------------------------- the lab
export HF_LAB_TAG=${HF_FLOOD_TAG:-fld} HF_LAB_WORLD=1 HF_LAB_TTL_NAMES=0
export HF_LAB_UPSTREAM_ADDR=${HF_FLOOD_UPSTREAM_ADDR:-127.90.254.53}
backend_addr=127.0.0.1 # (no dnsdist here: peer_confs renders its config all the same)
run=$(mktemp -d /tmp/hf-flood.XXXXXX)
export HF_LAB_DIR=$run/lab
raw=$run/raw
mkdir -p "$raw"
export SBS_RUN=$run SBS_HOLDFAST=$holdfast SBS_DRIVER=af_xdp SBS_PREFIX=hf_flood

flood_stop() {
	if [ -n "${SBS_HOST_IF:-}" ]; then stop_all; fi
	stop_sniffers
}
lab_traps flood_stop

log "== lab up (signed world), $(wc -w <<<"${servers[*]}") servers"
"$lab" up >"$run/lab.log" 2>&1 || { tail -n 20 "$run/lab.log" >&2; die "lab.sh up failed"; }
eval "$("$lab" env)"
ns=(ip netns exec "$HF_LAB_NETNS")
host_mac=$(cat "/sys/class/net/$HF_LAB_HOST_IF/address")
upstream=$HF_LAB_RESOLVER_ADDR
check=(www.example.de A 192.0.2.1 ad) # name type answer flag (wait_answer)
check_zone=example.de.
signed_zone=alg13.de
unsigned_zone=unsigned.de
# What an operator sets against such floods (docs/config.md): aggressive-nsec
# is on by default; fetches-per-zone bounds what the unsigned zone's flood
# takes of the in-flight table and the forwarder.
holdfast_extra="--dnssec yes --trust-anchor $HF_LAB_TRUST_ANCHOR --aggressive-nsec yes --fetches-per-zone $fetches_per_zone"
export SBS_HOST_IF=$HF_LAB_HOST_IF SBS_NETNS=$HF_LAB_NETNS SBS_UPSTREAM=$upstream
export SBS_HOLDFAST_EXTRA=$holdfast_extra
start_sniffers "$raw"
peer_confs signed
# Unbound 1.17 has it on by default (unbound-checkconf -o aggressive-nsec); set
# here all the same, as issue 15 names it.
sed -i 's/^server:$/server:\n\taggressive-nsec: yes/' "$run/unbound.conf"
unbound-checkconf "$run/unbound.conf" >/dev/null || die "unbound.conf does not check"

# The query files: the hit set, and the flood (the same for every server:
# names drawn with a fixed seed).
hits=$run/hits.txt
awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "gen-%d.test A\n", i }' >"$hits"
flood=$run/flood.txt
awk -v n="$flood_names" -v s="$signed_zone" -v u="$unsigned_zone" 'BEGIN {
	srand(15); c = "abcdefghijklmnopqrstuvwxyz0123456789"
	for (i = 0; i < n; i++)
		for (z = 0; z < 2; z++) {
			l = ""
			for (j = 0; j < 12; j++) l = l substr(c, 1 + int(rand() * 36), 1)
			printf "%s.%s A\n", l, (z ? u : s)
		}
}' >"$flood"

{
	facts_common "$mode" "${HF_FLOOD_COMMIT:-}"
	facts_tools
	echo "servers=${servers[*]}"
	echo "hit_names=$(wc -l <"$hits")"
	echo "hit_qps=$hit_qps"
	echo "trickle_qps=$trickle_qps"
	echo "flood_names_per_zone=$flood_names"
	echo "signed_zone=$signed_zone"
	echo "unsigned_zone=$unsigned_zone"
	echo "fetches_per_zone=$fetches_per_zone"
	echo "base_t=$base_t"
	echo "flood_t=$flood_t"
	echo "after_t=$after_t"
	echo "kx_t=$((flood_t + kx_pad))"
	echo "upstream=$upstream"
} >"$raw/facts.txt"
warn_if_busy

# ---------------------------------------------------------------- measuring
hf_stats() { # server file
	[ "$1" = holdfast ] || return 0
	"$holdfastctl" -s "$run/holdfast.sock" --json stats >"$2" 2>&1 || log "warning: holdfastctl stats failed: $(head -c 200 "$2")"
}
rss() { # server phase: "phase VmRSS VmHWM" (KiB) into $raw/<server>.rss.txt
	local pid
	pid=$(cat "$run/$1.pid")
	awk -v p="$2" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print p, r, h }' "/proc/$pid/status" >>"$raw/$1.rss.txt"
}
# Where packets go missing outside the server (the machine's share of a
# loss): both ends of the veth pair (ip -s -s link; ethtool -S for veth's
# XDP counters) and the client namespace's UDP counters (a generator's
# socket buffer overflowing: RcvbufErrors), into $raw/<server>.net.<phase>.txt
net_snap() { # server phase
	{
		echo "# host $HF_LAB_HOST_IF"
		ip -s -s link show dev "$HF_LAB_HOST_IF"
		ethtool -S "$HF_LAB_HOST_IF" 2>/dev/null || true
		echo "# client $HF_LAB_CLIENT_IF"
		ip -n "$HF_LAB_NETNS" -s -s link show dev "$HF_LAB_CLIENT_IF"
		"${ns[@]}" ethtool -S "$HF_LAB_CLIENT_IF" 2>/dev/null || true
		echo "# client snmp"
		"${ns[@]}" grep -E '^Udp:' /proc/net/snmp
		echo "# softnet"
		cat /proc/net/softnet_stat
		# the server's AF_XDP sockets: their drops (RX ring full, fill ring
		# empty); nothing without the kernel's xsk_diag
		echo "# xsk"
		ss -a --xdp -e -m 2>/dev/null || true
		# the server's threads: run time and time waiting for a CPU (ns),
		# /proc/PID/task/TID/schedstat: did something else take their CPU?
		echo "# sched"
		local pid t
		pid=$(cat "$run/$1.pid")
		for t in /proc/"$pid"/task/*; do
			echo "$(cat "$t/comm" 2>/dev/null | tr ' ' _) $(cat "$t/schedstat" 2>/dev/null)"
		done
	} >"$raw/$1.net.$2.txt" 2>&1
}
# the hit load: dnsperf from ports 1100-1107 (below kxdpgun's), -v for the
# latencies of every answer; up to 50,000 queries outstanding, so that a
# server that loses queries does not slow the rate offered (a query not
# answered within 2 s is lost)
hit_load() { # server phase seconds
	timeout $(($3 + 30)) "${ns[@]}" taskset -c 0 dnsperf -s "$SERVICE4" -d "$hits" -l "$3" -Q "$hit_qps" \
		-c 8 -q 50000 -x 1100 -t 2 -v >"$raw/$1.$2.hits.txt" 2>&1 || true
}
hit_line() { # server phase
	awk -v s="$1" -v p="$2" '/Queries sent/ { q = $3 } /Queries completed/ { a = $3 } /Queries per second/ { r = $4 }
		END { printf "flood:   %-8s %-8s hits sent %8d answered %8d (%.0f qps)\n", s, p, q, a, r }' "$raw/$1.$2.hits.txt" >&2
}
# The id of the XDP program on the client interface (empty: none). kxdpgun
# loads a new one once it has read its query file, just before it sends.
kx_prog() {
	ip -n "$HF_LAB_NETNS" -d link show dev "$HF_LAB_CLIENT_IF" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "prog/xdp" && $(i + 1) == "id") { print $(i + 2); exit } }'
}

bench_server() { # name
	local s=$1 kx=$raw/$1.flood.kx.txt kxpid prog0
	log "== $s"
	if ! { unbound-control -c "$HF_LAB_UNBOUND_CONF" flush_zone . &&
		unbound-control -c "$HF_LAB_UNBOUND_CONF" flush_infra all &&
		unbound-control -c "$HF_LAB_UNBOUND_CONF" flush_requestlist; } >/dev/null; then
		log "warning: flushing the lab's Unbound failed"
	fi
	server_up "$s"
	# warm: the hit set (at most 10 questions in flight: every hit name is
	# under test., and holdfast's fetches-per-zone would refuse more), then
	# again, every answer NOERROR; one NXDOMAIN under each flood zone
	timeout 60 "${ns[@]}" taskset -c 0 dnsperf -s "$SERVICE4" -d "$hits" -n 1 -c 8 -q 10 -x 1100 -t 5 \
		>"$raw/$s.warm.txt" 2>&1 || true
	timeout 60 "${ns[@]}" taskset -c 0 dnsperf -s "$SERVICE4" -d "$hits" -n 1 -c 8 -x 1100 -t 5 \
		>"$raw/$s.warm2.txt" 2>&1 || true
	grep -q "Response codes: *NOERROR $(wc -l <"$hits") (100.00%)" "$raw/$s.warm2.txt" ||
		die "$s: the hit set is not all cached: $(grep -E 'Queries lost|Response codes' "$raw/$s.warm2.txt" | tr -s ' ' | tr '\n' ' ')"
	for z in "$signed_zone" "$unsigned_zone"; do
		"${ns[@]}" dig +time=5 +tries=1 +dnssec @"$SERVICE4" "warm-nx.$z" A >"$raw/$s.warm.$z.txt" 2>&1 || true
		grep -q 'status: NXDOMAIN' "$raw/$s.warm.$z.txt" || die "$s: warm-nx.$z is not NXDOMAIN: $(grep -E 'status:' "$raw/$s.warm.$z.txt")"
	done
	sleep 1
	rss "$s" warm
	hf_stats "$s" "$raw/$s.stats.warm.json"
	net_snap "$s" warm

	hit_load "$s" baseline "$base_t"
	hit_line "$s" baseline
	hf_stats "$s" "$raw/$s.stats.baseline.json"
	net_snap "$s" baseline

	# the flood: kxdpgun first (it reads its file before it sends), then
	# the hit load and the trickle for flood_t seconds while it sends.
	# kxdpgun at nice 19: as fast as it sends with what CPU 0 leaves it, so
	# that it does not starve the hit load and the trickle (its neighbours
	# on that core) of the CPU they need to send and receive
	prog0=$(kx_prog)
	timeout $((flood_t + 90)) "${ns[@]}" taskset -c 0 nice -n 19 kxdpgun -t $((flood_t + kx_pad)) -Q 10000000 -F 0 \
		-I "$HF_LAB_CLIENT_IF" -R "$host_mac" -i "$flood" "$SERVICE4" >"$kx" 2>&1 &
	kxpid=$!
	for _ in $(seq 600); do
		[ "$(kx_prog)" != "$prog0" ] && [ -n "$(kx_prog)" ] && break
		kill -0 "$kxpid" 2>/dev/null || break
		sleep 0.1
	done
	[ "$(kx_prog)" != "$prog0" ] || { cat "$kx" >&2; die "kxdpgun did not start against $s"; }
	sleep 1
	"${ns[@]}" taskset -c 0 "$here/flood_trickle.py" --port 1090 "$SERVICE4" \
		"$s-$(date +%s)" wild.example.de 192.0.2.2 "$trickle_qps" "$flood_t" "$raw/$s.trickle.json" &
	local trpid=$!
	hit_load "$s" flood "$flood_t"
	wait "$trpid" || log "warning: the trickle failed against $s"
	wait "$kxpid" || true
	grep -q '^total replies' "$kx" || { cat "$kx" >&2; die "kxdpgun gave no totals against $s"; }
	awk -v s="$s" '/^total queries/ { q = $3 } /^total replies/ { a = $3 }
		END { printf "flood:   %-8s flood    sent %9d answered %9d (%.2f%%)\n", s, q, a, q ? 100 * a / q : 0 }' "$kx" >&2
	hit_line "$s" flood
	hf_stats "$s" "$raw/$s.stats.flood.json"
	net_snap "$s" flood
	rss "$s" flood

	sleep 1
	hit_load "$s" after "$after_t"
	hit_line "$s" after
	hf_stats "$s" "$raw/$s.stats.after.json"
	net_snap "$s" after
	rss "$s" after
	stop_all
	sleep 1 # let the kernel finish tearing down XDP sockets and ports
}

for s in "${servers[@]}"; do
	bench_server "$s"
done
host_if_dpdk

# ---------------------------------------------------------------- report
stop_sniffers
rm -rf -- "$out/raw"
mkdir -p "$out"
cp "$run/unbound.conf" "$run/kresd.conf" "$out/"
sed -i -e "s|$run|/tmp/hf-flood.RUN|g" "$out"/*.conf
printf '%s\n' "holdfast -l 0,1 --no-huge -m 1024 --no-pci --file-prefix=hf_flood --vdev=net_${SBS_DRIVER}0,iface=$HF_LAB_HOST_IF -- --service-address $SERVICE4 --forwarder $upstream@53 --control-socket /tmp/hf-flood.RUN/holdfast.sock $holdfast_extra" |
	sed -e "s|$run|/tmp/hf-flood.RUN|g" >"$out/holdfast.cmdline"
versions_txt >"$out/versions.txt"
head -n 4 "$flood" >"$raw/flood_head.txt"
finish_raw "$raw" "$out/raw"
check_opt=()
[ $smoke = 1 ] && check_opt=(--check)
"$here/flood_report.py" "${check_opt[@]}" "$raw" "$out" || die "report failed"
log "done in $(($(date +%s) - t_start)) s: $out/flood.{json,md}"
cat "$out/flood.md"
