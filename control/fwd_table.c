/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the forwarder's resolutions in flight, by key, in
 * DPDK's rte_hash (the card's table; the workers have their own for the
 * reasons in docs/decisions.md, none of which apply to one control thread
 * doing a few lookups per resolution).
 *
 * rte_hash compares whole keys byte for byte, and a key from a worker
 * carries whatever its name buffer held past name_len, so every key is
 * copied into a zeroed one first. The hash is the cache key's own (CRC32-C,
 * computed by the worker), given to rte_hash as the signature. The
 * extendable bucket table makes an insert below the table's size never
 * fail. Control thread only: no concurrency flags.
 *
 * The zones (fetches-per-zone) are a second rte_hash of the same kind,
 * keyed by a zone's name (zero-padded, so equal names are equal keys);
 * its position for a key indexes zone_count[]. An entry lives while the
 * zone has a resolution in flight: at most one per resolution, so a table
 * as large as the in-flight one never fills. A resolution keeps its
 * zone's position, and the release deletes the name stored there: what
 * is known of the zone cuts may change meanwhile, the count never leaks.
 *
 * Which zone a question counts against: the deepest zone cut known above
 * it (or at it), a third rte_hash of the SOA owners of negative answers
 * (HF_FWD_CUTS_MAX, the oldest forgotten first); else, with nothing
 * known, its name less the first label (docs/config.md, fetches-per-zone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "control/fwd_internal.h"

static void key_norm(struct hf_cache_key *out, const struct hf_cache_key *in)
{
	memset(out, 0, sizeof(*out));
	out->name_len = in->name_len;
	out->flags = in->flags;
	out->qtype = in->qtype;
	out->qclass = in->qclass;
	memcpy(out->name, in->name, HF_MIN((size_t)in->name_len, sizeof(out->name)));
}

/* A control-thread rte_hash of entries keys of key_len bytes (CRC hash,
 * extendable buckets); NULL with err set. */
static struct rte_hash *hash_create(const char *what, uint32_t entries, uint32_t key_len, char *err,
				    size_t errlen)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = HF_MAX(entries, 8u),
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	static unsigned seq;
	struct rte_hash *h;

	snprintf(name, sizeof(name), "hf_fwd_%d_%u", (int)getpid(), seq++);
	h = rte_hash_create(&p);
	if (h == NULL)
		snprintf(err, errlen, "control: %s of %u: %s (raise -m)", what, p.entries,
			 rte_strerror(rte_errno));
	return h;
}

int hf_fwd_table_init(struct hf_fwd *f, uint32_t entries, char *err, size_t errlen)
{
	f->table =
		hash_create("in-flight table", entries, sizeof(struct hf_cache_key), err, errlen);
	return f->table != NULL ? 0 : hf_error(HF_ENOMEM);
}

struct hf_fwd_query *hf_fwd_table_find(struct hf_fwd *f, const struct hf_cache_key *key,
				       uint32_t hash)
{
	struct hf_cache_key k;
	void *data;

	key_norm(&k, key);
	if (rte_hash_lookup_with_hash_data(f->table, &k, hash, &data) < 0)
		return NULL;
	return data;
}

int hf_fwd_table_insert(struct hf_fwd *f, struct hf_fwd_query *q)
{
	struct hf_cache_key k;

	key_norm(&k, &q->key);
	if (rte_hash_add_key_with_hash_data(f->table, &k, q->hash, q) != 0)
		return hf_error(HF_EFULL);
	f->inflight++;
	return 0;
}

void hf_fwd_table_remove(struct hf_fwd *f, struct hf_fwd_query *q)
{
	struct hf_cache_key k;

	key_norm(&k, &q->key);
	if (rte_hash_del_key_with_hash(f->table, &k, q->hash) >= 0)
		f->inflight--;
	hf_fwd_zone_release(f, q->zone_pos);
	q->zone_pos = -1;
}

/* A zone's name as the zones and cuts tables key it. */
struct zone_key {
	uint8_t len;
	uint8_t name[HF_DNS_NAME_MAX];
};

int hf_fwd_zones_init(struct hf_fwd *f, uint32_t entries, char *err, size_t errlen)
{
	f->zones = hash_create("zone table", entries, sizeof(struct zone_key), err, errlen);
	if (f->zones == NULL)
		return hf_error(HF_ENOMEM);
	f->cuts = hash_create("zone cuts", HF_FWD_CUTS_MAX, sizeof(struct zone_key), err, errlen);
	if (f->cuts == NULL) {
		hf_fwd_zones_fini(f);
		return hf_error(HF_ENOMEM);
	}
	f->zone_count = calloc((size_t)rte_hash_max_key_id(f->zones) + 1, sizeof(*f->zone_count));
	f->cut_fifo = calloc(HF_FWD_CUTS_MAX, sizeof(struct zone_key));
	if (f->zone_count == NULL || f->cut_fifo == NULL) {
		snprintf(err, errlen, "control: zone table: out of memory");
		hf_fwd_zones_fini(f);
		return hf_error(HF_ENOMEM);
	}
	return 0;
}

