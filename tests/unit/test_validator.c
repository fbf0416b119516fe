/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * validator/ tests: published vectors (RFC 4034, 4509, 5155, 5702, 6605,
 * 8080 with its errata), canonical form and order, and every verdict and
 * EDE from a signed world generated here with OpenSSL (no network):
 *
 *   test.      alg 13  trust anchor (DS)      NSEC
 *   sec.test.  alg 8   RSA-2048, DS in test.  NSEC
 *   ed.test.   alg 15  Ed25519                NSEC
 *   n3.test.   alg 13  NSEC3 (opt-out, iterations as a test wants)
 *   ins.test.  unsigned, NSEC in test. proves no DS
 *   u.n3.test. unsigned, covered by an opt-out NSEC3
 *
 * The signed data is built here independently of the library (RRs written
 * in canonical form, sorted here), so a shared canonical-form bug cannot
 * cancel out.
 *
 * The key cache (validator/keycache.c, an rte_hash index under our LRU) is
 * also tested alone, through val_internal.h; main() starts a --no-huge EAL
 * for its rte_hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/bn.h>

#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"
#include "validator/hf_aggr.h"
#include "validator/hf_validator.h"
#include "validator/val_internal.h"

#define NOW	((uint64_t)1700000000)
#define INCEP	((uint32_t)(NOW - 3600))
#define EXPIRE	((uint32_t)(NOW + 7 * 86400))
#define ALG5_DS 5

/* ---- small codecs ---- */

