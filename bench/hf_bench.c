/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hf_bench: Google-Benchmark-compatible C harness. See hf_bench.h and
 * docs/bench.md. Written from Google Benchmark's documented behaviour and
 * output formats (v1.7/1.8), not from its code.
 *
 * Layout: registry, flags, system context, timers and the state API, the
 * runner (iteration growth, repetitions, aggregates), then the three
 * reporters (console, JSON, CSV).
 */
#define _GNU_SOURCE
#include "bench/hf_bench.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HF_BENCH_MAX_ITERS   1000000000ULL /* Google Benchmark's kMaxIterations */
#define HF_BENCH_MAX_CACHES  8
#define HF_BENCH_MAX_CONTEXT 16

/* ---- registry ---------------------------------------------------------- */

struct hf_bench_instance {
	char *name;
	hf_bench_fn fn;
	int64_t arg;
	bool has_arg;
	int reg_family; /* registration call it came from */
};

static struct hf_bench_instance *g_inst;
static int g_ninst, g_inst_cap, g_nfamilies;

static int hf_bench_add(const char *name, hf_bench_fn fn, int64_t arg, bool has_arg, int family)
{
	if (g_ninst == g_inst_cap) {
		int cap = g_inst_cap ? 2 * g_inst_cap : 32;
		struct hf_bench_instance *n = realloc(g_inst, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return -2;
		g_inst = n;
		g_inst_cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return -2;
	g_inst[g_ninst++] = (struct hf_bench_instance){
		.name = copy, .fn = fn, .arg = arg, .has_arg = has_arg, .reg_family = family};
	return 0;
}

int hf_bench_register(const char *name, hf_bench_fn fn, int64_t arg)
{
	if (name == NULL || *name == '\0' || fn == NULL || strlen(name) >= HF_BENCH_NAME_MAX)
		return -1;
	return hf_bench_add(name, fn, arg, true, g_nfamilies++);
}

int hf_bench_register_args(const char *name, hf_bench_fn fn, const int64_t *args, int n)
{
	char full[HF_BENCH_NAME_MAX + 32];
	int family = g_nfamilies++;
	int rc;

	if (name == NULL || *name == '\0' || fn == NULL || n < 0 || (n > 0 && args == NULL) ||
	    strlen(name) >= HF_BENCH_NAME_MAX)
		return -1;
	if (n == 0)
		return hf_bench_add(name, fn, 0, false, family);
	for (int i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%lld", name, (long long)args[i]);
		rc = hf_bench_add(full, fn, args[i], true, family);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- flags ------------------------------------------------------------- */

enum hf_bench_format { HF_FMT_CONSOLE, HF_FMT_JSON, HF_FMT_CSV };

static struct {
	const char *prog;
	bool list_tests;
	const char *filter;
	double min_time;      /* seconds */
	uint64_t fixed_iters; /* "Nx": exactly N iterations, 0 = not set */
	double min_warmup_time;
	int repetitions;
	bool report_aggregates_only, display_aggregates_only;
	enum hf_bench_format format, out_format;
	const char *out;
	int color; /* -1 auto, 0, 1 */
	bool tabular;
	enum hf_bench_unit unit;
	int nctx;
	char *ctx_key[HF_BENCH_MAX_CONTEXT], *ctx_val[HF_BENCH_MAX_CONTEXT];
} g_flags = {
	.prog = "benchmark",
	.filter = ".",
	.min_time = 0.5,
	.repetitions = 1,
	.color = -1,
	.unit = HF_BENCH_NS,
};

static const char hf_bench_usage[] =
	"benchmark [--benchmark_list_tests={true|false}]\n"
	"          [--benchmark_filter=<regex>]\n"
	"          [--benchmark_min_time=`<integer>x` OR `<float>s` ]\n"
	"          [--benchmark_min_warmup_time=<min_warmup_time>]\n"
	"          [--benchmark_repetitions=<num_repetitions>]\n"
	"          [--benchmark_enable_random_interleaving={true|false}]\n"
	"          [--benchmark_report_aggregates_only={true|false}]\n"
	"          [--benchmark_display_aggregates_only={true|false}]\n"
	"          [--benchmark_format=<console|json|csv>]\n"
	"          [--benchmark_out=<filename>]\n"
	"          [--benchmark_out_format=<json|console|csv>]\n"
	"          [--benchmark_color={auto|true|false}]\n"
	"          [--benchmark_counters_tabular={true|false}]\n"
	"          [--benchmark_context=<key>=<value>,...]\n"
	"          [--benchmark_time_unit={ns|us|ms|s}]\n"
	"          [--v=<verbosity>]\n";

static __attribute__((noreturn, format(printf, 1, 2))) void hf_bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", g_flags.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Google Benchmark's truthiness: "", "1", "true", "yes", "on", "t", "y"... */
static bool hf_bench_parse_bool(const char *flag, const char *v)
{
	static const char *const yes[] = {"", "1", "t", "y", "true", "yes", "on"};
	static const char *const no[] = {"0", "f", "n", "false", "no", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(v, no[i]) == 0)
			return false;
	hf_bench_die("invalid value for --%s: '%s' (expected true or false)", flag, v);
}

static double hf_bench_parse_seconds(const char *flag, const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (end != v && *end == 's')
		end++;
	if (end == v || *end != '\0' || errno != 0 || !(d >= 0) || isinf(d))
		hf_bench_die("invalid value for --%s: '%s' (expected seconds, e.g. 0.5 or 0.5s)",
			     flag, v);
	return d;
}

static void hf_bench_parse_min_time(const char *v)
{
	size_t len = strlen(v);

	if (len > 1 && v[len - 1] == 'x') {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || end != v + len - 1 || errno != 0 || n == 0 ||
		    n > HF_BENCH_MAX_ITERS)
			hf_bench_die("invalid value for --benchmark_min_time: '%s' (expected "
				     "<seconds>, <seconds>s or <iterations>x)",
				     v);
		g_flags.fixed_iters = n;
		return;
	}
	g_flags.min_time = hf_bench_parse_seconds("benchmark_min_time", v);
	g_flags.fixed_iters = 0;
}

static enum hf_bench_format hf_bench_parse_format(const char *flag, const char *v)
{
	if (strcmp(v, "console") == 0)
		return HF_FMT_CONSOLE;
	if (strcmp(v, "json") == 0)
		return HF_FMT_JSON;
	if (strcmp(v, "csv") == 0)
		return HF_FMT_CSV;
	hf_bench_die("invalid value for --%s: '%s' (expected console, json or csv)", flag, v);
}

static enum hf_bench_unit hf_bench_parse_unit(const char *v)
{
	if (strcmp(v, "ns") == 0)
		return HF_BENCH_NS;
	if (strcmp(v, "us") == 0)
		return HF_BENCH_US;
	if (strcmp(v, "ms") == 0)
		return HF_BENCH_MS;
	if (strcmp(v, "s") == 0)
		return HF_BENCH_S;
	hf_bench_die("invalid value for --benchmark_time_unit: '%s' (expected ns, us, ms or s)", v);
}

static void hf_bench_parse_context(const char *v)
{
	char *copy = strdup(v), *save = NULL, *tok;

	if (copy == NULL)
		hf_bench_die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || eq == tok)
			hf_bench_die("invalid value for --benchmark_context: '%s' (expected "
				     "key=value,...)",
				     v);
		*eq = '\0';
		for (int i = 0; i < g_flags.nctx; i++)
			if (strcmp(g_flags.ctx_key[i], tok) == 0)
				hf_bench_die("--benchmark_context: key '%s' given twice", tok);
		if (g_flags.nctx == HF_BENCH_MAX_CONTEXT)
			hf_bench_die("--benchmark_context: more than %d keys",
				     HF_BENCH_MAX_CONTEXT);
		g_flags.ctx_key[g_flags.nctx] = tok;
		g_flags.ctx_val[g_flags.nctx] = eq + 1;
		g_flags.nctx++;
	}
}

static int hf_bench_parse_int(const char *flag, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || n < min || n > max)
		hf_bench_die("invalid value for --%s: '%s' (expected an integer from %ld to %ld)",
			     flag, v, min, max);
	return (int)n;
}

