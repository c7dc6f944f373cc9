/*
 * diffgen.c - differential testing of libmayfly-verify against OpenSSL.
 *
 * Builds thousands of certificate chains with the OpenSSL API (a root, zero
 * to two intermediates, a leaf), most of them mutated on purpose: validity
 * shifted, extensions removed, duplicated or made critical, CA bits and
 * path lengths wrong, key usages and extended key usages wrong, names that
 * do not match, signatures by the wrong key, bytes flipped (with and
 * without re-signing the mutated TBSCertificate), DER truncated or padded.
 * Each chain goes through mfv_verify() and through OpenSSL's
 * X509_verify_cert() with X509_V_FLAG_X509_STRICT, purpose sslserver, the
 * same host name or IP and the same time, the root as the only trust
 * anchor.  The outcome is one of:
 *
 *   agree-accept   both accept
 *   agree-reject   both refuse
 *   lib-stricter   the library refuses, OpenSSL accepts (expected: the
 *                  lifetime cap, mandatory serverAuth, strict DER, ...)
 *   lib-looser     the library accepts what OpenSSL refuses for a reason
 *                  the library claims to check: MUST be 0
 *   out-of-scope   the library accepts what OpenSSL refuses for a reason
 *                  mayfly_verify.h documents as not checked (RFC 5280
 *                  profile rules of X509_STRICT such as missing key
 *                  identifiers, non-critical basicConstraints, empty
 *                  names; duplicate or malformed extensions the library
 *                  does not process): counted, not a failure
 *
 * Each outcome is also counted per profile class of issue 12 (a CN not
 * among the SANs, missing or malformed AKI/SKI, ...: see pclass_names),
 * by what the final plan of the chain holds.
 *
 * The exit status is 1 if any lib-looser case was seen (each is printed
 * with its mutation and OpenSSL's reason, and its chain written as PEM to
 * $MFV_DIFF_OUT if set), 0 otherwise.
 *
 * Bounded: MFV_DIFF_SEED (default 1), MFV_DIFF_COUNT (default 3000) and
 * MFV_DIFF_SECONDS (default 120, checked after every chain).  All random
 * choices come from a seeded xorshift generator so a run is reproducible
 * in its structure; key material and ECDSA nonces come from OpenSSL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "mayfly_verify.h"

#define MAXN 4 /* root + up to 2 intermediates + leaf */

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return n == 0 ? 0 : (uint32_t)((x >> 11) % n);
}

/* ---- key pool ------------------------------------------------------------ */

/* K_RSA2052: a modulus that is not a multiple of 8 bits (BR 6.1.5). */
enum { K_P256, K_P384, K_RSA2048, K_RSA1024, K_ED25519, K_RSA2052, K_NTYPES };
#define IS_RSA(t) ((t) == K_RSA2048 || (t) == K_RSA1024 || (t) == K_RSA2052)
#define POOL_PER 4
static EVP_PKEY *pool[K_NTYPES][POOL_PER];

