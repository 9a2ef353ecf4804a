/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secure_channel plugin: descriptor, options, instance lifecycle and the
 * lifetime of channel ends.  The protocol is in channel_handshake.c and
 * channel_flow.c; docs/protocol.md ("Secure channel") describes the wire.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan_keys_pool.h"
#include "channel.h"
#include "channel_x3dh.h"
#include "x3dh.h"

#define SUITE_DEFAULT "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define QUEUE_LIMIT_MAX 65536
#define REKEY_INTERVAL_MAX (UINT64_C(1) << 48)
#define CHANNELS_LIMIT 1000000
#define BACKOFF_LIMIT_MS 3600000
#define LIVENESS_MIN_MS 10

/* ---- channel ends ---------------------------------------------------- */

const char *channel_label(const struct channel *ch)
{
	return ch->peer_id[0] ? ch->peer_id : ch->dec_addr;
}

struct channel *channel_of_endpoint(void *addr_data)
{
	uint8_t *ep = addr_data;
	size_t off = *ep == CHAN_ENCRYPTOR ? offsetof(struct channel, enc_ep)
					   : offsetof(struct channel, dec_ep);
	return (struct channel *)(void *)(ep - off);
}

int channel_address_add(struct channel *ch, enum chan_endpoint_kind kind)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	int enc = kind == CHAN_ENCRYPTOR;
	char name[OCKAM_ADDR_MAX + 1]; /* what address_add_random asks for */
	int rc = h->address_add_random(inst->ctx, enc ? "sc_enc" : "sc_dec",
				       enc ? &ch->enc_ep : &ch->dec_ep, name,
				       sizeof(name));
	if (rc != 0)
		return rc;
	size_t n = strlen(name);
	if (n >= (enc ? ch->enc_cap : sizeof(ch->dec_addr))) {
		/* The host made a longer name than it does today. */
		h->address_remove(inst->ctx, name);
		return -ENAMETOOLONG;
	}
	memcpy(enc ? ch->enc_addr : ch->dec_addr, name, n + 1);
	if (enc)
		ch->enc_owned = 1;
	return 0;
}

struct ockam_message *channel_outer(struct channel *ch, struct chan_outer *o)
{
	struct ockam_message *out = &o->msg;
	ockam_message_init(out);
	out->onward = chan_route_view(&ch->peer);
	ockam_addr_local(&o->back, ch->dec_addr);
	out->ret = ockam_route_make(&o->back, 1);
	/* An initiator may open a connection to the first hop of its
	 * configured `route:` (handshakes, data, re-handshakes).  A route
	 * it roamed to, and a responder's way back, were learnt from
	 * messages: they go over connections that are open, or nowhere. */
	if (ch->initiator && out->onward.count &&
	    chan_route_first_is(&ch->inst->route, &out->onward.hop[0]))
		out->flags |= OCKAM_MSG_CONNECT;
	return out;
}


/* A key exchange has finished: hand its transport cipher states to the
 * data layer (they are wiped here, whatever happens), stop the handshake
 * timer, give a responder its encryptor address, and open the channel.
 * Shared by Noise and X3DH, so both open channels the same way. */
int channel_open(struct channel *ch, struct noise_cipherstate *send,
		 struct noise_cipherstate *recv)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;
	int rc = data_sender_init(&ch->keys->tx, send, inst->rekey_interval);
	if (rc == 0)
		rc = data_receiver_init(&ch->keys->rx, recv,
					inst->rekey_interval);
	noise_cs_wipe(send);
	noise_cs_wipe(recv);
	if (rc != 0)
		return rc;
	if (!ch->initiator) {
		rc = limits_open_add(ch);
		if (rc != 0)
			return rc;
	}
	if (ch->timer) {
		h->source_remove(ch->timer);
		ch->timer = NULL;
	}
	if (!ch->initiator) {
		rc = channel_address_add(ch, CHAN_ENCRYPTOR);
		if (rc != 0)
			return rc;
	}
	if (ch->src) {
		limits_half_open_done(ch);
		chan_list_insert_after(&inst->channels, NULL, ch);
	}
	ch->state = CHAN_OPEN;
	inst->handshakes--;
	inst->hs_ok++;
	if (ch->initiator) {
		inst->retry_attempt = 0;
		inst->opened = 1;
	}
	limits_idle_arm(ch);
	h->log(inst->ctx, OCKAM_LOG_DEBUG,
	       "handshake done in %llu ms: %s with peer %s (%s)",
	       (unsigned long long)(h->now_ms() - ch->created_ms),
	       ch->initiator ? "initiator" : "responder", ch->peer_id,
	       inst->suite.name);
	h->log(inst->ctx, OCKAM_LOG_INFO,
	       "secure channel open with peer %s (encryptor %s, decryptor %s)",
	       ch->peer_id, ch->enc_addr, ch->dec_addr);
	if (ch->initiator && inst->old_ch && inst->old_ch != ch)
		channel_close(inst->old_ch, "replaced by a new channel");
	if (ch->initiator)
		flow_flush(ch);
	return 0;
}

