/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for dns/: the hot-path query parser, names, type mnemonics,
 * message parsing, query building and stored answers. Responses are real
 * packets captured from Knot DNS (example.com zone, see the comments) or
 * crafted by hand; no network needed.
 */
#include <stdint.h>
#include <stdlib.h>
#include "tests/unit/hf_test.h"
#include "dns/hf_dns.h"
#include "dns/hf_query.h"

/* ---- helpers ---- */

/* "\003www\007example\003com" + root */
static const uint8_t WWW_MIXED[] = "\003WwW\007ExAmPlE\003CoM";
static const uint8_t WWW_LOWER[] = "\003www\007example\003com";
#define WWW_LEN 17

/* Header + one question. name is wire form, nlen bytes (root included). */
static size_t mkq(uint8_t *b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		  uint16_t ar, const uint8_t *name, size_t nlen, uint16_t qtype, uint16_t qclass)
{
	hf_put16(b, id);
	hf_put16(b + 2, flags);
	hf_put16(b + 4, qd);
	hf_put16(b + 6, an);
	hf_put16(b + 8, ns);
	hf_put16(b + 10, ar);
	memcpy(b + 12, name, nlen);
	hf_put16(b + 12 + nlen, qtype);
	hf_put16(b + 14 + nlen, qclass);
	return 16 + nlen;
}

/* Append an OPT RR: udp size, version, DO, given RDATA. */
static size_t add_opt(uint8_t *b, size_t len, uint16_t udp, uint8_t version, bool do_bit,
		      const uint8_t *rdata, uint16_t rdlen)
{
	b[len] = 0;
	hf_put16(b + len + 1, HF_TYPE_OPT);
	hf_put16(b + len + 3, udp);
	b[len + 5] = 0;
	b[len + 6] = version;
	hf_put16(b + len + 7, do_bit ? HF_EDNS_DO : 0);
	hf_put16(b + len + 9, rdlen);
	if (rdlen)
		memcpy(b + len + 11, rdata, rdlen);
	return len + 11 + rdlen;
}

/* A standard www.example.com A IN query, optionally with OPT. */
static size_t std_query(uint8_t *b, bool edns)
{
	size_t len = mkq(b, 0xbeef, HF_DNS_RD, 1, 0, 0, edns ? 1 : 0, WWW_MIXED, WWW_LEN, HF_TYPE_A,
			 HF_CLASS_IN);
	if (edns)
		len = add_opt(b, len, 1232, 0, false, NULL, 0);
	return len;
}

/* Every parse whose question parsed also checks the name's CRC32-C. */
static enum hf_query_verdict qparse(const uint8_t *b, size_t len, struct hf_query *q,
				    uint8_t *lname)
{
	enum hf_query_verdict v = hf_query_parse(b, (uint16_t)len, q, lname);
	if (q->question_end != 0)
		CHECK_EQ(q->name_crc, hf_crc32c(lname, q->qname_len, 0));
	return v;
}

/* CRC32-C's check value (RFC 3720 B.4 convention: inverted in and out),
 * and the same bytes cut differently. */
static void test_crc32c(void)
{
	static const uint8_t digits[] = "123456789";
	uint32_t whole = hf_crc32c(digits, 9, 0);

	CHECK_EQ(~hf_crc32c(digits, 9, ~0u), 0xe3069283u);
	CHECK_EQ(hf_crc32c(digits + 5, 4, hf_crc32c(digits, 5, 0)), whole);
	CHECK_EQ(hf_crc32c_u8(hf_crc32c(digits, 8, 0), '9'), whole);
	CHECK_EQ(hf_crc32c(digits, 0, 0x1234u), 0x1234u);
}

/* ---- hf_query_parse ---- */

static void test_query_plain(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len = std_query(b, false);

	memset(lname, 0xaa, sizeof(lname));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.id, 0xbeef);
	CHECK_EQ(q.flags, HF_DNS_RD);
	CHECK_EQ(q.qtype, HF_TYPE_A);
	CHECK_EQ(q.qclass, HF_CLASS_IN);
	CHECK_EQ(q.qname_len, WWW_LEN);
	CHECK_EQ(q.question_end, 12 + WWW_LEN + 4);
	CHECK_EQ(q.udp_size, 512);
	CHECK_EQ(q.has_edns, 0);
	CHECK_EQ(q.do_bit, 0);
	CHECK_MEM(lname, WWW_LOWER, WWW_LEN);
	/* the packet keeps the client's case */
	CHECK_MEM(b + 12, WWW_MIXED, WWW_LEN);

	/* the root name */
	len = mkq(b, 1, 0, 1, 0, 0, 0, (const uint8_t *)"", 1, HF_TYPE_NS, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.qname_len, 1);
	CHECK_EQ(lname[0], 0);
	CHECK_EQ(q.question_end, 17);
}

static void test_query_edns(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len = mkq(b, 7, HF_DNS_RD | HF_DNS_CD, 1, 0, 0, 1, WWW_MIXED, WWW_LEN, HF_TYPE_AAAA,
			 HF_CLASS_IN);
	size_t qlen = len;

	len = add_opt(b, qlen, 4096, 0, true, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.has_edns, 1);
	CHECK_EQ(q.udp_size, 4096);
	CHECK_EQ(q.do_bit, 1);
	CHECK_EQ(q.edns_version, 0);
	CHECK_EQ(q.qtype, HF_TYPE_AAAA);
	CHECK_EQ(q.flags, HF_DNS_RD | HF_DNS_CD);
	CHECK_EQ(q.question_end, qlen);
	CHECK_MEM(lname, WWW_LOWER, WWW_LEN);

	/* small UDP sizes count as 512; DO clear */
	len = add_opt(b, qlen, 100, 0, false, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.udp_size, 512);
	CHECK_EQ(q.do_bit, 0);
	len = add_opt(b, qlen, 0, 0, false, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.udp_size, 512);
	len = add_opt(b, qlen, 513, 0, false, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.udp_size, 513);

	/* well-formed options: a client cookie and an empty padding option */
	static const uint8_t opts[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 0};
	len = add_opt(b, qlen, 1232, 0, true, opts, sizeof(opts));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.has_edns, 1);
	CHECK_EQ(q.udp_size, 1232);
}

static void test_query_drop(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len = std_query(b, false);

	CHECK_EQ(qparse(b, 0, &q, lname), HF_Q_DROP);
	CHECK_EQ(qparse(b, 11, &q, lname), HF_Q_DROP);
	/* exactly a header: trustworthy, but qdcount says 1 and nothing follows */
	CHECK_EQ(qparse(b, 12, &q, lname), HF_Q_FORMERR);
	hf_put16(b + 2, HF_DNS_QR | HF_DNS_RD);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_DROP);
	hf_put16(b + 2, HF_DNS_QR | (5 << 11));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_DROP);
}

