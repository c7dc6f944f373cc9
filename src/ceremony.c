/*
 * ceremony.c: building and signing CA certificates.
 *
 * A root is self-signed and carries only what a trust anchor needs: CA:TRUE,
 * keyCertSign|cRLSign, its key identifier and, optionally, permitted DNS
 * name constraints that bound everything below it. An intermediate is the
 * same shape signed by a root, with a path length, the root's key identifier
 * and the URLs where relying parties find the root certificate and its CRL.
 * Its cross-signed twin is made by the same function with another root: the
 * subject and key are the same, so a chain built through either root ends at
 * the same leaf.
 *
 * Every certificate is verified against the signer's public key right after
 * signing. That catches a key that does not belong to the issuer certificate
 * (the usual ceremony mistake) and a faulty signature from an HSM before the
 * certificate is written anywhere.
 */
#include "mf_build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "mferr.h"
#include "x509ext.h"

#define MF_SERIAL_LEN	16	/* octets: 128 bits, RFC 5280 allows up to 20 */
#define MF_RDN_MAX	512	/* longest subject string accepted */

int
mf_serial_new(ASN1_INTEGER **out)
{
	unsigned char b[MF_SERIAL_LEN];
	ASN1_INTEGER *s = NULL;
	int i, rc = MF_ERR_CRYPTO;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	/*
	 * The first octet is kept in 0x10..0x7f: positive (top bit clear), no
	 * leading zero octet to strip, and no leading zero hex digit either, so
	 * the serial reads the same in every hex form (ours, openssl's, one with
	 * leading zeros trimmed). A draw fails the test 1 time in 8; sixteen
	 * failures in a row mean a broken CSPRNG.
	 */
	for (i = 0; i < 16; i++) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			goto out;
		b[0] &= 0x7f;
		if (b[0] >= 0x10)
			break;
	}
	if (b[0] < 0x10)
		goto out;
	if ((s = ASN1_INTEGER_new()) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (!ASN1_STRING_set(s, b, sizeof(b)))
		goto out;
	*out = s;
	s = NULL;
	rc = MF_OK;
out:
	OPENSSL_cleanse(b, sizeof(b));
	ASN1_INTEGER_free(s);
	if (rc != MF_OK)
		ERR_clear_error();
	return rc;
}

const EVP_MD *
mf_sign_md(EVP_PKEY *key)
{
	if (key == NULL)
		return NULL;
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		/* Match the hash to the curve's strength (NIST SP 800-57). */
		if (EVP_PKEY_get_bits(key) > 384)
			return EVP_sha512();
		if (EVP_PKEY_get_bits(key) > 256)
			return EVP_sha384();
		return EVP_sha256();
	case EVP_PKEY_RSA:
		return EVP_sha256();
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return NULL;	/* pure EdDSA hashes internally */
	default:
		return EVP_sha256();
	}
}

/*
 * "CN=Example Root A,O=Example" is read as an RFC 4514 string: the first
 * RDN is the most specific one, so it goes last in the DER and the name
 * prints back the way it was written. '\' escapes the next character
 * (for a ',' or '=' inside a value). Spaces around keys and values are
 * dropped.
 */
int
mf_name_parse(const char *s, X509_NAME **out)
{
	char buf[MF_RDN_MAX + 1], *keys[32], *vals[32];
	size_t n = 0, o = 0, i;
	X509_NAME *nm = NULL;
	const char *p;
	int rc = MF_ERR_INVAL, in_val = 0;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	if (s == NULL || strlen(s) > MF_RDN_MAX)
		return MF_ERR_INVAL;

	/* Split into key/value pairs inside buf, unescaping as we go. */
	keys[0] = buf;
	for (p = s;; p++) {
		if (*p == '\\' && p[1] != '\0') {
			buf[o++] = *++p;
			continue;
		}
		if (*p == '=' && !in_val) {
			buf[o++] = '\0';
			vals[n] = buf + o;
			in_val = 1;
			continue;
		}
		if (*p == ',' || *p == '\0') {
			buf[o++] = '\0';
			if (!in_val || n >= sizeof(keys) / sizeof(keys[0]) - 1)
				return MF_ERR_INVAL;
			n++;
			in_val = 0;
			if (*p == '\0')
				break;
			keys[n] = buf + o;
			continue;
		}
		buf[o++] = *p;
	}

	if ((nm = X509_NAME_new()) == NULL)
		return MF_ERR_NOMEM;
	for (i = n; i-- > 0;) {
		char *k = keys[i], *v = vals[i], *e;

		while (isspace((unsigned char)*k))
			k++;
		for (e = k + strlen(k); e > k && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (e = v + strlen(v); e > v && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*k == '\0' || *v == '\0' || OBJ_txt2nid(k) == NID_undef)
			goto out;
		if (!X509_NAME_add_entry_by_txt(nm, k, MBSTRING_UTF8, (const unsigned char *)v, -1,
		    -1, 0))
			goto out;
	}
	*out = nm;
	nm = NULL;
	rc = MF_OK;
out:
	ERR_clear_error();
	X509_NAME_free(nm);
	return rc;
}

/* The parts every CA certificate shares: v3, serial, names, validity, key. */
static int
mf_ca_base(const struct mf_ca_params *p, const X509_NAME *issuer, EVP_PKEY *pub,
    int64_t not_after, X509 **out)
{
	X509_NAME *subj = NULL;
	ASN1_INTEGER *serial = NULL;
	X509 *x = NULL;
	int rc;

	*out = NULL;
	/*
	 * A cross-signed twin repeats the first certificate's subject byte for
	 * byte, so it is copied as a name rather than re-parsed from text.
	 */
	if (p->subject_name != NULL) {
		if ((subj = X509_NAME_dup(p->subject_name)) == NULL) {
			rc = MF_ERR_NOMEM;
			goto out;
		}
	} else if ((rc = mf_name_parse(p->subject, &subj)) != MF_OK)
		goto out;
	if ((rc = mf_serial_new(&serial)) != MF_OK)
		goto out;
	rc = MF_ERR_CRYPTO;
	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, serial) ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer != NULL ? issuer : subj) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)p->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL ||
	    !X509_set_pubkey(x, pub))
		goto out;
	*out = x;
	x = NULL;
	rc = MF_OK;