struct channel *channel_new(struct sc_instance *inst, int initiator)
{
	const struct ockam_host *h = inst->host;
	const char *name = h->instance_name(inst->ctx);
	size_t enc_cap = initiator ? strlen(name) + 1 : CHAN_RANDOM_ADDR_LEN;
	if (enc_cap > CHAN_ADDR_LEN)
		return NULL; /* not a valid address: the host refused it */
	struct channel *ch = calloc(1, sizeof(*ch) + enc_cap);
	if (!ch)
		return NULL;
	ch->enc_cap = (uint8_t)enc_cap;
	ch->keys = chan_keys_alloc(); /* zeroed */
	if (!ch->keys) {
		free(ch);
		return NULL;
	}
	memset(ch->keys, 0, sizeof(*ch->keys));
	ch->inst = inst;
	ch->initiator = initiator;
	ch->state = CHAN_HANDSHAKE;
	ch->created_ms = h->now_ms();
	ch->enc_ep = CHAN_ENCRYPTOR;
	ch->dec_ep = CHAN_DECRYPTOR;
	int rc = channel_address_add(ch, CHAN_DECRYPTOR);
	if (rc != 0) {
		h->log(inst->ctx, OCKAM_LOG_ERROR,
		       "cannot add a decryptor address: %s", strerror(-rc));
		chan_keys_free(ch->keys);
		free(ch);
		return NULL;
	}
	if (initiator)
		memcpy(ch->enc_addr, name, strlen(name) + 1);
	chan_list_insert_after(&inst->channels, NULL, ch);
	inst->n_channels++;
	inst->handshakes++;
	return ch;
}

void channel_queue_drop(struct channel *ch, const char *why)
{
	struct sc_instance *inst = ch->inst;

	if (ch->q_len)
		inst->host->log(inst->ctx, OCKAM_LOG_WARN,
				"dropping %zu queued message(s): %s", ch->q_len,
				why);
	while (ch->q_head) {
		struct chan_queued *q = ch->q_head;
		ch->q_head = q->next;
		initiator_notify_dropped(inst, q->data, q->len, why);
		sodium_memzero(q->data, q->len);
		free(q);
	}
	ch->q_tail = NULL;
	ch->q_len = 0;
}

void channel_close(struct channel *ch, const char *why)
{
	struct sc_instance *inst = ch->inst;
	const struct ockam_host *h = inst->host;

	/* -v: why each channel ends.  Not a listener's unfinished
	 * handshakes: strangers make those (listener_complain counts them). */
	if ((ch->initiator || ch->state == CHAN_OPEN) &&
	    h->log_enabled(inst->ctx, OCKAM_LOG_DEBUG))
		h->log(inst->ctx, OCKAM_LOG_DEBUG,
		       "%s %s%s%s closed after %llu ms: %s",
		       ch->state == CHAN_OPEN ? "secure channel"
					      : "initiator handshake",
		       ch->dec_addr, ch->peer_id[0] ? " with peer " : "",
		       ch->peer_id,
		       (unsigned long long)(h->now_ms() - ch->created_ms),
		       why);
	/* Messages already accepted for it still go out. */
	if (inst->batch_ch == ch)
		(void)flow_batch_flush(inst, 1);
	if (ch->src)
		limits_half_open_done(ch);
	else
		chan_list_remove(ch->in_idle ? &inst->idle : &inst->channels,
				 ch);
	if (ch->osrc)
		limits_open_done(ch);
	inst->n_channels--;
	if (ch->state == CHAN_HANDSHAKE)
		inst->handshakes--;
	ka_forget(ch);
	if (inst->old_ch == ch)
		inst->old_ch = NULL;
	if (inst->initiator_ch == ch)
		initiator_lost(ch, why); /* may take over the queue */

	channel_queue_drop(ch, why);
	flow_report(ch); /* and frees the rejection counts */

	if (ch->timer)
		h->source_remove(ch->timer);
	if (ch->dec_addr[0])
		h->address_remove(inst->ctx, ch->dec_addr);
	if (ch->enc_owned)
		h->address_remove(inst->ctx, ch->enc_addr);
	noise_handshake_free(ch->hs);
	x3dh_channel_free(ch);
	chan_keys_free(ch->keys); /* wipes */
	chan_route_free(&ch->peer);
	flow_held_free(ch);
	free(ch);
}

