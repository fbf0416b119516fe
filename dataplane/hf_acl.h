/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: the access list (access-control): client prefixes
 * allowed, refused (REFUSED with EDE 18, Prohibited) or dropped, longest
 * prefix first, everyone else allowed. DPDK's LPM tables (rte_lpm for
 * IPv4, rte_lpm6 for IPv6), built at start-up and read-only after: every
 * worker and the transport read the same tables without locks.
 */
#ifndef HF_ACL_H
#define HF_ACL_H

#include <stdint.h>
#include <stddef.h>

#include <rte_byteorder.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "common/hf_limits.h"

struct hf_acl {
	struct rte_lpm *v4;  /* NULL: no IPv4 rule */
	struct rte_lpm6 *v6; /* NULL: no IPv6 rule */
};

/* An empty list (HF_ACL_MAX rules at most); NULL with err set. Start-up only. */
struct hf_acl *hf_acl_create(char *err, size_t errlen);
/* family AF_INET (addr: 4 bytes) or AF_INET6 (16), network byte order. */
int hf_acl_add(struct hf_acl *a, int family, const uint8_t *addr, unsigned plen,
	       enum hf_acl_action action, char *err, size_t errlen);
void hf_acl_free(struct hf_acl *a);

static inline enum hf_acl_action hf_acl_v4(const struct hf_acl *a, uint32_t addr_be)
{
	uint32_t nh;
	if (a->v4 == NULL || rte_lpm_lookup(a->v4, rte_be_to_cpu_32(addr_be), &nh) != 0)
		return HF_ACL_ALLOW;
	return (enum hf_acl_action)nh;
}

static inline enum hf_acl_action hf_acl_v6(const struct hf_acl *a, const uint8_t *addr)
{
	uint32_t nh;
	if (a->v6 == NULL || rte_lpm6_lookup(a->v6, addr, &nh) != 0)
		return HF_ACL_ALLOW;
	return (enum hf_acl_action)nh;
}

#endif
