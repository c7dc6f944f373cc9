/*
 * acme_ca.c: where the renewal listener meets the CA core. Every
 * certificate the listener hands out, including its own TLS certificate
 * when none is configured, goes through acme_ca_issue(): a policy check
 * here (for early, precise errors), then the issuer interface of struct
 * mf_acme_issuer, which checks the policy again, signs and commits the
 * record before it answers. In mayflyd that interface is a request to the
 * signer process, so this process never holds a key handle; for the
 * standalone listener it is acme_local_issue() below, the same path as
 * `mayfly issue` with a group commit on its own database connection.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <limits.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "issuer.h"
#include "mferr.h"
#include "policy.h"
#include "util.h"

#define WHY(...) do { if (why != NULL && whylen > 0) snprintf(why, whylen, __VA_ARGS__); } while (0)

int
acme_ca_issue(struct mf_acme *a, X509_REQ *csr, const char *profile, const char *requester,
    unsigned char **cert, size_t *cert_len, char *why, size_t whylen)
{
	return acme_ca_issue_at(a, csr, profile, requester, 0, 0, cert, cert_len, why, whylen);
}

int
acme_ca_issue_at(struct mf_acme *a, X509_REQ *csr, const char *profile, const char *requester,
    int64_t lifetime, int64_t not_before, unsigned char **cert, size_t *cert_len, char *why,
    size_t whylen)
{
	struct mf_request req;
	struct mf_approved *ap = NULL;
	unsigned char *der = NULL;
	int rc, len;

	*cert = NULL;
	*cert_len = 0;
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = profile;
	req.lifetime = lifetime;	/* 0: the profile default, within the caps */
	req.requester = requester;
	req.not_before = not_before;	/* 0: at issuance, backdated */
	/*
	 * Checked here for a precise early answer; the issuer checks again,
	 * including the CSR's signature, which only it verifies.
	 */
	req.skip_signature = 1;
	if ((rc = mf_policy_check(a->cfg, &req, &ap, why, whylen)) != 0)
		return rc;
	mf_approved_free(ap);
	if ((len = i2d_X509_REQ(csr, &der)) <= 0) {
		WHY("cannot encode the CSR");
		rc = MF_ERR_CSR_PARSE;
		goto out;
	}
	if ((size_t)len > MF_ACME_CSR_MAX) {
		WHY("CSR above %d bytes", MF_ACME_CSR_MAX);
		rc = MF_ERR_CSR_PARSE;
		goto out;
	}
	/* The issuer commits before it answers, grouping concurrent issuances. */
	rc = a->iss.issue(a->iss.arg, der, (size_t)len, profile ? profile : "server",
	    requester, lifetime, not_before, cert, cert_len, why, whylen);
	if (rc == 0 && (*cert == NULL || *cert_len == 0)) {
		free(*cert);
		*cert = NULL;
		WHY("the issuer returned no certificate");
		rc = MF_ERR_INTERNAL;
	}
out:
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

/*
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
 * serialNumber INTEGER, ... } ... }: three TLVs read, nothing decoded.
 */
int
acme_der_serial(const unsigned char *der, size_t len, char *hex, size_t hexlen)
{
	const unsigned char *p = der, *end = der + len;
	long l;
	int tag, cls, i;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return MF_ERR_INVAL;
	for (i = 0; i < 2; i++) {
		if (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80 ||
		    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL)
			return MF_ERR_INVAL;
	}
	if (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80)
		return MF_ERR_INVAL;
	if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
		p += l;		/* [0] EXPLICIT version */
		if (p >= end || ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80)
			return MF_ERR_INVAL;
	}
	if (tag != V_ASN1_INTEGER || cls != V_ASN1_UNIVERSAL || l <= 0 || l > MF_SERIAL_MAX + 1)
		return MF_ERR_INVAL;
	while (l > 1 && *p == 0) {
		p++;
		l--;
	}
	if (hexlen < 2 * (size_t)l + 1)
		return MF_ERR_INVAL;
	mf_hex(p, (size_t)l, hex);
	return MF_OK;
}

/* ---- the in-process issuer of the standalone listener -------------------------- */

struct acme_local {
	const struct mf_config *cfg;
	struct mf_issuer *issuer;	/* with the key */
	struct mf_db *db;		/* our own connection: a second writer, like the signer */
	pthread_mutex_t lock;

