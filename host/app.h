/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's own sender for the YAML `messages:`.  It owns the local
 * address "app": each message goes out with return route [app]; a reply is
 * printed on stdout as "App Received: <payload>".  Messages are sent one
 * after another, each waiting for its reply (or its timeout) first; only a
 * message that came back the way the request went is its reply
 * (ockam_message_is_reply).  A send the next hop refuses as full is tried
 * again from the loop.  Before it exits, the node waits until what it
 * sent has been handed on (node_pending), within the messages' timeout.
 */
#ifndef OCKAM_HOST_APP_H
#define OCKAM_HOST_APP_H

#include "node.h"

#define APP_ADDRESS "app"

struct app;

/* Resolve every message's route (errors reported with positions). */
struct app *app_create(struct node *n, int *failed);
/* Register "app" and send the first message. */
int app_start(struct app *a);
/* The node's exit status once its loop has stopped with `code`: 1 if a
 * message failed (no reply, not delivered, not handed on) or the node was
 * stopped before its messages were done (said in one line), else code. */
int app_exit_code(struct app *a, int code);
void app_destroy(struct app *a);

#endif
