/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: one cache per worker core.
 *
 * Concurrency contract: a struct hf_cache is owned by exactly one thread
 * (its worker lcore; a unit test's main thread). Nothing in it is shared:
 * no locks, no atomics. Other threads change it only by sending messages
 * (common/hf_msg.h) that the owner applies. Entries are reclaimed by the
 * owner when evicted, replaced or flushed; no pointer to an entry is
 * valid after the next call that may insert, fill, flush or evict.
 *
 * Memory is bounded at creation: at most `entries` keys in a hash table and
 * `memory` bytes of answer storage, carved into size classes; when a class
 * is full, a CLOCK hand over that class evicts an entry that has no
 * waiters (referenced entries get a second chance).
 *
 * Time is a parameter (now_ms, a monotonic millisecond clock) so tests can
 * drive every TTL and serve-stale transition with a fake clock.
 */
#ifndef HF_CACHE_H
#define HF_CACHE_H

#include "dns/hf_crc32c.h"
#include "dns/hf_dns.h"

#ifdef __SSE4_1__
#include <smmintrin.h>
#endif

#define HF_KEY_DO 0x01 /* client set DO: the answer carries DNSSEC records */
#define HF_KEY_CD 0x02 /* client set CD: unvalidated data is acceptable */

/*
 * The canonical question. Only the first HF_CACHE_KEY_HDR + name_len bytes
 * are meaningful: hashing and comparing stop there, so a lookup key need
 * not be zero-padded. Keys stored in the hash are copied whole.
 */
struct hf_cache_key {
	uint8_t name_len;		   /* 1..255 */
	uint8_t flags;			   /* HF_KEY_* */
	uint16_t qtype;			   /* host order */
	uint16_t qclass;		   /* host order */
	uint8_t name[HF_DNS_NAME_MAX + 1]; /* lower-cased wire name */
} __attribute__((aligned(8)));

#define HF_CACHE_KEY_HDR 6

/*
 * A key's hash: CRC32-C over its name, continued over name_len, flags,
 * qtype and qclass as the key holds them. The parser computes the name's
 * part while it lower-cases the name (hf_query.name_crc), and the worker
 * ends it with hf_cache_key_hash_end from values, not by reading back the
 * key it has just written (a load over several fresh stores waits for
 * them to retire: that was 7% of a cache hit).
 */
static inline uint32_t hf_cache_key_hash_end(uint32_t name_crc, uint8_t name_len, uint8_t flags,
					     uint16_t qtype, uint16_t qclass)
{
	uint32_t c = hf_crc32c_u32(name_crc, (uint32_t)name_len | (uint32_t)flags << 8 |
						     (uint32_t)qtype << 16);
	return hf_crc32c_u16(c, qclass);
}
/* The same from a whole key (a few cycles). Lookups take the caller's
 * hash; where a key is stored (hf_cache_add_pending, hf_cache_fill) the
 * cache computes it itself, so a wrong hash from a caller can make a
 * lookup miss but never file a key where its removal would not find it. */
uint32_t hf_cache_key_hash(const struct hf_cache_key *k);
/* Compare the meaningful bytes; 0 when equal (memcmp's shape). */
int hf_cache_key_cmp(const struct hf_cache_key *a, const struct hf_cache_key *b);

struct hf_cache_conf {
	uint32_t entries;	    /* max keys */
	uint64_t memory;	    /* bytes for stored answers */
	uint32_t waiters;	    /* max parked clients on this core */
	uint32_t waiters_per_entry; /* max parked clients per key */
	uint64_t stale_window_ms;   /* serve-stale: how long past TTL (0 = off) */
	uint64_t
		client_timeout_ms; /* stale hit: wait this long for a refresh (0 = stale at once) */
	uint32_t stale_ttl;	   /* TTL written on stale answers (s) */
	uint64_t failure_recheck_ms; /* after a failed refresh, serve stale without asking */
	uint64_t miss_timeout_ms;    /* a parked miss gets SERVFAIL after this */
	uint32_t prefetch_pct;	     /* a hit in the last pct% of a TTL asks again (0 = never) */
	int socket_id;		     /* NUMA socket for memory (SOCKET_ID_ANY ok) */
};

enum hf_entry_state {
	HF_ENTRY_PENDING = 0, /* resolution in flight, no data yet */
	HF_ENTRY_READY = 1,   /* holds an answer (fresh, stale or failure) */
	HF_ENTRY_FREE = 2,    /* the slot holds no key (on its class's free list) */
};

/*
 * A cached entry. Read by the owner's dataplane to build answers.
 * Its key follows the fixed fields (HF_CACHE_KEY_HDR + name_len bytes at
 * `key`), then the stored answer at hf_entry_ans(), so that for a name of
 * up to 25 bytes with an A answer everything a hit reads is in the slot's
 * first two cache lines (docs/decisions.md).
 */
struct hf_cache_entry {
	uint64_t inserted_ms;	 /* when the answer was filled */
	uint64_t expires_ms;	 /* inserted + ttl */
	uint64_t stale_until_ms; /* expires + stale window (FAILURE: = expires) */
	/* One word for two times, so that prefetch costs no byte of the entry
	 * (8 more took the benchmark's names into the next size class): */
	union {
		/* no MISS/REFRESH out: a hit before this is answered without
		 * asking (the inline test); from here on it asks again
		 * (prefetch). At most expires_ms. */
		uint64_t refresh_at_ms;
		/* a MISS/REFRESH out (refresh_pending): when it was sent. At
		 * most now, so the inline test fails and hf_cache_decide_rest
		 * decides. */
		uint64_t refresh_sent_ms;
	};
	uint64_t refresh_failed_ms; /* last failed refresh (0 = none) */
	/* first waiter index, HF_WAITER_NONE if none; the list is circular
	 * through prev (the head's prev is the tail) */
	uint32_t waiter_head;
	/* The core's subtree generation (hf_cache_head.gen) its data was last
	 * brought up to date with; 0 while it holds no data (PENDING, FREE),
	 * so that gen == the core's is also the READY test (hf_cache_decide).
	 * An entry behind the core's gen has NTA changes (or repairs) to
	 * apply before its data is used (hf_cache_subtree_event). */
	uint32_t gen;
	uint16_t nwaiters;
	uint8_t state;		 /* enum hf_entry_state */
	uint8_t refresh_pending; /* a MISS/REFRESH is out, no FILL back yet */
	uint8_t referenced;	 /* CLOCK bit */
	uint8_t size_class;
	/* the key's bytes as in struct hf_cache_key (name_len first) */
	uint8_t key[];
};

/* Offset of the stored answer in an entry whose key has name_len bytes of name. */
#define HF_ENTRY_ANS_OFF(name_len)                                                             \
	((offsetof(struct hf_cache_entry, key) + HF_CACHE_KEY_HDR + (size_t)(name_len) + 3u) & \
	 ~(size_t)3u)

/* The stored answer (valid when state == READY). */
static inline struct hf_dns_answer *hf_entry_ans(const struct hf_cache_entry *e)
{
	return (struct hf_dns_answer *)(uintptr_t)((const uint8_t *)e +
						   HF_ENTRY_ANS_OFF(e->key[0]));
}

#define HF_WAITER_NONE UINT32_MAX

/* What the dataplane must do for a lookup result (hf_cache_decide). */
enum hf_cache_action {
	HF_ACT_FRESH = 0,   /* answer from the entry, TTLs minus age */
	HF_ACT_STALE = 1,   /* answer stale: stale TTL, EDE 3 (19 for NXDOMAIN) */
	HF_ACT_FAILURE = 2, /* cached failure: answer its rcode + EDE */
	HF_ACT_WAIT = 3,    /* park the client (hf_cache_park) */
};

struct hf_cache_decision {
	uint8_t action;	    /* enum hf_cache_action */
	uint8_t send_query; /* the caller must send a MISS (pending) or REFRESH to control */
};

struct hf_cache;

struct hf_cache *hf_cache_create(const char *name, const struct hf_cache_conf *conf);
void hf_cache_destroy(struct hf_cache *c);
/* Replace the serve-stale knobs at run time (sizes stay). A new stale
 * window applies to every cached answer: this walks every slot at once. */
void hf_cache_set_knobs(struct hf_cache *c, const struct hf_cache_conf *conf);
/* The same without the walk; true when the stale window changed, and every
 * entry must then get it through hf_cache_rewindow_step, in slices so a big
 * cache does not stall its core. */
bool hf_cache_put_knobs(struct hf_cache *c, const struct hf_cache_conf *conf);
/* The configuration in force (knobs as last set). */
const struct hf_cache_conf *hf_cache_knobs(const struct hf_cache *c);

/* The home bucket of a hash among nb: the hash times an odd constant
 * (every bit then reaches the high ones), scaled to nb (hf_home in
 * cache_internal.h says why). */
static inline uint32_t hf_cache_home(uint32_t nb, uint32_t hash)
{
	return (uint32_t)(((uint64_t)(hash * 0x9e3779b1u) * nb) >> 32);
}

/* The first members of struct hf_cache, for the inline functions. */
struct hf_cache_head {
	const void *tbl; /* buckets of 64 bytes */
	uint32_t nb;
	uint32_t gen;	   /* subtree generation: one more per NTA change or repair */
	uint32_t catch_up; /* a catch-up walk is due (hf_cache_catch_up_step) */
};

/* Start loading the bucket a lookup of hash will read, as soon as the hash
 * is known: the worker calls it per packet while it parses the rest of
 * the burst, so the bucket misses overlap with that work. */
static inline void hf_cache_prefetch(const struct hf_cache *c, uint32_t hash)
{
	const struct hf_cache_head *h = (const struct hf_cache_head *)(const void *)c;
	__builtin_prefetch((const uint8_t *)h->tbl + 64 * (size_t)hf_cache_home(h->nb, hash));
}

/* Start loading the lines of e that a hit reads (header, key and, for a
 * short name, the answer). */
static inline void hf_cache_entry_prefetch(const struct hf_cache_entry *e)
{
	__builtin_prefetch(e);
	__builtin_prefetch((const uint8_t *)e + 64);
}

/* Is e's key k? name_len first, so that no read runs past the stored key;
 * then 16 bytes a step with SSE (8 without; a libc memcmp call was 4% of
 * a 100k hit), the last step the bytes that end the key. */
static inline bool hf_cache_entry_has_key(const struct hf_cache_entry *e,
					  const struct hf_cache_key *k)
{
	const uint8_t *a = e->key, *b = (const uint8_t *)k;
	size_t n = HF_CACHE_KEY_HDR + (size_t)k->name_len, i = 0;
	uint64_t x, y, d = 0;

	if (a[0] != b[0])
		return false;
#ifdef __SSE4_1__
	/* 16 bytes a step, the last step the 16 bytes that end the key */
	if (HF_LIKELY(n >= 16)) {
		__m128i dv = _mm_setzero_si128();
		for (; i + 16 < n; i += 16)
			dv = _mm_or_si128(
				dv,
				_mm_xor_si128(
					_mm_loadu_si128((const __m128i *)(const void *)(a + i)),
					_mm_loadu_si128((const __m128i *)(const void *)(b + i))));
		dv = _mm_or_si128(
			dv, _mm_xor_si128(
				    _mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
				    _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16))));
		return _mm_testz_si128(dv, dv) != 0;
	}
