/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * micro: holdfast's packet-path pieces one at a time (docs/bench.md).
 *
 *   BM_query_parse_{plain,edns}      hf_query_parse, 40- and 51-byte queries
 *   BM_cache_key_hash                hf_cache_key_hash of a 24-byte name
 *   BM_cache_key_build_hash          mixed-case wire name -> key -> hash
 *   BM_cache_lookup_{hit,miss}/<N>   hf_cache_lookup_bulk, 32 keys per call,
 *                                    N = 1k, 100k, 1M cached names
 *   BM_table_lookup_{hit,miss}/{own,rte_hash}/<N>
 *                                    the same lookups (and a read of the
 *                                    entry found) through the cache's own
 *                                    table and through DPDK's rte_hash
 *   BM_answer_{plain,edns,stale_ede} one query through hf_worker_rx, answer
 *                                    built in place (fresh; fresh + OPT;
 *                                    stale + OPT + EDE 3)
 *   BM_template_refill               the per-packet template copy the
 *                                    answer benchmarks include
 *   BM_worker_rx_burst32             32 queries (distinct names, EDNS)
 *                                    through one hf_worker_rx call
 *   BM_ring_{query_elem,ptr}/<B>     rte_ring enqueue + dequeue of B
 *                                    struct hf_msg_query / pointers
 *   BM_fanout_fill/<W>, BM_ctl_done_ring  (bench/micro_fanout.c) what an
 *                                    answer costs control thread 0
 *   BM_cache_snapshot_{save,load}/<N> the cache of N names into a snapshot
 *                                    image (walk, records, CRC32-C) and
 *                                    back into an empty cache (check,
 *                                    restore); the file's write is not in it
 *
 * Needs the EAL (rings, mbufs): started here with --no-huge.
 * HF_BENCH_SMOKE=1 leaves out the 1M-name lookups, of both tables (CI
 * smoke pass).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench/hf_bench.h"
#include "bench/hf_bench_dns.h"
#include "cache/hf_snap.h"
#include "dataplane/hf_cookie.h"
#include "dns/hf_query.h"

/* ---- query parse ------------------------------------------------------- */

static void hf_bm_query_parse(struct hf_bench_state *st, bool edns)
{
	uint8_t frame[HF_BD_FRAME_MAX], name[HF_BD_NAME_LEN], lname[HF_QUERY_LNAME_SIZE];
	struct hf_query q;
	size_t len;
	uint16_t dlen;

	hf_bd_name(name, 'n', 42);
	len = hf_bd_frame(frame, name, 0x4242, edns);
	dlen = (uint16_t)(len - HF_BD_DNS_OFF);
	if (hf_query_parse(frame + HF_BD_DNS_OFF, dlen, &q, lname) != HF_Q_OK) {
		hf_bench_skip_with_error(st, "query does not parse");
		return;
	}
	HF_BENCH_LOOP(st)
	{
		enum hf_query_verdict v;
		hf_bench_do_not_optimize(frame);
		v = hf_query_parse(frame + HF_BD_DNS_OFF, dlen, &q, lname);
		HF_BENCH_KEEP(v);
		hf_bench_do_not_optimize(&q);
		hf_bench_do_not_optimize(lname);
	}
	hf_bench_set_items_processed(st, st->iterations);
	hf_bench_set_bytes_processed(st, st->iterations * dlen);
	hf_bench_counter(st, "dns_bytes", dlen, HF_BENCH_CNT_DEFAULT);
}

static void bm_query_parse_plain(struct hf_bench_state *st)
{
	hf_bm_query_parse(st, false);
}

static void bm_query_parse_edns(struct hf_bench_state *st)
{
	hf_bm_query_parse(st, true);
}

/* ---- keys --------------------------------------------------------------- */

static void bm_cache_key_hash(struct hf_bench_state *st)
{
	struct hf_cache_key k;
	uint8_t name[HF_BD_NAME_LEN];

	hf_bd_name(name, 'n', 42);
	hf_bd_key(&k, name);
	HF_BENCH_LOOP(st)
	{
		uint32_t h;
		hf_bench_do_not_optimize(&k);
		h = hf_cache_key_hash(&k);
		HF_BENCH_KEEP(h);
	}
	hf_bench_set_items_processed(st, st->iterations);
}

/* What the worker does per query besides the parse: lower-case the name
 * into the key (the parser does it in its pass; here a table loop), set
 * the header fields, hash. 64 different names, mixed case. */
static void bm_cache_key_build_hash(struct hf_bench_state *st)
{
	static uint8_t wire[64][HF_BD_NAME_LEN];
	struct hf_cache_key k;
	unsigned i = 0;

	for (unsigned j = 0; j < 64; j++) {
		hf_bd_name(wire[j], 'n', j * 977);
		wire[j][1] = 'N';  /* 0x20-style case */
		wire[j][10] = 'B'; /* "Bench" */
	}
	HF_BENCH_LOOP(st)
	{
		const uint8_t *w = wire[i++ & 63];
		uint32_t h;
		hf_bench_do_not_optimize(w);
		k.name_len = HF_BD_NAME_LEN;
		k.flags = 0;
		k.qtype = HF_TYPE_A;
		k.qclass = HF_CLASS_IN;
		for (unsigned b = 0; b < HF_BD_NAME_LEN; b++)
			k.name[b] = hf_dns_lower[w[b]];
		h = hf_cache_key_hash(&k);
		HF_BENCH_KEEP(h);
	}
	hf_bench_set_items_processed(st, st->iterations);
}

