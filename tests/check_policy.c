/*
 * check_policy.c: the policy gate. Every refusal code of mf_policy_check()
 * is provoked by a CSR built for it in-process (a broken signature,
 * RSA-1024, secp256k1, CA:TRUE, keyCertSign, names out of policy, ...), and
 * the happy paths check what the approval carries to the issuer.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "fixtures.h"
#include "mferr.h"
#include "pki.h"
#include "policy.h"
#include "suites.h"
#include "util.h"

#define ALL_KT	(MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_RSA | MF_KT_ED25519)

static char *server_dns[] = { "host.example.com", ".example.net" };
static char *wild_dns[] = { ".example.org" };
static struct mf_iprange server_ip[2];
static struct mf_profile profiles[4];
static struct mf_config cfg;

/* Keys are slow to make (RSA); each is made once per test process. */
static EVP_PKEY *k256, *k384, *krsa;

static void
keys_setup(void)
{
	k256 = mft_key("ec-p256");
	k384 = mft_key("ec-p384");
	krsa = mft_key("rsa2048");
}

static void
keys_teardown(void)
{
	EVP_PKEY_free(k256);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(krsa);
	k256 = k384 = krsa = NULL;
}

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(profiles, 0, sizeof(profiles));
	memset(server_ip, 0, sizeof(server_ip));

	server_ip[0].family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.0", server_ip[0].addr), 1);
	server_ip[0].prefix = 24;
	server_ip[1].family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::", server_ip[1].addr), 1);
	server_ip[1].prefix = 32;

	profiles[0].name = "server";
	profiles[0].key_types = ALL_KT;
	profiles[0].rsa_min_bits = 2048;
	profiles[0].dns = server_dns;
	profiles[0].ndns = 2;
	profiles[0].ip = server_ip;
	profiles[0].nip = 2;
	profiles[0].eku = MF_EKU_SERVER;
	profiles[0].default_lifetime = 24 * 3600;
	profiles[0].max_lifetime = 24 * 3600;

	profiles[1] = profiles[0];
	profiles[1].name = "wild";
	profiles[1].dns = wild_dns;
	profiles[1].ndns = 1;
	profiles[1].wildcard = 1;
	profiles[1].nip = 0;

	profiles[2] = profiles[0];
	profiles[2].name = "short";
	profiles[2].key_types = MF_KT_EC_P256;
	profiles[2].rsa_min_bits = 3072;
	profiles[2].default_lifetime = 3600;
	profiles[2].max_lifetime = 3600;

	profiles[3] = profiles[0];
	profiles[3].name = "rsa3072";
	profiles[3].key_types = MF_KT_RSA;
	profiles[3].rsa_min_bits = 3072;

	cfg.profiles = profiles;
	cfg.nprofiles = 4;
	cfg.hard_cap = 24 * 3600;
	cfg.backdate = 300;
	ck_assert_ptr_nonnull(k256);
	ck_assert_ptr_nonnull(k384);
	ck_assert_ptr_nonnull(krsa);
}

/*
 * Runs the policy on csr (consumed) and returns the code; *why filled.
 * The policy runs twice: on the object as built, and on what
 * mf_csr_parse() makes of its DER (the network's path, where EC and
 * Ed25519 keys are not decoded while parsing). Both must agree.
 */
static int
check(X509_REQ *csr, const char *profile, int64_t lifetime, struct mf_approved **out,
    char *why, size_t whylen)
{
	struct mf_request req = { csr, profile, lifetime, "test:policy", 0, 0, 0 };
	struct mf_approved *a = NULL;
	X509_REQ *parsed = NULL;
	unsigned char *der = NULL;
	char why2[256];
	int rc, rc2, len;

	ck_assert_ptr_nonnull(csr);
	len = i2d_X509_REQ(csr, &der);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(mf_csr_parse(der, (size_t)len, &parsed), MF_OK);
	OPENSSL_free(der);
	req.csr = parsed;
	rc2 = mf_policy_check(&cfg, &req, &a, why2, sizeof(why2));
	mf_approved_free(a);
	a = NULL;
	X509_REQ_free(parsed);
	req.csr = csr;
	rc = mf_policy_check(&cfg, &req, &a, why, whylen);
	ck_assert_msg(rc == rc2, "parsed CSR: %s (%s), built CSR: %s (%s)", mf_errname(rc2), why2,
	    mf_errname(rc), why);
	ck_assert_str_eq(why2, why);
	if (rc == MF_OK)
		ck_assert_ptr_nonnull(a);
	else
		ck_assert_ptr_null(a);
	if (out != NULL)
		*out = a;
	else
		mf_approved_free(a);
	X509_REQ_free(csr);
	return rc;
}

/* Expects code rc for csr, and that why mentions needle. */
static void
refuse(X509_REQ *csr, const char *profile, int64_t lifetime, int code, const char *needle)
{
	char why[256];
	int rc = check(csr, profile, lifetime, NULL, why, sizeof(why));

	ck_assert_msg(rc == code, "expected %s, got %s (%s)", mf_errname(code), mf_errname(rc),
	    why);
	if (needle != NULL)
		ck_assert_msg(strstr(why, needle) != NULL, "why \"%s\" lacks \"%s\"", why, needle);
	ck_assert_ptr_null(strchr(why, '\n'));
}

static void
accept_csr(X509_REQ *csr, const char *profile)
{
	char why[256];
	int rc = check(csr, profile, 0, NULL, why, sizeof(why));

	ck_assert_msg(rc == MF_OK, "refused: %s (%s)", mf_errname(rc), why);
}

static X509_REQ *
san(EVP_PKEY *k, const char *names)
{
	return mft_csr(k, NULL, "subjectAltName", names, NULL);
}

