/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key fetches: hf_val_add_keys() checks a DNSKEY response against the DS
 * set or trust anchor, a DS response (or its denial) against the parent's
 * keys, and stores the outcome in the key cache. validator.c has the
 * overview.
 */
#include <stdlib.h>
#include <string.h>

#include "validator/val_internal.h"

#define VAL_INDET_TTL 5 /* s an upstream failure while fetching keys is remembered */

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
		ksk[nksk].pctx = NULL;
		ksk[nksk].mctx = NULL;
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
		keys[nkeys].pctx = NULL;
		keys[nkeys].mctx = NULL;
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
		val_key_free(&ksk[i]);
	store_r(c, name, len, VAL_KIND_KEY, r, v->conf.insecure_ttl);
	free(t);
	return 0;
}

static int add_ds(struct vc *c, const uint8_t *name, size_t len)
{
	struct hf_val *v = c->v;
	const struct hf_dns_msg *m = c->m;
	unsigned total = hf_dns_name_labels(name, len);
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
