/*
 * ocspreq.c: parses OCSP requests with OpenSSL's OCSP_* decoder and
 * reduces them to a struct mfd_certid; matches CertIDs to the issuers we
 * serve. Pure functions: no global state, no I/O, fuzzed directly.
 */
#include "mf_build.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "mferr.h"
#include "ocspreq.h"

/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } without a body. */
const unsigned char mfd_ocsp_malformed[5] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
const unsigned char mfd_ocsp_internal[5] = { 0x30, 0x03, 0x0a, 0x01, 0x02 };
const unsigned char mfd_ocsp_trylater[5] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };
const unsigned char mfd_ocsp_unauthorized[5] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };

int
mfd_ocsp_req_parse(const unsigned char *der, size_t len, struct mfd_certid *out)
{
	OCSP_REQUEST *req = NULL;
	OCSP_ONEREQ *one;
	OCSP_CERTID *cid;
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	const unsigned char *p = der;
	const unsigned char *s;
	size_t hlen;
	int rc = MF_ERR_OCSP_MALFORMED, nid, slen;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0 || len > MFD_OCSP_REQ_MAX)
		goto out;
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL)
		goto out;
	if ((size_t)(p - der) != len)		/* trailing bytes */
		goto out;
	if (OCSP_request_onereq_count(req) != 1)
		goto out;
	if ((one = OCSP_request_onereq_get0(req, 0)) == NULL ||
	    (cid = OCSP_onereq_get0_id(one)) == NULL)
		goto out;
	if (!OCSP_id_get0_info(&nh, &alg, &kh, &serial, cid) || nh == NULL || kh == NULL ||
	    alg == NULL || serial == NULL)
		goto out;
	nid = OBJ_obj2nid(alg);
	if (nid == NID_sha1) {
		out->alg = MFD_ALG_SHA1;
		hlen = 20;
	} else if (nid == NID_sha256) {
		out->alg = MFD_ALG_SHA256;
		hlen = 32;
	} else {
		rc = MF_ERR_OCSP_UNAUTHORIZED;
		goto out;
	}
	if ((size_t)ASN1_STRING_length(nh) != hlen || (size_t)ASN1_STRING_length(kh) != hlen)
		goto out;
	memcpy(out->name_hash, ASN1_STRING_get0_data(nh), hlen);
	memcpy(out->key_hash, ASN1_STRING_get0_data(kh), hlen);
	out->hlen = hlen;
	/* OpenSSL keeps the magnitude without leading zeros; the sign apart. */
	slen = ASN1_STRING_length(serial);
	s = ASN1_STRING_get0_data(serial);
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER || slen <= 0 || slen > 20) {
		rc = MF_ERR_OCSP_UNAUTHORIZED;
		goto out;
	}
	while (slen > 1 && s[0] == 0) {
		s++;
		slen--;
	}
	if (slen == 1 && s[0] == 0) {		/* serial zero */
		rc = MF_ERR_OCSP_UNAUTHORIZED;
		goto out;
	}
	memcpy(out->serial, s, (size_t)slen);
	out->serial_len = (size_t)slen;
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	OCSP_REQUEST_free(req);
	ERR_clear_error();	/* a bad request must not leave errors for the next one */
	return rc;
}

int
mfd_issuer_id_of(X509 *ca, struct mfd_issuer_id *out)
{
	unsigned int n;

	memset(out, 0, sizeof(*out));
	if (!X509_NAME_digest(X509_get_subject_name(ca), EVP_sha1(), out->sha1_name, &n) ||
	    !X509_pubkey_digest(ca, EVP_sha1(), out->sha1_key, &n) ||
	    !X509_NAME_digest(X509_get_subject_name(ca), EVP_sha256(), out->sha256_name, &n) ||
	    !X509_pubkey_digest(ca, EVP_sha256(), out->sha256_key, &n))
		return MF_ERR_CRYPTO;
	return 0;
}

int
mfd_issuer_find(const struct mfd_issuer_id *ids, size_t n, const struct mfd_certid *id)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (id->alg == MFD_ALG_SHA1 &&
		    memcmp(ids[i].sha1_name, id->name_hash, 20) == 0 &&
		    memcmp(ids[i].sha1_key, id->key_hash, 20) == 0)
			return (int)i;
		if (id->alg == MFD_ALG_SHA256 &&
		    memcmp(ids[i].sha256_name, id->name_hash, 32) == 0 &&
		    memcmp(ids[i].sha256_key, id->key_hash, 32) == 0)
			return (int)i;
	}
	return -1;
}

int
mfd_ocsp_req_encode(const struct mfd_certid *id, unsigned char **der, size_t *len)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *cid = NULL;
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	X509_NAME *dummy_name = NULL;
	ASN1_BIT_STRING *dummy_key = NULL;
	int rc = MF_ERR_CRYPTO, n;

	*der = NULL;
	if ((nh = ASN1_OCTET_STRING_new()) == NULL || (kh = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(nh, id->name_hash, (int)id->hlen) ||
	    !ASN1_OCTET_STRING_set(kh, id->key_hash, (int)id->hlen))
		goto out;
	if ((bn = BN_bin2bn(id->serial, (int)id->serial_len, NULL)) == NULL ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	if ((dummy_name = X509_NAME_new()) == NULL || (dummy_key = ASN1_BIT_STRING_new()) == NULL)
		goto out;
	cid = OCSP_cert_id_new(id->alg == MFD_ALG_SHA1 ? EVP_sha1() : EVP_sha256(), dummy_name,
	    dummy_key, serial);
	if (cid == NULL)
		goto out;
	/* OCSP_cert_id_new() hashes a name and key; we already hold the hashes. */
	{
		ASN1_OCTET_STRING *cnh, *ckh;
		ASN1_OBJECT *a;
		ASN1_INTEGER *s;

		if (!OCSP_id_get0_info(&cnh, &a, &ckh, &s, cid) ||
		    !ASN1_OCTET_STRING_set(cnh, id->name_hash, (int)id->hlen) ||
		    !ASN1_OCTET_STRING_set(ckh, id->key_hash, (int)id->hlen))
			goto out;
	}
	if ((req = OCSP_REQUEST_new()) == NULL || OCSP_request_add0_id(req, cid) == NULL)
		goto out;
	cid = NULL;
	if ((n = i2d_OCSP_REQUEST(req, der)) <= 0)
		goto out;
	*len = (size_t)n;
	rc = 0;
out:
	ASN1_OCTET_STRING_free(nh);
	ASN1_OCTET_STRING_free(kh);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(dummy_name);
	ASN1_BIT_STRING_free(dummy_key);
	OCSP_CERTID_free(cid);
	OCSP_REQUEST_free(req);
	return rc;
}
