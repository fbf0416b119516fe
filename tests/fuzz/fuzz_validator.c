/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for validator/: the input is
 *	[2 bytes: length N][N bytes: a response packet][the rest: a DNSKEY response]
 * (an empty rest means "the good DNSKEY response built at start-up"). The
 * trust anchor is the RFC 8080 Ed25519 key 3613 for example.com.; at
 * start-up the target signs, with that key's published private half, a
 * DNSKEY response and a few answers, so mutations start from packets that
 * validate. HF_FUZZ_WRITE_SEEDS=<dir> writes those as seed files.
 *
 * Driven like control drives it: hf_val_add_keys() for the keys, then
 * hf_val_validate() until DONE or a NEED the input cannot serve. Checked:
 * no crash, no leak (ASan), every DONE verdict one of the four with an EDE
 * the validator may emit and a NUL-terminated text.
 *
 * The validator's key cache is an rte_hash: start-up brings up a --no-huge
 * EAL first (the unit tests' helper), once per process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "validator/hf_validator.h"
#include "tests/fuzz/hf_fuzz.h"
#include "tests/unit/hf_test_eal.h"

#define NOW 1700000000u

static struct hf_val *val;
static struct hf_dns_msg resp_m, keys_m;
static uint8_t keys_wire[4096];
static size_t keys_len;

/* RFC 8080 section 6.1, first key pair */
static const uint8_t priv[32] = {0x38, 0x32, 0x32, 0x36, 0x30, 0x33, 0x38, 0x34, 0x36, 0x32, 0x38,
				 0x30, 0x38, 0x30, 0x31, 0x32, 0x32, 0x36, 0x34, 0x35, 0x31, 0x39,
				 0x30, 0x32, 0x30, 0x34, 0x31, 0x34, 0x32, 0x32, 0x36, 0x32};
static const char anchor[] =
	"example.com. IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n";

struct mb {
	uint8_t buf[4096];
	size_t len;
	uint16_t cnt[3];
};

static EVP_PKEY *key;
static uint8_t dnskey_rd[36];
static uint16_t key_tag;

static size_t wn(const char *s, uint8_t *out)
{
	size_t l = 0;
	REQUIRE(hf_dns_name_from_str(s, out, &l) == 0);
	return l;
}

static void mb_init(struct mb *b, const char *q, uint16_t qt, uint8_t rcode)
{
	memset(b, 0, sizeof(*b));
	hf_put16(b->buf + 2, HF_DNS_QR | HF_DNS_CD | rcode);
	hf_put16(b->buf + 4, 1);
	b->len = 12 + wn(q, b->buf + 12);
	hf_put16(b->buf + b->len, qt);
	hf_put16(b->buf + b->len + 2, 1);
	b->len += 4;
}

static void mb_rr(struct mb *b, int sec, const uint8_t *o, size_t ol, uint16_t t, uint32_t ttl,
		  const uint8_t *rd, size_t rl)
{
	memcpy(b->buf + b->len, o, ol);
	b->len += ol;
	hf_put16(b->buf + b->len, t);
	hf_put16(b->buf + b->len + 2, 1);
	hf_put32(b->buf + b->len + 4, ttl);
	hf_put16(b->buf + b->len + 8, (uint16_t)rl);
	memcpy(b->buf + b->len + 10, rd, rl);
	b->len += 10 + rl;
	b->cnt[sec]++;
	hf_put16(b->buf + 6, b->cnt[0]);
	hf_put16(b->buf + 8, b->cnt[1]);
	hf_put16(b->buf + 10, b->cnt[2]);
}

/* One RR and its RRSIG by example.com. (labels given: < owner's = wildcard). */
static void signed_rr(struct mb *b, int sec, const char *owner, uint16_t t, const uint8_t *rd,
		      size_t rl, unsigned labels, const char *wild)
{
	uint8_t o[256], w[256], sig[18 + 256 + 64], data[1024];
	size_t ol = wn(owner, o), wl = wn(wild ? wild : owner, w), sl = 18, dl, siglen = 64;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	mb_rr(b, sec, o, ol, t, 3600, rd, rl);
	hf_put16(sig, t);
	sig[2] = 15;
	sig[3] = (uint8_t)labels;
	hf_put32(sig + 4, 3600);
	hf_put32(sig + 8, NOW + 86400 * 30);
	hf_put32(sig + 12, NOW - 86400);
	hf_put16(sig + 16, key_tag);
	sl += wn("example.com.", sig + 18);
	memcpy(data, sig, sl);
	dl = sl;
	memcpy(data + dl, w, wl);
	dl += wl;
	hf_put16(data + dl, t);
	hf_put16(data + dl + 2, 1);
	hf_put32(data + dl + 4, 3600);
	hf_put16(data + dl + 8, (uint16_t)rl);
	memcpy(data + dl + 10, rd, rl);
	dl += 10 + rl;
	REQUIRE(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1);
	REQUIRE(EVP_DigestSign(ctx, sig + sl, &siglen, data, dl) == 1);
	EVP_MD_CTX_free(ctx);
	mb_rr(b, sec, o, ol, HF_TYPE_RRSIG, 3600, sig, sl + siglen);
}

static void write_seed(const char *dir, const char *name, const struct mb *r, bool with_keys)
{
	char path[512];
	FILE *f;
	uint8_t len[2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	hf_put16(len, (uint16_t)r->len);
	fwrite(len, 1, 2, f);
	fwrite(r->buf, 1, r->len, f);
	if (with_keys)
		fwrite(keys_wire, 1, keys_len, f);
	fclose(f);
}

static void seeds(const char *dir)
{
	static const uint8_t a[4] = {192, 0, 2, 1};
	uint8_t rd[300];
	size_t n;
	struct mb r;

	mb_init(&r, "www.example.com.", HF_TYPE_A, 0);
	signed_rr(&r, 0, "www.example.com.", HF_TYPE_A, a, 4, 3, NULL);
	write_seed(dir, "positive", &r, true);
	write_seed(dir, "positive-builtin-keys", &r, false);

	mb_init(&r, "a.wild.example.com.", HF_TYPE_A, 0);
	signed_rr(&r, 0, "a.wild.example.com.", HF_TYPE_A, a, 4, 3, "*.wild.example.com.");
	n = wn("b.wild.example.com.", rd);
	rd[n] = 0, rd[n + 1] = 1, rd[n + 2] = 0x40; /* A */
	signed_rr(&r, 1, "*.wild.example.com.", HF_TYPE_NSEC, rd, n + 3, 4, NULL);
	write_seed(dir, "wildcard", &r, true);

	mb_init(&r, "nx.example.com.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	n = wn("example.com.", rd);
	n += wn("example.com.", rd + n);
	memset(rd + n, 0, 20);
	signed_rr(&r, 1, "example.com.", HF_TYPE_SOA, rd, n + 20, 2, NULL);
	n = wn("www.example.com.", rd);
	rd[n] = 0, rd[n + 1] = 7, memset(rd + n + 2, 0, 7), rd[n + 2] = 0x22, rd[n + 8] = 0x01;
	signed_rr(&r, 1, "example.com.", HF_TYPE_NSEC, rd, n + 9, 2, NULL);
	write_seed(dir, "nxdomain", &r, true);

	mb_init(&r, "www.example.com.", HF_TYPE_AAAA, 0);
	n = wn("x.example.com.", rd);
	rd[n] = 0, rd[n + 1] = 1, rd[n + 2] = 0x40;
	signed_rr(&r, 1, "www.example.com.", HF_TYPE_NSEC, rd, n + 3, 3, NULL);
	write_seed(dir, "nodata", &r, true);

	mb_init(&r, "x.example.com.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	{
		static const uint8_t n3[] = {1,	 1,  0,	 0,  0,	 20, 1,	 2,  3,	  4,
					     5,	 6,  7,	 8,  9,	 10, 11, 12, 13,  14,
					     15, 16, 17, 18, 19, 20, 0,	 1,  0x40};
		signed_rr(&r, 1, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com.", HF_TYPE_NSEC3, n3,
			  sizeof(n3), 3, NULL);
	}
	write_seed(dir, "nsec3", &r, true);

	mb_init(&r, "example.com.", HF_TYPE_DS, 0);
	write_seed(dir, "ds-query", &r, true);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[128];
	struct hf_val_conf conf;
	struct mb k;
	const char *dir = getenv("HF_FUZZ_WRITE_SEEDS");
	size_t pl = 32;

	(void)argc;
	(void)argv;
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, sizeof(priv));
	REQUIRE(key);
	hf_put16(dnskey_rd, 257);
	dnskey_rd[2] = 3;
	dnskey_rd[3] = 15;
	REQUIRE(EVP_PKEY_get_raw_public_key(key, dnskey_rd + 4, &pl) == 1);
	key_tag = hf_val_key_tag(dnskey_rd, sizeof(dnskey_rd));
	REQUIRE(key_tag == 3613);
	mb_init(&k, "example.com.", HF_TYPE_DNSKEY, 0);
	signed_rr(&k, 0, "example.com.", HF_TYPE_DNSKEY, dnskey_rd, sizeof(dnskey_rd), 2, NULL);
	memcpy(keys_wire, k.buf, k.len);
	keys_len = k.len;
	if (dir)
		seeds(dir);

	REQUIRE(hf_test_eal_init("fuzz_validator", "fuzz_validator") == 0);
	hf_val_conf_default(&conf);
	conf.no_default_anchors = true;
	conf.cache_entries = 16;
	val = hf_val_create(&conf, err, sizeof(err));
	REQUIRE(val);
	REQUIRE(hf_val_load_anchors_str(val, anchor, true, err, sizeof(err)) == 0);
	return 0;
}

static bool ede_known(uint16_t ede)
{
	switch (ede) {
	case HF_EDE_NONE:
	case HF_EDE_OTHER:
	case HF_EDE_UNSUPPORTED_DNSKEY_ALG:
	case HF_EDE_UNSUPPORTED_DS_DIGEST:
	case HF_EDE_DNSSEC_INDETERMINATE:
	case HF_EDE_DNSSEC_BOGUS:
	case HF_EDE_SIGNATURE_EXPIRED:
	case HF_EDE_SIGNATURE_NOT_YET_VALID:
	case HF_EDE_DNSKEY_MISSING:
	case HF_EDE_RRSIGS_MISSING:
	case HF_EDE_NSEC_MISSING:
	case HF_EDE_UNSUPPORTED_NSEC3_ITER:
		return true;
	default:
		return false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *kw = keys_wire;
	size_t n, kl = keys_len;
	bool have_keys;
	struct hf_val_result res;
	struct hf_val_need need;

	if (size < 2)
		return 0;
	n = hf_get16(data);
	if (n > size - 2)
		return 0;
	if (size - 2 - n > 0) {
		kw = data + 2 + n;
		kl = size - 2 - n;
	}
	hf_val_flush(val);
	have_keys = hf_dns_msg_parse(kw, kl, &keys_m) == 0;
	if (have_keys && keys_m.qdcount == 1)
		(void)hf_val_add_keys(val, &keys_m, NOW);
	if (hf_dns_msg_parse(data + 2, n, &resp_m) != 0 || resp_m.qdcount != 1)
		return 0;
	/* the response itself as a key fetch, too (DS/DNSKEY questions) */
	(void)hf_val_add_keys(val, &resp_m, NOW);
	for (int round = 0; round < HF_VAL_MAX_ROUNDS; round++) {
		int rc = hf_val_validate(val, &resp_m, NOW, &res, &need);
		REQUIRE(rc == HF_VAL_DONE || rc == HF_VAL_NEED);
		if (rc == HF_VAL_DONE) {
			REQUIRE(res.verdict <= HF_SECURITY_INDETERMINATE);
			REQUIRE(ede_known(res.ede));
			REQUIRE(memchr(res.text, 0, sizeof(res.text)) != NULL);
			REQUIRE(res.verdict == HF_SECURITY_SECURE || res.ttl_cap == UINT32_MAX);
			REQUIRE(res.verdict != HF_SECURITY_SECURE || res.ede == HF_EDE_NONE);
			break;
		}
		REQUIRE(need.qtype == HF_TYPE_DS || need.qtype == HF_TYPE_DNSKEY);
		/* serve it from the input when its question fits, else give up */
		if (!have_keys || keys_m.qtype != need.qtype ||
		    !hf_dns_name_equal(keys_m.qname, keys_m.qname_len, need.name, need.name_len) ||
		    hf_val_add_keys(val, &keys_m, NOW) != 0)
			break;
	}
	return 0;
}
