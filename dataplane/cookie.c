/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast dataplane/: RFC 9018 server cookies with OpenSSL's SipHash
 * (dataplane/hf_cookie.h). */
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dataplane/hf_cookie.h"
#include "dns/hf_dns.h"

/* A SipHash-2-4 context of 8-byte output keyed with secret. */
static EVP_MAC_CTX *mac_new(const uint8_t *secret)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context holds its own reference */
	if (ctx == NULL)
		return NULL;
	{
		size_t size = 8;
		OSSL_PARAM p[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
				  OSSL_PARAM_construct_end()};
		if (EVP_MAC_init(ctx, secret, HF_COOKIE_SECRET_LEN, p) != 1) {
			EVP_MAC_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* Key an existing context (no allocation: the provider copies 16 bytes). */
static void mac_key(EVP_MAC_CTX *ctx, const uint8_t *secret)
{
	(void)EVP_MAC_init(ctx, secret, HF_COOKIE_SECRET_LEN, NULL);
}

static void wall_sync(struct hf_cookie *c, uint64_t now_ms)
{
	c->wall_off_s = (int64_t)time(NULL) - (int64_t)(now_ms / 1000);
}

int hf_cookie_init(struct hf_cookie *c, uint64_t now_ms)
{
	static const uint8_t zero[HF_COOKIE_SECRET_LEN];
	memset(c, 0, sizeof(*c));
	c->cur = mac_new(zero);
	c->prev = mac_new(zero);
	if (c->cur == NULL || c->prev == NULL) {
		hf_cookie_fini(c);
		return -1;
	}
	wall_sync(c, now_ms);
	return 0;
}

void hf_cookie_fini(struct hf_cookie *c)
{
	EVP_MAC_CTX_free(c->cur);
	EVP_MAC_CTX_free(c->prev);
	c->cur = c->prev = NULL;
	OPENSSL_cleanse(c->secret, sizeof(c->secret));
	OPENSSL_cleanse(c->prev_secret, sizeof(c->prev_secret));
}

void hf_cookie_set(struct hf_cookie *c, bool on, const uint8_t *secret, uint64_t now_ms)
{
	if (c->cur == NULL)
		return;
	wall_sync(c, now_ms);
	if (!on) {
		c->on = false;
		return;
	}
	if (c->on && memcmp(c->secret, secret, HF_COOKIE_SECRET_LEN) == 0)
		return;
	if (c->on) {
		/* the current secret becomes the previous one: swap the
		 * contexts, the old current one stays keyed with it */
		EVP_MAC_CTX *t = c->prev;
		c->prev = c->cur;
		c->cur = t;
		memcpy(c->prev_secret, c->secret, HF_COOKIE_SECRET_LEN);
		c->has_prev = true;
	}
	memcpy(c->secret, secret, HF_COOKIE_SECRET_LEN);
	mac_key(c->cur, secret);
	c->on = true;
}

/* The 8-byte hash of RFC 9018 4.4 over client | version | reserved |
 * timestamp (hdr: the server cookie's first 8 bytes) | addr. */
static void hash8(EVP_MAC_CTX *ctx, const uint8_t *client, const uint8_t *hdr, const uint8_t *addr,
		  unsigned addr_len, uint8_t *out)
{
	uint8_t in[HF_COOKIE_CLIENT_LEN + 8 + 16];
	size_t n = 0;
	memcpy(in, client, HF_COOKIE_CLIENT_LEN);
	memcpy(in + HF_COOKIE_CLIENT_LEN, hdr, 8);
	memcpy(in + HF_COOKIE_CLIENT_LEN + 8, addr, addr_len);
	/* without a key: back to the keyed state (siphash_init) */
	(void)EVP_MAC_init(ctx, NULL, 0, NULL);
	(void)EVP_MAC_update(ctx, in, HF_COOKIE_CLIENT_LEN + 8 + addr_len);
	(void)EVP_MAC_final(ctx, out, &n, 8);
}

void hf_cookie_make(struct hf_cookie *c, const uint8_t *client, const uint8_t *addr,
		    unsigned addr_len, uint32_t ts, uint8_t *out)
{
	out[0] = 1; /* version */
	out[1] = out[2] = out[3] = 0;
	hf_put32(out + 4, ts);
	hash8(c->cur, client, out, addr, addr_len, out + 8);
}

enum hf_cookie_verdict hf_cookie_check(struct hf_cookie *c, const uint8_t *opt, unsigned len,
				       const uint8_t *addr, unsigned addr_len, uint32_t now,
				       uint8_t *out)
{
	enum hf_cookie_verdict v = HF_COOKIE_INVALID;
	memcpy(out, opt, HF_COOKIE_CLIENT_LEN);
	if (len == HF_COOKIE_CLIENT_LEN) {
		v = HF_COOKIE_CLIENT_ONLY;
	} else if (len == HF_COOKIE_OPT_LEN && opt[HF_COOKIE_CLIENT_LEN] == 1) {
		const uint8_t *sc = opt + HF_COOKIE_CLIENT_LEN;
		/* serial arithmetic (RFC 1982): the age may cross 2^32 */
		int32_t age = (int32_t)(now - hf_get32(sc + 4));
		uint8_t h[8];
		if (age <= HF_COOKIE_MAX_AGE_S && age >= -HF_COOKIE_MAX_AHEAD_S) {
			hash8(c->cur, opt, sc, addr, addr_len, h);
			if (memcmp(h, sc + 8, 8) == 0) {
				if (age <= HF_COOKIE_RENEW_AFTER_S) {
					memcpy(out + HF_COOKIE_CLIENT_LEN, sc,
					       HF_COOKIE_SERVER_LEN);
					return HF_COOKIE_VALID;
				}
				v = HF_COOKIE_VALID;
			} else if (c->has_prev) {
				hash8(c->prev, opt, sc, addr, addr_len, h);
				if (memcmp(h, sc + 8, 8) == 0)
					v = HF_COOKIE_VALID;
			}
		}
	}
	hf_cookie_make(c, opt, addr, addr_len, now, out + HF_COOKIE_CLIENT_LEN);
	return v;
}