#endif
	if (HF_UNLIKELY(n < 8)) /* the root name */
		return memcmp(a, b, n) == 0;
	for (; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return (d | (x ^ y)) == 0;
}

/*
 * A lookup in two halves, so that the caller can spread the entries' cache
 * misses over its own work (the worker loads entry i + 6 while it answers
 * query i). hf_cache_candidates gives each hash's first tag match in its
 * home bucket (call hf_cache_prefetch first), or NULL; hf_cache_confirm
 * then gives the entry: the candidate if its key matches, else what a full
 * lookup finds (a tag collision, or a key that overflowed its bucket).
 */
void hf_cache_candidates(const struct hf_cache *c, const uint32_t *hashes, unsigned n,
			 struct hf_cache_entry **cand);
/* One lookup: usually a bucket read and a key compare. */
struct hf_cache_entry *hf_cache_lookup(struct hf_cache *c, const struct hf_cache_key *key,
				       uint32_t hash);
static inline struct hf_cache_entry *hf_cache_confirm(struct hf_cache *c,
						      const struct hf_cache_key *key, uint32_t hash,
						      struct hf_cache_entry *cand)
{
	if (HF_LIKELY(cand != NULL && hf_cache_entry_has_key(cand, key)))
		return cand;
	return hf_cache_lookup(c, key, hash);
}

