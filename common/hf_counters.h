/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast: every counter, defined once.
 *
 * Each table below is the one place a counter is declared. It generates
 * the struct field, and the descriptors (common/counters.c) from which the
 * stderr log line (main.c, control.c), the `holdfastctl stats` JSON and
 * text and the Prometheus families (control/mgmt_stats.c) are rendered.
 *
 * One name everywhere (docs/operations.md, "Counters"): a counter's name is
 * its JSON key, its word in the log line, and its Prometheus family
 * holdfast_<prefix><name>_total. A counter in a group sits in the group's
 * JSON object, is written group.name in the log line, and is one label
 * value of the group's Prometheus family when the group has a label
 * (holdfast_drops_total{reason="not_ours"}).
 *
 * X(field, group, name, help)
 */
#ifndef HF_COUNTERS_H
#define HF_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* Per worker core: only the worker writes them (struct hf_worker_shared). */
#define HF_WORKER_COUNTERS(X)                                                                    \
	X(rx_packets, HF_CG_NONE, "rx_packets", "Packets received by the worker core.")          \
	X(queries, HF_CG_NONE, "queries", "DNS queries parsed.")                                 \
	X(answers, HF_CG_NONE, "answers", "DNS answers sent.")                                   \
	X(hits_fresh, HF_CG_NONE, "hits_fresh", "Answers from fresh cached data.")               \
	X(hits_stale, HF_CG_NONE, "hits_stale",                                                  \
	  "Answers from stale cached data (RFC 8767, EDE 3 or 19).")                             \
	X(hits_failure, HF_CG_NONE, "hits_failure", "Answers from a cached failure.")            \
	X(misses, HF_CG_NONE, "misses", "Questions sent to the control plane (MISS).")           \
	X(refreshes, HF_CG_NONE, "refreshes", "Cached entries sent for renewal (REFRESH).")      \
	X(parked, HF_CG_NONE, "parked", "Clients parked to wait for the control plane.")         \
	X(servfail_timeout, HF_CG_NONE, "servfail_timeout",                                      \
	  "Parked clients answered SERVFAIL after waiting too long.")                            \
	X(truncated, HF_CG_NONE, "truncated", "Answers sent with TC=1.")                         \
	X(fills, HF_CG_NONE, "fills", "FILL messages applied to the core's cache.")              \
	X(synth_nxdomain, HF_CG_NONE, "synth_nxdomain",                                          \
	  "NXDOMAIN answers the core synthesized from its copy of validated NSECs (RFC 8198).")  \
	X(synth_nodata, HF_CG_NONE, "synth_nodata",                                              \
	  "NODATA answers the core synthesized from its copy of validated NSECs (RFC 8198).")    \
	X(nsec_copies, HF_CG_NONE, "nsec_copies",                                                \
	  "Validated NSEC records copied into the core's store (HF_MSG_NSEC).")                  \
	X(fetch_limited_zone, HF_CG_NONE, "fetch_limited_zone",                                  \
	  "Misses the core answered SERVFAIL itself: their zone was at fetches-per-zone.")       \
	X(cache_evictions, HF_CG_NONE, "cache_evictions",                                        \
	  "Cache entries evicted to make room (cache-entries or cache-memory full).")            \
	X(formerr, HF_CG_NONE, "formerr_answers", "FORMERR answers to malformed queries.")       \
	X(notimp, HF_CG_NONE, "notimp_answers", "NOTIMP answers (opcode not QUERY).")            \
	X(refused, HF_CG_NONE, "refused_answers", "REFUSED answers (class, qtype or RD).")       \
	X(badvers, HF_CG_NONE, "badvers_answers", "BADVERS answers (EDNS version above 0).")     \
	X(rrl_slipped, HF_CG_NONE, "rrl_slipped",                                                \
	  "Answers sent empty with TC=1 by response rate limiting (rrl-slip).")                  \
	X(acl_refused, HF_CG_NONE, "acl_refused",                                                \
	  "REFUSED answers (EDE 18, Prohibited) to clients access-control refuses.")             \
	X(cookies, HF_CG_NONE, "cookies",                                                        \
	  "Queries with a DNS COOKIE option while cookies are on (cookie-secret).")              \
	X(cookies_valid, HF_CG_NONE, "cookies_valid",                                            \
	  "Of those: a valid server cookie of ours (exempt from rrl-rate).")                     \
	X(cookies_invalid, HF_CG_NONE, "cookies_invalid",                                        \
	  "Of those: a server cookie not ours, of another form, or out of its time window.")     \
	X(badcookie, HF_CG_NONE, "badcookie_answers",                                            \
	  "BADCOOKIE answers (extended rcode 23) with a server cookie to retry with.")           \
	X(arp_replies, HF_CG_NONE, "arp_replies", "ARP replies sent for the service addresses.") \
	X(nd_replies, HF_CG_NONE, "nd_replies",                                                  \
	  "Neighbour advertisements sent for the service addresses.")                            \
	X(exc_to_kernel, HF_CG_NONE, "exception_to_kernel",                                      \
	  "Frames for the service addresses handed to the kernel (exception-interface).")        \
	X(exc_from_kernel, HF_CG_NONE, "exception_from_kernel",                                  \
	  "Frames from the kernel sent out of the port (exception-interface).")                  \
	X(idle_sleeps, HF_CG_NONE, "idle_sleeps",                                                \
	  "Times the core slept on an idle port (idle-sleep, backing off to idle-sleep-max).")   \
	X(slow_passes, HF_CG_NONE, "slow_passes",                                                \
	  "Passes of the core's loop that took 10 ms or more (stuck in a driver, or not run).")  \
	X(tx_backlog, HF_CG_NONE, "tx_backlog",                                                  \
	  "Polls of a port skipped: its TX queue still held a burst's worth of unsent answers.") \
	X(drop_not_ip, HF_CG_DROPS, "not_ip", "Frames neither IPv4, IPv6 nor ARP.")              \
	X(drop_not_ours, HF_CG_DROPS, "not_ours",                                                \
	  "Packets not UDP to port 53 of a service address.")                                    \
	X(drop_malformed_l3, HF_CG_DROPS, "malformed_l3", "Bad IP or UDP header or lengths.")    \
	X(drop_fragment, HF_CG_DROPS, "fragment", "IP fragments.")                               \
	X(drop_bad_cksum, HF_CG_DROPS, "bad_cksum", "Packets the port found a bad checksum in.") \
	X(drop_dns_header, HF_CG_DROPS, "dns_header", "DNS header too short, or QR=1.")          \
	X(drop_ring_full, HF_CG_DROPS, "ring_full", "MISS or REFRESH the ring to control lost.") \
	X(drop_tx_full, HF_CG_DROPS, "tx_full", "Answers the port's TX queue had no room for.")  \
	X(park_full, HF_CG_DROPS, "park_full",                                                   \
	  "Misses refused parking (waiter limits), answered SERVFAIL EDE 0.")                    \
	X(drop_bad_source, HF_CG_DROPS, "bad_source",                                            \
	  "From a source an answer must never go to (broadcast, multicast, loopback, ours).")    \
	X(drop_bad_l2, HF_CG_DROPS, "bad_l2",                                                    \
	  "From a group MAC, or to another host's unicast MAC.")                                 \
	X(drop_rrl, HF_CG_DROPS, "rrl",                                                          \
	  "Answers not sent: the client's prefix was over rrl-rate on the core.")                \
	X(drop_acl, HF_CG_DROPS, "acl",                                                          \
	  "Queries (and TCP/TLS connections) from clients access-control drops.")                \
	X(exc_drop, HF_CG_DROPS, "exception_full",                                               \
	  "Frames for or from the kernel lost to a full exception ring or TX queue.")            \
	X(tcp_accepted, HF_CG_TRANSPORT, "tcp_accepted", "DNS-over-TCP connections accepted.")   \
	X(tls_accepted, HF_CG_TRANSPORT, "tls_accepted", "DNS-over-TLS connections accepted.")   \
	X(conn_refused, HF_CG_TRANSPORT, "refused_limit",                                        \
	  "Connections closed at once: tcp-max-connections reached.")                            \
	X(conn_refused_client, HF_CG_TRANSPORT, "refused_client_limit",                          \
	  "Connections closed at once: tcp-max-connections-per-client reached.")                 \
	X(conn_timeout, HF_CG_TRANSPORT, "closed_timeout",                                       \
	  "Connections closed by tcp-idle-timeout (idle, slow or silent clients).")              \
	X(conn_malformed, HF_CG_TRANSPORT, "closed_malformed",                                   \
	  "Connections closed for bad framing: length 0, too long, QR=1 or a short header.")     \
	X(conn_closed, HF_CG_TRANSPORT, "closed_by_client", "Connections the client closed.")    \
	X(tcp_queries, HF_CG_TRANSPORT, "tcp_queries", "DNS messages received over TCP.")        \
	X(tls_queries, HF_CG_TRANSPORT, "tls_queries", "DNS messages received over TLS.")        \
	X(tcp_answers, HF_CG_TRANSPORT, "tcp_answers", "DNS answers sent over TCP.")             \
	X(tls_answers, HF_CG_TRANSPORT, "tls_answers", "DNS answers sent over TLS.")             \
	X(tls_handshakes, HF_CG_TRANSPORT, "tls_handshakes", "TLS handshakes completed.")        \
	X(tls_resumed, HF_CG_TRANSPORT, "tls_resumed", "Of those: sessions resumed.")            \
	X(tls_failures, HF_CG_TRANSPORT, "tls_handshake_failures",                               \
	  "TLS handshakes that failed or timed out.")

