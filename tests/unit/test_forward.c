/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/control.c + forward.c: the control loop against
 * fake upstream servers on 127.0.0.1 sockets inside the test, with the
 * test's own thread playing the two workers (it owns both ends of the
 * rings). Everything runs on one thread: pump() alternates a control pass,
 * the fake servers and the fake workers; with control-threads N
 * (test_threads_*) the other N-1 control threads run as control starts
 * them, and the fakes still answer from the test's thread.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"
#include "control/hf_config.h"
#include "control/hf_control.h"
#include "control/fwd_internal.h" /* HF_FWD_SOCK_LIFE_MS */
#include "control/hf_ctl_thread.h"

#define NW	 2
#define RING_SZ	 1024
#define MAX_SEEN 4096

enum fake_mode {
	F_ANSWER,	  /* A 192.0.2.1 */
	F_SILENT,	  /* never answers */
	F_WRONG_ID,	  /* first a response with another ID, then the right one */
	F_WRONG_QUESTION, /* first wrong qtype, then wrong name, then the right one */
	F_TC,		  /* TC=1 over UDP; the full answer over TCP */
	F_SERVFAIL_EDE6,  /* SERVFAIL with EDE 6 */
	F_CLOSED,	  /* nothing listens: ECONNREFUSED */
	F_WRONG_CASE,	  /* first the question in another 0x20 case, then the right one */
	F_UNRELATED,	  /* the answer plus an A record of another name */
	F_COOKIE,	  /* echoes the client cookie with the server cookie "SRVCOOKI" */
	F_COOKIE_BAD,	  /* first another client cookie, then as F_COOKIE */
	F_FLOOD_SILENT,	  /* as F_ANSWER, but never answers a name whose first label starts
			   * "fl", and a name whose first label starts "nx" is NXDOMAIN with
			   * the SOA of the name less that label in authority */
	F_LATE,		  /* as F_ANSWER, but a query from the port of the one before it
			   * first gets that one's answer again (a late copy) */
};

struct fake {
	enum fake_mode mode;
	int udp, tcp, conn;
	uint16_t port;
	unsigned udp_queries, tcp_queries;
	uint8_t last_query[512];
	size_t last_len;
	uint16_t ids[64];
	uint16_t ports[64];	 /* the source port of each UDP query */
	struct sockaddr_in from; /* where the last UDP query came from */
	uint8_t prev[600];	 /* F_LATE: the last answer sent */
	size_t prev_len;
	uint8_t tcpbuf[600];
	size_t tcphave;
};

struct env {
	struct hf_config cfg;
	unsigned nthreads; /* control-threads */
	struct rte_ring
		*to_control[HF_MAX_CTL_THREADS * NW]; /* worker w -> thread t: [t * NW + w] */
	struct rte_ring *to_worker[NW];
	struct hf_worker_shared *shared[NW];
	struct hf_control *c;
	struct fake fakes[HF_MAX_FORWARDERS];
	unsigned nfakes;
	bool auto_apply; /* workers store applied_seq as they dequeue */
	/* what each worker dequeued: the pointer (identity only: it may be
	 * freed once applied) and a copy taken before applying it */
	struct hf_msg_ctl *seen_ptr[NW][MAX_SEEN];
	struct hf_msg_ctl *seen[NW][MAX_SEEN];
	unsigned nseen[NW];
};

static unsigned ring_serial;
/* fetches-per-zone and fetches-per-server of the next env_new (0: none) */
static uint32_t next_per_zone, next_per_server;
/* control-threads of the next env_new */
static unsigned next_threads = 1;

/* ---- fake upstreams ---- */

static void fake_open(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->udp = f->tcp = f->conn = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int tries = 0; tries < 20; tries++) {
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), t, one = 1;
		sa.sin_port = 0;
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(u, (struct sockaddr *)&sa, &sl) != 0) {
			close(u);
			continue;
		}
		f->port = ntohs(sa.sin_port);
		if (mode == F_CLOSED) {
			close(u); /* the port is now (very likely) unused */
			return;
		}
		t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(t, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(t, 8) != 0) {
			close(u);
			close(t);
			continue;
		}
		f->udp = u;
		f->tcp = t;
		return;
	}
	fprintf(stderr, "cannot open a fake upstream\n");
}

static void fake_close(struct fake *f)
{
	if (f->udp >= 0)
		close(f->udp);
	if (f->tcp >= 0)
		close(f->tcp);
	if (f->conn >= 0)
		close(f->conn);
	f->udp = f->tcp = f->conn = -1;
}

/* Offset just past the question of a query, or 0. */
static size_t question_end(const uint8_t *q, size_t len)
{
	size_t p = 12;
	while (p < len && q[p] != 0)
		p += 1u + q[p];
	p += 1 + 4;
	return p <= len ? p : 0;
}

/* A response to query q: header, q's question, optional A record and OPT with EDE. */
static size_t make_response(uint8_t *out, const uint8_t *q, size_t qlen, uint16_t id,
			    uint16_t extra_flags, unsigned rcode, bool answer, int ede)
{
	size_t qe = question_end(q, qlen), p;
	if (qe == 0)
		return 0;
	hf_put16(out, id);
	hf_put16(out + 2, (uint16_t)(HF_DNS_QR | HF_DNS_RD | HF_DNS_RA | extra_flags | rcode));
	hf_put16(out + 4, 1);
	hf_put16(out + 6, answer ? 1 : 0);
	hf_put16(out + 8, 0);
	hf_put16(out + 10, ede >= 0 ? 1 : 0);
	memcpy(out + 12, q + 12, qe - 12);
	p = qe;
	if (answer) {
		static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0,   1, 0, 0,
					     0x01, 0x2c, 0, 4, 192, 0, 2, 1};
		memcpy(out + p, rr, sizeof(rr));
		p += sizeof(rr);
	}
	if (ede >= 0) {
		static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 6, 0, 15, 0, 2};
		memcpy(out + p, opt, sizeof(opt));
		p += sizeof(opt);
		hf_put16(out + p, (uint16_t)ede);
		p += 2;
	}
	return p;
}

/* Where the query's COOKIE option data starts (the OPT right after the
 * question, the COOKIE its first option), or 0. */
static size_t query_cookie(const uint8_t *q, size_t len)
{
	size_t qe = question_end(q, len);
	if (qe == 0 || qe + 15 > len || hf_get16(q + qe + 1) != HF_TYPE_OPT ||
	    hf_get16(q + qe + 11) != HF_EDNS_OPT_COOKIE)
		return 0;
	return qe + 15;
}

/* Append an OPT with a COOKIE: the query's client cookie (first byte
 * xor `flip`) and the server cookie "SRVCOOKI". */
static size_t add_cookie_opt(uint8_t *r, size_t rl, const uint8_t *q, size_t qlen, uint8_t flip)
{
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 20, 0, 10, 0, 16};
	size_t ck = query_cookie(q, qlen);
	if (ck == 0)
		return rl;
	memcpy(r + rl, opt, sizeof(opt));
	memcpy(r + rl + sizeof(opt), q + ck, 8);
	r[rl + sizeof(opt)] ^= flip;
	memcpy(r + rl + sizeof(opt) + 8, "SRVCOOKI", 8);
	hf_put16(r + 10, 1);
	return rl + sizeof(opt) + 16;
}