static void test_query_notimp(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len;
	static const uint16_t meta[] = {HF_TYPE_IXFR, HF_TYPE_AXFR, HF_TYPE_MAILB, HF_TYPE_MAILA};

	/* opcode NOTIFY (4) and UPDATE (5) */
	len = mkq(b, 0x1234, 4 << 11, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_SOA, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_NOTIMP);
	CHECK_EQ(q.id, 0x1234);
	CHECK_EQ(q.flags, 4 << 11);
	hf_put16(b + 2, 5 << 11);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_NOTIMP);
	/* even with garbage counts the opcode decides */
	hf_put16(b + 4, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_NOTIMP);

	for (size_t i = 0; i < HF_ARRAY_LEN(meta); i++) {
		len = mkq(b, 1, 0, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, meta[i], HF_CLASS_IN);
		CHECK_EQ(qparse(b, len, &q, lname), HF_Q_NOTIMP);
		CHECK_EQ(q.qtype, meta[i]);
		CHECK_EQ(q.question_end, len);
	}
	/* AXFR with EDNS: NOTIMP, and the OPT is known so the reply can carry one */
	len = mkq(b, 1, 0, 1, 0, 0, 1, WWW_MIXED, WWW_LEN, HF_TYPE_AXFR, HF_CLASS_IN);
	len = add_opt(b, len, 1400, 0, true, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_NOTIMP);
	CHECK_EQ(q.has_edns, 1);
	CHECK_EQ(q.udp_size, 1400);
	CHECK_EQ(q.do_bit, 1);
	/* ANY (255) and type 250 are fine */
	len = mkq(b, 1, 0, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_ANY, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	len = mkq(b, 1, 0, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, 250, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
}

static void test_query_formerr_header(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len;

	len = mkq(b, 0x4242, HF_DNS_RD, 0, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	CHECK_EQ(q.id, 0x4242);
	CHECK_EQ(q.flags, HF_DNS_RD);
	CHECK_EQ(q.has_edns, 0);
	len = mkq(b, 1, 0, 2, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	len = mkq(b, 1, 0, 1, 1, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	len = mkq(b, 1, 0, 1, 0, 1, 0, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* arcount 2 with two OPTs */
	len = mkq(b, 1, 0, 1, 0, 0, 2, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_opt(b, len, 1232, 0, false, NULL, 0);
	len = add_opt(b, len, 1232, 0, false, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* arcount 1 but two OPTs on the wire: the second is trailing bytes */
	hf_put16(b + 10, 1);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
}

static void test_query_formerr_qname(void)
{
	uint8_t b[1024], lname[HF_QUERY_LNAME_SIZE], name[400];
	struct hf_query q;
	size_t len;

	/* compression pointer in the qname (to the header, and as the whole name) */
	static const uint8_t ptr1[] = "\003www\300\014";
	len = mkq(b, 1, 0, 1, 0, 0, 0, ptr1, 6, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	static const uint8_t ptr2[] = "\300\014";
	len = mkq(b, 1, 0, 1, 0, 0, 0, ptr2, 2, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);

	/* label types 0x40 and 0x80, and a label length of 64 (= type 0x40) */
	static const uint8_t t40[] = "\003www\100abc";
	len = mkq(b, 1, 0, 1, 0, 0, 0, t40, 9, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	static const uint8_t t80[] = "\200abc";
	len = mkq(b, 1, 0, 1, 0, 0, 0, t80, 5, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);

	/* label > 63: a 64-byte label */
	name[0] = 64;
	memset(name + 1, 'a', 64);
	name[65] = 0;
	len = mkq(b, 1, 0, 1, 0, 0, 0, name, 66, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* a 63-byte label is fine */
	name[0] = 63;
	name[64] = 0;
	len = mkq(b, 1, 0, 1, 0, 0, 0, name, 65, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.qname_len, 65);

	/* 255 bytes is the limit: 3 x 63-byte labels + a 61-byte label + root */
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		name[n] = 63;
		memset(name + n + 1, 'A' + i, 63);
		n += 64;
	}
	name[n] = 61;
	memset(name + n + 1, 'Z', 61);
	n += 62;
	name[n++] = 0;
	CHECK_EQ(n, 255);
	len = mkq(b, 1, 0, 1, 0, 0, 0, name, n, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.qname_len, 255);
	CHECK_EQ(lname[1], 'a');
	CHECK_EQ(lname[254], 0);
	CHECK_EQ(lname[253], 'z');
	/* 256 bytes: the last label one longer */
	name[192] = 62;
	memset(name + 193, 'Z', 62);
	name[255] = 0;
	len = mkq(b, 1, 0, 1, 0, 0, 0, name, 256, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* far longer: five 63-byte labels */
	n = 0;
	for (int i = 0; i < 5; i++) {
		name[n] = 63;
		memset(name + n + 1, 'x', 63);
		n += 64;
	}
	name[n++] = 0;
	len = mkq(b, 1, 0, 1, 0, 0, 0, name, n, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);

	/* name running past the end: every truncation of a good query */
	len = std_query(b, false);
	for (size_t cut = 12; cut < len; cut++)
		CHECK_EQ(qparse(b, cut, &q, lname), HF_Q_FORMERR);
	/* a label claiming more bytes than the packet has */
	len = mkq(b, 1, 0, 1, 0, 0, 0, (const uint8_t *)"\012abc", 4, HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(qparse(b, 16, &q, lname), HF_Q_FORMERR);
	(void)len;

	/* qtype OPT */
	len = mkq(b, 1, 0, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_OPT, HF_CLASS_IN);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
}

static void test_query_formerr_opt(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t qlen = mkq(b, 9, 0, 1, 0, 0, 1, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN), len;

	/* arcount 1 but no record */
	CHECK_EQ(qparse(b, qlen, &q, lname), HF_Q_FORMERR);
	/* OPT with a bad owner (a.) */
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	memmove(b + qlen + 2, b + qlen, len - qlen);
	b[qlen] = 1;
	b[qlen + 1] = 'a';
	b[qlen + 2] = 0;
	CHECK_EQ(qparse(b, len + 2, &q, lname), HF_Q_FORMERR);
	CHECK_EQ(q.has_edns, 0);
	/* OPT owner as a pointer to the root label of the qname */
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	memmove(b + qlen + 1, b + qlen, len - qlen);
	b[qlen] = 0xc0;
	b[qlen + 1] = (uint8_t)(12 + WWW_LEN - 1);
	CHECK_EQ(qparse(b, len + 1, &q, lname), HF_Q_FORMERR);
	/* an A record in the additional section instead of an OPT */
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	hf_put16(b + qlen + 1, HF_TYPE_A);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* OPT record truncated */
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	for (size_t cut = qlen; cut < len; cut++)
		CHECK_EQ(qparse(b, cut, &q, lname), HF_Q_FORMERR);
	/* rdlen running past the packet */
	static const uint8_t opt_cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	len = add_opt(b, qlen, 1232, 0, false, opt_cookie, sizeof(opt_cookie));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(qparse(b, len - 1, &q, lname), HF_Q_FORMERR);
	/* option overrunning rdlen: option says 9 bytes, rdlen leaves 8 (a
	 * padding option: a 9-byte cookie is FORMERR for its length alone) */
	b[len - 11] = HF_EDNS_OPT_PADDING;
	b[len - 9] = 9;
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	CHECK_EQ(q.has_edns, 0);
	/* option header cut by rdlen: rdlen 3 */
	static const uint8_t opt_short[] = {0, 10, 0};
	len = add_opt(b, qlen, 1232, 0, false, opt_short, sizeof(opt_short));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* trailing bytes after the OPT, and after a question without OPT */
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	b[len] = 0;
	CHECK_EQ(qparse(b, len + 1, &q, lname), HF_Q_FORMERR);
	len = std_query(b, false);
	b[len] = 0;
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(qparse(b, len + 1, &q, lname), HF_Q_FORMERR);
	CHECK_EQ(q.question_end, len);
}

/* RFC 7873 5.2.2: a COOKIE option of 8 bytes (client cookie) or 16..40
 * (client + server cookie) is fine, any other length is FORMERR, and the
 * FORMERR reply carries an OPT (the OPT itself parsed). */
static void test_query_cookie_length(void)
{
	static const struct {
		uint16_t len;
		enum hf_query_verdict v;
	} cases[] = {{0, HF_Q_FORMERR}, {3, HF_Q_FORMERR}, {7, HF_Q_FORMERR},
		     {8, HF_Q_OK},	{9, HF_Q_FORMERR}, {15, HF_Q_FORMERR},
		     {16, HF_Q_OK},	{40, HF_Q_OK},	   {41, HF_Q_FORMERR}};
	uint8_t b[512], opts[64], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t qlen = mkq(b, 10, HF_DNS_RD, 1, 0, 0, 1, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	size_t len;

	for (size_t i = 0; i < HF_ARRAY_LEN(cases); i++) {
		uint16_t n = cases[i].len;
		/* the cookie alone, then behind a padding option */
		for (size_t pad = 0; pad <= 4; pad += 4) {
			memset(opts, 0xa5, sizeof(opts));
			hf_put16(opts, HF_EDNS_OPT_PADDING);
			hf_put16(opts + 2, 0);
			hf_put16(opts + pad, HF_EDNS_OPT_COOKIE);
			hf_put16(opts + pad + 2, n);
			len = add_opt(b, qlen, 1400, 0, true, opts, (uint16_t)(pad + 4 + n));
			CHECK_EQ(qparse(b, len, &q, lname), cases[i].v);
			CHECK_EQ(q.has_edns, 1);
			CHECK_EQ(q.udp_size, 1400);
			CHECK_EQ(q.do_bit, 1);
			CHECK_EQ(q.question_end, qlen);
			/* a good one is located: its data behind the OPT
			 * header (11) and the padding option */
			CHECK_EQ(q.cookie_off, cases[i].v == HF_Q_OK ? qlen + 11 + pad + 4 : 0);
			CHECK_EQ(q.cookie_len, cases[i].v == HF_Q_OK ? n : 0);
		}
	}
	/* the first of two is the one (RFC 7873 5.2) */
	static const uint8_t first[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 0, 16,
					1, 2,  3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6,  7, 8};
	len = add_opt(b, qlen, 1232, 0, false, first, sizeof(first));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.cookie_off, qlen + 11 + 4);
	CHECK_EQ(q.cookie_len, 8);
	/* none without one */
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	CHECK_EQ(q.cookie_off, 0);
	/* other options have no such rule: a 3-byte padding option is fine */
	static const uint8_t pad3[] = {0, 12, 0, 3, 0, 0, 0};
	len = add_opt(b, qlen, 1232, 0, false, pad3, sizeof(pad3));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_OK);
	/* a bad cookie after a good one; and it wins over a class other than IN */
	static const uint8_t two[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 0, 3, 1, 2, 3};
	len = add_opt(b, qlen, 1232, 0, false, two, sizeof(two));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	hf_put16(b + qlen - 2, HF_CLASS_CH);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	/* a cookie length running past rdlen is still a malformed OPT (no OPT facts) */
	static const uint8_t over[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7};
	hf_put16(b + qlen - 2, HF_CLASS_IN);
	len = add_opt(b, qlen, 1232, 0, false, over, sizeof(over));
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	CHECK_EQ(q.has_edns, 0);
}

static void test_query_badvers(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t qlen =
		mkq(b, 0x77, HF_DNS_RD, 1, 0, 0, 1, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	size_t len = add_opt(b, qlen, 4096, 1, true, NULL, 0);

	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_BADVERS);
	CHECK_EQ(q.id, 0x77);
	CHECK_EQ(q.has_edns, 1);
	CHECK_EQ(q.edns_version, 1);
	CHECK_EQ(q.udp_size, 4096);
	CHECK_EQ(q.do_bit, 1);
	CHECK_EQ(q.question_end, qlen);
	CHECK_MEM(lname, WWW_LOWER, WWW_LEN);
	len = add_opt(b, qlen, 200, 255, false, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_BADVERS);
	CHECK_EQ(q.udp_size, 512);
	CHECK_EQ(q.do_bit, 0);
}

static void test_query_refused(void)
{
	uint8_t b[512], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len;

	len = mkq(b, 5, 0, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_TXT, HF_CLASS_CH);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_REFUSED);
	CHECK_EQ(q.qclass, HF_CLASS_CH);
	CHECK_EQ(q.qtype, HF_TYPE_TXT);
	CHECK_EQ(q.question_end, len);
	CHECK_MEM(lname, WWW_LOWER, WWW_LEN);
	len = mkq(b, 5, 0, 1, 0, 0, 0, WWW_MIXED, WWW_LEN, HF_TYPE_A, 255);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_REFUSED);
	/* checked after the OPT: the OPT facts are there for the reply */
	len = mkq(b, 5, 0, 1, 0, 0, 1, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_CH);
	size_t qlen = len;
	len = add_opt(b, len, 1232, 0, true, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_REFUSED);
	CHECK_EQ(q.has_edns, 1);
	CHECK_EQ(q.do_bit, 1);
	/* ... so a bad OPT wins over the class, and so does a bad version */
	len = add_opt(b, qlen, 1232, 0, true, (const uint8_t *)"\0\12\0", 3);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_FORMERR);
	len = add_opt(b, qlen, 1232, 1, true, NULL, 0);
	CHECK_EQ(qparse(b, len, &q, lname), HF_Q_BADVERS);
}

/* ---- names ---- */

static void test_name_unpack(void)
{
	/* offset 0: "example.com", offset 13: "www" + ptr 0, offset 19: ptr 13 */
	static const uint8_t msg[] = "\007example\003com\000\003www\300\000\300\015";
	uint8_t out[HF_DNS_NAME_MAX];
	size_t pos, olen;

	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(msg, 21, &pos, out, &olen), 0);
	CHECK_EQ(pos, 13);
	CHECK_EQ(olen, 13);
	CHECK_MEM(out, "\007example\003com", 13);
	pos = 13;
	CHECK_EQ(hf_dns_name_unpack(msg, 21, &pos, out, &olen), 0);
	CHECK_EQ(pos, 19); /* 4 bytes of label + 2 of pointer */
	CHECK_EQ(olen, 17);
	CHECK_MEM(out, "\003www\007example\003com", 17);
	pos = 19;
	CHECK_EQ(hf_dns_name_unpack(msg, 21, &pos, out, &olen), 0);
	CHECK_EQ(pos, 21); /* a pointer alone: 2 bytes */
	CHECK_EQ(olen, 17);
	CHECK_MEM(out, "\003www\007example\003com", 17);
	pos = 19;
	CHECK_EQ(hf_dns_name_skip(msg, 21, &pos), 0);
	CHECK_EQ(pos, 21);
	/* truncated: pointer with one byte, label past the end, no root label */
	pos = 19;
	CHECK_EQ(hf_dns_name_unpack(msg, 20, &pos, out, &olen), HF_EMALFORMED);
	pos = 13;
	CHECK_EQ(hf_dns_name_unpack(msg, 16, &pos, out, &olen), HF_EMALFORMED);
	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(msg, 12, &pos, out, &olen), HF_EMALFORMED);
	CHECK_EQ(pos, 0); /* unchanged on failure */
	pos = 21;
	CHECK_EQ(hf_dns_name_skip(msg, 21, &pos), HF_EMALFORMED);
}

static void test_name_unpack_loops(void)
{
	uint8_t out[HF_DNS_NAME_MAX];
	size_t pos, olen;

	/* self pointer */
	static const uint8_t self[] = {0, 0, 0xc0, 0x02};
	pos = 2;
	CHECK_EQ(hf_dns_name_unpack(self, sizeof(self), &pos, out, &olen), HF_EMALFORMED);
	CHECK_EQ(hf_dns_name_skip(self, sizeof(self), &pos), HF_EMALFORMED);
	/* forward pointer (to a perfectly good name) */
	static const uint8_t fwd[] = {0xc0, 0x02, 0x01, 'a', 0x00};
	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(fwd, sizeof(fwd), &pos, out, &olen), HF_EMALFORMED);
	/* two-pointer cycle: 0 -> 2 (forward) and 2 -> 0 (back, then forward) */
	static const uint8_t two[] = {0xc0, 0x02, 0xc0, 0x00};
	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(two, sizeof(two), &pos, out, &olen), HF_EMALFORMED);
	pos = 2;
	CHECK_EQ(hf_dns_name_unpack(two, sizeof(two), &pos, out, &olen), HF_EMALFORMED);
	CHECK_EQ(hf_dns_name_skip(two, sizeof(two), &pos), HF_EMALFORMED);
	/* a label then a pointer back to that label: a cycle through a label */
	static const uint8_t lab[] = {0x01, 'a', 0xc0, 0x00};
	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(lab, sizeof(lab), &pos, out, &olen), HF_EMALFORMED);
	/* two names pointing at each other's labels: 0:"a"->4, 4:"b"->0 */
	static const uint8_t cross[] = {0x01, 'a', 0xc0, 0x04, 0x01, 'b', 0xc0, 0x00};
	pos = 4;
	CHECK_EQ(hf_dns_name_unpack(cross, sizeof(cross), &pos, out, &olen), HF_EMALFORMED);
	/* label types 0x40 and 0x80 */
	static const uint8_t t40[] = {0x01, 'a', 0x41, 0x00};
	static const uint8_t t80[] = {0x80, 0x00};
	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(t40, sizeof(t40), &pos, out, &olen), HF_EMALFORMED);
	pos = 0;
	CHECK_EQ(hf_dns_name_unpack(t80, sizeof(t80), &pos, out, &olen), HF_EMALFORMED);
	/* a chain of backward pointers is fine: 4 -> 2 -> 0 */
	static const uint8_t chain[] = {0x00, 0x00, 0xc0, 0x00, 0xc0, 0x02};
	pos = 4;
	CHECK_EQ(hf_dns_name_unpack(chain, sizeof(chain), &pos, out, &olen), 0);
	CHECK_EQ(olen, 1);
	CHECK_EQ(pos, 6);
}

static void test_name_unpack_long(void)
{
	uint8_t msg[600], out[HF_DNS_NAME_MAX];
	size_t pos, olen, n = 0;

	/* offset 0: three 63-byte labels + root = 193 bytes */
	for (int i = 0; i < 3; i++) {
		msg[n] = 63;
		memset(msg + n + 1, 'a' + i, 63);
		n += 64;
	}
	msg[n++] = 0;
	CHECK_EQ(n, 193);
	/* 193: a 61-byte label + pointer to 0: 62 + 193 = 255, fine */
	msg[n] = 61;
	memset(msg + n + 1, 'x', 61);
	n += 62;
	msg[n++] = 0xc0;
	msg[n++] = 0;
	/* 257: a 62-byte label + pointer to 0: 256, too long */
	msg[n] = 62;
	memset(msg + n + 1, 'y', 62);
	n += 63;
	msg[n++] = 0xc0;
	msg[n++] = 0;
	pos = 193;
	CHECK_EQ(hf_dns_name_unpack(msg, n, &pos, out, &olen), 0);
	CHECK_EQ(olen, 255);
	CHECK_EQ(pos, 257);
	CHECK_EQ(out[0], 61);
	CHECK_EQ(out[62], 63);
	CHECK_EQ(out[254], 0);
	pos = 257;
	CHECK_EQ(hf_dns_name_unpack(msg, n, &pos, out, &olen), HF_EMALFORMED);
	pos = 257;
	CHECK_EQ(hf_dns_name_skip(msg, n, &pos), HF_EMALFORMED);
}

static void test_name_compare(void)
{
	static const uint8_t a[] = "\003WWW\007Example\003com";
	static const uint8_t b[] = "\003www\007example\003COM";
	static const uint8_t ex[] = "\007EXAMPLE\003com";
	static const uint8_t com[] = "\003com";
	static const uint8_t xex[] = "\010xexample\003com";
	static const uint8_t root[] = "";
	uint8_t c[32];

	CHECK(hf_dns_name_equal(a, 17, b, 17));
	CHECK(!hf_dns_name_equal(a, 17, ex, 13));
	CHECK(!hf_dns_name_equal(a, 17, (const uint8_t *)"\003wwx\007example\003com", 17));
	CHECK(hf_dns_name_is_sub(a, 17, b, 17));
	CHECK(hf_dns_name_is_sub(a, 17, ex, 13));
	CHECK(hf_dns_name_is_sub(a, 17, com, 5));
	CHECK(hf_dns_name_is_sub(a, 17, root, 1));
	CHECK(hf_dns_name_is_sub(root, 1, root, 1));
	CHECK(!hf_dns_name_is_sub(ex, 13, a, 17));
	CHECK(!hf_dns_name_is_sub(xex, 14, ex, 13)); /* not on a label boundary */
	CHECK(!hf_dns_name_is_sub(com, 5, ex, 13));
	CHECK(!hf_dns_name_is_sub(root, 1, com, 5));
	CHECK(hf_dns_name_on_path(a, 17, ex, 13) && hf_dns_name_on_path(ex, 13, a, 17));
	CHECK(hf_dns_name_on_path(root, 1, com, 5) && hf_dns_name_on_path(b, 17, a, 17));
	CHECK(!hf_dns_name_on_path(xex, 14, ex, 13) && !hf_dns_name_on_path(ex, 13, xex, 14));
	CHECK(!hf_dns_name_on_path(a, 17, (const uint8_t *)"\003org", 5));
	memcpy(c, a, 17);
	hf_dns_name_lower(c, 17);
	CHECK_MEM(c, "\003www\007example\003com", 17);
}

static void roundtrip(const char *str, const uint8_t *wire, size_t wlen, const char *canon)
{
	uint8_t out[HF_DNS_NAME_MAX];
	size_t olen = 0;
	char buf[1100];

	CHECK_EQ(hf_dns_name_from_str(str, out, &olen), 0);
	CHECK_EQ(olen, wlen);
	CHECK_MEM(out, wire, wlen);
	CHECK_EQ(hf_dns_name_to_str(out, olen, buf, sizeof(buf)), (int)strlen(canon));
	if (strcmp(buf, canon) != 0) {
		fprintf(stderr, "to_str: got '%s', want '%s'\n", buf, canon);
		hf_test_failed_checks++;
	}
	/* and back again */
	CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), 0);
	CHECK_EQ(olen, wlen);
	CHECK_MEM(out, wire, wlen);
}

