/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dns/: DNS wire format. Pure C, no DPDK, no I/O.
 *
 * Three users:
 *  - the dataplane parses client queries (hf_query_parse, hot path,
 *    static inline in hf_query.h) and writes OPT/EDE (hf_dns_opt_put);
 *  - control parses whole upstream responses (hf_dns_msg_parse) and turns
 *    them into a stored answer (hf_dns_answer_build);
 *  - the cache keeps stored answers and the dataplane copies them out.
 *
 * Every reader is bounded by the length it is given; compression pointers
 * must point strictly backwards (no loops) and are never followed in queries.
 */
#ifndef HF_DNS_H
#define HF_DNS_H

#include <string.h>

#include "common/hf_common.h"

#define HF_DNS_HDR_LEN	 12
#define HF_DNS_NAME_MAX	 255 /* wire length, including the root label */
#define HF_DNS_LABEL_MAX 63
#define HF_DNS_UDP_MIN	 512 /* payload size without EDNS */
#define HF_DNS_MSG_MAX	 65535

/* header flag bits in the second 16-bit word (host order) */
#define HF_DNS_QR	   0x8000
#define HF_DNS_OPCODE_MASK 0x7800
#define HF_DNS_AA	   0x0400
#define HF_DNS_TC	   0x0200
#define HF_DNS_RD	   0x0100
#define HF_DNS_RA	   0x0080
#define HF_DNS_Z	   0x0040
#define HF_DNS_AD	   0x0020
#define HF_DNS_CD	   0x0010
#define HF_DNS_RCODE_MASK  0x000f

enum hf_dns_rcode {
	HF_RCODE_NOERROR = 0,
	HF_RCODE_FORMERR = 1,
	HF_RCODE_SERVFAIL = 2,
	HF_RCODE_NXDOMAIN = 3,
	HF_RCODE_NOTIMP = 4,
	HF_RCODE_REFUSED = 5,
	HF_RCODE_BADVERS = 16,	 /* extended: upper 8 bits go in OPT TTL */
	HF_RCODE_BADCOOKIE = 23, /* extended (RFC 7873): 7 in the header, 1 in the OPT */
};

enum hf_dns_type {
	HF_TYPE_A = 1,
	HF_TYPE_NS = 2,
	HF_TYPE_CNAME = 5,
	HF_TYPE_SOA = 6,
	HF_TYPE_PTR = 12,
	HF_TYPE_MX = 15,
	HF_TYPE_TXT = 16,
	HF_TYPE_AAAA = 28,
	HF_TYPE_SRV = 33,
	HF_TYPE_DNAME = 39,
	HF_TYPE_OPT = 41,
	HF_TYPE_DS = 43,
	HF_TYPE_RRSIG = 46,
	HF_TYPE_NSEC = 47,
	HF_TYPE_DNSKEY = 48,
	HF_TYPE_NSEC3 = 50,
	HF_TYPE_NSEC3PARAM = 51,
	HF_TYPE_IXFR = 251,
	HF_TYPE_AXFR = 252,
	HF_TYPE_MAILB = 253,
	HF_TYPE_MAILA = 254,
	HF_TYPE_ANY = 255,
};

#define HF_CLASS_IN 1
#define HF_CLASS_CH 3

#define HF_EDNS_DO	    0x8000 /* in the low 16 bits of the OPT TTL */
#define HF_EDNS_OPT_EDE	    15
#define HF_EDNS_OPT_COOKIE  10
#define HF_EDNS_OPT_PADDING 12

/* RFC 8914 info codes holdfast uses. HF_EDE_NONE: no EDE option. */
enum hf_ede {
	HF_EDE_OTHER = 0,
	HF_EDE_UNSUPPORTED_DNSKEY_ALG = 1,
	HF_EDE_UNSUPPORTED_DS_DIGEST = 2,
	HF_EDE_STALE_ANSWER = 3,
	HF_EDE_DNSSEC_INDETERMINATE = 5,
	HF_EDE_DNSSEC_BOGUS = 6,
	HF_EDE_SIGNATURE_EXPIRED = 7,
	HF_EDE_SIGNATURE_NOT_YET_VALID = 8,
	HF_EDE_DNSKEY_MISSING = 9,
	HF_EDE_RRSIGS_MISSING = 10,
	HF_EDE_NSEC_MISSING = 12,
	HF_EDE_CACHED_ERROR = 13,
	HF_EDE_PROHIBITED = 18,
	HF_EDE_STALE_NXDOMAIN = 19,
	HF_EDE_NO_REACHABLE_AUTHORITY = 22,
	HF_EDE_NETWORK_ERROR = 23,
	HF_EDE_UNSUPPORTED_NSEC3_ITER = 27, /* RFC 9276: NSEC3 iterations above our limit */
	HF_EDE_SYNTHESIZED = 29, /* an answer synthesized from validated NSEC records (RFC 8198) */
	HF_EDE_NONE = 0xffff,
};

