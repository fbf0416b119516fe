/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The validator: chain of trust from the anchors through the key cache,
 * RRSIG checks, denial of existence, verdicts with their EDE. See
 * hf_validator.h for the API and docs/dnssec.md for the decisions.
 *
 * Every hf_val_validate() call starts from scratch against the cache (no
 * per-query state), walking from the closest trust anchor down to the zone
 * that signed the data one label at a time:
 *   anchor A: DNSKEY(A) cached?          no -> NEED A/DNSKEY
 *   each label N below, toward the zone: DS(N) cached? no -> NEED N/DS
 *     secure DS -> DNSKEY(N) cached?     no -> NEED N/DNSKEY
 *     "no zone cut at N"                  -> go on with the same keys
 *     insecure (no DS / unsupported)      -> INSECURE with that EDE
 *     bogus                               -> BOGUS with that EDE
 * A warm validation is the cache look-ups plus one signature check per
 * RRset (the OpenSSL verify dominates: see docs/dnssec.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "validator/val_internal.h"

#define VAL_INDET_TTL 5	 /* s an upstream failure while fetching keys is remembered */
#define VAL_MAX_HOPS  12 /* CNAME/DNAME chain */

const char val_default_anchors[] =
	"; IANA root trust anchors: KSK-2017 and KSK-2024 (root-anchors.xml)\n"
	". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
	". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n";

/* ---- results ---- */

int val_verdict(struct vc *c, int r, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	c->res->ede = ede;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(c->res->text, sizeof(c->res->text), fmt, ap);
		va_end(ap);
	} else {
		c->res->text[0] = 0;
	}
	return r;
}

static int from_entry(struct vc *c, const struct val_entry *e)
{
	int r = e->state == VAL_ST_BOGUS      ? R_BOGUS
		: e->state == VAL_ST_INSECURE ? R_INSECURE
					      : R_INDET;
	c->res->ede = e->ede;
	memcpy(c->res->text, e->text, sizeof(c->res->text));
	return r;
}

static int need(struct vc *c, const uint8_t *name, size_t len, uint16_t type)
{
	memcpy(c->need->name, name, len);
	hf_dns_name_lower(c->need->name, len);
	c->need->name_len = (uint8_t)len;
	c->need->qtype = type;
	return R_NEED;
}

static void time_str(uint32_t serial, uint64_t now, char *buf, size_t size)
{
	int64_t t = (int64_t)now + (int32_t)(serial - (uint32_t)now);
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%u", serial);
}

/* ---- anchors and NTAs ---- */

bool val_nta(struct vc *c, const uint8_t *name, size_t len)
{
	return c->v->conf.nta && c->v->conf.nta(c->v->conf.nta_arg, name, len, c->now);
}

/* Deepest anchor zone at or above name: its label count, or -1. */
int val_anchor_zone(const struct hf_val *v, const uint8_t *name, size_t len)
{
	int best = -1;

	for (unsigned i = 0; i < v->nanchors; i++) {
		const struct val_anchor *a = &v->anchors[i];
		if (hf_dns_name_is_sub(name, len, a->name, a->name_len)) {
			int l = (int)val_name_labels(a->name, a->name_len);
			if (l > best)
				best = l;
		}
	}
	return best;
}

bool val_is_anchor(const struct hf_val *v, const uint8_t *name, size_t len)
{
	for (unsigned i = 0; i < v->nanchors; i++)
		if (hf_dns_name_equal(v->anchors[i].name, v->anchors[i].name_len, name, len))
			return true;
	return false;
}

/* ---- the chain: keys of the deepest secure zone at or above name ---- */

int val_zone_keys(struct vc *c, const uint8_t *name, size_t len, struct val_entry **out)
{
	struct val_cache *cache = &c->v->cache;
	struct val_entry *zone, *e;
	unsigned total = val_name_labels(name, len);
	int al;

	if (val_nta(c, name, len))
		return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
	al = val_anchor_zone(c->v, name, len);
	if (al < 0)
		return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
	{
		size_t off = val_name_suffix(name, len, (unsigned)al);
		zone = val_cache_get(cache, name + off, len - off, VAL_KIND_KEY, c->now);
		if (!zone)
			return need(c, name + off, len - off, HF_TYPE_DNSKEY);
		if (zone->state != VAL_ST_SECURE)
			return from_entry(c, zone);
	}
	for (unsigned l = (unsigned)al + 1; l <= total; l++) {
		size_t off = val_name_suffix(name, len, l);
		e = val_cache_get(cache, name + off, len - off, VAL_KIND_DS, c->now);
		if (!e)
			return need(c, name + off, len - off, HF_TYPE_DS);
		if (e->state == VAL_ST_NOCUT)
			continue;
		if (e->state != VAL_ST_SECURE)
			return from_entry(c, e);
		e = val_cache_get(cache, name + off, len - off, VAL_KIND_KEY, c->now);
		if (!e)
			return need(c, name + off, len - off, HF_TYPE_DNSKEY);
		if (e->state != VAL_ST_SECURE)
			return from_entry(c, e);
		zone = e;
	}
	*out = zone;
	return R_SECURE;
}

/* ---- RRSIG checks ---- */

struct sig_fail {
	int rank; /* 0 none, 1 unsupported alg, 2 no key, 3 bad signature, 4 time */
	uint16_t ede;
	char text[HF_VAL_TEXT_MAX];
};

