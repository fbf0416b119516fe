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
 */
#include <string.h>
#include <time.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "dataplane/hf_cksum.h"
#include "dataplane/hf_dataplane.h"
#include "dataplane/hf_exception.h"
#include "dns/hf_query.h"

#define DNS_PORT_BE RTE_BE16(53)

/* How many queries ahead of the one being answered its cache entry is loaded */
#define HF_ENTRY_AHEAD 6

_Static_assert(HF_BURST_MAX <= 256, "miss indexes are uint8_t");
/* hf_act answers a hit with the wake mode of its action's number */
_Static_assert((int)HF_ACT_FRESH == (int)HF_WAKE_FRESH && (int)HF_ACT_STALE == (int)HF_WAKE_STALE &&
		       (int)HF_ACT_FAILURE == (int)HF_WAKE_FAILURE,
	       "hit actions are wake modes");

/* Where the parts of a received UDP/DNS packet are. */
struct hf_pkt {
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t dns_off;
	uint16_t dns_len;
	uint8_t ipv6;
};

enum l3_kind { PKT_DROP = 0, PKT_DNS, PKT_ARP, PKT_ND, PKT_EXC /* for the kernel */ };

/* :: or ::1 */
static inline bool ip6_loopback_or_any(const uint8_t *a)
{
	uint64_t hi, lo;
	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return hi == 0 && (lo == 0 || lo == rte_cpu_to_be_64(1));
}

/* a source an IPv6 answer must never go to: multicast, ::, ::1, itself */
static inline bool ip6_bad_source(const struct rte_ipv6_hdr *ip6)
{
	return ip6->src_addr[0] == 0xff || ip6_loopback_or_any(ip6->src_addr) ||
	       memcmp(ip6->src_addr, ip6->dst_addr, 16) == 0;
}

static inline bool service4_has(const struct hf_dp_conf *c, uint32_t a)
{
	for (unsigned i = 0; i < c->nservice4; i++)
		if (c->service4[i] == a)
			return true;
	return false;
}

static inline bool service6_has(const struct hf_dp_conf *c, const uint8_t *a)
{
	for (unsigned i = 0; i < c->nservice6; i++)
		if (memcmp(c->service6[i], a, 16) == 0)
			return true;
	return false;
}

static inline struct rte_ether_addr *port_mac(struct hf_worker *w, struct rte_mbuf *m)
{
	return (struct rte_ether_addr *)&w->ports[w->port_index[m->port]].mac;
}

/*
 * Classify a frame and locate its headers. Every offset is checked
 * against data_len before it is read. ~20 cycles.
 */
