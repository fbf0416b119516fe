/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: the per-core cache (contract in hf_cache.h).
 *
 * Internal structures, concurrency contract: everything below (the
 * hash table, the slot arrays and their free lists, the CLOCK hands, the
 * waiter table and its deadline queues, the counters) belongs to the one
 * thread that owns the struct hf_cache. It is written and read only by
 * that thread, so there are no locks and no atomics. Memory is allocated once in
 * hf_cache_create and returned once in hf_cache_destroy; in between a
 * slot is "reclaimed" by pushing it on its class's free list, which is
 * safe because no other thread ever holds a pointer into it.
 *
 * Layout:
 *  - Hash table: buckets of one cache line, each with 7 words of a 16-bit
 *    tag (the hash's low bits) and the 48-bit address of an entry, and a
 *    count of the entries stored past it by linear probing (a lookup goes
 *    on to the next bucket only while that count is not 0). The key lives
 *    in the entry (docs/decisions.md: why not rte_hash). A key is in the
 *    table exactly when its slot is in use (state != HF_ENTRY_FREE).
 *  - Answer storage: one block of at most conf->memory bytes, split into
 *    HF_CACHE_NCLASS size classes of fixed-size slots. A slot is the
 *    entry header followed by the stored answer (its last member `ans`
 *    runs on into the slot). A free slot has state HF_ENTRY_FREE and links the
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
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>

#include "cache/hf_cache.h"

/* ---- size classes ---- */

#define HF_CACHE_NCLASS	   7
#define HF_CACHE_MIN_SLOTS 4 /* every class gets at least this many slots */
#define HF_SLOT_NONE	   UINT32_MAX

/* Bytes of a slot for a stored answer of asz bytes and a name of name_len bytes. */
#define HF_ENTRY_NEED(name_len, asz) (HF_ENTRY_ANS_OFF(name_len) + (asz))

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

_Static_assert(HF_ENTRY_NEED(HF_DNS_NAME_MAX, sizeof(struct hf_dns_answer)) <= 512,
	       "a pending entry with the longest name must fit the second class");
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

/* ---- the hash table ---- */

#define HF_BUCKET_SLOTS 7
#define HF_ADDR_MASK	((UINT64_C(1) << 48) - 1)

struct hf_bucket {
	uint64_t s[HF_BUCKET_SLOTS]; /* tag << 48 | entry address; 0: empty */
	uint32_t ovf;		     /* entries stored past this bucket whose probe passed it */
	uint32_t pad;
};
_Static_assert(sizeof(struct hf_bucket) == 64, "a bucket is one cache line");

struct hf_cache {
	struct hf_bucket *tbl;
	uint32_t nb; /* buckets */
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
	struct hf_cache_key iter_key; /* hf_cache_iterate's copy */
};
_Static_assert(offsetof(struct hf_cache, tbl) == offsetof(struct hf_cache_head, tbl) &&
		       offsetof(struct hf_cache, nb) == offsetof(struct hf_cache_head, nb),
	       "struct hf_cache starts as struct hf_cache_head");

/* ---- keys ---- */

/* hf_cache_key_hash of a key's bytes (an entry's key is not aligned). */
static inline uint32_t hf_key_bytes_hash(const uint8_t *k)
{
	uint16_t qtype, qclass;
	memcpy(&qtype, k + 2, 2);
	memcpy(&qclass, k + 4, 2);
	return hf_cache_key_hash_end(hf_crc32c(k + HF_CACHE_KEY_HDR, k[0], 0), k[0], k[1], qtype,
				     qclass);
}

/* ~10-20 cycles for a typical name (CRC32-C, 8 bytes per instruction). */
uint32_t hf_cache_key_hash(const struct hf_cache_key *k)
{
	return hf_key_bytes_hash((const uint8_t *)k);
}

/* ~10 cycles: one length compare and a memcmp of the meaningful bytes. */
int hf_cache_key_cmp(const struct hf_cache_key *ka, const struct hf_cache_key *kb)
{
	if (ka->name_len != kb->name_len)
		return 1;
	return memcmp(ka, kb, HF_CACHE_KEY_HDR + (size_t)ka->name_len);
}

/*
 * Home bucket: the hash times an odd constant (every bit then reaches the
 * high ones), scaled to the bucket count. CRC32-C is linear: names that
 * differ in a few digits get hashes in a few linear families, and its own
 * high bits put them into buckets unevenly (simulated: 1k bench names left
 * 57 of 401 buckets empty and 108 keys in overflow, against 7 and 41 with
 * the multiply, what random hashes give).
 */
static inline uint32_t hf_home(const struct hf_cache *c, uint32_t hash)
{
	return hf_cache_home(c->nb, hash);
}

/* Never 0, so that an empty word (0) never matches a tag. */
static inline uint64_t hf_tag(uint32_t hash)
{
	return (uint64_t)((hash & 0xffffu) | 1u) << 48;
}

static inline uint32_t hf_next(const struct hf_cache *c, uint32_t b)
{
	return b + 1 == c->nb ? 0 : b + 1;
}

/* The entry a table word holds (NULL for an empty word). */
static inline struct hf_cache_entry *hf_word_addr(uint64_t w)
{
	return (struct hf_cache_entry *)(uintptr_t)(w & HF_ADDR_MASK);
}

/*
 * The words of bk whose tag is tag, as a bit mask: bit 4i + 3 for word i
 * (hf_match_word gives i from the lowest bit set). Every word is compared
 * and nothing branches per word: where a key sits in its bucket is random,
 * and a loop that stopped at the first match mispredicted about once a
 * lookup. With SSE2 the tags (the top 16 bits of each word) are compared 8
 * at a time: 14 instructions for a bucket instead of 45.
 */
static inline unsigned hf_bucket_match(const struct hf_bucket *bk, uint64_t tag)
{
#ifdef __SSE2__
	const __m128i *v = (const __m128i *)(const void *)bk;
	__m128i t = _mm_set1_epi16((short)(tag >> 48));
	__m128i lo = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(v), t),
				     _mm_cmpeq_epi16(_mm_load_si128(v + 1), t));
	__m128i hi = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(v + 2), t),
				     _mm_cmpeq_epi16(_mm_load_si128(v + 3), t));
	/* byte 4i + 3 of the 32 is word i's tag; word 7 is ovf and pad */
	return ((unsigned)_mm_movemask_epi8(lo) | (unsigned)_mm_movemask_epi8(hi) << 16) &
	       0x08888888u;