static int b64dec(const char *s, uint8_t *out)
{
	static const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0, n = 0;

	for (; *s; s++) {
		const char *p = strchr(al, *s);
		if (*s == '=' || !p)
			continue;
		acc = (acc << 6) | (uint32_t)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

static int hexdec(const char *s, uint8_t *out)
{
	int n = 0;
	unsigned v;

	while (s[0] && s[1] && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void b32hex(const uint8_t *in, size_t len, char *out)
{
	static const char *al = "0123456789abcdefghijklmnopqrstuv";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = al[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[n++] = al[(acc << (5 - bits)) & 31];
	out[n] = 0;
}

static size_t wname(const char *s, uint8_t *out)
{
	size_t len = 0;
	if (hf_dns_name_from_str(s, out, &len) < 0) {
		fprintf(stderr, "bad name %s\n", s);
		abort();
	}
	return len;
}

/* ---- messages ---- */

struct mb {
	uint8_t buf[16384];
	size_t len;
	uint16_t count[3];
};

static void mb_init(struct mb *b, const char *qname, uint16_t qtype, uint8_t rcode)
{
	memset(b, 0, sizeof(*b));
	hf_put16(b->buf, 0x1234);
	hf_put16(b->buf + 2, HF_DNS_QR | HF_DNS_RD | HF_DNS_RA | HF_DNS_CD | rcode);
	hf_put16(b->buf + 4, 1);
	b->len = 12;
	b->len += wname(qname, b->buf + b->len);
	hf_put16(b->buf + b->len, qtype);
	hf_put16(b->buf + b->len + 2, HF_CLASS_IN);
	b->len += 4;
}

/* RRs must be added section by section, in order. */
static void mb_rr_w(struct mb *b, int sec, const uint8_t *owner, size_t olen, uint16_t type,
		    uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	memcpy(b->buf + b->len, owner, olen);
	b->len += olen;
	hf_put16(b->buf + b->len, type);
	hf_put16(b->buf + b->len + 2, HF_CLASS_IN);
	hf_put32(b->buf + b->len + 4, ttl);
	hf_put16(b->buf + b->len + 8, (uint16_t)rdlen);
	memcpy(b->buf + b->len + 10, rd, rdlen);
	b->len += 10 + rdlen;
	b->count[sec]++;
	hf_put16(b->buf + 6, b->count[0]);
	hf_put16(b->buf + 8, b->count[1]);
	hf_put16(b->buf + 10, b->count[2]);
}

static void mb_rr(struct mb *b, int sec, const char *owner, uint16_t type, uint32_t ttl,
		  const uint8_t *rd, size_t rdlen)
{
	uint8_t o[256];
	size_t ol = wname(owner, o);
	mb_rr_w(b, sec, o, ol, type, ttl, rd, rdlen);
}

static struct hf_dns_msg pm;

static const struct hf_dns_msg *mb_parse(struct mb *b, struct hf_dns_msg *m)
{
	int rc = hf_dns_msg_parse(b->buf, b->len, m);
	if (rc != 0) {
		fprintf(stderr, "built message does not parse: %d\n", rc);
		abort();
	}
	return m;
}

/* ---- keys ---- */

struct tkey {
	EVP_PKEY *pk;
	uint8_t alg;
	uint8_t rd[600];
	size_t rdlen;
	uint16_t tag;
};

static void tkey_gen(struct tkey *k, uint8_t alg, uint16_t flags)
{
	uint8_t pub[600];
	size_t plen = 0;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (alg == HF_ALG_RSASHA256) {
		BIGNUM *n = NULL, *e = NULL;
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_N, &n);
		EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_E, &e);
		pub[0] = (uint8_t)BN_num_bytes(e);
		BN_bn2bin(e, pub + 1);
		plen = 1 + pub[0];
		plen += (size_t)BN_bn2bin(n, pub + plen);
		BN_free(n);
		BN_free(e);
	} else if (alg == HF_ALG_ECDSAP256) {
		uint8_t pt[80];
		size_t l = 0;
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &l);
		memcpy(pub, pt + 1, l - 1);
		plen = l - 1;
	} else {
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		plen = sizeof(pub);
		EVP_PKEY_get_raw_public_key(k->pk, pub, &plen);
	}
	hf_put16(k->rd, flags);
	k->rd[2] = 3;
	k->rd[3] = alg;
	memcpy(k->rd + 4, pub, plen);
	k->rdlen = 4 + plen;
	k->tag = hf_val_key_tag(k->rd, k->rdlen);
}

static size_t tkey_sign(const struct tkey *k, const uint8_t *data, size_t len, uint8_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[300];
	size_t slen = 512;

	if (k->alg == HF_ALG_ECDSAP256) {
		const unsigned char *p = der;
		const BIGNUM *r, *s;
		ECDSA_SIG *es;
		slen = sizeof(der);
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pk);
		EVP_DigestSign(ctx, der, &slen, data, len);
		es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
		slen = 64;
	} else {
		EVP_DigestSignInit(ctx, NULL, k->alg == HF_ALG_RSASHA256 ? EVP_sha256() : NULL,
				   NULL, k->pk);
		EVP_DigestSign(ctx, sig, &slen, data, len);
	}
	EVP_MD_CTX_free(ctx);
	return slen;
}

/* ---- the signed world ---- */

struct zone {
	const char *name;
	struct tkey key;
};

static struct zone z_test = {"test."}, z_sec = {"sec.test."}, z_ed = {"ed.test."},
		   z_n3 = {"n3.test."}, z_nods = {"nods.test."};
static struct tkey k_other; /* signs things no DS or DNSKEY set knows */

struct sopt {
	bool corrupt;
	uint32_t inc, exp;
	int labels; /* 0: from the owner */
	const struct tkey *key;
	const char *signer;
	bool nosig;
};

struct rdv {
	const uint8_t *p;
	size_t len;
};

static int rdv_cmp(const void *a, const void *b)
{
	const struct rdv *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, m);
	return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

/*
 * Add an RRset (rdata in canonical form, as written) and its RRSIG by zone
 * z. The signed data is built here from the RFC 4034 3.1.8.1 recipe.
 */
static void add_signed(struct mb *b, int sec, const struct zone *z, const char *owner,
		       uint16_t type, uint32_t ttl, struct rdv *rds, unsigned n,
		       const struct sopt *o)
{
	static const struct sopt none;
	const struct tkey *k;
	uint8_t own[256], sgn[256], rr[2048], data[8192], sig[600];
	size_t ol = wname(owner, own), sl, dl, slen;
	unsigned labels;
	struct rdv sorted[16];

	if (!o)
		o = &none;
	k = o->key ? o->key : &z->key;
	for (unsigned i = 0; i < n; i++)
		mb_rr_w(b, sec, own, ol, type, ttl, rds[i].p, rds[i].len);
	if (o->nosig)
		return;
	sl = wname(o->signer ? o->signer : z->name, sgn);
	labels = o->labels ? (unsigned)o->labels : 0;
	if (!labels) {
		for (size_t i = 0; own[i]; i += 1u + own[i])
			labels++;
		if (own[0] == 1 && own[1] == '*')
			labels--;
	}
	hf_put16(rr, type);
	rr[2] = k->alg;
	rr[3] = (uint8_t)labels;
	hf_put32(rr + 4, ttl);
	hf_put32(rr + 8, o->exp ? o->exp : EXPIRE);
	hf_put32(rr + 12, o->inc ? o->inc : INCEP);
	hf_put16(rr + 16, k->tag);
	memcpy(rr + 18, sgn, sl);
	memcpy(data, rr, 18 + sl);
	dl = 18 + sl;
	memcpy(sorted, rds, n * sizeof(*rds));
	qsort(sorted, n, sizeof(*sorted), rdv_cmp);
	for (unsigned i = 0; i < n; i++) {
		uint8_t so[260];
		size_t sol = ol;
		unsigned ol_labels = 0;
		for (size_t j = 0; own[j]; j += 1u + own[j])
			ol_labels++;
		memcpy(so, own, ol);
		if (labels < ol_labels) { /* the wildcard this was expanded from */
			size_t off = 0;
			for (unsigned s = ol_labels - labels; s > 0; s--)
				off += 1u + own[off];
			so[0] = 1;
			so[1] = '*';
			memcpy(so + 2, own + off, ol - off);
			sol = 2 + ol - off;
		}
		for (size_t j = 0; j < sol; j++)
			so[j] = hf_dns_lower[so[j]];
		memcpy(data + dl, so, sol);
		dl += sol;
		hf_put16(data + dl, type);
		hf_put16(data + dl + 2, HF_CLASS_IN);
		hf_put32(data + dl + 4, ttl);
		hf_put16(data + dl + 8, (uint16_t)sorted[i].len);
		memcpy(data + dl + 10, sorted[i].p, sorted[i].len);
		dl += 10 + sorted[i].len;
	}
	slen = tkey_sign(k, data, dl, sig);
	if (o->corrupt)
		sig[slen / 2] ^= 0x40;
	memcpy(rr + 18 + sl, sig, slen);
	mb_rr_w(b, sec, own, ol, HF_TYPE_RRSIG, ttl, rr, 18 + sl + slen);
}

static void add_signed1(struct mb *b, int sec, const struct zone *z, const char *owner,
			uint16_t type, uint32_t ttl, const uint8_t *rd, size_t len,
			const struct sopt *o)
{
	struct rdv r = {rd, len};
	add_signed(b, sec, z, owner, type, ttl, &r, 1, o);
}

static const uint8_t a_rd[4] = {192, 0, 2, 1}, a_rd2[4] = {192, 0, 2, 2};

static size_t soa_rd(const struct zone *z, uint8_t *rd)
{
	size_t n = wname(z->name, rd);
	n += wname(z->name, rd + n);
	memset(rd + n, 0, 20);
	hf_put32(rd + n + 16, 300);
	return n + 20;
}

static void add_soa(struct mb *b, const struct zone *z, const struct sopt *o)
{
	uint8_t rd[600];
	size_t n = soa_rd(z, rd);
	add_signed1(b, HF_SEC_AUTHORITY, z, z->name, HF_TYPE_SOA, 300, rd, n, o);
}

/* Window-0 type bitmap from a 0-terminated list. */
static size_t bitmap(const uint16_t *types, uint8_t *out)
{
	uint8_t bm[32] = {0};
	unsigned max = 0;
	for (; *types; types++) {
		bm[*types / 8] |= (uint8_t)(0x80 >> (*types % 8));
		if (*types / 8 + 1u > max)
			max = *types / 8 + 1u;
	}
	out[0] = 0;
	out[1] = (uint8_t)max;
	memcpy(out + 2, bm, max);
	return 2 + max;
}

static void add_nsec(struct mb *b, const struct zone *z, const char *owner, const char *next,
		     const uint16_t *types, const struct sopt *o)
{
	uint8_t rd[600];
	size_t n = wname(next, rd);
	n += bitmap(types, rd + n);
	add_signed1(b, HF_SEC_AUTHORITY, z, owner, HF_TYPE_NSEC, 300, rd, n, o);
}

static uint16_t n3_iter = 0;
static const uint8_t n3_salt[2] = {0xab, 0xcd};

static void n3hash(const char *name, uint8_t h[20])
{
	uint8_t w[256];
	size_t l = wname(name, w);
	hf_val_nsec3_hash(w, l, n3_salt, sizeof(n3_salt), n3_iter, h);
}

/* NSEC3 for `name` in z, the next hash given, opt-out flag as asked. */
static void add_nsec3(struct mb *b, const struct zone *z, const uint8_t h[20],
		      const uint8_t next[20], bool optout, const uint16_t *types)
{
	uint8_t rd[600];
	char owner[300], hb[40];
	size_t n = 0;

	b32hex(h, 20, hb);
	snprintf(owner, sizeof(owner), "%s.%s", hb, z->name);
	rd[n++] = 1;
	rd[n++] = optout ? 1 : 0;
	hf_put16(rd + n, n3_iter);
	n += 2;
	rd[n++] = sizeof(n3_salt);
	memcpy(rd + n, n3_salt, sizeof(n3_salt));
	n += sizeof(n3_salt);
	rd[n++] = 20;
	memcpy(rd + n, next, 20);
	n += 20;
	n += bitmap(types, rd + n);
	add_signed1(b, HF_SEC_AUTHORITY, z, owner, HF_TYPE_NSEC3, 300, rd, n, NULL);
}

/* ---- canned upstream ---- */

struct canned {
	char name[64];
	uint16_t qtype;
	struct mb b;
};
static struct canned canned[24];
static unsigned ncanned;

static struct mb *can(const char *name, uint16_t qtype, uint8_t rcode)
{
	struct canned *c = &canned[ncanned++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->qtype = qtype;
	mb_init(&c->b, name, qtype, rcode);
	return &c->b;
}

static void ds_rdata(const struct zone *child, const struct tkey *k, uint8_t dtype, uint8_t *rd,
		     size_t *len)
{
	uint8_t own[256];
	size_t ol = wname(child->name, own);
	hf_put16(rd, k->tag);
	rd[2] = k->alg;
	rd[3] = dtype;
	/* independent SHA-256 here, not the library's */
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned int dl = 0;
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		EVP_DigestUpdate(ctx, own, ol);
		EVP_DigestUpdate(ctx, k->rd, k->rdlen);
		EVP_DigestFinal_ex(ctx, rd + 4, &dl);
		EVP_MD_CTX_free(ctx);
		*len = 4 + dl;
	}
}

static void can_dnskey(const struct zone *z, const struct sopt *o)
{
	struct mb *b = can(z->name, HF_TYPE_DNSKEY, 0);
	add_signed1(b, HF_SEC_ANSWER, z, z->name, HF_TYPE_DNSKEY, 3600, z->key.rd, z->key.rdlen, o);
}

static void can_ds(const struct zone *child, const struct zone *parent, const struct tkey *k)
{
	struct mb *b = can(child->name, HF_TYPE_DS, 0);
	uint8_t rd[64];
	size_t len;
	ds_rdata(child, k ? k : &child->key, 2, rd, &len);
	add_signed1(b, HF_SEC_ANSWER, parent, child->name, HF_TYPE_DS, 3600, rd, len, NULL);
}

/* DS NODATA from the parent: an NSEC at name with these types. */
static void can_ds_nsec(const char *name, const struct zone *parent, const char *next,
			const uint16_t *types)
{
	struct mb *b = can(name, HF_TYPE_DS, 0);
	add_soa(b, parent, NULL);
	add_nsec(b, parent, name, next, types, NULL);
}

static void canned_reset(void)
{
	ncanned = 0;
	/* the chain every test can use */
	can_dnskey(&z_test, NULL);
	can_ds(&z_sec, &z_test, NULL);
	can_dnskey(&z_sec, NULL);
	can_ds(&z_ed, &z_test, NULL);
	can_dnskey(&z_ed, NULL);
	can_ds(&z_n3, &z_test, NULL);
	can_dnskey(&z_n3, NULL);
}

static struct hf_val_conf vconf;
static const char *nta_name;

static bool nta_hook(void *arg, const uint8_t *name, size_t len, uint64_t now)
{
	uint8_t w[256];
	size_t l;
	(void)arg;
	(void)now;
	if (!nta_name)
		return false;
	l = wname(nta_name, w);
	return hf_dns_name_is_sub(name, len, w, l);
}

static struct hf_val *new_val(void)
{
	char err[128], anchor[400], hx[100];
	uint8_t rd[64];
	size_t len;
	struct hf_val *v;

	vconf.no_default_anchors = true;
	vconf.nta = nta_hook;
	v = hf_val_create(&vconf, err, sizeof(err));
	CHECK(v != NULL);
	ds_rdata(&z_test, &z_test.key, 2, rd, &len);
	for (size_t i = 4; i < len; i++)
		sprintf(hx + 2 * (i - 4), "%02X", rd[i]);
	snprintf(anchor, sizeof(anchor), "test. 3600 IN DS %u %u 2 %s\n", z_test.key.tag,
		 z_test.key.alg, hx);
	CHECK_EQ(hf_val_load_anchors_str(v, anchor, true, err, sizeof(err)), 0);
	return v;
}

static unsigned rounds;

/* Drive one response through validate/add_keys with the canned upstream. */
static int drive(struct hf_val *v, struct mb *resp, uint64_t now, struct hf_val_result *res)
{
	static struct hf_dns_msg rm, km;
	struct hf_val_need need;

	mb_parse(resp, &rm);
	for (rounds = 0; rounds < HF_VAL_MAX_ROUNDS; rounds++) {
		int rc = hf_val_validate(v, &rm, now, res, &need);
		char nb[300];
		unsigned i;
		if (rc == HF_VAL_DONE)
			return 0;
		CHECK_EQ(rc, HF_VAL_NEED);
		hf_dns_name_to_str(need.name, need.name_len, nb, sizeof(nb));
		for (i = 0; i < ncanned; i++)
			if (canned[i].qtype == need.qtype && strcasecmp(canned[i].name, nb) == 0)
				break;
		if (i == ncanned) {
			fprintf(stderr, "no canned answer for %s/%u\n", nb, need.qtype);
			return -1;
		}
		CHECK_EQ(hf_val_add_keys(v, mb_parse(&canned[i].b, &km), now), 0);
	}
	return -1;
}

/* Validate resp in a fresh validator: the verdict, EDE and a part of the
 * text; then, unless qname is NULL, where the chain to qname breaks in
 * the key cache (zone, or NULL for nowhere: hf_val_broken_zone). */
static void expect_at(struct mb *resp, uint8_t verdict, uint16_t ede, const char *text_part,
		      const char *qname, const char *zone)
{
	struct hf_val *v = new_val();
	struct hf_val_result res;
	uint8_t q[HF_DNS_NAME_MAX], z[HF_DNS_NAME_MAX], got[HF_DNS_NAME_MAX];
	size_t zl = zone ? wname(zone, z) : 0, gl = 0;

	CHECK_EQ(drive(v, resp, NOW, &res), 0);
	if (qname != NULL) {
		bool broken = hf_val_broken_zone(v, q, wname(qname, q), NOW, got, &gl);
		CHECK_EQ(broken, zone != NULL);
		if (zone != NULL)
			CHECK(broken && hf_dns_name_equal(got, gl, z, zl));
	}
	CHECK_EQ(res.verdict, verdict);
	CHECK_EQ(res.ede, ede);
	if (text_part && !strstr(res.text, text_part)) {
		fprintf(stderr, "text \"%s\" lacks \"%s\"\n", res.text, text_part);
		CHECK(0);
	}
	if (res.verdict != verdict || res.ede != ede)
		fprintf(stderr, "  verdict %u ede %u text \"%s\"\n", res.verdict, res.ede,
			res.text);
	hf_val_destroy(v);
}

static void expect(struct mb *resp, uint8_t verdict, uint16_t ede, const char *text_part)
{
	expect_at(resp, verdict, ede, text_part, NULL, NULL);
}

/* ==== published vectors ==== */

struct sigvec {
	const char *what, *owner, *signer, *key;
	uint16_t flags, type, tag;
	uint8_t alg, labels;
	uint32_t inc, exp;
	const char *sig;
	uint8_t rd[32];
	size_t rdlen;
};

/* RFC 5702 6.1/6.2, RFC 6605 6.1/6.2, RFC 8080 6.1/6.2 (errata 4935: labels 2) */
static const struct sigvec sigvecs[] = {
	{"RFC 5702 6.1 RSA/SHA-256",
	 "www.example.net.",
	 "example.net.",
	 "AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/"
	 "DlUmObdk=",
	 256,
	 HF_TYPE_A,
	 9033,
	 8,
	 3,
	 946684800,
	 1893456000,
	 "kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPtPiVYP4bwg==",
	 {192, 0, 2, 91},
	 4},
	{"RFC 5702 6.2 RSA/SHA-512",
	 "www.example.net.",
	 "example.net.",
	 "AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/"
	 "AyhqFDxj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/"
	 "D7QNPsgVsMu1J2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
	 256,
	 HF_TYPE_A,
	 3740,
	 10,
	 3,
	 946684800,
	 1893456000,
	 "tsb4wnjRUDnB1BUi+t6TMTXThjVnG+"
	 "eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1ep94PzEWzr0iGYgZB"
	 "Wm/zpq+9fOuagYJRfDqfReKBzMweOLDiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=",
	 {192, 0, 2, 91},
	 4},
	{"RFC 6605 6.1 ECDSA P-256",
	 "www.example.net.",
	 "example.net.",
	 "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
	 257,
	 HF_TYPE_A,
	 55648,
	 13,
	 3,
	 1281607479,
	 1284026679,
	 "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
	 {192, 0, 2, 1},
	 4},
	{"RFC 6605 6.2 ECDSA P-384",
	 "www.example.net.",
	 "example.net.",
	 "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/"
	 "uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
	 257,
	 HF_TYPE_A,
	 10771,
	 14,
	 3,
	 1281608425,
	 1284027625,
	 "/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzW"
	 "T"
	 "SSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
	 {192, 0, 2, 1},
	 4},
	{"RFC 8080 6.1 Ed25519 key 3613 (errata 4935)",
	 "example.com.",
	 "example.com.",
	 "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
	 257,
	 HF_TYPE_MX,
	 3613,
	 15,
	 2,
	 1438207200,
	 1440021600,
	 "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
	 {0, 10, 4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0},
	 20},
	{"RFC 8080 6.1 Ed25519 key 35217 (errata 4935)",
	 "example.com.",
	 "example.com.",
	 "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
	 257,
	 HF_TYPE_MX,
	 35217,
	 15,
	 2,
	 1438207200,
	 1440021600,
	 "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==",
	 {0, 10, 4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0},
	 20},
	{"RFC 8080 6.2 Ed448 key 9713 (errata 4935)",
	 "example.com.",
	 "example.com.",
	 "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
	 257,
	 HF_TYPE_MX,
	 9713,
	 16,
	 2,
	 1438207200,
	 1440021600,
	 "3cPAHkmlnxcDHMyg7vFC34l0blBhuG1qpwLmjInI8w1CMB29FkEAIJUA0amxWndkmnBZ6SKiwZSAxGILn/"
	 "NBtOXft0+Gj7FSvOKxE/07+4RQvE581N3Aj/JtIyaiYVdnYtyMWbSNyGEY2213WKsJlwEA",
	 {0, 10, 4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0},
	 20},
};

/* The vector's RRset in a message, its signed data from the library
 * (checked against the recipe built here) and the signature checked. */
static void check_sigvec(const struct sigvec *t, bool *ok)
{
	uint8_t key[600], dnskey[604], sig[300], rr[400], data[1024], ldata[1024], sgn[256],
		own[256];
	int kl = b64dec(t->key, key), sl = b64dec(t->sig, sig);
	size_t gl = wname(t->signer, sgn), ol = wname(t->owner, own), dl;
	struct mb b;
	int n;

	hf_put16(dnskey, t->flags);
	dnskey[2] = 3;
	dnskey[3] = t->alg;
	memcpy(dnskey + 4, key, (size_t)kl);
	CHECK_EQ(hf_val_key_tag(dnskey, 4 + (size_t)kl), t->tag);

	hf_put16(rr, t->type);
	rr[2] = t->alg;
	rr[3] = t->labels;
	hf_put32(rr + 4, 3600);
	hf_put32(rr + 8, t->exp);
	hf_put32(rr + 12, t->inc);
	hf_put16(rr + 16, t->tag);
	memcpy(rr + 18, sgn, gl);
	memcpy(data, rr, 18 + gl);
	dl = 18 + gl;
	memcpy(data + dl, own, ol);
	dl += ol;
	hf_put16(data + dl, t->type);
	hf_put16(data + dl + 2, HF_CLASS_IN);
	hf_put32(data + dl + 4, 3600);
	hf_put16(data + dl + 8, (uint16_t)t->rdlen);
	memcpy(data + dl + 10, t->rd, t->rdlen);
	dl += 10 + t->rdlen;

	memcpy(rr + 18 + gl, sig, (size_t)sl);
	mb_init(&b, t->owner, t->type, 0);
	mb_rr(&b, 0, t->owner, t->type, 3600, t->rd, t->rdlen);
	mb_rr(&b, 0, t->owner, HF_TYPE_RRSIG, 3600, rr, 18 + gl + (size_t)sl);
	mb_parse(&b, &pm);
	n = hf_val_signed_data(&pm, 1, ldata, sizeof(ldata));
	CHECK_EQ(n, (int)dl);
	CHECK_MEM(ldata, data, dl);
	*ok = hf_val_verify_raw(dnskey, 4 + (size_t)kl, data, dl, sig, (size_t)sl) == 1;
	CHECK(*ok);
	/* one flipped bit must fail */
	sig[sl / 3] ^= 1;
	CHECK_EQ(hf_val_verify_raw(dnskey, 4 + (size_t)kl, data, dl, sig, (size_t)sl), 0);
}

static void test_rfc_signatures(void)
{
	for (size_t i = 0; i < HF_ARRAY_LEN(sigvecs); i++) {
		bool ok = false;
		check_sigvec(&sigvecs[i], &ok);
		printf("     %-48s %s\n", sigvecs[i].what, ok ? "verifies" : "FAILS");
	}
}

/* RFC 8080 as printed (labels 3) does not verify; with 2 it does (above). */
static void test_rfc8080_as_printed(void)
{
	struct sigvec t = sigvecs[4];
	uint8_t key[64], dnskey[80], sig[80], data[512], sgn[64], own[64];
	int kl = b64dec(t.key, key), sl;
	size_t dl, gl = wname(t.signer, sgn), ol = wname(t.owner, own);

	sl = b64dec("Edk+IB9KNNWg0HAjm7FazXyrd5m3Rk8zNZbvNpAcM+eysqcUOMIjWoevFkjH5GaMWeG96GUVZu6EC"
		    "KOQmemHDg==",
		    sig);
	hf_put16(dnskey, 257);
	dnskey[2] = 3;
	dnskey[3] = 15;
	memcpy(dnskey + 4, key, (size_t)kl);
	for (int labels = 2; labels <= 3; labels++) {
		hf_put16(data, HF_TYPE_MX);
		data[2] = 15;
		data[3] = (uint8_t)labels;
		hf_put32(data + 4, 3600);
		hf_put32(data + 8, t.exp);
		hf_put32(data + 12, t.inc);
		hf_put16(data + 16, t.tag);
		memcpy(data + 18, sgn, gl);
		dl = 18 + gl;
		memcpy(data + dl, own, ol);
		dl += ol;
		hf_put16(data + dl, HF_TYPE_MX);
		hf_put16(data + dl + 2, 1);
		hf_put32(data + dl + 4, 3600);
		hf_put16(data + dl + 8, (uint16_t)t.rdlen);
		memcpy(data + dl + 10, t.rd, t.rdlen);
		dl += 10 + t.rdlen;
		CHECK_EQ(hf_val_verify_raw(dnskey, 4 + (size_t)kl, data, dl, sig, (size_t)sl),
			 labels == 3 ? 1 : 0);
	}
}

struct dsvec {
	const char *owner, *key, *digest;
	uint16_t flags, tag;
	uint8_t alg, dtype;
};

static const char rfc4034_key[] =
	"AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmm"
	"AphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==";

static const struct dsvec dsvecs[] = {
	/* RFC 4034 5.4 (SHA-1) and RFC 4509 2.3 (SHA-256), same key */
	{"dskey.example.com.", rfc4034_key, "2BB183AF5F22588179A53B0A98631FAD1A292118", 256, 60485,
	 5, 1},
	{"dskey.example.com.", rfc4034_key,
	 "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A", 256, 60485, 5, 2},
	/* RFC 6605 6.1, 6.2 */
	{"example.net.",
	 "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
	 "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17", 257, 55648, 13, 2},
	{"example.net.",
	 "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/"
	 "uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
	 "72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a94"
	 "6df983d6",
	 257, 10771, 14, 4},
	/* RFC 8080 6.1, 6.2 */
	{"example.com.", "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
	 "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b", 257, 3613, 15, 2},
	{"example.com.", "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
	 "401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c", 257, 35217, 15, 2},
	{"example.com.",
	 "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
	 "6ccf18d5bc5d7fc2fceb1d59d17321402f2aa8d368048db93dd811f5cb2b19c7", 257, 9713, 16, 2},
};

static void test_rfc_ds_and_key_tags(void)
{
	for (size_t i = 0; i < HF_ARRAY_LEN(dsvecs); i++) {
		const struct dsvec *t = &dsvecs[i];
		uint8_t rd[700], want[64], got[64], own[256];
		int kl = b64dec(t->key, rd + 4), wl = hexdec(t->digest, want);
		size_t ol = wname(t->owner, own);
		hf_put16(rd, t->flags);
		rd[2] = 3;
		rd[3] = t->alg;
		CHECK_EQ(hf_val_key_tag(rd, 4 + (size_t)kl), t->tag);
		CHECK_EQ(hf_val_ds_digest(own, ol, rd, 4 + (size_t)kl, t->dtype, got), wl);
		CHECK_MEM(got, want, (size_t)wl);
		/* owner case does not matter */
		own[1] ^= 0x20;
		CHECK_EQ(hf_val_ds_digest(own, ol, rd, 4 + (size_t)kl, t->dtype, got), wl);
		CHECK_MEM(got, want, (size_t)wl);
	}
	{
		uint8_t rd[8] = {1, 1, 3, 8, 3, 1, 0, 1}, out[64], own[1] = {0};
		CHECK_EQ(hf_val_ds_digest(own, 1, rd, 8, 3, out), HF_ENOTSUP);
	}
}

static void test_rfc5155_hashes(void)
{
	static const char *v[][2] = {
		{"example", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
		{"a.example", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
		{"ai.example", "gjeqe526plbf1g8mklp59enfd789njgi"},
		{"ns1.example", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
		{"ns2.example", "q04jkcevqvmu85r014c7dkba38o0ji5r"},
		{"w.example", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
		{"*.w.example", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
		{"x.w.example", "b4um86eghhds6nea196smvmlo4ors995"},
		{"y.w.example", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
		{"x.y.w.example", "2vptu5timamqttgl4luu9kg21e0aor3s"},
		{"xx.example", "t644ebqk9bibcna874givr6joj62mlhv"},
		{"2t7b4g4vsa5smi47k61mv5bv1a22bojr.example", "kohar7mbb8dc2ce8a9qvl8hon4k53uhi"},
		{"A.EXAMPLE", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
	};
	static const uint8_t salt[4] = {0xaa, 0xbb, 0xcc, 0xdd};
	for (size_t i = 0; i < HF_ARRAY_LEN(v); i++) {
		uint8_t w[256], h[20];
		char hb[40];
		size_t l = wname(v[i][0], w);
		CHECK_EQ(hf_val_nsec3_hash(w, l, salt, 4, 12, h), 0);
		b32hex(h, 20, hb);
		if (strcmp(hb, v[i][1]) != 0) {
			fprintf(stderr, "H(%s) = %s, want %s\n", v[i][0], hb, v[i][1]);
			CHECK(0);
		}
	}
}

/* RFC 4034 6.1's example list, in canonical order. */
static void test_canonical_order(void)
{
	static const char *names[] = {"example.",	  "a.example.",	     "yljkjljk.a.example.",
				      "Z.a.example.",	  "zABC.a.EXAMPLE.", "z.example.",
				      "\\001.z.example.", "*.z.example.",    "\\200.z.example."};
	for (size_t i = 0; i + 1 < HF_ARRAY_LEN(names); i++) {
		uint8_t a[256], b[256];
		size_t al = wname(names[i], a), bl = wname(names[i + 1], b);
		CHECK(hf_val_name_cmp(a, al, b, bl) < 0);
		CHECK(hf_val_name_cmp(b, bl, a, al) > 0);
		CHECK_EQ(hf_val_name_cmp(a, al, a, al), 0);
	}
}

/*
 * Canonical form: mixed-case owner, compressed and mixed-case RDATA names
 * (MX), RRs out of order with a duplicate. The library's signed data must
 * equal the one written here by hand: owner and names lower-cased and
 * uncompressed, RDATA sorted, the duplicate dropped, original TTL used.
 */
static void test_canonical_form(void)
{
	uint8_t b[512], want[512], got[1024];
	size_t n = 12, w = 0, q;
	uint8_t rrsig_hdr[18] = {0, 15, 13, 2, 0, 0, 0x0e, 0x10, 0,
				 0, 0,	0,  0, 0, 0, 0,	   0x12, 0x34};
	int rc;

	memset(b, 0, 12);
	hf_put16(b + 2, 0x8000);
	hf_put16(b + 4, 1);
	hf_put16(b + 6, 4);
	q = n;
	n += wname("ExAmPle.COM.", b + n);
	hf_put16(b + n, HF_TYPE_MX);
	hf_put16(b + n + 2, 1);
	n += 4;
	/* three MX RRs: pref 20 "B.example.com" (compressed), 10 "a.EXAMPLE.com", dup of 20 */
	for (int i = 0; i < 3; i++) {
		size_t rdl;
		hf_put16(b + n, 0xc000 | (uint16_t)q);
		hf_put16(b + n + 2, HF_TYPE_MX);
		hf_put16(b + n + 4, 1);
		hf_put32(b + n + 6, 77); /* the TTL on the wire is not what is signed */
		if (i == 1) {
			uint8_t rd[64];
			rdl = 2 + wname("a.EXAMPLE.com.", rd + 2);
			hf_put16(rd, 10);
			memcpy(b + n + 12, rd, rdl);
		} else {
			b[n + 12] = 0;
			b[n + 13] = 20;
			b[n + 14] = 1;
			b[n + 15] = 'B';
			hf_put16(b + n + 16, 0xc000 | (uint16_t)(q + 8)); /* -> "COM." */
			rdl = 6;
			/* "B.COM" would be wrong: point at "example.com" instead */
			hf_put16(b + n + 16, 0xc000 | (uint16_t)q);
		}
		hf_put16(b + n + 10, (uint16_t)rdl);
		n += 12 + rdl;
	}
	/* the RRSIG (signature bytes irrelevant here) */
	hf_put16(b + n, 0xc000 | (uint16_t)q);
	hf_put16(b + n + 2, HF_TYPE_RRSIG);
	hf_put16(b + n + 4, 1);
	hf_put32(b + n + 6, 77);
	{
		uint8_t rd[128];
		size_t rl = 18;
		memcpy(rd, rrsig_hdr, 18);
		rl += wname("Example.COM.", rd + rl);
		memset(rd + rl, 0x55, 64);
		rl += 64;
		hf_put16(b + n + 10, (uint16_t)rl);
		memcpy(b + n + 12, rd, rl);
		n += 12 + rl;
	}
	{
		struct hf_dns_msg *m = &pm;
		CHECK_EQ(hf_dns_msg_parse(b, n, m), 0);
		rc = hf_val_signed_data(m, 3, got, sizeof(got));
	}
	memcpy(want, rrsig_hdr, 18);
	w = 18 + wname("example.com.", want + 18);
	{
		static const char *rds[2] = {"a.example.com.", "b.example.com."};
		static const uint16_t prefs[2] = {10, 20};
		for (int i = 0; i < 2; i++) {
			size_t l;
			w += wname("example.com.", want + w);
			hf_put16(want + w, HF_TYPE_MX);
			hf_put16(want + w + 2, 1);
			hf_put32(want + w + 4, 3600);
			hf_put16(want + w + 10, prefs[i]);
			l = wname(rds[i], want + w + 12);
			hf_put16(want + w + 8, (uint16_t)(2 + l));
			w += 12 + l;
		}
	}
	CHECK_EQ(rc, (int)w);
	CHECK_MEM(got, want, w);
}

static void test_anchor_parse(void)
{
	char err[128];
	struct hf_val *v = hf_val_create(NULL, err, sizeof(err));
	const char *path = "/tmp/hf_test_anchors.txt";
	FILE *f;

	CHECK(v != NULL);
	CHECK_EQ(hf_val_anchor_count(v), 2); /* IANA KSK-2017, KSK-2024 */
	CHECK_EQ(hf_val_load_anchors_str(
			 v,
			 "; comment line\n"
			 ". 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D084"
			 "58E880409BBC683457104237C7F8EC8D ; trailing\n"
			 "example. IN 3600 DNSKEY 257 3 15 (\n"
			 "   l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= ) ; multi\n"
			 "\n"
			 "ex2. DS 1 13 2 ( 00112233 44556677 )\n",
			 true, err, sizeof(err)),
		 0);
	CHECK_EQ(hf_val_anchor_count(v), 3);
	CHECK_EQ(hf_val_load_anchors_str(v, ". IN A 192.0.2.1\n", true, err, sizeof(err)),
		 HF_EINVAL);
	CHECK(strstr(err, "line 1") != NULL);
	CHECK_EQ(hf_val_load_anchors_str(v, "x. DS 1 2 3 zz\n", true, err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(hf_val_load_anchors_str(v, "x. DS 1 2 3 (00\n", true, err, sizeof(err)),
		 HF_EINVAL);
	CHECK_EQ(hf_val_anchor_count(v), 3); /* failed loads change nothing */
	f = fopen(path, "w");
	fputs("test. IN DS 1 8 2 "
	      "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n",
	      f);
	fclose(f);
	CHECK_EQ(hf_val_load_anchors(v, path, err, sizeof(err)), 0);
	CHECK_EQ(hf_val_anchor_count(v), 1);
	unlink(path);
	CHECK_EQ(hf_val_load_anchors(v, "/nonexistent/anchors", err, sizeof(err)), HF_EIO);
	hf_val_destroy(v);
}

/* ==== verdicts from the generated world ==== */

static void test_secure_algs(void)
{
	static const struct zone *zs[3] = {&z_test, &z_sec, &z_ed};
	static const char *own[3] = {"www.test.", "www.sec.test.", "WWW.Ed.Test."};
	for (int i = 0; i < 3; i++) {
		struct mb b;
		canned_reset();
		mb_init(&b, own[i], HF_TYPE_A, 0);
		{
			struct rdv r[2] = {{a_rd2, 4}, {a_rd, 4}};
			add_signed(&b, 0, zs[i], own[i], HF_TYPE_A, 600, r, 2, NULL);
		}
		expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);
	}
}

static void test_ttl_cap_and_warm_cache(void)
{
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st1, st2;
	struct mb b;
	struct sopt o = {.exp = (uint32_t)NOW + 100};

	canned_reset();
	v = new_val();
	mb_init(&b, "www.sec.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, &o);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	CHECK_EQ(res.ttl_cap, 100); /* expiration - now < original TTL 600 */
	CHECK_EQ(rounds, 3);	    /* test. DNSKEY, sec.test. DS, sec.test. DNSKEY */
	hf_val_get_stats(v, &st1);
	CHECK_EQ(drive(v, &b, NOW + 10, &res), 0);
	CHECK_EQ(rounds, 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	CHECK_EQ(res.ttl_cap, 90);
	hf_val_get_stats(v, &st2);
	CHECK_EQ(st2.key_parses, st1.key_parses); /* a warm key is not parsed again */
	CHECK_EQ(st2.sig_verifies, st1.sig_verifies + 1);
	/* original TTL caps when smaller */
	mb_init(&b, "www.sec.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 60, a_rd, 4, NULL);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.ttl_cap, 60);
	hf_val_destroy(v);
}

static void test_bogus_signatures(void)
{
	struct mb b;
	struct sopt bad = {.corrupt = true};
	struct sopt old = {.inc = (uint32_t)NOW - 30 * 86400, .exp = (uint32_t)NOW - 86400};
	struct sopt fut = {.inc = (uint32_t)NOW + 86400, .exp = (uint32_t)NOW + 30 * 86400};
	struct sopt nokey = {.key = &k_other};
	struct sopt skew = {.exp = (uint32_t)NOW - 100}; /* inside the 300 s allowance */

	canned_reset();
	mb_init(&b, "www.sec.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, &bad);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_DNSSEC_BOGUS, "does not verify");

	mb_init(&b, "www.ed.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_ed, "www.ed.test.", HF_TYPE_A, 600, a_rd, 4, &old);
	/* the answer's own signature: the chain is fine, no zone is broken */
	expect_at(&b, HF_SECURITY_BOGUS, HF_EDE_SIGNATURE_EXPIRED, "signature expired 2023-11-13T",
		  "www.ed.test.", NULL);

	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "www.test.", HF_TYPE_A, 600, a_rd, 4, &fut);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_SIGNATURE_NOT_YET_VALID, "not valid before");

	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "www.test.", HF_TYPE_A, 600, a_rd, 4, &nokey);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_DNSKEY_MISSING, "no DNSKEY");

	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "www.test.", HF_TYPE_A, 600, a_rd, 4, &skew);
	expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);
}

/* A DNSKEY set that the DS does not match; an expired DNSKEY signature. */
static void test_bogus_keys(void)
{
	struct mb b, *k;
	struct sopt old = {.inc = (uint32_t)NOW - 30 * 86400, .exp = (uint32_t)NOW - 86400};

	canned_reset();
	can_ds(&z_nods, &z_test, &k_other); /* DS for a key nods.test does not publish */
	can_dnskey(&z_nods, NULL);
	mb_init(&b, "www.nods.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_nods, "www.nods.test.", HF_TYPE_A, 600, a_rd, 4, NULL);
	/* the chain breaks at nods.test's keys: the zone a repair is watched at */
	expect_at(&b, HF_SECURITY_BOGUS, HF_EDE_DNSKEY_MISSING, "no key matches DS",
		  "www.nods.test.", "nods.test.");

	canned_reset();
	ncanned = 0; /* test. DNSKEY signed long ago */
	can_dnskey(&z_test, &old);
	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "www.test.", HF_TYPE_A, 600, a_rd, 4, NULL);
	expect_at(&b, HF_SECURITY_BOGUS, HF_EDE_SIGNATURE_EXPIRED, "test. DNSKEY", "www.test.",
		  "test.");

	canned_reset();
	ncanned = 0; /* upstream failure for the keys */
	k = can("test.", HF_TYPE_DNSKEY, HF_RCODE_SERVFAIL);
	(void)k;
	expect(&b, HF_SECURITY_INDETERMINATE, HF_EDE_DNSKEY_MISSING, "rcode 2");
}

static const uint16_t t_a_nsec_rrsig[] = {HF_TYPE_A, HF_TYPE_RRSIG, HF_TYPE_NSEC, 0};

static void test_rrsigs_missing(void)
{
	struct mb b;
	struct sopt nosig = {.nosig = true};

	canned_reset();
	/* www.test. is no zone cut: its NSEC (from test.) shows A, no NS */
	can_ds_nsec("www.test.", &z_test, "x.test.", t_a_nsec_rrsig);
	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "www.test.", HF_TYPE_A, 600, a_rd, 4, &nosig);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_RRSIGS_MISSING, "no RRSIG in signed zone test.");

	/* negative answer with nothing signed */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, &nosig);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_RRSIGS_MISSING, NULL);
}

static void test_nxdomain_nodata_nsec(void)
{
	static const uint16_t apex[] = {HF_TYPE_NS,   HF_TYPE_SOA,    HF_TYPE_RRSIG,
					HF_TYPE_NSEC, HF_TYPE_DNSKEY, 0};
	struct mb b;

	canned_reset();
	/* NXDOMAIN nx.test.: mm.test. -> www.test. covers it, test. -> a.test. covers *.test. */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "mm.test.", "www.test.", t_a_nsec_rrsig, NULL);
	add_nsec(&b, &z_test, "test.", "a.test.", apex, NULL);
	expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);

	/* the NSEC for the name removed: 12 */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "test.", "a.test.", apex, NULL);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_NSEC_MISSING, "nx.test. A NXDOMAIN");

	/* no NSEC at all: 12 */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_NSEC_MISSING, "no NSEC");

	/* wildcard not denied: 12 */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "mm.test.", "www.test.", t_a_nsec_rrsig, NULL);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_NSEC_MISSING, NULL);

	/* NODATA www.test. AAAA */
	mb_init(&b, "www.test.", HF_TYPE_AAAA, 0);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "www.test.", "x.test.", t_a_nsec_rrsig, NULL);
	expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);

	/* NODATA claimed for a type the NSEC lists: bogus */
	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "www.test.", "x.test.", t_a_nsec_rrsig, NULL);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_DNSSEC_BOGUS, "type exists");
}

