/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host names to addresses without blocking the node's one loop (and
 * without threads, so neither getaddrinfo() nor getaddrinfo_a()).
 *
 *   numeric ("10.0.0.7", "[fe80::1%eth0]")  getaddrinfo(AI_NUMERICHOST),
 *                                            which never looks anything up
 *   a cached answer                          until its TTL runs out
 *   anything else                            c-ares' ares_getaddrinfo():
 *                                            the hosts file, then DNS
 *
 * c-ares reads resolv.conf (the `resolv_conf` option) for its nameservers,
 * search list, ndots and options, /etc/nsswitch.conf for the order of
 * hosts file and DNS, reads the hosts file (the `hosts_file` option) on
 * every lookup, asks for A and AAAA, retries over TCP when an answer is
 * truncated, and searches as glibc's res_search does.  We drive it from
 * the node's loop: its sockets are watched through the host's fd service
 * (ARES_OPT_SOCK_STATE_CB) and fed to ares_process_fd(); one timer follows
 * ares_timeout().
 *
 * One lookup per name in flight (TCP_LOOKUPS_MAX at most); every
 * connection waiting for that name waits on it.  resolve_timeout bounds a
 * lookup: c-ares gets a per-try timeout of resolve_timeout / 8 (it doubles
 * each round: 3 rounds take 7/8 of it with one nameserver) and our own
 * timer ends the lookup for its waiters at resolve_timeout in any case;
 * c-ares then finishes the query on its own, bounded by its tries.
 *
 * c-ares 1.18 takes the first datagram whose id and question match as the
 * answer, even when it is a query or its records run past the end; our
 * recvfrom (ares_set_socket_functions) drops such datagrams first, using
 * c-ares' own parser, so the real answer can still come.
 *
 * Answers are cached under the name as written (TCP_CACHE_MAX names, the
 * soonest to expire evicted first) for their TTL, at most an hour;
 * NXDOMAIN and "no address" for TCP_NEG_TTL_S (ares_getaddrinfo does not
 * pass on the SOA's negative TTL).  Answers from the hosts file are not
 * cached: it is read again for the next lookup.
 */
#include "tcp_internal.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define TCP_RESOLVE_TRIES 3
/* The per-try timeout is resolve_timeout / this: 1 + 2 + 4 tries' worth,
 * with room to spare for the search list's first names. */
#define TCP_RESOLVE_SLICES 8u
#define TCP_LOOKUPS_MAX 64u
#define TCP_CACHE_MAX 256u
#define TCP_TTL_MAX_S 3600u
#define TCP_NEG_TTL_S 30
#define NAME_MAX_LEN 253u
/* A lookup's key: the name as written, lower case, with its trailing dot
 * if it had one ("bob." is not searched, "bob" is). */
#define KEY_MAX (NAME_MAX_LEN + 2)
#define SERVERS_TEXT 256u
/* The ", " list of the names tried, for a failure's line. */
#define TRIED_TEXT 900u

struct tcp_lookup {
	struct tcp_lookup *next; /* in r->lookups while it has waiters */
	struct tcp *t;
	char name[KEY_MAX];
	struct ockam_source *timer; /* resolve_timeout */
	int orphan;    /* out of time: told its waiters, c-ares goes on */
	int sync;      /* inside ares_getaddrinfo(): keep the answer */
	int sync_done; /* ... and it came */
	int sync_status;
	struct tcp_addrs sync_addrs;
	struct tcp_resolve_wait *waiters;
};

struct cache_entry {
	char name[KEY_MAX];
	uint64_t expires_ms;
	int err; /* 0: addrs; else the cached failure (ENOENT, ENODATA) */
	struct tcp_addrs addrs;
};

/* A socket c-ares opened, and our watch on it. */
struct ares_watch {
	struct ares_watch *next;
	int fd;
	struct ockam_source *src;
};

struct tcp_resolver {
	struct tcp *t;
	ares_channel ch;
	int ch_ok;
	/* What c-ares made of resolv.conf: search list and ndots. */
	struct ares_options opts;
	int opts_mask, opts_ok;
	char servers[SERVERS_TEXT]; /* "127.0.0.1:53" or "one of a, b" */
	struct tcp_lookup *lookups; /* with waiters */
	size_t n_lookups;           /* with waiters or orphaned */
	struct ares_watch *watches;
	struct ockam_source *timer; /* ares_timeout() */
	int stopping;
	struct cache_entry *cache;
	size_t n_cache;
};

socklen_t tcp_sockaddr_len(const union tcp_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

/* ---- options ------------------------------------------------------ */

/* A numeric host (and port, if given) into *out. */
static int numeric_get(const char *host, const char *port,
		       union tcp_sockaddr *out, size_t max, size_t *n)
{
	struct addrinfo hints = {0}, *ai = NULL, *p;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	/* AI_NUMERICHOST: parses text, never looks anything up. */
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -EINVAL;
	*n = 0;
	for (p = ai; p && *n < max; p = p->ai_next)
		if ((p->ai_family == AF_INET || p->ai_family == AF_INET6) &&
		    p->ai_addrlen <= sizeof(*out)) {
			memset(&out[*n], 0, sizeof(*out));
			memcpy(&out[*n], p->ai_addr, p->ai_addrlen);
			(*n)++;
		}
	freeaddrinfo(ai);
	return *n ? 0 : -EINVAL;
}

int tcp_nameserver_parse(const char *text, union tcp_sockaddr *out)
{
	char host[TCP_KEY_MAX], port[8] = "53";
	size_t n, len = strlen(text);

	/* "IP:port" or "[v6]:port"; otherwise a bare IP (v6 has colons). */
	if (!((text[0] == '[' || memchr(text, ':', len) ==
						 memrchr(text, ':', len)) &&
	      tcp_addr_split(text, len, host, sizeof(host), port,
			     sizeof(port)) == 0)) {
		if (len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, len + 1);
		strcpy(port, "53");
	}
	if (strtoul(port, NULL, 10) == 0)
		return -EINVAL;
	return numeric_get(host, port, out, 1, &n);
}

/* A host name as RFC 1123 writes them (letters, digits, '-', and '_' as
 * service labels use it; labels of 1 to 63, 253 in all, one trailing dot
 * allowed), into `out` in lower case with its trailing dot.  c-ares would
 * send anything it can encode: this keeps routes from sending bytes like
 * '%' or spaces to the nameserver. */
static int name_check(const char *in, char out[KEY_MAX])
{
	size_t i, label = 0, len = strlen(in);

	if (len && in[len - 1] == '.')
		len--;
	if (!len || len > NAME_MAX_LEN)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32)
						      : in[i];

		if (c == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			if (++label > 63)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = c;
	}
	out[len] = in[len]; /* '.' or '\0' */
	out[len + (in[len] == '.')] = '\0';
	return 0;
}

/* ---- c-ares' sockets in our loop ---------------------------------- */

static void resolver_rearm(struct tcp_resolver *r);

static void watch_on_event(void *data, int fd, uint32_t events)
{
	struct tcp_resolver *r = data;

	ares_process_fd(r->ch,
			events & (OCKAM_EV_READ | OCKAM_EV_ERROR)
				? fd
				: ARES_SOCKET_BAD,
			events & OCKAM_EV_WRITE ? fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

/* c-ares opened, changed or closed a socket (ARES_OPT_SOCK_STATE_CB). */
static void watch_on_state(void *data, ares_socket_t fd, int readable,
			   int writable)
{
	struct tcp_resolver *r = data;
	const struct ockam_host *h = r->t->host;
	struct ares_watch **p, *w;
	uint32_t ev = (readable ? OCKAM_EV_READ : 0) |
		      (writable ? OCKAM_EV_WRITE : 0);

	for (p = &r->watches; *p && (*p)->fd != fd; p = &(*p)->next)
		;
	w = *p;
	if (!ev) {
		if (w) {
			*p = w->next;
			h->source_remove(w->src);
			free(w);
		}
		return;
	}
	if (w) {
		h->fd_update(w->src, ev);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return; /* its queries time out */
	w->fd = fd;
	w->src = h->fd_add(r->t->ctx, fd, ev, watch_on_event, r);
	if (!w->src) {
		free(w);
		return;
	}
	w->next = r->watches;
	r->watches = w;
}

static void resolver_on_timer(void *data)
{
	struct tcp_resolver *r = data;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

/* Follow c-ares' next timeout (none: disarmed). */
static void resolver_rearm(struct tcp_resolver *r)
{
	const struct ockam_host *h = r->t->host;
	struct timeval tv, *next;
	uint64_t ms;

	if (!r->ch_ok || r->stopping)
		return;
	next = ares_timeout(r->ch, NULL, &tv);
	if (!next) {
		if (r->timer)
			h->timer_update(r->timer, 0);
		return;
	}
	ms = (uint64_t)next->tv_sec * 1000 +
	     ((uint64_t)next->tv_usec + 999) / 1000;
	if (!ms)
		ms = 1;
	if (r->timer)
		h->timer_update(r->timer, ms);
	else
		r->timer = h->timer_add(r->t->ctx, ms, resolver_on_timer, r);
}

/* Plain socket calls, except that a UDP datagram that cannot be an answer
 * (not a response, or records c-ares' parser refuses) is dropped here:
 * c-ares 1.18 would end the query with the first one whose id and question
 * match.  Truncated answers go through (c-ares retries over TCP). */
static ares_socket_t sock_open(int af, int type, int proto, void *data)
{
	(void)data;
	/* c-ares leaves a socket from these functions as it is given. */
	return socket(af, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
}

static int sock_close(ares_socket_t fd, void *data)
{
	(void)data;
	return close(fd);
}

static int sock_connect(ares_socket_t fd, const struct sockaddr *sa,
			ares_socklen_t len, void *data)
{
	(void)data;
	return connect(fd, sa, len);
}

/* sendmsg: no SIGPIPE from a closed TCP connection. */
static ares_ssize_t sock_writev(ares_socket_t fd, const struct iovec *v,
				int n, void *data)
{
	struct msghdr m = {.msg_iov = (struct iovec *)v,
			   .msg_iovlen = (size_t)n};

	(void)data;
	return sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int datagram_is_answer(const unsigned char *b, ares_ssize_t n)
{
	int st;

	if (n < 12 || !(b[2] & 0x80)) /* QR */
		return 0;
	if (b[2] & 0x02) /* TC: c-ares asks again over TCP */
		return 1;
	st = ares_parse_a_reply(b, (int)n, NULL, NULL, NULL);
	return st == ARES_SUCCESS || st == ARES_ENODATA;
}

static ares_ssize_t sock_recvfrom(ares_socket_t fd, void *buf, size_t len,
				  int flags, struct sockaddr *from,
				  ares_socklen_t *from_len, void *data)
{
	ares_ssize_t n;

	(void)data;
	if (!from) /* TCP: a stream, c-ares frames it */
		return recv(fd, buf, len, flags | MSG_DONTWAIT);
	for (;;) {
		ares_socklen_t fl = *from_len;

		n = recvfrom(fd, buf, len, flags | MSG_DONTWAIT, from, &fl);
		if (n < 0 || datagram_is_answer(buf, n)) {
			*from_len = fl;
			return n;
		}
	}
}

static const struct ares_socket_functions sock_funcs = {
	.asocket = sock_open,
	.aclose = sock_close,
	.aconnect = sock_connect,
	.arecvfrom = sock_recvfrom,
	.asendv = sock_writev,
};

/* ---- setup -------------------------------------------------------- */

/* "127.0.0.1:53", or "one of a, b" (for lines). */
static void servers_text(struct tcp_resolver *r)
{
	struct ares_addr_port_node *list = NULL, *s;
	size_t o = 0, n = 0;

	r->servers[0] = '\0';
	if (ares_get_servers_ports(r->ch, &list) != ARES_SUCCESS)
		return;
	for (s = list; s; s = s->next)
		n++;
	if (n > 1)
		o = (size_t)snprintf(r->servers, sizeof(r->servers), "one of ");
	for (s = list; s && o < sizeof(r->servers); s = s->next) {
		char ip[INET6_ADDRSTRLEN] = "?";
		int port = s->udp_port ? s->udp_port : 53;

		inet_ntop(s->family, &s->addr, ip, sizeof(ip));
		o += (size_t)snprintf(r->servers + o, sizeof(r->servers) - o,
				      s->family == AF_INET6 ? "%s[%s]:%d"
							    : "%s%s:%d",
				      s == list ? "" : ", ", ip, port);
	}
	ares_free_data(list);
}

/* The `nameserver` option as c-ares' "ip:port,[v6]:port". */
static int servers_set(struct tcp *t, struct tcp_resolver *r)
{
	char csv[TCP_NAMESERVERS_MAX * TCP_GONE_KEY];
	size_t i, o = 0;

	if (!t->n_nameservers)
		return 0; /* resolv.conf's, or 127.0.0.1 */
	csv[0] = '\0';
	for (i = 0; i < t->n_nameservers; i++) {
		char one[TCP_GONE_KEY];

		tcp_addr_format(&t->nameservers[i].sa,
				tcp_sockaddr_len(&t->nameservers[i]), one,
				sizeof(one));
		o += (size_t)snprintf(csv + o, sizeof(csv) - o, "%s%s",
				      i ? "," : "", one);
	}
	return ares_set_servers_ports_csv(r->ch, csv) == ARES_SUCCESS
		       ? 0
		       : -EINVAL;
}

int tcp_resolve_start(struct tcp *t)
{
	struct tcp_resolver *r = t->resolver;
	struct ares_options o;
	uint64_t ms = t->resolve_timeout_ms / TCP_RESOLVE_SLICES;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
		   ARES_OPT_TRIES;

	if (r && r->ch_ok)
		return 0;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->t = t;
		t->resolver = r;
	}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return -ENOMEM;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = watch_on_state;
	o.sock_state_cb_data = r;
	o.timeout = ms ? (int)(ms > 60000 ? 60000 : ms) : 1;
	o.tries = TCP_RESOLVE_TRIES;
	if (t->resolv_conf) {
		FILE *f = fopen(t->resolv_conf, "re");

		/* A missing /etc/resolv.conf is normal (the defaults apply);
		 * a file named in the config is expected to be there. */
		if (!f)
			t->host->log(t->ctx, OCKAM_LOG_WARN,
				     "resolv_conf: cannot read %s: %s; no "
				     "search list",
				     t->resolv_conf, strerror(errno));
		else
			fclose(f);
		o.resolvconf_path = t->resolv_conf;
		mask |= ARES_OPT_RESOLVCONF;
	}
	if (ares_init_options(&r->ch, &o, mask) != ARES_SUCCESS) {
		ares_library_cleanup();
		return -ENOMEM;
	}
	r->ch_ok = 1;
	ares_set_socket_functions(r->ch, &sock_funcs, r);
	if (servers_set(t, r) < 0) {
		t->host->log(t->ctx, OCKAM_LOG_WARN,
			     "nameserver: c-ares refused the list; using "
			     "resolv_conf's");
	}
	servers_text(r);
	r->opts_ok = ares_save_options(r->ch, &r->opts, &r->opts_mask) ==
		     ARES_SUCCESS;
	return 0;
}

/* ---- cache -------------------------------------------------------- */

static struct cache_entry *cache_find(struct tcp_resolver *r, uint64_t now,
				      const char *name)
{
	size_t i;

	for (i = 0; i < r->n_cache; i++) {
		struct cache_entry *e = &r->cache[i];

		if (strcmp(e->name, name) != 0)
			continue;
		if (now < e->expires_ms)
			return e;
		r->cache[i] = r->cache[--r->n_cache]; /* expired */
		return NULL;
	}
	return NULL;
}

static void cache_put(struct tcp *t, const char *name, int err,
		      const struct tcp_addrs *addrs, int64_t ttl_s)
{
	struct tcp_resolver *r = t->resolver;
	uint64_t now = t->host->now_ms();
	struct cache_entry *e;
	size_t i;

	if (ttl_s <= 0)
		return; /* not to be kept */
	if ((uint64_t)ttl_s > TCP_TTL_MAX_S)
		ttl_s = TCP_TTL_MAX_S;
	if (!r->cache) {
		r->cache = calloc(TCP_CACHE_MAX, sizeof(*r->cache));
		if (!r->cache)
			return;
	}
	e = cache_find(r, now, name);
	if (!e && r->n_cache < TCP_CACHE_MAX)
		e = &r->cache[r->n_cache++];
	if (!e) {
		e = &r->cache[0];
		for (i = 1; i < r->n_cache; i++)
			if (r->cache[i].expires_ms < e->expires_ms)
				e = &r->cache[i];
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, strlen(name) + 1);
	e->expires_ms = now + (uint64_t)ttl_s * 1000;
	e->err = err;
	if (addrs)
		e->addrs = *addrs;
}

/* ---- answers ------------------------------------------------------ */

/* The names c-ares asked for, in its order (ares_getaddrinfo: as written
 * first if it has ndots dots or a trailing dot, then with each search
 * domain unless it has a trailing dot, then as written if not first):
 * "a, b, c" into `out`; the count. */
static unsigned tried_list(const struct tcp_resolver *r, const char *key,
			   char *out, size_t cap)
{
	size_t len = strlen(key), o = 0;
	int absolute = len && key[len - 1] == '.', ndots = 1, dots = 0, i;
	int nd = r->opts_ok && (r->opts_mask & ARES_OPT_DOMAINS)
			 ? r->opts.ndomains
			 : 0;
	unsigned n = 0;
	const char *p;

	if (r->opts_ok && (r->opts_mask & ARES_OPT_NDOTS))
		ndots = r->opts.ndots;
	for (p = key; *p; p++)
		dots += *p == '.';
	out[0] = '\0';
	if (absolute)
		len--;
	if (absolute || dots >= ndots) {
		o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)len, key);
		n++;
	}
	for (i = 0; !absolute && i < nd && o < cap; i++, n++)
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s.%s",
				      n ? ", " : "", (int)len, key,
				      r->opts.domains[i]);
	if (!absolute && dots < ndots && o < cap) {
		snprintf(out + o, cap - o, "%s%.*s", n ? ", " : "", (int)len,
			 key);
		n++;
	}
	return n;
}

/* Why a lookup for `key` failed with c-ares `status`: an errno, and a line
 * naming the name, the server and the reason. */
static int failure_text(struct tcp_resolver *r, const char *key, int status,
			char *why, size_t cap)
{
	char tried[TRIED_TEXT], in[16];
	unsigned n;
	int tries = TCP_RESOLVE_TRIES;

	tcp_ms_format(r->t->resolve_timeout_ms, in, sizeof(in));
	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		n = tried_list(r, key, tried, sizeof(tried));
		if (n < 2 && status == ARES_ENOTFOUND)
			snprintf(why, cap,
				 "cannot resolve %s: no such name (NXDOMAIN "
				 "from %s)",
				 key, r->servers);
		else if (n < 2)
			snprintf(why, cap,
				 "cannot resolve %s: it has no address (no A "
				 "or AAAA record)",
				 key);
		else if (status == ARES_ENOTFOUND)
			snprintf(why, cap,
				 "cannot resolve %s: no such name (tried %s: "
				 "NXDOMAIN from %s)",
				 key, tried, r->servers);
		else /* c-ares says "no address" if any name had none */
			snprintf(why, cap,
				 "cannot resolve %s: no such name or no address "
				 "(tried %s: NXDOMAIN or no A or AAAA record, "
				 "from %s)",
				 key, tried, r->servers);
		return status == ARES_ENOTFOUND ? ENOENT : ENODATA;
	case ARES_ETIMEOUT:
		if (r->opts_ok && (r->opts_mask & ARES_OPT_TRIES))
			tries = r->opts.tries;
		snprintf(why, cap,
			 "cannot resolve %s: no answer from the nameserver "
			 "(%s; %d tries in %s)",
			 key, r->servers, tries, in);
		return ETIMEDOUT;
	case ARES_ECONNREFUSED:
		snprintf(why, cap,
			 "cannot resolve %s: cannot reach the nameserver (%s: "
			 "connection refused)",
			 key, r->servers);
		return ECONNREFUSED;
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
		snprintf(why, cap,
			 "cannot resolve %s: the nameserver failed (%s from "
			 "%s)",
			 key, status == ARES_ESERVFAIL ? "SERVFAIL" : "REFUSED",
			 r->servers);
		return EIO;
	case ARES_EBADNAME:
		snprintf(why, cap, "'%s' is not a valid host name", key);
		return EINVAL;
	case ARES_ENOMEM:
		snprintf(why, cap, "cannot resolve %s: out of memory", key);
		return ENOMEM;
	default:
		snprintf(why, cap, "cannot resolve %s: %s (from %s)", key,
			 ares_strerror(status), r->servers);
		return EIO;
	}
}

/* c-ares' addresses into *out, in its order (RFC 6724, as getaddrinfo
 * sorts them); the smallest TTL, or -1 if none was given. */
static int64_t addrs_take(const char *key, const struct ares_addrinfo *ai,
			  struct tcp_addrs *out)
{
	const struct ares_addrinfo_node *p;
	size_t klen = strlen(key);
	int64_t ttl = -1;

	memset(out, 0, sizeof(*out));
	for (p = ai ? ai->nodes : NULL; p && out->n < TCP_ADDRS_MAX;
	     p = p->ai_next) {
		if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) ||
		    (size_t)p->ai_addrlen > sizeof(out->a[0]))
			continue;
		memcpy(&out->a[out->n++], p->ai_addr, (size_t)p->ai_addrlen);
		if (ttl < 0 || p->ai_ttl < ttl)
			ttl = p->ai_ttl;
	}
	if (klen && key[klen - 1] == '.')
		klen--;
	/* ai->name is the question of the answer used: another name than
	 * the one written means the search list found it. */
	if (ai && ai->name && strlen(ai->name) < sizeof(out->name) &&
	    !(strncasecmp(ai->name, key, klen) == 0 && !ai->name[klen]))
		memcpy(out->name, ai->name, strlen(ai->name) + 1);
	return ttl;
}

