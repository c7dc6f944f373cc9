/*
 * mferr.c: names and sentences for the codes in mferr.h. One table, so the
 * token printed by the CLI, logged by the daemon and documented in mayfly(1)
 * cannot drift apart.
 */
#include <stddef.h>

#include "mferr.h"

struct mf_errdesc {
	int code;
	const char *name;
	const char *text;
};

static const struct mf_errdesc mf_errtab[] = {
	{ MF_OK, "ok", "success" },
	{ MF_ERR_NOMEM, "no-memory", "out of memory" },
	{ MF_ERR_INVAL, "invalid-argument", "invalid argument" },
	{ MF_ERR_IO, "io", "input/output error" },
	{ MF_ERR_NOTFOUND, "not-found", "not found" },
	{ MF_ERR_EXISTS, "exists", "already exists; refusing to overwrite" },
	{ MF_ERR_CRYPTO, "crypto", "cryptographic operation failed" },
	{ MF_ERR_INTERNAL, "internal", "internal error" },
	{ MF_ERR_NOTIMPL, "not-implemented", "not implemented" },
	{ MF_ERR_PERM, "permissions", "file permissions are too open" },
	{ MF_ERR_FAULT, "injected-fault", "test fault injected" },

	{ MF_ERR_CONFIG, "config", "configuration file unreadable or invalid" },
	{ MF_ERR_CONFIG_KEY, "config-unknown-key", "unknown configuration key" },
	{ MF_ERR_CONFIG_VALUE, "config-bad-value", "bad configuration value" },
	{ MF_ERR_CONFIG_MISSING, "config-missing-key", "required configuration key missing" },
	{ MF_ERR_DURATION, "bad-duration", "not a duration (write e.g. 24h, 90m, 20y)" },

	{ MF_ERR_KEY_URI, "key-uri", "key URI is not file:PATH or pkcs11:..." },
	{ MF_ERR_KEY_LOAD, "key-load", "key could not be loaded" },
	{ MF_ERR_KEY_PERMS, "key-permissions", "key file is readable by group or others" },
	{ MF_ERR_HSM, "hsm-unavailable", "HSM token or PKCS#11 module unavailable" },
	{ MF_ERR_PIN, "pin", "PIN unavailable or refused" },
	{ MF_ERR_KEYGEN, "keygen", "key generation failed" },
	{ MF_ERR_KEYTYPE, "key-type", "key type unknown or unsupported" },

	{ MF_ERR_DB, "database", "database error" },
	{ MF_ERR_DB_SCHEMA, "database-schema", "database schema newer than this program, or migration failed" },
	{ MF_ERR_DB_BUSY, "database-busy", "database busy" },
	{ MF_ERR_SERIAL_DUP, "serial-duplicate", "serial number already in the issuance log" },
	{ MF_ERR_DB_UNAVAILABLE, "database-unavailable", "database server unreachable" },
	{ MF_ERR_DB_FULL, "database-full", "database disk full" },
	{ MF_ERR_DB_READONLY, "database-read-only", "database is read-only" },
	{ MF_ERR_AUDIT_CHAIN, "audit-chain-broken", "audit log hash chain broken" },
	{ MF_ERR_REVOKED, "already-revoked", "certificate already revoked" },

	{ MF_ERR_CSR_PARSE, "csr-unparsable", "CSR could not be parsed" },
	{ MF_ERR_CSR_SIGNATURE, "csr-bad-signature", "CSR self-signature does not verify" },
	{ MF_ERR_LIFETIME_CAP, "lifetime-above-cap", "requested lifetime exceeds the hard cap" },
	{ MF_ERR_LIFETIME_PROFILE, "lifetime-above-profile-max", "requested lifetime exceeds the profile maximum" },
	{ MF_ERR_LIFETIME_INVALID, "lifetime-invalid", "lifetime must be positive" },
	{ MF_ERR_NAME_POLICY, "name-not-allowed", "name not allowed by the profile" },
	{ MF_ERR_NAME_EMPTY, "no-names", "no subject alternative names requested" },
	{ MF_ERR_NAME_DUP, "duplicate-name", "the same name is requested twice" },
	{ MF_ERR_NAME_SYNTAX, "bad-name", "not a valid DNS name or IP address" },
	{ MF_ERR_WILDCARD, "wildcard-not-allowed", "wildcard not allowed or malformed" },
	{ MF_ERR_KEY_WEAK, "key-too-weak", "RSA key smaller than the minimum size" },
	{ MF_ERR_KEY_CURVE, "key-bad-curve", "elliptic curve not allowed (P-256, P-384 only)" },
	{ MF_ERR_KEY_ALG, "key-type-not-allowed", "key algorithm not allowed by the profile" },
	{ MF_ERR_CSR_CA, "csr-requests-ca", "CSR requests a CA certificate" },
	{ MF_ERR_CSR_KEYCERTSIGN, "csr-requests-keycertsign", "CSR requests keyCertSign or cRLSign" },
	{ MF_ERR_PROFILE, "unknown-profile", "unknown profile" },
	{ MF_ERR_CSR_EXTENSION, "csr-bad-extension", "CSR requests an extension the CA will not grant" },
	{ MF_ERR_NOT_BEFORE_FUTURE, "not-before-beyond-horizon",
	    "notBefore is further ahead than issuance.forward-horizon allows" },
	{ MF_ERR_NOT_BEFORE_PAST, "not-before-in-past",
	    "notBefore is further back than issuance.backdate allows" },

	{ MF_ERR_SIGN, "sign-failed", "signing failed" },
	{ MF_ERR_CA_NOTFOUND, "ca-not-found", "no such root or intermediate" },
	{ MF_ERR_CA_EXPIRED, "ca-not-valid", "issuing CA is not valid for the requested period" },
	{ MF_ERR_CA_MISMATCH, "ca-key-mismatch", "key does not match the CA certificate" },
	{ MF_ERR_ALREADY_INIT, "already-initialised", "a mayfly setup already exists there" },
	{ MF_ERR_CA_REVOKED, "ca-revoked", "the issuing CA's certificate is revoked" },

	{ MF_ERR_HTTP, "http", "HTTP server error" },
	{ MF_ERR_OCSP_MALFORMED, "ocsp-malformed", "malformed OCSP request" },
	{ MF_ERR_OCSP_UNAUTHORIZED, "ocsp-unauthorized", "OCSP request for an issuer this CA does not serve" },
	{ MF_ERR_SIGNER, "signer-unavailable", "signer process unavailable" },
	{ MF_ERR_AUTH, "unauthorized", "missing or bad credentials" },

	{ MF_ERR_ACME, "acme", "ACME protocol error" },
	{ MF_ERR_ACME_MALFORMED, "acme-malformed", "ACME request malformed" },
	{ MF_ERR_ACME_BADNONCE, "acme-bad-nonce", "ACME nonce unknown, used or expired" },
	{ MF_ERR_ACME_BADALG, "acme-bad-algorithm", "JWS algorithm not supported" },
	{ MF_ERR_ACME_UNAUTHORIZED, "acme-unauthorized", "not authorised for this resource" },
	{ MF_ERR_ACME_NOACCOUNT, "acme-no-account", "ACME account does not exist" },
	{ MF_ERR_ACME_BADCSR, "acme-bad-csr", "CSR unacceptable for this order" },
	{ MF_ERR_ACME_NOTREADY, "acme-order-not-ready", "order is not ready for finalization" },
	{ MF_ERR_ACME_RATELIMIT, "rate-limited", "rate limit exceeded" },
	{ MF_ERR_ACME_REJECTEDID, "acme-rejected-identifier", "identifier refused by policy" },
	{ MF_ERR_ACME_EAB, "acme-external-account", "external account binding missing or invalid" },
	{ MF_ERR_ACME_BADKEY, "acme-bad-public-key", "account key unacceptable" },
	{ MF_ERR_ACME_CHALLENGE, "acme-incorrect-response", "challenge response incorrect" },
	{ MF_ERR_ACME_CONNECTION, "acme-connection", "could not connect to the challenge responder" },
	{ MF_ERR_ACME_TOOLARGE, "request-too-large", "request body above the limit" },
	{ MF_ERR_ACME_REVOKED, "acme-already-revoked", "certificate already revoked" },
	{ MF_ERR_ACME_BADREASON, "acme-bad-revocation-reason", "revocation reason not allowed" },
	{ MF_ERR_ACME_UNSUPPORTEDID, "acme-unsupported-identifier", "identifier type not supported" },
	{ MF_ERR_ACME_CONFLICT, "acme-conflict", "key already in use or certificate already replaced" },
	{ MF_ERR_ACME_SIGNATURE, "acme-bad-signature", "JWS signature does not verify" },
	{ MF_ERR_EST_AUTH, "est-unauthorized", "EST client not authenticated" },
	{ MF_ERR_EST_NAMES, "est-new-name", "re-enrolment asks for a name not in the current certificate" },

	{ MF_ERR_BUNDLE_MALFORMED, "bundle-malformed", "not a trust bundle (mayfly-bundle(5)) in strict DER" },
	{ MF_ERR_BUNDLE_VERSION, "bundle-version-not-above", "bundle version not above the published one" },
	{ MF_ERR_BUNDLE_SIGNER, "bundle-no-trusted-signer", "no signature by a root the previous version trusts" },
	{ MF_ERR_BUNDLE_THRESHOLD, "bundle-too-few-signatures", "fewer signatures than the previous version's threshold" },
	{ MF_ERR_BUNDLE_SIGNATURE, "bundle-bad-signature", "a signature by a trusted root does not verify" },
	{ MF_ERR_BUNDLE_ROOT_UNKNOWN, "bundle-unknown-root", "the bundle lists a root this CA does not know" },
	{ MF_ERR_BUNDLE_EXPIRED, "bundle-expired", "the bundle is past its notAfter" },
	{ MF_ERR_BUNDLE_SIGNED, "bundle-already-signed", "this root has signed the bundle already" },
};

static const struct mf_errdesc *
mf_errfind(int code)
{
	size_t i;

	for (i = 0; i < sizeof(mf_errtab) / sizeof(mf_errtab[0]); i++)
		if (mf_errtab[i].code == code)
			return &mf_errtab[i];
	return NULL;
}

const char *
mf_strerror(int code)
{
	const struct mf_errdesc *d = mf_errfind(code);

	return d ? d->text : "unknown error";
}

const char *
mf_errname(int code)
{
	const struct mf_errdesc *d = mf_errfind(code);

	return d ? d->name : "unknown";
}
