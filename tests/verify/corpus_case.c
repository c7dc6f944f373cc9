/*
 * corpus_case.c - see corpus_case.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "corpus_case.h"

void
mfvt_certs_free(struct mfvt_certs *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		OPENSSL_free(c->der[i]);
	c->n = 0;
}

int
mfvt_load_pem(const char *corpus, const char *file, struct mfvt_certs *c)
{
	char path[512], *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	size_t before = c->n;
	long len;
	BIO *b;

	snprintf(path, sizeof(path), "%s/%s", corpus, file);
	if ((b = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		return -1;
	}
	while (c->n < MFVT_MAXC && PEM_read_bio(b, &name, &hdr, &data, &len) == 1) {
		c->der[c->n] = data;
		c->len[c->n++] = len;
		OPENSSL_free(name);
		OPENSSL_free(hdr);
	}
	ERR_clear_error();
	BIO_free(b);
	return c->n > before ? 0 : -1;
}

int
mfvt_spki_hash(const unsigned char *der, long len, uint8_t out[32])
{
	const unsigned char *p = der;
	unsigned char *spki = NULL;
	X509 *x = d2i_X509(NULL, &p, len);
	int n, rc = -1;

	if (x != NULL && (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki)) > 0 &&
	    EVP_Digest(spki, (size_t)n, out, NULL, EVP_sha256(), NULL) == 1)
		rc = 0;
	OPENSSL_free(spki);
	X509_free(x);
	return rc;
}

#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); goto out; } while (0)

int
mfvt_run_case(const char *corpus, int64_t test_now, const char *optstr,
              const char *chainfile, struct mfv_result *res, char *why, size_t whylen)
{
	static struct mfv_ctx ctx;
	static unsigned char ocsp[8192];
	struct mfvt_certs chain = { { 0 }, { 0 }, 0 }, roots = { { 0 }, { 0 }, 0 };
	struct mfv_buf bufs[2 * MFVT_MAXC], ob = { NULL, 0 };
	char opts[512], *tok, *save = NULL, rootlist[256] = "root.pem", path[512];
	int pin_spki = 0, noadd = 0, have_ocsp = 0, notime = 0, rc = 1;
	int64_t tm = 0;
	uint8_t h[32], ip[16];
	size_t i, n = 0;
	FILE *f;

	mfv_init(&ctx);
	memset(res, 0, sizeof(*res));
	snprintf(why, whylen, "?");
	snprintf(opts, sizeof(opts), "%s", optstr);
	for (tok = strtok_r(opts, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		char *v = strchr(tok, '=');

		if (v == NULL)
			BAD("bad option %s", tok);
		*v++ = '\0';
		if (strcmp(tok, "roots") == 0)
			snprintf(rootlist, sizeof(rootlist), "%s", v);
		else if (strcmp(tok, "pin") == 0)
			pin_spki = strcmp(v, "spki") == 0;
		else if (strcmp(tok, "noadd") == 0)
			noadd = 1;
		else if (strcmp(tok, "time") == 0) {
			if (strcmp(v, "none") == 0)
				notime = 1;
			else
				tm = strtoll(v, NULL, 10);
		} else if (strcmp(tok, "lkgt") == 0)
			mfv_set_lkgt(&ctx, test_now + strtoll(v, NULL, 10));
		else if (strcmp(tok, "skew") == 0)
			mfv_set_skew(&ctx, (uint32_t)strtoul(v, NULL, 10));
		else if (strcmp(tok, "maxlife") == 0)
			mfv_set_max_lifetime(&ctx, (uint32_t)strtoul(v, NULL, 10));
		else if (strcmp(tok, "host") == 0) {
			if (mfv_set_host(&ctx, v, strlen(v)) != 0)
				BAD("host %s refused", v);
		} else if (strcmp(tok, "ip") == 0) {
			if (inet_pton(AF_INET, v, ip) == 1) {
				if (mfv_set_ip(&ctx, ip, 4) != 0)
					BAD("ip %s refused", v);
			} else if (inet_pton(AF_INET6, v, ip) != 1 || mfv_set_ip(&ctx, ip, 16) != 0)
				BAD("ip %s refused", v);
		} else if (strcmp(tok, "client") == 0)
			mfv_set_flags(&ctx, MFV_FLAG_CLIENT_AUTH);
		else if (strcmp(tok, "ocsp") == 0) {
			snprintf(path, sizeof(path), "%s/%s", corpus, v);
			if ((f = fopen(path, "rb")) == NULL)
				BAD("cannot open %s", path);
			ob.len = fread(ocsp, 1, sizeof(ocsp), f);
			fclose(f);
			ob.p = ocsp;
			have_ocsp = 1;
		} else
			BAD("unknown option %s", tok);
	}
	if (!notime)
		mfv_set_time(&ctx, test_now + tm);
	if (mfvt_load_pem(corpus, chainfile, &chain) != 0)
		BAD("no certificate in %s/%s", corpus, chainfile);
	for (tok = strtok_r(rootlist, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (mfvt_load_pem(corpus, tok, &roots) != 0)
			BAD("no certificate in %s/%s", corpus, tok);
	for (i = 0; i < roots.n; i++) {
		if (pin_spki) {
			if (mfvt_spki_hash(roots.der[i], roots.len[i], h) != 0)
				BAD("cannot hash the key of root %zu", i);
		} else if (EVP_Digest(roots.der[i], (size_t)roots.len[i], h, NULL, EVP_sha256(),
		                      NULL) != 1)
			BAD("cannot hash root %zu", i);
		if (mfv_add_root(&ctx, h) != 0)
			BAD("root %zu refused by mfv_add_root", i);
	}
	for (i = 0; i < chain.n; i++) {
		bufs[n].p = chain.der[i];
		bufs[n++].len = (size_t)chain.len[i];
	}
	for (i = 0; !noadd && i < roots.n; i++) {
		bufs[n].p = roots.der[i];
		bufs[n++].len = (size_t)roots.len[i];
	}
	rc = mfv_verify(&ctx, bufs, n, have_ocsp ? &ob : NULL, res);
out:
	mfvt_certs_free(&chain);
	mfvt_certs_free(&roots);
	return rc;
}

const char *
mfvt_case_name(int rc)
{
	const char *n = mfv_errname(rc);

	if (strncmp(n, "MFV_ERR_", 8) == 0)
		return n + 8;
	if (strncmp(n, "MFV_", 4) == 0)
		return n + 4;
	return n;
}