/*
 * Apply one flag; name has no leading dashes, v is NULL if there was no '='.
 * Returns false if the name is not one of ours.
 */
static bool hf_bench_apply_flag(const char *name, const char *v)
{
	static const char *const string_flags[] = {
		"benchmark_filter",	 "benchmark_min_time",	    "benchmark_min_warmup_time",
		"benchmark_repetitions", "benchmark_format",	    "benchmark_out",
		"benchmark_out_format",	 "benchmark_color",	    "benchmark_context",
		"benchmark_time_unit",	 "benchmark_perf_counters", "v",
	};
	bool needs_value = false;

	for (size_t i = 0; i < sizeof(string_flags) / sizeof(string_flags[0]); i++)
		if (strcmp(name, string_flags[i]) == 0)
			needs_value = true;
	if (needs_value && v == NULL)
		hf_bench_die("flag --%s needs a value: --%s=<value>", name, name);
	if (v == NULL)
		v = "";

	if (strcmp(name, "benchmark_list_tests") == 0) {
		g_flags.list_tests = hf_bench_parse_bool(name, v);
	} else if (strcmp(name, "benchmark_filter") == 0) {
		g_flags.filter = v;
	} else if (strcmp(name, "benchmark_min_time") == 0) {
		hf_bench_parse_min_time(v);
	} else if (strcmp(name, "benchmark_min_warmup_time") == 0) {
		g_flags.min_warmup_time = hf_bench_parse_seconds(name, v);
	} else if (strcmp(name, "benchmark_repetitions") == 0) {
		g_flags.repetitions = hf_bench_parse_int(name, v, 1, 10000);
	} else if (strcmp(name, "benchmark_enable_random_interleaving") == 0) {
		if (hf_bench_parse_bool(name, v))
			hf_bench_die("--%s=true is not supported by hf_bench", name);
	} else if (strcmp(name, "benchmark_report_aggregates_only") == 0) {
		g_flags.report_aggregates_only = hf_bench_parse_bool(name, v);
	} else if (strcmp(name, "benchmark_display_aggregates_only") == 0) {
		g_flags.display_aggregates_only = hf_bench_parse_bool(name, v);
	} else if (strcmp(name, "benchmark_format") == 0) {
		g_flags.format = hf_bench_parse_format(name, v);
	} else if (strcmp(name, "benchmark_out") == 0) {
		g_flags.out = v;
	} else if (strcmp(name, "benchmark_out_format") == 0) {
		g_flags.out_format = hf_bench_parse_format(name, v);
	} else if (strcmp(name, "benchmark_color") == 0) {
		g_flags.color = strcasecmp(v, "auto") == 0 ? -1 : hf_bench_parse_bool(name, v);
	} else if (strcmp(name, "benchmark_counters_tabular") == 0) {
		g_flags.tabular = hf_bench_parse_bool(name, v);
	} else if (strcmp(name, "benchmark_context") == 0) {
		hf_bench_parse_context(v);
	} else if (strcmp(name, "benchmark_time_unit") == 0) {
		g_flags.unit = hf_bench_parse_unit(v);
	} else if (strcmp(name, "benchmark_perf_counters") == 0) {
		if (*v != '\0')
			hf_bench_die("--%s is not supported by hf_bench", name);
	} else if (strcmp(name, "v") == 0) {
		(void)hf_bench_parse_int(name, v, -1000, 1000);
	} else {
		return false;
	}
	return true;
}

static void hf_bench_env_defaults(void)
{
	static const char *const names[] = {
		"benchmark_list_tests",
		"benchmark_filter",
		"benchmark_min_time",
		"benchmark_min_warmup_time",
		"benchmark_repetitions",
		"benchmark_report_aggregates_only",
		"benchmark_display_aggregates_only",
		"benchmark_format",
		"benchmark_out",
		"benchmark_out_format",
		"benchmark_color",
		"benchmark_counters_tabular",
		"benchmark_context",
		"benchmark_time_unit",
	};
	char env[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t j;
		const char *v;

		for (j = 0; names[i][j] != '\0' && j < sizeof(env) - 1; j++)
			env[j] = (char)toupper((unsigned char)names[i][j]);
		env[j] = '\0';
		v = getenv(env);
		if (v != NULL)
			hf_bench_apply_flag(names[i], v);
	}
}

int hf_bench_init(int *argc, char **argv)
{
	int out = 1, removed = 0;

	if (*argc > 0 && argv[0] != NULL)
		g_flags.prog = argv[0];
	g_flags.out_format = HF_FMT_JSON;
	hf_bench_env_defaults();

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(hf_bench_usage, stdout);
			exit(0);
		}
		if (strncmp(a, "--benchmark_", 12) == 0 || strncmp(a, "--v=", 4) == 0) {
			char name[64];
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);

			if (len >= sizeof(name))
				hf_bench_die("unrecognized command-line flag: %s", a);
			memcpy(name, a + 2, len);
			name[len] = '\0';
			if (!hf_bench_apply_flag(name, eq ? eq + 1 : NULL))
				hf_bench_die("unrecognized command-line flag: %s", a);
			removed++;
			continue;
		}
		argv[out++] = argv[i];
	}
	if (*argc > 0) {
		*argc = out;
		argv[out] = NULL;
	}
	return removed;
}

/* ---- system context ---------------------------------------------------- */

struct hf_bench_cache {
	char type[16];
	int level;
	long long size;
	int num_sharing;
};

static struct {
	char date[64];
	char host[256];
	int num_cpus;
	double mhz;
	bool scaling;
	int ncaches;
	struct hf_bench_cache caches[HF_BENCH_MAX_CACHES];
	double load[3];
	int nload;
} g_ctx;

