/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * micro_validator: DNSSEC validation of a typical answer with a warm key
 * (docs/dnssec.md has the numbers next to `openssl speed`).
 *
 *   BM_rrsig_verify_rsa2048   www.bench. A (2 RRs) signed with RSA-2048 (alg 8)
 *   BM_rrsig_verify_p256      ... ECDSA P-256 (alg 13)
 *   BM_rrsig_verify_ed25519   ... Ed25519 (alg 15)
 *
 * Each iteration is one whole hf_val_validate() on a parsed response: RRset
 * grouping, key-cache look-up, canonical form, one signature verify. The
 * zone's DNSKEY is the trust anchor and is already in the key cache, so no
 * key is parsed inside the loop. Per algorithm also:
 *   BM_rrsig_nxdomain_*      c1.bench. NXDOMAIN: SOA and the apex NSEC (2
 *                            RRSIGs), as bench/e2e/control_plane.sh's nx8, nx15
 *   BM_rrsig_wildcard_*      c1.bench. A from *.bench. and the NSEC that covers
 *                            c1 (2 RRSIGs), as its wild13
 *   BM_rrsig_verify_only_*   val_verify() alone (the key's context made, the
 *                            signed data ready): the validator's own cost of
 *                            an answer is BM_rrsig_* less that times its RRSIGs
 * and BM_piece_* (below): the parse, signed data and digest on their own.
 *
 * The key cache alone (validator/val_internal.h), full at 4096 entries (the
 * dnssec-key-cache default), over 4096 names like n123.zone.bench.:
 *   BM_keycache_hit           a look-up that finds its entry
 *   BM_keycache_miss          a look-up of a name not in it
 *   BM_keycache_put_evict     an insert of a new name, evicting the LRU tail
 * main() starts a --no-huge EAL first (the key cache is on rte_hash).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/bn.h>

#include "bench/hf_bench.h"
#include "tests/unit/hf_test_eal.h"
#include "validator/hf_validator.h"
#include "validator/val_internal.h"

#define NOW 1700000000u

/* The answers a world validates: www.bench. A (one RRset), and the two of
 * the control-plane workloads (nx_response, wild_response). */
enum { ANS_A, ANS_NX, ANS_WILD, ANS_N };

struct world {
	bool ready;
	struct hf_val *v;
	uint8_t resp[ANS_N][1024];
	size_t resp_len[ANS_N];
	struct hf_dns_msg m[ANS_N];
	/* the A RRset's signed data, for the verify alone */
	uint8_t signed_data[1024];
	int signed_len;
	const uint8_t *sig;
	size_t sig_len;
};

static size_t wn(const char *s, uint8_t *out)
{
	size_t l = 0;
	hf_dns_name_from_str(s, out, &l);
	return l;
}

static size_t put_rr(uint8_t *p, const uint8_t *o, size_t ol, uint16_t t, const uint8_t *rd,
		     size_t rl)
{
	memcpy(p, o, ol);
	hf_put16(p + ol, t);
	hf_put16(p + ol + 2, 1);
	hf_put32(p + ol + 4, 3600);
	hf_put16(p + ol + 8, (uint16_t)rl);
	memcpy(p + ol + 10, rd, rl);
	return ol + 10 + rl;
}

static size_t sign(EVP_PKEY *pk, uint8_t alg, const uint8_t *d, size_t dl, uint8_t *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sl = 600;
	uint8_t der[128];

	if (alg == 13) {
		const unsigned char *p = der;
		const BIGNUM *r, *s;
		ECDSA_SIG *es;
		sl = sizeof(der);
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk);
		EVP_DigestSign(ctx, der, &sl, d, dl);
		es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
		sl = 64;
	} else {
		EVP_DigestSignInit(ctx, NULL, alg == 8 ? EVP_sha256() : NULL, NULL, pk);
		EVP_DigestSign(ctx, sig, &sl, d, dl);
	}
	EVP_MD_CTX_free(ctx);
	return sl;
}

