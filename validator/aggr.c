/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 8198 in the validator: which records are kept (the NSEC and NSEC3
 * RRsets of secure negative answers, with their RRSIGs and the zone's
 * signed SOA; TTLs as RFC 9077 corrects them), handed to control as they
 * are kept (hf_val_keep_fn: control copies the NSECs to the workers), and
 * control's synthesis from them, which also asks what only the validator
 * knows: no NTA, a trust anchor above, the zone's keys still secure. The
 * store and the answer are aggr_store.c's, shared with the workers.
 */
#include <stddef.h>
#include <string.h>

#include "validator/val_internal.h"

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
 * bitmap length given, to check its first RR against) with the SOA's RRs,
 * and hand it to the keep hook. */
static void keep_set(struct vc *c, const struct val_entry *z, const struct val_rrset *set,
		     const uint8_t *next, size_t next_len, size_t bm_len, const uint8_t *soa,
		     size_t soa_len, uint8_t soa_rrs, uint32_t ttl)
{
	struct val_aggr *a = &c->v->aggr;
	struct {
		struct val_aggr_rec h;
		uint8_t data[3 * HF_DNS_NAME_MAX + VAL_AGGR_DATA_MAX]; /* names, RRs */
	} rec;
	uint8_t *d = rec.data;
	size_t head = z->name_len + set->owner_len + next_len;
	uint8_t nrrs;
	int w;

	_Static_assert(offsetof(__typeof__(rec), data) == sizeof(struct val_aggr_rec),
		       "a record is h and data[] back to back");
	if (head + soa_len > VAL_AGGR_DATA_MAX)
		return;
	w = put_set(c, set, d + head, VAL_AGGR_DATA_MAX - soa_len, &nrrs, &ttl);
	/* an NSEC's first RR's RDATA must be the view's next name and bitmap
	 * (one with a compressed next name is not kept) */
	if (w < 0 || ttl == 0 ||
	    (next && hf_get16(d + head + set->owner_len + 8) != next_len + bm_len))
		return;
	memset(&rec.h, 0, sizeof(rec.h));
	rec.h.is3 = set->type == HF_TYPE_NSEC3;
	rec.h.zone_len = z->name_len;
	rec.h.owner_len = set->owner_len;
	rec.h.next_len = (uint8_t)next_len;
	memcpy(d, z->name, z->name_len);
	memcpy(d + z->name_len, set->owner, set->owner_len);
	if (next_len)
		memcpy(d + z->name_len + set->owner_len, next, next_len);
	rec.h.rr_off = (uint16_t)head;
	rec.h.nsec_len = (uint16_t)w;
	rec.h.nsec_rrs = nrrs;
	memcpy(d + head + w, soa, soa_len);
	rec.h.soa_len = (uint16_t)soa_len;
	rec.h.soa_rrs = soa_rrs;
	rec.h.data_len = (uint16_t)(head + (size_t)w + soa_len);
	/* an NSEC's bitmap: in the first RR's RDATA, behind the next name */
	rec.h.bm_off = (uint16_t)(head + set->owner_len + 10u + next_len);
	rec.h.bm_len = (uint16_t)bm_len;
	rec.h.expires = c->now + ttl;
	rec.h.keys_expires = z->expires;
	/* control's own synthesis asks for the keys each time (hf_val_synth) */
	if (val_aggr_put(a, &rec.h, d, rec.h.expires) == 0 && c->v->keep)
		c->v->keep(c->v->keep_arg, z->name, z->name_len, (const uint8_t *)&rec,
			   sizeof(rec.h) + rec.h.data_len, rec.h.is3);
}

void val_aggr_keep(struct vc *c, const struct val_entry *z, const struct val_rrset *soa)
{
	uint8_t buf[VAL_AGGR_DATA_MAX];
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

int hf_val_synth(struct hf_val *v, const uint8_t *qname, size_t qlen, uint16_t qtype,
		 uint64_t now_s, uint8_t *out, size_t size)
{
	struct val_synth x = {.a = &v->aggr, .now = now_s};
	struct hf_val_result res;
	struct hf_val_need need;
	struct val_entry *keys;
	uint8_t q[HF_DNS_NAME_MAX];
	struct vc *c = v->call;
	int rcode;

	if (x.a->count == 0 || qlen == 0 || qlen > HF_DNS_NAME_MAX || !val_aggr_qtype_ok(qtype))
		return 0;
	memcpy(q, qname, qlen);
	hf_dns_name_lower(q, qlen);
	val_call_init(c, v, NULL, now_s, &res, &need);
	if (val_nta(c, q, qlen) || val_anchor_zone(v, q, qlen) < 0)
		return 0;
	rcode = val_aggr_prove(c, &x, q, qlen, qtype, true);
	if (rcode < 0)
		return 0;
	/* only while the zone's keys are still known secure (not bogus since) */
	keys = val_cache_get(&v->cache, x.zone, x.zlen, VAL_KIND_KEY, now_s);
	if (!keys || keys->state != VAL_ST_SECURE)
		return 0;
	return val_aggr_write(&x, q, qlen, qtype, rcode, out, size);
}

void hf_val_set_keep_hook(struct hf_val *v, hf_val_keep_fn fn, void *arg)
{
	v->keep = fn;
	v->keep_arg = arg;
}
