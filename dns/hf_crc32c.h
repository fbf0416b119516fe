/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CRC32-C (Castagnoli), no initial or final inversion: the SSE4.2 crc32
 * instruction (3 cycles, 8 bytes a step; meson.build builds for SSE4.2 on
 * x86_64, which DPDK needs anyway), a bitwise loop elsewhere. The bytes
 * are taken in memory order, so the result does not depend on how they
 * are cut into steps: a name hashed 8 bytes at a time while it is copied
 * gives what hf_crc32c() gives over the copy.
 */
#ifndef HF_CRC32C_H
#define HF_CRC32C_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
static inline uint32_t hf_crc32c_u8(uint32_t c, uint8_t v)
{
	return _mm_crc32_u8(c, v);
}
static inline uint32_t hf_crc32c_u16(uint32_t c, uint16_t v)
{
	return _mm_crc32_u16(c, v);
}
static inline uint32_t hf_crc32c_u32(uint32_t c, uint32_t v)
{
	return _mm_crc32_u32(c, v);
}
static inline uint32_t hf_crc32c_u64(uint32_t c, uint64_t v)
{
	return (uint32_t)_mm_crc32_u64(c, v);
}
#else
static inline uint32_t hf_crc32c_u8(uint32_t c, uint8_t v)
{
	c ^= v;
	for (int k = 0; k < 8; k++)
		c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
	return c;
}
/* the low byte first: memory order on a little-endian CPU */
static inline uint32_t hf_crc32c_u16(uint32_t c, uint16_t v)
{
	return hf_crc32c_u8(hf_crc32c_u8(c, (uint8_t)v), (uint8_t)(v >> 8));
}
static inline uint32_t hf_crc32c_u32(uint32_t c, uint32_t v)
{
	return hf_crc32c_u16(hf_crc32c_u16(c, (uint16_t)v), (uint16_t)(v >> 16));
}
static inline uint32_t hf_crc32c_u64(uint32_t c, uint64_t v)
{
	return hf_crc32c_u32(hf_crc32c_u32(c, (uint32_t)v), (uint32_t)(v >> 32));
}
#endif

/* CRC32-C continued over the low n (< 8) bytes of x, the bytes of a
 * little-endian load: the end of a name the parser holds in a register. */
static inline uint32_t hf_crc32c_low(uint32_t c, uint64_t x, unsigned n)
{
	if (n & 4) {
		c = hf_crc32c_u32(c, (uint32_t)x);
		x >>= 32;
	}
	if (n & 2) {
		c = hf_crc32c_u16(c, (uint16_t)x);
		x >>= 16;
	}
	if (n & 1)
		c = hf_crc32c_u8(c, (uint8_t)x);
	return c;
}

/* CRC32-C of p[0..n) continuing from c. */
static inline uint32_t hf_crc32c(const void *buf, size_t n, uint32_t c)
{
	const uint8_t *p = buf;
	uint64_t v = 0;
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		c = hf_crc32c_u64(c, v);
	}
	v = 0;
	memcpy(&v, p, n);
	return hf_crc32c_low(c, v, (unsigned)n);
}

#endif
