#!/usr/bin/env bash
# holdfast's control-plane numbers (issue 5, "Control-plane numbers"), on
# the lab's signed world:
#
#   bench/e2e/control_plane.sh           the whole run (about 3 minutes)
#   bench/e2e/control_plane.sh --smoke   every part with a few hundred names
#                                        (about 30 s); results go to
#                                        /tmp/hf-cpb-smoke unless --out;
#                                        checks that every part ran, asserts
#                                        no speed
#   options: --out DIR (default bench/results), --holdfast PATH (default
#            build/holdfast, built with ninja), --names N (per cold-cache
#            workload), --mem-names N (names cached for the memory number),
#            --rounds N (cold-cache passes per workload; medians reported),
#            --control-threads N (holdfast's control-threads; given, the main
#            lcore and the control threads float over CPUs 0 and 1,
#            --lcores=0@(0-1),1@1, instead of control on CPU 0: see
#            docs/bench.md, "Control threads")
#            --profile (one more "holdfast cold" pass per workload, not in
#            the medians, with perf record of the control thread's call
#            graphs at 4999 Hz: <workload>.profile.txt, beside the
#            results: the top entries inclusive, each object's share, the
#            functions outside libcrypto and the kernel, holdfast's own
#            functions inclusive)
#   environment: HF_CPB_TAG (lab tag, default cpb), HF_CPB_UPSTREAM_ADDR
#            (the lab's loopback base address, default 127.70.254.53; the
#            signed world takes 127.71-75.254.53)
#
# 1. openssl speed: verifications per second of RSA-2048 (DNSSEC algorithm
#    8), ECDSA P-256 (13) and Ed25519 (15) on one core (CPU 0, where
#    holdfast's control plane runs).
# 2. Cold cache: holdfast (net_af_xdp on the lab's veth, control on CPU 0,
#    the worker on CPU 1 with --idle-sleep 100 so that it yields the core
#    at these low packet rates; dnsperf on CPU 1 too; the lab's Unbound and
#    knotd wherever the scheduler puts them) validating with the lab's root anchor through the
#    lab's Unbound; dnsperf in the client namespace sends N names that no
#    cache has seen, each once (64 outstanding): wildcard answers
#    <i>.wild.example.de (alg 13: the A RRset and the NSEC proving the
#    wildcard), NXDOMAIN <i>.alg8.de and <i>.alg15.de (NSEC proofs, alg 8
#    and 15), insecure <i>.unsigned.de, and the wildcard names again with
#    dnssec: no (resolution alone). Each workload is run twice on the same
#    names: "cold" (holdfast and the lab's Unbound both cold: Unbound asks
#    knotd) and "holdfast cold" (holdfast restarted, Unbound already has the
#    names: what holdfast's control plane itself sustains). Before each pass
#    one query per zone warms holdfast's DNSKEY/DS cache (a resolver's steady
#    state: new names under zones it knows). Rates come from holdfast's own
#    counters (control: resolutions, secure/insecure/bogus verdicts) over
#    dnsperf's run time. The control thread's CPU time over each pass
#    (/proc/PID/task/PID/schedstat: the main lcore is the process's main
#    thread) gives its cost per resolution whatever else shares CPU 0, and
#    `perf stat` on the syscall tracepoints (counting only) its system calls
#    per resolution, by call.
# 3. Memory: holdfast with dnssec: no forwarding to the knotd that serves
#    example.de (wildcard: every name answers one A record) is fed M
#    distinct names (default 1M) once; resident size (VmRSS) before and
#    after, then a second pass checks that every name is answered from the
#    cache. Bytes per cached entry = (RSS filled - RSS of the same holdfast
#    with the smallest cache) / names; the growth while filling alone is
#    reported too (the hash table is zeroed, so touched, at start-up).
#
# Writes control_plane.json and control_plane.md under --out. Run as root
# on Debian 12. See docs/bench.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
lab=$top/tests/lab/lab.sh

