/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: the etcd v3 JSON gateway client (hf_etcd.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "control/hf_mgmt.h"
#include "fleet/hf_etcd.h"

/* ---- base64 (keys and values on the wire) ---- */

static char *b64_enc(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

/* NULL on bad base64 or out of memory; NUL-terminated. */
static char *b64_dec(const char *s)
{
	size_t n = strlen(s);
	char *out;
	int len;

	if (n % 4 != 0)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	len = n ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n) : 0;
	if (len < 0) {
		free(out);
		return NULL;
	}
	if (n >= 1 && s[n - 1] == '=')
		len--;
	if (n >= 2 && s[n - 2] == '=')
		len--;
	out[len] = '\0';
	return out;
}

void hf_etcd_prefix_end(const char *prefix, char *out, size_t size)
{
	size_t n = strlen(prefix);
	snprintf(out, size, "%s", prefix);
	if (n > 0 && n < size)
		out[n - 1]++;
}

/* ---- requests ---- */

/* libcurl's write callback: the bytes go to an emitter used as a buffer
 * (hf_emit_raw keeps it NUL-terminated). */
static size_t buf_write(char *data, size_t sz, size_t nm, void *arg)
{
	struct hf_emit *b = arg;
	hf_emit_raw(b, data, sz * nm);
	return b->oom ? 0 : sz * nm;
}

int hf_etcd_init(struct hf_etcd *e, const char *endpoints, long timeout_ms)
{
	char *copy, *save = NULL;

	memset(e, 0, sizeof(*e));
	e->timeout_ms = timeout_ms;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	copy = strdup(endpoints);
	if (copy == NULL)
		goto oom;
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		size_t l = strlen(t);
		if (e->n == HF_ETCD_MAX_ENDPOINTS) {
			snprintf(e->err, sizeof(e->err), "more than %d etcd endpoints",
				 HF_ETCD_MAX_ENDPOINTS);
			free(copy);
			return -1;
		}
		while (l > 0 && t[l - 1] == '/')
			t[--l] = '\0';
		if (strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0) {
			snprintf(e->err, sizeof(e->err),
				 "etcd endpoint \"%.200s\" is not an http:// or https:// URL", t);
			free(copy);
			return -1;
		}
		e->endpoints[e->n] = strdup(t);
		if (e->endpoints[e->n++] == NULL) {
			free(copy);
			goto oom;
		}
	}
	free(copy);
	if (e->n == 0) {
		snprintf(e->err, sizeof(e->err), "no etcd endpoint given");
		return -1;
	}
	e->curl = curl_easy_init();
	if (e->curl != NULL)
		return 0;
oom:
	snprintf(e->err, sizeof(e->err), "out of memory");
	return -1;
}

int hf_etcd_auth(struct hf_etcd *e, const char *user, const char *password_file)
{
	FILE *f = fopen(password_file, "re");
	char line[512];
	size_t l;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		snprintf(e->err, sizeof(e->err), "etcd password file %.300s: %s", password_file,
			 f == NULL ? strerror(errno) : "empty");
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	l = strcspn(line, "\r\n");
	line[l] = '\0';
	free(e->user);
	free(e->password);
	e->user = strdup(user);
	e->password = strdup(line);
	OPENSSL_cleanse(line, sizeof(line));
	if (e->user == NULL || e->password == NULL) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	return 0;
}

void hf_etcd_fini(struct hf_etcd *e)
{
	if (e->password != NULL)
		OPENSSL_cleanse(e->password, strlen(e->password));
	free(e->user);
	free(e->password);
	for (unsigned i = 0; i < e->n; i++)
		free(e->endpoints[i]);
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	memset(e, 0, sizeof(*e));
}

void hf_etcd_rotate(struct hf_etcd *e)
{
	e->cur = (e->cur + 1) % e->n;
	e->token[0] = '\0'; /* authenticate again, there */
}

