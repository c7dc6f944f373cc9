/*
 * pub.c: what the network process publishes from the configuration: the
 * intermediates it answers OCSP for (their CertID hashes), the CA
 * certificates under /ca/ in PEM, DER and certs-only PKCS#7 (.p7c, RFC 5280
 * 4.2.2.1), with chains, and the digest of the admin token. Built whole at
 * start and on SIGHUP, then swapped in under the context lock.
 *
 * Names under /ca/:
 *   <root>, <intermediate>             one certificate
 *   <intermediate>.<root>              a cross-signed form (its file name)
 *   <intermediate>-chain, chain        intermediate + root (PEM, p7c only);
 *                                      "chain" is the active intermediate's
 *   <intermediate>.<root>-chain        the cross-signed form + that root
 */
#include "mf_build.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "daemon.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"

static struct mfd_blob *
pub_blob(BIO *b, const char *ctype)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	unsigned char *d;

	if (n <= 0 || (d = malloc((size_t)n)) == NULL)
		return NULL;
	memcpy(d, p, (size_t)n);
	return mfd_blob_new(d, (size_t)n, ctype, 0, 0);
}

/*
 * The root's CRL is signed offline (`mayfly crl root`) and left next to the
 * config as crl/ROOT.crl; it is published only if it parses and the root's
 * key signed it, so a stray file cannot be served under the root's name.
 */
#define PUB_ROOT_CRL_MAX	(16 * 1024 * 1024)

static struct mfd_blob *
pub_root_crl(const struct mf_config *cfg, const char *name, X509 *root)
{
	unsigned char *buf = NULL;
	const unsigned char *q;
	char *rel = NULL, *path = NULL;
	X509_CRL *crl = NULL;
	struct mfd_blob *b = NULL;
	size_t len;

	if (asprintf(&rel, "crl/%s.crl", name) < 0)
		return NULL;
	if ((path = mf_path_join(cfg->dir, rel)) == NULL ||
	    mf_file_read(path, PUB_ROOT_CRL_MAX, &buf, &len) != MF_OK)
		goto out;
	q = buf;
	if ((crl = d2i_X509_CRL(NULL, &q, (long)len)) == NULL || q != buf + len ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(root)) != 0 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(root)) != 1) {
		mf_warn("path=%s msg=\"not a CRL signed by root %s; not published\"", path, name);
		ERR_clear_error();
		goto out;
	}
	b = mfd_blob_new(buf, len, "application/pkix-crl", 0, 0);
	buf = NULL;	/* taken over, or freed on failure */
out:
	X509_CRL_free(crl);
	free(buf);
	free(path);
	free(rel);
	return b;
}

/* Adds an entry for certs[0..n) (n = 1: a single certificate). */
static int
pub_add(struct mfd_pub *p, const char *name, X509 **certs, size_t n)
{
	struct mfd_cafile *f, *nf;
	BIO *pem = NULL, *der = NULL, *p7c = NULL;
	PKCS7 *p7 = NULL;
	size_t i;
	int rc = MF_ERR_NOMEM;

	if (strlen(name) > MFD_NAME_MAX)
		return MF_ERR_INVAL;
	if ((nf = realloc(p->ca, (p->nca + 1) * sizeof(*nf))) == NULL)
		return MF_ERR_NOMEM;
	p->ca = nf;
	f = &p->ca[p->nca];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	if ((pem = BIO_new(BIO_s_mem())) == NULL || (p7c = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if ((p7 = PKCS7_new()) == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_content_new(p7, NID_pkcs7_data))
		goto out;
	for (i = 0; i < n; i++)
		if (!PEM_write_bio_X509(pem, certs[i]) || !PKCS7_add_certificate(p7, certs[i]))
			goto out;
	if (i2d_PKCS7_bio(p7c, p7) != 1)
		goto out;
	if (n == 1) {
		if ((der = BIO_new(BIO_s_mem())) == NULL || i2d_X509_bio(der, certs[0]) != 1 ||
		    (f->der = pub_blob(der, "application/pkix-cert")) == NULL)
			goto out;
	}
	if ((f->pem = pub_blob(pem, "application/x-pem-file")) == NULL ||
	    (f->p7c = pub_blob(p7c, "application/pkcs7-mime")) == NULL)
		goto out;
	p->nca++;
	rc = 0;
out:
	if (rc != 0) {
		mfd_blob_unref(f->pem);
		mfd_blob_unref(f->der);
		mfd_blob_unref(f->p7c);
	}
	BIO_free(pem);
	BIO_free(der);
	BIO_free(p7c);
	PKCS7_free(p7);
	return rc;
}

/* "certs/issuing-1.root-b.pem" -> "issuing-1.root-b" */
static void
pub_stem(const char *path, char *out, size_t outlen)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".pem") == 0)
		n -= 4;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

