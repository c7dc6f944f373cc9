/*
 * mferr.h: the one error enum of the mayfly CA core (daemon and CLI).
 *
 * Every function returns 0 (MF_OK) on success or one of these negative codes;
 * results travel through out-parameters. Each policy refusal has its own code,
 * so a caller (CLI exit message, ACME problem document, log line) can say
 * exactly why a request was refused. mf_errname() gives a short stable token
 * for logs and scripts; mf_strerror() a sentence for people.
 *
 * Codes are grouped by module in ranges of twenty; add new codes inside the
 * owning module's range and to the table in mferr.c.
 */
#ifndef MF_MFERR_H
#define MF_MFERR_H

enum mf_err {
	MF_OK = 0,

	/* generic: -1 .. -19 */
	MF_ERR_NOMEM = -1,
	MF_ERR_INVAL = -2,		/* bad argument from the caller */
	MF_ERR_IO = -3,			/* file or socket I/O failed */
	MF_ERR_NOTFOUND = -4,
	MF_ERR_EXISTS = -5,		/* refusing to overwrite */
	MF_ERR_CRYPTO = -6,		/* an OpenSSL call failed */
	MF_ERR_INTERNAL = -7,
	MF_ERR_NOTIMPL = -8,
	MF_ERR_PERM = -9,		/* file permissions too open */
	MF_ERR_FAULT = -10,		/* a test-only injected fault fired */

	/* config: -20 .. -39 */
	MF_ERR_CONFIG = -20,		/* config file unreadable or not YAML */
	MF_ERR_CONFIG_KEY = -21,	/* unknown key */
	MF_ERR_CONFIG_VALUE = -22,	/* bad value for a known key */
	MF_ERR_CONFIG_MISSING = -23,	/* a required key is absent */
	MF_ERR_DURATION = -24,		/* not a duration like 24h, 90m, 20y */

	/* keystore: -40 .. -59 */
	MF_ERR_KEY_URI = -40,		/* not file:PATH or pkcs11:... */
	MF_ERR_KEY_LOAD = -41,		/* key could not be loaded */
	MF_ERR_KEY_PERMS = -42,		/* key file readable by group/world */
	MF_ERR_HSM = -43,		/* token or module unavailable */
	MF_ERR_PIN = -44,		/* PIN source unreadable or PIN refused */
	MF_ERR_KEYGEN = -45,		/* key generation failed */
	MF_ERR_KEYTYPE = -46,		/* key type unknown or unsupported by the token */

	/* database and audit log: -60 .. -79 */
	MF_ERR_DB = -60,
	MF_ERR_DB_SCHEMA = -61,		/* schema newer than this binary, or migration failed */
	MF_ERR_DB_BUSY = -62,
	MF_ERR_SERIAL_DUP = -63,	/* serial already in the log */
	MF_ERR_AUDIT_CHAIN = -64,	/* audit hash chain broken */
	MF_ERR_REVOKED = -65,		/* certificate already revoked */
	MF_ERR_DB_FULL = -66,		/* the database's disk is full: retry later */
	MF_ERR_DB_READONLY = -67,	/* the database cannot be written (read-only): retry later */
	MF_ERR_DB_UNAVAILABLE = -68,	/* the database server cannot be reached: retry later */

	/* policy: -80 .. -109 (each refusal distinct) */
	MF_ERR_CSR_PARSE = -80,		/* CSR is not valid PEM/DER */
	MF_ERR_CSR_SIGNATURE = -81,	/* CSR self-signature does not verify */
	MF_ERR_LIFETIME_CAP = -82,	/* lifetime above the hard cap */
	MF_ERR_LIFETIME_PROFILE = -83,	/* lifetime above the profile's maximum */
	MF_ERR_LIFETIME_INVALID = -84,	/* zero or negative lifetime */
	MF_ERR_NAME_POLICY = -85,	/* a name outside the profile's patterns */
	MF_ERR_NAME_EMPTY = -86,	/* no names requested */
	MF_ERR_NAME_DUP = -87,		/* the same name twice */
	MF_ERR_NAME_SYNTAX = -88,	/* not a valid DNS name or IP address */
	MF_ERR_WILDCARD = -89,		/* wildcard not allowed or malformed */
	MF_ERR_KEY_WEAK = -90,		/* RSA key below the minimum size */
	MF_ERR_KEY_CURVE = -91,		/* EC curve not P-256/P-384 */
	MF_ERR_KEY_ALG = -92,		/* key algorithm not allowed by the profile */
	MF_ERR_CSR_CA = -93,		/* CSR asks for basicConstraints CA:TRUE */
	MF_ERR_CSR_KEYCERTSIGN = -94,	/* CSR asks for keyCertSign/cRLSign */
	MF_ERR_PROFILE = -95,		/* unknown profile */
	MF_ERR_CSR_EXTENSION = -96,	/* CSR requests an extension the CA will not copy */
	MF_ERR_NOT_BEFORE_FUTURE = -97,	/* notBefore beyond issuance.forward-horizon */
	MF_ERR_NOT_BEFORE_PAST = -98,	/* notBefore further back than issuance.backdate */

