/*
 * fuzz_csr.c: libFuzzer target for the CSR parser and the policy gate, the
 * first code that touches a CSR arriving over ACME or EST.
 *
 * The input is a CSR (PEM or DER). A fuzzer cannot forge signatures, so
 * when the input's last byte is odd the parsed CSR is signed again with a
 * fixed key before the policy runs: that lets mutated extensions, names and
 * subjects reach every check behind the signature. Whatever the policy
 * approves must satisfy the profile, or the target aborts.
 *
 *   make fuzz-smoke-policy        (clang, ASan+UBSan, 20 s on tests/data/csr)
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "config.h"
#include "mferr.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *resign_key;
static struct mf_config cfg;
static struct mf_profile prof[2];
static struct mf_iprange ip[2];
static char *dns_server[] = { "host.example.com", ".example.net" };
static char *dns_wild[] = { ".example.org" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((resign_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	ip[0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.0", ip[0].addr);
	ip[0].prefix = 24;
	ip[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::", ip[1].addr);
	ip[1].prefix = 32;
	prof[0].name = "server";
	prof[0].key_types = MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_RSA | MF_KT_ED25519;
	prof[0].rsa_min_bits = 2048;
	prof[0].dns = dns_server;
	prof[0].ndns = 2;
	prof[0].ip = ip;
	prof[0].nip = 2;
	prof[0].eku = MF_EKU_SERVER;
	prof[0].default_lifetime = 86400;
	prof[0].max_lifetime = 86400;
	prof[1] = prof[0];
	prof[1].name = "wild";
	prof[1].dns = dns_wild;
	prof[1].ndns = 1;
	prof[1].wildcard = 1;
	cfg.profiles = prof;
	cfg.nprofiles = 2;
	cfg.hard_cap = 86400;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_request req = { NULL, NULL, 0, "fuzz", 0 };
	struct mf_approved *a = NULL;
	char why[256];
	size_t i;
	int rc;

	if (mf_csr_parse(data, size, &req.csr) != MF_OK)
		return 0;
	if (data[size - 1] & 1) {
		if (X509_REQ_sign(req.csr, resign_key, EVP_sha256()) <= 0)
			ERR_clear_error();
	}
	req.profile = (data[size - 1] & 2) ? "wild" : NULL;
	rc = mf_policy_check(&cfg, &req, &a, why, sizeof(why));
	if (rc > 0 || strchr(why, '\n') != NULL)
		abort();
	if (rc == MF_OK) {
		if (a == NULL || a->nnames == 0 || a->lifetime <= 0 || a->lifetime > MF_HARD_CAP_MAX)
			abort();
		for (i = 0; i < a->nnames; i++)
			if (!mf_policy_name_allowed(a->profile, &a->names[i]))
				abort();
	} else if (a != NULL) {
		abort();
	}
	mf_approved_free(a);
	X509_REQ_free(req.csr);
	ERR_clear_error();
	return 0;
}
