#!/usr/bin/env bash
# holdfast side by side with Unbound, Knot Resolver and dnsdist (+ Unbound),
# end to end, on one path for everyone (issue 5, "Side by side, end to end").
#
#   bench/e2e/side_by_side.sh            the whole run: 3 rounds, medians
#                                        reported (about 15 minutes)
#   bench/e2e/side_by_side.sh --smoke    every part (all four servers, both
#                                        dnsperf runs, start-up) for about a
#                                        second each, one round (about 60 s);
#                                        results go to /tmp/hf-sbs-smoke unless
#                                        --out; checks that every part produced
#                                        results, asserts no speed
#   bench/e2e/side_by_side.sh --workload signed [--smoke]
#                                        the second workload: names that
#                                        expire, validated (below; full run
#                                        about 25 minutes, smoke about 60 s)
#   options: --out DIR (default bench/results), --holdfast PATH (default:
#            build/holdfast, built with ninja), --servers "holdfast unbound ...",
#            --rounds N (measurement rounds; every server once per round),
#            --startup-runs N (hyperfine runs per server; 5, smoke 2),
#            --workload static|signed (default static), --names N (signed:
#            how many names, default 1000), --holdfastctl PATH (signed;
#            default: beside the holdfast binary)
#   environment: HF_SBS_TAG (lab tag, default sbs), HF_SBS_COMMIT (what to
#            call the holdfast build in the results; default git describe)
#
# The path: the load generators run in the lab's client namespace (lab.sh,
# tag "sbs", knotd upstream on 127.53.254.53) on CPU 0; the server sits
# behind the veth pair on CPU 1. holdfast drives the host veth end through
# DPDK (net_af_xdp; net_af_packet if af_xdp does not come up, recorded);
# the peers listen on 198.18.53.1 through the kernel's UDP stack (the script
# assigns that address to the host veth end while a peer runs and removes it
# for holdfast). One server at a time, caches warmed first, same query file
# (tests/lab/queries.txt) for every tool and server.
#
# Per server and round: kxdpgun (XDP) at a ramp of offered rates -> sent,
# answered, loss; dnsperf at a fixed 20k qps -> latency percentiles; dnsperf
# unthrottled -> its rate and latency under load. Rounds interleave the
# servers (holdfast, peers, holdfast, peers, ...) so a noisy minute on a
# shared machine hits one round of everyone, and the report takes the median
# over rounds. hyperfine: start-up to first answer. Writes side_by_side.{json,md,png}, side_by_side_startup_*.json
# and side_by_side/ (the peers' configs, versions, raw tool output) under
# --out. Everything it starts is stopped and the lab removed on exit, also on
# error or Ctrl-C. Run as root on Debian 12. See docs/bench.md.
#
# --workload signed: the lab's signed world instead (tests/lab/lab.sh with
# HF_LAB_TTL_NAMES=N): N names nI.ttl.example.de A, signed, with TTLs of
# 5..60 s spread evenly, so that expiry, refresh and parking are on the
# measured path. holdfast validates with the lab's root trust anchor and
# forwards to the lab's iterator-only Unbound; Unbound and Knot Resolver
# validate with the same anchor and forward to the same Unbound; dnsdist sits
# in front of a validating Unbound that does. Full run: kxdpgun at 50k,
# 100k, 200k and max qps for 15 s each, dnsperf 20 s each (100 s measured
# per server and round, so every TTL runs out at least once); no start-up
# timing. holdfast's parked clients, stale answers, refreshes and SERVFAILs
# per measurement come from `holdfastctl --json stats` before and after;
# every server's SERVFAILs from kxdpgun's and dnsperf's rcode counts.
# Writes side_by_side_signed.{json,md,png} and side_by_side_signed/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
lab=$top/tests/lab/lab.sh
self=$here/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=lib.sh
. "$here/lib.sh"

log() { echo "sbs: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------- servers
# host_if_dpdk, host_if_kernel, start_server, stop_all, server_up: lib.sh
# (shared with flood.sh and with the hyperfine helpers below, which run as
# separate processes of this script and get the state through SBS_* vars).

# hyperfine helpers: --prepare stops everything, the timed command starts
# one server and returns at its first answer.
case ${1:-} in
--internal-stop)
	stop_all
	exit 0
	;;
