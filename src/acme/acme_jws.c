/*
 * acme_jws.c: parsing and verification of the JWS that carries every ACME
 * request (see acme_jws.h). The parser is strict about shape because every
 * loose corner of JWS has been an attack at some point: unprotected headers
 * (RFC 8555 6.2 forbids them), "none" and HMAC algorithms with a public key,
 * "crit" extensions we do not understand, and a key in the header that is
 * really a private key.
 */
#include "mf_build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jose/b64.h>
#include <jose/jwk.h>
#include <jose/jws.h>
#include <jose/openssl.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "acme/acme_jws.h"
#include "mferr.h"

#define WHY(...) do { if (why != NULL && whylen > 0) snprintf(why, whylen, __VA_ARGS__); } while (0)

/* Bounds on what a header may carry; far above any real client. */
#define MF_JWS_MAX_B64	(256 * 1024)

int
mf_b64u_decode(const char *s, unsigned char **out, size_t *len)
{
	size_t sl, n;
	unsigned char *buf;

	*out = NULL;
	*len = 0;
	sl = strlen(s);
	if (sl > MF_JWS_MAX_B64)
		return MF_ERR_ACME_MALFORMED;
	/* Padding is not part of base64url in JOSE (RFC 7515 2). */
	if (strchr(s, '=') != NULL)
		return MF_ERR_ACME_MALFORMED;
	n = jose_b64_dec_buf(s, sl, NULL, 0);
	if (n == SIZE_MAX)
		return MF_ERR_ACME_MALFORMED;
	if ((buf = malloc(n + 1)) == NULL)
		return MF_ERR_NOMEM;
	if (n > 0 && jose_b64_dec_buf(s, sl, buf, n) != n) {
		free(buf);
		return MF_ERR_ACME_MALFORMED;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

char *
mf_b64u_encode(const unsigned char *in, size_t len)
{
	size_t n = jose_b64_enc_buf(in, len, NULL, 0);
	char *s;

	if (n == SIZE_MAX || (s = malloc(n + 1)) == NULL)
		return NULL;
	if (jose_b64_enc_buf(in, len, s, n) != n) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

void
mf_jws_free(struct mf_jws *j)
{
	if (j == NULL)
		return;
	json_decref(j->jws);
	json_decref(j->hdr);
	json_decref(j->body);
	free(j->payload);
	free(j);
}

static int
alg_known(const char *alg, int flags)
{
	if (flags & MF_JWS_HMAC)
		return strcmp(alg, "HS256") == 0;
	return strcmp(alg, "ES256") == 0 || strcmp(alg, "ES384") == 0 ||
	    strcmp(alg, "RS256") == 0 || strcmp(alg, "EdDSA") == 0;
}

int
mf_jws_parse_json(json_t *v, int flags, struct mf_jws **out, char *why, size_t whylen)
{
	struct mf_jws *j = NULL;
	const char *key, *prot, *pay, *sig;
	json_t *val;
	unsigned char *hbuf = NULL, *sbuf = NULL;
	size_t hlen, slen;
	json_error_t jerr;
	int rc;

	*out = NULL;
	if (!json_is_object(v)) {
		WHY("JWS is not a JSON object");
		return MF_ERR_ACME_MALFORMED;
	}
	/* Flattened serialization only; no unprotected header (RFC 8555 6.2). */
	json_object_foreach(v, key, val) {
		if (strcmp(key, "protected") != 0 && strcmp(key, "payload") != 0 &&
		    strcmp(key, "signature") != 0) {
			WHY("unexpected JWS member \"%.40s\"", key);
			return MF_ERR_ACME_MALFORMED;
		}
		if (!json_is_string(val)) {
			WHY("JWS member \"%s\" is not a string", key);
			return MF_ERR_ACME_MALFORMED;
		}
	}
	prot = json_string_value(json_object_get(v, "protected"));
	pay = json_string_value(json_object_get(v, "payload"));
	sig = json_string_value(json_object_get(v, "signature"));
	if (prot == NULL || pay == NULL || sig == NULL) {
		WHY("JWS needs protected, payload and signature");
		return MF_ERR_ACME_MALFORMED;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return MF_ERR_NOMEM;
	j->jws = json_incref(v);

	rc = MF_ERR_ACME_MALFORMED;
	if (mf_b64u_decode(sig, &sbuf, &slen) != 0 || slen == 0) {
		WHY("signature is not base64url");
		goto out;
	}
	if (mf_b64u_decode(prot, &hbuf, &hlen) != 0) {
		WHY("protected header is not base64url");
		goto out;
	}
	j->hdr = json_loadb((const char *)hbuf, hlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j->hdr)) {
		WHY("protected header is not a JSON object");
		goto out;
	}
	json_object_foreach(j->hdr, key, val) {
		if (strcmp(key, "alg") == 0 || strcmp(key, "url") == 0 ||
		    strcmp(key, "nonce") == 0 || strcmp(key, "kid") == 0) {
			if (!json_is_string(val)) {
				WHY("header \"%s\" is not a string", key);
				goto out;
			}
		} else if (strcmp(key, "jwk") == 0) {
			if (!json_is_object(val)) {
				WHY("header \"jwk\" is not an object");
				goto out;
			}
		} else {
			/* "crit", "b64", "x5u", "jku"...: none belongs in ACME. */
			WHY("unexpected protected header \"%.40s\"", key);
			goto out;
		}
	}
	j->alg = json_string_value(json_object_get(j->hdr, "alg"));
	j->url = json_string_value(json_object_get(j->hdr, "url"));
	j->nonce = json_string_value(json_object_get(j->hdr, "nonce"));
	j->kid = json_string_value(json_object_get(j->hdr, "kid"));
	j->jwk = json_object_get(j->hdr, "jwk");
	if (j->alg == NULL) {
		WHY("no \"alg\" in protected header");
		goto out;
	}
	if (!alg_known(j->alg, flags)) {
		WHY("algorithm \"%.20s\" not supported", j->alg);
		rc = MF_ERR_ACME_BADALG;
		goto out;
	}
	if ((j->kid == NULL) == (j->jwk == NULL)) {
		WHY("protected header needs exactly one of \"jwk\" and \"kid\"");
		goto out;
	}
	if (j->url == NULL) {
		WHY("no \"url\" in protected header");
		goto out;
	}
	if (!(flags & MF_JWS_INNER) && j->nonce == NULL) {
		WHY("no \"nonce\" in protected header");
		rc = MF_ERR_ACME_BADNONCE;
		goto out;
	}
	if ((flags & MF_JWS_INNER) && j->nonce != NULL && (flags & MF_JWS_HMAC)) {
		WHY("external account binding must not carry a nonce");
		goto out;
	}
	if ((rc = mf_b64u_decode(pay, &j->payload, &j->payload_len)) != 0) {
		WHY("payload is not base64url");
		goto out;
	}
	rc = MF_ERR_ACME_MALFORMED;
	if (j->payload_len > 0) {
		j->body = json_loadb((const char *)j->payload, j->payload_len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(j->body)) {
			WHY("payload is not a JSON object");
			goto out;
		}
	}
	rc = 0;
	*out = j;
	j = NULL;
out:
	free(hbuf);
	free(sbuf);
	mf_jws_free(j);
	return rc;
}

int
mf_jws_parse(const char *buf, size_t len, int flags, struct mf_jws **out, char *why,
    size_t whylen)
{
	json_error_t jerr;
	json_t *v;
	int rc;

	*out = NULL;
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		WHY("body is not JSON: %.80s", jerr.text);
		return MF_ERR_ACME_MALFORMED;
	}
	rc = mf_jws_parse_json(v, flags, out, why, whylen);
	json_decref(v);
	return rc;
}

/* Decodes a base64url member of a JWK and returns its length (0 on error). */
static size_t
jwk_member_len(const json_t *jwk, const char *name)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	unsigned char *b;
	size_t n;

	if (s == NULL || mf_b64u_decode(s, &b, &n) != 0)
		return 0;
	free(b);
	return n;
}

int
mf_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *x = json_string_value(json_object_get(jwk, "x"));
	unsigned char *raw = NULL;
	size_t rawlen;
	int rc;

	*out = NULL;
	if (kty == NULL)
		return MF_ERR_ACME_BADKEY;
	if (strcmp(kty, "OKP") == 0) {
		if (crv == NULL || strcmp(crv, "Ed25519") != 0 || x == NULL)
			return MF_ERR_ACME_BADKEY;
		if ((rc = mf_b64u_decode(x, &raw, &rawlen)) != 0)
			return MF_ERR_ACME_BADKEY;
		if (rawlen == 32)
			*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, rawlen);
		free(raw);
		return *out != NULL ? 0 : MF_ERR_ACME_BADKEY;
	}
	if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0)
		return MF_ERR_ACME_BADKEY;
	*out = jose_openssl_jwk_to_EVP_PKEY(NULL, jwk);
	return *out != NULL ? 0 : MF_ERR_ACME_BADKEY;
}

