/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast common/: the log (hf_log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/hf_common.h"
#include "common/hf_log.h"

static int log_level = HF_LOG_INFO;
static bool journal; /* stderr is journald's stream: the priority in front */

static const char *const names[] = {[HF_LOG_ERR] = "error",
				    [HF_LOG_WARNING] = "warning",
				    [HF_LOG_NOTICE] = "notice",
				    [HF_LOG_INFO] = "info",
				    [HF_LOG_DEBUG] = "debug"};

int hf_log_level_parse(const char *name)
{
	for (int l = HF_LOG_ERR; l <= HF_LOG_DEBUG; l++)
		if (strcmp(name, names[l]) == 0)
			return l;
	return -1;
}

const char *hf_log_level_name(int level)
{
	return level >= HF_LOG_ERR && level <= HF_LOG_DEBUG ? names[level] : "?";
}

void hf_log_init(int level)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_level = level;
	/* "DEV:INO" of the stream journald gave us: only when stderr is it
	 * still (a shell redirect in between is not journald) */
	journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
		  fstat(fileno(stderr), &st) == 0 && (unsigned long long)st.st_dev == dev &&
		  (unsigned long long)st.st_ino == ino;
}

bool hf_log_enabled(int level)
{
	return level <= log_level;
}

void hf_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hf_vlog(level, fmt, ap);
	va_end(ap);
}

void hf_vlog(int level, const char *fmt, va_list ap)
{
	char line[1024];
	int n = 0;

	if (level > log_level)
		return;
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>", level);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "holdfast: ");
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one write per line: lines of two threads never mix */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
