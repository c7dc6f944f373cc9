/*
 * mayfly_verify.h - libmayfly-verify, the device-side X.509 verifier.
 *
 * A small, allocation-free verifier for the short-lived server certificates
 * that a mayfly CA issues.  It is meant for firmware: C99, no malloc, no
 * global state, no printing, every byte of state in caller-owned structs
 * whose sizes are fixed by the MFV_MAX_* macros below.  Cryptography goes
 * through the backend interface in mfv_backend.h (OpenSSL on hosts, mbedTLS
 * or anything else on devices); the core contains no cryptographic code.
 *
 * WHAT IT CHECKS
 *  - Strict DER: definite minimal lengths, single-byte tags, no trailing
 *    bytes at any level, DEFAULT values absent, BOOLEANs 0x00/0xFF,
 *    minimal INTEGERs, serial numbers positive and at most 20 octets,
 *    BIT STRINGs with zero padding.  Anything else is refused.
 *  - X.509 v3 only.  The inner and outer signature algorithms must be equal.
 *  - Signatures: ECDSA P-256 and P-384 with SHA-256 or SHA-384, RSA PKCS#1
 *    v1.5 and RSASSA-PSS (SHA-256/384, MGF1 with the same hash, trailer 1)
 *    with 2048..4096-bit moduli, Ed25519.  Nothing else (no SHA-1, no DSA).
 *  - Path: the leaf is followed by issuer certificates taken from the
 *    certificates given (in any order), matching issuer name to subject
 *    name byte for byte and checking each signature, until a certificate
 *    whose SHA-256 (of the whole DER certificate, or of its
 *    SubjectPublicKeyInfo) is in the trust store.  The leaf itself is never
 *    a trust anchor.  At most MFV_MAX_PATH certificates, anchor included;
 *    the search backtracks (cross-signed intermediates) but gives up with
 *    MFV_ERR_TOO_MANY after MFV_MAX_SIG_CHECKS signature checks.
 *  - Validity of every certificate in the path against the given time,
 *    with a configurable clock skew; a clock behind the last-known-good
 *    time is taken to be wrong and the LKGT is used instead.  Without a
 *    clock, against the LKGT only (see below); with neither, only the
 *    lifetime cap applies.
 *  - Lifetime cap: notAfter - notBefore of the leaf must not exceed the
 *    configured maximum.  This is checked even when the time is unknown:
 *    it is what bounds the damage of a stolen leaf key on a device whose
 *    clock cannot be trusted.
 *  - basicConstraints: every issuer must be a CA (cA TRUE) and its
 *    pathLenConstraint must hold; the leaf must not be a CA.
 *  - keyUsage: if present, keyCertSign on issuers, digitalSignature on the
 *    leaf (or keyEncipherment for RSA leaves).
 *  - extendedKeyUsage: the leaf MUST carry id-kp-serverAuth (id-kp-clientAuth
 *    with MFV_FLAG_CLIENT_AUTH); an issuer that carries the extension must
 *    list the same purpose or anyExtendedKeyUsage.
 *  - Host name against subjectAltName dNSName entries, with RFC 6125
 *    wildcards restricted to a whole left-most label ("*.example.com"
 *    matches "a.example.com", never "example.com" or "a.b.example.com"),
 *    and at least two labels after the wildcard.  IP addresses against
 *    iPAddress entries.  The subject common name is NEVER used for
 *    matching (but see the profile rules).
 *  - Critical extensions: any critical extension it does not process is
 *    refused.  Name constraints are refused whether critical or not,
 *    because they are not implemented.
 *  - Profile rules of RFC 5280 and the CA/Browser Forum Baseline
 *    Requirements, each a few bytes (MFV_ERR_PROFILE unless said):
 *    a server leaf's commonName, if any, equals one of its dNSNames octet
 *    for octet (so an IP address or another case is refused); at most one
 *    commonName; every certificate but a self-issued one has an
 *    authorityKeyIdentifier, and every one that has it carries only a
 *    keyIdentifier; a pinned self-issued anchor's keyIdentifier, if any,
 *    is its own subjectKeyIdentifier; every CA has a
 *    subjectKeyIdentifier, a non-empty subject and a critical
 *    basicConstraints; the subjectAltName is critical exactly when the
 *    subject is empty; dNSNames hold only letters, digits, '-', '.' and
 *    '*'; authorityInfoAccess is well formed; policyConstraints are
 *    refused (critical: not processed; non-critical: not allowed);
 *    keyCertSign only with cA TRUE (MFV_ERR_KEY_USAGE); no EKU on a
 *    self-issued CA, no critical EKU and no anyExtendedKeyUsage on a
 *    non-CA (MFV_ERR_EKU); serial number zero outside self-issued
 *    certificates (MFV_ERR_BAD_SERIAL); RSA moduli a multiple of 8 bits
 *    (MFV_ERR_WEAK_KEY).
 *  - Stapled OCSP (RFC 6960, mfv_verify()): BasicOCSPResponse signed by the
 *    issuer or by a responder certificate issued by the issuer carrying
 *    id-kp-OCSPSigning; CertID with SHA-1 or SHA-256; thisUpdate <= now <=
 *    nextUpdate with skew (a response without nextUpdate is stale); status
 *    good.  A leaf with the RFC 7633 TLS feature status_request
 *    ("must-staple") is refused without a valid staple.
 *  - Trust bundles (mfv_bundle_apply(), mfv_bundle_apply_since()):
 *    strictly increasing versions, each signed by a threshold of the roots
 *    pinned by the previous version.
 *
 * WHAT IT DOES NOT CHECK (important caveats)
 *  - No CRLs, no OCSP fetching, no revocation of intermediates (a staple
 *    covers the leaf only).
 *  - Names are compared as raw DER; two encodings of the same name do not
 *    match (RFC 5280 7.1 comparison rules are not implemented).
 *  - No certificate policies, policy constraints or name constraints (both
 *    refused), AIA chasing, or SCT checks.
 *  - No public-suffix list: a wildcard over a public suffix ("*.co.uk")
 *    is accepted when no commonName gives it away (libmayfly-verify(3)
 *    says why).  A self-issued root's serial may be zero.  A client
 *    certificate's commonName (MFV_FLAG_CLIENT_AUTH) is not compared.
 *  - The authorityKeyIdentifier is not matched against the issuer's
 *    subjectKeyIdentifier: paths are built by name and signature.
 *  - Validity of the trust anchor and its basicConstraints are checked when
 *    its certificate is part of the path, but its own signature is not:
 *    the pin is the trust.
 *  - Duplicate extensions are detected only among the extensions it
 *    knows.  Certificates with (v2) unique identifiers are refused.
 *  - It does not check that the caller's clock is right.  A device that
 *    has none must use the last-known-good time described below.
 *  - No host name normalisation: IDNs must be given as A-labels; a single
 *    trailing dot is ignored.
 *  - If no host name or IP address is set, no name is checked at all and
 *    MFV_RES_NAME_UNCHECKED is reported.
 *  - The leaf's public key is not validated (on the curve, RSA modulus
 *    sanity beyond its size): the library never uses it; the TLS stack
 *    does, when it checks the handshake signature.
 *  - The contents of name strings (UTF8String, PrintableString, ...) are
 *    not validated: names are compared as bytes, never decoded.
 *
 * TIME WITHOUT A CLOCK: THE LAST-KNOWN-GOOD TIME (LKGT)
 *  The caller persists one number, the LKGT, and passes it in with
 *  mfv_set_lkgt().  After a successful verification, mfv_result.lkgt holds
 *  max(old LKGT, leaf notBefore, OCSP producedAt and thisUpdate): times
 *  taken only from data whose signature chained to a pinned root, so an
 *  attacker cannot move it forward without a CA key, and nobody can move
 *  it backward (the library never lowers it; the caller must store it only
 *  when it grows).  Since real time never goes backwards, the LKGT is a
 *  lower bound for "now".  Without a wall clock (mfv_set_time() not
 *  called), every certificate in the path whose notAfter is before the
 *  LKGT, and every OCSP response whose nextUpdate is before it, is refused;
 *  notBefore cannot be checked and MFV_RES_TIME_UNKNOWN is reported.
 *  Applying a trust bundle raises the LKGT to the bundle's issuedAt too.
 *  The security argument: a stolen 24-hour leaf key is useful to an
 *  attacker only until the device verifies any signed time later than the
 *  stolen certificate's notAfter (a leaf issued a day later, a fresh
 *  staple: daily in normal operation); from then on the LKGT is past that
 *  notAfter for ever.
 *  The lifetime cap is what makes this bound short: without it a device
 *  with no clock could be fed a certificate valid for years.  The cost is
 *  that a CA which post-dates notBefore can push devices' LKGT ahead and
 *  make them refuse valid certificates (denial of service, not forgery).
 *
 * MEMORY
 *  struct mfv_ctx holds the trust store, the policy and the scratch space
 *  for one verification (the parsed certificates); it may live in static
 *  storage.  Certificate and OCSP buffers are borrowed: the library keeps
 *  pointers into them in the context, valid only until the caller changes
 *  or frees those buffers, and never writes to them.  The stack use of a
 *  verification is bounded, about 1 KiB on a Cortex-M4 (`make size`), plus
 *  whatever the backend needs; the context is about 1.2 KiB there.  A context must not be used by two threads at once; separate
 *  contexts are independent.
 *
 * ERRORS
 *  Every function returns 0 (MFV_OK) or a negative enum mfv_err; each
 *  refusal has its own code.  mfv_errname() gives a stable identifier
 *  (the enum name), mfv_strerror() a description.
 */
