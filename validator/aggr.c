/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Aggressive use of the DNSSEC-validated cache (RFC 8198, TTLs as RFC 9077
 * corrects them): the NSEC records of secure negative answers, kept with
 * their RRSIGs and the zone's signed SOA, and the NXDOMAIN/NODATA answers
 * they prove for names never asked before.
 *
 * The index is a treap (a binary search tree whose nodes also carry random
 * priorities, kept heap-ordered: expected O(log n) depth whatever the order
 * of inserts), ordered by (zone, owner) in RFC 4034 canonical order, so the
 * NSEC that may cover a name is the floor of (zone, name). The entries are
 * also on an LRU list: at cap entries the least recently used goes, and an
 * entry past its lifetime is dropped when a look-up meets it. Control
 * thread only, like the rest of struct hf_val (docs/decisions.md, "RFC 8198:
 * a treap per validator, not rte_hash").
 */
#include <stdlib.h>
#include <string.h>

#include "validator/val_internal.h"

/* One NSEC RRset of zone `zone` at `owner`, with what a synthesized answer
 * needs: data[] holds zone, owner and next name, then the RRs in wire form
 * (uncompressed, TTL fields zero): the NSEC RRs and their RRSIGs, then the
 * zone's SOA and its RRSIGs. */
struct val_aggr_node {
	struct val_aggr_node *l, *r;   /* treap */
	struct val_aggr_node *up, *dn; /* LRU: up is more recent */
	uint32_t prio;
	uint64_t expires; /* s */
	uint8_t zone_len, owner_len, next_len;
	uint16_t bm_off, bm_len;	    /* the type bitmap, in data[] */
	uint16_t rr_off, nsec_len, soa_len; /* the RRs, in data[] */
	uint8_t nsec_rrs, soa_rrs;
	uint8_t data[];
};

#define AGGR_DATA_MAX 4096 /* larger NSEC + SOA sets are not kept */

static const uint8_t *n_zone(const struct val_aggr_node *n)
{
	return n->data;
}

static const uint8_t *n_owner(const struct val_aggr_node *n)
{
	return n->data + n->zone_len;
}

static const uint8_t *n_next(const struct val_aggr_node *n)
{
	return n->data + n->zone_len + n->owner_len;
}

static int key_cmp(const uint8_t *z, size_t zl, const uint8_t *o, size_t ol,
		   const struct val_aggr_node *n)
{
	int c = hf_val_name_cmp(z, zl, n_zone(n), n->zone_len);
	return c ? c : hf_val_name_cmp(o, ol, n_owner(n), n->owner_len);
}

/* ---- the treap ---- */

/* Split t into keys < key (*lo) and >= key (*hi). */
static void split(struct val_aggr_node *t, const struct val_aggr_node *key,
		  struct val_aggr_node **lo, struct val_aggr_node **hi)
{
	if (!t) {
		*lo = *hi = NULL;
		return;
	}
	if (key_cmp(n_zone(key), key->zone_len, n_owner(key), key->owner_len, t) > 0) {
		split(t->r, key, &t->r, hi);
		*lo = t;
	} else {
		split(t->l, key, lo, &t->l);
		*hi = t;
	}
}

/* Every key of a below every key of b. */
static struct val_aggr_node *merge(struct val_aggr_node *a, struct val_aggr_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = merge(a->r, b);
		return a;
	}
	b->l = merge(a, b->l);
	return b;
}

/* n's key is not in t. */
static struct val_aggr_node *t_insert(struct val_aggr_node *t, struct val_aggr_node *n)
{
	if (!t)
		return n;
	if (n->prio > t->prio) {
		split(t, n, &n->l, &n->r);
		return n;
	}
	if (key_cmp(n_zone(n), n->zone_len, n_owner(n), n->owner_len, t) < 0)
		t->l = t_insert(t->l, n);
	else
		t->r = t_insert(t->r, n);
	return t;
}

static struct val_aggr_node *t_remove(struct val_aggr_node *t, const struct val_aggr_node *n)
{
	int c;

	if (!t)
		return NULL;
	if (t == n)
		return merge(t->l, t->r);
	c = key_cmp(n_zone(n), n->zone_len, n_owner(n), n->owner_len, t);
	if (c < 0)
		t->l = t_remove(t->l, n);
	else
		t->r = t_remove(t->r, n);
	return t;
}

/* The greatest entry <= (zone, owner), or NULL. */
static struct val_aggr_node *t_floor(struct val_aggr_node *t, const uint8_t *z, size_t zl,
				     const uint8_t *o, size_t ol)
{
	struct val_aggr_node *best = NULL;

	while (t) {
		int c = key_cmp(z, zl, o, ol, t);
		if (c == 0)
			return t;
		if (c < 0) {
			t = t->l;
		} else {
			best = t;
			t = t->r;
		}
	}
	return best;
}

