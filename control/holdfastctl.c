/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfastctl: the management CLI. Parses the command line with the
 * server's own parser (hf_mgmt.h), sends one request on the management
 * socket and prints the reply. Exit status: 0 ok, 1 holdfast said no,
 * 2 usage error, 3 holdfast could not be reached.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/hf_mgmt.h"

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

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait for fd to be ready for events until deadline; false on timeout. */
static bool wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		uint64_t now = now_ms();
		int rc;
		if (now >= deadline)
			return false;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc > 0)
			return true;
		if (rc == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

/*
 * Send the request line and read the whole reply (the server closes the
 * connection after it). 0 with *out (NUL-terminated, the caller frees) and
 * *outlen, or EXIT_UNREACHABLE after one line on stderr.
 */
static int exchange(const char *sock, const char *req_line, size_t rl, uint64_t timeout_ms,
		    char **out, size_t *outlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *reply = NULL;
	size_t cap = 0, len = 0;
	uint64_t deadline;
	int fd;

	deadline = now_ms() + timeout_ms;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "holdfastctl: cannot connect to %s: %s\n", sock, strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < rl;) {
		ssize_t n;
		if (!wait_fd(fd, POLLOUT, deadline)) {
			fprintf(stderr, "holdfastctl: %s: timed out sending the request\n", sock);
			goto fail;
		}
		n = send(fd, req_line + off, rl - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* it hung up first ("ERR busy"): what it said is below */
		if (n <= 0) {
			fprintf(stderr, "holdfastctl: %s: %s\n", sock, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;
		if (len + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(reply, cap);
			if (nb == NULL)
				goto fail;
			reply = nb;
		}
		if (!wait_fd(fd, POLLIN, deadline)) {
			fprintf(stderr, "holdfastctl: %s: no reply within %llums\n", sock,
				(unsigned long long)timeout_ms);
			goto fail;
		}
		n = recv(fd, reply + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET && len > 0)
			break; /* closed with our request unread, after its reply */
		if (n < 0) {
			fprintf(stderr, "holdfastctl: %s: %s\n", sock, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	if (reply == NULL || len == 0) {
		fprintf(stderr, "holdfastctl: %s: connection closed without a reply\n", sock);
		goto fail;
	}
	*out = reply;
	*outlen = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(reply);
	return EXIT_UNREACHABLE;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("HOLDFAST_CONTROL_SOCKET");
	bool json = false;
	uint64_t timeout_ms = 15000;
	struct hf_mgmt_req req;
	const char *help;
	char err[512], req_line[HF_MGMT_REQ_MAX + 1], *reply = NULL, *body;
	size_t len = 0, rl = 0;
	int i, rc, ln;

	if (sock == NULL || sock[0] == '\0')
		sock = "/run/holdfast/control.sock";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(hf_mgmt_usage, stdout);
			return EXIT_OK;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
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

	rc = exchange(sock, req_line, rl, timeout_ms, &reply, &len);
	if (rc != 0)
		return rc;
	reply[len] = '\0';
	body = strchr(reply, '\n');
	if (body != NULL)
		*body++ = '\0';
	if (body != NULL && strcmp(reply, "OK") == 0) {
		fputs(body, stdout);
		rc = EXIT_OK;
	} else if (body != NULL && strncmp(reply, "ERR ", 4) == 0) {
		fprintf(stderr, "holdfastctl: %s\n", reply + 4);
		fputs(body, stdout); /* with --json: {"ok":false,"error":...} */
		rc = EXIT_REFUSED;
	} else {
		fprintf(stderr, "holdfastctl: %s: reply is not a holdfast reply\n", sock);
		rc = EXIT_UNREACHABLE;
	}
	free(reply);
	return rc;
}
