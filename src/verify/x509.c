/*
 * x509.c - parse one X.509 v3 certificate into struct mfv_cert.
 *
 * The parser records pointers into the caller's buffer and the few decoded
 * values the chain check needs (times, constraints, usages, the SAN list).
 * It refuses, at parse time, everything the verifier would otherwise have
 * to ignore silently: unknown critical extensions (RFC 5280 4.2 requires a
 * relying party to reject them), name constraints (not implemented, so
 * accepting them would widen what an intermediate may issue), duplicate
 * extensions (4.2: "MUST NOT include more than one instance"), and serial
 * numbers that are negative or longer than 20 octets (4.1.2.2), or zero
 * outside a self-issued certificate.
 *
 * It also holds every certificate to the profile rules of RFC 5280 and the
 * CA/Browser Forum Baseline Requirements that cost a few bytes to check
 * (profile(), below): a relying party that accepts what no conforming CA
 * may issue gives an attacker who can get one odd certificate signed room
 * to play.  What mayfly itself issues (leaves, intermediates, cross-
 * certificates, delegated OCSP responders) meets all of them.
 */
#include <string.h>
#include "mfv_int.h"

/* 2.5.29.x share the prefix 55 1d. */
#define EXT_BC 0x13
#define EXT_KU 0x0f
#define EXT_EKU 0x25
#define EXT_SAN 0x11
#define EXT_NC 0x1e
#define EXT_SKI 0x0e
#define EXT_AKI 0x23
#define EXT_PC 0x24

/* id-pe (1.3.6.1.5.5.7.1.x): authorityInfoAccess .1, TLS feature .24. */
static const uint8_t OID_PE[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01 };
static const uint8_t OID_ANY_EKU[] = { 0x55, 0x1d, 0x25, 0x00 };


static void
span(struct mfv_span *s, const struct mfvi_der *d)
{
	s->p = d->p;
	s->len = (uint32_t)d->len;
}

static int
ext_bc(struct mfv_cert *c, struct mfvi_der *seq)
{
	struct mfvi_der x;
	uint32_t n;
	int rc, ca;

	if ((ca = mfvi_der_opt_true(seq)) < 0)
		return ca;
	if ((rc = mfvi_der_opt(seq, MFVI_INTEGER, &x)) < 0)
		return rc;
	if (rc == 1) {
		/* 4.2.1.9: pathLenConstraint only with cA TRUE. */
		if (!ca || (rc = mfvi_der_small_uint(&x, &n)) != 0)
			return ca ? rc : MFV_ERR_DER_VALUE;
		c->path_len = (int8_t)(n > 100 ? 100 : n);
	}
	if (ca)
		c->flags |= MFVI_C_CA;
	return mfvi_der_end(seq);
}

static int
ext_ku(struct mfv_cert *c, const struct mfvi_der *b)
{
	struct mfvi_der bits = *b;
	unsigned unused, last;

	/* A named bit list in DER: at least one bit set, trailing zero bits
	 * removed, padding bits zero (X.690 11.2): so the lowest used bit
	 * of the last octet is 1 and the ones below it are 0. */
	if (bits.len < 2 || bits.len > 3 || bits.p[0] > 7)
		return MFV_ERR_DER_VALUE;
	unused = bits.p[0];
	last = bits.p[bits.len - 1];
	if ((last & ((2u << unused) - 1u)) != (1u << unused))
		return MFV_ERR_DER_VALUE;
	/* The bits we use (digitalSignature, keyEncipherment, keyCertSign)
	 * are all in the first octet; keep it as it is, MSB = bit 0. */
	c->ku = bits.p[1];
	c->flags |= MFVI_C_HAS_KU;
	return 0;
}

/* authorityKeyIdentifier (RFC 5280 4.2.1.1) with the keyIdentifier [0]
 * and nothing else: BR 7.1.2 forbids authorityCertIssuer and
 * authorityCertSerialNumber, and a missing keyIdentifier leaves nothing
 * to match. */
static int
ext_aki(struct mfv_cert *c, struct mfvi_der *seq)
{
	struct mfvi_der k;

	if (mfvi_der_get(seq, MFVI_CTX(0), &k) != 0 || seq->len != 0 || k.len == 0)
		return MFV_ERR_PROFILE;
	span(&c->aki, &k);
	return 0;
}

/* Extensions we know, as small numbers (also their bit in c->ext and
 * c->crit): the id-ce ones (2.5.29.x, three octets 55 1d x), then the
 * id-pe ones (1.3.6.1.5.5.7.1.x). */