static bool hf_bench_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static double hf_bench_read_mhz(void)
{
	char line[256];
	FILE *f;
	double mhz = 0, bogo = 0;

	if (hf_bench_read_line("/sys/devices/system/cpu/cpu0/tsc_freq_khz", line, sizeof(line)))
		return strtod(line, NULL) / 1000.0;
	f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		if (mhz == 0 && strncmp(line, "cpu MHz", 7) == 0)
			mhz = strtod(colon + 1, NULL);
		else if (bogo == 0 && strncasecmp(line, "bogomips", 8) == 0)
			bogo = strtod(colon + 1, NULL);
	}
	fclose(f);
	return mhz > 0 ? mhz : bogo;
}

static int hf_bench_count_cpus_in_map(const char *map)
{
	int n = 0;

	for (; *map; map++) {
		int d;

		if (*map >= '0' && *map <= '9')
			d = *map - '0';
		else if (*map >= 'a' && *map <= 'f')
			d = *map - 'a' + 10;
		else if (*map >= 'A' && *map <= 'F')
			d = *map - 'A' + 10;
		else
			continue;
		n += __builtin_popcount((unsigned)d);
	}
	return n;
}

static void hf_bench_read_caches(void)
{
	for (int i = 0; g_ctx.ncaches < HF_BENCH_MAX_CACHES; i++) {
		char path[128], buf[256];
		struct hf_bench_cache *c = &g_ctx.caches[g_ctx.ncaches];
		char *end;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
		if (!hf_bench_read_line(path, buf, sizeof(buf)))
			break;
		snprintf(c->type, sizeof(c->type), "%.15s", buf);
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
		c->level = hf_bench_read_line(path, buf, sizeof(buf)) ? atoi(buf) : 0;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
		c->size = 0;
		if (hf_bench_read_line(path, buf, sizeof(buf))) {
			c->size = strtoll(buf, &end, 10);
			if (*end == 'K')
				c->size *= 1024;
			else if (*end == 'M')
				c->size *= 1024 * 1024;
			else if (*end == 'G')
				c->size *= 1024LL * 1024 * 1024;
		}
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_map", i);
		c->num_sharing = hf_bench_read_line(path, buf, sizeof(buf))
					 ? hf_bench_count_cpus_in_map(buf)
					 : 0;
		if (c->type[0] != '\0' && c->level > 0)
			g_ctx.ncaches++;
	}
}

static void hf_bench_collect_context(void)
{
	char buf[256];
	time_t now = time(NULL);
	struct tm tm;
	size_t n;

	localtime_r(&now, &tm);
	/* ISO 8601 with the offset as +hh:mm, as Google Benchmark writes it */
	n = strftime(g_ctx.date, sizeof(g_ctx.date), "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (n >= 5 && n + 2 < sizeof(g_ctx.date)) {
		memmove(g_ctx.date + n - 1, g_ctx.date + n - 2, 3);
		g_ctx.date[n - 2] = ':';
	}
	if (gethostname(g_ctx.host, sizeof(g_ctx.host) - 1) != 0)
		snprintf(g_ctx.host, sizeof(g_ctx.host), "unknown");
	g_ctx.num_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (g_ctx.num_cpus < 1)
		g_ctx.num_cpus = 1;
	g_ctx.mhz = hf_bench_read_mhz();
	g_ctx.scaling = false;
	for (int cpu = 0; cpu < g_ctx.num_cpus; cpu++) {
		char path[128];

		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", cpu);
		if (hf_bench_read_line(path, buf, sizeof(buf)) && strcmp(buf, "performance") != 0) {
			g_ctx.scaling = true;
			break;
		}
	}
	g_ctx.ncaches = 0;
	hf_bench_read_caches();
	g_ctx.nload = getloadavg(g_ctx.load, 3);
	if (g_ctx.nload < 0)
		g_ctx.nload = 0;
}

/* ---- timers and the state API ------------------------------------------ */

static double hf_bench_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void hf_bench_timer_on(struct hf_bench_state *st)
{
	/* the CPU interval nests inside the real one, as in Google Benchmark */
	st->running_ = true;
	st->real_start_ = hf_bench_now(CLOCK_MONOTONIC);
	st->cpu_start_ = hf_bench_now(CLOCK_THREAD_CPUTIME_ID);
}

static void hf_bench_timer_off(struct hf_bench_state *st)
{
	double cpu = hf_bench_now(CLOCK_THREAD_CPUTIME_ID);
	double real = hf_bench_now(CLOCK_MONOTONIC);

	st->real_acc_ += real - st->real_start_;
	st->cpu_acc_ += cpu - st->cpu_start_;
	st->running_ = false;
}

static void hf_bench_misuse(struct hf_bench_state *st, const char *msg)
{
	if (!st->error) {
		st->error = true;
		snprintf(st->error_msg_, sizeof(st->error_msg_), "%s", msg);
	}
	st->remaining_ = 0;
	if (st->running_)
		hf_bench_timer_off(st);
}

uint64_t hf_bench_start(struct hf_bench_state *st)
{
	if (st->started_) {
		hf_bench_misuse(st, "hf_bench: the timed loop was started twice");
		return 0;
	}
	st->started_ = true;
	st->remaining_ = 0;
	if (st->error)
		return 0;
	hf_bench_timer_on(st);
	return st->iterations;
}

bool hf_bench_stop(struct hf_bench_state *st)
{
	if (!st->started_ || st->stopped_) {
		hf_bench_misuse(st, "hf_bench: hf_bench_stop without a running loop");
		return false;
	}
	st->stopped_ = true;
	if (st->running_)
		hf_bench_timer_off(st);
	return false;
}

bool hf_bench_keep_running_slow_(struct hf_bench_state *st)
{
	if (!st->started_) {
		if (hf_bench_start(st) == 0)
			return false;
		st->remaining_ = st->iterations - 1;
		return true;
	}
	if (st->stopped_)
		return false;
	if (!st->running_ && st->remaining_ > 0 && !st->error) {
		hf_bench_misuse(st, "hf_bench: keep_running called while timing is paused");
		return false;
	}
	if (!st->error)
		hf_bench_stop(st);
	else
		st->stopped_ = true;
	return false;
}

void hf_bench_pause_timing(struct hf_bench_state *st)
{
	if (st->running_)
		hf_bench_timer_off(st);
}

void hf_bench_resume_timing(struct hf_bench_state *st)
{
	if (!st->running_ && st->started_ && !st->stopped_ && !st->error)
		hf_bench_timer_on(st);
}

void hf_bench_counter(struct hf_bench_state *st, const char *name, double value, unsigned flags)
{
	int i;

	for (i = 0; i < st->ncounters_; i++)
		if (strcmp(st->counters_[i].name, name) == 0)
			break;
	if (i == st->ncounters_) {
		if (i == HF_BENCH_MAX_COUNTERS) {
			hf_bench_misuse(st, "hf_bench: too many counters");
			return;
		}
		st->ncounters_++;
		snprintf(st->counters_[i].name, sizeof(st->counters_[i].name), "%s", name);
	}
	st->counters_[i].value = value;
	st->counters_[i].flags = flags;
}

void hf_bench_set_items_processed(struct hf_bench_state *st, uint64_t items)
{
	hf_bench_counter(st, "items_per_second", (double)items, HF_BENCH_CNT_RATE);
}

