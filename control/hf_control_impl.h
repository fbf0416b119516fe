/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: internals shared by control.c (loop, rings, fan-out,
 * garbage collection) and forward.c (in-flight table, upstream sockets).
 *
 * Concurrency contract: everything here belongs to the control thread
 * alone. Workers are reached only through the rings and their
 * hf_worker_shared (read with acquire loads); no locks.
 */
#ifndef HF_CONTROL_IMPL_H
#define HF_CONTROL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "control/hf_control.h"
#include "control/hf_mgmt.h"
#include "validator/hf_validator.h"

#define HF_CTL_INTAKE_BURST   64    /* hf_msg_query elements per ring per pass */
#define HF_FWD_MAX_INFLIGHT   65536 /* resolutions in flight at once */
#define HF_FWD_TABLE_SLOTS    (2 * HF_FWD_MAX_INFLIGHT)
#define HF_FWD_QUERY_MAX      336 /* header + name + question + OPT with a COOKIE of 40 */
#define HF_FWD_COOKIE_LIFE_MS (3600u * 1000u) /* a client cookie's lifetime */
#define HF_FWD_ERR_MAX	      128	      /* EDE extra text: "ADDR@PORT: problem" */
#define HF_FWD_EVENTS	      256
/* Room for any stored answer: header, TTL offsets and a 64 KiB body. */
#define HF_FWD_ANS_MAX (sizeof(struct hf_dns_answer) + 2u * HF_DNS_MSG_MAX_RR + 65536u + 256u)

/* Key flag of control's own resolutions (NTA rechecks): never coalesced
 * with a client's question, never sent to the workers. */
#define HF_KEY_INTERNAL 0x80

#define HF_MGMT_CONNS	 16    /* management connections at once */
#define HF_MGMT_IO_MS	 5000  /* a connection must send its request / take its reply in this */
#define HF_MGMT_APPLY_MS 10000 /* a change not applied on every core by then is an error */

enum hf_nta_source { HF_NTA_SRC_CLI = 0, HF_NTA_SRC_CONFIG = 1, HF_NTA_SRC_STATE = 2 };

/* One Negative Trust Anchor (RFC 7646). Control thread only. */
struct hf_nta {
	uint8_t name[HF_DNS_NAME_MAX]; /* lower-case wire form */
	uint8_t name_len;
	uint8_t source;	    /* enum hf_nta_source */
	bool recheck_busy;  /* a recheck resolution is in flight */
	uint32_t recheck_s; /* 0: no recheck */
	uint64_t added_s;   /* Unix time */
	uint64_t expires_s; /* Unix time */
	uint64_t next_recheck_ms;
	uint64_t recheck_logged_ms; /* last "still fails" log line (one a minute) */
	char reason[HF_NTA_REASON_MAX + 1];
};

struct hf_mgmt_conn;

/* A port as status and stats show it. */
struct hf_ctl_port {
	char *desc;		   /* for status */
	uint16_t id;		   /* ethdev port id */
	struct rte_eth_stats base; /* its counters at the last stats --reset */
};

/* The management socket (control/mgmt.c). Control thread only. */
struct hf_mgmt {
	int lfd;  /* listening AF_UNIX socket, -1 without one */
	int epfd; /* epoll of lfd and the connections; c->epfd watches it */
	struct hf_mgmt_conn *conns[HF_MGMT_CONNS];
	unsigned nconns;
	unsigned waiting; /* connections waiting for every core to apply a change */
	uint64_t started_ms;
	uint64_t started_unix;
	struct hf_counters *base; /* [nw] counters at the last stats --reset */
	struct hf_control_stats ctl_base;
	uint64_t textfile_next_ms;
	uint64_t requests, errors;
	char path[108];
};

/* A FIFO of pointers that grows as needed. */
struct hf_ptrq {
	void **v;
	size_t cap, head, n;
};

int hf_ptrq_push(struct hf_ptrq *q, void *p);
static inline void *hf_ptrq_peek(const struct hf_ptrq *q)
{
	return q->n ? q->v[q->head] : NULL;
}
void *hf_ptrq_pop(struct hf_ptrq *q);
void hf_ptrq_free(struct hf_ptrq *q);

enum hf_fwd_state {
	HF_FWD_UDP = 0,	    /* UDP query sent, waiting for the answer */
	HF_FWD_TCP_CONNECT, /* TCP connect in progress */
	HF_FWD_TCP_WRITE,   /* sending the length-prefixed query */
	HF_FWD_TCP_READ,    /* reading the length-prefixed answer */
};

