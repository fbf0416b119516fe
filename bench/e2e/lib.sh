# shellcheck shell=bash disable=SC2154 # log: from the script that sources this
# Helpers shared by the scripts of bench/e2e/ (sourced).

# is PID still the process we started as NAME? (never kill a recycled pid)
pid_is() { # pid pattern
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q -- "$2"
}

stop_pidfile() { # pidfile pattern
	local pid
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null) || pid=
	rm -f "$1"
	[[ $pid =~ ^[0-9]+$ ]] && pid_is "$pid" "$2" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		pid_is "$pid" "$2" || return 0
		sleep 0.05
	done
	log "warning: $2 (pid $pid) ignored SIGTERM for 5 s, killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for _ in $(seq 40); do
		pid_is "$pid" "$2" || return 0
		sleep 0.05
	done
}

# The kernel detaches the XDP program and frees the XDP socket after a DPDK
# net_af_xdp process exits; a new one started before that fails with EBUSY.
wait_xdp_detached() { # interface
	for _ in $(seq 100); do
		ip link show dev "$1" 2>/dev/null | grep -q 'prog/xdp' || return 0
		sleep 0.05
	done
}

# The value after KEY in the last line of FILE that contains MATCH (holdfast's
# "key value key value" counter lines), 0 when there is none.
counter() { # file match key
	grep -- "$2" "$1" 2>/dev/null | tail -n 1 |
		awk -v k="$3" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } } END { if (!NR) print 0 }'
}

# Root, 2 CPUs, one run of NAME at a time (a lock held until the script
# exits: lab tag, DPDK file prefix and addresses are fixed), the packages,
# and a holdfast binary: $holdfast as given, else build/holdfast (built).
# Sets t_start. Uses $top.
prelude() { # name
	[ "$(id -u)" = 0 ] || die "run as root (network namespace, XDP, DPDK)"
	[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (server on CPU 1, load generator on CPU 0)"
	local lockf=/tmp/hf-$1.lock
	[ -d /run/lock ] && lockf=/run/lock/hf-$1.lock
	exec 9>"$lockf"
	flock -n 9 || die "another $1 run is going on ($lockf)"
	t_start=$(date +%s)
	"$top/scripts/deps.sh" >&2
	if [ -z "$holdfast" ]; then
		if [ ! -f "$top/build/build.ninja" ]; then
			meson setup "$top/build" "$top" --werror >/dev/null || die "meson setup failed"
		fi
		ninja -C "$top/build" holdfast >/dev/null || die "building holdfast failed"
		holdfast=$top/build/holdfast
	fi
	[ -x "$holdfast" ] || die "no holdfast binary at $holdfast"
}

# EXIT/INT/TERM traps of a lab script: on exit STOP (a function of the
# script: what it started), the lab down, the run directory removed, or kept
# and named on failure. Uses $lab and $run.
lab_traps() { # stop
	lab_stop=$1
	trap lab_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}
lab_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	"$lab_stop" || true
	"$lab" down >/dev/null 2>&1 || log "warning: lab.sh down failed"
	if [ $rc = 0 ]; then
		rm -rf -- "$run"
	else
		log "failed (exit $rc); logs kept in $run"
	fi
	exit $rc
}

# The facts every results file starts with ("key=value" lines).
facts_common() { # mode [holdfast commit; default: git describe of $top]
	echo "mode=$1"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "cpus=$(nproc)"
	echo "kernel=$(uname -r)"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "holdfast_commit=${2:-$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)}"
	echo "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)"
}

# A warning when the machine is busy before a run (load average above 0.5).
warn_if_busy() {
	local la
	la=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v l="$la" 'BEGIN { exit !(l > 0.5) }'; then
		log "warning: load average $la before the run: something else uses the CPUs, numbers will suffer"
	fi
}

# -h/--help of a script: its header comment.
header_help() { # script
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"
	exit 0
}