void hf_bench_set_bytes_processed(struct hf_bench_state *st, uint64_t bytes)
{
	hf_bench_counter(st, "bytes_per_second", (double)bytes,
			 HF_BENCH_CNT_RATE | HF_BENCH_CNT_1024);
}

void hf_bench_set_label(struct hf_bench_state *st, const char *label)
{
	snprintf(st->label_, sizeof(st->label_), "%s", label ? label : "");
}

void hf_bench_skip_with_error(struct hf_bench_state *st, const char *msg)
{
	st->error = true;
	snprintf(st->error_msg_, sizeof(st->error_msg_), "%s", msg ? msg : "");
	st->remaining_ = 0;
	if (st->running_)
		hf_bench_timer_off(st);
}

void hf_bench_use_real_time(struct hf_bench_state *st)
{
	st->use_real_time_ = true;
}

void hf_bench_set_time_unit(struct hf_bench_state *st, enum hf_bench_unit u)
{
	st->unit_ = u;
}

/* ---- runs and aggregates ----------------------------------------------- */

enum hf_bench_agg_unit { HF_AGG_TIME, HF_AGG_PERCENT };

/* One reported row: an iteration run or an aggregate. */
struct hf_bench_run {
	const struct hf_bench_instance *inst;
	int family_index, instance_index;
	bool aggregate;
	const char *aggregate_name;
	enum hf_bench_agg_unit agg_unit;
	int repetitions, repetition_index;
	bool error;
	char error_msg[HF_BENCH_MSG_MAX];
	uint64_t iterations;
	double real, cpu; /* seconds per iteration; a fraction for a percentage aggregate */
	enum hf_bench_unit unit;
	int ncounters;
	struct hf_bench_counter counters[HF_BENCH_MAX_COUNTERS]; /* finished, sorted by name */
	char label[HF_BENCH_MSG_MAX];
};

static int hf_bench_counter_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hf_bench_counter *)a)->name,
		      ((const struct hf_bench_counter *)b)->name);
}

static int hf_bench_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double hf_stat_mean(const double *v, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return n ? s / n : 0;
}

static double hf_stat_median(const double *v, int n)
{
	double *tmp, m;

	if (n == 0 || (tmp = malloc(sizeof(double) * (size_t)n)) == NULL)
		return 0;
	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), hf_bench_double_cmp);
	m = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
	free(tmp);
	return m;
}

/* Sample standard deviation (n - 1), as Google Benchmark reports it. */
static double hf_stat_stddev(const double *v, int n)
{
	double m = hf_stat_mean(v, n), s = 0;

	if (n < 2)
		return 0;
	for (int i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (n - 1));
}

static double hf_stat_cv(const double *v, int n)
{
	double m = hf_stat_mean(v, n);

	if (n < 2 || m == 0)
		return 0;
	return hf_stat_stddev(v, n) / m;
}

static const struct {
	const char *name;
	double (*fn)(const double *, int);
	enum hf_bench_agg_unit unit;
} hf_stats[] = {
	{"mean", hf_stat_mean, HF_AGG_TIME},
	{"median", hf_stat_median, HF_AGG_TIME},
	{"stddev", hf_stat_stddev, HF_AGG_TIME},
	{"cv", hf_stat_cv, HF_AGG_PERCENT},
};
#define HF_NSTATS ((int)(sizeof(hf_stats) / sizeof(hf_stats[0])))

/* Aggregates over the runs that did not fail; none if fewer than two. */
static int hf_bench_aggregate(const struct hf_bench_run *runs, int n, struct hf_bench_run *agg)
{
	double *buf = malloc(sizeof(double) * 3 * (size_t)n);
	double *real = buf, *cpu = buf + n, *vals = buf + 2 * n;
	int ok = 0;
	const struct hf_bench_run *first = NULL;

	if (buf == NULL)
		return 0;
	for (int i = 0; i < n; i++) {
		if (runs[i].error)
			continue;
		if (first == NULL)
			first = &runs[i];
		real[ok] = runs[i].real;
		cpu[ok] = runs[i].cpu;
		ok++;
	}
	if (ok < 2) {
		free(buf);
		return 0;
	}
	for (int s = 0; s < HF_NSTATS; s++) {
		struct hf_bench_run *a = &agg[s];

		memset(a, 0, sizeof(*a));
		a->inst = first->inst;
		a->family_index = first->family_index;
		a->instance_index = first->instance_index;
		a->aggregate = true;
		a->aggregate_name = hf_stats[s].name;
		a->agg_unit = hf_stats[s].unit;
		a->repetitions = first->repetitions;
		a->iterations = (uint64_t)n;
		a->real = hf_stats[s].fn(real, ok);
		a->cpu = hf_stats[s].fn(cpu, ok);
		a->unit = first->unit;
		/* label only if every run had the same one */
		snprintf(a->label, sizeof(a->label), "%s", first->label);
		for (int i = 0; i < n; i++)
			if (!runs[i].error && strcmp(runs[i].label, first->label) != 0)
				a->label[0] = '\0';
		/* counters: the union of names, each over the runs that set it */
		for (int i = 0; i < n; i++) {
			if (runs[i].error)
				continue;
			for (int c = 0; c < runs[i].ncounters; c++) {
				const struct hf_bench_counter *rc = &runs[i].counters[c];
				int k, m = 0;

				for (k = 0; k < a->ncounters; k++)
					if (strcmp(a->counters[k].name, rc->name) == 0)
						break;
				if (k < a->ncounters)
					continue;
				for (int j = 0; j < n; j++) {
					if (runs[j].error)
						continue;
					for (int q = 0; q < runs[j].ncounters; q++)
						if (strcmp(runs[j].counters[q].name, rc->name) == 0)
							vals[m++] = runs[j].counters[q].value;
				}
				a->counters[k] = *rc;
				a->counters[k].value = hf_stats[s].fn(vals, m);
				a->ncounters++;
			}
		}
		qsort(a->counters, (size_t)a->ncounters, sizeof(a->counters[0]),
		      hf_bench_counter_cmp);
	}
	free(buf);
	return HF_NSTATS;
}

/* ---- reporters --------------------------------------------------------- */

struct hf_bench_reporter {
	FILE *f;   /* results */
	FILE *ctx; /* context (console and CSV: stderr when f is stdout) */
	enum hf_bench_format fmt;
	bool color;
	bool aggregates_only;
	bool printed_header, first_run;
	int name_width;
	/* console tabular / CSV: the counter names of the current header */
	int nhdr;
	char hdr[HF_BENCH_MAX_COUNTERS][64];
};

static const char *hf_bench_unit_str(enum hf_bench_unit u)
{
	switch (u) {
	case HF_BENCH_US:
		return "us";
	case HF_BENCH_MS:
		return "ms";
	case HF_BENCH_S:
		return "s";
	default:
		return "ns";
	}
}

static double hf_bench_unit_mult(enum hf_bench_unit u)
{
	switch (u) {
	case HF_BENCH_US:
		return 1e6;
	case HF_BENCH_MS:
		return 1e3;
	case HF_BENCH_S:
		return 1;
	default:
		return 1e9;
	}
}

