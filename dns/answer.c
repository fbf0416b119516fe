/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dns/: stored answers. Control turns a parsed upstream response
 * into the sections a worker copies behind a client's header and question.
 *
 * Re-encoding: owner names and the names in RDATA of the RFC 1035 types
 * are decompressed and compressed again against the names already written
 * to the output message, which is laid out as
 *     header (12) | question (qname_len + 4) | body
 * so the question name sits at offset 12 (pointers 0xC00C and up). Names
 * in the RDATA of other types (SRV, DNAME, ...) are written uncompressed
 * (RFC 3597 section 4); other RDATA is copied as it is.
 */
#include <string.h>
#include "dns/hf_dns.h"

#define CTAB_MAX     1024   /* compression targets remembered */
#define PTR_MAX	     0x3fff /* largest offset a pointer can carry */
#define TTL_SIGN_BIT 0x80000000u

struct ctab_ent {
	uint16_t off; /* output-message offset of a name suffix */
	uint8_t len;  /* its uncompressed length */
};

struct wctx {
	const struct hf_dns_msg *m;
	uint8_t *body;
	size_t body_len;
	size_t body_max;
	size_t base; /* output-message offset of body[0] */
	unsigned ntab;
	struct ctab_ent tab[CTAB_MAX];
};

/* Byte at output-message offset o, or -1 outside what is written. */
static int out_byte(const struct wctx *w, size_t o)
{
	if (o >= HF_DNS_HDR_LEN && o < HF_DNS_HDR_LEN + (size_t)w->m->qname_len)
		return w->m->qname[o - HF_DNS_HDR_LEN];
	if (o >= w->base && o - w->base < w->body_len)
		return w->body[o - w->base];
	return -1;
}

/* Does the name written at output offset o equal s[0..slen) (case-insensitive)?
 * Pointers in the output are ours and point backwards; checked anyway. */
static bool out_name_eq(const struct wctx *w, const uint8_t *s, size_t slen, size_t o)
{
	size_t i = 0;

	while (i < slen) {
		int b = out_byte(w, o);
		if (b < 0)
			return false;
		if (b >= 0xc0) {
			int b2 = out_byte(w, o + 1);
			size_t t = ((size_t)(b & 0x3f) << 8) | (size_t)(b2 < 0 ? 0 : b2);
			if (b2 < 0 || t >= o)
				return false;
			o = t;
			continue;
		}
		if (b != s[i])
			return false;
		if (b == 0)
			return i + 1 == slen;
		if (i + 1 + (size_t)b >= slen)
			return false;
		for (size_t k = 1; k <= (size_t)b; k++) {
			int c = out_byte(w, o + k);
			if (c < 0 || hf_dns_lower[c] != hf_dns_lower[s[i + k]])
				return false;
		}
		i += 1u + (size_t)b;
		o += 1u + (size_t)b;
	}
	return false;
}

static void ctab_add(struct wctx *w, size_t off, size_t len)
{
	if (off <= PTR_MAX && w->ntab < CTAB_MAX) {
		w->tab[w->ntab].off = (uint16_t)off;
		w->tab[w->ntab].len = (uint8_t)len;
		w->ntab++;
	}
}

/* Append the uncompressed name n (nlen bytes), compressed against the
 * table when `compress`; the suffixes written become targets then. */
