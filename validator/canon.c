/* SPDX-License-Identifier: BSD-3-Clause */
/* Names in canonical order, RRset grouping and the RFC 4034 section 6
 * canonical form that signatures cover. */
#include <stdlib.h>
#include <string.h>

#include "validator/val_internal.h"

size_t val_name_suffix(const uint8_t *n, size_t len, unsigned labels)
{
	unsigned total = hf_dns_name_labels(n, len), skip;
	size_t i = 0;

	if (labels >= total)
		return 0;
	for (skip = total - labels; skip > 0; skip--)
		i += 1u + n[i];
	return i;
}

/* Offsets of the labels of n (root label left out); returns the count. */
static unsigned label_offs(const uint8_t *n, size_t len, uint8_t offs[128])
{
	unsigned k = 0;
	size_t i = 0;

	while (i < len && n[i] != 0 && k < 128) {
		offs[k++] = (uint8_t)i;
		i += 1u + n[i];
	}
	return k;
}

static int label_cmp(const uint8_t *a, const uint8_t *b)
{
	unsigned al = a[0], bl = b[0], m = al < bl ? al : bl;

	for (unsigned i = 1; i <= m; i++) {
		uint8_t x = hf_dns_lower[a[i]], y = hf_dns_lower[b[i]];
		if (x != y)
			return x < y ? -1 : 1;
	}
	return al == bl ? 0 : (al < bl ? -1 : 1);
}

int hf_val_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t ao[128], bo[128];
	unsigned an = label_offs(a, alen, ao), bn = label_offs(b, blen, bo);

	while (an > 0 && bn > 0) {
		int c = label_cmp(a + ao[--an], b + bo[--bn]);
		if (c)
			return c;
	}
	return an == bn ? 0 : (an < bn ? -1 : 1);
}

unsigned val_name_common(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t ao[128], bo[128];
	unsigned an = label_offs(a, alen, ao), bn = label_offs(b, blen, bo), k = 0;

	while (an > 0 && bn > 0 && label_cmp(a + ao[--an], b + bo[--bn]) == 0)
		k++;
	return k;
}

void val_name_str(const uint8_t *n, size_t len, char *buf, size_t size)
{
	if (size == 0)
		return;
	if (hf_dns_name_to_str(n, len, buf, size) < 0) {
		/* too long for buf: keep what fits, mark the cut */
		char tmp[1024];
		if (hf_dns_name_to_str(n, len, tmp, sizeof(tmp)) < 0)
			tmp[0] = '?', tmp[1] = 0;
		strncpy(buf, tmp, size - 1);
		buf[size - 1] = 0;
		if (size > 4)
			memcpy(buf + size - 4, "...", 4);
	}
}

/* ---- RRsets ---- */

struct val_rrset *val_sets_find(struct val_sets *s, uint8_t section, const uint8_t *owner,
				size_t len, uint16_t type)
{
	for (uint16_t i = 0; i < s->n; i++) {
		struct val_rrset *r = &s->set[i];
		if (r->section == section && r->type == type && r->owner_len == len &&
		    hf_dns_name_equal(r->owner, len, owner, len))
			return r;
	}
	return NULL;
}

static struct val_rrset *sets_find_class(struct val_sets *s, uint8_t section, const uint8_t *owner,
					 size_t len, uint16_t type, uint16_t rclass)
{
	for (uint16_t i = 0; i < s->n; i++) {
		struct val_rrset *r = &s->set[i];
		if (r->section == section && r->type == type && r->rclass == rclass &&
		    r->owner_len == len && memcmp(r->owner, owner, len) == 0)
			return r;
	}
	return NULL;
}