static inline __attribute__((always_inline)) enum l3_kind
hf_classify(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi)
{
	struct hf_counters *ctr = w->ctr;
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len;
	uint32_t off = sizeof(struct rte_ether_hdr);
	uint16_t et;

	if (HF_UNLIKELY(m->nb_segs != 1 || len < off || m->port >= RTE_MAX_ETHPORTS)) {
		ctr->drop_malformed_l3++;
		return PKT_DROP;
	}
	{
		/* From a group MAC (its I/G bit) the answer would flood the
		 * segment; a unicast frame for another host is not ours. */
		const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)p;
		if (HF_UNLIKELY((eh->src_addr.addr_bytes[0] & 1) ||
				(!(eh->dst_addr.addr_bytes[0] & 1) &&
				 !rte_is_same_ether_addr(&eh->dst_addr, port_mac(w, m))))) {
			ctr->drop_bad_l2++;
			return PKT_DROP;
		}
		et = eh->ether_type;
	}
	if (et == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		if (HF_UNLIKELY(len < off + 4)) {
			ctr->drop_malformed_l3++;
			return PKT_DROP;
		}
		et = *(const uint16_t *)(p + off + 2);
		off += 4;
	}
	pi->l3_off = (uint16_t)off;
	if (HF_UNLIKELY(m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_BAD))) {
		/* Only what the port verified; never our own check (DESIGN.md). */
		if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
		    (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
			ctr->drop_bad_cksum++;
			return PKT_DROP;
		}
	}
	if (HF_LIKELY(et == RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		const struct rte_ipv4_hdr *ip;
		uint32_t ihl, tot;
		if (HF_UNLIKELY(len < off + sizeof(*ip))) {
			ctr->drop_malformed_l3++;
			return PKT_DROP;
		}
		ip = (const struct rte_ipv4_hdr *)(p + off);
		ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
		tot = rte_be_to_cpu_16(ip->total_length);
		if (HF_UNLIKELY((ip->version_ihl >> 4) != 4 || ihl < 20 || tot < ihl + 8 ||
				off + tot > len)) {
			ctr->drop_malformed_l3++;
			return PKT_DROP;
		}
		if (HF_UNLIKELY(ip->next_proto_id != IPPROTO_UDP ||
				!service4_has(w->conf, ip->dst_addr)) &&
		    /* HF_EXC: not UDP, to a service address: for the kernel */
		    !(w->exc_to != NULL && service4_has(w->conf, ip->dst_addr))) {
			ctr->drop_not_ours++;
			return PKT_DROP;
		}
		if (HF_UNLIKELY(ip->fragment_offset &
				RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
			ctr->drop_fragment++;
			return PKT_DROP;
		}
		{
			/* 0/8, 127/8, 224/4 multicast, 240/4 reserved and
			 * broadcast, or the service address itself */
			uint8_t s0 = ((const uint8_t *)&ip->src_addr)[0];
			if (HF_UNLIKELY(s0 == 0 || s0 == 127 || s0 >= 224 ||
					ip->src_addr == ip->dst_addr)) {
				ctr->drop_bad_source++;
				return PKT_DROP;
			}
		}
		/* the header checksum, unless the port verified it */
		if (!(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_GOOD) &&
		    HF_UNLIKELY(hf_cksum_fold(hf_cksum_add(ip, ihl, 0)) != 0xffff)) {
			ctr->drop_bad_cksum++;
			return PKT_DROP;
		}
		pi->l4_off = (uint16_t)(off + ihl);
		pi->ipv6 = 0;
		len = off + tot; /* ignore Ethernet padding */
		if (HF_UNLIKELY(ip->next_proto_id != IPPROTO_UDP))
			return PKT_EXC; /* HF_EXC: only with the path on (above) */
	} else if (et == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *ip6;
		uint32_t plen;
		if (HF_UNLIKELY(len < off + sizeof(*ip6))) {
			ctr->drop_malformed_l3++;
			return PKT_DROP;
		}
		ip6 = (const struct rte_ipv6_hdr *)(p + off);
		plen = rte_be_to_cpu_16(ip6->payload_len);
		if (HF_UNLIKELY((p[off] >> 4) != 6 || off + sizeof(*ip6) + plen > len)) {
			ctr->drop_malformed_l3++;
			return PKT_DROP;
		}
		pi->l4_off = (uint16_t)(off + sizeof(*ip6));
		pi->ipv6 = 1;
		len = off + (uint32_t)sizeof(*ip6) + plen;
		if (ip6->proto == IPPROTO_ICMPV6)
			return PKT_ND; /* hf_nd() checks the rest */
		if (HF_UNLIKELY(ip6->proto != IPPROTO_UDP || plen < 8 ||
				!service6_has(w->conf, ip6->dst_addr)) &&
		    /* HF_EXC: not UDP, to a service address: for the kernel */
		    !(w->exc_to != NULL && ip6->proto != IPPROTO_UDP &&
		      service6_has(w->conf, ip6->dst_addr))) {
			ctr->drop_not_ours++;
			return PKT_DROP;
		}
		if (HF_UNLIKELY(ip6_bad_source(ip6))) {
			ctr->drop_bad_source++;
			return PKT_DROP;
		}
		if (HF_UNLIKELY(ip6->proto != IPPROTO_UDP))
			return PKT_EXC; /* HF_EXC: only with the path on (above) */
	} else if (et == RTE_BE16(RTE_ETHER_TYPE_ARP)) {
		return PKT_ARP;
	} else {
		ctr->drop_not_ip++;
		return PKT_DROP;
	}
	{
		const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(p + pi->l4_off);
		uint32_t ulen = rte_be_to_cpu_16(udp->dgram_len);
		if (HF_UNLIKELY(udp->dst_port != DNS_PORT_BE || udp->src_port == 0)) {
			if (w->exc_to != NULL && udp->dst_port != DNS_PORT_BE)
				return PKT_EXC; /* HF_EXC: UDP to another port */
			ctr->drop_not_ours++;
			return PKT_DROP;
		}
		if (HF_UNLIKELY(ulen < 8 || pi->l4_off + ulen > len)) {
			ctr->drop_malformed_l3++;
			return PKT_DROP;
		}
		/* over IPv6 a UDP checksum is mandatory (RFC 8200 8.1) */
		if (HF_UNLIKELY(pi->ipv6 && udp->dgram_cksum == 0)) {
			ctr->drop_bad_cksum++;
			return PKT_DROP;
		}
		pi->dns_off = (uint16_t)(pi->l4_off + 8);
		pi->dns_len = (uint16_t)(ulen - 8);
	}
	return PKT_DNS;
}

static inline void tx_enqueue(struct hf_worker *w, struct rte_mbuf *m)
{
	struct hf_txq *q = &w->tx[w->port_index[m->port]];
	if (HF_UNLIKELY(q->n == HF_ARRAY_LEN(q->pkts))) {
		w->ctr->drop_tx_full++;
		rte_pktmbuf_free(m);
		return;
	}
	q->pkts[q->n++] = m;
}

/*
 * Turn the frame around: swap L2/L3/L4 addresses, set lengths for a DNS
 * payload of dns_len bytes at pi->dns_off, and fill in checksums (software,
 * or offload when the port has it). ~40 cycles + checksum over the payload.
 */
static inline __attribute__((always_inline)) void
hf_turn_around(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi, uint32_t dns_len)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_udp_hdr *udp;
	const struct hf_port *port = &w->ports[w->port_index[m->port]];
	uint16_t tmp16;

	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&port->mac, &eth->src_addr);
	m->ol_flags = 0;
	if (!pi->ipv6) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + pi->l3_off);
		uint32_t ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4, tmp;
		/* both sums are the same after the swaps below */
		uint64_t addrs = (uint64_t)ip->src_addr + ip->dst_addr, ports;
		uint16_t ulen_be = rte_cpu_to_be_16((uint16_t)(8 + dns_len));
		if (HF_UNLIKELY(ihl != 20)) {
			/* Drop IP options from the answer: move UDP + DNS down. */
			memmove(p + pi->l3_off + 20, p + pi->l4_off, 8 + dns_len);
			pi->l4_off = (uint16_t)(pi->l3_off + 20);
			pi->dns_off = (uint16_t)(pi->l4_off + 8);
			ip->version_ihl = 0x45;
		}
		tmp = ip->src_addr;
		ip->src_addr = ip->dst_addr;
		ip->dst_addr = tmp;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + dns_len));
		ip->packet_id = 0;
		ip->fragment_offset = 0;
		ip->time_to_live = HF_ANSWER_IP_TTL;
		ip->type_of_service = 0;
		ip->hdr_checksum = 0;
		udp = (struct rte_udp_hdr *)(p + pi->l4_off);
		tmp16 = udp->src_port;
		ports = (uint64_t)tmp16 + udp->dst_port;
		udp->src_port = udp->dst_port;
		udp->dst_port = tmp16;
		udp->dgram_len = ulen_be;
		udp->dgram_cksum = 0;
		m->data_len = m->pkt_len = (uint32_t)pi->dns_off + dns_len;
		if (port->tx_cksum_offload) {
			m->l2_len = pi->l3_off;
			m->l3_len = 20;
			m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
				      RTE_MBUF_F_TX_UDP_CKSUM;
			udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else {
			/* from values: the headers just written are not read back */
			ip->hdr_checksum = hf_ip4_answer_cksum(addrs, (uint16_t)(20 + 8 + dns_len));
			udp->dgram_cksum = hf_udp4_answer_cksum(addrs, ports, ulen_be,
								p + pi->dns_off, dns_len);
		}
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + pi->l3_off);
		uint8_t a[16];
		memcpy(a, ip6->src_addr, 16);
		memcpy(ip6->src_addr, ip6->dst_addr, 16);
		memcpy(ip6->dst_addr, a, 16);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(8 + dns_len));
		ip6->hop_limits = HF_ANSWER_IP_TTL;
		udp = (struct rte_udp_hdr *)(p + pi->l4_off);
		tmp16 = udp->src_port;
		udp->src_port = udp->dst_port;
		udp->dst_port = tmp16;
		udp->dgram_len = ip6->payload_len;
		udp->dgram_cksum = 0;
		m->data_len = m->pkt_len = (uint32_t)pi->dns_off + dns_len;
		udp->dgram_cksum = hf_l4_cksum6(ip6, udp, (uint16_t)(8 + dns_len), IPPROTO_UDP);
	}
}