# End of a run: its duration and the load into RAW/facts.txt, and RAW's tool
# output (minus dnsperf -v's per-query lines; no CPU snapshots) into DEST.
# Uses $t_start (prelude).
finish_raw() { # raw dest
	local f
	echo "duration_s=$(($(date +%s) - t_start))" >>"$1/facts.txt"
	echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$1/facts.txt"
	mkdir -p "$2"
	for f in "$1"/*; do
		case ${f##*/} in
		our_pids.txt) continue ;;
		*.cpu[01]) # cpu_snapshot.py's: the CPUs' lines, not every process's
			grep -E '^(total|cpu[0-9]+|wall) ' "$f" >"$2/${f##*/}" || true
			continue
			;;
		esac
		[ -f "$f" ] && { grep -v '^> ' "$f" >"$2/${f##*/}" || true; }
	done
}

# ------------------------------------------------ servers on one path
# side_by_side.sh and flood.sh: one server at a time behind the lab's veth
# (holdfast through DPDK, the peers through the kernel's UDP stack on the
# host end), pinned to CPU 1. State in exported SBS_* variables, so that
# side_by_side.sh's hyperfine helpers (separate processes) see it too:
# SBS_RUN (pid files, logs, rendered configs), SBS_HOLDFAST, SBS_DRIVER
# (af_xdp, or af_packet after a fallback), SBS_HOST_IF, SBS_NETNS,
# SBS_UPSTREAM, SBS_HOLDFAST_EXTRA (more holdfast options), SBS_PREFIX (the
# DPDK file prefix, default hf_sbs).

SERVICE4=198.18.53.1

# Host veth end: no address for holdfast (it answers ARP itself, the kernel
# must stay silent: lab.sh's state), the service address for kernel peers.
host_if_dpdk() {
	ip addr flush dev "$SBS_HOST_IF" 2>/dev/null || true
	sysctl -qw "net.ipv4.conf.$SBS_HOST_IF.arp_ignore=8" >/dev/null
}
host_if_kernel() {
	ip addr replace "$SERVICE4/24" dev "$SBS_HOST_IF"
	sysctl -qw "net.ipv4.conf.$SBS_HOST_IF.arp_ignore=0" >/dev/null
}

stop_all() {
	stop_pidfile "$SBS_RUN/holdfast.pid" "$SBS_HOLDFAST"
	wait_xdp_detached "$SBS_HOST_IF"
	stop_pidfile "$SBS_RUN/dnsdist.pid" "dnsdist -C $SBS_RUN"
	stop_pidfile "$SBS_RUN/kresd.pid" "kresd -n -c $SBS_RUN"
	stop_pidfile "$SBS_RUN/unbound.pid" "unbound -d -c $SBS_RUN/unbound.conf"
	stop_pidfile "$SBS_RUN/unbound-backend.pid" "unbound -d -c $SBS_RUN/unbound-backend.conf"
}

