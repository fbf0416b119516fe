/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: one RX burst (parse, bulk cache lookup, act on the
 * cache's decision) and the answers built in place; also the wake of a
 * parked client.
 */
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "cache/hf_reply.h"
#include "dns/hf_query.h"

#include "dataplane/hf_acl.h"
#include "dataplane/worker_internal.h"

/* How many queries ahead of the one being answered its cache entry is loaded */
#define HF_ENTRY_AHEAD 6

_Static_assert(HF_BURST_MAX <= 256, "miss indexes are uint8_t");
/* hf_act answers a hit with the wake mode of its action's number */
_Static_assert((int)HF_ACT_FRESH == (int)HF_WAKE_FRESH && (int)HF_ACT_STALE == (int)HF_WAKE_STALE &&
		       (int)HF_ACT_FAILURE == (int)HF_WAKE_FAILURE,
	       "hit actions are wake modes");

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

static inline struct hf_reply_env reply_env(struct hf_worker *w)
{
	return (struct hf_reply_env){w->conf->edns_buffer_size, w->now_ms, w->cache, w->ctr};
}

/* The largest answer m may carry to this client, less the room of its
 * COOKIE option when it gets one (pi->ck). */
static inline uint32_t answer_limit(const struct hf_worker *w, const struct rte_mbuf *m,
				    const struct hf_pkt *pi, const struct hf_query *q)
{
	uint32_t limit = HF_MIN(dns_room(m, pi), client_limit(w, q));
	return HF_UNLIKELY(pi->ck != 0) ? limit - 4 - HF_COOKIE_OPT_LEN : limit;
}

/* Send the answer of len bytes built in m, its COOKIE appended to its OPT
 * (at opt_off, 0: none) when it gets one. */
static inline __attribute__((always_inline)) void answer_send(struct hf_worker *w,
							      struct rte_mbuf *m, struct hf_pkt *pi,
							      uint32_t len, uint32_t opt_off)
{
	if (HF_UNLIKELY(pi->ck != 0) && opt_off != 0)
		len = hf_reply_opt_append(rte_pktmbuf_mtod_offset(m, uint8_t *, pi->dns_off), len,
					  opt_off, HF_EDNS_OPT_COOKIE, w->ck_opt[pi->ck - 1],
					  HF_COOKIE_OPT_LEN);
	hf_turn_around(w, m, pi, len);
	tx_enqueue(w, m);
}

/* An answer without records (cache/hf_reply.h), sent back in m; with
 * extra_flags (TC) set in its header. */
static void hf_reply_empty_flags(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi,
				 const struct hf_query *q, unsigned rcode, bool with_question,
				 uint16_t ede, const uint8_t *text, uint16_t text_len,
				 uint16_t extra_flags)
{
	struct hf_reply_env env = reply_env(w);
	uint8_t *d = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->dns_off);
	uint32_t opt_off;
	uint32_t len = hf_reply_build_empty(d, answer_limit(w, m, pi, q), &env, q, rcode,
					    with_question, ede, text, text_len, &opt_off);
	hf_put16(d + 2, hf_get16(d + 2) | extra_flags);
	answer_send(w, m, pi, len, opt_off);
}

static void hf_reply_empty(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi,
			   const struct hf_query *q, unsigned rcode, bool with_question,
			   uint16_t ede, const uint8_t *text, uint16_t text_len)
{
	hf_reply_empty_flags(w, m, pi, q, rcode, with_question, ede, text, text_len, 0);
}

/* An answer from a cache entry in `mode` (cache/hf_reply.h), sent back in m. */
static inline __attribute__((always_inline)) void
hf_reply_entry(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi, const struct hf_query *q,
	       const struct hf_cache_entry *e, enum hf_wake_mode mode)
{
	struct hf_reply_env env = reply_env(w);
	uint32_t opt_off;
	uint32_t len = hf_reply_build_entry(rte_pktmbuf_mtod_offset(m, uint8_t *, pi->dns_off),
					    answer_limit(w, m, pi, q), &env, q, e, mode, &opt_off);
	answer_send(w, m, pi, len, opt_off);
}

