/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the forwarder's attempts (control/fwd_internal.h).
 *
 * Every attempt uses a non-blocking UDP socket connect()ed to the
 * forwarder, so the kernel picks a random source port and drops datagrams
 * from any other address or port: a fresh one, or one that carried a few
 * earlier queries cleanly (fwd_sock.c says which and how many), carrying
 * one query at a time. DNS IDs come from the kernel CSPRNG
 * (getrandom(), 4 KiB buffered: one system call per 400 queries or so),
 * so an ID says nothing about the next one. The query name's letters get
 * a random case per attempt from the same source (DNS 0x20). TC=1 moves
 * the attempt to TCP on the same forwarder with a fresh deadline.
 * Timeouts, socket errors (refused, unreachable) and
 * SERVFAIL/REFUSED/FORMERR move on to the next attempt, rotating across
 * forwarders from a start index that rotates per resolution. An ICMP error
 * on the UDP socket (ECONNREFUSED, EHOSTUNREACH, ...) does not end the
 * attempt: an off-path sender can forge it as easily as a stopped
 * forwarder causes it, so it is counted and the attempt keeps waiting for
 * an answer until its deadline, which then counts as a socket error with
 * the ICMP's reason ("connection refused") rather than a timeout.
 *
 * DNS cookies (RFC 7873, client side): every query carries a COOKIE
 * option with an 8-byte client cookie per forwarder (random, redrawn
 * hourly) and the server cookie that forwarder last sent with it. A
 * response whose COOKIE is malformed or carries another client cookie is
 * counted and ignored like any mismatched one; a response without a COOKIE
 * (a forwarder that does not do cookies) is taken as before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/hf_log.h"
#include "control/fwd_internal.h"

#define HF_FWD_LOG_INTERVAL_MS 10000 /* at most one log line per forwarder per 10 s */
#define HF_FWD_UDP_READS       16    /* datagrams read per readiness event */