/* ---- byte helpers (big endian, unaligned-safe) ---- */
/* One load or store and a byte swap each (GCC 12 did not merge the byte
 * stores of a byte-at-a-time version: 4 stores per put32 on the packet path). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HF_BE16(v) __builtin_bswap16(v)
#define HF_BE32(v) __builtin_bswap32(v)
#else
#define HF_BE16(v) (v)
#define HF_BE32(v) (v)
#endif
static inline uint16_t hf_get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return HF_BE16(v);
}
static inline uint32_t hf_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return HF_BE32(v);
}
static inline void hf_put16(uint8_t *p, uint16_t v)
{
	v = HF_BE16(v);
	memcpy(p, &v, 2);
}
static inline void hf_put32(uint8_t *p, uint32_t v)
{
	v = HF_BE32(v);
	memcpy(p, &v, 4);
}

/* ASCII lower-casing table for names (bytes >= 0x80 unchanged). */
extern const uint8_t hf_dns_lower[256];

/* ---- names (dns/name.c) ---- */

/*
 * Read the (possibly compressed) name at msg[*pos], msg_len bytes in all.
 * Writes the uncompressed wire form (case kept) to out (HF_DNS_NAME_MAX
 * bytes room) and its length to *out_len; advances *pos past the name as it
 * stands at *pos. Pointers must point strictly before the current label.
 * Returns 0 or HF_EMALFORMED.
 */
int hf_dns_name_unpack(const uint8_t *msg, size_t msg_len, size_t *pos, uint8_t *out,
		       size_t *out_len);
/* Advance *pos past a (possibly compressed) name without copying it. */
int hf_dns_name_skip(const uint8_t *msg, size_t msg_len, size_t *pos);
/* Lower-case an uncompressed wire name in place. */
void hf_dns_name_lower(uint8_t *name, size_t len);
/* Case-insensitive equality of two uncompressed wire names. */
bool hf_dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Is `name` equal to or below `parent` (both uncompressed wire form)? */
bool hf_dns_name_is_sub(const uint8_t *name, size_t len, const uint8_t *parent, size_t plen);
/* Labels of an uncompressed wire name (the root: 0). */
unsigned hf_dns_name_labels(const uint8_t *name, size_t len);
/* Is one of a and b equal to or below the other (one on the other's path to
 * the root)? */