void hf_fwd_zones_fini(struct hf_fwd *f)
{
	rte_hash_free(f->zones); /* NULL: nothing */
	f->zones = NULL;
	rte_hash_free(f->cuts);
	f->cuts = NULL;
	free(f->zone_count);
	f->zone_count = NULL;
	free(f->cut_fifo);
	f->cut_fifo = NULL;
	f->cut_n = f->cut_next = 0;
}

static void zone_key_set(struct zone_key *k, const uint8_t *name, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->len = (uint8_t)len;
	memcpy(k->name, name, HF_MIN(len, sizeof(k->name)));
}

/* The root and the top-level domains are never a learnt cut: a forwarder
 * sees few of the delegations below them, and every name under one whose
 * own cut is not known would count against it. */
static bool cut_usable(const uint8_t *name, size_t len)
{
	return hf_dns_name_labels(name, len) >= 2;
}

size_t hf_fwd_zone_of(const struct hf_fwd *f, const struct hf_cache_key *key)
{
	struct zone_key k;
	size_t off = 0;

	/* a DS set is the parent's: the name itself is never its zone */
	if (key->qtype == HF_TYPE_DS && key->name_len > 1)
		off = (size_t)key->name[0] + 1;
	if (f->cuts != NULL && f->cut_n != 0)
		for (; off < key->name_len && key->name[off] != 0;
		     off += (size_t)key->name[off] + 1) {
			if (!cut_usable(key->name + off, key->name_len - off))
				break;
			zone_key_set(&k, key->name + off, key->name_len - off);
			if (rte_hash_lookup(f->cuts, &k) >= 0)
				return off;
		}
	/* nothing known: the name less its first label; the root, and a
	 * name whose first label is all of it, are their own zone: "." */
	if (key->name_len <= 1 || (size_t)key->name[0] + 1 >= key->name_len)
		return key->name_len ? key->name_len - 1u : 0;
	return (size_t)key->name[0] + 1;
}

void hf_fwd_cut_add(struct hf_fwd *f, const uint8_t *name, size_t len)
{
	struct zone_key *k, nk;

	if (f->cuts == NULL || len > HF_DNS_NAME_MAX || !cut_usable(name, len))
		return;
	zone_key_set(&nk, name, len);
	hf_dns_name_lower(nk.name, len);
	if (rte_hash_lookup(f->cuts, &nk) >= 0)
		return;
	k = &((struct zone_key *)f->cut_fifo)[f->cut_next];
	if (f->cut_n == HF_FWD_CUTS_MAX) /* full: the oldest goes */
		rte_hash_del_key(f->cuts, k);
	else
		f->cut_n++;
	*k = nk;
	if (rte_hash_add_key(f->cuts, k) < 0) { /* never: there is room */
		f->cut_n--;
		return;
	}
	f->cut_next = (f->cut_next + 1) % HF_FWD_CUTS_MAX;
}

void hf_fwd_cut_learn(struct hf_fwd *f, const struct hf_cache_key *key, const struct hf_dns_msg *m)
{
	uint8_t owner[HF_DNS_NAME_MAX];
	size_t len, pos;

	if (m->rcode != HF_RCODE_NXDOMAIN && (m->rcode != HF_RCODE_NOERROR || m->ancount != 0))
		return;
	for (unsigned i = 0; i < m->nrr; i++) {
		const struct hf_dns_rr *rr = &m->rr[i];
		if (rr->section != HF_SEC_AUTHORITY || rr->type != HF_TYPE_SOA)
			continue;
		pos = rr->owner_off;
		if (hf_dns_name_unpack(m->wire, m->len, &pos, owner, &len) != 0)
			return;
		/* only a zone at or above the question counts */
		if (hf_dns_name_is_sub(key->name, key->name_len, owner, len))
			hf_fwd_cut_add(f, owner, len);
		return;
	}
}

int32_t hf_fwd_zone_acquire(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t limit)
{
	struct zone_key k;
	size_t off = hf_fwd_zone_of(f, key);
	int32_t pos;

	zone_key_set(&k, key->name + off, key->name_len - off);
	pos = rte_hash_lookup(f->zones, &k);
	if (pos >= 0 && limit != 0 && f->zone_count[pos] >= limit)
		return hf_error(HF_EFULL);
	if (pos < 0 && (pos = rte_hash_add_key(f->zones, &k)) < 0)
		return hf_error(HF_EFULL); /* never: one entry per resolution at most */
	f->zone_count[pos]++;
	return pos;
}

void hf_fwd_zone_release(struct hf_fwd *f, int32_t slot)
{
	void *k;

	if (slot < 0 || --f->zone_count[slot] != 0)
		return;
	/* the name the slot was taken for (cuts learnt since do not matter) */
	if (rte_hash_get_key_with_position(f->zones, slot, &k) == 0)
		rte_hash_del_key(f->zones, k);
}

static void query_free(struct hf_fwd_query *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->rbuf);
	free(q->resp);
	free(q);
}

void hf_fwd_table_fini(struct hf_fwd *f)
{
	const void *key;
	void *data;
	uint32_t next = 0;

	if (f->table == NULL)
		return;
	while (rte_hash_iterate(f->table, &key, &data, &next) >= 0) {
		struct hf_fwd_query *q = data;
		if (q->child != NULL)
			query_free(q->child);
		query_free(q);
	}
	rte_hash_free(f->table);
	f->table = NULL;
	f->inflight = 0;
}
