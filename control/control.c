/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the control thread. It owns the loop
 * (control/hf_loop.h) and the parts that hang off it, and wires them
 * together; none of them knows this file:
 *
 *   control.c  --> fanout (messages to the workers)
 *              --> fwd    (resolution; reports answers through callbacks)
 *              --> nta    (the NTA list)  --> fwd (rechecks), fanout
 *              --> mgmt   (the socket)    --> nta, fanout
 *
 * One pass: retry the backlogs, take MISS/REFRESH from every worker's ring
 * and hand each to the forwarder, run the loop (sockets ready, deadlines
 * due; it sleeps up to 1 ms when the previous pass did nothing), NTA
 * expiries and rechecks, management ticks, and free what every worker
 * applied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "common/hf_log.h"
#include "control/hf_control.h"
#include "control/hf_ctl_thread.h"
#include "control/hf_fanout.h"
#include "control/hf_file.h"
#include "control/hf_fwd.h"
#include "control/hf_loop.h"
#include "control/hf_mgmt_server.h"
#include "control/hf_nsec_copy.h"
#include "control/hf_nta.h"
#include "control/hf_snapshot.h"
#include "control/hf_reload.h"
#include "control/hf_svc.h"
#include "validator/hf_validator.h"

#define HF_CTL_INTAKE_BURST 64 /* hf_msg_query elements per ring per pass */
/* timers armed at once: the forwarder's, and some for the other parts */
#define HF_CTL_TIMERS	  (HF_FWD_MAX_TIMERS + 64u)
#define HF_CTL_DONE_BURST 32 /* answers per resolver thread per pass */

struct hf_control {
	struct hf_config cfg; /* control's copy; config set changes it */
	struct hf_control_stats st;
	struct hf_loop loop;
	struct hf_fanout out;
	struct hf_val *val; /* NULL with dnssec: no */
	struct hf_fwd *fwd;
	struct hf_config fwd_cfg; /* the forwarder's copy: its share of the fetch limits */
	struct hf_nta_list ntas;
	struct hf_mgmt mgmt;
	struct hf_snap_job snap; /* holdfastctl cache save */
	struct hf_svc svc;	 /* readiness and the watchdog (systemd) */
	unsigned nw;
	unsigned nthreads;	      /* control-threads: this one (0) and the resolver threads */
	struct rte_ring **to_control; /* [nthreads * nw]: worker w -> thread t at [t * nw + w] */
	struct hf_ctl_thread *threads[HF_MAX_CTL_THREADS];	  /* [1 .. nthreads-1] */
	const struct hf_ctl_thread_pub *pubs[HF_MAX_CTL_THREADS]; /* [t - 1]: for stats */
	/* NTA changes: the resolver threads' answers made before one that
	 * covers their name are resolved again (thread_answer) */
	struct hf_ctl_nta_log nta_log;
	/* every change sent to the resolver threads (to_threads): their NSEC
	 * copies made before the last one are not sent on (thread_answer) */
	uint64_t gen;
	bool stats_print;    /* set (atomically) by hf_control_request_stats */
	bool reload_req;     /* set (atomically) by hf_control_request_reload */
	uint64_t reload_seq; /* a reload's CONFIG: READY=1 once every core applied it */
	int argc;	     /* the arguments a reload reads again */
	char **argv;
	char *anchor_text; /* the trust-anchor file's text in force; NULL: built-in anchors */
	bool busy;	   /* the last pass did work */
	struct hf_msg_query intake[HF_CTL_INTAKE_BURST];
	struct hf_ctl_done done[HF_CTL_DONE_BURST];
};

uint64_t hf_control_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hf_control_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int hf_control_broadcast(struct hf_control *c, struct hf_msg_ctl *m)
{
	return hf_fanout_send(&c->out, m);
}

bool hf_control_applied(const struct hf_control *c, uint64_t seq)
{
	return hf_fanout_applied(&c->out, seq);
}