static void fake_serve_udp(struct fake *f)
{
	uint8_t q[512], r[600];
	struct sockaddr_storage from;
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		size_t rl = 0, qe;
		uint16_t id;
		if (n <= 12)
			return;
		memcpy(f->last_query, q, (size_t)n);
		f->last_len = (size_t)n;
		memcpy(&f->from, &from, sizeof(f->from));
		id = hf_get16(q);
		if (f->udp_queries < HF_ARRAY_LEN(f->ids)) {
			f->ids[f->udp_queries] = id;
			f->ports[f->udp_queries] = ntohs(f->from.sin_port);
		}
		f->udp_queries++;
		switch (f->mode) {
		case F_ANSWER:
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			break;
		case F_LATE:
			if (f->udp_queries >= 2 && f->udp_queries <= HF_ARRAY_LEN(f->ports) &&
			    f->ports[f->udp_queries - 1] == f->ports[f->udp_queries - 2])
				sendto(f->udp, f->prev, f->prev_len, 0, (struct sockaddr *)&from,
				       fl);
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			memcpy(f->prev, r, rl);
			f->prev_len = rl;
			break;
		case F_FLOOD_SILENT:
			if (hf_dns_lower[q[13]] == 'f' && hf_dns_lower[q[14]] == 'l')
				continue;
			if (hf_dns_lower[q[13]] == 'n' && hf_dns_lower[q[14]] == 'x') {
				/* SOA (root mname and rname, 5 numbers of 300) owned
				 * by the question's name less its first label */
				uint8_t soa[12 + 22] = {0xc0, (uint8_t)(12 + 1 + q[12]),
							0,    6,
							0,    1,
							0,    0,
							1,    0x2c,
							0,    22};
				for (unsigned k = 0; k < 5; k++)
					hf_put32(soa + 14 + 4 * k, 300);
				rl = make_response(r, q, (size_t)n, id, 0, HF_RCODE_NXDOMAIN, false,
						   -1);
				memcpy(r + rl, soa, sizeof(soa));
				rl += sizeof(soa);
				hf_put16(r + 8, 1);
				break;
			}
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			break;
		case F_SILENT:
		case F_CLOSED:
			continue;
		case F_WRONG_ID:
			rl = make_response(r, q, (size_t)n, (uint16_t)(id + 1), 0, 0, true, -1);
			sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			break;
		case F_WRONG_QUESTION:
			qe = question_end(q, (size_t)n);
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			r[qe - 3] = 28; /* AAAA */
			sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
			r[qe - 3] = 1;
			r[13] ^= 0x01; /* 'w' -> 'v' */
			sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
			r[13] ^= 0x01;
			sendto(f->udp, "garbage", 7, 0, (struct sockaddr *)&from, fl);
			break;
		case F_WRONG_CASE:
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			r[13] ^= 0x20; /* 'w' <-> 'W' */
			sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
			r[13] ^= 0x20;
			break;
		case F_UNRELATED: {
			/* evil.com A 6.6.6.6, TTL 5 */
			static const uint8_t evil[] = {4,   'e', 'v', 'i', 'l', 3, 'c', 'o',
						       'm', 0,	 0,   1,   0,	1, 0,	0,
						       0,   5,	 0,   4,   6,	6, 6,	6};
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			memcpy(r + rl, evil, sizeof(evil));
			rl += sizeof(evil);
			hf_put16(r + 6, 2);
			break;
		}
		case F_COOKIE_BAD:
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			rl = add_cookie_opt(r, rl, q, (size_t)n, 0x01);
			sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
			/* fall through */
		case F_COOKIE:
			rl = make_response(r, q, (size_t)n, id, 0, 0, true, -1);
			rl = add_cookie_opt(r, rl, q, (size_t)n, 0);
			break;
		case F_TC:
			rl = make_response(r, q, (size_t)n, id, HF_DNS_TC, 0, false, -1);
			break;
		case F_SERVFAIL_EDE6:
			rl = make_response(r, q, (size_t)n, id, 0, HF_RCODE_SERVFAIL, false, 6);
			break;
		}
		sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
	}
}

static void fake_serve_tcp(struct fake *f)
{
	if (f->conn < 0) {
		f->conn = accept4(f->tcp, NULL, NULL, SOCK_NONBLOCK);
		f->tcphave = 0;
		if (f->conn < 0)
			return;
	}
	for (;;) {
		ssize_t n =
			recv(f->conn, f->tcpbuf + f->tcphave, sizeof(f->tcpbuf) - f->tcphave, 0);
		if (n <= 0)
			break;
		f->tcphave += (size_t)n;
	}
	if (f->tcphave >= 2 && f->tcphave >= 2u + hf_get16(f->tcpbuf)) {
		uint8_t r[602];
		size_t rl = make_response(r + 2, f->tcpbuf + 2, hf_get16(f->tcpbuf),
					  hf_get16(f->tcpbuf + 2), 0, 0, true, -1);
		f->tcp_queries++;
		hf_put16(r, (uint16_t)rl);
		/* in two pieces, to exercise partial reads */
		if (send(f->conn, r, 3, MSG_NOSIGNAL) != 3 ||
		    send(f->conn, r + 3, rl - 1, MSG_NOSIGNAL) != (ssize_t)(rl - 1))
			fprintf(stderr, "fake TCP send failed\n");
		close(f->conn);
		f->conn = -1;
	}
}

static uint16_t ip_cksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += hf_get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* What an off-path attacker sends: an ICMP port unreachable "about" a
 * datagram from 127.0.0.1:sport to 127.0.0.1:dport (a raw socket: root). */
static bool forge_port_unreachable(uint16_t sport, uint16_t dport)
{
	uint8_t p[8 + 20 + 8] = {3, 3}; /* destination unreachable, port */
	struct sockaddr_in to = {.sin_family = AF_INET};
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	bool ok;

	if (s < 0) {
		fprintf(stderr, "raw ICMP socket: %s (the case needs root)\n", strerror(errno));
		return false;
	}
	p[8] = 0x45; /* the quoted IPv4 header: 20 bytes, UDP */
	hf_put16(p + 8 + 2, 20 + 8 + 40);
	p[8 + 8] = 64;
	p[8 + 9] = IPPROTO_UDP;
	hf_put32(p + 8 + 12, INADDR_LOOPBACK);
	hf_put32(p + 8 + 16, INADDR_LOOPBACK);
	hf_put16(p + 8 + 10, ip_cksum(p + 8, 20));
	hf_put16(p + 28, sport); /* the quoted UDP header */
	hf_put16(p + 30, dport);
	hf_put16(p + 32, 8 + 40);
	hf_put16(p + 2, ip_cksum(p, sizeof(p)));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = sendto(s, p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)sizeof(p);
	close(s);
	return ok;
}

/* ---- environment ---- */

static struct env *env_new(const enum fake_mode *modes, unsigned n, uint64_t timeout_ms,
			   unsigned attempts, unsigned ring_size)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256], name[32], fwd[64];
	struct hf_control_workers w = {0};

	hf_config_defaults(&e->cfg);
	e->cfg.upstream_timeout_ms = timeout_ms;
	e->cfg.upstream_attempts = attempts;
	e->cfg.failure_ttl = 7;
	e->cfg.fetches_per_zone = next_per_zone;
	e->cfg.fetches_per_server = next_per_server;
	e->cfg.control_threads = next_threads;
	e->nthreads = next_threads;
	e->cfg.dnssec = false;		 /* forwarding only here; test_validate_ctl.c validates */
	e->cfg.control_socket[0] = '\0'; /* no management socket, no NTA state file */
	e->cfg.nta_state_file[0] = '\0';
	hf_config_set(&e->cfg, "service-address", "198.18.53.1", NULL, err, sizeof(err));
	e->nfakes = n;
	for (unsigned i = 0; i < n; i++) {
		fake_open(&e->fakes[i], modes[i]);
		snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", e->fakes[i].port);
		if (hf_config_set(&e->cfg, "forwarder", fwd, NULL, err, sizeof(err)) != 0)
			fprintf(stderr, "%s\n", err);
	}
	for (unsigned i = 0; i < e->nthreads * NW; i++) {
		snprintf(name, sizeof(name), "tc%u", ring_serial++);
		e->to_control[i] =
			rte_ring_create_elem(name, sizeof(struct hf_msg_query), RING_SZ,
					     SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		CHECK(e->to_control[i] != NULL);
	}
	for (unsigned i = 0; i < NW; i++) {
		snprintf(name, sizeof(name), "tw%u", ring_serial++);
		e->to_worker[i] = rte_ring_create(name, ring_size, SOCKET_ID_ANY,
						  RING_F_SP_ENQ | RING_F_SC_DEQ);
		e->shared[i] = aligned_alloc(64, sizeof(struct hf_worker_shared));
		memset(e->shared[i], 0, sizeof(struct hf_worker_shared));
		CHECK(e->to_control[i] != NULL && e->to_worker[i] != NULL);
	}
	w.n = NW;
	w.nthreads = e->nthreads;
	w.to_control = e->to_control;
	w.to_worker = e->to_worker;
	w.shared = e->shared;
	w.tsc_per_ms = rte_get_tsc_hz() / 1000; /* FILL stamps on this clock */
	e->auto_apply = true;
	e->c = hf_control_create(&e->cfg, &w, err, sizeof(err));
	if (e->c == NULL)
		fprintf(stderr, "hf_control_create: %s\n", err);
	CHECK(e->c != NULL);
	return e;
}

