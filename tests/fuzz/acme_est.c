/*
 * acme_est.c: libFuzzer target for what the renewal listener reads from an
 * EST simpleenroll (RFC 7030 4.2) or a POST /v1/sign before and around the
 * issuance: the Authorization header (HTTP basic credentials, base64, or a
 * bearer token), the body (a base64 PKCS#10 CSR with line breaks for EST,
 * PEM or DER for /v1/sign), the policy check of acme_ca_issue(), and the
 * answer built from the certificate (a base64 certs-only PKCS#7, or PEM).
 *
 * The handlers (est.c) are called as the listener's dispatch calls them,
 * with a request context instead of a libmicrohttpd connection. Issuance
 * itself is out of scope: the issuer interface (struct mf_acme_issuer) is
 * given a function that answers every approved CSR with one fixed
 * self-signed certificate, so that the answer path runs too. One-time EST
 * tokens need the database and are not configured: a bearer token is
 * refused after its body has been parsed, as in the listener.
 *
 * Input: one byte choosing the handler (even: simpleenroll, odd: /v1/sign),
 * the Authorization header up to the first NUL (absent when there is none),
 * then the body. The seeds carry the configured credentials ("fuzz:pw" for
 * EST, "Bearer fuzz-api-token" for /v1/sign), so the body is reached.
 *
 *   make fuzz-smoke-acme      (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include "mf_build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme/acme_int.h"
#include "config.h"
#include "mferr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mf_config *cfg;
static struct mf_acme acme;
static unsigned char *cert_der;
static int cert_len;

/* The issuer interface: every CSR that passed the policy gets the same certificate. */
static int
fuzz_issue(void *arg, const unsigned char *csr, size_t csr_len, const char *profile,
    const char *requester, int64_t lifetime, int64_t not_before, unsigned char **cert,
    size_t *len, char *why, size_t whylen)
{
	(void)arg;
	(void)profile;
	(void)lifetime;
	(void)not_before;
	(void)why;
	(void)whylen;
	if (csr == NULL || csr_len == 0 || csr_len > MF_ACME_CSR_MAX || requester == NULL)
		__builtin_trap();
	if ((*cert = malloc((size_t)cert_len)) == NULL)
		return MF_ERR_NOMEM;
	memcpy(*cert, cert_der, (size_t)cert_len);
	*len = (size_t)cert_len;
	return 0;
}

static void
make_cert(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n;

	if (k == NULL || x == NULL || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || !X509_set_pubkey(x, k) ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
	    -1, -1, 0) || !X509_set_issuer_name(x, n) || X509_sign(x, k, EVP_sha256()) <= 0 ||
	    (cert_len = i2d_X509(x, &cert_der)) <= 0)
		abort();
	X509_free(x);
	EVP_PKEY_free(k);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char yaml[] =
	    "database: fuzz.db\n"
	    "urls:\n  base: http://127.0.0.1:8080\n"
	    "roots:\n  - name: root-a\n    key: file:k.pem\n    cert: r.pem\n"
	    "intermediates:\n  - name: issuing-1\n    root: root-a\n    key: file:k.pem\n"
	    "    cert: i.pem\n"
	    "profiles:\n  server:\n    dns: [localhost, .acme.test]\n    ip: [127.0.0.0/8]\n"
	    "    wildcard: true\n"
	    "acme:\n  port: 8443\n  est:\n    user: fuzz\n    password-file: est.pw\n";
	char path[] = "/tmp/mayfly-fuzz-est.XXXXXX", err[256] = "";
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd < 0 || write(fd, yaml, sizeof(yaml) - 1) != (ssize_t)(sizeof(yaml) - 1) ||
	    mf_config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz init: %s\n", err);
		abort();
	}
	close(fd);
	unlink(path);
	make_cert();
	acme.cfg = cfg;
	acme.conf = &cfg->acme;
	acme.iss.issue = fuzz_issue;
	acme.est_password = "pw";
	acme.api_token = "fuzz-api-token";
	acme.base = "https://127.0.0.1:8443";
	if (pthread_mutex_init(&acme.lock, NULL) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_resp r;
	struct acme_ctx c;
	char *buf, *auth = NULL, *body, *nul;
	size_t rest;

	if (size < 1)
		return 0;
	/* Copies of the exact size, NUL-terminated as the listener keeps them. */
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	rest = size - 1;
	body = buf;
	if ((nul = memchr(buf, '\0', rest)) != NULL && nul < buf + rest) {
		auth = buf;
		body = nul + 1;
		rest -= (size_t)(body - buf);
	}

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	c.a = &acme;
	c.r = &r;
	c.method = "POST";
	c.path = (data[0] & 1) ? "/v1/sign" : "/.well-known/est/simpleenroll";
	c.arg = "";
	c.now = 1767225600;
	c.upload = body;
	c.upload_len = rest;
	c.authorization = auth;
	if (data[0] & 1)
		(void)api_h_sign(&c);
	else
		(void)est_h_simpleenroll(&c);

	/* One answer: a problem with a one-line reason, or a body. */
	if ((r.err != 0) == (r.body != NULL) || memchr(r.why, '\0', sizeof(r.why)) == NULL ||
	    (r.body != NULL && (r.len == 0 || r.status != 200)))
		__builtin_trap();
	free(r.body);
	json_decref(r.json);
	json_decref(r.problem_extra);
	free(r.location);
	for (int i = 0; i < r.nlinks; i++)
		free(r.links[i]);
	free(buf);
	ERR_clear_error();
	return 0;
}
