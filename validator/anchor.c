/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Trust anchors in zone-file presentation form: DS or DNSKEY records,
 * optional TTL and class, ';' comments, records continued across lines in
 * parentheses.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "validator/val_internal.h"

#define TOK_MAX	 80
#define REC_ROOM 8192

struct rec {
	unsigned ntok;
	unsigned line;
	size_t used;
	char buf[REC_ROOM];
	const char *tok[TOK_MAX];
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Concatenated tokens from tok[first] on, as hex or base64, into out. */
static int decode_tail(const struct rec *r, unsigned first, bool hex, uint8_t *out, size_t room)
{
	struct val_bits b = {0, 0, 0};
	unsigned pads = 0;

	for (unsigned t = first; t < r->ntok; t++) {
		for (const char *p = r->tok[t]; *p; p++) {
			int v;
			if (hex) {
				v = hexval((unsigned char)*p);
				if (v < 0)
					return -1;
			} else {
				if (*p == '=') {
					pads++;
					continue;
				}
				if (pads)
					return -1;
				v = b64val((unsigned char)*p);
				if (v < 0)
					return -1;
			}
			if (val_bits_push(&b, (uint32_t)v, hex ? 4 : 6, out, room) < 0)
				return -1;
		}
	}
	if (hex && b.bits != 0)
		return -1;
	return (int)b.n;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return false;
	*out = v;
	return true;
}

static int rec_finish(struct rec *r, struct val_anchor *out, unsigned max, unsigned *n, char *err,
		      size_t errlen)
{
	struct val_anchor *a;
	unsigned t = 1;
	unsigned long f1, f2, f3;
	size_t nlen;
	int len;

	if (r->ntok == 0)
		return 0;
	if (*n >= max) {
		snprintf(err, errlen, "line %u: more than %u anchors", r->line, max);
		return hf_error(HF_EFULL);
	}
	a = &out[*n];
	memset(a, 0, sizeof(*a));
	if (hf_dns_name_from_str(r->tok[0], a->name, &nlen) < 0)
		goto bad;
	a->name_len = (uint8_t)nlen;
	hf_dns_name_lower(a->name, nlen);
	/* [ttl] [class] in either order */
	for (int i = 0; i < 2 && t < r->ntok; i++) {
		unsigned long ttl;
		if (parse_uint(r->tok[t], UINT32_MAX, &ttl) || strcasecmp(r->tok[t], "IN") == 0)
			t++;
	}
	if (t + 4 > r->ntok)
		goto bad;
	if (strcasecmp(r->tok[t], "DS") == 0) {
		if (!parse_uint(r->tok[t + 1], 65535, &f1) ||
		    !parse_uint(r->tok[t + 2], 255, &f2) || !parse_uint(r->tok[t + 3], 255, &f3))
			goto bad;
		a->type = HF_TYPE_DS;
		hf_put16(a->rdata, (uint16_t)f1);
		a->rdata[2] = (uint8_t)f2;
		a->rdata[3] = (uint8_t)f3;
		len = decode_tail(r, t + 4, true, a->rdata + 4, VAL_ANCHOR_RD - 4);
	} else if (strcasecmp(r->tok[t], "DNSKEY") == 0) {
		if (!parse_uint(r->tok[t + 1], 65535, &f1) ||
		    !parse_uint(r->tok[t + 2], 255, &f2) || !parse_uint(r->tok[t + 3], 255, &f3))
			goto bad;
		a->type = HF_TYPE_DNSKEY;
		hf_put16(a->rdata, (uint16_t)f1);
		a->rdata[2] = (uint8_t)f2;
		a->rdata[3] = (uint8_t)f3;
		len = decode_tail(r, t + 4, false, a->rdata + 4, VAL_ANCHOR_RD - 4);
	} else {
		goto bad;
	}
	if (len <= 0)
		goto bad;
	a->rdlen = (uint16_t)(4 + len);
	(*n)++;
	return 0;
bad:
	snprintf(err, errlen, "line %u: not a DS or DNSKEY record", r->line);
	return hf_error(HF_EINVAL);
}

int val_anchor_parse(const char *text, struct val_anchor *out, unsigned max, unsigned *n, char *err,
		     size_t errlen)
{
	struct rec *r = malloc(sizeof(*r));
	unsigned line = 1, depth = 0;
	bool in_tok = false;
	int rc = 0;

	if (!r)
		return hf_error(HF_ENOMEM);
	r->ntok = 0;
	r->used = 0;
	r->line = 1;
	for (const char *p = text;; p++) {
		char ch = *p;
		bool sep = ch == 0 || ch == '\n' || isspace((unsigned char)ch) || ch == ';' ||
			   ch == '(' || ch == ')';

		if (sep && in_tok) {
			r->buf[r->used++] = 0;
			in_tok = false;
		}
		if (ch == ';') {
			while (p[1] && p[1] != '\n')
				p++;
			continue;
		}
		if (ch == '(') {
			depth++;
			continue;
		}
		if (ch == ')') {
			if (depth == 0) {
				snprintf(err, errlen, "line %u: unbalanced ')'", line);
				rc = hf_error(HF_EINVAL);
				break;
			}
			depth--;
			continue;
		}
		if (ch == 0 || (ch == '\n' && depth == 0)) {
			rc = rec_finish(r, out, max, n, err, errlen);
			if (rc < 0 || ch == 0)
				break;
			r->ntok = 0;
			r->used = 0;
			r->line = line + 1;
		}
		if (ch == '\n')
			line++;
		if (sep)
			continue;
		if (!in_tok) {
			if (r->ntok >= TOK_MAX || r->used + 2 >= REC_ROOM) {
				snprintf(err, errlen, "line %u: record too long", line);
				rc = hf_error(HF_EINVAL);
				break;
			}
			r->tok[r->ntok++] = r->buf + r->used;
			in_tok = true;
		}
		if (r->used + 2 >= REC_ROOM) {
			snprintf(err, errlen, "line %u: record too long", line);
			rc = hf_error(HF_EINVAL);
			break;
		}
		r->buf[r->used++] = ch;
	}
	if (rc == 0 && depth != 0) {
		snprintf(err, errlen, "line %u: unbalanced '('", line);
		rc = hf_error(HF_EINVAL);
	}
	free(r);
	return rc;
}

/* ---- the anchors a validator holds ---- */

const char val_default_anchors[] =
	"; IANA root trust anchors: KSK-2017 and KSK-2024 (root-anchors.xml)\n"
	". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
	". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n";

/* Deepest anchor zone at or above name: its label count, or -1. */
int val_anchor_zone(const struct hf_val *v, const uint8_t *name, size_t len)
{
	int best = -1;

	for (unsigned i = 0; i < v->nanchors; i++) {
		const struct val_anchor *a = &v->anchors[i];
		if (hf_dns_name_is_sub(name, len, a->name, a->name_len)) {
			int l = (int)hf_dns_name_labels(a->name, a->name_len);
			if (l > best)
				best = l;
		}
	}
	return best;
}

bool val_is_anchor(const struct hf_val *v, const uint8_t *name, size_t len)
{
	for (unsigned i = 0; i < v->nanchors; i++)
		if (hf_dns_name_equal(v->anchors[i].name, v->anchors[i].name_len, name, len))
			return true;
	return false;
}

int hf_val_load_anchors_str(struct hf_val *v, const char *text, bool replace, char *err,
			    size_t errlen)
{
	struct val_anchor *tmp = malloc(sizeof(v->anchors));
	unsigned n = replace ? 0 : v->nanchors;
	int rc;

	if (!tmp)
		return hf_error(HF_ENOMEM);
	if (!replace)
		memcpy(tmp, v->anchors, sizeof(v->anchors[0]) * n);
	rc = val_anchor_parse(text, tmp, VAL_MAX_ANCHORS, &n, err, errlen);
	if (rc == 0) {
		memcpy(v->anchors, tmp, sizeof(v->anchors[0]) * n);
		v->nanchors = n;
		val_cache_flush(&v->cache);
		val_aggr_flush_below(&v->aggr, NULL, 0);
	}
	free(tmp);
	return rc;
}

int hf_val_check_anchors_str(const char *text, unsigned *n, char *err, size_t errlen)
{
	struct val_anchor *tmp = malloc(sizeof(*tmp) * VAL_MAX_ANCHORS);
	int rc;

	*n = 0;
	if (!tmp)
		return hf_error(HF_ENOMEM);
	rc = val_anchor_parse(text, tmp, VAL_MAX_ANCHORS, n, err, errlen);
	free(tmp);
	return rc;
}

int hf_val_load_default_anchors(struct hf_val *v, char *err, size_t errlen)
{
	return hf_val_load_anchors_str(v, val_default_anchors, true, err, errlen);
}

char *hf_val_read_anchor_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	if (ferror(f) || !feof(f)) {
		snprintf(err, errlen, "%s: read error or larger than 1 MiB", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int hf_val_load_anchors(struct hf_val *v, const char *path, char *err, size_t errlen)
{
	char *buf = hf_val_read_anchor_file(path, err, errlen);
	int rc;

	if (!buf)
		return hf_error(HF_EIO);
	rc = hf_val_load_anchors_str(v, buf, true, err, errlen);
	free(buf);
	return rc;
}

unsigned hf_val_anchor_count(const struct hf_val *v)
{
	return v->nanchors;
}