/*
 * The COOKIE step for a UDP query (hf_cookie_step): the client's address
 * from the packet; the answer's option data in w->ck_opt[slot] (pi->ck).
 * Only for a query with a COOKIE while cookies are on.
 */
static __attribute__((noinline)) enum hf_cookie_verdict
hf_pkt_cookie(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi, const struct hf_query *q,
	      unsigned slot, bool count)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	const uint8_t *addr =
		pi->ipv6 ? ((const struct rte_ipv6_hdr *)l3)->src_addr
			 : (const uint8_t *)&((const struct rte_ipv4_hdr *)l3)->src_addr;
	enum hf_cookie_verdict v =
		hf_cookie_step(w, rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->dns_off), q, addr,
			       pi->ipv6 ? 16 : 4, w->ck_opt[slot], count);
	pi->ck = (uint8_t)(slot + 1);
	return v;
}

/* BADCOOKIE (RFC 7873 5.2.3): the question, and the server cookie to
 * retry with (pi->ck). */
static __attribute__((cold, noinline)) void hf_reply_badcookie(struct hf_worker *w,
							       struct rte_mbuf *m,
							       struct hf_pkt *pi,
							       const struct hf_query *q)
{
	w->ctr->badcookie++;
	hf_reply_empty(w, m, pi, q, HF_RCODE_BADCOOKIE, true, HF_EDE_NONE, NULL, 0);
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
void hf_wake(void *arg, void *cookie, struct hf_cache_entry *e, enum hf_wake_mode mode)
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
	pi.ck = 0;
	if (HF_UNLIKELY(q.cookie_off != 0) && w->cookie.on) /* counted when it came */
		hf_pkt_cookie(w, m, &pi, &q, HF_BURST_MAX, false);
	hf_reply_mode(w, m, &pi, &q, e, mode);
}

/*
 * access-control for a parsed (or not) query: true to go on with it; else
 * it was dropped or answered REFUSED with EDE 18 (Prohibited). Cold: only
 * with rules configured.
 */
static __attribute__((cold, noinline)) bool hf_acl_pass(struct hf_worker *w, struct rte_mbuf *m,
							struct hf_pkt *pi, const struct hf_query *q,
							enum hf_query_verdict v)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	enum hf_acl_action act =
		pi->ipv6 ? hf_acl_v6(w->conf->acl, ((const struct rte_ipv6_hdr *)l3)->src_addr)
			 : hf_acl_v4(w->conf->acl, ((const struct rte_ipv4_hdr *)l3)->src_addr);
	if (HF_LIKELY(act == HF_ACL_ALLOW))
		return true;
	if (act == HF_ACL_DROP || v == HF_Q_DROP) {
		w->ctr->drop_acl++;
		rte_pktmbuf_free(m);
		return false;
	}
	w->ctr->acl_refused++;
	hf_reply_empty(w, m, pi, q, HF_RCODE_REFUSED, v == HF_Q_OK, HF_EDE_PROHIBITED, NULL, 0);
	return false;
}

/*
 * Response rate limiting (hf_rrl.h) for a query that gets an answer: true
 * to answer it; else the answer was dropped, or slipped: sent empty with
 * TC=1 (the question echoed when it parsed), or as BADCOOKIE with a server
 * cookie when the query had a cookie but no valid server cookie (cv): that
 * client retries over UDP with it and is exempt then. Only with rrl-rate
 * set; a valid server cookie never comes here.
 */
