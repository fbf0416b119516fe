# shellcheck shell=bash disable=SC2154 # $here, $LAB_DIR, log, die: from lab.sh
# The lab's signed DNS world, sourced by tests/lab/lab.sh (not run on its
# own). See tests/lab/README.md, "The signed world".
#
# Zones come from tests/lab/zones/world/*.zone.in, are signed at `up` time
# with ldns-signzone (fresh keys from ldns-keygen on every `up`) and served,
# as signed files, by one knotd per level of the hierarchy:
#
#   root   .                                   127.(A+1).B.C
#   tld    de.                                 127.(A+2).B.C
#   sld    alg8 alg13 alg15 example nsec3 nsec3n iter unsigned .de.
#                                              127.(A+3).B.C
#   l3     insecure.nsec3.de.                  127.(A+4).B.C
#   resolver (Unbound, iterator only)          127.(A+5).B.C
#
# where 127.A.B.C is the lab's upstream address (HF_LAB_UPSTREAM_ADDR), so
# labs with different upstream addresses in 127.53/16 never share an
# address. Fault switches re-sign one zone from its template, reload it in
# its knotd (knotc -b zone-reload) and flush the resolver.

WORLD_DIR=$LAB_DIR/world
UNBOUND_CONF=$WORLD_DIR/unbound/unbound.conf
TRUST_ANCHOR=$LAB_DIR/root.key
TRUST_ANCHOR_BIND=$LAB_DIR/root.anchors.conf
# Signature validity of a healthy zone: from an hour ago to 30 days ahead.
WORLD_SIG_BEFORE=3600
WORLD_SIG_AFTER=$((30 * 86400))
# iter.de.'s NSEC3 iterations: above the RFC 9276 limit holdfast applies
# (EDE 27). BIND 9.18 (delv) and Unbound 1.17 still accept 150.
WORLD_ITER_ITERATIONS=150

world_addrs() {
	local a b c
	IFS=. read -r _ a b c <<<"$UPSTREAM_ADDR"
	if ((a + 5 > 255)); then
		echo "lab: HF_LAB_UPSTREAM_ADDR $UPSTREAM_ADDR leaves no room for the signed world (second octet must be <= 250)" >&2
		exit 2
	fi
	ROOT_ADDR=127.$((a + 1)).$b.$c
	TLD_ADDR=127.$((a + 2)).$b.$c
	SLD_ADDR=127.$((a + 3)).$b.$c
	L3_ADDR=127.$((a + 4)).$b.$c
	RESOLVER_ADDR=127.$((a + 5)).$b.$c
}
world_addrs

# zone  level  algorithm  denial
WORLD_ZONES='.                  root 13 nsec
de.                tld  13 nsec
alg8.de.           sld  8  nsec
alg13.de.          sld  13 nsec
alg15.de.          sld  15 nsec
example.de.        sld  13 nsec
nsec3.de.          sld  13 nsec3-optout
nsec3n.de.         sld  13 nsec3
iter.de.           sld  13 nsec3-iter150
unsigned.de.       sld  -  -
insecure.nsec3.de. l3   -  -'
WORLD_LEVELS=(root tld sld l3)

level_addr() { # level
	case $1 in
	root) echo "$ROOT_ADDR" ;; tld) echo "$TLD_ADDR" ;; sld) echo "$SLD_ADDR" ;; l3) echo "$L3_ADDR" ;;
	esac
}

