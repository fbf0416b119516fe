/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for cache/: the serve-stale state machine, waiters, eviction,
 * flush and lookups, driven by a fake clock (the now_ms values passed in).
 * Stored answers are written by hand (header, TTL offsets, body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "cache/hf_cache.h"
#include "cache/hf_snap.h"
#include "dns/hf_query.h"
#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"

#define T0 1000000000ull /* fake clock start (0 would mean "no failure" in refresh_failed_ms) */

/* ---- helpers ---- */

/* "www.example.com" -> wire form (case kept); returns the length. */
static size_t to_wire(const char *s, uint8_t *out)
{
	size_t n = 0;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	out[n++] = 0;
	return n;
}

/* A key with garbage past name_len, to prove only the meaningful bytes count. */
static void mk_key(struct hf_cache_key *k, const char *name, uint16_t qtype, uint8_t flags)
{
	uint8_t w[HF_DNS_NAME_MAX + 1];
	size_t n = to_wire(name, w);
	memset(k, 0xAA, sizeof(*k));
	for (size_t i = 0; i < n; i++)
		w[i] = (w[i] >= 'A' && w[i] <= 'Z') ? (uint8_t)(w[i] + 32) : w[i];
	k->name_len = (uint8_t)n;
	k->flags = flags;
	k->qtype = qtype;
	k->qclass = HF_CLASS_IN;
	memcpy(k->name, w, n);
}

/* "<prefix><i>.example" */
static void mk_keyf(struct hf_cache_key *k, const char *prefix, unsigned i)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s%u.example", prefix, i);
	mk_key(k, buf, HF_TYPE_A, 0);
}

#define ABUF_SIZE 65536
struct abuf {
	union {
		struct hf_dns_answer a;
		uint8_t b[ABUF_SIZE];
	};
};

/*
 * A stored answer: one TTL offset (6, as in an RR "c00c 0001 0001 TTL"),
 * body_len bytes of body (>= 16) filled with `fill` after the fake RR head.
 */
static const struct hf_dns_answer *mk_answer(struct abuf *buf, uint8_t kind, uint32_t ttl,
					     uint16_t body_len, uint8_t fill)
{
	struct hf_dns_answer *a = &buf->a;
	uint8_t *body;
	memset(buf, 0, sizeof(*buf));
	a->kind = kind;
	a->rcode = kind == HF_ANS_NXDOMAIN  ? HF_RCODE_NXDOMAIN
		   : kind == HF_ANS_FAILURE ? HF_RCODE_SERVFAIL
					    : HF_RCODE_NOERROR;
	a->security = HF_SECURITY_INSECURE;
	a->qname_len = 13;
	a->ede = kind == HF_ANS_FAILURE ? HF_EDE_NO_REACHABLE_AUTHORITY : HF_EDE_NONE;
	a->ancount = kind == HF_ANS_POSITIVE ? 1 : 0;
	a->nscount = kind == HF_ANS_POSITIVE ? 0 : 1;
	a->nttl = 1;
	a->body_len = body_len;
	a->ttl = ttl;
	hf_dns_answer_ttl_offs(a)[0] = 6;
	body = hf_dns_answer_body(a);
	memset(body, fill, body_len);
	hf_put16(body, 0xc00c);
	hf_put16(body + 2, HF_TYPE_A);
	hf_put16(body + 4, HF_CLASS_IN);
	hf_put32(body + 6, ttl);
	if (kind == HF_ANS_FAILURE) {
		a->ede_text_len = 3;
		memcpy(hf_dns_answer_ede_text(a), "abc", 3);
	}
	return a;
}

struct wake_rec {
	void *cookie;
	struct hf_cache_entry *e;
	int mode;
	uint32_t body_len; /* of the answer when woken with data */
};
static struct wake_rec wakes[512];
static unsigned nwakes;

static void rec_wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode)
{
	(void)arg;
	if (nwakes < HF_ARRAY_LEN(wakes)) {
		wakes[nwakes].cookie = cookie;
		wakes[nwakes].e = e;
		wakes[nwakes].mode = mode;
		wakes[nwakes].body_len =
			(e && mode != HF_WAKE_TIMEOUT) ? hf_entry_ans(e)->body_len : 0;
	}
	nwakes++;
}

static struct hf_cache_conf base_conf(void)
{
	struct hf_cache_conf c = {
		.entries = 1024,
		.memory = 1u << 20,
		.waiters = 64,
		.waiters_per_entry = 8,
		.stale_window_ms = 100000,
		.client_timeout_ms = 1800,
		.stale_ttl = 30,
		.failure_recheck_ms = 30000,
		.miss_timeout_ms = 5000,
		.socket_id = SOCKET_ID_ANY,
	};
	return c;
}

static struct hf_cache *mk_cache(const struct hf_cache_conf *conf)
{
	static unsigned seq;
	char name[32];
	struct hf_cache *c;
	snprintf(name, sizeof(name), "tcache_%u", seq++);
	c = hf_cache_create(name, conf);
	CHECK(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "cannot create cache, giving up\n");
		exit(2);
	}
	nwakes = 0;
	return c;
}

static struct hf_cache_stats stats(const struct hf_cache *c)
{
	struct hf_cache_stats st;
	hf_cache_get_stats(c, &st);
	return st;
}

static int fill(struct hf_cache *c, const struct hf_cache_key *k, uint8_t kind, uint32_t ttl,
		uint16_t body_len, uint8_t fillb, uint64_t now)
{
	struct abuf b;
	return hf_cache_fill(c, k, hf_cache_key_hash(k), mk_answer(&b, kind, ttl, body_len, fillb),
			     now, rec_wake, NULL);
}

static struct hf_cache_entry *look(struct hf_cache *c, const struct hf_cache_key *k)
{
	return hf_cache_lookup(c, k, hf_cache_key_hash(k));
}

#define CHECK_DEC(d, act, sq)                      \
	do {                                       \
		struct hf_cache_decision _d = (d); \
		CHECK_EQ(_d.action, act);          \
		CHECK_EQ(_d.send_query, sq);       \
	} while (0)

/* ---- tests ---- */

static void test_key_hash_cmp(void)
{
	struct hf_cache_key a, b;
	mk_key(&a, "www.Example.com", HF_TYPE_A, 0);
	mk_key(&b, "www.example.com", HF_TYPE_A, 0);
	memset(b.name + b.name_len, 0x55, sizeof(b.name) - b.name_len); /* other garbage */
	CHECK_EQ(hf_cache_key_cmp(&a, &b), 0);
	CHECK_EQ(hf_cache_key_hash(&a), hf_cache_key_hash(&b));
	b.qtype = HF_TYPE_AAAA;
	CHECK(hf_cache_key_cmp(&a, &b) != 0);
	b.qtype = HF_TYPE_A;
	b.flags = HF_KEY_DO;
	CHECK(hf_cache_key_cmp(&a, &b) != 0);
	CHECK(hf_cache_key_hash(&a) != hf_cache_key_hash(&b));
	mk_key(&b, "www.example.co", HF_TYPE_A, 0);
	CHECK(hf_cache_key_cmp(&a, &b) != 0);
	mk_key(&b, "www.example.org", HF_TYPE_A, 0);
	CHECK(hf_cache_key_cmp(&a, &b) != 0);

	/* in the hash: a lookup with different padding finds the entry */
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	mk_key(&b, "www.example.com", HF_TYPE_A, 0);
	memset(b.name + b.name_len, 0x11, sizeof(b.name) - b.name_len);
	CHECK_EQ(fill(c, &a, HF_ANS_POSITIVE, 60, 32, 1, T0), 0);
	CHECK(look(c, &b) != NULL);
	CHECK(look(c, &b) == look(c, &a));
	/* the table holds it once, with the key's meaningful bytes */
	uint32_t it = 0;
	const struct hf_cache_key *sk;
	struct hf_cache_entry *se;
	CHECK_EQ(hf_cache_iterate(c, &it, &sk, &se), 1);
	CHECK(se == look(c, &a));
	CHECK_MEM(sk, &a, HF_CACHE_KEY_HDR + a.name_len);
	CHECK_EQ(hf_cache_iterate(c, &it, &sk, &se), 0);
	hf_cache_destroy(c);
}

/* An entry's key against a lookup key: equal at every name length
 * 1..255 (the compare's 8- and 16-byte steps and its last overlapping
 * step), and unequal when any one meaningful byte differs, the padding
 * after the name never mattering. */
static void test_entry_has_key(void)
{
	static _Alignas(64)
		uint8_t buf[sizeof(struct hf_cache_entry) + sizeof(struct hf_cache_key)];
	struct hf_cache_entry *e = (struct hf_cache_entry *)(void *)buf;
	struct hf_cache_key k;
	unsigned bad_eq = 0, bad_ne = 0;

	for (unsigned len = 1; len <= HF_DNS_NAME_MAX; len++) {
		size_t n = HF_CACHE_KEY_HDR + len;
		memset(&k, 0xaa, sizeof(k));
		k.name_len = (uint8_t)len;
		k.flags = HF_KEY_DO;
		k.qtype = HF_TYPE_AAAA;
		k.qclass = HF_CLASS_IN;
		for (unsigned i = 0; i < len; i++)
			k.name[i] = (uint8_t)(i * 7 + len);
		memset(buf, 0x55, sizeof(buf)); /* other padding than k's */
		memcpy(e->key, &k, n);
		if (!hf_cache_entry_has_key(e, &k))
			bad_eq++;
		for (size_t i = 0; i < n; i++) {
			e->key[i] ^= 0x01;
			if (hf_cache_entry_has_key(e, &k))
				bad_ne++;
			e->key[i] ^= 0x01;
		}
	}
	CHECK_EQ(bad_eq, 0);
	CHECK_EQ(bad_ne, 0);
}

/* The last byte of an entry's stored body (mk_answer fills the body with
 * its fill byte after the record's header). */
static unsigned last_body_byte(const struct hf_cache_entry *e)
{
	const struct hf_dns_answer *a = hf_entry_ans(e);
	return hf_dns_answer_body(a)[a->body_len - 1];
}

/*
 * The table under collisions: 40 keys whose hashes share one home bucket
 * of the 22 a 64-key cache has (found by trying names), the first 4 of
 * them also the 16-bit tag (hash & 0xfffe: hf_tag in cache_internal.h).
 * So the keys run 5 buckets past their home and lookups meet other keys' tag matches. Each
 * is still found (single and bulk lookups); removing keys from the middle
 * of the run keeps the rest reachable (the overflow counts go down as
 * they went up) and the words are used again; an answer that outgrows its
 * slot moves the entry (its table word is rewritten in place). A hash
 * that is not the key's (a caller's bug) cannot file a key where removing
 * it would miss it: the cache stores keys under their own hash.
 */
