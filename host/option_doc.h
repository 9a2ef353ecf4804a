/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plugin's declared options (plugin.h) as the Markdown table
 * docs/configuration.md shows, between markers a test compares with the
 * committed document (`ockam-host --options-doc TYPE`).
 */
#ifndef OCKAM_HOST_OPTION_DOC_H
#define OCKAM_HOST_OPTION_DOC_H

#include <stdio.h>

#include <ockam/plugin.h>

void option_doc_write(const struct ockam_plugin *p, FILE *out);

#endif
