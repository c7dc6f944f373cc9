/* mfdt.h: the Check suites of check_mayflyd and helpers they share. */
#ifndef MFDT_H
#define MFDT_H

#include <check.h>
#include <stddef.h>

Suite *suite_mfd_unit(void);

/*
 * Makes a small PKI with the openssl CLI in dir: ca.pem/ca.key (EC P-256),
 * leaf.pem issued by it, other.pem/other.key (another CA), and the OCSP
 * requests req-sha1.der, req-sha256.der (no nonce), req-nonce.der and
 * req-two.der (two CertIDs). Returns 0 or -1.
 */
int mfdt_pki(const char *dir);

/* Reads dir/name into a new buffer; caller frees. */
unsigned char *mfdt_read(const char *dir, const char *name, size_t *len);

#endif
