/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's packet path through a real DPDK port (a net_ring ethdev, as
 * bench/per_core.c drives it): answers with software checksums and with the
 * port's checksum offload (mbuf flags, lengths, the pseudo-header sum the
 * port completes), the RX checksum flags a port sets, a VLAN tag kept in
 * the answer, ARP, DNS cookies, and RFC 8198 on the core (a name the
 * core's copy of an NSEC denies answered there). The frames come from
 * bench/hf_bench_dns.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "bench/hf_bench_dns.h"
#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"
#include "validator/hf_aggr.h"
#include "validator/val_internal.h"

static struct hf_bd_worker bw;
static struct rte_ring *rx, *tx;
static struct rte_mempool *pool;
static uint16_t port;

/* Feed one frame (with RX ol_flags) through the worker; the one frame it
 * sent in *out (a copy, its length returned), or 0 when it sent nothing. */
static uint32_t exchange(const uint8_t *frame, uint32_t len, uint64_t rx_flags, uint8_t *out,
			 uint64_t *tx_flags, struct rte_mbuf *meta)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *a = NULL;
	uint32_t n = 0;

	CHECK(m != NULL);
	if (m == NULL)
		return 0;
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), frame, len);
	m->data_len = m->pkt_len = len;
	m->port = port;
	m->ol_flags = rx_flags;
	hf_worker_rx(&bw.w, &m, 1);
	hf_worker_flush(&bw.w);
	if (rte_ring_dequeue(tx, (void **)&a) == 0) {
		n = a->data_len;
		memcpy(out, rte_pktmbuf_mtod(a, uint8_t *), n);
		if (tx_flags != NULL)
			*tx_flags = a->ol_flags;
		if (meta != NULL) {
			meta->l2_len = a->l2_len;
			meta->l3_len = a->l3_len;
		}
		rte_pktmbuf_free(a);
	}
	CHECK_EQ(rte_ring_count(tx), 0);
	return n;
}

static void test_software_checksums(void)
{
	uint8_t name[HF_BD_NAME_LEN], f[HF_BD_FRAME_MAX], out[2048];
	uint64_t fl = 1;
	uint32_t len, n;

	hf_bd_name(name, 'n', 3);
	len = (uint32_t)hf_bd_frame(f, name, 0x1234, true);
	n = exchange(f, len, 0, out, &fl, NULL);
	CHECK(n > 0);
	CHECK_EQ(fl, 0);
	CHECK(hf_bd_check_answer(out, n, hf_bd_addr(3)) == NULL);
}

/* The port computes the checksums: the worker asks for both, says where
 * the headers are, zeroes the IPv4 one and seeds the UDP one with the
 * pseudo header; completed as a NIC would, the answer checks. */
