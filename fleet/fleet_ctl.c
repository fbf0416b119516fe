/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: `holdfastctl --fleet` (hf_fleet_ctl.h). Every edit is one
 * etcd transaction that also writes state/last-change, so the fleet's
 * revision is that key's mod_revision; --wait then polls the sites' keys
 * until each live site reports that revision applied.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control/hf_mgmt.h"
#include "fleet/hf_etcd.h"
#include "fleet/hf_fleet.h"
#include "dns/hf_dns.h"
#include "fleet/hf_fleet_ctl.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* A site whose agent wrote its key longer ago than this is not live:
 * --wait does not wait for it and status says so. */
#define SITE_STALE_S 30

const char hf_fleet_usage[] =
	"usage: holdfastctl --fleet [--etcd URLS] [--prefix P] [--json] COMMAND\n"
	"\n"
	"Commands (the fleet's state in etcd, applied by every site's holdfast-fleet):\n"
	"  nta add NAME [--lifetime D] [--reason T] [--recheck D] [--wait D]\n"
	"  nta remove NAME [--wait D]\n"
	"  nta list\n"
	"  config set KEY VALUE [--wait D]\n"
	"  status                  each site: applied revision, health, drain\n"
	"\n"
	"  --etcd URLS   etcd's client URLs, comma-separated (default: $HOLDFAST_ETCD,\n"
	"                else " HF_FLEET_ETCD_DEF ")\n"
	"  --prefix P    the fleet's key prefix (default: $HOLDFAST_FLEET_PREFIX, else\n"
	"                " HF_FLEET_PREFIX_DEF ")\n"
	"  https:// endpoints: $HOLDFAST_ETCD_CACERT (the members' CA), $HOLDFAST_ETCD_CERT\n"
	"                and $HOLDFAST_ETCD_KEY (our client certificate and key)\n"
	"  etcd's auth:  $HOLDFAST_ETCD_USER, the password in the first line of\n"
	"                $HOLDFAST_ETCD_PASSWORD_FILE\n"
	"  --wait D      return once every live site has applied the edit, or fail\n"
	"                (exit 1) after D, naming the sites that have not\n";

struct ctl {
	const struct hf_fleet_opts *o;
	const char *prefix;
	struct hf_etcd etcd;
	uint64_t wait_ms;
};

static int __attribute__((format(printf, 1, 2))) usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "holdfastctl --fleet: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (holdfastctl --fleet --help)\n");
	return EXIT_USAGE;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int unreachable(struct ctl *c)
{
	fprintf(stderr, "holdfastctl --fleet: etcd: %s\n", c->etcd.err);
	return c->etcd.refused ? EXIT_REFUSED : EXIT_UNREACHABLE;
}

static void who(char *out, size_t size)
{
	const char *u = getenv("SUDO_USER");
	char host[64] = "?";
	if (u == NULL || u[0] == '\0')
		u = getenv("USER");
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, size, "%.60s@%s", u && u[0] ? u : "?", host);
}

/* Print the emitter's output; 0. */
static int print(struct hf_emit *e)
{
	if (e->oom) {
		fprintf(stderr, "holdfastctl --fleet: out of memory\n");
		return EXIT_REFUSED;
	}
	fwrite(e->buf, 1, e->len, stdout);
	return EXIT_OK;
}

/* A list's end: the array and the object closed, printed, freed. */
static int finish_list(struct hf_emit *e)
{
	int rc;
	hf_emit_arr_end(e);
	hf_emit_obj_end(e);
	rc = print(e);
	hf_emit_free(e);
	return rc;
}

/* The sites' records; n of them. */
/* The records under part (HF_FLEET_SITES, HF_FLEET_NTA), parsed into an
 * array of elements of size bytes (those that do not parse are left out);
 * NULL when etcd is not reached. */
static void *read_records(struct ctl *c, const char *part, size_t size,
			  int (*parse)(const char *json, void *out), size_t *n)
{
	char key[512];
	struct hf_etcd_kv *kvs;
	size_t nkv;
	int64_t rev;
	char *out;

	*n = 0;
	if (hf_fleet_key(key, sizeof(key), c->prefix, part, NULL) != 0 ||
	    hf_etcd_range_prefix(&c->etcd, key, &kvs, &nkv, &rev) != 0)
		return NULL;
	out = calloc(nkv ? nkv : 1, size);
	for (size_t i = 0; out != NULL && i < nkv; i++)
		if (parse(kvs[i].value, out + *n * size) == 0)
			(*n)++;
	hf_etcd_kvs_free(kvs, nkv);
	return out;
}

static int parse_site(const char *json, void *out)
{
	return hf_fleet_site_parse(json, out);
}