/* The RRset `owner type` (rds sorted, canonical) at out + len, with its
 * RRSIG when labels > 0: the signer is bench., `labels` the RRSIG's labels
 * field (fewer than the owner's: a wildcard expansion, signed as
 * *.<the rightmost labels of owner>). Returns the new length. */
static size_t add_set(EVP_PKEY *pk, uint8_t alg, uint16_t tag, uint8_t *out, size_t len,
		      const char *owner, uint8_t labels, uint16_t type, const uint8_t *const *rds,
		      const size_t *rls, unsigned n)
{
	uint8_t o[64], so[64], sig[1024], data[2048];
	size_t ol = wn(owner, o), sol = ol, sl = 18, dl;
	unsigned skip = 0;

	for (unsigned i = 0; i < n; i++)
		len += put_rr(out + len, o, ol, type, rds[i], rls[i]);
	if (labels == 0)
		return len;
	memcpy(so, o, ol);
	for (size_t i = 0; i < ol && o[i] != 0; i += 1u + o[i])
		skip++;
	if (labels < skip) { /* *.suffix: drop skip - labels labels, add "*" */
		size_t off = 0;
		for (unsigned k = 0; k < skip - labels; k++)
			off += 1u + o[off];
		so[0] = 1;
		so[1] = '*';
		memcpy(so + 2, o + off, ol - off);
		sol = 2 + ol - off;
	}
	hf_put16(sig, type);
	sig[2] = alg;
	sig[3] = labels;
	hf_put32(sig + 4, 3600);
	hf_put32(sig + 8, NOW + 86400);
	hf_put32(sig + 12, NOW - 86400);
	hf_put16(sig + 16, tag);
	sl += wn("bench.", sig + 18);
	memcpy(data, sig, sl);
	dl = sl;
	for (unsigned i = 0; i < n; i++)
		dl += put_rr(data + dl, so, sol, type, rds[i], rls[i]);
	sl += sign(pk, alg, data, dl, sig + sl);
	return len + put_rr(out + len, o, ol, HF_TYPE_RRSIG, sig, sl);
}

/* The header and question of a response: rcode, then the answer and
 * authority counts. */
static size_t head(uint8_t *out, const char *qname, uint16_t qtype, uint8_t rcode, uint16_t an,
		   uint16_t ns)
{
	uint8_t o[64];
	size_t ol = wn(qname, o);

	memset(out, 0, 12);
	hf_put16(out + 2, HF_DNS_QR | HF_DNS_CD | rcode);
	hf_put16(out + 4, 1);
	hf_put16(out + 6, an);
	hf_put16(out + 8, ns);
	memcpy(out + 12, o, ol);
	hf_put16(out + 12 + ol, qtype);
	hf_put16(out + 12 + ol + 2, 1);
	return 12 + ol + 4;
}

/* A response with `owner type` RRset (rds sorted) and its RRSIG. */
static size_t response(EVP_PKEY *pk, uint8_t alg, uint16_t tag, const char *qname, uint16_t type,
		       const uint8_t *const *rds, const size_t *rls, unsigned n, uint8_t *out)
{
	size_t len = head(out, qname, type, 0, (uint16_t)(n + 1), 0);
	uint8_t o[64];
	size_t ol = wn(qname, o);

	return add_set(pk, alg, tag, out, len, qname, (uint8_t)hf_dns_name_labels(o, ol), type, rds,
		       rls, n);
}

/* The two answers of bench/e2e/control_plane.sh's workloads, in zone
 * bench. (bench., *.bench., www.bench.): NXDOMAIN for c1.bench. (the SOA
 * and the apex NSEC, which covers c1 and the wildcard: 2 RRSIGs) and
 * c1.bench. A from the wildcard (the A RRset and the NSEC of *.bench.,
 * which covers c1: 2 RRSIGs). */