/* One resolution in flight (one distinct key). */
struct hf_fwd_query {
	struct hf_cache_key key;
	uint32_t hash;
	uint32_t heap_idx; /* position in the deadline heap */
	uint64_t deadline_ms;
	int fd;		      /* socket of the current attempt, -1 between attempts */
	uint8_t state;	      /* enum hf_fwd_state */
	uint8_t attempt;      /* attempts started so far */
	uint8_t start;	      /* forwarder index of the first attempt */
	uint8_t fwd;	      /* forwarder index of the current attempt */
	uint16_t id;	      /* DNS ID of the current attempt */
	uint16_t qlen;	      /* query length (without the TCP prefix) */
	uint16_t last_ede;    /* EDE from the last failing forwarder's answer */
	int icmp_err;	      /* UDP: errno of the attempt's last ICMP error, 0: none */
	uint8_t cookie[8];    /* the client cookie the attempt sent */
	uint16_t io_off;      /* TCP: bytes of qbuf sent */
	uint32_t rlen, rhave; /* TCP: answer length, bytes read (incl. 2-byte prefix) */
	uint8_t lenbuf[2];
	uint8_t *rbuf; /* TCP: answer being read */
	char last_err[HF_FWD_ERR_MAX];
	uint8_t qbuf[2 + HF_FWD_QUERY_MAX]; /* TCP length prefix + query */
	/*
	 * DNSSEC. A resolution whose answer is being validated keeps a copy
	 * of it (resp) and, while the validator waits for a DS or DNSKEY set,
	 * has one sub-query in flight (child). A sub-query has parent set, its
	 * key is the DS/DNSKEY question (flags 0), and it is never in the
	 * in-flight table: it lives and dies with its parent.
	 */
	struct hf_fwd_query *parent; /* sub-query: the resolution it fetches for */
	struct hf_fwd_query *child;  /* resolution: its sub-query in flight, or NULL */
	uint8_t *resp;		     /* resolution: the upstream answer being validated */
	uint32_t resp_len;
	uint16_t rounds;  /* NEED rounds so far (HF_VAL_MAX_ROUNDS) */
	uint8_t internal; /* control's own (NTA recheck): result to hf_nta_recheck_done */
};

/* DNS cookies (RFC 7873), client side, per forwarder. A server cookie
 * belongs to the client cookie it came with: both go when it rotates. */
struct hf_fwd_cookie {
	uint8_t client[8];
	uint8_t server[32];
	uint8_t server_len; /* 0: none learnt */
	uint64_t born_ms;   /* when client was drawn; 0: not yet */
};

/* Random numbers for DNS IDs and 0x20 case: the kernel CSPRNG
 * (getrandom), buffered (a query takes 2 bytes of ID and 8 of case bits
 * per 64 letters: one system call per 400 queries or so). */
struct hf_rand {
	uint8_t buf[4096];
	size_t pos;
	uint64_t s[4]; /* xoshiro256** fallback if getrandom ever fails */
};

struct hf_control {
	struct hf_config cfg;
	struct hf_val *val; /* NULL with dnssec: no */
	bool stats_print;   /* set (atomically) by hf_control_request_stats */
	unsigned nw;
	struct rte_ring **to_control;
	struct rte_ring **to_worker;
	struct hf_worker_shared **shared;
	struct hf_ptrq *backlog; /* [nw]: messages a full ring could not take yet */
	struct hf_ptrq sent;	 /* every message not yet freed, in seq order */
	uint64_t next_seq;
	uint64_t tsc_per_ms; /* the workers' clock (FILL stamps); 0: none */
	bool busy;	     /* the last pass did work */

	/* forward.c */
	int epfd;
	struct hf_fwd_query **slots; /* open addressing, linear probing */
	uint32_t nslots;
	uint32_t inflight;
	uint32_t max_inflight;	    /* HF_FWD_MAX_INFLIGHT, less if descriptors are short */
	struct hf_fwd_query **heap; /* min-heap by deadline_ms */
	uint32_t heap_n;
	unsigned next_fwd; /* rotating start forwarder */
	char fwd_name[HF_MAX_FORWARDERS][INET6_ADDRSTRLEN + 8];
	uint64_t fwd_log_ms[HF_MAX_FORWARDERS];
	uint64_t fwd_log_quiet[HF_MAX_FORWARDERS];
	struct hf_fwd_cookie cookie[HF_MAX_FORWARDERS];
	struct hf_rand rnd;
	struct hf_control_stats st;

