/*
 * bundle_parse.c: libFuzzer target for the CLI's trust-bundle reader,
 * mf_bundle_parse(), which `mayfly bundle show|sign|verify|publish` run on
 * files that may come from anywhere (a published bundle, a colleague's
 * half-signed one), and for what the CLI does next with a parsed bundle:
 * decode each signer certificate and match it against the pins.
 *
 * A bundle that parses must encode back to exactly the input (the reader
 * keeps the signed part and every signature as they were), and its fields
 * must be those it was read from: a bundle built anew from them has the
 * same signed part byte for byte, or `bundle show` would print other dates
 * or roots than the ones signed. Either failure aborts the target.
 *
 *   make fuzz-smoke-core      (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include "mf_build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "mferr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_bundle *b = NULL, *again = NULL;
	unsigned char *der = NULL;
	size_t len = 0, i, j;

	if (mf_bundle_parse(data, size, &b) != MF_OK) {
		if (b != NULL)
			__builtin_trap();
		return 0;
	}
	if (b->version == 0 || b->nroots == 0 || b->nroots > MF_BUNDLE_MAX_ROOTS ||
	    b->threshold == 0 || b->threshold > b->nroots || b->nsigs > MF_BUNDLE_MAX_SIGS)
		__builtin_trap();
	if (mf_bundle_encode(b, &der, &len) != MF_OK || len != size || memcmp(der, data, size) != 0)
		__builtin_trap();
	free(der);

	/*
	 * The fields say what is signed (where mf_bundle_new accepts them). A
	 * notAfter of the epoch itself reads as none, on devices too: skipped.
	 */
	if (!(b->not_after == 0 && memmem(b->tbs, b->tbs_len, "\x80\x0f" "19700101000000Z", 17)) &&
	    mf_bundle_new(b->version, b->issued_at, b->not_after, b->threshold,
	    (const unsigned char (*)[32])b->roots, b->nroots, &again) == MF_OK) {
		if (again->tbs_len != b->tbs_len || memcmp(again->tbs, b->tbs, b->tbs_len) != 0)
			__builtin_trap();
		mf_bundle_free(again);
	}

	/* What cli_bundle.c does with the signatures: decode the signer, match pins. */
	for (i = 0; i < b->nsigs; i++) {
		const unsigned char *p = b->sigs[i].cert;
		X509 *x = d2i_X509(NULL, &p, (long)b->sigs[i].cert_len);
		unsigned char pin[32];

		if (x == NULL)
			continue;
		if (mf_bundle_pin_cert(x, pin) == MF_OK)
			for (j = 0; j < b->nroots; j++)
				(void)mf_bundle_pin_matches(x, b->roots[j]);
		X509_free(x);
	}
	ERR_clear_error();
	mf_bundle_free(b);
	return 0;
}
