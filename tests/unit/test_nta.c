/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Negative Trust Anchors and the management socket, on a real control
 * plane without workers (every change is "applied" at once): the protocol
 * over a real Unix socket, NTA lifetimes and expiry, the state file across
 * a restart, a corrupt state file, config-file NTAs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/hf_control.h"
#include "control/hf_mgmt.h"
#include "control/hf_nta.h"
#include "dns/hf_dns.h"
#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"

static char sock_path[108], state_path[128];

static size_t wire(const char *s, uint8_t *out)
{
	size_t n = 0;
	CHECK_EQ(hf_dns_name_from_str(s, out, &n), 0);
	return n;
}

static bool covers(const struct hf_control *c, const char *name)
{
	uint8_t w[HF_DNS_NAME_MAX];
	size_t n = wire(name, w);
	return hf_nta_covers(hf_control_ntas(c), w, n);
}

static struct hf_control *start_fwd(const char *forwarder)
{
	struct hf_config cfg;
	struct hf_control_workers w = {0};
	char err[512] = "";
	struct hf_control *c;

	hf_config_defaults(&cfg);
	CHECK_EQ(hf_config_set(&cfg, "forwarder", forwarder, NULL, err, sizeof(err)), 0);
	CHECK_EQ(hf_config_set(&cfg, "nta", "cfg.example 1h from the config file", NULL, err,
			       sizeof(err)),
		 0);
	snprintf(cfg.control_socket, sizeof(cfg.control_socket), "%s", sock_path);
	snprintf(cfg.nta_state_file, sizeof(cfg.nta_state_file), "%s", state_path);
	c = hf_control_create(&cfg, &w, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "hf_control_create: %s\n", err);
		exit(2);
	}
	return c;
}

static struct hf_control *start(void)
{
	return start_fwd("127.0.0.1@9");
}

/* One request over the socket, the control loop pumped until the reply is in. */
static char *request(struct hf_control *c, const void *req, size_t len)
{
	static char reply[65536];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t have = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	uint64_t deadline = hf_control_now_ms() + 5000;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (hf_control_now_ms() < deadline) {
		ssize_t n;
		hf_control_poll(c);
		n = recv(fd, reply + have, sizeof(reply) - 1 - have, 0);
		if (n > 0)
			have += (size_t)n;
		else if (n == 0)
			break;
		else if (errno != EAGAIN && errno != ECONNRESET)
			break;
	}
	close(fd);
	reply[have] = '\0';
	return reply;
}

static char *cmd(struct hf_control *c, const char *line)
{
	return request(c, line, strlen(line));
}

