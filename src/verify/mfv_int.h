/*
 * mfv_int.h - internal interfaces of libmayfly-verify (not installed).
 *
 * Functions here use the prefix mfvi_ so that the shared library can export
 * only the public mfv_ names.
 */
#ifndef MFV_INT_H
#define MFV_INT_H

#include <stddef.h>
#include <stdint.h>
#include "mayfly_verify.h"
#include "mfv_backend.h"

/* ---- strict DER reader (der.c) ---------------------------------------- */

/* A cursor over the unread part of a DER value. */
struct mfvi_der {
	const uint8_t *p;
	size_t len;
};

#define MFVI_BOOLEAN 0x01
#define MFVI_INTEGER 0x02
#define MFVI_BIT_STRING 0x03
#define MFVI_OCTET_STRING 0x04
#define MFVI_NULL 0x05
#define MFVI_OID 0x06
#define MFVI_ENUMERATED 0x0a
#define MFVI_UTCTIME 0x17
#define MFVI_GENTIME 0x18
#define MFVI_SEQUENCE 0x30
#define MFVI_SET 0x31
#define MFVI_CTX(n) (0x80 | (n))      /* [n] IMPLICIT, primitive */
#define MFVI_CTXC(n) (0xa0 | (n))     /* [n] constructed / EXPLICIT */

/* Read the next TLV, which must have tag `tag`; *val gets its contents and,
 * if tlv is not NULL, *tlv the whole TLV.  Fails closed on every DER
 * violation (see der.c). */
int mfvi_der_get_tlv(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val, struct mfvi_der *tlv);
/* Read the next TLV whatever its tag: *tag gets the tag, *val the
 * contents. */
int mfvi_der_any(struct mfvi_der *r, int *tag, struct mfvi_der *val);
/* The same without the TLV (the common case, one argument less at every
 * call site). */
int mfvi_der_get(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val);
/* Read n consecutive TLVs with tags tags[0..n) into val[] (and tlv[] if
 * not NULL).  A tag 0 means "and here r must end" (nothing is stored). */
int mfvi_der_seq(struct mfvi_der *r, const uint8_t *tags, size_t n, struct mfvi_der *val,
                 struct mfvi_der *tlv);
/* r must hold exactly one TLV, with tag `tag`: *r becomes its contents. */
int mfvi_der_sole(struct mfvi_der *r, uint8_t tag);
/* Tag of the next TLV, or -1 at the end. */
int mfvi_der_peek(const struct mfvi_der *r);
/* If the next tag is `tag`, read it (as mfvi_der_get) and return 1; if
 * not, return 0; on a DER error return it. */
int mfvi_der_opt(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val);
/* MFV_ERR_DER_TRAILING unless r is exhausted. */
int mfvi_der_end(const struct mfvi_der *r);
/* An INTEGER's contents: minimal, non-negative, at most 31 bits. */
int mfvi_der_small_uint(const struct mfvi_der *v, uint32_t *out);
/* Check that an INTEGER's contents are minimally encoded. */
int mfvi_der_int_minimal(const struct mfvi_der *v);
/* An optional BOOLEAN DEFAULT FALSE: 0 if absent, 1 if present (then it
 * must be TRUE, 0xFF), or an error. */
int mfvi_der_opt_true(struct mfvi_der *r);
/* BIT STRING contents with zero unused bits: *out gets the octets. */
int mfvi_der_bits_octets(const struct mfvi_der *v, struct mfvi_der *out);
/* A UTCTime or GeneralizedTime TLV (tag given) into seconds since 1970. */
int mfvi_der_time(uint8_t tag, const struct mfvi_der *v, int64_t *out);
/* Read a UTCTime or GeneralizedTime from r. */
int mfvi_der_get_time(struct mfvi_der *r, int64_t *out);
/* Read a Name TLV into *out after a shallow structural check (SEQUENCE OF
 * SET OF SEQUENCE {OID, ANY}).  If cn is not NULL, *cn (cleared by the
 * caller) gets the contents of its commonName value; a second commonName
 * is MFV_ERR_PROFILE. */
int mfvi_der_name(struct mfvi_der *r, struct mfv_span *out, struct mfv_span *cn);

int mfvi_span_eq(const struct mfv_span *a, const struct mfv_span *b);
int mfvi_oid_is(const struct mfvi_der *oid, const uint8_t *want, size_t want_len);
#define MFVI_OID_IS(o, arr) mfvi_oid_is((o), (arr), sizeof(arr))

