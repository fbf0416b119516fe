/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: whole Ethernet frames through the worker's RX function
 * (dataplane/worker_pkt.c hf_worker_rx: classify, VLAN, ARP/ND, query parse,
 * cache lookup, answer build, TX enqueue). The input is one frame; it is
 * received twice in one burst (the second copy finds what the first one
 * added: a pending entry to park on, a hit).
 *
 * The worker is the benchmarks' (bench/hf_bench_dns.c: hf_bd_worker_init,
 * no ethdev: nothing is ever sent, the TX queues are drained here) with a
 * small cache that holds, before every input, a fresh A answer
 * (n0000000..n0000003.bench.example.), one stale by 30 s (n0000004: a
 * client parks and a REFRESH goes out) and a cached failure with an EDE
 * (f0000000); the worker's clock stands still at NOW_MS. After the burst
 * every MISS/REFRESH on to_control is answered as control would after a
 * failed resolution (a FAILURE FILL), which wakes the parked clients, and
 * the cache is flushed and filled again, so inputs do not depend on each
 * other.
 *
 * Checked for every frame queued for TX: one segment inside its buffer;
 * our MAC as source; an IPv4 answer has a 20-byte header, a right header
 * checksum, total and UDP lengths that match the frame, a right UDP
 * checksum and port 53 as source; an IPv6 answer the same (payload length,
 * UDP checksum), an ND advertisement a right ICMPv6 checksum; an ARP reply
 * our MAC as sender; a DNS answer is a response that hf_dns_msg_parse
 * takes and is at most 1232 bytes (our EDNS buffer size). Then: nobody
 * left parked, and the mbuf pool back to its size (no mbuf lost or freed
 * twice).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "bench/hf_bench_dns.h"
#include "tests/fuzz/hf_fuzz.h"
#include "tests/unit/hf_test_eal.h"

#define NOW_MS	  1000000000ull
#define NPOOL	  255
#define DATAROOM  2048u /* dataplane/port.c: max(2048, edns-buffer-size + 128) */
#define FRESH	  4	/* n0000000..n0000003 */
#define STALE_IDX 4	/* n0000004 */

static struct hf_bd_worker bw;
static struct rte_mempool *pool;
static struct hf_dns_msg msg;

static const uint8_t fail_text[] = "upstream said no";

/* FILL one answer for key, made made_ms (0: now). */
static void fill(const struct hf_cache_key *key, const struct hf_dns_answer *a, uint64_t made_ms)
{
	struct hf_msg_ctl *m = hf_bd_fill_msg(&bw, key, hf_cache_key_hash(key), a);

	REQUIRE(m != NULL);
	m->made_ms = made_ms;
	REQUIRE(hf_bd_send_ctl(&bw, m));
	while (rte_ring_count(bw.from_control) > 0 || bw.w.ipend < bw.w.npend)
		hf_worker_poll_control(&bw.w);
}

