/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * per_core: answers per second on one core (docs/bench.md).
 *
 * One worker (struct hf_worker, dataplane/worker_pkt.c) serves real query
 * frames (Ethernet/IPv4/UDP/DNS, valid checksums) from a warm cache
 * through a real DPDK port: a net_ring ethdev (rte_eth_from_rings) whose
 * RX ring this program fills and whose TX ring it drains, all on the one
 * core being measured. An iteration is one burst of 32 queries:
 *
 *   generator: mbufs from a mempool, each refilled from a template (name,
 *              ID, UDP checksum patched), enqueued on the RX ring
 *   worker:    the body of hf_worker_main: clock, hf_worker_poll_control,
 *              rte_eth_rx_burst, hf_worker_rx, the 1 ms timer,
 *              hf_worker_flush (rte_eth_tx_burst)
 *   sink:      answers dequeued from the TX ring, mbufs freed
 *   control:   (workloads with misses) MISS messages taken off to_control
 *              and answered with a FILL on from_control, as control does
 *              once the upstream answered
 *
 * Workloads BM_per_core_<N>_<uniform|zipf>_<edns|noedns>_<0|1|10>miss:
 * N distinct cached names, popularity uniform or Zipf (s = 0.99), queries
 * with or without an OPT, and a share of queries for names never seen
 * before. BM_per_core_floor_<N>_<edns|noedns> is the minimal responder
 * over the same generator and port; BM_per_core_io_<N>_<edns|noedns>
 * moves the frames through the port untouched (what the harness itself
 * costs). Every BM_per_core_ run reports floor_fraction against the floor
 * of its N and EDNS mode, measured earlier in the same process.
 *
 * BM_per_core_<N>_uniform_<cookie|cookieclient>_0miss: EDNS queries with
 * a DNS COOKIE (dataplane/hf_cookie.h) to a worker with cookies and
 * response rate limiting on (rrl-rate high enough never to limit): a
 * valid server cookie of ours (one SipHash to check it, echoed, RRL
 * skipped), or a client cookie alone (one SipHash for a new server cookie,
 * and the RRL count). BM_per_core_<N>_uniform_rrl_0miss: the same worker
 * (cookies and RRL on), queries without a COOKIE. Compare with
 * ..._edns_0miss (docs/bench.md).
 *
 * HF_BENCH_SMOKE=1 leaves out the 1M-name workloads (CI smoke pass).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "dataplane/hf_cksum.h"
#include "bench/hf_bench.h"
#include "bench/hf_bench_dns.h"

#define HF_PC_BURST  32
#define HF_PC_COPY   96 /* template bytes copied per frame (frames are <= 93) */
#define HF_PC_MISS   UINT32_MAX
#define HF_PC_ZIPF_S 0.99
#define HF_PC_NSIZES 3
#define HF_PC_UDP_CK 40 /* offset of the UDP checksum in a frame */

enum hf_pc_kind { HF_PC_WORKER, HF_PC_FLOOR, HF_PC_IO };

struct hf_pc_workload {
	enum hf_pc_kind kind;
	uint32_t n; /* distinct cached names */
	bool zipf;
	bool edns;
	unsigned miss_pct; /* 0, 1, 10 */
	unsigned cookie;   /* 0: none; HF_PC_COOKIE_CLIENT, HF_PC_COOKIE_VALID */
};

enum { HF_PC_COOKIE_CLIENT = 1, HF_PC_COOKIE_VALID = 2, HF_PC_COOKIE_NONE_RRL = 3 };

static const uint32_t hf_pc_sizes[HF_PC_NSIZES] = {1000, 100000, 1000000};

/* Everything the generator, the port and the worker share; one thread. */
static struct {
	uint16_t port;
	struct rte_ring *rx, *tx; /* the net_ring port's queues */
	struct rte_mempool *pool;
	uint64_t tsc_hz;
	unsigned nwl;
	struct hf_pc_workload wl[64];
	double floor_rate[HF_PC_NSIZES][2]; /* answers/s, 0 = not measured */

	/* names: n hot names, 24 bytes each */
	uint32_t names_n;
	uint8_t *names;
	/* the query sequence: name indexes or HF_PC_MISS */
	uint32_t *seq;
	uint32_t seq_len, seq_pos;
	uint32_t seq_n;
	bool seq_zipf, seq_valid;
	unsigned seq_miss;
	uint32_t miss_ctr; /* never-cached names handed out so far */
	uint16_t id;

	/* the frame template of the current EDNS and cookie mode */
	bool tmpl_edns, tmpl_valid;
	unsigned tmpl_cookie;
	uint8_t tmpl[HF_BD_FRAME_MAX];
	uint16_t tmpl_len;
	uint32_t tmpl_sum; /* pseudo header + UDP header + payload, ID/name/checksum zero */

	/* the worker */
	struct hf_bd_worker bw;
	uint32_t bw_n;
	bool bw_up, bw_dirty;		   /* dirty: misses have changed the cache */
	_Alignas(8) uint8_t miss_ans[256]; /* a struct hf_dns_answer */
	struct hf_msg_query qbuf[64];
} pc;

/* ---- generator --------------------------------------------------------- */

