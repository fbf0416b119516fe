/* SPDX-License-Identifier: BSD-3-Clause */
/* DPDK's EAL for a unit test that needs it (rings, mempools, ethdevs). */
#ifndef HF_TEST_EAL_H
#define HF_TEST_EAL_H

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

/*
 * No hugepages, 256 MB, no PCI, warnings only, and a file prefix of the
 * test's own (tag and pid), so tests can run side by side. 0, or -1 after
 * one line on stderr.
 */
static inline int hf_test_eal_init(const char *argv0, const char *tag)
{
	char prefix[64];
	char *eal_argv[] = {
		(char *)argv0,
		(char *)"--no-huge",
		(char *)"-m",
		(char *)"256",
		(char *)"--no-pci",
		prefix,
		(char *)"--log-level=warning",
		NULL,
	};
	snprintf(prefix, sizeof(prefix), "--file-prefix=hf_test_%s_%d", tag, (int)getpid());
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "%s: rte_eal_init failed\n", tag);
		return -1;
	}
	return 0;
}

#endif
