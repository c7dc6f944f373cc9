/*
 * sign.c: see sign.h. OCSP responses through OpenSSL's OCSP_* builder, CRLs
 * through X509_CRL_*, the responder certificate through X509_* and the v3
 * extension config functions.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mferr.h"
#include "ocspreq.h"
#include "sign.h"
#include "util.h"
#include "ceremony.h"	/* mf_sign_md: one choice of digest for every signature */

static ASN1_INTEGER *
mfd_asn1_serial(const unsigned char *s, size_t n)
{
	BIGNUM *bn;
	ASN1_INTEGER *ai = NULL;

	if ((bn = BN_bin2bn(s, (int)n, NULL)) != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* Moves i2d output into a malloc'ed buffer the caller can free(). */
static int
mfd_der_take(unsigned char *ossl, int n, unsigned char **der, size_t *len)
{
	if (n <= 0 || ossl == NULL)
		return MF_ERR_CRYPTO;
	if ((*der = malloc((size_t)n)) == NULL) {
		OPENSSL_free(ossl);
		return MF_ERR_NOMEM;
	}
	memcpy(*der, ossl, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(ossl);
	return 0;
}

int
mfd_ocsp_sign(const struct mfd_ocsp_in *in, unsigned char **der, size_t *len)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *cid = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	EVP_MD_CTX *ctx = NULL;
	STACK_OF(X509) *certs = NULL;
	unsigned char *p = NULL;
	unsigned long flags = OCSP_RESPID_KEY;
	int rc = MF_ERR_CRYPTO, n;

	*der = NULL;
	if ((serial = mfd_asn1_serial(in->serial, in->serial_len)) == NULL)
		goto out;
	cid = OCSP_cert_id_new(in->alg == MFD_ALG_SHA256 ? EVP_sha256() : EVP_sha1(),
	    X509_get_subject_name(in->issuer), X509_get0_pubkey_bitstr(in->issuer), serial);
	if (cid == NULL)
		goto out;
	if ((thisupd = ASN1_TIME_set(NULL, (time_t)in->this_update)) == NULL ||
	    (nextupd = ASN1_TIME_set(NULL, (time_t)in->next_update)) == NULL)
		goto out;
	if (in->status == V_OCSP_CERTSTATUS_REVOKED &&
	    (revtime = ASN1_TIME_set(NULL, (time_t)in->revoked_at)) == NULL)
		goto out;
	if ((bs = OCSP_BASICRESP_new()) == NULL)
		goto out;
	if (OCSP_basic_add1_status(bs, cid, in->status,
	    in->status == V_OCSP_CERTSTATUS_REVOKED ? in->reason : 0, revtime, thisupd,
	    nextupd) == NULL)
		goto out;
	/* The issuer itself needs no certificate in the response; a delegate does. */
	if (X509_cmp(in->signer, in->issuer) == 0)
		flags |= OCSP_NOCERTS;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, mf_sign_md(in->key), NULL, in->key) != 1)
		goto out;
	if (!OCSP_basic_sign_ctx(bs, in->signer, ctx, certs, flags)) {
		rc = MF_ERR_SIGN;
		goto out;
	}
	if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL)
		goto out;
	n = i2d_OCSP_RESPONSE(resp, &p);
	rc = mfd_der_take(p, n, der, len);