static int put_name(struct wctx *w, const uint8_t *n, size_t nlen, bool compress)
{
	size_t plain = nlen; /* bytes written as labels (nlen: whole name, root included) */
	size_t target = 0;
	size_t start = w->base + w->body_len;

	if (compress) {
		for (size_t s = 0; s < nlen && n[s] != 0; s += 1u + n[s]) {
			for (unsigned k = 0; k < w->ntab; k++) {
				if (w->tab[k].len == nlen - s &&
				    out_name_eq(w, n + s, nlen - s, w->tab[k].off)) {
					plain = s;
					target = w->tab[k].off;
					break;
				}
			}
			if (plain != nlen)
				break;
		}
	}
	if (HF_UNLIKELY(w->body_len + plain + (plain != nlen ? 2u : 0u) > w->body_max))
		return hf_error(HF_ESPACE);
	memcpy(w->body + w->body_len, n, plain);
	w->body_len += plain;
	if (plain != nlen) {
		hf_put16(w->body + w->body_len, (uint16_t)(0xc000 | target));
		w->body_len += 2;
	}
	if (compress)
		for (size_t s = 0; s < plain && n[s] != 0; s += 1u + n[s])
			ctab_add(w, start + s, nlen - s);
	return 0;
}

static uint32_t ttl_fix(uint32_t t)
{
	return (t & TTL_SIGN_BIT) ? 0 : t; /* RFC 2181 section 8 */
}

/* Append RDATA of rr, re-encoding the names its layout shows. */
static int put_rdata(struct wctx *w, const struct hf_dns_rr *rr)
{
	const struct hf_dns_msg *m = w->m;
	const uint8_t *layout = hf_dns_rdata_layout(rr->type);
	size_t off = rr->rdata_off, end = (size_t)rr->rdata_off + rr->rdlen;

	if (HF_UNLIKELY(end > m->len))
		return hf_error(HF_EMALFORMED);
	if (!layout) {
		if (HF_UNLIKELY(w->body_len + rr->rdlen > w->body_max))
			return hf_error(HF_ESPACE);
		memcpy(w->body + w->body_len, m->wire + off, rr->rdlen);
		w->body_len += rr->rdlen;
		return 0;
	}
	for (; *layout != HF_RDF_END; layout++) {
		if (*layout >= HF_RDF_CNAME) {
			uint8_t name[HF_DNS_NAME_MAX];
			size_t nlen;
			/* pointers point backwards: the RDATA end bounds the walk */
			if (HF_UNLIKELY(hf_dns_name_unpack(m->wire, end, &off, name, &nlen) < 0))
				return hf_error(HF_EMALFORMED);
			int rc = put_name(w, name, nlen, *layout == HF_RDF_CNAME);
			if (HF_UNLIKELY(rc < 0))
				return rc;
		} else {
			if (HF_UNLIKELY(off + *layout > end))
				return hf_error(HF_EMALFORMED);
			if (HF_UNLIKELY(w->body_len + *layout > w->body_max))
				return hf_error(HF_ESPACE);
			memcpy(w->body + w->body_len, m->wire + off, *layout);
			w->body_len += *layout;
			off += *layout;
		}
	}
	return off == end ? 0 : hf_error(HF_EMALFORMED);
}

/* The DNSSEC cap, applied after every other limit. */
static uint32_t cap(const struct hf_dns_answer_limits *lim, uint32_t ttl)
{
	return lim->cap_ttl ? HF_MIN(ttl, lim->ttl_cap) : ttl;
}

/* ---- scrubbing the answer section ----
 *
 * The answer section may only hold the answer chain: records owned by the
 * question name or by a name the chain reaches through CNAMEs (or DNAMEs:
 * the DNAME itself, owned by an ancestor, and the name it synthesises).
 * Anything else there (an off-path forgery's or a careless server's extra
 * record) is left out of the stored answer. Authority and additional are
 * kept as they are: the negative answer's SOA and the DNSSEC proofs live
 * there, and clients do not take them as answers.
 */

#define CHAIN_MAX 16 /* names in a chain (qname included) */

struct chain {
	unsigned n;
	uint8_t len[CHAIN_MAX];
	uint8_t name[CHAIN_MAX][HF_DNS_NAME_MAX]; /* lower case */
};

/* The owner of rr, lower-cased; false if it does not unpack. */
static bool rr_owner(const struct hf_dns_msg *m, const struct hf_dns_rr *rr, uint8_t *out,
		     size_t *len)
{
	size_t pos = rr->owner_off;
	if (hf_dns_name_unpack(m->wire, m->len, &pos, out, len) < 0)
		return false;
	hf_dns_name_lower(out, *len);
	return true;
}

