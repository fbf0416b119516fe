/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * holdfast control/: the management replies' emitter (hf_mgmt.h): one
 * call per value, written as JSON or as indented text, shared by the server
 * and holdfastctl.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/hf_mgmt.h"

void hf_emit_init(struct hf_emit *e, bool json)
{
	memset(e, 0, sizeof(*e));
	e->json = json;
}

void hf_emit_free(struct hf_emit *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

void hf_emit_raw(struct hf_emit *e, const char *s, size_t n)
{
	if (e->oom)
		return;
	if (e->len + n + 1 > e->cap) {
		size_t ncap = e->cap ? e->cap : 1024;
		char *nb;
		while (ncap < e->len + n + 1)
			ncap *= 2;
		nb = realloc(e->buf, ncap);
		if (nb == NULL) {
			e->oom = true;
			return;
		}
		e->buf = nb;
		e->cap = ncap;
	}
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

void hf_emit_rawf(struct hf_emit *e, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		hf_emit_raw(e, small, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);
		if (big == NULL) {
			e->oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		hf_emit_raw(e, big, (size_t)n);
		free(big);
	}
}

static void json_str(struct hf_emit *e, const char *s)
{
	hf_emit_raw(e, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			char b[2] = {'\\', (char)ch};
			hf_emit_raw(e, b, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			hf_emit_rawf(e, "\\u%04x", ch);
		} else {
			hf_emit_raw(e, s, 1);
		}
	}
	hf_emit_raw(e, "\"", 1);
}

static void indent(struct hf_emit *e)
{
	/* depth 1 = members of the top-level object, at column 0 */
	for (int i = 1; i < e->depth; i++)
		hf_emit_raw(e, "  ", 2);
}

/* Start a member (key may be NULL in arrays). */
static void member(struct hf_emit *e, const char *key)
{
	if (e->json) {
		if (e->depth > 0 && !e->first[e->depth])
			hf_emit_raw(e, ",", 1);
		if (key != NULL && !(e->depth > 0 && e->in_array[e->depth])) {
			json_str(e, key);
			hf_emit_raw(e, ":", 1);
		}
	} else {
		if (e->item_start) {
			/* first member of an array item: "- " in place of the indent's last step */
			for (int i = 1; i < e->depth - 1; i++)
				hf_emit_raw(e, "  ", 2);
			hf_emit_raw(e, "- ", 2);
			e->item_start = false;
		} else {
			indent(e);
		}
		if (key != NULL)
			hf_emit_rawf(e, "%s:", key);
		else if (e->in_array[e->depth])
			hf_emit_raw(e, "-", 1);
	}
	if (e->depth > 0)
		e->first[e->depth] = false;
}

static void push(struct hf_emit *e, bool array)
{
	if (e->depth < 15)
		e->depth++;
	e->first[e->depth] = true;
	e->in_array[e->depth] = array;
}

void hf_emit_obj_begin(struct hf_emit *e, const char *key)
{
	bool item = e->depth > 0 && e->in_array[e->depth];
	if (e->depth == 0) {
		if (e->json)
			hf_emit_raw(e, "{", 1);
		push(e, false);
		return;
	}
	if (e->json) {
		member(e, key);
		hf_emit_raw(e, "{", 1);
		push(e, false);
		return;
	}
	if (item) {
		e->first[e->depth] = false;
		push(e, false);
		e->item_start = true;
		return;
	}
	member(e, key);
	hf_emit_raw(e, "\n", 1);
	push(e, false);
}

void hf_emit_obj_end(struct hf_emit *e)
{
	if (e->json) {
		hf_emit_raw(e, "}", 1);
	} else if (e->item_start) { /* an empty item */
		e->item_start = false;
	} else if (e->depth > 1 && e->first[e->depth]) { /* "key:" with nothing below */
		indent(e);
		hf_emit_raw(e, "(none)\n", 7);
	}
	if (e->depth > 0)
		e->depth--;
	if (e->depth == 0)
		hf_emit_raw(e, "\n", e->json ? 1 : 0);
}

void hf_emit_arr_begin(struct hf_emit *e, const char *key)
{
	member(e, key);
	hf_emit_raw(e, e->json ? "[" : "\n", 1);
	push(e, true);
}

void hf_emit_arr_end(struct hf_emit *e)
{
	bool empty = e->first[e->depth];
	if (e->json) {
		hf_emit_raw(e, "]", 1);
	} else if (empty) {
		indent(e);
		hf_emit_raw(e, "(none)\n", 7);
	}
	if (e->depth > 0)
		e->depth--;
}

static void scalar_end(struct hf_emit *e)
{
	if (!e->json)
		hf_emit_raw(e, "\n", 1);
}

void hf_emit_str(struct hf_emit *e, const char *key, const char *v)
{
	member(e, key);
	if (e->json) {
		json_str(e, v);
	} else {
		hf_emit_raw(e, " ", 1);
		hf_emit_raw(e, v, strlen(v));
	}
	scalar_end(e);
}

void hf_emit_u64(struct hf_emit *e, const char *key, uint64_t v)
{
	member(e, key);
	hf_emit_rawf(e, e->json ? "%llu" : " %llu", (unsigned long long)v);
	scalar_end(e);
}

void hf_emit_time(struct hf_emit *e, const char *key, uint64_t unix_s)
{
	char buf[32];
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (e->json || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		hf_emit_u64(e, key, unix_s);
		return;
	}
	hf_emit_str(e, key, buf);
}

void hf_emit_bool(struct hf_emit *e, const char *key, bool v)
{
	member(e, key);
	hf_emit_rawf(e, e->json ? "%s" : " %s",
		     e->json ? (v ? "true" : "false") : (v ? "yes" : "no"));
	scalar_end(e);
}

void hf_emit_null(struct hf_emit *e, const char *key)
{
	member(e, key);
	hf_emit_raw(e, e->json ? "null" : " -", e->json ? 4 : 2);
	scalar_end(e);
}
