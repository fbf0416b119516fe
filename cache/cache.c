/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: the per-core cache (contract in hf_cache.h).
 *
 * Internal structures, concurrency contract: everything below (the
 * rte_hash, the slot arrays and their free lists, the CLOCK hands, the
 * waiter table and its deadline queues, the counters) belongs to the one
 * thread that owns the struct hf_cache. It is written and read only by
 * that thread, so there are no locks and no atomics; the rte_hash is
 * created without RW_CONCURRENCY flags. Memory is allocated once in
 * hf_cache_create and returned once in hf_cache_destroy; in between a
 * slot is "reclaimed" by pushing it on its class's free list, which is
 * safe because no other thread ever holds a pointer into it.
 *
 * Layout:
 *  - rte_hash: key -> struct hf_cache_entry * (the slot). A key is in the
 *    hash exactly when its slot is in use (key_pos >= 0). Its key slots
 *    are 320 bytes (HF_HASH_KEY_LEN), whole cache lines, so a hit's key
 *    compare touches one line for names up to 50 bytes (docs/decisions.md).
 *  - Answer storage: one block of at most conf->memory bytes, split into
 *    HF_CACHE_NCLASS size classes of fixed-size slots. A slot is the
 *    entry header followed by the stored answer (its last member `ans`
 *    runs on into the slot). A free slot has key_pos == -1 and links the
 *    next free slot of its class through waiter_head.
 *  - Waiters: conf->waiters slots; a free list (through `next`); per
 *    entry a doubly linked list (prev/next, entry->waiter_head/tail); and
 *    per deadline kind a doubly linked queue ordered by deadline
 *    (qprev/qnext). Stale waiters all wait client_timeout and pending
 *    ones miss_timeout, and time only goes forward, so appending keeps a
 *    queue ordered; after a knob change shortens a timeout an insertion
 *    walks back from the tail to its place.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "hf_cache.h"

/* ---- size classes ---- */

#define HF_CACHE_NCLASS	   7
#define HF_CACHE_MIN_SLOTS 4 /* every class gets at least this many slots */
#define HF_SLOT_NONE	   UINT32_MAX

/* Bytes of a slot before the stored answer. */
#define HF_ENTRY_HDR offsetof(struct hf_cache_entry, ans)

/*
 * Slot sizes (header included) and how the memory is split.
 *
 * First every class gets HF_CACHE_MIN_SLOTS slots, so any answer that
 * fits the largest class can always be stored somewhere (memory below
 * that minimum, about 367 KiB, is refused). The rest is shared by
 * weight, in percent, favouring small answers: most DNS answers are a
 * few hundred bytes, so the 256- and 512-byte classes get 60% of the
 * memory and by far the most slots. Whatever rounding leaves over goes
 * to the 256-byte class. With 64 MiB that is about 92k, 33k, 9.8k,
 * 3.3k, 1.1k, 168 and 42 slots.
 *
 * The largest class holds any answer from a 64 KiB message: the header,
 * up to 64 KiB of body, a TTL offset table for HF_DNS_MSG_MAX_RR records
 * and EDE text. Larger answers are not cached (HF_ENOMEM).
 */
static const uint32_t hf_class_size[HF_CACHE_NCLASS] = {
	256, 512, 1024, 2048, 4096, 16384, 65536 + 4096,
};
static const uint8_t hf_class_weight[HF_CACHE_NCLASS] = {35, 25, 15, 10, 7, 4, 4};

_Static_assert(sizeof(struct hf_cache_entry) <= 256, "entry header must fit the smallest slot");
_Static_assert(offsetof(struct hf_cache_key, name) == HF_CACHE_KEY_HDR, "key header size");
_Static_assert(HF_CACHE_NCLASS <= UINT8_MAX, "size_class is a uint8_t");

struct hf_cache_class {
	uint8_t *base;	    /* first slot */
	uint32_t slot_size; /* bytes per slot (multiple of 64) */
	uint32_t nslots;
	uint32_t used;
	uint32_t hwm;	    /* slots [hwm, nslots) have never been used: walks stop there */
	uint32_t free_head; /* first free slot index, HF_SLOT_NONE when full */
	uint32_t hand;	    /* CLOCK hand: next slot index to look at */
};

/* ---- waiters ---- */

enum { HF_WQ_STALE = 0, HF_WQ_MISS = 1, HF_WQ_N = 2 };

