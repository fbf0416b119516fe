/* SPDX-License-Identifier: BSD-3-Clause */
/* validator/ internals: shared by the validator's .c files only. */
#ifndef HF_VAL_INTERNAL_H
#define HF_VAL_INTERNAL_H

#include <openssl/evp.h>

#include "validator/hf_validator.h"

#define VAL_MAX_KEYS	16 /* parsed keys kept per DNSKEY set */
#define VAL_MAX_DS	8  /* DS records kept per DS set */
#define VAL_MAX_ANCHORS 16
#define VAL_ANCHOR_RD	1100 /* RDATA room of one anchor (RSA-4096 DNSKEY fits) */
#define VAL_MAX_SETS	HF_DNS_MSG_MAX_RR
#define VAL_SIG_TRIES	8	   /* RRSIGs tried per RRset (KeyTrap) */
#define VAL_SBUF	(1u << 19) /* signed-data buffer */
#define VAL_CBUF	(1u << 19) /* canonical RDATA scratch */

/* ---- names (canon.c) ---- */
/* The rightmost `labels` labels of n: returns its offset in n. */
size_t val_name_suffix(const uint8_t *n, size_t len, unsigned labels);
/* Number of rightmost labels a and b share (case-insensitive). */
unsigned val_name_common(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Presentation form for texts; never fails (truncates). */
void val_name_str(const uint8_t *n, size_t len, char *buf, size_t size);

/* ---- RRsets of a message (canon.c) ---- */
struct val_rrset {
	uint8_t owner[HF_DNS_NAME_MAX]; /* lower case */
	uint8_t owner_len;
	uint8_t labels;
	uint8_t section;
	uint16_t type, rclass;
	uint16_t nrr, nsig;
	int16_t rr_head, sig_head; /* rr index lists (val_sets.next) */
	uint32_t ttl;		   /* min TTL of the RRs */
};

struct val_sets {
	uint16_t n;
	int16_t next[HF_DNS_MSG_MAX_RR];
	struct val_rrset set[VAL_MAX_SETS];
};

/* Group the RRs of m (OPT left out) into RRsets, RRSIGs attached to the
 * RRset of the same owner, covered type, class and section. */
int val_sets_build(const struct hf_dns_msg *m, struct val_sets *s);
/* Find the RRset (owner, type) in a section, or NULL. */
struct val_rrset *val_sets_find(struct val_sets *s, uint8_t section, const uint8_t *owner,
				size_t len, uint16_t type);

/* Signed data for RRset `set` and RRSIG RR m->rr[sig] (see hf_val_signed_data). */
int val_signed_data(const struct hf_dns_msg *m, const struct val_sets *s,
		    const struct val_rrset *set, uint16_t sig, uint8_t *out, size_t size,
		    uint8_t *cbuf, size_t csize);

/* RR's RDATA in canonical form (RFC 4034 6.2, uncompressed) into out. */
int val_canon_rdata(const struct hf_dns_msg *m, const struct hf_dns_rr *rr, uint8_t *out,
		    size_t room, size_t *out_len);

/* ---- crypto (crypto.c) ---- */
struct val_crypto {
	EVP_MD *sha1, *sha256, *sha384, *sha512;
	EVP_MD_CTX *mdctx; /* signature verification */
	EVP_MD_CTX *hctx;  /* plain digests: DS, NSEC3 */
};
int val_crypto_init(struct val_crypto *c);
void val_crypto_free(struct val_crypto *c);
EVP_PKEY *val_key_parse(uint8_t alg, const uint8_t *key, size_t len);
struct val_key;
/* Verify sig over data with key k (its algorithm k->alg). The first verify
 * with k gives it a verify context of its own, which the next ones reuse.
 * 1 valid, 0 invalid, <0 error. */
int val_verify(struct val_crypto *c, struct val_key *k, const uint8_t *data, size_t len,
	       const uint8_t *sig, size_t sig_len);
/* k's key and verify context freed (k zeroed). */
void val_key_free(struct val_key *k);
int val_ds_digest(struct val_crypto *c, const uint8_t *owner, size_t owner_len,
		  const uint8_t *dnskey, size_t len, uint8_t type, uint8_t *out);
int val_nsec3_hash(struct val_crypto *c, const uint8_t *name, size_t len, const uint8_t *salt,
		   size_t salt_len, uint16_t iterations, uint8_t out[20]);

/* ---- key cache (keycache.c) ---- */
enum val_kind { VAL_KIND_DS = 1, VAL_KIND_KEY = 2 };
enum val_state {
	VAL_ST_SECURE = 1,   /* keys / DS set validated */
	VAL_ST_INSECURE = 2, /* provably insecure below here (ede says why, maybe NONE) */
	VAL_ST_BOGUS = 3,    /* failed, with ede + text */
	VAL_ST_NOCUT = 4,    /* DS kind only: no zone cut at this name */
	VAL_ST_INDET = 5,    /* the fetch failed upstream: indeterminate, briefly */
};

/*
 * A zone key. Its verify context is made at its first verify (crypto.c):
 * RSA and ECDSA keep an EVP_PKEY_CTX set up for verification with the
 * algorithm's digest (the signed data's digest is computed apart), EdDSA
 * an EVP_MD_CTX after EVP_DigestVerifyInit, copied for each verify. Both
 * belong to the thread that owns the validator, like the rest of it.
 */
struct val_key {
	uint16_t tag, flags;
	uint8_t alg;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx; /* RSA, ECDSA: NULL until the first verify */
	EVP_MD_CTX *mctx;   /* EdDSA: NULL until the first verify */
};

struct val_ds {
	uint16_t tag;
	uint8_t alg, dtype, dlen;
	uint8_t digest[48];
};

/*
 * One cache entry: a (name, kind) pair. Owned by the control thread like the
 * rest of struct hf_val; EVP_PKEYs are freed on eviction/replacement.
 */
struct val_entry {
	uint8_t name[HF_DNS_NAME_MAX];
	uint8_t name_len;
	uint8_t kind, state;
	uint8_t n; /* keys or ds used */
	uint16_t ede;
	bool used;
	uint32_t hash;	    /* of its rte_hash key (keycache.c) */
	int32_t prev, next; /* LRU list; next also links the free list */
	uint64_t expires;
	char text[HF_VAL_TEXT_MAX];
	union {
		struct val_key keys[VAL_MAX_KEYS];
		struct val_ds ds[VAL_MAX_DS];
	} u;
};

struct rte_hash;

/* Needs a running EAL: the index is an rte_hash (keycache.c). */
struct val_cache {
	uint32_t cap, count;
	struct rte_hash *h; /* (kind, name) -> index into e */
	struct val_entry *e;
	int32_t lru_head, lru_tail, free_head;
	uint64_t hits, misses, evictions;
};

int val_cache_init(struct val_cache *c, uint32_t cap);
void val_cache_free(struct val_cache *c);
void val_cache_flush(struct val_cache *c);
void val_cache_flush_below(struct val_cache *c, const uint8_t *name, size_t len);
/* Live entry or NULL (expired ones are dropped). Touches the LRU. */
struct val_entry *val_cache_get(struct val_cache *c, const uint8_t *name, size_t len, uint8_t kind,
				uint64_t now);
/* A blank entry for (name, kind), replacing any old one; evicts the LRU
 * tail when full. Never NULL. */
struct val_entry *val_cache_put(struct val_cache *c, const uint8_t *name, size_t len, uint8_t kind);

/* ---- RFC 8198: validated NSEC records kept (aggr.c: which; aggr_store.c:
 * the store and the answers, shared with the workers' copies, hf_aggr.h) ---- */

/* One kept NSEC or NSEC3 RRset, as a node holds it and as the validator
 * exports it (hf_val_keep_fn): this, then data_len bytes of data: zone,
 * owner and next name, then the RRs in wire form (uncompressed, TTL fields
 * zero): the NSEC RRs and their RRSIGs, then the zone's SOA and its
 * RRSIGs. */
struct val_aggr_rec {
	uint64_t expires;      /* s: its TTLs run out (RFC 9077) */
	uint64_t keys_expires; /* s: the zone's validated keys do */
	uint16_t data_len;
	uint16_t bm_off, bm_len;	    /* the type bitmap, in data[] */
	uint16_t rr_off, nsec_len, soa_len; /* the RRs, in data[] */
	uint8_t zone_len, owner_len, next_len;
	uint8_t nsec_rrs, soa_rrs;
	uint8_t is3; /* an NSEC3 (no next name or bitmap offsets) */
};

#define VAL_AGGR_DATA_MAX 4096 /* larger NSEC + SOA sets are not kept */

struct val_aggr_node;
struct val_aggr {
	uint32_t cap, count;		   /* cap 0: off */
	struct val_aggr_node *root;	   /* NSEC treap by (zone, owner), canonical order */
	struct val_aggr_node *root3;	   /* NSEC3 treap, likewise (owner order = hash order) */
	struct val_aggr_node *head, *tail; /* LRU, head most recent */
	uint64_t rnd;			   /* treap priorities */
	uint64_t evictions, nxdomain, nodata;
	uint8_t *pool; /* a worker's: cap slots of slot bytes; NULL: malloc() each */
	uint32_t slot;
	struct val_aggr_node *free; /* the pool's free slots */
};

void val_aggr_init(struct val_aggr *a, uint32_t cap);
/* The same with every node in a pool of cap slots of slot bytes. */
int val_aggr_init_pool(struct val_aggr *a, uint32_t cap, uint32_t slot);
void val_aggr_fini(struct val_aggr *a);
/* Drop the entries whose zone or owner is at or below name (NULL: all). */
void val_aggr_flush_below(struct val_aggr *a, const uint8_t *name, size_t len);
/* Keep record h/data until drop_at (s); 0, HF_EINVAL, HF_ESPACE or HF_ENOMEM. */
int val_aggr_put(struct val_aggr *a, const struct val_aggr_rec *h, const uint8_t *data,
		 uint64_t drop_at);

#define VAL_AGGR_USED 4 /* records one answer uses: NSEC3 NXDOMAIN takes three */

/* One synthesis: the zone, and the records the proof used. */
struct val_synth {
	struct val_aggr *a;
	const uint8_t *zone;
	size_t zlen;
	unsigned zl; /* the zone's labels */
	uint64_t now;
	struct val_aggr_node *used[VAL_AGGR_USED];
	unsigned nused;
};

struct vc;
/* Not for DS, ANY, RRSIG, NSEC or NSEC3 questions. */
bool val_aggr_qtype_ok(uint16_t qtype);
/* The proof for q (lower case) from x->a's records: NSEC, then NSEC3 when
 * nsec3 (c->v's crypto and limits then needed); the rcode it allows, or -1. */
int val_aggr_prove(struct vc *c, struct val_synth *x, const uint8_t *q, size_t qlen, uint16_t qtype,
		   bool nsec3);
/* The response of that proof into out (hf_val_synth's), counted. */
int val_aggr_write(struct val_synth *x, const uint8_t *q, size_t qlen, uint16_t qtype, int rcode,
		   uint8_t *out, size_t size);

/* ---- anchors (anchor.c) ---- */
struct val_anchor {
	uint8_t name[HF_DNS_NAME_MAX];
	uint8_t name_len;
	uint16_t type; /* DS or DNSKEY */
	uint16_t rdlen;
	uint8_t rdata[VAL_ANCHOR_RD];
};

/* Parse presentation text; calls add() per record. Returns 0 or HF_EINVAL
 * with the line in err. */
int val_anchor_parse(const char *text, struct val_anchor *out, unsigned max, unsigned *n, char *err,
		     size_t errlen);
/* The IANA root anchors hf_val_create() loads unless told not to. */
extern const char val_default_anchors[];

/* ---- the context ---- */
struct hf_val {
	struct hf_val_conf conf;
	struct val_crypto cr;
	struct val_cache cache;
	struct val_aggr aggr;
	hf_val_keep_fn keep;
	void *keep_arg;
	unsigned nanchors;
	struct val_anchor anchors[VAL_MAX_ANCHORS];
	struct hf_val_stats st;
	/* scratch, reused by every call */
	struct val_sets sets;
	uint8_t *sbuf;	 /* VAL_SBUF */
	uint8_t *cbuf;	 /* VAL_CBUF */
	struct vc *call; /* per-call state */
};

/* ---- one hf_val_validate() or hf_val_add_keys() call (validator.c) ---- */
#define VAL_MAX_DENY 32

/* What a step of the walk comes to. */
enum { R_SECURE = 0, R_INSECURE, R_BOGUS, R_NEED, R_INDET, R_NODNAME };

struct nsec_view {
	const struct val_rrset *set; /* the RRset in c->s; NULL from aggr.c */
	const uint8_t *owner;
	size_t owner_len;
	uint8_t next[HF_DNS_NAME_MAX];
	size_t next_len;
	const uint8_t *bm;
	size_t bm_len;
	uint32_t ttl;
};

struct nsec3_view {
	const struct val_rrset *set; /* the RRset in c->s; NULL from aggr.c */
	uint8_t hash[20], next[20];
	uint8_t flags;
	uint16_t iter;
	const uint8_t *salt;
	uint8_t salt_len;
	const uint8_t *bm;
	size_t bm_len;
};

struct vc {
	struct hf_val *v;
	const struct hf_dns_msg *m;
	uint64_t now;
	uint32_t now32;
	struct val_sets *s;
	struct hf_val_result *res;
	struct hf_val_need *need;
	uint32_t ttl_cap;
	unsigned verifies;
	unsigned nnsec, nnsec3;
	bool nsec_unsigned; /* an NSEC/NSEC3 without RRSIG was seen */
	/* the zone whose cached DNSKEY/DS set val_zone_keys found bogus
	 * (hf_val_broken_zone), NULL when none */
	const uint8_t *broken;
	size_t broken_len;
	/* aggr.c: NSEC3 look-ups go to the kept records instead of nsec3[]
	 * (match, or cover when cover), with n3_arg; NULL: nsec3[] */
	const struct nsec3_view *(*n3_find)(struct vc *c, const uint8_t h[20], bool cover);
	void *n3_arg;
	struct nsec_view nsec[VAL_MAX_DENY];
	struct nsec3_view nsec3[VAL_MAX_DENY];
};

void val_call_init(struct vc *c, struct hf_val *v, const struct hf_dns_msg *m, uint64_t now,
		   struct hf_val_result *res, struct hf_val_need *nd);

/* ---- results and the chain (chain.c; the anchor look-ups: anchor.c) ---- */
/* Set *c->res's EDE and text (fmt NULL: none); returns r. */
int val_verdict(struct vc *c, int r, uint16_t ede, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Is name under an active Negative Trust Anchor? */
bool val_nta(struct vc *c, const uint8_t *name, size_t len);
/* Deepest anchor zone at or above name: its label count, or -1. */
int val_anchor_zone(const struct hf_val *v, const uint8_t *name, size_t len);
bool val_is_anchor(const struct hf_val *v, const uint8_t *name, size_t len);
/* Keys of the deepest secure zone at or above name: R_SECURE with *out, or
 * R_NEED (c->need set), R_INSECURE, R_BOGUS, R_INDET with the verdict. */
int val_zone_keys(struct vc *c, const uint8_t *name, size_t len, struct val_entry **out);

/* ---- RRSIG checks (chain.c) ---- */
/* Verify RRset set with keys (signer must be zone): R_SECURE (c->ttl_cap
 * lowered, *sig_labels set) or R_BOGUS with the most telling failure. */
int val_verify_set(struct vc *c, const struct val_rrset *set, const uint8_t *zone, size_t zone_len,
		   const struct val_key *keys, unsigned nkeys, unsigned *sig_labels);
/* The signer named by the first usable RRSIG of set, if it is at or above
 * the owner. */
bool val_set_signer(struct vc *c, const struct val_rrset *set, uint8_t *signer, size_t *len);

/* ---- denial of existence (denial.c) ---- */
enum {
	PR_NONE = 0,	/* nothing proven */
	PR_MATCH,	/* a record matches sname: see the bits */
	PR_ENT,		/* sname is an empty non-terminal */
	PR_NX,		/* sname and the wildcard that could expand do not exist */
	PR_NX_NOWILD,	/* sname does not exist; the wildcard is not denied */
	PR_WILD_NODATA, /* sname does not exist; *.ce exists without the type */
	PR_WILD_EXISTS, /* sname does not exist but *.ce has the type */
	PR_OPTOUT,	/* next closer name covered by an opt-out NSEC3 */
	PR_ITER,	/* NSEC3 iterations above the limit */
};

struct proof {
	int kind;
	bool has_type, has_cname, has_ns, has_soa, has_ds, has_dname;
};

/* The authority-section NSEC/NSEC3 RRsets of zone z, verified, into c. */
int val_deny_collect(struct vc *c, const struct val_entry *z);
/* What the collected NSEC/NSEC3 records prove about (sname, qtype). */
void val_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
	       const struct val_entry *z, struct proof *p);
/* The NSEC part of val_prove (for c->nsec[] whatever their source). */
void val_nsec_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
		    unsigned zone_labels, struct proof *p);