out:
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	return rc;
}

/* Signs x with key and checks the signature against signer_pub. */
static int
mf_ca_sign(X509 *x, EVP_PKEY *key, EVP_PKEY *signer_pub)
{
	if (X509_sign(x, key, mf_sign_md(key)) <= 0)
		return MF_ERR_SIGN;
	/* A key that does not belong to the issuer's certificate shows here. */
	if (X509_verify(x, signer_pub) != 1)
		return MF_ERR_CA_MISMATCH;
	return MF_OK;
}

static int
mf_params_ok(const struct mf_ca_params *p)
{
	return p != NULL && (p->subject != NULL || p->subject_name != NULL) && p->lifetime > 0 &&
	    p->not_before >= 0 && p->not_before <= INT64_MAX - p->lifetime && p->pathlen >= -1 &&
	    (p->npermitted_dns == 0 || p->permitted_dns != NULL);
}

int
mf_ceremony_root(EVP_PKEY *key, const struct mf_ca_params *p, X509 **out)
{
	static const int ku[] = { 5, 6 };	/* keyCertSign, cRLSign */
	X509 *x = NULL;
	int rc;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	if (key == NULL || !mf_params_ok(p))
		return MF_ERR_INVAL;
	if ((rc = mf_ca_base(p, NULL, key, p->not_before + p->lifetime, &x)) != MF_OK ||
	    (rc = mf_ext_add_bc(x, 1, p->pathlen)) != MF_OK ||
	    (rc = mf_ext_add_ku(x, ku, 2)) != MF_OK ||
	    (rc = mf_ext_add_keyids(x, NULL)) != MF_OK)
		goto out;
	if (p->npermitted_dns > 0 &&
	    (rc = mf_ext_add_nc(x, p->permitted_dns, p->npermitted_dns)) != MF_OK)
		goto out;
	if ((rc = mf_ca_sign(x, key, key)) != MF_OK)
		goto out;
	*out = x;
	x = NULL;
out:
	if (rc != MF_OK)
		ERR_clear_error();
	X509_free(x);
	return rc;
}

/*
 * digitalSignature is set on intermediates as well as keyCertSign and
 * cRLSign: with daemon.ocsp.delegated off the intermediate signs OCSP
 * responses itself, and CA/B BR 7.1.2.2 wants the bit for that.
 */
int
mf_ceremony_intermediate(X509 *issuer_cert, EVP_PKEY *issuer_key, EVP_PKEY *subject_key,
    const struct mf_ca_params *p, X509 **out)
{
	static const int ku[] = { 0, 5, 6 };
	const ASN1_TIME *inb, *ina;
	X509 *x = NULL;
	int64_t not_after;
	time_t t;
	int rc, cmp;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	if (issuer_cert == NULL || issuer_key == NULL || subject_key == NULL || !mf_params_ok(p))
		return MF_ERR_INVAL;
	inb = X509_get0_notBefore(issuer_cert);
	ina = X509_get0_notAfter(issuer_cert);

	/*
	 * Clip to the issuer's notAfter: a path is only as valid as its
	 * shortest link, and a longer intermediate would promise what the
	 * root cannot hold.
	 */
	not_after = p->not_before + p->lifetime;
	t = (time_t)not_after;
	if ((cmp = X509_cmp_time(ina, &t)) == 0)
		return MF_ERR_CRYPTO;
	if (cmp < 0 && mf_time_unix(ina, &not_after) != MF_OK)
		return MF_ERR_CRYPTO;
	if (not_after <= p->not_before) {
		rc = MF_ERR_CA_EXPIRED;	/* the issuer ends before this would begin */
		goto out;
	}
	t = (time_t)p->not_before;
	if (X509_cmp_time(inb, &t) > 0) {
		rc = MF_ERR_CA_EXPIRED;	/* the issuer is not valid yet at notBefore */
		goto out;
	}

	if ((rc = mf_ca_base(p, X509_get_subject_name(issuer_cert), subject_key, not_after,
	    &x)) != MF_OK ||
	    (rc = mf_ext_add_bc(x, 1, p->pathlen)) != MF_OK ||
	    (rc = mf_ext_add_ku(x, ku, 3)) != MF_OK ||
	    (rc = mf_ext_add_keyids(x, issuer_cert)) != MF_OK)
		goto out;
	if (p->url_base != NULL &&
	    (rc = mf_ext_add_ca_urls(x, p->url_base, p->issuer_name, 0)) != MF_OK)
		goto out;
	if ((rc = mf_ca_sign(x, issuer_key, X509_get0_pubkey(issuer_cert))) != MF_OK)
		goto out;
	*out = x;
	x = NULL;
out:
	if (rc != MF_OK)
		ERR_clear_error();
	X509_free(x);
	return rc;
}
