/*
 * bundle.h: trust bundles on the CA's side: building, reading and signing
 * the DER objects of mayfly-bundle(5).
 *
 * A bundle is made unsigned (`mayfly bundle create`), then gains one
 * signature per ceremony step (`mayfly bundle sign`), each with one root's
 * key, possibly in another token on another day. Only the device library
 * decides whether a bundle would be accepted (cli_bundle.c asks it); this
 * module never judges signatures, it only writes and reads them.
 *
 * An unsigned bundle carries an empty signatures SEQUENCE. The format
 * requires at least one signature, so devices refuse such a file as
 * malformed: it exists only between create and the first sign.
 */
#ifndef MF_BUNDLE_H
#define MF_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MF_BUNDLE_MAX_ROOTS	8	/* as MFV_MAX_ROOTS on devices */
#define MF_BUNDLE_MAX_THRESHOLD	8
#define MF_BUNDLE_MAX_SIGS	16
#define MF_BUNDLE_MAX_LEN	(256 * 1024)	/* any file longer is not a bundle */

struct mf_bundle_sig {
	unsigned char *cert;		/* signer certificate, DER */
	size_t cert_len;
	unsigned char *alg;		/* AlgorithmIdentifier, DER */
	size_t alg_len;
	unsigned char *sig;		/* signature octets (BIT STRING contents after the pad byte) */
	size_t sig_len;
};

struct mf_bundle {
	uint32_t version;
	uint32_t threshold;		/* signatures the NEXT version needs */
	int64_t issued_at;		/* unix seconds */
	int64_t not_after;		/* 0: none */
	unsigned char roots[MF_BUNDLE_MAX_ROOTS][32];
	size_t nroots;
	unsigned char *tbs;		/* DER of TBSTrustBundle: what is signed */
	size_t tbs_len;
	struct mf_bundle_sig sigs[MF_BUNDLE_MAX_SIGS];
	size_t nsigs;
};

/*
 * A new unsigned bundle. MF_ERR_INVAL for version 0 or above 2^31-1, no
 * roots or more than MF_BUNDLE_MAX_ROOTS, the same root twice, a threshold
 * of 0 or above the number of roots, or a not_after (0: none) not after
 * issued_at. Caller frees *out with mf_bundle_free.
 */
int mf_bundle_new(uint32_t version, int64_t issued_at, int64_t not_after, uint32_t threshold,
    const unsigned char (*roots)[32], size_t nroots, struct mf_bundle **out);

/*
 * Reads a bundle, signed or not. Strict DER of the shape mayfly-bundle(5)
 * gives, else MF_ERR_BUNDLE_MALFORMED. Copies what it keeps; caller frees.
 */
int mf_bundle_parse(const unsigned char *der, size_t len, struct mf_bundle **out);

/* Encodes b (with its signatures) as DER into *der; caller frees. */
int mf_bundle_encode(const struct mf_bundle *b, unsigned char **der, size_t *len);

/*
 * Adds a signature over b->tbs by key, with cert as the signer (the
 * caller has checked that they match). MF_ERR_BUNDLE_SIGNED if a signature
 * by this certificate is there already, MF_ERR_INVAL past
 * MF_BUNDLE_MAX_SIGS, MF_ERR_SIGN if the key (token) fails.
 */
int mf_bundle_sign(struct mf_bundle *b, X509 *cert, EVP_PKEY *key);

void mf_bundle_free(struct mf_bundle *b);	/* NULL ok */

/* The pin of a root: SHA-256 of its certificate's DER. */
int mf_bundle_pin_cert(X509 *cert, unsigned char pin[32]);

/* 1 if pin is the SHA-256 of cert's DER or of its SubjectPublicKeyInfo. */
int mf_bundle_pin_matches(X509 *cert, const unsigned char pin[32]);

#endif