/* Largest DNS answer this client may get: 512 without EDNS, else its
 * advertised size capped by ours. */
static inline uint32_t client_limit(const struct hf_worker *w, const struct hf_query *q)
{
	if (!q->has_edns)
		return HF_DNS_UDP_MIN;
	return HF_MIN((uint32_t)q->udp_size, (uint32_t)w->conf->edns_buffer_size);
}

/* Room for a DNS payload at pi->dns_off in this mbuf. */
static inline uint32_t dns_room(const struct rte_mbuf *m, const struct hf_pkt *pi)
{
	return (uint32_t)(m->buf_len - m->data_off) - pi->dns_off;
}

static inline void count_rcode(struct hf_counters *ctr, unsigned rcode)
{
	ctr->answers++;
	if (rcode < HF_ARRAY_LEN(ctr->rcode))
		ctr->rcode[rcode]++;
}

/*
 * An answer without records: FORMERR, NOTIMP, REFUSED, BADVERS, or a
 * SERVFAIL with an EDE. The question is echoed when it parsed, an OPT is
 * added when the client sent one. `rcode` may be extended (BADVERS).
 */
static void hf_reply_empty(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi,
			   const struct hf_query *q, unsigned rcode, bool with_question,
			   uint16_t ede, const uint8_t *text, uint16_t text_len)
{
	uint8_t *d = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->dns_off);
	uint32_t len = with_question ? q->question_end : HF_DNS_HDR_LEN;
	uint32_t room = HF_MIN(dns_room(m, pi), client_limit(w, q));
	uint16_t flags = HF_DNS_QR | HF_DNS_RA | (q->flags & (HF_DNS_OPCODE_MASK | HF_DNS_RD)) |
			 (rcode & 0xf);

	hf_put16(d + 2, flags);
	hf_put16(d + 4, with_question ? 1 : 0);
	hf_put16(d + 6, 0);
	hf_put16(d + 8, 0);
	hf_put16(d + 10, 0);
	if (q->has_edns) {
		size_t n = hf_dns_opt_put(d + len, room > len ? room - len : 0,
					  w->conf->edns_buffer_size, (uint8_t)(rcode >> 4),
					  q->do_bit, ede, text, text_len);
		if (n == 0) /* EDE text does not fit: drop the text */
			n = hf_dns_opt_put(d + len, room > len ? room - len : 0,
					   w->conf->edns_buffer_size, (uint8_t)(rcode >> 4),
					   q->do_bit, ede, NULL, 0);
		if (n) {
			hf_put16(d + 10, 1);
			len += (uint32_t)n;
			if (ede < HF_ARRAY_LEN(w->ctr->ede))
				w->ctr->ede[ede]++;
		}
	}
	count_rcode(w->ctr, rcode & 0xf);
	hf_turn_around(w, m, pi, len);
	tx_enqueue(w, m);
}