static void test_socket_and_protocol(void)
{
	struct hf_control *c = start();
	struct stat st;
	char *r, big[6000];

	CHECK_EQ(stat(sock_path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);

	r = cmd(c, "HF1 json status\n");
	CHECK(strncmp(r, "OK\n{\"ok\":true,\"version\":\"", 25) == 0);
	CHECK(strstr(r, "\"workers\":0") != NULL);
	r = cmd(c, "garbage\n");
	CHECK(strncmp(r, "ERR not a holdfast management request", 37) == 0);
	r = cmd(c, "HF1 json frobnicate\n");
	CHECK(strstr(r, "ERR unknown command \"frobnicate\"") == r);
	CHECK(strstr(r, "{\"ok\":false,\"error\":\"unknown command") != NULL);
	r = cmd(c, "HF1 text nta\tadd\tde\t--lifetime\t8d\n");
	CHECK(strstr(r, "ERR nta add: lifetime \"8d\" is not between 1s and 1w") == r);
	r = cmd(c, "HF1 text nta\tadd\tde\x01\n");
	CHECK(strstr(r, "ERR request has a control character") == r);
	memset(big, 'a', sizeof(big));
	r = request(c, big, sizeof(big));
	CHECK(strstr(r, "ERR request too large") == r);
	/* still serving after all that */
	r = cmd(c, "HF1 text nta\tlist\n");
	CHECK(strncmp(r, "OK\nntas:\n  - name: cfg.example.\n", 32) == 0);
	CHECK(strstr(r, "    source: config\n") != NULL);
	r = cmd(c, "HF1 json stats\t--per-core\n");
	CHECK(strstr(r, "\"per_core\":[]") != NULL);
	CHECK(strstr(r, "\"nta_count\":1") != NULL);
	r = cmd(c, "HF1 text stats\t--prometheus\n");
	CHECK(strstr(r, "# TYPE holdfast_ntas gauge\nholdfast_ntas 1\n") != NULL);
	hf_control_destroy(c);
	CHECK(stat(sock_path, &st) != 0); /* removed on the way out */
}

static void test_nta_lifetime_and_state(void)
{
	struct hf_control *c;
	char *r, line[512];
	FILE *f;
	uint64_t added_from, added_to;

	unlink(state_path);
	c = start();
	CHECK(covers(c, "www.cfg.example"));
	CHECK(!covers(c, "example"));
	r = cmd(c, "HF1 json nta\tadd\tDE.\t--lifetime\t2\t--reason\tregistry signatures broken\n");
	CHECK(strncmp(r, "OK\n{\"ok\":true,\"name\":\"de.\",\"lifetime\":2,", 40) == 0);
	CHECK(strstr(r, "\"cores\":0,\"apply_us\":") != NULL);
	added_from = (uint64_t)time(NULL);
	r = cmd(c, "HF1 json nta\tadd\tlong.example\t--lifetime\t1h\n");
	added_to = (uint64_t)time(NULL);
	CHECK(strncmp(r, "OK\n", 3) == 0);
	CHECK(covers(c, "www.example.de") && covers(c, "de") && !covers(c, "dex"));
	/* the state file: the run-time NTAs, not the config file's */
	f = fopen(state_path, "r");
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK(fgets(line, sizeof(line), f) && strcmp(line, "holdfast-nta 1\n") == 0);
		CHECK(fgets(line, sizeof(line), f) && strncmp(line, "de.\t", 4) == 0);
		CHECK(strstr(line, "\tregistry signatures broken\n") != NULL);
		CHECK(fgets(line, sizeof(line), f) && strncmp(line, "long.example.\t", 14) == 0);
		CHECK(fgets(line, sizeof(line), f) == NULL);
		fclose(f);
	}
	/* expiry: within a tick of the lifetime */
	{
		uint64_t until = hf_control_now_ms() + 3500;
		while (hf_control_ntas(c)->nntas == 3 && hf_control_now_ms() < until)
			hf_control_poll(c);
		CHECK_EQ(hf_control_ntas(c)->nntas, 2);
	}
	CHECK(!covers(c, "www.example.de"));
	r = cmd(c, "HF1 json nta\tlist\n");
	CHECK(strstr(r, "\"de.\"") == NULL && strstr(r, "\"long.example.\"") != NULL);
	r = cmd(c, "HF1 text nta\tremove\tde\n");
	CHECK(strcmp(r, "ERR no NTA for de.\n") == 0);
	hf_control_destroy(c);

	/* restart: restored with its remaining lifetime */
	c = start();
	CHECK(covers(c, "a.long.example"));
	r = cmd(c, "HF1 json nta\tlist\n");
	CHECK(strstr(r, "\"name\":\"long.example.\"") != NULL);
	CHECK(strstr(r, "\"source\":\"state\"") != NULL);
	{
		char *p = strstr(r, "\"expires\":");
		unsigned long long exp = p ? strtoull(p + 10, NULL, 10) : 0;
		/* an hour from when it was added (not from when the test began:
		 * a loaded machine may take seconds to start a control plane) */
		CHECK(exp >= added_from + 3599 && exp <= added_to + 3602);
	}
	r = cmd(c, "HF1 json nta\tremove\tlong.example\n");
	CHECK(strncmp(r, "OK\n{\"ok\":true,\"name\":\"long.example.\"", 36) == 0);
	CHECK(!covers(c, "a.long.example"));

	/* --expires: the absolute expiry is kept to the second (the fleet's) */
	{
		unsigned long long at = (unsigned long long)time(NULL) + 600;
		char req[128], want[64];
		snprintf(req, sizeof(req), "HF1 json nta\tadd\tabs.example\t--expires\t%llu\n", at);
		r = cmd(c, req);
		snprintf(want, sizeof(want), "\"expires\":%llu", at);
		CHECK(strncmp(r, "OK\n", 3) == 0 && strstr(r, want) != NULL);
		CHECK(covers(c, "www.abs.example"));
		CHECK(hf_control_ntas(c)->nntas == 2); /* and cfg.example */
		for (unsigned i = 0; i < hf_control_ntas(c)->nntas; i++)
			if (memcmp(hf_control_ntas(c)->ntas[i].name, "\3abs\7example", 13) == 0)
				CHECK_EQ(hf_control_ntas(c)->ntas[i].expires_s, (uint64_t)at);
		/* in the past, now, or past a week: refused, nothing added */
		snprintf(req, sizeof(req), "HF1 text nta\tadd\tpast.example\t--expires\t%llu\n",
			 at - 600);
		r = cmd(c, req);
		CHECK(strstr(r, "ERR expiry ") == r && strstr(r, "not between 1s and 1w") != NULL);
		snprintf(req, sizeof(req), "HF1 text nta\tadd\tpast.example\t--expires\t%llu\n",
			 at - 600 + 7 * 86400 + 60);
		r = cmd(c, req);
		CHECK(strstr(r, "ERR expiry ") == r);
		r = cmd(c, "HF1 text nta\tadd\tpast.example\t--expires\t12x\n");
		CHECK(strstr(r, "ERR nta add: --expires takes seconds since the epoch") == r);
		r = cmd(c,
			"HF1 text nta\tadd\tpast.example\t--lifetime\t1h\t--expires\t4102444800\n");
		CHECK(strstr(r, "ERR nta add: --lifetime and --expires exclude each other") == r);
		CHECK(!covers(c, "past.example"));
	}
	hf_control_destroy(c);
}