static void fail(struct sig_fail *f, int rank, uint16_t ede, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct sig_fail *f, int rank, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	if (rank <= f->rank)
		return;
	f->rank = rank;
	f->ede = ede;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

/*
 * Verify RRset `set` with the keys given (signer must be `zone`). R_SECURE
 * (ttl_cap lowered, *sig_labels set) or R_BOGUS with the most telling
 * failure: a signature that verifies but is out of its validity window
 * (7/8) beats a bad signature (6), beats no matching key (9), beats an
 * unsupported algorithm (1); no usable RRSIG at all is 10.
 */
int val_verify_set(struct vc *c, const struct val_rrset *set, const uint8_t *zone, size_t zone_len,
		   const struct val_key *keys, unsigned nkeys, unsigned *sig_labels)
{
	struct hf_val *v = c->v;
	const struct hf_dns_msg *m = c->m;
	struct sig_fail f = {0, HF_EDE_RRSIGS_MISSING, ""};
	char on[64], tb[16];
	unsigned tries = 0;

	val_name_str(set->owner, set->owner_len, on, sizeof(on));
	val_type_str(set->type, tb, sizeof(tb));
	for (int16_t j = set->sig_head; j >= 0; j = c->s->next[j]) {
		const struct hf_dns_rr *rr = &m->rr[j];
		const uint8_t *rd = m->wire + rr->rdata_off;
		uint8_t signer[HF_DNS_NAME_MAX];
		size_t pos = rr->rdata_off + 18, slen;
		uint8_t alg = rd[2], labels = rd[3];
		uint32_t orig_ttl = hf_get32(rd + 4), exp = hf_get32(rd + 8),
			 inc = hf_get32(rd + 12);
		uint16_t tag = hf_get16(rd + 16);
		const uint8_t *sig;
		size_t sig_len;
		int dlen = -1;
		bool matched = false;

		if (hf_dns_name_unpack(m->wire, rr->rdata_off + rr->rdlen, &pos, signer, &slen) < 0)
			continue;
		if (!hf_dns_name_equal(signer, slen, zone, zone_len))
			continue;
		sig = m->wire + pos;
		sig_len = rr->rdata_off + rr->rdlen - pos;
		if (labels > set->labels) {
			fail(&f, 3, HF_EDE_DNSSEC_BOGUS, "%s %s %u: RRSIG labels %u > owner's", on,
			     tb, tag, labels);
			continue;
		}
		if (!hf_val_alg_supported(alg)) {
			fail(&f, 1, HF_EDE_UNSUPPORTED_DNSKEY_ALG,
			     "%s %s %u: algorithm %u unsupported", on, tb, tag, alg);
			continue;
		}
		for (unsigned k = 0; k < nkeys; k++) {
			int ok;
			if (keys[k].tag != tag || keys[k].alg != alg)
				continue;
			matched = true;
			if (tries >= VAL_SIG_TRIES || c->verifies >= v->conf.max_verifies) {
				fail(&f, 3, HF_EDE_DNSSEC_BOGUS,
				     "%s %s: too many signatures to check", on, tb);
				break;
			}
			tries++;
			if (dlen < 0) {
				dlen = val_signed_data(m, c->s, set, (uint16_t)j, v->sbuf, VAL_SBUF,
						       v->cbuf, VAL_CBUF);
				if (dlen < 0) {
					fail(&f, 3, HF_EDE_DNSSEC_BOGUS,
					     "%s %s %u: malformed RRset", on, tb, tag);
					break;
				}
			}
			v->st.sig_verifies++;
			c->verifies++;
			ok = val_verify(&v->cr, alg, keys[k].pkey, v->sbuf, (size_t)dlen, sig,
					sig_len);
			if (ok != 1) {
				fail(&f, 3, HF_EDE_DNSSEC_BOGUS,
				     "%s %s %u alg %u: signature does not verify", on, tb, tag,
				     alg);
				continue;
			}
			if (val_serial_lt(exp, inc)) {
				fail(&f, 3, HF_EDE_DNSSEC_BOGUS,
				     "%s %s %u alg %u: expiration before inception", on, tb, tag,
				     alg);
				continue;
			}
			if (val_serial_lt(c->now32 + v->conf.clock_skew, inc)) {
				char ts[32];
				time_str(inc, c->now, ts, sizeof(ts));
				fail(&f, 4, HF_EDE_SIGNATURE_NOT_YET_VALID,
				     "%s %s %u alg %u: signature not valid before %s", on, tb, tag,
				     alg, ts);
				continue;
			}
			if (val_serial_lt(exp, c->now32 - v->conf.clock_skew)) {
				char ts[32];
				time_str(exp, c->now, ts, sizeof(ts));
				fail(&f, 4, HF_EDE_SIGNATURE_EXPIRED,
				     "%s %s %u alg %u: signature expired %s", on, tb, tag, alg, ts);
				continue;
			}
			{
				int32_t left = (int32_t)(exp - c->now32);
				uint32_t cap = orig_ttl;
				if (left < 0)
					left = 0;
				if ((uint32_t)left < cap)
					cap = (uint32_t)left;
				if (cap < c->ttl_cap)
					c->ttl_cap = cap;
			}
			if (sig_labels)
				*sig_labels = labels;
			return R_SECURE;
		}
		if (!matched) {
			char zn[64];
			val_name_str(zone, zone_len, zn, sizeof(zn));
			fail(&f, 2, HF_EDE_DNSKEY_MISSING, "%s %s: no DNSKEY %u alg %u in %s", on,
			     tb, tag, alg, zn);
		}
		if (tries >= VAL_SIG_TRIES || c->verifies >= v->conf.max_verifies)
			break;
	}
	if (f.rank == 0) {
		char zn[64];
		val_name_str(zone, zone_len, zn, sizeof(zn));
		return val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING, "%s %s: no RRSIG by %s", on,
				   tb, zn);
	}
	return val_verdict(c, R_BOGUS, f.ede, "%s", f.text);
}

/* The signer named by the first usable RRSIG of set, if it is at or above
 * the owner. */
bool val_set_signer(struct vc *c, const struct val_rrset *set, uint8_t *signer, size_t *len)
{
	for (int16_t j = set->sig_head; j >= 0; j = c->s->next[j]) {
		const struct hf_dns_rr *rr = &c->m->rr[j];
		size_t pos = rr->rdata_off + 18;
		if (hf_dns_name_unpack(c->m->wire, rr->rdata_off + rr->rdlen, &pos, signer, len) <
		    0)
			continue;
		hf_dns_name_lower(signer, *len);
		if (hf_dns_name_is_sub(set->owner, set->owner_len, signer, *len))
			return true;
	}
	return false;
}

/* ---- denial of existence ---- */

static bool bm_has(const uint8_t *bm, size_t len, uint16_t type)
{
	uint8_t win = (uint8_t)(type >> 8), bit = (uint8_t)type;
	size_t i = 0;

	while (i + 2 <= len) {
		uint8_t w = bm[i], l = bm[i + 1];
		if (l == 0 || l > 32 || i + 2 + l > len)
			return false;
		if (w == win)
			return bit / 8 < l && (bm[i + 2 + bit / 8] & (0x80 >> (bit % 8)));
		i += 2u + l;
	}
	return false;
}

static int b32hex_decode(const uint8_t *in, size_t len, uint8_t *out, size_t room)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int ch = hf_dns_lower[in[i]], val;
		if (ch >= '0' && ch <= '9')
			val = ch - '0';
		else if (ch >= 'a' && ch <= 'v')
			val = ch - 'a' + 10;
		else
			return -1;
		acc = (acc << 5) | (uint32_t)val;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n >= room)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int)n;
}

/*
 * Collect the authority-section NSEC and NSEC3 RRsets of `zone`, each
 * verified with the zone's keys. A bad one makes the answer bogus; one
 * without RRSIGs is noted (nsec_unsigned) and left out.
 */
int val_deny_collect(struct vc *c, const struct val_entry *z)
{
	const struct hf_dns_msg *m = c->m;

	c->nnsec = c->nnsec3 = 0;
	c->nsec_unsigned = false;
	for (uint16_t i = 0; i < c->s->n; i++) {
		const struct val_rrset *set = &c->s->set[i];
		const struct hf_dns_rr *rr;
		const uint8_t *rd;
		int r;

		if (set->section != HF_SEC_AUTHORITY ||
		    (set->type != HF_TYPE_NSEC && set->type != HF_TYPE_NSEC3))
			continue;
		if (!hf_dns_name_is_sub(set->owner, set->owner_len, z->name, z->name_len))
			continue;
		if (set->nsig == 0) {
			c->nsec_unsigned = true;
			continue;
		}
		r = val_verify_set(c, set, z->name, z->name_len, z->u.keys, z->n, NULL);
		if (r != R_SECURE)
			return r;
		rr = &m->rr[set->rr_head];
		rd = m->wire + rr->rdata_off;
		if (set->type == HF_TYPE_NSEC && c->nnsec < VAL_MAX_DENY) {
			struct nsec_view *n = &c->nsec[c->nnsec];
			size_t pos = rr->rdata_off;
			if (hf_dns_name_unpack(m->wire, rr->rdata_off + rr->rdlen, &pos, n->next,
					       &n->next_len) < 0)
				continue;
			hf_dns_name_lower(n->next, n->next_len);
			n->owner = set->owner;
			n->owner_len = set->owner_len;
			n->bm = m->wire + pos;
			n->bm_len = rr->rdata_off + rr->rdlen - pos;
			n->ttl = set->ttl;
			c->nnsec++;
		} else if (set->type == HF_TYPE_NSEC3 && c->nnsec3 < VAL_MAX_DENY) {
			struct nsec3_view *n = &c->nsec3[c->nnsec3];
			size_t l1 = set->owner[0], hl, off;
			if (rr->rdlen < 5 || rd[0] != 1 || (rd[1] & ~1u) != 0)
				continue; /* RFC 5155 8.1/8.2: unknown hash or flags: ignore */
			if (set->owner_len - 1u - l1 != z->name_len ||
			    memcmp(set->owner + 1 + l1, z->name, z->name_len) != 0)
				continue; /* not directly below the apex */
			if (b32hex_decode(set->owner + 1, l1, n->hash, 20) != 20)
				continue;
			n->flags = rd[1];
			n->iter = hf_get16(rd + 2);
			n->salt_len = rd[4];
			n->salt = rd + 5;
			off = 5u + n->salt_len;
			if (off + 1 > rr->rdlen)
				continue;
			hl = rd[off];
			if (hl != 20 || off + 1 + hl > rr->rdlen)
				continue;
			memcpy(n->next, rd + off + 1, 20);
			n->bm = rd + off + 1 + hl;
			n->bm_len = rr->rdlen - (off + 1 + hl);
			c->nnsec3++;
		}
	}
	return R_SECURE;
}

