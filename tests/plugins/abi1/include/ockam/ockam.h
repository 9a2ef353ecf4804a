/* SPDX-License-Identifier: Apache-2.0 */
/* Everything a plugin needs: include this one header. */
#ifndef OCKAM_OCKAM_H
#define OCKAM_OCKAM_H

#include <ockam/host.h>
#include <ockam/message.h>
#include <ockam/plugin.h>
#include <ockam/route.h>
#include <ockam/version.h>

#endif
