/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hf_file_replace (nta-state-file, stats-textfile) and hf_file_dir_check:
 * a symlink planted at any name the writer could use is not followed and
 * its target stays as it was; the directory check's verdicts and lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/hf_file.h"
#include "tests/unit/hf_test.h"

static char dir[64], path[128], victim[128];
static const char victim_bytes[] = "root:secret:do not touch\n";

static uint64_t seq_next;
static uint64_t seq_random(void)
{
	return seq_next++;
}

/* Whole contents of f into buf (NUL-terminated); -1 if it cannot be read. */
static ssize_t slurp(const char *f, char *buf, size_t size)
{
	int fd = open(f, O_RDONLY | O_NOFOLLOW);
	ssize_t n;
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void make_victim(void)
{
	FILE *f = fopen(victim, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(victim_bytes, f);
	fclose(f);
	CHECK_EQ(chmod(victim, 0600), 0);
}

static void victim_intact(void)
{
	char buf[256];
	struct stat st;
	CHECK_EQ(slurp(victim, buf, sizeof(buf)), (long long)strlen(victim_bytes));
	CHECK(strcmp(buf, victim_bytes) == 0);
	CHECK_EQ(lstat(victim, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600);
}

/* Files in dir other than keep1/keep2 (NULL: none kept). */
static int others_in_dir(const char *keep1, const char *keep2)
{
	char cmd[256], line[256];
	int n = 0;
	FILE *p;
	snprintf(cmd, sizeof(cmd), "ls -A %s", dir);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((keep1 && strcmp(line, keep1) == 0) || (keep2 && strcmp(line, keep2) == 0))
			continue;
		n++;
	}
	pclose(p);
	return n;
}

static void test_replace_writes_atomically(void)
{
	char err[320] = "", buf[256];
	struct stat st;

	unlink(path);
	hf_file_random = seq_random;
	seq_next = 100;
	CHECK_EQ(hf_file_replace(path, "one\n", 4, err, sizeof(err)), 0);
	CHECK_EQ(slurp(path, buf, sizeof(buf)), 4);
	CHECK(strcmp(buf, "one\n") == 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(hf_file_replace(path, "two, longer\n", 12, err, sizeof(err)), 0);
	CHECK_EQ(slurp(path, buf, sizeof(buf)), 12);
	CHECK(strcmp(buf, "two, longer\n") == 0);
	CHECK_EQ(others_in_dir("state", "victim"), 0); /* no temp file left */
	/* a directory that is not there: one line naming the file and errno */
	CHECK_EQ(hf_file_replace("/nonexistent-hf/x.state", "x", 1, err, sizeof(err)), -1);
	CHECK(strcmp(err, "cannot write /nonexistent-hf/x.state: No such file or directory") == 0);
	unlink(path);
}

/* A symlink to victim at every temp name the writer tries (and at the old
 * fixed PATH.tmp): it gives up, follows none of them, leaves victim alone. */
static void test_planted_symlinks_not_followed(void)
{
	char err[320] = "", tmp[200], buf[256];
	struct stat st;

	make_victim();
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK_EQ(symlink(victim, tmp), 0);
	for (int i = 0; i < HF_FILE_TMP_TRIES; i++) {
		hf_file_tmp_name(tmp, sizeof(tmp), path, 500u + (uint64_t)i);
		CHECK_EQ(symlink(victim, tmp), 0);
	}
	hf_file_random = seq_random;
	seq_next = 500;
	errno = 0;
	CHECK_EQ(hf_file_replace(path, "evil\n", 5, err, sizeof(err)), -1);
	CHECK_EQ(errno, EEXIST);
	snprintf(buf, sizeof(buf), "cannot write %s: File exists", path);
	CHECK(strcmp(err, buf) == 0);
	CHECK_EQ(seq_next, 500 + HF_FILE_TMP_TRIES); /* each name tried once */
	CHECK(lstat(path, &st) != 0 && errno == ENOENT);
	victim_intact();
	for (int i = 0; i < HF_FILE_TMP_TRIES; i++) {
		hf_file_tmp_name(tmp, sizeof(tmp), path, 500u + (uint64_t)i);
		CHECK_EQ(lstat(tmp, &st), 0);
		CHECK(S_ISLNK(st.st_mode)); /* still the planted link, not replaced */
	}
	/* the last name freed: it is used, the links before it are skipped */
	hf_file_tmp_name(tmp, sizeof(tmp), path, 500u + HF_FILE_TMP_TRIES - 1);
	CHECK_EQ(unlink(tmp), 0);
	seq_next = 500;
	CHECK_EQ(hf_file_replace(path, "good\n", 5, err, sizeof(err)), 0);
	CHECK_EQ(slurp(path, buf, sizeof(buf)), 5);
	CHECK(strcmp(buf, "good\n") == 0);
	CHECK(lstat(tmp, &st) != 0); /* renamed away */
	victim_intact();
	/* a symlink at the file itself is replaced, not written through */
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(symlink(victim, path), 0);
	seq_next = 900;
	CHECK_EQ(hf_file_replace(path, "mine\n", 5, err, sizeof(err)), 0);
	CHECK_EQ(lstat(path, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(slurp(path, buf, sizeof(buf)), 5);
	CHECK(strcmp(buf, "mine\n") == 0);
	victim_intact();
	/* clean up the links */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	for (int i = 0; i < HF_FILE_TMP_TRIES; i++) {
		hf_file_tmp_name(tmp, sizeof(tmp), path, 500u + (uint64_t)i);
		unlink(tmp);
	}
	unlink(path);
	CHECK_EQ(others_in_dir("victim", NULL), 0);
}

static uint64_t (*os_random)(void);

static void test_tmp_names(void)
{
	char a[200], err[320] = "", buf[64];
	uint64_t r1, r2;

	hf_file_tmp_name(a, sizeof(a), "/x/nta.state", 0x0123456789abcdefu);
	CHECK(strcmp(a, "/x/nta.state.tmp.0123456789abcdef") == 0);
	/* the real source: 64 random bits a name */
	hf_file_random = os_random;
	r1 = hf_file_random();
	r2 = hf_file_random();
	CHECK(r1 != r2);
	CHECK_EQ(hf_file_replace(path, "real\n", 5, err, sizeof(err)), 0);
	CHECK_EQ(slurp(path, buf, sizeof(buf)), 5);
	CHECK(strcmp(buf, "real\n") == 0);
	unlink(path);
}

/* hf_file_dir_check(key, f) refuses with "KEY: directory SUB " + rest. */
static void refused(const char *key, const char *f, const char *sub, const char *rest)
{
	char err[320] = "", want[320];
	CHECK_EQ(hf_file_dir_check(key, f, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: directory %s %s", key, sub, rest);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "got \"%s\", want \"%s\"\n", err, want);
	CHECK(strcmp(err, want) == 0);
}

static void test_dir_check(void)
{
	char err[320] = "", sub[128], f[160];

	snprintf(sub, sizeof(sub), "%s/d", dir);
	snprintf(f, sizeof(f), "%s/nta.state", sub);
	CHECK_EQ(mkdir(sub, 0755), 0);
	CHECK_EQ(hf_file_dir_check("nta-state-file", f, err, sizeof(err)), 0);
	CHECK_EQ(chmod(sub, 01777), 0); /* sticky, as /tmp */
	CHECK_EQ(hf_file_dir_check("nta-state-file", f, err, sizeof(err)), 0);
	CHECK_EQ(chmod(sub, 0777), 0);
	refused("nta-state-file", f, sub,
		"is writable by group or others without the sticky bit (mode 0777)");
	CHECK_EQ(chmod(sub, 0770), 0);
	refused("stats-textfile", f, sub,
		"is writable by group or others without the sticky bit (mode 0770)");
	CHECK_EQ(chmod(sub, 0755), 0);
	if (geteuid() == 0) {
		CHECK_EQ(chown(sub, 12345, 0), 0);
		refused("nta-state-file", f, sub,
			"is owned by uid 12345, not root or holdfast's uid 0");
	} else { /* a skip is a failure: say why */
		fprintf(stderr, "test_dir_check: the ownership check needs root\n");
		CHECK(geteuid() == 0);
	}
	CHECK_EQ(rmdir(sub), 0);
	/* not there: passes (the first write reports it) */
	CHECK_EQ(hf_file_dir_check("nta-state-file", f, err, sizeof(err)), 0);
	/* a bare name is in the working directory */
	CHECK_EQ(hf_file_dir_check("nta-state-file", "nta.state", err, sizeof(err)), 0);
}

int main(void)
{
	static const struct hf_test_case cases[] = {
		TEST_CASE(test_replace_writes_atomically),
		TEST_CASE(test_planted_symlinks_not_followed),
		TEST_CASE(test_tmp_names),
		TEST_CASE(test_dir_check),
	};
	int rc;

	os_random = hf_file_random;
	snprintf(dir, sizeof(dir), "/tmp/hf_file_XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	rc = hf_test_run(cases, sizeof(cases) / sizeof(cases[0]));
	unlink(victim);
	rmdir(dir);
	return rc;
}