START_TEST(test_happy_ec)
{
	struct mf_approved *a = NULL;
	unsigned char *der = NULL, md[32];
	unsigned char ip6[16];
	X509_REQ *csr;
	char why[256];
	int len;

	csr = mft_csr(k256, "ignored.example.com", "subjectAltName",
	    "DNS:Host.Example.COM,DNS:a.example.net,IP:192.0.2.7,IP:2001:db8::1",
	    "keyUsage", "critical,digitalSignature", "basicConstraints", "critical,CA:FALSE",
	    "extendedKeyUsage", "serverAuth", NULL);
	ck_assert_ptr_nonnull(csr);
	len = mft_csr_der(csr, &der);
	ck_assert_int_gt(len, 0);
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);

	ck_assert_int_eq(check(csr, NULL, 0, &a, why, sizeof(why)), MF_OK);
	ck_assert_str_eq(why, "ok");
	ck_assert_str_eq(a->profile->name, "server");
	ck_assert_int_eq(a->lifetime, 24 * 3600);
	ck_assert_str_eq(a->requester, "test:policy");
	ck_assert_mem_eq(a->csr_sha256, md, 32);
	ck_assert_int_eq(EVP_PKEY_eq(a->pubkey, k256), 1);
	ck_assert_uint_eq(a->nnames, 4);
	/* In CSR order, DNS lower-cased; the CN is not a name when there is a SAN. */
	ck_assert_int_eq(a->names[0].type, MF_NAME_DNS);
	ck_assert_str_eq(a->names[0].dns, "host.example.com");
	ck_assert_str_eq(a->names[1].dns, "a.example.net");
	ck_assert_int_eq(a->names[2].type, MF_NAME_IP);
	ck_assert_uint_eq(a->names[2].iplen, 4);
	ck_assert_mem_eq(a->names[2].ip, "\xc0\x00\x02\x07", 4);
	ck_assert_int_eq(a->names[3].type, MF_NAME_IP);
	ck_assert_uint_eq(a->names[3].iplen, 16);
	inet_pton(AF_INET6, "2001:db8::1", ip6);
	ck_assert_mem_eq(a->names[3].ip, ip6, 16);
	mf_approved_free(a);
}
END_TEST

START_TEST(test_happy_keys)
{
	EVP_PKEY *ed = mft_key("ed25519");

	ck_assert_ptr_nonnull(ed);
	accept_csr(san(k384, "DNS:b.example.net"), NULL);
	accept_csr(san(krsa, "DNS:b.example.net"), NULL);
	accept_csr(san(ed, "DNS:b.example.net"), NULL);
	/* IDNA A-labels are plain LDH. */
	accept_csr(san(k256, "DNS:xn--bcher-kva.example.net"), NULL);
	EVP_PKEY_free(ed);
}
END_TEST

START_TEST(test_lifetime)
{
	struct mf_approved *a = NULL;
	char why[256];

	/* 0: the profile default. */
	ck_assert_int_eq(check(san(k256, "DNS:b.example.net"), "short", 0, &a, why, sizeof(why)),
	    MF_OK);
	ck_assert_int_eq(a->lifetime, 3600);
	mf_approved_free(a);
	ck_assert_int_eq(check(san(k256, "DNS:b.example.net"), NULL, 7200, &a, why, sizeof(why)),
	    MF_OK);
	ck_assert_int_eq(a->lifetime, 7200);
	mf_approved_free(a);
	/* Exactly the cap is fine. */
	ck_assert_int_eq(check(san(k256, "DNS:b.example.net"), NULL, 86400, &a, why,
	    sizeof(why)), MF_OK);
	mf_approved_free(a);

	refuse(san(k256, "DNS:b.example.net"), NULL, 25 * 3600, MF_ERR_LIFETIME_CAP, "90000");
	refuse(san(k256, "DNS:b.example.net"), NULL, -1, MF_ERR_LIFETIME_INVALID, "-1");
	refuse(san(k256, "DNS:b.example.net"), "short", 7200, MF_ERR_LIFETIME_PROFILE, "7200");

	/* A smaller configured cap binds... */
	cfg.hard_cap = 12 * 3600;
	refuse(san(k256, "DNS:b.example.net"), NULL, 13 * 3600, MF_ERR_LIFETIME_CAP, "43200");
	/* ... so does the profile default if it is above it. */
	refuse(san(k256, "DNS:b.example.net"), NULL, 0, MF_ERR_LIFETIME_CAP, "86400");
	/* A configured cap above 24h is ignored: 24h is the ceiling regardless. */
	cfg.hard_cap = 48 * 3600;
	profiles[0].max_lifetime = 48 * 3600;
	refuse(san(k256, "DNS:b.example.net"), NULL, 25 * 3600, MF_ERR_LIFETIME_CAP, "86400");
}
END_TEST

START_TEST(test_profile)
{
	refuse(san(k256, "DNS:b.example.net"), "nosuch", 0, MF_ERR_PROFILE, "nosuch");
}
END_TEST

START_TEST(test_csr_signature)
{
	X509_REQ *good = san(k256, "DNS:b.example.net");
	X509_REQ *bad = mft_csr_break_sig(good);

	X509_REQ_free(good);
	refuse(bad, NULL, 0, MF_ERR_CSR_SIGNATURE, "signature");
	good = san(krsa, "DNS:b.example.net");
	bad = mft_csr_break_sig(good);
	X509_REQ_free(good);
	refuse(bad, NULL, 0, MF_ERR_CSR_SIGNATURE, "signature");
}
END_TEST