uint64_t hf_control_last_seq(const struct hf_control *c)
{
	return hf_fanout_last_seq(&c->out);
}

/* ---- the loop ---- */

static bool intake(struct hf_control *c, uint64_t now)
{
	return hf_ctl_intake(c->to_control, c->nw, c->intake, HF_CTL_INTAKE_BURST, c->fwd, &c->st,
			     now);
}

/* ---- the resolver threads (control-threads; control/hf_ctl_thread.h) ---- */

static void to_threads(struct hf_control *c, struct hf_ctl_cmd *proto, const char *what)
{
	proto->gen = ++c->gen;
	for (unsigned t = 1; t < c->nthreads; t++) {
		struct hf_ctl_cmd *cmd = hf_ctl_cmd_new(proto->type);
		if (cmd != NULL) {
			*cmd = *proto;
			cmd->cfg = NULL;
			cmd->text = NULL;
		}
		if (cmd != NULL && proto->cfg != NULL &&
		    (cmd->cfg = malloc(sizeof(*cmd->cfg))) != NULL)
			hf_ctl_cfg_share(cmd->cfg, proto->cfg, c->nthreads);
		if (cmd != NULL && proto->text != NULL)
			cmd->text = strdup(proto->text);
		if (cmd == NULL || (proto->cfg != NULL && cmd->cfg == NULL) ||
		    (proto->text != NULL && cmd->text == NULL)) {
			hf_ctl_cmd_free(cmd);
			hf_log(HF_LOG_ERR, "control: out of memory: thread %u misses %s", t, what);
			continue;
		}
		if (hf_ctl_thread_send(c->threads[t], cmd) != 0)
			hf_log(HF_LOG_ERR, "control: out of memory: thread %u misses %s", t, what);
	}
}

/* control's configuration changed (reload, config set): the forwarders'
 * copies follow. */
static void cfg_changed(struct hf_control *c, bool fwd_changed)
{
	struct hf_ctl_cmd cmd = {.type = HF_CTL_CMD_CONFIG, .fwd_changed = fwd_changed};

	hf_ctl_cfg_share(&c->fwd_cfg, &c->cfg, c->nthreads);
	cmd.cfg = &c->cfg;
	to_threads(c, &cmd, "a configuration change");
}

static void mgmt_cfg_changed(void *arg)
{
	cfg_changed(arg, false);
}

/* The validator's keys flushed on thread 0 (holdfastctl flush): on the others too. */
static void mgmt_val_flush(void *arg, bool all, const uint8_t *name, size_t len)
{
	struct hf_ctl_cmd cmd = {.type = HF_CTL_CMD_VAL_FLUSH, .all = all};

	memcpy(cmd.nta.name, name, len);
	cmd.nta.name_len = (uint8_t)len;
	to_threads(arg, &cmd, "a key-cache flush");
}

static void nta_changed(void *arg, const uint8_t *name, size_t len, const struct hf_nta *n)
{
	struct hf_control *c = arg;
	struct hf_ctl_cmd cmd = {.type = n ? HF_CTL_CMD_NTA_SET : HF_CTL_CMD_NTA_DEL};

	cmd.epoch = hf_ctl_nta_log_add(&c->nta_log, name, len);
	if (n != NULL) {
		cmd.nta = *n; /* its name in lower case */
	} else {
		memcpy(cmd.nta.name, name, len);
		cmd.nta.name_len = (uint8_t)len;
	}
	to_threads(c, &cmd, "an NTA change");
}

/* A zone validates again (hf_nta_seen): the other threads' validators
 * forget what they knew of it as bogus, and their failures under it made
 * before are resolved again, as after an NTA change. */
static void zone_repaired(void *arg, const uint8_t *name, size_t len)
{
	struct hf_control *c = arg;
	struct hf_ctl_cmd cmd = {.type = HF_CTL_CMD_VAL_FLUSH};

	if (c->nthreads < 2)
		return;
	cmd.epoch = hf_ctl_nta_log_add(&c->nta_log, name, len);
	memcpy(cmd.nta.name, name, len);
	cmd.nta.name_len = (uint8_t)len;
	to_threads(c, &cmd, "a repaired zone");
}

