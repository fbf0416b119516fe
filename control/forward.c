/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: resolution through forwarders.
 *
 * Each distinct key (struct hf_cache_key's meaningful bytes) is resolved at
 * most once at a time: an open-addressing table of resolutions in flight
 * (bounded to HF_FWD_MAX_INFLIGHT; beyond that a question is answered
 * "resolver overloaded" at once) and a min-heap of their deadlines.
 *
 * Every attempt uses a fresh non-blocking UDP socket connect()ed to the
 * forwarder, so the kernel picks a random source port and drops datagrams
 * from any other address or port, and an answer for an earlier attempt can
 * never be taken for the current one. DNS IDs come from the kernel CSPRNG
 * (getrandom(), 4 KiB buffered: one system call per 400 queries or so),
 * so an ID says nothing about the next one. The query name's letters get
 * a random case per attempt from the same source (DNS 0x20). An answer is
 * accepted only if it parses, has QR=1, opcode QUERY, our ID and our
 * question (the name byte for byte in the case sent, type, class);
 * anything else is counted and ignored while the attempt keeps waiting.
 * TC=1 moves the attempt to TCP on the same forwarder with a fresh
 * deadline. Timeouts, socket errors (refused,
 * unreachable) and SERVFAIL/REFUSED/FORMERR (any rcode other than NOERROR
 * and NXDOMAIN) move on to the next attempt, rotating across forwarders
 * from a start index that rotates per resolution. An ICMP error on the UDP
 * socket (ECONNREFUSED, EHOSTUNREACH, ...) does not end the attempt: an
 * off-path sender can forge it as easily as a stopped forwarder causes it,
 * so it is counted and the attempt keeps waiting for an answer until its
 * deadline, which then counts as a socket error with the ICMP's reason
 * ("connection refused") rather than a timeout.
 *
 * DNS cookies (RFC 7873, client side): every query carries a COOKIE
 * option with an 8-byte client cookie per forwarder (random, redrawn
 * hourly) and the server cookie that forwarder last sent with it. A
 * response whose COOKIE is malformed or carries another client cookie is
 * counted and ignored like any mismatched one; a response without a COOKIE
 * (a forwarder that does not do cookies) is taken as before.
 *
 * Control-thread only; see hf_control_impl.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control/hf_control_impl.h"
#include "control/hf_upstream.h"

#define HF_FWD_LOG_INTERVAL_MS 10000 /* at most one log line per forwarder per 10 s */
#define HF_FWD_UDP_READS       16    /* datagrams read per readiness event */

/* ---- random DNS IDs ---- */

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
static void rand_bytes(struct hf_control *c, void *out, size_t n)
{
	struct hf_rand *r = &c->rnd;
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

static uint16_t rand16(struct hf_control *c)
{
	uint16_t v;
	rand_bytes(c, &v, 2);
	return v;
}

/* DNS 0x20: give every letter of the (uncompressed) name a random case. */
static void mix_case(struct hf_control *c, uint8_t *name, size_t len)
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
				rand_bytes(c, &bits, sizeof(bits));
				left = 64;
			}
			name[k] = (bits & 1) ? (uint8_t)(ch - 0x20) : ch;
			bits >>= 1;
			left--;
		}
}

/* ---- the in-flight table ---- */

static uint32_t slot_home(const struct hf_control *c, uint32_t hash)
{
	return hash & (c->nslots - 1);
}

static bool same_key(const struct hf_fwd_query *q, const struct hf_cache_key *key, uint32_t hash)
{
	return q->hash == hash && hf_cache_key_cmp(&q->key, key) == 0;
}

static struct hf_fwd_query *table_find(struct hf_control *c, const struct hf_cache_key *key,
				       uint32_t hash)
{
	for (uint32_t i = slot_home(c, hash);; i = (i + 1) & (c->nslots - 1)) {
		struct hf_fwd_query *q = c->slots[i];
		if (q == NULL)
			return NULL;
		if (same_key(q, key, hash))
			return q;
	}
}

static void table_insert(struct hf_control *c, struct hf_fwd_query *q)
{
	uint32_t i = slot_home(c, q->hash);
	while (c->slots[i] != NULL)
		i = (i + 1) & (c->nslots - 1);
	c->slots[i] = q;
	c->inflight++;
}

/* Linear probing with backward-shift deletion (no tombstones). */
static void table_remove(struct hf_control *c, struct hf_fwd_query *q)
{
	uint32_t mask = c->nslots - 1, i = slot_home(c, q->hash), j;
	while (c->slots[i] != q) {
		if (c->slots[i] == NULL)
			return;
		i = (i + 1) & mask;
	}
	c->slots[i] = NULL;
	c->inflight--;
	for (j = (i + 1) & mask; c->slots[j] != NULL; j = (j + 1) & mask) {
		uint32_t k = slot_home(c, c->slots[j]->hash);
		/* Leave slots[j] if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		c->slots[i] = c->slots[j];
		c->slots[j] = NULL;
		i = j;
	}
}

/* ---- the deadline heap ---- */

#define HEAP_NONE UINT32_MAX

static void heap_swap(struct hf_control *c, uint32_t a, uint32_t b)
{
	struct hf_fwd_query *t = c->heap[a];
	c->heap[a] = c->heap[b];
	c->heap[b] = t;
	c->heap[a]->heap_idx = a;
	c->heap[b]->heap_idx = b;
}

static void heap_up(struct hf_control *c, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (c->heap[p]->deadline_ms <= c->heap[i]->deadline_ms)
			break;
		heap_swap(c, i, p);
		i = p;
	}
}

static void heap_down(struct hf_control *c, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->heap_n && c->heap[l]->deadline_ms < c->heap[m]->deadline_ms)
			m = l;
		if (r < c->heap_n && c->heap[r]->deadline_ms < c->heap[m]->deadline_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(c, i, m);
		i = m;
	}
}

