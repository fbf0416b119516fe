/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A DNS answer written from a cache entry, or without records (an error
 * or a SERVFAIL with its EDE), into a plain buffer. The UDP fast path
 * (dataplane/worker_pkt.c) writes into the query's own mbuf; the TCP/TLS
 * transport (transport/) into a connection's output buffer. Both keep the
 * client's header and question where they are (d[0..q->question_end)) and
 * have the rest written behind them, so the client's ID, RD, 0x20 case and
 * question come back as sent.
 *
 * static inline and always_inline: the worker's copy is the same code it
 * was before the split (BM_per_core_*, docs/decisions.md).
 */
#ifndef HF_REPLY_H
#define HF_REPLY_H

#include <stdbool.h>
#include <rte_memcpy.h>

#include "cache/hf_cache.h"
#include "common/hf_counters.h"
#include "dns/hf_dns.h"
#include "dns/hf_query.h"

/* What a reply needs besides the query and the entry. */
struct hf_reply_env {
	uint16_t edns_size;	 /* what our OPT advertises */
	uint64_t now_ms;	 /* the replica's clock (entry ages) */
	struct hf_cache *cache;	 /* the stale TTL, which `config set` may change */
	struct hf_counters *ctr; /* truncated, answers, rcode[], ede[] */
};

static inline void hf_reply_count(struct hf_counters *ctr, unsigned rcode)
{
	ctr->answers++;
	if (rcode < HF_ARRAY_LEN(ctr->rcode))
		ctr->rcode[rcode]++;
}

/*
 * Append option `code` with data[0..n) to the answer's OPT at d + opt_off
 * (the last record, ending at len): its RDLENGTH grows by 4 + n. The
 * caller built the answer within its limit less 4 + n. Returns the new
 * length. The transport's EDNS keepalive and the server cookie (the UDP
 * path and the transport) are added this way.
 */
static inline uint32_t hf_reply_opt_append(uint8_t *d, uint32_t len, uint32_t opt_off,
					   uint16_t code, const uint8_t *data, uint16_t n)
{
	hf_put16(d + len, code);
	hf_put16(d + len + 2, n);
	memcpy(d + len + 4, data, n);
	hf_put16(d + opt_off + 9, (uint16_t)(hf_get16(d + opt_off + 9) + 4 + n));
	return len + 4 + n;
}

/*
 * An answer without records: FORMERR, NOTIMP, REFUSED, BADVERS, or a
 * SERVFAIL with an EDE. The question is echoed when with_question, an OPT
 * is added when the client sent one. `rcode` may be extended (BADVERS).
 * limit: the largest answer this client may get (>= the question's end).
 * Returns the answer's length; *opt_off is where its OPT starts (0: none).
 */
static inline uint32_t hf_reply_build_empty(uint8_t *d, uint32_t limit,
					    const struct hf_reply_env *env,
					    const struct hf_query *q, unsigned rcode,
					    bool with_question, uint16_t ede, const uint8_t *text,
					    uint16_t text_len, uint32_t *opt_off)
{
	uint32_t len = with_question ? q->question_end : HF_DNS_HDR_LEN;
	uint16_t flags = HF_DNS_QR | HF_DNS_RA | (q->flags & (HF_DNS_OPCODE_MASK | HF_DNS_RD)) |
			 (rcode & 0xf);

	*opt_off = 0;
	hf_put16(d + 2, flags);
	hf_put16(d + 4, with_question ? 1 : 0);
	hf_put16(d + 6, 0);
	hf_put16(d + 8, 0);
	hf_put16(d + 10, 0);
	if (q->has_edns) {
		size_t n = hf_dns_opt_put(d + len, limit > len ? limit - len : 0, env->edns_size,
					  (uint8_t)(rcode >> 4), q->do_bit, ede, text, text_len);
		if (n == 0) /* EDE text does not fit: drop the text */
			n = hf_dns_opt_put(d + len, limit > len ? limit - len : 0, env->edns_size,
					   (uint8_t)(rcode >> 4), q->do_bit, ede, NULL, 0);
		if (n) {
			hf_put16(d + 10, 1);
			*opt_off = len;
			len += (uint32_t)n;
			if (ede < HF_ARRAY_LEN(env->ctr->ede))
				env->ctr->ede[ede]++;
		}
	}
	hf_reply_count(env->ctr, rcode & 0xf);
	return len;
}

