/*
 * acme_jws.c: libFuzzer target for the untrusted input the renewal
 * listener parses before any authentication: the JWS body of every ACME
 * POST (outer and inner: key change, external account binding), the JWK in
 * it, and the CSR intake of finalize/EST (PKCS#10 parsing, the names the
 * order is compared with, and the policy check).
 *
 * The first byte chooses the path; the rest is the input.
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
	return 0;
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
