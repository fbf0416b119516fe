/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: Negative Trust Anchors (RFC 7646).
 *
 * Control owns the authoritative list (struct hf_nta_list). The validator
 * asks it, through the forwarder's hook, whether a name is covered; data there is not validated and
 * is INSECURE (never AD). The workers hold no copy of the list: the cache
 * entries themselves carry the outcome. Adding an NTA sends HF_MSG_NTA to
 * every worker, which drops the subtree's failures and bogus data and
 * turns its secure data insecure (HF_ANS_F_NTA); removing one drops the
 * subtree's failures, bogus data and HF_ANS_F_NTA entries, so the next
 * query validates again. Either completes, like every control message,
 * when each worker's applied_seq has reached it. Each core applies it in
 * O(1) (a generation and a log of changes, cache/hf_cache.h,
 * hf_cache_subtree_event): an entry is changed when it is next used. The
 * hit path pays one compare it already made.
 *
 * Repairs: a zone where a bogus answer's chain broke is watched, and a
 * secure answer below it sends HF_FLUSH_REPAIRED the same way, so the
 * names cached there are secure again seconds after the repair instead of
 * after the failure recheck (hf_nta_seen_answer).
 *
 * Lifetimes are wall-clock (Unix time): an NTA added for an hour expires an
 * hour later even across a restart. The state file (nta-state-file) holds
 * the NTAs added at run time, one per line, and is replaced atomically:
 *   holdfast-nta 1
 *   NAME<TAB>ADDED<TAB>EXPIRES<TAB>RECHECK<TAB>REASON
 * A file that does not parse is renamed to FILE.corrupt and reported;
 * holdfast starts without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hf_log.h"
#include "control/hf_control.h"
#include "control/hf_fanout.h"
#include "control/hf_fwd.h"
#include "control/hf_nta.h"
#include "validator/hf_validator.h"
#include "control/hf_file.h"

#define NTA_TICK_MS 100 /* expiry/recheck resolution */

static int find(const struct hf_nta_list *l, const uint8_t *name, size_t len)
{
	for (unsigned i = 0; i < l->nntas; i++)
		if (hf_dns_name_equal(l->ntas[i].name, l->ntas[i].name_len, name, len))
			return (int)i;
	return -1;
}

bool hf_nta_covers(const struct hf_nta_list *l, const uint8_t *name, size_t len)
{
	uint64_t now = (uint64_t)time(NULL);
	for (unsigned i = 0; i < l->nntas; i++)
		if (l->ntas[i].expires_s > now &&
		    hf_dns_name_is_sub(name, len, l->ntas[i].name, l->ntas[i].name_len))
			return true;
	return false;
}

/* HF_MSG_NTA for name with mode to every worker. */
static int broadcast(struct hf_nta_list *l, const uint8_t *name, size_t len,
		     enum hf_flush_mode mode, struct hf_msg_result *res, uint64_t *seq)
{
	struct hf_msg_ctl *m = calloc(1, sizeof(*m));
	int rc;
	if (m == NULL)
		return hf_error(HF_ENOMEM);
	m->type = HF_MSG_NTA;
	m->subtree = 1;
	m->mode = (uint8_t)mode;
	m->res = res;
	memcpy(m->key.name, name, len);
	m->key.name_len = (uint8_t)len;
	rc = hf_fanout_send(l->out, m);
	if (rc == 0 && seq != NULL)
		*seq = hf_fanout_last_seq(l->out);
	return rc;
}

/* ---- repairs ---- */

static struct hf_repair_zone *repair_zone(struct hf_nta_list *l, const uint8_t *name, size_t len)
{
	struct hf_repair_zone *z = NULL;
	for (unsigned i = 0; i < l->nrz; i++)
		if (hf_dns_name_equal(l->rz[i].name, l->rz[i].name_len, name, len))
			return &l->rz[i];
	if (l->nrz < HF_REPAIR_ZONES) {
		z = &l->rz[l->nrz++];
	} else { /* the zone seen broken longest ago makes room */
		z = &l->rz[0];
		for (unsigned i = 1; i < l->nrz; i++)
			if (l->rz[i].broken_ms < z->broken_ms)
				z = &l->rz[i];
		if (z->broken)
			l->nbroken--;
	}
	memset(z, 0, sizeof(*z));
	memcpy(z->name, name, len);
	z->name_len = (uint8_t)len;
	return z;
}

