#!/usr/bin/env bash
# holdfast over TCP (port 53) and TLS (port 853) side by side with Unbound
# and Knot Resolver, end to end, on one path for everyone (issue 13,
# "Benchmarks").
#
#   bench/e2e/transport.sh            the whole run: 3 rounds, medians
#                                     reported (about 16 minutes)
#   bench/e2e/transport.sh --smoke    every part against every server for
#                                     about a second, one round (under a
#                                     minute); results go to /tmp/hf-tpt-smoke
#                                     unless --out; checks that every part got
#                                     answers, asserts no speed
#   options: --out DIR (default bench/results), --holdfast PATH (default:
#            build/holdfast, built with ninja), --servers "holdfast unbound
#            kresd", --rounds N (every server once per round),
#            --idle-sleep US (holdfast's worker; default 100),
#            --conn-rate PATH (default: bench/conn_rate beside holdfast),
#            --stream-load PATH (default: bench/stream_load beside holdfast),
#            --exception xdp|tap (how TCP reaches holdfast's kernel side;
#            default xdp: `xdp-exception`, the port's XDP program passes
#            TCP to the host veth's own stack; tap: `exception-interface`,
#            through the workers and a TAP), --parts "dot.long.max
#            tls.short ..." (only these parts, by their report names;
#            default all), --perf DIR (holdfast's parts profiled: perf
#            record -g of CPU 1, the transport thread's system calls, every
#            thread's CPU time and both CPUs' busy time, into DIR; see
#            docs/bench.md, "DoT and TLS handshakes: where the core
#            goes")
#   environment: HF_TPT_HOLDFAST_ARGS (more holdfast options, recorded in
#            the results' command line), HF_TPT_STREAM_ARGS (more
#            stream_load options, recorded), HF_TPT_TAG (lab tag, default tpt), HF_TPT_COMMIT (what to
#            call the holdfast build in the results; default git describe)
#
# The path is side_by_side.sh's: the clients run in the lab's client
# namespace (lab.sh, HF_LAB_WORLD=0, knotd upstream on 127.53.254.57) on
# CPU 0; the server sits behind the veth pair on CPU 1, one server at a time.
# holdfast drives the host veth end through DPDK (net_af_xdp; with --exception
# tap, net_af_packet if af_xdp does not come up, recorded). With
# --exception xdp (the default) its XDP program passes TCP to the host veth
# end's own stack, which holds the service address as it does for the
# peers; with --exception tap the worker hands TCP to the kernel through
# its exception interface (a TAP holding the service addresses, set up as
# docs/operations.md says). Everything of holdfast (worker, control, the
# exception and transport threads) runs on CPU 1 (`taskset -c 1`, `-l 1`).
# The peers listen on 198.18.53.1:53 (TCP) and :853 (TLS) of the host veth
# end, pinned to CPU 1. Every server gets the same certificate (ECDSA P-256,
# made here with openssl), the same query file (tests/lab/queries.txt), and
# a cache warmed over TCP first.
#
# Per server and round:
#   long-lived connections: dnsperf -m tcp and -m dot, 8 connections,
#     unthrottled (-q 100 outstanding) and at a fixed rate (-Q): answered qps
#     and latency percentiles (dnsperf -v's per-answer latencies); and the
#     same unthrottled load from bench/stream_load (C: the same wire, a
#     query a record, but a batch of them sealed in memory and sent in one
#     system call, so that the one client core is not the bound dnsperf's
#     is over TLS);
#   short connections: bench/conn_rate (built by meson; C, because
#     dnsperf's num-queries-per-conn stalls each connection on a delayed ACK
#     and a Python loop is slower than the servers), 16 connections at once,
#     each connect, one query, its answer, close: new TCP connections per
#     second, and over TLS full handshakes (a new session each time) and
#     resumed ones (-r) per second; openssl s_time -new / -reuse against 853:
#     TLS handshakes per second one at a time (latency bound).
# Rounds interleave the servers so a noisy minute on a shared machine hits
# one round of everyone; the report takes the median over rounds. Writes
# transport.{json,md,png} (the chart: transport_plot.py) and transport/
# (configs, versions, raw tool output)
# under --out. Everything it starts is stopped and the lab removed on exit.
# Run as root on Debian 12. See docs/bench.md, "TCP and TLS side by side".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
lab=$top/tests/lab/lab.sh
# shellcheck source=lib.sh
. "$here/lib.sh"

