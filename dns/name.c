/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast dns/: domain names (wire and presentation form) and type
 * mnemonics. Every reader is bounded by the length it is given.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "dns/hf_dns.h"

const uint8_t hf_dns_lower[256] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
	0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,
	0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
	0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
	0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
	0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4,
	0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3,
	0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2,
	0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1,
	0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0,
	0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
	0xff,
};

/*
 * Walk the name at msg[*pos]. out may be NULL (skip). Pointer rule: the
 * first pointer must point strictly before itself; every later pointer
 * strictly before the previous pointer's target. Since labels are read
 * forward from a target, each pointer also points strictly before itself,
 * and the chain of targets strictly decreases: no loops.
 */
static int name_walk(const uint8_t *msg, size_t msg_len, size_t *pos, uint8_t *out, size_t *out_len)
{
	size_t p = *pos;
	size_t limit = SIZE_MAX; /* pointer targets must be < limit */
	size_t end = 0;		 /* where the name ends as it stands at *pos */
	size_t n = 0;		 /* uncompressed length so far */

	for (;;) {
		if (HF_UNLIKELY(p >= msg_len))
			return hf_error(HF_EMALFORMED);
		uint8_t l = msg[p];
		if (l >= 0xc0) {
			if (HF_UNLIKELY(p + 1 >= msg_len))
				return hf_error(HF_EMALFORMED);
			size_t t = ((size_t)(l & 0x3f) << 8) | msg[p + 1];
			if (limit == SIZE_MAX) {
				end = p + 2;
				limit = p;
			}
			if (HF_UNLIKELY(t >= limit))
				return hf_error(HF_EMALFORMED);
			limit = t;
			p = t;
			continue;
		}
		if (HF_UNLIKELY(l > HF_DNS_LABEL_MAX)) /* 0x40, 0x80 label types */
			return hf_error(HF_EMALFORMED);
		if (l == 0) {
			if (out)
				out[n] = 0;
			n++;
			if (limit == SIZE_MAX)
				end = p + 1;
			break;
		}
		if (HF_UNLIKELY(p + 1 + l > msg_len))
			return hf_error(HF_EMALFORMED);
		/* the label plus the root label that must still follow */
		if (HF_UNLIKELY(n + 1 + l + 1 > HF_DNS_NAME_MAX))
			return hf_error(HF_EMALFORMED);
		if (out)
			memcpy(out + n, msg + p, 1u + l);
		n += 1u + l;
		p += 1u + l;
	}
	*pos = end;
	if (out_len)
		*out_len = n;
	return 0;
}

int hf_dns_name_unpack(const uint8_t *msg, size_t msg_len, size_t *pos, uint8_t *out,
		       size_t *out_len)
{
	return name_walk(msg, msg_len, pos, out, out_len);
}

int hf_dns_name_skip(const uint8_t *msg, size_t msg_len, size_t *pos)
{
	return name_walk(msg, msg_len, pos, NULL, NULL);
}

/* Label length bytes are <= 63, below 'A', so the table leaves them alone. */
void hf_dns_name_lower(uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		name[i] = hf_dns_lower[name[i]];
}

bool hf_dns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (hf_dns_lower[a[i]] != hf_dns_lower[b[i]])
			return false;
	return true;
}

bool hf_dns_name_is_sub(const uint8_t *name, size_t len, const uint8_t *parent, size_t plen)
{
	size_t i = 0;

	if (plen == 0 || plen > len)
		return false;
	while (i < len && len - i > plen) {
		uint8_t l = name[i];
		if (l == 0 || l > HF_DNS_LABEL_MAX)
			return false;
		i += 1u + l;
	}
	if (i >= len || len - i != plen)
		return false;
	return hf_dns_name_equal(name + i, plen, parent, plen);
}

unsigned hf_dns_name_labels(const uint8_t *name, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len && name[i] != 0; i += 1u + name[i])
		n++;
	return n;
}

bool hf_dns_name_on_path(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen >= blen ? hf_dns_name_is_sub(a, alen, b, blen)
			    : hf_dns_name_is_sub(b, blen, a, alen);
}

/* Characters written as \c in presentation form. */
static bool name_special(uint8_t c)
{
	return c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
	       c == '$';
}

const char *hf_dns_name_str(const uint8_t *name, size_t len, char *buf, size_t size)
{
	if (hf_dns_name_to_str(name, len, buf, size) < 0)
		snprintf(buf, size, "?");
	return buf;
}