static size_t nx_response(EVP_PKEY *pk, uint8_t alg, uint16_t tag, uint8_t *out)
{
	static const uint8_t soa[] = {3, 'n', 's', '1', 5,   'b', 'e', 'n', 'c', 'h', 0,
				      4, 'h', 'o', 's', 't', 5,	  'b', 'e', 'n', 'c', 'h',
				      0, 0,   0,   0,	1,   0,	  0,   14,  16,	 0,   0,
				      7, 8,   0,   18,	117, 0,	  0,   0,   14,	 16};
	/* next www.bench., types NS SOA RRSIG NSEC DNSKEY */
	static const uint8_t nsec[] = {3, 'w', 'w', 'w',  5, 'b', 'e', 'n', 'c',  'h',
				       0, 0,   7,   0x22, 0, 0,	  0,   0,   0x03, 0x80};
	const uint8_t *r1[1] = {soa}, *r2[1] = {nsec};
	size_t l1[1] = {sizeof(soa)}, l2[1] = {sizeof(nsec)};
	size_t len = head(out, "c1.bench.", HF_TYPE_A, HF_RCODE_NXDOMAIN, 0, 4);

	len = add_set(pk, alg, tag, out, len, "bench.", 1, HF_TYPE_SOA, r1, l1, 1);
	return add_set(pk, alg, tag, out, len, "bench.", 1, HF_TYPE_NSEC, r2, l2, 1);
}

static size_t wild_response(EVP_PKEY *pk, uint8_t alg, uint16_t tag, uint8_t *out)
{
	static const uint8_t a[4] = {192, 0, 2, 1};
	/* next www.bench., types A RRSIG NSEC */
	static const uint8_t nsec[] = {3,   'w', 'w', 'w', 5,	 'b', 'e', 'n', 'c',
				       'h', 0,	 0,   6,   0x40, 0,   0,   0,	0x03};
	const uint8_t *r1[1] = {a}, *r2[1] = {nsec};
	size_t l1[1] = {4}, l2[1] = {sizeof(nsec)};
	size_t len = head(out, "c1.bench.", HF_TYPE_A, 0, 2, 2);

	len = add_set(pk, alg, tag, out, len, "c1.bench.", 1, HF_TYPE_A, r1, l1, 1);
	return add_set(pk, alg, tag, out, len, "*.bench.", 1, HF_TYPE_NSEC, r2, l2, 1);
}

