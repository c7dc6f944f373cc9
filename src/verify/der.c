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
mfvi_der_any(struct mfvi_der *r, int *tag, struct mfvi_der *val)
{
	uint8_t t;
	int rc;

	if ((rc = read_tlv(r, &t, val, NULL)) == 0)
		*tag = t;
	return rc;
}

int
mfvi_der_get_tlv(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val, struct mfvi_der *tlv)
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
mfvi_der_get(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val)
{
	return mfvi_der_get_tlv(r, tag, val, NULL);
}

int
mfvi_der_sole(struct mfvi_der *r, uint8_t tag)
{
	struct mfvi_der v;
	int rc;

	if ((rc = mfvi_der_get(r, tag, &v)) != 0 || (rc = mfvi_der_end(r)) != 0)
		return rc;
	*r = v;
	return 0;
}

int
mfvi_der_seq(struct mfvi_der *r, const uint8_t *tags, size_t n, struct mfvi_der *val,
             struct mfvi_der *tlv)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (tags[i] == 0)
			return mfvi_der_end(r);
		if ((rc = mfvi_der_get_tlv(r, tags[i], &val[i], tlv != NULL ? &tlv[i] : NULL)) != 0)
			return rc;
	}
	return 0;
}

int
mfvi_der_peek(const struct mfvi_der *r)
{
	return r->len == 0 ? -1 : r->p[0];
}

int
mfvi_der_opt(struct mfvi_der *r, uint8_t tag, struct mfvi_der *val)
{
	int rc;

	if (mfvi_der_peek(r) != tag)
		return 0;
	if ((rc = mfvi_der_get(r, tag, val)) != 0)
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
	if (v->len > 1 && v->p[0] == ((v->p[1] & 0x80) ? 0xff : 0x00))
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
mfvi_der_opt_true(struct mfvi_der *r)
{
	struct mfvi_der v;
	int rc = mfvi_der_opt(r, MFVI_BOOLEAN, &v);

	/* X.690 11.1 and 11.5: DEFAULT FALSE is encoded only when TRUE, and
	 * TRUE is 0xFF. */
	if (rc == 1 && (v.len != 1 || v.p[0] != 0xff))
		return MFV_ERR_DER_VALUE;
	return rc;
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

int
mfvi_der_time(uint8_t tag, const struct mfvi_der *v, int64_t *out)
{
	int f[7], y, m, d, leap;
	const int *g;
	size_t i, n;

	/* RFC 5280 4.1.2.5: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, seconds
	 * present, no fractions, always Zulu.  Parse two digits at a time. */
	n = tag == MFVI_UTCTIME ? 13 : 15;
	if (v->len != n || v->p[n - 1] != 'Z')
		return MFV_ERR_BAD_TIME;
	for (i = 0; i < n - 1; i += 2) {
		unsigned a = (uint8_t)(v->p[i] - '0'), b = (uint8_t)(v->p[i + 1] - '0');
		if (a > 9 || b > 9)
			return MFV_ERR_BAD_TIME;
		f[i / 2] = (int)(a * 10 + b);
	}
	/* g: month, day, hour, minute, second */
	g = f + 1;
	if (n == 13) {
		y = f[0] + (f[0] < 50 ? 2000 : 1900);
	} else {
		y = f[0] * 100 + f[1];
		g++;
	}
	m = g[0];
	d = g[1];
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	/* Month lengths: 31 for odd months up to July and even ones from
	 * August, else 30; February 28 or 29. */
	if (m < 1 || m > 12 || y < 1 || g[2] > 23 || g[3] > 59 || g[4] > 59 || d < 1 ||
	    d > (m == 2 ? 28 + leap : 30 + ((m ^ (m >> 3)) & 1)))
		return MFV_ERR_BAD_TIME;
	/* Days since 1970-01-01 counting years from March, so that the
	 * leap day ends a year (the day before March of year y is day
	 * (153 * 10 + 2) / 5 = 306 of the March-based year y - 1); 719469
	 * is that count for 1970-01-01, and y >= 1 keeps y - 1 >= 0. */
	if (m < 3) {
		y--;
		m += 12;
	}
	d += 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 - 719469;
	*out = (int64_t)d * 86400 + (g[2] * 3600 + g[3] * 60 + g[4]);
	return 0;
}

int
mfvi_der_get_time(struct mfvi_der *r, int64_t *out)
{
	struct mfvi_der v;
	int t = mfvi_der_peek(r), rc;

	if (t != MFVI_UTCTIME && t != MFVI_GENTIME)
		return t < 0 ? MFV_ERR_DER_TRUNCATED : MFV_ERR_DER_TAG;
	if ((rc = mfvi_der_get(r, (uint8_t)t, &v)) != 0)
		return rc;
	return mfvi_der_time((uint8_t)t, &v, out);
}

int
mfvi_der_name(struct mfvi_der *from, struct mfv_span *out, struct mfv_span *cn)
{
	static const uint8_t oid_cn[] = { 0x55, 0x04, 0x03 };
	struct mfvi_der r, tlv, set, atv, x;
	uint8_t t;
	int rc, is_cn;

	if ((rc = mfvi_der_get_tlv(from, MFVI_SEQUENCE, &r, &tlv)) != 0)
		return rc;
	out->p = tlv.p;
	out->len = (uint32_t)tlv.len;

	while (r.len > 0) {
		if ((rc = mfvi_der_get(&r, MFVI_SET, &set)) != 0)
			return rc;
		if (set.len == 0)
			return MFV_ERR_DER_VALUE;
		while (set.len > 0) {
			if ((rc = mfvi_der_get(&set, MFVI_SEQUENCE, &atv)) != 0 ||
			    (rc = mfvi_der_get(&atv, MFVI_OID, &x)) != 0)
				return rc;
			is_cn = MFVI_OID_IS(&x, oid_cn);
			if (atv.len == 0)
				return MFV_ERR_DER_TRUNCATED;
			/* The value may be any string type; check only that
			 * it is one well-formed TLV. */
			if ((rc = read_tlv(&atv, &t, &x, NULL)) != 0 ||
			    (rc = mfvi_der_end(&atv)) != 0)
				return rc;
			if (cn != NULL && is_cn) {
				/* CA/Browser Forum BR 7.1.4.3: at most one
				 * commonName, which the leaf check compares
				 * with the SAN. */
				if (cn->p != NULL)
					return MFV_ERR_PROFILE;
				cn->p = x.p;
				cn->len = (uint32_t)x.len;
			}
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