log() { echo "tpt: $*" >&2; }
die() { log "error: $*" && exit 1; }

idle_sleep=100 smoke=0 out= holdfast= servers= rounds= conn_rate= stream_load= exception=xdp parts= perf=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	-h | --help) header_help "$0" ;;
	--out | --holdfast | --servers | --rounds | --idle-sleep | --conn-rate | --stream-load | --exception | --parts | --perf)
		[ $# -ge 2 ] || die "$1 takes a value"
		opt=${1#--}
		printf -v "${opt//-/_}" '%s' "$2"
		shift
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

if [ $smoke = 1 ]; then
	mode=smoke
	dp_t=1 # seconds per dnsperf run
	st_t=1 # seconds per s_time run
	rounds=${rounds:-1}
	out=${out:-/tmp/hf-tpt-smoke}
else
	mode=full
	dp_t=10
	st_t=5
	rounds=${rounds:-3}
	out=${out:-$top/bench/results}
fi
servers=${servers:-"holdfast unbound kresd"}
read -r -a servers <<<"$servers"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a positive whole number"
[[ $idle_sleep =~ ^[0-9]+$ ]] || die "--idle-sleep takes microseconds"
[[ $exception == xdp || $exception == tap ]] || die "--exception takes xdp or tap"
for p in $parts; do
	case $p in
	tcp.long.max | tcp.long.rate | tcp.long.gen | dot.long.max | dot.long.rate | dot.long.gen | tcp.short | tls.short | tls.short.resumed | tls.new | tls.reuse) ;;
	*) die "unknown part $p (--parts)" ;;
	esac
done
want() { # part: is it to be run (--parts)?
	[ -z "$parts" ] || [[ " $parts " == *" $1 "* ]]
}
if [ -n "$perf" ]; then
	command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
	mkdir -p "$perf"
	perf=$(cd "$perf" && pwd)
fi
lat_qps=5000 # the fixed-rate runs (long-lived connections)
clients=8    # dnsperf -c
outstanding=100
conc=16 # conn_rate -c

prelude tpt
holdfast_extra=
hf_help=$("$holdfast" -- --help 2>&1 || true)
[[ $hf_help == *"--dnssec "* ]] && holdfast_extra="--dnssec no"
# HF_TPT_HOLDFAST_ARGS: more holdfast options (e.g. --idle-polls 32), recorded
holdfast_extra="$holdfast_extra ${HF_TPT_HOLDFAST_ARGS:-}"
[[ $hf_help == *"--exception-interface "* ]] || die "$holdfast has no exception-interface (TCP/TLS)"
[[ $exception == tap || $hf_help == *"--xdp-exception "* ]] || die "$holdfast has no xdp-exception (--exception tap)"
for t in dnsperf openssl unbound kresd ethtool python3 gnuplot taskset flock; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh)"
done
holdfastctl=$(dirname "$holdfast")/holdfastctl
[ -x "$holdfastctl" ] || die "no holdfastctl beside $holdfast"
conn_rate=${conn_rate:-$(dirname "$holdfast")/bench/conn_rate}
if [ ! -x "$conn_rate" ] && [ -f "$(dirname "$holdfast")/build.ninja" ]; then
	ninja -C "$(dirname "$holdfast")" bench/conn_rate >/dev/null || die "building conn_rate failed"
fi
[ -x "$conn_rate" ] || die "no conn_rate at $conn_rate (meson compile bench/conn_rate)"
stream_load=${stream_load:-$(dirname "$holdfast")/bench/stream_load}
if [ ! -x "$stream_load" ] && [ -f "$(dirname "$holdfast")/build.ninja" ]; then
	ninja -C "$(dirname "$holdfast")" bench/stream_load >/dev/null || die "building stream_load failed"
