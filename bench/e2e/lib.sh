# shellcheck shell=bash disable=SC2154 # log: from the script that sources this
# Helpers shared by bench/e2e/side_by_side.sh and control_plane.sh (sourced).

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
		case ${f##*/} in our_pids.txt | *.cpu[01]) continue ;; esac
		[ -f "$f" ] && { grep -v '^> ' "$f" >"$2/${f##*/}" || true; }
	done
}