#ifndef MAYFLY_VERIFY_H
#define MAYFLY_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ------------------------------------------------------------- */

/* Most certificates handed to one verification (leaf, intermediates the
 * server sent, anchors the caller added). */
#define MFV_MAX_CERTS 6
/* Longest path, leaf and trust anchor included. */
#define MFV_MAX_PATH 5
/* Largest certificate accepted, in bytes (an RSA-4096 certificate with a
 * few extensions is about 2 KiB). */
#define MFV_MAX_CERT_SIZE 4096
/* Largest stapled OCSP response accepted, in bytes. */
#define MFV_MAX_OCSP_SIZE 4096
/* Most pinned root hashes. */
#define MFV_MAX_ROOTS 8
/* Longest host name (RFC 1035 limit). */
#define MFV_MAX_HOST 253
/* Most signature checks one verification may spend (path building with
 * cross-signed intermediates may try several candidates). */
#define MFV_MAX_SIG_CHECKS 12

/* Most bundles one mfv_bundle_apply_since() call walks (skipped old
 * versions included). */
#define MFV_MAX_BUNDLES 32

#define MFV_HASH_LEN 32 /* SHA-256, the pin */

/* ---- errors ------------------------------------------------------------- */

enum mfv_err {
	MFV_OK = 0,
	MFV_ERR_INVALID_ARG = -1,          /* bad call: NULL, bad length */
	MFV_ERR_TOO_MANY = -2,             /* a MFV_MAX_* limit was hit */
	MFV_ERR_DER_TRUNCATED = -3,        /* a length runs past the end */
	MFV_ERR_DER_TRAILING = -4,         /* bytes after the end of a value */
	MFV_ERR_DER_LENGTH = -5,           /* non-minimal or indefinite length */
	MFV_ERR_DER_TAG = -6,              /* unexpected or multi-byte tag */
	MFV_ERR_DER_VALUE = -7,            /* malformed content (BOOLEAN, BIT STRING...) */
	MFV_ERR_BAD_INTEGER = -8,          /* non-minimal or out-of-range INTEGER */
	MFV_ERR_BAD_SERIAL = -9,           /* negative, empty or > 20-octet serial */
	MFV_ERR_BAD_TIME = -10,            /* malformed UTCTime/GeneralizedTime */
	MFV_ERR_BAD_VERSION = -11,         /* not an X.509 v3 certificate */
	MFV_ERR_CERT_TOO_LARGE = -12,      /* certificate above MFV_MAX_CERT_SIZE */
	MFV_ERR_UNSUPPORTED_ALG = -13,     /* signature or key algorithm not supported */
	MFV_ERR_SIG_ALG_MISMATCH = -14,    /* inner and outer algorithm differ, or key/alg mismatch */
	MFV_ERR_BAD_KEY = -15,             /* malformed public key */
	MFV_ERR_WEAK_KEY = -16,            /* RSA modulus outside 2048..4096 bits */
	MFV_ERR_BAD_SIGNATURE = -17,       /* a certificate signature does not verify */
	MFV_ERR_UNTRUSTED_ROOT = -18,      /* path ends in a self-issued cert not pinned */
	MFV_ERR_ISSUER_NOT_FOUND = -19,    /* path ends: no issuer among the certs given */
	MFV_ERR_EXPIRED = -20,             /* now (or the LKGT) is after notAfter */
	MFV_ERR_NOT_YET_VALID = -21,       /* now is before notBefore */
	MFV_ERR_LIFETIME_TOO_LONG = -22,   /* leaf notAfter - notBefore above the cap */
	MFV_ERR_NOT_CA = -23,              /* issuer lacks basicConstraints cA TRUE */
	MFV_ERR_PATH_LEN = -24,            /* pathLenConstraint exceeded */
	MFV_ERR_LEAF_IS_CA = -25,          /* the leaf is a CA certificate */
	MFV_ERR_KEY_USAGE = -26,           /* keyUsage forbids this use */
	MFV_ERR_EKU = -27,                 /* extendedKeyUsage lacks the purpose */
	MFV_ERR_NAME_MISMATCH = -28,       /* host/IP not in subjectAltName */
	MFV_ERR_UNSUPPORTED_CRITICAL_EXT = -29, /* a critical extension we do not process */
	MFV_ERR_NAME_CONSTRAINTS = -30,    /* name constraints present (unsupported) */
	MFV_ERR_DUPLICATE_EXT = -31,       /* the same extension twice */
	MFV_ERR_CHAIN_TOO_LONG = -32,      /* path longer than MFV_MAX_PATH */
	MFV_ERR_OCSP_MALFORMED = -33,      /* the staple is not a valid BasicOCSPResponse */
	MFV_ERR_OCSP_STATUS = -34,         /* responseStatus is not successful */
	MFV_ERR_OCSP_NO_MATCH = -35,       /* no SingleResponse for this leaf */
	MFV_ERR_OCSP_RESPONDER = -36,      /* signer is not the issuer nor an authorised responder */
	MFV_ERR_OCSP_BAD_SIGNATURE = -37,  /* the response signature does not verify */
	MFV_ERR_OCSP_REVOKED = -38,        /* the leaf is revoked */
	MFV_ERR_OCSP_UNKNOWN = -39,        /* the responder does not know the leaf */
	MFV_ERR_OCSP_STALE = -40,          /* nextUpdate passed or absent */
	MFV_ERR_OCSP_FUTURE = -41,         /* thisUpdate is in the future */
	MFV_ERR_OCSP_REQUIRED = -42,       /* must-staple leaf without a staple */
	MFV_ERR_BACKEND = -43,             /* the crypto backend failed */
	MFV_ERR_BUNDLE_MALFORMED = -44,    /* trust bundle does not parse */
	MFV_ERR_BUNDLE_VERSION = -45,      /* bundle version not above the current one */
	MFV_ERR_BUNDLE_SIGNER = -46,       /* bundle signed by a key not trusted */
	MFV_ERR_BUNDLE_THRESHOLD = -47,    /* too few valid bundle signatures */
	MFV_ERR_BUNDLE_EXPIRED = -48,      /* bundle past its expiry */
	MFV_ERR_NO_ROOTS = -49,            /* trust store empty */
	MFV_ERR_PROFILE = -50,             /* breaks an RFC 5280 / Baseline Requirements profile rule */
	MFV_ERR_LAST = -50
};