fi
[ -x "$stream_load" ] || die "no stream_load at $stream_load (meson compile bench/stream_load)"

# ---------------------------------------------------------------- the lab
export HF_LAB_TAG=${HF_TPT_TAG:-tpt} HF_LAB_WORLD=0
export HF_LAB_UPSTREAM_ADDR=${HF_TPT_UPSTREAM_ADDR:-127.53.254.57}
run=$(mktemp -d /tmp/hf-tpt.XXXXXX)
export HF_LAB_DIR=$run/lab
raw=$run/raw
mkdir -p "$raw"
SERVICE4=198.18.53.1
driver=af_xdp
exc_if=hx$HF_LAB_TAG

stop_all() {
	stop_pidfile "$run/holdfast.pid" "$holdfast"
	wait_xdp_detached "$HF_LAB_HOST_IF"
	stop_pidfile "$run/kresd.pid" "kresd -n -c $run"
	stop_pidfile "$run/unbound.pid" "unbound -d -c $run/unbound.conf"
}
tpt_stop() {
	if [ -n "${HF_LAB_HOST_IF:-}" ]; then stop_all; fi
}
lab_traps tpt_stop

"$lab" up >"$run/lab.log" 2>&1 || { cat "$run/lab.log" >&2; die "lab.sh up failed"; }
eval "$("$lab" env)"
ns=(ip netns exec "$HF_LAB_NETNS")
queries=$top/tests/lab/queries.txt
# The same wire for every server (the exception path's operator steps,
# docs/operations.md): no TSO/GSO super-frames from the client veth, strict
# reverse-path filtering on the host end. The client closes first (dnsperf,
# s_time) and keeps the TIME_WAITs: let it reuse them, or short connections
# run out of ports within a second.
sysctl -qw "net.ipv4.conf.$HF_LAB_HOST_IF.rp_filter=1"
# One server core for everyone: what arrives on the host veth end is
# processed by the kernel on CPU 1 (RPS), not in the softirq of the client's
# CPU 0 where veth delivers it (a NIC would interrupt the server's core).
# For the peers that is their whole TCP/TLS receive path; holdfast takes its
# frames through XDP before RPS and its kernel TCP work is on CPU 1 anyway
# (the exception thread writes them into the TAP).
echo 2 >"/sys/class/net/$HF_LAB_HOST_IF/queues/rx-0/rps_cpus"
"${ns[@]}" ethtool -K "$HF_LAB_CLIENT_IF" tso off gso off >/dev/null
"${ns[@]}" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$run/tls.key" \
	-out "$run/tls.crt" -days 2 -subj /CN=holdfast-bench \
	-addext "subjectAltName=IP:$SERVICE4" >"$run/openssl.log" 2>&1 || die "openssl req failed"

# Configs: side_by_side's templates (one thread, forwarder, no validation)
# with TCP and TLS added.
render() { # template output
	sed -e "s|@DIR@|$run|g" -e "s|@LISTEN@|$SERVICE4|g" -e "s|@PORT@|53|g" \
		-e "s|@PIDFILE@|$run/${2%.conf}.self.pid|g" \
		-e "s|@UPSTREAM@|$HF_LAB_UPSTREAM_ADDR@53|g" -e "s|@UPSTREAM_KRES@|$HF_LAB_UPSTREAM_ADDR@53|g" \
		-e "s|@UNBOUND_MODULES@|iterator|g" -e "s|@UNBOUND_ANCHOR@|# no trust anchor|g" \
		-e "s|@KRES_ANCHOR@|-- no trust anchor|g" "$here/$1" >"$run/$2"
}
render unbound.conf.in unbound.conf
cat >>"$run/unbound.conf" <<EOF

