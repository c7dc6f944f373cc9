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

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "db.h"
#include "store/sql.h"
#include "fixtures.h"
#include "issuer.h"
#include "keystore.h"
#include "mferr.h"
#include "pki.h"
#include "policy.h"
#include "suites.h"
#include "util.h"

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

/* The DER of an extension's value must be exactly want (n octets). */
static void
ext_der_is(X509 *x, int nid, const char *want, int n)
{
	X509_EXTENSION *e = X509_get_ext(x, X509_get_ext_by_NID(x, nid, -1));
	const ASN1_OCTET_STRING *v;

	ck_assert_ptr_nonnull(e);
	v = X509_EXTENSION_get_data(e);
	ck_assert_int_eq(ASN1_STRING_length(v), n);
	ck_assert_mem_eq(ASN1_STRING_get0_data(v), want, (size_t)n);
}

static int64_t
time_of(const ASN1_TIME *t)
{
	struct tm tm;

	ck_assert_int_eq(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

/* 16 content octets, positive, no leading zero hex digit. */
static void
check_serial(X509 *x)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);

	ck_assert_int_eq(ASN1_STRING_type(s), V_ASN1_INTEGER);	/* not V_ASN1_NEG_INTEGER */
	ck_assert_int_eq(ASN1_STRING_length(s), 16);
	ck_assert_int_ge(ASN1_STRING_get0_data(s)[0], 0x10);
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
		ck_assert_int_ge(ASN1_STRING_get0_data(s[i])[0], 0x10);
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
	/* DER: TRUE is 0xFF (X.690 11.1), never 0x01. */
	ext_der_is(x, NID_basic_constraints, "\x30\x03\x01\x01\xff", 5);
	/* keyCertSign|cRLSign: BIT STRING, 1 unused bit, 0x06. */
	ext_der_is(x, NID_key_usage, "\x03\x02\x01\x06", 4);
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
	ext_der_is(ia, NID_basic_constraints, "\x30\x06\x01\x01\xff\x02\x01\x00", 8);
	/* digitalSignature|keyCertSign|cRLSign: 1 unused bit, 0x86. */
	ext_der_is(ia, NID_key_usage, "\x03\x02\x01\x86", 4);
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
	    "certtool --verify-profile medium --verify-chain --infile chain.pem 2>&1", dir), 0);
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