/* Forget the zones at and below name: an NTA change there validates
 * everything below again anyway. */
static void repair_forget(struct hf_nta_list *l, const uint8_t *name, size_t len)
{
	for (unsigned i = 0; i < l->nrz;) {
		if (!hf_dns_name_is_sub(l->rz[i].name, l->rz[i].name_len, name, len)) {
			i++;
			continue;
		}
		if (l->rz[i].broken)
			l->nbroken--;
		l->rz[i] = l->rz[--l->nrz];
	}
}

bool hf_nta_broken_zone(struct hf_val *val, const struct hf_cache_key *key,
			const struct hf_dns_answer *a, uint8_t *zone, size_t *zone_len)
{
	*zone_len = 0;
	if (val == NULL || (key->flags & HF_KEY_CD) || a->kind != HF_ANS_FAILURE ||
	    (a->security != HF_SECURITY_BOGUS && a->security != HF_SECURITY_INDETERMINATE))
		return false;
	return hf_val_broken_zone(val, key->name, key->name_len, (uint64_t)time(NULL), zone,
				  zone_len);
}

void hf_nta_seen(struct hf_nta_list *l, const struct hf_cache_key *key,
		 const struct hf_dns_answer *a, const uint8_t *zn, size_t zl, uint64_t now_ms)
{
	char nm[HF_DNS_NAME_MAX * 4 + 8];

	if (l->val == NULL || l->rz == NULL || (key->flags & HF_KEY_CD))
		return;
	if (a->kind == HF_ANS_FAILURE &&
	    (a->security == HF_SECURITY_BOGUS || a->security == HF_SECURITY_INDETERMINATE)) {
		struct hf_repair_zone *z;
		if (zl == 0)
			return;
		z = repair_zone(l, zn, zl);
		if (!z->broken)
			l->nbroken++;
		z->broken = true;
		z->broken_ms = now_ms;
		return;
	}
	if (l->nbroken == 0 || a->kind == HF_ANS_FAILURE || a->security != HF_SECURITY_SECURE)
		return;
	for (unsigned i = 0; i < l->nrz; i++) {
		struct hf_repair_zone *z = &l->rz[i];
		if (!z->broken ||
		    !hf_dns_name_is_sub(key->name, key->name_len, z->name, z->name_len))
			continue;
		if (z->released_ms != 0 && now_ms < z->released_ms + l->cfg->failure_recheck_ms)
			continue; /* flapping: the recheck's pace at most */
		if (broadcast(l, z->name, z->name_len, HF_FLUSH_REPAIRED, NULL, NULL) != 0)
			continue;
		z->broken = false;
		z->released_ms = now_ms;
		l->nbroken--;
		if (l->repaired != NULL)
			l->repaired(l->changed_arg, z->name, z->name_len);
		hf_dns_name_str(z->name, z->name_len, nm, sizeof(nm));
		hf_log(HF_LOG_NOTICE,
		       "repair: %s validates again; its failures and failure-recheck holds dropped "
		       "on every core",
		       nm);
	}
}

void hf_nta_seen_answer(struct hf_nta_list *l, const struct hf_cache_key *key,
			const struct hf_dns_answer *a, uint64_t now_ms)
{
	uint8_t zn[HF_DNS_NAME_MAX];
	size_t zl = 0;

	if (l->rz == NULL)
		return;
	hf_nta_broken_zone(l->val, key, a, zn, &zl);
	hf_nta_seen(l, key, a, zn, zl, now_ms);
}

