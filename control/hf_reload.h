/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: what a reload changes. The configuration is read
 * again (defaults, then the command line's arguments as at start-up, its
 * -c file included) and compared key by key, through hf_config_dump, with
 * the one in force. A changed key that can change at run time is taken
 * over; any other changed key keeps its old value and is named as needing
 * a restart. Keys not in hf_reload_runtime_keys need a restart, so a key
 * added to control/config.c is safe until it is listed here.
 */
#ifndef HF_RELOAD_H
#define HF_RELOAD_H

#include <stddef.h>

#include "control/hf_config.h"

#define HF_RELOAD_LIST_MAX 1024 /* bytes of a list of key names */

struct hf_reload_diff {
	char applied[HF_RELOAD_LIST_MAX]; /* changed keys taken over, "a b c" */
	char restart[HF_RELOAD_LIST_MAX]; /* changed keys that need a restart */
	unsigned napplied, nrestart;
};

/* The keys a reload applies at run time. */
extern const char *const hf_reload_runtime_keys[];
extern const unsigned hf_reload_nruntime_keys;

/*
 * out = cur with every run-time key that differs in next taken from next;
 * d lists what differs. next must have passed hf_config_check. 0, or an
 * error with err set (out is then not to be used).
 */
int hf_reload_merge(const struct hf_config *cur, const struct hf_config *next,
		    struct hf_config *out, struct hf_reload_diff *d, char *err, size_t errlen);

#endif
