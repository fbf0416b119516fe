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
 * What a flush mode or subtree change does to e (READY, selected by its
 * name): 0 nothing, 1 changed in place, 2 its data must go.
 */
static int hf_apply_mode(struct hf_cache_entry *e, enum hf_flush_mode mode)
{
	struct hf_dns_answer *a = hf_entry_ans(e);

	switch (mode) {
	case HF_FLUSH_BOGUS:
		return hf_entry_bad(e) ? 2 : 0;
	case HF_FLUSH_NTA_ADD:
		if (hf_entry_bad(e))
			return 2;
		if (a->security != HF_SECURITY_SECURE)
			return 0;
		a->security = HF_SECURITY_INSECURE;
		a->flags |= HF_ANS_F_NTA;
		e->refresh_failed_ms = 0;
		return 1;
	case HF_FLUSH_NTA_REMOVE:
		return hf_entry_bad(e) || (a->flags & HF_ANS_F_NTA) ? 2 : 0;
	case HF_FLUSH_REPAIRED:
		if (a->kind == HF_ANS_FAILURE)
			return 2;
		if (e->refresh_failed_ms == 0)
			return 0;
		e->refresh_failed_ms = 0; /* no hold: the next hit asks again */
		return 1;
	default:
		return 2;
	}
}

/* e's data goes: with clients waiting on a refresh in flight it becomes
 * PENDING and keeps them, else its slot is freed. */
static void hf_entry_drop(struct hf_cache *c, struct hf_cache_entry *e)
{
	if (e->nwaiters != 0) {
		hf_entry_drop_data(e);
		return;
	}
	hf_entry_unhash(c, e);
	hf_slot_free(c, e);
}

/* ---- subtree changes: NTAs and repairs in O(1) per core ---- */

/* Apply to e (READY, behind the core's gen) the changes it missed, in
 * order, under their names; 2 when its data must go (e->gen unchanged
 * then), else whether it changed (e->gen is the core's). At most
 * HF_CACHE_EV_LOG name compares, once per entry per burst of changes. */
static int hf_entry_replay(struct hf_cache *c, struct hf_cache_entry *e)
{
	const uint8_t *name = e->key + HF_CACHE_KEY_HDR;
	size_t len = e->key[0];
	int changed = 0;

	for (uint32_t i = 0; i < c->nev; i++) {
		const struct hf_subtree_ev *ev = &c->ev[(c->ev_head + i) % HF_CACHE_EV_LOG];
		int r;
		if (ev->gen <= e->gen || !hf_dns_name_is_sub(name, len, ev->name, ev->name_len))
			continue;
		r = hf_apply_mode(e, (enum hf_flush_mode)ev->mode);
		if (r == 2)
			return 2;
		changed |= r;
	}
	e->gen = c->gen;
	return changed;
}

/* Where an entry is used in place (a hit, a fill, a timeout): its data
 * goes but the slot stays, PENDING, as after an expiry; the caller goes
 * on as for a miss. */
void hf_entry_catch_up(struct hf_cache *c, struct hf_cache_entry *e)
{
	if (hf_entry_replay(c, e) == 2)
		hf_entry_drop_data(e);
}

struct hf_cache_entry *hf_cache_entry_sync(struct hf_cache *c, struct hf_cache_entry *e)
{
	if (e->state != HF_ENTRY_READY || e->gen == c->gen)
		return e;
	if (hf_entry_replay(c, e) != 2)
		return e;
	hf_entry_drop(c, e);
	return e->state == HF_ENTRY_FREE ? NULL : e;
}

/*
 * The slot walk under hf_cache_flush_step, hf_cache_walk_step,
 * hf_cache_rewindow_step and the catch-up: visits the entries in use among
 * the next `budget` slots, each brought up to date with the core's gen
 * first (one whose data the changes it missed remove is removed, as their
 * walk would have done), with their stored key when need_key (a cache
 * miss per entry; NULL otherwise). The visit may free the slot it is
 * given. Walking our own slot arrays rather than the table means no table
 * word is changed under a running iterator.
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
			if (e->state == HF_ENTRY_FREE ||
			    (e->gen != c->gen && hf_cache_entry_sync(c, e) == NULL))
				continue;
			if (visit == NULL)
				continue;
			if (need_key) /* a copy: the visit may free the slot */
				hf_entry_key_copy(&k, e);
			visit(arg, need_key ? &k : NULL, e);
		}
	}
	return true;
}