/* ---- the LRU and the entries ---- */

static void lru_unlink(struct val_aggr *a, struct val_aggr_node *n)
{
	if (n->up)
		n->up->dn = n->dn;
	else
		a->head = n->dn;
	if (n->dn)
		n->dn->up = n->up;
	else
		a->tail = n->up;
	n->up = n->dn = NULL;
}

static void lru_front(struct val_aggr *a, struct val_aggr_node *n)
{
	n->dn = a->head;
	n->up = NULL;
	if (a->head)
		a->head->up = n;
	a->head = n;
	if (!a->tail)
		a->tail = n;
}

static void drop(struct val_aggr *a, struct val_aggr_node *n)
{
	a->root = t_remove(a->root, n);
	lru_unlink(a, n);
	a->count--;
	free(n);
}

void val_aggr_init(struct val_aggr *a, uint32_t cap)
{
	memset(a, 0, sizeof(*a));
	a->cap = cap;
	a->rnd = 0x9e3779b97f4a7c15ull;
}

void val_aggr_flush_below(struct val_aggr *a, const uint8_t *name, size_t len)
{
	struct val_aggr_node *n = a->head, *dn;

	for (; n; n = dn) {
		dn = n->dn;
		if (!name || hf_dns_name_is_sub(n_zone(n), n->zone_len, name, len) ||
		    hf_dns_name_is_sub(n_owner(n), n->owner_len, name, len))
			drop(a, n);
	}
}

static uint32_t next_prio(struct val_aggr *a)
{
	a->rnd ^= a->rnd << 13; /* xorshift64: balance, not secrecy */
	a->rnd ^= a->rnd >> 7;
	a->rnd ^= a->rnd << 17;
	return (uint32_t)(a->rnd >> 32);
}

/* ---- keeping what a secure denial proved ---- */

/* One RR in wire form, TTL 0: the owner (lower case) and canonical RDATA. */
static int put_rr(const struct vc *c, const struct val_rrset *set, const struct hf_dns_rr *rr,
		  uint8_t *out, size_t room)
{
	size_t len;

	if (room < set->owner_len + 10u)
		return -1;
	memcpy(out, set->owner, set->owner_len);
	out += set->owner_len;
	hf_put16(out, rr->type);
	hf_put16(out + 2, rr->rclass);
	memset(out + 4, 0, 4);
	if (val_canon_rdata(c->m, rr, out + 10, room - set->owner_len - 10u, &len) < 0 ||
	    len > UINT16_MAX)
		return -1;
	hf_put16(out + 8, (uint16_t)len);
	return (int)(set->owner_len + 10u + len);
}

/* The RRs of set, then its RRSIGs, into out: the bytes written, -1 when
 * they do not fit. *n gets their number; *ttl is lowered to the set's TTL
 * and every RRSIG's original TTL and remaining validity. */
static int put_set(const struct vc *c, const struct val_rrset *set, uint8_t *out, size_t room,
		   uint8_t *n, uint32_t *ttl)
{
	size_t len = 0;
	int16_t heads[2] = {set->rr_head, set->sig_head};

	*n = 0;
	*ttl = HF_MIN(*ttl, set->ttl);
	for (int h = 0; h < 2; h++)
		for (int16_t i = heads[h]; i >= 0; i = c->s->next[i]) {
			const struct hf_dns_rr *rr = &c->m->rr[i];
			int w = put_rr(c, set, rr, out + len, room - len);
			if (w < 0 || *n == UINT8_MAX)
				return -1;
			if (h == 1) {
				const uint8_t *rd = c->m->wire + rr->rdata_off;
				uint32_t exp = hf_get32(rd + 8);
				*ttl = HF_MIN(*ttl, hf_get32(rd + 4));
				*ttl = HF_MIN(*ttl, val_serial_lt(c->now32, exp)
							    ? (uint32_t)(exp - c->now32)
							    : 0u);
			}
			len += (size_t)w;
			(*n)++;
		}
	return (int)len;
}

