/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management socket server (control/mgmt_*.c;
 * the protocol is control/hf_mgmt.h). It reads the workers' counters and
 * the other parts' state, and changes them through their own APIs: NTAs
 * through the NTA list, everything else through the fan-out. Control
 * thread only.
 */
#ifndef HF_MGMT_SERVER_H
#define HF_MGMT_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "common/hf_limits.h"
#include "common/hf_msg.h"
#include "control/hf_config.h"
#include "control/hf_fanout.h"
#include "control/hf_loop.h"

#define HF_MGMT_CONNS	 16    /* management connections at once */
#define HF_MGMT_IO_MS	 5000  /* a connection must send its request / take its reply in this */
#define HF_MGMT_APPLY_MS 10000 /* a change not applied on every core by then is an error */

struct hf_nta_list;
struct hf_fwd;
struct hf_val;
struct rte_mempool;
struct hf_mgmt_conn;
struct hf_snap_job;
struct hf_reload_diff;
struct hf_ctl_thread_pub;

/* What management reads and changes. Owned by control; cfg is control's
 * copy, which config set changes. */
struct hf_mgmt_env {
	struct hf_loop *loop;
	struct hf_config *cfg;
	struct hf_fanout *out;
	struct hf_nta_list *ntas;
	struct hf_fwd *fwd;
	struct hf_val *val; /* NULL without DNSSEC */
	struct hf_control_stats *st;
	struct rte_ring **to_control; /* [out->nw]: how full each intake ring is */
	unsigned ntransport;	      /* the last ones of out->nw are transports */
	struct hf_snap_job *snap;     /* `cache save` (control/hf_snapshot.h) */
	/* holdfastctl reload (control.c): 0 with d and *seq (the message every
	 * core must apply) set, or an error with err set and nothing changed */
	int (*reload)(void *arg, struct hf_reload_diff *d, uint64_t *seq, char *err, size_t errlen);
	void *reload_arg;
	/* control-threads (control.c, control/hf_ctl_thread.h): st, fwd and
	 * val above are thread 0's; pubs[t - 1] what thread t publishes */
	unsigned nthreads; /* 0 counts as 1; to_control has [nthreads * out->nw] */
	const struct hf_ctl_thread_pub *const *pubs;
	/* told after config set changed cfg, and after a flush flushed val's
	 * keys (all, or at and below name), for the other threads; NULL: none */
	void (*cfg_changed)(void *arg);
	void (*val_flush)(void *arg, bool all, const uint8_t *name, size_t len);
	void *sync_arg;
};

/* A port as status and stats show it. */
struct hf_ctl_port {
	char *desc;		   /* for status */
	uint16_t id;		   /* ethdev port id */
	struct rte_eth_stats base; /* its counters at the last stats --reset */
};

struct hf_mgmt {
	struct hf_mgmt_env env;
	int lfd;		  /* listening AF_UNIX socket, -1 without one */
	struct hf_handler listen; /* its readiness */
	struct hf_mgmt_conn *conns[HF_MGMT_CONNS];
	unsigned nconns;
	unsigned waiting; /* connections waiting for every core to apply a change */
	uint64_t started_ms;
	uint64_t started_unix;
	struct hf_counters *base; /* [nw] counters at the last stats --reset */
	struct hf_control_stats ctl_base;
	struct hf_exc_counters exc_base; /* exc at the last stats --reset */
	uint64_t textfile_next_ms;
	uint64_t requests, errors;
	struct hf_ptrq orphans;	   /* results of messages a gone connection waited for */
	struct hf_ctl_port *ports; /* [nports] */
	unsigned nports;
	struct rte_mempool *pools[HF_MAX_WORKERS]; /* the workers' mbuf pools */
	unsigned npools;
	bool drained; /* holdfastctl drain: status says so, the fleet agent withdraws */
	char path[108];
	/* tls reload: the transport's (dataplane/hf_transport.h), NULL without DoT */
	int (*tls_reload)(void *arg, char *err, size_t errlen);
	void *tls_arg;
	const struct hf_exc_counters *exc; /* the exception thread's, NULL without it */
};

/* The control socket when cfg->control_socket is set (else only the
 * stats textfile and the ports). 0 or an error with err set. */
int hf_mgmt_init(struct hf_mgmt *mg, const struct hf_mgmt_env *env, char *err, size_t errlen);
void hf_mgmt_fini(struct hf_mgmt *mg);
/* Per pass: replies whose changes every core applied, connection timeouts,
 * the stats textfile. Returns true while a connection waits on the cores. */
bool hf_mgmt_tick(struct hf_mgmt *mg, uint64_t now_ms);
int hf_mgmt_add_port(struct hf_mgmt *mg, const char *desc, uint16_t port_id);
void hf_mgmt_set_pools(struct hf_mgmt *mg, struct rte_mempool *const *pools, unsigned n);
/* The control counters, with the gauges filled in. */
void hf_mgmt_get_stats(const struct hf_mgmt *mg, struct hf_control_stats *st);

#endif
