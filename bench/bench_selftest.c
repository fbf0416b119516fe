/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_selftest: a few trivial benchmarks that exercise every part of the
 * hf_bench harness; tests/unit/test_bench_json.py runs it and checks the
 * output. The names here are part of that test: keep them in step.
 */
#include "bench/hf_bench.h"

#include <stdlib.h>

/* Sum an array: items_per_second and bytes_per_second, one arg per size. */
static void bm_sum_array(struct hf_bench_state *st)
{
	size_t n = (size_t)st->arg;
	uint32_t *a = calloc(n, sizeof(*a));

	if (a == NULL) {
		hf_bench_skip_with_error(st, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = (uint32_t)i;
	hf_bench_do_not_optimize(a);
	HF_BENCH_LOOP(st)
	{
		uint64_t sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += a[i];
		HF_BENCH_KEEP(sum);
	}
	hf_bench_set_items_processed(st, st->iterations * n);
	hf_bench_set_bytes_processed(st, st->iterations * n * sizeof(*a));
	free(a);
}
HF_BENCHMARK_ARGS(bm_sum_array, 64, 1024)

/* User counters of every kind, a label, the keep_running loop style. */
static void bm_counters(struct hf_bench_state *st)
{
	uint64_t x = 1;

	while (hf_bench_keep_running(st)) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		HF_BENCH_KEEP(x);
	}
	hf_bench_counter(st, "plain", 42, HF_BENCH_CNT_DEFAULT);
	hf_bench_counter(st, "ops_rate", (double)st->iterations, HF_BENCH_CNT_RATE);
	hf_bench_counter(st, "per_iter", 1000.0 * (double)st->iterations,
			 HF_BENCH_CNT_AVG_ITERATIONS);
	hf_bench_set_label(st, "lcg");
}
HF_BENCHMARK(bm_counters)

/* Batch style with paused setup inside the loop, in microseconds. */
static void bm_batch_pause(struct hf_bench_state *st)
{
	volatile uint64_t sink = 0;
	uint64_t n;

	hf_bench_set_time_unit(st, HF_BENCH_US);
	n = hf_bench_start(st);
	for (uint64_t i = 0; i < n; i++) {
		hf_bench_pause_timing(st);
		sink = sink + 1; /* not timed */
		hf_bench_resume_timing(st);
		for (int j = 0; j < 100; j++)
			sink = sink + (uint64_t)j;
	}
	hf_bench_stop(st);
	hf_bench_clobber_memory();
}
HF_BENCHMARK(bm_batch_pause)

/* Always fails: reported as error_occurred, never aggregated. */
static void bm_skip_error(struct hf_bench_state *st)
{
	hf_bench_skip_with_error(st, "skipped on purpose");
	HF_BENCH_LOOP(st)
	{
	}
}
HF_BENCHMARK(bm_skip_error)

/* Never listed nor run. */
static void DISABLED_bm_never(struct hf_bench_state *st)
{
	abort();
}
HF_BENCHMARK(DISABLED_bm_never)

static void bm_runtime(struct hf_bench_state *st)
{
	HF_BENCH_LOOP(st)
	{
		int64_t v = st->arg;

		HF_BENCH_KEEP(v);
	}
}

int main(int argc, char **argv)
{
	/* as a DPDK benchmark would: take our flags, hand the rest on */
	hf_bench_init(&argc, argv);
	if (argc > 1) {
		return hf_bench_main(argc, argv); /* reports the leftovers */
	}
	if (hf_bench_register("bm_runtime/7", bm_runtime, 7) < 0)
		return 1;
	return hf_bench_run();
}
