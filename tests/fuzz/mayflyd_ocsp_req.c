/*
 * mayflyd_ocsp_req.c: libFuzzer target for the OCSP request path of
 * mayflyd: DER parsing into a CertID, issuer matching, and re-encoding of
 * the CertID, exactly as a POST body or a decoded GET path reaches them.
 */
#include "mf_build.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mferr.h"
#include "ocspreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfd_certid id;
	struct mfd_issuer_id ids[1];
	unsigned char *der = NULL;
	size_t len;
	int rc;

	memset(ids, 0x11, sizeof(ids));
	rc = mfd_ocsp_req_parse(data, size, &id);
	if (rc != 0 && rc != MF_ERR_OCSP_MALFORMED && rc != MF_ERR_OCSP_UNAUTHORIZED)
		__builtin_trap();
	if (rc == 0) {
		if ((id.hlen != 20 && id.hlen != 32) || id.serial_len == 0 || id.serial_len > 20)
			__builtin_trap();
		(void)mfd_issuer_find(ids, 1, &id);
		/* What we encode from a parsed CertID must parse back to the same. */
		if (mfd_ocsp_req_encode(&id, &der, &len) == 0) {
			struct mfd_certid again;

			if (mfd_ocsp_req_parse(der, len, &again) != 0 ||
			    memcmp(&again, &id, sizeof(id)) != 0)
				__builtin_trap();
			OPENSSL_free(der);
		}
	}
	return 0;
}