struct hf_cache_waiter {
	void *cookie;
	struct hf_cache_entry *e; /* owning entry (NULL when free) */
	uint64_t deadline_ms;
	uint32_t prev, next;   /* entry's list; `next` also links the free list */
	uint32_t qprev, qnext; /* deadline queue */
	uint8_t q;	       /* HF_WQ_* */
};

struct hf_cache {
	struct rte_hash *h;
	struct hf_cache_conf conf;
	uint8_t *mem;	    /* all slots */
	uint64_t mem_bytes; /* sum of slot bytes, <= conf.memory */
	struct hf_cache_class cls[HF_CACHE_NCLASS];

	struct hf_cache_waiter *w;
	uint32_t nw;	 /* waiter slots */
	uint32_t w_free; /* free waiter list head */
	uint32_t nwaiters;
	uint32_t wq_head[HF_WQ_N], wq_tail[HF_WQ_N];

	uint64_t now_ms; /* latest clock seen (CLOCK uses it for lost queries) */

	uint64_t nentries;
	uint64_t bytes_used;
	uint64_t evictions;
	uint64_t park_fails;
	uint64_t alloc_fails;
};

/* ---- keys ---- */

/* ~10-20 cycles for a typical name (CRC32-C, 8 bytes per instruction). */
uint32_t hf_cache_key_hash(const struct hf_cache_key *k)
{
	return rte_hash_crc(k, HF_CACHE_KEY_HDR + (uint32_t)k->name_len, 0);
}

/* ~10 cycles: one length compare and a memcmp of the meaningful bytes. */
int hf_cache_key_cmp(const void *a, const void *b, size_t len)
{
	const struct hf_cache_key *ka = a, *kb = b;
	(void)len;
	if (ka->name_len != kb->name_len)
		return 1;
	return memcmp(ka, kb, HF_CACHE_KEY_HDR + (size_t)ka->name_len);
}

/* rte_hash_hash() and the non-_with_hash calls agree with hf_cache_key_hash. */
static uint32_t hf_cache_rte_hash(const void *key, uint32_t key_len, uint32_t init_val)
{
	(void)key_len;
	(void)init_val;
	return hf_cache_key_hash(key);
}

/*
 * rte_hash's key length. Its key slot is its 8-byte data pointer plus the
 * key, rounded up to 16: with the bare struct (264) that was 272 bytes, so
 * slots started at 0, 16, 32 or 48 bytes into a cache line and the compare
 * of a typical key often straddled two lines, both missing the caches at
 * 100k names. 8 + 312 = 320 is five whole lines: the meaningful bytes of a
 * key with up to 50 name bytes sit in one. Measured (per core, EDNS, hits):
 * 100k uniform +12%, 1M uniform +22%, 1k unchanged; 48 bytes more per key.
 */
#define HF_HASH_KEY_LEN 312
struct hf_hash_key {
	struct hf_cache_key k;
	uint8_t pad[HF_HASH_KEY_LEN - sizeof(struct hf_cache_key)];
};

/* A full-size copy of a key with the bytes past name_len zeroed. */
static inline void hf_key_copy(struct hf_hash_key *dst, const struct hf_cache_key *src)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, src, HF_CACHE_KEY_HDR + (size_t)src->name_len);
}

/* ---- slots ---- */

static inline struct hf_cache_entry *hf_slot_at(const struct hf_cache_class *cl, uint32_t i)
{
	return (struct hf_cache_entry *)(void *)(cl->base + (size_t)i * cl->slot_size);
}

static inline uint32_t hf_slot_index(const struct hf_cache_class *cl,
				     const struct hf_cache_entry *e)
{
	return (uint32_t)(((const uint8_t *)e - cl->base) / cl->slot_size);
}

/* Smallest class whose slots hold `need` bytes, -1 when none does. */
static inline int hf_class_for(size_t need)
{
	for (int i = 0; i < HF_CACHE_NCLASS; i++)
		if (need <= hf_class_size[i])
			return i;
	return -1;
}

static inline void hf_slot_mark_free(struct hf_cache_entry *e, uint8_t ci, uint32_t next)
{
	e->key_pos = -1;
	e->state = HF_ENTRY_PENDING;
	e->size_class = ci;
	e->nwaiters = 0;
	e->waiter_tail = HF_WAITER_NONE;
	e->waiter_head = next; /* free list link */
}

