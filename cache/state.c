/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: the serve-stale state machine (hf_cache_decide past its
 * inline part), pending entries, fills, and the serve-stale knobs.
 */

#include "cache/cache_internal.h"

/* ---- the serve-stale state machine ---- */

/* May a (new) MISS/REFRESH go out for e? Then mark it out. */
static inline uint8_t hf_take_query(const struct hf_cache *c, struct hf_cache_entry *e,
				    uint64_t now_ms)
{
	if (e->refresh_pending && now_ms < e->refresh_sent_ms + c->conf.miss_timeout_ms)
		return 0;
	e->refresh_pending = 1;
	e->refresh_sent_ms = now_ms;
	return 1;
}

/* hf_cache_decide past its inline part: not READY, or expired. */
struct hf_cache_decision hf_cache_decide_rest(struct hf_cache *c, struct hf_cache_entry *e,
					      uint64_t now_ms)
{
	struct hf_cache_decision d = {HF_ACT_WAIT, 0};

	c->now_ms = now_ms;
	if (e->state == HF_ENTRY_READY && e->gen != c->gen) {
		/* NTA changes it has not seen yet; then a hit may be one */
		hf_entry_catch_up(c, e);
		if (e->state == HF_ENTRY_READY && now_ms < e->refresh_at_ms) {
			d.action = hf_entry_ans(e)->kind == HF_ANS_FAILURE ? HF_ACT_FAILURE
									   : HF_ACT_FRESH;
			return d;
		}
	}
	if (e->state == HF_ENTRY_READY) {
		bool failure = hf_entry_ans(e)->kind == HF_ANS_FAILURE;
		if (now_ms < e->expires_ms) { /* right on its own too */
			d.action = failure ? HF_ACT_FAILURE : HF_ACT_FRESH;
			/* past the prefetch point, or a prefetch is out: ask
			 * (once: hf_take_query holds off while it is out) */
			if (!failure)
				d.send_query = hf_take_query(c, e, now_ms);
			return d;
		}
		if (!failure && now_ms < e->stale_until_ms) {
			if (e->refresh_failed_ms != 0 &&
			    now_ms < e->refresh_failed_ms + c->conf.failure_recheck_ms) {
				d.action = HF_ACT_STALE;
				return d;
			}
			d.action = c->conf.client_timeout_ms == 0 ? HF_ACT_STALE : HF_ACT_WAIT;
			/* a prefetch that has not come back by the expiry (dropped
			 * on a full ring, refused by a busy control plane) must
			 * not hold the waiting clients off a query of their own */
			if (e->refresh_pending && e->refresh_sent_ms < e->expires_ms)
				e->refresh_pending = 0;
			d.send_query = hf_take_query(c, e, now_ms);
			return d;
		}
		hf_entry_drop_data(e);
	}
	d.send_query = hf_take_query(c, e, now_ms);
	return d;
}

/* Miss path: one more hash lookup (a burst may add the same key twice),
 * then hf_insert. */
struct hf_cache_entry *hf_cache_add_pending(struct hf_cache *c, const struct hf_cache_key *key,
					    uint32_t hash, uint64_t now_ms)
{
	struct hf_cache_entry *e;

	hash = hf_cache_key_hash(key); /* where a key is stored: never the caller's */
	e = hf_cache_lookup(c, key, hash);

	c->now_ms = now_ms;
	if (e != NULL)
		return e;
	e = hf_insert(c, key, hash,
		      hf_class_for(HF_ENTRY_NEED(key->name_len, sizeof(struct hf_dns_answer))));
	if (e != NULL)
		e->referenced = 1;
	return e;
}
/* Store answer a (asz bytes) in e, which has room for it. */
static void hf_entry_store(struct hf_cache *c, struct hf_cache_entry *e,
			   const struct hf_dns_answer *a, size_t asz, uint64_t now_ms)
{
	memcpy(hf_entry_ans(e), a, asz);
	e->state = HF_ENTRY_READY;
	e->gen = c->gen; /* control made it with every NTA change before it */
	e->inserted_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)a->ttl * 1000u;
	e->stale_until_ms =
		e->expires_ms + (a->kind == HF_ANS_FAILURE ? 0 : c->conf.stale_window_ms);
	e->refresh_failed_ms = 0;
	e->refresh_pending = 0;
	e->refresh_at_ms = e->expires_ms;
	if (a->kind != HF_ANS_FAILURE && c->conf.prefetch_pct != 0)
		e->refresh_at_ms -= (uint64_t)a->ttl * 10u * c->conf.prefetch_pct;
}

/* Move e's header, key, waiters and table word to the fresh slot ne; free e. */
static struct hf_cache_entry *hf_entry_move(struct hf_cache *c, struct hf_cache_entry *e,
					    struct hf_cache_entry *ne, uint32_t hash)
{
	uint8_t nci = ne->size_class;
	uint32_t b = 0;
	uint64_t *w = hf_tbl_word(c, e, hash, &b);