	/*
	 * Group commit: one transaction (one fsync) for all the issuances
	 * that arrive while its first one waits a moment. Guarded by lock;
	 * cv signals a finished commit.
	 */
	int open;
	unsigned long gen;		/* id of the open (or last) batch */
	unsigned long done;		/* id of the last committed batch */
	int batch_rc;			/* result of that commit */
	unsigned n;			/* issuances in the open batch */
	unsigned inflight;		/* issuances under way (atomic) */
	pthread_cond_t cv;
};

int
acme_local_new(const struct mf_config *cfg, struct mf_keystore *ks, struct acme_local **out)
{
	struct acme_local *l;
	int rc;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return MF_ERR_NOMEM;
	l->cfg = cfg;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cv, NULL);
	if ((rc = mf_db_open(cfg->database, 0, &l->db)) != 0 ||
	    (rc = mf_issuer_new(cfg, ks, NULL, &l->issuer)) != 0) {
		acme_local_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void
acme_local_free(struct acme_local *l)
{
	if (l == NULL)
		return;
	mf_issuer_free(l->issuer);
	mf_db_close(l->db);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cv);
	free(l);
}

/* How the first issuance of a batch waits for others to join it. */
#define BATCH_WINDOW_US	2000
#define BATCH_STEP_US	250

int
acme_local_issue(void *arg, const unsigned char *csr_der, size_t csr_len, const char *profile,
    const char *requester, int64_t lifetime, int64_t not_before, unsigned char **cert_der,
    size_t *cert_len, char *why, size_t whylen)
{
	struct acme_local *l = arg;
	struct mf_request req;
	struct mf_approved *ap = NULL;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	unsigned long gen;
	unsigned n0;
	int leader = 0, rc, waited, len;

	*cert_der = NULL;
	*cert_len = 0;
	if ((rc = mf_csr_parse(csr_der, csr_len, &csr)) != 0) {
		WHY("CSR does not parse");
		return rc;
	}
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = profile;
	req.lifetime = lifetime;
	req.requester = requester;
	req.not_before = not_before;
	__atomic_add_fetch(&l->inflight, 1, __ATOMIC_SEQ_CST);
	/* The policy check needs no database: run it outside the lock, in parallel. */
	if ((rc = mf_policy_check(l->cfg, &req, &ap, why, whylen)) != 0) {
		__atomic_sub_fetch(&l->inflight, 1, __ATOMIC_SEQ_CST);
		X509_REQ_free(csr);
		return rc;
	}
	pthread_mutex_lock(&l->lock);
	if (!l->open) {
		if ((rc = mf_db_begin(l->db)) != 0) {
			pthread_mutex_unlock(&l->lock);
			__atomic_sub_fetch(&l->inflight, 1, __ATOMIC_SEQ_CST);
			mf_approved_free(ap);
			X509_REQ_free(csr);
			WHY("database busy");
			return rc;
		}
		l->open = 1;
		l->gen++;
		l->n = 0;
		leader = 1;
	}
	gen = l->gen;
	if ((rc = mf_issuer_issue(l->issuer, l->db, ap, time(NULL), &cert)) != 0)
		WHY("issuance failed: %s", mf_strerror(rc));
	else
		l->n++;
	if (leader) {
		/*
		 * Let concurrent issuances join while the number keeps growing,
		 * at most BATCH_WINDOW_US: one fsync then covers them all.
		 */
		for (waited = 0; rc == 0 && waited < BATCH_WINDOW_US; waited += BATCH_STEP_US) {
			/* Alone: nobody to wait for. */
			if (__atomic_load_n(&l->inflight, __ATOMIC_SEQ_CST) <= l->n)
				break;
			n0 = l->n;
			pthread_mutex_unlock(&l->lock);
			usleep(BATCH_STEP_US);
			pthread_mutex_lock(&l->lock);
			if (l->n == n0)
				break;
		}
		if (l->n > 0) {
			l->batch_rc = mf_db_commit(l->db);
			/* One line per commit: how many issuances shared it. */
			if (l->batch_rc == 0)
				mf_info("event=issued-batch n=%u", l->n);
		} else {
			mf_db_rollback(l->db);
			l->batch_rc = 0;
		}
		l->open = 0;
		l->done = gen;
		pthread_cond_broadcast(&l->cv);
		if (rc == 0 && l->batch_rc != 0) {
			rc = l->batch_rc;
			WHY("cannot record the certificate");
		}
	} else if (rc == 0) {
		while (l->done < gen)
			pthread_cond_wait(&l->cv, &l->lock);
		if (l->batch_rc != 0) {
			rc = l->batch_rc;
			WHY("cannot record the certificate");
		}
	}
	pthread_mutex_unlock(&l->lock);
	__atomic_sub_fetch(&l->inflight, 1, __ATOMIC_SEQ_CST);
	mf_approved_free(ap);
	X509_REQ_free(csr);
	/* Nothing leaves unless the batch holding its record is committed. */
	if (rc == 0) {
		if ((len = i2d_X509(cert, &der)) <= 0 || (*cert_der = malloc((size_t)len)) == NULL) {
			rc = MF_ERR_NOMEM;
		} else {
			memcpy(*cert_der, der, (size_t)len);
			*cert_len = (size_t)len;
		}
	}
	OPENSSL_free(der);
	X509_free(cert);
	return rc;
}

