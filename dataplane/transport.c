/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: DNS over TCP and TLS for clients (hf_transport.h).
 *
 * One thread: an epoll set of listening sockets and connections, a cache
 * replica (struct hf_worker with no ports) and its control ring. Per
 * connection: the input as a stream of messages (hf_stream.h), an output
 * buffer of whole framed answers written as the socket takes them, and a
 * count of its queries parked in the cache. Limits (docs/operations.md,
 * "TCP and TLS"):
 *  - tcp-max-connections in total and tcp-max-connections-per-client (an
 *    rte_hash of client addresses): a connection over either is closed at
 *    once, counted;
 *  - tcp-idle-timeout: a connection is closed when no complete query has
 *    come for that long and none is waiting for an answer; a TLS handshake
 *    must end within it too. Bytes of a message that never completes do
 *    not count (slow-loris), nor does a client that stops reading;
 *  - tcp-max-pending queries parked per connection, and about 64 KiB of
 *    answers not yet taken by the client: past either, the connection is
 *    not read until it drains (its input stays in the kernel's window).
 */
#define _GNU_SOURCE /* accept4, pthread_setname_np */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include "cache/hf_reply.h"
#include "dataplane/hf_acl.h"
#include "dataplane/hf_stream.h"
#include "dataplane/hf_transport.h"
#include "dataplane/worker_internal.h"

#define NONE	      UINT32_MAX
#define OUT_HIGH      (64u * 1024) /* answers not yet taken: stop reading */
#define READ_CHUNK    (64u * 1024) /* one read() */
#define MAX_LISTENERS (2 * 2 * HF_MAX_SERVICE_ADDRS)
#define LISTENER_BIT  (1ull << 40) /* epoll data: a listener, else a connection */
#define OPT_KEEPALIVE 11	   /* EDNS TCP keepalive (RFC 7828) */
#define BATCH	      32	   /* queries looked up in one bulk lookup */

enum conn_state { C_FREE = 0, C_HANDSHAKE, C_OPEN };

/* A client address, the per-client limit's key. */
struct client_key {
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

struct conn {
	int fd;
	uint8_t state;	     /* enum conn_state */
	bool peer_done;	     /* the client closed its side: close once answered */
	bool paused;	     /* not read: too much waiting or unsent */
	bool dirty;	     /* on the flush list */
	bool refused;	     /* access-control refuses the client: REFUSED, EDE 18 */
	uint32_t gen;	     /* bumped when the slot is freed: a stale parked query's check */
	uint32_t prev, next; /* the idle list, oldest first */
	uint32_t dirty_next; /* the flush list */
	uint32_t events;     /* what epoll watches */
	uint32_t pending;    /* queries parked in the cache */
	uint64_t active_ms;  /* last complete query (or accept, or last answer of a burst) */
	SSL *ssl;	     /* NULL: plain TCP */
	struct hf_stream in; /* input not yet taken */
	uint8_t *out;	     /* framed answers: [out_off, out_len) not yet written */
	uint32_t out_off, out_len, out_cap;
	struct client_key ck;
};

/* A query waiting in the cache for its answer (the cache's cookie). The
 * client's header and question are kept to answer it as sent. */
struct parked {
	uint32_t conn, gen;
	uint32_t next_free;
	bool keepalive;
	bool has_ck; /* ck: its answer's COOKIE option data */
	uint8_t ck[HF_COOKIE_OPT_LEN];
	struct hf_query q;
	uint8_t msg[HF_DNS_HDR_LEN + HF_DNS_NAME_MAX + 4];
};

/* A query of this readiness cycle waiting for the bulk lookup (batch_run):
 * its header and question, as a parked one keeps them. It counts in its
 * connection's pending until then. */
struct batched {
	uint32_t conn, gen, hash;
	bool keepalive;
	struct hf_query q;
	struct hf_cache_key key;
	uint8_t msg[HF_DNS_HDR_LEN + HF_DNS_NAME_MAX + 4];
};

struct listener {
	int fd;
	bool tls;
};

struct hf_transport {
	struct hf_worker w; /* the replica: first, so the cache's wake argument casts back */
	struct hf_transport_conf tc;
	int ep;
	struct listener ls[MAX_LISTENERS];
	unsigned nls;
	struct conn *conns;
	uint32_t free_head, nopen;
	uint32_t idle_head, idle_tail;
	uint32_t dirty_head;
	struct rte_hash *clients; /* struct client_key -> connections open */
	struct parked *parked;
	uint32_t nparked, parked_free;
	struct batched *batch; /* [BATCH] */
	uint32_t nbatch;
	SSL_CTX *tls;
	SSL_CTX *tls_next; /* from hf_transport_tls_reload (atomic exchange) */
	uint8_t *rbuf;
	/* the COOKIE option data of the answer being written, NULL: none */
	const uint8_t *ck;
	pthread_t tid;
	bool started;
};

/* ---- connections: lists, limits, close ---- */

static void idle_unlink(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	if (c->prev != NONE)
		t->conns[c->prev].next = c->next;
	else
		t->idle_head = c->next;
	if (c->next != NONE)
		t->conns[c->next].prev = c->prev;
	else
		t->idle_tail = c->prev;
	c->prev = c->next = NONE;
}

/* Active now: to the young end of the idle list. */
static void touch(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	idle_unlink(t, i);
	c->active_ms = t->w.now_ms;
	c->prev = t->idle_tail;
	if (t->idle_tail != NONE)
		t->conns[t->idle_tail].next = i;
	else
		t->idle_head = i;
	t->idle_tail = i;
}

static int client_count(struct hf_transport *t, const struct client_key *k, int delta)
{
	void *v = NULL;
	uintptr_t n = 0;
	if (rte_hash_lookup_data(t->clients, k, &v) >= 0)
		n = (uintptr_t)v;
	if (delta > 0 && n >= t->tc.max_per_client)
		return -1;
	n = (uintptr_t)((intptr_t)n + delta);
	if (n == 0)
		rte_hash_del_key(t->clients, k);
	else if (rte_hash_add_key_data(t->clients, k, (void *)n) < 0)
		return -1;
	return 0;
}

static void set_events(struct hf_transport *t, uint32_t i, uint32_t ev)
{
	struct conn *c = &t->conns[i];
	struct epoll_event e = {.events = ev, .data.u64 = i};
	if (c->events == ev)
		return;
	c->events = ev;
	epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_close(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	if (c->ssl != NULL) {
		if (c->state == C_OPEN)
			SSL_shutdown(c->ssl); /* close_notify, not waited for */
		SSL_free(c->ssl);
		t->w.shared->tls_open--;
	} else {
		t->w.shared->tcp_open--;
	}
	close(c->fd);
	hf_stream_free(&c->in);
	free(c->out);
	client_count(t, &c->ck, -1);
	idle_unlink(t, i);
	c->state = C_FREE;
	c->ssl = NULL;
	c->out = NULL;
	c->gen++; /* its parked queries find the slot gone */
	c->next = t->free_head;
	t->free_head = i;
	t->nopen--;
}

/* ---- output ---- */

/* Room for a framed answer of at most `bound` bytes at the end of the
 * output; NULL when memory ran out. */
static uint8_t *out_reserve(struct conn *c, uint32_t bound)
{
	uint32_t need = 2 + bound;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + need > c->out_cap && c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + need > c->out_cap) {
		uint32_t cap = HF_MAX(c->out_len + need, c->out_cap ? 2 * c->out_cap : 1024u);
		uint8_t *b = realloc(c->out, cap);
		if (b == NULL)
			return NULL;
		c->out = b;
		c->out_cap = cap;
	}
	return c->out + c->out_len + 2;
}

/* Frame the answer written at out_reserve()'s pointer: its server
 * cookie (t->ck) when the query had a cookie, its EDNS TCP keepalive (RFC
 * 7828 3.3.2: our idle timeout, in 100 ms units) when the query asked,
 * then the length. */
static void out_commit(struct hf_transport *t, uint32_t i, uint32_t len, uint32_t opt_off,
		       bool keepalive)
{
	struct conn *c = &t->conns[i];
	uint8_t *d = c->out + c->out_len + 2;
	if (t->ck != NULL && opt_off != 0)
		len = hf_reply_opt_append(d, len, opt_off, HF_EDNS_OPT_COOKIE, t->ck,
					  HF_COOKIE_OPT_LEN);
	if (keepalive && opt_off != 0) {
		uint8_t units[2];
		hf_put16(units, (uint16_t)HF_MIN(t->tc.idle_timeout_ms / 100, 65535u));
		len = hf_reply_opt_append(d, len, opt_off, OPT_KEEPALIVE, units, 2);
	}
	hf_put16(c->out + c->out_len, (uint16_t)len);
	c->out_len += 2 + len;
	if (c->ssl != NULL)
		t->w.ctr->tls_answers++;
	else
		t->w.ctr->tcp_answers++;
	if (!c->dirty) {
		c->dirty = true;
		c->dirty_next = t->dirty_head;
		t->dirty_head = i;
	}
}

/* Bytes an answer takes at most: what is copied from the query, the
 * stored sections, an OPT (11) with an EDE (6 + its text), a COOKIE and
 * our keepalive option (OPTS_ROOM). An answer that would pass 65,535
 * bytes (a stored body near 64 KiB) is TC=1, the only way it can be. */
#define OPTS_ROOM (6 + 4 + HF_COOKIE_OPT_LEN)
static uint32_t answer_bound(uint32_t copy, uint32_t body, uint32_t text_len)
{
	return HF_MIN(copy + body + 11 + 6 + text_len + OPTS_ROOM, (uint32_t)HF_DNS_MSG_MAX);
}

static struct hf_reply_env reply_env(struct hf_transport *t)
{
	return (struct hf_reply_env){t->w.conf->edns_buffer_size, t->w.now_ms, t->w.cache,
				     t->w.ctr};
}

/* An answer without records to the query in src (its header and, when
 * with_question, its question). */
static void answer_empty(struct hf_transport *t, uint32_t i, const uint8_t *src,
			 const struct hf_query *q, bool keepalive, unsigned rcode,
			 bool with_question, uint16_t ede, const uint8_t *text, uint16_t text_len)
{
	uint32_t copy = with_question ? q->question_end : HF_DNS_HDR_LEN, bound, len, opt_off;
	struct hf_reply_env env = reply_env(t);
	uint8_t *d;

	bound = answer_bound(copy, 0, text_len);
	d = out_reserve(&t->conns[i], bound);
	if (d == NULL)
		return;
	memcpy(d, src, copy);
	len = hf_reply_build_empty(d, bound - OPTS_ROOM, &env, q, rcode, with_question, ede, text,
				   text_len, &opt_off);
	out_commit(t, i, len, opt_off, keepalive);
}

static const uint8_t timeout_text[] = "resolution timed out";

/* An answer from entry e in mode, or SERVFAIL when the wait timed out. */
static void answer_entry(struct hf_transport *t, uint32_t i, const uint8_t *src,
			 const struct hf_query *q, bool keepalive, const struct hf_cache_entry *e,
			 enum hf_wake_mode mode)
{
	struct hf_reply_env env = reply_env(t);
	uint32_t bound, len, opt_off;
	uint8_t *d;

	if (mode == HF_WAKE_TIMEOUT) {
		t->w.ctr->servfail_timeout++;
		answer_empty(t, i, src, q, keepalive, HF_RCODE_SERVFAIL, true,
			     HF_EDE_NO_REACHABLE_AUTHORITY, timeout_text, sizeof(timeout_text) - 1);
		return;
	}
	bound = answer_bound(q->question_end, hf_entry_ans(e)->body_len,
			     hf_entry_ans(e)->ede_text_len);
	d = out_reserve(&t->conns[i], bound);
	if (d == NULL)
		return;
	memcpy(d, src, q->question_end);
	/* never TC over TCP: the limit is the whole message (RFC 7766 8) */
	len = hf_reply_build_entry(d, bound - OPTS_ROOM, &env, q, e, mode, &opt_off);
	out_commit(t, i, len, opt_off, keepalive);
}

/* Whether the query's OPT carries option `code` (it parsed: well formed). */
static bool opt_has(const uint8_t *msg, uint16_t len, const struct hf_query *q, uint16_t code)
{
	uint32_t pos = q->question_end + 11, end;
	if (!q->has_edns || pos > len)
		return false;
	end = pos + hf_get16(msg + pos - 2);
	while (pos + 4 <= end && end <= len) {
		if (hf_get16(msg + pos) == code)
			return true;
		pos += 4u + hf_get16(msg + pos + 2);
	}
	return false;
}

/* ---- queries ---- */

/* The cache's wake for a parked TCP/TLS query (w is the replica). */
static void transport_wake(void *arg, void *cookie, struct hf_cache_entry *e,
			   enum hf_wake_mode mode)
{
	struct hf_transport *t = arg;
	struct parked *p = cookie;
	struct conn *c = &t->conns[p->conn];

	if (c->gen == p->gen && c->state == C_OPEN) {
		t->ck = p->has_ck ? p->ck : NULL;
		answer_entry(t, p->conn, p->msg, &p->q, p->keepalive, e, mode);
		t->ck = NULL;
		if (--c->pending == 0)
			touch(t, p->conn);
	}
	p->next_free = t->parked_free;
	t->parked_free = (uint32_t)(p - t->parked);
	t->nparked--;
}

/* What the UDP path does for a parsed query (hf_act_on), with the answer
 * written to the connection, or the query parked for it; e is what the
 * lookup found (NULL: nothing). */
static void query_found(struct hf_transport *t, uint32_t i, const uint8_t *msg,
			const struct hf_query *q, const struct hf_cache_key *key, uint32_t hash,
			bool ka, struct hf_cache_entry *e)
{
	struct hf_worker *w = &t->w;
	struct parked *p = t->parked_free != NONE ? &t->parked[t->parked_free] : NULL;
	int how;

	w->ctr->queries++;
	if (HF_UNLIKELY(q->cookie_off != 0) && w->cookie.on) {
		/* TCP is not spoofed: a cookie gets its answer a server cookie,
		 * never BADCOOKIE (RFC 7873 5.2) */
		const struct client_key *ck = &t->conns[i].ck;
		bool v4 = ck->family == AF_INET ||
			  IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)ck->addr);
		hf_cookie_step(w, msg, q,
			       ck->family == AF_INET ? ck->addr : ck->addr + (v4 ? 12 : 0),
			       v4 ? 4 : 16, w->ck_opt[0], true);
		t->ck = w->ck_opt[0];
	}
	if (e == NULL && (e = hf_cache_add_pending(w->cache, key, hash, w->now_ms)) == NULL) {
		static const uint8_t full[] = "cache full";
		w->ctr->park_full++;
		answer_empty(t, i, msg, q, ka, HF_RCODE_SERVFAIL, true, HF_EDE_OTHER, full,
			     sizeof(full) - 1);
		return;
	}
	how = hf_act_on(w, e, key, hash, p);
	if (how >= 0) {
		answer_entry(t, i, msg, q, ka, e, (enum hf_wake_mode)how);
	} else if (how != HF_ACT_PARKED) {
		uint16_t len;
		const uint8_t *text = hf_act_full_text(how, &len);
		answer_empty(t, i, msg, q, ka, HF_RCODE_SERVFAIL, true, HF_EDE_OTHER, text, len);
	} else { /* parked: p is taken */
		t->parked_free = p->next_free;
		t->nparked++;
		p->conn = i;
		p->gen = t->conns[i].gen;
		p->keepalive = ka;
		p->has_ck = t->ck != NULL;
		if (t->ck != NULL)
			memcpy(p->ck, t->ck, HF_COOKIE_OPT_LEN);
		p->q = *q;
		memcpy(p->msg, msg, q->question_end);
		t->conns[i].pending++;
	}
}