int hf_nta_save(struct hf_nta_list *l)
{
	const char *path = l->cfg->nta_state_file;
	char nm[HF_DNS_NAME_MAX * 4 + 8];
	size_t line_max = sizeof(nm) + 3 * 21 + HF_NTA_REASON_MAX + 8;
	size_t cap = 16 + (size_t)l->nntas * line_max, len;
	char *buf;
	int rc;

	if (path[0] == '\0')
		return 0;
	buf = malloc(cap);
	if (buf == NULL) {
		snprintf(l->persist_err, sizeof(l->persist_err), "cannot write %s: %s", path,
			 strerror(ENOMEM));
		l->persist_failed = true;
		hf_log(HF_LOG_WARNING, "nta: %s", l->persist_err);
		return hf_error(HF_EIO);
	}
	len = (size_t)snprintf(buf, cap, "holdfast-nta 1\n");
	for (unsigned i = 0; i < l->nntas; i++) {
		const struct hf_nta *n = &l->ntas[i];
		if (n->source == HF_NTA_SRC_CONFIG) /* the config file brings them back */
			continue;
		hf_dns_name_str(n->name, n->name_len, nm, sizeof(nm));
		len += (size_t)snprintf(buf + len, cap - len, "%s\t%llu\t%llu\t%u\t%s\n", nm,
					(unsigned long long)n->added_s,
					(unsigned long long)n->expires_s, n->recheck_s, n->reason);
	}
	rc = hf_file_replace(path, buf, len, l->persist_err, sizeof(l->persist_err));
	free(buf);
	if (rc != 0) {
		l->persist_failed = true;
		hf_log(HF_LOG_WARNING, "nta: %s", l->persist_err);
		return hf_error(HF_EIO);
	}
	if (l->persist_failed)
		hf_log(HF_LOG_NOTICE, "nta: %s written again", path);
	l->persist_failed = false;
	l->persist_err[0] = '\0';
	return 0;
}

static int insert(struct hf_nta_list *l, const uint8_t *name, size_t len, uint64_t added_s,
		  uint64_t expires_s, uint32_t recheck_s, const char *reason,
		  enum hf_nta_source src)
{
	int i = find(l, name, len);
	struct hf_nta *n;
	if (i < 0) {
		if (l->nntas >= HF_NTA_MAX)
			return hf_error(HF_EFULL);
		i = (int)l->nntas++;
	}
	n = &l->ntas[i];
	memset(n, 0, sizeof(*n));
	memcpy(n->name, name, len);
	hf_dns_name_lower(n->name, len);
	n->name_len = (uint8_t)len;
	n->source = (uint8_t)src;
	n->added_s = added_s;
	n->expires_s = expires_s;
	n->recheck_s = recheck_s;
	n->next_recheck_ms = hf_control_now_ms() + (uint64_t)recheck_s * 1000u;
	snprintf(n->reason, sizeof(n->reason), "%s", reason ? reason : "");
	l->next_ms = 0; /* look at it on the next pass */
	return 0;
}

int hf_nta_add(struct hf_nta_list *l, const uint8_t *name, size_t len, uint32_t lifetime_s,
	       uint64_t expires_s, uint32_t recheck_s, const char *reason, enum hf_nta_source src,
	       struct hf_msg_result *res, uint64_t *seq, char *err, size_t errlen)
{
	uint64_t now = (uint64_t)time(NULL);
	char nm[HF_DNS_NAME_MAX * 4 + 8];
	int rc;

	if (expires_s != 0) {
		/* an absolute expiry (the fleet's): the same second everywhere */
		if (expires_s <= now || expires_s - now > HF_NTA_LIFETIME_MAX) {
			snprintf(err, errlen,
				 "expiry %llu is not between 1s and 1w from now (%llu; RFC 7646)",
				 (unsigned long long)expires_s, (unsigned long long)now);
			return hf_error(HF_EINVAL);
		}
	} else if (lifetime_s == 0 || lifetime_s > HF_NTA_LIFETIME_MAX) {
		snprintf(err, errlen, "lifetime must be between 1s and 1w (RFC 7646)");
		return hf_error(HF_EINVAL);
	} else {
		expires_s = now + lifetime_s;
	}
	if (recheck_s != 0 && l->val == NULL) {
		snprintf(err, errlen, "--recheck needs dnssec: yes");
		return hf_error(HF_EINVAL);
	}
	if (len <= 1) {
		snprintf(err, errlen,
			 "an NTA for the root would turn DNSSEC off; set dnssec: no "
			 "instead");
		return hf_error(HF_EINVAL);
	}
	rc = insert(l, name, len, now, expires_s, recheck_s, reason, src);
	if (rc != 0) {
		snprintf(err, errlen, "too many NTAs: at most %d in force at once", HF_NTA_MAX);
		return rc;
	}
	if (l->val != NULL)
		hf_val_flush_name(l->val, name, len);
	if (l->changed != NULL)
		l->changed(l->changed_arg, name, len, &l->ntas[find(l, name, len)]);
	repair_forget(l, name, len);
	rc = broadcast(l, name, len, HF_FLUSH_NTA_ADD, res, seq);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	hf_dns_name_str(name, len, nm, sizeof(nm));
	hf_log(HF_LOG_NOTICE, "nta: %s added for %llus%s%s", nm,
	       (unsigned long long)(expires_s - now), reason && reason[0] ? ": " : "",
	       reason ? reason : "");
	hf_nta_save(l);
	return 0;
}

