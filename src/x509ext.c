/*
 * x509ext.c: the X.509 v3 extensions mayfly puts into certificates, built
 * from OpenSSL's structures (never from openssl.cnf strings, so a URL or a
 * name with a comma in it cannot change the meaning of the extension).
 * Shared by the ceremony (roots, intermediates) and the issuer (leaves).
 */
#include "mf_build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "mferr.h"
#include "x509ext.h"

#define MF_TLSFEATURE_STATUS_REQUEST	5	/* RFC 6066 status_request */

int
mf_ext_add(X509 *x, int nid, void *val, int crit)
{
	if (X509_add1_ext_i2d(x, nid, val, crit, X509V3_ADD_DEFAULT) != 1)
		return MF_ERR_CRYPTO;
	return MF_OK;
}

/* basicConstraints, critical: CA:TRUE with pathLen (if >= 0), or CA:FALSE. */
int
mf_ext_add_bc(X509 *x, int ca, int pathlen)
{
	BASIC_CONSTRAINTS *bc;
	int rc = MF_ERR_NOMEM;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return MF_ERR_NOMEM;
	/* OpenSSL writes this int as the BOOLEAN's content octet: DER (X.690
	 * 11.1) wants 0xFF for TRUE, and strict verifiers (libmayfly-verify)
	 * refuse 0x01. FALSE is the DEFAULT and is left out. */
	bc->ca = ca ? 0xFF : 0;
	if (ca && pathlen >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, pathlen))
			goto out;
	}
	rc = mf_ext_add(x, NID_basic_constraints, bc, 1);
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

/* keyUsage critical with the given bits (RFC 5280 4.2.1.3 numbering). */
int
mf_ext_add_ku(X509 *x, const int *bits, size_t nbits)
{
	ASN1_BIT_STRING *ku;
	size_t i;
	int rc = MF_ERR_NOMEM;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; i < nbits; i++)
		if (!ASN1_BIT_STRING_set_bit(ku, bits[i], 1))
			goto out;
	rc = mf_ext_add(x, NID_key_usage, ku, 1);
out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int
mf_keyid(X509 *x, ASN1_OCTET_STRING **out)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *o;

	*out = NULL;
	if (ski != NULL) {
		if ((*out = ASN1_OCTET_STRING_dup(ski)) == NULL)
			return MF_ERR_NOMEM;
		return MF_OK;
	}
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen))
		return MF_ERR_CRYPTO;
	if ((o = ASN1_OCTET_STRING_new()) == NULL)
		return MF_ERR_NOMEM;
	if (!ASN1_OCTET_STRING_set(o, md, (int)mdlen)) {
		ASN1_OCTET_STRING_free(o);
		return MF_ERR_NOMEM;
	}
	*out = o;
	return MF_OK;
}

int
mf_ext_add_keyids(X509 *x, X509 *issuer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int rc = MF_ERR_NOMEM;

	if (x == NULL)
		return MF_ERR_INVAL;
	/* SKI of the certificate being built: its own key, never an existing SKI. */
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen)) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	if ((ski = ASN1_OCTET_STRING_new()) == NULL || !ASN1_OCTET_STRING_set(ski, md, (int)mdlen))
		goto out;
	if ((rc = mf_ext_add(x, NID_subject_key_identifier, ski, 0)) != MF_OK)
		goto out;
	if (issuer != NULL) {
		if ((akid = AUTHORITY_KEYID_new()) == NULL) {
			rc = MF_ERR_NOMEM;
			goto out;
		}
		if ((rc = mf_keyid(issuer, &akid->keyid)) != MF_OK)
			goto out;
		rc = mf_ext_add(x, NID_authority_key_identifier, akid, 0);
	}
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	if (rc != MF_OK)
		ERR_clear_error();
	return rc;
}

