/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host names to addresses without blocking the node's one loop (and
 * without threads, so neither getaddrinfo() nor getaddrinfo_a()).
 *
 *   numeric ("10.0.0.7", "[fe80::1%eth0]")  getaddrinfo(AI_NUMERICHOST),
 *                                            which never looks anything up
 *   the hosts file ("localhost")             tcp_hosts.c, in memory
 *   a cached answer                          until its TTL runs out
 *   anything else                            a DNS stub resolver: A and
 *                                            AAAA over UDP to the
 *                                            nameservers, in the loop
 *
 * One lookup per name in flight (TCP_LOOKUPS_MAX at most); every
 * connection waiting for that name waits on it.  A try sends both queries
 * from a fresh UDP socket bound to a random port and connected to one
 * nameserver (so the kernel drops datagrams from anyone else), each with a
 * random id; an answer counts only if its id and question match
 * (dns_wire.c), anything else is ignored.  resolve_timeout is split over
 * TCP_RESOLVE_TRIES tries, rotating through the nameservers; a server
 * failure or an unreachable server moves to the next try at once.
 *
 * resolv.conf's `search` (or `domain`) and `options ndots:N` are used as
 * glibc's res_search uses them (so "bob" finds bob.ns.svc.cluster.local in
 * Kubernetes): a name ending in a dot is asked for only as written; one
 * with at least ndots dots as written, then with each search domain; any
 * other with each search domain first, then as written.  NXDOMAIN or "no
 * address" moves on to the next name; no answer or a server failure ends
 * the lookup.  resolve_timeout bounds all of it: each name's tries get
 * what is left.  Other options (timeout:, attempts:, rotate) and
 * LOCALDOMAIN / RES_OPTIONS are not used.
 *
 * Answers are cached under the name as written (TCP_CACHE_MAX names, the
 * soonest to expire evicted first) for their TTL, at most an hour;
 * NXDOMAIN and "no address" for the SOA's negative TTL (the smallest of
 * the names tried), at most 5 minutes.
 */
#include "tcp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_wire.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define HOSTS_DEFAULT "/etc/hosts"
#define TCP_RESOLVE_TRIES 3u
#define TCP_LOOKUPS_MAX 64u
#define TCP_CACHE_MAX 256u
#define TCP_TTL_MAX_S 3600u
#define TCP_NEG_TTL_MAX_S 300u
/* Datagrams read per readiness callback. */
#define RECV_BATCH 16
#define BIND_TRIES 8
/* resolv.conf's search list, as glibc bounds it (MAXDNSRCH, and 256
 * characters), and its ndots (RES_MAXNDOTS). */
#define SEARCH_MAX 6u
#define SEARCH_CHARS 256u
#define NDOTS_MAX 15
/* The name as written and with each search domain. */
#define CANDS_MAX (SEARCH_MAX + 1u)
/* A lookup's key: the name as written, normalized, with its trailing dot
 * if it had one ("bob." is not searched, "bob" is). */
#define KEY_MAX (DNS_NAME_MAX + 2)

_Static_assert(sizeof(((struct tcp_addrs *)0)->name) == DNS_NAME_MAX + 1,
	       "tcp_addrs.name holds a DNS name");

enum { Q_A, Q_AAAA, Q_N };
static const uint16_t qtypes[Q_N] = {DNS_TYPE_A, DNS_TYPE_AAAA};

struct tcp_lookup {
	struct tcp_lookup *next;
	struct tcp *t;
	char name[KEY_MAX];
	/* The names to ask for, in order; cands[cand] is being asked. */
	char cands[CANDS_MAX][DNS_NAME_MAX + 1];
	unsigned n_cands, cand, plain; /* plain: the name as written */
	int tried[CANDS_MAX];  /* ENOENT or ENODATA, for those before cand */
	int64_t neg_ttl;       /* the smallest of theirs; -1: do not cache */
	char neg_ns[TCP_GONE_KEY]; /* the server that said so, last */
	uint64_t deadline_ms;  /* resolve_timeout bounds all candidates */
	int fd;
	struct ockam_source *src, *timer;
	unsigned try;      /* 0-based */
	uint16_t id[Q_N];  /* of this try */
	int done[Q_N];     /* answered (NOERROR), in any try */
	struct dns_answer ans[Q_N];
	int err;           /* why the last try failed */
	char why[192];
	struct tcp_resolve_wait *waiters;
};

struct cache_entry {
	char name[KEY_MAX];
	uint64_t expires_ms;
	int err; /* 0: addrs; else the cached failure (ENOENT, ENODATA) */
	struct tcp_addrs addrs;
};

