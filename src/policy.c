/*
 * policy.c: the one gate between a request and the issuer.
 *
 * Everything here is about refusing: a CSR that does not parse or whose
 * self-signature fails, a weak or exotic key, a CSR that asks to become a CA,
 * a name the profile does not cover, a lifetime above the cap. Each refusal
 * has its own code (mferr.h) and a one-line `why` that names the offending
 * value, so an ACME client or an operator sees exactly what to fix. Nothing
 * from the CSR is copied into a certificate except the public key and the
 * validated names. A few requested extensions that common clients send are
 * ignored (the profile decides: basicConstraints CA:FALSE, keyUsage without
 * the CA bits, extendedKeyUsage, subjectKeyIdentifier, TLS feature); every
 * other one is refused (CA:TRUE, keyCertSign/cRLSign, SAN types other than
 * DNS and IP, CA-only and policy extensions, unknown extensions critical or
 * not, an extension twice), see mf_check_exts().
 *
 * The order of the checks is: profile, lifetime, notBefore, CSR signature, key,
 * requested extensions, names. A request with several faults gets the code
 * of the first one in that order.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <idn2.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "mferr.h"
#include "policy.h"

/*
 * An upper bound on names per certificate. Public CAs stop at 100 too; a
 * bigger list is more likely an attempt to make the issuer do quadratic
 * work (duplicate check) than a real server.
 */
#define MF_POLICY_MAX_NAMES	100

/* RFC 1035 2.3.4, RFC 1123 2.1 */
#define MF_DNS_MAX	253
#define MF_LABEL_MAX	63

/* issuance.backdate's ceiling (config.c); the issuer applies the same. */
#define MF_BACKDATE_MAX	300

/* Largest CSR accepted by mf_csr_parse(); real ones are a few kB. */
#define MF_CSR_MAX	(64 * 1024)

/* "why" helpers: one line, never a control character from the request. */
static void
mf_why(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
mf_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/*
 * Copies an attacker-supplied string for a message: printable ASCII only
 * (others become '?'), cut at 80 characters, so a log line stays one line.
 */
static const char *
mf_printable(const unsigned char *s, size_t n, char *buf, size_t buflen)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < buflen; i++) {
		if (o >= 80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	}
	buf[o] = '\0';
	return buf;
}

static const char *
mf_name_str(const struct mf_name *n, char *buf, size_t buflen)
{
	if (n->type == MF_NAME_IP) {
		if (inet_ntop(n->iplen == 4 ? AF_INET : AF_INET6, n->ip, buf, buflen) == NULL)
			snprintf(buf, buflen, "(bad address)");
		return buf;
	}
	return mf_printable((const unsigned char *)n->dns, strlen(n->dns), buf, buflen);
}

/*
 * Fast CSR parsing. OpenSSL 3.0 decodes the public key of every CSR it
 * parses through a freshly built OSSL_DECODER chain: about 150 us on our
 * reference machine, two thirds of an issuance's CSR work and more than an
 * ECDSA signature. For the keys IoT servers use (EC on a named curve,
 * Ed25519) mf_csr_parse() reads the CSR with a template of its own that
 * keeps the key as bytes, builds the X509_REQ from those parts, and keeps
 * it only if it encodes back to exactly the bytes received; anything else
 * (another key type, a non-DER encoding, a quirk) takes OpenSSL's own
 * d2i_X509_REQ(). Either way the caller gets the same X509_REQ, except
 * that after the fast path X509_REQ_get0_pubkey() is NULL: mf_csr_pubkey()
 * makes the key from its parameters (EVP_PKEY_fromdata, no decoder).
 */
typedef struct {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
} MF_SPKI;