static EVP_PKEY *
keygen(int type)
{
	switch (type) {
	case K_P256: return EVP_EC_gen("P-256");
	case K_P384: return EVP_EC_gen("P-384");
	case K_RSA2048: return EVP_RSA_gen(2048);
	case K_RSA1024: return EVP_RSA_gen(1024);
	case K_RSA2052: return EVP_RSA_gen(2052);
	case K_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

static int
pool_init(void)
{
	int t, i, n;

	for (t = 0; t < K_NTYPES; t++) {
		n = IS_RSA(t) ? 2 : POOL_PER;
		for (i = 0; i < POOL_PER; i++)
			if ((pool[t][i] = i < n ? keygen(t) : pool[t][i % n]) == NULL)
				return -1;
	}
	return 0;
}

/* Mostly P-256, as mayfly issues; sometimes the others. */
static int
pick_type(void)
{
	uint32_t r = rnd(100);

	return r < 70 ? K_P256 : r < 80 ? K_P384 : r < 92 ? K_RSA2048 : r < 96 ? K_ED25519 : r < 98 ? K_RSA1024 : K_RSA2052;
}

/* ---- the plan of one chain ------------------------------------------------ */

struct certplan {
	int key_type, key_idx;
	long nb, na;            /* notBefore/notAfter relative to now, seconds */
	int ca;                 /* basicConstraints cA */
	int bc;                 /* 0 absent, 1 present non-critical, 2 critical */
	int pathlen;            /* -1 none */
	const char *ku;         /* NULL = absent */
	const char *eku;        /* NULL = absent */
	const char *san;        /* NULL = absent */
	int skid, akid;
	int dup;                /* NID of an extension to add twice, 0 = none */
	int unknown_crit;       /* add an unknown critical extension */
	int version;            /* 0..2 */
	int serial_kind;        /* 0 normal, 1 zero, 2 negative, 3 21 octets */
	int empty_subject;      /* no subject attributes at all */
	int san_crit;           /* subjectAltName marked critical */
	int extra;              /* 1 malformed AIA, 2 policyConstraints, 3 critical
	                           policyConstraints, 4 AKI with issuer and serial */
	int bad_kid;            /* 1 AKI without keyIdentifier, 2 SKI not an OCTET
	                           STRING, 3 AKI not a SEQUENCE, 4 critical AKI,
	                           5 critical SKI */
	int root_aki;           /* the root carries an AKI: 1 with its own keyid
	                           and its issuer and serial, 2 without keyid */
	const EVP_MD *md;       /* NULL: the key's default (SHA-256; Ed25519 none) */
	int wrong_signer;       /* sign with a different key of the same type */
	int subject_mismatch;   /* issuer name differs from the issuer's subject */
	const char *cn;
};

struct plan {
	int n;                    /* certificates, root included */
	struct certplan c[MAXN];  /* c[0] = leaf ... c[n-1] = root */
	const char *host;
	const char *ip;
	char what[160];           /* description of the mutations */
	/* byte-level mutation after signing */
	int bm_kind;              /* 0 none, 1 flip, 2 flip+resign, 3 truncate, 4 pad */
	int bm_cert;
	uint32_t bm_pos_seed;
};

static const char *const sans[] = {
	"DNS:www.example.test",
	"DNS:www.example.test,DNS:api.example.test",
	"DNS:*.example.test",
	"DNS:w*.example.test",
	"DNS:*.test",
	"DNS:*.*.example.test",
	"DNS:other.example.test",
	"DNS:www.example.test.evil.test",
	"IP:192.0.2.1",
	"DNS:www.example.test,IP:192.0.2.1",
	"email:a@example.test",
	"DNS:WWW.EXAMPLE.TEST",
	"DNS:www.example.test,DNS:*.example.test",
	"DNS:foo_bar.example.test,DNS:www.example.test",
	"DNS:*.co.uk",
};
static const char *const hosts[] = {
	"www.example.test", "api.example.test", "example.test", "a.b.example.test",
	"www.example.test.evil.test", "other.example.test", "WWW.Example.Test", "www.co.uk",
};
/* Subject CNs of a leaf: in the SAN or not, another case, an IP. */
static const char *const leaf_cns[] = {
	"other.example.test", "WWW.example.test", "192.0.2.1", "*.co.uk",
};
static const char *const leaf_kus[] = {
	"critical,digitalSignature", "digitalSignature", "critical,keyEncipherment",
	"critical,keyCertSign", "critical,digitalSignature,keyCertSign", "critical,keyAgreement",
	"critical,nonRepudiation", "critical,digitalSignature,keyEncipherment",
};
static const char *const ca_kus[] = {
	"critical,keyCertSign,cRLSign", "critical,digitalSignature", "keyCertSign",
	"critical,cRLSign", "critical,keyCertSign,digitalSignature",
};
static const char *const ekus[] = {
	"serverAuth", "clientAuth", "anyExtendedKeyUsage", "serverAuth,clientAuth",
	"critical,serverAuth", "OCSPSigning", "codeSigning",
};

static void
note(struct plan *p, const char *fmt, const char *arg, int i)
{
	size_t l = strlen(p->what);

	snprintf(p->what + l, sizeof(p->what) - l, "%s%s@%d", l ? " " : "", arg ? arg : fmt, i);
}

/*
 * The profile classes of issue 12 (libmayfly-verify(3), "Profile"), with
 * the same names as mfv_limbo's per-class counts.  A chain belongs to a
 * class when its final plan holds that break, whichever mutation put it
 * there (classes_of()); plan_profile() puts one there on purpose.
 */
enum {
	P_CN, P_KID, P_ROOT_EKU_AKI, P_LEAF_KCS, P_SERIAL0, P_EMPTY_ISSUER, P_BC_ROOT,
	P_LEAF_EKU, P_RSA8, P_PS_WILD, P_UNDERSCORE, P_AIA, P_PC, NPCLASS
};
static const char *const pclass_names[NPCLASS] = {
	"cn-not-in-san", "aki-ski", "root-eku-aki", "leaf-keycertsign", "serial-zero",
	"empty-issuer-subject", "bc-noncrit-root", "leaf-anyeku-crit-eku", "rsa-not-8",
	"ps-wildcard", "underscore-san", "bad-aia", "pc-noncrit",
};

static void
plan_profile(struct plan *p, int i)
{
	struct certplan *c = &p->c[i], *leaf = &p->c[0], *root = &p->c[p->n - 1];
	static const char *const kids[] = { "no-skid", "aki-no-keyid", "ski-not-octets", "aki-not-seq",
	                                    "aki-crit", "ski-crit", "no-akid" };
	static const char *const xs[] = { NULL, "root-aki-issuer", "root-aki-no-keyid" };
	int k = (int)rnd(NPCLASS), root_i = i == p->n - 1;
	const char *what = pclass_names[k];

	switch (k) {
	case P_CN: leaf->cn = leaf_cns[rnd(sizeof(leaf_cns) / sizeof(leaf_cns[0]))]; i = 0; break;
	case P_KID:
		/* RFC 5280 wants an SKI in a CA and an AKI in all but a
		 * self-signed certificate: a leaf keeps its SKI. */
		if (i > 0 && rnd(4) == 0) {
			c->skid = 0;
			what = kids[0];
		} else if (!root_i && rnd(4) == 0) {
			c->akid = 0;
			what = kids[6];
		} else {
			c->bad_kid = root_i ? (rnd(2) ? 2 : 5) : 1 + (int)rnd(5);
			what = kids[c->bad_kid];
		}
		break;
	case P_ROOT_EKU_AKI:
		if (rnd(2)) {
			root->root_aki = 1 + (int)rnd(2);
			what = xs[root->root_aki];
		} else {
			root->eku = ekus[rnd(sizeof(ekus) / sizeof(ekus[0]))];
			what = "root-eku";
		}
		i = p->n - 1;
		break;
	case P_LEAF_KCS: leaf->ku = rnd(2) ? "critical,digitalSignature,keyCertSign" : "critical,keyCertSign";
		i = 0; break;
	case P_SERIAL0: c->serial_kind = 1; break;
	case P_EMPTY_ISSUER: i = 1 + (int)rnd((uint32_t)p->n - 1); p->c[i].empty_subject = 1; break;
	case P_BC_ROOT: root->bc = 1; i = p->n - 1; break;
	case P_LEAF_EKU: {
		static const char *const e[] = { "anyExtendedKeyUsage", "critical,serverAuth",
		                                 "serverAuth,anyExtendedKeyUsage" };
		leaf->eku = e[rnd(3)];
		i = 0;
		break;
	}
	case P_RSA8: c->key_type = K_RSA2052; break;
	case P_PS_WILD:
		/* The host matches the wildcard and the CN is the SAN, so
		 * that nothing but the public suffix is wrong. */
		if (rnd(2)) {
			leaf->san = "DNS:*.co.uk";
			leaf->cn = "*.co.uk";
			p->host = "www.co.uk";
		} else {
			leaf->san = "DNS:*.test";
			leaf->cn = "*.test";
			p->host = "example.test";
		}
		i = 0;
		break;
	case P_UNDERSCORE: leaf->san = "DNS:foo_bar.example.test,DNS:www.example.test"; i = 0; break;
	case P_AIA: c->extra = 1; break;
	case P_PC: c->extra = 2; break;
	}
	note(p, "profile", what, i);
}

/* Is the leaf's CN one of its SAN's dNSNames, octet for octet? */
static int
cn_in_san(const struct certplan *c)
{
	const char *s = c->san;
	size_t l = strlen(c->cn);

	while ((s = strstr(s, "DNS:")) != NULL) {
		s += 4;
		if (strncmp(s, c->cn, l) == 0 && (s[l] == '\0' || s[l] == ','))
			return 1;
	}
	return 0;
}

/* The profile classes a plan holds, as a bit mask. */
static unsigned
classes_of(const struct plan *p)
{
	const struct certplan *leaf = &p->c[0], *root = &p->c[p->n - 1];
	unsigned m = 0;
	int i;

	for (i = 0; i < p->n; i++) {
		const struct certplan *c = &p->c[i];

		if (c->serial_kind == 1)
			m |= 1u << P_SERIAL0;
		if (c->key_type == K_RSA2052)
			m |= 1u << P_RSA8;
		if (i > 0 && c->empty_subject)
			m |= 1u << P_EMPTY_ISSUER;
		if (c->version != 2)
			continue; /* no extensions at all */
		if ((i > 0 && !c->skid) || (i < p->n - 1 && !c->akid) || c->bad_kid)
			m |= 1u << P_KID;
		if (c->san != NULL && strchr(c->san, '_') != NULL)
			m |= 1u << P_UNDERSCORE;
		if (c->extra == 1)
			m |= 1u << P_AIA;
		if (c->extra == 2)
			m |= 1u << P_PC;
	}
	if (leaf->version == 2) {
		if (leaf->san != NULL && !leaf->empty_subject && !cn_in_san(leaf))
			m |= 1u << P_CN;
		if (leaf->ku != NULL && strstr(leaf->ku, "keyCertSign") != NULL)
			m |= 1u << P_LEAF_KCS;
		if (leaf->eku != NULL && (strstr(leaf->eku, "anyExtendedKeyUsage") != NULL ||
		                          strncmp(leaf->eku, "critical,", 9) == 0))
			m |= 1u << P_LEAF_EKU;
		if ((leaf->san != NULL && (strstr(leaf->san, "DNS:*.test") != NULL ||
		                           strstr(leaf->san, "DNS:*.co.uk") != NULL)) ||
		    (!leaf->empty_subject && strcmp(leaf->cn, "*.co.uk") == 0))
			m |= 1u << P_PS_WILD;
	}
	if (root->version == 2) {
		if (root->eku != NULL || root->root_aki)
			m |= 1u << P_ROOT_EKU_AKI;
		if (root->bc == 1)
			m |= 1u << P_BC_ROOT;
	}
	return m;
}

static void
plan_chain(struct plan *p)
{
	int i, m, nmut, k;

	memset(p, 0, sizeof(*p));
	p->n = 2 + (int)rnd(3);
	p->host = hosts[0];
	for (i = 0; i < p->n; i++) {
		struct certplan *c = &p->c[i];
		int root = i == p->n - 1, leaf = i == 0;

		c->key_type = leaf || rnd(4) != 0 ? pick_type() : K_P256;
		if (c->key_type == K_RSA1024 && rnd(2))
			c->key_type = K_RSA2048;
		c->key_idx = (int)rnd(POOL_PER);
		c->version = 2;
		c->skid = 1;
		c->akid = !root;
		c->pathlen = -1;
		if (leaf) {
			c->nb = -3600;
			c->na = 23 * 3600;
			c->bc = 2;
			c->ca = 0;
			c->ku = "critical,digitalSignature";
			c->eku = "serverAuth";
			c->san = sans[0];
			c->cn = "www.example.test";
			if (IS_RSA(c->key_type))
				c->ku = "critical,digitalSignature,keyEncipherment";
		} else {
			c->nb = root ? -86400L * 100 : -86400L * 10;
			c->na = root ? 86400L * 3650 : 86400L * 365;
			c->bc = 2;
			c->ca = 1;
			c->ku = ca_kus[0];
			c->cn = root ? "Diff Root" : i == 1 ? "Diff Issuing CA" : "Diff Policy CA";
		}
	}
	/* About a quarter of the chains stay valid. */
	nmut = rnd(4) == 0 ? 0 : 1 + (int)rnd(2);
	for (m = 0; m < nmut; m++) {
		i = (int)rnd((uint32_t)p->n);
		struct certplan *c = &p->c[i];
		switch (rnd(30)) {
		case 0: c->na = 25 * 3600 - 3600; note(p, "lifetime25h", NULL, i); break;
		case 1: c->na = -60; c->nb = -86400; note(p, "expired", NULL, i); break;
		case 2: c->nb = 600; c->na = 86400; note(p, "notyet", NULL, i); break;
		case 3: k = (int)rnd(3); /* remove an extension */
			if (k == 0) { c->bc = 0; note(p, "no-bc", NULL, i); }
			else if (k == 1) { c->ku = NULL; note(p, "no-ku", NULL, i); }
			else { c->eku = NULL; note(p, "no-eku", NULL, i); }
			break;
		case 4: c->san = NULL; note(p, "no-san", NULL, i); break;
		case 5: k = (int)rnd(2);
			if (k) { c->skid = 0; note(p, "no-skid", NULL, i); }
			else { c->akid = 0; note(p, "no-akid", NULL, i); }
			break;
		case 6: {
			static const int dups[] = { NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
			                            NID_subject_alt_name, NID_subject_key_identifier };
			c->dup = dups[rnd(5)];
			note(p, "dup-ext", OBJ_nid2sn(c->dup), i);
			break;
		}
		case 7: c->ca = !c->ca; note(p, "flip-ca", NULL, i); break;
		case 8: c->bc = 1; note(p, "bc-noncrit", NULL, i); break;
		case 9: c->pathlen = (int)rnd(2); note(p, c->pathlen ? "pathlen1" : "pathlen0", NULL, i); break;
		case 10: c->san = sans[rnd(sizeof(sans) / sizeof(sans[0]))]; note(p, "san", c->san, i); break;
		case 11: p->host = hosts[rnd(sizeof(hosts) / sizeof(hosts[0]))]; note(p, "host", p->host, 0); break;
		case 12: c->ku = i == 0 ? leaf_kus[rnd(sizeof(leaf_kus) / sizeof(leaf_kus[0]))]
		                        : ca_kus[rnd(sizeof(ca_kus) / sizeof(ca_kus[0]))];
			note(p, "ku", c->ku, i); break;
		case 13: c->eku = ekus[rnd(sizeof(ekus) / sizeof(ekus[0]))]; note(p, "eku", c->eku, i); break;
		case 14: c->unknown_crit = 1; note(p, "unknown-crit", NULL, i); break;
		case 15: c->wrong_signer = 1; note(p, "wrong-signer", NULL, i); break;
		case 16: c->subject_mismatch = 1; note(p, "issuer-name", NULL, i); break;
		case 17: c->md = rnd(2) ? EVP_sha1() : EVP_sha512(); note(p, "md", EVP_MD_get0_name(c->md), i); break;
		case 18: c->version = (int)rnd(2); note(p, c->version ? "v2" : "v1", NULL, i); break;
		case 19: c->serial_kind = 1 + (int)rnd(3); note(p, "serial", NULL, i); break;
		case 20: p->ip = rnd(2) ? "192.0.2.1" : "192.0.2.7"; note(p, "ip", p->ip, 0); break;
		case 21:
			p->bm_kind = 1 + (int)rnd(4);
			p->bm_cert = i;
			p->bm_pos_seed = rnd(0xffffffffu);
			note(p, p->bm_kind == 1 ? "flip" : p->bm_kind == 2 ? "flip-resign"
			        : p->bm_kind == 3 ? "truncate" : "pad", NULL, i);
			break;
		/* The profile classes of libmayfly-verify(3). */
		/* The leaf's CN only: a CA named like the leaf up to case
		 * makes OpenSSL (which folds case in names) take the leaf
		 * for self-issued, a documented difference (raw names). */
		case 22: p->c[0].cn = leaf_cns[rnd(sizeof(leaf_cns) / sizeof(leaf_cns[0]))];
			note(p, "cn", p->c[0].cn, 0); break;
		case 23: c->empty_subject = 1; c->san_crit = (int)rnd(2);
			note(p, c->san_crit ? "empty-subject,san-crit" : "empty-subject", NULL, i); break;
		case 24: c->san_crit = 1; note(p, "san-crit", NULL, i); break;
		/* One of the issue-12 profile classes on purpose (four
		 * slots, so that each class is met often enough). */
		case 26: case 27: case 28: case 29:
			plan_profile(p, i);
			break;
		case 25: c->extra = 1 + (int)rnd(4);
			note(p, c->extra == 1 ? "bad-aia" : c->extra == 2 ? "pc" : c->extra == 3 ? "pc-crit" : "aki-issuer",
			     NULL, i);
			break;
		}
	}
	if (p->what[0] == '\0')
		snprintf(p->what, sizeof(p->what), "valid");
}

/* ---- building ------------------------------------------------------------- */

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, nid, val)) == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -1;
}