--internal-first-answer)
	start_server "$2"
	exec ip netns exec "$SBS_NETNS" "$here/first_answer.py" "$SERVICE4" www.test 30
	;;
esac

# ---------------------------------------------------------------- options
smoke=0
out=
holdfast=
holdfastctl=
servers=
rounds=
startup_runs=
workload=static
names=1000
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--out) out=$2; shift ;;
	--holdfast) holdfast=$2; shift ;;
	--servers) servers=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--startup-runs) startup_runs=$2; shift ;;
	--workload) workload=$2; shift ;;
	--names) names=$2; shift ;;
	--holdfastctl) holdfastctl=$2; shift ;;
	-h | --help) header_help "$0" ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

case $workload in static | signed) ;; *) die "--workload is static or signed, not '$workload'" ;; esac
[[ $names =~ ^[1-9][0-9]{0,4}$ ]] || die "--names takes a number from 1 to 99999"
name=side_by_side # results: $out/$name.{json,md,png}, $out/$name/
[ "$workload" = signed ] && name=side_by_side_signed
if [ $smoke = 1 ]; then
	mode=smoke
	rates=(100000)              # offered qps per kxdpgun step ("max": as fast as it sends)
	kx_t=1                      # seconds per kxdpgun step
	dp_t=1                      # seconds per dnsperf run
	hf_runs=2                   # hyperfine runs per server
	rounds=${rounds:-1}
	servers=${servers:-"holdfast unbound kresd dnsdist"}
	out=${out:-/tmp/hf-sbs-smoke}
else
	mode=full
	rates=(100000 150000 200000 300000 400000 max)
	kx_t=5
	dp_t=10
	hf_runs=5
	rounds=${rounds:-3}
	servers=${servers:-"holdfast unbound kresd dnsdist"}
	out=${out:-$top/bench/results}
fi
if [ "$workload" = signed ]; then
	# Long enough that names expire while measured: 4 x 15 s of kxdpgun and
	# 2 x 20 s of dnsperf per server and round (TTLs 5..60 s).
	if [ $smoke = 1 ]; then
		rates=(20000)
	else
		rates=(50000 100000 200000 max)
		kx_t=15
		dp_t=20
	fi
fi
read -r -a servers <<<"$servers"
startup_servers=("${servers[@]}")
# start-up to first answer is the static workload's (it asks www.test)
[ "$workload" = signed ] && startup_servers=()
hf_runs=${startup_runs:-$hf_runs}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a positive whole number"
[[ $hf_runs =~ ^[1-9][0-9]*$ ]] || die "--startup-runs takes a positive whole number"
lat_qps=20000 # dnsperf's fixed rate for the latency run

prelude sbs
if [ "$workload" = signed ]; then
	holdfastctl=${holdfastctl:-$(dirname "$holdfast")/holdfastctl}
	if [ ! -x "$holdfastctl" ] && [ "$holdfastctl" = "$top/build/holdfastctl" ]; then
		ninja -C "$top/build" holdfastctl >/dev/null || die "building holdfastctl failed"
	fi
	[ -x "$holdfastctl" ] || die "no holdfastctl at $holdfastctl (--holdfastctl)"
fi
for t in kxdpgun dnsperf hyperfine gnuplot unbound kresd dnsdist python3 taskset flock; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh)"
done

# ---------------------------------------------------------------- the lab
export HF_LAB_TAG=${HF_SBS_TAG:-sbs} HF_LAB_WORLD=0 HF_LAB_TTL_NAMES=0
[ "$workload" = signed ] && HF_LAB_WORLD=1 HF_LAB_TTL_NAMES=$names
export HF_LAB_UPSTREAM_ADDR=${HF_SBS_UPSTREAM_ADDR:-127.53.254.53}
backend_addr=${HF_SBS_BACKEND_ADDR:-127.53.254.54} # Unbound behind dnsdist
run=$(mktemp -d /tmp/hf-sbs.XXXXXX)
export HF_LAB_DIR=$run/lab
raw=$run/raw
mkdir -p "$raw"
export SBS_RUN=$run SBS_HOLDFAST=$holdfast SBS_DRIVER=af_xdp