/* The queries of this readiness cycle (all connections'), in one bulk
 * lookup: the buckets and entries of all of them loaded at once, as a
 * worker does for a burst, then each answered or parked. */
static void batch_run(struct hf_transport *t)
{
	const struct hf_cache_key *keys[BATCH];
	struct hf_cache_entry *found[BATCH];
	uint32_t hashes[BATCH], n = t->nbatch;
	bool changed = false;

	if (n == 0)
		return;
	for (uint32_t k = 0; k < n; k++) {
		keys[k] = &t->batch[k].key;
		hashes[k] = t->batch[k].hash;
	}
	hf_cache_lookup_bulk(t->w.cache, keys, hashes, n, found);
	t->nbatch = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct batched *b = &t->batch[k];
		struct conn *c = &t->conns[b->conn];
		struct hf_cache_entry *e = found[k];
		if (c->gen != b->gen || c->state != C_OPEN)
			continue; /* closed meanwhile (what came after it was bad) */
		c->pending--;
		/* a miss adds an entry, which may evict one found for a later
		 * query or be the one a later query of the same key wants:
		 * after a miss, the rest look up again */
		if (changed)
			e = hf_cache_lookup(t->w.cache, &b->key, b->hash);
		changed |= e == NULL;
		query_found(t, b->conn, b->msg, &b->q, &b->key, b->hash, b->keepalive, e);
	}
}