/* A stable identifier (the enum name: "MFV_ERR_EXPIRED", "MFV_OK") and a
 * one-line description for any value; static strings, never NULL.  Built
 * with MFV_NO_ERROR_TEXT, mfv_strerror() returns the identifier; with
 * MFV_NO_ERROR_STRINGS (firmware that logs numbers), both return "MFV_ERR".
 *
 * Other firmware build options (compile-time macros for the core): MFV_NO_RSA
 * and MFV_NO_ED25519 refuse those algorithms as MFV_ERR_UNSUPPORTED_ALG and
 * drop their code. */
const char *mfv_errname(int err);
const char *mfv_strerror(int err);

/* ---- the context ---------------------------------------------------------- */

/* A borrowed byte string. */
struct mfv_buf {
	const uint8_t *p;
	size_t len;
};

/* The fields below are private: the layout may change between versions.
 * They are in the header only so that callers can allocate contexts. */
struct mfv_span {
	const uint8_t *p;
	uint32_t len;
};

/* Small fields first: on a Cortex-M a load or store with an offset below
 * 32 (bytes) or 128 (words) is a 16-bit instruction. */
struct mfv_cert {
	uint8_t flags;            /* MFVI_C_* (internal) */
	uint8_t eku;              /* MFVI_EKU_* (internal) */
	uint8_t ku;               /* keyUsage, first octet (MSB = digitalSignature) */
	uint8_t key_type;         /* enum mfv_key_type (mfv_backend.h) */
	uint8_t sig_alg;          /* internal signature algorithm id */
	int8_t path_len;          /* -1 = none */
	uint16_t pss_salt;        /* PSS salt length */
	uint16_t ext;             /* extensions seen, one bit per kind (internal) */
	uint16_t crit;            /* those of them marked critical */
	struct mfv_span der;      /* whole certificate */
	struct mfv_span tbs;      /* TBSCertificate TLV (what is signed) */
	struct mfv_span sig;      /* signature BIT STRING contents after the pad byte */
	struct mfv_span serial;   /* INTEGER contents */
	struct mfv_span issuer;   /* Name TLV */
	struct mfv_span subject;  /* Name TLV */
	struct mfv_span spki;     /* SubjectPublicKeyInfo TLV */
	struct mfv_span keybits;  /* subjectPublicKey BIT STRING contents after the pad byte */
	struct mfv_span key_a;    /* RSA n (no leading zero), EC point, Ed25519 key */
	struct mfv_span key_b;    /* RSA e */
	struct mfv_span san;      /* subjectAltName GeneralNames contents */
	struct mfv_span cn;       /* subject commonName value contents, if any */
	struct mfv_span ski;      /* subjectKeyIdentifier OCTET STRING contents */
	struct mfv_span aki;      /* authorityKeyIdentifier keyIdentifier */
	int64_t not_before;
	int64_t not_after;
};