static void test_table_collisions(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c;
	struct hf_cache_key k[40];
	const struct hf_cache_key *kp[40];
	uint32_t hs[40], home, tag, nb = 64 / 3 + 1;
	unsigned ntag = 0, nhome = 0;
	struct hf_cache_entry *out[40];
	struct abuf b;

	mk_keyf(&k[0], "same", 0);
	hs[0] = hf_cache_key_hash(&k[0]);
	home = hf_cache_home(nb, hs[0]);
	tag = hs[0] & 0xfffeu;
	ntag = 1;
	for (unsigned i = 1; (ntag < 4 || nhome < 36) && i < 50000000u; i++) {
		struct hf_cache_key t;
		uint32_t th;
		mk_keyf(&t, "same", i);
		th = hf_cache_key_hash(&t);
		if (hf_cache_home(nb, th) != home)
			continue;
		if ((th & 0xfffeu) == tag && ntag < 4) {
			k[ntag] = t;
			hs[ntag++] = th;
		} else if ((th & 0xfffeu) != tag && nhome < 36) {
			k[4 + nhome] = t;
			hs[4 + nhome++] = th;
		}
	}
	CHECK_EQ(ntag, 4);
	CHECK_EQ(nhome, 36);

	conf.entries = 64; /* nb = 22 buckets of 7 */
	c = mk_cache(&conf);
	for (unsigned i = 0; i < 40; i++) {
		kp[i] = &k[i];
		CHECK_EQ(fill(c, &k[i], HF_ANS_POSITIVE, 60, 32, (uint8_t)i, T0), 0);
	}
	hf_cache_lookup_bulk(c, kp, hs, 40, out);
	for (unsigned i = 0; i < 40; i++) {
		struct hf_cache_entry *e = look(c, &k[i]);
		CHECK(e != NULL && e == out[i]);
		CHECK(e != NULL && hf_cache_entry_has_key(e, &k[i]));
		CHECK(e != NULL && last_body_byte(e) == i);
	}
	/* remove every third key, from the head, middle and tail of the run */
	for (unsigned i = 0; i < 40; i += 3)
		CHECK_EQ(hf_cache_flush(c, k[i].name, k[i].name_len, false, rec_wake, NULL), 1);
	for (unsigned i = 0; i < 40; i++)
		CHECK((look(c, &k[i]) == NULL) == (i % 3 == 0));
	/* put them back, one with an answer too big for its first slot, and
	 * move another to a bigger class */
	for (unsigned i = 0; i < 40; i += 3)
		CHECK_EQ(fill(c, &k[i], HF_ANS_POSITIVE, 60, i == 3 ? 900 : 32, (uint8_t)i, T0), 0);
	CHECK_EQ(fill(c, &k[7], HF_ANS_POSITIVE, 60, 1500, 7, T0), 0);
	for (unsigned i = 0; i < 40; i++) {
		struct hf_cache_entry *e = look(c, &k[i]);
		CHECK(e != NULL && last_body_byte(e) == i);
	}
	CHECK_EQ(hf_entry_ans(look(c, &k[7]))->body_len, 1500);
	/* the table holds each key once */
	{
		uint32_t it = 0, n = 0;
		const struct hf_cache_key *sk;
		struct hf_cache_entry *se;
		struct hf_cache_stats st;
		while (hf_cache_iterate(c, &it, &sk, &se)) {
			CHECK(se == look(c, sk));
			n++;
		}
		hf_cache_get_stats(c, &st);
		CHECK_EQ(n, 40);
		CHECK_EQ(st.entries, 40);
	}
	/* a fill under a wrong hash files the key under its own: a lookup
	 * with the right hash finds it, and a flush removes it for good */
	{
		struct hf_cache_key x;
		mk_keyf(&x, "other", 1);
		CHECK_EQ(hf_cache_fill(c, &x, hs[0], mk_answer(&b, HF_ANS_POSITIVE, 60, 32, 99), T0,
				       rec_wake, NULL),
			 0);
		CHECK(look(c, &x) != NULL);
		CHECK_EQ(hf_cache_flush(c, x.name, x.name_len, false, rec_wake, NULL), 1);
		CHECK(look(c, &x) == NULL);
		CHECK(hf_cache_lookup(c, &x, hs[0]) == NULL);
	}
	hf_cache_destroy(c);
}

/* The worker's hash (the parser's name CRC ended with hf_cache_key_hash_end)
 * is hf_cache_key_hash of the key, for names of every length mod 8. */
static void test_key_hash_parts(void)
{
	static const char *const names[] = {"",
					    "a",
					    "Ab",
					    "www.Example.com",
					    "x.example",
					    "abcdefgh.example.org",
					    "WWW.EXAMPLE.DE"};
	for (size_t t = 0; t < HF_ARRAY_LEN(names); t++) {
		uint8_t pkt[300] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
		uint8_t lname[HF_QUERY_LNAME_SIZE];
		struct hf_cache_key k;
		struct hf_query q;
		size_t n = 12;
		mk_key(&k, names[t], HF_TYPE_AAAA, HF_KEY_CD);
		/* the packet keeps the name's case; the key is lower-cased */
		CHECK_EQ(to_wire(names[t], pkt + 12), k.name_len);
		n += k.name_len;
		hf_put16(pkt + n, HF_TYPE_AAAA);
		hf_put16(pkt + n + 2, HF_CLASS_IN);
		CHECK_EQ(hf_query_parse(pkt, (uint16_t)(n + 4), &q, lname), HF_Q_OK);
		CHECK_MEM(lname, k.name, k.name_len);
		CHECK_EQ(hf_cache_key_hash_end(q.name_crc, q.qname_len, HF_KEY_CD, q.qtype,
					       q.qclass),
			 hf_cache_key_hash(&k));
	}
}

static void test_miss_then_fill(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e, *e2;
	mk_key(&k, "www.example.com", HF_TYPE_A, 0);
	uint32_t h = hf_cache_key_hash(&k);

	CHECK(hf_cache_lookup(c, &k, h) == NULL);
	e = hf_cache_add_pending(c, &k, h, T0);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	CHECK_EQ(e->nwaiters, 0);
	CHECK(hf_cache_lookup(c, &k, h) == e);
	e2 = hf_cache_add_pending(c, &k, h, T0); /* same key twice in a burst */
	CHECK(e2 == e);
	CHECK_EQ(stats(c).entries, 1);

	CHECK_DEC(hf_cache_decide(c, e, T0), HF_ACT_WAIT, 1);
	CHECK_EQ(e->refresh_pending, 1);
	CHECK_EQ(e->refresh_sent_ms, T0);
	CHECK_EQ(e->referenced, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 1), HF_ACT_WAIT, 0);
	CHECK_EQ(hf_cache_park(c, e, (void *)0x11, T0), 0);
	CHECK_EQ(hf_cache_park(c, e, (void *)0x22, T0 + 1), 0);
	CHECK_EQ(e->nwaiters, 2);
	CHECK_EQ(stats(c).waiters, 2);
	hf_cache_expire_waiters(c, T0 + 100, rec_wake, NULL);
	CHECK_EQ(nwakes, 0);

	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 0x5a, T0 + 5), 0);
	e = hf_cache_lookup(c, &k, h);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_EQ(nwakes, 2);
	CHECK(wakes[0].cookie == (void *)0x11);
	CHECK(wakes[1].cookie == (void *)0x22);
	CHECK_EQ(wakes[0].mode, HF_WAKE_FRESH);
	CHECK_EQ(wakes[1].mode, HF_WAKE_FRESH);
	CHECK(wakes[0].e == e);
	CHECK_EQ(wakes[0].body_len, 40);
	CHECK_EQ(e->state, HF_ENTRY_READY);
	CHECK_EQ(e->inserted_ms, T0 + 5);
	CHECK_EQ(e->expires_ms, T0 + 5 + 60000);
	CHECK_EQ(e->stale_until_ms, T0 + 5 + 60000 + 100000);
	CHECK_EQ(e->refresh_pending, 0);
	CHECK_EQ(e->nwaiters, 0);
	CHECK_EQ(e->waiter_head, HF_WAITER_NONE);
	CHECK_EQ(stats(c).waiters, 0);
	{
		struct abuf b;
		const struct hf_dns_answer *a = mk_answer(&b, HF_ANS_POSITIVE, 60, 40, 0x5a);
		CHECK_MEM(hf_entry_ans(e), a, hf_dns_answer_size(a));
	}

	/* fresh hit */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 30000), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 5 + 59999), HF_ACT_FRESH, 0);
	CHECK_EQ(hf_cache_fallback(c, e, T0 + 10), HF_WAKE_FRESH);
	hf_cache_expire_waiters(c, T0 + 100000, rec_wake, NULL);
	CHECK_EQ(nwakes, 2);
	hf_cache_destroy(c);
}

static void test_stale_wait_refresh(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "stale.example", HF_TYPE_A, 0);

	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_DEC(hf_cache_decide(c, e, T0 + 9999), HF_ACT_FRESH, 0);
	/* expired, within the stale window, client_timeout > 0 */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10000), HF_ACT_WAIT, 1);
	CHECK_EQ(e->state, HF_ENTRY_READY);
	CHECK_EQ(e->refresh_pending, 1);
	CHECK_EQ(hf_cache_fallback(c, e, T0 + 10000), HF_WAKE_STALE);
	CHECK_EQ(hf_cache_park(c, e, (void *)1, T0 + 10000), 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10500), HF_ACT_WAIT, 0);
	CHECK_EQ(hf_cache_park(c, e, (void *)2, T0 + 10500), 0);

	hf_cache_expire_waiters(c, T0 + 11799, rec_wake, NULL);
	CHECK_EQ(nwakes, 0);
	hf_cache_expire_waiters(c, T0 + 11800, rec_wake, NULL);
	CHECK_EQ(nwakes, 1);
	CHECK(wakes[0].cookie == (void *)1);
	CHECK_EQ(wakes[0].mode, HF_WAKE_STALE);
	CHECK(wakes[0].e == e);
	CHECK_EQ(e->nwaiters, 1);
	hf_cache_expire_waiters(c, T0 + 12300, rec_wake, NULL);
	CHECK_EQ(nwakes, 2);
	CHECK(wakes[1].cookie == (void *)2);
	CHECK_EQ(wakes[1].mode, HF_WAKE_STALE);
	CHECK_EQ(e->nwaiters, 0);
	CHECK_EQ(stats(c).waiters, 0);
	/* the refresh is still out: no second query */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 13000), HF_ACT_WAIT, 0);
	/* ... until it is older than miss_timeout (lost) */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 15000), HF_ACT_WAIT, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 15001), HF_ACT_WAIT, 0);

	/* a successful refill replaces the stale data and wakes FRESH */
	CHECK_EQ(hf_cache_park(c, e, (void *)3, T0 + 15001), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 20, 50, 2, T0 + 15100), 0);
	e = look(c, &k);
	CHECK_EQ(nwakes, 3);
	CHECK(wakes[2].cookie == (void *)3);
	CHECK_EQ(wakes[2].mode, HF_WAKE_FRESH);
	CHECK_EQ(hf_entry_ans(e)->body_len, 50);
	CHECK_EQ(e->inserted_ms, T0 + 15100);
	CHECK_EQ(e->expires_ms, T0 + 15100 + 20000);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 16000), HF_ACT_FRESH, 0);
	hf_cache_destroy(c);
}

static void test_stale_at_once(void)
{
	struct hf_cache_conf conf = base_conf();
	conf.client_timeout_ms = 0;
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "now.example", HF_TYPE_A, 0);

	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 20000), HF_ACT_STALE, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 20001), HF_ACT_STALE, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 24999), HF_ACT_STALE, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 25000), HF_ACT_STALE, 1); /* refresh lost */
	CHECK_EQ(hf_cache_fallback(c, e, T0 + 25000), HF_WAKE_STALE);
	hf_cache_destroy(c);
}

static void test_failed_refresh(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "bogus.de", HF_TYPE_A, HF_KEY_DO);

	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 15000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, e, (void *)7, T0 + 15000), 0);
	/* the refresh fails: data kept, waiter answered stale */
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 5, 16, 9, T0 + 15100), 0);
	e = look(c, &k);
	CHECK_EQ(nwakes, 1);
	CHECK(wakes[0].cookie == (void *)7);
	CHECK_EQ(wakes[0].mode, HF_WAKE_STALE);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_POSITIVE);
	CHECK_EQ(hf_entry_ans(e)->body_len, 40);
	CHECK_EQ(e->state, HF_ENTRY_READY);
	CHECK_EQ(e->expires_ms, T0 + 10000);
	CHECK_EQ(e->refresh_failed_ms, T0 + 15100);
	CHECK_EQ(e->refresh_pending, 0);
	CHECK_EQ(e->nwaiters, 0);
	/* within failure_recheck: stale at once, nothing asked */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 20000), HF_ACT_STALE, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 15100 + 29999), HF_ACT_STALE, 0);
	/* after it: ask again */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 15100 + 30000), HF_ACT_WAIT, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 15100 + 30001), HF_ACT_WAIT, 0);
	/* a successful refill replaces the stale data */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 20, 60, 3, T0 + 46000), 0);
	e = look(c, &k);
	CHECK_EQ(hf_entry_ans(e)->body_len, 60);
	CHECK_EQ(hf_dns_answer_body(hf_entry_ans(e))[20], 3);
	CHECK_EQ(e->refresh_failed_ms, 0);
	CHECK_EQ(e->inserted_ms, T0 + 46000);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 46001), HF_ACT_FRESH, 0);
	hf_cache_destroy(c);
}