/* A resolver thread's answer: to every worker, as thread 0's own are; one
 * that an NTA change has made stale goes back to be resolved again (its
 * clients stay parked meanwhile). */
static void thread_answer(struct hf_control *c, struct hf_ctl_thread *t,
			  const struct hf_ctl_done *d, uint64_t now)
{
	struct hf_msg_ctl *m = d->m;

	if (m->type == HF_MSG_NSEC) {	/* a copy for the cores: d->zone is its zone */
		if (d->gen != c->gen) { /* made before a flush, new anchors or knobs, an NTA */
			free(m);
			return;
		}
		if (hf_nsec_send(&c->out, &c->ntas, d->zone, d->zone_len, m) != 0)
			hf_log(HF_LOG_ERR, "control: out of memory for an NSEC copy");
		return;
	}
	if (hf_ctl_nta_log_stale(&c->nta_log, d->epoch, m->key.name, m->key.name_len)) {
		struct hf_ctl_cmd *cmd = hf_ctl_cmd_new(HF_CTL_CMD_RESOLVE);
		if (cmd != NULL) {
			cmd->q.type = HF_MSG_MISS;
			cmd->q.hash = m->hash;
			cmd->q.key = m->key;
			hf_ctl_thread_send(t, cmd);
		} /* else out of memory: its clients time out */
		free(m);
		return;
	}
	if (hf_fanout_send_fill(&c->out, m) != 0) {
		hf_log(HF_LOG_ERR, "control: out of memory for a FILL");
		return;
	}
	hf_nta_seen(&c->ntas, &m->key, &m->ans, d->zone, d->zone_len, now);
}

static bool threads_pass(struct hf_control *c, uint64_t now)
{
	bool work = false;
	for (unsigned t = 1; t < c->nthreads; t++) {
		unsigned n;
		if (hf_ctl_thread_flush(c->threads[t]))
			work = true;
		n = hf_ctl_thread_take(c->threads[t], c->done, HF_CTL_DONE_BURST);
		for (unsigned i = 0; i < n; i++)
			thread_answer(c, c->threads[t], &c->done[i], now);
		if (n)
			work = true;
	}
	return work;
}

static void threads_stop(struct hf_control *c)
{
	for (unsigned t = 1; t < c->nthreads; t++)
		hf_ctl_thread_stop(c->threads[t]);
}

struct hf_msg_ctl *hf_control_config_msg(const struct hf_config *cfg)
{
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->type = HF_MSG_CONFIG;
	m->conf.stale_window_ms = cfg->stale_window_ms;
	m->conf.client_timeout_ms = cfg->client_timeout_ms;
	m->conf.stale_ttl = cfg->stale_ttl;
	m->conf.failure_recheck_ms = cfg->failure_recheck_ms;
	m->conf.miss_timeout_ms = hf_control_miss_timeout_ms(cfg);
	m->cookie_on = cfg->cookie_secret.set;
	memcpy(m->cookie_secret, cfg->cookie_secret.key, HF_COOKIE_SECRET_LEN);
	hf_nsec_knobs(cfg, &m->aggr);
	return m;
}

void hf_control_set_args(struct hf_control *c, int argc, char **argv)
{
	c->argc = argc;
	c->argv = argv;
}

void hf_control_request_reload(struct hf_control *c)
{
	__atomic_store_n(&c->reload_req, true, __ATOMIC_RELEASE);
}

/*
 * The anchors a reload would load: the trust-anchor file read and parsed
 * again (*text, malloc()ed) or the built-in ones (NULL), *changed when they
 * differ from those in force. 0, or an error with why set; nothing is
 * loaded yet.
 */