/* EdDSA signs without a separate digest: X509_sign with a NULL md. */
START_TEST(test_ed25519_chain)
{
	int64_t now = (int64_t)time(NULL);
	EVP_PKEY *kr = mft_key("ed25519"), *ki = mft_key("ed25519");
	char *dir = mft_tmpdir(), *cmd = NULL, *out = NULL;
	X509 *r, *i;

	ck_assert_ptr_nonnull(kr);
	ck_assert_ptr_nonnull(ki);
	r = make_root(kr, "CN=Ed Root,O=Example", now - DAY, 10 * YEAR);
	i = make_int(r, kr, "ed-root", ki, now - 3600, YEAR);
	ck_assert_int_eq(X509_get_signature_nid(r), NID_ED25519);
	ck_assert_int_eq(X509_get_signature_nid(i), NID_ED25519);
	ck_assert_int_eq(X509_verify(i, kr), 1);
	ck_assert_int_eq(mft_write_cert(dir, "r.pem", r), 0);
	ck_assert_int_eq(mft_write_cert(dir, "i.pem", i), 0);
	ck_assert_int_ge(asprintf(&cmd, "cd '%s' && openssl verify -x509_strict -CAfile r.pem i.pem"
	    " && cat i.pem r.pem > chain.pem && certtool --verify-chain --infile chain.pem 2>&1",
	    dir), 0);
	ck_assert_msg(mft_run(cmd, &out) == 0, "%s", out);
	free(out);
	free(cmd);
	X509_free(i);
	X509_free(r);
	EVP_PKEY_free(kr);
	EVP_PKEY_free(ki);
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

/*
 * The issuer: a temp dir with root A, root B, an intermediate signed by A
 * and its twin cross-signed by B, a file key, a real SQLite issuance log.
 */
#define URL_BASE	"http://ca.example.test:8080"

struct env {
	char *dir;
	X509 *ra, *rb, *ia, *ib;
	struct mf_ca_conf roots[2];
	struct mf_ca_conf ints[1];
	char *cross[1];
	char *dns[1];
	struct mf_iprange ip[1];
	struct mf_profile prof[2];
	struct mf_config cfg;
	struct mf_keystore *ks;
	struct mf_db *db;
	struct mf_issuer *is;
	int64_t now;
};

static struct env E;

static char *
env_path(const char *name)
{
	char *p = mf_path_join(E.dir, name);

	ck_assert_ptr_nonnull(p);
	return p;
}

/*
 * Builds the CA files and config; int_lifetime bounds the intermediate.
 * permitted (DNS name constraints) goes on root B if on_b, else on root A.
 */
static void
env_init(const char **permitted, size_t npermitted, int on_b, int64_t int_lifetime)
{
	struct mf_ca_params p;
	char *keyuri = NULL, *dbpath;
	int rc;

	memset(&E, 0, sizeof(E));
	E.now = (int64_t)time(NULL);
	E.dir = mft_tmpdir();
	ck_assert_ptr_nonnull(E.dir);

	memset(&p, 0, sizeof(p));
	p.subject = "CN=Example Root A,O=Example";
	p.not_before = E.now - DAY;
	p.lifetime = 20 * YEAR;
	p.pathlen = -1;
	p.permitted_dns = on_b ? NULL : permitted;
	p.npermitted_dns = on_b ? 0 : npermitted;
	ck_assert_int_eq(mf_ceremony_root(kroot_a, &p, &E.ra), MF_OK);
	p.subject = "CN=Example Root B,O=Example";
	p.permitted_dns = on_b ? permitted : NULL;
	p.npermitted_dns = on_b ? npermitted : 0;
	ck_assert_int_eq(mf_ceremony_root(kroot_b, &p, &E.rb), MF_OK);
	E.ia = make_int(E.ra, kroot_a, "root-a", kint, E.now - 3600, int_lifetime);
	E.ib = make_int(E.rb, kroot_b, "root-b", kint, E.now - 3600, int_lifetime);
	ck_assert_int_eq(mft_write_cert(E.dir, "ra.pem", E.ra), 0);
	ck_assert_int_eq(mft_write_cert(E.dir, "rb.pem", E.rb), 0);
	ck_assert_int_eq(mft_write_cert(E.dir, "int.pem", E.ia), 0);
	ck_assert_int_eq(mft_write_cert(E.dir, "int-b.pem", E.ib), 0);
	ck_assert_int_eq(mft_write_key(E.dir, "int.key", kint), 0);

	E.roots[0].name = "root-a";
	E.roots[0].cert = env_path("ra.pem");
	E.roots[1].name = "root-b";
	E.roots[1].cert = env_path("rb.pem");
	E.cross[0] = env_path("int-b.pem");
	E.ints[0].name = "issuing-1";
	E.ints[0].cert = env_path("int.pem");
	ck_assert_int_ge(asprintf(&keyuri, "file:%s/int.key", E.dir), 0);
	E.ints[0].key = keyuri;
	E.ints[0].cross = E.cross;
	E.ints[0].ncross = 1;
	E.ints[0].root = "root-a";

	E.dns[0] = ".example.net";
	E.ip[0].family = AF_INET;
	inet_pton(AF_INET, "192.0.2.0", E.ip[0].addr);
	E.ip[0].prefix = 24;
	E.prof[0].name = "server";
	E.prof[0].key_types = MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_RSA | MF_KT_ED25519;
	E.prof[0].rsa_min_bits = 2048;
	E.prof[0].dns = E.dns;
	E.prof[0].ndns = 1;
	E.prof[0].ip = E.ip;
	E.prof[0].nip = 1;
	E.prof[0].eku = MF_EKU_SERVER;
	E.prof[0].default_lifetime = DAY;
	E.prof[0].max_lifetime = DAY;
	E.prof[1] = E.prof[0];
	E.prof[1].name = "staple";
	E.prof[1].eku = MF_EKU_SERVER | MF_EKU_CLIENT;
	E.prof[1].must_staple = 1;
	E.prof[1].default_lifetime = 6 * 3600;

	E.cfg.url_base = URL_BASE;
	E.cfg.roots = E.roots;
	E.cfg.nroots = 2;
	E.cfg.intermediates = E.ints;
	E.cfg.nintermediates = 1;
	E.cfg.hard_cap = DAY;
	E.cfg.backdate = 300;
	E.cfg.profiles = E.prof;
	E.cfg.nprofiles = 2;

	ck_assert_int_eq(mf_keystore_new(NULL, &E.ks), MF_OK);
	dbpath = env_path("mayfly.db");
	ck_assert_int_eq(mf_db_open(dbpath, MF_DB_CREATE, &E.db), MF_OK);
	free(dbpath);
	rc = mf_issuer_new(&E.cfg, E.ks, NULL, &E.is);
	ck_assert_msg(rc == MF_OK, "issuer_new: %s", mf_errname(rc));
}

static void
env_setup(void)
{
	env_init(NULL, 0, 0, YEAR);
}

static void
env_teardown(void)
{
	mf_issuer_free(E.is);
	mf_db_close(E.db);
	mf_keystore_free(E.ks);
	X509_free(E.ra);
	X509_free(E.rb);
	X509_free(E.ia);
	X509_free(E.ib);
	free(E.roots[0].cert);
	free(E.roots[1].cert);
	free(E.cross[0]);
	free(E.ints[0].cert);
	free(E.ints[0].key);
	mft_rmtree(E.dir);
	free(E.dir);
	memset(&E, 0, sizeof(E));
}

static struct mf_approved *
approve(X509_REQ *csr, const char *profile, int64_t lifetime)
{
	struct mf_request req = { csr, profile, lifetime, "test:issuer", 0, 0, 0 };
	struct mf_approved *a = NULL;
	char why[256];
	int rc;

	ck_assert_ptr_nonnull(csr);
	rc = mf_policy_check(&E.cfg, &req, &a, why, sizeof(why));
	ck_assert_msg(rc == MF_OK, "policy: %s (%s)", mf_errname(rc), why);
	X509_REQ_free(csr);
	return a;
}

static int
count_cb(const struct mf_cert_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int
db_count(struct mf_db *db)
{
	int n = 0;

	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, NULL, E.now, count_cb, &n), MF_OK);
	return n;
}

/* Runs a shell command in the env dir and asserts its exit status. */
static void
run_in_dir(int want_ok, const char *line)
{
	char *cmd = NULL, *out = NULL;
	int st;

	ck_assert_int_ge(asprintf(&cmd, "cd '%s' && (%s) 2>&1", E.dir, line), 0);
	st = mft_run(cmd, &out);
	if (want_ok)
		ck_assert_msg(st == 0, "`%s` failed (%d): %s", line, st, out);
	else
		ck_assert_msg(st > 0, "`%s` should fail: %s", line, out);
	free(out);
	free(cmd);
}

/*
 * The leaf carries the CSR's SubjectPublicKeyInfo byte for byte, and that
 * decodes (from the certificate's DER, as a relying party sees it) to the
 * approved key.
 */
static void
check_leaf_key(X509 *x, const struct mf_approved *a)
{
	unsigned char *d1 = NULL, *d2 = NULL, *der = NULL;
	const unsigned char *p;
	X509 *y;
	int l1, l2, len;

	ck_assert_ptr_nonnull(a->spki);
	l1 = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &d1);
	l2 = i2d_X509_PUBKEY(a->spki, &d2);
	ck_assert_int_gt(l1, 0);
	ck_assert_int_eq(l1, l2);
	ck_assert_mem_eq(d1, d2, (size_t)l1);
	ck_assert_int_gt(len = i2d_X509(x, &der), 0);
	p = der;
	ck_assert_ptr_nonnull(y = d2i_X509(NULL, &p, len));
	ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(y), a->pubkey), 1);
	X509_free(y);
	OPENSSL_free(der);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
}

