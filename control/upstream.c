/* SPDX-License-Identifier: BSD-3-Clause */
/* Judging a forwarder's message against its question (hf_upstream.h). */
#include <string.h>

#include "control/hf_upstream.h"

/* Does the (unparsed) message carry our ID, QR=1 and our question, the
 * name spelt as sent? */
static bool raw_matches(const struct hf_cache_key *key, const uint8_t *sent_name, uint16_t id,
			const uint8_t *w, size_t len)
{
	size_t n = key->name_len;
	return len >= HF_DNS_HDR_LEN + n + 4 && hf_get16(w) == id && (w[2] & 0x80) &&
	       hf_get16(w + 4) == 1 && memcmp(w + HF_DNS_HDR_LEN, sent_name, n) == 0 &&
	       hf_get16(w + HF_DNS_HDR_LEN + n) == key->qtype &&
	       hf_get16(w + HF_DNS_HDR_LEN + n + 2) == key->qclass;
}

enum hf_up_verdict hf_upstream_check(const struct hf_cache_key *key, const uint8_t *sent_name,
				     uint16_t id, const uint8_t *wire, size_t len, bool tcp,
				     struct hf_dns_msg *m)
{
	int rc = hf_dns_msg_parse(wire, len, m);

	if (rc == HF_ENOTSUP && raw_matches(key, sent_name, id, wire, len))
		return HF_UP_TOO_MANY;
	if (rc != 0)
		return HF_UP_MALFORMED;
	/* the question as we sent it: a name compressed there can only point
	 * into the header, and raw_matches (too many records) reads it in place */
	if (!(m->flags & HF_DNS_QR) || (m->flags & HF_DNS_OPCODE_MASK) != 0 || m->id != id ||
	    m->qdcount != 1 || m->question_end != HF_DNS_HDR_LEN + key->name_len + 4u ||
	    !hf_dns_name_equal(m->qname, m->qname_len, key->name, key->name_len) ||
	    m->qtype != key->qtype || m->qclass != key->qclass)
		return HF_UP_MISMATCH;
	if (memcmp(m->qname, sent_name, m->qname_len) != 0)
		return HF_UP_CASE;
	if (!tcp && (m->flags & HF_DNS_TC))
		return HF_UP_TRUNCATED;
	if (m->rcode != HF_RCODE_NOERROR && m->rcode != HF_RCODE_NXDOMAIN)
		return HF_UP_RCODE;
	return HF_UP_ANSWER;
}
