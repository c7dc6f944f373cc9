/*
 * est_p7.c: libFuzzer target for what contrib/est-renew does with an EST
 * answer (simplereenroll or cacerts, RFC 7030 4.1.3 and 4.2.3) before it
 * checks the chain and the key. The script is sh over the openssl tool;
 * this target runs the same library calls in the same order, so that
 * ASan and UBSan watch the path a hostile EST server drives:
 *
 *   tr -d ' \t\r\n' | openssl base64 -d -A      whitespace out, base64 in one line
 *   openssl pkcs7 -inform DER -print_certs      d2i PKCS#7, its certificates as PEM
 *   openssl x509 -out leaf.pem                  the first certificate, PEM in and out
 *   openssl x509 -noout -subject/-issuer -nameopt RFC2253 (self-issued or not),
 *     -pubkey (against the new key), -enddate, -serial, -ext subjectAltName
 *     (the names of the next renewal)
 *
 * Input: the answer body, at most est-renew's 1 MiB (MAXANSWER). Every
 * certificate must come back from its PEM to the same DER, or the target
 * aborts: est-renew installs the PEM, and the next run reads it back.
 * OpenSSL itself is not instrumented here (the system library), so the
 * coverage counts this path's decisions, not OpenSSL's.
 *
 *   make fuzz-smoke-cli       (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define EST_ANSWER_MAX	(1024 * 1024)	/* MAXANSWER in est-renew.sh */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `tr -d ' \t\r\n' | openssl base64 -d -A`: a BIO_f_base64 without newlines. */
static unsigned char *
b64_decode(const uint8_t *data, size_t size, int *outlen)
{
	char *clean;
	unsigned char *out = NULL;
	BIO *mem = NULL, *b64 = NULL;
	size_t i, n = 0;
	int l, got = 0;

	if ((clean = malloc(size + 1)) == NULL)
		return NULL;
	for (i = 0; i < size; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
			clean[n++] = (char)data[i];
	if ((out = malloc(n / 4 * 3 + 4)) == NULL ||
	    (mem = BIO_new_mem_buf(clean, (int)n)) == NULL || (b64 = BIO_new(BIO_f_base64())) == NULL)
		goto fail;
	BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
	mem = BIO_push(b64, mem);
	b64 = NULL;
	while ((l = BIO_read(mem, out + got, (int)(n / 4 * 3 + 4) - got)) > 0) {
		got += l;
		if (got > (int)(n / 4 * 3 + 3))
			__builtin_trap();	/* more bytes out than the base64 can hold */
	}
	BIO_free_all(mem);
	free(clean);
	*outlen = got;
	return out;
fail:
	BIO_free(b64);
	BIO_free_all(mem);
	free(clean);
	free(out);
	return NULL;
}

/* The certificates of a signed (or signed-and-enveloped) PKCS#7, as -print_certs takes them. */
static STACK_OF(X509) *
p7_certs(PKCS7 *p7)
{
	if (p7->d.ptr == NULL)
		return NULL;
	switch (OBJ_obj2nid(p7->type)) {
	case NID_pkcs7_signed:
		return p7->d.sign->cert;
	case NID_pkcs7_signedAndEnveloped:
		return p7->d.signed_and_enveloped->cert;
	default:
		return NULL;
	}
}

/* Drains a memory BIO's text, so that every byte of it is read by ASan's eyes. */
static void
drain(BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	volatile unsigned char sum = 0;

	while (n-- > 0)
		sum ^= (unsigned char)*p++;
	(void)sum;
	(void)BIO_reset(b);
}

/* What the script asks of each certificate. */
static void
inspect(X509 *x, BIO *out)
{
	GENERAL_NAMES *san;
	EVP_PKEY *pk;

	X509_NAME_print_ex(out, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	X509_NAME_print_ex(out, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253);
	(void)X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x));
	ASN1_TIME_print(out, X509_get0_notBefore(x));
	ASN1_TIME_print(out, X509_get0_notAfter(x));
	i2a_ASN1_INTEGER(out, X509_get0_serialNumber(x));
	if ((pk = X509_get0_pubkey(x)) != NULL)
		PEM_write_bio_PUBKEY(out, pk);
	if ((san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) != NULL) {
		STACK_OF(CONF_VALUE) *vals = i2v_GENERAL_NAMES(NULL, san, NULL);

		X509V3_EXT_val_prn(out, vals, 0, 0);
		sk_CONF_VALUE_pop_free(vals, X509V3_conf_free);
		GENERAL_NAMES_free(san);
	}
	drain(out);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *der = NULL, *d1 = NULL, *d2 = NULL;
	const unsigned char *p;
	STACK_OF(X509) *certs;
	PKCS7 *p7 = NULL;
	BIO *pem = NULL, *out = NULL;
	X509 *back = NULL;
	int len, i, l1, l2;

	if (size > EST_ANSWER_MAX || (der = b64_decode(data, size, &len)) == NULL)
		goto out;
	p = der;
	if (len == 0 || (p7 = d2i_PKCS7(NULL, &p, len)) == NULL)
		goto out;
	if ((certs = p7_certs(p7)) == NULL || (out = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		/* -print_certs, then `openssl x509` reading it back. */
		if ((pem = BIO_new(BIO_s_mem())) == NULL)
			goto out;
		if (PEM_write_bio_X509(pem, x) != 1) {
			BIO_free(pem);
			pem = NULL;
			continue;
		}
		if ((back = PEM_read_bio_X509(pem, NULL, NULL, NULL)) == NULL)
			__builtin_trap();	/* printed, but does not read back */
		d1 = d2 = NULL;
		if ((l1 = i2d_X509(x, &d1)) <= 0 || (l2 = i2d_X509(back, &d2)) != l1 ||
		    memcmp(d1, d2, (size_t)l1) != 0)
			__builtin_trap();	/* reads back as another certificate */
		OPENSSL_free(d1);
		OPENSSL_free(d2);
		inspect(back, out);
		X509_free(back);
		back = NULL;
		BIO_free(pem);
		pem = NULL;
	}
out:
	ERR_clear_error();
	X509_free(back);
	BIO_free(pem);
	BIO_free(out);
	PKCS7_free(p7);
	free(der);
	return 0;
}
