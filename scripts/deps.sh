#!/usr/bin/env bash
# Install every Debian package that holdfast's build, run, tests and
# benchmarks need. Idempotent: when everything is installed it does one
# dpkg-query and exits (well under a second). Otherwise it runs
# `apt-get update` once and installs what is missing, non-interactively.
# One line of output per action. Run as root on Debian 12 (bookworm).
#
# The knot package is installed for its knotd binary only: the lab runs its
# own knotd with its own config, rundir and storage on 127.53.0.x, never
# the packaged service. Debian's default /etc/knot/knot.conf listens on no
# address, so a packaged knotd that a systemd machine may auto-start does
# not hold port 53 anywhere; we never start, stop or rely on it.
set -euo pipefail

pkgs=(
	# build
	build-essential meson ninja-build pkg-config git
	clang libclang-rt-14-dev llvm clang-format # fuzz (libFuzzer, ASan runtime), format
	dpdk-dev libdpdk-dev libssl-dev libnuma-dev
	libbpf-dev # xdp-exception: dataplane/xdp_dns.bpf.c (clang -target bpf, above)
	# lab: authoritative servers, zone signing, network namespaces
	knot knot-dnsutils ldnsutils iproute2 procps ethtool
	# tests: clients, ARP / ND probes, the e2e runner
	debhelper dpkg-dev lintian adduser # tests/pkg: the Debian package, built, checked and installed
	debootstrap systemd-container # tests/pkg/test_nspawn.sh: the package booted under systemd
	dnsutils iputils-arping iputils-ping ndisc6 python3 python3-dnspython tcpdump # python3-dnspython: the e2e suites' DNS messages (tests/e2e/lib)
	# benchmarks
	dnsperf libbenchmark-tools python3-scipy # compare.py (Google Benchmark tools) and its scipy
	linux-perf # scripts/bench --profile (perf record -e cpu-clock)
	unbound # lab: the signed world's non-validating resolver (its own instance, never the service)
	# bench/e2e/side_by_side.sh: the peers (own instances, never the packaged services),
	# kxdpgun is in knot-dnsutils and resperf in dnsperf, both above
	knot-resolver dnsdist gnuplot-nox hyperfine
	openssl # bench/e2e/transport.sh: the DoT certificate, s_time
	# the fleet (fleet/, tests/fleet/): etcd's JSON gateway through libcurl and json-c;
	# the lab runs its own etcd members and BIRDs, never the packaged services
	libcurl4-openssl-dev libjson-c-dev etcd-server etcd-client bird2
)

# The unbound package enables its service; on a systemd machine it would
# hold port 53 on 127.0.0.1 and ::1. The lab runs its own Unbound on its own
# 127.x address and needs no service: keep it off (no-op without systemd).
# The same for etcd (127.0.0.1:2379) and bird: the fleet lab runs its own.
unbound_service_off() {
	local s
	for s in unbound etcd bird; do
		if [ -d /run/systemd/system ] && systemctl is-enabled --quiet "$s" 2>/dev/null; then
			echo "deps: systemctl disable --now $s (the lab runs its own)"
			systemctl disable --now "$s" >/dev/null 2>&1 || echo "deps: warning: could not disable the $s service" >&2
		fi
	done
}

missing=()
# One dpkg-query for all: prints "name status" for each known package.
declare -A ok=()
while read -r name status; do
	[ "$status" = installed ] && ok[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
for p in "${pkgs[@]}"; do
	[ -n "${ok[$p]:-}" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	[ "$(id -u)" != 0 ] || unbound_service_off
	echo "deps: all ${#pkgs[@]} packages installed"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update"
if ! apt-get update -qq >/tmp/holdfast-deps.log 2>&1; then
	cat /tmp/holdfast-deps.log >&2
	echo "deps: apt-get update failed" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
if ! apt-get install -y -qq \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}" >/tmp/holdfast-deps.log 2>&1; then
	tail -n 30 /tmp/holdfast-deps.log >&2
	echo "deps: apt-get install failed" >&2
	exit 1
fi
rm -f /tmp/holdfast-deps.log
unbound_service_off
echo "deps: done"
