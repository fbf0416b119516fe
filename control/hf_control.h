/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the control thread. Takes MISS/REFRESH messages from
 * every worker's ring, resolves each distinct question once through the
 * configured forwarders (kernel UDP sockets, random IDs and source ports,
 * TCP on truncation, timeouts with retry across forwarders), and sends the
 * result as a FILL to every worker. See cache/hf_msg.h for the ring
 * contract.
 */
#ifndef HF_CONTROL_H
#define HF_CONTROL_H

#include "hf_config.h"
#include "../cache/hf_msg.h"

struct rte_ring;
struct hf_control;

struct hf_control_workers {
	unsigned n;
	struct rte_ring **to_control;	     /* [n] worker -> control (hf_msg_query elements) */
	struct rte_ring **to_worker;	     /* [n] control -> worker (struct hf_msg_ctl *) */
	struct hf_worker_shared **shared;    /* [n] counters and applied_seq */
};

struct hf_control *hf_control_create(const struct hf_config *cfg,
				     const struct hf_control_workers *w, char *err, size_t errlen);
/* Run the control loop on the calling thread until *stop becomes true. */
void hf_control_run(struct hf_control *c, volatile bool *stop);
void hf_control_destroy(struct hf_control *c);

#endif