/* A query: into this cycle's batch, or at once when it carries a cookie
 * (its answer needs the whole message) or the batch is full. */
static void query(struct hf_transport *t, uint32_t i, const uint8_t *msg, uint16_t len,
		  const struct hf_query *q, const struct hf_cache_key *key)
{
	uint32_t hash = hf_cache_key_hash(key);
	bool ka = opt_has(msg, len, q, OPT_KEEPALIVE);
	struct batched *b;

	if (HF_UNLIKELY(q->cookie_off != 0) && t->w.cookie.on) {
		query_found(t, i, msg, q, key, hash, ka, hf_cache_lookup(t->w.cache, key, hash));
		return;
	}
	if (t->nbatch == BATCH)
		batch_run(t);
	b = &t->batch[t->nbatch++];
	b->conn = i;
	b->gen = t->conns[i].gen;
	b->hash = hash;
	b->keepalive = ka;
	b->q = *q;
	memcpy(&b->key, key, HF_CACHE_KEY_HDR + key->name_len);
	memcpy(b->msg, msg, q->question_end);
	hf_cache_prefetch(t->w.cache, hash);
	t->conns[i].pending++; /* held until batch_run */
}

/* Enough waiting or unsent: the connection is read no further for now. */
static bool blocked(struct hf_transport *t, const struct conn *c)
{
	return c->pending >= t->tc.max_pending || c->out_len - c->out_off >= OUT_HIGH;
}