/* ---- bulk lookups -------------------------------------------------------- */

#define HF_LK_SAMPLES (1u << 18) /* lookup keys cycled through, 8 MiB */
#define HF_LK_STRIDE  32	 /* bytes per key: 6 + 24 meaningful, padded */

/*
 * The cache of the last N looked at, and 2^18 lookup keys drawn uniformly
 * from its names (hits) or from never-cached names (misses). Lookup keys
 * are stored compactly: a lookup reads only the meaningful bytes, as in
 * the worker, where keys live on its stack.
 */
static struct {
	uint32_t n;
	struct hf_cache *c;
	struct hf_cache_conf cc;
	uint8_t *hit_keys, *miss_keys;
	const struct hf_cache_key **hit_p, **miss_p;
	uint32_t *hit_h, *miss_h;
} lk;

static void hf_lk_free(void)
{
	if (lk.c)
		hf_cache_destroy(lk.c);
	free(lk.hit_keys);
	free(lk.miss_keys);
	free(lk.hit_p);
	free(lk.miss_p);
	free(lk.hit_h);
	free(lk.miss_h);
	memset(&lk, 0, sizeof(lk));
}

static void hf_noop_wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode)
{
}

static int hf_lk_setup(uint32_t n, char *err, size_t errlen)
{
	_Alignas(8) uint8_t abuf[512]; /* a struct hf_dns_answer */
	uint8_t name[HF_BD_NAME_LEN];
	struct hf_cache_key k;
	uint64_t rnd = 0x9e3779b97f4a7c15ull;

	if (lk.n == n && lk.c != NULL)
		return 0;
	hf_lk_free();
	/* a quarter more keys than names, as before the cache had its own
	 * table (rte_hash refused some inserts close to full) */
	hf_bd_cache_conf(&lk.cc, n + n / 4);
	lk.c = hf_cache_create("hf_bd_lookup", &lk.cc);
	lk.hit_keys = aligned_alloc(64, (size_t)HF_LK_SAMPLES * HF_LK_STRIDE);
	lk.miss_keys = aligned_alloc(64, (size_t)HF_LK_SAMPLES * HF_LK_STRIDE);
	lk.hit_p = calloc(HF_LK_SAMPLES, sizeof(*lk.hit_p));
	lk.miss_p = calloc(HF_LK_SAMPLES, sizeof(*lk.miss_p));
	lk.hit_h = calloc(HF_LK_SAMPLES, sizeof(*lk.hit_h));
	lk.miss_h = calloc(HF_LK_SAMPLES, sizeof(*lk.miss_h));
	if (!lk.c || !lk.hit_keys || !lk.miss_keys || !lk.hit_p || !lk.miss_p || !lk.hit_h ||
	    !lk.miss_h) {
		snprintf(err, errlen, "cache of %u names: out of memory (raise -m)", n);
		hf_lk_free();
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		int sz;
		hf_bd_name(name, 'n', i);
		hf_bd_key(&k, name);
		sz = hf_bd_answer(abuf, sizeof(abuf), name, hf_bd_addr(i), HF_BD_TTL);
		if (sz < 0 || hf_cache_fill(lk.c, &k, hf_cache_key_hash(&k),
					    (const struct hf_dns_answer *)(const void *)abuf, 1000,
					    hf_noop_wake, NULL) != 0) {
			snprintf(err, errlen, "fill of name %u failed", i);
			hf_lk_free();
			return -1;
		}
	}
	for (uint32_t s = 0; s < HF_LK_SAMPLES; s++) {
		struct hf_cache_key *hk =
			(struct hf_cache_key *)(void *)(lk.hit_keys + (size_t)s * HF_LK_STRIDE);
		struct hf_cache_key *mk =
			(struct hf_cache_key *)(void *)(lk.miss_keys + (size_t)s * HF_LK_STRIDE);
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		hf_bd_name(name, 'n', (uint32_t)(rnd % n));
		hf_bd_key(&k, name);
		memcpy(hk, &k, HF_CACHE_KEY_HDR + HF_BD_NAME_LEN);
		hf_bd_name(name, 'm', s);
		hf_bd_key(&k, name);
		memcpy(mk, &k, HF_CACHE_KEY_HDR + HF_BD_NAME_LEN);
		lk.hit_p[s] = hk;
		lk.miss_p[s] = mk;
		lk.hit_h[s] = hf_cache_key_hash(hk);
		lk.miss_h[s] = hf_cache_key_hash(mk);
	}
	lk.n = n;
	return 0;
}