struct mfv_ctx {
	uint8_t n_roots;
	uint8_t host_len;
	uint8_t ip_len;           /* 0, 4 or 16 */
	uint8_t bundle_threshold; /* signatures the next bundle needs (0 = 1) */
	uint8_t n_certs;          /* scratch for one verification ... */
	uint8_t path_len;
	uint8_t path[MFV_MAX_PATH]; /* ... up to here */
	uint32_t flags;           /* MFV_FLAG_* */
	uint32_t skew;            /* seconds */
	uint32_t max_lifetime;    /* seconds, 0 = no cap */
	uint32_t state;
	uint32_t bundle_version;
	const char *host;         /* borrowed */
	uint8_t ip[16];
	int64_t now;              /* valid if MFVI_HAVE_TIME in state */
	int64_t lkgt;
	uint8_t roots[MFV_MAX_ROOTS][MFV_HASH_LEN];
	/* scratch for one verification */
	struct mfv_cert certs[MFV_MAX_CERTS];
};

/* The result of a verification. */
struct mfv_result {
	uint32_t flags;            /* MFV_RES_* */
	int depth;                 /* on failure: index in the path of the
	                              certificate at fault (0 = leaf), -1 if
	                              not tied to one */
	unsigned path_len;         /* on success: certificates in the path */
	int64_t lkgt;              /* the new last-known-good time: persist it
	                              if it is greater than the one passed in */
	int64_t leaf_not_after;
	uint8_t anchor[MFV_HASH_LEN]; /* the pin that matched */
};