bool hf_dns_name_on_path(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Presentation form ("www.example.", "." for the root), escaping as RFC 1035
 * does. Returns the string length or HF_ESPACE. */
int hf_dns_name_to_str(const uint8_t *name, size_t len, char *buf, size_t size);
/* The same for log lines and replies: buf, holding "?" if name does not fit
 * or is not a name. size >= 2. */
const char *hf_dns_name_str(const uint8_t *name, size_t len, char *buf, size_t size);
/* Parse presentation form ("www.example" or "www.example.") to wire form.
 * Returns 0, HF_EINVAL (bad syntax/too long). */
int hf_dns_name_from_str(const char *str, uint8_t *out, size_t *out_len);
/* Type mnemonic ("A", "AAAA", "TYPE65000") <-> number. */
int hf_dns_type_from_str(const char *str, uint16_t *type);
const char *hf_dns_type_to_str(uint16_t type, char *buf, size_t size);

/* ---- OPT / EDE writing (hot path, inline) ---- */

/*
 * Write an OPT RR at p (room bytes available): owner root, our UDP size,
 * extended rcode high bits, version 0, DO echoed, and when ede !=
 * HF_EDE_NONE one EDE option with info code `ede` and `text_len` bytes of
 * UTF-8 extra text. Returns bytes written or 0 when it does not fit.
 */
static inline size_t hf_dns_opt_put(uint8_t *p, size_t room, uint16_t udp_size, uint8_t ext_rcode,
				    bool do_bit, uint16_t ede, const uint8_t *text,
				    uint16_t text_len)
{
	size_t need = 11 + (ede != HF_EDE_NONE ? 6u + text_len : 0u);
	if (HF_UNLIKELY(need > room))
		return 0;
	p[0] = 0;
	hf_put16(p + 1, HF_TYPE_OPT);
	hf_put16(p + 3, udp_size);
	p[5] = ext_rcode;
	p[6] = 0;
	hf_put16(p + 7, do_bit ? HF_EDNS_DO : 0);
	if (ede == HF_EDE_NONE) {
		hf_put16(p + 9, 0);
		return 11;
	}
	hf_put16(p + 9, (uint16_t)(6 + text_len));
	hf_put16(p + 11, HF_EDNS_OPT_EDE);
	hf_put16(p + 13, (uint16_t)(2 + text_len));
	hf_put16(p + 15, ede);
	for (uint16_t i = 0; i < text_len; i++)
		p[17 + i] = text[i];
	return need;
}

/* ---- whole messages (dns/msg.c), for control ---- */

#define HF_DNS_MSG_MAX_RR 512

enum hf_dns_section { HF_SEC_ANSWER = 0, HF_SEC_AUTHORITY = 1, HF_SEC_ADDITIONAL = 2 };

struct hf_dns_rr {
	uint16_t owner_off; /* offset of the owner name (may be compressed) */
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
	uint32_t ttl;
	uint16_t ttl_off;   /* offset of the TTL field */
	uint16_t rdata_off; /* offset of RDATA */
	uint8_t section;    /* enum hf_dns_section */
};

/* A parsed view of a whole message; `wire` is borrowed, not copied. */
struct hf_dns_msg {
	const uint8_t *wire;
	size_t len;
	uint16_t id;
	uint16_t flags; /* header flags word, host order */
	uint16_t rcode; /* 12-bit rcode (header + OPT extension) */
	uint16_t qdcount, ancount, nscount, arcount;
	uint8_t qname[HF_DNS_NAME_MAX]; /* as on the wire (case kept) */
	uint8_t qname_len;		/* 0 when qdcount == 0 */
	uint16_t qtype, qclass;
	uint16_t question_end; /* offset just past the question */
	bool has_opt;
	uint16_t opt_udp_size;
	bool opt_do;
	uint8_t opt_version;
	uint16_t opt_rr; /* index in rr[] of the OPT RR when has_opt */
	uint16_t ede;	 /* first EDE info code seen, or HF_EDE_NONE */
	/* the first COOKIE option's value (RFC 7873): offset in wire and
	 * length; cookie_off 0 when there is none */
	uint16_t cookie_off, cookie_len;
	uint16_t nrr; /* all RRs of the three sections, in order */
	struct hf_dns_rr rr[HF_DNS_MSG_MAX_RR];
};

/*
 * Parse a complete message: header, at most one question, every RR of the
 * three sections (names checked, RDATA bounds checked, RDATA names of the
 * RFC 1035 types checked), at most one OPT (in additional, root owner).
 * Trailing bytes after the last RR are malformed. Returns 0, HF_EMALFORMED,
 * or HF_ENOTSUP when there are more than HF_DNS_MSG_MAX_RR records.
 */
int hf_dns_msg_parse(const uint8_t *wire, size_t len, struct hf_dns_msg *m);

/*
 * Where domain names sit in the RDATA of `type`: a list of steps, each a
 * fixed byte count (1..127) or a name, ending with HF_RDF_END exactly at the
 * end of the RDATA. HF_RDF_CNAME names may be compressed on the wire and are
 * compressed on output (the RFC 1035 types); HF_RDF_NAME names are
 * decompressed when read but never compressed on output (RFC 3597 section 4:
 * SRV, DNAME, RP, AFSDB, RT, PX, KX). NULL: RDATA is opaque (copied as is).
 */
#define HF_RDF_END   0x00
#define HF_RDF_CNAME 0x80
#define HF_RDF_NAME  0x81
const uint8_t *hf_dns_rdata_layout(uint16_t type);

/* Build a query: id, flags (RD/CD/AD), qname (wire), qtype, qclass, and an
 * OPT with udp_size and DO when edns. Returns length or HF_ESPACE. */
int hf_dns_query_build(uint8_t *buf, size_t size, uint16_t id, uint16_t flags, const uint8_t *qname,
		       size_t qname_len, uint16_t qtype, uint16_t qclass, bool edns,
		       uint16_t udp_size, bool do_bit);

/* ---- stored answers ---- */

enum hf_answer_kind {
	HF_ANS_POSITIVE = 0, /* NOERROR with data in the answer section */
	HF_ANS_NODATA = 1,   /* NOERROR, no data for this type */
	HF_ANS_NXDOMAIN = 2,
	HF_ANS_FAILURE = 3, /* SERVFAIL or other failure, with an EDE */
};

/* hf_dns_answer.flags */
#define HF_ANS_F_NTA 0x0001 /* insecure because of a Negative Trust Anchor (RFC 7646) */
/* A fetches-per-zone refusal (control/forward.c): the zone is the question
 * name from the offset in the flags' high byte (HF_ANS_ZONE_OFF). */
#define HF_ANS_F_ZONE_LIMITED  0x0002
#define HF_ANS_ZONE_OFF(flags) ((unsigned)(flags) >> 8)
#define HF_ANS_ZONE_FLAGS(off) ((uint16_t)(HF_ANS_F_ZONE_LIMITED | ((unsigned)(off) << 8)))

enum hf_security {
	HF_SECURITY_INSECURE = 0, /* not validated, or provably insecure */
	HF_SECURITY_SECURE = 1,
	HF_SECURITY_BOGUS = 2,
	HF_SECURITY_INDETERMINATE = 3,
};

/*
 * A stored answer: the sections that follow the question, ready to copy
 * behind a client's header and question. Compression pointers in body[] are
 * valid for a message whose question (qname of the key's length, then
 * type and class) starts at offset 12, so any client question with the same
 * name (in any case) and type can precede it. The OPT RR is never stored:
 * the dataplane writes its own.
 *
 * Layout, one contiguous block of hf_dns_answer_size() bytes:
 *   struct hf_dns_answer | uint16_t ttl_off[nttl] | body[body_len] | ede_text[ede_text_len]
 * ttl_off[i] is the offset, within body, of a TTL field the dataplane
 * rewrites (original TTL - age, or the stale TTL).
 */
struct hf_dns_answer {
	uint8_t rcode;	  /* 4-bit header rcode */
	uint8_t kind;	  /* enum hf_answer_kind */
	uint8_t security; /* enum hf_security */
	uint8_t qname_len;
	uint16_t ede; /* info code, HF_EDE_NONE for none */
	uint16_t ede_text_len;
	uint16_t ancount, nscount, arcount;
	uint16_t nttl;
	uint16_t body_len;
	uint16_t flags; /* HF_ANS_F_* */
	uint32_t ttl;	/* lifetime in seconds: min TTL of the answer (or the negative TTL) */
};

static inline uint16_t *hf_dns_answer_ttl_offs(const struct hf_dns_answer *a)
{
	return (uint16_t *)(uintptr_t)(a + 1);
}
static inline uint8_t *hf_dns_answer_body(const struct hf_dns_answer *a)
{
	return (uint8_t *)(hf_dns_answer_ttl_offs(a) + a->nttl);
}
static inline uint8_t *hf_dns_answer_ede_text(const struct hf_dns_answer *a)
{
	return hf_dns_answer_body(a) + a->body_len;
}
static inline size_t hf_dns_answer_size(const struct hf_dns_answer *a)
{
	return sizeof(*a) + 2u * a->nttl + a->body_len + a->ede_text_len;
}

struct hf_dns_answer_limits {
	uint32_t max_ttl;	   /* cap for positive TTLs (s) */
	uint32_t min_ttl;	   /* floor for positive TTLs (s) */
	uint32_t max_negative_ttl; /* cap for NXDOMAIN/NODATA (s) */
	/* Added for DNSSEC (zero: off, so older initialisers keep meaning). */
	bool cap_ttl;	   /* cap the lifetime and every stored TTL at ttl_cap */
	uint32_t ttl_cap;  /* (s) validated data: RRSIG original TTL/expiration */
	bool strip_dnssec; /* drop RRSIGs (unless qtype RRSIG) and authority
			    * NSEC/NSEC3 (unless qtype is that type): a client
			    * without DO did not ask for them (RFC 4035 3.2.1) */
};

/*
 * Turn a parsed upstream response `m` (the answer to the question in it)
 * into a stored answer, written to out (size bytes room). Decides the kind
 * from rcode and sections; positive TTL = min TTL of the answer section
 * clamped to the limits; negative TTL (RFC 2308) = min(SOA TTL, SOA
 * MINIMUM) from the authority section, capped, and the SOA's TTL field is
 * rewritten to it (no SOA: negative TTL 0). Every RR except OPT is kept,
 * but for answer-section records outside the answer chain (owner neither
 * the question name nor a name CNAMEs/DNAMEs lead it to; a DNAME and its
 * RRSIG are kept when owned by an ancestor of a chain name), which are
 * scrubbed; names are re-encoded with compression. security = INSECURE, ede = NONE;
 * the caller sets those. lim->cap_ttl: the lifetime and every record's
 * TTL are capped at lim->ttl_cap last (it wins over min_ttl);
 * lim->strip_dnssec: DNSSEC records the client did not ask for are left
 * out (see the field). Returns the stored size, HF_ESPACE or
 * HF_EMALFORMED.
 */
int hf_dns_answer_build(const struct hf_dns_msg *m, const struct hf_dns_answer_limits *lim,
			uint8_t *out, size_t size);

/* A failure answer (no records): rcode, ede and text, lifetime ttl. */
int hf_dns_answer_failure(uint8_t *out, size_t size, uint8_t qname_len, uint8_t rcode, uint16_t ede,
			  const char *text, uint32_t ttl);

#endif
