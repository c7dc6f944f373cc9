/*
 * ocsp.c - check a stapled OCSP response (RFC 6960) for the leaf.
 *
 * A staple is untrusted bytes the server chose to send, so nothing in it
 * counts before its signature has been checked: not the status, not the
 * times.  The signer must be the leaf's issuer itself, or a responder
 * certificate that the issuer signed for id-kp-OCSPSigning (RFC 6960
 * 4.2.2.2); any other signer, however well it chains, is refused, because
 * otherwise any CA in the trust store could vouch for another CA's
 * certificates.  The response must name this leaf through a CertID using
 * SHA-1 or SHA-256, be fresh (thisUpdate <= now <= nextUpdate, with skew),
 * and say good.  A response without nextUpdate never becomes stale, so it
 * is refused as stale (RFC 5019 requires nextUpdate anyway).
 */
#include <string.h>
#include "mfv_int.h"

static const uint8_t OID_OCSP_BASIC[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };
static const uint8_t OID_SHA1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
static const uint8_t OID_SHA256[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };

/* What the response says about our leaf. */
struct single {
	int status;      /* 0 good, 1 revoked, 2 unknown */
	int has_next;
	int64_t this_update;
	int64_t next_update;
};

/* 1 if the CertID (contents) names leaf/issuer, 0 if not, or an error. */
static int
certid_match(struct mfvi_der *cid, const struct mfv_cert *leaf, const struct mfv_cert *issuer)
{
	struct mfvi_der alg, oid, name_h, key_h, serial, rest;
	uint8_t h[MFV_HASH_MAX_LEN];
	enum mfv_hash_alg ha;
	size_t hl;
	int rc;

	if ((rc = mfvi_der_get(cid, MFVI_SEQUENCE, &alg)) != 0 ||
	    (rc = mfvi_der_get(&alg, MFVI_OID, &oid)) != 0 ||
	    (rc = mfvi_der_get(cid, MFVI_OCTET_STRING, &name_h)) != 0 ||
	    (rc = mfvi_der_get(cid, MFVI_OCTET_STRING, &key_h)) != 0 ||
	    (rc = mfvi_der_get(cid, MFVI_INTEGER, &serial)) != 0 ||
	    (rc = mfvi_der_end(cid)) != 0)
		return rc;
	rest = alg;
	if (rest.len != 0 && ((rc = mfvi_der_get(&rest, MFVI_NULL, &alg)) != 0 ||
	                      alg.len != 0 || (rc = mfvi_der_end(&rest)) != 0))
		return MFV_ERR_OCSP_MALFORMED;
	if (MFVI_OID_IS(&oid, OID_SHA1))
		ha = MFV_HASH_SHA1;
	else if (MFVI_OID_IS(&oid, OID_SHA256))
		ha = MFV_HASH_SHA256;
	else
		return 0; /* a CertID we cannot compute is not ours */
	hl = mfv_hash_len(ha);
	if (serial.len != leaf->serial.len || memcmp(serial.p, leaf->serial.p, serial.len) != 0 ||
	    name_h.len != hl || key_h.len != hl)
		return 0;
	/* RFC 6960 4.1.1: the hash of the issuer's DER-encoded name, and of
	 * the issuer's public key BIT STRING value (without tag, length and
	 * unused-bits octet). */
	if ((rc = mfv_be_hash(ha, issuer->subject.p, issuer->subject.len, h)) != 0)
		return rc;
	if (!mfvi_ct_eq(h, name_h.p, hl))
		return 0;
	if ((rc = mfv_be_hash(ha, issuer->keybits.p, issuer->keybits.len, h)) != 0)
		return rc;
	return mfvi_ct_eq(h, key_h.p, hl);
}

static int
single_response(struct mfvi_der *sr, const struct mfv_cert *leaf, const struct mfv_cert *issuer,
                struct single *out)
{
	struct mfvi_der cid, st, x;
	int rc, match, tag;
	struct single s;

