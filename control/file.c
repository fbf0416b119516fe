/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: atomic, symlink-safe replacement of a file
 * (nta-state-file, stats-textfile), and the start-up check of the
 * directories they live in.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/hf_file.h"

static uint64_t os_random(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* never on Linux >= 3.17 for 8 bytes; O_EXCL still keeps us safe */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
	}
	return r;
}

uint64_t (*hf_file_random)(void) = os_random;

void hf_file_tmp_name(char *out, size_t size, const char *path, uint64_t r)
{
	snprintf(out, size, "%s.tmp.%016" PRIx64, path, r);
}

/* "dir" of "dir/name" ("." without a slash, "/" for "/name") into out. */
static void dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(out, size, ".");
	else if (slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

static int fail(char *err, size_t errlen, const char *path, int e)
{
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
	errno = e;
	return -1;
}

int hf_file_replace(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
	char tmp[4200], dir[4096];
	const char *p = buf;
	int fd = -1, dfd, e;

	if (strlen(path) + 22 >= sizeof(dir))
		return fail(err, errlen, path, ENAMETOOLONG);
	for (int i = 0; i < HF_FILE_TMP_TRIES && fd < 0; i++) {
		hf_file_tmp_name(tmp, sizeof(tmp), path, hf_file_random());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return fail(err, errlen, path, errno);
	}
	if (fd < 0)
		return fail(err, errlen, path, EEXIST);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			goto undo;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		e = errno;
		goto undo;
	}
	if (close(fd) != 0) {
		e = errno;
		fd = -1;
		goto undo;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		e = errno;
		goto undo;
	}
	/* the rename itself must reach the disk */
	dir_of(path, dir, sizeof(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		e = errno;
		if (dfd >= 0)
			close(dfd);
		return fail(err, errlen, path, e);
	}
	close(dfd);
	return 0;
undo:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return fail(err, errlen, path, e);
}

int hf_file_set_aside(const char *path, char *bad, size_t size)
{
	snprintf(bad, size, "%s.corrupt", path);
	return rename(path, bad);
}

int hf_file_dir_check(const char *key, const char *path, char *err, size_t errlen)
{
	char dir[4096];
	struct stat st;
	uid_t me = geteuid();

	dir_of(path, dir, sizeof(dir));
	if (stat(dir, &st) != 0)
		return 0;
	if (st.st_uid != 0 && st.st_uid != me) {
		snprintf(err, errlen,
			 "%s: directory %s is owned by uid %u, not root or holdfast's uid %u", key,
			 dir, (unsigned)st.st_uid, (unsigned)me);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s: directory %s is writable by group or others without the sticky bit "
			 "(mode %04o)",
			 key, dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
