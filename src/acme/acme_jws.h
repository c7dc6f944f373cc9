/*
 * acme_jws.h: the JWS layer of the ACME server (RFC 8555 section 6.2,
 * RFC 7515, RFC 7638, RFC 8037).
 *
 * Every ACME POST body is a flattened JSON JWS. mf_jws_parse() takes the
 * raw body and checks its shape only: exactly the members "protected",
 * "payload" and "signature"; a protected header with an allowed "alg",
 * exactly one of "jwk" and "kid", and "url" (and "nonce" unless the caller
 * says the JWS is an inner one: key rollover, external account binding).
 * mf_jws_verify() checks the signature with a given public JWK and refuses a
 * key that does not match the algorithm. The caller decides which key
 * applies (jwk for newAccount/revokeCert, the account's key for kid) and
 * checks url and nonce against the request, because only it knows them.
 *
 * Algorithms: ES256 (P-256), ES384 (P-384), RS256 (RSA >= 2048 bits) and
 * EdDSA (Ed25519); HS256 only for the inner JWS of an external account
 * binding (mf_jws_verify_hmac). libjose parses JWKs into OpenSSL keys and
 * checks the HS256 MAC; the signatures themselves are checked by OpenSSL
 * with that key, so a key can be kept between requests.
 */
#ifndef MF_ACME_JWS_H
#define MF_ACME_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#define MF_JWS_INNER	0x1	/* no nonce required (key change, EAB) */
#define MF_JWS_HMAC	0x2	/* HS256 only (EAB) */

struct mf_jws {
	json_t *jws;		/* the whole JWS object, owned */
	json_t *hdr;		/* the decoded protected header, owned */
	const char *alg;	/* borrowed from hdr */
	const char *url;	/* borrowed from hdr */
	const char *nonce;	/* borrowed from hdr; NULL for an inner JWS */
	const char *kid;	/* borrowed from hdr, or NULL */
	json_t *jwk;		/* borrowed from hdr, or NULL */
	unsigned char *payload;	/* decoded, NUL-terminated, owned */
	size_t payload_len;	/* 0 for POST-as-GET */
	json_t *body;		/* payload parsed as a JSON object; NULL if empty */
};

/*
 * Parses buf[0..len) as a flattened JWS. On success *out is owned by the
 * caller (mf_jws_free). MF_ERR_ACME_MALFORMED or MF_ERR_ACME_BADALG on
 * refusal, with a one-line reason in why.
 */
int mf_jws_parse(const char *buf, size_t len, int flags, struct mf_jws **out,
    char *why, size_t whylen);
/* Same, from an already parsed JSON value (borrowed; a reference is taken). */
int mf_jws_parse_json(json_t *v, int flags, struct mf_jws **out, char *why, size_t whylen);
void mf_jws_free(struct mf_jws *j);

/*
 * Checks that jwk is an acceptable public account key: a supported type and
 * size, no private members. MF_ERR_ACME_BADKEY otherwise.
 */
int mf_jwk_check(const json_t *jwk, char *why, size_t whylen);

/*
 * Verifies j's signature with the public key jwk. MF_ERR_ACME_BADALG if the
 * key cannot be used with j->alg, MF_ERR_ACME_SIGNATURE if it does not verify.
 */
int mf_jws_verify(const struct mf_jws *j, const json_t *jwk);

/*
 * The same with pk, the OpenSSL form of jwk (borrowed): jwk decides which
 * algorithms fit, pk must be that kind of key. Lets a caller keep pk
 * between requests (struct mf_jwk_cache) rather than rebuild it each time.
 */
int mf_jws_verify_pkey(const struct mf_jws *j, const json_t *jwk, EVP_PKEY *pk);

/* Verifies an HS256 JWS with the raw MAC key; MF_ERR_ACME_EAB if it fails. */
int mf_jws_verify_hmac(const struct mf_jws *j, const unsigned char *key, size_t keylen);

/* The RFC 7638 SHA-256 thumbprint of jwk, base64url (43 chars + NUL). */
int mf_jwk_thumbprint(const json_t *jwk, char out[44]);

/* The public key in jwk as an OpenSSL key (caller frees). */
int mf_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out);

/*
 * A bounded cache of account keys in OpenSSL form, for the listener
 * (used under its lock). Entries are keyed by account id and the key's
 * thumbprint, both as stored for the account: a lookup with the current
 * thumbprint never returns an older key.
 *
 * mf_jwk_cache_new: nslots > 0; the caller frees with mf_jwk_cache_free
 * (NULL ok). mf_jwk_cache_get: *out is a new reference the caller frees
 * (EVP_PKEY_free), from the cache or built from jwk (borrowed) and kept;
 * MF_ERR_ACME_BADKEY if jwk holds no usable key. mf_jwk_cache_drop forgets
 * the account's key (rollover, deactivation).
 */
struct mf_jwk_cache;
int mf_jwk_cache_new(size_t nslots, struct mf_jwk_cache **out);
void mf_jwk_cache_free(struct mf_jwk_cache *kc);
int mf_jwk_cache_get(struct mf_jwk_cache *kc, const char *id, const char *thumbprint,
    const json_t *jwk, EVP_PKEY **out);
void mf_jwk_cache_drop(struct mf_jwk_cache *kc, const char *id);
void mf_jwk_cache_stats(const struct mf_jwk_cache *kc, unsigned long *hits,
    unsigned long *misses);

/* base64url without padding. Decode: caller frees *out (NUL-terminated). */
int mf_b64u_decode(const char *s, unsigned char **out, size_t *len);
char *mf_b64u_encode(const unsigned char *in, size_t len);	/* caller frees */

#endif