static int parse_nta(const char *json, void *out)
{
	return hf_fleet_nta_parse(json, out);
}

static struct hf_fleet_site *read_sites(struct ctl *c, size_t *n)
{
	return read_records(c, HF_FLEET_SITES, sizeof(struct hf_fleet_site), parse_site, n);
}

static struct hf_fleet_nta *read_ntas(struct ctl *c, size_t *n)
{
	return read_records(c, HF_FLEET_NTA, sizeof(struct hf_fleet_nta), parse_nta, n);
}

/* Poll the sites until every live one has applied rev (or c->wait_ms). */
static int wait_sites(struct ctl *c, int64_t rev, struct hf_emit *e)
{
	uint64_t t0 = mono_ms(), deadline = t0 + c->wait_ms;
	char late[1024];

	for (;;) {
		size_t n, behind = 0, live = 0;
		uint64_t now = (uint64_t)time(NULL);
		struct hf_fleet_site *s = read_sites(c, &n);
		if (s == NULL)
			return unreachable(c);
		late[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			if (s[i].updated + SITE_STALE_S < now)
				continue;
			live++;
			if (s[i].revision < rev) {
				size_t l = strlen(late);
				behind++;
				snprintf(late + l, sizeof(late) - l, "%s%s", l ? ", " : "",
					 s[i].site);
			}
		}
		free(s);
		if (behind == 0) {
			hf_emit_u64(e, "sites", live);
			hf_emit_u64(e, "wait_ms", mono_ms() - t0);
			return EXIT_OK;
		}
		if (mono_ms() >= deadline) {
			fprintf(stderr,
				"holdfastctl --fleet: revision %lld not applied after %llums by: "
				"%s\n",
				(long long)rev, (unsigned long long)c->wait_ms, late);
			return EXIT_REFUSED;
		}
		usleep(5000);
	}
}

