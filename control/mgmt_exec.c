/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management commands that change or query the
 * workers (nta add/remove/list, cache flush/lookup, config get/set). Each
 * broadcasts one control message and replies once every worker has applied
 * it (hf_mgmt_wait), with the number of cores and the time it took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hf_log.h"
#include "control/hf_control.h"
#include "control/hf_nta.h"
#include "control/hf_snapshot.h"
#include "control/mgmt_internal.h"
#include "validator/hf_validator.h"

static const char *security_name(unsigned s)
{
	switch (s) {
	case HF_SECURITY_SECURE:
		return "secure";
	case HF_SECURITY_BOGUS:
		return "bogus";
	case HF_SECURITY_INDETERMINATE:
		return "indeterminate";
	default:
		return "insecure";
	}
}

static void emit_nta(struct hf_emit *e, const struct hf_nta *n, uint64_t now)
{
	static const char *const src[] = {"cli", "config", "state"};
	char nm[HF_DNS_NAME_MAX * 4 + 8];
	hf_dns_name_str(n->name, n->name_len, nm, sizeof(nm));
	hf_emit_obj_begin(e, NULL);
	hf_emit_str(e, "name", nm);
	hf_emit_str(e, "reason", n->reason);
	hf_emit_time(e, "added", n->added_s);
	hf_emit_time(e, "expires", n->expires_s);
	hf_emit_u64(e, "remaining", n->expires_s > now ? n->expires_s - now : 0);
	hf_emit_u64(e, "recheck", n->recheck_s);
	hf_emit_str(e, "source", src[n->source % 3]);
	hf_emit_obj_end(e);
}

void hf_mgmt_cmd_nta_list(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	uint64_t now = (uint64_t)time(NULL);
	struct hf_emit e;
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_arr_begin(&e, "ntas");
	for (unsigned i = 0; i < mg->env.ntas->nntas; i++)
		emit_nta(&e, &mg->env.ntas->ntas[i], now);
	hf_emit_arr_end(&e);
	hf_emit_obj_end(&e);
	hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

static struct hf_msg_result *new_res(const struct hf_mgmt *mg)
{
	return calloc(mg->env.out->nw ? mg->env.out->nw : 1, sizeof(struct hf_msg_result));
}

void hf_mgmt_cmd_nta_change(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	struct hf_msg_result *res = new_res(mg);
	uint64_t seq = 0, t0 = hf_control_now_us();
	char err[HF_DNS_NAME_MAX * 4 + 64];
	int rc;

	if (res == NULL) {
		hf_mgmt_error(mg, k, "out of memory");
		return;
	}
	if (k->req.cmd == HF_CMD_NTA_ADD) {
		rc = hf_nta_add(mg->env.ntas, k->req.name, k->req.name_len, k->req.lifetime_s,
				k->req.expires_s, k->req.recheck_s, k->req.reason, HF_NTA_SRC_CLI,
				res, &seq, err, sizeof(err));
	} else {
		rc = hf_nta_remove(mg->env.ntas, k->req.name, k->req.name_len,
				   "holdfastctl nta remove", res, &seq);
		if (rc == HF_ENOENT) {
			char nm[HF_DNS_NAME_MAX * 4 + 8];
			hf_dns_name_str(k->req.name, k->req.name_len, nm, sizeof(nm));
			snprintf(err, sizeof(err), "no NTA for %s", nm);
		} else if (rc != 0) {
			snprintf(err, sizeof(err), "out of memory");
		}
	}
	if (rc != 0) {
		free(res);
		hf_mgmt_error(mg, k, "%s", err);
		return;
	}
	/* the change stands on the cores either way; the reply says it would
	 * not survive a restart */
	if (mg->env.ntas->persist_failed)
		snprintf(k->persist_err, sizeof(k->persist_err), "%s", mg->env.ntas->persist_err);
	hf_mgmt_wait(mg, k, seq, res, t0);
}

/* A message of type asking every worker for a result (m->res), or NULL
 * after an error reply. */
static struct hf_msg_ctl *new_msg(struct hf_mgmt *mg, struct hf_mgmt_conn *k, uint8_t type)
{
	struct hf_msg_result *res = new_res(mg);
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));

	if (res == NULL || m == NULL) {
		free(res);
		free(m);
		hf_mgmt_error(mg, k, "out of memory");
		return NULL;
	}
	m->type = type;
	m->res = res;
	return m;
}

