/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: parked clients. A waiter table with a free list, a list
 * per entry and a deadline queue per kind (stale, miss); parking, waking
 * and expiry.
 */

#include "cache/cache_internal.h"

/* ---- waiters ---- */

static inline void hf_wq_insert(struct hf_cache *c, uint32_t wi)
{
	struct hf_cache_waiter *w = &c->w[wi];
	uint8_t q = w->q;
	uint32_t after = c->wq_tail[q];

	/* Normally O(1): the new deadline is the latest. */
	while (after != HF_WAITER_NONE && c->w[after].deadline_ms > w->deadline_ms)
		after = c->w[after].qprev;
	w->qprev = after;
	if (after == HF_WAITER_NONE) {
		w->qnext = c->wq_head[q];
		c->wq_head[q] = wi;
	} else {
		w->qnext = c->w[after].qnext;
		c->w[after].qnext = wi;
	}
	if (w->qnext == HF_WAITER_NONE)
		c->wq_tail[q] = wi;
	else
		c->w[w->qnext].qprev = wi;
}

/* Take waiter wi off its entry and queue and free it. O(1). */
static inline void hf_waiter_release(struct hf_cache *c, uint32_t wi)
{
	struct hf_cache_waiter *w = &c->w[wi];
	struct hf_cache_entry *e = w->e;

	/* the entry's list is circular through prev: the head's is the tail */
	if (wi == e->waiter_head)
		e->waiter_head = w->next;
	else
		c->w[w->prev].next = w->next;
	if (w->next != HF_WAITER_NONE)
		c->w[w->next].prev = w->prev;
	else if (e->waiter_head != HF_WAITER_NONE) /* the tail went: a new tail */
		c->w[e->waiter_head].prev = w->prev;
	e->nwaiters--;

	if (w->qprev == HF_WAITER_NONE)
		c->wq_head[w->q] = w->qnext;
	else
		c->w[w->qprev].qnext = w->qnext;
	if (w->qnext == HF_WAITER_NONE)
		c->wq_tail[w->q] = w->qprev;
	else
		c->w[w->qnext].qprev = w->qprev;

	w->e = NULL;
	w->cookie = NULL;
	w->next = c->w_free;
	c->w_free = wi;
	c->nwaiters--;
}

/* Unpark every client of e, oldest first, and answer each in `mode`. */
void hf_wake_all(struct hf_cache *c, struct hf_cache_entry *e, enum hf_wake_mode mode,
		 hf_wake_fn wake, void *arg)
{
	uint32_t wi;
	while ((wi = e->waiter_head) != HF_WAITER_NONE) {
		void *cookie = c->w[wi].cookie;
		hf_waiter_release(c, wi);
		wake(arg, cookie, e, mode);
	}
}

/* O(1) (O(parked) only right after a knob change shortened a timeout). */
int hf_cache_park(struct hf_cache *c, struct hf_cache_entry *e, void *cookie, uint64_t now_ms)
{
	struct hf_cache_waiter *w;
	uint32_t wi = c->w_free;
	bool stale;

	c->now_ms = now_ms;
	if (HF_UNLIKELY(wi == HF_WAITER_NONE || e->nwaiters >= c->conf.waiters_per_entry)) {
		c->park_fails++;
		return hf_error(HF_EFULL);
	}
	w = &c->w[wi];
	c->w_free = w->next;

	stale = e->state == HF_ENTRY_READY && hf_entry_ans(e)->kind != HF_ANS_FAILURE &&
		now_ms >= e->expires_ms && now_ms < e->stale_until_ms;
	w->cookie = cookie;
	w->e = e;
	w->q = stale ? HF_WQ_STALE : HF_WQ_MISS;
	w->deadline_ms = now_ms + (stale ? c->conf.client_timeout_ms : c->conf.miss_timeout_ms);

	w->next = HF_WAITER_NONE;
	if (e->waiter_head == HF_WAITER_NONE) {
		e->waiter_head = wi;
		w->prev = wi;
	} else {
		uint32_t tail = c->w[e->waiter_head].prev;
		w->prev = tail;
		c->w[tail].next = wi;
		c->w[e->waiter_head].prev = wi;
	}
	e->nwaiters++;

	hf_wq_insert(c, wi);
	c->nwaiters++;
	return 0;
}

/* A few compares: ~5 cycles. */
enum hf_wake_mode hf_cache_fallback(const struct hf_cache *c, const struct hf_cache_entry *e,
				    uint64_t now_ms)
{
	(void)c;
	return hf_mode_now(e, now_ms);
}

/* Wake the clients whose deadline is at or before `until`, answered as
 * they can be at now_ms. */
static void wake_until(struct hf_cache *c, uint64_t until, uint64_t now_ms, hf_wake_fn wake,
		       void *arg)
{
	if (HF_LIKELY(c->nwaiters == 0))
		return;
	c->now_ms = now_ms;
	for (int q = 0; q < HF_WQ_N; q++) {
		uint32_t wi;
		while ((wi = c->wq_head[q]) != HF_WAITER_NONE && c->w[wi].deadline_ms <= until) {
			struct hf_cache_entry *e = c->w[wi].e;
			void *cookie = c->w[wi].cookie;
			hf_entry_sync(c, e); /* stale data under an NTA change */
			hf_waiter_release(c, wi);
			wake(arg, cookie, e, hf_mode_now(e, now_ms));
		}
	}
}

/* Called every ~1 ms: returns at once when nothing is parked, else O(1)
 * per queue plus one wake per expired client. */
void hf_cache_expire_waiters(struct hf_cache *c, uint64_t now_ms, hf_wake_fn wake, void *arg)
{
	wake_until(c, now_ms, now_ms, wake, arg);
}

void hf_cache_wake_every(struct hf_cache *c, uint64_t now_ms, hf_wake_fn wake, void *arg)
{
	wake_until(c, UINT64_MAX, now_ms, wake, arg);
}
