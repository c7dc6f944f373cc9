/*
 * pki.c: see pki.h. Keys and CSRs are made with the OpenSSL API in the test
 * process, so each policy case controls exactly which flaw its CSR has.
 */
#include "mf_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "util.h"

EVP_PKEY *
mft_key(const char *kind)
{
	if (strcmp(kind, "ec-p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(kind, "ec-p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(kind, "secp256k1") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	if (strcmp(kind, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (strcmp(kind, "ed448") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	if (strcmp(kind, "rsa1024") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	if (strcmp(kind, "rsa2048") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(kind, "rsa3072") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	return NULL;
}

static X509_EXTENSION *
mft_ext(X509_REQ *req, const char *name, const char *value)
{
	X509V3_CTX ctx;
	GENERAL_NAMES *empty;
	X509_EXTENSION *ext;

	if (strcmp(name, "subjectAltName") == 0 && value[0] == '\0') {
		if ((empty = GENERAL_NAMES_new()) == NULL)
			return NULL;
		ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, empty);
		GENERAL_NAMES_free(empty);
		return ext;
	}
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	return X509V3_EXT_nconf(NULL, &ctx, name, value);
}

X509_REQ *
mft_csr(EVP_PKEY *key, const char *cn, ...)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_REQ *req = NULL;
	X509_NAME *nm;
	const char *name, *value;
	va_list ap;
	int ok = 0, id;

	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	if (cn != NULL) {
		nm = X509_REQ_get_subject_name(req);
		if (!X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0))
			goto out;
	}
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL)
		goto out;
	va_start(ap, cn);
	while ((name = va_arg(ap, const char *)) != NULL) {
		X509_EXTENSION *e;

		value = va_arg(ap, const char *);
		if ((e = mft_ext(req, name, value)) == NULL || !sk_X509_EXTENSION_push(exts, e)) {
			X509_EXTENSION_free(e);
			va_end(ap);
			goto out;
		}
	}
	va_end(ap);
	if (sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(req, exts))
		goto out;
	id = EVP_PKEY_get_base_id(key);
	if (X509_REQ_sign(req, key, id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL :
	    EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (!ok) {
		ERR_print_errors_fp(stderr);
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}

int
mft_csr_der(X509_REQ *req, unsigned char **der)
{
	*der = NULL;
	return i2d_X509_REQ(req, der);
}

X509_REQ *
mft_csr_break_sig(X509_REQ *req)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509_REQ *bad;
	int len;

	if ((len = mft_csr_der(req, &der)) <= 0)
		return NULL;
	der[len - 1] ^= 0x01;
	p = der;
	bad = d2i_X509_REQ(NULL, &p, len);
	OPENSSL_free(der);
	return bad;
}

int
mft_write_cert(const char *dir, const char *name, X509 *x)
{
	char *path = mf_path_join(dir, name);
	FILE *f = NULL;
	int rc = -1;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		goto out;
	if (PEM_write_X509(f, x) != 1)
		goto out;
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	free(path);
	return rc;
}

int
mft_write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	char *path = mf_path_join(dir, name);
	FILE *f = NULL;
	int rc = -1;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		goto out;
	if (fchmod(fileno(f), 0600) != 0 ||
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	free(path);
	return rc;
}
