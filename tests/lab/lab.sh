#!/usr/bin/env bash
# The holdfast lab: a client network namespace joined to the host by a veth
# pair (holdfast drives the host end with DPDK's net_af_packet/net_af_xdp),
# and a knotd on a loopback address (127.53.0.10 by default) serving the
# lab zones; plus a signed DNS world (root, de., zones under it: one knotd
# per level) and a non-validating Unbound in front of it, with fault
# switches for DNSSEC tests (world.sh). See tests/lab/README.md.
#
#   lab.sh up              (re)create everything; leftovers of a crash are removed first
#   lab.sh down            stop knotd, delete netns, veth and lab dir (safe to repeat)
#   lab.sh upstream-stop   kill knotd: UDP to the upstream then gets ICMP port unreachable
#   lab.sh upstream-start  start knotd again, or resume a paused one (waits until it answers)
#   lab.sh upstream-pause  SIGSTOP knotd: queries to it are silently queued, never answered
#   lab.sh upstream-resume SIGCONT knotd (it then answers what was queued)
#   lab.sh env             print the lab's shell variables (eval "$(lab.sh env)")
#   lab.sh status          show what exists
#
# Signed world (each re-signs/reloads the zone and flushes the resolver):
#   lab.sh fault-expired ZONE   signatures expired yesterday
#   lab.sh fault-future ZONE    signatures not valid before tomorrow
#   lab.sh fault-corrupt ZONE   every RRSIG but the DNSKEY's has a changed signature
#   lab.sh fault-dnskey ZONE    re-keyed: no DS in the parent matches the DNSKEYs
#   lab.sh fault-nosig ZONE     RRSIGs stripped (but the DNSKEY's)
#   lab.sh fault-nodenial ZONE  NSEC/NSEC3 records (and their RRSIGs) removed
#   lab.sh fault-down ZONE      stop the knotd serving ZONE (and its level)
#   lab.sh repair ZONE|all      back to the healthy zone / world
#   lab.sh resolver-stop        stop the lab's Unbound (HF_LAB_RESOLVER): ICMP port unreachable
#   lab.sh resolver-start       start it again (`repair all` does too)
#
# Environment: HF_LAB_TAG (default "lab", [a-z0-9], at most 6 characters)
# names everything so two labs can coexist; HF_LAB_DIR (default
# /tmp/hf-lab-$HF_LAB_TAG); HF_LAB_UPSTREAM_ADDR (default 127.53.0.10, read
# by `up` and remembered in the lab dir; the signed world lives on
# 127.(A+1..A+5).B.C of it); HF_LAB_WORLD=0 (at `up`: no signed world);
# HF_LAB_RESOLVER_MAX_TTL (at `up`: Unbound's cache-max-ttl);
# HF_LAB_TTL_NAMES=N (at `up`, with the world: N more signed names
# nI.ttl.example.de A 192.0.2.5, TTL 5 + I mod 56 s). Run as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

TAG=${HF_LAB_TAG:-lab}
if ! [[ $TAG =~ ^[a-z0-9]{1,6}$ ]]; then
	echo "lab: HF_LAB_TAG must be 1-6 characters of [a-z0-9], got '$TAG'" >&2
	exit 2
fi
NETNS=hf-$TAG
HOST_IF=hf${TAG}h
CLIENT_IF=hf${TAG}c
LAB_DIR=${HF_LAB_DIR:-/tmp/hf-lab-$TAG}
# shellcheck disable=SC2034 # printed by lab_env through ${!v}
SERVICE4=198.18.53.1
# shellcheck disable=SC2034
SERVICE6=fd53::1
CLIENT4=198.18.53.2
CLIENT6=fd53::2
UPSTREAM_ADDR=${HF_LAB_UPSTREAM_ADDR:-127.53.0.10}
WORLD=${HF_LAB_WORLD:-1}
TTL_NAMES=${HF_LAB_TTL_NAMES:-0}
# A running lab remembers the upstream address it was made with.
if [ -f "$LAB_DIR/lab.state" ]; then
	# shellcheck disable=SC1091
	. "$LAB_DIR/lab.state"
fi
# The upstream lives on loopback, always: lab traffic never leaves the machine.
if ! [[ $TTL_NAMES =~ ^[0-9]{1,6}$ ]]; then
	echo "lab: HF_LAB_TTL_NAMES must be a number of names (0-999999), got '$TTL_NAMES'" >&2
	exit 2