static void test_wildcard(void)
{
	struct mb b;
	struct sopt wild = {.labels = 2}; /* *.wild.test. */
	static const uint16_t t_ns[] = {HF_TYPE_A, HF_TYPE_RRSIG, HF_TYPE_NSEC, 0};

	canned_reset();
	mb_init(&b, "a.wild.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "a.wild.test.", HF_TYPE_A, 600, a_rd, 4, &wild);
	add_nsec(&b, &z_test, "*.wild.test.", "b.wild.test.", t_ns, NULL);
	expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);

	mb_init(&b, "a.wild.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "a.wild.test.", HF_TYPE_A, 600, a_rd, 4, &wild);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_NSEC_MISSING, "wildcard");

	/* the NSEC shows a.wild.test. exists: no expansion could have happened */
	mb_init(&b, "a.wild.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "a.wild.test.", HF_TYPE_A, 600, a_rd, 4, &wild);
	add_nsec(&b, &z_test, "a.wild.test.", "b.wild.test.", t_ns, NULL);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_NSEC_MISSING, "wildcard");
}

static void test_insecure_delegations(void)
{
	static const uint16_t t_ns[] = {HF_TYPE_NS, HF_TYPE_RRSIG, HF_TYPE_NSEC, 0};
	static const uint16_t apex[] = {HF_TYPE_NS,	    HF_TYPE_SOA,    HF_TYPE_RRSIG,
					HF_TYPE_NSEC3PARAM, HF_TYPE_DNSKEY, 0};
	static const uint16_t t_ns3[] = {HF_TYPE_NS, 0};
	struct mb b, *d;
	struct sopt nosig = {.nosig = true};
	uint8_t h_apex[20], h_u[20], apex_next[20];

	/* by NSEC: ins.test. has NS and no DS */
	canned_reset();
	can_ds_nsec("ins.test.", &z_test, "mm.test.", t_ns);
	mb_init(&b, "www.ins.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "www.ins.test.", HF_TYPE_A, 600, a_rd, 4, &nosig);
	expect(&b, HF_SECURITY_INSECURE, HF_EDE_NONE, NULL);

	/* a DS set whose only algorithm is RSA/SHA-1: insecure, EDE 1 */
	canned_reset();
	d = can("ins.test.", HF_TYPE_DS, 0);
	{
		uint8_t rd[36] = {0x12, 0x34, ALG5_DS, 2};
		memset(rd + 4, 0xaa, 32);
		add_signed1(d, 0, &z_test, "ins.test.", HF_TYPE_DS, 3600, rd, 36, NULL);
	}
	expect(&b, HF_SECURITY_INSECURE, HF_EDE_UNSUPPORTED_DNSKEY_ALG, "algorithm 5");

	/* a DS set with an unknown digest type only: insecure, EDE 2 */
	canned_reset();
	d = can("ins.test.", HF_TYPE_DS, 0);
	{
		uint8_t rd[36] = {0x12, 0x34, 13, 99};
		memset(rd + 4, 0xaa, 32);
		add_signed1(d, 0, &z_test, "ins.test.", HF_TYPE_DS, 3600, rd, 36, NULL);
	}
	expect(&b, HF_SECURITY_INSECURE, HF_EDE_UNSUPPORTED_DS_DIGEST, "digest type 99");

	/* by NSEC3 opt-out: u.n3.test. is covered by an opt-out NSEC3 */
	canned_reset();
	n3_iter = 0;
	n3hash("n3.test.", h_apex);
	n3hash("u.n3.test.", h_u);
	memcpy(apex_next, h_apex, 20);
	apex_next[19]++;
	d = can("u.n3.test.", HF_TYPE_DS, 0);
	add_soa(d, &z_n3, NULL);
	/* one NSEC3 for the apex (closest encloser), one opt-out around H(u.n3.test.) */
	add_nsec3(d, &z_n3, h_apex, apex_next, false, apex);
	{
		uint8_t own[20], nxt[20];
		/* an opt-out NSEC3 from just below h_u to just above it */
		memcpy(own, h_u, 20);
		own[19]--;
		memcpy(nxt, h_u, 20);
		nxt[19]++;
		add_nsec3(d, &z_n3, own, nxt, true, t_ns3);
	}
	mb_init(&b, "www.u.n3.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_n3, "www.u.n3.test.", HF_TYPE_A, 600, a_rd, 4, &nosig);
	expect(&b, HF_SECURITY_INSECURE, HF_EDE_NONE, NULL);

	/* the same without the opt-out flag: u.n3.test. does not exist, so the
	 * unsigned answer under it sits in the signed n3.test.: bogus 10 */
	canned_reset();
	d = can("u.n3.test.", HF_TYPE_DS, 0);
	add_soa(d, &z_n3, NULL);
	add_nsec3(d, &z_n3, h_apex, apex_next, false, apex);
	{
		uint8_t own[20], nxt[20];
		memcpy(own, h_u, 20);
		own[19]--;
		memcpy(nxt, h_u, 20);
		nxt[19]++;
		add_nsec3(d, &z_n3, own, nxt, false, t_ns3);
		/* and *.n3.test. denied */
		n3hash("*.n3.test.", own);
		memcpy(nxt, own, 20);
		own[19]--;
		nxt[19]++;
		add_nsec3(d, &z_n3, own, nxt, false, t_ns3);
	}
	can_ds_nsec("www.u.n3.test.", &z_n3, "x.n3.test.", t_a_nsec_rrsig);
	expect(&b, HF_SECURITY_BOGUS, HF_EDE_RRSIGS_MISSING, NULL);
}

/* NSEC3 NXDOMAIN: secure with 0 iterations, insecure + EDE 27 above the
 * limit, and the NODATA for a name with its own NSEC3. */
static void test_nsec3_denial(void)
{
	static const uint16_t apex[] = {HF_TYPE_NS,	HF_TYPE_SOA,	    HF_TYPE_RRSIG,
					HF_TYPE_DNSKEY, HF_TYPE_NSEC3PARAM, 0};
	static const uint16_t t_a[] = {HF_TYPE_A, HF_TYPE_RRSIG, 0};
	uint16_t iters[2] = {0, 100};

	for (int it = 0; it < 2; it++) {
		uint8_t h_apex[20], h_nx[20], h_w[20], own[20], nxt[20];
		struct mb b;
		n3_iter = iters[it];
		canned_reset();
		n3hash("n3.test.", h_apex);
		n3hash("nx.n3.test.", h_nx);
		n3hash("*.n3.test.", h_w);
		mb_init(&b, "nx.n3.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
		add_soa(&b, &z_n3, NULL);
		memcpy(nxt, h_apex, 20);
		nxt[19]++;
		add_nsec3(&b, &z_n3, h_apex, nxt, false, apex); /* closest encloser */
		memcpy(own, h_nx, 20);
		memcpy(nxt, h_nx, 20);
		own[19]--;
		nxt[19]++;
		add_nsec3(&b, &z_n3, own, nxt, false, t_a); /* covers the next closer */
		memcpy(own, h_w, 20);
		memcpy(nxt, h_w, 20);
		own[19]--;
		nxt[19]++;
		add_nsec3(&b, &z_n3, own, nxt, false, t_a); /* covers the wildcard */
		if (it == 0)
			expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);
		else
			expect(&b, HF_SECURITY_INSECURE, HF_EDE_UNSUPPORTED_NSEC3_ITER,
			       "iterations 100 > 50");

		/* NODATA: www.n3.test. has only A */
		if (it == 0) {
			uint8_t h[20];
			n3hash("www.n3.test.", h);
			mb_init(&b, "www.n3.test.", HF_TYPE_TXT, 0);
			add_soa(&b, &z_n3, NULL);
			memcpy(nxt, h, 20);
			nxt[19]++;
			add_nsec3(&b, &z_n3, h, nxt, false, t_a);
			expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);
			mb_init(&b, "www.n3.test.", HF_TYPE_A, 0);
			add_soa(&b, &z_n3, NULL);
			add_nsec3(&b, &z_n3, h, nxt, false, t_a);
			expect(&b, HF_SECURITY_BOGUS, HF_EDE_DNSSEC_BOGUS, NULL);
		}
	}
	n3_iter = 0;
}

static void test_cname_chain_and_nta(void)
{
	struct mb b;
	uint8_t t[64];
	size_t tl = wname("www.sec.test.", t);

	canned_reset();
	mb_init(&b, "alias.test.", HF_TYPE_A, 0);
	add_signed1(&b, 0, &z_test, "alias.test.", HF_TYPE_CNAME, 600, t, tl, NULL);
	add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, NULL);
	expect(&b, HF_SECURITY_SECURE, HF_EDE_NONE, NULL);

	/* the target's signature broken: the whole answer is bogus */
	{
		struct sopt bad = {.corrupt = true};
		mb_init(&b, "alias.test.", HF_TYPE_A, 0);
		add_signed1(&b, 0, &z_test, "alias.test.", HF_TYPE_CNAME, 600, t, tl, NULL);
		add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, &bad);
		expect(&b, HF_SECURITY_BOGUS, HF_EDE_DNSSEC_BOGUS, "www.sec.test. A");
		/* an NTA on sec.test.: insecure, no EDE */
		nta_name = "sec.test.";
		expect(&b, HF_SECURITY_INSECURE, HF_EDE_NONE, NULL);
		mb_init(&b, "www.sec.test.", HF_TYPE_A, 0);
		add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, &bad);
		expect(&b, HF_SECURITY_INSECURE, HF_EDE_NONE, NULL);
		nta_name = NULL;
	}
	/* no anchor above: insecure without asking anything */
	mb_init(&b, "www.example.", HF_TYPE_A, 0);
	mb_rr(&b, 0, "www.example.", HF_TYPE_A, 600, a_rd, 4);
	expect(&b, HF_SECURITY_INSECURE, HF_EDE_NONE, NULL);
	CHECK_EQ(rounds, 0);
	/* upstream SERVFAIL for the query itself */
	mb_init(&b, "www.test.", HF_TYPE_A, HF_RCODE_SERVFAIL);
	expect(&b, HF_SECURITY_INDETERMINATE, HF_EDE_NONE, NULL);
}

