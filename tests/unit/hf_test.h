/* SPDX-License-Identifier: BSD-3-Clause */
/* A tiny unit-test harness: CHECK records a failure and goes on; each
 * TEST is a function; main() runs them and prints "N passed, N failed". */
#ifndef HF_TEST_H
#define HF_TEST_H

#include <stdio.h>
#include <string.h>

static int hf_test_failed_checks;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			hf_test_failed_checks++;                                           \
		}                                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                        \
		if (_a != _b) {                                                            \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",   \
				__FILE__, __LINE__, #a, _a, #b, _b);                       \
			hf_test_failed_checks++;                                           \
		}                                                                          \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                 \
	do {                                                                               \
		if (memcmp((a), (b), (n)) != 0) {                                          \
			fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%zu bytes)\n",    \
				__FILE__, __LINE__, #a, #b, (size_t)(n));                  \
			hf_test_failed_checks++;                                           \
		}                                                                          \
	} while (0)

struct hf_test_case {
	const char *name;
	void (*fn)(void);
};

/* Runs every case; a case fails when any CHECK in it failed. */
static inline int hf_test_run(const struct hf_test_case *cases, size_t n)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		int before = hf_test_failed_checks;
		cases[i].fn();
		if (hf_test_failed_checks == before) {
			passed++;
			printf("ok   %s\n", cases[i].name);
		} else {
			failed++;
			printf("FAIL %s\n", cases[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define TEST_CASE(fn) {#fn, fn}

#endif
