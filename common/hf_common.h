/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast: the base layer every module includes. Pure C, no DPDK. */
#ifndef HF_COMMON_H
#define HF_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define HF_LIKELY(x)	__builtin_expect(!!(x), 1)
#define HF_UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define HF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HF_MIN(a, b)	((a) < (b) ? (a) : (b))
#define HF_MAX(a, b)	((a) > (b) ? (a) : (b))

/* Error codes: functions return 0 or one of these (negative). */
enum {
	HF_OK = 0,
	HF_EINVAL = -1,	    /* bad argument or value */
	HF_ENOMEM = -2,	    /* allocation failed */
	HF_EMALFORMED = -3, /* wire data does not parse */
	HF_ESPACE = -4,	    /* output buffer too small */
	HF_ENOENT = -5,	    /* not found */
	HF_EEXIST = -6,	    /* already there */
	HF_EFULL = -7,	    /* table or ring full */
	HF_ETIMEDOUT = -8,  /* gave up waiting */
	HF_EIO = -9,	    /* system call failed (errno has more) */
	HF_ENOTSUP = -10,   /* not supported */
};

const char *hf_strerror(int err);

/* Error branches go through this so the compiler lays them out cold. */
static inline __attribute__((cold)) int hf_error(int err)
{
	return err;
}

#endif
