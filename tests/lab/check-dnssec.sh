#!/usr/bin/env bash
# Checks the lab's signed world with real tools, independent of holdfast:
#   1. kdig +dnssec at each authority: every zone answers its SOA, signed
#      zones with RRSIG and DNSKEY, unsigned ones without;
#   2. delv (BIND's validator) through the lab's Unbound with the lab's
#      trust anchor: secure names validate, unsigned.de. and
#      insecure.nsec3.de. (and test.) are insecure, NXDOMAIN/NODATA proofs
#      validate with NSEC and NSEC3;
#   3. (unless --no-faults) each fault switch makes the affected names fail
#      validation, for the reason printed, leaves the other names alone, and
#      `repair` makes them secure again. The world is repaired at the end.
#
#   tests/lab/check-dnssec.sh [--no-faults]
#
# Needs a running lab (tests/lab/lab.sh up) and the same HF_LAB_TAG /
# HF_LAB_DIR as lab.sh; run as root (the fault switches). Prints "ok ..." /
# "FAIL ..." per check and exits 1 if any check failed. HF_LAB_VERBOSE=1
# prints delv's full output.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab=$here/lab.sh
faults=1
[ "${1:-}" = --no-faults ] && faults=

env_out=$("$lab" env) || exit 2
eval "$env_out"
[ -n "${HF_LAB_RESOLVER_ADDR:-}" ] || {
	echo "check-dnssec: the lab has no signed world (HF_LAB_WORLD=0?)" >&2
	exit 2
}
[ -f "$HF_LAB_TRUST_ANCHOR_BIND" ] || {
	echo "check-dnssec: no lab at $HF_LAB_DIR (run: tests/lab/lab.sh up)" >&2
	exit 2
}

passed=0 failed=0
ok() {
	echo "ok   $*"
	passed=$((passed + 1))
}
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# ---------------------------------------------------------------- 1. kdig

# zone server signed?
authorities="
. $HF_LAB_ROOT_ADDR yes
de. $HF_LAB_TLD_ADDR yes
alg8.de. $HF_LAB_SLD_ADDR yes
alg13.de. $HF_LAB_SLD_ADDR yes
alg15.de. $HF_LAB_SLD_ADDR yes
example.de. $HF_LAB_SLD_ADDR yes
nsec3.de. $HF_LAB_SLD_ADDR yes
iter.de. $HF_LAB_SLD_ADDR yes
unsigned.de. $HF_LAB_SLD_ADDR no
insecure.nsec3.de. $HF_LAB_L3_ADDR no"

check_authority() { # zone addr signed
	local soa key
	soa=$(kdig @"$2" +time=1 +retry=0 +norec +dnssec "$1" SOA 2>&1)
	key=$(kdig @"$2" +time=1 +retry=0 +norec +dnssec "$1" DNSKEY 2>&1)
	if ! grep -q 'status: NOERROR' <<<"$soa" || ! grep -qi 'flags: qr aa' <<<"$soa"; then
		bad "kdig @$2 $1 SOA: no authoritative answer"
		return
	fi
	if [ "$3" = yes ]; then
		if grep -qP '\tRRSIG\tSOA ' <<<"$soa" && grep -qP '\tDNSKEY\t257 ' <<<"$key" &&
			grep -qP '\tRRSIG\tDNSKEY ' <<<"$key"; then
			ok "kdig @$2 +dnssec $1: SOA+RRSIG, DNSKEY (KSK)+RRSIG"
		else
			bad "kdig @$2 +dnssec $1: signed zone without RRSIG or DNSKEY"
		fi
	else
		if grep -qP '\tRRSIG\t' <<<"$soa" || grep -qP '\tDNSKEY\t' <<<"$key"; then
			bad "kdig @$2 +dnssec $1: unsigned zone has RRSIG/DNSKEY"
		else
			ok "kdig @$2 +dnssec $1: unsigned (no RRSIG, no DNSKEY)"
		fi
	fi
}

while read -r z a s; do
	[ -n "$z" ] && check_authority "$z" "$a" "$s"
done <<<"$authorities"
if kdig @"$HF_LAB_TLD_ADDR" +norec +dnssec unsigned.de DS 2>/dev/null | grep -qP '\tNSEC\t.*NS RRSIG NSEC$|\tNSEC\t'; then
	ok "kdig @$HF_LAB_TLD_ADDR unsigned.de DS: no DS, NSEC proof"
else
	bad "kdig @$HF_LAB_TLD_ADDR unsigned.de DS: no NSEC proof"
fi
if kdig @"$HF_LAB_SLD_ADDR" +norec +dnssec insecure.nsec3.de DS 2>/dev/null | grep -qP '\tNSEC3\t1 1 0 - '; then
	ok "kdig @$HF_LAB_SLD_ADDR insecure.nsec3.de DS: no DS, opt-out NSEC3 (1 1 0 -)"
else
	bad "kdig @$HF_LAB_SLD_ADDR insecure.nsec3.de DS: no opt-out NSEC3 proof"
fi

# ----------------------------------------------------------------- 2. delv

