/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: walks over the slot arrays, a budget of slots at a
 * time (flush, NTA, lookups without a type, stale-window changes), and
 * the stats.
 */

#include "cache/cache_internal.h"

/* ---- management ---- */

/* Is the entry's data a failure or unvalidated-bad (bogus, indeterminate)? */
static bool hf_entry_bad(const struct hf_cache_entry *e)
{
	const struct hf_dns_answer *a = hf_entry_ans(e);
	return e->state == HF_ENTRY_READY &&
	       (a->kind == HF_ANS_FAILURE || a->security == HF_SECURITY_BOGUS ||
		a->security == HF_SECURITY_INDETERMINATE);
}

/*
 * The slot walk under hf_cache_flush_step, hf_cache_walk_step and
 * hf_cache_rewindow_step: visits the entries in use among the next
 * `budget` slots, with their stored key when need_key (a cache miss per
 * entry; NULL otherwise). The visit may
 * free the slot it is given. Walking our own slot arrays rather than
 * the table means no table word is changed under a running iterator.
 */
static bool hf_walk(struct hf_cache *c, struct hf_cache_walk *wk, uint32_t budget, bool need_key,
		    hf_visit_fn visit, void *arg)
{
	for (; wk->cls < HF_CACHE_NCLASS; wk->cls++, wk->slot = 0) {
		struct hf_cache_class *cl = &c->cls[wk->cls];
		for (; wk->slot < cl->hwm; wk->slot++) {
			struct hf_cache_entry *e;
			struct hf_cache_key k;
			if (budget == 0)
				return false;
			budget--;
			e = hf_slot_at(cl, wk->slot);
			if (e->state == HF_ENTRY_FREE)
				continue;
			if (need_key) /* a copy: the visit may free the slot */
				hf_entry_key_copy(&k, e);
			visit(arg, need_key ? &k : NULL, e);
		}
	}
	return true;
}

bool hf_cache_walk_step(struct hf_cache *c, struct hf_cache_walk *wk, uint32_t budget,
			hf_visit_fn visit, void *arg)
{
	return hf_walk(c, wk, budget, true, visit, arg);
}

static void hf_rewindow_visit(void *cache, const struct hf_cache_key *k, struct hf_cache_entry *e)
{
	const struct hf_cache *c = cache;
	(void)k;
	if (e->state == HF_ENTRY_READY && hf_entry_ans(e)->kind != HF_ANS_FAILURE)
		e->stale_until_ms = e->expires_ms + c->conf.stale_window_ms;
}

bool hf_cache_rewindow_step(struct hf_cache *c, struct hf_cache_walk *wk, uint32_t budget)
{
	return hf_walk(c, wk, budget, false, hf_rewindow_visit, c); /* no keys needed */
}

void hf_cache_set_knobs(struct hf_cache *c, const struct hf_cache_conf *conf)
{
	struct hf_cache_walk wk = {0, 0, 0};
	if (hf_cache_put_knobs(c, conf))
		hf_cache_rewindow_step(c, &wk, UINT32_MAX);
}

struct hf_flush_walk {
	struct hf_cache *c;
	struct hf_cache_walk *wk;
	const uint8_t *name;
	size_t name_len;
	bool subtree;
	enum hf_flush_mode mode;
};

static void hf_flush_visit(void *arg, const struct hf_cache_key *k, struct hf_cache_entry *e)
{
	struct hf_flush_walk *f = arg;
	struct hf_dns_answer *a = hf_entry_ans(e);
	bool drop;

	/* no data yet: a resolution is in flight for it and its parked
	 * clients wait for that answer, flush or not */
	if (e->state != HF_ENTRY_READY)
		return;
	if (f->name != NULL &&
	    (f->subtree ? !hf_dns_name_is_sub(k->name, k->name_len, f->name, f->name_len)
			: !hf_dns_name_equal(k->name, k->name_len, f->name, f->name_len)))
		return;
	switch (f->mode) {
	case HF_FLUSH_BOGUS:
		drop = hf_entry_bad(e);
		break;
	case HF_FLUSH_NTA_ADD:
		drop = hf_entry_bad(e);
		if (!drop && a->security == HF_SECURITY_SECURE) {
			a->security = HF_SECURITY_INSECURE;
			a->flags |= HF_ANS_F_NTA;
			e->refresh_failed_ms = 0;
			f->wk->count++;
		}
		break;
	case HF_FLUSH_NTA_REMOVE:
		drop = hf_entry_bad(e) || (a->flags & HF_ANS_F_NTA);
		break;
	default:
		drop = true;
		break;
	}
	if (!drop)
		return;
	f->wk->count++;
	if (e->nwaiters != 0) {
		/* clients wait on a refresh in flight: keep them, drop the data */
		hf_entry_drop_data(e);
		return;
	}
	hf_entry_unhash(f->c, e);
	hf_slot_free(f->c, e);
}

bool hf_cache_flush_step(struct hf_cache *c, struct hf_cache_walk *wk, const uint8_t *name,
			 size_t name_len, bool subtree, enum hf_flush_mode mode, uint32_t budget,
			 hf_wake_fn wake, void *arg)
{
	struct hf_flush_walk f = {c, wk, name, name_len, subtree, mode};
	(void)wake;
	(void)arg;
	return hf_walk(c, wk, budget, name != NULL, hf_flush_visit, &f);
}

unsigned hf_cache_flush_mode(struct hf_cache *c, const uint8_t *name, size_t name_len, bool subtree,
			     enum hf_flush_mode mode, hf_wake_fn wake, void *arg)
{
	struct hf_cache_walk wk = {0, 0, 0};
	hf_cache_flush_step(c, &wk, name, name_len, subtree, mode, UINT32_MAX, wake, arg);
	return wk.count;
}

unsigned hf_cache_flush(struct hf_cache *c, const uint8_t *name, size_t name_len, bool subtree,
			hf_wake_fn wake, void *arg)
{
	return hf_cache_flush_mode(c, name, name_len, subtree, HF_FLUSH_ANY, wake, arg);
}

void hf_cache_get_stats(const struct hf_cache *c, struct hf_cache_stats *st)
{
	st->entries = c->nentries;
	st->bytes_used = c->bytes_used;
	st->evictions = c->evictions;
	st->waiters = c->nwaiters;
	st->park_fails = c->park_fails;
	st->alloc_fails = c->alloc_fails;
}
