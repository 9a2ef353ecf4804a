/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust policies (see trust.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trust.h"

void trust_init(struct trust *t)
{
	t->everyone = 0;
	t->count = 0;
	t->cap = 0;
	t->ids = NULL;
}

void trust_set_everyone(struct trust *t)
{
	t->everyone = 1;
}

int trust_add(struct trust *t, const char *identifier)
{
	if (!ockam_identifier_valid(identifier))
		return -EINVAL;
	if (trust_allows(t, identifier) && !t->everyone)
		return 0;
	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4;
		void *ids = realloc(t->ids, cap * sizeof(*t->ids));
		if (!ids)
			return -ENOMEM;
		t->ids = ids;
		t->cap = cap;
	}
	memcpy(t->ids[t->count++], identifier, IDENTIFIER_LEN + 1);
	return 0;
}

int trust_allows(const struct trust *t, const char *identifier)
{
	if (t->everyone)
		return 1;
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->ids[i], identifier) == 0)
			return 1;
	return 0;
}

void trust_free(struct trust *t)
{
	free(t->ids);
	trust_init(t);
}
