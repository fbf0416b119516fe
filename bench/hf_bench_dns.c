/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared helpers of the micro and per-core benchmarks (hf_bench_dns.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include "bench/hf_bench_dns.h"

static const uint8_t hf_bd_suffix[] = "\x05"
				      "bench"
				      "\x07"
				      "example";

void hf_bd_name(uint8_t *out, char kind, uint32_t i)
{
	char lab[16];

	if (kind == 'm')
		snprintf(lab, sizeof(lab), "m%07x", i & 0x0fffffffu);
	else
		snprintf(lab, sizeof(lab), "%c%07u", kind, i % 10000000u);
	out[0] = 8;
	memcpy(out + 1, lab, 8);
	memcpy(out + 9, hf_bd_suffix, sizeof(hf_bd_suffix)); /* with the root label */
}

int hf_bd_answer(uint8_t *out, size_t size, const uint8_t *name, uint32_t addr, uint32_t ttl)
{
	static struct hf_dns_msg msg; /* 8 KiB: not on the stack */
	static const struct hf_dns_answer_limits lim = {7 * 86400, 0, 3600};
	uint8_t wire[128];
	size_t n = 0;
	struct hf_dns_answer *a = (struct hf_dns_answer *)(void *)out;
	int rc;

	hf_put16(wire, 0x1234);
	hf_put16(wire + 2, HF_DNS_QR | HF_DNS_RD | HF_DNS_RA);
	hf_put16(wire + 4, 1);
	hf_put16(wire + 6, 1);
	hf_put16(wire + 8, 0);
	hf_put16(wire + 10, 0);
	n = 12;
	memcpy(wire + n, name, HF_BD_NAME_LEN);
	n += HF_BD_NAME_LEN;
	hf_put16(wire + n, HF_TYPE_A);
	hf_put16(wire + n + 2, HF_CLASS_IN);
	n += 4;
	hf_put16(wire + n, 0xc00c); /* owner: the question name */
	hf_put16(wire + n + 2, HF_TYPE_A);
	hf_put16(wire + n + 4, HF_CLASS_IN);
	hf_put32(wire + n + 6, ttl);
	hf_put16(wire + n + 10, 4);
	hf_put32(wire + n + 12, addr);
	n += 16;
	rc = hf_dns_msg_parse(wire, n, &msg);
	if (rc != 0)
		return rc;
	rc = hf_dns_answer_build(&msg, &lim, out, size);
	if (rc < 0)
		return rc;
	a->security = HF_SECURITY_INSECURE; /* what control sets without a validator */
	a->ede = HF_EDE_NONE;
	return rc;
}

static const struct rte_ether_addr hf_bd_port_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr hf_bd_client_mac = {{0x02, 0, 0, 0, 0, 0x02}};
#define HF_BD_SERVICE \
	((198u << 24) | (18u << 16) | (53u << 8) | 1u) /* RTE_IPV4 shifts an int: UB */
#define HF_BD_CLIENT ((198u << 24) | (18u << 16) | (53u << 8) | 2u)

size_t hf_bd_frame(uint8_t *buf, const uint8_t *name, uint16_t id, bool edns)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)(void *)buf;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(void *)(buf + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(void *)(buf + 34);
	uint8_t *d = buf + HF_BD_DNS_OFF;
	size_t dlen = 12;

	memset(buf, 0, HF_BD_FRAME_MAX);
	rte_ether_addr_copy(&hf_bd_port_mac, &eth->dst_addr);
	rte_ether_addr_copy(&hf_bd_client_mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);

	hf_put16(d, id);
	hf_put16(d + 2, HF_DNS_RD);
	hf_put16(d + 4, 1);
	hf_put16(d + 10, edns ? 1 : 0);
	memcpy(d + dlen, name, HF_BD_NAME_LEN);
	dlen += HF_BD_NAME_LEN;
	hf_put16(d + dlen, HF_TYPE_A);
	hf_put16(d + dlen + 2, HF_CLASS_IN);
	dlen += 4;
	if (edns) {
		d[dlen] = 0; /* root owner */
		hf_put16(d + dlen + 1, HF_TYPE_OPT);
		hf_put16(d + dlen + 3, 1232);
		/* ext rcode, version, flags (DO clear), rdlen: all zero */
		dlen += 11;
	}

	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + dlen));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(HF_BD_CLIENT);
	ip->dst_addr = rte_cpu_to_be_32(HF_BD_SERVICE);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = RTE_BE16(40000);
	udp->dst_port = RTE_BE16(53);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + dlen));
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return HF_BD_DNS_OFF + dlen;
}

