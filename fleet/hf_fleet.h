/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: what the fleet agent (agent.c) and `holdfastctl --fleet`
 * (fleet_ctl.c) share: the key layout in etcd and its records
 * (docs/fleet.md, "The key layout").
 *
 *   PREFIX state/nta/NAME       one fleet NTA, JSON (struct hf_fleet_nta)
 *   PREFIX state/config/KEY     a run-time setting (config set KEY VALUE)
 *   PREFIX state/last-change    JSON: what the last edit did, who, when
 *                               (written in the same transaction as every
 *                               edit: its mod_revision is the fleet's)
 *   PREFIX sites/SITE           JSON written by SITE's agent: applied
 *                               revision, health, drain, last update
 *
 * The agents watch PREFIX state/ only.
 */
#ifndef HF_FLEET_H
#define HF_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/hf_config.h"

#define HF_FLEET_PREFIX_DEF  "/holdfast/"
#define HF_FLEET_ETCD_DEF    "http://127.0.0.1:2379"
#define HF_FLEET_STATE	     "state/"
#define HF_FLEET_NTA	     "state/nta/"
#define HF_FLEET_CONFIG	     "state/config/"
#define HF_FLEET_LAST_CHANGE "state/last-change"
#define HF_FLEET_SITES	     "sites/"
/* A fleet NTA's reason on a site starts with this: how the agent tells its
 * own NTAs from the site's local ones (which it never touches). */
#define HF_FLEET_TAG	    "fleet: "
#define HF_FLEET_TAG_LEN    7
#define HF_FLEET_REASON_MAX (HF_NTA_REASON_MAX - HF_FLEET_TAG_LEN)
#define HF_FLEET_NAME_TEXT  1024 /* a domain name in text, escapes included */

struct hf_fleet_nta {
	char name[HF_FLEET_NAME_TEXT]; /* "de.": lower case, with the root dot */
	uint64_t expires, added;       /* Unix time */
	uint32_t recheck_s;	       /* 0: none */
	char reason[HF_FLEET_REASON_MAX + 1];
	char by[128]; /* user@host */
};

struct hf_fleet_site {
	char site[128];
	int64_t revision; /* the last fleet revision applied */
	bool healthy, drained, announced, holdfast_up;
	char why[200];	  /* why not healthy, "" when healthy */
	uint64_t updated; /* Unix time */
	unsigned ntas;	  /* fleet NTAs in force on the site */
};

/* The record as JSON (malloc()ed), or NULL. */
char *hf_fleet_nta_json(const struct hf_fleet_nta *n);
/* 0, or -1 when json is not an NTA record. */
int hf_fleet_nta_parse(const char *json, struct hf_fleet_nta *n);
char *hf_fleet_site_json(const struct hf_fleet_site *s);
int hf_fleet_site_parse(const char *json, struct hf_fleet_site *s);

/* A domain name as the management parser takes it, in canonical text
 * ("DE" -> "de."). 0, or -1 with err set. */
int hf_fleet_name_canon(const char *in, char *out, size_t size, char *err, size_t errlen);

/* key = prefix + part (+ tail): 0, or -1 when it does not fit. */
int hf_fleet_key(char *out, size_t size, const char *prefix, const char *part, const char *tail);

#endif