static int hf_pc_names(uint32_t n)
{
	if (pc.names_n == n)
		return 0;
	free(pc.names);
	pc.names = malloc((size_t)n * HF_BD_NAME_LEN);
	pc.names_n = 0;
	if (pc.names == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		hf_bd_name(pc.names + (size_t)i * HF_BD_NAME_LEN, 'n', i);
	pc.names_n = n;
	return 0;
}

static inline uint64_t hf_pc_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The query sequence of a workload: seq_len name indexes drawn uniformly
 * or by Zipf rank (rank r has weight 1/r^s; ranks map to names through a
 * random permutation, so popular names are scattered over the table), and
 * HF_PC_MISS for miss_pct percent of the queries. The generator cycles
 * through it.
 */
static int hf_pc_seq(uint32_t n, bool zipf, unsigned miss_pct)
{
	uint64_t rnd =
		0x2545f4914f6cdd1dull ^ n ^ ((uint64_t)zipf << 40) ^ ((uint64_t)miss_pct << 48);
	double *cdf = NULL;
	uint32_t *perm = NULL;

	if (pc.seq_valid && pc.seq_n == n && pc.seq_zipf == zipf && pc.seq_miss == miss_pct)
		return 0;
	pc.seq_len = hf_bd_smoke() ? 1u << 16 : 1u << 22;
	if (pc.seq == NULL)
		pc.seq = malloc(sizeof(*pc.seq) * (1u << 22));
	if (pc.seq == NULL)
		return -1;
	if (zipf) {
		double sum = 0;
		cdf = malloc(sizeof(*cdf) * n);
		perm = malloc(sizeof(*perm) * n);
		if (cdf == NULL || perm == NULL) {
			free(cdf);
			free(perm);
			return -1;
		}
		for (uint32_t r = 0; r < n; r++) {
			sum += 1.0 / pow((double)(r + 1), HF_PC_ZIPF_S);
			cdf[r] = sum;
			perm[r] = r;
		}
		for (uint32_t r = n - 1; r > 0; r--) {
			uint32_t j = (uint32_t)(hf_pc_rand(&rnd) % (r + 1));
			uint32_t t = perm[r];
			perm[r] = perm[j];
			perm[j] = t;
		}
		for (uint32_t r = 0; r < n; r++)
			cdf[r] /= sum;
	}
	for (uint32_t i = 0; i < pc.seq_len; i++) {
		double u = (double)(hf_pc_rand(&rnd) >> 11) / 9007199254740992.0;
		if (u * 100.0 < (double)miss_pct) {
			pc.seq[i] = HF_PC_MISS;
			continue;
		}
		if (!zipf) {
			pc.seq[i] = (uint32_t)(hf_pc_rand(&rnd) % n);
		} else {
			double v = (double)(hf_pc_rand(&rnd) >> 11) / 9007199254740992.0;
			uint32_t lo = 0, hi = n - 1;
			while (lo < hi) {
				uint32_t mid = lo + (hi - lo) / 2;
				if (cdf[mid] < v)
					lo = mid + 1;
				else
					hi = mid;
			}
			pc.seq[i] = perm[lo];
		}
	}
	free(cdf);
	free(perm);
	pc.seq_n = n;
	pc.seq_zipf = zipf;
	pc.seq_miss = miss_pct;
	pc.seq_pos = 0;
	pc.seq_valid = true;
	return 0;
}

/* The template; with a cookie (the worker up, its cookies on): the client
 * cookie alone, or with a server cookie of the worker's made now. */
static void hf_pc_template_cookie(bool edns, unsigned cookie)
{
	static const uint8_t client[HF_COOKIE_CLIENT_LEN] = {0x24, 0x64, 0xc4, 0xab,
							     0xcf, 0x10, 0xc9, 0x57};
	uint8_t zero[HF_BD_NAME_LEN], opt[HF_COOKIE_OPT_LEN];
	uint16_t ulen;

	if (pc.tmpl_valid && pc.tmpl_edns == edns && pc.tmpl_cookie == cookie)
		return;
	memset(zero, 0, sizeof(zero));
	pc.tmpl_len = (uint16_t)hf_bd_frame(pc.tmpl, zero, 0, edns);
	if (cookie != 0) {
		struct hf_worker *w = &pc.bw.w;
		memcpy(opt, client, sizeof(client));
		hf_cookie_make(&w->cookie, client, pc.tmpl + 14 + 12, 4,
			       hf_cookie_now(&w->cookie, w->now_ms), opt + HF_COOKIE_CLIENT_LEN);
		pc.tmpl_len = (uint16_t)hf_bd_add_cookie(
			pc.tmpl, pc.tmpl_len, opt,
			cookie == HF_PC_COOKIE_VALID ? HF_COOKIE_OPT_LEN : HF_COOKIE_CLIENT_LEN);
	}
	pc.tmpl_cookie = cookie;
	/* the sum of everything but ID, name and checksum, computed once */
	memset(pc.tmpl + HF_PC_UDP_CK, 0, 2);
	ulen = (uint16_t)(pc.tmpl_len - 34);
	pc.tmpl_sum = (uint32_t)rte_ipv4_phdr_cksum(
			      (const struct rte_ipv4_hdr *)(const void *)(pc.tmpl + 14), 0) +
		      rte_raw_cksum(pc.tmpl + 34, ulen);
	pc.tmpl_edns = edns;
	pc.tmpl_valid = true;
}

static void hf_pc_template(bool edns)
{
	hf_pc_template_cookie(edns, 0);
}

/* Cookies and rate limiting on the worker for a cookie workload (a secret,
 * rrl-rate never reached), off for the others. */
static int hf_pc_cookies(bool edns, unsigned cookie, char *err, size_t errlen)
{
	static const uint8_t secret[HF_COOKIE_SECRET_LEN] = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2,
							     0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84,
							     0x9e, 0x37, 0xbf, 0xcf};
	struct hf_worker *w = &pc.bw.w;
	hf_cookie_set(&w->cookie, cookie != 0, secret, w->now_ms);
	hf_pc_template_cookie(edns, cookie == HF_PC_COOKIE_NONE_RRL ? 0 : cookie);
	if (cookie != 0 && w->rrl == NULL) {
		pc.bw.conf.rrl = (struct hf_rrl_conf){
			.rate = UINT32_MAX, .slip = 2, .plen4 = 24, .plen6 = 56, .slots = 65536};
		w->rrl = rte_zmalloc("hf_pc_rrl", sizeof(*w->rrl) * pc.bw.conf.rrl.slots,
				     RTE_CACHE_LINE_SIZE);
		if (w->rrl == NULL) {
			snprintf(err, errlen, "no memory for the RRL table");
			return -1;
		}
	} else if (cookie == 0 && w->rrl != NULL) {
		rte_free(w->rrl);
		w->rrl = NULL;
		pc.bw.conf.rrl.rate = 0;
	}
	return 0;
}

