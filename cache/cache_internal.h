/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: what the cache's files share (private: nothing outside
 * cache/ includes it; the contract is hf_cache.h). table.c holds the hash
 * table and the lookups, slab.c the size classes, slots, CLOCK and
 * create/destroy, waiters.c the parked clients, state.c the serve-stale
 * state machine and fills, walk.c the slot walks (flush, NTA, lookups by
 * name, stale-window changes) and the stats.
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
 *    entry a doubly linked list (prev/next from entry->waiter_head, the
 *    head's prev the tail: the entry keeps no tail word); and
 *    per deadline kind a doubly linked queue ordered by deadline
 *    (qprev/qnext). Stale waiters all wait client_timeout and pending
 *    ones miss_timeout, and time only goes forward, so appending keeps a
 *    queue ordered; after a knob change shortens a timeout an insertion
 *    walks back from the tail to its place.
 */
#ifndef HF_CACHE_INTERNAL_H
#define HF_CACHE_INTERNAL_H

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* One NTA change or repair in the log (hf_cache_subtree_event). */
struct hf_subtree_ev {
	uint32_t gen; /* the core's gen once it was made */
	uint8_t mode; /* enum hf_flush_mode */
	uint8_t name_len;
	uint8_t name[HF_DNS_NAME_MAX];
};

struct hf_cache {
	struct hf_bucket *tbl;
	uint32_t nb;	   /* buckets */
	uint32_t gen;	   /* subtree generation (hf_cache_head.gen), never 0 */
	uint32_t catch_up; /* a catch-up walk is due or running */
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

	/* The last NTA changes and repairs, oldest first: a ring of
	 * HF_CACHE_EV_LOG from ev_head, nev in use, gens rising. Every READY
	 * entry's gen is at least the oldest's gen - 1 (the catch-up walk
	 * keeps it so before the ring drops an event). */
	struct hf_subtree_ev *ev;
	uint32_t ev_head, nev;
	struct hf_cache_walk cu_wk; /* the catch-up walk */
	uint32_t cu_target;	    /* entries it visits end up at least here */
};
_Static_assert(offsetof(struct hf_cache, tbl) == offsetof(struct hf_cache_head, tbl) &&
		       offsetof(struct hf_cache, nb) == offsetof(struct hf_cache_head, nb) &&
		       offsetof(struct hf_cache, gen) == offsetof(struct hf_cache_head, gen) &&
		       offsetof(struct hf_cache, catch_up) ==
			       offsetof(struct hf_cache_head, catch_up),
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

/* ---- slots ---- */

static inline struct hf_cache_entry *hf_slot_at(const struct hf_cache_class *cl, uint32_t i)
{
	return (struct hf_cache_entry *)(void *)(cl->base + (size_t)i * cl->slot_size);
}

/* Smallest class whose slots hold `need` bytes, -1 when none does. */
static inline int hf_class_for(size_t need)
{
	for (int i = 0; i < HF_CACHE_NCLASS; i++)
		if (need <= hf_class_size[i])
			return i;
	return -1;
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

/* Expired for good: back to PENDING in place (the slot is kept). */
static inline void hf_entry_drop_data(struct hf_cache_entry *e)
{
	e->state = HF_ENTRY_PENDING;
	e->gen = 0;
	e->inserted_ms = 0;
	e->expires_ms = 0;
	e->stale_until_ms = 0;
	e->refresh_failed_ms = 0;
}

/* ---- across the files (miss path and management only: nothing a hit
 * runs is called across them; each is described where it is defined) ---- */

/* table.c */
void hf_tbl_add(struct hf_cache *c, struct hf_cache_entry *e, uint32_t hash);
uint64_t *hf_tbl_word(struct hf_cache *c, const struct hf_cache_entry *e, uint32_t hash,
		      uint32_t *bucket);
void hf_tbl_del(struct hf_cache *c, const struct hf_cache_entry *e, uint32_t hash);

/* slab.c */
void hf_slot_free(struct hf_cache *c, struct hf_cache_entry *e);
struct hf_cache_entry *hf_slot_alloc(struct hf_cache *c, int ci);
void hf_entry_unhash(struct hf_cache *c, struct hf_cache_entry *e);
struct hf_cache_entry *hf_insert(struct hf_cache *c, const struct hf_cache_key *key, uint32_t hash,
				 int ci);

/* walk.c */
void hf_entry_catch_up(struct hf_cache *c, struct hf_cache_entry *e);
static inline void hf_entry_sync(struct hf_cache *c, struct hf_cache_entry *e)
{
	if (HF_UNLIKELY(e->state == HF_ENTRY_READY && e->gen != c->gen))
		hf_entry_catch_up(c, e);
}

/* waiters.c */
void hf_wake_all(struct hf_cache *c, struct hf_cache_entry *e, enum hf_wake_mode mode,
		 hf_wake_fn wake, void *arg);

#endif