struct tcp_resolver {
	struct tcp_lookup *lookups;
	size_t n_lookups;
	struct cache_entry *cache;
	size_t n_cache;
	struct tcp_hosts *hosts;
	int conf_read;
	char search[SEARCH_MAX][DNS_NAME_MAX + 1];
	unsigned n_search, ndots;
	uint8_t buf[DNS_MSG_MAX];
};

socklen_t tcp_sockaddr_len(const union tcp_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

/* ---- options and setup -------------------------------------------- */

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

/* `search` or `domain`: the last one in the file wins, as in glibc.
 * Domains that are not valid names are skipped. */
static void search_read(struct tcp_resolver *r, int one, char **save)
{
	size_t chars = 0;
	char *val;

	r->n_search = 0;
	while (r->n_search < SEARCH_MAX &&
	       (val = strtok_r(NULL, " \t\r\n", save))) {
		char *d = r->search[r->n_search];

		if (dns_name_normalize(val, strlen(val), d) < 0)
			continue;
		chars += strlen(d) + 1;
		if (chars > SEARCH_CHARS)
			break;
		r->n_search++;
		if (one)
			break;
	}
}

/* resolv.conf (the `resolv_conf` option, or /etc/resolv.conf): its
 * nameservers unless the `nameserver` option named some, 127.0.0.1 if
 * neither does (as glibc does); its search list and ndots. */
static void resolv_conf_read(struct tcp *t, struct tcp_resolver *r)
{
	char line[512];
	int want_ns = !t->n_nameservers;
	FILE *f = fopen(t->resolv_conf ? t->resolv_conf : RESOLV_CONF, "re");

	r->ndots = 1;
	/* A missing /etc/resolv.conf is normal (glibc's defaults apply); a
	 * file named in the config is expected to be there. */
	if (!f && t->resolv_conf)
		t->host->log(t->ctx, OCKAM_LOG_WARN,
			     "resolv_conf: cannot read %s: %s; no search list",
			     t->resolv_conf, strerror(errno));
	while (f && fgets(line, sizeof(line), f)) {
		char *save = NULL, *key = strtok_r(line, " \t\r\n", &save);
		char *val;
		size_t n;

		if (!key)
			continue;
		if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) {
			search_read(r, key[0] == 'd', &save);
			continue;
		}
		if (strcmp(key, "options") == 0) {
			while ((val = strtok_r(NULL, " \t\r\n", &save)))
				if (strncmp(val, "ndots:", 6) == 0 &&
				    val[6] >= '0' && val[6] <= '9') {
					unsigned long d = strtoul(val + 6, NULL,
								  10);

					r->ndots = d > NDOTS_MAX ? NDOTS_MAX
								 : (unsigned)d;
				}
			continue;
		}
		val = strtok_r(NULL, " \t\r\n", &save);
		if (!val || !want_ns || strcmp(key, "nameserver") != 0 ||
		    t->n_nameservers >= TCP_NAMESERVERS_MAX)
			continue;
		if (numeric_get(val, "53", &t->nameservers[t->n_nameservers],
				1, &n) == 0)
			t->n_nameservers++;
	}
	if (f)
		fclose(f);
	if (!t->n_nameservers) {
		size_t n;

		numeric_get("127.0.0.1", "53", t->nameservers, 1, &n);
		t->n_nameservers = 1;
	}
}

int tcp_resolve_start(struct tcp *t)
{
	struct tcp_resolver *r = t->resolver;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		t->resolver = r;
	}
	if (!r->conf_read) {
		resolv_conf_read(t, r);
		r->conf_read = 1;
	}
	if (!r->hosts) {
		r->hosts = tcp_hosts_new(t->hosts_file ? t->hosts_file
						       : HOSTS_DEFAULT);
		if (!r->hosts)
			return -ENOMEM;
	}
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
	uint64_t now = t->host->now_ms(), max = err ? TCP_NEG_TTL_MAX_S
						     : TCP_TTL_MAX_S;
	struct cache_entry *e;
	size_t i;

	if (ttl_s <= 0)
		return; /* not to be kept */
	if ((uint64_t)ttl_s > max)
		ttl_s = (int64_t)max;
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

/* ---- lookups ------------------------------------------------------ */

