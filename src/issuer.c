/*
 * issuer.c: the online intermediate that turns an approved request into a
 * signed leaf, and logs it before anyone sees it.
 *
 * mf_issuer_new() loads one intermediate as the config names it: its
 * certificate, the certificate of the root that signed it, its cross-signed
 * twins (each matched to the configured root that signed it) and its key
 * through the keystore. A key that does not match the certificate is
 * refused at load time, not at the first issuance.
 *
 * mf_issuer_issue() builds the leaf, signs it, checks the signature and the
 * lifetime on the finished certificate, and inserts the record (with the
 * DER) into the database. The certificate is handed back only when that
 * insert returned 0; on any error it is freed here. A serial collision
 * (one in 2^63 per pair at our volume, but the log is the authority) gets a
 * fresh serial and a new signature, at most three times.
 *
 * Subject: CN = the first approved DNS name that fits (RFC 5280 caps a CN
 * at 64 characters); without one the subject is empty and the
 * subjectAltName is marked critical, as RFC 5280 4.2.1.6 requires. An IP
 * address never goes into the CN: OpenSSL reads a CN that looks like a
 * host name as a DNS name when the SAN has none, and a root with DNS name
 * constraints would then reject an IP-only leaf. Clients match names
 * against the SAN only (RFC 6125), so the CN is a courtesy for people and
 * logs.
 *
 * Name constraints: the names are checked against the nameConstraints of
 * the intermediate and of every root it chains to (primary and cross) on
 * the signed certificate, before it is logged, so the CA never hands out a
 * leaf that a relying party must reject (MF_ERR_NAME_POLICY).
 *
 * Lifetime: notBefore is backdated by the configured amount (at most 5
 * minutes) to absorb client clock skew. The cap is a bound on notAfter -
 * notBefore, which is what the device verifier checks, so when backdating
 * would stretch that span over the cap, notAfter is pulled in instead: a
 * 24-hour request issued with 5 minutes of backdate ends 23h55m from now.
 * A request with its own notBefore (issuance.forward-horizon) gets exactly
 * that notBefore and notAfter = notBefore + lifetime, so a forward-dated
 * leaf is never longer than the cap either; the intermediate must still be
 * valid at its notAfter.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"
#include "x509ext.h"

#define MF_CERT_FILE_MAX	(1024 * 1024)
#define MF_BACKDATE_MAX		300	/* seconds; config.h: at most 5m */
#define MF_SERIAL_TRIES		3
#define MF_CN_MAX		64	/* ub-common-name, RFC 5280 appendix A */

/* One form of the intermediate and the root that signed it. */
struct mf_issuer_chain {
	char *root;			/* config name of the root */
	X509 *cert;			/* the intermediate as signed by that root */
};

struct mf_issuer {
	char *name;			/* config name of the intermediate */
	X509 *cert;			/* primary form */
	EVP_PKEY *key;
	char *url_base;			/* NULL: no AIA/CRLDP */
	int64_t hard_cap;
	int64_t backdate;
	int64_t forward_horizon;
	struct mf_issuer_chain *chains;	/* [0] is the primary form */
	size_t nchains;
	NAME_CONSTRAINTS **nc;		/* of the intermediate and its roots */
	size_t nnc;
};

