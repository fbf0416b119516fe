/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management protocol's requests (hf_mgmt.h):
 * parsing a command line, splitting and formatting a request line. Shared
 * by the server and holdfastctl; the replies' emitter is mgmt_emit.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/hf_mgmt.h"
#include "dns/hf_dns.h"

const char *const hf_mgmt_config_keys[] = {
	"serve-stale-window",
	"serve-stale-client-timeout",
	"serve-stale-ttl",
	"serve-stale-failure-recheck",
};
const unsigned hf_mgmt_config_nkeys = HF_ARRAY_LEN(hf_mgmt_config_keys);

static const char help_status[] =
	"usage: holdfastctl status\n"
	"  Version, uptime, worker cores, ports and the configuration in force.\n";
static const char help_reload[] =
	"usage: holdfastctl reload\n"
	"  Read the configuration again (its file and the command line's options, as at\n"
	"  start-up; SIGHUP does the same) and apply every changed setting that can change\n"
	"  at run time on every core. A changed setting that needs a restart is named and\n"
	"  keeps its old value; the rest still applies. A file with an error changes\n"
	"  nothing: the error is the reply (exit 1).\n";
static const char help_stats[] =
	"usage: holdfastctl stats [--per-core] [--reset] [--prometheus]\n"
	"  Counters summed over the worker cores, and the control plane's.\n"
	"  --per-core    also each core's own counters\n"
	"  --reset       report, then start counting from zero (holdfast keeps its totals\n"
	"                for the stats textfile; only this view is reset)\n"
	"  --prometheus  the Prometheus text exposition format (as in stats-textfile)\n";
static const char help_nta[] =
	"usage: holdfastctl nta add NAME [--lifetime DURATION | --expires UNIXTIME] [--reason "
	"TEXT]\n"
	"                           [--recheck DURATION]\n"
	"       holdfastctl nta remove NAME\n"
	"       holdfastctl nta list\n"
	"  Negative Trust Anchors (RFC 7646): NAME and everything below it are not\n"
	"  validated (answers flow, never with AD). add returns when every worker core\n"
	"  has applied it, and says how many cores and how long it took.\n"
	"  --lifetime    how long it holds (default 1h, 1s .. 1w); it then expires\n"
	"  --expires     when it expires instead, in seconds since the epoch (1s .. 1w\n"
	"                from now): the same second on every site that is given it\n"
	"  --reason      free text shown by nta list (at most 200 bytes)\n"
	"  --recheck     validate NAME's DNSKEY without the NTA this often and remove the\n"
	"                NTA once it validates again\n";
static const char help_cache[] =
	"usage: holdfastctl cache lookup NAME [TYPE]\n"
	"       holdfastctl cache flush NAME [--subtree]\n"
	"       holdfastctl cache flush --bogus | --all\n"
	"       holdfastctl cache save\n"
	"  lookup  what each worker core holds for NAME (TYPE, or every type): state\n"
	"          (fresh, stale, failure, pending), TTL left, security, rcode, EDE\n"
	"  flush   remove NAME (every type), its subtree, every failure and bogus\n"
	"          entry, or everything, on every core; returns when all have done it\n"
	"  save    write the cache to cache-snapshot now (as at a clean stop)\n";
static const char help_config[] =
	"usage: holdfastctl config get [KEY]\n"
	"       holdfastctl config set KEY VALUE\n"
	"  The serve-stale knobs at run time: serve-stale-window, serve-stale-client-timeout,\n"
	"  serve-stale-ttl, serve-stale-failure-recheck (values as in the config file).\n"
	"  set returns when every worker core uses the new value.\n";

static const char help_tls[] =
	"usage: holdfastctl tls reload\n"
	"  Load tls-certificate and tls-key again. New DNS-over-TLS connections use\n"
	"  them; open ones keep theirs. A file that does not load changes nothing.\n";
static const char help_drain[] =
	"usage: holdfastctl drain\n"
	"       holdfastctl undrain\n"
	"  Mark the site out of service for maintenance, or back in. holdfast answers\n"
	"  as before; status says \"drained\" and the fleet agent (holdfast-fleet)\n"
	"  withdraws the site's BGP announcement, and announces it again after its\n"
	"  hold-down once undrained.\n";

