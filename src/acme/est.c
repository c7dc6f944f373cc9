/*
 * est.c: Enrollment over Secure Transport (RFC 7030) and the bearer-token
 * signing API, on the ACME listener's port.
 *
 *   GET  /.well-known/est/cacerts         the CA certificates (certs-only PKCS#7):
 *                                         issuing CA, its cross-signed forms, roots
 *   POST /.well-known/est/simpleenroll    first certificate: HTTP basic
 *                                         credentials from the config, or a
 *                                         one-time enrolment token (Bearer)
 *   POST /.well-known/est/simplereenroll  renewal: the client's current,
 *                                         unrevoked, unexpired mayfly
 *                                         certificate over mutual TLS
 *                                         authorises the same names or fewer
 *   POST /v1/sign                         CSR in, PEM certificate out, for
 *                                         automation holding the API token
 *
 * The TLS client certificate comes from GnuTLS (libmicrohttpd's TLS) as DER
 * and is checked here with OpenSSL: chain to our roots, and the issuance
 * log says it is ours, unrevoked and unexpired.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "issuer.h"
#include "mferr.h"
#include "policy.h"
#include "util.h"

/* base64 (RFC 7030 4.1.3: Content-Transfer-Encoding base64) with line breaks. */
static char *
b64_lines(const unsigned char *in, size_t len)
{
	BIO *b64, *mem;
	BUF_MEM *bm;
	char *s = NULL;

	if ((b64 = BIO_new(BIO_f_base64())) == NULL)
		return NULL;
	if ((mem = BIO_new(BIO_s_mem())) == NULL) {
		BIO_free(b64);
		return NULL;
	}
	BIO_push(b64, mem);
	if (BIO_write(b64, in, (int)len) == (int)len && BIO_flush(b64) == 1) {
		BIO_get_mem_ptr(mem, &bm);
		if ((s = malloc(bm->length + 1)) != NULL) {
			memcpy(s, bm->data, bm->length);
			s[bm->length] = '\0';
		}
	}
	BIO_free_all(b64);
	return s;
}

/* Decodes base64 that may contain line breaks; caller frees. */
static int
b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	char *clean;
	size_t i, n = 0;
	int l;

	*out = NULL;
	if ((clean = malloc(len + 1)) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; i < len; i++)
		if (in[i] != '\r' && in[i] != '\n' && in[i] != ' ' && in[i] != '\t')
			clean[n++] = in[i];
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0 || (*out = malloc(n / 4 * 3 + 1)) == NULL) {
		free(clean);
		return n == 0 || n % 4 != 0 ? MF_ERR_CSR_PARSE : MF_ERR_NOMEM;
	}
	l = EVP_DecodeBlock(*out, (unsigned char *)clean, (int)n);
	if (l < 0) {
		free(clean);
		free(*out);
		*out = NULL;
		return MF_ERR_CSR_PARSE;
	}
	/* EVP_DecodeBlock counts padding as zero bytes. */
	if (n >= 1 && clean[n - 1] == '=')
		l--;
	if (n >= 2 && clean[n - 2] == '=')
		l--;
	*outlen = (size_t)l;
	free(clean);
	return 0;
}

/* A certs-only PKCS#7 of certs, base64, as the response body. */
static int
send_certs(struct acme_ctx *c, STACK_OF(X509) *certs)
{
	PKCS7 *p7 = NULL;
	unsigned char *der = NULL;
	int n, i, rc = MF_ERR_NOMEM;

	if ((p7 = PKCS7_new()) == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto out;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (PKCS7_add_certificate(p7, sk_X509_value(certs, i)) != 1)
			goto out;
	if ((n = i2d_PKCS7(p7, &der)) <= 0)
		goto out;
	if ((c->r->body = b64_lines(der, (size_t)n)) == NULL)
		goto out;
	c->r->len = strlen(c->r->body);
	c->r->ctype = "application/pkcs7-mime; smime-type=certs-only";
	c->r->status = 200;
	rc = 0;
out:
	OPENSSL_free(der);
	PKCS7_free(p7);
	return rc == 0 ? 0 : acme_fail(c, rc, "cannot build the PKCS#7 response");
}

static int
load_pem_certs(const char *path, STACK_OF(X509) *certs)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x;
	int n = 0;

	if (b == NULL)
		return MF_ERR_IO;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			break;
		}
		n++;
	}
	BIO_free(b);
	ERR_clear_error();
	return n > 0 ? 0 : MF_ERR_IO;
}

