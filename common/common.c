/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast common/: error strings. */
#include "common/hf_common.h"

const char *hf_strerror(int err)
{
	switch (err) {
	case HF_OK:
		return "success";
	case HF_EINVAL:
		return "invalid argument";
	case HF_ENOMEM:
		return "out of memory";
	case HF_EMALFORMED:
		return "malformed data";
	case HF_ESPACE:
		return "not enough space";
	case HF_ENOENT:
		return "not found";
	case HF_EEXIST:
		return "already exists";
	case HF_EFULL:
		return "table full";
	case HF_ETIMEDOUT:
		return "timed out";
	case HF_EIO:
		return "I/O error";
	case HF_ENOTSUP:
		return "not supported";
	default:
		return "unknown error";
	}
}