/* The request's headers: the content type, and the token once there is one. */
static struct curl_slist *headers(const struct hf_etcd *e)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h != NULL && e->token[0] != '\0') {
		char a[300];
		struct curl_slist *t;
		snprintf(a, sizeof(a), "Authorization: %s", e->token);
		t = curl_slist_append(h, a);
		if (t == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* The TLS files on a handle (they only matter for https:// endpoints). */
static void tls_opts(const struct hf_etcd *e, CURL *c)
{
	if (e->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
	if (e->cert != NULL)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
	if (e->key != NULL)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
}

static json_object *request(struct hf_etcd *e, const char *path, const char *body);

/* With a user and no token for the current endpoint: get one. 0, 1 the
 * endpoint could not be reached (rotated), -1 etcd refused (e->err). */
static int authenticate(struct hf_etcd *e)
{
	json_object *q, *r, *t;
	unsigned cur = e->cur;

	if (e->user == NULL || e->token[0] != '\0')
		return 0;
	q = json_object_new_object();
	if (q == NULL) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	json_object_object_add(q, "name", json_object_new_string(e->user));
	json_object_object_add(q, "password", json_object_new_string(e->password));
	r = request(e, NULL, json_object_to_json_string(q));
	json_object_put(q);
	if (r == NULL)
		return e->cur != cur ? 1 : -1;
	if (!json_object_object_get_ex(r, "token", &t) ||
	    strlen(json_object_get_string(t)) >= sizeof(e->token)) {
		snprintf(e->err, sizeof(e->err), "etcd authenticate: no usable token in the reply");
		json_object_put(r);
		return -1;
	}
	snprintf(e->token, sizeof(e->token), "%s", json_object_get_string(t));
	json_object_put(r);
	return 0;
}

/*
 * POST body to path on the current endpoint, trying each endpoint once
 * in turn while the request cannot be sent or the member answers with a
 * server error (no leader, leader changed, shutting down). With a user, a
 * token first (path NULL: this is the authenticate request), and once
 * more when etcd no longer takes the token. The parsed reply, or NULL
 * with e->err set.
 */
static json_object *request(struct hf_etcd *e, const char *path, const char *body)
{
	CURL *c = e->curl;
	bool again = true;

	e->refused = false;

	for (unsigned tries = 0; tries < e->n; tries++) {
		struct curl_slist *hdr;
		struct hf_emit b;
		char url[320];
		long code = 0;
		CURLcode rc;
		json_object *j;

		if (path != NULL) {
			int a = authenticate(e);
			if (a < 0)
				return NULL;
			if (a > 0)
				continue; /* rotated: the next member */
		}
		hdr = headers(e);
		if (hdr == NULL) {
			snprintf(e->err, sizeof(e->err), "out of memory");
			return NULL;
		}
		hf_emit_init(&b, false);
		snprintf(url, sizeof(url), "%s%s", e->endpoints[e->cur],
			 path != NULL ? path : "/v3/auth/authenticate");
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		tls_opts(e, c);
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (rc != CURLE_OK || code >= 500 || b.buf == NULL) {
			snprintf(e->err, sizeof(e->err), "%.300s: %.200s", url,
				 rc != CURLE_OK ? curl_easy_strerror(rc)
				 : b.buf	? b.buf
						: "empty reply");
			hf_emit_free(&b);
			curl_slist_free_all(hdr);
			hf_etcd_rotate(e);
			continue;
		}
		curl_slist_free_all(hdr);
		if (code == 401 && path != NULL && e->user != NULL && again) {
			/* the token expired or this member does not know it */
			hf_emit_free(&b);
			e->token[0] = '\0';
			again = false;
			tries--;
			continue;
		}
		j = json_tokener_parse(b.buf);
		if (j == NULL || code != 200) {
			snprintf(e->err, sizeof(e->err), "%.300s: HTTP %ld: %.160s", url, code,
				 b.buf);
			e->refused = true;
			json_object_put(j);
			hf_emit_free(&b);
			return NULL;
		}
		hf_emit_free(&b);
		return j;
	}
	return NULL;
}

static int64_t get_i64(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static int64_t header_rev(json_object *o)
{
	json_object *h;
	return json_object_object_get_ex(o, "header", &h) ? get_i64(h, "revision") : 0;
}

/* kv {"key":b64,"value":b64,"mod_revision":"N"} into out; -1 on bad base64. */
static int parse_kv(json_object *o, struct hf_etcd_kv *out)
{
	json_object *k, *v;
	out->key = out->value = NULL;
	out->mod_revision = get_i64(o, "mod_revision");
	if (!json_object_object_get_ex(o, "key", &k))
		return -1;
	out->key = b64_dec(json_object_get_string(k));
	out->value =
		b64_dec(json_object_object_get_ex(o, "value", &v) ? json_object_get_string(v) : "");
	if (out->key == NULL || out->value == NULL) {
		free(out->key);
		free(out->value);
		out->key = out->value = NULL;
		return -1;
	}
	return 0;
}

void hf_etcd_kvs_free(struct hf_etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n && kvs != NULL; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

/* json-c object with key (and range_end for a prefix) as base64. */
static json_object *key_obj(const char *key, bool prefix)
{
	json_object *o = json_object_new_object();
	char *k = b64_enc(key);
	if (o == NULL || k == NULL) {
		json_object_put(o);
		free(k);
		return NULL;
	}
	json_object_object_add(o, "key", json_object_new_string(k));
	free(k);
	if (prefix) {
		char end[512], *re;
		hf_etcd_prefix_end(key, end, sizeof(end));
		re = b64_enc(end);
		if (re == NULL) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, "range_end", json_object_new_string(re));
		free(re);
	}
	return o;
}

int hf_etcd_range_prefix(struct hf_etcd *e, const char *prefix, struct hf_etcd_kv **kvs, size_t *n,
			 int64_t *rev)
{
	json_object *q = key_obj(prefix, true), *r, *arr;
	size_t cnt;

	*kvs = NULL;
	*n = 0;
	if (q == NULL) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	r = request(e, "/v3/kv/range", json_object_to_json_string(q));
	json_object_put(q);
	if (r == NULL)
		return -1;
	*rev = header_rev(r);
	if (!json_object_object_get_ex(r, "kvs", &arr)) { /* no keys: omitted */
		json_object_put(r);
		return 0;
	}
	cnt = json_object_array_length(arr);
	*kvs = calloc(cnt ? cnt : 1, sizeof(**kvs));
	if (*kvs == NULL) {
		json_object_put(r);
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (parse_kv(json_object_array_get_idx(arr, i), &(*kvs)[*n]) != 0)
			continue; /* not ours to read: skipped */
		(*n)++;
	}
	json_object_put(r);
	return 0;
}

int hf_etcd_txn(struct hf_etcd *e, const struct hf_etcd_op *ops, size_t n, int64_t *rev)
{
	json_object *q = json_object_new_object(), *succ = json_object_new_array(), *r;
	int rc = -1;

	if (q == NULL || succ == NULL)
		goto oom;
	json_object_object_add(q, "success", succ);
	for (size_t i = 0; i < n; i++) {
		json_object *op = json_object_new_object(), *k = key_obj(ops[i].key, false);
		if (op == NULL || k == NULL) {
			json_object_put(op);
			json_object_put(k);
			goto oom;
		}
		if (ops[i].value != NULL) {
			char *v = b64_enc(ops[i].value);
			if (v == NULL) {
				json_object_put(op);
				json_object_put(k);
				goto oom;
			}
			json_object_object_add(k, "value", json_object_new_string(v));
			free(v);
		}
		json_object_object_add(op, ops[i].value ? "request_put" : "request_delete_range",
				       k);
		json_object_array_add(succ, op);
	}
	r = request(e, "/v3/kv/txn", json_object_to_json_string(q));
	json_object_put(q);
	if (r == NULL)
		return -1;
	if (rev != NULL)
		*rev = header_rev(r);
	json_object_put(r);
	return 0;
oom:
	json_object_put(q);
	snprintf(e->err, sizeof(e->err), "out of memory");
	return rc;
}

int hf_etcd_put(struct hf_etcd *e, const char *key, const char *value, int64_t *rev)
{
	struct hf_etcd_op op = {.key = key, .value = value};
	return hf_etcd_txn(e, &op, 1, rev);
}

/* ---- watch ---- */

int hf_etcd_watch_start(struct hf_etcd *e, struct hf_etcd_watch *w, const char *prefix,
			int64_t start_rev)
{
	json_object *q, *c;
	struct curl_slist *hdr;

	memset(w, 0, sizeof(*w));
	/* with a user: a token on this endpoint first (a refusal ends here) */
	if (e->user != NULL && e->token[0] == '\0') {
		unsigned cur = e->cur;
		int a = authenticate(e);
		if (a != 0 || e->cur != cur) {
			snprintf(w->err, sizeof(w->err), "%s", e->err);
			return -1;
		}
	}
	q = json_object_new_object();
	c = key_obj(prefix, true);
	w->hdr = hdr = headers(e);
	if (q == NULL || c == NULL || hdr == NULL) {
		json_object_put(q);
		json_object_put(c);
		curl_slist_free_all(hdr);
		w->hdr = NULL;
		snprintf(w->err, sizeof(w->err), "out of memory");
		return -1;
	}
	json_object_object_add(c, "start_revision", json_object_new_int64(start_rev));
	json_object_object_add(q, "create_request", c);
	w->body = strdup(json_object_to_json_string(q));
	json_object_put(q);
	snprintf(w->url, sizeof(w->url), "%s/v3/watch", e->endpoints[e->cur]);
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (w->body == NULL || w->multi == NULL || w->easy == NULL) {
		hf_etcd_watch_stop(w);
		snprintf(w->err, sizeof(w->err), "out of memory");
		return -1;
	}
	curl_easy_setopt(w->easy, CURLOPT_URL, w->url);
	curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, &w->in);
	curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
	tls_opts(e, w->easy);
	/* a member that went silent (cut off, not closed) is noticed in seconds */
	curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_multi_add_handle(w->multi, w->easy);
	w->running = true;
	return 0;
}

void hf_etcd_watch_stop(struct hf_etcd_watch *w)
{
	if (w->multi != NULL && w->easy != NULL)
		curl_multi_remove_handle(w->multi, w->easy);
	if (w->easy != NULL)
		curl_easy_cleanup(w->easy);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	free(w->body);
	curl_slist_free_all(w->hdr);
	w->hdr = NULL;
	hf_emit_free(&w->in);
	hf_emit_init(&w->in, false);
	w->multi = w->easy = NULL;
	w->body = NULL;
	w->running = false;
}

/* One line of the stream: {"result":{...}} or {"error":{...}}. */
static int watch_line(struct hf_etcd_watch *w, const char *line,
		      int (*cb)(void *arg, const struct hf_etcd_event *ev), void *arg)
{
	json_object *j = json_tokener_parse(line), *res, *evs, *v;
	int rc = 0;

	if (j == NULL) {
		snprintf(w->err, sizeof(w->err), "%.300s: not JSON: %.120s", w->url, line);
		w->running = false;
		return 0;
	}
	if (!json_object_object_get_ex(j, "result", &res)) {
		snprintf(w->err, sizeof(w->err), "%.300s: %.160s", w->url, line);
		w->running = false;
		json_object_put(j);
		return 0;
	}
	if (json_object_object_get_ex(res, "created", &v) && json_object_get_boolean(v))
		w->created = true;
	if (json_object_object_get_ex(res, "canceled", &v) && json_object_get_boolean(v)) {
		w->compacted = get_i64(res, "compact_revision");
		snprintf(w->err, sizeof(w->err), "%.300s: watch cancelled%s", w->url,
			 w->compacted > 0 ? " (revision compacted)" : "");
		w->running = false;
	}
	if (json_object_object_get_ex(res, "events", &evs)) {
		size_t n = json_object_array_length(evs);
		for (size_t i = 0; i < n && rc == 0; i++) {
			json_object *ev = json_object_array_get_idx(evs, i), *kv, *t;
			struct hf_etcd_event e = {.type = HF_ETCD_PUT};
			if (json_object_object_get_ex(ev, "type", &t) &&
			    strcmp(json_object_get_string(t), "DELETE") == 0)
				e.type = HF_ETCD_DELETE;
			if (!json_object_object_get_ex(ev, "kv", &kv) || parse_kv(kv, &e.kv) != 0)
				continue;
			rc = cb(arg, &e);
			free(e.kv.key);
			free(e.kv.value);
		}
	}
	json_object_put(j);
	return rc;
}

int hf_etcd_watch_poll(struct hf_etcd_watch *w, int timeout_ms,
		       int (*cb)(void *arg, const struct hf_etcd_event *ev), void *arg)
{
	int still = 0, nmsg, rc_cb = 0;
	size_t off = 0;
	CURLMsg *m;

	if (!w->running)
		return 0;
	curl_multi_perform(w->multi, &still);
	/* wait only when no complete line is waiting (a part of one is) */
	if (still > 0 && (w->in.len == 0 || memchr(w->in.buf, '\n', w->in.len) == NULL))
		curl_multi_poll(w->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(w->multi, &still);
	while ((m = curl_multi_info_read(w->multi, &nmsg)) != NULL)
		if (m->msg == CURLMSG_DONE) {
			long code = 0;
			curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
			snprintf(w->err, sizeof(w->err), "%.300s: stream ended: %.120s (HTTP %ld)",
				 w->url, curl_easy_strerror(m->data.result), code);
			still = 0;
		}
	/* every complete line, in order */
	for (;;) {
		char *buf = w->in.buf, *nl = buf ? memchr(buf + off, '\n', w->in.len - off) : NULL;
		if (nl == NULL)
			break;
		*nl = '\0';
		rc_cb = nl > buf + off ? watch_line(w, buf + off, cb, arg) : 0;
		off = (size_t)(nl - buf) + 1;
		if (rc_cb != 0) {
			w->running = false;
			break;
		}
		if (!w->running)
			break;
	}
	if (off > 0) {
		memmove(w->in.buf, w->in.buf + off, w->in.len - off + 1);
		w->in.len -= off;
	}
	if (w->in.oom) {
		snprintf(w->err, sizeof(w->err), "out of memory");
		w->running = false;
	}
	if (rc_cb != 0)
		return -1;
	if (still == 0)
		w->running = false;
	return w->running ? 1 : 0;
}
