/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the service manager's side (systemd Type=notify).
 * The sd_notify(3) datagram protocol, spoken directly on $NOTIFY_SOCKET
 * (docs/decisions.md says why not libsystemd):
 *
 *  - READY=1 once every worker has applied a first control message (a
 *    NOP barrier): every worker's loop is running and polling its queue.
 *  - WATCHDOG=1 every half $WATCHDOG_USEC, and only when every worker has
 *    applied the NOP probe sent with the previous ping and every other
 *    control thread (control-threads) has made a pass since: a worker or
 *    resolver thread whose loop is stuck (or the control loop itself,
 *    which sends the pings) stops them, and systemd restarts holdfast
 *    after WatchdogSec.
 *  - RELOADING=1 / READY=1 around a reload, STOPPING=1 at the end.
 *
 * Without $NOTIFY_SOCKET all of it is off (the NOP barrier still runs so
 * the log says when every worker answers). Control thread only.
 */
#ifndef HF_SVC_H
#define HF_SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/hf_limits.h"
#include "control/hf_fanout.h"

struct hf_svc {
	int fd; /* -1: no $NOTIFY_SOCKET */
	struct sockaddr_un sa;
	socklen_t salen;
	struct hf_fanout *out;
	uint64_t ping_ms;   /* half of $WATCHDOG_USEC, in ms; 0: no watchdog */
	uint64_t next_ping; /* ms: the next ping is due */
	uint64_t probe_seq; /* the NOP every worker must apply before the next ping */
	uint64_t ready_seq; /* the first NOP (0: not sent yet) */
	bool running;	    /* hf_control_run has started: the barrier may go out */
	bool ready;
	bool lagging; /* a ping is overdue: logged once, until it goes out */
	uint64_t pings, send_errors;
	/* control threads 1..N-1: each one's pass count (written by it), and
	 * its value at the last ping */
	const uint64_t *passes[HF_MAX_CTL_THREADS]; /* [t - 1], NULL: none */
	uint64_t passes_seen[HF_MAX_CTL_THREADS];
	bool threads_lagging;
};

/* From the environment ($NOTIFY_SOCKET, $WATCHDOG_USEC, $WATCHDOG_PID).
 * 0, or an error with err set (a $NOTIFY_SOCKET that cannot be used). */
int hf_svc_init(struct hf_svc *s, struct hf_fanout *out, char *err, size_t errlen);
void hf_svc_fini(struct hf_svc *s);
/* Per control pass, once s->running: readiness, then the watchdog. True
 * when it did work. (Tests that drive hf_control_poll themselves never set
 * running, so their rings carry only their own messages.) */
bool hf_svc_tick(struct hf_svc *s, uint64_t now_ms);
/* Send one notification ("RELOADING=1", ...); nothing without a socket. */
void hf_svc_notify(struct hf_svc *s, const char *msg);
/* RELOADING=1 with MONOTONIC_USEC (what systemd wants with it). */
void hf_svc_reloading(struct hf_svc *s);

#endif
