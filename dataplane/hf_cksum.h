/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internet checksums (RFC 1071) for answers: 8 bytes per step into a
 * 64-bit accumulator. DPDK 22.11's rte_raw_cksum adds 16 bits per step and
 * was the largest single cost of building an answer (about 15% of a
 * cache hit at 100k names). Sums are kept in native byte order, as
 * rte_raw_cksum's are, so the result is stored with a plain 16-bit store.
 */
#ifndef HF_CKSUM_H
#define HF_CKSUM_H

#include <stdint.h>
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ip.h>

#if RTE_BYTE_ORDER != RTE_LITTLE_ENDIAN
#error "hf_cksum.h assumes a little-endian CPU"
#endif

/* Add len bytes at p to the running sum s (p need not be aligned). On
 * x86_64 the 8-byte words go into one add-with-carry chain, 32 bytes an
 * asm block of 5 instructions, the last carry added back as RFC 1071
 * allows: a 100-byte answer takes 40 instructions fewer than two 32-bit
 * adds a word. (GCC 12 makes 3 or more instructions a word of both
 * _addcarry_u64 and a 128-bit sum.) */
static inline uint64_t hf_cksum_add(const void *buf, size_t len, uint64_t s)
{
	const uint8_t *p = buf;
#ifdef __x86_64__
	struct hf_cksum_32 {
		uint8_t b[32];
	};
	while (len >= 32) {
		__asm__("addq (%[p]), %[s]\n\t"
			"adcq 8(%[p]), %[s]\n\t"
			"adcq 16(%[p]), %[s]\n\t"
			"adcq 24(%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(s)
			: [p] "r"(p), "m"(*(const struct hf_cksum_32 *)(const void *)p)
			: "cc");
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		__asm__("addq (%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(s)
			: [p] "r"(p), "m"(*(const uint64_t *)(const void *)p)
			: "cc");
		p += 8;
		len -= 8;
	}
	/* 33 bits at most: the 4-, 2- and 1-byte steps below cannot overflow */
	s = (s & 0xffffffffu) + (s >> 32);
#else
	while (len >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		s += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
#endif
	if (len >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		s += a;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t a;
		memcpy(&a, p, 2);
		s += a;
		p += 2;
		len -= 2;
	}
	if (len)
		s += *p; /* the odd byte is the high byte of a zero-padded word */
	return s;
}

/* Fold a sum to 16 bits (not complemented). Adding a word to itself
 * rotated by half its width leaves in the top half the two halves' sum
 * with its carry added back: 64 to 32 bits, then 32 to 16, in 8
 * instructions instead of 30. A non-zero sum never folds to 0. */
static inline uint16_t hf_cksum_fold(uint64_t s)
{
	uint32_t x = (uint32_t)((s + (s >> 32 | s << 32)) >> 32);
	return (uint16_t)((x + (x >> 16 | x << 16)) >> 16);
}

/* Fold a sum to 16 bits and complement it; UDP's 0 becomes 0xffff. */
static inline uint16_t hf_cksum_finish_udp(uint64_t s)
{
	uint16_t c = (uint16_t)~hf_cksum_fold(s);
	return c == 0 ? 0xffff : c;
}

#define HF_ANSWER_IP_TTL 64 /* TTL / hop limit of every answer */

/*
 * The header checksum of the 20-byte IPv4 header every answer gets
 * (version/IHL 0x45, TOS 0, ID 0, no fragment, TTL HF_ANSWER_IP_TTL, UDP),
 * from the sum of its two addresses as loaded (swapping them keeps the sum)
 * and its total length. Built from values, not by reading back the header
 * just written, whose stores the loads would wait on.
 */
static inline uint16_t hf_ip4_answer_cksum(uint64_t addrs, uint16_t total_len)
{
	return (uint16_t)~hf_cksum_fold(addrs + rte_cpu_to_be_16(0x4500) +
					rte_cpu_to_be_16(total_len) +
					rte_cpu_to_be_16((HF_ANSWER_IP_TTL << 8) | IPPROTO_UDP));
}

/* The UDP checksum of an IPv4 answer from values: the sums of its
 * addresses and of its ports (as loaded; swapping keeps them), its UDP
 * length (network order: pseudo header and UDP header both carry it) and
 * the payload after the UDP header. */
static inline uint16_t hf_udp4_answer_cksum(uint64_t addrs, uint64_t ports, uint16_t ulen_be,
					    const void *payload, size_t len)
{
	return hf_cksum_finish_udp(hf_cksum_add(payload, len,
						addrs + ports + rte_cpu_to_be_16(IPPROTO_UDP) +
							2u * (uint64_t)ulen_be));
}

/* UDP (or ICMPv6: same pseudo header) checksum over IPv6. */
static inline uint16_t hf_l4_cksum6(const struct rte_ipv6_hdr *ip6, const void *l4, uint16_t len,
				    uint8_t proto)
{
	uint64_t s = hf_cksum_add(ip6->src_addr, 32, 0); /* src and dst are adjacent */
	s += rte_cpu_to_be_32(len);
	s += rte_cpu_to_be_32(proto);
	return hf_cksum_finish_udp(hf_cksum_add(l4, len, s));
}

#endif
