/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast validator/: DNSSEC validation (RFC 4033/4034/4035, 5155, 6840)
 * as a C library over dns/ and OpenSSL 3 (EVP). No I/O. Its key cache is
 * indexed by an rte_hash, so it needs a running EAL (--no-huge will do).
 *
 * The control plane is a validating forwarder: it asks its forwarder with
 * DO=1 CD=1 and checks every answer itself. The validator is an explicit,
 * non-blocking state machine the event loop drives:
 *
 *	for (;;) {
 *		rc = hf_val_validate(v, resp, now, &res, &need);
 *		if (rc == HF_VAL_DONE)
 *			break;                      // res: verdict, EDE, text, TTL cap
 *		// rc == HF_VAL_NEED: fetch need.name/need.qtype (DS or DNSKEY)
 *		// from the forwarder (DO=1 CD=1), parse it, then
 *		hf_val_add_keys(v, &keys_resp, now);
 *	}
 *
 * Every hf_val_add_keys() stores one new key-cache entry (secure, insecure,
 * bogus or "no zone cut here"), so the loop ends after at most about two
 * rounds per label of the names involved; callers still bound it
 * (HF_VAL_MAX_ROUNDS) and report INDETERMINATE when a fetch fails or the
 * bound is hit. hf_val_validate() keeps no state between calls: it starts
 * over against the key cache each time, which is what makes it restartable.
 *
 * Concurrency contract: a struct hf_val (anchors, key cache, scratch
 * buffers, OpenSSL contexts) belongs to the control thread. Only that
 * thread calls any hf_val_* function on it; nothing is shared with the
 * worker lcores (verdicts travel to them as plain values inside stored
 * answers). Memory is freed by hf_val_destroy() only.
 */
#ifndef HF_VALIDATOR_H
#define HF_VALIDATOR_H

#include "dns/hf_dns.h"

/* hf_val_validate() return values (>= 0); errors are negative HF_E*. */
enum { HF_VAL_DONE = 0, HF_VAL_NEED = 1 };

/* A caller drives at most this many NEED rounds for one response. */
#define HF_VAL_MAX_ROUNDS 64

#define HF_VAL_TEXT_MAX 96 /* EDE extra text, NUL included */

/* DNSKEY algorithms (RFC 8624 numbers). */
enum {
	HF_ALG_RSASHA1 = 5,
	HF_ALG_RSASHA1_NSEC3 = 7,
	HF_ALG_RSASHA256 = 8,
	HF_ALG_RSASHA512 = 10,
	HF_ALG_ECDSAP256 = 13,
	HF_ALG_ECDSAP384 = 14,
	HF_ALG_ED25519 = 15,
	HF_ALG_ED448 = 16,
};
/* DS digest types. */
enum { HF_DS_SHA1 = 1, HF_DS_SHA256 = 2, HF_DS_SHA384 = 4 };

/*
 * Negative Trust Anchor hook (RFC 7646): return true when `name` (wire
 * form, any case) is at or below a domain with an active NTA at time now.
 * Data there is not validated: INSECURE with no EDE. Called on the control
 * thread from inside hf_val_validate(); it must not call back into hf_val.
 */
typedef bool (*hf_val_nta_fn)(void *arg, const uint8_t *name, size_t len, uint64_t now_s);

struct hf_val_conf {
	uint32_t cache_entries;	       /* key cache size (LRU), >= 8; default 1024 */
	uint32_t clock_skew;	       /* s of slack on inception/expiration; default 300 */
	uint16_t nsec3_max_iterations; /* above: insecure, EDE 27; default 50 (RFC 9276) */
	uint32_t key_ttl_max;	       /* cap on how long keys/DS stay cached; default 86400 */
	uint32_t insecure_ttl;	       /* cap for "zone proven insecure" entries; default 3600 */
	uint32_t bogus_ttl;	       /* how long a bogus zone is remembered; default 60 */
	uint32_t max_verifies;	 /* signature checks per validate call (KeyTrap); default 64 */
	uint32_t aggr_entries;	 /* RFC 8198 NSEC records kept (LRU); 0: none; default 16384 */
	uint32_t aggr_ttl_max;	 /* cap on how long one is kept (s); default 86400 */
	bool no_default_anchors; /* do not load the built-in IANA root anchors */
	hf_val_nta_fn nta;	 /* optional NTA hook */
	void *nta_arg;
};

/* Fill *conf with the defaults above. */
void hf_val_conf_default(struct hf_val_conf *conf);

struct hf_val_result {
	uint8_t verdict;	    /* enum hf_security (dns/hf_dns.h) */
	uint16_t ede;		    /* HF_EDE_* info code, HF_EDE_NONE for none */
	uint32_t ttl_cap;	    /* SECURE: cap for the answer's TTLs (s); else UINT32_MAX */
	char text[HF_VAL_TEXT_MAX]; /* EDE extra text, "" when none */
};

