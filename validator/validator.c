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
 *
 * This file: the answer (hf_val_validate) and the context. The rest of the
 * validator: chain.c (verdicts, the walk down the chain, RRSIG checks),
 * denial.c (NSEC/NSEC3 proofs), keys.c (hf_val_add_keys), anchor.c (trust
 * anchors), keycache.c (the key cache), canon.c (RRsets, canonical form),
 * crypto.c (OpenSSL); val_internal.h is what they share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validator/val_internal.h"

#define VAL_MAX_HOPS 12 /* CNAME/DNAME chain */

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

	/* the texts only on the way to a verdict that is not secure */
	if (set->nsig == 0 || !val_set_signer(c, set, signer, &slen)) {
		val_name_str(set->owner, set->owner_len, on, sizeof(on));
		val_type_str(set->type, tb, sizeof(tb));
		snprintf(what, sizeof(what), "%s %s", on, tb);
		return check_unsigned(c, set->owner, set->owner_len, set->type, what);
	}
	r = val_zone_keys(c, signer, slen, &z);
	if (r != R_SECURE)
		return r;
	if (!hf_dns_name_equal(z->name, z->name_len, signer, slen)) {
		char sn[64];
		val_name_str(set->owner, set->owner_len, on, sizeof(on));
		val_type_str(set->type, tb, sizeof(tb));
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

/* A denial proven secure: its NSEC records are kept for RFC 8198. */
static int denied(struct vc *c, const struct val_entry *z, const struct val_rrset *soa)
{
	val_aggr_keep(c, z, soa);
	return R_SECURE;
}

/* The denial being checked, and its "<name> <type> NXDOMAIN|NODATA" for
 * the texts, made on first use (a secure denial formats nothing). */
struct denial {
	const uint8_t *sname;
	size_t slen;
	uint16_t qtype;
	bool nx;
	char what[96];
};

static const char *denial_what(struct denial *d)
{
	char on[64], tb[16];

	if (d->what[0] == 0) {
		val_name_str(d->sname, d->slen, on, sizeof(on));
		val_type_str(d->qtype, tb, sizeof(tb));
		snprintf(d->what, sizeof(d->what), "%s %s %s", on, tb,
			 d->nx ? "NXDOMAIN" : "NODATA");
	}
	return d->what;
}

/* NXDOMAIN (nx) or NODATA for (sname, qtype). */
static int check_denial(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype, bool nx)
{
	uint8_t zone[HF_DNS_NAME_MAX];
	size_t zlen;
	const struct val_rrset *soa = find_soa(c, sname, slen);
	struct val_entry *z;
	struct proof p;
	struct denial d = {sname, slen, qtype, nx, ""};
	int r;

	if (!val_deny_signer(c, sname, slen, qtype == HF_TYPE_DS, zone, &zlen)) {
		/* nothing signed: fine in an insecure zone, else RRSIGs missing */
		if (soa && (qtype != HF_TYPE_DS || soa->owner_len < slen))
			return check_unsigned(c, soa->owner, soa->owner_len, 0, denial_what(&d));
		return check_unsigned(c, sname, slen, qtype, denial_what(&d));
	}
	r = val_zone_keys(c, zone, zlen, &z);
	if (r != R_SECURE)
		return r;
	if (!hf_dns_name_equal(z->name, z->name_len, zone, zlen))
		return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS, "%s: signer is not a zone",
				   denial_what(&d));
	if (soa) {
		if (soa->nsig == 0)
			return val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING,
					   "%s: SOA without RRSIG", denial_what(&d));
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
					   "%s: NSEC without RRSIG", denial_what(&d));
		return val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING, "%s: no NSEC/NSEC3 proof",
				   denial_what(&d));
	}
	val_prove(c, sname, slen, qtype, z, &p);
	switch (p.kind) {
	case PR_ITER:
		return val_verdict(c, R_INSECURE, HF_EDE_UNSUPPORTED_NSEC3_ITER,
				   "%s: NSEC3 iterations %u > %u", denial_what(&d),
				   c->nsec3[0].iter, c->v->conf.nsec3_max_iterations);
	case PR_OPTOUT:
		/* RFC 5155 9.2: opt-out leaves room for an unsigned delegation */
		return val_verdict(c, R_INSECURE, HF_EDE_NONE, NULL);
	case PR_NX:
		if (nx)
			return denied(c, z, soa);
		break;
	case PR_MATCH:
		if (nx)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: NSEC says the name exists", denial_what(&d));
		if (p.has_type || p.has_cname)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: NSEC says the type exists", denial_what(&d));
		if (qtype != HF_TYPE_DS && p.has_ns && !p.has_soa)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: NSEC from the parent side of a delegation",
					   denial_what(&d));
		if (qtype == HF_TYPE_DS && p.has_soa && hf_dns_name_labels(sname, slen) > 0)
			return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
					   "%s: DS denial from the child zone", denial_what(&d));
		return denied(c, z, soa);
	case PR_ENT:
	case PR_WILD_NODATA:
		if (!nx)
			return denied(c, z, soa);
		break;
	case PR_WILD_EXISTS:
		return val_verdict(c, R_BOGUS, HF_EDE_DNSSEC_BOGUS,
				   "%s: a wildcard should have answered", denial_what(&d));
	default:
		break;
	}
	return val_verdict(c, R_BOGUS, HF_EDE_NSEC_MISSING, "%s: NSEC/NSEC3 do not prove it",
			   denial_what(&d));
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
	c->broken = NULL;
	c->broken_len = 0;
	c->n3_find = NULL;
	c->n3_arg = NULL;
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
	conf->aggr_entries = 16384;
	conf->aggr_ttl_max = 86400;
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
	val_aggr_init(&v->aggr, v->conf.aggr_entries);
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
	val_aggr_flush_below(&v->aggr, NULL, 0);
	val_cache_free(&v->cache);
	val_crypto_free(&v->cr);
	free(v->sbuf);
	free(v->cbuf);
	free(v->call);
	free(v);
}