static void warm(void)
{
	_Alignas(8) uint8_t abuf[512];
	uint8_t name[HF_BD_NAME_LEN];
	struct hf_cache_key key;
	char err[128];

	REQUIRE(hf_bd_warm(&bw, 'n', 0, FRESH, err, sizeof(err)) == 0);
	/* TTL 60, made 90 s ago: stale (the window is a day) */
	hf_bd_name(name, 'n', STALE_IDX);
	hf_bd_key(&key, name);
	REQUIRE(hf_bd_answer(abuf, sizeof(abuf), name, hf_bd_addr(STALE_IDX), 60) > 0);
	fill(&key, (const struct hf_dns_answer *)(const void *)abuf, NOW_MS - 90000);
	/* a cached SERVFAIL with an EDE and its text */
	hf_bd_name(name, 'f', 0);
	hf_bd_key(&key, name);
	REQUIRE(hf_dns_answer_failure(abuf, sizeof(abuf), HF_BD_NAME_LEN, HF_RCODE_SERVFAIL,
				      HF_EDE_NETWORK_ERROR, (const char *)fail_text, 30) > 0);
	fill(&key, (const struct hf_dns_answer *)(const void *)abuf, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	struct hf_cache_conf cc;

	(void)argc;
	(void)argv;
	REQUIRE(hf_test_eal_init("fuzz_frame", "fuzz_frame") == 0);
	pool = rte_pktmbuf_pool_create("hf_fuzz_frame", NPOOL, 0, 0,
				       RTE_PKTMBUF_HEADROOM + DATAROOM, SOCKET_ID_ANY);
	REQUIRE(pool != NULL);
	hf_bd_cache_conf(&cc, 64);
	cc.waiters = 64;
	cc.waiters_per_entry = 8;
	if (hf_bd_worker_init(&bw, "fuzz", 0, &cc, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_frame: %s\n", err);
		abort();
	}
	/* and an IPv6 service address: 2001:db8::53 */
	bw.conf.service6[0][0] = 0x20;
	bw.conf.service6[0][1] = 0x01;
	bw.conf.service6[0][2] = 0x0d;
	bw.conf.service6[0][3] = 0xb8;
	bw.conf.service6[0][15] = 0x53;
	bw.conf.nservice6 = 1;
	bw.w.now_ms = NOW_MS;
	warm();
	return 0;
}

/* The one's complement sum over pseudo header and datagram is 0xffff. */
static bool udp4_ok(const struct rte_ipv4_hdr *ip, const void *l4, uint32_t len)
{
	uint32_t s = (uint32_t)rte_ipv4_phdr_cksum(ip, 0) + rte_raw_cksum(l4, len);
	return hf_bd_fold(s) == 0xffff;
}

static bool l4_6_ok(const struct rte_ipv6_hdr *ip6, const void *l4, uint32_t len)
{
	struct rte_ipv6_hdr h = *ip6;
	uint32_t s;

	h.payload_len = rte_cpu_to_be_16((uint16_t)len);
	s = (uint32_t)rte_ipv6_phdr_cksum(&h, 0) + rte_raw_cksum(l4, len);
	return hf_bd_fold(s) == 0xffff;
}

static void check_dns(const uint8_t *d, uint32_t len)
{
	REQUIRE(len >= HF_DNS_HDR_LEN && len <= 1232);
	REQUIRE(hf_get16(d + 2) & HF_DNS_QR);
	REQUIRE(hf_dns_msg_parse(d, len, &msg) == 0);
}

static void check_tx(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)(const void *)p;
	uint32_t len = m->data_len, off = sizeof(*eh);
	uint16_t et = eh->ether_type;

	REQUIRE(m->nb_segs == 1 && m->pkt_len == len);
	REQUIRE(m->data_off + len <= m->buf_len);
	REQUIRE(len >= off);
	REQUIRE(rte_is_same_ether_addr(&eh->src_addr, &bw.port.mac));
	if (et == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		REQUIRE(len >= off + 4);
		memcpy(&et, p + off + 2, 2);
		off += 4;
	}
	if (et == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip =
			(const struct rte_ipv4_hdr *)(const void *)(p + off);
		const struct rte_udp_hdr *udp;
		uint32_t tot;

		REQUIRE(len >= off + 28 && ip->version_ihl == 0x45);
		tot = rte_be_to_cpu_16(ip->total_length);
		REQUIRE(off + tot == len);
		REQUIRE(rte_raw_cksum(ip, 20) == 0xffff);
		REQUIRE(ip->next_proto_id == IPPROTO_UDP);
		udp = (const struct rte_udp_hdr *)(const void *)(p + off + 20);
		REQUIRE(rte_be_to_cpu_16(udp->dgram_len) == tot - 20);
		REQUIRE(udp->src_port == RTE_BE16(53));
		REQUIRE(udp->dgram_cksum != 0 && udp4_ok(ip, udp, tot - 20));
		check_dns(p + off + 28, tot - 28);
	} else if (et == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *ip6 =
			(const struct rte_ipv6_hdr *)(const void *)(p + off);
		const uint8_t *l4 = p + off + sizeof(*ip6);
		uint32_t plen;

		REQUIRE(len >= off + sizeof(*ip6));
		plen = rte_be_to_cpu_16(ip6->payload_len);
		REQUIRE(off + sizeof(*ip6) + plen == len);
		REQUIRE(l4_6_ok(ip6, l4, plen));
		if (ip6->proto == IPPROTO_ICMPV6) {
			REQUIRE(plen == 32 && l4[0] == 136 && ip6->hop_limits == 255);
			REQUIRE(l4[24] == 2 && l4[25] == 1 &&
				memcmp(l4 + 26, &bw.port.mac, 6) == 0);
		} else {
			const struct rte_udp_hdr *udp =
				(const struct rte_udp_hdr *)(const void *)l4;
			REQUIRE(ip6->proto == IPPROTO_UDP && plen >= 8);
			REQUIRE(rte_be_to_cpu_16(udp->dgram_len) == plen);
			REQUIRE(udp->src_port == RTE_BE16(53) && udp->dgram_cksum != 0);
			check_dns(l4 + 8, plen - 8);
		}
	} else {
		const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(const void *)(p + off);
		REQUIRE(et == RTE_BE16(RTE_ETHER_TYPE_ARP));
		REQUIRE(len >= off + sizeof(*arp));
		REQUIRE(arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY));
		REQUIRE(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &bw.port.mac));
		REQUIRE(arp->arp_data.arp_sip == bw.conf.service4[0]);
	}
}