static void keep_nsec(struct vc *c, const struct val_entry *z, const struct nsec_view *nv,
		      const uint8_t *soa, size_t soa_len, uint8_t soa_rrs, uint32_t ttl)
{
	struct val_aggr *a = &c->v->aggr;
	uint8_t buf[AGGR_DATA_MAX];
	size_t head = z->name_len + nv->owner_len + nv->next_len;
	struct val_aggr_node *n, *old;
	uint8_t nrrs;
	int w;

	if (head + soa_len > sizeof(buf))
		return;
	w = put_set(c, nv->set, buf, sizeof(buf) - soa_len, &nrrs, &ttl);
	/* the first RR's RDATA must be the view's next name and bitmap (an
	 * NSEC with a compressed next name is not kept) */
	if (w < 0 || ttl == 0 || hf_get16(buf + nv->owner_len + 8) != nv->next_len + nv->bm_len)
		return;
	n = malloc(sizeof(*n) + head + (size_t)w + soa_len);
	if (!n)
		return;
	memset(n, 0, sizeof(*n));
	n->zone_len = z->name_len;
	n->owner_len = (uint8_t)nv->owner_len;
	n->next_len = (uint8_t)nv->next_len;
	memcpy(n->data, z->name, z->name_len);
	memcpy(n->data + z->name_len, nv->owner, nv->owner_len);
	memcpy(n->data + z->name_len + nv->owner_len, nv->next, nv->next_len);
	n->rr_off = (uint16_t)head;
	n->nsec_len = (uint16_t)w;
	n->nsec_rrs = nrrs;
	memcpy(n->data + head, buf, (size_t)w);
	memcpy(n->data + head + w, soa, soa_len);
	n->soa_len = (uint16_t)soa_len;
	n->soa_rrs = soa_rrs;
	/* the bitmap: in the first RR's RDATA, behind the next name */
	n->bm_off = (uint16_t)(head + nv->owner_len + 10u + nv->next_len);
	n->bm_len = (uint16_t)nv->bm_len;
	n->expires = c->now + ttl;
	n->prio = next_prio(a);
	old = t_floor(a->root, n_zone(n), n->zone_len, n_owner(n), n->owner_len);
	if (old && key_cmp(n_zone(n), n->zone_len, n_owner(n), n->owner_len, old) == 0)
		drop(a, old);
	if (a->count >= a->cap && a->tail) {
		drop(a, a->tail);
		a->evictions++;
	}
	a->root = t_insert(a->root, n);
	lru_front(a, n);
	a->count++;
}

void val_aggr_keep(struct vc *c, const struct val_entry *z, const struct val_rrset *soa)
{
	uint8_t buf[AGGR_DATA_MAX];
	uint32_t ttl = UINT32_MAX;
	const struct hf_dns_rr *rr;
	uint8_t n;
	int w;

	if (c->v->aggr.cap == 0 || !soa || soa->nsig == 0 || c->nnsec == 0 ||
	    !hf_dns_name_equal(soa->owner, soa->owner_len, z->name, z->name_len))
		return;
	rr = &c->m->rr[soa->rr_head];
	if (rr->rdlen < 22)
		return;
	/* RFC 9077: no longer than the SOA's TTL and MINIMUM */
	ttl = hf_get32(c->m->wire + rr->rdata_off + rr->rdlen - 4);
	w = put_set(c, soa, buf, sizeof(buf), &n, &ttl);
	if (w < 0)
		return;
	for (unsigned i = 0; i < c->nnsec; i++)
		keep_nsec(c, z, &c->nsec[i], buf, (size_t)w, n, ttl);
}

/* ---- synthesis ---- */

static void view_of(const struct val_aggr_node *n, struct nsec_view *v)
{
	v->owner = n_owner(n);
	v->owner_len = n->owner_len;
	memcpy(v->next, n_next(n), n->next_len);
	v->next_len = n->next_len;
	v->bm = n->data + n->bm_off;
	v->bm_len = n->bm_len;
	v->set = NULL;
}

/* The live entry of zone (z, zl) that is the floor of name, or NULL. */
static struct val_aggr_node *floor_in(struct val_aggr *a, const uint8_t *z, size_t zl,
				      const uint8_t *name, size_t len, uint64_t now)
{
	struct val_aggr_node *n = t_floor(a->root, z, zl, name, len);

	if (!n || !hf_dns_name_equal(n_zone(n), n->zone_len, z, zl))
		return NULL;
	if (n->expires <= now) {
		drop(a, n);
		return NULL;
	}
	return n;
}

/* Copy n's RRs (NSEC, or SOA when soa) with TTL ttl into out at *len. */
static int put_rrs(const struct val_aggr_node *n, bool soa, uint32_t ttl, uint8_t *out, size_t size,
		   size_t *len)
{
	const uint8_t *p = n->data + n->rr_off + (soa ? n->nsec_len : 0u);
	size_t l = soa ? n->soa_len : n->nsec_len;
	unsigned cnt = soa ? n->soa_rrs : n->nsec_rrs;

	if (*len + l > size)
		return -1;
	memcpy(out + *len, p, l);
	for (size_t off = *len; cnt > 0; cnt--) {
		while (out[off] != 0)
			off += 1u + out[off];
		off++;
		hf_put32(out + off + 4, ttl);
		off += 10u + hf_get16(out + off + 8);
	}
	*len += l;
	return (int)(soa ? n->soa_rrs : n->nsec_rrs);
}