int
mf_cert_parse(const unsigned char *buf, size_t len, X509 **out)
{
	BIO *bio = NULL;
	int rc;

	*out = NULL;
	if (buf == NULL || len > MF_CERT_FILE_MAX)
		return MF_ERR_INVAL;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return MF_ERR_NOMEM;
	if ((*out = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	rc = MF_OK;
out:
	BIO_free(bio);
	return rc;
}

int
mf_cert_load(const char *path, X509 **out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (path == NULL)
		return MF_ERR_CA_NOTFOUND;
	if ((rc = mf_file_read(path, MF_CERT_FILE_MAX, &buf, &len)) != MF_OK)
		return rc == MF_ERR_NOTFOUND ? MF_ERR_CA_NOTFOUND : rc;
	rc = mf_cert_parse(buf, len, out);
	free(buf);
	return rc;
}

int
mf_cert_archive_read(BIO *b, int (*each)(void *arg, const char *serial,
    const unsigned char md[32], char *why, size_t whylen), void *arg, int64_t *n,
    char *why, size_t whylen)
{
	unsigned char md[32], *der = NULL;
	char serial[2 * MF_SERIAL_MAX + 1];
	X509 *x = NULL;
	int len, rc = MF_OK;

	*n = 0;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		der = NULL;
		if ((len = i2d_X509(x, &der)) <= 0 ||
		    EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL) != 1 ||
		    mf_serial_hex(X509_get0_serialNumber(x), serial, sizeof(serial)) != MF_OK) {
			snprintf(why, whylen, "certificate %lld does not encode", (long long)*n + 1);
			rc = MF_ERR_CRYPTO;
			goto out;
		}
		if ((rc = each(arg, serial, md, why, whylen)) != MF_OK)
			goto out;
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
		x = NULL;
		(*n)++;
	}
	/* The loop ends at the end of the file, or at something that is not PEM. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		snprintf(why, whylen, "not PEM after certificate %lld", (long long)*n);
		rc = MF_ERR_CRYPTO;
	}
	ERR_clear_error();
out:
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

/*
 * True if the public parts of a and b are the same key. EVP_PKEY_eq()
 * compares public parts only; when it cannot compare at all (< 0, as may
 * happen between an engine key and a provider key), the SubjectPublicKeyInfo
 * encodings decide.
 */
static int
mf_pubkey_match(EVP_PKEY *a, EVP_PKEY *b)
{
	unsigned char *da = NULL, *db = NULL;
	int r, la, lb;

	if (a == NULL || b == NULL)
		return 0;
	r = EVP_PKEY_eq(a, b);
	if (r >= 0) {
		ERR_clear_error();
		return r == 1;
	}
	la = i2d_PUBKEY(a, &da);
	lb = i2d_PUBKEY(b, &db);
	r = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	ERR_clear_error();
	return r;
}

/* True if x was signed by the key of issuer (and names the issuer). */
static int
mf_signed_by(X509 *x, X509 *issuer)
{
	int ok;

	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(issuer)) != 0)
		return 0;
	ok = X509_verify(x, X509_get0_pubkey(issuer)) == 1;
	ERR_clear_error();
	return ok;
}

static int
mf_chain_add(struct mf_issuer *is, const char *root, X509 *cert)
{
	struct mf_issuer_chain *v;

	v = realloc(is->chains, (is->nchains + 1) * sizeof(*v));
	if (v == NULL)
		return MF_ERR_NOMEM;
	is->chains = v;
	if ((v[is->nchains].root = strdup(root)) == NULL)
		return MF_ERR_NOMEM;
	v[is->nchains].cert = cert;
	is->nchains++;
	return MF_OK;
}

/* Keeps ca's nameConstraints, if it has any, for the leaf check. */
static int
mf_nc_add(struct mf_issuer *is, X509 *ca)
{
	NAME_CONSTRAINTS *nc, **v;
	int crit = -1;

	nc = X509_get_ext_d2i(ca, NID_name_constraints, &crit, NULL);
	if (nc == NULL) {
		ERR_clear_error();
		/* -1: absent; anything else: present but undecodable (or twice). */
		return crit == -1 ? MF_OK : MF_ERR_CRYPTO;
	}
	if ((v = realloc(is->nc, (is->nnc + 1) * sizeof(*v))) == NULL) {
		NAME_CONSTRAINTS_free(nc);
		return MF_ERR_NOMEM;
	}
	is->nc = v;
	v[is->nnc++] = nc;
	return MF_OK;
}

/*
 * Checks the finished leaf against every kept nameConstraints. OpenSSL reads
 * the SAN for this from the extension cache, which must be built from the
 * final certificate: x is already signed and is not changed afterwards, so
 * the cache is built on x itself. (A copy decoded from the DER would cost
 * an OpenSSL 3.0 key decode per leaf, under the caller's lock.)
 */
static int
mf_leaf_nc_check(const struct mf_issuer *is, X509 *x)
{
	size_t i;
	int rc = MF_OK;

	if (is->nnc == 0)
		return MF_OK;
	/* X509_check_purpose(-1) builds the cache NAME_CONSTRAINTS_check reads. */
	if (X509_check_purpose(x, -1, 0) != 1) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	for (i = 0; i < is->nnc && rc == MF_OK; i++)
		if (NAME_CONSTRAINTS_check(x, is->nc[i]) != X509_V_OK)
			rc = MF_ERR_NAME_POLICY;
out:
	ERR_clear_error();
	return rc;
}