static void test_past_stale_window(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "old.example", HF_TYPE_AAAA, 0);

	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	uint64_t end = T0 + 10000 + 100000;
	CHECK_EQ(e->stale_until_ms, end);
	CHECK_DEC(hf_cache_decide(c, e, end - 1), HF_ACT_WAIT, 1);
	/* a refresh is out: past the window the entry turns PENDING, no second query */
	CHECK_DEC(hf_cache_decide(c, e, end), HF_ACT_WAIT, 0);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	CHECK(look(c, &k) == e);
	CHECK_EQ(hf_cache_fallback(c, e, end), HF_WAKE_TIMEOUT);
	CHECK_EQ(stats(c).bytes_used, 256); /* slot kept */

	/* without a refresh out: straight to PENDING + query */
	mk_key(&k, "old2.example", HF_TYPE_AAAA, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_NODATA, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_DEC(hf_cache_decide(c, e, end + 5), HF_ACT_WAIT, 1);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	CHECK_EQ(hf_cache_park(c, e, (void *)9, end + 5), 0);
	hf_cache_expire_waiters(c, end + 5 + 4999, rec_wake, NULL);
	CHECK_EQ(nwakes, 0);
	hf_cache_expire_waiters(c, end + 5 + 5000, rec_wake, NULL);
	CHECK_EQ(nwakes, 1);
	CHECK_EQ(wakes[0].mode, HF_WAKE_TIMEOUT);

	/* stale window 0: expiry means PENDING at once */
	conf.stale_window_ms = 0;
	hf_cache_set_knobs(c, &conf);
	mk_key(&k, "nowin.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_EQ(e->stale_until_ms, e->expires_ms);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10000), HF_ACT_WAIT, 1);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	hf_cache_destroy(c);
}

static void test_failure_cached(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "fail.example", HF_TYPE_A, 0);

	/* a failure for a key nobody has: stored */
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 5, 16, 1, T0), 0);
	e = look(c, &k);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_EQ(e->state, HF_ENTRY_READY);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_FAILURE);
	CHECK_EQ(e->expires_ms, T0 + 5000);
	CHECK_EQ(e->stale_until_ms, e->expires_ms);
	CHECK_EQ(hf_entry_ans(e)->ede, HF_EDE_NO_REACHABLE_AUTHORITY);
	CHECK_MEM(hf_dns_answer_ede_text(hf_entry_ans(e)), "abc", 3);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 1000), HF_ACT_FAILURE, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 4999), HF_ACT_FAILURE, 0);
	CHECK_EQ(hf_cache_fallback(c, e, T0 + 1000), HF_WAKE_FAILURE);
	/* expired failure: never stale, back to PENDING + query */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 5000), HF_ACT_WAIT, 1);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);

	/* a failure fill onto a pending entry wakes its waiters FAILURE */
	CHECK_EQ(hf_cache_park(c, e, (void *)5, T0 + 5000), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 2, 16, 1, T0 + 5100), 0);
	CHECK_EQ(nwakes, 1);
	CHECK_EQ(wakes[0].mode, HF_WAKE_FAILURE);
	e = look(c, &k);
	CHECK_EQ(e->expires_ms, T0 + 7100);
	CHECK_EQ(e->refresh_pending, 0);

	/* a failure onto data past its stale window replaces it */
	mk_key(&k, "gone.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 1, 40, 1, T0), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 3, 16, 1, T0 + 1000 + 100000), 0);
	e = look(c, &k);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_FAILURE);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 101001), HF_ACT_FAILURE, 0);
	hf_cache_destroy(c);
}

static void test_failure_onto_fresh(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "fresh.example", HF_TYPE_A, 0);

	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_EQ(hf_cache_park(c, e, (void *)4, T0 + 10), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 5, 16, 9, T0 + 1000), 0);
	e = look(c, &k);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_POSITIVE);
	CHECK_EQ(e->inserted_ms, T0);
	CHECK_EQ(e->expires_ms, T0 + 60000);
	CHECK_EQ(nwakes, 1);
	CHECK_EQ(wakes[0].mode, HF_WAKE_FRESH);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 2000), HF_ACT_FRESH, 0);
	hf_cache_destroy(c);
}

/* prefetch-percent 10: the first hit in the last 10% of a TTL is answered
 * fresh and asks once; the refill moves the point; failures never prefetch. */
static void test_prefetch(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c;
	struct hf_cache_key k, kf;
	struct hf_cache_entry *e;

	conf.prefetch_pct = 10;
	c = mk_cache(&conf);
	mk_key(&k, "popular.example", HF_TYPE_A, 0);
	mk_key(&kf, "broken.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_EQ(e->refresh_at_ms, T0 + 9000);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 8999), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 9000), HF_ACT_FRESH, 1);
	CHECK_EQ(e->refresh_pending, 1);
	/* once: the hits after it do not ask while it is out */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 9001), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 9999), HF_ACT_FRESH, 0);
	/* a prefetch still out at the expiry does not hold the clients that
	 * now wait off a query: they ask again, once */
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10000), HF_ACT_WAIT, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10001), HF_ACT_WAIT, 0);
	/* the refill: fresh again, the next prefetch 90% into the new TTL */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 20, 40, 2, T0 + 10050), 0);
	e = look(c, &k);
	CHECK_EQ(e->refresh_pending, 0);
	CHECK_EQ(e->refresh_at_ms, T0 + 10050 + 18000);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 11000), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10050 + 18000), HF_ACT_FRESH, 1);
	/* a failed prefetch keeps the data; at expiry it is stale at once */
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 5, 16, 9, T0 + 10050 + 18100), 0);
	e = look(c, &k);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_POSITIVE);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10050 + 19999), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10050 + 20000), HF_ACT_STALE, 0);
	/* a cached failure is never prefetched */
	CHECK_EQ(fill(c, &kf, HF_ANS_FAILURE, 10, 16, 9, T0), 0);
	e = look(c, &kf);
	CHECK_EQ(e->refresh_at_ms, e->expires_ms);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 9500), HF_ACT_FAILURE, 0);
	hf_cache_destroy(c);

	/* prefetch-percent 0: nothing asks before expiry */
	conf.prefetch_pct = 0;
	c = mk_cache(&conf);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_EQ(e->refresh_at_ms, e->expires_ms);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 9999), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 10000), HF_ACT_WAIT, 1);
	hf_cache_destroy(c);
}

/* A caching upstream in the last second of its copy answers with TTL 0:
 * that answer is kept for a second rather than asked for on every hit. */
static void test_ttl0_refill(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k, kz;
	struct hf_cache_entry *e;
	uint64_t t = T0 + 5000;

	mk_key(&k, "countdown.example", HF_TYPE_A, 0);
	mk_key(&kz, "zero.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 5, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	/* expired: the client waits on a refresh */
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, e, (void *)1, t), 0);
	/* it comes back with TTL 0: the parked client gets it fresh ... */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 0, 40, 2, t + 2), 0);
	CHECK_EQ(nwakes, 1);
	CHECK_EQ(wakes[0].mode, HF_WAKE_FRESH);
	e = look(c, &k);
	CHECK_EQ(e->expires_ms, t + 2 + HF_CACHE_TTL0_HOLD_MS);
	CHECK_EQ(e->refresh_at_ms, e->expires_ms);
	CHECK_EQ(e->stale_until_ms, e->expires_ms + conf.stale_window_ms);
	/* ... and so does every hit for the rest of that second, without a query */
	CHECK_DEC(hf_cache_decide(c, e, t + 3), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, t + 2 + HF_CACHE_TTL0_HOLD_MS - 1), HF_ACT_FRESH, 0);
	/* then the next refresh, which finds the upstream's copy renewed */
	CHECK_DEC(hf_cache_decide(c, e, t + 2 + HF_CACHE_TTL0_HOLD_MS), HF_ACT_WAIT, 1);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 5, 40, 3, t + 1010), 0);
	e = look(c, &k);
	CHECK_EQ(e->expires_ms, t + 1010 + 5000);

	/* an answer whose TTL was 0 from the start (an authoritative TTL 0) is
	 * not held: every hit asks, one query out at a time */
	CHECK_EQ(fill(c, &kz, HF_ANS_POSITIVE, 0, 40, 1, T0), 0);
	e = look(c, &kz);
	CHECK_EQ(e->expires_ms, T0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 1), HF_ACT_WAIT, 1);
	CHECK_EQ(fill(c, &kz, HF_ANS_POSITIVE, 0, 40, 1, T0 + 2), 0);
	e = look(c, &kz);
	CHECK_EQ(e->expires_ms, T0 + 2);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 3), HF_ACT_WAIT, 1);
	hf_cache_destroy(c);
}

static void test_nxdomain_stale(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "nx.example", HF_TYPE_A, 0);

	CHECK_EQ(fill(c, &k, HF_ANS_NXDOMAIN, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_EQ(e->stale_until_ms, T0 + 10000 + 100000);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 5000), HF_ACT_FRESH, 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 11000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, e, (void *)8, T0 + 11000), 0);
	hf_cache_expire_waiters(c, T0 + 12800, rec_wake, NULL);
	CHECK_EQ(nwakes, 1);
	CHECK_EQ(wakes[0].mode, HF_WAKE_STALE);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_NXDOMAIN);
	/* a failed refresh keeps the NXDOMAIN */
	CHECK_EQ(fill(c, &k, HF_ANS_FAILURE, 5, 16, 9, T0 + 13000), 0);
	CHECK_EQ(hf_entry_ans(e)->kind, HF_ANS_NXDOMAIN);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 14000), HF_ACT_STALE, 0);

	/* NODATA with client_timeout 0 */
	conf.client_timeout_ms = 0;
	hf_cache_set_knobs(c, &conf);
	mk_key(&k, "nodata.example", HF_TYPE_AAAA, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_NODATA, 10, 40, 1, T0), 0);
	e = look(c, &k);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 11000), HF_ACT_STALE, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 11001), HF_ACT_STALE, 0);
	hf_cache_destroy(c);
}

static void test_miss_timeout(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_entry *e;
	mk_key(&k, "slow.example", HF_TYPE_A, 0);
	uint32_t h = hf_cache_key_hash(&k);

	e = hf_cache_add_pending(c, &k, h, T0);
	CHECK_DEC(hf_cache_decide(c, e, T0), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, e, (void *)0xa, T0), 0);
	CHECK_EQ(hf_cache_park(c, e, (void *)0xb, T0 + 1000), 0);
	hf_cache_expire_waiters(c, T0 + 4999, rec_wake, NULL);
	CHECK_EQ(nwakes, 0);
	hf_cache_expire_waiters(c, T0 + 5000, rec_wake, NULL);
	CHECK_EQ(nwakes, 1);
	CHECK(wakes[0].cookie == (void *)0xa);
	CHECK_EQ(wakes[0].mode, HF_WAKE_TIMEOUT);
	CHECK(wakes[0].e == e);
	hf_cache_expire_waiters(c, T0 + 6000, rec_wake, NULL);
	CHECK_EQ(nwakes, 2);
	CHECK(wakes[1].cookie == (void *)0xb);
	CHECK_EQ(wakes[1].mode, HF_WAKE_TIMEOUT);
	/* the entry stays, and since the MISS is older than miss_timeout, a new one goes out */
	CHECK(hf_cache_lookup(c, &k, h) == e);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 6000), HF_ACT_WAIT, 1);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 6001), HF_ACT_WAIT, 0);
	/* a late fill still fills it */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 30, 40, 1, T0 + 7000), 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 7001), HF_ACT_FRESH, 0);
	CHECK_EQ(nwakes, 2);
	hf_cache_destroy(c);
}

/* A stop wakes every parked client at once, before any deadline, each
 * with what its entry has: stale data STALE, a miss TIMEOUT (SERVFAIL). */