/* ---- options --------------------------------------------------------- */

/* Declared: the host checks keys, types and ranges (one pass with every
 * other error of the file), fills in the defaults and generates
 * docs/configuration.md's table.  Keys that belong to one role or key
 * exchange say so with only_if: the host refuses them elsewhere and
 * fills their defaults only where they apply. */
static const struct ockam_option sc_options[] = {
	{.name = "role", .type = OCKAM_OPTION_ENUM,
	 .choices = "listener|initiator", .flags = OCKAM_OPTION_REQUIRED,
	 .help = "listener or initiator"},
	{.name = "key_exchange", .type = OCKAM_OPTION_ENUM, .def = "noise",
	 .choices = "noise|x3dh", .help = "noise (XX) or x3dh"},
	{.name = "route", .type = OCKAM_OPTION_ROUTE,
	 .help = "the route to the listener",
	 .flags = OCKAM_OPTION_REQUIRED, .only_if = "role=initiator"},
	{.name = "trust", .type = OCKAM_OPTION_ANY,
	 .flags = OCKAM_OPTION_REQUIRED,
	 .help = "everyone, or a list of identifiers"},
	{.name = "vault", .type = OCKAM_OPTION_PATH,
	 .help = "identity file, created if missing; none: ephemeral"},
	{.name = "suite", .type = OCKAM_OPTION_STRING,
	 .def = SUITE_DEFAULT, .only_if = "key_exchange=noise",
	 .help = "the Noise protocol name"},
	{.name = "handshake_timeout", .type = OCKAM_OPTION_DURATION,
	 .def = "30s", .min = 1,
	 .help = "a handshake must finish within this"},
	{.name = "rekey_interval", .type = OCKAM_OPTION_INT, .def = "4096",
	 .min = DATA_WINDOW, .max = REKEY_INTERVAL_MAX,
	 .help = "records per key epoch"},
	{.name = "queue_limit", .type = OCKAM_OPTION_INT,
	 .max = QUEUE_LIMIT_MAX,
	 .help = "messages held during a handshake",
	 .def = "64", .only_if = "role=initiator"},
	{.name = "max_handshakes", .type = OCKAM_OPTION_INT, .min = 1,
	 .max = CHANNELS_LIMIT,
	 .help = "half-open handshakes at once",
	 .def = "256", .only_if = "role=listener"},
	{.name = "max_handshakes_per_source", .type = OCKAM_OPTION_INT,
	 .min = 1, .max = CHANNELS_LIMIT,
	 .help = "half-open handshakes at once from one source",
	 .def = "64", .only_if = "role=listener"},
	{.name = "max_channels", .type = OCKAM_OPTION_INT, .min = 1,
	 .max = CHANNELS_LIMIT,
	 .help = "channel ends at once",
	 .def = "10000", .only_if = "role=listener"},
	{.name = "max_channels_per_source", .type = OCKAM_OPTION_INT,
	 .min = 1, .max = CHANNELS_LIMIT,
	 .help = "open channels at once from one source",
	 .def = "1000", .only_if = "role=listener"},
	{.name = "idle_timeout", .type = OCKAM_OPTION_DURATION,
	 .help = "close a channel silent this long; 0: never",
	 .def = "10m", .only_if = "role=listener"},
	{.name = "rehandshake", .type = OCKAM_OPTION_BOOL,
	 .help = "reopen a lost channel",
	 .def = "true", .only_if = "role=initiator"},
	{.name = "rehandshake_backoff", .type = OCKAM_OPTION_DURATION,
	 .min = 1, .max = BACKOFF_LIMIT_MS,
	 .help = "first retry delay",
	 .def = "1s", .only_if = "role=initiator"},
	{.name = "rehandshake_backoff_max", .type = OCKAM_OPTION_DURATION,
	 .min = 1, .max = BACKOFF_LIMIT_MS,
	 .help = "longest retry delay",
	 .def = "30s", .only_if = "role=initiator"},
	{.name = "signed_prekey_rotation", .type = OCKAM_OPTION_DURATION,
	 .min = 1000,
	 .help = "signed prekey lifetime",
	 .def = "7d", .only_if = "key_exchange=x3dh,role=listener"},
	{.name = "keepalive", .type = OCKAM_OPTION_DURATION, .def = "10s",
	 .max = BACKOFF_LIMIT_MS,
	 .help = "empty record after this much one-way traffic; 0: off, else at least 10ms"},
	{.name = "dead_peer_timeout", .type = OCKAM_OPTION_DURATION,
	 .max = BACKOFF_LIMIT_MS,
	 .help = "re-handshake after this silence; 0: off, else at least 10ms",
	 .def = "15s", .only_if = "role=initiator"},
	{0},
};