/* Constant-time comparison of n octets: 1 if equal.  Every comparison of a
 * digest (pins, OCSP CertID) goes through here. */
int mfvi_ct_eq(const uint8_t *a, const uint8_t *b, size_t n);

/* ---- algorithms (alg.c) --------------------------------------------------- */

/* Order matters: alg.c takes SHA-256 for odd and SHA-384 for even values,
 * and ranges for the ECDSA and RSA families. */
enum {
	MFVI_SIG_NONE = 0,
	MFVI_SIG_ECDSA_SHA256,
	MFVI_SIG_ECDSA_SHA384,
	MFVI_SIG_RSA_SHA256,
	MFVI_SIG_RSA_SHA384,
	MFVI_SIG_PSS_SHA256,
	MFVI_SIG_PSS_SHA384,
	MFVI_SIG_ED25519
};

/* Parse a signature AlgorithmIdentifier's contents. */
int mfvi_sig_alg(const struct mfvi_der *algid, uint8_t *alg, uint16_t *salt);
/* Parse a SubjectPublicKeyInfo's contents into the certificate fields. */
int mfvi_spki(const struct mfvi_der *spki, struct mfv_cert *c);
/* Check sig over msg with the key of `signer` using algorithm alg/salt. */
int mfvi_sig_check(const struct mfv_cert *signer, uint8_t alg, uint16_t salt,
                   const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

/* ---- certificates (x509.c) ----------------------------------------------- */

#define MFVI_C_CA 0x01          /* basicConstraints cA TRUE */
#define MFVI_C_HAS_KU 0x02
#define MFVI_C_HAS_EKU 0x04
#define MFVI_C_MUST_STAPLE 0x08
#define MFVI_C_SELF_ISSUED 0x10 /* issuer == subject */

#define MFVI_EKU_SERVER 0x01
#define MFVI_EKU_CLIENT 0x02
#define MFVI_EKU_OCSP 0x04
#define MFVI_EKU_ANY 0x08

/* keyUsage, first octet of the BIT STRING (bit 0 is the MSB). */
#define MFVI_KU_DIGITAL_SIGNATURE 0x80
#define MFVI_KU_KEY_ENCIPHERMENT 0x20
#define MFVI_KU_KEY_CERT_SIGN 0x04

int mfvi_cert_parse(struct mfv_cert *c, const uint8_t *der, size_t len);
/* Check that `issuer` signed `c`. */
int mfvi_cert_check_sig(const struct mfv_cert *c, const struct mfv_cert *issuer);
void mfvi_cert_pubkey(const struct mfv_cert *c, struct mfv_pubkey *k);

/* ---- names (name.c) ------------------------------------------------------- */

/* 0 if the leaf's subjectAltName holds host (a dNSName, RFC 6125 rules)
 * or ip (an iPAddress), else MFV_ERR_NAME_MISMATCH.  With exact set, host
 * must equal a dNSName octet for octet (no case folding, no wildcard). */
int mfvi_name_match(const struct mfv_cert *leaf, const char *host, size_t host_len,
                    const uint8_t *ip, size_t ip_len, int exact);

/* ---- OCSP (ocsp.c) ------------------------------------------------------------ */

/* Verify a stapled OCSP response for leaf issued by issuer.  *produced and
 * *this_update get the verified times (for the LKGT). */
int mfvi_ocsp_check(const struct mfv_ctx *ctx, const struct mfv_cert *leaf,
                    const struct mfv_cert *issuer, const uint8_t *der, size_t len,
                    int64_t *produced, int64_t *this_update);

/* ---- trust bundles (bundle.c) -------------------------------------------- */

/* Check one bundle against the context's trust state and, if it passes,
 * make it the trust state (all or nothing).  last: it is the newest bundle
 * the caller has, so its expiry applies. */
int mfvi_bundle_step(struct mfv_ctx *ctx, const uint8_t *der, size_t len, int last);

/* ---- context state bits ------------------------------------------------------- */

#define MFVI_HAVE_TIME 0x01u

/* Time checks shared by the chain and OCSP code: is t_lo <= now <= t_hi,
 * given the context's clock, skew and LKGT?  Returns 0, or `early` / `late`. */
int mfvi_time_window(const struct mfv_ctx *ctx, int64_t t_lo, int64_t t_hi, int early, int late);

#endif /* MFV_INT_H */
