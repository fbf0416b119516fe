/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: a small etcd v3 client over etcd's JSON gateway
 * (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/watch), with libcurl and
 * json-c (docs/decisions.md, "The fleet talks to etcd through its JSON
 * gateway"). Keys and values are base64 on the wire; here they are C
 * strings. Several endpoints (the cluster's members): a request that
 * cannot be sent, or that a member answers with a server error, goes to
 * the next one. Single-threaded.
 */
#ifndef HF_ETCD_H
#define HF_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/hf_mgmt.h"

#define HF_ETCD_MAX_ENDPOINTS 16

struct hf_etcd {
	char *endpoints[HF_ETCD_MAX_ENDPOINTS]; /* "http://127.0.0.1:2379" */
	unsigned n, cur;
	long timeout_ms; /* one request, connect included */
	/* https:// endpoints: the CA that signed the members' certificates, and
	 * our client certificate and key (etcd --client-cert-auth); NULL: the
	 * system's CAs, no client certificate */
	const char *cacert, *cert, *key;
	/* etcd's auth (hf_etcd_auth): a user and password, exchanged for a
	 * token on the current endpoint; token "" until then, and again after
	 * a failure (hf_etcd_rotate) or a token etcd no longer takes */
	char *user, *password;
	char token[256];
	void *curl;    /* one easy handle for the requests, kept for its connection */
	char err[512]; /* why the last call failed */
	bool refused;  /* ... an etcd member answered it with an error (auth,
			* permission, a bad request): not a member unreachable */
};

struct hf_etcd_kv {
	char *key, *value; /* NUL-terminated */
	int64_t mod_revision;
};

/* endpoints: comma-separated URLs. 0, or -1 with e->err set. */
int hf_etcd_init(struct hf_etcd *e, const char *endpoints, long timeout_ms);
void hf_etcd_fini(struct hf_etcd *e);

/* Authenticate as user, with the password in the first line of
 * password_file (etcd's auth with roles: through the JSON gateway a client
 * certificate's common name is no etcd user, and a certificate with one is
 * refused once auth is on). 0, or -1 (e->err) when the file cannot be read. */
int hf_etcd_auth(struct hf_etcd *e, const char *user, const char *password_file);

/* The keys under prefix (all of them), *rev the store revision they were
 * read at. 0 or -1 (e->err). hf_etcd_kvs_free frees them. */
int hf_etcd_range_prefix(struct hf_etcd *e, const char *prefix, struct hf_etcd_kv **kvs, size_t *n,
			 int64_t *rev);
void hf_etcd_kvs_free(struct hf_etcd_kv *kvs, size_t n);

/* One transaction without conditions: puts (value != NULL) and deletes
 * (value == NULL), applied at one revision (*rev). */
struct hf_etcd_op {
	const char *key, *value;
};
int hf_etcd_txn(struct hf_etcd *e, const struct hf_etcd_op *ops, size_t n, int64_t *rev);
int hf_etcd_put(struct hf_etcd *e, const char *key, const char *value, int64_t *rev);

/* ---- watch: one streaming request on its own connection ---- */

enum hf_etcd_ev_type { HF_ETCD_PUT = 0, HF_ETCD_DELETE = 1 };

struct hf_etcd_event {
	enum hf_etcd_ev_type type;
	struct hf_etcd_kv kv; /* mod_revision: the event's revision */
};

struct hf_etcd_watch {
	void *multi, *easy;
	char *body;	   /* the create request */
	struct hf_emit in; /* stream bytes not parsed yet (a byte buffer) */
	bool running;	   /* the transfer is alive */
	bool created;	   /* etcd confirmed the watch */
	int64_t compacted; /* >0: start revision compacted, etcd cancelled at this one */
	char err[512];
	char url[320];
	void *hdr; /* its headers (a curl_slist): the content type, the token */
};

/* Start watching prefix from start_rev (>= 1) on e's current endpoint. */
int hf_etcd_watch_start(struct hf_etcd *e, struct hf_etcd_watch *w, const char *prefix,
			int64_t start_rev);
/*
 * Wait up to timeout_ms for the stream, then hand every event received, in
 * order, to cb. Returns 1 while the watch runs, 0 when it ended (w->err,
 * or w->compacted > 0), -1 when cb failed (it stops there: the events
 * after the failing one are not passed on).
 */
int hf_etcd_watch_poll(struct hf_etcd_watch *w, int timeout_ms,
		       int (*cb)(void *arg, const struct hf_etcd_event *ev), void *arg);
void hf_etcd_watch_stop(struct hf_etcd_watch *w);

/* The next endpoint (after a failure). */
void hf_etcd_rotate(struct hf_etcd *e);

/* prefix's range end: prefix with its last byte plus one (out: size bytes). */
void hf_etcd_prefix_end(const char *prefix, char *out, size_t size);

#endif
