#!/usr/bin/env bash
# holdfast.service under a real systemd (issue 17). A Debian 12 root file
# system (debootstrap from the host's own apt mirror, with the package's
# dependencies; kept in $HF_NSPAWN_ROOT for the next run) is booted with
# `systemd-nspawn --ephemeral -b`, the .deb installed in it, and then:
# `systemctl start` returns once holdfast sent READY=1 (Type=notify), the
# whole hardened unit in force; holdfastctl works for a member of the
# holdfast group only; `systemctl reload` applies a changed key; with
# WatchdogSec=2s holdfast stays up while it runs, and a worker thread
# stopped from outside (ptrace) makes systemd kill it for a watchdog
# timeout and restart it; `systemctl stop` ends it cleanly. The port is
# net_ring (no network: the container shares nothing it could disturb).
# Usage: test_nspawn.sh SOURCE_ROOT DEB. Prints "ok NAME" / "FAIL NAME: why".
set -uo pipefail
src=$(cd "${1:?usage: test_nspawn.sh SOURCE_ROOT DEB}" && pwd)
deb=$(readlink -f "${2:?usage: test_nspawn.sh SOURCE_ROOT DEB}")
root=${HF_NSPAWN_ROOT:-/var/tmp/hf-nspawn-bookworm}
log=$(mktemp /tmp/hf-nspawn-XXXXXX.log)
passed=0 failed=0 nspawn=""
ok() { echo "ok nspawn: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL nspawn: $1: $2"; failed=$((failed + 1)); }
finish() {
	if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
		kill -TERM "$nspawn" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$nspawn" 2>/dev/null
	fi
	rm -f "$log"
	echo "nspawn: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}
trap 'finish; exit $?' EXIT
trap 'exit 1' INT TERM HUP

# ---- the root file system: systemd, what the package depends on, and
# the test's port driver (net_ring)
need="systemd,systemd-sysv,dbus,passwd,librte-net-ring23,$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
	sed -e 's/(.*)//' -e 's/|.*//' -e 's/[[:space:]]//g' | grep -v -e '^$' -e '^\$' | sort -u | paste -sd,)"
if [ "$(cat "$root/.hf-packages" 2>/dev/null)" != "$need" ]; then
	mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	rm -rf "$root" "$root.new"
	t0=$(date +%s)
	if debootstrap --variant=minbase --include="$need" bookworm "$root.new" "$mirror" >"$log" 2>&1; then
		echo "$need" >"$root.new/.hf-packages"
		mv "$root.new" "$root"
		ok "debootstrap bookworm ($(($(date +%s) - t0)) s, $(du -sm "$root" | cut -f1) MB, kept in $root)"
	else
		fail debootstrap "$(tail -n 5 "$log")"
		exit 1
	fi
fi

# ---- boot it (an ephemeral copy: the kept root is not changed)
systemd-nspawn -D "$root" --ephemeral --register=no --keep-unit --console=passive \
	--bind-ro="$deb":/root/holdfast.deb -b >"$log" 2>&1 &
nspawn=$!
leader=""
for _ in $(seq 150); do
	leader=$(pgrep -P "$nspawn" -x systemd | head -n 1)
	if [ -n "$leader" ]; then
		state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null)
		[ "$state" = running ] || [ "$state" = degraded ] && break
	fi
	sleep 0.2
done
c() { nsenter -t "$leader" -a "$@"; }
if [ -z "$leader" ] || ! c true; then
	fail boot "the container's systemd did not come up: $(tail -n 5 "$log")"
	exit 1
fi
ok "booted ($(c systemctl is-system-running))"

if c dpkg -i /root/holdfast.deb >"$log" 2>&1; then ok "dpkg -i"; else fail "dpkg -i" "$(tail -n 5 "$log")"; exit 1; fi
rootc=/proc/$leader/root
echo 'HOLDFAST_EAL="-l 0-1 --no-huge -m 256 --no-pci --no-shconf --vdev=net_ring0"' >"$rootc/etc/default/holdfast"
sed -i -e 's/^service-address: 192.0.2.53$/service-address: 198.18.0.53/' -e '/^service-address: 2001:db8::53$/d' \
	-e 's/^forwarder: 192.0.2.10$/forwarder: 127.0.0.1/' -e '/^forwarder: 2001:db8::10@53$/d' \
	-e 's/^cache-entries: 1M$/cache-entries: 4096/' -e 's/^cache-memory: 512M$/cache-memory: 8M/' \
	-e 's/^#idle-sleep: 0$/idle-sleep: 1000/' "$rootc/etc/holdfast/holdfast.conf"
