/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: files holdfast (often root) writes into directories
 * someone else may write too: nta-state-file, stats-textfile and
 * cache-snapshot.
 */
#ifndef HF_FILE_H
#define HF_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Temp names tried before giving up (each from 64 random bits). */
#define HF_FILE_TMP_TRIES 8

/*
 * Replace path with len bytes of buf atomically: a new temp file beside it
 * (PATH.tmp.<16 hex digits>, created O_CREAT|O_EXCL|O_NOFOLLOW, so nothing
 * planted at that name, a symlink included, is followed or reused), the
 * bytes, fsync, rename over path, fsync of the directory. 0, or -1 with
 * err set to one line naming path and the errno text ("cannot write PATH:
 * Read-only file system"); nothing is left behind on failure.
 */
int hf_file_replace(const char *path, const void *buf, size_t len, char *err, size_t errlen);

/* Rename a file that does not parse to PATH.corrupt (its name in bad, size
 * bytes), for a look later: 0, or -1 with errno set. */
int hf_file_set_aside(const char *path, char *bad, size_t size);

/* The temp name of path for the random value r (what hf_file_replace tries). */
void hf_file_tmp_name(char *out, size_t size, const char *path, uint64_t r);

/* Where hf_file_replace's random values come from (tests replace it). */
extern uint64_t (*hf_file_random)(void);

/*
 * The directory of path is safe to write into as this process: owned by
 * root or this process's uid, and not writable by group or others unless
 * sticky. 0, or -1 with err set to one line naming the directory (what is
 * the name of the setting: key). A directory that does not exist passes:
 * the first write reports it.
 */
int hf_file_dir_check(const char *key, const char *path, char *err, size_t errlen);

#endif
