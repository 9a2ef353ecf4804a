/* SPDX-License-Identifier: Apache-2.0 */
/* A shared object that exports the wrong symbol. */
#include "bad_common.h"

OCKAM_PLUGIN_EXPORT int ockam_plugin_entry_typo(void);
OCKAM_PLUGIN_EXPORT int ockam_plugin_entry_typo(void)
{
	return 0;
}