sbs_stop() {
	if [ -n "${SBS_HOST_IF:-}" ]; then stop_all; fi
	stop_sniffers
}
lab_traps sbs_stop

"$lab" up >"$run/lab.log" 2>&1 || { cat "$run/lab.log" >&2; die "lab.sh up failed"; }
eval "$("$lab" env)"
ns=(ip netns exec "$HF_LAB_NETNS")
host_mac=$(cat "/sys/class/net/$HF_LAB_HOST_IF/address")
if [ "$workload" = static ]; then
	# The peers validate nothing (the lab zone is unsigned and has no chain
	# from the root): neither does holdfast, when it has DNSSEC at all.
	upstream=$HF_LAB_UPSTREAM_ADDR
	holdfast_extra=
	hf_help=$("$holdfast" -- --help 2>&1 || true)
	[[ $hf_help == *"--dnssec "* ]] && holdfast_extra="--dnssec no"
	queries=$top/tests/lab/queries.txt
	check=(www.test A 198.51.100.10 "") # name type answer flag
	check_zone=test.
else
	# Everyone validates with the lab's root anchor, through its resolver.
	upstream=$HF_LAB_RESOLVER_ADDR
	holdfast_extra="--dnssec yes --trust-anchor $HF_LAB_TRUST_ANCHOR"
	queries=$run/signed_queries.txt
	awk -v n="$names" 'BEGIN { for (i = 0; i < n; i++) printf "n%d.ttl.example.de A\n", i }' >"$queries"
	check=(www.example.de A 192.0.2.1 ad)
	check_zone=example.de.
fi
export SBS_HOST_IF=$HF_LAB_HOST_IF SBS_NETNS=$HF_LAB_NETNS SBS_UPSTREAM=$upstream
export SBS_HOLDFAST_EXTRA=$holdfast_extra
ss -Hlun "src $backend_addr:53" | grep -q . && die "$backend_addr:53 is taken (set HF_SBS_BACKEND_ADDR)"

# Leak guard (lib.sh): DNS packets on every other interface, whole run.
start_sniffers "$raw"

# Configs: rendered from bench/e2e/*.conf.in into the run dir.
peer_confs "$workload"

# ---------------------------------------------------------------- facts
{
	facts_common "$mode" "${HF_SBS_COMMIT:-}"
	echo "workload=$workload"
	echo "mem_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
	facts_tools
	echo "hyperfine=$(hyperfine --version | awk '{ print $2 }')"
	echo "servers=${servers[*]}"
	echo "queries=$(wc -l <"$queries")"
	echo "rates=${rates[*]}"
	echo "kx_t=$kx_t"
	echo "dp_t=$dp_t"
	echo "lat_qps=$lat_qps"
	echo "hf_runs=$hf_runs"
	echo "rounds=$rounds"
	echo "upstream=$upstream"
	if [ "$workload" = signed ]; then
		echo "ttl_names=$names"
		echo "ttl_min=5"
		echo "ttl_max=60"
	fi
} >"$raw/facts.txt"
warn_if_busy

# ---------------------------------------------------------------- measuring
# holdfast's counters as `holdfastctl --json stats` (signed workload; the
# report takes parked clients, stale answers and SERVFAILs from the
# difference of two).
hf_stats() { # server file
	[ "$workload" = signed ] && [ "$1" = holdfast ] || return 0
	"$holdfastctl" -s "$run/holdfast.sock" --json stats >"$2" 2>&1 || log "warning: holdfastctl stats failed: $(head -c 200 "$2")"
}

# holdfast's per-worker counters (SIGUSR1 -> its log): total "rx".
holdfast_rx() {
	local n before
	before=$(grep -c 'worker 0: waiters' "$run/holdfast.log" || true)
	kill -USR1 "$(cat "$run/holdfast.pid")" 2>/dev/null || return 0
	for _ in $(seq 40); do
		n=$(grep -c 'worker 0: waiters' "$run/holdfast.log" || true)
		[ "$n" -gt "$before" ] && break
		sleep 0.05
	done
	grep 'worker [0-9]*: waiters' "$run/holdfast.log" | tail -n 1 | awk '{ for (i = 1; i < NF; i++) if ($i == "rx_packets") { print $(i + 1); exit } }'
}
# Root namespace UDP counters (the peers' sockets): InDatagrams RcvbufErrors.
udp_counters() {
	awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[$i] = i; h = 1 } else { print $k["InDatagrams"], $k["RcvbufErrors"] } }' /proc/net/snmp
}