/* ---- random DNS IDs and 0x20 case ---- */

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: only used if getrandom() stops working after start-up. */
static uint64_t xoshiro(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return hf_error(HF_EIO);
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* n (<= 8) random bytes from the buffer, refilled from getrandom(). */
static void rand_bytes(struct hf_fwd *f, void *out, size_t n)
{
	struct hf_rand *r = &f->rnd;
	if (r->pos + n > sizeof(r->buf)) {
		if (fill_random(r->buf, sizeof(r->buf)) != 0) {
			uint64_t v = xoshiro(r->s);
			memcpy(out, &v, n);
			return;
		}
		r->pos = 0;
	}
	memcpy(out, r->buf + r->pos, n);
	r->pos += n;
}

uint16_t hf_fwd_rand16(struct hf_fwd *f)
{
	uint16_t v;
	rand_bytes(f, &v, 2);
	return v;
}

/* DNS 0x20: give every letter of the (uncompressed) name a random case. */
static void mix_case(struct hf_fwd *f, uint8_t *name, size_t len)
{
	uint64_t bits = 0;
	unsigned left = 0;
	for (size_t i = 0; i < len && name[i] != 0; i += 1u + name[i])
		for (size_t k = i + 1; k <= i + name[i] && k < len; k++) {
			uint8_t ch = hf_dns_lower[name[k]];
			if (ch < 'a' || ch > 'z') {
				name[k] = ch;
				continue;
			}
			if (left == 0) {
				rand_bytes(f, &bits, sizeof(bits));
				left = 64;
			}
			name[k] = (bits & 1) ? (uint8_t)(ch - 0x20) : ch;
			bits >>= 1;
			left--;
		}
}

int hf_fwd_rand_init(struct hf_fwd *f)
{
	f->rnd.pos = 0;
	if (fill_random(f->rnd.s, sizeof(f->rnd.s)) != 0 ||
	    fill_random(f->rnd.buf, sizeof(f->rnd.buf)) != 0)
		return hf_error(HF_EIO);
	return 0;
}

static void log_fwd(struct hf_fwd *f, unsigned fwd, uint64_t now, const char *text)
{
	if (f->fwd_log_ms[fwd] != 0 && now - f->fwd_log_ms[fwd] < HF_FWD_LOG_INTERVAL_MS) {
		f->fwd_log_quiet[fwd]++;
		return;
	}
	if (f->fwd_log_quiet[fwd])
		hf_log(HF_LOG_WARNING, "forwarder %s (%llu similar messages suppressed)", text,
		       (unsigned long long)f->fwd_log_quiet[fwd]);
	else
		hf_log(HF_LOG_WARNING, "forwarder %s", text);
	f->fwd_log_ms[fwd] = now ? now : 1;
	f->fwd_log_quiet[fwd] = 0;
}

/* Record why the current attempt failed ("ADDR@PORT: problem"). */
void __attribute__((format(printf, 5, 6)))
hf_fwd_set_problem(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now, uint16_t ede,
		   const char *fmt, ...)
{
	char what[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(q->last_err, sizeof(q->last_err), "%s: %s", f->fwd_name[q->fwd], what);
	q->last_ede = ede;
	log_fwd(f, q->fwd, now, q->last_err);
}

static const char *errno_text(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "connection refused";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	case ETIMEDOUT:
		return "timed out";
	default:
		return strerror(e);
	}
}

const char *hf_fwd_rcode_text(unsigned rcode, char *buf, size_t size)
{
	if (hf_rcode_name(rcode) != NULL)
		return hf_rcode_name(rcode);
	snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

/* ---- attempts ---- */

static int watch(struct hf_fwd *f, struct hf_fwd_query *q, uint32_t events, int op)
{
	return op == EPOLL_CTL_ADD ? hf_loop_add(f->loop, q->fd, events, &q->io)
				   : hf_loop_mod(f->loop, q->fd, events, &q->io);
}

/* Append our COOKIE option (client cookie, and the server cookie when one
 * is known) to the query of len bytes in q->qbuf, whose OPT is the last
 * RR and has no options yet. Returns the new length. */
static int add_cookie(struct hf_fwd *f, struct hf_fwd_query *q, int len, uint64_t now)
{
	struct hf_fwd_cookie *k = &f->cookie[q->fwd];
	uint8_t *p = q->qbuf + 2 + len;
	size_t n;

	if (k->born_ms == 0 || now - k->born_ms >= HF_FWD_COOKIE_LIFE_MS) {
		rand_bytes(f, k->client, sizeof(k->client));
		k->server_len = 0;
		k->born_ms = now ? now : 1;
	}
	n = 4 + sizeof(k->client) + k->server_len;
	if ((size_t)len + n > HF_FWD_QUERY_MAX)
		return len;
	hf_put16(p, HF_EDNS_OPT_COOKIE);
	hf_put16(p + 2, (uint16_t)(n - 4));
	memcpy(p + 4, k->client, sizeof(k->client));
	memcpy(p + 4 + sizeof(k->client), k->server, k->server_len);
	hf_put16(p - 2, (uint16_t)(n)); /* the OPT's RDLENGTH */
	memcpy(q->cookie, k->client, sizeof(q->cookie));
	return len + (int)n;
}

/* The response's COOKIE option (RFC 7873 5.3, found by hf_dns_msg_parse):
 * true when there is none (the forwarder does not do cookies) or it
 * carries our client cookie, whose server cookie is then remembered; false
 * when it is malformed or carries a client cookie that is not ours. */
bool hf_fwd_cookie_ok(struct hf_fwd *f, const struct hf_fwd_query *q, const struct hf_dns_msg *m)
{
	struct hf_fwd_cookie *k = &f->cookie[q->fwd];
	const uint8_t *v = m->wire + m->cookie_off;
	uint16_t olen = m->cookie_len;

	if (m->cookie_off == 0)
		return true;
	if (olen < 16 || olen > 40 || memcmp(v, q->cookie, sizeof(q->cookie)) != 0)
		return false;
	if (memcmp(k->client, q->cookie, sizeof(k->client)) == 0) { /* not redrawn since */
		memcpy(k->server, v + 8, olen - 8u);
		k->server_len = (uint8_t)(olen - 8);
	}
	return true;
}

/* fetches-per-server: when the forwarder whose turn it is has the limit
 * in flight, the next one in turn that has room takes its place (q->start
 * moves, so the turns go on from there). False when all are at the limit. */
static bool pick_forwarder(struct hf_fwd *f, struct hf_fwd_query *q)
{
	unsigned n = f->cfg->nforwarders, limit = f->cfg->fetches_per_server, k = 0;
	unsigned turn = (q->start + q->attempt) % n;

	if (limit == 0)
		return true;
	while (k < n && f->fwd_out[(turn + k) % n] >= limit)
		k++;
	if (k == n)
		return false;
	q->start = (uint8_t)((q->start + k) % n);
	return true;
}

/* Start attempt number q->attempt over UDP. 0, or an error with the
 * problem recorded. */
static int start_udp(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	struct hf_cache_key lk;
	uint16_t flags = HF_DNS_RD;
	int len;

	q->fwd = (uint8_t)((q->start + q->attempt) % f->cfg->nforwarders);
	q->attempt++;
	q->state = HF_FWD_UDP;
	q->icmp_err = 0;
	/* Validating ourselves: the forwarder must not (CD) and must send the
	 * DNSSEC records (DO), whatever the client asked. */
	if (f->val != NULL || (q->key.flags & HF_KEY_CD))
		flags |= HF_DNS_CD;
	memcpy(&lk, &q->key, sizeof(lk));
	mix_case(f, lk.name, lk.name_len); /* the answer must echo it exactly */
	q->id = hf_fwd_rand16(f);
	len = hf_dns_query_build(q->qbuf + 2, HF_FWD_QUERY_MAX, q->id, flags, lk.name, lk.name_len,
				 lk.qtype, lk.qclass, true, f->cfg->edns_buffer_size,
				 f->val != NULL || (q->key.flags & HF_KEY_DO) != 0);
	if (len <= 0) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "cannot build the query");
		return hf_error(HF_EINVAL);
	}
	len = add_cookie(f, q, len, now);
	q->qlen = (uint16_t)len;
	if (hf_fwd_sock_take(f, q, now) != 0) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "%s", errno_text(errno));
		f->st->upstream_errors++;
		return hf_error(HF_EIO);
	}
	f->fwd_out[q->fwd]++;
	if (send(q->fd, q->qbuf + 2, q->qlen, 0) != q->qlen) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "%s", errno_text(errno));
		f->st->upstream_errors++;
		hf_fwd_close_io(f, q);
		return hf_error(HF_EIO);
	}
	f->st->upstream_queries++;
	if (hf_timer_set(f->loop, &q->timer, now + f->cfg->upstream_timeout_ms) != 0) {
		/* never: the loop holds HF_FWD_MAX_TIMERS (control.c) */
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "no room for a deadline");
		hf_fwd_close_io(f, q);
		return hf_error(HF_EFULL);
	}
	return 0;
}

