/* conn_rate: short DNS-over-TCP or DNS-over-TLS connections as fast as a
 * server takes them (bench/e2e/transport.sh, docs/bench.md).
 *
 *   conn_rate [-T CAFILE [-r]] [-c CONC] [-l SECONDS] ADDR PORT NAME
 *
 * CONC connections at once (default 16), each: connect (TCP_NODELAY), the
 * TLS handshake with -T (ALPN "dot", the certificate checked against
 * CAFILE; -r resumes the slot's previous session), one query for NAME A
 * (length prefix and message in one write), its answer read whole and
 * checked (same ID, QR, NOERROR), close (the client closes first, so the
 * TIME_WAITs are the client's). A connection that takes over 2 s is an
 * error. Prints one line of "key value" pairs: connections completed,
 * errors, seconds, per second, resumed handshakes, and the connect-to-answer
 * latency (avg, p50, p99, microseconds). dnsperf's num-queries-per-conn
 * cannot stand in: it reconnects with Nagle on and its length and query in
 * two writes, which stalls each connection on a delayed ACK. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_client.h"

#define MAX_CONC	1024
#define MAX_SAMPLES	(1u << 22)
#define CONN_TIMEOUT_NS 2000000000ull

enum st { S_CONNECT, S_HANDSHAKE, S_SEND, S_RECV };

struct slot {
	int fd;
	enum st st;
	SSL *ssl;
	SSL_SESSION *sess;
	uint64_t t0;
	uint16_t id;
	size_t got;
	uint8_t buf[4096];
};

static struct sockaddr_in srv;
static SSL_CTX *ctx;
static int resume, ep;
static uint8_t query[512];
static size_t qlen;
static uint64_t done, errors, resumed;
static uint32_t *lat;
static size_t nlat;

static void slot_close(struct slot *s)
{
	if (s->ssl != NULL) {
		if (resume) {
			if (s->sess != NULL)
				SSL_SESSION_free(s->sess);
			s->sess = SSL_get1_session(s->ssl);
		}
		SSL_shutdown(s->ssl); /* close_notify, not waiting for the peer's */
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int slot_open(struct slot *s, uint32_t idx)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = idx};
	int one = 1;

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->t0 = now_ns();
	s->got = 0;
	s->st = S_CONNECT;
	if (connect(s->fd, (struct sockaddr *)&srv, sizeof(srv)) != 0 && errno != EINPROGRESS)
		return -1;
	return epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e);
}

