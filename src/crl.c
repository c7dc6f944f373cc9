/*
 * crl.c: see crl.h. Built with OpenSSL's X509_CRL functions; the entries
 * are sorted by serial (X509_CRL_sort) so the list is the same for the same
 * revocations whoever builds it, daemon or CLI.
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ceremony.h"	/* mf_sign_md: one choice of digest for every signature */
#include "crl.h"
#include "mferr.h"
#include "x509ext.h"

int
mf_crl_build(X509 *issuer, EVP_PKEY *key, const struct mf_crl_entry *e, size_t n,
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
		s = mf_asn1_int_from_bytes(e[i].serial, e[i].serial_len);
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
	if (!mf_ext_conf(NULL, issuer, crl, NID_authority_key_identifier, "keyid:always"))
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
	if ((dl = i2d_X509_CRL(crl, &p)) <= 0)
		goto out;
	if ((*der = malloc((size_t)dl)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, p, (size_t)dl);
	*len = (size_t)dl;
	rc = MF_OK;
out:
	OPENSSL_free(p);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	ASN1_ENUMERATED_free(rsn);
	EVP_MD_CTX_free(ctx);
	return rc;
}