static void test_tx_offload(void)
{
	uint8_t name[HF_BD_NAME_LEN], f[HF_BD_FRAME_MAX], out[2048];
	struct rte_mbuf meta;
	uint64_t fl = 0;
	uint32_t len, n;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(out + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(out + 34);

	bw.port.tx_cksum_offload = true;
	hf_bd_name(name, 'n', 5);
	len = (uint32_t)hf_bd_frame(f, name, 0x4321, false);
	n = exchange(f, len, 0, out, &fl, &meta);
	bw.port.tx_cksum_offload = false;
	CHECK(n > 0);
	if (n == 0)
		return;
	CHECK_EQ(fl, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
	CHECK_EQ(meta.l2_len, 14);
	CHECK_EQ(meta.l3_len, 20);
	CHECK_EQ(ip->hdr_checksum, 0);
	CHECK_EQ(udp->dgram_cksum, rte_ipv4_phdr_cksum(ip, fl));
	/* the port's part */
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	CHECK(hf_bd_check_answer(out, n, hf_bd_addr(5)) == NULL);
}

/* What the port verified decides; without a verdict holdfast checks the
 * IPv4 header itself. */
static void test_rx_checksum_flags(void)
{
	uint8_t name[HF_BD_NAME_LEN], f[HF_BD_FRAME_MAX], bad[HF_BD_FRAME_MAX], out[2048];
	const struct hf_counters *k = &bw.shared->ctr;
	uint64_t d0 = k->drop_bad_cksum;
	uint32_t len;

	hf_bd_name(name, 'n', 7);
	len = (uint32_t)hf_bd_frame(f, name, 7, true);
	memcpy(bad, f, len);
	bad[14 + 10] ^= 0x01; /* IPv4 header checksum */

	CHECK_EQ(exchange(f, len, RTE_MBUF_F_RX_IP_CKSUM_BAD, out, NULL, NULL), 0);
	CHECK_EQ(k->drop_bad_cksum, d0 + 1);
	CHECK_EQ(exchange(f, len, RTE_MBUF_F_RX_L4_CKSUM_BAD, out, NULL, NULL), 0);
	CHECK_EQ(k->drop_bad_cksum, d0 + 2);
	CHECK_EQ(exchange(bad, len, 0, out, NULL, NULL), 0);
	CHECK_EQ(k->drop_bad_cksum, d0 + 3);
	/* the port says good: trusted (its verdict, not ours) */
	CHECK(exchange(bad, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD, out, NULL, NULL) > 0);
	CHECK(exchange(f, len, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, out, NULL,
		       NULL) > 0);
	CHECK_EQ(k->drop_bad_cksum, d0 + 3);
}

/* A VLAN-tagged query gets a tagged answer with the same tag. */
static void test_vlan(void)
{
	uint8_t name[HF_BD_NAME_LEN], f[HF_BD_FRAME_MAX], v[HF_BD_FRAME_MAX + 4], out[2048],
		plain[2048];
	static const uint8_t tag[4] = {0x81, 0x00, 0x20, 0x35}; /* PCP 1, VLAN 53 */
	uint32_t len, n;

	hf_bd_name(name, 'n', 9);
	len = (uint32_t)hf_bd_frame(f, name, 9, true);
	memcpy(v, f, 12);
	memcpy(v + 12, tag, 4);
	memcpy(v + 16, f + 12, len - 12);
	n = exchange(v, len + 4, 0, out, NULL, NULL);
	CHECK(n > 16);
	if (n <= 16)
		return;
	CHECK(memcmp(out + 12, tag, 4) == 0);
	memcpy(plain, out, 12);
	memcpy(plain + 12, out + 16, n - 16);
	CHECK(hf_bd_check_answer(plain, n - 4, hf_bd_addr(9)) == NULL);
}

/* ARP for the service address: a reply from the port's MAC. */
static void test_arp(void)
{
	uint8_t f[64] = {0}, out[2048];
	static const uint8_t client[6] = {0x02, 0, 0, 0, 0, 0x02};
	uint32_t n, sip = rte_cpu_to_be_32(0xc6123502u),
		    tip = bw.conf.service4[0]; /* 198.18.53.2 */

	memset(f, 0xff, 6);
	memcpy(f + 6, client, 6);
	f[12] = 0x08, f[13] = 0x06;		       /* ARP */
	f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0; /* Ethernet, IPv4 */
	f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;    /* request */
	memcpy(f + 22, client, 6);
	memcpy(f + 28, &sip, 4);
	memcpy(f + 38, &tip, 4);
	n = exchange(f, 60, 0, out, NULL, NULL);
	CHECK(n >= 42);
	if (n < 42)
		return;
	CHECK(memcmp(out, client, 6) == 0);
	CHECK(memcmp(out + 6, &bw.port.mac, 6) == 0);
	CHECK_EQ(out[21], 2); /* reply */
	CHECK(memcmp(out + 22, &bw.port.mac, 6) == 0);
	CHECK(memcmp(out + 28, &tip, 4) == 0);
	CHECK(memcmp(out + 32, client, 6) == 0);
	CHECK(memcmp(out + 38, &sip, 4) == 0);
}

/* The COOKIE option ending an answer to an EDNS query for a bench name
 * (header, question, OPT at the end): its 24 data bytes, or NULL. */
static const uint8_t *answer_cookie(const uint8_t *out, uint32_t n)
{
	const uint8_t *o = out + n - 28;
	if (n < HF_BD_DNS_OFF + 12 + 39 || hf_get16(o) != HF_EDNS_OPT_COOKIE ||
	    hf_get16(o + 2) != 24 || hf_get16(o - 2) != 28 || hf_get16(o - 10) != HF_TYPE_OPT)
		return NULL;
	return o + 4;
}

/* DNS cookies on the UDP path: a client cookie gets a server cookie made
 * now for the frame's source, in the OPT, checksums right; sent back it
 * is echoed; with RRL at 1 a second a valid cookie is never limited and a
 * client cookie alone is slipped as BADCOOKIE with a server cookie;
 * cookie-required answers BADCOOKIE to a client cookie alone. Counted. */
static void test_cookies(void)
{
	static const uint8_t secret[16] = {0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
					   0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf};
	static const uint8_t cl[8] = {0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57};
	uint8_t name[HF_BD_NAME_LEN], f[HF_BD_FRAME_MAX], fv[HF_BD_FRAME_MAX], out[2048];
	uint8_t want[HF_COOKIE_OPT_LEN];
	const struct hf_counters *k = &bw.shared->ctr;
	struct hf_counters k0 = *k;
	struct hf_worker *w = &bw.w;
	const uint8_t *c;
	uint32_t len, lenv, n;

	hf_cookie_set(&w->cookie, true, secret, w->now_ms);
	hf_bd_name(name, 'n', 11);
	len = (uint32_t)hf_bd_frame(f, name, 0x0b0b, true);
	memcpy(want, cl, 8);
	hf_cookie_make(&w->cookie, cl, f + 14 + 12, 4, hf_cookie_now(&w->cookie, w->now_ms),
		       want + 8);
	len = (uint32_t)hf_bd_add_cookie(f, len, cl, 8);
	n = exchange(f, len, 0, out, NULL, NULL);
	CHECK(hf_bd_check_answer(out, n, hf_bd_addr(11)) == NULL);
	CHECK_EQ(n, HF_BD_DNS_OFF + 12 + HF_BD_NAME_LEN + 4 + 16 + 11 + 28);
	c = answer_cookie(out, n);
	CHECK(c != NULL && memcmp(c, want, sizeof(want)) == 0);
	/* sent back: valid, echoed */
	hf_bd_name(name, 'n', 12);
	lenv = (uint32_t)hf_bd_add_cookie(fv, hf_bd_frame(fv, name, 0x0c0c, true), want, 24);
	n = exchange(fv, lenv, 0, out, NULL, NULL);
	CHECK(hf_bd_check_answer(out, n, hf_bd_addr(12)) == NULL);
	c = answer_cookie(out, n);
	CHECK(c != NULL && memcmp(c, want, sizeof(want)) == 0);
	CHECK_EQ(k->cookies - k0.cookies, 2);
	CHECK_EQ(k->cookies_valid - k0.cookies_valid, 1);

	/* RRL at 1 answer a second, every limited one slipped */
	bw.conf.rrl =
		(struct hf_rrl_conf){.rate = 1, .slip = 1, .plen4 = 24, .plen6 = 56, .slots = 1024};
	w->rrl = calloc(1024, sizeof(*w->rrl));
	CHECK(w->rrl != NULL);
	for (int i = 0; i < 3; i++) {
		n = exchange(fv, lenv, 0, out, NULL, NULL);
		CHECK(hf_bd_check_answer(out, n, hf_bd_addr(12)) == NULL);
	}
	CHECK(exchange(f, len, 0, out, NULL, NULL) > 0); /* the second's one answer */
	n = exchange(f, len, 0, out, NULL, NULL);	 /* over: BADCOOKIE, not TC */
	CHECK_EQ(n, HF_BD_DNS_OFF + 12 + HF_BD_NAME_LEN + 4 + 11 + 28);
	CHECK_EQ(hf_get16(out + HF_BD_DNS_OFF + 2) & 0x820f, 0x8007); /* QR, no TC, rcode 23 & 15 */
	CHECK_EQ(hf_get16(out + HF_BD_DNS_OFF + 6), 0);
	CHECK_EQ(out[HF_BD_DNS_OFF + 12 + HF_BD_NAME_LEN + 4 + 5], 1); /* 23 >> 4 in the OPT */
	c = answer_cookie(out, n);
	CHECK(c != NULL && memcmp(c, want, 8) == 0 && c[8] == 1);
	CHECK_EQ(k->badcookie - k0.badcookie, 1);
	CHECK_EQ(k->rrl_slipped - k0.rrl_slipped, 1);
	free(w->rrl);
	w->rrl = NULL;
	bw.conf.rrl.rate = 0;

	/* cookie-required: a client cookie alone gets BADCOOKIE, a valid one its answer */
	w->cookie.required = true;
	n = exchange(f, len, 0, out, NULL, NULL);
	CHECK_EQ(hf_get16(out + HF_BD_DNS_OFF + 2) & 0xf, 7);
	CHECK(answer_cookie(out, n) != NULL);
	n = exchange(fv, lenv, 0, out, NULL, NULL);
	CHECK(hf_bd_check_answer(out, n, hf_bd_addr(12)) == NULL);
	w->cookie.required = false;
	CHECK_EQ(k->badcookie - k0.badcookie, 2);
	CHECK_EQ(k->cookies_invalid - k0.cookies_invalid, 0);
	/* off: no cookie in the answer */
	hf_cookie_set(&w->cookie, false, secret, w->now_ms);
	n = exchange(f, len, 0, out, NULL, NULL);
	CHECK(hf_bd_check_answer(out, n, hf_bd_addr(11)) == NULL);
	CHECK(answer_cookie(out, n) == NULL);
}

/* ---- RFC 8198 on the core ---- */

static size_t put_rr(uint8_t *p, const uint8_t *owner, size_t olen, uint16_t type,
		     const uint8_t *rd, size_t rdlen)
{
	memcpy(p, owner, olen);
	hf_put16(p + olen, type);
	hf_put16(p + olen + 2, HF_CLASS_IN);
	memset(p + olen + 4, 0, 4); /* TTL: the store writes it */
	hf_put16(p + olen + 8, (uint16_t)rdlen);
	memcpy(p + olen + 10, rd, rdlen);
	return olen + 10 + rdlen;
}

/* An RRSIG's RDATA over type with signer zone (a made-up signature: the
 * core checks none, control did). */
static size_t rrsig_rd(uint8_t *rd, uint16_t type, const uint8_t *zone, size_t zlen)
{
	hf_put16(rd, type);
	rd[2] = 13;
	rd[3] = 2;
	hf_put32(rd + 4, 3600);
	hf_put32(rd + 8, 0x7fffffff);
	hf_put32(rd + 12, 1);
	hf_put16(rd + 16, 4242);
	memcpy(rd + 18, zone, zlen);
	memset(rd + 18 + zlen, 0xab, 64);
	return 18 + zlen + 64;
}

/*
 * The record the validator would hand out for the benchmark zone's apex
 * NSEC (next name the apex itself: it covers every other name and the
 * wildcard; types NS SOA RRSIG NSEC), made at control's time wall with ttl
 * seconds to live, the zone's keys 1000: struct val_aggr_rec, then data.
 */
static size_t apex_nsec(uint8_t *out, const uint8_t *zone, size_t zlen, uint64_t wall, uint32_t ttl)
{
	static const uint8_t bm[] = {0, 6, 0x22, 0, 0, 0, 0, 0x03};
	struct val_aggr_rec h;
	uint8_t *d = out + sizeof(h), rd[512];
	size_t n, l;

	memset(&h, 0, sizeof(h));
	memcpy(d, zone, zlen);
	memcpy(d + zlen, zone, zlen);
	memcpy(d + 2 * zlen, zone, zlen);
	n = h.rr_off = (uint16_t)(3 * zlen);
	memcpy(rd, zone, zlen);
	memcpy(rd + zlen, bm, sizeof(bm));
	n += put_rr(d + n, zone, zlen, HF_TYPE_NSEC, rd, zlen + sizeof(bm));
	n += put_rr(d + n, zone, zlen, HF_TYPE_RRSIG, rd, rrsig_rd(rd, HF_TYPE_NSEC, zone, zlen));
	h.nsec_len = (uint16_t)(n - h.rr_off);
	h.nsec_rrs = 2;
	memcpy(rd, zone, zlen);
	memcpy(rd + zlen, zone, zlen);
	l = 2 * zlen;
	for (int i = 0; i < 5; i++, l += 4)
		hf_put32(rd + l, 3600);
	l = put_rr(d + n, zone, zlen, HF_TYPE_SOA, rd, l);
	l += put_rr(d + n + l, zone, zlen, HF_TYPE_RRSIG, rd,
		    rrsig_rd(rd, HF_TYPE_SOA, zone, zlen));
	h.soa_len = (uint16_t)l;
	h.soa_rrs = 2;
	h.data_len = (uint16_t)(n + l);
	h.zone_len = h.owner_len = h.next_len = (uint8_t)zlen;
	h.bm_off = (uint16_t)(h.rr_off + zlen + 10 + zlen);
	h.bm_len = sizeof(bm);
	h.expires = wall + ttl;
	h.keys_expires = wall + 1000;
	memcpy(out, &h, sizeof(h));
	return sizeof(h) + h.data_len;
}

/* Give the worker msg (calloc()ed) and let it apply it. */
static void apply(struct hf_msg_ctl *m)
{
	m->seq = ++bw.seq;
	CHECK(hf_bd_send_ctl(&bw, m));
	hf_worker_poll_control(&bw.w);
	CHECK_EQ(__atomic_load_n(&bw.shared->applied_seq, __ATOMIC_ACQUIRE), m->seq);
	free(m);
}

/* An NSEC message with the zone's apex NSEC (100 s to live) made when
 * control's clock was behind the core's by lag seconds; NULL when out of
 * memory. */
static struct hf_msg_ctl *nsec_msg(const uint8_t *zone, size_t zlen, uint64_t lag)
{
	struct hf_msg_ctl *m = calloc(1, sizeof(*m) + 2048);

	CHECK(m != NULL);
	if (m == NULL)
		return NULL;
	m->type = HF_MSG_NSEC;
	m->aggr = (struct hf_msg_aggr){.on = 1, .max_ttl = 86400, .max_negative_ttl = 3600};
	m->made_ms = bw.w.now_ms;
	m->aggr.wall_s = bw.w.now_ms / 1000 - lag;
	m->aggr.rec_len = (uint32_t)apex_nsec((uint8_t *)&m->ans, zone, zlen, m->aggr.wall_s, 100);
	return m;
}

/* A query frame for 'm' name i, with DO and CD as asked (UDP checksum
 * made again). */
static uint32_t synth_frame(uint8_t *f, uint32_t i, bool do_bit, bool cd)
{
	uint8_t name[HF_BD_NAME_LEN];
	uint32_t len;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(void *)(f + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(void *)(f + 34);

	hf_bd_name(name, 'm', i);
	len = (uint32_t)hf_bd_frame(f, name, (uint16_t)i, true);
	if (do_bit)
		f[HF_BD_NAME_OFF + HF_BD_NAME_LEN + 4 + 7] |= 0x80;
	if (cd)
		f[HF_BD_DNS_OFF + 3] |= HF_DNS_CD;
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return len;
}

/*
 * With the apex NSEC of the benchmark zone in the core's store, a name
 * never cached is answered by the core: NXDOMAIN, EDE 29, the record's TTL
 * less nothing, AD and the NSEC with DO, the SOA alone without; counted in
 * synth_nxdomain, and neither a MISS nor a cache entry. CD=1 is a miss.
 * An NTA at the zone empties the store, and so does aggressive-nsec off.
 */
static void test_synth(void)
{
	uint8_t name[HF_BD_NAME_LEN], f[HF_BD_FRAME_MAX], out[2048];
	const struct hf_counters *k = &bw.shared->ctr;
	struct hf_counters k0 = *k;
	struct hf_worker *w = &bw.w;
	const uint8_t *zone = name + 9;
	const size_t zlen = HF_BD_NAME_LEN - 9;
	static struct hf_dns_msg msg;
	struct hf_cache_stats cs0, cs;
	struct hf_aggr_stats as;
	struct hf_msg_ctl *m;
	struct hf_msg_query mq;
	const uint8_t *d = out + HF_BD_DNS_OFF;
	uint32_t n, ttl;

	hf_bd_name(name, 'm', 0);
	CHECK_EQ(hf_worker_aggr_init(w, 16), 0);
	if (w->aggr == NULL || w->synth == NULL)
		return;
	/* control's clock 1000 s behind the core's */
	if ((m = nsec_msg(zone, zlen, 1000)) == NULL)
		return;
	apply(m);
	hf_aggr_get_stats(w->aggr, &as);
	CHECK_EQ(as.records, 1);
	CHECK_EQ(k->nsec_copies - k0.nsec_copies, 1);
	hf_cache_get_stats(w->cache, &cs0);

	/* without DO: NXDOMAIN, the SOA alone, EDE 29, no AD */
	n = exchange(f, synth_frame(f, 1, false, false), 0, out, NULL, NULL);
	CHECK(n > HF_BD_DNS_OFF + 12);
	CHECK_EQ(hf_get16(d + 2) & 0x8fff, 0x8183); /* QR RD RA, NXDOMAIN, no AD */
	CHECK_EQ(hf_get16(d + 6), 0);
	CHECK_EQ(hf_get16(d + 8), 1);
	CHECK_EQ(hf_get16(d + 10), 1);
	CHECK_MEM(out + n - 6, "\x00\x0f\x00\x02\x00\x1d", 6); /* EDE 29 */
	CHECK(hf_dns_msg_parse(d, n - HF_BD_DNS_OFF, &msg) == 0 && msg.nrr == 2);
	ttl = msg.rr[0].ttl; /* the SOA's: the record's 100 s, not aged */
	CHECK(msg.rr[0].type == HF_TYPE_SOA && (ttl == 100 || ttl == 99));
	/* with DO: AD, the SOA, the NSEC and their RRSIGs */
	n = exchange(f, synth_frame(f, 2, true, false), 0, out, NULL, NULL);
	CHECK_EQ(hf_get16(d + 2) & 0x8fff, 0x81a3);
	CHECK_EQ(hf_get16(d + 8), 4);
	CHECK_MEM(out + n - 6, "\x00\x0f\x00\x02\x00\x1d", 6);
	CHECK_EQ(k->synth_nxdomain - k0.synth_nxdomain, 2);
	CHECK_EQ(k->misses - k0.misses, 0);
	CHECK_EQ(rte_ring_count(bw.to_control), 0);
	hf_cache_get_stats(w->cache, &cs);
	CHECK_EQ(cs.entries, cs0.entries);

	/* CD=1: never on the core: a miss, parked */
	CHECK_EQ(exchange(f, synth_frame(f, 3, true, true), 0, out, NULL, NULL), 0);
	CHECK_EQ(k->misses - k0.misses, 1);
	CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);

	/* an NTA at the zone: the store is emptied, the next name a miss */
	m = calloc(1, sizeof(*m));
	CHECK(m != NULL);
	if (m == NULL)
		return;
	m->type = HF_MSG_NTA;
	m->mode = HF_FLUSH_NTA_ADD;
	memcpy(m->key.name, zone, zlen);
	m->key.name_len = (uint8_t)zlen;
	apply(m);
	hf_aggr_get_stats(w->aggr, &as);
	CHECK_EQ(as.records, 0);
	CHECK_EQ(exchange(f, synth_frame(f, 4, true, false), 0, out, NULL, NULL), 0);
	CHECK_EQ(k->misses - k0.misses, 2);
	CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);
	CHECK_EQ(k->synth_nxdomain - k0.synth_nxdomain, 2);

	/* again a copy, then aggressive-nsec off (CONFIG): emptied */
	if ((m = nsec_msg(zone, zlen, 0)) == NULL)
		return;
	apply(m);
	hf_aggr_get_stats(w->aggr, &as);
	CHECK_EQ(as.records, 1);
	m = calloc(1, sizeof(*m));
	CHECK(m != NULL);
	if (m == NULL)
		return;
	m->type = HF_MSG_CONFIG;
	m->conf = *hf_cache_knobs(w->cache);
	m->aggr.on = 0;
	apply(m);
	hf_aggr_get_stats(w->aggr, &as);
	CHECK_EQ(as.records, 0);
}

/* A FILL refusing 'q' name 0 at the fetches-per-zone of the zone from
 * offset off of its name, EDE 0 with text; NULL when out of memory. */
static struct hf_msg_ctl *limited_fill(size_t off, const char *text)
{
	struct hf_msg_ctl *m = calloc(1, sizeof(*m) + 512);

	CHECK(m != NULL);
	if (m == NULL)
		return NULL;
	m->type = HF_MSG_FILL;
	hf_bd_name(m->key.name, 'q', 0);
	m->key.name_len = HF_BD_NAME_LEN;
	m->key.qtype = HF_TYPE_A;
	m->key.qclass = HF_CLASS_IN;
	m->hash = hf_cache_key_hash(&m->key);
	m->made_ms = bw.w.now_ms;
	CHECK(hf_dns_answer_failure((uint8_t *)&m->ans, 512, HF_BD_NAME_LEN, HF_RCODE_SERVFAIL,
				    HF_EDE_OTHER, text, 0) > 0);
	m->ans.flags = HF_ANS_ZONE_FLAGS(off);
	return m;
}

/*
 * fetches-per-zone on the core: after a FILL refusing a question at its
 * zone's limit, a miss one label below that zone is answered SERVFAIL with
 * control's EDE 0 text by the core (counted, no MISS, no entry) for
 * HF_ZONE_MARK_MS; a name two labels below it is a miss as before. In the
 * grace after, HF_ZONE_PROBES misses go to control and the rest are still
 * refused; a refusal then renews the mark; after the grace, a miss again.
 */
static void test_zone_limited(void)
{
	static const char text[] = "fetches-per-zone: 20 in flight for zone.";
	uint8_t f[HF_BD_FRAME_MAX], out[2048], name[HF_BD_NAME_LEN];
	const struct hf_counters *k = &bw.shared->ctr;
	struct hf_counters k0 = *k;
	struct hf_cache_stats cs0, cs;
	struct hf_msg_query mq;
	struct hf_msg_ctl *m;
	const uint8_t *d = out + HF_BD_DNS_OFF;
	const size_t tl = sizeof(text) - 1;
	uint32_t n;

	/* the zone above the names' zone: they are two labels below it */
	hf_bd_name(name, 'q', 1);
	if ((m = limited_fill(9 + 1u + name[9], text)) == NULL)
		return;
	apply(m);
	CHECK_EQ(exchange(f, (uint32_t)hf_bd_frame(f, name, 1, true), 0, out, NULL, NULL), 0);
	CHECK_EQ(k->misses - k0.misses, 1);
	CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);

	/* the names' own zone: refused on the core */
	if ((m = limited_fill(9, text)) == NULL)
		return;
	apply(m);
	hf_cache_get_stats(bw.w.cache, &cs0);
	hf_bd_name(name, 'q', 2);
	n = exchange(f, (uint32_t)hf_bd_frame(f, name, 2, true), 0, out, NULL, NULL);
	CHECK(n > HF_BD_DNS_OFF + 12 + tl);
	CHECK_EQ(hf_get16(d + 2) & 0x8fff, 0x8182); /* QR RD RA, SERVFAIL */
	CHECK_EQ(hf_get16(out + n - tl - 6), HF_EDNS_OPT_EDE);
	CHECK_EQ(hf_get16(out + n - tl - 4), 2 + tl);
	CHECK_EQ(hf_get16(out + n - tl - 2), HF_EDE_OTHER);
	CHECK_MEM(out + n - tl, text, tl);
	CHECK_EQ(k->fetch_limited_zone - k0.fetch_limited_zone, 1);
	CHECK_EQ(k->misses - k0.misses, 1);
	CHECK_EQ(rte_ring_count(bw.to_control), 0);
	hf_cache_get_stats(bw.w.cache, &cs);
	CHECK_EQ(cs.entries, cs0.entries);

	/* the grace: HF_ZONE_PROBES misses to control, then refused again */
	bw.w.now_ms += HF_ZONE_MARK_MS;
	for (uint32_t p = 0; p < HF_ZONE_PROBES; p++) {
		hf_bd_name(name, 'q', 100 + p);
		CHECK_EQ(exchange(f, (uint32_t)hf_bd_frame(f, name, 3, true), 0, out, NULL, NULL),
			 0);
		CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);
	}
	CHECK_EQ(k->misses - k0.misses, 1 + HF_ZONE_PROBES);
	hf_bd_name(name, 'q', 3);
	CHECK(exchange(f, (uint32_t)hf_bd_frame(f, name, 3, true), 0, out, NULL, NULL) > 0);
	CHECK_EQ(k->fetch_limited_zone - k0.fetch_limited_zone, 2);
	CHECK_EQ(rte_ring_count(bw.to_control), 0);

	/* a refusal of a probe renews the mark: refused, no probe left over */
	if ((m = limited_fill(9, text)) == NULL)
		return;
	apply(m);
	bw.w.now_ms += HF_ZONE_MARK_MS - 1;
	CHECK(exchange(f, (uint32_t)hf_bd_frame(f, name, 4, true), 0, out, NULL, NULL) > 0);
	CHECK_EQ(k->fetch_limited_zone - k0.fetch_limited_zone, 3);

	/* no refusal in the grace: the mark ends with it, a miss again */
	bw.w.now_ms += 1 + 2 * HF_ZONE_MARK_MS;
	CHECK_EQ(exchange(f, (uint32_t)hf_bd_frame(f, name, 5, true), 0, out, NULL, NULL), 0);
	CHECK_EQ(k->misses - k0.misses, 2 + HF_ZONE_PROBES);
	CHECK_EQ(k->fetch_limited_zone - k0.fetch_limited_zone, 3);
	CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);
}

