/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast common/: the counter descriptors (common/hf_counters.h). */
#include <stdio.h>

#include "common/hf_common.h"
#include "common/hf_counters.h"

const struct hf_counter_group_desc hf_counter_groups[HF_CG_COUNT] = {
	[HF_CG_NONE] = {.prom = ""},
	[HF_CG_DROPS] = {.json = "drops",
			 .prom = "drops_total",
			 .label = "reason",
			 .help = "Packets dropped, by reason."},
	[HF_CG_CONTROL] = {.prom = "control_", .parent = "control"},
	[HF_CG_VERDICT] = {.json = "validation",
			   .prom = "validations_total",
			   .label = "verdict",
			   .help = "DNSSEC validations, by verdict.",
			   .parent = "control"},
	[HF_CG_VALIDATION] = {.json = "validation", .prom = "validation_", .parent = "control"},
	[HF_CG_TRANSPORT] = {.json = "transport", .prom = "transport_"},
	[HF_CG_EXCEPTION] = {.json = "exception", .prom = "exception_"},
	[HF_CG_FETCH_LIMITED] = {.json = "fetch_limited",
				 .prom = "control_fetch_limited_total",
				 .label = "reason",
				 .help = "Questions answered SERVFAIL at once by a fetch limit, by "
					 "reason (fetches-per-zone, fetches-per-server).",
				 .parent = "control"},
};

#define HF_X(field, grp, nm, hlp) \
	{.name = nm, .help = hlp, .off = offsetof(HF_S, field), .group = grp},

#define HF_S struct hf_counters
const struct hf_counter_desc hf_worker_counters[] = {HF_WORKER_COUNTERS(HF_X)};
#undef HF_S
const size_t hf_worker_ncounters = HF_ARRAY_LEN(hf_worker_counters);

#define HF_S struct hf_control_stats
const struct hf_counter_desc hf_control_counters[] = {HF_CONTROL_COUNTERS(HF_X)};
#undef HF_S
const size_t hf_control_ncounters = HF_ARRAY_LEN(hf_control_counters);

#define HF_S struct hf_exc_counters
const struct hf_counter_desc hf_exception_counters[] = {HF_EXCEPTION_COUNTERS(HF_X)};
#undef HF_S
const size_t hf_exception_ncounters = HF_ARRAY_LEN(hf_exception_counters);
#undef HF_X

const char *hf_rcode_name(unsigned rcode)
{
	static const char *const n[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					"NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					"NXRRSET", "NOTAUTH", "NOTZONE"};
	if (rcode == 16)
		return "BADVERS";
	return rcode < HF_ARRAY_LEN(n) ? n[rcode] : NULL;
}

int hf_counters_line(char *buf, size_t size, const void *s, const struct hf_counter_desc *ds,
		     size_t n)
{
	size_t used = 0;
	int total = 0;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *g = hf_counter_groups[ds[i].group].json;
		int k = snprintf(buf + used, size - used, "%s%s%s%s %llu", i ? " " : "", g ? g : "",
				 g ? "." : "", ds[i].name,
				 (unsigned long long)hf_counter_get(s, &ds[i]));
		if (k < 0)
			return k;
		total += k;
		used = HF_MIN(used + (size_t)k, size ? size - 1 : 0);
	}
	return total;
}