/*
 * Answer from a cache entry in `mode` (FRESH / STALE / FAILURE). The
 * client's header and question stay; the stored sections are copied
 * behind them, TTLs rewritten, OPT (+EDE) appended. TC=1 with empty
 * sections when it does not fit. ~30 cycles + 1 cycle per 16 bytes copied.
 */
static inline __attribute__((always_inline)) void
hf_reply_entry(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi, const struct hf_query *q,
	       const struct hf_cache_entry *e, enum hf_wake_mode mode)
{
	const struct hf_dns_answer *a = hf_entry_ans(e);
	uint8_t *d = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->dns_off);
	uint32_t limit = HF_MIN(dns_room(m, pi), client_limit(w, q));
	uint32_t len = q->question_end;
	uint16_t ede = a->ede;
	const uint8_t *text = hf_dns_answer_ede_text(a);
	uint16_t text_len = a->ede_text_len;
	uint32_t opt_len = 0;
	uint16_t flags;

	if (mode == HF_WAKE_STALE) {
		ede = a->kind == HF_ANS_NXDOMAIN ? HF_EDE_STALE_NXDOMAIN : HF_EDE_STALE_ANSWER;
		text_len = 0;
	}
	if (q->has_edns)
		opt_len = 11 + (ede != HF_EDE_NONE ? 6u + text_len : 0u);

	flags = HF_DNS_QR | HF_DNS_RA | (q->flags & (HF_DNS_RD | HF_DNS_CD)) | (a->rcode & 0xf);
	if (a->security == HF_SECURITY_SECURE && (q->do_bit || (q->flags & HF_DNS_AD)))
		flags |= HF_DNS_AD;

	if (HF_LIKELY(len + a->body_len + opt_len <= limit)) {
		const uint8_t *body = hf_dns_answer_body(a);
		const uint16_t *offs = hf_dns_answer_ttl_offs(a);
		uint8_t *out = d + len;
		rte_memcpy(out, body, a->body_len);
		if (mode == HF_WAKE_STALE) {
			uint32_t st =
				hf_cache_knobs(w->cache)->stale_ttl; /* config set may change it */
			for (unsigned i = 0; i < a->nttl; i++)
				hf_put32(out + offs[i], st);
		} else {
			uint32_t age = (uint32_t)((w->now_ms - e->inserted_ms) / 1000);
			for (unsigned i = 0; i < a->nttl; i++) {
				uint32_t t = hf_get32(body + offs[i]);
				hf_put32(out + offs[i], t > age ? t - age : 0);
			}
		}
		hf_put16(d + 6, a->ancount);
		hf_put16(d + 8, a->nscount);
		hf_put16(d + 10, a->arcount);
		len += a->body_len;
	} else {
		flags |= HF_DNS_TC;
		hf_put16(d + 6, 0);
		hf_put16(d + 8, 0);
		hf_put16(d + 10, 0);
		w->ctr->truncated++;
		if (len + opt_len > limit) { /* not even the EDE text fits */
			text_len = 0;
			opt_len = 11 + (ede != HF_EDE_NONE ? 6u : 0u);
		}
	}
	hf_put16(d + 2, flags);
	hf_put16(d + 4, 1);
	if (q->has_edns) {
		size_t n = hf_dns_opt_put(d + len, limit - len, w->conf->edns_buffer_size, 0,
					  q->do_bit, ede, text, text_len);
		if (HF_LIKELY(n)) {
			hf_put16(d + 10, (uint16_t)(hf_get16(d + 10) + 1));
			len += (uint32_t)n;
			if (ede < HF_ARRAY_LEN(w->ctr->ede))
				w->ctr->ede[ede]++;
		}
	}
	count_rcode(w->ctr, a->rcode & 0xf);
	hf_turn_around(w, m, pi, len);
	tx_enqueue(w, m);
}

static const uint8_t timeout_text[] = "resolution timed out";

static void hf_reply_mode(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi,
			  const struct hf_query *q, const struct hf_cache_entry *e,
			  enum hf_wake_mode mode)
{
	if (HF_UNLIKELY(mode == HF_WAKE_TIMEOUT)) {
		w->ctr->servfail_timeout++;
		hf_reply_empty(w, m, pi, q, HF_RCODE_SERVFAIL, true, HF_EDE_NO_REACHABLE_AUTHORITY,
			       timeout_text, sizeof(timeout_text) - 1);
		return;
	}
	hf_reply_entry(w, m, pi, q, e, mode);
}

/* Re-derive packet and query facts of a parked mbuf, then answer it. */
static void hf_wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode)
{
	struct hf_worker *w = arg;
	struct rte_mbuf *m = cookie;
	struct hf_pkt pi;
	struct hf_query q;
	uint8_t lname[HF_QUERY_LNAME_SIZE];

	if (hf_classify(w, m, &pi) != PKT_DNS ||
	    hf_query_parse(rte_pktmbuf_mtod_offset(m, const uint8_t *, pi.dns_off), pi.dns_len, &q,
			   lname) != HF_Q_OK) {
		rte_pktmbuf_free(m); /* cannot happen: it parsed when parked */
		return;
	}
	hf_reply_mode(w, m, &pi, &q, e, mode);
}