/* Times in the run's unit (percentage aggregates stay fractions). */
static double hf_bench_adj_real(const struct hf_bench_run *r)
{
	return r->aggregate && r->agg_unit == HF_AGG_PERCENT
		       ? r->real
		       : r->real * hf_bench_unit_mult(r->unit);
}

static double hf_bench_adj_cpu(const struct hf_bench_run *r)
{
	return r->aggregate && r->agg_unit == HF_AGG_PERCENT ? r->cpu
							     : r->cpu * hf_bench_unit_mult(r->unit);
}

static void hf_bench_full_name(const struct hf_bench_run *r, char *buf, size_t len)
{
	if (r->aggregate)
		snprintf(buf, len, "%s_%s", r->inst->name, r->aggregate_name);
	else
		snprintf(buf, len, "%s", r->inst->name);
}

static void hf_bench_print_context_text(FILE *f)
{
	fprintf(f, "%s\n", g_ctx.date);
	fprintf(f, "Running %s\n", g_flags.prog);
	fprintf(f, "Run on (%d X %g MHz CPU %s)\n", g_ctx.num_cpus, g_ctx.mhz,
		g_ctx.num_cpus > 1 ? "s" : "");
	if (g_ctx.ncaches > 0) {
		fprintf(f, "CPU Caches:\n");
		for (int i = 0; i < g_ctx.ncaches; i++) {
			const struct hf_bench_cache *c = &g_ctx.caches[i];

			fprintf(f, "  L%d %s %lld KiB", c->level, c->type, c->size / 1024);
			if (c->num_sharing > 0)
				fprintf(f, " (x%d)", g_ctx.num_cpus / c->num_sharing);
			fprintf(f, "\n");
		}
	}
	if (g_ctx.nload > 0) {
		fprintf(f, "Load Average: ");
		for (int i = 0; i < g_ctx.nload; i++)
			fprintf(f, "%s%.2f", i ? ", " : "", g_ctx.load[i]);
		fprintf(f, "\n");
	}
	for (int i = 0; i < g_flags.nctx; i++)
		fprintf(f, "%s: %s\n", g_flags.ctx_key[i], g_flags.ctx_val[i]);
	if (g_ctx.scaling)
		fprintf(f, "***WARNING*** CPU scaling is enabled, the benchmark real time "
			   "measurements may be noisy and will incur extra overhead.\n");
#ifndef __OPTIMIZE__
	fprintf(f, "***WARNING*** Library was built as DEBUG. Timings may be affected.\n");
#endif
}

static void hf_bench_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* Doubles as Google Benchmark writes them: %.16e; JSON has no NaN or Inf. */
static void hf_bench_json_double(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		v = 0;
	fprintf(f, "%.16e", v);
}

static void hf_bench_json_context(struct hf_bench_reporter *r)
{
	FILE *f = r->f;

	fprintf(f, "{\n  \"context\": {\n");
	fprintf(f, "    \"date\": ");
	hf_bench_json_str(f, g_ctx.date);
	fprintf(f, ",\n    \"host_name\": ");
	hf_bench_json_str(f, g_ctx.host);
	fprintf(f, ",\n    \"executable\": ");
	hf_bench_json_str(f, g_flags.prog);
	fprintf(f, ",\n    \"num_cpus\": %d,\n", g_ctx.num_cpus);
	fprintf(f, "    \"mhz_per_cpu\": %lld,\n", (long long)g_ctx.mhz);
	fprintf(f, "    \"cpu_scaling_enabled\": %s,\n", g_ctx.scaling ? "true" : "false");
	fprintf(f, "    \"caches\": [\n");
	for (int i = 0; i < g_ctx.ncaches; i++) {
		const struct hf_bench_cache *c = &g_ctx.caches[i];

		fprintf(f, "      {\n        \"type\": ");
		hf_bench_json_str(f, c->type);
		fprintf(f, ",\n        \"level\": %d,\n        \"size\": %lld,\n", c->level,
			c->size);
		fprintf(f, "        \"num_sharing\": %d\n      }%s\n", c->num_sharing,
			i + 1 < g_ctx.ncaches ? "," : "");
	}
	fprintf(f, "    ],\n    \"load_avg\": [");
	for (int i = 0; i < g_ctx.nload; i++)
		fprintf(f, "%s%g", i ? "," : "", g_ctx.load[i]);
	fprintf(f, "],\n");
#ifdef __OPTIMIZE__
	fprintf(f, "    \"library_build_type\": \"release\",\n");
#else
	fprintf(f, "    \"library_build_type\": \"debug\",\n");
#endif
	fprintf(f, "    \"json_schema_version\": 1");
	for (int i = 0; i < g_flags.nctx; i++) {
		fprintf(f, ",\n    ");
		hf_bench_json_str(f, g_flags.ctx_key[i]);
		fprintf(f, ": ");
		hf_bench_json_str(f, g_flags.ctx_val[i]);
	}
	fprintf(f, "\n  },\n  \"benchmarks\": [\n");
}

static void hf_bench_json_run(struct hf_bench_reporter *r, const struct hf_bench_run *run)
{
	FILE *f = r->f;
	char name[HF_BENCH_NAME_MAX + 64];

	hf_bench_full_name(run, name, sizeof(name));
	fprintf(f, "%s    {\n      \"name\": ", r->first_run ? "" : ",\n");
	r->first_run = false;
	hf_bench_json_str(f, name);
	fprintf(f, ",\n      \"family_index\": %d,\n", run->family_index);
	fprintf(f, "      \"per_family_instance_index\": %d,\n", run->instance_index);
	fprintf(f, "      \"run_name\": ");
	hf_bench_json_str(f, run->inst->name);
	fprintf(f, ",\n      \"run_type\": \"%s\",\n", run->aggregate ? "aggregate" : "iteration");
	fprintf(f, "      \"repetitions\": %d,\n", run->repetitions);
	if (!run->aggregate)
		fprintf(f, "      \"repetition_index\": %d,\n", run->repetition_index);
	fprintf(f, "      \"threads\": 1,\n");
	if (run->aggregate)
		fprintf(f, "      \"aggregate_name\": \"%s\",\n      \"aggregate_unit\": \"%s\",\n",
			run->aggregate_name,
			run->agg_unit == HF_AGG_PERCENT ? "percentage" : "time");
	if (run->error) {
		fprintf(f, "      \"error_occurred\": true,\n      \"error_message\": ");
		hf_bench_json_str(f, run->error_msg);
		fprintf(f, ",\n");
	}
	fprintf(f, "      \"iterations\": %llu,\n", (unsigned long long)run->iterations);
	fprintf(f, "      \"real_time\": ");
	hf_bench_json_double(f, hf_bench_adj_real(run));
	fprintf(f, ",\n      \"cpu_time\": ");
	hf_bench_json_double(f, hf_bench_adj_cpu(run));
	fprintf(f, ",\n      \"time_unit\": \"%s\"", hf_bench_unit_str(run->unit));
	for (int i = 0; i < run->ncounters; i++) {
		fprintf(f, ",\n      ");
		hf_bench_json_str(f, run->counters[i].name);
		fprintf(f, ": ");
		hf_bench_json_double(f, run->counters[i].value);
	}
	if (run->label[0] != '\0') {
		fprintf(f, ",\n      \"label\": ");
		hf_bench_json_str(f, run->label);
	}
	fprintf(f, "\n    }");
}