static void test_wake_every(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key ks, km;
	struct hf_cache_entry *es, *em;
	mk_key(&ks, "stale.example", HF_TYPE_A, 0);
	mk_key(&km, "miss.example", HF_TYPE_A, 0);
	uint32_t hm = hf_cache_key_hash(&km);

	CHECK_EQ(fill(c, &ks, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	es = look(c, &ks);
	CHECK(es != NULL);
	if (es == NULL)
		return;
	CHECK_DEC(hf_cache_decide(c, es, T0 + 10000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, es, (void *)1, T0 + 10000), 0);
	CHECK_EQ(hf_cache_park(c, es, (void *)2, T0 + 10001), 0);
	em = hf_cache_add_pending(c, &km, hm, T0 + 10001);
	CHECK(em != NULL);
	if (em == NULL)
		return;
	CHECK_EQ(hf_cache_park(c, em, (void *)3, T0 + 10001), 0);
	CHECK_EQ(stats(c).waiters, 3);
	hf_cache_expire_waiters(c, T0 + 10002, rec_wake, NULL); /* no deadline yet */
	CHECK_EQ(nwakes, 0);

	hf_cache_wake_every(c, T0 + 10002, rec_wake, NULL);
	CHECK_EQ(nwakes, 3);
	CHECK_EQ(stats(c).waiters, 0);
	CHECK_EQ(es->nwaiters, 0);
	CHECK_EQ(em->nwaiters, 0);
	for (unsigned i = 0; i < 3 && i < nwakes; i++) {
		if (wakes[i].cookie == (void *)3) {
			CHECK(wakes[i].e == em);
			CHECK_EQ(wakes[i].mode, HF_WAKE_TIMEOUT);
		} else {
			CHECK(wakes[i].cookie == (void *)1 || wakes[i].cookie == (void *)2);
			CHECK(wakes[i].e == es);
			CHECK_EQ(wakes[i].mode, HF_WAKE_STALE);
		}
	}
	hf_cache_wake_every(c, T0 + 10003, rec_wake, NULL); /* nobody is left */
	CHECK_EQ(nwakes, 3);
	hf_cache_destroy(c);
}

static void test_waiter_limits(void)
{
	struct hf_cache_conf conf = base_conf();
	conf.waiters = 4;
	conf.waiters_per_entry = 2;
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key ka, kb, kc, kd, kf;
	struct hf_cache_entry *a, *b, *cc, *d, *f;
	mk_key(&ka, "a.example", HF_TYPE_A, 0);
	mk_key(&kb, "b.example", HF_TYPE_A, 0);
	mk_key(&kc, "c.example", HF_TYPE_A, 0);
	mk_key(&kd, "d.example", HF_TYPE_A, 0);
	mk_key(&kf, "f.example", HF_TYPE_A, 0);

	a = hf_cache_add_pending(c, &ka, hf_cache_key_hash(&ka), T0);
	b = hf_cache_add_pending(c, &kb, hf_cache_key_hash(&kb), T0);
	cc = hf_cache_add_pending(c, &kc, hf_cache_key_hash(&kc), T0);
	CHECK_EQ(hf_cache_park(c, a, (void *)1, T0), 0);
	CHECK_EQ(hf_cache_park(c, a, (void *)2, T0), 0);
	CHECK_EQ(hf_cache_park(c, a, (void *)3, T0), HF_EFULL); /* per entry */
	CHECK_EQ(hf_cache_fallback(c, a, T0), HF_WAKE_TIMEOUT);
	CHECK_EQ(hf_cache_park(c, b, (void *)4, T0), 0);
	CHECK_EQ(hf_cache_park(c, b, (void *)5, T0), 0);
	CHECK_EQ(hf_cache_park(c, cc, (void *)6, T0), HF_EFULL); /* per core */
	CHECK_EQ(stats(c).park_fails, 2);
	CHECK_EQ(stats(c).waiters, 4);
	CHECK_EQ(cc->nwaiters, 0);

	/* a fill frees two waiter slots */
	CHECK_EQ(fill(c, &ka, HF_ANS_POSITIVE, 30, 40, 1, T0 + 10), 0);
	CHECK_EQ(nwakes, 2);
	CHECK_EQ(stats(c).waiters, 2);
	CHECK_EQ(hf_cache_park(c, cc, (void *)6, T0 + 10), 0);

	/* stale entry full -> fallback STALE; failure entry -> FAILURE */
	CHECK_EQ(fill(c, &kd, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	d = look(c, &kd);
	CHECK_DEC(hf_cache_decide(c, d, T0 + 11000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, d, (void *)7, T0 + 11000), 0);
	CHECK_EQ(hf_cache_park(c, d, (void *)8, T0 + 11000), HF_EFULL);
	CHECK_EQ(hf_cache_fallback(c, d, T0 + 11000), HF_WAKE_STALE);
	CHECK_EQ(fill(c, &kf, HF_ANS_FAILURE, 10, 16, 1, T0), 0);
	f = look(c, &kf);
	CHECK_EQ(hf_cache_fallback(c, f, T0 + 100), HF_WAKE_FAILURE);
	CHECK_EQ(stats(c).park_fails, 3);

	/* a cache with no waiter slots refuses every park */
	hf_cache_destroy(c);
	conf.waiters = 0;
	c = mk_cache(&conf);
	a = hf_cache_add_pending(c, &ka, hf_cache_key_hash(&ka), T0);
	CHECK_EQ(hf_cache_park(c, a, (void *)1, T0), HF_EFULL);
	hf_cache_destroy(c);
}

/* Fill "e%u.example" keys from `from` on until the first eviction; returns
 * how many fitted (the size of the small class). */
static unsigned fill_until_evict(struct hf_cache *c, unsigned from, uint64_t now)
{
	struct hf_cache_key k;
	uint64_t ev0 = stats(c).evictions;
	unsigned i;
	for (i = from; i < from + 100000; i++) {
		mk_keyf(&k, "e", i);
		CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 40, 1, now), 0);
		if (stats(c).evictions != ev0)
			break;
	}
	return i - from;
}

static void test_eviction_clock(void)
{
	struct hf_cache_conf conf = base_conf();
	conf.memory = 512 * 1024;
	conf.entries = 65536;
	conf.waiters = 16;
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_stats st;
	unsigned n = fill_until_evict(c, 0, T0), present = 0, gone = 0;

	st = stats(c);
	CHECK(n > 10);
	CHECK(n < 2048);
	CHECK_EQ(st.evictions, 1);
	CHECK_EQ(st.entries, n);
	CHECK(st.bytes_used <= conf.memory);
	CHECK_EQ(st.bytes_used, (uint64_t)n * 256);
	for (unsigned i = 0; i <= n; i++) {
		mk_keyf(&k, "e", i);
		if (look(c, &k))
			present++;
		else
			gone++;
	}
	CHECK_EQ(present, n);
	CHECK_EQ(gone, 1);

	/* reference every entry but one: CLOCK evicts exactly that one */
	unsigned victim = n / 2;
	mk_keyf(&k, "e", victim);
	CHECK(look(c, &k) != NULL);
	for (unsigned i = 0; i <= n; i++) {
		struct hf_cache_entry *e;
		if (i == victim)
			continue;
		mk_keyf(&k, "e", i);
		if ((e = look(c, &k)) != NULL)
			hf_cache_decide(c, e, T0 + 1);
	}
	mk_key(&k, "newcomer.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 40, 1, T0 + 2), 0);
	CHECK_EQ(stats(c).evictions, 2);
	mk_keyf(&k, "e", victim);
	CHECK(look(c, &k) == NULL);
	present = 0;
	for (unsigned i = 0; i <= n; i++) {
		mk_keyf(&k, "e", i);
		present += look(c, &k) != NULL;
	}
	CHECK_EQ(present, n - 1);

	/* an entry with a parked client and a pending one with its query out survive */
	struct hf_cache_key kp, kq;
	struct hf_cache_entry *p, *q;
	mk_key(&kp, "parked.example", HF_TYPE_A, 0);
	mk_key(&kq, "pending.example", HF_TYPE_A, 0);
	p = hf_cache_add_pending(c, &kp, hf_cache_key_hash(&kp), T0 + 3);
	q = hf_cache_add_pending(c, &kq, hf_cache_key_hash(&kq), T0 + 3);
	CHECK(p != NULL && q != NULL);
	CHECK_DEC(hf_cache_decide(c, p, T0 + 3), HF_ACT_WAIT, 1);
	CHECK_DEC(hf_cache_decide(c, q, T0 + 3), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, p, (void *)0x77, T0 + 3), 0);
	for (unsigned i = 0; i < 3 * n; i++) {
		mk_keyf(&k, "x", i);
		CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 40, 1, T0 + 4), 0);
	}
	CHECK(look(c, &kp) == p);
	CHECK(look(c, &kq) == q);
	CHECK_EQ(p->nwaiters, 1);
	st = stats(c);
	CHECK_EQ(st.entries, n);
	CHECK(st.bytes_used <= conf.memory);
	CHECK_EQ(st.evictions, 2 + 2 + 3 * n);
	CHECK_EQ(st.alloc_fails, 0);

	/* once the query is older than miss_timeout, the pending entry may go */
	for (unsigned i = 0; i < 3 * n; i++) {
		mk_keyf(&k, "y", i);
		CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 40, 1, T0 + 3 + 5000), 0);
	}
	CHECK(look(c, &kq) == NULL);
	CHECK(look(c, &kp) == p);
	CHECK_EQ(stats(c).waiters, 1);

	/* answers of other sizes live in their own classes */
	mk_key(&k, "big.example", HF_TYPE_TXT, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 3000, 1, T0 + 10000), 0);
	CHECK(look(c, &k) != NULL);
	CHECK(stats(c).bytes_used <= conf.memory);

	/* a flush takes the data; the pending entry and its parked client stay */
	hf_cache_flush(c, NULL, 0, false, rec_wake, NULL);
	CHECK_EQ(stats(c).entries, 1);
	CHECK(look(c, &kp) == p);
	CHECK_EQ(stats(c).waiters, 1);
	hf_cache_destroy(c);

	/* every slot pinned by pending queries: insert refused, alloc_fails counted */
	c = mk_cache(&conf);
	unsigned pinned = 0;
	for (unsigned i = 0; i < 100000; i++) {
		struct hf_cache_entry *e;
		mk_keyf(&k, "pin", i);
		e = hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0);
		if (e == NULL)
			break;
		hf_cache_decide(c, e, T0);
		pinned++;
	}
	CHECK_EQ(pinned, n);
	CHECK_EQ(stats(c).alloc_fails, 1);
	CHECK_EQ(stats(c).evictions, 0);
	mk_key(&k, "late.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 40, 1, T0 + 1), HF_ENOMEM);
	CHECK_EQ(stats(c).alloc_fails, 2);
	/* a bigger class still has room */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 300, 400, 1, T0 + 1), 0);
	/* after miss_timeout the lost queries no longer pin */
	mk_key(&k, "later.example", HF_TYPE_A, 0);
	CHECK(hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0 + 5000) != NULL);
	CHECK_EQ(stats(c).evictions, 1);
	hf_cache_destroy(c);
}

static void test_hash_full(void)
{
	struct hf_cache_conf conf = base_conf();
	conf.entries = 64;
	conf.memory = 4u << 20;
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	struct hf_cache_stats st;
	unsigned ok = 0;

	for (unsigned i = 0; i < 400; i++) {
		mk_keyf(&k, "h", i);
		if (fill(c, &k, HF_ANS_POSITIVE, 300, 40, 1, T0) == 0) {
			ok++;
			CHECK(look(c, &k) != NULL);
		}
	}
	st = stats(c);
	/* extendable buckets: a full hash always makes room by eviction */
	CHECK_EQ(ok, 400);
	CHECK_EQ(st.entries, 64);
	CHECK(st.evictions > 0);
	CHECK_EQ(st.entries, ok - st.evictions);
	CHECK_EQ(st.alloc_fails, 400 - ok);
	CHECK_EQ(st.bytes_used, st.entries * 256);
	/* every entry the hash knows is reachable and every slot is in the hash */
	uint32_t it = 0;
	unsigned seen = 0;
	const struct hf_cache_key *sk;
	struct hf_cache_entry *e;
	while (hf_cache_iterate(c, &it, &sk, &e)) {
		CHECK(look(c, sk) == e);
		CHECK_EQ(e->state, HF_ENTRY_READY);
		seen++;
	}
	CHECK_EQ(seen, st.entries);
	hf_cache_destroy(c);
}

