/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast: start-up and shut-down. Usage:
 *   holdfast [EAL options] -- [-c FILE] [--KEY VALUE ...]
 * Configuration errors are reported before DPDK starts. The main lcore
 * runs the control thread (and starts the other control threads of
 * control-threads N); every other lcore runs a worker (one RX/TX
 * queue pair per port). With a single lcore, the worker takes the main
 * lcore and control runs in an ordinary thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "common/hf_log.h"
#include "control/hf_config.h"
#include "control/hf_control.h"
#include "dataplane/hf_acl.h"
#include "control/hf_snapshot.h"
#include "dataplane/hf_dataplane.h"
#include "dataplane/hf_exception.h"
#include "dataplane/hf_transport.h"

#define RING_SIZE 4096

static volatile bool stop;
static struct hf_control *ctl;
static struct hf_worker_shared *shared[HF_MAX_WORKERS];
static unsigned nworkers;
static struct hf_transport *transport; /* DNS over TCP/TLS: control's last "worker" */
static struct hf_acl *acl;	       /* access-control, NULL without rules */
static unsigned nctl = 1;	       /* control-threads */
/* each worker's (and the transport's) ring to each control thread */
static struct rte_ring *ctl_in[HF_MAX_WORKERS][HF_MAX_CTL_THREADS];

static void print_counters(FILE *f)
{
	char line[4096];
	for (unsigned i = 0; i < nworkers + (transport != NULL ? 1 : 0); i++) {
		const struct hf_counters *c = &shared[i]->ctr;
		size_t n = 0;
		hf_counters_line(line, sizeof(line), c, hf_worker_counters, hf_worker_ncounters);
		n = strlen(line);
		for (unsigned r = 0; r < HF_ARRAY_LEN(c->rcode) && n < sizeof(line); r++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, " rcode.%s %llu",
					      hf_rcode_name(r), (unsigned long long)c->rcode[r]);
		fprintf(f, "holdfast: %s %u: waiters %llu %s\n",
			i < nworkers ? "worker" : "transport", i,
			(unsigned long long)shared[i]->waiters, line);
	}
	fflush(f);
}

/* SIGINT/SIGTERM stop; SIGUSR1 prints the per-core counters; SIGHUP (the
 * reload signal of systemd's ExecReload and of every resolver) asks control
 * to read the configuration again (holdfastctl reload does the same). */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	for (;;) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			hf_log(HF_LOG_NOTICE, "SIGHUP: reloading the configuration");
			hf_control_request_reload(ctl);
			continue;
		}
		if (sig == SIGUSR1) {
			print_counters(stderr);
			/* control prints its own line from its thread */
			hf_control_request_stats(ctl);
			continue;
		}
		hf_log(HF_LOG_NOTICE, "signal %d, stopping", sig);
		stop = true;
		return NULL;
	}
}

/*
 * An answer must fit the link: the largest UDP answer (edns-buffer-size)
 * becomes at most the smallest port MTU less an IPv6 and a UDP header, so
 * a larger one goes out with TC=1 (and the client retries over TCP)
 * instead of being dropped by the link with nothing counted.
 */
static void cap_answers_at_mtu(struct hf_dp_conf *dp, const struct hf_port *ports, unsigned nports)
{
	for (unsigned p = 0; p < nports; p++) {
		uint16_t mtu = 0;
		unsigned room;
		if (rte_eth_dev_get_mtu(ports[p].port_id, &mtu) != 0 || mtu <= 48 + 512)
			continue;
		room = mtu - 48u; /* IPv6 40 + UDP 8 */
		if (dp->edns_buffer_size > room) {
			hf_log(HF_LOG_WARNING,
			       "edns-buffer-size %u does not fit port %u's MTU %u: UDP "
			       "answers are at most %u bytes (larger ones TC=1)",
			       dp->edns_buffer_size, ports[p].port_id, mtu, room);
			dp->edns_buffer_size = (uint16_t)room;
		}
	}
}

