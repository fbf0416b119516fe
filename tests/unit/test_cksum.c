/* SPDX-License-Identifier: BSD-3-Clause */
/* Answer checksums (dataplane/hf_cksum.h) against RFC 1071 done the plain
 * way: 16-bit big-endian words, end-around carry. */
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/hf_test.h"
#include "dataplane/hf_cksum.h"
#include "common/hf_common.h"

/* RFC 1071 over len bytes, in network order (the odd byte is padded). */
static uint16_t ref_sum(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* hf_cksum_add keeps the sum in the CPU's order (little-endian) */
static uint16_t hf_sum(const uint8_t *p, size_t len, uint64_t s)
{
	return rte_be_to_cpu_16(hf_cksum_fold(hf_cksum_add(p, len, s)));
}

/* every length 0..300 at every start offset mod 8, all-ones bytes (the
 * most carries) and random ones, and a start sum near the top of 64 bits */
static void test_add_matches_rfc1071(void)
{
	static uint8_t buf[320 + 8];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned bad = 0;

	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = fill == 0 ? 0xff : (uint8_t)x;
		}
		for (size_t off = 0; off < 8; off++)
			for (size_t len = 0; len <= 300; len++) {
				const uint8_t *p = buf + off;
				/* a start sum of 0, and one of 0xffff'ffff'ffff'fffe:
				 * 0xfffe folded (2^16 = 1 mod 0xffff), in the CPU's
				 * order, so 0xfeff in the network's */
				if (hf_sum(p, len, 0) != ref_sum(p, len, 0))
					bad++;
				if (hf_sum(p, len, UINT64_MAX - 1) != ref_sum(p, len, 0xfeff))
					bad++;
			}
	}
	CHECK_EQ(bad, 0);
}

/* the fold against RFC 1071's repeated end-around add, at the values
 * where carries chain (and 0, the only sum that folds to 0) */
static void test_fold(void)
{
	static const uint64_t edge[] = {0,
					1,
					0xffff,
					0x10000,
					0xfffe0001,
					0xffffffff,
					0x100000000ull,
					0xffff0000ffffull,
					0xffffffff00000000ull,
					0xffffffff00000001ull,
					0xfffffffffffeffffull,
					UINT64_MAX - 1,
					UINT64_MAX};
	uint64_t x = 0x2545f4914f6cdd1dull;
	unsigned bad = 0;

	for (unsigned i = 0; i < 1000000 + HF_ARRAY_LEN(edge); i++) {
		uint64_t s, r;
		if (i < HF_ARRAY_LEN(edge)) {
			s = edge[i];
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s = x >> (x & 63); /* every magnitude */
		}
		r = s;
		while (r >> 16)
			r = (r & 0xffff) + (r >> 16);
		if (hf_cksum_fold(s) != r)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* a known frame: the IPv4 UDP answer checksum from values equals the one
 * computed over the pseudo header and the datagram */
static void test_udp4_answer(void)
{
	uint8_t dgram[8 + 37];
	uint8_t ph[12] = {192, 0, 2, 1, 198, 51, 100, 7, 0, 17, 0, sizeof(dgram)};
	uint32_t src, dst;
	uint16_t sport = rte_cpu_to_be_16(53), dport = rte_cpu_to_be_16(40000), ck;

	for (size_t i = 0; i < sizeof(dgram); i++)
		dgram[i] = (uint8_t)(i * 37 + 11);
	memcpy(dgram, &sport, 2);
	memcpy(dgram + 2, &dport, 2);
	dgram[4] = 0;
	dgram[5] = sizeof(dgram);
	dgram[6] = dgram[7] = 0;
	memcpy(&src, ph, 4);
	memcpy(&dst, ph + 4, 4);
	ck = hf_udp4_answer_cksum((uint64_t)src + dst, (uint64_t)sport + dport,
				  rte_cpu_to_be_16(sizeof(dgram)), dgram + 8, sizeof(dgram) - 8);
	memcpy(dgram + 6, &ck, 2);
	/* the whole thing, checksum included, sums to 0xffff */
	CHECK_EQ(ref_sum(dgram, sizeof(dgram), ref_sum(ph, sizeof(ph), 0)), 0xffff);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_add_matches_rfc1071),
		TEST_CASE(test_fold),
		TEST_CASE(test_udp4_answer),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
