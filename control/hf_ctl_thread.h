/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the resolver threads of `control-threads N`
 * (control/ctl_thread.c).
 *
 * Questions are sharded by their key hash (hf_msg_shard): every worker has
 * one ring to each of the N threads. Thread 0 is the control thread itself
 * (control.c); threads 1..N-1 are these. Each owns a loop, a forwarder (its
 * in-flight table, upstream sockets, timers and fetch-limit counts) and a
 * validator (its key cache and RFC 8198 store) of its own, and resolves the
 * questions that shard to it, so one question asked on every core is
 * resolved once.
 *
 * Thread 0 stays the only producer on the workers' rings: a thread hands
 * each answer (the ready FILL) to thread 0 over its `done` ring, and thread
 * 0 broadcasts it, in order with the NTA, FLUSH and CONFIG messages. What a
 * thread needs from thread 0 (the configuration, NTA changes, trust
 * anchors, key-cache flushes, a question to resolve again) comes over its
 * `cmd` ring, and it keeps its own copy. Nothing else is shared: no locks;
 * its counters are written by it alone (plain stores of aligned 64-bit
 * words, as the workers' are) and read by thread 0 for stats.
 */
#ifndef HF_CTL_THREAD_H
#define HF_CTL_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/hf_msg.h"
#include "control/hf_config.h"
#include "control/hf_nta.h"

struct rte_ring;
struct hf_fwd;
struct hf_val;
struct hf_val_conf;
struct hf_ctl_thread;

enum hf_ctl_cmd_type {
	HF_CTL_CMD_CONFIG = 1, /* cfg: the configuration now (fwd_changed: its forwarders) */
	HF_CTL_CMD_NTA_SET,    /* nta added or renewed (the validator's keys under it flushed) */
	HF_CTL_CMD_NTA_DEL,    /* nta.name removed (likewise) */
	HF_CTL_CMD_VAL_FLUSH,  /* the validator's keys and verdicts: all, or under nta.name */
	HF_CTL_CMD_ANCHORS,    /* load text's trust anchors (NULL: the built-in ones) */
	HF_CTL_CMD_RESOLVE,    /* resolve q again: its answer was made under an older NTA list */
};

/* One command from thread 0 (malloc()ed, hf_ctl_cmd_new; the thread frees it). */
struct hf_ctl_cmd {
	uint8_t type; /* enum hf_ctl_cmd_type */
	bool fwd_changed;
	bool all;
	uint64_t epoch;	       /* NTA_SET/DEL, VAL_FLUSH of a repaired zone: the NTA log's
				* epoch after this change (0: none) */
	uint64_t gen;	       /* every command but RESOLVE: thread 0's changes so far */
	struct hf_config *cfg; /* CONFIG (malloc()ed, freed with the command) */
	char *text;	       /* ANCHORS (malloc()ed, freed with the command; NULL: built-in) */
	struct hf_nta nta;     /* NTA_SET/DEL; VAL_FLUSH: nta.name/name_len */
	struct hf_msg_query q; /* RESOLVE */
};

/* An answer a thread made, for thread 0 (its done ring's elements, by value). */
struct hf_ctl_done {
	struct hf_msg_ctl *m; /* the FILL (hf_fill_msg) or an NSEC copy (hf_nsec_msg): thread 0
			       * sends it, or frees it */
	uint64_t epoch;	      /* the NTA log's epoch the thread had applied */
	uint64_t gen;	      /* thread 0's changes the thread had applied (hf_ctl_cmd.gen) */
	uint8_t zone_len;     /* a FILL of a bogus answer: where its chain broke (hf_nta_seen),
			       * 0: none; an NSEC copy: its zone */
	uint8_t zone[HF_DNS_NAME_MAX];
} __attribute__((aligned(8)));

/* What a thread publishes for stats: written by it alone, read by thread 0. */
struct hf_ctl_thread_pub {
	struct hf_control_stats st; /* its forwarder's counters; in_flight: now */
	uint64_t aggr_records;	    /* RFC 8198 records its validator keeps now */
	uint64_t passes;	    /* its loop's passes: the watchdog's sign of life (svc.c) */
} __attribute__((aligned(64)));

struct hf_ctl_thread_conf {
	unsigned idx;		     /* 1 .. N-1 */
	unsigned nthreads;	     /* N */
	const struct hf_config *cfg; /* thread 0's; the thread takes its share (hf_ctl_cfg_share) */
	const char *anchor_text;     /* trust anchors in force (NULL: built-in) */
	const struct hf_nta_list *ntas; /* the list in force, copied */
	uint64_t nta_epoch;
	uint64_t gen;
	unsigned nw;		    /* workers (and the transport) */
	struct rte_ring *const *in; /* [nw]: each worker's ring to this thread */
	uint64_t tsc_per_ms;	    /* the workers' clock, for FILL stamps */
};

/* A thread, its rings and parts, not yet running. NULL with err set. */
struct hf_ctl_thread *hf_ctl_thread_create(const struct hf_ctl_thread_conf *tc, char *err,
					   size_t errlen);
int hf_ctl_thread_start(struct hf_ctl_thread *t, char *err, size_t errlen);
/* Ask it to stop and wait for it (nothing when it does not run). */
void hf_ctl_thread_stop(struct hf_ctl_thread *t);
/* After hf_ctl_thread_stop: frees it, its resolutions in flight, the
 * commands it did not take and the answers thread 0 did not take. */
void hf_ctl_thread_destroy(struct hf_ctl_thread *t);

/* Thread 0's side. */
/* A zeroed command of type (NULL when out of memory). */
struct hf_ctl_cmd *hf_ctl_cmd_new(enum hf_ctl_cmd_type type);
void hf_ctl_cmd_free(struct hf_ctl_cmd *cmd);
/* Queue cmd for t (in order; a full ring: a backlog retried by
 * hf_ctl_thread_flush). t owns cmd from now on. 0 or HF_ENOMEM (freed). */
int hf_ctl_thread_send(struct hf_ctl_thread *t, struct hf_ctl_cmd *cmd);
/* Retry the backlog of commands; true if one moved. */
bool hf_ctl_thread_flush(struct hf_ctl_thread *t);
/* Up to n of t's answers. */
unsigned hf_ctl_thread_take(struct hf_ctl_thread *t, struct hf_ctl_done *d, unsigned n);
const struct hf_ctl_thread_pub *hf_ctl_thread_pub(const struct hf_ctl_thread *t);

/* The thread's side: one pass (commands, intake, loop, answers), what its
 * pthread runs until stopped; for tests, on the caller's thread instead of
 * hf_ctl_thread_start. True when it did work. */
bool hf_ctl_thread_poll(struct hf_ctl_thread *t);

/*
 * The NTA changes thread 0 made (control.c), by epoch: an answer a thread
 * made under an older list is stale when a change since then is at or
 * above its name (then it is resolved again, not sent). The last
 * HF_CTL_NTA_LOG names are kept; an answer older than that is stale.
 */
#define HF_CTL_NTA_LOG 64
struct hf_ctl_nta_log {
	uint64_t epoch; /* changes so far */
	struct {
		uint8_t name[HF_DNS_NAME_MAX];
		uint8_t len;
	} e[HF_CTL_NTA_LOG]; /* [epoch % HF_CTL_NTA_LOG] */
};
/* A change at name: the new epoch. */
uint64_t hf_ctl_nta_log_add(struct hf_ctl_nta_log *l, const uint8_t *name, size_t len);
bool hf_ctl_nta_log_stale(const struct hf_ctl_nta_log *l, uint64_t epoch, const uint8_t *name,
			  size_t len);

/* Shared with thread 0 (control.c). */
/* The forwarder's copy of cfg for one of n threads: each enforces its
 * share of fetches-per-zone and fetches-per-server (rounded up). */
void hf_ctl_cfg_share(struct hf_config *out, const struct hf_config *cfg, unsigned n);
/* The validator's settings from cfg. */
void hf_ctl_val_conf(const struct hf_config *cfg, struct hf_val_conf *vc);
/* Take up to burst questions from each of the n rings into buf and hand
 * them to fwd, counting them in st. True when there were any. */
bool hf_ctl_intake(struct rte_ring *const *in, unsigned n, struct hf_msg_query *buf, unsigned burst,
		   struct hf_fwd *fwd, struct hf_control_stats *st, uint64_t now);

#endif