/* Return a slot (already out of the hash, without waiters) to its class. */
static void hf_slot_free(struct hf_cache *c, struct hf_cache_entry *e)
{
	struct hf_cache_class *cl = &c->cls[e->size_class];
	uint32_t idx = hf_slot_index(cl, e);
	hf_slot_mark_free(e, e->size_class, cl->free_head);
	cl->free_head = idx;
	cl->used--;
	c->bytes_used -= cl->slot_size;
}

/* Take the first free slot of class ci (there must be one); header reset. */
static struct hf_cache_entry *hf_slot_pop(struct hf_cache *c, int ci)
{
	struct hf_cache_class *cl = &c->cls[ci];
	struct hf_cache_entry *e = hf_slot_at(cl, cl->free_head);
	if (cl->free_head >= cl->hwm)
		cl->hwm = cl->free_head + 1;
	cl->free_head = e->waiter_head;
	cl->used++;
	c->bytes_used += cl->slot_size;
	memset(e, 0, sizeof(*e));
	e->key_pos = -1;
	e->size_class = (uint8_t)ci;
	e->waiter_head = HF_WAITER_NONE;
	e->waiter_tail = HF_WAITER_NONE;
	return e;
}

/*
 * May CLOCK evict e? Not a free slot, not one with parked clients, not a
 * PENDING entry whose query is still out (unless the query is older than
 * miss_timeout: it was lost, and the slot must not be pinned forever).
 */
static inline bool hf_evictable(const struct hf_cache *c, const struct hf_cache_entry *e)
{
	if (e->key_pos < 0 || e->nwaiters != 0)
		return false;
	if (e->state == HF_ENTRY_PENDING && e->refresh_pending &&
	    c->now_ms < e->refresh_sent_ms + c->conf.miss_timeout_ms)
		return false;
	return true;
}

/* Remove e's key from the hash (e keeps its slot; the caller frees it). */
static void hf_entry_unhash(struct hf_cache *c, struct hf_cache_entry *e)
{
	struct hf_hash_key k;
	void *stored = NULL;
	if (rte_hash_get_key_with_position(c->h, e->key_pos, &stored) == 0) {
		hf_key_copy(&k, stored);
		rte_hash_del_key_with_hash(c->h, &k, e->hash);
	}
	e->key_pos = -1;
	c->nentries--;
}

/*
 * CLOCK over class ci: clear `referenced` bits (second chance) until an
 * unreferenced evictable entry comes under the hand; evict it onto the
 * free list. At most two turns. Returns 0, or -1 when everything is
 * pinned. Cost: a few cycles per slot looked at plus one hash delete.
 */
static int hf_clock_evict(struct hf_cache *c, int ci)
{
	struct hf_cache_class *cl = &c->cls[ci];
	uint64_t steps = 2ull * cl->nslots;

	for (uint64_t s = 0; s < steps; s++) {
		struct hf_cache_entry *e = hf_slot_at(cl, cl->hand);
		if (++cl->hand == cl->nslots)
			cl->hand = 0;
		if (!hf_evictable(c, e))
			continue;
		if (e->referenced) {
			e->referenced = 0;
			continue;
		}
		hf_entry_unhash(c, e);
		hf_slot_free(c, e);
		c->evictions++;
		return 0;
	}
	return -1;
}

/* A slot of class ci, evicting in that class when it is full; NULL if pinned. */
static struct hf_cache_entry *hf_slot_alloc(struct hf_cache *c, int ci)
{
	if (HF_UNLIKELY(c->cls[ci].free_head == HF_SLOT_NONE) && hf_clock_evict(c, ci) < 0)
		return NULL;
	return hf_slot_pop(c, ci);
}

/* The hash is full: evict one entry, from the class with the most used slots first. */
static int hf_evict_for_hash(struct hf_cache *c)
{
	unsigned tried = 0;
	for (int round = 0; round < HF_CACHE_NCLASS; round++) {
		int best = -1;
		for (int i = 0; i < HF_CACHE_NCLASS; i++)
			if (!(tried & (1u << i)) &&
			    (best < 0 || c->cls[i].used > c->cls[best].used))
				best = i;
		if (best < 0 || c->cls[best].used == 0)
			return -1;
		tried |= 1u << best;
		if (hf_clock_evict(c, best) == 0)
			return 0;
	}
	return -1;
}

