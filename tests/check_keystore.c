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
	/* Two lines, or longer than any PIN, are not a PIN. */
	ck_assert_int_eq(mft_write(dir, "twolines", "1234\n5678\n"), 0);
	ck_assert_int_ge(asprintf(&src, "file:%s/twolines", dir), 0);
	ck_assert_int_eq(mf_pin_read(src, &pin), MF_ERR_PIN);
	free(src);
	{
		char lng[301];

		memset(lng, '7', 300);
		lng[300] = '\0';
		ck_assert_int_eq(mft_write(dir, "long", lng), 0);
		ck_assert_int_ge(asprintf(&src, "file:%s/long", dir), 0);
		ck_assert_int_eq(mf_pin_read(src, &pin), MF_ERR_PIN);
		free(src);
		lng[255] = '\0';	/* the longest PIN we take */
		ck_assert_int_eq(mft_write(dir, "long", lng), 0);
		ck_assert_int_ge(asprintf(&src, "file:%s/long", dir), 0);
		ck_assert_int_eq(mf_pin_read(src, &pin), 0);
		ck_assert_uint_eq(strlen(pin), 255);
		mf_secret_free(pin);
		pin = NULL;
		free(src);
	}
	ck_assert_int_eq(mf_pin_read("1234", &pin), MF_ERR_PIN);
	ck_assert_int_eq(mf_pin_read("file:", &pin), MF_ERR_PIN);
	ck_assert_int_eq(mf_pin_read(NULL, &pin), MF_ERR_PIN);
	ck_assert_ptr_null(pin);
	free(path);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- PKCS#11 keys in a real SoftHSM2 token ---------------------------- */

#define TOKEN	"mf-test"

struct hsm {
	char *dir;
	char *conf;		/* dir/softhsm2.conf */
	char *pinsrc;		/* file:dir/hsm.pin */
	struct mf_keystore *ks;
};

static struct mf_keystore *
hsm_keystore(const struct hsm *h, const char *pinsrc)
{
	struct mf_keystore_conf conf = { MF_SOFTHSM_MODULE, pinsrc, h->conf };
	struct mf_keystore *ks = NULL;

	ck_assert_int_eq(mf_keystore_new(&conf, &ks), 0);
	return ks;
}

static void
hsm_setup(struct hsm *h)
{
	memset(h, 0, sizeof(*h));
	h->dir = mft_tmpdir();
	ck_assert_ptr_nonnull(h->dir);
	ck_assert_msg(mft_softhsm_setup(h->dir, TOKEN) == 0, "SoftHSM2 token setup failed");
	h->conf = mf_path_join(h->dir, "softhsm2.conf");
	ck_assert_int_ge(asprintf(&h->pinsrc, "file:%s/hsm.pin", h->dir), 0);
	h->ks = hsm_keystore(h, h->pinsrc);
}

static void
hsm_teardown(struct hsm *h)
{
	mf_keystore_free(h->ks);
	mft_rmtree(h->dir);
	free(h->dir);
	free(h->conf);
	free(h->pinsrc);
}

static char *
p11_uri(const char *object)
{
	char *u;

	ck_assert_int_ge(asprintf(&u, "pkcs11:token=" TOKEN ";object=%s", object), 0);
	return u;
}

/* P-256, P-384 and RSA-3072 made inside the token, loaded, used to sign. */
START_TEST(p11_generate_load_sign)
{
	static const enum mf_keytype types[] = { MF_KEY_EC_P256, MF_KEY_EC_P384, MF_KEY_RSA3072 };
	struct hsm h;
	size_t i;

	hsm_setup(&h);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *uri = p11_uri(mf_keytype_name(types[i]));
		EVP_PKEY *gen = NULL, *loaded = NULL;

		ck_assert_int_eq(mf_keystore_generate(h.ks, uri, types[i], &gen), 0);
		ck_assert_ptr_nonnull(gen);
		check_type(gen, types[i]);
		sign_and_verify(gen);
		ck_assert_int_eq(mf_keystore_load(h.ks, uri, &loaded), 0);
		ck_assert_int_eq(EVP_PKEY_eq(gen, loaded), 1);
		sign_and_verify(loaded);
		EVP_PKEY_free(gen);
		EVP_PKEY_free(loaded);
		free(uri);
	}
	ck_assert_int_eq(mf_keystore_ping(h.ks), 0);
	hsm_teardown(&h);
}
END_TEST

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * Whatever OpenSSL can serialise of a token key handle is not the key:
 * libp11 gives an EC handle a dummy private scalar of zero, an RSA handle
 * none at all. If an export succeeds, the exported key must not make
 * signatures that verify under the real public key.
 */