static void hf_bm_lookup(struct hf_bench_state *st, bool hit)
{
	char err[256];
	struct hf_cache_entry *out[32];
	struct hf_cache_stats cs;
	const struct hf_cache_key **kp;
	const uint32_t *hs;
	uint32_t pos = 0;
	uint64_t found = 0;

	if (hf_lk_setup((uint32_t)st->arg, err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	kp = hit ? lk.hit_p : lk.miss_p;
	hs = hit ? lk.hit_h : lk.miss_h;
	HF_BENCH_LOOP(st)
	{
		hf_cache_lookup_bulk(lk.c, kp + pos, hs + pos, 32, out);
		for (unsigned i = 0; i < 32; i++)
			found += out[i] != NULL;
		pos = (pos + 32) & (HF_LK_SAMPLES - 1);
	}
	if (found != (hit ? st->iterations * 32 : 0)) {
		hf_bench_skip_with_error(st, hit ? "a cached name was not found"
						 : "a never-cached name was found");
		return;
	}
	hf_cache_get_stats(lk.c, &cs);
	hf_bench_set_items_processed(st, st->iterations * 32);
	hf_bench_counter(st, "entries", (double)cs.entries, HF_BENCH_CNT_DEFAULT);
	hf_bench_counter(st, "bytes_per_entry",
			 cs.entries ? (double)cs.bytes_used / (double)cs.entries : 0,
			 HF_BENCH_CNT_DEFAULT);
	hf_bench_counter(st, "memory_per_entry",
			 cs.entries ? (double)lk.cc.memory / (double)cs.entries : 0,
			 HF_BENCH_CNT_DEFAULT);
}

/* ---- the cache snapshot (cache/hf_snap.h) ---- */

/* The lookup benchmarks' cache of N names as an image; NULL after a skip. */
static struct hf_snap_out *hf_snap_image_of(struct hf_bench_state *st, struct hf_snap_out *o)
{
	char err[256];
	if (hf_lk_setup((uint32_t)st->arg, err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return NULL;
	}
	memset(o, 0, sizeof(*o));
	o->cap = HF_SNAP_HDR + lk.cc.memory;
	o->buf = malloc(o->cap);
	if (o->buf == NULL) {
		hf_bench_skip_with_error(st, "out of memory");
		return NULL;
	}
	o->len = HF_SNAP_HDR;
	o->ref_ms = 1000;
	o->ref_unix_ms = INT64_C(1700000000000);
	hf_cache_snap_step(lk.c, o, UINT32_MAX, 1000);
	hf_snap_seal(o->buf, o->len, o->count, o->ref_unix_ms);
	return o;
}

static void bm_cache_snapshot_save(struct hf_bench_state *st)
{
	struct hf_snap_out o;
	if (hf_snap_image_of(st, &o) == NULL)
		return;
	HF_BENCH_LOOP(st)
	{
		o.len = HF_SNAP_HDR;
		o.count = 0;
		memset(&o.wk, 0, sizeof(o.wk));
		hf_cache_snap_step(lk.c, &o, UINT32_MAX, 1000);
		hf_snap_seal(o.buf, o.len, o.count, o.ref_unix_ms);
	}
	hf_bench_set_items_processed(st, st->iterations * o.count);
	hf_bench_counter(st, "entries", (double)o.count, HF_BENCH_CNT_DEFAULT);
	hf_bench_counter(st, "file_bytes", (double)o.len, HF_BENCH_CNT_DEFAULT);
	hf_bench_counter(st, "bytes_per_entry",
			 o.count ? (double)(o.len - HF_SNAP_HDR) / o.count : 0,
			 HF_BENCH_CNT_DEFAULT);
	free(o.buf);
}

static void bm_cache_snapshot_load(struct hf_bench_state *st)
{
	struct hf_snap_out o;
	struct hf_cache *c;
	uint64_t stored = 0;
	char err[256];

	if (hf_snap_image_of(st, &o) == NULL)
		return;
	c = hf_cache_create("hf_bd_snap", &lk.cc);
	if (c == NULL) {
		free(o.buf);
		hf_bench_skip_with_error(st, "cache: out of memory (raise -m)");
		return;
	}
	HF_BENCH_LOOP(st)
	{
		size_t off = HF_SNAP_HDR;
		if (hf_snap_check(o.buf, o.len, NULL, NULL, err, sizeof(err)) != 0)
			break;
		while (off < o.len) {
			struct hf_snap_rec r;
			hf_snap_rec_at(o.buf, &off, &r);
			stored += hf_cache_snap_restore(c, &r, 5000, o.ref_unix_ms + 4000) == 0;
		}
		hf_bench_pause_timing(st);
		hf_cache_flush(c, NULL, 0, false, hf_noop_wake, NULL); /* empty again */
		hf_bench_resume_timing(st);
	}
	if (stored != st->iterations * o.count)
		hf_bench_skip_with_error(st, "an entry was not loaded");
	hf_bench_set_items_processed(st, st->iterations * o.count);
	hf_cache_destroy(c);
	free(o.buf);
}

static void bm_cache_lookup_hit(struct hf_bench_state *st)
{
	hf_bm_lookup(st, true);
}

static void bm_cache_lookup_miss(struct hf_bench_state *st)
{
	hf_bm_lookup(st, false);
}

/* ---- the cache's own table against rte_hash ------------------------------ */

/*
 * The choice in docs/decisions.md ("The cache has its own hash table"),
 * kept as a number: the same names, the same lookup keys (the bulk
 * lookups' 2^18 samples) and the same hashes, 32 keys per call, through
 *   own:      hf_cache_lookup_bulk (the cache above), and
 *   rte_hash: rte_hash_lookup_with_hash_bulk_data on an rte_hash set up
 *             as the cache had it before (key: a whole struct
 *             hf_cache_key, zero-padded, compared in full; data: the
 *             entry; an extendable bucket table; a quarter more keys than
 *             names).
 * As in the worker, the 32 keys of a call are whole structs in one small
 * buffer that stays in the cache (the worker's are on its stack): each
 * call first copies the meaningful bytes of its 32 samples there (the
 * padding stays 0: the bench names all have one length). A hit then reads
 * its entry's state, as hf_cache_decide does first: with the own table
 * the entry was already read (the key is in it), with rte_hash that is the
 * third dependent load, after the bucket and the key slot.
 */
static struct {
	uint32_t n;
	struct rte_hash *h;
} rh;

static void hf_rh_free(void)
{
	rte_hash_free(rh.h); /* NULL is fine */
	memset(&rh, 0, sizeof(rh));
}

static uint32_t hf_rh_hash(const void *key, uint32_t key_len, uint32_t init_val)
{
	(void)key_len;
	(void)init_val;
	return hf_cache_key_hash(key);
}

/* The rte_hash of the N names, after hf_lk_setup(N). */
static int hf_rh_setup(uint32_t n, char *err, size_t errlen)
{
	uint8_t name[HF_BD_NAME_LEN];
	struct hf_cache_key k;
	char hname[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {0};

	if (hf_lk_setup(n, err, errlen) != 0)
		return -1;
	if (rh.n == n && rh.h != NULL)
		return 0;
	hf_rh_free();
	snprintf(hname, sizeof(hname), "hf_bm_rh_%u", n);
	p.name = hname;
	p.entries = lk.cc.entries;
	p.key_len = sizeof(struct hf_cache_key);
	p.hash_func = hf_rh_hash;
	p.socket_id = (int)rte_socket_id();
	p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	rh.h = rte_hash_create(&p);
	if (rh.h == NULL) {
		snprintf(err, errlen, "rte_hash of %u names: %s (raise -m)", n,
			 rte_strerror(rte_errno));
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t hash;
		struct hf_cache_entry *e;
		hf_bd_name(name, 'n', i);
		hf_bd_key(&k, name);
		hash = hf_cache_key_hash(&k);
		e = hf_cache_lookup(lk.c, &k, hash);
		if (e == NULL || rte_hash_add_key_with_hash_data(rh.h, &k, hash, e) != 0) {
			snprintf(err, errlen, "rte_hash: adding name %u failed", i);
			hf_rh_free();
			return -1;
		}
	}
	rh.n = n;
	return 0;
}

static void hf_bm_table(struct hf_bench_state *st, bool hit, bool own)
{
	static struct hf_cache_key kb[32]; /* zero padding, written once */
	const struct hf_cache_key *kbp[32];
	char err[256];
	struct hf_cache_entry *out[32];
	const struct hf_cache_key **kp;
	const uint32_t *hs;
	uint32_t pos = 0;
	uint64_t found = 0, states = 0;
	int rc = own ? hf_lk_setup((uint32_t)st->arg, err, sizeof(err))
		     : hf_rh_setup((uint32_t)st->arg, err, sizeof(err));

	if (rc != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	memset(kb, 0, sizeof(kb));
	for (unsigned i = 0; i < 32; i++)
		kbp[i] = &kb[i];
	kp = hit ? lk.hit_p : lk.miss_p;
	hs = hit ? lk.hit_h : lk.miss_h;
	HF_BENCH_LOOP(st)
	{
		for (unsigned i = 0; i < 32; i++)
			memcpy(&kb[i], kp[pos + i], HF_CACHE_KEY_HDR + HF_BD_NAME_LEN);
		if (own) {
			hf_cache_lookup_bulk(lk.c, kbp, hs + pos, 32, out);
			for (unsigned i = 0; i < 32; i++)
				if (out[i] != NULL) {
					found++;
					states += out[i]->state;
				}
		} else {
			uint64_t mask = 0;
			rte_hash_lookup_with_hash_bulk_data(rh.h, (const void **)kbp,
							    (hash_sig_t *)(uintptr_t)(hs + pos), 32,
							    &mask, (void **)out);
			found += (uint64_t)__builtin_popcountll(mask);
			for (; mask != 0; mask &= mask - 1)
				states += out[__builtin_ctzll(mask)]->state;
		}
		pos = (pos + 32) & (HF_LK_SAMPLES - 1);
	}
	HF_BENCH_KEEP(states);
	if (found != (hit ? st->iterations * 32 : 0)) {
		hf_bench_skip_with_error(st, hit ? "a cached name was not found"
						 : "a never-cached name was found");
		return;
	}
	hf_bench_set_items_processed(st, st->iterations * 32);
}

static void bm_table_lookup_hit_own(struct hf_bench_state *st)
{
	hf_bm_table(st, true, true);
}

static void bm_table_lookup_hit_rte_hash(struct hf_bench_state *st)
{
	hf_bm_table(st, true, false);
}

static void bm_table_lookup_miss_own(struct hf_bench_state *st)
{
	hf_bm_table(st, false, true);
}

static void bm_table_lookup_miss_rte_hash(struct hf_bench_state *st)
{
	hf_bm_table(st, false, false);
}

/* ---- answers through the worker ---------------------------------------- */

#define HF_MW_NAMES 1024
#define HF_MW_STALE 7 /* 'f' name index whose answer is stale (EDE 3) */

static struct {
	bool up;
	struct hf_bd_worker bw;
	struct rte_mempool *pool;
	uint64_t fresh_now, stale_now;
} mw;

static int hf_mw_setup(char *err, size_t errlen)
{
	struct hf_cache_conf cc;
	_Alignas(8) uint8_t abuf[512]; /* a struct hf_dns_answer */
	uint8_t name[HF_BD_NAME_LEN];
	struct hf_cache_key k;
	struct hf_msg_ctl *m;
	int sz;

	if (mw.up)
		return 0;
	mw.pool = rte_pktmbuf_pool_create("hf_bd_micro", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (mw.pool == NULL) {
		snprintf(err, errlen, "mbuf pool: %s", rte_strerror(rte_errno));
		return -1;
	}
	hf_bd_cache_conf(&cc, 4096);
	if (hf_bd_worker_init(&mw.bw, "micro", 0, &cc, err, errlen) != 0)
		return -1;
	mw.fresh_now = 1000000;
	mw.bw.w.now_ms = mw.fresh_now;
	if (hf_bd_warm(&mw.bw, 'n', 0, HF_MW_NAMES, err, errlen) != 0)
		return -1;
	/* a name with a 300 s answer whose refresh then failed (upstream
	 * down): 400 s later it is served stale with EDE 3, no query sent */
	hf_bd_name(name, 'f', HF_MW_STALE);
	hf_bd_key(&k, name);
	sz = hf_bd_answer(abuf, sizeof(abuf), name, hf_bd_addr(HF_MW_STALE), 300);
	if (sz < 0)
		return -1;
	m = hf_bd_fill_msg(&mw.bw, &k, hf_cache_key_hash(&k),
			   (const struct hf_dns_answer *)(const void *)abuf);
	if (m == NULL || !hf_bd_send_ctl(&mw.bw, m))
		return -1;
	hf_worker_poll_control(&mw.bw.w);
	mw.stale_now = mw.fresh_now + 400000;
	mw.bw.w.now_ms = mw.stale_now;
	sz = hf_dns_answer_failure(abuf, sizeof(abuf), HF_BD_NAME_LEN, HF_RCODE_SERVFAIL,
				   HF_EDE_NO_REACHABLE_AUTHORITY, "timed out", 30);
	m = hf_bd_fill_msg(&mw.bw, &k, hf_cache_key_hash(&k),
			   (const struct hf_dns_answer *)(const void *)abuf);
	if (sz < 0 || m == NULL || !hf_bd_send_ctl(&mw.bw, m)) {
		snprintf(err, errlen, "failure FILL");
		return -1;
	}
	hf_worker_poll_control(&mw.bw.w);
	mw.bw.w.now_ms = mw.fresh_now;
	mw.up = true;
	return 0;
}

static void hf_mw_free(void)
{
	if (mw.bw.shared)
		hf_bd_worker_fini(&mw.bw);
	rte_mempool_free(mw.pool);
	memset(&mw, 0, sizeof(mw));
}

/* Copy a query template into m, as a NIC would have written it. */
static inline void hf_refill(struct rte_mbuf *m, const uint8_t *frame, uint16_t len)
{
	rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), frame, HF_BD_FRAME_MAX);
	m->data_len = len;
	m->pkt_len = len;
	m->ol_flags = 0;
	m->port = 0; /* a PMD sets it; the worker indexes its port table with it */
}

/* Is the answer in m right? For stale ones also the EDE 3 behind it. */
static const char *hf_mw_check(struct rte_mbuf *m, uint32_t idx, bool stale)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const char *why = hf_bd_check_answer(p, m->data_len, hf_bd_addr(idx));
	const uint8_t *opt = p + HF_BD_DNS_OFF + 12 + HF_BD_NAME_LEN + 4 + 16;

	if (why == NULL && stale &&
	    (m->data_len < (uint32_t)(opt - p) + 17 || hf_get16(opt + 1) != HF_TYPE_OPT ||
	     hf_get16(opt + 11) != HF_EDNS_OPT_EDE || hf_get16(opt + 15) != HF_EDE_STALE_ANSWER))
		why = "no EDE 3 on the stale answer";
	return why;
}

enum hf_answer_kind_bm { HF_BM_PLAIN, HF_BM_EDNS, HF_BM_STALE };

static void hf_bm_answer(struct hf_bench_state *st, enum hf_answer_kind_bm kind)
{
	char err[256];
	uint8_t frame[HF_BD_FRAME_MAX], name[HF_BD_NAME_LEN];
	struct rte_mbuf *m;
	struct hf_worker *w;
	uint32_t idx = kind == HF_BM_STALE ? HF_MW_STALE : 42;
	uint16_t len;
	const char *why;
	uint64_t answers0;

	if (hf_mw_setup(err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	w = &mw.bw.w;
	hf_bd_name(name, kind == HF_BM_STALE ? 'f' : 'n', idx);
	len = (uint16_t)hf_bd_frame(frame, name, 0x4242, kind != HF_BM_PLAIN);
	m = rte_pktmbuf_alloc(mw.pool);
	if (m == NULL) {
		hf_bench_skip_with_error(st, "no mbuf");
		return;
	}
	w->now_ms = kind == HF_BM_STALE ? mw.stale_now : mw.fresh_now;
	/* one checked answer first */
	hf_refill(m, frame, len);
	hf_worker_rx(w, &m, 1);
	why = w->tx[0].n == 1 ? hf_mw_check(m, idx, kind == HF_BM_STALE) : "no answer";
	w->tx[0].n = 0;
	if (why != NULL) {
		rte_pktmbuf_free(m);
		w->now_ms = mw.fresh_now;
		hf_bench_skip_with_error(st, why);
		return;
	}
	answers0 = w->ctr->answers;
	HF_BENCH_LOOP(st)
	{
		hf_refill(m, frame, len);
		hf_worker_rx(w, &m, 1);
		w->tx[0].n = 0; /* "sent"; the mbuf is ours again */
	}
	if (w->ctr->answers - answers0 != st->iterations)
		hf_bench_skip_with_error(st, "not every query was answered");
	hf_bench_set_items_processed(st, st->iterations);
	hf_bench_counter(st, "answer_bytes", m->data_len, HF_BENCH_CNT_DEFAULT);
	rte_pktmbuf_free(m);
	w->now_ms = mw.fresh_now;
}

static void bm_answer_plain(struct hf_bench_state *st)
{
	hf_bm_answer(st, HF_BM_PLAIN);
}

static void bm_answer_edns(struct hf_bench_state *st)
{
	hf_bm_answer(st, HF_BM_EDNS);
}

static void bm_answer_stale_ede(struct hf_bench_state *st)
{
	hf_bm_answer(st, HF_BM_STALE);
}

/* DNS cookies (dataplane/hf_cookie.h): a client cookie alone (one
 * SipHash, a new server cookie) and a valid server cookie younger than
 * half an hour (one SipHash, echoed): what a query with a COOKIE adds. */
static void bm_cookie(struct hf_bench_state *st, bool with_server)
{
	struct hf_cookie c;
	uint8_t secret[HF_COOKIE_SECRET_LEN] = {1, 2, 3}, opt[HF_COOKIE_OPT_LEN] = {9, 8, 7};
	uint8_t addr[4] = {198, 18, 0, 1}, out[HF_COOKIE_OPT_LEN];
	uint32_t now = 1700000000;

	if (hf_cookie_init(&c, 0) != 0) {
		hf_bench_skip_with_error(st, "no SipHash in OpenSSL");
		return;
	}
	hf_cookie_set(&c, true, secret, 0);
	hf_cookie_make(&c, opt, addr, 4, now, opt + HF_COOKIE_CLIENT_LEN);
	HF_BENCH_LOOP(st)
	{
		hf_bench_do_not_optimize(out);
		if (hf_cookie_check(&c, opt, with_server ? HF_COOKIE_OPT_LEN : HF_COOKIE_CLIENT_LEN,
				    addr, 4, now, out) == HF_COOKIE_INVALID)
			break;
	}
	hf_bench_set_items_processed(st, st->iterations);
	hf_cookie_fini(&c);
}

/* SipHash-2-4 written out (Aumasson and Bernstein's paper), for one
 * comparison only: what OpenSSL's EVP_MAC calls add to the hash itself
 * (docs/decisions.md, "Server cookies with OpenSSL's SipHash"). */
#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND(v0, v1, v2, v3)           \
	do {                                \
		v0 += v1;                   \
		v1 = SIP_ROTL(v1, 13) ^ v0; \
		v0 = SIP_ROTL(v0, 32);      \
		v2 += v3;                   \
		v3 = SIP_ROTL(v3, 16) ^ v2; \
		v0 += v3;                   \
		v3 = SIP_ROTL(v3, 21) ^ v0; \
		v2 += v1;                   \
		v1 = SIP_ROTL(v1, 17) ^ v2; \
		v2 = SIP_ROTL(v2, 32);      \
	} while (0)

static uint64_t siphash24_plain(const uint8_t *key, const uint8_t *in, size_t len)
{
	uint64_t k0, k1, m, v0, v1, v2, v3;
	size_t i = 0;
	uint8_t last[8] = {0};
	memcpy(&k0, key, 8);
	memcpy(&k1, key + 8, 8);
	v0 = k0 ^ 0x736f6d6570736575ull;
	v1 = k1 ^ 0x646f72616e646f6dull;
	v2 = k0 ^ 0x6c7967656e657261ull;
	v3 = k1 ^ 0x7465646279746573ull;
	for (; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	memcpy(last, in + i, len - i);
	last[7] = (uint8_t)len;
	memcpy(&m, last, 8);
	v3 ^= m;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* A cookie's hash input (client | version | reserved | time | IPv4): the
 * plain SipHash, to set against BM_cookie_client_only. */
static void bm_siphash_plain(struct hf_bench_state *st)
{
	static const uint8_t key[16] = {1, 2, 3};
	uint8_t in[24] = {9, 8, 7,    0,    0,	  0,	0,   0,	 1, 0,
			  0, 0, 0x65, 0x53, 0xf1, 0x00, 198, 18, 0, 1};
	uint64_t h = 0;
	HF_BENCH_LOOP(st)
	{
		in[0] = (uint8_t)h;
		h = siphash24_plain(key, in, 20);
		hf_bench_do_not_optimize(&h);
	}
	hf_bench_set_items_processed(st, st->iterations);
}

static void bm_cookie_client_only(struct hf_bench_state *st)
{
	bm_cookie(st, false);
}

static void bm_cookie_valid(struct hf_bench_state *st)
{
	bm_cookie(st, true);
}

/* The refill alone: subtract it from the BM_answer_* times. */
static void bm_template_refill(struct hf_bench_state *st)
{
	char err[256];
	uint8_t frame[HF_BD_FRAME_MAX], name[HF_BD_NAME_LEN];
	struct rte_mbuf *m;
	uint16_t len;

	if (hf_mw_setup(err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	hf_bd_name(name, 'n', 42);
	len = (uint16_t)hf_bd_frame(frame, name, 0x4242, true);
	m = rte_pktmbuf_alloc(mw.pool);
	if (m == NULL) {
		hf_bench_skip_with_error(st, "no mbuf");
		return;
	}
	HF_BENCH_LOOP(st)
	{
		hf_refill(m, frame, len);
		hf_bench_do_not_optimize(rte_pktmbuf_mtod(m, void *));
	}
	hf_bench_set_items_processed(st, st->iterations);
	rte_pktmbuf_free(m);
}

static void bm_worker_rx_burst32(struct hf_bench_state *st)
{
	char err[256];
	static uint8_t frames[32][HF_BD_FRAME_MAX];
	uint8_t name[HF_BD_NAME_LEN];
	struct rte_mbuf *pkts[32], *sent[32];
	struct hf_worker *w;
	uint16_t len = 0;
	uint64_t answers0;

	if (hf_mw_setup(err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	w = &mw.bw.w;
	w->now_ms = mw.fresh_now;
	for (unsigned i = 0; i < 32; i++) {
		hf_bd_name(name, 'n', i * 31);
		len = (uint16_t)hf_bd_frame(frames[i], name, (uint16_t)i, true);
	}
	if (rte_pktmbuf_alloc_bulk(mw.pool, pkts, 32) != 0) {
		hf_bench_skip_with_error(st, "no mbufs");
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		hf_refill(pkts[i], frames[i], len);
	hf_worker_rx(w, pkts, 32);
	for (unsigned i = 0; i < 32; i++) {
		const char *why = i < w->tx[0].n ? hf_mw_check(w->tx[0].pkts[i], i * 31, false)
						 : "missing answer";
		if (why != NULL) {
			w->tx[0].n = 0;
			rte_pktmbuf_free_bulk(pkts, 32);
			hf_bench_skip_with_error(st, why);
			return;
		}
	}
	w->tx[0].n = 0;
	answers0 = w->ctr->answers;
	HF_BENCH_LOOP(st)
	{
		for (unsigned i = 0; i < 32; i++)
			hf_refill(pkts[i], frames[i], len);
		hf_worker_rx(w, pkts, 32);
		/* answers leave in the order the queries came: reuse them */
		memcpy(sent, w->tx[0].pkts, sizeof(sent));
		w->tx[0].n = 0;
		hf_bench_do_not_optimize(sent);
	}
	if (w->ctr->answers - answers0 != st->iterations * 32)
		hf_bench_skip_with_error(st, "not every query was answered");
	hf_bench_set_items_processed(st, st->iterations * 32);
	rte_pktmbuf_free_bulk(pkts, 32);
}

/* ---- rings --------------------------------------------------------------- */

/* Enqueue and dequeue B messages through an SP/SC ring as worker and
 * control do (here both ends on one core: the cost without the cache-line
 * transfer between cores). */
static void bm_ring_query_elem(struct hf_bench_state *st)
{
	static struct hf_msg_query in[32], out[32];
	unsigned b = (unsigned)st->arg;
	struct rte_ring *r = rte_ring_create_elem("hf_bd_ring_q", sizeof(struct hf_msg_query), 4096,
						  SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	uint64_t moved = 0;

	if (r == NULL) {
		hf_bench_skip_with_error(st, "ring");
		return;
	}
	for (unsigned i = 0; i < 32; i++) {
		uint8_t name[HF_BD_NAME_LEN];
		hf_bd_name(name, 'm', i);
		in[i].type = HF_MSG_MISS;
		hf_bd_key(&in[i].key, name);
		in[i].hash = hf_cache_key_hash(&in[i].key);
	}
	HF_BENCH_LOOP(st)
	{
		rte_ring_enqueue_burst_elem(r, in, sizeof(in[0]), b, NULL);
		moved += rte_ring_dequeue_burst_elem(r, out, sizeof(out[0]), b, NULL);
		hf_bench_do_not_optimize(out);
	}
	rte_ring_free(r);
	if (moved != st->iterations * b)
		hf_bench_skip_with_error(st, "ring lost messages");
	hf_bench_set_items_processed(st, st->iterations * b);
	hf_bench_set_bytes_processed(st, st->iterations * b * sizeof(in[0]));
}

static void bm_ring_ptr(struct hf_bench_state *st)
{
	static struct hf_msg_ctl msg;
	void *in[32], *out[32];
	unsigned b = (unsigned)st->arg;
	struct rte_ring *r =
		rte_ring_create("hf_bd_ring_p", 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	uint64_t moved = 0;

	if (r == NULL) {
		hf_bench_skip_with_error(st, "ring");
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		in[i] = &msg;
	HF_BENCH_LOOP(st)
	{
		rte_ring_enqueue_burst(r, in, b, NULL);
		moved += rte_ring_dequeue_burst(r, out, b, NULL);
		hf_bench_do_not_optimize(out);
	}
	rte_ring_free(r);
	if (moved != st->iterations * b)
		hf_bench_skip_with_error(st, "ring lost messages");
	hf_bench_set_items_processed(st, st->iterations * b);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const int64_t bursts[] = {1, 32};
	static const uint32_t sizes[] = {1000, 100000, 1000000};
	static const struct {
		const char *name;
		void (*fn)(struct hf_bench_state *);
	} tables[] = {
		{"hit/own", bm_table_lookup_hit_own},
		{"hit/rte_hash", bm_table_lookup_hit_rte_hash},
		{"miss/own", bm_table_lookup_miss_own},
		{"miss/rte_hash", bm_table_lookup_miss_rte_hash},
	};
	bool smoke;
	char **eargv, mem[16], prefix[64];
	int eargc = 0, rc;

	hf_bench_init(&argc, argv);
	smoke = hf_bd_smoke();
	eargv = calloc((size_t)argc + 10, sizeof(char *));
	if (eargv == NULL)
		return 1;
	snprintf(mem, sizeof(mem), "%d", smoke ? 512 : 2048);
	snprintf(prefix, sizeof(prefix), "--file-prefix=hf_bench_%d", (int)getpid());
	eargv[eargc++] = argv[0];
	eargv[eargc++] = "--no-huge";
	eargv[eargc++] = "-m";
	eargv[eargc++] = mem;
	eargv[eargc++] = "--no-pci";
	eargv[eargc++] = prefix;
	eargv[eargc++] = "--log-level=error";
	for (int i = 1; i < argc; i++) /* later -m / --log-level win */
		eargv[eargc++] = argv[i];
	if (rte_eal_init(eargc, eargv) < 0) {
		fprintf(stderr, "micro: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	hf_bench_register("BM_query_parse_plain", bm_query_parse_plain, 0);
	hf_bench_register("BM_query_parse_edns", bm_query_parse_edns, 0);
	hf_bench_register("BM_cache_key_hash", bm_cache_key_hash, 0);
	hf_bench_register("BM_cache_key_build_hash", bm_cache_key_build_hash, 0);
	/* hit and miss of one size together, and both tables: one cache (and
	 * one rte_hash) built per size */
	for (unsigned i = 0; i < HF_ARRAY_LEN(sizes); i++) {
		char name[64];
		if (smoke && sizes[i] > 100000)
			continue;
		snprintf(name, sizeof(name), "BM_cache_lookup_hit/%u", sizes[i]);
		hf_bench_register(name, bm_cache_lookup_hit, sizes[i]);
		snprintf(name, sizeof(name), "BM_cache_lookup_miss/%u", sizes[i]);
		hf_bench_register(name, bm_cache_lookup_miss, sizes[i]);
		for (unsigned t = 0; t < HF_ARRAY_LEN(tables); t++) {
			snprintf(name, sizeof(name), "BM_table_lookup_%s/%u", tables[t].name,
				 sizes[i]);
			hf_bench_register(name, tables[t].fn, sizes[i]);
		}
	}
	for (unsigned i = 0; i < HF_ARRAY_LEN(sizes); i++) {
		char name[64];
		if (sizes[i] < 100000 || (smoke && sizes[i] > 100000))
			continue;
		snprintf(name, sizeof(name), "BM_cache_snapshot_save/%u", sizes[i]);
		hf_bench_register(name, bm_cache_snapshot_save, sizes[i]);
		snprintf(name, sizeof(name), "BM_cache_snapshot_load/%u", sizes[i]);
		hf_bench_register(name, bm_cache_snapshot_load, sizes[i]);
	}
	hf_bench_register("BM_template_refill", bm_template_refill, 0);
	hf_bench_register("BM_answer_plain", bm_answer_plain, 0);
	hf_bench_register("BM_answer_edns", bm_answer_edns, 0);
	hf_bench_register("BM_answer_stale_ede", bm_answer_stale_ede, 0);
	hf_bench_register("BM_worker_rx_burst32", bm_worker_rx_burst32, 0);
	hf_bench_register("BM_cookie_client_only", bm_cookie_client_only, 0);
	hf_bench_register("BM_cookie_valid", bm_cookie_valid, 0);
	hf_bench_register("BM_siphash_plain", bm_siphash_plain, 0);
	hf_bench_register_args("BM_ring_query_elem", bm_ring_query_elem, bursts, 2);
	hf_bench_register_args("BM_ring_ptr", bm_ring_ptr, bursts, 2);

	rc = hf_bench_run();
	hf_rh_free();
	hf_lk_free();
	hf_mw_free();
	rte_eal_cleanup();
	free(eargv);
	return rc;
}
