/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hf_query_parse, the hot-path client query parser (rules in hf_query.h).
 * Included by hf_query.h only.
 *
 * One forward pass: every read is bounds-checked against len before it
 * happens and nothing is called but inlines. The qname's labels are walked
 * by their lengths, then the whole name is copied lower-cased into lname,
 * 16 bytes a step with SSE, then 8 (length bytes are <= 63, below 'A', so
 * they copy unchanged), each 8 bytes also going into the name's CRC32-C,
 * and never past the name's last whole 8 bytes. A last partial word is
 * loaded as the 8 bytes that end the name (the header is before it, so
 * they are in the message), shifted down and stored whole with zeros
 * after the name.
 * An OPT adds ~10 cycles plus ~3 per option (and a compare or two per
 * option for the COOKIE: its length rule and where it is; none without
 * options).
 *
 * Order of the checks when several apply: header (DROP, NOTIMP, FORMERR for
 * the counts), qname, question fixed part, OPT (FORMERR / BADVERS), trailing
 * bytes, then the qtype (FORMERR for OPT, NOTIMP for 251..254) and qclass
 * (REFUSED). The qtype verdicts come after the OPT so that their error
 * replies can carry an OPT when the client sent one.
 */
#ifndef HF_QUERY_IMPL_H
#define HF_QUERY_IMPL_H

#ifdef __SSE4_1__
#include <smmintrin.h>
#endif

/* ASCII A-Z to a-z in each byte of x, every other byte as it is. */
static inline uint64_t hf_lower8(uint64_t x)
{
	const uint64_t hi = 0x8080808080808080ull;
	uint64_t low7 = x & ~hi;		      /* no carry between bytes below */
	uint64_t ge_a = low7 + 0x3f3f3f3f3f3f3f3full; /* bit 7: byte & 0x7f >= 'A' */
	uint64_t gt_z = low7 + 0x2525252525252525ull; /* bit 7: byte & 0x7f > 'Z' */
	return x | ((ge_a & ~gt_z & ~x & hi) >> 2);   /* ASCII upper case: | 0x20 */
}

/* The OPT's facts an answer needs (its own OPT), once the OPT header parsed. */
static inline void hf_query_set_edns(struct hf_query *q, uint16_t udp, uint16_t eflags)
{
	q->has_edns = 1;
	q->udp_size = udp < HF_DNS_UDP_MIN ? HF_DNS_UDP_MIN : udp;
	q->do_bit = (eflags & HF_EDNS_DO) != 0;
}

static inline enum hf_query_verdict hf_query_parse(const uint8_t *p, uint16_t len,
						   struct hf_query *q, uint8_t *lname)
{
	uint32_t pos = HF_DNS_HDR_LEN, n = 0;

	q->qtype = 0;
	q->qclass = 0;
	q->question_end = 0;
	q->udp_size = HF_DNS_UDP_MIN;
	q->qname_len = 0;
	q->name_crc = 0;
	q->has_edns = 0;
	q->do_bit = 0;
	q->edns_version = 0;
	q->cookie_off = 0;
	q->cookie_len = 0;
	if (HF_UNLIKELY(len < HF_DNS_HDR_LEN)) {
		q->id = 0;
		q->flags = 0;
		return HF_Q_DROP;
	}
	q->id = hf_get16(p);
	q->flags = hf_get16(p + 2);
	if (HF_UNLIKELY(q->flags & HF_DNS_QR))
		return HF_Q_DROP;
	if (HF_UNLIKELY(q->flags & HF_DNS_OPCODE_MASK))
		return HF_Q_NOTIMP;
	/* qdcount == 1, ancount == 0, nscount == 0, arcount <= 1 */
	if (HF_UNLIKELY(hf_get16(p + 4) != 1 || hf_get16(p + 6) != 0 || hf_get16(p + 8) != 0 ||
			hf_get16(p + 10) > 1))
		return HF_Q_FORMERR;

