/*
 * cert_load.c: libFuzzer target for the CLI's certificate file reader,
 * mf_cert_load() (issuer.c), through mf_cert_parse(), the part of it after
 * the file is read. `mayfly bundle create --roots file:PATH` reads a root
 * certificate made elsewhere with it; the roots, intermediates and
 * cross-certificates the configuration names go through it too (`mayfly
 * crl`, `root add`, `rotate`, and mayflyd's start).
 *
 * Then what the CLI does with such a certificate: its pin for a bundle
 * (mf_bundle_pin_cert, which must then match the certificate), its serial
 * as the log keys it (mf_serial_hex), and the SubjectPublicKeyInfo hash
 * of `mayfly revoke --key` (mf_cert_spki_sha256, a DER walk of its own),
 * checked against OpenSSL's: when OpenSSL's encoding of the key is in the
 * certificate's DER as it stands, the walk must find and hash those bytes,
 * or the target aborts.
 *
 *   make fuzz-smoke-cli       (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include "mf_build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "issuer.h"
#include "mferr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char pin[32], mine[32], theirs[32], *der = NULL, *spki = NULL;
	char serial[2 * MF_SERIAL_MAX + 1];
	X509 *x = NULL;
	int len, slen;

	if (mf_cert_parse(data, size, &x) != MF_OK) {
		if (x != NULL)
			__builtin_trap();
		return 0;
	}
	if (x == NULL)
		__builtin_trap();
	if (mf_bundle_pin_cert(x, pin) == MF_OK && mf_bundle_pin_matches(x, pin) != 1)
		__builtin_trap();	/* a pin that does not match its own root */
	(void)mf_serial_hex(X509_get0_serialNumber(x), serial, sizeof(serial));

	if ((len = i2d_X509(x, &der)) > 0 &&
	    (slen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki)) > 0 &&
	    memmem(der, (size_t)len, spki, (size_t)slen) != NULL) {
		SHA256(spki, (size_t)slen, theirs);
		if (mf_cert_spki_sha256(der, (size_t)len, mine) != MF_OK ||
		    memcmp(mine, theirs, sizeof(mine)) != 0)
			__builtin_trap();	/* revoke --key would miss this key */
	}
	OPENSSL_free(spki);
	OPENSSL_free(der);
	X509_free(x);
	ERR_clear_error();
	return 0;
}