static void send_query(struct hf_worker *w, uint8_t type, const struct hf_cache_key *key,
		       uint32_t hash)
{
	struct hf_msg_query msg;
	msg.type = type;
	msg.worker = (uint8_t)w->idx;
	msg.pad = 0;
	msg.hash = hash;
	memcpy(&msg.key, key, HF_CACHE_KEY_HDR + key->name_len);
	if (HF_UNLIKELY(rte_ring_enqueue_elem(w->to_control, &msg, sizeof(msg)) != 0)) {
		w->ctr->drop_ring_full++;
		return;
	}
	if (type == HF_MSG_MISS)
		w->ctr->misses++;
	else
		w->ctr->refreshes++;
}

/* Act on a cache decision for one query (the entry is never NULL). */
static void hf_act(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi,
		   const struct hf_query *q, const struct hf_cache_key *key, uint32_t hash,
		   struct hf_cache_entry *e)
{
	struct hf_cache_decision d = hf_cache_decide(w->cache, e, w->now_ms);

	if (d.send_query)
		send_query(w, e->state == HF_ENTRY_PENDING ? HF_MSG_MISS : HF_MSG_REFRESH, key,
			   hash);
	/* hits: answered from the cache at once (a parked client is counted
	 * in parked; stale answers of every kind in ede[3] / ede[19]). The
	 * actions FRESH, STALE and FAILURE are the wake modes of the same
	 * names, so one inlined reply serves the three. */
	if (HF_LIKELY(d.action != HF_ACT_WAIT)) {
		if (HF_LIKELY(d.action == HF_ACT_FRESH))
			w->ctr->hits_fresh++;
		else if (d.action == HF_ACT_STALE)
			w->ctr->hits_stale++;
		else
			w->ctr->hits_failure++;
		hf_reply_entry(w, m, pi, q, e, (enum hf_wake_mode)d.action);
		return;
	}
	if (HF_LIKELY(hf_cache_park(w->cache, e, m, w->now_ms) == 0)) {
		w->ctr->parked++;
		return;
	}
	/* No room to wait: the stale or failure answer when there is one, else
	 * SERVFAIL at once (nothing timed out, so not EDE 22). */
	w->ctr->park_full++;
	{
		static const uint8_t full[] = "too many clients waiting";
		enum hf_wake_mode mode = hf_cache_fallback(w->cache, e, w->now_ms);
		if (mode == HF_WAKE_TIMEOUT)
			hf_reply_empty(w, m, pi, q, HF_RCODE_SERVFAIL, true, HF_EDE_OTHER, full,
				       sizeof(full) - 1);
		else
			hf_reply_entry(w, m, pi, q, e, mode);
	}
}

/* ARP request for one of our IPv4 addresses -> reply in place. */
static void hf_arp(struct hf_worker *w, struct rte_mbuf *m, const struct hf_pkt *pi)
{
	struct rte_arp_hdr *arp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr *mac = port_mac(w, m);
	uint32_t tip;

	if (m->data_len < pi->l3_off + sizeof(*arp)) {
		w->ctr->drop_malformed_l3++;
		goto drop;
	}
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, pi->l3_off);
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
	    arp->arp_plen != 4 || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
	    !service4_has(w->conf, arp->arp_data.arp_tip)) {
		w->ctr->drop_not_ours++;
		goto drop;
	}
	tip = arp->arp_data.arp_tip;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = tip;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(mac, &eth->src_addr);
	m->ol_flags = 0;
	w->ctr->arp_replies++;
	tx_enqueue(w, m);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* ICMPv6 Neighbour Solicitation for one of our IPv6 addresses -> Advertisement. */
static void hf_nd(struct hf_worker *w, struct rte_mbuf *m, const struct hf_pkt *pi)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + pi->l3_off);
	uint8_t *icmp = p + pi->l4_off;
	uint32_t plen = rte_be_to_cpu_16(ip6->payload_len);
	struct rte_ether_addr *mac = port_mac(w, m);
	uint8_t target[16];
	bool dad;

	/* HF_EXC: ICMPv6 other than ND/RS/RA/redirect (echo, packet too big)
	 * to a service address, from a source an answer may go to */
	if (w->exc_to != NULL && plen >= 4 && (icmp[0] < 133 || icmp[0] > 137) &&
	    service6_has(w->conf, ip6->dst_addr) && !ip6_bad_source(ip6)) {
		hf_exc_to_kernel(w->exc_to, w->ctr, m);
		return;
	}
	/* type 135, code 0, hop limit 255, 24 bytes at least (RFC 4861 7.1.1) */
	if (plen < 24 || icmp[0] != 135 || icmp[1] != 0 || ip6->hop_limits != 255 ||
	    !service6_has(w->conf, icmp + 8)) {
		w->ctr->drop_not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	/* summed over the checksum field too: a valid message sums to 0xffff,
	 * whose complement 0 the UDP rule turns into 0xffff */
	if (hf_l4_cksum6(ip6, icmp, (uint16_t)plen, IPPROTO_ICMPV6) != 0xffff) {
		w->ctr->drop_bad_cksum++;
		rte_pktmbuf_free(m);
		return;
	}
	dad = ip6_loopback_or_any(ip6->src_addr) && ip6->src_addr[15] == 0;
	/* every option at least 8 bytes long and inside the packet; none
	 * with a source link-layer address from :: (RFC 4861 7.1.1) */
	for (uint32_t o = 24; o < plen;) {
		uint32_t olen = 8u * (o + 1 < plen ? icmp[o + 1] : 0u);
		if (olen == 0 || o + olen > plen || (dad && icmp[o] == 1)) {
			w->ctr->drop_malformed_l3++;
			rte_pktmbuf_free(m);
			return;
		}
		o += olen;
	}
	memcpy(target, icmp + 8, 16);
	if (dad)
		memcpy(ip6->dst_addr, all_nodes, 16);
	else
		memcpy(ip6->dst_addr, ip6->src_addr, 16);
	memcpy(ip6->src_addr, target, 16);
	ip6->payload_len = RTE_BE16(32);
	ip6->hop_limits = 255;
	icmp[0] = 136;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	icmp[4] = dad ? 0x20 : 0x60; /* S (unless DAD) and O */
	icmp[5] = icmp[6] = icmp[7] = 0;
	memcpy(icmp + 8, target, 16);
	icmp[24] = 2; /* target link-layer address option */
	icmp[25] = 1;
	memcpy(icmp + 26, mac, 6);
	{
		uint16_t ck = rte_ipv6_udptcp_cksum(ip6, icmp);
		memcpy(icmp + 2, &ck, 2);
	}
	if (dad) {
		static const struct rte_ether_addr mc = {{0x33, 0x33, 0, 0, 0, 1}};
		rte_ether_addr_copy(&mc, &eth->dst_addr);
	} else {
		rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	}
	rte_ether_addr_copy(mac, &eth->src_addr);
	m->data_len = m->pkt_len = pi->l4_off + 32u;
	m->ol_flags = 0;
	w->ctr->nd_replies++;
	tx_enqueue(w, m);
}

