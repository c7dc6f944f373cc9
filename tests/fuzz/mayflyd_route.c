/*
 * mayflyd_route.c: libFuzzer target for what mayflyd reads from the request
 * line and headers: method and path routing, the base64 of RFC 5019 GET
 * requests (with the decoded bytes fed on to the OCSP parser), the bearer
 * header and the admin revocation body. The input is split at the first
 * two NUL bytes into method, path and a third field used as header/body.
 */
#include "mf_build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mferr.h"
#include "ocspreq.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *method, *path, *rest;
	struct mfd_route r;
	unsigned char der[MFD_OCSP_REQ_MAX];
	char serial[41];
	size_t n, restlen, blen;
	int reason;

	if ((buf = malloc(size + 3)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = '\0';
	method = buf;
	path = method + strlen(method) + 1;
	if (path > buf + size)
		path = buf + size + 1;
	rest = path + strlen(path) + 1;
	if (rest > buf + size + 1)
		rest = buf + size + 2;
	restlen = (size_t)(buf + size - rest) <= size ? (size_t)(buf + size - rest) : 0;

	mfd_route_match(method, path, &r);
	if (r.status != 0 && r.status != 404 && r.status != 405)
		__builtin_trap();
	if (r.status == 0 && r.arg != NULL && (r.arg < path || r.arg + r.arglen > path + strlen(path)))
		__builtin_trap();	/* arguments always point into the path */
	if (r.status == 0 && r.ep == MFD_EP_OCSP_GET &&
	    mfd_b64_decode(r.arg, r.arglen, der, sizeof(der), &n) == 0) {
		struct mfd_certid id;

		if (n > sizeof(der))
			__builtin_trap();
		(void)mfd_ocsp_req_parse(der, n, &id);
	}
	(void)mfd_bearer(rest, &blen);
	if (mfd_revoke_body_parse(rest, restlen, serial, sizeof(serial), &reason) == 0 &&
	    (strlen(serial) == 0 || strlen(serial) > 40 || reason < 0 || reason > 10 || reason == 7))
		__builtin_trap();
	free(buf);
	return 0;
}
