/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Identities, identifiers, vault files and trust lists
 * (plugins/secure_channel/identity.c, trust.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sodium.h>

#include "../common/cunit_main.h"
#include "identity.h"
#include "trust.h"

static char dir[64];
static char path[128];

static void write_file(const char *p, const char *text, mode_t mode)
{
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	chmod(p, mode);
}

static void test_identifier_format(void)
{
	uint8_t pub[IDENTITY_KEY_LEN];
	char id[IDENTIFIER_LEN + 1];
	for (int i = 0; i < IDENTITY_KEY_LEN; i++)
		pub[i] = (uint8_t)(i + 1);
	/* Expected values from Python's hashlib.blake2b(digest_size=32). */
	identifier_format(pub, id);
	CU_ASSERT_STRING_EQUAL(id, "I441edc56cebc8e285d02267aa650819f");
	memset(pub, 0, sizeof(pub));
	identifier_format(pub, id);
	CU_ASSERT_STRING_EQUAL(id, "I89eb0d6a8a691dae2cd15ed0369931ce");
	CU_ASSERT_EQUAL(strlen(id), 33);
	CU_ASSERT(ockam_identifier_valid(id));
	CU_ASSERT(!ockam_identifier_valid("I89EB0D6A8A691DAE2CD15ED0369931CE"));
	CU_ASSERT(!ockam_identifier_valid("I89eb0d6a8a691dae2cd15ed0369931c"));
	CU_ASSERT(!ockam_identifier_valid("I89eb0d6a8a691dae2cd15ed0369931ce0"));
	CU_ASSERT(!ockam_identifier_valid("P89eb0d6a8a691dae2cd15ed0369931ce"));
	CU_ASSERT(!ockam_identifier_valid("I89eb0d6a8a691dae2cd15ed0369931cg"));
	CU_ASSERT(!ockam_identifier_valid(""));
}

static void test_generate(void)
{
	struct identity *a, *b;
	CU_ASSERT_EQUAL_FATAL(identity_generate(&a), 0);
	CU_ASSERT_EQUAL_FATAL(identity_generate(&b), 0);
	CU_ASSERT(ockam_identifier_valid(a->identifier));
	CU_ASSERT_STRING_NOT_EQUAL(a->identifier, b->identifier);
	uint8_t pub[IDENTITY_KEY_LEN];
	CU_ASSERT_EQUAL(crypto_scalarmult_base(pub, a->secret), 0);
	CU_ASSERT(memcmp(pub, a->public_key, sizeof(pub)) == 0);
	identity_free(a);
	identity_free(b);
	identity_free(NULL);
}

static void test_vault_create_and_reload(void)
{
	char err[512] = "";
	struct identity *a = NULL, *b = NULL;
	int created = -1;
	unlink(path);
	mode_t old = umask(0); /* creation must not depend on the umask */
	CU_ASSERT_EQUAL_FATAL(identity_vault_open(path, "alice.key", &a,
						  &created, err, sizeof(err)),
			      0);
	umask(old);
	CU_ASSERT_EQUAL(created, 1);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);

	/* The file is the documented text; the secret matches the key. */
	char text[256] = "";
	FILE *f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	CU_ASSERT_EQUAL(n, strlen(IDENTITY_VAULT_HEADER) + 1 + 64 + 1);
	CU_ASSERT(strncmp(text, IDENTITY_VAULT_HEADER "\n",
			  strlen(IDENTITY_VAULT_HEADER) + 1) == 0);
	uint8_t secret[32];
	CU_ASSERT_EQUAL(sodium_hex2bin(secret, 32,
				       text + strlen(IDENTITY_VAULT_HEADER) + 1,
				       64, NULL, NULL, NULL),
			0);
	CU_ASSERT(memcmp(secret, a->secret, 32) == 0);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));

	CU_ASSERT_EQUAL_FATAL(identity_vault_open(path, "alice.key", &b,
						  &created, err, sizeof(err)),
			      0);
	CU_ASSERT_EQUAL(created, 0);
	CU_ASSERT_STRING_EQUAL(a->identifier, b->identifier);
	identity_free(a);
	identity_free(b);
}