# transport.sh: TCP on 53 (above) and TLS on 853, the same limits as holdfast's
server:
	interface: $SERVICE4@853
	tls-port: 853
	tls-service-key: "$run/tls.key"
	tls-service-pem: "$run/tls.crt"
	incoming-num-tcp: 1024
	tcp-idle-timeout: 10000
EOF
render kresd.conf.in kresd.conf
cat >>"$run/kresd.conf" <<EOF
-- transport.sh: kind 'dns' above is UDP and TCP on 53; TLS on 853
net.listen('$SERVICE4', 853, { kind = 'tls' })
net.tls('$run/tls.crt', '$run/tls.key')
EOF
unbound-checkconf "$run/unbound.conf" >/dev/null || die "unbound.conf does not check"

hf_args() { # the holdfast command line after the binary
	local path="--exception-interface $exc_if"
	[ "$exception" = xdp ] && path="--xdp-exception yes"
	echo "-l 1 --no-huge -m 1024 --no-pci --file-prefix=hf_tpt --vdev=net_${driver}0,iface=$HF_LAB_HOST_IF --" \
		"--service-address $SERVICE4 --forwarder $HF_LAB_UPSTREAM_ADDR@53 --control-socket $run/holdfast.sock" \
		"$path --tls-certificate $run/tls.crt --tls-key $run/tls.key" \
		"--idle-sleep $idle_sleep --idle-sleep-max 1000 $holdfast_extra"
}

start_server() { # name
	local name=$1 log=$run/$1.log
	case $name in
	holdfast)
		if [ "$exception" = xdp ]; then
			# the kernel behind the XDP program answers ARP and TCP for
			# the service address, as for the peers
			ip addr replace "$SERVICE4/24" dev "$HF_LAB_HOST_IF"
			sysctl -qw "net.ipv4.conf.$HF_LAB_HOST_IF.arp_ignore=0"
		else
			# holdfast answers ARP itself: no address on the host end.
			ip addr flush dev "$HF_LAB_HOST_IF" 2>/dev/null || true
			sysctl -qw "net.ipv4.conf.$HF_LAB_HOST_IF.arp_ignore=8"
		fi
		# shellcheck disable=SC2046 # hf_args is words
		setsid taskset -c 1 "$holdfast" $(hf_args) </dev/null >>"$log" 2>&1 &
		echo $! >"$run/holdfast.pid"
		;;
	unbound | kresd)
		ip addr replace "$SERVICE4/24" dev "$HF_LAB_HOST_IF"
		sysctl -qw "net.ipv4.conf.$HF_LAB_HOST_IF.arp_ignore=0"
		if [ "$name" = unbound ]; then
			setsid taskset -c 1 unbound -d -c "$run/unbound.conf" </dev/null >>"$log" 2>&1 &
		else
			mkdir -p "$run/kresd"
			setsid taskset -c 1 kresd -n -c "$run/kresd.conf" "$run/kresd" </dev/null >>"$log" 2>&1 &
		fi
		echo $! >"$run/$name.pid"
		;;
	*) die "unknown server $name" ;;
	esac
}

# ---------------------------------------------------------------- facts
{
	facts_common "$mode" "${HF_TPT_COMMIT:-}"
	echo "openssl=$(openssl version | awk '{ print $2 }')"
	echo "unbound=$(unbound -V 2>/dev/null | awk '/^Version/ { print $2 }')"
	echo "kresd=$(kresd --version 2>/dev/null | awk '{ print $NF }')"
	echo "knotd=$(knotd --version 2>/dev/null | awk '{ print $NF }')"
	echo "dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
	echo "servers=${servers[*]}"
	echo "queries=$(wc -l <"$queries")"
	echo "dp_t=$dp_t"
	echo "st_t=$st_t"
	echo "lat_qps=$lat_qps"
	echo "clients=$clients"
	echo "outstanding=$outstanding"
	echo "conn_rate_conc=$conc"
	echo "stream_load_args=${HF_TPT_STREAM_ARGS:-}"
	echo "idle_sleep_us=$idle_sleep"
	echo "exception=$exception"
	echo "host_veth_rps_cpus=$(cat "/sys/class/net/$HF_LAB_HOST_IF/queues/rx-0/rps_cpus")"
	echo "rounds=$rounds"
	echo "parts=${parts:-all}"
} >"$raw/facts.txt"
la=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$la" 'BEGIN { exit !(l > 0.5) }' &&
	log "warning: load average $la before the run: something else uses the CPUs, numbers will suffer"