int
mf_jwk_check(const json_t *jwk, char *why, size_t whylen)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	EVP_PKEY *pk = NULL;
	int rc = MF_ERR_ACME_BADKEY;

	if (!json_is_object(jwk) || kty == NULL) {
		WHY("JWK has no \"kty\"");
		return rc;
	}
	/* A private key in a header would be a disaster for its owner; refuse it. */
	if (json_object_get(jwk, "d") != NULL || json_object_get(jwk, "p") != NULL ||
	    json_object_get(jwk, "k") != NULL) {
		WHY("JWK holds private key material");
		return rc;
	}
	if (strcmp(kty, "EC") == 0) {
		if (crv == NULL || (strcmp(crv, "P-256") != 0 && strcmp(crv, "P-384") != 0)) {
			WHY("EC key curve must be P-256 or P-384");
			return rc;
		}
	} else if (strcmp(kty, "RSA") == 0) {
		size_t nlen = jwk_member_len(jwk, "n");

		if (nlen < 256 || nlen > 1024) {
			WHY("RSA key must have 2048 to 8192 bits");
			return rc;
		}
	} else if (strcmp(kty, "OKP") == 0) {
		if (crv == NULL || strcmp(crv, "Ed25519") != 0) {
			WHY("OKP key curve must be Ed25519");
			return rc;
		}
	} else {
		WHY("key type \"%.10s\" not supported", kty);
		return rc;
	}
	if (mf_jwk_to_pkey(jwk, &pk) != 0) {
		WHY("JWK does not hold a valid %s public key", kty);
		return rc;
	}
	if (strcmp(kty, "RSA") == 0 && EVP_PKEY_get_bits(pk) < 2048) {
		WHY("RSA key below 2048 bits");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	return rc;
}