/* Checks a leaf issued from E with the "server" or "staple" profile. */
static void
check_leaf(X509 *x, const struct mf_approved *a, int rsa)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *gens;
	AUTHORITY_KEYID *akid;
	const ASN1_OCTET_STRING *ski;
	int64_t nb, na;
	int i, next;
	char *u;

	ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
	check_serial(x);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(E.ia)), 1);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(E.ia)), 0);
	check_leaf_key(x, a);

	nb = time_of(X509_get0_notBefore(x));
	na = time_of(X509_get0_notAfter(x));
	ck_assert_int_le(na - nb, DAY);
	ck_assert_int_eq(nb, E.now - 300);
	ck_assert_int_eq(na, a->lifetime + 300 > DAY ? nb + DAY : E.now + a->lifetime);

	ck_assert_int_eq(ext_crit(x, NID_basic_constraints), 1);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	ck_assert_int_eq(bc->ca, 0);
	ck_assert_ptr_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	/* CA:FALSE is the DEFAULT, so DER leaves it out: an empty SEQUENCE. */
	ext_der_is(x, NID_basic_constraints, "\x30\x00", 2);
	/* digitalSignature (0x80, 7 unused bits) or + keyEncipherment (0xa0, 5). */
	if (rsa)
		ext_der_is(x, NID_key_usage, "\x03\x02\x05\xa0", 4);
	else
		ext_der_is(x, NID_key_usage, "\x03\x02\x07\x80", 4);
	ck_assert_int_eq(X509_check_ca(x), 0);

	ck_assert_int_eq(ext_crit(x, NID_key_usage), 1);
	ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 2), rsa);
	for (i = 3; i < 9; i++)
		ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, i), 0);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 1), 0);
	ASN1_BIT_STRING_free(ku);

	ck_assert_int_eq(ext_crit(x, NID_ext_key_usage), 0);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	if (a->profile->eku & MF_EKU_CLIENT) {
		ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 2);
		ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
	} else {
		ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ck_assert_ptr_nonnull(gens);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), (int)a->nnames);
	for (i = 0; i < (int)a->nnames; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (a->names[i].type == MF_NAME_DNS) {
			ck_assert_int_eq(g->type, GEN_DNS);
			ck_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName),
			    a->names[i].dns);
		} else {
			ck_assert_int_eq(g->type, GEN_IPADD);
			ck_assert_int_eq(ASN1_STRING_length(g->d.iPAddress), (int)a->names[i].iplen);
			ck_assert_mem_eq(ASN1_STRING_get0_data(g->d.iPAddress), a->names[i].ip,
			    a->names[i].iplen);
		}
	}
	GENERAL_NAMES_free(gens);

	ck_assert_int_eq(ext_crit(x, NID_subject_key_identifier), 0);
	ck_assert_int_eq(X509_pubkey_digest(x, EVP_sha1(), md, &mdlen), 1);
	ski = X509_get0_subject_key_id(x);
	ck_assert_int_eq(ASN1_STRING_length(ski), (int)mdlen);
	ck_assert_mem_eq(ASN1_STRING_get0_data(ski), md, mdlen);
	ck_assert_int_eq(ext_crit(x, NID_authority_key_identifier), 0);
	akid = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(E.ia)), 0);
	ck_assert_ptr_null(akid->issuer);
	AUTHORITY_KEYID_free(akid);

	ck_assert_int_eq(ext_crit(x, NID_info_access), 0);
	u = uri_of(x, NID_ad_OCSP);
	ck_assert_str_eq(u, URL_BASE "/ocsp");
	free(u);
	u = uri_of(x, NID_ad_ca_issuers);
	ck_assert_str_eq(u, URL_BASE "/ca/issuing-1.der");
	free(u);
	ck_assert_int_eq(ext_crit(x, NID_crl_distribution_points), 0);
	u = uri_of(x, 0);
	ck_assert_str_eq(u, URL_BASE "/crl/issuing-1.crl");
	free(u);

	next = 8;
	if (a->profile->must_staple) {
		X509_EXTENSION *e;

		/* RFC 7633: id-pe-tlsfeature, SEQUENCE { INTEGER 5 }, not critical. */
		ck_assert_int_eq(ext_crit(x, NID_tlsfeature), 0);
		e = X509_get_ext(x, X509_get_ext_by_NID(x, NID_tlsfeature, -1));
		ck_assert_str_eq(OBJ_nid2ln(NID_tlsfeature), "TLS Feature");
		ck_assert_int_eq(OBJ_cmp(X509_EXTENSION_get_object(e),
		    OBJ_txt2obj("1.3.6.1.5.5.7.1.24", 1)), 0);
		ck_assert_int_eq(ASN1_STRING_length(X509_EXTENSION_get_data(e)), 5);
		ck_assert_mem_eq(ASN1_STRING_get0_data(X509_EXTENSION_get_data(e)),
		    "\x30\x03\x02\x01\x05", 5);
		next++;
	} else {
		ck_assert_int_eq(ext_crit(x, NID_tlsfeature), -1);
	}
	/* Nothing else: every extension of the leaf is accounted for above. */
	ck_assert_int_eq(X509_get_ext_count(x), next);
}

/* The record in the log: same DER, same facts. */
static void
check_record(X509 *x, const struct mf_approved *a, const char *subject, const char *sans)
{
	struct mf_cert_rec *r = NULL;
	unsigned char *der = NULL;
	char hex[2 * MF_SERIAL_MAX + 1];
	int len;

	ck_assert_int_eq(mf_serial_hex(X509_get0_serialNumber(x), hex, sizeof(hex)), MF_OK);
	ck_assert_uint_eq(strlen(hex), 32);
	ck_assert_int_eq(mf_db_cert_get(E.db, hex, &r), MF_OK);
	len = i2d_X509(x, &der);
	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq(r->der_len, (size_t)len);
	ck_assert_mem_eq(r->der, der, (size_t)len);
	ck_assert_str_eq(r->serial, hex);
	ck_assert_str_eq(r->issuer, "issuing-1");
	ck_assert_str_eq(r->subject, subject);
	ck_assert_str_eq(r->sans, sans);
	ck_assert_str_eq(r->profile, a->profile->name);
	ck_assert_str_eq(r->requester, "test:issuer");
	ck_assert_mem_eq(r->csr_sha256, a->csr_sha256, 32);
	ck_assert_int_eq(r->not_before, time_of(X509_get0_notBefore(x)));
	ck_assert_int_eq(r->not_after, time_of(X509_get0_notAfter(x)));
	ck_assert_int_eq(r->revoked_at, 0);
	OPENSSL_free(der);
	mf_cert_rec_free(r);
}