static __attribute__((noinline)) bool hf_rrl_pass(struct hf_worker *w, struct rte_mbuf *m,
						  struct hf_pkt *pi, const struct hf_query *q,
						  enum hf_query_verdict v,
						  enum hf_cookie_verdict cv)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	const struct hf_rrl_conf *rc = &w->conf->rrl;
	uint64_t key =
		pi->ipv6 ? hf_rrl_key6(((const struct rte_ipv6_hdr *)l3)->src_addr, rc->plen6)
			 : hf_rrl_key4(((const struct rte_ipv4_hdr *)l3)->src_addr, rc->plen4);
	enum hf_rrl_verdict r = hf_rrl_check(w->rrl, rc, key, (uint32_t)(w->now_ms / 1000));

	if (HF_LIKELY(r == HF_RRL_PASS))
		return true;
	if (r == HF_RRL_DROP) {
		w->ctr->drop_rrl++;
		rte_pktmbuf_free(m);
		return false;
	}
	w->ctr->rrl_slipped++;
	if (cv != HF_COOKIE_NONE)
		hf_reply_badcookie(w, m, pi, q);
	else
		hf_reply_empty_flags(w, m, pi, q, HF_RCODE_NOERROR, v == HF_Q_OK, HF_EDE_NONE, NULL,
				     0, HF_DNS_TC);
	return false;
}

/*
 * RFC 8198 on the core: a miss that the core's copy of the validated NSECs
 * answers (NXDOMAIN or NODATA), written into m as the answer control's
 * synthesis and FILL would have had from the cache: the same response
 * (hf_aggr_synth is hf_val_synth's code), the same stored answer
 * (hf_dns_answer_build with control's limits, SECURE, EDE 29), not aged.
 * Never sent to control. A NODATA is then cached on this core, as control's
 * FILL would have been (a name that exists, asked for a type it lacks, is
 * asked again: AAAA of an IPv4-only name); an NXDOMAIN is not, so a flood
 * of random names takes no cache slot. False when nothing kept proves it.
 * CD=1 and classes other than IN never, as on control (names under an NTA
 * are not in the store: hf_aggr_flush_nta). Cold, like hf_arp: misses
 * only, laid out away from the hit path.
 */
static __attribute__((cold, noinline)) bool hf_synth(struct hf_worker *w, struct rte_mbuf *m,
						     struct hf_pkt *pi, const struct hf_query *q,
						     const struct hf_cache_key *k, uint32_t hash)
{
	const struct hf_msg_aggr *kn = &w->aggr_knobs;
	struct hf_worker_synth *s = w->synth;
	struct hf_cache_entry *e = (struct hf_cache_entry *)(void *)s->entry;
	struct hf_dns_answer_limits lim = {
		.max_ttl = kn->max_ttl,
		.min_ttl = kn->min_ttl,
		.max_negative_ttl = kn->max_negative_ttl,
		.strip_dnssec = !(k->flags & HF_KEY_DO),
	};
	int n;

	if (!kn->on || (k->flags & HF_KEY_CD) || k->qclass != HF_CLASS_IN)
		return false;
	n = hf_aggr_synth(w->aggr, k->name, k->name_len, k->qtype, w->now_ms / 1000, s->wire,
			  sizeof(s->wire));
	e->inserted_ms = w->now_ms;
	e->key[0] = k->name_len;
	if (n <= 0 || hf_aggr_answer(s->wire, (size_t)n, &lim, &s->msg, (uint8_t *)hf_entry_ans(e),
				     sizeof(s->entry) - HF_ENTRY_ANS_OFF(k->name_len)) < 0)
		return false;
	if (s->msg.rcode == HF_RCODE_NXDOMAIN) {
		w->ctr->synth_nxdomain++;
	} else {
		w->ctr->synth_nodata++;
		hf_cache_fill(w->cache, k, hash, hf_entry_ans(e), w->now_ms, w->wake, w);
	}
	hf_reply_entry(w, m, pi, q, e, HF_WAKE_FRESH);
	return true;
}

