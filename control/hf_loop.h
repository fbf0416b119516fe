/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the control thread's event loop. It owns one epoll
 * set and one min-heap of timers; the parts of control (the forwarder, the
 * management socket) register their descriptors and timers with handlers
 * of their own, and the loop calls them back. Control thread only.
 *
 * A handler or a timer is embedded in its owner's struct (container_of
 * finds the owner), so the loop allocates nothing per event.
 */
#ifndef HF_LOOP_H
#define HF_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define hf_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct hf_handler {
	/* events: the epoll events that are ready */
	void (*fn)(struct hf_handler *h, uint32_t events, uint64_t now_ms);
};

struct hf_timer {
	void (*fn)(struct hf_timer *t, uint64_t now_ms); /* called once, disarmed */
	uint64_t deadline_ms;
	uint32_t idx; /* in the heap; HF_TIMER_OFF when not armed */
};

#define HF_TIMER_OFF UINT32_MAX

struct hf_loop {
	int epfd;
	struct hf_timer **heap;
	uint32_t n, cap;
};

/* cap: timers armed at once at most. 0 or an error with err set. */
int hf_loop_init(struct hf_loop *l, uint32_t cap, char *err, size_t errlen);
void hf_loop_fini(struct hf_loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT...) with h; change; stop. 0 or -1 (errno). */
int hf_loop_add(struct hf_loop *l, int fd, uint32_t events, struct hf_handler *h);
int hf_loop_mod(struct hf_loop *l, int fd, uint32_t events, struct hf_handler *h);
void hf_loop_del(struct hf_loop *l, int fd);

static inline void hf_timer_init(struct hf_timer *t, void (*fn)(struct hf_timer *, uint64_t))
{
	t->fn = fn;
	t->deadline_ms = 0;
	t->idx = HF_TIMER_OFF;
}
static inline bool hf_timer_armed(const struct hf_timer *t)
{
	return t->idx != HF_TIMER_OFF;
}
/* Arm (or move) t to fire at deadline_ms. HF_EFULL past the loop's cap. */
int hf_timer_set(struct hf_loop *l, struct hf_timer *t, uint64_t deadline_ms);
void hf_timer_stop(struct hf_loop *l, struct hf_timer *t);

/*
 * One pass: wait for descriptors up to timeout_ms (less if a timer is due
 * sooner; 0: do not wait; < 0: until a descriptor or the next timer), call the handlers of those
 * that are ready, then every timer whose deadline has passed. Returns how many handlers and timers
 * ran.
 */
unsigned hf_loop_run(struct hf_loop *l, int timeout_ms);

#endif