int val_sets_build(const struct hf_dns_msg *m, struct val_sets *s)
{
	uint8_t owner[HF_DNS_NAME_MAX];
	int16_t tail_rr[VAL_MAX_SETS], tail_sig[VAL_MAX_SETS];

	s->n = 0;
	/* pass 1: data RRsets; pass 2: RRSIGs onto them */
	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < m->nrr; i++) {
			const struct hf_dns_rr *rr = &m->rr[i];
			size_t pos = rr->owner_off, olen;
			uint16_t type = rr->type;
			struct val_rrset *r;
			uint16_t idx;

			if (type == HF_TYPE_OPT)
				continue;
			if ((type == HF_TYPE_RRSIG) != (pass == 1))
				continue;
			if (hf_dns_name_unpack(m->wire, m->len, &pos, owner, &olen) < 0)
				return hf_error(HF_EMALFORMED);
			hf_dns_name_lower(owner, olen);
			if (pass == 1) {
				if (rr->rdlen < 18)
					continue; /* malformed RRSIG: ignored */
				type = hf_get16(m->wire + rr->rdata_off);
				r = sets_find_class(s, rr->section, owner, olen, type, rr->rclass);
				if (!r)
					continue; /* a signature over nothing here */
				idx = (uint16_t)(r - s->set);
				s->next[i] = -1;
				if (r->sig_head < 0)
					r->sig_head = (int16_t)i;
				else
					s->next[tail_sig[idx]] = (int16_t)i;
				tail_sig[idx] = (int16_t)i;
				r->nsig++;
				continue;
			}
			r = sets_find_class(s, rr->section, owner, olen, type, rr->rclass);
			if (!r) {
				if (s->n >= VAL_MAX_SETS)
					return hf_error(HF_EFULL);
				r = &s->set[s->n++];
				memcpy(r->owner, owner, olen);
				r->owner_len = (uint8_t)olen;
				r->labels = (uint8_t)hf_dns_name_labels(owner, olen);
				r->section = rr->section;
				r->type = type;
				r->rclass = rr->rclass;
				r->nrr = r->nsig = 0;
				r->rr_head = r->sig_head = -1;
				r->ttl = UINT32_MAX;
			}
			idx = (uint16_t)(r - s->set);
			s->next[i] = -1;
			if (r->rr_head < 0)
				r->rr_head = (int16_t)i;
			else
				s->next[tail_rr[idx]] = (int16_t)i;
			tail_rr[idx] = (int16_t)i;
			r->nrr++;
			if (rr->ttl < r->ttl)
				r->ttl = rr->ttl;
		}
	}
	return 0;
}

/* ---- canonical RDATA ---- */

/*
 * Types whose RDATA names are lower-cased (RFC 4034 section 6.2 as
 * corrected by RFC 6840 section 5.1: HINFO and NSEC are not). A6 (obsolete,
 * RFC 6563) is left opaque.
 */
int val_canon_rdata(const struct hf_dns_msg *m, const struct hf_dns_rr *rr, uint8_t *out,
		    size_t room, size_t *out_len)
{
	static const uint8_t sig_layout[] = {18, HF_RDF_NAME, HF_RDF_END};
	static const uint8_t nxt_layout[] = {HF_RDF_NAME, HF_RDF_END};
	size_t off = rr->rdata_off, end = off + rr->rdlen, n = 0, l;
	const uint8_t *layout;
	bool tail_opaque = false;

	if (rr->type == 35) { /* NAPTR: order, pref, flags, services, regexp, replacement */
		size_t p = off + 4;
		for (int i = 0; i < 3; i++) {
			if (p >= end)
				return hf_error(HF_EMALFORMED);
			p += 1u + m->wire[p];
		}
		if (p > end || p - off > room)
			return hf_error(HF_EMALFORMED);
		memcpy(out, m->wire + off, p - off);
		n = p - off;
		off = p;
		if (hf_dns_name_unpack(m->wire, end, &off, out + n, &l) < 0 || off != end ||
		    n + l > room)
			return hf_error(HF_EMALFORMED);
		hf_dns_name_lower(out + n, l);
		*out_len = n + l;
		return 0;
	}
	switch (rr->type) {
	case 24: /* SIG */
	case HF_TYPE_RRSIG:
		layout = sig_layout;
		tail_opaque = true;
		break;
	case 30: /* NXT */
		layout = nxt_layout;
		tail_opaque = true;
		break;
	default:
		layout = hf_dns_rdata_layout(rr->type);
	}
	if (!layout) {
		if (rr->rdlen > room)
			return hf_error(HF_ESPACE);
		memcpy(out, m->wire + off, rr->rdlen);
		*out_len = rr->rdlen;
		return 0;
	}
	for (; *layout != HF_RDF_END; layout++) {
		if (*layout >= HF_RDF_CNAME) {
			if (room - n < HF_DNS_NAME_MAX)
				return hf_error(HF_ESPACE);
			if (hf_dns_name_unpack(m->wire, end, &off, out + n, &l) < 0)
				return hf_error(HF_EMALFORMED);
			hf_dns_name_lower(out + n, l);
			n += l;
		} else {
			if (off + *layout > end || room - n < *layout)
				return hf_error(HF_EMALFORMED);
			memcpy(out + n, m->wire + off, *layout);
			n += *layout;
			off += *layout;
		}
	}
	if (tail_opaque) {
		if (end - off > room - n)
			return hf_error(HF_ESPACE);
		memcpy(out + n, m->wire + off, end - off);
		n += end - off;
	} else if (off != end) {
		return hf_error(HF_EMALFORMED);
	}
	*out_len = n;
	return 0;
}

struct canon_item {
	uint32_t off;
	uint16_t len;
};

