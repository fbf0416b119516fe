/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the control thread's loop, the intake of MISS/REFRESH
 * messages, the fan-out of control messages to every worker and their
 * reclamation.
 *
 * Ring contract (common/hf_msg.h): a control message is one malloc()ed
 * struct hf_msg_ctl whose pointer goes, with the next sequence number, on
 * every worker's SPSC to_worker ring. A worker that applied it release-
 * stores its seq into shared->applied_seq. Control keeps every message it
 * sent in `sent` (seq order) and frees the oldest ones once every worker's
 * applied_seq (acquire load) has reached them. A full ring never blocks and
 * never drops: the message waits in that worker's backlog, which is
 * retried on every pass before anything newer is enqueued, so each worker
 * still sees messages in seq order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/hf_control_impl.h"
#include "control/hf_file.h"

/* ---- pointer FIFO ---- */

int hf_ptrq_push(struct hf_ptrq *q, void *p)
{
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		void **nv = malloc(ncap * sizeof(void *));
		if (nv == NULL)
			return hf_error(HF_ENOMEM);
		for (size_t i = 0; i < q->n; i++)
			nv[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = nv;
		q->cap = ncap;
		q->head = 0;
	}
	q->v[(q->head + q->n) % q->cap] = p;
	q->n++;
	return 0;
}

void *hf_ptrq_pop(struct hf_ptrq *q)
{
	void *p;
	if (q->n == 0)
		return NULL;
	p = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return p;
}

void hf_ptrq_free(struct hf_ptrq *q)
{
	free(q->v);
	memset(q, 0, sizeof(*q));
}

uint64_t hf_control_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- fan-out ---- */

int hf_control_broadcast(struct hf_control *c, struct hf_msg_ctl *m)
{
	if (hf_ptrq_push(&c->sent, m) != 0) {
		free(m);
		return hf_error(HF_ENOMEM);
	}
	m->seq = ++c->next_seq;
	c->st.broadcasts++;
	for (unsigned w = 0; w < c->nw; w++) {
		/* Something older is still waiting: queue behind it to keep order. */
		if (c->backlog[w].n == 0 && rte_ring_enqueue(c->to_worker[w], m) == 0)
			continue;
		c->st.backlogged++;
		if (hf_ptrq_push(&c->backlog[w], m) != 0) {
			/* Out of memory: the worker never sees m. Its applied_seq
			 * still moves past m with later messages, so m is freed. */
			fprintf(stderr,
				"holdfast: control: out of memory, worker %u misses "
				"message %llu\n",
				w, (unsigned long long)m->seq);
		}
	}
	return 0;
}

/* Retry every backlog; true if something moved. */
static bool flush_backlogs(struct hf_control *c)
{
	bool moved = false;
	for (unsigned w = 0; w < c->nw; w++) {
		struct hf_ptrq *b = &c->backlog[w];
		while (b->n != 0 && rte_ring_enqueue(c->to_worker[w], hf_ptrq_peek(b)) == 0) {
			hf_ptrq_pop(b);
			moved = true;
		}
	}
	return moved;
}

static uint64_t min_applied(const struct hf_control *c)
{
	uint64_t min = UINT64_MAX;
	for (unsigned w = 0; w < c->nw; w++) {
		uint64_t a = __atomic_load_n(&c->shared[w]->applied_seq, __ATOMIC_ACQUIRE);
		if (a < min)
			min = a;
	}
	return min; /* UINT64_MAX without workers: everything is applied */
}

bool hf_control_applied(const struct hf_control *c, uint64_t seq)
{
	return min_applied(c) >= seq;
}

uint64_t hf_control_last_seq(const struct hf_control *c)
{
	return c->next_seq;
}

/* Free every message all workers have applied. */
static bool collect(struct hf_control *c)
{
	uint64_t done;
	bool freed = false;
	struct hf_msg_ctl *m = hf_ptrq_peek(&c->sent);
	if (m == NULL)
		return false;
	done = min_applied(c);
	while (m != NULL && m->seq <= done) {
		free(hf_ptrq_pop(&c->sent));
		freed = true;
		m = hf_ptrq_peek(&c->sent);
	}
	return freed;
}

int hf_control_fill(struct hf_control *c, const struct hf_cache_key *key, uint32_t hash,
		    const struct hf_dns_answer *a)
{
	size_t asize = hf_dns_answer_size(a);
	size_t size = sizeof(struct hf_msg_ctl) - sizeof(struct hf_dns_answer) + asize;
	struct hf_msg_ctl *m = calloc(1, HF_MAX(size, sizeof(struct hf_msg_ctl)));
	if (m == NULL)
		return hf_error(HF_ENOMEM);
	m->type = HF_MSG_FILL;
	m->made_ms = c->tsc_per_ms ? rte_rdtsc() / c->tsc_per_ms : 0;
	m->hash = hash;
	memcpy(&m->key, key, sizeof(m->key));
	memcpy(&m->ans, a, asize);
	c->st.fills++;
	return hf_control_broadcast(c, m);
}

/* ---- the loop ---- */

static bool intake(struct hf_control *c, uint64_t now)
{
	bool work = false;
	for (unsigned w = 0; w < c->nw; w++) {
		unsigned n = rte_ring_dequeue_burst_elem(c->to_control[w], c->intake,
							 sizeof(struct hf_msg_query),
							 HF_CTL_INTAKE_BURST, NULL);
		for (unsigned i = 0; i < n; i++) {
			const struct hf_msg_query *q = &c->intake[i];
			c->st.requests++;
			if (q->type != HF_MSG_MISS && q->type != HF_MSG_REFRESH) {
				c->st.bad_requests++;
				continue;
			}
			hf_fwd_request(c, q, now);
		}
		if (n)
			work = true;
	}
	return work;
}

