/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for control/config.c: defaults, every key, every class of
 * error message, file and argument order, repeatable keys, dump round-trip. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns/hf_dns.h"
#include "tests/unit/hf_test.h"
#include "common/hf_log.h"
#include "control/hf_config.h"

static char tmpdir[64];

/* Write `text` to a file in the test's temporary directory; returns its path. */
static const char *write_file(const char *name, const char *text)
{
	static char path[4][128];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;
	snprintf(p, 128, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	if (f == NULL)
		return p;
	fputs(text, f);
	fclose(f);
	return p;
}

/* Like write_file, for bytes that may hold NULs. */
static const char *write_bytes(const char *name, const void *data, size_t len)
{
	static char p[128];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	if (f == NULL)
		return p;
	if (len > 0)
		fwrite(data, 1, len, f);
	fclose(f);
	return p;
}

/*
 * hf_config_load(path) in a child process that SIGALRM ends after 3 s, so
 * that a loader reading an endless source without bound fails the test
 * instead of hanging it. Returns its result and error text; 1 when the
 * child did not finish.
 */
static int load_in_child(const char *path, char *err, size_t errlen)
{
	int fd[2], rc = 1, st;
	ssize_t n;
	pid_t pid;
	char buf[sizeof(int) + 512] = "";

	err[0] = '\0';
	if (pipe(fd) != 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		struct hf_config c;
		char e[512] = "";
		close(fd[0]);
		alarm(3);
		hf_config_defaults(&c);
		rc = hf_config_load(&c, path, e, sizeof(e));
		memcpy(buf, &rc, sizeof(rc));
		memcpy(buf + sizeof(rc), e, sizeof(e));
		_exit(write(fd[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf) ? 0 : 1);
	}
	close(fd[1]);
	n = pid > 0 ? read(fd[0], buf, sizeof(buf)) : -1;
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (n != (ssize_t)sizeof(buf)) {
		fprintf(stderr, "loading %s did not finish within 3 s\n", path);
		return 1;
	}
	memcpy(&rc, buf, sizeof(rc));
	snprintf(err, errlen, "%s", buf + sizeof(rc));
	return rc;
}

/* load_in_child on a pipe that a writer fills with `chunk` without end. */
static int load_endless_pipe(const char *chunk, char *path, size_t pathlen, char *err,
			     size_t errlen)
{
	int fd[2], rc, st;
	pid_t writer;

	if (pipe(fd) != 0)
		return 1;
	writer = fork();
	if (writer == 0) {
		size_t len = strlen(chunk);
		close(fd[0]);
		signal(SIGPIPE, SIG_DFL);
		while (write(fd[1], chunk, len) == (ssize_t)len)
			;
		_exit(0);
	}
	close(fd[1]);
	snprintf(path, pathlen, "/dev/fd/%d", fd[0]);
	rc = load_in_child(path, err, errlen);
	close(fd[0]); /* the writer's next write fails: EPIPE */
	if (writer > 0) {
		kill(writer, SIGKILL);
		waitpid(writer, &st, 0);
	}
	return rc;
}

static bool one_line(const char *s)
{
	return s[0] != '\0' && strchr(s, '\n') == NULL;
}

static int set(struct hf_config *cfg, const char *k, const char *v, char *err, size_t n)
{
	return hf_config_set(cfg, k, v, "holdfast.conf:12", err, n);
}

static void test_defaults(void)
{
	struct hf_config c;
	hf_config_defaults(&c);
	CHECK_EQ(c.nservice, 0);
	CHECK_EQ(c.nforwarders, 0);
	CHECK_EQ(c.cache_entries, 262144);
	CHECK_EQ(c.cache_memory, 64ull << 20);
	CHECK_EQ(c.waiters, 4096);
	CHECK_EQ(c.stale_window_ms, 86400000ull);
	CHECK_EQ(c.client_timeout_ms, 1800);
	CHECK_EQ(c.stale_ttl, 30);
	CHECK_EQ(c.failure_recheck_ms, 30000);
	CHECK_EQ(c.failure_ttl, 5);
	CHECK_EQ(c.max_ttl, 86400);
	CHECK_EQ(c.min_ttl, 0);
	CHECK_EQ(c.max_negative_ttl, 3600);
	CHECK_EQ(c.edns_buffer_size, 1232);
	CHECK_EQ(c.upstream_timeout_ms, 1000);
	CHECK_EQ(c.fetches_per_zone, 0);
	CHECK_EQ(c.fetches_per_server, 0);
	CHECK_EQ(c.upstream_attempts, 3);
	CHECK_EQ(c.queues, 0);
	CHECK_EQ(c.idle_sleep_us, 0);
	CHECK_EQ(c.burst, 32);
	CHECK(strcmp(c.control_socket, "/run/holdfast/control.sock") == 0);
	CHECK(!c.dump_config);
	CHECK(c.dnssec);
	CHECK_EQ(c.trust_anchor[0], '\0');
	CHECK_EQ(c.nsec3_max_iterations, 50);
	CHECK_EQ(c.dnssec_clock_skew, 300);
	CHECK_EQ(c.dnssec_key_cache, 4096);
}

static void test_dnssec_keys(void)
{
	struct hf_config c;
	char err[512];
	hf_config_defaults(&c);
	CHECK_EQ(set(&c, "dnssec", "no", err, sizeof(err)), 0);
	CHECK(!c.dnssec);
	CHECK_EQ(set(&c, "dnssec", "yes", err, sizeof(err)), 0);
	CHECK(c.dnssec);
	CHECK_EQ(set(&c, "dnssec", "on", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: dnssec: \"on\" is not yes or no") == 0);
	CHECK(c.dnssec);
	CHECK_EQ(set(&c, "dnssec", "", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: dnssec: missing value") == 0);

	CHECK_EQ(set(&c, "trust-anchor", "/etc/holdfast/root.key", err, sizeof(err)), 0);
	CHECK(strcmp(c.trust_anchor, "/etc/holdfast/root.key") == 0);
	{
		char longpath[300];
		memset(longpath, 'a', sizeof(longpath));
		longpath[256] = '\0';
		CHECK_EQ(set(&c, "trust-anchor", longpath, err, sizeof(err)), HF_EINVAL);
		CHECK(strstr(err, "is too long (at most 255 bytes)") != NULL);
		CHECK(one_line(err));
	}

	CHECK_EQ(set(&c, "nsec3-max-iterations", "150", err, sizeof(err)), 0);
	CHECK_EQ(c.nsec3_max_iterations, 150);
	CHECK_EQ(set(&c, "nsec3-max-iterations", "0", err, sizeof(err)), 0);
	CHECK_EQ(c.nsec3_max_iterations, 0);
	CHECK_EQ(set(&c, "nsec3-max-iterations", "2501", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: nsec3-max-iterations: \"2501\" is above the "
			  "maximum 2500") == 0);
	CHECK_EQ(set(&c, "dnssec-clock-skew", "1m", err, sizeof(err)), 0);
	CHECK_EQ(c.dnssec_clock_skew, 60);
	CHECK_EQ(set(&c, "dnssec-clock-skew", "0", err, sizeof(err)), 0);
	CHECK_EQ(c.dnssec_clock_skew, 0);
	CHECK_EQ(set(&c, "dnssec-clock-skew", "2d", err, sizeof(err)), HF_EINVAL);
	CHECK(strstr(err, "is above the maximum 1d") != NULL);
	CHECK_EQ(set(&c, "dnssec-clock-skew", "1.5s", err, sizeof(err)), HF_EINVAL);
	CHECK(strstr(err, "is not a whole number of seconds") != NULL);
	CHECK_EQ(set(&c, "dnssec-key-cache", "16K", err, sizeof(err)), 0);
	CHECK_EQ(c.dnssec_key_cache, 16384);
	CHECK_EQ(set(&c, "dnssec-key-cache", "4", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: dnssec-key-cache: \"4\" is below the minimum "
			  "8") == 0);
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} good[] = {
		{"1.8s", 1800},	  {"1800ms", 1800},  {"5m", 300000}, {"1h", 3600000},
		{"1d", 86400000}, {"1w", 604800000}, {"30", 30000},  {"0.5", 500},
		{"0", 0},	  {"1.25m", 75000},  {"0.001", 1},   {"10ms", 10},
	};
	static const char *bad[] = {"",	       "s",	"abc", "1x",  "-1", "1.2.3",
				    "1.0001s", "0.5ms", "1 s", "1e3", " 1", "99999999999999999999",
				    ".",       "1S"};
	for (size_t i = 0; i < HF_ARRAY_LEN(good); i++) {
		uint64_t ms = 12345;
		CHECK_EQ(hf_parse_duration_ms(good[i].s, &ms), 0);
		CHECK_EQ(ms, good[i].ms);
	}
	for (size_t i = 0; i < HF_ARRAY_LEN(bad); i++) {
		uint64_t ms;
		if (hf_parse_duration_ms(bad[i], &ms) != HF_EINVAL)
			fprintf(stderr, "accepted bad duration \"%s\"\n", bad[i]);
		CHECK_EQ(hf_parse_duration_ms(bad[i], &ms), HF_EINVAL);
	}
}

static void test_every_key(void)
{
	struct hf_config c;
	char err[256] = "";
	const char *path = write_file("all.conf", "# every key, not the defaults\n"
						  "service-address: 198.18.53.1\n"
						  "service-address: fd53::1   # trailing comment\n"
						  "forwarder: 127.53.0.10@53\n"
						  "forwarder: 127.53.0.11\n"
						  "forwarder: fd53::53@5353\n"
						  "\n"
						  "   cache-entries:   2K\n"
						  "cache-memory: 1G\n"
						  "waiters: 1M\n"
						  "serve-stale-window: 2d\n"
						  "serve-stale-client-timeout: 0\n"
						  "serve-stale-ttl: 1m\n"
						  "serve-stale-failure-recheck: 1.5m\n"
						  "failure-ttl: 5m\n"
						  "max-ttl: 1w\n"
						  "min-ttl: 60\n"
						  "max-negative-ttl: 15m\n"
						  "edns-buffer-size: 4096\n"
						  "upstream-timeout: 250ms\n"
						  "upstream-attempts: 10\n"
						  "queues: 4\n"
						  "idle-sleep: 100\n"
						  "burst: 64\n"
						  "control-socket: \"/tmp/hf ctl#1.sock\"\n");
	hf_config_defaults(&c);
	CHECK_EQ(hf_config_load(&c, path, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(c.nservice, 2);
	CHECK_EQ(c.service[0].family, AF_INET);
	CHECK_EQ(c.service[0].v4.s_addr, inet_addr("198.18.53.1"));
	CHECK_EQ(c.service[1].family, AF_INET6);
	{
		struct in6_addr a;
		inet_pton(AF_INET6, "fd53::1", &a);
		CHECK_MEM(&c.service[1].v6, &a, 16);
	}
	CHECK_EQ(c.nforwarders, 3);
	{
		const struct sockaddr_in *f0 = (const void *)&c.forwarder[0];
		const struct sockaddr_in *f1 = (const void *)&c.forwarder[1];
		const struct sockaddr_in6 *f2 = (const void *)&c.forwarder[2];
		struct in6_addr a;
		CHECK_EQ(f0->sin_family, AF_INET);
		CHECK_EQ(f0->sin_addr.s_addr, inet_addr("127.53.0.10"));
		CHECK_EQ(ntohs(f0->sin_port), 53);
		CHECK_EQ(f1->sin_addr.s_addr, inet_addr("127.53.0.11"));
		CHECK_EQ(ntohs(f1->sin_port), 53);
		CHECK_EQ(f2->sin6_family, AF_INET6);
		CHECK_EQ(ntohs(f2->sin6_port), 5353);
		inet_pton(AF_INET6, "fd53::53", &a);
		CHECK_MEM(&f2->sin6_addr, &a, 16);
	}
	CHECK_EQ(c.cache_entries, 2048);
	CHECK_EQ(c.cache_memory, 1ull << 30);
	CHECK_EQ(c.waiters, 1u << 20);
	CHECK_EQ(c.stale_window_ms, 2 * 86400000ull);
	CHECK_EQ(c.client_timeout_ms, 0);
	CHECK_EQ(c.stale_ttl, 60);
	CHECK_EQ(c.failure_recheck_ms, 90000);
	CHECK_EQ(c.failure_ttl, 300);
	CHECK_EQ(c.max_ttl, 604800);
	CHECK_EQ(c.min_ttl, 60);
	CHECK_EQ(c.max_negative_ttl, 900);
	CHECK_EQ(c.edns_buffer_size, 4096);
	CHECK_EQ(c.upstream_timeout_ms, 250);
	CHECK_EQ(c.upstream_attempts, 10);
	CHECK_EQ(c.queues, 4);
	CHECK_EQ(c.idle_sleep_us, 100);
	CHECK_EQ(c.burst, 64);
	CHECK(strcmp(c.control_socket, "/tmp/hf ctl#1.sock") == 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), 0);

	/* a few alternative spellings */
	CHECK_EQ(hf_config_set(&c, "idle-sleep", "2ms", NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.idle_sleep_us, 2000);
	CHECK_EQ(hf_config_set(&c, "cache-memory", "1536K", NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.cache_memory, 1536 * 1024);
	CHECK_EQ(hf_config_set(&c, "cache-memory", "1.5M", NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.cache_memory, 1536 * 1024);
	CHECK_EQ(hf_config_set(&c, "cache-entries", "100000", NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.cache_entries, 100000);
}

static void test_errors(void)
{
	struct hf_config c;
	char err[256];
	hf_config_defaults(&c);

	CHECK_EQ(set(&c, "serve-stale-window", "9d", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: serve-stale-window: \"9d\" is above the maximum 7d") ==
	      0);
	CHECK_EQ(c.stale_window_ms, 86400000ull); /* unchanged */

	CHECK_EQ(set(&c, "upstream-timeout", "5ms", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: upstream-timeout: \"5ms\" is below the minimum "
			  "10ms") == 0);
	CHECK_EQ(set(&c, "failure-ttl", "0", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: failure-ttl: \"0\" is below the minimum 1s") == 0);
	CHECK_EQ(set(&c, "failure-ttl", "301", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: failure-ttl: \"301\" is above the maximum 5m") == 0);
	CHECK_EQ(set(&c, "failure-ttl", "1.5", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: failure-ttl: \"1.5\" is not a whole number of "
			  "seconds") == 0);
	CHECK_EQ(set(&c, "serve-stale-ttl", "3601", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "serve-stale-client-timeout", "31s", err, sizeof(err)), HF_EINVAL);
	CHECK(strstr(err, "is above the maximum 30s") != NULL);
	CHECK_EQ(set(&c, "serve-stale-failure-recheck", "25h", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "max-ttl", "0", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "max-ttl", "8d", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "max-negative-ttl", "2d", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "edns-buffer-size", "511", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: edns-buffer-size: \"511\" is below the minimum 512") ==
	      0);
	CHECK_EQ(set(&c, "edns-buffer-size", "4097", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "edns-buffer-size", "1k", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "upstream-timeout", "31s", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "upstream-attempts", "0", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "upstream-attempts", "11", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "fetches-per-zone", "64K", err, sizeof(err)), 0);
	CHECK_EQ(c.fetches_per_zone, 65536);
	CHECK_EQ(set(&c, "fetches-per-zone", "65537", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: fetches-per-zone: \"65537\" is above the maximum "
			  "65536") == 0);
	CHECK_EQ(set(&c, "fetches-per-server", "0", err, sizeof(err)), 0);
	CHECK_EQ(c.fetches_per_server, 0);
	CHECK_EQ(set(&c, "fetches-per-server", "-1", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "cache-entries", "1023", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: cache-entries: \"1023\" is below the minimum 1024") ==
	      0);
	CHECK_EQ(set(&c, "cache-entries", "65M", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "cache-memory", "1023K", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: cache-memory: \"1023K\" is below the minimum 1M") ==
	      0);
	CHECK_EQ(set(&c, "cache-memory", "65G", err, sizeof(err)), HF_EINVAL);
	CHECK(strstr(err, "is above the maximum 64G") != NULL);
	CHECK_EQ(set(&c, "cache-memory", "12T", err, sizeof(err)), HF_EINVAL);
	CHECK(strstr(err, "is not a size") != NULL);
	CHECK_EQ(set(&c, "waiters", "15", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "waiters", "1025K", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "queues", "65", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "idle-sleep", "100001", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "idle-sleep", "1m", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "burst", "0", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "burst", "65", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "burst", "3.5", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: burst: \"3.5\" is not a whole number") == 0);

	/* bad duration */
	CHECK_EQ(set(&c, "serve-stale-window", "1 day", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: serve-stale-window: \"1 day\" is not a duration "
			  "(e.g. 1.8s, 1800ms, 5m, 1h, 1d, 1w)") == 0);

	/* unknown key */
	CHECK_EQ(set(&c, "serve-stale", "1d", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: unknown key \"serve-stale\"") == 0);

	/* missing value */
	CHECK_EQ(set(&c, "max-ttl", "", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: max-ttl: missing value") == 0);

	/* addresses */
	CHECK_EQ(set(&c, "service-address", "198.18.53", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: service-address: \"198.18.53\" is not an IPv4 or "
			  "IPv6 address") == 0);
	CHECK_EQ(set(&c, "service-address", "example.com", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "service-address", "198.18.53.1@53", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "service-address", "fe80::1%eth0", err, sizeof(err)), HF_EINVAL);
	/* only unicast addresses a packet on a DPDK port can carry */
	static const struct {
		const char *addr, *why;
	} notunicast[] = {
		{"0.0.0.0", "is the unspecified address, not one to answer on"},
		{"::", "is the unspecified address, not one to answer on"},
		{"0:0::0", "is the unspecified address, not one to answer on"},
		{"255.255.255.255", "is the broadcast address, not one to answer on"},
		{"224.0.0.1", "is a multicast address (224.0.0.0/4), not one to answer on"},
		{"239.255.255.255", "is a multicast address (224.0.0.0/4), not one to answer on"},
		{"ff02::1", "is a multicast address (ff00::/8), not one to answer on"},
		{"FF05::1:3", "is a multicast address (ff00::/8), not one to answer on"},
		{"127.0.0.1", "is a loopback address (127.0.0.0/8): a DPDK port never sees it"},
		{"127.255.255.254",
		 "is a loopback address (127.0.0.0/8): a DPDK port never sees it"},
		{"::1", "is the loopback address (::1): a DPDK port never sees it"},
	};
	for (size_t i = 0; i < HF_ARRAY_LEN(notunicast); i++) {
		char want[200];
		snprintf(want, sizeof(want), "holdfast.conf:12: service-address: \"%s\" %s",
			 notunicast[i].addr, notunicast[i].why);
		CHECK_EQ(set(&c, "service-address", notunicast[i].addr, err, sizeof(err)),
			 HF_EINVAL);
		CHECK(strcmp(err, want) == 0);
	}
	CHECK_EQ(c.nservice, 0);
	/* their neighbours are unicast */
	static const char *unicast[] = {
		"0.0.0.1",	   "1.0.0.0",	"126.255.255.255", "128.0.0.0",
		"223.255.255.255", "240.0.0.1", "255.255.255.254", "::2",
		"fe80::1",	   "feff::1",	"::ffff:10.0.0.1"};
	for (size_t i = 0; i < HF_ARRAY_LEN(unicast); i++)
		CHECK_EQ(set(&c, "service-address", unicast[i], err, sizeof(err)), 0);
	CHECK_EQ(c.nservice, HF_ARRAY_LEN(unicast));
	hf_config_defaults(&c);

	/* forwarders */
	static const char *badfwd[] = {"1.2.3.4@99999", "1.2.3.4@0",  "1.2.3.4@",
				       "@53",		"1.2.3.4:53", "1.2.3.4@53x",
				       "host@53",	"1.2.3.4@-1", "[::1]@53"};
	for (size_t i = 0; i < HF_ARRAY_LEN(badfwd); i++) {
		CHECK_EQ(set(&c, "forwarder", badfwd[i], err, sizeof(err)), HF_EINVAL);
		CHECK(strstr(err, "is not ADDR[@PORT] with a port 1-65535") != NULL);
	}
	CHECK_EQ(c.nforwarders, 0);
	CHECK_EQ(set(&c, "forwarder", "::1@65535", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "forwarder", "::1@65535", err, sizeof(err)), HF_EEXIST);
	CHECK(strcmp(err, "holdfast.conf:12: forwarder: \"::1@65535\" is already configured") == 0);

	/* control socket */
	{
		char longpath[200];
		memset(longpath, 'a', sizeof(longpath));
		longpath[0] = '/';
		longpath[108] = '\0';
		CHECK_EQ(set(&c, "control-socket", longpath, err, sizeof(err)), HF_EINVAL);
		CHECK(strstr(err, "is too long (at most 107 bytes)") != NULL);
		longpath[107] = '\0';
		CHECK_EQ(set(&c, "control-socket", longpath, err, sizeof(err)), 0);
		CHECK_EQ(strlen(c.control_socket), 107);
	}

	/* control characters never break the one-line rule */
	CHECK_EQ(set(&c, "burst", "1\n2", err, sizeof(err)), HF_EINVAL);
	CHECK(one_line(err));
}

static void test_file_errors(void)
{
	struct hf_config c;
	char err[512], want[512];
	const char *p;

	hf_config_defaults(&c);
	p = write_file("bad1.conf", "# comment\n\nmax-ttl: 1h\nforwarder: 1.2.3.4@99999\n");
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want),
		 "%s:4: forwarder: \"1.2.3.4@99999\" is not ADDR[@PORT] with a port 1-65535", p);
	CHECK(strcmp(err, want) == 0);
	CHECK_EQ(c.max_ttl, 3600); /* lines before the error were applied */

	hf_config_defaults(&c);
	p = write_file("bad2.conf", "max-ttl: 1h\nmax_ttl: 1h\n");
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s:2: unknown key \"max_ttl\"", p);
	CHECK(strcmp(err, want) == 0);

	hf_config_defaults(&c);
	p = write_file("bad3.conf", "\n\n\nthis line has no colon\n");
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s:4: expected \"key: value\"", p);
	CHECK(strcmp(err, want) == 0);

	hf_config_defaults(&c);
	p = write_file("bad4.conf", "serve-stale-window: 9d\r\n");
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s:1: serve-stale-window: \"9d\" is above the maximum 7d", p);
	CHECK(strcmp(err, want) == 0);

	hf_config_defaults(&c);
	p = write_file("bad5.conf", "service-address: 10.0.0.1\nservice-address: 10.0.0.1\n");
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EEXIST);
	snprintf(want, sizeof(want), "%s:2: service-address: \"10.0.0.1\" is already configured",
		 p);
	CHECK(strcmp(err, want) == 0);

	hf_config_defaults(&c);
	CHECK_EQ(hf_config_load(&c, "/nonexistent/holdfast.conf", err, sizeof(err)), HF_EIO);
	CHECK(strcmp(err, "/nonexistent/holdfast.conf: cannot open: No such file or directory") ==
	      0);
}

/* A config file is at most 1 MiB of lines of at most 4 KiB without NUL
 * bytes, whatever it is: /dev/zero and endless pipes stop at the bound. */
static void test_file_bounds(void)
{
	struct hf_config c;
	char err[512], want[600], path[64];
	const char *p;
	char *big = malloc(HF_CONFIG_FILE_MAX + 2);
	static const char nul[] = "max-ttl: 1h\nmax-ttl: 2h\0 and the rest\nmax-ttl: 3h\n";

	/* a NUL byte: an error naming the line, the line is not applied */
	hf_config_defaults(&c);
	p = write_bytes("nul.conf", nul, sizeof(nul) - 1);
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in the line", p);
	CHECK(strcmp(err, want) == 0);
	CHECK_EQ(c.max_ttl, 3600);
	hf_config_defaults(&c);
	p = write_bytes("nul1.conf", "\0", 1);
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s:1: NUL byte in the line", p);
	CHECK(strcmp(err, want) == 0);

	if (big == NULL) {
		CHECK(big != NULL);
		return;
	}
	/* a line of 4096 bytes loads, 4097 does not (line 3 here) */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t n = (size_t)sprintf(big, "max-ttl: 1h\n\n# ");
		memset(big + n, 'x', HF_CONFIG_LINE_MAX - 2 + extra);
		n += HF_CONFIG_LINE_MAX - 2 + extra;
		n += (size_t)sprintf(big + n, "\nmax-ttl: 2h\n");
		hf_config_defaults(&c);
		p = write_bytes("long.conf", big, n);
		if (extra == 0) {
			CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), 0);
			CHECK_EQ(c.max_ttl, 7200);
			continue;
		}
		CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
		snprintf(want, sizeof(want), "%s:3: line is longer than 4096 bytes", p);
		CHECK(strcmp(err, want) == 0);
		CHECK_EQ(c.max_ttl, 3600);
	}

	/* 1 MiB of comment lines loads, one byte more does not */
	for (size_t i = 0; i < HF_CONFIG_FILE_MAX; i += 64) {
		memset(big + i, '#', 63);
		big[i + 63] = '\n';
	}
	hf_config_defaults(&c);
	p = write_bytes("1mib.conf", big, HF_CONFIG_FILE_MAX);
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), 0);
	big[HF_CONFIG_FILE_MAX] = '\n';
	p = write_bytes("1mib1.conf", big, HF_CONFIG_FILE_MAX + 1);
	CHECK_EQ(hf_config_load(&c, p, err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s: file is larger than 1048576 bytes (1 MiB)", p);
	CHECK(strcmp(err, want) == 0);
	free(big);

	/* sources without an end */
	CHECK_EQ(load_in_child("/dev/zero", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "/dev/zero:1: NUL byte in the line") == 0);
	CHECK_EQ(load_endless_pipe("# a comment\n", path, sizeof(path), err, sizeof(err)),
		 HF_EINVAL);
	snprintf(want, sizeof(want), "%s: file is larger than 1048576 bytes (1 MiB)", path);
	CHECK(strcmp(err, want) == 0);
	CHECK_EQ(load_endless_pipe("xxxxxxxx", path, sizeof(path), err, sizeof(err)), HF_EINVAL);
	snprintf(want, sizeof(want), "%s:1: line is longer than 4096 bytes", path);
	CHECK(strcmp(err, want) == 0);
}

/* nta: NAME [LIFETIME [REASON]] and the other management keys. */
static void test_nta_keys(void)
{
	struct hf_config c, d;
	char err[512], dump[16384];
	uint8_t name[HF_DNS_NAME_MAX];
	size_t len;
	uint32_t life;
	char reason[HF_NTA_REASON_MAX + 1];

	hf_config_defaults(&c);
	CHECK(strcmp(c.nta_state_file, "/var/lib/holdfast/nta.state") == 0);
	CHECK_EQ(c.stats_textfile_ms, 15000);
	CHECK_EQ(set(&c, "nta", "De.", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "nta", "example.com 2h  registry signatures broken", err, sizeof(err)), 0);
	CHECK_EQ(c.nntas, 2);
	CHECK_EQ(hf_config_parse_nta(c.nta[1], name, &len, &life, reason, sizeof(reason), err,
				     sizeof(err)),
		 0);
	CHECK_EQ(len, 13);
	CHECK_EQ(life, 7200);
	CHECK(strcmp(reason, "registry signatures broken") == 0);
	CHECK_EQ(hf_config_parse_nta(c.nta[0], name, &len, &life, reason, sizeof(reason), err,
				     sizeof(err)),
		 0);
	CHECK(len == 4 && memcmp(name, "\2de\0", 4) == 0); /* lower-cased */
	CHECK_EQ(life, 3600);				   /* the default hour */
	CHECK(reason[0] == '\0');

	CHECK_EQ(set(&c, "nta", "de 8d", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: nta: \"de 8d\" is not NAME [LIFETIME [REASON]]: "
			  "lifetime \"8d\" is not "
			  "between 1s and 1w (RFC 7646)") == 0);
	CHECK_EQ(set(&c, "nta", "de 0", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "nta", "a..b", err, sizeof(err)), HF_EINVAL);
	CHECK(strstr(err, "is not a domain name") != NULL);
	CHECK_EQ(set(&c, "nta", "de 1h say \"hi\"", err, sizeof(err)), HF_EINVAL);
	CHECK(one_line(err));
	CHECK_EQ(c.nntas, 2);
	CHECK_EQ(set(&c, "nta-state-file", "", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "control-socket", "/tmp/x.sock", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "stats-textfile-interval", "500ms", err, sizeof(err)), HF_EINVAL);

	/* the dump loads back unchanged, NTAs and the empty state file included */
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "nta: \"example.com 2h  registry signatures broken\"\n") != NULL);
	CHECK(strstr(dump, "nta-state-file: \"\"\n") != NULL);
	{
		const char *p = write_file("nta.conf", dump);
		char dump2[16384];
		hf_config_defaults(&d);
		CHECK_EQ(hf_config_load(&d, p, err, sizeof(err)), 0);
		hf_config_dump(&d, dump2, sizeof(dump2));
		CHECK(strcmp(dump, dump2) == 0);
	}
}