static void heap_set(struct hf_control *c, struct hf_fwd_query *q, uint64_t deadline)
{
	q->deadline_ms = deadline;
	if (q->heap_idx == HEAP_NONE) {
		q->heap_idx = c->heap_n;
		c->heap[c->heap_n++] = q;
		heap_up(c, q->heap_idx);
	} else {
		heap_up(c, q->heap_idx);
		heap_down(c, q->heap_idx);
	}
}

static void heap_remove(struct hf_control *c, struct hf_fwd_query *q)
{
	uint32_t i = q->heap_idx;
	if (i == HEAP_NONE)
		return;
	q->heap_idx = HEAP_NONE;
	if (i != --c->heap_n) {
		struct hf_fwd_query *moved = c->heap[c->heap_n];
		c->heap[i] = moved;
		moved->heap_idx = i;
		heap_up(c, i);
		heap_down(c, moved->heap_idx);
	}
}

/* ---- results ---- */

static void close_io(struct hf_control *c, struct hf_fwd_query *q)
{
	if (q->fd >= 0) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, q->fd, NULL);
		close(q->fd);
		q->fd = -1;
	}
	free(q->rbuf);
	q->rbuf = NULL;
	q->rlen = q->rhave = 0;
	q->io_off = 0;
}

static void finish(struct hf_control *c, struct hf_fwd_query *q)
{
	close_io(c, q);
	heap_remove(c, q);
	if (q->child != NULL) { /* a sub-query in flight dies with its resolution */
		close_io(c, q->child);
		heap_remove(c, q->child);
		free(q->child);
		q->child = NULL;
	}
	if (q->parent != NULL)
		q->parent->child = NULL; /* sub-queries are not in the table */
	else
		table_remove(c, q);
	free(q->resp);
	free(q);
}

/* Send a failure answer for key to every worker. */
static void send_failure(struct hf_control *c, const struct hf_cache_key *key, uint32_t hash,
			 uint16_t ede, const char *text, uint32_t ttl, uint8_t security)
{
	int rc = hf_dns_answer_failure(c->ansbuf, sizeof(c->ansbuf), key->name_len,
				       HF_RCODE_SERVFAIL, ede, text, ttl);
	/* a validation failure says so (cache lookup shows it bogus) */
	((struct hf_dns_answer *)c->ansbuf)->security = security;
	if (rc < 0 || hf_control_fill(c, key, hash, (const struct hf_dns_answer *)c->ansbuf) != 0)
		fprintf(stderr, "holdfast: control: cannot send a failure answer (%s)\n",
			rc < 0 ? hf_strerror(rc) : "out of memory");
}

static void sub_failed(struct hf_control *c, struct hf_fwd_query *sub, uint16_t ede,
		       const char *text);

/* End the resolution with a failure answer (a sub-query: its parent). */
static void fail_now(struct hf_control *c, struct hf_fwd_query *q, uint16_t ede, const char *text)
{
	if (q->parent != NULL) {
		sub_failed(c, q, ede, text);
		return;
	}
	if (q->internal) { /* an NTA recheck: nobody waits for an answer */
		hf_nta_recheck_done(c, q->key.name, q->key.name_len, HF_SECURITY_INDETERMINATE, ede,
				    text);
		finish(c, q);
		return;
	}
	c->st.failures++;
	send_failure(c, &q->key, q->hash, ede, text, c->cfg.failure_ttl, HF_SECURITY_INSECURE);
	finish(c, q);
}

static void log_fwd(struct hf_control *c, unsigned fwd, uint64_t now, const char *text)
{
	if (c->fwd_log_ms[fwd] != 0 && now - c->fwd_log_ms[fwd] < HF_FWD_LOG_INTERVAL_MS) {
		c->fwd_log_quiet[fwd]++;
		return;
	}
	if (c->fwd_log_quiet[fwd])
		fprintf(stderr, "holdfast: forwarder %s (%llu similar messages suppressed)\n", text,
			(unsigned long long)c->fwd_log_quiet[fwd]);
	else
		fprintf(stderr, "holdfast: forwarder %s\n", text);
	c->fwd_log_ms[fwd] = now ? now : 1;
	c->fwd_log_quiet[fwd] = 0;
}

