/*
 * pki.h: test helpers for the policy and issuer suites: in-process keys and
 * CSRs with chosen extensions, and files for the openssl/certtool CLIs.
 */
#ifndef MF_TEST_PKI_H
#define MF_TEST_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * A fresh key: "ec-p256", "ec-p384", "secp256k1", "ed25519", "ed448", "rsa1024",
 * "rsa2048", "rsa3072". NULL on failure. Caller frees.
 */
EVP_PKEY *mft_key(const char *kind);

/*
 * A CSR signed by key, subject CN=cn (none if NULL), with the extensions
 * given as pairs of (name, value) in openssl.cnf syntax, ended by NULL, e.g.
 *   mft_csr(k, NULL, "subjectAltName", "DNS:a.example.net,IP:192.0.2.1",
 *       "basicConstraints", "critical,CA:TRUE", NULL)
 * The value "" for subjectAltName makes an empty SAN (SEQUENCE {}), which
 * the config syntax cannot express. A name may be given twice. Caller frees.
 */
X509_REQ *mft_csr(EVP_PKEY *key, const char *cn, ...);

/* The same CSR with the last byte of its DER flipped (inside the signature). */
X509_REQ *mft_csr_break_sig(X509_REQ *req);

/* DER of req; caller frees with OPENSSL_free. Returns length or -1. */
int mft_csr_der(X509_REQ *req, unsigned char **der);

/* Writes a certificate as PEM to dir/name (0644). 0 or -1. */
int mft_write_cert(const char *dir, const char *name, X509 *x);

/* Writes a private key as PEM to dir/name (0600). 0 or -1. */
int mft_write_key(const char *dir, const char *name, EVP_PKEY *k);

#endif
