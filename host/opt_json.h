/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An options tree (opt.h) as JSON, for `ockam-host --check --json`: maps
 * are objects (in order), lists arrays; a plain scalar that YAML reads as
 * a number or true/false is a JSON number or boolean when JSON can write
 * it as one, null is null, and everything else is a string.
 */
#ifndef OCKAM_HOST_OPT_JSON_H
#define OCKAM_HOST_OPT_JSON_H

#include <stdio.h>

#include "opt.h"

/* Write `o` and a newline. */
void opt_write_json(const struct ockam_opt *o, FILE *out);

#endif
