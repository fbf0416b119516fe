/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client query parsing: the dataplane's hot path. static inline, bounded by
 * len, never follows compression pointers (a pointer in a query's qname is
 * FORMERR), and writes the lower-cased qname straight into the caller's
 * buffer (the cache key) in the same pass.
 */
#ifndef HF_QUERY_H
#define HF_QUERY_H

#include "dns/hf_crc32c.h"
#include "dns/hf_dns.h"

enum hf_query_verdict {
	HF_Q_OK = 0,	  /* a query we answer or resolve */
	HF_Q_DROP = 1,	  /* no trustworthy header (short, or QR=1): count and drop */
	HF_Q_FORMERR = 2, /* header sane, rest malformed */
	HF_Q_NOTIMP = 3,  /* opcode other than QUERY, or zone-transfer/meta qtypes */
	HF_Q_REFUSED = 4, /* class other than IN */
	HF_Q_BADVERS = 5, /* EDNS version other than 0 */
};

/*
 * qtype and qclass are not next to each other on purpose: the worker
 * copies both into the cache key right after the parser stored them, and
 * side by side the compiler reads them as one 4-byte load, which cannot
 * be forwarded from the two 2-byte stores and waits for them to retire
 * (3% of a 100k hit).
 */
struct hf_query {
	uint16_t id;
	uint16_t flags; /* header flags word as received, host order */
	uint16_t qtype;
	uint16_t question_end; /* offset just past the question: 12 + qname_len + 4 */
	uint16_t qclass;
	uint16_t udp_size; /* client's EDNS payload size (>= 512), 512 without EDNS */
	uint8_t qname_len; /* wire length of the qname, root label included */
	uint8_t has_edns;
	uint8_t do_bit;
	uint8_t edns_version;
	uint32_t name_crc; /* hf_crc32c() of the lowered qname: the key hash's start */
	/* the first COOKIE option's data (RFC 7873): its offset in the
	 * message and length (8 or 16..40); cookie_off 0 when there is none */
	uint16_t cookie_off;
	uint8_t cookie_len;
};

/* Bytes the parser may write at lname: the name and the rest of its last 8-byte word. */
#define HF_QUERY_LNAME_SIZE (HF_DNS_NAME_MAX + 1)

/*
 * Parse the DNS message p[0..len). On HF_Q_OK, q is complete and
 * lname[0..qname_len) holds the lower-cased qname (lname needs
 * HF_QUERY_LNAME_SIZE bytes) and q->name_crc its CRC32-C. On FORMERR/NOTIMP/REFUSED/BADVERS, q->id,
 * q->flags are valid, and so is everything up to what failed
 * (has_edns/udp_size/do_bit are set if the OPT parsed, so the error
 * reply can carry an OPT). Rules:
 *   len < 12 or QR=1            -> DROP
 *   opcode != 0                 -> NOTIMP
 *   qdcount != 1, ancount != 0, nscount != 0, arcount > 1 -> FORMERR
 *   qname: labels only (0xC0 pointers and 0x40/0x80 types -> FORMERR),
 *          label <= 63, name <= 255, must end inside the packet
 *   qtype 41 (OPT) -> FORMERR; qtype 251..254 -> NOTIMP
 *   arcount == 1: must be OPT with root owner, rdata options well formed
 *          (each option header and length inside rdlen), else FORMERR;
 *          a COOKIE option (10) of a length other than 8 or 16..40 ->
 *          FORMERR with the OPT facts set (RFC 7873 5.2.2); the first
 *          COOKIE's data is located in cookie_off/cookie_len;
 *          version != 0 -> BADVERS; udp size < 512 counts as 512
 *   bytes after the last record -> FORMERR
 *   qclass != IN -> REFUSED (checked after the OPT parse)
 * Cost: about 2 cycles per qname byte plus ~30 fixed.
 */
static inline enum hf_query_verdict hf_query_parse(const uint8_t *p, uint16_t len,
						   struct hf_query *q, uint8_t *lname);

#include "dns/hf_query_impl.h"

#endif