/* skip_signature (the listener's early check) passes a bad signature and nothing else. */
START_TEST(test_csr_skip_signature)
{
	X509_REQ *good = san(k256, "DNS:b.example.net");
	X509_REQ *bad = mft_csr_break_sig(good);
	struct mf_request req = { bad, NULL, 0, "test:policy", 1, 0, 0 };
	struct mf_approved *a = NULL;
	char why[256];

	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_OK);
	mf_approved_free(a);
	a = NULL;
	req.skip_signature = 0;
	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_ERR_CSR_SIGNATURE);
	X509_REQ_free(bad);
	X509_REQ_free(good);
	/* Every other check still applies. */
	bad = mft_csr_break_sig(good = san(k256, "DNS:evil.example.com"));
	req.csr = bad;
	req.skip_signature = 1;
	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_ERR_NAME_POLICY);
	ck_assert_ptr_null(a);
	X509_REQ_free(bad);
	X509_REQ_free(good);
}
END_TEST

START_TEST(test_csr_parse)
{
	X509_REQ *csr = san(k256, "DNS:b.example.net"), *got = NULL;
	unsigned char *der = NULL, *pem, *trail;
	EVP_PKEY *key;
	BIO *b;
	long pemlen;
	int len;
	char *p;

	len = mft_csr_der(csr, &der);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(mf_csr_parse(der, (size_t)len, &got), MF_OK);
	key = mf_csr_pubkey(got);
	ck_assert_ptr_nonnull(key);
	ck_assert_int_eq(EVP_PKEY_eq(key, k256), 1);
	ck_assert_int_eq(X509_REQ_verify(got, key), 1);
	/* The fast path took it: the key was not decoded while parsing. */
	ERR_set_mark();
	ck_assert_ptr_null(X509_REQ_get0_pubkey(got));
	ERR_pop_to_mark();
	EVP_PKEY_free(key);
	X509_REQ_free(got);

	/* PEM, with leading whitespace, and the old "NEW CERTIFICATE REQUEST" label. */
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(BIO_puts(b, "\n  "), 3);	/* the BEGIN line is then indented */
	ck_assert_int_eq(PEM_write_bio_X509_REQ_NEW(b, csr), 1);
	pemlen = BIO_get_mem_data(b, &p);
	pem = (unsigned char *)p;
	ck_assert_ptr_nonnull(strstr(p, "NEW CERTIFICATE REQUEST"));
	ck_assert_int_eq(mf_csr_parse(pem, (size_t)pemlen, &got), MF_OK);
	X509_REQ_free(got);

	/* Trailing bytes after DER, truncation, garbage, empty. */
	trail = malloc((size_t)len + 1);
	memcpy(trail, der, (size_t)len);
	trail[len] = 0;
	got = (X509_REQ *)1;
	ck_assert_int_eq(mf_csr_parse(trail, (size_t)len + 1, &got), MF_ERR_CSR_PARSE);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(mf_csr_parse(der, (size_t)len - 1, &got), MF_ERR_CSR_PARSE);
	ck_assert_int_eq(mf_csr_parse((const unsigned char *)"hello", 5, &got),
	    MF_ERR_CSR_PARSE);
	p = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n";
	ck_assert_int_eq(mf_csr_parse((const unsigned char *)p, strlen(p), &got),
	    MF_ERR_CSR_PARSE);
	ck_assert_int_eq(mf_csr_parse(der, 0, &got), MF_ERR_CSR_PARSE);
	ck_assert_int_eq(mf_csr_parse(NULL, 10, &got), MF_ERR_CSR_PARSE);
	free(trail);
	BIO_free(b);
	OPENSSL_free(der);
	X509_REQ_free(csr);
}
END_TEST

/* A point that is not on the curve parses (the key is not decoded then) but is refused. */
START_TEST(test_csr_bad_point)
{
	X509_REQ *csr = san(k256, "DNS:b.example.net"), *got = NULL;
	unsigned char *der = NULL, pub[133], *at;
	struct mf_request req = { NULL, NULL, 0, "test:policy", 0, 0, 0 };
	struct mf_approved *a = NULL;
	size_t publen = 0;
	char why[256];
	int len;

	len = mft_csr_der(csr, &der);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(EVP_PKEY_get_octet_string_param(k256, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &publen), 1);
	at = memmem(der, (size_t)len, pub, publen);
	ck_assert_ptr_nonnull(at);
	at[publen - 1] ^= 0x01;		/* y no longer fits x */
	ck_assert_int_eq(mf_csr_parse(der, (size_t)len, &got), MF_OK);
	ck_assert_ptr_null(mf_csr_pubkey(got));
	req.csr = got;
	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_ERR_CSR_PARSE);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(why, "malformed"));
	X509_REQ_free(got);
	OPENSSL_free(der);
	X509_REQ_free(csr);
}
END_TEST

START_TEST(test_key_weak)
{
	EVP_PKEY *k1024 = mft_key("rsa1024");

	ck_assert_ptr_nonnull(k1024);
	refuse(san(k1024, "DNS:b.example.net"), NULL, 0, MF_ERR_KEY_WEAK, "1024");
	/* Profile minimum above 2048. */
	refuse(san(krsa, "DNS:b.example.net"), "rsa3072", 0, MF_ERR_KEY_WEAK, "3072");
	/* A profile cannot go below 2048. */
	profiles[0].rsa_min_bits = 1024;
	refuse(san(k1024, "DNS:b.example.net"), NULL, 0, MF_ERR_KEY_WEAK, "2048");
	EVP_PKEY_free(k1024);
}
END_TEST