bool hf_control_poll(struct hf_control *c)
{
	bool work = false;
	uint64_t now = hf_control_now_ms();

	if (flush_backlogs(c))
		work = true;
	if (intake(c, now))
		work = true;
	if (hf_fwd_poll(c, c->busy || work ? 0 : 1) != 0)
		work = true;
	if (flush_backlogs(c))
		work = true;
	if (hf_nta_tick(c, now))
		work = true;
	/* a command waiting on the cores keeps the loop spinning: its reply
	 * (and the time it reports) is not held up by an idle sleep */
	if (hf_mgmt_tick(c, now))
		work = true;
	if (collect(c))
		work = true;
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
	hf_val_conf_default(&vc);
	vc.cache_entries = cfg->dnssec_key_cache;
	vc.clock_skew = cfg->dnssec_clock_skew;
	vc.nsec3_max_iterations = cfg->nsec3_max_iterations;
	vc.no_default_anchors = cfg->trust_anchor[0] != '\0';
	/* max-ttl caps everything holdfast caches, validated keys included:
	 * a zone broken after its keys were cached shows within max-ttl */
	vc.key_ttl_max = HF_MIN(vc.key_ttl_max, HF_MAX(cfg->max_ttl, 1u));
	vc.insecure_ttl = HF_MIN(vc.insecure_ttl, HF_MAX(cfg->max_ttl, 1u));
	/* a bogus zone is a resolution failure: remembered for failure-ttl
	 * (RFC 9520), like the SERVFAIL the workers cache, so a repaired zone
	 * validates again as soon as the cached failures are gone */
	vc.bogus_ttl = cfg->failure_ttl;
	c->val = hf_val_create(&vc, verr, sizeof(verr));
	if (c->val == NULL) {
		snprintf(err, errlen, "dnssec: cannot create the validator: %s", verr);
		return hf_error(HF_ENOMEM);
	}
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
	struct hf_ctl_port *np = realloc(c->ports, (c->nports + 1) * sizeof(*np));
	if (np == NULL)
		return hf_error(HF_ENOMEM);
	c->ports = np;
	memset(&np[c->nports], 0, sizeof(np[c->nports]));
	np[c->nports].desc = strdup(desc);
	if (np[c->nports].desc == NULL)
		return hf_error(HF_ENOMEM);
	np[c->nports].id = port_id;
	c->nports++;
	return 0;
}

void hf_control_set_pools(struct hf_control *c, struct rte_mempool *const *pools, unsigned n)
{
	c->npools = HF_MIN(n, (unsigned)HF_MAX_WORKERS);
	memcpy(c->pools, pools, c->npools * sizeof(pools[0]));
}

void hf_control_run(struct hf_control *c, volatile bool *stop)
{
	while (!*stop)
		hf_control_poll(c);
}

void hf_control_get_stats(const struct hf_control *c, struct hf_control_stats *st)
{
	*st = c->st;
	st->in_flight = c->inflight;
	st->msgs_pending = c->sent.n;
}

struct hf_control *hf_control_create(const struct hf_config *cfg,
				     const struct hf_control_workers *w, char *err, size_t errlen)
{
	struct hf_control *c;

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
	c->tsc_per_ms = w->tsc_per_ms;
	c->nw = w->n;
	c->epfd = -1;
	c->mgmt.lfd = c->mgmt.epfd = -1;
	c->mgmt.started_ms = hf_control_now_ms();
	c->mgmt.started_unix = (uint64_t)time(NULL);
	c->to_control = calloc(w->n + 1, sizeof(*c->to_control));
	c->to_worker = calloc(w->n + 1, sizeof(*c->to_worker));
	c->shared = calloc(w->n + 1, sizeof(*c->shared));
	c->backlog = calloc(w->n + 1, sizeof(*c->backlog));
	if (!c->to_control || !c->to_worker || !c->shared || !c->backlog) {
		snprintf(err, errlen, "control: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < w->n; i++) {
		c->to_control[i] = w->to_control[i];
		c->to_worker[i] = w->to_worker[i];
		c->shared[i] = w->shared[i];
	}
	/* holdfast replaces these files, often as root: a directory others
	 * could plant names in is refused rather than trusted */
	if ((cfg->nta_state_file[0] != '\0' &&
	     hf_file_dir_check("nta-state-file", cfg->nta_state_file, err, errlen) != 0) ||
	    (cfg->stats_textfile[0] != '\0' &&
	     hf_file_dir_check("stats-textfile", cfg->stats_textfile, err, errlen) != 0))
		goto fail;
	if (val_init(c, err, errlen) != 0)
		goto fail;
	if (hf_fwd_init(c, err, errlen) != 0)
		goto fail;
	if (hf_nta_init(c, err, errlen) != 0)
		goto fail;
	if (cfg->control_socket[0] != '\0' && hf_mgmt_init(c, err, errlen) != 0)
		goto fail;
	fprintf(stderr,
		"holdfast: control: %u forwarder(s), %u worker(s), up to %u resolutions in "
		"flight, DNSSEC %s\n",
		cfg->nforwarders, c->nw, c->max_inflight,
		c->val == NULL		       ? "off"
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
	hf_mgmt_fini(c);
	hf_nta_fini(c);
	hf_fwd_fini(c);
	for (unsigned i = 0; i < c->nports; i++)
		free(c->ports[i].desc);
	free(c->ports);
	hf_val_destroy(c->val);
	while (c->sent.n)
		free(hf_ptrq_pop(&c->sent));
	hf_ptrq_free(&c->sent);
	if (c->backlog)
		for (unsigned w = 0; w < c->nw; w++)
			hf_ptrq_free(&c->backlog[w]);
	free(c->backlog);
	free(c->to_control);
	free(c->to_worker);
	free(c->shared);
	free(c);
}