# ---------------------------------------------------------------- measuring
# Wait until the server answers www.test A over TCP (up to 15 s); for
# holdfast, route the service prefix through its exception interface once
# it is there.
wait_answer() { # name
	for _ in $(seq 150); do
		if [ "$1" = holdfast ] && [ "$exception" = tap ] && [ -e "/sys/class/net/$exc_if" ]; then
			ip route replace 198.18.53.0/24 dev "$exc_if" 2>/dev/null || true
		fi
		if "${ns[@]}" dig +tcp +time=1 +tries=1 @"$SERVICE4" www.test A >"$run/answer.txt" 2>&1 &&
			grep -Eq '^www\.test\.\s.*\sA\s+198\.51\.100\.10$' "$run/answer.txt"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# holdfast's transport counters (holdfastctl --json stats: total.transport)
hf_transport() { # file
	"$holdfastctl" -s "$run/holdfast.sock" --json stats >"$1" 2>&1 || true
}

# --perf: every holdfast thread's CPU ticks ("tid comm ticks"), and both
# CPUs' lines of /proc/stat
prof_snap() { # file
	local t
	for t in /proc/"$(cat "$run/holdfast.pid")"/task/*; do
		sed -e 's/^\([0-9]*\) (\([^)]*\)) /\1 \2 /' "$t/stat" 2>/dev/null |
			awk '{ print $1, $2, $14 + $15 }' || true
	done >"$1"
	grep -E '^cpu[01] ' /proc/stat >>"$1"
}
# --perf, around one of holdfast's parts (dp_t seconds): perf record -g of
# CPU 1 and perf stat of the transport thread's system calls, both on CPU 0
prof_start() { # server tag
	prof_f=
	[ -n "$perf" ] && [ "$1" = holdfast ] || return 0
	local tid
	prof_f=$perf/r$round.$2
	tid=$(grep -lx hf-transport /proc/"$(cat "$run/holdfast.pid")"/task/*/comm | head -n 1 | cut -d/ -f5)
	prof_snap "$prof_f.cpu0"
	taskset -c 0 perf record -q -g -C 1 -o "$prof_f.perf.data" -- sleep "$dp_t" >/dev/null 2>&1 &
	prof_pids=$!
	taskset -c 0 perf stat -x, -e raw_syscalls:sys_enter -t "$tid" -o "$prof_f.syscalls" -- sleep "$dp_t" >/dev/null 2>&1 &
	prof_pids="$prof_pids $!"
}
prof_stop() {
	[ -n "$prof_f" ] || return 0
	# shellcheck disable=SC2086 # pids
	wait $prof_pids || true
	prof_snap "$prof_f.cpu1"
}

# The client namespace's TCP segments in and out (absolute; nstat's
# history untouched): what the long-lived parts cost in packets
seg_snap() { # file
	"${ns[@]}" nstat -asz TcpInSegs TcpOutSegs >"$1" 2>&1 || true
}

# Around a client's run: both CPUs' busy time (and every process's),
# holdfast's transport counters, the client's TCP segments, --perf's profile
part_begin() { # server tag file
	"$here/cpu_snapshot.py" >"$3.cpu0"
	if [ "$1" = holdfast ]; then hf_transport "$3.hf0"; fi
	seg_snap "$3.seg0"
	prof_start "$1" "$2"
}
part_end() { # server file
	prof_stop
	seg_snap "$2.seg1"
	if [ "$1" = holdfast ]; then hf_transport "$2.hf1"; fi
	"$here/cpu_snapshot.py" >"$2.cpu1"
}

