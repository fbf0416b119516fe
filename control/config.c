/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast configuration: defaults, the config file and command-line
 * overrides. One table (keys[]) describes every key: its name, how its
 * value is parsed, where it is stored and its range; the file parser, the
 * argument parser, --help and the dump all walk that table.
 *
 * Not thread-safe; used at start-up by main, and by the management server
 * (config get/set) on control's own copy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/hf_log.h"
#include "control/hf_config.h"
#include "dns/hf_dns.h"

enum key_kind {
	K_SERVICE,   /* IPv4/IPv6 literal, repeatable */
	K_FORWARDER, /* ADDR[@PORT], repeatable */
	K_COUNT32,   /* integer, K/M/G suffix allowed */
	K_SIZE64,    /* bytes, K/M/G suffix (powers of 1024) */
	K_MS64,	     /* duration stored in ms (uint64_t) */
	K_SEC32,     /* duration stored in whole seconds (uint32_t) */
	K_INT16,     /* plain integer (uint16_t) */
	K_INT32,     /* plain integer (uint32_t) */
	K_US32,	     /* microseconds (uint32_t): bare number = us, or us/ms/s suffix */
	K_PATH,	     /* string shorter than the field */
	K_BOOL,	     /* yes|no (bool) */
	K_NTA,	     /* NAME [LIFETIME [REASON]], repeatable */
	K_IFNAME,    /* a network interface name, or "" (stored as K_PATH) */
	K_ACL,	     /* PREFIX allow|refuse|drop, repeatable */
	K_LOGLEVEL,  /* error|warning|notice|info|debug (stored as its syslog number) */
	K_SECRET,    /* 32 hex digits, or random (struct hf_secret); never dumped */
	K_RSSKEY,    /* 40 or 52 bytes in hex, colons allowed (struct hf_rss_key) */
};

struct key_def {
	const char *name;
	enum key_kind kind;
	size_t off;
	uint64_t min, max; /* in the stored unit (ms for K_MS64, s for K_SEC32) */
	const char *help;
};

#define OFF(f) offsetof(struct hf_config, f)
#define KIB    1024ull
#define MIB    (1024ull * 1024)
#define GIB    (1024ull * 1024 * 1024)
#define D_SEC  1000ull
#define D_MIN  (60 * D_SEC)
#define D_HOUR (60 * D_MIN)
#define D_DAY  (24 * D_HOUR)

