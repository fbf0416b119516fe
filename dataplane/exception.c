/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path: a TAP interface for what the workers do not answer
 * themselves (see hf_exception.h for the design). Start-up code, the
 * exception thread, and the workers' one call to take frames from it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_net.h>

#include "common/hf_log.h"
#include "dataplane/hf_exception.h"

#define EXC_VDEV      "net_tap_hfexc"
#define EXC_DESC      512
#define EXC_BURST     32
#define EXC_NB_SLOTS  4096 /* learned client addresses (direct-mapped) */
#define EXC_IDLE_SPIN 64   /* empty rounds before the thread sleeps */
#define EXC_IDLE_NS   100000

/* A client address -> where its frames came from. */
struct exc_nb {
	uint8_t ip[16]; /* IPv4 as ::ffff:a.b.c.d */
	struct rte_ether_addr mac;
	uint16_t port_id;
	uint16_t tci; /* host order; meaningful when vlan */
	uint8_t used, vlan;
	uint8_t port_idx;
};

struct hf_exc {
	uint16_t tap;
	struct rte_ether_addr tap_mac;
	const struct hf_port *ports;
	unsigned nports;
	uint8_t port_index[RTE_MAX_ETHPORTS];
	unsigned nw;
	struct rte_ring *to[HF_MAX_WORKERS], *from[HF_MAX_WORKERS];
	const struct hf_counters *wctr[HF_MAX_WORKERS];
	struct rte_mempool *pool;
	struct exc_nb *nb;
	char ifname[IF_NAMESIZE];
	pthread_t tid;
	bool running;
	volatile bool stop;
	struct hf_exc_counters ctr;
};

const struct hf_exc_counters *hf_exc_counters(const struct hf_exc *x)
{
	return &x->ctr;
}

/* ---- the exception thread ------------------------------------------------ */

static uint32_t nb_hash(const uint8_t *ip)
{
	return rte_jhash(ip, 16, 0x68660000);
}

static void ip_key(uint8_t *key, bool v6, const void *addr)
{
	if (v6) {
		memcpy(key, addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, addr, 4);
}

/* The L4 checksum of a TCP or UDP segment for the kernel, made whole: a
 * sender's NIC offload (a veth's CHECKSUM_PARTIAL) leaves only the
 * pseudo-header sum in it, which the kernel behind the tap would drop. */
static void fix_l4_cksum(struct hf_exc *x, struct rte_mbuf *m, uint8_t *l3, bool v6, uint32_t len)
{
	uint8_t proto;
	uint32_t l4_off, l4_len, at;

	if (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return;
	if (!v6) {
		const struct rte_ipv4_hdr *ip = (const void *)l3;
		l4_off = rte_ipv4_hdr_len(ip);
		l4_len = rte_be_to_cpu_16(ip->total_length) - l4_off;
		proto = ip->next_proto_id;
	} else {
		const struct rte_ipv6_hdr *ip6 = (const void *)l3;
		l4_off = sizeof(*ip6);
		l4_len = rte_be_to_cpu_16(ip6->payload_len);
		proto = ip6->proto;
	}
	if (proto == IPPROTO_TCP)
		at = 16;
	else if (proto == IPPROTO_UDP)
		at = 6;
	else
		return;
	if (l4_len < at + 2 || l4_off + l4_len > len)
		return;
	memset(l3 + l4_off + at, 0, 2);
	{
		uint16_t ck = v6 ? rte_ipv6_udptcp_cksum((const void *)l3, l3 + l4_off)
				 : rte_ipv4_udptcp_cksum((const void *)l3, l3 + l4_off);
		memcpy(l3 + l4_off + at, &ck, 2);
	}
	x->ctr.cksum_fixed++;
}

/* A frame a worker classified for the kernel (IPv4/IPv6 to a service
 * address, lengths checked): learn its source, take off its VLAN tag,
 * address it to the tap. */
static void to_kernel_prep(struct hf_exc *x, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	uint8_t key[16];
	bool vlan = false, v6;
	uint16_t tci = 0;
	struct exc_nb *n;

	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		tci = rte_be_to_cpu_16(*(const uint16_t *)(p + 14));
		vlan = true;
		memmove(p + 4, p, 12); /* the MACs move next to the inner type */
		p = (uint8_t *)rte_pktmbuf_adj(m, 4);
		eth = (struct rte_ether_hdr *)p;
	}
	v6 = eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6);
	if (v6)
		ip_key(key, true, ((const struct rte_ipv6_hdr *)(p + 14))->src_addr);
	else
		ip_key(key, false, &((const struct rte_ipv4_hdr *)(p + 14))->src_addr);
	n = &x->nb[nb_hash(key) & (EXC_NB_SLOTS - 1)];
	memcpy(n->ip, key, 16);
	rte_ether_addr_copy(&eth->src_addr, &n->mac);
	n->port_id = m->port;
	n->port_idx = x->port_index[m->port];
	n->tci = tci;
	n->vlan = vlan;
	n->used = 1;
	fix_l4_cksum(x, m, p + 14, v6, m->data_len - 14u);
	rte_ether_addr_copy(&x->tap_mac, &eth->dst_addr);
	m->ol_flags = 0;
}