static const char hf_pc_hex[] = "0123456789abcdef";

/*
 * Write one query frame into m, as a NIC would have: the template, then
 * the name (a cached one, or a new never-cached one), a fresh ID and the
 * UDP checksum patched from the precomputed sum. ~25 cycles.
 */
static inline void hf_pc_gen_one(struct rte_mbuf *m, uint32_t idx)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *nm = p + HF_BD_NAME_OFF;
	uint16_t ck, id = pc.id++;

	rte_memcpy(p, pc.tmpl, HF_PC_COPY);
	if (HF_UNLIKELY(pc.tmpl_len > HF_PC_COPY)) /* a COOKIE: up to HF_BD_FRAME_MAX */
		rte_memcpy(p + HF_PC_COPY, pc.tmpl + HF_PC_COPY, HF_BD_FRAME_MAX - HF_PC_COPY);
	if (HF_LIKELY(idx != HF_PC_MISS)) {
		memcpy(nm, pc.names + (size_t)idx * HF_BD_NAME_LEN, HF_BD_NAME_LEN);
	} else {
		uint32_t c = pc.miss_ctr++;
		memcpy(nm, pc.names, HF_BD_NAME_LEN); /* suffix and lengths */
		nm[1] = 'm';
		for (int k = 8; k >= 2; k--, c >>= 4)
			nm[k] = (uint8_t)hf_pc_hex[c & 0xf];
	}
	hf_put16(p + HF_BD_DNS_OFF, id);
	ck = (uint16_t)~hf_bd_fold(pc.tmpl_sum + hf_bd_sum(p + HF_BD_DNS_OFF, 2) +
				   hf_bd_sum(nm, HF_BD_NAME_LEN));
	if (ck == 0)
		ck = 0xffff;
	memcpy(p + HF_PC_UDP_CK, &ck, 2);
	m->data_len = pc.tmpl_len;
	m->pkt_len = pc.tmpl_len;
	m->port = pc.port;
}

/* One burst of queries onto the port's RX ring. */
static inline int hf_pc_gen_burst(void)
{
	struct rte_mbuf *pkts[HF_PC_BURST];
	uint32_t pos = pc.seq_pos, mask = pc.seq_len - 1;

	if (HF_UNLIKELY(rte_pktmbuf_alloc_bulk(pc.pool, pkts, HF_PC_BURST) != 0))
		return -1;
	for (unsigned i = 0; i < HF_PC_BURST; i++) {
		uint32_t ahead = pc.seq[(pos + i + 8) & mask];
		if (ahead != HF_PC_MISS)
			rte_prefetch0(pc.names + (size_t)ahead * HF_BD_NAME_LEN);
		hf_pc_gen_one(pkts[i], pc.seq[(pos + i) & mask]);
	}
	pc.seq_pos = (pos + HF_PC_BURST) & mask;
	if (HF_UNLIKELY(rte_ring_enqueue_burst(pc.rx, (void **)pkts, HF_PC_BURST, NULL) !=
			HF_PC_BURST))
		return -1;
	return 0;
}

/* Take every answer off the TX ring and free it; returns how many. */
static inline unsigned hf_pc_sink(void)
{
	struct rte_mbuf *out[64];
	unsigned got = 0, n;

	while ((n = rte_ring_dequeue_burst(pc.tx, (void **)out, 64, NULL)) > 0) {
		rte_pktmbuf_free_bulk(out, n);
		got += n;
	}
	return got;
}

/* ---- the floor: a minimal responder -------------------------------------- */

static const uint8_t hf_pc_a_rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, 1};
static const uint8_t hf_pc_opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
static const struct rte_ether_addr hf_pc_mac = {{0x02, 0, 0, 0, 0, 0x01}};