static EVP_PKEY *
key_of(const struct certplan *c, int other)
{
	return pool[c->key_type][(c->key_idx + other) % POOL_PER];
}

/* Build certificate i of the plan, issued by `issuer` (NULL for the root). */
static X509 *
build(const struct plan *p, int i, X509 *issuer, time_t now)
{
	const struct certplan *c = &p->c[i];
	const struct certplan *ic = issuer != NULL ? &p->c[i + 1] : c;
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new(), *iname = NULL;
	ASN1_INTEGER *ser = NULL;
	BIGNUM *bn = BN_new();
	unsigned char sb[21];
	char bc[64];
	size_t k;
	int ok = 0;

	if (x == NULL || subj == NULL || bn == NULL)
		goto out;
	for (k = 0; k < sizeof(sb); k++)
		sb[k] = (unsigned char)rnd(256);
	sb[0] = (unsigned char)((sb[0] & 0x3f) | 0x01);
	if (c->serial_kind == 1)
		BN_zero(bn);
	else if (BN_bin2bn(sb, c->serial_kind == 3 ? 21 : 16, bn) == NULL)
		goto out;
	if (c->serial_kind == 2)
		BN_set_negative(bn, 1);
	if ((ser = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || X509_set_serialNumber(x, ser) != 1)
		goto out;
	if (X509_set_version(x, c->version) != 1 ||
	    (!c->empty_subject &&
	     (X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC, (const unsigned char *)"Mayfly Diff", -1, -1, 0) != 1 ||
	      X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)c->cn, -1, -1, 0) != 1)) ||
	    X509_set_subject_name(x, subj) != 1)
		goto out;
	if (issuer == NULL)
		iname = X509_NAME_dup(subj);
	else
		iname = X509_NAME_dup(X509_get_subject_name(issuer));
	if (iname == NULL)
		goto out;
	if (c->subject_mismatch &&
	    X509_NAME_add_entry_by_txt(iname, "OU", MBSTRING_ASC, (const unsigned char *)"x", -1, -1, 0) != 1)
		goto out;
	if (X509_set_issuer_name(x, iname) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, c->nb, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, c->na, &now) == NULL ||
	    X509_set_pubkey(x, key_of(c, 0)) != 1)
		goto out;
	if (c->version == 2) {
		if (c->bc) {
			snprintf(bc, sizeof(bc), "%sCA:%s", c->bc == 2 ? "critical," : "",
			         c->ca ? "TRUE" : "FALSE");
			if (c->pathlen >= 0 && c->ca)
				snprintf(bc + strlen(bc), sizeof(bc) - strlen(bc), ",pathlen:%d", c->pathlen);
			if (add_ext(x, issuer ? issuer : x, NID_basic_constraints, bc) != 0)
				goto out;
		}
		if (c->ku && add_ext(x, issuer ? issuer : x, NID_key_usage, c->ku) != 0)
			goto out;
		if (c->eku && add_ext(x, issuer ? issuer : x, NID_ext_key_usage, c->eku) != 0)
			goto out;
		if (c->san) {
			char sv[128];

			snprintf(sv, sizeof(sv), "%s%s", c->san_crit ? "critical," : "", c->san);
			if (add_ext(x, issuer ? issuer : x, NID_subject_alt_name, sv) != 0)
				goto out;
		}
		if (c->extra == 1 && add_ext(x, issuer ? issuer : x, NID_info_access, "ASN1:NULL") != 0)
			goto out;
		if ((c->extra == 2 || c->extra == 3) &&
		    add_ext(x, issuer ? issuer : x, NID_policy_constraints,
		            c->extra == 3 ? "critical,requireExplicitPolicy:0" : "requireExplicitPolicy:0") != 0)
			goto out;
		if (c->skid && add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
		                       c->bad_kid == 2 ? "ASN1:NULL" : c->bad_kid == 5 ? "critical,hash" : "hash") != 0)
			goto out;
		if (c->akid && issuer != NULL &&
		    add_ext(x, issuer, NID_authority_key_identifier,
		            c->bad_kid == 1 ? "issuer:always" : c->bad_kid == 3 ? "ASN1:NULL"
		            : c->bad_kid == 4 ? "critical,keyid:always"
		            : c->extra == 4 ? "keyid:always,issuer:always" : "keyid:always") != 0)
			goto out;
		if (c->root_aki && issuer == NULL &&
		    add_ext(x, x, NID_authority_key_identifier,
		            c->root_aki == 1 ? "keyid:always,issuer:always" : "issuer:always") != 0)
			goto out;
		if (c->dup) {
			int pos = X509_get_ext_by_NID(x, c->dup, -1);
			if (pos >= 0 && X509_add_ext(x, X509_get_ext(x, pos), -1) != 1)
				goto out;
		}
		if (c->unknown_crit &&
		    add_ext(x, issuer ? issuer : x, OBJ_txt2nid("1.3.6.1.4.1.55555.7") > 0
		            ? OBJ_txt2nid("1.3.6.1.4.1.55555.7")
		            : OBJ_create("1.3.6.1.4.1.55555.7", "mfvDiffTest", "mayfly diff test"),
		            "critical,ASN1:NULL") != 0)
			goto out;
	}
	{
		EVP_PKEY *sk = c->wrong_signer ? key_of(ic, 1) : key_of(ic, 0);
		const EVP_MD *md = c->md;

		if (EVP_PKEY_get_base_id(sk) == EVP_PKEY_ED25519)
			md = NULL;
		else if (md == NULL)
			md = EVP_PKEY_get_base_id(sk) == EVP_PKEY_EC && EVP_PKEY_get_bits(sk) == 384
			     ? EVP_sha384() : EVP_sha256();
		if (X509_sign(x, sk, md) <= 0)
			goto out;
	}
	ok = 1;
