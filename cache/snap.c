/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: the cache snapshot (cache/hf_snap.h has the format):
 * a cache written into an image a walk slice at a time, an image checked,
 * and its records put back into a cache with their absolute times.
 */
#include <stdio.h>

#include "cache/cache_internal.h"
#include "cache/hf_snap.h"

_Static_assert(sizeof(struct hf_dns_answer) == 24 && HF_SNAP_REC_HDR % 4 == 0,
	       "a change of the stored answer changes the snapshot format: bump HF_SNAP_VERSION");

/* Times beyond some 35,000 years either way are not times. */
#define HF_SNAP_TIME_MAX (INT64_C(1) << 50)

#define ROUND4(x) (((x) + 3u) & ~(size_t)3u)
#define ROUND8(x) (((x) + 7u) & ~(size_t)7u)

/* Where a record's answer starts, and its whole size. */
static inline size_t rec_ans_off(size_t name_len)
{
	return ROUND4(HF_SNAP_REC_HDR + HF_CACHE_KEY_HDR + name_len);
}
static inline size_t rec_size(size_t name_len, size_t asz)
{
	return ROUND8(rec_ans_off(name_len) + asz);
}
_Static_assert(HF_SNAP_REC_HDR + 7 <= offsetof(struct hf_cache_entry, key),
	       "a record is never larger than its entry's slot");

static inline void put64(uint8_t *p, int64_t v)
{
	memcpy(p, &v, 8);
}
static inline int64_t get64(const uint8_t *p)
{
	int64_t v;
	memcpy(&v, p, 8);
	return v;
}
static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* ---- writing ---- */

struct snap_walk {
	struct hf_snap_out *o;
	const struct hf_cache *c;
	uint64_t now_ms;
	struct hf_cache_walk resume; /* where the record that did not fit is */
};

/* A time of the cache's clock as Unix ms. */
static inline int64_t to_unix(const struct hf_snap_out *o, uint64_t t)
{
	return o->ref_unix_ms + ((int64_t)t - (int64_t)o->ref_ms);
}

static void snap_visit(void *arg, const struct hf_cache_key *k, struct hf_cache_entry *e)
{
	struct snap_walk *sw = arg;
	struct hf_snap_out *o = sw->o;
	const struct hf_dns_answer *a;
	size_t asz, need, aoff;
	uint8_t *p;
	int64_t expires;
	uint32_t asz32;

	if (o->full || e->state != HF_ENTRY_READY)
		return;
	a = hf_entry_ans(e);
	if (a->kind == HF_ANS_FAILURE ? sw->now_ms >= e->expires_ms
				      : sw->now_ms >= e->stale_until_ms)
		return; /* nothing to serve any more */
	asz = hf_dns_answer_size(a);
	aoff = rec_ans_off(k->name_len);
	need = rec_size(k->name_len, asz);
	if (need > o->cap - o->len) {
		o->full = true;
		sw->resume = o->wk; /* the slot being visited */
		return;
	}
	/* data: the expiry the stale window counts from (an entry loaded
	 * after a reboot may hold expires_ms 0 for an older expiry) */
	expires = a->kind == HF_ANS_FAILURE
			  ? to_unix(o, e->expires_ms)
			  : to_unix(o, e->stale_until_ms) - (int64_t)sw->c->conf.stale_window_ms;
	p = o->buf + o->len;
	put64(p, to_unix(o, e->inserted_ms));
	put64(p + 8, expires);
	put64(p + 16, e->refresh_failed_ms ? to_unix(o, e->refresh_failed_ms) : 0);
	asz32 = (uint32_t)asz;
	memcpy(p + 24, &asz32, 4);
	memcpy(p + HF_SNAP_REC_HDR, k, HF_CACHE_KEY_HDR + (size_t)k->name_len);
	memset(p + HF_SNAP_REC_HDR + HF_CACHE_KEY_HDR + k->name_len, 0,
	       aoff - HF_SNAP_REC_HDR - HF_CACHE_KEY_HDR - k->name_len);
	memcpy(p + aoff, a, asz);
	memset(p + aoff + asz, 0, need - aoff - asz);
	o->len += need;
	o->count++;
}

bool hf_cache_snap_step(struct hf_cache *c, struct hf_snap_out *o, uint32_t budget, uint64_t now_ms)
{
	struct snap_walk sw = {o, c, now_ms, {0, 0, 0}};
	bool done;

	if (o->full)
		return true;
	done = hf_cache_walk_step(c, &o->wk, budget, snap_visit, &sw);
	if (o->full) {
		o->wk = sw.resume;
		return true;
	}
	return done;
}

