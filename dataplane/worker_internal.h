/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: what the worker's files share (private to
 * dataplane/; the contract is hf_dataplane.h). worker.c is the loop,
 * worker_pkt.c one RX burst and the answers, arp_nd.c ARP and Neighbour
 * Discovery, worker_ctl.c the control messages. What runs per packet and
 * is used by more than one of them is here, static inline: where a frame's
 * headers are (hf_classify) and the TX queue.
 *
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
#ifndef HF_WORKER_INTERNAL_H
#define HF_WORKER_INTERNAL_H

#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "cache/hf_cache.h"
#include "dataplane/hf_cksum.h"
#include "dataplane/hf_dataplane.h"
#include "dataplane/hf_exception.h"
#include "dns/hf_dns.h"
#include "dns/hf_query.h"
#include "validator/hf_aggr.h"

#define DNS_PORT_BE RTE_BE16(53)

/* Where the parts of a received UDP/DNS packet are. */
struct hf_pkt {
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t dns_off;
	uint16_t dns_len;
	uint8_t ipv6;
	uint8_t ck; /* the answer carries a COOKIE: w->ck_opt[ck - 1]; 0: none */
};

/* The scratch of one synthesis on the core (worker_pkt.c hf_synth): the
 * response hf_aggr_synth writes, parsed, and the stored answer built from
 * it behind an entry's header and key, as a FILL would have put it into
 * the cache. Allocated at start-up. */