/* ==== RFC 8198: answers synthesized from kept NSEC records ==== */

static int synth(struct hf_val *v, const char *name, uint16_t qtype, uint64_t now, uint8_t *out,
		 size_t size)
{
	uint8_t w[256];
	size_t l = wname(name, w);
	return hf_val_synth(v, w, l, qtype, now, out, size);
}

/* The authority section of b (after its question) */
static size_t mb_auth_off(const struct mb *b)
{
	size_t off = 12;
	while (b->buf[off] != 0)
		off += 1u + b->buf[off];
	return off + 5;
}

/* Validate a secure NODATA for name AAAA (an NSEC name -> next): kept. */
static void drive_nodata(struct hf_val *v, struct mb *b, const char *name, const char *next)
{
	struct hf_val_result res;

	mb_init(b, name, HF_TYPE_AAAA, 0);
	add_soa(b, &z_test, NULL);
	add_nsec(b, &z_test, name, next, t_a_nsec_rrsig, NULL);
	CHECK_EQ(drive(v, b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
}

/* A fresh validator (vconf) that kept www.test.'s NSEC from a NODATA. */
static struct hf_val *val_www_nodata(struct mb *b)
{
	struct hf_val *v;

	canned_reset();
	v = new_val();
	drive_nodata(v, b, "www.test.", "x.test.");
	return v;
}

/* A secure NXDOMAIN for nx.test.: the SOA, mm.test. -> www.test. and
 * test. -> a.test. */
static void mb_nx_two_nsecs(struct mb *b)
{
	static const uint16_t apex[] = {HF_TYPE_NS,   HF_TYPE_SOA,    HF_TYPE_RRSIG,
					HF_TYPE_NSEC, HF_TYPE_DNSKEY, 0};

	mb_init(b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(b, &z_test, NULL);
	add_nsec(b, &z_test, "mm.test.", "www.test.", t_a_nsec_rrsig, NULL);
	add_nsec(b, &z_test, "test.", "a.test.", apex, NULL);
}

static void test_aggr_nsec(void)
{
	static const uint16_t deleg[] = {HF_TYPE_NS, HF_TYPE_RRSIG, HF_TYPE_NSEC, 0};
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st;
	struct hf_dns_msg m;
	struct mb b, nod;
	uint8_t out[4096];
	size_t ao;
	int n;

	canned_reset();
	v = new_val();
	/* nothing kept yet */
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	/* a secure NXDOMAIN: mm.test. -> www.test. and test. -> a.test. kept */
	mb_nx_two_nsecs(&b);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 2);

	/* another name in the same range: NXDOMAIN, the same SOA and NSECs
	 * (byte for byte, TTL 300 = min(NSEC, RRSIG original, SOA, MINIMUM)) */
	n = synth(v, "NY.test.", HF_TYPE_A, NOW, out, sizeof(out));
	CHECK(n > 0);
	ao = mb_auth_off(&b);
	CHECK_EQ((size_t)n, b.len);
	CHECK_EQ(out[3] & 0xf, HF_RCODE_NXDOMAIN);
	CHECK_EQ(hf_get16(out + 4), 1);
	CHECK_EQ(hf_get16(out + 6), 0);
	CHECK_EQ(hf_get16(out + 8), 6);
	CHECK_EQ(hf_get16(out + 10), 0);
	CHECK_MEM(out + 12, "\x02ny\x04test\x00\x00\x01\x00\x01", 13);
	if (n > 0 && (size_t)n == b.len)
		CHECK_MEM(out + ao, b.buf + ao, b.len - ao);
	/* 100 s later every TTL is 200 */
	n = synth(v, "ny.test.", HF_TYPE_AAAA, NOW + 100, out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	CHECK_EQ(m.nrr, 6);
	for (unsigned i = 0; n > 0 && i < m.nrr; i++)
		CHECK_EQ(m.rr[i].ttl, 200);
	/* names the NSECs do not cover: nothing */
	CHECK_EQ(synth(v, "zz.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	CHECK_EQ(synth(v, "b.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	/* the NSEC at mm.test. matches: mm.test. exists; A is there, TXT not */
	CHECK_EQ(synth(v, "mm.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	n = synth(v, "mm.test.", HF_TYPE_TXT, NOW, out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	CHECK_EQ(m.rcode, HF_RCODE_NOERROR);
	CHECK_EQ(m.nrr, 4); /* SOA, RRSIG, NSEC, RRSIG */
	/* DS, ANY, NSEC questions are never synthesized */
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_DS, NOW, out, sizeof(out)), 0);
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_ANY, NOW, out, sizeof(out)), 0);
	/* an NTA over the zone: nothing */
	nta_name = "test.";
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	nta_name = NULL;
	/* too small a buffer */
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_A, NOW, out, 40), HF_ESPACE);
	/* expired at NOW + 300: dropped when met */
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_A, NOW + 300, out, sizeof(out)), 0);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 1);
	CHECK_EQ(st.aggr_nxdomain, 2);
	CHECK_EQ(st.aggr_nodata, 1);

	/* NODATA www.test. AAAA kept: www.test. TXT is NODATA too */
	drive_nodata(v, &nod, "www.test.", "x.test.");
	n = synth(v, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out));
	CHECK_EQ((size_t)n, nod.len);
	CHECK_EQ(out[3] & 0xf, HF_RCODE_NOERROR);
	ao = mb_auth_off(&nod);
	if ((size_t)n == nod.len)
		CHECK_MEM(out + ao, nod.buf + ao, nod.len - ao);
	CHECK_EQ(synth(v, "www.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	/* wx.test.: covered by this NSEC, the wildcard by test.'s (kept from
	 * the first answer): NXDOMAIN from two answers' records */
	n = synth(v, "wx.test.", HF_TYPE_A, NOW, out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	CHECK_EQ(m.rcode, HF_RCODE_NXDOMAIN);
	CHECK_EQ(m.nrr, 6);
	/* once both have expired: nothing */
	CHECK_EQ(synth(v, "wx.test.", HF_TYPE_A, NOW + 300, out, sizeof(out)), 0);

	/* a delegation's NSEC (NS, no SOA) proves nothing below it */
	mb_init(&b, "sub.test.", HF_TYPE_DS, 0);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "sub.test.", "t.test.", deleg, NULL);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	CHECK_EQ(synth(v, "a.sub.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	CHECK_EQ(synth(v, "sub.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);

	/* a flush below test. (an NTA change) drops them */
	hf_val_flush_name(v, (const uint8_t *)"\x04test", 6);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 0);
	CHECK_EQ(synth(v, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out)), 0);
	hf_val_destroy(v);
}