static const char help_cookie[] =
	"usage: holdfastctl cookie-secret rotate\n"
	"       holdfastctl cookie-secret set HEX\n"
	"  The DNS server cookie secret (cookie-secret): a new random one, or HEX (32\n"
	"  hex digits, the same on every server of an anycast site). The one before\n"
	"  stays valid for cookies clients hold, until the next change. Returns when\n"
	"  every worker core uses it; turns cookies on when they were off.\n";

const char hf_mgmt_usage[] =
	"usage: holdfastctl [-s SOCKET] [--json] [--timeout DURATION] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  status                                  version, uptime, cores, ports, config\n"
	"  stats [--per-core] [--reset] [--prometheus]\n"
	"  nta add NAME [--lifetime D] [--reason T] [--recheck D]\n"
	"  nta remove NAME\n"
	"  nta list\n"
	"  cache lookup NAME [TYPE]\n"
	"  cache flush NAME [--subtree] | --bogus | --all\n"
	"  cache save\n"
	"  config get [KEY] | config set KEY VALUE\n"
	"  cookie-secret rotate | set HEX          a new DNS cookie secret on every core\n"
	"  tls reload                              load the DoT certificate again\n"
	"  reload                                  read the configuration file again\n"
	"  drain | undrain                         site out of / back into service (fleet)\n"
	"  --fleet COMMAND                         the fleet's state in etcd (--fleet --help)\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH   management socket (default: $HOLDFAST_CONTROL_SOCKET, else\n"
	"                      /run/holdfast/control.sock)\n"
	"  --json              machine-readable output: one JSON object with \"ok\"\n"
	"  --timeout D         give up after D (default 15s)\n"
	"  -h, --help          this text; COMMAND --help for one command\n"
	"\n"
	"Exit status: 0 success, 1 holdfast refused or failed the command, 2 usage error,\n"
	"3 holdfast could not be reached.\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* arguments are echoed: keep the message one printable line */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return hf_error(HF_EINVAL);
}

/* "--opt value" or "--opt=value" at argv[*i]; advances *i. NULL: not this option. */
static const char *opt_value(int argc, char *const *argv, int *i, const char *opt, bool *missing)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];
	*missing = false;
	if (strncmp(a, opt, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	(*i)++;
	return argv[*i];
}

static int parse_name(const char *s, struct hf_mgmt_req *r, char *err, size_t errlen)
{
	if (hf_dns_name_from_str(s, r->name, &r->name_len) != 0)
		return fail(err, errlen, "\"%s\" is not a domain name", s);
	hf_dns_name_lower(r->name, r->name_len);
	return 0;
}

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int parse_nta(int argc, char *const *argv, struct hf_mgmt_req *r, char *err, size_t errlen)
{
	const char *sub = argv[1];
	bool have_name = false, have_lifetime = false, missing;
	char why[200];

	if (strcmp(sub, "list") == 0) {
		if (argc > 2)
			return fail(err, errlen, "nta list: unexpected argument \"%s\"", argv[2]);
		r->cmd = HF_CMD_NTA_LIST;
		return 0;
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0)
		return fail(err, errlen, "nta: unknown subcommand \"%s\" (add, remove, list)", sub);
	r->cmd = strcmp(sub, "add") == 0 ? HF_CMD_NTA_ADD : HF_CMD_NTA_REMOVE;
	r->lifetime_s = HF_NTA_LIFETIME_DEF;
	for (int i = 2; i < argc; i++) {
		const char *v;
		if (r->cmd == HF_CMD_NTA_ADD) {
			if ((v = opt_value(argc, argv, &i, "--lifetime", &missing)) != NULL) {
				if (hf_config_parse_lifetime(v, &r->lifetime_s, why, sizeof(why)) !=
				    0)
					return fail(err, errlen, "nta add: %s", why);
				have_lifetime = true;
				continue;
			}
			if (missing)
				return fail(err, errlen, "nta add: --lifetime needs a duration");
			if ((v = opt_value(argc, argv, &i, "--expires", &missing)) != NULL) {
				char *end;
				errno = 0;
				r->expires_s = strtoull(v, &end, 10);
				if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 ||
				    r->expires_s == 0)
					return fail(
						err, errlen,
						"nta add: --expires takes seconds since the epoch, "
						"not \"%s\"",
						v);
				continue;
			}
			if (missing)
				return fail(err, errlen, "nta add: --expires needs a time");
			if ((v = opt_value(argc, argv, &i, "--recheck", &missing)) != NULL) {
				if (hf_config_parse_lifetime(v, &r->recheck_s, why, sizeof(why)) !=
				    0)
					return fail(err, errlen, "nta add: --recheck: %s", why);
				continue;
			}
			if (missing)
				return fail(err, errlen, "nta add: --recheck needs a duration");
			if ((v = opt_value(argc, argv, &i, "--reason", &missing)) != NULL) {
				if (strlen(v) > HF_NTA_REASON_MAX)
					return fail(err, errlen,
						    "nta add: --reason is longer than %d bytes",
						    HF_NTA_REASON_MAX);
				for (const char *p = v; *p; p++)
					if ((unsigned char)*p < 0x20 || *p == 0x7f)
						return fail(err, errlen,
							    "nta add: --reason has a control "
							    "character");
				snprintf(r->reason, sizeof(r->reason), "%s", v);
				continue;
			}
			if (missing)
				return fail(err, errlen, "nta add: --reason needs a text");
		}
		if (argv[i][0] == '-')
			return fail(err, errlen, "nta %s: unknown option \"%s\"", sub, argv[i]);
		if (have_name)
			return fail(err, errlen, "nta %s: unexpected argument \"%s\"", sub,
				    argv[i]);
		if (parse_name(argv[i], r, err, errlen) != 0)
			return hf_error(HF_EINVAL);
		have_name = true;
	}
	if (!have_name)
		return fail(err, errlen, "nta %s: NAME missing", sub);
	if (r->name_len <= 1)
		return fail(err, errlen, "nta %s: not for the root (set dnssec: no instead)", sub);
	if (have_lifetime && r->expires_s != 0)
		return fail(err, errlen, "nta add: --lifetime and --expires exclude each other");
	return 0;
}