static void bits(struct proof *p, const uint8_t *bm, size_t len, uint16_t qtype)
{
	p->has_type = bm_has(bm, len, qtype);
	p->has_cname = bm_has(bm, len, HF_TYPE_CNAME);
	p->has_ns = bm_has(bm, len, HF_TYPE_NS);
	p->has_soa = bm_has(bm, len, HF_TYPE_SOA);
	p->has_ds = bm_has(bm, len, HF_TYPE_DS);
	p->has_dname = bm_has(bm, len, HF_TYPE_DNAME);
}

static bool nsec_covers(const struct nsec_view *n, const uint8_t *x, size_t xlen)
{
	if (hf_val_name_cmp(n->owner, n->owner_len, x, xlen) >= 0)
		return false;
	if (hf_val_name_cmp(x, xlen, n->next, n->next_len) < 0)
		return true;
	/* the last NSEC of the zone points back to the apex */
	return hf_val_name_cmp(n->next, n->next_len, n->owner, n->owner_len) <= 0;
}

/* An NSEC at a delegation (NS, no SOA) or DNAME proves nothing below it. */
static bool nsec_cut_above(const struct nsec_view *n, const uint8_t *x, size_t xlen)
{
	if (!hf_dns_name_is_sub(x, xlen, n->owner, n->owner_len) || n->owner_len == xlen)
		return false;
	return (bm_has(n->bm, n->bm_len, HF_TYPE_NS) && !bm_has(n->bm, n->bm_len, HF_TYPE_SOA)) ||
	       bm_has(n->bm, n->bm_len, HF_TYPE_DNAME);
}

static const struct nsec_view *nsec_covering(struct vc *c, const uint8_t *x, size_t xlen)
{
	for (unsigned i = 0; i < c->nnsec; i++)
		if (nsec_covers(&c->nsec[i], x, xlen) && !nsec_cut_above(&c->nsec[i], x, xlen))
			return &c->nsec[i];
	return NULL;
}

static size_t wildcard_of(const uint8_t *name, size_t len, unsigned ce_labels, uint8_t *w)
{
	size_t off = val_name_suffix(name, len, ce_labels);

	if (2 + len - off > HF_DNS_NAME_MAX)
		return 0;
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, name + off, len - off);
	return 2 + len - off;
}

static void nsec_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
		       unsigned zone_labels, struct proof *p)
{
	const struct nsec_view *cov;
	uint8_t w[HF_DNS_NAME_MAX];
	size_t wlen;
	unsigned ce, c2;

	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < c->nnsec; i++)
		if (c->nsec[i].owner_len == slen &&
		    hf_dns_name_equal(c->nsec[i].owner, slen, sname, slen)) {
			p->kind = PR_MATCH;
			bits(p, c->nsec[i].bm, c->nsec[i].bm_len, qtype);
			return;
		}
	cov = nsec_covering(c, sname, slen);
	if (!cov)
		return;
	if (hf_dns_name_is_sub(cov->next, cov->next_len, sname, slen) && cov->next_len != slen) {
		p->kind = PR_ENT;
		return;
	}
	ce = val_name_common(sname, slen, cov->owner, cov->owner_len);
	c2 = val_name_common(sname, slen, cov->next, cov->next_len);
	if (c2 > ce)
		ce = c2;
	if (ce < zone_labels)
		ce = zone_labels;
	wlen = wildcard_of(sname, slen, ce, w);
	p->kind = PR_NX_NOWILD;
	if (wlen == 0)
		return;
	for (unsigned i = 0; i < c->nnsec; i++)
		if (c->nsec[i].owner_len == wlen &&
		    hf_dns_name_equal(c->nsec[i].owner, wlen, w, wlen)) {
			bits(p, c->nsec[i].bm, c->nsec[i].bm_len, qtype);
			p->kind = (p->has_type || p->has_cname) ? PR_WILD_EXISTS : PR_WILD_NODATA;
			return;
		}
	if (nsec_covering(c, w, wlen))
		p->kind = PR_NX;
}

static const struct nsec3_view *n3_match(struct vc *c, const uint8_t h[20])
{
	for (unsigned i = 0; i < c->nnsec3; i++)
		if (memcmp(c->nsec3[i].hash, h, 20) == 0)
			return &c->nsec3[i];
	return NULL;
}

static const struct nsec3_view *n3_cover(struct vc *c, const uint8_t h[20])
{
	for (unsigned i = 0; i < c->nnsec3; i++) {
		const struct nsec3_view *n = &c->nsec3[i];
		int lo = memcmp(n->hash, h, 20), hi = memcmp(h, n->next, 20);
		if (lo < 0 && hi < 0)
			return n;
		if (memcmp(n->next, n->hash, 20) <= 0 && (lo < 0 || hi < 0))
			return n; /* the last one wraps around */
	}
	return NULL;
}

/* Keep only NSEC3s with the parameters of the first; false when none. */
static bool n3_params(struct vc *c)
{
	unsigned k = 0;

	for (unsigned i = 0; i < c->nnsec3; i++) {
		const struct nsec3_view *a = &c->nsec3[0], *b = &c->nsec3[i];
		if (a->iter == b->iter && a->salt_len == b->salt_len &&
		    memcmp(a->salt, b->salt, a->salt_len) == 0)
			c->nsec3[k++] = *b;
	}
	c->nnsec3 = k;
	return k > 0;
}

static int n3_hash(struct vc *c, const uint8_t *name, size_t len, uint8_t h[20])
{
	const struct nsec3_view *p = &c->nsec3[0];
	return val_nsec3_hash(&c->v->cr, name, len, p->salt, p->salt_len, p->iter, h);
}