/* Record why the current attempt failed ("ADDR@PORT: problem"). */
static void __attribute__((format(printf, 5, 6)))
set_problem(struct hf_control *c, struct hf_fwd_query *q, uint64_t now, uint16_t ede,
	    const char *fmt, ...)
{
	char what[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(q->last_err, sizeof(q->last_err), "%s: %s", c->fwd_name[q->fwd], what);
	q->last_ede = ede;
	log_fwd(c, q->fwd, now, q->last_err);
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

static const char *rcode_text(unsigned rcode, char *buf, size_t size)
{
	if (hf_rcode_name(rcode) != NULL)
		return hf_rcode_name(rcode);
	snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

/* ---- attempts ---- */

static int watch(struct hf_control *c, struct hf_fwd_query *q, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = q};
	return epoll_ctl(c->epfd, op, q->fd, &ev);
}

static socklen_t fwd_addrlen(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Append our COOKIE option (client cookie, and the server cookie when one
 * is known) to the query of len bytes in q->qbuf, whose OPT is the last
 * RR and has no options yet. Returns the new length. */
static int add_cookie(struct hf_control *c, struct hf_fwd_query *q, int len, uint64_t now)
{
	struct hf_fwd_cookie *k = &c->cookie[q->fwd];
	uint8_t *p = q->qbuf + 2 + len;
	size_t n;

	if (k->born_ms == 0 || now - k->born_ms >= HF_FWD_COOKIE_LIFE_MS) {
		rand_bytes(c, k->client, sizeof(k->client));
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
static bool cookie_ok(struct hf_control *c, const struct hf_fwd_query *q,
		      const struct hf_dns_msg *m)
{
	struct hf_fwd_cookie *k = &c->cookie[q->fwd];
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

/* Start attempt number q->attempt over UDP. 0, or an error with the
 * problem recorded. */
static int start_udp(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	const struct sockaddr_storage *fa;
	struct hf_cache_key lk;
	uint16_t flags = HF_DNS_RD;
	int len, fd;

	q->fwd = (uint8_t)((q->start + q->attempt) % c->cfg.nforwarders);
	q->attempt++;
	q->state = HF_FWD_UDP;
	q->icmp_err = 0;
	fa = &c->cfg.forwarder[q->fwd];
	/* Validating ourselves: the forwarder must not (CD) and must send the
	 * DNSSEC records (DO), whatever the client asked. */
	if (c->val != NULL || (q->key.flags & HF_KEY_CD))
		flags |= HF_DNS_CD;
	memcpy(&lk, &q->key, sizeof(lk));
	mix_case(c, lk.name, lk.name_len); /* the answer must echo it exactly */
	q->id = rand16(c);
	len = hf_dns_query_build(q->qbuf + 2, HF_FWD_QUERY_MAX, q->id, flags, lk.name, lk.name_len,
				 lk.qtype, lk.qclass, true, c->cfg.edns_buffer_size,
				 c->val != NULL || (q->key.flags & HF_KEY_DO) != 0);
	if (len <= 0) {
		set_problem(c, q, now, HF_EDE_NONE, "cannot build the query");
		return hf_error(HF_EINVAL);
	}
	len = add_cookie(c, q, len, now);
	q->qlen = (uint16_t)len;
	fd = socket(fa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_problem(c, q, now, HF_EDE_NONE, "socket: %s", strerror(errno));
		c->st.upstream_errors++;
		return hf_error(HF_EIO);
	}
	q->fd = fd;
	if (connect(fd, (const struct sockaddr *)fa, fwd_addrlen(fa)) != 0 ||
	    send(fd, q->qbuf + 2, q->qlen, 0) != q->qlen || watch(c, q, EPOLLIN, EPOLL_CTL_ADD)) {
		set_problem(c, q, now, HF_EDE_NONE, "%s", errno_text(errno));
		c->st.upstream_errors++;
		close_io(c, q);
		return hf_error(HF_EIO);
	}
	c->st.upstream_queries++;
	heap_set(c, q, now + c->cfg.upstream_timeout_ms);
	return 0;
}

/* The current attempt is over: start the next one, or answer FAILURE. */
static void next_attempt(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	close_io(c, q);
	while (q->attempt < c->cfg.upstream_attempts)
		if (start_udp(c, q, now) == 0)
			return;
	fail_now(c, q, q->last_ede != HF_EDE_NONE ? q->last_ede : HF_EDE_NO_REACHABLE_AUTHORITY,
		 q->last_err[0] ? q->last_err : "no upstream attempt possible");
}

/* Same forwarder over TCP (RFC 7766), with a fresh deadline. */
static void start_tcp(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	const struct sockaddr_storage *fa = &c->cfg.forwarder[q->fwd];
	int fd;

	close_io(c, q);
	c->st.tcp_retries++;
	hf_put16(q->qbuf, q->qlen);
	fd = socket(fa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_problem(c, q, now, HF_EDE_NONE, "socket (TCP): %s", strerror(errno));
		c->st.upstream_errors++;
		next_attempt(c, q, now);
		return;
	}
	q->fd = fd;
	q->state = HF_FWD_TCP_CONNECT;
	if (connect(fd, (const struct sockaddr *)fa, fwd_addrlen(fa)) == 0)
		q->state = HF_FWD_TCP_WRITE;
	else if (errno != EINPROGRESS) {
		set_problem(c, q, now, HF_EDE_NONE, "%s (TCP)", errno_text(errno));
		c->st.upstream_errors++;
		next_attempt(c, q, now);
		return;
	}
	if (watch(c, q, EPOLLOUT, EPOLL_CTL_ADD) != 0) {
		set_problem(c, q, now, HF_EDE_NONE, "epoll: %s", strerror(errno));
		next_attempt(c, q, now);
		return;
	}
	c->st.upstream_queries++;
	heap_set(c, q, now + c->cfg.upstream_timeout_ms);
}

/* The question name as sent, in its random case (after the TCP length
 * prefix and the header of q->qbuf). */
static const uint8_t *sent_qname(const struct hf_fwd_query *q)
{
	return q->qbuf + 2 + HF_DNS_HDR_LEN;
}

static void sub_answered(struct hf_control *c, struct hf_fwd_query *sub, const struct hf_dns_msg *m,
			 uint64_t now);
static void start_validation(struct hf_control *c, struct hf_fwd_query *q, const uint8_t *wire,
			     size_t len, uint64_t now);

/*
 * A message arrived for q's current attempt. Returns false when it was
 * ignored (UDP: keep waiting), true when q moved on (answered, next
 * attempt, TCP) and its socket must not be touched again.
 */
static bool handle_response(struct hf_control *c, struct hf_fwd_query *q, const uint8_t *wire,
			    size_t len, bool tcp, uint64_t now)
{
	struct hf_dns_msg *m = &c->msg;
	struct hf_dns_answer_limits lim = {
		.max_ttl = c->cfg.max_ttl,
		.min_ttl = c->cfg.min_ttl,
		.max_negative_ttl = c->cfg.max_negative_ttl,
	};
	struct hf_dns_answer *a = (struct hf_dns_answer *)c->ansbuf;
	char text[HF_FWD_ERR_MAX], rbuf[16];
	enum hf_up_verdict v = hf_upstream_check(&q->key, sent_qname(q), q->id, wire, len, tcp, m);
	bool parsed_ours = v == HF_UP_TRUNCATED || v == HF_UP_RCODE || v == HF_UP_ANSWER;
	bool cookie_bad = parsed_ours && !cookie_ok(c, q, m);
	int rc;

	if (v == HF_UP_MALFORMED || v == HF_UP_MISMATCH || v == HF_UP_CASE || cookie_bad) {
		/* all ours but the 0x20 spelling or the cookie: a forgery that
		 * guessed the ID (or a forwarder that does not keep the case) */
		c->st.mismatched++;
		if (v == HF_UP_CASE)
			c->st.case_mismatched++;
		else if (cookie_bad)
			c->st.cookie_mismatched++;
		if (!tcp)
			return false;
		set_problem(c, q, now, HF_EDE_NONE, "%s answer (TCP)",
			    v == HF_UP_MALFORMED  ? "malformed"
			    : v == HF_UP_MISMATCH ? "mismatched"
			    : v == HF_UP_CASE	  ? "0x20 case mismatched"
						  : "cookie mismatched");
		next_attempt(c, q, now);
		return true;
	}
	c->st.responses++;
	if (v == HF_UP_TOO_MANY) {
		snprintf(text, sizeof(text), "%s: answer has too many records",
			 c->fwd_name[q->fwd]);
		fail_now(c, q, HF_EDE_OTHER, text);
		return true;
	}
	if (v == HF_UP_TRUNCATED) {
		start_tcp(c, q, now);
		return true;
	}
	if (q->parent != NULL) {
		/* A DS/DNSKEY sub-query: the validator takes any rcode. */
		sub_answered(c, q, m, now);
		return true;
	}
	if (v == HF_UP_RCODE) {
		c->st.rcode_errors++;
		set_problem(c, q, now, m->ede, "answered %s",
			    rcode_text(m->rcode, rbuf, sizeof(rbuf)));
		next_attempt(c, q, now);
		return true;
	}
	if (c->val != NULL) {
		start_validation(c, q, wire, len, now);
		return true;
	}
	rc = hf_dns_answer_build(m, &lim, c->ansbuf, sizeof(c->ansbuf));
	if (rc < 0) {
		snprintf(text, sizeof(text), "%s: %s", c->fwd_name[q->fwd],
			 rc == HF_ESPACE ? "answer too large to store" : "malformed answer");
		fail_now(c, q, HF_EDE_OTHER, text);
		return true;
	}
	a->security = HF_SECURITY_INSECURE;
	a->ede = HF_EDE_NONE;
	if (hf_control_fill(c, &q->key, q->hash, a) != 0)
		fprintf(stderr, "holdfast: control: out of memory for a FILL\n");
	finish(c, q);
	return true;
}

/* ---- DNSSEC: validating what the forwarders answer ----
 *
 * With dnssec: yes every upstream query carries DO=1 CD=1. An answer that
 * passes the checks above is copied into its resolution (q->resp) and
 * driven through hf_val_validate(); each NEED becomes one sub-query for
 * the DS or DNSKEY set (same attempts, retries, TCP and timeouts as any
 * query; fresh socket and random ID per attempt), whose answer, whatever
 * its rcode, goes to hf_val_add_keys() before validating again. Sub-queries
 * are not shared: two resolutions that need the same key set at the same
 * moment each fetch it (the validator's key cache makes the second and
 * later resolutions free once one has finished).
 */

static void count_verdict(struct hf_control *c, const struct hf_val_result *res)
{
	switch (res->verdict) {
	case HF_SECURITY_SECURE:
		c->st.val_secure++;
		break;
	case HF_SECURITY_INSECURE:
		c->st.val_insecure++;
		break;
	case HF_SECURITY_BOGUS:
		c->st.val_bogus++;
		break;
	default:
		c->st.val_indeterminate++;
		break;
	}
	if (res->ede < HF_ARRAY_LEN(c->st.val_ede))
		c->st.val_ede[res->ede]++;
}

/* The verdict is in: FILL every worker and end the resolution. */
static void deliver(struct hf_control *c, struct hf_fwd_query *q, const struct hf_val_result *res)
{
	struct hf_dns_msg *m = &c->vmsg;
	struct hf_dns_answer_limits lim = {
		.max_ttl = c->cfg.max_ttl,
		.min_ttl = c->cfg.min_ttl,
		.max_negative_ttl = c->cfg.max_negative_ttl,
		.strip_dnssec = !(q->key.flags & HF_KEY_DO),
	};
	struct hf_dns_answer *a = (struct hf_dns_answer *)c->ansbuf;
	char text[HF_FWD_ERR_MAX];
	size_t tlen = 0;
	int rc;

	if (q->internal) { /* an NTA recheck: the verdict is all it wants */
		hf_nta_recheck_done(c, q->key.name, q->key.name_len, res->verdict, res->ede,
				    res->text);
		finish(c, q);
		return;
	}
	count_verdict(c, res);
	if ((res->verdict == HF_SECURITY_BOGUS || res->verdict == HF_SECURITY_INDETERMINATE) &&
	    !(q->key.flags & HF_KEY_CD)) {
		uint16_t ede = res->ede;
		if (ede == HF_EDE_NONE)
			ede = res->verdict == HF_SECURITY_BOGUS ? HF_EDE_DNSSEC_BOGUS
								: HF_EDE_DNSSEC_INDETERMINATE;
		c->st.failures++;
		send_failure(c, &q->key, q->hash, ede, res->text[0] ? res->text : NULL,
			     c->cfg.failure_ttl, res->verdict);
		finish(c, q);
		return;
	}
	if (hf_dns_msg_parse(q->resp, q->resp_len, m) != 0) {
		fail_now(c, q, HF_EDE_OTHER, "malformed answer");
		return;
	}
	if (res->verdict == HF_SECURITY_SECURE) {
		lim.cap_ttl = true;
		lim.ttl_cap = res->ttl_cap;
	}
	/* leave room for the EDE text behind the body */
	rc = hf_dns_answer_build(m, &lim, c->ansbuf, sizeof(c->ansbuf) - HF_VAL_TEXT_MAX);
	if (rc < 0) {
		snprintf(text, sizeof(text), "%s: %s", c->fwd_name[q->fwd],
			 rc == HF_ESPACE ? "answer too large to store" : "malformed answer");
		fail_now(c, q, HF_EDE_OTHER, text);
		return;
	}
	/* BOGUS/INDETERMINATE here: a CD=1 client gets the data, never AD */
	a->security = res->verdict;
	a->ede = HF_EDE_NONE;
	/* insecure only because of an NTA: flushed when the NTA goes */
	if (res->verdict == HF_SECURITY_INSECURE && res->ede == HF_EDE_NONE &&
	    hf_nta_covers(c, q->key.name, q->key.name_len))
		a->flags |= HF_ANS_F_NTA;
	if (res->verdict == HF_SECURITY_INSECURE && res->ede != HF_EDE_NONE) {
		/* say why it is insecure (1, 2, 27) */
		tlen = strnlen(res->text, sizeof(res->text));
		a->ede = res->ede;
		a->ede_text_len = (uint16_t)tlen;
		memcpy(hf_dns_answer_ede_text(a), res->text, tlen);
	}
	if (hf_control_fill(c, &q->key, q->hash, a) != 0)
		fprintf(stderr, "holdfast: control: out of memory for a FILL\n");
	finish(c, q);
}

static void deliver_indeterminate(struct hf_control *c, struct hf_fwd_query *q, uint16_t ede,
				  const char *text)
{
	struct hf_val_result res = {.verdict = HF_SECURITY_INDETERMINATE, .ede = ede};
	snprintf(res.text, sizeof(res.text), "%s", text);
	res.ttl_cap = UINT32_MAX;
	deliver(c, q, &res);
}

static void start_sub(struct hf_control *c, struct hf_fwd_query *q, const struct hf_val_need *need,
		      uint64_t now);

/* Validate q->resp against the key cache; finish, or fetch what it needs.
 * q may be gone afterwards. */
static void validate_step(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	struct hf_val_result res;
	struct hf_val_need need;
	int rc;

	if (hf_dns_msg_parse(q->resp, q->resp_len, &c->vmsg) != 0) {
		fail_now(c, q, HF_EDE_OTHER, "malformed answer");
		return;
	}
	c->nta_bypass = q->internal; /* a recheck validates as if there were no NTA */
	rc = hf_val_validate(c->val, &c->vmsg, (uint64_t)time(NULL), &res, &need);
	c->nta_bypass = false;
	if (rc == HF_VAL_DONE) {
		deliver(c, q, &res);
		return;
	}
	if (rc != HF_VAL_NEED) {
		deliver_indeterminate(c, q, HF_EDE_OTHER, "validator error");
		return;
	}
	if (q->rounds >= HF_VAL_MAX_ROUNDS) {
		deliver_indeterminate(c, q, HF_EDE_DNSSEC_INDETERMINATE,
				      "validation needs too many DS/DNSKEY fetches");
		return;
	}
	q->rounds++;
	start_sub(c, q, &need, now);
}

/* Answer a resolution's answer: keep a copy and validate it. */
static void start_validation(struct hf_control *c, struct hf_fwd_query *q, const uint8_t *wire,
			     size_t len, uint64_t now)
{
	q->resp = malloc(len);
	if (q->resp == NULL) {
		fail_now(c, q, HF_EDE_OTHER, "out of memory");
		return;
	}
	memcpy(q->resp, wire, len); /* before close_io: wire may be q->rbuf */
	q->resp_len = (uint32_t)len;
	close_io(c, q);
	heap_remove(c, q); /* the sub-queries have the deadlines now */
	validate_step(c, q, now);
}

static void start_sub(struct hf_control *c, struct hf_fwd_query *q, const struct hf_val_need *need,
		      uint64_t now)
{
	struct hf_fwd_query *sub = calloc(1, sizeof(*sub));
	if (sub == NULL) {
		deliver_indeterminate(c, q, HF_EDE_OTHER, "out of memory");
		return;
	}
	memcpy(sub->key.name, need->name, need->name_len);
	sub->key.name_len = need->name_len;
	sub->key.qtype = need->qtype;
	sub->key.qclass = HF_CLASS_IN;
	sub->key.flags = 0;
	sub->fd = -1;
	sub->heap_idx = HEAP_NONE;
	sub->last_ede = HF_EDE_NONE;
	sub->start = q->fwd; /* the forwarder that just answered */
	sub->parent = q;
	q->child = sub;
	c->st.val_subqueries++;
	next_attempt(c, sub, now);
}

/* A sub-query's answer arrived (any rcode): feed it, then validate again. */
static void sub_answered(struct hf_control *c, struct hf_fwd_query *sub, const struct hf_dns_msg *m,
			 uint64_t now)
{
	struct hf_fwd_query *q = sub->parent;
	char what[HF_VAL_TEXT_MAX], name[HF_DNS_NAME_MAX * 4 + 8], tb[16];
	int rc;

	c->nta_bypass = q->internal;
	rc = hf_val_add_keys(c->val, m, (uint64_t)time(NULL));
	c->nta_bypass = false;
	if (rc != 0) {
		hf_dns_name_to_str(sub->key.name, sub->key.name_len, name, sizeof(name));
		snprintf(what, sizeof(what), "%.60s %s: answer not usable for validation", name,
			 hf_dns_type_to_str(sub->key.qtype, tb, sizeof(tb)));
	}
	finish(c, sub); /* m may point into sub->rbuf: not used after this */
	if (rc != 0) {
		deliver_indeterminate(c, q, HF_EDE_DNSSEC_INDETERMINATE, what);
		return;
	}
	validate_step(c, q, now);
}

/*
 * A sub-query got no answer from any forwarder (timeouts, refused, ...):
 * the validator cannot be fed, so the resolution ends INDETERMINATE with
 * the upstream's EDE (22 No Reachable Authority unless the attempt said
 * otherwise), as docs/dnssec.md says a caller that loses a fetch does. It
 * is an upstream failure, not a validation failure.
 */
static void sub_failed(struct hf_control *c, struct hf_fwd_query *sub, uint16_t ede,
		       const char *text)
{
	struct hf_fwd_query *q = sub->parent;
	char name[HF_DNS_NAME_MAX * 4 + 8], what[HF_VAL_TEXT_MAX], tb[16];

	c->st.val_fetch_failures++;
	hf_dns_name_to_str(sub->key.name, sub->key.name_len, name, sizeof(name));
	snprintf(what, sizeof(what), "%.60s %s: %s", name,
		 hf_dns_type_to_str(sub->key.qtype, tb, sizeof(tb)), text ? text : "no answer");
	finish(c, sub);
	deliver_indeterminate(c, q, ede, what);
}

/* Read what the UDP socket holds. Returns true while q is still waiting
 * for this attempt, false when it moved on (q may be gone). */
static bool udp_readable(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	for (int i = 0; i < HF_FWD_UDP_READS; i++) {
		ssize_t r = recv(q->fd, c->rxbuf, sizeof(c->rxbuf), 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			/* An ICMP error (refused, unreachable) the kernel
			 * matched to the socket: anyone can forge one, so it
			 * is noted and the attempt waits for its deadline. */
			c->st.icmp_errors++;
			q->icmp_err = errno;
			continue;
		}
		if (handle_response(c, q, c->rxbuf, (size_t)r, false, now))
			return false;
	}
	return true;
}

static void tcp_failed(struct hf_control *c, struct hf_fwd_query *q, uint64_t now, int e)
{
	set_problem(c, q, now, HF_EDE_NONE, "%s (TCP)", errno_text(e));
	c->st.upstream_errors++;
	next_attempt(c, q, now);
}

static void tcp_writable(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	size_t total = (size_t)q->qlen + 2;
	if (q->state == HF_FWD_TCP_CONNECT) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
			e = errno;
		if (e != 0) {
			tcp_failed(c, q, now, e);
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
			tcp_failed(c, q, now, errno);
			return;
		}
		q->io_off = (uint16_t)(q->io_off + w);
	}
	q->state = HF_FWD_TCP_READ;
	if (watch(c, q, EPOLLIN, EPOLL_CTL_MOD) != 0)
		tcp_failed(c, q, now, errno);
}

static void tcp_readable(struct hf_control *c, struct hf_fwd_query *q, uint64_t now)
{
	for (;;) {
		ssize_t r;
		if (q->rhave < 2)
			r = recv(q->fd, q->lenbuf + q->rhave, 2 - q->rhave, 0);
		else
			r = recv(q->fd, q->rbuf + (q->rhave - 2), q->rlen - (q->rhave - 2), 0);
		if (r == 0) {
			set_problem(c, q, now, HF_EDE_NONE, "connection closed early (TCP)");
			c->st.upstream_errors++;
			next_attempt(c, q, now);
			return;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			tcp_failed(c, q, now, errno);
			return;
		}
		q->rhave += (uint32_t)r;
		if (q->rhave == 2 && q->rbuf == NULL) {
			q->rlen = hf_get16(q->lenbuf);
			if (q->rlen < HF_DNS_HDR_LEN) {
				c->st.mismatched++;
				set_problem(c, q, now, HF_EDE_NONE, "malformed answer (TCP)");
				next_attempt(c, q, now);
				return;
			}
			q->rbuf = malloc(q->rlen);
			if (q->rbuf == NULL) {
				set_problem(c, q, now, HF_EDE_NONE, "out of memory (TCP)");
				next_attempt(c, q, now);
				return;
			}
		}
		if (q->rhave >= 2 && q->rhave - 2 == q->rlen) {
			handle_response(c, q, q->rbuf, q->rlen, true, now);
			return;
		}
	}
}

static void handle_event(struct hf_control *c, struct hf_fwd_query *q, uint32_t events,
			 uint64_t now)
{
	switch (q->state) {
	case HF_FWD_UDP:
		(void)udp_readable(c, q, now);
		break;
	case HF_FWD_TCP_CONNECT:
	case HF_FWD_TCP_WRITE:
		tcp_writable(c, q, now);
		break;
	case HF_FWD_TCP_READ:
		tcp_readable(c, q, now);
		break;
	}
}

/* ---- entry points ---- */

void hf_fwd_request(struct hf_control *c, const struct hf_msg_query *mq, uint64_t now)
{
	struct hf_fwd_query *q;

	if (mq->key.name_len == 0) {
		c->st.bad_requests++;
		return;
	}
	if (table_find(c, &mq->key, mq->hash) != NULL) {
		c->st.coalesced++;
		return;
	}
	if (c->inflight >= c->max_inflight || (q = calloc(1, sizeof(*q))) == NULL) {
		c->st.overloaded++;
		c->st.failures++;
		send_failure(c, &mq->key, mq->hash, HF_EDE_OTHER, "resolver overloaded",
			     c->cfg.failure_ttl, HF_SECURITY_INSECURE);
		return;
	}
	memcpy(&q->key, &mq->key, sizeof(q->key));
	q->hash = mq->hash;
	q->fd = -1;
	q->heap_idx = HEAP_NONE;
	q->last_ede = HF_EDE_NONE;
	q->start = (uint8_t)(c->next_fwd++ % c->cfg.nforwarders);
	table_insert(c, q);
	c->st.resolutions++;
	next_attempt(c, q, now);
}

int hf_fwd_internal(struct hf_control *c, const uint8_t *name, size_t len, uint16_t qtype,
		    uint64_t now)
{
	struct hf_fwd_query *q;
	struct hf_cache_key key;

	memset(&key, 0, sizeof(key));
	memcpy(key.name, name, len);
	key.name_len = (uint8_t)len;
	key.qtype = qtype;
	key.qclass = HF_CLASS_IN;
	key.flags = HF_KEY_DO | HF_KEY_CD | HF_KEY_INTERNAL;
	if (c->val == NULL || c->inflight >= c->max_inflight)
		return hf_error(HF_EFULL);
	if (table_find(c, &key, hf_cache_key_hash(&key)) != NULL)
		return hf_error(HF_EEXIST);
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return hf_error(HF_ENOMEM);
	q->key = key;
	q->hash = hf_cache_key_hash(&key);
	q->internal = 1;
	q->fd = -1;
	q->heap_idx = HEAP_NONE;
	q->last_ede = HF_EDE_NONE;
	q->start = (uint8_t)(c->next_fwd++ % c->cfg.nforwarders);
	table_insert(c, q);
	next_attempt(c, q, now);
	return 0;
}

unsigned hf_fwd_poll(struct hf_control *c, int timeout_ms)
{
	struct epoll_event ev[HF_FWD_EVENTS];
	unsigned done = 0;
	uint64_t now;
	int n;

	/* Also the loop's idle sleep when nothing is in flight. */
	n = epoll_wait(c->epfd, ev, HF_FWD_EVENTS, timeout_ms);
	now = hf_control_now_ms();
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == (void *)&c->mgmt) { /* the management socket's epoll */
			hf_mgmt_poll(c, now);
			done++;
			continue;
		}
		handle_event(c, ev[i].data.ptr, ev[i].events, now);
		done++;
	}
	while (c->heap_n != 0 && c->heap[0]->deadline_ms <= now) {
		struct hf_fwd_query *q = c->heap[0];
		/* An answer may be waiting that this pass's events did not
		 * cover (a busy loop): read it before giving up. If q moved
		 * on, its deadline is in the future or q is gone. */
		if (q->state == HF_FWD_UDP && q->fd >= 0 && !udp_readable(c, q, now)) {
			done++;
			continue;
		}
		if (q->state == HF_FWD_UDP && q->icmp_err != 0) {
			/* no answer, only ICMP errors: what they said */
			c->st.upstream_errors++;
			set_problem(c, q, now, HF_EDE_NONE, "%s", errno_text(q->icmp_err));
		} else {
			c->st.timeouts++;
			set_problem(c, q, now, HF_EDE_NONE, "timed out%s",
				    q->state == HF_FWD_UDP ? "" : " (TCP)");
		}
		next_attempt(c, q, now);
		done++;
	}
	return done;
}

int hf_fwd_init(struct hf_control *c, char *err, size_t errlen)
{
	struct rlimit rl;

	/* One socket per resolution in flight: take every descriptor the hard
	 * limit allows and keep some for the rest of the process. */
	c->max_inflight = HF_FWD_MAX_INFLIGHT;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rlim_t want = rl.rlim_max;
			if (want == RLIM_INFINITY || want > 2u * HF_FWD_MAX_INFLIGHT)
				want = 2u * HF_FWD_MAX_INFLIGHT;
			if (want > rl.rlim_cur) {
				rl.rlim_cur = want;
				setrlimit(RLIMIT_NOFILE, &rl);
				getrlimit(RLIMIT_NOFILE, &rl);
			}
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < HF_FWD_MAX_INFLIGHT + 256u) {
			rlim_t n = rl.rlim_cur > 512 ? rl.rlim_cur - 256 : rl.rlim_cur / 2;
			c->max_inflight = (uint32_t)HF_MAX(n, (rlim_t)16);
		}
	}
	c->nslots = HF_FWD_TABLE_SLOTS;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->heap = calloc(HF_FWD_MAX_INFLIGHT, sizeof(*c->heap));
	if (c->slots == NULL || c->heap == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return hf_error(HF_ENOMEM);
	}
	if (fill_random(c->rnd.s, sizeof(c->rnd.s)) != 0 ||
	    fill_random(c->rnd.buf, sizeof(c->rnd.buf)) != 0) {
		snprintf(err, errlen, "control: getrandom: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	c->rnd.pos = 0;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		snprintf(err, errlen, "control: epoll_create1: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	for (unsigned i = 0; i < c->cfg.nforwarders; i++) {
		const struct sockaddr_storage *ss = &c->cfg.forwarder[i];
		char a[INET6_ADDRSTRLEN] = "?";
		unsigned port;
		if (ss->ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
			inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
			port = ntohs(sin->sin_port);
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
			inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
			port = ntohs(sin6->sin6_port);
		}
		snprintf(c->fwd_name[i], sizeof(c->fwd_name[i]), "%s@%u", a, port);
	}
	return 0;
}

void hf_fwd_fini(struct hf_control *c)
{
	if (c->slots != NULL)
		for (uint32_t i = 0; i < c->nslots; i++) {
			struct hf_fwd_query *q = c->slots[i];
			if (q == NULL)
				continue;
			if (q->child != NULL) {
				if (q->child->fd >= 0)
					close(q->child->fd);
				free(q->child->rbuf);
				free(q->child);
			}
			if (q->fd >= 0)
				close(q->fd);
			free(q->rbuf);
			free(q->resp);
			free(q);
		}
	free(c->slots);
	free(c->heap);
	c->slots = NULL;
	c->heap = NULL;
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = -1;
}