/*
 * One RX burst. Pass 1 parses every packet and handles what needs no
 * cache; pass 2 bulk-looks-up the DNS queries and answers hits; pass 3
 * handles misses (an insert may evict, so it comes after every pointer
 * from the bulk lookup has been used).
 */
void hf_worker_rx(struct hf_worker *w, struct rte_mbuf **pkts, unsigned n)
{
	struct hf_counters *ctr = w->ctr;
	struct hf_pkt pi[HF_BURST_MAX];
	struct hf_query q[HF_BURST_MAX];
	struct hf_cache_key keys[HF_BURST_MAX];
	const struct hf_cache_key *kp[HF_BURST_MAX];
	uint32_t hashes[HF_BURST_MAX];
	struct hf_cache_entry *ents[HF_BURST_MAX];
	struct rte_mbuf *qm[HF_BURST_MAX];
	uint8_t miss[HF_BURST_MAX]; /* indexes of the queries that missed */
	unsigned nq = 0, nmiss = 0;

	ctr->rx_packets += n;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct hf_pkt *p = &pi[nq];
		enum hf_query_verdict v;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		switch (hf_classify(w, m, p)) {
		case PKT_DNS:
			break;
		case PKT_ARP:
			hf_arp(w, m, p);
			continue;
		case PKT_ND:
			hf_nd(w, m, p);
			continue;
		case PKT_EXC: /* HF_EXC */
			hf_exc_to_kernel(w->exc_to, ctr, m);
			continue;
		default:
			rte_pktmbuf_free(m);
			continue;
		}
		v = hf_query_parse(rte_pktmbuf_mtod_offset(m, const uint8_t *, p->dns_off),
				   p->dns_len, &q[nq], keys[nq].name);
		if (HF_LIKELY(v == HF_Q_OK)) {
			struct hf_cache_key *k = &keys[nq];
			ctr->queries++;
			k->name_len = q[nq].qname_len;
			k->flags = (q[nq].do_bit ? HF_KEY_DO : 0) |
				   ((q[nq].flags & HF_DNS_CD) ? HF_KEY_CD : 0);
			k->qtype = q[nq].qtype;
			k->qclass = q[nq].qclass;
			kp[nq] = k;
			hashes[nq] = hf_cache_key_hash_end(q[nq].name_crc, k->name_len, k->flags,
							   k->qtype, k->qclass);
			hf_cache_prefetch(w->cache, hashes[nq]);
			qm[nq] = m;
			nq++;
			continue;
		}
		switch (v) {
		case HF_Q_DROP:
			ctr->drop_dns_header++;
			rte_pktmbuf_free(m);
			break;
		case HF_Q_FORMERR:
			ctr->formerr++;
			hf_reply_empty(w, m, p, &q[nq], HF_RCODE_FORMERR, false, HF_EDE_NONE, NULL,
				       0);
			break;
		case HF_Q_NOTIMP:
			ctr->notimp++;
			/* zone transfers parsed their question; other opcodes did not */
			hf_reply_empty(w, m, p, &q[nq], HF_RCODE_NOTIMP, q[nq].question_end != 0,
				       HF_EDE_NONE, NULL, 0);
			break;
		case HF_Q_REFUSED:
			ctr->refused++;
			hf_reply_empty(w, m, p, &q[nq], HF_RCODE_REFUSED, true, HF_EDE_NONE, NULL,
				       0);
			break;
		case HF_Q_BADVERS:
		default:
			ctr->badvers++;
			hf_reply_empty(w, m, p, &q[nq], HF_RCODE_BADVERS, true, HF_EDE_NONE, NULL,
				       0);
			break;
		}
	}
	if (nq == 0)
		return;
	/* The buckets were prefetched while the burst was parsed. The entries
	 * are loaded HF_ENTRY_AHEAD queries ahead of the one being answered:
	 * their misses overlap with that work, and no more of them are in
	 * flight than the core can track (all 32 at once stalled on it). */
	hf_cache_candidates(w->cache, hashes, nq, ents);
	for (unsigned i = 0; i < nq && i < HF_ENTRY_AHEAD; i++)
		if (ents[i] != NULL)
			hf_cache_entry_prefetch(ents[i]);
	for (unsigned i = 0; i < nq; i++) {
		if (i + HF_ENTRY_AHEAD < nq && ents[i + HF_ENTRY_AHEAD] != NULL)
			hf_cache_entry_prefetch(ents[i + HF_ENTRY_AHEAD]);
		ents[i] = hf_cache_confirm(w->cache, kp[i], hashes[i], ents[i]);
		if (HF_LIKELY(ents[i] != NULL))
			hf_act(w, qm[i], &pi[i], &q[i], kp[i], hashes[i], ents[i]);
		else
			miss[nmiss++] = (uint8_t)i;
	}
	for (unsigned j = 0; j < nmiss; j++) {
		unsigned i = miss[j];
		struct hf_cache_entry *e;
		/* Looks the key up again first: an earlier miss in this burst may
		 * have added it already. */
		e = hf_cache_add_pending(w->cache, kp[i], hashes[i], w->now_ms);
		if (HF_UNLIKELY(e == NULL)) {
			static const uint8_t full[] = "cache full";
			ctr->park_full++;
			hf_reply_empty(w, qm[i], &pi[i], &q[i], HF_RCODE_SERVFAIL, true,
				       HF_EDE_OTHER, full, sizeof(full) - 1);
			continue;
		}
		hf_act(w, qm[i], &pi[i], &q[i], kp[i], hashes[i], e);
	}
}

