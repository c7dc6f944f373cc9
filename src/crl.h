/*
 * crl.h: certificate revocation lists (RFC 5280 section 5), built and
 * signed in one call. Used by mayflyd's signer for the intermediates'
 * CRLs and by `mayfly crl root` for a root's offline CRL.
 */
#ifndef MF_CRL_H
#define MF_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct mf_crl_entry {
	unsigned char serial[20];	/* big-endian, without a sign octet */
	size_t serial_len;
	int64_t revoked_at;
	int reason;			/* 0 (unspecified) is left out, RFC 5280 5.3.1 */
};

/*
 * A v2 CRL of issuer signed by key with the given number, thisUpdate = now
 * and nextUpdate = now + validity, AKI (keyid) and cRLNumber, entries
 * sorted by serial with their reason codes. *der is malloc'ed (caller
 * frees). 0, MF_ERR_SIGN if the key would not sign, MF_ERR_CRYPTO or
 * MF_ERR_NOMEM.
 */
int mf_crl_build(X509 *issuer, EVP_PKEY *key, const struct mf_crl_entry *e, size_t n,
    uint64_t number, int64_t now, int64_t validity, unsigned char **der, size_t *len);

#endif