/* Bulk lookup of n keys with precomputed hashes; out[i] = entry or NULL. */
void hf_cache_lookup_bulk(struct hf_cache *c, const struct hf_cache_key *const *keys,
			  const uint32_t *hashes, unsigned n, struct hf_cache_entry **out);

/*
 * Serve-stale state machine for a query that found entry e (never NULL;
 * for a miss call hf_cache_add_pending first). Marks refresh_pending /
 * refresh_sent_ms when it asks the caller to send a query, and sets the
 * CLOCK bit. Rules (RFC 8767; docs/config.md, "Serve-stale (RFC 8767) and failures"):
 *   PENDING                                -> WAIT
 *   READY, now < refresh_at                -> FRESH
 *   READY, refresh_at <= now < expires     -> FRESH, query unless pending
 *       (prefetch: a name still asked is refreshed before it expires, so
 *       its expiry does not park a burst of clients; once per TTL)
 *   READY FAILURE, now < expires           -> FAILURE
 *   READY expired, now < stale_until (stale data):
 *       refresh failed < failure_recheck ago -> STALE, no query
 *       client_timeout == 0                  -> STALE, query unless pending
 *       otherwise                            -> WAIT, query unless pending
 *   READY past stale_until (or expired FAILURE) -> the entry becomes
 *       PENDING (data dropped)                -> WAIT + query
 * A WAIT whose park fails is answered by hf_cache_fallback().
 * The first two READY rows are decided inline (a hit: no call); the rest
 * in hf_cache_decide_rest, which first brings an entry behind the core's
 * subtree generation up to date (hf_cache_subtree_event).
 */
