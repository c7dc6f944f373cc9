/*
 * verify_chain.c - libFuzzer target: a whole chain through mfv_verify().
 *
 * Input: a policy byte, then certificates each prefixed by a two-octet
 * big-endian length.  The last certificate is pinned (by the fake
 * backend's hash of its DER or SPKI, chosen by the policy byte), so that
 * path building can succeed and every policy check is reachable.
 */
#include <string.h>
#include "mfv_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mfv_ctx ctx;
	struct mfv_buf certs[MFV_MAX_CERTS];
	struct mfv_result res;
	struct mfv_cert c;
	uint8_t pin[MFV_HASH_LEN], policy;
	size_t n = 0, len;

	if (size < 1)
		return 0;
	policy = data[0];
	data++;
	size--;
	while (size >= 2 && n < MFV_MAX_CERTS) {
		len = (size_t)data[0] << 8 | data[1];
		if (len > size - 2)
			break;
		certs[n].p = data + 2;
		certs[n++].len = len;
		data += 2 + len;
		size -= 2 + len;
	}
	if (n == 0)
		return 0;
	mfv_init(&ctx);
	if (mfvi_cert_parse(&c, certs[n - 1].p, certs[n - 1].len) == 0) {
		if (policy & 1)
			(void)mfv_be_hash(MFV_HASH_SHA256, c.spki.p, c.spki.len, pin);
		else
			(void)mfv_be_hash(MFV_HASH_SHA256, c.der.p, c.der.len, pin);
	} else {
		memset(pin, 0, sizeof(pin));
	}
	(void)mfv_add_root(&ctx, pin);
	if (policy & 2)
		mfv_set_time(&ctx, 1795000000 + (int64_t)(policy >> 4) * 43200);
	mfv_set_lkgt(&ctx, (policy & 4) ? 1790000000 : 0);
	mfv_set_max_lifetime(&ctx, (policy & 8) ? 86400 : 0);
	if (policy & 0x10)
		mfv_set_flags(&ctx, MFV_FLAG_CLIENT_AUTH);
	if (policy & 0x20)
		(void)mfv_set_host(&ctx, "www.example.test", 16);
	(void)mfv_verify(&ctx, certs, n, NULL, &res);
	(void)mfv_verify_chain(&ctx, certs, n, &res);
	return 0;
}
