/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: ports, queues and the worker lcore loop.
 *
 * Concurrency contract: a struct hf_worker belongs to one worker lcore. It
 * alone polls its RX queue and owns its TX queue on every port, its cache,
 * its waiter table and its counters (in *shared, which control reads).
 * Control reaches it only through the two rings (common/hf_msg.h). The
 * read-only struct hf_dp_conf and the port table are written once before
 * the workers start and never again.
 */
#ifndef HF_DATAPLANE_H
#define HF_DATAPLANE_H

#include <stdbool.h>
#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "common/hf_limits.h"
#include "common/hf_msg.h"
#include "dataplane/hf_cookie.h"
#include "dataplane/hf_rrl.h"

struct hf_aggr;
struct hf_worker_synth;

#define HF_BURST_MAX 64

struct hf_exc; /* dataplane/hf_exception.h */

struct hf_dp_conf {
	uint32_t service4[HF_MAX_SERVICE_ADDRS]; /* network byte order */
	unsigned nservice4;
	uint8_t service6[HF_MAX_SERVICE_ADDRS][16];
	unsigned nservice6;
	uint16_t edns_buffer_size; /* largest UDP answer we send, and what our OPT says */
	uint16_t burst;
	uint32_t idle_sleep_us;
	uint32_t idle_polls;	    /* empty polls before the first sleep (0: 1024) */
	uint32_t idle_sleep_max_us; /* the sleeps double up to this (hf_idle.h) */
	uint32_t nb_queues;	    /* queue pairs per port = workers */
	/* rss-key: the Toeplitz key of the ports' RSS, rss_key_len 0 = each
	 * PMD's own (hf_port_rss_conf) */
	uint8_t rss_key[HF_RSS_KEY_MAX];
	uint8_t rss_key_len;
	uint32_t waiters;    /* parked clients per worker (sizes mbuf pools) */
	uint64_t tsc_per_ms; /* the workers' clock (hf_tsc_cal_end); 0: DPDK's TSC rate */
	struct hf_cache_conf cache;
	/* HF_EXC: the exception path (dataplane/hf_exception.h): the kernel
	 * interface's name ("" = off) and, once hf_exc_init made it, its state */
	char exc_ifname[16];
	/* xdp-exception: every port is net_af_xdp with holdfast's XDP program
	 * (hf_xdp_exception_args), so only UDP/53 reaches the workers and the
	 * kernel's own stack on the port's interface gets the rest */
	bool xdp_exception;
	struct hf_exc *exc;
	/* access-control (dataplane/hf_acl.h), NULL when there is no rule */
	const struct hf_acl *acl;
	struct hf_rrl_conf rrl; /* response rate limiting: rate 0 = off */
	/* DNS cookies at start-up (later secrets come in CONFIG messages) */
	bool cookie_on;
	bool cookie_required;
	uint8_t cookie_secret[HF_COOKIE_SECRET_LEN];
	/* aggressive-nsec-core-records: slots of the core's copy of the
	 * validated NSECs (validator/hf_aggr.h); 0: no synthesis on the core */
	uint32_t aggr_slots;
};

/*
 * The workers' clock is rte_rdtsc() / tsc_per_ms: cache ages, TTLs, stale
 * windows, client timeouts. DPDK 22.11 rounds the TSC rate it measures on
 * Linux to 10 MHz when the CPU does not report it (AMD): 2600 MHz for a
 * 2596.1 MHz TSC here, so TTLs ran 0.15% long. main() measures the rate
 * against CLOCK_MONOTONIC_RAW across its own start-up instead:
 * begin before the ports come up, end once they are (waiting until at
 * least min_ms have passed). Start-up only.
 */
struct hf_tsc_cal {
	uint64_t ns;
	uint64_t tsc;
};
void hf_tsc_cal_begin(struct hf_tsc_cal *c);
uint64_t hf_tsc_cal_end(const struct hf_tsc_cal *c, unsigned min_ms);

struct hf_port {
	uint16_t port_id;
	struct rte_ether_addr mac;
	bool tx_cksum_offload; /* port computes IPv4 + UDP checksums */
};

/* Set up every ethdev port with nb_queues RX/TX queue pairs (RSS when > 1),
 * one mbuf pool per queue index, and start them. Start-up only. */
int hf_ports_init(const struct hf_dp_conf *conf, struct hf_port *ports, unsigned *nports,
		  struct rte_mempool **pools, char *err, size_t errlen);