struct feed_arg {
	struct hf_transport *t;
	uint32_t i;
};

/* One message from the stream (hf_stream_fn). */
static int on_message(void *arg, const uint8_t *msg, uint16_t len)
{
	struct feed_arg *fa = arg;
	struct hf_transport *t = fa->t;
	struct conn *c = &t->conns[fa->i];
	struct hf_counters *ctr = t->w.ctr;
	struct hf_cache_key key;
	struct hf_query q;
	enum hf_query_verdict v;

	if (c->ssl != NULL)
		ctr->tls_queries++;
	else
		ctr->tcp_queries++;
	v = hf_query_parse(msg, len, &q, key.name);
	if (HF_UNLIKELY(c->refused) && v != HF_Q_DROP) {
		ctr->acl_refused++;
		answer_empty(t, fa->i, msg, &q, false, HF_RCODE_REFUSED, v == HF_Q_OK,
			     HF_EDE_PROHIBITED, NULL, 0);
		touch(t, fa->i);
		return blocked(t, c) ? 1 : 0;
	}
	switch (v) {
	case HF_Q_OK:
		key.name_len = q.qname_len;
		key.flags = (q.do_bit ? HF_KEY_DO : 0) | ((q.flags & HF_DNS_CD) ? HF_KEY_CD : 0);
		key.qtype = q.qtype;
		key.qclass = q.qclass;
		query(t, fa->i, msg, len, &q, &key);
		t->ck = NULL;
		break;
	case HF_Q_DROP: /* no header to answer: the stream is not DNS */
		ctr->drop_dns_header++;
		return HF_STREAM_BAD; /* counted as the connection closes */
	case HF_Q_FORMERR:
		ctr->formerr++;
		answer_empty(t, fa->i, msg, &q, false, HF_RCODE_FORMERR, false, HF_EDE_NONE, NULL,
			     0);
		break;
	case HF_Q_NOTIMP:
		ctr->notimp++;
		answer_empty(t, fa->i, msg, &q, false, HF_RCODE_NOTIMP, q.question_end != 0,
			     HF_EDE_NONE, NULL, 0);
		break;
	case HF_Q_REFUSED:
		ctr->refused++;
		answer_empty(t, fa->i, msg, &q, false, HF_RCODE_REFUSED, true, HF_EDE_NONE, NULL,
			     0);
		break;
	default:
		ctr->badvers++;
		answer_empty(t, fa->i, msg, &q, false, HF_RCODE_BADVERS, true, HF_EDE_NONE, NULL,
			     0);
		break;
	}
	touch(t, fa->i);
	/* enough waiting or unsent: stop here, the rest stays held */
	return blocked(t, c) ? 1 : 0;
}

