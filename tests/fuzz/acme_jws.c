/*
 * acme_jws.c: libFuzzer target for the untrusted input the renewal
 * listener parses before any authentication: the JWS body of every ACME
 * POST (outer and inner: key change, external account binding), the JWK in
 * it, and the CSR intake of finalize/EST (PKCS#10 parsing, the names the
 * order is compared with, and the policy check); the Replay-Nonce of every
 * POST, and the identifiers of newOrder (the syntax check that keeps them
 * out of challenge URLs, and the escaping of what reaches the log).
 *
 * The first byte chooses the path (0xfe nonce, 0xff identifier, else its
 * value modulo 3); the rest is the input.
 */
#include "mf_build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "acme/acme_int.h"
#include "config.h"
#include "policy.h"

static struct mf_config *cfg;
static struct acme_nonces *nonces;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	    "    wildcard: true\n";
	char path[] = "/tmp/mayfly-fuzz-acme.XXXXXX", err[256];
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
	if (acme_nonces_new(NULL, &nonces) != 0)
		abort();
	return 0;
}

static void
fuzz_nonce(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), fresh[ACME_NONCE_LEN + 1];

	if (s == NULL)
		return;
	/* A forged or mangled nonce is never accepted; a fresh one is, once. */
	if (acme_nonce_use(nonces, s, 1000) == 0)
		abort();
	if (acme_nonce_new(nonces, 1000, 60, fresh) != 0 || acme_nonce_use(nonces, fresh, 1000) != 0 ||
	    acme_nonce_use(nonces, fresh, 1000) == 0)
		abort();
	free(s);
}

static void
fuzz_identifier(const uint8_t *data, size_t size)
{
	const struct mf_profile *p = mf_config_profile(cfg, "server");
	char *s = strndup((const char *)data, size), why[256], safe[300];
	struct mf_name n;
	size_t i;

	if (s == NULL)
		return;
	memset(&n, 0, sizeof(n));
	n.type = MF_NAME_DNS;
	n.dns = s;
	if (mf_policy_name_syntax(p, &n, why, sizeof(why)) == 0) {
		/* What passes can be no more than a host name. */
		for (i = 0; s[i] != '\0'; i++)
			if (strchr("/#?@:[]% \\", s[i]) != NULL)
				abort();
		(void)mf_policy_name_allowed(p, &n);
	}
	acme_log_safe(s, safe, sizeof(safe));
	for (i = 0; safe[i] != '\0'; i++)
		if (safe[i] == '"' || (unsigned char)safe[i] < 0x20)
			abort();
	free(s);
}

static void
fuzz_jws(const uint8_t *data, size_t size, int flags)
{
	static const unsigned char mac[32] = { 1, 2, 3 };
	struct mf_jws *j = NULL;
	char why[256], tp[44];
	EVP_PKEY *pk = NULL;

	if (mf_jws_parse((const char *)data, size, flags, &j, why, sizeof(why)) != 0)
		return;
	if (j->jwk != NULL && mf_jwk_check(j->jwk, why, sizeof(why)) == 0) {
		(void)mf_jwk_thumbprint(j->jwk, tp);
		if (mf_jwk_to_pkey(j->jwk, &pk) == 0)
			EVP_PKEY_free(pk);
		(void)mf_jws_verify(j, j->jwk);
	}
	if (flags & MF_JWS_HMAC)
		(void)mf_jws_verify_hmac(j, mac, sizeof(mac));
	mf_jws_free(j);
}

static void
fuzz_csr(const uint8_t *data, size_t size)
{
	struct mf_request req;
	struct mf_approved *ap = NULL;
	X509_REQ *csr = NULL;
	char **names = NULL, why[256];
	size_t n = 0;

	if (mf_csr_parse(data, size, &csr) != 0)
		return;
	if (acme_csr_names(csr, &names, &n) == 0)
		acme_names_free(names, n);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = "server";
	req.requester = "fuzz";
	if (mf_policy_check(cfg, &req, &ap, why, sizeof(why)) == 0)
		mf_approved_free(ap);
	X509_REQ_free(csr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0xfe) {
		fuzz_nonce(data + 1, size - 1);
		return 0;
	}
	if (data[0] == 0xff) {
		fuzz_identifier(data + 1, size - 1);
		return 0;
	}
	switch (data[0] % 3) {
	case 0:
		fuzz_jws(data + 1, size - 1, 0);
		break;
	case 1:
		fuzz_jws(data + 1, size - 1, MF_JWS_INNER | ((data[0] & 0x80) ? MF_JWS_HMAC : 0));
		break;
	default:
		fuzz_csr(data + 1, size - 1);
		break;
	}
	ERR_clear_error();
	return 0;
}