#define MFV_RES_TIME_UNKNOWN   0x01u /* no wall clock: validated against the LKGT */
#define MFV_RES_NAME_UNCHECKED 0x02u /* neither host nor IP set */
#define MFV_RES_OCSP_GOOD      0x04u /* a staple was verified, status good */
#define MFV_RES_MUST_STAPLE    0x08u /* leaf carries the TLS feature status_request */
#define MFV_RES_LKGT_ADVANCED  0x10u /* result.lkgt > the LKGT passed in */

#define MFV_FLAG_CLIENT_AUTH   0x01u /* require id-kp-clientAuth instead of serverAuth */

/* Reset a context: empty trust store, no time, no LKGT, no skew, no cap, no
 * name.  Must be called before any other function on it. */
void mfv_init(struct mfv_ctx *ctx);

/* Pin a root: the SHA-256 of the root certificate's DER or of its
 * SubjectPublicKeyInfo DER.  MFV_ERR_TOO_MANY past MFV_MAX_ROOTS. */
int mfv_add_root(struct mfv_ctx *ctx, const uint8_t hash[MFV_HASH_LEN]);

/* The current time in seconds since 1970 from a clock the caller trusts. */
void mfv_set_time(struct mfv_ctx *ctx, int64_t now);
/* The persisted last-known-good time (0 if none yet). */
void mfv_set_lkgt(struct mfv_ctx *ctx, int64_t lkgt);
void mfv_set_skew(struct mfv_ctx *ctx, uint32_t seconds);
/* Longest accepted leaf lifetime (notAfter - notBefore), 0 = no cap. */
void mfv_set_max_lifetime(struct mfv_ctx *ctx, uint32_t seconds);
/* Require the leaf to be valid for this DNS name (ASCII, A-labels).  The
 * pointer is borrowed until the next verification returns.  Clears any IP. */
