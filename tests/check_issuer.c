/*
 * check_issuer.c: CA certificates (ceremony.c) and leaves (issuer.c).
 *
 * Roots, an intermediate and its cross-signed twin are made in-process with
 * the ceremony functions; every certificate is parsed back with OpenSSL and
 * checked extension by extension, and chains are verified by two independent
 * implementations run as real processes: `openssl verify -x509_strict` and
 * GnuTLS `certtool --verify-chain`.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "fixtures.h"
#include "mferr.h"
#include "pki.h"
#include "suites.h"

#define DAY	86400LL
#define YEAR	(365 * DAY)

static EVP_PKEY *kroot_a, *kroot_b, *kint;

static void
keys_setup(void)
{
	kroot_a = mft_key("ec-p384");
	kroot_b = mft_key("rsa3072");
	kint = mft_key("ec-p256");
}

static void
keys_teardown(void)
{
	EVP_PKEY_free(kroot_a);
	EVP_PKEY_free(kroot_b);
	EVP_PKEY_free(kint);
	kroot_a = kroot_b = kint = NULL;
}

static X509 *
make_root(EVP_PKEY *k, const char *subject, int64_t nb, int64_t lifetime)
{
	struct mf_ca_params p;
	X509 *x = NULL;

	memset(&p, 0, sizeof(p));
	p.subject = subject;
	p.not_before = nb;
	p.lifetime = lifetime;
	p.pathlen = -1;
	ck_assert_int_eq(mf_ceremony_root(k, &p, &x), MF_OK);
	ck_assert_ptr_nonnull(x);
	return x;
}

static X509 *
make_int(X509 *root, EVP_PKEY *rootkey, const char *root_name, EVP_PKEY *k, int64_t nb,
    int64_t lifetime)
{
	struct mf_ca_params p;
	X509 *x = NULL;
	int rc;

	memset(&p, 0, sizeof(p));
	p.subject = "CN=Example Issuing 1,O=Example";
	p.not_before = nb;
	p.lifetime = lifetime;
	p.pathlen = 0;
	p.url_base = "http://ca.example.test:8080/";
	p.issuer_name = root_name;
	rc = mf_ceremony_intermediate(root, rootkey, k, &p, &x);
	ck_assert_msg(rc == MF_OK, "intermediate: %s", mf_errname(rc));
	ck_assert_ptr_nonnull(x);
	return x;
}

/* The first URI of an AIA access method (NID) or of the CRLDP (nid 0). */
static char *
uri_of(X509 *x, int method)
{
	char *res = NULL;
	int i;

	if (method != 0) {
		AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);

		for (i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
			ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

			if (OBJ_obj2nid(ad->method) == method && ad->location->type == GEN_URI &&
			    res == NULL)
				res = strdup((const char *)ASN1_STRING_get0_data(
				    ad->location->d.uniformResourceIdentifier));
		}
		AUTHORITY_INFO_ACCESS_free(aia);
	} else {
		CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
		    NULL);

		if (cdp != NULL && sk_DIST_POINT_num(cdp) == 1) {
			DIST_POINT *dp = sk_DIST_POINT_value(cdp, 0);
			GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);

			if (g->type == GEN_URI)
				res = strdup((const char *)ASN1_STRING_get0_data(
				    g->d.uniformResourceIdentifier));
		}
		CRL_DIST_POINTS_free(cdp);
	}
	return res;
}

/* Criticality of an extension: 1, 0, or -1 if absent (or present twice). */
static int
ext_crit(X509 *x, int nid)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);

	if (idx < 0 || X509_get_ext_by_NID(x, nid, idx) >= 0)
		return -1;
	return X509_EXTENSION_get_critical(X509_get_ext(x, idx));
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	ck_assert_int_eq(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

/* 16 content octets, positive, first octet non-zero. */
static void
check_serial(X509 *x)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);

	ck_assert_int_eq(ASN1_STRING_type(s), V_ASN1_INTEGER);	/* not V_ASN1_NEG_INTEGER */
	ck_assert_int_eq(ASN1_STRING_length(s), 16);
	ck_assert_int_ne(ASN1_STRING_get0_data(s)[0], 0);
	ck_assert_ptr_nonnull(bn);
	ck_assert_int_eq(BN_is_negative(bn), 0);
	ck_assert_int_ge(BN_num_bits(bn), 64);
	BN_free(bn);
}

