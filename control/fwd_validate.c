/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: validating what the forwarders answer
 * (control/fwd_internal.h).
 *
 * With dnssec: yes every upstream query carries DO=1 CD=1. An answer that
 * passes the checks is copied into its resolution (q->resp) and driven
 * through hf_val_validate(); each NEED becomes one sub-query for the DS or
 * DNSKEY set (same attempts, retries, TCP and timeouts as any query; fresh
 * socket and random ID per attempt), whose answer, whatever its rcode, goes
 * to hf_val_add_keys() before validating again. Sub-queries are not
 * shared: two resolutions that need the same key set at the same moment
 * each fetch it (the validator's key cache makes the second and later
 * resolutions free once one has finished).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hf_log.h"
#include "control/fwd_internal.h"
#include "validator/hf_aggr.h"

/* Is name under an NTA in force? Not while validating a recheck, which
 * must see the zone as if there were none. */
static bool nta_covers(const struct hf_fwd *f, const uint8_t *name, size_t len)
{
	return !f->validating_internal && f->ops.nta_covers != NULL &&
	       f->ops.nta_covers(f->ops.arg, name, len);
}

bool hf_fwd_nta_hook(void *arg, const uint8_t *name, size_t len, uint64_t now_s)
{
	(void)now_s;
	return nta_covers(arg, name, len);
}

static void count_verdict(struct hf_fwd *f, const struct hf_val_result *res)
{
	switch (res->verdict) {
	case HF_SECURITY_SECURE:
		f->st->val_secure++;
		break;
	case HF_SECURITY_INSECURE:
		f->st->val_insecure++;
		break;
	case HF_SECURITY_BOGUS:
		f->st->val_bogus++;
		break;
	default:
		f->st->val_indeterminate++;
		break;
	}
	if (res->ede < HF_ARRAY_LEN(f->st->val_ede))
		f->st->val_ede[res->ede]++;
}

/* The verdict is in: FILL every worker and end the resolution. parsed:
 * f->vmsg already holds q->resp parsed (validate_step's). */
static void deliver(struct hf_fwd *f, struct hf_fwd_query *q, const struct hf_val_result *res,
		    bool parsed)
{
	struct hf_dns_msg *m = &f->vmsg;
	struct hf_dns_answer_limits lim = {
		.max_ttl = f->cfg->max_ttl,
		.min_ttl = f->cfg->min_ttl,
		.max_negative_ttl = f->cfg->max_negative_ttl,
		.strip_dnssec = !(q->key.flags & HF_KEY_DO),
	};
	struct hf_dns_answer *a = (struct hf_dns_answer *)f->ansbuf;
	char text[HF_FWD_ERR_MAX];
	size_t tlen = 0;
	int rc;

	if (q->internal) { /* an NTA recheck: the verdict is all it wants */
		f->ops.internal_done(f->ops.arg, q->key.name, q->key.name_len, res->verdict,
				     res->ede, res->text);
		hf_fwd_finish(f, q);
		return;
	}
	count_verdict(f, res);
	if ((res->verdict == HF_SECURITY_BOGUS || res->verdict == HF_SECURITY_INDETERMINATE) &&
	    !(q->key.flags & HF_KEY_CD)) {
		uint16_t ede = res->ede;
		if (ede == HF_EDE_NONE)
			ede = res->verdict == HF_SECURITY_BOGUS ? HF_EDE_DNSSEC_BOGUS
								: HF_EDE_DNSSEC_INDETERMINATE;
		f->st->failures++;
		hf_fwd_send_failure(f, &q->key, q->hash, ede, res->text[0] ? res->text : NULL,
				    f->cfg->failure_ttl, res->verdict);
		hf_fwd_finish(f, q);
		return;
	}
	if (!parsed && hf_dns_msg_parse(q->resp, q->resp_len, m) != 0) {
		hf_fwd_fail(f, q, HF_EDE_OTHER, "malformed answer");
		return;
	}
	if (res->verdict == HF_SECURITY_SECURE) {
		lim.cap_ttl = true;
		lim.ttl_cap = res->ttl_cap;
	}
	/* leave room for the EDE text behind the body */
	rc = hf_dns_answer_build(m, &lim, f->ansbuf, sizeof(f->ansbuf) - HF_VAL_TEXT_MAX);
	if (rc < 0) {
		snprintf(text, sizeof(text), "%s: %s", f->fwd_name[q->fwd],
			 rc == HF_ESPACE ? "answer too large to store" : "malformed answer");
		hf_fwd_fail(f, q, HF_EDE_OTHER, text);
		return;
	}
	/* BOGUS/INDETERMINATE here: a CD=1 client gets the data, never AD */
	a->security = res->verdict;
	a->ede = HF_EDE_NONE;
	/* insecure only because of an NTA: flushed when the NTA goes */
	if (res->verdict == HF_SECURITY_INSECURE && res->ede == HF_EDE_NONE &&
	    nta_covers(f, q->key.name, q->key.name_len))
		a->flags |= HF_ANS_F_NTA;
	if (res->verdict == HF_SECURITY_INSECURE && res->ede != HF_EDE_NONE) {
		/* say why it is insecure (1, 2, 27) */
		tlen = strnlen(res->text, sizeof(res->text));
		a->ede = res->ede;
		a->ede_text_len = (uint16_t)tlen;
		memcpy(hf_dns_answer_ede_text(a), res->text, tlen);
	}
	if (f->ops.answer(f->ops.arg, &q->key, q->hash, a) != 0)
		hf_log(HF_LOG_ERR, "control: out of memory for a FILL");
	hf_fwd_finish(f, q);
}

