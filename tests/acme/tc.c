/*
 * tc.c: see tc.h.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jose/b64.h>
#include <jose/jwk.h>
#include <jose/jws.h>
#include <jose/openssl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "tc.h"

static char *
b64u(const void *in, size_t len)
{
	size_t n = jose_b64_enc_buf(in, len, NULL, 0);
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	jose_b64_enc_buf(in, len, s, n);
	s[n] = '\0';
	return s;
}

void
tc_key_free(struct tc_key *k)
{
	if (k == NULL)
		return;
	json_decref(k->priv);
	json_decref(k->pub);
	EVP_PKEY_free(k->pkey);
	free(k);
}

struct tc_key *
tc_key_from_pkey(EVP_PKEY *pk)
{
	struct tc_key *k = calloc(1, sizeof(*k));
	unsigned char raw[32];
	size_t rl = sizeof(raw);
	char *x;

	if (k == NULL)
		return NULL;
	EVP_PKEY_up_ref(pk);
	k->pkey = pk;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
		strcpy(k->alg, "EdDSA");
		EVP_PKEY_get_raw_public_key(pk, raw, &rl);
		x = b64u(raw, rl);
		k->pub = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x);
		k->priv = json_incref(k->pub);
		free(x);
	} else {
		k->priv = jose_openssl_jwk_from_EVP_PKEY(NULL, pk);
		if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
			strcpy(k->alg, "RS256");
		else
			strcpy(k->alg, EVP_PKEY_get_bits(pk) == 384 ? "ES384" : "ES256");
		k->pub = json_deep_copy(k->priv);
		jose_jwk_pub(NULL, k->pub);
	}
	if (k->pub == NULL || k->priv == NULL) {
		tc_key_free(k);
		return NULL;
	}
	return k;
}

struct tc_key *
tc_key_new(const char *alg)
{
	struct tc_key *k;
	EVP_PKEY *pk = NULL;

	if (strcmp(alg, "ES256") == 0)
		pk = EVP_EC_gen("P-256");
	else if (strcmp(alg, "ES384") == 0)
		pk = EVP_EC_gen("P-384");
	else if (strcmp(alg, "RS256") == 0)
		pk = EVP_RSA_gen(2048);
	else if (strcmp(alg, "EdDSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL)
		return NULL;
	k = tc_key_from_pkey(pk);
	EVP_PKEY_free(pk);
	return k;
}

int tc_sign_with_openssl;

/* EdDSA, and ES256 when tc_sign_with_openssl is set: signed by OpenSSL with k->pkey. */
static json_t *
sign_openssl(const struct tc_key *k, json_t *prot, const char *payload)
{
	char *ph = json_dumps(prot, JSON_COMPACT), *pb = NULL, *pp = NULL, *input = NULL;
	char *sb = NULL;
	unsigned char sig[80], raw[64];
	const unsigned char *p = sig;
	size_t sl = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int es = strcmp(k->alg, "ES256") == 0;
	ECDSA_SIG *es_sig = NULL;
	json_t *out = NULL;

	if (ph == NULL || md == NULL)
		goto out;
	pb = b64u(ph, strlen(ph));
	pp = b64u(payload, strlen(payload));
	if (pb == NULL || pp == NULL || asprintf(&input, "%s.%s", pb, pp) < 0)
		goto out;
	if (EVP_DigestSignInit(md, NULL, es ? EVP_sha256() : NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sl, (unsigned char *)input, strlen(input)) != 1)
		goto out;
	if (es) {
		/* JWS wants r || s, 32 octets each (RFC 7518 3.4), not DER. */
		if ((es_sig = d2i_ECDSA_SIG(NULL, &p, (long)sl)) == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(es_sig), raw, 32) != 32 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es_sig), raw + 32, 32) != 32)
			goto out;
		memcpy(sig, raw, 64);
		sl = 64;
	}
	sb = b64u(sig, sl);
	out = json_pack("{s:s, s:s, s:s}", "protected", pb, "payload", pp, "signature", sb);
out:
	ECDSA_SIG_free(es_sig);
	EVP_MD_CTX_free(md);
	free(ph);
	free(pb);
	free(pp);
	free(input);
	free(sb);
	return out;
}

json_t *
tc_sign_json(const struct tc_key *k, const char *url, const char *nonce, const char *kid,
    const char *payload)
{
	json_t *prot, *jws = NULL, *sig = NULL;
	char *pp;

	if (payload == NULL)
		payload = "";
	prot = json_pack("{s:s, s:s}", "alg", k->alg, "url", url);
	if (prot == NULL)
		return NULL;
	if (nonce != NULL)
		json_object_set_new(prot, "nonce", json_string(nonce));
	if (kid != NULL)
		json_object_set_new(prot, "kid", json_string(kid));
	else
		json_object_set(prot, "jwk", k->pub);
	if (strcmp(k->alg, "EdDSA") == 0 || (tc_sign_with_openssl && strcmp(k->alg, "ES256") == 0)) {
		jws = sign_openssl(k, prot, payload);
		json_decref(prot);
		return jws;
	}
	pp = b64u(payload, strlen(payload));
	jws = json_pack("{s:s}", "payload", pp);
	sig = json_pack("{s:o}", "protected", prot);
	free(pp);
	if (jws == NULL || sig == NULL || !jose_jws_sig(NULL, jws, sig, k->priv)) {
		json_decref(jws);
		jws = NULL;
	}
	json_decref(sig);
	return jws;
}