/* ---- I/O ---- */

/* Write what is queued; false when the connection is gone. */
static bool conn_flush(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	while (c->out_off < c->out_len) {
		uint32_t n = c->out_len - c->out_off;
		ssize_t k;
		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, c->out + c->out_off, (int)n);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					break;
				t->w.ctr->conn_closed++;
				conn_close(t, i);
				return false;
			}
			k = r;
		} else {
			k = send(c->fd, c->out + c->out_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				t->w.ctr->conn_closed++;
				conn_close(t, i);
				return false;
			}
		}
		c->out_off += (uint32_t)k;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > 4 * OUT_HIGH) { /* one huge answer: give it back */
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	if (c->peer_done && c->pending == 0 && c->out_len == 0) {
		t->w.ctr->conn_closed++;
		conn_close(t, i);
		return false;
	}
	return true;
}

static void conn_read(struct hf_transport *t, uint32_t i);

/* After output or answers: write, then watch for what is next. */
static void conn_settle(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	uint32_t ev;
	if (!conn_flush(t, i))
		return;
	if (c->paused && !blocked(t, c)) {
		c->paused = false;
		conn_read(t, i); /* the held input first, then the socket */
		if (c->state == C_FREE)
			return;
	}
	ev = 0;
	if (!c->paused && !c->peer_done)
		ev |= EPOLLIN;
	if (c->out_off < c->out_len)
		ev |= EPOLLOUT;
	set_events(t, i, ev);
}

/* Read and take messages until the socket is empty or the connection
 * must wait. */
static void conn_read(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	struct feed_arg fa = {t, i};
	int rc;

	/* what a pause left first */
	if (hf_stream_held(&c->in) > 0) {
		rc = hf_stream_feed(&c->in, NULL, 0, on_message, &fa);
		if (rc < 0)
			goto bad;
		if (rc == HF_STREAM_PAUSED) {
			c->paused = true;
			return;
		}
	}
	for (;;) {
		ssize_t n;
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, t->rbuf, READ_CHUNK);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				/* a client gone without close_notify is a close,
				 * what is not TLS (or not ours) a bad stream */
				bool eof = ERR_GET_REASON(ERR_peek_error()) ==
					   SSL_R_UNEXPECTED_EOF_WHILE_READING;
				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				if (e == SSL_ERROR_ZERO_RETURN) {
					c->peer_done = true;
					return;
				}
				if (e == SSL_ERROR_SSL && !eof) {
					rc = HF_STREAM_BAD;
					goto bad;
				}
				goto gone;
			}
			n = r;
		} else {
			n = recv(c->fd, t->rbuf, READ_CHUNK, MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				goto gone;
			}
			if (n == 0) {
				c->peer_done = true;
				return;
			}
		}
		rc = hf_stream_feed(&c->in, t->rbuf, (size_t)n, on_message, &fa);
		if (rc < 0)
			goto bad;
		if (rc == HF_STREAM_PAUSED) {
			c->paused = true;
			return;
		}
		/* epoll is level-triggered and reports what is left: read again
		 * only when this read filled the buffer (TCP) or OpenSSL holds
		 * bytes it read ahead (TLS), never just for the EAGAIN that
		 * would end the cycle (one system call a cycle) */
		if (c->ssl != NULL ? !SSL_has_pending(c->ssl) : (size_t)n < READ_CHUNK)
			return;
	}
