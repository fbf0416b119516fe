/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the resolver threads of `control-threads N`
 * (control/hf_ctl_thread.h has the design and the contract).
 *
 * One pass of a thread: its commands from thread 0 (in order), the answers
 * its done ring could not take yet, the questions on every worker's ring to
 * it, its loop (sockets ready, deadlines due; a 1 ms sleep when the last
 * pass did nothing), the answers again, and its counters published.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "common/hf_log.h"
#include "control/hf_control.h"
#include "control/hf_ctl_thread.h"
#include "control/hf_fanout.h"
#include "control/hf_fwd.h"
#include "control/hf_loop.h"
#include "control/hf_nsec_copy.h"
#include "validator/hf_validator.h"

#define CMD_RING  1024 /* commands from thread 0 (rare: changes, re-resolutions) */
#define DONE_RING 4096 /* answers to thread 0 */
#define BURST	  64   /* questions per worker ring per pass */

struct hf_ctl_thread {
	unsigned idx;
	struct hf_ctl_thread_pub pub;
	struct hf_config cfg; /* its copy, with its share of the fetch limits */
	struct hf_loop loop;
	struct hf_val *val; /* NULL with dnssec: no */
	struct hf_fwd *fwd;
	struct hf_nta_list ntas; /* its copy of the NTAs */
	uint64_t epoch;		 /* the last NTA change applied */
	uint64_t gen;		 /* the last command of thread 0's applied (hf_ctl_cmd.gen) */
	unsigned nw;
	struct rte_ring **in;	     /* [nw] */
	struct rte_ring *cmd;	     /* thread 0 -> t: struct hf_ctl_cmd * */
	struct rte_ring *done;	     /* t -> thread 0: struct hf_ctl_done */
	struct hf_ptrq cmd_backlog;  /* thread 0's: commands the ring could not take */
	struct hf_ptrq done_backlog; /* t's: answers (malloc()ed copies) the ring could not take */
	uint64_t tsc_per_ms;
	pthread_t tid;
	bool running;
	bool stop; /* atomic */
	bool busy;
	struct hf_msg_query intake[BURST];
};

/* ---- shared with thread 0 ---- */

void hf_ctl_cfg_share(struct hf_config *out, const struct hf_config *cfg, unsigned n)
{
	*out = *cfg;
	n = HF_MAX(n, 1u);
	out->fetches_per_zone = (cfg->fetches_per_zone + n - 1) / n;
	out->fetches_per_server = (cfg->fetches_per_server + n - 1) / n;
}

void hf_ctl_val_conf(const struct hf_config *cfg, struct hf_val_conf *vc)
{
	hf_val_conf_default(vc);
	vc->cache_entries = cfg->dnssec_key_cache;
	/* kept whatever aggressive-nsec says: a reload may turn it on; no
	 * longer than a negative answer may be cached */
	vc->aggr_entries = cfg->aggr_nsec_entries;
	vc->aggr_ttl_max = HF_MIN(cfg->max_ttl, cfg->max_negative_ttl);
	vc->clock_skew = cfg->dnssec_clock_skew;
	vc->nsec3_max_iterations = cfg->nsec3_max_iterations;
	vc->no_default_anchors = cfg->trust_anchor[0] != '\0';
	/* max-ttl caps everything holdfast caches, validated keys included:
	 * a zone broken after its keys were cached shows within max-ttl */
	vc->key_ttl_max = HF_MIN(vc->key_ttl_max, HF_MAX(cfg->max_ttl, 1u));
	vc->insecure_ttl = HF_MIN(vc->insecure_ttl, HF_MAX(cfg->max_ttl, 1u));
	/* a bogus zone is a resolution failure: remembered for failure-ttl
	 * (RFC 9520), like the SERVFAIL the workers cache, so a repaired zone
	 * validates again as soon as the cached failures are gone */
	vc->bogus_ttl = cfg->failure_ttl;
}

bool hf_ctl_intake(struct rte_ring *const *in, unsigned n, struct hf_msg_query *buf, unsigned burst,
		   struct hf_fwd *fwd, struct hf_control_stats *st, uint64_t now)
{
	bool work = false;
	for (unsigned w = 0; w < n; w++) {
		unsigned k = rte_ring_dequeue_burst_elem(in[w], buf, sizeof(*buf), burst, NULL);
		for (unsigned i = 0; i < k; i++) {
			st->requests++;
			if (buf[i].type != HF_MSG_MISS && buf[i].type != HF_MSG_REFRESH) {
				st->bad_requests++;
				continue;
			}
			hf_fwd_request(fwd, &buf[i], now);
		}
		if (k)
			work = true;
	}
	return work;
}