dnsperf_run() { # server tag [dnsperf args]
	local server=$1 tag=$2 f
	shift 2
	f=$raw/$server.r$round.$tag.txt
	part_begin "$server" "$tag" "$f"
	timeout $((dp_t + 30)) "${ns[@]}" taskset -c 0 dnsperf -s "$SERVICE4" -d "$queries" -l "$dp_t" \
		-c "$clients" -v "$@" >"$f" 2>&1 || true
	part_end "$server" "$f"
	awk -v s="$server" -v t="$tag" '/Queries sent/ { q = $3 } /Queries completed/ { a = $3 } /Queries per second/ { r = $4 }
		END { printf "tpt:   %-8s %-14s sent %8d answered %8d (%.0f/s)\n", s, t, q, a, r }' "$f" >&2
}

s_time_run() { # server tag [s_time args]
	local server=$1 tag=$2 f t0
	shift 2
	f=$raw/$server.r$round.$tag.txt
	"$here/cpu_snapshot.py" >"$f.cpu0"
	[ "$server" = holdfast ] && hf_transport "$f.hf0"
	t0=$(date +%s.%N)
	timeout $((st_t + 30)) "${ns[@]}" taskset -c 0 openssl s_time -connect "$SERVICE4:853" \
		-CAfile "$run/tls.crt" -time "$st_t" "$@" >"$f" 2>&1 </dev/null || true
	# s_time's "in N real seconds" is whole seconds: our own wall clock
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "wall_seconds %.3f\n", b - a }' >>"$f"
	[ "$server" = holdfast ] && hf_transport "$f.hf1"
	"$here/cpu_snapshot.py" >"$f.cpu1"
	awk -v s="$server" -v t="$tag" '/connections in [0-9.]+s;/ { c = $1 } /^wall_seconds/ { w = $2 }
		END { printf "tpt:   %-8s %-14s %8d handshakes (%.0f/s)\n", s, t, c, w ? c / w : 0 }' "$f" >&2
}

conn_rate_run() { # server tag port [conn_rate args]
	local server=$1 tag=$2 port=$3 f
	shift 3
	f=$raw/$server.r$round.$tag.txt
	part_begin "$server" "$tag" "$f"
	timeout $((dp_t + 30)) "${ns[@]}" taskset -c 0 "$conn_rate" -c "$conc" -l "$dp_t" "$@" \
		"$SERVICE4" "$port" www.test >"$f" 2>&1 || true
	part_end "$server" "$f"
	awk -v s="$server" -v t="$tag" '/^connections/ { printf "tpt:   %-8s %-14s %8d connections, %d errors (%d/s)\n", s, t, $2, $4, $8 }' "$f" >&2
}

stream_load_run() { # server tag port [stream_load args]
	local server=$1 tag=$2 port=$3 f
	shift 3
	f=$raw/$server.r$round.$tag.txt
	part_begin "$server" "$tag" "$f"
	# shellcheck disable=SC2086 # HF_TPT_STREAM_ARGS: options, split
	timeout $((dp_t + 30)) "${ns[@]}" taskset -c 0 "$stream_load" -c "$clients" -q "$outstanding" \
		-l "$dp_t" -d "$queries" ${HF_TPT_STREAM_ARGS:-} "$@" "$SERVICE4" "$port" >"$f" 2>&1 || true
	part_end "$server" "$f"
	awk -v s="$server" -v t="$tag" '/^answered/ { printf "tpt:   %-8s %-14s sent %8d answered %8d (%d/s), %d lost, %d errors\n", s, t, $4, $2, $20, $6, $8 }' "$f" >&2
}