static uint64_t duration_or(const struct ockam_host *h, struct ockam_ctx *ctx,
			    const struct ockam_opt *root, const char *key,
			    uint64_t def)
{
	uint64_t v = def;
	h->opt_get_duration_ms(ctx, root, key, &v);
	return v;
}

/* The rules across keys the table cannot state, each reported where it
 * is broken; every one of them, not just the first.  Allocates nothing. */
static int sc_check(const struct ockam_host *h, struct ockam_ctx *ctx)
{
	const struct ockam_opt *root = h->opt_root(ctx), *o;
	const char *kx = NULL;
	int rc = 0;

	/* A key_exchange the host refused reads as absent: the rules that
	 * depend on it are not checked (they would be noise).  Keys that
	 * belong to one role are the table's (only_if). */
	h->opt_get_str(ctx, root, "key_exchange", &kx);
	int x3dh = kx && !strcmp(kx, "x3dh");

	o = h->opt_get(root, "trust");
	if (h->opt_kind(o) == OCKAM_OPT_SCALAR) {
		const char *s = h->opt_str(o);
		if (!s || strcmp(s, "everyone"))
			rc = h->opt_error(ctx, o,
					  "trust must be 'everyone' or a list of identifiers, not '%s'",
					  s ? s : "");
	} else if (h->opt_kind(o) != OCKAM_OPT_LIST || h->opt_count(o) == 0) {
		rc = h->opt_error(ctx, o,
				  "trust must be 'everyone' or a non-empty list of identifiers");
	} else {
		for (size_t i = 0; i < h->opt_count(o); i++) {
			const struct ockam_opt *item = h->opt_at(o, i);
			const char *s = h->opt_str(item);
			if (!s)
				rc = h->opt_error(ctx, item,
						  "trust list items must be identifiers");
			else if (!ockam_identifier_valid(s))
				rc = h->opt_error(ctx, item,
						  "'%s' is not an identifier (expected I and 32 lowercase hex digits)",
						  s);
		}
	}

	const struct ockam_opt *suite = h->opt_get(root, "suite");
	if (kx && !x3dh && suite) {
		struct noise_suite parsed;
		const char *name = h->opt_str(suite);
		int prc = noise_suite_parse(name, &parsed);
		if (prc == -ENOTSUP)
			rc = h->opt_error(ctx, suite,
					  "suite %s is not supported here: AESGCM needs AES-NI and PCLMUL, which this CPU lacks (use ChaChaPoly)",
					  name);
		else if (prc != 0)
			rc = h->opt_error(ctx, suite,
					  "unknown Noise suite '%s' (expected e.g. %s)",
					  name, SUITE_DEFAULT);
		else if (parsed.pattern != NOISE_PATTERN_XX)
			rc = h->opt_error(ctx, suite,
					  "suite %s: secure_channel uses the XX pattern (e.g. %s)",
					  name, SUITE_DEFAULT);
	}

	/* keepalive (both roles), dead_peer_timeout (initiator): 0 turns
	 * each off; a few milliseconds would flood. */
	static const char *const liveness[] = {"keepalive",
					       "dead_peer_timeout"};
	for (size_t i = 0; i < 2; i++) {
		uint64_t ms = duration_or(h, ctx, root, liveness[i], 0);
		if (ms && ms < LIVENESS_MIN_MS)
			rc = h->opt_error(ctx, h->opt_get(root, liveness[i]),
					  "%s must be 0 (off) or from 10ms to 1h",
					  liveness[i]);
	}
	uint64_t lo = duration_or(h, ctx, root, "rehandshake_backoff",
				  0);
	uint64_t hi = duration_or(h, ctx, root, "rehandshake_backoff_max",
				  UINT64_MAX);
	if (hi < lo)
		rc = h->opt_error(ctx,
				  h->opt_get(root, "rehandshake_backoff_max") ?
					  h->opt_get(root, "rehandshake_backoff_max") :
					  h->opt_get(root, "rehandshake_backoff"),
				  "rehandshake_backoff_max must be at least rehandshake_backoff (%" PRIu64
				  " ms)",
				  lo);
	return rc;
}