START_TEST(test_issue_leaf)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;
	int rc;

	a = approve(mft_csr(k, NULL, "subjectAltName", "DNS:www.example.net,IP:192.0.2.10",
	    NULL), NULL, 0);
	rc = mf_issuer_issue(E.is, E.db, a, E.now, &x);
	ck_assert_msg(rc == MF_OK, "issue: %s", mf_errname(rc));
	check_leaf(x, a, 0);
	check_record(x, a, "CN=www.example.net", "DNS:www.example.net,IP:192.0.2.10");
	ck_assert_int_eq(db_count(E.db), 1);

	/* Real verifiers: OpenSSL strict, through both roots; GnuTLS likewise. */
	ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
	run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -CAfile ra.pem"
	    " -untrusted int.pem leaf.pem");
	run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -CAfile rb.pem"
	    " -untrusted int-b.pem leaf.pem");
	run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -verify_hostname"
	    " www.example.net -verify_ip 192.0.2.10 -CAfile ra.pem -untrusted int.pem leaf.pem");
	/* Each intermediate form chains to its own root only. */
	run_in_dir(0, "openssl verify -x509_strict -CAfile rb.pem -untrusted int.pem leaf.pem");
	run_in_dir(0, "openssl verify -x509_strict -CAfile ra.pem leaf.pem");
	run_in_dir(1, "cat leaf.pem int.pem ra.pem > chain-a.pem &&"
	    " certtool --verify-profile medium --verify-chain --infile chain-a.pem");
	run_in_dir(1, "cat leaf.pem int-b.pem rb.pem > chain-b.pem &&"
	    " certtool --verify-profile medium --verify-chain --infile chain-b.pem");
	run_in_dir(1, "cat leaf.pem int.pem > pair.pem && certtool --verify --verify-profile medium"
	    " --load-ca-certificate ra.pem --verify-purpose 1.3.6.1.5.5.7.3.1"
	    " --verify-hostname www.example.net --infile pair.pem");

	X509_free(x);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

/* An mf_approved built without the CSR's SPKI still gets its key (X509_set_pubkey). */
START_TEST(test_issue_no_spki)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;

	a = approve(mft_csr(k, NULL, "subjectAltName", "DNS:www.example.net", NULL), NULL, 0);
	X509_PUBKEY_free(a->spki);
	a->spki = NULL;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(x), a->pubkey), 1);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(E.ia)), 1);
	X509_free(x);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

/* The split path: sign without the database, then log; nothing is logged twice. */
START_TEST(test_issue_sign_then_log)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL, *y = NULL;
	int n0 = db_count(E.db);

	a = approve(mft_csr(k, NULL, "subjectAltName", "DNS:www.example.net,IP:192.0.2.10",
	    NULL), NULL, 0);
	ck_assert_int_eq(mf_issuer_sign(E.is, a, E.now, NULL), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_sign(E.is, a, E.now, &x), MF_OK);
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(db_count(E.db), n0);	/* signed, not yet logged */
	check_leaf(x, a, 0);
	ck_assert_int_eq(mf_issuer_log(E.is, NULL, a, x, E.now), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_log(E.is, E.db, a, NULL, E.now), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_log(E.is, E.db, a, x, E.now), MF_OK);
	check_record(x, a, "CN=www.example.net", "DNS:www.example.net,IP:192.0.2.10");
	ck_assert_int_eq(db_count(E.db), n0 + 1);
	ck_assert_int_eq(mf_issuer_log(E.is, E.db, a, x, E.now), MF_ERR_SERIAL_DUP);
	ck_assert_int_eq(db_count(E.db), n0 + 1);
	/* The same checks as mf_issuer_issue: an intermediate not yet valid. */
	ck_assert_int_eq(mf_issuer_sign(E.is, a, E.now - 2 * 3600, &y), MF_ERR_CA_EXPIRED);
	ck_assert_ptr_null(y);
	X509_free(x);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_issue_rsa_must_staple)
{
	EVP_PKEY *k = mft_key("rsa2048");
	struct mf_approved *a;
	X509 *x = NULL;

	a = approve(mft_csr(k, "api.example.net", NULL), "staple", 0);
	ck_assert_int_eq(a->lifetime, 6 * 3600);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	check_leaf(x, a, 1);
	check_record(x, a, "CN=api.example.net", "DNS:api.example.net");
	ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
	run_in_dir(1, "openssl verify -x509_strict -purpose sslclient -CAfile ra.pem"
	    " -untrusted int.pem leaf.pem");
	run_in_dir(1, "openssl x509 -in leaf.pem -noout -text | grep -A1 'TLS Feature'"
	    " | grep -q status_request");
	X509_free(x);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_issue_ed25519_no_urls)
{
	EVP_PKEY *k = mft_key("ed25519");
	struct mf_issuer *is = NULL;
	struct mf_approved *a;
	ASN1_BIT_STRING *ku;
	X509 *x = NULL;

	/* Without url_base: no AIA, no CRLDP; the rest as always. */
	E.cfg.url_base = NULL;
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_OK);
	a = approve(mft_csr(k, NULL, "subjectAltName", "IP:192.0.2.44", NULL), NULL, 3600);
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(ext_crit(x, NID_info_access), -1);
	ck_assert_int_eq(ext_crit(x, NID_crl_distribution_points), -1);
	ck_assert_int_eq(X509_get_ext_count(x), 6);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 0), 1);
	ck_assert_int_eq(ASN1_BIT_STRING_get_bit(ku, 2), 0);
	ASN1_BIT_STRING_free(ku);
	/* No DNS name: empty subject, critical SAN (no IP address in a CN). */
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	ck_assert_int_eq(ext_crit(x, NID_subject_alt_name), 1);
	check_record(x, a, "", "IP:192.0.2.44");
	ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
	run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -verify_ip 192.0.2.44"
	    " -CAfile ra.pem -untrusted int.pem leaf.pem");
	run_in_dir(1, "cat leaf.pem int.pem ra.pem > chain-a.pem &&"
	    " certtool --verify-profile medium --verify-chain --infile chain-a.pem");
	X509_free(x);
	mf_approved_free(a);
	mf_issuer_free(is);
	EVP_PKEY_free(k);
}
END_TEST

