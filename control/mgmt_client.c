/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the client side of the management socket
 * (hf_mgmt_client.h): holdfastctl's exchange, shared with the fleet agent.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/hf_mgmt.h"
#include "control/hf_mgmt_client.h"

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

int hf_mgmt_exchange(const char *sock, const char *req_line, size_t rl, uint64_t timeout_ms,
		     char **out, size_t *outlen, char *err, size_t errlen)
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
		snprintf(err, errlen, "cannot connect to %s: %s", sock, strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < rl;) {
		ssize_t n;
		if (!wait_fd(fd, POLLOUT, deadline)) {
			snprintf(err, errlen, "%s: timed out sending the request", sock);
			goto fail;
		}
		n = send(fd, req_line + off, rl - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* it hung up first ("ERR busy"): what it said is below */
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", sock, strerror(errno));
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
			if (nb == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			reply = nb;
		}
		if (!wait_fd(fd, POLLIN, deadline)) {
			snprintf(err, errlen, "%s: no reply within %llums", sock,
				 (unsigned long long)timeout_ms);
			goto fail;
		}
		n = recv(fd, reply + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET && len > 0)
			break; /* closed with our request unread, after its reply */
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", sock, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	if (reply == NULL || len == 0) {
		snprintf(err, errlen, "%s: connection closed without a reply", sock);
		goto fail;
	}
	reply[len] = '\0';
	*out = reply;
	*outlen = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(reply);
	return -1;
}

int hf_mgmt_split_reply(char *reply, char **body, bool *refused, const char **errmsg)
{
	char *b = strchr(reply, '\n');
	if (b != NULL)
		*b++ = '\0';
	*body = b;
	if (b != NULL && strcmp(reply, "OK") == 0) {
		*refused = false;
		*errmsg = "";
		return 0;
	}
	if (b != NULL && strncmp(reply, "ERR ", 4) == 0) {
		*refused = true;
		*errmsg = reply + 4;
		return 0;
	}
	return -1;
}

int hf_mgmt_call(const char *sock, bool json, int argc, char *const *argv, uint64_t timeout_ms,
		 char **reply, char **body, bool *refused, char *err, size_t errlen)
{
	char line[HF_MGMT_REQ_MAX + 1];
	const char *msg;
	size_t len;
	int ln = hf_mgmt_format_request(json, argc, argv, line, sizeof(line), err, errlen);

	*reply = NULL;
	if (ln < 0)
		return -1;
	if (hf_mgmt_exchange(sock, line, (size_t)ln, timeout_ms, reply, &len, err, errlen) != 0)
		return -1;
	if (hf_mgmt_split_reply(*reply, body, refused, &msg) != 0) {
		snprintf(err, errlen, "%s: reply is not a holdfast reply", sock);
		free(*reply);
		*reply = NULL;
		return -1;
	}
	snprintf(err, errlen, "%s", msg);
	return 0;
}
