/* SPDX-License-Identifier: BSD-3-Clause */
/* DNS server cookies (dataplane/hf_cookie.h): RFC 9018's test vectors
 * (appendix A), the time window, renewal, rotation. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tests/unit/hf_test.h"
#include "common/hf_common.h"
#include "dataplane/hf_cookie.h"
#include "dns/hf_dns.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static unsigned addr(const char *s, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	CHECK_EQ(inet_pton(AF_INET6, s, out), 1);
	return 16;
}

static void hexeq(const uint8_t *got, size_t n, const char *want)
{
	uint8_t w[64];
	CHECK_EQ(unhex(want, w), n);
	CHECK(memcmp(got, w, n) == 0);
}

/* A core's state with `secret` current (and `prev`, when given, before it). */
static void state(struct hf_cookie *c, const char *prev, const char *secret)
{
	uint8_t k[HF_COOKIE_SECRET_LEN];
	CHECK_EQ(hf_cookie_init(c, 0), 0);
	if (prev != NULL) {
		unhex(prev, k);
		hf_cookie_set(c, true, k, 0);
	}
	unhex(secret, k);
	hf_cookie_set(c, true, k, 0);
}

/* The verdict and answer (hex) of the query's COOKIE opt_hex from ip at now. */
static void check(struct hf_cookie *c, const char *ip, const char *opt_hex, uint32_t now,
		  enum hf_cookie_verdict want, const char *want_hex)
{
	uint8_t opt[40], out[HF_COOKIE_OPT_LEN], a[16];
	unsigned al = addr(ip, a);
	size_t n = unhex(opt_hex, opt);
	CHECK_EQ(hf_cookie_check(c, opt, (unsigned)n, a, al, now, out), want);
	if (want_hex != NULL)
		hexeq(out, sizeof(out), want_hex);
	/* a new one always has version 1, reserved 0 and the time now */
	if (want_hex == NULL || memcmp(out + 8, opt + 8, 16) != 0) {
		CHECK_EQ(out[8], 1);
		CHECK_EQ(out[9] | out[10] | out[11], 0);
		CHECK_EQ(hf_get32(out + 12), now);
	}
}

