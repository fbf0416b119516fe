/* SPDX-License-Identifier: BSD-3-Clause */
/* What the libFuzzer targets share: the entry points and the check. */
#ifndef HF_FUZZ_H
#define HF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/hf_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A failed check traps: libFuzzer reports it as a crash, with the input. */
#define REQUIRE(c)                        \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

/*
 * The message a client gets from stored answer a (hf_dns_answer_build) for
 * the question (qname, qtype, qclass) with DNS ID id: header, question,
 * the stored body, as the dataplane puts them together (TTLs as stored,
 * no OPT). out must hold 64 KiB. Returns its length.
 */
static inline size_t hf_fuzz_answer_msg(uint8_t *out, uint16_t id, const struct hf_dns_answer *a,
					const uint8_t *qname, size_t qname_len, uint16_t qtype,
					uint16_t qclass)
{
	size_t base = HF_DNS_HDR_LEN + qname_len + 4;

	hf_put16(out, id);
	hf_put16(out + 2, (uint16_t)(HF_DNS_QR | a->rcode));
	hf_put16(out + 4, 1);
	hf_put16(out + 6, a->ancount);
	hf_put16(out + 8, a->nscount);
	hf_put16(out + 10, a->arcount);
	memcpy(out + HF_DNS_HDR_LEN, qname, qname_len);
	hf_put16(out + base - 4, qtype);
	hf_put16(out + base - 2, qclass);
	memcpy(out + base, hf_dns_answer_body(a), a->body_len);
	return base + a->body_len;
}

#endif