/*
 * Keys in a real SoftHSM2 token: a root and an intermediate generated in the
 * token, the ceremony signing through the pkcs11 engine, the issuer loading
 * its key by URI and signing leaves with it (P-384: ECDSA with SHA-384).
 */
START_TEST(test_issue_pkcs11)
{
	struct mf_keystore_conf kc;
	struct mf_keystore *ks = NULL;
	struct mf_issuer *is = NULL;
	struct mf_ca_conf hroot, hint;
	struct mf_ca_params p;
	struct mf_approved *a;
	EVP_PKEY *hrk = NULL, *hik = NULL, *k = mft_key("ec-p256");
	char *conf = env_path("softhsm2.conf"), *pinsrc = NULL;
	X509 *r = NULL, *i = NULL, *x = NULL;
	int rc;

	ck_assert_msg(mft_softhsm_setup(E.dir, "mayfly-issuer") == 0, "SoftHSM2 setup failed");
	ck_assert_int_ge(asprintf(&pinsrc, "file:%s/hsm.pin", E.dir), 0);
	kc.module = MF_SOFTHSM_MODULE;
	kc.pin_source = pinsrc;
	kc.softhsm2_conf = conf;
	ck_assert_int_eq(mf_keystore_new(&kc, &ks), MF_OK);
	rc = mf_keystore_generate(ks, "pkcs11:token=mayfly-issuer;object=root-h", MF_KEY_EC_P256,
	    &hrk);
	ck_assert_msg(rc == MF_OK, "generate root: %s", mf_errname(rc));
	rc = mf_keystore_generate(ks, "pkcs11:token=mayfly-issuer;object=issuing-h",
	    MF_KEY_EC_P384, &hik);
	ck_assert_msg(rc == MF_OK, "generate intermediate: %s", mf_errname(rc));

	memset(&p, 0, sizeof(p));
	p.subject = "CN=HSM Root,O=Example";
	p.not_before = E.now - DAY;
	p.lifetime = 20 * YEAR;
	p.pathlen = -1;
	rc = mf_ceremony_root(hrk, &p, &r);
	ck_assert_msg(rc == MF_OK, "root: %s", mf_errname(rc));
	i = make_int(r, hrk, "root-h", hik, E.now - 3600, YEAR);
	ck_assert_int_eq(X509_get_signature_nid(i), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(mft_write_cert(E.dir, "rh.pem", r), 0);
	ck_assert_int_eq(mft_write_cert(E.dir, "inth.pem", i), 0);

	memset(&hroot, 0, sizeof(hroot));
	hroot.name = "root-h";
	hroot.cert = env_path("rh.pem");
	memset(&hint, 0, sizeof(hint));
	hint.name = "issuing-1";
	hint.cert = env_path("inth.pem");
	hint.key = "pkcs11:token=mayfly-issuer;object=issuing-h";
	hint.root = "root-h";
	E.cfg.roots = &hroot;
	E.cfg.nroots = 1;
	E.cfg.intermediates = &hint;
	rc = mf_issuer_new(&E.cfg, ks, NULL, &is);
	ck_assert_msg(rc == MF_OK, "issuer_new: %s", mf_errname(rc));

	a = approve(mft_csr(k, NULL, "subjectAltName", "DNS:hsm.example.net", NULL), NULL, 0);
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(i)), 1);
	ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
	run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -CAfile rh.pem"
	    " -untrusted inth.pem leaf.pem");
	run_in_dir(1, "cat leaf.pem inth.pem rh.pem > chain-h.pem &&"
	    " certtool --verify-profile medium --verify-chain --infile chain-h.pem");
	mf_issuer_free(is);
	is = NULL;

	/* The token key against another certificate: refused at load. */
	free(hint.cert);
	hint.cert = env_path("int.pem");
	E.cfg.roots = E.roots;
	E.cfg.nroots = 2;
	hint.root = "root-a";
	ck_assert_int_eq(mf_issuer_new(&E.cfg, ks, NULL, &is), MF_ERR_CA_MISMATCH);
	ck_assert_ptr_null(is);
	E.cfg.intermediates = E.ints;

	X509_free(x);
	X509_free(i);
	X509_free(r);
	mf_approved_free(a);
	EVP_PKEY_free(hrk);
	EVP_PKEY_free(hik);
	EVP_PKEY_free(k);
	mf_keystore_free(ks);
	free(hroot.cert);
	free(hint.cert);
	free(conf);
	free(pinsrc);
}
END_TEST

START_TEST(test_issue_lifetime)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;

	/* 24h requested with 5 min backdate: notAfter is pulled in, the span is exactly 24h. */
	a = approve(mft_csr(k, "a.example.net", NULL), NULL, DAY);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(time_of(X509_get0_notAfter(x)) - time_of(X509_get0_notBefore(x)), DAY);
	ck_assert_int_eq(time_of(X509_get0_notAfter(x)), E.now + DAY - 300);
	X509_free(x);
	x = NULL;

	/* An approval that lies about its lifetime is caught here too. */
	a->lifetime = DAY + 1;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_ERR_LIFETIME_CAP);
	ck_assert_ptr_null(x);
	a->lifetime = 0;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_ERR_LIFETIME_INVALID);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(db_count(E.db), 1);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

/*
 * A forward-dated approval (issuance.forward-horizon): notBefore exactly as
 * asked, notAfter = notBefore + lifetime, never above the cap; the issuer
 * judges the horizon and the backdate again with its own clock, and the
 * intermediate must cover the whole leaf.
 */