/* A COOKIE option (4 + data[0..n)) appended to the OPT of an EDNS frame
 * of len bytes: the OPT's, UDP's and IPv4's lengths and the IPv4 checksum
 * follow. Returns the new length. */
size_t hf_bd_add_cookie(uint8_t *f, size_t len, const uint8_t *data, uint16_t n)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(void *)(f + 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(void *)(f + 34);
	hf_put16(f + len - 2, (uint16_t)(4 + n)); /* the OPT's RDLENGTH (it was 0) */
	hf_put16(f + len, HF_EDNS_OPT_COOKIE);
	hf_put16(f + len + 2, n);
	memcpy(f + len + 4, data, n);
	len += 4u + n;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - 14));
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len - 34));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return len;
}

const char *hf_bd_check_answer(const uint8_t *p, uint32_t len, uint32_t want_addr)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(const void *)(p + 14);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(const void *)(p + 34);
	const uint8_t *d = p + HF_BD_DNS_OFF;
	uint32_t an = 12 + HF_BD_NAME_LEN + 4;
	struct rte_ipv4_hdr ipc;

	if (len < HF_BD_DNS_OFF + an + 16)
		return "answer too short";
	memcpy(&ipc, ip, sizeof(ipc));
	ipc.hdr_checksum = 0;
	if (rte_ipv4_cksum(&ipc) != ip->hdr_checksum)
		return "bad IPv4 header checksum";
	if (rte_be_to_cpu_16(ip->total_length) + 14u != len)
		return "IPv4 total length does not match the frame";
	if (ip->src_addr != rte_cpu_to_be_32(HF_BD_SERVICE) || udp->src_port != RTE_BE16(53))
		return "addresses not swapped";
	/* the sum over pseudo header and datagram, checksum included, is ~0 */
	if (hf_bd_fold((uint32_t)rte_ipv4_phdr_cksum(ip, 0) +
		       rte_raw_cksum(udp, rte_be_to_cpu_16(udp->dgram_len))) != 0xffff)
		return "bad UDP checksum";
	if (!(hf_get16(d + 2) & HF_DNS_QR) || (hf_get16(d + 2) & 0xf) != 0 || hf_get16(d + 6) != 1)
		return "not a NOERROR answer with one record";
	if (hf_get16(d + an + 2) != HF_TYPE_A || hf_get32(d + an + 12) != want_addr)
		return "wrong A record";
	return NULL;
}

void hf_bd_cache_conf(struct hf_cache_conf *cc, uint32_t entries)
{
	/* per-class minimum: 4 slots of 256, 512, ... 69632 bytes (cache/cache_internal.h) */
	const uint64_t min_bytes = 4ull * (256 + 512 + 1024 + 2048 + 4096 + 16384 + 65536 + 4096);

	memset(cc, 0, sizeof(*cc));
	cc->entries = entries;
	cc->memory = min_bytes + ((uint64_t)entries * 256 * 100 + 34) / 35 + 4096;
	cc->waiters = 4096;
	cc->waiters_per_entry = 256;
	cc->stale_window_ms = 86400000;
	cc->client_timeout_ms = 1800;
	cc->stale_ttl = 30;
	cc->failure_recheck_ms = 30000;
	cc->miss_timeout_ms = 2000 * 3 + 500; /* as main.c: timeout x (attempts + 1) + 500 */
	cc->socket_id = SOCKET_ID_ANY;
}

