/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OpenSSL 3 (EVP) for DNSSEC: public keys from DNSKEY RDATA, RRSIG
 * verification, DS digests, NSEC3 hashes, key tags.
 *
 * Costs (docs/dnssec.md, "Performance"): key parsing happens once per key
 * per cache lifetime, and so does setting up its verification (the
 * provider look-up of EVP_DigestVerifyInit, 2-3 us): a key keeps its
 * verify context (struct val_key). A verify is then, for RSA and ECDSA,
 * one digest of the signed data and EVP_PKEY_verify() on the key's
 * context (what `openssl speed` measures), and for EdDSA a copy of the
 * key's initialized EVP_MD_CTX and one EVP_DigestVerify().
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/bn.h>

#include "validator/val_internal.h"

bool hf_val_alg_supported(uint8_t alg)
{
	switch (alg) {
	case HF_ALG_RSASHA256:
	case HF_ALG_RSASHA512:
	case HF_ALG_ECDSAP256:
	case HF_ALG_ECDSAP384:
	case HF_ALG_ED25519:
	case HF_ALG_ED448:
		return true;
	default:
		return false; /* 5 and 7 (RSA/SHA-1) by policy, see docs/dnssec.md */
	}
}

bool hf_val_digest_supported(uint8_t type)
{
	return type == HF_DS_SHA1 || type == HF_DS_SHA256 || type == HF_DS_SHA384;
}

