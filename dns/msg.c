/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dns/: whole messages for control (upstream responses, queries).
 * Not the hot path; bounded by the length given, never allocates.
 */
#include <string.h>
#include "dns/hf_dns.h"

const uint8_t *hf_dns_rdata_layout(uint16_t type)
{
	static const uint8_t name_c[] = {HF_RDF_CNAME, HF_RDF_END};
	static const uint8_t two_c[] = {HF_RDF_CNAME, HF_RDF_CNAME, HF_RDF_END};
	static const uint8_t soa[] = {HF_RDF_CNAME, HF_RDF_CNAME, 20, HF_RDF_END};
	static const uint8_t mx[] = {2, HF_RDF_CNAME, HF_RDF_END};
	static const uint8_t name_u[] = {HF_RDF_NAME, HF_RDF_END};
	static const uint8_t two_u[] = {HF_RDF_NAME, HF_RDF_NAME, HF_RDF_END};
	static const uint8_t pref_u[] = {2, HF_RDF_NAME, HF_RDF_END};
	static const uint8_t px[] = {2, HF_RDF_NAME, HF_RDF_NAME, HF_RDF_END};
	static const uint8_t srv[] = {6, HF_RDF_NAME, HF_RDF_END};

	switch (type) {
	case HF_TYPE_NS:
	case 3: /* MD */
	case 4: /* MF */
	case HF_TYPE_CNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case HF_TYPE_PTR:
		return name_c;
	case HF_TYPE_SOA:
		return soa;
	case 14: /* MINFO */
		return two_c;
	case HF_TYPE_MX:
		return mx;
	case 17: /* RP */
		return two_u;
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */
		return pref_u;
	case 26: /* PX */
		return px;
	case HF_TYPE_SRV:
		return srv;
	case HF_TYPE_DNAME:
		return name_u;
	default:
		return NULL;
	}
}

/* RDATA names must lie inside the RDATA; their pointers point backwards, so
 * the RDATA end bounds every byte the walk reads. */
static int rdata_check(const uint8_t *wire, size_t off, size_t end, const uint8_t *layout)
{
	for (; *layout != HF_RDF_END; layout++) {
		if (*layout >= HF_RDF_CNAME) {
			if (HF_UNLIKELY(hf_dns_name_skip(wire, end, &off) < 0))
				return hf_error(HF_EMALFORMED);
		} else {
			if (HF_UNLIKELY(off + *layout > end))
				return hf_error(HF_EMALFORMED);
			off += *layout;
		}
	}
	return off == end ? 0 : hf_error(HF_EMALFORMED);
}

static int opt_parse(struct hf_dns_msg *m, const struct hf_dns_rr *rr)
{
	const uint8_t *w = m->wire;
	size_t off = rr->rdata_off, end = (size_t)rr->rdata_off + rr->rdlen;

	if (HF_UNLIKELY(w[rr->owner_off] != 0)) /* owner must be the root */
		return hf_error(HF_EMALFORMED);
	while (off < end) {
		if (HF_UNLIKELY(off + 4 > end))
			return hf_error(HF_EMALFORMED);
		uint16_t code = hf_get16(w + off), olen = hf_get16(w + off + 2);
		off += 4;
		if (HF_UNLIKELY(off + olen > end))
			return hf_error(HF_EMALFORMED);
		/* an EDE shorter than its info code is ignored, not fatal */
		if (code == HF_EDNS_OPT_EDE && olen >= 2 && m->ede == HF_EDE_NONE)
			m->ede = hf_get16(w + off);
		if (code == HF_EDNS_OPT_COOKIE && m->cookie_off == 0) {
			m->cookie_off = (uint16_t)off;
			m->cookie_len = olen;
		}
		off += olen;
	}
	m->has_opt = true;
	m->opt_udp_size = rr->rclass;
	m->opt_version = (uint8_t)(rr->ttl >> 16);
	m->opt_do = (rr->ttl & HF_EDNS_DO) != 0;
	m->rcode = (uint16_t)((m->flags & HF_DNS_RCODE_MASK) | ((rr->ttl >> 24) << 4));
	return 0;
}