static const struct key_def keys[] = {
	{"service-address", K_SERVICE, OFF(service), 0, 0,
	 "IPv4 or IPv6 address holdfast answers on (repeatable, at most 16)"},
	{"forwarder", K_FORWARDER, OFF(forwarder), 0, 0,
	 "upstream resolver ADDR or ADDR@PORT (repeatable, at most 8)"},
	{"cache-entries", K_COUNT32, OFF(cache_entries), 1024, 64 * MIB,
	 "cached questions per core"},
	{"cache-memory", K_SIZE64, OFF(cache_memory), MIB, 64 * GIB,
	 "answer storage per core in bytes (K/M/G)"},
	{"waiters", K_COUNT32, OFF(waiters), 16, MIB, "parked clients per core"},
	{"serve-stale-window", K_MS64, OFF(stale_window_ms), 0, 7 * D_DAY,
	 "how long past its TTL an answer may be served stale (0 = never)"},
	{"serve-stale-client-timeout", K_MS64, OFF(client_timeout_ms), 0, 30 * D_SEC,
	 "how long a client with stale data waits for a refresh (0 = stale at once)"},
	{"serve-stale-ttl", K_SEC32, OFF(stale_ttl), 1, 3600, "TTL written on stale answers"},
	{"serve-stale-failure-recheck", K_MS64, OFF(failure_recheck_ms), 0, D_DAY,
	 "after a failed refresh, serve stale this long without asking again"},
	{"prefetch-percent", K_INT32, OFF(prefetch_pct), 0, 50,
	 "a hit in the last this-many percent of an answer's TTL refreshes it ahead of its "
	 "expiry, once (0 = never)"},
	{"failure-ttl", K_SEC32, OFF(failure_ttl), 1, 300,
	 "how long a resolution failure is cached (RFC 9520)"},
	{"max-ttl", K_SEC32, OFF(max_ttl), 1, 7 * 86400, "cap on positive TTLs"},
	{"min-ttl", K_SEC32, OFF(min_ttl), 0, 86400, "floor on positive TTLs (at most max-ttl)"},
	{"max-negative-ttl", K_SEC32, OFF(max_negative_ttl), 0, 86400,
	 "cap on NXDOMAIN/NODATA TTLs"},
	{"edns-buffer-size", K_INT16, OFF(edns_buffer_size), 512, 4096,
	 "EDNS UDP payload size advertised upstream and to clients (bytes)"},
	{"upstream-timeout", K_MS64, OFF(upstream_timeout_ms), 10, 30 * D_SEC,
	 "wait this long for each upstream attempt"},
	{"upstream-attempts", K_INT32, OFF(upstream_attempts), 1, 10,
	 "upstream tries per question, in turn across the forwarders"},
	{"fetches-per-zone", K_COUNT32, OFF(fetches_per_zone), 0, 65536,
	 "client questions resolving at once per zone (the name less its first label); past "
	 "it SERVFAIL at once, EDE 0 (0 = no limit)"},
	{"fetches-per-server", K_COUNT32, OFF(fetches_per_server), 0, 65536,
	 "queries in flight at once to one forwarder; past it the next forwarder, or SERVFAIL "
	 "at once, EDE 0, when all are at it (0 = no limit)"},
	{"control-threads", K_INT32, OFF(control_threads), 1, HF_MAX_CTL_THREADS,
	 "threads that resolve misses, each question on the one its hash names (restart to "
	 "change)"},
	{"queues", K_INT32, OFF(queues), 0, 64,
	 "RX/TX queue pairs per port, one per worker (0 = one per worker lcore)"},
	{"rss-key", K_RSSKEY, OFF(rss_key), 0, 0,
	 "with more than one worker: the Toeplitz key the ports' RSS hashes clients with, 40 or "
	 "52 bytes in hex (aa:bb:... as ethtool -x shows it; default: the port's own)"},
	{"idle-sleep", K_US32, OFF(idle_sleep_us), 0, 100000,
	 "worker sleep after idle-polls empty polls, microseconds (0 = busy poll)"},
	{"idle-polls", K_INT32, OFF(idle_polls), 1, 1000000,
	 "empty polls in a row before a worker sleeps idle-sleep (then every 24 more)"},
	{"idle-sleep-max", K_US32, OFF(idle_sleep_max_us), 0, 100000,
	 "an idle worker's sleeps double from idle-sleep up to this, microseconds (at most "
	 "idle-sleep: no back-off)"},
	{"burst", K_INT32, OFF(burst), 1, 64, "RX burst size"},
	{"control-socket", K_PATH, OFF(control_socket), 0, 107,
	 "management socket path (\"\" = none)"},
	{"dnssec", K_BOOL, OFF(dnssec), 0, 1,
	 "validate answers with DNSSEC (no = forwarding only, answers insecure)"},
	{"trust-anchor", K_PATH, OFF(trust_anchor), 1, 255,
	 "file of DS/DNSKEY trust anchors in zone-file form (default: the built-in IANA "
	 "root anchors)"},
	{"nsec3-max-iterations", K_INT16, OFF(nsec3_max_iterations), 0, 2500,
	 "NSEC3 iterations above this make an answer insecure, EDE 27 (RFC 9276)"},
	{"dnssec-clock-skew", K_SEC32, OFF(dnssec_clock_skew), 0, 86400,
	 "slack on RRSIG inception/expiration"},
	{"dnssec-key-cache", K_COUNT32, OFF(dnssec_key_cache), 8, 16 * MIB,
	 "validated DNSKEY/DS sets kept (entries)"},
	{"aggressive-nsec", K_BOOL, OFF(aggressive_nsec), 0, 1,
	 "answer NXDOMAIN/NODATA from validated NSEC/NSEC3 records kept from earlier answers "
	 "(RFC 8198)"},
	{"aggressive-nsec-entries", K_COUNT32, OFF(aggr_nsec_entries), 16, 16 * MIB,
	 "validated NSEC/NSEC3 records kept for aggressive-nsec (LRU)"},
	{"aggressive-nsec-core-records", K_COUNT32, OFF(aggr_core_records), 0, MIB,
	 "validated NSEC records each worker core keeps a copy of, to synthesize without "
	 "control (1 KiB each; 0: control synthesizes)"},
	{"control-socket-group", K_PATH, OFF(control_socket_group), 1, 63,
	 "group allowed on the management socket (mode 0660; default: owner only, 0600)"},
	{"nta-state-file", K_PATH, OFF(nta_state_file), 0, 255,
	 "file the NTAs are kept in across restarts (\"\" = not kept)"},
	{"cache-snapshot", K_PATH, OFF(cache_snapshot), 0, 255,
	 "file the cache (stale data included) is kept in across restarts (\"\" = not kept)"},
	{"nta", K_NTA, OFF(nta), 0, 0,
	 "Negative Trust Anchor: NAME [LIFETIME [REASON]] (repeatable; lifetime default 1h, "
	 "at most 1w)"},
	{"stats-textfile", K_PATH, OFF(stats_textfile), 1, 255,
	 "write counters here for node_exporter's textfile collector (default: off)"},
	{"stats-textfile-interval", K_MS64, OFF(stats_textfile_ms), D_SEC, D_HOUR,
	 "how often stats-textfile is rewritten"},
	{"exception-interface", K_IFNAME, OFF(exception_interface), 0, 15,
	 "kernel interface (a TAP) that gets what the workers do not answer for the service "
	 "addresses: TCP, ICMP, other UDP ports (\"\" = off: dropped)"},
	{"xdp-exception", K_BOOL, OFF(xdp_exception), 0, 1,
	 "net_af_xdp ports only: an XDP program hands the workers UDP/53 and the kernel's own "
	 "stack on the port's interface everything else (TCP, TLS, ICMP, ARP/ND); no TAP"},
	{"tcp-service", K_BOOL, OFF(tcp_service), 0, 1,
	 "answer DNS over TCP on port 53 of the service addresses (needs exception-interface "
	 "or xdp-exception)"},
	{"tcp-idle-timeout", K_MS64, OFF(tcp_idle_timeout_ms), 100, D_HOUR,
	 "close a TCP/TLS connection with no query for this long (RFC 7766; our EDNS keepalive)"},
	{"tcp-max-connections", K_COUNT32, OFF(tcp_max_connections), 1, MIB,
	 "TCP and TLS connections open at once"},
	{"tcp-max-connections-per-client", K_COUNT32, OFF(tcp_max_per_client), 1, MIB,
	 "TCP and TLS connections open at once from one client address"},
	{"tcp-max-pending", K_COUNT32, OFF(tcp_max_pending), 1, 65535,
	 "queries of one connection waiting for an answer before it is read no further"},
	{"tls-certificate", K_PATH, OFF(tls_certificate), 0, 255,
	 "PEM certificate chain for DNS over TLS on port 853 (\"\" = no DNS over TLS)"},
	{"tls-key", K_PATH, OFF(tls_key), 0, 255, "PEM private key of tls-certificate"},
	{"rrl-rate", K_COUNT32, OFF(rrl_rate), 0, MIB,
	 "answers per second to one client prefix on one core; past it they are dropped or "
	 "slipped (0 = no response rate limiting)"},
	{"rrl-slip", K_INT32, OFF(rrl_slip), 0, 10,
	 "every Nth limited answer goes out empty with TC=1, for a real client to retry over "
	 "TCP (0 = none)"},
	{"rrl-ipv4-prefix", K_INT32, OFF(rrl_ipv4_prefix), 8, 32,
	 "IPv4 clients are limited together per prefix of this length"},
	{"rrl-ipv6-prefix", K_INT32, OFF(rrl_ipv6_prefix), 16, 56,
	 "IPv6 clients are limited together per prefix of this length"},
	{"rrl-table-size", K_COUNT32, OFF(rrl_table), 1024, 16 * MIB,
	 "client prefixes each core tracks (rounded up to a power of two; 16 bytes each)"},
	{"log-level", K_LOGLEVEL, OFF(log_level), 0, 0,
	 "least important messages written: error, warning, notice, info or debug"},
	{"cookie-secret", K_SECRET, OFF(cookie_secret), 0, 0,
	 "DNS server cookies (RFC 7873, RFC 9018): their 16-byte secret in 32 hex digits, or "
	 "random (a new one at each start); not set: no cookies"},
	{"cookie-required", K_BOOL, OFF(cookie_required), 0, 1,
	 "a UDP query with a client cookie but no valid server cookie gets BADCOOKIE and a "
	 "server cookie to retry with"},
	{"access-control", K_ACL, OFF(acl), 0, 0,
	 "PREFIX allow|refuse|drop: what clients in PREFIX get (repeatable; longest prefix "
	 "wins; default: everyone allowed)"},
};