static void test_args(void)
{
	struct hf_config c;
	char err[512];
	const char *p = write_file("args.conf", "max-ttl: 100\nservice-address: 10.0.0.1\n"
						"forwarder: 10.0.0.53\n");
	char pc[160];
	snprintf(pc, sizeof(pc), "--config=%s", p);

	/* -c then a flag: the flag wins */
	{
		char *argv[] = {"holdfast", "-c", (char *)p, "--max-ttl", "50", NULL};
		hf_config_defaults(&c);
		CHECK_EQ(hf_config_args(&c, 5, argv, err, sizeof(err)), 0);
		CHECK_EQ(c.max_ttl, 50);
	}
	/* a flag then -c: the file wins */
	{
		char *argv[] = {"holdfast", "--max-ttl=50", "--config", (char *)p, NULL};
		hf_config_defaults(&c);
		CHECK_EQ(hf_config_args(&c, 4, argv, err, sizeof(err)), 0);
		CHECK_EQ(c.max_ttl, 100);
	}
	/* --config=FILE, repeatable keys append, --KEY=VALUE */
	{
		char *argv[] = {"holdfast",
				pc,
				"--service-address",
				"fd53::1",
				"--service-address=198.18.53.1",
				"--forwarder=127.53.0.10@53",
				"--dump-config",
				"--serve-stale-window",
				"0",
				NULL};
		hf_config_defaults(&c);
		CHECK_EQ(hf_config_args(&c, 9, argv, err, sizeof(err)), 0);
		CHECK_EQ(c.nservice, 3);
		CHECK_EQ(c.service[0].family, AF_INET);
		CHECK_EQ(c.service[1].family, AF_INET6);
		CHECK_EQ(c.service[2].v4.s_addr, inet_addr("198.18.53.1"));
		CHECK_EQ(c.nforwarders, 2);
		CHECK(c.dump_config);
		CHECK_EQ(c.stale_window_ms, 0);
		CHECK_EQ(hf_config_check(&c, err, sizeof(err)), 0);
	}
	/* errors */
	{
		char *argv[] = {"holdfast", "--forwarder", "1.2.3.4@99999", NULL};
		hf_config_defaults(&c);
		CHECK_EQ(hf_config_args(&c, 3, argv, err, sizeof(err)), HF_EINVAL);
		CHECK(strcmp(err, "--forwarder: \"1.2.3.4@99999\" is not ADDR[@PORT] with a port "
				  "1-65535") == 0);
	}
	{
		char *argv[] = {"holdfast", "--serve-stale-window=9d", NULL};
		CHECK_EQ(hf_config_args(&c, 2, argv, err, sizeof(err)), HF_EINVAL);
		CHECK(strcmp(err, "--serve-stale-window: \"9d\" is above the maximum 7d") == 0);
	}
	{
		char *argv[] = {"holdfast", "--no-such-key", "1", NULL};
		CHECK_EQ(hf_config_args(&c, 3, argv, err, sizeof(err)), HF_EINVAL);
		CHECK(strcmp(err, "--no-such-key: unknown option (see --help)") == 0);
	}
	{
		char *argv[] = {"holdfast", "--max-ttl", NULL};
		CHECK_EQ(hf_config_args(&c, 2, argv, err, sizeof(err)), HF_EINVAL);
		CHECK(strcmp(err, "--max-ttl: missing value") == 0);
	}
	{
		char *argv[] = {"holdfast", "-c", NULL};
		CHECK_EQ(hf_config_args(&c, 2, argv, err, sizeof(err)), HF_EINVAL);
		CHECK(strcmp(err, "-c: missing FILE") == 0);
	}
	{
		char *argv[] = {"holdfast", "stray", NULL};
		CHECK_EQ(hf_config_args(&c, 2, argv, err, sizeof(err)), HF_EINVAL);
		CHECK(one_line(err));
	}
	{
		char *argv[] = {"holdfast", "-c", "/nonexistent.conf", NULL};
		CHECK_EQ(hf_config_args(&c, 3, argv, err, sizeof(err)), HF_EIO);
		CHECK(strcmp(err, "/nonexistent.conf: cannot open: No such file or directory") ==
		      0);
	}
	/* --help prints usage (listing every key) and returns 1 */
	{
		char *argv[] = {"holdfast", "--max-ttl", "5", "-h", NULL};
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		FILE *saved = stdout;
		stdout = mem;
		CHECK_EQ(hf_config_args(&c, 4, argv, err, sizeof(err)), 1);
		stdout = saved;
		fclose(mem);
		CHECK(buf != NULL && strstr(buf, "--serve-stale-window") != NULL);
		CHECK(buf != NULL && strstr(buf, "--control-socket") != NULL);
		CHECK(buf != NULL && strstr(buf, "--forwarder") != NULL);
		CHECK(buf != NULL && strstr(buf, "--idle-sleep") != NULL);
		free(buf);
	}
}