/* The control thread's (struct hf_control_stats). */
#define HF_CONTROL_COUNTERS(X)                                                                     \
	X(requests, HF_CG_CONTROL, "requests", "MISS and REFRESH messages taken from the rings.")  \
	X(bad_requests, HF_CG_CONTROL, "bad_requests", "Requests with a malformed key (ignored).") \
	X(coalesced, HF_CG_CONTROL, "coalesced", "Requests for a question already in flight.")     \
	X(resolutions, HF_CG_CONTROL, "resolutions", "Resolutions started.")                       \
	X(upstream_queries, HF_CG_CONTROL, "upstream_queries",                                     \
	  "Queries sent to forwarders (UDP and TCP).")                                             \
	X(responses, HF_CG_CONTROL, "responses", "Upstream responses accepted.")                   \
	X(timeouts, HF_CG_CONTROL, "timeouts", "Upstream attempts that timed out.")                \
	X(tcp_retries, HF_CG_CONTROL, "tcp_retries", "TC=1 upstream answers retried over TCP.")    \
	X(mismatched, HF_CG_CONTROL, "mismatched",                                                 \
	  "Upstream responses dropped: unparsable, wrong ID or question.")                         \
	X(case_mismatched, HF_CG_CONTROL, "case_mismatched",                                       \
	  "Of those: our ID and question, not our 0x20 case.")                                     \
	X(cookie_mismatched, HF_CG_CONTROL, "cookie_mismatched",                                   \
	  "Of those: a COOKIE not ours, or malformed.")                                            \
	X(upstream_errors, HF_CG_CONTROL, "upstream_errors",                                       \
	  "Upstream attempts lost to socket errors (refused, unreachable).")                       \
	X(icmp_errors, HF_CG_CONTROL, "icmp_errors",                                               \
	  "ICMP errors on upstream UDP sockets (waited past).")                                    \
	X(upstream_sockets, HF_CG_CONTROL, "upstream_sockets",                                     \
	  "UDP sockets opened for upstream queries (each carries up to 16, one at a time).")       \
	X(rcode_errors, HF_CG_CONTROL, "rcode_errors",                                             \
	  "Upstream attempts answered SERVFAIL, REFUSED, FORMERR or the like.")                    \
	X(failures, HF_CG_CONTROL, "failures", "Resolutions that ended in a failure answer.")      \
	X(overloaded, HF_CG_CONTROL, "overloaded",                                                 \
	  "Requests answered \"resolver overloaded\" (in-flight table full).")                     \
	X(fetch_limited_zone, HF_CG_FETCH_LIMITED, "zone",                                         \
	  "Questions answered SERVFAIL at once: their zone had fetches-per-zone in flight.")       \
	X(fetch_limited_server, HF_CG_FETCH_LIMITED, "server",                                     \
	  "Questions answered SERVFAIL at once: every forwarder had fetches-per-server in "        \
	  "flight.")                                                                               \
	X(fills, HF_CG_CONTROL, "fills", "FILL messages sent to the workers.")                     \
	X(broadcasts, HF_CG_CONTROL, "broadcasts", "Control messages sent to the workers.")        \
	X(nsec_copies, HF_CG_CONTROL, "nsec_copies",                                               \
	  "Validated NSEC records sent to the workers' stores (aggressive-nsec-core-records).")    \
	X(backlogged, HF_CG_CONTROL, "backlogged", "Enqueues deferred by a full worker ring.")     \
	X(val_secure, HF_CG_VERDICT, "secure", "DNSSEC validations that ended secure.")            \
	X(val_insecure, HF_CG_VERDICT, "insecure", "DNSSEC validations that ended insecure.")      \
	X(val_bogus, HF_CG_VERDICT, "bogus", "DNSSEC validations that ended bogus.")               \
	X(val_indeterminate, HF_CG_VERDICT, "indeterminate",                                       \
	  "DNSSEC validations that ended indeterminate.")                                          \
	X(val_subqueries, HF_CG_VALIDATION, "subqueries", "DS and DNSKEY sub-queries started.")    \
	X(synth_nxdomain, HF_CG_VALIDATION, "synth_nxdomain",                                      \
	  "NXDOMAIN answers synthesized from validated NSEC records (RFC 8198).")                  \
	X(synth_nodata, HF_CG_VALIDATION, "synth_nodata",                                          \
	  "NODATA answers synthesized from validated NSEC records (RFC 8198).")                    \
	X(val_fetch_failures, HF_CG_VALIDATION, "fetch_failures",                                  \
	  "Sub-queries that got no answer at all.")