struct hf_cache_decision hf_cache_decide_rest(struct hf_cache *c, struct hf_cache_entry *e,
					      uint64_t now_ms);
static inline struct hf_cache_decision hf_cache_decide(struct hf_cache *c, struct hf_cache_entry *e,
						       uint64_t now_ms)
{
	const struct hf_cache_head *h = (const struct hf_cache_head *)(const void *)c;
	if (!e->referenced) /* a line not written is not written back */
		e->referenced = 1;
	/* READY and up to date with every NTA change: one compare (e->gen
	 * is 0 unless READY) */
	if (HF_LIKELY(e->gen == h->gen && now_ms < e->refresh_at_ms)) {
		struct hf_cache_decision d = {HF_ACT_FRESH, 0};
		if (HF_UNLIKELY(hf_entry_ans(e)->kind == HF_ANS_FAILURE))
			d.action = HF_ACT_FAILURE;
		return d;
	}
	return hf_cache_decide_rest(c, e, now_ms);
}

/* Insert a PENDING entry for key (evicting if needed). NULL when no room. */
struct hf_cache_entry *hf_cache_add_pending(struct hf_cache *c, const struct hf_cache_key *key,
					    uint32_t hash, uint64_t now_ms);

/*
 * Park a client on e until a FILL or its deadline: now + client_timeout for
 * a stale entry, now + miss_timeout for a pending one. `cookie` is the
 * caller's (an mbuf). Returns 0 or HF_EFULL (per-core or per-entry limit).
 */
int hf_cache_park(struct hf_cache *c, struct hf_cache_entry *e, void *cookie, uint64_t now_ms);

/* How a parked client (or one that could not park) is to be answered. */
enum hf_wake_mode {
	HF_WAKE_FRESH = 0,   /* entry has fresh data */
	HF_WAKE_STALE = 1,   /* entry has stale data: stale answer */
	HF_WAKE_FAILURE = 2, /* entry holds a failure answer: rcode + EDE from it */
	HF_WAKE_TIMEOUT =
		3, /* nothing to serve: SERVFAIL, EDE 22 "timed out" (entry may be NULL) */
};
typedef void (*hf_wake_fn)(void *arg, void *cookie, struct hf_cache_entry *e,
			   enum hf_wake_mode mode);