static void test_repeatable_limits(void)
{
	struct hf_config c;
	char err[256], v[64];
	hf_config_defaults(&c);
	for (int i = 0; i < HF_MAX_SERVICE_ADDRS; i++) {
		snprintf(v, sizeof(v), "10.0.0.%d", i + 1);
		CHECK_EQ(hf_config_set(&c, "service-address", v, "--service-address", err,
				       sizeof(err)),
			 0);
	}
	CHECK_EQ(hf_config_set(&c, "service-address", "10.0.1.1", "--service-address", err,
			       sizeof(err)),
		 HF_EFULL);
	CHECK(strcmp(err, "--service-address: \"10.0.1.1\" is one too many (at most 16 service "
			  "addresses)") == 0);
	CHECK_EQ(c.nservice, 16);
	for (int i = 0; i < HF_MAX_FORWARDERS; i++) {
		snprintf(v, sizeof(v), "127.0.0.%d@53", i + 1);
		CHECK_EQ(hf_config_set(&c, "forwarder", v, NULL, err, sizeof(err)), 0);
	}
	CHECK_EQ(hf_config_set(&c, "forwarder", "::1", NULL, err, sizeof(err)), HF_EFULL);
	CHECK(one_line(err));
	CHECK_EQ(c.nforwarders, 8);
	/* the same address in another family spelling is another address */
	hf_config_defaults(&c);
	CHECK_EQ(hf_config_set(&c, "service-address", "::ffff:10.0.0.1", NULL, err, sizeof(err)),
		 0);
	CHECK_EQ(hf_config_set(&c, "service-address", "10.0.0.1", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "service-address", "FD53:0::1", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "service-address", "fd53::1", NULL, err, sizeof(err)),
		 HF_EEXIST);
}

