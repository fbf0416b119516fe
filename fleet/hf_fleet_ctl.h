/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: `holdfastctl --fleet COMMAND`: the fleet's NTAs and
 * settings in etcd, and its sites (fleet/fleet_ctl.c). holdfastctl hands
 * over to it when --fleet is given; nothing here talks to a holdfast.
 */
#ifndef HF_FLEET_CTL_H
#define HF_FLEET_CTL_H

#include <stdbool.h>
#include <stdint.h>

/* Options holdfastctl read before the command; NULL: the default. */
struct hf_fleet_opts {
	const char *etcd;   /* --etcd, else $HOLDFAST_ETCD, else http://127.0.0.1:2379 */
	const char *prefix; /* --prefix, else $HOLDFAST_FLEET_PREFIX, else /holdfast/ */
	bool json;
	uint64_t timeout_ms;
};

/* argv[0] is the command. Returns holdfastctl's exit status (0 ok,
 * 1 refused, 2 usage, 3 etcd not reached). */
int hf_fleet_ctl(int argc, char **argv, const struct hf_fleet_opts *o);

extern const char hf_fleet_usage[];

#endif
