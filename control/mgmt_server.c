/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management socket server (protocol: hf_mgmt.h).
 *
 * Runs on the control thread, inside its loop: the listening socket and
 * every connection are non-blocking, with handlers in the control loop
 * (control/hf_loop.h), so an idle socket costs nothing. A
 * connection gets HF_MGMT_IO_MS to send one request line of at most
 * HF_MGMT_REQ_MAX bytes and to take its reply; anything else is answered
 * "ERR ..." (when it can be) and closed. At most HF_MGMT_CONNS at once.
 *
 * Access control is the socket file's: mode 0600 (owner only), or 0660
 * with control-socket-group; the kernel refuses anyone else's connect().
 *
 * Commands that change the workers (nta add/remove, cache flush, config
 * set) and cache lookup broadcast one control message and reply only when
 * every worker's applied_seq has reached it, with the number of cores and
 * the time it took. Their per-worker results (struct hf_msg_result) belong
 * to this file and are freed only once the message is applied everywhere,
 * even when the connection is gone or timed out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/hf_log.h"
#include "control/hf_control.h"
#include "control/mgmt_internal.h"

/* Results of messages a timed-out connection no longer waits for. */
struct orphan {
	uint64_t seq;
	struct hf_msg_result *res;
};

/* ---- connections ---- */

/* k stops waiting before its message is applied everywhere: its results
 * are freed later, when it is (a worker may still write them). */
static void orphan_res(struct hf_mgmt_conn *k)
{
	struct orphan *o;
	if (k->res == NULL)
		return;
	o = malloc(sizeof(*o));
	if (o != NULL) {
		o->seq = k->seq;
		o->res = k->res;
		if (hf_ptrq_push(&k->mg->orphans, o) != 0)
			free(o); /* leaked: freeing res while a worker may write it is worse */
	}
	k->res = NULL;
}

static void conn_close(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	for (unsigned i = 0; i < mg->nconns; i++)
		if (mg->conns[i] == k) {
			mg->conns[i] = mg->conns[--mg->nconns];
			break;
		}
	if (k->state == C_WAIT) {
		mg->waiting--;
		orphan_res(k);
	}
	free(k->res);
	hf_loop_del(mg->env.loop, k->fd);
	close(k->fd);
	free(k->out);
	free(k);
}