static int anchors_prepare(struct hf_control *c, const struct hf_config *out, char **text,
			   bool *changed, char *why, size_t whylen)
{
	char verr[256] = "";
	unsigned n = 0;
	int rc;

	*text = NULL;
	*changed = false;
	if (c->val == NULL) /* dnssec: no (a restart key) */
		return 0;
	if (out->trust_anchor[0] == '\0') {
		*changed = c->anchor_text != NULL;
		return 0;
	}
	*text = hf_val_read_anchor_file(out->trust_anchor, verr, sizeof(verr));
	if (*text == NULL) {
		snprintf(why, whylen, "trust-anchor: %s", verr);
		return hf_error(HF_EIO);
	}
	rc = hf_val_check_anchors_str(*text, &n, verr, sizeof(verr));
	if (rc != 0 || n == 0) {
		snprintf(why, whylen, "trust-anchor: %s: %s", out->trust_anchor,
			 rc == 0 ? "no DS or DNSKEY record in it" : verr);
		free(*text);
		*text = NULL;
		return hf_error(HF_EINVAL);
	}
	*changed = c->anchor_text == NULL || strcmp(*text, c->anchor_text) != 0;
	return 0;
}

/*
 * Read the configuration again and take over what can change at run time
 * (control/hf_reload.h): control's copy (the forwarder, the NTA list and
 * management read it at each use) and a CONFIG to every worker, which
 * also makes the change acknowledged like an NTA (*seq). Anything wrong:
 * nothing changes. One line on stderr either way.
 */
static void applied_add(struct hf_reload_diff *d, const char *key)
{
	size_t n = strlen(d->applied);
	snprintf(d->applied + n, sizeof(d->applied) - n, "%s%s", n ? " " : "", key);
	d->napplied++;
}

static int reload(void *arg, struct hf_reload_diff *d, uint64_t *seq, char *err, size_t errlen)
{
	static struct hf_config next, out; /* control thread only */
	struct hf_control *c = arg;
	struct hf_msg_ctl *m = NULL;
	char why[600], *anchors = NULL;
	bool anchors_changed = false;
	int rc;

	memset(d, 0, sizeof(*d));
	why[0] = '\0';
	if (c->argv == NULL) {
		snprintf(why, sizeof(why), "no command line to read again");
		rc = hf_error(HF_EINVAL);
		goto fail;
	}
	hf_config_defaults(&next);
	rc = hf_config_args(&next, c->argc, c->argv, why, sizeof(why));
	if (rc == 0)
		rc = hf_config_check(&next, why, sizeof(why));
	if (rc == 0)
		rc = hf_reload_merge(&c->cfg, &next, &out, d, why, sizeof(why));
	if (rc == 0 && out.stats_textfile[0] != '\0' &&
	    strcmp(out.stats_textfile, c->cfg.stats_textfile) != 0)
		rc = hf_file_dir_check("stats-textfile", out.stats_textfile, why, sizeof(why));
	if (rc == 0)
		rc = anchors_prepare(c, &out, &anchors, &anchors_changed, why, sizeof(why));
	/* DNS over TLS: the certificate and key files read again (a renewal
	 * keeps their paths), as `holdfastctl tls reload` does; in force from
	 * here on even if memory fails below */
	if (rc == 0 && c->mgmt.tls_reload != NULL)
		rc = c->mgmt.tls_reload(c->mgmt.tls_arg, why, sizeof(why));
	if (rc != 0)
		goto fail;
	m = hf_control_config_msg(&out);
	if (m == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		rc = hf_error(HF_ENOMEM);
		goto fail;
	}
	/* checked above: only memory can fail from here on */
	if (anchors_changed) {
		rc = anchors ? hf_val_load_anchors_str(c->val, anchors, true, why, sizeof(why))
			     : hf_val_load_default_anchors(c->val, why, sizeof(why));
		if (rc != 0) {
			free(m);
			goto fail;
		}
		m->aggr.drop_all = 1; /* the cores' NSECs go with the keys */
		free(c->anchor_text);
		c->anchor_text = anchors;
		anchors = NULL;
		{
			struct hf_ctl_cmd cmd = {.type = HF_CTL_CMD_ANCHORS,
						 .text = c->anchor_text};
			to_threads(c, &cmd, "the new trust anchors");
		}
		if (strstr(d->applied, "trust-anchor") == NULL) /* same path, new text */
			applied_add(d, "trust-anchor");
	}
	if (c->mgmt.tls_reload != NULL && strstr(d->restart, "tls-") == NULL)
		applied_add(d, "tls-certificate");
	free(anchors);
	/* out of memory here leaves new anchors in force, and says so */
	if (hf_fanout_send(&c->out, m) != 0) {
		snprintf(why, sizeof(why), "out of memory%s",
			 anchors_changed ? ": the new trust anchors are in force; otherwise" : "");
		rc = hf_error(HF_ENOMEM);
		goto fail;
	}
	*seq = hf_fanout_last_seq(&c->out);
	hf_svc_reloading(&c->svc);
	c->reload_seq = *seq;
	c->cfg = out;
	hf_log_init((int)out.log_level);
	cfg_changed(c, strstr(d->applied, "forwarder") != NULL);
	if (strstr(d->applied, "forwarder") != NULL)
		hf_fwd_forwarders_changed(c->fwd);
	hf_log(HF_LOG_NOTICE, "reload: applied: %s; needs a restart (old value kept): %s",
	       d->napplied ? d->applied : "nothing changed", d->nrestart ? d->restart : "none");
	return 0;
fail:
	free(anchors);
	snprintf(err, errlen, "reload: %s: nothing changed", why);
	hf_log(HF_LOG_ERR, "%s", err);
	return rc;
}