static int parse_cache(int argc, char *const *argv, struct hf_mgmt_req *r, char *err, size_t errlen)
{
	const char *sub = argv[1];
	bool have_name = false;

	if (strcmp(sub, "lookup") == 0) {
		r->cmd = HF_CMD_CACHE_LOOKUP;
		if (argc < 3 || argc > 4)
			return fail(err, errlen, "cache lookup: needs NAME [TYPE]");
		if (argv[2][0] == '-')
			return fail(err, errlen, "cache lookup: unknown option \"%s\"", argv[2]);
		if (parse_name(argv[2], r, err, errlen) != 0)
			return hf_error(HF_EINVAL);
		if (argc == 4) {
			if (hf_dns_type_from_str(argv[3], &r->qtype) != 0)
				return fail(err, errlen, "cache lookup: \"%s\" is not an RR type",
					    argv[3]);
			r->has_type = true;
		}
		return 0;
	}
	if (strcmp(sub, "save") == 0) {
		r->cmd = HF_CMD_CACHE_SAVE;
		if (argc != 2)
			return fail(err, errlen, "cache save: unexpected argument \"%s\"", argv[2]);
		return 0;
	}
	if (strcmp(sub, "flush") != 0)
		return fail(err, errlen, "cache: unknown subcommand \"%s\" (lookup, flush, save)",
			    sub);
	r->cmd = HF_CMD_CACHE_FLUSH;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--subtree") == 0)
			r->subtree = true;
		else if (strcmp(argv[i], "--bogus") == 0)
			r->bogus = true;
		else if (strcmp(argv[i], "--all") == 0)
			r->all = true;
		else if (argv[i][0] == '-')
			return fail(err, errlen, "cache flush: unknown option \"%s\"", argv[i]);
		else if (have_name)
			return fail(err, errlen, "cache flush: unexpected argument \"%s\"",
				    argv[i]);
		else if (parse_name(argv[i], r, err, errlen) != 0)
			return hf_error(HF_EINVAL);
		else
			have_name = true;
	}
	if (r->bogus + r->all + have_name != 1)
		return fail(err, errlen, "cache flush: give one of NAME, --bogus or --all");
	if (r->subtree && !have_name)
		return fail(err, errlen, "cache flush: --subtree needs a NAME");
	return 0;
}

static bool config_key_ok(const char *k)
{
	for (unsigned i = 0; i < hf_mgmt_config_nkeys; i++)
		if (strcmp(k, hf_mgmt_config_keys[i]) == 0)
			return true;
	return false;
}

