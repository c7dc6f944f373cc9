/*
 * verify_der.c - libFuzzer target: one DER certificate through the strict
 * parser, then through name matching and the public API as a lone leaf.
 */
#include <string.h>
#include "mfv_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ip4[4] = { 192, 0, 2, 1 };
	static struct mfv_ctx ctx;
	struct mfv_cert c;
	struct mfv_buf b = { data, size };
	struct mfv_result res;
	uint8_t pin[MFV_HASH_LEN] = { 0 };

	if (mfvi_cert_parse(&c, data, size) == 0) {
		(void)mfvi_name_match(&c, "www.example.test", 16, NULL, 0, 0);
		(void)mfvi_name_match(&c, "a.api.example.test", 18, NULL, 0, 0);
		(void)mfvi_name_match(&c, NULL, 0, ip4, 4, 0);
		if (c.cn.p != NULL)
			(void)mfvi_name_match(&c, (const char *)c.cn.p, c.cn.len, NULL, 0, 1);
	}
	mfv_init(&ctx);
	(void)mfv_add_root(&ctx, pin);
	(void)mfv_set_host(&ctx, "www.example.test", 16);
	(void)mfv_verify(&ctx, &b, 1, NULL, &res);
	return 0;
}
