/*
 * acme.h: the renewal listener of mayflyd: an ACME server (RFC 8555, with
 * RFC 8737 tls-alpn-01, RFC 8738 IP identifiers and RFC 9773 renewal
 * information) and an EST server (RFC 7030 cacerts, simpleenroll,
 * simplereenroll over mutual TLS), on one HTTPS port served by
 * libmicrohttpd.
 *
 * Every certificate it hands out comes from the one issuance path of the
 * CA: the request becomes a struct mf_request, mf_policy_check() approves
 * it, mf_issuer_issue() signs and logs it. The listener reaches that path
 * only through struct mf_acme_issuer: in mayflyd a request to the signer
 * process (the listener then holds no key handle at all), in the
 * standalone mayfly-acme-server an issuer in the same process. The
 * listener adds only what the protocols need on top: who may ask
 * (accounts, authorisations, enrolment credentials) and for which names.
 *
 * Protocol state (accounts, orders, authorisations, challenges, nonces,
 * used enrolment tokens) lives in the CA's SQLite database, in the tables
 * of sql/200-acme.sql.
 */
#ifndef MF_ACME_H
#define MF_ACME_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keystore.h"

struct mf_acme;

/* Largest CSR (DER) the listener passes on for signing. */
#define MF_ACME_CSR_MAX		16384
/* Longest profile name and requester string passed on. */
#define MF_ACME_PROFILE_MAX	64
#define MF_ACME_REQUESTER_MAX	128

/*
 * How the listener gets a certificate signed. issue() must run the policy
 * check itself (the listener's own check is only for early, precise
 * errors), sign, and commit the record to the issuance log before it
 * returns 0; the listener sends the certificate as soon as it returns.
 * csr is DER (at most MF_ACME_CSR_MAX bytes); lifetime 0 means the
 * profile's default; not_before is the notBefore asked for in unix seconds
 * (mf_request.not_before), 0 for the issuance time less
 * issuance.backdate. On success *cert is the certificate DER, malloc'ed,
 * the caller frees it; on failure a code from mferr.h and a reason in why.
 * Called from several threads at once.
 */
struct mf_acme_issuer {
	int (*issue)(void *arg, const unsigned char *csr, size_t csr_len, const char *profile,
	    const char *requester, int64_t lifetime, int64_t not_before, unsigned char **cert,
	    size_t *cert_len, char *why, size_t whylen);
	void *arg;
};

/*
 * Opens the database, reads the issuing CA's certificates (no key), gets
 * or self-issues (through iss) the TLS certificate, binds
 * cfg->acme.host:port and starts serving. cfg and iss->arg are borrowed
 * and must outlive the listener; *iss is copied. *out is freed by
 * mf_acme_stop(). The settings are those of the acme: section (struct
 * mf_acme_conf in config.h, mayfly-acme(7)).
 */
int mf_acme_start_with(const struct mf_config *cfg, const struct mf_acme_issuer *iss,
    struct mf_acme **out);

/*
 * The same with an issuer in this process, keys through ks (borrowed for
 * the listener's life): for the standalone mayfly-acme-server and tests.
 */
int mf_acme_start(const struct mf_config *cfg, struct mf_keystore *ks, struct mf_acme **out);

/* Stops serving, waits for running challenge checks, frees everything. NULL ok. */
void mf_acme_stop(struct mf_acme *a);

/* The port actually bound (useful with port 0). */
unsigned mf_acme_port(const struct mf_acme *a);

#endif
