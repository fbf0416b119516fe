/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the authoritative list of Negative Trust Anchors
 * (RFC 7646), its state file and its rechecks (control/nta.c). It tells
 * the workers through the fan-out and asks the forwarder for rechecks;
 * nothing here calls back into management. Control thread only.
 */
#ifndef HF_NTA_H
#define HF_NTA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/hf_msg.h"
#include "control/hf_config.h"

struct hf_val;
struct hf_fanout;
struct hf_fwd;

enum hf_nta_source { HF_NTA_SRC_CLI = 0, HF_NTA_SRC_CONFIG = 1, HF_NTA_SRC_STATE = 2 };

/* One Negative Trust Anchor (RFC 7646). Control thread only. */
struct hf_nta {
	uint8_t name[HF_DNS_NAME_MAX]; /* lower-case wire form */
	uint8_t name_len;
	uint8_t source;	    /* enum hf_nta_source */
	bool recheck_busy;  /* a recheck resolution is in flight */
	uint32_t recheck_s; /* 0: no recheck */
	uint64_t added_s;   /* Unix time */
	uint64_t expires_s; /* Unix time */
	uint64_t next_recheck_ms;
	uint64_t recheck_logged_ms; /* last "still fails" log line (one a minute) */
	char reason[HF_NTA_REASON_MAX + 1];
};

/* A zone where the chain of trust broke, watched for its repair. */
struct hf_repair_zone {
	uint8_t name[HF_DNS_NAME_MAX]; /* lower-case wire form */
	uint8_t name_len;
	bool broken;	      /* a bogus answer broke there since the last repair */
	uint64_t broken_ms;   /* when it was last seen broken */
	uint64_t released_ms; /* the last repair broadcast for it (0: none) */
};

#define HF_REPAIR_ZONES 64 /* zones watched at once (the oldest make room) */

struct hf_nta_list {
	const struct hf_config *cfg;
	struct hf_val *val;
	struct hf_fanout *out;
	struct hf_fwd *fwd;
	struct hf_nta *ntas; /* [HF_NTA_MAX] */
	unsigned nntas;
	uint64_t next_ms;	   /* next expiry/recheck pass */
	struct hf_repair_zone *rz; /* [HF_REPAIR_ZONES] */
	unsigned nrz, nbroken;
	/* the last write of nta-state-file failed (until one succeeds): the
	 * list in force is not what a restart would bring back */
	bool persist_failed;
	char persist_err[320]; /* "cannot write PATH: errno text" */
	/* told of every change after start-up, NULL: nobody (control.c: the
	 * resolver threads' copies); n is the NTA added or renewed, NULL when
	 * name was removed */
	void (*changed)(void *arg, const uint8_t *name, size_t len, const struct hf_nta *n);
	/* told of every zone that validates again (hf_nta_seen), after the
	 * cores were; NULL: nobody */
	void (*repaired)(void *arg, const uint8_t *name, size_t len);
	void *changed_arg; /* both's */
};

/* The config file's NTAs and the state file's. cfg is read at each use;
 * val (NULL without DNSSEC) has its key cache flushed under a changed NTA;
 * rechecks go through fwd. 0 or an error with err set. */
int hf_nta_init(struct hf_nta_list *l, const struct hf_config *cfg, struct hf_val *val,
		struct hf_fanout *out, struct hf_fwd *fwd, char *err, size_t errlen);
void hf_nta_fini(struct hf_nta_list *l);
/* Is name (wire, lower-case) at or below an NTA in force? */
bool hf_nta_covers(const struct hf_nta_list *l, const uint8_t *name, size_t len);
/*
 * Add (or renew) an NTA and broadcast it to every worker (HF_MSG_NTA,
 * HF_FLUSH_NTA_ADD over the subtree); res (NULL or one per worker) gets
 * what each worker changed. *seq: the message to wait for. Persists the
 * list. It expires at expires_s (Unix time) or, with 0 there, lifetime_s
 * from now. 0 or an error with err set.
 */
int hf_nta_add(struct hf_nta_list *l, const uint8_t *name, size_t len, uint32_t lifetime_s,
	       uint64_t expires_s, uint32_t recheck_s, const char *reason, enum hf_nta_source src,
	       struct hf_msg_result *res, uint64_t *seq, char *err, size_t errlen);
/* Remove the NTA for name (HF_FLUSH_NTA_REMOVE on every worker), logging
 * why (NULL: no log line). HF_ENOENT if none. */
int hf_nta_remove(struct hf_nta_list *l, const uint8_t *name, size_t len, const char *why,
		  struct hf_msg_result *res, uint64_t *seq);
/* Expiries and rechecks that are due; returns true when it did something. */
bool hf_nta_tick(struct hf_nta_list *l, uint64_t now_ms);
/* A recheck's verdict: SECURE removes the NTA. */
void hf_nta_recheck_done(struct hf_nta_list *l, const uint8_t *name, size_t len, uint8_t verdict,
			 uint16_t ede, const char *text);
/*
 * Every answer control sends to the workers (control.c). A bogus one
 * (validation failed, no CD) marks the zone where the chain breaks
 * (hf_val_broken_zone) broken; a secure one at or below a broken zone is
 * that zone validating again (the validator walks every zone cut from the
 * anchor down for it): every core is told (HF_MSG_NTA, HF_FLUSH_REPAIRED)
 * to drop the zone's cached failures and the failure-recheck hold of its
 * stale data, so those names ask again at their next hit. At most once per
 * serve-stale-failure-recheck per zone, so a zone that flaps costs the
 * upstreams no more than the recheck does.
 */
void hf_nta_seen_answer(struct hf_nta_list *l, const struct hf_cache_key *key,
			const struct hf_dns_answer *a, uint64_t now_ms);
/* The same in two steps, for an answer another thread validated
 * (control-threads): there, with that thread's validator, the zone where a
 * bogus answer's chain broke (false, *zone_len 0: none, or not a bogus
 * answer); here, with the list, what it means (zl 0: no broken zone). */
bool hf_nta_broken_zone(struct hf_val *val, const struct hf_cache_key *key,
			const struct hf_dns_answer *a, uint8_t *zone, size_t *zone_len);
void hf_nta_seen(struct hf_nta_list *l, const struct hf_cache_key *key,
		 const struct hf_dns_answer *a, const uint8_t *zn, size_t zl, uint64_t now_ms);
/*
 * A resolver thread's copy of the list (control-threads): the NTAs only
 * (names and lifetimes, for hf_nta_covers), kept up to date from the
 * changes the list reports (changed). Freed with hf_nta_fini.
 */
int hf_nta_copy_init(struct hf_nta_list *copy, const struct hf_nta_list *from);
void hf_nta_copy_set(struct hf_nta_list *copy, const struct hf_nta *n);
void hf_nta_copy_del(struct hf_nta_list *copy, const uint8_t *name, size_t len);
/* Write the list to nta-state-file atomically (hf_file_replace). Sets or
 * clears persist_failed/persist_err; HF_EIO when it failed. */
int hf_nta_save(struct hf_nta_list *l);

#endif
