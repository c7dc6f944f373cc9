/*
 * errors.c - names and descriptions of the libmayfly-verify error codes.
 *
 * The names are stable identifiers for logs and scripts (the enum names,
 * "MFV_ERR_EXPIRED"); the descriptions are for people.  All of it is one packed string walked at
 * run time, because on a device these strings are the largest constant in
 * the library and an array of pointers would add four bytes per code.  A
 * firmware build may define MFV_NO_ERROR_TEXT to drop the descriptions
 * (mfv_strerror() then returns the name), or MFV_NO_ERROR_STRINGS to drop
 * names too (both functions then return "MFV_ERR"; log the number).
 */
#include "mayfly_verify.h"

#ifdef MFV_NO_ERROR_STRINGS
const char *
mfv_errname(int err)
{
	(void)err;
	return "MFV_ERR";
}

const char *
mfv_strerror(int err)
{
	(void)err;
	return "MFV_ERR";
}
#else
#ifdef MFV_NO_ERROR_TEXT
#define E(name, text) name "\0"
#define PER_CODE 1
#else
#define E(name, text) name "\0" text "\0"
#define PER_CODE 2
#endif

/* In the order of the codes: 0, -1, -2, ... */
static const char errtab[] =
	E("MFV_OK", "success")
	E("MFV_ERR_INVALID_ARG", "bad call: NULL, bad length")
	E("MFV_ERR_TOO_MANY", "a MFV_MAX_* limit was hit")
	E("MFV_ERR_DER_TRUNCATED", "a length runs past the end")
	E("MFV_ERR_DER_TRAILING", "bytes after the end of a value")
	E("MFV_ERR_DER_LENGTH", "non-minimal or indefinite length")
	E("MFV_ERR_DER_TAG", "unexpected or multi-byte tag")
	E("MFV_ERR_DER_VALUE", "malformed content (BOOLEAN, BIT STRING...)")
	E("MFV_ERR_BAD_INTEGER", "non-minimal or out-of-range INTEGER")
	E("MFV_ERR_BAD_SERIAL", "negative, empty or > 20-octet serial")
	E("MFV_ERR_BAD_TIME", "malformed UTCTime/GeneralizedTime")
	E("MFV_ERR_BAD_VERSION", "not an X.509 v3 certificate")
	E("MFV_ERR_CERT_TOO_LARGE", "certificate above MFV_MAX_CERT_SIZE")
	E("MFV_ERR_UNSUPPORTED_ALG", "signature or key algorithm not supported")
	E("MFV_ERR_SIG_ALG_MISMATCH", "inner and outer algorithm differ, or key/alg mismatch")
	E("MFV_ERR_BAD_KEY", "malformed public key")
	E("MFV_ERR_WEAK_KEY", "RSA modulus outside 2048..4096 bits")
	E("MFV_ERR_BAD_SIGNATURE", "a certificate signature does not verify")
	E("MFV_ERR_UNTRUSTED_ROOT", "path ends in a self-issued cert not pinned")
	E("MFV_ERR_ISSUER_NOT_FOUND", "path ends: no issuer among the certs given")
	E("MFV_ERR_EXPIRED", "now (or the LKGT) is after notAfter")
	E("MFV_ERR_NOT_YET_VALID", "now is before notBefore")
	E("MFV_ERR_LIFETIME_TOO_LONG", "leaf notAfter - notBefore above the cap")
	E("MFV_ERR_NOT_CA", "issuer lacks basicConstraints cA TRUE")
	E("MFV_ERR_PATH_LEN", "pathLenConstraint exceeded")
	E("MFV_ERR_LEAF_IS_CA", "the leaf is a CA certificate")
	E("MFV_ERR_KEY_USAGE", "keyUsage forbids this use")
	E("MFV_ERR_EKU", "extendedKeyUsage lacks the purpose")
	E("MFV_ERR_NAME_MISMATCH", "host/IP not in subjectAltName")
	E("MFV_ERR_UNSUPPORTED_CRITICAL_EXT", "a critical extension we do not process")
	E("MFV_ERR_NAME_CONSTRAINTS", "name constraints present (unsupported)")
	E("MFV_ERR_DUPLICATE_EXT", "the same extension twice")
	E("MFV_ERR_CHAIN_TOO_LONG", "path longer than MFV_MAX_PATH")
	E("MFV_ERR_OCSP_MALFORMED", "the staple is not a valid BasicOCSPResponse")
	E("MFV_ERR_OCSP_STATUS", "responseStatus is not successful")
	E("MFV_ERR_OCSP_NO_MATCH", "no SingleResponse for this leaf")
	E("MFV_ERR_OCSP_RESPONDER", "signer is not the issuer nor an authorised responder")
	E("MFV_ERR_OCSP_BAD_SIGNATURE", "the response signature does not verify")
	E("MFV_ERR_OCSP_REVOKED", "the leaf is revoked")
	E("MFV_ERR_OCSP_UNKNOWN", "the responder does not know the leaf")
	E("MFV_ERR_OCSP_STALE", "nextUpdate passed or absent")
	E("MFV_ERR_OCSP_FUTURE", "thisUpdate is in the future")
	E("MFV_ERR_OCSP_REQUIRED", "must-staple leaf without a staple")
	E("MFV_ERR_BACKEND", "the crypto backend failed")
	E("MFV_ERR_BUNDLE_MALFORMED", "trust bundle does not parse")
	E("MFV_ERR_BUNDLE_VERSION", "bundle version not above the current one")
	E("MFV_ERR_BUNDLE_SIGNER", "bundle signed by a key not trusted")
	E("MFV_ERR_BUNDLE_THRESHOLD", "too few valid bundle signatures")
	E("MFV_ERR_BUNDLE_EXPIRED", "bundle past its expiry")
	E("MFV_ERR_NO_ROOTS", "trust store empty")
	E("MFV_ERR_PROFILE", "breaks an RFC 5280 / Baseline Requirements profile rule");

static const char *
nth(int err, int which)
{
	const char *p = errtab;
	int i;

	if (err > 0 || err < MFV_ERR_LAST)
		return which == 0 ? "MFV_ERR_UNKNOWN" : "unknown error";
	for (i = -err * PER_CODE + which; i > 0; i--)
		while (*p++ != '\0')
			;
	return p;
}

const char *
mfv_errname(int err)
{
	return nth(err, 0);
}

const char *
mfv_strerror(int err)
{
	return nth(err, PER_CODE - 1);
}
#endif /* MFV_NO_ERROR_STRINGS */
