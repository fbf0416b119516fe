/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast: the limits more than one module sizes its tables by. Each is
 * defined here once; a module that needs a related bound of its own ties
 * it to these with a static assert.
 */
#ifndef HF_LIMITS_H
#define HF_LIMITS_H

#define HF_MAX_WORKERS	     64	  /* worker lcores (one RX/TX queue pair each per port) */
#define HF_MAX_PORTS	     8	  /* DPDK ports */
#define HF_MAX_SERVICE_ADDRS 16	  /* service addresses per family */
#define HF_ACL_MAX	     1024 /* access-control rules */
#define HF_COOKIE_SECRET_LEN 16	  /* a DNS server cookie secret (RFC 9018: SipHash-2-4 key) */
#define HF_RSS_KEY_MAX	     52	  /* rss-key: the longest RSS hash key a port takes (bytes) */

/* What an access-control rule does with a client (longest prefix wins;
 * a client no rule covers is allowed). */
enum hf_acl_action { HF_ACL_ALLOW = 0, HF_ACL_REFUSE = 1, HF_ACL_DROP = 2 };
#define HF_MAX_FORWARDERS 8 /* upstream forwarders */
/* control-threads: threads that resolve misses; each worker has a ring to each */
#define HF_MAX_CTL_THREADS 8

#endif