static bool world_init(struct world *w, uint8_t alg)
{
	EVP_PKEY *pk;
	uint8_t key[600], dnskey[1024];
	size_t kl = 0, len;
	uint16_t tag;
	char err[128];
	struct hf_val_conf conf;
	struct hf_dns_msg *km;
	struct hf_val_result res;
	struct hf_val_need need;
	static const uint8_t a1[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
	const uint8_t *rds[2] = {a1, a2};
	size_t rls[2] = {4, 4};

	if (alg == 8) {
		BIGNUM *n = NULL, *e = NULL;
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
		EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
		key[0] = (uint8_t)BN_num_bytes(e);
		BN_bn2bin(e, key + 1);
		kl = 1 + key[0];
		kl += (size_t)BN_bn2bin(n, key + kl);
		BN_free(n);
		BN_free(e);
	} else if (alg == 13) {
		uint8_t pt[80];
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &kl);
		memmove(key, pt + 1, --kl);
	} else {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		kl = sizeof(key);
		EVP_PKEY_get_raw_public_key(pk, key, &kl);
	}
	if (!pk)
		return false;
	hf_put16(dnskey, 257);
	dnskey[2] = 3;
	dnskey[3] = alg;
	memcpy(dnskey + 4, key, kl);
	tag = hf_val_key_tag(dnskey, 4 + kl);

	hf_val_conf_default(&conf);
	conf.no_default_anchors = true;
	w->v = hf_val_create(&conf, err, sizeof(err));
	if (!w->v)
		return false;
	{
		/* the DNSKEY itself is the anchor: "bench. DNSKEY 257 3 alg <b64>" */
		char anchor[1200];
		size_t n = 0;
		unsigned char b64[900];
		EVP_EncodeBlock(b64, key, (int)kl);
		n = (size_t)snprintf(anchor, sizeof(anchor), "bench. DNSKEY 257 3 %u %s\n", alg,
				     (char *)b64);
		(void)n;
		if (hf_val_load_anchors_str(w->v, anchor, true, err, sizeof(err)) < 0)
			return false;
	}
	/* warm the key cache with the signed DNSKEY response */
	{
		static uint8_t kresp[2048];
		const uint8_t *krds[1] = {dnskey};
		size_t krls[1] = {4 + kl};
		km = malloc(sizeof(*km));
		len = response(pk, alg, tag, "bench.", HF_TYPE_DNSKEY, krds, krls, 1, kresp);
		if (hf_dns_msg_parse(kresp, len, km) < 0 || hf_val_add_keys(w->v, km, NOW) < 0) {
			free(km);
			return false;
		}
		free(km);
	}
	w->resp_len[ANS_A] =
		response(pk, alg, tag, "www.bench.", HF_TYPE_A, rds, rls, 2, w->resp[ANS_A]);
	w->resp_len[ANS_NX] = nx_response(pk, alg, tag, w->resp[ANS_NX]);
	w->resp_len[ANS_WILD] = wild_response(pk, alg, tag, w->resp[ANS_WILD]);
	EVP_PKEY_free(pk);
	for (int i = 0; i < ANS_N; i++)
		if (hf_dns_msg_parse(w->resp[i], w->resp_len[i], &w->m[i]) < 0 ||
		    hf_val_validate(w->v, &w->m[i], NOW, &res, &need) != HF_VAL_DONE ||
		    res.verdict != HF_SECURITY_SECURE)
			return false;
	/* the A RRset's RRSIG (the last RR) and what it signs */
	{
		const struct hf_dns_msg *m = &w->m[ANS_A];
		const struct hf_dns_rr *rr = &m->rr[m->nrr - 1];
		size_t pos = rr->rdata_off + 18, sl;
		uint8_t signer[HF_DNS_NAME_MAX];
		w->signed_len = hf_val_signed_data(m, (uint16_t)(m->nrr - 1), w->signed_data,
						   sizeof(w->signed_data));
		if (w->signed_len < 0 ||
		    hf_dns_name_unpack(m->wire, rr->rdata_off + rr->rdlen, &pos, signer, &sl) < 0)
			return false;
		w->sig = m->wire + pos;
		w->sig_len = rr->rdata_off + rr->rdlen - pos;
	}
	w->ready = true;
	return true;
}

static void bm_verify(struct hf_bench_state *st, struct world *w, uint8_t alg, int ans)
{
	struct hf_val_result res;
	struct hf_val_need need;
	struct hf_val_stats s0, s1;
	uint64_t bad = 0;

	if (!w->ready && !world_init(w, alg)) {
		hf_bench_skip_with_error(st, "setup failed");
		return;
	}
	hf_val_get_stats(w->v, &s0);
	HF_BENCH_LOOP(st)
	{
		if (hf_val_validate(w->v, &w->m[ans], NOW, &res, &need) != HF_VAL_DONE ||
		    res.verdict != HF_SECURITY_SECURE)
			bad++;
		hf_bench_do_not_optimize(&res);
	}
	hf_val_get_stats(w->v, &s1);
	if (bad || s1.key_parses != s0.key_parses)
		hf_bench_set_label(st, "NOT SECURE OR KEY RE-PARSED");
	hf_bench_set_items_processed(st, st->iterations);
	hf_bench_counter(st, "resp_bytes", (double)w->resp_len[ans], HF_BENCH_CNT_DEFAULT);
	hf_bench_counter(st, "verifies",
			 st->iterations ? (double)(s1.sig_verifies - s0.sig_verifies) /
						  (double)st->iterations
					: 0,
			 HF_BENCH_CNT_DEFAULT);
}

/* The verify alone: val_verify() of the A RRset's signature with the
 * cached key (its context made), on the signed data made beforehand. */
