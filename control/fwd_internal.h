/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: what the forwarder's files share.
 *   forward.c       entry points, answers and failures, create/destroy
 *   fwd_upstream.c  attempts: random IDs and 0x20 case, cookies, UDP and
 *                   TCP I/O, deadlines
 *   fwd_validate.c  DNSSEC: validating answers, DS/DNSKEY sub-queries
 *   fwd_table.c     the in-flight table (rte_hash)
 *   fwd_sock.c      the UDP sockets of attempts, reused a bounded number
 *                   of times
 */
#ifndef HF_FWD_INTERNAL_H
#define HF_FWD_INTERNAL_H

#include <netinet/in.h>

#include "control/hf_fwd.h"
#include "dns/hf_dns.h"
#include "validator/hf_validator.h"

#define HF_FWD_QUERY_MAX      336 /* header + name + question + OPT with a COOKIE of 40 */
#define HF_FWD_COOKIE_LIFE_MS (3600u * 1000u) /* a client cookie's lifetime */
#define HF_FWD_ERR_MAX	      128	      /* EDE extra text: "ADDR@PORT: problem" */
/* A UDP socket (one source port) carries at most HF_FWD_SOCK_USES queries,
 * one at a time, within HF_FWD_SOCK_LIFE_MS of its opening; up to
 * HF_FWD_SOCK_IDLE wait per forwarder for the next (fwd_sock.c). */
#define HF_FWD_SOCK_USES    16
#define HF_FWD_SOCK_LIFE_MS 1000
#define HF_FWD_SOCK_IDLE    64
/* Room for any stored answer: header, TTL offsets and a 64 KiB body. */
#define HF_FWD_ANS_MAX (sizeof(struct hf_dns_answer) + 2u * HF_DNS_MSG_MAX_RR + 65536u + 256u)

/* Key flag of control's own resolutions (NTA rechecks): never coalesced
 * with a client's question, never sent to the workers. */
#define HF_KEY_INTERNAL 0x80

enum hf_fwd_state {
	HF_FWD_UDP = 0,	    /* UDP query sent, waiting for the answer */
	HF_FWD_TCP_CONNECT, /* TCP connect in progress */
	HF_FWD_TCP_WRITE,   /* sending the length-prefixed query */
	HF_FWD_TCP_READ,    /* reading the length-prefixed answer */
};

struct hf_fwd_query;

/* One UDP socket connected to a forwarder (fwd_sock.c). */
struct hf_fwd_sock {
	struct hf_handler io; /* its readiness (the loop), for as long as it is open */
	struct hf_fwd *owner;
	struct hf_fwd_query *q;	  /* the attempt it carries; NULL: idle */
	int fd;			  /* -1: a slot without a socket */
	int16_t idle_pos;	  /* index in its forwarder's idle list, -1: not there */
	uint8_t fwd;		  /* the forwarder index it is connected to */
	uint8_t answered;	  /* its attempt ended on a datagram it accepted */
	uint8_t dirty;		  /* it got a datagram or ICMP error that was not that */
	uint16_t uses;		  /* queries it carried */
	uint64_t born_ms;	  /* when it was opened */
	struct sockaddr_in6 peer; /* the forwarder's address it is connected to */
	struct hf_fwd_sock *next_free;
};

struct hf_fwd_sock_chunk;

struct hf_fwd_pool {
	struct hf_fwd_sock_chunk *chunks; /* every slot, freed by hf_fwd_sock_fini */
	struct hf_fwd_sock *free;	  /* slots without a socket */
	struct hf_fwd_sock *idle[HF_MAX_FORWARDERS][HF_FWD_SOCK_IDLE];
	uint16_t nidle[HF_MAX_FORWARDERS];
};