ASN1_SEQUENCE(MF_SPKI) = {
	ASN1_SIMPLE(MF_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(MF_SPKI, key, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(MF_SPKI)

typedef struct {
	ASN1_INTEGER *version;
	X509_NAME *subject;
	MF_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) *attrs;
} MF_CRI;

ASN1_SEQUENCE(MF_CRI) = {
	ASN1_SIMPLE(MF_CRI, version, ASN1_INTEGER),
	ASN1_SIMPLE(MF_CRI, subject, X509_NAME),
	ASN1_SIMPLE(MF_CRI, spki, MF_SPKI),
	ASN1_IMP_SET_OF_OPT(MF_CRI, attrs, X509_ATTRIBUTE, 0)
} static_ASN1_SEQUENCE_END(MF_CRI)

typedef struct {
	MF_CRI *cri;
	X509_ALGOR *sigalg;
	ASN1_BIT_STRING *sig;
} MF_CSR;

ASN1_SEQUENCE(MF_CSR) = {
	ASN1_SIMPLE(MF_CSR, cri, MF_CRI),
	ASN1_SIMPLE(MF_CSR, sigalg, X509_ALGOR),
	ASN1_SIMPLE(MF_CSR, sig, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(MF_CSR)

/* The key types the fast path takes: EC on a named curve, Ed25519. */
static int
mf_fast_keytype(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_X9_62_id_ecPublicKey:
		return ptype == V_ASN1_OBJECT && OBJ_obj2nid(pval) != NID_undef;
	case NID_ED25519:
		return ptype == V_ASN1_UNDEF;
	default:
		return 0;
	}
}

/*
 * The fast path: 0 and *out, or MF_ERR_CSR_PARSE when OpenSSL's parser
 * must decide (never a refusal of its own).
 */
static int
mf_csr_parse_fast(const unsigned char *der, size_t len, X509_REQ **out)
{
	const unsigned char *p = der;
	MF_CSR *m = NULL;
	X509_REQ *req = NULL;
	X509_PUBKEY *xpk;
	const ASN1_OBJECT *aobj;
	const void *pval;
	ASN1_OBJECT *obj = NULL;
	void *val = NULL;
	unsigned char *enc = NULL, *re = NULL;
	int ptype, relen, i, rc = MF_ERR_CSR_PARSE;
	long version;

	*out = NULL;
	m = (MF_CSR *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(MF_CSR));
	if (m == NULL || p != der + len || !mf_fast_keytype(m->cri->spki->alg))
		goto out;
	version = ASN1_INTEGER_get(m->cri->version);
	if (version < 0 || version > 2 || m->cri->spki->key->length <= 0)
		goto out;
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, version) ||
	    !X509_REQ_set_subject_name(req, m->cri->subject))
		goto out;
	X509_ALGOR_get0(&aobj, &ptype, &pval, m->cri->spki->alg);
	if ((obj = OBJ_dup(aobj)) == NULL || (ptype == V_ASN1_OBJECT &&
	    (val = OBJ_dup(pval)) == NULL) ||
	    (enc = OPENSSL_memdup(m->cri->spki->key->data,
	    (size_t)m->cri->spki->key->length)) == NULL)
		goto out;
	xpk = X509_REQ_get_X509_PUBKEY(req);
	if (!X509_PUBKEY_set0_param(xpk, obj, ptype, val, enc, m->cri->spki->key->length))
		goto out;
	obj = NULL;
	val = NULL;
	enc = NULL;
	for (i = 0; i < sk_X509_ATTRIBUTE_num(m->cri->attrs); i++)
		if (!X509_REQ_add1_attr(req, sk_X509_ATTRIBUTE_value(m->cri->attrs, i)))
			goto out;
	if (!X509_REQ_set1_signature_algo(req, m->sigalg))
		goto out;
	X509_REQ_set0_signature(req, m->sig);
	m->sig = NULL;
	/* Only an exact round trip proves the object says what the bytes say. */
	if ((relen = i2d_X509_REQ(req, &re)) <= 0 || (size_t)relen != len ||
	    memcmp(re, der, len) != 0)
		goto out;
	*out = req;
	req = NULL;
	rc = MF_OK;
out:
	OPENSSL_free(re);
	OPENSSL_free(enc);
	ASN1_OBJECT_free(obj);
	ASN1_OBJECT_free(val);
	X509_REQ_free(req);
	ASN1_item_free((ASN1_VALUE *)m, ASN1_ITEM_rptr(MF_CSR));
	ERR_clear_error();
	return rc;
}

int
mf_csr_parse(const unsigned char *buf, size_t len, X509_REQ **out)
{
	static const char pem_tag[] = "-----BEGIN";
	X509_REQ *req = NULL;
	const unsigned char *p;
	unsigned char *data = NULL;
	char *name = NULL, *header = NULL;
	long dlen = 0;
	BIO *bio = NULL;
	size_t i;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	if (buf == NULL || len == 0 || len > MF_CSR_MAX)
		return MF_ERR_CSR_PARSE;

	/* PEM may be preceded by whitespace; DER starts with SEQUENCE (0x30). */
	for (i = 0; i < len && isspace(buf[i]); i++)
		;
	if (len - i >= sizeof(pem_tag) - 1 && memcmp(buf + i, pem_tag, sizeof(pem_tag) - 1) == 0) {
		if ((bio = BIO_new_mem_buf(buf + i, (int)(len - i))) == NULL)
			return MF_ERR_NOMEM;
		/* "CERTIFICATE REQUEST" or the older "NEW CERTIFICATE REQUEST", no headers. */
		if (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1 && header[0] == '\0' &&
		    (strcmp(name, PEM_STRING_X509_REQ) == 0 ||
		    strcmp(name, PEM_STRING_X509_REQ_OLD) == 0) && dlen > 0) {
			buf = data;
			len = (size_t)dlen;
		} else {
			len = 0;
		}
		BIO_free(bio);
	}
	if (len > 0 && mf_csr_parse_fast(buf, len, &req) != MF_OK) {
		p = buf;
		req = d2i_X509_REQ(NULL, &p, (long)len);
		/* Trailing bytes after the DER are refused: one CSR, nothing else. */
		if (req != NULL && p != buf + len) {
			X509_REQ_free(req);
			req = NULL;
		}
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	if (req == NULL) {
		ERR_clear_error();
		return MF_ERR_CSR_PARSE;
	}
	*out = req;
	return MF_OK;
}

/*
 * The CSR's public key as an EVP_PKEY (a new reference), from the decoded
 * key if OpenSSL's parser made one, else from the key's parameters: EC by
 * group name and point, Ed25519 by its raw bytes. NULL if the bytes do not
 * make a key of their type.
 */
EVP_PKEY *
mf_csr_pubkey(X509_REQ *csr)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(csr);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *aobj;
	const unsigned char *key;
	const void *pval;
	OSSL_PARAM prm[3];
	int klen, ptype;

	ERR_set_mark();
	pk = X509_REQ_get0_pubkey(csr);
	ERR_pop_to_mark();
	if (pk != NULL)
		return EVP_PKEY_up_ref(pk) ? pk : NULL;
	if (xpk == NULL || !X509_PUBKEY_get0_param(NULL, &key, &klen, &alg, xpk) ||
	    alg == NULL || klen <= 0)
		return NULL;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(aobj)) {
	case NID_X9_62_id_ecPublicKey:
		if (ptype != V_ASN1_OBJECT || OBJ_obj2nid(pval) == NID_undef)
			break;
		prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		    (char *)OBJ_nid2sn(OBJ_obj2nid(pval)), 0);
		prm[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
		    (void *)key, (size_t)klen);
		prm[2] = OSSL_PARAM_construct_end();
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
		    EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, prm) != 1)
			pk = NULL;
		break;
	case NID_ED25519:
		pk = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, key, (size_t)klen);
		break;
	default:
		break;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return pk;
}

void
mf_approved_free(struct mf_approved *a)
{
	size_t i;

	if (a == NULL)
		return;
	EVP_PKEY_free(a->pubkey);
	X509_PUBKEY_free(a->spki);
	for (i = 0; i < a->nnames; i++)
		free(a->names[i].dns);
	free(a->names);
	free(a->requester);
	free(a);
}

/* The effective hard cap: the configured one, never above MF_HARD_CAP_MAX. */
static int64_t
mf_hard_cap(const struct mf_config *cfg)
{
	if (cfg->hard_cap > 0 && cfg->hard_cap < MF_HARD_CAP_MAX)
		return cfg->hard_cap;
	return MF_HARD_CAP_MAX;
}

static int
mf_check_lifetime(const struct mf_config *cfg, const struct mf_profile *prof, int64_t req,
    int64_t *out, char *why, size_t whylen)
{
	int64_t cap = mf_hard_cap(cfg), lt = req;

	if (lt < 0) {
		mf_why(why, whylen, "lifetime %llds is negative", (long long)lt);
		return MF_ERR_LIFETIME_INVALID;
	}
	if (lt == 0) {
		/* A hand-built profile without defaults gets the profile max, then the cap. */
		lt = prof->default_lifetime > 0 ? prof->default_lifetime :
		    prof->max_lifetime > 0 ? prof->max_lifetime : cap;
	}
	/* The cap is checked on the resolved value too: a bad default cannot slip through. */
	if (lt > cap) {
		mf_why(why, whylen, "lifetime %llds is above the hard cap of %llds",
		    (long long)lt, (long long)cap);
		return MF_ERR_LIFETIME_CAP;
	}
	if (prof->max_lifetime > 0 && lt > prof->max_lifetime) {
		mf_why(why, whylen, "lifetime %llds is above profile %s's maximum of %llds",
		    (long long)lt, prof->name, (long long)prof->max_lifetime);
		return MF_ERR_LIFETIME_PROFILE;
	}
	*out = lt;
	return MF_OK;
}

