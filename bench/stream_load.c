/* stream_load: long-lived DNS-over-TCP or DNS-over-TLS connections kept
 * full of queries by a client cheap enough that its one core can keep a
 * server's core busy (bench/e2e/transport.sh, docs/bench.md).
 *
 *   stream_load [-T CAFILE] [-c CONNS] [-q OUTSTANDING] [-l SECONDS]
 *               -d FILE ADDR PORT
 *
 * The wire is dnsperf -m tcp / -m dot's: CONNS connections (default 8),
 * OUTSTANDING queries in flight over all of them (default 100, shared
 * evenly), the names and types of FILE (dnsperf's "name type" lines) in
 * turn, each query its own two-byte length and message and, with -T, its
 * own TLS record (ALPN "dot", the certificate checked against CAFILE).
 * What differs is the client's cost: dnsperf writes each query with a
 * system call of its own (over TLS an SSL_write to the socket), which
 * keeps its core busy at about the rate one holdfast core answers DoT.
 * Here a connection's answers are read with read-ahead, and the queries
 * that refill its window are framed (sealed into records in memory over
 * TLS) and go out in one send().
 *
 * Answers are matched by ID (any order); an answer with an ID not in
 * flight, or not a response, is an error. A query unanswered for 5 s is
 * lost. Prints one line of "key value" pairs: answered, sent, lost,
 * errors, answers by rcode, seconds, per second, and the send-to-answer
 * latency (avg, p50, p99, microseconds). Exit status 1 when anything was
 * lost, a connection failed or nothing was answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_client.h"

#define MAX_CONNS     256
#define MAX_WINDOW    4096	/* queries in flight on one connection */
#define MAX_QUERY     (2 + 512) /* length prefix and message */
#define IN_CAP	      (2 + 65535 + 16384)
#define OUT_CAP	      (MAX_WINDOW * (MAX_QUERY + 64)) /* and a record's overhead */
#define MAX_SAMPLES   (1u << 23)
#define LOST_AFTER_NS 5000000000ull

struct conn {
	int fd;
	SSL *ssl;
	BIO *wmem; /* TLS: the records sealed for the next send() */
	uint32_t inflight;
	uint16_t next_id;
	bool dead;
	bool want_out; /* EPOLLOUT watched: the socket was full */
	size_t in_len, out_off, out_len;
	uint64_t sent_at[65536]; /* by ID; 0: free */
	uint8_t in[IN_CAP];
	uint8_t out[OUT_CAP];
};

struct query {
	uint16_t len;
	uint8_t wire[MAX_QUERY];
};

static struct query *queries;
static size_t nqueries, next_query;
static uint32_t window;
static int ep;
static uint64_t sent, answered, lost, errors, by_rcode[16];
static uint32_t *lat;
static size_t nlat;

static uint16_t qtype_of(const char *t)
{
	static const struct {
		const char *name;
		uint16_t type;
	} types[] = {{"A", 1},	     {"NS", 2},	    {"CNAME", 5}, {"SOA", 6},  {"PTR", 12},
		     {"MX", 15},     {"TXT", 16},   {"AAAA", 28}, {"SRV", 33}, {"DS", 43},
		     {"DNSKEY", 48}, {"HTTPS", 65}, {"ANY", 255}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(t, types[i].name) == 0)
			return types[i].type;
	return 0;
}

static int load_queries(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[600], name[512], type[32];
	size_t cap = 0;
	unsigned lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "stream_load: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%511s %31s", name, type) != 2 || qtype_of(type) == 0) {
			fprintf(stderr, "stream_load: %s:%u: not a \"name type\" line\n", path,
				lineno);
			fclose(f);
			return -1;
		}
		if (nqueries == cap) {
			cap = cap ? 2 * cap : 1024;
			queries = realloc(queries, cap * sizeof(*queries));
			if (queries == NULL)
				return -1;
		}
		queries[nqueries].len = (uint16_t)build_query(queries[nqueries].wire, MAX_QUERY,
							      name, qtype_of(type));
		if (queries[nqueries].len == 0) {
			fprintf(stderr, "stream_load: %s:%u: bad name %s\n", path, lineno, name);
			fclose(f);
			return -1;
		}
		nqueries++;
	}
	fclose(f);
	if (nqueries == 0) {
		fprintf(stderr, "stream_load: %s: no queries\n", path);
		return -1;
	}
	return 0;
}