static void fail(const char *msg)
{
	hf_log(HF_LOG_ERR, "%s", msg);
	if (ctl != NULL) /* no worker runs yet: removes the control socket */
		hf_control_destroy(ctl);
	exit(EXIT_FAILURE);
}

/* The rings and shared counters of control's worker w: to_control[w] to
 * control thread 0, ctl_in[w][t] to each (ctl_in[w][0] the same ring). */
static int rings_for(unsigned w, struct rte_ring **to_control, struct rte_ring **to_worker)
{
	char name[32];
	snprintf(name, sizeof(name), "hf_to_ctl_%u", w);
	to_control[w] = rte_ring_create_elem(name, sizeof(struct hf_msg_query), RING_SIZE,
					     rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	ctl_in[w][0] = to_control[w];
	for (unsigned t = 1; t < nctl; t++) {
		snprintf(name, sizeof(name), "hf_to_ctl_%u_%u", w, t);
		ctl_in[w][t] = rte_ring_create_elem(name, sizeof(struct hf_msg_query), RING_SIZE,
						    rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (ctl_in[w][t] == NULL)
			return -1;
	}
	snprintf(name, sizeof(name), "hf_to_wrk_%u", w);
	to_worker[w] =
		rte_ring_create(name, RING_SIZE, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	shared[w] = rte_zmalloc("hf_shared", sizeof(struct hf_worker_shared), RTE_CACHE_LINE_SIZE);
	return to_control[w] && to_worker[w] && shared[w] ? 0 : -1;
}

/* access-control's tables (read-only once the workers run). */
static struct hf_acl *acl_create(const struct hf_config *cfg)
{
	char err[256];
	struct hf_acl *a = hf_acl_create(err, sizeof(err));
	if (a == NULL)
		fail(err);
	for (unsigned i = 0; i < cfg->nacl; i++) {
		const struct hf_acl_rule *r = &cfg->acl[i];
		const uint8_t *addr =
			r->net.family == AF_INET ? (const uint8_t *)&r->net.v4 : r->net.v6.s6_addr;
		if (hf_acl_add(a, r->net.family, addr, r->plen, (enum hf_acl_action)r->action, err,
			       sizeof(err)) != 0)
			fail(err);
	}
	return a;
}

static int tls_reload(void *arg, char *err, size_t errlen)
{
	return hf_transport_tls_reload(arg, err, errlen);
}

/* DNS over TCP (and TLS with a certificate), on the exception path's
 * kernel interface: a cache replica of its own at index idx. */
static void transport_create(const struct hf_config *cfg, const struct hf_dp_conf *dp, unsigned idx,
			     struct rte_ring **to_control, struct rte_ring **to_worker)
{
	struct hf_transport_conf tc;
	char err[512];

	if ((cfg->exception_interface[0] == '\0' && !cfg->xdp_exception) ||
	    (!cfg->tcp_service && cfg->tls_certificate[0] == '\0'))
		return;
	memset(&tc, 0, sizeof(tc));
	tc.tcp = cfg->tcp_service;
	tc.idle_timeout_ms = cfg->tcp_idle_timeout_ms;
	tc.max_conns = cfg->tcp_max_connections;
	tc.max_per_client = cfg->tcp_max_per_client;
	tc.max_pending = cfg->tcp_max_pending;
	tc.tcp_port = 53;
	tc.tls_port = 853;
	snprintf(tc.tls_cert, sizeof(tc.tls_cert), "%s", cfg->tls_certificate);
	snprintf(tc.tls_key, sizeof(tc.tls_key), "%s", cfg->tls_key);
	if (rings_for(idx, to_control, to_worker) != 0)
		fail("cannot allocate rings (raise -m?)");
	transport = hf_transport_create(&tc, dp, idx, to_control[idx], to_worker[idx], shared[idx],
					&stop, err, sizeof(err));
	if (transport == NULL)
		fail(err);
	hf_transport_set_control(transport, ctl_in[idx], nctl);
}

static void *control_thread(void *arg)
{
	hf_control_run(arg, &stop);
	return NULL;
}

static void dp_conf_from(const struct hf_config *cfg, struct hf_dp_conf *dp)
{
	memset(dp, 0, sizeof(*dp));
	for (unsigned i = 0; i < cfg->nservice; i++) {
		if (cfg->service[i].family == AF_INET)
			dp->service4[dp->nservice4++] = cfg->service[i].v4.s_addr;
		else
			memcpy(dp->service6[dp->nservice6++], &cfg->service[i].v6, 16);
	}
	dp->edns_buffer_size = cfg->edns_buffer_size;
	dp->burst = (uint16_t)(cfg->burst ? HF_MIN(cfg->burst, HF_BURST_MAX) : 32);
	dp->idle_sleep_us = cfg->idle_sleep_us;
	dp->idle_polls = cfg->idle_polls;
	dp->idle_sleep_max_us = cfg->idle_sleep_max_us;
	dp->waiters = cfg->waiters;
	memcpy(dp->rss_key, cfg->rss_key.key, cfg->rss_key.len);
	dp->rss_key_len = cfg->rss_key.len;
	dp->cache.entries = cfg->cache_entries;
	dp->cache.memory = cfg->cache_memory;
	dp->cache.waiters = cfg->waiters;
	dp->cache.waiters_per_entry = HF_MIN(cfg->waiters, 256u);
	dp->cache.stale_window_ms = cfg->stale_window_ms;
	dp->cache.client_timeout_ms = cfg->client_timeout_ms;
	dp->cache.stale_ttl = cfg->stale_ttl;
	dp->cache.prefetch_pct = cfg->prefetch_pct;
	dp->cache.failure_recheck_ms = cfg->failure_recheck_ms;
	dp->cache.miss_timeout_ms = hf_control_miss_timeout_ms(cfg);
	dp->cache.socket_id = SOCKET_ID_ANY;
	snprintf(dp->exc_ifname, sizeof(dp->exc_ifname), "%s", cfg->exception_interface);
	dp->xdp_exception = cfg->xdp_exception;
	dp->rrl.rate = cfg->rrl_rate;
	dp->rrl.slip = cfg->rrl_slip;
	dp->rrl.plen4 = (uint8_t)cfg->rrl_ipv4_prefix;
	dp->rrl.plen6 = (uint8_t)cfg->rrl_ipv6_prefix;
	dp->rrl.slots = rte_align32pow2(cfg->rrl_table);
	dp->cookie_on = cfg->cookie_secret.set;
	dp->cookie_required = cfg->cookie_required;
	memcpy(dp->cookie_secret, cfg->cookie_secret.key, HF_COOKIE_SECRET_LEN);
	/* RFC 8198 on the cores: allocated even with aggressive-nsec off (a
	 * reload may turn it on); only records validated by DNSSEC fill it */
	dp->aggr_slots = cfg->dnssec ? cfg->aggr_core_records : 0;
}

int main(int argc, char **argv)
{
	static struct hf_config cfg;
	static struct hf_dp_conf dp;
	static struct hf_port ports[HF_MAX_PORTS];
	static struct hf_worker workers[HF_MAX_WORKERS];
	static struct rte_ring *to_control[HF_MAX_WORKERS], *to_worker[HF_MAX_WORKERS];
	static struct rte_ring *ctl_rings[HF_MAX_CTL_THREADS * HF_MAX_WORKERS];
	struct rte_mempool *pools[HF_MAX_WORKERS];
	char err[512];
	int app_argc = 1, eal_argc = argc, rc;
	char **app_argv;
	unsigned nports = 0, lcore, w;
	bool single;
	sigset_t sigs;
	pthread_t sig_tid, ctl_tid;
	static char *xdp_args[HF_MAX_PORTS]; /* xdp-exception's vdev arguments */
	struct hf_tsc_cal cal;

	/* Application arguments follow "--"; parse them before DPDK starts. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			app_argc = argc - i;
			break;
		}
	/* "holdfast --help" (no "--"): holdfast's help, not a start-up */
	if (argc == 2 && eal_argc == argc &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		eal_argc = 0; /* app_argv[1] = argv[1] below */
		app_argc = 2;
	}
	app_argv = calloc((size_t)app_argc + 1, sizeof(char *));
	if (app_argv == NULL)
		fail("out of memory");
	app_argv[0] = argv[0];
	for (int i = 1; i < app_argc; i++)
		app_argv[i] = argv[eal_argc + i];
	hf_log_init(HF_LOG_INFO); /* the configuration's errors, journald or not */
	hf_config_defaults(&cfg);
	rc = hf_config_args(&cfg, app_argc, app_argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc != 0)
		fail(err);
	if (cfg.dump_config) {
		static char dump[16384];
		hf_config_dump(&cfg, dump, sizeof(dump));
		fputs(dump, stdout);
		return 0;
	}
	hf_log_init((int)cfg.log_level);
	if (hf_config_check(&cfg, err, sizeof(err)) != 0)
		fail(err);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread */
	/* a client that went away is an error from write(), not a signal
	 * (OpenSSL writes TLS records with plain write()) */
	signal(SIGPIPE, SIG_IGN);

	argv[eal_argc] = NULL;
	if (cfg.xdp_exception &&
	    hf_xdp_exception_args(eal_argc, argv, xdp_args, HF_ARRAY_LEN(xdp_args), err,
				  sizeof(err)) < 0)
		fail(err);
	if (rte_eal_init(eal_argc, argv) < 0) {
		snprintf(err, sizeof(err), "DPDK EAL init failed: %s", rte_strerror(rte_errno));
		fail(err);
	}
	hf_tsc_cal_begin(&cal);
	single = rte_lcore_count() == 1;
	nworkers = single ? 1 : rte_lcore_count() - 1;
	if (nworkers > HF_MAX_WORKERS)
		fail("too many worker lcores");
	if (cfg.queues && cfg.queues != nworkers) {
		snprintf(err, sizeof(err),
			 "queues: %u configured but there are %u worker lcores (one queue each)",
			 cfg.queues, nworkers);
		fail(err);
	}
	dp_conf_from(&cfg, &dp);
	dp.nb_queues = nworkers;
	nctl = cfg.control_threads;
	if (cfg.nacl > 0)
		dp.acl = acl = acl_create(&cfg);
	if (hf_ports_init(&dp, ports, &nports, pools, err, sizeof(err)) != 0)
		fail(err);
	cap_answers_at_mtu(&dp, ports, nports);
	if (hf_exc_init(&dp, ports, nports, err, sizeof(err)) != 0)
		fail(err);
	dp.tsc_per_ms = hf_tsc_cal_end(&cal, 20);
	if (llabs((long long)dp.tsc_per_ms - (long long)(rte_get_tsc_hz() / 1000)) * 10000 >
	    (long long)dp.tsc_per_ms)
		hf_log(HF_LOG_INFO,
		       "clock: the TSC runs at %.3f MHz (DPDK estimated %.3f); "
		       "timing uses the measured rate",
		       (double)dp.tsc_per_ms / 1e3, (double)rte_get_tsc_hz() / 1e6);

	for (w = 0; w < nworkers; w++) {
		if (rings_for(w, to_control, to_worker) != 0)
			fail("cannot allocate rings (raise -m?)");
		if (hf_worker_init(&workers[w], w, &dp, ports, nports, to_control[w], to_worker[w],
				   shared[w], &stop, err, sizeof(err)) != 0)
			fail(err);
		hf_worker_set_control(&workers[w], ctl_in[w], nctl);
	}
	if (nworkers + 1 > HF_MAX_WORKERS)
		fail("too many worker lcores");
	transport_create(&cfg, &dp, nworkers, to_control, to_worker);
	{
		struct hf_control_workers cw = {
			.n = nworkers + (transport != NULL ? 1 : 0),
			.nthreads = nctl,
			.to_control = ctl_rings,
			.to_worker = to_worker,
			.shared = shared,
			.tsc_per_ms = dp.tsc_per_ms,
			.ntransport = transport != NULL ? 1 : 0,
		};
		for (unsigned t = 0; t < nctl; t++) /* worker w's ring to thread t at [t * n + w] */
			for (w = 0; w < cw.n; w++)
				ctl_rings[t * cw.n + w] = ctl_in[w][t];
		ctl = hf_control_create(&cfg, &cw, err, sizeof(err));
		if (ctl == NULL)
			fail(err);
	}
	for (unsigned p = 0; p < nports; p++) {
		char name[RTE_ETH_NAME_MAX_LEN] = "?", desc[256], mac[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_eth_dev_info info;
		memset(&info, 0, sizeof(info));
		rte_eth_dev_get_name_by_port(ports[p].port_id, name);
		if (rte_eth_dev_info_get(ports[p].port_id, &info) != 0)
			info.driver_name = "?";
		rte_ether_format_addr(mac, sizeof(mac), &ports[p].mac);
		snprintf(desc, sizeof(desc), "%u %s driver %s mac %s queues %u", ports[p].port_id,
			 name, info.driver_name ? info.driver_name : "?", mac, nworkers);
		if (hf_control_add_port(ctl, desc, ports[p].port_id) != 0)
			fail("out of memory");
	}
	hf_control_set_pools(ctl, pools, nworkers);
	if (dp.exc != NULL)
		hf_control_set_exception(ctl, hf_exc_counters(dp.exc));
	if (transport != NULL && cfg.tls_certificate[0] != '\0')
		hf_control_set_tls_reload(ctl, tls_reload, transport);
	if (cfg.cache_snapshot[0] != '\0') { /* into every core, before any of them runs */
		struct hf_cache *caches[HF_MAX_WORKERS];
		unsigned n = 0;
		for (w = 0; w < nworkers; w++)
			caches[n++] = workers[w].cache;
		if (transport != NULL) /* the TCP/TLS replica too */
			caches[n++] = hf_transport_cache(transport);
		hf_snap_load(cfg.cache_snapshot, caches, n, rte_rdtsc() / dp.tsc_per_ms, stderr);
	}
	hf_control_set_args(ctl, app_argc, app_argv); /* what a reload reads again */
	if (pthread_create(&sig_tid, NULL, signal_thread, &sigs) != 0)
		fail("cannot start the signal thread");

	w = 0;
	if (!single) {
		RTE_LCORE_FOREACH_WORKER(lcore)
		{
			rte_eal_remote_launch(hf_worker_main, &workers[w], lcore);
			w++;
		}
	}
	if (transport != NULL && hf_transport_start(transport, err, sizeof(err)) != 0)
		fail(err);
	if (dp.xdp_exception)
		hf_xdp_exception_check(&dp);
	hf_log(HF_LOG_INFO, "ready: %u port(s), %u worker(s)%s, %u service address(es)%s%s", nports,
	       nworkers, single ? " (control in a thread)" : "", cfg.nservice,
	       transport != NULL && cfg.tcp_service ? ", TCP" : "",
	       transport != NULL && cfg.tls_certificate[0] ? ", TLS" : "");
	if (single) {
		if (pthread_create(&ctl_tid, NULL, control_thread, ctl) != 0)
			fail("cannot start the control thread");
		hf_worker_main(&workers[0]);
		pthread_join(ctl_tid, NULL);
	} else {
		hf_control_run(ctl, &stop);
		rte_eal_mp_wait_lcore();
	}
	hf_transport_destroy(transport); /* its thread has seen stop */
	print_counters(stderr);
	hf_control_print_stats(ctl, stderr); /* control has stopped */
	if (cfg.cache_snapshot[0] != '\0')   /* so have the workers: worker 0's cache is ours */
		hf_snap_save(cfg.cache_snapshot, workers[0].cache, cfg.cache_memory,
			     rte_rdtsc() / dp.tsc_per_ms, stderr);
	hf_control_destroy(ctl);
	hf_exc_fini(&dp, stderr);
	for (w = 0; w < nworkers; w++)
		hf_worker_fini(&workers[w]);
	hf_ports_close(ports, nports);
	hf_acl_free(acl);
	rte_eal_cleanup();
	free(app_argv);
	for (w = 0; w < HF_ARRAY_LEN(xdp_args); w++)
		free(xdp_args[w]);
	return 0;
}