static void
secret_not_in_process(EVP_PKEY *k)
{
	static const unsigned char msg[] = "export test";
	unsigned char *der = NULL, sig[1024];
	const unsigned char *p;
	size_t siglen = sizeof(sig);
	EVP_PKEY *copy, *pub = pubkey_of(k);
	EVP_MD_CTX *mc;
	int n;

	n = i2d_PrivateKey(k, &der);
	if (n <= 0) {
		ERR_clear_error();
		EVP_PKEY_free(pub);
		return;
	}
	p = der;
	copy = d2i_AutoPrivateKey(NULL, &p, n);
	OPENSSL_free(der);
	if (copy != NULL) {
		mc = EVP_MD_CTX_new();
		if (EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, copy) == 1 &&
		    EVP_DigestSign(mc, sig, &siglen, msg, sizeof(msg)) == 1) {
			EVP_MD_CTX_free(mc);
			mc = EVP_MD_CTX_new();
			ck_assert_int_eq(EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, pub), 1);
			ck_assert_int_ne(EVP_DigestVerify(mc, sig, siglen, msg, sizeof(msg)), 1);
		}
		EVP_MD_CTX_free(mc);
		EVP_PKEY_free(copy);
	}
	ERR_clear_error();
	EVP_PKEY_free(pub);
}

/*
 * The private key is a handle: its secret is not in this process, and the token
 * itself (asked through OpenSC's pkcs11-tool, not through our code) reports
 * it sensitive and never extractable, with a public half under the same
 * label and CKA_ID.
 */
START_TEST(p11_key_not_extractable)
{
	struct hsm h;
	char *uri = p11_uri("ca-key"), *rsa = p11_uri("rsa-key");
	char *cmd, *listing = NULL, *access, *eol, *id1, *id2;
	EVP_PKEY *k = NULL, *r = NULL;

	hsm_setup(&h);
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_EC_P256, &k), 0);
	secret_not_in_process(k);

	ck_assert_int_ge(asprintf(&cmd, "pkcs11-tool --module '%s' --token-label " TOKEN
	    " --login --pin 1234 --list-objects 2>&1", MF_SOFTHSM_MODULE), 0);
	ck_assert_int_eq(mft_run(cmd, &listing), 0);
	ck_assert_msg(strstr(listing, "Private Key Object; EC") != NULL, "%s", listing);
	ck_assert_msg(strstr(listing, "Public Key Object; EC") != NULL, "%s", listing);
	access = strstr(strstr(listing, "Private Key Object"), "Access:");
	ck_assert_ptr_nonnull(access);
	eol = strchr(access, '\n');
	if (eol != NULL)
		*eol = '\0';
	ck_assert_msg(strstr(access, " sensitive") != NULL, "%s", access);
	/* "extractable" appears once, as part of "never extractable". */
	ck_assert_msg(count_of(access, "never extractable") == 1, "%s", access);
	ck_assert_msg(count_of(access, "extractable") == 1, "%s", access);
	if (eol != NULL)
		*eol = '\n';
	/* Both halves carry the same random CKA_ID. */
	id1 = strstr(listing, "ID:");
	ck_assert_ptr_nonnull(id1);
	id2 = strstr(id1 + 3, "ID:");
	ck_assert_ptr_nonnull(id2);
	ck_assert_int_eq(strncmp(id1, id2, strcspn(id1, "\n")), 0);
	ck_assert_uint_gt(strcspn(id1, "\n"), 3 + 16);
	free(listing);
	free(cmd);

	ck_assert_int_eq(mf_keystore_generate(h.ks, rsa, MF_KEY_RSA2048, &r), 0);
	secret_not_in_process(r);
	EVP_PKEY_free(r);
	EVP_PKEY_free(k);
	free(uri);
	free(rsa);
	hsm_teardown(&h);
}
END_TEST