/*
 * An answer from a cache entry in `mode` (FRESH / STALE / FAILURE): the
 * stored sections copied behind the question, TTLs rewritten (aged, or the
 * stale TTL), OPT (+EDE) appended. TC=1 with empty sections when it does
 * not fit in limit. ~30 cycles + 1 cycle per 16 bytes copied. Returns the
 * answer's length; *opt_off is where its OPT starts (0: none).
 */
static inline __attribute__((always_inline)) uint32_t
hf_reply_build_entry(uint8_t *d, uint32_t limit, const struct hf_reply_env *env,
		     const struct hf_query *q, const struct hf_cache_entry *e,
		     enum hf_wake_mode mode, uint32_t *opt_off)
{
	const struct hf_dns_answer *a = hf_entry_ans(e);
	uint32_t len = q->question_end;
	uint16_t ede = a->ede;
	const uint8_t *text = hf_dns_answer_ede_text(a);
	uint16_t text_len = a->ede_text_len;
	uint32_t opt_len = 0;
	uint16_t flags;

	*opt_off = 0;
	if (mode == HF_WAKE_STALE) {
		ede = a->kind == HF_ANS_NXDOMAIN ? HF_EDE_STALE_NXDOMAIN : HF_EDE_STALE_ANSWER;
		text_len = 0;
	}
	if (q->has_edns)
		opt_len = 11 + (ede != HF_EDE_NONE ? 6u + text_len : 0u);

	flags = HF_DNS_QR | HF_DNS_RA | (q->flags & (HF_DNS_RD | HF_DNS_CD)) | (a->rcode & 0xf);
	if (a->security == HF_SECURITY_SECURE && (q->do_bit || (q->flags & HF_DNS_AD)))
		flags |= HF_DNS_AD;

	if (HF_LIKELY(len + a->body_len + opt_len <= limit)) {
		const uint8_t *body = hf_dns_answer_body(a);
		const uint16_t *offs = hf_dns_answer_ttl_offs(a);
		uint8_t *out = d + len;
		rte_memcpy(out, body, a->body_len);
		if (mode == HF_WAKE_STALE) {
			uint32_t st = hf_cache_knobs(env->cache)->stale_ttl;
			for (unsigned i = 0; i < a->nttl; i++)
				hf_put32(out + offs[i], st);
		} else {
			uint32_t age = (uint32_t)((env->now_ms - e->inserted_ms) / 1000);
			for (unsigned i = 0; i < a->nttl; i++) {
				uint32_t t = hf_get32(body + offs[i]);
				hf_put32(out + offs[i], t > age ? t - age : 0);
			}
		}
		hf_put16(d + 6, a->ancount);
		hf_put16(d + 8, a->nscount);
		hf_put16(d + 10, a->arcount);
		len += a->body_len;
	} else {
		flags |= HF_DNS_TC;
		hf_put16(d + 6, 0);
		hf_put16(d + 8, 0);
		hf_put16(d + 10, 0);
		env->ctr->truncated++;
		if (len + opt_len > limit) { /* not even the EDE text fits */
			text_len = 0;
			opt_len = 11 + (ede != HF_EDE_NONE ? 6u : 0u);
		}
	}
	hf_put16(d + 2, flags);
	hf_put16(d + 4, 1);
	if (q->has_edns) {
		size_t n = hf_dns_opt_put(d + len, limit - len, env->edns_size, 0, q->do_bit, ede,
					  text, text_len);
		if (HF_LIKELY(n)) {
			hf_put16(d + 10, (uint16_t)(hf_get16(d + 10) + 1));
			*opt_off = len;
			len += (uint32_t)n;
			if (ede < HF_ARRAY_LEN(env->ctr->ede))
				env->ctr->ede[ede]++;
		}
	}
	hf_reply_count(env->ctr, a->rcode & 0xf);
	return len;
}

#endif