/* One resolution in flight (one distinct key). */
struct hf_fwd_query {
	struct hf_cache_key key;
	uint32_t hash;
	struct hf_fwd *owner;
	struct hf_handler io;  /* its socket's readiness (the loop) */
	struct hf_timer timer; /* the current attempt's deadline */
	int fd;		       /* socket of the current attempt, -1 between attempts */
	uint8_t state;	       /* enum hf_fwd_state */
	uint8_t attempt;       /* attempts started so far */
	uint8_t start;	       /* forwarder index of the first attempt */
	uint8_t fwd;	       /* forwarder index of the current attempt */
	uint16_t id;	       /* DNS ID of the current attempt */
	uint16_t qlen;	       /* query length (without the TCP prefix) */
	uint16_t last_ede;     /* EDE from the last failing forwarder's answer */
	int icmp_err;	       /* UDP: errno of the attempt's last ICMP error, 0: none */
	uint8_t cookie[8];     /* the client cookie the attempt sent */
	uint16_t io_off;       /* TCP: bytes of qbuf sent */
	uint32_t rlen, rhave;  /* TCP: answer length, bytes read (incl. 2-byte prefix) */
	uint8_t lenbuf[2];
	uint8_t *rbuf; /* TCP: answer being read */
	/* UDP: the pool's socket the attempt uses (fd is its fd), or NULL */
	struct hf_fwd_sock *sock;
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
	uint8_t internal; /* control's own (NTA recheck): result to ops.internal_done */
	uint8_t limited;  /* failed on fetches-per-server: the failure is not cached */
	int32_t zone_pos; /* a client's resolution: its zone's slot (fetches-per-zone); -1 */
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

struct rte_hash;

/* Zone cuts a forwarder remembers for fetches-per-zone (fwd_table.c). */
#define HF_FWD_CUTS_MAX 1024

struct hf_fwd {
	const struct hf_config *cfg;
	struct hf_val *val; /* NULL with dnssec: no */
	struct hf_loop *loop;
	struct hf_control_stats *st;
	struct hf_fwd_ops ops;
	struct rte_hash *table; /* key -> struct hf_fwd_query (resolutions, not sub-queries) */
	struct rte_hash *zones; /* zone name -> slot of zone_count (fetches-per-zone) */
	uint32_t *zone_count;	/* per slot: client resolutions in flight in that zone */
	struct rte_hash *cuts;	/* zone cuts learnt (fetches-per-zone's zones) */
	void *cut_fifo;		/* their names, HF_FWD_CUTS_MAX, in the order learnt */
	uint32_t cut_n, cut_next;
	uint32_t inflight;
	uint32_t max_inflight;	  /* HF_FWD_MAX_INFLIGHT, less if descriptors are short */
	bool validating_internal; /* validating an NTA recheck: NTAs do not apply */
	unsigned next_fwd;	  /* rotating start forwarder */
	/* per forwarder index: attempts with a socket open to it (fetches-per-server) */
	uint32_t fwd_out[HF_MAX_FORWARDERS];
	char fwd_name[HF_MAX_FORWARDERS][INET6_ADDRSTRLEN + 8];
	uint64_t fwd_log_ms[HF_MAX_FORWARDERS];
	uint64_t fwd_log_quiet[HF_MAX_FORWARDERS];
	struct hf_fwd_cookie cookie[HF_MAX_FORWARDERS];
	struct hf_rand rnd;
	struct hf_fwd_pool pool; /* UDP sockets (fwd_sock.c) */
	struct hf_dns_msg msg;
	struct hf_dns_msg vmsg; /* the answer being validated: the upstream check's parse, moved */
	uint8_t rxbuf[65536];
	uint8_t ansbuf[HF_FWD_ANS_MAX];
	uint8_t synthbuf[8192]; /* a response hf_val_synth() wrote */
};

/* forward.c */
void hf_fwd_finish(struct hf_fwd *f, struct hf_fwd_query *q);
void hf_fwd_fail(struct hf_fwd *f, struct hf_fwd_query *q, uint16_t ede, const char *text);
void hf_fwd_send_failure(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash,
			 uint16_t ede, const char *text, uint32_t ttl, uint8_t security);
bool hf_fwd_response(struct hf_fwd *f, struct hf_fwd_query *q, const uint8_t *wire, size_t len,
		     bool tcp, uint64_t now);

/* fwd_upstream.c */
int hf_fwd_rand_init(struct hf_fwd *f);
/* q's socket handler and deadline timer, fd -1. */
void hf_fwd_query_io_init(struct hf_fwd *f, struct hf_fwd_query *q);
void hf_fwd_next_attempt(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now);
void hf_fwd_start_tcp(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now);
void hf_fwd_close_io(struct hf_fwd *f, struct hf_fwd_query *q);
/* Read what q's UDP socket holds. True while q still waits for this
 * attempt, false when it moved on (q may be gone). */
bool hf_fwd_udp_readable(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now);
/* A random 16-bit number (the buffered kernel CSPRNG). */
uint16_t hf_fwd_rand16(struct hf_fwd *f);
bool hf_fwd_cookie_ok(struct hf_fwd *f, const struct hf_fwd_query *q, const struct hf_dns_msg *m);
void __attribute__((format(printf, 5, 6)))
hf_fwd_set_problem(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now, uint16_t ede,
		   const char *fmt, ...);
const char *hf_fwd_rcode_text(unsigned rcode, char *buf, size_t size);
/* The question name as sent, in its random case. */
/* The length of a forwarder's address (IPv4 or IPv6). */
static inline socklen_t hf_fwd_addrlen(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static inline const uint8_t *hf_fwd_sent_qname(const struct hf_fwd_query *q)
{
	return q->qbuf + 2 + HF_DNS_HDR_LEN;
}

/* fwd_sock.c: q's attempt (q->fwd set) gets a UDP socket connected to its
 * forwarder, an idle one or a new one: q->sock and q->fd set, or -1 with
 * errno. */
int hf_fwd_sock_take(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now);
/* q's attempt is over: its socket goes back to the pool when it may carry
 * another query, or is closed. */
void hf_fwd_sock_release(struct hf_fwd *f, struct hf_fwd_query *q);
/* Every idle socket closed (the forwarders changed, descriptors short). */
void hf_fwd_sock_close_idle(struct hf_fwd *f);
/* Every socket closed (the attempts that use one: fd -1), slots freed. */
void hf_fwd_sock_fini(struct hf_fwd *f);

/* fwd_validate.c */
void hf_fwd_validate_start(struct hf_fwd *f, struct hf_fwd_query *q, const uint8_t *wire,
			   size_t len, uint64_t now);
void hf_fwd_sub_answered(struct hf_fwd *f, struct hf_fwd_query *sub, const struct hf_dns_msg *m,
			 uint64_t now);
void hf_fwd_sub_failed(struct hf_fwd *f, struct hf_fwd_query *sub, uint16_t ede, const char *text);
/* RFC 8198: answer key from validated NSEC records (aggressive-nsec), the
 * FILL sent; false when it cannot (goes upstream). */
bool hf_fwd_synth(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash);
/* The validator's NTA hook (installed by hf_fwd_create). */
bool hf_fwd_nta_hook(void *arg, const uint8_t *name, size_t len, uint64_t now_s);

/* fwd_table.c: resolutions in flight by key */
int hf_fwd_table_init(struct hf_fwd *f, uint32_t entries, char *err, size_t errlen);
void hf_fwd_table_fini(struct hf_fwd *f); /* frees every resolution in it */
struct hf_fwd_query *hf_fwd_table_find(struct hf_fwd *f, const struct hf_cache_key *key,
				       uint32_t hash);
int hf_fwd_table_insert(struct hf_fwd *f, struct hf_fwd_query *q);
void hf_fwd_table_remove(struct hf_fwd *f, struct hf_fwd_query *q);
/* Client resolutions in flight per zone (fetches-per-zone), in an rte_hash
 * keyed by the zone's name: O(1) per question. The zone of a question
 * (docs/config.md, fetches-per-zone) is the deepest zone cut known at or
 * above its name (learnt from the SOA owners of negative answers; never
 * the root or a TLD), else its name less the first label. */
int hf_fwd_zones_init(struct hf_fwd *f, uint32_t entries, char *err, size_t errlen);
void hf_fwd_zones_fini(struct hf_fwd *f);
/* The zone of key: its offset in key->name. */
size_t hf_fwd_zone_of(const struct hf_fwd *f, const struct hf_cache_key *key);
/* Count a client resolution of key against its zone: the zone's slot, or
 * HF_EFULL when it already has limit in flight (limit 0: no limit). */
int32_t hf_fwd_zone_acquire(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t limit);
/* That resolution is over (slot -1: it was not counted). */
void hf_fwd_zone_release(struct hf_fwd *f, int32_t slot);
/* A zone cut (wire form, any case): remembered, the oldest forgotten
 * past HF_FWD_CUTS_MAX; the root and TLDs are not. */
void hf_fwd_cut_add(struct hf_fwd *f, const uint8_t *name, size_t len);
/* An upstream answer m to key: a negative one's SOA owner, when it is at
 * or above the question, is a zone cut (hf_fwd_cut_add). */
void hf_fwd_cut_learn(struct hf_fwd *f, const struct hf_cache_key *key, const struct hf_dns_msg *m);

#endif