int
est_h_cacerts(struct acme_ctx *c)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *ica = mf_issuer_cert(c->a->issuer);
	const struct mf_ca_conf *ic;
	size_t i;
	int rc;

	if (certs == NULL || ica == NULL || !X509_up_ref(ica) || !sk_X509_push(certs, ica)) {
		sk_X509_pop_free(certs, X509_free);
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	}
	/*
	 * The issuing CA's cross-signed forms too (same subject and key,
	 * signed by a backup root): a client that trusts only that root can
	 * build its chain from this answer alone.
	 */
	if ((ic = mf_config_intermediate(c->a->cfg, mf_issuer_name(c->a->issuer))) != NULL)
		for (i = 0; i < ic->ncross; i++)
			if ((rc = load_pem_certs(ic->cross[i], certs)) != 0) {
				sk_X509_pop_free(certs, X509_free);
				return acme_fail(c, rc, "cannot read %s", ic->cross[i]);
			}
	for (i = 0; i < c->a->cfg->nroots; i++)
		if ((rc = load_pem_certs(c->a->cfg->roots[i].cert, certs)) != 0) {
			sk_X509_pop_free(certs, X509_free);
			return acme_fail(c, rc, "cannot read root %s", c->a->cfg->roots[i].name);
		}
	rc = send_certs(c, certs);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static int
ct_equal(const char *a, const char *b)
{
	unsigned char ha[32], hb[32];

	/* Compare digests so neither length nor content leaks through timing. */
	EVP_Digest(a, strlen(a), ha, NULL, EVP_sha256(), NULL);
	EVP_Digest(b, strlen(b), hb, NULL, EVP_sha256(), NULL);
	return CRYPTO_memcmp(ha, hb, 32) == 0;
}

/* A one-time token from the tokens file, spent on success. */
static int
token_spend(struct acme_ctx *c, const char *token)
{
	const struct mf_acme_conf *conf = c->a->conf;
	unsigned char *buf = NULL, h[32];
	char *line, *save = NULL;
	size_t len;
	int found = 0, rc;

	if (conf->est_tokens_file == NULL || strlen(token) < 16)
		return MF_ERR_EST_AUTH;
	if ((rc = mf_file_read(conf->est_tokens_file, 1 << 20, &buf, &len)) != 0)
		return MF_ERR_EST_AUTH;
	for (line = strtok_r((char *)buf, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save))
		if (line[0] != '#' && ct_equal(line, token))
			found = 1;
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (!found)
		return MF_ERR_EST_AUTH;
	EVP_Digest(token, strlen(token), h, NULL, EVP_sha256(), NULL);
	pthread_mutex_lock(&c->a->lock);
	/* Durable before use: a crash cannot give the token a second life. */
	if ((rc = acme_sq_durable(c->a->sq, 1)) == 0)
		rc = acme_sq_exec(c->a->sq, "INSERT INTO est_tokens_used(token_sha256, used_at) "
		    "VALUES (?, ?)", "bi", h, 32, c->now);
	if (acme_sq_durable(c->a->sq, 0) != 0 && rc == 0)
		rc = MF_ERR_DB;
	pthread_mutex_unlock(&c->a->lock);
	return rc == 0 ? 0 : rc == MF_ERR_EXISTS ? MF_ERR_EST_AUTH : rc;
}

/* Reads the CSR from an EST body (base64 DER) or a /v1/sign body (PEM or DER). */
static int
body_csr(struct acme_ctx *c, int est, X509_REQ **csr)
{
	unsigned char *der = NULL;
	size_t len = 0;
	int rc;

	*csr = NULL;
	if (!est || (c->upload_len > 10 && memcmp(c->upload, "-----BEGIN", 10) == 0))
		return mf_csr_parse((const unsigned char *)c->upload, c->upload_len, csr);
	if ((rc = b64_decode(c->upload, c->upload_len, &der, &len)) != 0)
		return rc;
	rc = mf_csr_parse(der, len, csr);
	free(der);
	return rc;
}