log() { echo "cpb: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# shellcheck source=lib.sh
. "$here/lib.sh"

smoke=0
out=
holdfast=
names=
mem_names=
rounds=
ctl_threads=
profile=0
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--out) out=$2; shift ;;
	--holdfast) holdfast=$2; shift ;;
	--names) names=$2; shift ;;
	--mem-names) mem_names=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--control-threads) ctl_threads=$2; shift ;;
	--profile) profile=1 ;;
	-h | --help) header_help "$0" ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
if [ $smoke = 1 ]; then
	names=${names:-300} mem_names=${mem_names:-3000} rounds=${rounds:-1} ssl_s=1
	out=${out:-/tmp/hf-cpb-smoke}
else
	names=${names:-20000} mem_names=${mem_names:-1000000} rounds=${rounds:-3} ssl_s=3
	out=${out:-$top/bench/results}
fi
for v in names mem_names rounds; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v/_/-} takes a positive whole number"
done
lcores=(-l 0,1)
threads=()
if [ -n "$ctl_threads" ]; then
	[[ $ctl_threads =~ ^[1-8]$ ]] || die "--control-threads takes 1 .. 8"
	lcores=("--lcores=0@(0-1),1@1")
	threads=(--control-threads "$ctl_threads")
fi

prelude cpb
for t in dnsperf openssl python3 taskset flock dig perf; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh)"
done

export HF_LAB_TAG=${HF_CPB_TAG:-cpb}
export HF_LAB_UPSTREAM_ADDR=${HF_CPB_UPSTREAM_ADDR:-127.70.254.53}
run=$(mktemp -d /tmp/hf-cpb.XXXXXX)
export HF_LAB_DIR=$run/lab
raw=$run/raw
mkdir -p "$raw"

stop_holdfast() {
	stop_pidfile "$run/holdfast.pid" "$holdfast"
	[ -z "${HF_LAB_HOST_IF:-}" ] || wait_xdp_detached "$HF_LAB_HOST_IF"
}
lab_traps stop_holdfast

# ---------------------------------------------------------------- openssl
log "== openssl speed (${ssl_s} s per test, CPU 0)"
taskset -c 0 openssl speed -seconds "$ssl_s" rsa2048 ecdsap256 ed25519 \
	>"$raw/openssl_speed.txt" 2>"$raw/openssl_speed.err" || die "openssl speed failed"

# ---------------------------------------------------------------- the lab
log "== lab up (signed world)"
"$lab" up >"$run/lab.log" 2>&1 || { tail -n 20 "$run/lab.log" >&2; die "lab.sh up failed"; }
eval "$("$lab" env)"
ns=(ip netns exec "$HF_LAB_NETNS")
S=$HF_LAB_SERVICE4

# Query files: the same N new names per workload, for both passes.
gen() { # file format count
	awk -v f="$2" -v n="$3" 'BEGIN { for (i = 1; i <= n; i++) printf f "\n", i }' >"$1"
}
gen "$run/q.wild13" 'c%d.wild.example.de A' "$names"
gen "$run/q.nx8" 'c%d.alg8.de A' "$names"
gen "$run/q.nx15" 'c%d.alg15.de A' "$names"
gen "$run/q.insecure" 'c%d.unsigned.de A' "$names"
gen "$run/q.mem" 'm%d.wild.example.de A' "$mem_names"

