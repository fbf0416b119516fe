/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast control/: the fan-out of control messages to every worker and
 * their reclamation (control/hf_fanout.h has the contract). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ring.h>

#include "common/hf_log.h"
#include "control/hf_fanout.h"

/* ---- pointer FIFO ---- */

int hf_ptrq_push(struct hf_ptrq *q, void *p)
{
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		void **nv = malloc(ncap * sizeof(void *));
		if (nv == NULL)
			return hf_error(HF_ENOMEM);
		for (size_t i = 0; i < q->n; i++)
			nv[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = nv;
		q->cap = ncap;
		q->head = 0;
	}
	q->v[(q->head + q->n) % q->cap] = p;
	q->n++;
	return 0;
}

void *hf_ptrq_pop(struct hf_ptrq *q)
{
	void *p;
	if (q->n == 0)
		return NULL;
	p = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return p;
}

void hf_ptrq_free(struct hf_ptrq *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* ---- fan-out ---- */

int hf_fanout_send(struct hf_fanout *o, struct hf_msg_ctl *m)
{
	if (hf_ptrq_push(&o->sent, m) != 0) {
		free(m);
		return hf_error(HF_ENOMEM);
	}
	m->seq = ++o->next_seq;
	o->st->broadcasts++;
	for (unsigned w = 0; w < o->nw; w++) {
		/* Something older is still waiting: queue behind it to keep order. */
		if (o->backlog[w].n == 0 && rte_ring_enqueue(o->to_worker[w], m) == 0)
			continue;
		o->st->backlogged++;
		if (hf_ptrq_push(&o->backlog[w], m) != 0) {
			/* Out of memory: the worker never sees m. Its applied_seq
			 * still moves past m with later messages, so m is freed. */
			hf_log(HF_LOG_ERR,
			       "control: out of memory, worker %u misses "
			       "message %llu",
			       w, (unsigned long long)m->seq);
		}
	}
	return 0;
}

/* Retry every backlog; true if something moved. */
static bool flush_backlogs(struct hf_fanout *o)
{
	bool moved = false;
	for (unsigned w = 0; w < o->nw; w++) {
		struct hf_ptrq *b = &o->backlog[w];
		while (b->n != 0 && rte_ring_enqueue(o->to_worker[w], hf_ptrq_peek(b)) == 0) {
			hf_ptrq_pop(b);
			moved = true;
		}
	}
	return moved;
}

static uint64_t min_applied(const struct hf_fanout *o)
{
	uint64_t min = UINT64_MAX;
	for (unsigned w = 0; w < o->nw; w++) {
		uint64_t a = __atomic_load_n(&o->shared[w]->applied_seq, __ATOMIC_ACQUIRE);
		if (a < min)
			min = a;
	}
	return min; /* UINT64_MAX without workers: everything is applied */
}

bool hf_fanout_applied(const struct hf_fanout *o, uint64_t seq)
{
	return min_applied(o) >= seq;
}

/* Free every message all workers have applied. */
static bool collect(struct hf_fanout *o)
{
	uint64_t done;
	bool freed = false;
	struct hf_msg_ctl *m = hf_ptrq_peek(&o->sent);
	if (m == NULL)
		return false;
	done = min_applied(o);
	while (m != NULL && m->seq <= done) {
		free(hf_ptrq_pop(&o->sent));
		freed = true;
		m = hf_ptrq_peek(&o->sent);
	}
	return freed;
}

struct hf_msg_ctl *hf_fill_msg(const struct hf_cache_key *key, uint32_t hash,
			       const struct hf_dns_answer *a, uint64_t tsc_per_ms)
{
	size_t asize = hf_dns_answer_size(a);
	size_t size = sizeof(struct hf_msg_ctl) - sizeof(struct hf_dns_answer) + asize;
	struct hf_msg_ctl *m = calloc(1, HF_MAX(size, sizeof(struct hf_msg_ctl)));
	if (m == NULL)
		return NULL;
	m->type = HF_MSG_FILL;
	m->made_ms = tsc_per_ms ? rte_rdtsc() / tsc_per_ms : 0;
	m->hash = hash;
	memcpy(&m->key, key, sizeof(m->key));
	memcpy(&m->ans, a, asize);
	return m;
}

int hf_fanout_send_fill(struct hf_fanout *o, struct hf_msg_ctl *m)
{
	o->st->fills++;
	return hf_fanout_send(o, m);
}

int hf_fanout_fill(struct hf_fanout *o, const struct hf_cache_key *key, uint32_t hash,
		   const struct hf_dns_answer *a)
{
	struct hf_msg_ctl *m = hf_fill_msg(key, hash, a, o->tsc_per_ms);
	if (m == NULL)
		return hf_error(HF_ENOMEM);
	return hf_fanout_send_fill(o, m);
}

bool hf_fanout_pass(struct hf_fanout *o)
{
	bool moved = flush_backlogs(o);
	return collect(o) || moved;
}

int hf_fanout_init(struct hf_fanout *o, unsigned nw, struct rte_ring *const *to_worker,
		   struct hf_worker_shared *const *shared, uint64_t tsc_per_ms,
		   struct hf_control_stats *st)
{
	memset(o, 0, sizeof(*o));
	o->nw = nw;
	o->tsc_per_ms = tsc_per_ms;
	o->st = st;
	o->to_worker = calloc(nw + 1, sizeof(*o->to_worker));
	o->shared = calloc(nw + 1, sizeof(*o->shared));
	o->backlog = calloc(nw + 1, sizeof(*o->backlog));
	if (!o->to_worker || !o->shared || !o->backlog) {
		hf_fanout_fini(o);
		return hf_error(HF_ENOMEM);
	}
	for (unsigned i = 0; i < nw; i++) {
		o->to_worker[i] = to_worker[i];
		o->shared[i] = shared[i];
	}
	return 0;
}

void hf_fanout_fini(struct hf_fanout *o)
{
	while (o->sent.n)
		free(hf_ptrq_pop(&o->sent));
	hf_ptrq_free(&o->sent);
	if (o->backlog)
		for (unsigned w = 0; w < o->nw; w++)
			hf_ptrq_free(&o->backlog[w]);
	free(o->backlog);
	free(o->to_worker);
	free(o->shared);
	memset(o, 0, sizeof(*o));
}
