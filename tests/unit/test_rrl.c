/* SPDX-License-Identifier: BSD-3-Clause */
/* Response rate limiting's table (dataplane/hf_rrl.h): prefix keys, the
 * per-second count, slips, a new second, slot sharing. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/hf_test.h"
#include "common/hf_common.h"
#include "dataplane/hf_rrl.h"

static uint32_t v4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static uint64_t key6(const char *s, uint8_t plen)
{
	struct in6_addr a;
	inet_pton(AF_INET6, s, &a);
	return hf_rrl_key6(a.s6_addr, plen);
}

static void test_keys(void)
{
	CHECK_EQ(hf_rrl_key4(v4("198.18.53.2"), 24), hf_rrl_key4(v4("198.18.53.200"), 24));
	CHECK(hf_rrl_key4(v4("198.18.53.2"), 24) != hf_rrl_key4(v4("198.18.54.2"), 24));
	CHECK(hf_rrl_key4(v4("198.18.53.2"), 32) != hf_rrl_key4(v4("198.18.53.3"), 32));
	CHECK_EQ(hf_rrl_key4(v4("198.18.53.2"), 8), hf_rrl_key4(v4("198.200.1.1"), 8));
	CHECK_EQ(key6("fd53::1", 56), key6("fd53:0:0:ff::2", 56));
	CHECK(key6("fd53::1", 56) != key6("fd53:0:0:100::1", 56));
	CHECK_EQ(key6("fd53::1", 48), key6("fd53:0:0:ffff::1", 48));
	CHECK(key6("fd53::1", 48) != key6("fd53:0:1::1", 48));
	/* the families never share a key: ::c612:3502/.. against 198.18.53.2 */
	CHECK(key6("::c612:3502", 56) != hf_rrl_key4(v4("198.18.53.2"), 32));
	CHECK(key6("::", 16) != hf_rrl_key4(v4("0.0.0.0"), 8));
}

static void test_count(void)
{
	struct hf_rrl_conf c = {.rate = 3, .slip = 2, .plen4 = 24, .plen6 = 56, .slots = 1024};
	struct hf_rrl_slot *t = calloc(c.slots, sizeof(*t));
	uint64_t a = hf_rrl_key4(v4("198.18.53.2"), 24), b = hf_rrl_key4(v4("198.18.54.2"), 24);
	static const enum hf_rrl_verdict want[] = {HF_RRL_PASS, HF_RRL_PASS, HF_RRL_PASS,
						   HF_RRL_DROP, HF_RRL_SLIP, HF_RRL_DROP,
						   HF_RRL_SLIP, HF_RRL_DROP};
	CHECK(t != NULL);
	if (t == NULL)
		return;
	for (unsigned i = 0; i < HF_ARRAY_LEN(want); i++)
		CHECK_EQ(hf_rrl_check(t, &c, a, 100), want[i]);
	/* another prefix has its own budget; a new second starts afresh */
	CHECK_EQ(hf_rrl_check(t, &c, b, 100), HF_RRL_PASS);
	CHECK_EQ(hf_rrl_check(t, &c, a, 101), HF_RRL_PASS);
	/* slip 0: every limited answer is dropped; slip 1: every one slips */
	c.slip = 0;
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(hf_rrl_check(t, &c, a, 101), HF_RRL_PASS);
	CHECK_EQ(hf_rrl_check(t, &c, a, 101), HF_RRL_DROP);
	c.slip = 1;
	CHECK_EQ(hf_rrl_check(t, &c, a, 101), HF_RRL_SLIP);
	/* one slot for every prefix: they reset it in turn, nobody gets less */
	c.slots = 1;
	c.slip = 2;
	for (unsigned i = 0; i < 10; i++) {
		CHECK_EQ(hf_rrl_check(t, &c, a, 102), HF_RRL_PASS);
		CHECK_EQ(hf_rrl_check(t, &c, b, 102), HF_RRL_PASS);
	}
	free(t);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_keys),
		TEST_CASE(test_count),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