#else
	unsigned m = 0;
	for (unsigned s = 0; s < HF_BUCKET_SLOTS; s++)
		m |= (unsigned)((bk->s[s] & ~HF_ADDR_MASK) == tag) << (4 * s + 3);
	return m;
#endif
}

/* The word of the lowest match in a mask from hf_bucket_match (m != 0). */
static inline unsigned hf_match_word(unsigned m)
{
	return (unsigned)__builtin_ctz(m) >> 2;
}

/* A whole struct hf_cache_key from an entry's key bytes. */
static inline void hf_entry_key_copy(struct hf_cache_key *k, const struct hf_cache_entry *e)
{
	memcpy(k, e->key, HF_CACHE_KEY_HDR + (size_t)e->key[0]);
}

/* Look k up from its home bucket on, while buckets have overflowed. */
static struct hf_cache_entry *hf_tbl_find(const struct hf_cache *c, const struct hf_cache_key *k,
					  uint32_t hash)
{
	uint64_t tag = hf_tag(hash);
	uint32_t b = hf_home(c, hash);

	for (uint32_t n = 0; n < c->nb; n++, b = hf_next(c, b)) {
		const struct hf_bucket *bk = &c->tbl[b];
		for (unsigned m = hf_bucket_match(bk, tag); m != 0; m &= m - 1) {
			struct hf_cache_entry *e = hf_word_addr(bk->s[hf_match_word(m)]);
			if (hf_cache_entry_has_key(e, k))
				return e;
		}
		if (bk->ovf == 0)
			break;
	}
	return NULL;
}

/* Add e (not in the table) under hash. There is always a free word: the
 * table has more words than `entries`, and inserts stop there. */
static void hf_tbl_add(struct hf_cache *c, struct hf_cache_entry *e, uint32_t hash)
{
	uint32_t home = hf_home(c, hash), b = home;

	for (;;) {
		struct hf_bucket *bk = &c->tbl[b];
		for (unsigned i = 0; i < HF_BUCKET_SLOTS; i++) {
			if (bk->s[i] != 0)
				continue;
			bk->s[i] = hf_tag(hash) | (uintptr_t)e;
			for (uint32_t p = home; p != b; p = hf_next(c, p))
				c->tbl[p].ovf++;
			return;
		}
		b = hf_next(c, b);
	}
}

/* The table word that holds e, which is in the table under hash; *bucket
 * is set to its bucket. */
static uint64_t *hf_tbl_word(struct hf_cache *c, const struct hf_cache_entry *e, uint32_t hash,
			     uint32_t *bucket)
{
	uint64_t w = hf_tag(hash) | (uintptr_t)e;
	uint32_t b = hf_home(c, hash);

	for (uint32_t n = 0; n < c->nb; n++, b = hf_next(c, b))
		for (unsigned i = 0; i < HF_BUCKET_SLOTS; i++)
			if (c->tbl[b].s[i] == w) {
				*bucket = b;
				return &c->tbl[b].s[i];
			}
	return NULL; /* not reached */
}

