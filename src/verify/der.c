/*
 * der.c - the strict DER reader of libmayfly-verify.
 *
 * Certificates and OCSP responses reach a device from the network, so the
 * reader accepts only Distinguished Encoding Rules and nothing looser:
 * single-byte tags, definite lengths in their shortest form (at most two
 * length octets, which covers every object the verifier accepts), values
 * that end exactly where their parent ends.  Accepting BER would make two
 * byte strings mean the same certificate, which is how signature and
 * hash-pinning confusion bugs start.  Every function returns 0 or a
 * negative enum mfv_err and never reads outside the buffer it was given.
 */
#include <string.h>
#include "mfv_int.h"

static int
read_tlv(struct mfvi_der *r, uint8_t *tag, struct mfvi_der *val, struct mfvi_der *tlv)
{
	const uint8_t *p = r->p;
	size_t left = r->len, hdr, len;

	if (left < 2)
		return MFV_ERR_DER_TRUNCATED;
	/* Multi-byte tags (low bits 0x1f) never occur in what we parse. */
	if ((p[0] & 0x1f) == 0x1f)
		return MFV_ERR_DER_TAG;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else if (p[1] == 0x81) {
		if (left < 3)
			return MFV_ERR_DER_TRUNCATED;
		if (p[2] < 0x80)
			return MFV_ERR_DER_LENGTH; /* fits the short form */
		len = p[2];
		hdr = 3;
	} else if (p[1] == 0x82) {
		if (left < 4)
			return MFV_ERR_DER_TRUNCATED;
		if (p[2] == 0)
			return MFV_ERR_DER_LENGTH; /* fits one length octet */
		len = ((size_t)p[2] << 8) | p[3];
		hdr = 4;
	} else {
		/* 0x80 is BER's indefinite form; longer forms are either
		 * non-minimal or larger than anything we accept. */
		return MFV_ERR_DER_LENGTH;
	}
	if (len > left - hdr)
		return MFV_ERR_DER_TRUNCATED;
	*tag = p[0];
	val->p = p + hdr;
	val->len = len;
	if (tlv != NULL) {
		tlv->p = p;
		tlv->len = hdr + len;
	}
	r->p = p + hdr + len;
	r->len = left - hdr - len;
	return 0;
}

int
mfvi_der_get(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val, struct mfvi_der *tlv)
{
	struct mfvi_der save = *r;
	uint8_t t;
	int rc;

	if ((rc = read_tlv(r, &t, val, tlv)) != 0)
		return rc;
	if (t != tag) {
		*r = save;
		return MFV_ERR_DER_TAG;
	}
	return 0;
}

int
mfvi_der_peek(const struct mfvi_der *r)
{
	return r->len == 0 ? -1 : r->p[0];
}

int
mfvi_der_opt(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val, struct mfvi_der *tlv)
{
	int rc;

	if (mfvi_der_peek(r) != tag)
		return 0;
	if ((rc = mfvi_der_get(r, tag, val, tlv)) != 0)
		return rc;
	return 1;
}

int
mfvi_der_end(const struct mfvi_der *r)
{
	return r->len == 0 ? 0 : MFV_ERR_DER_TRAILING;
}

int
mfvi_der_int_minimal(const struct mfvi_der *v)
{
	if (v->len == 0)
		return MFV_ERR_BAD_INTEGER;
	/* X.690 8.3.2: the first nine bits must not be all zero or all one. */
	if (v->len > 1 && ((v->p[0] == 0x00 && (v->p[1] & 0x80) == 0) ||
	                   (v->p[0] == 0xff && (v->p[1] & 0x80) != 0)))
		return MFV_ERR_BAD_INTEGER;
	return 0;
}

int
mfvi_der_small_uint(const struct mfvi_der *v, uint32_t *out)
{
	uint32_t x = 0;
	size_t i;
	int rc;

	if ((rc = mfvi_der_int_minimal(v)) != 0)
		return rc;
	if ((v->p[0] & 0x80) != 0 || v->len > 4)
		return MFV_ERR_BAD_INTEGER;
	for (i = 0; i < v->len; i++)
		x = (x << 8) | v->p[i];
	*out = x; /* at most 31 bits: four octets, sign bit clear */
	return 0;
}

