/* SPDX-License-Identifier: Apache-2.0 */
#include "route_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bounded appender: keeps counting past the end like snprintf. */
struct text_out {
	char *buf;
	size_t len, used;
};

static void out_bytes(struct text_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->used++)
		if (o->used + 1 < o->len)
			o->buf[o->used] = s[i];
}

static void out_str(struct text_out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

static void out_finish(struct text_out *o)
{
	if (o->len)
		o->buf[o->used < o->len ? o->used : o->len - 1] = '\0';
}

/* Printable bytes as they are; anything else as \xNN so a peer's bytes can
 * never break a log line. */
static void out_value(struct text_out *o, const uint8_t *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = data[i];
		if (c >= 0x21 && c < 0x7f && c != '\\' && c != ',' &&
		    c != '[' && c != ']') {
			out_bytes(o, (const char *)&c, 1);
		} else {
			char esc[5];
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			out_bytes(o, esc, 4);
		}
	}
}

static void out_addr(struct text_out *o, const struct router *r,
		     const struct ockam_addr *a)
{
	if (a->type != OCKAM_ADDR_LOCAL) {
		const char *scheme = r ? router_scheme(r, a->type) : NULL;
		char prefix[8];
		if (scheme) {
			out_str(o, scheme);
			out_str(o, ":");
		} else {
			snprintf(prefix, sizeof(prefix), "%u#", a->type);
			out_str(o, prefix);
		}
	} else if (a->len == 0 || !router_name_valid((const char *)a->data,
						     a->len)) {
		out_str(o, "0#");
	}
	out_value(o, a->data, a->len);
}

size_t addr_text_format(const struct router *r, const struct ockam_addr *a,
			char *buf, size_t len)
{
	struct text_out o = {buf, len, 0};
	out_addr(&o, r, a);
	out_finish(&o);
	return o.used;
}

size_t route_text_format(const struct router *r, const struct ockam_route *rt,
			 char *buf, size_t len)
{
	struct text_out o = {buf, len, 0};
	out_str(&o, "[");
	for (unsigned i = 0; i < rt->count; i++) {
		if (i)
			out_str(&o, ", ");
		out_addr(&o, r, &rt->hop[i]);
	}
	out_str(&o, "]");
	out_finish(&o);
	return o.used;
}

int addr_text_parse(const struct router *r, const char *text,
		    struct ockam_addr *out, char *err, size_t err_len)
{
	size_t n = strlen(text);
	const char *hash = strchr(text, '#');
	const char *colon = strchr(text, ':');

	/* "N#value": any address type, numerically. */
	if (hash && (!colon || hash < colon) && hash > text) {
		char *end;
		errno = 0;
		unsigned long type = strtoul(text, &end, 10);
		if (end == hash && !errno && type <= 255) {
			const char *v = hash + 1;
			size_t vlen = strlen(v);
			if (vlen == 0 || vlen > OCKAM_ADDR_MAX) {
				snprintf(err, err_len,
					 "address '%s': value must be 1 to %d bytes",
					 text, OCKAM_ADDR_MAX);
				return -EINVAL;
			}
			if (type == OCKAM_ADDR_LOCAL &&
			    !router_name_valid(v, vlen)) {
				snprintf(err, err_len,
					 "address '%s': local names use only A-Z a-z 0-9 _ . - (at most %d)",
					 text, ROUTER_NAME_MAX);
				return -EINVAL;
			}
			ockam_addr_set(out, (uint8_t)type, v, vlen);
			return 0;
		}
	}

	/* "tcp:127.0.0.1:4000 echoer" is two addresses written as one; no
	 * transport or local name has a space. */
	if (strpbrk(text, " \t\n")) {
		snprintf(err, err_len,
			 "address '%s' has a space in it; a route's addresses are separate items: [tcp:127.0.0.1:4000, echoer]",
			 text);
		return -EINVAL;
	}
	if (colon) {
		size_t slen = (size_t)(colon - text);
		int type = router_scheme_type(r, text, slen);
		const char *v = colon + 1;
		size_t vlen = strlen(v);
		if (type < 0) {
			char known[256];
			router_schemes_list(r, known, sizeof(known));
			snprintf(err, err_len,
				 "address '%s': unknown transport '%.*s' (known: %s)",
				 text, (int)(slen > 32 ? 32 : slen), text,
				 known[0] ? known : "none; declare one under transports:");
			return -EINVAL;
		}
		if (vlen == 0 || vlen > OCKAM_ADDR_MAX) {
			snprintf(err, err_len,
				 "address '%s': value must be 1 to %d bytes",
				 text, OCKAM_ADDR_MAX);
			return -EINVAL;
		}
		ockam_addr_set(out, (uint8_t)type, v, vlen);
		return 0;
	}

	if (!router_name_valid(text, n)) {
		snprintf(err, err_len,
			 "address '%s': local names use only A-Z a-z 0-9 _ . - (1 to %d characters)",
			 text, ROUTER_NAME_MAX);
		return -EINVAL;
	}
	ockam_addr_set(out, OCKAM_ADDR_LOCAL, text, n);
	return 0;
}