void hf_snap_seal(uint8_t *buf, size_t len, uint64_t count, int64_t saved_unix_ms)
{
	uint64_t body = len - HF_SNAP_HDR;
	uint32_t v = HF_SNAP_VERSION, bom = HF_SNAP_BOM, crc;

	memcpy(buf, HF_SNAP_MAGIC, 8); /* its NUL included */
	memcpy(buf + 8, &v, 4);
	memcpy(buf + 12, &bom, 4);
	put64(buf + 16, saved_unix_ms);
	memcpy(buf + 24, &count, 8);
	memcpy(buf + 32, &body, 8);
	crc = hf_crc32c(buf + HF_SNAP_HDR, body, 0);
	memcpy(buf + 40, &crc, 4);
	crc = hf_crc32c(buf, 44, 0);
	memcpy(buf + 44, &crc, 4);
}

/* ---- reading ---- */

void hf_snap_rec_at(const uint8_t *buf, size_t *off, struct hf_snap_rec *r)
{
	const uint8_t *p = buf + *off;
	size_t nl = p[HF_SNAP_REC_HDR];

	r->inserted_unix_ms = get64(p);
	r->expires_unix_ms = get64(p + 8);
	r->failed_unix_ms = get64(p + 16);
	r->ans_size = get32(p + 24);
	memcpy(&r->key, p + HF_SNAP_REC_HDR, HF_CACHE_KEY_HDR + nl);
	r->ans = (const struct hf_dns_answer *)(const void *)(p + rec_ans_off(nl));
	*off += rec_size(nl, r->ans_size);
}

/* A lower-case wire name of exactly len bytes (labels of 1..63, the root last). */
static bool wire_name_ok(const uint8_t *n, size_t len)
{
	size_t i = 0;
	while (i < len && n[i] != 0) {
		if (n[i] > HF_DNS_LABEL_MAX)
			return false;
		for (size_t j = i + 1; j <= i + n[i] && j < len; j++)
			if (n[j] >= 'A' && n[j] <= 'Z')
				return false;
		i += 1u + n[i];
	}
	return i + 1 == len;
}

/* The record at buf[off], less than `left` bytes: what is wrong with it, or NULL. */
static const char *rec_problem(const uint8_t *buf, size_t off, size_t left)
{
	const uint8_t *p = buf + off;
	struct hf_dns_answer a;
	size_t nl, aoff, asz;
	const uint16_t *ttl_offs;

	if (left < HF_SNAP_REC_HDR + HF_CACHE_KEY_HDR + 1)
		return "shorter than a record";
	nl = p[HF_SNAP_REC_HDR];
	asz = get32(p + 24);
	aoff = rec_ans_off(nl);
	if (asz < sizeof(a) || rec_size(nl, asz) > left)
		return "it runs past the records";
	for (unsigned i = 0; i < 3; i++) /* so that no sum with them overflows */
		if (get64(p + 8 * i) > HF_SNAP_TIME_MAX || get64(p + 8 * i) < -HF_SNAP_TIME_MAX)
			return "a time is out of range";
	if (nl == 0 || !wire_name_ok(p + HF_SNAP_REC_HDR + HF_CACHE_KEY_HDR, nl))
		return "its name is not a lower-case wire name";
	if ((p[HF_SNAP_REC_HDR + 1] & ~(HF_KEY_DO | HF_KEY_CD)) != 0)
		return "its key has unknown flags";
	memcpy(&a, p + aoff, sizeof(a));
	if (hf_dns_answer_size(&a) != asz)
		return "its answer's sizes do not add up";
	if (a.kind > HF_ANS_FAILURE || a.security > HF_SECURITY_INDETERMINATE || a.qname_len != nl)
		return "its answer's header is not one holdfast writes";
	ttl_offs = (const uint16_t *)(const void *)(p + aoff + sizeof(a));
	for (unsigned i = 0; i < a.nttl; i++)
		if ((size_t)ttl_offs[i] + 4 > a.body_len)
			return "a TTL offset is outside its answer";
	return NULL;
}