/* The current attempt is over: start the next one, or answer FAILURE. */
void hf_fwd_next_attempt(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	char text[96];

	hf_fwd_close_io(f, q);
	while (q->attempt < f->cfg->upstream_attempts) {
		if (!pick_forwarder(f, q)) {
			/* not the forwarders' fault: no retry, not cached */
			f->st->fetch_limited_server++;
			q->limited = 1;
			if (q->parent != NULL) /* a DS/DNSKEY sub-query: its resolution too */
				q->parent->limited = 1;
			snprintf(text, sizeof(text),
				 "fetches-per-server: every forwarder has %u in flight",
				 f->cfg->fetches_per_server);
			hf_fwd_fail(f, q, HF_EDE_OTHER, text);
			return;
		}
		if (start_udp(f, q, now) == 0)
			return;
	}
	hf_fwd_fail(f, q, q->last_ede != HF_EDE_NONE ? q->last_ede : HF_EDE_NO_REACHABLE_AUTHORITY,
		    q->last_err[0] ? q->last_err : "no upstream attempt possible");
}

/* Same forwarder over TCP (RFC 7766), with a fresh deadline. */
void hf_fwd_start_tcp(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	const struct sockaddr_storage *fa = &f->cfg->forwarder[q->fwd];
	int fd;

	hf_fwd_close_io(f, q);
	f->st->tcp_retries++;
	hf_put16(q->qbuf, q->qlen);
	fd = socket(fa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "socket (TCP): %s", strerror(errno));
		f->st->upstream_errors++;
		hf_fwd_next_attempt(f, q, now);
		return;
	}
	q->fd = fd;
	f->fwd_out[q->fwd]++;
	q->state = HF_FWD_TCP_CONNECT;
	if (connect(fd, (const struct sockaddr *)fa, hf_fwd_addrlen(fa)) == 0)
		q->state = HF_FWD_TCP_WRITE;
	else if (errno != EINPROGRESS) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "%s (TCP)", errno_text(errno));
		f->st->upstream_errors++;
		hf_fwd_next_attempt(f, q, now);
		return;
	}
	if (watch(f, q, EPOLLOUT, EPOLL_CTL_ADD) != 0) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "epoll: %s", strerror(errno));
		hf_fwd_next_attempt(f, q, now);
		return;
	}
	f->st->upstream_queries++;
	if (hf_timer_set(f->loop, &q->timer, now + f->cfg->upstream_timeout_ms) != 0) {
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "no room for a deadline");
		hf_fwd_next_attempt(f, q, now);
	}
}

