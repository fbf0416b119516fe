/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the control thread. Takes MISS/REFRESH messages from
 * every worker's ring, resolves each distinct question once through the
 * configured forwarders (kernel UDP sockets, random IDs and source ports,
 * TCP on truncation, timeouts with retry across forwarders), and sends the
 * result as a FILL to every worker. See common/hf_msg.h for the ring
 * contract.
 */
#ifndef HF_CONTROL_H
#define HF_CONTROL_H

#include <stdio.h>

#include "control/hf_config.h"
#include "common/hf_msg.h"

struct rte_ring;
struct hf_control;

struct hf_control_workers {
	unsigned n;
	/* control-threads: the threads resolving questions (0 counts as 1); it
	 * must be the configuration's control-threads */
	unsigned nthreads;
	/* [nthreads * n] worker -> control thread (hf_msg_query elements):
	 * worker w's ring to thread t at [t * n + w] */
	struct rte_ring **to_control;
	struct rte_ring **to_worker;	  /* [n] control -> worker (struct hf_msg_ctl *) */
	struct hf_worker_shared **shared; /* [n] counters and applied_seq */
	uint64_t tsc_per_ms;		  /* the workers' clock, for FILL stamps; 0: none */
	unsigned ntransport; /* of the n, the last ones that are transports, not cores */
};

struct hf_control *hf_control_create(const struct hf_config *cfg,
				     const struct hf_control_workers *w, char *err, size_t errlen);
/* Run the control loop on the calling thread until *stop becomes true. */
void hf_control_run(struct hf_control *c, volatile bool *stop);
void hf_control_destroy(struct hf_control *c);

/*
 * Added for the management side and tests. All of these run on the control
 * thread (the one that calls hf_control_run / hf_control_poll).
 */

/* One pass of the control loop (intake, backlog retry, upstream I/O with an
 * epoll timeout of 0 if the previous pass did work else 1 ms, timeouts,
 * garbage collection). Returns true when it did work. */
bool hf_control_poll(struct hf_control *c);

/*
 * Send m to every worker: assigns m->seq (the next sequence number) and
 * enqueues the same pointer on every worker's to_worker ring; a full ring
 * gets it later from a per-worker backlog (order is kept, nothing is
 * dropped, nothing blocks). m must come from malloc(); control owns it from
 * now on and frees it once every worker has applied it. Returns 0 or
 * HF_ENOMEM (m was freed, nothing was sent).
 */
int hf_control_broadcast(struct hf_control *c, struct hf_msg_ctl *m);
/* Has every worker applied the message with this seq? */
bool hf_control_applied(const struct hf_control *c, uint64_t seq);
/* The seq the last broadcast got (0 before the first). */
uint64_t hf_control_last_seq(const struct hf_control *c);

void hf_control_get_stats(const struct hf_control *c, struct hf_control_stats *st);
struct hf_nta_list;
/* The NTA list (control/hf_nta.h), for tests. */
const struct hf_nta_list *hf_control_ntas(const struct hf_control *c);
/* Resolutions control thread t (control-threads) started, for tests. */
uint64_t hf_control_thread_resolutions(const struct hf_control *c, unsigned t);

/* The control thread's clocks (monotonic). */
uint64_t hf_control_now_ms(void);
uint64_t hf_control_now_us(void);

/* How long a parked miss waits before its SERVFAIL (from the upstream knobs). */
uint32_t hf_control_miss_timeout_ms(const struct hf_config *cfg);
/* Describe a port for `holdfastctl status` and count it in `stats` (its
 * ethdev counters: what the port received, sent, missed and failed to
 * take); before hf_control_run. */
int hf_control_add_port(struct hf_control *c, const char *desc, uint16_t port_id);
struct rte_mempool;
/* The workers' mbuf pools (one per queue), shown in `stats` as their size
 * and free count; before hf_control_run. */
/* What `holdfastctl tls reload` calls (on the control thread). */
void hf_control_set_tls_reload(struct hf_control *c, int (*fn)(void *arg, char *err, size_t errlen),
			       void *arg);
/* The exception thread's counters, for stats (read as the workers' are). */
void hf_control_set_exception(struct hf_control *c, const struct hf_exc_counters *x);
void hf_control_set_pools(struct hf_control *c, struct rte_mempool *const *pools, unsigned n);

/* Write the control counters as one "holdfast: control: ..." line. Control
 * thread only (or after hf_control_run has returned). */
void hf_control_print_stats(const struct hf_control *c, FILE *f);
/*
 * Ask the control thread to print its counters to stderr on its next pass
 * (within about a millisecond). The one function here any thread may call
 * (the SIGUSR1 thread does): it only sets a flag with an atomic store.
 */
void hf_control_request_stats(struct hf_control *c);

/* A CONFIG message with cfg's serve-stale knobs and miss timeout (malloc()ed),
 * or NULL when out of memory. */
struct hf_msg_ctl *hf_control_config_msg(const struct hf_config *cfg);
/* The application arguments holdfast started with (argv[0] first, -c FILE
 * among them), which a reload reads again; they must outlive c. Before
 * hf_control_run; without them reload is refused. */
void hf_control_set_args(struct hf_control *c, int argc, char **argv);
/* Ask the control thread to reload (SIGHUP): on its next pass, with the
 * result in one line on stderr. Any thread (an atomic store). */
void hf_control_request_reload(struct hf_control *c);

#endif