static void nsec3_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
			unsigned zone_labels, struct proof *p)
{
	const struct nsec3_view *n, *nc_cov;
	uint8_t h[20], w[HF_DNS_NAME_MAX];
	unsigned total = val_name_labels(sname, slen), ce = 0;
	size_t wlen, off;
	bool found = false;

	memset(p, 0, sizeof(*p));
	if (!n3_params(c))
		return;
	if (c->nsec3[0].iter > c->v->conf.nsec3_max_iterations) {
		p->kind = PR_ITER;
		return;
	}
	if (n3_hash(c, sname, slen, h) < 0)
		return;
	n = n3_match(c, h);
	if (n) {
		p->kind = PR_MATCH;
		bits(p, n->bm, n->bm_len, qtype);
		return;
	}
	/* closest encloser proof (RFC 5155 section 8.3) */
	for (unsigned l = total; l-- > zone_labels;) {
		off = val_name_suffix(sname, slen, l);
		if (n3_hash(c, sname + off, slen - off, h) < 0)
			return;
		n = n3_match(c, h);
		if (n) {
			if ((bm_has(n->bm, n->bm_len, HF_TYPE_NS) &&
			     !bm_has(n->bm, n->bm_len, HF_TYPE_SOA)) ||
			    bm_has(n->bm, n->bm_len, HF_TYPE_DNAME))
				return; /* a delegation or DNAME cannot be the closest encloser */
			ce = l;
			found = true;
			break;
		}
	}
	if (!found)
		return;
	off = val_name_suffix(sname, slen, ce + 1);
	if (n3_hash(c, sname + off, slen - off, h) < 0)
		return;
	nc_cov = n3_cover(c, h);
	if (!nc_cov)
		return;
	if (nc_cov->flags & 1) {
		p->kind = PR_OPTOUT;
		return;
	}
	p->kind = PR_NX_NOWILD;
	wlen = wildcard_of(sname, slen, ce, w);
	if (wlen == 0 || n3_hash(c, w, wlen, h) < 0)
		return;
	n = n3_match(c, h);
	if (n) {
		bits(p, n->bm, n->bm_len, qtype);
		p->kind = (p->has_type || p->has_cname) ? PR_WILD_EXISTS : PR_WILD_NODATA;
		return;
	}
	if (n3_cover(c, h))
		p->kind = PR_NX;
}

void val_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
	       const struct val_entry *z, struct proof *p)
{
	unsigned zl = val_name_labels(z->name, z->name_len);

	if (c->nnsec > 0)
		nsec_prove(c, sname, slen, qtype, zl, p);
	else
		nsec3_prove(c, sname, slen, qtype, zl, p);
	if (p->kind == PR_NONE && c->nnsec > 0 && c->nnsec3 > 0)
		nsec3_prove(c, sname, slen, qtype, zl, p);
}

/* A wildcard expansion: the owner itself must not exist (RFC 4035
 * 5.3.4, RFC 5155 8.8). sig_labels names the closest encloser. */
int val_wildcard_proof(struct vc *c, const struct val_rrset *set, unsigned sig_labels,
		       const struct val_entry *z)
{
	char on[64];
	int r = val_deny_collect(c, z);

	if (r != R_SECURE)
		return r;
	val_name_str(set->owner, set->owner_len, on, sizeof(on));
	if (c->nnsec > 0) {
		const struct nsec_view *cov = nsec_covering(c, set->owner, set->owner_len);
		if (cov &&
		    val_name_common(set->owner, set->owner_len, cov->owner, cov->owner_len) <=
			    sig_labels &&
		    val_name_common(set->owner, set->owner_len, cov->next, cov->next_len) <=
			    sig_labels)
			return R_SECURE;
	} else if (c->nnsec3 > 0 && n3_params(c)) {
		uint8_t h[20];
		size_t off = val_name_suffix(set->owner, set->owner_len, sig_labels + 1);
		const struct nsec3_view *cov;
		if (c->nsec3[0].iter > c->v->conf.nsec3_max_iterations)
			return val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_NSEC3_ITER,
					   "%s: NSEC3 iterations %u > %u", on, c->nsec3[0].iter,
					   c->v->conf.nsec3_max_iterations);
		if (n3_hash(c, set->owner + off, set->owner_len - off, h) == 0 &&
		    (cov = n3_cover(c, h)) != NULL) {
			if (cov->flags & 1)
				return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
			return R_SECURE;
		}
	}
	return val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING,
			   "%s: wildcard answer without proof the name does not exist", on);
}

/* ---- the answer ---- */

/* Unsigned data at name: fine below an insecure delegation, else RRSIGs
 * missing. DS lives in the parent zone, so its walk stops at the parent. */
static int check_unsigned(struct vc *c, const uint8_t *name, size_t len, uint16_t type,
			  const char *what)
{
	struct val_entry *z;
	char zn[64];
	int r;

	if (type == HF_TYPE_DS && len > 1) {
		len -= 1u + name[0];
		name += 1u + name[0];
	}
	r = val_zone_keys(c, name, len, &z);

	if (r != R_SECURE)
		return r;
	val_name_str(z->name, z->name_len, zn, sizeof(zn));
	return val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING, "%s: no RRSIG in signed zone %s",
			   what, zn);
}

static int check_rrset(struct vc *c, const struct val_rrset *set)
{
	uint8_t signer[HF_DNS_NAME_MAX];
	size_t slen;
	struct val_entry *z;
	unsigned sig_labels = set->labels;
	char on[64], tb[16], what[96];
	int r;

	val_name_str(set->owner, set->owner_len, on, sizeof(on));
	val_type_str(set->type, tb, sizeof(tb));
	if (set->nsig == 0 || !val_set_signer(c, set, signer, &slen)) {
		snprintf(what, sizeof(what), "%s %s", on, tb);
		return check_unsigned(c, set->owner, set->owner_len, set->type, what);
	}
	r = val_zone_keys(c, signer, slen, &z);
	if (r != R_SECURE)
		return r;
	if (!hf_dns_name_equal(z->name, z->name_len, signer, slen)) {
		char sn[64];
		val_name_str(signer, slen, sn, sizeof(sn));
		return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
				   "%s %s: signer %s is not a zone", on, tb, sn);
	}
	r = val_verify_set(c, set, z->name, z->name_len, z->u.keys, z->n, &sig_labels);
	if (r != R_SECURE)
		return r;
	if (sig_labels < set->labels)
		return val_wildcard_proof(c, set, sig_labels, z);
	return R_SECURE;
}

/* Deepest signer zone of the authority SOA/NSEC/NSEC3 at or above sname. */
bool val_deny_signer(struct vc *c, const uint8_t *sname, size_t slen, bool proper, uint8_t *zone,
		     size_t *zlen)
{
	uint8_t s[HF_DNS_NAME_MAX];
	size_t l;
	bool found = false;

	for (uint16_t i = 0; i < c->s->n; i++) {
		const struct val_rrset *set = &c->s->set[i];
		if (set->section != HF_SEC_AUTHORITY ||
		    (set->type != HF_TYPE_SOA && set->type != HF_TYPE_NSEC &&
		     set->type != HF_TYPE_NSEC3))
			continue;
		if (!val_set_signer(c, set, s, &l) || !hf_dns_name_is_sub(sname, slen, s, l))
			continue;
		if (proper && l == slen)
			continue; /* a DS denial comes from the parent, never the child */
		if (!found || l > *zlen) {
			memcpy(zone, s, l);
			*zlen = l;
			found = true;
		}
	}
	return found;
}

static const struct val_rrset *find_soa(struct vc *c, const uint8_t *sname, size_t slen)
{
	for (uint16_t i = 0; i < c->s->n; i++) {
		const struct val_rrset *set = &c->s->set[i];
		if (set->section == HF_SEC_AUTHORITY && set->type == HF_TYPE_SOA &&
		    hf_dns_name_is_sub(sname, slen, set->owner, set->owner_len))
			return set;
	}
	return NULL;
}

