#!/usr/bin/env bash
# The Debian package (issue 17): build it from the committed tree with
# `dpkg-buildpackage -us -uc -b`, lintian with no errors, `dpkg -i`, the
# files where Debian expects them, the installed binaries run, the unit
# passes `systemd-analyze verify`, and the installed holdfast speaks the
# sd_notify protocol (tests/e2e/test_service.py run on /usr/sbin/holdfast),
# and the same .deb under a real systemd (test_nspawn.sh).
# Purges the package at the end. Needs root. Usage: test_pkg.sh SOURCE_ROOT
# Prints "ok NAME" / "FAIL NAME: reason" per step, then "N passed, N failed".
set -uo pipefail
src=$(cd "${1:?usage: test_pkg.sh SOURCE_ROOT}" && pwd)
work=$(mktemp -d /tmp/hf-pkg-XXXXXX)
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() {
	if dpkg-query -W -f='${Status}' holdfast 2>/dev/null | grep -q installed; then
		dpkg --purge holdfast >"$work/purge.log" 2>&1 || echo "# dpkg --purge holdfast failed: $(tail -n 3 "$work/purge.log")"
	fi
	rm -rf "$work"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}
trap 'finish; exit $?' EXIT
trap 'exit 1' INT TERM HUP

if [ "$(id -u)" != 0 ]; then
	fail setup "must run as root (dpkg -i)"
	exit 1
fi
if dpkg-query -W -f='${Status}' holdfast 2>/dev/null | grep -q installed; then
	fail setup "a holdfast package is installed already; this test installs and purges its own"
	exit 1
fi

# ---- build: the tree as it is (tracked files and new ones git does not
# ignore), copied out of the source dir (the .deb lands in its parent)
ver=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree="$work/holdfast-$ver"
mkdir -p "$tree"
if ! git -C "$src" ls-files -z --cached --others --exclude-standard |
	(cd "$src" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$tree"; then
	fail build "cannot copy the tree (git ls-files)"
	exit 1
fi
t0=$(date +%s)
if (cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "build ($(($(date +%s) - t0)) s)"
else
	fail build "dpkg-buildpackage: $(grep -E 'ERROR|error:|dh_[a-z_]+: error' "$work/build.log" | head -n 10)"$'\n'"$(tail -n 5 "$work/build.log")"
	exit 1
fi
deb=$(ls "$work"/holdfast_"$ver"_*.deb)
changes=$(ls "$work"/holdfast_"$ver"_*.changes)

# ---- lintian: no errors (warnings are listed, not failed)
lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1
rc=$?
if [ $rc = 0 ]; then
	ok "lintian ($(grep -c '^W:' "$work/lintian.log") warning(s), 0 errors)"
	grep -v "running with root privileges" "$work/lintian.log" | sed "s/^/# lintian: /"
else
	fail lintian "status $rc: $(grep '^E:' "$work/lintian.log" || tail -n 5 "$work/lintian.log")"
fi

# ---- dependencies: Debian's DPDK and OpenSSL
deps=$(dpkg-deb -f "$deb" Depends)
if echo "$deps" | grep -q 'librte-eal23' && echo "$deps" | grep -q 'librte-net-af-xdp23' &&
	echo "$deps" | grep -q 'libssl3'; then
	ok "depends on Debian's DPDK and OpenSSL"
else
	fail depends "Depends: $deps"
fi

# ---- install
if dpkg -i "$deb" >"$work/install.log" 2>&1; then
	ok "dpkg -i"
else
	fail "dpkg -i" "$(tail -n 10 "$work/install.log")"
	exit 1
fi

missing=""
for f in /usr/sbin/holdfast /usr/sbin/holdfastctl /etc/holdfast/holdfast.conf /etc/default/holdfast \
	/lib/systemd/system/holdfast.service /usr/share/man/man8/holdfast.8.gz \
	/usr/share/man/man8/holdfastctl.8.gz /usr/share/man/man5/holdfast.conf.5.gz \
	/usr/share/doc/holdfast/config.md.gz /usr/share/doc/holdfast/operations.md.gz; do
	[ -e "$f" ] || missing="$missing $f"
done
conffiles=$(dpkg-query --control-show holdfast conffiles 2>/dev/null | awk '{print $1}' | sort | tr '\n' ' ')
if [ -z "$missing" ] && [ "$conffiles" = "/etc/default/holdfast /etc/holdfast/holdfast.conf " ]; then
	ok "files in place, conffiles: $conffiles"
else
	fail files "missing:${missing:- none}; conffiles: $conffiles"
fi
if getent group holdfast >/dev/null; then ok "group holdfast"; else fail group "no group holdfast after install"; fi

# ---- the installed binaries
# the whole text first: grep -q stops reading at its match, and the writer's
# SIGPIPE would fail the pipeline (pipefail)
hf_help=$(/usr/sbin/holdfast --help 2>&1)
hf_rc=$?
ctl_help=$(/usr/sbin/holdfastctl --help 2>&1)
ctl_rc=$?
if [ $hf_rc = 0 ] && [ $ctl_rc = 0 ] && grep -q -- '--serve-stale-window' <<<"$hf_help" &&
	grep -q 'reload' <<<"$ctl_help"; then
	ok "holdfast --help, holdfastctl --help"
else
	fail help "holdfast --help or holdfastctl --help"
fi
dump=$(/usr/sbin/holdfast -- -c /etc/holdfast/holdfast.conf --dump-config 2>&1)
if echo "$dump" | grep -qx 'service-address: 192.0.2.53' && echo "$dump" | grep -qx 'control-socket-group: "holdfast"' &&
	echo "$dump" | grep -qx '# trust-anchor: (not set)'; then
	ok "the production configuration loads (--dump-config)"
else
	fail config "$dump"
fi
if man -w holdfast.conf >/dev/null 2>&1 && man 5 holdfast.conf 2>/dev/null | grep -q 'serve-stale-window'; then
	ok "man holdfast.conf lists the keys"
else
	fail man "man 5 holdfast.conf"
fi

# ---- the unit
if systemd-analyze verify /lib/systemd/system/holdfast.service >"$work/verify.log" 2>&1 && [ ! -s "$work/verify.log" ]; then
	ok "systemd-analyze verify holdfast.service"
else
	fail verify "$(cat "$work/verify.log")"
fi
if [ "$(systemctl is-enabled holdfast 2>/dev/null || true)" != enabled ]; then
	ok "holdfast.service installed, not enabled"
else
	fail enabled "holdfast.service was enabled by the package"
fi

# ---- the installed holdfast under the notify protocol
if /usr/bin/python3 "$src/tests/e2e/test_service.py" /usr/sbin/holdfast "$src" >"$work/service.log" 2>&1; then
	ok "test_service.py on /usr/sbin/holdfast ($(tail -n 1 "$work/service.log"))"
else
	fail service "$(grep -E '^(ok|FAIL)' "$work/service.log"; tail -n 1 "$work/service.log")"
fi

# ---- the same package under a real systemd, booted in a container
if "$src/tests/pkg/test_nspawn.sh" "$src" "$deb" >"$work/nspawn.log" 2>&1; then
	grep '^ok ' "$work/nspawn.log" | sed 's/^/# /'
	ok "under systemd in systemd-nspawn ($(tail -n 1 "$work/nspawn.log"))"
else
	fail "under systemd" "$(grep -v '^ok ' "$work/nspawn.log" | tail -n 12)"
fi