/*
 * Insert a new key with a fresh slot of class ci (PENDING, no data).
 * Cost: a slot pop (or a CLOCK eviction), a 264-byte key copy, an
 * rte_hash add and lookup: a few hundred cycles.
 */
static struct hf_cache_entry *hf_insert(struct hf_cache *c, const struct hf_cache_key *key,
					uint32_t hash, int ci)
{
	struct hf_hash_key k;
	struct hf_cache_entry *e = hf_slot_alloc(c, ci);
	int ret;

	if (HF_UNLIKELY(e == NULL))
		goto fail;
	hf_key_copy(&k, key); /* rte_hash copies key_len bytes: no garbage in them */
	ret = rte_hash_add_key_with_hash_data(c->h, &k, hash, e);
	if (HF_UNLIKELY(ret == -ENOSPC) && hf_evict_for_hash(c) == 0)
		ret = rte_hash_add_key_with_hash_data(c->h, &k, hash, e);
	if (HF_UNLIKELY(ret < 0)) {
		hf_slot_free(c, e);
		goto fail;
	}
	e->key_pos = rte_hash_lookup_with_hash(c->h, &k, hash);
	e->hash = hash;
	c->nentries++;
	return e;
fail:
	c->alloc_fails++;
	return NULL;
}

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

	if (w->prev == HF_WAITER_NONE)
		e->waiter_head = w->next;
	else
		c->w[w->prev].next = w->next;
	if (w->next == HF_WAITER_NONE)
		e->waiter_tail = w->prev;
	else
		c->w[w->next].prev = w->prev;
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
static void hf_wake_all(struct hf_cache *c, struct hf_cache_entry *e, enum hf_wake_mode mode,
			hf_wake_fn wake, void *arg)
{
	uint32_t wi;
	while ((wi = e->waiter_head) != HF_WAITER_NONE) {
		void *cookie = c->w[wi].cookie;
		hf_waiter_release(c, wi);
		wake(arg, cookie, e, mode);
	}
}

/* What e can give a client right now (timeouts, fallbacks). */
static inline enum hf_wake_mode hf_mode_now(const struct hf_cache_entry *e, uint64_t now_ms)
{
	if (e->state != HF_ENTRY_READY)
		return HF_WAKE_TIMEOUT;
	if (e->ans.kind == HF_ANS_FAILURE)
		return HF_WAKE_FAILURE;
	if (now_ms < e->expires_ms)
		return HF_WAKE_FRESH;
	if (now_ms < e->stale_until_ms)
		return HF_WAKE_STALE;
	return HF_WAKE_TIMEOUT;
}

/* ---- create / destroy ---- */

static void hf_cache_free(struct hf_cache *c)
{
	if (c == NULL)
		return;
	rte_hash_free(c->h);
	rte_free(c->mem);
	rte_free(c->w);
	rte_free(c);
}

struct hf_cache *hf_cache_create(const char *name, const struct hf_cache_conf *conf)
{
	struct rte_hash_parameters hp;
	struct hf_cache *c;
	uint64_t min_bytes = 0, rest, total = 0;
	uint64_t nslots[HF_CACHE_NCLASS];
	uint8_t *p;
	int socket;