static void test_name_str(void)
{
	uint8_t out[HF_DNS_NAME_MAX], name[300];
	size_t olen;
	char buf[1100];

	roundtrip("www.example.com", (const uint8_t *)"\003www\007example\003com", 17,
		  "www.example.com.");
	roundtrip("www.Example.COM.", (const uint8_t *)"\003www\007Example\003COM", 17,
		  "www.Example.COM.");
	roundtrip(".", (const uint8_t *)"", 1, ".");
	roundtrip("a\\.b.c", (const uint8_t *)"\003a.b\001c", 7, "a\\.b.c.");
	roundtrip("a\\\\b", (const uint8_t *)"\003a\\b", 5, "a\\\\b.");
	roundtrip("\\000\\255\\032x.", (const uint8_t *)"\004\000\377 x", 6, "\\000\\255\\032x.");
	roundtrip("\\065b", (const uint8_t *)"\002Ab", 4, "Ab.");
	roundtrip("a\\;b\\(c\\)\\\"\\@\\$", (const uint8_t *)"\011a;b(c)\"@$", 11,
		  "a\\;b\\(c\\)\\\"\\@\\$.");
	roundtrip("_sip._udp", (const uint8_t *)"\004_sip\004_udp", 11, "_sip._udp.");

	/* bad syntax */
	CHECK_EQ(hf_dns_name_from_str("", out, &olen), HF_EINVAL);
	CHECK_EQ(hf_dns_name_from_str("a..b", out, &olen), HF_EINVAL);
	CHECK_EQ(hf_dns_name_from_str(".a", out, &olen), HF_EINVAL);
	CHECK_EQ(hf_dns_name_from_str("..", out, &olen), HF_EINVAL);
	CHECK_EQ(hf_dns_name_from_str("a.\\", out, &olen), HF_EINVAL);
	CHECK_EQ(hf_dns_name_from_str("a\\25", out, &olen), HF_EINVAL);
	CHECK_EQ(hf_dns_name_from_str("a\\256", out, &olen), HF_EINVAL);
	/* a 63-byte label is fine, 64 is not */
	memset(buf, 'a', 64);
	buf[63] = 0;
	CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), 0);
	CHECK_EQ(olen, 65);
	buf[63] = 'a';
	buf[64] = 0;
	CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), HF_EINVAL);
	/* 255 wire bytes fine, 256 not: 3 x 63 + 61 and 3 x 63 + 62 */
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		memset(buf + n, 'b', 63);
		buf[n + 63] = '.';
		n += 64;
	}
	memset(buf + n, 'c', 61);
	buf[n + 61] = 0;
	CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), 0);
	CHECK_EQ(olen, 255);
	CHECK_EQ(hf_dns_name_to_str(out, olen, buf, sizeof(buf)), 254);
	buf[253] = 0; /* drop the trailing dot */
	strcat(buf, "c");
	CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), HF_EINVAL);
	/* escapes count one wire byte each */
	strcpy(buf + 192, "\\099\\099");
	memset(buf + 200, 'c', 59);
	buf[259] = 0;
	CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), 0);
	CHECK_EQ(olen, 255);

	/* to_str: small buffers, malformed wire names */
	static const uint8_t www[] = "\003www\007example\003com";
	CHECK_EQ(hf_dns_name_to_str(www, 17, buf, 17), 16);
	CHECK_EQ(hf_dns_name_to_str(www, 17, buf, 16), HF_ESPACE);
	CHECK_EQ(hf_dns_name_to_str((const uint8_t *)"", 1, buf, 1), HF_ESPACE);
	CHECK_EQ(hf_dns_name_to_str((const uint8_t *)"", 1, buf, 2), 1);
	CHECK_EQ(hf_dns_name_to_str(www, 16, buf, sizeof(buf)), HF_EINVAL);
	CHECK_EQ(hf_dns_name_to_str((const uint8_t *)"\005ab", 4, buf, sizeof(buf)), HF_EINVAL);
	CHECK_EQ(hf_dns_name_to_str((const uint8_t *)"\001a\000\000", 4, buf, sizeof(buf)),
		 HF_EINVAL);
	/* every byte value survives the round trip */
	for (int v = 0; v < 256; v += 4) {
		name[0] = 4;
		for (int k = 0; k < 4; k++)
			name[1 + k] = (uint8_t)(v + k);
		name[5] = 0;
		CHECK(hf_dns_name_to_str(name, 6, buf, sizeof(buf)) > 0);
		CHECK_EQ(hf_dns_name_from_str(buf, out, &olen), 0);
		CHECK_EQ(olen, 6);
		CHECK_MEM(out, name, 6);
	}
}

static void test_types(void)
{
	static const struct {
		const char *s;
		uint16_t t;
	} known[] = {
		{"A", 1},      {"NS", 2},	   {"CNAME", 5},  {"SOA", 6},	 {"PTR", 12},
		{"MX", 15},    {"TXT", 16},	   {"AAAA", 28},  {"SRV", 33},	 {"DNAME", 39},
		{"OPT", 41},   {"DS", 43},	   {"RRSIG", 46}, {"NSEC", 47},	 {"DNSKEY", 48},
		{"NSEC3", 50}, {"NSEC3PARAM", 51}, {"CAA", 257},  {"HTTPS", 65}, {"SVCB", 64},
		{"ANY", 255},  {"AXFR", 252},	   {"IXFR", 251}, {"TLSA", 52},	 {"CDS", 59},
	};
	char buf[16];
	uint16_t t;

	for (size_t i = 0; i < HF_ARRAY_LEN(known); i++) {
		t = 0;
		CHECK_EQ(hf_dns_type_from_str(known[i].s, &t), 0);
		CHECK_EQ(t, known[i].t);
		const char *s = hf_dns_type_to_str(known[i].t, buf, sizeof(buf));
		CHECK(s == buf && strcmp(buf, known[i].s) == 0);
	}
	CHECK_EQ(hf_dns_type_from_str("aaaa", &t), 0);
	CHECK_EQ(t, 28);
	CHECK_EQ(hf_dns_type_from_str("TYPE65000", &t), 0);
	CHECK_EQ(t, 65000);
	CHECK_EQ(hf_dns_type_from_str("type1", &t), 0);
	CHECK_EQ(t, 1);
	CHECK_EQ(hf_dns_type_from_str("TYPE0", &t), 0);
	CHECK_EQ(t, 0);
	CHECK_EQ(hf_dns_type_from_str("TYPE65535", &t), 0);
	CHECK_EQ(t, 65535);
	CHECK_EQ(hf_dns_type_from_str("TYPE65536", &t), HF_EINVAL);
	CHECK_EQ(hf_dns_type_from_str("TYPE", &t), HF_EINVAL);
	CHECK_EQ(hf_dns_type_from_str("TYPE12x", &t), HF_EINVAL);
	CHECK_EQ(hf_dns_type_from_str("TYPE0000001", &t), HF_EINVAL);
	CHECK_EQ(hf_dns_type_from_str("FOO", &t), HF_EINVAL);
	CHECK_EQ(hf_dns_type_from_str("", &t), HF_EINVAL);
	CHECK(strcmp(hf_dns_type_to_str(65000, buf, sizeof(buf)), "TYPE65000") == 0);
	CHECK(strcmp(hf_dns_type_to_str(0, buf, sizeof(buf)), "TYPE0") == 0);
	CHECK(strcmp(hf_dns_type_to_str(1, NULL, 0), "A") == 0);
	CHECK(hf_dns_type_to_str(65000, NULL, 0) == NULL);
	/* TYPEnnn for every number without a mnemonic round-trips */
	for (unsigned v = 0; v < 65536; v += 97) {
		CHECK_EQ(
			hf_dns_type_from_str(hf_dns_type_to_str((uint16_t)v, buf, sizeof(buf)), &t),
			0);
		CHECK_EQ(t, v);
	}
}

