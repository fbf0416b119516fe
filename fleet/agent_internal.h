/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: what the agent's files share.
 *   agent.c   options, the loop, etcd (full read, watch), applying NTAs
 *   health.c  the health check, the probe and BIRD's announcements
 */
#ifndef HF_AGENT_INTERNAL_H
#define HF_AGENT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/hf_limits.h"
#include "fleet/hf_etcd.h"
#include "fleet/hf_fleet.h"

#define HF_AGENT_BIRD_MAX      4
#define HF_AGENT_PROBES	       4
#define HF_AGENT_BIRD_AGAIN_MS 5000 /* the announcement said to BIRD again */

struct agent {
	/* options */
	const char *site, *sock, *prefix;
	uint64_t health_ms, report_ms, hold_down_ms, mgmt_timeout_ms, probe_fail_ms;
	const char *bird_sock, *bird_protos[HF_AGENT_BIRD_MAX];
	unsigned nbird;
	const char *probe_netns, *probe_addr, *probe_name;
	uint64_t stall_ms, stall_load; /* the counter rule; stall_load 0: off */
	struct hf_etcd etcd;

	/* fleet state */
	int64_t applied; /* the last fleet revision applied */
	bool synced;	 /* a full read applied since holdfast started */
	bool watching, dirty, etcd_lost;
	struct hf_etcd_watch w;
	uint64_t retry_ms, next_health_ms, next_report_ms;
	unsigned fleet_ntas;

	/* health (health.c) */
	bool holdfast_up, drained, healthy, announced, ever_announced;
	uint64_t hf_started; /* holdfast's start time: another one means a restart */
	uint64_t healthy_since_ms;
	uint64_t bird_again_ms;
	bool bird_failed; /* the last BIRD command failed (logged once) */
	char why[200];
	int probe_fd;
	uint16_t probe_ids[HF_AGENT_PROBES]; /* the last queries' IDs */
	uint64_t probe_seq, probe_rnd;
	uint64_t probe_ok_ms; /* last answer to the probe */

	/* the counter rule (health.c): per worker core, its rx_packets when
	 * last seen, when they last moved, and the other worker cores' sum
	 * then; ncores 0: start again (holdfast restarted, counters reset) */
	unsigned ncores;
	uint64_t core_rx[HF_MAX_WORKERS], core_moved_ms[HF_MAX_WORKERS];
	uint64_t others_at_move[HF_MAX_WORKERS];
	uint64_t cores_started; /* holdfast's start time the cores are of */
};

void hf_agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t hf_agent_now_ms(void);
/* One management request (JSON). 0 (and *out, the reply, when out is not
 * NULL; the caller puts it), 1 holdfast refused it (logged), -1 holdfast
 * not reached. */
int hf_agent_mgmt(struct agent *a, int argc, char **argv, json_object **out);

/* health.c */
int hf_agent_health_init(struct agent *a);
void hf_agent_health_fini(struct agent *a);
/* Ask holdfast, probe, decide, announce or withdraw. */
void hf_agent_health(struct agent *a, uint64_t now);

#endif