int
mf_policy_not_before(const struct mf_config *cfg, int64_t not_before, int64_t now, char *why,
    size_t whylen)
{
	int64_t horizon, back;

	if (cfg == NULL)
		return MF_ERR_INVAL;
	if (not_before == 0)
		return MF_OK;
	/* The same clamps as the config parser's, so a hand-built config cannot widen them. */
	horizon = cfg->forward_horizon < 0 ? 0 : cfg->forward_horizon > MF_FORWARD_HORIZON_MAX ?
	    MF_FORWARD_HORIZON_MAX : cfg->forward_horizon;
	back = cfg->backdate < 0 ? 0 : cfg->backdate > MF_BACKDATE_MAX ? MF_BACKDATE_MAX :
	    cfg->backdate;
	if (not_before > now && not_before - now > horizon) {
		mf_why(why, whylen, "notBefore %llds ahead is beyond issuance.forward-horizon of %llds",
		    (long long)(not_before - now), (long long)horizon);
		return MF_ERR_NOT_BEFORE_FUTURE;
	}
	if (not_before < now && now - not_before > back) {
		mf_why(why, whylen, "notBefore %llds ago is further back than issuance.backdate "
		    "of %llds", (long long)(now - not_before), (long long)back);
		return MF_ERR_NOT_BEFORE_PAST;
	}
	return MF_OK;
}

/* n decimal digits at *s, advancing it; -1 if any is not a digit. */
static int
mf_digits(const char **s, int n)
{
	int v = 0;

	for (; n > 0; n--, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

int
mf_time_rfc3339(const char *s, int64_t *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh, om, sign;
	struct tm tm;
	int64_t t;

	if (s == NULL || out == NULL)
		return MF_ERR_INVAL;
	if ((y = mf_digits(&s, 4)) < 0 || *s++ != '-' || (mo = mf_digits(&s, 2)) < 0 ||
	    *s++ != '-' || (d = mf_digits(&s, 2)) < 0 || (*s != 'T' && *s != 't'))
		return MF_ERR_INVAL;
	s++;
	if ((h = mf_digits(&s, 2)) < 0 || *s++ != ':' || (mi = mf_digits(&s, 2)) < 0 ||
	    *s++ != ':' || (sec = mf_digits(&s, 2)) < 0)
		return MF_ERR_INVAL;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return MF_ERR_INVAL;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	oh = om = sign = 0;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if ((oh = mf_digits(&s, 2)) < 0 || *s++ != ':' || (om = mf_digits(&s, 2)) < 0 ||
		    oh > 23 || om > 59)
			return MF_ERR_INVAL;
	} else
		return MF_ERR_INVAL;
	/* A leap second (60) is refused: notBefore has no way to say it. */
	if (*s != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) ||
	    h > 23 || mi > 59 || sec > 59)
		return MF_ERR_INVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);	/* UTC whatever TZ says */
	t -= sign * (oh * 3600 + om * 60);
	*out = t;
	return MF_OK;
}

/*
 * The RSA public exponent: odd and at least 65537 (the CA/Browser Forum's
 * baseline range; e = 3 invites the low-exponent attacks on weak padding,
 * and an even or unit exponent is no RSA key at all).
 */
static int
mf_check_rsa_e(EVP_PKEY *pk, char *why, size_t whylen)
{
	BIGNUM *e = NULL;
	char *dec = NULL;
	int rc = MF_OK;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || e == NULL) {
		ERR_clear_error();
		mf_why(why, whylen, "RSA key without a readable public exponent");
		return MF_ERR_KEY_WEAK;
	}
	if (!BN_is_odd(e) || BN_get_word(e) < 65537) {
		dec = BN_bn2dec(e);
		mf_why(why, whylen, "RSA public exponent %s is not an odd number of at least 65537",
		    dec != NULL && strlen(dec) < 40 ? dec : "(unprintable)");
		rc = MF_ERR_KEY_WEAK;
	}
	OPENSSL_free(dec);
	BN_free(e);
	return rc;
}

/*
 * The digest of the CSR's self-signature. Proof of possession made with
 * MD5 or SHA-1 proves little (a collision lets one signature stand for two
 * requests), and no current client signs with them: SHA-256 and up, or
 * EdDSA (no separate digest), or RSASSA-PSS (its parameters name the
 * digest; OpenSSL checks them when it verifies).
 */
static int
mf_check_sigalg(X509_REQ *csr, char *why, size_t whylen)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj;
	int nid, mdnid = NID_undef, pknid = NID_undef;
	char oid[80];

	X509_REQ_get0_signature(csr, NULL, &alg);
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_rsassaPss || nid == NID_ED25519 || nid == NID_ED448)
		return MF_OK;
	if (OBJ_find_sigid_algs(nid, &mdnid, &pknid) == 1 &&
	    (mdnid == NID_sha256 || mdnid == NID_sha384 || mdnid == NID_sha512))
		return MF_OK;
	if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
		snprintf(oid, sizeof(oid), "(unprintable)");
	mf_why(why, whylen, "CSR is signed with %s; sign it with SHA-256 or better",
	    nid != NID_undef ? OBJ_nid2ln(nid) : oid);
	return MF_ERR_CSR_SIGNATURE;
}

/*
 * An EC key must name its curve (RFC 5480 2.1.1: namedCurve only in
 * PKIX). OpenSSL 3.0 recognises explicit parameters that spell out P-256
 * and reports the key as prime256v1, so the key check alone passes it;
 * the leaf takes the CSR's SubjectPublicKeyInfo byte for byte, and would
 * carry the explicit parameters that strict verifiers reject and that
 * CVE-2020-0601 abused. So the encoding itself is checked here.
 */
