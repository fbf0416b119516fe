/* SPDX-License-Identifier: BSD-3-Clause */
/* The workers' clock rate (dataplane/clock.c) against CLOCK_MONOTONIC_RAW. */
#include <time.h>

#include <rte_cycles.h>

#include "tests/unit/hf_test.h"
#include "dataplane/hf_dataplane.h"

static uint64_t raw_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A 20 ms calibration waits its 20 ms and agrees with a 500 ms one within
 * 0.02%: DPDK's 10 MHz rounding, which the calibration replaces, was 0.15%
 * off on the machine that found it. */
static void test_rate(void)
{
	struct hf_tsc_cal c20, c500;
	uint64_t t0 = raw_ns(), r20, r500;
	hf_tsc_cal_begin(&c500);
	hf_tsc_cal_begin(&c20);
	r20 = hf_tsc_cal_end(&c20, 20);
	CHECK(raw_ns() - t0 >= 20000000u);
	r500 = hf_tsc_cal_end(&c500, 500);
	CHECK(r500 > 100000); /* at least 100 MHz */
	CHECK(r20 > 100000);
	long long d = (long long)r20 - (long long)r500;
	if (d < 0)
		d = -d;
	if (d * 5000 > (long long)r500)
		fprintf(stderr, "20 ms: %llu ticks/ms, 500 ms: %llu ticks/ms\n",
			(unsigned long long)r20, (unsigned long long)r500);
	CHECK(d * 5000 <= (long long)r500);
	/* time goes on at that rate: 100 ms of TSC ticks is 100 ms of clock */
	uint64_t n0 = raw_ns(), k0 = rte_rdtsc();
	struct timespec s = {.tv_sec = 0, .tv_nsec = 100000000};
	nanosleep(&s, NULL);
	uint64_t n1 = raw_ns(), k1 = rte_rdtsc();
	double ms_tsc = (double)(k1 - k0) / (double)r500, ms_raw = (double)(n1 - n0) / 1e6;
	CHECK(ms_tsc > ms_raw * 0.999 && ms_tsc < ms_raw * 1.001);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_rate),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
