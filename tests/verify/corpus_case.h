/*
 * corpus_case.h - test plumbing shared by check_verify and corpus_run:
 * loading the generated corpus and running one line of
 * tests/verify/cases.txt through the library.  PEM decoding and pin
 * hashing use OpenSSL on purpose: the tests do not trust the library's own
 * parser for their inputs.
 */
#ifndef MFV_CORPUS_CASE_H
#define MFV_CORPUS_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "mayfly_verify.h"

#define MFVT_MAXC 16

struct mfvt_certs {
	unsigned char *der[MFVT_MAXC];
	long len[MFVT_MAXC];
	size_t n;
};

void mfvt_certs_free(struct mfvt_certs *c);

/* Appends the certificates of corpus/file; 0, or -1 if it holds none. */
int mfvt_load_pem(const char *corpus, const char *file, struct mfvt_certs *c);

/* SHA-256 of a certificate's SubjectPublicKeyInfo; 0 or -1. */
int mfvt_spki_hash(const unsigned char *der, long len, uint8_t out[32]);

/*
 * Runs one case: opts are the case's key=value options (see cases.txt),
 * chainfile the PEM chain in corpus, times relative to test_now. Returns
 * the library's result (0 or a negative MFV_ERR_*), or 1 if the case's
 * input is bad (why says what).
 */
int mfvt_run_case(const char *corpus, int64_t test_now, const char *opts,
                  const char *chainfile, struct mfv_result *res, char *why, size_t whylen);

/* A result as cases.txt writes it: "OK", "LIFETIME_TOO_LONG", ... */
const char *mfvt_case_name(int rc);

#endif
