/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management socket server (protocol: hf_mgmt.h).
 *
 * Runs on the control thread, inside its loop: the listening socket and
 * every connection are non-blocking and live in their own epoll set, which
 * the control loop's epoll watches, so an idle socket costs nothing. A
 * connection gets HF_MGMT_IO_MS to send one request line of at most
 * HF_MGMT_REQ_MAX bytes and to take its reply; anything else is answered
 * "ERR ..." (when it can be) and closed. At most HF_MGMT_CONNS at once.
 *
 * Access control is the socket file's: mode 0600 (owner only), or 0660
 * with control-socket-group; the kernel refuses anyone else's connect().
 *
 * Commands that change the workers (nta add/remove, cache flush, config
 * set) and cache lookup broadcast one control message and reply only when
 * every worker's applied_seq has reached it, with the number of cores and
 * the time it took. Their per-worker results (struct hf_msg_result) belong
 * to this file and are freed only once the message is applied everywhere,
 * even when the connection is gone or timed out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "control/hf_control_impl.h"
#include "control/hf_file.h"
#include "control/hf_mgmt.h"

#ifndef HF_VERSION
#define HF_VERSION "unknown"
#endif

/* C_DRAIN: reply sent and write side shut; what the client still sends is
 * read and dropped until it closes, so closing never resets the
 * connection before the client has read the reply. */
enum conn_state { C_READ = 0, C_WAIT, C_WRITE, C_DRAIN };

struct hf_mgmt_conn {
	int fd;
	uint8_t state;
	bool json;
	uint64_t deadline_ms;
	/* C_WAIT */
	uint64_t seq;
	uint64_t wait_start_us;
	uint64_t wait_deadline_ms;
	struct hf_msg_result *res;
	struct hf_mgmt_req req;
	char persist_err[320]; /* nta add/remove: applied, but nta-state-file not written */
	/* C_READ */
	size_t inlen;
	char in[HF_MGMT_REQ_MAX + 1];
	/* C_WRITE */
	char *out;
	size_t outlen, outoff;
};

/* Results of messages a timed-out connection no longer waits for. */
struct orphan {
	uint64_t seq;
	struct hf_msg_result *res;
};
static struct hf_ptrq orphans; /* control thread only */

uint64_t hf_control_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- connections ---- */

/* k stops waiting before its message is applied everywhere: its results
 * are freed later, when it is (a worker may still write them). */
static void orphan_res(struct hf_mgmt_conn *k)
{
	struct orphan *o;
	if (k->res == NULL)
		return;
	o = malloc(sizeof(*o));
	if (o != NULL) {
		o->seq = k->seq;
		o->res = k->res;
		if (hf_ptrq_push(&orphans, o) != 0)
			free(o); /* leaked: freeing res while a worker may write it is worse */
	}
	k->res = NULL;
}

static void conn_close(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_mgmt *m = &c->mgmt;
	for (unsigned i = 0; i < m->nconns; i++)
		if (m->conns[i] == k) {
			m->conns[i] = m->conns[--m->nconns];
			break;
		}
	if (k->state == C_WAIT) {
		m->waiting--;
		orphan_res(k);
	}
	free(k->res);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k->out);
	free(k);
}

static void conn_write(struct hf_control *c, struct hf_mgmt_conn *k)
{
	while (k->outoff < k->outlen) {
		ssize_t n = send(k->fd, k->out + k->outoff, k->outlen - k->outoff, MSG_NOSIGNAL);
		if (n > 0) {
			k->outoff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT brings us back */
		conn_close(c, k);
		return;
	}
	shutdown(k->fd, SHUT_WR);
	k->state = C_DRAIN;
	k->deadline_ms = hf_control_now_ms() + 1000;
	epoll_ctl(c->mgmt.epfd, EPOLL_CTL_MOD, k->fd,
		  &(struct epoll_event){.events = EPOLLIN, .data.ptr = k});
}

static void conn_drain(struct hf_control *c, struct hf_mgmt_conn *k)
{
	char sink[4096];
	for (;;) {
		ssize_t n = recv(k->fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c, k); /* the client closed (or failed) */
		return;
	}
}

/* Start sending: "OK\n" or "ERR msg\n", then body. */
static void conn_reply(struct hf_control *c, struct hf_mgmt_conn *k, const char *errmsg,
		       struct hf_emit *body)
{
	struct hf_emit e;
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = k};

	hf_emit_init(&e, false);
	if (errmsg != NULL) {
		c->mgmt.errors++;
		hf_emit_rawf(&e, "ERR %s\n", errmsg);
		if (k->json) {
			struct hf_emit j;
			hf_emit_init(&j, true);
			hf_emit_obj_begin(&j, NULL);
			hf_emit_bool(&j, "ok", false);
			hf_emit_str(&j, "error", errmsg);
			hf_emit_obj_end(&j);
			hf_emit_raw(&e, j.buf ? j.buf : "", j.len);
			hf_emit_free(&j);
		}
	} else {
		hf_emit_raw(&e, "OK\n", 3);
		if (body != NULL && body->len)
			hf_emit_raw(&e, body->buf, body->len);
	}
	if (k->state == C_WAIT)
		c->mgmt.waiting--;
	k->state = C_WRITE;
	if (e.oom) {
		hf_emit_free(&e);
		conn_close(c, k);
		return;
	}
	k->out = e.buf;
	k->outlen = e.len;
	k->outoff = 0;
	k->deadline_ms = hf_control_now_ms() + HF_MGMT_IO_MS;
	epoll_ctl(c->mgmt.epfd, EPOLL_CTL_MOD, k->fd, &ev);
	conn_write(c, k);
}