static void test_refill_moves_class(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k, k2;
	struct hf_cache_entry *e, *old;
	mk_key(&k, "grow.example", HF_TYPE_TXT, 0);
	mk_key(&k2, "other.example", HF_TYPE_TXT, 0);

	CHECK_EQ(fill(c, &k2, HF_ANS_POSITIVE, 60, 40, 1, T0), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	old = look(c, &k);
	CHECK_EQ(stats(c).bytes_used, 512);
	CHECK_DEC(hf_cache_decide(c, old, T0 + 11000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, old, (void *)1, T0 + 11000), 0);
	CHECK_EQ(hf_cache_park(c, old, (void *)2, T0 + 11001), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 3000, 0x33, T0 + 11100), 0);
	e = look(c, &k);
	CHECK(e != NULL && e != old);
	if (e == NULL)
		return;
	CHECK_EQ(e->size_class, 4);
	CHECK_EQ(hf_entry_ans(e)->body_len, 3000);
	CHECK_EQ(hf_dns_answer_body(hf_entry_ans(e))[2999], 0x33);
	CHECK_EQ(e->inserted_ms, T0 + 11100);
	CHECK_EQ(e->nwaiters, 0);
	CHECK_EQ(e->referenced, 1);
	CHECK_EQ(nwakes, 2);
	CHECK(wakes[0].e == e && wakes[1].e == e);
	CHECK(wakes[0].cookie == (void *)1 && wakes[1].cookie == (void *)2);
	CHECK_EQ(wakes[0].mode, HF_WAKE_FRESH);
	CHECK_EQ(wakes[0].body_len, 3000);
	CHECK_EQ(stats(c).bytes_used, 256 + 4096);
	CHECK_EQ(stats(c).entries, 2);
	CHECK_EQ(stats(c).waiters, 0);

	/* a move with clients still parked (a pending entry) keeps them */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 1, 40, 2, T0 + 20000), 0);
	e = look(c, &k);
	CHECK_EQ(e->size_class, 0);
	CHECK_EQ(stats(c).bytes_used, 512);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 200000), HF_ACT_WAIT, 1);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	CHECK_EQ(hf_cache_park(c, e, (void *)3, T0 + 200000), 0);
	CHECK_EQ(fill(c, &k, HF_ANS_NXDOMAIN, 60, 400, 4, T0 + 200001), 0);
	e = look(c, &k);
	CHECK_EQ(e->size_class, 1);
	CHECK_EQ(nwakes, 3);
	CHECK(wakes[2].e == e);
	CHECK_EQ(wakes[2].body_len, 400);
	CHECK_EQ(stats(c).bytes_used, 256 + 512);
	CHECK(look(c, &k2) != NULL);

	/* too big for any class: refused, the old data stays */
	{
		static uint8_t huge[sizeof(struct hf_dns_answer) + 2 + 65535 + 10000];
		struct hf_dns_answer *a = (struct hf_dns_answer *)(void *)huge;
		memset(huge, 0, sizeof(huge));
		a->kind = HF_ANS_POSITIVE;
		a->ttl = 60;
		a->body_len = 65535;
		a->ede_text_len = 10000;
		uint64_t af = stats(c).alloc_fails;
		CHECK_EQ(
			hf_cache_fill(c, &k, hf_cache_key_hash(&k), a, T0 + 200002, rec_wake, NULL),
			HF_ENOMEM);
		CHECK_EQ(stats(c).alloc_fails, af + 1);
		CHECK_EQ(hf_entry_ans(look(c, &k))->body_len, 400);
	}
	hf_cache_destroy(c);
}

/* Fill k with a positive answer of the given security (and flags). */
static void fill_sec(struct hf_cache *c, const struct hf_cache_key *k, uint8_t kind,
		     uint8_t security, uint16_t flags, uint32_t ttl, uint64_t now)
{
	struct abuf b;
	struct hf_dns_answer *a = (struct hf_dns_answer *)mk_answer(&b, kind, ttl, 40, 1);
	a->security = security;
	a->flags = flags;
	CHECK_EQ(hf_cache_fill(c, k, hf_cache_key_hash(k), a, now, rec_wake, NULL), 0);
}

/* The world of the NTA tests: secure, insecure, bogus (CD), failed and
 * NTA-derived names under de, a secure one outside it, and secure data
 * past its TTL whose refresh failed (bogus upstream). */
struct nta_world {
	struct hf_cache_key ks, ki, kb, kf, kn, kx, kst;
};

static void nta_world(struct hf_cache *c, struct nta_world *k)
{
	mk_key(&k->ks, "secure.de", HF_TYPE_A, HF_KEY_DO);
	mk_key(&k->ki, "insecure.de", HF_TYPE_A, 0);
	mk_key(&k->kb, "bogus.de", HF_TYPE_A, HF_KEY_CD);
	mk_key(&k->kf, "failed.de", HF_TYPE_A, 0);
	mk_key(&k->kn, "nta.de", HF_TYPE_A, 0);
	mk_key(&k->kx, "secure.example", HF_TYPE_A, 0);
	mk_key(&k->kst, "stale.de", HF_TYPE_A, 0);
	fill_sec(c, &k->ks, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 60, T0);
	fill_sec(c, &k->ki, HF_ANS_POSITIVE, HF_SECURITY_INSECURE, 0, 60, T0);
	fill_sec(c, &k->kb, HF_ANS_POSITIVE, HF_SECURITY_BOGUS, 0, 60, T0);
	fill_sec(c, &k->kf, HF_ANS_FAILURE, HF_SECURITY_INSECURE, 0, 5, T0);
	fill_sec(c, &k->kn, HF_ANS_POSITIVE, HF_SECURITY_INSECURE, HF_ANS_F_NTA, 60, T0);
	fill_sec(c, &k->kx, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 60, T0);
	fill_sec(c, &k->kst, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 1, T0);
	fill(c, &k->kst, HF_ANS_FAILURE, 5, 40, 1, T0 + 2000);
}

/* The NTA flush modes (RFC 7646 on the workers) and --bogus. */
static void test_flush_modes(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct nta_world k;
	struct hf_cache_key ks, ki, kb, kf, kn, kx, kst;
	struct hf_cache_entry *e;
	uint8_t w[HF_DNS_NAME_MAX + 1];
	size_t wl = to_wire("de", w);

	nta_world(c, &k);
	ks = k.ks, ki = k.ki, kb = k.kb, kf = k.kf, kn = k.kn, kx = k.kx, kst = k.kst;
	e = look(c, &kst);
	CHECK(e != NULL && e->refresh_failed_ms == T0 + 2000);
	CHECK_EQ(stats(c).entries, 7);

	/* NTA added at de: failure and bogus go, secure data (fresh or stale)
	 * turns insecure with the NTA flag, the stale one asks again */
	CHECK_EQ(hf_cache_flush_mode(c, w, wl, true, HF_FLUSH_NTA_ADD, rec_wake, NULL), 4);
	CHECK(look(c, &kb) == NULL);
	CHECK(look(c, &kf) == NULL);
	e = look(c, &ks);
	CHECK(e != NULL && hf_entry_ans(e)->security == HF_SECURITY_INSECURE &&
	      (hf_entry_ans(e)->flags & HF_ANS_F_NTA));
	e = look(c, &kst);
	CHECK(e != NULL && hf_entry_ans(e)->security == HF_SECURITY_INSECURE &&
	      e->refresh_failed_ms == 0);
	CHECK_DEC(hf_cache_decide(c, e, T0 + 3000), HF_ACT_WAIT, 1);
	e = look(c, &ki);
	CHECK(e != NULL && !(hf_entry_ans(e)->flags & HF_ANS_F_NTA));
	e = look(c, &kx); /* outside the subtree: untouched */
	CHECK(e != NULL && hf_entry_ans(e)->security == HF_SECURITY_SECURE);
	CHECK_EQ(stats(c).entries, 5);

	/* NTA removed: NTA-derived entries go, genuinely insecure data stays */
	fill_sec(c, &kb, HF_ANS_POSITIVE, HF_SECURITY_BOGUS, 0, 60, T0);
	CHECK_EQ(hf_cache_flush_mode(c, w, wl, true, HF_FLUSH_NTA_REMOVE, rec_wake, NULL), 4);
	CHECK(look(c, &ks) == NULL && look(c, &kn) == NULL && look(c, &kst) == NULL);
	CHECK(look(c, &kb) == NULL);
	CHECK(look(c, &ki) != NULL && look(c, &kx) != NULL);

	/* --bogus everywhere: failures and bogus/indeterminate data only */
	fill_sec(c, &kb, HF_ANS_POSITIVE, HF_SECURITY_INDETERMINATE, 0, 60, T0);
	fill_sec(c, &kf, HF_ANS_FAILURE, HF_SECURITY_INSECURE, 0, 5, T0);
	CHECK_EQ(hf_cache_flush_mode(c, NULL, 0, false, HF_FLUSH_BOGUS, rec_wake, NULL), 2);
	CHECK(look(c, &kb) == NULL && look(c, &kf) == NULL);
	CHECK_EQ(stats(c).entries, 2);

	/* the same walk a few slots at a time, with inserts in between */
	{
		struct hf_cache_walk wk = {0, 0, 0};
		struct hf_cache_key kk;
		unsigned steps = 0;
		for (unsigned i = 0; i < 20; i++) {
			char nm[32];
			snprintf(nm, sizeof(nm), "n%u.de", i);
			mk_key(&kk, nm, HF_TYPE_A, 0);
			fill_sec(c, &kk, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 60, T0);
		}
		while (!hf_cache_flush_step(c, &wk, w, wl, true, HF_FLUSH_NTA_ADD, 3, rec_wake,
					    NULL)) {
			/* a pending entry added mid-walk holds no data: nothing to miss */
			if (steps++ == 2) {
				mk_key(&kk, "late.de", HF_TYPE_A, 0);
				CHECK(hf_cache_add_pending(c, &kk, hf_cache_key_hash(&kk), T0) !=
				      NULL);
			}
		}
		CHECK(steps >= 7);
		CHECK_EQ(wk.count, 20);
		for (unsigned i = 0; i < 20; i++) {
			char nm[32];
			snprintf(nm, sizeof(nm), "n%u.de", i);
			mk_key(&kk, nm, HF_TYPE_A, 0);
			e = look(c, &kk);
			CHECK(e != NULL && hf_entry_ans(e)->security == HF_SECURITY_INSECURE &&
			      (hf_entry_ans(e)->flags & HF_ANS_F_NTA));
		}
	}
	hf_cache_destroy(c);
}

/* Is e's data there, secure or not, NTA-marked or not? */
static bool has_sec(const struct hf_cache_entry *e, uint8_t security, bool nta)
{
	return e != NULL && e->state == HF_ENTRY_READY && hf_entry_ans(e)->security == security &&
	       !!(hf_entry_ans(e)->flags & HF_ANS_F_NTA) == nta;
}

/* A hit on k: answered fresh from the cache, no query, as security (NTA-marked or not). */
static void expect_hit(struct hf_cache *c, const struct hf_cache_key *k, uint64_t now,
		       uint8_t security, bool nta)
{
	struct hf_cache_entry *e = look(c, k);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_DEC(hf_cache_decide(c, e, now), HF_ACT_FRESH, 0);
	CHECK(has_sec(e, security, nta));
}

/*
 * NTA changes and repairs in O(1) (hf_cache_subtree_event): nothing is
 * walked, and each entry is left, when next used, as the walk of
 * test_flush_modes leaves it.
 */