START_TEST(test_key_curve)
{
	EVP_PKEY *k = mft_key("secp256k1");

	ck_assert_ptr_nonnull(k);
	refuse(san(k, "DNS:b.example.net"), NULL, 0, MF_ERR_KEY_CURVE, "secp256k1");
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_key_alg)
{
	EVP_PKEY *ed = mft_key("ed25519"), *ed448 = mft_key("ed448");

	/* "short" allows EC P-256 only. */
	refuse(san(krsa, "DNS:b.example.net"), "short", 0, MF_ERR_KEY_ALG, "RSA");
	refuse(san(k384, "DNS:b.example.net"), "short", 0, MF_ERR_KEY_ALG, "P-384");
	refuse(san(ed, "DNS:b.example.net"), "short", 0, MF_ERR_KEY_ALG, "Ed25519");
	refuse(san(k256, "DNS:b.example.net"), "rsa3072", 0, MF_ERR_KEY_ALG, "P-256");
	/* A signing algorithm OpenSSL knows but the CA never accepts. */
	refuse(san(ed448, "DNS:b.example.net"), NULL, 0, MF_ERR_KEY_ALG, "ED448");
	/* A profile whose key_types nobody set allows nothing (fails closed). */
	profiles[0].key_types = 0;
	refuse(san(k256, "DNS:b.example.net"), NULL, 0, MF_ERR_KEY_ALG, "P-256");
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed448);
}
END_TEST

START_TEST(test_csr_ca)
{
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "basicConstraints", "critical,CA:TRUE", NULL), NULL, 0, MF_ERR_CSR_CA, "CA:TRUE");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "basicConstraints", "CA:TRUE,pathlen:0", NULL), NULL, 0, MF_ERR_CSR_CA, "CA:TRUE");
}
END_TEST

START_TEST(test_csr_keycertsign)
{
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "keyUsage", "critical,digitalSignature,keyCertSign", NULL), NULL, 0,
	    MF_ERR_CSR_KEYCERTSIGN, "keyCertSign");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "keyUsage", "cRLSign", NULL), NULL, 0, MF_ERR_CSR_KEYCERTSIGN, "cRLSign");
}
END_TEST

START_TEST(test_csr_extension)
{
	refuse(san(k256, "DNS:b.example.net,email:root@example.net"), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "email");
	refuse(san(k256, "URI:https://b.example.net/"), NULL, 0, MF_ERR_CSR_EXTENSION, "URI");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "subjectAltName", "DNS:c.example.net", NULL), NULL, 0, MF_ERR_CSR_EXTENSION, "twice");
}
END_TEST

/*
 * Issue 11's abuse table: extensions the CA used to ignore silently. None
 * was ever copied into a certificate; now each is refused by name, so a
 * requester never gets a certificate that quietly lacks what it asked for.
 */
START_TEST(test_csr_ext_refused)
{
	X509_REQ *r;
	STACK_OF(X509_EXTENSION) *exts;
	X509_EXTENSION *bc;
	BASIC_CONSTRAINTS *ca;

	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "1.3.6.1.4.1.55555.1", "ASN1:UTF8String:hello", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "extension 1.3.6.1.4.1.55555.1, which mayfly does not issue");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "1.3.6.1.4.1.55555.1", "critical,ASN1:UTF8String:hello", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "critical extension 1.3.6.1.4.1.55555.1");
	/* Known to OpenSSL but not something a leaf is issued with. */
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "issuerAltName", "DNS:ca.example.net", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "(issuerAltName), which mayfly does not issue");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "nameConstraints", "critical,permitted;DNS:.example.net", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "critical nameConstraints: an extension only a CA");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "policyConstraints", "requireExplicitPolicy:0", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "policyConstraints: an extension only a CA");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "inhibitAnyPolicy", "0", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "inhibitAnyPolicy: an extension only a CA");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "policyMappings", "1.2.3.4:1.2.3.5", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "policyMappings: an extension only a CA");
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "certificatePolicies", "DER:30:07:30:05:06:03:2a:03:04", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "certificatePolicies: mayfly asserts no certificate policy");
	/* Twice, harmless values: still refused (RFC 5280 4.2). */
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "keyUsage", "digitalSignature", "keyUsage", "digitalSignature", NULL), NULL, 0,
	    MF_ERR_CSR_EXTENSION, "keyUsage twice");
	/*
	 * A second extension request (Microsoft's attribute) asking for
	 * CA:TRUE: OpenSSL reads only the first, so it used to pass unseen.
	 */
	r = san(k256, "DNS:b.example.net");
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(exts = sk_X509_EXTENSION_new_null());
	ck_assert_ptr_nonnull(ca = BASIC_CONSTRAINTS_new());
	ca->ca = 0xff;
	ck_assert_ptr_nonnull(bc = X509V3_EXT_i2d(NID_basic_constraints, 1, ca));
	ck_assert_int_eq(sk_X509_EXTENSION_push(exts, bc), 1);
	ck_assert_int_eq(X509_REQ_add_extensions_nid(r, exts, NID_ms_ext_req), 1);
	ck_assert_int_gt(X509_REQ_sign(r, k256, EVP_sha256()), 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	BASIC_CONSTRAINTS_free(ca);
	refuse(r, NULL, 0, MF_ERR_CSR_EXTENSION, "2 extension requests");
}
END_TEST

/* What common clients put in a CSR is ignored, and the profile decides. */
START_TEST(test_csr_ext_ignored)
{
	struct mf_approved *a = NULL;
	char why[256];

	accept_csr(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "basicConstraints", "critical,CA:FALSE",
	    "keyUsage", "critical,digitalSignature,keyEncipherment",
	    "extendedKeyUsage", "codeSigning,anyExtendedKeyUsage",
	    "subjectKeyIdentifier", "hash", "tlsfeature", "status_request", NULL), NULL);
	ck_assert_int_eq(check(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "extendedKeyUsage", "codeSigning", NULL), NULL, 0, &a, why, sizeof(why)), MF_OK);
	ck_assert_uint_eq(a->nnames, 1);
	mf_approved_free(a);
	/* Ignored, but not unparsed: a malformed one is still refused. */
	refuse(mft_csr(k256, NULL, "subjectAltName", "DNS:b.example.net",
	    "extendedKeyUsage", "DER:04:01:00", NULL), NULL, 0, MF_ERR_CSR_EXTENSION,
	    "extendedKeyUsage is malformed");
}
END_TEST

