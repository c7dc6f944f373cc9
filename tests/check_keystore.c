/*
 * check_keystore.c: file keys, PIN sources, key URIs, and PKCS#11 keys in a
 * real SoftHSM2 token created for each test (Check's fork mode gives every
 * test its own process, so the engine's per-process state never leaks from
 * one test into the next).
 */
#include "mf_build.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fixtures.h"
#include "keystore.h"
#include "mferr.h"
#include "suites.h"
#include "util.h"

static const enum mf_keytype all_types[] = {
	MF_KEY_EC_P256, MF_KEY_EC_P384, MF_KEY_RSA2048, MF_KEY_RSA3072,
	MF_KEY_RSA4096, MF_KEY_ED25519
};

/* A public-key-only copy of k, made through DER so nothing private survives. */
static EVP_PKEY *
pubkey_of(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int n;

	n = i2d_PUBKEY(k, &der);
	ck_assert_int_gt(n, 0);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	ck_assert_ptr_nonnull(pub);
	OPENSSL_free(der);
	return pub;
}

/*
 * Signs a message with k (a file key or a token handle) and checks the
 * signature with the public key alone; a flipped message must not verify.
 * Then does the same through X509_sign, the call the issuer makes.
 */
static void
sign_and_verify(EVP_PKEY *k)
{
	static const unsigned char msg[] = "mayfly keystore test message";
	const EVP_MD *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	unsigned char sig[1024], bad[sizeof(msg)];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *mc;
	EVP_PKEY *pub = pubkey_of(k);
	X509 *x;
	X509_NAME *nm;

	mc = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestSignInit(mc, NULL, md, NULL, k), 1);
	ck_assert_int_eq(EVP_DigestSign(mc, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(mc);

	mc = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(mc, NULL, md, NULL, pub), 1);
	ck_assert_int_eq(EVP_DigestVerify(mc, sig, siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(mc);

	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	mc = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(mc, NULL, md, NULL, pub), 1);
	ck_assert_int_ne(EVP_DigestVerify(mc, sig, siglen, bad, sizeof(bad)), 1);
	EVP_MD_CTX_free(mc);
	ERR_clear_error();

	x = X509_new();
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"keystore test", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	ck_assert_int_eq(X509_set_pubkey(x, pub), 1);
	ck_assert_int_gt(X509_sign(x, k, md), 0);
	ck_assert_int_eq(X509_verify(x, pub), 1);
	X509_free(x);
	EVP_PKEY_free(pub);
}

static void
check_type(EVP_PKEY *k, enum mf_keytype t)
{
	switch (t) {
	case MF_KEY_EC_P256:
	case MF_KEY_EC_P384: {
		char group[64];
		size_t glen;

		ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
		ck_assert_int_eq(EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen), 1);
		ck_assert_str_eq(group, t == MF_KEY_EC_P256 ? "prime256v1" : "secp384r1");
		break;
	}
	case MF_KEY_RSA2048:
	case MF_KEY_RSA3072:
	case MF_KEY_RSA4096:
		ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
		ck_assert_int_eq(EVP_PKEY_get_bits(k),
		    t == MF_KEY_RSA2048 ? 2048 : t == MF_KEY_RSA3072 ? 3072 : 4096);
		break;
	case MF_KEY_ED25519:
		ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_ED25519);
		break;
	}
}

static struct mf_keystore *
file_keystore(void)
{
	struct mf_keystore *ks = NULL;
	struct mf_keystore_conf conf = { NULL, NULL, NULL };

	ck_assert_int_eq(mf_keystore_new(&conf, &ks), 0);
	ck_assert_ptr_nonnull(ks);
	return ks;
}

static char *
file_uri(const char *dir, const char *name)
{
	char *u;

	ck_assert_int_ge(asprintf(&u, "file:%s/%s", dir, name), 0);
	return u;
}

START_TEST(keytype_names)
{
	enum mf_keytype t = MF_KEY_EC_P256;
	size_t i;

	for (i = 0; i < sizeof(all_types) / sizeof(all_types[0]); i++) {
		ck_assert_int_eq(mf_keytype_parse(mf_keytype_name(all_types[i]), &t), 0);
		ck_assert_int_eq(t, all_types[i]);
	}
	ck_assert_str_eq(mf_keytype_name(MF_KEY_EC_P384), "ec-p384");
	ck_assert_int_eq(mf_keytype_parse("rsa1024", &t), MF_ERR_KEYTYPE);
	ck_assert_int_eq(mf_keytype_parse("EC-P256", &t), MF_ERR_KEYTYPE);
	ck_assert_int_eq(mf_keytype_parse(NULL, &t), MF_ERR_KEYTYPE);
	ck_assert_int_eq(t, MF_KEY_ED25519);	/* untouched on failure */
}
END_TEST

