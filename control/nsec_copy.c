/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 8198 on the cores: control's copies of the kept NSECs
 * (control/hf_nsec_copy.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "common/hf_log.h"
#include "control/hf_nsec_copy.h"
#include "dns/hf_dns.h"
#include "validator/hf_aggr.h"

void hf_nsec_knobs(const struct hf_config *cfg, struct hf_msg_aggr *k)
{
	memset(k, 0, sizeof(*k));
	k->on = cfg->aggressive_nsec && cfg->aggr_core_records != 0;
	k->max_ttl = cfg->max_ttl;
	k->min_ttl = cfg->min_ttl;
	k->max_negative_ttl = cfg->max_negative_ttl;
}

/* An NTA at, above or below zone? */
static bool nta_near(const struct hf_nta_list *ntas, const uint8_t *zone, size_t zlen)
{
	for (unsigned i = 0; i < ntas->nntas; i++)
		if (hf_dns_name_on_path(zone, zlen, ntas->ntas[i].name, ntas->ntas[i].name_len))
			return true;
	return false;
}

struct hf_msg_ctl *hf_nsec_msg(const struct hf_config *cfg, uint64_t tsc_per_ms, const uint8_t *rec,
			       size_t len, bool is3)
{
	size_t size = sizeof(struct hf_msg_ctl) - sizeof(struct hf_dns_answer) + len;
	struct hf_msg_ctl *m;

	if (is3 || !cfg->aggressive_nsec || cfg->aggr_core_records == 0 || !hf_aggr_fits(len))
		return NULL; /* not for the cores: control keeps it alone */
	m = calloc(1, HF_MAX(size, sizeof(struct hf_msg_ctl)));
	if (m == NULL) {
		hf_log(HF_LOG_ERR, "control: out of memory for an NSEC copy");
		return NULL;
	}
	m->type = HF_MSG_NSEC;
	hf_nsec_knobs(cfg, &m->aggr);
	/* the record's times are control's time(NULL); the cores' clock is
	 * the TSC's: both instants, so each core can move them to its own */
	m->made_ms = tsc_per_ms ? rte_rdtsc() / tsc_per_ms : 0;
	m->aggr.wall_s = (uint64_t)time(NULL);
	m->aggr.rec_len = (uint32_t)len;
	memcpy(&m->ans, rec, len);
	return m;
}

int hf_nsec_send(struct hf_fanout *out, const struct hf_nta_list *ntas, const uint8_t *zone,
		 size_t zlen, struct hf_msg_ctl *m)
{
	if (out->nw == 0 || nta_near(ntas, zone, zlen)) {
		free(m);
		return 0;
	}
	out->st->nsec_copies++;
	return hf_fanout_send(out, m);
}

int hf_nsec_copy(struct hf_fanout *out, const struct hf_nta_list *ntas, const struct hf_config *cfg,
		 const uint8_t *zone, size_t zlen, const uint8_t *rec, size_t len, bool is3)
{
	struct hf_msg_ctl *m;

	if (out->nw == 0)
		return 0;
	m = hf_nsec_msg(cfg, out->tsc_per_ms, rec, len, is3);
	return m != NULL ? hf_nsec_send(out, ntas, zone, zlen, m) : 0;
}