static void test_check(void)
{
	struct hf_config c;
	char err[256];
	hf_config_defaults(&c);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "no service-address configured") == 0);
	CHECK_EQ(hf_config_set(&c, "service-address", "198.18.53.1", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "no forwarder configured") == 0);
	CHECK_EQ(hf_config_set(&c, "forwarder", "127.53.0.10", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "max-ttl", "1h", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "min-ttl", "2h", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "min-ttl (2h) is above max-ttl (1h)") == 0);
	CHECK_EQ(hf_config_set(&c, "min-ttl", "1h", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), 0);
}

static void check_same(const struct hf_config *a, const struct hf_config *b)
{
	CHECK_EQ(a->nservice, b->nservice);
	CHECK_MEM(a->service, b->service, sizeof(a->service[0]) * a->nservice);
	CHECK_EQ(a->nforwarders, b->nforwarders);
	CHECK_MEM(a->forwarder, b->forwarder, sizeof(a->forwarder[0]) * a->nforwarders);
	CHECK_EQ(a->cache_entries, b->cache_entries);
	CHECK_EQ(a->cache_memory, b->cache_memory);
	CHECK_EQ(a->waiters, b->waiters);
	CHECK_EQ(a->stale_window_ms, b->stale_window_ms);
	CHECK_EQ(a->client_timeout_ms, b->client_timeout_ms);
	CHECK_EQ(a->stale_ttl, b->stale_ttl);
	CHECK_EQ(a->failure_recheck_ms, b->failure_recheck_ms);
	CHECK_EQ(a->failure_ttl, b->failure_ttl);
	CHECK_EQ(a->max_ttl, b->max_ttl);
	CHECK_EQ(a->min_ttl, b->min_ttl);
	CHECK_EQ(a->max_negative_ttl, b->max_negative_ttl);
	CHECK_EQ(a->edns_buffer_size, b->edns_buffer_size);
	CHECK_EQ(a->upstream_timeout_ms, b->upstream_timeout_ms);
	CHECK_EQ(a->upstream_attempts, b->upstream_attempts);
	CHECK_EQ(a->queues, b->queues);
	CHECK_EQ(a->idle_sleep_us, b->idle_sleep_us);
	CHECK_EQ(a->burst, b->burst);
	CHECK(strcmp(a->control_socket, b->control_socket) == 0);
	CHECK_EQ(a->dnssec, b->dnssec);
	CHECK(strcmp(a->trust_anchor, b->trust_anchor) == 0);
	CHECK_EQ(a->nsec3_max_iterations, b->nsec3_max_iterations);
	CHECK_EQ(a->dnssec_clock_skew, b->dnssec_clock_skew);
	CHECK_EQ(a->dnssec_key_cache, b->dnssec_key_cache);
}

