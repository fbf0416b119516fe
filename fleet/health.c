/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast fleet/: the site's health and its BGP announcement.
 *
 * Each interval: holdfast's `status` over the management socket (gone, or
 * not answering within the timeout: unhealthy; "drained": unhealthy), its
 * per-core counters (`stats --per-core`: a worker core whose rx_packets
 * stood still for --stall-after while the other worker cores received at
 * least --stall-load packets: unhealthy), and, with --probe, one DNS
 * query through the packet path (no answer, or a SERVFAIL, for
 * --probe-fail: unhealthy). Unhealthy withdraws at once
 * (every --bird-protocol disabled through BIRD's control socket, so BIRD
 * sends the BGP withdrawals); healthy again announces after --hold-down.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dns/hf_dns.h"
#include "fleet/agent_internal.h"

/* ---- BIRD's control socket ---- */

/* Send one command and read the reply up to its last line ("NNNN text").
 * 0 when the reply's code is below 8000 (not an error). */
static int bird_cmd(struct agent *a, const char *cmd, char *last, size_t lastlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[4096];
	size_t len = 0;
	bool greeted = false;
	int fd, rc = -1;

	snprintf(last, lastlen, "no reply");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->bird_sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(last, lastlen, "cannot connect to %s: %s", a->bird_sock, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char *nl;
		ssize_t n;
		if (poll(&p, 1, 2000) <= 0)
			goto out;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			/* a final line: four digits and a space */
			if (strlen(buf) >= 5 && buf[4] == ' ' && buf[0] >= '0' && buf[0] <= '9') {
				snprintf(last, lastlen, "%.200s", buf);
				if (!greeted) {
					greeted = true; /* "0001 BIRD 2.x ready." */
					if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
					    write(fd, "\n", 1) != 1)
						goto out;
				} else {
					rc = buf[0] >= '8' ? -1 : 0;
					goto out;
				}
			}
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line longer than the buffer: not one we look at */
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Enable or disable every --bird-protocol; true when all of them did. */
static bool bird_set(struct agent *a, bool on)
{
	bool ok = true;
	for (unsigned i = 0; i < a->nbird; i++) {
		char cmd[160], last[256];
		snprintf(cmd, sizeof(cmd), "%s %s", on ? "enable" : "disable", a->bird_protos[i]);
		if (bird_cmd(a, cmd, last, sizeof(last)) != 0) {
			if (!a->bird_failed) /* once, until BIRD answers again */
				hf_agent_log("bird: %s: %s", cmd, last);
			ok = false;
		}
	}
	if (ok && a->bird_failed)
		hf_agent_log("bird: answering again");
	a->bird_failed = !ok;
	return ok;
}

/* ---- the probe: one query through the packet path ---- */

static int open_probe(struct agent *a)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int self = -1, ns = -1, fd = -1;
	char path[256];

	if (inet_pton(AF_INET, a->probe_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(53);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, a->probe_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) ==
		   1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(53);
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "holdfast-fleet: --probe \"%s\" is not an IP address\n",
			a->probe_addr);
		return -1;
	}
	if (a->probe_netns != NULL) {
		snprintf(path, sizeof(path), "/run/netns/%s", a->probe_netns);
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
			fprintf(stderr, "holdfast-fleet: --probe-netns %s: %s\n", a->probe_netns,
				strerror(errno));
			goto out;
		}
	}
	/* a socket keeps the namespace it was made in */
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "holdfast-fleet: probe socket: %s\n", strerror(errno));
	if (self >= 0 && setns(self, CLONE_NEWNET) != 0) {
		fprintf(stderr, "holdfast-fleet: back to our network namespace: %s\n",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	return fd;
}

/* Read the answers that came (to any of the last HF_AGENT_PROBES queries:
 * an answer may take longer than an interval); send the next query. A
 * name "*.ZONE" is asked with a fresh label each time, so it is never a
 * cache hit: the answer is the control plane's (and its upstream's). */
static void probe(struct agent *a, uint64_t now)
{
	uint8_t q[512], r[512];
	char name[300];
	size_t nl;
	ssize_t n;

	while ((n = recv(a->probe_fd, r, sizeof(r), 0)) >= 12) {
		unsigned rcode = r[3] & 0x0f, id = (unsigned)r[0] << 8 | r[1];
		bool ours = false;
		for (unsigned i = 0; i < HF_AGENT_PROBES; i++)
			ours |= id == a->probe_ids[i];
		if (ours && (r[2] & 0x80) &&
		    (rcode == HF_RCODE_NOERROR || rcode == HF_RCODE_NXDOMAIN))
			a->probe_ok_ms = now;
	}
	a->probe_seq++;
	if (strncmp(a->probe_name, "*.", 2) == 0)
		snprintf(name, sizeof(name), "p%u-%llx.%s", (unsigned)getpid(),
			 (unsigned long long)a->probe_seq, a->probe_name + 2);
	else
		snprintf(name, sizeof(name), "%s", a->probe_name);
	if (hf_dns_name_from_str(name, q + 12, &nl) != 0)
		return;
	memset(q, 0, 12);
	a->probe_rnd = a->probe_rnd * 6364136223846793005ull + 1442695040888963407ull;
	a->probe_ids[a->probe_seq % HF_AGENT_PROBES] = (uint16_t)(a->probe_rnd >> 48);
	q[0] = (uint8_t)(a->probe_rnd >> 56);
	q[1] = (uint8_t)(a->probe_rnd >> 48);
	q[2] = 0x01; /* RD */
	q[5] = 1;    /* QDCOUNT */
	q[12 + nl] = 0;
	q[12 + nl + 1] = 1; /* A */
	q[12 + nl + 2] = 0;
	q[12 + nl + 3] = 1; /* IN */
	(void)send(a->probe_fd, q, 12 + nl + 4, 0);
}

int hf_agent_health_init(struct agent *a)
{
	uint8_t w[HF_DNS_NAME_MAX];
	size_t wl;

	a->probe_fd = -1;
	if (a->probe_addr == NULL)
		return 0;
	if (hf_dns_name_from_str(strncmp(a->probe_name, "*.", 2) == 0 ? a->probe_name + 2
								      : a->probe_name,
				 w, &wl) != 0) {
		fprintf(stderr, "holdfast-fleet: --probe-name \"%s\" is not a domain name\n",
			a->probe_name);
		return -1;
	}
	a->probe_rnd = (uint64_t)getpid() << 32 ^ hf_agent_now_ms();
	a->probe_fd = open_probe(a);
	a->probe_ok_ms = hf_agent_now_ms();
	return a->probe_fd >= 0 ? 0 : -1;
}

void hf_agent_health_fini(struct agent *a)
{
	if (a->probe_fd >= 0)
		close(a->probe_fd);
}

/* holdfast's status: up, drained, a restart. */
static void ask_holdfast(struct agent *a)
{
	char *argv[] = {"status", NULL};
	json_object *o, *v;
	bool was_up = a->holdfast_up;

	if (hf_agent_mgmt(a, 1, argv, &o) != 0) {
		if (was_up)
			hf_agent_log("holdfast is not answering on %s", a->sock);
		a->holdfast_up = false;
		a->synced = false; /* read everything again once it is back */
		return;
	}
	a->holdfast_up = true;
	a->drained = json_object_object_get_ex(o, "drained", &v) && json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "started", &v)) {
		uint64_t started = (uint64_t)json_object_get_int64(v);
		if (a->hf_started != 0 && started != a->hf_started)
			a->synced = false;
		a->hf_started = started;
	}
	json_object_put(o);
	if (!was_up)
		hf_agent_log("holdfast answers on %s", a->sock);
}