static void deliver_indeterminate(struct hf_fwd *f, struct hf_fwd_query *q, uint16_t ede,
				  const char *text)
{
	struct hf_val_result res = {.verdict = HF_SECURITY_INDETERMINATE, .ede = ede};
	snprintf(res.text, sizeof(res.text), "%s", text);
	res.ttl_cap = UINT32_MAX;
	deliver(f, q, &res, false);
}

static void start_sub(struct hf_fwd *f, struct hf_fwd_query *q, const struct hf_val_need *need,
		      uint64_t now);

/* Validate q->resp against the key cache; finish, or fetch what it needs.
 * parsed: f->vmsg holds it parsed already. q may be gone afterwards. */
static void validate_step(struct hf_fwd *f, struct hf_fwd_query *q, uint64_t now, bool parsed)
{
	struct hf_val_result res;
	struct hf_val_need need;
	int rc;

	if (!parsed && hf_dns_msg_parse(q->resp, q->resp_len, &f->vmsg) != 0) {
		hf_fwd_fail(f, q, HF_EDE_OTHER, "malformed answer");
		return;
	}
	f->validating_internal = q->internal; /* a recheck validates as if there were no NTA */
	rc = hf_val_validate(f->val, &f->vmsg, (uint64_t)time(NULL), &res, &need);
	f->validating_internal = false;
	if (rc == HF_VAL_DONE) {
		deliver(f, q, &res, true);
		return;
	}
	if (rc != HF_VAL_NEED) {
		deliver_indeterminate(f, q, HF_EDE_OTHER, "validator error");
		return;
	}
	if (q->rounds >= HF_VAL_MAX_ROUNDS) {
		deliver_indeterminate(f, q, HF_EDE_DNSSEC_INDETERMINATE,
				      "validation needs too many DS/DNSKEY fetches");
		return;
	}
	q->rounds++;
	start_sub(f, q, &need, now);
}

/*
 * f->msg, the upstream check's parse of an answer, as the parse of its
 * copy at wire: a parse holds offsets into the message and one pointer to
 * it, so the RRs parsed (and nothing past them) are copied and the pointer
 * moved; the same bytes parse the same way.
 */
static void parse_moved(struct hf_dns_msg *to, const struct hf_dns_msg *from, const uint8_t *wire)
{
	memcpy(to, from, offsetof(struct hf_dns_msg, rr) + from->nrr * sizeof(from->rr[0]));
	to->wire = wire;
}

/* Answer a resolution's answer (f->msg: its parse): keep a copy and
 * validate it. */
void hf_fwd_validate_start(struct hf_fwd *f, struct hf_fwd_query *q, const uint8_t *wire,
			   size_t len, uint64_t now)
{
	q->resp = malloc(len);
	if (q->resp == NULL) {
		hf_fwd_fail(f, q, HF_EDE_OTHER, "out of memory");
		return;
	}
	memcpy(q->resp, wire, len); /* before close_io: wire may be q->rbuf */
	q->resp_len = (uint32_t)len;
	parse_moved(&f->vmsg, &f->msg, q->resp);
	hf_fwd_close_io(f, q);
	hf_timer_stop(f->loop, &q->timer); /* the sub-queries have the deadlines now */
	validate_step(f, q, now, true);
}

static void start_sub(struct hf_fwd *f, struct hf_fwd_query *q, const struct hf_val_need *need,
		      uint64_t now)
{
	struct hf_fwd_query *sub = calloc(1, sizeof(*sub));
	if (sub == NULL) {
		deliver_indeterminate(f, q, HF_EDE_OTHER, "out of memory");
		return;
	}
	memcpy(sub->key.name, need->name, need->name_len);
	sub->key.name_len = need->name_len;
	sub->key.qtype = need->qtype;
	sub->key.qclass = HF_CLASS_IN;
	sub->key.flags = 0;
	hf_fwd_query_io_init(f, sub);
	sub->last_ede = HF_EDE_NONE;
	sub->start = q->fwd; /* the forwarder that just answered */
	sub->parent = q;
	q->child = sub;
	f->st->val_subqueries++;
	hf_fwd_next_attempt(f, sub, now);
}