static int
mf_check_spki_params(X509_REQ *csr, char *why, size_t whylen)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(csr);
	ASN1_OBJECT *alg = NULL;
	X509_ALGOR *algor = NULL;
	const void *pval;
	int ptype;

	if (xpk == NULL || !X509_PUBKEY_get0_param(&alg, NULL, NULL, &algor, xpk) ||
	    algor == NULL) {
		ERR_clear_error();
		mf_why(why, whylen, "CSR has no usable public key");
		return MF_ERR_CSR_PARSE;
	}
	if (OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey)
		return MF_OK;
	X509_ALGOR_get0(NULL, &ptype, &pval, algor);
	if (ptype != V_ASN1_OBJECT) {
		mf_why(why, whylen, "EC key with explicit curve parameters is not allowed");
		return MF_ERR_KEY_CURVE;
	}
	return MF_OK;
}

/*
 * Key checks. A profile with key_types == 0 allows nothing: a CA fails
 * closed on a profile nobody filled in (config.c sets the documented default).
 */
static int
mf_check_key(const struct mf_profile *prof, EVP_PKEY *pk, char *why, size_t whylen)
{
	char group[64];
	size_t glen = 0;
	unsigned min;
	int id, nid, bits;

	id = EVP_PKEY_get_base_id(pk);
	switch (id) {
	case EVP_PKEY_RSA:
		if (!(prof->key_types & MF_KT_RSA)) {
			mf_why(why, whylen, "key type RSA is not allowed by profile %s", prof->name);
			return MF_ERR_KEY_ALG;
		}
		min = prof->rsa_min_bits > 2048 ? prof->rsa_min_bits : 2048;
		bits = EVP_PKEY_get_bits(pk);
		if (bits < 0 || (unsigned)bits < min) {
			mf_why(why, whylen, "RSA key of %d bits is below the minimum of %u", bits, min);
			return MF_ERR_KEY_WEAK;
		}
		return mf_check_rsa_e(pk, why, whylen);
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) != 1 || glen == 0) {
			/* Explicit curve parameters: refused, whatever they describe. */
			ERR_clear_error();
			mf_why(why, whylen, "EC key with explicit curve parameters is not allowed");
			return MF_ERR_KEY_CURVE;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid == NID_X9_62_prime256v1) {
			if (!(prof->key_types & MF_KT_EC_P256)) {
				mf_why(why, whylen, "key type EC P-256 is not allowed by profile %s",
				    prof->name);
				return MF_ERR_KEY_ALG;
			}
			return MF_OK;
		}
		if (nid == NID_secp384r1) {
			if (!(prof->key_types & MF_KT_EC_P384)) {
				mf_why(why, whylen, "key type EC P-384 is not allowed by profile %s",
				    prof->name);
				return MF_ERR_KEY_ALG;
			}
			return MF_OK;
		}
		mf_why(why, whylen, "EC curve %s is not allowed (P-256, P-384 only)", group);
		return MF_ERR_KEY_CURVE;
	case EVP_PKEY_ED25519:
		if (!(prof->key_types & MF_KT_ED25519)) {
			mf_why(why, whylen, "key type Ed25519 is not allowed by profile %s", prof->name);
			return MF_ERR_KEY_ALG;
		}
		return MF_OK;
	default:
		mf_why(why, whylen, "key type %s is not allowed",
		    id == NID_undef ? "(unknown)" : OBJ_nid2sn(id));
		return MF_ERR_KEY_ALG;
	}
}

/* Growable list of names collected from the CSR. */
struct mf_namelist {
	struct mf_name *v;
	size_t n, cap;
};

static void
mf_namelist_clear(struct mf_namelist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].dns);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int
mf_namelist_add(struct mf_namelist *l, const struct mf_name *n, char *why, size_t whylen)
{
	if (l->n >= MF_POLICY_MAX_NAMES) {
		mf_why(why, whylen, "more than %d names requested", MF_POLICY_MAX_NAMES);
		return MF_ERR_CSR_EXTENSION;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct mf_name *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return MF_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *n;
	return MF_OK;
}

/*
 * Takes a DNS name from the request as raw bytes: ASCII only (IDNs must be
 * sent as A-labels, "xn--..."), no NUL, lower-cased. Syntax is checked later
 * so that duplicates and syntax errors are reported in a fixed order.
 */
static int
mf_dns_take(const unsigned char *s, int len, struct mf_name *out, char *why, size_t whylen)
{
	char buf[100];
	int i;

	if (len < 0 || len > MF_DNS_MAX + 2) {
		mf_why(why, whylen, "DNS name \"%s\" is longer than %d characters",
		    mf_printable(s, len < 0 ? 0 : (size_t)len, buf, sizeof(buf)), MF_DNS_MAX);
		return MF_ERR_NAME_SYNTAX;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == 0 || s[i] >= 0x80) {
			mf_why(why, whylen, "DNS name \"%s\" holds a NUL or non-ASCII byte",
			    mf_printable(s, (size_t)len, buf, sizeof(buf)));
			return MF_ERR_NAME_SYNTAX;
		}
	}
	memset(out, 0, sizeof(*out));
	out->type = MF_NAME_DNS;
	if ((out->dns = malloc((size_t)len + 1)) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; i < len; i++)
		out->dns[i] = (char)tolower(s[i]);
	out->dns[len] = '\0';
	return MF_OK;
}

/* Collects the names of a subjectAltName extension. */
static int
mf_names_from_san(GENERAL_NAMES *gens, struct mf_namelist *l, char *why, size_t whylen)
{
	static const char *const gen_type[] = {
		"otherName", "email", "DNS", "x400Address", "dirName", "ediPartyName",
		"URI", "IP", "registeredID"
	};
	struct mf_name n;
	int i, rc;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			rc = mf_dns_take(ASN1_STRING_get0_data(g->d.dNSName),
			    ASN1_STRING_length(g->d.dNSName), &n, why, whylen);
			if (rc != MF_OK)
				return rc;
		} else if (g->type == GEN_IPADD) {
			int iplen = ASN1_STRING_length(g->d.iPAddress);

			if (iplen != 4 && iplen != 16) {
				mf_why(why, whylen, "IP address SAN of %d octets (not 4 or 16)", iplen);
				return MF_ERR_NAME_SYNTAX;
			}
			memset(&n, 0, sizeof(n));
			n.type = MF_NAME_IP;
			n.iplen = (size_t)iplen;
			memcpy(n.ip, ASN1_STRING_get0_data(g->d.iPAddress), n.iplen);
		} else {
			mf_why(why, whylen, "subjectAltName of type %s is not allowed (DNS and IP only)",
			    g->type >= 0 && g->type <= GEN_RID ? gen_type[g->type] : "unknown");
			return MF_ERR_CSR_EXTENSION;
		}
		if ((rc = mf_namelist_add(l, &n, why, whylen)) != MF_OK) {
			free(n.dns);
			return rc;
		}
	}
	return MF_OK;
}