static void hf_tbl_del(struct hf_cache *c, const struct hf_cache_entry *e, uint32_t hash)
{
	uint32_t b = 0;
	uint64_t *w = hf_tbl_word(c, e, hash, &b);
	if (w == NULL)
		return;
	*w = 0;
	for (uint32_t p = hf_home(c, hash); p != b; p = hf_next(c, p))
		c->tbl[p].ovf--;
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
	e->state = HF_ENTRY_FREE;
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
	memset(e, 0, sizeof(*e)); /* the header: state PENDING */
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
	if (e->state == HF_ENTRY_FREE || e->nwaiters != 0)
		return false;
	if (e->state == HF_ENTRY_PENDING && e->refresh_pending &&
	    c->now_ms < e->refresh_sent_ms + c->conf.miss_timeout_ms)
		return false;
	return true;
}

/* Remove e's key from the table (e keeps its slot; the caller frees it). */
static void hf_entry_unhash(struct hf_cache *c, struct hf_cache_entry *e)
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
static struct hf_cache_entry *hf_slot_alloc(struct hf_cache *c, int ci)
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
static struct hf_cache_entry *hf_insert(struct hf_cache *c, const struct hf_cache_key *key,
					uint32_t hash, int ci)
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
	if (hf_entry_ans(e)->kind == HF_ANS_FAILURE)
		return HF_WAKE_FAILURE;
	if (now_ms < e->expires_ms)
		return HF_WAKE_FRESH;
	if (now_ms < e->stale_until_ms)
		return HF_WAKE_STALE;
	return HF_WAKE_TIMEOUT;
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

void hf_cache_candidates(const struct hf_cache *c, const uint32_t *hashes, unsigned n,
			 struct hf_cache_entry **cand)
{
	for (unsigned i = 0; i < n; i++) {
		const struct hf_bucket *bk = &c->tbl[hf_home(c, hashes[i])];
		unsigned m = hf_bucket_match(bk, hf_tag(hashes[i]));
		cand[i] = m == 0 ? NULL : hf_word_addr(bk->s[hf_match_word(m)]);
	}
}

/* n keys in three passes, so that the cache misses of all n overlap:
 * every home bucket, then every candidate entry, then the compares. */
void hf_cache_lookup_bulk(struct hf_cache *c, const struct hf_cache_key *const *keys,
			  const uint32_t *hashes, unsigned n, struct hf_cache_entry **out)
{
	for (unsigned i = 0; i < n; i++)
		hf_cache_prefetch(c, hashes[i]);
	hf_cache_candidates(c, hashes, n, out);
	for (unsigned i = 0; i < n; i++)
		if (out[i] != NULL)
			hf_cache_entry_prefetch(out[i]);
	for (unsigned i = 0; i < n; i++)
		out[i] = hf_cache_confirm(c, keys[i], hashes[i], out[i]);
}

/* One lookup: a bucket read and a key compare (usually). */
struct hf_cache_entry *hf_cache_lookup(struct hf_cache *c, const struct hf_cache_key *key,
				       uint32_t hash)
{
	return hf_tbl_find(c, key, hash);
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

/* hf_cache_decide past its inline part: not READY, or expired. */
struct hf_cache_decision hf_cache_decide_rest(struct hf_cache *c, struct hf_cache_entry *e,
					      uint64_t now_ms)
{
	struct hf_cache_decision d = {HF_ACT_WAIT, 0};

	c->now_ms = now_ms;
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
	memcpy(hf_entry_ans(e), a, asz);
	e->state = HF_ENTRY_READY;
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
	size_t need = HF_ENTRY_NEED(key->name_len, asz);
	int ci = hf_class_for(need);
	bool failure = a->kind == HF_ANS_FAILURE;
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

int hf_cache_iterate(struct hf_cache *c, uint32_t *iter, const struct hf_cache_key **key,
		     struct hf_cache_entry **e)
{
	for (; *iter < c->nb * HF_BUCKET_SLOTS; (*iter)++) {
		uint64_t w = c->tbl[*iter / HF_BUCKET_SLOTS].s[*iter % HF_BUCKET_SLOTS];
		if (w == 0)
			continue;
		(*iter)++;
		*e = hf_word_addr(w);
		hf_entry_key_copy(&c->iter_key, *e);
		*key = &c->iter_key;
		return 1;
	}
	return 0;
}
