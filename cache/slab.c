/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: answer storage. One block split into size classes of
 * fixed-size slots, a free list per class, CLOCK eviction per class, and
 * the cache's create and destroy.
 */
#include <errno.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "cache/cache_internal.h"

/* The share of the memory past the minimum each class gets, in percent
 * (cache_internal.h, hf_class_size). */
static const uint8_t hf_class_weight[HF_CACHE_NCLASS] = {35, 25, 15, 10, 7, 4, 4};

static inline uint32_t hf_slot_index(const struct hf_cache_class *cl,
				     const struct hf_cache_entry *e)
{
	return (uint32_t)(((const uint8_t *)e - cl->base) / cl->slot_size);
}

static inline void hf_slot_mark_free(struct hf_cache_entry *e, uint8_t ci, uint32_t next)
{
	e->state = HF_ENTRY_FREE;
	e->size_class = ci;
	e->nwaiters = 0;
	e->gen = 0;
	e->waiter_head = next; /* free list link */
}

/* Return a slot (already out of the hash, without waiters) to its class. */
void hf_slot_free(struct hf_cache *c, struct hf_cache_entry *e)
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
	memset(e, 0, sizeof(*e)); /* the header: state PENDING */
	e->size_class = (uint8_t)ci;
	e->waiter_head = HF_WAITER_NONE;
	return e;
}

/*
 * May CLOCK evict e? Not a free slot, not one with parked clients, not a
 * PENDING entry whose query is still out (unless the query is older than
 * miss_timeout: it was lost, and the slot must not be pinned forever).
 */
static inline bool hf_evictable(const struct hf_cache *c, const struct hf_cache_entry *e)
{
	if (e->state == HF_ENTRY_FREE || e->nwaiters != 0)
		return false;
	if (e->state == HF_ENTRY_PENDING && e->refresh_pending &&
	    c->now_ms < e->refresh_sent_ms + c->conf.miss_timeout_ms)
		return false;
	return true;
}

/* Remove e's key from the table (e keeps its slot; the caller frees it). */
void hf_entry_unhash(struct hf_cache *c, struct hf_cache_entry *e)
{
	hf_tbl_del(c, e, hf_key_bytes_hash(e->key));
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
struct hf_cache_entry *hf_slot_alloc(struct hf_cache *c, int ci)
{
	if (HF_UNLIKELY(c->cls[ci].free_head == HF_SLOT_NONE) && hf_clock_evict(c, ci) < 0)
		return NULL;
	return hf_slot_pop(c, ci);
}

/* The table holds `entries` keys: evict one entry, from the class with
 * the most used slots first. */
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
 * Cost: a slot pop (or a CLOCK eviction), a key copy and a table add.
 * The table is made room in first: a popped slot is not in the table yet
 * and must not be evicted.
 */
struct hf_cache_entry *hf_insert(struct hf_cache *c, const struct hf_cache_key *key, uint32_t hash,
				 int ci)
{
	struct hf_cache_entry *e;

	if (HF_UNLIKELY(c->nentries >= c->conf.entries) && hf_evict_for_hash(c) < 0)
		goto fail;
	e = hf_slot_alloc(c, ci);
	if (HF_UNLIKELY(e == NULL))
		goto fail;
	memcpy(e->key, key, HF_CACHE_KEY_HDR + (size_t)key->name_len);
	hf_tbl_add(c, e, hash);
	c->nentries++;
	return e;
fail:
	c->alloc_fails++;
	return NULL;
}

/* ---- create / destroy ---- */

/*
 * The table and the slots: hugepage memory from the EAL when it has
 * hugepages. Without (--no-huge) the EAL's memory is 4 KiB pages, and
 * every cold entry a hit touches would also miss the TLB; anonymous
 * memory with transparent huge pages is used instead (measured: 100k
 * names, EDNS, +7%). Neither is ever shared with another thread or a
 * device. Zeroed.
 */
static void *hf_big_alloc(const char *what, size_t size, int socket)
{
	const size_t huge = (size_t)2 << 20;
	size_t rounded = RTE_ALIGN_CEIL(size, huge);
	uint8_t *p, *a;

	if (rte_eal_has_hugepages())
		return rte_zmalloc_socket(what, size, RTE_CACHE_LINE_SIZE, socket);
	/* map a huge page more than needed, keep the 2 MiB-aligned part */
	p = mmap(NULL, rounded + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = RTE_PTR_ALIGN_CEIL(p, huge);
	if (a != p)
		munmap(p, (size_t)(a - p));
	if (a + rounded != p + rounded + huge)
		munmap(a + rounded, (size_t)(p + huge - a));
	madvise(a, rounded, MADV_HUGEPAGE); /* a hint: 4 KiB pages still work */
	return a;
}

static void hf_big_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (rte_eal_has_hugepages())
		rte_free(p);
	else
		munmap(p, RTE_ALIGN_CEIL(size, (size_t)2 << 20));
}

static void hf_cache_free(struct hf_cache *c)
{
	if (c == NULL)
		return;
	hf_big_free(c->tbl, sizeof(*c->tbl) * c->nb);
	hf_big_free(c->mem, c->mem_bytes);
	rte_free(c->w);
	rte_free(c->ev);
	rte_free(c);
}

struct hf_cache *hf_cache_create(const char *name, const struct hf_cache_conf *conf)
{
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
	c->mem = hf_big_alloc("hf_cache_slots", total, socket);
	if (c->mem == NULL)
		goto nomem;
	if (((uintptr_t)(c->mem + total) & ~HF_ADDR_MASK) != 0) { /* 48-bit table words */
		RTE_LOG(ERR, USER1, "cache %s: memory above 2^48 cannot be addressed\n", name);
		hf_cache_free(c);
		rte_errno = ENOMEM;
		return NULL;
	}
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

	c->gen = 1; /* an entry without data has 0 */
	c->ev = rte_zmalloc_socket("hf_cache_ev", sizeof(*c->ev) * HF_CACHE_EV_LOG,
				   RTE_CACHE_LINE_SIZE, socket);
	if (c->ev == NULL)
		goto nomem;

	/* at most 3 keys per 7-word bucket on average: about 0.5% of keys
	 * overflow into the next bucket when all `entries` are used (1.5%
	 * of buckets have 8 or more keys), and only they cost a second line */
	c->nb = conf->entries / 3 + 1;
	c->tbl = hf_big_alloc("hf_cache_table", sizeof(*c->tbl) * c->nb, socket);
	if (c->tbl == NULL)
		goto nomem;
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