void hf_val_set_nta(struct hf_val *v, hf_val_nta_fn fn, void *arg)
{
	v->conf.nta = fn;
	v->conf.nta_arg = arg;
}

void hf_val_flush(struct hf_val *v)
{
	val_cache_flush(&v->cache);
	val_aggr_flush_below(&v->aggr, NULL, 0);
}

void hf_val_flush_name(struct hf_val *v, const uint8_t *name, size_t len)
{
	val_cache_flush_below(&v->cache, name, len);
	val_aggr_flush_below(&v->aggr, name, len);
}

bool hf_val_broken_zone(struct hf_val *v, const uint8_t *name, size_t len, uint64_t now_s,
			uint8_t *zone, size_t *zone_len)
{
	struct hf_val_result res;
	struct hf_val_need need;
	struct val_entry *z;
	uint8_t q[HF_DNS_NAME_MAX];
	struct vc *c = v->call;

	if (len == 0 || len > sizeof(q))
		return false;
	memcpy(q, name, len);
	hf_dns_name_lower(q, len);
	val_call_init(c, v, NULL, now_s, &res, &need);
	if (val_zone_keys(c, q, len, &z) != R_BOGUS || c->broken == NULL)
		return false;
	memcpy(zone, c->broken, c->broken_len);
	*zone_len = c->broken_len;
	return true;
}

void hf_val_get_stats(const struct hf_val *v, struct hf_val_stats *st)
{
	*st = v->st;
	st->cache_hits = v->cache.hits;
	st->cache_misses = v->cache.misses;
	st->cache_evictions = v->cache.evictions;
	st->aggr_entries = v->aggr.count;
	st->aggr_evictions = v->aggr.evictions;
	st->aggr_nxdomain = v->aggr.nxdomain;
	st->aggr_nodata = v->aggr.nodata;
}