enum { X_UNKNOWN, X_BC, X_KU, X_EKU, X_SAN, X_SKI, X_AKI, X_NC, X_PC, X_TLSF, X_AIA };
#define BIT(x) (1u << (x))
/* What may not be critical: what we do not process (RFC 5280 4.2), and
 * SKI, AKI and AIA anyway (4.2.1.1, 4.2.1.2, 4.2.2.1).  Policy
 * constraints must be critical (4.2.1.11), but as policies are not
 * processed they are refused either way. */
#define X_NOT_CRITICAL (BIT(X_UNKNOWN) | BIT(X_SKI) | BIT(X_AKI) | BIT(X_PC) | BIT(X_AIA))

/* One element of a SEQUENCE OF extension (tag t, contents x): the
 * extended key usages, subjectAltName, the TLS feature list and
 * authorityInfoAccess share the loop in extension() and differ only
 * here. */
static int
list_item(struct mfv_cert *c, int id, int t, struct mfvi_der *x)
{
	static const uint8_t kp[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03 };
	static const uint8_t bit[10] = { 0, MFVI_EKU_SERVER, MFVI_EKU_CLIENT, 0, 0, 0, 0, 0, 0,
	                                 MFVI_EKU_OCSP };
	struct mfvi_der y;
	uint32_t n;
	int rc;

	switch (id) {
	case X_EKU:
		if (t != MFVI_OID)
			return MFV_ERR_DER_TAG;
		/* id-kp-serverAuth .1, clientAuth .2, OCSPSigning .9 under
		 * 1.3.6.1.5.5.7.3; anyExtendedKeyUsage is 2.5.29.37.0. */
		if (x->len == 8 && memcmp(x->p, kp, 7) == 0 && x->p[7] < sizeof(bit))
			c->eku |= bit[x->p[7]];
		else if (MFVI_OID_IS(x, OID_ANY_EKU))
			c->eku |= MFVI_EKU_ANY;
		return 0;
	case X_SAN:
		/* Every GeneralName is a context-tagged TLV; check the shape
		 * now so that name matching can walk it without error
		 * handling. */
		if ((t & 0xc0) != 0x80)
			return MFV_ERR_DER_TAG;
		/* A dNSName is letters, digits, hyphens, dots and the
		 * wildcard (RFC 5280 4.2.1.6 via RFC 1034 3.5): no
		 * underscore, no space, no UTF-8.  OR-ing 0x20 folds the
		 * capitals and moves '_' (0x5f) out of the ranges. */
		while (t == MFVI_CTX(2) && x->len > 0) {
			n = x->p[--x->len] | 0x20u;
			if (!((n >= 'a' && n <= 'z') || (n >= '0' && n <= '9') || n == '-' ||
			      n == '.' || n == '*'))
				return MFV_ERR_PROFILE;
		}
		return 0;
	case X_TLSF:
		/* RFC 7633 TLS Feature: SEQUENCE OF INTEGER; 5 is
		 * status_request. */
		if (t != MFVI_INTEGER)
			return MFV_ERR_DER_TAG;
		if ((rc = mfvi_der_small_uint(x, &n)) != 0)
			return rc;
		if (n == 5)
			c->flags |= MFVI_C_MUST_STAPLE;
		return 0;
	}
	/* authorityInfoAccess ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE {
	 * accessMethod OID, accessLocation GeneralName }.  Never followed,
	 * but a malformed one is refused (BR 7.1.2.7.7). */
	if (t != MFVI_SEQUENCE || mfvi_der_get(x, MFVI_OID, &y) != 0 ||
	    mfvi_der_any(x, &t, &y) != 0 || (t & 0xc0) != 0x80 || x->len != 0)
		return MFV_ERR_PROFILE;
	return 0;
}

static int
ext_id(const struct mfvi_der *oid)
{
	static const uint8_t ce[] = { EXT_BC, EXT_KU, EXT_EKU, EXT_SAN, EXT_SKI, EXT_AKI, EXT_NC,
	                              EXT_PC };
	int i;

	if (oid->len == 3 && oid->p[0] == 0x55 && oid->p[1] == 0x1d) {
		for (i = 0; i < (int)sizeof(ce); i++)
			if (ce[i] == oid->p[2])
				return i + 1;
	} else if (oid->len == 8 && memcmp(oid->p, OID_PE, 7) == 0) {
		/* TLS feature .24, authorityInfoAccess .1 */
		return oid->p[7] == 0x18 ? X_TLSF : oid->p[7] == 0x01 ? X_AIA : X_UNKNOWN;
	}
	return X_UNKNOWN;
}