static void test_vault_refused(void)
{
	char err[512] = "";
	struct identity *a = NULL;
	int created;
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(identity_vault_open(path, "alice.key", &a,
						  &created, err, sizeof(err)),
			      0);
	identity_free(a);
	a = NULL;
	chmod(path, 0644);
	CU_ASSERT_EQUAL(identity_vault_open(path, "alice.key", &a, &created,
					    err, sizeof(err)),
			-EPERM);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_STRING_EQUAL(err,
			       "vault alice.key is readable by group or others (mode 0644): chmod 600 alice.key");
	chmod(path, 0640);
	CU_ASSERT_EQUAL(identity_vault_open(path, "alice.key", &a, &created,
					    err, sizeof(err)),
			-EPERM);
	CU_ASSERT(strstr(err, "(mode 0640)") != NULL);

	/* Malformed contents. */
	const char *bad[] = {
		"",
		"ockam-vault v1 x25519\n",
		"ockam-vault v1 x25519\n0123\n",
		"ockam-vault v2 x25519\n"
		"0101010101010101010101010101010101010101010101010101010101010101\n",
		"ockam-vault v1 x25519\n"
		"010101010101010101010101010101010101010101010101010101010101010g\n",
		"ockam-vault v1 x25519\n"
		"0000000000000000000000000000000000000000000000000000000000000000\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		err[0] = '\0';
		CU_ASSERT_EQUAL(identity_vault_open(path, "v.key", &a, &created,
						    err, sizeof(err)),
				-EINVAL);
		CU_ASSERT(strstr(err, "vault v.key is not a valid vault file") != NULL);
		CU_ASSERT_PTR_NULL(a);
	}
	/* A good hand-written one loads. */
	write_file(path,
		   "ockam-vault v1 x25519\n"
		   "0101010101010101010101010101010101010101010101010101010101010101\n",
		   0600);
	CU_ASSERT_EQUAL(identity_vault_open(path, "v.key", &a, &created, err,
					    sizeof(err)),
			0);
	identity_free(a);
	a = NULL;

	/* Not a file; a directory that cannot be created in. */
	CU_ASSERT_EQUAL(identity_vault_open(dir, "d", &a, &created, err,
					    sizeof(err)),
			-EINVAL);
	CU_ASSERT(strstr(err, "not a regular file") != NULL);
	CU_ASSERT(identity_vault_open("/nonexistent-dir/x.key", "x.key", &a,
				      &created, err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "vault x.key: cannot create") != NULL);
	unlink(path);
}

static void test_trust(void)
{
	struct trust t;
	trust_init(&t);
	CU_ASSERT(!trust_allows(&t, "I441edc56cebc8e285d02267aa650819f"));
	CU_ASSERT_EQUAL(trust_add(&t, "I441edc56cebc8e285d02267aa650819f"), 0);
	CU_ASSERT_EQUAL(trust_add(&t, "I441edc56cebc8e285d02267aa650819f"), 0);
	CU_ASSERT_EQUAL(t.count, 1);
	CU_ASSERT_EQUAL(trust_add(&t, "nobody"), -EINVAL);
	for (int i = 0; i < 10; i++) {
		char id[IDENTIFIER_LEN + 1];
		snprintf(id, sizeof(id), "I%032x", i);
		CU_ASSERT_EQUAL(trust_add(&t, id), 0);
	}
	CU_ASSERT_EQUAL(t.count, 11);
	CU_ASSERT(trust_allows(&t, "I441edc56cebc8e285d02267aa650819f"));
	CU_ASSERT(trust_allows(&t, "I00000000000000000000000000000009"));
	CU_ASSERT(!trust_allows(&t, "I89eb0d6a8a691dae2cd15ed0369931ce"));
	CU_ASSERT(!trust_allows(&t, "I441edc56cebc8e285d02267aa650819"));
	trust_free(&t);
	CU_ASSERT(!trust_allows(&t, "I441edc56cebc8e285d02267aa650819f"));
	trust_set_everyone(&t);
	CU_ASSERT(trust_allows(&t, "I89eb0d6a8a691dae2cd15ed0369931ce"));
	trust_free(&t);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "identifier format", test_identifier_format },
		{ "generate", test_generate },
		{ "vault create and reload", test_vault_create_and_reload },
		{ "vault refused", test_vault_refused },
		{ "trust lists", test_trust },
		{ NULL, NULL },
	};

	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "/tmp/test_channel_identity.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/alice.key", dir);
	int status = cunit_run(&(struct cunit_suite){
		.name = "channel_identity", .tests = tests });
	unlink(path);
	rmdir(dir);
	return status;
}