# "de", "de.", "DE" -> "de."; "root", "." -> "."
zone_canon() {
	local z=${1,,}
	case $z in
	. | root) echo . ;;
	*.) echo "$z" ;;
	*) echo "$z." ;;
	esac
}
zone_base() { [ "$1" = . ] && echo root || echo "${1%.}"; }
zone_parent() { # de. -> .  alg8.de. -> de.
	local p=${1#*.}
	echo "${p:-.}"
}

# Sets Z_LEVEL Z_ALG Z_DENIAL for a (canonical) zone; fails if it is not
# part of the world.
zone_info() {
	local z l a d
	while read -r z l a d; do
		if [ "$z" = "$1" ]; then
			Z_LEVEL=$l Z_ALG=$a Z_DENIAL=$d
			return 0
		fi
	done <<<"$WORLD_ZONES"
	return 1
}
world_zone_list() { awk '{print $1}' <<<"$WORLD_ZONES"; }
level_zones() { awk -v l="$1" '$2 == l {print $1}' <<<"$WORLD_ZONES"; }
signed_zone() { # zone -> exit status
	zone_info "$1" && [ "$Z_ALG" != - ]
}

# --------------------------------------------------------------- processes

# Pids are kept in our own pid files ($! at start) and checked against the
# full command line, so a recycled pid is never signalled. When the lab
# dir is gone (crash), /proc is searched for the exact command line.
cmdline_of() { # pid -> CMDLINE="arg arg " (builtins only: no fork per process)
	local -a a
	CMDLINE=
	[ -r "/proc/$1/cmdline" ] || return 1
	mapfile -d '' a <"/proc/$1/cmdline" 2>/dev/null || return 1
	((${#a[@]})) || return 1
	printf -v CMDLINE '%s ' "${a[@]}"
}
proc_pid() { # pidfile expected-cmdline-suffix
	local pid c
	if [ -f "$1" ]; then
		read -r pid <"$1" 2>/dev/null || pid=
		if [[ $pid =~ ^[0-9]+$ ]] && cmdline_of "$pid" && [[ $CMDLINE == *"$2" ]]; then
			echo "$pid"
			return 0
		fi
	fi
	for c in /proc/[0-9]*; do
		pid=${c#/proc/}
		if cmdline_of "$pid" && [[ $CMDLINE == *"$2" ]]; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}
proc_stop() { # pid expected-cmdline-suffix
	kill -CONT "$1" 2>/dev/null || true
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 50); do
		cmdline_of "$1" && [[ $CMDLINE == *"$2" ]] || return 0
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null || true
	sleep 0.05
}
addr_free() { # addr; waits up to 3 s
	for _ in $(seq 30); do
		ss -Hlun "src $1:53" 2>/dev/null | grep -q . || return 0
		sleep 0.1
	done
	return 1
}

knot_dir() { echo "$WORLD_DIR/knot-$1"; }
knot_match() { echo "knotd -c $(knot_dir "$1")/knot.conf "; }
world_knotd_pid() { proc_pid "$(knot_dir "$1")/proc.pid" "$(knot_match "$1")"; }

level_answers() { # level
	local z
	z=$(level_zones "$1" | head -n 1)
	kdig @"$(level_addr "$1")" -p 53 +time=1 +retry=0 +norec "$z" SOA 2>/dev/null | grep -q 'status: NOERROR'
}

# Starts the knotd of each given level (not waiting); world_wait waits.
world_knotd_start() { # level...
	local l d
	for l in "$@"; do
		d=$(knot_dir "$l")
		if world_knotd_pid "$l" >/dev/null; then
			continue
		fi
		addr_free "$(level_addr "$l")" || die "something already listens on $(level_addr "$l"):53 (another lab? use HF_LAB_UPSTREAM_ADDR)"
		rm -f "$d/knot.pid"
		setsid knotd -c "$d/knot.conf" </dev/null >>"$d/knotd.out" 2>&1 &
		echo $! >"$d/proc.pid"
	done
}
world_knotd_wait() { # level...
	local l ok
	for _ in $(seq 100); do
		ok=1
		for l in "$@"; do
			level_answers "$l" || ok=
		done
		[ -n "$ok" ] && return 0
		for l in "$@"; do
			if ! world_knotd_pid "$l" >/dev/null; then
				tail -n 20 "$(knot_dir "$l")/knotd.out" "$(knot_dir "$l")/knotd.log" >&2 2>/dev/null || true
				die "knotd ($l) exited at start"
			fi
		done
		sleep 0.05
	done
	die "the world's knotd ($*) does not answer after 5 s"
}
world_knotd_stop() { # level
	local pid
	if pid=$(world_knotd_pid "$1"); then
		proc_stop "$pid" "$(knot_match "$1")"
	fi
	rm -f "$(knot_dir "$1")/proc.pid" "$(knot_dir "$1")/knot.pid"
}

unbound_match() { echo " -d -c $UNBOUND_CONF "; }
unbound_pid() { proc_pid "$WORLD_DIR/unbound/proc.pid" "$(unbound_match)"; }
unbound_ctl() { unbound-control -c "$UNBOUND_CONF" "$@"; }

unbound_start() {
	local bin=/usr/sbin/unbound d=$WORLD_DIR/unbound
	unbound_pid >/dev/null && return 0
	addr_free "$RESOLVER_ADDR" || die "something already listens on $RESOLVER_ADDR:53"
	# Debian's AppArmor profile for /usr/sbin/unbound allows /etc/unbound
	# and /var/lib/unbound only; where it is enforced, run an unconfined
	# copy so that our config in the lab dir can be read.
	if grep -qs '^unbound (enforce)' /sys/kernel/security/apparmor/profiles; then
		cp /usr/sbin/unbound "$d/unbound-lab"
		bin=$d/unbound-lab
	fi
	setsid "$bin" -d -c "$UNBOUND_CONF" </dev/null >>"$d/unbound.out" 2>&1 &
	echo $! >"$d/proc.pid"
	for _ in $(seq 100); do
		unbound_ctl status >/dev/null 2>&1 && return 0
		if ! unbound_pid >/dev/null; then
			tail -n 20 "$d/unbound.out" "$d/unbound.log" >&2 2>/dev/null || true
			die "unbound exited at start"
		fi
		sleep 0.05
	done
	die "unbound does not answer its control socket after 5 s"
}
unbound_stop() {
	local pid
	if pid=$(unbound_pid); then
		proc_stop "$pid" "$(unbound_match)"
	fi
	rm -f "$WORLD_DIR/unbound/proc.pid"
}
# Forget everything the resolver learnt: answers, delegations, servers
# found down. Called after every change of the world.
unbound_flush() {
	unbound_pid >/dev/null || return 0
	if ! { unbound_ctl flush_zone . && unbound_ctl flush_infra all && unbound_ctl flush_requestlist; } >/dev/null; then
		log "warning: flushing unbound's cache failed"
	fi
}

# ---------------------------------------------------------------- signing

keygen() { # zone alg dir
	local base role
	mkdir -p "$3"
	for role in ksk zsk; do
		local args=()
		case $2 in
		8) args=(-a RSASHA256 -b 2048) ;;
		13) args=(-a ECDSAP256SHA256) ;;
		15) args=(-a ED25519) ;;
		*) die "no algorithm $2" ;;
		esac
		[ $role = ksk ] && args+=(-k)
		base=$(cd "$3" && ldns-keygen "${args[@]}" "$1") || die "ldns-keygen $1 failed"
		mv "$3/$base.key" "$3/$role.key"
		mv "$3/$base.private" "$3/$role.private"
		rm -f "$3/$base.ds"
	done
}