static void env_free(struct env *e)
{
	hf_control_destroy(e->c);
	for (unsigned i = 0; i < e->nthreads * NW; i++)
		rte_ring_free(e->to_control[i]);
	for (unsigned i = 0; i < NW; i++) {
		rte_ring_free(e->to_worker[i]);
		free(e->shared[i]);
	}
	for (unsigned i = 0; i < e->nfakes; i++)
		fake_close(&e->fakes[i]);
	for (unsigned w = 0; w < NW; w++)
		for (unsigned i = 0; i < e->nseen[w]; i++)
			free(e->seen[w][i]);
	free(e);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The fake workers: take what control sent (and say they applied it). */
static void workers_poll(struct env *e)
{
	for (unsigned w = 0; w < NW; w++) {
		void *m = NULL;
		while (rte_ring_dequeue(e->to_worker[w], &m) == 0) {
			struct hf_msg_ctl *msg = m;
			if (e->nseen[w] < MAX_SEEN) {
				size_t sz = sizeof(*msg);
				if (msg->type == HF_MSG_FILL)
					sz = HF_MAX(sz, offsetof(struct hf_msg_ctl, ans) +
								hf_dns_answer_size(&msg->ans));
				e->seen_ptr[w][e->nseen[w]] = msg;
				e->seen[w][e->nseen[w]] = malloc(sz);
				memcpy(e->seen[w][e->nseen[w]], msg, sz);
				e->nseen[w]++;
			}
			if (e->auto_apply)
				__atomic_store_n(&e->shared[w]->applied_seq, msg->seq,
						 __ATOMIC_RELEASE);
		}
	}
}

/* Run control, the fakes and the workers until every worker saw `want`
 * messages or ms passed. */
static void pump(struct env *e, unsigned want, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end) {
		hf_control_poll(e->c);
		for (unsigned i = 0; i < e->nfakes; i++) {
			if (e->fakes[i].udp >= 0)
				fake_serve_udp(&e->fakes[i]);
			if (e->fakes[i].tcp >= 0)
				fake_serve_tcp(&e->fakes[i]);
		}
		workers_poll(e);
		if (want && e->nseen[0] >= want && e->nseen[1] >= want)
			return;
	}
}

/* "\3www\7example\0" plus more labels when `label` is given. */
static void make_key(struct hf_msg_query *mq, unsigned worker, uint8_t type, uint8_t flags,
		     const char *label)
{
	static const uint8_t name[] = "\3www\7example";
	size_t n = 0;
	memset(mq, 0, sizeof(*mq));
	mq->type = type;
	mq->worker = (uint8_t)worker;
	if (label) {
		size_t l = strlen(label);
		mq->key.name[n++] = (uint8_t)l;
		memcpy(mq->key.name + n, label, l);
		n += l;
	}
	memcpy(mq->key.name + n, name, sizeof(name)); /* includes the root label */
	n += sizeof(name);
	mq->key.name_len = (uint8_t)n;
	mq->key.flags = flags;
	mq->key.qtype = HF_TYPE_A;
	mq->key.qclass = HF_CLASS_IN;
	mq->hash = hf_cache_key_hash(&mq->key);
}

static void send_miss(struct env *e, const struct hf_msg_query *mq)
{
	/* as a worker sends it: to the ring of the thread its hash names */
	unsigned t = hf_msg_shard(mq->hash, e->nthreads);
	CHECK_EQ(rte_ring_enqueue_elem(e->to_control[t * NW + mq->worker], (void *)(uintptr_t)mq,
				       sizeof(*mq)),
		 0);
}

/* Both workers got the same FILL for mq's key as message i. */
static const struct hf_dns_answer *fill_at(struct env *e, unsigned i, const struct hf_msg_query *mq)
{
	const struct hf_msg_ctl *m;
	if (e->nseen[0] <= i || e->nseen[1] <= i) {
		CHECK(!"no FILL reached the workers");
		return NULL;
	}
	m = e->seen[0][i];
	CHECK(e->seen_ptr[1][i] == e->seen_ptr[0][i]);
	CHECK_EQ(e->seen[1][i]->seq, m->seq);
	CHECK_EQ(m->type, HF_MSG_FILL);
	/* stamped on the workers' clock when control made it: not in the future */
	CHECK(m->made_ms != 0 && m->made_ms <= rte_rdtsc() / (rte_get_tsc_hz() / 1000));
	CHECK_EQ(m->hash, mq->hash);
	CHECK_EQ(hf_cache_key_cmp(&m->key, &mq->key), 0);
	return &m->ans;
}

static struct hf_control_stats stats(struct env *e)
{
	struct hf_control_stats st;
	hf_control_get_stats(e->c, &st);
	return st;
}

static bool ede_text_has(const struct hf_dns_answer *a, const char *s)
{
	char buf[256];
	size_t n = HF_MIN(a->ede_text_len, sizeof(buf) - 1);
	memcpy(buf, hf_dns_answer_ede_text(a), n);
	buf[n] = '\0';
	if (strstr(buf, s) == NULL) {
		fprintf(stderr, "EDE text \"%s\" lacks \"%s\"\n", buf, s);
		return false;
	}
	return true;
}

/* Ask for www.example (A), with `label` in front if given, from worker 0. */
static void ask(struct env *e, struct hf_msg_query *mq, const char *label)
{
	make_key(mq, 0, HF_MSG_MISS, 0, label);
	send_miss(e, mq);
}

/* Pump until FILL number i arrives: mq's, positive, `ancount` records. */
static const struct hf_dns_answer *positive_fill(struct env *e, unsigned i,
						 const struct hf_msg_query *mq, unsigned ancount)
{
	const struct hf_dns_answer *a;
	pump(e, i + 1, 2000);
	a = fill_at(e, i, mq);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->ancount, ancount);
	}
	return a;
}

/* Equal but for the case of letters (the query's 0x20 spelling). */
static bool name_eq_nocase(const uint8_t *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hf_dns_lower[a[i]] != hf_dns_lower[(uint8_t)b[i]])
			return false;
	return true;
}

/* ---- tests ---- */

static void test_answer_and_fanout(void)
{
	enum fake_mode modes[] = {F_ANSWER};
	struct env *e = env_new(modes, 1, 500, 3, RING_SZ);
	struct hf_msg_query mq, mq1;
	const struct hf_dns_answer *a;
	struct hf_control_stats st;
	const uint8_t *q;

	make_key(&mq, 0, HF_MSG_MISS, HF_KEY_DO | HF_KEY_CD, NULL);
	mq1 = mq;
	mq1.worker = 1;
	mq1.type = HF_MSG_REFRESH;
	send_miss(e, &mq);
	send_miss(e, &mq1); /* the same question from the other worker: joins */
	e->auto_apply = false;
	pump(e, 1, 2000);
	a = fill_at(e, 0, &mq);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->rcode, 0);
		CHECK_EQ(a->ancount, 1);
		CHECK_EQ(a->ttl, 300);
		CHECK_EQ(a->ede, HF_EDE_NONE);
		CHECK_EQ(a->security, HF_SECURITY_INSECURE);
		CHECK_EQ(e->seen[0][0]->seq, 1);
	}
	CHECK_EQ(e->fakes[0].udp_queries, 1);
	/* the query: RD and CD, lower-case name, EDNS 1232 with DO */
	q = e->fakes[0].last_query;
	CHECK_EQ(hf_get16(q + 2), HF_DNS_RD | HF_DNS_CD);
	CHECK_EQ(hf_get16(q + 4), 1);
	CHECK_EQ(hf_get16(q + 10), 1);
	CHECK(name_eq_nocase(q + 12, "\3www\7example\0", 13));
	CHECK_EQ(e->fakes[0].last_len, 12 + 13 + 4 + 11 + 12);
	CHECK_EQ(hf_get16(q + 12 + 17 + 3), 1232);
	CHECK_EQ(hf_get16(q + 12 + 17 + 7), HF_EDNS_DO);
	/* a COOKIE with a client cookie only: this forwarder sent none */
	CHECK_EQ(hf_get16(q + 12 + 17 + 9), 12);
	CHECK_EQ(hf_get16(q + 12 + 17 + 11), HF_EDNS_OPT_COOKIE);
	CHECK_EQ(hf_get16(q + 12 + 17 + 13), 8);

	st = stats(e);
	CHECK_EQ(st.requests, 2);
	CHECK_EQ(st.coalesced, 1);
	CHECK_EQ(st.resolutions, 1);
	CHECK_EQ(st.upstream_queries, 1);
	CHECK_EQ(st.responses, 1);
	CHECK_EQ(st.fills, 1);
	CHECK_EQ(st.failures, 0);
	CHECK_EQ(st.in_flight, 0);

	/* garbage collection waits for every worker's applied_seq */
	CHECK_EQ(st.msgs_pending, 1);
	CHECK(!hf_control_applied(e->c, 1));
	__atomic_store_n(&e->shared[0]->applied_seq, 1, __ATOMIC_RELEASE);
	pump(e, 0, 5);
	CHECK_EQ(stats(e).msgs_pending, 1);
	CHECK(!hf_control_applied(e->c, 1));
	__atomic_store_n(&e->shared[1]->applied_seq, 1, __ATOMIC_RELEASE);
	CHECK(hf_control_applied(e->c, 1));
	pump(e, 0, 5);
	CHECK_EQ(stats(e).msgs_pending, 0);

	/* once answered, the same question is resolved again on the next miss */
	send_miss(e, &mq);
	e->auto_apply = true;
	pump(e, 2, 2000);
	CHECK_EQ(e->fakes[0].udp_queries, 2);
	CHECK_EQ(e->nseen[0], 2);
	if (e->nseen[0] == 2)
		CHECK_EQ(e->seen[0][1]->seq, 2);
	pump(e, 0, 5);
	CHECK_EQ(stats(e).msgs_pending, 0);
	env_free(e);
}