static void bm_verify_only(struct hf_bench_state *st, struct world *w, uint8_t alg)
{
	static const uint8_t bench[] = {5, 'b', 'e', 'n', 'c', 'h', 0};
	struct val_entry *e;
	uint64_t bad = 0;

	if (!w->ready && !world_init(w, alg)) {
		hf_bench_skip_with_error(st, "setup failed");
		return;
	}
	e = val_cache_get(&w->v->cache, bench, sizeof(bench), VAL_KIND_KEY, NOW);
	if (e == NULL || e->n == 0) {
		hf_bench_skip_with_error(st, "no cached key");
		return;
	}
	HF_BENCH_LOOP(st)
	{
		bad += val_verify(&w->v->cr, &e->u.keys[0], w->signed_data, (size_t)w->signed_len,
				  w->sig, w->sig_len) != 1;
	}
	if (bad)
		hf_bench_set_label(st, "DOES NOT VERIFY");
	hf_bench_set_items_processed(st, st->iterations);
}

static struct world w_rsa, w_p256, w_ed;

/* One benchmark: BM_<what>_<name>, its body a call. */
#define BM_ONE(what, name, call)                                  \
	static void BM_##what##_##name(struct hf_bench_state *st) \
	{                                                         \
		call;                                             \
	}                                                         \
	HF_BENCHMARK(BM_##what##_##name)

#define BM_WORLD(name, w, alg)                                          \
	BM_ONE(rrsig_verify, name, bm_verify(st, &w, alg, ANS_A));      \
	BM_ONE(rrsig_nxdomain, name, bm_verify(st, &w, alg, ANS_NX));   \
	BM_ONE(rrsig_wildcard, name, bm_verify(st, &w, alg, ANS_WILD)); \
	BM_ONE(rrsig_verify_only, name, bm_verify_only(st, &w, alg))

BM_WORLD(rsa2048, w_rsa, 8);
BM_WORLD(p256, w_p256, 13);
BM_WORLD(ed25519, w_ed, 15);

/* The pieces of a validation around the verifies, on the RSA world's
 * NXDOMAIN answer (719 bytes: SOA, NSEC, two RRSIGs):
 *   BM_piece_parse        hf_dns_msg_parse() of the whole answer (control
 *                         parses each upstream answer before validating)
 *   BM_piece_signed_data  the SOA RRset's signed data: RRSIG RDATA and the
 *                         RRset in canonical form (hf_val_signed_data,
 *                         which groups the RRsets first)
 *   BM_piece_digest       SHA-256 of that signed data on the validator's
 *                         reused context */
static bool piece_world(struct hf_bench_state *st)
{
	if (!w_rsa.ready && !world_init(&w_rsa, 8)) {
		hf_bench_skip_with_error(st, "setup failed");
		return false;
	}
	return true;
}

static void BM_piece_parse(struct hf_bench_state *st)
{
	static struct hf_dns_msg m;
	unsigned bad = 0;

	if (!piece_world(st))
		return;
	HF_BENCH_LOOP(st)
	{
		bad += hf_dns_msg_parse(w_rsa.resp[ANS_NX], w_rsa.resp_len[ANS_NX], &m) != 0;
		hf_bench_do_not_optimize(&m);
	}
	if (bad)
		hf_bench_set_label(st, "MALFORMED");
	hf_bench_set_items_processed(st, st->iterations);
}
HF_BENCHMARK(BM_piece_parse);

static void BM_piece_signed_data(struct hf_bench_state *st)
{
	static uint8_t out[2048];
	const struct hf_dns_msg *m = &w_rsa.m[ANS_NX];
	unsigned bad = 0;

	if (!piece_world(st))
		return;
	HF_BENCH_LOOP(st)
	{
		/* rr[1]: the SOA's RRSIG */
		bad += hf_val_signed_data(m, 1, out, sizeof(out)) <= 0;
		hf_bench_do_not_optimize(out);
	}
	if (bad)
		hf_bench_set_label(st, "FAILED");
	hf_bench_set_items_processed(st, st->iterations);
}
HF_BENCHMARK(BM_piece_signed_data);

static void BM_piece_digest(struct hf_bench_state *st)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dl;
	unsigned bad = 0;

	if (!piece_world(st))
		return;
	HF_BENCH_LOOP(st)
	{
		EVP_MD_CTX *h = w_rsa.v->cr.hctx;
		bad += EVP_DigestInit_ex2(h, w_rsa.v->cr.sha256, NULL) <= 0 ||
		       EVP_DigestUpdate(h, w_rsa.signed_data, (size_t)w_rsa.signed_len) <= 0 ||
		       EVP_DigestFinal_ex(h, d, &dl) <= 0;
		hf_bench_do_not_optimize(d);
	}
	if (bad)
		hf_bench_set_label(st, "FAILED");
	hf_bench_set_items_processed(st, st->iterations);
}
HF_BENCHMARK(BM_piece_digest);

