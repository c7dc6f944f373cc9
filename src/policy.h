/*
 * policy.h: the one place that decides what the CA may sign.
 *
 * Every issuance path (CLI, ACME, EST, API) turns its request into a
 * struct mf_request and calls mf_policy_check(); only an mf_approved that
 * comes out of it can reach the issuer. The checks, each with its own error
 * code (mferr.h):
 *   - the CSR parses and its self-signature verifies;
 *   - the key is EC P-256/P-384, Ed25519 or RSA >= max(2048, profile
 *     minimum), and its type is allowed by the profile;
 *   - the CSR asks for neither CA:TRUE nor keyCertSign/cRLSign;
 *   - there is at least one name, no name twice, every name is a valid DNS
 *     name or IP address inside the profile's patterns;
 *   - the lifetime is positive, <= the profile maximum and <= the hard cap.
 *
 * DNS patterns in a profile: "host.example.com" allows exactly that name;
 * ".example.com" allows any name strictly below example.com. A wildcard
 * "*.a.example.com" (only as the whole left-most label) is allowed when the
 * profile has wildcard: true and a.example.com's children are allowed.
 * Names are compared in lower case; a trailing dot is refused.
 * Names come from the CSR's subjectAltName extension; if the CSR has none,
 * its subject CN is taken as a single DNS name.
 */
#ifndef MF_POLICY_H
#define MF_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "config.h"

struct mf_request {
	X509_REQ *csr;			/* borrowed */
	const char *profile;		/* NULL: "server" */
	int64_t lifetime;		/* seconds; 0: the profile default */
	const char *requester;		/* for the log, e.g. "cli:alice" */
	/*
	 * Non-zero: the CSR's self-signature is not verified. Only for an
	 * early check whose CSR then goes to an issuer that runs the full
	 * check itself (the renewal listener before the signer process), so
	 * that each issuance pays for one verification, at the trust boundary.
	 * Never on a path that signs.
	 */
	int skip_signature;
};

#define MF_NAME_DNS	1
#define MF_NAME_IP	2

struct mf_name {
	int type;			/* MF_NAME_DNS or MF_NAME_IP */
	char *dns;			/* lower-case, for DNS */
	unsigned char ip[16];		/* for IP */
	size_t iplen;			/* 4 or 16 */
};

struct mf_approved {
	const struct mf_profile *profile;	/* borrowed from the config */
	EVP_PKEY *pubkey;		/* owned */
	X509_PUBKEY *spki;		/* owned: the CSR's key as sent, for the leaf; may be NULL */
	struct mf_name *names;		/* owned, in CSR order, filtered and validated */
	size_t nnames;
	int64_t lifetime;		/* seconds, within every cap */
	unsigned char csr_sha256[32];	/* SHA-256 of the CSR DER */
	char *requester;		/* owned copy */
};

/*
 * Checks req against cfg. On success *out is a new mf_approved (free with
 * mf_approved_free). On refusal returns the specific code and writes a
 * one-line explanation naming the offending value into why.
 */
int mf_policy_check(const struct mf_config *cfg, const struct mf_request *req,
    struct mf_approved **out, char *why, size_t whylen);
void mf_approved_free(struct mf_approved *a);

/*
 * Copies src's algorithm and key bits into dst without decoding the key
 * (the leaf takes the CSR's SubjectPublicKeyInfo verbatim).
 */
int mf_spki_copy(X509_PUBKEY *dst, const X509_PUBKEY *src);

/*
 * Reads a CSR from PEM or DER bytes; MF_ERR_CSR_PARSE. Caller frees. For
 * EC (named curve) and Ed25519 keys the key is not decoded while parsing
 * (OpenSSL 3.0 makes that the costliest step), so X509_REQ_get0_pubkey()
 * may be NULL: take the key with mf_csr_pubkey().
 */
int mf_csr_parse(const unsigned char *buf, size_t len, X509_REQ **out);

/* The CSR's public key (a new reference), or NULL if it makes no key. */
EVP_PKEY *mf_csr_pubkey(X509_REQ *csr);

/*
 * The syntax check of names that mf_policy_check() applies (DNS: LDH labels,
 * lengths, no trailing dot, wildcard only as the whole left-most label and
 * only if the profile allows it), for a name that does not come from a CSR
 * (ACME identifiers). MF_OK, or MF_ERR_NAME_SYNTAX / MF_ERR_WILDCARD with a
 * reason in why. It does not check the profile's patterns: see below.
 */
int mf_policy_name_syntax(const struct mf_profile *prof, const struct mf_name *n, char *why,
    size_t whylen);

/* True if name is allowed by profile (exported for ACME identifier checks). */
int mf_policy_name_allowed(const struct mf_profile *p, const struct mf_name *n);

#endif