next_serial() {
	local s
	s=$(($(cat "$WORLD_DIR/serial") + 1))
	echo "$s" >"$WORLD_DIR/serial"
	echo "$s"
}

# The zone's template with addresses and a fresh serial, plus the DS of
# each signed child (always from the child's real keys).
render_zone() { # zone out
	local z=$1 c
	sed -e "s|@SERIAL@|$(next_serial)|g" -e "s|@ROOT_ADDR@|$ROOT_ADDR|g" \
		-e "s|@TLD_ADDR@|$TLD_ADDR|g" -e "s|@SLD_ADDR@|$SLD_ADDR|g" \
		-e "s|@L3_ADDR@|$L3_ADDR|g" -e "s|@UPSTREAM_ADDR@|$UPSTREAM_ADDR|g" \
		"$here/zones/world/$(zone_base "$z").zone.in" >"$2"
	# HF_LAB_TTL_NAMES=N (lab.sh up): N more names in example.de., signed
	# with the rest, for benchmarks whose answers must expire:
	# nI.ttl.example.de. A 192.0.2.5 with TTL 5 + I mod 56 (5..60 s).
	if [ "$z" = example.de. ] && [ "${TTL_NAMES:-0}" -gt 0 ]; then
		awk -v n="$TTL_NAMES" 'BEGIN { for (i = 0; i < n; i++) printf "n%d.ttl.example.de.\t%d\tIN\tA\t192.0.2.5\n", i, 5 + i % 56 }' >>"$2"
	fi
	for c in $(world_zone_list); do
		if [ "$c" = . ] || [ "$(zone_parent "$c")" != "$z" ] || ! signed_zone "$c"; then
			continue
		fi
		ldns-key2ds -n -2 "$WORLD_DIR/keys/$(zone_base "$c")/ksk.key" >>"$2" ||
			die "ldns-key2ds for $c failed"
	done
}

