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

int hf_fwd_table_init(struct hf_fwd *f, uint32_t entries, char *err, size_t errlen)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = HF_MAX(entries, 8u),
		.key_len = sizeof(struct hf_cache_key),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	static unsigned seq;

	snprintf(name, sizeof(name), "hf_fwd_%d_%u", (int)getpid(), seq++);
	f->table = rte_hash_create(&p);
	if (f->table == NULL) {
		snprintf(err, errlen, "control: in-flight table of %u: %s (raise -m)", p.entries,
			 rte_strerror(rte_errno));
		return hf_error(HF_ENOMEM);
	}
	return 0;
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