/* NSEC3 (n3.test.): a chain of two records, the apex and www, each
 * covering up to the other. Without opt-out any other name is NXDOMAIN
 * from them; with opt-out only NODATA at a matching record. */
static void n3_chain(struct mb *b, const char *qname, uint16_t qtype, uint8_t rcode, bool optout)
{
	static const uint16_t apex[] = {HF_TYPE_NS,	HF_TYPE_SOA,	    HF_TYPE_RRSIG,
					HF_TYPE_DNSKEY, HF_TYPE_NSEC3PARAM, 0};
	static const uint16_t t_a[] = {HF_TYPE_A, HF_TYPE_RRSIG, 0};
	uint8_t ha[20], hw[20];

	n3hash("n3.test.", ha);
	n3hash("www.n3.test.", hw);
	mb_init(b, qname, qtype, rcode);
	add_soa(b, &z_n3, NULL);
	add_nsec3(b, &z_n3, ha, hw, optout, apex);
	add_nsec3(b, &z_n3, hw, ha, optout, t_a);
}

/* A fresh validator that validated the chain for (qname, qtype, rcode):
 * the verdict and the records kept as expected. */
static struct hf_val *n3_kept(struct mb *b, const char *qname, uint16_t qtype, uint8_t rcode,
			      bool optout, uint8_t verdict, uint64_t kept)
{
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st;

	canned_reset();
	v = new_val();
	n3_chain(b, qname, qtype, rcode, optout);
	CHECK_EQ(drive(v, b, NOW, &res), 0);
	CHECK_EQ(res.verdict, verdict);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, kept);
	return v;
}

