/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for control/reload.c: which keys a reload takes over and
 * which it names as needing a restart. */
#include <stdio.h>
#include <string.h>

#include "control/hf_reload.h"
#include "tests/unit/hf_test.h"

/* The configuration in force (cur), the one read again (next), the merge. */
struct fx {
	struct hf_config cur, next, out;
	struct hf_reload_diff d;
	char err[256];
};

static void set(struct hf_config *c, const char *k, const char *v)
{
	char err[256];
	int rc = hf_config_set(c, k, v, "t", err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(rc, 0);
}

static void base(struct hf_config *c)
{
	hf_config_defaults(c);
	set(c, "service-address", "198.18.53.1");
	set(c, "forwarder", "127.0.0.1");
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	base(&f->cur);
	base(&f->next);
}

/* Merge; the lists must be exactly these. */
static void fx_merge(struct fx *f, const char *applied, const char *restart)
{
	int rc = hf_reload_merge(&f->cur, &f->next, &f->out, &f->d, f->err, sizeof(f->err));
	if (rc != 0)
		fprintf(stderr, "merge: %s\n", f->err);
	CHECK_EQ(rc, 0);
	if (strcmp(f->d.applied, applied) != 0 || strcmp(f->d.restart, restart) != 0)
		fprintf(stderr, "applied \"%s\" restart \"%s\"\n", f->d.applied, f->d.restart);
	CHECK(strcmp(f->d.applied, applied) == 0);
	CHECK(strcmp(f->d.restart, restart) == 0);
}

static void test_nothing_changed(void)
{
	struct fx f;
	fx_init(&f);
	fx_merge(&f, "", "");
	CHECK(f.d.napplied == 0 && f.d.nrestart == 0);
	CHECK_MEM(&f.out, &f.cur, sizeof(f.out));
}

static void test_runtime_and_restart(void)
{
	struct fx f;
	fx_init(&f);
	set(&f.next, "serve-stale-ttl", "7");
	set(&f.next, "max-ttl", "1h");
	set(&f.next, "cache-entries", "2048");
	set(&f.next, "service-address", "198.18.53.2");
	set(&f.next, "forwarder", "127.0.0.2@5353");
	set(&f.next, "stats-textfile", "/tmp/x.prom");
	set(&f.next, "nta", "example.de 1h broken");
	/* in the order of the dump (the key table) */
	fx_merge(&f, "forwarder serve-stale-ttl max-ttl stats-textfile",
		 "service-address cache-entries nta");
	CHECK(f.d.napplied == 4 && f.d.nrestart == 3);
	/* taken over */
	CHECK(f.out.stale_ttl == 7 && f.out.max_ttl == 3600 && f.out.nforwarders == 2);
	CHECK(strcmp(f.out.stats_textfile, "/tmp/x.prom") == 0);
	/* the restart keys keep their old values */
	CHECK(f.out.cache_entries == f.cur.cache_entries && f.out.nservice == 1 &&
	      f.out.nntas == 0);
}

static void test_forwarders_replaced_and_textfile_off(void)
{
	struct fx f;
	fx_init(&f);
	set(&f.cur, "forwarder", "127.0.0.3");
	set(&f.cur, "stats-textfile", "/tmp/y.prom");
	hf_config_defaults(&f.next);
	set(&f.next, "service-address", "198.18.53.1");
	set(&f.next, "forwarder", "127.0.0.9@53");
	fx_merge(&f, "forwarder stats-textfile", "");
	CHECK_EQ(f.out.nforwarders, 1);
	CHECK_MEM(&f.out.forwarder[0], &f.next.forwarder[0], sizeof(f.out.forwarder[0]));
	CHECK_EQ(f.out.stats_textfile[0], '\0');
}

static void test_restart_only_key_names(void)
{
	struct fx f;
	fx_init(&f);
	/* "nta" is a prefix of "nta-state-file": each is named once, alone */
	set(&f.next, "nta-state-file", "");
	set(&f.next, "dnssec", "no");
	fx_merge(&f, "", "dnssec nta-state-file");
	CHECK(f.out.dnssec);
	CHECK(strcmp(f.out.nta_state_file, f.cur.nta_state_file) == 0);
}

static void test_runtime_keys_exist(void)
{
	struct hf_config c;
	char err[256];
	/* every run-time key is a real key (an unknown one fails as unknown) */
	for (unsigned i = 0; i < hf_reload_nruntime_keys; i++) {
		hf_config_defaults(&c);
		err[0] = '\0';
		hf_config_set(&c, hf_reload_runtime_keys[i], "", "t", err, sizeof(err));
		CHECK(strstr(err, "unknown") == NULL);
	}
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_nothing_changed),
		TEST_CASE(test_runtime_and_restart),
		TEST_CASE(test_forwarders_replaced_and_textfile_off),
		TEST_CASE(test_restart_only_key_names),
		TEST_CASE(test_runtime_keys_exist),
	};
	return hf_test_run(cases, HF_ARRAY_LEN(cases));
}
