/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfastctl: the management CLI. Parses the command line with the
 * server's own parser (hf_mgmt.h), sends one request on the management
 * socket and prints the reply. Exit status: 0 ok, 1 holdfast said no,
 * 2 usage error, 3 holdfast could not be reached.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "control/hf_mgmt.h"
#include "control/hf_mgmt_client.h"
#include "fleet/hf_fleet_ctl.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "holdfastctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (holdfastctl --help)\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("HOLDFAST_CONTROL_SOCKET");
	bool json = false, fleet = false;
	struct hf_fleet_opts fo = {0};
	uint64_t timeout_ms = 15000;
	struct hf_mgmt_req req;
	const char *help;
	char err[512], req_line[HF_MGMT_REQ_MAX + 1], *reply = NULL, *body;
	const char *errmsg;
	size_t len = 0, rl = 0;
	bool refused = false;
	int i, rc, ln;

	if (sock == NULL || sock[0] == '\0')
		sock = "/run/holdfast/control.sock";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(fleet ? hf_fleet_usage : hf_mgmt_usage, stdout);
			return EXIT_OK;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--fleet") == 0) {
			fleet = true; /* the fleet's state in etcd: fleet/fleet_ctl.c */
		} else if (strcmp(a, "--etcd") == 0 || strcmp(a, "--prefix") == 0) {
			if (++i >= argc)
				return usage_error("%s needs a value", a);
			*(a[2] == 'e' ? &fo.etcd : &fo.prefix) = argv[i];
		} else if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
			if (++i >= argc)
				return usage_error("%s needs a path", a);
			sock = argv[i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			sock = a + 9;
		} else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
			const char *v = a[9] == '=' ? a + 10 : (++i < argc ? argv[i] : NULL);
			if (v == NULL || hf_parse_duration_ms(v, &timeout_ms) != 0 ||
			    timeout_ms == 0)
				return usage_error(
					"--timeout needs a duration such as 5s, not \"%s\"",
					v ? v : "");
		} else if (a[0] == '-') {
			return usage_error("unknown option \"%s\"", a);
		} else {
			break;
		}
	}
	if (fleet) {
		fo.json = json;
		fo.timeout_ms = timeout_ms;
		return hf_fleet_ctl(argc - i, argv + i, &fo);
	}
	if (i >= argc)
		return usage_error("%s", "no command given");
	rc = hf_mgmt_parse(argc - i, argv + i, &req, &help, err, sizeof(err));
	if (rc == HF_MGMT_HELP) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	if (rc != 0) {
		fprintf(stderr, "holdfastctl: %s\n", err);
		return EXIT_USAGE;
	}
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "holdfastctl: socket path too long: %s\n", sock);
		return EXIT_USAGE;
	}

	/* the request line: HF1 <json|text> args joined by tabs */
	ln = hf_mgmt_format_request(json, argc - i, argv + i, req_line, sizeof(req_line), err,
				    sizeof(err));
	if (ln < 0) {
		fprintf(stderr, "holdfastctl: %s\n", err);
		return EXIT_USAGE;
	}
	rl = (size_t)ln;

	if (hf_mgmt_exchange(sock, req_line, rl, timeout_ms, &reply, &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "holdfastctl: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	if (hf_mgmt_split_reply(reply, &body, &refused, &errmsg) == 0 && !refused) {
		fputs(body, stdout);
		rc = EXIT_OK;
	} else if (body != NULL && refused) {
		fprintf(stderr, "holdfastctl: %s\n", errmsg);
		fputs(body, stdout); /* with --json: {"ok":false,"error":...} */
		rc = EXIT_REFUSED;
	} else {
		fprintf(stderr, "holdfastctl: %s: reply is not a holdfast reply\n", sock);
		rc = EXIT_UNREACHABLE;
	}
	free(reply);
	return rc;
}
