/*
 * verify_ocsp.c - libFuzzer target: a stapled OCSP response.
 *
 * Input: leaf and issuer certificates, each prefixed by a two-octet
 * big-endian length, then the OCSPResponse.  Both certificates must parse;
 * the response is then checked against them with a clock, and again with
 * only a last-known-good time.
 */
#include <string.h>
#include "mfv_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mfv_ctx ctx;
	struct mfv_cert leaf, issuer;
	int64_t produced = 0, this_update = 0;
	size_t len;

	if (size < 2 || (len = (size_t)data[0] << 8 | data[1]) > size - 2 ||
	    mfvi_cert_parse(&leaf, data + 2, len) != 0)
		return 0;
	data += 2 + len;
	size -= 2 + len;
	if (size < 2 || (len = (size_t)data[0] << 8 | data[1]) > size - 2 ||
	    mfvi_cert_parse(&issuer, data + 2, len) != 0)
		return 0;
	data += 2 + len;
	size -= 2 + len;
	mfv_init(&ctx);
	mfv_set_time(&ctx, 1795000000);
	(void)mfvi_ocsp_check(&ctx, &leaf, &issuer, data, size, &produced, &this_update);
	mfv_init(&ctx);
	mfv_set_lkgt(&ctx, 1790000000);
	(void)mfvi_ocsp_check(&ctx, &leaf, &issuer, data, size, &produced, &this_update);
	return 0;
}