fi
if ! [[ $UPSTREAM_ADDR =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
	echo "lab: HF_LAB_UPSTREAM_ADDR must be an IPv4 loopback address (127.x.y.z), got '$UPSTREAM_ADDR'" >&2
	exit 2
fi
KNOT_CONF=$LAB_DIR/knot/knot.conf
KNOT_PID=$LAB_DIR/knot/knotd.pid
# shellcheck source=world.sh
. "$here/world.sh"

log() { echo "lab[$TAG]: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

need_root() {
	[ "$(id -u)" = 0 ] || die "run as root (network namespaces, veth, sysctl)"
}

# pid of our knotd, if it runs (checked against its command line, so a
# recycled pid is never killed).
is_our_knotd() { # pid
	[ -r "/proc/$1/cmdline" ] &&
		[ "$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" = "knotd -c $KNOT_CONF " ]
}
knotd_pid() {
	local pid c
	if [ -f "$KNOT_PID" ]; then
		pid=$(cat "$KNOT_PID" 2>/dev/null) || pid=
		if [[ $pid =~ ^[0-9]+$ ]] && is_our_knotd "$pid"; then
			echo "$pid"
			return 0
		fi
	fi
	# The pid file may be gone (crash, lab dir removed): look for a knotd
	# started with exactly this lab's config path.
	for c in /proc/[0-9]*/cmdline; do
		pid=${c#/proc/}
		pid=${pid%/cmdline}
		if is_our_knotd "$pid"; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

knot_answers() {
	kdig @"$UPSTREAM_ADDR" -p 53 +time=1 +retry=0 +norec test. SOA 2>/dev/null | grep -q 'status: NOERROR'
}

# Is the upstream's UDP port free? Waits up to 3 s: a knotd that was just
# killed can still hold its sockets for a moment after its command line
# (what is_our_knotd looks at) has gone.
port_free() {
	for _ in $(seq 30); do
		ss -Hlun "src $UPSTREAM_ADDR:53" 2>/dev/null | grep -q . || return 0
		sleep 0.1
	done
	return 1
}

upstream_start() {
	local pid
	if pid=$(knotd_pid); then
		if knotd_paused "$pid"; then
			upstream_resume
		else
			log "knotd already running (pid $pid)"
		fi
		return 0
	fi
	[ -f "$KNOT_CONF" ] || die "no lab at $LAB_DIR (run: lab.sh up)"
	port_free || die "something already listens on $UPSTREAM_ADDR:53 (another lab? use HF_LAB_UPSTREAM_ADDR)"
	knotc -c "$KNOT_CONF" conf-check >/dev/null 2>"$LAB_DIR/knot/conf-check.log" ||
		die "knot config does not check: $(cat "$LAB_DIR/knot/conf-check.log")"
	# setsid: its own session, so a Ctrl-C in the caller's terminal or the
	# caller's process group being killed leaves the cleanup to `down`.
	setsid knotd -c "$KNOT_CONF" </dev/null >>"$LAB_DIR/knot/knotd.out" 2>&1 &
	echo $! >"$KNOT_PID"
	for _ in $(seq 50); do
		if knot_answers; then
			log "knotd up on $UPSTREAM_ADDR@53 (pid $(cat "$KNOT_PID"))"
			return 0
		fi
		if ! knotd_pid >/dev/null; then
			tail -n 20 "$LAB_DIR/knot/knotd.out" "$LAB_DIR/knot/knotd.log" >&2 2>/dev/null || true
			die "knotd exited at start"
		fi
		sleep 0.1
	done
	tail -n 20 "$LAB_DIR/knot/knotd.log" >&2 2>/dev/null || true
	die "knotd does not answer on $UPSTREAM_ADDR@53 after 5 s"
}

upstream_stop() {
	local pid
	if ! pid=$(knotd_pid); then
		log "knotd not running"
		rm -f "$KNOT_PID"
		return 0
	fi
	if knotd_paused "$pid"; then
		# A stopped knotd would answer its queued queries on SIGCONT before
		# it handles SIGTERM: make it vanish without answering anything.
		kill -KILL "$pid" 2>/dev/null || true
	else
		kill -TERM "$pid" 2>/dev/null || true
	fi
	# A dead knotd may stay a zombie until its parent (init) reaps it; its
	# empty command line no longer matches, which is all we wait for.
	for _ in $(seq 50); do
		is_our_knotd "$pid" || break
		sleep 0.1
	done
	if is_our_knotd "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	fi
	port_free || log "warning: $UPSTREAM_ADDR:53 still in use after knotd stopped"
	# knotd's own pid file would make the next knotd refuse to start while
	# the old pid lingers as a zombie.
	rm -f "$KNOT_PID" "$LAB_DIR/knot/knot.pid"
	log "knotd stopped"
}

knotd_paused() { # pid
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]
}

upstream_pause() {
	local pid
	pid=$(knotd_pid) || die "knotd not running"
	kill -STOP "$pid"
	for _ in $(seq 20); do
		knotd_paused "$pid" && break
		sleep 0.05
	done
	log "knotd paused (pid $pid): queries to $UPSTREAM_ADDR@53 go unanswered"
}

upstream_resume() {
	local pid
	pid=$(knotd_pid) || die "knotd not running"
	kill -CONT "$pid"
	for _ in $(seq 50); do
		knot_answers && break
		sleep 0.1
	done
	log "knotd resumed (pid $pid)"
}

sysctl_set() { # key value
	sysctl -qw "$1=$2" >/dev/null 2>&1 || log "warning: sysctl $1=$2 failed"
}

net_up() {
	ip netns add "$NETNS"
	ip link add "$HOST_IF" type veth peer name "$CLIENT_IF" netns "$NETNS"
	# Host end: no addresses, no IPv6, no ARP replies, no forwarding, so the
	# kernel never answers (or routes) anything for the service addresses;
	# holdfast answers ARP and ND itself through DPDK.
	sysctl_set "net.ipv6.conf.$HOST_IF.disable_ipv6" 1
	sysctl_set "net.ipv4.conf.$HOST_IF.arp_ignore" 8
	sysctl_set "net.ipv4.conf.$HOST_IF.forwarding" 0
	sysctl_set "net.ipv4.conf.$HOST_IF.rp_filter" 0
	ip link set "$HOST_IF" up
	# Client end. Offloads are left as the veth has them: the client sends
	# UDP with partial checksums (CHECKSUM_PARTIAL) and holdfast must cope.
	ip -n "$NETNS" link set lo up
	ip -n "$NETNS" addr add "$CLIENT4/24" dev "$CLIENT_IF"
	ip -n "$NETNS" addr add "$CLIENT6/64" dev "$CLIENT_IF" nodad
	ip -n "$NETNS" link set "$CLIENT_IF" up
	ip netns exec "$NETNS" sysctl -qw "net.ipv6.conf.$CLIENT_IF.accept_ra=0" >/dev/null 2>&1 || true
}

lab_up() {
	need_root
	for t in ip knotd knotc kdig ss setsid; do
		command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
	done
	lab_down quiet
	mkdir -p "$LAB_DIR/knot/db" "$LAB_DIR/zones"
	printf 'UPSTREAM_ADDR=%s\nWORLD=%s\nTTL_NAMES=%s\n' "$UPSTREAM_ADDR" "$WORLD" "$TTL_NAMES" >"$LAB_DIR/lab.state"
	cp "$here"/zones/*.zone "$LAB_DIR/zones/"
	sed -e "s|@LAB_DIR@|$LAB_DIR|g" -e "s|@UPSTREAM_ADDR@|$UPSTREAM_ADDR|g" \
		"$here/knot.conf.in" >"$KNOT_CONF"
	net_up
	upstream_start
	[ "$WORLD" = 0 ] || world_up
	log "up: netns $NETNS ($CLIENT_IF $CLIENT4 $CLIENT6), host $HOST_IF, dir $LAB_DIR"
}

lab_down() {
	local quiet=${1:-}
	need_root
	upstream_stop 2>/dev/null || true
	world_down 2>/dev/null || true
	# Deleting the netns deletes the client veth, which deletes its peer.
	if [ -e "/run/netns/$NETNS" ]; then
		ip netns pids "$NETNS" 2>/dev/null | while read -r pid; do
			log "killing pid $pid left in $NETNS"
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	if ip link show "$HOST_IF" >/dev/null 2>&1; then
		ip link del "$HOST_IF" 2>/dev/null || true
	fi
	# Only ever remove a directory that looks like ours.
	if [ -d "$LAB_DIR" ] && { [ -f "$LAB_DIR/lab.state" ] || [ -d "$LAB_DIR/knot" ]; }; then
		rm -rf -- "$LAB_DIR"
	fi
	[ -n "$quiet" ] || log "down"
}

lab_env() {
	local q
	local vars=(TAG NETNS HOST_IF CLIENT_IF SERVICE4 SERVICE6 CLIENT4 CLIENT6 DIR UPSTREAM UPSTREAM_ADDR KNOT_CONF)
	[ "$WORLD" = 0 ] || vars+=(RESOLVER RESOLVER_ADDR TRUST_ANCHOR TRUST_ANCHOR_BIND ROOT_ADDR TLD_ADDR SLD_ADDR L3_ADDR UNBOUND_CONF)
	for v in "${vars[@]}"; do
		case $v in
		DIR) q=$LAB_DIR ;;
		UPSTREAM) q=$UPSTREAM_ADDR@53 ;;
		RESOLVER) q=$RESOLVER_ADDR@53 ;;
		*) q=${!v} ;;
		esac
		printf 'HF_LAB_%s=%q\n' "$v" "$q"
	done
}

lab_status() {
	lab_env
	echo "# netns: $([ -e "/run/netns/$NETNS" ] && echo "$NETNS" || echo none)"
	echo "# host veth: $(ip -br link show "$HOST_IF" 2>/dev/null || echo none)"
	echo "# knotd: $(knotd_pid || echo not running)"
	[ "$WORLD" = 0 ] || world_status
}

case ${1:-} in
up) lab_up ;;
down) lab_down ;;
upstream-stop) need_root; upstream_stop ;;
upstream-start) need_root; upstream_start ;;
upstream-pause) need_root; upstream_pause ;;
upstream-resume) need_root; upstream_resume ;;
env) lab_env ;;
status) lab_status ;;
fault-expired | fault-future | fault-corrupt | fault-dnskey | fault-nosig | fault-nodenial | fault-down)
	need_root
	world_fault "${1#fault-}" "${2:-}"
	;;
repair) need_root; world_repair "${2:-}" ;;
resolver-stop)
	need_root
	world_need
	unbound_stop
	log "resolver stopped: nothing listens on $RESOLVER_ADDR@53"
	;;
resolver-start) need_root; world_need; unbound_start ;;
*)
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
	exit 2
	;;
esac