static int
issue_and_send(struct acme_ctx *c, X509_REQ *csr, const char *profile, const char *requester,
    int pem)
{
	STACK_OF(X509) *certs = NULL;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	char why[256];
	int rc;

	/* Returns once the record is committed: the log comes first. */
	rc = acme_ca_issue(c->a, csr, profile, requester, &der, &len, why, sizeof(why));
	if (rc != 0)
		return acme_fail(c, acme_ca_map_err(rc), "%s", why);
	if (pem) {
		/* PEM straight from the DER: no X509 decode on this path. */
		BIO *b = BIO_new(BIO_s_mem());
		BUF_MEM *bm;

		rc = MF_ERR_NOMEM;
		if (b != NULL && PEM_write_bio(b, PEM_STRING_X509, "", der, (long)len) > 0) {
			BIO_get_mem_ptr(b, &bm);
			if ((c->r->body = malloc(bm->length)) != NULL) {
				memcpy(c->r->body, bm->data, bm->length);
				c->r->len = bm->length;
				c->r->ctype = "application/pem-certificate-chain";
				c->r->status = 200;
				rc = 0;
			}
		}
		BIO_free(b);
		free(der);
		return rc == 0 ? 0 : acme_fail(c, rc, "out of memory");
	}
	p = der;
	cert = d2i_X509(NULL, &p, (long)len);
	free(der);
	if (cert == NULL)
		return acme_fail(c, MF_ERR_INTERNAL, "the issuer returned no certificate");
	if ((certs = sk_X509_new_null()) == NULL || !sk_X509_push(certs, cert)) {
		X509_free(cert);
		sk_X509_free(certs);
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	}
	rc = send_certs(c, certs);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
est_h_simpleenroll(struct acme_ctx *c)
{
	const struct mf_acme_conf *conf = c->a->conf;
	const char *auth = c->authorization;
	const char *profile = conf->est_profile ? conf->est_profile : conf->profile;
	unsigned char *dec = NULL;
	size_t declen = 0;
	X509_REQ *csr = NULL;
	char requester[80];
	char *colon;
	int rc = MF_ERR_EST_AUTH;

	if (auth != NULL && strncmp(auth, "Basic ", 6) == 0 && conf->est_user != NULL &&
	    c->a->est_password != NULL &&
	    b64_decode(auth + 6, strlen(auth + 6), &dec, &declen) == 0) {
		dec[declen] = '\0';
		if ((colon = strchr((char *)dec, ':')) != NULL) {
			*colon = '\0';
			if (ct_equal((char *)dec, conf->est_user) &
			    ct_equal(colon + 1, c->a->est_password))
				rc = 0;
		}
		snprintf(requester, sizeof(requester), "est:%s", conf->est_user);
		OPENSSL_cleanse(dec, declen);
		free(dec);
	} else if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
		/* Parse the CSR first so a bad CSR does not burn the token. */
		if ((rc = body_csr(c, 1, &csr)) != 0)
			return acme_fail(c, MF_ERR_ACME_BADCSR, "body is not a base64 PKCS#10 CSR");
		rc = token_spend(c, auth + 7);
		snprintf(requester, sizeof(requester), "est:token");
	}
	if (rc != 0) {
		X509_REQ_free(csr);
		c->r->www_authenticate = "Basic realm=\"mayfly-est\"";
		return acme_fail(c, rc, "enrolment needs valid credentials or a one-time token");
	}
	if (csr == NULL && (rc = body_csr(c, 1, &csr)) != 0)
		return acme_fail(c, MF_ERR_ACME_BADCSR, "body is not a base64 PKCS#10 CSR");
	rc = issue_and_send(c, csr, profile, requester, 0);
	X509_REQ_free(csr);
	return rc;
}