/*
 * fetches-per-zone on the core: a miss one label below a zone control
 * refused a question in less than HF_ZONE_MARK_MS ago gets the same
 * SERVFAIL (EDE 0, control's text) here, with no cache entry, no parked
 * client and no MISS: a flood of <random>.victim stays off the cache, the
 * waiters and the ring. In the grace after (hf_dataplane.h, struct
 * hf_zone_mark) HF_ZONE_PROBES misses go on to control, to be refused
 * (which renews the mark) or resolved, and the rest are refused here. One
 * label below only: that is the zone control counts such a name against
 * whatever it knows (control/fwd_table.c), while a deeper name may belong
 * to a cut below the zone. Cold, like hf_synth: misses only, and only
 * while a mark or its grace is live.
 */
static __attribute__((cold, noinline)) bool hf_zone_limited(struct hf_worker *w, struct rte_mbuf *m,
							    struct hf_pkt *pi,
							    const struct hf_query *q,
							    const struct hf_cache_key *k)
{
	size_t off = (size_t)k->name[0] + 1;

	if (k->name_len <= off)
		return false;
	for (unsigned i = 0; i < HF_ZONE_MARKS; i++) {
		struct hf_zone_mark *z = &w->zmark[i];
		if (hf_zone_mark_end(z) <= w->now_ms || z->len != k->name_len - off ||
		    memcmp(z->name, k->name + off, z->len) != 0)
			continue;
		if (z->until_ms <= w->now_ms && z->probes > 0) {
			z->probes--; /* the grace: to control */
			return false;
		}
		w->ctr->fetch_limited_zone++;
		hf_reply_empty(w, m, pi, q, HF_RCODE_SERVFAIL, true, HF_EDE_OTHER, z->text,
			       z->text_len);
		return true;
	}
	return false;
}

/* Act on a cache decision for one query (the entry is never NULL). */
static void hf_act(struct hf_worker *w, struct rte_mbuf *m, struct hf_pkt *pi,
		   const struct hf_query *q, const struct hf_cache_key *key, uint32_t hash,
		   struct hf_cache_entry *e)
{
	/* hits answered at once: FRESH, STALE and FAILURE are the wake modes
	 * of the same names, so one inlined reply serves the three */
	int how = hf_act_on(w, e, key, hash, m);
	if (HF_LIKELY(how >= 0))
		hf_reply_entry(w, m, pi, q, e, (enum hf_wake_mode)how);
	else if (how != HF_ACT_PARKED) {
		uint16_t len;
		const uint8_t *text = hf_act_full_text(how, &len);
		hf_reply_empty(w, m, pi, q, HF_RCODE_SERVFAIL, true, HF_EDE_OTHER, text, len);
	}
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
		enum hf_cookie_verdict cv = HF_COOKIE_NONE;

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
		p->ck = 0;
		if (HF_UNLIKELY(w->conf->acl != NULL) && !hf_acl_pass(w, m, p, &q[nq], v))
			continue;
		/* DNS cookies: the answer to a query with one carries a server
		 * cookie; a valid one exempts it from rate limiting */
		if (HF_UNLIKELY(q[nq].cookie_off != 0) && v == HF_Q_OK && w->cookie.on)
			cv = hf_pkt_cookie(w, m, p, &q[nq], nq, true);
		if (HF_UNLIKELY(w->rrl != NULL) && v != HF_Q_DROP && cv != HF_COOKIE_VALID &&
		    !hf_rrl_pass(w, m, p, &q[nq], v, cv))
			continue;
		if (HF_UNLIKELY(cv != HF_COOKIE_NONE && cv != HF_COOKIE_VALID) &&
		    w->cookie.required) {
			hf_reply_badcookie(w, m, p, &q[nq]);
			continue;
		}
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
		/* a name the core's validated NSECs deny: answered here */
		if (w->aggr != NULL && hf_synth(w, qm[i], &pi[i], &q[i], kp[i], hashes[i]))
			continue;
		/* a zone at its fetches-per-zone limit: refused here */
		if (HF_UNLIKELY(w->zmark_until > w->now_ms) &&
		    hf_zone_limited(w, qm[i], &pi[i], &q[i], kp[i]))
			continue;
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