static int chain_find(const struct chain *ch, const uint8_t *n, size_t len)
{
	for (unsigned i = 0; i < ch->n; i++)
		if (ch->len[i] == len && memcmp(ch->name[i], n, len) == 0)
			return (int)i;
	return -1;
}

/* Is n a proper ancestor of a name in the chain? */
static bool chain_below(const struct chain *ch, const uint8_t *n, size_t len)
{
	for (unsigned i = 0; i < ch->n; i++)
		if (ch->len[i] > len && hf_dns_name_is_sub(ch->name[i], ch->len[i], n, len))
			return true;
	return false;
}

/* Where the chain goes from cur: the target of a CNAME owned by cur, else
 * cur rewritten by a DNAME owned by an ancestor. False: the chain ends. */
static bool chain_next(const struct hf_dns_msg *m, const uint8_t *cur, size_t clen, uint8_t *out,
		       size_t *olen)
{
	uint8_t owner[HF_DNS_NAME_MAX], t[HF_DNS_NAME_MAX];
	size_t len, tlen;

	for (int pass = 0; pass < 2; pass++)
		for (uint16_t i = 0; i < m->nrr; i++) {
			const struct hf_dns_rr *rr = &m->rr[i];
			size_t pos = rr->rdata_off;
			if (rr->section != HF_SEC_ANSWER ||
			    rr->type != (pass == 0 ? HF_TYPE_CNAME : HF_TYPE_DNAME) ||
			    !rr_owner(m, rr, owner, &len))
				continue;
			if (pass == 0 ? !hf_dns_name_equal(owner, len, cur, clen)
				      : len >= clen || !hf_dns_name_is_sub(cur, clen, owner, len))
				continue;
			if (hf_dns_name_unpack(m->wire, (size_t)rr->rdata_off + rr->rdlen, &pos, t,
					       &tlen) < 0)
				return false;
			if (pass == 0) {
				memcpy(out, t, tlen);
				*olen = tlen;
			} else {
				if (clen - len + tlen > HF_DNS_NAME_MAX)
					return false;
				memcpy(out, cur, clen - len);
				memcpy(out + clen - len, t, tlen);
				*olen = clen - len + tlen;
			}
			hf_dns_name_lower(out, *olen);
			return true;
		}
	return false;
}

/* Mark (drop[i] = 1) the answer records that are not part of the chain. */
static void scrub_answer(const struct hf_dns_msg *m, uint8_t *drop)
{
	struct chain ch;
	uint8_t owner[HF_DNS_NAME_MAX];
	size_t len;

	memcpy(ch.name[0], m->qname, m->qname_len);
	ch.len[0] = m->qname_len;
	hf_dns_name_lower(ch.name[0], ch.len[0]);
	ch.n = 1;
	/* a CNAME question's answer is the CNAME itself: no chase */
	while (m->qtype != HF_TYPE_CNAME && ch.n < CHAIN_MAX &&
	       chain_next(m, ch.name[ch.n - 1], ch.len[ch.n - 1], ch.name[ch.n], &len) &&
	       chain_find(&ch, ch.name[ch.n], len) < 0)
		ch.len[ch.n++] = (uint8_t)len;

	for (uint16_t i = 0; i < m->nrr; i++) {
		const struct hf_dns_rr *rr = &m->rr[i];
		uint16_t covered;
		if (rr->section != HF_SEC_ANSWER)
			continue;
		if (!rr_owner(m, rr, owner, &len)) {
			drop[i] = 1;
			continue;
		}
		if (chain_find(&ch, owner, len) >= 0)
			continue;
		covered = rr->type == HF_TYPE_RRSIG && rr->rdlen >= 2
				  ? hf_get16(m->wire + rr->rdata_off)
				  : rr->type;
		if (covered == HF_TYPE_DNAME && chain_below(&ch, owner, len))
			continue;
		drop[i] = 1;
	}
}