/* Read what the UDP socket holds. Returns true while q is still waiting
 * for this attempt, false when it moved on (q may be gone). */
bool hf_fwd_udp_readable(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	struct hf_fwd_sock *s = q->sock;

	for (int i = 0; i < HF_FWD_UDP_READS; i++) {
		ssize_t r = recv(q->fd, f->rxbuf, sizeof(f->rxbuf), 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			/* An ICMP error (refused, unreachable) the kernel
			 * matched to the socket: anyone can forge one, so it
			 * is noted and the attempt waits for its deadline. */
			f->st->icmp_errors++;
			q->icmp_err = errno;
			s->dirty = 1;
			continue;
		}
		/* accepted, the attempt ends here and the socket is released
		 * with the mark; ignored, the mark goes and the socket is
		 * not used again */
		s->answered = 1;
		if (hf_fwd_response(f, q, f->rxbuf, (size_t)r, false, now))
			return false;
		s->answered = 0;
		s->dirty = 1;
	}
	return true;
}

static void tcp_failed(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now, int e)
{
	hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "%s (TCP)", errno_text(e));
	f->st->upstream_errors++;
	hf_fwd_next_attempt(f, q, now);
}

static void tcp_writable(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	size_t total = (size_t)q->qlen + 2;
	if (q->state == HF_FWD_TCP_CONNECT) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
			e = errno;
		if (e != 0) {
			tcp_failed(f, q, now, e);
			return;
		}
		q->state = HF_FWD_TCP_WRITE;
	}
	while (q->io_off < total) {
		ssize_t w = send(q->fd, q->qbuf + q->io_off, total - q->io_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			tcp_failed(f, q, now, errno);
			return;
		}
		q->io_off = (uint16_t)(q->io_off + w);
	}
	q->state = HF_FWD_TCP_READ;
	if (watch(f, q, EPOLLIN, EPOLL_CTL_MOD) != 0)
		tcp_failed(f, q, now, errno);
}