	/* nta.c */
	struct hf_nta *ntas; /* [HF_NTA_MAX] */
	unsigned nntas;
	bool nta_bypass;      /* validating an NTA recheck: NTAs do not apply */
	uint64_t nta_next_ms; /* next expiry/recheck pass */
	/* the last write of nta-state-file failed (until one succeeds): the
	 * list in force is not what a restart would bring back */
	bool nta_persist_failed;
	char nta_persist_err[320]; /* "cannot write PATH: errno text" */
	/* mgmt.c */
	struct hf_mgmt mgmt;
	struct hf_ctl_port *ports; /* [nports] */
	unsigned nports;
	struct rte_mempool *pools[HF_MAX_WORKERS]; /* the workers' mbuf pools */
	unsigned npools;

	struct hf_msg_query intake[HF_CTL_INTAKE_BURST];
	struct hf_dns_msg msg;
	struct hf_dns_msg vmsg; /* the answer being validated, parsed again */
	uint8_t rxbuf[65536];
	uint8_t ansbuf[HF_FWD_ANS_MAX];
};

uint64_t hf_control_now_ms(void);
/* Microseconds, monotonic (for apply times). */
uint64_t hf_control_now_us(void);

/* Build a FILL for key with answer a and broadcast it. */
int hf_control_fill(struct hf_control *c, const struct hf_cache_key *key, uint32_t hash,
		    const struct hf_dns_answer *a);

int hf_fwd_init(struct hf_control *c, char *err, size_t errlen);
void hf_fwd_fini(struct hf_control *c);
/* A MISS/REFRESH: join the resolution in flight or start one. */
void hf_fwd_request(struct hf_control *c, const struct hf_msg_query *mq, uint64_t now_ms);
/* Wait up to timeout_ms for upstream sockets, handle them and every expired
 * deadline. Returns how many events and timeouts were handled. */
unsigned hf_fwd_poll(struct hf_control *c, int timeout_ms);
/* Start control's own resolution of (name, qtype) with DO+CD, validated and
 * handed to hf_nta_recheck_done() instead of the workers. 0 or an error. */
int hf_fwd_internal(struct hf_control *c, const uint8_t *name, size_t len, uint16_t qtype,
		    uint64_t now);

/* ---- nta.c: the authoritative NTA list ---- */

/* Install the validator hook, the config file's NTAs and the state file's. */
int hf_nta_init(struct hf_control *c, char *err, size_t errlen);
void hf_nta_fini(struct hf_control *c);
/* Is name (wire, lower-case) at or below an active NTA? (false during a recheck) */
bool hf_nta_covers(const struct hf_control *c, const uint8_t *name, size_t len);
/*
 * Add (or renew) an NTA and broadcast it to every worker (HF_MSG_NTA,
 * HF_FLUSH_NTA_ADD over the subtree); res (NULL or one per worker) gets
 * what each worker changed. *seq: the message to wait for. Persists the
 * list. 0 or an error with err set.
 */
int hf_nta_add(struct hf_control *c, const uint8_t *name, size_t len, uint32_t lifetime_s,
	       uint32_t recheck_s, const char *reason, enum hf_nta_source src,
	       struct hf_msg_result *res, uint64_t *seq, char *err, size_t errlen);
/* Remove the NTA for name (HF_FLUSH_NTA_REMOVE on every worker), logging
 * why (NULL: no log line). HF_ENOENT if none. */
int hf_nta_remove(struct hf_control *c, const uint8_t *name, size_t len, const char *why,
		  struct hf_msg_result *res, uint64_t *seq);
/* Expiries and rechecks that are due; returns true when it did something. */
bool hf_nta_tick(struct hf_control *c, uint64_t now_ms);
/* A recheck's verdict: SECURE removes the NTA. */
void hf_nta_recheck_done(struct hf_control *c, const uint8_t *name, size_t len, uint8_t verdict,
			 uint16_t ede, const char *text);
/* Write the list to nta-state-file atomically (hf_file_replace). Sets or
 * clears nta_persist_failed/nta_persist_err; HF_EIO when it failed. */
int hf_nta_save(struct hf_control *c);

/* ---- mgmt.c: the management socket ---- */

int hf_mgmt_init(struct hf_control *c, char *err, size_t errlen);
void hf_mgmt_fini(struct hf_control *c);
/* Accept/read/write what is ready on the management socket. */
void hf_mgmt_poll(struct hf_control *c, uint64_t now_ms);
/* Per pass: replies whose changes every core applied, connection timeouts,
 * the stats textfile. Returns true while a connection waits on the cores. */
bool hf_mgmt_tick(struct hf_control *c, uint64_t now_ms);

#endif