int hf_dns_name_to_str(const uint8_t *name, size_t len, char *buf, size_t size)
{
	size_t i = 0, o = 0;

	if (len == 0 || len > HF_DNS_NAME_MAX)
		return hf_error(HF_EINVAL);
	if (name[0] == 0) {
		if (size < 2)
			return hf_error(HF_ESPACE);
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	while (i < len) {
		uint8_t l = name[i];
		if (l == 0)
			break;
		if (l > HF_DNS_LABEL_MAX || i + 1 + l >= len)
			return hf_error(HF_EINVAL);
		for (size_t k = i + 1; k <= i + l; k++) {
			uint8_t c = name[k];
			if (name_special(c)) {
				if (o + 2 >= size)
					return hf_error(HF_ESPACE);
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else if (c <= 0x20 || c >= 0x7f) {
				if (o + 4 >= size)
					return hf_error(HF_ESPACE);
				buf[o++] = '\\';
				buf[o++] = (char)('0' + c / 100);
				buf[o++] = (char)('0' + c / 10 % 10);
				buf[o++] = (char)('0' + c % 10);
			} else {
				if (o + 1 >= size)
					return hf_error(HF_ESPACE);
				buf[o++] = (char)c;
			}
		}
		if (o + 1 >= size)
			return hf_error(HF_ESPACE);
		buf[o++] = '.';
		i += 1u + l;
	}
	if (i + 1 != len) /* the root label must be the last byte */
		return hf_error(HF_EINVAL);
	buf[o] = 0;
	return (int)o;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int hf_dns_name_from_str(const char *str, uint8_t *out, size_t *out_len)
{
	size_t n, lenpos = 0, lablen = 0;
	const char *s = str;

	if (!str || !*str)
		return hf_error(HF_EINVAL);
	if (str[0] == '.' && str[1] == 0) {
		out[0] = 0;
		*out_len = 1;
		return 0;
	}
	n = 1; /* out[0] is the first label's length byte */
	while (*s) {
		uint8_t c = (uint8_t)*s++;
		if (c == '.') {
			if (lablen == 0)
				return hf_error(HF_EINVAL); /* empty label */
			out[lenpos] = (uint8_t)lablen;
			if (*s == 0) { /* trailing dot */
				lablen = 0;
				break;
			}
			lenpos = n++;
			lablen = 0;
			continue;
		}
		if (c == '\\') {
			if (is_digit(s[0])) {
				if (!is_digit(s[1]) || !is_digit(s[2]))
					return hf_error(HF_EINVAL);
				unsigned v = (unsigned)(s[0] - '0') * 100 +
					     (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
				if (v > 255)
					return hf_error(HF_EINVAL);
				c = (uint8_t)v;
				s += 3;
			} else if (*s) {
				c = (uint8_t)*s++;
			} else {
				return hf_error(HF_EINVAL);
			}
		}
		/* room for this byte and the root label */
		if (lablen == HF_DNS_LABEL_MAX || n + 2 > HF_DNS_NAME_MAX)
			return hf_error(HF_EINVAL);
		out[n++] = c;
		lablen++;
	}
	if (lablen)
		out[lenpos] = (uint8_t)lablen;
	out[n++] = 0;
	*out_len = n;
	return 0;
}

/* ---- type mnemonics ---- */

struct type_name {
	uint16_t type;
	const char *name;
};

static const struct type_name type_names[] = {
	{1, "A"},	  {2, "NS"},	      {3, "MD"},	  {4, "MF"},	  {5, "CNAME"},
	{6, "SOA"},	  {7, "MB"},	      {8, "MG"},	  {9, "MR"},	  {10, "NULL"},
	{11, "WKS"},	  {12, "PTR"},	      {13, "HINFO"},	  {14, "MINFO"},  {15, "MX"},
	{16, "TXT"},	  {17, "RP"},	      {18, "AFSDB"},	  {19, "X25"},	  {20, "ISDN"},
	{21, "RT"},	  {22, "NSAP"},	      {23, "NSAP-PTR"},	  {24, "SIG"},	  {25, "KEY"},
	{26, "PX"},	  {27, "GPOS"},	      {28, "AAAA"},	  {29, "LOC"},	  {30, "NXT"},
	{33, "SRV"},	  {35, "NAPTR"},      {36, "KX"},	  {37, "CERT"},	  {38, "A6"},
	{39, "DNAME"},	  {41, "OPT"},	      {42, "APL"},	  {43, "DS"},	  {44, "SSHFP"},
	{45, "IPSECKEY"}, {46, "RRSIG"},      {47, "NSEC"},	  {48, "DNSKEY"}, {49, "DHCID"},
	{50, "NSEC3"},	  {51, "NSEC3PARAM"}, {52, "TLSA"},	  {53, "SMIMEA"}, {55, "HIP"},
	{59, "CDS"},	  {60, "CDNSKEY"},    {61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"},
	{64, "SVCB"},	  {65, "HTTPS"},      {99, "SPF"},	  {104, "NID"},	  {105, "L32"},
	{106, "L64"},	  {107, "LP"},	      {108, "EUI48"},	  {109, "EUI64"}, {249, "TKEY"},
	{250, "TSIG"},	  {251, "IXFR"},      {252, "AXFR"},	  {253, "MAILB"}, {254, "MAILA"},
	{255, "ANY"},	  {256, "URI"},	      {257, "CAA"},	  {32768, "TA"},  {32769, "DLV"},
};

int hf_dns_type_from_str(const char *str, uint16_t *type)
{
	if (!str || !*str)
		return hf_error(HF_EINVAL);
	for (size_t i = 0; i < HF_ARRAY_LEN(type_names); i++) {
		if (strcasecmp(str, type_names[i].name) == 0) {
			*type = type_names[i].type;
			return 0;
		}
	}
	if (strncasecmp(str, "TYPE", 4) == 0 && str[4]) {
		unsigned long v = 0;
		const char *s = str + 4;
		size_t nd = 0;
		while (is_digit(*s)) {
			v = v * 10 + (unsigned long)(*s++ - '0');
			if (++nd > 5 || v > 65535)
				return hf_error(HF_EINVAL);
		}
		if (*s)
			return hf_error(HF_EINVAL);
		*type = (uint16_t)v;
		return 0;
	}
	return hf_error(HF_EINVAL);
}

/* Writes the mnemonic (or TYPEnnn) to buf and returns buf. With no buffer,
 * returns the static mnemonic, or NULL for a type without one. */
const char *hf_dns_type_to_str(uint16_t type, char *buf, size_t size)
{
	const char *name = NULL;

	for (size_t i = 0; i < HF_ARRAY_LEN(type_names); i++) {
		if (type_names[i].type == type) {
			name = type_names[i].name;
			break;
		}
	}
	if (!buf || size == 0)
		return name;
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "TYPE%u", (unsigned)type);
	return buf;
}