/* The exception thread's (struct hf_exc_counters, dataplane/exception.c). */
#define HF_EXCEPTION_COUNTERS(X)                                                                   \
	X(to_kernel, HF_CG_EXCEPTION, "tap_written", "Frames written to the exception interface.") \
	X(from_kernel, HF_CG_EXCEPTION, "tap_read", "Frames read from the exception interface.")   \
	X(tap_full, HF_CG_EXCEPTION, "tap_full",                                                   \
	  "Frames for the kernel the interface did not take (dropped).")                           \
	X(worker_full, HF_CG_EXCEPTION, "worker_full",                                             \
	  "Frames from the kernel lost to a worker's full ring.")                                  \
	X(no_neighbour, HF_CG_EXCEPTION, "no_neighbour",                                           \
	  "Frames from the kernel to an address no client frame came from (dropped).")             \
	X(kernel_other, HF_CG_EXCEPTION, "kernel_other",                                           \
	  "Frames from the kernel that are multicast or not IP: MLD, router solicitations "        \
	  "(dropped).")                                                                            \
	X(cksum_fixed, HF_CG_EXCEPTION, "cksum_fixed",                                             \
	  "TCP and UDP checksums completed before the kernel saw the frame.")                      \
	X(idle_sleeps, HF_CG_EXCEPTION, "idle_sleeps", "Times the exception thread slept idle.")