# Start NAME in the background, detached (its own session), pinned to the
# server core; does not wait for it to answer.
start_server() { # name
	local name=$1 log=$SBS_RUN/$1.log
	case $name in
	holdfast)
		host_if_dpdk
		# -l 0,1: the worker (all packet work) on lcore 1 = CPU 1, the
		# control plane on CPU 0 (it sleeps once the cache is warm).
		# shellcheck disable=SC2086 # SBS_HOLDFAST_EXTRA: words
		setsid "$SBS_HOLDFAST" -l 0,1 --no-huge -m 1024 --no-pci --file-prefix="${SBS_PREFIX:-hf_sbs}" \
			--vdev="net_${SBS_DRIVER}0,iface=$SBS_HOST_IF" -- \
			--service-address "$SERVICE4" --forwarder "$SBS_UPSTREAM@53" \
			--control-socket "$SBS_RUN/holdfast.sock" $SBS_HOLDFAST_EXTRA </dev/null >>"$log" 2>&1 &
		echo $! >"$SBS_RUN/holdfast.pid"
		;;
	unbound)
		host_if_kernel
		setsid taskset -c 1 unbound -d -c "$SBS_RUN/unbound.conf" </dev/null >>"$log" 2>&1 &
		echo $! >"$SBS_RUN/unbound.pid"
		;;
	kresd)
		host_if_kernel
		mkdir -p "$SBS_RUN/kresd"
		setsid taskset -c 1 kresd -n -c "$SBS_RUN/kresd.conf" "$SBS_RUN/kresd" </dev/null >>"$log" 2>&1 &
		echo $! >"$SBS_RUN/kresd.pid"
		;;
	dnsdist)
		host_if_kernel
		setsid taskset -c 1 unbound -d -c "$SBS_RUN/unbound-backend.conf" </dev/null >>"$SBS_RUN/unbound-backend.log" 2>&1 &
		echo $! >"$SBS_RUN/unbound-backend.pid"
		setsid taskset -c 1 dnsdist -C "$SBS_RUN/dnsdist.conf" --supervised --disable-syslog </dev/null >>"$log" 2>&1 &
		echo $! >"$SBS_RUN/dnsdist.pid"
		;;
	*) die "unknown server $name" ;;
	esac
}

# Wait until the server answers the check question (the array check: name,
# type, address, flag that must be set or ""; dig +dnssec with a flag) with
# its address (up to 15 s). Returns 0 then, 1 when nothing answered at all,
# 2 when something answered wrongly (the answer's status is in
# $run/answer.txt). Uses $run and the array ns (ip netns exec ...).
wait_answer() {
	local got=1 name=${check[0]} type=${check[1]} want=${check[2]} flag=${check[3]}
	for _ in $(seq 150); do
		if "${ns[@]}" dig +time=1 +tries=1 ${flag:++dnssec} @"$SERVICE4" "$name" "$type" >"$run/answer.txt" 2>&1; then
			if grep -Eq "^${name//./\\.}\\.\\s.*\\s$type\\s+${want//./\\.}\$" "$run/answer.txt" &&
				{ [ -z "$flag" ] || grep -Eq "^;; flags:[a-z ]* ${flag}[ ;]" "$run/answer.txt"; }; then
				return 0
			fi
			grep -q 'status:' "$run/answer.txt" && got=2
		fi
		sleep 0.1
	done
	return $got
}