static void test_strerror(void)
{
	CHECK(strcmp(hf_strerror(0), "success") == 0);
	CHECK(strcmp(hf_strerror(HF_EMALFORMED), "malformed data") == 0);
	CHECK(strcmp(hf_strerror(12345), "unknown error") == 0);
	for (int e = HF_ENOTSUP; e <= 0; e++)
		CHECK(strcmp(hf_strerror(e), "unknown error") != 0);
}

/* ---- real responses from Knot DNS 3.2.6 (knotd), zone example.com ----
 * www_a: WWW.Example.COM A +dnssec (CNAME web, 2 A, OPT DO); mx: example.com MX
 * (+ glue A, OPT); nx: nonexist.example.com A (NXDOMAIN, SOA, OPT); nodata:
 * ns1.example.com TXT (no EDNS); ns: example.com NS (+ A, AAAA, A glue, OPT);
 * srv: _sip._udp.example.com SRV (+ A); dname: x.old.example.com A (DNAME +
 * CNAME); soa: example.com SOA (+ OPT). */
/* www_a WWW.Example.COM type 1: 94 bytes */
static const uint8_t resp_www_a[] = {
	0x10, 0x00, 0x84, 0x00, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x03, 0x57,
	0x57, 0x57, 0x07, 0x45, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x43, 0x4f, 0x4d,
	0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01,
	0x2c, 0x00, 0x06, 0x03, 0x77, 0x65, 0x62, 0xc0, 0x10, 0xc0, 0x2d, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0a, 0xc0, 0x2d, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0b, 0x00,
	0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};
/* mx example.com type 15: 77 bytes */
static const uint8_t resp_mx[] = {
	0x10, 0x01, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x07,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00,
	0x0f, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
	0x00, 0x09, 0x00, 0x0a, 0x04, 0x6d, 0x61, 0x69, 0x6c, 0xc0, 0x0c, 0xc0, 0x2b,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0xc0, 0x00, 0x02,
	0x19, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* nx nonexist.example.com type 1: 100 bytes */
static const uint8_t resp_nx[] = {
	0x10, 0x02, 0x84, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x08, 0x6e, 0x6f,
	0x6e, 0x65, 0x78, 0x69, 0x73, 0x74, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03,
	0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x15, 0x00, 0x06, 0x00, 0x01, 0x00,
	0x00, 0x01, 0x2c, 0x00, 0x27, 0x03, 0x6e, 0x73, 0x31, 0xc0, 0x15, 0x0a, 0x68, 0x6f, 0x73,
	0x74, 0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0xc0, 0x15, 0x78, 0xc3, 0x13, 0xc5, 0x00, 0x00,
	0x1c, 0x20, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00, 0x01, 0x2c, 0x00,
	0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* nodata ns1.example.com type 16: 80 bytes */
static const uint8_t resp_nodata[] = {
	0x10, 0x03, 0x84, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0x6e,
	0x73, 0x31, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d,
	0x00, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x10, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01,
	0x2c, 0x00, 0x23, 0xc0, 0x0c, 0x0a, 0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61, 0x73, 0x74,
	0x65, 0x72, 0xc0, 0x10, 0x78, 0xc3, 0x13, 0xc5, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00,
	0x0e, 0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00, 0x01, 0x2c,
};
/* ns example.com type 2: 136 bytes */
static const uint8_t resp_ns[] = {
	0x10, 0x04, 0x84, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x07, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x02, 0x00,
	0x01, 0xc0, 0x0c, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00, 0x06, 0x03,
	0x6e, 0x73, 0x31, 0xc0, 0x0c, 0xc0, 0x0c, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x51,
	0x80, 0x00, 0x06, 0x03, 0x6e, 0x73, 0x32, 0xc0, 0x0c, 0xc0, 0x29, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x29, 0x00,
	0x1c, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x3b, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x02, 0x00,
	0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* srv _sip._udp.example.com type 33: 90 bytes */
static const uint8_t resp_srv[] = {
	0x10, 0x05, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x5f, 0x73,
	0x69, 0x70, 0x04, 0x5f, 0x75, 0x64, 0x70, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
	0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x21, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01,
	0x00, 0x00, 0x0e, 0x10, 0x00, 0x17, 0x00, 0x0a, 0x00, 0x14, 0x13, 0xc4, 0x03, 0x73, 0x69,
	0x70, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0xc0,
	0x39, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x1e,
};
/* dname x.old.example.com type 1: 87 bytes */
static const uint8_t resp_dname[] = {
	0x10, 0x06, 0x84, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x78, 0x03,
	0x6f, 0x6c, 0x64, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d,
	0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0e, 0x00, 0x27, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
	0x00, 0x0d, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6e, 0x65, 0x74, 0x00,
	0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x0f, 0x01, 0x78, 0x07,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6e, 0x65, 0x74, 0x00,
};
/* soa example.com type 6: 91 bytes */
static const uint8_t resp_soa[] = {
	0x10, 0x07, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00,
	0x06, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
	0x00, 0x27, 0x03, 0x6e, 0x73, 0x31, 0xc0, 0x0c, 0x0a, 0x68, 0x6f, 0x73, 0x74,
	0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0xc0, 0x0c, 0x78, 0xc3, 0x13, 0xc5, 0x00,
	0x00, 0x1c, 0x20, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00,
	0x01, 0x2c, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* ---- hf_dns_msg_parse ---- */

static struct hf_dns_msg msg_a, msg_b; /* big: keep them off the stack */

static void test_msg_parse_real(void)
{
	struct hf_dns_msg *m = &msg_a;
	uint8_t name[HF_DNS_NAME_MAX];
	size_t pos, nlen;

	CHECK_EQ(hf_dns_msg_parse(resp_www_a, sizeof(resp_www_a), m), 0);
	CHECK_EQ(m->id, 0x1000);
	CHECK_EQ(m->flags, HF_DNS_QR | HF_DNS_AA);
	CHECK_EQ(m->rcode, 0);
	CHECK_EQ(m->qdcount, 1);
	CHECK_EQ(m->ancount, 3);
	CHECK_EQ(m->nscount, 0);
	CHECK_EQ(m->arcount, 1);
	CHECK_EQ(m->qname_len, 17);
	CHECK_MEM(m->qname, "\003WWW\007Example\003COM", 17);
	CHECK_EQ(m->qtype, HF_TYPE_A);
	CHECK_EQ(m->qclass, HF_CLASS_IN);
	CHECK_EQ(m->question_end, 33);
	CHECK_EQ(m->nrr, 4);
	CHECK(m->has_opt);
	CHECK_EQ(m->opt_rr, 3);
	CHECK_EQ(m->opt_udp_size, 1232);
	CHECK(m->opt_do);
	CHECK_EQ(m->opt_version, 0);
	CHECK_EQ(m->ede, HF_EDE_NONE);
	/* www CNAME web: owner is a pointer to the question */
	CHECK_EQ(m->rr[0].owner_off, 33);
	CHECK_EQ(m->rr[0].type, HF_TYPE_CNAME);
	CHECK_EQ(m->rr[0].rclass, HF_CLASS_IN);
	CHECK_EQ(m->rr[0].ttl, 300);
	CHECK_EQ(m->rr[0].ttl_off, 39);
	CHECK_EQ(m->rr[0].rdlen, 6);
	CHECK_EQ(m->rr[0].rdata_off, 45);
	CHECK_EQ(m->rr[0].section, HF_SEC_ANSWER);
	CHECK_EQ(m->rr[1].type, HF_TYPE_A);
	CHECK_EQ(m->rr[1].ttl, 120);
	CHECK_MEM(resp_www_a + m->rr[1].rdata_off, "\300\000\002\012", 4);
	CHECK_MEM(resp_www_a + m->rr[2].rdata_off, "\300\000\002\013", 4);
	CHECK_EQ(m->rr[3].type, HF_TYPE_OPT);
	CHECK_EQ(m->rr[3].section, HF_SEC_ADDITIONAL);
	/* owner of the A records: a pointer into the CNAME's RDATA */
	pos = m->rr[1].owner_off;
	CHECK_EQ(hf_dns_name_unpack(resp_www_a, sizeof(resp_www_a), &pos, name, &nlen), 0);
	CHECK_EQ(nlen, 17);
	CHECK_MEM(name, "\003web\007Example\003COM", 17);
	pos = m->rr[0].rdata_off;
	CHECK_EQ(hf_dns_name_unpack(resp_www_a, sizeof(resp_www_a), &pos, name, &nlen), 0);
	CHECK_MEM(name, "\003web\007Example\003COM", 17);

	/* NS with glue: names in NS RDATA are compressed */
	CHECK_EQ(hf_dns_msg_parse(resp_ns, sizeof(resp_ns), m), 0);
	CHECK_EQ(m->nrr, 6);
	CHECK_EQ(m->rr[0].type, HF_TYPE_NS);
	CHECK_EQ(m->rr[0].ttl, 86400);
	CHECK_EQ(m->rr[2].section, HF_SEC_ADDITIONAL);
	CHECK_EQ(m->rr[3].type, HF_TYPE_AAAA);
	CHECK_EQ(m->opt_rr, 5);
	CHECK(!m->opt_do);
	pos = m->rr[1].rdata_off;
	CHECK_EQ(hf_dns_name_unpack(resp_ns, sizeof(resp_ns), &pos, name, &nlen), 0);
	CHECK_MEM(name, "\003ns2\007example\003com", 17);

	/* the others */
	CHECK_EQ(hf_dns_msg_parse(resp_nx, sizeof(resp_nx), m), 0);
	CHECK_EQ(m->rcode, HF_RCODE_NXDOMAIN);
	CHECK_EQ(m->rr[0].type, HF_TYPE_SOA);
	CHECK_EQ(m->rr[0].section, HF_SEC_AUTHORITY);
	CHECK_EQ(hf_dns_msg_parse(resp_nodata, sizeof(resp_nodata), m), 0);
	CHECK(!m->has_opt);
	CHECK_EQ(hf_dns_msg_parse(resp_mx, sizeof(resp_mx), m), 0);
	CHECK_EQ(hf_dns_msg_parse(resp_srv, sizeof(resp_srv), m), 0);
	CHECK_EQ(hf_dns_msg_parse(resp_dname, sizeof(resp_dname), m), 0);
	CHECK_EQ(m->rr[0].type, HF_TYPE_DNAME);
	CHECK_EQ(hf_dns_msg_parse(resp_soa, sizeof(resp_soa), m), 0);
}

static void test_msg_parse_truncated(void)
{
	static const struct {
		const uint8_t *p;
		size_t len;
	} all[] = {
		{resp_www_a, sizeof(resp_www_a)}, {resp_mx, sizeof(resp_mx)},
		{resp_nx, sizeof(resp_nx)},	  {resp_nodata, sizeof(resp_nodata)},
		{resp_ns, sizeof(resp_ns)},	  {resp_srv, sizeof(resp_srv)},
		{resp_dname, sizeof(resp_dname)}, {resp_soa, sizeof(resp_soa)},
	};
	uint8_t b[600];

	for (size_t i = 0; i < HF_ARRAY_LEN(all); i++) {
		/* every cut is malformed (through a heap copy of exactly that size,
		 * so a sanitizer sees any read past the end) */
		for (size_t cut = 0; cut < all[i].len; cut++) {
			uint8_t *h = malloc(cut ? cut : 1);
			memcpy(h, all[i].p, cut);
			CHECK_EQ(hf_dns_msg_parse(h, cut, &msg_a), HF_EMALFORMED);
			free(h);
		}
		/* trailing bytes */
		memcpy(b, all[i].p, all[i].len);
		b[all[i].len] = 0;
		CHECK_EQ(hf_dns_msg_parse(b, all[i].len + 1, &msg_a), HF_EMALFORMED);
		CHECK_EQ(hf_dns_msg_parse(b, all[i].len, &msg_a), 0);
	}
}

/* Append an RR: owner (wire, may hold a pointer), type, ttl, rdata. */
static size_t add_rr(uint8_t *b, size_t len, const void *owner, size_t olen, uint16_t type,
		     uint32_t ttl, const void *rdata, size_t rdlen)
{
	memcpy(b + len, owner, olen);
	len += olen;
	hf_put16(b + len, type);
	hf_put16(b + len + 2, HF_CLASS_IN);
	hf_put32(b + len + 4, ttl);
	hf_put16(b + len + 8, (uint16_t)rdlen);
	memcpy(b + len + 10, rdata, rdlen);
	return len + 10 + rdlen;
}

#define QPTR "\300\014" /* pointer to the question name */

static void test_msg_parse_opt(void)
{
	struct hf_dns_msg *m = &msg_a;
	uint8_t b[512];
	size_t qlen, len;
	static const uint8_t ede[] = {0, 15, 0, 6, 0, 22, 'd', 'o', 'w', 'n', /* EDE 22 "down" */
				      0, 15, 0, 2, 0, 6};		      /* EDE 6 */

	/* SERVFAIL + EDE 22 and EDE 6: the first one counts */
	qlen = mkq(b, 1, HF_DNS_QR | HF_RCODE_SERVFAIL, 1, 0, 0, 1, WWW_LOWER, WWW_LEN, HF_TYPE_A,
		   HF_CLASS_IN);
	len = add_opt(b, qlen, 1232, 0, true, ede, sizeof(ede));
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->rcode, HF_RCODE_SERVFAIL);
	CHECK_EQ(m->ede, HF_EDE_NO_REACHABLE_AUTHORITY);
	CHECK(m->opt_do);
	/* extended rcode: OPT TTL high byte 1 + header 0 = BADVERS (16) */
	b[qlen + 5] = 1;
	hf_put16(b + 2, HF_DNS_QR);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->rcode, HF_RCODE_BADVERS);
	b[qlen + 5] = 0x12;
	hf_put16(b + 2, HF_DNS_QR | 3);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->rcode, 0x123);
	/* an EDE too short for its info code is ignored; the next one counts */
	static const uint8_t ede_short[] = {0, 15, 0, 1, 9, 0, 15, 0, 2, 0, 7};
	len = add_opt(b, qlen, 1232, 0, false, ede_short, sizeof(ede_short));
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->ede, HF_EDE_SIGNATURE_EXPIRED);
	/* option overrunning rdlen */
	len = add_opt(b, qlen, 1232, 0, false, ede, sizeof(ede) - 1);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	len = add_opt(b, qlen, 1232, 0, false, ede, 3);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* two OPTs */
	hf_put16(b + 10, 2);
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	len = add_opt(b, len, 1232, 0, false, NULL, 0);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* OPT with a non-root owner */
	hf_put16(b + 10, 1);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_OPT, 0, "", 0);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* OPT in the answer section, and in the authority section */
	hf_put16(b + 6, 1);
	hf_put16(b + 10, 0);
	len = add_opt(b, qlen, 1232, 0, false, NULL, 0);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	hf_put16(b + 6, 0);
	hf_put16(b + 8, 1);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	hf_put16(b + 8, 0);
	hf_put16(b + 10, 1);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->opt_rr, 0);
	CHECK_EQ(m->ede, HF_EDE_NONE);
}

