/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: hf_dns_msg_parse over arbitrary bytes; on success,
 * hf_dns_answer_build into a 64 KiB buffer, and the stored body, put
 * behind a header and the question, must parse again and hold the same
 * records (owners and RDATA names decompressed, OPT gone, TTLs capped).
 * Names are also pushed through presentation form and back.
 */
#include <stdlib.h>
#include <string.h>
#include "dns/hf_dns.h"
#include "tests/fuzz/hf_fuzz.h"

static struct hf_dns_msg m, re;
static uint8_t abuf[65536] __attribute__((aligned(8)));
static uint8_t rebuf[65536];
static uint8_t c1[65536], c2[65536];

static const struct hf_dns_answer_limits lim = {86400, 1, 3600};

static uint32_t ttl_fix(uint32_t t)
{
	return (t & 0x80000000u) ? 0 : t;
}

/* RDATA with its names decompressed and lower-cased. */
static size_t rdata_canon(const struct hf_dns_msg *msg, const struct hf_dns_rr *rr, uint8_t *out)
{
	const uint8_t *layout = hf_dns_rdata_layout(rr->type);
	size_t off = rr->rdata_off, end = off + rr->rdlen, n = 0, l;

	if (!layout) {
		memcpy(out, msg->wire + off, rr->rdlen);
		return rr->rdlen;
	}
	for (; *layout != HF_RDF_END; layout++) {
		if (*layout >= HF_RDF_CNAME) {
			REQUIRE(hf_dns_name_unpack(msg->wire, end, &off, out + n, &l) == 0);
			hf_dns_name_lower(out + n, l);
			n += l;
		} else {
			REQUIRE(off + *layout <= end);
			memcpy(out + n, msg->wire + off, *layout);
			off += *layout;
			n += *layout;
		}
	}
	REQUIRE(off == end);
	return n;
}

/* wire -> text -> wire gives the same name */
static void check_name_text(const uint8_t *name, size_t len)
{
	static char text[4 * HF_DNS_NAME_MAX + 2];
	uint8_t back[HF_DNS_NAME_MAX];
	size_t blen = 0;
	int n = hf_dns_name_to_str(name, len, text, sizeof(text));

	REQUIRE(n > 0 && (size_t)n < sizeof(text) && text[n] == 0);
	REQUIRE(hf_dns_name_from_str(text, back, &blen) == 0);
	REQUIRE(blen == len && memcmp(back, name, len) == 0);
}

static void check_answer(int size)
{
	const struct hf_dns_answer *a = (const struct hf_dns_answer *)(const void *)abuf;
	const uint16_t *offs = hf_dns_answer_ttl_offs(a);
	size_t base = HF_DNS_HDR_LEN + (size_t)m.qname_len + 4, len;
	int neg = -1;

	REQUIRE((size_t)size == hf_dns_answer_size(a));
	REQUIRE(a->qname_len == m.qname_len);
	/* answer records outside the chain are scrubbed; the rest stays */
	REQUIRE(a->ancount <= m.ancount);
	REQUIRE(a->nscount + a->arcount == m.nscount + m.arcount - (m.has_opt ? 1 : 0));
	REQUIRE(a->ancount + a->nscount + a->arcount == a->nttl);
	REQUIRE(a->kind <= HF_ANS_FAILURE && a->rcode <= 15 && a->ede == HF_EDE_NONE);
	REQUIRE(base + a->body_len <= HF_DNS_MSG_MAX);
	if (a->kind == HF_ANS_POSITIVE)
		REQUIRE(a->ttl >= lim.min_ttl && a->ttl <= lim.max_ttl);
	if (a->kind == HF_ANS_NXDOMAIN || a->kind == HF_ANS_NODATA)
		REQUIRE(a->ttl <= lim.max_negative_ttl);
	for (unsigned i = 0; i < a->nttl; i++)
		REQUIRE(offs[i] >= 5 && offs[i] + 6u <= a->body_len);

	/* header | question | body */
	len = hf_fuzz_answer_msg(rebuf, m.id, a, m.qname, m.qname_len, m.qtype, m.qclass);
	REQUIRE(hf_dns_msg_parse(rebuf, len, &re) == 0);
	REQUIRE(re.nrr == a->nttl && !re.has_opt);

	/* the stored records, in order, are the original ones less answer
	 * records the scrubber dropped (outside the question's chain) */
	unsigned j = 0;
	for (unsigned i = 0; i < m.nrr; i++) {
		const struct hf_dns_rr *x = &m.rr[i], *y;
		uint8_t n1[HF_DNS_NAME_MAX], n2[HF_DNS_NAME_MAX];
		size_t p1 = x->owner_off, p2, l1, l2;
		uint32_t want;

		if (m.has_opt && i == m.opt_rr)
			continue;
		REQUIRE(hf_dns_name_unpack(m.wire, m.len, &p1, n1, &l1) == 0);
		check_name_text(n1, l1);
		REQUIRE(hf_dns_name_is_sub(n1, l1, n1 + l1 - 1, 1));
		if (j == re.nrr) { /* the stored ones are all matched: the rest was dropped */
			REQUIRE(x->section == HF_SEC_ANSWER);
			continue;
		}
		y = &re.rr[j];
		p2 = y->owner_off;
		REQUIRE(hf_dns_name_unpack(re.wire, re.len, &p2, n2, &l2) == 0);
		if (!hf_dns_name_equal(n1, l1, n2, l2) || x->section != y->section ||
		    x->type != y->type || x->rclass != y->rclass ||
		    rdata_canon(&m, x, c1) != rdata_canon(&re, y, c2) ||
		    memcmp(c1, c2, rdata_canon(&re, y, c2)) != 0) {
			REQUIRE(x->section == HF_SEC_ANSWER); /* scrubbed */
			continue;
		}
		REQUIRE(offs[j] + base == y->ttl_off);
		want = HF_MAX(HF_MIN(ttl_fix(x->ttl), lim.max_ttl), lim.min_ttl);
		if (neg < 0 && x->section == HF_SEC_AUTHORITY && x->type == HF_TYPE_SOA &&
		    (a->kind == HF_ANS_NXDOMAIN || a->kind == HF_ANS_NODATA)) {
			neg = (int)j;
			want = a->ttl;
		}
		REQUIRE(y->ttl == want);
		j++;
	}
	REQUIRE(j == re.nrr);
	if (a->kind == HF_ANS_NXDOMAIN || a->kind == HF_ANS_NODATA)
		REQUIRE(neg >= 0 || a->ttl == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc = hf_dns_msg_parse(data, size, &m);

	if (rc != 0) {
		REQUIRE(rc == HF_EMALFORMED || rc == HF_ENOTSUP);
		return 0;
	}
	REQUIRE(m.nrr == m.ancount + m.nscount + m.arcount);
	REQUIRE(m.question_end <= size);
	if (m.qname_len) {
		check_name_text(m.qname, m.qname_len);
		REQUIRE(hf_dns_name_is_sub(m.qname, m.qname_len, m.qname, m.qname_len));
	}
	rc = hf_dns_answer_build(&m, &lim, abuf, sizeof(abuf));
	if (rc < 0) {
		/* only a message without a question, or one that decompresses
		 * past 64 KiB, cannot be stored */
		REQUIRE((rc == HF_EMALFORMED && m.qname_len == 0) || rc == HF_ESPACE);
		return 0;
	}
	check_answer(rc);
	return 0;
}
