/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store of RFC 8198 (aggressive use of the DNSSEC-validated cache, TTLs
 * as RFC 9077 corrects them) and the answers synthesized from it: the NSEC
 * and NSEC3 records of secure negative answers, kept with their RRSIGs and
 * the zone's signed SOA, and the NXDOMAIN/NODATA responses they prove for
 * names never asked before. Bytes in, bytes out: which records are kept is
 * the validator's business (aggr.c), so this part is shared by control's
 * validator and the workers' per-core copies (validator/hf_aggr.h).
 *
 * The index is a treap (a binary search tree whose nodes also carry random
 * priorities, kept heap-ordered: expected O(log n) depth whatever the order
 * of inserts), ordered by (zone, owner) in RFC 4034 canonical order, so the
 * NSEC that may cover a name is the floor of (zone, name). The entries are
 * also on an LRU list: at cap entries the least recently used goes, and an
 * entry past its lifetime is dropped when a look-up meets it. One thread
 * only: control's validator, or one worker's copy (docs/decisions.md, "RFC
 * 8198: a treap per validator, not rte_hash", "RFC 8198 on the cores").
 *
 * Control's entries are malloc()ed one by one; a worker's come from a pool
 * of fixed slots allocated at start-up (no allocation per packet or per
 * message), and a record larger than a slot is not copied.
 */
#include <stdlib.h>
#include <string.h>

#include "validator/hf_aggr.h"
#include "validator/val_internal.h"

/* One NSEC RRset of zone `zone` at `owner`, with what a synthesized answer
 * needs: h, then data[] (struct val_aggr_rec). */
struct val_aggr_node {
	struct val_aggr_node *l, *r;   /* treap; l also links a pool's free slots */
	struct val_aggr_node *up, *dn; /* LRU: up is more recent */
	uint32_t prio;
	uint64_t drop_at;      /* s: gone from here on (expiry, or the zone's keys') */
	struct val_aggr_rec h; /* exported with data[] as one record */
	uint8_t data[];
};

_Static_assert(offsetof(struct val_aggr_node, data) ==
		       offsetof(struct val_aggr_node, h) + sizeof(struct val_aggr_rec),
	       "a record is h and data[] back to back");

static const uint8_t *n_zone(const struct val_aggr_node *n)
{
	return n->data;
}

static const uint8_t *n_owner(const struct val_aggr_node *n)
{
	return n->data + n->h.zone_len;
}

static const uint8_t *n_next(const struct val_aggr_node *n)
{
	return n->data + n->h.zone_len + n->h.owner_len;
}

static int key_cmp(const uint8_t *z, size_t zl, const uint8_t *o, size_t ol,
		   const struct val_aggr_node *n)
{
	int c = hf_val_name_cmp(z, zl, n_zone(n), n->h.zone_len);
	return c ? c : hf_val_name_cmp(o, ol, n_owner(n), n->h.owner_len);
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
	if (key_cmp(n_zone(key), key->h.zone_len, n_owner(key), key->h.owner_len, t) > 0) {
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
	if (key_cmp(n_zone(n), n->h.zone_len, n_owner(n), n->h.owner_len, t) < 0)
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
	c = key_cmp(n_zone(n), n->h.zone_len, n_owner(n), n->h.owner_len, t);
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
	struct val_aggr_node **root = root_of(a, n->h.is3);

	*root = t_remove(*root, n);
	lru_unlink(a, n);
	a->count--;
	if (a->pool) { /* back to the pool's free slots */
		n->l = a->free;
		a->free = n;
	} else {
		free(n);
	}
}

void val_aggr_init(struct val_aggr *a, uint32_t cap)
{
	memset(a, 0, sizeof(*a));
	a->cap = cap;
	a->rnd = 0x9e3779b97f4a7c15ull;
}

int val_aggr_init_pool(struct val_aggr *a, uint32_t cap, uint32_t slot)
{
	val_aggr_init(a, cap);
	if (cap == 0 || slot < sizeof(struct val_aggr_node) || slot % 8 != 0)
		return hf_error(HF_EINVAL);
	a->pool = calloc(cap, slot);
	if (!a->pool)
		return hf_error(HF_ENOMEM);
	a->slot = slot;
	for (uint32_t i = cap; i-- > 0;) {
		struct val_aggr_node *n =
			(struct val_aggr_node *)(void *)(a->pool + (size_t)i * slot);
		n->l = a->free;
		a->free = n;
	}
	return 0;
}

void val_aggr_fini(struct val_aggr *a)
{
	val_aggr_flush_below(a, NULL, 0);
	free(a->pool);
	a->pool = NULL;
	a->free = NULL;
}

void val_aggr_flush_below(struct val_aggr *a, const uint8_t *name, size_t len)
{
	struct val_aggr_node *n = a->head, *dn;

	for (; n; n = dn) {
		dn = n->dn;
		if (!name || hf_dns_name_is_sub(n_zone(n), n->h.zone_len, name, len) ||
		    hf_dns_name_is_sub(n_owner(n), n->h.owner_len, name, len))
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

/* A node for data_len bytes: malloc()ed, or a pool's free slot (NULL: none). */
static struct val_aggr_node *alloc_node(struct val_aggr *a, size_t data_len)
{
	struct val_aggr_node *n;

	if (!a->pool)
		return malloc(sizeof(*n) + data_len);
	if (sizeof(*n) + data_len > a->slot || !a->free)
		return NULL;
	n = a->free;
	a->free = n->l;
	return n;
}

int val_aggr_put(struct val_aggr *a, const struct val_aggr_rec *h, const uint8_t *data,
		 uint64_t drop_at)
{
	struct val_aggr_node **root = root_of(a, h->is3), *n, *old;
	size_t head = (size_t)h->zone_len + h->owner_len + h->next_len;

	if (a->cap == 0 || head > h->rr_off ||
	    (size_t)h->rr_off + h->nsec_len + h->soa_len > h->data_len ||
	    (size_t)h->bm_off + h->bm_len > h->data_len)
		return hf_error(HF_EINVAL);
	if (a->pool && sizeof(*n) + h->data_len > a->slot)
		return hf_error(HF_ESPACE); /* larger than a slot: not copied */
	/* the one of the same key goes first, then the least recently used
	 * when full, so a pool always has a slot for it */
	old = t_floor(*root, data, h->zone_len, data + h->zone_len, h->owner_len);
	if (old && key_cmp(data, h->zone_len, data + h->zone_len, h->owner_len, old) == 0) {
		if (old->h.data_len == h->data_len && memcmp(old->data, data, h->data_len) == 0) {
			/* the same record again (each answer the NSEC covers
			 * brings it): only its times and its place in the LRU */
			old->h = *h;
			old->drop_at = drop_at;
			lru_unlink(a, old);
			lru_front(a, old);
			return 0;
		}
		drop(a, old);
	}
	if (a->count >= a->cap && a->tail) {
		drop(a, a->tail);
		a->evictions++;
	}
	n = alloc_node(a, h->data_len);
	if (!n)
		return hf_error(HF_ENOMEM);
	memset(n, 0, sizeof(*n));
	n->h = *h;
	memcpy(n->data, data, h->data_len);
	n->drop_at = drop_at;
	n->prio = next_prio(a);
	*root = t_insert(*root, n);
	lru_front(a, n);
	a->count++;
	return 0;
}

static void use(struct val_synth *x, struct val_aggr_node *n)
{
	for (unsigned i = 0; i < x->nused; i++)
		if (x->used[i] == n)
			return;
	if (x->nused < VAL_AGGR_USED)
		x->used[x->nused++] = n;
}

static void view_of(const struct val_aggr_node *n, struct nsec_view *v)
{
	v->owner = n_owner(n);
	v->owner_len = n->h.owner_len;
	memcpy(v->next, n_next(n), n->h.next_len);
	v->next_len = n->h.next_len;
	v->bm = n->data + n->h.bm_off;
	v->bm_len = n->h.bm_len;
	v->set = NULL;
}

static bool view3_of(const struct val_aggr_node *n, struct nsec3_view *v)
{
	const uint8_t *rd = n->data + n->h.rr_off + n->h.owner_len + 10;

	v->set = NULL;
	return val_nsec3_view(n_owner(n), n->h.owner_len, n_zone(n), n->h.zone_len, rd,
			      hf_get16(rd - 2), v);
}

/* The live entry of zone (z, zl) that is the floor of name, or NULL. */
static struct val_aggr_node *floor_in(struct val_aggr *a, bool is3, const uint8_t *z, size_t zl,
				      const uint8_t *name, size_t len, uint64_t now)
{
	struct val_aggr_node *n = t_floor(*root_of(a, is3), z, zl, name, len);

	if (!n || !hf_dns_name_equal(n_zone(n), n->h.zone_len, z, zl))
		return NULL;
	if (n->drop_at <= now) {
		drop(a, n);
		return NULL;
	}
	return n;
}

/* The deepest zone at or above q with a live record at or below `at`
 * (at NULL: q itself): its floor record, the zone in x. */
static struct val_aggr_node *find_zone(struct val_synth *x, bool is3, const uint8_t *q, size_t qlen,
				       const uint8_t *(*at)(const uint8_t *, size_t, uint8_t *,
							    size_t *))
{
	uint8_t name[HF_DNS_NAME_MAX];
	size_t nlen;

	for (unsigned l = hf_dns_name_labels(q, qlen) + 1; l-- > 0;) {
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
static void prove_nsec(struct vc *c, struct val_synth *x, const uint8_t *q, size_t qlen,
		       uint16_t qtype, struct proof *p)
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
	struct val_synth *x = c->n3_arg;
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
static void prove_nsec3(struct vc *c, struct val_synth *x, const uint8_t *q, size_t qlen,
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
	const uint8_t *p = n->data + n->h.rr_off + (soa ? n->h.nsec_len : 0u);
	size_t l = soa ? n->h.soa_len : n->h.nsec_len;
	unsigned cnt = soa ? n->h.soa_rrs : n->h.nsec_rrs;

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
	return (int)(soa ? n->h.soa_rrs : n->h.nsec_rrs);
}

/* The response: header, question, the SOA of used[0], every used record. */
static int write_answer(struct val_synth *x, const uint8_t *q, size_t qlen, uint16_t qtype,
			uint8_t rcode, uint8_t *out, size_t size)
{
	uint64_t left = UINT32_MAX;
	size_t len = HF_DNS_HDR_LEN + qlen + 4;
	int nrr, k;

	for (unsigned i = 0; i < x->nused; i++)
		left = HF_MIN(left, x->used[i]->h.expires - x->now);
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

bool val_aggr_qtype_ok(uint16_t qtype)
{
	return qtype != HF_TYPE_DS && qtype != HF_TYPE_ANY && qtype != HF_TYPE_RRSIG &&
	       qtype != HF_TYPE_NSEC && qtype != HF_TYPE_NSEC3;
}

int val_aggr_prove(struct vc *c, struct val_synth *x, const uint8_t *q, size_t qlen, uint16_t qtype,
		   bool nsec3)
{
	struct proof p;
	int rcode;

	prove_nsec(c, x, q, qlen, qtype, &p);
	if (verdict(&p) < 0 && nsec3)
		prove_nsec3(c, x, q, qlen, qtype, &p);
	rcode = verdict(&p);
	return rcode < 0 || x->nused == 0 ? -1 : rcode;
}

int val_aggr_write(struct val_synth *x, const uint8_t *q, size_t qlen, uint16_t qtype, int rcode,
		   uint8_t *out, size_t size)
{
	int n = write_answer(x, q, qlen, qtype, (uint8_t)rcode, out, size);

	if (n > 0 && rcode == HF_RCODE_NXDOMAIN)
		x->a->nxdomain++;
	else if (n > 0)
		x->a->nodata++;
	return n;
}

/* ---- a worker's copy (validator/hf_aggr.h) ---- */

struct hf_aggr {
	struct val_aggr a;
	struct vc c; /* the proof's scratch: NSEC views only */
};

struct hf_aggr *hf_aggr_create(uint32_t slots)
{
	struct hf_aggr *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (val_aggr_init_pool(&a->a, slots, HF_AGGR_SLOT) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

void hf_aggr_destroy(struct hf_aggr *a)
{
	if (!a)
		return;
	val_aggr_fini(&a->a);
	free(a);
}

bool hf_aggr_fits(size_t len)
{
	return offsetof(struct val_aggr_node, h) + len <= HF_AGGR_SLOT;
}

int hf_aggr_put(struct hf_aggr *a, const uint8_t *rec, size_t len, int64_t shift_s)
{
	struct val_aggr_rec h;
	int64_t exp, keys;

	if (len < sizeof(h))
		return hf_error(HF_EINVAL);
	memcpy(&h, rec, sizeof(h));
	if (h.is3 || len != sizeof(h) + h.data_len)
		return hf_error(HF_EINVAL); /* NSEC3 proofs stay on control */
	exp = (int64_t)h.expires + shift_s;
	keys = (int64_t)h.keys_expires + shift_s;
	if (exp <= 0 || keys <= 0)
		return hf_error(HF_EINVAL);
	h.expires = (uint64_t)exp;
	h.keys_expires = (uint64_t)keys;
	return val_aggr_put(&a->a, &h, rec + sizeof(h), (uint64_t)HF_MIN(exp, keys));
}

void hf_aggr_flush_below(struct hf_aggr *a, const uint8_t *name, size_t len)
{
	val_aggr_flush_below(&a->a, name, len);
}

void hf_aggr_flush_nta(struct hf_aggr *a, const uint8_t *name, size_t len)
{
	struct val_aggr_node *n = a->a.head, *dn;

	for (; n; n = dn) {
		dn = n->dn;
		if (hf_dns_name_on_path(n_zone(n), n->h.zone_len, name, len))
			drop(&a->a, n);
	}
}

void hf_aggr_get_stats(const struct hf_aggr *a, struct hf_aggr_stats *st)
{
	st->records = a->a.count;
	st->evictions = a->a.evictions;
	st->nxdomain = a->a.nxdomain;
	st->nodata = a->a.nodata;
}

int hf_aggr_synth(struct hf_aggr *a, const uint8_t *qname, size_t len, uint16_t qtype,
		  uint64_t now_s, uint8_t *out, size_t size)
{
	struct val_synth x = {.a = &a->a, .now = now_s};
	uint8_t q[HF_DNS_NAME_MAX];
	int rcode;

	if (a->a.count == 0 || len == 0 || len > HF_DNS_NAME_MAX || !val_aggr_qtype_ok(qtype))
		return 0;
	memcpy(q, qname, len);
	hf_dns_name_lower(q, len);
	a->c.nnsec = a->c.nnsec3 = 0;
	a->c.n3_find = NULL;
	rcode = val_aggr_prove(&a->c, &x, q, len, qtype, false);
	if (rcode < 0)
		return 0;
	return val_aggr_write(&x, q, len, qtype, rcode, out, size);
}

int hf_aggr_answer(const uint8_t *wire, size_t len, const struct hf_dns_answer_limits *lim,
		   struct hf_dns_msg *msg, uint8_t *out, size_t size)
{
	struct hf_dns_answer *a = (struct hf_dns_answer *)(void *)out;

	if (hf_dns_msg_parse(wire, len, msg) != 0 || hf_dns_answer_build(msg, lim, out, size) < 0)
		return hf_error(HF_EINVAL);
	a->security = HF_SECURITY_SECURE;
	a->ede = HF_EDE_SYNTHESIZED;
	return msg->rcode;
}