out:
	if (!ok) {
		X509_free(x);
		x = NULL;
		ERR_clear_error();
	}
	X509_NAME_free(subj);
	X509_NAME_free(iname);
	ASN1_INTEGER_free(ser);
	BN_free(bn);
	return x;
}

/* Re-sign a mutated TBSCertificate: SEQUENCE { tbs, sigalg, BIT STRING }. */
static int
resign(const unsigned char *tbs, size_t tbs_len, X509 *orig, EVP_PKEY *key, unsigned char *out,
       size_t *out_len)
{
	const X509_ALGOR *alg = NULL;
	unsigned char sig[1024], *ab = NULL, *o = out;
	size_t slen = sizeof(sig), body;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	const EVP_MD *md = NULL;
	int alen, rc = -1, nid = 0;

	X509_get0_signature(NULL, &alg, orig);
	if (m == NULL || (alen = i2d_X509_ALGOR(alg, &ab)) <= 0)
		goto out;
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
		if (OBJ_find_sigid_algs(OBJ_obj2nid(alg->algorithm), &nid, NULL) != 1 ||
		    (md = EVP_get_digestbynid(nid)) == NULL)
			goto out;
	}
	if (EVP_DigestSignInit(m, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(m, sig, &slen, tbs, tbs_len) != 1)
		goto out;
	body = tbs_len + (size_t)alen + 2 + (slen + 1 > 127 ? (slen + 1 > 255 ? 3 : 2) : 1) + slen;
	if (body > 65535 || body + 4 > *out_len)
		goto out;
	*o++ = 0x30; *o++ = 0x82; *o++ = (unsigned char)(body >> 8); *o++ = (unsigned char)body;
	memcpy(o, tbs, tbs_len); o += tbs_len;
	memcpy(o, ab, (size_t)alen); o += alen;
	*o++ = 0x03;
	if (slen + 1 > 255) { *o++ = 0x82; *o++ = (unsigned char)((slen + 1) >> 8); *o++ = (unsigned char)(slen + 1); }
	else if (slen + 1 > 127) { *o++ = 0x81; *o++ = (unsigned char)(slen + 1); }
	else *o++ = (unsigned char)(slen + 1);
	*o++ = 0x00;
	memcpy(o, sig, slen); o += slen;
	*out_len = (size_t)(o - out);
	rc = 0;
out:
	OPENSSL_free(ab);
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return rc;
}