/* RSA with e = 3 was issued; e must be odd and at least 65537. */
START_TEST(test_key_rsa_exponent)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k3 = NULL;
	BIGNUM *e = BN_new();

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(BN_set_word(e, 3), 1);
	ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(ctx, &k3), 1);
	refuse(san(k3, "DNS:b.example.net"), NULL, 0, MF_ERR_KEY_WEAK,
	    "RSA public exponent 3 is not an odd number of at least 65537");
	/* 65537 (krsa) passes. */
	accept_csr(san(krsa, "DNS:b.example.net"), NULL);
	EVP_PKEY_free(k3);
	EVP_PKEY_CTX_free(ctx);
	BN_free(e);
}
END_TEST

/*
 * P-256 spelled out as explicit parameters: OpenSSL 3.0 names the group
 * prime256v1, so the key check passed it and the leaf carried the
 * explicit parameters (the SPKI is copied as sent).
 */
START_TEST(test_key_explicit_curve)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[3];
	EVP_PKEY *k = NULL;
	X509_REQ *r;
	const X509_ALGOR *alg;
	int ptype;

	ck_assert_ptr_nonnull(ctx);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING,
	    OSSL_PKEY_EC_ENCODING_EXPLICIT, 0);
	params[2] = OSSL_PARAM_construct_end();
	ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_params(ctx, params), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(ctx, &k), 1);
	r = san(k, "DNS:b.example.net");
	ck_assert_ptr_nonnull(r);
	/* The CSR really carries explicit parameters (not a named curve). */
	ck_assert_int_eq(X509_PUBKEY_get0_param(NULL, NULL, NULL, (X509_ALGOR **)&alg,
	    X509_REQ_get_X509_PUBKEY(r)), 1);
	X509_ALGOR_get0(NULL, &ptype, NULL, alg);
	ck_assert_int_eq(ptype, V_ASN1_SEQUENCE);
	refuse(r, NULL, 0, MF_ERR_KEY_CURVE,
	    "EC key with explicit curve parameters is not allowed");
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
}
END_TEST

/* An xn-- label that is no A-label was issued; a real one still is. */
START_TEST(test_names_alabel)
{
	/* bücher.example.net and a Cyrillic label: valid A-labels. */
	accept_csr(san(k256, "DNS:xn--bcher-kva.example.net"), NULL);
	accept_csr(san(k256, "DNS:XN--BCHER-KVA.example.net"), NULL);
	accept_csr(san(k256, "DNS:xn--e1afmkfd.example.net"), NULL);
	/* "xn--a" decodes to U+0080, a control character. */
	refuse(san(k256, "DNS:xn--a.example.net"), NULL, 0, MF_ERR_NAME_SYNTAX,
	    "not a valid IDNA2008 A-label");
	/* Undecodable Punycode. */
	refuse(san(k256, "DNS:xn--99999999999.example.net"), NULL, 0, MF_ERR_NAME_SYNTAX,
	    "not a valid IDNA2008 A-label");
	/* Decodes to pure ASCII "abc": not an A-label at all. */
	refuse(san(k256, "DNS:xn--abc-.example.net"), NULL, 0, MF_ERR_NAME_SYNTAX, NULL);
	/* Decodes to "bÜcher": upper case is no valid U-label either. */
	refuse(san(k256, "DNS:xn--bcher-2pa.example.net"), NULL, 0, MF_ERR_NAME_SYNTAX,
	    "A-label");
}
END_TEST

/* CSRs self-signed with MD5 or SHA-1 were issued; SHA-256 and up now. */
START_TEST(test_csr_weak_digest)
{
	X509_REQ *r;

	r = san(krsa, "DNS:b.example.net");
	ck_assert_int_gt(X509_REQ_sign(r, krsa, EVP_md5()), 0);
	refuse(r, NULL, 0, MF_ERR_CSR_SIGNATURE,
	    "CSR is signed with md5WithRSAEncryption; sign it with SHA-256 or better");
	r = san(k256, "DNS:b.example.net");
	ck_assert_int_gt(X509_REQ_sign(r, k256, EVP_sha1()), 0);
	refuse(r, NULL, 0, MF_ERR_CSR_SIGNATURE, "ecdsa-with-SHA1");
	r = san(k384, "DNS:b.example.net");
	ck_assert_int_gt(X509_REQ_sign(r, k384, EVP_sha384()), 0);
	accept_csr(r, NULL);
}
END_TEST

START_TEST(test_names_empty)
{
	refuse(mft_csr(k256, "b.example.net", "subjectAltName", "", NULL), NULL, 0,
	    MF_ERR_NAME_EMPTY, "no names");
	refuse(mft_csr(k256, NULL, NULL), NULL, 0, MF_ERR_NAME_EMPTY, "CN");
	refuse(mft_csr(k256, NULL, "keyUsage", "digitalSignature", NULL), NULL, 0,
	    MF_ERR_NAME_EMPTY, "CN");
}
END_TEST

START_TEST(test_names_cn_fallback)
{
	struct mf_approved *a = NULL;
	char why[256];

	ck_assert_int_eq(check(mft_csr(k256, "B.Example.NET", NULL), NULL, 0, &a, why,
	    sizeof(why)), MF_OK);
	ck_assert_uint_eq(a->nnames, 1);
	ck_assert_int_eq(a->names[0].type, MF_NAME_DNS);
	ck_assert_str_eq(a->names[0].dns, "b.example.net");
	mf_approved_free(a);

	ck_assert_int_eq(check(mft_csr(k256, "192.0.2.9", NULL), NULL, 0, &a, why, sizeof(why)),
	    MF_OK);
	ck_assert_int_eq(a->names[0].type, MF_NAME_IP);
	ck_assert_mem_eq(a->names[0].ip, "\xc0\x00\x02\x09", 4);
	mf_approved_free(a);

	refuse(mft_csr(k256, "other.example.com", NULL), NULL, 0, MF_ERR_NAME_POLICY,
	    "other.example.com");
}
END_TEST