/*
 * A cross-signed form must have our subject and key, and have been signed
 * by one of the configured roots; it is filed under that root's name.
 */
static int
mf_load_cross(struct mf_issuer *is, const struct mf_config *cfg, const char *path)
{
	X509 *x = NULL, *root = NULL;
	size_t i;
	int rc;

	if ((rc = mf_cert_load(path, &x)) != MF_OK)
		return rc;
	if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(is->cert)) != 0 ||
	    !mf_pubkey_match(X509_get0_pubkey(x), X509_get0_pubkey(is->cert))) {
		rc = MF_ERR_CA_MISMATCH;
		goto out;
	}
	rc = MF_ERR_CA_NOTFOUND;
	for (i = 0; i < cfg->nroots; i++) {
		if ((rc = mf_cert_load(cfg->roots[i].cert, &root)) != MF_OK)
			goto out;
		if (mf_signed_by(x, root)) {
			if ((rc = mf_nc_add(is, root)) != MF_OK)
				goto out;
			rc = mf_chain_add(is, cfg->roots[i].name, x);
			if (rc == MF_OK)
				x = NULL;
			goto out;
		}
		X509_free(root);
		root = NULL;
		rc = MF_ERR_CA_NOTFOUND;
	}
out:
	X509_free(root);
	X509_free(x);
	return rc;
}

int
mf_issuer_new(const struct mf_config *cfg, struct mf_keystore *ks, const char *ca_name,
    struct mf_issuer **out)
{
	return mf_issuer_new_why(cfg, ks, ca_name, out, NULL, 0);
}

/* Names what failed in why (when given), for the one log line or CLI message. */
#define ISSUER_WHY(...) do { if (why != NULL) snprintf(why, whylen, __VA_ARGS__); } while (0)

static const char *
issuer_file_why(int rc)
{
	switch (rc) {
	case MF_ERR_CA_NOTFOUND: return "no such file";
	case MF_ERR_CRYPTO: return "not a PEM certificate";
	case MF_ERR_IO: return "cannot be read";
	default: return mf_strerror(rc);
	}
}

int
mf_issuer_new_why(const struct mf_config *cfg, struct mf_keystore *ks, const char *ca_name,
    struct mf_issuer **out, char *why, size_t whylen)
{
	const struct mf_ca_conf *ic, *rc_conf;
	struct mf_issuer *is = NULL;
	X509 *root = NULL;
	const char *name;
	size_t i;
	int rc;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	if (cfg == NULL)
		return MF_ERR_INVAL;

	name = ca_name != NULL ? ca_name : cfg->active_intermediate;
	if (name != NULL)
		ic = mf_config_intermediate(cfg, name);
	else
		ic = cfg->nintermediates > 0 ? &cfg->intermediates[0] : NULL;
	if (ic == NULL || ic->name == NULL) {
		ISSUER_WHY("no intermediate '%s' in %s", name != NULL ? name : "(any)",
		    cfg->path != NULL ? cfg->path : "the configuration");
		return MF_ERR_CA_NOTFOUND;
	}
	/* The signing root: as named, or the only one there is. */
	if (ic->root != NULL)
		rc_conf = mf_config_root(cfg, ic->root);
	else
		rc_conf = cfg->nroots == 1 ? &cfg->roots[0] : NULL;
	if (rc_conf == NULL || rc_conf->name == NULL) {
		ISSUER_WHY("intermediate %s: its root '%s' is not in %s", ic->name,
		    ic->root != NULL ? ic->root : "(unnamed)",
		    cfg->path != NULL ? cfg->path : "the configuration");
		return MF_ERR_CA_NOTFOUND;
	}

	if ((is = calloc(1, sizeof(*is))) == NULL)
		return MF_ERR_NOMEM;
	if ((is->name = strdup(ic->name)) == NULL ||
	    (cfg->url_base != NULL && (is->url_base = strdup(cfg->url_base)) == NULL)) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	is->hard_cap = cfg->hard_cap > 0 && cfg->hard_cap < MF_HARD_CAP_MAX ? cfg->hard_cap :
	    MF_HARD_CAP_MAX;
	is->backdate = cfg->backdate < 0 ? 0 :
	    cfg->backdate > MF_BACKDATE_MAX ? MF_BACKDATE_MAX : cfg->backdate;
	is->forward_horizon = cfg->forward_horizon < 0 ? 0 :
	    cfg->forward_horizon > MF_FORWARD_HORIZON_MAX ? MF_FORWARD_HORIZON_MAX :
	    cfg->forward_horizon;