static void conn_error(struct hf_control *c, struct hf_mgmt_conn *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_error(struct hf_control *c, struct hf_mgmt_conn *k, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_reply(c, k, msg, NULL);
}

/* Wait for every worker to apply seq before answering. */
static void conn_wait(struct hf_control *c, struct hf_mgmt_conn *k, uint64_t seq,
		      struct hf_msg_result *res, uint64_t start_us)
{
	k->state = C_WAIT;
	k->seq = seq;
	k->res = res;
	k->wait_start_us = start_us;
	k->wait_deadline_ms = hf_control_now_ms() + HF_MGMT_APPLY_MS;
	c->mgmt.waiting++;
	/* stop reading: the reply is all that is left */
	epoll_ctl(c->mgmt.epfd, EPOLL_CTL_MOD, k->fd,
		  &(struct epoll_event){.events = 0, .data.ptr = k});
}

/* ---- rendering helpers ---- */

static const char *security_name(unsigned s)
{
	switch (s) {
	case HF_SECURITY_SECURE:
		return "secure";
	case HF_SECURITY_BOGUS:
		return "bogus";
	case HF_SECURITY_INDETERMINATE:
		return "indeterminate";
	default:
		return "insecure";
	}
}

static void counters_sub(struct hf_counters *out, const struct hf_counters *now,
			 const struct hf_counters *base)
{
	const uint64_t *a = (const uint64_t *)now, *b = (const uint64_t *)base;
	uint64_t *o = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		o[i] = a[i] - (b ? b[i] : 0);
}

static void counters_add(struct hf_counters *acc, const struct hf_counters *x)
{
	const uint64_t *a = (const uint64_t *)x;
	uint64_t *o = (uint64_t *)acc;
	for (size_t i = 0; i < sizeof(*acc) / sizeof(uint64_t); i++)
		o[i] += a[i];
}

/* Plain loads of a worker's counters (aligned 64-bit: never torn). */
static void read_counters(const struct hf_control *c, unsigned w, struct hf_counters *out)
{
	const volatile uint64_t *src = (const volatile uint64_t *)&c->shared[w]->ctr;
	uint64_t *o = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		o[i] = src[i];
}

/*
 * A port's ethdev counters as its driver keeps them. Read from the
 * control thread while the workers run: the drivers keep plain 64-bit
 * counters, so a read may be a burst behind, never torn. A port that
 * cannot tell reads as zeros.
 */
static void read_port(const struct hf_control *c, unsigned i, struct rte_eth_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (rte_eth_stats_get(c->ports[i].id, out) != 0)
		memset(out, 0, sizeof(*out));
}

/* now - base, never below zero (a driver that reset its counters). */
static uint64_t since(uint64_t now, uint64_t base)
{
	return now >= base ? now - base : now;
}

/* A port's ethdev name ("?" if it has none). */
static void port_name(const struct hf_control *c, unsigned i, char name[RTE_ETH_NAME_MAX_LEN])
{
	if (rte_eth_dev_get_name_by_port(c->ports[i].id, name) != 0)
		snprintf(name, RTE_ETH_NAME_MAX_LEN, "?");
}

static void emit_ports(const struct hf_control *c, struct hf_emit *e)
{
	hf_emit_arr_begin(e, "ports");
	for (unsigned i = 0; i < c->nports; i++) {
		struct rte_eth_stats s;
		const struct rte_eth_stats *b = &c->ports[i].base;
		char name[RTE_ETH_NAME_MAX_LEN];
		read_port(c, i, &s);
		port_name(c, i, name);
		hf_emit_obj_begin(e, NULL);
		hf_emit_u64(e, "port", c->ports[i].id);
		hf_emit_str(e, "name", name);
		hf_emit_u64(e, "rx_packets", since(s.ipackets, b->ipackets));
		hf_emit_u64(e, "tx_packets", since(s.opackets, b->opackets));
		/* received by the device but never handed to a worker (RX ring
		 * full), where the driver counts it (NICs; not net_af_xdp 22.11) */
		hf_emit_u64(e, "rx_missed", since(s.imissed, b->imissed));
		hf_emit_u64(e, "rx_errors", since(s.ierrors, b->ierrors));
		hf_emit_u64(e, "rx_no_mbuf", since(s.rx_nombuf, b->rx_nombuf));
		hf_emit_u64(e, "tx_errors", since(s.oerrors, b->oerrors));
		hf_emit_obj_end(e);
	}
	hf_emit_arr_end(e);
}

/* The workers' mbuf pools: a free count that does not come back to where
 * it started once traffic stops is a leak (parked clients hold one each). */
static void emit_pools(const struct hf_control *c, struct hf_emit *e)
{
	hf_emit_arr_begin(e, "mbuf_pools");
	for (unsigned i = 0; i < c->npools; i++) {
		hf_emit_obj_begin(e, NULL);
		hf_emit_str(e, "name", c->pools[i]->name);
		hf_emit_u64(e, "size", c->pools[i]->size);
		hf_emit_u64(e, "free", rte_mempool_avail_count(c->pools[i]));
		hf_emit_obj_end(e);
	}
	hf_emit_arr_end(e);
}

/* The counters of one group, name: value (common/hf_counters.h). */
static void emit_group(struct hf_emit *e, const void *s, const struct hf_counter_desc *ds, size_t n,
		       unsigned group)
{
	for (size_t i = 0; i < n; i++)
		if (ds[i].group == group)
			hf_emit_u64(e, ds[i].name, hf_counter_get(s, &ds[i]));
}

/* An array counter by EDE info code: only the codes that happened. */
static void emit_ede(struct hf_emit *e, const uint64_t *ede, size_t n)
{
	char code[8];
	hf_emit_obj_begin(e, "ede");
	for (unsigned i = 0; i < n; i++)
		if (ede[i]) {
			snprintf(code, sizeof(code), "%u", i);
			hf_emit_u64(e, code, ede[i]);
		}
	hf_emit_obj_end(e);
}

static void emit_counters(struct hf_emit *e, const struct hf_counters *k, uint64_t waiters,
			  uint64_t entries, uint64_t ring_in, uint64_t ring_out)
{
	emit_group(e, k, hf_worker_counters, hf_worker_ncounters, HF_CG_NONE);
	hf_emit_u64(e, "stale_ede3", k->ede[HF_EDE_STALE_ANSWER]);
	hf_emit_u64(e, "stale_ede19", k->ede[HF_EDE_STALE_NXDOMAIN]);
	hf_emit_u64(e, "waiters", waiters);
	hf_emit_u64(e, "cache_entries", entries);
	hf_emit_u64(e, "ring_to_control", ring_in); /* MISS/REFRESH waiting for control */
	hf_emit_u64(e, "ring_to_worker", ring_out); /* control messages not yet taken */
	hf_emit_obj_begin(e, "rcode");
	for (unsigned r = 0; r < HF_ARRAY_LEN(k->rcode); r++)
		hf_emit_u64(e, hf_rcode_name(r), k->rcode[r]);
	hf_emit_obj_end(e);
	emit_ede(e, k->ede, HF_ARRAY_LEN(k->ede));
	hf_emit_obj_begin(e, hf_counter_groups[HF_CG_DROPS].json);
	emit_group(e, k, hf_worker_counters, hf_worker_ncounters, HF_CG_DROPS);
	hf_emit_obj_end(e);
}

static void emit_control(struct hf_emit *e, const struct hf_control *c,
			 const struct hf_control_stats *s)
{
	hf_emit_obj_begin(e, "control");
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_CONTROL);
	hf_emit_u64(e, "in_flight", c->inflight);
	hf_emit_u64(e, "msgs_pending", c->sent.n);
	hf_emit_u64(e, "nta_count", c->nntas);
	hf_emit_obj_begin(e, "validation");
	hf_emit_bool(e, "enabled", c->val != NULL);
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_VERDICT);
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_VALIDATION);
	emit_ede(e, s->val_ede, HF_ARRAY_LEN(s->val_ede));
	hf_emit_obj_end(e);
	hf_emit_obj_end(e);
}

