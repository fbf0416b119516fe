/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: the hash table (buckets of 7 tagged words, linear
 * probing with overflow counts; cache_internal.h) and the lookups.
 */

#include "cache/cache_internal.h"

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
void hf_tbl_add(struct hf_cache *c, struct hf_cache_entry *e, uint32_t hash)
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
uint64_t *hf_tbl_word(struct hf_cache *c, const struct hf_cache_entry *e, uint32_t hash,
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

void hf_tbl_del(struct hf_cache *c, const struct hf_cache_entry *e, uint32_t hash)
{
	uint32_t b = 0;
	uint64_t *w = hf_tbl_word(c, e, hash, &b);
	if (w == NULL)
		return;
	*w = 0;
	for (uint32_t p = hf_home(c, hash); p != b; p = hf_next(c, p))
		c->tbl[p].ovf--;
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