void hf_mgmt_cmd_flush(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	uint64_t t0 = hf_control_now_us();
	struct hf_msg_ctl *m = new_msg(mg, k, HF_MSG_FLUSH);
	struct hf_msg_result *res;

	if (m == NULL)
		return;
	res = m->res;
	m->all = k->req.all || k->req.bogus;
	m->subtree = k->req.subtree;
	m->mode = k->req.bogus ? HF_FLUSH_BOGUS : HF_FLUSH_ANY;
	memcpy(m->key.name, k->req.name, k->req.name_len);
	m->key.name_len = (uint8_t)k->req.name_len;
	/* the validator's cached keys and verdicts go too */
	if (mg->env.val != NULL) {
		if (m->all)
			hf_val_flush(mg->env.val);
		else
			hf_val_flush_name(mg->env.val, k->req.name, k->req.name_len);
		if (mg->env.val_flush != NULL) /* the other control threads' */
			mg->env.val_flush(mg->env.sync_arg, m->all, k->req.name, k->req.name_len);
	}
	if (hf_fanout_send(mg->env.out, m) != 0) {
		free(res);
		hf_mgmt_error(mg, k, "out of memory");
		return;
	}
	hf_mgmt_wait(mg, k, hf_fanout_last_seq(mg->env.out), res, t0);
}

void hf_mgmt_cmd_lookup(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	uint64_t t0 = hf_control_now_us();
	struct hf_msg_ctl *m = new_msg(mg, k, HF_MSG_LOOKUP);
	struct hf_msg_result *res;

	if (m == NULL)
		return;
	res = m->res;
	m->mode = k->req.has_type ? 1 : 0;
	memcpy(m->key.name, k->req.name, k->req.name_len);
	m->key.name_len = (uint8_t)k->req.name_len;
	m->key.qtype = k->req.qtype;
	m->key.qclass = HF_CLASS_IN;
	if (hf_fanout_send(mg->env.out, m) != 0) {
		free(res);
		hf_mgmt_error(mg, k, "out of memory");
		return;
	}
	hf_mgmt_wait(mg, k, hf_fanout_last_seq(mg->env.out), res, t0);
}

/* Worker 0 writes its cache into the save job's buffer; the reply once
 * the file is written (hf_mgmt_finish_wait). */
void hf_mgmt_cmd_cache_save(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	uint64_t t0 = hf_control_now_us();
	char err[320];

	if (mg->env.cfg->cache_snapshot[0] == '\0') {
		hf_mgmt_error(mg, k, "cache save: cache-snapshot is not set");
		return;
	}
	if (hf_snap_job_start(mg->env.snap, mg->env.out, mg->env.cfg->cache_memory, err,
			      sizeof(err)) != 0) {
		hf_mgmt_error(mg, k, "cache save: %s", err);
		return;
	}
	hf_mgmt_wait(mg, k, mg->env.snap->seq, NULL, t0);
}

/* "key: value" of the config dump for one key. */
static void config_value(const struct hf_config *cfg, const char *key, char *out, size_t size)
{
	static char dump[16384];
	size_t kl = strlen(key);
	hf_config_dump(cfg, dump, sizeof(dump));
	out[0] = '\0';
	for (char *p = dump; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > kl + 2 && strncmp(p, key, kl) == 0 && p[kl] == ':') {
			snprintf(out, size, "%.*s", (int)(n - kl - 2), p + kl + 2);
			return;
		}
		p += n + (nl ? 1 : 0);
	}
}

void hf_mgmt_cmd_config_get(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	struct hf_emit e;
	char v[128];
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_obj_begin(&e, "config");
	for (unsigned i = 0; i < hf_mgmt_config_nkeys; i++) {
		if (k->req.key[0] && strcmp(k->req.key, hf_mgmt_config_keys[i]) != 0)
			continue;
		config_value(mg->env.cfg, hf_mgmt_config_keys[i], v, sizeof(v));
		hf_emit_str(&e, hf_mgmt_config_keys[i], v);
	}
	hf_emit_obj_end(&e);
	hf_emit_obj_end(&e);
	hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}

