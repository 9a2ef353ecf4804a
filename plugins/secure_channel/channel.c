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
	if (ch->initiator)
		inst->retry_attempt = 0;
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
	inst->n_channels--;
	if (ch->state == CHAN_HANDSHAKE)
		inst->handshakes--;
	ka_forget(ch);
	if (inst->old_ch == ch)
		inst->old_ch = NULL;
	if (inst->initiator_ch == ch)
		initiator_lost(ch, why); /* may take over the queue */

	if (ch->q_len)
		h->log(inst->ctx, OCKAM_LOG_WARN,
		       "dropping %zu queued message(s): %s", ch->q_len, why);
	while (ch->q_head) {
		struct chan_queued *q = ch->q_head;
		ch->q_head = q->next;
		initiator_notify_dropped(inst, q->data, q->len, why);
		sodium_memzero(q->data, q->len);
		free(q);
	}
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
	free(ch);
}

/* ---- options --------------------------------------------------------- */

static const char *const option_keys[] = {
	"role", "route", "trust", "vault", "suite", "handshake_timeout",
	"rekey_interval", "queue_limit", "max_handshakes",
	"max_handshakes_per_source", "max_channels",
	"idle_timeout", "rehandshake", "rehandshake_backoff",
	"rehandshake_backoff_max", "key_exchange", "signed_prekey_rotation",
	"keepalive", "dead_peer_timeout", NULL,
};

/* Options that only make sense for one role: a typo'd role should not
 * silently ignore them. */
static const char *const listener_only[] = {
	"max_handshakes", "max_handshakes_per_source", "max_channels",
	"idle_timeout", NULL,
};
static const char *const initiator_only[] = {
	"route", "rehandshake", "rehandshake_backoff",
	"rehandshake_backoff_max", "queue_limit", "dead_peer_timeout", NULL,
};

static int options_role_keys(struct sc_instance *inst,
			     const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	int listener = inst->role == CHAN_ROLE_LISTENER;
	const char *const *other = listener ? initiator_only : listener_only;
	for (size_t i = 0; other[i]; i++) {
		const struct ockam_opt *o = h->opt_get(root, other[i]);
		if (o)
			return h->opt_error(inst->ctx, o,
					    "%s is only for role: %s",
					    other[i],
					    listener ? "initiator" : "listener");
	}
	return 0;
}

/* keepalive (both roles), dead_peer_timeout (initiator): 0 turns each
 * off; otherwise 10ms..1h. */
static int options_liveness(struct sc_instance *inst,
			    const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	inst->keepalive_ms = CHAN_KEEPALIVE_DEFAULT_MS;
	inst->dead_peer_ms = CHAN_DEAD_PEER_DEFAULT_MS;
	int rc = h->opt_get_duration_ms(inst->ctx, root, "keepalive",
					&inst->keepalive_ms);
	if (rc == 0)
		rc = h->opt_get_duration_ms(inst->ctx, root,
					    "dead_peer_timeout",
					    &inst->dead_peer_ms);
	if (rc != 0)
		return rc;
	const char *bad = NULL;
	if (inst->keepalive_ms &&
	    (inst->keepalive_ms < LIVENESS_MIN_MS ||
	     inst->keepalive_ms > BACKOFF_LIMIT_MS))
		bad = "keepalive";
	else if (inst->dead_peer_ms &&
		 (inst->dead_peer_ms < LIVENESS_MIN_MS ||
		  inst->dead_peer_ms > BACKOFF_LIMIT_MS))
		bad = "dead_peer_timeout";
	if (bad)
		return h->opt_error(inst->ctx, h->opt_get(root, bad),
				    "%s must be 0 (off) or from 10ms to 1h", bad);
	return 0;
}

/* max_handshakes, max_handshakes_per_source, max_channels, idle_timeout
 * (listener); rehandshake and
 * its backoff (initiator). */
