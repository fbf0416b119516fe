/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: a cache-snapshot file (cache/snap.c, the file
 * holdfast loads at start-up). The input is checked twice: as a whole
 * file (header, version, checksums), and, so that the fuzzer gets past the
 * checksums, as the records of an image this target seals itself (the
 * input's first 2 bytes: the record count the header claims). What the
 * check takes is loaded into a small cache on a clock of 10 s (entries
 * older than the clock: the TTL shift) and on one of 10^9 ms, one second
 * after the records' times, and then every cached answer must fit its
 * slot, with every TTL field inside its body. The cache is emptied after
 * every input.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "cache/hf_snap.h"
#include "tests/fuzz/hf_fuzz.h"
#include "tests/unit/hf_test_eal.h"

#define U0 INT64_C(1700000000000) /* the seeds' records are about this Unix time */

static struct hf_cache *cache;
static uint8_t *img;

static void wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode)
{
	(void)arg;
	(void)cookie;
	(void)e;
	(void)mode;
	REQUIRE(0); /* nobody parks here */
}

static void load(const uint8_t *buf, size_t len, uint64_t now_ms, int64_t now_unix)
{
	size_t off = HF_SNAP_HDR;
	uint32_t it = 0;
	const struct hf_cache_key *k;
	struct hf_cache_entry *e;

	while (off < len) {
		struct hf_snap_rec r;
		int rc;
		hf_snap_rec_at(buf, &off, &r);
		REQUIRE(off <= len);
		rc = hf_cache_snap_restore(cache, &r, now_ms, now_unix);
		REQUIRE(rc == 0 || rc == 1 || rc == 2 || rc == HF_ENOMEM);
	}
	while (hf_cache_iterate(cache, &it, &k, &e)) {
		const struct hf_dns_answer *a = hf_entry_ans(e);
		REQUIRE(e->state == HF_ENTRY_READY);
		REQUIRE(a->qname_len == k->name_len);
		REQUIRE(e->inserted_ms <= now_ms && now_ms < e->stale_until_ms);
		for (unsigned i = 0; i < a->nttl; i++)
			REQUIRE((size_t)hf_dns_answer_ttl_offs(a)[i] + 4 <= a->body_len);
	}
	hf_cache_flush(cache, NULL, 0, false, wake, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hf_cache_conf cc;

	(void)argc;
	(void)argv;
	REQUIRE(hf_test_eal_init("fuzz_snapshot", "fuzz_snapshot") == 0);
	memset(&cc, 0, sizeof(cc)); /* no waiters: nobody parks */
	cc.entries = 1024;
	cc.memory = 1u << 20;
	cc.stale_window_ms = 86400000; /* a day */
	cc.socket_id = SOCKET_ID_ANY;
	cache = hf_cache_create("fuzz_snapshot", &cc);
	img = malloc(HF_SNAP_HDR + 65536 * 2);
	REQUIRE(cache != NULL && img != NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	uint64_t count = 0;
	uint8_t *copy;

	/* the input as a file: an exact copy, so a read past it is seen */
	copy = malloc(size ? size : 1);
	REQUIRE(copy != NULL);
	memcpy(copy, data, size);
	if (hf_snap_check(copy, size, NULL, NULL, err, sizeof(err)) == 0)
		load(copy, size, 1000000000, U0 + 1000);
	else
		REQUIRE(err[0] != '\0' && strchr(err, '\n') == NULL);
	free(copy);

	/* the input as records, sealed here */
	if (size < 2 || size - 2 > 65536 * 2)
		return 0;
	count = (uint64_t)data[0] | (uint64_t)data[1] << 8;
	memcpy(img + HF_SNAP_HDR, data + 2, size - 2);
	hf_snap_seal(img, HF_SNAP_HDR + size - 2, count, U0);
	if (hf_snap_check(img, HF_SNAP_HDR + size - 2, NULL, NULL, err, sizeof(err)) != 0)
		return 0;
	load(img, HF_SNAP_HDR + size - 2, 10000, U0 + 50000);
	load(img, HF_SNAP_HDR + size - 2, 1000000000, U0 + 1000);
	return 0;
}