uint16_t hf_val_key_tag(const uint8_t *rdata, size_t len)
{
	uint32_t ac = 0;

	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

int val_crypto_init(struct val_crypto *c)
{
	memset(c, 0, sizeof(*c));
	c->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	c->sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	c->mdctx = EVP_MD_CTX_new();
	c->hctx = EVP_MD_CTX_new();
	if (!c->sha1 || !c->sha256 || !c->sha384 || !c->sha512 || !c->mdctx || !c->hctx) {
		val_crypto_free(c);
		return hf_error(HF_ENOMEM);
	}
	return 0;
}

void val_crypto_free(struct val_crypto *c)
{
	EVP_MD_free(c->sha1);
	EVP_MD_free(c->sha256);
	EVP_MD_free(c->sha384);
	EVP_MD_free(c->sha512);
	EVP_MD_CTX_free(c->mdctx);
	EVP_MD_CTX_free(c->hctx);
	memset(c, 0, sizeof(*c));
}

/* RFC 3110 section 2: exponent length (1 or 3 octets), exponent, modulus. */
static EVP_PKEY *rsa_parse(const uint8_t *key, size_t len, unsigned min_bits)
{
	size_t elen, off, mlen, mbits;
	const uint8_t *mod;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pk = NULL;

	if (len < 3)
		return NULL;
	if (key[0] != 0) {
		elen = key[0];
		off = 1;
	} else {
		elen = hf_get16(key + 1);
		off = 3;
	}
	if (elen == 0 || elen > 16 || off + elen >= len)
		return NULL;
	mod = key + off + elen;
	mlen = len - off - elen;
	while (mlen > 0 && mod[0] == 0) {
		mod++;
		mlen--;
	}
	if (mlen == 0)
		return NULL;
	mbits = mlen * 8;
	for (uint8_t top = mod[0]; !(top & 0x80); top <<= 1)
		mbits--;
	if (mbits < min_bits || mbits > 4096)
		return NULL;
	n = BN_bin2bn(mod, (int)mlen, NULL);
	e = BN_bin2bn(key + off, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

/* RFC 6605 section 4: x || y; OpenSSL wants the uncompressed point 04 x y. */
static EVP_PKEY *ec_parse(const uint8_t *key, size_t len, size_t want, const char *group)
{
	uint8_t point[1 + 96];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pc;
	EVP_PKEY *pk = NULL;

	if (len != want)
		return NULL;
	point[0] = 0x04;
	memcpy(point + 1, key, len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, len + 1);
	params[2] = OSSL_PARAM_construct_end();
	pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(pc);
	return pk;
}

EVP_PKEY *val_key_parse(uint8_t alg, const uint8_t *key, size_t len)
{
	switch (alg) {
	case HF_ALG_RSASHA256:
		return rsa_parse(key, len, 512); /* RFC 5702 section 2: 512..4096 */
	case HF_ALG_RSASHA512:
		return rsa_parse(key, len, 1024); /* RFC 5702 section 3: 1024..4096 */
	case HF_ALG_ECDSAP256:
		return ec_parse(key, len, 64, "prime256v1");
	case HF_ALG_ECDSAP384:
		return ec_parse(key, len, 96, "secp384r1");
	case HF_ALG_ED25519:
		return len == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, len)
				 : NULL;
	case HF_ALG_ED448:
		return len == 57 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED448, NULL, key, len)
				 : NULL;
	default:
		return NULL;
	}
}

/* One DER INTEGER from a big-endian unsigned value. */
static size_t der_int(uint8_t *out, const uint8_t *v, size_t n)
{
	size_t pad;

	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	pad = (v[0] & 0x80) ? 1 : 0;
	out[0] = 0x02;
	out[1] = (uint8_t)(n + pad);
	out[2] = 0;
	memcpy(out + 2 + pad, v, n);
	return 2 + pad + n;
}

/* The digest an algorithm signs (NULL: EdDSA signs the data itself) and,
 * for ECDSA, the size of r and s. -1: not an algorithm we verify. */
static int alg_md(const struct val_crypto *c, uint8_t alg, const EVP_MD **md, size_t *half)
{
	*md = NULL;
	*half = 0;
	switch (alg) {
	case HF_ALG_RSASHA256:
		*md = c->sha256;
		return 0;
	case HF_ALG_RSASHA512:
		*md = c->sha512;
		return 0;
	case HF_ALG_ECDSAP256:
		*md = c->sha256;
		*half = 32;
		return 0;
	case HF_ALG_ECDSAP384:
		*md = c->sha384;
		*half = 48;
		return 0;
	case HF_ALG_ED25519:
	case HF_ALG_ED448:
		return 0;
	default:
		return -1;
	}
}

/* k's verify context, made once: 0, or -1 when OpenSSL will not. */
static int key_ctx(struct val_key *k, const EVP_MD *md)
{
	if (md != NULL) {
		if (k->pctx != NULL)
			return 0;
		k->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		if (k->pctx != NULL && EVP_PKEY_verify_init(k->pctx) > 0 &&
		    EVP_PKEY_CTX_set_signature_md(k->pctx, md) > 0)
			return 0;
		EVP_PKEY_CTX_free(k->pctx);
		k->pctx = NULL;
		return -1;
	}
	if (k->mctx != NULL)
		return 0;
	k->mctx = EVP_MD_CTX_new();
	if (k->mctx != NULL && EVP_DigestVerifyInit(k->mctx, NULL, NULL, NULL, k->pkey) > 0)
		return 0;
	EVP_MD_CTX_free(k->mctx);
	k->mctx = NULL;
	return -1;
}

int val_verify(struct val_crypto *c, struct val_key *k, const uint8_t *data, size_t len,
	       const uint8_t *sig, size_t sig_len)
{
	uint8_t der[2 + 2 * (3 + 48)], dgst[EVP_MAX_MD_SIZE];
	const EVP_MD *md;
	unsigned int dlen = 0;
	size_t half;

	if (alg_md(c, k->alg, &md, &half) != 0)
		return hf_error(HF_ENOTSUP);
	if (half) {
		/* RFC 6605 section 4: r || s, each `half` octets; EVP wants DER */
		size_t n;
		if (sig_len != 2 * half)
			return 0;
		n = der_int(der + 2, sig, half);
		n += der_int(der + 2 + n, sig + half, half);
		der[0] = 0x30;
		der[1] = (uint8_t)n;
		sig = der;
		sig_len = n + 2;
	}
	if (key_ctx(k, md) != 0)
		return hf_error(HF_EINVAL);
	if (md == NULL) { /* EdDSA: one-shot over the data, on a copy of the key's context */
		if (EVP_MD_CTX_copy_ex(c->mdctx, k->mctx) <= 0)
			return hf_error(HF_EINVAL);
		return EVP_DigestVerify(c->mdctx, sig, sig_len, data, len) == 1 ? 1 : 0;
	}
	if (EVP_DigestInit_ex2(c->hctx, md, NULL) <= 0 ||
	    EVP_DigestUpdate(c->hctx, data, len) <= 0 ||
	    EVP_DigestFinal_ex(c->hctx, dgst, &dlen) <= 0)
		return hf_error(HF_EINVAL);
	return EVP_PKEY_verify(k->pctx, sig, sig_len, dgst, dlen) == 1 ? 1 : 0;
}

void val_key_free(struct val_key *k)
{
	EVP_PKEY_CTX_free(k->pctx);
	EVP_MD_CTX_free(k->mctx);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

int val_ds_digest(struct val_crypto *c, const uint8_t *owner, size_t owner_len,
		  const uint8_t *dnskey, size_t len, uint8_t type, uint8_t *out)
{
	uint8_t lname[HF_DNS_NAME_MAX];
	const EVP_MD *md;
	unsigned int olen = 0;

	switch (type) {
	case HF_DS_SHA1:
		md = c->sha1;
		break;
	case HF_DS_SHA256:
		md = c->sha256;
		break;
	case HF_DS_SHA384:
		md = c->sha384;
		break;
	default:
		return hf_error(HF_ENOTSUP);
	}
	if (owner_len > HF_DNS_NAME_MAX)
		return hf_error(HF_EINVAL);
	memcpy(lname, owner, owner_len);
	hf_dns_name_lower(lname, owner_len);
	if (EVP_DigestInit_ex2(c->hctx, md, NULL) <= 0 ||
	    EVP_DigestUpdate(c->hctx, lname, owner_len) <= 0 ||
	    EVP_DigestUpdate(c->hctx, dnskey, len) <= 0 ||
	    EVP_DigestFinal_ex(c->hctx, out, &olen) <= 0)
		return hf_error(HF_EINVAL);
	return (int)olen;
}

int val_nsec3_hash(struct val_crypto *c, const uint8_t *name, size_t len, const uint8_t *salt,
		   size_t salt_len, uint16_t iterations, uint8_t out[20])
{
	uint8_t lname[HF_DNS_NAME_MAX];
	unsigned int olen;

	if (len > HF_DNS_NAME_MAX)
		return hf_error(HF_EINVAL);
	memcpy(lname, name, len);
	hf_dns_name_lower(lname, len);
	for (unsigned i = 0; i <= iterations; i++) {
		if (EVP_DigestInit_ex2(c->hctx, c->sha1, NULL) <= 0 ||
		    EVP_DigestUpdate(c->hctx, i == 0 ? lname : out, i == 0 ? len : 20) <= 0 ||
		    EVP_DigestUpdate(c->hctx, salt, salt_len) <= 0 ||
		    EVP_DigestFinal_ex(c->hctx, out, &olen) <= 0)
			return hf_error(HF_EINVAL);
	}
	return 0;
}

/* ---- public one-shot wrappers (tests, tools) ---- */

int hf_val_ds_digest(const uint8_t *owner, size_t owner_len, const uint8_t *dnskey, size_t len,
		     uint8_t type, uint8_t *out)
{
	struct val_crypto c;
	int rc;

	if (val_crypto_init(&c) < 0)
		return hf_error(HF_ENOMEM);
	rc = val_ds_digest(&c, owner, owner_len, dnskey, len, type, out);
	val_crypto_free(&c);
	return rc;
}

int hf_val_nsec3_hash(const uint8_t *name, size_t len, const uint8_t *salt, size_t salt_len,
		      uint16_t iterations, uint8_t out[20])
{
	struct val_crypto c;
	int rc;

	if (val_crypto_init(&c) < 0)
		return hf_error(HF_ENOMEM);
	rc = val_nsec3_hash(&c, name, len, salt, salt_len, iterations, out);
	val_crypto_free(&c);
	return rc;
}

int hf_val_verify_raw(const uint8_t *dnskey, size_t dnskey_len, const uint8_t *data, size_t len,
		      const uint8_t *sig, size_t sig_len)
{
	struct val_crypto c;
	struct val_key k = {0};
	int rc;

	if (dnskey_len < 4)
		return hf_error(HF_EINVAL);
	if (!hf_val_alg_supported(dnskey[3]))
		return hf_error(HF_ENOTSUP);
	k.alg = dnskey[3];
	k.pkey = val_key_parse(dnskey[3], dnskey + 4, dnskey_len - 4);
	if (!k.pkey)
		return hf_error(HF_EINVAL);
	if (val_crypto_init(&c) < 0) {
		val_key_free(&k);
		return hf_error(HF_ENOMEM);
	}
	rc = val_verify(&c, &k, data, len, sig, sig_len);
	val_crypto_free(&c);
	val_key_free(&k);
	return rc;
}