START_TEST(test_issue_forward_dated)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	struct mf_issuer *is = NULL;
	X509 *x = NULL;

	a = approve(mft_csr(k, "a.example.net", NULL), NULL, DAY);
	/* The issuer of env_setup has horizon 0: any date ahead is refused. */
	a->not_before = E.now + 3600;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_ERR_NOT_BEFORE_FUTURE);
	ck_assert_ptr_null(x);

	E.cfg.forward_horizon = 3 * DAY;
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_OK);
	a->not_before = E.now + 2 * DAY;
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(time_of(X509_get0_notBefore(x)), E.now + 2 * DAY);
	ck_assert_int_eq(time_of(X509_get0_notAfter(x)), E.now + 3 * DAY);
	X509_free(x);
	x = NULL;
	/* Exactly at the horizon is allowed, one second beyond is not. */
	a->not_before = E.now + 3 * DAY;
	a->lifetime = 3600;
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_OK);
	X509_free(x);
	x = NULL;
	a->not_before = E.now + 3 * DAY + 1;
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_ERR_NOT_BEFORE_FUTURE);
	/* Further back than the backdate. */
	a->not_before = E.now - 301;
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_ERR_NOT_BEFORE_PAST);
	/* A lying approval is still held to the cap. */
	a->not_before = E.now + DAY;
	a->lifetime = DAY + 1;
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_ERR_LIFETIME_CAP);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(db_count(E.db), 2);
	mf_issuer_free(is);
	is = NULL;

	/* An intermediate that ends in 3 days cannot cover a leaf ending later. */
	env_teardown();
	env_init(NULL, 0, 0, 3 * DAY);
	E.cfg.forward_horizon = 3 * DAY;
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_OK);
	a->lifetime = DAY;
	a->not_before = E.now + 2 * DAY + 3600;
	ck_assert_int_eq(mf_issuer_issue(is, E.db, a, E.now, &x), MF_ERR_CA_EXPIRED);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(db_count(E.db), 0);
	mf_issuer_free(is);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

/* The SPKI hash of a leaf equals that of the key it was issued for; junk is refused. */
START_TEST(test_cert_spki_sha256)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	unsigned char *der = NULL, *spki = NULL, h[32], want[32];
	X509 *x = NULL;
	int len, slen, i;

	a = approve(mft_csr(k, "a.example.net", NULL), NULL, 3600);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	len = i2d_X509(x, &der);
	ck_assert_int_gt(len, 0);
	slen = i2d_PUBKEY(k, &spki);
	ck_assert_int_gt(slen, 0);
	SHA256(spki, (size_t)slen, want);
	ck_assert_int_eq(mf_cert_spki_sha256(der, (size_t)len, h), MF_OK);
	ck_assert_mem_eq(h, want, 32);
	/* Every truncation fails cleanly (none reads past the end: ASan would say). */
	for (i = 1; i < len; i++)
		ck_assert_int_eq(mf_cert_spki_sha256(der, (size_t)i, h), MF_ERR_CRYPTO);
	ck_assert_int_eq(mf_cert_spki_sha256(spki, (size_t)slen, h), MF_ERR_CRYPTO);
	ck_assert_int_eq(mf_cert_spki_sha256(der, 0, h), MF_ERR_INVAL);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	X509_free(x);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_issue_ca_expired)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;

	/* An intermediate that ends in ~2h cannot cover a 24h leaf. */
	env_teardown();
	env_init(NULL, 0, 0, 3 * 3600);
	a = approve(mft_csr(k, "a.example.net", NULL), NULL, 0);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_ERR_CA_EXPIRED);
	ck_assert_ptr_null(x);
	/* It can cover one hour. */
	a->lifetime = 3600;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	X509_free(x);
	x = NULL;
	/* Not yet valid at "now". */
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now - 2 * 3600, &x), MF_ERR_CA_EXPIRED);
	ck_assert_int_eq(db_count(E.db), 1);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_issue_long_name)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;
	const char *name = "a-rather-long-host-name-that-does-not-fit.in-a-common-name.example.net";

	ck_assert_uint_gt(strlen(name), 64);
	a = approve(mft_csr(k, NULL, "subjectAltName",
	    "DNS:a-rather-long-host-name-that-does-not-fit.in-a-common-name.example.net,"
	    "DNS:short.example.net", NULL), NULL, 0);
	ck_assert_str_eq(a->names[0].dns, name);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	/* The CN is the first DNS name that fits; the SAN keeps the order. */
	ck_assert_int_eq(ext_crit(x, NID_subject_alt_name), 0);
	check_record(x, a, "CN=short.example.net", "DNS:a-rather-long-host-name-that-does-not-fit"
	    ".in-a-common-name.example.net,DNS:short.example.net");
	X509_free(x);
	x = NULL;
	mf_approved_free(a);

	/* None fits: empty subject, so the SAN is critical (RFC 5280 4.2.1.6). */
	a = approve(mft_csr(k, NULL, "subjectAltName",
	    "DNS:a-rather-long-host-name-that-does-not-fit.in-a-common-name.example.net", NULL),
	    NULL, 0);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	ck_assert_int_eq(ext_crit(x, NID_subject_alt_name), 1);
	check_record(x, a, "", "DNS:a-rather-long-host-name-that-does-not-fit.in-a-common-name"
	    ".example.net");
	ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
	run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -CAfile ra.pem"
	    " -untrusted int.pem leaf.pem");
	run_in_dir(1, "cat leaf.pem int.pem ra.pem > chain-a.pem &&"
	    " certtool --verify-profile medium --verify-chain --infile chain-a.pem");
	X509_free(x);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

/*
 * Serial collisions, made real: a TEMP trigger inserts a row with the new
 * serial just before the issuer's insert, so SQLite's UNIQUE constraint
 * fires. A C function decides how many inserts collide; its counter lives
 * outside the database, so the rollback of each failed insert cannot reset it.
 */
static int dup_budget, dup_calls;

static void
dup_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	dup_calls++;
	sqlite3_result_int(ctx, dup_budget > 0 ? dup_budget-- > 0 : 0);
}

static void
install_dup_trigger(void)
{
	sqlite3 *h = mf_sql_sqlite(mf_db_handle(E.db));

	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(sqlite3_create_function(h, "mft_dup", 0, SQLITE_UTF8, NULL, dup_fn,
	    NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h,
	    "CREATE TEMP TRIGGER mft_dup_trg BEFORE INSERT ON main.certificates"
	    " WHEN mft_dup() BEGIN"
	    " INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before,"
	    " not_after, requester, csr_sha256, der, issued_at) VALUES (NEW.serial, 'x', 'x',"
	    " 'x', 'x', 1, 2, 'x', zeroblob(32), x'00', 1); END", NULL, NULL, NULL), SQLITE_OK);
}