static void drop(struct hf_nta_list *l, unsigned i)
{
	l->ntas[i] = l->ntas[--l->nntas];
}

int hf_nta_remove(struct hf_nta_list *l, const uint8_t *name, size_t len, const char *why,
		  struct hf_msg_result *res, uint64_t *seq)
{
	char nm[HF_DNS_NAME_MAX * 4 + 8];
	int i = find(l, name, len);
	int rc;

	if (i < 0)
		return hf_error(HF_ENOENT);
	drop(l, (unsigned)i);
	if (l->val != NULL)
		hf_val_flush_name(l->val, name, len);
	if (l->changed != NULL)
		l->changed(l->changed_arg, name, len, NULL);
	repair_forget(l, name, len);
	rc = broadcast(l, name, len, HF_FLUSH_NTA_REMOVE, res, seq);
	hf_dns_name_str(name, len, nm, sizeof(nm));
	if (why != NULL) /* NULL: the caller says it */
		hf_log(HF_LOG_NOTICE, "nta: %s removed (%s)", nm, why);
	hf_nta_save(l);
	return rc;
}

bool hf_nta_tick(struct hf_nta_list *l, uint64_t now_ms)
{
	uint64_t now = (uint64_t)time(NULL);
	bool did = false;

	if (l->nntas == 0 || now_ms < l->next_ms)
		return false;
	l->next_ms = now_ms + NTA_TICK_MS;
	for (unsigned i = 0; i < l->nntas;) {
		struct hf_nta *n = &l->ntas[i];
		if (n->expires_s <= now) {
			uint8_t name[HF_DNS_NAME_MAX];
			size_t len = n->name_len;
			memcpy(name, n->name, len);
			hf_nta_remove(l, name, len, "lifetime over", NULL, NULL);
			did = true;
			continue; /* i now holds what was the last one */
		}
		if (n->recheck_s != 0 && !n->recheck_busy && now_ms >= n->next_recheck_ms) {
			/* a recheck must not be answered from a verdict cached under the NTA */
			hf_val_flush_name(l->val, n->name, n->name_len);
			/* busy before the call: a recheck whose every attempt fails at
			 * once reports its verdict (and clears this) before it returns */
			n->recheck_busy = true;
			if (hf_fwd_internal(l->fwd, n->name, n->name_len, HF_TYPE_DNSKEY, now_ms) !=
			    0)
				n->recheck_busy = false;
			n->next_recheck_ms = now_ms + (uint64_t)n->recheck_s * 1000u;
			did = true;
		}
		i++;
	}
	return did;
}

void hf_nta_recheck_done(struct hf_nta_list *l, const uint8_t *name, size_t len, uint8_t verdict,
			 uint16_t ede, const char *text)
{
	char nm[HF_DNS_NAME_MAX * 4 + 8];
	int i = find(l, name, len);

	if (i < 0)
		return; /* removed meanwhile */
	l->ntas[i].recheck_busy = false;
	hf_dns_name_str(name, len, nm, sizeof(nm));
	if (verdict == HF_SECURITY_SECURE) {
		hf_nta_remove(l, name, len, NULL, NULL, NULL);
		hf_log(HF_LOG_NOTICE, "nta: %s validates again, removed", nm);
		return;
	}
	/* flush what the recheck cached as bogus: the NTA still holds */
	hf_val_flush_name(l->val, name, len);
	if (l->ntas[i].recheck_logged_ms != 0 &&
	    hf_control_now_ms() - l->ntas[i].recheck_logged_ms < 60000)
		return;
	l->ntas[i].recheck_logged_ms = hf_control_now_ms();
	if (ede != HF_EDE_NONE)
		hf_log(HF_LOG_NOTICE, "nta: %s still fails validation (EDE %u%s%s), kept", nm, ede,
		       text && text[0] ? ": " : "", text ? text : "");
	else
		hf_log(HF_LOG_NOTICE, "nta: %s still not secure, kept", nm);
}