	if (name == NULL || conf == NULL || conf->entries == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	for (int i = 0; i < HF_CACHE_NCLASS; i++)
		min_bytes += (uint64_t)HF_CACHE_MIN_SLOTS * hf_class_size[i];
	if (conf->memory < min_bytes) {
		RTE_LOG(ERR, USER1, "cache %s: memory %llu bytes is below the minimum %llu\n", name,
			(unsigned long long)conf->memory, (unsigned long long)min_bytes);
		rte_errno = EINVAL;
		return NULL;
	}
	socket = conf->socket_id;

	c = rte_zmalloc_socket("hf_cache", sizeof(*c), RTE_CACHE_LINE_SIZE, socket);
	if (c == NULL)
		goto nomem;
	c->conf = *conf;
	if (c->conf.waiters_per_entry > UINT16_MAX)
		c->conf.waiters_per_entry = UINT16_MAX;

	/* split the memory (see hf_class_size) */
	rest = conf->memory - min_bytes;
	for (int i = 0; i < HF_CACHE_NCLASS; i++) {
		nslots[i] = HF_CACHE_MIN_SLOTS + rest * hf_class_weight[i] / 100 / hf_class_size[i];
		total += nslots[i] * hf_class_size[i];
	}
	nslots[0] += (conf->memory - total) / hf_class_size[0];
	total = 0;
	for (int i = 0; i < HF_CACHE_NCLASS; i++) {
		if (nslots[i] >= HF_SLOT_NONE)
			nslots[i] = HF_SLOT_NONE - 1;
		total += nslots[i] * hf_class_size[i];
	}
	c->mem_bytes = total;
	c->mem = rte_zmalloc_socket("hf_cache_slots", total, RTE_CACHE_LINE_SIZE, socket);
	if (c->mem == NULL)
		goto nomem;
	p = c->mem;
	for (int i = 0; i < HF_CACHE_NCLASS; i++) {
		struct hf_cache_class *cl = &c->cls[i];
		cl->base = p;
		cl->slot_size = hf_class_size[i];
		cl->nslots = (uint32_t)nslots[i];
		cl->free_head = 0;
		for (uint32_t s = 0; s < cl->nslots; s++)
			hf_slot_mark_free(hf_slot_at(cl, s), (uint8_t)i,
					  s + 1 < cl->nslots ? s + 1 : HF_SLOT_NONE);
		p += (size_t)cl->nslots * cl->slot_size;
	}

	c->nw = conf->waiters;
	c->w = rte_zmalloc_socket("hf_cache_waiters", sizeof(*c->w) * (c->nw ? c->nw : 1),
				  RTE_CACHE_LINE_SIZE, socket);
	if (c->w == NULL)
		goto nomem;
	for (uint32_t i = 0; i < c->nw; i++)
		c->w[i].next = i + 1 < c->nw ? i + 1 : HF_WAITER_NONE;
	c->w_free = c->nw ? 0 : HF_WAITER_NONE;
	for (int q = 0; q < HF_WQ_N; q++)
		c->wq_head[q] = c->wq_tail[q] = HF_WAITER_NONE;

	memset(&hp, 0, sizeof(hp));
	hp.name = name;
	/* rte_hash refuses fewer keys than one bucket holds (8) */
	hp.entries = HF_MAX(conf->entries, 8u);
	hp.key_len = HF_HASH_KEY_LEN;
	hp.hash_func = hf_cache_rte_hash;
	hp.hash_func_init_val = 0;
	hp.socket_id = socket;
	/* One owner thread: no concurrency support. Extendable buckets: without
	 * them a nearly full table refuses inserts whose two buckets are full
	 * (0.3-0.6% of misses got SERVFAIL at 2000 of 2048 keys); with them an
	 * insert only fails when all `entries` keys are in use, and evicting
	 * any one entry makes room. */
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	c->h = rte_hash_create(&hp);
	if (c->h == NULL) {
		RTE_LOG(ERR, USER1, "cache %s: rte_hash_create(%u entries): %s\n", name, hp.entries,
			rte_strerror(rte_errno));
		hf_cache_free(c);
		return NULL;
	}
	rte_hash_set_cmp_func(c->h, hf_cache_key_cmp);
	return c;

nomem:
	RTE_LOG(ERR, USER1, "cache %s: cannot allocate %llu bytes\n", name,
		(unsigned long long)conf->memory);
	hf_cache_free(c);
	rte_errno = ENOMEM;
	return NULL;
}

/* Parked clients are dropped without a wake: flush first to answer them. */
void hf_cache_destroy(struct hf_cache *c)
{
	hf_cache_free(c);
}

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

/* ---- lookups ---- */

/*
 * n keys in groups of RTE_HASH_LOOKUP_BULK_MAX: rte_hash's pipelined bulk
 * lookup, ~30-60 cycles per key when the buckets are in cache, plus one
 * key compare per signature match.
 */
void hf_cache_lookup_bulk(struct hf_cache *c, const struct hf_cache_key *const *keys,
			  const uint32_t *hashes, unsigned n, struct hf_cache_entry **out)
{
	while (n > 0) {
		unsigned k = HF_MIN(n, (unsigned)RTE_HASH_LOOKUP_BULK_MAX);
		uint64_t hit = 0;

		if (rte_hash_lookup_with_hash_bulk_data(c->h, (const void **)(uintptr_t)keys,
							(hash_sig_t *)(uintptr_t)hashes, k, &hit,
							(void **)out) < 0)
			hit = 0;
		for (unsigned i = 0; i < k; i++)
			if (!(hit & (1ull << i)))
				out[i] = NULL;
		keys += k;
		hashes += k;
		out += k;
		n -= k;
	}
}

/* One hash lookup: ~50-100 cycles (two bucket reads, one key compare). */
struct hf_cache_entry *hf_cache_lookup(struct hf_cache *c, const struct hf_cache_key *key,
				       uint32_t hash)
{
	void *data = NULL;
	if (rte_hash_lookup_with_hash_data(c->h, key, hash, &data) < 0)
		return NULL;
	return data;
}

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

/* Expired for good: back to PENDING in place (the slot is kept). */
static inline void hf_entry_drop_data(struct hf_cache_entry *e)
{
	e->state = HF_ENTRY_PENDING;
	e->inserted_ms = 0;
	e->expires_ms = 0;
	e->stale_until_ms = 0;
	e->refresh_failed_ms = 0;
}

/* A handful of compares on one cache line of the entry: ~5-10 cycles. */
struct hf_cache_decision hf_cache_decide(struct hf_cache *c, struct hf_cache_entry *e,
					 uint64_t now_ms)
{
	struct hf_cache_decision d = {HF_ACT_WAIT, 0};

	c->now_ms = now_ms;
	e->referenced = 1;
	if (HF_LIKELY(e->state == HF_ENTRY_READY)) {
		bool failure = e->ans.kind == HF_ANS_FAILURE;
		if (HF_LIKELY(now_ms < e->expires_ms)) {
			d.action = failure ? HF_ACT_FAILURE : HF_ACT_FRESH;
			return d;
		}
		if (!failure && now_ms < e->stale_until_ms) {
			if (e->refresh_failed_ms != 0 &&
			    now_ms < e->refresh_failed_ms + c->conf.failure_recheck_ms) {
				d.action = HF_ACT_STALE;
				return d;
			}
			d.action = c->conf.client_timeout_ms == 0 ? HF_ACT_STALE : HF_ACT_WAIT;
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
	struct hf_cache_entry *e = hf_cache_lookup(c, key, hash);

	c->now_ms = now_ms;
	if (e != NULL)
		return e;
	e = hf_insert(c, key, hash, 0);
	if (e != NULL)
		e->referenced = 1;
	return e;
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

	stale = e->state == HF_ENTRY_READY && e->ans.kind != HF_ANS_FAILURE &&
		now_ms >= e->expires_ms && now_ms < e->stale_until_ms;
	w->cookie = cookie;
	w->e = e;
	w->q = stale ? HF_WQ_STALE : HF_WQ_MISS;
	w->deadline_ms = now_ms + (stale ? c->conf.client_timeout_ms : c->conf.miss_timeout_ms);

	w->next = HF_WAITER_NONE;
	w->prev = e->waiter_tail;
	if (e->waiter_tail == HF_WAITER_NONE)
		e->waiter_head = wi;
	else
		c->w[e->waiter_tail].next = wi;
	e->waiter_tail = wi;
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

/* Store answer a (asz bytes) in e, which has room for it. */
static void hf_entry_store(struct hf_cache *c, struct hf_cache_entry *e,
			   const struct hf_dns_answer *a, size_t asz, uint64_t now_ms)
{
	memcpy(&e->ans, a, asz);
	e->state = HF_ENTRY_READY;
	e->inserted_ms = now_ms;
	e->expires_ms = now_ms + (uint64_t)a->ttl * 1000u;
	e->stale_until_ms =
		e->expires_ms + (a->kind == HF_ANS_FAILURE ? 0 : c->conf.stale_window_ms);
	e->refresh_failed_ms = 0;
	e->refresh_pending = 0;
}

/* Move e's header, waiters and hash mapping to the fresh slot ne; free e. */
static struct hf_cache_entry *hf_entry_move(struct hf_cache *c, struct hf_cache_entry *e,
					    struct hf_cache_entry *ne)
{
	uint8_t nci = ne->size_class;
	struct hf_hash_key k;
	void *stored = NULL;

	memcpy(ne, e, sizeof(*ne));
	ne->size_class = nci;
	for (uint32_t wi = ne->waiter_head; wi != HF_WAITER_NONE; wi = c->w[wi].next)
		c->w[wi].e = ne;
	rte_hash_get_key_with_position(c->h, e->key_pos, &stored);
	hf_key_copy(&k, stored);
	/* the key exists: this only replaces its data pointer, it cannot fail */
	rte_hash_add_key_with_hash_data(c->h, &k, e->hash, ne);
	e->waiter_head = e->waiter_tail = HF_WAITER_NONE;
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
	int ci = hf_class_for(HF_ENTRY_HDR + asz);
	bool failure = a->kind == HF_ANS_FAILURE;
	struct hf_cache_entry *e = hf_cache_lookup(c, key, hash);

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

	e->refresh_pending = 0;
	if (failure && e->state == HF_ENTRY_READY && e->ans.kind != HF_ANS_FAILURE &&
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
			e = hf_entry_move(c, e, ne);
		else if (HF_ENTRY_HDR + asz > c->cls[e->size_class].slot_size)
			goto nomem;
		/* else: no smaller slot free, keep the bigger one */
	}
	hf_entry_store(c, e, a, asz, now_ms);
	hf_wake_all(c, e, failure ? HF_WAKE_FAILURE : HF_WAKE_FRESH, wake, arg);
	return 0;

nomem:
	c->alloc_fails++;
	hf_wake_all(c, e, hf_mode_now(e, now_ms), wake, arg);
	return hf_error(HF_ENOMEM);
}

/* Called every ~1 ms: returns at once when nothing is parked, else O(1)
 * per queue plus one wake per expired client. */
void hf_cache_expire_waiters(struct hf_cache *c, uint64_t now_ms, hf_wake_fn wake, void *arg)
{
	if (HF_LIKELY(c->nwaiters == 0))
		return;
	c->now_ms = now_ms;
	for (int q = 0; q < HF_WQ_N; q++) {
		uint32_t wi;
		while ((wi = c->wq_head[q]) != HF_WAITER_NONE && c->w[wi].deadline_ms <= now_ms) {
			struct hf_cache_entry *e = c->w[wi].e;
			void *cookie = c->w[wi].cookie;
			hf_waiter_release(c, wi);
			wake(arg, cookie, e, hf_mode_now(e, now_ms));
		}
	}
}

/* ---- management ---- */

/* Is the entry's data a failure or unvalidated-bad (bogus, indeterminate)? */
static bool hf_entry_bad(const struct hf_cache_entry *e)
{
	return e->state == HF_ENTRY_READY &&
	       (e->ans.kind == HF_ANS_FAILURE || e->ans.security == HF_SECURITY_BOGUS ||
		e->ans.security == HF_SECURITY_INDETERMINATE);
}

/*
 * The slot walk under hf_cache_flush_step, hf_cache_walk_step and
 * hf_cache_rewindow_step: visits the entries in use among the next
 * `budget` slots, with their stored key when need_key (a cache miss per
 * entry; NULL otherwise). The visit may
 * free the slot it is given. Walking our own slot arrays rather than
 * rte_hash_iterate means no hash is modified under a running iterator.
 */
static bool hf_walk(struct hf_cache *c, struct hf_cache_walk *wk, uint32_t budget, bool need_key,
		    hf_visit_fn visit, void *arg)
{
	for (; wk->cls < HF_CACHE_NCLASS; wk->cls++, wk->slot = 0) {
		struct hf_cache_class *cl = &c->cls[wk->cls];
		for (; wk->slot < cl->hwm; wk->slot++) {
			struct hf_cache_entry *e;
			void *stored = NULL;
			if (budget == 0)
				return false;
			budget--;
			e = hf_slot_at(cl, wk->slot);
			if (e->key_pos < 0 || (need_key && rte_hash_get_key_with_position(
								   c->h, e->key_pos, &stored) != 0))
				continue;
			visit(arg, stored, e);
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
	if (e->state == HF_ENTRY_READY && e->ans.kind != HF_ANS_FAILURE)
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
		if (!drop && e->ans.security == HF_SECURITY_SECURE) {
			e->ans.security = HF_SECURITY_INSECURE;
			e->ans.flags |= HF_ANS_F_NTA;
			e->refresh_failed_ms = 0;
			f->wk->count++;
		}
		break;
	case HF_FLUSH_NTA_REMOVE:
		drop = hf_entry_bad(e) || (e->ans.flags & HF_ANS_F_NTA);
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

int hf_cache_iterate(struct hf_cache *c, uint32_t *iter, const struct hf_cache_key **key,
		     struct hf_cache_entry **e)
{
	const void *k;
	void *data;

	if (rte_hash_iterate(c->h, &k, &data, iter) < 0)
		return 0;
	*key = k;
	*e = data;
	return 1;
}
