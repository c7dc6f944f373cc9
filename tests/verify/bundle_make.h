/*
 * bundle_make.h - build and sign mayfly trust bundles (mayfly-bundle(5))
 * with OpenSSL, for tests and the mfv-mkbundle tool.  Not part of the
 * device library: devices only verify bundles.
 */
#ifndef MFV_BUNDLE_MAKE_H
#define MFV_BUNDLE_MAKE_H

#include <stddef.h>
#include <stdint.h>

struct mkb_spec {
	uint32_t version;
	int64_t issued_at;
	int64_t not_after;          /* 0: no expiry */
	uint32_t threshold;
	const uint8_t (*roots)[32]; /* the pins the bundle lists */
	size_t n_roots;
	const char **signer_certs;  /* PEM files: root certificate of each signer */
	const char **signer_keys;   /* PEM files: its private key */
	size_t n_signers;
};

/* Encode and sign; *out is malloc()ed, the caller frees it.  Returns 0 or
 * -1 (OpenSSL or I/O failure). */
int mkb_make(const struct mkb_spec *spec, unsigned char **out, size_t *out_len);

/* SHA-256 of the DER certificate in a PEM file (spki = 0), or of its
 * SubjectPublicKeyInfo (spki = 1).  Returns 0 or -1. */
int mkb_pin(const char *pem, int spki, uint8_t out[32]);

#endif