/* ---- the key cache ---- */

#define KC_N 4096u

static struct kc_world {
	bool ready;
	struct val_cache c;
	uint8_t name[2 * KC_N][32]; /* the second half is never inserted */
	uint8_t len[2 * KC_N];
} kc;

static void kc_put(unsigned i)
{
	struct val_entry *e = val_cache_put(&kc.c, kc.name[i], kc.len[i], VAL_KIND_KEY);

	e->state = VAL_ST_SECURE;
	e->expires = UINT64_MAX;
}

static bool kc_init(struct hf_bench_state *st)
{
	char s[32];
	size_t l;

	if (kc.ready)
		return true;
	for (unsigned i = 0; i < 2 * KC_N; i++) {
		snprintf(s, sizeof(s), "n%u.zone.bench.", i);
		l = 0;
		hf_dns_name_from_str(s, kc.name[i], &l);
		kc.len[i] = (uint8_t)l;
	}
	if (val_cache_init(&kc.c, KC_N) < 0) {
		hf_bench_skip_with_error(st, "key cache init failed");
		return false;
	}
	for (unsigned i = 0; i < KC_N; i++)
		kc_put(i);
	kc.ready = true;
	return true;
}

/* A stride through the names, so consecutive look-ups touch other lines. */
#define KC_STEP 1237u

/* Look-ups of names base .. base + KC_N - 1: all in (hit) or none. */
static void kc_get_loop(struct hf_bench_state *st, unsigned base, bool hit)
{
	unsigned i = 0, bad = 0;

	if (!kc_init(st))
		return;
	HF_BENCH_LOOP(st)
	{
		struct val_entry *e = val_cache_get(&kc.c, kc.name[base + i], kc.len[base + i],
						    VAL_KIND_KEY, NOW);
		bad += (e != NULL) != hit;
		hf_bench_do_not_optimize(e);
		i = (i + KC_STEP) % KC_N;
	}
	if (bad)
		hf_bench_set_label(st, "WRONG HIT OR MISS");
	hf_bench_set_items_processed(st, st->iterations);
}

static void BM_keycache_hit(struct hf_bench_state *st)
{
	kc_get_loop(st, 0, true);
}
HF_BENCHMARK(BM_keycache_hit);

static void BM_keycache_miss(struct hf_bench_state *st)
{
	kc_get_loop(st, KC_N, false);
}
HF_BENCHMARK(BM_keycache_miss);

/* Inserts cycle through all 2 * KC_N names: each one is absent when it
 * comes round again (KC_N inserts later it has been evicted), so every
 * insert evicts the LRU tail. */
static void BM_keycache_put_evict(struct hf_bench_state *st)
{
	unsigned i = KC_N;

	if (!kc_init(st))
		return;
	HF_BENCH_LOOP(st)
	{
		kc_put(i);
		i = (i + 1) % (2 * KC_N);
	}
	/* leave the first half in for the look-up benchmarks */
	for (unsigned j = 0; j < KC_N; j++)
		kc_put(j);
	hf_bench_set_items_processed(st, st->iterations);
}
HF_BENCHMARK(BM_keycache_put_evict);

int main(int argc, char **argv)
{
	int rc;

	hf_bench_init(&argc, argv);
	if (argc > 1) {
		fprintf(stderr, "%s: error: unrecognized command-line flag: %s\n", argv[0],
			argv[1]);
		return 1;
	}
	if (hf_test_eal_init(argv[0], "micro_validator") != 0)
		return 1;
	rc = hf_bench_run();
	hf_val_destroy(w_rsa.v);
	hf_val_destroy(w_p256.v);
	hf_val_destroy(w_ed.v);
	if (kc.ready)
		val_cache_free(&kc.c);
	rte_eal_cleanup();
	return rc;
}