/*
 * Google Benchmark's HumanReadableNumber: SI prefixes with %g mantissas;
 * values above 1.1k step up (k M G T P E Z Y), below 0.01 step down
 * (m u n p f a z y) until at least 1.1.
 */
static void hf_bench_human(char *buf, size_t len, double v, double one_k)
{
	static const char big[] = "kMGTPEZY", small[] = "munpfazy";
	const char *sign = "";

	if (v < 0) {
		sign = "-";
		v = -v;
	}
	if (v > 1.1 * one_k) {
		double s = v;

		for (int i = 0; i < 8; i++) {
			s /= one_k;
			if (s <= 1.1 * one_k) {
				snprintf(buf, len, "%s%g%c", sign, s, big[i]);
				return;
			}
		}
	} else if (v < 0.01 && v > 0) {
		double s = v;

		for (int i = 0; i < 8; i++) {
			s *= one_k;
			if (s >= 1.1) {
				snprintf(buf, len, "%s%g%c", sign, s, small[i]);
				return;
			}
		}
	}
	snprintf(buf, len, "%s%g", sign, v);
}

static const char *hf_bench_col(const struct hf_bench_reporter *r, const char *code)
{
	return r->color ? code : "";
}

#define HF_COL_GREEN  "\033[0;32m"
#define HF_COL_YELLOW "\033[0;33m"
#define HF_COL_CYAN   "\033[0;36m"
#define HF_COL_RED    "\033[0;31m"
#define HF_COL_RESET  "\033[m"

static bool hf_bench_same_header(const struct hf_bench_reporter *r, const struct hf_bench_run *run)
{
	if (r->nhdr != run->ncounters)
		return false;
	for (int i = 0; i < run->ncounters; i++)
		if (strcmp(r->hdr[i], run->counters[i].name) != 0)
			return false;
	return true;
}

static void hf_bench_save_header(struct hf_bench_reporter *r, const struct hf_bench_run *run)
{
	r->nhdr = run->ncounters;
	for (int i = 0; i < run->ncounters; i++)
		snprintf(r->hdr[i], sizeof(r->hdr[i]), "%s", run->counters[i].name);
}

static void hf_bench_console_header(struct hf_bench_reporter *r, const struct hf_bench_run *run)
{
	char line[4096];
	int n;

	n = snprintf(line, sizeof(line), "%-*s %13s %15s %12s", r->name_width, "Benchmark", "Time",
		     "CPU", "Iterations");
	if (run->ncounters > 0) {
		if (g_flags.tabular) {
			for (int i = 0; i < run->ncounters && n < (int)sizeof(line); i++)
				n += snprintf(line + n, sizeof(line) - (size_t)n, " %10s",
					      run->counters[i].name);
		} else {
			n += snprintf(line + n, sizeof(line) - (size_t)n, " UserCounters...");
		}
	}
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	for (int i = 0; i < n; i++)
		fputc('-', r->f);
	fprintf(r->f, "\n%s\n", line);
	for (int i = 0; i < n; i++)
		fputc('-', r->f);
	fputc('\n', r->f);
}

static void hf_bench_format_time(char *buf, size_t len, double t)
{
	if (t < 1.0)
		snprintf(buf, len, "%10.3f", t);
	else if (t < 10.0)
		snprintf(buf, len, "%10.2f", t);
	else if (t < 100.0)
		snprintf(buf, len, "%10.1f", t);
	else if (t > 9999999999.0)
		snprintf(buf, len, "%1.4e", t);
	else
		snprintf(buf, len, "%10.0f", t);
}

static void hf_bench_console_run(struct hf_bench_reporter *r, const struct hf_bench_run *run)
{
	FILE *f = r->f;
	char name[HF_BENCH_NAME_MAX + 64], rt[64], ct[64];
	bool pct = run->aggregate && run->agg_unit == HF_AGG_PERCENT;

	if (!r->printed_header || (g_flags.tabular && !hf_bench_same_header(r, run))) {
		r->printed_header = true;
		hf_bench_save_header(r, run);
		hf_bench_console_header(r, run);
	}
	hf_bench_full_name(run, name, sizeof(name));
	fprintf(f, "%s%-*s %s", hf_bench_col(r, HF_COL_GREEN), r->name_width, name,
		hf_bench_col(r, HF_COL_RESET));
	if (run->error) {
		fprintf(f, "%sERROR OCCURRED: '%s'%s\n", hf_bench_col(r, HF_COL_RED),
			run->error_msg, hf_bench_col(r, HF_COL_RESET));
		return;
	}
	if (pct) {
		fprintf(f, "%s%10.2f %-4s %10.2f %-4s %s", hf_bench_col(r, HF_COL_YELLOW),
			100.0 * run->real, "%", 100.0 * run->cpu, "%",
			hf_bench_col(r, HF_COL_RESET));
	} else {
		const char *u = hf_bench_unit_str(run->unit);

		hf_bench_format_time(rt, sizeof(rt), hf_bench_adj_real(run));
		hf_bench_format_time(ct, sizeof(ct), hf_bench_adj_cpu(run));
		fprintf(f, "%s%s %-4s %s %-4s %s", hf_bench_col(r, HF_COL_YELLOW), rt, u, ct, u,
			hf_bench_col(r, HF_COL_RESET));
	}
	fprintf(f, "%s%10llu%s", hf_bench_col(r, HF_COL_CYAN), (unsigned long long)run->iterations,
		hf_bench_col(r, HF_COL_RESET));
	for (int i = 0; i < run->ncounters; i++) {
		const struct hf_bench_counter *c = &run->counters[i];
		char s[64];
		const char *unit = "";

		if (pct) {
			snprintf(s, sizeof(s), "%.2f", 100.0 * c->value);
			unit = "%";
		} else {
			hf_bench_human(s, sizeof(s), c->value,
				       (c->flags & HF_BENCH_CNT_1024) ? 1024.0 : 1000.0);
			if (c->flags & HF_BENCH_CNT_RATE)
				unit = (c->flags & HF_BENCH_CNT_INVERT) ? "s" : "/s";
		}
		if (g_flags.tabular) {
			int w = (int)strlen(c->name);

			w = (w < 10 ? 10 : w) - (int)strlen(unit);
			fprintf(f, " %*s%s", w, s, unit);
		} else {
			fprintf(f, " %s=%s%s", c->name, s, unit);
		}
	}
	if (run->label[0] != '\0')
		fprintf(f, " %s", run->label);
	fputc('\n', f);
}