void hf_config_defaults(struct hf_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cache_entries = 262144;
	cfg->cache_memory = 64 * MIB;
	cfg->waiters = 4096;
	cfg->stale_window_ms = D_DAY;
	cfg->client_timeout_ms = 1800;
	cfg->stale_ttl = 30;
	cfg->prefetch_pct = 0;
	cfg->failure_recheck_ms = 30 * D_SEC;
	cfg->failure_ttl = 5;
	cfg->max_ttl = 86400;
	cfg->min_ttl = 0;
	cfg->max_negative_ttl = 3600;
	cfg->edns_buffer_size = 1232;
	cfg->upstream_timeout_ms = 1000;
	cfg->upstream_attempts = 3;
	cfg->queues = 0;
	cfg->control_threads = 1;
	cfg->idle_sleep_us = 0;
	cfg->idle_polls = 1024;
	cfg->idle_sleep_max_us = 0; /* no back-off: docs/decisions.md */
	cfg->log_level = HF_LOG_INFO;
	cfg->burst = 32;
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
		 "/run/holdfast/control.sock");
	cfg->dnssec = true;
	cfg->tcp_service = true;
	cfg->tcp_idle_timeout_ms = 10 * D_SEC;
	cfg->tcp_max_connections = 1024;
	cfg->tcp_max_per_client = 64;
	cfg->tcp_max_pending = 128;
	cfg->rrl_slip = 2;
	cfg->rrl_ipv4_prefix = 24;
	cfg->rrl_ipv6_prefix = 56;
	cfg->rrl_table = 65536;
	cfg->trust_anchor[0] = '\0';
	cfg->nsec3_max_iterations = 50;
	cfg->dnssec_clock_skew = 300;
	cfg->dnssec_key_cache = 4096;
	cfg->aggressive_nsec = true;
	cfg->aggr_nsec_entries = 16384;
	cfg->aggr_core_records = 4096;
	snprintf(cfg->nta_state_file, sizeof(cfg->nta_state_file), "%s",
		 "/var/lib/holdfast/nta.state");
	cfg->stats_textfile_ms = 15 * D_SEC;
}

int hf_config_parse_lifetime(const char *value, uint32_t *lifetime_s, char *err, size_t errlen)
{
	uint64_t ms;
	if (hf_parse_duration_ms(value, &ms) != 0 || ms % D_SEC != 0) {
		snprintf(err, errlen,
			 "lifetime \"%s\" is not a duration in whole seconds (e.g. 90, "
			 "30m, 1h, 2d)",
			 value);
		return hf_error(HF_EINVAL);
	}
	if (ms < D_SEC || ms / D_SEC > HF_NTA_LIFETIME_MAX) {
		snprintf(err, errlen, "lifetime \"%s\" is not between 1s and 1w (RFC 7646)", value);
		return hf_error(HF_EINVAL);
	}
	*lifetime_s = (uint32_t)(ms / D_SEC);
	return 0;
}

int hf_config_parse_nta(const char *value, uint8_t *name, size_t *name_len, uint32_t *lifetime_s,
			char *reason, size_t reason_size, char *err, size_t errlen)
{
	char tok[300];
	const char *p = value, *e;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strcspn(p, " \t");
	n = (size_t)(e - p);
	if (n == 0 || n >= sizeof(tok)) {
		snprintf(err, errlen, "\"%s\" does not start with a domain name", value);
		return hf_error(HF_EINVAL);
	}
	memcpy(tok, p, n);
	tok[n] = '\0';
	if (hf_dns_name_from_str(tok, name, name_len) != 0) {
		snprintf(err, errlen, "\"%s\" is not a domain name", tok);
		return hf_error(HF_EINVAL);
	}
	hf_dns_name_lower(name, *name_len);
	*lifetime_s = HF_NTA_LIFETIME_DEF;
	reason[0] = '\0';
	p = e;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0') {
		e = p + strcspn(p, " \t");
		n = (size_t)(e - p);
		if (n >= sizeof(tok)) {
			snprintf(err, errlen, "lifetime \"%.20s...\" is too long", p);
			return hf_error(HF_EINVAL);
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (hf_config_parse_lifetime(tok, lifetime_s, err, errlen) != 0)
			return hf_error(HF_EINVAL);
		p = e;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strlen(p) >= reason_size || strlen(p) > HF_NTA_REASON_MAX) {
			snprintf(err, errlen, "reason is longer than %d bytes", HF_NTA_REASON_MAX);
			return hf_error(HF_EINVAL);
		}
		snprintf(reason, reason_size, "%s", p);
	}
	return 0;
}

/* ---- number parsing (exact integer arithmetic, no floating point) ---- */

/* Parse "<digits>[.<digits>]" at *s; value = int * scale + frac * scale /
 * 10^d, which must be exact. On success *s points past the number. */
struct decimal {
	uint64_t ip;	 /* integer part */
	uint64_t fp;	 /* fraction digits as an integer */
	uint64_t fscale; /* 10^(number of fraction digits) */
};

static int parse_decimal(const char **sp, struct decimal *d)
{
	const char *s = *sp;
	bool digits = false;
	d->ip = 0;
	d->fp = 0;
	d->fscale = 1;
	while (*s >= '0' && *s <= '9') {
		if (d->ip > (UINT64_MAX - 9) / 10)
			return hf_error(HF_EINVAL);
		d->ip = d->ip * 10 + (uint64_t)(*s - '0');
		s++;
		digits = true;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (d->fscale >= 1000000000000ull)
				return hf_error(HF_EINVAL); /* more than 12 decimals */
			d->fp = d->fp * 10 + (uint64_t)(*s - '0');
			d->fscale *= 10;
			s++;
			digits = true;
		}
	}
	if (!digits)
		return hf_error(HF_EINVAL);
	*sp = s;
	return 0;
}

/* value = d * scale, exactly; HF_EINVAL on overflow or a remainder. */
static int decimal_scale(const struct decimal *d, uint64_t scale, uint64_t *out)
{
	uint64_t v, f;
	if (d->ip != 0 && scale > UINT64_MAX / d->ip)
		return hf_error(HF_EINVAL);
	v = d->ip * scale;
	/* fp < fscale <= 10^12 and scale <= 1w in ms or 1G: fp * scale may
	 * overflow only for absurd inputs; check. */
	if (d->fp != 0 && scale > UINT64_MAX / d->fp)
		return hf_error(HF_EINVAL);
	f = d->fp * scale;
	if (f % d->fscale != 0)
		return hf_error(HF_EINVAL);
	f /= d->fscale;
	if (v > UINT64_MAX - f)
		return hf_error(HF_EINVAL);
	*out = v + f;
	return 0;
}

int hf_parse_duration_ms(const char *s, uint64_t *ms)
{
	struct decimal d;
	uint64_t unit;
	if (s == NULL || parse_decimal(&s, &d) != 0)
		return hf_error(HF_EINVAL);
	if (strcmp(s, "") == 0 || strcmp(s, "s") == 0)
		unit = D_SEC;
	else if (strcmp(s, "ms") == 0)
		unit = 1;
	else if (strcmp(s, "m") == 0)
		unit = D_MIN;
	else if (strcmp(s, "h") == 0)
		unit = D_HOUR;
	else if (strcmp(s, "d") == 0)
		unit = D_DAY;
	else if (strcmp(s, "w") == 0)
		unit = 7 * D_DAY;
	else
		return hf_error(HF_EINVAL);
	return decimal_scale(&d, unit, ms);
}