static void
pub_token(struct mfd_pub *p, const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;

	if (path == NULL || mf_file_read(path, 4096, &buf, &len) != 0)
		return;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	/* Compare digests later: equal length, constant time, whatever was sent. */
	if (len > 0 && EVP_Digest(buf, len, p->token_sha256, NULL, EVP_sha256(), NULL))
		p->have_token = 1;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

int
mfd_pub_new(struct mf_config *cfg, struct mfd_pub **out, char *why, size_t wl)
{
	struct mfd_pub *p;
	X509 **roots = NULL;
	size_t i, j;
	int rc;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		mf_config_free(cfg);
		return MF_ERR_NOMEM;
	}
	p->cfg = cfg;
	rc = MF_ERR_NOMEM;
	if ((roots = calloc(cfg->nroots + 1, sizeof(*roots))) == NULL ||
	    (p->rootcrl = calloc(cfg->nroots + 1, sizeof(*p->rootcrl))) == NULL ||
	    (p->iss = calloc(cfg->nintermediates + 1, sizeof(*p->iss))) == NULL ||
	    (p->ids = calloc(cfg->nintermediates + 1, sizeof(*p->ids))) == NULL)
		goto out;
	for (i = 0; i < cfg->nroots; i++) {
		if ((rc = mf_cert_load(cfg->roots[i].cert, &roots[i])) != 0) {
			snprintf(why, wl, "root certificate %s: %s", cfg->roots[i].cert,
			    mf_strerror(rc));
			goto out;
		}
		if ((rc = pub_add(p, cfg->roots[i].name, &roots[i], 1)) != 0)
			goto out;
		p->rootcrl[i] = pub_root_crl(cfg, cfg->roots[i].name, roots[i]);
	}
	for (i = 0; i < cfg->nintermediates; i++) {
		const struct mf_ca_conf *ic = &cfg->intermediates[i];
		struct mfd_issuer *is = &p->iss[i];
		X509 *chain[2];
		char name[MFD_NAME_MAX + 16];

		p->niss++;
		if ((is->name = strdup(ic->name)) == NULL) {
			rc = MF_ERR_NOMEM;
			goto out;
		}
		if ((rc = mf_cert_load(ic->cert, &is->cert)) != 0) {
			snprintf(why, wl, "certificate %s: %s", ic->cert, mf_strerror(rc));
			goto out;
		}
		if ((rc = mfd_issuer_id_of(is->cert, &p->ids[i])) != 0)
			goto out;
		if ((rc = pub_add(p, ic->name, &is->cert, 1)) != 0)
			goto out;
		chain[0] = is->cert;
		chain[1] = NULL;
		for (j = 0; j < cfg->nroots; j++)
			if (X509_check_issued(roots[j], is->cert) == X509_V_OK)
				chain[1] = roots[j];
		snprintf(name, sizeof(name), "%s-chain", ic->name);
		if (chain[1] != NULL && (rc = pub_add(p, name, chain, 2)) != 0)
			goto out;
		if (chain[1] != NULL && (cfg->active_intermediate == NULL ? i == 0 :
		    strcmp(cfg->active_intermediate, ic->name) == 0) &&
		    (rc = pub_add(p, "chain", chain, 2)) != 0)
			goto out;
		for (j = 0; j < ic->ncross; j++) {
			X509 *x = NULL;
			size_t k;

			if ((rc = mf_cert_load(ic->cross[j], &x)) != 0) {
				snprintf(why, wl, "cross certificate %s: %s", ic->cross[j],
				    mf_strerror(rc));
				goto out;
			}
			pub_stem(ic->cross[j], name, MFD_NAME_MAX + 1);
			rc = pub_add(p, name, &x, 1);
			chain[0] = x;
			chain[1] = NULL;
			for (k = 0; rc == 0 && k < cfg->nroots; k++)
				if (X509_check_issued(roots[k], x) == X509_V_OK)
					chain[1] = roots[k];
			if (rc == 0 && chain[1] != NULL) {
				strcat(name, "-chain");
				rc = pub_add(p, name, chain, 2);
			}
			X509_free(x);
			if (rc != 0)
				goto out;
		}
	}
	pub_token(p, cfg->admin_token_file);
	if (cfg->admin_token_file != NULL && !p->have_token) {
		rc = MF_ERR_IO;
		snprintf(why, wl, "admin token file %s unreadable or empty", cfg->admin_token_file);
		goto out;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	for (i = 0; roots != NULL && i < cfg->nroots; i++)
		X509_free(roots[i]);
	free(roots);
	mfd_pub_free(p);
	return rc;
}

void
mfd_pub_free(struct mfd_pub *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->niss; i++) {
		free(p->iss[i].name);
		X509_free(p->iss[i].cert);
	}
	free(p->iss);
	free(p->ids);
	for (i = 0; p->rootcrl != NULL && i < p->cfg->nroots; i++)
		mfd_blob_unref(p->rootcrl[i]);
	free(p->rootcrl);
	for (i = 0; i < p->nca; i++) {
		mfd_blob_unref(p->ca[i].pem);
		mfd_blob_unref(p->ca[i].der);
		mfd_blob_unref(p->ca[i].p7c);
	}
	free(p->ca);
	OPENSSL_cleanse(p->token_sha256, sizeof(p->token_sha256));
	mf_config_free(p->cfg);
	free(p);
}