/*
 * A miss the ring to control has no room for: SERVFAIL at once with EDE 0
 * "resolver busy", no parked client, counted as ring_full; the entry does
 * not wait for a question that never went out, so once the ring has room
 * the same name's next query goes to control (and parks).
 */
static void test_ring_full(void)
{
	static const char text[] = "resolver busy";
	uint8_t f[HF_BD_FRAME_MAX], out[2048], name[HF_BD_NAME_LEN];
	const struct hf_counters *k = &bw.shared->ctr;
	struct hf_counters k0 = *k;
	struct hf_msg_query mq;
	const uint8_t *d = out + HF_BD_DNS_OFF;
	const size_t tl = sizeof(text) - 1;
	struct hf_cache_stats cs0, cs;
	unsigned filled = 0;
	uint32_t n;

	hf_cache_get_stats(bw.w.cache, &cs0);
	memset(&mq, 0, sizeof(mq));
	while (rte_ring_enqueue_elem(bw.to_control, &mq, sizeof(mq)) == 0)
		filled++;
	CHECK(filled > 0);
	hf_bd_name(name, 'r', 1);
	n = exchange(f, (uint32_t)hf_bd_frame(f, name, 1, true), 0, out, NULL, NULL);
	CHECK(n > HF_BD_DNS_OFF + 12 + tl);
	CHECK_EQ(hf_get16(d + 2) & 0x8fff, 0x8182); /* QR RD RA, SERVFAIL */
	CHECK_EQ(hf_get16(out + n - tl - 2), HF_EDE_OTHER);
	CHECK_MEM(out + n - tl, text, tl);
	CHECK_EQ(k->drop_ring_full - k0.drop_ring_full, 1);
	CHECK_EQ(k->misses - k0.misses, 0);
	CHECK_EQ(k->parked - k0.parked, 0);
	hf_cache_get_stats(bw.w.cache, &cs);
	CHECK_EQ(cs.waiters, cs0.waiters);

	/* room again: the same name is asked, and its client waits */
	for (unsigned i = 0; i < filled; i++)
		CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);
	CHECK_EQ(exchange(f, (uint32_t)hf_bd_frame(f, name, 2, true), 0, out, NULL, NULL), 0);
	CHECK_EQ(k->misses - k0.misses, 1);
	CHECK_EQ(k->parked - k0.parked, 1);
	CHECK_EQ(rte_ring_dequeue_elem(bw.to_control, &mq, sizeof(mq)), 0);
	CHECK(mq.key.name_len > 9);
	CHECK_MEM(mq.key.name, name, mq.key.name_len);
}

