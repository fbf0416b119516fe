/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the UDP sockets of upstream attempts
 * (control/fwd_internal.h).
 *
 * A socket is connect()ed to one forwarder, so the kernel gives it a
 * random source port and drops datagrams from any other address or port.
 * Opening one per attempt cost five system calls on top of the query's
 * send and recv (socket, connect, epoll_ctl ADD and DEL, close), so a
 * socket that carried a query cleanly goes back to its forwarder's pool
 * and carries the next: at most HF_FWD_SOCK_USES queries, one at a time,
 * within HF_FWD_SOCK_LIFE_MS of its opening. Each query on it has its own
 * random ID, 0x20 case and deadline, and the answer is checked as before
 * (ID, question as spelt, cookie). The next query takes an idle socket
 * drawn at random from the pool, so the ports in use keep changing.
 *
 * "Cleanly": the attempt ended on a datagram it accepted (an answer, an
 * rcode, TC=1), and the socket received nothing else: no mismatched
 * datagram, no ICMP error. Anything else (a timeout, a forgery, an error,
 * a datagram on an idle socket) closes it, so a port that someone aims at
 * or that may still get a late answer is not used again.
 *
 * The sockets' slots (handler, descriptor) are allocated in chunks and
 * never freed until hf_fwd_sock_fini: an epoll event of this loop pass
 * for a socket closed earlier in the pass finds its slot with fd -1 (or a
 * new socket, which then has nothing to read).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/fwd_internal.h"

#define HF_FWD_SOCK_CHUNK 64 /* slots allocated at a time */

struct hf_fwd_sock_chunk {
	struct hf_fwd_sock_chunk *next;
	struct hf_fwd_sock s[HF_FWD_SOCK_CHUNK];
};

/* s out of its forwarder's idle list: the last one takes its place. */
static void idle_remove(struct hf_fwd_pool *p, struct hf_fwd_sock *s)
{
	struct hf_fwd_sock **idle = p->idle[s->fwd];
	uint16_t last = --p->nidle[s->fwd];

	idle[s->idle_pos] = idle[last];
	idle[s->idle_pos]->idle_pos = s->idle_pos;
	s->idle_pos = -1;
}

/* Close s's socket; its slot goes back to the free list. */
static void sock_close(struct hf_fwd *f, struct hf_fwd_sock *s)
{
	struct hf_fwd_pool *p = &f->pool;

	if (s->idle_pos >= 0)
		idle_remove(p, s);
	hf_loop_del(f->loop, s->fd);
	close(s->fd);
	s->fd = -1;
	s->q = NULL;
	s->next_free = p->free;
	p->free = s;
}

/* Readiness on an idle socket: a late or unasked-for datagram. Nobody
 * waits on this port: it is closed (the kernel refuses what follows). */
static void sock_io(struct hf_handler *h, uint32_t events, uint64_t now)
{
	struct hf_fwd_sock *s = hf_container_of(h, struct hf_fwd_sock, io);

	(void)events;
	if (s->fd < 0)
		return; /* closed earlier in this loop pass */
	if (s->q != NULL) {
		hf_fwd_udp_readable(s->owner, s->q, now);
		return;
	}
	sock_close(s->owner, s);
}

static struct hf_fwd_sock *slot_get(struct hf_fwd *f)
{
	struct hf_fwd_pool *p = &f->pool;
	struct hf_fwd_sock *s = p->free;

	if (s == NULL) {
		struct hf_fwd_sock_chunk *c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NULL;
		c->next = p->chunks;
		p->chunks = c;
		for (unsigned i = HF_FWD_SOCK_CHUNK; i-- > 0;) {
			c->s[i].owner = f;
			c->s[i].fd = -1;
			c->s[i].idle_pos = -1;
			c->s[i].io.fn = sock_io;
			c->s[i].next_free = p->free;
			p->free = &c->s[i];
		}
		s = p->free;
	}
	p->free = s->next_free;
	s->next_free = NULL;
	return s;
}

