/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The chain of trust: verdicts and NEEDs, the walk from the closest trust
 * anchor down through the key cache to the keys of the zone that signed
 * the data, and the RRSIG checks with those keys. validator.c has the
 * overview.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "validator/val_internal.h"

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

/* The verdict a cached entry for the zone at name gives (a bogus one is
 * where the chain breaks: c->broken). */
static int from_entry(struct vc *c, const struct val_entry *e, const uint8_t *name, size_t len)
{
	int r = e->state == VAL_ST_BOGUS      ? R_BOGUS
		: e->state == VAL_ST_INSECURE ? R_INSECURE
					      : R_INDET;
	if (r == R_BOGUS) {
		c->broken = name;
		c->broken_len = len;
	}
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

/* ---- NTAs ---- */

bool val_nta(struct vc *c, const uint8_t *name, size_t len)
{
	return c->v->conf.nta && c->v->conf.nta(c->v->conf.nta_arg, name, len, c->now);
}

/* ---- the chain: keys of the deepest secure zone at or above name ---- */

int val_zone_keys(struct vc *c, const uint8_t *name, size_t len, struct val_entry **out)
{
	struct val_cache *cache = &c->v->cache;
	struct val_entry *zone, *e;
	unsigned total = hf_dns_name_labels(name, len);
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
			return from_entry(c, zone, name + off, len - off);
	}
	for (unsigned l = (unsigned)al + 1; l <= total; l++) {
		size_t off = val_name_suffix(name, len, l);
		e = val_cache_get(cache, name + off, len - off, VAL_KIND_DS, c->now);
		if (!e)
			return need(c, name + off, len - off, HF_TYPE_DS);
		if (e->state == VAL_ST_NOCUT)
			continue;
		if (e->state != VAL_ST_SECURE)
			return from_entry(c, e, name + off, len - off);
		e = val_cache_get(cache, name + off, len - off, VAL_KIND_KEY, c->now);
		if (!e)
			return need(c, name + off, len - off, HF_TYPE_DNSKEY);
		if (e->state != VAL_ST_SECURE)
			return from_entry(c, e, name + off, len - off);
		zone = e;
	}
	*out = zone;
	return R_SECURE;
}

/* ---- RRSIG checks ---- */

struct sig_fail {
	int rank; /* 0 none, 1 unsupported alg, 2 no key, 3 bad signature, 4 time */
	uint16_t ede;
	const struct val_rrset *set; /* the RRset the text names */
	char text[HF_VAL_TEXT_MAX];
};

/* "<owner> <type>" of an RRset, for a text: only made on the way to a
 * failure (a secure answer formats nothing). */
static int set_what(const struct val_rrset *set, char *buf, size_t size)
{
	char on[64], tb[16];

	val_name_str(set->owner, set->owner_len, on, sizeof(on));
	val_type_str(set->type, tb, sizeof(tb));
	return snprintf(buf, size, "%s %s", on, tb);
}

/* A failure of rank: kept, with its text (the RRset's owner and type, then
 * fmt), when it beats the one so far. */
static void fail(struct sig_fail *f, int rank, uint16_t ede, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct sig_fail *f, int rank, uint16_t ede, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (rank <= f->rank)
		return;
	f->rank = rank;
	f->ede = ede;
	n = set_what(f->set, f->text, sizeof(f->text));
	if (n < 0 || (size_t)n >= sizeof(f->text))
		return;
	va_start(ap, fmt);
	vsnprintf(f->text + n, sizeof(f->text) - (size_t)n, fmt, ap);
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
	struct sig_fail f = {0, HF_EDE_RRSIGS_MISSING, set, ""};
	unsigned tries = 0;

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
			fail(&f, 3, HF_EDE_DNSSEC_BOGUS, " %u: RRSIG labels %u > owner's", tag,
			     labels);
			continue;
		}
		if (!hf_val_alg_supported(alg)) {
			fail(&f, 1, HF_EDE_UNSUPPORTED_DNSKEY_ALG, " %u: algorithm %u unsupported",
			     tag, alg);
			continue;
		}
		for (unsigned k = 0; k < nkeys; k++) {
			int ok;
			if (keys[k].tag != tag || keys[k].alg != alg)
				continue;
			matched = true;
			if (tries >= VAL_SIG_TRIES || c->verifies >= v->conf.max_verifies) {
				fail(&f, 3, HF_EDE_DNSSEC_BOGUS, ": too many signatures to check");
				break;
			}
			tries++;
			if (dlen < 0) {
				dlen = val_signed_data(m, c->s, set, (uint16_t)j, v->sbuf, VAL_SBUF,
						       v->cbuf, VAL_CBUF);
				if (dlen < 0) {
					fail(&f, 3, HF_EDE_DNSSEC_BOGUS, " %u: malformed RRset",
					     tag);
					break;
				}
			}
			v->st.sig_verifies++;
			c->verifies++;
			/* the key's verify context is made on first use: the keys
			 * are the key cache's or the caller's own, never const */
			ok = val_verify(&v->cr, (struct val_key *)&keys[k], v->sbuf, (size_t)dlen,
					sig, sig_len);
			if (ok != 1) {
				fail(&f, 3, HF_EDE_DNSSEC_BOGUS,
				     " %u alg %u: signature does not verify", tag, alg);
				continue;
			}
			if (val_serial_lt(exp, inc)) {
				fail(&f, 3, HF_EDE_DNSSEC_BOGUS,
				     " %u alg %u: expiration before inception", tag, alg);
				continue;
			}
			if (val_serial_lt(c->now32 + v->conf.clock_skew, inc)) {
				char ts[32];
				time_str(inc, c->now, ts, sizeof(ts));
				fail(&f, 4, HF_EDE_SIGNATURE_NOT_YET_VALID,
				     " %u alg %u: signature not valid before %s", tag, alg, ts);
				continue;
			}
			if (val_serial_lt(exp, c->now32 - v->conf.clock_skew)) {
				char ts[32];
				time_str(exp, c->now, ts, sizeof(ts));
				fail(&f, 4, HF_EDE_SIGNATURE_EXPIRED,
				     " %u alg %u: signature expired %s", tag, alg, ts);
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
			fail(&f, 2, HF_EDE_DNSKEY_MISSING, ": no DNSKEY %u alg %u in %s", tag, alg,
			     zn);
		}
		if (tries >= VAL_SIG_TRIES || c->verifies >= v->conf.max_verifies)
			break;
	}
	if (f.rank == 0) {
		char zn[64], what[96];
		val_name_str(zone, zone_len, zn, sizeof(zn));
		set_what(set, what, sizeof(what));
		return val_verdict(c, R_BOGUS, HF_EDE_RRSIGS_MISSING, "%s: no RRSIG by %s", what,
				   zn);
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