static void test_wrong_id_ignored(void)
{
	enum fake_mode modes[] = {F_WRONG_ID};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	make_key(&mq, 0, HF_MSG_MISS, 0, NULL);
	send_miss(e, &mq);
	pump(e, 1, 2000);
	a = fill_at(e, 0, &mq);
	if (a)
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
	CHECK_EQ(stats(e).mismatched, 1);
	CHECK_EQ(stats(e).responses, 1);
	CHECK_EQ(stats(e).timeouts, 0);
	/* no CD, no DO asked for */
	CHECK_EQ(hf_get16(e->fakes[0].last_query + 2), HF_DNS_RD);
	CHECK_EQ(hf_get16(e->fakes[0].last_query + 12 + 17 + 7), 0);
	env_free(e);
}

static void test_wrong_question_ignored(void)
{
	enum fake_mode modes[] = {F_WRONG_QUESTION};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	make_key(&mq, 1, HF_MSG_MISS, 0, NULL);
	send_miss(e, &mq);
	pump(e, 1, 2000);
	a = fill_at(e, 0, &mq);
	if (a)
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
	CHECK_EQ(stats(e).mismatched, 3); /* wrong type, wrong name, garbage */
	CHECK_EQ(stats(e).responses, 1);
	env_free(e);
}

/* DNS 0x20: the query name has a random case; a response that spells
 * the question otherwise (right ID, type and class) is a forgery: counted,
 * ignored, and the attempt waits for the right one. */
static void test_wrong_case_ignored(void)
{
	enum fake_mode modes[] = {F_WRONG_CASE};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct hf_msg_query mq;
	uint8_t first[13];
	bool differ = false;
	char label[8];

	ask(e, &mq, NULL);
	positive_fill(e, 0, &mq, 1);
	CHECK_EQ(stats(e).mismatched, 1);
	CHECK_EQ(stats(e).case_mismatched, 1);
	CHECK_EQ(stats(e).responses, 1);
	CHECK_EQ(stats(e).timeouts, 0);
	CHECK_EQ(stats(e).failures, 0);
	CHECK(name_eq_nocase(e->fakes[0].last_query + 12, "\3www\7example\0", 13));
	memcpy(first, e->fakes[0].last_query + 12, sizeof(first));
	/* the case is random per query: eight more questions, not all spelt
	 * like the first (a 2^-80 chance to fail) */
	for (unsigned i = 0; i < 8; i++) {
		snprintf(label, sizeof(label), "c%u", i);
		ask(e, &mq, label);
		positive_fill(e, 1 + i, &mq, 1);
		if (memcmp(e->fakes[0].last_query + 12 + 3, first, sizeof(first)) != 0)
			differ = true;
	}
	CHECK_EQ(e->nseen[0], 9);
	CHECK(differ);
	CHECK_EQ(stats(e).case_mismatched, 9);
	CHECK_EQ(stats(e).failures, 0);
	env_free(e);
}

/* An answer-section record of a name outside the answer chain is not
 * stored: the FILL has the one A record of the question. */
static void test_unrelated_scrubbed(void)
{
	enum fake_mode modes[] = {F_UNRELATED};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	static const uint8_t want[] = {0xc0, 0x0c, 0, 1, 0,   1, 0, 0,
				       0x01, 0x2c, 0, 4, 192, 0, 2, 1};

	ask(e, &mq, NULL);
	a = positive_fill(e, 0, &mq, 1);
	if (a) {
		CHECK_EQ(a->nscount + a->arcount, 0);
		CHECK_EQ(a->ttl, 300); /* not the unrelated record's 5 */
		CHECK_EQ(a->body_len, sizeof(want));
		CHECK_MEM(hf_dns_answer_body(a), want, sizeof(want));
	}
	CHECK_EQ(stats(e).responses, 1);
	env_free(e);
}

/* DNS cookies: the client cookie stays the same for a forwarder; the
 * server cookie it sends is sent back; a response with another client
 * cookie is counted and ignored. */
static void test_cookies(void)
{
	enum fake_mode modes[] = {F_COOKIE_BAD};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct fake *f = &e->fakes[0];
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	uint8_t client[8];
	size_t ck;

	ask(e, &mq, NULL);
	a = positive_fill(e, 0, &mq, 1);
	if (a)
		CHECK_EQ(a->arcount, 0); /* the OPT is never stored */
	CHECK_EQ(stats(e).mismatched, 1);
	CHECK_EQ(stats(e).cookie_mismatched, 1);
	CHECK_EQ(stats(e).case_mismatched, 0);
	CHECK_EQ(stats(e).responses, 1);
	ck = query_cookie(f->last_query, f->last_len);
	CHECK(ck != 0);
	CHECK_EQ(hf_get16(f->last_query + ck - 2), 8); /* no server cookie known yet */
	memcpy(client, f->last_query + ck, 8);

	/* the next query: the same client cookie, and the server's back */
	ask(e, &mq, "b");
	positive_fill(e, 1, &mq, 1);
	ck = query_cookie(f->last_query, f->last_len);
	CHECK(ck != 0);
	CHECK_EQ(hf_get16(f->last_query + ck - 2), 16);
	CHECK_MEM(f->last_query + ck, client, 8);
	CHECK_MEM(f->last_query + ck + 8, "SRVCOOKI", 8);
	CHECK_EQ(f->last_len, question_end(f->last_query, f->last_len) + 11 + 4 + 16);
	CHECK_EQ(stats(e).cookie_mismatched, 2);
	CHECK_EQ(stats(e).failures, 0);
	env_free(e);
}

static void test_timeout_then_next_forwarder(void)
{
	enum fake_mode modes[] = {F_SILENT, F_ANSWER};
	struct env *e = env_new(modes, 2, 100, 3, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	uint64_t t0 = now_ms();
	make_key(&mq, 0, HF_MSG_MISS, 0, NULL);
	send_miss(e, &mq);
	pump(e, 1, 2000);
	a = fill_at(e, 0, &mq);
	if (a)
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
	CHECK(now_ms() - t0 >= 100);
	CHECK_EQ(e->fakes[0].udp_queries, 1);
	CHECK_EQ(e->fakes[1].udp_queries, 1);
	CHECK_EQ(stats(e).timeouts, 1);
	CHECK_EQ(stats(e).upstream_queries, 2);

	/* the next resolution starts at the next forwarder: no timeout */
	make_key(&mq, 0, HF_MSG_MISS, 0, "a");
	send_miss(e, &mq);
	pump(e, 2, 2000);
	a = fill_at(e, 1, &mq);
	CHECK_EQ(e->fakes[0].udp_queries, 1);
	CHECK_EQ(e->fakes[1].udp_queries, 2);
	CHECK_EQ(stats(e).timeouts, 1);
	env_free(e);
}

/* Forged ICMP port unreachable while the attempt waits: counted, the
 * attempt goes on and takes the real answer that comes later. */
static void test_icmp_does_not_end_attempt(void)
{
	enum fake_mode modes[] = {F_SILENT};
	struct env *e = env_new(modes, 1, 1000, 1, RING_SZ);
	struct fake *f = &e->fakes[0];
	struct hf_msg_query mq;
	uint8_t r[600];
	size_t rl;

	ask(e, &mq, NULL);
	for (uint64_t end = now_ms() + 2000; now_ms() < end && f->udp_queries == 0;)
		pump(e, 0, 1);
	CHECK_EQ(f->udp_queries, 1);
	for (unsigned i = 1; i <= 3; i++) {
		CHECK(forge_port_unreachable(ntohs(f->from.sin_port), f->port));
		for (uint64_t end = now_ms() + 1000; now_ms() < end && stats(e).icmp_errors < i;)
			pump(e, 0, 1);
		CHECK_EQ(stats(e).icmp_errors, i);
	}
	pump(e, 0, 20);
	CHECK_EQ(e->nseen[0], 0); /* still waiting */
	CHECK_EQ(stats(e).in_flight, 1);
	rl = make_response(r, f->last_query, f->last_len, hf_get16(f->last_query), 0, 0, true, -1);
	sendto(f->udp, r, rl, 0, (struct sockaddr *)&f->from, sizeof(f->from));
	positive_fill(e, 0, &mq, 1);
	CHECK_EQ(stats(e).icmp_errors, 3);
	CHECK_EQ(stats(e).upstream_errors, 0);
	CHECK_EQ(stats(e).timeouts, 0);
	CHECK_EQ(stats(e).failures, 0);
	CHECK_EQ(stats(e).upstream_queries, 1);
	env_free(e);
}

static void test_tc_then_tcp(void)
{
	enum fake_mode modes[] = {F_TC};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	make_key(&mq, 0, HF_MSG_MISS, 0, NULL);
	send_miss(e, &mq);
	pump(e, 1, 2000);
	a = fill_at(e, 0, &mq);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_POSITIVE);
		CHECK_EQ(a->ancount, 1);
	}
	CHECK_EQ(e->fakes[0].udp_queries, 1);
	CHECK_EQ(e->fakes[0].tcp_queries, 1);
	CHECK_EQ(stats(e).tcp_retries, 1);
	CHECK_EQ(stats(e).upstream_queries, 2);
	CHECK_EQ(stats(e).failures, 0);
	env_free(e);
}