int hf_snap_check(const uint8_t *buf, size_t len, uint64_t *count, int64_t *saved_unix_ms,
		  char *err, size_t errlen)
{
	uint32_t v, bom, crc;
	uint64_t n, body, seen = 0;
	size_t off;

	if (len < 8 || memcmp(buf, HF_SNAP_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a holdfast cache snapshot (no \"%s\" at its start)",
			 HF_SNAP_MAGIC);
		return hf_error(HF_EMALFORMED);
	}
	if (len < HF_SNAP_HDR) {
		snprintf(err, errlen, "truncated: %zu bytes, shorter than the %u-byte header", len,
			 HF_SNAP_HDR);
		return hf_error(HF_EMALFORMED);
	}
	v = get32(buf + 8);
	bom = get32(buf + 12);
	if (bom != HF_SNAP_BOM) {
		snprintf(err, errlen, "written by a machine of another byte order");
		return hf_error(HF_EMALFORMED);
	}
	if (v != HF_SNAP_VERSION) {
		snprintf(err, errlen, "format version %u, this holdfast reads version %u", v,
			 HF_SNAP_VERSION);
		return hf_error(HF_EMALFORMED);
	}
	if (get32(buf + 44) != hf_crc32c(buf, 44, 0)) {
		snprintf(err, errlen, "header checksum mismatch");
		return hf_error(HF_EMALFORMED);
	}
	memcpy(&n, buf + 24, 8);
	memcpy(&body, buf + 32, 8);
	if (body != len - HF_SNAP_HDR) {
		snprintf(err, errlen, "%s: %zu bytes of records, the header says %llu",
			 body > len - HF_SNAP_HDR ? "truncated" : "trailing bytes",
			 len - HF_SNAP_HDR, (unsigned long long)body);
		return hf_error(HF_EMALFORMED);
	}
	crc = hf_crc32c(buf + HF_SNAP_HDR, body, 0);
	if (crc != get32(buf + 40)) {
		snprintf(err, errlen,
			 "checksum mismatch (CRC32-C of the records %08x, header %08x)", crc,
			 get32(buf + 40));
		return hf_error(HF_EMALFORMED);
	}
	for (off = HF_SNAP_HDR; off < len; seen++) {
		struct hf_snap_rec r;
		const char *why = rec_problem(buf, off, len - off);
		if (why != NULL) {
			snprintf(err, errlen, "record %llu at byte %zu: %s",
				 (unsigned long long)seen, off, why);
			return hf_error(HF_EMALFORMED);
		}
		hf_snap_rec_at(buf, &off, &r);
	}
	if (seen != n) {
		snprintf(err, errlen, "%llu records, the header says %llu",
			 (unsigned long long)seen, (unsigned long long)n);
		return hf_error(HF_EMALFORMED);
	}
	if (count != NULL)
		*count = n;
	if (saved_unix_ms != NULL)
		*saved_unix_ms = get64(buf + 16);
	return 0;
}

/* ---- loading ---- */

int hf_cache_snap_restore(struct hf_cache *c, const struct hf_snap_rec *r, uint64_t now_ms,
			  int64_t now_unix_ms)
{
	const struct hf_dns_answer *a = r->ans;
	bool failure = a->kind == HF_ANS_FAILURE;
	int64_t now = (int64_t)now_ms, ins, exp, until, shift = 0;
	uint32_t hash, ttl = a->ttl;
	struct hf_cache_entry *e;
	struct hf_dns_answer *sa;
	int ci;

	/* on this cache's clock; an insertion time in the future (the wall
	 * clock went back) counts as now */
	exp = now + (r->expires_unix_ms - now_unix_ms);
	ins = now - HF_MAX(now_unix_ms - r->inserted_unix_ms, 0);
	until = exp + (failure ? 0 : (int64_t)c->conf.stale_window_ms);
	if (until <= now)
		return 1;
	hash = hf_cache_key_hash(&r->key);
	if (hf_cache_lookup(c, &r->key, hash) != NULL)
		return 2;
	ci = hf_class_for(HF_ENTRY_NEED(r->key.name_len, r->ans_size));
	if (ci < 0) {
		c->alloc_fails++;
		return hf_error(HF_ENOMEM);
	}
	e = hf_insert(c, &r->key, hash, ci);
	if (e == NULL)
		return hf_error(HF_ENOMEM);
	sa = hf_entry_ans(e);
	memcpy(sa, a, r->ans_size);
	/* Inserted before this clock's 0 (a clock that counts from boot, a
	 * restart after a reboot): the stored TTLs lose whole seconds and the
	 * entry counts as inserted that much later, so a client still gets
	 * the TTL left (original - age). */
	if (ins < 0) {
		uint8_t *body = hf_dns_answer_body(sa);
		const uint16_t *offs = hf_dns_answer_ttl_offs(sa);
		shift = (-ins + 999) / 1000;
		ins += shift * 1000;
		for (unsigned i = 0; i < sa->nttl; i++) {
			uint32_t t = hf_get32(body + offs[i]);
			hf_put32(body + offs[i], t > shift ? t - (uint32_t)shift : 0);
		}
		sa->ttl = ttl > shift ? ttl - (uint32_t)shift : 0;
	}
	e->state = HF_ENTRY_READY;
	e->gen = c->gen;
	e->inserted_ms = (uint64_t)ins;
	e->expires_ms = exp > 0 ? (uint64_t)exp : 0; /* stale: how long ago no longer matters */
	e->stale_until_ms = (uint64_t)until;
	e->refresh_failed_ms = 0;
	if (r->failed_unix_ms != 0 && now - (now_unix_ms - r->failed_unix_ms) > 0)
		e->refresh_failed_ms = (uint64_t)(now - (now_unix_ms - r->failed_unix_ms));
	e->refresh_pending = 0;
	e->refresh_at_ms = e->expires_ms;
	if (!failure && c->conf.prefetch_pct != 0) {
		uint64_t ahead = (uint64_t)ttl * 10u * c->conf.prefetch_pct;
		e->refresh_at_ms = e->expires_ms > ahead ? e->expires_ms - ahead : 0;
	}
	return 0;
}