bad:
	if (rc == HF_STREAM_BAD)
		t->w.ctr->conn_malformed++;
	/* what came before the bad message is answered and still goes out */
	batch_run(t);
	conn_flush(t, i);
	if (c->state != C_FREE)
		conn_close(t, i);
	return;
gone:
	t->w.ctr->conn_closed++;
	conn_close(t, i);
}

/* A TLS handshake step; false when the connection is gone. */
static bool conn_handshake(struct hf_transport *t, uint32_t i)
{
	struct conn *c = &t->conns[i];
	int r = SSL_accept(c->ssl);
	if (r == 1) {
		c->state = C_OPEN;
		t->w.ctr->tls_handshakes++;
		if (SSL_session_reused(c->ssl))
			t->w.ctr->tls_resumed++;
		return true;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		set_events(t, i, EPOLLIN);
		break;
	case SSL_ERROR_WANT_WRITE:
		set_events(t, i, EPOLLOUT);
		break;
	default:
		t->w.ctr->tls_failures++;
		conn_close(t, i);
		ERR_clear_error();
		return false;
	}
	ERR_clear_error();
	return true;
}

static void conn_event(struct hf_transport *t, uint32_t i, uint32_t ev)
{
	struct conn *c = &t->conns[i];
	bool in = (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
	if (c->state == C_HANDSHAKE) {
		if (!conn_handshake(t, i) || c->state != C_OPEN)
			return;
		/* the handshake read the socket: a first query that came with
		 * the client's Finished is held by OpenSSL (below), a later one
		 * makes the socket readable again */
		in = false;
	}
	/* read when the socket is readable or OpenSSL holds input it read
	 * ahead, not when the socket only took output */
	if (c->ssl != NULL && SSL_has_pending(c->ssl))
		in = true;
	if (!c->paused && !c->peer_done && in) {
		conn_read(t, i);
		if (c->state == C_FREE)
			return;
	}
	/* with answers queued (or to come from this cycle's batch, which
	 * queues them) it is written once, by flush_dirty */
	if (!c->dirty)
		conn_settle(t, i);
}

static void key_of(struct client_key *k, const struct sockaddr_storage *ss)
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(k->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(k->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

static void accept_all(struct hf_transport *t, const struct listener *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct client_key ck;
		enum hf_acl_action act;
		struct epoll_event e;
		struct conn *c;
		uint32_t i;
		/* TCP_NODELAY comes from the listener (listen_on) */
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or out of descriptors: the next wake-up tries again */
		key_of(&ck, &ss);
		act = HF_ACL_ALLOW;
		if (t->w.conf->acl != NULL)
			act = ck.family == AF_INET
				      ? hf_acl_v4(
						t->w.conf->acl,
						((const struct sockaddr_in *)&ss)->sin_addr.s_addr)
				      : hf_acl_v6(t->w.conf->acl, ck.addr);
		if (act == HF_ACL_DROP) {
			t->w.ctr->drop_acl++;
			close(fd);
			continue;
		}
		if (t->free_head == NONE) {
			t->w.ctr->conn_refused++;
			close(fd);
			continue;
		}
		if (client_count(t, &ck, 1) != 0) {
			t->w.ctr->conn_refused_client++;
			close(fd);
			continue;
		}
		i = t->free_head;
		c = &t->conns[i];
		t->free_head = c->next;
		c->next = c->prev = NONE;
		c->fd = fd;
		c->ck = ck;
		c->peer_done = c->paused = false; /* dirty: still on the flush list maybe */
		c->refused = act == HF_ACL_REFUSE;
		c->pending = 0;
		c->out_off = c->out_len = c->out_cap = 0;
		c->events = EPOLLIN;
		t->nopen++;
		touch(t, i);
		if (l->tls) {
			t->w.ctr->tls_accepted++;
			t->w.shared->tls_open++;
			c->state = C_HANDSHAKE;
			c->ssl = SSL_new(t->tls);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
				t->w.ctr->tls_failures++;
				conn_close(t, i);
				continue;
			}
		} else {
			t->w.ctr->tcp_accepted++;
			t->w.shared->tcp_open++;
			c->state = C_OPEN;
			c->ssl = NULL;
		}
		e.events = EPOLLIN;
		e.data.u64 = i;
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &e) != 0)
			conn_close(t, i);
	}
}

/* ---- the loop ---- */

