/* SPDX-License-Identifier: Apache-2.0 */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "notice.h"
#include "route_text.h"
#include "router.h"
#include "status.h"

enum app_state { APP_UNSENT, APP_SENT, APP_ANSWERED, APP_FAILED };

struct app_message {
	const struct config_message *cfg;
	struct ockam_route route; /* views of hops[] and the config's text */
	struct ockam_addr hops[OCKAM_ROUTE_MAX];
	uint8_t secure; /* route.hop[0] is a local secure channel */
	uint8_t state;  /* enum app_state */
	uint8_t pushed_back; /* its first hop was full: sent again later */
};

/* A send the next hop refused with ENOBUFS is tried again after this, then
 * twice as long each time up to the maximum, within the message's
 * timeout. */
#define APP_RETRY_MIN_MS 5
#define APP_RETRY_MAX_MS 100
/* How often a node about to exit looks whether what it sent has left. */
#define APP_LINGER_POLL_MS 10
/* Messages failing at once for one cause (a channel's handshake failing
 * its 64 queued messages) get this many lines each, then one count. */
#define APP_CAUSE_LINES 5
/* Causes tracked apart; any beyond share the last slot's count. */
#define APP_CAUSES 8
#define APP_CAUSE_MAX 512

struct app_cause {
	char why[APP_CAUSE_MAX]; /* "" for the shared "other causes" slot */
	size_t count;            /* messages failed for it */
};

struct app {
	struct node *node;
	struct app_message *msgs;
	size_t n, next;   /* next: index of the message to send */
	size_t sent_end;  /* one past the highest index sent */
	int waiting;      /* the message at next-1 awaits its reply */
	int failures;
	int registered;
	int done;         /* every message answered, failed or handed on */
	struct ockam_source *timer; /* the reply timeout */
	struct ockam_source *retry; /* ENOBUFS retry, or the linger poll */
	/* End of the loop turn the messages were sent in: they have been
	 * delivered, so a worker's push-back (ENOBUFS) is known. */
	struct ockam_source *flush;
	int pushed;            /* a message was pushed back this turn */
	size_t blocked_at;     /* the message blocked_ms is about */
	uint64_t sent_ms;
	uint64_t blocked_ms;   /* the message at next was first refused */
	uint64_t retry_ms;     /* the current retry delay */
	uint64_t linger_until; /* 0: not waiting for what it sent to leave */
	uint64_t refused;      /* messages to app that were not the reply */
	size_t full_failed;    /* not sent: the next hop stayed full */
	struct ockam_log_limit lim_refused;
	struct app_cause causes[APP_CAUSES];
	int reported; /* app_report has run */
	size_t held;  /* sent, still held by a hop when the node stopped */
};

static void app_send_next(struct app *a);
static void app_finish(struct app *a);

/* Message m failed for `why`: one line for each of the first few with
 * that cause; the rest are counted and said in one line by app_report. */
static void app_not_delivered(struct app *a, const struct app_message *m,
			      const char *why)
{
	struct app_cause *c = NULL;
	for (size_t i = 0; i < APP_CAUSES && !c; i++) {
		struct app_cause *k = &a->causes[i];
		if (!k->count || (i == APP_CAUSES - 1 && !k->why[0]) ||
		    !strncmp(k->why, why, APP_CAUSE_MAX - 1))
			c = k;
	}
	if (!c)
		c = &a->causes[APP_CAUSES - 1];
	if (!c->count)
		snprintf(c->why, sizeof(c->why), "%s", why);
	else if (c == &a->causes[APP_CAUSES - 1] &&
		 strncmp(c->why, why, APP_CAUSE_MAX - 1))
		c->why[0] = '\0'; /* shared by several causes now */
	if (c->count++ >= APP_CAUSE_LINES)
		return;
	char route[512];
	route_text_format(a->node->router, &m->route, route, sizeof(route));
	log_write(OCKAM_LOG_ERROR, "app", "message to %s not delivered: %s",
		  route, why);
}

/* Once, when the messages are done (or the node stopped): the counts of
 * the lines app_not_delivered held back, then, if any message failed, what
 * became of them all. */