	if ((rc = mf_cert_load(ic->cert, &is->cert)) != MF_OK) {
		ISSUER_WHY("intermediate %s: certificate %s: %s", ic->name,
		    ic->cert != NULL ? ic->cert : "(not configured)", issuer_file_why(rc));
		goto out;
	}
	if ((rc = mf_cert_load(rc_conf->cert, &root)) != MF_OK) {
		ISSUER_WHY("root %s: certificate %s: %s", rc_conf->name,
		    rc_conf->cert != NULL ? rc_conf->cert : "(not configured)", issuer_file_why(rc));
		goto out;
	}
	if (X509_check_ca(is->cert) < 1) {
		rc = MF_ERR_CA_MISMATCH;	/* not a CA certificate at all */
		ISSUER_WHY("intermediate %s: %s is not a CA certificate", ic->name, ic->cert);
		goto out;
	}
	if (!mf_signed_by(is->cert, root)) {
		rc = MF_ERR_CA_MISMATCH;	/* the configured root did not sign it */
		ISSUER_WHY("intermediate %s: %s is not signed by root %s (%s)", ic->name, ic->cert,
		    rc_conf->name, rc_conf->cert);
		goto out;
	}
	if (!X509_up_ref(is->cert)) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	if ((rc = mf_chain_add(is, rc_conf->name, is->cert)) != MF_OK) {
		X509_free(is->cert);
		goto out;
	}
	if ((rc = mf_nc_add(is, is->cert)) != MF_OK || (rc = mf_nc_add(is, root)) != MF_OK)
		goto out;
	for (i = 0; i < ic->ncross; i++)
		if ((rc = mf_load_cross(is, cfg, ic->cross[i])) != MF_OK) {
			ISSUER_WHY("intermediate %s: cross-certificate %s: %s", ic->name,
			    ic->cross[i], rc == MF_ERR_CA_NOTFOUND ? "no such file, or no "
			    "configured root signed it" : issuer_file_why(rc));
			goto out;
		}

	if (ks == NULL) {
		/* Certificates only (a process that must hold no key): cannot sign. */
		*out = is;
		is = NULL;
		rc = MF_OK;
		goto out;
	}
	if ((rc = mf_keystore_load(ks, ic->key, &is->key)) != MF_OK) {
		ISSUER_WHY("intermediate %s: cannot load its key: %s", ic->name, mf_strerror(rc));
		goto out;
	}
	/*
	 * Compare public parts: for a PKCS#11 handle that is all the
	 * EVP_PKEY holds, and it is what the certificate vouches for.
	 */
	if (!mf_pubkey_match(is->key, X509_get0_pubkey(is->cert))) {
		rc = MF_ERR_CA_MISMATCH;
		ISSUER_WHY("intermediate %s: the key does not match %s", ic->name, ic->cert);
		goto out;
	}
	*out = is;
	is = NULL;
	rc = MF_OK;
out:
	X509_free(root);
	mf_issuer_free(is);
	return rc;
}

void
mf_issuer_free(struct mf_issuer *is)
{
	size_t i;

	if (is == NULL)
		return;
	for (i = 0; i < is->nchains; i++) {
		free(is->chains[i].root);
		X509_free(is->chains[i].cert);
	}
	free(is->chains);
	for (i = 0; i < is->nnc; i++)
		NAME_CONSTRAINTS_free(is->nc[i]);
	free(is->nc);
	X509_free(is->cert);
	EVP_PKEY_free(is->key);
	free(is->url_base);
	free(is->name);
	free(is);
}

X509 *
mf_issuer_cert(const struct mf_issuer *is)
{
	return is ? is->cert : NULL;
}

const char *
mf_issuer_name(const struct mf_issuer *is)
{
	return is ? is->name : NULL;
}

EVP_PKEY *
mf_issuer_key(const struct mf_issuer *is)
{
	return is ? is->key : NULL;
}