	/* issuer and ceremony: -110 .. -129 */
	MF_ERR_SIGN = -110,		/* signing failed */
	MF_ERR_CA_NOTFOUND = -111,	/* no such root or intermediate */
	MF_ERR_CA_EXPIRED = -112,	/* issuing CA not valid now, or would not cover the leaf */
	MF_ERR_CA_MISMATCH = -113,	/* key does not match certificate */
	MF_ERR_ALREADY_INIT = -114,	/* setup already exists */
	MF_ERR_CA_REVOKED = -115,	/* the issuing CA's certificate is revoked */

	/* daemon: -130 .. -149 */
	MF_ERR_HTTP = -130,
	MF_ERR_OCSP_MALFORMED = -131,
	MF_ERR_OCSP_UNAUTHORIZED = -132,
	MF_ERR_SIGNER = -133,		/* the signer process is gone or refused */
	MF_ERR_AUTH = -134,		/* bad or missing credentials */

	/* acme and est: -150 .. -179 */
	MF_ERR_ACME = -150,
	MF_ERR_ACME_MALFORMED = -151,	/* request not well formed (RFC 8555 malformed) */
	MF_ERR_ACME_BADNONCE = -152,	/* nonce unknown, used or expired */
	MF_ERR_ACME_BADALG = -153,	/* JWS algorithm not supported */
	MF_ERR_ACME_UNAUTHORIZED = -154,	/* not allowed for this account or key */
	MF_ERR_ACME_NOACCOUNT = -155,	/* account does not exist */
	MF_ERR_ACME_BADCSR = -156,	/* CSR unacceptable */
	MF_ERR_ACME_NOTREADY = -157,	/* order not in the ready state */
	MF_ERR_ACME_RATELIMIT = -158,	/* rate limit exceeded */
	MF_ERR_ACME_REJECTEDID = -159,	/* identifier refused by policy */
	MF_ERR_ACME_EAB = -160,		/* external account binding missing or bad */
	MF_ERR_ACME_BADKEY = -161,	/* account key unacceptable */
	MF_ERR_ACME_CHALLENGE = -162,	/* challenge response wrong (incorrectResponse) */
	MF_ERR_ACME_CONNECTION = -163,	/* could not reach the challenge responder */
	MF_ERR_ACME_TOOLARGE = -164,	/* request body above the limit */
	MF_ERR_ACME_REVOKED = -165,	/* certificate already revoked */
	MF_ERR_ACME_BADREASON = -166,	/* revocation reason not allowed */
	MF_ERR_ACME_UNSUPPORTEDID = -167,	/* identifier type not supported */
	MF_ERR_ACME_CONFLICT = -168,	/* key already in use, or certificate already replaced */
	MF_ERR_ACME_SIGNATURE = -169,	/* JWS signature does not verify */
	MF_ERR_EST_AUTH = -170,		/* EST client not authenticated */
	MF_ERR_EST_NAMES = -171,	/* EST re-enrolment asks for a name not in the current certificate */

	/* trust bundles: -180 .. -199 (each refusal distinct) */
	MF_ERR_BUNDLE_MALFORMED = -180,	/* not a trust bundle, or not strict DER */
	MF_ERR_BUNDLE_VERSION = -181,	/* version not above the published one */
	MF_ERR_BUNDLE_SIGNER = -182,	/* no signature by a root trusted by the previous version */
	MF_ERR_BUNDLE_THRESHOLD = -183,	/* fewer valid signatures than the previous version requires */
	MF_ERR_BUNDLE_SIGNATURE = -184,	/* a signature by a trusted root does not verify */
	MF_ERR_BUNDLE_ROOT_UNKNOWN = -185,	/* the bundle lists a root this CA does not know */
	MF_ERR_BUNDLE_EXPIRED = -186,	/* past the bundle's notAfter */
	MF_ERR_BUNDLE_SIGNED = -187,	/* this root has signed the bundle already */

	MF_ERR_MIN_ = -200
};

/* A sentence describing code; never NULL, static storage. */
const char *mf_strerror(int code);

/* A short stable token such as "lifetime-above-cap"; never NULL, static. */
const char *mf_errname(int code);

#endif