bool hf_control_poll(struct hf_control *c)
{
	bool work = false;
	uint64_t now = hf_control_now_ms();

	if (hf_fanout_pass(&c->out))
		work = true;
	if (intake(c, now))
		work = true;
	if (threads_pass(c, now))
		work = true;
	/* also the loop's idle sleep */
	if (hf_loop_run(&c->loop, c->busy || work ? 0 : 1) != 0)
		work = true;
	now = hf_control_now_ms();
	if (hf_nta_tick(&c->ntas, now))
		work = true;
	/* a command waiting on the cores keeps the loop spinning: its reply
	 * (and the time it reports) is not held up by an idle sleep */
	if (hf_mgmt_tick(&c->mgmt, now))
		work = true;
	/* a save whose `holdfastctl` went away is written all the same */
	if (c->snap.busy && hf_snap_job_finish(&c->snap, &c->out, c->cfg.cache_snapshot, stderr))
		work = true;
	if (hf_svc_tick(&c->svc, now))
		work = true;
	if (hf_fanout_pass(&c->out))
		work = true;
	if (__atomic_load_n(&c->reload_req, __ATOMIC_ACQUIRE)) {
		struct hf_reload_diff d;
		uint64_t seq;
		char err[700];
		__atomic_store_n(&c->reload_req, false, __ATOMIC_RELAXED);
		reload(c, &d, &seq, err, sizeof(err)); /* its line on stderr */
		work = true;
	}
	if (c->reload_seq != 0 && hf_fanout_applied(&c->out, c->reload_seq)) {
		c->reload_seq = 0;
		hf_svc_notify(&c->svc, "READY=1");
	}
	if (__atomic_load_n(&c->stats_print, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&c->stats_print, false, __ATOMIC_RELAXED);
		hf_control_print_stats(c, stderr);
	}
	c->busy = work;
	return work;
}

void hf_control_request_stats(struct hf_control *c)
{
	__atomic_store_n(&c->stats_print, true, __ATOMIC_RELEASE);
}