struct hf_val_need {
	uint8_t name[HF_DNS_NAME_MAX]; /* lower-case wire form */
	uint8_t name_len;
	uint16_t qtype; /* HF_TYPE_DS or HF_TYPE_DNSKEY */
};

struct hf_val_stats {
	uint64_t validations;  /* hf_val_validate calls that returned DONE */
	uint64_t needs;	       /* ... that returned NEED */
	uint64_t sig_verifies; /* signature verifications attempted */
	uint64_t key_parses;   /* DNSKEYs turned into EVP_PKEYs */
	uint64_t cache_hits, cache_misses, cache_evictions;
	uint64_t aggr_entries;		     /* RFC 8198 NSEC records kept now */
	uint64_t aggr_evictions;	     /* ... dropped for room (LRU) */
	uint64_t aggr_nxdomain, aggr_nodata; /* answers hf_val_synth() made */
};

struct hf_val;

/* NULL conf: defaults. Loads the IANA root anchors unless told not to.
 * Returns NULL (reason in err) on failure. */
struct hf_val *hf_val_create(const struct hf_val_conf *conf, char *err, size_t errlen);
void hf_val_destroy(struct hf_val *v);

/*
 * Trust anchors: DS or DNSKEY records in zone-file presentation form, one
 * per line or across lines in parentheses, optional TTL and class, ';'
 * comments, any number of anchors for any number of zones:
 *	. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
 * Loading replaces every anchor held before (the built-in ones too) and
 * flushes the key cache. Returns 0, HF_EIO (file), HF_EINVAL (syntax, with
 * line number in err) or HF_EFULL (too many anchors).
 */
int hf_val_load_anchors(struct hf_val *v, const char *path, char *err, size_t errlen);
/* The same from a string; replace=false adds to what is there. */
int hf_val_load_anchors_str(struct hf_val *v, const char *text, bool replace, char *err,
			    size_t errlen);
/* The text of an anchor file (at most 1 MiB), malloc()ed, or NULL with err
 * set ("PATH: cannot open", ...). */
char *hf_val_read_anchor_file(const char *path, char *err, size_t errlen);
/* Parse text as hf_val_load_anchors_str would, without loading it: 0 with
 * *n anchors, or HF_EINVAL / HF_EFULL with err set (a reload checks a new
 * file before it changes anything). */
int hf_val_check_anchors_str(const char *text, unsigned *n, char *err, size_t errlen);
/* Replace the anchors with the built-in IANA root anchors. */
int hf_val_load_default_anchors(struct hf_val *v, char *err, size_t errlen);
/* Number of anchors loaded. */
unsigned hf_val_anchor_count(const struct hf_val *v);

/* Replace the NTA hook (NULL: none). Flushes nothing; NTAs are checked on
 * every validation. */
void hf_val_set_nta(struct hf_val *v, hf_val_nta_fn fn, void *arg);

/*
 * Validate a parsed response `resp` to its own question (qname, qtype):
 * the answer section (CNAME/DNAME chains included), or for NXDOMAIN/NODATA
 * the denial of existence in the authority section, against the trust
 * anchors through the key cache. now_s is Unix time.
 *
 * HF_VAL_DONE: *res holds the verdict, the EDE and, for SECURE, the TTL cap
 * (min over the RRsets used of RRSIG original TTL and expiration - now).
 * HF_VAL_NEED: *need names a DS or DNSKEY RRset to fetch and feed to
 * hf_val_add_keys() before calling again with the same response.
 * Errors: HF_EINVAL (no question).
 */
int hf_val_validate(struct hf_val *v, const struct hf_dns_msg *resp, uint64_t now_s,
		    struct hf_val_result *res, struct hf_val_need *need);

/*
 * Feed the parsed response to a DS or DNSKEY query that hf_val_validate()
 * asked for. It is validated at once (DNSKEY against the DS set or trust
 * anchor, DS/denial against the parent's keys) and its outcome cached:
 * secure keys or DS set, insecure (with the EDE that says why), bogus (with
 * its EDE, for bogus_ttl), or "no zone cut at this name". A failed upstream
 * answer (SERVFAIL, REFUSED, ...) is cached as bogus with its reason for a
 * short time. Returns 0, HF_EINVAL (not a DS/DNSKEY response) or HF_ENOENT
 * (nothing it could be checked against: not something validate asked for).
 */
int hf_val_add_keys(struct hf_val *v, const struct hf_dns_msg *resp, uint64_t now_s);

