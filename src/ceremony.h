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
 * mf_serial_new (shared with the issuer): a fresh serial of 16 bytes from
 * the CSPRNG with the first octet in 0x10..0x7f: positive, always 16 DER
 * content octets, never a leading zero hex digit (so "%02x" hex, openssl's
 * hex and hex with leading zeros trimmed all agree), ~127 random bits.
 * Caller frees with ASN1_INTEGER_free.
 */
int mf_serial_new(ASN1_INTEGER **out);

/* Chooses the digest that goes with a signing key (SHA-256 for P-256/RSA, SHA-384 for P-384, none for Ed25519). */
const EVP_MD *mf_sign_md(EVP_PKEY *key);

#endif