void hf_ports_close(const struct hf_port *ports, unsigned nports);

/*
 * RSS, what hf_ports_init asks of a port with conf->nb_queues > 1
 * (docs/operations.md, "Cores and queues"). hf_port_rss_conf fills pc's
 * RSS part from the port's info: the Toeplitz hash over IP addresses and
 * UDP ports the port offers, with conf's rss-key when it has one (which
 * must be the size the port takes). A port that does not hash in DPDK
 * (no RSS offloads: af_packet, af_xdp) gets none, and an rss-key for it
 * is an error rather than a key that does nothing. 0, or -1 with err set.
 */
struct rte_eth_dev_info;
struct rte_eth_conf;
struct rte_eth_rss_reta_entry64;
int hf_port_rss_conf(const struct hf_dp_conf *conf, uint16_t port_id,
		     const struct rte_eth_dev_info *info, struct rte_eth_conf *pc, char *err,
		     size_t errlen);
/* The redirection table, round robin: entry i -> queue i mod nq, in
 * reta_size / RTE_ETH_RETA_GROUP_SIZE groups (zeroed by the caller). */
void hf_port_reta_fill(struct rte_eth_rss_reta_entry64 *reta, uint16_t reta_size, uint32_t nq);

/*
 * `xdp-exception`, before rte_eal_init: put holdfast's XDP program (UDP/53
 * to the AF_XDP socket, everything else XDP_PASS to the kernel) in a memfd
 * and append xdp_prog=/proc/self/fd/N to every net_af_xdp vdev in argv.
 * The new strings replace their argv slots and are listed in added[]
 * (at most nadded; the caller frees them at exit). Returns how many, or
 * < 0 with err set (one line): no net_af_xdp vdev, or one that already
 * has xdp_prog=.
 */
int hf_xdp_exception_args(int argc, char **argv, char **added, unsigned nadded, char *err,
			  size_t errlen);
/* `xdp-exception`, after start-up: a warning for each service address that
 * no kernel interface holds (the kernel answers TCP, ping and ARP/ND only
 * for its own addresses). Returns how many. */
unsigned hf_xdp_exception_check(const struct hf_dp_conf *conf);

struct hf_txq {
	uint16_t n;
	struct rte_mbuf *pkts[2 * HF_BURST_MAX];
};

/*
 * fetches-per-zone on the core: a zone control refused a question in (a
 * FILL with HF_ANS_F_ZONE_LIMITED), and the EDE text it answered with. For
 * HF_ZONE_MARK_MS after, a miss one label below it is answered with the
 * same SERVFAIL by the core, with no entry and no MISS (worker_pkt.c,
 * hf_zone_limited). For HF_ZONE_MARK_MS more (the grace), the first
 * HF_ZONE_PROBES of them go to control and the rest are still answered
 * here: control refusing one renews the mark, and if none is refused the
 * mark ends with the grace. So a zone still flooded costs the core at most
 * HF_ZONE_PROBES parked clients a mark, never a flood's worth while control
 * catches up. A text longer than HF_ZONE_MARK_TEXT is not marked.
 */
#define HF_ZONE_MARKS	  8
#define HF_ZONE_MARK_MS	  100
#define HF_ZONE_PROBES	  64
#define HF_ZONE_MARK_TEXT 320
struct hf_zone_mark {
	uint64_t until_ms; /* refused until; then the grace, as long again */
	uint16_t probes;   /* misses the grace still lets through */
	uint8_t len;	   /* of name; 0: never used */
	uint8_t name[HF_DNS_NAME_MAX];
	uint16_t text_len;
	uint8_t text[HF_ZONE_MARK_TEXT];
};

/* When m's grace ends: after that it is as if there were no mark. */
static inline uint64_t hf_zone_mark_end(const struct hf_zone_mark *m)
{
	return m->until_ms + HF_ZONE_MARK_MS;
}