void hf_control_print_stats(const struct hf_control *c, FILE *f)
{
	struct hf_control_stats st;
	char line[4096];
	size_t n;

	hf_control_get_stats(c, &st);
	hf_counters_line(line, sizeof(line), &st, hf_control_counters, hf_control_ncounters);
	n = strlen(line);
	for (unsigned i = 0; i < HF_ARRAY_LEN(st.val_ede); i++)
		if (st.val_ede[i] && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, " validation.ede.%u %llu",
					      i, (unsigned long long)st.val_ede[i]);
	fprintf(f, "holdfast: control: in_flight %llu dnssec %s %s\n",
		(unsigned long long)st.in_flight, c->val ? "on" : "off", line);
	fflush(f);
}

/* The validator kept an NSEC record: a copy for every core (RFC 8198 on
 * the cores, control/hf_nsec_copy.h). */
static void val_keep(void *arg, const uint8_t *zone, size_t zlen, const uint8_t *rec, size_t len,
		     bool is3)
{
	struct hf_control *c = arg;
	if (hf_nsec_copy(&c->out, &c->ntas, &c->cfg, zone, zlen, rec, len, is3) != 0)
		hf_log(HF_LOG_ERR, "control: out of memory for an NSEC copy");
}

/* dnssec: yes: a validator with the configured anchors, or an error naming
 * the trust-anchor file (and line). */
static int val_init(struct hf_control *c, char *err, size_t errlen)
{
	const struct hf_config *cfg = &c->cfg;
	struct hf_val_conf vc;
	char verr[256];
	int rc;

	if (!cfg->dnssec)
		return 0;
	hf_ctl_val_conf(cfg, &vc);
	c->val = hf_val_create(&vc, verr, sizeof(verr));
	if (c->val == NULL) {
		snprintf(err, errlen, "dnssec: cannot create the validator: %s", verr);
		return hf_error(HF_ENOMEM);
	}
	hf_val_set_keep_hook(c->val, val_keep, c);
	if (cfg->trust_anchor[0] == '\0')
		return 0;
	verr[0] = '\0';
	rc = hf_val_load_anchors(c->val, cfg->trust_anchor, verr, sizeof(verr));
	if (rc == HF_EIO) {
		snprintf(err, errlen, "trust-anchor: %s: cannot open: %s", cfg->trust_anchor,
			 strerror(errno));
		return rc;
	}
	if (rc != 0) {
		snprintf(err, errlen, "trust-anchor: %s: %s", cfg->trust_anchor, verr);
		return rc;
	}
	if (hf_val_anchor_count(c->val) == 0) {
		snprintf(err, errlen, "trust-anchor: %s: no DS or DNSKEY record in it",
			 cfg->trust_anchor);
		return hf_error(HF_EINVAL);
	}
	return 0;
}

uint32_t hf_control_miss_timeout_ms(const struct hf_config *cfg)
{
	/* Control answers every question within attempts x timeout; a parked
	 * client waits a little longer before it gets SERVFAIL on its own. */
	return (uint32_t)(cfg->upstream_timeout_ms * (cfg->upstream_attempts + 1) + 500);
}

int hf_control_add_port(struct hf_control *c, const char *desc, uint16_t port_id)
{
	return hf_mgmt_add_port(&c->mgmt, desc, port_id);
}

void hf_control_set_tls_reload(struct hf_control *c, int (*fn)(void *arg, char *err, size_t errlen),
			       void *arg)
{
	c->mgmt.tls_reload = fn;
	c->mgmt.tls_arg = arg;
}

void hf_control_set_exception(struct hf_control *c, const struct hf_exc_counters *x)
{
	c->mgmt.exc = x;
}

void hf_control_set_pools(struct hf_control *c, struct rte_mempool *const *pools, unsigned n)
{
	hf_mgmt_set_pools(&c->mgmt, pools, n);
}

void hf_control_run(struct hf_control *c, volatile bool *stop)
{
	c->svc.running = true;
	while (!*stop)
		hf_control_poll(c);
	threads_stop(c);
	hf_svc_notify(&c->svc, "STOPPING=1");
}