int mfv_set_host(struct mfv_ctx *ctx, const char *name, size_t len);
/* Require the leaf to be valid for this IP address (4 or 16 octets, network
 * order).  Clears any host name. */
int mfv_set_ip(struct mfv_ctx *ctx, const uint8_t *ip, size_t len);
void mfv_set_flags(struct mfv_ctx *ctx, uint32_t flags);

/* Verify a chain: certs[0] is the leaf, the others are issuer candidates in
 * any order (what the server sent, plus any anchor certificates the caller
 * stores).  No OCSP: a must-staple leaf gives MFV_ERR_OCSP_REQUIRED.
 * res may be NULL. */
int mfv_verify_chain(struct mfv_ctx *ctx, const struct mfv_buf *certs, size_t n,
                     struct mfv_result *res);

/* mfv_verify_chain() plus a stapled OCSP response (the DER OCSPResponse as
 * sent in the TLS CertificateStatus message; NULL or empty if none). */
int mfv_verify(struct mfv_ctx *ctx, const struct mfv_buf *certs, size_t n,
               const struct mfv_buf *ocsp, struct mfv_result *res);

/* ---- trust bundles (format: mayfly-bundle(5)) ------------------------------ */

/* Make a bundle the device already trusts the current trust state: its
 * own stored copy at boot, or the one flashed at the factory.  No
 * signature is checked: never pass bytes that came from the network.
 * Replaces the pins, the bundle version and the threshold; raises the
 * context's LKGT to the bundle's issuedAt. */
int mfv_bundle_load(struct mfv_ctx *ctx, const uint8_t *der, size_t len);

/* Apply newer bundles, oldest first.  Each must have a version above the
 * current one and carry valid signatures by at least `threshold` distinct
 * roots pinned by the current state (the previous bundle, or the pins
 * added with mfv_add_root() with a threshold of 1); signatures by other
 * keys are ignored.  An expiry (notAfter) is enforced only on the last
 * bundle, so that a device can walk old versions to reach the newest.
 * Each bundle that passes becomes current before the next is checked; on
 * error *applied (if not NULL) says how many did.  The caller should store
 * the last applied bundle and pass it to mfv_bundle_load() at next boot,
 * and persist mfv_lkgt(). */
int mfv_bundle_apply(struct mfv_ctx *ctx, const struct mfv_buf *bundles, size_t n,
                     size_t *applied);

/* Apply an answer of mayflyd's GET /trust/since/N: zero or more bundles,
 * their DER concatenated, oldest first (mayfly-bundle(5)).  Each is applied
 * as by mfv_bundle_apply(), against the state the one before it left, and
 * the expiry only to the newest in the answer.  Leading bundles whose
 * version the device already holds (an answer to a lower N) are skipped;
 * anything else that fails stops the walk and the error is returned, the
 * bundles before it staying applied: the context then holds the state of
 * the last good one.  An empty answer changes nothing.  *applied (if not
 * NULL) gets how many were applied, *last (if not NULL) the last one
 * applied, pointing into der ({NULL, 0} if none): store a copy of it for
 * mfv_bundle_load() at next boot, and persist mfv_lkgt().  At most
 * MFV_MAX_BUNDLES bundles per call: past that MFV_ERR_TOO_MANY, with the
 * ones walked so far applied; fetch again from the version reached.  No
 * allocation; der is only read, and not kept after the call. */
int mfv_bundle_apply_since(struct mfv_ctx *ctx, const uint8_t *der, size_t len, size_t *applied,
                           struct mfv_buf *last);

/* The version of the current bundle (0 if none), and the context's LKGT
 * (as set with mfv_set_lkgt(), raised by applied bundles). */
uint32_t mfv_bundle_version(const struct mfv_ctx *ctx);
int64_t mfv_lkgt(const struct mfv_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* MAYFLY_VERIFY_H */