START_TEST(p11_refuses_duplicate_label)
{
	struct hsm h;
	char *uri = p11_uri("dup");
	EVP_PKEY *k = NULL;

	hsm_setup(&h);
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_EC_P256, &k), 0);
	EVP_PKEY_free(k);
	k = NULL;
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_EC_P384, &k), MF_ERR_EXISTS);
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_RSA2048, &k), MF_ERR_EXISTS);
	ck_assert_ptr_null(k);
	/* The first key is still the one the label names. */
	ck_assert_int_eq(mf_keystore_load(h.ks, uri, &k), 0);
	check_type(k, MF_KEY_EC_P256);
	EVP_PKEY_free(k);
	free(uri);
	hsm_teardown(&h);
}
END_TEST

START_TEST(p11_wrong_pin)
{
	struct hsm h;
	char *uri = p11_uri("k"), *wrong;
	struct mf_keystore *bad;
	EVP_PKEY *k = NULL;

	hsm_setup(&h);
	ck_assert_int_eq(mft_write(h.dir, "wrong.pin", "9999\n"), 0);
	ck_assert_int_ge(asprintf(&wrong, "file:%s/wrong.pin", h.dir), 0);
	bad = hsm_keystore(&h, wrong);
	ck_assert_int_eq(mf_keystore_generate(bad, uri, MF_KEY_EC_P256, &k), MF_ERR_PIN);
	ck_assert_int_eq(mf_keystore_load(bad, uri, &k), MF_ERR_PIN);
	ck_assert_ptr_null(k);
	mf_keystore_free(bad);
	free(wrong);
	/* An unreadable pin source is a PIN error too, before the token is asked. */
	bad = hsm_keystore(&h, "file:/nonexistent/hsm.pin");
	ck_assert_int_eq(mf_keystore_load(bad, uri, &k), MF_ERR_PIN);
	mf_keystore_free(bad);
	bad = hsm_keystore(&h, NULL);
	ck_assert_int_eq(mf_keystore_load(bad, uri, &k), MF_ERR_PIN);
	mf_keystore_free(bad);
	/* The right PIN still works: the refusals did not lock the token. */
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_EC_P256, &k), 0);
	EVP_PKEY_free(k);
	free(uri);
	hsm_teardown(&h);
}
END_TEST

START_TEST(p11_pin_from_env)
{
	struct hsm h;
	char *uri = p11_uri("k");
	struct mf_keystore *ks;
	EVP_PKEY *k = NULL;

	hsm_setup(&h);
	setenv("MF_TEST_HSM_PIN", "1234", 1);
	ks = hsm_keystore(&h, "env:MF_TEST_HSM_PIN");
	ck_assert_int_eq(mf_keystore_generate(ks, uri, MF_KEY_EC_P384, &k), 0);
	sign_and_verify(k);
	EVP_PKEY_free(k);
	k = NULL;
	mf_keystore_free(ks);
	unsetenv("MF_TEST_HSM_PIN");
	ks = hsm_keystore(&h, "env:MF_TEST_HSM_PIN");
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_PIN);
	mf_keystore_free(ks);
	free(uri);
	hsm_teardown(&h);
}
END_TEST