# The machine may be shared: before each measurement wait (up to 15 s, 60 s
# in all per round; smoke: not at all, its numbers mean nothing) until
# processes other than ours used under 5% of a CPU for half a second. What
# others used during each measurement is reported anyway.
quiet_budget=$((120 * rounds)) # half seconds
[ $smoke = 1 ] && quiet_budget=0 && quiet_warned=1
wait_quiet() {
	local waited=0 busy top
	while [ $quiet_budget -gt 0 ] && [ $waited -lt 30 ]; do
		"$here/cpu_snapshot.py" >"$run/q0"
		sleep 0.5
		"$here/cpu_snapshot.py" >"$run/q1"
		read -r busy top < <("$here/cpu_snapshot.py" busy "$run/q0" "$run/q1" "$raw/our_pids.txt")
		awk -v b="$busy" 'BEGIN { exit !(b < 0.025) }' && break
		[ $waited = 0 ] && log "waiting for the machine to be quiet ($top used ${busy}s of CPU in 0.5 s)"
		waited=$((waited + 1))
		quiet_budget=$((quiet_budget - 1))
	done
	[ $quiet_budget -gt 0 ] || [ -n "${quiet_warned:-}" ] || { quiet_warned=1; log "warning: stopped waiting for a quiet machine (budget used up); numbers may suffer"; }
}

# One kxdpgun step; retries when the previous run's XDP socket is still
# being torn down ("requested resource is busy": kxdpgun then exits 0).
kxdpgun_step() { # server rate
	local server=$1 rate=$2 q f=$raw/$1.r$round.kx.$2.txt
	q=$rate
	[ "$rate" = max ] && q=10000000
	for attempt in 1 2 3 4 5; do
		local before after
		if [ "$server" = holdfast ]; then before=$(holdfast_rx); else before=$(udp_counters); fi
		wait_quiet
		hf_stats "$server" "$f.stats0"
		"$here/cpu_snapshot.py" >"$f.cpu0"
		timeout $((kx_t + 20)) "${ns[@]}" taskset -c 0 kxdpgun -t "$kx_t" -Q "$q" -F 0 \
			-I "$HF_LAB_CLIENT_IF" -R "$host_mac" -i "$queries" "$SERVICE4" >"$f" 2>&1 || true
		"$here/cpu_snapshot.py" >"$f.cpu1"
		hf_stats "$server" "$f.stats1"
		if [ "$server" = holdfast ]; then after=$(holdfast_rx); else after=$(udp_counters); fi
		if grep -q '^total replies' "$f"; then
			echo "server_counters_before $before" >>"$f"
			echo "server_counters_after $after" >>"$f"
			awk -v s="$server" -v r="$rate" '/^total queries/ { q = $3 } /^total replies/ { a = $3 }
				END { printf "sbs:   %-8s offered %-8s sent %9d answered %9d (%.2f%%)\n", s, r, q, a, q ? 100 * a / q : 0 }' "$f" >&2
			sleep 1
			return 0
		fi
		log "kxdpgun ($server, $rate, attempt $attempt): $(tr '\n' ' ' <"$f")"
		sleep $((attempt))
	done
	die "kxdpgun did not run against $server at $rate"
}

dnsperf_run() { # server tag [dnsperf args]
	local server=$1 tag=$2
	shift 2
	wait_quiet
	hf_stats "$server" "$raw/$server.r$round.dnsperf.$tag.txt.stats0"
	"$here/cpu_snapshot.py" >"$raw/$server.r$round.dnsperf.$tag.txt.cpu0"
	timeout $((dp_t + 30)) "${ns[@]}" taskset -c 0 dnsperf -s "$SERVICE4" -d "$queries" -l "$dp_t" \
		-c 8 -v "$@" >"$raw/$server.r$round.dnsperf.$tag.txt" 2>&1 || true
	"$here/cpu_snapshot.py" >"$raw/$server.r$round.dnsperf.$tag.txt.cpu1"
	hf_stats "$server" "$raw/$server.r$round.dnsperf.$tag.txt.stats1"
	awk -v s="$server" -v t="$tag" '/Queries sent/ { q = $3 } /Queries completed/ { a = $3 } /Queries per second/ { r = $4 }
		END { printf "sbs:   %-8s dnsperf %-10s sent %9d answered %9d (%.0f qps)\n", s, t, q, a, r }' "$raw/$server.r$round.dnsperf.$tag.txt" >&2
}