void hf_fwd_sock_close_idle(struct hf_fwd *f)
{
	for (unsigned i = 0; i < HF_MAX_FORWARDERS; i++)
		while (f->pool.nidle[i] > 0)
			sock_close(f, f->pool.idle[i][f->pool.nidle[i] - 1]);
}

/* A new socket connected to forwarder fwd, watched by the loop; NULL with
 * errno set. */
static struct hf_fwd_sock *sock_open(struct hf_fwd *f, unsigned fwd, uint64_t now)
{
	const struct sockaddr_storage *fa = &f->cfg->forwarder[fwd];
	struct hf_fwd_sock *s = slot_get(f);
	int fd, e;

	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	fd = socket(fa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		hf_fwd_sock_close_idle(f); /* descriptors are short */
		fd = socket(fa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0 || connect(fd, (const struct sockaddr *)fa, hf_fwd_addrlen(fa)) != 0 ||
	    hf_loop_add(f->loop, fd, EPOLLIN, &s->io) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		s->next_free = f->pool.free;
		f->pool.free = s;
		errno = e;
		return NULL;
	}
	s->fd = fd;
	s->fwd = (uint8_t)fwd;
	s->uses = 0;
	s->born_ms = now;
	memcpy(&s->peer, fa, hf_fwd_addrlen(fa));
	f->st->upstream_sockets++;
	return s;
}

/* May s carry another query to forwarder fwd now? */
static bool reusable(const struct hf_fwd *f, const struct hf_fwd_sock *s, unsigned fwd,
		     uint64_t now)
{
	const struct sockaddr_storage *fa = &f->cfg->forwarder[fwd];
	return s->uses < HF_FWD_SOCK_USES && now - s->born_ms < HF_FWD_SOCK_LIFE_MS &&
	       memcmp(&s->peer, fa, hf_fwd_addrlen(fa)) == 0; /* a reload may change the list */
}

int hf_fwd_sock_take(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now)
{
	struct hf_fwd_pool *p = &f->pool;
	struct hf_fwd_sock *s = NULL;
	unsigned fwd = q->fwd;

	while (s == NULL && p->nidle[fwd] > 0) { /* one drawn at random */
		struct hf_fwd_sock *c = p->idle[fwd][hf_fwd_rand16(f) % p->nidle[fwd]];
		if (!reusable(f, c, fwd, now)) {
			sock_close(f, c);
			continue;
		}
		idle_remove(p, c);
		s = c;
	}
	if (s == NULL && (s = sock_open(f, fwd, now)) == NULL)
		return -1;
	s->q = q;
	s->uses++;
	s->answered = 0;
	s->dirty = 0;
	q->sock = s;
	q->fd = s->fd;
	return 0;
}

void hf_fwd_sock_release(struct hf_fwd *f, struct hf_fwd_query *q)
{
	struct hf_fwd_pool *p = &f->pool;
	struct hf_fwd_sock *s = q->sock;

	q->sock = NULL;
	q->fd = -1;
	s->q = NULL;
	/* a reload may have shortened the list: no idle socket out of it */
	if (!s->answered || s->dirty || s->uses >= HF_FWD_SOCK_USES ||
	    p->nidle[s->fwd] >= HF_FWD_SOCK_IDLE || s->fwd >= f->cfg->nforwarders) {
		sock_close(f, s);
		return;
	}
	s->idle_pos = (int16_t)p->nidle[s->fwd];
	p->idle[s->fwd][p->nidle[s->fwd]++] = s;
}

void hf_fwd_sock_fini(struct hf_fwd *f)
{
	struct hf_fwd_sock_chunk *c = f->pool.chunks;

	while (c != NULL) {
		struct hf_fwd_sock_chunk *next = c->next;
		for (unsigned i = 0; i < HF_FWD_SOCK_CHUNK; i++) {
			struct hf_fwd_sock *s = &c->s[i];
			if (s->q != NULL) { /* its attempt is freed without it */
				s->q->sock = NULL;
				s->q->fd = -1;
			}
			if (s->fd >= 0)
				close(s->fd);
		}
		free(c);
		c = next;
	}
	memset(&f->pool, 0, sizeof(f->pool));
}