static GENERAL_NAME *
mf_gen_uri(const char *uri)
{
	ASN1_IA5STRING *s;
	GENERAL_NAME *g;

	if ((g = GENERAL_NAME_new()) == NULL)
		return NULL;
	if ((s = ASN1_IA5STRING_new()) == NULL || !ASN1_STRING_set(s, uri, (int)strlen(uri))) {
		ASN1_IA5STRING_free(s);
		GENERAL_NAME_free(g);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, GEN_URI, s);
	return g;
}

static int
mf_aia_push(AUTHORITY_INFO_ACCESS *aia, int method, const char *uri)
{
	ACCESS_DESCRIPTION *ad;
	GENERAL_NAME *g;

	if ((g = mf_gen_uri(uri)) == NULL)
		return MF_ERR_NOMEM;
	if ((ad = ACCESS_DESCRIPTION_new()) == NULL) {
		GENERAL_NAME_free(g);
		return MF_ERR_NOMEM;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(method);
	GENERAL_NAME_free(ad->location);
	ad->location = g;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
		ACCESS_DESCRIPTION_free(ad);
		return MF_ERR_NOMEM;
	}
	return MF_OK;
}

static int
mf_url_name_ok(const char *name)
{
	const char *p;

	if (name == NULL || *name == '\0')
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return 0;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int
mf_ext_add_ca_urls(X509 *x, const char *base, const char *name, int with_ocsp)
{
	AUTHORITY_INFO_ACCESS *aia = NULL;
	CRL_DIST_POINTS *cdp = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *g = NULL;
	char *ocsp = NULL, *ca = NULL, *crl = NULL;
	size_t blen;
	int rc = MF_ERR_NOMEM;

	if (x == NULL || base == NULL || *base == '\0' || !mf_url_name_ok(name))
		return MF_ERR_INVAL;
	blen = strlen(base);
	if (base[blen - 1] == '/')
		blen--;
	if (asprintf(&ocsp, "%.*s/ocsp", (int)blen, base) < 0)
		ocsp = NULL;
	if (asprintf(&ca, "%.*s/ca/%s.der", (int)blen, base, name) < 0)
		ca = NULL;
	if (asprintf(&crl, "%.*s/crl/%s.crl", (int)blen, base, name) < 0)
		crl = NULL;
	if (ocsp == NULL || ca == NULL || crl == NULL)
		goto out;

	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL)
		goto out;
	if (with_ocsp && (rc = mf_aia_push(aia, NID_ad_OCSP, ocsp)) != MF_OK)
		goto out;
	if ((rc = mf_aia_push(aia, NID_ad_ca_issuers, ca)) != MF_OK)
		goto out;
	if ((rc = mf_ext_add(x, NID_info_access, aia, 0)) != MF_OK)
		goto out;

	rc = MF_ERR_NOMEM;
	if ((cdp = sk_DIST_POINT_new_null()) == NULL || (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (g = mf_gen_uri(crl)) == NULL)
		goto out;
	dp->distpoint->type = 0;	/* fullName */
	if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, g))
		goto out;
	g = NULL;
	if (!sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	rc = mf_ext_add(x, NID_crl_distribution_points, cdp, 0);
out:
	GENERAL_NAME_free(g);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	free(ocsp);
	free(ca);
	free(crl);
	if (rc != MF_OK)
		ERR_clear_error();
	return rc;
}