START_TEST(test_issue_serial_dup)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;

	a = approve(mft_csr(k, "a.example.net", NULL), NULL, 0);
	install_dup_trigger();

	/* Two collisions, then a fresh serial goes through. */
	dup_budget = 2;
	dup_calls = 0;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
	ck_assert_int_eq(dup_calls, 3);
	ck_assert_int_eq(db_count(E.db), 1);
	check_record(x, a, "CN=a.example.net", "DNS:a.example.net");
	X509_free(x);
	x = NULL;

	/* Collisions every time: three tries, then the code, and nothing out. */
	dup_budget = 100;
	dup_calls = 0;
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_ERR_SERIAL_DUP);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(dup_calls, 3);
	ck_assert_int_eq(db_count(E.db), 1);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_issue_db_error)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	struct mf_db *ro = NULL;
	char *path = env_path("mayfly.db");
	X509 *x = (X509 *)1;
	int rc;

	/* A read-only connection refuses the insert: no certificate comes back. */
	ck_assert_int_eq(mf_db_open(path, MF_DB_READONLY, &ro), MF_OK);
	a = approve(mft_csr(k, "a.example.net", NULL), NULL, 0);
	rc = mf_issuer_issue(E.is, ro, a, E.now, &x);
	ck_assert_msg(rc == MF_ERR_DB, "got %s", mf_errname(rc));
	ck_assert_ptr_null(x);
	ck_assert_int_eq(db_count(E.db), 0);
	mf_db_close(ro);
	free(path);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_issue_fault_after_sign)
{
#ifdef MF_FAULT_INJECTION
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	pid_t pid;
	int st = 0;

	a = approve(mft_csr(k, "a.example.net", NULL), NULL, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		struct mf_db *db = NULL;
		char *path = env_path("mayfly.db");
		X509 *x = NULL;

		setrlimit(RLIMIT_CORE, &nocore);
		setenv("MAYFLY_FAULT", "after-sign", 1);
		if (mf_db_open(path, 0, &db) != MF_OK)
			_exit(2);
		(void)mf_issuer_issue(E.is, db, a, E.now, &x);
		_exit(x != NULL ? 3 : 4);	/* the hook did not fire */
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child status %d", st);
	ck_assert_int_eq(db_count(E.db), 0);
	mf_approved_free(a);
	EVP_PKEY_free(k);
#else
	ck_assert_int_eq(mf_fault("after-sign"), 0);
#endif
}
END_TEST

START_TEST(test_issuer_new_errors)
{
	struct mf_issuer *is = (struct mf_issuer *)1;
	EVP_PKEY *other = mft_key("ec-p256");
	char *good = E.ints[0].key, *bad = NULL, *saved;

	ck_assert_str_eq(mf_issuer_name(E.is), "issuing-1");
	ck_assert_int_eq(X509_cmp(mf_issuer_cert(E.is), E.ia), 0);
	ck_assert_int_eq(EVP_PKEY_eq(mf_issuer_key(E.is), kint), 1);

	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, "nosuch", &is), MF_ERR_CA_NOTFOUND);
	ck_assert_ptr_null(is);
	E.cfg.active_intermediate = "nosuch";
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_NOTFOUND);
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, "issuing-1", &is), MF_OK);
	mf_issuer_free(is);
	E.cfg.active_intermediate = NULL;

	/* The wrong key for the certificate. */
	ck_assert_int_eq(mft_write_key(E.dir, "other.key", other), 0);
	ck_assert_int_ge(asprintf(&bad, "file:%s/other.key", E.dir), 0);
	E.ints[0].key = bad;
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_MISMATCH);
	ck_assert_ptr_null(is);
	E.ints[0].key = good;

	/* The configured root did not sign this intermediate. */
	E.ints[0].root = "root-b";
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_MISMATCH);
	E.ints[0].root = "root-c";
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_NOTFOUND);
	E.ints[0].root = "root-a";

	/* A "cross" certificate for another key. */
	saved = E.cross[0];
	E.cross[0] = E.roots[1].cert;
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_MISMATCH);
	E.cross[0] = saved;
	/* A cross certificate signed by no configured root. */
	E.cfg.nroots = 1;
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_NOTFOUND);
	E.cfg.nroots = 2;
	/* A certificate file that is missing, or not PEM. */
	saved = E.ints[0].cert;
	E.ints[0].cert = env_path("missing.pem");
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CA_NOTFOUND);
	ck_assert_ptr_null(is);
	free(E.ints[0].cert);
	E.ints[0].cert = env_path("int.key");
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_ERR_CRYPTO);
	free(E.ints[0].cert);
	E.ints[0].cert = saved;
	/* And everything restored works again. */
	ck_assert_int_eq(mf_issuer_new(&E.cfg, E.ks, NULL, &is), MF_OK);
	mf_issuer_free(is);
	free(bad);
	EVP_PKEY_free(other);
}
END_TEST

START_TEST(test_issue_args)
{
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = (X509 *)1;

	a = approve(mft_csr(k, "a.example.net", NULL), NULL, 0);
	ck_assert_int_eq(mf_issuer_issue(NULL, E.db, a, E.now, &x), MF_ERR_INVAL);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(mf_issuer_issue(E.is, NULL, a, E.now, &x), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, NULL, E.now, &x), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, 0, &x), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, NULL), MF_ERR_INVAL);
	ck_assert_int_eq(mf_issuer_new(NULL, E.ks, NULL, (struct mf_issuer **)&x), MF_ERR_INVAL);
	ck_assert_ptr_null(x);
	ck_assert_ptr_null(mf_issuer_cert(NULL));
	ck_assert_ptr_null(mf_issuer_name(NULL));
	mf_issuer_free(NULL);
	ck_assert_int_eq(db_count(E.db), 0);
	mf_approved_free(a);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_chain_pem)
{
	char *pem = NULL;
	BIO *b;
	X509 *x;

	ck_assert_int_eq(mf_issuer_chain_pem(E.is, NULL, &pem), MF_OK);
	b = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ck_assert_int_eq(X509_cmp(x, E.ia), 0);
	/* One certificate only: the root is never sent. */
	ck_assert_ptr_null(PEM_read_bio_X509(b, NULL, NULL, NULL));
	X509_free(x);
	BIO_free(b);
	free(pem);

	ck_assert_int_eq(mf_issuer_chain_pem(E.is, "root-a", &pem), MF_OK);
	b = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ck_assert_int_eq(X509_cmp(x, E.ia), 0);
	X509_free(x);
	BIO_free(b);
	free(pem);

	ck_assert_int_eq(mf_issuer_chain_pem(E.is, "root-b", &pem), MF_OK);
	b = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	ck_assert_int_eq(X509_cmp(x, E.ib), 0);
	X509_free(x);
	BIO_free(b);
	free(pem);

	pem = (char *)1;
	ck_assert_int_eq(mf_issuer_chain_pem(E.is, "root-c", &pem), MF_ERR_CA_NOTFOUND);
	ck_assert_ptr_null(pem);
}
END_TEST

