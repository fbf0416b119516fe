/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: arbitrary bytes as a forwarder's answer to one fixed
 * question (www.example.com. A IN, DNS ID 0x1234), through what control
 * does with it: hf_upstream_check (control/upstream.c: parse, ID and
 * question match, TC, rcode), then for an answer to store
 * hf_dns_answer_build under four sets of limits: the defaults, a floor
 * and a low cap, the DNSSEC TTL cap, and DNSSEC records stripped for a
 * client without DO. (fuzz_msg covers the parser and the build under one
 * set of limits whatever the question; this one the layer above.)
 *
 * Checked: the verdict over UDP and over TCP differs only by TRUNCATED
 * (TC=1 over UDP); a matched message has our ID, QR=1, opcode 0 and our
 * question in place at offset 12; ANSWER only for NOERROR/NXDOMAIN, RCODE
 * for the rest. A stored answer: its kind follows the rcode and the
 * answer section, it re-parses behind a header and the question with
 * every TTL offset the dataplane rewrites pointing at a TTL, every TTL
 * within the limits, a positive answer's lifetime is the least TTL in its
 * answer section and a negative one's the TTL of the first SOA in its
 * authority section (0 without one), no stripped record left.
 */
#include <stdlib.h>
#include <string.h>

#include "control/hf_upstream.h"
#include "tests/fuzz/hf_fuzz.h"

#define QID 0x1234

static const uint8_t qname[] = "\x03www\x07"
			       "example\x03"
			       "com";
static struct hf_cache_key key;
static struct hf_dns_msg m, m_tcp, re;
static uint8_t abuf[65536] __attribute__((aligned(8)));
static uint8_t rebuf[65536];

static const struct hf_dns_answer_limits lims[] = {
	{.max_ttl = 86400, .min_ttl = 0, .max_negative_ttl = 3600},
	{.max_ttl = 300, .min_ttl = 30, .max_negative_ttl = 60},
	{.max_ttl = 86400, .min_ttl = 10, .max_negative_ttl = 3600, .cap_ttl = true, .ttl_cap = 5},
	{.max_ttl = 86400, .min_ttl = 0, .max_negative_ttl = 3600, .strip_dnssec = true},
};

static bool dnssec_stripped(const struct hf_dns_rr *rr)
{
	if (rr->type == key.qtype)
		return false;
	return rr->type == HF_TYPE_RRSIG ||
	       (rr->section == HF_SEC_AUTHORITY &&
		(rr->type == HF_TYPE_NSEC || rr->type == HF_TYPE_NSEC3));
}

static void check_stored(const struct hf_dns_answer_limits *lim, int size)
{
	const struct hf_dns_answer *a = (const struct hf_dns_answer *)(const void *)abuf;
	const uint16_t *offs = hf_dns_answer_ttl_offs(a);
	size_t base = HF_DNS_HDR_LEN + key.name_len + 4;
	uint32_t hi = lim->cap_ttl ? HF_MIN(lim->max_ttl, lim->ttl_cap) : lim->max_ttl;
	uint32_t min_an = UINT32_MAX;
	int soa = -1;
	size_t len;

	REQUIRE(size > 0 && (size_t)size == hf_dns_answer_size(a) && (size_t)size <= sizeof(abuf));
	REQUIRE(a->qname_len == key.name_len && a->ede == HF_EDE_NONE && a->ede_text_len == 0);
	REQUIRE(a->rcode == m.rcode);
	if (m.rcode == HF_RCODE_NXDOMAIN)
		REQUIRE(a->kind == HF_ANS_NXDOMAIN);
	else
		REQUIRE(a->kind == (a->ancount ? HF_ANS_POSITIVE : HF_ANS_NODATA));
	REQUIRE(a->ancount + a->nscount + a->arcount == a->nttl);
	REQUIRE(base + a->body_len <= HF_DNS_MSG_MAX);

	len = hf_fuzz_answer_msg(rebuf, QID, a, key.name, key.name_len, key.qtype, key.qclass);
	REQUIRE(hf_dns_msg_parse(rebuf, len, &re) == 0);
	REQUIRE(re.nrr == a->nttl && !re.has_opt);
	for (unsigned i = 0; i < re.nrr; i++) {
		const struct hf_dns_rr *rr = &re.rr[i];

		REQUIRE(offs[i] + base == rr->ttl_off);
		REQUIRE(rr->ttl <= HF_MAX(hi, lim->cap_ttl ? 0 : lim->min_ttl));
		if (lim->strip_dnssec)
			REQUIRE(!dnssec_stripped(rr));
		if (rr->section == HF_SEC_ANSWER)
			min_an = HF_MIN(min_an, rr->ttl);
		if (soa < 0 && rr->section == HF_SEC_AUTHORITY && rr->type == HF_TYPE_SOA &&
		    rr->rdlen >= 22)
			soa = (int)i;
	}
	if (a->kind == HF_ANS_POSITIVE) {
		REQUIRE(a->ttl == min_an);
	} else {
		REQUIRE(a->ttl <= HF_MIN(lim->max_negative_ttl, hi));
		REQUIRE(soa >= 0 ? a->ttl == re.rr[soa].ttl : a->ttl == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum hf_up_verdict v, vt;

	if (key.name_len == 0) {
		key.name_len = sizeof(qname);
		memcpy(key.name, qname, sizeof(qname));
		key.qtype = HF_TYPE_A;
		key.qclass = HF_CLASS_IN;
	}
	v = hf_upstream_check(&key, key.name, QID, data, size, false, &m);
	vt = hf_upstream_check(&key, key.name, QID, data, size, true, &m_tcp);
	REQUIRE(v == vt || (v == HF_UP_TRUNCATED && vt >= HF_UP_RCODE));
	if (v == HF_UP_MALFORMED || v == HF_UP_MISMATCH)
		return 0;
	/* ours: ID, QR, one question and it, uncompressed, at offset 12 */
	REQUIRE(size >= HF_DNS_HDR_LEN + key.name_len + 4u);
	REQUIRE(hf_get16(data) == QID && (data[2] & 0x80) && hf_get16(data + 4) == 1);
	for (size_t i = 0; i < key.name_len; i++)
		REQUIRE(hf_dns_lower[data[HF_DNS_HDR_LEN + i]] == key.name[i]);
	/* spelt as sent (the lower-case name here), or HF_UP_CASE */
	REQUIRE((v == HF_UP_CASE) == (memcmp(data + HF_DNS_HDR_LEN, key.name, key.name_len) != 0));
	if (v == HF_UP_TOO_MANY || v == HF_UP_CASE)
		return 0;
	REQUIRE((m.flags & HF_DNS_OPCODE_MASK) == 0 && m.qdcount == 1);
	if (v == HF_UP_TRUNCATED) {
		REQUIRE(m.flags & HF_DNS_TC);
		return 0;
	}
	REQUIRE((v == HF_UP_ANSWER) ==
		(m.rcode == HF_RCODE_NOERROR || m.rcode == HF_RCODE_NXDOMAIN));
	if (v != HF_UP_ANSWER)
		return 0;
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		int rc = hf_dns_answer_build(&m, &lims[i], abuf, sizeof(abuf));
		if (rc < 0) {
			REQUIRE(rc == HF_ESPACE);
			continue;
		}
		check_stored(&lims[i], rc);
	}
	return 0;
}