static void conn_write(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	while (k->outoff < k->outlen) {
		ssize_t n = send(k->fd, k->out + k->outoff, k->outlen - k->outoff, MSG_NOSIGNAL);
		if (n > 0) {
			k->outoff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT brings us back */
		conn_close(mg, k);
		return;
	}
	shutdown(k->fd, SHUT_WR);
	k->state = C_DRAIN;
	k->deadline_ms = hf_control_now_ms() + 1000;
	hf_loop_mod(mg->env.loop, k->fd, EPOLLIN, &k->io);
}

static void conn_drain(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	char sink[4096];
	for (;;) {
		ssize_t n = recv(k->fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(mg, k); /* the client closed (or failed) */
		return;
	}
}

/* Start sending: "OK\n" or "ERR msg\n", then body. */
void hf_mgmt_reply(struct hf_mgmt *mg, struct hf_mgmt_conn *k, const char *errmsg,
		   struct hf_emit *body)
{
	struct hf_emit e;

	hf_emit_init(&e, false);
	if (errmsg != NULL) {
		mg->errors++;
		hf_emit_rawf(&e, "ERR %s\n", errmsg);
		if (k->json) {
			struct hf_emit j;
			hf_emit_init(&j, true);
			hf_emit_obj_begin(&j, NULL);
			hf_emit_bool(&j, "ok", false);
			hf_emit_str(&j, "error", errmsg);
			hf_emit_obj_end(&j);
			hf_emit_raw(&e, j.buf ? j.buf : "", j.len);
			hf_emit_free(&j);
		}
	} else {
		hf_emit_raw(&e, "OK\n", 3);
		if (body != NULL && body->len)
			hf_emit_raw(&e, body->buf, body->len);
	}
	if (k->state == C_WAIT)
		mg->waiting--;
	k->state = C_WRITE;
	if (e.oom) {
		hf_emit_free(&e);
		conn_close(mg, k);
		return;
	}
	k->out = e.buf;
	k->outlen = e.len;
	k->outoff = 0;
	k->deadline_ms = hf_control_now_ms() + HF_MGMT_IO_MS;
	hf_loop_mod(mg->env.loop, k->fd, EPOLLOUT, &k->io);
	conn_write(mg, k);
}

void hf_mgmt_error(struct hf_mgmt *mg, struct hf_mgmt_conn *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hf_mgmt_error(struct hf_mgmt *mg, struct hf_mgmt_conn *k, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hf_mgmt_reply(mg, k, msg, NULL);
}

/* Wait for every worker to apply seq before answering. */
void hf_mgmt_wait(struct hf_mgmt *mg, struct hf_mgmt_conn *k, uint64_t seq,
		  struct hf_msg_result *res, uint64_t start_us)
{
	k->state = C_WAIT;
	k->seq = seq;
	k->res = res;
	k->wait_start_us = start_us;
	k->wait_deadline_ms = hf_control_now_ms() + HF_MGMT_APPLY_MS;
	mg->waiting++;
	/* stop reading: the reply is all that is left */
	hf_loop_mod(mg->env.loop, k->fd, 0, &k->io);
}

static void (*const handlers[])(struct hf_mgmt *, struct hf_mgmt_conn *) = {
	[HF_CMD_STATUS] = hf_mgmt_cmd_status,	      [HF_CMD_STATS] = hf_mgmt_cmd_stats,
	[HF_CMD_NTA_ADD] = hf_mgmt_cmd_nta_change,    [HF_CMD_NTA_REMOVE] = hf_mgmt_cmd_nta_change,
	[HF_CMD_NTA_LIST] = hf_mgmt_cmd_nta_list,     [HF_CMD_CACHE_LOOKUP] = hf_mgmt_cmd_lookup,
	[HF_CMD_CACHE_FLUSH] = hf_mgmt_cmd_flush,     [HF_CMD_CONFIG_GET] = hf_mgmt_cmd_config_get,
	[HF_CMD_CONFIG_SET] = hf_mgmt_cmd_config_set, [HF_CMD_TLS_RELOAD] = hf_mgmt_cmd_tls_reload,
	[HF_CMD_CACHE_SAVE] = hf_mgmt_cmd_cache_save, [HF_CMD_RELOAD] = hf_mgmt_cmd_reload,
	[HF_CMD_DRAIN] = hf_mgmt_cmd_drain,
};

/* One complete request line (without its newline) in k->in. */
static void handle_request(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	char *argv[HF_MGMT_MAX_ARGS + 1];
	int argc = 0;
	char err[512];
	const char *help;

	mg->requests++;
	if (hf_mgmt_split_request(k->in, k->inlen, &k->json, &argc, argv, err, sizeof(err)) != 0) {
		hf_mgmt_error(mg, k, "%s", err);
		return;
	}
	switch (hf_mgmt_parse(argc, argv, &k->req, &help, err, sizeof(err))) {
	case 0:
		break;
	case HF_MGMT_HELP: {
		struct hf_emit e;
		hf_emit_init(&e, false);
		hf_emit_raw(&e, help, strlen(help));
		hf_mgmt_reply(mg, k, NULL, &e);
		hf_emit_free(&e);
		return;
	}
	default:
		hf_mgmt_error(mg, k, "%s", err);
		return;
	}
	handlers[k->req.cmd](mg, k);
}

static void conn_read(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	for (;;) {
		ssize_t n = recv(k->fd, k->in + k->inlen, HF_MGMT_REQ_MAX - k->inlen, 0);
		char *nl;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* closed (or failed) before a whole request */
			conn_close(mg, k);
			return;
		}
		nl = memchr(k->in + k->inlen, '\n', (size_t)n);
		k->inlen += (size_t)n;
		if (nl != NULL) {
			k->inlen = (size_t)(nl - k->in);
			k->in[k->inlen] = '\0';
			handle_request(mg, k);
			return;
		}
		if (k->inlen >= HF_MGMT_REQ_MAX) {
			hf_mgmt_error(mg, k, "request too large (at most %d bytes)",
				      HF_MGMT_REQ_MAX);
			return;
		}
	}
}

/* The loop: a connection's socket is ready. */
static void conn_io(struct hf_handler *h, uint32_t events, uint64_t now)
{
	struct hf_mgmt_conn *k = hf_container_of(h, struct hf_mgmt_conn, io);
	struct hf_mgmt *mg = k->mg;

	(void)now;
	if (k->state == C_WAIT) {
		/* gone while its change is applied: nothing to reply to */
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(mg, k);
	} else if (k->state == C_READ)
		conn_read(mg, k);
	else if (k->state == C_WRITE)
		conn_write(mg, k);
	else if (k->state == C_DRAIN)
		conn_drain(mg, k);
}

/* The loop: the listening socket is ready. */
static void accept_all(struct hf_handler *h, uint32_t events, uint64_t now)
{
	struct hf_mgmt *mg = hf_container_of(h, struct hf_mgmt, listen);

	(void)events;
	for (;;) {
		int fd = accept4(mg->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hf_mgmt_conn *k;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (mg->nconns >= HF_MGMT_CONNS) {
			static const char busy[] = "ERR busy: too many management connections\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			mg->errors++;
			continue;
		}
		k = calloc(1, sizeof(*k));
		if (k == NULL) {
			close(fd);
			continue;
		}
		k->mg = mg;
		k->io.fn = conn_io;
		k->fd = fd;
		k->state = C_READ;
		k->deadline_ms = now + HF_MGMT_IO_MS;
		if (hf_loop_add(mg->env.loop, fd, EPOLLIN, &k->io) != 0) {
			close(fd);
			free(k);
			continue;
		}
		mg->conns[mg->nconns++] = k;
	}
}

static void collect_orphans(struct hf_mgmt *mg)
{
	struct orphan *o;
	while ((o = hf_ptrq_peek(&mg->orphans)) != NULL && hf_fanout_applied(mg->env.out, o->seq)) {
		hf_ptrq_pop(&mg->orphans);
		free(o->res);
		free(o);
	}
}

bool hf_mgmt_tick(struct hf_mgmt *mg, uint64_t now_ms)
{
	bool waiting;

	if (mg->orphans.n)
		collect_orphans(mg);
	for (unsigned i = 0; i < mg->nconns;) {
		struct hf_mgmt_conn *k = mg->conns[i];
		unsigned before = mg->nconns;
		if (k->state == C_WAIT) {
			if (hf_fanout_applied(mg->env.out, k->seq))
				hf_mgmt_finish_wait(mg, k);
			else if (now_ms >= k->wait_deadline_ms && (orphan_res(k), true))
				hf_mgmt_error(mg, k, "not applied by every worker core within %ds",
					      HF_MGMT_APPLY_MS / 1000);
		} else if (now_ms >= k->deadline_ms) {
			if (k->state == C_READ)
				hf_mgmt_error(mg, k, "no complete request within %ds",
					      HF_MGMT_IO_MS / 1000);
			else
				conn_close(mg, k);
		}
		/* a closed connection was replaced by the last one: look at i again */
		if (mg->nconns == before && i < mg->nconns && mg->conns[i] == k)
			i++;
	}
	if (mg->env.cfg->stats_textfile[0] && now_ms >= mg->textfile_next_ms) {
		mg->textfile_next_ms = now_ms + mg->env.cfg->stats_textfile_ms;
		hf_mgmt_write_textfile(mg);
	}
	waiting = mg->waiting != 0;
	return waiting;
}

/* ---- set-up ---- */

/* Is something already listening on path? (a stale socket file is not) */
static bool in_use(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;
	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return used;
}

int hf_mgmt_init(struct hf_mgmt *mg, const struct hf_mgmt_env *env, char *err, size_t errlen)
{
	const char *path = env->cfg->control_socket;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t mode = 0600;
	gid_t gid = (gid_t)-1;
	char dir[sizeof(sa.sun_path)], *slash;

	memset(mg, 0, sizeof(*mg));
	mg->env = *env;
	mg->lfd = -1;
	mg->started_ms = hf_control_now_ms();
	mg->started_unix = (uint64_t)time(NULL);
	mg->base = calloc(mg->env.out->nw ? mg->env.out->nw : 1, sizeof(*mg->base));
	if (mg->base == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return hf_error(HF_ENOMEM);
	}
	if (path[0] == '\0')
		return 0; /* no control socket */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control-socket: \"%s\" is too long for a Unix socket", path);
		return hf_error(HF_EINVAL);
	}
	if (mg->env.cfg->control_socket_group[0]) {
		struct group *g = getgrnam(mg->env.cfg->control_socket_group);
		if (g == NULL) {
			snprintf(err, errlen, "control-socket-group: no group \"%s\"",
				 mg->env.cfg->control_socket_group);
			return hf_error(HF_EINVAL);
		}
		gid = g->gr_gid;
		mode = 0660;
	}
	/* the directory: created owner-only if missing (/run/holdfast) */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, gid != (gid_t)-1 ? 0750 : 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "control-socket: cannot create %s: %s", dir,
				 strerror(errno));
			return hf_error(HF_EIO);
		}
		if (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) != 0) {
			/* only needed when we just made it; an existing dir keeps its owner */
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control-socket: %s exists and is not a socket",
				 path);
			return hf_error(HF_EEXIST);
		}
		if (in_use(path)) {
			snprintf(err, errlen,
				 "control-socket: %s: another holdfast is listening there", path);
			return hf_error(HF_EEXIST);
		}
		unlink(path); /* stale, from a holdfast that is gone */
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	mg->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (mg->lfd < 0) {
		snprintf(err, errlen, "control-socket: socket: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	{
		/* bind under a umask that never lets the file be wider than mode */
		mode_t old = umask(0177);
		int rc = bind(mg->lfd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
		if (rc != 0) {
			snprintf(err, errlen, "control-socket: cannot bind %s: %s", path,
				 strerror(errno));
			return hf_error(HF_EIO);
		}
		/* ours from now on: hf_mgmt_fini removes it (and only then) */
		memcpy(mg->path, path, strlen(path) + 1);
	}
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) || chmod(path, mode) != 0) {
		snprintf(err, errlen, "control-socket: cannot set the owner/mode of %s: %s", path,
			 strerror(errno));
		return hf_error(HF_EIO);
	}
	if (listen(mg->lfd, 16) != 0) {
		snprintf(err, errlen, "control-socket: listen: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	mg->listen.fn = accept_all;
	if (hf_loop_add(mg->env.loop, mg->lfd, EPOLLIN, &mg->listen) != 0) {
		snprintf(err, errlen, "control-socket: epoll: %s", strerror(errno));
		return hf_error(HF_EIO);
	}
	hf_log(HF_LOG_INFO, "control socket %s (mode %04o%s%s)", path, (unsigned)mode,
	       gid != (gid_t)-1 ? ", group " : "",
	       gid != (gid_t)-1 ? mg->env.cfg->control_socket_group : "");
	return 0;
}

void hf_mgmt_fini(struct hf_mgmt *mg)
{
	while (mg->nconns)
		conn_close(mg, mg->conns[0]);
	/* the workers have stopped: nothing writes a result any more */
	while (mg->orphans.n) {
		struct orphan *o = hf_ptrq_pop(&mg->orphans);
		free(o->res);
		free(o);
	}
	hf_ptrq_free(&mg->orphans);
	if (mg->lfd >= 0) {
		hf_loop_del(mg->env.loop, mg->lfd);
		close(mg->lfd);
		if (mg->path[0] != '\0')
			unlink(mg->path);
	}
	for (unsigned i = 0; i < mg->nports; i++)
		free(mg->ports[i].desc);
	free(mg->ports);
	free(mg->base);
	mg->ports = NULL;
	mg->nports = 0;
	mg->base = NULL;
	mg->lfd = -1;
}

int hf_mgmt_add_port(struct hf_mgmt *mg, const char *desc, uint16_t port_id)
{
	struct hf_ctl_port *np = realloc(mg->ports, (mg->nports + 1) * sizeof(*np));
	if (np == NULL)
		return hf_error(HF_ENOMEM);
	mg->ports = np;
	memset(&np[mg->nports], 0, sizeof(np[mg->nports]));
	np[mg->nports].desc = strdup(desc);
	if (np[mg->nports].desc == NULL)
		return hf_error(HF_ENOMEM);
	np[mg->nports].id = port_id;
	mg->nports++;
	return 0;
}

void hf_mgmt_set_pools(struct hf_mgmt *mg, struct rte_mempool *const *pools, unsigned n)
{
	mg->npools = HF_MIN(n, (unsigned)HF_MAX_WORKERS);
	memcpy(mg->pools, pools, mg->npools * sizeof(pools[0]));
}