/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast control/: what a reload changes (control/hf_reload.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/hf_reload.h"

/*
 * Each is read where it is used, from control's copy of the
 * configuration, or goes to the workers in HF_MSG_CONFIG: the serve-stale
 * knobs and the miss timeout (from upstream-timeout and -attempts).
 */
const char *const hf_reload_runtime_keys[] = {
	"forwarder",
	"serve-stale-window",
	"serve-stale-client-timeout",
	"serve-stale-ttl",
	"serve-stale-failure-recheck",
	"failure-ttl",
	"max-ttl",
	"min-ttl",
	"max-negative-ttl",
	"upstream-timeout",
	"upstream-attempts",
	"fetches-per-zone",
	"fetches-per-server",
	"stats-textfile",
	"stats-textfile-interval",
	"trust-anchor",
	"log-level",
	"aggressive-nsec",
};
const unsigned hf_reload_nruntime_keys = HF_ARRAY_LEN(hf_reload_runtime_keys);

#define DUMP_MAX 65536

static bool runtime_key(const char *key)
{
	for (unsigned i = 0; i < hf_reload_nruntime_keys; i++)
		if (strcmp(hf_reload_runtime_keys[i], key) == 0)
			return true;
	return false;
}

/*
 * The value lines of key in a dump, "v1\nv2\n" (repeatable keys in order),
 * into out; "(not set)" for a path left unset ("# key: (not set)").
 */
static void key_values(const char *dump, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key), n = 0;
	out[0] = '\0';
	for (const char *p = dump; *p;) {
		const char *nl = strchr(p, '\n'), *line = p;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		p += len + (nl ? 1 : 0);
		if (strncmp(line, "# ", 2) == 0 && len > 2) {
			line += 2;
			len -= 2;
		}
		if (len < kl + 2 || strncmp(line, key, kl) != 0 || line[kl] != ':' ||
		    line[kl + 1] != ' ')
			continue;
		n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%.*s\n",
				      (int)(len - kl - 2), line + kl + 2);
	}
}

static bool in_list(const char *list, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = list; (p = strstr(p, key)) != NULL; p += kl)
		if ((p == list || p[-1] == ' ') && (p[kl] == ' ' || p[kl] == '\0'))
			return true;
	return false;
}

static void list_add(char *list, unsigned *count, const char *key)
{
	size_t n = strlen(list);
	snprintf(list + n, HF_RELOAD_LIST_MAX - n, "%s%s", n ? " " : "", key);
	(*count)++;
}

/* Take key's values (next's dump lines in vals) into out. */
static int take_over(struct hf_config *out, const char *key, char *vals, char *err, size_t errlen)
{
	if (strcmp(key, "forwarder") == 0)
		out->nforwarders = 0;
	if (strcmp(key, "stats-textfile") == 0 && strcmp(vals, "(not set)\n") == 0) {
		out->stats_textfile[0] = '\0';
		return 0;
	}
	for (char *v = vals, *nl; *v; v = nl + 1) {
		size_t len;
		nl = strchr(v, '\n');
		*nl = '\0';
		len = strlen(v);
		if (len >= 2 && v[0] == '"' && v[len - 1] == '"') { /* as the file loader does */
			v[len - 1] = '\0';
			v++;
		}
		if (hf_config_set(out, key, v, "reload", err, errlen) != 0)
			return hf_error(HF_EINVAL);
	}
	return 0;
}

int hf_reload_merge(const struct hf_config *cur, const struct hf_config *next,
		    struct hf_config *out, struct hf_reload_diff *d, char *err, size_t errlen)
{
	char *a = malloc(DUMP_MAX), *b = malloc(DUMP_MAX), *va = malloc(DUMP_MAX),
	     *vb = malloc(DUMP_MAX);
	int rc = 0;

	memset(d, 0, sizeof(*d));
	*out = *cur;
	if (a == NULL || b == NULL || va == NULL || vb == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = hf_error(HF_ENOMEM);
		goto done;
	}
	hf_config_dump(cur, a, DUMP_MAX);
	hf_config_dump(next, b, DUMP_MAX);
	/* every key appears in next's dump (a line, or a comment when unset),
	 * but a repeatable key with no value: walk the keys of both */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		const char *dump = pass ? a : b;
		for (const char *p = dump; *p && rc == 0;) {
			const char *nl = strchr(p, '\n'), *line = p, *colon;
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			char key[64];
			p += len + (nl ? 1 : 0);
			if (strncmp(line, "# ", 2) == 0) {
				line += 2;
				len -= 2;
			}
			colon = memchr(line, ':', len);
			if (colon == NULL || (size_t)(colon - line) >= sizeof(key) ||
			    memchr(line, ' ', (size_t)(colon - line)) != NULL)
				continue; /* the dump's title comment */
			memcpy(key, line, (size_t)(colon - line));
			key[colon - line] = '\0';
			if (in_list(d->applied, key) || in_list(d->restart, key))
				continue; /* seen (a repeatable key's next line, or pass 1) */
			key_values(a, key, va, DUMP_MAX);
			key_values(b, key, vb, DUMP_MAX);
			if (strcmp(va, vb) == 0)
				continue;
			if (!runtime_key(key)) {
				list_add(d->restart, &d->nrestart, key);
				continue;
			}
			rc = take_over(out, key, vb, err, errlen);
			list_add(d->applied, &d->napplied, key);
		}
	}
	if (rc == 0)
		rc = hf_config_check(out, err, errlen);
done:
	free(a);
	free(b);
	free(va);
	free(vb);
	return rc;
}