/* A recheck whose every attempt fails at once (the forwarder is the
 * broadcast address: connect() says EACCES) ends inside hf_fwd_internal;
 * the NTA must not stay "recheck in flight" for good: it is retried every
 * recheck interval. */
static void test_recheck_fails_at_once(void)
{
	struct hf_control *c = start_fwd("255.255.255.255@53");
	const struct hf_nta *n = NULL;
	uint64_t until;
	char *r;

	unlink(state_path);
	r = cmd(c, "HF1 json nta\tadd\tbroken.example\t--lifetime\t1h\t--recheck\t1s\n");
	CHECK(strncmp(r, "OK\n", 3) == 0);
	for (unsigned i = 0; i < hf_control_ntas(c)->nntas; i++)
		if (hf_control_ntas(c)->ntas[i].recheck_s == 1)
			n = &hf_control_ntas(c)->ntas[i];
	CHECK(n != NULL);
	until = hf_control_now_ms() + 3500;
	while (hf_control_now_ms() < until)
		hf_control_poll(c);
	if (n != NULL) {
		CHECK(!n->recheck_busy);
		/* rechecked within the last interval, not stuck since the first */
		CHECK(n->next_recheck_ms > hf_control_now_ms());
		CHECK(n->next_recheck_ms <= hf_control_now_ms() + 1000);
	}
	CHECK(covers(c, "www.broken.example")); /* still in force */
	hf_control_destroy(c);
	unlink(state_path);
}

static void test_corrupt_state(void)
{
	char bad[160];
	struct stat st;
	struct hf_control *c;
	FILE *f = fopen(state_path, "w");
	fputs("holdfast-nta 1\nde.\tnot-a-number\t1\t0\tx\n", f);
	fclose(f);
	snprintf(bad, sizeof(bad), "%s.corrupt", state_path);
	unlink(bad);
	c = start(); /* starts anyway */
	CHECK_EQ(stat(bad, &st), 0);
	CHECK(stat(state_path, &st) != 0);
	CHECK(!covers(c, "de"));
	CHECK(covers(c, "cfg.example")); /* the config file's still hold */
	hf_control_destroy(c);
	unlink(bad);
}

