/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What dataplane/port.c asks of a port for RSS (issue 12): the hash
 * functions and rss-key from the port's info, the round-robin redirection
 * table, and the refusals (a key for a port that does not hash in DPDK, a
 * key of the wrong size); then hf_ports_init on a real net_ring port,
 * which has no RSS of its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "tests/unit/hf_test.h"
#include "tests/unit/hf_test_eal.h"
#include "common/hf_common.h"
#include "dataplane/hf_dataplane.h"

/* Microsoft's RSS verification key, the one most NICs ship with */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static void conf_with(struct hf_dp_conf *c, uint32_t nq, const uint8_t *key, uint8_t len)
{
	memset(c, 0, sizeof(*c));
	c->nb_queues = nq;
	c->waiters = 16;
	c->edns_buffer_size = 1232;
	if (len)
		memcpy(c->rss_key, key, len);
	c->rss_key_len = len;
}

static void info_with(struct rte_eth_dev_info *i, const char *drv, uint64_t rss_hf,
		      uint8_t key_size)
{
	memset(i, 0, sizeof(*i));
	i->driver_name = drv;
	i->flow_type_rss_offloads = rss_hf;
	i->hash_key_size = key_size;
}

static bool untouched(const struct rte_eth_conf *pc)
{
	static const struct rte_eth_conf zero;
	return memcmp(pc, &zero, sizeof(zero)) == 0;
}

/* One queue: nothing to spread, whatever the port and rss-key. */
static void test_one_queue(void)
{
	struct hf_dp_conf c;
	struct rte_eth_dev_info i;
	struct rte_eth_conf pc;
	char err[256] = "";

	conf_with(&c, 1, ms_key, 40);
	info_with(&i, "net_ice", RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP, 52);
	memset(&pc, 0, sizeof(pc));
	CHECK_EQ(hf_port_rss_conf(&c, 0, &i, &pc, err, sizeof(err)), 0);
	CHECK(untouched(&pc));
	CHECK_EQ(err[0], '\0');
}

/* A port the kernel spreads (af_packet, af_xdp: no RSS offloads): no RSS
 * asked of it; rss-key for it is refused, not left to do nothing. */
static void test_kernel_spread(void)
{
	struct hf_dp_conf c;
	struct rte_eth_dev_info i;
	struct rte_eth_conf pc;
	char err[256] = "";

	conf_with(&c, 2, NULL, 0);
	info_with(&i, "net_af_packet", 0, 0);
	memset(&pc, 0, sizeof(pc));
	CHECK_EQ(hf_port_rss_conf(&c, 3, &i, &pc, err, sizeof(err)), 0);
	CHECK(untouched(&pc));

	conf_with(&c, 2, ms_key, 40);
	CHECK_EQ(hf_port_rss_conf(&c, 3, &i, &pc, err, sizeof(err)), -1);
	CHECK(strcmp(err, "rss-key: port 3 (net_af_packet) does not hash in DPDK: the kernel "
			  "spreads its queues (af_packet: PACKET_FANOUT's flow hash; af_xdp: the "
			  "NIC's RSS, set with ethtool -X IFACE hkey KEY)") == 0);
}

/* RSS on the port's hash of IP addresses and UDP ports: what it offers of
 * them, with the PMD's key or rss-key. */