/* Check and free what the worker queued for TX (it never reaches a port). */
static void drain_tx(void)
{
	for (unsigned p = 0; p < bw.w.nports; p++) {
		struct hf_txq *q = &bw.w.tx[p];
		for (unsigned i = 0; i < q->n; i++) {
			check_tx(q->pkts[i]);
			rte_pktmbuf_free(q->pkts[i]);
		}
		q->n = 0;
	}
}

static void no_wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode)
{
	(void)arg;
	(void)cookie;
	(void)e;
	(void)mode;
	REQUIRE(0); /* nobody may still be parked */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_Alignas(8) uint8_t abuf[512];
	struct rte_mbuf *pkts[2];
	struct hf_msg_query q;
	struct hf_cache_stats st;

	if (size > DATAROOM)
		return 0;
	REQUIRE(rte_mempool_avail_count(pool) == NPOOL);
	for (unsigned i = 0; i < 2; i++) {
		pkts[i] = rte_pktmbuf_alloc(pool);
		REQUIRE(pkts[i] != NULL);
		memcpy(rte_pktmbuf_mtod(pkts[i], void *), data, size);
		pkts[i]->data_len = (uint16_t)size;
		pkts[i]->pkt_len = (uint32_t)size;
		pkts[i]->port = 0;
	}
	hf_worker_rx(&bw.w, pkts, 2);
	drain_tx();

	/* control: every MISS/REFRESH ends in a failure (wakes the parked) */
	while (rte_ring_dequeue_elem(bw.to_control, &q, sizeof(q)) == 0) {
		REQUIRE(q.type == HF_MSG_MISS || q.type == HF_MSG_REFRESH);
		REQUIRE(q.key.name_len >= 1 && q.key.name_len <= HF_DNS_NAME_MAX);
		REQUIRE(hf_cache_key_hash(&q.key) == q.hash);
		REQUIRE(hf_dns_answer_failure(abuf, sizeof(abuf), q.key.name_len, HF_RCODE_SERVFAIL,
					      HF_EDE_NO_REACHABLE_AUTHORITY,
					      (const char *)fail_text, 5) > 0);
		fill(&q.key, (const struct hf_dns_answer *)(const void *)abuf, 0);
	}
	drain_tx();

	hf_cache_get_stats(bw.w.cache, &st);
	REQUIRE(st.waiters == 0);
	hf_cache_flush(bw.w.cache, NULL, 0, false, no_wake, NULL);
	warm();
	drain_tx();
	REQUIRE(rte_mempool_avail_count(pool) == NPOOL);
	return 0;
}