/* NXDOMAIN (nx) or NODATA for (sname, qtype). */
static int check_denial(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype, bool nx)
{
	uint8_t zone[HF_DNS_NAME_MAX];
	size_t zlen;
	const struct val_rrset *soa = find_soa(c, sname, slen);
	struct val_entry *z;
	struct proof p;
	char on[64], tb[16], what[96];
	int r;

	val_name_str(sname, slen, on, sizeof(on));
	val_type_str(qtype, tb, sizeof(tb));
	snprintf(what, sizeof(what), "%s %s %s", on, tb, nx ? "NXDOMAIN" : "NODATA");
	if (!val_deny_signer(c, sname, slen, qtype == HF_TYPE_DS, zone, &zlen)) {
		/* nothing signed: fine in an insecure zone, else RRSIGs missing */
		if (soa && (qtype != HF_TYPE_DS || soa->owner_len < slen))
			return check_unsigned(c, soa->owner, soa->owner_len, 0, what);
		return check_unsigned(c, sname, slen, qtype, what);
	}
	r = val_zone_keys(c, zone, zlen, &z);
	if (r != R_SECURE)
		return r;
	if (!hf_dns_name_equal(z->name, z->name_len, zone, zlen))
		return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS, "%s: signer is not a zone",
				   what);
	if (soa) {
		if (soa->nsig == 0)
			return val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING,
					   "%s: SOA without RRSIG", what);
		r = val_verify_set(c, soa, z->name, z->name_len, z->u.keys, z->n, NULL);
		if (r != R_SECURE)
			return r;
	}
	r = val_deny_collect(c, z);
	if (r != R_SECURE)
		return r;
	if (c->nnsec == 0 && c->nnsec3 == 0) {
		if (c->nsec_unsigned)
			return val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING,
					   "%s: NSEC without RRSIG", what);
		return val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING, "%s: no NSEC/NSEC3 proof",
				   what);
	}
	val_prove(c, sname, slen, qtype, z, &p);
	switch (p.kind) {
	case PR_ITER:
		return val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_NSEC3_ITER,
				   "%s: NSEC3 iterations %u > %u", what, c->nsec3[0].iter,
				   c->v->conf.nsec3_max_iterations);
	case PR_OPTOUT:
		/* RFC 5155 9.2: opt-out leaves room for an unsigned delegation */
		return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
	case PR_NX:
		if (nx)
			return R_SECURE;
		break;
	case PR_MATCH:
		if (nx)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: NSEC says the name exists", what);
		if (p.has_type || p.has_cname)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: NSEC says the type exists", what);
		if (qtype != HF_TYPE_DS && p.has_ns && !p.has_soa)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: NSEC from the parent side of a delegation", what);
		if (qtype == HF_TYPE_DS && p.has_soa && val_name_labels(sname, slen) > 0)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: DS denial from the child zone", what);
		return R_SECURE;
	case PR_ENT:
	case PR_WILD_NODATA:
		if (!nx)
			return R_SECURE;
		break;
	case PR_WILD_EXISTS:
		return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
				   "%s: a wildcard should have answered", what);
	default:
		break;
	}
	return val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING, "%s: NSEC/NSEC3 do not prove it", what);
}

/* target of the first RR (CNAME) of set */
static bool rr_target(struct vc *c, const struct val_rrset *set, uint8_t *out, size_t *len)
{
	const struct hf_dns_rr *rr = &c->m->rr[set->rr_head];
	size_t pos = rr->rdata_off;

	if (hf_dns_name_unpack(c->m->wire, rr->rdata_off + rr->rdlen, &pos, out, len) < 0)
		return false;
	hf_dns_name_lower(out, *len);
	return true;
}

/* An unsigned CNAME synthesised from a (validated) DNAME above sname. */
static int check_dname(struct vc *c, const uint8_t *sname, size_t slen, const uint8_t *target,
		       size_t tlen)
{
	for (uint16_t i = 0; i < c->s->n; i++) {
		const struct val_rrset *d = &c->s->set[i];
		uint8_t dt[HF_DNS_NAME_MAX], syn[HF_DNS_NAME_MAX + 64];
		size_t dtl, plen;
		int r;

		if (d->section != HF_SEC_ANSWER || d->type != HF_TYPE_DNAME ||
		    d->owner_len >= slen ||
		    !hf_dns_name_is_sub(sname, slen, d->owner, d->owner_len))
			continue;
		r = check_rrset(c, d);
		if (r != R_SECURE)
			return r;
		if (!rr_target(c, d, dt, &dtl))
			break;
		plen = slen - d->owner_len;
		memcpy(syn, sname, plen);
		memcpy(syn + plen, dt, dtl);
		if (plen + dtl == tlen && memcmp(syn, target, tlen) == 0)
			return R_SECURE;
		break;
	}
	return R_NODNAME;
}

static int validate_answer(struct vc *c)
{
	const struct hf_dns_msg *m = c->m;
	uint8_t sname[HF_DNS_NAME_MAX];
	size_t slen = m->qname_len;
	uint16_t qtype = m->qtype;
	bool nx = (m->rcode == HF_RCODE_NXDOMAIN);

	memcpy(sname, m->qname, slen);
	hf_dns_name_lower(sname, slen);
	if (m->rcode != HF_RCODE_NOERROR && m->rcode != HF_RCODE_NXDOMAIN)
		return val_verdict(c, R_INDET, HF_EDE_NONE, NULL);
	for (unsigned hop = 0; hop < VAL_MAX_HOPS; hop++) {
		const struct val_rrset *set, *cn;
		uint8_t target[HF_DNS_NAME_MAX];
		size_t tlen;
		bool any = false;
		int r;

		if (hop > 0 && val_nta(c, sname, slen))
			return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
		if (qtype == HF_TYPE_ANY) {
			for (uint16_t i = 0; i < c->s->n; i++) {
				set = &c->s->set[i];
				if (set->section != HF_SEC_ANSWER || set->owner_len != slen ||
				    memcmp(set->owner, sname, slen) != 0)
					continue;
				any = true;
				r = check_rrset(c, set);
				if (r != R_SECURE)
					return r;
			}
			if (any)
				return R_SECURE;
		}
		set = val_sets_find(c->s, HF_SEC_ANSWER, sname, slen, qtype);
		if (set)
			return check_rrset(c, set);
		cn = qtype == HF_TYPE_CNAME
			     ? NULL
			     : val_sets_find(c->s, HF_SEC_ANSWER, sname, slen, HF_TYPE_CNAME);
		if (!cn)
			return check_denial(c, sname, slen, qtype, nx);
		if (!rr_target(c, cn, target, &tlen))
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS, "malformed CNAME");
		r = R_NODNAME;
		if (cn->nsig == 0)
			r = check_dname(c, sname, slen, target, tlen);
		if (r == R_NODNAME)
			r = check_rrset(c, cn);
		if (r != R_SECURE)
			return r;
		memcpy(sname, target, tlen);
		slen = tlen;
	}
	return val_verdict(c, R_INDET, HF_EDE_OTHER, "CNAME chain longer than %u", VAL_MAX_HOPS);
}

void val_call_init(struct vc *c, struct hf_val *v, const struct hf_dns_msg *m, uint64_t now,
		   struct hf_val_result *res, struct hf_val_need *nd)
{
	c->v = v;
	c->m = m;
	c->now = now;
	c->now32 = (uint32_t)now;
	c->s = &v->sets;
	c->res = res;
	c->need = nd;
	c->ttl_cap = UINT32_MAX;
	c->verifies = 0;
	c->nnsec = c->nnsec3 = 0;
	res->verdict = HF_SECURITY_INSECURE;
	res->ede = HF_EDE_NONE;
	res->ttl_cap = UINT32_MAX;
	res->text[0] = 0;
}

