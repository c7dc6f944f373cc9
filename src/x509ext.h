/*
 * x509ext.h: building the X.509 v3 extensions of mayfly's certificates.
 *
 * Each mf_ext_add_* adds one extension to x (refusing a second one of the
 * same kind) and returns 0, MF_ERR_NOMEM, MF_ERR_CRYPTO or MF_ERR_INVAL.
 * Nothing is taken over: arguments stay the caller's.
 */
#ifndef MF_X509EXT_H
#define MF_X509EXT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "policy.h"

/* Adds an extension from its OpenSSL structure (X509_add1_ext_i2d). */
int mf_ext_add(X509 *x, int nid, void *val, int crit);

/*
 * Adds an extension written in OpenSSL's configuration syntax (e.g.
 * "keyid:always") to cert, or to crl when crl is not NULL, with issuer as
 * the issuing certificate. 1 on success, 0 on failure (OpenSSL's errors
 * queued).
 */
int mf_ext_conf(X509 *cert, X509 *issuer, X509_CRL *crl, int nid, const char *value);

/* An INTEGER from big-endian magnitude bytes (a serial); NULL on failure. */
ASN1_INTEGER *mf_asn1_int_from_bytes(const unsigned char *b, size_t n);

/* basicConstraints, critical: CA:TRUE with pathLen (pathlen >= 0), or CA:FALSE. */
int mf_ext_add_bc(X509 *x, int ca, int pathlen);

/* keyUsage, critical, with the given bits (RFC 5280 4.2.1.3: 0 digitalSignature ... 6 cRLSign). */
int mf_ext_add_ku(X509 *x, const int *bits, size_t nbits);

/*
 * Adds the subjectKeyIdentifier (SHA-1 of x's public key bits, RFC 5280
 * 4.2.1.2 method 1) and, if issuer is set, an authorityKeyIdentifier with the
 * issuer's SKI (or, if it has none, the same hash of its key).
 */
int mf_ext_add_keyids(X509 *x, X509 *issuer);

/*
 * Adds AIA (OCSP = base/ocsp if with_ocsp; caIssuers = base/ca/<name>.der)
 * and CRLDP (base/crl/<name>.crl) for the CA called name. A trailing '/' of
 * base is ignored. MF_ERR_INVAL if name holds characters other than
 * letters, digits, '.', '_' and '-' (it becomes part of a URL).
 */
int mf_ext_add_ca_urls(X509 *x, const char *base, const char *name, int with_ocsp);

/* nameConstraints, critical (RFC 5280 4.2.1.10), permitted DNS subtrees only. */
int mf_ext_add_nc(X509 *x, const char **dns, size_t n);

/* subjectAltName from validated names (DNS and IP), in order. */
int mf_ext_add_san(X509 *x, const struct mf_name *names, size_t n, int crit);

/* extKeyUsage from MF_EKU_* bits; no bits at all means serverAuth. */
int mf_ext_add_eku(X509 *x, unsigned eku);

/* RFC 7633 TLS feature status_request ("must-staple"): SEQUENCE { INTEGER 5 }. */
int mf_ext_add_must_staple(X509 *x);

/* An ASN1_TIME as unix seconds; MF_ERR_CRYPTO if it does not parse. */
int mf_time_unix(const ASN1_TIME *t, int64_t *out);

#endif