/* The request line both ends agree on: holdfastctl formats, the server splits. */
static void test_request_line(void)
{
	static char line[HF_MGMT_REQ_MAX + 1], big[HF_MGMT_REQ_MAX];
	char *args[HF_MGMT_MAX_ARGS + 2], *out[HF_MGMT_MAX_ARGS + 1], err[256], in[64];
	char a1[] = "nta", a2[] = "add", a3[] = "de", bad[] = "de\tx";
	bool json = false;
	int argc = 0;

	args[0] = a1;
	args[1] = a2;
	args[2] = a3;
	CHECK_EQ(hf_mgmt_format_request(true, 3, args, line, sizeof(line), err, sizeof(err)), 20);
	CHECK(strcmp(line, "HF1 json nta\tadd\tde\n") == 0);
	CHECK_EQ(hf_mgmt_format_request(false, 1, args, line, sizeof(line), err, sizeof(err)), 13);
	CHECK(strcmp(line, "HF1 text nta\n") == 0);
	snprintf(in, sizeof(in), "%s", "HF1 json nta\tadd\tde");
	CHECK_EQ(hf_mgmt_split_request(in, strlen(in), &json, &argc, out, err, sizeof(err)), 0);
	CHECK(json);
	CHECK_EQ(argc, 3);
	CHECK(strcmp(out[0], "nta") == 0 && strcmp(out[1], "add") == 0 &&
	      strcmp(out[2], "de") == 0 && out[3] == NULL);

	/* a tab inside an argument would split it: refused */
	args[2] = bad;
	CHECK_EQ(hf_mgmt_format_request(false, 3, args, line, sizeof(line), err, sizeof(err)), -1);
	CHECK(strcmp(err, "argument 3 has a control character at byte 2") == 0);
	for (int i = 0; i <= HF_MGMT_MAX_ARGS; i++)
		args[i] = a1;
	CHECK_EQ(hf_mgmt_format_request(false, HF_MGMT_MAX_ARGS + 1, args, line, sizeof(line), err,
					sizeof(err)),
		 -1);
	CHECK(strcmp(err, "too many arguments (at most 16)") == 0);
	CHECK_EQ(hf_mgmt_format_request(false, HF_MGMT_MAX_ARGS, args, line, sizeof(line), err,
					sizeof(err)),
		 9 + 4 * HF_MGMT_MAX_ARGS);

	/* the longest line the server reads: HF_MGMT_REQ_MAX bytes with its newline */
	memset(big, 'a', sizeof(big) - 1);
	big[HF_MGMT_REQ_MAX - 1 - 9 - 1] = '\0';
	args[0] = big;
	CHECK_EQ(hf_mgmt_format_request(false, 1, args, line, sizeof(line), err, sizeof(err)),
		 HF_MGMT_REQ_MAX - 1);
	big[HF_MGMT_REQ_MAX - 1 - 9 - 1] = 'a';
	big[HF_MGMT_REQ_MAX - 1 - 9] = '\0';
	CHECK_EQ(hf_mgmt_format_request(false, 1, args, line, sizeof(line), err, sizeof(err)),
		 HF_MGMT_REQ_MAX);
	big[HF_MGMT_REQ_MAX - 1 - 9] = 'a';
	big[HF_MGMT_REQ_MAX - 9] = '\0';
	CHECK_EQ(hf_mgmt_format_request(false, 1, args, line, sizeof(line), err, sizeof(err)), -1);
	CHECK(strcmp(err, "command line too long (at most 4096 bytes)") == 0);

	snprintf(in, sizeof(in), "%s", "HF1 xml status");
	CHECK_EQ(hf_mgmt_split_request(in, strlen(in), &json, &argc, out, err, sizeof(err)), -1);
	CHECK(strcmp(err, "output format must be json or text") == 0);
	snprintf(in, sizeof(in), "%s",
		 "HF1 text a\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta");
	CHECK_EQ(hf_mgmt_split_request(in, strlen(in), &json, &argc, out, err, sizeof(err)), -1);
	CHECK(strcmp(err, "too many arguments (at most 16)") == 0);
	snprintf(in, sizeof(in), "%s",
		 "HF1 text st\x7f"
		 "atus");
	CHECK_EQ(hf_mgmt_split_request(in, strlen(in), &json, &argc, out, err, sizeof(err)), -1);
	CHECK(strcmp(err, "request has a control character at byte 11") == 0);
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_request_line),		TEST_CASE(test_socket_and_protocol),
		TEST_CASE(test_nta_lifetime_and_state), TEST_CASE(test_corrupt_state),
		TEST_CASE(test_recheck_fails_at_once),
	};
	int rc;
	/* the in-flight table and the validator's key cache are rte_hashes */
	if (hf_test_eal_init(argc > 0 ? argv[0] : "test_nta", "nta") != 0)
		return 1;
	snprintf(sock_path, sizeof(sock_path), "/tmp/hf_nta_%d/ctl.sock", (int)getpid());
	snprintf(state_path, sizeof(state_path), "/tmp/hf_nta_%d.state", (int)getpid());
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	unlink(state_path);
	{
		char dir[108];
		snprintf(dir, sizeof(dir), "/tmp/hf_nta_%d", (int)getpid());
		rmdir(dir);
	}
	rte_eal_cleanup();
	return rc;
}