void hf_control_get_stats(const struct hf_control *c, struct hf_control_stats *st)
{
	hf_mgmt_get_stats(&c->mgmt, st);
}

const struct hf_nta_list *hf_control_ntas(const struct hf_control *c)
{
	return &c->ntas;
}

uint64_t hf_control_thread_resolutions(const struct hf_control *c, unsigned t)
{
	if (t == 0)
		return c->st.resolutions;
	return t < c->nthreads ? hf_ctl_thread_pub(c->threads[t])->st.resolutions : 0;
}

/* ---- wiring: the forwarder's callbacks ---- */

static int fwd_answer(void *arg, const struct hf_cache_key *key, uint32_t hash,
		      const struct hf_dns_answer *a)
{
	struct hf_control *c = arg;
	int rc = hf_fanout_fill(&c->out, key, hash, a);
	hf_nta_seen_answer(&c->ntas, key, a, hf_control_now_ms()); /* a zone broken or repaired */
	return rc;
}

static void fwd_internal_done(void *arg, const uint8_t *name, size_t len, uint8_t verdict,
			      uint16_t ede, const char *text)
{
	struct hf_control *c = arg;
	hf_nta_recheck_done(&c->ntas, name, len, verdict, ede, text);
}

static bool fwd_nta_covers(void *arg, const uint8_t *name, size_t len)
{
	struct hf_control *c = arg;
	return hf_nta_covers(&c->ntas, name, len);
}