static void test_msg_parse_rdata(void)
{
	struct hf_dns_msg *m = &msg_a;
	uint8_t b[512];
	size_t qlen, len;

	qlen = mkq(b, 1, HF_DNS_QR, 1, 1, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	/* CNAME: a name that fills RDATA exactly, compressed or not */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_CNAME, 60, "\003web\300\020", 6);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	/* one byte short, one byte extra, name running past RDATA */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_CNAME, 60, "\003web\300\020\000", 7);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_CNAME, 60, "\003web\300", 5);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_CNAME, 60, "\003web", 4);
	b[len++] = 0; /* the root label sits just after the RDATA */
	hf_put16(b + 6, 1);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* a pointer loop inside RDATA: the name points at itself */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_NS, 60, "\300\000", 2);
	hf_put16(b + len - 2, (uint16_t)(0xc000 | (len - 2)));
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* PTR with a forward pointer */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_PTR, 60, "\300\377", 2);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* MX: preference + name; too short */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_MX, 60, "\000\012\004mail\300\020", 9);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_MX, 60, "\000\012", 2);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* SOA: two names and 20 bytes; 19 or 21 bytes are malformed */
	uint8_t soa[64];
	memcpy(soa, "\003ns1\300\020\012hostmaster\300\020", 19);
	memset(soa + 19, 1, 21);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_SOA, 60, soa, 39);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_SOA, 60, soa, 38);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_SOA, 60, soa, 40);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* SRV and DNAME: uncompressed on the wire, but compressed is accepted */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_SRV, 60, "\000\001\000\002\023\304\300\020", 8);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_SRV, 60, "\000\001\000\002\023", 5);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_DNAME, 60, "\300\020", 2);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_DNAME, 60, "\003net", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* opaque RDATA of any length, even empty */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_TXT, 60, "", 0);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_RRSIG, 60, "\300\020", 2);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	/* RDATA running past the message */
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_A, 60, "\001\002\003\004", 4);
	hf_put16(b + len - 6, 5);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* a bad owner name */
	len = add_rr(b, qlen, "\300\377", 2, HF_TYPE_A, 60, "\001\002\003\004", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
}

static void test_msg_parse_counts(void)
{
	struct hf_dns_msg *m = &msg_a;
	static uint8_t b[16 * 600];
	size_t qlen, len;

	/* a header alone (qdcount 0) parses; a short header does not */
	qlen = mkq(b, 1, HF_DNS_QR | HF_RCODE_FORMERR, 0, 0, 0, 0, WWW_LOWER, WWW_LEN, 1, 1);
	CHECK_EQ(hf_dns_msg_parse(b, 12, m), 0);
	CHECK_EQ(m->qname_len, 0);
	CHECK_EQ(m->question_end, 12);
	CHECK_EQ(m->rcode, HF_RCODE_FORMERR);
	CHECK_EQ(hf_dns_msg_parse(b, 11, m), HF_EMALFORMED);
	/* qdcount 2 */
	hf_put16(b + 4, 2);
	len = qlen;
	memcpy(b + len, b + 12, qlen - 12);
	len += qlen - 12;
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* a count larger than the records there */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 2, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_A, 60, "\001\002\003\004", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_EMALFORMED);
	/* 512 records parse, 513 are not supported */
	len = qlen;
	for (int i = 0; i < 513; i++)
		len = add_rr(b, len, QPTR, 2, HF_TYPE_A, (uint32_t)i, "\001\002\003\004", 4);
	hf_put16(b + 6, 200);
	hf_put16(b + 8, 200);
	hf_put16(b + 10, 112);
	CHECK_EQ(hf_dns_msg_parse(b, len - 16, m), 0);
	CHECK_EQ(m->nrr, 512);
	CHECK_EQ(m->rr[199].section, HF_SEC_ANSWER);
	CHECK_EQ(m->rr[200].section, HF_SEC_AUTHORITY);
	CHECK_EQ(m->rr[400].section, HF_SEC_ADDITIONAL);
	CHECK_EQ(m->rr[511].ttl, 511);
	hf_put16(b + 10, 113);
	CHECK_EQ(hf_dns_msg_parse(b, len, m), HF_ENOTSUP);
}

/* ---- hf_dns_query_build ---- */

static void test_query_build(void)
{
	uint8_t b[128], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	static const uint8_t want[] = {
		0x12, 0x34, 0x01, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* header */
		3,    'w',  'w',  'w',	7,    'e',  'x',  'a',	'm',  'p',  'l',  'e',
		3,    'c',  'o',  'm',	0,    0x00, 0x1c, 0x00, 0x01,		  /* AAAA IN */
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, /* OPT */
	};

	CHECK_EQ(hf_dns_query_build(b, sizeof(b), 0x1234, HF_DNS_RD | HF_DNS_CD, WWW_LOWER, WWW_LEN,
				    HF_TYPE_AAAA, HF_CLASS_IN, true, 1232, true),
		 (int)sizeof(want));
	CHECK_MEM(b, want, sizeof(want));
	CHECK_EQ(hf_query_parse(b, sizeof(want), &q, lname), HF_Q_OK);
	CHECK_EQ(q.do_bit, 1);
	CHECK_EQ(q.udp_size, 1232);
	CHECK_EQ(hf_dns_msg_parse(b, sizeof(want), &msg_a), 0);
	CHECK(msg_a.has_opt && msg_a.opt_do);

	/* no EDNS: arcount 0, no OPT */
	CHECK_EQ(hf_dns_query_build(b, sizeof(b), 0x1234, HF_DNS_RD | HF_DNS_CD, WWW_LOWER, WWW_LEN,
				    HF_TYPE_AAAA, HF_CLASS_IN, false, 1232, true),
		 33);
	CHECK_MEM(b, want, 10);
	CHECK_EQ(b[11], 0);
	CHECK_MEM(b + 12, want + 12, 21);
	/* DO clear */
	CHECK_EQ(hf_dns_query_build(b, sizeof(b), 1, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN,
				    true, 4096, false),
		 44);
	CHECK_EQ(hf_get16(b + 33 + 3), 4096);
	CHECK_EQ(hf_get16(b + 33 + 7), 0);
	/* too small a buffer, bad names */
	CHECK_EQ(hf_dns_query_build(b, 43, 1, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN, true,
				    4096, false),
		 HF_ESPACE);
	CHECK_EQ(hf_dns_query_build(b, 32, 1, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN, false,
				    0, false),
		 HF_ESPACE);
	CHECK_EQ(hf_dns_query_build(b, sizeof(b), 1, 0, WWW_LOWER, WWW_LEN - 1, HF_TYPE_A,
				    HF_CLASS_IN, false, 0, false),
		 HF_EINVAL);
	CHECK_EQ(hf_dns_query_build(b, sizeof(b), 1, 0, (const uint8_t *)"\001a\300\000", 4,
				    HF_TYPE_A, HF_CLASS_IN, false, 0, false),
		 HF_EINVAL);
	CHECK_EQ(hf_dns_query_build(b, sizeof(b), 1, 0, (const uint8_t *)"", 1, HF_TYPE_NS,
				    HF_CLASS_IN, false, 0, false),
		 17);
}

/* ---- stored answers ---- */

static uint8_t abuf[65536] __attribute__((aligned(8)));
static uint8_t rebuf[65536];

static const struct hf_dns_answer *ans(void)
{
	return (const struct hf_dns_answer *)(const void *)abuf;
}

static uint16_t ttl_off(const struct hf_dns_answer *a, unsigned i)
{
	return hf_dns_answer_ttl_offs(a)[i];
}

/* Header + the question (qname in the client's case) + the stored body. */
static size_t reassemble(const struct hf_dns_answer *a, const uint8_t *qname, uint16_t qtype,
			 uint8_t *out)
{
	size_t len = mkq(out, 0x4321, HF_DNS_QR | HF_DNS_RA | a->rcode, 1, a->ancount, a->nscount,
			 a->arcount, qname, a->qname_len, qtype, HF_CLASS_IN);
	memcpy(out + len, hf_dns_answer_body(a), a->body_len);
	return len + a->body_len;
}