static int options_limits(struct sc_instance *inst,
			  const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	inst->max_handshakes = CHAN_HANDSHAKES_MAX;
	int rc = h->opt_get_u64(inst->ctx, root, "max_handshakes", 1,
				CHANNELS_LIMIT, &inst->max_handshakes);
	if (rc != 0)
		return rc;
	inst->max_handshakes_per_source = CHAN_HANDSHAKES_PER_SOURCE_DEFAULT;
	rc = h->opt_get_u64(inst->ctx, root, "max_handshakes_per_source", 1,
			    CHANNELS_LIMIT, &inst->max_handshakes_per_source);
	if (rc != 0)
		return rc;
	inst->max_channels = CHAN_CHANNELS_MAX_DEFAULT;
	rc = h->opt_get_u64(inst->ctx, root, "max_channels", 1,
			    CHANNELS_LIMIT, &inst->max_channels);
	if (rc != 0)
		return rc;
	inst->idle_timeout_ms = CHAN_IDLE_TIMEOUT_DEFAULT_MS;
	rc = h->opt_get_duration_ms(inst->ctx, root, "idle_timeout",
				    &inst->idle_timeout_ms);
	if (rc != 0)
		return rc;
	inst->rehandshake = 1;
	rc = h->opt_get_bool(inst->ctx, root, "rehandshake",
			     &inst->rehandshake);
	if (rc != 0)
		return rc;
	inst->backoff_min_ms = CHAN_BACKOFF_MIN_DEFAULT_MS;
	inst->backoff_max_ms = CHAN_BACKOFF_MAX_DEFAULT_MS;
	rc = h->opt_get_duration_ms(inst->ctx, root, "rehandshake_backoff",
				    &inst->backoff_min_ms);
	if (rc == 0)
		rc = h->opt_get_duration_ms(inst->ctx, root,
					    "rehandshake_backoff_max",
					    &inst->backoff_max_ms);
	if (rc != 0)
		return rc;
	if (inst->backoff_min_ms == 0 || inst->backoff_max_ms > BACKOFF_LIMIT_MS)
		return h->opt_error(inst->ctx,
				    h->opt_get(root, inst->backoff_min_ms == 0
							     ? "rehandshake_backoff"
							     : "rehandshake_backoff_max"),
				    "rehandshake backoff must be more than 0 and at most 1h");
	rc = options_liveness(inst, root);
	if (rc != 0)
		return rc;
	if (inst->backoff_max_ms < inst->backoff_min_ms)
		return h->opt_error(inst->ctx,
				    h->opt_get(root, "rehandshake_backoff_max"),
				    "rehandshake_backoff_max must be at least rehandshake_backoff (%" PRIu64
				    " ms)",
				    inst->backoff_min_ms);
	return 0;
}

static int options_trust(struct sc_instance *inst, const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	const struct ockam_opt *o = h->opt_get(root, "trust");
	if (!o)
		return h->opt_error(inst->ctx, root,
				    "trust is required: 'everyone' or a list of identifiers");
	if (h->opt_kind(o) == OCKAM_OPT_SCALAR) {
		const char *s = h->opt_str(o);
		if (strcmp(s, "everyone") == 0) {
			trust_set_everyone(&inst->trust);
			return 0;
		}
		return h->opt_error(inst->ctx, o,
				    "trust must be 'everyone' or a list of identifiers, not '%s'",
				    s);
	}
	if (h->opt_kind(o) != OCKAM_OPT_LIST || h->opt_count(o) == 0)
		return h->opt_error(inst->ctx, o,
				    "trust must be 'everyone' or a non-empty list of identifiers");
	for (size_t i = 0; i < h->opt_count(o); i++) {
		const struct ockam_opt *item = h->opt_at(o, i);
		const char *s = h->opt_str(item);
		if (!s)
			return h->opt_error(inst->ctx, item,
					    "trust list items must be identifiers");
		int rc = trust_add(&inst->trust, s);
		if (rc == -ENOMEM)
			return rc;
		if (rc != 0)
			return h->opt_error(inst->ctx, item,
					    "'%s' is not an identifier (expected I and 32 lowercase hex digits)",
					    s);
	}
	return 0;
}

static int options_suite(struct sc_instance *inst, const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	const char *name = SUITE_DEFAULT;
	int rc = h->opt_get_str(inst->ctx, root, "suite", &name);
	if (rc != 0)
		return rc;
	const struct ockam_opt *o = h->opt_get(root, "suite");
	rc = noise_suite_parse(name, &inst->suite);
	if (rc == -ENOTSUP)
		return h->opt_error(inst->ctx, o,
				    "suite %s is not supported here: AESGCM needs AES-NI and PCLMUL, which this CPU lacks (use ChaChaPoly)",
				    name);
	if (rc != 0)
		return h->opt_error(inst->ctx, o,
				    "unknown Noise suite '%s' (expected e.g. %s)",
				    name, SUITE_DEFAULT);
	if (inst->suite.pattern != NOISE_PATTERN_XX)
		return h->opt_error(inst->ctx, o,
				    "suite %s: secure_channel uses the XX pattern (e.g. %s)",
				    name, SUITE_DEFAULT);
	return 0;
}