static void test_all_fail(void)
{
	enum fake_mode modes[] = {F_CLOSED, F_SILENT};
	struct env *e = env_new(modes, 2, 50, 3, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	char want[64];
	uint64_t t0 = now_ms();
	make_key(&mq, 0, HF_MSG_MISS, 0, NULL);
	send_miss(e, &mq);
	pump(e, 1, 2000);
	/* a refused attempt, too, lasts its timeout: the ICMP may be forged */
	CHECK(now_ms() - t0 >= 150);
	a = fill_at(e, 0, &mq);
	if (a) {
		/* closed (refused), silent (timeout), closed (refused) */
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
		CHECK_EQ(a->ede, HF_EDE_NO_REACHABLE_AUTHORITY);
		CHECK_EQ(a->ttl, 7);
		CHECK_EQ(a->qname_len, mq.key.name_len);
		snprintf(want, sizeof(want), "127.0.0.1@%u: connection refused", e->fakes[0].port);
		CHECK(ede_text_has(a, want));
	}
	CHECK_EQ(stats(e).failures, 1);
	CHECK_EQ(stats(e).timeouts, 1);
	CHECK_EQ(stats(e).upstream_errors, 2);
	CHECK_EQ(stats(e).icmp_errors, 2);
	CHECK_EQ(e->fakes[1].udp_queries, 1);
	env_free(e);

	/* only silence: the text says so */
	{
		enum fake_mode m2[] = {F_SILENT};
		e = env_new(m2, 1, 20, 2, RING_SZ);
		send_miss(e, &mq);
		pump(e, 1, 2000);
		a = fill_at(e, 0, &mq);
		if (a) {
			CHECK_EQ(a->ede, HF_EDE_NO_REACHABLE_AUTHORITY);
			snprintf(want, sizeof(want), "127.0.0.1@%u: timed out", e->fakes[0].port);
			CHECK(ede_text_has(a, want));
		}
		CHECK_EQ(e->fakes[0].udp_queries, 2);
		CHECK_EQ(stats(e).timeouts, 2);
		env_free(e);
	}
}

static void test_servfail_passes_ede(void)
{
	enum fake_mode modes[] = {F_SERVFAIL_EDE6};
	struct env *e = env_new(modes, 1, 500, 2, RING_SZ);
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	make_key(&mq, 0, HF_MSG_MISS, 0, NULL);
	send_miss(e, &mq);
	pump(e, 1, 2000);
	a = fill_at(e, 0, &mq);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
		CHECK_EQ(a->ede, HF_EDE_DNSSEC_BOGUS);
		CHECK(ede_text_has(a, "answered SERVFAIL"));
	}
	CHECK_EQ(e->fakes[0].udp_queries, 2); /* SERVFAIL: next attempt */
	CHECK_EQ(stats(e).rcode_errors, 2);
	/* IDs differ between attempts (getrandom; a 1 in 65536 chance to fail) */
	CHECK(e->fakes[0].ids[0] != e->fakes[0].ids[1]);
	env_free(e);
}

static void test_backlog_keeps_order(void)
{
	enum fake_mode modes[] = {F_ANSWER};
	/* a ring of 4 slots holds 3 messages */
	struct env *e = env_new(modes, 1, 500, 1, 4);
	struct hf_msg_query mq[10];
	char label[8];
	unsigned got = 0;
	e->auto_apply = false;
	for (unsigned i = 0; i < 10; i++) {
		snprintf(label, sizeof(label), "q%u", i);
		make_key(&mq[i], i % NW, HF_MSG_MISS, 0, label);
		send_miss(e, &mq[i]);
	}
	/* let control resolve everything without the workers reading */
	for (uint64_t end = now_ms() + 2000; now_ms() < end && stats(e).fills < 10;) {
		hf_control_poll(e->c);
		fake_serve_udp(&e->fakes[0]);
	}
	CHECK_EQ(stats(e).fills, 10);
	CHECK(stats(e).backlogged >= 14); /* 7 per worker */
	CHECK_EQ(rte_ring_count(e->to_worker[0]), 3);
	/* now the workers read; every FILL arrives, in seq order */
	e->auto_apply = true;
	pump(e, 10, 2000);
	for (unsigned w = 0; w < NW; w++) {
		CHECK_EQ(e->nseen[w], 10);
		for (unsigned i = 0; i < e->nseen[w]; i++)
			CHECK_EQ(e->seen[w][i]->seq, i + 1);
	}
	for (unsigned i = 0; i < 10; i++)
		for (unsigned j = 0; j < e->nseen[0]; j++)
			if (hf_cache_key_cmp(&e->seen[0][j]->key, &mq[i].key) == 0)
				got++;
	CHECK_EQ(got, 10);
	pump(e, 0, 5);
	CHECK_EQ(stats(e).msgs_pending, 0);
	env_free(e);
}

/* Many resolutions at once: half start at a silent forwarder and time out,
 * exercising the in-flight table and the deadline heap. */
static void test_many(void)
{
	enum fake_mode modes[] = {F_SILENT, F_ANSWER};
	/* 3 s: the answering server's thread must reply before its attempt
	 * times out, also on a loaded machine (with 1 s the case failed 1 run
	 * in 12 there, on the base too) */
	struct env *e = env_new(modes, 2, 3000, 2, RING_SZ);
	enum { N = 1500 };
	static uint8_t found[N];
	char label[16];
	unsigned sent = 0, distinct = 0;
	uint64_t end = now_ms() + 30000;
	struct hf_msg_query mq;

	memset(found, 0, sizeof(found));
	while (now_ms() < end && (e->nseen[0] < N || e->nseen[1] < N)) {
		for (unsigned k = 0; k < 200 && sent < N; k++, sent++) {
			snprintf(label, sizeof(label), "k%u", sent);
			make_key(&mq, sent % NW, HF_MSG_MISS, 0, label);
			send_miss(e, &mq);
		}
		pump(e, N, 2);
	}
	CHECK_EQ(e->nseen[0], N);
	CHECK_EQ(e->nseen[1], N);
	for (unsigned i = 0; i < e->nseen[0]; i++) {
		const struct hf_msg_ctl *m = e->seen[0][i];
		unsigned k = (unsigned)atoi((const char *)m->key.name + 2);
		CHECK_EQ(m->ans.kind, HF_ANS_POSITIVE);
		CHECK_EQ(m->seq, i + 1);
		if (k < N && !found[k]) {
			found[k] = 1;
			distinct++;
		}
	}
	CHECK_EQ(distinct, N);
	CHECK_EQ(stats(e).timeouts, N / 2);
	CHECK_EQ(stats(e).resolutions, N);
	CHECK_EQ(stats(e).in_flight, 0);
	pump(e, 0, 5);
	CHECK_EQ(stats(e).msgs_pending, 0);
	env_free(e);
}

static void test_broadcast(void)
{
	enum fake_mode modes[] = {F_ANSWER};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));
	e->auto_apply = false;
	m->type = HF_MSG_FLUSH;
	m->all = 1;
	CHECK_EQ(hf_control_broadcast(e->c, m), 0);
	CHECK_EQ(m->seq, 1);
	CHECK_EQ(hf_control_last_seq(e->c), 1);
	workers_poll(e);
	CHECK_EQ(e->nseen[0], 1);
	CHECK_EQ(e->nseen[1], 1);
	CHECK(e->seen_ptr[0][0] == m && e->seen_ptr[1][0] == m);
	CHECK(!hf_control_applied(e->c, 1));
	__atomic_store_n(&e->shared[0]->applied_seq, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&e->shared[1]->applied_seq, 1, __ATOMIC_RELEASE);
	CHECK(hf_control_applied(e->c, 1));
	hf_control_poll(e->c);
	CHECK_EQ(stats(e).msgs_pending, 0);
	/* messages never applied are freed by destroy (ASan/valgrind check) */
	m = calloc(1, sizeof(*m));
	m->type = HF_MSG_FLUSH;
	CHECK_EQ(hf_control_broadcast(e->c, m), 0);
	CHECK_EQ(m->seq, 2);
	env_free(e);
}