/*
 * Without a subjectAltName the subject CN is the one name. A CN that is an
 * IP address literal becomes an IP name, so that IP ranges, not DNS patterns,
 * decide on it (and a DNS SAN "192.0.2.1" is never produced).
 */
static int
mf_names_from_cn(X509_REQ *csr, struct mf_namelist *l, char *why, size_t whylen)
{
	const X509_NAME *subj = X509_REQ_get_subject_name(csr);
	unsigned char *utf8 = NULL;
	struct mf_name n;
	char buf[100];
	int idx, len, rc;

	idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (idx < 0) {
		mf_why(why, whylen, "CSR has no subjectAltName and no subject CN");
		return MF_ERR_NAME_EMPTY;
	}
	if (X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0) {
		mf_why(why, whylen, "CSR has no subjectAltName and more than one subject CN");
		return MF_ERR_NAME_SYNTAX;
	}
	len = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
	if (len < 0) {
		ERR_clear_error();
		mf_why(why, whylen, "subject CN is not a valid string");
		return MF_ERR_NAME_SYNTAX;
	}
	if (len == 0) {
		OPENSSL_free(utf8);
		mf_why(why, whylen, "CSR has no subjectAltName and an empty subject CN");
		return MF_ERR_NAME_EMPTY;
	}
	memset(&n, 0, sizeof(n));
	if ((size_t)len < sizeof(buf) && memchr(utf8, 0, (size_t)len) == NULL) {
		memcpy(buf, utf8, (size_t)len);
		buf[len] = '\0';
		if (inet_pton(AF_INET, buf, n.ip) == 1) {
			n.type = MF_NAME_IP;
			n.iplen = 4;
		} else if (inet_pton(AF_INET6, buf, n.ip) == 1) {
			n.type = MF_NAME_IP;
			n.iplen = 16;
		}
	}
	if (n.type == 0 && (rc = mf_dns_take(utf8, len, &n, why, whylen)) != MF_OK) {
		OPENSSL_free(utf8);
		return rc;
	}
	OPENSSL_free(utf8);
	if ((rc = mf_namelist_add(l, &n, why, whylen)) != MF_OK)
		free(n.dns);
	return rc;
}

/*
 * What a CSR may request. Nothing requested is copied into a certificate
 * (the issuer builds every extension from the profile), so the question is
 * only which requests are harmless to ignore and which must be refused so
 * that the requester learns the certificate will not say what it asked for.
 * Ignored, because common clients send them and the profile decides:
 * basicConstraints CA:FALSE, keyUsage without keyCertSign/cRLSign,
 * extendedKeyUsage, subjectKeyIdentifier and the TLS feature (must-staple).
 * subjectAltName carries the names. Everything else is refused: the
 * extensions that only a CA certificate carries (nameConstraints,
 * policyConstraints, policyMappings, inhibitAnyPolicy), certificatePolicies
 * (mayfly asserts no policy), and any other extension, critical or not, so
 * that a request the CA does not understand is never answered with a
 * certificate that silently lacks it.
 */
static const char *
mf_ext_refused(int nid)
{
	switch (nid) {
	case NID_name_constraints:
	case NID_policy_constraints:
	case NID_policy_mappings:
	case NID_inhibit_any_policy:
		return "an extension only a CA certificate carries";
	case NID_certificate_policies:
		return "mayfly asserts no certificate policy";
	default:
		return NULL;
	}
}

static int
mf_ext_ignored(int nid)
{
	return nid == NID_ext_key_usage || nid == NID_subject_key_identifier ||
	    nid == NID_tlsfeature;
}

/* Frees what X509V3_EXT_d2i() made of ext. */
static void
mf_ext_value_free(X509_EXTENSION *ext, void *val)
{
	const X509V3_EXT_METHOD *m = X509V3_EXT_get(ext);

	if (m == NULL || val == NULL)
		return;
	if (m->it != NULL)
		ASN1_item_free(val, ASN1_ITEM_ptr(m->it));
	else if (m->ext_free != NULL)
		m->ext_free(val);
}

/*
 * One extensionRequest attribute (PKCS#9) or its Microsoft twin, with one
 * value: OpenSSL reads only the first, so a second one would be a request
 * nobody checked.
 */
static int
mf_count_ext_requests(X509_REQ *csr)
{
	static const int nids[] = { NID_ext_req, NID_ms_ext_req };
	int i, loc, n = 0;

	for (i = 0; i < 2; i++)
		for (loc = -1; (loc = X509_REQ_get_attr_by_NID(csr, nids[i], loc)) >= 0;)
			n += X509_ATTRIBUTE_count(X509_REQ_get_attr(csr, loc));
	return n;
}

/*
 * Walks the requested extensions: refuses CA:TRUE, keyCertSign/cRLSign,
 * any extension asked for twice (RFC 5280 4.2) and every extension that
 * is neither a name nor on the ignored list above; collects the
 * subjectAltName names. *have_san tells whether the CSR had a SAN at all
 * (an empty one is refused later as "no names", not replaced by the CN).
 */