/* The worker cores' rx_packets from `stats --per-core`, in core order;
 * the count, 0 when holdfast could not be asked or said nothing usable. */
static unsigned read_cores(struct agent *a, uint64_t rx[HF_MAX_WORKERS])
{
	char *argv[] = {"stats", "--per-core", NULL};
	json_object *o, *arr;
	unsigned n = 0;

	if (hf_agent_mgmt(a, 2, argv, &o) != 0)
		return 0;
	if (json_object_object_get_ex(o, "per_core", &arr)) {
		size_t len = json_object_array_length(arr);
		for (size_t i = 0; i < len && n < HF_MAX_WORKERS; i++) {
			json_object *c = json_object_array_get_idx(arr, i), *v;
			/* the transport (TCP/TLS) takes no packets from the port */
			if (json_object_object_get_ex(c, "role", &v) &&
			    strcmp(json_object_get_string(v), "worker") != 0)
				continue;
			if (!json_object_object_get_ex(c, "rx_packets", &v))
				break;
			rx[n++] = (uint64_t)json_object_get_int64(v);
		}
	}
	json_object_put(o);
	return n;
}

/* The counter rule: the first worker core standing still under load, or
 * -1. *load: what the other cores received meanwhile. */
static int stalled_core(struct agent *a, uint64_t now, uint64_t *load)
{
	uint64_t rx[HF_MAX_WORKERS], total = 0;
	unsigned n = read_cores(a, rx);
	bool again = n != a->ncores || a->cores_started != a->hf_started;
	int stalled = -1;

	for (unsigned w = 0; w < n && !again; w++)
		again = rx[w] < a->core_rx[w]; /* `stats --reset` */
	for (unsigned w = 0; w < n; w++)
		total += rx[w];
	for (unsigned w = 0; w < n; w++) {
		if (again || rx[w] != a->core_rx[w]) {
			a->core_moved_ms[w] = now;
			a->others_at_move[w] = total - rx[w];
		} else if (stalled < 0 && now - a->core_moved_ms[w] >= a->stall_ms &&
			   total - rx[w] - a->others_at_move[w] >= a->stall_load) {
			stalled = (int)w;
			*load = total - rx[w] - a->others_at_move[w];
		}
		a->core_rx[w] = rx[w];
	}
	a->ncores = n;
	a->cores_started = a->hf_started;
	return stalled;
}