/* The NSEC3 part of val_prove: over c->nsec3[] or c->n3_find. */
void val_nsec3_prove(struct vc *c, const uint8_t *sname, size_t slen, uint16_t qtype,
		     unsigned zone_labels, struct proof *p);
/* An NSEC3 at owner (directly below zone) with RDATA rd into n (n->set
 * untouched); false when unusable (other hash or flags, malformed). */
bool val_nsec3_view(const uint8_t *owner, size_t owner_len, const uint8_t *zone, size_t zlen,
		    const uint8_t *rd, size_t rdlen, struct nsec3_view *n);
bool val_nsec3_covers(const struct nsec3_view *n, const uint8_t h[20]);
/* *.<closest encloser> of sname that NSEC cov (covering sname) implies,
 * into w: its length, 0 when too long. */
size_t val_nsec_wildcard(const struct nsec_view *cov, const uint8_t *sname, size_t slen,
			 unsigned zone_labels, uint8_t *w);
/* A secure NXDOMAIN/NODATA proof: keep c->nsec[] of zone z with the SOA
 * (RFC 8198, aggr.c). */
void val_aggr_keep(struct vc *c, const struct val_entry *z, const struct val_rrset *soa);
/* A wildcard expansion: proof that the owner itself does not exist. */
int val_wildcard_proof(struct vc *c, const struct val_rrset *set, unsigned sig_labels,
		       const struct val_entry *z);
/* Deepest signer zone of the authority SOA/NSEC/NSEC3 at or above sname
 * (strictly above when proper). */
bool val_deny_signer(struct vc *c, const uint8_t *sname, size_t slen, bool proper, uint8_t *zone,
		     size_t *zlen);

/* ---- small helpers ---- */
static inline bool val_serial_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* A base32hex/base64/hex decoder's bit accumulator: push `width` bits of
 * v, a byte goes to out when one is full. 0, or -1 when out (room) is full. */
struct val_bits {
	uint32_t acc;
	unsigned bits;
	size_t n;
};

static inline int val_bits_push(struct val_bits *b, uint32_t v, unsigned width, uint8_t *out,
				size_t room)
{
	b->acc = (b->acc << width) | v;
	b->bits += width;
	if (b->bits >= 8) {
		b->bits -= 8;
		if (b->n >= room)
			return -1;
		out[b->n++] = (uint8_t)(b->acc >> b->bits);
		b->acc &= (1u << b->bits) - 1;
	}
	return 0;
}

static inline const char *val_type_str(uint16_t type, char *buf, size_t size)
{
	return hf_dns_type_to_str(type, buf, size);
}

#endif
