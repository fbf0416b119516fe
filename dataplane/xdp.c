/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dataplane/: `xdp-exception`. The XDP program of
 * xdp_dns.bpf.c, compiled at build time and embedded here, is put in a
 * memfd at start-up and handed to every net_af_xdp vdev as
 * xdp_prog=/proc/self/fd/N, before the EAL starts: DPDK loads it instead
 * of its own redirect-everything program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/hf_common.h"
#include "common/hf_log.h"
#include "dataplane/hf_dataplane.h"

extern const unsigned char hf_xdp_dns_obj[];
extern const size_t hf_xdp_dns_obj_len;

static bool is_af_xdp(const char *devargs)
{
	return strncmp(devargs, "net_af_xdp", 10) == 0;
}

static char *with_prog(const char *arg, const char *path)
{
	size_t n = strlen(arg) + strlen(",xdp_prog=") + strlen(path) + 1;
	char *s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%s,xdp_prog=%s", arg, path);
	return s;
}

int hf_xdp_exception_args(int argc, char **argv, char **added, unsigned nadded, char *err,
			  size_t errlen)
{
	char path[64];
	unsigned found = 0;
	int fd = memfd_create("holdfast-xdp", 0);

	if (fd < 0) {
		snprintf(err, errlen, "xdp-exception: memfd_create: %m");
		return hf_error(HF_EIO);
	}
	if (write(fd, hf_xdp_dns_obj, hf_xdp_dns_obj_len) != (ssize_t)hf_xdp_dns_obj_len) {
		snprintf(err, errlen, "xdp-exception: cannot write the XDP program: %m");
		close(fd);
		return hf_error(HF_EIO);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd); /* kept open until exit */
	for (int i = 1; i < argc; i++) {
		char **slot = &argv[i];
		const char *v = NULL;
		char *s;
		if (strncmp(argv[i], "--vdev=", 7) == 0) {
			v = argv[i] + 7;
		} else if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc) {
			slot = &argv[++i];
			v = *slot;
		}
		if (v == NULL || !is_af_xdp(v))
			continue;
		if (strstr(v, "xdp_prog=") != NULL) {
			snprintf(err, errlen,
				 "xdp-exception: %s already has xdp_prog=: holdfast loads its own "
				 "program",
				 v);
			return hf_error(HF_EINVAL);
		}
		if (found == nadded) {
			snprintf(err, errlen, "xdp-exception: more than %u net_af_xdp vdevs",
				 nadded);
			return hf_error(HF_EINVAL);
		}
		s = with_prog(*slot, path);
		if (s == NULL) {
			snprintf(err, errlen, "out of memory");
			return hf_error(HF_ENOMEM);
		}
		added[found++] = s;
		*slot = s;
	}
	if (found == 0) {
		snprintf(err, errlen,
			 "xdp-exception: no net_af_xdp vdev on the command line (e.g. "
			 "--vdev=net_af_xdp0,iface=eth1)");
		return hf_error(HF_EINVAL);
	}
	return (int)found;
}

static bool is_local(const struct ifaddrs *list, int family, const void *addr)
{
	for (const struct ifaddrs *i = list; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, 4) == 0)
			return true;
		if (family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr, 16) == 0)
			return true;
	}
	return false;
}

unsigned hf_xdp_exception_check(const struct hf_dp_conf *conf)
{
	struct ifaddrs *list;
	char a[INET6_ADDRSTRLEN];
	unsigned missing = 0;

	if (getifaddrs(&list) != 0)
		return 0;
	for (unsigned i = 0; i < conf->nservice4; i++)
		if (!is_local(list, AF_INET, &conf->service4[i])) {
			inet_ntop(AF_INET, &conf->service4[i], a, sizeof(a));
			hf_log(HF_LOG_WARNING,
			       "xdp-exception: service address %s is on no interface: the kernel "
			       "will not answer TCP, TLS, ping or ARP for it",
			       a);
			missing++;
		}
	for (unsigned i = 0; i < conf->nservice6; i++)
		if (!is_local(list, AF_INET6, conf->service6[i])) {
			inet_ntop(AF_INET6, conf->service6[i], a, sizeof(a));
			hf_log(HF_LOG_WARNING,
			       "xdp-exception: service address %s is on no interface: the kernel "
			       "will not answer TCP, TLS, ping or ND for it",
			       a);
			missing++;
		}
	freeifaddrs(list);
	return missing;
}
