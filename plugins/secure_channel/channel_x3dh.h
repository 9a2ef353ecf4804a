/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key_exchange: x3dh -- the X3DH exchange over routes (channel_x3dh.c),
 * called from channel.c and channel_handshake.c instead of Noise.
 */
#ifndef OCKAM_CHANNEL_X3DH_H
#define OCKAM_CHANNEL_X3DH_H

#include "channel.h"

/* The name used in log lines where Noise prints its suite. */
#define X3DH_SUITE_NAME "X3DH_25519_ChaChaPoly_SHA256"

/* Initiator: send a bundle request on a fresh channel (arms the
 * handshake timer); like hs_initiator_begin. */
int x3dh_initiator_begin(struct channel *ch);
/* Listener: a bundle request or an INIT at the listener's address. */
/* An X3DH listener's prekeys: loaded from the file beside its vault, or
 * made (and written there).  0 or a negative errno, logged. */
int x3dh_listener_start(struct sc_instance *inst);
int x3dh_listener_receive(struct sc_instance *inst,
			  const struct ockam_message *msg);
/* Initiator: BUNDLE or DONE at its decryptor during the exchange. */
int x3dh_receive(struct channel *ch, const struct ockam_message *msg);
/* Free what X3DH keeps per channel end (at close) and per instance. */
void x3dh_channel_free(struct channel *ch);
void x3dh_instance_free(struct sc_instance *inst);

#endif