static void ctl_stats_sub(struct hf_control_stats *out, const struct hf_control_stats *now,
			  const struct hf_control_stats *base)
{
	const uint64_t *a = (const uint64_t *)now, *b = (const uint64_t *)base;
	uint64_t *o = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		o[i] = a[i] - b[i];
}

/* ---- Prometheus text exposition (stats --prometheus, stats-textfile) ---- */

static void prom_family(struct hf_emit *e, const char *name, const char *type, const char *help)
{
	hf_emit_rawf(e, "# HELP holdfast_%s %s\n# TYPE holdfast_%s %s\n", name, help, name, type);
}

/* The ports' driver counters, each family's samples together (as the
 * text format wants). Raw values: Prometheus counters never reset. */
static void prom_port_families(const struct hf_control *c, struct hf_emit *e)
{
	static const struct {
		const char *reason;
		size_t off;
	} drop[] = {
		{"missed", offsetof(struct rte_eth_stats, imissed)},
		{"no_mbuf", offsetof(struct rte_eth_stats, rx_nombuf)},
		{"rx_error", offsetof(struct rte_eth_stats, ierrors)},
		{"tx_error", offsetof(struct rte_eth_stats, oerrors)},
	};
	struct rte_eth_stats ps;
	char name[RTE_ETH_NAME_MAX_LEN];

	prom_family(e, "port_packets_total", "counter",
		    "Packets the port received and sent (its driver's counters).");
	for (unsigned i = 0; i < c->nports; i++) {
		read_port(c, i, &ps);
		port_name(c, i, name);
		hf_emit_rawf(e,
			     "holdfast_port_packets_total{port=\"%s\",direction=\"rx\"} %llu\n"
			     "holdfast_port_packets_total{port=\"%s\",direction=\"tx\"} %llu\n",
			     name, (unsigned long long)ps.ipackets, name,
			     (unsigned long long)ps.opackets);
	}
	prom_family(e, "port_dropped_total", "counter",
		    "Packets the port dropped: no room in its RX ring (missed), no mbuf for "
		    "them (no_mbuf), receive or send errors.");
	for (unsigned i = 0; i < c->nports; i++) {
		read_port(c, i, &ps);
		port_name(c, i, name);
		for (size_t d = 0; d < HF_ARRAY_LEN(drop); d++)
			hf_emit_rawf(
				e, "holdfast_port_dropped_total{port=\"%s\",reason=\"%s\"} %llu\n",
				name, drop[d].reason,
				(unsigned long long)*(const uint64_t *)((const char *)&ps +
									drop[d].off));
	}
	prom_family(e, "mbuf_pool_size", "gauge", "Packet buffers in each worker's pool.");
	for (unsigned i = 0; i < c->npools; i++)
		hf_emit_rawf(e, "holdfast_mbuf_pool_size{pool=\"%s\"} %u\n", c->pools[i]->name,
			     c->pools[i]->size);
	prom_family(e, "mbuf_pool_free", "gauge",
		    "Packet buffers free in each worker's pool (the rest are in the port's "
		    "rings, in flight, or hold a parked client).");
	for (unsigned i = 0; i < c->npools; i++)
		hf_emit_rawf(e, "holdfast_mbuf_pool_free{pool=\"%s\"} %u\n", c->pools[i]->name,
			     rte_mempool_avail_count(c->pools[i]));
}

/*
 * Every counter of a table as Prometheus families (common/hf_counters.h):
 * holdfast_<prefix><name>_total, or one labelled family per group that has
 * a label (its counters are listed together). n structs of stride bytes
 * from s: one sample per core when core is set, else one.
 */
static void prom_counters(struct hf_emit *e, const void *s, size_t stride, unsigned n, bool core,
			  const struct hf_counter_desc *ds, size_t nd)
{
	for (size_t i = 0; i < nd; i++) {
		const struct hf_counter_group_desc *g = &hf_counter_groups[ds[i].group];
		char fam[96], lab[80];
		if (g->label != NULL) {
			snprintf(fam, sizeof(fam), "%s", g->prom);
			if (i == 0 || ds[i - 1].group != ds[i].group)
				prom_family(e, fam, "counter", g->help);
			snprintf(lab, sizeof(lab), "%s=\"%s\"", g->label, ds[i].name);
		} else {
			snprintf(fam, sizeof(fam), "%s%s_total", g->prom, ds[i].name);
			prom_family(e, fam, "counter", ds[i].help);
			lab[0] = '\0';
		}
		for (unsigned w = 0; w < n; w++) {
			uint64_t v = hf_counter_get((const char *)s + w * stride, &ds[i]);
			char core_lab[24] = "";
			if (core)
				snprintf(core_lab, sizeof(core_lab), "core=\"%u\"", w);
			if (core_lab[0] || lab[0])
				hf_emit_rawf(e, "holdfast_%s{%s%s%s} %llu\n", fam, core_lab,
					     core_lab[0] && lab[0] ? "," : "", lab,
					     (unsigned long long)v);
			else
				hf_emit_rawf(e, "holdfast_%s %llu\n", fam, (unsigned long long)v);
		}
	}
}

