/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: applying the control plane's messages (fills,
 * flushes, NTAs and repairs, lookups, knob changes) on the worker's own
 * thread, walks a slice at a time.
 */
#include <rte_ring.h>

#include "cache/hf_snap.h"
#include "dataplane/worker_internal.h"

static void lookup_one(struct hf_worker *w, const struct hf_cache_key *k,
		       const struct hf_cache_entry *e, struct hf_msg_result *r)
{
	struct hf_lookup_entry *o;
	const struct hf_dns_answer *a;
	uint64_t now = w->now_ms;

	r->count++;
	if (r->n >= HF_LOOKUP_MAX)
		return;
	o = &r->e[r->n++];
	memset(o, 0, sizeof(*o));
	o->qtype = k->qtype;
	o->key_flags = k->flags;
	o->ede = HF_EDE_NONE;
	o->nwaiters = e->nwaiters;
	if (e->state != HF_ENTRY_READY) {
		o->state = HF_LOOKUP_PENDING;
		return;
	}
	a = hf_entry_ans(e);
	o->security = a->security;
	o->rcode = a->rcode;
	o->ans_flags = a->flags;
	o->ede = a->ede;
	if (now < e->expires_ms) {
		o->state = a->kind == HF_ANS_FAILURE ? HF_LOOKUP_FAILURE : HF_LOOKUP_FRESH;
		o->ttl_left = (uint32_t)((e->expires_ms - now + 999) / 1000);
	} else if (a->kind != HF_ANS_FAILURE && now < e->stale_until_ms) {
		o->state = HF_LOOKUP_STALE;
		o->ttl_left = (uint32_t)((e->stale_until_ms - now + 999) / 1000);
	} else {
		o->state = HF_LOOKUP_EXPIRED;
	}
}

/* Management lookup of one type: the four DO/CD variants, looked up directly. */
static void lookup_type(struct hf_worker *w, const struct hf_msg_ctl *msg, struct hf_msg_result *r)
{
	struct hf_cache_key k = msg->key;
	r->count = r->n = 0;
	for (uint8_t f = 0; f < 4; f++) {
		struct hf_cache_entry *e;
		k.flags = f;
		e = hf_cache_lookup(w->cache, &k, hf_cache_key_hash(&k));
		if (e != NULL)
			e = hf_cache_entry_sync(w->cache, e); /* as the NTA changes left it */
		if (e != NULL)
			lookup_one(w, &k, e, r);
	}
}

/* Visit of a walk that looks a name up under every type. */
struct hf_lookup_walk {
	struct hf_worker *w;
	const struct hf_msg_ctl *msg;
	struct hf_msg_result *r;
};

static void lookup_visit(void *arg, const struct hf_cache_key *k, struct hf_cache_entry *e)
{
	struct hf_lookup_walk *lw = arg;
	if (hf_dns_name_equal(k->name, k->name_len, lw->msg->key.name, lw->msg->key.name_len))
		lookup_one(lw->w, k, e, lw->r);
}

/*
 * A FLUSH, a lookup without a type and a stale-window change walk the
 * whole cache (an NTA does not: hf_cache_subtree_event); that is done HF_WALK_BUDGET slots per loop
 * iteration so packets keep flowing between slices (a 1M-entry cache would otherwise stall the core
 * for tens of milliseconds). Later control messages wait until it is done, so they stay in order.
 */
#define HF_WALK_BUDGET 1024

/* RFC 8198 on the core: control's knobs (NSEC, CONFIG); off, or new trust
 * anchors, drop every record kept. */
static void aggr_knobs(struct hf_worker *w, const struct hf_msg_aggr *k)
{
	w->aggr_knobs = *k;
	if (!k->on || k->drop_all)
		hf_aggr_flush_below(w->aggr, NULL, 0);
}

/* A validated NSEC record for the core's store, its times moved from
 * control's clock (wall_s at made_ms) to the core's. */
static void apply_nsec(struct hf_worker *w, const struct hf_msg_ctl *msg)
{
	uint64_t made = msg->made_ms && msg->made_ms < w->now_ms ? msg->made_ms : w->now_ms;
	int64_t shift = (int64_t)(made / 1000) - (int64_t)msg->aggr.wall_s;

	aggr_knobs(w, &msg->aggr);
	if (msg->aggr.on && msg->aggr.rec_len != 0 &&
	    hf_aggr_put(w->aggr, (const uint8_t *)&msg->ans, msg->aggr.rec_len, shift) == 0)
		w->ctr->nsec_copies++;
}

/* A FILL refusing a question at its zone's fetches-per-zone: the core
 * answers the zone's next misses itself for HF_ZONE_MARK_MS, then lets
 * HF_ZONE_PROBES through in the grace (the same zone's mark renewed, else
 * the mark that lapses first replaced). */
static void zone_mark(struct hf_worker *w, const struct hf_msg_ctl *msg)
{
	unsigned off = HF_ANS_ZONE_OFF(msg->ans.flags);
	size_t len = msg->key.name_len - off;
	struct hf_zone_mark *m = NULL;

	if (off >= msg->key.name_len || msg->ans.ede_text_len > sizeof(m->text))
		return;
	for (unsigned i = 0; i < HF_ZONE_MARKS && m == NULL; i++)
		if (w->zmark[i].len == len &&
		    memcmp(w->zmark[i].name, msg->key.name + off, len) == 0)
			m = &w->zmark[i];
	if (m == NULL) {
		m = &w->zmark[0];
		for (unsigned i = 1; i < HF_ZONE_MARKS; i++)
			if (w->zmark[i].until_ms < m->until_ms)
				m = &w->zmark[i];
	}
	m->until_ms = w->now_ms + HF_ZONE_MARK_MS;
	m->probes = HF_ZONE_PROBES;
	m->len = (uint8_t)len;
	memcpy(m->name, msg->key.name + off, len);
	m->text_len = msg->ans.ede_text_len;
	memcpy(m->text, hf_dns_answer_ede_text(&msg->ans), m->text_len);
	w->zmark_until = HF_MAX(w->zmark_until, hf_zone_mark_end(m));
}