/* ==== RFC 8198 on the cores: the records the validator hands out, in a
 * worker's store (validator/hf_aggr.h) ==== */

#define KEPT_MAX 8
static struct {
	uint8_t rec[8192];
	size_t len;
	bool is3;
} kept[KEPT_MAX];
static unsigned nkept;

static void keep_hook(void *arg, const uint8_t *zone, size_t zlen, const uint8_t *rec, size_t len,
		      bool is3)
{
	(void)arg;
	CHECK(hf_dns_name_equal(zone, zlen, (const uint8_t *)"\x04test", 6) ||
	      hf_dns_name_equal(zone, zlen, (const uint8_t *)"\x02n3\x04test", 9));
	if (nkept < KEPT_MAX && len <= sizeof(kept[0].rec)) {
		memcpy(kept[nkept].rec, rec, len);
		kept[nkept].len = len;
		kept[nkept].is3 = is3;
		nkept++;
	}
}

static int core_synth(struct hf_aggr *a, const char *name, uint16_t qtype, uint64_t now,
		      uint8_t *out, size_t size)
{
	uint8_t w[256];
	size_t l = wname(name, w);
	return hf_aggr_synth(a, w, l, qtype, now, out, size);
}

/* The core's answer and control's are the same bytes (or both nothing). */
static void same_synth(struct hf_val *v, struct hf_aggr *a, const char *name, uint16_t qtype,
		       uint64_t now, uint64_t shift)
{
	uint8_t o1[4096], o2[4096];
	int n1 = synth(v, name, qtype, now, o1, sizeof(o1));
	int n2 = core_synth(a, name, qtype, now + shift, o2, sizeof(o2));

	CHECK_EQ(n2, n1);
	if (n1 > 0 && n1 == n2)
		CHECK_MEM(o2, o1, (size_t)n1);
}

