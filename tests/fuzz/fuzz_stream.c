/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the TCP/TLS message framing (dataplane/stream.c).
 * The input's first byte seeds how the rest is cut into reads (1 to 300
 * bytes each) and when the callback pauses. Checks, against a reference
 * walk of the whole input: the messages handed over are exactly the
 * input's length-prefixed messages, in order, byte for byte; nothing is
 * handed over after a bad length; what is held never exceeds what was fed
 * and not taken; and after the last read, going on from pauses takes every
 * complete message that is left.
 */
#include <stdlib.h>
#include <string.h>

#include "dataplane/hf_stream.h"
#include "tests/fuzz/hf_fuzz.h"

struct ref {
	const uint8_t *p; /* the whole stream */
	size_t n;
	size_t next;   /* offset of the next message's prefix */
	unsigned rng;  /* pauses */
	unsigned seen; /* messages taken */
};

static unsigned step(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static int on_msg(void *arg, const uint8_t *msg, uint16_t len)
{
	struct ref *r = arg;
	size_t want;
	REQUIRE(r->next + 2 <= r->n);
	want = (size_t)r->p[r->next] << 8 | r->p[r->next + 1];
	REQUIRE(want == len && len >= 1 && len <= HF_STREAM_MSG_MAX);
	REQUIRE(r->next + 2 + want <= r->n);
	REQUIRE(memcmp(msg, r->p + r->next + 2, len) == 0);
	r->next += 2 + want;
	r->seen++;
	return step(&r->rng) % 4 == 0 ? 1 : 0; /* a pause now and then */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hf_stream s = {0};
	struct ref r;
	unsigned cut;
	size_t fed = 0;
	int rc = HF_STREAM_OK;

	if (size < 1)
		return 0;
	cut = data[0];
	memset(&r, 0, sizeof(r));
	r.p = data + 1;
	r.n = size - 1;
	r.rng = cut;
	while (fed < r.n && rc >= 0) {
		size_t k = 1 + step(&cut) % 300;
		if (k > r.n - fed)
			k = r.n - fed;
		rc = hf_stream_feed(&s, r.p + fed, k, on_msg, &r);
		fed += k;
		/* held: fed but not taken (the bytes after the last message) */
		if (rc >= 0)
			REQUIRE(hf_stream_held(&s) == fed - r.next);
	}
	/* go on after pauses until nothing complete is left */
	while (rc == HF_STREAM_PAUSED) {
		rc = hf_stream_feed(&s, NULL, 0, on_msg, &r);
		if (rc >= 0)
			REQUIRE(hf_stream_held(&s) == fed - r.next);
	}
	if (rc == HF_STREAM_OK) {
		/* nothing complete is left: a short prefix or a short message */
		size_t left = fed - r.next;
		if (left >= 2) {
			size_t len = (size_t)r.p[r.next] << 8 | r.p[r.next + 1];
			REQUIRE(len >= 1 && len <= HF_STREAM_MSG_MAX && left < 2 + len);
		}
	} else {
		/* a bad length stopped it: the next prefix is 0 or too long */
		size_t len;
		REQUIRE(rc == HF_STREAM_BAD && r.next + 2 <= fed);
		len = (size_t)r.p[r.next] << 8 | r.p[r.next + 1];
		REQUIRE(len == 0 || len > HF_STREAM_MSG_MAX);
	}
	hf_stream_free(&s);
	return 0;
}
