/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the cache-snapshot file: loading it into every
 * core's cache at start-up, writing it at a clean stop and on `holdfastctl
 * cache save` (control/hf_snapshot.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "common/hf_log.h"
#include "control/hf_file.h"
#include "control/hf_snapshot.h"

int64_t hf_snap_unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- loading ---- */

/* The whole file in a malloc()ed buffer; NULL with errno set. */
static uint8_t *read_all(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shorter than fstat said: what there is */
		off += (size_t)n;
	}
	close(fd); /* a read error: the check reports what was read as truncated */
	*len = off;
	return buf;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return NULL;
}

/* One line of the snapshot's: to the log (with its level) when it is
 * stderr, else (the unit tests' file) as it would read there. */
static void __attribute__((format(printf, 3, 4))) say(FILE *log, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (log == stderr) {
		hf_vlog(level, fmt, ap);
	} else {
		fputs("holdfast: ", log);
		vfprintf(log, fmt, ap);
		fputc('\n', log);
	}
	va_end(ap);
}

static void set_aside(const char *path, const char *why, FILE *log)
{
	char bad[300];
	if (hf_file_set_aside(path, bad, sizeof(bad)) == 0)
		say(log, HF_LOG_WARNING,
		    "cache-snapshot: %s: %s; set aside as %s, starting with an empty "
		    "cache",
		    path, why, bad);
	else
		say(log, HF_LOG_WARNING,
		    "cache-snapshot: %s: %s; cannot set it aside (%s), starting "
		    "with an empty cache",
		    path, why, strerror(errno));
}

uint64_t hf_snap_load(const char *path, struct hf_cache *const *caches, unsigned n, uint64_t now_ms,
		      FILE *log)
{
	uint64_t t0 = mono_us(), count = 0, stored = 0, dropped = 0, nomem = 0;
	int64_t now_unix = hf_snap_unix_ms(), saved = 0;
	char err[256];
	size_t len = 0, off = HF_SNAP_HDR;
	uint8_t *buf = read_all(path, &len);

	if (buf == NULL) {
		if (errno == ENOENT)
			say(log, HF_LOG_INFO,
			    "cache-snapshot: no %s yet, starting with an empty "
			    "cache",
			    path);
		else
			say(log, HF_LOG_WARNING,
			    "cache-snapshot: cannot read %s: %s; starting with an "
			    "empty cache",
			    path, strerror(errno));
		return 0;
	}
	if (hf_snap_check(buf, len, &count, &saved, err, sizeof(err)) != 0) {
		set_aside(path, err, log);
		free(buf);
		return 0;
	}
	while (off < len) {
		struct hf_snap_rec r;
		int rc = 0;
		hf_snap_rec_at(buf, &off, &r);
		/* every core caches every answer */
		for (unsigned w = 0; w < n; w++) {
			int rw = hf_cache_snap_restore(caches[w], &r, now_ms, now_unix);
			if (w == 0)
				rc = rw;
		}
		stored += rc == 0;
		dropped += rc == 1;
		nomem += rc < 0;
	}
	free(buf);
	say(log, HF_LOG_INFO,
	    "cache-snapshot: loaded %llu of %llu entries from %s (saved %llds ago) "
	    "into %u core(s) in %llu ms; left out: %llu expired (past the stale window, a "
	    "failure past its TTL), %llu for want of room",
	    (unsigned long long)stored, (unsigned long long)count, path,
	    (long long)((now_unix - saved) / 1000), n,
	    (unsigned long long)((mono_us() - t0) / 1000), (unsigned long long)dropped,
	    (unsigned long long)nomem);
	fflush(log);
	return stored;
}

/* ---- writing ---- */

/* An output of cap bytes after the header, its clock's reference now. */
static int out_init(struct hf_snap_out *o, uint64_t cache_memory, uint64_t now_ms)
{
	void *p;

	memset(o, 0, sizeof(*o));
	o->cap = HF_SNAP_HDR + cache_memory;
	/* anonymous memory, not touched here: only the pages the records fill
	 * are ever used (malloc() may fill what it gives, MALLOC_PERTURB_) */
	p = mmap(NULL, o->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	o->buf = p;
	o->len = HF_SNAP_HDR;
	o->ref_ms = now_ms;
	o->ref_unix_ms = hf_snap_unix_ms();
	return 0;
}

static void out_free(struct hf_snap_out *o)
{
	if (o->buf != NULL)
		munmap(o->buf, o->cap);
	o->buf = NULL;
}

/* Seal o and write it to path: 0, or -1 with err set. */
static int out_write(struct hf_snap_out *o, const char *path, char *err, size_t errlen)
{
	if (o->full) { /* never: a record is at most its entry's slot */
		snprintf(err, errlen, "cannot write %s: the cache did not fit in cache-memory",
			 path);
		return -1;
	}
	hf_snap_seal(o->buf, o->len, o->count, o->ref_unix_ms);
	return hf_file_replace(path, o->buf, o->len, err, errlen);
}

/* The walk is over: write j->out to path, one line on log, the result in
 * j, the buffer freed. */
static void job_write(struct hf_snap_job *j, const char *path, FILE *log)
{
	uint64_t t1 = mono_us();

	j->walk_us = t1 - j->start_us;
	j->rc = out_write(&j->out, path, j->err, sizeof(j->err));
	j->write_us = mono_us() - t1;
	j->entries = j->out.count;
	j->bytes = j->out.len;
	if (j->rc != 0)
		say(log, HF_LOG_WARNING, "cache-snapshot: %s", j->err);
	else
		say(log, HF_LOG_INFO,
		    "cache-snapshot: saved %llu entries (%llu bytes) to %s: "
		    "walk %llu ms, write %llu ms",
		    (unsigned long long)j->entries, (unsigned long long)j->bytes, path,
		    (unsigned long long)(j->walk_us / 1000),
		    (unsigned long long)(j->write_us / 1000));
	fflush(log);
	out_free(&j->out);
}

int hf_snap_save(const char *path, struct hf_cache *c, uint64_t cache_memory, uint64_t now_ms,
		 FILE *log)
{
	struct hf_snap_job j;

	memset(&j, 0, sizeof(j));
	j.start_us = mono_us();
	if (out_init(&j.out, cache_memory, now_ms) != 0) {
		say(log, HF_LOG_WARNING, "cache-snapshot: cannot save: out of memory");
		return -1;
	}
	hf_cache_snap_step(c, &j.out, UINT32_MAX, now_ms);
	job_write(&j, path, log);
	return j.rc;
}

int hf_snap_job_start(struct hf_snap_job *j, struct hf_fanout *out, uint64_t cache_memory,
		      char *err, size_t errlen)
{
	struct hf_msg_ctl *m;

	if (j->busy) {
		snprintf(err, errlen, "a cache save is under way");
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || out_init(&j->out, cache_memory,
				  out->tsc_per_ms ? rte_rdtsc() / out->tsc_per_ms : 0) != 0) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->type = HF_MSG_SNAP;
	m->snap = &j->out;
	if (hf_fanout_send(out, m) != 0) {
		out_free(&j->out);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	j->seq = hf_fanout_last_seq(out);
	j->busy = true;
	j->start_us = mono_us();
	return 0;
}

bool hf_snap_job_finish(struct hf_snap_job *j, const struct hf_fanout *out, const char *path,
			FILE *log)
{
	if (!j->busy)
		return true;
	if (!hf_fanout_applied(out, j->seq))
		return false;
	job_write(j, path, log);
	j->busy = false;
	return true;
}

void hf_snap_job_fini(struct hf_snap_job *j)
{
	out_free(&j->out);
	memset(j, 0, sizeof(*j));
}