bench_server() { # name
	local s=$1
	log "== $s (round $round of $rounds)"
	start_server "$s"
	if ! wait_answer "$s"; then
		if [ "$s" = holdfast ] && [ "$driver" = af_xdp ] && [ "$exception" = tap ]; then
			log "holdfast does not answer through net_af_xdp; falling back to net_af_packet"
			tail -n 5 "$run/holdfast.log" >&2
			stop_all
			driver=af_packet
			start_server holdfast
		fi
		wait_answer "$s" || {
			grep -E 'status:|^www|;;' "$run/answer.txt" >&2 || true
			tail -n 5 "$run/$s.log" >&2 || true
			die "$s does not answer www.test A over TCP"
		}
	fi
	[ "$s" = holdfast ] && echo "$driver" >"$raw/holdfast.driver"
	cat "$run"/*.pid >>"$raw/our_pids.txt" 2>/dev/null || true
	# Warm the cache over TCP (holdfast's transport thread has a cache
	# replica of its own): two passes over the query file.
	timeout 60 "${ns[@]}" taskset -c 0 dnsperf -m tcp -s "$SERVICE4" -d "$queries" -n 2 -c "$clients" -t 5 \
		>"$raw/$s.r$round.warm.txt" 2>&1 || true
	grep -q "Queries completed: *$(($(wc -l <"$queries") * 2)) " "$raw/$s.r$round.warm.txt" ||
		log "warning: warm-up incomplete for $s: $(grep -E 'Queries (completed|lost)' "$raw/$s.r$round.warm.txt" | tr -s ' ' | tr '\n' ' ')"
	for m in tcp dot; do
		if want "$m.long.max"; then dnsperf_run "$s" "$m.long.max" -m "$m" -q "$outstanding"; fi
		if want "$m.long.rate"; then dnsperf_run "$s" "$m.long.rate" -m "$m" -q "$outstanding" -Q "$lat_qps"; fi
	done
	if want tcp.long.gen; then stream_load_run "$s" tcp.long.gen 53; fi
	if want dot.long.gen; then stream_load_run "$s" dot.long.gen 853 -T "$run/tls.crt"; fi
	if want tcp.short; then conn_rate_run "$s" tcp.short 53; fi
	if want tls.short; then conn_rate_run "$s" tls.short 853 -T "$run/tls.crt"; fi
	if want tls.short.resumed; then conn_rate_run "$s" tls.short.resumed 853 -T "$run/tls.crt" -r; fi
	if want tls.new; then s_time_run "$s" tls.new -new; fi
	if want tls.reuse; then s_time_run "$s" tls.reuse -reuse; fi
}

for round in $(seq "$rounds"); do
	for s in "${servers[@]}"; do
		bench_server "$s"
		stop_all
		sleep 1 # the kernel tears down XDP sockets and ports meanwhile
	done
done
ip addr flush dev "$HF_LAB_HOST_IF" 2>/dev/null || true

# ---------------------------------------------------------------- report
cfg=$out/transport
rm -rf -- "$cfg"
finish_raw "$raw" "$cfg/raw"
cp "$run/unbound.conf" "$run/kresd.conf" "$cfg/"
printf 'taskset -c 1 holdfast %s\n' "$(hf_args)" >"$cfg/holdfast.cmdline"
sed -i -e "s|$run|/tmp/hf-tpt.RUN|g" "$cfg"/*.conf "$cfg/holdfast.cmdline"
{
	unbound -V 2>&1 | head -n 1
	kresd --version 2>&1
	knotd --version 2>&1
	dnsperf -h 2>&1 | grep '^Version' | sed 's/^/dnsperf /'
	openssl version
	echo "DPDK $(pkg-config --modversion libdpdk 2>/dev/null)"
} >"$cfg/versions.txt"
check=()
[ $smoke = 1 ] && check=(--check)
python3 "$here/transport_report.py" "${check[@]}" "$raw" "$out" || die "report failed"
if [ -z "$parts" ]; then # the chart has a bar for every part
	python3 "$here/transport_plot.py" "$out/transport.json" "$out/transport.png" ||
		die "chart failed"
	log "done in $(($(date +%s) - t_start)) s: $out/transport.{json,md,png}"
else
	log "done in $(($(date +%s) - t_start)) s: $out/transport.{json,md} (no chart with --parts)"
fi
cat "$out/transport.md"
