/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: DNS over TCP (RFC 7766) and over TLS (RFC 7858) for
 * clients, on the service addresses (docs/architecture.md, "Transport").
 *
 * The kernel owns TCP: the exception path (hf_exception.h) gives it the
 * service addresses on a TAP interface, and this thread listens on them
 * with ordinary sockets (53, and 853 when a certificate is configured).
 *
 * The transport thread is a cache replica of its own, like a worker core:
 * control counts it as one more worker (the last index), sends it every
 * FILL, FLUSH, NTA, CONFIG and LOOKUP, and takes its misses from its own
 * ring. So TCP and TLS clients get the same answers as UDP ones (rcodes,
 * AD, EDE, serve-stale, NTAs) from the same code (cache/hf_reply.h), and
 * nothing on the UDP cores changes. It is a thread, not an lcore: it
 * sleeps in epoll_wait (1 ms at most, so control messages are applied
 * within a millisecond).
 *
 * Threads: everything here runs on the transport thread, but
 * hf_transport_tls_reload, which any thread may call (it hands the new
 * TLS context over through one atomic pointer).
 */
#ifndef HF_TRANSPORT_H
#define HF_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/hf_dataplane.h"

struct hf_transport_conf {
	bool tcp;		  /* serve port 53 over TCP */
	uint64_t idle_timeout_ms; /* tcp-idle-timeout */
	uint32_t max_conns;	  /* tcp-max-connections */
	uint32_t max_per_client;  /* tcp-max-connections-per-client */
	uint32_t max_pending;	  /* tcp-max-pending: queries waiting per connection */
	char tls_cert[256];	  /* tls-certificate: PEM, "" = no DNS over TLS */
	char tls_key[256];	  /* tls-key: PEM */
	uint16_t tcp_port, tls_port;
};

struct hf_transport;

/* Set up the replica (its cache, as big as a worker's), the listening
 * sockets on every service address and the TLS context. idx is its index
 * among control's workers; ring and shared are that index's. Start-up
 * only; one line in err on failure (a certificate's problem names the
 * file). */
struct hf_transport *hf_transport_create(const struct hf_transport_conf *tc,
					 const struct hf_dp_conf *dp, unsigned idx,
					 struct rte_ring *to_control, struct rte_ring *from_control,
					 struct hf_worker_shared *shared, volatile bool *stop,
					 char *err, size_t errlen);
/* Start its thread; it runs until *stop. */
int hf_transport_start(struct hf_transport *t, char *err, size_t errlen);
/* Wait for the thread (after *stop), then close everything. */
void hf_transport_destroy(struct hf_transport *t);

/* control-threads > 1: its rings to every control thread
 * (hf_worker_set_control), before the thread starts. */
void hf_transport_set_control(struct hf_transport *t, struct rte_ring *const *to_control,
			      unsigned n);
/* The replica's cache, for loading a snapshot before the thread starts. */
struct hf_cache *hf_transport_cache(struct hf_transport *t);

/* Load tls-certificate and tls-key again; new connections use them, open
 * ones keep theirs. Any thread. Returns 0, or an error with err set (the
 * old certificate stays). */
int hf_transport_tls_reload(struct hf_transport *t, char *err, size_t errlen);

/* OpenSSL server context for DNS over TLS (transport_tls.c). */
struct ssl_ctx_st;
struct ssl_ctx_st *hf_tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen);

#endif