START_TEST(test_names_dup)
{
	refuse(san(k256, "DNS:b.example.net,DNS:c.example.net,DNS:B.EXAMPLE.net"), NULL, 0,
	    MF_ERR_NAME_DUP, "b.example.net");
	refuse(san(k256, "IP:192.0.2.1,IP:192.0.2.1"), NULL, 0, MF_ERR_NAME_DUP, "192.0.2.1");
}
END_TEST

START_TEST(test_names_syntax)
{
	static const struct { const char *san, *needle; } bad[] = {
		{ "DNS:b.example.net.", "dot" },
		{ "DNS:a..example.net", "empty label" },
		{ "DNS:.example.net", "empty label" },
		{ "DNS:a_b.example.net", "'_'" },
		{ "DNS:-a.example.net", "'-'" },
		{ "DNS:a-.example.net", "'-'" },
		{ "DNS:a b.example.net", "' '" },
		{ "DNS:1.2.3.4", "numeric" },
		{ "DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.net",
		  "longer than 63" },
	};
	char longname[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse(san(k256, bad[i].san), NULL, 0, MF_ERR_NAME_SYNTAX, bad[i].needle);

	/* 254 characters: labels of 49 + '.' ... ending in example.net */
	strcpy(longname, "DNS:");
	for (i = 0; i < 5; i++)
		strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(longname, "example.net");
	ck_assert_uint_gt(strlen(longname) - 4, 253);
	refuse(san(k256, longname), NULL, 0, MF_ERR_NAME_SYNTAX, "253");
}
END_TEST

START_TEST(test_names_policy)
{
	refuse(san(k256, "DNS:b.example.net,DNS:bad.example.com"), NULL, 0, MF_ERR_NAME_POLICY,
	    "bad.example.com");
	/* ".example.net" allows names strictly below, not the name itself... */
	refuse(san(k256, "DNS:example.net"), NULL, 0, MF_ERR_NAME_POLICY, "example.net");
	/* ...and only on a label boundary. */
	refuse(san(k256, "DNS:evilexample.net"), NULL, 0, MF_ERR_NAME_POLICY, "evilexample.net");
	/* An exact pattern allows exactly that name. */
	accept_csr(san(k256, "DNS:host.example.com"), NULL);
	refuse(san(k256, "DNS:x.host.example.com"), NULL, 0, MF_ERR_NAME_POLICY,
	    "x.host.example.com");
	accept_csr(san(k256, "DNS:deep.below.example.net"), NULL);
}
END_TEST

START_TEST(test_names_ip)
{
	accept_csr(san(k256, "IP:192.0.2.255"), NULL);
	accept_csr(san(k256, "IP:2001:db8:ffff::1"), NULL);
	refuse(san(k256, "IP:192.0.3.1"), NULL, 0, MF_ERR_NAME_POLICY, "192.0.3.1");
	refuse(san(k256, "IP:198.51.100.1"), NULL, 0, MF_ERR_NAME_POLICY, "198.51.100.1");
	refuse(san(k256, "IP:2001:db9::1"), NULL, 0, MF_ERR_NAME_POLICY, "2001:db9::1");
	/* An IPv4-mapped IPv6 address is not the IPv4 range. */
	refuse(san(k256, "IP:::ffff:192.0.2.1"), NULL, 0, MF_ERR_NAME_POLICY, "::ffff:192.0.2.1");
}
END_TEST

START_TEST(test_wildcard)
{
	/* Disallowed by the server profile, whatever the pattern. */
	refuse(san(k256, "DNS:*.example.net"), NULL, 0, MF_ERR_WILDCARD, "*.example.net");
	/* Allowed by "wild" below .example.org. */
	accept_csr(san(k256, "DNS:*.a.example.org"), "wild");
	accept_csr(san(k256, "DNS:*.example.org,DNS:example2.example.org"), "wild");
	refuse(san(k256, "DNS:*.example.com"), "wild", 0, MF_ERR_NAME_POLICY, "*.example.com");
	/* Malformed wildcards. */
	refuse(san(k256, "DNS:a*.example.org"), "wild", 0, MF_ERR_WILDCARD, "a*.example.org");
	refuse(san(k256, "DNS:a.*.example.org"), "wild", 0, MF_ERR_WILDCARD, "left-most");
	refuse(san(k256, "DNS:*.*.example.org"), "wild", 0, MF_ERR_WILDCARD, "left-most");
	refuse(san(k256, "DNS:*"), "wild", 0, MF_ERR_WILDCARD, "left-most");
	refuse(san(k256, "DNS:*.org"), "wild", 0, MF_ERR_WILDCARD, "top-level");
}
END_TEST

START_TEST(test_name_allowed)
{
	struct mf_name n;

	memset(&n, 0, sizeof(n));
	n.type = MF_NAME_DNS;
	n.dns = "x.example.net";
	ck_assert_int_eq(mf_policy_name_allowed(&profiles[0], &n), 1);
	n.dns = "example.net";
	ck_assert_int_eq(mf_policy_name_allowed(&profiles[0], &n), 0);
	n.dns = "*.x.example.org";
	ck_assert_int_eq(mf_policy_name_allowed(&profiles[1], &n), 1);
	profiles[1].wildcard = 0;
	ck_assert_int_eq(mf_policy_name_allowed(&profiles[1], &n), 0);
	n.type = MF_NAME_IP;
	n.iplen = 4;
	memcpy(n.ip, "\xc0\x00\x02\x01", 4);
	ck_assert_int_eq(mf_policy_name_allowed(&profiles[0], &n), 1);
	ck_assert_int_eq(mf_policy_name_allowed(&profiles[1], &n), 0);
	ck_assert_int_eq(mf_policy_name_allowed(NULL, &n), 0);
}
END_TEST

/*
 * Mutated CSRs: every truncation and a few thousand random bit flips of a
 * CSR with all the interesting parts (SAN with DNS and IP, KU, BC, EKU).
 * Each must be parsed or refused cleanly, with a known code; whatever is
 * approved must still satisfy the policy. Deterministic (fixed seed), and
 * under --enable-sanitizers it runs with ASan and UBSan.
 */
static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

START_TEST(test_mutated_csrs)
{
	X509_REQ *csr = mft_csr(k256, "b.example.net", "subjectAltName",
	    "DNS:b.example.net,IP:192.0.2.7,DNS:c.example.net", "keyUsage",
	    "critical,digitalSignature", "basicConstraints", "critical,CA:FALSE",
	    "extendedKeyUsage", "serverAuth", NULL);
	unsigned char *der = NULL, *buf;
	uint32_t seed = 0x6d617966;	/* "mayf" */
	int len, i, j, approved = 0, refused = 0, unsigned_checked = 0;

	ck_assert_ptr_nonnull(csr);
	len = mft_csr_der(csr, &der);
	ck_assert_int_gt(len, 0);
	buf = malloc((size_t)len);
	ck_assert_ptr_nonnull(buf);

	for (i = 0; i < len; i++) {
		X509_REQ *got = NULL;

		ck_assert_int_eq(mf_csr_parse(der, (size_t)i, &got), MF_ERR_CSR_PARSE);
		ck_assert_ptr_null(got);
	}
	for (i = 0; i < 3000; i++) {
		struct mf_request req = { NULL, NULL, 0, "fuzz", 0, 0, 0 };
		struct mf_approved *a = NULL;
		char why[256];
		int rc, flips = 1 + (int)(xorshift(&seed) % 3);

		memcpy(buf, der, (size_t)len);
		for (j = 0; j < flips; j++)
			buf[xorshift(&seed) % (uint32_t)len] ^= (unsigned char)(1u << (xorshift(&seed) % 8));
		if (mf_csr_parse(buf, (size_t)len, &req.csr) != MF_OK) {
			refused++;
			continue;
		}
		/*
		 * Half of them are signed again, so that mutated extensions and
		 * names get past the signature check and reach the rest of the
		 * policy (a mutated key then fails the signature, as it should).
		 */
		if (i % 2 == 1 && X509_REQ_sign(req.csr, k256, EVP_sha256()) <= 0)
			ERR_clear_error();
		why[0] = '\0';
		rc = mf_policy_check(&cfg, &req, &a, why, sizeof(why));
		ck_assert_msg(rc <= 0 && strcmp(mf_errname(rc), "unknown") != 0, "code %d", rc);
		ck_assert_ptr_null(strchr(why, '\n'));
		/*
		 * Unsigned mutations never pass: the signature covers everything
		 * else. Asserted for each one that got as far as the policy.
		 */
		if (i % 2 == 0) {
			ck_assert_msg(rc != MF_OK, "mutation %d, not re-signed, was approved", i);
			unsigned_checked++;
		}
		if (rc == MF_OK) {
			size_t n;

			approved++;
			ck_assert_uint_ge(a->nnames, 1);
			for (n = 0; n < a->nnames; n++)
				ck_assert_int_eq(mf_policy_name_allowed(a->profile, &a->names[n]), 1);
			ck_assert_int_le(a->lifetime, MF_HARD_CAP_MAX);
			ck_assert_int_eq(X509_REQ_verify(req.csr, a->pubkey), 1);
		} else {
			ck_assert_ptr_null(a);
			ck_assert_int_ne(strlen(why), 0);
			refused++;
		}
		mf_approved_free(a);
		X509_REQ_free(req.csr);
	}
	/*
	 * The per-case check above was not vacuous: many unsigned mutations
	 * parsed and reached the policy. Re-signed ones pass only if the flip
	 * hit something harmless, so some but not most of them pass.
	 */
	ck_assert_int_ge(unsigned_checked, 300);
	ck_assert_int_eq(approved + refused, 3000);
	ck_assert_int_gt(approved, 0);
	ck_assert_int_lt(approved, 1500);
	free(buf);
	OPENSSL_free(der);
	X509_REQ_free(csr);
}
END_TEST

/*
 * CSRs made by `openssl req` (tests/data/csr), with the expected result of
 * each listed in cases.txt: the parser and the policy against another
 * implementation's output, PEM and DER.
 */
START_TEST(test_cli_csrs)
{
	char *path = mft_srcpath("tests/data/csr/cases.txt"), line[256];
	FILE *f = fopen(path, "r");
	int ncases = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char file[64], profile[32], expect[64], *csrpath, rel[128], why[256];
		unsigned char *buf = NULL;
		X509_REQ *csr = NULL;
		size_t len = 0;
		int rc;

		if (line[0] == '#' || sscanf(line, "%63s %31s %63s", file, profile, expect) != 3)
			continue;
		snprintf(rel, sizeof(rel), "tests/data/csr/%s", file);
		csrpath = mft_srcpath(rel);
		ck_assert_int_eq(mf_file_read(csrpath, 65536, &buf, &len), MF_OK);
		ck_assert_int_eq(mf_csr_parse(buf, len, &csr), MF_OK);
		rc = check(csr, profile, 0, NULL, why, sizeof(why));
		ck_assert_msg(strcmp(mf_errname(rc), expect) == 0, "%s/%s: expected %s, got %s (%s)",
		    file, profile, expect, mf_errname(rc), why);
		free(buf);
		free(csrpath);
		ncases++;
	}
	fclose(f);
	free(path);
	ck_assert_int_ge(ncases, 5);
}
END_TEST