#define HF_SYNTH_WIRE 8192 /* as control's (control/fwd_internal.h synthbuf) */
struct hf_worker_synth {
	struct hf_dns_msg msg;
	uint8_t wire[HF_SYNTH_WIRE];
	uint8_t entry[HF_ENTRY_ANS_OFF(HF_DNS_NAME_MAX) + sizeof(struct hf_dns_answer) +
		      2u * HF_DNS_MSG_MAX_RR + HF_SYNTH_WIRE + 256u] __attribute__((aligned(64)));
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
		/* Only what the port verified; never our own check (docs/decisions.md). */
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

/* The cache gauges control reads (stats): every 1 ms, and before a
 * message is reported applied, so a stats request after a flush sees it. */
static inline void hf_publish_gauges(struct hf_worker *w)
{
	struct hf_cache_stats st;
	hf_cache_get_stats(w->cache, &st);
	w->shared->waiters = st.waiters;
	w->shared->cache_entries = st.entries;
	w->ctr->cache_evictions = st.evictions;
}

/* A MISS or REFRESH to the control thread its hash shards to; a full ring
 * is a counted drop (false). */
static inline bool hf_send_query(struct hf_worker *w, uint8_t type, const struct hf_cache_key *key,
				 uint32_t hash)
{
	struct hf_msg_query msg;
	msg.type = type;
	msg.worker = (uint8_t)w->idx;
	msg.pad = 0;
	msg.hash = hash;
	memcpy(&msg.key, key, HF_CACHE_KEY_HDR + key->name_len);
	if (HF_UNLIKELY(rte_ring_enqueue_elem(w->to_ctl[hf_msg_shard(hash, w->nctl)], &msg,
					      sizeof(msg)) != 0)) {
		w->ctr->drop_ring_full++;
		return false;
	}
	if (type == HF_MSG_MISS)
		w->ctr->misses++;
	else
		w->ctr->refreshes++;
	return true;
}

enum {
	HF_ACT_PARKED = -1,    /* the client waits in the cache (cookie) */
	HF_ACT_PARK_FULL = -2, /* no room to wait, nothing to fall back on: SERVFAIL */
	HF_ACT_RING_FULL = -3, /* the question could not go to control, nothing to fall back on */
};
static const uint8_t hf_park_full_text[] = "too many clients waiting"; /* its EDE 0 text */
static const uint8_t hf_ring_full_text[] = "resolver busy";	       /* HF_ACT_RING_FULL's */

/* The EDE 0 text of HF_ACT_PARK_FULL or HF_ACT_RING_FULL, and its length. */
static inline const uint8_t *hf_act_full_text(int how, uint16_t *len)
{
	*len = how == HF_ACT_RING_FULL ? sizeof(hf_ring_full_text) - 1
				       : sizeof(hf_park_full_text) - 1;
	return how == HF_ACT_RING_FULL ? hf_ring_full_text : hf_park_full_text;
}

/*
 * What a query that found e (never NULL) gets, however it came (UDP here,
 * TCP/TLS in transport.c): the cache decides, the MISS or REFRESH it asks
 * for is sent, and the result is counted. Returns the wake mode to answer
 * from e with at once (a hit, or with no room to wait the stale or failure
 * answer there is), HF_ACT_PARKED when the client now waits as cookie (a
 * NULL cookie: no room), or HF_ACT_PARK_FULL (answer SERVFAIL, EDE 0
 * hf_park_full_text: nothing timed out, so not EDE 22). A question the
 * ring to control had no room for is not out: the entry does not wait for
 * it (the next query asks again), and no client is parked on it; with
 * nothing to fall back on that is HF_ACT_RING_FULL (SERVFAIL, EDE 0
 * hf_ring_full_text), at once rather than at the miss timeout.
 */
static inline __attribute__((always_inline)) int hf_act_on(struct hf_worker *w,
							   struct hf_cache_entry *e,
							   const struct hf_cache_key *key,
							   uint32_t hash, void *cookie)
{
	struct hf_cache_decision d = hf_cache_decide(w->cache, e, w->now_ms);
	enum hf_wake_mode mode;

	if (d.send_query &&
	    HF_UNLIKELY(!hf_send_query(
		    w, e->state == HF_ENTRY_PENDING ? HF_MSG_MISS : HF_MSG_REFRESH, key, hash))) {
		e->refresh_pending = 0;
		if (d.action == HF_ACT_WAIT) {
			mode = hf_cache_fallback(w->cache, e, w->now_ms);
			return mode == HF_WAKE_TIMEOUT ? HF_ACT_RING_FULL : (int)mode;
		}
	}
	/* stale answers of every kind are also in ede[3] / ede[19] */
	if (HF_LIKELY(d.action != HF_ACT_WAIT)) {
		if (HF_LIKELY(d.action == HF_ACT_FRESH))
			w->ctr->hits_fresh++;
		else if (d.action == HF_ACT_STALE)
			w->ctr->hits_stale++;
		else
			w->ctr->hits_failure++;
		return d.action;
	}
	if (HF_LIKELY(cookie != NULL && hf_cache_park(w->cache, e, cookie, w->now_ms) == 0)) {
		w->ctr->parked++;
		return HF_ACT_PARKED;
	}
	w->ctr->park_full++;
	mode = hf_cache_fallback(w->cache, e, w->now_ms);
	return mode == HF_WAKE_TIMEOUT ? HF_ACT_PARK_FULL : (int)mode;
}

/*
 * The COOKIE step (dataplane/hf_cookie.h) of a parsed query whose COOKIE
 * option is at q->cookie_off in msg, from addr (4 or 16 bytes), with
 * cookies on: the verdict, counted when count (once per query), and in out
 * (HF_COOKIE_OPT_LEN) the option data its answer carries. UDP here, TCP
 * and TLS in transport.c.
 */
static inline enum hf_cookie_verdict hf_cookie_step(struct hf_worker *w, const uint8_t *msg,
						    const struct hf_query *q, const uint8_t *addr,
						    unsigned addr_len, uint8_t *out, bool count)
{
	enum hf_cookie_verdict v =
		hf_cookie_check(&w->cookie, msg + q->cookie_off, q->cookie_len, addr, addr_len,
				hf_cookie_now(&w->cookie, w->now_ms), out);
	if (count) {
		w->ctr->cookies++;
		if (v == HF_COOKIE_VALID)
			w->ctr->cookies_valid++;
		else if (v == HF_COOKIE_INVALID)
			w->ctr->cookies_invalid++;
	}
	return v;
}

/* arp_nd.c. Cold: called from hf_worker_rx's loop, where inlined (before
 * the split) they cost nothing on the DNS path; as plain calls they made
 * the 100k per-core rate 4-20% slower in alternating runs (the loop laid
 * out around them); marked cold, the loop is as fast as before. */
__attribute__((cold)) void hf_arp(struct hf_worker *w, struct rte_mbuf *m, const struct hf_pkt *pi);
__attribute__((cold)) void hf_nd(struct hf_worker *w, struct rte_mbuf *m, const struct hf_pkt *pi);

/* worker_pkt.c: the hf_wake_fn of the worker's cache (cookie: a parked mbuf) */
void hf_wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode);

#endif
