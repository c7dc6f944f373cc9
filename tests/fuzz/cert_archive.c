/*
 * cert_archive.c: libFuzzer target for the reader of `mayfly audit verify
 * --archive FILE`, mf_cert_archive_read() (issuer.c): PEM certificates one
 * after another, as `mayfly db prune --archive` wrote them, in a file that
 * may since have been edited (that is what the check is for).
 *
 * The CLI hands each certificate's serial and DER hash to a lookup in the
 * log; here the callback takes every certificate, so the walk goes to the
 * end of the input, and checks what it is given: a serial in lower-case
 * hex of at most 20 octets, counted once per call. An input the reader
 * accepts must end at a clean end of input (MF_OK with as many
 * certificates as calls) and a refusal must say why; anything else aborts.
 *
 *   make fuzz-smoke-cli       (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include "mf_build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "issuer.h"
#include "mferr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int64_t calls;
	unsigned char last[32];
};

static int
each(void *arg, const char *serial, const unsigned char md[32], char *why, size_t whylen)
{
	struct seen *s = arg;
	size_t n = strlen(serial);

	(void)why;
	(void)whylen;
	if (n == 0 || n > 2 * MF_SERIAL_MAX || strspn(serial, "0123456789abcdef") != n)
		__builtin_trap();
	memcpy(s->last, md, 32);
	s->calls++;
	return MF_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0, { 0 } };
	char why[256];
	int64_t n = -1;
	BIO *b;
	int rc;

	if (size > (1 << 20) || (b = BIO_new_mem_buf(data, (int)size)) == NULL)
		return 0;
	why[0] = '\0';
	rc = mf_cert_archive_read(b, each, &s, &n, why, sizeof(why));
	if (n != s.calls || (rc == MF_OK && why[0] != '\0') || (rc != MF_OK && why[0] == '\0'))
		__builtin_trap();
	BIO_free(b);
	ERR_clear_error();
	return 0;
}