	memset(&s, 0, sizeof(s));
	if ((rc = mfvi_der_get(sr, MFVI_SEQUENCE, &cid)) != 0)
		return rc;
	if ((match = certid_match(&cid, leaf, issuer)) < 0)
		return match;
	tag = mfvi_der_peek(sr);
	if (tag == MFVI_CTX(0) || tag == MFVI_CTX(2)) {
		if ((rc = mfvi_der_get(sr, (uint8_t)tag, &st)) != 0)
			return rc;
		if (st.len != 0)
			return MFV_ERR_DER_VALUE;
		s.status = tag == MFVI_CTX(0) ? 0 : 2;
	} else if (tag == MFVI_CTXC(1)) {
		if ((rc = mfvi_der_get(sr, (uint8_t)tag, &st)) != 0)
			return rc;
		s.status = 1;
	} else {
		return MFV_ERR_DER_TAG;
	}
	if ((rc = mfvi_der_get(sr, MFVI_GENTIME, &x)) != 0 ||
	    (rc = mfvi_der_time(MFVI_GENTIME, &x, &s.this_update)) != 0)
		return rc;
	if ((rc = mfvi_der_opt(sr, MFVI_CTXC(0), &st)) < 0)
		return rc;
	if (rc == 1) {
		if ((rc = mfvi_der_get(&st, MFVI_GENTIME, &x)) != 0 ||
		    (rc = mfvi_der_end(&st)) != 0 ||
		    (rc = mfvi_der_time(MFVI_GENTIME, &x, &s.next_update)) != 0)
			return rc;
		s.has_next = 1;
	}
	/* singleExtensions: none that we process; a critical one would be
	 * refused, but RFC 6960 defines none that are critical, so skip. */
	if ((rc = mfvi_der_opt(sr, MFVI_CTXC(1), &st)) < 0)
		return rc;
	if ((rc = mfvi_der_end(sr)) != 0)
		return rc;
	if (match)
		*out = s;
	return match;
}

/* Does the ResponderID (tag + contents) name cert c? */
static int
responder_is(int tag, const struct mfvi_der *rid, const struct mfv_cert *c)
{
	uint8_t h[20];
	struct mfvi_der r = *rid, kh;

	if (tag == MFVI_CTXC(1))
		return rid->len == c->subject.len && memcmp(rid->p, c->subject.p, rid->len) == 0;
	/* byKey: SHA-1 of the responder's public key BIT STRING value. */
	if (mfvi_der_get(&r, MFVI_OCTET_STRING, &kh) != 0 || kh.len != 20 ||
	    mfv_be_hash(MFV_HASH_SHA1, c->keybits.p, c->keybits.len, h) != 0)
		return 0;
	return mfvi_ct_eq(h, kh.p, 20);
}

static int
parse_error(int rc)
{
	/* Backend failures and unsupported algorithms keep their own code;
	 * every structural problem is "malformed". */
	if (rc == MFV_ERR_BACKEND || rc == MFV_ERR_UNSUPPORTED_ALG ||
	    rc == MFV_ERR_UNSUPPORTED_CRITICAL_EXT || rc == MFV_ERR_NAME_CONSTRAINTS)
		return rc;
	return MFV_ERR_OCSP_MALFORMED;
}

