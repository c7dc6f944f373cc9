/*
 * tc.h: a small ACME client for the tests: account keys of every supported
 * algorithm, JWS signing (libjose for ES/RS/HS, OpenSSL for EdDSA), and
 * POSTs to a running listener over HTTPS with libcurl. It is deliberately
 * separate from the server's JWS code so that the two check each other.
 */
#ifndef MF_TESTS_ACME_TC_H
#define MF_TESTS_ACME_TC_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

struct tc_key {
	char alg[8];		/* ES256, ES384, RS256, EdDSA */
	json_t *priv;		/* private JWK */
	json_t *pub;		/* public JWK */
	EVP_PKEY *pkey;		/* the same key for OpenSSL */
};

/* New key for alg; NULL on failure. */
struct tc_key *tc_key_new(const char *alg);
/* The key of an OpenSSL key pair (takes a reference). */
struct tc_key *tc_key_from_pkey(EVP_PKEY *pk);
void tc_key_free(struct tc_key *k);

/*
 * Signs payload (NULL: "" for POST-as-GET) with protected header members
 * url, nonce (NULL: omitted) and either the key's jwk (kid NULL) or kid.
 * Returns the flattened JWS as a JSON string; caller frees.
 */
char *tc_sign(const struct tc_key *k, const char *url, const char *nonce, const char *kid,
    const char *payload);
/*
 * Non-zero: ES256 is signed by OpenSSL with the key kept as an EVP_PKEY
 * rather than by libjose, which rebuilds the key from its JWK for every
 * signature (a fifth of the ACME benchmark client's CPU). The tests keep
 * libjose, so that another implementation than the server's checks it.
 */
extern int tc_sign_with_openssl;
/* Same, returning the JSON object (for an inner JWS). */
json_t *tc_sign_json(const struct tc_key *k, const char *url, const char *nonce,
    const char *kid, const char *payload);
/* An HS256 JWS (external account binding) over payload with key/keylen. */
json_t *tc_sign_hmac(const unsigned char *key, size_t keylen, const char *kid, const char *url,
    const char *payload);

/* An HTTP exchange with the listener. */
struct tc_resp {
	long status;
	char *body;
	size_t len;
	char nonce[64];
	char location[512];
	char links[4][512];
	int nlinks;
	char ctype[128];
	char retry_after[16];
};
void tc_resp_clear(struct tc_resp *r);

/*
 * method "GET", "HEAD" or "POST"; body/ctype for POST. cafile: the root
 * to trust. Returns 0 if the exchange happened (any status).
 */
int tc_http(const char *method, const char *url, const char *cafile, const char *ctype,
    const char *body, size_t len, struct tc_resp *r);

/* A session: directory, nonce, account URL. */
struct tc_acme {
	char base[256];
	char cafile[512];
	char nonce[64];
	char kid[512];
	struct tc_key *key;
};
/* Gets a fresh nonce into s->nonce. */
int tc_new_nonce(struct tc_acme *s);
/* Signs payload for url with the account (kid if set, else jwk) and POSTs it. */
int tc_post(struct tc_acme *s, const char *url, const char *payload, struct tc_resp *r);
/* The "type" of a problem document without the urn prefix, or "". */
const char *tc_problem(const struct tc_resp *r, char *buf, size_t buflen);

/* A key and base64url DER CSR for the given names (comma-separated). */
char *tc_csr_b64u(const char *names, EVP_PKEY **key);

#endif
