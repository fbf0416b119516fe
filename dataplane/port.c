/* SPDX-License-Identifier: BSD-3-Clause */
/* Port and queue set-up: start-up only, never on the packet path. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#include "dataplane/hf_dataplane.h"
#include "dataplane/hf_exception.h"

#define NB_RXD 1024
#define NB_TXD 1024

static unsigned pool_size(const struct hf_dp_conf *conf, unsigned nports)
{
	/* every descriptor, every parked client, bursts in flight, and the
	 * per-lcore cache; rounded to 2^n - 1 as rte_mempool likes */
	unsigned need = nports * (NB_RXD + NB_TXD) + conf->waiters + 4 * HF_BURST_MAX + 512 +
			(conf->exc_ifname[0] ? HF_EXC_RING : 0); /* HF_EXC: frames for the kernel */
	unsigned n = 1;
	while (n - 1 < need)
		n <<= 1;
	return n - 1;
}

/*
 * Packet buffers for one queue. For net_af_xdp they are packed back to
 * back (RTE_MEMPOOL_F_NO_IOVA_CONTIG: no gap before a page boundary).
 * DPDK 22.11's driver registers "populated size x object size" bytes from
 * the first object as the socket's UMEM, and the kernel takes a fill-ring
 * entry that points past it and drops it without a trace. With the
 * default layout (without hugepages, one 2,368-byte object per 4 KiB page)
 * every buffer past the first 58% of the pool was lost the first time a
 * burst of parked clients pushed it through the port, and RX stopped for
 * good once the fill ring's 2,048 were gone (docs/decisions.md).
 */
static struct rte_mempool *pool_create(const char *name, unsigned n, uint16_t dataroom, bool packed)
{
	struct rte_pktmbuf_pool_private priv = {.mbuf_data_room_size = dataroom};
	struct rte_mempool *mp;
	int err;

