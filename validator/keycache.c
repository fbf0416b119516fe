/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The key cache: a fixed array of entries (name, kind) with an LRU list,
 * all preallocated, and DPDK's rte_hash as the index from (kind, lower-case
 * name) to an entry. Control thread only (see hf_validator.h), so the
 * rte_hash is made without multi-writer or read/write-concurrency flags:
 * no locks, no atomics. The LRU order and eviction are ours; the rte_hash
 * never holds more than cap keys. It is sized for 2 * cap (at full load
 * every insert would search cuckoo paths: 1.2 us instead of 0.2 us), and
 * its extendable bucket table (RTE_HASH_EXTRA_FLAGS_EXT_TABLE) makes sure
 * an insert below cap never fails (without it one failed at 999 of 1000).
 *
 * The rte_hash key is fixed-size (struct kc_key, 257 bytes); its hash and
 * compare functions read only the kind, the length and the name's bytes,
 * so a look-up costs a CRC32-C over the name and one short compare.
 * Needs a running EAL (rte_hash lives in EAL memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "common/hf_log.h"
#include "validator/val_internal.h"

struct kc_key {
	uint8_t kind;
	uint8_t len;
	uint8_t name[HF_DNS_NAME_MAX]; /* lower case; the bytes after len are not read */
};

static uint32_t kc_hash(const void *key, uint32_t key_len, uint32_t init)
{
	const struct kc_key *k = key;

	(void)key_len;
	return rte_hash_crc(k, 2u + k->len, init);
}

static int kc_cmp(const void *a, const void *b, size_t key_len)
{
	const struct kc_key *x = a, *y = b;

	(void)key_len;
	if (x->kind != y->kind || x->len != y->len)
		return 1;
	return memcmp(x->name, y->name, x->len);
}

static void kc_key_make(struct kc_key *k, const uint8_t *name, size_t len, uint8_t kind)
{
	k->kind = kind;
	k->len = (uint8_t)len;
	memcpy(k->name, name, len);
	hf_dns_name_lower(k->name, len);
}

static void entry_clear(struct val_entry *e)
{
	if (e->kind == VAL_KIND_KEY)
		for (unsigned i = 0; i < e->n && i < VAL_MAX_KEYS; i++)
			val_key_free(&e->u.keys[i]);
	e->n = 0;
}

int val_cache_init(struct val_cache *c, uint32_t cap)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.key_len = sizeof(struct kc_key),
		.hash_func = kc_hash,
		.hash_func_init_val = 0,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	memset(c, 0, sizeof(*c));
	if (cap < 8)
		cap = 8;
	c->cap = cap;
	/* headroom: at a full table every insert would search cuckoo paths
	 * (and end in the extendable buckets); at half load it rarely does */
	p.entries = 2 * cap;
	/* rte_hash names are process-wide: this cache's address is unique */
	snprintf(name, sizeof(name), "hf_vkc_%p", (void *)c);
	c->e = calloc(cap, sizeof(*c->e));
	c->h = c->e ? rte_hash_create(&p) : NULL;
	if (!c->h) {
		val_cache_free(c);
		return hf_error(HF_ENOMEM);
	}
	rte_hash_set_cmp_func(c->h, kc_cmp);
	val_cache_flush(c);
	return 0;
}

void val_cache_free(struct val_cache *c)
{
	if (c->e)
		for (uint32_t i = 0; i < c->cap; i++)
			if (c->e[i].used)
				entry_clear(&c->e[i]);
	rte_hash_free(c->h);
	free(c->e);
	memset(c, 0, sizeof(*c));
}

void val_cache_flush(struct val_cache *c)
{
	rte_hash_reset(c->h);
	for (uint32_t i = 0; i < c->cap; i++) {
		struct val_entry *e = &c->e[i];
		if (e->used)
			entry_clear(e);
		e->used = false;
		e->next = (i + 1 < c->cap) ? (int32_t)(i + 1) : -1;
	}
	c->free_head = 0;
	c->lru_head = c->lru_tail = -1;
	c->count = 0;
}