mkdir -p "$rootc/etc/systemd/system/holdfast.service.d"
printf '[Service]\nWatchdogSec=2s\nRestartSec=1s\n' >"$rootc/etc/systemd/system/holdfast.service.d/test.conf"
c systemctl daemon-reload
show() { c systemctl show holdfast -p "$1" --value; }
journal() { c journalctl -u holdfast --no-pager -o cat; }

# ---- start: Type=notify returns once READY=1 came
if c systemctl start holdfast >"$log" 2>&1 && [ "$(show ActiveState)" = active ] &&
	[ "$(show StatusText)" = "answering on 1 worker core(s)" ] &&
	journal | grep -q '^holdfast: every worker answers (1 applied a first control message): READY=1 sent$'; then
	ok "systemctl start: active once READY=1 came, StatusText \"$(show StatusText)\""
else
	fail start "$(cat "$log"; journal | tail -n 8)"
	exit 1
fi

# ---- holdfastctl: the holdfast group may, others may not
c useradd -M -G holdfast op && c useradd -M other
if c runuser -u op -- holdfastctl --json status | grep -Eq '"ok": ?true'; then
	ok "holdfastctl status as a member of group holdfast"
else
	fail group "holdfastctl as op: $(c runuser -u op -- holdfastctl status 2>&1)"
fi
c runuser -u other -- holdfastctl status >/dev/null 2>&1
rc=$?
if [ $rc = 3 ]; then ok "holdfastctl as a non-member: refused (exit 3)"; else fail "non-member" "exit $rc"; fi

# ---- systemctl reload: SIGHUP, the changed key applied
sed -i 's/^#serve-stale-ttl: 30s/serve-stale-ttl: 7s/' "$rootc/etc/holdfast/holdfast.conf"
if c systemctl reload holdfast && [ "$(c holdfastctl config get serve-stale-ttl 2>&1)" = "config:
  serve-stale-ttl: 7s" ] &&
	journal | grep -q '^holdfast: reload: applied: serve-stale-ttl; needs a restart (old value kept): none$'; then
	ok "systemctl reload: serve-stale-ttl 7s applied"
else
	fail reload "$(c holdfastctl config get serve-stale-ttl 2>&1; journal | tail -n 5)"
fi

# ---- the watchdog: fed while every thread runs...
pid0=$(show MainPID)
sleep 5
if [ "$(show NRestarts)" = 0 ] && [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" = "$pid0" ]; then
	ok "WatchdogSec=2s: still up after 5 s"
else
	fail watchdog "NRestarts $(show NRestarts), $(show ActiveState): $(journal | tail -n 5)"
fi
# ...and not while a worker is stopped: systemd kills it and starts it again
hostpid=""
for p in $(pgrep -x holdfast); do
	[ "$(readlink /proc/"$p"/ns/pid)" = "$(readlink /proc/"$leader"/ns/pid)" ] && hostpid=$p
done
/usr/bin/python3 "$src/tests/pkg/stall_thread.py" "$hostpid" rte-worker-1 6 >"$log" 2>&1
for _ in $(seq 50); do [ "$(show ActiveState)" = active ] && [ "$(show NRestarts)" = 1 ] && break; sleep 0.2; done
j=$(journal)
if [ "$(show NRestarts)" = 1 ] && [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" != "$pid0" ] &&
	echo "$j" | grep -q '^holdfast: watchdog: worker(s) 0 not making progress: WATCHDOG=1 held back$' &&
	echo "$j" | grep -q '^holdfast.service: Watchdog timeout (limit 2s)!$' &&
	echo "$j" | grep -q "^holdfast.service: Failed with result 'watchdog'.$"; then
	ok "a stopped worker: watchdog timeout, killed and restarted by systemd"
else
	fail stall "NRestarts $(show NRestarts), $(show ActiveState), stall: $(cat "$log"); $(echo "$j" | tail -n 8)"
fi

# ---- stop: SIGTERM, status 0
# journald takes the last lines asynchronously: give it a moment
stopped_line() {
	for _ in $(seq 50); do
		journal | grep -q '^holdfast: signal 15, stopping$' && return 0
		sleep 0.1
	done
	return 1
}
if c systemctl stop holdfast && [ "$(show Result)" = success ] && [ "$(show ExecMainStatus)" = 0 ] &&
	stopped_line; then
	ok "systemctl stop: exit 0"
else
	fail stop "Result $(show Result), status $(show ExecMainStatus)"
fi