	memcpy(ne, e, HF_ENTRY_ANS_OFF(e->key[0]));
	ne->size_class = nci;
	for (uint32_t wi = ne->waiter_head; wi != HF_WAITER_NONE; wi = c->w[wi].next)
		c->w[wi].e = ne;
	if (w != NULL)
		*w = hf_tag(hash) | (uintptr_t)ne;
	e->waiter_head = HF_WAITER_NONE;
	e->nwaiters = 0;
	hf_slot_free(c, e);
	return ne;
}

/*
 * A FILL: one hash lookup, a copy of the answer (~1 cycle per 16 bytes),
 * and one wake per parked client. A new key or a class change costs a
 * slot allocation (maybe a CLOCK eviction) and a hash add.
 */
int hf_cache_fill(struct hf_cache *c, const struct hf_cache_key *key, uint32_t hash,
		  const struct hf_dns_answer *a, uint64_t now_ms, hf_wake_fn wake, void *arg)
{
	size_t asz = hf_dns_answer_size(a);
	size_t need = HF_ENTRY_NEED(key->name_len, asz);
	int ci = hf_class_for(need);
	bool failure = a->kind == HF_ANS_FAILURE, countdown;
	struct hf_cache_entry *e;

	hash = hf_cache_key_hash(key); /* where a key is stored: never the caller's */
	e = hf_cache_lookup(c, key, hash);

	c->now_ms = now_ms;
	if (e == NULL) {
		if (HF_UNLIKELY(ci < 0)) {
			c->alloc_fails++;
			return hf_error(HF_ENOMEM);
		}
		e = hf_insert(c, key, hash, ci);
		if (HF_UNLIKELY(e == NULL))
			return hf_error(HF_ENOMEM);
		hf_entry_store(c, e, a, asz, now_ms);
		return 0;
	}

	hf_entry_sync(c, e); /* the old data, as the NTA changes before this left it */
	/* a refill of data that had a TTL with TTL 0: a caching upstream in
	 * the last second of its own copy (TTLs are whole seconds, rounded
	 * down). Asking again within that second gets the same copy, so the
	 * answer is kept (TTL 0 on the wire) until the second is over rather
	 * than refreshed on every hit (docs/decisions.md, "The last second of
	 * an upstream's copy"). */
	countdown = !failure && a->ttl == 0 && e->state == HF_ENTRY_READY &&
		    hf_entry_ans(e)->kind != HF_ANS_FAILURE && hf_entry_ans(e)->ttl != 0;
	/* nothing out any more: hits stay inline until the expiry (a refill
	 * below sets the next prefetch point) */
	e->refresh_pending = 0;
	e->refresh_at_ms = e->expires_ms;
	if (failure && e->state == HF_ENTRY_READY && hf_entry_ans(e)->kind != HF_ANS_FAILURE &&
	    now_ms < e->stale_until_ms) {
		/* never replace data still within its stale window */
		e->refresh_failed_ms = now_ms;
		hf_wake_all(c, e, now_ms < e->expires_ms ? HF_WAKE_FRESH : HF_WAKE_STALE, wake,
			    arg);
		return 0;
	}
	if (HF_UNLIKELY(ci < 0))
		goto nomem;
	if (ci != e->size_class) {
		struct hf_cache_entry *ne = hf_slot_alloc(c, ci);
		if (ne != NULL)
			e = hf_entry_move(c, e, ne, hash);
		else if (need > c->cls[e->size_class].slot_size)
			goto nomem;
		/* else: no smaller slot free, keep the bigger one */
	}
	hf_entry_store(c, e, a, asz, now_ms);
	if (countdown) {
		e->expires_ms += HF_CACHE_TTL0_HOLD_MS;
		e->stale_until_ms += HF_CACHE_TTL0_HOLD_MS;
		e->refresh_at_ms = e->expires_ms;
	}
	hf_wake_all(c, e, failure ? HF_WAKE_FAILURE : HF_WAKE_FRESH, wake, arg);
	return 0;

nomem:
	c->alloc_fails++;
	hf_wake_all(c, e, hf_mode_now(e, now_ms), wake, arg);
	return hf_error(HF_ENOMEM);
}

/* ---- knobs ---- */

/*
 * Cold. Takes the five serve-stale knobs (stale window, client timeout,
 * stale TTL, failure recheck, miss timeout); entries, memory and waiter
 * limits stay as created. A new stale window is applied to every cached
 * answer (stale_until recomputed, failures excepted): O(slots).
 * Parked clients keep their deadlines.
 */
const struct hf_cache_conf *hf_cache_knobs(const struct hf_cache *c)
{
	return &c->conf;
}

bool hf_cache_put_knobs(struct hf_cache *c, const struct hf_cache_conf *conf)
{
	bool window_changed = conf->stale_window_ms != c->conf.stale_window_ms;

	c->conf.stale_window_ms = conf->stale_window_ms;
	c->conf.client_timeout_ms = conf->client_timeout_ms;
	c->conf.stale_ttl = conf->stale_ttl;
	c->conf.failure_recheck_ms = conf->failure_recheck_ms;
	c->conf.miss_timeout_ms = conf->miss_timeout_ms;
	return window_changed;
}
