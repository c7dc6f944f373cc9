/*
 * adapt_mbedtls.c - the mayfly checks as an mbedTLS 2.28 verify callback.
 *
 * See adapt_mbedtls.h for how the callback takes over from mbedTLS's own
 * verification.  The point of doing the work at depth 0 is that the leaf's
 * mbedtls_x509_crt is the head of the list of certificates the server
 * sent, in the order sent, which is exactly the input mfv_verify() wants;
 * the calls for the other depths carry nothing we need.
 */
#include <string.h>
#include "adapt_mbedtls.h"

void
mfv_mbedtls_init(struct mfv_mbedtls *a, struct mfv_ctx *ctx)
{
	memset(a, 0, sizeof(*a));
	a->ctx = ctx;
	a->err = MFV_ERR_INVALID_ARG;
	a->res.depth = -1;
}

void
mfv_mbedtls_set_ocsp(struct mfv_mbedtls *a, const uint8_t *der, size_t len)
{
	a->ocsp.p = der;
	a->ocsp.len = der != NULL ? len : 0;
}

void
mfv_mbedtls_setup(mbedtls_ssl_config *conf, struct mfv_mbedtls *a)
{
	/* REQUIRED would make mbedTLS fail the handshake for want of a CA
	 * chain before our verdict counts; OPTIONAL leaves the verdict to the
	 * callback, whose non-zero return is fatal in either mode. */
	mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	mbedtls_ssl_conf_verify(conf, mfv_mbedtls_verify_cb, a);
}

int
mfv_mbedtls_verify_cb(void *p_vrfy, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct mfv_mbedtls *a = p_vrfy;
	const mbedtls_x509_crt *c;
	size_t n = 0, i;

	if (a == NULL || a->ctx == NULL || crt == NULL || flags == NULL)
		return MBEDTLS_ERR_X509_FATAL_ERROR;
	if (depth != 0) {
		/* mbedTLS could not chain to a CA it does not have; the mayfly
		 * verdict at depth 0 decides for the whole chain. */
		*flags = 0;
		return 0;
	}
	a->err = MFV_ERR_INVALID_ARG;
	memset(&a->res, 0, sizeof(a->res));
	a->res.depth = -1;
	for (c = crt; c != NULL && c->raw.p != NULL; c = c->next) {
		if (n == MFV_MAX_CERTS) {
			a->err = MFV_ERR_TOO_MANY;
			goto refuse;
		}
		a->certs[n].p = c->raw.p;
		a->certs[n++].len = c->raw.len;
	}
	for (i = 0; i < a->n_extra; i++) {
		if (n == MFV_MAX_CERTS) {
			a->err = MFV_ERR_TOO_MANY;
			goto refuse;
		}
		a->certs[n++] = a->extra[i];
	}
	a->err = mfv_verify(a->ctx, a->certs, n, a->ocsp.len > 0 ? &a->ocsp : NULL, &a->res);
	if (a->err == 0) {
		*flags = 0;
		return 0;
	}
refuse:
	*flags |= MBEDTLS_X509_BADCERT_OTHER;
	return MBEDTLS_ERR_X509_FATAL_ERROR;
}

int
mfv_mbedtls_result(const struct mfv_mbedtls *a, struct mfv_result *res)
{
	if (a == NULL)
		return MFV_ERR_INVALID_ARG;
	if (res != NULL)
		*res = a->res;
	return a->err;
}
