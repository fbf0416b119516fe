/* SPDX-License-Identifier: BSD-3-Clause */
/* holdfast dataplane/: the TLS server context of DNS over TLS (RFC 7858, RFC 8310). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/hf_common.h"
#include "dataplane/hf_transport.h"

/* ALPN (RFC 7301): "dot" when the client offers it (RFC 8310 8.1);
 * a client that offers only other protocols goes on without ALPN. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char dot[] = {3, 'd', 'o', 't'};
	unsigned char *sel = NULL;
	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, dot, sizeof(dot), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* One line: "KEY: PATH: what" with OpenSSL's reason when it has one. */
static void tls_err(char *err, size_t errlen, const char *key, const char *path, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(err, errlen, "%s: %s: %s%s%s", key, path, what, r ? ": " : "", r ? r : "");
	ERR_clear_error();
}

static bool readable(const char *key, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot read %s: %s", key, path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

/* TLS 1.3 cipher suites, ours first (SSL_OP_CIPHER_SERVER_PREFERENCE):
 * AES-128-GCM where the CPU has AES instructions. It is fewer AES rounds
 * than OpenSSL's first choice AES-256-GCM-SHA384, and its SHA-256 (the
 * handshake's transcript and key schedule) has instructions of its own on
 * current x86 CPUs where SHA-384 has none. ChaCha20 first without AES-NI. */
static const char *tls13_suites(void)
{
	static const char aes_first[] =
		"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
#if defined(__x86_64__)
	if (!__builtin_cpu_supports("aes"))
		return "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
		       "TLS_AES_256_GCM_SHA384";
#endif
	return aes_first;
}

SSL_CTX *hf_tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	static const unsigned char sid[] = "holdfast-dot";
	SSL_CTX *ctx;

	if (!readable("tls-certificate", cert, err, errlen) ||
	    !readable("tls-key", key, err, errlen))
		return NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "tls: cannot create an OpenSSL context");
		return NULL;
	}
	/* TLS 1.2 and 1.3 (RFC 8310 8.1: nothing older) */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_set_ciphersuites(ctx, tls13_suites()) != 1) {
		snprintf(err, errlen, "tls: OpenSSL has none of the TLS 1.3 cipher suites");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, "tls-certificate", cert, "not a PEM certificate chain");
		goto fail;
	}
	{
		/* read apart from using it: OpenSSL's use-file fails a key that
		 * does not match the same way as one that does not parse */
		FILE *f = fopen(key, "r");
		EVP_PKEY *pk = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
		bool ok;
		if (f != NULL)
			fclose(f);
		if (pk == NULL) {
			tls_err(err, errlen, "tls-key", key, "not a PEM private key");
			goto fail;
		}
		ok = SSL_CTX_use_PrivateKey(ctx, pk) == 1 && SSL_CTX_check_private_key(ctx) == 1;
		EVP_PKEY_free(pk);
		if (!ok) {
			snprintf(err, errlen, "tls-key: %s: does not match tls-certificate %s", key,
				 cert);
			ERR_clear_error();
			goto fail;
		}
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	/* resumption: TLS 1.3 tickets (OpenSSL's default) and the TLS 1.2
	 * session cache, which needs a session ID context */
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, 16384);
	/* one TLS 1.3 ticket after each handshake, not OpenSSL's two: each
	 * is an encryption and a record of its own, on resumed handshakes
	 * too, and one resumes the next connection (OpenSSL takes a ticket
	 * again, early data is off) */
	SSL_CTX_set_num_tickets(ctx, 1);
	/* answers are written from a buffer that moves as it grows, a piece
	 * at a time when the socket is full. The record buffers stay with
	 * the connection (no SSL_MODE_RELEASE_BUFFERS: that frees and
	 * allocates them again on every read and write) */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* read as much as the socket has into the record buffer: a client's
	 * queries are a record each, and without this OpenSSL reads each
	 * record with two system calls (its header, then its body) */
	SSL_CTX_set_read_ahead(ctx, 1);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
