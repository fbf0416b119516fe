/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the management protocol (control/mgmt_cmd.c) over
 * arbitrary request lines, as the server takes them (up to the first
 * newline, at most HF_MGMT_REQ_MAX bytes with it): hf_mgmt_split_request,
 * hf_mgmt_parse on the arguments, and the JSON/text emitter over what it
 * parsed. Checks that nothing crashes or overreads; that every error comes
 * with a one-line message without control characters; that a line the
 * server splits is exactly what holdfastctl's hf_mgmt_format_request makes
 * of the same arguments (so the two ends agree on every request); and that
 * a parsed NTA/cache name is a valid lower-cased wire name.
 */
#include <stdlib.h>
#include <string.h>

#include "control/hf_mgmt.h"
#include "dns/hf_dns.h"
#include "tests/fuzz/hf_fuzz.h"

/* a one-line message: not empty, no control characters */
static void check_err(const char *err)
{
	REQUIRE(err[0] != '\0');
	for (const char *p = err; *p; p++)
		REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[HF_MGMT_MAX_ARGS + 1], err[512];
	static char line[HF_MGMT_REQ_MAX + 1];
	const uint8_t *nl = memchr(data, '\n', size);
	int argc = 0, n;
	struct hf_mgmt_req r;
	const char *help = NULL;
	bool as_json = false;
	int rc;

	if (nl != NULL)
		size = (size_t)(nl - data);
	if (size + 1 > HF_MGMT_REQ_MAX)
		return 0;
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	err[0] = '\0';
	if (hf_mgmt_split_request(buf, size, &as_json, &argc, argv, err, sizeof(err)) != 0) {
		check_err(err);
		free(buf);
		return 0;
	}
	REQUIRE(argc >= 1 && argc <= HF_MGMT_MAX_ARGS && argv[argc] == NULL);
	n = hf_mgmt_format_request(as_json, argc, argv, line, sizeof(line), err, sizeof(err));
	REQUIRE(n == (int)size + 1 && line[size] == '\n' && line[n] == '\0');
	REQUIRE(memcmp(line, data, size) == 0);
	err[0] = '\0';
	rc = hf_mgmt_parse(argc, argv, &r, &help, err, sizeof(err));
	if (rc == HF_MGMT_HELP) {
		REQUIRE(help != NULL && help[0] != '\0');
	} else if (rc != 0) {
		check_err(err);
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