char *
tc_sign(const struct tc_key *k, const char *url, const char *nonce, const char *kid,
    const char *payload)
{
	json_t *j = tc_sign_json(k, url, nonce, kid, payload);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

json_t *
tc_sign_hmac(const unsigned char *key, size_t keylen, const char *kid, const char *url,
    const char *payload)
{
	char *kb = b64u(key, keylen), *pp = b64u(payload, strlen(payload));
	json_t *jwk = json_pack("{s:s, s:s}", "kty", "oct", "k", kb);
	json_t *jws = json_pack("{s:s}", "payload", pp);
	json_t *sig = json_pack("{s:{s:s, s:s, s:s}}", "protected", "alg", "HS256", "kid", kid,
	    "url", url);

	if (jwk == NULL || jws == NULL || sig == NULL || !jose_jws_sig(NULL, jws, sig, jwk)) {
		json_decref(jws);
		jws = NULL;
	}
	json_decref(jwk);
	json_decref(sig);
	free(kb);
	free(pp);
	return jws;
}

void
tc_resp_clear(struct tc_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct tc_resp *r = arg;
	size_t n = size * nmemb;
	char *nb = realloc(r->body, r->len + n + 1);

	if (nb == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
hdr_copy(char *dst, size_t dlen, const char *v, size_t vl)
{
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	while (vl > 0 && *v == ' ') {
		v++;
		vl--;
	}
	if (vl >= dlen)
		vl = dlen - 1;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct tc_resp *r = arg;
	size_t n = size * nmemb;

	if (n > 13 && strncasecmp(data, "Replay-Nonce:", 13) == 0)
		hdr_copy(r->nonce, sizeof(r->nonce), data + 13, n - 13);
	else if (n > 9 && strncasecmp(data, "Location:", 9) == 0)
		hdr_copy(r->location, sizeof(r->location), data + 9, n - 9);
	else if (n > 13 && strncasecmp(data, "Content-Type:", 13) == 0)
		hdr_copy(r->ctype, sizeof(r->ctype), data + 13, n - 13);
	else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
		hdr_copy(r->retry_after, sizeof(r->retry_after), data + 12, n - 12);
	else if (n > 5 && strncasecmp(data, "Link:", 5) == 0 && r->nlinks < 4)
		hdr_copy(r->links[r->nlinks++], sizeof(r->links[0]), data + 5, n - 5);
	return n;
}

int
tc_http(const char *method, const char *url, const char *cafile, const char *ctype,
    const char *body, size_t len, struct tc_resp *r)
{
	struct curl_slist *h = NULL;
	char ct[160];
	CURL *cu;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if ((cu = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/jose+json");
		h = curl_slist_append(h, ct);
		curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	cc = curl_easy_perform(cu);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
	return cc == CURLE_OK ? 0 : -1;
}

int
tc_new_nonce(struct tc_acme *s)
{
	struct tc_resp r;
	char url[300];
	int rc;

	snprintf(url, sizeof(url), "%s/new-nonce", s->base);
	if ((rc = tc_http("HEAD", url, s->cafile, NULL, NULL, 0, &r)) == 0 && r.nonce[0] != '\0')
		strcpy(s->nonce, r.nonce);
	else
		rc = -1;
	tc_resp_clear(&r);
	return rc;
}

int
tc_post(struct tc_acme *s, const char *url, const char *payload, struct tc_resp *r)
{
	char *body;
	int rc;

	if (s->nonce[0] == '\0' && tc_new_nonce(s) != 0)
		return -1;
	body = tc_sign(s->key, url, s->nonce, s->kid[0] ? s->kid : NULL, payload);
	if (body == NULL)
		return -1;
	rc = tc_http("POST", url, s->cafile, NULL, body, strlen(body), r);
	free(body);
	strcpy(s->nonce, r->nonce);
	return rc;
}

const char *
tc_problem(const struct tc_resp *r, char *buf, size_t buflen)
{
	json_error_t jerr;
	json_t *j;
	const char *t;

	buf[0] = '\0';
	if (r->body == NULL || (j = json_loads(r->body, 0, &jerr)) == NULL)
		return buf;
	t = json_string_value(json_object_get(j, "type"));
	if (t != NULL && strncmp(t, "urn:ietf:params:acme:error:", 27) == 0)
		snprintf(buf, buflen, "%s", t + 27);
	json_decref(j);
	return buf;
}

char *
tc_csr_b64u(const char *names, EVP_PKEY **key)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = NULL;
	char san[1024], *p, *save = NULL, *copy = strdup(names), *out = NULL;
	unsigned char *der = NULL;
	int n;

	*key = EVP_EC_gen("P-256");
	san[0] = '\0';
	for (p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		size_t l = strlen(san);

		snprintf(san + l, sizeof(san) - l, "%s%s:%s", l ? "," : "",
		    strspn(p, "0123456789.:") == strlen(p) ? "IP" : "DNS", p);
	}
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (req == NULL || exts == NULL || ext == NULL || *key == NULL)
		goto out;
	sk_X509_EXTENSION_push(exts, ext);
	ext = NULL;
	X509_REQ_set_pubkey(req, *key);
	X509_REQ_add_extensions(req, exts);
	if (X509_REQ_sign(req, *key, EVP_sha256()) <= 0)
		goto out;
	if ((n = i2d_X509_REQ(req, &der)) > 0)
		out = b64u(der, (size_t)n);
out:
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(copy);
	return out;
}
