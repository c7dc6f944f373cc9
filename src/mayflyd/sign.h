/*
 * sign.h: the signed objects of the responder, built from plain inputs:
 * OCSP basic responses, CRLs and the delegated OCSP responder certificate.
 *
 * These functions only build and sign with the keys they are given; they
 * do not know about the database, the keystore or the process that calls
 * them (the signer process, see signer.h), so the tests and the benchmark
 * drive them with keys made on the spot.
 */
#ifndef MFD_SIGN_H
#define MFD_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>


struct mfd_ocsp_in {
	X509 *issuer;			/* the CA that issued the certificate */
	X509 *signer;			/* responder certificate, or issuer itself */
	EVP_PKEY *key;			/* signer's key */
	int alg;			/* MFD_ALG_SHA1 / MFD_ALG_SHA256 of the CertID */
	const unsigned char *serial;	/* magnitude, big-endian */
	size_t serial_len;
	int status;			/* V_OCSP_CERTSTATUS_GOOD / REVOKED / UNKNOWN */
	int64_t revoked_at;		/* for REVOKED */
	int reason;			/* CRL reason for REVOKED; -1: none */
	int64_t this_update;
	int64_t next_update;
};

/*
 * A successful OCSPResponse (RFC 6960 4.2.1) with one SingleResponse,
 * responderID byKey (RFC 5019 2.2.2), no nonce, and the signer certificate
 * included when it is not the issuer. *der is malloc'ed; caller frees.
 */
int mfd_ocsp_sign(const struct mfd_ocsp_in *in, unsigned char **der, size_t *len);

/*
 * Issues a delegated OCSP responder certificate (RFC 6960 4.2.2.2) for
 * pub from issuer/issuer_key: CN "<name> OCSP responder", EKU OCSPSigning,
 * id-pkix-ocsp-nocheck, KU digitalSignature, CA:FALSE, SKI/AKI, notBefore
 * now - 5 min, notAfter now + lifetime (clipped to the issuer's notAfter),
 * random 128-bit serial. Caller frees *out.
 */
int mfd_responder_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *pub, const char *name,
    int64_t now, int64_t lifetime, X509 **out);


#endif
