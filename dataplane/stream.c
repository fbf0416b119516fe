/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast dataplane/: DNS messages on a byte stream (hf_stream.h). */
#include <stdlib.h>
#include <string.h>

#include "dataplane/hf_stream.h"

/* Messages in p[0..n): hand each complete one to fn. Sets *used to the
 * bytes consumed (whole messages only). */
static int take(const uint8_t *p, size_t n, size_t *used, hf_stream_fn fn, void *arg)
{
	size_t pos = 0;
	int rc = HF_STREAM_OK;

	while (n - pos >= 2) {
		uint32_t len = (uint32_t)p[pos] << 8 | p[pos + 1];
		int r;
		if (len == 0 || len > HF_STREAM_MSG_MAX) {
			rc = HF_STREAM_BAD;
			break;
		}
		if (n - pos - 2 < len)
			break;
		r = fn(arg, p + pos + 2, (uint16_t)len);
		pos += 2 + len;
		if (r < 0) {
			rc = r;
			break;
		}
		if (r > 0) {
			rc = HF_STREAM_PAUSED;
			break;
		}
	}
	*used = pos;
	return rc;
}

/* Keep p[0..n) (the held bytes become exactly these). */
static int hold(struct hf_stream *s, const uint8_t *p, size_t n)
{
	if (n == 0) {
		hf_stream_free(s);
		return HF_STREAM_OK;
	}
	if (n > s->cap) {
		/* at most a whole message and its prefix, or what a pause left
		 * of one read */
		uint8_t *b = malloc(n);
		if (b == NULL)
			return HF_STREAM_NOMEM;
		memcpy(b, p, n);
		free(s->buf);
		s->buf = b;
		s->cap = (uint32_t)n;
	} else {
		memmove(s->buf, p, n);
	}
	s->len = (uint32_t)n;
	return HF_STREAM_OK;
}

int hf_stream_feed(struct hf_stream *s, const uint8_t *data, size_t n, hf_stream_fn fn, void *arg)
{
	size_t used;
	int rc;

	if (s->len == 0 && n == 0)
		return HF_STREAM_OK;
	if (s->len == 0) {
		/* the common case: whole messages straight from the read */
		rc = take(data, n, &used, fn, arg);
		if (rc < 0)
			return rc;
		if (hold(s, data + used, n - used) != HF_STREAM_OK)
			return HF_STREAM_NOMEM;
		return rc;
	}
	if (n > 0) {
		/* append: held + new (a split message, or a pause's rest) */
		size_t need = (size_t)s->len + n;
		if (need > s->cap) {
			uint8_t *b = realloc(s->buf, need);
			if (b == NULL)
				return HF_STREAM_NOMEM;
			s->buf = b;
			s->cap = (uint32_t)need;
		}
		memcpy(s->buf + s->len, data, n);
		s->len = (uint32_t)need;
	}
	rc = take(s->buf, s->len, &used, fn, arg);
	if (rc < 0)
		return rc;
	if (used > 0 && hold(s, s->buf + used, s->len - used) != HF_STREAM_OK)
		return HF_STREAM_NOMEM;
	return rc;
}

void hf_stream_free(struct hf_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}