static void render_prometheus(const struct hf_control *c, struct hf_emit *e)
{
	static struct hf_counters k[HF_MAX_WORKERS]; /* 64 cores: not on the stack */
	struct hf_control_stats s;
	unsigned nw = HF_MIN(c->nw, (unsigned)HF_MAX_WORKERS);

	for (unsigned w = 0; w < nw; w++)
		read_counters(c, w, &k[w]);
	hf_control_get_stats(c, &s);
	prom_family(e, "uptime_seconds", "gauge", "Seconds since holdfast started.");
	hf_emit_rawf(e, "holdfast_uptime_seconds %llu\n",
		     (unsigned long long)((hf_control_now_ms() - c->mgmt.started_ms) / 1000));
	prom_counters(e, k, sizeof(k[0]), nw, true, hf_worker_counters, hf_worker_ncounters);
	prom_family(e, "answers_by_rcode_total", "counter", "DNS answers sent, by rcode.");
	for (unsigned w = 0; w < nw; w++)
		for (unsigned r = 0; r < HF_ARRAY_LEN(k[w].rcode); r++)
			hf_emit_rawf(
				e,
				"holdfast_answers_by_rcode_total{core=\"%u\",rcode=\"%s\"} %llu\n",
				w, hf_rcode_name(r), (unsigned long long)k[w].rcode[r]);
	prom_family(e, "answers_ede_total", "counter",
		    "Answers carrying an Extended DNS Error, by info code (RFC 8914).");
	for (unsigned w = 0; w < nw; w++)
		for (unsigned i = 0; i < HF_ARRAY_LEN(k[w].ede); i++)
			if (k[w].ede[i])
				hf_emit_rawf(e,
					     "holdfast_answers_ede_total{core=\"%u\",code=\"%u\"} "
					     "%llu\n",
					     w, i, (unsigned long long)k[w].ede[i]);
	prom_family(e, "waiters", "gauge", "Clients parked waiting for the control plane.");
	for (unsigned w = 0; w < nw; w++)
		hf_emit_rawf(e, "holdfast_waiters{core=\"%u\"} %llu\n", w,
			     (unsigned long long)c->shared[w]->waiters);
	prom_family(e, "ring_occupancy", "gauge",
		    "Messages waiting in a worker's rings (to_control: misses and refreshes; "
		    "to_worker: control messages).");
	for (unsigned w = 0; w < nw; w++)
		hf_emit_rawf(e,
			     "holdfast_ring_occupancy{core=\"%u\",ring=\"to_control\"} %u\n"
			     "holdfast_ring_occupancy{core=\"%u\",ring=\"to_worker\"} %u\n",
			     w, rte_ring_count(c->to_control[w]), w,
			     rte_ring_count(c->to_worker[w]));
	prom_family(e, "cache_entries", "gauge", "Questions cached on the core.");
	for (unsigned w = 0; w < nw; w++)
		hf_emit_rawf(e, "holdfast_cache_entries{core=\"%u\"} %llu\n", w,
			     (unsigned long long)c->shared[w]->cache_entries);
	prom_counters(e, &s, 0, 1, false, hf_control_counters, hf_control_ncounters);
	prom_family(e, "ntas", "gauge", "Negative Trust Anchors in force.");
	hf_emit_rawf(e, "holdfast_ntas %u\n", c->nntas);
	prom_family(e, "nta_state_persist_failed", "gauge",
		    "1 while the NTAs in force are not what nta-state-file holds (its last "
		    "write failed).");
	hf_emit_rawf(e, "holdfast_nta_state_persist_failed %d\n", c->nta_persist_failed ? 1 : 0);
	prom_port_families(c, e);
}

/* Rewrite stats-textfile (hf_file_replace: node_exporter never reads half). */
static void write_textfile(struct hf_control *c)
{
	char err[320];
	struct hf_emit e;

	hf_emit_init(&e, false);
	render_prometheus(c, &e);
	if (e.oom)
		snprintf(err, sizeof(err), "cannot write %s: %s", c->cfg.stats_textfile,
			 strerror(ENOMEM));
	if (e.oom || hf_file_replace(c->cfg.stats_textfile, e.buf, e.len, err, sizeof(err)) != 0) {
		static uint64_t last_log;
		if (hf_control_now_ms() - last_log > 60000) {
			fprintf(stderr, "holdfast: stats-textfile: %s\n", err);
			last_log = hf_control_now_ms();
		}
	}
	hf_emit_free(&e);
}

/* ---- commands ---- */

