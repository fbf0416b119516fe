/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TSC rate the workers' clock runs on, measured against
 * CLOCK_MONOTONIC_RAW (see hf_dataplane.h).
 */
#include <time.h>

#include <rte_cycles.h>

#include "dataplane/hf_dataplane.h"

/* One (ns, tsc) pair: the TSC read between two clock reads, from the try
 * whose clock reads were closest (a try the scheduler split is dropped). */
static void sample(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 8; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC_RAW, &a);
		uint64_t t = rte_rdtsc();
		clock_gettime(CLOCK_MONOTONIC_RAW, &b);
		uint64_t na = (uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec;
		uint64_t nb = (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec;
		if (nb - na < best) {
			best = nb - na;
			*ns = na + (nb - na) / 2;
			*tsc = t;
		}
	}
}

void hf_tsc_cal_begin(struct hf_tsc_cal *c)
{
	sample(&c->ns, &c->tsc);
}

uint64_t hf_tsc_cal_end(const struct hf_tsc_cal *c, unsigned min_ms)
{
	uint64_t ns, tsc;
	sample(&ns, &tsc);
	if (ns - c->ns < (uint64_t)min_ms * 1000000u) {
		uint64_t left = (uint64_t)min_ms * 1000000u - (ns - c->ns);
		struct timespec d = {.tv_sec = (time_t)(left / 1000000000u),
				     .tv_nsec = (long)(left % 1000000000u)};
		nanosleep(&d, NULL);
		sample(&ns, &tsc);
	}
	if (ns <= c->ns || tsc <= c->tsc)
		return rte_get_tsc_hz() / 1000;
	/* ticks * 1e6 / ns, the product in 128 bits */
	return (uint64_t)(((unsigned __int128)(tsc - c->tsc) * 1000000u) / (ns - c->ns));
}
