/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: resolution through forwarders (control/hf_fwd.h).
 *
 * Each distinct key (struct hf_cache_key's meaningful bytes) is resolved at
 * most once at a time: a table of resolutions in flight (fwd_table.c,
 * bounded to HF_FWD_MAX_INFLIGHT; beyond that a question is answered
 * "resolver overloaded" at once), their deadlines in the control loop.
 *
 * How attempts are made: fwd_upstream.c; how answers are validated:
 * fwd_validate.c. An answer is accepted only if it parses, has QR=1,
 * opcode QUERY, our ID and our question (the name byte for byte in the
 * case sent, type, class) and, when it has one, our COOKIE; anything else
 * is counted and ignored while the attempt keeps waiting.
 *
 * Control thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/hf_log.h"
#include "control/fwd_internal.h"
#include "control/hf_upstream.h"

/* ---- results ---- */

void hf_fwd_finish(struct hf_fwd *f, struct hf_fwd_query *q)
{
	hf_fwd_close_io(f, q);
	hf_timer_stop(f->loop, &q->timer);
	if (q->child != NULL) { /* a sub-query in flight dies with its resolution */
		hf_fwd_close_io(f, q->child);
		hf_timer_stop(f->loop, &q->child->timer);
		free(q->child);
		q->child = NULL;
	}
	if (q->parent != NULL)
		q->parent->child = NULL; /* sub-queries are not in the table */
	else
		hf_fwd_table_remove(f, q);
	free(q->resp);
	free(q);
}

/* Send a failure answer for key, with flags (HF_ANS_F_*), to every worker. */
static void send_failure_flags(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash,
			       uint16_t ede, const char *text, uint32_t ttl, uint8_t security,
			       uint16_t flags)
{
	int rc = hf_dns_answer_failure(f->ansbuf, sizeof(f->ansbuf), key->name_len,
				       HF_RCODE_SERVFAIL, ede, text, ttl);
	/* a validation failure says so (cache lookup shows it bogus) */
	((struct hf_dns_answer *)f->ansbuf)->security = security;
	((struct hf_dns_answer *)f->ansbuf)->flags = flags;
	if (rc < 0 ||
	    f->ops.answer(f->ops.arg, key, hash, (const struct hf_dns_answer *)f->ansbuf) != 0)
		hf_log(HF_LOG_ERR, "control: cannot send a failure answer (%s)",
		       rc < 0 ? hf_strerror(rc) : "out of memory");
}

void hf_fwd_send_failure(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash,
			 uint16_t ede, const char *text, uint32_t ttl, uint8_t security)
{
	send_failure_flags(f, key, hash, ede, text, ttl, security, 0);
}

/* End the resolution with a failure answer (a sub-query: its parent). */
void hf_fwd_fail(struct hf_fwd *f, struct hf_fwd_query *q, uint16_t ede, const char *text)
{
	if (q->parent != NULL) {
		hf_fwd_sub_failed(f, q, ede, text);
		return;
	}
	if (q->internal) { /* an NTA recheck: nobody waits for an answer */
		f->ops.internal_done(f->ops.arg, q->key.name, q->key.name_len,
				     HF_SECURITY_INDETERMINATE, ede, text);
		hf_fwd_finish(f, q);
		return;
	}
	f->st->failures++;
	/* a fetch limit is the state of the moment, not of the name: the
	 * parked clients get it, the next question asks again */
	hf_fwd_send_failure(f, &q->key, q->hash, ede, text, q->limited ? 0 : f->cfg->failure_ttl,
			    HF_SECURITY_INSECURE);
	hf_fwd_finish(f, q);
}

/*
 * A message arrived for q's current attempt. Returns false when it was
 * ignored (UDP: keep waiting), true when q moved on (answered, next
 * attempt, TCP) and its socket must not be touched again.
 */
bool hf_fwd_response(struct hf_fwd *f, struct hf_fwd_query *q, const uint8_t *wire, size_t len,
		     bool tcp, uint64_t now)
{
	struct hf_dns_msg *m = &f->msg;
	struct hf_dns_answer_limits lim = {
		.max_ttl = f->cfg->max_ttl,
		.min_ttl = f->cfg->min_ttl,
		.max_negative_ttl = f->cfg->max_negative_ttl,
	};
	struct hf_dns_answer *a = (struct hf_dns_answer *)f->ansbuf;
	char text[HF_FWD_ERR_MAX], rbuf[16];
	enum hf_up_verdict v =
		hf_upstream_check(&q->key, hf_fwd_sent_qname(q), q->id, wire, len, tcp, m);
	bool parsed_ours = v == HF_UP_TRUNCATED || v == HF_UP_RCODE || v == HF_UP_ANSWER;
	bool cookie_bad = parsed_ours && !hf_fwd_cookie_ok(f, q, m);
	int rc;

	if (v == HF_UP_MALFORMED || v == HF_UP_MISMATCH || v == HF_UP_CASE || cookie_bad) {
		/* all ours but the 0x20 spelling or the cookie: a forgery that
		 * guessed the ID (or a forwarder that does not keep the case) */
		f->st->mismatched++;
		if (v == HF_UP_CASE)
			f->st->case_mismatched++;
		else if (cookie_bad)
			f->st->cookie_mismatched++;
		if (!tcp)
			return false;
		hf_fwd_set_problem(f, q, now, HF_EDE_NONE, "%s answer (TCP)",
				   v == HF_UP_MALFORMED	 ? "malformed"
				   : v == HF_UP_MISMATCH ? "mismatched"
				   : v == HF_UP_CASE	 ? "0x20 case mismatched"
							 : "cookie mismatched");
		hf_fwd_next_attempt(f, q, now);
		return true;
	}
	f->st->responses++;
	if (v == HF_UP_TOO_MANY) {
		snprintf(text, sizeof(text), "%s: answer has too many records",
			 f->fwd_name[q->fwd]);
		hf_fwd_fail(f, q, HF_EDE_OTHER, text);
		return true;
	}
	if (v == HF_UP_TRUNCATED) {
		hf_fwd_start_tcp(f, q, now);
		return true;
	}
	if (q->parent != NULL) {
		/* A DS/DNSKEY sub-query: the validator takes any rcode. */
		hf_fwd_sub_answered(f, q, m, now);
		return true;
	}
	if (v == HF_UP_RCODE) {
		f->st->rcode_errors++;
		hf_fwd_set_problem(f, q, now, m->ede, "answered %s",
				   hf_fwd_rcode_text(m->rcode, rbuf, sizeof(rbuf)));
		hf_fwd_next_attempt(f, q, now);
		return true;
	}
	if (!q->internal)
		hf_fwd_cut_learn(f, &q->key, m); /* fetches-per-zone's zones */
	if (f->val != NULL) {
		hf_fwd_validate_start(f, q, wire, len, now);
		return true;
	}
	rc = hf_dns_answer_build(m, &lim, f->ansbuf, sizeof(f->ansbuf));
	if (rc < 0) {
		snprintf(text, sizeof(text), "%s: %s", f->fwd_name[q->fwd],
			 rc == HF_ESPACE ? "answer too large to store" : "malformed answer");
		hf_fwd_fail(f, q, HF_EDE_OTHER, text);
		return true;
	}
	a->security = HF_SECURITY_INSECURE;
	a->ede = HF_EDE_NONE;
	if (f->ops.answer(f->ops.arg, &q->key, q->hash, a) != 0)
		hf_log(HF_LOG_ERR, "control: out of memory for a FILL");
	hf_fwd_finish(f, q);
	return true;
}

/* ---- entry points ---- */

/* A resolution of key, in the in-flight table, its first attempt not yet
 * started; NULL when the table is full or memory is short. */
static struct hf_fwd_query *start(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash)
{
	struct hf_fwd_query *q;

	if (f->inflight >= f->max_inflight || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	memcpy(&q->key, key, sizeof(q->key));
	q->hash = hash;
	q->zone_pos = -1;
	hf_fwd_query_io_init(f, q);
	q->last_ede = HF_EDE_NONE;
	q->start = (uint8_t)(f->next_fwd++ % f->cfg->nforwarders);
	if (hf_fwd_table_insert(f, q) != 0) {
		free(q);
		return NULL;
	}
	return q;
}

/* fetches-per-zone, at most half the in-flight table: one zone never
 * takes every slot (0: no limit). */
static uint32_t zone_limit(const struct hf_fwd *f)
{
	uint32_t half = HF_MAX(f->max_inflight / 2, 1u);
	return f->cfg->fetches_per_zone ? HF_MIN(f->cfg->fetches_per_zone, half) : 0;
}

/* SERVFAIL at once, EDE 0 with the zone and the limit, not cached; the
 * zone rides in the flags, so that the cores answer the next questions in
 * it themselves for a moment (dataplane/worker_pkt.c, hf_zone_limited). */
static void zone_limited(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash)
{
	char zone[4 * HF_DNS_NAME_MAX], text[sizeof(zone) + 64];
	size_t off = hf_fwd_zone_of(f, key);

	f->st->fetch_limited_zone++;
	f->st->failures++;
	snprintf(text, sizeof(text), "fetches-per-zone: %u in flight for %s", zone_limit(f),
		 hf_dns_name_str(key->name + off, key->name_len - off, zone, sizeof(zone)));
	send_failure_flags(f, key, hash, HF_EDE_OTHER, text, 0, HF_SECURITY_INSECURE,
			   HF_ANS_ZONE_FLAGS(off));
}

/* No room in the in-flight table (or no memory): SERVFAIL at once. */
static void overloaded(struct hf_fwd *f, const struct hf_msg_query *mq)
{
	f->st->overloaded++;
	f->st->failures++;
	hf_fwd_send_failure(f, &mq->key, mq->hash, HF_EDE_OTHER, "resolver overloaded",
			    f->cfg->failure_ttl, HF_SECURITY_INSECURE);
}

void hf_fwd_request(struct hf_fwd *f, const struct hf_msg_query *mq, uint64_t now)
{
	struct hf_fwd_query *q;
	int32_t zone = -1; /* not counted: no fetches-per-zone */

	if (mq->key.name_len == 0) {
		f->st->bad_requests++;
		return;
	}
	if (hf_fwd_table_find(f, &mq->key, mq->hash) != NULL) {
		f->st->coalesced++;
		return;
	}
	if (hf_fwd_synth(f, &mq->key, mq->hash)) /* RFC 8198: no upstream query */
		return;
	/* the in-flight table first: a zone slot is then always there */
	if (f->inflight >= f->max_inflight) {
		overloaded(f, mq);
		return;
	}
	if (zone_limit(f) != 0 && (zone = hf_fwd_zone_acquire(f, &mq->key, zone_limit(f))) < 0) {
		zone_limited(f, &mq->key, mq->hash);
		return;
	}
	q = start(f, &mq->key, mq->hash);
	if (q == NULL) {
		hf_fwd_zone_release(f, zone);
		overloaded(f, mq);
		return;
	}
	q->zone_pos = zone;
	f->st->resolutions++;
	hf_fwd_next_attempt(f, q, now);
}

int hf_fwd_internal(struct hf_fwd *f, const uint8_t *name, size_t len, uint16_t qtype, uint64_t now)
{
	struct hf_fwd_query *q;
	struct hf_cache_key key;
	uint32_t hash;

	memset(&key, 0, sizeof(key));
	memcpy(key.name, name, len);
	key.name_len = (uint8_t)len;
	key.qtype = qtype;
	key.qclass = HF_CLASS_IN;
	key.flags = HF_KEY_DO | HF_KEY_CD | HF_KEY_INTERNAL;
	hash = hf_cache_key_hash(&key);
	if (f->val == NULL)
		return hf_error(HF_EFULL);
	if (hf_fwd_table_find(f, &key, hash) != NULL)
		return hf_error(HF_EEXIST);
	q = start(f, &key, hash);
	if (q == NULL)
		return hf_error(HF_EFULL);
	q->internal = 1;
	hf_fwd_next_attempt(f, q, now);
	return 0;
}

uint32_t hf_fwd_inflight(const struct hf_fwd *f)
{
	return f->inflight;
}

uint32_t hf_fwd_max_inflight(const struct hf_fwd *f)
{
	return f->max_inflight;
}

/* One socket per resolution in flight: take every descriptor the hard
 * limit allows and keep some for the rest of the process. */
static uint32_t max_inflight(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return HF_FWD_MAX_INFLIGHT;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;
		if (want == RLIM_INFINITY || want > 2u * HF_FWD_MAX_INFLIGHT)
			want = 2u * HF_FWD_MAX_INFLIGHT;
		if (want > rl.rlim_cur) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < HF_FWD_MAX_INFLIGHT + 256u) {
		rlim_t n = rl.rlim_cur > 512 ? rl.rlim_cur - 256 : rl.rlim_cur / 2;
		return (uint32_t)HF_MAX(n, (rlim_t)16);
	}
	return HF_FWD_MAX_INFLIGHT;
}

/* f->fwd_name[] from the configured forwarders (for the logs). */
static void name_forwarders(struct hf_fwd *f)
{
	for (unsigned i = 0; i < f->cfg->nforwarders; i++)
		hf_config_forwarder_str(&f->cfg->forwarder[i], f->fwd_name[i],
					sizeof(f->fwd_name[i]));
}

void hf_fwd_forwarders_changed(struct hf_fwd *f)
{
	name_forwarders(f);
	/* a cookie belongs to a server: every forwarder starts afresh */
	memset(f->cookie, 0, sizeof(f->cookie));
	hf_fwd_sock_close_idle(f); /* and so do the sockets connected to one */
	memset(f->fwd_log_ms, 0, sizeof(f->fwd_log_ms));
	memset(f->fwd_log_quiet, 0, sizeof(f->fwd_log_quiet));
}

struct hf_fwd *hf_fwd_create(const struct hf_config *cfg, struct hf_val *val, struct hf_loop *loop,
			     struct hf_control_stats *st, const struct hf_fwd_ops *ops,
			     unsigned share, char *err, size_t errlen)
{
	struct hf_fwd *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return NULL;
	}
	f->cfg = cfg;
	f->val = val;
	f->loop = loop;
	f->st = st;
	f->ops = *ops;
	f->max_inflight = HF_MAX(max_inflight() / HF_MAX(share, 1u), 16u);
	if (hf_fwd_table_init(f, f->max_inflight, err, errlen) != 0) {
		free(f);
		return NULL;
	}
	if (hf_fwd_zones_init(f, f->max_inflight, err, errlen) != 0) {
		hf_fwd_destroy(f);
		return NULL;
	}
	if (hf_fwd_rand_init(f) != 0) {
		snprintf(err, errlen, "control: getrandom: %s", strerror(errno));
		hf_fwd_destroy(f);
		return NULL;
	}
	name_forwarders(f);
	if (val != NULL)
		hf_val_set_nta(val, hf_fwd_nta_hook, f);
	return f;
}

void hf_fwd_destroy(struct hf_fwd *f)
{
	if (f == NULL)
		return;
	if (f->val != NULL)
		hf_val_set_nta(f->val, NULL, NULL);
	hf_fwd_sock_fini(f); /* first: the attempts that use a socket let go of it */
	hf_fwd_table_fini(f);
	hf_fwd_zones_fini(f);
	free(f);
}