struct hf_control *hf_control_create(const struct hf_config *cfg,
				     const struct hf_control_workers *w, char *err, size_t errlen)
{
	struct hf_fwd_ops ops = {
		.answer = fwd_answer,
		.internal_done = fwd_internal_done,
		.nta_covers = fwd_nta_covers,
	};
	struct hf_mgmt_env env;
	struct hf_control *c;
	unsigned nt = w->nthreads ? w->nthreads : 1;

	if (nt != cfg->control_threads || nt > HF_MAX_CTL_THREADS) {
		snprintf(err, errlen, "control: rings for %u control thread(s), control-threads %u",
			 nt, cfg->control_threads);
		return NULL;
	}
	if (cfg->nforwarders == 0) {
		snprintf(err, errlen, "no forwarder configured");
		return NULL;
	}
	if (w->n > 0 && (w->to_control == NULL || w->to_worker == NULL || w->shared == NULL)) {
		snprintf(err, errlen, "control: worker rings missing");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	c->nw = w->n;
	c->nthreads = nt;
	c->loop.epfd = -1;
	c->mgmt.lfd = -1;
	c->svc.fd = -1;
	c->to_control = calloc(nt * w->n + 1, sizeof(*c->to_control));
	if (c->to_control == NULL ||
	    hf_fanout_init(&c->out, w->n, w->to_worker, w->shared, w->tsc_per_ms, &c->st) != 0) {
		snprintf(err, errlen, "control: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < nt * w->n; i++)
		c->to_control[i] = w->to_control[i];
	/* holdfast replaces these files, often as root: a directory others
	 * could plant names in is refused rather than trusted */
	if ((cfg->nta_state_file[0] != '\0' &&
	     hf_file_dir_check("nta-state-file", cfg->nta_state_file, err, errlen) != 0) ||
	    (cfg->stats_textfile[0] != '\0' &&
	     hf_file_dir_check("stats-textfile", cfg->stats_textfile, err, errlen) != 0) ||
	    (cfg->cache_snapshot[0] != '\0' &&
	     hf_file_dir_check("cache-snapshot", cfg->cache_snapshot, err, errlen) != 0))
		goto fail;
	if (hf_loop_init(&c->loop, HF_CTL_TIMERS, err, errlen) != 0)
		goto fail;
	if (val_init(c, err, errlen) != 0)
		goto fail;
	if (c->val != NULL && cfg->trust_anchor[0] != '\0' && /* what a reload compares with */
	    (c->anchor_text = hf_val_read_anchor_file(cfg->trust_anchor, err, errlen)) == NULL)
		goto fail;
	ops.arg = c;
	hf_ctl_cfg_share(&c->fwd_cfg, &c->cfg, nt);
	c->fwd = hf_fwd_create(&c->fwd_cfg, c->val, &c->loop, &c->st, &ops, nt, err, errlen);
	if (c->fwd == NULL)
		goto fail;
	if (hf_nta_init(&c->ntas, &c->cfg, c->val, &c->out, c->fwd, err, errlen) != 0)
		goto fail;
	env = (struct hf_mgmt_env){
		.loop = &c->loop,
		.cfg = &c->cfg,
		.out = &c->out,
		.ntas = &c->ntas,
		.fwd = c->fwd,
		.val = c->val,
		.st = &c->st,
		.to_control = c->to_control,
		.ntransport = w->ntransport,
		.snap = &c->snap,
		.reload = reload,
		.reload_arg = c,
		.nthreads = nt,
		.pubs = c->pubs,
		.cfg_changed = mgmt_cfg_changed,
		.val_flush = mgmt_val_flush,
		.sync_arg = c,
	};
	if (hf_mgmt_init(&c->mgmt, &env, err, errlen) != 0)
		goto fail;
	if (hf_svc_init(&c->svc, &c->out, err, errlen) != 0)
		goto fail;
	for (unsigned t = 1; t < nt; t++) {
		struct hf_ctl_thread_conf tc = {
			.idx = t,
			.nthreads = nt,
			.cfg = &c->cfg,
			.anchor_text = c->anchor_text,
			.ntas = &c->ntas,
			.nta_epoch = c->nta_log.epoch,
			.gen = c->gen,
			.nw = w->n,
			.in = c->to_control + t * w->n,
			.tsc_per_ms = w->tsc_per_ms,
		};
		c->threads[t] = hf_ctl_thread_create(&tc, err, errlen);
		if (c->threads[t] == NULL)
			goto fail;
		c->pubs[t - 1] = hf_ctl_thread_pub(c->threads[t]);
		c->svc.passes[t - 1] = &c->pubs[t - 1]->passes;
	}
	c->ntas.changed = nta_changed; /* the threads' copies follow from here on */
	c->ntas.repaired = zone_repaired;
	c->ntas.changed_arg = c;
	for (unsigned t = 1; t < nt; t++)
		if (hf_ctl_thread_start(c->threads[t], err, errlen) != 0)
			goto fail;
	hf_log(HF_LOG_INFO,
	       "control: %u forwarder(s), %u worker(s)%s, up to %u resolutions in "
	       "flight%s, DNSSEC %s",
	       cfg->nforwarders, c->nw - w->ntransport, w->ntransport ? " and the transport" : "",
	       hf_fwd_max_inflight(c->fwd), nt > 1 ? " in each of the control threads" : "",
	       c->val == NULL		      ? "off"
	       : cfg->trust_anchor[0] != '\0' ? "on (anchors from trust-anchor)"
					      : "on (built-in root anchors)");
	return c;
fail:
	hf_control_destroy(c);
	return NULL;
}

/* Only after the workers have stopped: frees what they may not have read. */
void hf_control_destroy(struct hf_control *c)
{
	if (c == NULL)
		return;
	threads_stop(c);
	for (unsigned t = 1; t < c->nthreads; t++)
		hf_ctl_thread_destroy(c->threads[t]);
	hf_svc_fini(&c->svc);
	hf_mgmt_fini(&c->mgmt);
	hf_snap_job_fini(&c->snap);
	hf_nta_fini(&c->ntas);
	hf_fwd_destroy(c->fwd);
	hf_val_destroy(c->val);
	free(c->anchor_text);
	hf_loop_fini(&c->loop);
	hf_fanout_fini(&c->out);
	free(c->to_control);
	free(c);
}