static void app_report(struct app *a)
{
	if (a->reported)
		return;
	a->reported = 1;
	for (size_t i = 0; i < APP_CAUSES; i++) {
		const struct app_cause *c = &a->causes[i];
		if (c->count <= APP_CAUSE_LINES)
			continue;
		size_t more = c->count - APP_CAUSE_LINES;
		log_write(OCKAM_LOG_ERROR, "app",
			  "%zu more message%s not delivered: %s", more,
			  more == 1 ? "" : "s",
			  c->why[0] ? c->why : "(several causes)");
	}
	if (!a->failures)
		return;
	size_t answered = 0, handed = 0, failed = 0, unsent = 0;
	for (size_t i = 0; i < a->n; i++) {
		switch (a->msgs[i].state) {
		case APP_ANSWERED: answered++; break;
		case APP_SENT: handed++; break;
		case APP_FAILED: failed++; break;
		default: unsent++; break;
		}
	}
	/* The held ones are among the sent: which of them is not known. */
	char held[96] = "";
	if (a->held)
		snprintf(held, sizeof(held), " (%zu of them still held when the node stopped)",
			 a->held);
	log_write(OCKAM_LOG_INFO, "app",
		  "%zu message%s: %zu answered, %zu sent without awaiting a reply%s, %zu failed, %zu not sent",
		  a->n, a->n == 1 ? "" : "s", answered, handed, held, failed,
		  unsent);
}

static void app_on_retry(void *data)
{
	struct app *a = data;
	if (a->linger_until)
		app_finish(a);
	else
		app_send_next(a);
}

static int app_arm_retry(struct app *a, uint64_t ms)
{
	if (!a->retry)
		a->retry = loop_add_timer(a->node->loop, ms, app_on_retry, a, a);
	else
		loop_update_timer(a->retry, ms);
	return a->retry != NULL;
}

/* Before exiting, wait until what the node accepted has been handed on (a
 * connection still connecting, a channel still in its handshake), at most
 * the longest timeout of the messages; whatever is still held then is
 * lost when the node stops, which one line says and the exit status
 * shows. */
static void app_finish(struct app *a)
{
	struct node *n = a->node;
	char why[512];
	uint64_t now = loop_now_ms();

	if (n->cfg->after_messages != CONFIG_AFTER_EXIT) {
		a->done = 1;
		n->exit_code = a->failures ? 1 : 0;
		app_report(a);
		log_write(OCKAM_LOG_INFO, "app",
			  "all messages done; node keeps running");
		return;
	}
	if (a->full_failed > 1 && !a->done && !a->linger_until)
		log_write(OCKAM_LOG_ERROR, "app",
			  "%zu messages in all not sent: the next hop stayed full (ENOBUFS)",
			  a->full_failed);
	size_t held = node_pending(n, why, sizeof(why));
	if (held) {
		if (!a->linger_until) {
			uint64_t longest = 0;
			for (size_t i = 0; i < a->n; i++)
				if (a->msgs[i].cfg->timeout_ms > longest)
					longest = a->msgs[i].cfg->timeout_ms;
			a->linger_until = now + longest;
		}
		if (now < a->linger_until &&
		    app_arm_retry(a, APP_LINGER_POLL_MS))
			return;
		log_write(OCKAM_LOG_ERROR, "app",
			  "%zu message%s not handed on when the node stopped (%s)",
			  held, held == 1 ? "" : "s", why);
		a->failures++;
		a->held = held;
	}
	a->linger_until = 0;
	a->done = 1;
	app_report(a);
	node_quit(n, a->failures ? 1 : 0);
}

static void app_timeout(void *data)
{
	struct app *a = data;
	if (!a->waiting)
		return;
	struct app_message *m = &a->msgs[a->next - 1];
	char route[512];
	route_text_format(a->node->router, &m->route, route, sizeof(route));
	log_write(OCKAM_LOG_ERROR, "app",
		  "no reply from %s within %llu ms", route,
		  (unsigned long long)m->cfg->timeout_ms);
	m->state = APP_FAILED;
	a->waiting = 0;
	a->failures++;
	app_send_next(a);
}

/* Only the reply counts: a message to "app" that did not come back the
 * way the one awaiting it went (ockam_message_is_reply: the same route
 * back, and out of the same secure channel if it went into one) is
 * dropped, rate-limited and counted, and the app keeps waiting. */
