/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast configuration: defaults, the config file (unbound-style
 * "key: value" lines, '#' comments, repeatable keys for lists) and
 * command-line overrides (--key value or --key=value for every key).
 * Every error is one line naming the place, the key and the problem.
 * Owned by main; control keeps a copy; workers get what they need through
 * their own structs (hf_cache_conf, the dataplane's config).
 */
#ifndef HF_CONFIG_H
#define HF_CONFIG_H

#include <netinet/in.h>
#include <sys/socket.h>
#include "common/hf_common.h"
#include "common/hf_limits.h"

/* NTAs in force at once: the config file's, the state file's and those
 * added with holdfastctl together (so also the most nta lines). */
#define HF_NTA_MAX	    64
#define HF_NTA_REASON_MAX   200		  /* bytes of an NTA's reason text */
#define HF_NTA_LIFETIME_MAX (7u * 86400u) /* RFC 7646: a week at most */
#define HF_NTA_LIFETIME_DEF 3600u
#define HF_CONFIG_FILE_MAX  (1024u * 1024u) /* bytes a config file may have */
#define HF_CONFIG_LINE_MAX  4096u	    /* bytes of one line, its newline not counted */

struct hf_ip {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* access-control: PREFIX allow|refuse|drop */
struct hf_acl_rule {
	struct hf_ip net; /* host bits zero */
	uint8_t plen;
	uint8_t action; /* enum hf_acl_action (common/hf_limits.h) */
};

struct hf_config {
	struct hf_ip service[HF_MAX_SERVICE_ADDRS]; /* service-address (repeatable) */
	unsigned nservice;
	struct sockaddr_storage forwarder[HF_MAX_FORWARDERS]; /* forwarder: ADDR[@PORT] */
	unsigned nforwarders;
	uint32_t cache_entries;	    /* cache-entries: per core (default 262144) */
	uint64_t cache_memory;	    /* cache-memory: bytes per core, K/M/G suffixes (default 64M) */
	uint32_t waiters;	    /* waiters: parked clients per core (default 4096) */
	uint64_t stale_window_ms;   /* serve-stale-window: default 1d, max 7d, 0 = off */
	uint64_t client_timeout_ms; /* serve-stale-client-timeout: default 1.8s */
	uint32_t stale_ttl;	    /* serve-stale-ttl: default 30s */
	uint32_t prefetch_pct;	    /* prefetch-percent: default 0 (off) */
	uint64_t failure_recheck_ms;  /* serve-stale-failure-recheck: default 30s */
	uint32_t failure_ttl;	      /* failure-ttl: default 5s, 1s..5m (RFC 9520) */
	uint32_t max_ttl;	      /* max-ttl: default 1d */
	uint32_t min_ttl;	      /* min-ttl: default 0 */
	uint32_t max_negative_ttl;    /* max-negative-ttl: default 1h */
	uint16_t edns_buffer_size;    /* edns-buffer-size: default 1232, 512..4096 */
	uint64_t upstream_timeout_ms; /* upstream-timeout: per attempt, default 1s */
	uint32_t fetches_per_zone;    /* fetches-per-zone: client resolutions in flight per zone,
					 0 = no limit (default) */
	uint32_t fetches_per_server;  /* fetches-per-server: queries in flight per forwarder,
					 0 = no limit (default) */
	uint32_t
		upstream_attempts; /* upstream-attempts: total tries across forwarders, default 3 */
	uint32_t control_threads;  /* control-threads: resolver threads, questions sharded by hash
				      (default 1) */
	uint32_t queues; /* queues: RX/TX queue pairs per port = workers (default: one per worker
			    lcore) */
	/* rss-key: the Toeplitz key the ports' RSS hashes with, len 0 = the
	 * PMD's own (docs/operations.md, "Cores and queues") */
	struct hf_rss_key {
		uint8_t key[HF_RSS_KEY_MAX];
		uint8_t len;
	} rss_key;
	uint32_t idle_sleep_us;	       /* idle-sleep: worker sleeps this long after idle-polls empty
					  polls (default 0) */
	uint32_t idle_polls;	       /* idle-polls: default 1024 */
	uint32_t idle_sleep_max_us;    /* idle-sleep-max: the back-off's bound (default 1000) */
	uint32_t burst;		       /* burst: RX burst size, default 32, max 64 */
	char control_socket[108];      /* control-socket: default /run/holdfast/control.sock */
	bool dnssec;		       /* dnssec: yes|no, validate answers (default yes) */
	char trust_anchor[256];	       /* trust-anchor: file; "" = built-in IANA root anchors */
	uint16_t nsec3_max_iterations; /* nsec3-max-iterations: default 50 (RFC 9276) */
	uint32_t dnssec_clock_skew;    /* dnssec-clock-skew: s, default 5m */
	uint32_t dnssec_key_cache;     /* dnssec-key-cache: entries, default 4096 */
	bool aggressive_nsec;	       /* aggressive-nsec: RFC 8198 synthesis, default yes */
	uint32_t aggr_nsec_entries;    /* aggressive-nsec-entries: NSECs kept, default 16384 */
	uint32_t aggr_core_records;    /* aggressive-nsec-core-records: per core, 4096 */
	char control_socket_group[64]; /* control-socket-group: "" = mode 0600, else 0660 */
	char nta_state_file[256];      /* nta-state-file: "" = NTAs are not persisted */
	char cache_snapshot[256];      /* cache-snapshot: "" = the cache is not kept (default) */
	char stats_textfile[256];      /* stats-textfile: Prometheus textfile, "" = off */
	uint64_t stats_textfile_ms;    /* stats-textfile-interval: default 15s */
	char nta[HF_NTA_MAX][300];     /* nta: NAME [LIFETIME [REASON]] (repeatable) */
	unsigned nntas;
	char exception_interface[16]; /* exception-interface: kernel interface, "" = no exception
					 path */
	bool xdp_exception;	      /* xdp-exception: the exception path is XDP_PASS to the port's
					 interface (net_af_xdp only) */
	bool tcp_service;	      /* tcp-service: DNS over TCP (default yes, with the path) */
	uint64_t tcp_idle_timeout_ms; /* tcp-idle-timeout: default 10s */
	uint32_t tcp_max_connections; /* tcp-max-connections: default 1024 */
	uint32_t tcp_max_per_client;  /* tcp-max-connections-per-client: default 64 */
	uint32_t tcp_max_pending;     /* tcp-max-pending: default 128 */
	char tls_certificate[256];    /* tls-certificate: PEM, "" = no DNS over TLS */
	char tls_key[256];	      /* tls-key: PEM */
	struct hf_acl_rule acl[HF_ACL_MAX]; /* access-control (repeatable) */
	unsigned nacl;
	uint32_t log_level;	  /* log-level: enum hf_log_level (common/hf_log.h), default info */
	uint32_t rrl_rate;	  /* rrl-rate: answers/s per client prefix per core, 0 = off */
	uint32_t rrl_slip;	  /* rrl-slip: every Nth limited answer TC=1, default 2 */
	uint32_t rrl_ipv4_prefix; /* rrl-ipv4-prefix: default 24 */
	uint32_t rrl_ipv6_prefix; /* rrl-ipv6-prefix: default 56 */
	uint32_t rrl_table;	  /* rrl-table-size: slots per core, default 65536 */
	/* cookie-secret: HEX or random; DNS server cookies on when set */
	struct hf_secret {
		uint8_t key[HF_COOKIE_SECRET_LEN];
		bool set;
	} cookie_secret;
	bool cookie_required; /* cookie-required: BADCOOKIE without a valid server cookie */
	/* Added fields (not config keys). */
	bool dump_config; /* --dump-config was given: print the config and exit */
};

void hf_config_defaults(struct hf_config *cfg);
/* Apply one setting; `where` ("holdfast.conf:12" or "--key") prefixes errors. */
int hf_config_set(struct hf_config *cfg, const char *key, const char *value, const char *where,
		  char *err, size_t errlen);
int hf_config_load(struct hf_config *cfg, const char *path, char *err, size_t errlen);
/*
 * Application arguments (after EAL's), applied in order: -c/--config FILE is
 * loaded where it appears, --KEY VALUE / --KEY=VALUE override what came
 * before, -h/--help prints usage.
 * Returns 0, 1 when help was printed, or an error with err set.
 */
int hf_config_args(struct hf_config *cfg, int argc, char **argv, char *err, size_t errlen);
/* Cross-field checks after everything is loaded (e.g. at least one service address). */
int hf_config_check(const struct hf_config *cfg, char *err, size_t errlen);
/* Parse "1.8s", "1800ms", "5m", "1h", "1d", "30" (seconds) to ms. */
int hf_parse_duration_ms(const char *s, uint64_t *ms);
/*
 * One NTA setting "NAME [LIFETIME [REASON...]]" (config key nta, and the
 * CLI's arguments): name to lower-case wire form, lifetime in seconds
 * (default 1h, 1s..1w), reason (may be empty). Returns 0 or HF_EINVAL with
 * the problem in err.
 */
int hf_config_parse_nta(const char *value, uint8_t *name, size_t *name_len, uint32_t *lifetime_s,
			char *reason, size_t reason_size, char *err, size_t errlen);
/* An NTA lifetime ("2m", "1h", "90"): 0 or HF_EINVAL with err set. */
int hf_config_parse_lifetime(const char *value, uint32_t *lifetime_s, char *err, size_t errlen);

/* A forwarder as ADDR@PORT (as the dump writes it). */
void hf_config_forwarder_str(const struct sockaddr_storage *ss, char *buf, size_t size);

/* Write the config in force in config-file form (for status / --dump-config). */
void hf_config_dump(const struct hf_config *cfg, char *buf, size_t size);

#endif
