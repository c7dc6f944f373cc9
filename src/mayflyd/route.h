/*
 * route.h: the daemon's URL space, as pure functions.
 *
 * Routing and the decoding of RFC 5019 GET requests take a method and an
 * already percent-decoded path (what libmicrohttpd hands the access
 * handler) and never touch the network, the cache or the signer, so the
 * unit tests and the libFuzzer target call them directly.
 *
 *   POST /ocsp                  OCSP request in the body (RFC 6960 A.1)
 *   GET  /ocsp/{base64}         RFC 5019 / RFC 6960 A.1: the rest of the
 *                               path, '/' included, is the base64 request
 *   GET  /crl/{issuer}.crl      the current CRL of an intermediate
 *   GET  /ca/{name}.pem|der|p7c CA certificates and chains
 *   GET  /trust/latest          the newest published trust bundle
 *   GET  /trust/v/{N}           trust bundle version N
 *   GET  /trust/since/{N}       every published version above N, concatenated
 *   GET  /health, GET /metrics
 *   POST /admin/revoke          bearer-token protected revocation
 * HEAD is accepted wherever GET is.
 */
#ifndef MFD_ROUTE_H
#define MFD_ROUTE_H

#include <stddef.h>

enum mfd_endpoint {
	MFD_EP_OTHER = 0,		/* unknown path: 404 */
	MFD_EP_OCSP_POST,
	MFD_EP_OCSP_GET,
	MFD_EP_CRL,
	MFD_EP_CA,
	MFD_EP_HEALTH,
	MFD_EP_METRICS,
	MFD_EP_ADMIN_REVOKE,
	MFD_EP_TRUST,
	MFD_EP_COUNT_
};

enum mfd_ca_format { MFD_CA_PEM = 1, MFD_CA_DER, MFD_CA_P7C };
enum mfd_trust_kind { MFD_TRUST_LATEST = 1, MFD_TRUST_VERSION, MFD_TRUST_SINCE };

struct mfd_route {
	enum mfd_endpoint ep;
	int status;			/* 0: handle it; 404 or 405: answer that */
	const char *arg;		/* borrowed from the path: base64, issuer or CA name */
	size_t arglen;
	enum mfd_ca_format fmt;		/* MFD_EP_CA only */
	enum mfd_trust_kind trust;	/* MFD_EP_TRUST only, with its N (0..2^31-1) */
	unsigned long num;
	int head;			/* HEAD request: headers only */
};

/* The longest name accepted in /crl/ and /ca/ paths. */
#define MFD_NAME_MAX	64

/*
 * Matches method and path; always fills *r (r->status says the outcome).
 * Names in /crl/ and /ca/ must be 1..MFD_NAME_MAX of [A-Za-z0-9._-] and not
 * start with '.', so a name can never walk out of a table or directory.
 */
void mfd_route_match(const char *method, const char *path, struct mfd_route *r);

/* A stable label for metrics ("ocsp_post", ...). */
const char *mfd_endpoint_name(enum mfd_endpoint ep);

/*
 * Decodes the base64 of a GET request. Accepts the standard alphabet with
 * or without '=' padding, percent escapes that survived (%2B %2F %3D, as
 * some clients double-encode), and the URL-safe alphabet ('-' '_').
 * MF_ERR_OCSP_MALFORMED on any other byte or if the result would exceed
 * outmax.
 */
int mfd_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax,
    size_t *outlen);

/* Standard base64 with padding of in; out must hold 4*((n+2)/3)+1 bytes. */
void mfd_b64_encode(const unsigned char *in, size_t n, char *out);

/*
 * Finds the value of "Authorization: Bearer TOKEN"; returns a pointer into
 * hdr and its length, or NULL if hdr is not a bearer credential.
 */
const char *mfd_bearer(const char *hdr, size_t *len);

/*
 * Parses an admin revocation body "serial=HEX[&reason=N]" (form encoding,
 * also accepted with newlines as separators). serial gets lower-case hex
 * without a leading "0x"; reason defaults to 0 (unspecified) and must be
 * 0..10 except 7 (RFC 5280 5.3.1). MF_ERR_INVAL for anything else.
 */
int mfd_revoke_body_parse(const char *body, size_t len, char *serial, size_t serialmax,
    int *reason);

#endif
