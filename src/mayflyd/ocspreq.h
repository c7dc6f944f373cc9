/*
 * ocspreq.h: reading an OCSP request (RFC 6960 4.1) down to the one thing
 * the responder needs: which issuer, which hash, which serial.
 *
 * Choices, documented in mayflyd(8):
 *  - A request must hold exactly one CertID (RFC 5019 2.1.1). Requests with
 *    several are answered malformedRequest: a pre-signed response covers
 *    one certificate, and splitting the answer would need on-line signing
 *    that an attacker could drive at will.
 *  - Nonces and other request extensions are ignored (RFC 5019 2.1.2 lets
 *    a responder do so); the answer carries no nonce. Signed requests are
 *    accepted but the signature is not checked (we never require one).
 *  - CertIDs with SHA-1 and SHA-256 are served; any other hash is answered
 *    unauthorized, as is a serial longer than 20 octets or not positive
 *    (RFC 5280 4.1.2.2: we never issue those).
 */
#ifndef MFD_OCSPREQ_H
#define MFD_OCSPREQ_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define MFD_ALG_SHA1	1
#define MFD_ALG_SHA256	2

/* Upper bound on an OCSP request we read (POST body or decoded GET). */
#define MFD_OCSP_REQ_MAX	8192

struct mfd_certid {
	int alg;			/* MFD_ALG_* */
	unsigned char name_hash[32];
	unsigned char key_hash[32];
	size_t hlen;			/* 20 or 32 */
	unsigned char serial[20];	/* magnitude, big-endian, no leading zero */
	size_t serial_len;
};

/*
 * Parses DER. 0 and *out on success; MF_ERR_OCSP_MALFORMED for bad or
 * trailing DER, no or several CertIDs, hash lengths that do not fit the
 * algorithm; MF_ERR_OCSP_UNAUTHORIZED for a hash or serial we never serve.
 */
int mfd_ocsp_req_parse(const unsigned char *der, size_t len, struct mfd_certid *out);

/* An issuer the responder answers for, as seen in CertIDs. */
struct mfd_issuer_id {
	unsigned char sha1_name[20], sha1_key[20];
	unsigned char sha256_name[32], sha256_key[32];
};

/* Computes the CertID hashes of a CA certificate. */
int mfd_issuer_id_of(X509 *ca, struct mfd_issuer_id *out);

/*
 * Index of the issuer in ids[0..n) that id names, or -1. Cross-signed
 * forms of an intermediate have the same subject and key, so they match
 * the same entry.
 */
int mfd_issuer_find(const struct mfd_issuer_id *ids, size_t n, const struct mfd_certid *id);

/* The static, unsigned error responses (RFC 6960 4.2.1). */
extern const unsigned char mfd_ocsp_malformed[5];
extern const unsigned char mfd_ocsp_internal[5];
extern const unsigned char mfd_ocsp_trylater[5];
extern const unsigned char mfd_ocsp_unauthorized[5];

/*
 * DER of the minimal request for one CertID (no nonce, no requestor): the
 * request nginx and OpenSSL send, whose base64 names the export file.
 * Caller frees *der with OPENSSL_free.
 */
int mfd_ocsp_req_encode(const struct mfd_certid *id, unsigned char **der, size_t *len);

#endif
