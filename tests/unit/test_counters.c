/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The counter tables (common/hf_counters.h): every counter has its own
 * field and a name unique in its group, a group's counters are listed
 * together (a Prometheus family's samples must be), and the log line reads
 * back what the struct holds.
 */
#include <stdio.h>
#include <string.h>

#include "common/hf_common.h"
#include "common/hf_counters.h"
#include "tests/unit/hf_test.h"

static void check_table(const struct hf_counter_desc *d, size_t n, size_t struct_size,
			const char *what)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(d[i].name != NULL && d[i].name[0] != '\0');
		CHECK(d[i].help != NULL && strlen(d[i].help) > 8);
		CHECK(d[i].group < HF_CG_COUNT);
		CHECK(d[i].off % sizeof(uint64_t) == 0 && d[i].off + 8 <= struct_size);
		for (size_t j = 0; j < i; j++) {
			CHECK(d[j].off != d[i].off);
			CHECK(d[j].group != d[i].group || strcmp(d[j].name, d[i].name) != 0);
			/* a labelled family's samples stay together: its group, once
			 * left, never comes back */
			if (i > 0 && d[i - 1].group != d[i].group &&
			    hf_counter_groups[d[i].group].label != NULL &&
			    d[j].group == d[i].group) {
				fprintf(stderr, "%s: %s is apart from its group\n", what,
					d[i].name);
				CHECK(0);
			}
		}
	}
}

static void test_tables(void)
{
	check_table(hf_worker_counters, hf_worker_ncounters, sizeof(struct hf_counters), "worker");
	check_table(hf_control_counters, hf_control_ncounters, sizeof(struct hf_control_stats),
		    "control");
	check_table(hf_exception_counters, hf_exception_ncounters, sizeof(struct hf_exc_counters),
		    "exception");
	CHECK_EQ(hf_exception_ncounters * 8, sizeof(struct hf_exc_counters));
	/* every uint64_t of the struct before the arrays is in the table */
	CHECK_EQ(hf_worker_ncounters * 8, offsetof(struct hf_counters, rcode));
	CHECK_EQ(hf_control_ncounters * 8, offsetof(struct hf_control_stats, val_ede));
}

static void test_line(void)
{
	struct hf_counters k;
	char line[4096], want[64];
	memset(&k, 0, sizeof(k));
	k.rx_packets = 7;
	k.drop_not_ours = 42;
	k.park_full = 3;
	CHECK(hf_counters_line(line, sizeof(line), &k, hf_worker_counters, hf_worker_ncounters) >
	      0);
	CHECK(strncmp(line, "rx_packets 7 queries 0 ", 23) == 0);
	CHECK(strstr(line, " drops.not_ours 42 ") != NULL);
	CHECK(strstr(line, " drops.park_full 3") != NULL);
	/* the line ends with the table's last counter */
	snprintf(want, sizeof(want), "%s.%s 0",
		 hf_counter_groups[hf_worker_counters[hf_worker_ncounters - 1].group].json,
		 hf_worker_counters[hf_worker_ncounters - 1].name);
	CHECK(strcmp(line + strlen(line) - strlen(want), want) == 0);
	/* a short buffer: cut, NUL-terminated, and the full length reported */
	int full = (int)strlen(line);
	CHECK_EQ(hf_counters_line(line, 10, &k, hf_worker_counters, hf_worker_ncounters), full);
	CHECK_EQ(strlen(line), 9);
}

static void test_rcode_names(void)
{
	CHECK(strcmp(hf_rcode_name(0), "NOERROR") == 0);
	CHECK(strcmp(hf_rcode_name(5), "REFUSED") == 0);
	CHECK(strcmp(hf_rcode_name(16), "BADVERS") == 0);
	CHECK(hf_rcode_name(12) == NULL);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_tables),
		TEST_CASE(test_line),
		TEST_CASE(test_rcode_names),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