/*
 * RFC 8198, aggressive use of the DNSSEC-validated cache: every NSEC record
 * of a secure NXDOMAIN/NODATA proof is kept (with its RRSIGs and the zone's
 * signed SOA) for min(its TTL, its RRSIGs' original TTL and remaining
 * validity, the SOA's TTL and MINIMUM (RFC 9077)), at most aggr_entries of
 * them (LRU). hf_val_synth() answers (qname, qtype) from them when they
 * prove NXDOMAIN (an NSEC covering the name and one covering or matching
 * the wildcard at the closest encloser) or NODATA (a matching NSEC without
 * the type or CNAME, not at a delegation; an empty non-terminal; a
 * wildcard without the type), while the zone's keys are still cached
 * secure and no NTA covers the name. NSEC3 records are kept and used the
 * same way (closest encloser, next closer name, wildcard: RFC 5155 8.x),
 * but never when an opt-out NSEC3 covers the next closer name, nor above
 * the NSEC3 iteration limit. Never for DS, ANY, RRSIG, NSEC or NSEC3
 * questions.
 *
 * It writes a response into out: ID 0, QR, rcode NXDOMAIN or NOERROR, the
 * question (lower case), and in the authority section the SOA, the NSECs
 * and their RRSIGs, every TTL the proof's remaining lifetime. Returns its
 * length, 0 when nothing kept proves the answer, or HF_ESPACE.
 */
int hf_val_synth(struct hf_val *v, const uint8_t *qname, size_t len, uint16_t qtype, uint64_t now_s,
		 uint8_t *out, size_t size);

/*
 * Called as each record is kept (above), on the control thread: the zone
 * (lower case), the record as validator/hf_aggr.h's hf_aggr_put takes it
 * (len bytes, valid only during the call), and whether it is an NSEC3.
 * Control copies the NSECs to the workers' stores with it (HF_MSG_NSEC).
 */
typedef void (*hf_val_keep_fn)(void *arg, const uint8_t *zone, size_t zlen, const uint8_t *rec,
			       size_t len, bool is3);
void hf_val_set_keep_hook(struct hf_val *v, hf_val_keep_fn fn, void *arg);

/* Drop every cached key, DS set and insecure/bogus zone. */
void hf_val_flush(struct hf_val *v);
/* Drop cached state at and below `name` (after an NTA change, say). */
void hf_val_flush_name(struct hf_val *v, const uint8_t *name, size_t len);
/* Where the chain of trust to name breaks in the key cache now: the zone
 * whose cached DNSKEY or DS set is bogus, into zone (HF_DNS_NAME_MAX
 * bytes) and *zone_len, and true; false when the cached chain is secure,
 * insecure (an NTA too) or incomplete. Fetches nothing (control: which
 * subtree a bogus answer belongs to, docs/decisions.md). */
bool hf_val_broken_zone(struct hf_val *v, const uint8_t *name, size_t len, uint64_t now_s,
			uint8_t *zone, size_t *zone_len);

void hf_val_get_stats(const struct hf_val *v, struct hf_val_stats *st);

/* ---- building blocks, exposed for tests and benchmarks ---- */

/* RFC 4034 appendix B key tag of DNSKEY RDATA. */
uint16_t hf_val_key_tag(const uint8_t *rdata, size_t len);
/* Is this DNSKEY algorithm / DS digest type supported? */
bool hf_val_alg_supported(uint8_t alg);
bool hf_val_digest_supported(uint8_t type);
/* DS digest of DNSKEY RDATA for owner (wire, any case). out: 48 bytes room.
 * Returns the digest length or HF_ENOTSUP. */
int hf_val_ds_digest(const uint8_t *owner, size_t owner_len, const uint8_t *dnskey, size_t len,
		     uint8_t type, uint8_t *out);
/* RFC 5155 section 5 hash (SHA-1) of name (wire, any case) into out[20]. */
int hf_val_nsec3_hash(const uint8_t *name, size_t len, const uint8_t *salt, size_t salt_len,
		      uint16_t iterations, uint8_t out[20]);
/* RFC 4034 section 6.1 canonical order of two wire names: <0, 0, >0. */
int hf_val_name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/*
 * Verify `sig` over `data` with DNSKEY RDATA `dnskey` (flags, protocol,
 * algorithm, key). Returns 1 (valid), 0 (invalid) or HF_ENOTSUP/HF_EINVAL
 * (algorithm unsupported / key unusable).
 */
int hf_val_verify_raw(const uint8_t *dnskey, size_t dnskey_len, const uint8_t *data, size_t len,
		      const uint8_t *sig, size_t sig_len);
/*
 * Build the RFC 4034 section 3.1.8.1 signed data for the RRset (owner,
 * type, class) of section `section` in m, covered by RRSIG RR m->rr[sig]:
 * RRSIG RDATA without the signature (signer lower-cased), then the RRs in
 * canonical form (owner lower-cased or turned into the wildcard the labels
 * field says, original TTL, RDATA names lower-cased and uncompressed,
 * sorted, duplicates dropped). Returns the length or HF_ESPACE/
 * HF_EMALFORMED/HF_ENOENT.
 */
int hf_val_signed_data(const struct hf_dns_msg *m, uint16_t sig, uint8_t *out, size_t size);

#endif