START_TEST(test_name_parse)
{
	X509_NAME *n = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	long len;

	ck_assert_int_eq(mf_name_parse("CN=Example Root A, O=Example", &n), MF_OK);
	/* Written RFC 4514 style: the first RDN is the last one in the DER. */
	ck_assert_int_eq(X509_NAME_entry_count(n), 2);
	ck_assert_int_eq(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
	    NID_organizationName);
	ck_assert_int_ge(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253), 0);
	len = BIO_get_mem_data(b, &s);
	ck_assert_int_eq(len, (long)strlen("CN=Example Root A,O=Example"));
	ck_assert_int_eq(memcmp(s, "CN=Example Root A,O=Example", (size_t)len), 0);
	X509_NAME_free(n);
	BIO_free(b);

	n = NULL;
	ck_assert_int_eq(mf_name_parse("CN=a\\,b\\=c,C=DE", &n), MF_OK);
	ck_assert_int_eq(X509_NAME_get_text_by_NID(n, NID_commonName, NULL, 0), 5);
	X509_NAME_free(n);

	n = (X509_NAME *)1;
	ck_assert_int_eq(mf_name_parse("", &n), MF_ERR_INVAL);
	ck_assert_ptr_null(n);
	ck_assert_int_eq(mf_name_parse("CN", &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_name_parse("CN=", &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_name_parse("=x", &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_name_parse("NOSUCHATTR=x", &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_name_parse("CN=x,,O=y", &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_name_parse("C=toolong", &n), MF_ERR_INVAL);	/* C is 2 letters */
	ck_assert_int_eq(mf_name_parse(NULL, &n), MF_ERR_INVAL);
}
END_TEST

START_TEST(test_sign_md)
{
	EVP_PKEY *ed = mft_key("ed25519");

	ck_assert_ptr_eq(mf_sign_md(kint), EVP_sha256());
	ck_assert_ptr_eq(mf_sign_md(kroot_a), EVP_sha384());
	ck_assert_ptr_eq(mf_sign_md(kroot_b), EVP_sha256());
	ck_assert_ptr_null(mf_sign_md(ed));
	ck_assert_ptr_null(mf_sign_md(NULL));
	EVP_PKEY_free(ed);
}
END_TEST

START_TEST(test_serial_new)
{
	ASN1_INTEGER *s[200];
	int i, j;

	for (i = 0; i < 200; i++) {
		s[i] = NULL;
		ck_assert_int_eq(mf_serial_new(&s[i]), MF_OK);
		ck_assert_int_eq(ASN1_STRING_type(s[i]), V_ASN1_INTEGER);
		ck_assert_int_eq(ASN1_STRING_length(s[i]), 16);
		ck_assert_int_ne(ASN1_STRING_get0_data(s[i])[0], 0);
		ck_assert_int_lt(ASN1_STRING_get0_data(s[i])[0], 0x80);
		for (j = 0; j < i; j++)
			ck_assert_int_ne(ASN1_INTEGER_cmp(s[i], s[j]), 0);
	}
	for (i = 0; i < 200; i++)
		ASN1_INTEGER_free(s[i]);
}
END_TEST

START_TEST(test_root)
{
	const char *permitted[] = { "example.test", ".example.net" };
	struct mf_ca_params p;
	int64_t nb = 1700000000;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	NAME_CONSTRAINTS *nc;
	X509 *x = make_root(kroot_a, "CN=Example Root A,O=Example", nb, 20 * YEAR);

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	ck_assert_int_eq(X509_verify(x, kroot_a), 1);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	ck_assert_int_eq(time_of(X509_get0_notBefore(x)), nb);
	ck_assert_int_eq(time_of(X509_get0_notAfter(x)), nb + 20 * YEAR);
	check_serial(x);
	ck_assert_int_eq(ext_crit(x, NID_basic_constraints), 1);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	ck_assert_int_ne(bc->ca, 0);
	ck_assert_ptr_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	ck_assert_int_eq(ext_crit(x, NID_key_usage), 1);
	ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 5), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 6), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 0), 0);
	ASN1_BIT_STRING_free(ku);
	ck_assert_int_eq(ext_crit(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_crit(x, NID_name_constraints), -1);
	ck_assert_int_eq(X509_check_ca(x), 1);
	X509_free(x);

	/* With name constraints. */
	memset(&p, 0, sizeof(p));
	p.subject = "CN=Example Root C";
	p.not_before = nb;
	p.lifetime = YEAR;
	p.pathlen = 1;
	p.permitted_dns = permitted;
	p.npermitted_dns = 2;
	ck_assert_int_eq(mf_ceremony_root(kroot_b, &p, &x), MF_OK);
	ck_assert_int_eq(X509_verify(x, kroot_b), 1);
	ck_assert_int_eq(ext_crit(x, NID_name_constraints), 1);
	nc = X509_get_ext_d2i(x, NID_name_constraints, NULL, NULL);
	ck_assert_ptr_nonnull(nc);
	ck_assert_int_eq(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 2);
	ck_assert_ptr_null(nc->excludedSubtrees);
	ck_assert_int_eq(sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 0)->base->type, GEN_DNS);
	NAME_CONSTRAINTS_free(nc);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	ck_assert_int_eq(ASN1_INTEGER_get(bc->pathlen), 1);
	BASIC_CONSTRAINTS_free(bc);
	X509_free(x);

	/* Bad parameters. */
	x = (X509 *)1;
	p.lifetime = 0;
	ck_assert_int_eq(mf_ceremony_root(kroot_b, &p, &x), MF_ERR_INVAL);
	ck_assert_ptr_null(x);
	p.lifetime = YEAR;
	p.subject = "CN";
	ck_assert_int_eq(mf_ceremony_root(kroot_b, &p, &x), MF_ERR_INVAL);
	ck_assert_int_eq(mf_ceremony_root(NULL, &p, &x), MF_ERR_INVAL);
}
END_TEST

