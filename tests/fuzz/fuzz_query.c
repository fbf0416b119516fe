/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: hf_query_parse over arbitrary bytes. Checks that it
 * never reads outside the input (ASan) and that what it reports is
 * consistent: bounds, a valid lower-cased qname equal to the packet's,
 * the verdict rules, and agreement with hf_dns_msg_parse on good queries.
 */
#include <stdlib.h>
#include <string.h>
#include "dns/hf_query.h"
#include "tests/fuzz/hf_fuzz.h"

static struct hf_dns_msg msg;

/* lname[0..len) is a valid uncompressed name with no upper-case ASCII and
 * equals the (case-folded) name at p. */
static void check_lname(const uint8_t *lname, size_t len, const uint8_t *p)
{
	size_t i = 0;

	REQUIRE(len >= 1 && len <= HF_DNS_NAME_MAX);
	while (lname[i] != 0) {
		REQUIRE(lname[i] <= HF_DNS_LABEL_MAX);
		i += 1u + lname[i];
		REQUIRE(i < len);
	}
	REQUIRE(i == len - 1);
	for (i = 0; i < len; i++) {
		REQUIRE(!(lname[i] >= 'A' && lname[i] <= 'Z'));
		REQUIRE(lname[i] == hf_dns_lower[p[i]]);
	}
}

/* Every COOKIE option in the OPT at `opt` is 8 or 16..40 bytes (RFC 7873). */
static void check_cookies(const uint8_t *opt)
{
	size_t pos = 11, end = 11u + hf_get16(opt + 9);
	while (pos < end) {
		uint16_t olen = hf_get16(opt + pos + 2);
		if (hf_get16(opt + pos) == HF_EDNS_OPT_COOKIE)
			REQUIRE(olen == 8 || (olen >= 16 && olen <= 40));
		pos += 4u + olen;
	}
	REQUIRE(pos == end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hf_query q;
	uint8_t lname[HF_QUERY_LNAME_SIZE];
	enum hf_query_verdict v;

	if (size > UINT16_MAX)
		return 0;
	memset(&q, 0xa5, sizeof(q));
	memset(lname, 0xa5, sizeof(lname));
	v = hf_query_parse(data, (uint16_t)size, &q, lname);
	REQUIRE(v <= HF_Q_BADVERS);
	if (v == HF_Q_DROP) {
		REQUIRE(size < HF_DNS_HDR_LEN || (hf_get16(data + 2) & HF_DNS_QR));
		return 0;
	}
	REQUIRE(size >= HF_DNS_HDR_LEN);
	REQUIRE(q.id == hf_get16(data));
	REQUIRE(q.flags == hf_get16(data + 2));
	REQUIRE(!(q.flags & HF_DNS_QR));
	REQUIRE(q.udp_size >= HF_DNS_UDP_MIN);
	if (q.question_end) {
		REQUIRE(q.question_end <= size);
		REQUIRE(q.question_end == HF_DNS_HDR_LEN + q.qname_len + 4u);
		check_lname(lname, q.qname_len, data + HF_DNS_HDR_LEN);
		/* the CRC taken a word at a time while copying is the copy's */
		REQUIRE(q.name_crc == hf_crc32c(lname, q.qname_len, 0));
	}
	if (!q.has_edns)
		REQUIRE(q.udp_size == HF_DNS_UDP_MIN && !q.do_bit);

	switch (v) {
	case HF_Q_OK:
		REQUIRE(q.question_end != 0);
		REQUIRE(q.qclass == HF_CLASS_IN);
		REQUIRE(q.qtype != HF_TYPE_OPT &&
			(q.qtype < HF_TYPE_IXFR || q.qtype > HF_TYPE_MAILA));
		REQUIRE((q.flags & HF_DNS_OPCODE_MASK) == 0);
		REQUIRE(q.edns_version == 0);
		if (!q.has_edns)
			REQUIRE(q.question_end == size);
		/* a good query is a good message, with the same question */
		REQUIRE(hf_dns_msg_parse(data, size, &msg) == 0);
		REQUIRE(msg.qname_len == q.qname_len && msg.qtype == q.qtype);
		REQUIRE(msg.question_end == q.question_end);
		REQUIRE(hf_dns_name_equal(msg.qname, msg.qname_len, lname, q.qname_len));
		REQUIRE(msg.has_opt == (bool)q.has_edns);
		if (q.has_edns) {
			REQUIRE(msg.opt_do == (bool)q.do_bit &&
				HF_MAX(msg.opt_udp_size, HF_DNS_UDP_MIN) == q.udp_size);
			check_cookies(data + q.question_end);
		}
		break;
	case HF_Q_BADVERS:
		REQUIRE(q.has_edns && q.edns_version != 0 && q.question_end != 0);
		break;
	case HF_Q_REFUSED:
		REQUIRE(q.qclass != HF_CLASS_IN && q.question_end != 0);
		if (!q.has_edns)
			REQUIRE(q.question_end == size);
		break;
	case HF_Q_NOTIMP:
		REQUIRE((q.flags & HF_DNS_OPCODE_MASK) ||
			(q.qtype >= HF_TYPE_IXFR && q.qtype <= HF_TYPE_MAILA));
		break;
	default:
		break;
	}
	return 0;
}
