/*
 * sign.c: see sign.h. OCSP responses through OpenSSL's OCSP_* builder, the
 * responder certificate through X509_* and the v3 extension config
 * functions. CRLs are the core's (crl.c), shared with `mayfly crl root`.
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
#include "x509ext.h"
#include "ceremony.h"	/* mf_sign_md: one choice of digest for every signature */

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
	if ((serial = mf_asn1_int_from_bytes(in->serial, in->serial_len)) == NULL)
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
	if ((serial = mf_asn1_int_from_bytes(rnd, sizeof(rnd))) == NULL)
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
	if (!mf_ext_conf(c, issuer, NULL, NID_basic_constraints, "critical,CA:FALSE") ||
	    !mf_ext_conf(c, issuer, NULL, NID_key_usage, "critical,digitalSignature") ||
	    !mf_ext_conf(c, issuer, NULL, NID_ext_key_usage, "OCSPSigning") ||
	    !mf_ext_conf(c, issuer, NULL, NID_id_pkix_OCSP_noCheck, "ignored") ||
	    !mf_ext_conf(c, issuer, NULL, NID_subject_key_identifier, "hash") ||
	    !mf_ext_conf(c, issuer, NULL, NID_authority_key_identifier, "keyid:always"))
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
