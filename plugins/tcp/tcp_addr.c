/* SPDX-License-Identifier: Apache-2.0 */
/* "host:port" text <-> socket addresses. */
#include "tcp_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

static int host_char_ok(char c, int bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
		return 1;
	/* IPv6 text and a zone id only inside brackets. */
	return bracketed && (c == ':' || c == '%');
}

/* tcp_addr_split with the reason for a refusal in `why` (if not NULL):
 * "port 99999 is out of range" and "port 'forty' is not a number" are
 * different mistakes and are told apart. */
static int addr_split(const char *text, size_t len, char *host,
		      size_t host_cap, char *port, size_t port_cap, char *why,
		      size_t why_cap)
{
	const char *h, *colon;
	size_t hlen, plen, i;
	unsigned long v = 0;
	int bracketed = 0;
	char scratch[1];

	if (!why) {
		why = scratch;
		why_cap = sizeof(scratch);
	}
	if (!len) {
		snprintf(why, why_cap, "empty address; write host:port");
		return -EINVAL;
	}
	if (text[0] == '[') {
		const char *end = memchr(text, ']', len);

		if (!end || (size_t)(end - text) + 1 >= len || end[1] != ':') {
			snprintf(why, why_cap,
				 "an IPv6 address is written [address]:port");
			return -EINVAL;
		}
		h = text + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
		bracketed = 1;
	} else {
		colon = memrchr(text, ':', len);
		if (!colon) {
			snprintf(why, why_cap, "no port; write host:port");
			return -EINVAL;
		}
		h = text;
		hlen = (size_t)(colon - text);
	}
	plen = len - (size_t)(colon + 1 - text);
	if (!hlen || hlen >= host_cap) {
		snprintf(why, why_cap, hlen ? "host name too long (at most %zu bytes)"
					    : "no host; write host:port",
			 host_cap - 1);
		return -EINVAL;
	}
	if (!plen) {
		snprintf(why, why_cap, "no port; write host:port");
		return -EINVAL;
	}
	for (i = 0; i < hlen; i++)
		if (!host_char_ok(h[i], bracketed)) {
			snprintf(why, why_cap,
				 "host '%.*s' may have only letters, digits, '.', '-' and '_'%s",
				 (int)(hlen > 64 ? 64 : hlen), h,
				 bracketed ? ", and ':' and '%' in brackets" :
					     " (an IPv6 address goes in brackets)");
			return -EINVAL;
		}
	for (i = 0; i < plen; i++) {
		char c = colon[1 + i];

		if (c < '0' || c > '9') {
			snprintf(why, why_cap,
				 "port '%.*s' is not a number (ports are 0 to 65535)",
				 (int)(plen > 16 ? 16 : plen), colon + 1);
			return -EINVAL;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(c - '0');
	}
	if (v > 65535 || plen > 5 || plen >= port_cap) {
		snprintf(why, why_cap, "port %.*s is out of range (0 to 65535)",
			 (int)(plen > 16 ? 16 : plen), colon + 1);
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, plen);
	port[plen] = '\0';
	return 0;
}

int tcp_addr_split(const char *text, size_t len, char *host, size_t host_cap,
		   char *port, size_t port_cap)
{
	return addr_split(text, len, host, host_cap, port, port_cap, NULL, 0);
}

int tcp_addr_check(const char *text, size_t len, char *why, size_t why_cap)
{
	char host[TCP_KEY_MAX], port[8];

	return addr_split(text, len, host, sizeof(host), port, sizeof(port),
			  why, why_cap);
}

void tcp_addr_format(const struct sockaddr *sa, socklen_t sa_len, char *out,
		     size_t cap)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];

	if (getnameinfo(sa, sa_len, h, sizeof(h), s, sizeof(s),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, cap, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(out, cap, "[%s]:%s", h, s);
	else
		snprintf(out, cap, "%s:%s", h, s);
}
