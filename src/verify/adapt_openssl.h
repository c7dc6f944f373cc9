/*
 * adapt_openssl.h - run libmayfly-verify inside an OpenSSL 3 TLS handshake.
 *
 * For hosts and gateways that speak TLS with OpenSSL but want the device
 * policy: pinned root hashes instead of a CA store, the lifetime cap, the
 * host name, and the server's stapled OCSP response.
 *
 * mfv_openssl_setup() installs two callbacks on an SSL_CTX:
 *  - SSL_CTX_set_cert_verify_callback(): replaces OpenSSL's chain
 *    verification with mfv_verify() over the certificates the server sent
 *    (leaf first, in the order sent).
 *  - SSL_CTX_set_tlsext_status_cb(), and status_request is turned on: the
 *    staple is read with SSL_get_tlsext_status_ocsp_resp().
 * In TLS 1.3 the staple travels inside the Certificate message, so the
 * first callback already sees it and does the whole verification.  In TLS
 * 1.2 the CertificateStatus message comes after the certificate check: the
 * first callback then verifies the chain without a staple (deferring only
 * MFV_ERR_OCSP_REQUIRED, the one verdict a later staple can change), and
 * the status callback verifies again with the staple, so a revoked, stale
 * or forged staple still fails the handshake (alert
 * bad_certificate_status_response).
 *
 * After the handshake mfv_openssl_result() gives the verdict and the
 * struct mfv_result (persist res.lkgt when it grew); a handshake that
 * succeeded always has a verdict of 0.
 *
 * A resumed session runs no certificate check (it was verified when it
 * was made); the verdict then stays MFV_ERR_INVALID_ARG, so a caller that
 * resumes sessions must keep the verdict of the full handshake.
 *
 * Memory: struct mfv_openssl is caller-owned and must outlive the
 * handshakes of every SSL made from the SSL_CTX; it borrows the mfv_ctx.
 * One adapter serves one handshake at a time (the result lives in it).
 */
#ifndef MFV_ADAPT_OPENSSL_H
#define MFV_ADAPT_OPENSSL_H

#include <openssl/ssl.h>
#include "mayfly_verify.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mfv_openssl {
	struct mfv_ctx *ctx;         /* borrowed, configured by the caller */
	int err;                     /* verdict; MFV_ERR_INVALID_ARG until one ran */
	int pending_staple;          /* chain accepted except for a staple still to come */
	int staple_seen;             /* a staple was verified */
	struct mfv_result res;
	struct mfv_buf certs[MFV_MAX_CERTS];
	unsigned char *der[MFV_MAX_CERTS]; /* i2d output, freed after each use */
};

void mfv_openssl_init(struct mfv_openssl *a, struct mfv_ctx *ctx);

/* Install the callbacks on a client SSL_CTX and request OCSP stapling.
 * Returns 0 or MFV_ERR_BACKEND. */
int mfv_openssl_setup(SSL_CTX *sctx, struct mfv_openssl *a);

/* The verdict of the last handshake (see above); res may be NULL. */
int mfv_openssl_result(const struct mfv_openssl *a, struct mfv_result *res);

#ifdef __cplusplus
}
#endif
#endif /* MFV_ADAPT_OPENSSL_H */