START_TEST(p11_missing_things)
{
	struct hsm h;
	char *uri = p11_uri("k"), *missing = p11_uri("no-such-key");
	struct mf_keystore *ks;
	struct mf_keystore_conf conf;
	EVP_PKEY *k = NULL;

	hsm_setup(&h);
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_EC_P256, &k), 0);
	EVP_PKEY_free(k);
	k = NULL;
	ck_assert_int_eq(mf_keystore_load(h.ks, missing, &k), MF_ERR_KEY_LOAD);
	ck_assert_int_eq(mf_keystore_load(h.ks, "pkcs11:token=no-such-token;object=k", &k), MF_ERR_HSM);
	ck_assert_int_eq(mf_keystore_generate(h.ks, "pkcs11:token=no-such-token;object=k",
	    MF_KEY_EC_P256, &k), MF_ERR_HSM);
	/* Ed25519: the token could, but the engine cannot use such a key. */
	ck_assert_int_eq(mf_keystore_generate(h.ks, missing, MF_KEY_ED25519, &k), MF_ERR_KEYTYPE);
	ck_assert_int_eq(mf_keystore_generate(h.ks, missing, (enum mf_keytype)99, &k), MF_ERR_KEYTYPE);
	ck_assert_int_eq(mf_keystore_load(h.ks, missing, &k), MF_ERR_KEY_LOAD);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(mf_keystore_ping(h.ks), 0);

	conf.module = "/nonexistent/libpkcs11.so";
	conf.pin_source = h.pinsrc;
	conf.softhsm2_conf = h.conf;
	ck_assert_int_eq(mf_keystore_new(&conf, &ks), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_HSM);
	mf_keystore_free(ks);
	/* A shared object that is not a PKCS#11 module. */
	conf.module = "libz.so.1";
	ck_assert_int_eq(mf_keystore_new(&conf, &ks), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_HSM);
	mf_keystore_free(ks);
	conf.module = NULL;
	ck_assert_int_eq(mf_keystore_new(&conf, &ks), 0);
	ck_assert_int_eq(mf_keystore_load(ks, uri, &k), MF_ERR_HSM);
	ck_assert_int_eq(mf_keystore_ping(ks), 0);	/* no pkcs11 key in use */
	mf_keystore_free(ks);
	ck_assert_ptr_null(k);
	free(missing);
	free(uri);
	hsm_teardown(&h);
}
END_TEST

/* SoftHSM2 without a readable configuration: the module refuses to start. */
START_TEST(p11_module_without_config)
{
	struct mf_keystore_conf conf = { MF_SOFTHSM_MODULE, "env:MF_TEST_HSM_PIN",
		"/nonexistent/softhsm2.conf" };
	struct mf_keystore *ks;
	EVP_PKEY *k = NULL;

	setenv("MF_TEST_HSM_PIN", "1234", 1);
	ck_assert_int_eq(mf_keystore_new(&conf, &ks), 0);
	ck_assert_int_eq(mf_keystore_load(ks, "pkcs11:token=t;object=k", &k), MF_ERR_HSM);
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, "/nonexistent/softhsm2.conf",
	    "t", "5678", "1234"), MF_ERR_HSM);
	mf_keystore_free(ks);
}
END_TEST

