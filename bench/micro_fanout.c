/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Part of `micro` (bench/micro.c starts the EAL): what each answer costs
 * control thread 0, which sends every FILL to the workers whichever control
 * thread resolved it (control-threads, docs/bench.md "Control threads").
 *
 *   BM_fanout_fill/<W>    one FILL (a 2-record A answer)
 *                         made, sent to W worker rings and freed once every
 *                         worker applied it: hf_fanout_fill +
 *                         hf_fanout_pass. The fake workers' dequeue and
 *                         applied_seq store are inside the loop (a few ns
 *                         per ring; on a real core they run elsewhere).
 *   BM_ctl_done_ring      a resolver thread's answer handed to thread 0:
 *                         one struct hf_ctl_done through its SP/SC ring
 *                         (enqueue + dequeue on one thread: no cache-line
 *                         transfer, the floor of it).
 */
#include <stdlib.h>
#include <string.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench/hf_bench.h"
#include "control/hf_ctl_thread.h"
#include "control/hf_fanout.h"

#define MAX_W 8

/* A stored answer of two A records for www.example. (hf_dns_answer_build). */
static struct hf_dns_answer *answer(struct hf_cache_key *key, uint32_t *hash)
{
	static const uint8_t name[] = "\3www\7example";
	static const uint8_t resp[] = {
		0x42, 0x42, 0x81, 0x80, 0,   1,	   0,	 2,   0, 0,   0, 0, 3, 'w',  'w',  'w',
		7,    'e',  'x',  'a',	'm', 'p',  'l',	 'e', 0, 0,   1, 0, 1, 0xc0, 0x0c, 0,
		1,    0,    1,	  0,	0,   0x0e, 0x10, 0,   4, 192, 0, 2, 1, 0xc0, 0x0c, 0,
		1,    0,    1,	  0,	0,   0x0e, 0x10, 0,   4, 192, 0, 2, 2};
	static uint8_t buf[4096];
	struct hf_dns_answer_limits lim = {.max_ttl = 86400, .max_negative_ttl = 3600};
	struct hf_dns_msg m;

	memset(key, 0, sizeof(*key));
	memcpy(key->name, name, sizeof(name));
	key->name_len = sizeof(name);
	key->qtype = HF_TYPE_A;
	key->qclass = HF_CLASS_IN;
	*hash = hf_cache_key_hash(key);
	if (hf_dns_msg_parse(resp, sizeof(resp), &m) != 0 ||
	    hf_dns_answer_build(&m, &lim, buf, sizeof(buf)) < 0)
		return NULL;
	return (struct hf_dns_answer *)buf;
}

static void BM_fanout_fill(struct hf_bench_state *st)
{
	unsigned nw = (unsigned)st->arg;
	struct rte_ring *rings[MAX_W];
	struct hf_worker_shared *shared[MAX_W];
	struct hf_control_stats cs;
	struct hf_fanout o;
	struct hf_cache_key key;
	const struct hf_dns_answer *a;
	uint32_t hash;
	char name[32];
	bool ok = true;

	memset(&cs, 0, sizeof(cs));
	for (unsigned w = 0; w < nw; w++) {
		snprintf(name, sizeof(name), "bm_fo_%u_%u", nw, w);
		rings[w] =
			rte_ring_create(name, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		shared[w] = aligned_alloc(64, sizeof(*shared[w]));
		if (rings[w] == NULL || shared[w] == NULL) {
			hf_bench_skip_with_error(st, "out of memory");
			return;
		}
		memset(shared[w], 0, sizeof(*shared[w]));
	}
	a = answer(&key, &hash);
	if (a == NULL || hf_fanout_init(&o, nw, rings, shared, 2100000, &cs) != 0) {
		hf_bench_skip_with_error(st, "set-up failed");
		return;
	}
	HF_BENCH_LOOP(st)
	{
		ok &= hf_fanout_fill(&o, &key, hash, a) == 0;
		for (unsigned w = 0; w < nw; w++) { /* the workers: take it, applied */
			void *m;
			if (rte_ring_dequeue(rings[w], &m) == 0)
				shared[w]->applied_seq = ((struct hf_msg_ctl *)m)->seq;
		}
		hf_fanout_pass(&o); /* frees it */
	}
	if (!ok || o.sent.n != 0)
		hf_bench_skip_with_error(st, "a FILL was not sent or not freed");
	hf_bench_counter(st, "answer_bytes", (double)hf_dns_answer_size(a), HF_BENCH_CNT_DEFAULT);
	hf_bench_set_items_processed(st, st->iterations);
	hf_fanout_fini(&o);
	for (unsigned w = 0; w < nw; w++) {
		rte_ring_free(rings[w]);
		free(shared[w]);
	}
}
HF_BENCHMARK_ARGS(BM_fanout_fill, 1, 2, 4, 8);

static void BM_ctl_done_ring(struct hf_bench_state *st)
{
	struct rte_ring *r = rte_ring_create_elem("bm_done", sizeof(struct hf_ctl_done), 4096,
						  SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct hf_ctl_done d, out;
	uint64_t got = 0;

	if (r == NULL) {
		hf_bench_skip_with_error(st, "out of memory");
		return;
	}
	memset(&d, 0, sizeof(d));
	HF_BENCH_LOOP(st)
	{
		d.epoch++;
		rte_ring_enqueue_elem(r, &d, sizeof(d));
		got += rte_ring_dequeue_elem(r, &out, sizeof(out)) == 0;
		HF_BENCH_KEEP(out.epoch);
	}
	if (got != st->iterations)
		hf_bench_skip_with_error(st, "an element was lost");
	hf_bench_set_items_processed(st, st->iterations);
	rte_ring_free(r);
}
HF_BENCHMARK(BM_ctl_done_ring);