/*
 * Parse Ethernet/IPv4/UDP, find the end of the question, answer with one
 * fixed A record (and a fixed OPT when the query had one), swap
 * addresses, IPv4 and UDP checksums in software. Returns false to drop.
 */
static inline bool hf_pc_floor_one(struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)(void *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(void *)(p + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(void *)(p + 34);
	uint8_t *d = p + HF_BD_DNS_OFF;
	uint32_t dlen, pos = 12, tmp;
	uint64_t addrs, ports;
	uint16_t t16, ulen_be;
	bool edns;

	if (HF_UNLIKELY(m->data_len < HF_BD_DNS_OFF + 12 ||
			eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
			ip->version_ihl != 0x45 || ip->next_proto_id != IPPROTO_UDP ||
			udp->dst_port != RTE_BE16(53)))
		return false;
	dlen = (uint32_t)rte_be_to_cpu_16(udp->dgram_len) - 8;
	if (HF_UNLIKELY(HF_BD_DNS_OFF + dlen > m->data_len))
		return false;
	while (pos < dlen && d[pos] != 0)
		pos += d[pos] + 1u;
	pos += 5; /* root label, type, class */
	if (HF_UNLIKELY(pos > dlen))
		return false;
	edns = d[11] == 1;
	memcpy(d + pos, hf_pc_a_rr, sizeof(hf_pc_a_rr));
	pos += sizeof(hf_pc_a_rr);
	if (edns) {
		memcpy(d + pos, hf_pc_opt, sizeof(hf_pc_opt));
		pos += sizeof(hf_pc_opt);
	}
	d[2] = (uint8_t)(d[2] | 0x80); /* QR */
	d[3] = 0x80;		       /* RA, NOERROR */
	hf_put16(d + 6, 1);

	/* the same header rewrite and checksums as the worker's
	 * hf_turn_around, so the floor is no slower for them */
	addrs = (uint64_t)ip->src_addr + ip->dst_addr;
	ports = (uint64_t)udp->src_port + udp->dst_port;
	ulen_be = rte_cpu_to_be_16((uint16_t)(8 + pos));
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&hf_pc_mac, &eth->src_addr);
	tmp = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = tmp;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(28 + pos));
	ip->packet_id = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = HF_ANSWER_IP_TTL;
	ip->type_of_service = 0;
	ip->hdr_checksum = hf_ip4_answer_cksum(addrs, (uint16_t)(28 + pos));
	t16 = udp->src_port;
	udp->src_port = udp->dst_port;
	udp->dst_port = t16;
	udp->dgram_len = ulen_be;
	udp->dgram_cksum = hf_udp4_answer_cksum(addrs, ports, ulen_be, d, pos);
	m->data_len = m->pkt_len = HF_BD_DNS_OFF + pos;
	return true;
}

/* One floor (or io) round: RX burst, answer, TX burst on the same port. */
static inline void hf_pc_floor_round(bool io)
{
	struct rte_mbuf *pkts[HF_PC_BURST], *out[HF_PC_BURST];
	uint16_t n = rte_eth_rx_burst(pc.port, 0, pkts, HF_PC_BURST), k = 0, sent;

	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (io || HF_LIKELY(hf_pc_floor_one(pkts[i])))
			out[k++] = pkts[i];
		else
			rte_pktmbuf_free(pkts[i]);
	}
	sent = rte_eth_tx_burst(pc.port, 0, out, k);
	if (HF_UNLIKELY(sent < k))
		rte_pktmbuf_free_bulk(out + sent, k - sent);
}

/* The floor's answers are checked like the worker's (one burst, before
 * it is timed): a floor that answered wrong would flatter nobody. */
static const char *hf_pc_floor_check(void)
{
	struct rte_mbuf *pkts[HF_PC_BURST];
	const char *why = NULL;
	uint16_t n;

	if (hf_pc_gen_burst() != 0)
		return "generator: no mbufs or RX ring full";
	n = rte_eth_rx_burst(pc.port, 0, pkts, HF_PC_BURST);
	if (n == 0)
		why = "no query reached the floor";
	for (uint16_t i = 0; i < n && why == NULL; i++)
		why = hf_pc_floor_one(pkts[i])
			      ? hf_bd_check_answer(rte_pktmbuf_mtod(pkts[i], uint8_t *),
						   pkts[i]->data_len, 0x0a000001)
			      : "the floor dropped a query";
	rte_pktmbuf_free_bulk(pkts, n);
	return why;
}

/* ---- the worker ---------------------------------------------------------- */

/* One round of the worker's own loop (hf_worker_main's body). */
static inline void hf_pc_worker_round(struct hf_worker *w)
{
	hf_worker_poll_once(w);
}

/*
 * Control's part for misses: every MISS on to_control is answered with a
 * FILL for its key (an A record), as control does once the upstream
 * answered. The worker applies it on its next round, which inserts the
 * answer and answers the parked client. Returns the FILLs sent.
 */