START_TEST(p11_init_token)
{
	struct hsm h;
	char *uri = NULL;
	EVP_PKEY *k1 = NULL, *k2 = NULL, *k3 = NULL;

	hsm_setup(&h);
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf, TOKEN, "5678", "1234"),
	    MF_ERR_EXISTS);
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf,
	    "0123456789abcdef0123456789abcdefX", "5678", "1234"), MF_ERR_INVAL);
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf, "x", "", "1234"), MF_ERR_INVAL);
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf, "x", "5678", NULL), MF_ERR_INVAL);
	ck_assert_int_eq(mf_keystore_init_token("/nonexistent/lib.so", h.conf, "x", "5678", "1234"),
	    MF_ERR_HSM);
	/* SoftHSM2 wants at least 4 characters. */
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf, "short", "5678", "12"),
	    MF_ERR_PIN);

	/*
	 * One keystore, two tokens, both initialised before the first key is
	 * used in this process (see keystore.c on libp11's slot list). A
	 * 32-byte label uses the whole CK_TOKEN_INFO field.
	 */
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf,
	    "0123456789abcdef0123456789abcdef", "5678", "1234"), 0);
	ck_assert_int_eq(mf_keystore_generate(h.ks, "pkcs11:token=" TOKEN ";object=first",
	    MF_KEY_EC_P256, &k1), 0);
	ck_assert_int_ge(asprintf(&uri, "pkcs11:token=%s;object=%s",
	    "0123456789abcdef0123456789abcdef", "second%20key"), 0);
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_RSA2048, &k2), 0);
	check_type(k2, MF_KEY_RSA2048);
	sign_and_verify(k2);
	sign_and_verify(k1);
	ck_assert_int_eq(mf_keystore_ping(h.ks), 0);
	free(uri);
	/*
	 * A token initialised after the engine read the slots: the key is made
	 * but the engine cannot see it; that is a clean refusal, not a crash.
	 */
	ck_assert_int_eq(mf_keystore_init_token(MF_SOFTHSM_MODULE, h.conf, "late", "5678", "1234"), 0);
	ck_assert_int_eq(mf_keystore_generate(h.ks, "pkcs11:token=late;object=k", MF_KEY_EC_P256, &k3),
	    MF_ERR_KEY_LOAD);
	ck_assert_ptr_null(k3);
	ERR_clear_error();
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	hsm_teardown(&h);
}
END_TEST

/*
 * The token disappears under a running keystore (its directory moved away,
 * as when an HSM is unplugged): ping, loading and generating report
 * MF_ERR_HSM, a signature with a handle taken before fails cleanly. The
 * keystore stays failed even when the token is back: the module's state is
 * per process, so recovery is a new signer process, and until then
 * issuance must stay closed.
 */
START_TEST(p11_vanished_token)
{
	struct hsm h;
	char *uri = p11_uri("k"), *other = p11_uri("other");
	char *tokens, *moved;
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_PKEY *k = NULL, *k2 = NULL;
	EVP_MD_CTX *mc;

	hsm_setup(&h);
	tokens = mf_path_join(h.dir, "tokens");
	moved = mf_path_join(h.dir, "tokens.gone");
	ck_assert_int_eq(mf_keystore_generate(h.ks, uri, MF_KEY_EC_P256, &k), 0);
	ck_assert_int_eq(mf_keystore_ping(h.ks), 0);

	ck_assert_int_eq(rename(tokens, moved), 0);
	ck_assert_int_eq(mf_keystore_ping(h.ks), MF_ERR_HSM);
	ck_assert_int_eq(mf_keystore_load(h.ks, uri, &k2), MF_ERR_HSM);
	ck_assert_int_eq(mf_keystore_generate(h.ks, other, MF_KEY_EC_P256, &k2), MF_ERR_HSM);
	ck_assert_int_eq(mf_keystore_ping(h.ks), MF_ERR_HSM);	/* stays failed */
	ck_assert_ptr_null(k2);
	mc = EVP_MD_CTX_new();
	if (EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, k) == 1)
		ck_assert_int_ne(EVP_DigestSign(mc, sig, &siglen, (const unsigned char *)"x", 1), 1);
	EVP_MD_CTX_free(mc);
	ERR_clear_error();

	ck_assert_int_eq(rename(moved, tokens), 0);
	ck_assert_int_eq(mf_keystore_ping(h.ks), MF_ERR_HSM);
	EVP_PKEY_free(k);
	free(tokens);
	free(moved);
	free(other);
	free(uri);
	hsm_teardown(&h);
}
END_TEST

/*
 * Runs a whole session with distinctive PINs (a good one and a wrong one)
 * with stderr captured and logging at debug level, logging failures the way
 * a caller would: neither PIN nor the SO PIN may appear.
 */
