/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: DNS server cookies (RFC 7873) in the interoperable
 * form of RFC 9018, per core. A server cookie is
 *
 *   version (1) = 1 | reserved (3) | timestamp (4, Unix seconds) |
 *   hash (8) = SipHash-2-4(client cookie | version | reserved | timestamp |
 *                          client address, secret)
 *
 * so that any RFC 9018 server with the same secret (an anycast site of
 * another make) makes and takes the same cookies. SipHash is OpenSSL's
 * EVP_MAC "SIPHASH": each core keys one MAC context per secret once (at
 * start-up and when the secret changes) and re-initialises it without a
 * key per cookie, which restores the keyed state: no allocation, lock or
 * system call per packet (the cost is in docs/decisions.md, "Server
 * cookies with OpenSSL's SipHash").
 *
 * A core keeps the current secret and the one before it: a cookie made
 * with the previous secret still validates (and is answered with a new
 * one), so a rotation costs clients nothing.
 */
#ifndef HF_COOKIE_H
#define HF_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/hf_limits.h"

#define HF_COOKIE_CLIENT_LEN 8
#define HF_COOKIE_SERVER_LEN 16
/* the COOKIE option's data we answer with: client cookie | server cookie */
#define HF_COOKIE_OPT_LEN (HF_COOKIE_CLIENT_LEN + HF_COOKIE_SERVER_LEN)

/* RFC 9018 4.3: a cookie is taken from up to an hour in the past to five
 * minutes in the future, and renewed once older than half an hour */
#define HF_COOKIE_MAX_AGE_S	3600
#define HF_COOKIE_MAX_AHEAD_S	300
#define HF_COOKIE_RENEW_AFTER_S 1800

struct evp_mac_ctx_st;

/* One core's cookie state. Owned by its worker; changed only by the
 * worker itself when it applies a CONFIG message (hf_cookie_set). */
struct hf_cookie {
	struct evp_mac_ctx_st *cur, *prev; /* keyed with secret / prev_secret */
	uint8_t secret[HF_COOKIE_SECRET_LEN];
	uint8_t prev_secret[HF_COOKIE_SECRET_LEN];
	bool on;	    /* a secret is set: answers carry server cookies */
	bool has_prev;	    /* prev is keyed: a rotation happened */
	bool required;	    /* cookie-required: BADCOOKIE without a valid server cookie (UDP) */
	int64_t wall_off_s; /* Unix seconds = wall_off_s + the worker's clock in s */
};

/* What the server cookie of a query is worth. */
enum hf_cookie_verdict {
	HF_COOKIE_NONE = 0,	   /* no COOKIE option */
	HF_COOKIE_CLIENT_ONLY = 1, /* a client cookie alone */
	HF_COOKIE_VALID = 2,	   /* a server cookie of ours, in its time window */
	HF_COOKIE_INVALID = 3,	   /* a server cookie not ours, of another form, or too old/new */
};

/* Make the MAC contexts (start-up: they are allocated). now_ms: the
 * worker's clock, to tie it to Unix time. 0, or -1 when OpenSSL lacks
 * SipHash. */
int hf_cookie_init(struct hf_cookie *c, uint64_t now_ms);
void hf_cookie_fini(struct hf_cookie *c);

/*
 * Take `secret` (on: a secret is set). A secret other than the current one
 * becomes current and the current one previous; the same one changes
 * nothing. now_ms ties the timestamps to Unix time again (a system call:
 * not per packet). Not per packet: keys the contexts.
 */
void hf_cookie_set(struct hf_cookie *c, bool on, const uint8_t *secret, uint64_t now_ms);

/* The Unix time a cookie made at the worker's clock now_ms carries. */
static inline uint32_t hf_cookie_now(const struct hf_cookie *c, uint64_t now_ms)
{
	return (uint32_t)(c->wall_off_s + (int64_t)(now_ms / 1000));
}

/*
 * A server cookie for client[8] from addr (4 or 16 bytes) at Unix time
 * `ts`, with the current secret, into out[16] (RFC 9018: version 1,
 * reserved zero).
 */
void hf_cookie_make(struct hf_cookie *c, const uint8_t *client, const uint8_t *addr,
		    unsigned addr_len, uint32_t ts, uint8_t *out);

/*
 * The COOKIE option's data opt[0..len) of a query from addr (4 or 16
 * bytes; len 8 or 16..40, as the parser let through) at Unix time `now`:
 * its verdict, and in out[HF_COOKIE_OPT_LEN] the option data to answer
 * with: the client cookie and its server cookie as it came when valid,
 * made with the current secret and younger than half an hour, else a new
 * one. One SipHash for a client cookie alone, one or two for a server
 * cookie (the previous secret is tried when the current one fails).
 */
enum hf_cookie_verdict hf_cookie_check(struct hf_cookie *c, const uint8_t *opt, unsigned len,
				       const uint8_t *addr, unsigned addr_len, uint32_t now,
				       uint8_t *out);

#endif
