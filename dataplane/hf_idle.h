/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: when a worker sleeps on an idle port (idle-sleep,
 * idle-polls, idle-sleep-max; worker.c's loop).
 *
 * After `polls` empty polls in a row the worker sleeps `base` µs, then
 * polls 24 more times (fewer when polls is below 25) before the next
 * sleep. Each sleep that found nothing after it doubles the next one, up
 * to `max` µs, and once past `base` the worker polls only once between
 * sleeps: an idle port costs a wake-up and a poll per `max` µs instead of
 * 24 polls per `base`. The first packet, or a poll that did anything,
 * goes back to busy polling and to `base`. max == base is the loop as it
 * was before the back-off (docs/decisions.md, "An idle worker backs off
 * to idle-sleep-max").
 *
 * Pure logic, no DPDK: the loop asks after every poll how long to sleep.
 */
#ifndef HF_IDLE_H
#define HF_IDLE_H

#include <stdint.h>

struct hf_idle {
	uint32_t empty; /* empty polls in a row (or what stands for them after a sleep) */
	uint32_t polls; /* empty polls before the first sleep */
	uint32_t again; /* where `empty` restarts after a sleep of base: 24 polls */
	uint32_t base;	/* µs, 0: never sleep */
	uint32_t max;	/* µs, at least base */
	uint32_t next;	/* µs, the next sleep */
};

static inline void hf_idle_init(struct hf_idle *s, uint32_t base_us, uint32_t max_us,
				uint32_t polls)
{
	s->empty = 0;
	s->polls = polls ? polls : 1024;
	s->again = s->polls - (s->polls - 1 < 24u ? s->polls - 1 : 24u);
	s->base = base_us;
	s->max = max_us > base_us ? max_us : base_us;
	s->next = base_us;
}

/* After one poll that found `got` packets: how long to sleep now, in µs
 * (0: poll again at once). */
static inline uint32_t hf_idle_step(struct hf_idle *s, unsigned got)
{
	uint32_t us;
	if (got != 0 || s->base == 0) {
		s->empty = 0;
		s->next = s->base;
		return 0;
	}
	if (++s->empty < s->polls)
		return 0;
	us = s->next;
	s->next = us >= s->max / 2 ? s->max : 2 * us;
	/* a sleep of base: 24 polls before the next; deeper: one */
	s->empty = us == s->base ? s->again : s->polls - 1;
	return us;
}

#endif