static int
extension(struct mfv_cert *c, struct mfvi_der *ext)
{
	/* The type of each known extension's value, by X_ id. */
	static const uint8_t type[] = { 0, MFVI_SEQUENCE, MFVI_BIT_STRING, MFVI_SEQUENCE,
	                                MFVI_SEQUENCE, MFVI_OCTET_STRING, MFVI_SEQUENCE, 0, 0,
	                                MFVI_SEQUENCE, MFVI_SEQUENCE };
	struct mfvi_der oid, x;
	int rc, crit = 0, id, t;

	if ((rc = mfvi_der_get(ext, MFVI_OID, &oid)) != 0)
		return rc;
	if ((crit = mfvi_der_opt_true(ext)) < 0)
		return crit;
	/* From here on ext is the extnValue OCTET STRING's contents. */
	if ((rc = mfvi_der_sole(ext, MFVI_OCTET_STRING)) != 0)
		return rc;
	id = ext_id(&oid);
	if (id == X_NC)
		return MFV_ERR_NAME_CONSTRAINTS;
	if (crit && (X_NOT_CRITICAL & BIT(id)))
		return MFV_ERR_UNSUPPORTED_CRITICAL_EXT;
	if (id == X_UNKNOWN)
		return 0;
	if (c->ext & BIT(id))
		return MFV_ERR_DUPLICATE_EXT;
	c->ext = (uint16_t)(c->ext | BIT(id));
	if (crit)
		c->crit = (uint16_t)(c->crit | BIT(id));
	if (id == X_PC)
		return MFV_ERR_PROFILE;
	/* The extension value must be exactly one DER value of its type
	 * (ext becomes its contents); all but basicConstraints (empty for
	 * a non-CA) and the TLS feature list are SIZE (1..MAX) or must
	 * hold something. */
	if ((rc = mfvi_der_sole(ext, type[id])) != 0)
		return rc;
	if (ext->len == 0 && id != X_BC && id != X_TLSF)
		return MFV_ERR_DER_VALUE;
	switch (id) {
	case X_BC: return ext_bc(c, ext);
	case X_KU: return ext_ku(c, ext);
	case X_SKI: span(&c->ski, ext); return 0;
	case X_AKI: return ext_aki(c, ext);
	case X_EKU: c->flags |= MFVI_C_HAS_EKU; break;
	case X_SAN: span(&c->san, ext); break;
	}
	/* The rest are SEQUENCE OF: one loop, list_item() per element. */
	while (ext->len > 0) {
		if ((rc = mfvi_der_any(ext, &t, &x)) != 0 || (rc = list_item(c, id, t, &x)) != 0)
			return rc;
	}
	return 0;
}

/* Profile rules on the whole certificate, once its extensions are read. */
static int
profile(const struct mfv_cert *c)
{
	unsigned ca = c->flags & MFVI_C_CA, empty = c->subject.len == 2;

	/* 4.1.2.2: the serial is positive, so not zero (a minimal zero is
	 * 00).  Not held against a self-issued certificate: a root's serial
	 * names nothing a device looks up, and public roots with serial 0
	 * exist (Starfield G2). */
	if (c->serial.len == 1 && c->serial.p[0] == 0 && !(c->flags & MFVI_C_SELF_ISSUED))
		return MFV_ERR_BAD_SERIAL;
	/* RFC 5280 4.2.1.3: keyCertSign only with cA TRUE. */
	if ((c->ku & MFVI_KU_KEY_CERT_SIGN) && !ca)
		return MFV_ERR_KEY_USAGE;
	/* BR 7.1.2.1.2: no EKU in a root (a self-issued CA); BR 7.1.2.7.10:
	 * a subscriber's EKU is not critical and has no anyExtendedKeyUsage. */
	if (ca ? (c->flags & MFVI_C_SELF_ISSUED) && (c->flags & MFVI_C_HAS_EKU)
	       : (c->crit & BIT(X_EKU)) || (c->eku & MFVI_EKU_ANY))
		return MFV_ERR_EKU;
	/* 4.1.2.6: a CA has a subject; 4.2.1.9: its basicConstraints is
	 * critical; 4.2.1.2: it has a subjectKeyIdentifier. */
	if (ca && (empty || !(c->crit & BIT(X_BC)) || !(c->ext & BIT(X_SKI))))
		return MFV_ERR_PROFILE;
	/* 4.2.1.6: without a subject the SAN is critical; BR 7.1.2.7.12:
	 * with one it is not. */
	if (empty != !!(c->crit & BIT(X_SAN)))
		return MFV_ERR_PROFILE;
	/* 4.2.1.1: every certificate but a self-signed one names its
	 * issuer's key (whether a self-issued one that does names its own
	 * is checked on the trust anchor, in chain.c). */
	if (!(c->flags & MFVI_C_SELF_ISSUED) && c->aki.p == NULL)
		return MFV_ERR_PROFILE;
	return 0;
}