static void round_trip(const struct hf_config *a)
{
	static char dump[16384], dump2[16384];
	struct hf_config b;
	char err[256] = "";
	const char *p;
	hf_config_dump(a, dump, sizeof(dump));
	p = write_file("dump.conf", dump);
	hf_config_defaults(&b);
	CHECK_EQ(hf_config_load(&b, p, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "%s\n--- dump:\n%s", err, dump);
	check_same(a, &b);
	hf_config_dump(&b, dump2, sizeof(dump2));
	CHECK(strcmp(dump, dump2) == 0);
}

static void test_dump(void)
{
	struct hf_config c;
	char err[256], small[40];
	hf_config_defaults(&c);
	round_trip(&c);

	CHECK_EQ(hf_config_set(&c, "service-address", "198.18.53.1", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "service-address", "fd53::1", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "forwarder", "127.53.0.10@53", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "forwarder", "fd53::10@5300", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "serve-stale-client-timeout", "1.8s", NULL, err, sizeof(err)),
		 0);
	CHECK_EQ(hf_config_set(&c, "serve-stale-window", "36h", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "failure-ttl", "90", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "cache-memory", "1234567", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "idle-sleep", "1.5ms", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "control-socket", "/tmp/a b#c", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "upstream-timeout", "1001ms", NULL, err, sizeof(err)), 0);
	{
		static char dump[16384];
		hf_config_dump(&c, dump, sizeof(dump));
		CHECK(strstr(dump, "dnssec: yes\n") != NULL);
		CHECK(strstr(dump, "# trust-anchor: (not set)\n") != NULL);
		CHECK(strstr(dump, "dnssec-clock-skew: 5m\n") != NULL);
	}
	CHECK_EQ(hf_config_set(&c, "dnssec", "no", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "trust-anchor", "/tmp/root.key", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "nsec3-max-iterations", "0", NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&c, "dnssec-key-cache", "100", NULL, err, sizeof(err)), 0);
	round_trip(&c);
	{
		static char dump[16384];
		hf_config_dump(&c, dump, sizeof(dump));
		CHECK(strstr(dump, "service-address: 198.18.53.1\n") != NULL);
		CHECK(strstr(dump, "service-address: fd53::1\n") != NULL);
		CHECK(strstr(dump, "forwarder: fd53::10@5300\n") != NULL);
		CHECK(strstr(dump, "serve-stale-client-timeout: 1.8s\n") != NULL);
		CHECK(strstr(dump, "serve-stale-window: 36h\n") != NULL);
		CHECK(strstr(dump, "failure-ttl: 90s\n") != NULL);
		CHECK(strstr(dump, "control-socket: \"/tmp/a b#c\"\n") != NULL);
	}
	/* a short buffer is truncated, never overrun */
	memset(small, 'x', sizeof(small));
	hf_config_dump(&c, small, 20);
	CHECK_EQ(strlen(small), 19);
	CHECK_EQ(small[21], 'x');
}

/* cookie-secret: 32 hex digits or random, never shown in a dump;
 * cookie-required a yes/no. */
static void test_cookie_keys(void)
{
	struct hf_config c;
	char err[256], dump[16384];
	static const uint8_t want[16] = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
					 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf};
	hf_config_defaults(&c);
	CHECK(!c.cookie_secret.set);
	CHECK(!c.cookie_required);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "# cookie-secret: (not set)\n") != NULL);
	CHECK_EQ(hf_config_set(&c, "cookie-secret", "E5E973E5A6B2A43F48e7dc849e37bfcf", NULL, err,
			       sizeof(err)),
		 0);
	CHECK(c.cookie_secret.set);
	CHECK_MEM(c.cookie_secret.key, want, 16);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "cookie-secret: (hidden)\n") != NULL);
	CHECK(strstr(dump, "e5e973") == NULL && strstr(dump, "E5E973") == NULL);
	/* random: 16 bytes from the kernel, another each time */
	CHECK_EQ(hf_config_set(&c, "cookie-secret", "random", NULL, err, sizeof(err)), 0);
	CHECK(memcmp(c.cookie_secret.key, want, 16) != 0);
	memcpy(dump, c.cookie_secret.key, 16);
	CHECK_EQ(hf_config_set(&c, "cookie-secret", "random", NULL, err, sizeof(err)), 0);
	CHECK(memcmp(c.cookie_secret.key, dump, 16) != 0);
	/* the value is never echoed in an error */
	CHECK_EQ(hf_config_set(&c, "cookie-secret", "e5e973e5a6b2a43f48e7dc849e37bfc", NULL, err,
			       sizeof(err)),
		 HF_EINVAL);
	CHECK(strcmp(err, "cookie-secret: is not 32 hex digits (16 bytes) or random") == 0);
	CHECK_EQ(hf_config_set(&c, "cookie-secret", "g5e973e5a6b2a43f48e7dc849e37bfcf", NULL, err,
			       sizeof(err)),
		 HF_EINVAL);
	CHECK(strcmp(err, "cookie-secret: is not 32 hex digits (16 bytes) or random") == 0);
	CHECK_EQ(hf_config_set(&c, "cookie-required", "yes", NULL, err, sizeof(err)), 0);
	CHECK(c.cookie_required);
}