static void cmd_status(struct hf_control *c, struct hf_mgmt_conn *k)
{
	static char dump[16384];
	struct hf_emit e;
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_str(&e, "version", HF_VERSION);
	hf_emit_u64(&e, "uptime_s", (hf_control_now_ms() - c->mgmt.started_ms) / 1000);
	hf_emit_u64(&e, "started", c->mgmt.started_unix);
	hf_emit_u64(&e, "workers", c->nw);
	hf_emit_bool(&e, "dnssec", c->val != NULL);
	hf_emit_u64(&e, "ntas", c->nntas);
	hf_emit_bool(&e, "nta_state_persist_failed", c->nta_persist_failed);
	hf_emit_str(&e, "nta_state_error", c->nta_persist_err);
	hf_emit_arr_begin(&e, "ports");
	for (unsigned i = 0; i < c->nports; i++)
		hf_emit_str(&e, NULL, c->ports[i].desc);
	hf_emit_arr_end(&e);
	hf_config_dump(&c->cfg, dump, sizeof(dump));
	if (k->json) {
		hf_emit_str(&e, "config", dump);
		hf_emit_obj_end(&e);
	} else {
		hf_emit_obj_end(&e);
		hf_emit_raw(&e, "config:\n", 8);
		for (char *p = dump; *p;) {
			char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			hf_emit_raw(&e, "  ", 2);
			hf_emit_raw(&e, p, n);
			hf_emit_raw(&e, "\n", 1);
			p += n + (nl ? 1 : 0);
		}
	}
	conn_reply(c, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

static void cmd_stats(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_mgmt *m = &c->mgmt;
	struct hf_counters total, cur, d;
	struct hf_control_stats cs, cd;
	struct hf_emit e;
	uint64_t waiters = 0, entries = 0, rin = 0, rout = 0;

	hf_emit_init(&e, k->json);
	if (k->req.prometheus) {
		render_prometheus(c, &e);
		conn_reply(c, k, e.oom ? "out of memory" : NULL, &e);
		hf_emit_free(&e);
		return;
	}
	memset(&total, 0, sizeof(total));
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_u64(&e, "uptime_s", (hf_control_now_ms() - m->started_ms) / 1000);
	hf_emit_u64(&e, "workers", c->nw);
	for (unsigned w = 0; w < c->nw; w++) {
		read_counters(c, w, &cur);
		counters_sub(&d, &cur, m->base ? &m->base[w] : NULL);
		counters_add(&total, &d);
		waiters += c->shared[w]->waiters;
		entries += c->shared[w]->cache_entries;
		rin += rte_ring_count(c->to_control[w]);
		rout += rte_ring_count(c->to_worker[w]);
	}
	hf_emit_obj_begin(&e, "total");
	emit_counters(&e, &total, waiters, entries, rin, rout);
	hf_emit_obj_end(&e);
	if (k->req.per_core) {
		hf_emit_arr_begin(&e, "per_core");
		for (unsigned w = 0; w < c->nw; w++) {
			read_counters(c, w, &cur);
			counters_sub(&d, &cur, m->base ? &m->base[w] : NULL);
			hf_emit_obj_begin(&e, NULL);
			hf_emit_u64(&e, "core", w);
			emit_counters(&e, &d, c->shared[w]->waiters, c->shared[w]->cache_entries,
				      rte_ring_count(c->to_control[w]),
				      rte_ring_count(c->to_worker[w]));
			hf_emit_obj_end(&e);
		}
		hf_emit_arr_end(&e);
	}
	emit_ports(c, &e);
	emit_pools(c, &e);
	hf_control_get_stats(c, &cs);
	ctl_stats_sub(&cd, &cs, &m->ctl_base);
	emit_control(&e, c, &cd);
	hf_emit_obj_end(&e);
	if (k->req.reset) {
		for (unsigned w = 0; m->base != NULL && w < c->nw; w++)
			read_counters(c, w, &m->base[w]);
		m->ctl_base = cs;
		for (unsigned i = 0; i < c->nports; i++)
			read_port(c, i, &c->ports[i].base);
	}
	conn_reply(c, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

static void emit_nta(struct hf_emit *e, const struct hf_nta *n, uint64_t now)
{
	static const char *const src[] = {"cli", "config", "state"};
	char nm[HF_DNS_NAME_MAX * 4 + 8];
	hf_dns_name_str(n->name, n->name_len, nm, sizeof(nm));
	hf_emit_obj_begin(e, NULL);
	hf_emit_str(e, "name", nm);
	hf_emit_str(e, "reason", n->reason);
	hf_emit_time(e, "added", n->added_s);
	hf_emit_time(e, "expires", n->expires_s);
	hf_emit_u64(e, "remaining", n->expires_s > now ? n->expires_s - now : 0);
	hf_emit_u64(e, "recheck", n->recheck_s);
	hf_emit_str(e, "source", src[n->source % 3]);
	hf_emit_obj_end(e);
}

static void cmd_nta_list(struct hf_control *c, struct hf_mgmt_conn *k)
{
	uint64_t now = (uint64_t)time(NULL);
	struct hf_emit e;
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_arr_begin(&e, "ntas");
	for (unsigned i = 0; i < c->nntas; i++)
		emit_nta(&e, &c->ntas[i], now);
	hf_emit_arr_end(&e);
	hf_emit_obj_end(&e);
	conn_reply(c, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

static struct hf_msg_result *new_res(const struct hf_control *c)
{
	return calloc(c->nw ? c->nw : 1, sizeof(struct hf_msg_result));
}

static void cmd_nta_change(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_msg_result *res = new_res(c);
	uint64_t seq = 0, t0 = hf_control_now_us();
	char err[HF_DNS_NAME_MAX * 4 + 64];
	int rc;

	if (res == NULL) {
		conn_error(c, k, "out of memory");
		return;
	}
	if (k->req.cmd == HF_CMD_NTA_ADD) {
		rc = hf_nta_add(c, k->req.name, k->req.name_len, k->req.lifetime_s,
				k->req.recheck_s, k->req.reason, HF_NTA_SRC_CLI, res, &seq, err,
				sizeof(err));
	} else {
		rc = hf_nta_remove(c, k->req.name, k->req.name_len, "holdfastctl nta remove", res,
				   &seq);
		if (rc == HF_ENOENT) {
			char nm[HF_DNS_NAME_MAX * 4 + 8];
			hf_dns_name_str(k->req.name, k->req.name_len, nm, sizeof(nm));
			snprintf(err, sizeof(err), "no NTA for %s", nm);
		} else if (rc != 0) {
			snprintf(err, sizeof(err), "out of memory");
		}
	}
	if (rc != 0) {
		free(res);
		conn_error(c, k, "%s", err);
		return;
	}
	/* the change stands on the cores either way; the reply says it would
	 * not survive a restart */
	if (c->nta_persist_failed)
		snprintf(k->persist_err, sizeof(k->persist_err), "%s", c->nta_persist_err);
	conn_wait(c, k, seq, res, t0);
}

static void cmd_flush(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_msg_result *res = new_res(c);
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));
	uint64_t t0 = hf_control_now_us();

	if (res == NULL || m == NULL) {
		free(res);
		free(m);
		conn_error(c, k, "out of memory");
		return;
	}
	m->type = HF_MSG_FLUSH;
	m->res = res;
	m->all = k->req.all || k->req.bogus;
	m->subtree = k->req.subtree;
	m->mode = k->req.bogus ? HF_FLUSH_BOGUS : HF_FLUSH_ANY;
	memcpy(m->key.name, k->req.name, k->req.name_len);
	m->key.name_len = (uint8_t)k->req.name_len;
	/* the validator's cached keys and verdicts go too */
	if (c->val != NULL) {
		if (m->all)
			hf_val_flush(c->val);
		else
			hf_val_flush_name(c->val, k->req.name, k->req.name_len);
	}
	if (hf_control_broadcast(c, m) != 0) {
		free(res);
		conn_error(c, k, "out of memory");
		return;
	}
	conn_wait(c, k, hf_control_last_seq(c), res, t0);
}

static void cmd_lookup(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_msg_result *res = new_res(c);
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));
	uint64_t t0 = hf_control_now_us();

	if (res == NULL || m == NULL) {
		free(res);
		free(m);
		conn_error(c, k, "out of memory");
		return;
	}
	m->type = HF_MSG_LOOKUP;
	m->res = res;
	m->mode = k->req.has_type ? 1 : 0;
	memcpy(m->key.name, k->req.name, k->req.name_len);
	m->key.name_len = (uint8_t)k->req.name_len;
	m->key.qtype = k->req.qtype;
	m->key.qclass = HF_CLASS_IN;
	if (hf_control_broadcast(c, m) != 0) {
		free(res);
		conn_error(c, k, "out of memory");
		return;
	}
	conn_wait(c, k, hf_control_last_seq(c), res, t0);
}

/* "key: value" of the config dump for one key. */
static void config_value(const struct hf_config *cfg, const char *key, char *out, size_t size)
{
	static char dump[16384];
	size_t kl = strlen(key);
	hf_config_dump(cfg, dump, sizeof(dump));
	out[0] = '\0';
	for (char *p = dump; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > kl + 2 && strncmp(p, key, kl) == 0 && p[kl] == ':') {
			snprintf(out, size, "%.*s", (int)(n - kl - 2), p + kl + 2);
			return;
		}
		p += n + (nl ? 1 : 0);
	}
}

static void cmd_config_get(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_emit e;
	char v[128];
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_obj_begin(&e, "config");
	for (unsigned i = 0; i < hf_mgmt_config_nkeys; i++) {
		if (k->req.key[0] && strcmp(k->req.key, hf_mgmt_config_keys[i]) != 0)
			continue;
		config_value(&c->cfg, hf_mgmt_config_keys[i], v, sizeof(v));
		hf_emit_str(&e, hf_mgmt_config_keys[i], v);
	}
	hf_emit_obj_end(&e);
	hf_emit_obj_end(&e);
	conn_reply(c, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

static void cmd_config_set(struct hf_control *c, struct hf_mgmt_conn *k)
{
	struct hf_config tmp = c->cfg;
	struct hf_msg_ctl *m;
	char err[300];
	uint64_t t0 = hf_control_now_us();

	if (hf_config_set(&tmp, k->req.key, k->req.value, "config set", err, sizeof(err)) != 0) {
		conn_error(c, k, "%s", err);
		return;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		conn_error(c, k, "out of memory");
		return;
	}
	m->type = HF_MSG_CONFIG;
	m->conf.stale_window_ms = tmp.stale_window_ms;
	m->conf.client_timeout_ms = tmp.client_timeout_ms;
	m->conf.stale_ttl = tmp.stale_ttl;
	m->conf.failure_recheck_ms = tmp.failure_recheck_ms;
	m->conf.miss_timeout_ms = hf_control_miss_timeout_ms(&tmp);
	if (hf_control_broadcast(c, m) != 0) {
		conn_error(c, k, "out of memory");
		return;
	}
	c->cfg = tmp;
	fprintf(stderr, "holdfast: config set %s %s\n", k->req.key, k->req.value);
	conn_wait(c, k, hf_control_last_seq(c), NULL, t0);
}

static const char *lookup_state(unsigned s)
{
	static const char *const n[] = {"pending", "fresh", "stale", "failure", "expired"};
	return s < HF_ARRAY_LEN(n) ? n[s] : "?";
}

/* Every worker applied k's message: the reply. */
static void finish_wait(struct hf_control *c, struct hf_mgmt_conn *k)
{
	uint64_t us = hf_control_now_us() - k->wait_start_us;
	char nm[HF_DNS_NAME_MAX * 4 + 8], tb[16];
	struct hf_emit e;
	uint64_t count = 0;

	for (unsigned w = 0; k->res != NULL && w < c->nw; w++)
		count += k->res[w].count;
	hf_dns_name_str(k->req.name, k->req.name_len, nm, sizeof(nm));
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	switch (k->req.cmd) {
	case HF_CMD_NTA_ADD: {
		uint64_t now = (uint64_t)time(NULL);
		int i;
		hf_emit_str(&e, "name", nm);
		hf_emit_u64(&e, "lifetime", k->req.lifetime_s);
		for (i = 0; i < (int)c->nntas; i++)
			if (hf_dns_name_equal(c->ntas[i].name, c->ntas[i].name_len, k->req.name,
					      k->req.name_len))
				break;
		hf_emit_time(&e, "expires",
			     i < (int)c->nntas ? c->ntas[i].expires_s : now + k->req.lifetime_s);
		hf_emit_u64(&e, "recheck", k->req.recheck_s);
		break;
	}
	case HF_CMD_NTA_REMOVE:
		hf_emit_str(&e, "name", nm);
		break;
	case HF_CMD_CACHE_FLUSH:
		if (k->req.all || k->req.bogus)
			hf_emit_str(&e, "what", k->req.all ? "all" : "bogus");
		else
			hf_emit_str(&e, "name", nm);
		hf_emit_u64(&e, "removed", count);
		break;
	case HF_CMD_CONFIG_SET:
		hf_emit_str(&e, "key", k->req.key);
		hf_emit_str(&e, "value", k->req.value);
		break;
	case HF_CMD_CACHE_LOOKUP:
		hf_emit_str(&e, "name", nm);
		hf_emit_arr_begin(&e, "cores");
		for (unsigned w = 0; w < c->nw; w++) {
			const struct hf_msg_result *r = &k->res[w];
			hf_emit_obj_begin(&e, NULL);
			hf_emit_u64(&e, "core", w);
			hf_emit_u64(&e, "matched", r->count);
			hf_emit_arr_begin(&e, "entries");
			for (unsigned j = 0; j < r->n && j < HF_LOOKUP_MAX; j++) {
				const struct hf_lookup_entry *x = &r->e[j];
				hf_emit_obj_begin(&e, NULL);
				hf_emit_str(&e, "type",
					    hf_dns_type_to_str(x->qtype, tb, sizeof(tb)));
				hf_emit_bool(&e, "do", x->key_flags & HF_KEY_DO);
				hf_emit_bool(&e, "cd", x->key_flags & HF_KEY_CD);
				hf_emit_str(&e, "state", lookup_state(x->state));
				hf_emit_u64(&e, "ttl", x->ttl_left);
				if (x->state != HF_LOOKUP_PENDING) {
					hf_emit_str(&e, "security", security_name(x->security));
					hf_emit_bool(&e, "nta", x->ans_flags & HF_ANS_F_NTA);
					hf_emit_str(&e, "rcode",
						    hf_rcode_name(x->rcode & 0xf)
							    ? hf_rcode_name(x->rcode & 0xf)
							    : "RCODE?");
					if (x->ede != HF_EDE_NONE)
						hf_emit_u64(&e, "ede", x->ede);
					else
						hf_emit_null(&e, "ede");
				}
				hf_emit_u64(&e, "waiters", x->nwaiters);
				hf_emit_obj_end(&e);
			}
			hf_emit_arr_end(&e);
			hf_emit_obj_end(&e);
		}
		hf_emit_arr_end(&e);
		break;
	default:
		break;
	}
	if (k->req.cmd != HF_CMD_CACHE_LOOKUP && k->req.cmd != HF_CMD_CACHE_FLUSH &&
	    k->req.cmd != HF_CMD_CONFIG_SET)
		hf_emit_u64(&e, "flushed", count);
	if (k->req.cmd != HF_CMD_CACHE_LOOKUP) /* there "cores" is the per-core list */
		hf_emit_u64(&e, "cores", c->nw);
	hf_emit_u64(&e, "apply_us", us);
	hf_emit_obj_end(&e);
	free(k->res);
	k->res = NULL;
	if (k->persist_err[0] != '\0' && !e.oom)
		conn_error(c, k, "NTA applied on every core but NOT persisted: %s", k->persist_err);
	else
		conn_reply(c, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

static void (*const handlers[])(struct hf_control *, struct hf_mgmt_conn *) = {
	[HF_CMD_STATUS] = cmd_status,	      [HF_CMD_STATS] = cmd_stats,
	[HF_CMD_NTA_ADD] = cmd_nta_change,    [HF_CMD_NTA_REMOVE] = cmd_nta_change,
	[HF_CMD_NTA_LIST] = cmd_nta_list,     [HF_CMD_CACHE_LOOKUP] = cmd_lookup,
	[HF_CMD_CACHE_FLUSH] = cmd_flush,     [HF_CMD_CONFIG_GET] = cmd_config_get,
	[HF_CMD_CONFIG_SET] = cmd_config_set,
};

/* One complete request line (without its newline) in k->in. */
static void handle_request(struct hf_control *c, struct hf_mgmt_conn *k)
{
	char *argv[HF_MGMT_MAX_ARGS + 1];
	int argc = 0;
	char err[512];
	const char *help;

	c->mgmt.requests++;
	if (hf_mgmt_split_request(k->in, k->inlen, &k->json, &argc, argv, err, sizeof(err)) != 0) {
		conn_error(c, k, "%s", err);
		return;
	}
	switch (hf_mgmt_parse(argc, argv, &k->req, &help, err, sizeof(err))) {
	case 0:
		break;
	case HF_MGMT_HELP: {
		struct hf_emit e;
		hf_emit_init(&e, false);
		hf_emit_raw(&e, help, strlen(help));
		conn_reply(c, k, NULL, &e);
		hf_emit_free(&e);
		return;
	}
	default:
		conn_error(c, k, "%s", err);
		return;
	}
	handlers[k->req.cmd](c, k);
}

static void conn_read(struct hf_control *c, struct hf_mgmt_conn *k)
{
	for (;;) {
		ssize_t n = recv(k->fd, k->in + k->inlen, HF_MGMT_REQ_MAX - k->inlen, 0);
		char *nl;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* closed (or failed) before a whole request */
			conn_close(c, k);
			return;
		}
		nl = memchr(k->in + k->inlen, '\n', (size_t)n);
		k->inlen += (size_t)n;
		if (nl != NULL) {
			k->inlen = (size_t)(nl - k->in);
			k->in[k->inlen] = '\0';
			handle_request(c, k);
			return;
		}
		if (k->inlen >= HF_MGMT_REQ_MAX) {
			conn_error(c, k, "request too large (at most %d bytes)", HF_MGMT_REQ_MAX);
			return;
		}
	}
}

static void accept_all(struct hf_control *c, uint64_t now)
{
	struct hf_mgmt *m = &c->mgmt;
	for (;;) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hf_mgmt_conn *k;
		struct epoll_event ev;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (m->nconns >= HF_MGMT_CONNS) {
			static const char busy[] = "ERR busy: too many management connections\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			m->errors++;
			continue;
		}
		k = calloc(1, sizeof(*k));
		if (k == NULL) {
			close(fd);
			continue;
		}
		k->fd = fd;
		k->state = C_READ;
		k->deadline_ms = now + HF_MGMT_IO_MS;
		ev.events = EPOLLIN;
		ev.data.ptr = k;
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(k);
			continue;
		}
		m->conns[m->nconns++] = k;
	}
}

void hf_mgmt_poll(struct hf_control *c, uint64_t now_ms)
{
	struct epoll_event ev[HF_MGMT_CONNS + 1];
	int n;

	if (c->mgmt.epfd < 0)
		return;
	n = epoll_wait(c->mgmt.epfd, ev, HF_ARRAY_LEN(ev), 0);
	for (int i = 0; i < n; i++) {
		struct hf_mgmt_conn *k = ev[i].data.ptr;
		if (k == NULL) {
			accept_all(c, now_ms);
			continue;
		}
		/* k may have been closed by an earlier event of this batch? Only
		 * its own events close it, and each fd reports once per wait. */
		if (k->state == C_WAIT) {
			/* gone while its change is applied: nothing to reply to */
			if (ev[i].events & (EPOLLHUP | EPOLLERR))
				conn_close(c, k);
		} else if (k->state == C_READ)
			conn_read(c, k);
		else if (k->state == C_WRITE)
			conn_write(c, k);
		else if (k->state == C_DRAIN)
			conn_drain(c, k);
	}
}

static void collect_orphans(struct hf_control *c)
{
	struct orphan *o;
	while ((o = hf_ptrq_peek(&orphans)) != NULL && hf_control_applied(c, o->seq)) {
		hf_ptrq_pop(&orphans);
		free(o->res);
		free(o);
	}
}

bool hf_mgmt_tick(struct hf_control *c, uint64_t now_ms)
{
	struct hf_mgmt *m = &c->mgmt;
	bool waiting;

	if (orphans.n)
		collect_orphans(c);
	for (unsigned i = 0; i < m->nconns;) {
		struct hf_mgmt_conn *k = m->conns[i];
		unsigned before = m->nconns;
		if (k->state == C_WAIT) {
			if (hf_control_applied(c, k->seq))
				finish_wait(c, k);
			else if (now_ms >= k->wait_deadline_ms && (orphan_res(k), true))
				conn_error(c, k, "not applied by every worker core within %ds",
					   HF_MGMT_APPLY_MS / 1000);
		} else if (now_ms >= k->deadline_ms) {
			if (k->state == C_READ)
				conn_error(c, k, "no complete request within %ds",
					   HF_MGMT_IO_MS / 1000);
			else
				conn_close(c, k);
		}
		/* a closed connection was replaced by the last one: look at i again */
		if (m->nconns == before && i < m->nconns && m->conns[i] == k)
			i++;
	}
	if (c->cfg.stats_textfile[0] && now_ms >= m->textfile_next_ms) {
		m->textfile_next_ms = now_ms + c->cfg.stats_textfile_ms;
		write_textfile(c);
	}
	waiting = m->waiting != 0;
	return waiting;
}

/* ---- set-up ---- */

/* Is something already listening on path? (a stale socket file is not) */
static bool in_use(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;
	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return used;
}

int hf_mgmt_init(struct hf_control *c, char *err, size_t errlen)
{
	struct hf_mgmt *m = &c->mgmt;
	const char *path = c->cfg.control_socket;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev;
	struct stat st;
	mode_t mode = 0600;
	gid_t gid = (gid_t)-1;
	char dir[sizeof(sa.sun_path)], *slash;

	m->lfd = m->epfd = -1;
	m->started_ms = hf_control_now_ms();
	m->started_unix = (uint64_t)time(NULL);
	m->base = calloc(c->nw ? c->nw : 1, sizeof(*m->base));
	if (m->base == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return hf_error(HF_ENOMEM);
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control-socket: \"%s\" is too long for a Unix socket", path);
		return hf_error(HF_EINVAL);
	}
	if (c->cfg.control_socket_group[0]) {
		struct group *g = getgrnam(c->cfg.control_socket_group);
		if (g == NULL) {
			snprintf(err, errlen, "control-socket-group: no group \"%s\"",
				 c->cfg.control_socket_group);
			return hf_error(HF_EINVAL);
		}
		gid = g->gr_gid;
		mode = 0660;
	}
	/* the directory: created owner-only if missing (/run/holdfast) */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, gid != (gid_t)-1 ? 0750 : 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "control-socket: cannot create %s: %s", dir,
				 strerror(errno));
			return hf_error(HF_EIO);
		}
		if (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) != 0) {
			/* only needed when we just made it; an existing dir keeps its owner */
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control-socket: %s exists and is not a socket",
				 path);
			return hf_error(HF_EEXIST);
		}
		if (in_use(path)) {
			snprintf(err, errlen,
				 "control-socket: %s: another holdfast is listening there", path);
			return hf_error(HF_EEXIST);
		}
		unlink(path); /* stale, from a holdfast that is gone */
	}
	memcpy(m->path, path, strlen(path) + 1);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0) {
		snprintf(err, errlen, "control-socket: socket: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	{
		/* bind under a umask that never lets the file be wider than mode */
		mode_t old = umask(0177);
		int rc = bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
		if (rc != 0) {
			snprintf(err, errlen, "control-socket: cannot bind %s: %s", path,
				 strerror(errno));
			return hf_error(HF_EIO);
		}
	}
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) || chmod(path, mode) != 0) {
		snprintf(err, errlen, "control-socket: cannot set the owner/mode of %s: %s", path,
			 strerror(errno));
		return hf_error(HF_EIO);
	}
	if (listen(m->lfd, 16) != 0) {
		snprintf(err, errlen, "control-socket: listen: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		snprintf(err, errlen, "control-socket: epoll_create1: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* the listener */
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->lfd, &ev) != 0) {
		snprintf(err, errlen, "control-socket: epoll: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	ev.events = EPOLLIN;
	ev.data.ptr = (void *)m;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, m->epfd, &ev) != 0) {
		snprintf(err, errlen, "control-socket: epoll: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	fprintf(stderr, "holdfast: control socket %s (mode %04o%s%s)\n", path, (unsigned)mode,
		gid != (gid_t)-1 ? ", group " : "",
		gid != (gid_t)-1 ? c->cfg.control_socket_group : "");
	return 0;
}

void hf_mgmt_fini(struct hf_control *c)
{
	struct hf_mgmt *m = &c->mgmt;
	while (m->nconns)
		conn_close(c, m->conns[0]);
	/* the workers have stopped: nothing writes a result any more */
	while (orphans.n) {
		struct orphan *o = hf_ptrq_pop(&orphans);
		free(o->res);
		free(o);
	}
	hf_ptrq_free(&orphans);
	if (m->lfd >= 0) {
		close(m->lfd);
		unlink(m->path);
	}
	if (m->epfd >= 0)
		close(m->epfd);
	free(m->base);
	m->base = NULL;
	m->lfd = m->epfd = -1;
}