static void test_subtree_events(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct nta_world k;
	struct hf_cache_key ks, ki, kb, kf, kn, kx, kst, kxst;
	struct hf_cache_entry *e;
	uint8_t w[HF_DNS_NAME_MAX + 1], wx[HF_DNS_NAME_MAX + 1];
	size_t wl = to_wire("de", w), wxl;
	uint64_t t = T0 + 3000;

	nta_world(c, &k);
	ks = k.ks, ki = k.ki, kb = k.kb, kf = k.kf, kn = k.kn, kx = k.kx, kst = k.kst;
	/* and stale data whose refresh failed outside de */
	mk_key(&kxst, "stale.example", HF_TYPE_A, 0);
	fill_sec(c, &kxst, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 1, T0);
	fill(c, &kxst, HF_ANS_FAILURE, 5, 40, 1, T0 + 2000);
	CHECK_EQ(stats(c).entries, 8);
	CHECK(!hf_cache_catch_up_due(c));

	/* NTA added at de: O(1), nothing changed yet */
	CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_ADD));
	CHECK_EQ(stats(c).entries, 8);
	CHECK(has_sec(look(c, &ks), HF_SECURITY_SECURE, false));
	/* a hit on secure data: answered insecure, NTA-marked */
	expect_hit(c, &ks, t, HF_SECURITY_INSECURE, true);
	/* failure and bogus data: a miss (their data gone, a query out) */
	e = look(c, &kb);
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_WAIT, 1);
	CHECK_EQ(e->state, HF_ENTRY_PENDING);
	e = look(c, &kf);
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_WAIT, 1);
	/* the stale entry asks again (its hold is gone) and is NTA-marked */
	e = look(c, &kst);
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_WAIT, 1);
	CHECK(has_sec(e, HF_SECURITY_INSECURE, true) && e->refresh_failed_ms == 0);
	/* insecure data and names outside de: as they were, the hold kept */
	expect_hit(c, &ki, t, HF_SECURITY_INSECURE, false);
	expect_hit(c, &kx, t, HF_SECURITY_SECURE, false);
	e = look(c, &kxst);
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_STALE, 0);
	/* a management lookup sees the entry as a hit would */
	e = hf_cache_entry_sync(c, look(c, &kn));
	CHECK(has_sec(e, HF_SECURITY_INSECURE, true));

	/* NTA removed: NTA-derived entries go when next used, insecure stays */
	CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_REMOVE));
	e = look(c, &ks);
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_WAIT, 1);
	CHECK(hf_cache_entry_sync(c, look(c, &kn)) == NULL); /* removed, as by a walk */
	CHECK(look(c, &kn) == NULL);
	e = look(c, &ki);
	CHECK_DEC(hf_cache_decide(c, e, t), HF_ACT_FRESH, 0);
	/* a FILL after the change: made by control with it, untouched */
	fill_sec(c, &ks, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 60, t);
	expect_hit(c, &ks, t, HF_SECURITY_SECURE, false);

	/* a failed refresh of data behind the gen: the change first, then the
	 * failure's hold (message order) */
	fill_sec(c, &kst, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 1, t);
	CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_ADD));
	fill(c, &kst, HF_ANS_FAILURE, 5, 40, 1, t + 2000);
	e = look(c, &kst);
	CHECK(has_sec(e, HF_SECURITY_INSECURE, true) && e->refresh_failed_ms == t + 2000);
	CHECK_DEC(hf_cache_decide(c, e, t + 3000), HF_ACT_STALE, 0);
	CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_REMOVE));

	/* a repair at de: failures go, stale data whose refresh failed asks
	 * again at once; outside de the hold stays */
	t += 10000;
	fill_sec(c, &kst, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 1, t);
	fill(c, &kst, HF_ANS_FAILURE, 5, 40, 1, t + 2000);
	fill_sec(c, &kf, HF_ANS_FAILURE, HF_SECURITY_INSECURE, 0, 5, t);
	fill_sec(c, &kxst, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 1, t);
	fill(c, &kxst, HF_ANS_FAILURE, 5, 40, 1, t + 2000);
	e = look(c, &kst);
	CHECK_DEC(hf_cache_decide(c, e, t + 3000), HF_ACT_STALE, 0);
	CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_REPAIRED));
	CHECK_DEC(hf_cache_decide(c, e, t + 3000), HF_ACT_WAIT, 1);
	CHECK(has_sec(e, HF_SECURITY_SECURE, false));
	e = look(c, &kf);
	CHECK_DEC(hf_cache_decide(c, e, t + 3000), HF_ACT_WAIT, 1);
	e = look(c, &kxst);
	CHECK_DEC(hf_cache_decide(c, e, t + 3000), HF_ACT_STALE, 0);

	/* the same change again (an NTA renewed) is one log entry: no
	 * catch-up however often */
	for (unsigned i = 0; i < 1000; i++)
		CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_ADD));
	CHECK(!hf_cache_catch_up_due(c));
	expect_hit(c, &kx, t, HF_SECURITY_SECURE, false);
	CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_REMOVE));

	/* distinct changes: a catch-up is due at half the log, and at a full
	 * log a change waits for it; the walk leaves the entries as the hits
	 * would */
	{
		unsigned n = 0, steps = 0, due = 0;
		char nm[32];
		for (unsigned i = 0; i < 40; i++) {
			struct hf_cache_key kk;
			snprintf(nm, sizeof(nm), "n%u.de", i);
			mk_key(&kk, nm, HF_TYPE_A, 0);
			fill_sec(c, &kk, HF_ANS_POSITIVE, HF_SECURITY_SECURE, 0, 60, t);
		}
		for (;; n++) {
			snprintf(nm, sizeof(nm), "x%u.example", n);
			wxl = to_wire(nm, wx);
			if (!hf_cache_subtree_event(c, wx, wxl,
						    n % 2 ? HF_FLUSH_NTA_ADD : HF_FLUSH_NTA_REMOVE))
				break;
			if (hf_cache_catch_up_due(c) && due == 0)
				due = n + 1;
			CHECK_EQ(hf_cache_catch_up_due(c), due != 0);
		}
		/* the log held the changes at de above too */
		CHECK(due > HF_CACHE_EV_LOG / 2 - 10 && due <= HF_CACHE_EV_LOG / 2);
		CHECK(n > HF_CACHE_EV_LOG - 8 && n < HF_CACHE_EV_LOG);
		CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_ADD) == false);
		while (!hf_cache_catch_up_step(c, 7))
			steps++;
		CHECK(steps > 5);
		CHECK(!hf_cache_catch_up_due(c));
		CHECK(hf_cache_subtree_event(c, w, wl, HF_FLUSH_NTA_ADD));
		for (unsigned i = 0; i < 40; i++) {
			struct hf_cache_key kk;
			snprintf(nm, sizeof(nm), "n%u.de", i);
			mk_key(&kk, nm, HF_TYPE_A, 0);
			expect_hit(c, &kk, t, HF_SECURITY_INSECURE, true);
		}
		expect_hit(c, &kx, t, HF_SECURITY_SECURE, false);
	}
	hf_cache_destroy(c);
}

static void test_flush(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	uint8_t w[HF_DNS_NAME_MAX + 1];
	size_t wl;
	static const char *const names[] = {
		"www.example.com",
		"mail.example.com",
		"sub.mail.example.com",
		"example.com",
		"xexample.com",
		"example.org",
		"com",
	};
	for (unsigned i = 0; i < HF_ARRAY_LEN(names); i++) {
		mk_key(&k, names[i], HF_TYPE_A, 0);
		CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 1, T0), 0);
	}
	mk_key(&k, "www.example.com", HF_TYPE_AAAA, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 1, T0), 0);
	mk_key(&k, "www.example.com", HF_TYPE_A, HF_KEY_DO | HF_KEY_CD);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 400, 1, T0), 0);
	mk_key(&k, "www.example.com", HF_TYPE_MX, 0);
	struct hf_cache_entry *p = hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0);
	CHECK_EQ(hf_cache_park(c, p, (void *)0x99, T0), 0);
	CHECK_EQ(stats(c).entries, 10);

	/* one name, every type and flag, case-insensitive; the question in
	 * flight (MX) stays, its client keeps waiting for the answer */
	wl = to_wire("WWW.example.COM", w);
	CHECK_EQ(hf_cache_flush(c, w, wl, false, rec_wake, NULL), 3);
	CHECK_EQ(nwakes, 0);
	CHECK_EQ(stats(c).waiters, 1);
	CHECK_EQ(stats(c).entries, 7);
	mk_key(&k, "www.example.com", HF_TYPE_A, 0);
	CHECK(look(c, &k) == NULL);
	mk_key(&k, "mail.example.com", HF_TYPE_A, 0);
	CHECK(look(c, &k) != NULL);

	/* exact flush does not take the subtree */
	wl = to_wire("mail.example.com", w);
	CHECK_EQ(hf_cache_flush(c, w, wl, false, rec_wake, NULL), 1);
	mk_key(&k, "sub.mail.example.com", HF_TYPE_A, 0);
	CHECK(look(c, &k) != NULL);

	/* subtree: example.com and below, not xexample.com */
	wl = to_wire("example.com", w);
	CHECK_EQ(hf_cache_flush(c, w, wl, true, rec_wake, NULL), 2);
	mk_key(&k, "xexample.com", HF_TYPE_A, 0);
	CHECK(look(c, &k) != NULL);
	mk_key(&k, "example.com", HF_TYPE_A, 0);
	CHECK(look(c, &k) == NULL);
	CHECK_EQ(stats(c).entries, 4);
	wl = to_wire("nothing.here", w);
	CHECK_EQ(hf_cache_flush(c, w, wl, true, rec_wake, NULL), 0);

	/* everything with data; stale data a client waits to refresh goes, the
	 * client stays parked on the (now empty) entry */
	mk_key(&k, "q.example.net", HF_TYPE_A, 0);
	p = hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0);
	CHECK_EQ(hf_cache_park(c, p, (void *)0x98, T0), 0);
	CHECK_EQ(hf_cache_park(c, p, (void *)0x97, T0), 0);
	mk_key(&k, "stale.example.net", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 1, 40, 1, T0), 0);
	p = look(c, &k);
	CHECK_DEC(hf_cache_decide(c, p, T0 + 2000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, p, (void *)0x96, T0 + 2000), 0);
	CHECK_EQ(hf_cache_flush(c, NULL, 0, false, rec_wake, NULL), 4);
	CHECK_EQ(nwakes, 0);
	CHECK_EQ(stats(c).entries, 3);
	CHECK(look(c, &k) == p && p->state == HF_ENTRY_PENDING);
	CHECK_EQ(stats(c).waiters, 4);
	/* the refresh's answer reaches the client parked on the flushed entry */
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 2, T0 + 2100), 0);
	CHECK_EQ(nwakes, 1);
	CHECK(wakes[0].cookie == (void *)0x96 && wakes[0].mode == HF_WAKE_FRESH);
	uint32_t it = 0, n = 0;
	const struct hf_cache_key *sk;
	struct hf_cache_entry *se;
	while (hf_cache_iterate(c, &it, &sk, &se))
		n++;
	CHECK_EQ(n, 3);
	/* and it still works afterwards */
	mk_key(&k, "again.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 1, T0), 0);
	CHECK(look(c, &k) != NULL);
	hf_cache_expire_waiters(c, T0 + 1000000, rec_wake, NULL);
	CHECK_EQ(nwakes, 4); /* 0x99, 0x98, 0x97 time out with nothing to serve */
	CHECK_EQ(wakes[3].mode, HF_WAKE_TIMEOUT);
	hf_cache_destroy(c);
}

static void test_bulk_lookup(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	static struct hf_cache_key keys[64];
	const struct hf_cache_key *kp[64];
	uint32_t hashes[64];
	struct hf_cache_entry *out[64];

	for (unsigned i = 0; i < 64; i++) {
		mk_keyf(&keys[i], "bulk", i);
		kp[i] = &keys[i];
		hashes[i] = hf_cache_key_hash(&keys[i]);
		if (i % 3 == 0)
			CHECK_EQ(fill(c, &keys[i], HF_ANS_POSITIVE, 60, 40, (uint8_t)i, T0), 0);
	}
	memset(out, 0xff, sizeof(out));
	hf_cache_lookup_bulk(c, kp, hashes, 64, out);
	unsigned hits = 0;
	for (unsigned i = 0; i < 64; i++) {
		if (i % 3 == 0) {
			CHECK(out[i] != NULL);
			CHECK(out[i] == look(c, &keys[i]));
			if (out[i])
				CHECK_EQ(hf_dns_answer_body(hf_entry_ans(out[i]))[20], i);
			hits++;
		} else {
			CHECK(out[i] == NULL);
		}
	}
	CHECK_EQ(hits, 22);
	/* a short burst from the middle */
	memset(out, 0xff, sizeof(out));
	hf_cache_lookup_bulk(c, kp + 2, hashes + 2, 3, out);
	CHECK(out[0] == NULL);
	CHECK(out[1] == look(c, &keys[3]));
	CHECK(out[2] == NULL);
	hf_cache_destroy(c);
}