/* nameConstraints, critical (RFC 5280 4.2.1.10), permitted DNS subtrees only. */
int
mf_ext_add_nc(X509 *x, const char **dns, size_t n)
{
	NAME_CONSTRAINTS *nc;
	GENERAL_SUBTREE *st = NULL;
	ASN1_IA5STRING *s = NULL;
	size_t i;
	int rc = MF_ERR_NOMEM;

	if ((nc = NAME_CONSTRAINTS_new()) == NULL)
		return MF_ERR_NOMEM;
	if ((nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (dns[i] == NULL || dns[i][0] == '\0') {
			rc = MF_ERR_INVAL;
			goto out;
		}
		if ((st = GENERAL_SUBTREE_new()) == NULL || (s = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(s, dns[i], (int)strlen(dns[i])))
			goto out;
		GENERAL_NAME_set0_value(st->base, GEN_DNS, s);
		s = NULL;
		if (!sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st))
			goto out;
		st = NULL;
	}
	rc = mf_ext_add(x, NID_name_constraints, nc, 1);
out:
	ASN1_IA5STRING_free(s);
	GENERAL_SUBTREE_free(st);
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

int
mf_ext_add_san(X509 *x, const struct mf_name *names, size_t n, int crit)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *g = NULL;
	ASN1_STRING *s = NULL;
	size_t i;
	int rc = MF_ERR_NOMEM;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		const struct mf_name *nm = &names[i];

		if ((g = GENERAL_NAME_new()) == NULL)
			goto out;
		if (nm->type == MF_NAME_DNS) {
			if ((s = ASN1_IA5STRING_new()) == NULL ||
			    !ASN1_STRING_set(s, nm->dns, (int)strlen(nm->dns)))
				goto out;
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		} else if (nm->type == MF_NAME_IP && (nm->iplen == 4 || nm->iplen == 16)) {
			if ((s = ASN1_OCTET_STRING_new()) == NULL ||
			    !ASN1_STRING_set(s, nm->ip, (int)nm->iplen))
				goto out;
			GENERAL_NAME_set0_value(g, GEN_IPADD, s);
		} else {
			rc = MF_ERR_INVAL;
			goto out;
		}
		s = NULL;
		if (!sk_GENERAL_NAME_push(gens, g))
			goto out;
		g = NULL;
	}
	rc = mf_ext_add(x, NID_subject_alt_name, gens, crit);
out:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* A profile without EKU bits gets serverAuth: what this CA is for. */
int
mf_ext_add_eku(X509 *x, unsigned eku)
{
	EXTENDED_KEY_USAGE *e;
	int rc = MF_ERR_NOMEM;

	if ((e = sk_ASN1_OBJECT_new_null()) == NULL)
		return MF_ERR_NOMEM;
	if ((eku & MF_EKU_SERVER) || eku == 0)
		if (!sk_ASN1_OBJECT_push(e, OBJ_nid2obj(NID_server_auth)))
			goto out;
	if (eku & MF_EKU_CLIENT)
		if (!sk_ASN1_OBJECT_push(e, OBJ_nid2obj(NID_client_auth)))
			goto out;
	rc = mf_ext_add(x, NID_ext_key_usage, e, 0);
out:
	sk_ASN1_OBJECT_pop_free(e, ASN1_OBJECT_free);
	return rc;
}

/* RFC 7633 TLS feature: SEQUENCE { INTEGER 5 } (status_request, "must-staple"). */
int
mf_ext_add_must_staple(X509 *x)
{
	TLS_FEATURE *tf;
	ASN1_INTEGER *i = NULL;
	int rc = MF_ERR_NOMEM;

	if ((tf = TLS_FEATURE_new()) == NULL)
		return MF_ERR_NOMEM;
	if ((i = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(i, MF_TLSFEATURE_STATUS_REQUEST) ||
	    !sk_ASN1_INTEGER_push(tf, i))
		goto out;
	i = NULL;
	rc = mf_ext_add(x, NID_tlsfeature, tf, 0);
out:
	ASN1_INTEGER_free(i);
	TLS_FEATURE_free(tf);
	return rc;
}

int
mf_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return MF_ERR_CRYPTO;
	*out = (int64_t)timegm(&tm);
	return MF_OK;
}

int
mf_ext_conf(X509 *cert, X509 *issuer, X509_CRL *crl, int nid, const char *value)
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

ASN1_INTEGER *
mf_asn1_int_from_bytes(const unsigned char *b, size_t n)
{
	BIGNUM *bn;
	ASN1_INTEGER *ai = NULL;

	if (n > INT32_MAX)
		return NULL;
	if ((bn = BN_bin2bn(b, (int)n, NULL)) != NULL)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}