# Writes $WORLD_DIR/zones/<zone>.zone, signed as MODE asks:
#   ok        healthy: valid signatures (an hour ago .. 30 days ahead)
#   expired   every signature expired yesterday (inception 10 days ago)
#   future    no signature valid yet: inception tomorrow (expiration in 10 days)
#   corrupt   every RRSIG except those over the DNSKEY RRset has the first
#             byte of its signature changed (DNSKEY still validates, so the
#             data is bogus, not the keys)
#   dnskey    signed with a new KSK/ZSK pair that no DS in the parent matches
#   nosig     every RRSIG removed except those over the DNSKEY RRset
#   nodenial  every NSEC/NSEC3/NSEC3PARAM record and its RRSIG removed
sign_zone() { # zone mode
	local z=$1 mode=$2 base src tmp keys now inc exp args=()
	base=$(zone_base "$z")
	src=$WORLD_DIR/src/$base.zone
	render_zone "$z" "$src"
	# (after render_zone, which looks at the children with zone_info)
	zone_info "$z" || die "no zone $z in the lab world"
	if [ "$Z_ALG" = - ]; then
		cp "$src" "$WORLD_DIR/zones/$base.zone"
		return 0
	fi
	keys=$WORLD_DIR/keys/$base
	if [ "$mode" = dnskey ]; then
		keys=$WORLD_DIR/keys/$base.rogue
		rm -rf "$keys"
		keygen "$z" "$Z_ALG" "$keys"
	fi
	now=$(date +%s)
	inc=$((now - WORLD_SIG_BEFORE)) exp=$((now + WORLD_SIG_AFTER))
	case $mode in
	expired) inc=$((now - 10 * 86400)) exp=$((now - 86400)) ;;
	future) inc=$((now + 86400)) exp=$((now + 10 * 86400)) ;;
	esac
	case $Z_DENIAL in
	nsec3) args=(-n -a 1 -t 0) ;;
	nsec3-optout) args=(-n -a 1 -t 0 -p) ;;
	nsec3-iter150) args=(-n -a 1 -t "$WORLD_ITER_ITERATIONS") ;;
	esac
	tmp=$WORLD_DIR/src/$base.tmp
	# Unsigned delegations inside an NSEC3 opt-out span are added after
	# signing, so that no NSEC3 record names them.
	grep -v 'lab:unsigned-delegation' "$src" >"$tmp.in"
	# (stderr: ldns-signzone warns about iter.de.'s 150 iterations, as meant)
	ldns-signzone -o "$z" -i "$inc" -e "$exp" "${args[@]}" -f "$tmp.signed" \
		"$tmp.in" "$keys/ksk" "$keys/zsk" 2>>"$WORLD_DIR/src/signzone.log" ||
		die "ldns-signzone $z failed: $(tail -n 3 "$WORLD_DIR/src/signzone.log")"
	case $mode in
	ok | expired | future | dnskey) cat "$tmp.signed" ;;
	corrupt)
		awk '$4 == "RRSIG" && $5 != "DNSKEY" {
			c = substr($NF, 1, 1); $NF = (c == "A" ? "B" : "A") substr($NF, 2)
		} { print }' "$tmp.signed"
		;;
	nosig) awk '!($4 == "RRSIG" && $5 != "DNSKEY")' "$tmp.signed" ;;
	nodenial)
		# NSEC3PARAM goes too: knotd does not answer at all (timeout) a
		# denial in a zone that has NSEC3PARAM but no NSEC3 records.
		awk '!($4 ~ /^NSEC(3|3PARAM)?$/ || ($4 == "RRSIG" && $5 ~ /^NSEC(3|3PARAM)?$/))' "$tmp.signed"
		;;
	*) die "sign_zone: no mode $mode" ;;
	esac >"$tmp.out"
	grep 'lab:unsigned-delegation' "$src" >>"$tmp.out" || true
	mv "$tmp.out" "$WORLD_DIR/zones/$base.zone"
	rm -f "$tmp.in" "$tmp.signed"
}