/* Where a counter sits: JSON object, log-line prefix, Prometheus family. */
enum hf_counter_group {
	HF_CG_NONE,	  /* worker, top level: holdfast_<name>_total{core} */
	HF_CG_DROPS,	  /* worker "drops": holdfast_drops_total{core,reason} */
	HF_CG_CONTROL,	  /* "control": holdfast_control_<name>_total */
	HF_CG_VERDICT,	  /* "control"."validation": holdfast_validations_total{verdict} */
	HF_CG_VALIDATION, /* "control"."validation": holdfast_validation_<name>_total */
	HF_CG_TRANSPORT,  /* worker "transport": holdfast_transport_<name>_total{core} */
	HF_CG_EXCEPTION,  /* "exception": holdfast_exception_<name>_total */
	/* "control"."fetch_limited": holdfast_control_fetch_limited_total{reason} */
	HF_CG_FETCH_LIMITED,
	HF_CG_COUNT
};

struct hf_counter_group_desc {
	const char *json;   /* object within its parent; NULL: none */
	const char *prom;   /* with label: the family; else the prefix of <name>_total */
	const char *label;  /* NULL: one family per counter */
	const char *help;   /* the labelled family's help */
	const char *parent; /* the enclosing JSON object ("control"), NULL: top */
};

struct hf_counter_desc {
	const char *name;
	const char *help;
	size_t off; /* of the uint64_t in its struct */
	uint8_t group;
};

