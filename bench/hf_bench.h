/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hf_bench: a small C benchmark harness that speaks Google Benchmark's
 * command line (--benchmark_*) and writes its console, JSON and CSV formats,
 * so Google Benchmark's tools/compare.py can compare two of our JSON files.
 * See docs/bench.md for the flags, the output formats and an example.
 *
 * A benchmark is a function that runs a timed loop:
 *
 *	static void bm_sum(struct hf_bench_state *st)
 *	{
 *		setup();                        // not timed
 *		HF_BENCH_LOOP(st) {             // timed, st->iterations times
 *			...
 *		}
 *		hf_bench_set_items_processed(st, st->iterations * n);
 *	}
 *	HF_BENCHMARK(bm_sum);
 *
 * The harness calls the function several times: with 1, 10, 100, ...
 * iterations until a run lasts --benchmark_min_time (CPU time of the calling
 * thread, or real time after hf_bench_use_real_time()), then once per
 * further repetition with the same iteration count.
 *
 * Threads: a benchmark runs on the thread that called hf_bench_run() and the
 * harness itself starts no threads; "threads" is always 1 in the reports.
 * Nothing here is thread-safe: register and run from one thread.
 */
#ifndef HF_BENCH_H
#define HF_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#define HF_BENCH_MAX_COUNTERS 32
#define HF_BENCH_NAME_MAX     128
#define HF_BENCH_MSG_MAX      256

/* Time units, as --benchmark_time_unit and the "time_unit" JSON key. */
enum hf_bench_unit {
	HF_BENCH_UNIT_DEFAULT = 0, /* --benchmark_time_unit, ns unless set */
	HF_BENCH_NS,
	HF_BENCH_US,
	HF_BENCH_MS,
	HF_BENCH_S,
};

/* Counter flags (Google Benchmark's benchmark::Counter::Flags). */
enum hf_bench_counter_flags {
	HF_BENCH_CNT_DEFAULT = 0,
	HF_BENCH_CNT_RATE = 1 << 0,		   /* value / measured seconds */
	HF_BENCH_CNT_ITERATION_INVARIANT = 1 << 2, /* value * iterations */
	HF_BENCH_CNT_AVG_ITERATIONS = 1 << 3,	   /* value / iterations */
	HF_BENCH_CNT_INVERT = 1 << 4,		   /* 1 / result (after the above) */
	HF_BENCH_CNT_1024 = 1 << 8,		   /* console: k = 1024, not 1000 */
};

struct hf_bench_counter {
	char name[64];
	double value;
	unsigned flags;
};

/*
 * One run of one benchmark. The harness owns it and hands it to the
 * benchmark function; the function reads the public fields and calls the
 * hf_bench_* functions below. Fields ending in '_' are private.
 */
struct hf_bench_state {
	/* public, read-only */
	uint64_t iterations; /* iterations this run must do */
	int64_t arg;	     /* the argument (Google Benchmark's range(0)); 0 if none */
	bool has_arg;
	const char *name; /* full instance name, e.g. "bm_sum/1024" */
	bool error;	  /* hf_bench_skip_with_error() was called */

	/* private */
	uint64_t remaining_;
	bool started_, stopped_, running_, use_real_time_;
	enum hf_bench_unit unit_;
	double real_acc_, cpu_acc_, real_start_, cpu_start_;
	int ncounters_;
	struct hf_bench_counter counters_[HF_BENCH_MAX_COUNTERS];
	char label_[HF_BENCH_MSG_MAX];
	char error_msg_[HF_BENCH_MSG_MAX];
};

typedef void (*hf_bench_fn)(struct hf_bench_state *st);

/* ---- the timed loop ---------------------------------------------------- */

/*
 * Start the timers and return how many iterations to run (0 after an error).
 * Batch style:
 *	uint64_t n = hf_bench_start(st);
 *	for (uint64_t i = 0; i < n; i++) { ... }
 *	hf_bench_stop(st);
 * A function calls hf_bench_start once, and hf_bench_stop after it unless it
 * has called hf_bench_skip_with_error.
 */
uint64_t hf_bench_start(struct hf_bench_state *st);
/* Stop the timers. Returns false, so it can end a for condition. */
bool hf_bench_stop(struct hf_bench_state *st);

/*
 * The usual loop: HF_BENCH_LOOP(st) { body }. The counter lives in a
 * register (like Google Benchmark's range-for); costs about one cycle per
 * iteration. Do not 'break' out of it except after hf_bench_skip_with_error.
 */
#define HF_BENCH_LOOP(st)                                                                     \
	for (uint64_t hf_bench_n_ = hf_bench_start(st); hf_bench_n_ > 0 || hf_bench_stop(st); \
	     hf_bench_n_--)

bool hf_bench_keep_running_slow_(struct hf_bench_state *st);

/*
 * Google Benchmark's KeepRunning(): while (hf_bench_keep_running(st)) { }.
 * The first call starts the timers, the call that returns false stops them.
 * One load and store per iteration more than HF_BENCH_LOOP.
 */
