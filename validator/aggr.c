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
	bool is3; /* an NSEC3 (in root3; no next name or bitmap offsets) */
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

static struct val_aggr_node **root_of(struct val_aggr *a, bool is3)
{
	return is3 ? &a->root3 : &a->root;
}

static void drop(struct val_aggr *a, struct val_aggr_node *n)
{
	struct val_aggr_node **root = root_of(a, n->is3);

	*root = t_remove(*root, n);
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

/* Keep the NSEC or NSEC3 RRset set at owner (an NSEC's next name and
 * bitmap length given, to check its first RR against) with the SOA's RRs. */
static void keep_set(struct vc *c, const struct val_entry *z, const struct val_rrset *set,
		     const uint8_t *next, size_t next_len, size_t bm_len, const uint8_t *soa,
		     size_t soa_len, uint8_t soa_rrs, uint32_t ttl)
{
	struct val_aggr *a = &c->v->aggr;
	struct val_aggr_node **root = root_of(a, set->type == HF_TYPE_NSEC3), *n, *old;
	uint8_t buf[AGGR_DATA_MAX];
	size_t head = z->name_len + set->owner_len + next_len;
	uint8_t nrrs;
	int w;

	if (head + soa_len > sizeof(buf))
		return;
	w = put_set(c, set, buf, sizeof(buf) - soa_len, &nrrs, &ttl);
	/* an NSEC's first RR's RDATA must be the view's next name and bitmap
	 * (one with a compressed next name is not kept) */
	if (w < 0 || ttl == 0 || (next && hf_get16(buf + set->owner_len + 8) != next_len + bm_len))
		return;
	n = malloc(sizeof(*n) + head + (size_t)w + soa_len);
	if (!n)
		return;
	memset(n, 0, sizeof(*n));
	n->is3 = set->type == HF_TYPE_NSEC3;
	n->zone_len = z->name_len;
	n->owner_len = set->owner_len;
	n->next_len = (uint8_t)next_len;
	memcpy(n->data, z->name, z->name_len);
	memcpy(n->data + z->name_len, set->owner, set->owner_len);
	if (next_len)
		memcpy(n->data + z->name_len + set->owner_len, next, next_len);
	n->rr_off = (uint16_t)head;
	n->nsec_len = (uint16_t)w;
	n->nsec_rrs = nrrs;
	memcpy(n->data + head, buf, (size_t)w);
	memcpy(n->data + head + w, soa, soa_len);
	n->soa_len = (uint16_t)soa_len;
	n->soa_rrs = soa_rrs;
	/* an NSEC's bitmap: in the first RR's RDATA, behind the next name */
	n->bm_off = (uint16_t)(head + set->owner_len + 10u + next_len);
	n->bm_len = (uint16_t)bm_len;
	n->expires = c->now + ttl;
	n->prio = next_prio(a);
	old = t_floor(*root, n_zone(n), n->zone_len, n_owner(n), n->owner_len);
	if (old && key_cmp(n_zone(n), n->zone_len, n_owner(n), n->owner_len, old) == 0)
		drop(a, old);
	if (a->count >= a->cap && a->tail) {
		drop(a, a->tail);
		a->evictions++;
	}
	*root = t_insert(*root, n);
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

	if (c->v->aggr.cap == 0 || !soa || soa->nsig == 0 || c->nnsec + c->nnsec3 == 0 ||
	    !hf_dns_name_equal(soa->owner, soa->owner_len, z->name, z->name_len))
		return;
	rr = &c->m->rr[soa->rr_head];
	if (rr->rdlen < 22)
		return;
	/* RFC 9077: no longer than the SOA's TTL and MINIMUM (nor our cap) */
	ttl = HF_MIN(hf_get32(c->m->wire + rr->rdata_off + rr->rdlen - 4), c->v->conf.aggr_ttl_max);
	w = put_set(c, soa, buf, sizeof(buf), &n, &ttl);
	if (w < 0)
		return;
	for (unsigned i = 0; i < c->nnsec; i++)
		keep_set(c, z, c->nsec[i].set, c->nsec[i].next, c->nsec[i].next_len,
			 c->nsec[i].bm_len, buf, (size_t)w, n, ttl);
	for (unsigned i = 0; i < c->nnsec3; i++)
		keep_set(c, z, c->nsec3[i].set, NULL, 0, 0, buf, (size_t)w, n, ttl);
}

/* ---- synthesis ---- */

#define AGGR_USED 4 /* records one answer uses: NSEC3 NXDOMAIN takes three */

/* One synthesis: the zone, and the records the proof used. */
struct synth {
	struct val_aggr *a;
	const uint8_t *zone;
	size_t zlen;
	unsigned zl; /* the zone's labels */
	uint64_t now;
	struct val_aggr_node *used[AGGR_USED];
	unsigned nused;
};

static void use(struct synth *x, struct val_aggr_node *n)
{
	for (unsigned i = 0; i < x->nused; i++)
		if (x->used[i] == n)
			return;
	if (x->nused < AGGR_USED)
		x->used[x->nused++] = n;
}

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

static bool view3_of(const struct val_aggr_node *n, struct nsec3_view *v)
{
	const uint8_t *rd = n->data + n->rr_off + n->owner_len + 10;

	v->set = NULL;
	return val_nsec3_view(n_owner(n), n->owner_len, n_zone(n), n->zone_len, rd,
			      hf_get16(rd - 2), v);
}

/* The live entry of zone (z, zl) that is the floor of name, or NULL. */
static struct val_aggr_node *floor_in(struct val_aggr *a, bool is3, const uint8_t *z, size_t zl,
				      const uint8_t *name, size_t len, uint64_t now)
{
	struct val_aggr_node *n = t_floor(*root_of(a, is3), z, zl, name, len);

	if (!n || !hf_dns_name_equal(n_zone(n), n->zone_len, z, zl))
		return NULL;
	if (n->expires <= now) {
		drop(a, n);
		return NULL;
	}
	return n;
}

/* The deepest zone at or above q with a live record at or below `at`
 * (at NULL: q itself): its floor record, the zone in x. */
static struct val_aggr_node *find_zone(struct synth *x, bool is3, const uint8_t *q, size_t qlen,
				       const uint8_t *(*at)(const uint8_t *, size_t, uint8_t *,
							    size_t *))
{
	uint8_t name[HF_DNS_NAME_MAX];
	size_t nlen;

	for (unsigned l = val_name_labels(q, qlen) + 1; l-- > 0;) {
		size_t off = val_name_suffix(q, qlen, l);
		const uint8_t *k = at(q + off, qlen - off, name, &nlen);
		struct val_aggr_node *n;
		if (!k) {
			k = q;
			nlen = qlen;
		}
		n = floor_in(x->a, is3, q + off, qlen - off, k, nlen, x->now);
		if (n) {
			x->zone = q + off;
			x->zlen = qlen - off;
			x->zl = l;
			return n;
		}
	}
	return NULL;
}

/* NSEC3 owner <b32hex(h)>.zone into out. */
static size_t n3_owner(const uint8_t h[20], const uint8_t *zone, size_t zlen, uint8_t *out)
{
	static const char al[] = "0123456789abcdefghijklmnopqrstuv";
	uint64_t acc = 0;
	unsigned bits = 0;
	size_t n = 1;

	if (33 + zlen > HF_DNS_NAME_MAX)
		return 0;
	for (int i = 0; i < 20; i++) {
		acc = (acc << 8) | h[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = (uint8_t)al[(acc >> bits) & 31];
		}
	}
	out[0] = 32;
	memcpy(out + 33, zone, zlen);
	return 33 + zlen;
}

/* find_zone's key for NSEC: the name itself. */
static const uint8_t *at_name(const uint8_t *zone, size_t zlen, uint8_t *buf, size_t *len)
{
	(void)zone;
	(void)zlen;
	(void)buf;
	(void)len;
	return NULL;
}

/* find_zone's key for NSEC3: the greatest owner a zone can have. */
static const uint8_t *at_n3_max(const uint8_t *zone, size_t zlen, uint8_t *buf, size_t *len)
{
	static const uint8_t ff[20] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	*len = n3_owner(ff, zone, zlen, buf);
	return *len ? buf : NULL;
}

/* NSEC: the record at or before q, then the one for the wildcard. */
static void prove_nsec(struct vc *c, struct synth *x, const uint8_t *q, size_t qlen, uint16_t qtype,
		       struct proof *p)
{
	struct val_aggr_node *n = find_zone(x, false, q, qlen, at_name), *w;
	uint8_t wn[HF_DNS_NAME_MAX];
	size_t wlen;

	memset(p, 0, sizeof(*p));
	if (!n)
		return;
	use(x, n);
	c->nnsec = 1;
	view_of(n, &c->nsec[0]);
	val_nsec_prove(c, q, qlen, qtype, x->zl, p);
	if (p->kind == PR_NX_NOWILD &&
	    (wlen = val_nsec_wildcard(&c->nsec[0], q, qlen, x->zl, wn)) > 0 &&
	    (w = floor_in(x->a, false, x->zone, x->zlen, wn, wlen, x->now)) != NULL && w != n) {
		use(x, w);
		c->nnsec = 2;
		view_of(w, &c->nsec[1]);
		val_nsec_prove(c, q, qlen, qtype, x->zl, p);
	}
	if (p->kind == PR_MATCH || p->kind == PR_ENT)
		x->nused = 1; /* one NSEC proves it */
}

static bool same_params(const struct nsec3_view *a, const struct nsec3_view *b)
{
	return a->iter == b->iter && a->salt_len == b->salt_len &&
	       memcmp(a->salt, b->salt, a->salt_len) == 0;
}

/* NSEC3 proof look-ups (c->n3_find): the kept record matching or covering
 * h, in the zone's parameters; it becomes one the answer uses. */
static const struct nsec3_view *n3_find(struct vc *c, const uint8_t h[20], bool cover)
{
	struct synth *x = c->n3_arg;
	uint8_t owner[HF_DNS_NAME_MAX], top[HF_DNS_NAME_MAX];
	size_t ol = n3_owner(h, x->zone, x->zlen, owner), tl;
	struct val_aggr_node *n;
	struct nsec3_view *v = &c->nsec3[c->nnsec3];

	if (ol == 0 || c->nnsec3 >= VAL_MAX_DENY)
		return NULL;
	n = floor_in(x->a, true, x->zone, x->zlen, owner, ol, x->now);
	if (!n && cover && at_n3_max(x->zone, x->zlen, top, &tl)) /* the last one wraps */
		n = floor_in(x->a, true, x->zone, x->zlen, top, tl, x->now);
	if (!n || !view3_of(n, v) || !same_params(v, &c->nsec3[0]) ||
	    (cover ? !val_nsec3_covers(v, h) : memcmp(v->hash, h, 20) != 0))
		return NULL;
	c->nnsec3++;
	use(x, n);
	return v;
}

/* NSEC3: the proof walks the kept records through n3_find. */
static void prove_nsec3(struct vc *c, struct synth *x, const uint8_t *q, size_t qlen,
			uint16_t qtype, struct proof *p)
{
	struct val_aggr_node *n = find_zone(x, true, q, qlen, at_n3_max);

	memset(p, 0, sizeof(*p));
	x->nused = 0;
	if (!n || !view3_of(n, &c->nsec3[0])) /* the zone's parameters */
		return;
	c->nnsec3 = 1;
	c->n3_find = n3_find;
	c->n3_arg = x;
	val_nsec3_prove(c, q, qlen, qtype, x->zl, p);
	c->n3_find = NULL;
	c->n3_arg = NULL;
}

/* What a proof allows: NXDOMAIN, NOERROR (NODATA) or -1 (nothing). */
static int verdict(const struct proof *p)
{
	if (p->kind == PR_NX)
		return HF_RCODE_NXDOMAIN;
	if ((p->kind == PR_MATCH && !p->has_type && !p->has_cname && !(p->has_ns && !p->has_soa)) ||
	    p->kind == PR_ENT || p->kind == PR_WILD_NODATA)
		return HF_RCODE_NOERROR;
	return -1;
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

/* The response: header, question, the SOA of used[0], every used record. */
static int write_answer(struct synth *x, const uint8_t *q, size_t qlen, uint16_t qtype,
			uint8_t rcode, uint8_t *out, size_t size)
{
	uint64_t left = UINT32_MAX;
	size_t len = HF_DNS_HDR_LEN + qlen + 4;
	int nrr, k;

	for (unsigned i = 0; i < x->nused; i++)
		left = HF_MIN(left, x->used[i]->expires - x->now);
	if (len > size)
		return hf_error(HF_ESPACE);
	memset(out, 0, HF_DNS_HDR_LEN);
	out[2] = 0x80; /* QR */
	out[3] = rcode;
	hf_put16(out + 4, 1);
	memcpy(out + HF_DNS_HDR_LEN, q, qlen);
	hf_put16(out + HF_DNS_HDR_LEN + qlen, qtype);
	hf_put16(out + HF_DNS_HDR_LEN + qlen + 2, HF_CLASS_IN);
	if ((nrr = put_rrs(x->used[0], true, (uint32_t)left, out, size, &len)) < 0)
		return hf_error(HF_ESPACE);
	for (unsigned i = 0; i < x->nused; i++) {
		if ((k = put_rrs(x->used[i], false, (uint32_t)left, out, size, &len)) < 0)
			return hf_error(HF_ESPACE);
		nrr += k;
		lru_unlink(x->a, x->used[i]);
		lru_front(x->a, x->used[i]);
	}
	hf_put16(out + 8, (uint16_t)nrr);
	return (int)len;
}

int hf_val_synth(struct hf_val *v, const uint8_t *qname, size_t qlen, uint16_t qtype,
		 uint64_t now_s, uint8_t *out, size_t size)
{
	struct synth x = {.a = &v->aggr, .now = now_s};
	struct hf_val_result res;
	struct hf_val_need need;
	struct val_entry *keys;
	uint8_t q[HF_DNS_NAME_MAX];
	struct vc *c = v->call;
	struct proof p;
	int rcode, n;

	if (x.a->count == 0 || qlen == 0 || qlen > HF_DNS_NAME_MAX || qtype == HF_TYPE_DS ||
	    qtype == HF_TYPE_ANY || qtype == HF_TYPE_RRSIG || qtype == HF_TYPE_NSEC ||
	    qtype == HF_TYPE_NSEC3)
		return 0;
	memcpy(q, qname, qlen);
	hf_dns_name_lower(q, qlen);
	val_call_init(c, v, NULL, now_s, &res, &need);
	if (val_nta(c, q, qlen) || val_anchor_zone(v, q, qlen) < 0)
		return 0;
	prove_nsec(c, &x, q, qlen, qtype, &p);
	if (verdict(&p) < 0)
		prove_nsec3(c, &x, q, qlen, qtype, &p);
	rcode = verdict(&p);
	if (rcode < 0 || x.nused == 0)
		return 0;
	/* only while the zone's keys are still known secure (not bogus since) */
	keys = val_cache_get(&v->cache, x.zone, x.zlen, VAL_KIND_KEY, now_s);
	if (!keys || keys->state != VAL_ST_SECURE)
		return 0;
	n = write_answer(&x, q, qlen, qtype, (uint8_t)rcode, out, size);
	if (n > 0 && rcode == HF_RCODE_NXDOMAIN)
		x.a->nxdomain++;
	else if (n > 0)
		x.a->nodata++;
	return n;
}