/* Sizes and counts: a number with an optional K, M or G (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	struct decimal d;
	uint64_t unit = 1;
	if (parse_decimal(&s, &d) != 0)
		return hf_error(HF_EINVAL);
	if (*s == 'K' || *s == 'k')
		unit = KIB;
	else if (*s == 'M' || *s == 'm')
		unit = MIB;
	else if (*s == 'G' || *s == 'g')
		unit = GIB;
	if (unit != 1)
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s != '\0')
		return hf_error(HF_EINVAL);
	return decimal_scale(&d, unit, out);
}

static int parse_uint(const char *s, uint64_t *out)
{
	struct decimal d;
	if (parse_decimal(&s, &d) != 0 || *s != '\0' || d.fscale != 1)
		return hf_error(HF_EINVAL);
	*out = d.ip;
	return 0;
}

/* Microseconds: bare number, or us / ms / s suffix. */
static int parse_us(const char *s, uint64_t *out)
{
	struct decimal d;
	uint64_t unit;
	if (parse_decimal(&s, &d) != 0)
		return hf_error(HF_EINVAL);
	if (strcmp(s, "") == 0 || strcmp(s, "us") == 0)
		unit = 1;
	else if (strcmp(s, "ms") == 0)
		unit = 1000;
	else if (strcmp(s, "s") == 0)
		unit = 1000000;
	else
		return hf_error(HF_EINVAL);
	return decimal_scale(&d, unit, out);
}

/* ---- formatting (errors, help, dump) ---- */

/* Largest unit that divides exactly: 7d, 90m, 1800ms, 0. */
static void fmt_ms(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} units[] = {{D_DAY, "d"}, {D_HOUR, "h"}, {D_MIN, "m"}, {D_SEC, "s"}};
	if (ms == 0) {
		snprintf(buf, size, "0");
		return;
	}
	for (size_t i = 0; i < HF_ARRAY_LEN(units); i++)
		if (ms % units[i].ms == 0) {
			snprintf(buf, size, "%llu%s", (unsigned long long)(ms / units[i].ms),
				 units[i].unit);
			return;
		}
	if (ms > D_SEC) { /* 1.8s rather than 1800ms */
		char frac[8];
		size_t n = (size_t)snprintf(frac, sizeof(frac), "%03llu",
					    (unsigned long long)(ms % D_SEC));
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		snprintf(buf, size, "%llu.%ss", (unsigned long long)(ms / D_SEC), frac);
		return;
	}
	snprintf(buf, size, "%llums", (unsigned long long)ms);
}

static void fmt_size(uint64_t v, char *buf, size_t size)
{
	if (v != 0 && v % GIB == 0)
		snprintf(buf, size, "%lluG", (unsigned long long)(v / GIB));
	else if (v != 0 && v % MIB == 0)
		snprintf(buf, size, "%lluM", (unsigned long long)(v / MIB));
	else if (v != 0 && v % KIB == 0)
		snprintf(buf, size, "%lluK", (unsigned long long)(v / KIB));
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* A value in a key's stored unit, written as the config file would. */
static void fmt_value(const struct key_def *k, uint64_t v, char *buf, size_t size)
{
	switch (k->kind) {
	case K_MS64:
		fmt_ms(v, buf, size);
		break;
	case K_SEC32:
		fmt_ms(v * D_SEC, buf, size);
		break;
	case K_SIZE64:
		fmt_size(v, buf, size);
		break;
	default:
		snprintf(buf, size, "%llu", (unsigned long long)v);
		break;
	}
}

/* The address part of a forwarder or service address, and ADDR@PORT. */
static void fmt_ip(int family, const void *addr, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];
	if (inet_ntop(family, addr, tmp, sizeof(tmp)) == NULL)
		snprintf(tmp, sizeof(tmp), "?");
	snprintf(buf, size, "%s", tmp);
}

static void fmt_forwarder(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	unsigned port;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		fmt_ip(AF_INET, &sin->sin_addr, a, sizeof(a));
		port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		fmt_ip(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(buf, size, "%s@%u", a, port);
}

void hf_config_forwarder_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	fmt_forwarder(ss, buf, size);
}

