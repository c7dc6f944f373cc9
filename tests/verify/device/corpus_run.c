/*
 * corpus_run.c - run the verifier's case table and print every outcome.
 *
 * The same source is linked twice, once with the OpenSSL backend and once
 * with the mbedTLS backend (the backend is a link-time choice); the test
 * script backends.sh runs both over one corpus and compares the outputs
 * line by line, so any case where the two backends disagree shows up by
 * name.  The case format is tests/verify/cases.txt (see its header); this
 * program reads it independently of check_verify so that it can print what
 * happened rather than assert.
 *
 * Usage: corpus_run CORPUS_DIR CASES_FILE
 * Output, one line per case:  NAME EXPECTED GOT depth=D flags=0xF lkgt=T
 * Exit status 0 if every case ran (whatever its result), 2 on a usage or
 * input error.  Loading PEM and hashing pins uses OpenSSL in both builds:
 * that is test plumbing, not the code under test.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "mayfly_verify.h"

#define MAXC 16

static const char *corpus;
static int64_t test_now;

struct certs {
	unsigned char *der[MAXC];
	long len[MAXC];
	size_t n;
};

static void
certs_free(struct certs *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		OPENSSL_free(c->der[i]);
	c->n = 0;
}

static int
load_pem(const char *file, struct certs *c)
{
	char path[512], *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	long len;
	BIO *b;

	snprintf(path, sizeof(path), "%s/%s", corpus, file);
	if ((b = BIO_new_file(path, "r")) == NULL)
		return -1;
	while (c->n < MAXC && PEM_read_bio(b, &name, &hdr, &data, &len) == 1) {
		c->der[c->n] = data;
		c->len[c->n++] = len;
		OPENSSL_free(name);
		OPENSSL_free(hdr);
	}
	ERR_clear_error();
	BIO_free(b);
	return c->n > 0 ? 0 : -1;
}

static int
spki_hash(const unsigned char *der, long len, uint8_t out[32])
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

/* Run one case; returns the library's result, or 1 on an input error. */
static int
run_case(char *opts, const char *chainfile, struct mfv_result *res)
{
	static struct mfv_ctx ctx;
	static unsigned char ocsp[8192];
	struct certs chain = { { 0 }, { 0 }, 0 }, roots = { { 0 }, { 0 }, 0 };
	struct mfv_buf bufs[2 * MAXC], ob = { NULL, 0 };
	char *tok, *save = NULL, rootlist[256] = "root.pem", path[512];
	int pin_spki = 0, noadd = 0, have_ocsp = 0, notime = 0, rc = 1;
	int64_t tm = 0;
	uint8_t h[32], ip[16];
	size_t i, n = 0;
	FILE *f;

	mfv_init(&ctx);
	memset(res, 0, sizeof(*res));
	for (tok = strtok_r(opts, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		char *v = strchr(tok, '=');
		if (v == NULL)
			goto out;
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
				goto out;
		} else if (strcmp(tok, "ip") == 0) {
			if (inet_pton(AF_INET, v, ip) == 1) {
				if (mfv_set_ip(&ctx, ip, 4) != 0)
					goto out;
			} else if (inet_pton(AF_INET6, v, ip) != 1 || mfv_set_ip(&ctx, ip, 16) != 0)
				goto out;
		} else if (strcmp(tok, "client") == 0)
			mfv_set_flags(&ctx, MFV_FLAG_CLIENT_AUTH);
		else if (strcmp(tok, "ocsp") == 0) {
			snprintf(path, sizeof(path), "%s/%s", corpus, v);
			if ((f = fopen(path, "rb")) == NULL)
				goto out;
			ob.len = fread(ocsp, 1, sizeof(ocsp), f);
			fclose(f);
			ob.p = ocsp;
			have_ocsp = 1;
		} else
			goto out;
	}
	if (!notime)
		mfv_set_time(&ctx, test_now + tm);
	if (load_pem(chainfile, &chain) != 0)
		goto out;
	for (tok = strtok_r(rootlist, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (load_pem(tok, &roots) != 0)
			goto out;
	for (i = 0; i < roots.n; i++) {
		if (pin_spki) {
			if (spki_hash(roots.der[i], roots.len[i], h) != 0)
				goto out;
		} else if (EVP_Digest(roots.der[i], (size_t)roots.len[i], h, NULL, EVP_sha256(),
		                      NULL) != 1)
			goto out;
		if (mfv_add_root(&ctx, h) != 0)
			goto out;
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
	certs_free(&chain);
	certs_free(&roots);
	return rc;
}

/* The case table writes results without the enum prefix ("OK",
 * "LIFETIME_TOO_LONG"); mfv_errname() gives the full enum name. */
static const char *
case_name(int rc)
{
	const char *n = mfv_errname(rc);

	if (strncmp(n, "MFV_ERR_", 8) == 0)
		return n + 8;
	if (strncmp(n, "MFV_", 4) == 0)
		return n + 4;
	return n;
}

int
main(int argc, char **argv)
{
	char path[512], line[1024], name[64], chainf[128], expect[64], *p;
	long long now;
	FILE *f;
	int off, rc, bad = 0;
	struct mfv_result res;

	if (argc != 3) {
		fprintf(stderr, "usage: corpus_run CORPUS_DIR CASES_FILE\n");
		return 2;
	}
	corpus = argv[1];
	snprintf(path, sizeof(path), "%s/tnow", corpus);
	if ((f = fopen(path, "r")) == NULL || fscanf(f, "%lld", &now) != 1) {
		fprintf(stderr, "corpus_run: cannot read %s\n", path);
		return 2;
	}
	fclose(f);
	test_now = now;
	if ((f = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((p = strchr(line, '\n')) != NULL)
			*p = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		off = 0;
		if (sscanf(line, "%63s %127s %63s %n", name, chainf, expect, &off) < 3) {
			fprintf(stderr, "corpus_run: bad line: %s\n", line);
			bad = 1;
			continue;
		}
		rc = run_case(off > 0 ? line + off : line + strlen(line), chainf, &res);
		if (rc == 1) {
			fprintf(stderr, "corpus_run: case %s: cannot load its input\n", name);
			bad = 1;
			continue;
		}
		printf("%s %s %s depth=%d flags=0x%02" PRIx32 " lkgt=%" PRId64 "\n", name, expect,
		       case_name(rc), res.depth, res.flags, res.lkgt);
	}
	fclose(f);
	return bad ? 2 : 0;
}