#define HF_RCODE_COUNTED 6  /* answers by rcode 0..5 (struct hf_counters.rcode) */
#define HF_EDE_COUNTED	 32 /* by EDE info code < 32 */

/* Per-worker counters: only the worker writes them. */
struct hf_counters {
#define HF_X(field, group, name, help) uint64_t field;
	HF_WORKER_COUNTERS(HF_X)
#undef HF_X
	uint64_t rcode[HF_RCODE_COUNTED]; /* answers by rcode */
	uint64_t ede[HF_EDE_COUNTED];	  /* answers sent with each EDE info code */
};

/* The exception thread's: only that thread writes them (plain 64-bit
 * stores, read by control as struct hf_counters are). */
struct hf_exc_counters {
#define HF_X(field, group, name, help) uint64_t field;
	HF_EXCEPTION_COUNTERS(HF_X)
#undef HF_X
};

struct hf_control_stats {
#define HF_X(field, group, name, help) uint64_t field;
	HF_CONTROL_COUNTERS(HF_X)
#undef HF_X
	uint64_t val_ede[HF_EDE_COUNTED]; /* validations by the EDE they ended with */
	/* gauges, filled in by hf_control_get_stats */
	uint64_t in_flight;    /* resolutions in flight now */
	uint64_t msgs_pending; /* messages sent but not yet applied everywhere */
};

extern const struct hf_counter_group_desc hf_counter_groups[HF_CG_COUNT];
extern const struct hf_counter_desc hf_worker_counters[];
extern const size_t hf_worker_ncounters;
extern const struct hf_counter_desc hf_control_counters[];
extern const struct hf_counter_desc hf_exception_counters[];
extern const size_t hf_exception_ncounters;
extern const size_t hf_control_ncounters;

static inline uint64_t hf_counter_get(const void *s, const struct hf_counter_desc *d)
{
	return *(const uint64_t *)(const void *)((const char *)s + d->off);
}

/* "NOERROR" .. "NOTZONE", "BADVERS"; NULL for the others. */
const char *hf_rcode_name(unsigned rcode);

/* name value pairs of every counter in ds (group.name for a group's),
 * space-separated, into buf; returns what snprintf would. */
int hf_counters_line(char *buf, size_t size, const void *s, const struct hf_counter_desc *ds,
		     size_t n);

#endif
