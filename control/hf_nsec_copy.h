/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 8198 on the cores, control's side: the validated NSEC records the
 * validator keeps, copied to every worker's store (HF_MSG_NSEC,
 * validator/hf_aggr.h), and the knobs the cores' synthesis needs
 * (docs/decisions.md, "RFC 8198 on the cores").
 */
#ifndef HF_NSEC_COPY_H
#define HF_NSEC_COPY_H

#include "common/hf_msg.h"
#include "control/hf_config.h"
#include "control/hf_fanout.h"
#include "control/hf_nta.h"

/* The knobs of cfg (struct hf_msg_aggr, without a record). */
void hf_nsec_knobs(const struct hf_config *cfg, struct hf_msg_aggr *k);

/*
 * The validator kept record rec (len bytes) of zone (lower case): send it
 * to every worker, unless the cores do not synthesize (aggressive-nsec off,
 * aggressive-nsec-core-records 0), it is an NSEC3, or an NTA is at, above
 * or below the zone (the cores never hold records of such a zone, so no
 * name under an NTA is synthesized there: hf_aggr_flush_nta). 0, or
 * HF_ENOMEM.
 */
int hf_nsec_copy(struct hf_fanout *out, const struct hf_nta_list *ntas, const struct hf_config *cfg,
		 const uint8_t *zone, size_t zlen, const uint8_t *rec, size_t len, bool is3);

/* hf_nsec_copy in two steps, for control threads 1..N-1, which hand their
 * copies to thread 0 (the only sender to the workers): the message (NULL
 * when there is nothing to send, or no memory: logged), made on the
 * thread; then, on thread 0, the NTA check against its current list and
 * the send (m is freed when an NTA is near the zone). */
struct hf_msg_ctl *hf_nsec_msg(const struct hf_config *cfg, uint64_t tsc_per_ms, const uint8_t *rec,
			       size_t len, bool is3);
int hf_nsec_send(struct hf_fanout *out, const struct hf_nta_list *ntas, const uint8_t *zone,
		 size_t zlen, struct hf_msg_ctl *m);

#endif