static int
mf_check_exts(X509_REQ *csr, struct mf_namelist *l, int *have_san, char *why, size_t whylen)
{
	STACK_OF(X509_EXTENSION) *exts;
	int i, j, n, rc = MF_OK;

	*have_san = 0;
	if ((n = mf_count_ext_requests(csr)) > 1) {
		mf_why(why, whylen, "CSR carries %d extension requests (one at most)", n);
		return MF_ERR_CSR_EXTENSION;
	}
	exts = X509_REQ_get_extensions(csr);
	if (exts == NULL) {
		if (n == 0) {
			ERR_clear_error();
			return MF_OK;	/* no extensionRequest attribute at all */
		}
		ERR_clear_error();
		mf_why(why, whylen, "CSR extensionRequest attribute is malformed");
		return MF_ERR_CSR_PARSE;
	}
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
		int nid = OBJ_obj2nid(obj), crit = X509_EXTENSION_get_critical(ext);
		const char *refused;
		char oid[80];
		void *val;

		if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
			snprintf(oid, sizeof(oid), "(unprintable)");
		for (j = 0; j < i; j++)
			if (OBJ_cmp(obj, X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts,
			    j))) == 0) {
				mf_why(why, whylen, "CSR requests %s twice",
				    nid != NID_undef ? OBJ_nid2sn(nid) : oid);
				rc = MF_ERR_CSR_EXTENSION;
				goto out;
			}
		if ((refused = mf_ext_refused(nid)) != NULL) {
			mf_why(why, whylen, "CSR requests %s%s: %s", crit ? "critical " : "",
			    OBJ_nid2sn(nid), refused);
			rc = MF_ERR_CSR_EXTENSION;
			goto out;
		}
		if (nid != NID_basic_constraints && nid != NID_key_usage &&
		    nid != NID_subject_alt_name && !mf_ext_ignored(nid)) {
			mf_why(why, whylen, "CSR requests %sextension %s%s%s%s, which mayfly does not "
			    "issue", crit ? "critical " : "", oid, nid != NID_undef ? " (" : "",
			    nid != NID_undef ? OBJ_nid2sn(nid) : "", nid != NID_undef ? ")" : "");
			rc = MF_ERR_CSR_EXTENSION;
			goto out;
		}
		if ((val = X509V3_EXT_d2i(ext)) == NULL) {
			ERR_clear_error();
			mf_why(why, whylen, "requested extension %s is malformed", OBJ_nid2sn(nid));
			rc = MF_ERR_CSR_EXTENSION;
			goto out;
		}
		if (mf_ext_ignored(nid)) {
			/* Well-formed, and the profile decides: never copied. */
			mf_ext_value_free(ext, val);
		} else if (nid == NID_basic_constraints) {
			BASIC_CONSTRAINTS *bc = val;
			int ca = bc->ca;

			BASIC_CONSTRAINTS_free(bc);
			if (ca) {
				mf_why(why, whylen, "CSR requests basicConstraints CA:TRUE");
				rc = MF_ERR_CSR_CA;
				goto out;
			}
		} else if (nid == NID_key_usage) {
			ASN1_BIT_STRING *ku = val;
			int kcs = ASN1_BIT_STRING_get_bit(ku, 5), crl = ASN1_BIT_STRING_get_bit(ku, 6);

			ASN1_BIT_STRING_free(ku);
			if (kcs || crl) {
				mf_why(why, whylen, "CSR requests keyUsage %s",
				    kcs && crl ? "keyCertSign and cRLSign" : kcs ? "keyCertSign" : "cRLSign");
				rc = MF_ERR_CSR_KEYCERTSIGN;
				goto out;
			}
		} else {
			GENERAL_NAMES *gens = val;

			*have_san = 1;
			rc = mf_names_from_san(gens, l, why, whylen);
			GENERAL_NAMES_free(gens);
			if (rc != MF_OK)
				goto out;
		}
	}
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/*
 * An "xn--" label must be a real A-label (RFC 5890 2.3.2.1): Punycode that
 * decodes to a U-label IDNA2008 allows and encodes back to the same bytes.
 * Anything else (undecodable Punycode, a control or disallowed code point,
 * a non-canonical encoding) would give a certificate that clients display
 * as something else, or refuse, and that public CAs may not issue.
 */
static int
mf_alabel_ok(const char *label, size_t llen)
{
	char a[MF_LABEL_MAX + 1], *u = NULL;
	uint8_t *back = NULL;
	int ok;

	if (llen > MF_LABEL_MAX)
		return 0;
	memcpy(a, label, llen);
	a[llen] = '\0';
	ok = idn2_to_unicode_8z8z(a, &u, 0) == IDN2_OK && u != NULL &&
	    idn2_lookup_u8((const uint8_t *)u, &back, IDN2_NFC_INPUT) == IDN2_OK &&
	    back != NULL && strcmp((const char *)back, a) == 0;
	idn2_free(u);
	idn2_free(back);
	return ok;
}

/*
 * DNS syntax: LDH labels of 1..63 characters that neither start nor end with
 * a hyphen, at most 253 characters, no trailing dot (the certificate would
 * then never match what clients compare), no all-numeric last label (that
 * would be an IP address dressed as a DNS name). A wildcard "*" is allowed
 * only as the whole left-most label, above at least two more labels.
 */
static int
mf_dns_check(const struct mf_profile *prof, const char *name, char *why, size_t whylen)
{
	char buf[100];
	const char *s = name, *label, *last = name;
	size_t len = strlen(name), llen, nlabels = 0;
	int wild = 0, alldigit, i;

	mf_printable((const unsigned char *)name, len, buf, sizeof(buf));
	if (len == 0) {
		mf_why(why, whylen, "empty DNS name");
		return MF_ERR_NAME_SYNTAX;
	}
	if (len > MF_DNS_MAX) {
		mf_why(why, whylen, "DNS name \"%s\" is longer than %d characters", buf, MF_DNS_MAX);
		return MF_ERR_NAME_SYNTAX;
	}
	if (name[len - 1] == '.') {
		mf_why(why, whylen, "DNS name \"%s\" ends with a dot", buf);
		return MF_ERR_NAME_SYNTAX;
	}
	if (strchr(name, '*') != NULL) {
		if (strncmp(name, "*.", 2) != 0 || strchr(name + 1, '*') != NULL) {
			mf_why(why, whylen, "wildcard in \"%s\" is not the whole left-most label", buf);
			return MF_ERR_WILDCARD;
		}
		if (!prof->wildcard) {
			mf_why(why, whylen, "wildcard \"%s\" is not allowed by profile %s", buf,
			    prof->name);
			return MF_ERR_WILDCARD;
		}
		wild = 1;
		s = name + 2;
	}
	for (label = s;; label = s + 1) {
		s = strchr(label, '.');
		llen = s ? (size_t)(s - label) : strlen(label);
		if (llen == 0) {
			mf_why(why, whylen, "DNS name \"%s\" has an empty label", buf);
			return MF_ERR_NAME_SYNTAX;
		}
		if (llen > MF_LABEL_MAX) {
			mf_why(why, whylen, "DNS name \"%s\" has a label longer than %d", buf,
			    MF_LABEL_MAX);
			return MF_ERR_NAME_SYNTAX;
		}
		if (label[0] == '-' || label[llen - 1] == '-') {
			mf_why(why, whylen, "DNS name \"%s\" has a label starting or ending with '-'",
			    buf);
			return MF_ERR_NAME_SYNTAX;
		}
		for (i = 0; i < (int)llen; i++) {
			unsigned char c = (unsigned char)label[i];

			if (!(isdigit(c) || (c >= 'a' && c <= 'z') || c == '-')) {
				mf_why(why, whylen, "DNS name \"%s\" holds '%c' (letters, digits, '-' only)",
				    buf, c >= 0x20 && c < 0x7f ? c : '?');
				return MF_ERR_NAME_SYNTAX;
			}
		}
		if (llen > 4 && strncmp(label, "xn--", 4) == 0 && !mf_alabel_ok(label, llen)) {
			mf_why(why, whylen, "DNS name \"%s\" has an xn-- label that is not a valid "
			    "IDNA2008 A-label", buf);
			return MF_ERR_NAME_SYNTAX;
		}
		nlabels++;
		last = label;
		if (s == NULL)
			break;
	}
	alldigit = 1;
	for (i = 0; last[i] != '\0'; i++)
		if (!isdigit((unsigned char)last[i]))
			alldigit = 0;
	if (alldigit) {
		mf_why(why, whylen, "DNS name \"%s\" has an all-numeric last label", buf);
		return MF_ERR_NAME_SYNTAX;
	}
	if (wild && nlabels < 2) {
		mf_why(why, whylen, "wildcard \"%s\" covers a whole top-level domain", buf);
		return MF_ERR_WILDCARD;
	}
	return MF_OK;
}