/* Every key type: generated 0600, loads back as the same key, signs. */
START_TEST(file_generate_all_types)
{
	char *dir = mft_tmpdir();
	struct mf_keystore *ks = file_keystore();
	size_t i;

	for (i = 0; i < sizeof(all_types) / sizeof(all_types[0]); i++) {
		char name[64], *uri, *path;
		EVP_PKEY *gen = NULL, *loaded = NULL;
		struct stat st;

		snprintf(name, sizeof(name), "%s.pem", mf_keytype_name(all_types[i]));
		uri = file_uri(dir, name);
		path = mf_path_join(dir, name);
		ck_assert_int_eq(mf_keystore_generate(ks, uri, all_types[i], &gen), 0);
		ck_assert_ptr_nonnull(gen);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_mode & 07777, 0600);
		check_type(gen, all_types[i]);
		sign_and_verify(gen);

		ck_assert_int_eq(mf_keystore_load(ks, uri, &loaded), 0);
		ck_assert_int_eq(EVP_PKEY_eq(gen, loaded), 1);
		sign_and_verify(loaded);
		EVP_PKEY_free(gen);
		EVP_PKEY_free(loaded);
		free(uri);
		free(path);
	}
	mf_keystore_free(ks);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(file_refuses_open_permissions)
{
	char *dir = mft_tmpdir(), *uri = file_uri(dir, "k.pem"), *path = mf_path_join(dir, "k.pem");
	struct mf_keystore *ks = file_keystore();
	EVP_PKEY *k = NULL;

	ck_assert_int_eq(mf_keystore_generate(ks, uri, MF_KEY_EC_P256, &k), 0);
	EVP_PKEY_free(k);
	k = NULL;
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_KEY_PERMS);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_KEY_PERMS);
	ck_assert_int_eq(chmod(path, 0602), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_KEY_PERMS);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), 0);
	EVP_PKEY_free(k);
	mf_keystore_free(ks);
	free(uri);
	free(path);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(file_refuses_overwrite)
{
	char *dir = mft_tmpdir(), *uri = file_uri(dir, "k.pem"), *path = mf_path_join(dir, "k.pem");
	struct mf_keystore *ks = file_keystore();
	unsigned char *before = NULL, *after = NULL;
	size_t blen, alen;
	EVP_PKEY *k = NULL;

	ck_assert_int_eq(mf_keystore_generate(ks, uri, MF_KEY_EC_P256, &k), 0);
	EVP_PKEY_free(k);
	k = NULL;
	ck_assert_int_eq(mf_file_read(path, 65536, &before, &blen), 0);
	ck_assert_int_eq(mf_keystore_generate(ks, uri, MF_KEY_EC_P384, &k), MF_ERR_EXISTS);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(mf_file_read(path, 65536, &after, &alen), 0);
	ck_assert_uint_eq(blen, alen);
	ck_assert_mem_eq(before, after, blen);
	/* A dangling symlink in the way is refused too, not followed. */
	{
		char *link = mf_path_join(dir, "link.pem"), *luri = file_uri(dir, "link.pem");
		char *target = mf_path_join(dir, "elsewhere.pem");
		struct stat st;

		ck_assert_int_eq(symlink(target, link), 0);
		ck_assert_int_eq(mf_keystore_generate(ks, luri, MF_KEY_EC_P256, &k), MF_ERR_EXISTS);
		ck_assert_int_ne(stat(target, &st), 0);
		free(link);
		free(luri);
		free(target);
	}
	OPENSSL_cleanse(before, blen);
	OPENSSL_cleanse(after, alen);
	free(before);
	free(after);
	mf_keystore_free(ks);
	free(uri);
	free(path);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(file_load_failures)
{
	char *dir = mft_tmpdir();
	struct mf_keystore *ks = file_keystore();
	char *missing = file_uri(dir, "missing.pem"), *junk = file_uri(dir, "junk.pem");
	char *enc = file_uri(dir, "enc.pem"), *encpath = mf_path_join(dir, "enc.pem");
	char *sub = file_uri(dir, "no/such/dir/k.pem");
	EVP_PKEY *k = NULL, *gen;
	FILE *f;
	int fd;

	ck_assert_int_eq(mf_keystore_load(ks, missing, &k), MF_ERR_KEY_LOAD);
	ck_assert_int_eq(mft_write(dir, "junk.pem", "-----BEGIN PRIVATE KEY-----\nnot base64\n"), 0);
	ck_assert_int_eq(mf_keystore_load(ks, junk, &k), MF_ERR_KEY_LOAD);
	/* The key directory itself is not a key. */
	{
		char *d = file_uri(dir, "");

		ck_assert_int_eq(mf_keystore_load(ks, d, &k), MF_ERR_KEY_LOAD);
		free(d);
	}
	/* An encrypted key fails cleanly instead of prompting for a passphrase. */
	gen = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(gen);
	fd = open(encpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_int_eq(PEM_write_PrivateKey(f, gen, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"secret"), 1);
	fclose(f);
	EVP_PKEY_free(gen);
	ck_assert_int_eq(mf_keystore_load(ks, enc, &k), MF_ERR_KEY_LOAD);
	ck_assert_ptr_null(k);
	/* Generating into a directory that does not exist is an I/O error. */
	ck_assert_int_eq(mf_keystore_generate(ks, sub, MF_KEY_EC_P256, &k), MF_ERR_IO);
	/* An unknown key type writes nothing. */
	ck_assert_int_eq(mf_keystore_generate(ks, missing, (enum mf_keytype)99, &k), MF_ERR_KEYTYPE);
	ck_assert_int_eq(mf_keystore_load(ks, missing, &k), MF_ERR_KEY_LOAD);
	ERR_clear_error();
	mf_keystore_free(ks);
	free(missing);
	free(junk);
	free(enc);
	free(encpath);
	free(sub);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(bad_uris)
{
	static const char *bad[] = {
		"", "file:", "file://", "file://host/etc/key.pem", "http://x/key.pem", "key.pem",
		"FILE:/k.pem", "pkcs11:", "pkcs11:token=a", "pkcs11:object=b",
		"pkcs11:token=a;object=", "pkcs11:token=;object=b",
		"pkcs11:token=a;object=b?pin-value=1234", "pkcs11:token=a;object=b;foo=c",
		"pkcs11:token=a;token=b;object=c", "pkcs11:token=%zz;object=b",
		"pkcs11:token=a%0;object=b", "pkcs11:token=a%00b;object=c",
		"pkcs11:token=a b;object=c", "pkcs11:token=a;object=b;type=cert",
		"pkcs11:token=a;;object=b", "pkcs11:tokenXa;object=b",
		"pkcs11:token=0123456789abcdef0123456789abcdefX;object=b", NULL
	};
	struct mf_keystore *ks = file_keystore();
	EVP_PKEY *k = NULL;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		ck_assert_msg(mf_keystore_load(ks, bad[i], &k) == MF_ERR_KEY_URI, "load accepted '%s'", bad[i]);
		ck_assert_msg(mf_keystore_generate(ks, bad[i], MF_KEY_EC_P256, &k) == MF_ERR_KEY_URI,
		    "generate accepted '%s'", bad[i]);
		ck_assert_ptr_null(k);
	}
	ck_assert_int_eq(mf_keystore_load(ks, NULL, &k), MF_ERR_KEY_URI);
	mf_keystore_free(ks);
}
END_TEST

START_TEST(pin_sources)
{
	char *dir = mft_tmpdir(), *src, *path, *pin = NULL;

	setenv("MF_TEST_PIN", "env-pin-4711", 1);
	ck_assert_int_eq(mf_pin_read("env:MF_TEST_PIN", &pin), 0);
	ck_assert_str_eq(pin, "env-pin-4711");
	mf_secret_free(pin);
	pin = NULL;
	unsetenv("MF_TEST_PIN_UNSET");
	ck_assert_int_eq(mf_pin_read("env:MF_TEST_PIN_UNSET", &pin), MF_ERR_PIN);
	setenv("MF_TEST_PIN_EMPTY", "", 1);
	ck_assert_int_eq(mf_pin_read("env:MF_TEST_PIN_EMPTY", &pin), MF_ERR_PIN);
	ck_assert_int_eq(mf_pin_read("env:", &pin), MF_ERR_PIN);

	ck_assert_int_eq(mft_write(dir, "pin", "file-pin-0815\r\n"), 0);
	path = mf_path_join(dir, "pin");
	ck_assert_int_ge(asprintf(&src, "file:%s", path), 0);
	ck_assert_int_eq(mf_pin_read(src, &pin), 0);
	ck_assert_str_eq(pin, "file-pin-0815");
	mf_secret_free(pin);
	pin = NULL;
	/* A PIN file that others can read is refused like an open key file. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(mf_pin_read(src, &pin), MF_ERR_PIN);
	ck_assert_ptr_null(pin);
	free(src);

	ck_assert_int_eq(mft_write(dir, "empty", "\n"), 0);
	ck_assert_int_ge(asprintf(&src, "file:%s/empty", dir), 0);
	ck_assert_int_eq(mf_pin_read(src, &pin), MF_ERR_PIN);
	free(src);
	ck_assert_int_ge(asprintf(&src, "file:%s/nonexistent", dir), 0);
	ck_assert_int_eq(mf_pin_read(src, &pin), MF_ERR_PIN);
	free(src);
	ck_assert_int_eq(mf_pin_read("1234", &pin), MF_ERR_PIN);
	ck_assert_int_eq(mf_pin_read("file:", &pin), MF_ERR_PIN);
	ck_assert_int_eq(mf_pin_read(NULL, &pin), MF_ERR_PIN);
	ck_assert_ptr_null(pin);
	free(path);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

Suite *
suite_keystore(void)
{
	Suite *s = suite_create("keystore");
	TCase *tc;

	tc = tcase_create("file");
	tcase_set_timeout(tc, 120);	/* RSA-4096 keygen on a busy machine */
	tcase_add_test(tc, keytype_names);
	tcase_add_test(tc, file_generate_all_types);
	tcase_add_test(tc, file_refuses_open_permissions);
	tcase_add_test(tc, file_refuses_overwrite);
	tcase_add_test(tc, file_load_failures);
	tcase_add_test(tc, bad_uris);
	tcase_add_test(tc, pin_sources);
	suite_add_tcase(s, tc);
	return s;
}
