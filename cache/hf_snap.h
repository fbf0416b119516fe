/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast cache/: the cache snapshot, its format and how a cache is
 * written into one and loaded from one (cache-snapshot, docs/config.md).
 * Pure memory: the file it lives in is control/'s (control/hf_snapshot.h).
 *
 * An image is a 48-byte header and then one record per entry with data,
 * every field in the host's byte order (the header's byte-order mark
 * refuses a file from another kind of machine):
 *
 *   header  0 magic "HFCACHE\0"      8 u32 version (HF_SNAP_VERSION)
 *          12 u32 0x01020304        16 i64 saved at (Unix ms)
 *          24 u64 records           32 u64 bytes of records
 *          40 u32 CRC32-C of the records
 *          44 u32 CRC32-C of header bytes 0..43
 *   record  0 i64 inserted (Unix ms)  8 i64 expires (Unix ms)
 *          16 i64 last failed refresh (Unix ms, 0: none)
 *          24 u32 bytes of the stored answer
 *          28 the key as struct hf_cache_key holds it (6 + name_len bytes),
 *             padded to 4; the stored answer (struct hf_dns_answer, its
 *             TTL offsets, body and EDE text), padded to 8.
 *
 * Times are absolute, so an entry keeps its place across a restart: its
 * TTLs go on counting down, and stale data stays stale until the end of
 * its serve-stale window (the window in force when it is loaded).
 */
#ifndef HF_SNAP_H
#define HF_SNAP_H

#include "cache/hf_cache.h"

#define HF_SNAP_MAGIC	"HFCACHE"
#define HF_SNAP_VERSION 1u
#define HF_SNAP_BOM	0x01020304u
#define HF_SNAP_HDR	48u
#define HF_SNAP_REC_HDR 28u

/* Where a walk writes records (hf_cache_snap_step): buf[len..cap). */
struct hf_snap_out {
	uint8_t *buf;
	size_t cap, len;
	uint64_t count; /* records written */
	/* the cache's clock (ms) at the Unix time ref_unix_ms: how entry
	 * times become absolute ones */
	uint64_t ref_ms;
	int64_t ref_unix_ms;
	struct hf_cache_walk wk; /* where the walk stands (start from {0}) */
	bool full;		 /* it stopped at a record that did not fit in cap */
};

/*
 * Go on writing c's entries with data (fresh, stale within the serve-stale
 * window, failures within their TTL; not pending ones) into o, over at
 * most `budget` slots; true when the walk is done or o is full (o->full:
 * the walk stands at the record that did not fit, so a caller that made
 * room may go on). Owner's thread only. A record takes no more bytes than
 * its entry's slot, so cap >= the cache memory never fills.
 */
bool hf_cache_snap_step(struct hf_cache *c, struct hf_snap_out *o, uint32_t budget,
			uint64_t now_ms);

/* The header of an image whose records are buf[HF_SNAP_HDR..len). */
void hf_snap_seal(uint8_t *buf, size_t len, uint64_t count, int64_t saved_unix_ms);

/* One record, parsed and checked (ans points into the image). */
struct hf_snap_rec {
	int64_t inserted_unix_ms, expires_unix_ms, failed_unix_ms;
	struct hf_cache_key key;
	const struct hf_dns_answer *ans;
	uint32_t ans_size;
};

/*
 * Check an image: header, version, checksums, lengths and every record
 * (the key a wire name, the answer's sizes, TTL offsets inside its body).
 * 0, or HF_EMALFORMED with one line naming the problem in err. *count and
 * *saved_unix_ms from the header (either may be NULL).
 */
int hf_snap_check(const uint8_t *buf, size_t len, uint64_t *count, int64_t *saved_unix_ms,
		  char *err, size_t errlen);
/* The record at buf[*off] of a checked image; *off moves past it. */
void hf_snap_rec_at(const uint8_t *buf, size_t *off, struct hf_snap_rec *r);

/*
 * Put one record into c at now_ms (the cache's clock), now_unix_ms the
 * same instant: 0 stored, 1 left out (past its stale window, or a failure
 * past its TTL), 2 left out (its key is already cached), HF_ENOMEM (no
 * room, nothing evictable). Start-up only (no waiters are woken).
 */
int hf_cache_snap_restore(struct hf_cache *c, const struct hf_snap_rec *r, uint64_t now_ms,
			  int64_t now_unix_ms);

#endif
