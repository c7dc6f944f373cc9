/*
 * adapt_openssl.c - the mayfly checks as OpenSSL certificate and OCSP
 * status callbacks.  See adapt_openssl.h for the order of events in TLS
 * 1.2 and 1.3 and why the check may run twice.
 *
 * The certificates are converted to DER with i2d_X509 for each
 * verification and freed right after: the library only borrows buffers,
 * and OpenSSL keeps no DER copy we could lend.
 */
#include <string.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include "adapt_openssl.h"

void
mfv_openssl_init(struct mfv_openssl *a, struct mfv_ctx *ctx)
{
	memset(a, 0, sizeof(*a));
	a->ctx = ctx;
	a->err = MFV_ERR_INVALID_ARG;
	a->res.depth = -1;
}

/* Run mfv_verify() over leaf + chain (chain may contain the leaf again at
 * index 0, as SSL_get_peer_cert_chain does on a client; it is skipped). */
static int
run(struct mfv_openssl *a, X509 *leaf, STACK_OF(X509) *chain, const unsigned char *ocsp,
    long ocsp_len)
{
	struct mfv_buf ob;
	size_t n = 0, i;
	int k, len, rc;

	memset(&a->res, 0, sizeof(a->res));
	a->res.depth = -1;
	if (leaf == NULL) {
		rc = MFV_ERR_INVALID_ARG;
		goto out;
	}
	for (k = -1; k < (chain != NULL ? sk_X509_num(chain) : 0); k++) {
		X509 *x = k < 0 ? leaf : sk_X509_value(chain, k);

		if (k >= 0 && X509_cmp(x, leaf) == 0)
			continue;
		if (n == MFV_MAX_CERTS) {
			rc = MFV_ERR_TOO_MANY;
			goto out;
		}
		a->der[n] = NULL;
		if ((len = i2d_X509(x, &a->der[n])) <= 0) {
			ERR_clear_error();
			rc = MFV_ERR_BACKEND;
			goto out;
		}
		a->certs[n].p = a->der[n];
		a->certs[n++].len = (size_t)len;
	}
	ob.p = ocsp;
	ob.len = ocsp != NULL && ocsp_len > 0 ? (size_t)ocsp_len : 0;
	rc = mfv_verify(a->ctx, a->certs, n, ob.len > 0 ? &ob : NULL, &a->res);
	if (rc == 0 && ob.len > 0)
		a->staple_seen = 1;
out:
	for (i = 0; i < n; i++) {
		OPENSSL_free(a->der[i]);
		a->der[i] = NULL;
	}
	return rc;
}

static int
cert_cb(X509_STORE_CTX *xs, void *arg)
{
	struct mfv_openssl *a = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	const unsigned char *ocsp = NULL;
	long olen = 0;
	int rc;

	a->pending_staple = 0;
	a->staple_seen = 0;
	if (ssl != NULL)
		olen = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp);
	rc = run(a, X509_STORE_CTX_get0_cert(xs), X509_STORE_CTX_get0_untrusted(xs), ocsp, olen);
	if (rc == MFV_ERR_OCSP_REQUIRED && ssl != NULL && SSL_version(ssl) < TLS1_3_VERSION &&
	    SSL_get_tlsext_status_type(ssl) == TLSEXT_STATUSTYPE_ocsp) {
		/* TLS 1.2: the staple arrives in CertificateStatus, after this
		 * callback; status_cb decides. */
		a->pending_staple = 1;
		a->err = rc;
		return 1;
	}
	a->err = rc;
	if (rc != 0) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		X509_STORE_CTX_set_error_depth(xs, a->res.depth >= 0 ? a->res.depth : 0);
		return 0;
	}
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

static int
status_cb(SSL *ssl, void *arg)
{
	struct mfv_openssl *a = arg;
	const unsigned char *ocsp = NULL;
	long olen = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp);
	int rc;

	/* Nothing new to judge: no staple and nothing deferred, or the staple
	 * was already verified in the certificate callback (TLS 1.3). */
	if (!a->pending_staple && (ocsp == NULL || olen <= 0 || a->staple_seen))
		return a->err == 0 ? 1 : 0;
	rc = run(a, SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl), ocsp, olen);
	a->pending_staple = 0;
	a->err = rc;
	return rc == 0 ? 1 : 0;
}

int
mfv_openssl_setup(SSL_CTX *sctx, struct mfv_openssl *a)
{
	SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(sctx, cert_cb, a);
	if (SSL_CTX_set_tlsext_status_type(sctx, TLSEXT_STATUSTYPE_ocsp) != 1 ||
	    SSL_CTX_set_tlsext_status_cb(sctx, status_cb) != 1 ||
	    SSL_CTX_set_tlsext_status_arg(sctx, a) != 1) {
		ERR_clear_error();
		return MFV_ERR_BACKEND;
	}
	return 0;
}

int
mfv_openssl_result(const struct mfv_openssl *a, struct mfv_result *res)
{
	if (a == NULL)
		return MFV_ERR_INVALID_ARG;
	if (res != NULL)
		*res = a->res;
	return a->pending_staple ? MFV_ERR_OCSP_REQUIRED : a->err;
}