static void lookup_unlink(struct tcp_lookup *l)
{
	struct tcp_lookup **p;

	for (p = &l->t->resolver->lookups; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	l->next = NULL;
	if (l->timer)
		l->t->host->source_remove(l->timer);
	l->timer = NULL;
}

/* Tell every waiter; `l` is not touched afterwards by the caller's list
 * walk (a callback may cancel others). */
static void lookup_tell(struct tcp_lookup *l, int err, const char *why,
			const struct tcp_addrs *addrs)
{
	struct tcp_resolve_wait *w;

	while ((w = l->waiters)) {
		l->waiters = w->next;
		w->next = NULL;
		w->lookup = NULL;
		w->fn(w->data, err, why, addrs);
	}
}

/* ares_getaddrinfo's answer. */
static void lookup_on_answer(void *arg, int status, int timeouts,
			     struct ares_addrinfo *ai)
{
	struct tcp_lookup *l = arg;
	struct tcp *t = l->t;
	struct tcp_resolver *r = t->resolver;
	struct tcp_addrs addrs;
	char why[1200];
	int64_t ttl;
	int err;

	(void)timeouts;
	if (l->sync) { /* inside tcp_resolve(): the hosts file, or refused */
		l->sync_done = 1;
		l->sync_status = status;
		if (status == ARES_SUCCESS)
			addrs_take(l->name, ai, &l->sync_addrs);
		ares_freeaddrinfo(ai);
		return;
	}
	r->n_lookups--;
	if (l->orphan || r->stopping) {
		ares_freeaddrinfo(ai);
		free(l);
		return;
	}
	lookup_unlink(l);
	if (status == ARES_SUCCESS) {
		ttl = addrs_take(l->name, ai, &addrs);
		ares_freeaddrinfo(ai);
		if (addrs.n) {
			cache_put(t, l->name, 0, &addrs, ttl);
			lookup_tell(l, 0, NULL, &addrs);
			free(l);
			return;
		}
		status = ARES_ENODATA;
	} else {
		ares_freeaddrinfo(ai);
	}
	err = failure_text(r, l->name, status, why, sizeof(why));
	if (err == ENOENT || err == ENODATA)
		cache_put(t, l->name, err, NULL, TCP_NEG_TTL_S);
	lookup_tell(l, err, why, NULL);
	free(l);
}

/* resolve_timeout: the waiters are told; c-ares' query runs out on its
 * own (its tries are bounded) and frees the lookup then. */
static void lookup_on_timer(void *data)
{
	struct tcp_lookup *l = data;
	struct tcp_resolver *r = l->t->resolver;
	char why[700], in[16];

	tcp_ms_format(l->t->resolve_timeout_ms, in, sizeof(in));
	snprintf(why, sizeof(why),
		 "cannot resolve %s: no answer from the nameserver (%s) in "
		 "time (resolve_timeout %s)",
		 l->name, r->servers, in);
	lookup_unlink(l);
	l->orphan = 1;
	lookup_tell(l, ETIMEDOUT, why, NULL);
}

/* ---- entry points ------------------------------------------------- */

int tcp_resolve(struct tcp *t, const char *host, struct tcp_addrs *out,
		struct tcp_resolve_wait *w, char *why, size_t why_cap)
{
	struct tcp_resolver *r = t->resolver;
	struct ares_addrinfo_hints hints;
	char name[KEY_MAX];
	struct tcp_lookup *l;
	struct cache_entry *e;
	uint64_t now = t->host->now_ms();
	size_t n;
	int err;

	out->name[0] = '\0';
	if (numeric_get(host, NULL, out->a, TCP_ADDRS_MAX, &n) == 0) {
		out->n = (unsigned)n;
		return 0;
	}
	if (name_check(host, name) < 0 || strchr(host, ':') ||
	    strspn(host, "0123456789.") == strlen(host)) {
		snprintf(why, why_cap, "'%s' is not a valid host name", host);
		return -EINVAL;
	}
	if ((!r || !r->ch_ok) && tcp_resolve_start(t) < 0) {
		snprintf(why, why_cap, "cannot resolve %s: out of memory",
			 name);
		return -ENOMEM;
	}
	r = t->resolver;
	e = cache_find(r, now, name);
	if (e && !e->err) {
		*out = e->addrs;
		return 0;
	}
	if (e) {
		char in[16];

		tcp_ms_format(e->expires_ms - now, in, sizeof(in));
		snprintf(why, why_cap, "cannot resolve %s: %s (cached for %s)",
			 name,
			 e->err == ENOENT ? "no such name"
					  : "it has no address",
			 in);
		return -e->err;
	}
	for (l = r->lookups; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			break;
	if (l)
		goto wait;
	if (r->n_lookups >= TCP_LOOKUPS_MAX) {
		snprintf(why, why_cap,
			 "cannot resolve %s: %u names are being resolved "
			 "already",
			 name, TCP_LOOKUPS_MAX);
		return -EBUSY;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(why, why_cap, "cannot resolve %s: out of memory", name);
		return -ENOMEM;
	}
	l->t = t;
	memcpy(l->name, name, sizeof(name));
	l->timer = t->host->timer_add(t->ctx, t->resolve_timeout_ms,
				      lookup_on_timer, l);
	if (!l->timer) {
		free(l);
		snprintf(why, why_cap, "cannot resolve %s: cannot arm a timer",
			 name);
		return -ENOMEM;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (t->hosts_file) {
		/* c-ares 1.18 takes another hosts file only from the
		 * environment; it is read inside ares_getaddrinfo(). */
		const char *cur = getenv("CARES_HOSTS");

		if ((!cur || strcmp(cur, t->hosts_file) != 0) &&
		    setenv("CARES_HOSTS", t->hosts_file, 1) < 0) {
			t->host->source_remove(l->timer);
			free(l);
			snprintf(why, why_cap,
				 "cannot resolve %s: out of memory", name);
			return -ENOMEM;
		}
		hints.ai_flags |= ARES_AI_ENVHOSTS;
	}
	l->sync = 1;
	r->n_lookups++;
	ares_getaddrinfo(r->ch, name, NULL, &hints, lookup_on_answer, l);
	l->sync = 0;
	if (l->sync_done) { /* answered (or refused) at once */
		r->n_lookups--;
		t->host->source_remove(l->timer);
		if (l->sync_status == ARES_SUCCESS && l->sync_addrs.n) {
			*out = l->sync_addrs;
			free(l);
			return 0;
		}
		err = failure_text(r, name,
				   l->sync_status == ARES_SUCCESS
					   ? ARES_ENODATA
					   : l->sync_status,
				   why, why_cap);
		free(l);
		return -err;
	}
	l->next = r->lookups;
	r->lookups = l;
	resolver_rearm(r);
wait:
	w->lookup = l;
	w->next = l->waiters;
	l->waiters = w;
	return 1;
}

void tcp_resolve_cancel(struct tcp_resolve_wait *w)
{
	struct tcp_resolve_wait **p;

	if (!w->lookup)
		return;
	/* The lookup goes on: its answer is cached for the next one. */
	for (p = &w->lookup->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->lookup = NULL;
	w->next = NULL;
}

void tcp_resolve_stop(struct tcp *t)
{
	struct tcp_resolver *r = t->resolver;
	const struct ockam_host *h = t->host;
	struct tcp_lookup *l;

	if (!r || !r->ch_ok)
		return;
	r->stopping = 1;
	for (l = r->lookups; l; l = l->next) {
		struct tcp_resolve_wait *w;

		for (w = l->waiters; w; w = w->next)
			w->lookup = NULL;
		l->waiters = NULL;
		if (l->timer)
			h->source_remove(l->timer);
		l->timer = NULL;
	}
	r->lookups = NULL;
	/* Every query's callback runs (ARES_EDESTRUCTION) and frees its
	 * lookup; every socket's state callback removes its watch. */
	ares_destroy(r->ch);
	r->ch_ok = 0;
	while (r->watches) {
		struct ares_watch *wa = r->watches;

		r->watches = wa->next;
		h->source_remove(wa->src);
		free(wa);
	}
	if (r->timer)
		h->source_remove(r->timer);
	r->timer = NULL;
	if (r->opts_ok)
		ares_destroy_options(&r->opts);
	r->opts_ok = 0;
	ares_library_cleanup();
	r->stopping = 0;
}

void tcp_resolve_free(struct tcp *t)
{
	struct tcp_resolver *r = t->resolver;

	if (!r)
		return;
	tcp_resolve_stop(t);
	free(r->cache);
	free(r);
	t->resolver = NULL;
}
