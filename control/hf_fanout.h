/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the messages from control to every worker (FILL,
 * FLUSH, NTA, CONFIG, LOOKUP) and their reclamation.
 *
 * Ring contract (common/hf_msg.h): a control message is one malloc()ed
 * struct hf_msg_ctl whose pointer goes, with the next sequence number, on
 * every worker's SPSC to_worker ring. A worker that applied it release-
 * stores its seq into shared->applied_seq. The fan-out keeps every message
 * it sent in `sent` (seq order) and frees the oldest ones once every
 * worker's applied_seq (acquire load) has reached them. A full ring never
 * blocks and never drops: the message waits in that worker's backlog,
 * which is retried on every pass before anything newer is enqueued, so
 * each worker still sees messages in seq order. Control thread only.
 */
#ifndef HF_FANOUT_H
#define HF_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hf_msg.h"

struct rte_ring;

/* A FIFO of pointers that grows as needed. */
struct hf_ptrq {
	void **v;
	size_t cap, head, n;
};

int hf_ptrq_push(struct hf_ptrq *q, void *p);
static inline void *hf_ptrq_peek(const struct hf_ptrq *q)
{
	return q->n ? q->v[q->head] : NULL;
}
void *hf_ptrq_pop(struct hf_ptrq *q);
void hf_ptrq_free(struct hf_ptrq *q);

struct hf_fanout {
	unsigned nw;
	struct rte_ring **to_worker;	  /* [nw] */
	struct hf_worker_shared **shared; /* [nw] */
	struct hf_ptrq *backlog;	  /* [nw]: messages a full ring could not take yet */
	struct hf_ptrq sent;		  /* every message not yet freed, in seq order */
	uint64_t next_seq;
	uint64_t tsc_per_ms; /* the workers' clock (FILL stamps); 0: none */
	struct hf_control_stats *st;
};

/* The arrays are copied. 0 or HF_ENOMEM. */
int hf_fanout_init(struct hf_fanout *o, unsigned nw, struct rte_ring *const *to_worker,
		   struct hf_worker_shared *const *shared, uint64_t tsc_per_ms,
		   struct hf_control_stats *st);
/* Only after the workers have stopped: frees what they may not have read. */
void hf_fanout_fini(struct hf_fanout *o);

/* Give m (malloc()ed; freed once applied, or now on error) the next seq
 * and queue it for every worker. 0 or HF_ENOMEM. */
int hf_fanout_send(struct hf_fanout *o, struct hf_msg_ctl *m);
/* A FILL of key with answer a, stamped with the workers' clock. */
int hf_fanout_fill(struct hf_fanout *o, const struct hf_cache_key *key, uint32_t hash,
		   const struct hf_dns_answer *a);
/* The same in two steps, for a FILL another thread made (control-threads):
 * the message (malloc()ed, stamped with the clock tsc_per_ms; NULL when out
 * of memory), any thread; then sent and counted, control thread only. */
struct hf_msg_ctl *hf_fill_msg(const struct hf_cache_key *key, uint32_t hash,
			       const struct hf_dns_answer *a, uint64_t tsc_per_ms);
int hf_fanout_send_fill(struct hf_fanout *o, struct hf_msg_ctl *m);
/* Has every worker applied message seq? */
bool hf_fanout_applied(const struct hf_fanout *o, uint64_t seq);
/* The seq the last message got (0 before the first). */
static inline uint64_t hf_fanout_last_seq(const struct hf_fanout *o)
{
	return o->next_seq;
}
/* Per pass: retry the backlogs, free what every worker applied. True if
 * anything moved. */
bool hf_fanout_pass(struct hf_fanout *o);

#endif