/* A failure answer of a fetch limit: SERVFAIL, EDE 0 with exactly `text`,
 * not cached (TTL 0), insecure. */
static void check_limited(const struct hf_dns_answer *a, const char *text)
{
	if (a == NULL)
		return;
	CHECK_EQ(a->kind, HF_ANS_FAILURE);
	CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
	CHECK_EQ(a->ede, HF_EDE_OTHER);
	CHECK_EQ(a->ede_text_len, strlen(text));
	CHECK(ede_text_has(a, text));
	CHECK_EQ(a->ttl, 0);
	CHECK_EQ(a->security, HF_SECURITY_INSECURE);
}

/* fetches-per-zone 3: a flood of fl<N>.www.example (zone www.example,
 * the name less its first label) behind a forwarder that does not answer
 * it gets 3 resolutions; the rest SERVFAIL at once. A question in flight
 * still joins; www.example (zone example) still resolves; once the 3
 * time out the zone has room again. */
static void test_fetches_per_zone(void)
{
	enum fake_mode modes[] = {F_FLOOD_SILENT};
	struct env *e;
	struct hf_msg_query mq, other;
	const struct hf_dns_answer *a;
	char label[16];
	struct hf_control_stats st;

	next_per_zone = 3;
	e = env_new(modes, 1, 300, 1, RING_SZ);
	next_per_zone = 0;
	for (unsigned i = 0; i < 5; i++) {
		snprintf(label, sizeof(label), "fl%u", i);
		ask(e, &mq, label);
	}
	ask(e, &mq, "fl0"); /* in flight: joins */
	pump(e, 2, 100);
	st = stats(e);
	CHECK_EQ(st.resolutions, 3);
	CHECK_EQ(st.coalesced, 1);
	CHECK_EQ(st.fetch_limited_zone, 2);
	CHECK_EQ(st.fetch_limited_server, 0);
	CHECK_EQ(st.failures, 2);
	CHECK_EQ(st.in_flight, 3);
	CHECK_EQ(e->fakes[0].udp_queries, 3);
	make_key(&mq, 0, HF_MSG_MISS, 0, "fl3");
	check_limited(fill_at(e, 0, &mq), "fetches-per-zone: 3 in flight for www.example.");
	make_key(&mq, 0, HF_MSG_MISS, 0, "fl4");
	check_limited(fill_at(e, 1, &mq), "fetches-per-zone: 3 in flight for www.example.");
	/* the zone (from fl4's 4 bytes on) rides in the flags, for the cores */
	a = fill_at(e, 1, &mq);
	CHECK(a != NULL && a->flags == HF_ANS_ZONE_FLAGS(4));

	/* another zone during the flood */
	ask(e, &other, NULL);
	a = positive_fill(e, 2, &other, 1);
	CHECK_EQ(stats(e).resolutions, 4);

	/* the 3 time out (EDE 22, cached): the zone has room again */
	pump(e, 6, 2000);
	st = stats(e);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(st.timeouts, 3);
	ask(e, &mq, "fl5");
	pump(e, 0, 20);
	st = stats(e);
	CHECK_EQ(st.resolutions, 5);
	CHECK_EQ(st.fetch_limited_zone, 2);
	CHECK_EQ(st.in_flight, 1);
	(void)a;
	env_free(e);
}

/* mq: a MISS from worker 0 for <l1>.<l2>.www.example A. */
static void make_key2(struct hf_msg_query *mq, const char *l1, const char *l2)
{
	uint8_t name[HF_DNS_NAME_MAX];
	size_t n = 0, l;

	make_key(mq, 0, HF_MSG_MISS, 0, l2);
	l = strlen(l1);
	name[n++] = (uint8_t)l;
	memcpy(name + n, l1, l);
	n += l;
	memcpy(name + n, mq->key.name, mq->key.name_len);
	n += mq->key.name_len;
	memcpy(mq->key.name, name, n);
	mq->key.name_len = (uint8_t)n;
	mq->hash = hf_cache_key_hash(&mq->key);
}

/* MISSes for fl<N>.s<N>.www.example, N from .. to. */
static void flood2(struct env *e, unsigned from, unsigned to)
{
	struct hf_msg_query mq;
	char l1[16], l2[16];

	for (unsigned i = from; i <= to; i++) {
		snprintf(l1, sizeof(l1), "fl%u", i);
		snprintf(l2, sizeof(l2), "s%u", i);
		make_key2(&mq, l1, l2);
		send_miss(e, &mq);
	}
}

/* fetches-per-zone 3 counts against the deepest zone cut known: once an
 * NXDOMAIN with the SOA of www.example is seen, fl<N>.s<N>.www.example
 * (each its own "zone" by the name less its first label) all count
 * against www.example: 3 resolutions, the rest SERVFAIL at once naming
 * www.example. A resolution counted before the cut was known (against
 * s0.www.example) gives its count back to that zone: once the 4 time
 * out, 3 go out again and the 4th is limited. */
static void test_fetches_per_zone_cut(void)
{
	enum fake_mode modes[] = {F_FLOOD_SILENT};
	struct env *e;
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;
	struct hf_control_stats st;
	unsigned nfill = 0;

	next_per_zone = 3;
	e = env_new(modes, 1, 300, 1, RING_SZ);
	next_per_zone = 0;
	make_key2(&mq, "fl0", "s0"); /* before the cut is known: zone s0.www.example */
	send_miss(e, &mq);
	ask(e, &mq, "nx1");
	pump(e, ++nfill, 2000);
	a = fill_at(e, 0, &mq);
	CHECK(a != NULL && a->rcode == HF_RCODE_NXDOMAIN);
	flood2(e, 1, 5);
	pump(e, nfill + 2, 1000);
	st = stats(e);
	CHECK_EQ(st.resolutions, 5); /* fl0.s0, nx1, fl1.s1 .. fl3.s3 */
	CHECK_EQ(st.fetch_limited_zone, 2);
	CHECK_EQ(st.in_flight, 4);
	make_key2(&mq, "fl4", "s4");
	check_limited(fill_at(e, nfill++, &mq), "fetches-per-zone: 3 in flight for www.example.");
	make_key2(&mq, "fl5", "s5");
	check_limited(fill_at(e, nfill, &mq), "fetches-per-zone: 3 in flight for www.example.");
	a = fill_at(e, nfill++, &mq);
	CHECK(a != NULL && a->flags == HF_ANS_ZONE_FLAGS(7)); /* fl5.s5. is 7 bytes */

	/* the 4 time out; no count is left behind */
	pump(e, nfill + 4, 2000);
	nfill += 4;
	CHECK_EQ(stats(e).in_flight, 0);
	flood2(e, 6, 9);
	make_key2(&mq, "fl9", "s9");
	pump(e, nfill + 1, 1000);
	st = stats(e);
	CHECK_EQ(st.resolutions, 8);
	CHECK_EQ(st.fetch_limited_zone, 3);
	CHECK_EQ(st.in_flight, 3);
	check_limited(fill_at(e, nfill, &mq), "fetches-per-zone: 3 in flight for www.example.");
	env_free(e);
}

/* fetches-per-server 2 on two forwarders: a question whose turn falls on
 * a forwarder at the limit goes to the other one; when both are at it,
 * SERVFAIL at once. */
static void test_fetches_per_server(void)
{
	enum fake_mode modes[] = {F_SILENT, F_ANSWER};
	enum fake_mode silent[] = {F_SILENT, F_SILENT};
	struct env *e;
	struct hf_msg_query mq;
	char label[16];
	struct hf_control_stats st;

	next_per_server = 2;
	e = env_new(modes, 2, 5000, 1, RING_SZ);
	/* turns: q0 -> 0, q1 -> 1, q2 -> 0 (now at 2), q3 -> 1 */
	for (unsigned i = 0; i < 4; i++) {
		snprintf(label, sizeof(label), "q%u", i);
		ask(e, &mq, label);
	}
	pump(e, 2, 2000); /* forwarder 1 answers q1 and q3 */
	CHECK_EQ(e->fakes[0].udp_queries, 2);
	CHECK_EQ(e->fakes[1].udp_queries, 2);
	/* q4's turn is forwarder 0, at its limit: forwarder 1 answers it */
	ask(e, &mq, "q4");
	positive_fill(e, 2, &mq, 1);
	CHECK_EQ(e->fakes[0].udp_queries, 2);
	CHECK_EQ(e->fakes[1].udp_queries, 3);
	st = stats(e);
	CHECK_EQ(st.fetch_limited_server, 0);
	CHECK_EQ(st.in_flight, 2);
	env_free(e);

	/* both silent: 4 in flight, the fifth fails at once */
	e = env_new(silent, 2, 5000, 1, RING_SZ);
	next_per_server = 0;
	for (unsigned i = 0; i < 5; i++) {
		snprintf(label, sizeof(label), "q%u", i);
		ask(e, &mq, label);
	}
	pump(e, 1, 100);
	CHECK_EQ(e->fakes[0].udp_queries, 2);
	CHECK_EQ(e->fakes[1].udp_queries, 2);
	st = stats(e);
	CHECK_EQ(st.fetch_limited_server, 1);
	CHECK_EQ(st.fetch_limited_zone, 0);
	CHECK_EQ(st.failures, 1);
	CHECK_EQ(st.in_flight, 4);
	CHECK_EQ(st.upstream_queries, 4);
	check_limited(fill_at(e, 0, &mq), "fetches-per-server: every forwarder has 2 in flight");
	env_free(e);
}