static void test_knobs(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k1, k2, kf;
	struct hf_cache_entry *e1, *e2, *f;
	mk_key(&k1, "k1.example", HF_TYPE_A, 0);
	mk_key(&k2, "k2.example", HF_TYPE_A, 0);
	mk_key(&kf, "kf.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k1, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	CHECK_EQ(fill(c, &k2, HF_ANS_POSITIVE, 10, 40, 1, T0), 0);
	CHECK_EQ(fill(c, &kf, HF_ANS_FAILURE, 10, 16, 1, T0), 0);
	e1 = look(c, &k1);
	e2 = look(c, &k2);
	f = look(c, &kf);

	/* a shorter client timeout: the later waiter's deadline comes first */
	CHECK_DEC(hf_cache_decide(c, e1, T0 + 11000), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, e1, (void *)1, T0 + 11000), 0); /* deadline +1800 */
	conf.client_timeout_ms = 100;
	hf_cache_set_knobs(c, &conf);
	CHECK_DEC(hf_cache_decide(c, e2, T0 + 11010), HF_ACT_WAIT, 1);
	CHECK_EQ(hf_cache_park(c, e2, (void *)2, T0 + 11010), 0); /* deadline +100 */
	hf_cache_expire_waiters(c, T0 + 11110, rec_wake, NULL);
	CHECK_EQ(nwakes, 1);
	CHECK(wakes[0].cookie == (void *)2);
	hf_cache_expire_waiters(c, T0 + 12800, rec_wake, NULL);
	CHECK_EQ(nwakes, 2);
	CHECK(wakes[1].cookie == (void *)1);

	/* a new stale window applies to entries already cached (not failures) */
	conf.stale_window_ms = 5000;
	hf_cache_set_knobs(c, &conf);
	CHECK_EQ(e1->stale_until_ms, T0 + 15000);
	CHECK_EQ(f->stale_until_ms, f->expires_ms);
	CHECK_DEC(hf_cache_decide(c, e2, T0 + 15000), HF_ACT_WAIT, 0); /* refresh out */
	CHECK_EQ(e2->state, HF_ENTRY_PENDING);
	hf_cache_destroy(c);
}

/* Count visits per entry (the fill byte of its answer indexes walk_seen[]). */
static unsigned walk_seen[300];
static void count_visit(void *arg, const struct hf_cache_key *k, struct hf_cache_entry *e)
{
	(void)arg;
	(void)k;
	if (e->state == HF_ENTRY_READY)
		walk_seen[hf_dns_answer_body(hf_entry_ans(e))[20]]++;
	else
		walk_seen[299]++;
}

/* A walk in slices visits every entry once, whatever the budget; a stale
 * window put without a walk reaches entries only through hf_cache_rewindow_step. */
static void test_walk_step(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	struct hf_cache_key k;
	static const uint32_t budgets[] = {1, 7, 1024, UINT32_MAX};

	for (unsigned i = 0; i < 200; i++) {
		mk_keyf(&k, "walk", i);
		/* two sizes: two classes to walk */
		CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 10, i % 2 ? 40 : 600, (uint8_t)i, T0), 0);
	}
	mk_key(&k, "pending.example", HF_TYPE_A, 0);
	CHECK(hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0) != NULL);
	for (unsigned b = 0; b < HF_ARRAY_LEN(budgets); b++) {
		struct hf_cache_walk wk = {0, 0, 0};
		unsigned steps = 0;
		memset(walk_seen, 0, sizeof(walk_seen));
		while (!hf_cache_walk_step(c, &wk, budgets[b], count_visit, NULL))
			steps++;
		CHECK_EQ(walk_seen[299], 1);
		for (unsigned i = 0; i < 200; i++)
			if (walk_seen[i] != 1) {
				CHECK_EQ(walk_seen[i], 1);
				break;
			}
		if (budgets[b] == 1)
			CHECK(steps >= 200); /* one slot a step, the last one returns true */
		if (budgets[b] == UINT32_MAX)
			CHECK_EQ(steps, 0);
	}

	/* put_knobs: the new window is in force for new answers at once, for
	 * cached ones after hf_cache_rewindow_step has walked them */
	mk_keyf(&k, "walk", 3);
	struct hf_cache_entry *e = look(c, &k);
	CHECK_EQ(e->stale_until_ms, T0 + 10000 + base_conf().stale_window_ms);
	conf.stale_window_ms = 7000;
	CHECK(hf_cache_put_knobs(c, &conf));
	CHECK_EQ(e->stale_until_ms, T0 + 10000 + base_conf().stale_window_ms);
	CHECK(!hf_cache_put_knobs(c, &conf)); /* unchanged: nothing to walk */
	{
		struct hf_cache_walk wk = {0, 0, 0};
		while (!hf_cache_rewindow_step(c, &wk, 5))
			;
	}
	CHECK_EQ(e->stale_until_ms, T0 + 17000);
	hf_cache_destroy(c);
}

static void test_stats_and_create(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c;
	struct hf_cache_stats st;
	struct hf_cache_key k;

	conf.memory = 64 * 1024; /* below the minimum: every class needs a few slots */
	CHECK(hf_cache_create("tcache_small", &conf) == NULL);
	conf = base_conf();
	conf.entries = 0;
	CHECK(hf_cache_create("tcache_zero", &conf) == NULL);

	conf = base_conf();
	c = mk_cache(&conf);
	st = stats(c);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.bytes_used, 0);
	CHECK_EQ(st.evictions, 0);
	CHECK_EQ(st.waiters, 0);
	CHECK_EQ(st.park_fails, 0);
	CHECK_EQ(st.alloc_fails, 0);
	mk_key(&k, "s1.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 40, 1, T0), 0);
	mk_key(&k, "s2.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 1500, 1, T0), 0);
	mk_key(&k, "s3.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 10000, 1, T0), 0);
	mk_key(&k, "s4.example", HF_TYPE_A, 0);
	CHECK_EQ(fill(c, &k, HF_ANS_POSITIVE, 60, 30000, 1, T0), 0);
	struct hf_cache_entry *p = hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0);
	CHECK(p == look(c, &k));
	mk_key(&k, "s5.example", HF_TYPE_A, 0);
	p = hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0);
	CHECK_EQ(hf_cache_park(c, p, (void *)1, T0), 0);
	st = stats(c);
	CHECK_EQ(st.entries, 5);
	CHECK_EQ(st.bytes_used, 256 + 2048 + 16384 + 65536 + 4096 + 256);
	CHECK_EQ(st.waiters, 1);
	CHECK(st.bytes_used <= conf.memory);
	hf_cache_flush(c, NULL, 0, false, rec_wake, NULL);
	hf_cache_destroy(c);
}

/* ---- the snapshot (cache/snap.c) ---- */

#define SNAP_U0 INT64_C(1700000000000) /* the Unix time (ms) at T0 */

/* A fill whose answer is what the forwarder stores: qname_len the key's,
 * a security state, an EDE. */
static void snap_fill(struct hf_cache *c, const char *name, uint8_t kind, uint32_t ttl,
		      uint8_t security, uint16_t ede, uint64_t now)
{
	struct hf_cache_key k;
	struct abuf b;
	mk_key(&k, name, HF_TYPE_A, HF_KEY_DO);
	mk_answer(&b, kind, ttl, 40, 7);
	b.a.qname_len = k.name_len;
	b.a.security = security;
	if (ede != HF_EDE_NONE)
		b.a.ede = ede;
	CHECK_EQ(hf_cache_fill(c, &k, hf_cache_key_hash(&k), &b.a, now, rec_wake, NULL), 0);
}

static struct hf_cache_entry *snap_look(struct hf_cache *c, const char *name)
{
	struct hf_cache_key k;
	mk_key(&k, name, HF_TYPE_A, HF_KEY_DO);
	return look(c, &k);
}

/* c's image at now (Unix time unix_ms), walked `budget` slots a step;
 * malloc()ed, its length in *len. */
static uint8_t *snap_image(struct hf_cache *c, uint64_t now, int64_t unix_ms, uint32_t budget,
			   size_t *len)
{
	struct hf_snap_out o;
	memset(&o, 0, sizeof(o));
	o.cap = HF_SNAP_HDR + base_conf().memory;
	o.buf = malloc(o.cap);
	o.len = HF_SNAP_HDR;
	o.ref_ms = now;
	o.ref_unix_ms = unix_ms;
	CHECK(o.buf != NULL);
	while (!hf_cache_snap_step(c, &o, budget, now))
		;
	CHECK(!o.full);
	hf_snap_seal(o.buf, o.len, o.count, unix_ms);
	*len = o.len;
	return o.buf;
}

/* Load a checked image into c: how many records were stored, and the
 * results of the others in out[1] (dropped) and out[2] (already there). */