uint64_t hf_ctl_nta_log_add(struct hf_ctl_nta_log *l, const uint8_t *name, size_t len)
{
	l->epoch++;
	memcpy(l->e[l->epoch % HF_CTL_NTA_LOG].name, name, len);
	l->e[l->epoch % HF_CTL_NTA_LOG].len = (uint8_t)len;
	return l->epoch;
}

bool hf_ctl_nta_log_stale(const struct hf_ctl_nta_log *l, uint64_t epoch, const uint8_t *name,
			  size_t len)
{
	if (epoch >= l->epoch)
		return false;
	if (l->epoch - epoch > HF_CTL_NTA_LOG)
		return true;
	for (uint64_t e = epoch + 1; e <= l->epoch; e++)
		if (hf_dns_name_is_sub(name, len, l->e[e % HF_CTL_NTA_LOG].name,
				       l->e[e % HF_CTL_NTA_LOG].len))
			return true;
	return false;
}

/* ---- commands ---- */

struct hf_ctl_cmd *hf_ctl_cmd_new(enum hf_ctl_cmd_type type)
{
	struct hf_ctl_cmd *cmd = calloc(1, sizeof(*cmd));
	if (cmd != NULL)
		cmd->type = (uint8_t)type;
	return cmd;
}

void hf_ctl_cmd_free(struct hf_ctl_cmd *cmd)
{
	if (cmd == NULL)
		return;
	free(cmd->cfg);
	free(cmd->text);
	free(cmd);
}

int hf_ctl_thread_send(struct hf_ctl_thread *t, struct hf_ctl_cmd *cmd)
{
	if (t->cmd_backlog.n == 0 && rte_ring_enqueue(t->cmd, cmd) == 0)
		return 0;
	if (hf_ptrq_push(&t->cmd_backlog, cmd) != 0) {
		hf_ctl_cmd_free(cmd);
		return hf_error(HF_ENOMEM);
	}
	return 0;
}

bool hf_ctl_thread_flush(struct hf_ctl_thread *t)
{
	bool moved = false;
	while (t->cmd_backlog.n != 0 &&
	       rte_ring_enqueue(t->cmd, hf_ptrq_peek(&t->cmd_backlog)) == 0) {
		hf_ptrq_pop(&t->cmd_backlog);
		moved = true;
	}
	return moved;
}

unsigned hf_ctl_thread_take(struct hf_ctl_thread *t, struct hf_ctl_done *d, unsigned n)
{
	return rte_ring_dequeue_burst_elem(t->done, d, sizeof(*d), n, NULL);
}

const struct hf_ctl_thread_pub *hf_ctl_thread_pub(const struct hf_ctl_thread *t)
{
	return &t->pub;
}

static void apply(struct hf_ctl_thread *t, struct hf_ctl_cmd *cmd, uint64_t now)
{
	char err[256];

	if (cmd->type != HF_CTL_CMD_RESOLVE)
		t->gen = cmd->gen;
	switch (cmd->type) {
	case HF_CTL_CMD_CONFIG:
		t->cfg = *cmd->cfg;
		if (cmd->fwd_changed)
			hf_fwd_forwarders_changed(t->fwd);
		break;
	case HF_CTL_CMD_NTA_SET:
	case HF_CTL_CMD_NTA_DEL:
		if (cmd->type == HF_CTL_CMD_NTA_SET)
			hf_nta_copy_set(&t->ntas, &cmd->nta);
		else
			hf_nta_copy_del(&t->ntas, cmd->nta.name, cmd->nta.name_len);
		if (t->val != NULL)
			hf_val_flush_name(t->val, cmd->nta.name, cmd->nta.name_len);
		t->epoch = cmd->epoch;
		break;
	case HF_CTL_CMD_VAL_FLUSH:
		if (t->val != NULL && cmd->all)
			hf_val_flush(t->val);
		else if (t->val != NULL)
			hf_val_flush_name(t->val, cmd->nta.name, cmd->nta.name_len);
		if (cmd->epoch != 0) /* a repaired zone: logged like an NTA change */
			t->epoch = cmd->epoch;
		break;
	case HF_CTL_CMD_ANCHORS:
		/* checked by thread 0 before it loaded them itself */
		if (t->val != NULL &&
		    (cmd->text ? hf_val_load_anchors_str(t->val, cmd->text, true, err, sizeof(err))
			       : hf_val_load_default_anchors(t->val, err, sizeof(err))) != 0)
			hf_log(HF_LOG_ERR, "control thread %u: trust anchors not loaded: %s",
			       t->idx, err);
		break;
	case HF_CTL_CMD_RESOLVE:
		hf_fwd_request(t->fwd, &cmd->q, now);
		break;
	default:
		break;
	}
}