/* Parse one state line; 0 or HF_EINVAL. */
static int parse_line(char *line, uint8_t *name, size_t *len, uint64_t *added, uint64_t *expires,
		      uint32_t *recheck, char **reason)
{
	char *f[5], *p = line, *end;
	unsigned long long v;
	for (int i = 0; i < 4; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			return HF_EINVAL;
		*p++ = '\0';
	}
	f[4] = p;
	if (hf_dns_name_from_str(f[0], name, len) != 0 || *len <= 1)
		return HF_EINVAL;
	errno = 0;
	v = strtoull(f[1], &end, 10);
	if (errno || *end || end == f[1])
		return HF_EINVAL;
	*added = v;
	v = strtoull(f[2], &end, 10);
	if (errno || *end || end == f[2] || v > *added + HF_NTA_LIFETIME_MAX)
		return HF_EINVAL;
	*expires = v;
	v = strtoull(f[3], &end, 10);
	if (errno || *end || end == f[3] || v > HF_NTA_LIFETIME_MAX)
		return HF_EINVAL;
	*recheck = (uint32_t)v;
	if (strlen(f[4]) > HF_NTA_REASON_MAX)
		return HF_EINVAL;
	*reason = f[4];
	return 0;
}

static void set_aside(const char *path, const char *why, unsigned lineno)
{
	char bad[300];
	if (hf_file_set_aside(path, bad, sizeof(bad)) == 0)
		hf_log(HF_LOG_WARNING,
		       "nta: %s:%u: %s; file set aside as %s, starting without its "
		       "NTAs",
		       path, lineno, why, bad);
	else
		hf_log(HF_LOG_WARNING,
		       "nta: %s:%u: %s; cannot set it aside (%s), starting without "
		       "its NTAs",
		       path, lineno, why, strerror(errno));
}

/* Restore the state file's NTAs (expired ones are dropped). */
static void load_state(struct hf_nta_list *l)
{
	const char *path = l->cfg->nta_state_file;
	uint64_t now = (uint64_t)time(NULL);
	char line[1024];
	unsigned lineno = 0, restored = 0;
	FILE *f;
	struct {
		uint8_t name[HF_DNS_NAME_MAX];
		size_t len;
		uint64_t added, expires;
		uint32_t recheck;
		char reason[HF_NTA_REASON_MAX + 1];
	} * tmp;
	unsigned n = 0;

	if (path[0] == '\0')
		return;
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno != ENOENT)
			hf_log(HF_LOG_WARNING, "nta: cannot read %s: %s", path, strerror(errno));
		return;
	}
	tmp = calloc(HF_NTA_MAX, sizeof(*tmp));
	if (tmp == NULL) {
		fclose(f);
		return;
	}
	/* all or nothing: a file that does not parse is not half-applied */
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t ll = strlen(line);
		char *reason;
		lineno++;
		if (ll == 0 || line[ll - 1] != '\n') {
			fclose(f);
			set_aside(path, "line too long or not terminated", lineno);
			free(tmp);
			return;
		}
		line[--ll] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "holdfast-nta 1") != 0) {
				fclose(f);
				set_aside(path, "not a holdfast NTA state file", lineno);
				free(tmp);
				return;
			}
			continue;
		}
		if (n >= HF_NTA_MAX || parse_line(line, tmp[n].name, &tmp[n].len, &tmp[n].added,
						  &tmp[n].expires, &tmp[n].recheck, &reason) != 0) {
			fclose(f);
			set_aside(path, n >= HF_NTA_MAX ? "too many NTAs" : "line does not parse",
				  lineno);
			free(tmp);
			return;
		}
		snprintf(tmp[n].reason, sizeof(tmp[n].reason), "%s", reason);
		n++;
	}
	fclose(f);
	if (lineno == 0) {
		set_aside(path, "empty file", 1);
		free(tmp);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (tmp[i].expires <= now)
			continue;
		if (tmp[i].recheck != 0 && l->val == NULL)
			tmp[i].recheck = 0;
		if (insert(l, tmp[i].name, tmp[i].len, tmp[i].added, tmp[i].expires, tmp[i].recheck,
			   tmp[i].reason, HF_NTA_SRC_STATE) == 0) {
			restored++;
		} else {
			char nm[HF_DNS_NAME_MAX * 4 + 8];
			hf_dns_name_str(tmp[i].name, tmp[i].len, nm, sizeof(nm));
			hf_log(HF_LOG_WARNING,
			       "nta: %s from %s not restored: at most %d NTAs in force "
			       "at once",
			       nm, path, HF_NTA_MAX);
		}
	}
	free(tmp);
	hf_log(HF_LOG_INFO, "nta: %u NTA(s) restored from %s", restored, path);
}

