/*
 * issuer.h: turns an approved request into a signed, logged leaf.
 *
 * The issuer holds the active intermediate's certificate, its key (a
 * keystore handle) and the chains up to every root. mf_issuer_issue()
 * draws a 128-bit serial from the CSPRNG, builds an X.509 v3 leaf (notBefore
 * backdated by the configured amount, at most 5 minutes; SAN from the
 * approved names; KU digitalSignature, + keyEncipherment for RSA; EKU per
 * profile; basicConstraints CA:FALSE critical; SKI; AKI; AIA with the OCSP
 * and caIssuers URLs; CRL distribution point; the RFC 7633 TLS feature if the
 * profile wants must-staple), re-checks the lifetime against the hard cap,
 * signs it, and commits the record to the database. Only then does it hand
 * the certificate back: no certificate leaves the CA unlogged.
 */
#ifndef MF_ISSUER_H
#define MF_ISSUER_H

#include <openssl/x509.h>

#include "config.h"
#include "db.h"
#include "keystore.h"
#include "policy.h"

struct mf_issuer;

/*
 * Loads the intermediate named ca_name (NULL: the active one) from cfg: its
 * certificate, cross-signed forms and key (through ks, borrowed for the
 * issuer's life). MF_ERR_CA_MISMATCH if key and certificate differ. With
 * ks NULL only the certificates are loaded: such an issuer serves
 * mf_issuer_cert() and mf_issuer_chain_pem() but cannot sign.
 */
int mf_issuer_new(const struct mf_config *cfg, struct mf_keystore *ks, const char *ca_name,
    struct mf_issuer **out);
/* The same, naming in why (when not NULL) the file or setting that failed. */
int mf_issuer_new_why(const struct mf_config *cfg, struct mf_keystore *ks, const char *ca_name,
    struct mf_issuer **out, char *why, size_t whylen);
void mf_issuer_free(struct mf_issuer *is);

/*
 * Issues a leaf for a, logs it in db and returns it (caller frees *out).
 * now is the issuance time (unix seconds; pass time(NULL)).
 *
 * Codes: MF_ERR_LIFETIME_CAP / MF_ERR_LIFETIME_INVALID if a's lifetime is
 * out of bounds (re-checked here), MF_ERR_CA_EXPIRED if the intermediate is
 * not valid at now or ends before the leaf would, MF_ERR_NAME_POLICY if a
 * name violates the nameConstraints of the intermediate or of a root it
 * chains to (so no leaf goes out that relying parties must reject),
 * MF_ERR_SIGN if signing fails or the signature does not verify,
 * MF_ERR_SERIAL_DUP after three serial collisions, MF_ERR_CA_REVOKED if
 * the intermediate's certificate was revoked (`mayfly intermediate
 * revoke`), or any code of mf_db_cert_insert(). On error *out is NULL and nothing was handed out.
 * If the caller holds an open transaction (mf_db_begin, for group commit),
 * the record is durable only once mf_db_commit() returns 0: do not send
 * the certificate before that.
 * The leaf's SubjectPublicKeyInfo is a's spki copied byte for byte (no
 * EVP_PKEY round trip, which OpenSSL 3.0 makes the costliest step): in the
 * returned X509 the key is not decoded, so X509_get0_pubkey(*out) is NULL.
 * Use a->pubkey, or re-parse the DER, if the key itself is needed.
 */
int mf_issuer_issue(struct mf_issuer *is, struct mf_db *db, const struct mf_approved *a,
    int64_t now, X509 **out);

/*
 * The two halves of mf_issuer_issue(), for a caller that serialises
 * database access: mf_issuer_sign() needs no database, so it can run
 * outside the caller's database lock (concurrently for one issuer with a
 * file key; with a PKCS#11 key only as far as libp11's session handling
 * allows: serialise the signing per issuer unless that is verified). It
 * applies every check of mf_issuer_issue() and returns the signed leaf in
 * *out, which must not be handed out yet. mf_issuer_log() then records x (signed for a) in db with
 * the same codes as mf_issuer_issue(); only when it returns 0 (and, inside
 * an open transaction, mf_db_commit() too) may x be sent. On
 * MF_ERR_SERIAL_DUP the caller drops x and signs again (mf_issuer_issue()
 * tries three times).
 */
int mf_issuer_sign(struct mf_issuer *is, const struct mf_approved *a, int64_t now, X509 **out);
int mf_issuer_log(struct mf_issuer *is, struct mf_db *db, const struct mf_approved *a, X509 *x,
    int64_t now);

/*
 * MF_ERR_CA_REVOKED if the log records the issuer's certificate as revoked
 * (`mayfly intermediate revoke`), else 0 or a database error.
 * mf_issuer_log() asks it before every record.
 */
int mf_issuer_revoked(const struct mf_issuer *is, struct mf_db *db);

/* Borrowed: the intermediate certificate and its name. */
X509 *mf_issuer_cert(const struct mf_issuer *is);
const char *mf_issuer_name(const struct mf_issuer *is);
/* Borrowed: the intermediate's key handle (for OCSP and CRL signing). */
EVP_PKEY *mf_issuer_key(const struct mf_issuer *is);

/*
 * PEM of the chain to send with a leaf: the intermediate as signed by the
 * given root (NULL: the primary root). Caller frees. The root is not included.
 */
int mf_issuer_chain_pem(const struct mf_issuer *is, const char *root, char **pem);

/*
 * Reads the first certificate of a PEM file (a CA's, as the config names
 * them): MF_ERR_CA_NOTFOUND if the file is missing, MF_ERR_IO if unreadable,
 * MF_ERR_CRYPTO if it holds no certificate. Caller frees *out.
 */
int mf_cert_load(const char *path, X509 **out);
/*
 * The same from memory: the first PEM certificate of buf (at most
 * MF_CERT_FILE_MAX bytes, else MF_ERR_INVAL), MF_ERR_CRYPTO if there is
 * none. Caller frees *out.
 */
int mf_cert_parse(const unsigned char *buf, size_t len, X509 **out);

/*
 * Reads an archive of `mayfly db prune --archive` from b: PEM certificates
 * one after another. For each, each() gets its serial (lower-case hex, as
 * the log keeps it) and the SHA-256 of its DER, and may end the walk by
 * returning an error (with why filled in), which is returned. *n counts
 * the certificates each() accepted. MF_OK at the end of b; MF_ERR_CRYPTO,
 * with why, at anything that is not a PEM certificate or does not encode.
 */
int mf_cert_archive_read(BIO *b, int (*each)(void *arg, const char *serial,
    const unsigned char md[32], char *why, size_t whylen), void *arg, int64_t *n,
    char *why, size_t whylen);

/*
 * SHA-256 of the certificate's SubjectPublicKeyInfo, as it stands in der
 * (what `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER |
 * openssl dgst -sha256` prints): the name of a key for `mayfly revoke
 * --key`. Walks the DER to the field without decoding the key or the rest
 * of the certificate. MF_ERR_CRYPTO if der is not a certificate.
 */
int mf_cert_spki_sha256(const unsigned char *der, size_t len, unsigned char out[32]);

/* Serial as lower-case hex, the form used as key in the database. */
int mf_serial_hex(const ASN1_INTEGER *serial, char *out, size_t outlen);

#endif