	/*
	 * qname: plain labels only, walked by their lengths. One bound per
	 * label: the next length byte must be inside the message (a name
	 * that ends the message has no room for its type and class anyway)
	 * and, with the root label still to come, the name within 255 bytes,
	 * that is pos + l + 1 < HF_DNS_HDR_LEN + 255.
	 */
	{
		uint32_t lim = HF_MIN((uint32_t)len, (uint32_t)HF_DNS_HDR_LEN + HF_DNS_NAME_MAX);
		if (HF_UNLIKELY(pos >= len))
			return HF_Q_FORMERR;
		for (;;) {
			uint32_t l = p[pos];
			if (l == 0)
				break;
			/* pointers (0xC0) and the 0x40/0x80 label types are all > 63 */
			if (HF_UNLIKELY(l > HF_DNS_LABEL_MAX || pos + l + 1 >= lim))
				return HF_Q_FORMERR;
			pos += l + 1;
		}
	}
	pos++;
	n = pos - HF_DNS_HDR_LEN;
	/* p[HDR, HDR + n) is the name, within len; lower-cased into lname[0, n) */
	{
		const uint8_t *src = p + HF_DNS_HDR_LEN;
		uint32_t i = 0, r = n & 7, crc = 0;
#ifdef __SSE4_1__
		/* 16 bytes a step: + 0x3f takes 'A'..'Z' (only they) to the
		 * signed bytes -128..-103, below -102 (9 instructions instead
		 * of 30) */
		const __m128i add = _mm_set1_epi8(0x3f), lim = _mm_set1_epi8(-102),
			      bit = _mm_set1_epi8(0x20);
		for (; i + 16 <= n; i += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
			__m128i up = _mm_cmpgt_epi8(lim, _mm_add_epi8(x, add));
			x = _mm_or_si128(x, _mm_and_si128(up, bit));
			_mm_storeu_si128((__m128i *)(void *)(lname + i), x);
			crc = hf_crc32c_u64(crc, (uint64_t)_mm_cvtsi128_si64(x));
			crc = hf_crc32c_u64(crc, (uint64_t)_mm_extract_epi64(x, 1));
		}
#endif
		for (; i + 8 <= n; i += 8) {
			uint64_t x;
			memcpy(&x, src + i, 8);
			x = hf_lower8(x);
			memcpy(lname + i, &x, 8);
			crc = hf_crc32c_u64(crc, x);
		}
		if (r != 0) {
			/* src + n - 8 >= p + 5; i + 8 <= 256 = HF_QUERY_LNAME_SIZE */
			uint64_t x;
			memcpy(&x, src + n - 8, 8);
			x = hf_lower8(x) >> (64 - 8 * r);
			memcpy(lname + i, &x, 8);
			crc = hf_crc32c_low(crc, x, r);
		}
		q->name_crc = crc;
	}
	q->qname_len = (uint8_t)n;

	if (HF_UNLIKELY(pos + 4 > len))
		return HF_Q_FORMERR;
	q->qtype = hf_get16(p + pos);
	q->qclass = hf_get16(p + pos + 2);
	pos += 4;
	q->question_end = (uint16_t)pos;

	if (hf_get16(p + 10) == 1) {
		uint32_t end;
		uint16_t udp, eflags;
		/* root owner (1) + type (2) + class (2) + ttl (4) + rdlen (2) */
		if (HF_UNLIKELY(pos + 11 > len || p[pos] != 0 ||
				hf_get16(p + pos + 1) != HF_TYPE_OPT))
			return HF_Q_FORMERR;
		end = pos + 11 + hf_get16(p + pos + 9);
		if (HF_UNLIKELY(end > len))
			return HF_Q_FORMERR;
		udp = hf_get16(p + pos + 3);
		eflags = hf_get16(p + pos + 7);
		q->edns_version = p[pos + 6];
		if (HF_UNLIKELY(q->edns_version != 0)) {
			/* the OPT header parsed: the BADVERS reply carries an OPT */
			hf_query_set_edns(q, udp, eflags);
			return HF_Q_BADVERS;
		}
		pos += 11;
		while (pos < end) {
			uint32_t olen;
			if (HF_UNLIKELY(pos + 4 > end))
				return HF_Q_FORMERR;
			olen = hf_get16(p + pos + 2);
			/* a COOKIE is 8 bytes (client cookie) or 16..40 (and a
			 * server cookie), else FORMERR with an OPT (RFC 7873
			 * 5.2.2); olen - 16 wraps below 16. Only the first one
			 * counts (RFC 7873 5.2): where it is, for the answer. */
			if (hf_get16(p + pos) == HF_EDNS_OPT_COOKIE) {
				if (HF_UNLIKELY(olen != 8 && olen - 16 > 24)) {
					hf_query_set_edns(q, udp, eflags);
					return HF_Q_FORMERR;
				}
				if (q->cookie_off == 0 && pos + 4u + olen <= end) {
					q->cookie_off = (uint16_t)(pos + 4);
					q->cookie_len = (uint8_t)olen;
				}
			}
			pos += 4u + olen;
			if (HF_UNLIKELY(pos > end))
				return HF_Q_FORMERR;
		}
		hf_query_set_edns(q, udp, eflags);
	}
	if (HF_UNLIKELY(pos != len))
		return HF_Q_FORMERR;
	if (HF_UNLIKELY(q->qtype == HF_TYPE_OPT))
		return HF_Q_FORMERR;
	if (HF_UNLIKELY(q->qtype >= HF_TYPE_IXFR && q->qtype <= HF_TYPE_MAILA))
		return HF_Q_NOTIMP;
	if (HF_UNLIKELY(q->qclass != HF_CLASS_IN))
		return HF_Q_REFUSED;
	return HF_Q_OK;
}

#endif