hf_log=$run/holdfast.log
# --aggressive-nsec no: the NXDOMAIN workloads measure resolutions, one per
# name (RFC 8198 synthesis would answer most of them from the first's NSECs)
start_holdfast() { # extra holdfast options...
	: >"$hf_log"
	setsid "$holdfast" "${lcores[@]}" --no-huge -m "$hf_mem" --no-pci --file-prefix=hf_cpb \
		--vdev="net_af_xdp0,iface=$HF_LAB_HOST_IF" -- \
		--service-address "$S" --control-socket "$run/holdfast.sock" \
		--upstream-timeout 2s --idle-sleep 100 --aggressive-nsec no "${threads[@]}" "$@" </dev/null >>"$hf_log" 2>&1 &
	echo $! >"$run/holdfast.pid"
	for _ in $(seq 150); do
		grep -q 'holdfast: ready' "$hf_log" && return 0
		pid_is "$(cat "$run/holdfast.pid")" "$holdfast" || break
		sleep 0.1
	done
	tail -n 5 "$hf_log" >&2
	die "holdfast did not start"
}
# Ask NAME until it is answered with RCODE (holdfast's ARP and first
# resolution can take a moment).
expect() { # name rcode [dig options]
	local n=$1 rc=$2
	shift 2
	for _ in $(seq 50); do
		"${ns[@]}" dig +time=1 +tries=1 "$@" @"$S" "$n" A >"$run/dig.txt" 2>&1 &&
			grep -q "status: $rc" "$run/dig.txt" && return 0
		sleep 0.1
	done
	cat "$run/dig.txt" >&2
	die "$n: no $rc answer from holdfast"
}
# SIGUSR1, then wait for the control line and both worker lines.
snap() { # file
	local before
	before=$(grep -c 'holdfast: control:' "$hf_log" || true)
	kill -USR1 "$(cat "$run/holdfast.pid")"
	for _ in $(seq 100); do
		[ "$(grep -c 'holdfast: control:' "$hf_log" || true)" -gt "$before" ] && break
		sleep 0.02
	done
	sleep 0.05
	grep -E 'holdfast: (control|worker [0-9]+):' "$hf_log" | tail -n 2 >"$1"
}
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$run/holdfast.pid")/status"
}
dnsperf_once() { # query file, output
	timeout 900 "${ns[@]}" taskset -c 1 dnsperf -s "$S" -d "$1" -n 1 -c 8 -q 64 -t 5 \
		-S 0 >"$2" 2>&1 || true
}
# The control thread (holdfast's main thread: the main lcore): nanoseconds it
# has run so far.
ctl_cpu_ns() {
	local pid
	pid=$(cat "$run/holdfast.pid")
	awk '{ print $1 }' "/proc/$pid/task/$pid/schedstat"
}
# dnsperf_once, with the control thread's CPU time and system calls (perf
# stat, counting the tracepoints of the calls it makes) over it.
syscalls=(socket connect close sendto recvfrom epoll_wait epoll_ctl getrandom)
dnsperf_measured() { # query file, output tag [profile: perf record too]
	local pid c0 c1 ev=raw_syscalls:sys_enter s pp pr=
	pid=$(cat "$run/holdfast.pid")
	for s in "${syscalls[@]}"; do ev+=",syscalls:sys_enter_$s"; done
	perf stat -x, -o "$raw/$2.syscalls" -e "$ev" -t "$pid" 2>"$raw/$2.perf.err" &
	pp=$!
	if [ "${3:-}" = profile ]; then
		perf record --call-graph dwarf,16384 -F 4999 -t "$pid" -o "$run/$2.perf.data" 2>>"$raw/$2.perf.err" &
		pr=$!
	fi
	sleep 0.2 # perf attached
	c0=$(ctl_cpu_ns)
	dnsperf_once "$1" "$raw/$2.dnsperf.txt"
	c1=$(ctl_cpu_ns)
	kill -INT "$pp" $pr 2>/dev/null || true
	wait "$pp" $pr || true
	echo "control_cpu_ns $((c1 - c0))" >"$raw/$2.cpu"
	if [ -n "$pr" ]; then
		# flat lists: what each function and what it calls took (children),
		# then each function's own time (self); awk, not head: no SIGPIPE
		{
			echo "# perf record --call-graph dwarf -F 4999 of the control thread over $2"
			echo "# children (inclusive), by named symbol"
			perf report -i "$run/$2.perf.data" --stdio --children --sort symbol -g none \
				--percent-limit 1 2>/dev/null | awk 'NF && !/^#/ && !/\] 0x/ && n++ < 60'
			echo "# self, by object (libcrypto has no symbols)"
			perf report -i "$run/$2.perf.data" --stdio --no-children --sort dso -g none \
				--percent-limit 0.3 2>/dev/null | awk 'NF && !/^#/ && n++ < 20'
			# what is neither the verifies nor the kernel: the user-space
			# rest of a resolution, function by function
			echo "# self, by function, outside libcrypto and the kernel (percent of all samples)"
			perf report -i "$run/$2.perf.data" --stdio --no-children --sort dso,symbol -g none \
				--percent-limit 0.1 2>/dev/null |
				awk 'NF && !/^#/ && !/libcrypto|\[k\]/ && n++ < 50'
			echo "# children (inclusive), holdfast's own functions"
			perf report -i "$run/$2.perf.data" --stdio --children --sort dso,symbol -g none \
				--percent-limit 0.3 2>/dev/null | awk 'NF && !/^#/ && / holdfast / && n++ < 60'
		} >"$raw/${2%.p*}.profile.txt" || true
	fi
}