# Makes the zone's knotd serve the current file (when that knotd runs).
reload_zone() { # zone
	local z=$1 d serial got
	zone_info "$z"
	world_knotd_pid "$Z_LEVEL" >/dev/null || return 0
	d=$(knot_dir "$Z_LEVEL")
	knotc -c "$d/knot.conf" -b zone-reload "$z" >/dev/null ||
		die "knotc zone-reload $z failed (see $d/knotd.log)"
	serial=$(awk '$4 == "SOA" {print $7; exit}' "$WORLD_DIR/zones/$(zone_base "$z").zone")
	for _ in $(seq 40); do
		got=$(kdig @"$(level_addr "$Z_LEVEL")" +time=1 +retry=0 +norec +short "$z" SOA 2>/dev/null | awk '{print $3}')
		[ "$got" = "$serial" ] && return 0
		sleep 0.05
	done
	die "knotd ($Z_LEVEL) does not serve $z serial $serial (serves '$got')"
}

# ------------------------------------------------------------------ up/down

render_knot_conf() { # level
	local l=$1 d z
	d=$(knot_dir "$l")
	mkdir -p "$d/db"
	sed -e "s|@LEVEL@|$l|g" -e "s|@DIR@|$d|g" -e "s|@ZONES_DIR@|$WORLD_DIR/zones|g" \
		-e "s|@ADDR@|$(level_addr "$l")|g" "$here/knot-world.conf.in" >"$d/knot.conf"
	for z in $(level_zones "$l"); do
		printf '  - domain: "%s"\n    file: "%s.zone"\n' "$z" "$(zone_base "$z")" >>"$d/knot.conf"
	done
	knotc -c "$d/knot.conf" conf-check >/dev/null 2>"$d/conf-check.log" ||
		die "knot config ($l) does not check: $(cat "$d/conf-check.log")"
}

world_up() {
	local z l pids=() base
	for t in ldns-keygen ldns-signzone ldns-key2ds unbound unbound-control; do
		command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
	done
	mkdir -p "$WORLD_DIR/keys" "$WORLD_DIR/src" "$WORLD_DIR/zones" "$WORLD_DIR/unbound"
	: >"$WORLD_DIR/faults"
	date +%s >"$WORLD_DIR/serial"
	# Fresh keys, every zone in parallel (RSA-2048 takes the longest).
	for z in $(world_zone_list); do
		signed_zone "$z" || continue
		keygen "$z" "$Z_ALG" "$WORLD_DIR/keys/$(zone_base "$z")" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || die "key generation failed"
	done
	for z in $(world_zone_list); do
		sign_zone "$z" ok
	done
	# The trust anchor: the root KSK's DS, in zone-file syntax (holdfast,
	# unbound-host -f, ldns) and as a BIND trust-anchors clause (delv -a).
	ldns-key2ds -n -2 "$WORLD_DIR/keys/root/ksk.key" >"$TRUST_ANCHOR"
	awk '{ printf "trust-anchors {\n\t\"%s\" static-ds %s %s %s \"%s\";\n};\n", $1, $5, $6, $7, $8 }' \
		"$TRUST_ANCHOR" >"$TRUST_ANCHOR_BIND"
	for l in "${WORLD_LEVELS[@]}"; do
		render_knot_conf "$l"
	done
	world_knotd_start "${WORLD_LEVELS[@]}"
	# Unbound: hints name the lab root; config in the lab dir.
	base=$WORLD_DIR/unbound
	printf '.\t3600000\tIN\tNS\tns.root.\nns.root.\t3600000\tIN\tA\t%s\n' "$ROOT_ADDR" >"$base/root.hints"
	sed -e "s|@DIR@|$base|g" -e "s|@ADDR@|$RESOLVER_ADDR|g" \
		-e "s|@MAX_TTL@|${HF_LAB_RESOLVER_MAX_TTL:-86400}|g" \
		-e "s|@MAX_NEG_TTL@|${HF_LAB_RESOLVER_MAX_TTL:-3600}|g" \
		"$here/unbound.conf.in" >"$UNBOUND_CONF"
	unbound-checkconf "$UNBOUND_CONF" >"$base/checkconf.log" 2>&1 ||
		die "unbound config does not check: $(cat "$base/checkconf.log")"
	world_knotd_wait "${WORLD_LEVELS[@]}"
	unbound_start
	log "world up: root $ROOT_ADDR, de. $TLD_ADDR, level 2 $SLD_ADDR, level 3 $L3_ADDR, resolver $RESOLVER_ADDR@53, anchor $TRUST_ANCHOR"
}