static void expire_idle(struct hf_transport *t)
{
	while (t->idle_head != NONE) {
		uint32_t i = t->idle_head;
		struct conn *c = &t->conns[i];
		if (c->active_ms + t->tc.idle_timeout_ms > t->w.now_ms)
			return;
		if (c->pending > 0) { /* waiting for answers is not idle */
			touch(t, i);
			continue;
		}
		if (c->state == C_HANDSHAKE)
			t->w.ctr->tls_failures++;
		t->w.ctr->conn_timeout++;
		conn_close(t, i);
	}
}

/* Write every connection with new answers; one that a write lets read
 * again may take queries, which are answered before this returns. */
static void flush_dirty(struct hf_transport *t)
{
	while (t->dirty_head != NONE) {
		uint32_t i = t->dirty_head;
		struct conn *c = &t->conns[i];
		t->dirty_head = c->dirty_next;
		c->dirty = false;
		if (c->state != C_FREE)
			conn_settle(t, i);
		if (t->dirty_head == NONE)
			batch_run(t);
	}
}

static void take_new_tls(struct hf_transport *t)
{
	SSL_CTX *n = __atomic_exchange_n(&t->tls_next, NULL, __ATOMIC_ACQ_REL);
	if (n != NULL) {
		SSL_CTX_free(t->tls); /* open connections hold their own reference */
		t->tls = n;
	}
}

static void *transport_main(void *arg)
{
	struct hf_transport *t = arg;
	struct hf_worker *w = &t->w;
	struct epoll_event ev[64];
	uint64_t next_ms = 0;

	while (!*w->stop) {
		int n = epoll_wait(t->ep, ev, HF_ARRAY_LEN(ev), 1);
		w->now_ms = rte_rdtsc() / w->tsc_per_ms;
		hf_worker_poll_control(w); /* fills wake parked queries */
		for (int k = 0; k < n; k++) {
			uint64_t d = ev[k].data.u64;
			if (d & LISTENER_BIT)
				accept_all(t, &t->ls[d & 0xff]);
			else if (t->conns[d].state != C_FREE)
				conn_event(t, (uint32_t)d, ev[k].events);
		}
		batch_run(t);
		if (w->now_ms >= next_ms) {
			hf_cache_expire_waiters(w->cache, w->now_ms, w->wake, w);
			hf_publish_gauges(w);
			expire_idle(t);
			take_new_tls(t);
			next_ms = w->now_ms + 1;
		}
		flush_dirty(t);
	}
	/* a stop: every parked query answered with what the cache has, and
	 * written out before the connections close */
	batch_run(t);
	hf_cache_wake_every(w->cache, rte_rdtsc() / w->tsc_per_ms, w->wake, w);
	flush_dirty(t);
	return NULL;
}

/* ---- set-up ---- */