static void lookup_one(struct hf_worker *w, const struct hf_cache_key *k,
		       const struct hf_cache_entry *e, struct hf_msg_result *r)
{
	struct hf_lookup_entry *o;
	const struct hf_dns_answer *a;
	uint64_t now = w->now_ms;

	r->count++;
	if (r->n >= HF_LOOKUP_MAX)
		return;
	o = &r->e[r->n++];
	memset(o, 0, sizeof(*o));
	o->qtype = k->qtype;
	o->key_flags = k->flags;
	o->ede = HF_EDE_NONE;
	o->nwaiters = e->nwaiters;
	if (e->state != HF_ENTRY_READY) {
		o->state = HF_LOOKUP_PENDING;
		return;
	}
	a = hf_entry_ans(e);
	o->security = a->security;
	o->rcode = a->rcode;
	o->ans_flags = a->flags;
	o->ede = a->ede;
	if (now < e->expires_ms) {
		o->state = a->kind == HF_ANS_FAILURE ? HF_LOOKUP_FAILURE : HF_LOOKUP_FRESH;
		o->ttl_left = (uint32_t)((e->expires_ms - now + 999) / 1000);
	} else if (a->kind != HF_ANS_FAILURE && now < e->stale_until_ms) {
		o->state = HF_LOOKUP_STALE;
		o->ttl_left = (uint32_t)((e->stale_until_ms - now + 999) / 1000);
	} else {
		o->state = HF_LOOKUP_EXPIRED;
	}
}

/* Management lookup of one type: the four DO/CD variants, looked up directly. */
static void lookup_type(struct hf_worker *w, const struct hf_msg_ctl *msg, struct hf_msg_result *r)
{
	struct hf_cache_key k = msg->key;
	r->count = r->n = 0;
	for (uint8_t f = 0; f < 4; f++) {
		struct hf_cache_entry *e;
		k.flags = f;
		e = hf_cache_lookup(w->cache, &k, hf_cache_key_hash(&k));
		if (e != NULL)
			lookup_one(w, &k, e, r);
	}
}

/* Visit of a walk that looks a name up under every type. */
struct hf_lookup_walk {
	struct hf_worker *w;
	const struct hf_msg_ctl *msg;
	struct hf_msg_result *r;
};

static void lookup_visit(void *arg, const struct hf_cache_key *k, struct hf_cache_entry *e)
{
	struct hf_lookup_walk *lw = arg;
	if (hf_dns_name_equal(k->name, k->name_len, lw->msg->key.name, lw->msg->key.name_len))
		lookup_one(lw->w, k, e, lw->r);
}

/*
 * A FLUSH/NTA, a lookup without a type and a stale-window change walk the
 * whole cache; that is done HF_WALK_BUDGET slots per loop iteration so
 * packets keep flowing between slices (a 1M-entry cache would otherwise
 * stall the core for tens of milliseconds). Later control messages wait
 * until it is done, so they stay in order.
 */
#define HF_WALK_BUDGET 1024

/* Apply msg; false when it is a walk that is not finished yet. A walk
 * starts with w->walk zeroed and w->walking false (apply_pending keeps
 * both), so !w->walking marks its first slice. */
