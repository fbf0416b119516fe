/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: the exception path. Frames for the service
 * addresses that the workers do not answer themselves (TCP, ICMP echo, UDP
 * to ports other than 53) go to the kernel through a TAP interface made
 * with DPDK's net_tap, which holds the service addresses; what the kernel
 * sends on it goes out of the port, and VLAN, its client came from.
 *
 * One exception thread (a plain pthread, not a worker) owns the tap port.
 * Each worker has two SPSC rings of mbuf pointers with it: exc_to (worker
 * produces: frames for the kernel) and exc_from (the thread produces:
 * frames from the kernel, which the worker sends on its own TX queue of
 * the port). A worker never touches the tap (its RX and TX are one
 * readv/writev system call per frame); a full ring is a counted drop.
 *
 * MACs: the kernel interface is NOARP (no ARP, no ND, no DAD), so the
 * kernel sends every frame to its own MAC. The exception thread learns,
 * from every frame it passes to the kernel, the client's source address
 * -> (port, source MAC, VLAN), and gives a frame from the kernel the MAC
 * and VLAN of its destination and the port's MAC as source: the answer
 * goes back to where the query came from, as the fast path's do (a
 * router's MAC for clients behind one). A frame from the kernel to an
 * address never seen is dropped and counted (no_neighbour).
 *
 * Start-up: hf_exc_init after hf_ports_init (main.c), hf_worker_init
 * takes its rings from conf->exc, hf_exc_fini before hf_ports_close.
 */
#ifndef HF_EXCEPTION_H
#define HF_EXCEPTION_H

#include <stdio.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/hf_dataplane.h"

/* frames one worker may have in flight to the kernel (its RX pool holds
 * them too: hf_ports_init adds this many per pool when the path is on) */
#define HF_EXC_RING 256

/*
 * Start-up: when conf->exc_ifname is set, make the tap (net_tap, kernel
 * interface conf->exc_ifname, NOARP, MTU of the smallest port), put every
 * service address on it (/32, /128), make one ring pair per worker
 * (conf->nb_queues) and start the exception thread; conf->exc is set.
 * Nothing when exc_ifname is "". 0, or -1 with err set (one line).
 */
int hf_exc_init(struct hf_dp_conf *conf, const struct hf_port *ports, unsigned nports, char *err,
		size_t errlen);
/* Give worker w its rings and its counters (hf_worker_init). */
void hf_exc_attach(struct hf_exc *x, struct hf_worker *w);
/* Stop the thread (the workers have stopped), print the path's counters
 * on f, close the tap. Safe when the path is off. */
void hf_exc_fini(struct hf_dp_conf *conf, FILE *f);
const struct hf_exc_counters *hf_exc_counters(const struct hf_exc *x);

/* Worker: one frame for the kernel (hf_worker_rx); out of line, so the
 * packet loop's code stays as it was without the path. */
void hf_exc_to_kernel(struct rte_ring *r, struct hf_counters *ctr, struct rte_mbuf *m);

/* Worker: frames from the kernel into w->tx[] (hf_worker_poll_once, before
 * hf_worker_flush); how many it took. */
unsigned hf_exc_worker_drain(struct hf_worker *w);

#endif