int
mf_issuer_chain_pem(const struct mf_issuer *is, const char *root, char **pem)
{
	const struct mf_issuer_chain *c = NULL;
	BIO *bio = NULL;
	char *data;
	long len;
	size_t i;
	int rc;

	if (pem == NULL)
		return MF_ERR_INVAL;
	*pem = NULL;
	if (is == NULL || is->nchains == 0)
		return MF_ERR_INVAL;
	if (root == NULL)
		c = &is->chains[0];
	for (i = 0; c == NULL && i < is->nchains; i++)
		if (strcmp(is->chains[i].root, root) == 0)
			c = &is->chains[i];
	if (c == NULL)
		return MF_ERR_CA_NOTFOUND;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return MF_ERR_NOMEM;
	if (PEM_write_bio_X509(bio, c->cert) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	if ((*pem = malloc((size_t)len + 1)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	rc = MF_OK;
out:
	BIO_free(bio);
	if (rc != MF_OK)
		ERR_clear_error();
	return rc;
}

/*
 * The magnitude's octets in lower-case hex without leading zero octets
 * ("00" for zero). Our serials have a first octet in 0x10..0x7f, so
 * this is also exactly the DER content. Negative serials are refused.
 */
int
mf_serial_hex(const ASN1_INTEGER *serial, char *out, size_t outlen)
{
	const unsigned char *d;
	size_t n;

	if (serial == NULL || out == NULL || ASN1_STRING_type(serial) != V_ASN1_INTEGER)
		return MF_ERR_INVAL;
	d = ASN1_STRING_get0_data(serial);
	n = (size_t)ASN1_STRING_length(serial);
	while (n > 0 && d[0] == 0) {
		d++;
		n--;
	}
	if (n == 0) {
		if (outlen < 3)
			return MF_ERR_INVAL;
		memcpy(out, "00", 3);
		return MF_OK;
	}
	if (outlen < 2 * n + 1)
		return MF_ERR_INVAL;
	mf_hex(d, n, out);
	return MF_OK;
}

/* "DNS:a.example,IP:192.0.2.1" for the log, and the CN text of one name. */
static int
mf_name_text(const struct mf_name *n, char *buf, size_t buflen)
{
	if (n->type == MF_NAME_IP) {
		if (inet_ntop(n->iplen == 4 ? AF_INET : AF_INET6, n->ip, buf, (socklen_t)buflen) ==
		    NULL)
			return MF_ERR_INVAL;
		return MF_OK;
	}
	if (n->type != MF_NAME_DNS || n->dns == NULL || strlen(n->dns) >= buflen)
		return MF_ERR_INVAL;
	memcpy(buf, n->dns, strlen(n->dns) + 1);
	return MF_OK;
}

static int
mf_sans_string(const struct mf_approved *a, char **out)
{
	char text[300];
	size_t i, len = 1, off = 0;
	char *s;

	for (i = 0; i < a->nnames; i++)
		len += 6 + (a->names[i].type == MF_NAME_DNS ? strlen(a->names[i].dns) :
		    INET6_ADDRSTRLEN);
	if ((s = malloc(len)) == NULL)
		return MF_ERR_NOMEM;
	s[0] = '\0';
	for (i = 0; i < a->nnames; i++) {
		if (mf_name_text(&a->names[i], text, sizeof(text)) != MF_OK) {
			free(s);
			return MF_ERR_INVAL;
		}
		off += (size_t)snprintf(s + off, len - off, "%s%s:%s", i ? "," : "",
		    a->names[i].type == MF_NAME_DNS ? "DNS" : "IP", text);
	}
	*out = s;
	return MF_OK;
}

/* Builds and signs one leaf with a fresh serial. */
static int
mf_leaf_build(struct mf_issuer *is, const struct mf_approved *a, int64_t nb, int64_t na,
    X509 **out)
{
	static const int ku_bits[] = { 0, 2 };	/* digitalSignature, keyEncipherment */
	ASN1_INTEGER *serial = NULL;
	X509_NAME *subj = NULL;
	X509 *x = NULL;
	char cn[300];
	size_t i;
	int rc, rsa, empty_subject;

	*out = NULL;
	cn[0] = '\0';
	for (i = 0; i < a->nnames && cn[0] == '\0'; i++)
		if (a->names[i].type == MF_NAME_DNS && strlen(a->names[i].dns) <= MF_CN_MAX &&
		    (rc = mf_name_text(&a->names[i], cn, sizeof(cn))) != MF_OK)
			return rc;
	empty_subject = cn[0] == '\0';
	rsa = EVP_PKEY_get_base_id(a->pubkey) == EVP_PKEY_RSA;

	if ((rc = mf_serial_new(&serial)) != MF_OK)
		goto out;
	rc = MF_ERR_CRYPTO;
	if ((subj = X509_NAME_new()) == NULL)
		goto out;
	if (!empty_subject && !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0))
		goto out;
	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(is->cert)) ||
	    !X509_set_subject_name(x, subj) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL)
		goto out;
	/* The CSR's own SubjectPublicKeyInfo, copied without decoding the key. */
	if (a->spki != NULL) {
		if ((rc = mf_spki_copy(X509_get_X509_PUBKEY(x), a->spki)) != MF_OK)
			goto out;
		rc = MF_ERR_CRYPTO;
	} else if (!X509_set_pubkey(x, a->pubkey))
		goto out;

	/* keyEncipherment only for RSA: TLS 1.2 RSA key exchange encrypts to it. */
	if ((rc = mf_ext_add_bc(x, 0, -1)) != MF_OK ||
	    (rc = mf_ext_add_ku(x, ku_bits, rsa ? 2 : 1)) != MF_OK ||
	    (rc = mf_ext_add_eku(x, a->profile->eku)) != MF_OK ||
	    (rc = mf_ext_add_san(x, a->names, a->nnames, empty_subject)) != MF_OK ||
	    (rc = mf_ext_add_keyids(x, is->cert)) != MF_OK)
		goto out;
	if (is->url_base != NULL &&
	    (rc = mf_ext_add_ca_urls(x, is->url_base, is->name, 1)) != MF_OK)
		goto out;
	if (a->profile->must_staple && (rc = mf_ext_add_must_staple(x)) != MF_OK)
		goto out;

	if (X509_sign(x, is->key, mf_sign_md(is->key)) <= 0) {
		rc = MF_ERR_SIGN;
		goto out;
	}
	/*
	 * Verify before anything else happens: a token that returns a bad
	 * signature (or, for RSA-CRT, one that leaks the key) is caught here.
	 */
	if (X509_verify(x, X509_get0_pubkey(is->cert)) != 1) {
		rc = MF_ERR_SIGN;
		goto out;
	}
	*out = x;
	x = NULL;
	rc = MF_OK;
out:
	if (rc != MF_OK)
		ERR_clear_error();
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	return rc;
}

