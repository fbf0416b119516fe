/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the cache-snapshot file (the format is
 * cache/hf_snap.h). Loaded into every core's cache at start-up, before
 * the workers run; written at a clean stop from worker 0's cache once the
 * workers have stopped, and on `holdfastctl cache save` by worker 0
 * itself (one SNAPSHOT message, walked a slice at a time) into a buffer
 * control then writes. Every core caches every answer, so worker 0's
 * cache stands for all of them. Written atomically (control/hf_file.h).
 */
#ifndef HF_SNAPSHOT_H
#define HF_SNAPSHOT_H

#include <stdio.h>

#include "cache/hf_snap.h"
#include "control/hf_fanout.h"

/* The Unix time in ms. */
int64_t hf_snap_unix_ms(void);

/*
 * Load the snapshot at path into caches[0..n) at now_ms (the caches'
 * clock); they must be empty and their workers not running. One line on
 * log: what was loaded, or why nothing was (no file; a file that does not
 * parse, which is renamed to PATH.corrupt). Returns the entries loaded.
 */
uint64_t hf_snap_load(const char *path, struct hf_cache *const *caches, unsigned n, uint64_t now_ms,
		      FILE *log);

/*
 * Write c's snapshot to path at now_ms (c's clock); c's worker must not
 * be running. cache_memory: the cache-memory setting (its records fit in
 * that). One line on log. 0, or -1.
 */
int hf_snap_save(const char *path, struct hf_cache *c, uint64_t cache_memory, uint64_t now_ms,
		 FILE *log);

/* A save while the workers run (`holdfastctl cache save`). Control thread. */
struct hf_snap_job {
	struct hf_snap_out out; /* worker 0 writes it until the message is applied */
	uint64_t seq;		/* the SNAPSHOT message */
	bool busy;		/* sent, not yet written */
	uint64_t start_us;
	/* the last save that ended */
	int rc; /* 0 or -1 */
	char err[320];
	uint64_t entries, bytes, walk_us, write_us;
};

/* Send the SNAPSHOT message (worker 0 writes into a buffer of
 * cache_memory bytes, touched only as far as it writes). 0, or -1 with
 * err set (a save under way, out of memory). */
int hf_snap_job_start(struct hf_snap_job *j, struct hf_fanout *out, uint64_t cache_memory,
		      char *err, size_t errlen);
/* Once worker 0 has applied it: write path, one line on log, fill in the
 * result, free the buffer. True when the job is over (now or before). */
bool hf_snap_job_finish(struct hf_snap_job *j, const struct hf_fanout *out, const char *path,
			FILE *log);
/* Only after the workers have stopped. */
void hf_snap_job_fini(struct hf_snap_job *j);

#endif
