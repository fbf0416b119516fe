/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the forwarder. It resolves each question (a cache
 * key) through the configured forwarders, at most once at a time per key,
 * validates the answer when DNSSEC is on, and reports the result through
 * its callbacks: it knows nothing of the workers, the NTA list or the
 * management socket. Its sockets and deadlines live in the control loop
 * (control/hf_loop.h). One thread only: control's, or the resolver thread
 * (control-threads) that owns it.
 */
#ifndef HF_FWD_H
#define HF_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hf_msg.h"
#include "control/hf_config.h"
#include "control/hf_loop.h"

/* Resolutions in flight at once (fewer when descriptors are short); each
 * has at most one DS/DNSKEY sub-query, and each of the two one deadline. */
#define HF_FWD_MAX_INFLIGHT 65536
#define HF_FWD_MAX_TIMERS   (2u * HF_FWD_MAX_INFLIGHT)

struct hf_val;
struct hf_fwd;

struct hf_fwd_ops {
	void *arg;
	/* The answer for key (a failure included): for the workers. 0, or
	 * an error when it could not be sent. */
	int (*answer)(void *arg, const struct hf_cache_key *key, uint32_t hash,
		      const struct hf_dns_answer *a);
	/* The verdict of a resolution hf_fwd_internal started. */
	void (*internal_done)(void *arg, const uint8_t *name, size_t len, uint8_t verdict,
			      uint16_t ede, const char *text);
	/* Is name at or below a Negative Trust Anchor in force? (NULL: never) */
	bool (*nta_covers)(void *arg, const uint8_t *name, size_t len);
};

/* cfg is read at each use (settings holdfastctl changes apply at once);
 * val is NULL without DNSSEC; st gets the forwarder's counters; share: how
 * many forwarders split the process's descriptors (one per control
 * thread), each gets that share of in-flight room. NULL, with err set, on
 * failure. */
struct hf_fwd *hf_fwd_create(const struct hf_config *cfg, struct hf_val *val, struct hf_loop *loop,
			     struct hf_control_stats *st, const struct hf_fwd_ops *ops,
			     unsigned share, char *err, size_t errlen);
void hf_fwd_destroy(struct hf_fwd *f);
/* cfg's forwarder list was replaced (a reload): their names, and no
 * cookie kept. A UDP attempt in flight finishes on its socket, connected
 * to the forwarder it was sent to; the attempts after it use the new
 * list. */
void hf_fwd_forwarders_changed(struct hf_fwd *f);

/* A MISS/REFRESH: join the resolution in flight or start one. */
void hf_fwd_request(struct hf_fwd *f, const struct hf_msg_query *mq, uint64_t now_ms);
/* Start control's own resolution of (name, qtype) with DO+CD, validated as
 * if no NTA were in force, its verdict to ops->internal_done instead of
 * ops->answer. 0, HF_EEXIST (one in flight), HF_EFULL (no validator or no
 * room) or HF_ENOMEM. */
int hf_fwd_internal(struct hf_fwd *f, const uint8_t *name, size_t len, uint16_t qtype,
		    uint64_t now_ms);

uint32_t hf_fwd_inflight(const struct hf_fwd *f);
uint32_t hf_fwd_max_inflight(const struct hf_fwd *f);

#endif