START_TEST(test_args)
{
	struct mf_request req = { NULL, NULL, 0, "t", 0, 0, 0 };
	struct mf_approved *a = NULL;
	char why[64];

	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_ERR_CSR_PARSE);
	ck_assert_int_eq(mf_policy_check(NULL, &req, &a, why, sizeof(why)), MF_ERR_INVAL);
	ck_assert_int_eq(mf_policy_check(&cfg, NULL, &a, why, sizeof(why)), MF_ERR_INVAL);
	mf_approved_free(NULL);
}
END_TEST

/* issuance.forward-horizon and issuance.backdate bound a requested notBefore. */
START_TEST(test_not_before)
{
	struct mf_request req = { NULL, NULL, 0, "test:policy", 0, 0, 0 };
	struct mf_approved *a = NULL;
	const int64_t now = 1800000000;
	char why[256];
	int64_t t;

	/* Horizon 0 (the default): nothing ahead of now. */
	ck_assert_int_eq(mf_policy_not_before(&cfg, 0, now, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(mf_policy_not_before(&cfg, now, now, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(mf_policy_not_before(&cfg, now + 1, now, why, sizeof(why)),
	    MF_ERR_NOT_BEFORE_FUTURE);
	ck_assert_ptr_nonnull(strstr(why, "forward-horizon"));
	ck_assert_int_eq(mf_policy_not_before(&cfg, now - 300, now, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(mf_policy_not_before(&cfg, now - 301, now, why, sizeof(why)),
	    MF_ERR_NOT_BEFORE_PAST);
	cfg.forward_horizon = 72 * 3600;
	ck_assert_int_eq(mf_policy_not_before(&cfg, now + 72 * 3600, now, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(mf_policy_not_before(&cfg, now + 72 * 3600 + 1, now, why, sizeof(why)),
	    MF_ERR_NOT_BEFORE_FUTURE);
	/* A hand-built config cannot widen the horizon past the ceiling. */
	cfg.forward_horizon = 10 * MF_FORWARD_HORIZON_MAX;
	ck_assert_int_eq(mf_policy_not_before(&cfg, now + MF_FORWARD_HORIZON_MAX + 1, now, why,
	    sizeof(why)), MF_ERR_NOT_BEFORE_FUTURE);

	/* Through mf_policy_check: the approval carries it; refusals before the CSR is read. */
	cfg.forward_horizon = 72 * 3600;
	req.csr = san(k256, "DNS:a.example.net");
	req.now = now;
	req.not_before = now + 48 * 3600;
	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_OK);
	ck_assert_int_eq(a->not_before, now + 48 * 3600);
	mf_approved_free(a);
	a = NULL;
	req.not_before = now + 73 * 3600;
	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)),
	    MF_ERR_NOT_BEFORE_FUTURE);
	ck_assert_ptr_null(a);
	req.not_before = now + 48 * 3600;
	req.lifetime = 24 * 3600 + 1;
	ck_assert_int_eq(mf_policy_check(&cfg, &req, &a, why, sizeof(why)), MF_ERR_LIFETIME_CAP);
	X509_REQ_free(req.csr);

	/* RFC 3339 as ACME and `mayfly issue --not-before` write it. */
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05T10:00:00Z", &t), MF_OK);
	ck_assert_int_eq(t, 1796464800);
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05t12:30:00.25+02:30", &t), MF_OK);
	ck_assert_int_eq(t, 1796464800);
	ck_assert_int_eq(mf_time_rfc3339("2028-02-29T00:00:00-00:00", &t), MF_OK);
	ck_assert_int_eq(mf_time_rfc3339("2027-02-29T00:00:00Z", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05T10:00:00", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05 10:00:00Z", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05T10:00:60Z", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("2026-13-05T10:00:00Z", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05T10:00:00Zjunk", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("2026-12-05T10:00:00.Z", &t), MF_ERR_INVAL);
	ck_assert_int_eq(mf_time_rfc3339("", &t), MF_ERR_INVAL);
}
END_TEST

Suite *
suite_policy(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	/* Keys are made once, in the parent, before Check forks each test. */
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_happy_ec);
	tcase_add_test(tc, test_happy_keys);
	tcase_add_test(tc, test_lifetime);
	tcase_add_test(tc, test_profile);
	tcase_add_test(tc, test_csr_signature);
	tcase_add_test(tc, test_csr_parse);
	tcase_add_test(tc, test_csr_bad_point);
	tcase_add_test(tc, test_csr_skip_signature);
	tcase_add_test(tc, test_key_weak);
	tcase_add_test(tc, test_key_curve);
	tcase_add_test(tc, test_key_alg);
	tcase_add_test(tc, test_csr_ca);
	tcase_add_test(tc, test_csr_keycertsign);
	tcase_add_test(tc, test_csr_extension);
	tcase_add_test(tc, test_csr_ext_refused);
	tcase_add_test(tc, test_csr_ext_ignored);
	tcase_add_test(tc, test_key_rsa_exponent);
	tcase_add_test(tc, test_csr_weak_digest);
	tcase_add_test(tc, test_key_explicit_curve);
	tcase_add_test(tc, test_names_alabel);
	tcase_add_test(tc, test_names_empty);
	tcase_add_test(tc, test_names_cn_fallback);
	tcase_add_test(tc, test_names_dup);
	tcase_add_test(tc, test_names_syntax);
	tcase_add_test(tc, test_names_policy);
	tcase_add_test(tc, test_names_ip);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_name_allowed);
	tcase_add_test(tc, test_mutated_csrs);
	tcase_add_test(tc, test_cli_csrs);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_not_before);
	suite_add_tcase(s, tc);
	return s;
}