/* Whether the key kind fits the algorithm, so ES256 cannot be used with a P-384 key etc. */
static int
alg_fits_key(const char *alg, const json_t *jwk)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (kty == NULL)
		return 0;
	if (strcmp(alg, "ES256") == 0)
		return strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0;
	if (strcmp(alg, "ES384") == 0)
		return strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-384") == 0;
	if (strcmp(alg, "RS256") == 0)
		return strcmp(kty, "RSA") == 0;
	if (strcmp(alg, "EdDSA") == 0)
		return strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0;
	return 0;
}

/*
 * The JWS signature in the form OpenSSL verifies: EdDSA and RS256 as they
 * are, ES256/ES384 from the fixed-size r || s of RFC 7518 3.4 to DER. A
 * signature of any other length is refused, as libjose refuses it.
 */
static int
sig_to_openssl(const char *alg, const unsigned char *sig, size_t slen, unsigned char **out,
    size_t *outlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	size_t half;
	int n, rc = MF_ERR_ACME_SIGNATURE;

	*out = NULL;
	*outlen = 0;
	if (strcmp(alg, "ES256") == 0)
		half = 32;
	else if (strcmp(alg, "ES384") == 0)
		half = 48;
	else if (strcmp(alg, "EdDSA") == 0 && slen != 64)
		return rc;
	else {
		if ((*out = malloc(slen)) == NULL)
			return MF_ERR_NOMEM;
		memcpy(*out, sig, slen);
		*outlen = slen;
		return 0;
	}
	if (slen != 2 * half)
		return rc;
	if ((r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + half, (int)half, NULL)) == NULL ||
	    (es = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((n = i2d_ECDSA_SIG(es, &der)) <= 0) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	*out = der;
	*outlen = (size_t)n;
	der = NULL;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return rc;
}

int
mf_jws_verify_pkey(const struct mf_jws *j, const json_t *jwk, EVP_PKEY *pk)
{
	const char *prot = json_string_value(json_object_get(j->jws, "protected"));
	const char *pay = json_string_value(json_object_get(j->jws, "payload"));
	const char *sig = json_string_value(json_object_get(j->jws, "signature"));
	const EVP_MD *md = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sbuf = NULL, *osig = NULL;
	char *input = NULL;
	size_t slen, olen;
	int rc;

	if (!alg_fits_key(j->alg, jwk))
		return MF_ERR_ACME_BADALG;
	if (prot == NULL || pay == NULL || sig == NULL)
		return MF_ERR_ACME_SIGNATURE;
	/* The key must be the kind the algorithm names, whatever the JWK said. */
	if (strcmp(j->alg, "EdDSA") == 0) {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519)
			return MF_ERR_ACME_BADALG;
	} else if (strcmp(j->alg, "RS256") == 0) {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
			return MF_ERR_ACME_BADALG;
		md = EVP_sha256();
	} else {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
		    EVP_PKEY_get_bits(pk) != (strcmp(j->alg, "ES256") == 0 ? 256 : 384))
			return MF_ERR_ACME_BADALG;
		md = strcmp(j->alg, "ES256") == 0 ? EVP_sha256() : EVP_sha384();
	}
	rc = MF_ERR_ACME_SIGNATURE;
	if (mf_b64u_decode(sig, &sbuf, &slen) != 0)
		goto out;
	if ((rc = sig_to_openssl(j->alg, sbuf, slen, &osig, &olen)) != 0)
		goto out;
	rc = MF_ERR_NOMEM;
	if (asprintf(&input, "%s.%s", prot, pay) < 0) {
		input = NULL;
		goto out;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	rc = MF_ERR_ACME_SIGNATURE;
	if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pk) != 1)
		goto out;
	/* RS256 is PKCS #1 v1.5 (RFC 7518 3.3), never PSS. */
	if (md == EVP_sha256() && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	if (EVP_DigestVerify(mctx, osig, olen, (unsigned char *)input, strlen(input)) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(mctx);
	free(sbuf);
	free(osig);
	free(input);
	ERR_clear_error();
	return rc;
}

int
mf_jws_verify(const struct mf_jws *j, const json_t *jwk)
{
	EVP_PKEY *pk = NULL;
	int rc;

	if (!alg_fits_key(j->alg, jwk))
		return MF_ERR_ACME_BADALG;
	if (mf_jwk_to_pkey(jwk, &pk) != 0) {
		ERR_clear_error();
		return MF_ERR_ACME_SIGNATURE;
	}
	rc = mf_jws_verify_pkey(j, jwk, pk);
	EVP_PKEY_free(pk);
	return rc;
}

int
mf_jws_verify_hmac(const struct mf_jws *j, const unsigned char *key, size_t keylen)
{
	json_t *k = NULL;
	char *kb = NULL;
	int rc = MF_ERR_ACME_EAB;

	if (strcmp(j->alg, "HS256") != 0 || keylen == 0)
		return rc;
	if ((kb = mf_b64u_encode(key, keylen)) == NULL)
		return MF_ERR_NOMEM;
	k = json_pack("{s:s, s:s}", "kty", "oct", "k", kb);
	if (k != NULL && jose_jws_ver(NULL, j->jws, NULL, k, false))
		rc = 0;
	json_decref(k);
	OPENSSL_cleanse(kb, strlen(kb));
	free(kb);
	return rc;
}

int
mf_jwk_thumbprint(const json_t *jwk, char out[44])
{
	static const char *ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *rsa[] = { "e", "kty", "n", NULL };
	static const char *okp[] = { "crv", "kty", "x", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char **members;
	unsigned char md[32];
	json_t *t = NULL;
	char *s = NULL, *b = NULL;
	size_t i;
	int rc = MF_ERR_ACME_BADKEY;

	if (kty == NULL)
		return rc;
	if (strcmp(kty, "EC") == 0)
		members = ec;
	else if (strcmp(kty, "RSA") == 0)
		members = rsa;
	else if (strcmp(kty, "OKP") == 0)
		members = okp;
	else
		return rc;
	/* RFC 7638 3.2: the required members only, sorted, no whitespace. */
	if ((t = json_object()) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; members[i] != NULL; i++) {
		json_t *m = json_object_get(jwk, members[i]);

		if (!json_is_string(m))
			goto out;
		json_object_set(t, members[i], m);
	}
	if ((s = json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL) != 1) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	if ((b = mf_b64u_encode(md, sizeof(md))) == NULL || strlen(b) != 43) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(out, b, 44);
	rc = 0;
out:
	json_decref(t);
	free(s);
	free(b);
	return rc;
}

/*
 * The key cache: direct-mapped on a hash of the account id, so it is
 * bounded by construction and a lookup is one comparison. A slot is good
 * only for the exact (account id, thumbprint) it was filled for; the
 * caller reads both from the database on every request, so a rolled-over
 * key misses and a deactivated account is refused before its key is
 * looked at. mf_jwk_cache_drop() frees the slot early on those changes.
 */
struct mf_jwk_cache_slot {
	char id[32];
	char tp[44];
	EVP_PKEY *pk;
};

struct mf_jwk_cache {
	size_t n;
	struct mf_jwk_cache_slot *s;
	unsigned long hits, misses;
};

int
mf_jwk_cache_new(size_t n, struct mf_jwk_cache **out)
{
	struct mf_jwk_cache *kc;

	*out = NULL;
	if (n == 0 || (kc = calloc(1, sizeof(*kc))) == NULL)
		return MF_ERR_NOMEM;
	if ((kc->s = calloc(n, sizeof(*kc->s))) == NULL) {
		free(kc);
		return MF_ERR_NOMEM;
	}
	kc->n = n;
	*out = kc;
	return 0;
}

void
mf_jwk_cache_free(struct mf_jwk_cache *kc)
{
	size_t i;

	if (kc == NULL)
		return;
	for (i = 0; i < kc->n; i++)
		EVP_PKEY_free(kc->s[i].pk);
	free(kc->s);
	free(kc);
}

static struct mf_jwk_cache_slot *
cache_slot(struct mf_jwk_cache *kc, const char *id)
{
	uint32_t h = 2166136261u;	/* FNV-1a; the ids are random anyway */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return &kc->s[h % kc->n];
}

int
mf_jwk_cache_get(struct mf_jwk_cache *kc, const char *id, const char *tp, const json_t *jwk,
    EVP_PKEY **out)
{
	struct mf_jwk_cache_slot *sl;
	EVP_PKEY *pk = NULL;
	int rc;

	*out = NULL;
	if (kc == NULL)
		return mf_jwk_to_pkey(jwk, out);
	if (strlen(id) >= sizeof(sl->id) || strlen(tp) >= sizeof(sl->tp))
		return MF_ERR_ACME_BADKEY;
	sl = cache_slot(kc, id);
	if (sl->pk != NULL && strcmp(sl->id, id) == 0 && strcmp(sl->tp, tp) == 0) {
		if (EVP_PKEY_up_ref(sl->pk) != 1)
			return MF_ERR_NOMEM;
		kc->hits++;
		*out = sl->pk;
		return 0;
	}
	kc->misses++;
	if ((rc = mf_jwk_to_pkey(jwk, &pk)) != 0) {
		ERR_clear_error();
		return rc;
	}
	EVP_PKEY_free(sl->pk);
	sl->pk = NULL;
	if (EVP_PKEY_up_ref(pk) == 1) {
		strcpy(sl->id, id);
		strcpy(sl->tp, tp);
		sl->pk = pk;
	} else {
		sl->id[0] = '\0';
	}
	*out = pk;
	return 0;
}

void
mf_jwk_cache_drop(struct mf_jwk_cache *kc, const char *id)
{
	struct mf_jwk_cache_slot *sl;

	if (kc == NULL)
		return;
	sl = cache_slot(kc, id);
	if (sl->pk != NULL && strcmp(sl->id, id) == 0) {
		EVP_PKEY_free(sl->pk);
		sl->pk = NULL;
		sl->id[0] = sl->tp[0] = '\0';
	}
}

void
mf_jwk_cache_stats(const struct mf_jwk_cache *kc, unsigned long *hits, unsigned long *misses)
{
	*hits = kc->hits;
	*misses = kc->misses;
}