# delv NAME TYPE -> prints a verdict: secure | insecure | neg-secure |
# neg-insecure | fail: <reason>
verdict() {
	local out reason
	out=$(delv @"$HF_LAB_RESOLVER_ADDR" -a "$HF_LAB_TRUST_ANCHOR_BIND" "$1" "$2" 2>&1)
	[ -z "${HF_LAB_VERBOSE:-}" ] || echo "#   ${out//$'\n'/$'\n'#   }" >&2
	if grep -q '^; negative response, fully validated' <<<"$out"; then
		echo neg-secure
	elif grep -q '^; negative response, unsigned answer' <<<"$out"; then
		echo neg-insecure
	elif grep -q '^; fully validated' <<<"$out"; then
		echo secure
	elif grep -q '^; unsigned answer' <<<"$out"; then
		echo insecure
	else
		# The validator's first complaint, else the final error.
		reason=$(grep -m1 -E '^;; +validating|RRSIG|insecure response|trust chain' <<<"$out" | sed 's/^;; *//')
		echo "fail: ${reason:-$(grep -m1 'resolution failed' <<<"$out" | sed 's/^;; *//')}" |
			sed "s/: $HF_LAB_RESOLVER_ADDR#53//"
	fi
}

expect() { # context want name type [reason-regex]
	local got
	got=$(verdict "$3" "$4")
	case $2 in
	fail)
		if [[ $got == fail:* ]] && { [ -z "${5:-}" ] || grep -qE "$5" <<<"$got"; }; then
			ok "$1: $3 $4 -> $got"
		else
			bad "$1: $3 $4 -> $got (want a failure${5:+ matching /$5/})"
		fi
		;;
	neg-any)
		if [[ $got == neg-* ]]; then ok "$1: $3 $4 -> $got"; else bad "$1: $3 $4 -> $got (want a negative answer)"; fi
		;;
	*)
		if [ "$got" = "$2" ]; then ok "$1: $3 $4 -> $got"; else bad "$1: $3 $4 -> $got (want $2)"; fi
		;;
	esac
}

healthy() { # context
	local c=$1
	expect "$c" secure www.alg8.de A
	expect "$c" secure www.alg13.de A
	expect "$c" secure www.alg15.de A
	expect "$c" secure www.alg15.de AAAA
	expect "$c" secure www.example.de A
	expect "$c" secure www.example.de AAAA
	expect "$c" secure any.wild.example.de A
	expect "$c" secure alias.example.de A
	expect "$c" secure alias-out.example.de A
	expect "$c" secure short.example.de A
	expect "$c" neg-secure nothing.example.de A
	expect "$c" neg-secure txt.example.de A
	expect "$c" neg-secure ent.example.de A
	expect "$c" neg-secure nothing.de A
	expect "$c" secure www.nsec3.de A
	expect "$c" neg-secure nothing.nsec3.de A
	expect "$c" neg-secure www.nsec3.de TXT
	expect "$c" secure www.iter.de A
	# 150 NSEC3 iterations: within BIND 9.18's limit (150), so delv still
	# validates; holdfast's (lower) limit makes this EDE 27.
	expect "$c" neg-any nothing.iter.de A
	expect "$c" insecure www.unsigned.de A
	expect "$c" insecure www.insecure.nsec3.de A
	expect "$c" insecure www.test A
}

healthy healthy

# ---------------------------------------------------------------- 3. faults

switch() { # lab.sh arguments
	local t0 t1
	t0=$(date +%s%N)
	if "$lab" "$@" 2>/dev/null; then
		t1=$(date +%s%N)
		echo "#    lab.sh $* ($(((t1 - t0) / 1000000)) ms)"
	else
		bad "lab.sh $* failed"
	fi
}

if [ -n "$faults" ]; then
	switch fault-expired de
	expect "expired de" fail www.alg13.de A 'RRSIG has expired'
	expect "expired de" fail www.unsigned.de A 'RRSIG has expired|trust chain'
	expect "expired de" secure . SOA
	switch repair de
	expect "repaired de" secure www.alg13.de A

	switch fault-future de
	expect "future de" fail www.alg13.de A 'RRSIG validity period has not begun'
	expect "future de" secure . SOA
	switch repair de
	expect "repaired de" secure www.alg13.de A

	switch fault-corrupt de
	expect "corrupt de" fail www.example.de A 'no valid signature found|failed to verify'
	expect "corrupt de" fail www.unsigned.de A 'no valid signature found'
	switch repair de
	expect "repaired de" secure www.example.de A

	switch fault-dnskey de
	expect "dnskey de" fail www.alg8.de A 'validating de/DNSKEY: no valid signature found \(DS\)'
	switch repair de
	expect "repaired de" secure www.alg8.de A

	switch fault-nosig example.de
	expect "nosig example.de" fail www.example.de A 'insecure response; parent indicates it should be secure'
	expect "nosig example.de" fail nothing.example.de A
	expect "nosig example.de" secure www.alg13.de A
	switch repair example.de
	expect "repaired example.de" secure www.example.de A

	switch fault-nodenial example.de
	expect "nodenial example.de" fail nothing.example.de A
	expect "nodenial example.de" fail txt.example.de A
	expect "nodenial example.de" secure www.example.de A
	switch fault-nodenial nsec3.de
	expect "nodenial nsec3.de" fail nothing.nsec3.de A
	expect "nodenial nsec3.de" secure www.nsec3.de A
	switch repair all
	expect "repaired all" neg-secure nothing.example.de A
	expect "repaired all" neg-secure nothing.nsec3.de A

	switch fault-expired alg15.de
	expect "expired alg15.de" fail www.alg15.de A 'RRSIG has expired'
	switch fault-corrupt alg8.de
	expect "corrupt alg8.de" fail www.alg8.de A 'no valid signature found|failed to verify'
	expect "expired alg15.de, corrupt alg8.de" secure www.alg13.de A
	switch repair all

	switch fault-down de
	expect "down de" fail www.example.de A 'resolution failed: (failure|SERVFAIL|timed out)'
	expect "down de" insecure www.test A
	switch repair de
	expect "repaired de" secure www.example.de A

	switch repair all
	healthy "after repair all"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