/* The answer for a client that could not be parked on e. */
enum hf_wake_mode hf_cache_fallback(const struct hf_cache *c, const struct hf_cache_entry *e,
				    uint64_t now_ms);

/*
 * Apply a FILL: `a` (hf_dns_answer_size(a) bytes) is the answer for key.
 * - a positive/negative answer replaces whatever is there;
 * - a FAILURE answer never replaces data that is still within its stale
 *   window: the entry keeps its data and records refresh_failed_ms = now;
 *   otherwise the failure is stored for a->ttl seconds;
 * - a fill for a key that is not cached is inserted (every core caches
 *   every answer), evicting if needed;
 * - a positive/negative refill with TTL 0 of data that had a TTL (a
 *   caching upstream's copy in its last second) is kept for
 *   HF_CACHE_TTL0_HOLD_MS, answered with TTL 0, before the next refresh;
 * refresh_pending is cleared. Every client parked on the key is then woken
 * through wake() (FRESH, STALE or FAILURE) and unparked.
 * Returns 0, or HF_ENOMEM when there was no room (waiters still woken).
 */
#define HF_CACHE_TTL0_HOLD_MS 1000u
int hf_cache_fill(struct hf_cache *c, const struct hf_cache_key *key, uint32_t hash,
		  const struct hf_dns_answer *a, uint64_t now_ms, hf_wake_fn wake, void *arg);

/* Wake (through wake()) every parked client whose deadline has passed. */
void hf_cache_expire_waiters(struct hf_cache *c, uint64_t now_ms, hf_wake_fn wake, void *arg);
/* Wake every parked client now, whatever its deadline, with what its entry
 * can give at now_ms (fresh, stale, failure, or SERVFAIL EDE 22): a stop
 * answers everyone it holds. */
void hf_cache_wake_every(struct hf_cache *c, uint64_t now_ms, hf_wake_fn wake, void *arg);

/* Remove one name (all types) or a whole subtree; all entries when name is NULL.
 * Only data goes: an entry with no data yet (a resolution in flight) is
 * left alone, and one whose clients wait on a refresh keeps them and
 * becomes pending, so every parked client still gets the answer. */
unsigned hf_cache_flush(struct hf_cache *c, const uint8_t *name, size_t name_len, bool subtree,
			hf_wake_fn wake, void *arg);

/* What hf_cache_flush_mode() does to the entries the name selects. */
enum hf_flush_mode {
	HF_FLUSH_ANY = 0,   /* remove every one */
	HF_FLUSH_BOGUS = 1, /* remove failures and bogus/indeterminate (CD) data */
	/* NTA added: remove failures and bogus data; secure data becomes
	 * insecure with HF_ANS_F_NTA (never AD again) and a stale entry whose
	 * refresh failed asks again on its next hit */
	HF_FLUSH_NTA_ADD = 2,
	/* NTA removed: remove failures, bogus data and HF_ANS_F_NTA entries,
	 * so the next query validates again */
	HF_FLUSH_NTA_REMOVE = 3,
	/* the zone validates again (a repair): remove failures, and stale data
	 * whose refresh failed asks again on its next hit (the failure-recheck
	 * hold is dropped) */
	HF_FLUSH_REPAIRED = 4,
};

/* hf_cache_flush with a mode; returns entries removed or changed. Walks
 * every slot ever used, on the owner's thread: ~50-100 ns per cached entry
 * (the slot and its key are two cache misses). */
unsigned hf_cache_flush_mode(struct hf_cache *c, const uint8_t *name, size_t name_len, bool subtree,
			     enum hf_flush_mode mode, hf_wake_fn wake, void *arg);

/* Where a flush walk stands, so it can be done a slice at a time. */
struct hf_cache_walk {
	uint32_t cls;	/* size class */
	uint32_t slot;	/* next slot in it */
	uint32_t count; /* entries removed or changed so far */
};
/*
 * Go on with a walk (start from {0}) over at most `budget` slots; true when
 * it is done. Between steps the owner may serve packets: entries added
 * meanwhile hold no data yet (fills come only from control messages, which
 * the caller holds back until the walk is done), so nothing is missed.
 */