static inline unsigned hf_pc_control(void)
{
	struct hf_bd_worker *bw = &pc.bw;
	unsigned n, sent = 0;

	while ((n = rte_ring_dequeue_burst_elem(bw->to_control, pc.qbuf, sizeof(pc.qbuf[0]),
						HF_ARRAY_LEN(pc.qbuf), NULL)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			struct hf_msg_ctl *m = hf_bd_fill_msg(
				bw, &pc.qbuf[i].key, pc.qbuf[i].hash,
				(const struct hf_dns_answer *)(const void *)pc.miss_ans);
			if (m == NULL || !hf_bd_send_ctl(bw, m)) {
				/* let the worker catch up, as a real one would */
				hf_worker_poll_control(&bw->w);
				m = hf_bd_fill_msg(
					bw, &pc.qbuf[i].key, pc.qbuf[i].hash,
					(const struct hf_dns_answer *)(const void *)pc.miss_ans);
				if (m == NULL || !hf_bd_send_ctl(bw, m))
					continue;
			}
			sent++;
		}
	}
	return sent;
}

/* Rounds without new queries until nothing is parked or in flight. */
static void hf_pc_settle(void)
{
	for (int i = 0; i < 1000; i++) {
		struct hf_cache_stats st;
		hf_pc_control();
		hf_pc_worker_round(&pc.bw.w);
		hf_pc_sink();
		hf_cache_get_stats(pc.bw.w.cache, &st);
		if (st.waiters == 0 && rte_ring_count(pc.bw.to_control) == 0 &&
		    rte_ring_count(pc.bw.from_control) == 0)
			return;
	}
}

/*
 * A worker whose cache holds 1.6 N keys: 0.6 N cold filler names, then the
 * N names of the workload, all filled through FILL messages on the
 * from_control ring; then one query for every hot name through the port
 * (each answer checked). A full cache is the steady state of production:
 * every miss then costs an eviction. The fillers are 0.6 N so that the
 * numbers stay comparable with earlier runs (docs/bench.md).
 */
static int hf_pc_worker(uint32_t n, bool clean, char *err, size_t errlen)
{
	struct hf_cache_conf cc;
	uint8_t name[HF_BD_NAME_LEN];
	int sz;

	if (pc.bw_up && pc.bw_n == n && !(clean && pc.bw_dirty))
		return 0;
	if (pc.bw_up)
		hf_bd_worker_fini(&pc.bw);
	pc.bw_up = false;
	hf_bd_cache_conf(&cc, n + n / 5 * 3);
	if (hf_bd_worker_init(&pc.bw, "pc", pc.port, &cc, err, errlen) != 0)
		return -1;
	pc.bw_up = true;
	pc.bw_n = n;
	pc.bw_dirty = false;
	pc.bw.w.now_ms = rte_rdtsc() / pc.bw.w.tsc_per_ms;
	if (hf_bd_warm(&pc.bw, 'f', 0, n / 5 * 3, err, errlen) != 0 ||
	    hf_bd_warm(&pc.bw, 'n', 0, n, err, errlen) != 0)
		return -1;
	hf_bd_name(name, 'm', 0);
	sz = hf_bd_answer(pc.miss_ans, sizeof(pc.miss_ans), name, 0x0affffff, HF_BD_TTL);
	if (sz < 0) {
		snprintf(err, errlen, "miss answer: %s", hf_strerror(sz));
		return -1;
	}
	/* one query per hot name, in order; every answer checked */
	for (uint32_t i = 0; i < n; i += HF_PC_BURST) {
		struct rte_mbuf *pkts[HF_PC_BURST], *out[64];
		unsigned k = HF_MIN(HF_PC_BURST, n - i), got;
		if (rte_pktmbuf_alloc_bulk(pc.pool, pkts, k) != 0) {
			snprintf(err, errlen, "no mbufs");
			return -1;
		}
		for (unsigned j = 0; j < k; j++)
			hf_pc_gen_one(pkts[j], i + j);
		rte_ring_enqueue_burst(pc.rx, (void **)pkts, k, NULL);
		hf_pc_worker_round(&pc.bw.w);
		hf_pc_control();
		while ((got = rte_ring_dequeue_burst(pc.tx, (void **)out, 64, NULL)) > 0) {
			for (unsigned j = 0; j < got; j++) {
				const uint8_t *p = rte_pktmbuf_mtod(out[j], const uint8_t *);
				uint32_t idx = (uint32_t)strtoul(
					(const char *)(uintptr_t)(p + HF_BD_NAME_OFF + 2), NULL,
					10);
				const char *why =
					hf_bd_check_answer(p, out[j]->data_len, hf_bd_addr(idx));
				/* a name the fill could not keep (cuckoo table nearly
				 * full) came back as a miss: control's answer */
				if (why != NULL &&
				    hf_bd_check_answer(p, out[j]->data_len, 0x0affffff) == NULL)
					why = NULL;
				if (why != NULL) {
					snprintf(err, errlen, "warm-up answer for name %u: %s", idx,
						 why);
					rte_pktmbuf_free_bulk(out, got);
					return -1;
				}
			}
			rte_pktmbuf_free_bulk(out, got);
		}
	}
	hf_pc_settle();
	return 0;
}

/* ---- measuring ----------------------------------------------------------- */

static int hf_pc_size_index(uint32_t n)
{
	for (int i = 0; i < HF_PC_NSIZES; i++)
		if (hf_pc_sizes[i] == n)
			return i;
	return 0;
}

