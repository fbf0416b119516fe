/* SPDX-License-Identifier: BSD-3-Clause */
/* Port and queue set-up: start-up only, never on the packet path. */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "hf_dataplane.h"

#define NB_RXD 1024
#define NB_TXD 1024

static unsigned pool_size(const struct hf_dp_conf *conf, unsigned nports)
{
	/* every descriptor, every parked client, bursts in flight, and the
	 * per-lcore cache; rounded to 2^n - 1 as rte_mempool likes */
	unsigned need = nports * (NB_RXD + NB_TXD) + conf->waiters + 4 * HF_BURST_MAX + 512;
	unsigned n = 1;
	while (n - 1 < need)
		n <<= 1;
	return n - 1;
}

int hf_ports_init(const struct hf_dp_conf *conf, struct hf_port *ports, unsigned *nports,
		  struct rte_mempool **pools, char *err, size_t errlen)
{
	uint16_t pid;
	unsigned np = 0;
	uint16_t dataroom;
	uint32_t nq = conf->nb_queues;

	RTE_ETH_FOREACH_DEV(pid)
	{
		if (np == HF_MAX_PORTS) {
			snprintf(err, errlen, "more than %d ports", HF_MAX_PORTS);
			return hf_error(HF_EINVAL);
		}
		ports[np++].port_id = pid;
	}
	if (np == 0) {
		snprintf(err, errlen,
			 "no DPDK port: give one with -a <pci> or --vdev (e.g. "
			 "--vdev=net_af_packet0,iface=eth1)");
		return hf_error(HF_EINVAL);
	}
	/* Large enough for the largest answer we send plus all headers. */
	dataroom = (uint16_t)(RTE_PKTMBUF_HEADROOM +
			      HF_MAX(2048u, (unsigned)conf->edns_buffer_size + 128u));
	for (unsigned q = 0; q < nq; q++) {
		char name[32];
		snprintf(name, sizeof(name), "hf_mbuf_%u", q);
		pools[q] = rte_pktmbuf_pool_create(name, pool_size(conf, np), 256, 0, dataroom,
						   rte_socket_id());
		if (pools[q] == NULL) {
			snprintf(err, errlen, "cannot create mbuf pool %s: %s (raise -m?)", name,
				 rte_strerror(rte_errno));
			return hf_error(HF_ENOMEM);
		}
	}
	for (unsigned i = 0; i < np; i++) {
		struct hf_port *p = &ports[i];
		struct rte_eth_dev_info info;
		struct rte_eth_conf pc;
		uint16_t nb_rxd = NB_RXD, nb_txd = NB_TXD;
		int rc;

		memset(&pc, 0, sizeof(pc));
		rc = rte_eth_dev_info_get(p->port_id, &info);
		if (rc != 0) {
			snprintf(err, errlen, "port %u: cannot read device info: %s", p->port_id,
				 rte_strerror(-rc));
			return hf_error(HF_EIO);
		}
		if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
			snprintf(err, errlen,
				 "port %u (%s): %u queue pairs needed (one per worker) but it has "
				 "at most %u RX / %u TX (for af_packet add qpairs=%u to the vdev)",
				 p->port_id, info.driver_name, nq, info.max_rx_queues,
				 info.max_tx_queues, nq);
			return hf_error(HF_EINVAL);
		}
		if (nq > 1 && info.flow_type_rss_offloads) {
			pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			pc.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) &
							 info.flow_type_rss_offloads;
		}
		{
			uint64_t want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
			p->tx_cksum_offload = (info.tx_offload_capa & want) == want;
			if (p->tx_cksum_offload)
				pc.txmode.offloads |= want;
		}
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM)
			pc.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
		rc = rte_eth_dev_configure(p->port_id, (uint16_t)nq, (uint16_t)nq, &pc);
		if (rc == 0)
			rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
		for (unsigned q = 0; rc == 0 && q < nq; q++) {
			rc = rte_eth_rx_queue_setup(p->port_id, (uint16_t)q, nb_rxd,
						    rte_eth_dev_socket_id(p->port_id), NULL,
						    pools[q]);
			if (rc == 0)
				rc = rte_eth_tx_queue_setup(p->port_id, (uint16_t)q, nb_txd,
							    rte_eth_dev_socket_id(p->port_id),
							    NULL);
		}
		if (rc == 0)
			rc = rte_eth_macaddr_get(p->port_id, &p->mac);
		if (rc == 0)
			rc = rte_eth_dev_start(p->port_id);
		if (rc != 0) {
			snprintf(err, errlen, "port %u (%s): set-up failed: %s", p->port_id,
				 info.driver_name, rte_strerror(-rc));
			return hf_error(HF_EIO);
		}
		/* Neighbour solicitations go to multicast MACs. */
		rte_eth_promiscuous_enable(p->port_id);
	}
	*nports = np;
	return 0;
}

void hf_ports_close(const struct hf_port *ports, unsigned nports)
{
	for (unsigned i = 0; i < nports; i++) {
		rte_eth_dev_stop(ports[i].port_id);
		rte_eth_dev_close(ports[i].port_id);
	}
}