static void conn_fail(struct conn *c, const char *what)
{
	if (c->dead)
		return;
	fprintf(stderr, "stream_load: connection %d: %s\n", c->fd, what);
	errors++;
	c->dead = true;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
}

static void set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Send what is framed; what the socket does not take waits for EPOLLOUT. */
static void conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (!c->want_out)
					set_events(c, EPOLLIN | EPOLLOUT);
				c->want_out = true;
				return;
			}
			conn_fail(c, strerror(errno));
			return;
		}
		c->out_off += (size_t)k;
	}
	if (c->want_out)
		set_events(c, EPOLLIN);
	c->want_out = false;
	c->out_off = c->out_len = 0;
}

/* Fill the connection's window: frame (seal) the queries, one send(). */
static void conn_fill(struct conn *c, uint64_t now)
{
	if (c->dead || c->out_len != 0)
		return;
	while (c->inflight < window) {
		const struct query *q = &queries[next_query];
		uint8_t tmp[MAX_QUERY];
		uint8_t *w = c->ssl != NULL ? tmp : c->out + c->out_len;
		uint16_t id = c->next_id;

		while (c->sent_at[id] != 0)
			id++;
		c->next_id = (uint16_t)(id + 1);
		memcpy(w, q->wire, q->len);
		w[2] = (uint8_t)(id >> 8), w[3] = (uint8_t)id;
		if (c->ssl != NULL) {
			/* a record of its own, into the memory BIO */
			if (SSL_write(c->ssl, w, q->len) != q->len) {
				conn_fail(c, "SSL_write");
				return;
			}
		} else {
			c->out_len += q->len;
		}
		c->sent_at[id] = now;
		c->inflight++;
		sent++;
		next_query = next_query + 1 == nqueries ? 0 : next_query + 1;
	}
	if (c->ssl != NULL) {
		int n;
		while ((n = BIO_read(c->wmem, c->out + c->out_len, (int)(OUT_CAP - c->out_len))) >
		       0)
			c->out_len += (size_t)n;
	}
	conn_flush(c);
}

static void on_answer(struct conn *c, const uint8_t *m, size_t len, uint64_t now)
{
	uint16_t id;

	if (len < 12 || (m[2] & 0x80) == 0) {
		conn_fail(c, "not a DNS response");
		return;
	}
	id = (uint16_t)(m[0] << 8 | m[1]);
	if (c->sent_at[id] == 0) {
		conn_fail(c, "an answer with an ID not in flight");
		return;
	}
	if (nlat < MAX_SAMPLES)
		lat[nlat++] = (uint32_t)((now - c->sent_at[id]) / 1000);
	c->sent_at[id] = 0;
	c->inflight--;
	answered++;
	by_rcode[m[3] & 0x0f]++;
}

/* Read what the socket has and take every whole answer. */
static void conn_read(struct conn *c, uint64_t now)
{
	for (;;) {
		size_t off = 0;
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, c->in + c->in_len, (int)(IN_CAP - c->in_len));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				ERR_clear_error();
				if (e != SSL_ERROR_WANT_READ)
					conn_fail(c, "TLS read failed or closed");
				return;
			}
			n = r;
		} else {
			n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
			if (n <= 0) {
				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					return;
				conn_fail(c, n == 0 ? "closed by the server" : strerror(errno));
				return;
			}
		}
		c->in_len += (size_t)n;
		while (c->in_len - off >= 2) {
			size_t l = (size_t)c->in[off] << 8 | c->in[off + 1];
			if (c->in_len - off < 2 + l)
				break;
			on_answer(c, c->in + off + 2, l, now);
			if (c->dead)
				return;
			off += 2 + l;
		}
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		/* level-triggered: read again only for what is already here */
		if (c->ssl != NULL ? !SSL_has_pending(c->ssl) : (size_t)n < IN_CAP)
			return;
	}
}

/* Queries in flight for LOST_AFTER_NS are given up. */
static void expire(struct conn *c, uint64_t now)
{
	for (uint32_t id = 0; id < 65536 && c->inflight > 0; id++) {
		if (c->sent_at[id] != 0 && now - c->sent_at[id] > LOST_AFTER_NS) {
			c->sent_at[id] = 0;
			c->inflight--;
			lost++;
		}
	}
}

