/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker lcore: RX burst -> L2/L3/L4 parse -> ARP/ND or DNS -> cache
 * -> answer in place -> TX burst. See hf_dataplane.h for the ownership
 * contract. Nothing here locks, allocates, makes system calls or does an
 * atomic read-modify-write per packet; the only cross-thread traffic is
 * the two rings and the release store of applied_seq.
 *
 * Cost (one core, warm cache, 100-byte answers): parse ~60 cycles, key
 * lower-case + hash ~30, bulk lookup ~40 per packet, answer copy + TTL
 * patch ~30, software UDP checksum ~40. See bench/ for measured numbers.
 *
 * This file is the loop (poll control, RX, timers, TX) and the worker's
 * set-up; one burst is worker_pkt.c, ARP/ND arp_nd.c, the control
 * messages worker_ctl.c (worker_internal.h lists them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "dataplane/hf_idle.h"
#include "dataplane/worker_internal.h"

/* What a TX queue did not take stays queued, in order, for the next pass:
 * net_af_packet takes only what its ring has free frames for, and frames
 * come free once the kernel has sent them (a burst of answers can hold the
 * socket's send buffer until the peer side has taken them). Answers are
 * dropped (drop_tx_full) only when the queue is full (hf_tx). */
void hf_worker_flush(struct hf_worker *w)
{
	for (unsigned p = 0; p < w->nports; p++) {
		struct hf_txq *q = &w->tx[p];
		uint16_t sent = 0;
		if (q->n == 0)
			continue;
		sent = rte_eth_tx_burst(w->ports[p].port_id, w->queue, q->pkts, q->n);
		if (HF_UNLIKELY(sent < q->n))
			memmove(q->pkts, q->pkts + sent,
				(size_t)(q->n - sent) * sizeof(q->pkts[0]));
		q->n = (uint16_t)(q->n - sent);
	}
}

/* Answers still queued (hf_worker_flush). */
static unsigned tx_pending(const struct hf_worker *w)
{
	unsigned n = 0;
	for (unsigned p = 0; p < w->nports; p++)
		n += w->tx[p].n;
	return n;
}

static inline void update_clock(struct hf_worker *w)
{
	w->now_ms = rte_rdtsc() / w->tsc_per_ms;
}

unsigned hf_worker_poll_once(struct hf_worker *w)
{
	struct rte_mbuf *pkts[HF_BURST_MAX];
	uint16_t burst = w->conf->burst ? w->conf->burst : 32;
	unsigned got = 0;

	update_clock(w);
	hf_worker_poll_control(w);
	for (unsigned p = 0; p < w->nports; p++) {
		uint16_t n;
		/* a port whose TX queue holds answers it did not take yet is not
		 * read until a burst's answers fit: its queries wait in its RX
		 * ring instead of their answers being dropped (hf_worker_flush) */
		if (HF_UNLIKELY(w->tx[p].n > HF_ARRAY_LEN(w->tx[p].pkts) - burst)) {
			w->ctr->tx_backlog++;
			continue;
		}
		n = rte_eth_rx_burst(w->ports[p].port_id, w->queue, pkts, burst);
		if (n) {
			hf_worker_rx(w, pkts, n);
			got += n;
		}
	}
	if (w->exc_from != NULL) /* HF_EXC: what the kernel sent, out of our TX queues */
		got += hf_exc_worker_drain(w);
	if (HF_UNLIKELY(w->now_ms >= w->next_timer_ms)) {
		hf_cache_expire_waiters(w->cache, w->now_ms, w->wake, w);
		hf_publish_gauges(w);
		w->next_timer_ms = w->now_ms + 1;
	}
	hf_worker_flush(w);
	return got;
}

/*
 * A stop: take what already sits in the RX queues (a bounded number of
 * rounds, so a flood cannot hold the stop), then answer every parked
 * client with what the cache has for it (stale data, a cached failure,
 * or SERVFAIL EDE 22), and send it all. Nobody who reached the core
 * before the stop is left without an answer.
 */
void hf_worker_drain(struct hf_worker *w)
{
	for (unsigned i = 0; i < 64 && hf_worker_poll_once(w) != 0; i++)
		;
	update_clock(w);
	hf_cache_wake_every(w->cache, w->now_ms, w->wake, w);
	hf_worker_flush(w);
	/* what the ports did not take yet: up to 10 ms more, then dropped */
	for (unsigned i = 0; i < 100 && tx_pending(w) != 0; i++) {
		rte_delay_us_sleep(100);
		hf_worker_flush(w);
	}
	for (unsigned p = 0; p < w->nports; p++) {
		struct hf_txq *q = &w->tx[p];
		w->ctr->drop_tx_full += q->n;
		rte_pktmbuf_free_bulk(q->pkts, q->n);
		q->n = 0;
	}
}

int hf_worker_main(void *arg)
{
	struct hf_worker *w = arg;
	struct hf_idle idle;

	/* an idle port: sleep, longer and longer up to idle-sleep-max (hf_idle.h) */
	hf_idle_init(&idle, w->conf->idle_sleep_us, w->conf->idle_sleep_max_us,
		     w->conf->idle_polls);
	/* a pass of 10 ms or more from the end of the last one, less the
	 * idle sleep it asked for (a sleep that overran counts): the core was
	 * stuck (in a driver's RX or TX) or not running, and its RX ring
	 * filled meanwhile */
	uint64_t t = rte_rdtsc(), slow = 10 * w->tsc_per_ms;
	while (!*w->stop) {
		uint32_t us = hf_idle_step(&idle, hf_worker_poll_once(w));
		uint64_t now = rte_rdtsc();
		if (HF_UNLIKELY(now - t >= slow))
			w->ctr->slow_passes++;
		t = now;
		if (us != 0) {
			rte_delay_us_sleep(us);
			w->ctr->idle_sleeps++;
			t += (uint64_t)us * w->tsc_per_ms / 1000;
		}
	}
	hf_worker_drain(w);
	return 0;
}

int hf_worker_init(struct hf_worker *w, unsigned idx, const struct hf_dp_conf *conf,
		   const struct hf_port *ports, unsigned nports, struct rte_ring *to_control,
		   struct rte_ring *from_control, struct hf_worker_shared *shared,
		   volatile bool *stop, char *err, size_t errlen)
{
	char name[32];
	memset(w, 0, sizeof(*w));
	w->idx = idx;
	w->queue = (uint16_t)idx;
	w->conf = conf;
	w->ports = ports;
	w->nports = nports;
	w->to_control = to_control;
	w->to_ctl[0] = to_control;
	w->nctl = 1;
	w->from_control = from_control;
	w->shared = shared;
	w->ctr = &shared->ctr;
	w->stop = stop;
	w->wake = hf_wake;
	w->tsc_per_ms = conf->tsc_per_ms ? conf->tsc_per_ms : rte_get_tsc_hz() / 1000;
	if (w->tsc_per_ms == 0)
		w->tsc_per_ms = 1;
	for (unsigned p = 0; p < nports; p++)
		w->port_index[ports[p].port_id] = (uint8_t)p;
	snprintf(name, sizeof(name), "hf_cache_%u", idx);
	w->cache = hf_cache_create(name, &conf->cache);
	if (w->cache == NULL) {
		snprintf(err, errlen,
			 "worker %u: cannot create its cache (%u entries, %llu bytes): too little "
			 "EAL memory? raise -m",
			 idx, conf->cache.entries, (unsigned long long)conf->cache.memory);
		return hf_error(HF_ENOMEM);
	}
	if (conf->rrl.rate != 0 && conf->rrl.slots != 0) {
		w->rrl = rte_zmalloc("hf_rrl", sizeof(*w->rrl) * conf->rrl.slots,
				     RTE_CACHE_LINE_SIZE);
		if (w->rrl == NULL) {
			snprintf(err, errlen,
				 "worker %u: no memory for rrl-table-size %u (raise -m)", idx,
				 conf->rrl.slots);
			return hf_error(HF_ENOMEM);
		}
	}
	/* RFC 8198 on the core: a UDP core's (the transport has no port and
	 * asks control for what it misses) */
	if (conf->aggr_slots != 0 && nports > 0 && hf_worker_aggr_init(w, conf->aggr_slots) != 0) {
		snprintf(err, errlen,
			 "worker %u: no memory for aggressive-nsec-core-records %u (%u KiB)", idx,
			 conf->aggr_slots, conf->aggr_slots * (HF_AGGR_SLOT / 1024));
		return hf_error(HF_ENOMEM);
	}
	hf_exc_attach(conf->exc, w); /* HF_EXC: its rings, when the path is on */
	update_clock(w);
	if (hf_cookie_init(&w->cookie, w->now_ms) != 0) {
		snprintf(err, errlen, "worker %u: OpenSSL has no SipHash for DNS cookies", idx);
		return hf_error(HF_EINVAL);
	}
	w->cookie.required = conf->cookie_required;
	hf_cookie_set(&w->cookie, conf->cookie_on, conf->cookie_secret, w->now_ms);
	return 0;
}

void hf_worker_set_control(struct hf_worker *w, struct rte_ring *const *to_control, unsigned n)
{
	w->nctl = HF_MAX(HF_MIN(n, (unsigned)HF_MAX_CTL_THREADS), 1u);
	for (unsigned t = 0; t < w->nctl; t++)
		w->to_ctl[t] = to_control[t];
}

int hf_worker_aggr_init(struct hf_worker *w, uint32_t slots)
{
	w->aggr = hf_aggr_create(slots);
	w->synth = calloc(1, sizeof(*w->synth));
	return w->aggr != NULL && w->synth != NULL ? 0 : hf_error(HF_ENOMEM);
}

void hf_worker_fini(struct hf_worker *w)
{
	if (w->cache)
		hf_cache_destroy(w->cache);
	w->cache = NULL;
	rte_free(w->rrl);
	w->rrl = NULL;
	hf_aggr_destroy(w->aggr);
	w->aggr = NULL;
	free(w->synth);
	w->synth = NULL;
	hf_cookie_fini(&w->cookie);
}
