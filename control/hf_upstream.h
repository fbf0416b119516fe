/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: what a forwarder's message means for the question it
 * was sent for (forward.c's handle_response decides on it). Pure C: no
 * DPDK, no sockets, so tests/fuzz/fuzz_upstream.c drives it directly.
 */
#ifndef HF_UPSTREAM_H
#define HF_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/hf_cache.h"

enum hf_up_verdict {
	HF_UP_MALFORMED = 0, /* does not parse */
	HF_UP_MISMATCH,	     /* not the answer to this ID and question */
	HF_UP_CASE,	     /* this ID and question, but the name not spelt as sent (0x20) */
	HF_UP_TOO_MANY,	     /* ours (raw ID and question), but too many records to parse */
	HF_UP_TRUNCATED,     /* ours, TC=1 over UDP: ask again over TCP */
	HF_UP_RCODE,	     /* ours, an rcode other than NOERROR and NXDOMAIN */
	HF_UP_ANSWER,	     /* ours, NOERROR or NXDOMAIN: an answer to store */
};

/*
 * Parse the message (wire, len) into m and judge it against the question
 * in key and the query's ID: it must have QR=1, opcode QUERY, that ID, one
 * question, and in it, uncompressed at offset 12, the key's type, class
 * and name, spelt byte for byte as sent (the query's random 0x20 case:
 * key->name_len bytes at sent_name). A name equal but for case is
 * HF_UP_CASE: a forgery that guessed the ID, or a forwarder that does not
 * keep the case.
 * tcp: it came over TCP (TC=1 is then not a reason to retry). m holds the
 * parsed message for MISMATCH, CASE, TRUNCATED, RCODE and ANSWER.
 */
enum hf_up_verdict hf_upstream_check(const struct hf_cache_key *key, const uint8_t *sent_name,
				     uint16_t id, const uint8_t *wire, size_t len, bool tcp,
				     struct hf_dns_msg *m);

#endif