/* RDATA with its names decompressed and lower-cased. */
static int rdata_canon(const struct hf_dns_msg *m, const struct hf_dns_rr *rr, uint8_t *out,
		       size_t *olen)
{
	const uint8_t *layout = hf_dns_rdata_layout(rr->type);
	size_t off = rr->rdata_off, end = off + rr->rdlen, n = 0, l;

	if (!layout) {
		memcpy(out, m->wire + off, rr->rdlen);
		*olen = rr->rdlen;
		return 0;
	}
	for (; *layout != HF_RDF_END; layout++) {
		if (*layout >= HF_RDF_CNAME) {
			if (hf_dns_name_unpack(m->wire, end, &off, out + n, &l) < 0)
				return -1;
			hf_dns_name_lower(out + n, l);
			n += l;
		} else {
			memcpy(out + n, m->wire + off, *layout);
			off += *layout;
			n += *layout;
		}
	}
	*olen = n;
	return off == end ? 0 : -1;
}

static uint32_t ttl_fix(uint32_t t)
{
	return (t & 0x80000000u) ? 0 : t;
}

/*
 * The re-parsed message `re` holds the same RRs as `orig` minus its OPT:
 * sections, owners (decompressed), types, classes, RDATA (names
 * decompressed), TTLs clamped to [min_ttl, max_ttl] (the RR at index neg_idx of the
 * stored ones carries neg_ttl instead).
 */
static void check_same_rrs(const struct hf_dns_msg *orig, const struct hf_dns_msg *re,
			   uint32_t min_ttl, uint32_t max_ttl, int neg_idx, uint32_t neg_ttl)
{
	static uint8_t c1[65536], c2[65536];
	unsigned j = 0;

	CHECK_EQ(re->nrr, orig->nrr - (orig->has_opt ? 1 : 0));
	CHECK(!re->has_opt);
	for (unsigned i = 0; i < orig->nrr && j < re->nrr; i++) {
		const struct hf_dns_rr *a = &orig->rr[i], *b = &re->rr[j];
		uint8_t n1[HF_DNS_NAME_MAX], n2[HF_DNS_NAME_MAX];
		size_t p1 = a->owner_off, p2 = b->owner_off, l1 = 0, l2 = 0;

		if (orig->has_opt && i == orig->opt_rr)
			continue;
		CHECK_EQ(hf_dns_name_unpack(orig->wire, orig->len, &p1, n1, &l1), 0);
		CHECK_EQ(hf_dns_name_unpack(re->wire, re->len, &p2, n2, &l2), 0);
		CHECK(hf_dns_name_equal(n1, l1, n2, l2));
		CHECK_EQ(a->section, b->section);
		CHECK_EQ(a->type, b->type);
		CHECK_EQ(a->rclass, b->rclass);
		if ((int)j == neg_idx)
			CHECK_EQ(b->ttl, neg_ttl);
		else
			CHECK_EQ(b->ttl, HF_MAX(HF_MIN(ttl_fix(a->ttl), max_ttl), min_ttl));
		CHECK_EQ(rdata_canon(orig, a, c1, &l1), 0);
		CHECK_EQ(rdata_canon(re, b, c2, &l2), 0);
		CHECK_EQ(l1, l2);
		CHECK_MEM(c1, c2, l1);
		j++;
	}
	CHECK_EQ(j, re->nrr);
}

/* The stored TTLs are where ttl_off[] says: after type and class. */
static void check_ttl_offs(const struct hf_dns_answer *a, const struct hf_dns_msg *re,
			   size_t body_at)
{
	CHECK_EQ(a->nttl, re->nrr);
	for (unsigned i = 0; i < a->nttl && i < re->nrr; i++)
		CHECK_EQ(ttl_off(a, i) + body_at, re->rr[i].ttl_off);
}

/* build -> reassemble (question in `qname` case) -> parse -> compare */
static void build_and_check(const uint8_t *resp, size_t len, const struct hf_dns_answer_limits *lim,
			    const uint8_t *qname, int neg_idx, uint32_t neg_ttl)
{
	int size;

	CHECK_EQ(hf_dns_msg_parse(resp, len, &msg_a), 0);
	size = hf_dns_answer_build(&msg_a, lim, abuf, sizeof(abuf));
	CHECK(size > 0);
	if (size <= 0)
		return;
	CHECK_EQ((size_t)size, hf_dns_answer_size(ans()));
	size_t rlen = reassemble(ans(), qname ? qname : msg_a.qname, msg_a.qtype, rebuf);
	CHECK_EQ(hf_dns_msg_parse(rebuf, rlen, &msg_b), 0);
	check_same_rrs(&msg_a, &msg_b, lim->min_ttl, lim->max_ttl, neg_idx, neg_ttl);
	check_ttl_offs(ans(), &msg_b, 16u + msg_a.qname_len);
	/* re-encoding never grows a message that was compressed well, unless
	 * names we never compress (SRV, DNAME) were compressed or pointed into */
	bool plain = true;
	for (unsigned i = 0; i < msg_a.nrr; i++) {
		const uint8_t *l = hf_dns_rdata_layout(msg_a.rr[i].type);
		for (; l && *l != HF_RDF_END; l++)
			plain = plain && *l != HF_RDF_NAME;
	}
	if (plain)
		CHECK(ans()->body_len <= len - msg_a.question_end);
}

static const struct hf_dns_answer_limits lim_wide = {86400 * 7, 0, 86400};

static void test_answer_positive(void)
{
	struct hf_dns_answer_limits lim = {200, 10, 3600};
	const struct hf_dns_answer *a = ans();
	int size;

	CHECK_EQ(hf_dns_msg_parse(resp_www_a, sizeof(resp_www_a), &msg_a), 0);
	size = hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf));
	CHECK_EQ(size, 24 + 2 * 3 + 50);
	CHECK_EQ(sizeof(struct hf_dns_answer), 24);
	CHECK_EQ(a->kind, HF_ANS_POSITIVE);
	CHECK_EQ(a->rcode, 0);
	CHECK_EQ(a->security, HF_SECURITY_INSECURE);
	CHECK_EQ(a->ede, HF_EDE_NONE);
	CHECK_EQ(a->ede_text_len, 0);
	CHECK_EQ(a->qname_len, 17);
	CHECK_EQ(a->ancount, 3);
	CHECK_EQ(a->nscount, 0);
	CHECK_EQ(a->arcount, 0); /* the OPT is dropped */
	CHECK_EQ(a->nttl, 3);
	CHECK_EQ(a->body_len, 50);
	CHECK_EQ(a->ttl, 120); /* min(300, 120, 120) */
	CHECK_EQ(ttl_off(a, 0), 6);
	CHECK_EQ(ttl_off(a, 1), 24);
	CHECK_EQ(ttl_off(a, 2), 40);
	/* exactly the records as Knot compressed them, CNAME TTL capped at 200 */
	static const uint8_t want[] = {
		0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc8, 0x00, 0x06, /* CNAME */
		0x03, 'w',  'e',  'b',	0xc0, 0x10, /* web.<12+4> */
		0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, /* A */
		0xc0, 0x00, 0x02, 0x0a, 0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x78, 0x00, 0x04, /* A */
		0xc0, 0x00, 0x02, 0x0b,
	};
	CHECK_MEM(hf_dns_answer_body(a), want, sizeof(want));
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 200);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 1)), 120);
	CHECK_EQ(hf_get16(hf_dns_answer_body(a) + ttl_off(a, 2) - 4), HF_TYPE_A);
	CHECK_EQ(hf_dns_answer_ede_text(a), abuf + size);

	/* the client asked in another case: the body still fits behind it */
	build_and_check(resp_www_a, sizeof(resp_www_a), &lim, WWW_LOWER, -1, 0);
	CHECK_MEM(msg_b.qname, WWW_LOWER, WWW_LEN);

	/* min_ttl raises the lifetime and every stored TTL below it */
	lim = (struct hf_dns_answer_limits){1000, 500, 3600};
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ttl, 500);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 500);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 2)), 500);
	lim = (struct hf_dns_answer_limits){60, 0, 3600};
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ttl, 60);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, i)), 60);
}

/* A signed-looking message: www.ex. A + RRSIG (answer), ex. SOA + RRSIG,
 * NSEC + RRSIG (authority), OPT. qtype given. */
static size_t dnssec_msg(uint8_t *b, uint16_t qtype, uint16_t rcode)
{
	static const uint8_t q[] = "\3www\2ex";
	size_t p = 12;
	memset(b, 0, 12);
	hf_put16(b + 2, (uint16_t)(HF_DNS_QR | rcode));
	hf_put16(b + 4, 1);
	hf_put16(b + 6, 2);
	hf_put16(b + 8, 4);
	hf_put16(b + 10, 1);
	memcpy(b + p, q, sizeof(q));
	p += sizeof(q);
	hf_put16(b + p, qtype);
	hf_put16(b + p + 2, HF_CLASS_IN);
	p += 4;
	/* answer: A and its RRSIG (opaque-enough rdata: 18 + signer + sig) */
	static const uint8_t a[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1};
	memcpy(b + p, a, sizeof(a));
	hf_put16(b + p + 2, qtype == HF_TYPE_RRSIG ? HF_TYPE_A : qtype);
	p += sizeof(a);
	static const uint8_t sig[] = {0xc0, 12, 0,  46, 0, 1, 0,    0,	  0x0e, 0x10, 0,    24,
				      0,    1,	13, 2,	0, 0, 0x0e, 0x10, 0,	0,    0,    0,
				      0,    0,	0,  0,	0, 1, 2,    'e',  'x',	0,    0xaa, 0xbb};
	memcpy(b + p, sig, sizeof(sig));
	p += sizeof(sig);
	/* authority: SOA, its RRSIG, NSEC, its RRSIG */
	static const uint8_t soa[] = {0xc0, 16, 0,    6,  0, 1, 0, 0, 0x0e, 0x10, 0, 24,
				      0xc0, 16, 0xc0, 16, 0, 0, 0, 1, 0,    0,	  0, 1,
				      0,    0,	0,    1,  0, 0, 0, 1, 0,    0,	  0, 60};
	memcpy(b + p, soa, sizeof(soa));
	p += sizeof(soa);
	memcpy(b + p, sig, sizeof(sig));
	b[p + 1] = 16;
	hf_put16(b + p + 12, HF_TYPE_SOA);
	p += sizeof(sig);
	static const uint8_t nsec[] = {0xc0, 12, 0, 47,	 0,    1,  0, 0, 0x0e, 0x10,
				       0,    8,	 3, 'z', 0xc0, 16, 0, 1, 0x40, 0};
	memcpy(b + p, nsec, sizeof(nsec));
	p += sizeof(nsec);
	memcpy(b + p, sig, sizeof(sig));
	hf_put16(b + p + 12, HF_TYPE_NSEC);
	p += sizeof(sig);
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0};
	memcpy(b + p, opt, sizeof(opt));
	p += sizeof(opt);
	return p;
}