/* The wrap of the 32-bit gen (after 4e9 changes): every entry brought up
 * to date, then renumbered from 1, at once (two whole walks). */
static void hf_gen_rebase(struct hf_cache *c)
{
	struct hf_cache_walk wk = {0, 0, 0};
	hf_walk(c, &wk, UINT32_MAX, false, NULL, NULL);
	for (int ci = 0; ci < HF_CACHE_NCLASS; ci++)
		for (uint32_t i = 0; i < c->cls[ci].hwm; i++) {
			struct hf_cache_entry *e = hf_slot_at(&c->cls[ci], i);
			if (e->state == HF_ENTRY_READY)
				e->gen = 1;
		}
	c->gen = 1;
	c->nev = c->ev_head = 0;
	c->catch_up = 0;
}

static void hf_catch_up_start(struct hf_cache *c)
{
	c->catch_up = 1;
	c->cu_target = c->gen;
	memset(&c->cu_wk, 0, sizeof(c->cu_wk));
}

bool hf_cache_subtree_event(struct hf_cache *c, const uint8_t *name, size_t name_len,
			    enum hf_flush_mode mode)
{
	struct hf_subtree_ev *ev;

	if (c->nev != 0) {
		ev = &c->ev[(c->ev_head + c->nev - 1) % HF_CACHE_EV_LOG];
		if (ev->mode == mode && hf_dns_name_equal(ev->name, ev->name_len, name, name_len)) {
			/* the same again: entries made since the last get it too */
			if (HF_UNLIKELY(c->gen == UINT32_MAX))
				hf_gen_rebase(c);
			else {
				ev->gen = ++c->gen;
				return true;
			}
		}
	}
	if (c->nev == HF_CACHE_EV_LOG)
		return false; /* the catch-up (started at half) must end first */
	if (HF_UNLIKELY(c->gen == UINT32_MAX))
		hf_gen_rebase(c);
	ev = &c->ev[(c->ev_head + c->nev) % HF_CACHE_EV_LOG];
	c->nev++;
	ev->gen = ++c->gen;
	ev->mode = (uint8_t)mode;
	ev->name_len = (uint8_t)name_len;
	memcpy(ev->name, name, name_len);
	if (c->nev >= HF_CACHE_EV_LOG / 2 && !c->catch_up)
		hf_catch_up_start(c);
	return true;
}

bool hf_cache_catch_up_step(struct hf_cache *c, uint32_t budget)
{
	if (!c->catch_up)
		return true;
	if (!hf_walk(c, &c->cu_wk, budget, false, NULL, NULL))
		return false;
	/* every entry is at cu_target or later: the log forgets what is older */
	while (c->nev != 0 && c->ev[c->ev_head].gen <= c->cu_target) {
		c->ev_head = (c->ev_head + 1) % HF_CACHE_EV_LOG;
		c->nev--;
	}
	c->catch_up = 0;
	if (c->nev >= HF_CACHE_EV_LOG / 2)
		hf_catch_up_start(c);
	return !c->catch_up;
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
	int r;

	/* no data yet: a resolution is in flight for it and its parked
	 * clients wait for that answer, flush or not */
	if (e->state != HF_ENTRY_READY)
		return;
	if (f->name != NULL &&
	    (f->subtree ? !hf_dns_name_is_sub(k->name, k->name_len, f->name, f->name_len)
			: !hf_dns_name_equal(k->name, k->name_len, f->name, f->name_len)))
		return;
	r = hf_apply_mode(e, f->mode);
	if (r == 0)
		return;
	f->wk->count++;
	if (r == 2)
		hf_entry_drop(f->c, e);
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