# Start NAME and wait for its right answer (wait_answer); holdfast falls
# back to net_af_packet when it does not answer through net_af_xdp (the
# driver is written to $raw/holdfast.driver). Dies when the server does not
# answer right. Appends the pids to $raw/our_pids.txt.
server_up() { # name
	local s=$1 rc=0
	start_server "$s"
	wait_answer || rc=$?
	if [ $rc = 1 ] && [ "$s" = holdfast ] && [ "$SBS_DRIVER" = af_xdp ]; then
		log "holdfast does not answer through net_af_xdp; falling back to net_af_packet"
		tail -n 5 "$run/holdfast.log" >&2
		stop_all
		export SBS_DRIVER=af_packet
		start_server holdfast
		rc=0
		wait_answer || rc=$?
	fi
	if [ $rc != 0 ]; then
		grep -E 'status:|flags:|^www' "$run/answer.txt" >&2 || true
		tail -n 5 "$run/$s.log" >&2 || true
		die "$s does not answer ${check[0]} ${check[1]} correctly${check[3]:+ (with ${check[3]^^})}"
	fi
	[ "$s" = holdfast ] && echo "$SBS_DRIVER" >"$raw/holdfast.driver"
	cat "$run"/*.pid >>"$raw/our_pids.txt" 2>/dev/null || true
}

# The peers' configs, rendered from bench/e2e/*.conf.in into $run:
# unbound.conf and kresd.conf on the service address, dnsdist.conf in front
# of unbound-backend.conf on $backend_addr. signed: validating with the
# lab's root anchor; static: no validation. Uses $run, $here, $upstream,
# $check_zone, $backend_addr and the lab's variables.
peer_confs() { # signed|static
	local unbound_modules unbound_anchor kres_anchor
	if [ "$1" = signed ]; then
		unbound_modules="validator iterator"
		unbound_anchor="trust-anchor-file: \"$HF_LAB_TRUST_ANCHOR\""
		kres_anchor="trust_anchors.add_file('$HF_LAB_TRUST_ANCHOR', true)"
	else
		unbound_modules=iterator
		unbound_anchor="# no trust anchor"
		kres_anchor="-- no trust anchor"
	fi
	render_conf() { # template output listen
		sed -e "s|@DIR@|$run|g" -e "s|@LISTEN@|$3|g" -e "s|@PORT@|53|g" \
			-e "s|@PIDFILE@|$run/${2%.conf}.self.pid|g" \
			-e "s|@UPSTREAM@|$upstream@53|g" -e "s|@UPSTREAM_KRES@|$upstream@53|g" \
			-e "s|@UNBOUND_MODULES@|$unbound_modules|g" -e "s|@UNBOUND_ANCHOR@|$unbound_anchor|g" \
			-e "s|@KRES_ANCHOR@|$kres_anchor|g" -e "s|@CHECK_ZONE@|$check_zone|g" \
			-e "s|@BACKEND@|$backend_addr:53|g" "$here/$1" >"$run/$2"
	}
	render_conf unbound.conf.in unbound.conf "$SERVICE4"
	render_conf unbound.conf.in unbound-backend.conf "$backend_addr"
	render_conf kresd.conf.in kresd.conf "$SERVICE4"
	render_conf dnsdist.conf.in dnsdist.conf "$SERVICE4"
	unbound-checkconf "$run/unbound.conf" >/dev/null || die "unbound.conf does not check"
	dnsdist --check-config -C "$run/dnsdist.conf" >/dev/null || die "dnsdist.conf does not check"
}

# Leak guard: count DNS packets on every other interface for the whole run
# (nothing of ours may leave loopback and the lab's veth pair), into
# DIR/leak.<interface>.txt; stop_sniffers ends it.
sniff_pids=()
start_sniffers() { # dir
	local i others=()
	for i in /sys/class/net/*; do
		i=${i##*/}
		case $i in lo | "$HF_LAB_HOST_IF" | hf*) continue ;; esac
		[ "$(cat "/sys/class/net/$i/operstate" 2>/dev/null)" = down ] && continue
		others+=("$i")
	done
	command -v tcpdump >/dev/null || return 0
	for i in "${others[@]}"; do
		tcpdump -i "$i" -n -l -q "port 53 or port 853" >"$1/leak.$i.txt" 2>/dev/null &
		sniff_pids+=($!)
	done
}
stop_sniffers() {
	local p
	for p in "${sniff_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	sniff_pids=()
}

# The tools' and servers' versions: "key=value" lines for facts.txt, and
# their own words for versions.txt.
facts_tools() {
	echo "unbound=$(unbound -V 2>/dev/null | awk '/^Version/ { print $2 }')"
	echo "kresd=$(kresd --version 2>/dev/null | awk '{ print $NF }')"
	echo "dnsdist=$(dnsdist --version 2>/dev/null | awk 'NR == 1 { print $2 }')"
	echo "knotd=$(knotd --version 2>/dev/null | awk '{ print $NF }')"
	echo "kxdpgun=$(kxdpgun --version 2>/dev/null | awk '{ print $NF }')"
	echo "dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
}
versions_txt() {
	unbound -V 2>&1 | head -n 1
	kresd --version 2>&1
	dnsdist --version 2>&1 | head -n 1
	knotd --version 2>&1
	kxdpgun --version 2>&1
	dnsperf -h 2>&1 | grep '^Version' | sed 's/^/dnsperf /'
	echo "DPDK $(pkg-config --modversion libdpdk 2>/dev/null)"
}