struct hf_worker {
	unsigned idx;
	uint16_t queue;
	unsigned nports;
	const struct hf_port *ports;
	const struct hf_dp_conf *conf;
	struct hf_cache *cache;
	/* wakes a parked client of this cache: hf_wake (a parked mbuf) on a
	 * UDP core, the transport's for a TCP/TLS query (dataplane/transport.c) */
	hf_wake_fn wake;
	struct rte_ring *to_control;   /* hf_msg_query elements, to control thread 0 */
	struct rte_ring *from_control; /* struct hf_msg_ctl pointers */
	struct hf_worker_shared *shared;
	volatile bool *stop;
	uint64_t tsc_per_ms;
	uint64_t now_ms;
	uint64_t next_timer_ms; /* next waiter-expiry / stats pass */
	struct hf_txq tx[HF_MAX_PORTS];
	uint8_t port_index[RTE_MAX_ETHPORTS]; /* port_id -> index in ports[] */
	struct hf_counters *ctr;
	/* control messages taken off the ring, applied in order (a cache walk
	 * may take several loop iterations: the rest wait behind it) */
	struct hf_msg_ctl *pend[HF_BURST_MAX];
	uint16_t npend, ipend;
	bool walking; /* pend[ipend] is a walk under way (FLUSH, NTA, LOOKUP, CONFIG, SNAP) */
	struct hf_cache_walk walk;
	/* HF_EXC: frames for the kernel / from it (SPSC rings of mbuf
	 * pointers, dataplane/hf_exception.h); NULL when the path is off */
	struct rte_ring *exc_to, *exc_from;
	/* response rate limiting: conf->rrl.slots slots, NULL when off */
	struct hf_rrl_slot *rrl;
	/* DNS cookies (dataplane/hf_cookie.h), and the COOKIE option data
	 * the answers of a burst carry (struct hf_pkt's ck), the last one
	 * for a parked client's wake */
	struct hf_cookie cookie;
	uint8_t ck_opt[HF_BURST_MAX + 1][HF_COOKIE_OPT_LEN];
	/* the rings to every control thread (to_ctl[0] is to_control): a MISS
	 * or REFRESH goes to to_ctl[hf_msg_shard(hash, nctl)]. Last, so the
	 * fields the hit path uses keep their places. */
	unsigned nctl;
	struct rte_ring *to_ctl[HF_MAX_CTL_THREADS];
	/* RFC 8198 on the core: its copy of the validated NSECs (HF_MSG_NSEC),
	 * the knobs control last sent, and the scratch of one synthesis;
	 * NULL when off (docs/decisions.md, "RFC 8198 on the cores") */
	struct hf_aggr *aggr;
	struct hf_msg_aggr aggr_knobs;
	struct hf_worker_synth *synth;
	/* zones at their fetches-per-zone limit a moment ago; zmark_until is
	 * the latest end of a grace among them (a miss checks it first) */
	uint64_t zmark_until;
	struct hf_zone_mark zmark[HF_ZONE_MARKS];
};

int hf_worker_init(struct hf_worker *w, unsigned idx, const struct hf_dp_conf *conf,
		   const struct hf_port *ports, unsigned nports, struct rte_ring *to_control,
		   struct rte_ring *from_control, struct hf_worker_shared *shared,
		   volatile bool *stop, char *err, size_t errlen);
void hf_worker_fini(struct hf_worker *w);
/* control-threads > 1: the rings to every control thread (to_control[0]
 * is the one hf_worker_init took), before the worker runs. */
void hf_worker_set_control(struct hf_worker *w, struct rte_ring *const *to_control, unsigned n);
/* RFC 8198 on the core: its store of `slots` slots and the synthesis
 * scratch (hf_worker_init does it with conf->aggr_slots); 0 or HF_ENOMEM
 * (hf_worker_fini frees what was made). */
int hf_worker_aggr_init(struct hf_worker *w, uint32_t slots);

/* The lcore function: poll until *stop. arg is a struct hf_worker. */
int hf_worker_main(void *arg);

/* One round of the lcore loop: clock, control messages, one RX burst per
 * port, the 1 ms timer (waiter deadlines, stats), TX. Returns packets
 * received and frames from the kernel taken (exception-interface): work
 * that keeps an idle worker from backing off (hf_idle.h). */
unsigned hf_worker_poll_once(struct hf_worker *w);
/* Process one received burst at time w->now_ms; answers go to w->tx[]. */
void hf_worker_rx(struct hf_worker *w, struct rte_mbuf **pkts, unsigned n);
/* Apply pending control messages. */
void hf_worker_poll_control(struct hf_worker *w);
/* Send what is queued in w->tx[]. */
void hf_worker_flush(struct hf_worker *w);
/* At a stop (hf_worker_main calls it): what is in the RX queues, then every
 * parked client answered with what the cache has, then TX. */
void hf_worker_drain(struct hf_worker *w);

#endif