# ---------------------------------------------------------------- cold cache
hf_mem=1024
validating=(--forwarder "$HF_LAB_RESOLVER" --trust-anchor "$HF_LAB_TRUST_ANCHOR")
# workload  query file  zone to warm the key cache with  expected rcode  holdfast options
workloads=(
	"wild13 wild13 www.example.de NOERROR dnssec"
	"nx8 nx8 www.alg8.de NXDOMAIN dnssec"
	"nx15 nx15 www.alg15.de NXDOMAIN dnssec"
	"insecure insecure www.unsigned.de NXDOMAIN dnssec"
	"wild13_nodnssec wild13 www.example.de NOERROR nodnssec"
)
# the resolver must be cold for the first pass of every workload: the
# dnssec: no workload reuses wild13's names, so it gets names of its own
sed 's/^c/d/' "$run/q.wild13" >"$run/q.wild13_nodnssec"
for w in "${workloads[@]}"; do
	read -r name file warm rcode mode <<<"$w"
	[ "$name" = wild13_nodnssec ] && file=wild13_nodnssec
	opts=("${validating[@]}")
	[ "$mode" = nodnssec ] && opts=(--forwarder "$HF_LAB_RESOLVER" --dnssec no)
	# what the validator has to check per answer: the upstream's response
	# (DO, CD) to a name like the workload's and in the same NSEC span
	# (c1x.alg8.de for c1.alg8.de: one NSEC covers both it and the
	# wildcard, as for every c<i>; x<name> would sort past www and need a
	# second), not one of them (the resolver stays cold); RRSIGs counted by
	# the report
	first=$(head -n 1 "$run/q.$file" | cut -d' ' -f1)
	dig +time=2 +tries=1 +dnssec +cd @"$HF_LAB_RESOLVER_ADDR" "${first/./x.}" A >"$raw/$name.upstream.txt" 2>&1 || true
	passes=$(seq 0 "$rounds")
	[ "$profile" = 1 ] && passes+=" prof"
	for pass in $passes; do
		# pass 0: everything cold; passes 1..: holdfast cold, Unbound warm;
		# prof: one more of those, profiled (not in the medians)
		tag=$name.p$pass
		log "== cold cache: $name, pass $pass ($([ "$pass" = 0 ] && echo "resolver cold too" || echo "holdfast cold, resolver warm")), $names names"
		start_holdfast "${opts[@]}"
		expect "$warm" NOERROR +dnssec
		snap "$raw/$tag.before"
		prof=
		[ "$pass" = prof ] && prof=profile
		dnsperf_measured "$run/q.$file" "$tag" $prof
		snap "$raw/$tag.after"
		first=$(head -n 1 "$run/q.$file" | cut -d' ' -f1)
		expect "$first" "$rcode" +dnssec
		cp "$run/dig.txt" "$raw/$name.answer.txt"
		stop_holdfast
		grep -E 'Queries (sent|completed|lost)|Run time|Response codes' "$raw/$tag.dnsperf.txt" |
			tr -s ' ' | tr '\n' ' ' | sed 's/^/cpb:   /' >&2
		echo >&2
	done