/* ---- control-threads ---- */

/* A key hash names one of n threads, the same for every worker, spread
 * evenly; n = 1 is always thread 0 (what every worker did before). */
static void test_threads_shard(void)
{
	unsigned count[HF_MAX_CTL_THREADS];
	uint32_t h = 0x9e3779b9u;

	for (unsigned i = 0; i < 1000; i++, h = h * 1664525u + 1013904223u)
		CHECK_EQ(hf_msg_shard(h, 1), 0);
	CHECK_EQ(hf_msg_shard(0, 2), 0);
	CHECK_EQ(hf_msg_shard(UINT32_MAX, 2), 1);
	CHECK_EQ(hf_msg_shard(UINT32_MAX, 8), 7);
	CHECK_EQ(hf_msg_shard(0x80000000u, 2), 1);
	CHECK_EQ(hf_msg_shard(0x7fffffffu, 2), 0);
	for (unsigned n = 2; n <= HF_MAX_CTL_THREADS; n++) {
		struct hf_msg_query mq;
		char label[16];
		memset(count, 0, sizeof(count));
		/* real keys' hashes: www.example with 8000 first labels */
		for (unsigned i = 0; i < 8000; i++) {
			snprintf(label, sizeof(label), "n%u", i);
			make_key(&mq, 0, HF_MSG_MISS, 0, label);
			CHECK(hf_msg_shard(mq.hash, n) < n);
			count[hf_msg_shard(mq.hash, n)]++;
		}
		for (unsigned t = 0; t < n; t++) /* within 15% of an even share */
			CHECK(count[t] * 100 > 8000 * 85 / n && count[t] * 100 < 8000 * 115 / n);
	}
}

/* Pump until every worker saw want messages, as pump() does, and the
 * other control threads have been given their time. */
static void pump_threads(struct env *e, unsigned want, unsigned ms)
{
	pump(e, want, ms);
	CHECK(e->nseen[0] >= want && e->nseen[1] >= want);
}

/* control-threads 2: one question from both workers, on the ring of the
 * thread its hash names, is resolved once: one upstream query, one FILL on
 * each worker, sent by thread 0 whichever thread resolved it. */
static void test_threads_once(void)
{
	enum fake_mode modes[] = {F_ANSWER};
	struct hf_msg_query mq;
	struct hf_control_stats st;
	struct env *e;
	char label[16];
	unsigned t = 0, i;

	next_threads = 2;
	e = env_new(modes, 1, 2000, 1, RING_SZ);
	next_threads = 1;
	/* once with a name thread 0 resolves, once with one thread 1 does */
	for (unsigned want = 0; want < 2; want++) {
		for (i = 0;; i++) {
			snprintf(label, sizeof(label), "o%u", i);
			make_key(&mq, 0, HF_MSG_MISS, 0, label);
			if (hf_msg_shard(mq.hash, 2) == want)
				break;
		}
		t = want;
		send_miss(e, &mq);
		mq.worker = 1;
		send_miss(e, &mq);
		pump_threads(e, want + 1, 2000);
		fill_at(e, want, &mq);
		pump(e, 0, 50); /* nothing more comes */
		CHECK_EQ(e->nseen[0], want + 1);
		CHECK_EQ(e->nseen[1], want + 1);
		CHECK_EQ(e->fakes[0].udp_queries, want + 1);
		CHECK_EQ(hf_control_thread_resolutions(e->c, t), 1);
	}
	st = stats(e); /* summed over both threads */
	CHECK_EQ(st.requests, 4);
	CHECK_EQ(st.resolutions, 2);
	CHECK_EQ(st.coalesced, 2);
	CHECK_EQ(st.fills, 2);
	CHECK_EQ(st.in_flight, 0);
	env_free(e);
}

/* The NTA changes thread 0 remembers: an answer made under an older list
 * is stale when a change since then is at or above its name. */
static void test_threads_nta_log(void)
{
	static struct hf_ctl_nta_log l; /* zeroed: epoch 0, no change */
	static const uint8_t zone[] = "\7example", www[] = "\3www\7example", other[] = "\5other",
			     root[] = "";
	uint64_t e1, e2;

	CHECK(!hf_ctl_nta_log_stale(&l, 0, www, sizeof(www)));
	e1 = hf_ctl_nta_log_add(&l, zone, sizeof(zone));
	CHECK_EQ(e1, 1);
	CHECK(hf_ctl_nta_log_stale(&l, 0, www, sizeof(www)));	   /* below the change */
	CHECK(hf_ctl_nta_log_stale(&l, 0, zone, sizeof(zone)));	   /* at it */
	CHECK(!hf_ctl_nta_log_stale(&l, 0, other, sizeof(other))); /* elsewhere */
	CHECK(!hf_ctl_nta_log_stale(&l, 0, root, sizeof(root)));   /* above it */
	CHECK(!hf_ctl_nta_log_stale(&l, e1, www, sizeof(www)));	   /* made after it */
	e2 = hf_ctl_nta_log_add(&l, other, sizeof(other));
	CHECK(hf_ctl_nta_log_stale(&l, e1, other, sizeof(other)));
	CHECK(!hf_ctl_nta_log_stale(&l, e1, www, sizeof(www)));
	CHECK(!hf_ctl_nta_log_stale(&l, e2, other, sizeof(other)));
	/* past what is kept: stale whatever the name */
	for (unsigned i = 0; i < HF_CTL_NTA_LOG; i++)
		hf_ctl_nta_log_add(&l, other, sizeof(other));
	CHECK_EQ(l.epoch, e2 + HF_CTL_NTA_LOG);
	CHECK(!hf_ctl_nta_log_stale(&l, e2, www, sizeof(www))); /* the last 64: all "other" */
	CHECK(hf_ctl_nta_log_stale(&l, e1, www, sizeof(www)));	/* older than the log */
}

/* An env with control-threads n and one fake upstream in mode, and
 * `names` questions (prefix0.www.example, ...) sent from alternating
 * workers; want[t]: how many of them thread t resolves. */
static struct env *threads_env(unsigned n, enum fake_mode mode, uint64_t timeout_ms,
			       const char *prefix, unsigned names, unsigned *want)
{
	struct hf_msg_query mq;
	struct env *e;
	char label[16];

	next_threads = n;
	e = env_new(&mode, 1, timeout_ms, 1, RING_SZ);
	next_threads = 1;
	memset(want, 0, n * sizeof(*want));
	for (unsigned i = 0; i < names; i++) {
		snprintf(label, sizeof(label), "%s%u", prefix, i);
		make_key(&mq, i % NW, HF_MSG_MISS, 0, label);
		want[hf_msg_shard(mq.hash, n)]++;
		send_miss(e, &mq);
	}
	return e;
}

/* control-threads 2: 200 names from both workers, each resolved by the
 * thread its hash names; every answer reaches both workers. */
static void test_threads_spread(void)
{
	unsigned want[2];
	struct env *e = threads_env(2, F_ANSWER, 2000, "s", 200, want);

	pump_threads(e, 200, 5000);
	CHECK(want[0] > 0 && want[1] > 0);
	CHECK_EQ(hf_control_thread_resolutions(e->c, 0), want[0]);
	CHECK_EQ(hf_control_thread_resolutions(e->c, 1), want[1]);
	CHECK_EQ(e->fakes[0].udp_queries, 200);
	CHECK_EQ(stats(e).fills, 200);
	for (unsigned i = 0; i < 200; i++) {
		CHECK_EQ(e->seen[0][i]->type, HF_MSG_FILL);
		CHECK(e->seen_ptr[1][i] == e->seen_ptr[0][i]); /* one producer: one order */
	}
	env_free(e);
}

/* control-threads 3, an upstream that never answers: a stop with
 * resolutions in flight on every thread frees them all (ASan's leak check
 * in the ASan build). */
static void test_threads_stop_in_flight(void)
{
	unsigned want[3];
	struct env *e = threads_env(3, F_SILENT, 10000, "x", 60, want);

	for (uint64_t end = now_ms() + 2000; now_ms() < end && stats(e).in_flight < 60;)
		pump(e, 0, 10);
	CHECK_EQ(stats(e).in_flight, 60);
	for (unsigned t = 0; t < 3; t++) {
		CHECK(want[t] > 0);
		CHECK_EQ(hf_control_thread_resolutions(e->c, t), want[t]);
	}
	CHECK_EQ(e->nseen[0], 0);
	env_free(e);
}

