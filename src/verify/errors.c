/*
 * errors.c - names and descriptions of the libmayfly-verify error codes.
 *
 * The names are stable identifiers for logs and scripts (the enum name
 * without its MFV_ERR_ prefix; mayfly-verify prints "MFV_ERR_<name>"); the
 * descriptions are for people.  All of it is one packed string walked at
 * run time, because on a device these strings are the largest constant in
 * the library and an array of pointers would add four bytes per code.  A
 * firmware build may define MFV_NO_ERROR_TEXT to drop the descriptions
 * (mfv_strerror() then returns the name).
 */
#include "mayfly_verify.h"

#ifdef MFV_NO_ERROR_TEXT
#define E(name, text) name "\0"
#define PER_CODE 1
#else
#define E(name, text) name "\0" text "\0"
#define PER_CODE 2
#endif

/* In the order of the codes: 0, -1, -2, ... */
static const char errtab[] =
	E("OK", "success")
	E("INVALID_ARG", "bad call: NULL, bad length")
	E("TOO_MANY", "a MFV_MAX_* limit was hit")
	E("DER_TRUNCATED", "a length runs past the end")
	E("DER_TRAILING", "bytes after the end of a value")
	E("DER_LENGTH", "non-minimal or indefinite length")
	E("DER_TAG", "unexpected or multi-byte tag")
	E("DER_VALUE", "malformed content (BOOLEAN, BIT STRING...)")
	E("BAD_INTEGER", "non-minimal or out-of-range INTEGER")
	E("BAD_SERIAL", "negative, empty or > 20-octet serial")
	E("BAD_TIME", "malformed UTCTime/GeneralizedTime")
	E("BAD_VERSION", "not an X.509 v3 certificate")
	E("CERT_TOO_LARGE", "certificate above MFV_MAX_CERT_SIZE")
	E("UNSUPPORTED_ALG", "signature or key algorithm not supported")
	E("SIG_ALG_MISMATCH", "inner and outer algorithm differ, or key/alg mismatch")
	E("BAD_KEY", "malformed public key")
	E("WEAK_KEY", "RSA modulus outside 2048..4096 bits")
	E("BAD_SIGNATURE", "a certificate signature does not verify")
	E("UNTRUSTED_ROOT", "path ends in a self-issued cert not pinned")
	E("ISSUER_NOT_FOUND", "path ends: no issuer among the certs given")
	E("EXPIRED", "now (or the LKGT) is after notAfter")
	E("NOT_YET_VALID", "now is before notBefore")
	E("LIFETIME_TOO_LONG", "leaf notAfter - notBefore above the cap")
	E("NOT_CA", "issuer lacks basicConstraints cA TRUE")
	E("PATH_LEN", "pathLenConstraint exceeded")
	E("LEAF_IS_CA", "the leaf is a CA certificate")
	E("KEY_USAGE", "keyUsage forbids this use")
	E("EKU", "extendedKeyUsage lacks the purpose")
	E("NAME_MISMATCH", "host/IP not in subjectAltName")
	E("UNSUPPORTED_CRITICAL_EXT", "a critical extension we do not process")
	E("NAME_CONSTRAINTS", "name constraints present (unsupported)")
	E("DUPLICATE_EXT", "the same extension twice")
	E("CHAIN_TOO_LONG", "path longer than MFV_MAX_PATH")
	E("OCSP_MALFORMED", "the staple is not a valid BasicOCSPResponse")
	E("OCSP_STATUS", "responseStatus is not successful")
	E("OCSP_NO_MATCH", "no SingleResponse for this leaf")
	E("OCSP_RESPONDER", "signer is not the issuer nor an authorised responder")
	E("OCSP_BAD_SIGNATURE", "the response signature does not verify")
	E("OCSP_REVOKED", "the leaf is revoked")
	E("OCSP_UNKNOWN", "the responder does not know the leaf")
	E("OCSP_STALE", "nextUpdate passed or absent")
	E("OCSP_FUTURE", "thisUpdate is in the future")
	E("OCSP_REQUIRED", "must-staple leaf without a staple")
	E("BACKEND", "the crypto backend failed")
	E("BUNDLE_MALFORMED", "trust bundle does not parse")
	E("BUNDLE_VERSION", "bundle version not above the current one")
	E("BUNDLE_SIGNER", "bundle signed by a key not trusted")
	E("BUNDLE_THRESHOLD", "too few valid bundle signatures")
	E("BUNDLE_EXPIRED", "bundle past its expiry")
	E("NO_ROOTS", "trust store empty");

static const char *
nth(int err, int which)
{
	const char *p = errtab;
	int i;

	if (err > 0 || err < MFV_ERR_LAST)
		return which == 0 ? "UNKNOWN" : "unknown error";
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