static unsigned snap_load(struct hf_cache *c, const uint8_t *img, size_t len, uint64_t now,
			  int64_t unix_ms, unsigned *dropped)
{
	char err[256] = "";
	uint64_t n = 0;
	int64_t saved = 0;
	size_t off = HF_SNAP_HDR;
	unsigned stored = 0;

	*dropped = 0;
	CHECK_EQ(hf_snap_check(img, len, &n, &saved, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "hf_snap_check: %s\n", err);
	while (off < len) {
		struct hf_snap_rec r;
		int rc;
		hf_snap_rec_at(img, &off, &r);
		rc = hf_cache_snap_restore(c, &r, now, unix_ms);
		CHECK(rc == 0 || rc == 1);
		stored += rc == 0;
		*dropped += rc == 1;
	}
	CHECK_EQ(off, len);
	CHECK_EQ(stored + *dropped, n);
	return stored;
}

/* The TTL a client gets from e at now (the first TTL field, aged). */
static uint32_t snap_client_ttl(const struct hf_cache_entry *e, uint64_t now)
{
	const struct hf_dns_answer *a = hf_entry_ans(e);
	uint32_t t = hf_get32(hf_dns_answer_body(a) + hf_dns_answer_ttl_offs(a)[0]);
	uint32_t age = (uint32_t)((now - e->inserted_ms) / 1000);
	return t > age ? t - age : 0;
}

/* Save and load, on another clock: fresh data keeps counting down with
 * its security, stale data keeps its stale window and its failed refresh,
 * a failure its EDE until its TTL ends; pending entries and data past its
 * window are not saved. Also after a "reboot" (a clock younger than the
 * entries), and saved again from there. */
static void test_snap_round_trip(void)
{
	struct hf_cache_conf conf = base_conf(); /* stale window 100 s */
	struct hf_cache *c = mk_cache(&conf), *c2, *c3;
	struct hf_cache_entry *e;
	struct hf_cache_key k;
	uint64_t now2 = T0 / 2, now3 = 10000;
	unsigned dropped;
	uint8_t *img, *img3;
	size_t len, len3, off;
	struct hf_snap_rec r;

	snap_fill(c, "fresh.example", HF_ANS_POSITIVE, 300, HF_SECURITY_SECURE, HF_EDE_NONE, T0);
	snap_fill(c, "stale.example", HF_ANS_POSITIVE, 10, HF_SECURITY_INSECURE, HF_EDE_NONE, T0);
	snap_fill(c, "bogus.example", HF_ANS_FAILURE, 60, HF_SECURITY_BOGUS, HF_EDE_DNSSEC_BOGUS,
		  T0);
	snap_fill(c, "gone.example", HF_ANS_POSITIVE, 1, HF_SECURITY_INSECURE, HF_EDE_NONE,
		  T0 - 200000);
	snap_fill(c, "oldfail.example", HF_ANS_FAILURE, 5, HF_SECURITY_INSECURE, HF_EDE_NONE, T0);
	/* a refresh of the stale one failed at T0 + 15 s */
	snap_fill(c, "stale.example", HF_ANS_FAILURE, 5, HF_SECURITY_INSECURE, HF_EDE_NONE,
		  T0 + 15000);
	mk_key(&k, "pending.example", HF_TYPE_A, HF_KEY_DO);
	CHECK(hf_cache_add_pending(c, &k, hf_cache_key_hash(&k), T0) != NULL);

	img = snap_image(c, T0 + 20000, SNAP_U0 + 20000, 3, &len);
	CHECK_EQ(snap_load(c2 = mk_cache(&conf), img, len, now2, SNAP_U0 + 50000, &dropped), 3);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(stats(c2).entries, 3);
	CHECK(snap_look(c2, "gone.example") == NULL);
	CHECK(snap_look(c2, "oldfail.example") == NULL);
	CHECK(snap_look(c2, "pending.example") == NULL);

	e = snap_look(c2, "fresh.example"); /* 50 s after it was filled */
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_EQ(e->inserted_ms, now2 - 50000);
		CHECK_EQ(e->expires_ms, now2 + 250000);
		CHECK_EQ(e->stale_until_ms, now2 + 350000);
		CHECK_EQ(hf_entry_ans(e)->security, HF_SECURITY_SECURE);
		CHECK_EQ(snap_client_ttl(e, now2), 250);
		CHECK_DEC(hf_cache_decide(c2, e, now2), HF_ACT_FRESH, 0);
	}
	e = snap_look(c2, "stale.example"); /* expired 40 s ago, window 100 s */
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_EQ(e->expires_ms, now2 - 40000);
		CHECK_EQ(e->stale_until_ms, now2 + 60000);
		CHECK_EQ(e->refresh_failed_ms, now2 - 35000);
		CHECK_EQ(hf_cache_fallback(c2, e, now2), HF_WAKE_STALE);
		CHECK_DEC(hf_cache_decide(c2, e, now2), HF_ACT_WAIT, 1);
	}
	e = snap_look(c2, "bogus.example");
	CHECK(e != NULL);
	if (e != NULL) {
		const struct hf_dns_answer *a = hf_entry_ans(e);
		CHECK_EQ(e->expires_ms, now2 + 10000);
		CHECK_EQ(e->stale_until_ms, now2 + 10000);
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->ede, HF_EDE_DNSSEC_BOGUS);
		CHECK_EQ(a->security, HF_SECURITY_BOGUS);
		CHECK_EQ(a->ede_text_len, 3);
		CHECK_MEM(hf_dns_answer_ede_text(a), "abc", 3);
		CHECK_DEC(hf_cache_decide(c2, e, now2), HF_ACT_FAILURE, 0);
	}
	/* loaded twice: the keys are there already */
	{
		size_t o2 = HF_SNAP_HDR;
		hf_snap_rec_at(img, &o2, &r);
		CHECK_EQ(hf_cache_snap_restore(c2, &r, now2, SNAP_U0 + 50000), 2);
	}
	hf_cache_destroy(c2);

	/* 200 s after the fill: the stale window and the failure are over */
	CHECK_EQ(snap_load(c2 = mk_cache(&conf), img, len, now2, SNAP_U0 + 200000, &dropped), 1);
	CHECK_EQ(dropped, 2);
	CHECK(snap_look(c2, "fresh.example") != NULL);
	hf_cache_destroy(c2);

	/* a clock 10 s old (a reboot): the entries are older than it */
	CHECK_EQ(snap_load(c3 = mk_cache(&conf), img, len, now3, SNAP_U0 + 50000, &dropped), 3);
	e = snap_look(c3, "fresh.example");
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_EQ(e->inserted_ms, 0);
		CHECK_EQ(e->expires_ms, now3 + 250000);
		CHECK_EQ(hf_entry_ans(e)->ttl, 260);
		CHECK_EQ(snap_client_ttl(e, now3), 250);
		CHECK_EQ(snap_client_ttl(e, now3 + 100000), 150);
	}
	e = snap_look(c3, "stale.example");
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_EQ(e->expires_ms, 0);
		CHECK_EQ(e->stale_until_ms, now3 + 60000);
		CHECK_EQ(hf_cache_fallback(c3, e, now3), HF_WAKE_STALE);
	}
	/* saved from there: the same absolute times as the first image */
	img3 = snap_image(c3, now3, SNAP_U0 + 50000, UINT32_MAX, &len3);
	for (off = HF_SNAP_HDR; off < len3;) {
		size_t o1 = HF_SNAP_HDR;
		struct hf_snap_rec r1;
		hf_snap_rec_at(img3, &off, &r);
		do
			hf_snap_rec_at(img, &o1, &r1);
		while (o1 < len && hf_cache_key_cmp(&r.key, &r1.key) != 0);
		CHECK_EQ(hf_cache_key_cmp(&r.key, &r1.key), 0);
		CHECK_EQ(r.expires_unix_ms, r1.expires_unix_ms);
		/* a failed refresh from before the clock's 0 is not kept */
		CHECK_EQ(r.failed_unix_ms,
			 r1.failed_unix_ms < SNAP_U0 + 40000 ? 0 : r1.failed_unix_ms);
		/* moved by the reboot's shift, with its TTLs (a stale one's are
		 * never served: they end at 0) */
		if (r.ans->ttl != 0)
			CHECK_EQ(r.inserted_unix_ms - r1.inserted_unix_ms,
				 1000 * (int64_t)(r1.ans->ttl - r.ans->ttl));
	}
	free(img3);
	hf_cache_destroy(c3);
	free(img);
	hf_cache_destroy(c);
}

/* A buffer too small for the whole cache: the walk stops at the record
 * that does not fit and goes on from it once there is room; the pieces
 * make the same records as one walk. */
static void test_snap_resume(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	static uint8_t acc[1u << 20];
	size_t alen = 0, len;
	struct hf_snap_out o;
	uint8_t *img;

	for (unsigned i = 0; i < 60; i++) {
		char nm[64];
		snprintf(nm, sizeof(nm), "r%u.example", i);
		snap_fill(c, nm, HF_ANS_POSITIVE, 100 + i, HF_SECURITY_INSECURE, HF_EDE_NONE, T0);
	}
	img = snap_image(c, T0, SNAP_U0, UINT32_MAX, &len);
	memset(&o, 0, sizeof(o));
	o.cap = HF_SNAP_HDR + 150; /* one record of these at a time */
	o.buf = malloc(o.cap);
	o.len = HF_SNAP_HDR;
	o.ref_ms = T0;
	o.ref_unix_ms = SNAP_U0;
	for (unsigned rounds = 0; rounds < 1000; rounds++) {
		bool done = hf_cache_snap_step(c, &o, 5, T0);
		if (o.full || done) {
			CHECK(o.len > HF_SNAP_HDR || done);
			memcpy(acc + alen, o.buf + HF_SNAP_HDR, o.len - HF_SNAP_HDR);
			alen += o.len - HF_SNAP_HDR;
			o.len = HF_SNAP_HDR;
			if (!o.full)
				break;
			o.full = false;
		}
	}
	CHECK_EQ(o.count, 60);
	CHECK_EQ(alen, len - HF_SNAP_HDR);
	CHECK_MEM(acc, img + HF_SNAP_HDR, len - HF_SNAP_HDR);
	free(o.buf);
	free(img);
	hf_cache_destroy(c);
}

static int snap_check_err(const uint8_t *img, size_t len, char *err, size_t errlen)
{
	err[0] = '\0';
	return hf_snap_check(img, len, NULL, NULL, err, errlen);
}

/* Truncated at every byte, a bit flipped in every byte, another version,
 * another byte order, a record that does not hold together: each one
 * refused, with one line naming the problem. */
static void test_snap_corrupt(void)
{
	struct hf_cache_conf conf = base_conf();
	struct hf_cache *c = mk_cache(&conf);
	char err[256];
	size_t len;
	uint8_t *img, *bad;
	uint32_t v;

	snap_fill(c, "a.example", HF_ANS_POSITIVE, 300, HF_SECURITY_SECURE, HF_EDE_NONE, T0);
	snap_fill(c, "b.example", HF_ANS_FAILURE, 60, HF_SECURITY_BOGUS, HF_EDE_DNSSEC_BOGUS, T0);
	img = snap_image(c, T0, SNAP_U0, UINT32_MAX, &len);
	bad = malloc(len);
	CHECK_EQ(snap_check_err(img, len, err, sizeof(err)), 0);

	for (size_t n = 0; n < len; n++) { /* a copy of its own: ASan sees any read past n */
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, img, n);
		CHECK_EQ(snap_check_err(t, n, err, sizeof(err)), HF_EMALFORMED);
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		free(t);
	}
	CHECK_EQ(snap_check_err(img, 20, err, sizeof(err)), HF_EMALFORMED);
	CHECK(strcmp(err, "truncated: 20 bytes, shorter than the 48-byte header") == 0);
	CHECK_EQ(snap_check_err(img, len - 1, err, sizeof(err)), HF_EMALFORMED);
	{
		char want[128];
		snprintf(want, sizeof(want), "truncated: %zu bytes of records, the header says %zu",
			 len - 1 - HF_SNAP_HDR, len - HF_SNAP_HDR);
		CHECK(strcmp(err, want) == 0);
	}
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, img, len);
		bad[i] ^= 0x10;
		CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
	}
	memcpy(bad, img, len);
	bad[HF_SNAP_HDR + 30] ^= 1;
	CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
	CHECK(strncmp(err, "checksum mismatch (CRC32-C of the records ", 42) == 0);
	memcpy(bad, img, len);
	bad[0] = 'X';
	CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
	CHECK(strcmp(err, "not a holdfast cache snapshot (no \"HFCACHE\" at its start)") == 0);

	/* another version, sealed as that version would be */
	memcpy(bad, img, len);
	v = 2;
	memcpy(bad + 8, &v, 4);
	v = hf_crc32c(bad, 44, 0);
	memcpy(bad + 44, &v, 4);
	CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
	CHECK(strcmp(err, "format version 2, this holdfast reads version 1") == 0);
	memcpy(bad, img, len);
	v = 0x04030201;
	memcpy(bad + 12, &v, 4);
	CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
	CHECK(strcmp(err, "written by a machine of another byte order") == 0);

	/* checksums right, a record wrong: a TTL offset past its body, an
	 * upper-case name, a count that does not match */
	{
		size_t off = HF_SNAP_HDR;
		struct hf_snap_rec r;
		uint16_t *offs;
		uint64_t n;
		memcpy(bad, img, len);
		hf_snap_rec_at(bad, &off, &r);
		offs = hf_dns_answer_ttl_offs(r.ans);
		offs[0] = (uint16_t)(r.ans->body_len - 3);
		memcpy(&n, img + 24, 8);
		hf_snap_seal(bad, len, n, SNAP_U0);
		CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
		CHECK(strcmp(err, "record 0 at byte 48: a TTL offset is outside its answer") == 0);
		memcpy(bad, img, len);
		bad[HF_SNAP_HDR + HF_SNAP_REC_HDR + HF_CACHE_KEY_HDR + 1] = 'A';
		hf_snap_seal(bad, len, n, SNAP_U0);
		CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
		CHECK(strcmp(err, "record 0 at byte 48: its name is not a lower-case wire name") ==
		      0);
		memcpy(bad, img, len);
		memcpy(bad + HF_SNAP_HDR + 8, &(int64_t){INT64_MIN + 5}, 8);
		hf_snap_seal(bad, len, n, SNAP_U0);
		CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
		CHECK(strcmp(err, "record 0 at byte 48: a time is out of range") == 0);
		memcpy(bad, img, len);
		hf_snap_seal(bad, len, n + 1, SNAP_U0);
		CHECK_EQ(snap_check_err(bad, len, err, sizeof(err)), HF_EMALFORMED);
		CHECK(strcmp(err, "2 records, the header says 3") == 0);
	}
	free(bad);
	free(img);
	hf_cache_destroy(c);
}

int main(int argc, char **argv)
{
	if (hf_test_eal_init(argc > 0 ? argv[0] : "test_cache", "cache") != 0)
		return 1;
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_key_hash_cmp),
		TEST_CASE(test_key_hash_parts),
		TEST_CASE(test_table_collisions),
		TEST_CASE(test_miss_then_fill),
		TEST_CASE(test_stale_wait_refresh),
		TEST_CASE(test_stale_at_once),
		TEST_CASE(test_failed_refresh),
		TEST_CASE(test_past_stale_window),
		TEST_CASE(test_failure_cached),
		TEST_CASE(test_failure_onto_fresh),
		TEST_CASE(test_nxdomain_stale),
		TEST_CASE(test_miss_timeout),
		TEST_CASE(test_waiter_limits),
		TEST_CASE(test_eviction_clock),
		TEST_CASE(test_hash_full),
		TEST_CASE(test_refill_moves_class),
		TEST_CASE(test_flush_modes),
		TEST_CASE(test_subtree_events),
		TEST_CASE(test_flush),
		TEST_CASE(test_bulk_lookup),
		TEST_CASE(test_knobs),
		TEST_CASE(test_stats_and_create),
		TEST_CASE(test_walk_step),
		TEST_CASE(test_entry_has_key),
		TEST_CASE(test_prefetch),
		TEST_CASE(test_ttl0_refill),
		TEST_CASE(test_snap_round_trip),
		TEST_CASE(test_snap_resume),
		TEST_CASE(test_snap_corrupt),
		TEST_CASE(test_wake_every),
	};
	int rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	rte_eal_cleanup();
	return rc;
}