/* The UDP sockets of attempts (control/fwd_sock.c): one that carried a
 * query cleanly carries the next, at most 16 queries, one at a time; then
 * a new socket, on a new source port. 40 questions one after the other:
 * 3 sockets, the ports in runs of 16, 16 and 8 (the kernel draws a new
 * socket's port at random from about 28,000: a 1 in 14,000 chance that
 * two runs share one and the case fails). A socket also retires
 * HF_FWD_SOCK_LIFE_MS after it opened: when a slow machine (ASan, a busy
 * CPU) takes longer than that over the 40, runs may be shorter, never
 * longer than 16. */
static void test_socket_reuse_bounded(void)
{
	enum fake_mode modes[] = {F_ANSWER};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct fake *f = &e->fakes[0];
	struct hf_msg_query mq;
	unsigned run = 1, runs[8] = {0}, nruns = 0;
	char label[8];
	uint64_t t0 = now_ms();
	bool slow;

	for (unsigned i = 0; i < 40; i++) {
		snprintf(label, sizeof(label), "r%u", i);
		ask(e, &mq, label);
		positive_fill(e, i, &mq, 1);
	}
	slow = now_ms() - t0 >= HF_FWD_SOCK_LIFE_MS;
	CHECK_EQ(f->udp_queries, 40);
	for (unsigned i = 1; i <= 40; i++) {
		if (i < 40 && f->ports[i] == f->ports[i - 1]) {
			run++;
			continue;
		}
		if (nruns < HF_ARRAY_LEN(runs))
			runs[nruns] = run;
		nruns++;
		run = 1;
	}
	if (slow) {
		printf("# 40 round trips took over %u ms: runs checked for at most 16 each\n",
		       HF_FWD_SOCK_LIFE_MS);
		CHECK(nruns >= 3 && nruns <= HF_ARRAY_LEN(runs));
		for (unsigned i = 0; i < nruns && i < HF_ARRAY_LEN(runs); i++)
			CHECK(runs[i] >= 1 && runs[i] <= 16);
		CHECK_EQ(stats(e).upstream_sockets, nruns);
	} else {
		CHECK_EQ(nruns, 3);
		CHECK_EQ(runs[0], 16);
		CHECK_EQ(runs[1], 16);
		CHECK_EQ(runs[2], 8);
		CHECK_EQ(stats(e).upstream_sockets, 3);
	}
	CHECK_EQ(stats(e).upstream_queries, 40);
	CHECK_EQ(stats(e).mismatched, 0);
	/* each query its own random ID: not all the same on one socket */
	{
		bool differ = false;
		for (unsigned i = 1; i < 16; i++)
			differ |= f->ids[i] != f->ids[0];
		CHECK(differ);
	}
	env_free(e);
}

/* A late copy of the previous answer on a reused socket: the ID and the
 * question (another name) are not the current query's, so it is counted
 * and ignored, the query takes its own answer, and the socket, which got
 * something that was not its answer, is not used again. */
static void test_socket_late_answer(void)
{
	enum fake_mode modes[] = {F_LATE};
	struct env *e = env_new(modes, 1, 500, 1, RING_SZ);
	struct fake *f = &e->fakes[0];
	struct hf_msg_query mq;
	const struct hf_dns_answer *a;

	ask(e, &mq, "a");
	positive_fill(e, 0, &mq, 1);
	CHECK_EQ(stats(e).mismatched, 0);
	ask(e, &mq, "b");
	a = positive_fill(e, 1, &mq, 1); /* fill_at checks it is b's key */
	if (a)
		CHECK_EQ(a->ttl, 300);
	CHECK_EQ(f->udp_queries, 2);
	CHECK_EQ(f->ports[1], f->ports[0]); /* reused */
	CHECK_EQ(stats(e).mismatched, 1);   /* a's answer, late */
	CHECK_EQ(stats(e).responses, 2);
	CHECK_EQ(stats(e).upstream_sockets, 1);
	ask(e, &mq, "c");
	positive_fill(e, 2, &mq, 1);
	CHECK_EQ(stats(e).upstream_sockets, 2); /* a new socket for c */
	CHECK_EQ(stats(e).mismatched, 1);	/* and no late copy on it */
	CHECK_EQ(stats(e).failures, 0);
	env_free(e);
}

/* A socket whose attempt timed out may still get the late answer: it is
 * closed, and the next query goes out on a new one (on another port but
 * for a 1 in 28,000 chance). */
static void test_socket_not_reused_after_timeout(void)
{
	enum fake_mode modes[] = {F_FLOOD_SILENT};
	struct env *e = env_new(modes, 1, 100, 1, RING_SZ);
	struct fake *f = &e->fakes[0];
	struct hf_msg_query mq;

	ask(e, &mq, "flood");
	pump(e, 1, 2000);
	CHECK_EQ(stats(e).timeouts, 1);
	ask(e, &mq, "ok");
	positive_fill(e, 1, &mq, 1);
	CHECK_EQ(f->udp_queries, 2);
	CHECK(f->ports[1] != f->ports[0]);
	CHECK_EQ(stats(e).upstream_sockets, 2);
	env_free(e);
}

/* Run last: lowers the descriptor limit for good. With 1024 descriptors
 * control allows 768 resolutions in flight; the rest are answered
 * "resolver overloaded" at once. */
static void test_overloaded(void)
{
	enum fake_mode modes[] = {F_SILENT};
	struct rlimit rl = {1024, 1024};
	struct env *e;
	struct hf_msg_query mq;
	char label[16];
	unsigned sent = 0;
	const struct hf_dns_answer *a;

	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "setrlimit(RLIMIT_NOFILE, 1024): %s: the case cannot run\n",
			strerror(errno));
		CHECK(!"RLIMIT_NOFILE set to 1024");
		return;
	}
	e = env_new(modes, 1, 10000, 1, RING_SZ);
	while (sent < 800) {
		for (unsigned k = 0; k < 200; k++, sent++) {
			snprintf(label, sizeof(label), "o%u", sent);
			make_key(&mq, 0, HF_MSG_MISS, 0, label);
			send_miss(e, &mq);
		}
		pump(e, 0, 20);
	}
	pump(e, 0, 50);
	CHECK_EQ(stats(e).resolutions, 768);
	CHECK_EQ(stats(e).in_flight, 768);
	CHECK_EQ(stats(e).overloaded, 32);
	CHECK_EQ(e->nseen[0], 32);
	make_key(&mq, 0, HF_MSG_MISS, 0, "o799");
	a = fill_at(e, 31, &mq);
	if (a) {
		CHECK_EQ(a->kind, HF_ANS_FAILURE);
		CHECK_EQ(a->rcode, HF_RCODE_SERVFAIL);
		CHECK_EQ(a->ede, HF_EDE_OTHER);
		CHECK(ede_text_has(a, "resolver overloaded"));
		/* cached for failure-ttl (7 here), insecure */
		CHECK_EQ(a->ttl, 7);
		CHECK_EQ(a->security, HF_SECURITY_INSECURE);
	}
	env_free(e);
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_answer_and_fanout),
		TEST_CASE(test_wrong_id_ignored),
		TEST_CASE(test_wrong_question_ignored),
		TEST_CASE(test_wrong_case_ignored),
		TEST_CASE(test_unrelated_scrubbed),
		TEST_CASE(test_cookies),
		TEST_CASE(test_timeout_then_next_forwarder),
		TEST_CASE(test_icmp_does_not_end_attempt),
		TEST_CASE(test_tc_then_tcp),
		TEST_CASE(test_all_fail),
		TEST_CASE(test_servfail_passes_ede),
		TEST_CASE(test_backlog_keeps_order),
		TEST_CASE(test_many),
		TEST_CASE(test_broadcast),
		TEST_CASE(test_fetches_per_zone),
		TEST_CASE(test_fetches_per_zone_cut),
		TEST_CASE(test_fetches_per_server),
		TEST_CASE(test_threads_shard),
		TEST_CASE(test_threads_nta_log),
		TEST_CASE(test_threads_once),
		TEST_CASE(test_threads_spread),
		TEST_CASE(test_threads_stop_in_flight),
		TEST_CASE(test_socket_reuse_bounded),
		TEST_CASE(test_socket_late_answer),
		TEST_CASE(test_socket_not_reused_after_timeout),
		TEST_CASE(test_overloaded), /* last: lowers RLIMIT_NOFILE */
	};
	int rc;
	(void)argc;
	if (hf_test_eal_init(argv[0], "fwd") != 0)
		return 1;
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	rte_eal_cleanup();
	return rc;
}
