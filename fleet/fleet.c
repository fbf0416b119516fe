/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: the key layout's records (hf_fleet.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/hf_mgmt.h"
#include "dns/hf_dns.h"
#include "fleet/hf_fleet.h"

int hf_fleet_key(char *out, size_t size, const char *prefix, const char *part, const char *tail)
{
	int n = snprintf(out, size, "%s%s%s", prefix, part, tail ? tail : "");
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int hf_fleet_name_canon(const char *in, char *out, size_t size, char *err, size_t errlen)
{
	char *argv[] = {"nta", "remove", (char *)in, NULL};
	struct hf_mgmt_req r;
	const char *help;

	if (in[0] == '-') {
		snprintf(err, errlen, "\"%.200s\" is not a domain name", in);
		return -1;
	}
	if (hf_mgmt_parse(3, argv, &r, &help, err, errlen) != 0)
		return -1;
	hf_dns_name_str(r.name, r.name_len, out, size);
	return 0;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int64_t get_i64(json_object *o, const char *key, bool *ok)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = false;
		return 0;
	}
	return json_object_get_int64(v);
}

static bool get_bool(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static char *to_string_free(json_object *o)
{
	char *s = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(o);
	return s;
}

char *hf_fleet_nta_json(const struct hf_fleet_nta *n)
{
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "expires", json_object_new_int64((int64_t)n->expires));
	json_object_object_add(o, "reason", json_object_new_string(n->reason));
	json_object_object_add(o, "recheck", json_object_new_int64(n->recheck_s));
	json_object_object_add(o, "by", json_object_new_string(n->by));
	json_object_object_add(o, "added", json_object_new_int64((int64_t)n->added));
	return to_string_free(o);
}

int hf_fleet_nta_parse(const char *json, struct hf_fleet_nta *n)
{
	json_object *o = json_tokener_parse(json);
	const char *name, *reason, *by;
	bool ok = true;
	int64_t exp, rc, added;

	memset(n, 0, sizeof(*n));
	if (o == NULL)
		return -1;
	name = get_str(o, "name");
	reason = get_str(o, "reason");
	by = get_str(o, "by");
	exp = get_i64(o, "expires", &ok);
	rc = get_i64(o, "recheck", &ok);
	added = get_i64(o, "added", &ok);
	if (!ok || name == NULL || reason == NULL || exp <= 0 || rc < 0 || rc > UINT32_MAX ||
	    strlen(name) >= sizeof(n->name) || strlen(reason) > HF_FLEET_REASON_MAX) {
		json_object_put(o);
		return -1;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
	snprintf(n->by, sizeof(n->by), "%s", by ? by : "");
	n->expires = (uint64_t)exp;
	n->recheck_s = (uint32_t)rc;
	n->added = (uint64_t)added;
	json_object_put(o);
	return 0;
}

char *hf_fleet_site_json(const struct hf_fleet_site *s)
{
	json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	json_object_object_add(o, "site", json_object_new_string(s->site));
	json_object_object_add(o, "revision", json_object_new_int64(s->revision));
	json_object_object_add(o, "healthy", json_object_new_boolean(s->healthy));
	json_object_object_add(o, "announced", json_object_new_boolean(s->announced));
	json_object_object_add(o, "drained", json_object_new_boolean(s->drained));
	json_object_object_add(o, "holdfast_up", json_object_new_boolean(s->holdfast_up));
	json_object_object_add(o, "why", json_object_new_string(s->why));
	json_object_object_add(o, "ntas", json_object_new_int64(s->ntas));
	json_object_object_add(o, "updated", json_object_new_int64((int64_t)s->updated));
	return to_string_free(o);
}

int hf_fleet_site_parse(const char *json, struct hf_fleet_site *s)
{
	json_object *o = json_tokener_parse(json);
	const char *site, *why;
	bool ok = true;

	memset(s, 0, sizeof(*s));
	if (o == NULL)
		return -1;
	site = get_str(o, "site");
	why = get_str(o, "why");
	s->revision = get_i64(o, "revision", &ok);
	s->updated = (uint64_t)get_i64(o, "updated", &ok);
	s->ntas = (unsigned)get_i64(o, "ntas", &ok);
	if (!ok || site == NULL) {
		json_object_put(o);
		return -1;
	}
	snprintf(s->site, sizeof(s->site), "%s", site);
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "");
	s->healthy = get_bool(o, "healthy");
	s->announced = get_bool(o, "announced");
	s->drained = get_bool(o, "drained");
	s->holdfast_up = get_bool(o, "holdfast_up");
	json_object_put(o);
	return 0;
}
