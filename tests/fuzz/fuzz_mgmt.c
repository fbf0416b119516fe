/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the management command parser (control/mgmt_cmd.c) over
 * arbitrary argument vectors (the input split at tabs, as the server splits
 * a request line), and the JSON/text emitter over what it parsed. Checks
 * that parsing never crashes or overreads, that an error always comes with
 * a one-line message, and that a parsed NTA/cache name is a valid
 * lower-cased wire name.
 */
#include <stdlib.h>
#include <string.h>

#include "control/hf_mgmt.h"
#include "dns/hf_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                        \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[HF_MGMT_MAX_ARGS + 1], err[512];
	int argc = 0;
	struct hf_mgmt_req r;
	const char *help = NULL;
	int rc;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; p != NULL && argc < HF_MGMT_MAX_ARGS;) {
		char *t = strchr(p, '\t');
		if (t != NULL)
			*t++ = '\0';
		argv[argc++] = p;
		p = t;
	}
	argv[argc] = NULL;
	err[0] = '\0';
	rc = hf_mgmt_parse(argc, argv, &r, &help, err, sizeof(err));
	if (rc == HF_MGMT_HELP) {
		REQUIRE(help != NULL && help[0] != '\0');
	} else if (rc != 0) {
		REQUIRE(err[0] != '\0' && strchr(err, '\n') == NULL);
	} else {
		struct hf_emit e;
		char nm[HF_DNS_NAME_MAX * 4 + 8];
		if (r.name_len) {
			size_t i = 0;
			REQUIRE(r.name_len <= HF_DNS_NAME_MAX);
			while (r.name[i] != 0) {
				i += 1u + r.name[i];
				REQUIRE(i < r.name_len);
			}
			REQUIRE(i == r.name_len - 1);
			for (i = 0; i < r.name_len; i++)
				REQUIRE(!(r.name[i] >= 'A' && r.name[i] <= 'Z'));
			REQUIRE(hf_dns_name_to_str(r.name, r.name_len, nm, sizeof(nm)) >= 0);
		} else {
			strcpy(nm, "-");
		}
		if (r.cmd == HF_CMD_NTA_ADD)
			REQUIRE(r.lifetime_s >= 1 && r.lifetime_s <= HF_NTA_LIFETIME_MAX &&
				strlen(r.reason) <= HF_NTA_REASON_MAX);
		for (int json = 0; json < 2; json++) {
			hf_emit_init(&e, json);
			hf_emit_obj_begin(&e, NULL);
			hf_emit_str(&e, "name", nm);
			hf_emit_str(&e, "reason", r.reason);
			hf_emit_arr_begin(&e, "args");
			for (int i = 0; i < argc; i++)
				hf_emit_str(&e, NULL, argv[i]);
			hf_emit_arr_end(&e);
			hf_emit_obj_end(&e);
			REQUIRE(!e.oom && e.buf != NULL && e.len == strlen(e.buf));
			hf_emit_free(&e);
		}
	}
	free(buf);
	return 0;
}