/* Is rr a DNSSEC record a client without DO did not ask for? */
static bool stripped(const struct hf_dns_msg *m, const struct hf_dns_rr *rr,
		     const struct hf_dns_answer_limits *lim)
{
	if (!lim->strip_dnssec || rr->type == m->qtype)
		return false;
	if (rr->type == HF_TYPE_RRSIG)
		return true;
	return rr->section == HF_SEC_AUTHORITY &&
	       (rr->type == HF_TYPE_NSEC || rr->type == HF_TYPE_NSEC3);
}

int hf_dns_answer_build(const struct hf_dns_msg *m, const struct hf_dns_answer_limits *lim,
			uint8_t *out, size_t size)
{
	struct hf_dns_answer a;
	struct wctx w;
	size_t hdr;
	uint16_t nttl = 0, count[3] = {0, 0, 0};
	uint32_t min_an = UINT32_MAX;
	int soa_idx = -1; /* index in ttl_off[] of the negative SOA */
	uint32_t soa_neg = 0;
	uint8_t drop[HF_DNS_MSG_MAX_RR]; /* left out: OPT, scrubbed, stripped */

	if (HF_UNLIKELY(m->qname_len == 0 || m->nrr > HF_DNS_MSG_MAX_RR))
		return hf_error(HF_EMALFORMED);
	memset(&a, 0, sizeof(a));
	memset(drop, 0, m->nrr);
	scrub_answer(m, drop);
	for (uint16_t i = 0; i < m->nrr; i++) {
		if ((m->has_opt && i == m->opt_rr) || stripped(m, &m->rr[i], lim))
			drop[i] = 1;
		if (!drop[i])
			a.nttl++;
	}
	hdr = sizeof(a) + 2u * a.nttl;
	if (HF_UNLIKELY(size < hdr))
		return hf_error(HF_ESPACE);

	w.m = m;
	w.body = out + hdr;
	w.body_len = 0;
	w.base = HF_DNS_HDR_LEN + (size_t)m->qname_len + 4;
	w.body_max = HF_MIN(size - hdr, HF_DNS_MSG_MAX - w.base);
	w.ntab = 0;
	for (size_t s = 0; s < m->qname_len && m->qname[s] != 0; s += 1u + m->qname[s])
		ctab_add(&w, HF_DNS_HDR_LEN + s, m->qname_len - s);

	for (uint16_t i = 0; i < m->nrr; i++) {
		const struct hf_dns_rr *rr = &m->rr[i];
		uint8_t name[HF_DNS_NAME_MAX];
		size_t nlen, pos = rr->owner_off, rdlen_at;
		uint32_t ttl = ttl_fix(rr->ttl);
		int rc;

		if (drop[i])
			continue;
		if (HF_UNLIKELY(rr->section > HF_SEC_ADDITIONAL || nttl >= a.nttl))
			return hf_error(HF_EMALFORMED);
		if (HF_UNLIKELY(hf_dns_name_unpack(m->wire, m->len, &pos, name, &nlen) < 0))
			return hf_error(HF_EMALFORMED);
		rc = put_name(&w, name, nlen, true);
		if (HF_UNLIKELY(rc < 0))
			return rc;
		if (HF_UNLIKELY(w.body_len + 10 > w.body_max))
			return hf_error(HF_ESPACE);
		uint16_t ttl_at = (uint16_t)(w.body_len + 4);
		memcpy(out + sizeof(a) + 2u * nttl, &ttl_at, 2);
		hf_put16(w.body + w.body_len, rr->type);
		hf_put16(w.body + w.body_len + 2, rr->rclass);
		/* min-ttl raises record TTLs too, so no client sees 0 before expiry */
		hf_put32(w.body + w.body_len + 4,
			 cap(lim, HF_MAX(HF_MIN(ttl, lim->max_ttl), lim->min_ttl)));
		rdlen_at = w.body_len + 8;
		w.body_len += 10;
		rc = put_rdata(&w, rr);
		if (HF_UNLIKELY(rc < 0))
			return rc;
		hf_put16(w.body + rdlen_at, (uint16_t)(w.body_len - rdlen_at - 2));

		if (rr->section == HF_SEC_ANSWER)
			min_an = HF_MIN(min_an, ttl);
		if (rr->section == HF_SEC_AUTHORITY && rr->type == HF_TYPE_SOA && soa_idx < 0 &&
		    rr->rdlen >= 22 && (size_t)rr->rdata_off + rr->rdlen <= m->len) {
			uint32_t minimum =
				ttl_fix(hf_get32(m->wire + rr->rdata_off + rr->rdlen - 4));
			soa_idx = nttl;
			soa_neg = cap(lim, HF_MIN(HF_MIN(ttl, minimum), lim->max_negative_ttl));
		}
		count[rr->section]++;
		nttl++;
	}

	if (m->rcode == HF_RCODE_NXDOMAIN)
		a.kind = HF_ANS_NXDOMAIN;
	else if (m->rcode == HF_RCODE_NOERROR)
		a.kind = count[HF_SEC_ANSWER] ? HF_ANS_POSITIVE : HF_ANS_NODATA;
	else
		a.kind = HF_ANS_FAILURE;
	/* an extended rcode does not fit the header: a client sees SERVFAIL */
	a.rcode = (uint8_t)(m->rcode <= HF_DNS_RCODE_MASK ? m->rcode : HF_RCODE_SERVFAIL);

	if (a.kind == HF_ANS_POSITIVE) {
		a.ttl = cap(lim, HF_MAX(HF_MIN(min_an, lim->max_ttl), lim->min_ttl));
	} else if (a.kind == HF_ANS_NXDOMAIN || a.kind == HF_ANS_NODATA) {
		if (soa_idx >= 0) {
			uint16_t at;
			memcpy(&at, out + sizeof(a) + 2u * (size_t)soa_idx, 2);
			hf_put32(w.body + at, soa_neg);
			a.ttl = soa_neg;
		} else {
			a.ttl = 0;
		}
	} else {
		a.ttl = 0; /* the caller decides how long a failure lives (RFC 9520) */
	}
	a.security = HF_SECURITY_INSECURE;
	a.qname_len = m->qname_len;
	a.ede = HF_EDE_NONE;
	a.ede_text_len = 0;
	a.ancount = count[HF_SEC_ANSWER];
	a.nscount = count[HF_SEC_AUTHORITY];
	a.arcount = count[HF_SEC_ADDITIONAL];
	a.body_len = (uint16_t)w.body_len;
	memcpy(out, &a, sizeof(a));
	return (int)hf_dns_answer_size(&a);
}

int hf_dns_answer_failure(uint8_t *out, size_t size, uint8_t qname_len, uint8_t rcode, uint16_t ede,
			  const char *text, uint32_t ttl)
{
	struct hf_dns_answer a;
	size_t text_len = text ? strlen(text) : 0;

	if (HF_UNLIKELY(text_len > UINT16_MAX - 6u || rcode > HF_DNS_RCODE_MASK))
		return hf_error(HF_EINVAL);
	memset(&a, 0, sizeof(a));
	a.rcode = rcode;
	a.kind = HF_ANS_FAILURE;
	a.security = HF_SECURITY_INSECURE;
	a.qname_len = qname_len;
	a.ede = ede;
	a.ede_text_len = (uint16_t)text_len;
	a.ttl = ttl;
	if (HF_UNLIKELY(hf_dns_answer_size(&a) > size))
		return hf_error(HF_ESPACE);
	memcpy(out, &a, sizeof(a));
	if (text_len)
		memcpy(out + sizeof(a), text, text_len); /* no ttl_off[], no body */
	return (int)hf_dns_answer_size(&a);
}