static void hf_bench_csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static const struct hf_bench_counter *hf_bench_find_counter(const struct hf_bench_run *run,
							    const char *name)
{
	for (int i = 0; i < run->ncounters; i++)
		if (strcmp(run->counters[i].name, name) == 0)
			return &run->counters[i];
	return NULL;
}

static bool hf_bench_is_builtin_counter(const char *name)
{
	return strcmp(name, "bytes_per_second") == 0 || strcmp(name, "items_per_second") == 0;
}

/* The user counters of the first batch of runs make the CSV header. */
static void hf_bench_csv_header(struct hf_bench_reporter *r, const struct hf_bench_run *runs, int n)
{
	r->nhdr = 0;
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < runs[i].ncounters; c++) {
			const char *name = runs[i].counters[c].name;
			bool seen = hf_bench_is_builtin_counter(name);

			for (int k = 0; k < r->nhdr && !seen; k++)
				seen = strcmp(r->hdr[k], name) == 0;
			if (!seen && r->nhdr < HF_BENCH_MAX_COUNTERS)
				snprintf(r->hdr[r->nhdr++], sizeof(r->hdr[0]), "%s", name);
		}
	}
	fprintf(r->f, "name,iterations,real_time,cpu_time,time_unit,bytes_per_second,"
		      "items_per_second,label,error_occurred,error_message");
	for (int k = 0; k < r->nhdr; k++) {
		fputc(',', r->f);
		hf_bench_csv_str(r->f, r->hdr[k]);
	}
	fputc('\n', r->f);
}

static void hf_bench_csv_run(struct hf_bench_reporter *r, const struct hf_bench_run *run)
{
	FILE *f = r->f;
	char name[HF_BENCH_NAME_MAX + 64];
	const struct hf_bench_counter *c;

	hf_bench_full_name(run, name, sizeof(name));
	hf_bench_csv_str(f, name);
	fputc(',', f);
	if (run->error) {
		fputs(",,,,,,true,", f);
		hf_bench_csv_str(f, run->error_msg);
		fputc('\n', f);
		return;
	}
	fprintf(f, "%llu,%g,%g,%s,", (unsigned long long)run->iterations, hf_bench_adj_real(run),
		hf_bench_adj_cpu(run), hf_bench_unit_str(run->unit));
	if ((c = hf_bench_find_counter(run, "bytes_per_second")) != NULL)
		fprintf(f, "%g", c->value);
	fputc(',', f);
	if ((c = hf_bench_find_counter(run, "items_per_second")) != NULL)
		fprintf(f, "%g", c->value);
	fputc(',', f);
	if (run->label[0] != '\0')
		hf_bench_csv_str(f, run->label);
	fputs(",,", f);
	for (int k = 0; k < r->nhdr; k++) {
		fputc(',', f);
		if ((c = hf_bench_find_counter(run, r->hdr[k])) != NULL)
			fprintf(f, "%g", c->value);
	}
	fputc('\n', f);
}

static void hf_bench_report_context(struct hf_bench_reporter *r)
{
	if (r->fmt == HF_FMT_JSON)
		hf_bench_json_context(r);
	else
		hf_bench_print_context_text(r->ctx);
	r->first_run = true;
}

/* Report one benchmark's runs; aggregates-only when asked and there are some. */
static void hf_bench_report(struct hf_bench_reporter *r, const struct hf_bench_run *runs, int n,
			    int naggs)
{
	int from = (r->aggregates_only && naggs > 0) ? n - naggs : 0;

	if (r->fmt == HF_FMT_CSV && !r->printed_header) {
		r->printed_header = true;
		hf_bench_csv_header(r, runs + from, n - from);
	}
	for (int i = from; i < n; i++) {
		if (r->fmt == HF_FMT_JSON)
			hf_bench_json_run(r, &runs[i]);
		else if (r->fmt == HF_FMT_CSV)
			hf_bench_csv_run(r, &runs[i]);
		else
			hf_bench_console_run(r, &runs[i]);
	}
	fflush(r->f);
}

static void hf_bench_report_end(struct hf_bench_reporter *r)
{
	if (r->fmt == HF_FMT_JSON)
		fprintf(r->f, "\n  ]\n}\n");
	fflush(r->f);
}

/* ---- the runner -------------------------------------------------------- */

struct hf_bench_attempt {
	uint64_t iters;
	double real, cpu, seconds; /* totals; seconds is what decides (CPU or real) */
};

static void hf_bench_run_once(const struct hf_bench_instance *inst, uint64_t iters,
			      struct hf_bench_state *st, struct hf_bench_attempt *at)
{
	memset(st, 0, sizeof(*st));
	st->iterations = iters;
	st->arg = inst->arg;
	st->has_arg = inst->has_arg;
	st->name = inst->name;
	inst->fn(st);
	if (!st->error) {
		if (!st->started_)
			hf_bench_misuse(st, "hf_bench: the benchmark returned without running "
					    "its loop");
		else if (!st->stopped_)
			hf_bench_misuse(st, "hf_bench: the benchmark returned before its loop "
					    "finished");
	}
	if (st->running_)
		hf_bench_timer_off(st);
	at->iters = iters;
	at->real = st->real_acc_;
	at->cpu = st->cpu_acc_;
	at->seconds = st->use_real_time_ ? at->real : at->cpu;
}

/* Google Benchmark's rule: grow by min_time * 1.4 / seconds, at most 10x if tiny. */
static uint64_t hf_bench_predict(const struct hf_bench_attempt *at, double min_time)
{
	double mult = min_time * 1.4 / (at->seconds > 1e-9 ? at->seconds : 1e-9);
	double next;

	if (!(at->seconds / min_time > 0.1))
		mult = 10.0;
	next = mult * (double)at->iters;
	if (next < (double)at->iters + 1.0)
		next = (double)at->iters + 1.0;
	next = round(next);
	return next > (double)HF_BENCH_MAX_ITERS ? HF_BENCH_MAX_ITERS : (uint64_t)next;
}

static bool hf_bench_enough(const struct hf_bench_attempt *at, const struct hf_bench_state *st,
			    double min_time)
{
	return st->error || at->iters >= HF_BENCH_MAX_ITERS || at->seconds >= min_time ||
	       at->real >= 5 * min_time;
}

/* Run with growing iteration counts until one run is long enough. */
static uint64_t hf_bench_grow(const struct hf_bench_instance *inst, struct hf_bench_state *st,
			      struct hf_bench_attempt *at, double min_time, uint64_t iters)
{
	for (;;) {
		hf_bench_run_once(inst, iters, st, at);
		if (hf_bench_enough(at, st, min_time))
			return iters;
		iters = hf_bench_predict(at, min_time);
	}
}