int hf_val_validate(struct hf_val *v, const struct hf_dns_msg *resp, uint64_t now_s,
		    struct hf_val_result *res, struct hf_val_need *need_out)
{
	struct vc *c;
	struct hf_val_need dummy;
	uint8_t q[HF_DNS_NAME_MAX];
	int r;

	if (!v || !resp || !res || resp->qdcount != 1 || resp->qname_len == 0)
		return hf_error(HF_EINVAL);
	c = v->call;
	val_call_init(c, v, resp, now_s, res, need_out ? need_out : &dummy);
	memcpy(q, resp->qname, resp->qname_len);
	hf_dns_name_lower(q, resp->qname_len);
	if (resp->qclass != HF_CLASS_IN || val_nta(c, q, resp->qname_len) ||
	    val_anchor_zone(v, q, resp->qname_len) < 0)
		r = R_INSECURE; /* nothing to validate against */
	else if (val_sets_build(resp, c->s) < 0)
		r = val_verdict(c, R_INDET, HF_EDE_OTHER, "too many RRsets");
	else
		r = validate_answer(c);
	switch (r) {
	case R_NEED:
		v->st.needs++;
		return HF_VAL_NEED;
	case R_SECURE:
		res->verdict = HF_SECURITY_SECURE;
		res->ede = HF_EDE_NONE;
		res->text[0] = 0;
		res->ttl_cap = c->ttl_cap;
		break;
	case R_INSECURE:
		res->verdict = HF_SECURITY_INSECURE;
		break;
	case R_BOGUS:
		res->verdict = HF_SECURITY_BOGUS;
		break;
	default:
		res->verdict = HF_SECURITY_INDETERMINATE;
		break;
	}
	v->st.validations++;
	return HF_VAL_DONE;
}

/* ---- key fetches ---- */

static uint64_t expiry(struct vc *c, uint32_t ttl, uint32_t cap)
{
	if (c->ttl_cap < ttl)
		ttl = c->ttl_cap;
	if (cap < ttl)
		ttl = cap;
	if (ttl == 0)
		ttl = 1;
	return c->now + ttl;
}

static void store(struct vc *c, const uint8_t *name, size_t len, uint8_t kind, uint8_t state,
		  uint64_t expires, const struct hf_val_result *why)
{
	struct val_entry *e = val_cache_put(&c->v->cache, name, len, kind);

	e->state = state;
	e->expires = expires;
	if (why) {
		e->ede = why->ede;
		memcpy(e->text, why->text, sizeof(e->text));
	}
}

static void store_r(struct vc *c, const uint8_t *name, size_t len, uint8_t kind, int r,
		    uint32_t ttl)
{
	struct hf_val_conf *cf = &c->v->conf;

	if (r == R_BOGUS)
		store(c, name, len, kind, VAL_ST_BOGUS, c->now + cf->bogus_ttl, c->res);
	else if (r == R_INSECURE)
		store(c, name, len, kind, VAL_ST_INSECURE, expiry(c, ttl, cf->insecure_ttl),
		      c->res);
	else
		store(c, name, len, kind, VAL_ST_INDET, c->now + VAL_INDET_TTL, c->res);
}

/* Trust for DNSKEY(name): DS records (from the anchors or a validated DS
 * set) and anchor DNSKEYs. */
struct trust {
	unsigned nds, nkey;
	struct val_ds ds[VAL_MAX_DS + VAL_MAX_ANCHORS];
	const struct val_anchor *key[VAL_MAX_ANCHORS];
};

static void ds_add(struct trust *t, const uint8_t *rd, size_t len)
{
	struct val_ds *d;

	if (len < 5 || len - 4 > 48 || t->nds >= HF_ARRAY_LEN(t->ds))
		return;
	d = &t->ds[t->nds++];
	d->tag = hf_get16(rd);
	d->alg = rd[2];
	d->dtype = rd[3];
	d->dlen = (uint8_t)(len - 4);
	memcpy(d->digest, rd + 4, len - 4);
}

/* RFC 4509 section 3: SHA-1 DS only where no SHA-256/384 DS is in the set. */
static bool ds_usable(const struct trust *t, const struct val_ds *d)
{
	if (!hf_val_alg_supported(d->alg) || !hf_val_digest_supported(d->dtype))
		return false;
	if (d->dtype == HF_DS_SHA1)
		for (unsigned i = 0; i < t->nds; i++)
			if (t->ds[i].dtype != HF_DS_SHA1 &&
			    hf_val_digest_supported(t->ds[i].dtype) &&
			    hf_val_alg_supported(t->ds[i].alg))
				return false;
	return true;
}

/* No usable trust: insecure, with the EDE that says why (RFC 4035 5.2). */
static int trust_unusable(struct vc *c, const struct trust *t, const uint8_t *name, size_t len)
{
	char nn[64];
	bool alg_ok = false;

	val_name_str(name, len, nn, sizeof(nn));
	for (unsigned i = 0; i < t->nds; i++)
		if (hf_val_alg_supported(t->ds[i].alg))
			alg_ok = true;
	for (unsigned i = 0; i < t->nkey; i++)
		if (hf_val_alg_supported(t->key[i]->rdata[3]))
			alg_ok = true;
	if (!alg_ok)
		return val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_DNSKEY_ALG,
				   "%s DS: algorithm %u unsupported", nn,
				   t->nds ? t->ds[0].alg : t->key[0]->rdata[3]);
	return val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_DS_DIGEST,
			   "%s DS: digest type %u unsupported", nn, t->ds[0].dtype);
}

static bool trust_usable(const struct trust *t)
{
	for (unsigned i = 0; i < t->nds; i++)
		if (ds_usable(t, &t->ds[i]))
			return true;
	for (unsigned i = 0; i < t->nkey; i++)
		if (hf_val_alg_supported(t->key[i]->rdata[3]))
			return true;
	return false;
}

static bool key_trusted(struct vc *c, const struct trust *t, const uint8_t *name, size_t len,
			const uint8_t *rd, size_t rdlen)
{
	uint16_t tag = hf_val_key_tag(rd, rdlen);
	uint8_t dg[64];

	for (unsigned i = 0; i < t->nkey; i++)
		if (t->key[i]->rdlen == rdlen && memcmp(t->key[i]->rdata, rd, rdlen) == 0)
			return true;
	for (unsigned i = 0; i < t->nds; i++) {
		const struct val_ds *d = &t->ds[i];
		if (d->tag != tag || d->alg != rd[3] || !ds_usable(t, d))
			continue;
		if (val_ds_digest(&c->v->cr, name, len, rd, rdlen, d->dtype, dg) == d->dlen &&
		    memcmp(dg, d->digest, d->dlen) == 0)
			return true;
	}
	return false;
}