static int parse_config(int argc, char *const *argv, struct hf_mgmt_req *r, char *err,
			size_t errlen)
{
	const char *sub = argv[1];
	if (strcmp(sub, "get") == 0) {
		r->cmd = HF_CMD_CONFIG_GET;
		if (argc > 3)
			return fail(err, errlen, "config get: unexpected argument \"%s\"", argv[3]);
	} else if (strcmp(sub, "set") == 0) {
		r->cmd = HF_CMD_CONFIG_SET;
		if (argc != 4)
			return fail(err, errlen, "config set: needs KEY VALUE");
	} else {
		return fail(err, errlen, "config: unknown subcommand \"%s\" (get, set)", sub);
	}
	if (argc >= 3) {
		if (!config_key_ok(argv[2]))
			return fail(err, errlen,
				    "config %s: \"%s\" cannot be read or changed at run time (%s, "
				    "%s, %s, %s)",
				    sub, argv[2], hf_mgmt_config_keys[0], hf_mgmt_config_keys[1],
				    hf_mgmt_config_keys[2], hf_mgmt_config_keys[3]);
		snprintf(r->key, sizeof(r->key), "%s", argv[2]);
	}
	if (r->cmd == HF_CMD_CONFIG_SET) {
		struct hf_config tmp;
		char why[300];
		if (strlen(argv[3]) >= sizeof(r->value))
			return fail(err, errlen, "config set: value too long");
		hf_config_defaults(&tmp);
		if (hf_config_set(&tmp, r->key, argv[3], "config set", why, sizeof(why)) != 0)
			return fail(err, errlen, "%s", why);
		snprintf(r->value, sizeof(r->value), "%s", argv[3]);
	}
	return 0;
}

/* cookie-secret rotate|set HEX: a `config set` of cookie-secret (random or HEX). */
static int parse_cookie(int argc, char *const *argv, struct hf_mgmt_req *r, char *err,
			size_t errlen)
{
	struct hf_config tmp;
	char why[300];
	const char *v;
	r->cmd = HF_CMD_CONFIG_SET;
	snprintf(r->key, sizeof(r->key), "cookie-secret");
	if (strcmp(argv[1], "rotate") == 0 && argc == 2)
		v = "random";
	else if (strcmp(argv[1], "set") == 0 && argc == 3 && strcmp(argv[2], "random") != 0)
		v = argv[2];
	else
		return fail(err, errlen, "cookie-secret: expected \"rotate\" or \"set HEX\"");
	hf_config_defaults(&tmp);
	if (strlen(v) >= sizeof(r->value) ||
	    hf_config_set(&tmp, r->key, v, "cookie-secret", why, sizeof(why)) != 0)
		return fail(err, errlen, "cookie-secret: not 32 hex digits");
	snprintf(r->value, sizeof(r->value), "%s", v);
	return 0;
}

int hf_mgmt_parse(int argc, char *const *argv, struct hf_mgmt_req *r, const char **help, char *err,
		  size_t errlen)
{
	const char *cmd;
	const char *h = NULL;

	memset(r, 0, sizeof(*r));
	*help = NULL;
	if (argc < 1)
		return fail(err, errlen,
			    "no command (status, stats, nta, cache, config, reload, tls, drain, "
			    "undrain)");
	cmd = argv[0];
	if (strcmp(cmd, "status") == 0)
		h = help_status;
	else if (strcmp(cmd, "stats") == 0)
		h = help_stats;
	else if (strcmp(cmd, "nta") == 0)
		h = help_nta;
	else if (strcmp(cmd, "cache") == 0)
		h = help_cache;
	else if (strcmp(cmd, "config") == 0)
		h = help_config;
	else if (strcmp(cmd, "reload") == 0)
		h = help_reload;
	else if (strcmp(cmd, "tls") == 0)
		h = help_tls;
	else if (strcmp(cmd, "drain") == 0 || strcmp(cmd, "undrain") == 0)
		h = help_drain;
	else if (strcmp(cmd, "cookie-secret") == 0)
		h = help_cookie;
	else
		return fail(
			err, errlen,
			"unknown command \"%s\" (status, stats, nta, cache, config, reload, tls, "
			"drain, undrain)",
			cmd);
	for (int i = 1; i < argc; i++)
		if (is_help(argv[i])) {
			*help = h;
			return HF_MGMT_HELP;
		}
	if (h == help_status) {
		r->cmd = HF_CMD_STATUS;
		if (argc > 1)
			return fail(err, errlen, "status: unexpected argument \"%s\"", argv[1]);
		return 0;
	}
	if (h == help_tls) {
		r->cmd = HF_CMD_TLS_RELOAD;
		if (argc != 2 || strcmp(argv[1], "reload") != 0)
			return fail(err, errlen, "tls: expected \"tls reload\"");
		return 0;
	}
	if (h == help_reload) {
		r->cmd = HF_CMD_RELOAD;
		if (argc > 1)
			return fail(err, errlen, "reload: unexpected argument \"%s\"", argv[1]);
		return 0;
	}
	if (h == help_drain) {
		r->cmd = HF_CMD_DRAIN;
		r->drain = cmd[0] == 'd';
		if (argc > 1)
			return fail(err, errlen, "%s: unexpected argument \"%s\"", cmd, argv[1]);
		return 0;
	}
	if (h == help_stats) {
		r->cmd = HF_CMD_STATS;
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--per-core") == 0)
				r->per_core = true;
			else if (strcmp(argv[i], "--reset") == 0)
				r->reset = true;
			else if (strcmp(argv[i], "--prometheus") == 0)
				r->prometheus = true;
			else
				return fail(err, errlen, "stats: unknown argument \"%s\"", argv[i]);
		}
		return 0;
	}
	if (argc < 2)
		return fail(err, errlen, "%s: subcommand missing (see holdfastctl %s --help)", cmd,
			    cmd);
	if (h == help_nta)
		return parse_nta(argc, argv, r, err, errlen);
	if (h == help_cache)
		return parse_cache(argc, argv, r, err, errlen);
	if (h == help_cookie)
		return parse_cookie(argc, argv, r, err, errlen);
	return parse_config(argc, argv, r, err, errlen);
}

