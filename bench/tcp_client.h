/* What bench/conn_rate and bench/stream_load share: the clock, a framed
 * query, the DoT client context and the latency summary. Header-only: two
 * small programs, one translation unit each. */
#ifndef HF_BENCH_TCP_CLIENT_H
#define HF_BENCH_TCP_CLIENT_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* NAME TYPE IN, RD, ID 0, after its two-byte length, into q (cap bytes);
 * its length with the prefix, or 0 when NAME is not a name or too long */
static inline size_t build_query(uint8_t *q, size_t cap, const char *name, uint16_t type)
{
	size_t n = 2 + 12;

	if (cap < n)
		return 0;
	memset(q, 0, n);
	q[2 + 2] = 0x01; /* RD */
	q[2 + 5] = 1;	 /* QDCOUNT */
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = dot != NULL ? (size_t)(dot - name) : strlen(name);
		if (l == 0 || l > 63 || n + l + 6 > cap)
			return 0;
		q[n++] = (uint8_t)l;
		memcpy(q + n, name, l);
		n += l;
		name += l + (dot != NULL);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(type >> 8), q[n++] = (uint8_t)type;
	q[n++] = 0, q[n++] = 1; /* IN */
	q[0] = (uint8_t)((n - 2) >> 8), q[1] = (uint8_t)(n - 2);
	return n;
}

/* A DoT client: ALPN "dot", the server's certificate checked against CA;
 * NULL after printing OpenSSL's errors */
static inline SSL_CTX *dot_client_ctx(const char *ca)
{
	static const unsigned char alpn[] = {3, 'd', 'o', 't'};
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static inline int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* " latency_avg_us A latency_p50_us P latency_p99_us P" of n samples (us),
 * which it sorts, and the line's end */
static inline void print_latency(uint32_t *lat, size_t n)
{
	double sum = 0;

	qsort(lat, n, sizeof(*lat), cmp_u32);
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	printf(" latency_avg_us %.0f latency_p50_us %u latency_p99_us %u\n",
	       n ? sum / (double)n : 0.0, n ? lat[n / 2] : 0, n ? lat[n * 99 / 100] : 0);
}

#endif
