#!/usr/bin/env bash
# meson test 'lab_dnssec': bring up a lab of its own, check its signed
# world and every fault switch with real tools (check-dnssec.sh), tear it
# down. Independent of holdfast: it proves the world the DNSSEC tests use.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export HF_LAB_TAG=ck$(( $$ % 10000 ))
export HF_LAB_UPSTREAM_ADDR=127.53.250.$(( $$ % 200 + 1 ))
trap '"$here/lab.sh" down >/dev/null 2>&1' EXIT
"$here/lab.sh" up || exit 1
"$here/check-dnssec.sh"