static int add_dnskey(struct vc *c, const uint8_t *name, size_t len)
{
	struct hf_val *v = c->v;
	const struct hf_dns_msg *m = c->m;
	struct trust *t = calloc(1, sizeof(*t));
	struct val_key ksk[VAL_MAX_KEYS], keys[VAL_MAX_KEYS];
	unsigned nksk = 0, nkeys = 0;
	const struct val_rrset *set;
	struct val_entry *e;
	char nn[64];
	int r;

	if (!t)
		return hf_error(HF_ENOMEM);
	val_name_str(name, len, nn, sizeof(nn));
	if (val_is_anchor(v, name, len)) {
		for (unsigned i = 0; i < v->nanchors; i++) {
			const struct val_anchor *a = &v->anchors[i];
			if (!hf_dns_name_equal(a->name, a->name_len, name, len))
				continue;
			if (a->type == HF_TYPE_DS)
				ds_add(t, a->rdata, a->rdlen);
			else if (t->nkey < VAL_MAX_ANCHORS)
				t->key[t->nkey++] = a;
		}
	} else {
		e = val_cache_get(&v->cache, name, len, VAL_KIND_DS, c->now);
		if (!e || e->state != VAL_ST_SECURE) {
			free(t);
			return hf_error(HF_ENOENT);
		}
		for (unsigned i = 0; i < e->n; i++)
			t->ds[t->nds++] = e->u.ds[i];
	}
	if (!trust_usable(t)) {
		r = trust_unusable(c, t, name, len);
		store_r(c, name, len, VAL_KIND_KEY, r, v->conf.insecure_ttl);
		free(t);
		return 0;
	}
	if (val_sets_build(m, c->s) < 0 ||
	    (m->rcode != HF_RCODE_NOERROR && m->rcode != HF_RCODE_NXDOMAIN)) {
		r = val_verdict(c, R_INDET, HF_EDE_DNSKEY_MISSING, "%s DNSKEY: upstream rcode %u",
				nn, m->rcode);
		goto done;
	}
	set = val_sets_find(c->s, HF_SEC_ANSWER, name, len, HF_TYPE_DNSKEY);
	if (!set) {
		r = val_verdict(c, R_BOGUS, HF_EDE_DNSKEY_MISSING, "%s DNSKEY: none in the answer",
				nn);
		goto done;
	}
	/* the keys the DS set (or anchor) vouches for */
	for (int16_t i = set->rr_head; i >= 0 && nksk < VAL_MAX_KEYS; i = c->s->next[i]) {
		const struct hf_dns_rr *rr = &m->rr[i];
		const uint8_t *rd = m->wire + rr->rdata_off;
		uint16_t flags;
		if (rr->rdlen < 5)
			continue;
		flags = hf_get16(rd);
		if (!(flags & 0x0100) || (flags & 0x0080) || rd[2] != 3 ||
		    !hf_val_alg_supported(rd[3]))
			continue; /* not a zone key, revoked (RFC 5011), bad protocol */
		if (!key_trusted(c, t, name, len, rd, rr->rdlen))
			continue;
		ksk[nksk].pkey = val_key_parse(rd[3], rd + 4, rr->rdlen - 4u);
		v->st.key_parses++;
		if (!ksk[nksk].pkey)
			continue;
		ksk[nksk].tag = hf_val_key_tag(rd, rr->rdlen);
		ksk[nksk].alg = rd[3];
		ksk[nksk].flags = flags;
		nksk++;
	}
	if (nksk == 0) {
		r = val_verdict(c, R_BOGUS, HF_EDE_DNSKEY_MISSING,
				"%s DNSKEY: no key matches DS %u alg %u", nn,
				t->nds ? t->ds[0].tag
				       : hf_val_key_tag(t->key[0]->rdata, t->key[0]->rdlen),
				t->nds ? t->ds[0].alg : t->key[0]->rdata[3]);
		goto done;
	}
	r = val_verify_set(c, set, name, len, ksk, nksk, NULL);
	if (r != R_SECURE)
		goto done;
	/* every usable zone key, the trusted ones first */
	for (unsigned i = 0; i < nksk; i++)
		keys[nkeys++] = ksk[i];
	nksk = 0;
	for (int16_t i = set->rr_head; i >= 0 && nkeys < VAL_MAX_KEYS; i = c->s->next[i]) {
		const struct hf_dns_rr *rr = &m->rr[i];
		const uint8_t *rd = m->wire + rr->rdata_off;
		uint16_t flags, tag;
		bool dup = false;
		if (rr->rdlen < 5)
			continue;
		flags = hf_get16(rd);
		if (!(flags & 0x0100) || (flags & 0x0080) || rd[2] != 3 ||
		    !hf_val_alg_supported(rd[3]))
			continue;
		tag = hf_val_key_tag(rd, rr->rdlen);
		if (key_trusted(c, t, name, len, rd, rr->rdlen)) {
			for (unsigned k = 0; k < nkeys; k++)
				if (keys[k].tag == tag && keys[k].alg == rd[3])
					dup = true;
			if (dup)
				continue;
		}
		keys[nkeys].pkey = val_key_parse(rd[3], rd + 4, rr->rdlen - 4u);
		v->st.key_parses++;
		if (!keys[nkeys].pkey)
			continue;
		keys[nkeys].tag = tag;
		keys[nkeys].alg = rd[3];
		keys[nkeys].flags = flags;
		nkeys++;
	}
	e = val_cache_put(&v->cache, name, len, VAL_KIND_KEY);
	e->state = VAL_ST_SECURE;
	e->expires = expiry(c, set->ttl, v->conf.key_ttl_max);
	e->n = (uint8_t)nkeys;
	memcpy(e->u.keys, keys, nkeys * sizeof(keys[0]));
	free(t);
	return 0;
done:
	for (unsigned i = 0; i < nksk; i++)
		EVP_PKEY_free(ksk[i].pkey);
	store_r(c, name, len, VAL_KIND_KEY, r, v->conf.insecure_ttl);
	free(t);
	return 0;
}