done

# ---------------------------------------------------------------- memory
# One slot per name in the 256-byte class: cache-memory = 256 B / 35% per
# name (docs/bench.md, "Memory per cached name"), entries 1.25 x the names.
mem_entries=$((mem_names * 5 / 4))
[ $mem_entries -ge 1024 ] || mem_entries=1024
mem_bytes=$((mem_names * 256 * 100 / 35 + 8 * 1048576))
hf_mem=$(((mem_bytes + mem_entries * 400) / 1048576 + 512))
# the baseline: the same process with the smallest cache it takes
start_holdfast --forwarder "$HF_LAB_SLD_ADDR@53" --dnssec no --cache-entries 1024 --cache-memory 1M
expect www.example.de NOERROR
sleep 1
rss_base=$(rss_kib)
stop_holdfast
log "== memory: $mem_names names (cache-entries $mem_entries, cache-memory $mem_bytes, -m $hf_mem)"
start_holdfast --forwarder "$HF_LAB_SLD_ADDR@53" --dnssec no \
	--cache-entries "$mem_entries" --cache-memory "$mem_bytes"
expect www.example.de NOERROR
sleep 1
rss0=$(rss_kib)
snap "$raw/mem.before"
dnsperf_once "$run/q.mem" "$raw/mem.fill.txt"
snap "$raw/mem.filled"
sleep 1
rss1=$(rss_kib)
# the second pass must be answered from the cache, all of it
timeout 900 "${ns[@]}" taskset -c 1 dnsperf -s "$S" -d "$run/q.mem" -n 1 -c 8 -q 256 -t 5 \
	-S 0 >"$raw/mem.check.txt" 2>&1 || true
snap "$raw/mem.checked"
rss2=$(rss_kib)
cat >"$raw/mem.txt" <<EOF
names $mem_names
cache_entries $mem_entries
cache_memory $mem_bytes
eal_m_mib $hf_mem
rss_kib_tiny_cache $rss_base
rss_kib_start $rss0
rss_kib_filled $rss1
rss_kib_after_check $rss2
EOF
stop_holdfast
log "   RSS $rss0 KiB empty, $rss1 KiB with $mem_names names cached"

# ---------------------------------------------------------------- report
{
	facts_common "$([ $smoke = 1 ] && echo smoke || echo full)" "${HF_CPB_COMMIT:-}"
	echo "openssl=$(openssl version)"
	echo "unbound=$(unbound -V 2>/dev/null | awk '/^Version/ { print $2 }')"
	echo "knotd=$(knotd --version 2>/dev/null | awk '{ print $NF }')"
	echo "dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
	echo "names=$names"
	echo "rounds=$rounds"
	echo "control_threads=${ctl_threads:-1 (-l 0,1)}"
	echo "duration_s=$(($(date +%s) - t_start))"
	echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$raw/facts.txt"
mkdir -p "$out"
check=()
[ $smoke = 1 ] && check=(--check)
python3 "$here/control_plane_report.py" "${check[@]}" "$raw" "$out" || die "report failed"
# beside the results: openssl's output and the upstream responses the
# validator checked (one per workload)
rm -rf -- "$out/control_plane"
mkdir -p "$out/control_plane"
cp "$raw"/openssl_speed.txt "$raw"/*.upstream.txt "$raw"/*.answer.txt "$raw"/facts.txt "$raw"/mem.txt "$out/control_plane/"
[ "$profile" = 0 ] || cp "$raw"/*.profile.txt "$out/control_plane/"
log "done in $(($(date +%s) - t_start)) s: $out/control_plane.{json,md}"
cat "$out/control_plane.md"
