/*
 * name.c - match the expected server identity against subjectAltName.
 *
 * RFC 6125 as profiled for the web (CA/Browser Forum): DNS names compare
 * case-insensitively in ASCII; a wildcard is allowed only as the whole
 * left-most label and stands for exactly one non-empty label; it needs at
 * least two labels after it, so "*.com" matches nothing.  Partial-label
 * wildcards ("w*.example.com") never match: RFC 6125 6.4.3 permits them
 * but they are a known source of confusion and no mayfly CA issues them.
 * IP addresses compare octet for octet with iPAddress entries.  The subject
 * common name is never consulted (RFC 6125 6.4.4 allows it only when there
 * is no SAN; mayfly leaves always carry a SAN and a CN fallback is exactly
 * the ambiguity that let "CN=*" style attacks through).  It is only held
 * to the Baseline Requirements (7.1.4.3): a leaf's commonName, if any, must
 * be one of its dNSName entries octet for octet, so that what people read
 * in logs is what the device matched.
 */
#include <string.h>
#include "mfv_int.h"

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int
ieq(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

static int
dns_match(const uint8_t *pat, size_t plen, const uint8_t *host, size_t hlen)
{
	size_t i, dots = 0;

	/* The host was checked to be letters, digits, '-', '_' and dots
	 * (mfv_set_host), so a pattern with any other octet cannot match it
	 * and needs no check of its own: a '*' anywhere but in front
	 * meets no host octet and fails the comparisons below. */
	if (plen == 0 || pat[0] != '*')
		return plen == hlen && ieq(pat, host, hlen);
	for (i = 0; i < plen; i++)
		dots += pat[i] == '.';
	/* "*." then at least two labels. */
	if (plen < 4 || pat[1] != '.' || dots < 2 || pat[plen - 1] == '.')
		return 0;
	for (i = 0; i < hlen && host[i] != '.'; i++)
		;
	if (i == 0 || i == hlen)
		return 0;
	return hlen - i == plen - 1 && ieq(pat + 1, host + i, plen - 1);
}

int
mfvi_name_match(const struct mfv_cert *leaf, const char *host, size_t host_len,
                const uint8_t *ip, size_t ip_len, int exact)
{
	struct mfvi_der r, v;
	const uint8_t *h = (const uint8_t *)host;
	int t;

	if (!exact && host_len > 0 && h[host_len - 1] == '.')
		host_len--;
	r.p = leaf->san.p;
	r.len = leaf->san.len;
	while (r.len > 0) {
		t = mfvi_der_peek(&r);
		/* The SAN was checked to be a list of well-formed TLVs when the
		 * certificate was parsed. */
		if (mfvi_der_get(&r, (uint8_t)t, &v) != 0)
			return MFV_ERR_NAME_MISMATCH;
		if (t == MFVI_CTX(2) && host_len > 0 &&
		    (exact ? v.len == host_len && memcmp(v.p, h, host_len) == 0
		           : dns_match(v.p, v.len, h, host_len)))
			return 0;
		if (t == MFVI_CTX(7) && ip_len > 0 && v.len == ip_len && memcmp(v.p, ip, ip_len) == 0)
			return 0;
	}
	return MFV_ERR_NAME_MISMATCH;
}
