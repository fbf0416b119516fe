/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker core's copy of the validated NSEC records of RFC 8198 (aggressive
 * use of the DNSSEC-validated cache): the same store and the same synthesis
 * as control's validator (validator/aggr_store.c), fed by control's
 * HF_MSG_NSEC messages instead of by the validator, so a random name under
 * a signed zone is answered on the core and never becomes a miss
 * (docs/decisions.md, "RFC 8198 on the cores").
 *
 * One thread only (the worker that owns it). Every slot is allocated by
 * hf_aggr_create; nothing here allocates, locks or makes a system call
 * afterwards.
 */
#ifndef HF_AGGR_H
#define HF_AGGR_H

#include <stddef.h>
#include <stdint.h>

#include "dns/hf_dns.h"

/* Bytes of one slot: a record larger than that stays control's alone (an
 * NSEC record with its RRSIG and the zone's signed SOA: ~0.4 KiB with
 * P-256 signatures, ~0.8 KiB with RSA-2048). */
#define HF_AGGR_SLOT 1024

struct hf_aggr;

struct hf_aggr_stats {
	uint64_t records;	   /* kept now */
	uint64_t evictions;	   /* dropped for room (LRU) */
	uint64_t nxdomain, nodata; /* answers hf_aggr_synth made */
};

/* A store of `slots` slots of HF_AGGR_SLOT bytes (slots > 0); NULL when
 * out of memory. */
struct hf_aggr *hf_aggr_create(uint32_t slots);
void hf_aggr_destroy(struct hf_aggr *a);

/*
 * Copy one record as the validator exported it (hf_val_keep_fn) into a
 * slot, replacing the one with the same zone and owner, the least recently
 * used going when every slot is taken. shift_s is added to its times
 * (control's clock to the caller's). It lives until the first of its own
 * expiry and its zone's keys'. 0, HF_EINVAL (malformed, or an NSEC3: those
 * proofs stay on control) or HF_ESPACE (larger than a slot).
 */
int hf_aggr_put(struct hf_aggr *a, const uint8_t *rec, size_t len, int64_t shift_s);
/* Does an exported record of len bytes fit a slot (else hf_aggr_put says
 * HF_ESPACE, and control keeps it alone)? */
bool hf_aggr_fits(size_t len);
/* Drop the records whose zone or owner is at or below name (NULL: all). */
void hf_aggr_flush_below(struct hf_aggr *a, const uint8_t *name, size_t len);
/* An NTA at name: drop the records of every zone at, below or above it
 * (control sends none of those while it holds: control/control.c). */
void hf_aggr_flush_nta(struct hf_aggr *a, const uint8_t *name, size_t len);
void hf_aggr_get_stats(const struct hf_aggr *a, struct hf_aggr_stats *st);

/*
 * hf_val_synth's answer from this copy (NSEC proofs): a response into out
 * (ID 0, QR, NXDOMAIN or NOERROR, the question in lower case, the SOA, the
 * NSECs and their RRSIGs in the authority section, every TTL the proof's
 * remaining lifetime at now_s), its length; 0 when nothing kept proves it
 * (and for DS, ANY, RRSIG, NSEC and NSEC3 questions); HF_ESPACE. The
 * caller declines CD=1 and classes other than IN, as control does.
 */
int hf_aggr_synth(struct hf_aggr *a, const uint8_t *qname, size_t len, uint16_t qtype,
		  uint64_t now_s, uint8_t *out, size_t size);

/*
 * A synthesized response (hf_aggr_synth's or hf_val_synth's, len bytes)
 * as the stored answer clients get, control's FILL and a core's answer
 * alike: parsed into msg, built with lim (hf_dns_answer_build: the
 * client's DO decides lim->strip_dnssec) into out, SECURE, EDE 29
 * (Synthesized). Its rcode (NXDOMAIN or NOERROR), or HF_EINVAL.
 */
int hf_aggr_answer(const uint8_t *wire, size_t len, const struct hf_dns_answer_limits *lim,
		   struct hf_dns_msg *msg, uint8_t *out, size_t size);

#endif