int
acme_ca_map_err(int rc)
{
	switch (rc) {
	case MF_ERR_CSR_PARSE:
	case MF_ERR_CSR_SIGNATURE:
	case MF_ERR_KEY_WEAK:
	case MF_ERR_KEY_CURVE:
	case MF_ERR_KEY_ALG:
	case MF_ERR_CSR_CA:
	case MF_ERR_CSR_KEYCERTSIGN:
	case MF_ERR_CSR_EXTENSION:
	case MF_ERR_NAME_EMPTY:
	case MF_ERR_NAME_DUP:
	case MF_ERR_NAME_SYNTAX:
		return MF_ERR_ACME_BADCSR;
	case MF_ERR_NAME_POLICY:
	case MF_ERR_WILDCARD:
		return MF_ERR_ACME_REJECTEDID;
	case MF_ERR_NOT_BEFORE_FUTURE:
	case MF_ERR_NOT_BEFORE_PAST:
		/* The order's notBefore, no longer within bounds at finalisation. */
		return MF_ERR_ACME_MALFORMED;
	default:
		return rc;
	}
}

int
acme_csr_refusal(struct mf_acme *a, X509_REQ *csr, const char *profile, int rc, char *why,
    size_t whylen)
{
	struct mf_request req;
	struct mf_approved *ap = NULL;
	int prc;

	/*
	 * The policy's own words when it refuses the CSR as well (an email or
	 * URI name, a name of bad syntax...), so that every issuance path
	 * names the same fault. The signature is the issuer's to check.
	 */
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = profile;
	req.requester = "acme:names";
	req.skip_signature = 1;
	prc = mf_policy_check(a->cfg, &req, &ap, why, whylen);
	mf_approved_free(ap);
	ERR_clear_error();
	if (prc != 0)
		return acme_ca_map_err(prc);
	if (rc == MF_ERR_NAME_POLICY)
		WHY("the subject CN is not one of the subjectAltName names (RFC 8555 7.4)");
	else
		WHY("the CSR's names cannot be read");
	return MF_ERR_ACME_BADCSR;
}

int
acme_ca_chain_pem(struct mf_acme *a, const char *root, char **pem)
{
	return mf_issuer_chain_pem(a->issuer, root, pem);
}

void
acme_names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
names_add(char ***names, size_t *n, const char *s, size_t len)
{
	char **nn, *c;
	size_t i;

	if (len == 0 || len > 253 || memchr(s, '\0', len) != NULL)
		return MF_ERR_NAME_SYNTAX;
	if ((c = strndup(s, len)) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; c[i] != '\0'; i++)
		c[i] = (char)tolower((unsigned char)c[i]);
	if ((nn = realloc(*names, (*n + 1) * sizeof(*nn))) == NULL) {
		free(c);
		return MF_ERR_NOMEM;
	}
	nn[(*n)++] = c;
	*names = nn;
	return 0;
}

