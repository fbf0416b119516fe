/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the client side of the management socket
 * (control/mgmt_client.c), shared by holdfastctl and the fleet agent
 * (fleet/). Pure C: no DPDK. One request, one reply (hf_mgmt.h).
 */
#ifndef HF_MGMT_CLIENT_H
#define HF_MGMT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Send the request line (req_line, rl bytes, its newline included) to the
 * socket at sock and read the whole reply (the server closes the
 * connection after it), within timeout_ms. 0 with *out (NUL-terminated,
 * the caller frees) and *outlen, or -1 with a one-line message in err.
 */
int hf_mgmt_exchange(const char *sock, const char *req_line, size_t rl, uint64_t timeout_ms,
		     char **out, size_t *outlen, char *err, size_t errlen);

/*
 * Split a reply (len bytes, NUL behind them) in place: its first line is
 * "OK" or "ERR message". 0 with *body behind the first line, *refused and
 * *errmsg (the message, or "") set; -1 when it is not a holdfast reply.
 */
int hf_mgmt_split_reply(char *reply, char **body, bool *refused, const char **errmsg);

/*
 * Format argv[0..argc-1] as a request (hf_mgmt_format_request), exchange it
 * and split the reply: 0 with *reply (the caller frees) and *body pointing
 * into it behind the first line; *refused is set when holdfast said "ERR"
 * (then err holds its message). -1: not reached, or not a holdfast reply
 * (err says why).
 */
int hf_mgmt_call(const char *sock, bool json, int argc, char *const *argv, uint64_t timeout_ms,
		 char **reply, char **body, bool *refused, char *err, size_t errlen);

#endif