/* A value as shown in an error: quoted, at most 64 bytes, no control chars. */
static void show_value(const char *v, char *buf, size_t size)
{
	size_t n = 0, i;
	for (i = 0; v[i] != '\0' && n + 4 < size && i < 64; i++) {
		unsigned char ch = (unsigned char)v[i];
		buf[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (v[i] != '\0' && n + 4 < size) {
		buf[n++] = '.';
		buf[n++] = '.';
		buf[n++] = '.';
	}
	buf[n] = '\0';
}

/* "where: key: " (a file position) or "--key: " (a flag already names it). */
static void __attribute__((format(printf, 6, 7)))
seterr(char *err, size_t errlen, const char *where, const char *key, const char *value,
       const char *fmt, ...)
{
	char msg[256], shown[80];
	va_list ap;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (value != NULL)
		show_value(value, shown, sizeof(shown));
	if (where != NULL && where[0] == '-')
		snprintf(err, errlen, "%s: %s%s%s%s", where, value ? "\"" : "", value ? shown : "",
			 value ? "\" " : "", msg);
	else if (where != NULL)
		snprintf(err, errlen, "%s: %s: %s%s%s%s", where, key, value ? "\"" : "",
			 value ? shown : "", value ? "\" " : "", msg);
	else
		snprintf(err, errlen, "%s: %s%s%s%s", key, value ? "\"" : "", value ? shown : "",
			 value ? "\" " : "", msg);
}

/* ---- setting one key ---- */

static const struct key_def *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < HF_ARRAY_LEN(keys); i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

static int parse_ip(const char *s, struct hf_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (strchr(s, '%') == NULL && inet_pton(AF_INET6, s, &ip->v6) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return hf_error(HF_EINVAL);
}

static const char *const acl_actions[] = {"allow", "refuse", "drop"}; /* enum hf_acl_action */

/* access-control: PREFIX allow|refuse|drop */
static int set_acl(struct hf_config *cfg, const struct key_def *k, const char *value,
		   const char *where, char *err, size_t errlen)
{
	struct hf_acl_rule r;
	char net[64], *end;
	const char *sp = strchr(value, ' ');
	unsigned long plen;
	unsigned a, n;
	uint8_t *b;

	memset(&r, 0, sizeof(r));
	if (sp == NULL || (size_t)(sp - value) >= sizeof(net))
		goto bad;
	memcpy(net, value, (size_t)(sp - value));
	net[sp - value] = '\0';
	while (*sp == ' ')
		sp++;
	for (a = 0; a < HF_ARRAY_LEN(acl_actions) && strcmp(sp, acl_actions[a]) != 0; a++)
		;
	end = strchr(net, '/');
	if (a == HF_ARRAY_LEN(acl_actions) || end == NULL)
		goto bad;
	*end++ = '\0';
	if (parse_ip(net, &r.net) != 0 || *end < '0' || *end > '9')
		goto bad;
	errno = 0;
	plen = strtoul(end, &end, 10);
	if (*end != '\0' || errno != 0 || plen > (r.net.family == AF_INET ? 32u : 128u))
		goto bad;
	/* the host bits must be zero: 198.18.0.1/15 is a typo */
	b = r.net.family == AF_INET ? (uint8_t *)&r.net.v4 : r.net.v6.s6_addr;
	n = r.net.family == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < n; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? (unsigned)plen - 8 * i : 0;
		if (keep < 8 && (b[i] & (uint8_t)(0xff >> keep))) {
			seterr(err, errlen, where, k->name, value,
			       "has bits set past the prefix length");
			return hf_error(HF_EINVAL);
		}
	}
	if (cfg->nacl >= HF_ACL_MAX) {
		seterr(err, errlen, where, k->name, value, "is one too many (at most %d)",
		       HF_ACL_MAX);
		return hf_error(HF_EFULL);
	}
	r.plen = (uint8_t)plen;
	r.action = (uint8_t)a;
	cfg->acl[cfg->nacl++] = r;
	return 0;
bad:
	seterr(err, errlen, where, k->name, value,
	       "is not PREFIX allow|refuse|drop (PREFIX: ADDRESS/LENGTH)");
	return hf_error(HF_EINVAL);
}

/*
 * Why ip cannot be a service address (NULL when it can): holdfast answers
 * ARP / ND and DNS for it on a DPDK port, so it must be a unicast address
 * a packet on the wire can carry: not unspecified, broadcast, multicast
 * or loopback (127.0.0.0/8 and ::1 never leave a host's kernel).
 */
static const char *service_ip_problem(const struct hf_ip *ip)
{
	static const uint8_t v6_any[16], v6_loop[16] = {[15] = 1};
	if (ip->family == AF_INET) {
		uint32_t a = ntohl(ip->v4.s_addr);
		if (a == 0)
			return "is the unspecified address, not one to answer on";
		if (a == 0xffffffffu)
			return "is the broadcast address, not one to answer on";
		if ((a >> 28) == 0xe)
			return "is a multicast address (224.0.0.0/4), not one to answer on";
		if ((a >> 24) == 127)
			return "is a loopback address (127.0.0.0/8): a DPDK port never sees it";
		return NULL;
	}
	if (memcmp(&ip->v6, v6_any, 16) == 0)
		return "is the unspecified address, not one to answer on";
	if (ip->v6.s6_addr[0] == 0xff)
		return "is a multicast address (ff00::/8), not one to answer on";
	if (memcmp(&ip->v6, v6_loop, 16) == 0)
		return "is the loopback address (::1): a DPDK port never sees it";
	return NULL;
}

static int parse_forwarder(const char *s, struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *at = strchr(s, '@');
	size_t alen = at ? (size_t)(at - s) : strlen(s);
	uint64_t port = 53;
	struct hf_ip ip;

	if (alen == 0 || alen >= sizeof(addr))
		return hf_error(HF_EINVAL);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (parse_ip(addr, &ip) != 0)
		return hf_error(HF_EINVAL);
	if (at != NULL && (parse_uint(at + 1, &port) != 0 || port < 1 || port > 65535))
		return hf_error(HF_EINVAL);
	memset(ss, 0, sizeof(*ss));
	if (ip.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_addr = ip.v4;
		sin->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = ip.v6;
		sin6->sin6_port = htons((uint16_t)port);
	}
	return 0;
}

static bool same_forwarder(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* 32 hex digits, or "random": 16 bytes from the kernel's generator. */
static int set_secret(struct hf_secret *s, const struct key_def *k, const char *value,
		      const char *where, char *err, size_t errlen)
{
	uint8_t key[HF_COOKIE_SECRET_LEN];
	if (strcmp(value, "random") == 0) {
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
			seterr(err, errlen, where, k->name, value, "no random bytes: %s",
			       strerror(errno));
			return hf_error(HF_EINVAL);
		}
	} else {
		if (strlen(value) != 2 * sizeof(key) ||
		    strspn(value, "0123456789abcdefABCDEF") != 2 * sizeof(key)) {
			seterr(err, errlen, where, k->name, NULL,
			       "is not 32 hex digits (16 bytes) or random");
			return hf_error(HF_EINVAL);
		}
		for (size_t i = 0; i < sizeof(key); i++)
			sscanf(value + 2 * i, "%2hhx", &key[i]);
	}
	memcpy(s->key, key, sizeof(key));
	s->set = true;
	return 0;
}

/* 40 or 52 bytes in hex, with or without a colon between two bytes. */
static int set_rss_key(struct hf_rss_key *r, const struct key_def *k, const char *value,
		       const char *where, char *err, size_t errlen)
{
	uint8_t key[HF_RSS_KEY_MAX];
	size_t n = 0;
	const char *p = value;

	while (n < sizeof(key) && p[0] != '\0' && isxdigit((unsigned char)p[0]) &&
	       isxdigit((unsigned char)p[1])) {
		sscanf(p, "%2hhx", &key[n++]);
		p += 2;
		if (*p == ':' && isxdigit((unsigned char)p[1]))
			p++;
	}
	if (*p != '\0' || (n != 40 && n != 52)) {
		seterr(err, errlen, where, k->name, value,
		       "is not 40 or 52 bytes in hex (aa:bb:... or aabb...)");
		return hf_error(HF_EINVAL);
	}
	memcpy(r->key, key, n);
	r->len = (uint8_t)n;
	return 0;
}

static int set_key(struct hf_config *cfg, const struct key_def *k, const char *value,
		   const char *where, char *err, size_t errlen)
{
	uint8_t *field = (uint8_t *)cfg + k->off;
	uint64_t v = 0;
	char lim[32];
	int rc = 0;

	/* "" is a value only for paths that may be unset (min 0) */
	if (value == NULL ||
	    (value[0] == '\0' && !((k->kind == K_PATH || k->kind == K_IFNAME) && k->min == 0))) {
		seterr(err, errlen, where, k->name, NULL, "missing value");
		return hf_error(HF_EINVAL);
	}
	switch (k->kind) {
	case K_SERVICE: {
		struct hf_ip ip;
		const char *why;
		if (parse_ip(value, &ip) != 0) {
			seterr(err, errlen, where, k->name, value,
			       "is not an IPv4 or IPv6 address");
			return hf_error(HF_EINVAL);
		}
		why = service_ip_problem(&ip);
		if (why != NULL) {
			seterr(err, errlen, where, k->name, value, "%s", why);
			return hf_error(HF_EINVAL);
		}
		for (unsigned i = 0; i < cfg->nservice; i++) {
			const struct hf_ip *o = &cfg->service[i];
			if (o->family == ip.family &&
			    (ip.family == AF_INET ? o->v4.s_addr == ip.v4.s_addr
						  : memcmp(&o->v6, &ip.v6, 16) == 0)) {
				seterr(err, errlen, where, k->name, value, "is already configured");
				return hf_error(HF_EEXIST);
			}
		}
		if (cfg->nservice >= HF_MAX_SERVICE_ADDRS) {
			seterr(err, errlen, where, k->name, value,
			       "is one too many (at most %d service addresses)",
			       HF_MAX_SERVICE_ADDRS);
			return hf_error(HF_EFULL);
		}
		cfg->service[cfg->nservice++] = ip;
		return 0;
	}
	case K_FORWARDER: {
		struct sockaddr_storage ss;
		if (parse_forwarder(value, &ss) != 0) {
			seterr(err, errlen, where, k->name, value,
			       "is not ADDR[@PORT] with a port 1-65535");
			return hf_error(HF_EINVAL);
		}
		for (unsigned i = 0; i < cfg->nforwarders; i++)
			if (same_forwarder(&cfg->forwarder[i], &ss)) {
				seterr(err, errlen, where, k->name, value, "is already configured");
				return hf_error(HF_EEXIST);
			}
		if (cfg->nforwarders >= HF_MAX_FORWARDERS) {
			seterr(err, errlen, where, k->name, value,
			       "is one too many (at most %d forwarders)", HF_MAX_FORWARDERS);
			return hf_error(HF_EFULL);
		}
		cfg->forwarder[cfg->nforwarders++] = ss;
		return 0;
	}
	case K_ACL:
		return set_acl(cfg, k, value, where, err, errlen);
	case K_SECRET:
		return set_secret((struct hf_secret *)field, k, value, where, err, errlen);
	case K_RSSKEY:
		return set_rss_key((struct hf_rss_key *)field, k, value, where, err, errlen);
	case K_LOGLEVEL: {
		int l = hf_log_level_parse(value);
		if (l < 0) {
			seterr(err, errlen, where, k->name, value,
			       "is not error, warning, notice, info or debug");
			return hf_error(HF_EINVAL);
		}
		memcpy(field, &(uint32_t){(uint32_t)l}, sizeof(uint32_t));
		return 0;
	}
	case K_NTA: {
		uint8_t name[HF_DNS_NAME_MAX];
		size_t nlen;
		uint32_t life;
		char reason[HF_NTA_REASON_MAX + 1], why[200];
		if (strchr(value, '"') != NULL) {
			seterr(err, errlen, where, k->name, value, "must not contain '\"'");
			return hf_error(HF_EINVAL);
		}
		if (hf_config_parse_nta(value, name, &nlen, &life, reason, sizeof(reason), why,
					sizeof(why)) != 0) {
			seterr(err, errlen, where, k->name, value,
			       "is not NAME [LIFETIME [REASON]]: %s", why);
			return hf_error(HF_EINVAL);
		}
		if (strlen(value) >= sizeof(cfg->nta[0])) {
			seterr(err, errlen, where, k->name, value, "is too long");
			return hf_error(HF_EINVAL);
		}
		if (cfg->nntas >= HF_NTA_MAX) {
			seterr(err, errlen, where, k->name, value,
			       "is one too many (at most %d NTAs in force at once)", HF_NTA_MAX);
			return hf_error(HF_EFULL);
		}
		snprintf(cfg->nta[cfg->nntas++], sizeof(cfg->nta[0]), "%s", value);
		return 0;
	}
	case K_IFNAME:
		/* what the kernel takes (dev_valid_name), less ':' (aliases) */
		if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0 ||
		    strcspn(value, "/: \t") != strlen(value)) {
			seterr(err, errlen, where, k->name, value,
			       "is not an interface name (no '/', ':' or white space)");
			return hf_error(HF_EINVAL);
		}
		/* fall through */
	case K_PATH: {
		size_t len = strlen(value);
		if (strchr(value, '"') != NULL) {
			seterr(err, errlen, where, k->name, value, "must not contain '\"'");
			return hf_error(HF_EINVAL);
		}
		if (len > k->max) {
			seterr(err, errlen, where, k->name, value,
			       "is too long (at most %llu bytes)", (unsigned long long)k->max);
			return hf_error(HF_EINVAL);
		}
		memcpy(field, value, len + 1);
		return 0;
	}
	case K_BOOL:
		if (strcmp(value, "yes") == 0) {
			*(bool *)field = true;
		} else if (strcmp(value, "no") == 0) {
			*(bool *)field = false;
		} else {
			seterr(err, errlen, where, k->name, value, "is not yes or no");
			return hf_error(HF_EINVAL);
		}
		return 0;
	case K_COUNT32:
	case K_SIZE64:
		rc = parse_size(value, &v);
		if (rc != 0)
			seterr(err, errlen, where, k->name, value,
			       k->kind == K_SIZE64
				       ? "is not a size (bytes, or a number with K, M or G)"
				       : "is not a whole number (a K, M or G suffix is allowed)");
		break;
	case K_INT16:
	case K_INT32:
		rc = parse_uint(value, &v);
		if (rc != 0)
			seterr(err, errlen, where, k->name, value, "is not a whole number");
		break;
	case K_US32:
		rc = parse_us(value, &v);
		if (rc != 0)
			seterr(err, errlen, where, k->name, value,
			       "is not a duration in microseconds (e.g. 100, 100us, 1ms)");
		break;
	case K_MS64:
		rc = hf_parse_duration_ms(value, &v);
		if (rc != 0)
			seterr(err, errlen, where, k->name, value,
			       "is not a duration (e.g. 1.8s, 1800ms, 5m, 1h, 1d, 1w)");
		break;
	case K_SEC32:
		rc = hf_parse_duration_ms(value, &v);
		if (rc != 0) {
			seterr(err, errlen, where, k->name, value,
			       "is not a duration (e.g. 30, 30s, 5m, 1h, 1d)");
		} else if (v % D_SEC != 0) {
			seterr(err, errlen, where, k->name, value,
			       "is not a whole number of seconds");
			rc = hf_error(HF_EINVAL);
		} else {
			v /= D_SEC;
		}
		break;
	}
	if (rc != 0)
		return hf_error(HF_EINVAL);
	if (v < k->min) {
		fmt_value(k, k->min, lim, sizeof(lim));
		seterr(err, errlen, where, k->name, value, "is below the minimum %s", lim);
		return hf_error(HF_EINVAL);
	}
	if (v > k->max) {
		fmt_value(k, k->max, lim, sizeof(lim));
		seterr(err, errlen, where, k->name, value, "is above the maximum %s", lim);
		return hf_error(HF_EINVAL);
	}
	switch (k->kind) {
	case K_SIZE64:
	case K_MS64:
		memcpy(field, &v, sizeof(uint64_t));
		break;
	case K_INT16: {
		uint16_t v16 = (uint16_t)v;
		memcpy(field, &v16, sizeof(v16));
		break;
	}
	default: {
		uint32_t v32 = (uint32_t)v;
		memcpy(field, &v32, sizeof(v32));
		break;
	}
	}
	return 0;
}

int hf_config_set(struct hf_config *cfg, const char *key, const char *value, const char *where,
		  char *err, size_t errlen)
{
	const struct key_def *k = key ? find_key(key, strlen(key)) : NULL;
	if (k == NULL) {
		if (where != NULL && where[0] == '-')
			seterr(err, errlen, where, key ? key : "", NULL,
			       "unknown option (see --help)");
		else if (where != NULL)
			snprintf(err, errlen, "%s: unknown key \"%s\"", where, key ? key : "");
		else
			snprintf(err, errlen, "unknown key \"%s\"", key ? key : "");
		return hf_error(HF_EINVAL);
	}
	return set_key(cfg, k, value, where, err, errlen);
}

/* ---- the config file ---- */

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

/* Cut a '#' comment that is not inside double quotes. */
static void cut_comment(char *s)
{
	bool quoted = false;
	for (; *s != '\0'; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == '#' && !quoted) {
			*s = '\0';
			return;
		}
	}
}