int
mfvi_der_bool(const struct mfvi_der *v, int *out)
{
	if (v->len != 1 || (v->p[0] != 0x00 && v->p[0] != 0xff))
		return MFV_ERR_DER_VALUE;
	*out = v->p[0] != 0;
	return 0;
}

int
mfvi_der_bits_octets(const struct mfvi_der *v, struct mfvi_der *out)
{
	if (v->len < 1 || v->p[0] != 0)
		return MFV_ERR_DER_VALUE;
	out->p = v->p + 1;
	out->len = v->len - 1;
	return 0;
}

static int
digits(const uint8_t *p, unsigned n, int *out)
{
	int x = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return MFV_ERR_BAD_TIME;
		x = x * 10 + (p[i] - '0');
	}
	*out = x;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the
 * "days from civil" algorithm); only int32 arithmetic, so it stays cheap
 * on a Cortex-M. */
static int32_t
days_from_civil(int y, int m, int d)
{
	int32_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400; /* y >= 0 here */
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
mfvi_der_time(uint8_t tag, const struct mfvi_der *v, int64_t *out)
{
	static const uint8_t mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const uint8_t *p = v->p;
	int y, mo, d, h, mi, s, leap;
	unsigned yl;

	/* RFC 5280 4.1.2.5: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, seconds
	 * present, no fractions, always Zulu. */
	if (tag == MFVI_UTCTIME)
		yl = 2;
	else if (tag == MFVI_GENTIME)
		yl = 4;
	else
		return MFV_ERR_DER_TAG;
	if (v->len != yl + 11 || p[yl + 10] != 'Z')
		return MFV_ERR_BAD_TIME;
	if (digits(p, yl, &y) || digits(p + yl, 2, &mo) || digits(p + yl + 2, 2, &d) ||
	    digits(p + yl + 4, 2, &h) || digits(p + yl + 6, 2, &mi) || digits(p + yl + 8, 2, &s))
		return MFV_ERR_BAD_TIME;
	if (yl == 2)
		y += y < 50 ? 2000 : 1900;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || s > 59)
		return MFV_ERR_BAD_TIME;
	*out = (int64_t)days_from_civil(y, mo, d) * 86400 + (h * 3600 + mi * 60 + s);
	return 0;
}

int
mfvi_der_get_time(struct mfvi_der *r, int64_t *out)
{
	struct mfvi_der v;
	int t = mfvi_der_peek(r), rc;

	if (t != MFVI_UTCTIME && t != MFVI_GENTIME)
		return t < 0 ? MFV_ERR_DER_TRUNCATED : MFV_ERR_DER_TAG;
	if ((rc = mfvi_der_get(r, (uint8_t)t, &v, NULL)) != 0)
		return rc;
	return mfvi_der_time((uint8_t)t, &v, out);
}

int
mfvi_der_name_check(const struct mfvi_der *name)
{
	struct mfvi_der r = *name, set, atv, x;
	int rc;

	while (r.len > 0) {
		if ((rc = mfvi_der_get(&r, MFVI_SET, &set, NULL)) != 0)
			return rc;
		if (set.len == 0)
			return MFV_ERR_DER_VALUE;
		while (set.len > 0) {
			if ((rc = mfvi_der_get(&set, MFVI_SEQUENCE, &atv, NULL)) != 0 ||
			    (rc = mfvi_der_get(&atv, MFVI_OID, &x, NULL)) != 0)
				return rc;
			if (atv.len == 0)
				return MFV_ERR_DER_TRUNCATED;
			{
				uint8_t t;
				/* The value may be any string type; check
				 * only that it is one well-formed TLV. */
				if ((rc = read_tlv(&atv, &t, &x, NULL)) != 0)
					return rc;
			}
			if ((rc = mfvi_der_end(&atv)) != 0)
				return rc;
		}
	}
	return 0;
}

int
mfvi_span_eq(const struct mfv_span *a, const struct mfv_span *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

int
mfvi_oid_is(const struct mfvi_der *oid, const uint8_t *want, size_t want_len)
{
	return oid->len == want_len && memcmp(oid->p, want, want_len) == 0;
}

int
mfvi_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}