void hf_mgmt_cmd_config_set(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	struct hf_config tmp = *mg->env.cfg;
	struct hf_msg_ctl *m;
	char err[300];
	uint64_t t0 = hf_control_now_us();

	if (hf_config_set(&tmp, k->req.key, k->req.value, "config set", err, sizeof(err)) != 0) {
		hf_mgmt_error(mg, k, "%s", err);
		return;
	}
	m = hf_control_config_msg(&tmp);
	if (m == NULL) {
		hf_mgmt_error(mg, k, "out of memory");
		return;
	}
	if (hf_fanout_send(mg->env.out, m) != 0) {
		hf_mgmt_error(mg, k, "out of memory");
		return;
	}
	*mg->env.cfg = tmp;
	if (mg->env.cfg_changed != NULL) /* the forwarders' copies */
		mg->env.cfg_changed(mg->env.sync_arg);
	/* a secret is not logged */
	hf_log(HF_LOG_NOTICE, "config set %s %s", k->req.key,
	       strcmp(k->req.key, "cookie-secret") == 0 ? "(hidden)" : k->req.value);
	hf_mgmt_wait(mg, k, hf_fanout_last_seq(mg->env.out), NULL, t0);
}

void hf_mgmt_cmd_reload(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	uint64_t t0 = hf_control_now_us(), seq = 0;
	char err[700];

	if (mg->env.reload == NULL) {
		hf_mgmt_error(mg, k, "reload: not available");
		return;
	}
	if (mg->env.reload(mg->env.reload_arg, &k->reload, &seq, err, sizeof(err)) != 0) {
		hf_mgmt_error(mg, k, "%s", err);
		return;
	}
	hf_mgmt_wait(mg, k, seq, NULL, t0);
}

/* A list of key names "a b c" as an array. */
static void emit_keys(struct hf_emit *e, const char *name, const char *list)
{
	char key[64];
	hf_emit_arr_begin(e, name);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		snprintf(key, sizeof(key), "%.*s", (int)HF_MIN(n, sizeof(key) - 1), p);
		hf_emit_str(e, NULL, key);
		p += n + (p[n] == ' ');
	}
	hf_emit_arr_end(e);
}

static const char *lookup_state(unsigned s)
{
	static const char *const n[] = {"pending", "fresh", "stale", "failure", "expired"};
	return s < HF_ARRAY_LEN(n) ? n[s] : "?";
}

