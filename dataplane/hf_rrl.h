/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: response rate limiting per client prefix, per core
 * (rrl-rate). RSS keeps a client on one core, so each core limits the
 * clients it sees with a table of its own: no locks, no atomics.
 *
 * A slot per prefix (the client's address cut to rrl-ipv4-prefix or
 * rrl-ipv6-prefix bits), direct-mapped by hash: answers counted per second;
 * past rrl-rate in one second an answer is not sent, except every
 * rrl-slip-th one, which goes out empty with TC=1 so that a real client
 * retries over TCP (where no limit applies) while a spoofed victim gets
 * less than it sent. Two prefixes that share a slot reset it in turn: a
 * client may get more than its rate then, never less (docs/decisions.md).
 */
#ifndef HF_RRL_H
#define HF_RRL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dns/hf_crc32c.h"

struct hf_rrl_conf {
	uint32_t rate;	/* answers per second per prefix; 0: off */
	uint32_t slip;	/* every slip-th limited answer goes out with TC=1; 0: none */
	uint8_t plen4;	/* IPv4 prefix length */
	uint8_t plen6;	/* IPv6 prefix length */
	uint32_t slots; /* table size, a power of two */
};

struct hf_rrl_slot {
	uint64_t key; /* the prefix, family in the top byte; 0: free */
	uint32_t sec; /* the second count counts in */
	uint32_t count;
};

enum hf_rrl_verdict { HF_RRL_PASS = 0, HF_RRL_SLIP = 1, HF_RRL_DROP = 2 };

/* The prefix key of an IPv4 (network order) or IPv6 source. */
static inline uint64_t hf_rrl_key4(uint32_t addr_be, uint8_t plen)
{
	uint32_t a = __builtin_bswap32(addr_be);
	uint32_t mask = plen == 0 ? 0 : ~0u << (32 - plen);
	return (4ull << 56) | (a & mask);
}

static inline uint64_t hf_rrl_key6(const uint8_t *addr, uint8_t plen)
{
	uint64_t hi;
	memcpy(&hi, addr, 8);
	hi = __builtin_bswap64(hi);
	/* at most 56 bits of it: the top byte is the family's */
	if (plen > 56)
		plen = 56;
	hi = plen == 0 ? 0 : (hi & (~0ull << (64 - plen))) >> 8;
	return (6ull << 56) | hi;
}

/* Count an answer to the prefix `key` at second `sec` (slots: table of
 * conf->slots). */
static inline enum hf_rrl_verdict
hf_rrl_check(struct hf_rrl_slot *slots, const struct hf_rrl_conf *conf, uint64_t key, uint32_t sec)
{
	struct hf_rrl_slot *s = &slots[hf_crc32c_u64(0, key) & (conf->slots - 1)];
	uint32_t over;
	if (s->key != key || s->sec != sec) {
		s->key = key;
		s->sec = sec;
		s->count = 0;
	}
	if (++s->count <= conf->rate)
		return HF_RRL_PASS;
	over = s->count - conf->rate;
	return conf->slip != 0 && over % conf->slip == 0 ? HF_RRL_SLIP : HF_RRL_DROP;
}

#endif
