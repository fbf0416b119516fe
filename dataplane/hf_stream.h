/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DNS messages on a byte stream (RFC 1035 4.2.2, RFC 7766 8): each one
 * behind a two-byte length. The input of one TCP or TLS connection is fed
 * here as it arrives, in pieces of any size; every complete message is
 * handed to a callback, and what is left of an incomplete one is kept
 * (malloc()ed only while a message is split across reads).
 *
 * No DPDK here: the fuzz target (tests/fuzz/fuzz_stream.c) drives it alone.
 */
#ifndef HF_STREAM_H
#define HF_STREAM_H

#include <stddef.h>
#include <stdint.h>

/* Longest query a client may send over TCP/TLS. A query is a header, one
 * question and an OPT: even padded (RFC 8467) it is a few hundred bytes. A
 * longer length prefix closes the connection (docs/operations.md). */
#define HF_STREAM_MSG_MAX 4096

enum hf_stream_rc {
	HF_STREAM_OK = 0,     /* everything fed was taken or is held */
	HF_STREAM_PAUSED = 1, /* the callback asked to stop: the rest is held */
	HF_STREAM_BAD = -1,   /* a length of 0 or above HF_STREAM_MSG_MAX: close */
	HF_STREAM_NOMEM = -2, /* could not hold the rest: close */
};

struct hf_stream {
	uint8_t *buf; /* held bytes: the start of a message, or what a pause left */
	uint32_t len, cap;
};

/* Called for each complete message; returns 0 to go on, 1 to pause (the
 * bytes after this message are held), < 0 to stop (hf_stream_feed returns
 * it; the stream is no longer used but must still be freed). */
typedef int (*hf_stream_fn)(void *arg, const uint8_t *msg, uint16_t len);

/* Feed data[0..n) (n may be 0: go on with held bytes after a pause). */
int hf_stream_feed(struct hf_stream *s, const uint8_t *data, size_t n, hf_stream_fn fn, void *arg);
/* Bytes held (a message under way, or left by a pause). */
static inline uint32_t hf_stream_held(const struct hf_stream *s)
{
	return s->len;
}
void hf_stream_free(struct hf_stream *s);

#endif