world_down() {
	local l
	unbound_stop
	for l in "${WORLD_LEVELS[@]}"; do
		world_knotd_stop "$l"
	done
}

# ------------------------------------------------------------------- faults

world_need() {
	[ -f "$WORLD_DIR/serial" ] || die "no signed world at $WORLD_DIR (run: lab.sh up)"
}
fault_note() { # zone fault|"" (empty: repaired)
	local f=$WORLD_DIR/faults
	awk -v z="$1" '$1 != z' "$f" >"$f.new" 2>/dev/null || true
	[ -z "$2" ] || echo "$1 $2" >>"$f.new"
	mv "$f.new" "$f"
}

world_fault() { # fault zone
	local f=$1 z
	world_need
	[ -n "${2:-}" ] || die "usage: lab.sh fault-$f ZONE"
	z=$(zone_canon "$2")
	zone_info "$z" || die "no zone $z in the lab world (zones: $(world_zone_list | tr '\n' ' '))"
	case $f in
	down)
		world_knotd_stop "$Z_LEVEL"
		log "fault down: knotd ($Z_LEVEL, $(level_addr "$Z_LEVEL")) stopped; zones now unreachable: $(level_zones "$Z_LEVEL" | tr '\n' ' ')"
		;;
	*)
		signed_zone "$z" || die "$z is not signed: no fault-$f for it"
		sign_zone "$z" "$f"
		reload_zone "$z"
		log "fault $f: $z re-signed and reloaded"
		;;
	esac
	fault_note "$z" "$f"
	unbound_flush
}

world_repair() { # zone|all
	local z l
	world_need
	[ -n "${1:-}" ] || die "usage: lab.sh repair ZONE|all"
	if [ "$1" = all ]; then
		# shellcheck disable=SC2013 # zone names have no spaces
		for z in $(awk '{print $1}' "$WORLD_DIR/faults"); do
			zone_info "$z"
			[ "$(awk -v z="$z" '$1 == z {print $2}' "$WORLD_DIR/faults")" = down ] ||
				{ sign_zone "$z" ok && reload_zone "$z"; }
		done
		world_knotd_start "${WORLD_LEVELS[@]}"
		world_knotd_wait "${WORLD_LEVELS[@]}"
		unbound_start
		: >"$WORLD_DIR/faults"
		log "repaired: all"
	else
		z=$(zone_canon "$1")
		zone_info "$z" || die "no zone $z in the lab world"
		l=$Z_LEVEL
		if world_knotd_pid "$l" >/dev/null; then
			sign_zone "$z" ok
			reload_zone "$z"
		else
			sign_zone "$z" ok
			world_knotd_start "$l"
			world_knotd_wait "$l"
			# every zone of that level was down with it
			for z2 in $(level_zones "$l"); do
				[ "$(awk -v z="$z2" '$1 == z {print $2}' "$WORLD_DIR/faults")" = down ] && fault_note "$z2" ""
			done
		fi
		fault_note "$z" ""
		log "repaired: $z"
	fi
	unbound_flush
}

world_status() {
	local l
	for l in "${WORLD_LEVELS[@]}"; do
		echo "# knotd $l ($(level_addr "$l"): $(level_zones "$l" | tr '\n' ' ')): $(world_knotd_pid "$l" || echo not running)"
	done
	echo "# unbound ($RESOLVER_ADDR): $(unbound_pid || echo not running)"
	if [ -s "$WORLD_DIR/faults" ]; then
		echo "# faults: $(tr '\n' ';' <"$WORLD_DIR/faults")"
	else
		echo "# faults: none"
	fi
}