static void decide(struct agent *a, uint64_t now)
{
	bool was_healthy = a->healthy;
	uint64_t load = 0;
	int stalled = -1;

	ask_holdfast(a);
	if (a->probe_fd >= 0)
		probe(a, now);
	if (a->holdfast_up && a->stall_load > 0)
		stalled = stalled_core(a, now, &load);
	else
		a->ncores = 0;
	if (!a->holdfast_up)
		snprintf(a->why, sizeof(a->why), "holdfast not answering on its socket");
	else if (a->drained)
		snprintf(a->why, sizeof(a->why), "drained");
	else if (stalled >= 0)
		snprintf(a->why, sizeof(a->why),
			 "worker core %d received nothing for %llu ms while the others received "
			 "%llu "
			 "packets",
			 stalled, (unsigned long long)(now - a->core_moved_ms[stalled]),
			 (unsigned long long)load);
	else if (a->probe_fd >= 0 && now - a->probe_ok_ms >= a->probe_fail_ms)
		snprintf(a->why, sizeof(a->why), "no answer to the probe for %s for %llu ms",
			 a->probe_name, (unsigned long long)(now - a->probe_ok_ms));
	else
		a->why[0] = '\0';
	a->healthy = a->why[0] == '\0';
	if (a->healthy != was_healthy) {
		a->dirty = true;
		hf_agent_log("%s%s", a->healthy ? "healthy" : "unhealthy: ", a->why);
	}
	if (!a->healthy) {
		a->healthy_since_ms = 0;
		if (a->announced || !a->ever_announced) {
			if (a->nbird == 0 || bird_set(a, false)) {
				if (a->announced)
					hf_agent_log("withdrawn");
				a->announced = false;
				a->ever_announced = true; /* from now on, with a hold-down */
				a->dirty = true;
			}
		}
		return;
	}
	if (a->healthy_since_ms == 0)
		a->healthy_since_ms = now;
	/* the first announcement at once; after a withdrawal, the hold-down */
	if (!a->announced && (!a->ever_announced || now - a->healthy_since_ms >= a->hold_down_ms)) {
		if (a->nbird == 0 || bird_set(a, true)) {
			hf_agent_log("announced");
			a->announced = a->ever_announced = true;
			a->dirty = true;
		}
	}
}

void hf_agent_health(struct agent *a, uint64_t now)
{
	decide(a, now);
	/* BIRD restarted (its service protocols start disabled) or changed by
	 * hand: say again what the site's state is, every few seconds */
	if (a->nbird > 0 && a->ever_announced && now >= a->bird_again_ms) {
		bird_set(a, a->announced);
		a->bird_again_ms = now + HF_AGENT_BIRD_AGAIN_MS;
	}
}