int
mfvi_ocsp_check(const struct mfv_ctx *ctx, const struct mfv_cert *leaf,
                const struct mfv_cert *issuer, const uint8_t *der, size_t len,
                int64_t *produced, int64_t *this_update)
{
	struct mfvi_der r = { der, len }, resp, x, y, oid, basic, tbs, tbstlv, alg, sig, rid, list, sr;
	struct mfv_cert delegated;
	const struct mfv_cert *signer = NULL;
	struct single s;
	uint16_t salt;
	uint8_t salg;
	int rc, rid_tag, found = 0;
	uint32_t status;

	if (len > MFV_MAX_OCSP_SIZE)
		return MFV_ERR_TOO_MANY;
	memset(&s, 0, sizeof(s));
	/* OCSPResponse */
	if ((rc = mfvi_der_get(&r, MFVI_SEQUENCE, &resp)) != 0 || (rc = mfvi_der_end(&r)) != 0 ||
	    (rc = mfvi_der_get(&resp, MFVI_ENUMERATED, &x)) != 0 ||
	    (rc = mfvi_der_small_uint(&x, &status)) != 0)
		return parse_error(rc);
	if (status != 0)
		return MFV_ERR_OCSP_STATUS;
	if ((rc = mfvi_der_get(&resp, MFVI_CTXC(0), &x)) != 0 || (rc = mfvi_der_end(&resp)) != 0 ||
	    (rc = mfvi_der_get(&x, MFVI_SEQUENCE, &y)) != 0 || (rc = mfvi_der_end(&x)) != 0 ||
	    (rc = mfvi_der_get(&y, MFVI_OID, &oid)) != 0 ||
	    (rc = mfvi_der_get(&y, MFVI_OCTET_STRING, &x)) != 0 || (rc = mfvi_der_end(&y)) != 0)
		return parse_error(rc);
	if (!MFVI_OID_IS(&oid, OID_OCSP_BASIC))
		return MFV_ERR_OCSP_MALFORMED;
	/* BasicOCSPResponse */
	if ((rc = mfvi_der_get(&x, MFVI_SEQUENCE, &basic)) != 0 || (rc = mfvi_der_end(&x)) != 0 ||
	    (rc = mfvi_der_get_tlv(&basic, MFVI_SEQUENCE, &tbs, &tbstlv)) != 0 ||
	    (rc = mfvi_der_get(&basic, MFVI_SEQUENCE, &alg)) != 0 ||
	    (rc = mfvi_der_get(&basic, MFVI_BIT_STRING, &sig)) != 0 ||
	    (rc = mfvi_der_bits_octets(&sig, &sig)) != 0 ||
	    (rc = mfvi_sig_alg(&alg, &salg, &salt)) != 0)
		return parse_error(rc);
	/* ResponseData: version [0] is DEFAULT v1, so in DER it is absent. */
	rid_tag = mfvi_der_peek(&tbs);
	if (rid_tag != MFVI_CTXC(1) && rid_tag != MFVI_CTXC(2))
		return MFV_ERR_OCSP_MALFORMED;
	if ((rc = mfvi_der_get(&tbs, (uint8_t)rid_tag, &rid)) != 0 ||
	    (rc = mfvi_der_get(&tbs, MFVI_GENTIME, &x)) != 0 ||
	    (rc = mfvi_der_time(MFVI_GENTIME, &x, produced)) != 0 ||
	    (rc = mfvi_der_get(&tbs, MFVI_SEQUENCE, &list)) != 0)
		return parse_error(rc);
	while (list.len > 0) {
		if ((rc = mfvi_der_get(&list, MFVI_SEQUENCE, &sr)) != 0 ||
		    (rc = single_response(&sr, leaf, issuer, &s)) < 0)
			return parse_error(rc);
		found |= rc;
	}
	/* responseExtensions [1]: only the nonce is defined as used here,
	 * and it is not critical; refuse any critical one. */
	if ((rc = mfvi_der_opt(&tbs, MFVI_CTXC(1), &x)) < 0)
		return parse_error(rc);
	if (rc == 1) {
		if ((rc = mfvi_der_get(&x, MFVI_SEQUENCE, &y)) != 0 || (rc = mfvi_der_end(&x)) != 0)
			return parse_error(rc);
		while (y.len > 0) {
			struct mfvi_der e, eo;
			if ((rc = mfvi_der_get(&y, MFVI_SEQUENCE, &e)) != 0 ||
			    (rc = mfvi_der_get(&e, MFVI_OID, &eo)) != 0 ||
			    (rc = mfvi_der_opt_true(&e)) < 0)
				return parse_error(rc);
			if (rc == 1)
				return MFV_ERR_UNSUPPORTED_CRITICAL_EXT;
		}
	}
	if ((rc = mfvi_der_end(&tbs)) != 0)
		return parse_error(rc);

	/* Who signed it: the issuer, or a delegated responder in certs [0]. */
	if (responder_is(rid_tag, &rid, issuer)) {
		signer = issuer;
	} else if ((rc = mfvi_der_opt(&basic, MFVI_CTXC(0), &x)) < 0) {
		return parse_error(rc);
	} else if (rc == 1) {
		if ((rc = mfvi_der_get(&x, MFVI_SEQUENCE, &y)) != 0 || (rc = mfvi_der_end(&x)) != 0)
			return parse_error(rc);
		while (y.len > 0 && signer == NULL) {
			if ((rc = mfvi_der_get_tlv(&y, MFVI_SEQUENCE, &x, &sr)) != 0)
				return parse_error(rc);
			if ((rc = mfvi_cert_parse(&delegated, sr.p, sr.len)) != 0)
				return rc;
			if (!responder_is(rid_tag, &rid, &delegated))
				continue;
			/* RFC 6960 4.2.2.2: issued directly by the CA that issued
			 * the leaf, and marked for OCSP signing. */
			if (!mfvi_span_eq(&delegated.issuer, &issuer->subject) ||
			    !(delegated.eku & MFVI_EKU_OCSP) ||
			    mfvi_time_window(ctx, delegated.not_before, delegated.not_after, 1, 1) != 0)
				return MFV_ERR_OCSP_RESPONDER;
			if ((rc = mfvi_cert_check_sig(&delegated, issuer)) != 0)
				return rc == MFV_ERR_BACKEND ? rc : MFV_ERR_OCSP_RESPONDER;
			signer = &delegated;
		}
	}
	if (signer == NULL)
		return MFV_ERR_OCSP_RESPONDER;
	if ((rc = mfvi_sig_check(signer, salg, salt, tbstlv.p, tbstlv.len, sig.p, sig.len)) != 0)
		return (rc == MFV_ERR_BACKEND || rc == MFV_ERR_UNSUPPORTED_ALG) ? rc
		       : MFV_ERR_OCSP_BAD_SIGNATURE;

	/* Only now does the content count. */
	if (!found)
		return MFV_ERR_OCSP_NO_MATCH;
	if (s.status == 1)
		return MFV_ERR_OCSP_REVOKED;
	if (s.status == 2)
		return MFV_ERR_OCSP_UNKNOWN;
	if (!s.has_next)
		return MFV_ERR_OCSP_STALE;
	if ((rc = mfvi_time_window(ctx, s.this_update, s.next_update,
	                           MFV_ERR_OCSP_FUTURE, MFV_ERR_OCSP_STALE)) != 0)
		return rc;
	*this_update = s.this_update;
	return 0;
}