static int app_handle(void *owner, void *addr_data,
		      const struct ockam_message *msg)
{
	struct app *a = owner;
	struct app_message *m = a->waiting ? &a->msgs[a->next - 1] : NULL;
	char route[512];
	(void)addr_data;
	if (!m || !ockam_message_is_reply(msg, &m->route, m->secure)) {
		char sent[512];
		a->refused++;
		/* Strangers can send these per frame: format only a line
		 * that will be written. */
		if (!log_limit_due(&a->lim_refused, OCKAM_LOG_WARN))
			return 0;
		route_text_format(a->node->router, &msg->ret, route,
				  sizeof(route));
		if (!m) {
			log_limited(&a->lim_refused, OCKAM_LOG_WARN, "app",
				    "unexpected message from %s (%zu bytes): no reply awaited; dropped",
				    route, msg->payload_len);
			return 0;
		}
		route_text_format(a->node->router, &m->route, sent,
				  sizeof(sent));
		log_limited(&a->lim_refused, OCKAM_LOG_WARN, "app",
			    "dropped a %s message from %s (%zu bytes): not the reply to %s, which must come back %s (%llu dropped so far)",
			    (msg->flags & OCKAM_MSG_SECURE) ? "secure"
							    : "plaintext",
			    route, msg->payload_len, sent,
			    m->secure ? "out of that secure channel"
				      : "the way it went",
			    (unsigned long long)a->refused);
		return 0;
	}
	route_text_format(a->node->router, &msg->ret, route, sizeof(route));
	fputs("App Received: ", stdout);
	fwrite(msg->payload, 1, msg->payload_len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	log_write(OCKAM_LOG_INFO, "app",
		  "reply of %zu bytes from %s after %llu ms%s%s",
		  msg->payload_len, route,
		  (unsigned long long)(loop_now_ms() - a->sent_ms),
		  (msg->flags & OCKAM_MSG_SECURE) ? " through a secure channel with " : "",
		  (msg->flags & OCKAM_MSG_SECURE) ? ockam_message_identifier(msg) : "");
	m->state = APP_ANSWERED;
	a->waiting = 0;
	app_send_next(a);
	return 0;
}

/* Is the notice about message m, which was sent and not yet settled?  A
 * dropped message comes back with its payload; a channel that lost
 * messages it had already sent only knows who sent them, and names
 * itself as the onward hop. */
static int app_notice_matches(const struct app_message *m,
			      const struct ockam_message *msg)
{
	if (m->state != APP_SENT)
		return 0;
	if (msg->payload_len)
		return msg->payload_len == m->cfg->payload_len &&
		       memcmp(msg->payload, m->cfg->payload,
			      msg->payload_len) == 0;
	return msg->onward.count && m->route.count &&
	       ockam_addr_equal(&msg->onward.hop[0], &m->route.hop[0]);
}

/* A transport or channel on this node dropped one of our messages: fail
 * it, and if it awaits its reply, go on now instead of at its timeout.
 * A local worker whose queue was full (ENOBUFS: a channel during its
 * handshake) pushed it back instead: it is sent again, backing off, from
 * the end of the turn (app_on_flush), as a full local queue is. */
static void app_notice(void *owner, void *addr_data,
		       const struct ockam_message *msg, int err,
		       const char *why)
{
	struct app *a = owner;
	(void)addr_data;
	/* Most recent first: the one in flight, then those sent before it. */
	size_t i = a->sent_end;
	while (i > 0 && !app_notice_matches(&a->msgs[i - 1], msg))
		i--;
	if (i == 0)
		return; /* not ours (any more): the dropper has logged it */
	struct app_message *m = &a->msgs[i - 1];
	if (err == -ENOBUFS) {
		if (a->waiting && i == a->next)
			a->waiting = 0;
		m->state = APP_UNSENT;
		m->pushed_back = 1;
		if (i - 1 < a->next)
			a->next = i - 1;
		a->pushed = 1;
		loop_arm_flush(a->flush);
		return;
	}
	app_not_delivered(a, m, why);
	m->state = APP_FAILED;
	a->failures++;
	if (a->waiting && i == a->next) {
		a->waiting = 0;
		app_send_next(a);
	}
	/* Otherwise it was sent earlier without awaiting a reply: counted,
	 * so the exit status says so (app_exit_code). */
}

/* The next hop is full (the local queue, a connection's send queue, a
 * channel's queue during its handshake) and took nothing: send the same
 * message again from the loop, as tcp does with what it reads, backing
 * off, for at most the message's timeout.  1 if a retry is armed. */
static int app_backoff(struct app *a, const struct app_message *m)
{
	uint64_t now = loop_now_ms();
	if (!a->blocked_ms) {
		a->blocked_ms = now ? now : 1;
		a->retry_ms = APP_RETRY_MIN_MS;
	} else if (now - a->blocked_ms >= m->cfg->timeout_ms) {
		/* Given up.  blocked_ms stays until a send goes through, so
		 * the messages behind it that are refused too fail at once:
		 * one line for the first, a count at the end for all. */
		if (!a->full_failed++) {
			char route[512];
			route_text_format(a->node->router, &m->route, route,
					  sizeof(route));
			log_write(OCKAM_LOG_ERROR, "app",
				  "message to %s not sent: the next hop stayed full (ENOBUFS) for %llu ms",
				  route,
				  (unsigned long long)(now - a->blocked_ms));
		}
		return 0;
	} else if (a->retry_ms < APP_RETRY_MAX_MS) {
		a->retry_ms *= 2;
	}
	return app_arm_retry(a, a->retry_ms);
}

static void app_send_next(struct app *a)
{
	int progressed = 0; /* a send went through in this call */
	while (a->next < a->n) {
		struct app_message *m = &a->msgs[a->next];
		if (m->state != APP_UNSENT) {
			/* Sent before one behind it was pushed back. */
			a->next++;
			continue;
		}
		struct ockam_message msg;
		ockam_message_init(&msg);
		msg.onward = m->route;
		struct ockam_addr self;
		ockam_addr_local(&self, APP_ADDRESS);
		msg.ret = ockam_route_make(&self, 1);
		msg.payload = (const uint8_t *)m->cfg->payload;
		msg.payload_len = m->cfg->payload_len;
		/* The configuration names this route: its first hop may be
		 * dialled. */
		msg.flags = OCKAM_MSG_CONNECT;
		m->secure = (uint8_t)node_address_is_secure_channel(
			a->node, &m->route.hop[0]);

		a->sent_ms = loop_now_ms();
		int rc = router_send(a->node->router, "app", &msg, 0);
		if (rc == -ENOBUFS) {
			/* Blocked afresh if the one before went through. */
			if (progressed)
				a->blocked_ms = 0;
			if (app_backoff(a, m))
				return;
		}
		progressed |= rc == 0;
		a->next++;
		m->pushed_back = 0;
		if (rc < 0) {
			/* The router, the transport or the worker has
			 * already said why, once; the failure still counts
			 * for the exit status. */
			m->state = APP_FAILED;
			a->failures++;
			continue;
		}
		m->state = APP_SENT;
		if (a->next > a->sent_end)
			a->sent_end = a->next;
		/* Its worker runs at the end of this turn and may push it
		 * back: look then. */
		loop_arm_flush(a->flush);
		if (!m->cfg->want_reply)
			continue;
		a->waiting = 1;
		if (!a->timer)
			a->timer = loop_add_timer(a->node->loop,
						  m->cfg->timeout_ms,
						  app_timeout, a, a);
		else
			loop_update_timer(a->timer, m->cfg->timeout_ms);
		return;
	}
	/* All sent: finish once this turn has shown none was pushed back. */
	loop_arm_flush(a->flush);
}

/* The end of a turn in which messages were sent: each has reached its
 * first hop.  If a worker pushed some back (its queue full), send them
 * again from the first, backing off within its timeout; once that has
 * passed, it and the others pushed back fail, and the rest go on. */
static void app_on_flush(void *data)
{
	struct app *a = data;
	if (a->done)
		return;
	if (!a->pushed) {
		/* What was sent this turn went through. */
		a->blocked_ms = 0;
		a->blocked_at = (size_t)-1;
		if (a->next >= a->n && !a->waiting && !a->linger_until)
			app_finish(a);
		return;
	}
	a->pushed = 0;
	if (a->next >= a->n)
		return;
	struct app_message *m = &a->msgs[a->next];
	/* A later message is blocked now: the one before went through. */
	if (a->blocked_at != a->next) {
		a->blocked_ms = 0;
		a->blocked_at = a->next;
	}
	if (app_backoff(a, m))
		return;
	for (size_t k = a->next; k < a->n; k++) {
		struct app_message *p = &a->msgs[k];
		if (!p->pushed_back || p->state != APP_UNSENT)
			continue;
		p->pushed_back = 0;
		p->state = APP_FAILED;
		a->failures++;
		if (p != m)
			a->full_failed++; /* app_backoff counted m */
	}
	app_send_next(a);
}

/* A message whose route starts at a local address must find something
 * there: a worker of this node (registered before messages are read) or
 * the status service.  Said now, with the position, rather than as "no
 * worker at address" when the node runs; --check reports it too. */
static int app_first_hop_check(struct node *n, const struct ockam_opt *r,
			       const struct ockam_route *route)
{
	const struct ockam_addr *a = &route->hop[0];
	const struct config *c = n->cfg;
	char name[OCKAM_ADDR_MAX + 1];

	if (a->type != OCKAM_ADDR_LOCAL)
		return 0;
	memcpy(name, a->data, a->len);
	name[a->len] = '\0';
	if (router_address_exists(n->router, name, a->len) ||
	    (status_enabled(n->status) && !strcmp(name, STATUS_ADDRESS)))
		return 0;
	if (r->kind == OCKAM_OPT_SCALAR) {
		const struct config_route *cr = config_route_find(c, r->str);
		if (cr)
			r = cr->route;
	}
	const struct ockam_opt *at = r->kind == OCKAM_OPT_LIST && r->count
					     ? r->items[0]
					     : r;
	/* No did-you-mean search (over every worker) for an error past the
	 * shown ones. */
	const char **names = diag_room(&n->diag) ?
		calloc(c->n_workers + 1, sizeof(*names)) : NULL;
	const char *near = NULL;
	if (names) {
		for (size_t i = 0; i < c->n_workers; i++)
			names[i] = c->workers[i].name;
		near = opt_suggest(name, (const char *const *)names);
	}
	if (near)
		diag_error(&n->diag, at->file, at->line, at->col,
			   "the route starts at '%s', which is no worker of this node (did you mean '%s'?)",
			   name, near);
	else
		diag_error(&n->diag, at->file, at->line, at->col,
			   "the route starts at '%s', which is no worker of this node: declare it under workers: or start the route with a transport address",
			   name);
	free(names);
	return -ENOENT;
}

struct app *app_create(struct node *n, int *failed)
{
	const struct config *c = n->cfg;
	*failed = 0;
	if (c->n_messages == 0)
		return NULL;
	struct app *a = calloc(1, sizeof(*a));
	if (a)
		a->msgs = calloc(c->n_messages, sizeof(*a->msgs));
	if (!a || !a->msgs) {
		free(a);
		*failed = 1;
		return NULL;
	}
	a->node = n;
	a->n = c->n_messages;
	/* Replies come back to "app": a worker there would take them.  Said
	 * now, at the worker's key, not when the messages are sent. */
	for (size_t i = 0; i < c->n_workers; i++) {
		const struct ockam_opt *k = c->workers[i].node;
		if (strcmp(c->workers[i].name, APP_ADDRESS) != 0)
			continue;
		diag_error(&n->diag, k->file, k->line, k->col,
			   "worker address '%s' is taken: the node's messages: get their replies there; give the worker another name",
			   APP_ADDRESS);
		*failed = 1;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct config_message *cm = &c->messages[i];
		a->msgs[i].cfg = cm;
		const struct ockam_opt *r = cm->route ? cm->route
						      : cm->route_name_node;
		if (node_route_resolve(n, r, a->msgs[i].hops,
				       &a->msgs[i].route) < 0 ||
		    app_first_hop_check(n, r, &a->msgs[i].route) < 0)
			*failed = 1;
	}
	return a;
}

int app_start(struct app *a)
{
	int rc = router_address_add(a->node->router, APP_ADDRESS, app_handle,
				    a, NULL);
	if (rc == -EEXIST) {
		log_write(OCKAM_LOG_ERROR, "app",
			  "address '%s' is taken by a worker, but the node's messages need it for replies",
			  APP_ADDRESS);
		return rc;
	}
	if (rc < 0)
		return rc;
	a->registered = 1;
	a->blocked_at = (size_t)-1;
	a->flush = loop_add_flush(a->node->loop, app_on_flush, a, a);
	if (!a->flush)
		return -ENOMEM;
	rc = notices_handler_add(a->node->notices, a, app_notice);
	if (rc < 0)
		return rc;
	app_send_next(a);
	return 0;
}

int app_exit_code(struct app *a, int code)
{
	if (!a->done) {
		/* Stopped (a signal) before every message was answered,
		 * failed or handed on. */
		char why[512];
		size_t unsent = a->n - a->next;
		size_t held = node_pending(a->node, why, sizeof(why));
		log_write(OCKAM_LOG_ERROR, "app",
			  "node stopped before its messages were done: %zu not sent, %d awaiting a reply, %zu not handed on%s%s%s",
			  unsent, a->waiting, held, held ? " (" : "",
			  held ? why : "", held ? ")" : "");
		app_report(a);
		return 1;
	}
	return a->failures ? 1 : code;
}

void app_destroy(struct app *a)
{
	if (!a)
		return;
	if (a->retry)
		loop_remove(a->retry);
	if (a->registered)
		router_address_remove(a->node->router, APP_ADDRESS, a);
	notices_handler_remove(a->node->notices, a);
	if (a->timer)
		loop_remove(a->timer);
	if (a->flush)
		loop_remove(a->flush);
	free(a->msgs);
	free(a);
}