int
mf_policy_name_syntax(const struct mf_profile *prof, const struct mf_name *n, char *why,
    size_t whylen)
{
	if (prof == NULL || n == NULL)
		return MF_ERR_INVAL;
	if (n->type == MF_NAME_IP)
		return n->iplen == 4 || n->iplen == 16 ? MF_OK : MF_ERR_NAME_SYNTAX;
	if (n->type != MF_NAME_DNS || n->dns == NULL) {
		mf_why(why, whylen, "not a DNS name or IP address");
		return MF_ERR_NAME_SYNTAX;
	}
	return mf_dns_check(prof, n->dns, why, whylen);
}

static int
mf_ip_in_range(const struct mf_iprange *r, const struct mf_name *n)
{
	unsigned bits = n->iplen * 8, full, rest;
	unsigned char mask;

	if ((r->family == AF_INET) != (n->iplen == 4) || r->prefix > bits)
		return 0;
	full = r->prefix / 8;
	rest = r->prefix % 8;
	if (memcmp(r->addr, n->ip, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (r->addr[full] & mask) == (n->ip[full] & mask);
}

/* True if name ends with suffix (both lower case) and is longer. */
static int
mf_strictly_below(const char *name, const char *suffix)
{
	size_t nl = strlen(name), sl = strlen(suffix);

	return sl > 1 && nl > sl && strcasecmp(name + nl - sl, suffix) == 0;
}

int
mf_policy_name_allowed(const struct mf_profile *p, const struct mf_name *n)
{
	size_t i;
	int wild;

	if (p == NULL || n == NULL)
		return 0;
	if (n->type == MF_NAME_IP) {
		if (n->iplen != 4 && n->iplen != 16)
			return 0;
		for (i = 0; i < p->nip; i++)
			if (mf_ip_in_range(&p->ip[i], n))
				return 1;
		return 0;
	}
	if (n->type != MF_NAME_DNS || n->dns == NULL || n->dns[0] == '\0')
		return 0;
	wild = strncmp(n->dns, "*.", 2) == 0;
	if (wild && !p->wildcard)
		return 0;
	for (i = 0; i < p->ndns; i++) {
		const char *pat = p->dns[i];

		if (pat == NULL || pat[0] == '\0')
			continue;
		if (pat[0] == '.') {
			/*
			 * ".example.com" allows a.example.com and below. A wildcard
			 * "*.a.example.com" stands for the children of
			 * a.example.com, so it is covered by the same test applied
			 * to the whole string, "*" being one more label.
			 */
			if (mf_strictly_below(n->dns, pat))
				return 1;
		} else if (!wild && strcasecmp(n->dns, pat) == 0) {
			return 1;
		}
	}
	return 0;
}

static int
mf_name_eq(const struct mf_name *a, const struct mf_name *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == MF_NAME_IP)
		return a->iplen == b->iplen && memcmp(a->ip, b->ip, a->iplen) == 0;
	return strcmp(a->dns, b->dns) == 0;	/* both already lower case */
}

static int
mf_check_names(const struct mf_profile *prof, const struct mf_namelist *l, char *why,
    size_t whylen)
{
	char buf[100];
	size_t i, j;
	int rc;

	if (l->n == 0) {
		mf_why(why, whylen, "CSR requests no names (empty subjectAltName)");
		return MF_ERR_NAME_EMPTY;
	}
	for (i = 0; i < l->n; i++)
		if (l->v[i].type == MF_NAME_DNS &&
		    (rc = mf_dns_check(prof, l->v[i].dns, why, whylen)) != MF_OK)
			return rc;
	for (i = 0; i < l->n; i++)
		for (j = i + 1; j < l->n; j++)
			if (mf_name_eq(&l->v[i], &l->v[j])) {
				mf_why(why, whylen, "name %s is requested twice",
				    mf_name_str(&l->v[i], buf, sizeof(buf)));
				return MF_ERR_NAME_DUP;
			}
	for (i = 0; i < l->n; i++)
		if (!mf_policy_name_allowed(prof, &l->v[i])) {
			mf_why(why, whylen, "name %s is not allowed by profile %s",
			    mf_name_str(&l->v[i], buf, sizeof(buf)), prof->name);
			return MF_ERR_NAME_POLICY;
		}
	return MF_OK;
}

/*
 * The CSR's key did not decode. An algorithm OpenSSL knows means the key
 * bits are broken (a parse error); an unknown one is a key type we refuse.
 */
static int
mf_bad_pubkey(X509_REQ *csr, char *why, size_t whylen)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(csr);
	ASN1_OBJECT *alg = NULL;
	char oid[80];

	if (xpk == NULL || !X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) || alg == NULL) {
		ERR_clear_error();
		mf_why(why, whylen, "CSR has no usable public key");
		return MF_ERR_CSR_PARSE;
	}
	if (OBJ_obj2nid(alg) != NID_undef) {
		mf_why(why, whylen, "CSR public key (%s) is malformed", OBJ_nid2sn(OBJ_obj2nid(alg)));
		return MF_ERR_CSR_PARSE;
	}
	if (OBJ_obj2txt(oid, sizeof(oid), alg, 1) <= 0)
		snprintf(oid, sizeof(oid), "(unprintable)");
	mf_why(why, whylen, "key algorithm %s is not allowed", oid);
	return MF_ERR_KEY_ALG;
}