static bool apply_ctl(struct hf_worker *w, const struct hf_msg_ctl *msg)
{
	switch (msg->type) {
	case HF_MSG_FILL:
		/* aged from when control made it (never from the future) */
		hf_cache_fill(w->cache, &msg->key, msg->hash, &msg->ans,
			      msg->made_ms && msg->made_ms < w->now_ms ? msg->made_ms : w->now_ms,
			      hf_wake, w);
		w->ctr->fills++;
		break;
	case HF_MSG_FLUSH:
	case HF_MSG_NTA:
		if (!hf_cache_flush_step(w->cache, &w->walk, msg->all ? NULL : msg->key.name,
					 msg->all ? 0 : msg->key.name_len, msg->subtree,
					 (enum hf_flush_mode)msg->mode, HF_WALK_BUDGET, hf_wake, w))
			return false;
		if (msg->res != NULL)
			msg->res[w->idx].count = w->walk.count;
		break;
	case HF_MSG_CONFIG:
		/* a new stale window is written into every entry: in slices */
		if (!w->walking && !hf_cache_put_knobs(w->cache, &msg->conf))
			break;
		return hf_cache_rewindow_step(w->cache, &w->walk, HF_WALK_BUDGET);
	case HF_MSG_LOOKUP:
		if (msg->res == NULL)
			break;
		if (msg->mode == 1) {
			lookup_type(w, msg, &msg->res[w->idx]);
			break;
		}
		/* without a type: a walk over every slot, in slices */
		if (!w->walking)
			msg->res[w->idx].count = msg->res[w->idx].n = 0;
		{
			struct hf_lookup_walk lw = {w, msg, &msg->res[w->idx]};
			return hf_cache_walk_step(w->cache, &w->walk, HF_WALK_BUDGET, lookup_visit,
						  &lw);
		}
	default:
		break;
	}
	return true;
}

/* The cache gauges control reads (stats): every 1 ms, and before a
 * message is reported applied, so a stats request after a flush sees it. */
static void publish_gauges(struct hf_worker *w)
{
	struct hf_cache_stats st;
	hf_cache_get_stats(w->cache, &st);
	w->shared->waiters = st.waiters;
	w->shared->cache_entries = st.entries;
	w->ctr->cache_evictions = st.evictions;
}

/* Apply the held messages in order; false when a walk is still going. */
static bool apply_pending(struct hf_worker *w)
{
	uint16_t first = w->ipend;
	bool done = true;

	while (w->ipend < w->npend) {
		if (!apply_ctl(w, w->pend[w->ipend])) {
			w->walking = true; /* go on with it next time */
			done = false;
			break;
		}
		/* done: the next walk starts afresh (12 bytes, per message) */
		w->walking = false;
		memset(&w->walk, 0, sizeof(w->walk));
		w->ipend++;
	}
	/* Control may free everything up to this seq once every worker says so. */
	if (w->ipend > first) {
		publish_gauges(w);
		__atomic_store_n(&w->shared->applied_seq, w->pend[w->ipend - 1]->seq,
				 __ATOMIC_RELEASE);
	}
	return done;
}

void hf_worker_poll_control(struct hf_worker *w)
{
	if (HF_UNLIKELY(w->ipend < w->npend) && !apply_pending(w))
		return;
	w->npend = (uint16_t)rte_ring_dequeue_burst(w->from_control, (void **)w->pend, HF_BURST_MAX,
						    NULL);
	w->ipend = 0;
	if (HF_LIKELY(w->npend == 0))
		return;
	apply_pending(w);
}

void hf_worker_flush(struct hf_worker *w)
{
	for (unsigned p = 0; p < w->nports; p++) {
		struct hf_txq *q = &w->tx[p];
		uint16_t sent = 0;
		if (q->n == 0)
			continue;
		sent = rte_eth_tx_burst(w->ports[p].port_id, w->queue, q->pkts, q->n);
		if (HF_UNLIKELY(sent < q->n)) {
			w->ctr->drop_tx_full += q->n - sent;
			rte_pktmbuf_free_bulk(q->pkts + sent, q->n - sent);
		}
		q->n = 0;
	}
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
		uint16_t n = rte_eth_rx_burst(w->ports[p].port_id, w->queue, pkts, burst);
		if (n) {
			hf_worker_rx(w, pkts, n);
			got += n;
		}
	}
	if (w->exc_from != NULL) /* HF_EXC: what the kernel sent, out of our TX queues */
		hf_exc_worker_drain(w);
	if (HF_UNLIKELY(w->now_ms >= w->next_timer_ms)) {
		hf_cache_expire_waiters(w->cache, w->now_ms, hf_wake, w);
		publish_gauges(w);
		w->next_timer_ms = w->now_ms + 1;
	}
	hf_worker_flush(w);
	return got;
}

int hf_worker_main(void *arg)
{
	struct hf_worker *w = arg;
	uint32_t idle = 0;

	while (!*w->stop) {
		if (hf_worker_poll_once(w) == 0 && w->conf->idle_sleep_us) {
			if (++idle >= 1024) {
				rte_delay_us_sleep(w->conf->idle_sleep_us);
				idle = 1000;
			}
		} else {
			idle = 0;
		}
	}
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
	w->from_control = from_control;
	w->shared = shared;
	w->ctr = &shared->ctr;
	w->stop = stop;
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
	hf_exc_attach(conf->exc, w); /* HF_EXC: its rings, when the path is on */
	update_clock(w);
	return 0;
}

void hf_worker_fini(struct hf_worker *w)
{
	if (w->cache)
		hf_cache_destroy(w->cache);
	w->cache = NULL;
}