int hf_nta_init(struct hf_nta_list *l, const struct hf_config *cfg, struct hf_val *val,
		struct hf_fanout *out, struct hf_fwd *fwd, char *err, size_t errlen)
{
	uint64_t now = (uint64_t)time(NULL);

	memset(l, 0, sizeof(*l));
	l->cfg = cfg;
	l->val = val;
	l->out = out;
	l->fwd = fwd;
	l->ntas = calloc(HF_NTA_MAX, sizeof(*l->ntas));
	l->rz = calloc(HF_REPAIR_ZONES, sizeof(*l->rz));
	if (l->ntas == NULL || l->rz == NULL) {
		snprintf(err, errlen, "control: out of memory");
		return hf_error(HF_ENOMEM);
	}
	/* before any worker runs: nothing cached yet, nothing to broadcast */
	for (unsigned i = 0; i < l->cfg->nntas; i++) {
		uint8_t name[HF_DNS_NAME_MAX];
		size_t len;
		uint32_t life;
		char reason[HF_NTA_REASON_MAX + 1], why[200];
		if (hf_config_parse_nta(l->cfg->nta[i], name, &len, &life, reason, sizeof(reason),
					why, sizeof(why)) != 0) {
			snprintf(err, errlen, "nta: \"%s\": %s", l->cfg->nta[i], why);
			return hf_error(HF_EINVAL);
		}
		if (insert(l, name, len, now, now + life, 0, reason, HF_NTA_SRC_CONFIG) != 0) {
			snprintf(err, errlen, "nta: too many NTAs");
			return hf_error(HF_EFULL);
		}
	}
	load_state(l);
	return 0;
}

int hf_nta_copy_init(struct hf_nta_list *copy, const struct hf_nta_list *from)
{
	memset(copy, 0, sizeof(*copy));
	copy->ntas = calloc(HF_NTA_MAX, sizeof(*copy->ntas));
	if (copy->ntas == NULL)
		return hf_error(HF_ENOMEM);
	memcpy(copy->ntas, from->ntas, from->nntas * sizeof(*from->ntas));
	copy->nntas = from->nntas;
	return 0;
}

void hf_nta_copy_set(struct hf_nta_list *copy, const struct hf_nta *n)
{
	int i = find(copy, n->name, n->name_len);
	if (i < 0) {
		if (copy->nntas >= HF_NTA_MAX) /* as in the list it copies: never */
			return;
		i = (int)copy->nntas++;
	}
	copy->ntas[i] = *n;
}

void hf_nta_copy_del(struct hf_nta_list *copy, const uint8_t *name, size_t len)
{
	int i = find(copy, name, len);
	if (i >= 0)
		drop(copy, (unsigned)i);
}

void hf_nta_fini(struct hf_nta_list *l)
{
	free(l->ntas);
	free(l->rz);
	l->ntas = NULL;
	l->rz = NULL;
	l->nntas = l->nrz = l->nbroken = 0;
}