bench_server() { # name
	local s=$1
	log "== $s (round $round of $rounds)"
	server_up "$s"
	# Warm the cache: two passes over the query file.
	timeout 60 "${ns[@]}" taskset -c 0 dnsperf -s "$SERVICE4" -d "$queries" -n 2 -c 8 -t 5 \
		>"$raw/$s.r$round.warm.txt" 2>&1 || true
	grep -q "Queries completed: *$(($(wc -l <"$queries") * 2)) " "$raw/$s.r$round.warm.txt" ||
		log "warning: warm-up incomplete for $s: $(grep -E 'Queries (completed|lost)' "$raw/$s.r$round.warm.txt" | tr -s ' ' | tr '\n' ' ')"
	for r in "${rates[@]}"; do
		kxdpgun_step "$s" "$r"
	done
	dnsperf_run "$s" latency -Q "$lat_qps"
	dnsperf_run "$s" unthrottled -q 100
	stop_all
	sleep 1 # let the kernel finish tearing down XDP sockets and ports
}

for round in $(seq "$rounds"); do
	for s in "${servers[@]}"; do
		bench_server "$s"
	done
done

# ---------------------------------------------------------------- start-up
export SBS_DRIVER
mkdir -p "$out"
for s in "${startup_servers[@]}"; do
	log "== start-up to first answer: $s (hyperfine, $hf_runs runs)"
	timeout 300 hyperfine --runs "$hf_runs" --warmup 0 --style basic \
		--prepare "$self --internal-stop" --cleanup "$self --internal-stop" \
		--command-name "$s start-up to first answer" \
		--export-json "$out/side_by_side_startup_$s.json" \
		"$self --internal-first-answer $s" >"$raw/hyperfine.$s.txt" 2>&1 ||
		{ cat "$raw/hyperfine.$s.txt" >&2; die "hyperfine failed for $s"; }
	grep -E 'Time|Range' "$raw/hyperfine.$s.txt" | sed 's/^/sbs:   /' >&2
done
stop_all
host_if_dpdk

# ---------------------------------------------------------------- report
stop_sniffers
cfg=$out/$name
rm -rf -- "$cfg"
mkdir -p "$cfg/raw"
cp "$run/unbound.conf" "$run/unbound-backend.conf" "$run/kresd.conf" "$run/dnsdist.conf" "$cfg/"
sed -i -e "s|$run|/tmp/hf-sbs.RUN|g" "$cfg"/*.conf
printf '%s\n' "holdfast -l 0,1 --no-huge -m 1024 --no-pci --file-prefix=hf_sbs --vdev=net_${SBS_DRIVER}0,iface=$HF_LAB_HOST_IF -- --service-address $SERVICE4 --forwarder $upstream@53 --control-socket /tmp/hf-sbs.RUN/holdfast.sock $holdfast_extra" | sed -e "s|$run|/tmp/hf-sbs.RUN|g" >"$cfg/holdfast.cmdline"
{
	versions_txt
	hyperfine --version 2>&1
} >"$cfg/versions.txt"
finish_raw "$raw" "$cfg/raw"
check_opt=()
[ $smoke = 1 ] && check_opt=(--check)
python3 "$here/report.py" "${check_opt[@]}" "$raw" "$out" || die "report failed"
gnuplot -e "datafile='$out/$name.dat'; outfile='$out/$name.png'" "$here/plot.gp" ||
	die "gnuplot failed"
rm -f "$out/$name.dat" "$out/$name.gpvars"
log "done in $(($(date +%s) - t_start)) s: $out/$name.{json,md,png}"
cat "$out/$name.md"