/* The floor's rate measured apart (when a filter left its benchmark out). */
static double hf_pc_floor_quick(void)
{
	uint64_t t0 = rte_rdtsc(), t1, answers = 0;

	do {
		for (int i = 0; i < 1024; i++) {
			if (hf_pc_gen_burst() != 0)
				return 0;
			hf_pc_floor_round(false);
			answers += hf_pc_sink();
		}
		t1 = rte_rdtsc();
	} while (t1 - t0 < pc.tsc_hz / 4);
	return (double)answers * (double)pc.tsc_hz / (double)(t1 - t0);
}

static void bm_per_core(struct hf_bench_state *st)
{
	const struct hf_pc_workload *wl = &pc.wl[st->arg];
	struct hf_counters c0, c1;
	struct hf_cache_stats cs0, cs1;
	char err[256];
	uint64_t answers = 0, t0, t1, ctl_cycles = 0, fills = 0;
	int si = hf_pc_size_index(wl->n);
	double rate, floor;

	if (hf_pc_names(wl->n) != 0 ||
	    hf_pc_seq(wl->n, wl->zipf, wl->kind == HF_PC_WORKER ? wl->miss_pct : 0) != 0) {
		hf_bench_skip_with_error(st, "out of memory (names, sequence)");
		return;
	}
	hf_pc_template(wl->edns);
	if (wl->kind != HF_PC_WORKER) {
		const char *why = wl->kind == HF_PC_FLOOR ? hf_pc_floor_check() : NULL;
		if (why != NULL) {
			snprintf(err, sizeof(err), "floor answer: %s", why);
			hf_bench_skip_with_error(st, err);
			return;
		}
		t0 = rte_rdtsc();
		HF_BENCH_LOOP(st)
		{
			if (HF_UNLIKELY(hf_pc_gen_burst() != 0)) {
				hf_bench_skip_with_error(st, "generator: no mbufs or RX ring full");
				break;
			}
			hf_pc_floor_round(wl->kind == HF_PC_IO);
			answers += hf_pc_sink();
		}
		t1 = rte_rdtsc();
		if (st->error)
			return;
		rate = (double)answers * (double)pc.tsc_hz / (double)(t1 - t0);
		if (wl->kind == HF_PC_FLOOR)
			pc.floor_rate[si][wl->edns] = rate;
		hf_bench_set_items_processed(st, answers);
		hf_bench_counter(st, "answers_per_second", rate, HF_BENCH_CNT_DEFAULT);
		hf_bench_counter(st, "cycles_per_answer",
				 answers ? (double)(t1 - t0) / (double)answers : 0,
				 HF_BENCH_CNT_DEFAULT);
		return;
	}

	floor = pc.floor_rate[si][wl->edns];
	if (floor == 0) {
		floor = hf_pc_floor_quick();
		pc.floor_rate[si][wl->edns] = floor;
	}
	/* a workload with misses starts from a clean warm cache */
	if (hf_pc_worker(wl->n, wl->miss_pct > 0, err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	if (hf_pc_cookies(wl->edns, wl->cookie, err, sizeof(err)) != 0) {
		hf_bench_skip_with_error(st, err);
		return;
	}
	if (wl->miss_pct > 0)
		pc.bw_dirty = true;
	c0 = pc.bw.w.ctr[0];
	hf_cache_get_stats(pc.bw.w.cache, &cs0);

	t0 = rte_rdtsc();
	HF_BENCH_LOOP(st)
	{
		if (HF_UNLIKELY(hf_pc_gen_burst() != 0)) {
			hf_bench_skip_with_error(st, "generator: no mbufs or RX ring full");
			break;
		}
		hf_pc_worker_round(&pc.bw.w);
		answers += hf_pc_sink();
		if (wl->miss_pct > 0 && rte_ring_count(pc.bw.to_control) > 0) {
			uint64_t c = rte_rdtsc();
			fills += hf_pc_control();
			ctl_cycles += rte_rdtsc() - c;
		}
	}
	t1 = rte_rdtsc();
	hf_pc_settle(); /* answer what is still parked (not timed, not counted) */
	if (st->error)
		return;
	c1 = pc.bw.w.ctr[0];
	hf_cache_get_stats(pc.bw.w.cache, &cs1);
	if (wl->cookie != 0 && wl->cookie != HF_PC_COOKIE_NONE_RRL &&
	    (c1.cookies - c0.cookies != c1.queries - c0.queries ||
	     c1.cookies_valid - c0.cookies_valid !=
		     (wl->cookie == HF_PC_COOKIE_VALID ? c1.queries - c0.queries : 0) ||
	     c1.drop_rrl != c0.drop_rrl || c1.rrl_slipped != c0.rrl_slipped)) {
		hf_bench_skip_with_error(st,
					 "cookies: not every query counted as its workload says");
		return;
	}
	if (c1.servfail_timeout != c0.servfail_timeout || c1.drop_ring_full != c0.drop_ring_full ||
	    c1.drop_tx_full != c0.drop_tx_full ||
	    c1.queries - c0.queries != c1.rx_packets - c0.rx_packets) {
		char why[HF_BENCH_MSG_MAX];
		snprintf(why, sizeof(why),
			 "worker dropped queries: timed out %llu, MISS ring full %llu, TX full "
			 "%llu, unparsed %llu",
			 (unsigned long long)(c1.servfail_timeout - c0.servfail_timeout),
			 (unsigned long long)(c1.drop_ring_full - c0.drop_ring_full),
			 (unsigned long long)(c1.drop_tx_full - c0.drop_tx_full),
			 (unsigned long long)((c1.rx_packets - c0.rx_packets) -
					      (c1.queries - c0.queries)));
		hf_bench_skip_with_error(st, why);
		return;
	}
	rate = (double)answers * (double)pc.tsc_hz / (double)(t1 - t0);
	{
		double q = (double)(c1.queries - c0.queries);
		hf_bench_set_items_processed(st, answers);
		hf_bench_counter(st, "answers_per_second", rate, HF_BENCH_CNT_DEFAULT);
		hf_bench_counter(st, "cycles_per_answer",
				 answers ? (double)(t1 - t0) / (double)answers : 0,
				 HF_BENCH_CNT_DEFAULT);
		hf_bench_counter(st, "floor_fraction", floor > 0 ? rate / floor : 0,
				 HF_BENCH_CNT_DEFAULT);
		hf_bench_counter(st, "hit_fraction",
				 /* woken waiters are answered (and counted) as fresh hits */
				 q > 0 ? (double)((c1.hits_fresh - c0.hits_fresh) -
						  (c1.parked - c0.parked)) /
						 q
				       : 0,
				 HF_BENCH_CNT_DEFAULT);
		hf_bench_counter(st, "miss_fraction",
				 q > 0 ? (double)(c1.misses - c0.misses) / q : 0,
				 HF_BENCH_CNT_DEFAULT);
		if (wl->miss_pct > 0) {
			/* SERVFAIL "cache full" or fallback answers: no key slot */
			hf_bench_counter(st, "park_full_fraction",
					 q > 0 ? (double)(c1.park_full - c0.park_full) / q : 0,
					 HF_BENCH_CNT_DEFAULT);
			hf_bench_counter(st, "evictions", (double)(cs1.evictions - cs0.evictions),
					 HF_BENCH_CNT_DEFAULT);
			hf_bench_counter(st, "ctl_cycles_per_answer",
					 answers ? (double)ctl_cycles / (double)answers : 0,
					 HF_BENCH_CNT_DEFAULT);
		}
		hf_bench_counter(st, "bytes_per_entry",
				 cs1.entries ? (double)cs1.bytes_used / (double)cs1.entries : 0,
				 HF_BENCH_CNT_DEFAULT);
	}
	(void)fills;
}

/* ---- main ---------------------------------------------------------------- */

static void hf_pc_add_cookie_wl(char *name, size_t size, uint32_t n, unsigned cookie)
{
	static const char *const sz[] = {"1k", "100k", "1M"};
	struct hf_pc_workload *wl = &pc.wl[pc.nwl];
	*wl = (struct hf_pc_workload){HF_PC_WORKER, n, false, true, 0, cookie};
	snprintf(name, size, "BM_per_core_%s_uniform_%s_0miss", sz[hf_pc_size_index(n)],
		 cookie == HF_PC_COOKIE_VALID	 ? "cookie"
		 : cookie == HF_PC_COOKIE_CLIENT ? "cookieclient"
						 : "rrl");
	hf_bench_register(name, bm_per_core, pc.nwl);
	pc.nwl++;
}

static void hf_pc_add(char *name, size_t size, enum hf_pc_kind kind, uint32_t n, bool zipf,
		      bool edns, unsigned miss)
{
	static const char *const sz[] = {"1k", "100k", "1M"};
	const char *s = sz[hf_pc_size_index(n)];
	struct hf_pc_workload *wl = &pc.wl[pc.nwl];

	wl->kind = kind;
	wl->n = n;
	wl->zipf = zipf;
	wl->edns = edns;
	wl->miss_pct = miss;
	wl->cookie = 0;
	if (kind == HF_PC_WORKER)
		snprintf(name, size, "BM_per_core_%s_%s_%s_%umiss", s, zipf ? "zipf" : "uniform",
			 edns ? "edns" : "noedns", miss);
	else
		snprintf(name, size, "BM_per_core_%s_%s_%s", kind == HF_PC_FLOOR ? "floor" : "io",
			 s, edns ? "edns" : "noedns");
	hf_bench_register(name, bm_per_core, pc.nwl);
	pc.nwl++;
}

static int hf_pc_port(char *err, size_t errlen)
{
	int port;

	pc.rx = rte_ring_create("hf_pc_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	pc.tx = rte_ring_create("hf_pc_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	pc.pool = rte_pktmbuf_pool_create("hf_pc_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (pc.rx == NULL || pc.tx == NULL || pc.pool == NULL) {
		snprintf(err, errlen, "rings/mempool: %s", rte_strerror(rte_errno));
		return -1;
	}
	port = rte_eth_from_rings("hf_pc_port", &pc.rx, 1, &pc.tx, 1, SOCKET_ID_ANY);
	if (port < 0) {
		snprintf(err, errlen, "rte_eth_from_rings: %s", rte_strerror(rte_errno));
		return -1;
	}
	pc.port = (uint16_t)port;
	{
		/* configure + queue setup: only then does start install the
		 * fast-path burst functions; the queues are the rings above */
		struct rte_eth_conf conf;
		memset(&conf, 0, sizeof(conf));
		if (rte_eth_dev_configure(pc.port, 1, 1, &conf) != 0 ||
		    rte_eth_rx_queue_setup(pc.port, 0, 1024, SOCKET_ID_ANY, NULL, pc.pool) != 0 ||
		    rte_eth_tx_queue_setup(pc.port, 0, 1024, SOCKET_ID_ANY, NULL) != 0) {
			snprintf(err, errlen, "ring port setup failed");
			return -1;
		}
	}
	if (rte_eth_dev_start(pc.port) != 0) {
		snprintf(err, errlen, "rte_eth_dev_start failed");
		return -1;
	}
	return 0;
}

/* The generator's frames must equal hf_bd_frame's, checksums included. */
static int hf_pc_selftest(char *err, size_t errlen)
{
	uint8_t ref[HF_BD_FRAME_MAX];
	struct rte_mbuf *m = rte_pktmbuf_alloc(pc.pool);

	if (m == NULL || hf_pc_names(1000) != 0) {
		snprintf(err, errlen, "selftest: no memory");
		return -1;
	}
	for (int edns = 0; edns < 2; edns++) {
		hf_pc_template(edns);
		for (uint32_t i = 0; i < 1000; i += 37) {
			uint16_t id = pc.id;
			size_t len;
			hf_pc_gen_one(m, i);
			len = hf_bd_frame(ref, pc.names + (size_t)i * HF_BD_NAME_LEN, id, edns);
			if (len != m->data_len ||
			    memcmp(ref, rte_pktmbuf_mtod(m, uint8_t *), len) != 0) {
				snprintf(err, errlen, "selftest: generated frame %u differs", i);
				rte_pktmbuf_free(m);
				return -1;
			}
		}
	}
	rte_pktmbuf_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned misses[] = {0, 1, 10};
	bool smoke;
	char **eargv, mem[16], prefix[64], err[256], name[96];
	int eargc = 0, rc;

	hf_bench_init(&argc, argv);
	smoke = hf_bd_smoke();
	eargv = calloc((size_t)argc + 10, sizeof(char *));
	if (eargv == NULL)
		return 1;
	/* 1M names: a cache of 1.6M keys, ~1.6 GiB (docs/bench.md) */
	snprintf(mem, sizeof(mem), "%d", smoke ? 512 : 3072);
	snprintf(prefix, sizeof(prefix), "--file-prefix=hf_bench_%d", (int)getpid());
	eargv[eargc++] = argv[0];
	eargv[eargc++] = "--no-huge";
	eargv[eargc++] = "-m";
	eargv[eargc++] = mem;
	eargv[eargc++] = "--no-pci";
	eargv[eargc++] = prefix;
	eargv[eargc++] = "--log-level=error";
	for (int i = 1; i < argc; i++)
		eargv[eargc++] = argv[i];
	if (rte_eal_init(eargc, eargv) < 0) {
		fprintf(stderr, "per_core: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	pc.tsc_hz = rte_get_tsc_hz();
	if (hf_pc_port(err, sizeof(err)) != 0 || hf_pc_selftest(err, sizeof(err)) != 0) {
		fprintf(stderr, "per_core: %s\n", err);
		return 1;
	}

	/* floors (and the bare port) first: every workload's floor_fraction
	 * divides by the floor of its size and EDNS mode */
	for (int s = 0; s < HF_PC_NSIZES; s++) {
		if (smoke && hf_pc_sizes[s] > 100000)
			continue;
		for (int e = 1; e >= 0; e--) {
			hf_pc_add(name, sizeof(name), HF_PC_FLOOR, hf_pc_sizes[s], false, e, 0);
			hf_pc_add(name, sizeof(name), HF_PC_IO, hf_pc_sizes[s], false, e, 0);
		}
	}
	/* per size: the hit-only workloads share one warm cache; each with
	 * misses gets a fresh one */
	for (int s = 0; s < HF_PC_NSIZES; s++) {
		if (smoke && hf_pc_sizes[s] > 100000)
			continue;
		for (unsigned mi = 0; mi < HF_ARRAY_LEN(misses); mi++)
			for (int z = 0; z < 2; z++)
				for (int e = 1; e >= 0; e--)
					hf_pc_add(name, sizeof(name), HF_PC_WORKER, hf_pc_sizes[s],
						  z, e, misses[mi]);
	}
	/* DNS cookies (and RRL) on, hits only */
	for (int s = 0; s < HF_PC_NSIZES; s++) {
		if (hf_pc_sizes[s] > 100000)
			continue;
		hf_pc_add_cookie_wl(name, sizeof(name), hf_pc_sizes[s], HF_PC_COOKIE_VALID);
		hf_pc_add_cookie_wl(name, sizeof(name), hf_pc_sizes[s], HF_PC_COOKIE_CLIENT);
		hf_pc_add_cookie_wl(name, sizeof(name), hf_pc_sizes[s], HF_PC_COOKIE_NONE_RRL);
	}

	rc = hf_bench_run();
	if (pc.bw_up)
		hf_bd_worker_fini(&pc.bw);
	rte_eth_dev_stop(pc.port);
	rte_eth_dev_close(pc.port);
	rte_eal_cleanup();
	free(pc.names);
	free(pc.seq);
	free(eargv);
	return rc;
}
