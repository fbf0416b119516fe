/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The key cache: a fixed array of entries (name, kind) with a chained hash
 * index and an LRU list, all preallocated. Control thread only (see
 * hf_validator.h). A lookup is one FNV-1a hash of the name and a short
 * chain walk.
 */
#include <stdlib.h>
#include <string.h>

#include "validator/val_internal.h"

static uint32_t name_hash(const uint8_t *name, size_t len, uint8_t kind)
{
	uint32_t h = 2166136261u ^ kind;

	for (size_t i = 0; i < len; i++) {
		h ^= hf_dns_lower[name[i]];
		h *= 16777619u;
	}
	return h;
}

static void entry_clear(struct val_entry *e)
{
	if (e->kind == VAL_KIND_KEY)
		for (unsigned i = 0; i < e->n && i < VAL_MAX_KEYS; i++)
			EVP_PKEY_free(e->u.keys[i].pkey);
	e->n = 0;
}

int val_cache_init(struct val_cache *c, uint32_t cap)
{
	memset(c, 0, sizeof(*c));
	if (cap < 8)
		cap = 8;
	c->cap = cap;
	c->nbuckets = 16;
	while (c->nbuckets < 2 * cap)
		c->nbuckets <<= 1;
	c->buckets = malloc(sizeof(*c->buckets) * c->nbuckets);
	c->e = calloc(cap, sizeof(*c->e));
	if (!c->buckets || !c->e) {
		val_cache_free(c);
		return hf_error(HF_ENOMEM);
	}
	val_cache_flush(c);
	return 0;
}

void val_cache_free(struct val_cache *c)
{
	if (c->e)
		for (uint32_t i = 0; i < c->cap; i++)
			if (c->e[i].used)
				entry_clear(&c->e[i]);
	free(c->buckets);
	free(c->e);
	memset(c, 0, sizeof(*c));
}

void val_cache_flush(struct val_cache *c)
{
	for (uint32_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = -1;
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
	int32_t *pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp >= 0 && *pp != i)
		pp = &c->e[*pp].hnext;
	if (*pp == i)
		*pp = e->hnext;
	lru_unlink(c, i);
	entry_clear(e);
	e->used = false;
	e->next = c->free_head;
	c->free_head = i;
	c->count--;
}

static int32_t lookup(struct val_cache *c, const uint8_t *name, size_t len, uint8_t kind,
		      uint32_t h)
{
	for (int32_t i = c->buckets[h & (c->nbuckets - 1)]; i >= 0; i = c->e[i].hnext) {
		struct val_entry *e = &c->e[i];
		if (e->hash == h && e->kind == kind && e->name_len == len &&
		    hf_dns_name_equal(e->name, len, name, len))
			return i;
	}
	return -1;
}

struct val_entry *val_cache_get(struct val_cache *c, const uint8_t *name, size_t len, uint8_t kind,
				uint64_t now)
{
	uint32_t h = name_hash(name, len, kind);
	int32_t i = lookup(c, name, len, kind, h);

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
	uint32_t h = name_hash(name, len, kind);
	int32_t i = lookup(c, name, len, kind, h);
	struct val_entry *e;

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
	memcpy(e->name, name, len);
	hf_dns_name_lower(e->name, len);
	e->name_len = (uint8_t)len;
	e->kind = kind;
	e->hash = h;
	e->ede = HF_EDE_NONE;
	e->hnext = c->buckets[h & (c->nbuckets - 1)];
	c->buckets[h & (c->nbuckets - 1)] = i;
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