int hf_dns_msg_parse(const uint8_t *wire, size_t len, struct hf_dns_msg *m)
{
	size_t pos = HF_DNS_HDR_LEN, qlen = 0;
	uint32_t total;

	if (HF_UNLIKELY(!wire || len < HF_DNS_HDR_LEN || len > HF_DNS_MSG_MAX))
		return hf_error(HF_EMALFORMED);
	m->wire = wire;
	m->len = len;
	m->id = hf_get16(wire);
	m->flags = hf_get16(wire + 2);
	m->rcode = m->flags & HF_DNS_RCODE_MASK;
	m->qdcount = hf_get16(wire + 4);
	m->ancount = hf_get16(wire + 6);
	m->nscount = hf_get16(wire + 8);
	m->arcount = hf_get16(wire + 10);
	m->qname_len = 0;
	m->qtype = 0;
	m->qclass = 0;
	m->has_opt = false;
	m->opt_udp_size = 0;
	m->opt_do = false;
	m->opt_version = 0;
	m->opt_rr = 0;
	m->ede = HF_EDE_NONE;
	m->cookie_off = 0;
	m->cookie_len = 0;
	m->nrr = 0;

	if (HF_UNLIKELY(m->qdcount > 1))
		return hf_error(HF_EMALFORMED);
	if (m->qdcount == 1) {
		if (HF_UNLIKELY(hf_dns_name_unpack(wire, len, &pos, m->qname, &qlen) < 0))
			return hf_error(HF_EMALFORMED);
		if (HF_UNLIKELY(pos + 4 > len))
			return hf_error(HF_EMALFORMED);
		m->qname_len = (uint8_t)qlen;
		m->qtype = hf_get16(wire + pos);
		m->qclass = hf_get16(wire + pos + 2);
		pos += 4;
	}
	m->question_end = (uint16_t)pos;

	total = (uint32_t)m->ancount + m->nscount + m->arcount;
	for (uint32_t i = 0; i < total; i++) {
		struct hf_dns_rr *rr;
		size_t owner = pos, end;

		if (HF_UNLIKELY(i == HF_DNS_MSG_MAX_RR))
			return hf_error(HF_ENOTSUP);
		rr = &m->rr[i];
		if (HF_UNLIKELY(hf_dns_name_skip(wire, len, &pos) < 0))
			return hf_error(HF_EMALFORMED);
		if (HF_UNLIKELY(pos + 10 > len))
			return hf_error(HF_EMALFORMED);
		rr->owner_off = (uint16_t)owner;
		rr->type = hf_get16(wire + pos);
		rr->rclass = hf_get16(wire + pos + 2);
		rr->ttl_off = (uint16_t)(pos + 4);
		rr->ttl = hf_get32(wire + pos + 4);
		rr->rdlen = hf_get16(wire + pos + 8);
		rr->rdata_off = (uint16_t)(pos + 10);
		rr->section = i < m->ancount			      ? HF_SEC_ANSWER
			      : i < (uint32_t)m->ancount + m->nscount ? HF_SEC_AUTHORITY
								      : HF_SEC_ADDITIONAL;
		end = pos + 10 + rr->rdlen;
		if (HF_UNLIKELY(end > len))
			return hf_error(HF_EMALFORMED);
		m->nrr = (uint16_t)(i + 1);
		if (rr->type == HF_TYPE_OPT) {
			if (HF_UNLIKELY(rr->section != HF_SEC_ADDITIONAL || m->has_opt))
				return hf_error(HF_EMALFORMED);
			if (HF_UNLIKELY(opt_parse(m, rr) < 0))
				return hf_error(HF_EMALFORMED);
			m->opt_rr = (uint16_t)i;
		} else {
			const uint8_t *layout = hf_dns_rdata_layout(rr->type);
			if (layout &&
			    HF_UNLIKELY(rdata_check(wire, rr->rdata_off, end, layout) < 0))
				return hf_error(HF_EMALFORMED);
		}
		pos = end;
	}
	if (HF_UNLIKELY(pos != len))
		return hf_error(HF_EMALFORMED);
	return 0;
}

int hf_dns_query_build(uint8_t *buf, size_t size, uint16_t id, uint16_t flags, const uint8_t *qname,
		       size_t qname_len, uint16_t qtype, uint16_t qclass, bool edns,
		       uint16_t udp_size, bool do_bit)
{
	size_t pos = 0, need = HF_DNS_HDR_LEN + qname_len + 4 + (edns ? 11u : 0u);

	if (HF_UNLIKELY(!qname || qname_len == 0 || qname_len > HF_DNS_NAME_MAX))
		return hf_error(HF_EINVAL);
	/* a plain, uncompressed name that fills qname_len exactly */
	while (pos < qname_len && qname[pos] != 0) {
		if (HF_UNLIKELY(qname[pos] > HF_DNS_LABEL_MAX))
			return hf_error(HF_EINVAL);
		pos += 1u + qname[pos];
	}
	if (HF_UNLIKELY(pos != qname_len - 1))
		return hf_error(HF_EINVAL);
	if (HF_UNLIKELY(need > size))
		return hf_error(HF_ESPACE);
	hf_put16(buf, id);
	hf_put16(buf + 2, flags);
	hf_put16(buf + 4, 1);
	hf_put16(buf + 6, 0);
	hf_put16(buf + 8, 0);
	hf_put16(buf + 10, edns ? 1 : 0);
	memcpy(buf + HF_DNS_HDR_LEN, qname, qname_len);
	pos = HF_DNS_HDR_LEN + qname_len;
	hf_put16(buf + pos, qtype);
	hf_put16(buf + pos + 2, qclass);
	pos += 4;
	if (edns)
		pos += hf_dns_opt_put(buf + pos, size - pos, udp_size, 0, do_bit, HF_EDE_NONE, NULL,
				      0);
	return (int)pos;
}
