/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast dataplane/: the access list (hf_acl.h). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "dataplane/hf_acl.h"

struct hf_acl *hf_acl_create(char *err, size_t errlen)
{
	struct hf_acl *a = calloc(1, sizeof(*a));
	if (a == NULL)
		snprintf(err, errlen, "access-control: out of memory");
	return a;
}

int hf_acl_add(struct hf_acl *a, int family, const uint8_t *addr, unsigned plen,
	       enum hf_acl_action action, char *err, size_t errlen)
{
	int rc;
	/* a /0 rule is the default route of the table: depth 0 is not a
	 * prefix rte_lpm takes, so it is two /1 halves */
	if (plen == 0) {
		uint8_t half[16] = {0};
		if (hf_acl_add(a, family, half, 1, action, err, errlen) != 0)
			return -1;
		half[0] = 0x80;
		return hf_acl_add(a, family, half, 1, action, err, errlen);
	}
	if (family == AF_INET) {
		uint32_t ip;
		if (a->v4 == NULL) {
			struct rte_lpm_config c = {.max_rules = HF_ACL_MAX, .number_tbl8s = 256};
			a->v4 = rte_lpm_create("hf_acl4", SOCKET_ID_ANY, &c);
			if (a->v4 == NULL)
				goto nomem;
		}
		memcpy(&ip, addr, 4);
		rc = rte_lpm_add(a->v4, rte_be_to_cpu_32(ip), (uint8_t)plen, action);
	} else {
		if (a->v6 == NULL) {
			struct rte_lpm6_config c = {.max_rules = HF_ACL_MAX, .number_tbl8s = 4096};
			a->v6 = rte_lpm6_create("hf_acl6", SOCKET_ID_ANY, &c);
			if (a->v6 == NULL)
				goto nomem;
		}
		rc = rte_lpm6_add(a->v6, addr, (uint8_t)plen, action);
	}
	if (rc != 0) {
		snprintf(err, errlen, "access-control: cannot add a rule: %s (raise -m?)",
			 rte_strerror(-rc));
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "access-control: cannot create the table: %s (raise -m?)",
		 rte_strerror(rte_errno));
	return -1;
}

void hf_acl_free(struct hf_acl *a)
{
	if (a == NULL)
		return;
	rte_lpm_free(a->v4);
	rte_lpm6_free(a->v6);
	free(a);
}