	if (!packed)
		return rte_pktmbuf_pool_create(name, n, 256, 0, dataroom, rte_socket_id());
	mp = rte_mempool_create_empty(name, n, (unsigned)sizeof(struct rte_mbuf) + dataroom, 256,
				      sizeof(priv), rte_socket_id(), RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	err = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (err == 0) {
		rte_pktmbuf_pool_init(mp, &priv);
		err = rte_mempool_populate_default(mp);
	}
	if (err < 0) {
		rte_mempool_free(mp);
		rte_errno = -err;
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

struct span {
	uintptr_t lo, hi;
};

static void span_visit(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct span *s = arg;
	uintptr_t a = (uintptr_t)obj;
	(void)mp;
	(void)idx;
	s->lo = HF_MIN(s->lo, a);
	s->hi = HF_MAX(s->hi, a);
}

/* Does every object lie inside the UMEM net_af_xdp registers for mp? */
static bool pool_fits_umem(struct rte_mempool *mp)
{
	struct span s = {UINTPTR_MAX, 0};
	size_t obj = (size_t)mp->header_size + mp->elt_size + mp->trailer_size;
	rte_mempool_obj_iter(mp, span_visit, &s);
	return mp->nb_mem_chunks == 1 && s.hi >= s.lo &&
	       s.hi - s.lo + obj <= (size_t)mp->populated_size * obj;
}

/*
 * One holdfast per kernel interface. A PCI port is held by its driver, but
 * af_packet and af_xdp sit on a kernel interface that a second process
 * can open too: with af_packet both would answer every query (two answers
 * per client). An exclusive lock on a file named after the interface index
 * is held for the life of the process (the kernel drops it when the
 * process dies, even by SIGKILL). 0, or -1 with err set.
 */
static int lock_interface(unsigned if_index, const char *port, char *err, size_t errlen)
{
	char path[64], ifname[IF_NAMESIZE] = "?", pid[32];
	const char *dir = access("/run/lock", W_OK) == 0 ? "/run/lock" : "/tmp";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/holdfast-if%u.lock", dir, if_index);
	if_indextoname(if_index, ifname);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "port %s: cannot open %s: %s", port, path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen,
			 "port %s: interface %s is already driven by another holdfast (pid %s, "
			 "lock %s): two would both answer every query",
			 port, ifname, pid[0] ? pid : "?", path);
		close(fd);
		return -1;
	}
	/* the pid only serves the message above: a failed write is no error */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	(void)!ftruncate(fd, 0);
	(void)!pwrite(fd, pid, (size_t)n, 0);
	return 0; /* fd stays open: the lock lives as long as the process */
}

/*
 * RSS: with n > 1 queue pairs the port hashes each frame's IP addresses
 * and UDP ports (Toeplitz, keyed by rss-key or the PMD's own key), and its
 * redirection table (RETA) maps the hash to a queue. holdfast fills the
 * table round robin (entry i -> queue i mod n), so each worker takes an
 * equal share of the hash space whatever the PMD's default is. A port
 * without RSS offloads spreads in the kernel (net_af_packet: the
 * PACKET_FANOUT flow hash; net_af_xdp: the NIC driver's RSS, which
 * `ethtool -X` sets): it gets no RSS configuration, and rss-key for it
 * stops start-up instead of doing nothing.
 */
int hf_port_rss_conf(const struct hf_dp_conf *conf, uint16_t port_id,
		     const struct rte_eth_dev_info *info, struct rte_eth_conf *pc, char *err,
		     size_t errlen)
{
	const char *drv = info->driver_name ? info->driver_name : "?";

	if (conf->nb_queues < 2) /* one queue: nothing to spread, rss-key unused */
		return 0;
	if (info->flow_type_rss_offloads == 0) {
		if (conf->rss_key_len == 0)
			return 0;
		snprintf(err, errlen,
			 "rss-key: port %u (%s) does not hash in DPDK: the kernel spreads its "
			 "queues (af_packet: PACKET_FANOUT's flow hash; af_xdp: the NIC's RSS, "
			 "set with ethtool -X IFACE hkey KEY)",
			 port_id, drv);
		return -1;
	}
	pc->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	pc->rx_adv_conf.rss_conf.rss_hf =
		(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info->flow_type_rss_offloads;
	if (conf->rss_key_len == 0)
		return 0;
	if (conf->rss_key_len != info->hash_key_size) {
		snprintf(err, errlen, "rss-key: port %u (%s) takes a %u-byte key, rss-key has %u",
			 port_id, drv, info->hash_key_size, conf->rss_key_len);
		return -1;
	}
	/* rte_eth_conf's key is not const, but ethdev only reads it */
	pc->rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)conf->rss_key;
	pc->rx_adv_conf.rss_conf.rss_key_len = conf->rss_key_len;
	return 0;
}

void hf_port_reta_fill(struct rte_eth_rss_reta_entry64 *reta, uint16_t reta_size, uint32_t nq)
{
	for (unsigned i = 0; i < reta_size; i++) {
		struct rte_eth_rss_reta_entry64 *g = &reta[i / RTE_ETH_RETA_GROUP_SIZE];
		g->mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
		g->reta[i % RTE_ETH_RETA_GROUP_SIZE] = (uint16_t)(i % nq);
	}
}

#define RETA_MAX 4096 /* the largest table we program (ice: 2048) */

/*
 * After start: the round-robin RETA, and the key read back when rss-key
 * is set (a PMD may take a key at configure and hash with its own: net_tap
 * does, its key is built into its eBPF program). A PMD without a table to
 * set keeps its own. 0, or -1 with err set.
 */
static int rss_after_start(const struct hf_dp_conf *conf, uint16_t port_id,
			   const struct rte_eth_dev_info *info, char *err, size_t errlen)
{
	static struct rte_eth_rss_reta_entry64 reta[RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	const char *drv = info->driver_name ? info->driver_name : "?";
	struct rte_eth_rss_conf got;
	uint8_t key[HF_RSS_KEY_MAX];
	int rc;

	if (conf->nb_queues < 2 || info->flow_type_rss_offloads == 0)
		return 0;
	if (info->reta_size > 0 && info->reta_size <= RETA_MAX) {
		memset(reta, 0, sizeof(reta));
		hf_port_reta_fill(reta, info->reta_size, conf->nb_queues);
		rc = rte_eth_dev_rss_reta_update(port_id, reta, info->reta_size);
		if (rc != 0 && rc != -ENOTSUP) {
			snprintf(err, errlen, "port %u (%s): cannot set its %u-entry RSS table: %s",
				 port_id, drv, info->reta_size, rte_strerror(-rc));
			return -1;
		}
	}
	if (conf->rss_key_len == 0)
		return 0;
	memset(&got, 0, sizeof(got));
	got.rss_key = key;
	got.rss_key_len = sizeof(key);
	rc = rte_eth_dev_rss_hash_conf_get(port_id, &got);
	if (rc != 0) {
		snprintf(err, errlen,
			 "rss-key: port %u (%s) does not tell the key it hashes with (%s), so "
			 "rss-key would not be known to apply",
			 port_id, drv, rte_strerror(-rc));
		return -1;
	}
	if (memcmp(key, conf->rss_key, conf->rss_key_len) != 0) {
		snprintf(err, errlen, "rss-key: port %u (%s) hashes with a key other than rss-key",
			 port_id, drv);
		return -1;
	}
	return 0;
}

int hf_ports_init(const struct hf_dp_conf *conf, struct hf_port *ports, unsigned *nports,
		  struct rte_mempool **pools, char *err, size_t errlen)
{
	uint16_t pid;
	unsigned np = 0;
	uint16_t dataroom;
	uint32_t nq = conf->nb_queues;
	bool af_xdp = false;

	RTE_ETH_FOREACH_DEV(pid)
	{
		if (np == HF_MAX_PORTS) {
			snprintf(err, errlen, "more than %d ports", HF_MAX_PORTS);
			return hf_error(HF_EINVAL);
		}
		ports[np++].port_id = pid;
		{
			struct rte_eth_dev_info info;
			bool x = rte_eth_dev_info_get(pid, &info) == 0 &&
				 info.driver_name != NULL &&
				 strcmp(info.driver_name, "net_af_xdp") == 0;
			if (!x && conf->xdp_exception) {
				snprintf(err, errlen,
					 "xdp-exception: port %u (%s) is not net_af_xdp: only an "
					 "AF_XDP port passes frames to the kernel; use "
					 "exception-interface",
					 pid, info.driver_name ? info.driver_name : "?");
				return hf_error(HF_EINVAL);
			}
			af_xdp |= x;
		}
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
		pools[q] = pool_create(name, pool_size(conf, np), dataroom, af_xdp);
		if (pools[q] == NULL) {
			snprintf(err, errlen, "cannot create mbuf pool %s: %s (raise -m?)", name,
				 rte_strerror(rte_errno));
			return hf_error(HF_ENOMEM);
		}
		if (af_xdp && !pool_fits_umem(pools[q])) {
			snprintf(err, errlen,
				 "mbuf pool %s spans more memory than the UMEM net_af_xdp makes of "
				 "it: the buffers past the UMEM's end would be lost",
				 name);
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
		if (info.if_index != 0) {
			char name[RTE_ETH_NAME_MAX_LEN] = "?";
			rte_eth_dev_get_name_by_port(p->port_id, name);
			if (lock_interface(info.if_index, name, err, errlen) != 0)
				return hf_error(HF_EEXIST);
		}
		if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
			snprintf(err, errlen,
				 "port %u (%s): %u queue pairs needed (one per worker) but it has "
				 "at most %u RX / %u TX (for af_packet add qpairs=%u to the vdev)",
				 p->port_id, info.driver_name, nq, info.max_rx_queues,
				 info.max_tx_queues, nq);
			return hf_error(HF_EINVAL);
		}
		if (hf_port_rss_conf(conf, p->port_id, &info, &pc, err, errlen) != 0)
			return hf_error(HF_EINVAL);
		{
			uint64_t want =
				RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
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
		if (rss_after_start(conf, p->port_id, &info, err, errlen) != 0)
			return hf_error(HF_EINVAL);
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