static int
gens_names(const GENERAL_NAMES *gens, char ***names, size_t *n)
{
	char buf[INET6_ADDRSTRLEN];
	int i, rc = 0;

	for (i = 0; rc == 0 && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			rc = names_add(names, n, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			    (size_t)ASN1_STRING_length(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			int l = ASN1_STRING_length(g->d.iPAddress);

			if ((l != 4 && l != 16) || inet_ntop(l == 4 ? AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(g->d.iPAddress), buf, sizeof(buf)) == NULL)
				return MF_ERR_NAME_SYNTAX;
			rc = names_add(names, n, buf, strlen(buf));
		} else {
			/* Email, URI, otherName...: nothing ACME could have authorised. */
			rc = MF_ERR_CSR_EXTENSION;
		}
	}
	return rc;
}

int
acme_csr_names(X509_REQ *csr, char ***names, size_t *n)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	GENERAL_NAMES *gens = NULL;
	X509_NAME *subj = X509_REQ_get_subject_name(csr);
	int idx, rc = 0, found;
	size_t i;

	*names = NULL;
	*n = 0;
	if (exts != NULL)
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	if (gens != NULL)
		rc = gens_names(gens, names, n);
	idx = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	if (rc == 0 && idx >= 0) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, cn);

		if (ul < 0) {
			rc = MF_ERR_NAME_SYNTAX;
		} else if (*n == 0) {
			rc = names_add(names, n, (const char *)u, (size_t)ul);
		} else {
			/* RFC 8555 7.4: a CN must be one of the names in the SAN. */
			for (found = 0, i = 0; i < *n; i++)
				if (strlen((*names)[i]) == (size_t)ul &&
				    strncasecmp((*names)[i], (const char *)u, (size_t)ul) == 0)
					found = 1;
			if (!found)
				rc = MF_ERR_NAME_POLICY;
		}
		OPENSSL_free(u);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc != 0) {
		acme_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

int
acme_cert_names(X509 *cert, char ***names, size_t *n)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int rc;

	*names = NULL;
	*n = 0;
	if (gens == NULL)
		return MF_ERR_NAME_EMPTY;
	rc = gens_names(gens, names, n);
	GENERAL_NAMES_free(gens);
	if (rc != 0) {
		acme_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

/* Appends a whole file to a growing string. */
static int
append_file(char **acc, const char *path)
{
	unsigned char *buf = NULL;
	size_t len, old = *acc ? strlen(*acc) : 0;
	char *nb;
	int rc;

	if ((rc = mf_file_read(path, 1 << 20, &buf, &len)) != 0)
		return rc;
	if ((nb = realloc(*acc, old + len + 2)) == NULL) {
		free(buf);
		return MF_ERR_NOMEM;
	}
	memcpy(nb + old, buf, len);
	nb[old + len] = '\n';
	nb[old + len + 1] = '\0';
	*acc = nb;
	free(buf);
	return 0;
}

static char *
bio_string(BIO *b)
{
	BUF_MEM *bm;
	char *s;

	BIO_get_mem_ptr(b, &bm);
	if ((s = malloc(bm->length + 1)) == NULL)
		return NULL;
	memcpy(s, bm->data, bm->length);
	s[bm->length] = '\0';
	return s;
}

/* A key and CSR made here for the listener's own certificate. */
static int
self_csr(const struct mf_acme_conf *conf, EVP_PKEY **key, X509_REQ **csr)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	const char *def[2];
	const char *const *names;
	size_t n, i;
	int rc = MF_ERR_CRYPTO;

	*key = NULL;
	*csr = NULL;
	def[0] = "localhost";
	def[1] = conf->host;
	names = conf->ntls_names ? (const char *const *)conf->tls_names : def;
	n = conf->ntls_names ? conf->ntls_names : 2;
	if ((*key = EVP_EC_gen("P-256")) == NULL || (*csr = X509_REQ_new()) == NULL ||
	    (gens = GENERAL_NAMES_new()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		GENERAL_NAME *g;
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(names[i]);

		if (ip != NULL) {
			g = GENERAL_NAME_new();
			if (g == NULL) {
				ASN1_OCTET_STRING_free(ip);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();

			g = GENERAL_NAME_new();
			if (s == NULL || g == NULL || !ASN1_STRING_set(s, names[i], -1)) {
				ASN1_IA5STRING_free(s);
				GENERAL_NAME_free(g);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		}
		sk_GENERAL_NAME_push(gens, g);
	}
	if ((ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL || !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ext = NULL;
	if (X509_REQ_set_version(*csr, 0) != 1 || X509_REQ_set_pubkey(*csr, *key) != 1 ||
	    X509_REQ_add_extensions(*csr, exts) != 1 || X509_REQ_sign(*csr, *key, EVP_sha256()) <= 0)
		goto out;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	if (rc != 0) {
		EVP_PKEY_free(*key);
		X509_REQ_free(*csr);
		*key = NULL;
		*csr = NULL;
	}
	return rc;
}

int
acme_ca_tls_setup(struct mf_acme *a)
{
	const struct mf_acme_conf *conf = a->conf;
	const struct mf_config *cfg = a->cfg;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	BIO *b = NULL;
	char why[256], *chain = NULL;
	unsigned char *kbuf = NULL, *cder = NULL;
	const unsigned char *cp;
	size_t i, klen, clen = 0;
	int rc;

	/* Client certificates (EST re-enrolment) must chain to one of our CAs. */
	for (i = 0; a->trust_pem == NULL && i < cfg->nroots; i++)
		if ((rc = append_file(&a->trust_pem, cfg->roots[i].cert)) != 0) {
			mf_err("file=%s err=%s", cfg->roots[i].cert, mf_errname(rc));
			return rc;
		}
	if (conf->tls_cert != NULL && conf->tls_key != NULL) {
		if ((rc = append_file(&a->tls_cert_pem, conf->tls_cert)) != 0 ||
		    (rc = mf_file_read(conf->tls_key, 1 << 16, &kbuf, &klen)) != 0) {
			mf_err("cert=%s key=%s err=%s", conf->tls_cert, conf->tls_key, mf_errname(rc));
			return rc;
		}
		a->tls_key_pem = (char *)kbuf;
		return 0;
	}
	/*
	 * No configured certificate: issue one for the listener through the
	 * normal path, so clients trust it with the mayfly root alone. It
	 * lives for the profile's lifetime (24 h): acme_http.c renews it when
	 * two thirds of what is left of it now have passed (a->tls_renew_at)
	 * and restarts the listener on the same socket. Counted from now, not
	 * from notBefore: notBefore is backdated (issuance.backdate), and a
	 * lifetime shorter than three times the backdate would put the
	 * renewal in the past, so that the listener renewed without pause.
	 */
	rc = self_csr(conf, &key, &csr);
	if (rc == 0) {
		rc = acme_ca_issue(a, csr, conf->profile, "acme:listener", &cder, &clen, why,
		    sizeof(why));
		if (rc != 0)
			mf_err("msg=\"cannot issue the listener certificate\" err=%s detail=\"%s\"",
			    mf_errname(rc), why);
		cp = cder;
		if (rc == 0 && ((cert = d2i_X509(NULL, &cp, (long)clen)) == NULL ||
		    cp != cder + clen)) {
			mf_err("msg=\"the issuer returned no certificate\"");
			rc = MF_ERR_INTERNAL;
		}
	}
	if (rc == 0 && (rc = mf_issuer_chain_pem(a->issuer, NULL, &chain)) != 0)
		mf_err("msg=\"no chain for the listener certificate\" err=%s", mf_errname(rc));
	if (rc != 0)
		goto out;
	rc = MF_ERR_NOMEM;
	if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, cert) != 1 ||
	    BIO_puts(b, chain) < 0 || (a->tls_cert_pem = bio_string(b)) == NULL)
		goto out;
	BIO_free(b);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (a->tls_key_pem = bio_string(b)) == NULL)
		goto out;
	{
		struct tm ta;
		int64_t na, now = (int64_t)time(NULL);

		if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &ta) == 1) {
			na = (int64_t)timegm(&ta);
			a->tls_renew_at = na > now ? now + (na - now) * 2 / 3 : now + 60;
			if (a->tls_renew_at <= now)
				a->tls_renew_at = now + 1;
		}
	}
	rc = 0;
out:
	if (b != NULL) {
		BUF_MEM *bm;

		BIO_get_mem_ptr(b, &bm);
		OPENSSL_cleanse(bm->data, bm->length);
	}
	BIO_free(b);
	EVP_PKEY_free(key);
	X509_REQ_free(csr);
	X509_free(cert);
	free(cder);
	free(chain);
	return rc;
}
