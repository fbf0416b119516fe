/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Messages between worker cores and the control thread.
 *
 * Concurrency contract:
 *  - worker -> control: one single-producer/single-consumer rte_ring per
 *    worker and control thread (control-threads) whose elements are struct
 *    hf_msg_query by value (no memory to reclaim). The worker enqueues a
 *    question on the ring of the thread hf_msg_shard() names for its key
 *    hash, so one question from every core meets in one thread; that
 *    thread dequeues. Control thread 0 is the only producer of what goes
 *    back to the workers (below), whichever thread resolved it.
 *  - control -> worker: one SPSC rte_ring of pointers per worker. Control
 *    allocates a struct hf_msg_ctl, gives it the next sequence number and
 *    enqueues the same pointer on every worker's ring. Workers only read
 *    it. After applying a message, a worker stores its seq into its
 *    hf_worker_shared.applied_seq (release store). Control frees a message
 *    once every worker's applied_seq >= its seq (acquire loads). So no
 *    refcounts and no atomic read-modify-write anywhere.
 *  - A message may carry `res`, an array with one struct hf_msg_result per
 *    worker: worker w writes only res[w], before its release store of
 *    applied_seq; control reads res[w] only after its acquire load of that
 *    applied_seq shows the message applied. Control frees res with the
 *    message.
 *  - struct hf_worker_shared: written only by its worker (plain stores of
 *    naturally aligned 64-bit counters, torn reads impossible on 64-bit
 *    targets), read by control for stats and completion.
 */
#ifndef HF_MSG_H
#define HF_MSG_H

#include "cache/hf_cache.h"
#include "common/hf_counters.h"
#include "common/hf_limits.h"

struct hf_snap_out;

enum hf_msg_type {
	HF_MSG_MISS = 1,    /* worker -> control: resolve this key */
	HF_MSG_REFRESH = 2, /* worker -> control: stale entry wants renewal */
	HF_MSG_FILL = 3,    /* control -> workers: answer for key */
	HF_MSG_FLUSH = 4,   /* control -> workers: drop name/subtree/all */
	HF_MSG_CONFIG = 5,  /* control -> workers: new serve-stale knobs */
	HF_MSG_NTA = 6,	    /* control -> workers: NTA change or repair at key.name (mode) */
	HF_MSG_LOOKUP = 7,  /* control -> workers: report entries for key.name (res) */
	HF_MSG_NOP = 8,	    /* control -> workers: nothing (a barrier: "applied" = seen) */
	HF_MSG_SNAP = 9,    /* control -> workers: worker 0 writes its cache into snap */
	HF_MSG_NSEC = 10, /* control -> workers: a validated NSEC record for the cores' RFC 8198 */
};

/* NSEC and CONFIG: what the workers' RFC 8198 synthesis needs besides the
 * records (validator/hf_aggr.h). */
struct hf_msg_aggr {
	uint8_t on; /* aggressive-nsec; off: the cores drop their records */
	/* CONFIG: new trust anchors (control's validated keys are gone): the
	 * cores drop every record too */
	uint8_t drop_all;
	uint32_t max_ttl, min_ttl, max_negative_ttl; /* the answers' limits, as control's */
	/* NSEC: control's time(NULL) at made_ms, the clock of the record's
	 * times; and the record's length (at `ans`, hf_val_keep_fn's bytes; 0:
	 * the knobs only) */
	uint64_t wall_s;
	uint32_t rec_len;
};

#define HF_LOOKUP_MAX 16 /* entries one worker reports for a cache lookup */

/* What a worker holds for one key (HF_MSG_LOOKUP). */
struct hf_lookup_entry {
	uint16_t qtype;
	uint8_t key_flags; /* HF_KEY_* */
	uint8_t state;	   /* enum hf_lookup_state */
	uint8_t security;  /* enum hf_security */
	uint8_t rcode;
	uint16_t ans_flags; /* HF_ANS_F_* */
	uint16_t ede;	    /* HF_EDE_NONE for none */
	uint16_t nwaiters;
	uint32_t ttl_left; /* s: fresh: to expiry; stale: to the end of the stale window */
};

enum hf_lookup_state {
	HF_LOOKUP_PENDING = 0,
	HF_LOOKUP_FRESH = 1,
	HF_LOOKUP_STALE = 2,
	HF_LOOKUP_FAILURE = 3,
	HF_LOOKUP_EXPIRED = 4, /* past the stale window, not yet reused */
};

/* One worker's reply to a message that asks for one (see res above). */
struct hf_msg_result {
	uint32_t count; /* FLUSH: entries removed or changed (NTA: 0); LOOKUP: matched */
	uint32_t n;	/* LOOKUP: entries reported in e[] (<= HF_LOOKUP_MAX) */
	struct hf_lookup_entry e[HF_LOOKUP_MAX];
} __attribute__((aligned(64)));

struct hf_msg_query {
	uint8_t type;	/* HF_MSG_MISS / HF_MSG_REFRESH */
	uint8_t worker; /* sender's worker index */
	uint16_t pad;
	uint32_t hash;
	struct hf_cache_key key;
} __attribute__((aligned(8)));

/* The control thread (of n) that resolves a question with this key hash:
 * the hash spread evenly over n by a multiply and a shift (no division);
 * always 0 for n = 1. */
static inline unsigned hf_msg_shard(uint32_t hash, unsigned n)
{
	return (unsigned)(((uint64_t)hash * n) >> 32);
}

struct hf_msg_ctl {
	uint64_t seq;
	uint8_t type;
	uint8_t subtree;	   /* FLUSH: whole subtree */
	uint8_t all;		   /* FLUSH: everything */
	uint8_t mode;		   /* FLUSH/NTA: enum hf_flush_mode; LOOKUP: 1 = key.qtype only */
	struct hf_msg_result *res; /* NULL, or one per worker (see above) */
	struct hf_snap_out *snap;  /* SNAP: where worker 0 writes (cache/hf_snap.h) */
	/* FILL: when control made it, on the workers' clock (TSC / tsc-per-ms),
	 * 0 when unknown. Every core ages the entry from this instant, so the
	 * TTLs clients see agree whichever core answers. */
	uint64_t made_ms;
	uint32_t hash;		   /* FILL */
	struct hf_cache_key key;   /* FILL: the question; FLUSH: name in key.name/name_len */
	struct hf_cache_conf conf; /* CONFIG */
	/* CONFIG: the DNS cookie secret (cookie-secret; on: it is set). A new
	 * one becomes current and the current one previous (hf_cookie.h). */
	uint8_t cookie_on;
	uint8_t cookie_secret[HF_COOKIE_SECRET_LEN];
	struct hf_msg_aggr aggr; /* NSEC, CONFIG */
	/* FILL: the stored answer follows (hf_dns_answer_size() bytes); NSEC:
	 * aggr.rec_len bytes of a record instead */
	struct hf_dns_answer ans;
};

struct hf_worker_shared {
	uint64_t applied_seq; /* last control message applied */
	uint64_t waiters;     /* currently parked clients */
	uint64_t cache_entries;
	uint64_t tcp_open, tls_open; /* the transport's connections open now (0 on a UDP core) */
	struct hf_counters ctr;
} __attribute__((aligned(64)));

#endif