/* ---- judging ---------------------------------------------------------------- */

/* OpenSSL reasons mayfly_verify.h says the library does not check. */
static int
out_of_scope(int err)
{
	switch (err) {
	case X509_V_ERR_AKID_SKID_MISMATCH:          /* path building by name only */
	case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
	case X509_V_ERR_ISSUER_NAME_EMPTY:           /* a pinned non-root's issuer */
	case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE:   /* "keyUsage: if present" */
	case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA:
	case X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN:
	/* Missing or critical AKI/SKI, an empty subject, a non-critical SAN
	 * with one, a non-critical basicConstraints on a CA, keyCertSign on
	 * a non-CA: all refused by the library now (MFV_ERR_PROFILE,
	 * MFV_ERR_KEY_USAGE), so in scope. */
	case X509_V_ERR_INVALID_POLICY_EXTENSION:    /* no certificate policies */
	case X509_V_ERR_NO_EXPLICIT_POLICY:
		return 1;
	}
	return 0;
}

/* For X509_V_ERR_INVALID_EXTENSION: is the offending extension one the
 * library processes (and so claims to parse strictly and to refuse twice)? */
static int
invalid_ext_in_scope(X509 *x)
{
	static const char *const mine[] = {
		"2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17", "2.5.29.30", "1.3.6.1.5.5.7.1.24",
	};
	int i, j, n = X509_get_ext_count(x), bad;
	char oid[64], oid2[64];

	for (i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		void *d;

		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
		bad = 0;
		for (j = 0; j < n; j++) {
			if (j == i)
				continue;
			OBJ_obj2txt(oid2, sizeof(oid2), X509_EXTENSION_get_object(X509_get_ext(x, j)), 1);
			if (strcmp(oid, oid2) == 0)
				bad = 1;
		}
		if ((d = X509V3_EXT_d2i(e)) == NULL && X509V3_EXT_get(e) != NULL)
			bad = 1;
		else if (d != NULL) {
			const X509V3_EXT_METHOD *meth = X509V3_EXT_get(e);
			if (meth->it != NULL)
				ASN1_item_free(d, ASN1_ITEM_ptr(meth->it));
			else if (meth->ext_free != NULL)
				meth->ext_free(d);
		}
		ERR_clear_error();
		if (!bad)
			continue;
		for (j = 0; j < (int)(sizeof(mine) / sizeof(mine[0])); j++)
			if (strcmp(oid, mine[j]) == 0)
				return 1;
	}
	return 0;
}

/* Does the DER hold a string whose content is not valid for its type
 * (UTF8String not UTF-8, PrintableString or IA5String out of range,
 * UniversalString or BMPString not whole characters)?
 * OpenSSL's d2i_X509 refuses such names; the library compares names as
 * raw bytes and never reads their text (documented), so a chain that is
 * refused only for this is out of scope.  A small recursive walk. */