static int options_trust(struct sc_instance *inst, const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	const struct ockam_opt *o = h->opt_get(root, "trust");
	if (h->opt_kind(o) == OCKAM_OPT_SCALAR) {
		trust_set_everyone(&inst->trust); /* sc_check: "everyone" */
		return 0;
	}
	for (size_t i = 0; i < h->opt_count(o); i++) {
		int rc = trust_add(&inst->trust, h->opt_str(h->opt_at(o, i)));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int options_identity(struct sc_instance *inst,
			    const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	const char *vault = NULL;
	int rc = h->opt_get_str(inst->ctx, root, "vault", &vault);
	if (rc != 0)
		return rc;
	/* An X3DH listener signs its prekeys: an Ed25519 identity. */
	int signing = inst->x3dh && inst->role == CHAN_ROLE_LISTENER;
	if (!vault)
		return signing ? identity_generate_signing(&inst->id)
			       : identity_generate(&inst->id);
	char path[PATH_MAX];
	const struct ockam_opt *o = h->opt_get(root, "vault");
	rc = h->path_resolve(inst->ctx, vault, path, sizeof(path));
	if (rc != 0)
		return h->opt_error(inst->ctx, o, "vault %s: %s", vault,
				    strerror(-rc));
	char err[512];
	rc = (signing ? identity_vault_open_signing : identity_vault_open)(
		path, vault, &inst->id, &inst->id_created, err, sizeof(err));
	if (rc != 0) {
		h->opt_error(inst->ctx, o, "%s", err);
		return rc;
	}
	inst->vault_name = strdup(vault);
	if (!inst->vault_name)
		return -ENOMEM;
	if (!signing)
		return 0;
	/* Its prekeys live beside it (channel_x3dh.c); sc_destroy frees
	 * what was made. */
	if (asprintf(&inst->prekeys_path, "%s.prekeys", path) < 0) {
		inst->prekeys_path = NULL;
		return -ENOMEM;
	}
	if (asprintf(&inst->prekeys_name, "%s.prekeys", vault) < 0) {
		inst->prekeys_name = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Read the options: the host checked them against sc_options and
 * sc_check passed, so every getter succeeds. */
static int options_read(struct sc_instance *inst)
{
	const struct ockam_host *h = inst->host;
	struct ockam_ctx *ctx = inst->ctx;
	const struct ockam_opt *root = h->opt_root(ctx);
	const char *role = "", *kx = "noise", *suite = SUITE_DEFAULT;
	int rc = 0;

	h->opt_get_str(ctx, root, "role", &role);
	inst->role = strcmp(role, "listener") ? CHAN_ROLE_INITIATOR
					      : CHAN_ROLE_LISTENER;
	h->opt_get_str(ctx, root, "key_exchange", &kx);
	inst->x3dh = !strcmp(kx, "x3dh");
	if (inst->role == CHAN_ROLE_INITIATOR) {
		struct ockam_route r;
		rc = h->opt_get_route(ctx, root, "route", &r);
		if (rc == 0)
			rc = chan_route_set(&inst->route, &r);
		if (rc != 0)
			return rc;
	}
	/* Every value below is present where it applies: the table's
	 * defaults are filled in by the host (only_if: for its role). */
	if (h->opt_get_duration_ms(ctx, root, "handshake_timeout",
				   &inst->handshake_timeout_ms) ||
	    h->opt_get_u64(ctx, root, "rekey_interval", 0, UINT64_MAX,
			   &inst->rekey_interval) ||
	    h->opt_get_u64(ctx, root, "queue_limit", 0, UINT64_MAX,
			   &inst->queue_limit) ||
	    h->opt_get_u64(ctx, root, "max_handshakes", 0, UINT64_MAX,
			   &inst->max_handshakes) ||
	    h->opt_get_u64(ctx, root, "max_handshakes_per_source", 0,
			   UINT64_MAX, &inst->max_handshakes_per_source) ||
	    h->opt_get_u64(ctx, root, "max_channels", 0, UINT64_MAX,
			   &inst->max_channels) ||
	    h->opt_get_u64(ctx, root, "max_channels_per_source", 0,
			   UINT64_MAX, &inst->max_channels_per_source) ||
	    h->opt_get_duration_ms(ctx, root, "idle_timeout",
				   &inst->idle_timeout_ms) ||
	    h->opt_get_bool(ctx, root, "rehandshake", &inst->rehandshake) ||
	    h->opt_get_duration_ms(ctx, root, "rehandshake_backoff",
				   &inst->backoff_min_ms) ||
	    h->opt_get_duration_ms(ctx, root, "rehandshake_backoff_max",
				   &inst->backoff_max_ms) ||
	    h->opt_get_duration_ms(ctx, root, "keepalive",
				   &inst->keepalive_ms) ||
	    h->opt_get_duration_ms(ctx, root, "dead_peer_timeout",
				   &inst->dead_peer_ms) ||
	    h->opt_get_duration_ms(ctx, root, "signed_prekey_rotation",
				   &inst->spk_rotation_ms) ||
	    h->opt_get_str(ctx, root, "suite", &suite))
		return -EINVAL;
	rc = options_trust(inst, root);
	if (rc != 0)
		return rc;
	if (inst->x3dh)
		snprintf(inst->suite.name, sizeof(inst->suite.name), "%s",
			 X3DH_SUITE_NAME);
	else if (noise_suite_parse(suite, &inst->suite) != 0)
		return -EINVAL; /* sc_check said why */
	return options_identity(inst, root);
}

/* ---- plugin ops ------------------------------------------------------ */

static void sc_destroy(void *state);

static void channels_close_all(struct sc_instance *inst)
{
	while (inst->idle.head)
		channel_close(inst->idle.head, "node stopping");
	while (inst->channels.head)
		channel_close(inst->channels.head, "node stopping");
	limits_half_open_close_all(inst);
	limits_open_free(inst);
	limits_idle_stop(inst);
	listener_complaints_flush(inst);
	inst->host->log_limited_flush(inst->ctx, &inst->notice_lim,
				      OCKAM_LOG_WARN, "ignored a delivery-failure notice");
	ka_stop(inst);
}

static int sc_create(const struct ockam_host *host, struct ockam_ctx *ctx,
		     void **state)
{
	if (noise_init() != 0) {
		host->log(ctx, OCKAM_LOG_ERROR, "libsodium failed to initialise");
		return -EIO;
	}
	struct sc_instance *inst = calloc(1, sizeof(*inst));
	if (!inst)
		return -ENOMEM;
	inst->host = host;
	inst->ctx = ctx;
	trust_init(&inst->trust);
	int rc = options_read(inst);
	if (rc == 0)
		rc = channel_status_register(inst);
	if (rc != 0) {
		sc_destroy(inst);
		return rc;
	}
	*state = inst;
	return 0;
}

static int sc_start(void *state)
{
	struct sc_instance *inst = state;
	const struct ockam_host *h = inst->host;
	if (inst->vault_name)
		h->log(inst->ctx, OCKAM_LOG_INFO, "identity %s (vault %s%s)",
		       inst->id->identifier, inst->vault_name,
		       inst->id_created ? ", created" : "");
	else
		h->log(inst->ctx, OCKAM_LOG_INFO, "identity %s (ephemeral)",
		       inst->id->identifier);
	if (inst->role == CHAN_ROLE_INITIATOR) {
		/* A first HS1 that cannot even be sent is a configuration
		 * problem (no such worker or transport): fail the start
		 * rather than retry; later failures are retried. */
		int rc = hs_initiator_start(inst);
		inst->started = 1;
		return rc;
	}
	if (inst->x3dh) {
		int rc = x3dh_listener_start(inst);
		if (rc != 0)
			return rc;
	}
	inst->started = 1;
	h->log(inst->ctx, OCKAM_LOG_INFO, "listening for secure channels (%s)",
	       inst->suite.name);
	return 0;
}

static int sc_handle_message(void *state, void *addr_data,
			     const struct ockam_message *msg)
{
	struct sc_instance *inst = state;
	if (!addr_data) {
		if (inst->role == CHAN_ROLE_LISTENER)
			return hs_listener_receive(inst, msg);
		if (!inst->initiator_ch)
			return initiator_send_closed(inst, msg);
		initiator_note_sender(inst->initiator_ch, msg);
		return flow_encrypt(inst->initiator_ch, msg);
	}
	struct channel *ch = channel_of_endpoint(addr_data);
	if (*(const uint8_t *)addr_data == CHAN_ENCRYPTOR)
		return flow_encrypt(ch, msg);
	if (msg->payload_len >= 1 && msg->payload[0] == CHAN_MSG_CLOSE) {
		notice_receive(ch, msg);
		return 0;
	}
	if (ch->state == CHAN_HANDSHAKE)
		return hs_receive(ch, msg);
	return flow_decrypt(ch, msg);
}

/* Messages accepted and not yet sent on: queued while a channel is in its
 * handshake (or waits to re-handshake), and the batch not yet sealed.
 * The node waits for these before it exits (plugin.h, `pending`). */
static size_t sc_pending(void *state, char *why, size_t why_len)
{
	const struct sc_instance *inst = state;
	size_t queued = 0;
	for (const struct channel *ch = inst->channels.head; ch; ch = ch->next)
		queued += ch->q_len;
	if (queued)
		snprintf(why, why_len, "%zu queued until the secure channel is open",
			 queued);
	else if (inst->batch_count)
		snprintf(why, why_len, "%zu in a batch not yet sent",
			 inst->batch_count);
	return queued + inst->batch_count;
}

static void sc_stop(void *state)
{
	struct sc_instance *inst = state;
	inst->stopping = 1;
	channels_close_all(inst);
}

static void sc_destroy(void *state)
{
	struct sc_instance *inst = state;
	if (!inst)
		return;
	/* Normally empty after stop; the host removes what is left. */
	inst->stopping = 1;
	channels_close_all(inst);
	if (inst->batch_flush)
		inst->host->source_remove(inst->batch_flush);
	if (inst->batch_buf) { /* it held plaintext */
		sodium_memzero(inst->batch_buf, CHAN_BATCH_BODY_MAX);
		free(inst->batch_buf);
	}
	x3dh_instance_free(inst);
	chan_route_free(&inst->route);
	trust_free(&inst->trust);
	identity_free(inst->id);
	free(inst->vault_name);
	free(inst->prekeys_path);
	free(inst->prekeys_name);
	free(inst);
}

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "secure_channel",
	.kind = OCKAM_PLUGIN_SECURE_CHANNEL,
	.description = "Noise XX secure channel over any route",
	.options = sc_options,
	.check = sc_check,
	.create = sc_create,
	.start = sc_start,
	.handle_message = sc_handle_message,
	.stop = sc_stop,
	.destroy = sc_destroy,
	.handle_undeliverable = initiator_undeliverable,
	.pending = sc_pending,
};

OCKAM_PLUGIN_EXPORT const struct ockam_plugin *ockam_plugin_entry(void)
{
	return &plugin;
}
