/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: ARP requests and IPv6 Neighbour Solicitations for
 * the service addresses, answered in place.
 */
#include <rte_arp.h>
#include <rte_icmp.h>

#include "dataplane/worker_internal.h"

/* ARP request for one of our IPv4 addresses -> reply in place. */
void hf_arp(struct hf_worker *w, struct rte_mbuf *m, const struct hf_pkt *pi)
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
void hf_nd(struct hf_worker *w, struct rte_mbuf *m, const struct hf_pkt *pi)
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