/*
 * The next line of f into buf (HF_CONFIG_LINE_MAX + 1 bytes), without its
 * newline: 1, or 0 at the end of the file, or HF_EINVAL with err set for a
 * NUL byte, a line longer than HF_CONFIG_LINE_MAX or more than
 * HF_CONFIG_FILE_MAX bytes read in all (*total). Bounded for any file,
 * /dev/zero and pipes included.
 */
static int read_line(FILE *f, char *buf, size_t *total, const char *where, const char *path,
		     char *err, size_t errlen)
{
	size_t n = 0;
	int ch;
	while ((ch = getc(f)) != EOF) {
		if (++*total > HF_CONFIG_FILE_MAX) {
			snprintf(err, errlen, "%s: file is larger than %u bytes (1 MiB)", path,
				 HF_CONFIG_FILE_MAX);
			return hf_error(HF_EINVAL);
		}
		if (ch == '\n')
			break;
		if (ch == '\0') {
			snprintf(err, errlen, "%s: NUL byte in the line", where);
			return hf_error(HF_EINVAL);
		}
		if (n == HF_CONFIG_LINE_MAX) {
			snprintf(err, errlen, "%s: line is longer than %u bytes", where,
				 HF_CONFIG_LINE_MAX);
			return hf_error(HF_EINVAL);
		}
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	return ch == EOF && n == 0 ? 0 : 1;
}

int hf_config_load(struct hf_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[HF_CONFIG_LINE_MAX + 1], where[600];
	size_t total = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return hf_error(HF_EIO);
	}
	for (;;) {
		char *s, *colon, *key, *value;
		size_t vlen;
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		rc = read_line(f, line, &total, where, path, err, errlen);
		if (rc <= 0)
			break;
		rc = 0;
		cut_comment(line);
		s = trim(line);
		if (*s == '\0')
			continue;
		colon = strchr(s, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "%s: expected \"key: value\"", where);
			rc = hf_error(HF_EINVAL);
			break;
		}
		*colon = '\0';
		key = trim(s);
		value = trim(colon + 1);
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		rc = hf_config_set(cfg, key, value, where, err, errlen);
		if (rc != 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		rc = hf_error(HF_EIO);
	}
	fclose(f);
	return rc;
}

