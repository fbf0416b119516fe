/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast's log: one line per message on stderr, "holdfast: " and the
 * text, with the syslog priority in front ("<4>holdfast: ...") when stderr
 * is journald's stream (systemd sets JOURNAL_STREAM to its device and
 * inode), which journald turns into the entry's priority. Messages less
 * important than log-level are not written. Any thread; never on the
 * packet path.
 */
#ifndef HF_LOG_H
#define HF_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* syslog's numbers, so that the prefix is the level */
enum hf_log_level {
	HF_LOG_ERR = 3,	    /* holdfast cannot do what it must (start-up errors) */
	HF_LOG_WARNING = 4, /* something is wrong and holdfast works around it */
	HF_LOG_NOTICE = 5,  /* state an operator changed or should know of */
	HF_LOG_INFO = 6,    /* start-up facts, counters at exit */
	HF_LOG_DEBUG = 7,
};

/* The names log-level takes ("error", "warning", "notice", "info",
 * "debug"); -1 for another. */
int hf_log_level_parse(const char *name);
const char *hf_log_level_name(int level);

/* Set the level, and look at stderr once (journald or not). */
void hf_log_init(int level);
bool hf_log_enabled(int level);
void hf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hf_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