/* key_exchange: noise (default) or x3dh; signed_prekey_rotation. */
static int options_key_exchange(struct sc_instance *inst,
				const struct ockam_opt *root)
{
	const struct ockam_host *h = inst->host;
	const char *kx = "noise";
	int rc = h->opt_get_str(inst->ctx, root, "key_exchange", &kx);
	if (rc != 0)
		return rc;
	const struct ockam_opt *rot = h->opt_get(root, "signed_prekey_rotation");
	if (strcmp(kx, "x3dh") == 0) {
		inst->x3dh = 1;
	} else if (strcmp(kx, "noise") != 0) {
		return h->opt_error(inst->ctx, h->opt_get(root, "key_exchange"),
				    "key_exchange must be noise or x3dh, not '%s'",
				    kx);
	} else if (rot) {
		return h->opt_error(inst->ctx, rot,
				    "signed_prekey_rotation is only for key_exchange: x3dh");
	}
	if (!inst->x3dh)
		return 0;
	if (h->opt_get(root, "suite"))
		return h->opt_error(inst->ctx, h->opt_get(root, "suite"),
				    "suite is only for key_exchange: noise (x3dh uses %s)",
				    X3DH_SUITE_NAME);
	snprintf(inst->suite.name, sizeof(inst->suite.name), "%s",
		 X3DH_SUITE_NAME);
	if (rot && inst->role != CHAN_ROLE_LISTENER)
		return h->opt_error(inst->ctx, rot,
				    "signed_prekey_rotation is only for role: listener");
	inst->spk_rotation_ms = X3DH_ROTATION_DEFAULT_MS;
	rc = h->opt_get_duration_ms(inst->ctx, root, "signed_prekey_rotation",
				    &inst->spk_rotation_ms);
	if (rc != 0)
		return rc;
	if (inst->spk_rotation_ms < 1000)
		return h->opt_error(inst->ctx, rot,
				    "signed_prekey_rotation must be at least 1s");
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

static int options_read(struct sc_instance *inst)
{
	const struct ockam_host *h = inst->host;
	const struct ockam_opt *root = h->opt_root(inst->ctx);
	if (!root || h->opt_kind(root) != OCKAM_OPT_MAP)
		return h->opt_error(inst->ctx, root,
				    "secure_channel needs options: { role: listener|initiator, trust: ... }");
	int rc = h->opt_check_keys(inst->ctx, root, option_keys);
	if (rc != 0)
		return rc;

	const char *role = NULL;
	rc = h->opt_get_str(inst->ctx, root, "role", &role);
	if (rc != 0)
		return rc;
	if (!role)
		return h->opt_error(inst->ctx, root,
				    "role is required: listener or initiator");
	if (strcmp(role, "initiator") == 0)
		inst->role = CHAN_ROLE_INITIATOR;
	else if (strcmp(role, "listener") == 0)
		inst->role = CHAN_ROLE_LISTENER;
	else
		return h->opt_error(inst->ctx, h->opt_get(root, "role"),
				    "role must be listener or initiator, not '%s'",
				    role);

	rc = options_role_keys(inst, root);
	if (rc != 0)
		return rc;
	const struct ockam_opt *route = h->opt_get(root, "route");
	if (inst->role == CHAN_ROLE_INITIATOR) {
		if (!route)
			return h->opt_error(inst->ctx, root,
					    "an initiator needs a route to the listener");
		struct ockam_route r;
		rc = h->opt_get_route(inst->ctx, root, "route", &r);
		if (rc != 0)
			return rc;
		if (r.count == 0)
			return h->opt_error(inst->ctx, route,
					    "route is empty");
		rc = chan_route_set(&inst->route, &r);
		if (rc != 0)
			return rc;
	}

	inst->handshake_timeout_ms = CHAN_HANDSHAKE_TIMEOUT_DEFAULT_MS;
	rc = h->opt_get_duration_ms(inst->ctx, root, "handshake_timeout",
				    &inst->handshake_timeout_ms);
	if (rc != 0)
		return rc;
	if (inst->handshake_timeout_ms == 0)
		return h->opt_error(inst->ctx,
				    h->opt_get(root, "handshake_timeout"),
				    "handshake_timeout must be more than 0");
	inst->rekey_interval = DATA_REKEY_DEFAULT;
	rc = h->opt_get_u64(inst->ctx, root, "rekey_interval", DATA_WINDOW,
			    REKEY_INTERVAL_MAX, &inst->rekey_interval);
	if (rc != 0)
		return rc;
	inst->queue_limit = CHAN_QUEUE_LIMIT_DEFAULT;
	rc = h->opt_get_u64(inst->ctx, root, "queue_limit", 0, QUEUE_LIMIT_MAX,
			    &inst->queue_limit);
	if (rc != 0)
		return rc;

	rc = options_limits(inst, root);
	if (rc != 0)
		return rc;
	rc = options_trust(inst, root);
	if (rc != 0)
		return rc;
	rc = options_key_exchange(inst, root);
	if (rc != 0)
		return rc;
	if (inst->x3dh)
		return options_identity(inst, root);
	rc = options_suite(inst, root);
	if (rc != 0)
		return rc;
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
	limits_idle_stop(inst);
	listener_complaints_flush(inst);
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

/* The keys the host accepts under `options:`.  Each is still read and
 * checked by options_read (values, ranges and which role may use it, with
 * the messages the docs and tests quote), so the table declares names
 * and help only: no defaults, which would make a key present for the
 * role it does not belong to. */
static const struct ockam_option sc_options[] = {
	{.name = "role", .type = OCKAM_OPTION_ANY,
	 .help = "listener or initiator (required)"},
	{.name = "route", .type = OCKAM_OPTION_ANY,
	 .help = "initiator: the route to the listener (required)"},
	{.name = "trust", .type = OCKAM_OPTION_ANY,
	 .help = "everyone, or a list of identifiers (required)"},
	{.name = "vault", .type = OCKAM_OPTION_ANY,
	 .help = "identity file, created if missing; none: ephemeral"},
	{.name = "suite", .type = OCKAM_OPTION_ANY,
	 .help = "Noise suite (default " SUITE_DEFAULT ")"},
	{.name = "handshake_timeout", .type = OCKAM_OPTION_ANY,
	 .help = "a handshake must finish within this (default 30s)"},
	{.name = "rekey_interval", .type = OCKAM_OPTION_ANY,
	 .help = "records per key epoch (default 4096)"},
	{.name = "queue_limit", .type = OCKAM_OPTION_ANY,
	 .help = "initiator: messages held during a handshake (default 64)"},
	{.name = "max_handshakes", .type = OCKAM_OPTION_ANY,
	 .help = "listener: half-open handshakes at once (default 256)"},
	{.name = "max_handshakes_per_source", .type = OCKAM_OPTION_ANY,
	 .help = "listener: ... from one source (default 64)"},
	{.name = "max_channels", .type = OCKAM_OPTION_ANY,
	 .help = "listener: channel ends at once (default 10000)"},
	{.name = "idle_timeout", .type = OCKAM_OPTION_ANY,
	 .help = "listener: close a channel silent this long (default 10m)"},
	{.name = "rehandshake", .type = OCKAM_OPTION_ANY,
	 .help = "initiator: reopen a lost channel (default true)"},
	{.name = "rehandshake_backoff", .type = OCKAM_OPTION_ANY,
	 .help = "initiator: first retry delay (default 1s)"},
	{.name = "rehandshake_backoff_max", .type = OCKAM_OPTION_ANY,
	 .help = "initiator: longest retry delay (default 30s)"},
	{.name = "key_exchange", .type = OCKAM_OPTION_ANY,
	 .help = "noise or x3dh (default noise)"},
	{.name = "signed_prekey_rotation", .type = OCKAM_OPTION_ANY,
	 .help = "X3DH listener: signed prekey lifetime (default 7d)"},
	{.name = "keepalive", .type = OCKAM_OPTION_ANY,
	 .help = "empty record after this much one-way traffic; 0: off (default 10s)"},
	{.name = "dead_peer_timeout", .type = OCKAM_OPTION_ANY,
	 .help = "initiator: re-handshake after this silence; 0: off (default 15s)"},
	{0},
};

static const struct ockam_plugin plugin = {
	.abi_version = OCKAM_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct ockam_plugin),
	.name = "secure_channel",
	.kind = OCKAM_PLUGIN_SECURE_CHANNEL,
	.description = "Noise XX secure channel over any route",
	.options = sc_options,
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