static void tcp_readable(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	for (;;) {
		ssize_t r;
		if (q->rhave < 2)
			r = recv(q->fd, q->lenbuf + q->rhave, 2 - q->rhave, 0);
		else
			r = recv(q->fd, q->rbuf + (q->rhave - 2), q->rlen - (q->rhave - 2), 0);
		if (r == 0) {
			hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "connection closed early (TCP)");
			f->st->upstream_errors++;
			hf_fwd_next_attempt(f, q, now);
			return;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			tcp_failed(f, q, now, errno);
			return;
		}
		q->rhave += (uint32_t)r;
		if (q->rhave == 2 && q->rbuf == NULL) {
			q->rlen = hf_get16(q->lenbuf);
			if (q->rlen < HF_DNS_HDR_LEN) {
				f->st->mismatched++;
				hf_fwd_set_problem(f, q, now, HF_EDE_NONE,
						   "malformed answer (TCP)");
				hf_fwd_next_attempt(f, q, now);
				return;
			}
			q->rbuf = malloc(q->rlen);
			if (q->rbuf == NULL) {
				hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "out of memory (TCP)");
				hf_fwd_next_attempt(f, q, now);
				return;
			}
		}
		if (q->rhave >= 2 && q->rhave - 2 == q->rlen) {
			hf_fwd_response(f, q, q->rbuf, q->rlen, true, now);
			return;
		}
	}
}

void hf_fwd_close_io(struct hf_fwd *f, struct hf_fwd_query *q)
{
	if (q->sock != NULL) {
		hf_fwd_sock_release(f, q);
		f->fwd_out[q->fwd]--;
	} else if (q->fd >= 0) {
		hf_loop_del(f->loop, q->fd);
		close(q->fd);
		q->fd = -1;
		f->fwd_out[q->fwd]--;
	}
	free(q->rbuf);
	q->rbuf = NULL;
	q->rlen = q->rhave = 0;
	q->io_off = 0;
}

/* The loop: q's socket is ready. */
static void query_io(struct hf_handler *h, uint32_t events, uint64_t now)
{
	struct hf_fwd_query *q = hf_container_of(h, struct hf_fwd_query, io);
	struct hf_fwd *f = q->owner;

	switch (q->state) {
	case HF_FWD_UDP: /* its socket's own handler reads (fwd_sock.c) */
		break;
	case HF_FWD_TCP_CONNECT:
	case HF_FWD_TCP_WRITE:
		tcp_writable(f, q, now);
		break;
	case HF_FWD_TCP_READ:
		tcp_readable(f, q, now);
		break;
	}
}

/* The loop: q's attempt reached its deadline. */
static void query_timeout(struct hf_timer *t, uint64_t now)
{
	struct hf_fwd_query *q = hf_container_of(t, struct hf_fwd_query, timer);
	struct hf_fwd *f = q->owner;

	/* An answer may be waiting that this pass's events did not cover (a
	 * busy loop): read it before giving up. If q moved on, it has a new
	 * deadline or is gone. */
	if (q->state == HF_FWD_UDP && q->fd >= 0 && !hf_fwd_udp_readable(f, q, now))
		return;
	if (q->state == HF_FWD_UDP && q->icmp_err != 0) {
		/* no answer, only ICMP errors: what they said */
		f->st->upstream_errors++;
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "%s", errno_text(q->icmp_err));
	} else {
		f->st->timeouts++;
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "timed out%s",
				   q->state == HF_FWD_UDP ? "" : " (TCP)");
	}
	hf_fwd_next_attempt(f, q, now);
}

void hf_fwd_query_io_init(struct hf_fwd *f, struct hf_fwd_query *q)
{
	q->owner = f;
	q->fd = -1;
	q->io.fn = query_io;
	hf_timer_init(&q->timer, query_timeout);
}
