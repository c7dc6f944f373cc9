/*
 * adapt_mbedtls.h - run libmayfly-verify inside an mbedTLS 2.28 handshake.
 *
 * mbedTLS's own chain verification wants CA certificates; a mayfly device
 * holds only SHA-256 pins of its roots.  This adapter plugs the mayfly
 * checks (pinned roots, lifetime cap, host name, validity, usage, and a
 * stapled OCSP response if the caller has one) into the handshake through
 * mbedtls_ssl_conf_verify(), so a refused chain aborts the handshake before
 * any application data is sent.
 *
 * How it works: mfv_mbedtls_setup() sets the authentication mode to
 * MBEDTLS_SSL_VERIFY_OPTIONAL (mbedTLS 2.28 refuses REQUIRED without a CA
 * chain) and installs mfv_mbedtls_verify_cb().  mbedTLS calls the callback
 * once per certificate of the chain it built, leaf last.  At the leaf the
 * callback hands the certificates exactly as the server sent them to
 * mfv_verify(); on refusal it returns MBEDTLS_ERR_X509_FATAL_ERROR, which
 * mbedTLS treats as fatal even in OPTIONAL mode, so the handshake fails
 * with that code.  On acceptance it clears the flags mbedTLS set (its own
 * "not trusted" verdict, made without any CA, is replaced by ours).
 *
 * After the handshake, check mfv_mbedtls_result(): it returns 0 only if
 * the mayfly verification ran and accepted.  Do not rely on
 * mbedtls_ssl_get_verify_result(), which still carries mbedTLS's own
 * flags (for example its CN check) that the mayfly result supersedes.
 *
 * OCSP: the mbedTLS 2.28 client implements no status_request extension,
 * so a server cannot staple to it.  The caller obtains the OCSP response
 * some other way (the device example reads one fetched out of band, e.g.
 * from the CA's OCSP responder over plain HTTP: OCSP responses are signed
 * objects and need no channel security) and lends it in `ocsp` before the
 * handshake.  Without one, a must-staple leaf is refused
 * (MFV_ERR_OCSP_REQUIRED) and other leaves are accepted without a
 * revocation check.
 *
 * Ed25519 server certificates cannot be used: mbedTLS 2.28 neither parses
 * them nor has the algorithm (see backend_mbedtls.c).
 *
 * Memory: struct mfv_mbedtls is caller-owned (may be static); it borrows
 * the mfv_ctx, the OCSP buffer and the extra certificates until the
 * handshake is over.  No allocation, no printing.
 */
#ifndef MFV_ADAPT_MBEDTLS_H
#define MFV_ADAPT_MBEDTLS_H

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include "mayfly_verify.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mfv_mbedtls {
	struct mfv_ctx *ctx;        /* borrowed, configured by the caller */
	struct mfv_buf ocsp;        /* borrowed staple, len 0 = none */
	const struct mfv_buf *extra;/* borrowed: anchor certificates the device
	                               stores itself (if servers do not send
	                               the root), or NULL */
	size_t n_extra;
	/* results */
	int err;                    /* MFV_OK or the refusal; MFV_ERR_INVALID_ARG
	                               until a verification ran */
	struct mfv_result res;
	/* scratch: the certificates handed to mfv_verify() */
	struct mfv_buf certs[MFV_MAX_CERTS];
};

/* Prepare an adapter for one handshake with a configured context; call it
 * again before the next handshake (a verdict is never carried over). */
void mfv_mbedtls_init(struct mfv_mbedtls *a, struct mfv_ctx *ctx);

/* Lend a stapled OCSP response (DER OCSPResponse) for the next handshake. */
void mfv_mbedtls_set_ocsp(struct mfv_mbedtls *a, const uint8_t *der, size_t len);

/* Install the adapter on a client configuration: authmode OPTIONAL and the
 * verify callback.  The adapter must outlive every handshake using conf. */
void mfv_mbedtls_setup(mbedtls_ssl_config *conf, struct mfv_mbedtls *a);

/* The callback itself (for mbedtls_ssl_conf_verify or mbedtls_ssl_set_verify,
 * p_vrfy = the adapter). */
int mfv_mbedtls_verify_cb(void *p_vrfy, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

/* 0 if the last handshake's chain was verified and accepted; otherwise the
 * mfv error (MFV_ERR_INVALID_ARG if no verification ran at all).  res, if
 * not NULL, gets the result (persist res->lkgt when it grew). */
int mfv_mbedtls_result(const struct mfv_mbedtls *a, struct mfv_result *res);

#ifdef __cplusplus
}
#endif
#endif /* MFV_ADAPT_MBEDTLS_H */