static void lru_unlink(struct val_cache *c, int32_t i)
{
	struct val_entry *e = &c->e[i];

	if (e->prev >= 0)
		c->e[e->prev].next = e->next;
	else
		c->lru_head = e->next;
	if (e->next >= 0)
		c->e[e->next].prev = e->prev;
	else
		c->lru_tail = e->prev;
}

static void lru_push(struct val_cache *c, int32_t i)
{
	struct val_entry *e = &c->e[i];

	e->prev = -1;
	e->next = c->lru_head;
	if (c->lru_head >= 0)
		c->e[c->lru_head].prev = i;
	c->lru_head = i;
	if (c->lru_tail < 0)
		c->lru_tail = i;
}

static void entry_remove(struct val_cache *c, int32_t i)
{
	struct val_entry *e = &c->e[i];
	struct kc_key k;

	kc_key_make(&k, e->name, e->name_len, e->kind);
	rte_hash_del_key_with_hash(c->h, &k, e->hash);
	lru_unlink(c, i);
	entry_clear(e);
	e->used = false;
	e->next = c->free_head;
	c->free_head = i;
	c->count--;
}

static int32_t lookup(struct val_cache *c, const struct kc_key *k, uint32_t h)
{
	void *data;

	if (rte_hash_lookup_with_hash_data(c->h, k, h, &data) < 0)
		return -1;
	return (int32_t)(uintptr_t)data;
}

struct val_entry *val_cache_get(struct val_cache *c, const uint8_t *name, size_t len, uint8_t kind,
				uint64_t now)
{
	struct kc_key k;
	uint32_t h;
	int32_t i;

	kc_key_make(&k, name, len, kind);
	h = rte_hash_hash(c->h, &k);
	i = lookup(c, &k, h);
	if (i < 0) {
		c->misses++;
		return NULL;
	}
	if (c->e[i].expires <= now) {
		entry_remove(c, i);
		c->misses++;
		return NULL;
	}
	c->hits++;
	lru_unlink(c, i);
	lru_push(c, i);
	return &c->e[i];
}

struct val_entry *val_cache_put(struct val_cache *c, const uint8_t *name, size_t len, uint8_t kind)
{
	struct kc_key k;
	struct val_entry *e;
	uint32_t h;
	int32_t i;
	int rc;

	memset(&k, 0, sizeof(k)); /* the rte_hash copies all of it */
	kc_key_make(&k, name, len, kind);
	h = rte_hash_hash(c->h, &k);
	i = lookup(c, &k, h);
	if (i >= 0)
		entry_remove(c, i);
	if (c->free_head < 0) {
		entry_remove(c, c->lru_tail);
		c->evictions++;
	}
	i = c->free_head;
	e = &c->e[i];
	c->free_head = e->next;
	memset(e, 0, sizeof(*e));
	e->used = true;
	memcpy(e->name, k.name, len);
	e->name_len = (uint8_t)len;
	e->kind = kind;
	e->hash = h;
	e->ede = HF_EDE_NONE;
	/* below cap keys, with the extendable table: cannot fail */
	rc = rte_hash_add_key_with_hash_data(c->h, &k, h, (void *)(uintptr_t)i);
	if (rc < 0) {
		hf_log(HF_LOG_ERR, "validator: key cache insert failed at %u of %u entries: %s",
		       c->count, c->cap, rte_strerror(-rc));
		abort();
	}
	lru_push(c, i);
	c->count++;
	return e;
}

void val_cache_flush_below(struct val_cache *c, const uint8_t *name, size_t len)
{
	for (uint32_t i = 0; i < c->cap; i++) {
		struct val_entry *e = &c->e[i];
		if (e->used && hf_dns_name_is_sub(e->name, e->name_len, name, len))
			entry_remove(c, (int32_t)i);
	}
}
