/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's own sender for the YAML `messages:`.  It owns the local
 * address "app": each message goes out with return route [app]; a reply is
 * printed on stdout as "App Received: <payload>".  Messages are sent one
 * after another, each waiting for its reply (or its timeout) first.
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
void app_destroy(struct app *a);

#endif