static void hf_bench_fill_run(struct hf_bench_run *run, const struct hf_bench_instance *inst,
			      const struct hf_bench_state *st, const struct hf_bench_attempt *at,
			      int family, int index, int rep)
{
	memset(run, 0, sizeof(*run));
	run->inst = inst;
	run->family_index = family;
	run->instance_index = index;
	run->repetitions = g_flags.repetitions;
	run->repetition_index = rep;
	run->iterations = at->iters;
	run->unit = st->unit_ != HF_BENCH_UNIT_DEFAULT ? st->unit_ : g_flags.unit;
	snprintf(run->label, sizeof(run->label), "%s", st->label_);
	if (st->error) {
		run->error = true;
		snprintf(run->error_msg, sizeof(run->error_msg), "%s", st->error_msg_);
		return;
	}
	run->real = at->real / (double)at->iters;
	run->cpu = at->cpu / (double)at->iters;
	run->ncounters = st->ncounters_;
	for (int i = 0; i < st->ncounters_; i++) {
		struct hf_bench_counter c = st->counters_[i];
		double v = c.value;

		if (c.flags & HF_BENCH_CNT_RATE)
			v = at->seconds > 0 ? v / at->seconds : 0;
		if (c.flags & HF_BENCH_CNT_ITERATION_INVARIANT)
			v *= (double)at->iters;
		if (c.flags & HF_BENCH_CNT_AVG_ITERATIONS)
			v /= (double)at->iters;
		if (c.flags & HF_BENCH_CNT_INVERT)
			v = v != 0 ? 1.0 / v : 0;
		c.value = v;
		run->counters[i] = c;
	}
	qsort(run->counters, (size_t)run->ncounters, sizeof(run->counters[0]),
	      hf_bench_counter_cmp);
}

static bool hf_bench_selected(const struct hf_bench_instance *inst, const regex_t *re, bool neg)
{
	if (strncmp(inst->name, "DISABLED_", 9) == 0)
		return false;
	return (regexec(re, inst->name, 0, NULL, 0) == 0) != neg;
}

static int hf_bench_open_reporters(struct hf_bench_reporter *disp, struct hf_bench_reporter *file,
				   int name_width, FILE **out)
{
	memset(disp, 0, sizeof(*disp));
	disp->f = stdout;
	disp->ctx = stderr;
	disp->fmt = g_flags.format;
	disp->name_width = name_width;
	disp->aggregates_only = g_flags.report_aggregates_only || g_flags.display_aggregates_only;
	if (disp->fmt == HF_FMT_CONSOLE) {
		const char *term = getenv("TERM");

		disp->color = g_flags.color == 1 || (g_flags.color == -1 && isatty(STDOUT_FILENO) &&
						     term != NULL && strcmp(term, "dumb") != 0);
	}
	*out = NULL;
	if (g_flags.out == NULL)
		return 0;
	*out = fopen(g_flags.out, "w");
	if (*out == NULL) {
		fprintf(stderr, "%s: error: invalid file name: '%s': %s\n", g_flags.prog,
			g_flags.out, strerror(errno));
		return -1;
	}
	memset(file, 0, sizeof(*file));
	file->f = *out;
	file->ctx = *out;
	file->fmt = g_flags.out_format;
	file->name_width = name_width;
	file->aggregates_only = g_flags.report_aggregates_only;
	return 0;
}

int hf_bench_run(void)
{
	const char *filter = g_flags.filter;
	bool neg = false;
	regex_t re;
	int rc, width = 10, nsel = 0;
	bool *sel;

	if (filter[0] == '-') {
		neg = true;
		filter++;
	}
	if (filter[0] == '\0' || strcmp(filter, "all") == 0)
		filter = ".";
	rc = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[256];

		regerror(rc, &re, msg, sizeof(msg));
		fprintf(stderr, "%s: error: could not compile benchmark filter '%s': %s\n",
			g_flags.prog, g_flags.filter, msg);
		return 1;
	}
	sel = calloc((size_t)(g_ninst ? g_ninst : 1), sizeof(*sel));
	if (sel == NULL) {
		regfree(&re);
		return 1;
	}
	for (int i = 0; i < g_ninst; i++) {
		sel[i] = hf_bench_selected(&g_inst[i], &re, neg);
		if (!sel[i])
			continue;
		nsel++;
		if ((int)strlen(g_inst[i].name) > width)
			width = (int)strlen(g_inst[i].name);
	}
	regfree(&re);
	if (nsel == 0) {
		fprintf(stderr, "Failed to match any benchmarks against regex: %s\n",
			g_flags.filter);
		free(sel);
		return 0;
	}
	if (g_flags.list_tests) {
		for (int i = 0; i < g_ninst; i++)
			if (sel[i])
				printf("%s\n", g_inst[i].name);
		free(sel);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (g_flags.repetitions > 1)
		width += 1 + 6; /* "_median", "_stddev" */

	struct hf_bench_reporter disp, file;
	FILE *out;
	int reps = g_flags.repetitions;
	struct hf_bench_run *runs = calloc((size_t)reps + HF_NSTATS, sizeof(*runs));
	struct hf_bench_state *st = malloc(sizeof(*st));

	if (runs == NULL || st == NULL || hf_bench_open_reporters(&disp, &file, width, &out) < 0) {
		free(runs);
		free(st);
		free(sel);
		return 1;
	}
	hf_bench_collect_context();
	hf_bench_report_context(&disp);
	if (out != NULL)
		hf_bench_report_context(&file);

	int family = 0, last_reg = -1, index = 0;

	for (int i = 0; i < g_ninst; i++) {
		const struct hf_bench_instance *inst = &g_inst[i];
		struct hf_bench_attempt at;
		uint64_t iters;
		int naggs;

		if (!sel[i])
			continue;
		/* family_index counts families with a selected instance */
		if (inst->reg_family != last_reg) {
			if (last_reg != -1)
				family++;
			last_reg = inst->reg_family;
			index = 0;
		}
		iters = g_flags.fixed_iters ? g_flags.fixed_iters : 1;
		if (g_flags.min_warmup_time > 0 && !g_flags.fixed_iters)
			iters = hf_bench_grow(inst, st, &at, g_flags.min_warmup_time, 1);
		for (int rep = 0; rep < reps; rep++) {
			if (rep == 0 && !g_flags.fixed_iters)
				iters = hf_bench_grow(inst, st, &at, g_flags.min_time, iters);
			else
				hf_bench_run_once(inst, iters, st, &at);
			hf_bench_fill_run(&runs[rep], inst, st, &at, family, index, rep);
		}
		naggs = reps > 1 ? hf_bench_aggregate(runs, reps, runs + reps) : 0;
		hf_bench_report(&disp, runs, reps + naggs, naggs);
		if (out != NULL)
			hf_bench_report(&file, runs, reps + naggs, naggs);
		index++;
	}
	hf_bench_report_end(&disp);
	rc = 0;
	if (out != NULL) {
		hf_bench_report_end(&file);
		if (ferror(out) || fclose(out) != 0) {
			fprintf(stderr, "%s: error: writing '%s' failed\n", g_flags.prog,
				g_flags.out);
			rc = 1;
		}
	}
	free(runs);
	free(st);
	free(sel);
	return rc;
}

int hf_bench_main(int argc, char **argv)
{
	hf_bench_init(&argc, argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			fprintf(stderr, "%s: error: unrecognized command-line flag: %s\n",
				g_flags.prog, argv[i]);
		return 1;
	}
	return hf_bench_run();
}