static int
tbs(struct mfv_cert *c, struct mfvi_der *r, const struct mfvi_der *outer_alg)
{
	/* version [0] EXPLICIT INTEGER: v3 has exactly one DER encoding. */
	static const uint8_t v3[] = { MFVI_CTXC(0), 3, MFVI_INTEGER, 1, 2 };
	static const uint8_t shape[] = { MFVI_INTEGER, MFVI_SEQUENCE, MFVI_SEQUENCE, MFVI_SEQUENCE,
	                                 MFVI_SEQUENCE, MFVI_SEQUENCE };
	struct mfvi_der x, v[6], t[6], ext;
	int rc;

	if (r->len < sizeof(v3) || memcmp(r->p, v3, sizeof(v3)) != 0)
		return MFV_ERR_BAD_VERSION;
	r->p += sizeof(v3);
	r->len -= sizeof(v3);

	/* serialNumber, signature, issuer, validity, subject,
	 * subjectPublicKeyInfo */
	if ((rc = mfvi_der_seq(r, shape, sizeof(shape), v, t)) != 0)
		return rc;
	if (mfvi_der_int_minimal(&v[0]) != 0 || (v[0].p[0] & 0x80) != 0 || v[0].len > 20)
		return MFV_ERR_BAD_SERIAL;
	span(&c->serial, &v[0]);

	/* 4.1.1.2: signatureAlgorithm MUST be identical to tbs.signature. */
	if (t[1].len != outer_alg->len || memcmp(t[1].p, outer_alg->p, t[1].len) != 0)
		return MFV_ERR_SIG_ALG_MISMATCH;
	if ((rc = mfvi_sig_alg(&v[1], &c->sig_alg, &c->pss_salt)) != 0 ||
	    (rc = mfvi_der_name(&t[2], &c->issuer, NULL)) != 0 ||
	    (rc = mfvi_der_get_time(&v[3], &c->not_before)) != 0 ||
	    (rc = mfvi_der_get_time(&v[3], &c->not_after)) != 0 ||
	    (rc = mfvi_der_end(&v[3])) != 0)
		return rc;
	if (c->not_after < c->not_before)
		return MFV_ERR_BAD_TIME;

	if ((rc = mfvi_der_name(&t[4], &c->subject, &c->cn)) != 0)
		return rc;
	if (mfvi_span_eq(&c->issuer, &c->subject))
		c->flags |= MFVI_C_SELF_ISSUED;

	span(&c->spki, &t[5]);
	if ((rc = mfvi_spki(&v[5], c)) != 0)
		return rc;

	/* issuerUniqueID [1] and subjectUniqueID [2] (v2, obsolete) are not
	 * accepted: they are left unread and fail as trailing data. */
	if ((rc = mfvi_der_opt(r, MFVI_CTXC(3), &x)) < 0)
		return rc;
	if (rc == 1) {
		if ((rc = mfvi_der_sole(&x, MFVI_SEQUENCE)) != 0)
			return rc;
		if (x.len == 0)
			return MFV_ERR_DER_VALUE;
		while (x.len > 0) {
			if ((rc = mfvi_der_get(&x, MFVI_SEQUENCE, &ext)) != 0 ||
			    (rc = extension(c, &ext)) != 0)
				return rc;
		}
	}
	if ((rc = mfvi_der_end(r)) != 0)
		return rc;
	return profile(c);
}

int
mfvi_cert_parse(struct mfv_cert *c, const uint8_t *der, size_t len)
{
	static const uint8_t body[] = { MFVI_SEQUENCE, MFVI_SEQUENCE, MFVI_BIT_STRING, 0 };
	struct mfvi_der r = { der, len }, v[3], t[3];
	int rc;

	memset(c, 0, sizeof(*c));
	c->path_len = -1;
	if (len > MFV_MAX_CERT_SIZE)
		return MFV_ERR_CERT_TOO_LARGE;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue } and nothing after it. */
	if ((rc = mfvi_der_sole(&r, MFVI_SEQUENCE)) != 0 || (rc = mfvi_der_seq(&r, body, 4, v, t)) != 0)
		return rc;
	c->der.p = der;
	c->der.len = (uint32_t)len;
	span(&c->tbs, &t[0]);
	if ((rc = mfvi_der_bits_octets(&v[2], &v[2])) != 0)
		return rc;
	span(&c->sig, &v[2]);
	return tbs(c, &v[0], &t[1]);
}

int
mfvi_cert_check_sig(const struct mfv_cert *c, const struct mfv_cert *issuer)
{
	return mfvi_sig_check(issuer, c->sig_alg, c->pss_salt, c->tbs.p, c->tbs.len,
	                      c->sig.p, c->sig.len);
}