static int listen_on(struct hf_transport *t, int family, const void *addr, uint16_t port, bool tls,
		     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct epoll_event e;
	char a[64];
	int one = 1, fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
		sl = sizeof(*s6);
	}
	inet_ntop(family, addr, a, sizeof(a));
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "tcp: socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the address is on the exception interface, which may come up after */
	setsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		   family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* answers go out as they are ready; Linux hands this to every
	 * accepted socket, which saves a system call per connection */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "tcp: cannot listen on %s port %u: %s", a, port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	t->ls[t->nls].fd = fd;
	t->ls[t->nls].tls = tls;
	e.events = EPOLLIN;
	e.data.u64 = LISTENER_BIT | t->nls;
	t->nls++;
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
		snprintf(err, errlen, "tcp: epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct hf_transport *hf_transport_create(const struct hf_transport_conf *tc,
					 const struct hf_dp_conf *dp, unsigned idx,
					 struct rte_ring *to_control, struct rte_ring *from_control,
					 struct hf_worker_shared *shared, volatile bool *stop,
					 char *err, size_t errlen)
{
	static struct hf_dp_conf rconf; /* the replica's: no exception rings */
	struct hf_transport *t = calloc(1, sizeof(*t));
	char name[32];

	if (t == NULL) {
		snprintf(err, errlen, "tcp: out of memory");
		return NULL;
	}
	t->tc = *tc;
	t->ep = -1;
	{
		/* a descriptor per connection, and some for everything else */
		struct rlimit rl;
		rlim_t need = (rlim_t)tc->max_conns + 256;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
			rl.rlim_cur = HF_MIN(need, rl.rlim_max);
			setrlimit(RLIMIT_NOFILE, &rl);
			if (rl.rlim_cur < need) {
				snprintf(err, errlen,
					 "tcp-max-connections %u needs %llu open files, the limit "
					 "is %llu (ulimit -n, LimitNOFILE=)",
					 tc->max_conns, (unsigned long long)need,
					 (unsigned long long)rl.rlim_cur);
				goto fail;
			}
		}
	}
	rconf = *dp;
	rconf.exc = NULL;
	rconf.rrl.rate = 0; /* TCP clients are not spoofed: no rate limit there */
	if (tc->tls_cert[0] != '\0') {
		t->tls = hf_tls_ctx_new(tc->tls_cert, tc->tls_key, err, errlen);
		if (t->tls == NULL)
			goto fail;
	}
	if (hf_worker_init(&t->w, idx, &rconf, NULL, 0, to_control, from_control, shared, stop, err,
			   errlen) != 0)
		goto fail;
	t->w.wake = transport_wake;
	t->conns = calloc(tc->max_conns, sizeof(*t->conns));
	t->parked = calloc(dp->cache.waiters, sizeof(*t->parked));
	t->rbuf = malloc(READ_CHUNK);
	t->batch = malloc(BATCH * sizeof(*t->batch));
	if (t->conns == NULL || t->parked == NULL || t->rbuf == NULL || t->batch == NULL) {
		snprintf(err, errlen, "tcp: out of memory for %u connections", tc->max_conns);
		goto fail;
	}
	for (uint32_t i = 0; i < tc->max_conns; i++) {
		t->conns[i].next = i + 1 < tc->max_conns ? i + 1 : NONE;
		t->conns[i].prev = NONE;
		t->conns[i].fd = -1;
	}
	t->free_head = 0;
	for (uint32_t i = 0; i < dp->cache.waiters; i++)
		t->parked[i].next_free = i + 1 < dp->cache.waiters ? i + 1 : NONE;
	t->parked_free = dp->cache.waiters ? 0 : NONE;
	t->idle_head = t->idle_tail = t->dirty_head = NONE;
	snprintf(name, sizeof(name), "hf_tcp_clients_%u", idx);
	{
		struct rte_hash_parameters hp = {
			.name = name,
			.entries = HF_MAX(tc->max_conns, 8u),
			.key_len = sizeof(struct client_key),
			.hash_func = rte_jhash,
			.socket_id = (int)SOCKET_ID_ANY,
		};
		t->clients = rte_hash_create(&hp);
	}
	if (t->clients == NULL) {
		snprintf(err, errlen, "tcp: cannot create the client table (raise -m?)");
		goto fail;
	}
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0) {
		snprintf(err, errlen, "tcp: epoll: %s", strerror(errno));
		goto fail;
	}
	for (unsigned k = 0; k < 2; k++) {
		bool tls = k == 1;
		uint16_t port = tls ? tc->tls_port : tc->tcp_port;
		if (tls ? t->tls == NULL : !tc->tcp)
			continue;
		for (unsigned a = 0; a < dp->nservice4; a++)
			if (listen_on(t, AF_INET, &dp->service4[a], port, tls, err, errlen) != 0)
				goto fail;
		for (unsigned a = 0; a < dp->nservice6; a++)
			if (listen_on(t, AF_INET6, dp->service6[a], port, tls, err, errlen) != 0)
				goto fail;
	}
	return t;
fail:
	hf_transport_destroy(t);
	return NULL;
}

int hf_transport_start(struct hf_transport *t, char *err, size_t errlen)
{
	int rc = pthread_create(&t->tid, NULL, transport_main, t);
	if (rc != 0) {
		snprintf(err, errlen, "tcp: cannot start the transport thread: %s", strerror(rc));
		return -1;
	}
	pthread_setname_np(t->tid, "hf-transport");
	t->started = true;
	return 0;
}

void hf_transport_destroy(struct hf_transport *t)
{
	if (t == NULL)
		return;
	if (t->started)
		pthread_join(t->tid, NULL);
	for (uint32_t i = 0; t->conns != NULL && i < t->tc.max_conns; i++)
		if (t->conns[i].state != C_FREE)
			conn_close(t, i);
	for (unsigned k = 0; k < t->nls; k++)
		close(t->ls[k].fd);
	if (t->ep >= 0)
		close(t->ep);
	hf_worker_fini(&t->w); /* its parked queries go with the cache */
	rte_hash_free(t->clients);
	SSL_CTX_free(t->tls);
	SSL_CTX_free(__atomic_exchange_n(&t->tls_next, NULL, __ATOMIC_ACQ_REL));
	free(t->conns);
	free(t->parked);
	free(t->rbuf);
	free(t->batch);
	free(t);
}

int hf_transport_tls_reload(struct hf_transport *t, char *err, size_t errlen)
{
	SSL_CTX *n, *old;
	if (t == NULL || t->tc.tls_cert[0] == '\0') {
		snprintf(err, errlen, "DNS over TLS is not configured (tls-certificate)");
		return -1;
	}
	n = hf_tls_ctx_new(t->tc.tls_cert, t->tc.tls_key, err, errlen);
	if (n == NULL)
		return -1;
	old = __atomic_exchange_n(&t->tls_next, n, __ATOMIC_ACQ_REL);
	SSL_CTX_free(old); /* a reload the thread had not taken yet */
	return 0;
}

void hf_transport_set_control(struct hf_transport *t, struct rte_ring *const *to_control,
			      unsigned n)
{
	hf_worker_set_control(&t->w, to_control, n);
}

struct hf_cache *hf_transport_cache(struct hf_transport *t)
{
	return t->w.cache;
}