/* Fills a record from the finished certificate; the strings are owned by rec. */
static int
mf_leaf_record(const struct mf_issuer *is, const struct mf_approved *a, X509 *x, int64_t now,
    struct mf_cert_rec *rec)
{
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *data;
	long len;
	int rc, derlen;

	memset(rec, 0, sizeof(*rec));
	if ((rc = mf_serial_hex(X509_get0_serialNumber(x), rec->serial,
	    sizeof(rec->serial))) != MF_OK)
		return rc;
	rc = MF_ERR_NOMEM;
	if ((rec->issuer = strdup(is->name)) == NULL ||
	    (rec->profile = strdup(a->profile->name)) == NULL ||
	    (rec->requester = strdup(a->requester ? a->requester : "unknown")) == NULL)
		goto out;
	if ((rc = mf_sans_string(a, &rec->sans)) != MF_OK)
		goto out;
	rc = MF_ERR_CRYPTO;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) < 0)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if ((rec->subject = malloc((size_t)(len > 0 ? len : 0) + 1)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(rec->subject, data, (size_t)len);
	rec->subject[len > 0 ? len : 0] = '\0';
	if (mf_time_unix(X509_get0_notBefore(x), &rec->not_before) != MF_OK ||
	    mf_time_unix(X509_get0_notAfter(x), &rec->not_after) != MF_OK)
		goto out;
	memcpy(rec->csr_sha256, a->csr_sha256, sizeof(rec->csr_sha256));
	if ((derlen = i2d_X509(x, &der)) <= 0)
		goto out;
	/* The record owns a malloc() copy so that mf_cert_rec_free() can free it. */
	if ((rec->der = malloc((size_t)derlen)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(rec->der, der, (size_t)derlen);
	rec->der_len = (size_t)derlen;
	rec->issued_at = now;
	rc = MF_OK;
out:
	OPENSSL_free(der);
	BIO_free(bio);
	if (rc != MF_OK)
		ERR_clear_error();
	return rc;
}

static void
mf_rec_clear(struct mf_cert_rec *r)
{
	free(r->issuer);
	free(r->subject);
	free(r->sans);
	free(r->profile);
	free(r->requester);
	free(r->der);
	memset(r, 0, sizeof(*r));
}

/* The invariant, measured on the certificate itself: 0 < span <= cap. */
static int
mf_leaf_span_check(const struct mf_issuer *is, X509 *x)
{
	int64_t nb, na;

	if (mf_time_unix(X509_get0_notBefore(x), &nb) != MF_OK ||
	    mf_time_unix(X509_get0_notAfter(x), &na) != MF_OK || na <= nb ||
	    na - nb > is->hard_cap)
		return MF_ERR_LIFETIME_CAP;
	return MF_OK;
}

int
mf_issuer_sign(struct mf_issuer *is, const struct mf_approved *a, int64_t now, X509 **out)
{
	int64_t nb, na, ina, inb;
	X509 *x = NULL;
	int rc;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	/* A certificates-only issuer (no key, see mf_issuer_new) cannot sign. */
	if (is == NULL || is->key == NULL || a == NULL || a->profile == NULL || a->pubkey == NULL ||
	    a->nnames == 0 || a->names == NULL || now <= 0)
		return MF_ERR_INVAL;

	/* The policy checked this already; a second look costs nothing. */
	if (a->lifetime <= 0)
		return MF_ERR_LIFETIME_INVALID;
	if (a->lifetime > is->hard_cap)
		return MF_ERR_LIFETIME_CAP;
	if (a->not_before != 0) {
		/*
		 * A requested notBefore (forward-dated to ride out an outage of
		 * the CA) is taken exactly, not backdated; judged again here
		 * because the signer's clock is the one that counts.
		 */
		if (a->not_before > now && a->not_before - now > is->forward_horizon)
			return MF_ERR_NOT_BEFORE_FUTURE;
		if (a->not_before < now && now - a->not_before > is->backdate)
			return MF_ERR_NOT_BEFORE_PAST;
		nb = a->not_before;
		na = nb + a->lifetime;
	} else {
		nb = now - is->backdate;
		na = now + a->lifetime;
	}
	if (na - nb > is->hard_cap)
		na = nb + is->hard_cap;

	/* The intermediate must cover the whole leaf, and be valid now. */
	if (mf_time_unix(X509_get0_notBefore(is->cert), &inb) != MF_OK ||
	    mf_time_unix(X509_get0_notAfter(is->cert), &ina) != MF_OK)
		return MF_ERR_CRYPTO;
	if (inb > now || ina < na)
		return MF_ERR_CA_EXPIRED;
	if (nb < inb)
		nb = inb;	/* never backdate before the issuer existed */

	if ((rc = mf_leaf_build(is, a, nb, na, &x)) != MF_OK)
		goto out;
	if ((rc = mf_leaf_span_check(is, x)) != MF_OK ||
	    (rc = mf_leaf_nc_check(is, x)) != MF_OK)
		goto out;
	*out = x;
	x = NULL;
out:
	X509_free(x);
	return rc;
}

int
mf_issuer_revoked(const struct mf_issuer *is, struct mf_db *db)
{
	unsigned char *der = NULL;
	int len, rc;

	if (is == NULL || db == NULL)
		return MF_ERR_INVAL;
	if ((len = i2d_X509(is->cert, &der)) <= 0)
		return MF_ERR_CRYPTO;
	rc = mf_db_ca_is_revoked(db, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

int
mf_issuer_log(struct mf_issuer *is, struct mf_db *db, const struct mf_approved *a, X509 *x,
    int64_t now)
{
	struct mf_cert_rec rec;
	int rc;

	if (is == NULL || db == NULL || a == NULL || a->profile == NULL || x == NULL || now <= 0)
		return MF_ERR_INVAL;
	/*
	 * Fail closed after `mayfly intermediate revoke`: a leaf under a
	 * revoked intermediate is never logged, so never handed out.
	 */
	if ((rc = mf_issuer_revoked(is, db)) != MF_OK)
		return rc;
	if ((rc = mf_leaf_record(is, a, x, now, &rec)) != MF_OK)
		return rc;

	/*
	 * Test-only: die between signing and logging. Nothing may have
	 * been handed out; the CLI test checks that nothing was.
	 */
	if (mf_fault("after-sign"))
		abort();

	rc = mf_db_cert_insert(db, &rec);
	mf_rec_clear(&rec);
	return rc;
}

int
mf_issuer_issue(struct mf_issuer *is, struct mf_db *db, const struct mf_approved *a,
    int64_t now, X509 **out)
{
	X509 *x = NULL;
	int rc = MF_ERR_INTERNAL, tries;

	if (out == NULL)
		return MF_ERR_INVAL;
	*out = NULL;
	if (is == NULL || db == NULL || a == NULL || a->profile == NULL || a->pubkey == NULL ||
	    a->nnames == 0 || a->names == NULL || now <= 0)
		return MF_ERR_INVAL;

	for (tries = 0; tries < MF_SERIAL_TRIES; tries++) {
		if ((rc = mf_issuer_sign(is, a, now, &x)) != MF_OK)
			goto out;
		if ((rc = mf_issuer_log(is, db, a, x, now)) == MF_OK) {
			*out = x;
			x = NULL;
			goto out;
		}
		X509_free(x);
		x = NULL;
		if (rc != MF_ERR_SERIAL_DUP)
			goto out;
	}
out:
	X509_free(x);
	return rc;
}

/*
 * Steps over one DER element at *p (within *left bytes): on return *p is
 * past it, and start and total (when wanted) frame the whole element. With
 * enter set, *p is at its contents instead. Indefinite lengths are refused
 * (DER has none). -1 on a malformed element.
 */
static int
mf_der_step(const unsigned char **p, long *left, int enter, int *tag, int *cls,
    const unsigned char **start, long *total)
{
	const unsigned char *q = *p;
	long clen;
	int t, c, r;

	r = ASN1_get_object(&q, &clen, &t, &c, *left);
	if ((r & 0x80) != 0 || (r & 0x01) != 0 || clen < 0 || clen > *left - (q - *p))
		return -1;
	if (tag != NULL)
		*tag = t;
	if (cls != NULL)
		*cls = c;
	if (start != NULL)
		*start = *p;
	if (total != NULL)
		*total = (long)(q - *p) + clen;
	if (enter) {
		*left = clen;
		*p = q;
	} else {
		*left -= (long)(q - *p) + clen;
		*p = q + clen;
	}
	return 0;
}

int
mf_cert_spki_sha256(const unsigned char *der, size_t len, unsigned char out[32])
{
	const unsigned char *p = der, *peek, *spki;
	long left, pl, spkilen;
	int tag, cls, i;

	if (der == NULL || out == NULL || len == 0 || len > MF_CERT_FILE_MAX)
		return MF_ERR_INVAL;
	left = (long)len;
	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { ... */
	if (mf_der_step(&p, &left, 1, &tag, NULL, NULL, NULL) != 0 || tag != V_ASN1_SEQUENCE ||
	    mf_der_step(&p, &left, 1, &tag, NULL, NULL, NULL) != 0 || tag != V_ASN1_SEQUENCE)
		goto bad;
	/* version [0] EXPLICIT, optional */
	peek = p;
	pl = left;
	if (mf_der_step(&peek, &pl, 0, &tag, &cls, NULL, NULL) != 0)
		goto bad;
	if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
		p = peek;
		left = pl;
	}
	/* serialNumber, signature, issuer, validity, subject */
	for (i = 0; i < 5; i++)
		if (mf_der_step(&p, &left, 0, NULL, NULL, NULL, NULL) != 0)
			goto bad;
	if (mf_der_step(&p, &left, 0, &tag, &cls, &spki, &spkilen) != 0 ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL)
		goto bad;
	if (SHA256(spki, (size_t)spkilen, out) == NULL)
		goto bad;
	return MF_OK;
bad:
	ERR_clear_error();
	return MF_ERR_CRYPTO;
}
