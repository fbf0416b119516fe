/* SPDX-License-Identifier: BSD-3-Clause */
/* The log (common/hf_log.h): levels filtered, the syslog priority in front
 * only when stderr is the stream JOURNAL_STREAM names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/hf_test.h"
#include "common/hf_common.h"
#include "common/hf_log.h"

static char path[] = "/tmp/hf_test_log.XXXXXX";

/* stderr into a fresh file; its text after the calls in fn */
static void capture(void (*fn)(void), char *out, size_t size)
{
	FILE *f;
	size_t n;
	fflush(stderr);
	CHECK(freopen(path, "w", stderr) != NULL);
	fn();
	fflush(stderr);
	f = fopen(path, "r");
	n = f ? fread(out, 1, size - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
}

static void some_lines(void)
{
	hf_log(HF_LOG_ERR, "e %d", 1);
	hf_log(HF_LOG_WARNING, "w");
	hf_log(HF_LOG_INFO, "i");
	hf_log(HF_LOG_DEBUG, "d");
}

static void plain_at_info(void)
{
	hf_log_init(HF_LOG_INFO);
	some_lines();
}

static void journal_at_warning(void)
{
	struct stat st;
	char js[64];
	/* the stream journald would have given: stderr's device and inode */
	CHECK(fstat(fileno(stderr), &st) == 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	hf_log_init(HF_LOG_WARNING);
	some_lines();
	unsetenv("JOURNAL_STREAM");
}

static void other_stream(void)
{
	setenv("JOURNAL_STREAM", "1:2", 1); /* not our stderr: no prefix */
	hf_log_init(HF_LOG_ERR);
	some_lines();
	unsetenv("JOURNAL_STREAM");
}

static void test_log(void)
{
	char out[512];
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	capture(plain_at_info, out, sizeof(out));
	CHECK(strcmp(out, "holdfast: e 1\nholdfast: w\nholdfast: i\n") == 0);
	capture(journal_at_warning, out, sizeof(out));
	CHECK(strcmp(out, "<3>holdfast: e 1\n<4>holdfast: w\n") == 0);
	capture(other_stream, out, sizeof(out));
	CHECK(strcmp(out, "holdfast: e 1\n") == 0);
	unlink(path);
}

static void test_names(void)
{
	CHECK_EQ(hf_log_level_parse("error"), HF_LOG_ERR);
	CHECK_EQ(hf_log_level_parse("warning"), HF_LOG_WARNING);
	CHECK_EQ(hf_log_level_parse("notice"), HF_LOG_NOTICE);
	CHECK_EQ(hf_log_level_parse("info"), HF_LOG_INFO);
	CHECK_EQ(hf_log_level_parse("debug"), HF_LOG_DEBUG);
	CHECK_EQ(hf_log_level_parse("warn"), -1);
	CHECK_EQ(hf_log_level_parse(""), -1);
	CHECK(strcmp(hf_log_level_name(HF_LOG_NOTICE), "notice") == 0);
	CHECK(strcmp(hf_log_level_name(9), "?") == 0);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_names), TEST_CASE(test_log), /* last: it moves stderr */
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