/* Apply msg; false when it is a walk that is not finished yet. A walk
 * starts with w->walk zeroed and w->walking false (apply_pending keeps
 * both), so !w->walking marks its first slice. */
static bool apply_ctl(struct hf_worker *w, const struct hf_msg_ctl *msg)
{
	switch (msg->type) {
	case HF_MSG_FILL:
		/* aged from when control made it (never from the future) */
		hf_cache_fill(w->cache, &msg->key, msg->hash, &msg->ans,
			      msg->made_ms && msg->made_ms < w->now_ms ? msg->made_ms : w->now_ms,
			      w->wake, w);
		w->ctr->fills++;
		if (HF_UNLIKELY(msg->ans.flags & HF_ANS_F_ZONE_LIMITED))
			zone_mark(w, msg);
		break;
	case HF_MSG_NSEC:
		if (w->aggr != NULL)
			apply_nsec(w, msg);
		break;
	case HF_MSG_NTA:
		/* the core's validated NSECs of every zone near it go at once */
		if (w->aggr != NULL && msg->mode == HF_FLUSH_NTA_ADD && !w->walking)
			hf_aggr_flush_nta(w->aggr, msg->key.name, msg->key.name_len);
		/* O(1): entries under it change when next used; a full log
		 * first waits for the catch-up walk (in slices, like a flush) */
		if (!hf_cache_subtree_event(w->cache, msg->key.name, msg->key.name_len,
					    (enum hf_flush_mode)msg->mode)) {
			hf_cache_catch_up_step(w->cache, HF_WALK_BUDGET);
			return false;
		}
		if (msg->res != NULL)
			msg->res[w->idx].count = 0; /* nothing walked */
		break;
	case HF_MSG_FLUSH:
		/* as control's validator drops its own (control/mgmt_exec.c) */
		if (w->aggr != NULL && !w->walking)
			hf_aggr_flush_below(w->aggr, msg->all ? NULL : msg->key.name,
					    msg->all ? 0 : msg->key.name_len);
		if (!hf_cache_flush_step(w->cache, &w->walk, msg->all ? NULL : msg->key.name,
					 msg->all ? 0 : msg->key.name_len, msg->subtree,
					 (enum hf_flush_mode)msg->mode, HF_WALK_BUDGET, w->wake, w))
			return false;
		if (msg->res != NULL)
			msg->res[w->idx].count = w->walk.count;
		break;
	case HF_MSG_CONFIG:
		if (!w->walking && w->aggr != NULL)
			aggr_knobs(w, &msg->aggr);
		if (!w->walking) /* the cookie secret (dataplane/hf_cookie.h) */
			hf_cookie_set(&w->cookie, msg->cookie_on, msg->cookie_secret, w->now_ms);
		/* a new stale window is written into every entry: in slices */
		if (!w->walking && !hf_cache_put_knobs(w->cache, &msg->conf))
			break;
		return hf_cache_rewindow_step(w->cache, &w->walk, HF_WALK_BUDGET);
	case HF_MSG_LOOKUP:
		if (msg->res == NULL)
			break;
		if (msg->mode == 1) {
			lookup_type(w, msg, &msg->res[w->idx]);
			break;
		}
		/* without a type: a walk over every slot, in slices */
		if (!w->walking)
			msg->res[w->idx].count = msg->res[w->idx].n = 0;
		{
			struct hf_lookup_walk lw = {w, msg, &msg->res[w->idx]};
			return hf_cache_walk_step(w->cache, &w->walk, HF_WALK_BUDGET, lookup_visit,
						  &lw);
		}
	case HF_MSG_SNAP:
		/* every core caches every answer: worker 0's cache is saved */
		if (w->idx != 0 || msg->snap == NULL)
			break;
		return hf_cache_snap_step(w->cache, msg->snap, HF_WALK_BUDGET, w->now_ms);
	default:
		break;
	}
	return true;
}
/* Apply the held messages in order; false when a walk is still going. */
static bool apply_pending(struct hf_worker *w)
{
	uint16_t first = w->ipend;
	bool done = true;

	while (w->ipend < w->npend) {
		if (!apply_ctl(w, w->pend[w->ipend])) {
			w->walking = true; /* go on with it next time */
			done = false;
			break;
		}
		/* done: the next walk starts afresh (12 bytes, per message) */
		w->walking = false;
		memset(&w->walk, 0, sizeof(w->walk));
		w->ipend++;
	}
	/* Control may free everything up to this seq once every worker says so. */
	if (w->ipend > first) {
		hf_publish_gauges(w);
		__atomic_store_n(&w->shared->applied_seq, w->pend[w->ipend - 1]->seq,
				 __ATOMIC_RELEASE);
	}
	return done;
}

void hf_worker_poll_control(struct hf_worker *w)
{
	/* half the log of NTA changes in use: walk it down between bursts */
	if (HF_UNLIKELY(hf_cache_catch_up_due(w->cache)))
		hf_cache_catch_up_step(w->cache, HF_WALK_BUDGET);
	if (HF_UNLIKELY(w->ipend < w->npend) && !apply_pending(w))
		return;
	w->npend = (uint16_t)rte_ring_dequeue_burst(w->from_control, (void **)w->pend, HF_BURST_MAX,
						    NULL);
	w->ipend = 0;
	if (HF_LIKELY(w->npend == 0))
		return;
	apply_pending(w);
}
