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

int tcp_addr_split(const char *text, size_t len, char *host, size_t host_cap,
		   char *port, size_t port_cap)
{
	const char *h, *colon;
	size_t hlen, plen, i;
	unsigned long v = 0;
	int bracketed = 0;

	if (!len)
		return -EINVAL;
	if (text[0] == '[') {
		const char *end = memchr(text, ']', len);

		if (!end || (size_t)(end - text) + 1 >= len || end[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
		bracketed = 1;
	} else {
		colon = memrchr(text, ':', len);
		if (!colon)
			return -EINVAL;
		h = text;
		hlen = (size_t)(colon - text);
	}
	plen = len - (size_t)(colon + 1 - text);
	if (!hlen || hlen >= host_cap || !plen || plen > 5 || plen >= port_cap)
		return -EINVAL;
	for (i = 0; i < hlen; i++)
		if (!host_char_ok(h[i], bracketed))
			return -EINVAL;
	for (i = 0; i < plen; i++) {
		char c = colon[1 + i];

		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(c - '0');
	}
	if (v > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, plen);
	port[plen] = '\0';
	return 0;
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