START_TEST(p11_pin_never_in_output)
{
	static const char user_pin[] = "Ux7pin-31337", so_pin[] = "So9pin-27182", bad_pin[] = "Bd4pin-16180";
	char *dir = mft_tmpdir(), *tokens = mf_path_join(dir, "tokens"), *conffile, *cfg;
	char *good = NULL, *wrong = NULL, *errpath = mf_path_join(dir, "stderr.txt");
	unsigned char *out = NULL;
	size_t outlen;
	struct mf_keystore_conf conf;
	struct mf_keystore *ks;
	EVP_PKEY *k = NULL;
	int saved, fd, rc;

	ck_assert_int_eq(mkdir(tokens, 0700), 0);
	ck_assert_int_ge(asprintf(&cfg, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = DEBUG\n", tokens), 0);
	ck_assert_int_eq(mft_write(dir, "softhsm2.conf", cfg), 0);
	conffile = mf_path_join(dir, "softhsm2.conf");
	ck_assert_int_eq(mft_write(dir, "good.pin", user_pin), 0);
	ck_assert_int_eq(mft_write(dir, "wrong.pin", bad_pin), 0);
	ck_assert_int_ge(asprintf(&good, "file:%s/good.pin", dir), 0);
	ck_assert_int_ge(asprintf(&wrong, "file:%s/wrong.pin", dir), 0);

	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
	mf_log_set_level(MF_LOG_DEBUG);

	/*
	 * The wrong PIN first: PKCS#11 login state is per process, so once
	 * logged in, a later C_Login reports "already logged in" instead.
	 */
	rc = mf_keystore_init_token(MF_SOFTHSM_MODULE, conffile, "secret-tok", so_pin, user_pin);
	conf.module = MF_SOFTHSM_MODULE;
	conf.softhsm2_conf = conffile;
	conf.pin_source = wrong;
	if (rc == 0) {
		mf_keystore_new(&conf, &ks);
		rc = mf_keystore_generate(ks, "pkcs11:token=secret-tok;object=k", MF_KEY_EC_P256, &k);
		if (rc != 0)
			mf_log_ssl(MF_LOG_ERR, "p11_pin_never_in_output", "uri=\"%s\" err=%s",
			    "pkcs11:token=secret-tok;object=k", mf_errname(rc));
		rc = rc == MF_ERR_PIN ? 0 : -1;
		mf_keystore_free(ks);
	}
	conf.pin_source = good;
	if (rc == 0) {
		mf_keystore_new(&conf, &ks);
		rc = mf_keystore_generate(ks, "pkcs11:token=secret-tok;object=k", MF_KEY_EC_P256, &k);
		if (rc == 0)
			sign_and_verify(k);
		EVP_PKEY_free(k);
		k = NULL;
		mf_keystore_free(ks);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	mf_log_set_level(MF_LOG_INFO);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(mf_file_read(errpath, 1 << 20, &out, &outlen), 0);
	/* The capture works: our own log line is in it. */
	ck_assert_msg(strstr((char *)out, "fn=p11_pin_never_in_output") != NULL, "%s", out);
	ck_assert_msg(strstr((char *)out, user_pin) == NULL, "user PIN in output: %s", out);
	ck_assert_msg(strstr((char *)out, so_pin) == NULL, "SO PIN in output: %s", out);
	ck_assert_msg(strstr((char *)out, bad_pin) == NULL, "wrong PIN in output: %s", out);
	free(out);
	free(good);
	free(wrong);
	free(cfg);
	free(conffile);
	free(errpath);
	free(tokens);
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

	tc = tcase_create("pkcs11");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, p11_generate_load_sign);

	tcase_add_test(tc, p11_key_not_extractable);
	tcase_add_test(tc, p11_refuses_duplicate_label);
	tcase_add_test(tc, p11_wrong_pin);
	tcase_add_test(tc, p11_pin_from_env);
	tcase_add_test(tc, p11_missing_things);
	tcase_add_test(tc, p11_module_without_config);
	tcase_add_test(tc, p11_init_token);
	tcase_add_test(tc, p11_vanished_token);
	tcase_add_test(tc, p11_pin_never_in_output);
	suite_add_tcase(s, tc);
	return s;
}
