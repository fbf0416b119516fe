/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Denial of existence: the NSEC and NSEC3 records of an answer, verified,
 * and what they prove about a name and type (NXDOMAIN, NODATA, wildcards,
 * opt-out, the NSEC3 iteration limit). validator.c has the overview.
 */
#include <string.h>

#include "validator/val_internal.h"

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
	struct val_bits b = {0, 0, 0};

	for (size_t i = 0; i < len; i++) {
		int ch = hf_dns_lower[in[i]], val;
		if (ch >= '0' && ch <= '9')
			val = ch - '0';
		else if (ch >= 'a' && ch <= 'v')
			val = ch - 'a' + 10;
		else
			return -1;
		if (val_bits_push(&b, (uint32_t)val, 5, out, room) < 0)
			return -1;
	}
	return (int)b.n;
}

bool val_nsec3_view(const uint8_t *owner, size_t owner_len, const uint8_t *zone, size_t zlen,
		    const uint8_t *rd, size_t rdlen, struct nsec3_view *n)
{
	size_t l1 = owner[0], hl, off;

	if (rdlen < 5 || rd[0] != 1 || (rd[1] & ~1u) != 0)
		return false; /* RFC 5155 8.1/8.2: unknown hash or flags: ignore */
	if (owner_len - 1u - l1 != zlen || memcmp(owner + 1 + l1, zone, zlen) != 0)
		return false; /* not directly below the apex */
	if (b32hex_decode(owner + 1, l1, n->hash, 20) != 20)
		return false;
	n->flags = rd[1];
	n->iter = hf_get16(rd + 2);
	n->salt_len = rd[4];
	n->salt = rd + 5;
	off = 5u + n->salt_len;
	if (off + 1 > rdlen)
		return false;
	hl = rd[off];
	if (hl != 20 || off + 1 + hl > rdlen)
		return false;
	memcpy(n->next, rd + off + 1, 20);
	n->bm = rd + off + 1 + hl;
	n->bm_len = rdlen - (off + 1 + hl);
	return true;
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
			n->set = set;
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
			if (!val_nsec3_view(set->owner, set->owner_len, z->name, z->name_len, rd,
					    rr->rdlen, n))
				continue;
			n->set = set;
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

size_t val_nsec_wildcard(const struct nsec_view *cov, const uint8_t *sname, size_t slen,
			 unsigned zone_labels, uint8_t *w)
{
	unsigned ce = val_name_common(sname, slen, cov->owner, cov->owner_len),
		 c2 = val_name_common(sname, slen, cov->next, cov->next_len);

	if (c2 > ce)
		ce = c2;
	if (ce < zone_labels)
		ce = zone_labels;
	return wildcard_of(sname, slen, ce, w);
}

void val_nsec_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
		    unsigned zone_labels, struct proof *p)
{
	const struct nsec_view *cov;
	uint8_t w[HF_DNS_NAME_MAX];
	size_t wlen;

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
	wlen = val_nsec_wildcard(cov, sname, slen, zone_labels, w);
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
	if (c->n3_find)
		return c->n3_find(c, h, false);
	for (unsigned i = 0; i < c->nnsec3; i++)
		if (memcmp(c->nsec3[i].hash, h, 20) == 0)
			return &c->nsec3[i];
	return NULL;
}

bool val_nsec3_covers(const struct nsec3_view *n, const uint8_t h[20])
{
	int lo = memcmp(n->hash, h, 20), hi = memcmp(h, n->next, 20);

	if (lo < 0 && hi < 0)
		return true;
	/* the last one wraps around */
	return memcmp(n->next, n->hash, 20) <= 0 && (lo < 0 || hi < 0);
}

static const struct nsec3_view *n3_cover(struct vc *c, const uint8_t h[20])
{
	if (c->n3_find)
		return c->n3_find(c, h, true);
	for (unsigned i = 0; i < c->nnsec3; i++)
		if (val_nsec3_covers(&c->nsec3[i], h))
			return &c->nsec3[i];
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

void val_nsec3_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
		     unsigned zone_labels, struct proof *p)
{
	const struct nsec3_view *n, *nc_cov;
	uint8_t h[20], w[HF_DNS_NAME_MAX];
	unsigned total = hf_dns_name_labels(sname, slen), ce = 0;
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
	unsigned zl = hf_dns_name_labels(z->name, z->name_len);

	if (c->nnsec > 0)
		val_nsec_prove(c, sname, slen, qtype, zl, p);
	else
		val_nsec3_prove(c, sname, slen, qtype, zl, p);
	if (p->kind == PR_NONE && c->nnsec > 0 && c->nnsec3 > 0)
		val_nsec3_prove(c, sname, slen, qtype, zl, p);
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
		if (c->nsec3[0].iter > c->v->conf.nsec3_max_iterations) {
			val_name_str(set->owner, set->owner_len, on, sizeof(on));
			return val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_NSEC3_ITER,
					   "%s: NSEC3 iterations %u > %u", on, c->nsec3[0].iter,
					   c->v->conf.nsec3_max_iterations);
		}
		if (n3_hash(c, set->owner + off, set->owner_len - off, h) == 0 &&
		    (cov = n3_cover(c, h)) != NULL) {
			if (cov->flags & 1)
				return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
			return R_SECURE;
		}
	}
	val_name_str(set->owner, set->owner_len, on, sizeof(on));
	return val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING,
			   "%s: wildcard answer without proof the name does not exist", on);
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
