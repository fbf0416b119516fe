/* SPDX-License-Identifier: BSD-3-Clause */
/* DPDK's EAL for a unit test that needs it (rings, mempools, ethdevs). */
#ifndef HF_TEST_EAL_H
#define HF_TEST_EAL_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

/*
 * No hugepages, 256 MB, no PCI, no files left under /var/run/dpdk,
 * warnings only, and a file prefix of the test's own (tag and pid), so
 * tests can run side by side. 0, or -1 after
 * one line on stderr.
 */
/* With --no-shconf and --no-telemetry the EAL leaves only its empty
 * runtime directory: taken at exit. */
static char hf_test_eal_dir[PATH_MAX];
static inline void hf_test_eal_rmdir(void)
{
	rmdir(hf_test_eal_dir);
}

static inline int hf_test_eal_init(const char *argv0, const char *tag)
{
	char prefix[64];
	char *eal_argv[] = {
		(char *)argv0,
		(char *)"--no-huge",
		(char *)"-m",
		(char *)"256",
		(char *)"--no-pci",
		/* nothing left in /var/run/dpdk: no shared config, no telemetry socket */
		(char *)"--no-shconf",
		(char *)"--no-telemetry",
		prefix,
		(char *)"--log-level=warning",
		NULL,
	};
	snprintf(prefix, sizeof(prefix), "--file-prefix=hf_test_%s_%d", tag, (int)getpid());
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "%s: rte_eal_init failed\n", tag);
		return -1;
	}
	snprintf(hf_test_eal_dir, sizeof(hf_test_eal_dir), "%s", rte_eal_get_runtime_dir());
	atexit(hf_test_eal_rmdir);
	return 0;
}

#endif