static void test_rss_hash_and_key(void)
{
	struct hf_dp_conf c;
	struct rte_eth_dev_info i;
	struct rte_eth_conf pc;
	char err[256] = "";

	/* net_tap offers IP, UDP and TCP together: holdfast takes IP and UDP */
	conf_with(&c, 2, NULL, 0);
	info_with(&i, "net_tap", RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP, 40);
	memset(&pc, 0, sizeof(pc));
	CHECK_EQ(hf_port_rss_conf(&c, 0, &i, &pc, err, sizeof(err)), 0);
	CHECK_EQ(pc.rxmode.mq_mode, RTE_ETH_MQ_RX_RSS);
	CHECK_EQ(pc.rx_adv_conf.rss_conf.rss_hf, RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	CHECK(pc.rx_adv_conf.rss_conf.rss_key == NULL);
	CHECK_EQ(pc.rx_adv_conf.rss_conf.rss_key_len, 0);

	/* a NIC with IPv4 UDP and IPv6 UDP only: those */
	info_with(&i, "net_x", RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP, 40);
	memset(&pc, 0, sizeof(pc));
	CHECK_EQ(hf_port_rss_conf(&c, 0, &i, &pc, err, sizeof(err)), 0);
	CHECK_EQ(pc.rx_adv_conf.rss_conf.rss_hf,
		 RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP);

	/* rss-key of the size the port takes: handed over as it is */
	conf_with(&c, 4, ms_key, 40);
	info_with(&i, "net_mlx5", RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP, 40);
	memset(&pc, 0, sizeof(pc));
	CHECK_EQ(hf_port_rss_conf(&c, 1, &i, &pc, err, sizeof(err)), 0);
	CHECK_EQ(pc.rxmode.mq_mode, RTE_ETH_MQ_RX_RSS);
	CHECK(pc.rx_adv_conf.rss_conf.rss_key == c.rss_key);
	CHECK_EQ(pc.rx_adv_conf.rss_conf.rss_key_len, 40);
	CHECK_MEM(pc.rx_adv_conf.rss_conf.rss_key, ms_key, 40);

	/* of another size: refused */
	info_with(&i, "net_ice", RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP, 52);
	memset(&pc, 0, sizeof(pc));
	CHECK_EQ(hf_port_rss_conf(&c, 1, &i, &pc, err, sizeof(err)), -1);
	CHECK(strcmp(err, "rss-key: port 1 (net_ice) takes a 52-byte key, rss-key has 40") == 0);
}

/* The redirection table: entry i -> queue i mod n, every entry's mask bit. */
static void test_reta(void)
{
	struct rte_eth_rss_reta_entry64 reta[8];
	unsigned q[3] = {0, 0, 0};

	memset(reta, 0, sizeof(reta));
	hf_port_reta_fill(reta, 128, 3);
	CHECK(reta[0].mask == UINT64_MAX && reta[1].mask == UINT64_MAX && reta[2].mask == 0);
	for (unsigned e = 0; e < 128; e++) {
		CHECK_EQ(reta[e / 64].reta[e % 64], e % 3);
		q[reta[e / 64].reta[e % 64]]++;
	}
	CHECK(q[0] == 43 && q[1] == 43 && q[2] == 42);

	memset(reta, 0, sizeof(reta));
	hf_port_reta_fill(reta, 512, 2);
	for (unsigned g = 0; g < 8; g++) {
		CHECK(reta[g].mask == UINT64_MAX);
		for (unsigned e = 0; e < 64; e++)
			CHECK_EQ(reta[g].reta[e], e % 2);
	}
}

static int ring_port(const char *name, struct rte_ring **r)
{
	for (unsigned k = 0; k < 4; k++) {
		char rn[32];
		snprintf(rn, sizeof(rn), "%s_%u", name, k);
		r[k] = rte_ring_create(rn, 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (r[k] == NULL)
			return -1;
	}
	return rte_eth_from_rings(name, r, 2, r + 2, 2, SOCKET_ID_ANY);
}

/* hf_ports_init on a real port with two queue pairs and no RSS of its own
 * (net_ring): set up without RSS; with rss-key, stopped with the line. */
static void test_ports_init_ring(void)
{
	struct hf_port ports[HF_MAX_PORTS];
	struct rte_mempool *pools[HF_MAX_WORKERS];
	struct rte_ring *r[4];
	struct hf_dp_conf c;
	unsigned n = 0;
	char err[256] = "", want[256];
	int pid;

	pid = ring_port("tp_a", r);
	CHECK(pid >= 0);
	if (pid < 0)
		return;
	conf_with(&c, 2, NULL, 0);
	CHECK_EQ(hf_ports_init(&c, ports, &n, pools, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "hf_ports_init: %s\n", err);
	CHECK_EQ(n, 1);
	hf_ports_close(ports, n);
	for (unsigned q = 0; q < 2; q++)
		rte_mempool_free(pools[q]);
	for (unsigned k = 0; k < 4; k++)
		rte_ring_free(r[k]);

	pid = ring_port("tp_b", r);
	CHECK(pid >= 0);
	if (pid < 0)
		return;
	conf_with(&c, 2, ms_key, 40);
	CHECK(hf_ports_init(&c, ports, &n, pools, err, sizeof(err)) != 0);
	snprintf(want, sizeof(want),
		 "rss-key: port %d (net_ring) does not hash in DPDK: the kernel spreads its "
		 "queues (af_packet: PACKET_FANOUT's flow hash; af_xdp: the NIC's RSS, set with "
		 "ethtool -X IFACE hkey KEY)",
		 pid);
	CHECK(strcmp(err, want) == 0);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "got:  %s\nwant: %s\n", err, want);
	for (unsigned q = 0; q < 2; q++)
		rte_mempool_free(pools[q]);
	rte_eth_dev_close((uint16_t)pid);
	for (unsigned k = 0; k < 4; k++)
		rte_ring_free(r[k]);
}

int main(int argc, char **argv)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_one_queue),	  TEST_CASE(test_kernel_spread),
		TEST_CASE(test_rss_hash_and_key), TEST_CASE(test_reta),
		TEST_CASE(test_ports_init_ring),
	};
	int rc;

	if (hf_test_eal_init(argc > 0 ? argv[0] : "test_port", "port") != 0)
		return 1;
	rc = hf_test_run(cases, HF_ARRAY_LEN(cases));
	rte_eal_cleanup();
	return rc;
}
