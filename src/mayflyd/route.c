/*
 * route.c: maps (method, path) to an endpoint and decodes the pieces of a
 * request that arrive in the URL or a small body. Everything here is a pure
 * function over bytes so that it can be fuzzed without a server.
 */
#include "mf_build.h"

#include <ctype.h>
#include <string.h>

#include "mferr.h"
#include "route.h"

static const char *const mfd_ep_names[MFD_EP_COUNT_] = {
	"other", "ocsp_post", "ocsp_get", "crl", "ca", "health", "metrics", "admin_revoke",
	"trust"
};

const char *
mfd_endpoint_name(enum mfd_endpoint ep)
{
	if ((unsigned)ep >= MFD_EP_COUNT_)
		return "other";
	return mfd_ep_names[ep];
}

/* A name used as a table key: no '/', no leading dot, bounded. */
static int
mfd_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MFD_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
mfd_has_suffix(const char *s, size_t n, const char *suf, size_t *stem)
{
	size_t sl = strlen(suf);

	if (n <= sl || memcmp(s + n - sl, suf, sl) != 0)
		return 0;
	*stem = n - sl;
	return 1;
}

/* A version number in a path: decimal, no sign, no leading zero, <= 2^31-1. */
static int
mfd_version_ok(const char *s, unsigned long *out)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 2147483647UL)
		return 0;
	*out = v;
	return 1;
}

void
mfd_route_match(const char *method, const char *path, struct mfd_route *r)
{
	int get, post;
	size_t n, stem;

	memset(r, 0, sizeof(*r));
	r->status = 404;
	if (method == NULL || path == NULL)
		return;
	r->head = strcmp(method, "HEAD") == 0;
	get = r->head || strcmp(method, "GET") == 0;
	post = strcmp(method, "POST") == 0;

	if (strcmp(path, "/ocsp") == 0 || strcmp(path, "/ocsp/") == 0) {
		/* A GET of the bare prefix carries no request: malformed, not 405. */
		r->ep = post ? MFD_EP_OCSP_POST : MFD_EP_OCSP_GET;
		r->status = (post || get) ? 0 : 405;
		r->arg = path + strlen(path);
		return;
	}
	if (strncmp(path, "/ocsp/", 6) == 0) {
		r->ep = MFD_EP_OCSP_GET;
		r->status = get ? 0 : 405;
		r->arg = path + 6;
		r->arglen = strlen(r->arg);
		return;
	}
	if (strncmp(path, "/crl/", 5) == 0) {
		r->arg = path + 5;
		n = strlen(r->arg);
		if (!mfd_has_suffix(r->arg, n, ".crl", &stem) || !mfd_name_ok(r->arg, stem))
			return;
		r->ep = MFD_EP_CRL;
		r->arglen = stem;
		r->status = get ? 0 : 405;
		return;
	}
	if (strncmp(path, "/ca/", 4) == 0) {
		r->arg = path + 4;
		n = strlen(r->arg);
		if (mfd_has_suffix(r->arg, n, ".pem", &stem))
			r->fmt = MFD_CA_PEM;
		else if (mfd_has_suffix(r->arg, n, ".der", &stem))
			r->fmt = MFD_CA_DER;
		else if (mfd_has_suffix(r->arg, n, ".p7c", &stem))
			r->fmt = MFD_CA_P7C;
		else
			return;
		if (!mfd_name_ok(r->arg, stem))
			return;
		r->ep = MFD_EP_CA;
		r->arglen = stem;
		r->status = get ? 0 : 405;
		return;
	}
	if (strcmp(path, "/trust/latest") == 0 ||
	    (strncmp(path, "/trust/v/", 9) == 0 && mfd_version_ok(path + 9, &r->num) && r->num > 0) ||
	    (strncmp(path, "/trust/since/", 13) == 0 && mfd_version_ok(path + 13, &r->num))) {
		r->ep = MFD_EP_TRUST;
		r->trust = path[7] == 'l' ? MFD_TRUST_LATEST : path[7] == 'v' ? MFD_TRUST_VERSION :
		    MFD_TRUST_SINCE;
		r->status = get ? 0 : 405;
		return;
	}
	if (strcmp(path, "/health") == 0) {
		r->ep = MFD_EP_HEALTH;
		r->status = get ? 0 : 405;
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		r->ep = MFD_EP_METRICS;
		r->status = get ? 0 : 405;
		return;
	}
	if (strcmp(path, "/admin/revoke") == 0) {
		r->ep = MFD_EP_ADMIN_REVOKE;
		r->status = post ? 0 : 405;
		return;
	}
}