int hf_val_synth(struct hf_val *v, const uint8_t *qname, size_t qlen, uint16_t qtype,
		 uint64_t now_s, uint8_t *out, size_t size)
{
	struct val_aggr *a = &v->aggr;
	struct val_aggr_node *used[2] = {NULL, NULL};
	struct hf_val_result res;
	struct hf_val_need need;
	struct val_entry *keys;
	uint8_t q[HF_DNS_NAME_MAX], w[HF_DNS_NAME_MAX];
	const uint8_t *zone = NULL;
	unsigned total, zl = 0;
	size_t zlen = 0, wlen, len;
	uint32_t ttl;
	struct proof p;
	struct vc *c = v->call;
	uint8_t rcode;
	int nrr = 0, k;

	if (a->cap == 0 || a->root == NULL || qlen == 0 || qlen > HF_DNS_NAME_MAX ||
	    qtype == HF_TYPE_DS || qtype == HF_TYPE_ANY || qtype == HF_TYPE_RRSIG ||
	    qtype == HF_TYPE_NSEC || qtype == HF_TYPE_NSEC3)
		return 0;
	memcpy(q, qname, qlen);
	hf_dns_name_lower(q, qlen);
	val_call_init(c, v, NULL, now_s, &res, &need);
	if (val_nta(c, q, qlen) || val_anchor_zone(v, q, qlen) < 0)
		return 0;
	/* the deepest zone at or above the name with an entry at or below it */
	total = val_name_labels(q, qlen);
	for (unsigned l = total + 1; l-- > 0 && !used[0];) {
		size_t off = val_name_suffix(q, qlen, l);
		used[0] = floor_in(a, q + off, qlen - off, q, qlen, now_s);
		zone = q + off;
		zlen = qlen - off;
		zl = l;
	}
	if (!used[0])
		return 0;
	/* only while the zone's keys are still known secure (not bogus since) */
	keys = val_cache_get(&v->cache, zone, zlen, VAL_KIND_KEY, now_s);
	if (!keys || keys->state != VAL_ST_SECURE)
		return 0;
	c->nnsec = 1;
	view_of(used[0], &c->nsec[0]);
	val_nsec_prove(c, q, qlen, qtype, zl, &p);
	if (p.kind == PR_NX_NOWILD && (wlen = val_nsec_wildcard(&c->nsec[0], q, qlen, zl, w)) > 0 &&
	    (used[1] = floor_in(a, zone, zlen, w, wlen, now_s)) != NULL && used[1] != used[0]) {
		c->nnsec = 2;
		view_of(used[1], &c->nsec[1]);
		val_nsec_prove(c, q, qlen, qtype, zl, &p);
	}
	if (p.kind == PR_NX)
		rcode = HF_RCODE_NXDOMAIN;
	else if ((p.kind == PR_MATCH && !p.has_type && !p.has_cname && !(p.has_ns && !p.has_soa)) ||
		 p.kind == PR_ENT || p.kind == PR_WILD_NODATA)
		rcode = HF_RCODE_NOERROR;
	else
		return 0;
	if (p.kind == PR_MATCH || p.kind == PR_ENT)
		used[1] = NULL; /* one NSEC proves it */
	ttl = (uint32_t)HF_MIN(used[0]->expires - now_s,
			       used[1] ? used[1]->expires - now_s : UINT32_MAX);
	len = HF_DNS_HDR_LEN + qlen + 4;
	if (len > size)
		return hf_error(HF_ESPACE);
	memset(out, 0, HF_DNS_HDR_LEN);
	out[2] = 0x80; /* QR */
	out[3] = rcode;
	hf_put16(out + 4, 1);
	memcpy(out + HF_DNS_HDR_LEN, q, qlen);
	hf_put16(out + HF_DNS_HDR_LEN + qlen, qtype);
	hf_put16(out + HF_DNS_HDR_LEN + qlen + 2, HF_CLASS_IN);
	if ((k = put_rrs(used[0], true, ttl, out, size, &len)) < 0)
		return hf_error(HF_ESPACE);
	nrr += k;
	for (int i = 0; i < 2; i++) {
		if (!used[i])
			continue;
		if ((k = put_rrs(used[i], false, ttl, out, size, &len)) < 0)
			return hf_error(HF_ESPACE);
		nrr += k;
		lru_unlink(a, used[i]);
		lru_front(a, used[i]);
	}
	hf_put16(out + 8, (uint16_t)nrr);
	if (rcode == HF_RCODE_NXDOMAIN)
		a->nxdomain++;
	else
		a->nodata++;
	return (int)len;
}