static bool commands(struct hf_ctl_thread *t, uint64_t now)
{
	bool work = false;
	void *p;
	while (rte_ring_dequeue(t->cmd, &p) == 0) {
		apply(t, p, now);
		hf_ctl_cmd_free(p);
		work = true;
	}
	return work;
}

/* ---- answers ---- */

static bool done_flush(struct hf_ctl_thread *t)
{
	bool moved = false;
	while (t->done_backlog.n != 0) {
		struct hf_ctl_done *d = hf_ptrq_peek(&t->done_backlog);
		if (rte_ring_enqueue_elem(t->done, d, sizeof(*d)) != 0)
			break;
		free(hf_ptrq_pop(&t->done_backlog));
		moved = true;
	}
	return moved;
}

/* d for thread 0: on the ring, or behind what waits for room in order. */
static int done_push(struct hf_ctl_thread *t, struct hf_ctl_done *d)
{
	struct hf_ctl_done *copy;

	if (t->done_backlog.n == 0 && rte_ring_enqueue_elem(t->done, d, sizeof(*d)) == 0)
		return 0;
	copy = malloc(sizeof(*copy));
	if (copy == NULL || hf_ptrq_push(&t->done_backlog, copy) != 0) {
		free(copy);
		free(d->m);
		return hf_error(HF_ENOMEM);
	}
	*copy = *d;
	return 0;
}

/* The forwarder's answer (a failure included): a FILL for thread 0. */
static int answer(void *arg, const struct hf_cache_key *key, uint32_t hash,
		  const struct hf_dns_answer *a)
{
	struct hf_ctl_thread *t = arg;
	struct hf_ctl_done d;
	size_t zl = 0;

	d.m = hf_fill_msg(key, hash, a, t->tsc_per_ms);
	if (d.m == NULL)
		return hf_error(HF_ENOMEM);
	d.epoch = t->epoch;
	d.gen = t->gen;
	hf_nta_broken_zone(t->val, key, a, d.zone, &zl);
	d.zone_len = (uint8_t)zl;
	return done_push(t, &d);
}

/* The validator kept an NSEC record: its copy for the cores, which thread
 * 0 checks against its NTAs and sends (control/hf_nsec_copy.h); zone is
 * then the record's zone. */
static void keep(void *arg, const uint8_t *zone, size_t zlen, const uint8_t *rec, size_t len,
		 bool is3)
{
	struct hf_ctl_thread *t = arg;
	struct hf_ctl_done d;

	d.m = hf_nsec_msg(&t->cfg, t->tsc_per_ms, rec, len, is3);
	if (d.m == NULL)
		return;
	d.epoch = t->epoch;
	d.gen = t->gen;
	memcpy(d.zone, zone, zlen);
	d.zone_len = (uint8_t)zlen;
	if (done_push(t, &d) != 0)
		hf_log(HF_LOG_ERR, "control thread %u: out of memory for an NSEC copy", t->idx);
}

/* Only thread 0 starts NTA rechecks (hf_fwd_internal): never called here. */
static void internal_done(void *arg, const uint8_t *name, size_t len, uint8_t verdict, uint16_t ede,
			  const char *text)
{
	(void)arg, (void)name, (void)len, (void)verdict, (void)ede, (void)text;
}

static bool nta_covers(void *arg, const uint8_t *name, size_t len)
{
	struct hf_ctl_thread *t = arg;
	return hf_nta_covers(&t->ntas, name, len);
}

/* ---- the thread ---- */

static void publish(struct hf_ctl_thread *t)
{
	t->pub.st.in_flight = hf_fwd_inflight(t->fwd);
	if (t->val != NULL) {
		struct hf_val_stats vs;
		hf_val_get_stats(t->val, &vs);
		t->pub.aggr_records = vs.aggr_entries;
	}
}

bool hf_ctl_thread_poll(struct hf_ctl_thread *t)
{
	uint64_t now = hf_control_now_ms();
	bool work = false;

	if (commands(t, now))
		work = true;
	if (done_flush(t))
		work = true;
	if (hf_ctl_intake(t->in, t->nw, t->intake, BURST, t->fwd, &t->pub.st, now))
		work = true;
	if (hf_loop_run(&t->loop, t->busy || work ? 0 : 1) != 0)
		work = true;
	if (done_flush(t))
		work = true;
	publish(t);
	__atomic_store_n(&t->pub.passes, t->pub.passes + 1, __ATOMIC_RELAXED);
	t->busy = work;
	return work;
}

static void *thread_main(void *arg)
{
	struct hf_ctl_thread *t = arg;
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
		hf_ctl_thread_poll(t);
	return NULL;
}