static void lookup_close_socket(struct tcp_lookup *l)
{
	const struct ockam_host *h = l->t->host;

	if (l->src)
		h->source_remove(l->src);
	l->src = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Unlink and free `l`, then tell each waiter. */
static void lookup_complete(struct tcp_lookup *l, int err, const char *why,
			    const struct tcp_addrs *addrs)
{
	struct tcp_resolver *r = l->t->resolver;
	struct tcp_lookup **p = &r->lookups;
	struct tcp_resolve_wait *w;

	while (*p != l)
		p = &(*p)->next;
	*p = l->next;
	r->n_lookups--;
	lookup_close_socket(l);
	if (l->timer)
		l->t->host->source_remove(l->timer);
	/* A waiter's callback may cancel others (closing connections):
	 * take them one at a time from the list cancel edits. */
	while ((w = l->waiters)) {
		l->waiters = w->next;
		w->next = NULL;
		w->lookup = NULL;
		w->fn(w->data, err, why, addrs);
	}
	free(l);
}

static void ns_format(struct tcp *t, unsigned try, char *out, size_t cap)
{
	const union tcp_sockaddr *ns =
		&t->nameservers[try % t->n_nameservers];

	tcp_addr_format(&ns->sa, tcp_sockaddr_len(ns), out, cap);
}

static const char *outcome_text(int err)
{
	return err == ENOENT ? "NXDOMAIN" : "no A or AAAA record";
}

/* ", for <candidate>, after a (NXDOMAIN), b (no A or AAAA record)" when
 * the search list was used: which names a failure is about. */
static void cands_note(const struct tcp_lookup *l, char *out, size_t cap)
{
	size_t o = 0;
	unsigned i;

	out[0] = '\0';
	if (l->n_cands < 2)
		return;
	o = (size_t)snprintf(out, cap, " for %s", l->cands[l->cand]);
	for (i = 0; i < l->cand && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s (%s)",
				      i ? ", " : ", after ", l->cands[i],
				      outcome_text(l->tried[i]));
}

static void lookup_fail(struct tcp_lookup *l, int err, const char *what)
{
	char why[1024], note[900];

	cands_note(l, note, sizeof(note));
	snprintf(why, sizeof(why), "cannot resolve %s: %s%s", l->name, what,
		 note);
	lookup_complete(l, err, why, NULL);
}

static void lookup_try(struct tcp_lookup *l);

/* Every candidate has no such name or no address: one line naming them
 * all, cached under the name as written. */
static void lookup_negative(struct tcp_lookup *l)
{
	char why[1024];
	unsigned i, nx = 0;
	size_t o;
	int err, mixed;

	for (i = 0; i < l->n_cands; i++)
		nx += l->tried[i] == ENOENT;
	err = nx ? ENOENT : ENODATA;
	mixed = nx && nx < l->n_cands;
	cache_put(l->t, l->name, err, NULL, l->neg_ttl);
	if (l->n_cands == 1) {
		if (err == ENOENT)
			snprintf(why, sizeof(why),
				 "cannot resolve %s: no such name (NXDOMAIN "
				 "from %s)",
				 l->name, l->neg_ns);
		else
			snprintf(why, sizeof(why),
				 "cannot resolve %s: it has no address (no A "
				 "or AAAA record)",
				 l->name);
		lookup_complete(l, err, why, NULL);
		return;
	}
	o = (size_t)snprintf(why, sizeof(why), "cannot resolve %s: %s (tried ",
			     l->name,
			     nx == l->n_cands ? "no such name"
			     : nx	      ? "no such name or no address"
					      : "it has no address");
	for (i = 0; i < l->n_cands && o < sizeof(why); i++)
		o += (size_t)snprintf(why + o, sizeof(why) - o, "%s%s%s%s%s",
				      i ? ", " : "", l->cands[i],
				      mixed ? " (" : "",
				      mixed ? outcome_text(l->tried[i]) : "",
				      mixed ? ")" : "");
	if (o < sizeof(why))
		snprintf(why + o, sizeof(why) - o, "%s%s%s%s)",
			 mixed ? "; " : ": ", nx ? "NXDOMAIN from " : "",
			 nx ? l->neg_ns : "", nx ? "" : outcome_text(ENODATA));
	lookup_complete(l, err, why, NULL);
}

/* The candidate being asked has no such name (ENOENT) or no address
 * (ENODATA), for `ttl` seconds (-1: unknown): ask for the next one. */
static void lookup_next(struct tcp_lookup *l, int err, int64_t ttl)
{
	if (ttl < 0 || l->neg_ttl < 0)
		l->neg_ttl = -1;
	else if (ttl < l->neg_ttl)
		l->neg_ttl = ttl;
	ns_format(l->t, l->try, l->neg_ns, sizeof(l->neg_ns));
	l->tried[l->cand] = err;
	lookup_close_socket(l);
	if (l->cand + 1 >= l->n_cands) {
		lookup_negative(l);
		return;
	}
	l->cand++;
	if (l->t->host->now_ms() >= l->deadline_ms) {
		char in[16];

		tcp_ms_format(l->t->resolve_timeout_ms, in, sizeof(in));
		snprintf(l->why, sizeof(l->why),
			 "out of time (resolve_timeout %s)", in);
		lookup_fail(l, ETIMEDOUT, l->why);
		return;
	}
	l->try = 0;
	memset(l->done, 0, sizeof(l->done));
	memset(l->ans, 0, sizeof(l->ans));
	lookup_try(l);
}

/* Both answers in (or the tries ran out with one): addresses A and AAAA
 * interleaved, A first, or a failure. */
static void lookup_finish(struct tcp_lookup *l)
{
	struct tcp_addrs addrs = {0};
	int64_t ttl = -1, neg = -1;
	unsigned i, q;

	for (i = 0; i < DNS_ADDRS_MAX && addrs.n < TCP_ADDRS_MAX; i++)
		for (q = 0; q < Q_N && addrs.n < TCP_ADDRS_MAX; q++) {
			union tcp_sockaddr *a = &addrs.a[addrs.n];

			if (!l->done[q] || i >= l->ans[q].n)
				continue;
			memset(a, 0, sizeof(*a));
			if (q == Q_A) {
				a->in.sin_family = AF_INET;
				memcpy(&a->in.sin_addr, l->ans[q].addr[i], 4);
			} else {
				a->in6.sin6_family = AF_INET6;
				memcpy(&a->in6.sin6_addr, l->ans[q].addr[i],
				       16);
			}
			addrs.n++;
		}
	for (q = 0; q < Q_N; q++) {
		int64_t *slot = l->ans[q].n ? &ttl : &neg;

		if (l->done[q] && l->ans[q].ttl >= 0 &&
		    (*slot < 0 || l->ans[q].ttl < *slot))
			*slot = l->ans[q].ttl;
	}
	if (addrs.n) {
		if (l->cand != l->plain)
			memcpy(addrs.name, l->cands[l->cand],
			       strlen(l->cands[l->cand]) + 1);
		cache_put(l->t, l->name, 0, &addrs, ttl);
		lookup_complete(l, 0, NULL, &addrs);
		return;
	}
	if (l->done[Q_A] && l->done[Q_AAAA]) {
		lookup_next(l, ENODATA, neg);
		return;
	}
	lookup_fail(l, l->err, l->why);
}

/* This try failed (`err`, `fmt`): the next one, or give up. */
static void lookup_retry(struct tcp_lookup *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void lookup_retry(struct tcp_lookup *l, int err, const char *fmt, ...)
{
	va_list ap;

	l->err = err;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
	lookup_close_socket(l);
	if (++l->try >= TCP_RESOLVE_TRIES ||
	    l->t->host->now_ms() >= l->deadline_ms) {
		lookup_finish(l);
		return;
	}
	lookup_try(l);
}

static void lookup_on_timer(void *data)
{
	struct tcp_lookup *l = data;
	char ns[TCP_GONE_KEY], in[16];

	if (l->err) { /* a failure noted while sending: go on from here */
		char why[sizeof(l->why)];

		memcpy(why, l->why, sizeof(why));
		lookup_retry(l, l->err, "%s", why);
		return;
	}
	ns_format(l->t, l->try, ns, sizeof(ns));
	tcp_ms_format(l->t->resolve_timeout_ms, in, sizeof(in));
	lookup_retry(l, ETIMEDOUT,
		     "no answer from the nameserver (%s; %u tries in %s)", ns,
		     l->try + 1, in);
}

/* One datagram from the nameserver: an answer to a query of this try, or
 * ignored.  1 if the lookup ended or moved on (stop reading). */
static int lookup_on_answer(struct tcp_lookup *l, const uint8_t *buf,
			    size_t len)
{
	char ns[TCP_GONE_KEY];
	unsigned q;

	for (q = 0; q < Q_N; q++) {
		struct dns_answer ans;

		if (l->done[q] ||
		    dns_response_parse(buf, len, l->id[q], l->cands[l->cand],
				       qtypes[q], &ans) < 0)
			continue;
		ns_format(l->t, l->try, ns, sizeof(ns));
		if (ans.rcode == DNS_RCODE_NXDOMAIN) {
			lookup_next(l, ENOENT, ans.ttl);
			return 1;
		}
		if (ans.rcode != DNS_RCODE_NOERROR ||
		    (ans.truncated && !ans.n)) {
			if (ans.rcode != DNS_RCODE_NOERROR)
				lookup_retry(l, EIO,
					     "the nameserver failed (rcode %d "
					     "from %s)",
					     ans.rcode, ns);
			else
				lookup_retry(l, EMSGSIZE,
					     "the answer was truncated (from "
					     "%s)",
					     ns);
			return 1;
		}
		l->ans[q] = ans;
		l->done[q] = 1;
		if (l->done[Q_A] && l->done[Q_AAAA]) {
			lookup_finish(l);
			return 1;
		}
		return 0;
	}
	return 0; /* not ours: spoofed, late or malformed */
}

static void lookup_on_read(void *data, int fd, uint32_t events)
{
	struct tcp_lookup *l = data;
	struct tcp_resolver *r = l->t->resolver;
	char ns[TCP_GONE_KEY];
	int i;

	(void)events;
	for (i = 0; i < RECV_BATCH; i++) {
		ssize_t n = recv(fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);

		if (n >= 0) {
			if (lookup_on_answer(l, r->buf, (size_t)n))
				return;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* ICMP port unreachable and the like, on a connected
		 * socket: this server is not answering. */
		ns_format(l->t, l->try, ns, sizeof(ns));
		lookup_retry(l, errno, "nameserver %s: %s", ns,
			     strerror(errno));
		return;
	}
}

/* A fresh socket on a random port (not one the kernel would pick next). */
static int socket_open(const union tcp_sockaddr *ns)
{
	union tcp_sockaddr local;
	int fd = socket(ns->sa.sa_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int i;

	if (fd < 0)
		return -errno;
	memset(&local, 0, sizeof(local));
	local.sa.sa_family = ns->sa.sa_family;
	for (i = 0; i < BIND_TRIES; i++) {
		uint16_t port = (uint16_t)(1024 + randombytes_uniform(65536 -
								       1024));

		if (ns->sa.sa_family == AF_INET6)
			local.in6.sin6_port = htons(port);
		else
			local.in.sin_port = htons(port);
		if (bind(fd, &local.sa, tcp_sockaddr_len(&local)) == 0)
			break;
		if (errno != EADDRINUSE)
			break; /* connect() binds an ephemeral port instead */
	}
	if (connect(fd, &ns->sa, tcp_sockaddr_len(ns)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Send this try's queries.  Failures are noted and handled from the timer
 * (armed at 0 ms), so a lookup never ends inside tcp_resolve(). */
static void lookup_try(struct tcp_lookup *l)
{
	struct tcp *t = l->t;
	const struct ockam_host *h = t->host;
	const union tcp_sockaddr *ns =
		&t->nameservers[l->try % t->n_nameservers];
	uint64_t ms = t->resolve_timeout_ms / TCP_RESOLVE_TRIES,
		 now = h->now_ms();
	uint8_t q_buf[DNS_NAME_MAX + 2 + 16];
	char text[TCP_GONE_KEY];
	unsigned q;
	int fd;

	l->err = 0;
	if (now + ms > l->deadline_ms)
		ms = l->deadline_ms > now ? l->deadline_ms - now : 1;
	fd = socket_open(ns);
	if (fd < 0) {
		l->err = -fd;
		goto fail;
	}
	l->fd = fd;
	l->src = h->fd_add(t->ctx, fd, OCKAM_EV_READ, lookup_on_read, l);
	if (!l->src) {
		l->err = ENOMEM;
		goto fail;
	}
	for (q = 0; q < Q_N; q++) {
		size_t len;

		if (l->done[q])
			continue;
		/* A fresh id each try: a late answer to an earlier try is
		 * not taken for this one. */
		l->id[q] = (uint16_t)randombytes_uniform(65536);
		len = dns_query_build(q_buf, sizeof(q_buf), l->id[q],
				      l->cands[l->cand], qtypes[q]);
		if (send(fd, q_buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			l->err = errno;
			goto fail;
		}
	}
	h->timer_update(l->timer, ms ? ms : 1);
	return;
fail:
	tcp_addr_format(&ns->sa, tcp_sockaddr_len(ns), text, sizeof(text));
	snprintf(l->why, sizeof(l->why), "nameserver %s: %s", text,
		 strerror(l->err));
	h->timer_update(l->timer, 1);
}

/* ---- entry points ------------------------------------------------- */

static void cand_add(struct tcp_lookup *l, const char *name,
		     const char *domain)
{
	size_t a = strlen(name), b = domain ? strlen(domain) : 0;
	char *c = l->cands[l->n_cands];

	if (a + (b ? b + 1 : 0) > DNS_NAME_MAX)
		return; /* too long with this domain: skipped, as glibc does */
	memcpy(c, name, a + 1);
	if (b) {
		c[a] = '.';
		memcpy(c + a + 1, domain, b + 1);
	} else {
		l->plain = l->n_cands;
	}
	l->n_cands++;
}

/* The names to ask for, as glibc's res_search orders them: a name ending
 * in a dot only as written; one with at least ndots dots as written, then
 * with each search domain; any other with each search domain first. */
static void cands_build(struct tcp_resolver *r, struct tcp_lookup *l,
			const char *name, int absolute)
{
	unsigned dots = 0, i;
	const char *p;

	for (p = name; *p; p++)
		dots += *p == '.';
	if (absolute || dots >= r->ndots)
		cand_add(l, name, NULL);
	for (i = 0; !absolute && i < r->n_search; i++)
		cand_add(l, name, r->search[i]);
	if (!absolute && dots < r->ndots)
		cand_add(l, name, NULL);
}

int tcp_resolve(struct tcp *t, const char *host, struct tcp_addrs *out,
		struct tcp_resolve_wait *w, char *why, size_t why_cap)
{
	struct tcp_resolver *r = t->resolver;
	char name[KEY_MAX];
	struct tcp_lookup *l;
	struct cache_entry *e;
	uint64_t now = t->host->now_ms();
	size_t n, hlen = strlen(host);
	int absolute = hlen && host[hlen - 1] == '.';

	out->name[0] = '\0';
	if (numeric_get(host, NULL, out->a, TCP_ADDRS_MAX, &n) == 0) {
		out->n = (unsigned)n;
		return 0;
	}
	if (dns_name_normalize(host, strlen(host), name) < 0 ||
	    strchr(host, ':') || strspn(host, "0123456789.") == strlen(host)) {
		snprintf(why, why_cap, "'%s' is not a valid host name", host);
		return -EINVAL;
	}
	if (!r && tcp_resolve_start(t) < 0) {
		snprintf(why, why_cap, "cannot resolve %s: out of memory",
			 name);
		return -ENOMEM;
	}
	r = t->resolver;
	if (tcp_hosts_lookup(r->hosts, now, name, out))
		return 0;
	if (absolute)
		strcat(name, ".");
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
	if (!l) {
		if (r->n_lookups >= TCP_LOOKUPS_MAX) {
			snprintf(why, why_cap,
				 "cannot resolve %s: %u names are being "
				 "resolved already",
				 name, TCP_LOOKUPS_MAX);
			return -EBUSY;
		}
		l = calloc(1, sizeof(*l));
		if (!l) {
			snprintf(why, why_cap,
				 "cannot resolve %s: out of memory", name);
			return -ENOMEM;
		}
		l->t = t;
		l->fd = -1;
		memcpy(l->name, name, sizeof(name));
		name[strlen(name) - (size_t)absolute] = '\0';
		cands_build(r, l, name, absolute);
		l->neg_ttl = INT64_MAX;
		l->deadline_ms = now + t->resolve_timeout_ms;
		/* Re-armed by each try. */
		l->timer = t->host->timer_add(t->ctx, t->resolve_timeout_ms,
					      lookup_on_timer, l);
		if (!l->timer) {
			free(l);
			snprintf(why, why_cap,
				 "cannot resolve %s: cannot arm a timer", name);
			return -ENOMEM;
		}
		l->next = r->lookups;
		r->lookups = l;
		r->n_lookups++;
		lookup_try(l);
	}
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

	while (r && r->lookups) {
		struct tcp_lookup *l = r->lookups;
		struct tcp_resolve_wait *w;

		r->lookups = l->next;
		r->n_lookups--;
		for (w = l->waiters; w; w = w->next)
			w->lookup = NULL;
		lookup_close_socket(l);
		if (l->timer)
			t->host->source_remove(l->timer);
		free(l);
	}
}

void tcp_resolve_free(struct tcp *t)
{
	struct tcp_resolver *r = t->resolver;

	if (!r)
		return;
	tcp_resolve_stop(t);
	tcp_hosts_free(r->hosts);
	free(r->cache);
	free(r);
	t->resolver = NULL;
}