START_TEST(test_intermediate)
{
	int64_t now = (int64_t)time(NULL);
	X509 *ra, *rb, *ia, *ib;
	char *dir = mft_tmpdir(), *cmd = NULL, *out = NULL, *u;
	const ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *akid;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;

	ck_assert_ptr_nonnull(dir);
	ra = make_root(kroot_a, "CN=Example Root A,O=Example", now - DAY, 20 * YEAR);
	rb = make_root(kroot_b, "CN=Example Root B,O=Example", now - DAY, 20 * YEAR);
	ia = make_int(ra, kroot_a, "root-a", kint, now - 3600, YEAR);
	ib = make_int(rb, kroot_b, "root-b", kint, now - 3600, YEAR);

	ck_assert_int_eq(X509_verify(ia, kroot_a), 1);
	ck_assert_int_eq(X509_verify(ib, kroot_b), 1);
	check_serial(ia);
	/* The twin: same subject and key, another issuer and serial. */
	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(ia), X509_get_subject_name(ib)), 0);
	ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(ia), X509_get0_pubkey(ib)), 1);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(ia), X509_get_subject_name(ra)), 0);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(ib), X509_get_subject_name(rb)), 0);
	ck_assert_int_ne(ASN1_INTEGER_cmp(X509_get0_serialNumber(ia), X509_get0_serialNumber(ib)),
	    0);
	ck_assert_int_eq(time_of(X509_get0_notAfter(ia)), now - 3600 + YEAR);

	ck_assert_int_eq(ext_crit(ia, NID_basic_constraints), 1);
	bc = X509_get_ext_d2i(ia, NID_basic_constraints, NULL, NULL);
	ck_assert_int_ne(bc->ca, 0);
	ck_assert_int_eq(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	ck_assert_int_eq(ext_crit(ia, NID_key_usage), 1);
	ku = X509_get_ext_d2i(ia, NID_key_usage, NULL, NULL);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 5), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 6), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 2), 0);
	ASN1_BIT_STRING_free(ku);
	ck_assert_int_eq(ext_crit(ia, NID_subject_key_identifier), 0);
	ck_assert_int_eq(ext_crit(ia, NID_authority_key_identifier), 0);
	akid = X509_get_ext_d2i(ia, NID_authority_key_identifier, NULL, NULL);
	ski = X509_get0_subject_key_id(ra);
	ck_assert_ptr_nonnull(ski);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(akid->keyid, ski), 0);
	AUTHORITY_KEYID_free(akid);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(ia),
	    X509_get0_subject_key_id(ib)), 0);

	u = uri_of(ia, NID_ad_ca_issuers);
	ck_assert_str_eq(u, "http://ca.example.test:8080/ca/root-a.der");
	free(u);
	ck_assert_ptr_null(uri_of(ia, NID_ad_OCSP));
	u = uri_of(ia, 0);
	ck_assert_str_eq(u, "http://ca.example.test:8080/crl/root-a.crl");
	free(u);
	u = uri_of(ib, NID_ad_ca_issuers);
	ck_assert_str_eq(u, "http://ca.example.test:8080/ca/root-b.der");
	free(u);

	/* Two independent verifiers agree: each form chains to its own root only. */
	ck_assert_int_eq(mft_write_cert(dir, "ra.pem", ra), 0);
	ck_assert_int_eq(mft_write_cert(dir, "rb.pem", rb), 0);
	ck_assert_int_eq(mft_write_cert(dir, "ia.pem", ia), 0);
	ck_assert_int_eq(mft_write_cert(dir, "ib.pem", ib), 0);
	ck_assert_int_ge(asprintf(&cmd, "cd '%s' && openssl verify -x509_strict -CAfile ra.pem ia.pem"
	    " && openssl verify -x509_strict -CAfile rb.pem ib.pem 2>&1", dir), 0);
	ck_assert_msg(mft_run(cmd, &out) == 0, "%s", out);
	free(out);
	free(cmd);
	ck_assert_int_ge(asprintf(&cmd, "cd '%s' && openssl verify -x509_strict -CAfile rb.pem"
	    " ia.pem 2>&1", dir), 0);
	ck_assert_int_ne(mft_run(cmd, &out), 0);
	free(out);
	free(cmd);
	ck_assert_int_ge(asprintf(&cmd, "cd '%s' && cat ib.pem rb.pem > chain.pem && "
	    "certtool --verify-chain --infile chain.pem 2>&1", dir), 0);
	ck_assert_msg(mft_run(cmd, &out) == 0, "%s", out);
	free(out);
	free(cmd);

	X509_free(ia);
	X509_free(ib);
	X509_free(ra);
	X509_free(rb);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_intermediate_limits)
{
	int64_t now = (int64_t)time(NULL);
	struct mf_ca_params p;
	X509 *ra, *rb, *x = NULL;

	ra = make_root(kroot_a, "CN=Short Root", now - DAY, 30 * DAY);
	rb = make_root(kroot_b, "CN=Later Root", now + DAY, 30 * DAY);

	/* Clipped to the root's notAfter. */
	x = make_int(ra, kroot_a, "root-a", kint, now, YEAR);
	ck_assert_int_eq(time_of(X509_get0_notAfter(x)), time_of(X509_get0_notAfter(ra)));
	X509_free(x);

	memset(&p, 0, sizeof(p));
	p.subject = "CN=Issuing";
	p.lifetime = YEAR;
	p.pathlen = 0;
	/* Begins after the root ends. */
	p.not_before = now + 31 * DAY;
	x = (X509 *)1;
	ck_assert_int_eq(mf_ceremony_intermediate(ra, kroot_a, kint, &p, &x), MF_ERR_CA_EXPIRED);
	ck_assert_ptr_null(x);
	/* Begins before the root does. */
	p.not_before = now;
	ck_assert_int_eq(mf_ceremony_intermediate(rb, kroot_b, kint, &p, &x), MF_ERR_CA_EXPIRED);
	/* The wrong key for the issuer certificate. */
	ck_assert_int_eq(mf_ceremony_intermediate(ra, kroot_b, kint, &p, &x), MF_ERR_CA_MISMATCH);
	ck_assert_ptr_null(x);
	/* No URLs without url_base; a name unfit for a URL is refused. */
	ck_assert_int_eq(mf_ceremony_intermediate(ra, kroot_a, kint, &p, &x), MF_OK);
	ck_assert_int_eq(ext_crit(x, NID_info_access), -1);
	ck_assert_int_eq(ext_crit(x, NID_crl_distribution_points), -1);
	X509_free(x);
	p.url_base = "http://ca.example.test";
	p.issuer_name = "../etc";
	ck_assert_int_eq(mf_ceremony_intermediate(ra, kroot_a, kint, &p, &x), MF_ERR_INVAL);
	ck_assert_int_eq(mf_ceremony_intermediate(NULL, kroot_a, kint, &p, &x), MF_ERR_INVAL);
	X509_free(ra);
	X509_free(rb);
}
END_TEST

Suite *
suite_issuer(void)
{
	Suite *s = suite_create("issuer");
	TCase *tc = tcase_create("ceremony");

	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_name_parse);
	tcase_add_test(tc, test_sign_md);
	tcase_add_test(tc, test_serial_new);
	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_intermediate);
	tcase_add_test(tc, test_intermediate_limits);
	suite_add_tcase(s, tc);
	return s;
}