static inline bool hf_bench_keep_running(struct hf_bench_state *st)
{
	if (__builtin_expect(st->running_ && st->remaining_ > 0, 1)) {
		st->remaining_--;
		return true;
	}
	return hf_bench_keep_running_slow_(st);
}

/* Exclude a stretch inside the loop from both timers (costs ~100 ns each). */
void hf_bench_pause_timing(struct hf_bench_state *st);
void hf_bench_resume_timing(struct hf_bench_state *st);

/* ---- results ----------------------------------------------------------- */

/* items_per_second = items / seconds. Pass the total over all iterations. */
void hf_bench_set_items_processed(struct hf_bench_state *st, uint64_t items);
/* bytes_per_second = bytes / seconds (printed with k = 1024). */
void hf_bench_set_bytes_processed(struct hf_bench_state *st, uint64_t bytes);
/* A user counter (sets or replaces); flags from enum hf_bench_counter_flags. */
void hf_bench_counter(struct hf_bench_state *st, const char *name, double value, unsigned flags);
/* Free text printed after the counters and stored as "label". */
void hf_bench_set_label(struct hf_bench_state *st, const char *label);
/*
 * Mark this run failed: it is reported as "error_occurred" with msg, and the
 * loop ends (hf_bench_keep_running returns false; an HF_BENCH_LOOP or batch
 * loop must 'break' or return by itself). May be called before the loop, in
 * which case the function may return without starting it.
 */
void hf_bench_skip_with_error(struct hf_bench_state *st, const char *msg);
/*
 * Decide the iteration count by real time instead of this thread's CPU time
 * (for code that waits or hands work to other lcores). Call before the loop.
 */
void hf_bench_use_real_time(struct hf_bench_state *st);
/* Report this benchmark in unit u instead of --benchmark_time_unit. */
void hf_bench_set_time_unit(struct hf_bench_state *st, enum hf_bench_unit u);

/* ---- keeping the compiler honest --------------------------------------- */

/* The memory p points to is read and may be written: it escapes. */
static inline void hf_bench_do_not_optimize(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Keep a scalar value alive: it must be computed and it may change. */
#ifdef __clang__
#define HF_BENCH_KEEP(var) __asm__ volatile("" : "+r,m"(var) : : "memory")
#else
#define HF_BENCH_KEEP(var) __asm__ volatile("" : "+m,r"(var) : : "memory")
#endif

/* All pending writes to memory happen here. */
static inline void hf_bench_clobber_memory(void)
{
	__asm__ volatile("" : : : "memory");
}

/* ---- registration ------------------------------------------------------ */

/*
 * Register at load time: HF_BENCHMARK(fn) runs as "fn";
 * HF_BENCHMARK_ARGS(fn, 64, 1024) runs "fn/64" and "fn/1024" with st->arg set.
 */
#define HF_BENCHMARK(fn)                                                 \
	__attribute__((constructor)) static void hf_bench_reg_##fn(void) \
	{                                                                \
		hf_bench_register_args(#fn, fn, (const int64_t *)0, 0);  \
	}

#define HF_BENCHMARK_ARGS(fn, ...)                                                                 \
	__attribute__((constructor)) static void hf_bench_reg_##fn(void)                           \
	{                                                                                          \
		static const int64_t hf_bench_args_[] = {__VA_ARGS__};                             \
		hf_bench_register_args(#fn, fn, hf_bench_args_,                                    \
				       (int)(sizeof(hf_bench_args_) / sizeof(hf_bench_args_[0]))); \
	}

/*
 * Register at run time (after rte_eal_init, say). hf_bench_register adds one
 * benchmark named exactly 'name' with st->arg = arg; hf_bench_register_args
 * adds a family "name/<arg>" for each of n args (or just "name" if n == 0).
 * Names are copied. Names starting with "DISABLED_" are never run.
 * Returns 0 or a negative HF_E* style error (-1 bad argument, -2 no memory).
 */
int hf_bench_register(const char *name, hf_bench_fn fn, int64_t arg);
int hf_bench_register_args(const char *name, hf_bench_fn fn, const int64_t *args, int n);

/* ---- running ----------------------------------------------------------- */

/*
 * Parse and remove the --benchmark_* flags (and --help, --v=N) from argv,
 * leaving the others in order for the program (e.g. for rte_eal_init).
 * BENCHMARK_FILTER and friends in the environment give the defaults.
 * Returns how many arguments it removed. A bad value or an unknown
 * --benchmark_* flag prints one line on stderr and exits with 1; --help
 * prints the usage and exits with 0.
 */
int hf_bench_init(int *argc, char **argv);

/*
 * Run the registered benchmarks that match the filter (or list them) and
 * report them. Returns 0, or 1 if an output could not be written or the
 * filter does not compile. A benchmark that skipped with an error does not
 * make this fail (as in Google Benchmark).
 */
int hf_bench_run(void);

/*
 * hf_bench_init + hf_bench_run; any argument left over is an error
 * ("<prog>: error: unrecognized command-line flag: <arg>", exit status 1).
 * A benchmark program's main() can be just: return hf_bench_main(argc, argv);
 */
int hf_bench_main(int argc, char **argv);

#endif