bool hf_cache_flush_step(struct hf_cache *c, struct hf_cache_walk *wk, const uint8_t *name,
			 size_t name_len, bool subtree, enum hf_flush_mode mode, uint32_t budget,
			 hf_wake_fn wake, void *arg);

/*
 * An NTA change (HF_FLUSH_NTA_ADD, HF_FLUSH_NTA_REMOVE) or a repair
 * (HF_FLUSH_REPAIRED) for the subtree at name, in O(1): the core's
 * generation goes up by one and the change goes into a log of the last
 * HF_CACHE_EV_LOG changes. Nothing is walked: an entry behind the
 * generation has the changes it missed applied (under their names, in
 * order, as hf_cache_flush_mode would have) when it is next used (a hit,
 * a fill, a timeout, a lookup, a walk), so it is answered as if every core
 * had walked its cache. A change equal to the newest one (the same mode and
 * name, an NTA renewed) only moves that one up. Once half the log is in
 * use a catch-up walk is due (hf_cache_catch_up_due); false when the log
 * is full: the caller must go on with the catch-up (hf_cache_catch_up_step)
 * and call again.
 */
#define HF_CACHE_EV_LOG 256
bool hf_cache_subtree_event(struct hf_cache *c, const uint8_t *name, size_t name_len,
			    enum hf_flush_mode mode);
/* Is a catch-up walk due? One load: the worker asks once a loop. */
static inline bool hf_cache_catch_up_due(const struct hf_cache *c)
{
	return ((const struct hf_cache_head *)(const void *)c)->catch_up != 0;
}
/* Go on with the catch-up walk over at most `budget` slots: the entries
 * behind the generation get what they missed (removed or changed), and the
 * log drops what every entry has. True when no walk is due any more.
 * Packets may be served between steps. */
bool hf_cache_catch_up_step(struct hf_cache *c, uint32_t budget);
/* Bring one entry up to date before its data is read outside the paths
 * above (a management lookup of one key): e, or NULL when the changes it
 * missed removed it (as their walk would have). */
struct hf_cache_entry *hf_cache_entry_sync(struct hf_cache *c, struct hf_cache_entry *e);

/* A walk's visit: one cached entry and its key, brought up to date with
 * the core's generation first. It may change the entry's fields but must
 * not insert, fill, flush or evict. */
typedef void (*hf_visit_fn)(void *arg, const struct hf_cache_key *k, struct hf_cache_entry *e);
/* Visit the entries of at most `budget` slots (start wk from {0}); true
 * when the walk is done (wk->count is the caller's). ~5-10 ns per slot
 * plus the key's cache miss for entries in use. */
bool hf_cache_walk_step(struct hf_cache *c, struct hf_cache_walk *wk, uint32_t budget,
			hf_visit_fn visit, void *arg);
/* After hf_cache_put_knobs changed the stale window: write it into the
 * entries of at most `budget` slots, as hf_cache_walk_step does (no keys
 * read); true when every slot is done. */
bool hf_cache_rewindow_step(struct hf_cache *c, struct hf_cache_walk *wk, uint32_t budget);

struct hf_cache_stats {
	uint64_t entries;    /* keys in the hash */
	uint64_t bytes_used; /* answer storage in use (slot sizes) */
	uint64_t evictions;
	uint64_t waiters;     /* currently parked */
	uint64_t park_fails;  /* park refused (limits) */
	uint64_t alloc_fails; /* insert refused: no room even after eviction */
};
void hf_cache_get_stats(const struct hf_cache *c, struct hf_cache_stats *st);

/* Iterate the entries the hash table holds; returns 0 at the end. *key
 * is a copy, valid until the next call. Not safe across inserts or
 * removals; the worker walks slots (hf_cache_walk_step) instead, and the
 * unit tests use this as a view independent of the slots. */
int hf_cache_iterate(struct hf_cache *c, uint32_t *iter, const struct hf_cache_key **key,
		     struct hf_cache_entry **e);

#endif