/* rss-key: 40 or 52 bytes in hex, with or without colons; unset by
 * default; dumped as ethtool -x shows a key. */
static void test_rss_key(void)
{
	struct hf_config c;
	char err[256], dump[16384], hex[200];
	static const char ms[] = "6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:"
				 "7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa";
	static const uint8_t ms_bin[40] = {
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
		0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
		0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
	size_t n = 0;

	hf_config_defaults(&c);
	CHECK_EQ(c.rss_key.len, 0);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "# rss-key: (not set)\n") != NULL);
	CHECK_EQ(hf_config_set(&c, "rss-key", ms, NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.rss_key.len, 40);
	CHECK_MEM(c.rss_key.key, ms_bin, 40);
	hf_config_dump(&c, dump, sizeof(dump));
	snprintf(hex, sizeof(hex), "\nrss-key: %s\n", ms);
	CHECK(strstr(dump, hex) != NULL);
	/* without colons, upper case; 52 bytes */
	for (unsigned i = 0; i < 52; i++)
		n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02X",
				      (unsigned)(i * 7 + 1) & 0xff);
	CHECK_EQ(hf_config_set(&c, "rss-key", hex, NULL, err, sizeof(err)), 0);
	CHECK_EQ(c.rss_key.len, 52);
	CHECK_EQ(c.rss_key.key[0], 1);
	CHECK_EQ(c.rss_key.key[51], (51 * 7 + 1) & 0xff);
	round_trip(&c); /* the dump loads back to the same key */
	/* other lengths, stray colons, not hex */
	static const char *const bad[] = {"6d:5a", "6d5a56", ":6d", "6d::5a", "6d:", "zz", "6d 5a"};
	for (size_t i = 0; i < HF_ARRAY_LEN(bad); i++) {
		char want[200];
		CHECK_EQ(hf_config_set(&c, "rss-key", bad[i], NULL, err, sizeof(err)), HF_EINVAL);
		snprintf(want, sizeof(want),
			 "rss-key: \"%s\" is not 40 or 52 bytes in hex (aa:bb:... or aabb...)",
			 bad[i]);
		CHECK(strcmp(err, want) == 0);
	}
	hex[2 * 41] = '\0'; /* 41 bytes */
	CHECK_EQ(hf_config_set(&c, "rss-key", hex, NULL, err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(c.rss_key.len, 52); /* a refused value leaves the key as it was */
}

/* The example file at the top of the tree loads and passes the checks.
 * Found from HF_SOURCE_ROOT (meson test sets it), else from this file's
 * path as compiled; not found is a failure, never a skip. */
static void test_example_file(void)
{
	struct hf_config c;
	char path[1024], err[512] = "";
	const char *root = getenv("HF_SOURCE_ROOT");
	const char *slash = strrchr(__FILE__, '/');
	FILE *f;
	if (root != NULL && root[0] != '\0')
		snprintf(path, sizeof(path), "%s/holdfast.conf.example", root);
	else
		snprintf(path, sizeof(path), "%.*s/../../holdfast.conf.example",
			 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s (HF_SOURCE_ROOT %s)\n", path, strerror(errno),
			root ? root : "not set");
		CHECK(!"holdfast.conf.example found");
		return;
	}
	fclose(f);
	hf_config_defaults(&c);
	CHECK_EQ(hf_config_load(&c, path, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), 0);
	CHECK_EQ(c.nservice, 2);
	CHECK_EQ(c.nforwarders, 1);
	CHECK_EQ(c.service[0].v4.s_addr, inet_addr("198.18.53.1"));
	CHECK_EQ(((const struct sockaddr_in *)&c.forwarder[0])->sin_addr.s_addr,
		 inet_addr("127.58.0.10"));
	CHECK(c.dnssec);
	CHECK(strcmp(c.trust_anchor, "/tmp/hf-lab-demo/root.key") == 0);
}