out:
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
mfd_add_ext(X509 *cert, X509 *issuer, X509_CRL *crl, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, crl, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = crl != NULL ? X509_CRL_add_ext(crl, ext, -1) : X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

int
mfd_crl_build(X509 *issuer, EVP_PKEY *key, const struct mfd_crl_entry *e, size_t n,
    uint64_t number, int64_t now, int64_t validity, unsigned char **der, size_t *len)
{
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_ENUMERATED *rsn = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *p = NULL;
	size_t i;
	int rc = MF_ERR_CRYPTO, dl;

	*der = NULL;
	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)))
		goto out;
	if ((t = ASN1_TIME_set(NULL, (time_t)now)) == NULL || !X509_CRL_set1_lastUpdate(crl, t))
		goto out;
	if (ASN1_TIME_set(t, (time_t)(now + validity)) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t))
		goto out;
	if ((rsn = ASN1_ENUMERATED_new()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		X509_REVOKED *r;
		ASN1_INTEGER *s;
		int ok;

		if ((r = X509_REVOKED_new()) == NULL)
			goto out;
		s = mfd_asn1_serial(e[i].serial, e[i].serial_len);
		ok = s != NULL && X509_REVOKED_set_serialNumber(r, s) &&
		    ASN1_TIME_set(t, (time_t)e[i].revoked_at) != NULL &&
		    X509_REVOKED_set_revocationDate(r, t);
		ASN1_INTEGER_free(s);
		if (ok && e[i].reason > 0) {
			ok = ASN1_ENUMERATED_set(rsn, e[i].reason) &&
			    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, rsn, 0, 0);
		}
		if (!ok || !X509_CRL_add0_revoked(crl, r)) {
			X509_REVOKED_free(r);
			goto out;
		}
	}
	if (!X509_CRL_sort(crl))
		goto out;
	if (!mfd_add_ext(NULL, issuer, crl, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if ((num = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set_uint64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, mf_sign_md(key), NULL, key) != 1)
		goto out;
	if (X509_CRL_sign_ctx(crl, ctx) <= 0) {
		rc = MF_ERR_SIGN;
		goto out;
	}
	dl = i2d_X509_CRL(crl, &p);
	rc = mfd_der_take(p, dl, der, len);
out:
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	ASN1_ENUMERATED_free(rsn);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
mfd_responder_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *pub, const char *name,
    int64_t now, int64_t lifetime, X509 **out)
{
	X509 *c = NULL;
	X509_NAME *subj = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *t = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned char rnd[16];
	char cn[128];
	int64_t na;
	int rc = MF_ERR_CRYPTO;

	*out = NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;		/* positive and 16 octets long */
	if ((serial = mfd_asn1_serial(rnd, sizeof(rnd))) == NULL)
		goto out;
	snprintf(cn, sizeof(cn), "%s OCSP responder", name);
	if ((c = X509_new()) == NULL || !X509_set_version(c, X509_VERSION_3) ||
	    !X509_set_serialNumber(c, serial))
		goto out;
	if ((subj = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
	    -1, 0) || !X509_set_subject_name(c, subj) ||
	    !X509_set_issuer_name(c, X509_get_subject_name(issuer)))
		goto out;
	na = now + lifetime;
	{
		const ASN1_TIME *ina = X509_get0_notAfter(issuer);
		struct tm tm;

		if (ASN1_TIME_to_tm(ina, &tm)) {
			int64_t it = (int64_t)timegm(&tm);

			if (it < na)
				na = it;
		}
	}
	if ((t = ASN1_TIME_set(NULL, (time_t)(now - 300))) == NULL || !X509_set1_notBefore(c, t) ||
	    ASN1_TIME_set(t, (time_t)na) == NULL || !X509_set1_notAfter(c, t))
		goto out;
	if (!X509_set_pubkey(c, pub))
		goto out;
	if (!mfd_add_ext(c, issuer, NULL, NID_basic_constraints, "critical,CA:FALSE") ||
	    !mfd_add_ext(c, issuer, NULL, NID_key_usage, "critical,digitalSignature") ||
	    !mfd_add_ext(c, issuer, NULL, NID_ext_key_usage, "OCSPSigning") ||
	    !mfd_add_ext(c, issuer, NULL, NID_id_pkix_OCSP_noCheck, "ignored") ||
	    !mfd_add_ext(c, issuer, NULL, NID_subject_key_identifier, "hash") ||
	    !mfd_add_ext(c, issuer, NULL, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, mf_sign_md(issuer_key), NULL, issuer_key) != 1)
		goto out;
	if (X509_sign_ctx(c, ctx) <= 0) {
		rc = MF_ERR_SIGN;
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	X509_free(c);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(t);
	EVP_MD_CTX_free(ctx);
	return rc;
}