/* A frame the kernel sent: to the port and MAC its destination was learned
 * on, through a worker's ring (chosen by the destination, so one client's
 * frames keep their order). */
static void from_kernel(struct hf_exc *x, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	uint8_t key[16];
	uint32_t h;
	struct exc_nb *n;

	if (m->nb_segs != 1)
		goto other;
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= 14 + sizeof(struct rte_ipv4_hdr)) {
		const struct rte_ipv4_hdr *ip = (const void *)(p + 14);
		if (((const uint8_t *)&ip->dst_addr)[0] >= 224)
			goto other;
		ip_key(key, false, &ip->dst_addr);
	} else if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6) &&
		   m->data_len >= 14 + sizeof(struct rte_ipv6_hdr)) {
		const struct rte_ipv6_hdr *ip6 = (const void *)(p + 14);
		if (ip6->dst_addr[0] == 0xff)
			goto other;
		ip_key(key, true, ip6->dst_addr);
	} else {
		goto other;
	}
	h = nb_hash(key);
	n = &x->nb[h & (EXC_NB_SLOTS - 1)];
	if (!n->used || memcmp(n->ip, key, 16) != 0) {
		x->ctr.no_neighbour++;
		rte_pktmbuf_free(m);
		return;
	}
	rte_ether_addr_copy(&n->mac, &eth->dst_addr);
	rte_ether_addr_copy(&x->ports[n->port_idx].mac, &eth->src_addr);
	m->ol_flags = 0;
	if (n->vlan) {
		m->vlan_tci = n->tci;
		if (rte_vlan_insert(&m) != 0) {
			x->ctr.kernel_other++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	m->port = n->port_id;
	if (rte_ring_sp_enqueue(x->from[(h >> 16) % x->nw], m) != 0) {
		x->ctr.worker_full++;
		rte_pktmbuf_free(m);
	}
	return;
other:
	x->ctr.kernel_other++;
	rte_pktmbuf_free(m);
}

static void *exc_main(void *arg)
{
	struct hf_exc *x = arg;
	struct rte_mbuf *pkts[EXC_BURST];
	unsigned idle = 0;
	/* No lcore id (rte_thread_register) on purpose: without one it has no
	 * mempool cache, so no worker RX buffer it frees after the tap copied
	 * it sits in a cache of its own, out of the pool's sizing. */

	while (!x->stop) {
		unsigned work = 0, n;
		for (unsigned w = 0; w < x->nw; w++) {
			uint16_t sent;
			n = rte_ring_sc_dequeue_burst(x->to[w], (void **)pkts, EXC_BURST, NULL);
			if (n == 0)
				continue;
			work += n;
			for (unsigned i = 0; i < n; i++)
				to_kernel_prep(x, pkts[i]);
			sent = rte_eth_tx_burst(x->tap, 0, pkts, (uint16_t)n);
			x->ctr.to_kernel += sent;
			if (sent < n) {
				x->ctr.tap_full += n - sent;
				rte_pktmbuf_free_bulk(pkts + sent, n - sent);
			}
		}
		n = rte_eth_rx_burst(x->tap, 0, pkts, EXC_BURST);
		x->ctr.from_kernel += n;
		for (unsigned i = 0; i < n; i++)
			from_kernel(x, pkts[i]);
		work += n;
		if (work) {
			idle = 0;
		} else if (++idle >= EXC_IDLE_SPIN) {
			struct timespec ts = {0, EXC_IDLE_NS};
			nanosleep(&ts, NULL);
			x->ctr.idle_sleeps++;
		}
	}
	return NULL;
}

/* ---- the workers' side ----------------------------------------------------- */

void hf_exc_to_kernel(struct rte_ring *r, struct hf_counters *ctr, struct rte_mbuf *m)
{
	if (HF_UNLIKELY(rte_ring_sp_enqueue(r, m) != 0)) {
		ctr->exc_drop++;
		rte_pktmbuf_free(m);
		return;
	}
	ctr->exc_to_kernel++;
}

unsigned hf_exc_worker_drain(struct hf_worker *w)
{
	struct rte_mbuf *m[HF_BURST_MAX];
	unsigned n = rte_ring_sc_dequeue_burst(w->exc_from, (void **)m, HF_BURST_MAX, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct hf_txq *q = &w->tx[w->port_index[m[i]->port]];
		if (HF_UNLIKELY(q->n == HF_ARRAY_LEN(q->pkts))) {
			w->ctr->exc_drop++;
			rte_pktmbuf_free(m[i]);
			continue;
		}
		q->pkts[q->n++] = m[i];
		w->ctr->exc_from_kernel++;
	}
	return n;
}

void hf_exc_attach(struct hf_exc *x, struct hf_worker *w)
{
	if (x == NULL || w->idx >= x->nw)
		return;
	w->exc_to = x->to[w->idx];
	w->exc_from = x->from[w->idx];
	x->wctr[w->idx] = w->ctr;
}

/* ---- start-up -------------------------------------------------------------- */

/* The tap PMD takes SIGIO for an "Rx trigger" when nobody else has: the
 * kernel then signals the whole process for every frame it queues on the
 * tap, and the signal lands on whichever thread does not block it (a
 * worker, control). With a handler of ours in place the PMD leaves SIGIO
 * alone, and the exception thread simply polls (readv; EAGAIN when empty). */
static void sigio_ignored(int sig)
{
	(void)sig;
}

static int if_flags_set(const char *ifname, short set, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= set;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (rc != 0)
		snprintf(err, errlen, "exception-interface %s: cannot set its flags: %s", ifname,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static void nl_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Put one service address on the interface (/32 or /128, no DAD). */
static int addr_add(int fd, unsigned ifindex, int family, const void *addr, const char *ifname,
		    char *err, size_t errlen)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	char buf[512], txt[INET6_ADDRSTRLEN] = "?";
	size_t alen = family == AF_INET ? 4 : 16;
	ssize_t n;
	int e = EIO;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = (unsigned char)family;
	req.ifa.ifa_prefixlen = (unsigned char)(alen * 8);
	req.ifa.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = ifindex;
	nl_attr(&req.nh, IFA_LOCAL, addr, alen);
	nl_attr(&req.nh, IFA_ADDRESS, addr, alen);
	if (send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len &&
	    (n = recv(fd, buf, sizeof(buf), 0)) >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		const struct nlmsghdr *h = (const void *)buf;
		if (h->nlmsg_type == NLMSG_ERROR) {
			e = -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (e == 0)
				return 0;
		}
	} else {
		e = errno;
	}
	inet_ntop(family, addr, txt, sizeof(txt));
	snprintf(err, errlen, "exception-interface %s: cannot add address %s: %s", ifname, txt,
		 strerror(e));
	return -1;
}

static int addrs_add(const struct hf_dp_conf *conf, const char *ifname, char *err, size_t errlen)
{
	unsigned ifindex = if_nametoindex(ifname);
	struct timeval tv = {2, 0};
	int fd, rc = 0;

	if (ifindex == 0) {
		snprintf(err, errlen, "exception-interface %s: not found after creation: %s",
			 ifname, strerror(errno));
		return -1;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		snprintf(err, errlen, "exception-interface %s: netlink socket: %s", ifname,
			 strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (unsigned i = 0; rc == 0 && i < conf->nservice4; i++)
		rc = addr_add(fd, ifindex, AF_INET, &conf->service4[i], ifname, err, errlen);
	for (unsigned i = 0; rc == 0 && i < conf->nservice6; i++)
		rc = addr_add(fd, ifindex, AF_INET6, conf->service6[i], ifname, err, errlen);
	close(fd);
	return rc;
}

static unsigned pool_count(unsigned nw)
{
	/* the tap's RX descriptors, every ring to the workers full, their TX
	 * queues and mempool caches, bursts in flight */
	unsigned need = EXC_DESC + nw * (HF_EXC_RING + 2 * HF_BURST_MAX + 64) + 4 * EXC_BURST;
	unsigned n = 1;
	while (n - 1 < need)
		n <<= 1;
	return n - 1;
}

static int tap_setup(struct hf_exc *x, const struct hf_dp_conf *conf, char *err, size_t errlen)
{
	char args[64];
	struct rte_eth_conf pc;
	uint16_t mtu = 0, nb_rxd = EXC_DESC, nb_txd = EXC_DESC;
	struct sigaction sa;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sigaction(SIGIO, NULL, &sa);
	if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sigio_ignored;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGIO, &sa, NULL);
	}
	snprintf(args, sizeof(args), "iface=%s", conf->exc_ifname);
	rc = rte_eal_hotplug_add("vdev", EXC_VDEV, args);
	if (rc == 0)
		rc = rte_eth_dev_get_port_by_name(EXC_VDEV, &x->tap);
	if (rc != 0) {
		snprintf(err, errlen,
			 "exception-interface %s: cannot make the tap (%s): %s (is the tun module "
			 "loaded, and are we root?)",
			 conf->exc_ifname, EXC_VDEV, rte_strerror(rc < 0 ? -rc : rc));
		return -1;
	}
	x->pool = rte_pktmbuf_pool_create("hf_exc_pool", pool_count(x->nw), 32, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (x->pool == NULL) {
		snprintf(err, errlen, "exception-interface %s: cannot make its mbuf pool: %s",
			 conf->exc_ifname, rte_strerror(rte_errno));
		return -1;
	}
	memset(&pc, 0, sizeof(pc));
	rc = rte_eth_dev_configure(x->tap, 1, 1, &pc);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(x->tap, &nb_rxd, &nb_txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(x->tap, 0, nb_rxd, rte_socket_id(), NULL, x->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(x->tap, 0, nb_txd, rte_socket_id(), NULL);
	/* no larger than the smallest port's: the kernel's frames go out there */
	for (unsigned p = 0; rc == 0 && p < x->nports; p++) {
		uint16_t m = 0;
		if (rte_eth_dev_get_mtu(x->ports[p].port_id, &m) == 0 && m >= 1280 &&
		    (mtu == 0 || m < mtu))
			mtu = m;
	}
	if (rc == 0 && mtu != 0)
		rc = rte_eth_dev_set_mtu(x->tap, mtu);
	if (rc == 0)
		rc = rte_eth_macaddr_get(x->tap, &x->tap_mac);
	if (rc != 0) {
		snprintf(err, errlen, "exception-interface %s: tap set-up failed: %s",
			 conf->exc_ifname, rte_strerror(-rc));
		return -1;
	}
	/* NOARP before it goes up: no ARP, ND or DAD from the kernel on it */
	if (if_flags_set(conf->exc_ifname, IFF_NOARP, err, errlen) != 0)
		return -1;
	rc = rte_eth_dev_start(x->tap);
	if (rc != 0) {
		snprintf(err, errlen, "exception-interface %s: cannot start the tap: %s",
			 conf->exc_ifname, rte_strerror(-rc));
		return -1;
	}
	return addrs_add(conf, conf->exc_ifname, err, errlen);
}

int hf_exc_init(struct hf_dp_conf *conf, const struct hf_port *ports, unsigned nports, char *err,
		size_t errlen)
{
	struct hf_exc *x;

	conf->exc = NULL;
	if (conf->exc_ifname[0] == '\0')
		return 0;
	x = calloc(1, sizeof(*x));
	if (x != NULL)
		x->nb = calloc(EXC_NB_SLOTS, sizeof(*x->nb));
	if (x == NULL || x->nb == NULL) {
		free(x);
		snprintf(err, errlen, "exception-interface: out of memory");
		return -1;
	}
	conf->exc = x; /* hf_exc_fini frees what was made, on any error too */
	snprintf(x->ifname, sizeof(x->ifname), "%s", conf->exc_ifname);
	x->ports = ports;
	x->nports = nports;
	x->nw = conf->nb_queues;
	for (unsigned p = 0; p < nports; p++)
		x->port_index[ports[p].port_id] = (uint8_t)p;
	x->tap = RTE_MAX_ETHPORTS;
	for (unsigned w = 0; w < x->nw; w++) {
		char name[32];
		snprintf(name, sizeof(name), "hf_exc_to_%u", w);
		x->to[w] = rte_ring_create(name, HF_EXC_RING, rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "hf_exc_from_%u", w);
		x->from[w] = rte_ring_create(name, HF_EXC_RING, rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (x->to[w] == NULL || x->from[w] == NULL) {
			snprintf(err, errlen, "exception-interface: cannot make its rings: %s",
				 rte_strerror(rte_errno));
			return -1;
		}
	}
	if (tap_setup(x, conf, err, errlen) != 0)
		return -1;
	if (pthread_create(&x->tid, NULL, exc_main, x) != 0) {
		snprintf(err, errlen, "exception-interface %s: cannot start its thread",
			 conf->exc_ifname);
		return -1;
	}
	pthread_setname_np(x->tid, "hf-exception");
	x->running = true;
	hf_log(HF_LOG_INFO,
	       "exception path: kernel interface %s (NOARP) holds the %u service "
	       "address(es); route the clients' prefixes to it",
	       conf->exc_ifname, conf->nservice4 + conf->nservice6);
	return 0;
}

void hf_exc_fini(struct hf_dp_conf *conf, FILE *f)
{
	struct hf_exc *x = conf->exc;
	uint64_t to = 0, from = 0, drop = 0;

	if (x == NULL)
		return;
	if (x->running) {
		x->stop = true;
		pthread_join(x->tid, NULL);
	}
	for (unsigned w = 0; w < x->nw; w++)
		if (x->wctr[w] != NULL) {
			to += x->wctr[w]->exc_to_kernel;
			from += x->wctr[w]->exc_from_kernel;
			drop += x->wctr[w]->exc_drop;
		}
	if (f != NULL && x->running)
		fprintf(f,
			"holdfast: exception %s: workers: to-kernel %llu from-kernel %llu drops "
			"%llu; tap: written %llu read %llu tap-full %llu worker-full %llu "
			"no-neighbour %llu other %llu cksum-fixed %llu\n",
			x->ifname, (unsigned long long)to, (unsigned long long)from,
			(unsigned long long)drop, (unsigned long long)x->ctr.to_kernel,
			(unsigned long long)x->ctr.from_kernel, (unsigned long long)x->ctr.tap_full,
			(unsigned long long)x->ctr.worker_full,
			(unsigned long long)x->ctr.no_neighbour,
			(unsigned long long)x->ctr.kernel_other,
			(unsigned long long)x->ctr.cksum_fixed);
	if (x->tap != RTE_MAX_ETHPORTS) {
		rte_eth_dev_stop(x->tap);
		rte_eth_dev_close(x->tap);
		rte_eal_hotplug_remove("vdev", EXC_VDEV);
	}
	for (unsigned w = 0; w < x->nw; w++) {
		rte_ring_free(x->to[w]);
		rte_ring_free(x->from[w]);
	}
	rte_mempool_free(x->pool);
	free(x->nb);
	free(x);
	conf->exc = NULL;
}