/* 1: answered, 0: waiting, -1: failed */
static int tls_step(struct slot *s, int rc)
{
	int e = SSL_get_error(s->ssl, rc);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

static int slot_run(struct slot *s)
{
	int rc;
	ssize_t n;

	switch (s->st) {
	case S_CONNECT: {
		int err = 0;
		socklen_t l = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0)
			return err == EINPROGRESS ? 0 : -1;
		if (ctx == NULL) {
			s->st = S_SEND;
			return slot_run(s);
		}
		s->ssl = SSL_new(ctx);
		if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1)
			return -1;
		if (s->sess != NULL)
			SSL_set_session(s->ssl, s->sess);
		s->st = S_HANDSHAKE;
	}
	/* fall through */
	case S_HANDSHAKE:
		rc = SSL_connect(s->ssl);
		if (rc != 1)
			return tls_step(s, rc);
		resumed += SSL_session_reused(s->ssl) == 1;
		s->st = S_SEND;
	/* fall through */
	case S_SEND:
		s->id = (uint16_t)(done + errors);
		query[2] = (uint8_t)(s->id >> 8), query[3] = (uint8_t)s->id;
		if (s->ssl != NULL) {
			rc = SSL_write(s->ssl, query, (int)qlen);
			if (rc <= 0)
				return tls_step(s, rc);
		} else {
			n = send(s->fd, query, qlen, MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			if ((size_t)n != qlen)
				return -1; /* a few dozen bytes into an empty socket */
		}
		s->st = S_RECV;
	/* fall through */
	case S_RECV:
		for (;;) {
			size_t want = s->got < 2 ? 2 : 2 + ((size_t)s->buf[0] << 8 | s->buf[1]);
			if (want > sizeof(s->buf))
				return -1;
			if (s->got >= want && s->got >= 2 + 12)
				break;
			if (s->ssl != NULL) {
				rc = SSL_read(s->ssl, s->buf + s->got, (int)(want - s->got));
				if (rc <= 0)
					return tls_step(s, rc);
				n = rc;
			} else {
				n = recv(s->fd, s->buf + s->got, want - s->got, 0);
				if (n < 0)
					return errno == EAGAIN ? 0 : -1;
				if (n == 0)
					return -1;
			}
			s->got += (size_t)n;
		}
		/* same ID, a response, rcode NOERROR */
		if (((unsigned)s->buf[2] << 8 | s->buf[3]) != s->id || (s->buf[4] & 0x80) == 0 ||
		    (s->buf[5] & 0x0f) != 0)
			return -1;
		return 1;
	}
	return -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: conn_rate [-T CAFILE [-r]] [-c CONC] [-l SECONDS] ADDR PORT NAME\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ca = NULL;
	unsigned conc = 16;
	double secs = 5;
	struct slot *slots;
	struct epoll_event ev[64];
	uint64_t start, end;
	int opt;

	while ((opt = getopt(argc, argv, "T:rc:l:")) != -1) {
		switch (opt) {
		case 'T':
			ca = optarg;
			break;
		case 'r':
			resume = 1;
			break;
		case 'c':
			conc = (unsigned)atoi(optarg);
			break;
		case 'l':
			secs = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || conc == 0 || conc > MAX_CONC || secs <= 0)
		usage();
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &srv.sin_addr) != 1)
		usage();
	qlen = build_query(query, sizeof(query), argv[optind + 2], 1 /* A */);
	if (qlen == 0)
		usage();
	if (ca != NULL) {
		ctx = dot_client_ctx(ca);
		if (ctx == NULL)
			return 1;
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	}
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	slots = calloc(conc, sizeof(*slots));
	ep = epoll_create1(0);
	if (lat == NULL || slots == NULL || ep < 0)
		return 1;

	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	for (unsigned i = 0; i < conc; i++)
		if (slot_open(&slots[i], i) != 0)
			errors++, slots[i].fd = -1;
	for (uint64_t t = start; t < end; t = now_ns()) {
		int n = epoll_wait(ep, ev, 64, 10);
		for (int k = 0; k < n; k++) {
			struct slot *s = &slots[ev[k].data.u32];
			int rc = s->fd >= 0 ? slot_run(s) : 0;
			if (rc == 0)
				continue;
			if (rc > 0) {
				if (nlat < MAX_SAMPLES)
					lat[nlat++] = (uint32_t)((now_ns() - s->t0) / 1000);
				done++;
			} else {
				errors++;
			}
			slot_close(s);
			if (slot_open(s, ev[k].data.u32) != 0)
				errors++, slot_close(s);
		}
		t = now_ns();
		for (unsigned i = 0; i < conc; i++) {
			if (slots[i].fd >= 0 && t - slots[i].t0 > CONN_TIMEOUT_NS) {
				errors++;
				slot_close(&slots[i]);
				if (slot_open(&slots[i], i) != 0)
					errors++, slot_close(&slots[i]);
			}
		}
	}
	secs = (double)(now_ns() - start) / 1e9;
	printf("connections %llu errors %llu seconds %.3f per_second %.0f resumed %llu",
	       (unsigned long long)done, (unsigned long long)errors, secs, (double)done / secs,
	       (unsigned long long)resumed);
	print_latency(lat, nlat);
	return errors > done / 100 ? 1 : 0; /* over 1% failed */
}
