/* SPDX-License-Identifier: BSD-3-Clause */
/* A worker's idle back-off (dataplane/hf_idle.h): when it sleeps, for how
 * long, and that a packet puts it back to busy polling. */
#include <stdint.h>

#include "tests/unit/hf_test.h"
#include "common/hf_common.h"
#include "dataplane/hf_idle.h"

/* Empty polls until the next sleep: how many polls it took, and the sleep. */
static uint32_t until_sleep(struct hf_idle *s, uint32_t *polls)
{
	uint32_t us = 0;
	*polls = 0;
	while (us == 0 && *polls < 10000000) {
		us = hf_idle_step(s, 0);
		(*polls)++;
	}
	return us;
}

/* idle-sleep 0: never sleeps, whatever the rest says. */
static void test_busy(void)
{
	struct hf_idle s;
	hf_idle_init(&s, 0, 1000, 1);
	for (int i = 0; i < 100000; i++)
		CHECK_EQ(hf_idle_step(&s, 0), 0);
}

/* From init(base, max, polls), the sleeps in turn: want[i] µs after
 * polls[i] empty polls. */
struct seq {
	uint32_t base, max, polls;
	uint32_t want[8], after[8];
};

static void check_seq(const struct seq *q)
{
	struct hf_idle s;
	uint32_t n;
	hf_idle_init(&s, q->base, q->max, q->polls);
	for (unsigned i = 0; i < HF_ARRAY_LEN(q->want) && q->want[i] != 0; i++) {
		CHECK_EQ(until_sleep(&s, &n), q->want[i]);
		CHECK_EQ(n, q->after[i]);
	}
}

/* idle-sleep-max at idle-sleep (or below it): the loop as it was, base
 * after `polls` empty polls, then after every 24 more (every `polls` when
 * below 25; 0 is the default 1024). The back-off: base, 24 polls, then
 * doubling with one poll between sleeps, held at max (reached as is when
 * it is not base times a power of two). */
static void test_sequences(void)
{
	static const struct seq seqs[] = {
		{100, 100, 1024, {100, 100, 100, 100}, {1024, 24, 24, 24}},
		{100, 50, 1024, {100, 100, 100}, {1024, 24, 24}},
		{100, 100, 10, {100, 100, 100}, {10, 9, 9}},
		{100, 100, 1, {100, 100, 100}, {1, 1, 1}},
		{100, 100, 0, {100, 100}, {1024, 24}},
		{100,
		 1000,
		 1024,
		 {100, 200, 400, 800, 1000, 1000, 1000},
		 {1024, 24, 1, 1, 1, 1, 1}},
		{30, 100, 4, {30, 60, 100, 100}, {4, 3, 1, 1}},
		{100000, 100000, 1, {100000, 100000}, {1, 1}},
	};
	for (unsigned i = 0; i < HF_ARRAY_LEN(seqs); i++)
		check_seq(&seqs[i]);
}

/* init(base, max, polls), then `sleeps` sleeps taken. */
static void after_sleeps(struct hf_idle *s, uint32_t base, uint32_t max, uint32_t polls, int sleeps)
{
	uint32_t n;
	hf_idle_init(s, base, max, polls);
	while (sleeps-- > 0)
		until_sleep(s, &n);
}

/* The largest bound is held without overflow. */
static void test_bound(void)
{
	struct hf_idle s;
	uint32_t n;
	after_sleeps(&s, 1, 100000, 1, 40);
	CHECK_EQ(until_sleep(&s, &n), 100000);
	CHECK_EQ(n, 1);
}

/* A packet (or any poll that did something) resets it all: busy polling,
 * then base again. */
static void test_packet_resets(void)
{
	struct hf_idle s;
	uint32_t n;
	after_sleeps(&s, 100, 1000, 1024, 6);
	CHECK_EQ(hf_idle_step(&s, 0), 1000); /* deep: one poll, then max */
	CHECK_EQ(hf_idle_step(&s, 3), 0);
	CHECK_EQ(until_sleep(&s, &n), 100);
	CHECK_EQ(n, 1024);
	CHECK_EQ(until_sleep(&s, &n), 200);
	CHECK_EQ(n, 24);
	/* a packet in the 24 polls after the first sleep: all over again */
	hf_idle_init(&s, 100, 1000, 1024);
	CHECK_EQ(until_sleep(&s, &n), 100);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(hf_idle_step(&s, 0), 0);
	CHECK_EQ(hf_idle_step(&s, 1), 0);
	CHECK_EQ(until_sleep(&s, &n), 100);
	CHECK_EQ(n, 1024);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_busy),
		TEST_CASE(test_sequences),
		TEST_CASE(test_bound),
		TEST_CASE(test_packet_resets),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
