/*
 * errors.c - names and descriptions of the libmayfly-verify error codes.
 *
 * The names are stable identifiers for logs and scripts (mayfly-verify
 * prints them); the descriptions are for people.  One table, indexed by
 * -code, so that adding a code means adding one line here.
 */
#include "mayfly_verify.h"

static const struct {
	const char *name;
	const char *text;
} errtab[] = {
	{ "MFV_OK", "success" },
	{ "MFV_ERR_INVALID_ARG", "bad call: NULL, bad length" },
	{ "MFV_ERR_TOO_MANY", "a MFV_MAX_* limit was hit" },
	{ "MFV_ERR_DER_TRUNCATED", "a length runs past the end" },
	{ "MFV_ERR_DER_TRAILING", "bytes after the end of a value" },
	{ "MFV_ERR_DER_LENGTH", "non-minimal or indefinite length" },
	{ "MFV_ERR_DER_TAG", "unexpected or multi-byte tag" },
	{ "MFV_ERR_DER_VALUE", "malformed content (BOOLEAN, BIT STRING...)" },
	{ "MFV_ERR_BAD_INTEGER", "non-minimal or out-of-range INTEGER" },
	{ "MFV_ERR_BAD_SERIAL", "negative, empty or > 20-octet serial" },
	{ "MFV_ERR_BAD_TIME", "malformed UTCTime/GeneralizedTime" },
	{ "MFV_ERR_BAD_VERSION", "not an X.509 v3 certificate" },
	{ "MFV_ERR_CERT_TOO_LARGE", "certificate above MFV_MAX_CERT_SIZE" },
	{ "MFV_ERR_UNSUPPORTED_ALG", "signature or key algorithm not supported" },
	{ "MFV_ERR_SIG_ALG_MISMATCH", "inner and outer algorithm differ, or key/alg mismatch" },
	{ "MFV_ERR_BAD_KEY", "malformed public key" },
	{ "MFV_ERR_WEAK_KEY", "RSA modulus outside 2048..4096 bits" },
	{ "MFV_ERR_BAD_SIGNATURE", "a certificate signature does not verify" },
	{ "MFV_ERR_UNTRUSTED_ROOT", "path ends in a self-issued cert not pinned" },
	{ "MFV_ERR_ISSUER_NOT_FOUND", "path ends: no issuer among the certs given" },
	{ "MFV_ERR_EXPIRED", "now (or the LKGT) is after notAfter" },
	{ "MFV_ERR_NOT_YET_VALID", "now is before notBefore" },
	{ "MFV_ERR_LIFETIME_TOO_LONG", "leaf notAfter - notBefore above the cap" },
	{ "MFV_ERR_NOT_CA", "issuer lacks basicConstraints cA TRUE" },
	{ "MFV_ERR_PATH_LEN", "pathLenConstraint exceeded" },
	{ "MFV_ERR_LEAF_IS_CA", "the leaf is a CA certificate" },
	{ "MFV_ERR_KEY_USAGE", "keyUsage forbids this use" },
	{ "MFV_ERR_EKU", "extendedKeyUsage lacks the purpose" },
	{ "MFV_ERR_NAME_MISMATCH", "host/IP not in subjectAltName" },
	{ "MFV_ERR_UNSUPPORTED_CRITICAL_EXT", "a critical extension we do not process" },
	{ "MFV_ERR_NAME_CONSTRAINTS", "name constraints present (unsupported)" },
	{ "MFV_ERR_DUPLICATE_EXT", "the same extension twice" },
	{ "MFV_ERR_CHAIN_TOO_LONG", "path longer than MFV_MAX_PATH" },
	{ "MFV_ERR_OCSP_MALFORMED", "the staple is not a valid BasicOCSPResponse" },
	{ "MFV_ERR_OCSP_STATUS", "responseStatus is not successful" },
	{ "MFV_ERR_OCSP_NO_MATCH", "no SingleResponse for this leaf" },
	{ "MFV_ERR_OCSP_RESPONDER", "signer is not the issuer nor an authorised responder" },
	{ "MFV_ERR_OCSP_BAD_SIGNATURE", "the response signature does not verify" },
	{ "MFV_ERR_OCSP_REVOKED", "the leaf is revoked" },
	{ "MFV_ERR_OCSP_UNKNOWN", "the responder does not know the leaf" },
	{ "MFV_ERR_OCSP_STALE", "nextUpdate passed or absent" },
	{ "MFV_ERR_OCSP_FUTURE", "thisUpdate is in the future" },
	{ "MFV_ERR_OCSP_REQUIRED", "must-staple leaf without a staple" },
	{ "MFV_ERR_BACKEND", "the crypto backend failed" },
	{ "MFV_ERR_BUNDLE_MALFORMED", "trust bundle does not parse" },
	{ "MFV_ERR_BUNDLE_VERSION", "bundle version not above the current one" },
	{ "MFV_ERR_BUNDLE_SIGNER", "bundle signed by a key not trusted" },
	{ "MFV_ERR_BUNDLE_THRESHOLD", "too few valid bundle signatures" },
	{ "MFV_ERR_BUNDLE_EXPIRED", "bundle past its expiry" },
	{ "MFV_ERR_NO_ROOTS", "trust store empty" },
};

static int
idx(int err)
{
	if (err > 0 || err < MFV_ERR_LAST)
		return -1;
	return -err;
}

const char *
mfv_errname(int err)
{
	int i = idx(err);

	return i < 0 ? "MFV_ERR_UNKNOWN" : errtab[i].name;
}

const char *
mfv_strerror(int err)
{
	int i = idx(err);

	return i < 0 ? "unknown error" : errtab[i].text;
}

/* The table must have one row per code. */
typedef char mfv_errtab_is_complete[(sizeof(errtab) / sizeof(errtab[0]) == 1 - MFV_ERR_LAST) ? 1 : -1];
