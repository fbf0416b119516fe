/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared helpers of holdfast's micro and per-core benchmarks (bench/micro.c,
 * bench/per_core.c): benchmark names, hand-made upstream responses turned
 * into stored answers, query frames built byte by byte with valid
 * checksums, and a worker with its rings and cache, filled the way control
 * fills it (FILL messages through the from_control ring).
 *
 * Concurrency contract: everything here runs on the one thread that calls
 * hf_bench_run(); a struct hf_bd_worker is that thread's, exactly as a
 * struct hf_worker belongs to one lcore. Nothing is shared.
 */
#ifndef HF_BENCH_DNS_H
#define HF_BENCH_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/hf_dataplane.h"

/*
 * Every benchmark name has the same wire length: one 8-byte label, then
 * "bench.example." (24 bytes), so a plain query is 40 bytes of DNS and an
 * EDNS one 51. kind 'n': hot names ("n0000042", decimal), 'f': cold
 * filler names, 'm': names that are never cached (hex, 268M of them).
 */
#define HF_BD_NAME_LEN	24
#define HF_BD_DNS_OFF	42 /* Ethernet 14 + IPv4 20 + UDP 8 */
#define HF_BD_NAME_OFF	(HF_BD_DNS_OFF + 12)
#define HF_BD_FRAME_MAX 128
#define HF_BD_TTL	86400u /* answers never expire during a run */

void hf_bd_name(uint8_t *out, char kind, uint32_t i);

/* The IPv4 address a hot name's A record carries (checked by the benchmarks). */
static inline uint32_t hf_bd_addr(uint32_t i)
{
	return 0x0a000000u | (i & 0x00ffffffu); /* 10.x.y.z, host order */
}

/*
 * Build a stored answer as control does: a hand-made upstream response
 * (NOERROR, one A record addr with ttl), hf_dns_msg_parse and
 * hf_dns_answer_build. Returns the answer size or a negative HF_E*.
 */
int hf_bd_answer(uint8_t *out, size_t size, const uint8_t *name, uint32_t addr, uint32_t ttl);

/* A query frame: Ethernet, IPv4, UDP to port 53 of the service address,
 * DNS query (RD, type A, class IN) for name, with an OPT (udp 1232, DO
 * clear) when edns. IPv4 and UDP checksums are valid. Returns its length. */
size_t hf_bd_frame(uint8_t *buf, const uint8_t *name, uint16_t id, bool edns);
/* A COOKIE option with data[0..n) appended to the (empty) OPT of an EDNS
 * frame of len bytes, lengths and the IPv4 checksum fixed (the UDP
 * checksum is left as it was); the new length. */
size_t hf_bd_add_cookie(uint8_t *frame, size_t len, const uint8_t *data, uint16_t n);

/* The unfolded one's complement sum of len (even) bytes, 16-bit words as
 * they lie in memory. */
static inline uint32_t hf_bd_sum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;
	for (unsigned i = 0; i < len; i += 2) {
		uint16_t v;
		__builtin_memcpy(&v, p + i, 2);
		s += v;
	}
	return s;
}

static inline uint16_t hf_bd_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Check an answer frame: IPv4/UDP checksums right, QR=1, rcode 0, one A
 * record whose address is want_addr. Returns NULL or what is wrong. */
const char *hf_bd_check_answer(const uint8_t *p, uint32_t len, uint32_t want_addr);

/* A worker, its rings and its configuration. */
struct hf_bd_worker {
	struct hf_dp_conf conf;
	struct hf_port port;
	struct hf_worker w;
	struct hf_worker_shared *shared;
	struct rte_ring *to_control;   /* hf_msg_query elements */
	struct rte_ring *from_control; /* hf_msg_ctl pointers */
	volatile bool stop;
	bool up;
	/* FILL messages: a pool reused once the worker's applied_seq passes them */
	struct hf_msg_ctl **msgs;
	unsigned nmsgs, next_msg;
	uint64_t seq;
};

/*
 * Cache configuration for `entries` keys whose answers take the 256-byte
 * size class: memory large enough that the 256-byte class alone has a
 * slot per key (it gets 35% of the memory after the per-class minimum).
 */
void hf_bd_cache_conf(struct hf_cache_conf *cc, uint32_t entries);

/* Set up a worker with port (port_id, mac; software checksums) and the
 * cache of cc. Returns 0 or -1 with err set. */
int hf_bd_worker_init(struct hf_bd_worker *bw, const char *tag, uint16_t port_id,
		      const struct hf_cache_conf *cc, char *err, size_t errlen);
void hf_bd_worker_fini(struct hf_bd_worker *bw);

/* A FILL message from the pool (never one the worker has not applied yet),
 * with its key, hash and answer set; NULL when every message is in flight.
 * Enqueue it with hf_bd_send_ctl. */
struct hf_msg_ctl *hf_bd_fill_msg(struct hf_bd_worker *bw, const struct hf_cache_key *key,
				  uint32_t hash, const struct hf_dns_answer *a);
/* Put a message on the worker's from_control ring; false when full. */
bool hf_bd_send_ctl(struct hf_bd_worker *bw, struct hf_msg_ctl *m);

/* Key of name (qtype A, class IN, no flags) and its hash. */
void hf_bd_key(struct hf_cache_key *k, const uint8_t *name);

/*
 * Fill n names of `kind` (indexes first..first+n-1) as control would: a
 * stored answer per name, FILL messages in bursts through the
 * from_control ring, hf_worker_poll_control after each burst. Returns 0
 * or -1 with err set.
 */
int hf_bd_warm(struct hf_bd_worker *bw, char kind, uint32_t first, uint32_t n, char *err,
	       size_t errlen);

/* HF_BENCH_SMOKE=1 in the environment: small workloads only (CI). */
bool hf_bd_smoke(void);

#endif