/* exception-interface: off by default, a kernel interface name or "" */
static void test_exception_interface(void)
{
	struct hf_config c;
	char err[256] = "", dump[16384];
	char *argv[] = {"holdfast", "--exception-interface", "a/b", NULL};

	hf_config_defaults(&c);
	CHECK(strcmp(c.exception_interface, "") == 0);
	CHECK_EQ(set(&c, "exception-interface", "hf0", err, sizeof(err)), 0);
	CHECK(strcmp(c.exception_interface, "hf0") == 0);
	CHECK_EQ(set(&c, "exception-interface", "abcdefghijklmno", err, sizeof(err)), 0);
	CHECK(strcmp(c.exception_interface, "abcdefghijklmno") == 0);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "\nexception-interface: \"abcdefghijklmno\"\n") != NULL);
	CHECK_EQ(set(&c, "exception-interface", "abcdefghijklmnop", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: exception-interface: \"abcdefghijklmnop\" is too "
			  "long (at most 15 bytes)") == 0);
	CHECK_EQ(set(&c, "exception-interface", "hf:1", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: exception-interface: \"hf:1\" is not an interface "
			  "name (no '/', ':' or white space)") == 0);
	CHECK_EQ(set(&c, "exception-interface", "hf 0", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "exception-interface", "..", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(c.exception_interface, "abcdefghijklmno") == 0); /* unchanged */
	CHECK_EQ(hf_config_args(&c, 3, argv, err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "--exception-interface: \"a/b\" is not an interface name (no '/', ':' "
			  "or white space)") == 0);
	CHECK_EQ(set(&c, "exception-interface", "", err, sizeof(err)), 0); /* off again */
	CHECK(strcmp(c.exception_interface, "") == 0);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "\nexception-interface: \"\"\n") != NULL);
}