static void test_answer_dnssec_cap_strip(void)
{
	static uint8_t w[512];
	struct hf_dns_answer_limits lim = {86400, 0, 3600};
	const struct hf_dns_answer *a = ans();
	size_t len = dnssec_msg(w, HF_TYPE_A, 0);
	int size;

	/* everything kept, nothing capped */
	CHECK_EQ(hf_dns_msg_parse(w, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ancount, 2);
	CHECK_EQ(a->nscount, 4);
	CHECK_EQ(a->nttl, 6);
	CHECK_EQ(a->ttl, 3600);
	build_and_check(w, len, &lim, NULL, -1, 0);

	/* the cap: lifetime and every TTL, and it beats min-ttl */
	lim.cap_ttl = true;
	lim.ttl_cap = 100;
	lim.min_ttl = 200;
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ttl, 100);
	for (unsigned i = 0; i < a->nttl; i++)
		CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, i)), 100);
	/* cap 0 is a cap, not "none" */
	lim.ttl_cap = 0;
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ttl, 0);
	lim = (struct hf_dns_answer_limits){86400, 0, 3600};

	/* strip: no RRSIG, no authority NSEC; SOA stays */
	lim.strip_dnssec = true;
	size = hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf));
	CHECK(size > 0);
	CHECK_EQ(a->ancount, 1);
	CHECK_EQ(a->nscount, 1);
	CHECK_EQ(a->nttl, 2);
	CHECK_EQ((size_t)size, hf_dns_answer_size(a));
	CHECK_EQ(hf_get16(hf_dns_answer_body(a) + ttl_off(a, 0) - 4), HF_TYPE_A);
	CHECK_EQ(hf_get16(hf_dns_answer_body(a) + ttl_off(a, 1) - 4), HF_TYPE_SOA);
	{
		size_t rlen = reassemble(a, msg_a.qname, msg_a.qtype, rebuf);
		CHECK_EQ(hf_dns_msg_parse(rebuf, rlen, &msg_b), 0);
		CHECK_EQ(msg_b.nrr, 2);
	}

	/* NXDOMAIN without DO: negative TTL from the kept SOA */
	len = dnssec_msg(w, HF_TYPE_A, HF_RCODE_NXDOMAIN);
	CHECK_EQ(hf_dns_msg_parse(w, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->kind, HF_ANS_NXDOMAIN);
	CHECK_EQ(a->ttl, 60);
	CHECK_EQ(a->nscount, 1);

	/* the type asked for is kept: RRSIG queries keep RRSIGs, NSEC queries
	 * keep NSECs (and lose the RRSIGs) */
	len = dnssec_msg(w, HF_TYPE_RRSIG, 0);
	CHECK_EQ(hf_dns_msg_parse(w, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ancount, 2);
	CHECK_EQ(a->nscount, 3); /* SOA and both RRSIGs; the NSEC goes */
	len = dnssec_msg(w, HF_TYPE_NSEC, 0);
	CHECK_EQ(hf_dns_msg_parse(w, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(a->ancount, 1);
	CHECK_EQ(a->nscount, 2); /* SOA, NSEC */
}

static void test_answer_real_mix(void)
{
	/* NS + glue (AAAA and A in additional), MX + glue, SOA, with OPTs */
	build_and_check(resp_ns, sizeof(resp_ns), &lim_wide, NULL, -1, 0);
	CHECK_EQ(ans()->kind, HF_ANS_POSITIVE);
	CHECK_EQ(ans()->ancount, 2);
	CHECK_EQ(ans()->arcount, 3);
	CHECK_EQ(ans()->ttl, 86400);
	build_and_check(resp_mx, sizeof(resp_mx), &lim_wide, NULL, -1, 0);
	CHECK_EQ(ans()->ancount, 1);
	CHECK_EQ(ans()->arcount, 1);
	CHECK_EQ(ans()->ttl, 3600);
	build_and_check(resp_soa, sizeof(resp_soa), &lim_wide, NULL, -1, 0);
	CHECK_EQ(ans()->kind, HF_ANS_POSITIVE);

	/* SRV: the target is written out in full, never compressed */
	build_and_check(resp_srv, sizeof(resp_srv), &lim_wide, NULL, -1, 0);
	const uint8_t *body = hf_dns_answer_body(ans());
	static const uint8_t srv_rdata[] = {0x00, 0x17, 0x00, 0x0a, 0x00, 0x14, 0x13, 0xc4, 3,
					    's',  'i',	'p',  7,    'e',  'x',	'a',  'm',  'p',
					    'l',  'e',	3,    'c',  'o',  'm',	0};
	CHECK_MEM(body + 10, srv_rdata, sizeof(srv_rdata));

	/* DNAME: its target (example.net) is written in full */
	build_and_check(resp_dname, sizeof(resp_dname), &lim_wide, NULL, -1, 0);
	CHECK_EQ(ans()->ancount, 2);
	CHECK_EQ(hf_get16(hf_dns_answer_body(ans()) + ttl_off(ans(), 0) - 4), HF_TYPE_DNAME);
	CHECK_MEM(hf_dns_answer_body(ans()) + ttl_off(ans(), 0) + 4, "\000\015\007example\003net",
		  15);
}

static void test_answer_recompress(void)
{
	uint8_t b[512];
	size_t qlen, len;
	const uint8_t *body;

	/* SRV and DNAME compressed upstream are decompressed on output; an
	 * uncompressed CNAME target is compressed against the question */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 3, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_SRV, HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_SRV, 60, "\000\001\000\002\023\304\300\020", 8);
	len = add_rr(b, len, QPTR, 2, HF_TYPE_DNAME, 60, "\300\020", 2);
	len = add_rr(b, len, QPTR, 2, HF_TYPE_CNAME, 60, "\001x\007EXAMPLE\003COM", 15);
	build_and_check(b, len, &lim_wide, NULL, -1, 0);
	body = hf_dns_answer_body(ans());
	static const uint8_t want[] = {
		0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x13, /* SRV */
		0x00, 0x01, 0x00, 0x02, 0x13, 0xc4, 7,	  'e',	'x',  'a',  'm',  'p',	'l',
		'e',  3,    'c',  'o',	'm',  0,    0xc0, 0x0c, 0x00, 0x27, 0x00, 0x01, 0x00,
		0x00, 0x00, 0x3c, 0x00, 0x0d, /* DNAME */
		7,    'e',  'x',  'a',	'm',  'p',  'l',  'e',	3,    'c',  'o',  'm',	0,
		0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, /* CNAME */
		1,    'x',  0xc0, 0x10,
	};
	CHECK_EQ(ans()->body_len, sizeof(want));
	CHECK_MEM(body, want, sizeof(want));

	/* names compress against earlier owners and RDATA of the RFC 1035
	 * types (the MX target's address in additional: in the answer section
	 * it would be scrubbed, see test_answer_scrub) */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 1, 1, 1, WWW_LOWER, WWW_LEN, HF_TYPE_MX, HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_MX, 60, "\000\012\004mail\003org\000", 12);
	len = add_rr(b, len, "\003org\000", 5, HF_TYPE_NS, 60, "\001a\003org\000", 7);
	len = add_rr(b, len, "\004mail\003org\000", 10, HF_TYPE_A, 60, "\001\002\003\004", 4);
	build_and_check(b, len, &lim_wide, NULL, -1, 0);
	body = hf_dns_answer_body(ans());
	/* question 12..29, body at 33: MX RR 33..54 (mail.org at 47, org at 52) */
	static const uint8_t want2[] = {
		0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x0c, /* MX */
		0x00, 0x0a, 4,	  'm',	'a',  'i',  'l',  3,	'o',  'r',  'g',  0,
		0xc0, 52,   0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, /* NS */
		1,    'a',  0xc0, 52,	0xc0, 47,   0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x3c, 0x00, 0x04, /* A */
		1,    2,    3,	  4,
	};
	CHECK_EQ(ans()->body_len, sizeof(want2));
	CHECK_MEM(body, want2, sizeof(want2));
	CHECK_EQ(ans()->ancount, 1);
	CHECK_EQ(ans()->nscount, 1);
	CHECK_EQ(ans()->arcount, 1);
}

/* The answer section keeps the answer chain only: records owned by the
 * question name (any case) or a name CNAMEs and DNAMEs lead to, the DNAME
 * owned by an ancestor and its RRSIG; the rest is left out. Authority and
 * additional are kept whole. */
static void test_answer_scrub(void)
{
	uint8_t b[600];
	size_t qlen, len;
	const uint8_t *body;
	static const uint8_t sig_dname[] = {0, 39, 8, 2, 0, 0, 0, 60,  0,   0,	 0, 0,
					    0, 0,  0, 0, 0, 1, 3, 'c', 'o', 'm', 0, 0xaa};

	/* www.example.com A: CNAME -> x.example.com; under com a DNAME
	 * example.com -> example.net (and its RRSIG) makes x.example.com
	 * x.example.net, whose A is the answer. Unrelated: an A for
	 * evil.com, a CNAME of another name, an RRSIG (A) of evil.com. */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 8, 1, 1, WWW_MIXED, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_rr(b, qlen, "\003WWW\007example\003COM\000", WWW_LEN, HF_TYPE_CNAME, 60,
		     "\001x\300\020", 4); /* 0 */
	len = add_rr(b, len, "\004evil\003com\000", 10, HF_TYPE_A, 60, "\006\006\006\006",
		     4); /* 1 */
	len = add_rr(b, len, "\300\020", 2, HF_TYPE_DNAME, 60, "\007example\003net\000",
		     13); /* 2 */
	len = add_rr(b, len, "\300\020", 2, HF_TYPE_RRSIG, 60, sig_dname,
		     sizeof(sig_dname)); /* 3 */
	len = add_rr(b, len, "\001y\300\020", 4, HF_TYPE_CNAME, 60, "\004evil\003com\000",
		     10); /* 4 */
	len = add_rr(b, len, "\001X\007EXAMPLE\003net\000", 15, HF_TYPE_A, 60, "\001\002\003\004",
		     4); /* 5 */
	len = add_rr(b, len, "\004evil\003com\000", 10, HF_TYPE_RRSIG, 60, sig_dname + 0,
		     sizeof(sig_dname)); /* 6: covers DNAME, owner not above the chain */
	len = add_rr(b, len, "\003com\000", 5, HF_TYPE_A, 60, "\007\007\007\007", 4); /* 7 */
	len = add_rr(b, len, "\003com\000", 5, HF_TYPE_NS, 60, "\001a\003com\000", 7);
	len = add_rr(b, len, "\004evil\003com\000", 10, HF_TYPE_A, 60, "\006\006\006\006", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim_wide, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(ans()->kind, HF_ANS_POSITIVE);
	CHECK_EQ(ans()->ancount, 4); /* 0 CNAME, 2 DNAME, 3 its RRSIG, 5 A */
	CHECK_EQ(ans()->nscount, 1);
	CHECK_EQ(ans()->arcount, 1); /* additional is not scrubbed */
	CHECK_EQ(ans()->nttl, 6);
	body = hf_dns_answer_body(ans());
	/* the first record: the CNAME, owner compressed to the question */
	CHECK_EQ(hf_get16(body), 0xc00c);
	CHECK_EQ(hf_get16(body + 2), HF_TYPE_CNAME);
	{
		/* every answer record kept is one of the chain's */
		size_t rlen = reassemble(ans(), msg_a.qname, msg_a.qtype, rebuf);
		CHECK_EQ(hf_dns_msg_parse(rebuf, rlen, &msg_b), 0);
		CHECK_EQ(msg_b.rr[0].type, HF_TYPE_CNAME);
		CHECK_EQ(msg_b.rr[1].type, HF_TYPE_DNAME);
		CHECK_EQ(msg_b.rr[2].type, HF_TYPE_RRSIG);
		CHECK_EQ(msg_b.rr[3].type, HF_TYPE_A);
		CHECK_EQ(hf_get32(rebuf + msg_b.rr[3].rdata_off), 0x01020304);
		CHECK_EQ(msg_b.rr[4].type, HF_TYPE_NS);
		CHECK_EQ(msg_b.rr[5].type, HF_TYPE_A);
		CHECK_EQ(hf_get32(rebuf + msg_b.rr[5].rdata_off), 0x06060606);
	}

	/* a CNAME question: the CNAME only, its target's records are not
	 * part of the answer */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 2, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_CNAME, HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_CNAME, 60, "\001x\300\020", 4);
	len = add_rr(b, len, "\001x\300\020", 4, HF_TYPE_A, 60, "\001\002\003\004", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim_wide, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(ans()->ancount, 1);

	/* a CNAME loop ends the chain; only unrelated records: NODATA */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 3, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_CNAME, 60, "\001x\300\020", 4);
	len = add_rr(b, len, "\001x\300\020", 4, HF_TYPE_CNAME, 60, QPTR, 2);
	len = add_rr(b, len, "\004evil\003com\000", 10, HF_TYPE_A, 60, "\006\006\006\006", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim_wide, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(ans()->ancount, 2);
	qlen = mkq(b, 1, HF_DNS_QR, 1, 1, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_rr(b, qlen, "\004evil\003com\000", 10, HF_TYPE_A, 60, "\006\006\006\006", 4);
	CHECK_EQ(hf_dns_msg_parse(b, len, &msg_a), 0);
	CHECK(hf_dns_answer_build(&msg_a, &lim_wide, abuf, sizeof(abuf)) > 0);
	CHECK_EQ(ans()->ancount, 0);
	CHECK_EQ(ans()->kind, HF_ANS_NODATA);
}

static void test_answer_nxdomain(void)
{
	uint8_t b[sizeof(resp_nx)];
	struct hf_dns_answer_limits lim = {86400, 0, 10800};
	const struct hf_dns_answer *a = ans();
	struct hf_dns_msg *m = &msg_a;
	size_t soa_min_at;

	memcpy(b, resp_nx, sizeof(b));
	CHECK_EQ(hf_dns_msg_parse(b, sizeof(b), m), 0);
	CHECK_EQ(m->rr[0].type, HF_TYPE_SOA);
	soa_min_at = m->rr[0].rdata_off + m->rr[0].rdlen - 4u;
	CHECK_EQ(hf_get32(b + soa_min_at), 300);

	/* SOA TTL 3600, MINIMUM 900: 900 */
	hf_put32(b + m->rr[0].ttl_off, 3600);
	hf_put32(b + soa_min_at, 900);
	build_and_check(b, sizeof(b), &lim, NULL, 0, 900);
	CHECK_EQ(a->kind, HF_ANS_NXDOMAIN);
	CHECK_EQ(a->rcode, HF_RCODE_NXDOMAIN);
	CHECK_EQ(a->ttl, 900);
	CHECK_EQ(a->ancount, 0);
	CHECK_EQ(a->nscount, 1);
	CHECK_EQ(a->arcount, 0);
	CHECK_EQ(a->nttl, 1);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 900);
	/* the MINIMUM field itself is left alone */
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + a->body_len - 4), 900);

	/* SOA TTL 100, MINIMUM 900: 100 */
	hf_put32(b + m->rr[0].ttl_off, 100);
	build_and_check(b, sizeof(b), &lim, NULL, 0, 100);
	CHECK_EQ(a->ttl, 100);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 100);

	/* capped by max_negative_ttl */
	hf_put32(b + m->rr[0].ttl_off, 7200);
	lim.max_negative_ttl = 60;
	build_and_check(b, sizeof(b), &lim, NULL, 0, 60);
	CHECK_EQ(a->ttl, 60);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 60);

	/* NXDOMAIN without a SOA: lifetime 0 */
	uint8_t h[64];
	size_t len = mkq(h, 1, HF_DNS_QR | HF_RCODE_NXDOMAIN, 1, 0, 0, 0, WWW_LOWER, WWW_LEN,
			 HF_TYPE_A, HF_CLASS_IN);
	CHECK_EQ(hf_dns_msg_parse(h, len, m), 0);
	CHECK_EQ(hf_dns_answer_build(m, &lim, abuf, sizeof(abuf)), 24);
	CHECK_EQ(a->kind, HF_ANS_NXDOMAIN);
	CHECK_EQ(a->ttl, 0);
	CHECK_EQ(a->body_len, 0);
}

