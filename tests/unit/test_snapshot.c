/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/snapshot.c: the cache-snapshot file written from
 * one cache and loaded into two, the lines it logs, a missing file, and a
 * file that does not parse set aside as PATH.corrupt (the format itself is
 * tests/unit/test_cache.c's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_memory.h>

#include "control/hf_snapshot.h"
#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"

static char dir[] = "/tmp/hf-test-snapshot-XXXXXX";
static char path[256];

static struct hf_cache *mk(const char *name)
{
	struct hf_cache_conf cc;
	struct hf_cache *c;
	memset(&cc, 0, sizeof(cc));
	cc.entries = 1024;
	cc.memory = 1u << 20;
	cc.stale_window_ms = 3600000;
	cc.socket_id = SOCKET_ID_ANY;
	c = hf_cache_create(name, &cc);
	if (c == NULL)
		abort();
	return c;
}

/* n names "hN.example." with a cached failure (EDE 6, TTL 300) each. */
static void fill(struct hf_cache *c, unsigned n, uint64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		_Alignas(8) uint8_t abuf[256];
		struct hf_cache_key k;
		char nm[32];
		size_t len;
		memset(&k, 0, sizeof(k));
		snprintf(nm, sizeof(nm), "h%u.example", i);
		CHECK_EQ(hf_dns_name_from_str(nm, k.name, &len), 0);
		k.name_len = (uint8_t)len;
		k.qtype = HF_TYPE_A;
		k.qclass = HF_CLASS_IN;
		CHECK(hf_dns_answer_failure(abuf, sizeof(abuf), k.name_len, HF_RCODE_SERVFAIL,
					    HF_EDE_DNSSEC_BOGUS, "bad", 300) > 0);
		CHECK_EQ(hf_cache_fill(c, &k, hf_cache_key_hash(&k),
				       (const struct hf_dns_answer *)(const void *)abuf, now, NULL,
				       NULL),
			 0);
	}
}

/* What f holds, from the start (f rewound and emptied afterwards). */
static const char *text_of(FILE *f)
{
	static char buf[4096];
	size_t n;
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	rewind(f);
	if (ftruncate(fileno(f), 0) != 0)
		abort();
	return buf;
}

static uint64_t entries(const struct hf_cache *c)
{
	struct hf_cache_stats st;
	hf_cache_get_stats(c, &st);
	return st.entries;
}

static void test_save_load(void)
{
	struct hf_cache *a = mk("snap_a"), *b = mk("snap_b"), *b2 = mk("snap_b2");
	struct hf_cache *two[2] = {b, b2};
	FILE *log = tmpfile();
	const char *t;
	struct stat st;
	char want[512];

	CHECK(log != NULL);
	CHECK_EQ(hf_snap_load(path, two, 2, 5000, log), 0);
	snprintf(want, sizeof(want),
		 "holdfast: cache-snapshot: no %s yet, starting with an empty cache\n", path);
	CHECK(strcmp(text_of(log), want) == 0);

	fill(a, 100, 1000000);
	CHECK_EQ(hf_snap_save(path, a, 1u << 20, 1000000, log), 0);
	t = text_of(log);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(want, sizeof(want),
		 "holdfast: cache-snapshot: saved 100 entries (%lld bytes) to %s: walk ",
		 (long long)st.st_size, path);
	CHECK(strncmp(t, want, strlen(want)) == 0);
	CHECK(strchr(t, '\n') == t + strlen(t) - 1);

	/* into both caches, on another clock */
	CHECK_EQ(hf_snap_load(path, two, 2, 5000, log), 100);
	t = text_of(log);
	snprintf(want, sizeof(want),
		 "holdfast: cache-snapshot: loaded 100 of 100 entries from %s (saved ", path);
	CHECK(strncmp(t, want, strlen(want)) == 0);
	CHECK(strstr(t, "into 2 core(s) in ") != NULL &&
	      strstr(t, "; left out: 0 expired (past the stale window, a failure past its TTL), 0 "
			"for want of room\n") != NULL);
	CHECK_EQ(entries(b), 100);
	CHECK_EQ(entries(b2), 100);

	/* a byte changed: set aside, nothing loaded */
	{
		FILE *f = fopen(path, "r+b");
		int ch;
		CHECK(f != NULL);
		fseek(f, 60, SEEK_SET);
		ch = fgetc(f);
		fseek(f, 60, SEEK_SET);
		fputc(ch ^ 0x20, f);
		fclose(f);
	}
	hf_cache_flush(b, NULL, 0, false, NULL, NULL);
	CHECK_EQ(hf_snap_load(path, two, 1, 5000, log), 0);
	t = text_of(log);
	snprintf(want, sizeof(want),
		 "holdfast: cache-snapshot: %s: checksum mismatch (CRC32-C of the records ", path);
	CHECK(strncmp(t, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "; set aside as %s.corrupt, starting with an empty cache\n",
		 path);
	CHECK(strlen(t) > strlen(want) && strcmp(t + strlen(t) - strlen(want), want) == 0);
	CHECK(access(path, F_OK) != 0);
	snprintf(want, sizeof(want), "%s.corrupt", path);
	CHECK(access(want, F_OK) == 0);
	unlink(want);
	CHECK_EQ(entries(b), 0);

	fclose(log);
	hf_cache_destroy(a);
	hf_cache_destroy(b);
	hf_cache_destroy(b2);
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {TEST_CASE(test_save_load)};
	int rc;

	if (hf_test_eal_init(argc > 0 ? argv[0] : "test_snapshot", "snapshot") != 0)
		return 1;
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/cache.snapshot", dir);
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	unlink(path);
	rmdir(dir);
	rte_eal_cleanup();
	return rc;
}