int hf_ctl_thread_start(struct hf_ctl_thread *t, char *err, size_t errlen)
{
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "hf-ctl-%u", t->idx);
	/* the EAL's control-thread CPUs: those no lcore is pinned to, else
	 * the main lcore's */
	rc = rte_ctrl_thread_create(&t->tid, name, NULL, thread_main, t);
	if (rc != 0) {
		snprintf(err, errlen, "control thread %u: cannot start: %s", t->idx, strerror(-rc));
		return hf_error(HF_ENOMEM);
	}
	t->running = true;
	return 0;
}

void hf_ctl_thread_stop(struct hf_ctl_thread *t)
{
	if (t == NULL || !t->running)
		return;
	__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
	pthread_join(t->tid, NULL);
	t->running = false;
}

static struct rte_ring *ring(const char *what, unsigned idx, unsigned esize, unsigned count)
{
	static unsigned seq; /* thread 0 only: unique names across instances */
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "hf_%s_%u_%u", what, idx, seq++);
	return rte_ring_create_elem(name, esize, count, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

struct hf_ctl_thread *hf_ctl_thread_create(const struct hf_ctl_thread_conf *tc, char *err,
					   size_t errlen)
{
	struct hf_fwd_ops ops = {
		.answer = answer,
		.internal_done = internal_done,
		.nta_covers = nta_covers,
	};
	/* aligned: pub is a cache line of its own */
	struct hf_ctl_thread *t = aligned_alloc(64, (sizeof(*t) + 63) / 64 * 64);
	char verr[256] = "";

	if (t == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->idx = tc->idx;
	t->loop.epfd = -1;
	t->epoch = tc->nta_epoch;
	t->gen = tc->gen;
	t->tsc_per_ms = tc->tsc_per_ms;
	t->nw = tc->nw;
	hf_ctl_cfg_share(&t->cfg, tc->cfg, tc->nthreads);
	t->in = calloc(tc->nw + 1, sizeof(*t->in));
	t->cmd = ring("ccmd", t->idx, sizeof(void *), CMD_RING);
	t->done = ring("cdone", t->idx, sizeof(struct hf_ctl_done), DONE_RING);
	if (t->in == NULL || t->cmd == NULL || t->done == NULL ||
	    hf_nta_copy_init(&t->ntas, tc->ntas) != 0) {
		snprintf(err, errlen, "control thread %u: out of memory (raise -m?)", t->idx);
		goto fail;
	}
	for (unsigned w = 0; w < tc->nw; w++)
		t->in[w] = tc->in[w];
	if (hf_loop_init(&t->loop, HF_FWD_MAX_TIMERS + 64u, err, errlen) != 0)
		goto fail;
	if (tc->cfg->dnssec) {
		struct hf_val_conf vc;
		hf_ctl_val_conf(tc->cfg, &vc);
		t->val = hf_val_create(&vc, verr, sizeof(verr));
		/* the anchors thread 0 loaded and checked */
		if (t->val == NULL || (tc->anchor_text != NULL &&
				       hf_val_load_anchors_str(t->val, tc->anchor_text, true, verr,
							       sizeof(verr)) != 0)) {
			snprintf(err, errlen,
				 "dnssec: control thread %u: cannot create the validator: %s",
				 t->idx, verr);
			goto fail;
		}
		hf_val_set_keep_hook(t->val, keep, t);
	}
	ops.arg = t;
	t->fwd = hf_fwd_create(&t->cfg, t->val, &t->loop, &t->pub.st, &ops, tc->nthreads, err,
			       errlen);
	if (t->fwd == NULL)
		goto fail;
	return t;
fail:
	hf_ctl_thread_destroy(t);
	return NULL;
}

void hf_ctl_thread_destroy(struct hf_ctl_thread *t)
{
	struct hf_ctl_done d;
	void *p;

	if (t == NULL)
		return;
	hf_ctl_thread_stop(t);
	hf_fwd_destroy(t->fwd);
	hf_val_destroy(t->val);
	hf_loop_fini(&t->loop);
	hf_nta_fini(&t->ntas);
	while (t->cmd != NULL && rte_ring_dequeue(t->cmd, &p) == 0)
		hf_ctl_cmd_free(p);
	while (t->cmd_backlog.n != 0)
		hf_ctl_cmd_free(hf_ptrq_pop(&t->cmd_backlog));
	hf_ptrq_free(&t->cmd_backlog);
	while (t->done != NULL && rte_ring_dequeue_elem(t->done, &d, sizeof(d)) == 0)
		free(d.m);
	while (t->done_backlog.n != 0) {
		struct hf_ctl_done *c = hf_ptrq_pop(&t->done_backlog);
		free(c->m);
		free(c);
	}
	hf_ptrq_free(&t->done_backlog);
	rte_ring_free(t->cmd);
	rte_ring_free(t->done);
	free(t->in);
	free(t);
}