/* ---- command line ---- */

static void usage(FILE *f, const char *prog)
{
	struct hf_config def;
	hf_config_defaults(&def);
	fprintf(f,
		"usage: %s [EAL options] -- [-c FILE] [--KEY VALUE | --KEY=VALUE ...]\n"
		"\n"
		"  -c, --config FILE   load FILE (\"key: value\" lines) at this point;\n"
		"                      later options override it\n"
		"  --dump-config       print the configuration in force and exit\n"
		"  -h, --help          this text\n"
		"\n"
		"Every config key is also an option (repeatable keys append):\n",
		prog ? prog : "holdfast");
	for (size_t i = 0; i < HF_ARRAY_LEN(keys); i++) {
		const struct key_def *k = &keys[i];
		char dflt[128], lo[32], hi[32];
		const uint8_t *field = (const uint8_t *)&def + k->off;
		uint64_t v = 0;
		switch (k->kind) {
		case K_SERVICE:
		case K_FORWARDER:
		case K_NTA:
		case K_ACL:
		case K_SECRET:
		case K_RSSKEY:
			fprintf(f, "  --%-28s %s\n", k->name, k->help);
			continue;
		case K_IFNAME:
		case K_PATH:
			if (((const char *)field)[0] != '\0')
				fprintf(f, "  --%-28s %s (default %s)\n", k->name, k->help,
					(const char *)field);
			else
				fprintf(f, "  --%-28s %s\n", k->name, k->help);
			continue;
		case K_BOOL:
			fprintf(f, "  --%-28s %s (yes or no, default %s)\n", k->name, k->help,
				*(const bool *)field ? "yes" : "no");
			continue;
		case K_LOGLEVEL: {
			uint32_t l;
			memcpy(&l, field, sizeof(l));
			fprintf(f, "  --%-28s %s (default %s)\n", k->name, k->help,
				hf_log_level_name((int)l));
			continue;
		}
		case K_SIZE64:
		case K_MS64:
			memcpy(&v, field, sizeof(uint64_t));
			break;
		case K_INT16: {
			uint16_t v16;
			memcpy(&v16, field, sizeof(v16));
			v = v16;
			break;
		}
		default: {
			uint32_t v32;
			memcpy(&v32, field, sizeof(v32));
			v = v32;
			break;
		}
		}
		fmt_value(k, v, dflt, sizeof(dflt));
		fmt_value(k, k->min, lo, sizeof(lo));
		fmt_value(k, k->max, hi, sizeof(hi));
		fprintf(f, "  --%-28s %s (default %s, %s..%s)\n", k->name, k->help, dflt, lo, hi);
	}
}