START_TEST(test_serial_hex)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	char buf[2 * MF_SERIAL_MAX + 1];
	BIGNUM *bn = NULL;

	ck_assert_int_eq(ASN1_INTEGER_set(i, 0x0102), 1);
	ck_assert_int_eq(mf_serial_hex(i, buf, sizeof(buf)), MF_OK);
	ck_assert_str_eq(buf, "0102");
	ck_assert_int_eq(ASN1_INTEGER_set(i, 0xabcdef), 1);
	ck_assert_int_eq(mf_serial_hex(i, buf, sizeof(buf)), MF_OK);
	ck_assert_str_eq(buf, "abcdef");
	ck_assert_int_eq(mf_serial_hex(i, buf, 6), MF_ERR_INVAL);
	ck_assert_int_eq(ASN1_INTEGER_set(i, 0), 1);
	ck_assert_int_eq(mf_serial_hex(i, buf, sizeof(buf)), MF_OK);
	ck_assert_str_eq(buf, "00");
	ck_assert_int_eq(ASN1_INTEGER_set(i, -5), 1);
	ck_assert_int_eq(mf_serial_hex(i, buf, sizeof(buf)), MF_ERR_INVAL);
	/* 20 octets, the RFC 5280 maximum, fits the record's buffer. */
	ck_assert_int_eq(BN_hex2bn(&bn, "7fffffffffffffffffffffffffffffffffffffff"), 40);
	ck_assert_ptr_nonnull(BN_to_ASN1_INTEGER(bn, i));
	ck_assert_int_eq(mf_serial_hex(i, buf, sizeof(buf)), MF_OK);
	ck_assert_str_eq(buf, "7fffffffffffffffffffffffffffffffffffffff");
	BN_free(bn);
	ASN1_INTEGER_free(i);
}
END_TEST

START_TEST(test_name_constraints)
{
	const char *permitted[] = { "example.net" };
	EVP_PKEY *k = mft_key("ec-p256");
	struct mf_approved *a;
	X509 *x = NULL;
	int on_b;

	/* Root A, then root B (the cross-signer), limited to example.net. */
	for (on_b = 0; on_b < 2; on_b++) {
		env_teardown();
		env_init(permitted, 1, on_b, YEAR);

		/* Inside: issued, and both libraries accept it through that root. */
		a = approve(mft_csr(k, NULL, "subjectAltName", "DNS:www.example.net", NULL), NULL,
		    0);
		ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
		ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
		run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -CAfile ra.pem"
		    " -untrusted int.pem leaf.pem");
		run_in_dir(1, "openssl verify -x509_strict -purpose sslserver -CAfile rb.pem"
		    " -untrusted int-b.pem leaf.pem");
		run_in_dir(1, "cat leaf.pem int.pem ra.pem > chain-a.pem &&"
		    " certtool --verify-profile medium --verify-chain --infile chain-a.pem");
		run_in_dir(1, "cat leaf.pem int-b.pem rb.pem > chain-b.pem &&"
		    " certtool --verify-profile medium --verify-chain --infile chain-b.pem");
		X509_free(x);
		x = NULL;
		mf_approved_free(a);

		/* An IP address is not constrained by DNS constraints, and has no CN. */
		a = approve(mft_csr(k, NULL, "subjectAltName", "IP:192.0.2.5", NULL), NULL, 0);
		ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_OK);
		ck_assert_int_eq(mft_write_cert(E.dir, "leaf.pem", x), 0);
		run_in_dir(1, on_b ? "openssl verify -x509_strict -purpose sslserver -CAfile rb.pem"
		    " -untrusted int-b.pem leaf.pem" : "openssl verify -x509_strict -purpose"
		    " sslserver -CAfile ra.pem -untrusted int.pem leaf.pem");
		X509_free(x);
		x = NULL;
		mf_approved_free(a);

		/*
		 * Outside the constraint: the profile allows it, the root does
		 * not. Refused before logging, so nothing unusable goes out.
		 */
		E.dns[0] = ".example.com";
		a = approve(mft_csr(k, NULL, "subjectAltName", "DNS:www.example.com", NULL), NULL,
		    0);
		ck_assert_int_eq(mf_issuer_issue(E.is, E.db, a, E.now, &x), MF_ERR_NAME_POLICY);
		ck_assert_ptr_null(x);
		ck_assert_int_eq(db_count(E.db), 2);
		mf_approved_free(a);
		E.dns[0] = ".example.net";
	}
	EVP_PKEY_free(k);
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
	tcase_add_test(tc, test_ed25519_chain);
	tcase_add_test(tc, test_intermediate_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("issuer");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_issue_leaf);
	tcase_add_test(tc, test_issue_no_spki);
	tcase_add_test(tc, test_issue_sign_then_log);
	tcase_add_test(tc, test_issue_rsa_must_staple);
	tcase_add_test(tc, test_issue_ed25519_no_urls);
	tcase_add_test(tc, test_issue_pkcs11);
	tcase_add_test(tc, test_issue_lifetime);
	tcase_add_test(tc, test_issue_ca_expired);
	tcase_add_test(tc, test_issue_forward_dated);
	tcase_add_test(tc, test_cert_spki_sha256);
	tcase_add_test(tc, test_issue_long_name);
	tcase_add_test(tc, test_issue_serial_dup);
	tcase_add_test(tc, test_issue_db_error);
	tcase_add_test(tc, test_issue_fault_after_sign);
	tcase_add_test(tc, test_issuer_new_errors);
	tcase_add_test(tc, test_issue_args);
	tcase_add_test(tc, test_chain_pem);
	tcase_add_test(tc, test_serial_hex);
	tcase_add_test(tc, test_name_constraints);
	suite_add_tcase(s, tc);
	return s;
}
