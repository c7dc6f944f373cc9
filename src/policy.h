/*
 * policy.h: the one place that decides what the CA may sign.
 *
 * Every issuance path (CLI, ACME, EST, API) turns its request into a
 * struct mf_request and calls mf_policy_check(); only an mf_approved that
 * comes out of it can reach the issuer. The checks, each with its own error
 * code (mferr.h):
 *   - the CSR parses and its self-signature verifies, made with SHA-256
 *     or better (or EdDSA, RSASSA-PSS);
 *   - the key is EC P-256/P-384 on a named curve, Ed25519 or RSA >=
 *     max(2048, profile minimum) with an odd exponent >= 65537, and its
 *     type is allowed by the profile;
 *   - the CSR asks for neither CA:TRUE nor keyCertSign/cRLSign, for no
 *     CA-only, policy or unknown extension (critical or not) and for no
 *     extension twice (mf_check_exts() in policy.c lists what is ignored);
 *   - there is at least one name, no name twice, every name is a valid DNS
 *     name or IP address inside the profile's patterns;
 *   - the lifetime is positive, <= the profile maximum and <= the hard cap;
 *   - a requested notBefore is no further ahead than issuance.forward-horizon
 *     (MF_ERR_NOT_BEFORE_FUTURE) and no further back than issuance.backdate
 *     (MF_ERR_NOT_BEFORE_PAST). A forward-dated certificate is still at
 *     most the cap long: its notAfter is notBefore + lifetime.
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
	/*
	 * The notBefore asked for, in unix seconds (CLI --not-before, ACME
	 * newOrder notBefore), or 0: the issuance time less issuance.backdate.
	 * Judged against now (0: time(NULL)). New fields go last, so that
	 * positional initialisers leave them 0.
	 */
	int64_t not_before;
	int64_t now;
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
	int64_t not_before;		/* 0: at issuance, backdated; else the exact notBefore */
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

/*
 * The notBefore rule alone, for a caller that must refuse early (ACME
 * newOrder, RFC 8555 7.4): 0 if not_before (unix seconds) is within
 * [now - issuance.backdate, now + issuance.forward-horizon], else
 * MF_ERR_NOT_BEFORE_FUTURE or MF_ERR_NOT_BEFORE_PAST with a one-line why.
 * not_before 0 means "not asked for" and is always 0.
 */
int mf_policy_not_before(const struct mf_config *cfg, int64_t not_before, int64_t now,
    char *why, size_t whylen);

/*
 * Parses an RFC 3339 date-time with seconds and a zone, "2026-12-05T10:00:00Z"
 * or "...+02:00" (a fraction of a second is accepted and dropped), into unix
 * seconds: the form of ACME's notBefore/notAfter and of `mayfly issue
 * --not-before`. MF_ERR_INVAL for anything else, including a day that does
 * not exist.
 */
int mf_time_rfc3339(const char *s, int64_t *out);

/* True if name is allowed by profile (exported for ACME identifier checks). */
int mf_policy_name_allowed(const struct mf_profile *p, const struct mf_name *n);

#endif
