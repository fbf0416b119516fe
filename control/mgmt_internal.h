/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: what the management server's files share.
 *   mgmt_server.c  the socket, connections, dispatch, set-up
 *   mgmt_stats.c   status, stats and the Prometheus exposition
 *   mgmt_exec.c    the commands that change or query the workers
 */
#ifndef HF_MGMT_INTERNAL_H
#define HF_MGMT_INTERNAL_H

#include "control/hf_mgmt.h"
#include "control/hf_mgmt_server.h"
#include "control/hf_reload.h"

/* C_DRAIN: reply sent and write side shut; what the client still sends is
 * read and dropped until it closes, so closing never resets the
 * connection before the client has read the reply. */
enum conn_state { C_READ = 0, C_WAIT, C_WRITE, C_DRAIN };

struct hf_mgmt_conn {
	struct hf_mgmt *mg;
	struct hf_handler io; /* its socket's readiness */
	int fd;
	uint8_t state;
	bool json;
	uint64_t deadline_ms;
	/* C_WAIT */
	uint64_t seq;
	uint64_t wait_start_us;
	uint64_t wait_deadline_ms;
	struct hf_msg_result *res;
	struct hf_mgmt_req req;
	char persist_err[320];	      /* nta add/remove: applied, but nta-state-file not written */
	struct hf_reload_diff reload; /* reload: what it changed */
	/* C_READ */
	size_t inlen;
	char in[HF_MGMT_REQ_MAX + 1];
	/* C_WRITE */
	char *out;
	size_t outlen, outoff;
};

/* mgmt_server.c */
/* Start sending: "OK\n" or "ERR msg\n", then body. */
void hf_mgmt_reply(struct hf_mgmt *mg, struct hf_mgmt_conn *k, const char *errmsg,
		   struct hf_emit *body);
void hf_mgmt_error(struct hf_mgmt *mg, struct hf_mgmt_conn *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Wait for every worker to apply seq before answering. */
void hf_mgmt_wait(struct hf_mgmt *mg, struct hf_mgmt_conn *k, uint64_t seq,
		  struct hf_msg_result *res, uint64_t start_us);

/* mgmt_stats.c */
void hf_mgmt_cmd_status(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_stats(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_write_textfile(struct hf_mgmt *mg);
void hf_mgmt_cmd_drain(struct hf_mgmt *mg, struct hf_mgmt_conn *k);

/* mgmt_exec.c */
void hf_mgmt_cmd_nta_list(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_nta_change(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_flush(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_lookup(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_config_get(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_config_set(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_tls_reload(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_cache_save(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
void hf_mgmt_cmd_reload(struct hf_mgmt *mg, struct hf_mgmt_conn *k);
/* k's change is applied on every core: its reply. */
void hf_mgmt_finish_wait(struct hf_mgmt *mg, struct hf_mgmt_conn *k);

#endif