/* A.1: a client cookie alone gets a new server cookie. */
static void test_a1_new(void)
{
	struct hf_cookie c;
	uint8_t cl[8], a[4], sc[HF_COOKIE_SERVER_LEN];
	state(&c, NULL, "e5e973e5a6b2a43f48e7dc849e37bfcf");
	check(&c, "198.51.100.100", "2464c4abcf10c957", 1559731985, HF_COOKIE_CLIENT_ONLY,
	      "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
	/* again: the context re-initialised without a key gives the same */
	check(&c, "198.51.100.100", "2464c4abcf10c957", 1559731985, HF_COOKIE_CLIENT_ONLY,
	      "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
	unhex("2464c4abcf10c957", cl);
	addr("198.51.100.100", a);
	hf_cookie_make(&c, cl, a, 4, 1559731985, sc);
	hexeq(sc, sizeof(sc), "010000005cf79f111f8130c3eee29480");
	hf_cookie_fini(&c);
}

/* A.2: the same client 40 minutes later: valid, renewed (past half an
 * hour); 10 minutes after it was made it is echoed as it came; from
 * another address it is not ours. */
static void test_a2_renewed(void)
{
	static const char *q = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
	struct hf_cookie c;
	state(&c, NULL, "e5e973e5a6b2a43f48e7dc849e37bfcf");
	check(&c, "198.51.100.100", q, 1559734385, HF_COOKIE_VALID,
	      "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
	check(&c, "198.51.100.100", q, 1559731985 + 600, HF_COOKIE_VALID, q);
	check(&c, "198.51.100.101", q, 1559731985 + 600, HF_COOKIE_INVALID, NULL);
	hf_cookie_fini(&c);
}

/* A.3: another client whose cookie has reserved bytes set (hashed as they
 * came): 1h 57min old, past the hour: a new one with reserved 0. While it
 * was young it validated, and was echoed, reserved bytes and all. */
static void test_a3_other_client(void)
{
	static const char *q = "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5";
	struct hf_cookie c;
	state(&c, NULL, "e5e973e5a6b2a43f48e7dc849e37bfcf");
	check(&c, "203.0.113.203", q, 1559734700, HF_COOKIE_INVALID,
	      "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
	check(&c, "203.0.113.203", q, 0x5cf78f71 + 60, HF_COOKIE_VALID, q);
	hf_cookie_fini(&c);
}

/* A.4: IPv6, the secret rotated: a cookie of the previous secret is valid
 * and answered with one of the new secret; without the previous secret
 * (or two rotations later) it is not ours. */
static void test_a4_rotated(void)
{
	static const char *ip = "2001:db8:220:1:59de:d0f4:8769:82b8",
			  *q = "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
			  *renewed = "22681ab97d52c298010000005cf7c609a6bb79d16625507a";
	struct hf_cookie c;
	uint8_t k[HF_COOKIE_SECRET_LEN];
	state(&c, "dd3bdf9344b678b185a6f5cb60fca715", "445536bcd2513298075a5d379663c962");
	check(&c, ip, q, 1559741961, HF_COOKIE_VALID, renewed);
	memset(k, 1, sizeof(k));
	hf_cookie_set(&c, true, k, 0);
	check(&c, ip, q, 1559741961, HF_COOKIE_INVALID, NULL);
	hf_cookie_fini(&c);
	state(&c, NULL, "445536bcd2513298075a5d379663c962");
	check(&c, ip, q, 1559741961, HF_COOKIE_INVALID, renewed);
	/* the same secret again is no rotation */
	unhex("445536bcd2513298075a5d379663c962", k);
	hf_cookie_set(&c, true, k, 0);
	CHECK(!c.has_prev);
	hf_cookie_fini(&c);
}

/* The window: an hour in the past, five minutes ahead, across the wrap;
 * other versions and lengths are not ours. */
static void test_window(void)
{
	struct hf_cookie c;
	uint8_t cl[8] = {1, 2, 3, 4, 5, 6, 7, 8}, a[4] = {198, 18, 0, 1};
	uint8_t opt[40], out[HF_COOKIE_OPT_LEN];
	static const struct {
		uint32_t made, now;
		enum hf_cookie_verdict v;
		bool echoed;
	} cases[] = {
		{1000000, 1000000, HF_COOKIE_VALID, true},
		{1000000, 1000000 + 1800, HF_COOKIE_VALID, true},
		{1000000, 1000000 + 1801, HF_COOKIE_VALID, false},
		{1000000, 1000000 + 3600, HF_COOKIE_VALID, false},
		{1000000, 1000000 + 3601, HF_COOKIE_INVALID, false},
		{1000000 + 300, 1000000, HF_COOKIE_VALID, true},
		{1000000 + 301, 1000000, HF_COOKIE_INVALID, false},
		{0xffffff00u, 1000, HF_COOKIE_VALID, true},  /* 1256 s, across 2^32 */
		{0xfffff900u, 1000, HF_COOKIE_VALID, false}, /* 2792 s, across 2^32 */
	};
	state(&c, NULL, "000102030405060708090a0b0c0d0e0f");
	for (unsigned i = 0; i < HF_ARRAY_LEN(cases); i++) {
		memcpy(opt, cl, 8);
		hf_cookie_make(&c, cl, a, 4, cases[i].made, opt + 8);
		CHECK_EQ(hf_cookie_check(&c, opt, 24, a, 4, cases[i].now, out), cases[i].v);
		CHECK(memcmp(out, cl, 8) == 0);
		CHECK_EQ(memcmp(out + 8, opt + 8, 16) == 0, cases[i].echoed);
		if (!cases[i].echoed)
			CHECK_EQ(hf_get32(out + 12), cases[i].now);
	}
	/* version 2, and server cookies of 8 and 32 bytes: not ours, a new one */
	hf_cookie_make(&c, cl, a, 4, 1000000, opt + 8);
	opt[8] = 2;
	CHECK_EQ(hf_cookie_check(&c, opt, 24, a, 4, 1000000, out), HF_COOKIE_INVALID);
	CHECK_EQ(out[8], 1);
	opt[8] = 1;
	CHECK_EQ(hf_cookie_check(&c, opt, 16, a, 4, 1000000, out), HF_COOKIE_INVALID);
	CHECK_EQ(hf_cookie_check(&c, opt, 40, a, 4, 1000000, out), HF_COOKIE_INVALID);
	/* a hash bit flipped */
	opt[23] ^= 1;
	CHECK_EQ(hf_cookie_check(&c, opt, 24, a, 4, 1000000, out), HF_COOKIE_INVALID);
	hf_cookie_fini(&c);
}

/* OpenSSL's allocations, counted (CRYPTO_set_mem_functions) */
static unsigned long nalloc;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	nalloc++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	nalloc++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* No allocation per cookie: only hf_cookie_init allocates. */
static void test_no_alloc(void)
{
	struct hf_cookie c;
	uint8_t opt[HF_COOKIE_OPT_LEN] = {1, 2, 3}, out[HF_COOKIE_OPT_LEN], a[4] = {198, 18, 0, 1};
	unsigned long n0;
	state(&c, "dd3bdf9344b678b185a6f5cb60fca715", "445536bcd2513298075a5d379663c962");
	hf_cookie_make(&c, opt, a, 4, 1000000, opt + 8);
	n0 = nalloc;
	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(hf_cookie_check(&c, opt, 24, a, 4, 1000000 + (uint32_t)i, out),
			 HF_COOKIE_VALID);
		CHECK_EQ(hf_cookie_check(&c, opt, 8, a, 4, 1000000, out), HF_COOKIE_CLIENT_ONLY);
	}
	opt[23] ^= 1; /* both secrets tried */
	CHECK_EQ(hf_cookie_check(&c, opt, 24, a, 4, 1000000, out), HF_COOKIE_INVALID);
	CHECK_EQ(nalloc - n0, 0);
	CHECK(n0 > 0); /* the counting allocators were in use */
	hf_cookie_fini(&c);
}

int main(void)
{
	/* before OpenSSL's first allocation */
	CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_a1_new),		 TEST_CASE(test_a2_renewed),
		TEST_CASE(test_a3_other_client), TEST_CASE(test_a4_rotated),
		TEST_CASE(test_window),		 TEST_CASE(test_no_alloc),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
