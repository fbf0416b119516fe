/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast-fleet: the fleet agent, one per site (docs/fleet.md).
 *
 * It reads the fleet's state from etcd (PREFIX state/, hf_fleet.h) and
 * keeps the local holdfast in line with it through the management socket
 * (the protocol of control/hf_mgmt.h, the client of hf_mgmt_client.h):
 *   - a full read (range) at start, whenever holdfast (re)started, and when
 *     the watch's start revision was compacted: fleet NTAs missing here are
 *     added, fleet NTAs here that the fleet no longer has are removed;
 *   - then a watch from the revision after the last one applied, applying
 *     each event in revision order; a broken stream (a member killed, the
 *     site cut off) is resumed on the next member from that revision.
 * A fleet NTA is added with the record's absolute expiry (nta add
 * --expires: the same second on every site, whenever the agent applies
 * it) and the reason "fleet: ...": that tag is how the agent
 * tells its NTAs from the site's own, which it never changes.
 *
 * It writes PREFIX sites/SITE: the revision applied, health, drain.
 * With --bird-socket it announces the service routes (BIRD protocols it
 * enables) only while the site is healthy (fleet/health.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control/hf_mgmt.h"
#include "control/hf_mgmt_client.h"
#include "fleet/agent_internal.h"

/* One etcd request (a full read, the site's key), connect included. The
 * loop waits for it: with every member silent (cut off without a reset),
 * a site key write holds the health check back for up to 3 x 700 ms, so a
 * failure is still withdrawn within 3 s (health interval 500 ms). */
#define ETCD_TIMEOUT_MS 700

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

uint64_t hf_agent_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void hf_agent_log(const char *fmt, ...)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s holdfast-fleet: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int hf_agent_mgmt(struct agent *a, int argc, char **argv, json_object **out)
{
	char *reply, *body, err[512];
	bool refused;

	if (out != NULL)
		*out = NULL;
	if (hf_mgmt_call(a->sock, true, argc, argv, a->mgmt_timeout_ms, &reply, &body, &refused,
			 err, sizeof(err)) != 0) {
		if (a->holdfast_up)
			hf_agent_log("holdfast: %s", err);
		return -1;
	}
	if (refused) {
		hf_agent_log("holdfast refused \"%s %s%s%s\": %s", argv[0], argc > 1 ? argv[1] : "",
			     argc > 2 ? " " : "", argc > 2 ? argv[2] : "", err);
		free(reply);
		return 1;
	}
	if (out != NULL) {
		*out = json_tokener_parse(body);
		if (*out == NULL) {
			hf_agent_log("holdfast: a reply that is not JSON");
			free(reply);
			return -1;
		}
	}
	free(reply);
	return 0;
}

/* ---- the site's NTAs ---- */

struct local_nta {
	char name[HF_FLEET_NAME_TEXT];
	char reason[HF_NTA_REASON_MAX + 1];
	uint64_t expires;
	uint32_t recheck;
};

/* holdfast's NTA list; NULL (after a log line) when holdfast cannot be asked. */
static struct local_nta *local_list(struct agent *a, size_t *n)
{
	char *argv[] = {"nta", "list", NULL};
	json_object *o, *arr;
	struct local_nta *l;
	size_t cnt;

	*n = 0;
	if (hf_agent_mgmt(a, 2, argv, &o) != 0)
		return NULL;
	if (!json_object_object_get_ex(o, "ntas", &arr)) {
		json_object_put(o);
		return NULL;
	}
	cnt = json_object_array_length(arr);
	l = calloc(cnt ? cnt : 1, sizeof(*l));
	for (size_t i = 0; l != NULL && i < cnt; i++) {
		json_object *e = json_object_array_get_idx(arr, i), *v;
		if (json_object_object_get_ex(e, "name", &v))
			snprintf(l[i].name, sizeof(l[i].name), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(e, "reason", &v))
			snprintf(l[i].reason, sizeof(l[i].reason), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(e, "expires", &v))
			l[i].expires = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(e, "recheck", &v))
			l[i].recheck = (uint32_t)json_object_get_int64(v);
	}
	json_object_put(o);
	*n = l ? cnt : 0;
	return l;
}

