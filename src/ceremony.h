/*
 * ceremony.h: making CA certificates: self-signed roots, backup roots,
 * issuing intermediates and their cross-signed twins.
 *
 * These functions only build and sign; the CLI generates keys through the
 * keystore, writes files and records each certificate in the database
 * (mf_db_ca_insert) with a "ceremony" audit row.
 */
#ifndef MF_CEREMONY_H
#define MF_CEREMONY_H

#include <stdint.h>

#include <openssl/x509.h>

#include "config.h"

struct mf_ca_params {
	const char *subject;		/* e.g. "CN=Example Root A,O=Example" (comma-separated RDNs) */
	const X509_NAME *subject_name;	/* if set, used as is instead of subject (cross-signing
					 * must repeat the first certificate's subject exactly) */
	int64_t not_before;		/* unix seconds */
	int64_t lifetime;		/* seconds */
	int pathlen;			/* -1: none; 0 for issuing intermediates */
	const char **permitted_dns;	/* optional name constraints (roots) */
	size_t npermitted_dns;
	const char *url_base;		/* for AIA caIssuers and CRLDP of intermediates; NULL: none */
	const char *issuer_name;	/* config name of the signing CA, used in those URLs */
};

/*
 * Self-signed root: CA:TRUE critical, KU keyCertSign|cRLSign critical, SKI,
 * random 128-bit serial, optional permitted DNS name constraints (critical).
 */
int mf_ceremony_root(EVP_PKEY *key, const struct mf_ca_params *p, X509 **out);

/*
 * Intermediate for subject_key (public part used) signed by issuer_cert /
 * issuer_key: CA:TRUE critical with pathlen, KU keyCertSign|cRLSign
 * critical, SKI, AKI, AIA caIssuers and CRLDP under url_base. Used both for
 * the first certificate of an intermediate and for its cross-signed twin
 * (same subject and key, another root). The lifetime is clipped to the
 * issuer's notAfter.
 */
int mf_ceremony_intermediate(X509 *issuer_cert, EVP_PKEY *issuer_key, EVP_PKEY *subject_key,
    const struct mf_ca_params *p, X509 **out);

/* Parses "CN=x,O=y" into an X509_NAME; MF_ERR_INVAL. Caller frees. */
int mf_name_parse(const char *s, X509_NAME **out);

/*
 * Helpers shared by the ceremony and the issuer (added beyond the first
 * contract; nothing else needs them).
 *
 * mf_serial_new: a fresh serial: 16 bytes from the CSPRNG, top bit cleared
 * (positive) and a non-zero first octet, so the DER is always 16 content
 * octets and >= 120 bits of it are random. Caller frees with
 * ASN1_INTEGER_free.
 */
int mf_serial_new(ASN1_INTEGER **out);

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

/* Chooses the digest that goes with a signing key (SHA-256 for P-256/RSA, SHA-384 for P-384, none for Ed25519). */
const EVP_MD *mf_sign_md(EVP_PKEY *key);

#endif