static int setup(void)
{
	struct hf_cache_conf cc;
	struct rte_eth_conf conf;
	char err[256];
	int p;

	rx = rte_ring_create("tw_rx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx = rte_ring_create("tw_tx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	pool = rte_pktmbuf_pool_create("tw_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (rx == NULL || tx == NULL || pool == NULL)
		return -1;
	p = rte_eth_from_rings("tw_port", &rx, 1, &tx, 1, SOCKET_ID_ANY);
	if (p < 0)
		return -1;
	port = (uint16_t)p;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 256, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start(port) != 0)
		return -1;
	hf_bd_cache_conf(&cc, 1024);
	if (hf_bd_worker_init(&bw, "tw", port, &cc, err, sizeof(err)) != 0 ||
	    hf_bd_warm(&bw, 'n', 0, 16, err, sizeof(err)) != 0) {
		fprintf(stderr, "worker: %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_software_checksums),
		TEST_CASE(test_tx_offload),
		TEST_CASE(test_rx_checksum_flags),
		TEST_CASE(test_vlan),
		TEST_CASE(test_arp),
		TEST_CASE(test_cookies),
		TEST_CASE(test_synth),
		TEST_CASE(test_zone_limited),
		TEST_CASE(test_ring_full),
	};
	int rc;

	if (hf_test_eal_init(argc > 0 ? argv[0] : "test_worker", "worker") != 0)
		return 1;
	if (setup() != 0) {
		fprintf(stderr, "test_worker: set-up failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	hf_bd_worker_fini(&bw);
	rte_eal_cleanup();
	return rc;
}
