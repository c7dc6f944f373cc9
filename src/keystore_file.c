/*
 * keystore_file.c: the parts of the keystore that need neither the engine
 * nor a PKCS#11 module: key type names, PIN sources, and file:PATH keys.
 *
 * File keys are PEM (PKCS#8) private keys for development and tests. They
 * are created 0600 without ever overwriting anything, and refused on load if
 * anyone but the owner may read or write them.
 */
#include "mf_build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keystore.h"
#include "keystore_int.h"
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

/*
 * Reads a PIN file: one line, at most 255 bytes, a trailing newline allowed.
 * The file must be private to its owner: a PIN others can read is as good as
 * no PIN. Checked on the open file, so there is no stat/open race.
 */
static int
mf_pin_file(const char *path, char **pin)
{
	char buf[257];
	size_t len = 0;
	struct stat st;
	ssize_t n;
	int fd, rc = MF_ERR_PIN;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return MF_ERR_PIN;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		goto out;
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	/* Empty, a NUL inside, more than one line, or too long. */
	if (len == 0 || len >= sizeof(buf) - 1 || strlen(buf) != len || strpbrk(buf, "\r\n") != NULL)
		goto out;
	rc = (*pin = strdup(buf)) != NULL ? MF_OK : MF_ERR_NOMEM;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
mf_pin_read(const char *pin_source, char **pin)
{
	const char *v;

	*pin = NULL;
	if (pin_source == NULL)
		return MF_ERR_PIN;
	if (strncmp(pin_source, "file:", 5) == 0 && pin_source[5] != '\0')
		return mf_pin_file(pin_source + 5, pin);
	if (strncmp(pin_source, "env:", 4) != 0 || pin_source[4] == '\0')
		return MF_ERR_PIN;
	/*
	 * XXX The environment stays readable in /proc/PID/environ by the same
	 * user; a file is the better source. We do not unsetenv(): that would
	 * not wipe the original bytes anyway.
	 */
	if ((v = getenv(pin_source + 4)) == NULL || *v == '\0')
		return MF_ERR_PIN;
	return (*pin = strdup(v)) != NULL ? MF_OK : MF_ERR_NOMEM;
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

int
mf_keyfile_load(const char *path, EVP_PKEY **out)
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

int
mf_keyfile_generate(const char *path, enum mf_keytype t)
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

