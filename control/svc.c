/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast control/: readiness and the watchdog for the service manager
 * (control/hf_svc.h has the contract). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hf_log.h"
#include "control/hf_svc.h"

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int hf_svc_init(struct hf_svc *s, struct hf_fanout *out, char *err, size_t errlen)
{
	const char *path = getenv("NOTIFY_SOCKET"), *wd = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	size_t len;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->out = out;
	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(s->sa.sun_path)) {
		snprintf(err, errlen, "NOTIFY_SOCKET: \"%.64s\" is not a socket path or @name",
			 path);
		return hf_error(HF_EINVAL);
	}
	s->sa.sun_family = AF_UNIX;
	memcpy(s->sa.sun_path, path, len);
	if (path[0] == '@') /* the abstract namespace */
		s->sa.sun_path[0] = '\0';
	s->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	/* the watchdog is ours unless $WATCHDOG_PID names another process */
	if (wd != NULL &&
	    (wpid == NULL || strtoull(wpid, NULL, 10) == (unsigned long long)getpid())) {
		char *end;
		unsigned long long us = strtoull(wd, &end, 10);
		if (*end != '\0' || us == 0) {
			snprintf(err, errlen,
				 "WATCHDOG_USEC: \"%.32s\" is not a number of microseconds", wd);
			return hf_error(HF_EINVAL);
		}
		s->ping_ms = us / 2000u ? us / 2000u : 1;
	}
	return 0;
}

void hf_svc_fini(struct hf_svc *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void hf_svc_notify(struct hf_svc *s, const char *msg)
{
	if (s->fd < 0)
		return;
	if (sendto(s->fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&s->sa,
		   s->salen) < 0 &&
	    s->send_errors++ == 0)
		hf_log(HF_LOG_WARNING, "NOTIFY_SOCKET: cannot send \"%.20s\": %s", msg,
		       strerror(errno));
}

/* A NOP to every worker; its seq, or 0 when out of memory (tried again). */
static uint64_t send_nop(struct hf_svc *s)
{
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return 0;
	m->type = HF_MSG_NOP;
	if (hf_fanout_send(s->out, m) != 0)
		return 0;
	return hf_fanout_last_seq(s->out);
}

/* The workers that have not applied seq yet, as " 0 3". */
static void laggards(const struct hf_svc *s, uint64_t seq, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned w = 0; w < s->out->nw && n + 12 < size; w++)
		if (__atomic_load_n(&s->out->shared[w]->applied_seq, __ATOMIC_ACQUIRE) < seq)
			n += (size_t)snprintf(buf + n, size - n, " %u", w);
}

/* The control threads with no pass since the last ping, as " 1 3"; every
 * one's count taken for the next. */
static void stuck_threads(struct hf_svc *s, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned t = 1; t < HF_MAX_CTL_THREADS && s->passes[t - 1] != NULL; t++) {
		uint64_t p = __atomic_load_n(s->passes[t - 1], __ATOMIC_RELAXED);
		if (p == s->passes_seen[t - 1] && n + 12 < size)
			n += (size_t)snprintf(buf + n, size - n, " %u", t);
		s->passes_seen[t - 1] = p;
	}
}

bool hf_svc_tick(struct hf_svc *s, uint64_t now_ms)
{
	char msg[160];

	if (!s->running)
		return false;
	if (!s->ready) {
		if (s->ready_seq == 0) {
			s->ready_seq = send_nop(s);
			return s->ready_seq != 0;
		}
		if (!hf_fanout_applied(s->out, s->ready_seq))
			return false;
		s->ready = true;
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=answering on %u worker core(s)",
			 s->out->nw);
		hf_svc_notify(s, msg);
		hf_log(HF_LOG_INFO, "every worker answers (%u applied a first control message)%s",
		       s->out->nw, s->fd >= 0 ? ": READY=1 sent" : "");
		if (s->ping_ms) {
			hf_log(HF_LOG_INFO, "watchdog: WATCHDOG=1 every %llu ms",
			       (unsigned long long)s->ping_ms);
			s->next_ping = now_ms; /* the first ping at once */
			s->probe_seq = s->ready_seq;
		}
		return true;
	}
	if (s->ping_ms == 0 || now_ms < s->next_ping)
		return false;
	if (s->probe_seq == 0 || !hf_fanout_applied(s->out, s->probe_seq)) {
		if (!s->lagging && s->probe_seq != 0) {
			laggards(s, s->probe_seq, msg, sizeof(msg));
			hf_log(HF_LOG_WARNING,
			       "watchdog: worker(s)%s not making progress: WATCHDOG=1 "
			       "held back",
			       msg);
			s->lagging = true;
		}
		if (s->probe_seq == 0)
			s->probe_seq = send_nop(s);
		return false;
	}
	stuck_threads(s, msg, sizeof(msg));
	if (msg[0] != '\0') {
		if (!s->threads_lagging)
			hf_log(HF_LOG_WARNING,
			       "watchdog: control thread(s)%s not making progress: WATCHDOG=1 "
			       "held back",
			       msg);
		s->threads_lagging = true;
		s->next_ping = now_ms + s->ping_ms; /* each looked at over a whole period */
		return false;
	}
	if (s->threads_lagging)
		hf_log(HF_LOG_NOTICE, "watchdog: every control thread makes progress again");
	s->threads_lagging = false;
	hf_svc_notify(s, "WATCHDOG=1");
	s->pings++;
	if (s->lagging)
		hf_log(HF_LOG_NOTICE, "watchdog: every worker makes progress again");
	s->lagging = false;
	s->next_ping = now_ms + s->ping_ms;
	s->probe_seq = send_nop(s);
	return true;
}

void hf_svc_reloading(struct hf_svc *s)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)mono_us());
	hf_svc_notify(s, msg);
}