static int
bad_string(const unsigned char *p, size_t len, int depth)
{
	size_t i, n, hl;
	unsigned char tag;

	while (len >= 2 && depth < 32) {
		tag = p[0];
		if (p[1] < 0x80) {
			n = p[1];
			hl = 2;
		} else if (p[1] == 0x81 && len >= 3) {
			n = p[2];
			hl = 3;
		} else if (p[1] == 0x82 && len >= 4) {
			n = (size_t)p[2] << 8 | p[3];
			hl = 4;
		} else
			return 0;
		if (hl + n > len)
			return 0;
		if (tag & 0x20) {
			if (bad_string(p + hl, n, depth + 1))
				return 1;
		} else if (tag == 0x0c) {
			for (i = 0; i < n; i++) {
				unsigned char c = p[hl + i];
				size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
				         : (c & 0xf8) == 0xf0 ? 3 : 9;
				if (k == 9 || (k > 0 && i + k >= n))
					return 1;
				for (; k > 0; k--)
					if ((p[hl + ++i] & 0xc0) != 0x80)
						return 1;
			}
		} else if ((tag == 0x1c && n % 4 != 0) || (tag == 0x1e && n % 2 != 0)) {
			return 1; /* UniversalString, BMPString: whole characters */
		} else if (tag == 0x13 || tag == 0x16) {
			for (i = 0; i < n; i++)
				if (p[hl + i] >= 0x80 || (tag == 0x13 && !(strchr(" '()+,-./:=?", p[hl + i]) ||
				    (p[hl + i] >= '0' && p[hl + i] <= '9') || (p[hl + i] >= 'A' && p[hl + i] <= 'Z') ||
				    (p[hl + i] >= 'a' && p[hl + i] <= 'z'))))
					return 1;
		}
		p += hl + n;
		len -= hl + n;
	}
	return 0;
}

/* Header length and content length of the DER TLV at d (lengths up to
 * two octets, all this generator makes); 0 if it does not fit. */
static size_t
tlv(const unsigned char *d, size_t len, size_t *content)
{
	if (len < 2)
		return 0;
	if (d[1] < 0x80)
		*content = d[1];
	else if (d[1] == 0x81 && len >= 3)
		*content = d[2];
	else if (d[1] == 0x82 && len >= 4)
		*content = (size_t)d[2] << 8 | d[3];
	else
		return 0;
	return d[1] < 0x80 ? 2 : (size_t)(d[1] & 0x7f) + 2;
}

/* Offsets [from, to) of the issuer and subject Names in a DER certificate;
 * 0 on success. */
static int
name_ranges(const unsigned char *d, size_t len, size_t r[2][2])
{
	size_t off, hl, n, field = 0;

	if ((hl = tlv(d, len, &n)) == 0)
		return -1;
	off = hl; /* TBSCertificate */
	if ((hl = tlv(d + off, len - off, &n)) == 0)
		return -1;
	off += hl;
	while (off < len && field < 6) {
		if ((hl = tlv(d + off, len - off, &n)) == 0 || off + hl + n > len)
			return -1;
		if (field == 0 && d[off] != 0xa0)
			field++; /* no version: v1 */
		if (field == 3 || field == 5) {
			r[field == 5][0] = off;
			r[field == 5][1] = off + hl + n;
		}
		off += hl + n;
		field++;
	}
	return field == 6 ? 0 : -1;
}

struct counts {
	unsigned long total, agree_accept, agree_reject, stricter, looser, oos;
	unsigned long stricter_by[64], oos_by[100];
	/* per profile class: agree-accept, agree-reject, lib-stricter,
	 * out-of-scope, lib-looser */
	unsigned long cls[NPCLASS][5];
};

static void
dump(const char *dir, unsigned long id, unsigned char **der, size_t *len, int n)
{
	char path[512];
	FILE *f;
	int i;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/looser-%lu.pem", dir, id);
	if ((f = fopen(path, "w")) == NULL)
		return;
	for (i = 0; i < n; i++)
		PEM_write(f, "CERTIFICATE", "", der[i], (long)len[i]);
	fclose(f);
}

