/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's status: what it runs right now, as rows of (kind, name,
 * key/value pairs).  The host writes rows for itself (node, transports,
 * workers, router counters); plugin instances add theirs through
 * status_register (struct ockam_host).  With `status: true` in the YAML,
 * the local address "status" answers any message with the report: JSON if
 * the payload is "json", else a text table.  `ockam-host status` asks.
 */
#ifndef OCKAM_HOST_STATUS_H
#define OCKAM_HOST_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <ockam/host.h>

#define STATUS_ADDRESS "status"
/* Replies stay under the tcp transport's default frame limit (1 MiB). */
#define STATUS_REPLY_MAX (512u * 1024u)

struct node;
struct status;

/* Always created (plugins may register while the service is off); reads
 * `status:` from the config.  NULL only when out of memory. */
struct status *status_create(struct node *n);
/* Register "status" if the YAML enabled it.  0 or -errno (logged). */
int status_start(struct status *s);
/* Will the node answer at "status" once started? */
int status_enabled(const struct status *s);
void status_destroy(struct status *s);

/* Contributors, tagged by owner (a plugin instance's ctx). */
int status_register(struct status *s, void *owner, ockam_status_fn fn,
		    void *data);
void status_remove_owner(struct status *s, void *owner);

/* Write the whole report (host rows, then every contributor's) into a
 * fresh buffer: JSON if `json`, else text.  The caller frees *out. */
int status_report(struct status *s, int json, char **out, size_t *len);

/* Build the report and hand every pair to `fn` (host->status_visit).
 * 0, -ENOMEM, or -ENOBUFS if it was truncated. */
int status_visit(struct status *s, ockam_status_visit_fn fn, void *data);

/* The writer behind struct ockam_host's status_add / status_set_*. */
void status_add(struct ockam_status *out, const char *kind, const char *name);
void status_set_str(struct ockam_status *out, const char *key,
		    const char *value);
void status_set_u64(struct ockam_status *out, const char *key,
		    uint64_t value);

#endif