/* The client certificate must be ours: chain, log, not revoked, not expired. */
static int
client_cert_ok(struct acme_ctx *c, struct mf_cert_rec **rec)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *vctx = NULL;
	STACK_OF(X509) *untrusted = NULL;
	char serial[2 * MF_SERIAL_MAX + 1];
	size_t i;
	int rc = MF_ERR_EST_AUTH, der_len;
	unsigned char *der = NULL;

	*rec = NULL;
	if (c->client_cert == NULL)
		return acme_fail(c, MF_ERR_EST_AUTH, "re-enrolment needs a client certificate");
	if ((store = X509_STORE_new()) == NULL || (vctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 0; i < c->a->cfg->nroots; i++)
		if (X509_STORE_load_file(store, c->a->cfg->roots[i].cert) != 1)
			goto out;
	if (!X509_up_ref(mf_issuer_cert(c->a->issuer)) ||
	    !sk_X509_push(untrusted, mf_issuer_cert(c->a->issuer)))
		goto out;
	if (X509_STORE_CTX_init(vctx, store, c->client_cert, untrusted) != 1 ||
	    X509_verify_cert(vctx) != 1) {
		rc = acme_fail(c, MF_ERR_EST_AUTH, "client certificate does not verify: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
		goto out;
	}
	if (mf_serial_hex(X509_get0_serialNumber(c->client_cert), serial, sizeof(serial)) != 0)
		goto out;
	pthread_mutex_lock(&c->a->lock);
	rc = mf_db_cert_get(c->a->db, serial, rec);
	pthread_mutex_unlock(&c->a->lock);
	if (rc != 0 ||
	    (der_len = i2d_X509(c->client_cert, &der)) <= 0 || (size_t)der_len != (*rec)->der_len ||
	    memcmp(der, (*rec)->der, (size_t)der_len) != 0) {
		rc = acme_fail(c, MF_ERR_EST_AUTH, "client certificate not in the issuance log");
		goto out;
	}
	if ((*rec)->revoked_at != 0) {
		rc = acme_fail(c, MF_ERR_EST_AUTH, "client certificate %s is revoked", serial);
		goto out;
	}
	if ((*rec)->not_after <= c->now) {
		rc = acme_fail(c, MF_ERR_EST_AUTH, "client certificate %s has expired", serial);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && c->r->err == 0)
		rc = acme_fail(c, rc, "cannot check the client certificate");
	if (rc != 0) {
		mf_cert_rec_free(*rec);
		*rec = NULL;
	}
	OPENSSL_free(der);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	return rc;
}

int
est_h_simplereenroll(struct acme_ctx *c)
{
	struct mf_cert_rec *rec = NULL;
	X509_REQ *csr = NULL;
	char **have = NULL, **want = NULL, requester[80];
	size_t nhave = 0, nwant = 0, i, j;
	int rc;

	if ((rc = client_cert_ok(c, &rec)) != 0)
		return rc;
	if ((rc = body_csr(c, 1, &csr)) != 0) {
		rc = acme_fail(c, MF_ERR_ACME_BADCSR, "body is not a base64 PKCS#10 CSR");
		goto out;
	}
	if ((rc = acme_csr_names(csr, &want, &nwant)) != 0) {
		char why[256];

		rc = acme_csr_refusal(c->a, csr, rec->profile, rc, why, sizeof(why));
		rc = acme_fail(c, rc, "%s", why);
		goto out;
	}
	if ((rc = acme_cert_names(c->client_cert, &have, &nhave)) != 0) {
		rc = acme_fail(c, MF_ERR_EST_AUTH, "client certificate has no names");
		goto out;
	}
	/* The current certificate vouches for its own names only. */
	for (i = 0; i < nwant; i++) {
		int found = 0;

		for (j = 0; j < nhave; j++)
			if (strcmp(want[i], have[j]) == 0)
				found = 1;
		if (!found) {
			rc = acme_fail(c, MF_ERR_EST_NAMES, "%s is not in the current certificate",
			    want[i]);
			goto out;
		}
	}
	snprintf(requester, sizeof(requester), "est:reenroll/%s", rec->serial);
	rc = issue_and_send(c, csr, rec->profile, requester, 0);
out:
	acme_names_free(have, nhave);
	acme_names_free(want, nwant);
	X509_REQ_free(csr);
	mf_cert_rec_free(rec);
	return rc;
}

int
api_h_sign(struct acme_ctx *c)
{
	const struct mf_acme_conf *conf = c->a->conf;
	X509_REQ *csr = NULL;
	int rc;

	if (c->a->api_token == NULL || c->authorization == NULL ||
	    strncmp(c->authorization, "Bearer ", 7) != 0 ||
	    !ct_equal(c->authorization + 7, c->a->api_token))
		return acme_fail(c, MF_ERR_AUTH, "missing or bad API token");
	if ((rc = body_csr(c, 0, &csr)) != 0)
		return acme_fail(c, MF_ERR_ACME_BADCSR, "body is not a PKCS#10 CSR");
	rc = issue_and_send(c, csr, conf->profile, "api:token", 1);
	X509_REQ_free(csr);
	return rc;
}