/* One edit (ops) plus state/last-change; the revision and, with --wait, the sites. */
static int edit(struct ctl *c, struct hf_etcd_op *ops, size_t nops, const char *what)
{
	char key[512], by[128], *lc;
	json_object *o = json_object_new_object();
	struct hf_etcd_op all[3];
	struct hf_emit e;
	int64_t rev;
	int rc;

	who(by, sizeof(by));
	json_object_object_add(o, "what", json_object_new_string(what));
	json_object_object_add(o, "by", json_object_new_string(by));
	json_object_object_add(o, "at", json_object_new_int64((int64_t)time(NULL)));
	lc = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (lc == NULL || nops > 2 ||
	    hf_fleet_key(key, sizeof(key), c->prefix, HF_FLEET_LAST_CHANGE, NULL) != 0) {
		free(lc);
		return EXIT_USAGE;
	}
	memcpy(all, ops, nops * sizeof(*ops));
	all[nops] = (struct hf_etcd_op){.key = key, .value = lc};
	rc = hf_etcd_txn(&c->etcd, all, nops + 1, &rev);
	free(lc);
	if (rc != 0)
		return unreachable(c);
	hf_emit_init(&e, c->o->json);
	hf_emit_obj_begin(&e, NULL);
	if (c->o->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_str(&e, "done", what);
	hf_emit_u64(&e, "revision", (uint64_t)rev);
	rc = c->wait_ms ? wait_sites(c, rev, &e) : EXIT_OK;
	hf_emit_obj_end(&e);
	if (rc == EXIT_OK)
		rc = print(&e);
	hf_emit_free(&e);
	return rc;
}

/* Take "--wait D" out of argv (in place); -1 on a bad duration. */
static int take_wait(struct ctl *c, int *argc, char **argv)
{
	int j = 0;
	for (int i = 0; i < *argc; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "--wait") == 0) {
			if (i + 1 >= *argc)
				return -1;
			v = argv[++i];
		} else if (strncmp(argv[i], "--wait=", 7) == 0) {
			v = argv[i] + 7;
		}
		if (v != NULL) {
			if (hf_parse_duration_ms(v, &c->wait_ms) != 0 || c->wait_ms == 0)
				return -1;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return 0;
}

static int nta_add(struct ctl *c, const struct hf_mgmt_req *r)
{
	struct hf_fleet_nta n = {0};
	char key[HF_FLEET_NAME_TEXT + 512], what[HF_FLEET_NAME_TEXT + 32], *val;
	struct hf_etcd_op op;
	int rc;

	if (strlen(r->reason) > HF_FLEET_REASON_MAX) {
		fprintf(stderr, "holdfastctl --fleet: nta add: --reason is longer than %d bytes\n",
			HF_FLEET_REASON_MAX);
		return EXIT_USAGE;
	}
	hf_dns_name_str(r->name, r->name_len, n.name, sizeof(n.name));
	n.added = (uint64_t)time(NULL);
	n.expires = n.added + r->lifetime_s;
	n.recheck_s = r->recheck_s;
	snprintf(n.reason, sizeof(n.reason), "%s", r->reason);
	who(n.by, sizeof(n.by));
	val = hf_fleet_nta_json(&n);
	if (val == NULL || hf_fleet_key(key, sizeof(key), c->prefix, HF_FLEET_NTA, n.name) != 0) {
		free(val);
		return EXIT_USAGE;
	}
	op = (struct hf_etcd_op){.key = key, .value = val};
	snprintf(what, sizeof(what), "nta add %s", n.name);
	rc = edit(c, &op, 1, what);
	free(val);
	return rc;
}

static int nta_remove(struct ctl *c, const struct hf_mgmt_req *r)
{
	char name[HF_FLEET_NAME_TEXT], key[HF_FLEET_NAME_TEXT + 512], what[HF_FLEET_NAME_TEXT + 32];
	struct hf_etcd_op op;
	struct hf_fleet_nta *a;
	bool found = false;
	size_t n;

	hf_dns_name_str(r->name, r->name_len, name, sizeof(name));
	a = read_ntas(c, &n);
	if (a == NULL)
		return unreachable(c);
	for (size_t i = 0; i < n; i++)
		found |= strcmp(a[i].name, name) == 0;
	free(a);
	if (!found) {
		fprintf(stderr, "holdfastctl --fleet: no fleet NTA for %s\n", name);
		return EXIT_REFUSED;
	}
	if (hf_fleet_key(key, sizeof(key), c->prefix, HF_FLEET_NTA, name) != 0)
		return EXIT_USAGE;
	op = (struct hf_etcd_op){.key = key, .value = NULL};
	snprintf(what, sizeof(what), "nta remove %s", name);
	return edit(c, &op, 1, what);
}

static int nta_list(struct ctl *c)
{
	uint64_t now = (uint64_t)time(NULL);
	struct hf_emit e;
	size_t n;
	struct hf_fleet_nta *a = read_ntas(c, &n);

	if (a == NULL)
		return unreachable(c);
	hf_emit_init(&e, c->o->json);
	hf_emit_obj_begin(&e, NULL);
	if (c->o->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_arr_begin(&e, "fleet_ntas");
	for (size_t i = 0; i < n; i++) {
		hf_emit_obj_begin(&e, NULL);
		hf_emit_str(&e, "name", a[i].name);
		hf_emit_str(&e, "reason", a[i].reason);
		hf_emit_str(&e, "by", a[i].by);
		hf_emit_time(&e, "added", a[i].added);
		hf_emit_time(&e, "expires", a[i].expires);
		hf_emit_u64(&e, "remaining", a[i].expires > now ? a[i].expires - now : 0);
		hf_emit_u64(&e, "recheck", a[i].recheck_s);
		hf_emit_obj_end(&e);
	}
	free(a);
	return finish_list(&e);
}

static int status(struct ctl *c)
{
	uint64_t now = (uint64_t)time(NULL);
	char key[512];
	struct hf_etcd_kv *kvs;
	size_t nkv, n;
	int64_t rev, fleet_rev = 0;
	struct hf_fleet_site *s;
	struct hf_emit e;

	if (hf_fleet_key(key, sizeof(key), c->prefix, HF_FLEET_LAST_CHANGE, NULL) != 0 ||
	    hf_etcd_range_prefix(&c->etcd, key, &kvs, &nkv, &rev) != 0)
		return unreachable(c);
	for (size_t i = 0; i < nkv; i++)
		if (strcmp(kvs[i].key, key) == 0)
			fleet_rev = kvs[i].mod_revision;
	hf_etcd_kvs_free(kvs, nkv);
	s = read_sites(c, &n);
	if (s == NULL)
		return unreachable(c);
	hf_emit_init(&e, c->o->json);
	hf_emit_obj_begin(&e, NULL);
	if (c->o->json)
		hf_emit_bool(&e, "ok", true);
	hf_emit_u64(&e, "fleet_revision", (uint64_t)fleet_rev);
	hf_emit_arr_begin(&e, "sites");
	for (size_t i = 0; i < n; i++) {
		bool live = s[i].updated + SITE_STALE_S >= now;
		hf_emit_obj_begin(&e, NULL);
		hf_emit_str(&e, "site", s[i].site);
		hf_emit_u64(&e, "revision", (uint64_t)s[i].revision);
		hf_emit_bool(&e, "current", live && s[i].revision >= fleet_rev);
		hf_emit_bool(&e, "live", live);
		hf_emit_bool(&e, "healthy", s[i].healthy);
		hf_emit_bool(&e, "announced", s[i].announced);
		hf_emit_bool(&e, "drained", s[i].drained);
		hf_emit_bool(&e, "holdfast_up", s[i].holdfast_up);
		hf_emit_str(&e, "why", s[i].why);
		hf_emit_u64(&e, "fleet_ntas", s[i].ntas);
		hf_emit_time(&e, "updated", s[i].updated);
		hf_emit_obj_end(&e);
	}
	free(s);
	return finish_list(&e);
}

static int config_set(struct ctl *c, const struct hf_mgmt_req *r)
{
	char key[512], what[256];
	struct hf_etcd_op op;

	if (hf_fleet_key(key, sizeof(key), c->prefix, HF_FLEET_CONFIG, r->key) != 0)
		return EXIT_USAGE;
	op = (struct hf_etcd_op){.key = key, .value = r->value};
	snprintf(what, sizeof(what), "config set %s %s", r->key, r->value);
	return edit(c, &op, 1, what);
}

static int run(struct ctl *c, int argc, char **argv)
{
	struct hf_mgmt_req r;
	const char *help;
	char err[512];
	int rc;

	if (strcmp(argv[0], "status") == 0) {
		if (argc > 1)
			return usage("status: unexpected argument \"%s\"", argv[1]);
		return status(c);
	}
	if (strcmp(argv[0], "nta") != 0 && strcmp(argv[0], "config") != 0)
		return usage("unknown fleet command \"%s\" (nta, config, status)", argv[0]);
	if (take_wait(c, &argc, argv) != 0)
		return usage("%s", "--wait needs a duration such as 5s");
	rc = hf_mgmt_parse(argc, argv, &r, &help, err, sizeof(err));
	if (rc == HF_MGMT_HELP) {
		fputs(hf_fleet_usage, stdout);
		return EXIT_OK;
	}
	if (rc != 0) {
		fprintf(stderr, "holdfastctl --fleet: %s\n", err);
		return EXIT_USAGE;
	}
	switch (r.cmd) {
	case HF_CMD_NTA_ADD:
		return nta_add(c, &r);
	case HF_CMD_NTA_REMOVE:
		return nta_remove(c, &r);
	case HF_CMD_NTA_LIST:
		return nta_list(c);
	case HF_CMD_CONFIG_SET:
		return config_set(c, &r);
	default:
		return usage("\"%s\" is not a fleet command (nta add|remove|list, config set, "
			     "status)",
			     argv[1]);
	}
}

int hf_fleet_ctl(int argc, char **argv, const struct hf_fleet_opts *o)
{
	struct ctl c = {.o = o};
	const char *etcd = o->etcd;
	int rc;

	if (argc < 1)
		return usage("%s", "no command given");
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		fputs(hf_fleet_usage, stdout);
		return EXIT_OK;
	}
	if (etcd == NULL)
		etcd = getenv("HOLDFAST_ETCD");
	if (etcd == NULL || etcd[0] == '\0')
		etcd = HF_FLEET_ETCD_DEF;
	c.prefix = o->prefix ? o->prefix : getenv("HOLDFAST_FLEET_PREFIX");
	if (c.prefix == NULL || c.prefix[0] == '\0')
		c.prefix = HF_FLEET_PREFIX_DEF;
	if (c.prefix[strlen(c.prefix) - 1] != '/')
		return usage("the prefix \"%s\" must end with /", c.prefix);
	if (hf_etcd_init(&c.etcd, etcd, (long)o->timeout_ms) != 0) {
		fprintf(stderr, "holdfastctl --fleet: %s\n", c.etcd.err);
		hf_etcd_fini(&c.etcd);
		return EXIT_USAGE;
	}
	c.etcd.cacert = getenv("HOLDFAST_ETCD_CACERT");
	c.etcd.cert = getenv("HOLDFAST_ETCD_CERT");
	c.etcd.key = getenv("HOLDFAST_ETCD_KEY");
	if (getenv("HOLDFAST_ETCD_USER") != NULL &&
	    hf_etcd_auth(&c.etcd, getenv("HOLDFAST_ETCD_USER"),
			 getenv("HOLDFAST_ETCD_PASSWORD_FILE")
				 ? getenv("HOLDFAST_ETCD_PASSWORD_FILE")
				 : "") != 0) {
		fprintf(stderr, "holdfastctl --fleet: %s\n", c.etcd.err);
		hf_etcd_fini(&c.etcd);
		return EXIT_USAGE;
	}
	rc = run(&c, argc, argv);
	hf_etcd_fini(&c.etcd);
	return rc;
}
