/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: status, stats and the Prometheus exposition of the
 * management server. Every counter comes from the tables of
 * common/hf_counters.h; the worker counters are plain loads of what each
 * worker publishes (aligned 64-bit: never torn).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/hf_log.h"
#include "control/hf_control.h"
#include "control/hf_ctl_thread.h"
#include "control/hf_file.h"
#include "control/hf_fwd.h"
#include "control/hf_nta.h"
#include "control/mgmt_internal.h"
#include "validator/hf_validator.h"

#ifndef HF_VERSION
#define HF_VERSION "unknown"
#endif

/* ---- rendering helpers ---- */

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
static void read_counters(const struct hf_mgmt *mg, unsigned w, struct hf_counters *out)
{
	const volatile uint64_t *src = (const volatile uint64_t *)&mg->env.out->shared[w]->ctr;
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
static void read_port(const struct hf_mgmt *mg, unsigned i, struct rte_eth_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (rte_eth_stats_get(mg->ports[i].id, out) != 0)
		memset(out, 0, sizeof(*out));
}

/* now - base, never below zero (a driver that reset its counters). */
static uint64_t since(uint64_t now, uint64_t base)
{
	return now >= base ? now - base : now;
}

/* A port's ethdev name ("?" if it has none). */
static void port_name(const struct hf_mgmt *mg, unsigned i, char name[RTE_ETH_NAME_MAX_LEN])
{
	if (rte_eth_dev_get_name_by_port(mg->ports[i].id, name) != 0)
		snprintf(name, RTE_ETH_NAME_MAX_LEN, "?");
}

static void emit_ports(const struct hf_mgmt *mg, struct hf_emit *e)
{
	hf_emit_arr_begin(e, "ports");
	for (unsigned i = 0; i < mg->nports; i++) {
		struct rte_eth_stats s;
		const struct rte_eth_stats *b = &mg->ports[i].base;
		char name[RTE_ETH_NAME_MAX_LEN];
		read_port(mg, i, &s);
		port_name(mg, i, name);
		hf_emit_obj_begin(e, NULL);
		hf_emit_u64(e, "port", mg->ports[i].id);
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
static void emit_pools(const struct hf_mgmt *mg, struct hf_emit *e)
{
	hf_emit_arr_begin(e, "mbuf_pools");
	for (unsigned i = 0; i < mg->npools; i++) {
		hf_emit_obj_begin(e, NULL);
		hf_emit_str(e, "name", mg->pools[i]->name);
		hf_emit_u64(e, "size", mg->pools[i]->size);
		hf_emit_u64(e, "free", rte_mempool_avail_count(mg->pools[i]));
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

/* The gauges of one core (or their sum), beside its counters. */
struct core_gauges {
	uint64_t waiters, entries, ring_in, ring_out, tcp_open, tls_open;
};

static unsigned nthreads(const struct hf_mgmt *mg)
{
	return mg->env.nthreads ? mg->env.nthreads : 1;
}

/* MISS/REFRESH from worker w waiting for the control threads. */
static unsigned ring_in(const struct hf_mgmt *mg, unsigned w)
{
	unsigned n = 0;
	for (unsigned t = 0; t < nthreads(mg); t++)
		n += rte_ring_count(mg->env.to_control[t * mg->env.out->nw + w]);
	return n;
}

static void gauges_add(struct core_gauges *g, const struct hf_mgmt *mg, unsigned w)
{
	const struct hf_worker_shared *sh = mg->env.out->shared[w];
	g->waiters += sh->waiters;
	g->entries += sh->cache_entries;
	g->ring_in += ring_in(mg, w);
	g->ring_out += rte_ring_count(mg->env.out->to_worker[w]);
	g->tcp_open += sh->tcp_open;
	g->tls_open += sh->tls_open;
}

static void emit_counters(struct hf_emit *e, const struct hf_counters *k,
			  const struct core_gauges *g)
{
	uint64_t waiters = g->waiters, entries = g->entries, ring_in = g->ring_in,
		 ring_out = g->ring_out;

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
	hf_emit_obj_begin(e, hf_counter_groups[HF_CG_TRANSPORT].json);
	hf_emit_u64(e, "tcp_open", g->tcp_open);
	hf_emit_u64(e, "tls_open", g->tls_open);
	emit_group(e, k, hf_worker_counters, hf_worker_ncounters, HF_CG_TRANSPORT);
	hf_emit_obj_end(e);
}

/* RFC 8198: the NSEC/NSEC3 records the validators keep now (a gauge). */
static uint64_t aggr_records(const struct hf_mgmt *mg)
{
	struct hf_val_stats vs;
	uint64_t n = 0;

	if (mg->env.val == NULL)
		return 0;
	hf_val_get_stats(mg->env.val, &vs);
	for (unsigned t = 1; t < nthreads(mg); t++)
		n += mg->env.pubs[t - 1]->aggr_records;
	return n + vs.aggr_entries;
}

/* Thread t's resolutions started and resolutions in flight now (since start). */
static void thread_counts(const struct hf_mgmt *mg, unsigned t, uint64_t *resolutions,
			  uint64_t *in_flight)
{
	const struct hf_control_stats *st = t ? &mg->env.pubs[t - 1]->st : mg->env.st;
	*resolutions = st->resolutions;
	*in_flight = t ? st->in_flight : hf_fwd_inflight(mg->env.fwd);
}

/* Resolutions in flight now, every control thread's. */
static uint64_t in_flight_now(const struct hf_mgmt *mg)
{
	uint64_t n = 0, r, f;
	for (unsigned t = 0; t < nthreads(mg); t++) {
		thread_counts(mg, t, &r, &f);
		n += f;
	}
	return n;
}

/* Each control thread's share, "thread": {"0": {...}, ...}. */
static void emit_threads(struct hf_emit *e, const struct hf_mgmt *mg)
{
	char t_name[16];
	uint64_t r, f;

	hf_emit_obj_begin(e, "thread");
	for (unsigned t = 0; t < nthreads(mg); t++) {
		thread_counts(mg, t, &r, &f);
		snprintf(t_name, sizeof(t_name), "%u", t);
		hf_emit_obj_begin(e, t_name);
		hf_emit_u64(e, "resolutions", r);
		hf_emit_u64(e, "in_flight", f);
		hf_emit_obj_end(e);
	}
	hf_emit_obj_end(e);
}

static void emit_control(struct hf_emit *e, const struct hf_mgmt *mg,
			 const struct hf_control_stats *s)
{
	hf_emit_obj_begin(e, "control");
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_CONTROL);
	hf_emit_u64(e, "in_flight", in_flight_now(mg));
	hf_emit_u64(e, "msgs_pending", mg->env.out->sent.n);
	hf_emit_u64(e, "nta_count", mg->env.ntas->nntas);
	hf_emit_obj_begin(e, hf_counter_groups[HF_CG_FETCH_LIMITED].json);
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_FETCH_LIMITED);
	hf_emit_obj_end(e);
	hf_emit_obj_begin(e, "validation");
	hf_emit_bool(e, "enabled", mg->env.val != NULL);
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_VERDICT);
	emit_group(e, s, hf_control_counters, hf_control_ncounters, HF_CG_VALIDATION);
	hf_emit_u64(e, "aggressive_nsec_records", aggr_records(mg));
	emit_ede(e, s->val_ede, HF_ARRAY_LEN(s->val_ede));
	hf_emit_obj_end(e);
	emit_threads(e, mg);
	hf_emit_obj_end(e);
}

/* The counter structs summed and subtracted as arrays of uint64_t. */
_Static_assert(sizeof(struct hf_control_stats) % sizeof(uint64_t) == 0,
	       "struct hf_control_stats: uint64_t counters only");
_Static_assert(sizeof(struct hf_exc_counters) % sizeof(uint64_t) == 0,
	       "struct hf_exc_counters: uint64_t counters only");

/* out = now - base, for a struct of uint64_t counters of size bytes. */
static void u64s_sub(void *out, const void *now, const void *base, size_t size)
{
	const uint64_t *a = now, *b = base;
	uint64_t *o = out;
	for (size_t i = 0; i < size / sizeof(uint64_t); i++)
		o[i] = a[i] - b[i];
}

/* ---- Prometheus text exposition (stats --prometheus, stats-textfile) ---- */

static void prom_family(struct hf_emit *e, const char *name, const char *type, const char *help)
{
	hf_emit_rawf(e, "# HELP holdfast_%s %s\n# TYPE holdfast_%s %s\n", name, help, name, type);
}

/* The ports' driver counters, each family's samples together (as the
 * text format wants). Raw values: Prometheus counters never reset. */
static void prom_port_families(const struct hf_mgmt *mg, struct hf_emit *e)
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
	for (unsigned i = 0; i < mg->nports; i++) {
		read_port(mg, i, &ps);
		port_name(mg, i, name);
		hf_emit_rawf(e,
			     "holdfast_port_packets_total{port=\"%s\",direction=\"rx\"} %llu\n"
			     "holdfast_port_packets_total{port=\"%s\",direction=\"tx\"} %llu\n",
			     name, (unsigned long long)ps.ipackets, name,
			     (unsigned long long)ps.opackets);
	}
	prom_family(e, "port_dropped_total", "counter",
		    "Packets the port dropped: no room in its RX ring (missed), no mbuf for "
		    "them (no_mbuf), receive or send errors.");
	for (unsigned i = 0; i < mg->nports; i++) {
		read_port(mg, i, &ps);
		port_name(mg, i, name);
		for (size_t d = 0; d < HF_ARRAY_LEN(drop); d++)
			hf_emit_rawf(
				e, "holdfast_port_dropped_total{port=\"%s\",reason=\"%s\"} %llu\n",
				name, drop[d].reason,
				(unsigned long long)*(const uint64_t *)((const char *)&ps +
									drop[d].off));
	}
	prom_family(e, "mbuf_pool_size", "gauge", "Packet buffers in each worker's pool.");
	for (unsigned i = 0; i < mg->npools; i++)
		hf_emit_rawf(e, "holdfast_mbuf_pool_size{pool=\"%s\"} %u\n", mg->pools[i]->name,
			     mg->pools[i]->size);
	prom_family(e, "mbuf_pool_free", "gauge",
		    "Packet buffers free in each worker's pool (the rest are in the port's "
		    "rings, in flight, or hold a parked client).");
	for (unsigned i = 0; i < mg->npools; i++)
		hf_emit_rawf(e, "holdfast_mbuf_pool_free{pool=\"%s\"} %u\n", mg->pools[i]->name,
			     rte_mempool_avail_count(mg->pools[i]));
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

static void render_prometheus(const struct hf_mgmt *mg, struct hf_emit *e)
{
	static struct hf_counters k[HF_MAX_WORKERS]; /* 64 cores: not on the stack */
	struct hf_control_stats s;
	unsigned nw = HF_MIN(mg->env.out->nw, (unsigned)HF_MAX_WORKERS);

	for (unsigned w = 0; w < nw; w++)
		read_counters(mg, w, &k[w]);
	hf_mgmt_get_stats(mg, &s);
	prom_family(e, "uptime_seconds", "gauge", "Seconds since holdfast started.");
	hf_emit_rawf(e, "holdfast_uptime_seconds %llu\n",
		     (unsigned long long)((hf_control_now_ms() - mg->started_ms) / 1000));
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
			     (unsigned long long)mg->env.out->shared[w]->waiters);
	prom_family(e, "ring_occupancy", "gauge",
		    "Messages waiting in a worker's rings (to_control: misses and refreshes; "
		    "to_worker: control messages).");
	for (unsigned w = 0; w < nw; w++)
		hf_emit_rawf(e,
			     "holdfast_ring_occupancy{core=\"%u\",ring=\"to_control\"} %u\n"
			     "holdfast_ring_occupancy{core=\"%u\",ring=\"to_worker\"} %u\n",
			     w, ring_in(mg, w), w, rte_ring_count(mg->env.out->to_worker[w]));
	prom_family(e, "cache_entries", "gauge", "Questions cached on the core.");
	for (unsigned w = 0; w < nw; w++)
		hf_emit_rawf(e, "holdfast_cache_entries{core=\"%u\"} %llu\n", w,
			     (unsigned long long)mg->env.out->shared[w]->cache_entries);
	prom_family(e, "transport_connections", "gauge",
		    "DNS-over-TCP and DNS-over-TLS connections open now.");
	for (unsigned w = 0; w < nw; w++)
		if (mg->env.out->shared[w]->tcp_open || mg->env.out->shared[w]->tls_open ||
		    w == nw - 1)
			hf_emit_rawf(
				e,
				"holdfast_transport_connections{core=\"%u\",transport=\"tcp\"} "
				"%llu\n"
				"holdfast_transport_connections{core=\"%u\",transport=\"tls\"} "
				"%llu\n",
				w, (unsigned long long)mg->env.out->shared[w]->tcp_open, w,
				(unsigned long long)mg->env.out->shared[w]->tls_open);
	prom_counters(e, &s, 0, 1, false, hf_control_counters, hf_control_ncounters);
	prom_family(e, "control_thread_resolutions_total", "counter",
		    "Resolutions started, by control thread (control-threads).");
	for (unsigned t = 0; t < nthreads(mg); t++) {
		uint64_t r, f;
		thread_counts(mg, t, &r, &f);
		hf_emit_rawf(e, "holdfast_control_thread_resolutions_total{thread=\"%u\"} %llu\n",
			     t, (unsigned long long)r);
	}
	if (mg->exc != NULL)
		prom_counters(e, mg->exc, 0, 1, false, hf_exception_counters,
			      hf_exception_ncounters);
	prom_family(e, "ntas", "gauge", "Negative Trust Anchors in force.");
	hf_emit_rawf(e, "holdfast_ntas %u\n", mg->env.ntas->nntas);
	prom_family(e, "aggressive_nsec_records", "gauge",
		    "Validated NSEC/NSEC3 records kept for aggressive-nsec (RFC 8198).");
	hf_emit_rawf(e, "holdfast_aggressive_nsec_records %llu\n",
		     (unsigned long long)aggr_records(mg));
	prom_family(e, "nta_state_persist_failed", "gauge",
		    "1 while the NTAs in force are not what nta-state-file holds (its last "
		    "write failed).");
	hf_emit_rawf(e, "holdfast_nta_state_persist_failed %d\n",
		     mg->env.ntas->persist_failed ? 1 : 0);
	prom_port_families(mg, e);
}

/* Rewrite stats-textfile (hf_file_replace: node_exporter never reads half). */
void hf_mgmt_write_textfile(struct hf_mgmt *mg)
{
	char err[320];
	struct hf_emit e;

	hf_emit_init(&e, false);
	render_prometheus(mg, &e);
	if (e.oom)
		snprintf(err, sizeof(err), "cannot write %s: %s", mg->env.cfg->stats_textfile,
			 strerror(ENOMEM));
	if (e.oom ||
	    hf_file_replace(mg->env.cfg->stats_textfile, e.buf, e.len, err, sizeof(err)) != 0) {
		static uint64_t last_log;
		if (hf_control_now_ms() - last_log > 60000) {
			hf_log(HF_LOG_WARNING, "stats-textfile: %s", err);
			last_log = hf_control_now_ms();
		}
	}
	hf_emit_free(&e);
}

/* ---- commands ---- */

/* drain / undrain: a mark only; holdfast answers as before (the fleet
 * agent reads it from status and withdraws the site's routes). */
void hf_mgmt_cmd_drain(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	struct hf_emit e;
	if (mg->drained != k->req.drain)
		hf_log(HF_LOG_NOTICE, "%s by holdfastctl", k->req.drain ? "drained" : "undrained");
	mg->drained = k->req.drain;
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_bool(&e, "drained", mg->drained);
	hf_emit_obj_end(&e);
	hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

void hf_mgmt_cmd_status(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	static char dump[16384];
	struct hf_emit e;
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_str(&e, "version", HF_VERSION);
	hf_emit_u64(&e, "uptime_s", (hf_control_now_ms() - mg->started_ms) / 1000);
	hf_emit_u64(&e, "started", mg->started_unix);
	hf_emit_u64(&e, "workers", mg->env.out->nw - mg->env.ntransport);
	hf_emit_bool(&e, "dnssec", mg->env.val != NULL);
	hf_emit_u64(&e, "ntas", mg->env.ntas->nntas);
	hf_emit_bool(&e, "drained", mg->drained);
	hf_emit_bool(&e, "nta_state_persist_failed", mg->env.ntas->persist_failed);
	hf_emit_str(&e, "nta_state_error", mg->env.ntas->persist_err);
	hf_emit_arr_begin(&e, "ports");
	for (unsigned i = 0; i < mg->nports; i++)
		hf_emit_str(&e, NULL, mg->ports[i].desc);
	hf_emit_arr_end(&e);
	hf_config_dump(mg->env.cfg, dump, sizeof(dump));
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
	hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

void hf_mgmt_cmd_stats(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	struct hf_counters total, cur, d;
	struct hf_control_stats cs, cd;
	struct hf_emit e;
	struct core_gauges g = {0};

	hf_emit_init(&e, k->json);
	if (k->req.prometheus) {
		render_prometheus(mg, &e);
		hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
		hf_emit_free(&e);
		return;
	}
	memset(&total, 0, sizeof(total));
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_u64(&e, "uptime_s", (hf_control_now_ms() - mg->started_ms) / 1000);
	hf_emit_u64(&e, "workers", mg->env.out->nw - mg->env.ntransport);
	for (unsigned w = 0; w < mg->env.out->nw; w++) {
		read_counters(mg, w, &cur);
		counters_sub(&d, &cur, mg->base ? &mg->base[w] : NULL);
		counters_add(&total, &d);
		gauges_add(&g, mg, w);
	}
	hf_emit_obj_begin(&e, "total");
	emit_counters(&e, &total, &g);
	hf_emit_obj_end(&e);
	if (k->req.per_core) {
		hf_emit_arr_begin(&e, "per_core");
		for (unsigned w = 0; w < mg->env.out->nw; w++) {
			read_counters(mg, w, &cur);
			counters_sub(&d, &cur, mg->base ? &mg->base[w] : NULL);
			hf_emit_obj_begin(&e, NULL);
			struct core_gauges cg = {0};
			gauges_add(&cg, mg, w);
			hf_emit_u64(&e, "core", w);
			hf_emit_str(&e, "role",
				    w >= mg->env.out->nw - mg->env.ntransport ? "transport"
									      : "worker");
			emit_counters(&e, &d, &cg);
			hf_emit_obj_end(&e);
		}
		hf_emit_arr_end(&e);
	}
	if (mg->exc != NULL) { /* snapshot, then since the last --reset */
		struct hf_exc_counters x = *mg->exc, xd;
		u64s_sub(&xd, &x, &mg->exc_base, sizeof(x));
		hf_emit_obj_begin(&e, hf_counter_groups[HF_CG_EXCEPTION].json);
		emit_group(&e, &xd, hf_exception_counters, hf_exception_ncounters, HF_CG_EXCEPTION);
		hf_emit_obj_end(&e);
	}
	emit_ports(mg, &e);
	emit_pools(mg, &e);
	hf_mgmt_get_stats(mg, &cs);
	u64s_sub(&cd, &cs, &mg->ctl_base, sizeof(cd));
	emit_control(&e, mg, &cd);
	hf_emit_obj_end(&e);
	if (k->req.reset) {
		for (unsigned w = 0; mg->base != NULL && w < mg->env.out->nw; w++)
			read_counters(mg, w, &mg->base[w]);
		mg->ctl_base = cs;
		if (mg->exc != NULL)
			mg->exc_base = *mg->exc;
		for (unsigned i = 0; i < mg->nports; i++)
			read_port(mg, i, &mg->ports[i].base);
	}
	hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}
void hf_mgmt_get_stats(const struct hf_mgmt *mg, struct hf_control_stats *st)
{
	*st = *mg->env.st;
	st->in_flight = hf_fwd_inflight(mg->env.fwd);
	for (unsigned t = 1; t < nthreads(mg); t++) { /* every field a uint64_t (u64s_sub) */
		const uint64_t *a = (const uint64_t *)(const void *)&mg->env.pubs[t - 1]->st;
		uint64_t *o = (uint64_t *)(void *)st;
		for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
			o[i] += a[i];
	}
	st->msgs_pending = mg->env.out->sent.n;
}