static void test_answer_nodata(void)
{
	struct hf_dns_answer_limits lim = {86400, 30, 3600};
	const struct hf_dns_answer *a = ans();

	/* ns1.example.com TXT: NOERROR, SOA (TTL 300, MINIMUM 300) */
	build_and_check(resp_nodata, sizeof(resp_nodata), &lim, NULL, 0, 300);
	CHECK_EQ(a->kind, HF_ANS_NODATA);
	CHECK_EQ(a->rcode, 0);
	CHECK_EQ(a->ttl, 300);
	CHECK_EQ(a->ancount, 0);
	CHECK_EQ(a->nscount, 1);
	lim.max_negative_ttl = 5;
	build_and_check(resp_nodata, sizeof(resp_nodata), &lim, NULL, 0, 5);
	CHECK_EQ(a->ttl, 5); /* min_ttl is for positive answers only */

	/* no SOA (a referral-shaped answer): lifetime 0, records kept */
	uint8_t b[256];
	size_t len = mkq(b, 1, HF_DNS_QR, 1, 0, 1, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_rr(b, len, "\300\020", 2, HF_TYPE_NS, 172800, "\002ns\300\020", 5);
	build_and_check(b, len, &lim, NULL, -1, 0);
	CHECK_EQ(a->kind, HF_ANS_NODATA);
	CHECK_EQ(a->ttl, 0);
	CHECK_EQ(a->nscount, 1);
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 86400);
}

static void test_answer_failure(void)
{
	const struct hf_dns_answer *a = ans();
	struct hf_dns_msg *m = &msg_a;
	uint8_t b[256];
	size_t qlen, len;
	static const uint8_t ede[] = {0, 15, 0, 6, 0, 22, 'd', 'o', 'w', 'n'};

	/* SERVFAIL with an EDE (dropped with its OPT: the caller sets ede) */
	qlen = mkq(b, 1, HF_DNS_QR | HF_RCODE_SERVFAIL, 1, 0, 0, 1, WWW_LOWER, WWW_LEN, HF_TYPE_A,
		   HF_CLASS_IN);
	len = add_opt(b, qlen, 1232, 0, false, ede, sizeof(ede));
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->ede, 22);
	CHECK_EQ(hf_dns_answer_build(m, &lim_wide, abuf, sizeof(abuf)), 24);
	CHECK_EQ(a->kind, HF_ANS_FAILURE);
	CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
	CHECK_EQ(a->ede, HF_EDE_NONE);
	CHECK_EQ(a->ttl, 0);
	CHECK_EQ(a->nttl, 0);
	CHECK_EQ(a->arcount, 0);
	/* REFUSED, with a record: FAILURE, the record kept */
	qlen = mkq(b, 1, HF_DNS_QR | HF_RCODE_REFUSED, 1, 1, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A,
		   HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_A, 60, "\001\002\003\004", 4);
	build_and_check(b, len, &lim_wide, NULL, -1, 0);
	CHECK_EQ(a->kind, HF_ANS_FAILURE);
	CHECK_EQ(a->rcode, HF_RCODE_REFUSED);
	CHECK_EQ(a->ancount, 1);
	/* an extended rcode (BADVERS) is stored as SERVFAIL */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 0, 0, 1, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_opt(b, qlen, 1232, 1, false, NULL, 0);
	b[qlen + 5] = 1;
	CHECK_EQ(hf_dns_msg_parse(b, len, m), 0);
	CHECK_EQ(m->rcode, HF_RCODE_BADVERS);
	CHECK_EQ(hf_dns_answer_build(m, &lim_wide, abuf, sizeof(abuf)), 24);
	CHECK_EQ(a->kind, HF_ANS_FAILURE);
	CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
	/* no question: nothing to store against */
	CHECK_EQ(hf_dns_msg_parse(b, 12, m), HF_EMALFORMED);
	hf_put16(b + 4, 0);
	hf_put16(b + 10, 0);
	CHECK_EQ(hf_dns_msg_parse(b, 12, m), 0);
	CHECK_EQ(hf_dns_answer_build(m, &lim_wide, abuf, sizeof(abuf)), HF_EMALFORMED);

	/* hf_dns_answer_failure: header + text, nothing else */
	memset(abuf, 0xee, 256);
	CHECK_EQ(hf_dns_answer_failure(abuf, sizeof(abuf), 17, HF_RCODE_SERVFAIL,
				       HF_EDE_DNSSEC_BOGUS, "bad sig", 30),
		 24 + 7);
	CHECK_EQ(a->kind, HF_ANS_FAILURE);
	CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
	CHECK_EQ(a->security, HF_SECURITY_INSECURE);
	CHECK_EQ(a->qname_len, 17);
	CHECK_EQ(a->ede, HF_EDE_DNSSEC_BOGUS);
	CHECK_EQ(a->ede_text_len, 7);
	CHECK_EQ(a->ttl, 30);
	CHECK_EQ(a->nttl, 0);
	CHECK_EQ(a->body_len, 0);
	CHECK_EQ(a->ancount + a->nscount + a->arcount, 0);
	CHECK_MEM(hf_dns_answer_ede_text(a), "bad sig", 7);
	CHECK_EQ(abuf[31], 0xee);
	CHECK_EQ(hf_dns_answer_size(a), 31);
	CHECK_EQ(hf_dns_answer_failure(abuf, 30, 17, 2, 6, "bad sig", 30), HF_ESPACE);
	CHECK_EQ(hf_dns_answer_failure(abuf, 24, 17, 2, HF_EDE_NONE, NULL, 5), 24);
	CHECK_EQ(a->ede, HF_EDE_NONE);
	CHECK_EQ(a->ede_text_len, 0);
}

static void test_answer_ttl_and_space(void)
{
	const struct hf_dns_answer *a = ans();
	uint8_t b[256];
	struct hf_dns_answer_limits lim = {3600, 5, 3600};
	size_t qlen, len;
	int size;

	/* a TTL with the top bit set counts as 0 (RFC 2181 section 8) */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 1, 0, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = add_rr(b, qlen, QPTR, 2, HF_TYPE_A, 0x80000001u, "\001\002\003\004", 4);
	build_and_check(b, len, &lim, NULL, -1, 0);
	CHECK_EQ(a->ttl, 5); /* raised to min_ttl, stored TTL too */
	CHECK_EQ(hf_get32(hf_dns_answer_body(a) + ttl_off(a, 0)), 5);

	/* every buffer smaller than needed: HF_ESPACE, and no write outside it
	 * (heap copies of exactly that size, for the sanitizers) */
	CHECK_EQ(hf_dns_msg_parse(resp_ns, sizeof(resp_ns), &msg_a), 0);
	size = hf_dns_answer_build(&msg_a, &lim_wide, abuf, sizeof(abuf));
	CHECK(size > 0);
	for (int s = 0; s < size; s++) {
		uint8_t *h = malloc(s ? (size_t)s : 1);
		CHECK_EQ(hf_dns_answer_build(&msg_a, &lim_wide, h, (size_t)s), HF_ESPACE);
		free(h);
	}
	uint8_t *h = malloc((size_t)size);
	CHECK_EQ(hf_dns_answer_build(&msg_a, &lim_wide, h, (size_t)size), size);
	CHECK_MEM(h, abuf, (size_t)size);
	free(h);
}

static void test_answer_big(void)
{
	static uint8_t b[16 * 600];
	size_t qlen, len;

	/* 512 records, all compressed to the question */
	qlen = mkq(b, 1, HF_DNS_QR, 1, 500, 12, 0, WWW_LOWER, WWW_LEN, HF_TYPE_A, HF_CLASS_IN);
	len = qlen;
	for (int i = 0; i < 512; i++) {
		uint8_t rd[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
		len = add_rr(b, len, QPTR, 2, HF_TYPE_A, (uint32_t)(1000 + i), rd, 4);
	}
	build_and_check(b, len, &lim_wide, NULL, -1, 0);
	CHECK_EQ(ans()->nttl, 512);
	CHECK_EQ(ans()->ttl, 1000);
	CHECK_EQ(ans()->body_len, 512 * 16);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_crc32c),
		TEST_CASE(test_query_plain),
		TEST_CASE(test_query_edns),
		TEST_CASE(test_query_drop),
		TEST_CASE(test_query_notimp),
		TEST_CASE(test_query_formerr_header),
		TEST_CASE(test_query_formerr_qname),
		TEST_CASE(test_query_formerr_opt),
		TEST_CASE(test_query_cookie_length),
		TEST_CASE(test_query_badvers),
		TEST_CASE(test_query_refused),
		TEST_CASE(test_name_unpack),
		TEST_CASE(test_name_unpack_loops),
		TEST_CASE(test_name_unpack_long),
		TEST_CASE(test_name_compare),
		TEST_CASE(test_name_str),
		TEST_CASE(test_types),
		TEST_CASE(test_strerror),
		TEST_CASE(test_msg_parse_real),
		TEST_CASE(test_msg_parse_truncated),
		TEST_CASE(test_msg_parse_opt),
		TEST_CASE(test_msg_parse_rdata),
		TEST_CASE(test_msg_parse_counts),
		TEST_CASE(test_query_build),
		TEST_CASE(test_answer_positive),
		TEST_CASE(test_answer_real_mix),
		TEST_CASE(test_answer_recompress),
		TEST_CASE(test_answer_scrub),
		TEST_CASE(test_answer_nxdomain),
		TEST_CASE(test_answer_nodata),
		TEST_CASE(test_answer_failure),
		TEST_CASE(test_answer_ttl_and_space),
		TEST_CASE(test_answer_big),
		TEST_CASE(test_answer_dnssec_cap_strip),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
