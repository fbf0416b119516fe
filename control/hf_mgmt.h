/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management protocol, shared by the server
 * (control/mgmt_server.c, on the control thread) and holdfastctl. Pure C: no DPDK.
 *
 * A connection carries one request and one reply. The request is one line,
 * at most HF_MGMT_REQ_MAX bytes with its newline:
 *	HF1 <json|text> <arg>[\t<arg>...]\n
 * the command line's arguments joined by tabs (no control characters in
 * them). The reply's first line is "OK" or "ERR <message>"; the rest is
 * the output, JSON (one object with "ok") or text.
 *
 * Both ends parse the arguments with hf_mgmt_parse(): holdfastctl to
 * reject a bad command line before it connects, the server because it
 * trusts nothing it reads.
 */
#ifndef HF_MGMT_H
#define HF_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/hf_config.h"

#define HF_MGMT_MAGIC	 "HF1"
#define HF_MGMT_MAX_ARGS 16
#define HF_MGMT_REQ_MAX	 4096 /* bytes of one request line, its newline included */

enum hf_mgmt_cmd {
	HF_CMD_STATUS = 0,
	HF_CMD_STATS,
	HF_CMD_NTA_ADD,
	HF_CMD_NTA_REMOVE,
	HF_CMD_NTA_LIST,
	HF_CMD_CACHE_LOOKUP,
	HF_CMD_CACHE_FLUSH,
	HF_CMD_CONFIG_GET,
	HF_CMD_CONFIG_SET,
	HF_CMD_TLS_RELOAD,
	HF_CMD_CACHE_SAVE,
	HF_CMD_RELOAD,
	HF_CMD_DRAIN, /* drain, undrain: the site marked out of service (fleet/) */
};

struct hf_mgmt_req {
	enum hf_mgmt_cmd cmd;
	bool per_core, reset, prometheus; /* stats */
	uint8_t name[255];		  /* nta, cache: lower-case wire form */
	size_t name_len;
	uint32_t lifetime_s, recheck_s; /* nta add */
	uint64_t expires_s;		/* nta add --expires (Unix time); 0: lifetime_s */
	char reason[HF_NTA_REASON_MAX + 1];
	bool has_type; /* cache lookup NAME TYPE */
	uint16_t qtype;
	bool subtree, bogus, all; /* cache flush */
	char key[64];		  /* config get/set */
	char value[128];
	bool drain; /* drain: true, undrain: false */
};

/* The serve-stale knobs `config get|set` reach (config key names). */
extern const char *const hf_mgmt_config_keys[];
extern const unsigned hf_mgmt_config_nkeys;

/*
 * Parse a command line (argv[0] is the command: "nta", "stats", ...).
 * Returns 0, HF_MGMT_HELP (*help points to the help text to print) or an
 * error with a one-line message in err.
 */
#define HF_MGMT_HELP 1
int hf_mgmt_parse(int argc, char *const *argv, struct hf_mgmt_req *r, const char **help, char *err,
		  size_t errlen);
/* Help for everything. */
extern const char hf_mgmt_usage[];

/*
 * The request line (the server's side): line holds len bytes without the
 * newline and a NUL behind them; it is split in place. Checks for no
 * control characters but tabs, "HF1 json|text ", at most HF_MGMT_MAX_ARGS
 * tab-separated arguments; sets *json, argv[0..*argc-1] (pointers into
 * line) and argv[*argc] = NULL. Returns 0, or -1 with a one-line message
 * in err.
 */
int hf_mgmt_split_request(char *line, size_t len, bool *json, int *argc, char **argv, char *err,
			  size_t errlen);
/*
 * The request line for json and argv[0..argc-1] (holdfastctl's side),
 * newline included, NUL-terminated in out (size bytes). Returns its length,
 * or -1 with a one-line message in err: an argument with a control
 * character, more than HF_MGMT_MAX_ARGS arguments, or a line longer than
 * HF_MGMT_REQ_MAX bytes (or size - 1). hf_mgmt_split_request takes it back
 * to the same arguments.
 */
int hf_mgmt_format_request(bool json, int argc, char *const *argv, char *out, size_t size,
			   char *err, size_t errlen);

/* ---- output: one emitter, JSON or "key: value" text ---- */

struct hf_emit {
	char *buf;
	size_t len, cap;
	bool json, oom;
	int depth;
	bool first[16]; /* no member written yet at this depth */
	bool in_array[16];
	bool item_start; /* text: the next key starts an array item ("- ") */
};

void hf_emit_init(struct hf_emit *e, bool json);
void hf_emit_free(struct hf_emit *e);
/* key is NULL inside arrays (and for the top-level object). */
void hf_emit_obj_begin(struct hf_emit *e, const char *key);
void hf_emit_obj_end(struct hf_emit *e);
void hf_emit_arr_begin(struct hf_emit *e, const char *key);
void hf_emit_arr_end(struct hf_emit *e);
void hf_emit_str(struct hf_emit *e, const char *key, const char *v);
void hf_emit_u64(struct hf_emit *e, const char *key, uint64_t v);
/* A Unix time: seconds in JSON, ISO 8601 UTC in text. */
void hf_emit_time(struct hf_emit *e, const char *key, uint64_t unix_s);
void hf_emit_bool(struct hf_emit *e, const char *key, bool v);
void hf_emit_null(struct hf_emit *e, const char *key);
/* Raw bytes appended as they are (text output only, e.g. Prometheus). */
void hf_emit_raw(struct hf_emit *e, const char *s, size_t n);
void __attribute__((format(printf, 2, 3))) hf_emit_rawf(struct hf_emit *e, const char *fmt, ...);

#endif