/* Every worker applied k's message: the reply. */
void hf_mgmt_finish_wait(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	uint64_t us = hf_control_now_us() - k->wait_start_us;
	char nm[HF_DNS_NAME_MAX * 4 + 8], tb[16];
	struct hf_emit e;
	uint64_t count = 0;
	const struct hf_snap_job *sj = mg->env.snap;

	if (k->req.cmd == HF_CMD_CACHE_SAVE &&
	    (hf_snap_job_finish(mg->env.snap, mg->env.out, mg->env.cfg->cache_snapshot, stderr),
	     sj->rc != 0)) {
		hf_mgmt_error(mg, k, "%s", sj->err);
		return;
	}
	for (unsigned w = 0; k->res != NULL && w < mg->env.out->nw; w++)
		count += k->res[w].count;
	hf_dns_name_str(k->req.name, k->req.name_len, nm, sizeof(nm));
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	switch (k->req.cmd) {
	case HF_CMD_NTA_ADD: {
		uint64_t now = (uint64_t)time(NULL);
		uint64_t exp = k->req.expires_s != 0 ? k->req.expires_s : now + k->req.lifetime_s;
		uint64_t life = k->req.lifetime_s;
		hf_emit_str(&e, "name", nm);
		for (int i = 0; i < (int)mg->env.ntas->nntas; i++)
			if (hf_dns_name_equal(mg->env.ntas->ntas[i].name,
					      mg->env.ntas->ntas[i].name_len, k->req.name,
					      k->req.name_len))
				exp = mg->env.ntas->ntas[i].expires_s;
		if (k->req.expires_s != 0) /* --expires: what is left of it */
			life = exp > now ? exp - now : 0;
		hf_emit_u64(&e, "lifetime", life);
		hf_emit_time(&e, "expires", exp);
		hf_emit_u64(&e, "recheck", k->req.recheck_s);
		break;
	}
	case HF_CMD_NTA_REMOVE:
		hf_emit_str(&e, "name", nm);
		break;
	case HF_CMD_CACHE_FLUSH:
		if (k->req.all || k->req.bogus)
			hf_emit_str(&e, "what", k->req.all ? "all" : "bogus");
		else
			hf_emit_str(&e, "name", nm);
		hf_emit_u64(&e, "removed", count);
		break;
	case HF_CMD_CACHE_SAVE:
		hf_emit_str(&e, "path", mg->env.cfg->cache_snapshot);
		hf_emit_u64(&e, "entries", sj->entries);
		hf_emit_u64(&e, "bytes", sj->bytes);
		hf_emit_u64(&e, "walk_us", sj->walk_us);
		hf_emit_u64(&e, "write_us", sj->write_us);
		break;
	case HF_CMD_CONFIG_SET:
		hf_emit_str(&e, "key", k->req.key);
		hf_emit_str(&e, "value", k->req.value);
		break;
	case HF_CMD_RELOAD:
		emit_keys(&e, "applied", k->reload.applied);
		emit_keys(&e, "restart_needed", k->reload.restart);
		break;
	case HF_CMD_CACHE_LOOKUP:
		hf_emit_str(&e, "name", nm);
		hf_emit_arr_begin(&e, "cores");
		for (unsigned w = 0; w < mg->env.out->nw; w++) {
			const struct hf_msg_result *r = &k->res[w];
			hf_emit_obj_begin(&e, NULL);
			hf_emit_u64(&e, "core", w);
			hf_emit_u64(&e, "matched", r->count);
			hf_emit_arr_begin(&e, "entries");
			for (unsigned j = 0; j < r->n && j < HF_LOOKUP_MAX; j++) {
				const struct hf_lookup_entry *x = &r->e[j];
				hf_emit_obj_begin(&e, NULL);
				hf_emit_str(&e, "type",
					    hf_dns_type_to_str(x->qtype, tb, sizeof(tb)));
				hf_emit_bool(&e, "do", x->key_flags & HF_KEY_DO);
				hf_emit_bool(&e, "cd", x->key_flags & HF_KEY_CD);
				hf_emit_str(&e, "state", lookup_state(x->state));
				hf_emit_u64(&e, "ttl", x->ttl_left);
				if (x->state != HF_LOOKUP_PENDING) {
					hf_emit_str(&e, "security", security_name(x->security));
					hf_emit_bool(&e, "nta", x->ans_flags & HF_ANS_F_NTA);
					hf_emit_str(&e, "rcode",
						    hf_rcode_name(x->rcode & 0xf)
							    ? hf_rcode_name(x->rcode & 0xf)
							    : "RCODE?");
					if (x->ede != HF_EDE_NONE)
						hf_emit_u64(&e, "ede", x->ede);
					else
						hf_emit_null(&e, "ede");
				}
				hf_emit_u64(&e, "waiters", x->nwaiters);
				hf_emit_obj_end(&e);
			}
			hf_emit_arr_end(&e);
			hf_emit_obj_end(&e);
		}
		hf_emit_arr_end(&e);
		break;
	default:
		break;
	}
	if (k->req.cmd != HF_CMD_CACHE_LOOKUP && k->req.cmd != HF_CMD_CACHE_FLUSH &&
	    k->req.cmd != HF_CMD_CONFIG_SET && k->req.cmd != HF_CMD_CACHE_SAVE &&
	    k->req.cmd != HF_CMD_RELOAD)
		hf_emit_u64(&e, "flushed", count);
	if (k->req.cmd != HF_CMD_CACHE_LOOKUP) /* there "cores" is the per-core list */
		hf_emit_u64(&e, "cores", mg->env.out->nw);
	hf_emit_u64(&e, "apply_us", us);
	hf_emit_obj_end(&e);
	free(k->res);
	k->res = NULL;
	if (k->persist_err[0] != '\0' && !e.oom)
		hf_mgmt_error(mg, k, "NTA applied on every core but NOT persisted: %s",
			      k->persist_err);
	else
		hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}
void hf_mgmt_cmd_tls_reload(struct hf_mgmt *mg, struct hf_mgmt_conn *k)
{
	struct hf_emit e;
	char err[512];

	if (mg->tls_reload == NULL) {
		hf_mgmt_error(mg, k, "DNS over TLS is not configured (tls-certificate)");
		return;
	}
	if (mg->tls_reload(mg->tls_arg, err, sizeof(err)) != 0) {
		hf_mgmt_error(mg, k, "%s", err);
		return;
	}
	hf_log(HF_LOG_NOTICE, "tls reload: %s loaded", mg->env.cfg->tls_certificate);
	hf_emit_init(&e, k->json);
	hf_emit_obj_begin(&e, NULL);
	if (k->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_str(&e, "certificate", mg->env.cfg->tls_certificate);
	hf_emit_obj_end(&e);
	hf_mgmt_reply(mg, k, e.oom ? "out of memory" : NULL, &e);
	hf_emit_free(&e);
}