static int add_ds(struct vc *c, const uint8_t *name, size_t len)
{
	struct hf_val *v = c->v;
	const struct hf_dns_msg *m = c->m;
	unsigned total = val_name_labels(name, len);
	struct val_entry *z = NULL;
	const struct val_rrset *set;
	struct proof p;
	char nn[64];
	int r;

	if (total == 0)
		return hf_error(HF_ENOENT);
	/* the parent zone: the deepest secure zone strictly above name */
	for (unsigned l = total; l-- > 0;) {
		size_t off = val_name_suffix(name, len, l);
		struct val_entry *e =
			val_cache_get(&v->cache, name + off, len - off, VAL_KIND_KEY, c->now);
		if (e) {
			if (e->state != VAL_ST_SECURE)
				return hf_error(HF_ENOENT);
			z = e;
			break;
		}
	}
	if (!z)
		return hf_error(HF_ENOENT);
	val_name_str(name, len, nn, sizeof(nn));
	if (val_sets_build(m, c->s) < 0 ||
	    (m->rcode != HF_RCODE_NOERROR && m->rcode != HF_RCODE_NXDOMAIN)) {
		r = val_verdict(c, R_INDET, HF_EDE_DNSSEC_INDETERMINATE, "%s DS: upstream rcode %u",
				nn, m->rcode);
		store_r(c, name, len, VAL_KIND_DS, r, 0);
		return 0;
	}
	set = val_sets_find(c->s, HF_SEC_ANSWER, name, len, HF_TYPE_DS);
	if (set) {
		struct trust t;
		struct val_entry *e;
		uint64_t exp;
		if (set->nsig == 0) {
			r = val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING, "%s DS: no RRSIG", nn);
			goto store;
		}
		r = val_verify_set(c, set, z->name, z->name_len, z->u.keys, z->n, NULL);
		if (r != R_SECURE)
			goto store;
		memset(&t, 0, sizeof(t));
		for (int16_t i = set->rr_head; i >= 0; i = c->s->next[i])
			ds_add(&t, m->wire + m->rr[i].rdata_off, m->rr[i].rdlen);
		if (!trust_usable(&t)) {
			r = trust_unusable(c, &t, name, len);
			goto store;
		}
		exp = expiry(c, set->ttl, v->conf.key_ttl_max);
		e = val_cache_put(&v->cache, name, len, VAL_KIND_DS);
		e->state = VAL_ST_SECURE;
		e->expires = exp;
		/* keep the usable ones first */
		for (unsigned pass = 0; pass < 2; pass++)
			for (unsigned i = 0; i < t.nds && e->n < VAL_MAX_DS; i++)
				if (ds_usable(&t, &t.ds[i]) == (pass == 0))
					e->u.ds[e->n++] = t.ds[i];
		return 0;
	}
	/* no DS: a denial signed by the parent zone */
	if (!val_deny_signer(c, name, len, true, (uint8_t[HF_DNS_NAME_MAX]){0}, &(size_t){0})) {
		r = val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING,
				"%s DS: unsigned denial in signed zone", nn);
		goto store;
	}
	r = val_deny_collect(c, z);
	if (r != R_SECURE)
		goto store;
	if (c->nnsec == 0 && c->nnsec3 == 0) {
		r = c->nsec_unsigned ? val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING,
						   "%s DS: NSEC without RRSIG", nn)
				     : val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING,
						   "%s DS: no NSEC/NSEC3 proof", nn);
		goto store;
	}
	val_prove(c, name, len, HF_TYPE_DS, z, &p);
	switch (p.kind) {
	case PR_MATCH:
		if (p.has_ds || p.has_cname) {
			r = val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					"%s DS: NSEC says DS exists", nn);
		} else if (p.has_soa) {
			r = val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					"%s DS: denial from the child", nn);
		} else if (p.has_ns) {
			r = val_verdict(c, R_INSECURE, HF_EDE_NONE,
					NULL); /* delegation without DS */
		} else {
			store(c, name, len, VAL_KIND_DS, VAL_ST_NOCUT,
			      expiry(c, UINT32_MAX, v->conf.key_ttl_max), NULL);
			return 0;
		}
		break;
	case PR_ENT:
	case PR_NX:
	case PR_NX_NOWILD:
	case PR_WILD_NODATA:
		/* no name, so no zone cut: walk on with the parent's keys */
		store(c, name, len, VAL_KIND_DS, VAL_ST_NOCUT,
		      expiry(c, UINT32_MAX, v->conf.key_ttl_max), NULL);
		return 0;
	case PR_OPTOUT:
		r = val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL); /* RFC 5155 8.6 */
		break;
	case PR_ITER:
		r = val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_NSEC3_ITER,
				"%s DS: NSEC3 iterations %u > %u", nn, c->nsec3[0].iter,
				v->conf.nsec3_max_iterations);
		break;
	default:
		r = val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING,
				"%s DS: NSEC/NSEC3 do not prove it", nn);
		break;
	}
store:
	store_r(c, name, len, VAL_KIND_DS, r, UINT32_MAX);
	return 0;
}

int hf_val_add_keys(struct hf_val *v, const struct hf_dns_msg *resp, uint64_t now_s)
{
	struct hf_val_result res;
	struct hf_val_need nd;
	uint8_t name[HF_DNS_NAME_MAX];
	struct vc *c;
	int rc;

	if (!v || !resp || resp->qdcount != 1 || resp->qname_len == 0 ||
	    (resp->qtype != HF_TYPE_DS && resp->qtype != HF_TYPE_DNSKEY))
		return hf_error(HF_EINVAL);
	c = v->call;
	val_call_init(c, v, resp, now_s, &res, &nd);
	memcpy(name, resp->qname, resp->qname_len);
	hf_dns_name_lower(name, resp->qname_len);
	if (resp->qtype == HF_TYPE_DNSKEY)
		rc = add_dnskey(c, name, resp->qname_len);
	else
		rc = add_ds(c, name, resp->qname_len);
	return rc;
}

/* ---- context ---- */

void hf_val_conf_default(struct hf_val_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->cache_entries = 1024;
	conf->clock_skew = 300;
	conf->nsec3_max_iterations = 50;
	conf->key_ttl_max = 86400;
	conf->insecure_ttl = 3600;
	conf->bogus_ttl = 60;
	conf->max_verifies = 64;
}

struct hf_val *hf_val_create(const struct hf_val_conf *conf, char *err, size_t errlen)
{
	struct hf_val *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (conf)
		v->conf = *conf;
	else
		hf_val_conf_default(&v->conf);
	if (v->conf.max_verifies == 0)
		v->conf.max_verifies = 1;
	v->sbuf = malloc(VAL_SBUF);
	v->cbuf = malloc(VAL_CBUF);
	v->call = malloc(sizeof(struct vc));
	if (!v->sbuf || !v->cbuf || !v->call || val_crypto_init(&v->cr) < 0) {
		snprintf(err, errlen, "out of memory (or OpenSSL lacks SHA-1/2)");
		free(v->sbuf);
		free(v->cbuf);
		free(v->call);
		free(v);
		return NULL;
	}
	if (val_cache_init(&v->cache, v->conf.cache_entries) < 0) {
		snprintf(err, errlen, "out of memory for %u cache entries", v->conf.cache_entries);
		hf_val_destroy(v);
		return NULL;
	}
	if (!v->conf.no_default_anchors &&
	    hf_val_load_anchors_str(v, val_default_anchors, true, err, errlen) < 0) {
		hf_val_destroy(v);
		return NULL;
	}
	return v;
}

void hf_val_destroy(struct hf_val *v)
{
	if (!v)
		return;
	val_cache_free(&v->cache);
	val_crypto_free(&v->cr);
	free(v->sbuf);
	free(v->cbuf);
	free(v->call);
	free(v);
}

int hf_val_load_anchors_str(struct hf_val *v, const char *text, bool replace, char *err,
			    size_t errlen)
{
	struct val_anchor *tmp = malloc(sizeof(v->anchors));
	unsigned n = replace ? 0 : v->nanchors;
	int rc;

	if (!tmp)
		return hf_error(HF_ENOMEM);
	if (!replace)
		memcpy(tmp, v->anchors, sizeof(v->anchors[0]) * n);
	rc = val_anchor_parse(text, tmp, VAL_MAX_ANCHORS, &n, err, errlen);
	if (rc == 0) {
		memcpy(v->anchors, tmp, sizeof(v->anchors[0]) * n);
		v->nanchors = n;
		val_cache_flush(&v->cache);
	}
	free(tmp);
	return rc;
}

int hf_val_load_anchors(struct hf_val *v, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return hf_error(HF_EIO);
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return hf_error(HF_ENOMEM);
	}
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	if (ferror(f) || !feof(f)) {
		snprintf(err, errlen, "%s: read error or larger than 1 MiB", path);
		rc = hf_error(HF_EIO);
	} else {
		rc = hf_val_load_anchors_str(v, buf, true, err, errlen);
	}
	fclose(f);
	free(buf);
	return rc;
}

unsigned hf_val_anchor_count(const struct hf_val *v)
{
	return v->nanchors;
}

void hf_val_set_nta(struct hf_val *v, hf_val_nta_fn fn, void *arg)
{
	v->conf.nta = fn;
	v->conf.nta_arg = arg;
}

void hf_val_flush(struct hf_val *v)
{
	val_cache_flush(&v->cache);
}

void hf_val_flush_name(struct hf_val *v, const uint8_t *name, size_t len)
{
	val_cache_flush_below(&v->cache, name, len);
}

void hf_val_get_stats(const struct hf_val *v, struct hf_val_stats *st)
{
	*st = v->st;
	st->cache_hits = v->cache.hits;
	st->cache_misses = v->cache.misses;
	st->cache_evictions = v->cache.evictions;
}