static const struct local_nta *find_local(const struct local_nta *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

static bool is_fleet(const struct local_nta *l)
{
	return strncmp(l->reason, HF_FLEET_TAG, HF_FLEET_TAG_LEN) == 0;
}

/* nta add with the record's absolute expiry; 0, -1 holdfast not reached. */
static int add_nta(struct agent *a, const struct hf_fleet_nta *n)
{
	char exp[32], recheck[32], reason[HF_NTA_REASON_MAX + 1];
	char *argv[10] = {"nta", "add", (char *)n->name, "--expires", exp, "--reason", reason};
	int argc = 7;

	snprintf(exp, sizeof(exp), "%llu", (unsigned long long)n->expires);
	snprintf(reason, sizeof(reason), HF_FLEET_TAG "%s", n->reason);
	if (n->recheck_s) {
		snprintf(recheck, sizeof(recheck), "%us", n->recheck_s);
		argv[argc++] = "--recheck";
		argv[argc++] = recheck;
	}
	argv[argc] = NULL;
	return hf_agent_mgmt(a, argc, argv, NULL) < 0 ? -1 : 0;
}

static int remove_nta(struct agent *a, const char *name)
{
	char *argv[] = {"nta", "remove", (char *)name, NULL};
	return hf_agent_mgmt(a, 3, argv, NULL) < 0 ? -1 : 0;
}

/* Bring one name in line: want is the fleet's record (NULL: none, or
 * expired). l: the site's list. 0, or -1 when holdfast is not reached. */
static int reconcile_name(struct agent *a, const char *name, const struct hf_fleet_nta *want,
			  const struct local_nta *l, size_t nl, uint64_t now)
{
	const struct local_nta *have = find_local(l, nl, name);

	if (have != NULL && !is_fleet(have)) {
		if (want != NULL)
			hf_agent_log("nta %s: the site's own NTA stays; the fleet's is not applied",
				     name);
		return 0;
	}
	if (want == NULL || want->expires <= now)
		return have != NULL ? remove_nta(a, name) : 0;
	if (have != NULL && have->recheck == want->recheck_s &&
	    strcmp(have->reason + HF_FLEET_TAG_LEN, want->reason) == 0 &&
	    have->expires == want->expires)
		return 0; /* already so */
	return add_nta(a, want);
}

static int apply_config(struct agent *a, const char *key, const char *value)
{
	char *argv[] = {"config", "set", (char *)key, (char *)value, NULL};
	return hf_agent_mgmt(a, 4, argv, NULL) < 0 ? -1 : 0;
}

/* ---- etcd: full read and watch ---- */

static const char *key_tail(struct agent *a, const char *key, const char *part)
{
	size_t pl = strlen(a->prefix), l = strlen(part);
	if (strncmp(key, a->prefix, pl) != 0 || strncmp(key + pl, part, l) != 0)
		return NULL;
	return key + pl + l;
}

static unsigned count_fleet(struct agent *a)
{
	size_t n;
	unsigned c = 0;
	struct local_nta *l = local_list(a, &n);
	for (size_t i = 0; l != NULL && i < n; i++)
		c += is_fleet(&l[i]);
	free(l);
	return c;
}

/* Read all of PREFIX state/ and apply it. 0, or -1 (try again later). */
static int full_sync(struct agent *a)
{
	char key[512];
	struct hf_etcd_kv *kvs;
	struct hf_fleet_nta *want;
	struct local_nta *l;
	size_t nkv, nl, nw = 0;
	uint64_t now;
	int64_t rev;
	int rc = 0;

	if (hf_fleet_key(key, sizeof(key), a->prefix, HF_FLEET_STATE, NULL) != 0)
		return -1;
	if (hf_etcd_range_prefix(&a->etcd, key, &kvs, &nkv, &rev) != 0) {
		hf_agent_log("etcd: full read: %s", a->etcd.err);
		return -1;
	}
	l = local_list(a, &nl);
	want = calloc(nkv ? nkv : 1, sizeof(*want));
	if (l == NULL || want == NULL) {
		hf_etcd_kvs_free(kvs, nkv);
		free(l);
		free(want);
		return -1;
	}
	now = (uint64_t)time(NULL);
	for (size_t i = 0; i < nkv && rc == 0; i++) {
		const char *t;
		if ((t = key_tail(a, kvs[i].key, HF_FLEET_NTA)) != NULL) {
			if (hf_fleet_nta_parse(kvs[i].value, &want[nw]) != 0 ||
			    strcmp(want[nw].name, t) != 0) {
				hf_agent_log("etcd: %s is not an NTA record; ignored", kvs[i].key);
				continue;
			}
			rc = reconcile_name(a, want[nw].name, &want[nw], l, nl, now);
			nw++;
		} else if ((t = key_tail(a, kvs[i].key, HF_FLEET_CONFIG)) != NULL) {
			rc = apply_config(a, t, kvs[i].value);
		}
	}
	/* fleet NTAs here that the fleet no longer has */
	for (size_t i = 0; i < nl && rc == 0; i++) {
		bool wanted = false;
		for (size_t j = 0; j < nw; j++)
			wanted |= strcmp(want[j].name, l[i].name) == 0;
		if (is_fleet(&l[i]) && !wanted)
			rc = remove_nta(a, l[i].name);
	}
	hf_etcd_kvs_free(kvs, nkv);
	free(l);
	free(want);
	if (rc != 0)
		return -1;
	a->applied = rev;
	a->fleet_ntas = count_fleet(a);
	hf_agent_log("full read at revision %lld: %zu fleet NTAs", (long long)rev, nw);
	return 0;
}

/* One watch event; 0, or -1 when holdfast could not be reached (the
 * watch resumes from this event's revision). */
static int on_event(void *arg, const struct hf_etcd_event *ev)
{
	struct agent *a = arg;
	const char *t;
	int rc = 0;

	if ((t = key_tail(a, ev->kv.key, HF_FLEET_NTA)) != NULL) {
		struct hf_fleet_nta n;
		size_t nl;
		struct local_nta *l = local_list(a, &nl);
		bool have = ev->type == HF_ETCD_PUT;
		if (l == NULL) {
			rc = -1;
		} else if (have &&
			   (hf_fleet_nta_parse(ev->kv.value, &n) != 0 || strcmp(n.name, t) != 0)) {
			hf_agent_log("etcd: %s is not an NTA record; ignored", ev->kv.key);
		} else {
			uint64_t now = (uint64_t)time(NULL);
			const struct local_nta *was = find_local(l, nl, t);
			bool local = was != NULL && !is_fleet(was), had = was != NULL && !local;
			rc = reconcile_name(a, t, have ? &n : NULL, l, nl, now);
			if (rc == 0) {
				bool has = have && n.expires > now && !local;
				a->fleet_ntas = a->fleet_ntas + has - had;
				hf_agent_log("revision %lld: nta %s %s",
					     (long long)ev->kv.mod_revision,
					     have ? "add" : "remove", t);
			}
		}
		free(l);
	} else if ((t = key_tail(a, ev->kv.key, HF_FLEET_CONFIG)) != NULL) {
		if (ev->type == HF_ETCD_PUT)
			rc = apply_config(a, t, ev->kv.value);
	}
	if (rc != 0) {
		if (a->applied > ev->kv.mod_revision - 1)
			a->applied = ev->kv.mod_revision - 1;
		return -1;
	}
	if (ev->kv.mod_revision > a->applied)
		a->applied = ev->kv.mod_revision;
	a->dirty = true;
	return 0;
}

/* ---- the site's key ---- */

static void report(struct agent *a, uint64_t now)
{
	struct hf_fleet_site s = {0};
	char key[512], *v;
	int64_t rev;

	snprintf(s.site, sizeof(s.site), "%s", a->site);
	s.revision = a->applied;
	s.healthy = a->healthy;
	s.announced = a->announced;
	s.drained = a->drained;
	s.holdfast_up = a->holdfast_up;
	snprintf(s.why, sizeof(s.why), "%s", a->why);
	s.ntas = a->fleet_ntas;
	s.updated = (uint64_t)time(NULL);
	v = hf_fleet_site_json(&s);
	if (v == NULL || hf_fleet_key(key, sizeof(key), a->prefix, HF_FLEET_SITES, a->site) != 0) {
		free(v);
		return;
	}
	if (hf_etcd_put(&a->etcd, key, v, &rev) == 0) {
		a->dirty = false;
		a->next_report_ms = now + a->report_ms;
		if (a->etcd_lost)
			hf_agent_log("etcd: reached again");
		a->etcd_lost = false;
	} else {
		if (!a->etcd_lost)
			hf_agent_log("etcd: cannot write %s: %s", key, a->etcd.err);
		a->etcd_lost = true;
		/* each try may block the loop (and the health check) for up to
		 * ETCD_TIMEOUT_MS per member: not more often than this */
		a->next_report_ms = now + 2000;
	}
	free(v);
}

/* ---- the loop ---- */

static void watch_step(struct agent *a, uint64_t now)
{
	char key[512];
	int rc;

	if (!a->watching) {
		if (now < a->retry_ms)
			return;
		hf_fleet_key(key, sizeof(key), a->prefix, HF_FLEET_STATE, NULL);
		if (hf_etcd_watch_start(&a->etcd, &a->w, key, a->applied + 1) != 0) {
			/* etcd refusing our user: not ten password checks a second */
			a->retry_ms =
				now +
				(a->etcd.user != NULL && a->etcd.token[0] == '\0' ? 1000 : 100);
			return;
		}
		a->watching = true;
	}
	rc = hf_etcd_watch_poll(&a->w, 50, on_event, a);
	if (rc == 1)
		return;
	if (rc == 0 && a->w.compacted > 0) {
		hf_agent_log("etcd: revision %lld compacted (at %lld): full read",
			     (long long)a->applied + 1, (long long)a->w.compacted);
		a->synced = false;
	} else if (rc == 0) {
		if (!a->etcd_lost || a->w.created)
			hf_agent_log("etcd: watch: %s; resuming from revision %lld on the next "
				     "member",
				     a->w.err, (long long)a->applied + 1);
		hf_etcd_rotate(&a->etcd);
	}
	/* rc -1: holdfast not reached; the health check notices */
	a->retry_ms = now + (a->w.created ? 0 : 100);
	hf_etcd_watch_stop(&a->w);
	a->watching = false;
}

static int loop(struct agent *a)
{
	while (!stop_flag) {
		uint64_t now = hf_agent_now_ms();
		if (now >= a->next_health_ms) {
			hf_agent_health(a, now);
			a->next_health_ms = now + a->health_ms;
		}
		if (a->holdfast_up && !a->synced && now >= a->retry_ms) {
			if (a->watching) {
				hf_etcd_watch_stop(&a->w);
				a->watching = false;
			}
			if (full_sync(a) == 0) {
				a->synced = true;
				a->dirty = true;
			} else {
				a->retry_ms = now + 200;
			}
		}
		if (a->holdfast_up && a->synced)
			watch_step(a, now);
		else
			usleep(50000);
		now = hf_agent_now_ms();
		if (a->dirty || now >= a->next_report_ms)
			report(a, now);
	}
	if (a->watching)
		hf_etcd_watch_stop(&a->w);
	return 0;
}

static const char usage_text[] =
	"usage: holdfast-fleet --site NAME [options]\n"
	"  --site NAME          this site's name in the fleet (its key: PREFIX sites/NAME)\n"
	"  --etcd URLS          etcd's client URLs, comma-separated (default " HF_FLEET_ETCD_DEF
	")\n"
	"  --etcd-cacert F, --etcd-cert F, --etcd-key F\n"
	"                       https:// endpoints: the members' CA, our client\n"
	"                       certificate and its key (etcd --client-cert-auth)\n"
	"  --etcd-user U --etcd-password-file F\n"
	"                       etcd's auth: authenticate as U, the password in F's\n"
	"                       first line\n"
	"  --prefix P           the fleet's key prefix (default " HF_FLEET_PREFIX_DEF ")\n"
	"  -s, --socket PATH    holdfast's management socket (default "
	"/run/holdfast/control.sock)\n"
	"  --health-interval D  how often holdfast is asked (default 500ms)\n"
	"  --report-interval D  how often the site's key is rewritten (default 5s)\n"
	"  --bird-socket PATH   BIRD's control socket: announce only while healthy\n"
	"  --bird-protocol P    a BIRD protocol holding the service routes (repeatable;\n"
	"                       enabled while healthy, disabled otherwise)\n"
	"  --hold-down D        healthy this long before announcing again (default 10s)\n"
	"  --probe ADDR --probe-name NAME [--probe-netns NS] [--probe-fail D]\n"
	"                       a DNS query for NAME A to ADDR:53 (from network namespace\n"
	"                       NS) each interval; no NOERROR or NXDOMAIN answer for D\n"
	"                       (default 2s): unhealthy. NAME \"*.ZONE\": a fresh label\n"
	"                       under ZONE each time (never cached: the control plane\n"
	"                       must resolve it)\n"
	"  --stall-after D, --stall-load N\n"
	"                       a worker core whose rx_packets (stats --per-core) stood\n"
	"                       still for D (default 2s) while the other worker cores\n"
	"                       received at least N packets (default 1000; 0: off):\n"
	"                       unhealthy\n";

static int duration(const char *opt, const char *v, uint64_t *out)
{
	if (hf_parse_duration_ms(v, out) != 0 || *out == 0) {
		fprintf(stderr, "holdfast-fleet: %s needs a duration such as 500ms, not \"%s\"\n",
			opt, v);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"site", required_argument, NULL, 'n'},
		{"etcd", required_argument, NULL, 'e'},
		{"prefix", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, 's'},
		{"health-interval", required_argument, NULL, 'H'},
		{"report-interval", required_argument, NULL, 'R'},
		{"bird-socket", required_argument, NULL, 'b'},
		{"bird-protocol", required_argument, NULL, 'B'},
		{"hold-down", required_argument, NULL, 'D'},
		{"probe-netns", required_argument, NULL, 'N'},
		{"probe", required_argument, NULL, 'P'},
		{"probe-name", required_argument, NULL, 'Q'},
		{"probe-fail", required_argument, NULL, 'F'},
		{"stall-after", required_argument, NULL, 'S'},
		{"stall-load", required_argument, NULL, 'L'},
		{"etcd-cacert", required_argument, NULL, 'A'},
		{"etcd-cert", required_argument, NULL, 'C'},
		{"etcd-key", required_argument, NULL, 'K'},
		{"etcd-user", required_argument, NULL, 'U'},
		{"etcd-password-file", required_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct agent a;
	const char *etcd = HF_FLEET_ETCD_DEF, *tls[3] = {NULL, NULL, NULL};
	const char *user = NULL, *password_file = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	int c, rc;

	a.prefix = HF_FLEET_PREFIX_DEF;
	a.sock = "/run/holdfast/control.sock";
	a.health_ms = 500;
	a.report_ms = 5000;
	a.hold_down_ms = 10000;
	a.mgmt_timeout_ms = 2000;
	a.probe_fail_ms = 2000;
	a.stall_ms = 2000;
	a.stall_load = 1000;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			a.site = optarg;
			break;
		case 'e':
			etcd = optarg;
			break;
		case 'p':
			a.prefix = optarg;
			break;
		case 's':
			a.sock = optarg;
			break;
		case 'H':
			if (duration("--health-interval", optarg, &a.health_ms) != 0)
				return 2;
			break;
		case 'R':
			if (duration("--report-interval", optarg, &a.report_ms) != 0)
				return 2;
			break;
		case 'D':
			if (duration("--hold-down", optarg, &a.hold_down_ms) != 0)
				return 2;
			break;
		case 'b':
			a.bird_sock = optarg;
			break;
		case 'B':
			if (a.nbird == HF_AGENT_BIRD_MAX) {
				fprintf(stderr, "holdfast-fleet: at most %d --bird-protocol\n",
					HF_AGENT_BIRD_MAX);
				return 2;
			}
			a.bird_protos[a.nbird++] = optarg;
			break;
		case 'N':
			a.probe_netns = optarg;
			break;
		case 'P':
			a.probe_addr = optarg;
			break;
		case 'Q':
			a.probe_name = optarg;
			break;
		case 'F':
			if (duration("--probe-fail", optarg, &a.probe_fail_ms) != 0)
				return 2;
			break;
		case 'S':
			if (duration("--stall-after", optarg, &a.stall_ms) != 0)
				return 2;
			break;
		case 'L': {
			char *end;
			errno = 0;
			a.stall_load = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-') {
				fprintf(stderr,
					"holdfast-fleet: --stall-load needs a number of packets, "
					"not "
					"\"%s\"\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'A':
		case 'C':
		case 'K':
			tls[c == 'A' ? 0 : c == 'C' ? 1 : 2] = optarg;
			break;
		case 'U':
			user = optarg;
			break;
		case 'W':
			password_file = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc || a.site == NULL || a.site[0] == '\0' || strchr(a.site, '/') ||
	    a.prefix[0] == '\0' || a.prefix[strlen(a.prefix) - 1] != '/' ||
	    (a.nbird > 0) != (a.bird_sock != NULL) ||
	    (a.probe_addr != NULL) != (a.probe_name != NULL) ||
	    (user != NULL) != (password_file != NULL)) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (hf_etcd_init(&a.etcd, etcd, ETCD_TIMEOUT_MS) != 0) {
		fprintf(stderr, "holdfast-fleet: %s\n", a.etcd.err);
		return 2;
	}
	a.etcd.cacert = tls[0];
	a.etcd.cert = tls[1];
	a.etcd.key = tls[2];
	if (user != NULL && hf_etcd_auth(&a.etcd, user, password_file) != 0) {
		fprintf(stderr, "holdfast-fleet: %s\n", a.etcd.err);
		hf_etcd_fini(&a.etcd);
		return 2;
	}
	if (hf_agent_health_init(&a) != 0)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	hf_agent_log("site %s: etcd %s, prefix %s, holdfast %s", a.site, etcd, a.prefix, a.sock);
	rc = loop(&a);
	hf_agent_log("stopping: revision %lld applied", (long long)a.applied);
	hf_agent_health_fini(&a);
	hf_etcd_fini(&a.etcd);
	return rc;
}