int
main(void)
{
	static struct mfv_ctx mctx;
	const char *e;
	unsigned long seed = 1, count = 3000, seconds = 120, id, skipped = 0;
	const char *outdir = getenv("MFV_DIFF_OUT");
	int verbose = getenv("MFV_DIFF_VERBOSE") != NULL;
	struct counts cnt;
	time_t start = time(NULL), now = start;
	int i;

	memset(&cnt, 0, sizeof(cnt));
	if ((e = getenv("MFV_DIFF_SEED")) != NULL)
		seed = strtoul(e, NULL, 10);
	if ((e = getenv("MFV_DIFF_COUNT")) != NULL)
		count = strtoul(e, NULL, 10);
	if ((e = getenv("MFV_DIFF_SECONDS")) != NULL)
		seconds = strtoul(e, NULL, 10);
	rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed;
	if (rng_state == 0)
		rng_state = 1;
	if (pool_init() != 0) {
		fprintf(stderr, "diffgen: key generation failed\n");
		return 2;
	}
	printf("diffgen: seed=%lu count=%lu limit=%lus\n", seed, count, seconds);

	/* id numbers every plan, tested or not, so a case can be found again
	 * from the seed; plans OpenSSL's builder refuses are skipped. */
	for (id = 0; cnt.total < count && id < 4 * count &&
	     (unsigned long)(time(NULL) - start) <= seconds; id++) {
		struct plan p;
		X509 *x[MAXN] = { 0 }, *px[MAXN] = { 0 };
		unsigned char *der[MAXN] = { 0 }, buf[8192];
		size_t len[MAXN];
		struct mfv_buf bufs[MAXN];
		struct mfv_result res;
		uint8_t h[32];
		X509_STORE *st = NULL;
		X509_STORE_CTX *sc = NULL;
		STACK_OF(X509) *untrusted = NULL;
		int mrc, ook = 0, oerr = 0, oerr_depth = -1, built = 1, parse_fail = 0;
		int pf[MAXN] = { 0 }, have_names = 0, oc = 0;
		unsigned pcm;
		size_t flip_off = (size_t)-1, names[2][2];

		plan_chain(&p);
		pcm = classes_of(&p);
		for (i = p.n - 1; i >= 0; i--)
			if ((x[i] = build(&p, i, i == p.n - 1 ? NULL : x[i + 1], now)) == NULL)
				built = 0;
		if (!built) {
			/* A combination OpenSSL's builder refuses to make: skip. */
			for (i = 0; i < p.n; i++)
				X509_free(x[i]);
			skipped++;
			continue;
		}
		for (i = 0; i < p.n; i++) {
			int l = i2d_X509(x[i], &der[i]);
			len[i] = l > 0 ? (size_t)l : 0;
		}
		if (p.bm_kind != 0 && len[p.bm_cert] > 8) {
			size_t L = len[p.bm_cert], pos = p.bm_pos_seed % L;
			unsigned char *d = der[p.bm_cert];
			have_names = name_ranges(d, L, names) == 0;
			if (p.bm_kind == 1) {
				d[pos] ^= (unsigned char)(1u << (p.bm_pos_seed % 8));
				flip_off = pos;
			} else if (p.bm_kind == 2) {
				/* Flip a byte inside the TBSCertificate and sign again, so
				 * the signature is valid over the mutated content. */
				const unsigned char *q = d + 4;
				size_t tl = (size_t)((q[2] << 8) | q[3]) + 4, bl = sizeof(buf);
				unsigned char tbs[4096];
				if (q[0] == 0x30 && q[1] == 0x82 && tl < sizeof(tbs) && tl + 4 <= L) {
					memcpy(tbs, q, tl);
					tbs[4 + (p.bm_pos_seed % (tl - 4))] ^= (unsigned char)(1u << (p.bm_pos_seed % 7));
					flip_off = 4 + 4 + (p.bm_pos_seed % (tl - 4));
					int sgn = p.bm_cert == p.n - 1 ? p.bm_cert : p.bm_cert + 1;
					if (resign(tbs, tl, x[p.bm_cert], key_of(&p.c[sgn], p.c[p.bm_cert].wrong_signer),
					           buf, &bl) == 0) {
						OPENSSL_free(der[p.bm_cert]);
						der[p.bm_cert] = OPENSSL_memdup(buf, bl);
						len[p.bm_cert] = der[p.bm_cert] != NULL ? bl : 0;
					}
				}
			} else if (p.bm_kind == 3) {
				len[p.bm_cert] = pos > 0 ? pos : 1;
			} else {
				unsigned char *nd = OPENSSL_malloc(L + 1);
				if (nd != NULL) {
					memcpy(nd, d, L);
					nd[L] = 0;
					OPENSSL_free(der[p.bm_cert]);
					der[p.bm_cert] = nd;
					len[p.bm_cert] = L + 1;
				}
			}
		}

		/* The library: pin the root as given, leaf first, then the rest. */
		mfv_init(&mctx);
		mfv_set_time(&mctx, (int64_t)now);
		mfv_set_max_lifetime(&mctx, 86400);
		if (p.ip != NULL) {
			uint8_t ip[4] = { 192, 0, 2, (uint8_t)(strcmp(p.ip, "192.0.2.1") == 0 ? 1 : 7) };
			mfv_set_ip(&mctx, ip, 4);
		} else
			mfv_set_host(&mctx, p.host, strlen(p.host));
		EVP_Digest(der[p.n - 1], len[p.n - 1], h, NULL, EVP_sha256(), NULL);
		mfv_add_root(&mctx, h);
		for (i = 0; i < p.n; i++) {
			bufs[i].p = der[i];
			bufs[i].len = len[i];
		}
		mrc = mfv_verify(&mctx, bufs, (size_t)p.n, NULL, &res);

		/* OpenSSL: parse what the library was given, verify strictly. */
		for (i = 0; i < p.n; i++) {
			const unsigned char *q = der[i];
			px[i] = d2i_X509(NULL, &q, (long)len[i]);
			if (px[i] == NULL || q != der[i] + len[i])
				parse_fail = pf[i] = 1;
		}
		if (!parse_fail) {
			st = X509_STORE_new();
			sc = X509_STORE_CTX_new();
			untrusted = sk_X509_new_null();
			if (st == NULL || sc == NULL || untrusted == NULL || X509_STORE_add_cert(st, px[p.n - 1]) != 1)
				parse_fail = 1; /* e.g. the mutated root cannot be added */
			for (i = 1; !parse_fail && i < p.n - 1; i++)
				sk_X509_push(untrusted, px[i]);
			if (!parse_fail && X509_STORE_CTX_init(sc, st, px[0], untrusted) == 1) {
				X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sc);
				/* PARTIAL_CHAIN: the root in the store is the anchor
				 * whether or not it is self-signed, which is what a pin
				 * means (mayfly_verify.h: "the pin is the trust"). */
				X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT |
				                            X509_V_FLAG_PARTIAL_CHAIN);
				X509_VERIFY_PARAM_set_time(vp, now);
				X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_SERVER);
				if (p.ip != NULL)
					X509_VERIFY_PARAM_set1_ip_asc(vp, p.ip);
				else
					X509_VERIFY_PARAM_set1_host(vp, p.host, 0);
				ook = X509_verify_cert(sc) == 1;
				oerr = X509_STORE_CTX_get_error(sc);
				oerr_depth = X509_STORE_CTX_get_error_depth(sc);
			}
		}
		ERR_clear_error();

		cnt.total++;
		if (mrc == 0 && ook)
			cnt.agree_accept++, oc = 0;
		else if (mrc != 0 && !ook)
			cnt.agree_reject++, oc = 1;
		else if (mrc != 0) {
			if (verbose)
				printf("lib-stricter #%lu [%s] %s (depth %d)\n", id, p.what, mfv_errname(mrc),
				       res.depth);
			cnt.stricter++, oc = 2;
			cnt.stricter_by[-mrc < 64 ? -mrc : 0]++;
		} else {
			int oos = !parse_fail && out_of_scope(oerr);

			if (parse_fail) {
				int bad = 0, strs = 0;

				for (i = 0; i < p.n; i++) {
					if (!pf[i])
						continue;
					bad++;
					if (px[i] == NULL)
						strs += bad_string(der[i], len[i], 0);
				}
				if (bad > 0 && strs == bad) {
					oos = 1;
					oerr = 96;
				}
				/* A flipped bit inside an issuer or subject Name that
				 * OpenSSL cannot decode (a bad OID arc, a value of a
				 * non-string type): the library checks only the Name's
				 * outer structure and compares it as raw bytes. */
				if (!oos && bad == 1 && pf[p.bm_cert] && px[p.bm_cert] == NULL && have_names &&
				    ((flip_off >= names[0][0] && flip_off < names[0][1]) ||
				     (flip_off >= names[1][0] && flip_off < names[1][1]))) {
					oos = 1;
					oerr = 95;
				}
			}
			if (!parse_fail && oerr == X509_V_ERR_INVALID_EXTENSION && oerr_depth >= 0 &&
			    oerr_depth < p.n && !invalid_ext_in_scope(px[oerr_depth])) {
				oos = 1;
				oerr = 97;
			}
			/* Documented policy, not an omission: an issuer whose EKU
			 * lists anyExtendedKeyUsage may issue server certificates
			 * (mayfly_verify.h); OpenSSL's sslserver purpose wants
			 * serverAuth itself in a CA's EKU. */
			if (!parse_fail && oerr == X509_V_ERR_INVALID_PURPOSE && oerr_depth > 0 &&
			    oerr_depth < p.n && (X509_get_extended_key_usage(px[oerr_depth]) & XKU_ANYEKU)) {
				oos = 1;
				oerr = 99; /* counted under its own label below */
			}
			/* The library validates a public key only when it verifies
			 * a signature with it; nothing is verified with the leaf's
			 * key (the TLS handshake does that, and fails on a point
			 * off the curve), so OpenSSL's refusal to load it is a
			 * difference, not a missed check of the chain. */
			if (!parse_fail && oerr == X509_V_ERR_UNSPECIFIED && oerr_depth == 0 &&
			    X509_get0_pubkey(px[0]) == NULL) {
				oos = 1;
				oerr = 98;
			}
			/* OpenSSL picks issuers by authorityKeyIdentifier too and
			 * reports a mismatch as "unable to get issuer"; the library
			 * chains by name only (documented). */
			if (!parse_fail && (oerr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
			                    oerr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) &&
			    oerr_depth >= 0 && oerr_depth + 1 < p.n &&
			    X509_NAME_cmp(X509_get_issuer_name(px[oerr_depth]),
			                  X509_get_subject_name(px[oerr_depth + 1])) == 0 &&
			    X509_get0_authority_key_id(px[oerr_depth]) != NULL &&
			    X509_get0_subject_key_id(px[oerr_depth + 1]) != NULL &&
			    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(px[oerr_depth]),
			                          X509_get0_subject_key_id(px[oerr_depth + 1])) != 0) {
				oos = 1;
				oerr = X509_V_ERR_AKID_SKID_MISMATCH;
			}
			/* ... and it cannot look an issuer up when an extension of
			 * the certificate or of its issuer does not decode (OpenSSL
			 * skips such an issuer); if that extension is one the
			 * library never reads (an AKID, say), so be it. */
			if (!parse_fail && !oos && (oerr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
			                            oerr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) &&
			    oerr_depth >= 0) {
				int j, inv = 0, mine = 0;

				for (j = oerr_depth; j <= oerr_depth + 1 && j < p.n; j++) {
					if (X509_get_extension_flags(px[j]) & EXFLAG_INVALID) {
						inv = 1;
						mine |= invalid_ext_in_scope(px[j]);
					}
				}
				if (inv && !mine) {
					oos = 1;
					oerr = 97;
				}
			}
			/* X509_STRICT calls a leaf without basicConstraints but with
			 * keyCertSign an "invalid CA"; for the library it is simply
			 * not a CA (the same rule as KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA). */
			if (!parse_fail && oerr == X509_V_ERR_INVALID_CA && oerr_depth == 0 &&
			    X509_get_extension_flags(px[0]) & EXFLAG_KUSAGE &&
			    !(X509_get_extension_flags(px[0]) & EXFLAG_BCONS) &&
			    X509_get_key_usage(px[0]) & KU_KEY_CERT_SIGN) {
				oos = 1;
				oerr = X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA;
			}
			ERR_clear_error();
			if (oos) {
				cnt.oos++, oc = 3;
				cnt.oos_by[oerr >= 0 && oerr < 100 ? oerr : 0]++;
			} else {
				cnt.looser++, oc = 4;
				printf("LIB-LOOSER #%lu [%s] openssl: %s (depth %d)\n", id, p.what,
				       parse_fail ? "does not parse" : X509_verify_cert_error_string(oerr),
				       oerr_depth);
				dump(outdir, id, der, len, p.n);
			}
		}
		for (i = 0; i < NPCLASS; i++)
			if (pcm & 1u << i) {
				cnt.cls[i][oc]++;
				/* Both accept a chain of a profile class: one the
				 * man page argues for, or a plan that did not
				 * produce the break it names. */
				if (verbose && oc == 0)
					printf("agree-accept #%lu [%s] class %s\n", id, p.what, pclass_names[i]);
			}
		X509_STORE_CTX_free(sc);
		X509_STORE_free(st);
		sk_X509_free(untrusted);
		for (i = 0; i < p.n; i++) {
			X509_free(x[i]);
			X509_free(px[i]);
			OPENSSL_free(der[i]);
		}
	}

	printf("diffgen: %lu chains (%lu plans skipped), %lus: agree-accept %lu, agree-reject %lu, lib-stricter %lu, "
	       "lib-looser %lu, out-of-scope %lu\n", cnt.total, skipped,
	       (unsigned long)(time(NULL) - start), cnt.agree_accept, cnt.agree_reject,
	       cnt.stricter, cnt.looser, cnt.oos);
	printf("  lib-stricter by library error:");
	for (i = 0; i < 64; i++)
		if (cnt.stricter_by[i])
			printf(" %s=%lu", mfv_errname(-i), cnt.stricter_by[i]);
	printf("\n  out-of-scope by OpenSSL reason:");
	for (i = 0; i < 100; i++)
		if (cnt.oos_by[i])
			printf(" [%s]=%lu", i == 99 ? "anyExtendedKeyUsage on an issuer (documented policy)"
			                    : i == 98 ? "leaf public key does not load (not used by the library)"
			                    : i == 97 ? "malformed or duplicate extension the library does not read"
			                    : i == 96 ? "invalid string in a name (names are raw bytes to the library)"
			                    : i == 95 ? "undecodable attribute inside a Name (names are raw bytes to the library)"
			                    : X509_verify_cert_error_string(i), cnt.oos_by[i]);
	printf("\n  profile classes (agree-accept/agree-reject/lib-stricter/out-of-scope/lib-looser):\n");
	for (i = 0; i < NPCLASS; i++)
		printf("    %-21s %5lu %5lu %5lu %5lu %5lu\n", pclass_names[i], cnt.cls[i][0], cnt.cls[i][1],
		       cnt.cls[i][2], cnt.cls[i][3], cnt.cls[i][4]);
	for (i = 0; i < K_NTYPES; i++) {
		int j;
		for (j = 0; j < POOL_PER; j++)
			if (j < 2 || !IS_RSA(i))
				EVP_PKEY_free(pool[i][j]);
	}
	if (cnt.total == 0) {
		printf("diffgen: no chain was tested\n");
		return 1;
	}
	return cnt.looser == 0 ? 0 : 1;
}