/* A sub-query's answer arrived (any rcode): feed it, then validate again. */
void hf_fwd_sub_answered(struct hf_fwd *f, struct hf_fwd_query *sub, const struct hf_dns_msg *m,
			 uint64_t now)
{
	struct hf_fwd_query *q = sub->parent;
	char what[HF_VAL_TEXT_MAX], name[HF_DNS_NAME_MAX * 4 + 8], tb[16];
	int rc;

	f->validating_internal = q->internal;
	rc = hf_val_add_keys(f->val, m, (uint64_t)time(NULL));
	f->validating_internal = false;
	if (rc != 0) {
		hf_dns_name_to_str(sub->key.name, sub->key.name_len, name, sizeof(name));
		snprintf(what, sizeof(what), "%.60s %s: answer not usable for validation", name,
			 hf_dns_type_to_str(sub->key.qtype, tb, sizeof(tb)));
	}
	hf_fwd_finish(f, sub); /* m may point into sub->rbuf: not used after this */
	if (rc != 0) {
		deliver_indeterminate(f, q, HF_EDE_DNSSEC_INDETERMINATE, what);
		return;
	}
	validate_step(f, q, now, false); /* f->vmsg may be another's since */
}

/*
 * A sub-query got no answer from any forwarder (timeouts, refused, ...):
 * the validator cannot be fed, so the resolution ends INDETERMINATE with
 * the upstream's EDE (22 No Reachable Authority unless the attempt said
 * otherwise), as docs/dnssec.md says a caller that loses a fetch does. It
 * is an upstream failure, not a validation failure.
 */
void hf_fwd_sub_failed(struct hf_fwd *f, struct hf_fwd_query *sub, uint16_t ede, const char *text)
{
	struct hf_fwd_query *q = sub->parent;
	char name[HF_DNS_NAME_MAX * 4 + 8], what[HF_VAL_TEXT_MAX], tb[16];

	f->st->val_fetch_failures++;
	hf_dns_name_to_str(sub->key.name, sub->key.name_len, name, sizeof(name));
	snprintf(what, sizeof(what), "%.60s %s: %s", name,
		 hf_dns_type_to_str(sub->key.qtype, tb, sizeof(tb)), text ? text : "no answer");
	hf_fwd_finish(f, sub);
	deliver_indeterminate(f, q, ede, what);
}
/*
 * RFC 8198 (aggressive-nsec): before a question goes upstream, the
 * validator may prove its NXDOMAIN or NODATA from NSEC records kept from
 * earlier secure answers. Never for a CD=1 question (the client asked for
 * the data unchecked), nor under an NTA; the validator also declines once
 * the zone's keys are no longer cached secure. The answer is secure (AD
 * for a client that asks), carries EDE 29 (Synthesized), and goes to every
 * worker as a FILL like any other, so the cores answer the next ones.
 */
bool hf_fwd_synth(struct hf_fwd *f, const struct hf_cache_key *key, uint32_t hash)
{
	struct hf_dns_answer_limits lim = {
		.max_ttl = f->cfg->max_ttl,
		.min_ttl = f->cfg->min_ttl,
		.max_negative_ttl = f->cfg->max_negative_ttl,
		.strip_dnssec = !(key->flags & HF_KEY_DO),
	};
	struct hf_dns_answer *a = (struct hf_dns_answer *)f->ansbuf;
	int n;

	if (f->val == NULL || !f->cfg->aggressive_nsec || (key->flags & HF_KEY_CD) ||
	    key->qclass != HF_CLASS_IN || nta_covers(f, key->name, key->name_len))
		return false;
	n = hf_val_synth(f->val, key->name, key->name_len, key->qtype, (uint64_t)time(NULL),
			 f->synthbuf, sizeof(f->synthbuf));
	/* the stored answer the cores' own synthesis makes too (hf_aggr.h) */
	if (n <= 0 || hf_aggr_answer(f->synthbuf, (size_t)n, &lim, &f->vmsg, f->ansbuf,
				     sizeof(f->ansbuf)) < 0)
		return false;
	if (f->vmsg.rcode == HF_RCODE_NXDOMAIN)
		f->st->synth_nxdomain++;
	else
		f->st->synth_nodata++;
	if (f->ops.answer(f->ops.arg, key, hash, a) != 0)
		hf_log(HF_LOG_ERR, "control: out of memory for a FILL");
	return true;
}
