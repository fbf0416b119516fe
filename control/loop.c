/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast control/: the event loop (control/hf_loop.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/hf_common.h"
#include "control/hf_control.h"
#include "control/hf_loop.h"

#define HF_LOOP_EVENTS 256

int hf_loop_init(struct hf_loop *l, uint32_t cap, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->heap = calloc(cap ? cap : 1, sizeof(*l->heap));
	l->cap = cap;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->heap == NULL || l->epfd < 0) {
		int rc = l->heap == NULL ? HF_ENOMEM : HF_EIO;
		snprintf(err, errlen, "control: %s",
			 l->heap == NULL ? "out of memory" : strerror(errno));
		hf_loop_fini(l);
		return hf_error(rc);
	}
	return 0;
}

void hf_loop_fini(struct hf_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->heap);
	memset(l, 0, sizeof(*l));
	l->epfd = -1;
}

int hf_loop_add(struct hf_loop *l, int fd, uint32_t events, struct hf_handler *h)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int hf_loop_mod(struct hf_loop *l, int fd, uint32_t events, struct hf_handler *h)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void hf_loop_del(struct hf_loop *l, int fd)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- timers: a binary min-heap by deadline ---- */

static void heap_swap(struct hf_loop *l, uint32_t a, uint32_t b)
{
	struct hf_timer *t = l->heap[a];
	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->idx = a;
	l->heap[b]->idx = b;
}

static void heap_up(struct hf_loop *l, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (l->heap[p]->deadline_ms <= l->heap[i]->deadline_ms)
			break;
		heap_swap(l, i, p);
		i = p;
	}
}

static void heap_down(struct hf_loop *l, uint32_t i)
{
	for (;;) {
		uint32_t a = 2 * i + 1, b = a + 1, m = i;
		if (a < l->n && l->heap[a]->deadline_ms < l->heap[m]->deadline_ms)
			m = a;
		if (b < l->n && l->heap[b]->deadline_ms < l->heap[m]->deadline_ms)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

int hf_timer_set(struct hf_loop *l, struct hf_timer *t, uint64_t deadline_ms)
{
	t->deadline_ms = deadline_ms;
	if (t->idx == HF_TIMER_OFF) {
		if (l->n == l->cap)
			return hf_error(HF_EFULL);
		t->idx = l->n;
		l->heap[l->n++] = t;
		heap_up(l, t->idx);
	} else {
		heap_up(l, t->idx);
		heap_down(l, t->idx);
	}
	return 0;
}

void hf_timer_stop(struct hf_loop *l, struct hf_timer *t)
{
	uint32_t i = t->idx;
	if (i == HF_TIMER_OFF)
		return;
	t->idx = HF_TIMER_OFF;
	if (i != --l->n) {
		struct hf_timer *moved = l->heap[l->n];
		l->heap[i] = moved;
		moved->idx = i;
		heap_up(l, i);
		heap_down(l, moved->idx);
	}
}

unsigned hf_loop_run(struct hf_loop *l, int timeout_ms)
{
	struct epoll_event ev[HF_LOOP_EVENTS];
	unsigned done = 0;
	uint64_t now;
	int n;

	if (timeout_ms != 0 && l->n != 0) { /* < 0: no limit but the next deadline */
		now = hf_control_now_ms();
		if (l->heap[0]->deadline_ms <= now)
			timeout_ms = 0;
		else if (timeout_ms < 0 || l->heap[0]->deadline_ms - now < (uint64_t)timeout_ms)
			timeout_ms =
				(int)HF_MIN(l->heap[0]->deadline_ms - now, (uint64_t)INT32_MAX);
	}
	n = epoll_wait(l->epfd, ev, HF_LOOP_EVENTS, timeout_ms);
	now = hf_control_now_ms();
	for (int i = 0; i < n; i++) {
		struct hf_handler *h = ev[i].data.ptr;
		h->fn(h, ev[i].events, now);
		done++;
	}
	while (l->n != 0 && l->heap[0]->deadline_ms <= now) {
		struct hf_timer *t = l->heap[0];
		hf_timer_stop(l, t);
		t->fn(t, now);
		done++;
	}
	return done;
}
