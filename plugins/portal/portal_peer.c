/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stream binding: who a stream belongs to.
 *
 * A stream is bound to the peer whose message created it (the outlet: the
 * OPEN; the inlet: the ACCEPT, which must come back along its configured
 * route): the return route of that message, hop for hop, and whether it
 * came out of a secure channel, with which identifier.  The host
 * guarantees that a message marked secure has, as the first hop of its
 * return route, an address of the channel that decrypted it (message.h),
 * so the route and the mark together name the channel; the transport
 * pushes the connection a plaintext message came on, which nobody else
 * can send on.  Every later message for the stream must match all of it.
 *
 * Peers are interned: the streams of one inlet share one copy of its
 * route, so an open stream costs a pointer, not a route.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal.h"

static int same_identity(const struct portal_peer *peer,
			 const struct ockam_message *msg)
{
	int secure = (msg->flags & OCKAM_MSG_SECURE) != 0;
	if (secure != peer->secure)
		return 0;
	return !secure ||
	       strcmp(peer->identifier, ockam_message_identifier(msg)) == 0;
}

int portal_peer_matches(const struct portal_peer *peer,
			const struct ockam_message *msg)
{
	return same_identity(peer, msg) &&
	       ockam_route_is_way_back(&msg->ret, peer->route);
}

struct portal_peer *portal_peer_get(struct portal *p,
				    const struct ockam_message *msg)
{
	for (struct portal_peer *e = p->peers; e; e = e->next)
		if (portal_peer_matches(e, msg)) {
			e->refs++;
			return e;
		}
	struct portal_peer *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->route = ockam_route_dup(&msg->ret);
	if (!e->route) {
		free(e);
		return NULL;
	}
	e->secure = (msg->flags & OCKAM_MSG_SECURE) != 0;
	if (e->secure)
		snprintf(e->identifier, sizeof(e->identifier), "%s",
			 ockam_message_identifier(msg));
	e->refs = 1;
	e->next = p->peers;
	p->peers = e;
	return e;
}

void portal_peer_put(struct portal *p, struct portal_peer *peer)
{
	if (!peer || --peer->refs)
		return;
	for (struct portal_peer **pp = &p->peers; *pp; pp = &(*pp)->next)
		if (*pp == peer) {
			*pp = peer->next;
			break;
		}
	free(peer->route);
	free(peer);
}

const char *portal_ret_text(struct portal *p, const struct ockam_message *msg,
			    char *buf, size_t len)
{
	p->host->route_format(p->ctx, &msg->ret, buf, len);
	return buf;
}