/* RFC 4034 section 6.3: RDATA as left-justified octet strings. */
static int item_cmp(const uint8_t *base, const struct canon_item *a, const struct canon_item *b)
{
	size_t m = a->len < b->len ? a->len : b->len;
	int c = memcmp(base + a->off, base + b->off, m);

	if (c)
		return c;
	return a->len == b->len ? 0 : (a->len < b->len ? -1 : 1);
}

int val_signed_data(const struct hf_dns_msg *m, const struct val_sets *s,
		    const struct val_rrset *set, uint16_t sig, uint8_t *out, size_t size,
		    uint8_t *cbuf, size_t csize)
{
	const struct hf_dns_rr *srr = &m->rr[sig];
	const uint8_t *rd = m->wire + srr->rdata_off;
	struct canon_item items[HF_DNS_MSG_MAX_RR];
	uint8_t owner[HF_DNS_NAME_MAX + 2];
	size_t pos, slen, olen, n = 0, cused = 0;
	unsigned labels = rd[3], nitems = 0;
	uint32_t orig_ttl = hf_get32(rd + 4);

	if (srr->rdlen < 18 + 1)
		return hf_error(HF_EMALFORMED);
	/* RRSIG RDATA up to the signer, then the signer in canonical form */
	if (size < 18 + HF_DNS_NAME_MAX)
		return hf_error(HF_ESPACE);
	memcpy(out, rd, 18);
	pos = srr->rdata_off + 18;
	if (hf_dns_name_unpack(m->wire, srr->rdata_off + srr->rdlen, &pos, out + 18, &slen) < 0)
		return hf_error(HF_EMALFORMED);
	hf_dns_name_lower(out + 18, slen);
	n = 18 + slen;

	/* the owner as signed: the wildcard when labels says the RR was expanded */
	if (labels > set->labels)
		return hf_error(HF_EMALFORMED);
	if (labels < set->labels) {
		size_t off = val_name_suffix(set->owner, set->owner_len, labels);
		owner[0] = 1;
		owner[1] = '*';
		memcpy(owner + 2, set->owner + off, set->owner_len - off);
		olen = 2 + set->owner_len - off;
		if (olen > HF_DNS_NAME_MAX)
			return hf_error(HF_EMALFORMED);
	} else {
		memcpy(owner, set->owner, set->owner_len);
		olen = set->owner_len;
	}

	for (int16_t i = set->rr_head; i >= 0; i = s->next[i]) {
		size_t l;
		int rc = val_canon_rdata(m, &m->rr[i], cbuf + cused, csize - cused, &l);
		if (rc < 0)
			return rc;
		if (l > 0xffff)
			return hf_error(HF_EMALFORMED);
		items[nitems].off = (uint32_t)cused;
		items[nitems].len = (uint16_t)l;
		nitems++;
		cused += l;
	}
	/* insertion sort: RRsets are small; worst case bounded by the RR limit */
	for (unsigned i = 1; i < nitems; i++) {
		struct canon_item x = items[i];
		unsigned j = i;
		while (j > 0 && item_cmp(cbuf, &items[j - 1], &x) > 0) {
			items[j] = items[j - 1];
			j--;
		}
		items[j] = x;
	}
	for (unsigned i = 0; i < nitems; i++) {
		if (i > 0 && item_cmp(cbuf, &items[i - 1], &items[i]) == 0)
			continue; /* duplicate RR */
		if (size - n < olen + 10u + items[i].len)
			return hf_error(HF_ESPACE);
		memcpy(out + n, owner, olen);
		n += olen;
		hf_put16(out + n, set->type);
		hf_put16(out + n + 2, set->rclass);
		hf_put32(out + n + 4, orig_ttl);
		hf_put16(out + n + 8, items[i].len);
		n += 10;
		memcpy(out + n, cbuf + items[i].off, items[i].len);
		n += items[i].len;
	}
	return (int)n;
}

int hf_val_signed_data(const struct hf_dns_msg *m, uint16_t sig, uint8_t *out, size_t size)
{
	struct val_sets *s;
	uint8_t *cbuf;
	int rc = HF_ENOENT;

	if (!m || sig >= m->nrr || m->rr[sig].type != HF_TYPE_RRSIG)
		return hf_error(HF_EINVAL);
	s = malloc(sizeof(*s));
	cbuf = malloc(VAL_CBUF);
	if (!s || !cbuf) {
		free(s);
		free(cbuf);
		return hf_error(HF_ENOMEM);
	}
	if (val_sets_build(m, s) == 0) {
		for (uint16_t i = 0; i < s->n && rc == HF_ENOENT; i++)
			for (int16_t j = s->set[i].sig_head; j >= 0; j = s->next[j])
				if (j == sig) {
					rc = val_signed_data(m, s, &s->set[i], sig, out, size, cbuf,
							     VAL_CBUF);
					break;
				}
	} else {
		rc = HF_EMALFORMED;
	}
	free(s);
	free(cbuf);
	return rc;
}