int hf_bd_worker_init(struct hf_bd_worker *bw, const char *tag, uint16_t port_id,
		      const struct hf_cache_conf *cc, char *err, size_t errlen)
{
	char name[RTE_RING_NAMESIZE];

	memset(bw, 0, sizeof(*bw));
	bw->conf.service4[0] = rte_cpu_to_be_32(HF_BD_SERVICE);
	bw->conf.nservice4 = 1;
	bw->conf.edns_buffer_size = 1232;
	bw->conf.burst = 32;
	bw->conf.nb_queues = 1;
	bw->conf.waiters = cc->waiters;
	bw->conf.cache = *cc;
	bw->port.port_id = port_id;
	rte_ether_addr_copy(&hf_bd_port_mac, &bw->port.mac);
	bw->port.tx_cksum_offload = false;

	snprintf(name, sizeof(name), "hf_bd_toc_%s", tag);
	bw->to_control = rte_ring_create_elem(name, sizeof(struct hf_msg_query), 4096,
					      SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "hf_bd_frc_%s", tag);
	bw->from_control =
		rte_ring_create(name, 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	bw->shared = rte_zmalloc("hf_bd_shared", sizeof(*bw->shared), RTE_CACHE_LINE_SIZE);
	bw->nmsgs = 4096;
	bw->msgs = calloc(bw->nmsgs, sizeof(*bw->msgs));
	if (!bw->to_control || !bw->from_control || !bw->shared || !bw->msgs) {
		snprintf(err, errlen, "rings/shared: %s", rte_strerror(rte_errno));
		goto fail;
	}
	for (unsigned i = 0; i < bw->nmsgs; i++) {
		/* room for any answer of the 256..1024-byte classes behind the header */
		bw->msgs[i] = calloc(1, sizeof(struct hf_msg_ctl) + 1024);
		if (bw->msgs[i] == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (hf_worker_init(&bw->w, 0, &bw->conf, &bw->port, 1, bw->to_control, bw->from_control,
			   bw->shared, &bw->stop, err, errlen) != 0)
		goto fail;
	bw->up = true;
	return 0;
fail:
	hf_bd_worker_fini(bw);
	return -1;
}

void hf_bd_worker_fini(struct hf_bd_worker *bw)
{
	if (bw->up)
		hf_worker_fini(&bw->w);
	bw->up = false;
	rte_ring_free(bw->to_control);
	rte_ring_free(bw->from_control);
	rte_free(bw->shared);
	if (bw->msgs)
		for (unsigned i = 0; i < bw->nmsgs; i++)
			free(bw->msgs[i]);
	free(bw->msgs);
	bw->msgs = NULL;
	bw->to_control = bw->from_control = NULL;
	bw->shared = NULL;
}

struct hf_msg_ctl *hf_bd_fill_msg(struct hf_bd_worker *bw, const struct hf_cache_key *key,
				  uint32_t hash, const struct hf_dns_answer *a)
{
	struct hf_msg_ctl *m = bw->msgs[bw->next_msg];
	uint64_t applied = __atomic_load_n(&bw->shared->applied_seq, __ATOMIC_ACQUIRE);

	if (m->seq != 0 && m->seq > applied)
		return NULL;
	if (++bw->next_msg == bw->nmsgs)
		bw->next_msg = 0;
	/* what hf_control_fill does: the whole key, then the answer */
	m->seq = ++bw->seq;
	m->type = HF_MSG_FILL;
	m->made_ms = 0; /* now (a caller may set it; a reused message keeps nothing) */
	m->hash = hash;
	memcpy(&m->key, key, sizeof(m->key));
	memcpy(&m->ans, a, hf_dns_answer_size(a));
	return m;
}

bool hf_bd_send_ctl(struct hf_bd_worker *bw, struct hf_msg_ctl *m)
{
	return rte_ring_enqueue(bw->from_control, m) == 0;
}

void hf_bd_key(struct hf_cache_key *k, const uint8_t *name)
{
	memset(k, 0, sizeof(*k));
	k->name_len = HF_BD_NAME_LEN;
	k->qtype = HF_TYPE_A;
	k->qclass = HF_CLASS_IN;
	memcpy(k->name, name, HF_BD_NAME_LEN);
}

int hf_bd_warm(struct hf_bd_worker *bw, char kind, uint32_t first, uint32_t n, char *err,
	       size_t errlen)
{
	_Alignas(8) uint8_t abuf[512]; /* a struct hf_dns_answer */
	uint8_t name[HF_BD_NAME_LEN];
	struct hf_cache_key key;

	for (uint32_t i = first; i < first + n; i++) {
		struct hf_msg_ctl *m;
		int sz;

		hf_bd_name(name, kind, i);
		hf_bd_key(&key, name);
		sz = hf_bd_answer(abuf, sizeof(abuf), name, hf_bd_addr(i), HF_BD_TTL);
		if (sz < 0) {
			snprintf(err, errlen, "answer build: %s", hf_strerror(sz));
			return -1;
		}
		m = hf_bd_fill_msg(bw, &key, hf_cache_key_hash(&key),
				   (const struct hf_dns_answer *)(const void *)abuf);
		if (m == NULL || !hf_bd_send_ctl(bw, m)) {
			snprintf(err, errlen, "FILL pool or ring full");
			return -1;
		}
		if (rte_ring_count(bw->from_control) >= HF_BURST_MAX)
			hf_worker_poll_control(&bw->w);
	}
	while (rte_ring_count(bw->from_control) > 0)
		hf_worker_poll_control(&bw->w);
	return 0;
}

bool hf_bd_smoke(void)
{
	const char *s = getenv("HF_BENCH_SMOKE");
	return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}