/* xdp-exception: off by default; not with exception-interface; carries TLS */
static void test_xdp_exception(void)
{
	struct hf_config c;
	char err[256] = "", dump[16384];

	hf_config_defaults(&c);
	CHECK(!c.xdp_exception);
	CHECK_EQ(set(&c, "service-address", "198.18.53.1", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "forwarder", "127.58.0.10", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "tls-certificate", "/x.crt", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "tls-key", "/x.key", err, sizeof(err)), 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "tls-certificate: DNS over TLS needs exception-interface or "
			  "xdp-exception (a way for TCP to reach the kernel)") == 0);
	CHECK_EQ(set(&c, "xdp-exception", "yes", err, sizeof(err)), 0);
	CHECK(c.xdp_exception);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), 0);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "\nxdp-exception: yes\n") != NULL);
	CHECK_EQ(set(&c, "exception-interface", "hf0", err, sizeof(err)), 0);
	CHECK_EQ(hf_config_check(&c, err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "xdp-exception and exception-interface are both set: one exception "
			  "path (XDP passing to the port's interface, or a TAP)") == 0);
}

/* access-control: PREFIX allow|refuse|drop, repeatable, dumped back */
static void test_access_control(void)
{
	struct hf_config c, back;
	char err[256] = "", dump[16384], path[300];
	FILE *f;

	hf_config_defaults(&c);
	CHECK_EQ(c.nacl, 0u);
	CHECK_EQ(set(&c, "access-control", "198.18.0.0/15 refuse", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "access-control", "198.18.53.2/32  allow", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "access-control", "fd53::/16 drop", err, sizeof(err)), 0);
	CHECK_EQ(set(&c, "access-control", "0.0.0.0/0 allow", err, sizeof(err)), 0);
	CHECK_EQ(c.nacl, 4u);
	CHECK_EQ(c.acl[0].net.family, AF_INET);
	CHECK_EQ(c.acl[0].net.v4.s_addr, inet_addr("198.18.0.0"));
	CHECK_EQ(c.acl[0].plen, 15);
	CHECK_EQ(c.acl[0].action, HF_ACL_REFUSE);
	CHECK_EQ(c.acl[1].action, HF_ACL_ALLOW);
	CHECK_EQ(c.acl[2].net.family, AF_INET6);
	CHECK_EQ(c.acl[2].plen, 16);
	CHECK_EQ(c.acl[2].action, HF_ACL_DROP);
	CHECK_EQ(c.acl[3].plen, 0);
	CHECK_EQ(set(&c, "access-control", "198.18.0.1/15 refuse", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: access-control: \"198.18.0.1/15 refuse\" has bits "
			  "set past the prefix length") == 0);
	CHECK_EQ(set(&c, "access-control", "198.18.0.0/33 refuse", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: access-control: \"198.18.0.0/33 refuse\" is not "
			  "PREFIX allow|refuse|drop (PREFIX: ADDRESS/LENGTH)") == 0);
	CHECK_EQ(set(&c, "access-control", "198.18.0.0/16 deny", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "access-control", "198.18.0.0 drop", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "access-control", "198.18.0.0/ drop", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "access-control", "fd53::/129 drop", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(set(&c, "access-control", "example.com/8 drop", err, sizeof(err)), HF_EINVAL);
	CHECK_EQ(c.nacl, 4u); /* the bad ones added nothing */
	/* the dump loads back to the same rules */
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "\naccess-control: 198.18.0.0/15 refuse\n") != NULL);
	CHECK(strstr(dump, "\naccess-control: fd53::/16 drop\n") != NULL);
	snprintf(path, sizeof(path), "%s/acl.conf", tmpdir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(dump, f);
	fclose(f);
	hf_config_defaults(&back);
	CHECK_EQ(hf_config_load(&back, path, err, sizeof(err)), 0);
	CHECK_EQ(back.nacl, 4u);
	CHECK(memcmp(back.acl, c.acl, 4 * sizeof(c.acl[0])) == 0);
}

/* log-level: a name, stored as its syslog number, dumped back by name */
static void test_log_level(void)
{
	struct hf_config c;
	char err[256] = "", dump[16384];

	hf_config_defaults(&c);
	CHECK_EQ(c.log_level, (uint32_t)HF_LOG_INFO);
	CHECK_EQ(set(&c, "log-level", "warning", err, sizeof(err)), 0);
	CHECK_EQ(c.log_level, (uint32_t)HF_LOG_WARNING);
	hf_config_dump(&c, dump, sizeof(dump));
	CHECK(strstr(dump, "\nlog-level: warning\n") != NULL);
	CHECK_EQ(set(&c, "log-level", "loud", err, sizeof(err)), HF_EINVAL);
	CHECK(strcmp(err, "holdfast.conf:12: log-level: \"loud\" is not error, warning, notice, "
			  "info or debug") == 0);
	CHECK_EQ(c.log_level, (uint32_t)HF_LOG_WARNING);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_defaults),
		TEST_CASE(test_durations),
		TEST_CASE(test_every_key),
		TEST_CASE(test_errors),
		TEST_CASE(test_file_errors),
		TEST_CASE(test_file_bounds), /* forks: a loader child, a pipe writer */
		TEST_CASE(test_args),
		TEST_CASE(test_repeatable_limits),
		TEST_CASE(test_check),
		TEST_CASE(test_dump),
		TEST_CASE(test_dnssec_keys),
		TEST_CASE(test_cookie_keys),
		TEST_CASE(test_rss_key),
		TEST_CASE(test_example_file),
		TEST_CASE(test_nta_keys),
		TEST_CASE(test_exception_interface),
		TEST_CASE(test_xdp_exception),
		TEST_CASE(test_access_control),
		TEST_CASE(test_log_level),
	};
	int rc;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hf_test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return rc;
}