int hf_config_args(struct hf_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value;
		char flag[64];
		size_t nlen;
		int rc;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout, argv[0]);
			return 1;
		}
		if (strcmp(a, "--dump-config") == 0) {
			cfg->dump_config = true;
			continue;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
		    strncmp(a, "--config=", 9) == 0) {
			const char *path = a[1] == 'c' ? NULL : (a[8] == '=' ? a + 9 : NULL);
			if (path == NULL) {
				if (i + 1 >= argc) {
					snprintf(err, errlen, "%s: missing FILE", a);
					return hf_error(HF_EINVAL);
				}
				path = argv[++i];
			}
			if (path[0] == '\0') {
				snprintf(err, errlen, "%s: missing FILE", a);
				return hf_error(HF_EINVAL);
			}
			rc = hf_config_load(cfg, path, err, errlen);
			if (rc != 0)
				return rc;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			char shown[80];
			show_value(a, shown, sizeof(shown));
			snprintf(err, errlen, "\"%s\": unexpected argument (see --help)", shown);
			return hf_error(HF_EINVAL);
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		snprintf(flag, sizeof(flag), "--%.*s", (int)HF_MIN(nlen, sizeof(flag) - 3), name);
		if (find_key(name, nlen) == NULL) {
			seterr(err, errlen, flag, NULL, NULL, "unknown option (see --help)");
			return hf_error(HF_EINVAL);
		}
		if (eq != NULL) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc) {
				seterr(err, errlen, flag, NULL, NULL, "missing value");
				return hf_error(HF_EINVAL);
			}
			value = argv[++i];
		}
		rc = set_key(cfg, find_key(name, nlen), value, flag, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int hf_config_check(const struct hf_config *cfg, char *err, size_t errlen)
{
	if (cfg->nservice == 0) {
		snprintf(err, errlen, "no service-address configured");
		return hf_error(HF_EINVAL);
	}
	if (cfg->nforwarders == 0) {
		snprintf(err, errlen, "no forwarder configured");
		return hf_error(HF_EINVAL);
	}
	if (cfg->min_ttl > cfg->max_ttl) {
		char lo[32], hi[32];
		fmt_ms((uint64_t)cfg->min_ttl * D_SEC, lo, sizeof(lo));
		fmt_ms((uint64_t)cfg->max_ttl * D_SEC, hi, sizeof(hi));
		snprintf(err, errlen, "min-ttl (%s) is above max-ttl (%s)", lo, hi);
		return hf_error(HF_EINVAL);
	}
	if ((cfg->tls_certificate[0] == '\0') != (cfg->tls_key[0] == '\0')) {
		snprintf(err, errlen, "%s is set without %s: DNS over TLS needs both",
			 cfg->tls_key[0] ? "tls-key" : "tls-certificate",
			 cfg->tls_key[0] ? "tls-certificate" : "tls-key");
		return hf_error(HF_EINVAL);
	}
	if (cfg->xdp_exception && cfg->exception_interface[0] != '\0') {
		snprintf(err, errlen,
			 "xdp-exception and exception-interface are both set: one exception "
			 "path (XDP passing to the port's interface, or a TAP)");
		return hf_error(HF_EINVAL);
	}
	if (cfg->tls_certificate[0] != '\0' && cfg->exception_interface[0] == '\0' &&
	    !cfg->xdp_exception) {
		snprintf(err, errlen,
			 "tls-certificate: DNS over TLS needs exception-interface or "
			 "xdp-exception (a way for TCP to reach the kernel)");
		return hf_error(HF_EINVAL);
	}
	if (cfg->tcp_max_per_client > cfg->tcp_max_connections) {
		snprintf(err, errlen,
			 "tcp-max-connections-per-client (%u) is above "
			 "tcp-max-connections (%u)",
			 cfg->tcp_max_per_client, cfg->tcp_max_connections);
		return hf_error(HF_EINVAL);
	}
	return 0;
}

/* ---- dump ---- */

struct out {
	char *buf;
	size_t size, len;
};

static void __attribute__((format(printf, 2, 3))) out(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (o->size == 0 || o->len >= o->size - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len = HF_MIN(o->len + (size_t)n, o->size - 1);
}

void hf_config_dump(const struct hf_config *cfg, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	if (size == 0)
		return;
	buf[0] = '\0';
	out(&o, "# holdfast configuration in force\n");
	for (size_t i = 0; i < HF_ARRAY_LEN(keys); i++) {
		const struct key_def *k = &keys[i];
		const uint8_t *field = (const uint8_t *)cfg + k->off;
		char v[INET6_ADDRSTRLEN + 16];
		uint64_t n = 0;
		switch (k->kind) {
		case K_LOGLEVEL: {
			uint32_t l;
			memcpy(&l, field, sizeof(l));
			out(&o, "%s: %s\n", k->name, hf_log_level_name((int)l));
			continue;
		}
		case K_SERVICE:
			for (unsigned j = 0; j < cfg->nservice; j++) {
				const struct hf_ip *ip = &cfg->service[j];
				fmt_ip(ip->family,
				       ip->family == AF_INET ? (const void *)&ip->v4
							     : (const void *)&ip->v6,
				       v, sizeof(v));
				out(&o, "%s: %s\n", k->name, v);
			}
			continue;
		case K_FORWARDER:
			for (unsigned j = 0; j < cfg->nforwarders; j++) {
				fmt_forwarder(&cfg->forwarder[j], v, sizeof(v));
				out(&o, "%s: %s\n", k->name, v);
			}
			continue;
		case K_NTA:
			for (unsigned j = 0; j < cfg->nntas; j++)
				out(&o, "%s: \"%s\"\n", k->name, cfg->nta[j]);
			continue;
		case K_ACL:
			for (unsigned j = 0; j < cfg->nacl; j++) {
				const struct hf_acl_rule *r = &cfg->acl[j];
				fmt_ip(r->net.family,
				       r->net.family == AF_INET ? (const void *)&r->net.v4
								: (const void *)&r->net.v6,
				       v, sizeof(v));
				out(&o, "%s: %s/%u %s\n", k->name, v, r->plen,
				    acl_actions[r->action]);
			}
			continue;
		case K_IFNAME:
		case K_PATH:
			if (((const char *)field)[0] == '\0' && k->min == 0) /* set to "" */
				out(&o, "%s: \"\"\n", k->name);
			else if (((const char *)field)[0] == '\0') /* not set: built-in default */
				out(&o, "# %s: (not set)\n", k->name);
			else
				out(&o, "%s: \"%s\"\n", k->name, (const char *)field);
			continue;
		case K_BOOL:
			out(&o, "%s: %s\n", k->name, *(const bool *)field ? "yes" : "no");
			continue;
		case K_RSSKEY: {
			const struct hf_rss_key *r = (const struct hf_rss_key *)field;
			if (r->len == 0) {
				out(&o, "# %s: (not set)\n", k->name);
				continue;
			}
			out(&o, "%s: ", k->name);
			for (unsigned j = 0; j < r->len; j++)
				out(&o, "%02x%s", r->key[j], j + 1 < r->len ? ":" : "\n");
			continue;
		}
		case K_SECRET: /* a secret is not shown (status, config dumps) */
			if (((const struct hf_secret *)field)->set)
				out(&o, "%s: (hidden)\n", k->name);
			else
				out(&o, "# %s: (not set)\n", k->name);
			continue;
		case K_SIZE64:
		case K_MS64:
			memcpy(&n, field, sizeof(uint64_t));
			break;
		case K_INT16: {
			uint16_t v16;
			memcpy(&v16, field, sizeof(v16));
			n = v16;
			break;
		}
		default: {
			uint32_t v32;
			memcpy(&v32, field, sizeof(v32));
			n = v32;
			break;
		}
		}
		fmt_value(k, n, v, sizeof(v));
		out(&o, "%s: %s\n", k->name, v);
	}
}