int hf_mgmt_split_request(char *line, size_t len, bool *json, int *argc, char **argv, char *err,
			  size_t errlen)
{
	char *p = line;
	int n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			snprintf(err, errlen, "request has a control character at byte %zu", i);
			return -1;
		}
	}
	if (strncmp(p, HF_MGMT_MAGIC " ", 4) != 0) {
		snprintf(err, errlen,
			 "not a holdfast management request (expected \"" HF_MGMT_MAGIC
			 " json|text ARGS\")");
		return -1;
	}
	p += 4;
	if (strncmp(p, "json ", 5) == 0) {
		*json = true;
	} else if (strncmp(p, "text ", 5) == 0) {
		*json = false;
	} else {
		snprintf(err, errlen, "output format must be json or text");
		return -1;
	}
	p += 5;
	while (p != NULL && n < HF_MGMT_MAX_ARGS) {
		char *t = strchr(p, '\t');
		if (t != NULL)
			*t++ = '\0';
		argv[n++] = p;
		p = t;
	}
	if (p != NULL) {
		snprintf(err, errlen, "too many arguments (at most %d)", HF_MGMT_MAX_ARGS);
		return -1;
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
}

int hf_mgmt_format_request(bool json, int argc, char *const *argv, char *out, size_t size,
			   char *err, size_t errlen)
{
	size_t len = 0, max = size ? HF_MIN(size - 1, (size_t)HF_MGMT_REQ_MAX) : 0;
	int n;

	if (argc > HF_MGMT_MAX_ARGS) {
		snprintf(err, errlen, "too many arguments (at most %d)", HF_MGMT_MAX_ARGS);
		return -1;
	}
	n = snprintf(out, size, "%s %s ", HF_MGMT_MAGIC, json ? "json" : "text");
	if (n < 0 || (size_t)n > max)
		goto too_long;
	len = (size_t)n;
	for (int i = 0; i < argc; i++) {
		size_t al = strlen(argv[i]);
		for (size_t j = 0; j < al; j++)
			if ((unsigned char)argv[i][j] < 0x20 || argv[i][j] == 0x7f) {
				snprintf(err, errlen,
					 "argument %d has a control character at byte %zu", i + 1,
					 j);
				return -1;
			}
		if (len + al + 1 > max)
			goto too_long;
		memcpy(out + len, argv[i], al);
		len += al;
		out[len++] = i + 1 < argc ? '\t' : '\n';
	}
	if (argc == 0) {
		if (len + 1 > max)
			goto too_long;
		out[len++] = '\n';
	}
	out[len] = '\0';
	return (int)len;
too_long:
	snprintf(err, errlen, "command line too long (at most %d bytes)", HF_MGMT_REQ_MAX);
	return -1;
}