static void test_aggr_core(void)
{
	struct hf_aggr_stats st;
	struct hf_val_result res;
	struct val_aggr_rec h;
	struct hf_aggr *a;
	struct hf_val *v;
	struct mb b, nod;
	uint8_t out[4096], big[sizeof(struct val_aggr_rec) + 1000];

	canned_reset();
	v = new_val();
	nkept = 0;
	hf_val_set_keep_hook(v, keep_hook, NULL);
	/* the NXDOMAIN of test_aggr_nsec: its two NSECs handed out */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "mm.test.", "www.test.", t_a_nsec_rrsig, NULL);
	add_nsec(&b, &z_test, "test.", "a.test.",
		 (const uint16_t[]){HF_TYPE_NS, HF_TYPE_SOA, HF_TYPE_RRSIG, HF_TYPE_NSEC,
				    HF_TYPE_DNSKEY, 0},
		 NULL);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	CHECK_EQ(nkept, 2);
	CHECK(!kept[0].is3 && !kept[1].is3);

	a = hf_aggr_create(2);
	CHECK(a != NULL);
	if (a == NULL || nkept < 2)
		return;
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0); /* empty */
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(hf_aggr_put(a, kept[i].rec, kept[i].len, 0), 0);
	hf_aggr_get_stats(a, &st);
	CHECK_EQ(st.records, 2);
	/* the same bytes as control: NXDOMAIN (both NSECs), NODATA at the
	 * matching one, later TTLs, and nothing where control has nothing */
	same_synth(v, a, "NY.test.", HF_TYPE_A, NOW, 0);
	same_synth(v, a, "ny.test.", HF_TYPE_AAAA, NOW + 100, 0);
	same_synth(v, a, "mm.test.", HF_TYPE_TXT, NOW, 0);
	same_synth(v, a, "mm.test.", HF_TYPE_A, NOW, 0);
	same_synth(v, a, "zz.test.", HF_TYPE_A, NOW, 0);
	same_synth(v, a, "b.test.", HF_TYPE_A, NOW, 0);
	CHECK(core_synth(a, "ny.test.", HF_TYPE_A, NOW, out, sizeof(out)) > 0);
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_DS, NOW, out, sizeof(out)), 0);
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_ANY, NOW, out, sizeof(out)), 0);
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_NSEC, NOW, out, sizeof(out)), 0);
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_A, NOW, out, 40), HF_ESPACE);
	hf_aggr_get_stats(a, &st);
	CHECK_EQ(st.nxdomain, 3); /* the one too large for out is not counted */
	CHECK_EQ(st.nodata, 1);

	/* another clock: times moved by the shift, the same bytes */
	hf_aggr_flush_below(a, NULL, 0);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(hf_aggr_put(a, kept[i].rec, kept[i].len, 5000), 0);
	same_synth(v, a, "ny.test.", HF_TYPE_A, NOW + 10, 5000);

	/* expiry: at NOW + 300 (the TTL) both go when met */
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_A, NOW + 5300, out, sizeof(out)), 0);
	hf_aggr_get_stats(a, &st);
	CHECK_EQ(st.records, 1); /* the floor of ny.test. (mm.test.) met and dropped */

	/* the zone's keys expire first: the records go with them */
	hf_aggr_flush_below(a, NULL, 0);
	for (unsigned i = 0; i < 2; i++) {
		memcpy(&h, kept[i].rec, sizeof(h));
		CHECK(h.keys_expires > NOW);
		h.keys_expires = NOW + 50;
		memcpy(kept[i].rec, &h, sizeof(h));
		CHECK_EQ(hf_aggr_put(a, kept[i].rec, kept[i].len, 0), 0);
	}
	CHECK(core_synth(a, "ny.test.", HF_TYPE_A, NOW + 49, out, sizeof(out)) > 0);
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_A, NOW + 50, out, sizeof(out)), 0);

	/* LRU: two slots; the third record takes the least recently used */
	hf_aggr_flush_below(a, NULL, 0);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(hf_aggr_put(a, kept[i].rec, kept[i].len, 0), 0);
	drive_nodata(v, &nod, "www.test.", "x.test.");
	CHECK_EQ(nkept, 3);
	CHECK(core_synth(a, "mm.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0); /* mm used */
	CHECK_EQ(hf_aggr_put(a, kept[2].rec, kept[2].len, 0), 0);		  /* test. goes */
	hf_aggr_get_stats(a, &st);
	CHECK_EQ(st.records, 2);
	CHECK_EQ(st.evictions, 1);
	CHECK(core_synth(a, "mm.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0);
	CHECK(core_synth(a, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0);
	/* NXDOMAIN for ny.test. needs test.'s NSEC (the wildcard): gone */
	CHECK_EQ(core_synth(a, "ny.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	/* the same key again replaces it (no eviction) */
	CHECK_EQ(hf_aggr_put(a, kept[2].rec, kept[2].len, 0), 0);
	hf_aggr_get_stats(a, &st);
	CHECK_EQ(st.records, 2);
	CHECK_EQ(st.evictions, 1);

	/* an NTA below the zone drops every record of the zone */
	hf_aggr_flush_nta(a, (const uint8_t *)"\x03sub\x04test", 10);
	hf_aggr_get_stats(a, &st);
	CHECK_EQ(st.records, 0);

	/* larger than a slot, malformed, or an NSEC3: not copied */
	memcpy(&h, kept[0].rec, sizeof(h));
	h.data_len = 1000;
	memset(big, 0, sizeof(big));
	memcpy(big, &h, sizeof(h));
	CHECK_EQ(hf_aggr_put(a, big, sizeof(h) + h.data_len, 0), HF_ESPACE);
	CHECK(!hf_aggr_fits(sizeof(h) + h.data_len) && hf_aggr_fits(kept[0].len));
	CHECK_EQ(hf_aggr_put(a, kept[0].rec, kept[0].len - 1, 0), HF_EINVAL);
	memcpy(&h, kept[0].rec, sizeof(h));
	h.is3 = 1;
	memcpy(big, kept[0].rec, kept[0].len);
	memcpy(big, &h, sizeof(h));
	CHECK_EQ(hf_aggr_put(a, big, kept[0].len, 0), HF_EINVAL);
	hf_aggr_destroy(a);

	/* NSEC3 records are handed out too, marked (the cores refuse them) */
	hf_val_destroy(v);
	canned_reset();
	v = new_val();
	nkept = 0;
	hf_val_set_keep_hook(v, keep_hook, NULL);
	n3_chain(&b, "nx.n3.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN, false);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(nkept, 2);
	CHECK(nkept == 2 && kept[0].is3 && kept[1].is3);
	hf_val_destroy(v);
}

/* The same NXDOMAIN again 200 s later: its NSECs, byte for byte the ones
 * kept, are refreshed in place (aggr_store.c): no more entries, none
 * evicted, and they now live to NOW + 500 (TTL 300 from the second answer). */
static void test_aggr_refresh(void)
{
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st;
	struct hf_dns_msg m;
	struct mb b;
	uint8_t out[4096];
	int n;

	canned_reset();
	v = new_val();
	mb_nx_two_nsecs(&b);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	CHECK_EQ(drive(v, &b, NOW + 200, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 2);
	CHECK_EQ(st.aggr_evictions, 0);
	/* past the first answer's NOW + 300: still there, 100 s left */
	n = synth(v, "ny.test.", HF_TYPE_A, NOW + 400, out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	CHECK_EQ(m.nrr, 6);
	for (unsigned i = 0; n > 0 && i < m.nrr; i++)
		CHECK_EQ(m.rr[i].ttl, 100);
	CHECK_EQ(synth(v, "ny.test.", HF_TYPE_A, NOW + 500, out, sizeof(out)), 0);
	hf_val_destroy(v);
}

static void test_aggr_nsec3(void)
{
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st;
	struct hf_dns_msg m;
	uint8_t out[4096];
	struct mb b;
	int n;

	v = n3_kept(&b, "nx.n3.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN, false, HF_SECURITY_SECURE, 2);
	/* any other name: NXDOMAIN from the two (the apex matches the closest
	 * encloser; the next closer name and the wildcard are covered) */
	for (int i = 0; i < 8; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "r%d.n3.test.", i);
		n = synth(v, nm, HF_TYPE_A, NOW + 10, out, sizeof(out));
		CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
		CHECK_EQ(m.rcode, HF_RCODE_NXDOMAIN);
		CHECK(m.nrr == 4 || m.nrr == 6); /* SOA and one or two NSEC3s, signed */
		for (unsigned k = 0; n > 0 && k < m.nrr; k++)
			CHECK_EQ(m.rr[k].ttl, 290);
	}
	/* a deeper name: its closest encloser is the apex too */
	CHECK(synth(v, "a.b.n3.test.", HF_TYPE_A, NOW, out, sizeof(out)) > 0);
	/* www.n3.test. exists with A: TXT is NODATA (one NSEC3), A nothing */
	n = synth(v, "www.n3.test.", HF_TYPE_TXT, NOW, out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	CHECK_EQ(m.rcode, HF_RCODE_NOERROR);
	CHECK_EQ(m.nrr, 4);
	CHECK_EQ(synth(v, "www.n3.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	/* below www.n3.test. (it exists: the closest encloser is www, whose
	 * wildcard and next closer are covered) */
	CHECK(synth(v, "x.www.n3.test.", HF_TYPE_A, NOW, out, sizeof(out)) > 0);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_nxdomain, 10);
	CHECK_EQ(st.aggr_nodata, 1);
	hf_val_destroy(v);

	/* opt-out: the NXDOMAIN itself is insecure (nothing kept); a NODATA
	 * keeps the records, which then prove NODATA at a match only */
	v = n3_kept(&b, "nx.n3.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN, true, HF_SECURITY_INSECURE, 0);
	n3_chain(&b, "www.n3.test.", HF_TYPE_TXT, 0, true);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 2);
	CHECK_EQ(synth(v, "r0.n3.test.", HF_TYPE_A, NOW, out, sizeof(out)), 0);
	CHECK(synth(v, "www.n3.test.", HF_TYPE_AAAA, NOW, out, sizeof(out)) > 0);
	hf_val_destroy(v);

	/* iterations above the limit: insecure, nothing kept */
	n3_iter = 100;
	hf_val_destroy(n3_kept(&b, "nx.n3.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN, false,
			       HF_SECURITY_INSECURE, 0));
	n3_iter = 0;
}

/* Only secure proofs are kept; the zone's keys must still be cached; the
 * LRU bound holds. */
static void test_aggr_kept_only_secure(void)
{
	struct hf_val_conf save = vconf;
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st;
	struct sopt bad = {.corrupt = true};
	uint8_t out[4096];
	struct hf_dns_msg m;
	struct mb b;
	int n;
	char nm[32], nx[32];

	canned_reset();
	v = new_val();
	/* bogus: the NSEC's signature broken */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "mm.test.", "www.test.", t_a_nsec_rrsig, &bad);
	add_nsec(&b, &z_test, "test.", "a.test.", t_a_nsec_rrsig, NULL);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_BOGUS);
	/* bogus: the wildcard not denied (the NSECs verify, the proof fails) */
	mb_init(&b, "nx.test.", HF_TYPE_A, HF_RCODE_NXDOMAIN);
	add_soa(&b, &z_test, NULL);
	add_nsec(&b, &z_test, "mm.test.", "www.test.", t_a_nsec_rrsig, NULL);
	CHECK_EQ(drive(v, &b, NOW, &res), 0);
	CHECK_EQ(res.verdict, HF_SECURITY_BOGUS);
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 0);
	/* secure, then the zone's keys gone from the key cache: nothing */
	drive_nodata(v, &b, "www.test.", "x.test.");
	CHECK(synth(v, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0);
	val_cache_flush(&v->cache);
	CHECK_EQ(synth(v, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out)), 0);
	hf_val_destroy(v);

	/* at most aggr_entries kept, least recently used out first */
	vconf.aggr_entries = 2;
	canned_reset();
	v = new_val();
	for (int i = 0; i < 3; i++) {
		snprintf(nm, sizeof(nm), "n%d.test.", i);
		snprintf(nx, sizeof(nx), "n%da.test.", i);
		drive_nodata(v, &b, nm, nx);
		if (i == 1) /* n0 used: n1 is the LRU one now */
			CHECK(synth(v, "n0.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0);
	}
	hf_val_get_stats(v, &st);
	CHECK_EQ(st.aggr_entries, 2);
	CHECK_EQ(st.aggr_evictions, 1);
	CHECK(synth(v, "n0.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0);
	CHECK_EQ(synth(v, "n1.test.", HF_TYPE_TXT, NOW, out, sizeof(out)), 0);
	CHECK(synth(v, "n2.test.", HF_TYPE_TXT, NOW, out, sizeof(out)) > 0);
	hf_val_destroy(v);
	/* kept at most aggr_ttl_max (the NSEC's TTL is 300) */
	vconf.aggr_entries = 16;
	vconf.aggr_ttl_max = 50;
	v = val_www_nodata(&b);
	n = synth(v, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out));
	CHECK(n > 0 && hf_dns_msg_parse(out, (size_t)n, &m) == 0);
	for (unsigned k = 0; n > 0 && k < m.nrr; k++)
		CHECK_EQ(m.rr[k].ttl, 50);
	CHECK_EQ(synth(v, "www.test.", HF_TYPE_TXT, NOW + 50, out, sizeof(out)), 0);
	hf_val_destroy(v);
	vconf.aggr_ttl_max = 86400;
	/* 0: nothing kept */
	vconf.aggr_entries = 0;
	v = val_www_nodata(&b);
	CHECK_EQ(synth(v, "www.test.", HF_TYPE_TXT, NOW, out, sizeof(out)), 0);
	hf_val_destroy(v);
	vconf = save;
}

/* A tiny cache still answers right, evicting as it goes. */
static void test_small_cache(void)
{
	struct hf_val_conf save = vconf;
	struct hf_val *v;
	struct hf_val_result res;
	struct hf_val_stats st;
	struct mb b;

	vconf.cache_entries = 8;
	canned_reset();
	v = new_val();
	for (int i = 0; i < 12; i++) {
		static const uint16_t t_a[] = {HF_TYPE_A, HF_TYPE_RRSIG, HF_TYPE_NSEC, 0};
		char name[64];
		snprintf(name, sizeof(name), "n%d.test.", i);
		ncanned = 7;
		can_ds_nsec(name, &z_test, "zz.test.", t_a);
		mb_init(&b, name, HF_TYPE_A, 0);
		add_signed1(&b, 0, &z_test, name, HF_TYPE_A, 600, a_rd, 4,
			    &(struct sopt){.nosig = true});
		CHECK_EQ(drive(v, &b, NOW, &res), 0);
		CHECK_EQ(res.verdict, HF_SECURITY_BOGUS);
		CHECK_EQ(res.ede, HF_EDE_RRSIGS_MISSING);
		mb_init(&b, "www.sec.test.", HF_TYPE_A, 0);
		add_signed1(&b, 0, &z_sec, "www.sec.test.", HF_TYPE_A, 600, a_rd, 4, NULL);
		CHECK_EQ(drive(v, &b, NOW, &res), 0);
		CHECK_EQ(res.verdict, HF_SECURITY_SECURE);
	}
	hf_val_get_stats(v, &st);
	CHECK(st.cache_evictions > 0);
	/* entries expire: a day later everything is fetched again */
	CHECK_EQ(drive(v, &b, NOW + 2 * 86400, &res), 0);
	CHECK(rounds > 0);
	hf_val_flush(v);
	hf_val_destroy(v);
	vconf = save;
}

static void test_add_keys_misuse(void)
{
	struct hf_val *v;
	struct mb b;

	canned_reset();
	v = new_val();
	/* DS for a name with no secure parent in the cache yet */
	CHECK_EQ(hf_val_add_keys(v, mb_parse(&canned[1].b, &pm), NOW), HF_ENOENT);
	mb_init(&b, "www.test.", HF_TYPE_A, 0);
	CHECK_EQ(hf_val_add_keys(v, mb_parse(&b, &pm), NOW), HF_EINVAL);
	hf_val_destroy(v);
}

/* ---- the key cache alone ---- */

static size_t kc_name(unsigned i, uint8_t *w)
{
	char s[64];
	size_t l = 0;

	snprintf(s, sizeof(s), "k%u.Zone.TEST.", i);
	CHECK_EQ(hf_dns_name_from_str(s, w, &l), 0);
	return l;
}

static struct val_entry *kc_get(struct val_cache *c, unsigned i, uint8_t kind, uint64_t now)
{
	uint8_t w[HF_DNS_NAME_MAX];
	size_t l = kc_name(i, w);

	return val_cache_get(c, w, l, kind, now);
}

static struct val_entry *kc_put(struct val_cache *c, unsigned i, uint8_t kind, uint64_t expires)
{
	uint8_t w[HF_DNS_NAME_MAX];
	size_t l = kc_name(i, w);
	struct val_entry *e = val_cache_put(c, w, l, kind);

	CHECK(e != NULL);
	CHECK_EQ(e->kind, kind);
	CHECK_EQ(e->name_len, l);
	hf_dns_name_lower(w, l);
	CHECK_MEM(e->name, w, l);
	e->state = VAL_ST_SECURE;
	e->expires = expires;
	e->ede = (uint16_t)i; /* which name, for the checks */
	return e;
}

/* Hit, miss (other name, other kind, expired), case-insensitive names. */
static void test_keycache_hit_miss(void)
{
	struct val_cache c;
	struct val_entry *e, *d;
	uint8_t w[HF_DNS_NAME_MAX];
	size_t l;

	CHECK_EQ(val_cache_init(&c, 16), 0);
	e = kc_put(&c, 1, VAL_KIND_KEY, NOW + 10);
	d = kc_put(&c, 1, VAL_KIND_DS, NOW + 10);
	CHECK(e != d);
	CHECK(kc_get(&c, 1, VAL_KIND_KEY, NOW) == e);
	CHECK(kc_get(&c, 1, VAL_KIND_DS, NOW) == d);
	l = kc_name(1, w);
	hf_dns_name_lower(w, l);
	CHECK(val_cache_get(&c, w, l, VAL_KIND_KEY, NOW) == e);
	CHECK(kc_get(&c, 2, VAL_KIND_KEY, NOW) == NULL);
	/* "k1.zone.test." with one byte less: a prefix is another name */
	CHECK(val_cache_get(&c, w, l - 1, VAL_KIND_KEY, NOW) == NULL);
	CHECK_EQ(c.hits, 3);
	CHECK_EQ(c.misses, 2);
	CHECK_EQ(c.count, 2);
	/* expired: a miss, and the entry is gone */
	CHECK(kc_get(&c, 1, VAL_KIND_KEY, NOW + 10) == NULL);
	CHECK_EQ(c.count, 1);
	CHECK(kc_get(&c, 1, VAL_KIND_KEY, NOW) == NULL);
	CHECK(kc_get(&c, 1, VAL_KIND_DS, NOW) == d);
	CHECK_EQ(c.hits, 4);
	CHECK_EQ(c.misses, 4);
	CHECK_EQ(c.evictions, 0);
	val_cache_free(&c);
}

/* Replacing an entry: a blank one for the same (name, kind), nothing evicted. */
static void test_keycache_replace(void)
{
	struct val_cache c;
	struct val_entry *e;

	CHECK_EQ(val_cache_init(&c, 8), 0);
	for (unsigned i = 0; i < 8; i++)
		kc_put(&c, i, VAL_KIND_KEY, NOW + 10);
	e = kc_get(&c, 3, VAL_KIND_KEY, NOW);
	CHECK(e != NULL);
	e->state = VAL_ST_BOGUS;
	e = val_cache_put(&c, e->name, e->name_len, VAL_KIND_KEY);
	CHECK_EQ(e->state, 0);
	CHECK_EQ(e->n, 0);
	CHECK_EQ(e->ede, HF_EDE_NONE);
	e->state = VAL_ST_INSECURE;
	e->expires = NOW + 10;
	CHECK_EQ(c.count, 8);
	CHECK_EQ(c.evictions, 0);
	CHECK(kc_get(&c, 3, VAL_KIND_KEY, NOW) == e);
	CHECK_EQ(e->state, VAL_ST_INSECURE);
	for (unsigned i = 0; i < 8; i++)
		CHECK(kc_get(&c, i, VAL_KIND_KEY, NOW) != NULL);
	val_cache_free(&c);
}

/*
 * Full to capacity, then one more: the least recently used entry goes
 * (a look-up counts as use), and only it; a look-up of it misses after.
 * At sizes that are and are not powers of two, the control default
 * (4096) among them: every insert up to cap is taken.
 */
static void test_keycache_eviction_order(void)
{
	static const uint32_t caps[] = {8, 9, 100, 1000, 4096};

	for (unsigned ci = 0; ci < HF_ARRAY_LEN(caps); ci++) {
		uint32_t cap = caps[ci];
		struct val_cache c;

		CHECK_EQ(val_cache_init(&c, cap), 0);
		for (unsigned i = 0; i < cap; i++)
			kc_put(&c, i, VAL_KIND_KEY, NOW + 10);
		CHECK_EQ(c.count, cap);
		CHECK_EQ(c.evictions, 0);
		for (unsigned i = 0; i < cap; i++)
			CHECK(kc_get(&c, i, VAL_KIND_KEY, NOW) != NULL);
		/* use 0 again: 1 is now the least recently used */
		CHECK(kc_get(&c, 0, VAL_KIND_KEY, NOW) != NULL);
		kc_put(&c, cap, VAL_KIND_KEY, NOW + 10);
		CHECK_EQ(c.count, cap);
		CHECK_EQ(c.evictions, 1);
		CHECK(kc_get(&c, 1, VAL_KIND_KEY, NOW) == NULL);
		CHECK(kc_get(&c, 0, VAL_KIND_KEY, NOW) != NULL);
		CHECK(kc_get(&c, cap, VAL_KIND_KEY, NOW) != NULL);
		/* then 2, 3, ... in insertion order (a look-up of one that is
		 * gone, a miss, does not change the order) */
		for (unsigned i = 2; i < 6; i++) {
			kc_put(&c, cap + i, VAL_KIND_KEY, NOW + 10);
			CHECK(kc_get(&c, i, VAL_KIND_KEY, NOW) == NULL);
		}
		CHECK_EQ(c.evictions, 5);
		for (unsigned i = 6; i < cap; i++)
			CHECK(kc_get(&c, i, VAL_KIND_KEY, NOW) != NULL);
		/* churn through three times the capacity: the last cap names are in */
		for (unsigned i = 0; i < 3 * cap; i++)
			kc_put(&c, 10 * cap + i, VAL_KIND_DS, NOW + 10);
		CHECK_EQ(c.count, cap);
		for (unsigned i = 0; i < 3 * cap; i++) {
			struct val_entry *e = kc_get(&c, 10 * cap + i, VAL_KIND_DS, NOW);
			CHECK((e != NULL) == (i >= 2 * cap));
			if (e)
				CHECK_EQ(e->ede, (uint16_t)(10 * cap + i));
		}
		for (unsigned i = 0; i <= cap; i++)
			CHECK(kc_get(&c, i, VAL_KIND_KEY, NOW) == NULL);
		val_cache_free(&c);
	}
}

/* Flushes: everything, or one name and what is below it. */
static void test_keycache_flush(void)
{
	struct val_cache c;
	uint8_t w[HF_DNS_NAME_MAX];
	size_t l = 0;

	CHECK_EQ(val_cache_init(&c, 8), 0);
	for (unsigned i = 0; i < 4; i++)
		kc_put(&c, i, VAL_KIND_KEY, NOW + 10);
	CHECK_EQ(hf_dns_name_from_str("k2.zone.test.", w, &l), 0);
	val_cache_flush_below(&c, w, l);
	CHECK_EQ(c.count, 3);
	CHECK(kc_get(&c, 2, VAL_KIND_KEY, NOW) == NULL);
	CHECK(kc_get(&c, 3, VAL_KIND_KEY, NOW) != NULL);
	CHECK_EQ(hf_dns_name_from_str("zone.test.", w, &l), 0);
	val_cache_flush_below(&c, w, l);
	CHECK_EQ(c.count, 0);
	for (unsigned i = 0; i < 8; i++)
		kc_put(&c, i, VAL_KIND_KEY, NOW + 10);
	val_cache_flush(&c);
	CHECK_EQ(c.count, 0);
	for (unsigned i = 0; i < 8; i++)
		CHECK(kc_get(&c, i, VAL_KIND_KEY, NOW) == NULL);
	for (unsigned i = 0; i < 8; i++)
		kc_put(&c, i + 8, VAL_KIND_KEY, NOW + 10);
	CHECK_EQ(c.evictions, 0);
	val_cache_free(&c);
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_rfc_signatures),
		TEST_CASE(test_rfc8080_as_printed),
		TEST_CASE(test_rfc_ds_and_key_tags),
		TEST_CASE(test_rfc5155_hashes),
		TEST_CASE(test_canonical_order),
		TEST_CASE(test_canonical_form),
		TEST_CASE(test_anchor_parse),
		TEST_CASE(test_secure_algs),
		TEST_CASE(test_ttl_cap_and_warm_cache),
		TEST_CASE(test_bogus_signatures),
		TEST_CASE(test_bogus_keys),
		TEST_CASE(test_rrsigs_missing),
		TEST_CASE(test_nxdomain_nodata_nsec),
		TEST_CASE(test_wildcard),
		TEST_CASE(test_insecure_delegations),
		TEST_CASE(test_nsec3_denial),
		TEST_CASE(test_cname_chain_and_nta),
		TEST_CASE(test_aggr_nsec),
		TEST_CASE(test_aggr_refresh),
		TEST_CASE(test_aggr_kept_only_secure),
		TEST_CASE(test_aggr_nsec3),
		TEST_CASE(test_aggr_core),
		TEST_CASE(test_small_cache),
		TEST_CASE(test_add_keys_misuse),
		TEST_CASE(test_keycache_hit_miss),
		TEST_CASE(test_keycache_replace),
		TEST_CASE(test_keycache_eviction_order),
		TEST_CASE(test_keycache_flush),
	};
	int rc;

	if (hf_test_eal_init(argc > 0 ? argv[0] : "test_validator", "validator") != 0)
		return 1;

	hf_val_conf_default(&vconf);
	tkey_gen(&z_test.key, HF_ALG_ECDSAP256, 257);
	tkey_gen(&z_sec.key, HF_ALG_RSASHA256, 257);
	tkey_gen(&z_ed.key, HF_ALG_ED25519, 257);
	tkey_gen(&z_n3.key, HF_ALG_ECDSAP256, 257);
	tkey_gen(&z_nods.key, HF_ALG_ECDSAP256, 257);
	tkey_gen(&k_other, HF_ALG_ECDSAP256, 257);
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	EVP_PKEY_free(z_test.key.pk);
	EVP_PKEY_free(z_sec.key.pk);
	EVP_PKEY_free(z_ed.key.pk);
	EVP_PKEY_free(z_n3.key.pk);
	EVP_PKEY_free(z_nods.key.pk);
	EVP_PKEY_free(k_other.pk);
	rte_eal_cleanup();
	return rc;
}