static int
mfd_b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
mfd_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
mfd_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0, pad = 0;

	*outlen = 0;
	for (i = 0; i < inlen; i++) {
		int c = (unsigned char)in[i], v;

		if (c == '%') {
			int h, l;

			if (i + 2 >= inlen)
				return MF_ERR_OCSP_MALFORMED;
			if ((h = mfd_hexval((unsigned char)in[i + 1])) < 0 ||
			    (l = mfd_hexval((unsigned char)in[i + 2])) < 0)
				return MF_ERR_OCSP_MALFORMED;
			c = h * 16 + l;
			i += 2;
		}
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)		/* data after padding */
			return MF_ERR_OCSP_MALFORMED;
		if ((v = mfd_b64_val(c)) < 0)
			return MF_ERR_OCSP_MALFORMED;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return MF_ERR_OCSP_MALFORMED;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* Leftover bits must be zero and fewer than a byte; at most two '='. */
	if (pad > 2 || bits >= 6 || acc != 0)
		return MF_ERR_OCSP_MALFORMED;
	*outlen = o;
	return 0;
}

void
mfd_b64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) |
		    in[i + 2];

		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;

		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);

		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

const char *
mfd_bearer(const char *hdr, size_t *len)
{
	const char *p, *e;

	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0)
		return NULL;
	p = hdr + 7;
	while (*p == ' ')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e == p)
		return NULL;
	*len = (size_t)(e - p);
	return p;
}

int
mfd_revoke_body_parse(const char *body, size_t len, char *serial, size_t serialmax,
    int *reason)
{
	size_t i = 0;
	int have_serial = 0;

	*reason = 0;
	if (serialmax == 0)
		return MF_ERR_INVAL;
	serial[0] = '\0';
	while (i < len) {
		size_t ks = i, ke, vs, ve;

		while (i < len && body[i] != '=' && body[i] != '&' && body[i] != '\n')
			i++;
		ke = i;
		if (i >= len || body[i] != '=')
			return MF_ERR_INVAL;
		vs = ++i;
		while (i < len && body[i] != '&' && body[i] != '\n' && body[i] != '\r')
			i++;
		ve = i;
		while (i < len && (body[i] == '&' || body[i] == '\n' || body[i] == '\r'))
			i++;
		if (ke - ks == 6 && memcmp(body + ks, "serial", 6) == 0) {
			size_t n, j;

			if (have_serial)
				return MF_ERR_INVAL;
			if (ve - vs > 2 && body[vs] == '0' && (body[vs + 1] == 'x' || body[vs + 1] == 'X'))
				vs += 2;
			n = ve - vs;
			if (n == 0 || n > 40 || n + 1 > serialmax)
				return MF_ERR_INVAL;
			for (j = 0; j < n; j++) {
				int c = (unsigned char)body[vs + j];

				if (!isxdigit(c))
					return MF_ERR_INVAL;
				serial[j] = (char)tolower(c);
			}
			serial[n] = '\0';
			have_serial = 1;
		} else if (ke - ks == 6 && memcmp(body + ks, "reason", 6) == 0) {
			int v = 0;
			size_t j;

			if (ve - vs == 0 || ve - vs > 2)
				return MF_ERR_INVAL;
			for (j = vs; j < ve; j++) {
				if (!isdigit((unsigned char)body[j]))
					return MF_ERR_INVAL;
				v = v * 10 + (body[j] - '0');
			}
			if (v > 10 || v == 7)
				return MF_ERR_INVAL;
			*reason = v;
		} else {
			return MF_ERR_INVAL;
		}
	}
	return have_serial ? 0 : MF_ERR_INVAL;
}