/*
 * Copies a SubjectPublicKeyInfo field by field. X509_set_pubkey() and
 * X509_PUBKEY_dup() go through an EVP_PKEY (in OpenSSL 3.0 an encoder and a
 * decoder per call, the most expensive part of issuing a leaf); the bytes
 * the CSR carried are what the certificate must hold anyway.
 */
int
mf_spki_copy(X509_PUBKEY *dst, const X509_PUBKEY *src)
{
	const unsigned char *pk;
	const ASN1_OBJECT *aobj;
	X509_ALGOR *alg = NULL;
	const void *pval;
	ASN1_OBJECT *obj = NULL;
	void *val = NULL;
	unsigned char *enc = NULL;
	int pklen, ptype;

	if (dst == NULL || src == NULL)
		return MF_ERR_INVAL;
	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, &alg, src) || alg == NULL || pk == NULL || pklen <= 0)
		return MF_ERR_CRYPTO;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	switch (ptype) {
	case V_ASN1_UNDEF:
	case V_ASN1_NULL:
		break;
	case V_ASN1_OBJECT:
		if ((val = OBJ_dup(pval)) == NULL)
			goto nomem;
		break;
	case V_ASN1_SEQUENCE:
		if ((val = ASN1_STRING_dup(pval)) == NULL)
			goto nomem;
		break;
	default:
		return MF_ERR_CRYPTO;	/* no key type mayfly allows */
	}
	if ((obj = OBJ_dup(aobj)) == NULL || (enc = OPENSSL_memdup(pk, (size_t)pklen)) == NULL)
		goto nomem;
	if (!X509_PUBKEY_set0_param(dst, obj, ptype, val, enc, pklen))
		goto nomem;
	return MF_OK;
nomem:
	ASN1_OBJECT_free(obj);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(val);
	else
		ASN1_STRING_free(val);
	OPENSSL_free(enc);
	return MF_ERR_NOMEM;
}

int
mf_policy_check(const struct mf_config *cfg, const struct mf_request *req,
    struct mf_approved **out, char *why, size_t whylen)
{
	struct mf_namelist names = { NULL, 0, 0 };
	const struct mf_profile *prof;
	struct mf_approved *a = NULL;
	const char *pname;
	unsigned char *der = NULL;
	EVP_PKEY *pk = NULL;
	int64_t lifetime = 0;
	int rc, have_san, derlen;
	long v;

	mf_why(why, whylen, "ok");
	if (cfg == NULL || req == NULL || out == NULL) {
		mf_why(why, whylen, "missing argument");
		return MF_ERR_INVAL;
	}
	*out = NULL;
	if (req->csr == NULL) {
		mf_why(why, whylen, "no CSR");
		return MF_ERR_CSR_PARSE;
	}

	pname = req->profile ? req->profile : "server";
	if ((prof = mf_config_profile(cfg, pname)) == NULL) {
		char buf[100];

		mf_why(why, whylen, "unknown profile \"%s\"",
		    mf_printable((const unsigned char *)pname, strlen(pname), buf, sizeof(buf)));
		return MF_ERR_PROFILE;
	}
	if ((rc = mf_check_lifetime(cfg, prof, req->lifetime, &lifetime, why, whylen)) != MF_OK)
		return rc;
	if ((rc = mf_policy_not_before(cfg, req->not_before, req->now != 0 ? req->now :
	    (int64_t)time(NULL), why, whylen)) != MF_OK)
		return rc;

	/*
	 * Proof of possession. X509_REQ_verify() returns 1 only for a good
	 * signature; 0 and -1 (unsupported or malformed) are both refusals.
	 */
	if ((pk = mf_csr_pubkey(req->csr)) == NULL) {
		ERR_clear_error();
		return mf_bad_pubkey(req->csr, why, whylen);
	}
	if ((v = X509_REQ_get_version(req->csr)) != X509_REQ_VERSION_1) {
		mf_why(why, whylen, "CSR version field %ld is not 0 (v1)", v);
		rc = MF_ERR_CSR_PARSE;
		goto out;
	}
	if ((rc = mf_check_sigalg(req->csr, why, whylen)) != MF_OK)
		goto out;
	if (!req->skip_signature && X509_REQ_verify(req->csr, pk) != 1) {
		ERR_clear_error();
		mf_why(why, whylen, "CSR self-signature does not verify");
		rc = MF_ERR_CSR_SIGNATURE;
		goto out;
	}
	if ((rc = mf_check_spki_params(req->csr, why, whylen)) != MF_OK ||
	    (rc = mf_check_key(prof, pk, why, whylen)) != MF_OK)
		goto out;

	if ((rc = mf_check_exts(req->csr, &names, &have_san, why, whylen)) != MF_OK)
		goto out;
	if (!have_san && (rc = mf_names_from_cn(req->csr, &names, why, whylen)) != MF_OK)
		goto out;
	if ((rc = mf_check_names(prof, &names, why, whylen)) != MF_OK)
		goto out;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->requester = strdup(req->requester ? req->requester : "unknown")) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((derlen = i2d_X509_REQ(req->csr, &der)) <= 0 ||
	    SHA256(der, (size_t)derlen, a->csr_sha256) == NULL) {
		ERR_clear_error();
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	/* The leaf gets these bytes verbatim: no encode/decode round trip. */
	if ((a->spki = X509_PUBKEY_new()) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((rc = mf_spki_copy(a->spki, X509_REQ_get_X509_PUBKEY(req->csr))) != MF_OK)
		goto out;
	a->pubkey = pk;
	pk = NULL;
	a->profile = prof;
	a->lifetime = lifetime;
	a->not_before = req->not_before;
	a->names = names.v;
	a->nnames = names.n;
	names.v = NULL;
	names.n = names.cap = 0;
	*out = a;
	a = NULL;
	mf_why(why, whylen, "ok");
	rc = MF_OK;
out:
	/* Refusals wrote their own why; these two come from below us. */
	if (rc == MF_ERR_NOMEM)
		mf_why(why, whylen, "out of memory");
	else if (rc == MF_ERR_CRYPTO)
		mf_why(why, whylen, "hashing the CSR failed");
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	mf_namelist_clear(&names);
	mf_approved_free(a);
	return rc;
}