static int conn_open(struct conn *c, const struct sockaddr_in *srv, SSL_CTX *ctx)
{
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)srv, sizeof(*srv)) != 0) {
		fprintf(stderr, "stream_load: connect: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ctx != NULL) {
		BIO *sock = BIO_new_socket(c->fd, BIO_NOCLOSE);
		c->ssl = SSL_new(ctx);
		if (sock == NULL || c->ssl == NULL)
			return -1;
		SSL_set_bio(c->ssl, sock, sock);
		if (SSL_connect(c->ssl) != 1) {
			fprintf(stderr, "stream_load: TLS handshake failed\n");
			ERR_print_errors_fp(stderr);
			return -1;
		}
		/* from here on records are sealed into memory and sent by us */
		c->wmem = BIO_new(BIO_s_mem());
		if (c->wmem == NULL)
			return -1;
		SSL_set0_wbio(c->ssl, c->wmem);
	}
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
}

static void usage(void)
{
	fprintf(stderr, "usage: stream_load [-T CAFILE] [-c CONNS] [-q OUTSTANDING] "
			"[-l SECONDS] -d FILE ADDR PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ca = NULL, *file = NULL;
	unsigned nconns = 8, outstanding = 100;
	double secs = 10;
	struct sockaddr_in srv;
	SSL_CTX *ctx = NULL;
	struct conn **conns;
	struct epoll_event ev[64];
	uint64_t start, end, t, next_expire;
	int opt;

	while ((opt = getopt(argc, argv, "T:c:q:l:d:")) != -1) {
		switch (opt) {
		case 'T':
			ca = optarg;
			break;
		case 'c':
			nconns = (unsigned)atoi(optarg);
			break;
		case 'q':
			outstanding = (unsigned)atoi(optarg);
			break;

		case 'l':
			secs = atof(optarg);
			break;
		case 'd':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || file == NULL || nconns == 0 || nconns > MAX_CONNS ||
	    outstanding < nconns || outstanding / nconns > MAX_WINDOW || secs <= 0)
		usage();
	window = outstanding / nconns;
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &srv.sin_addr) != 1)
		usage();
	if (load_queries(file) != 0)
		return 2;
	if (ca != NULL) {
		ctx = dot_client_ctx(ca);
		if (ctx == NULL)
			return 1;
		SSL_CTX_set_read_ahead(ctx, 1);
	}
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	conns = calloc(nconns, sizeof(*conns));
	ep = epoll_create1(0);
	if (lat == NULL || conns == NULL || ep < 0)
		return 1;
	for (unsigned i = 0; i < nconns; i++) {
		conns[i] = calloc(1, sizeof(**conns));
		if (conns[i] == NULL || conn_open(conns[i], &srv, ctx) != 0)
			return 1;
	}

	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	next_expire = start + 1000000000ull;
	for (unsigned i = 0; i < nconns; i++)
		conn_fill(conns[i], start);
	for (t = start; t < end; t = now_ns()) {
		int n = epoll_wait(ep, ev, 64, 10);
		t = now_ns();
		for (int k = 0; k < n; k++) {
			struct conn *c = ev[k].data.ptr;
			if (!c->dead && (ev[k].events & EPOLLOUT) != 0)
				conn_flush(c);
			if (!c->dead && (ev[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0)
				conn_read(c, t);
			conn_fill(c, t);
		}
		if (t >= next_expire) {
			for (unsigned i = 0; i < nconns; i++) {
				expire(conns[i], t);
				conn_fill(conns[i], t);
			}
			next_expire = t + 1000000000ull;
		}
	}
	secs = (double)(t - start) / 1e9;
	printf("answered %llu sent %llu lost %llu errors %llu noerror %llu nxdomain %llu "
	       "servfail %llu other_rcode %llu seconds %.3f per_second %.0f",
	       (unsigned long long)answered, (unsigned long long)sent, (unsigned long long)lost,
	       (unsigned long long)errors, (unsigned long long)by_rcode[0],
	       (unsigned long long)by_rcode[3], (unsigned long long)by_rcode[2],
	       (unsigned long long)(answered - by_rcode[0] - by_rcode[2] - by_rcode[3]), secs,
	       (double)answered / secs);
	print_latency(lat, nlat);
	return lost != 0 || errors != 0 || answered == 0 ? 1 : 0;
}
