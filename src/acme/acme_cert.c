/*
 * acme_cert.c: certificates once issued: download as a PEM chain with the
 * chains through the other roots offered as alternates (RFC 8555 7.4.2),
 * revocation by the ordering account, by an account holding authorisations
 * for all its names or by the certificate's own key (7.6),
 * and renewal information (RFC 9773) with its certID.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"

/*
 * Parses an RFC 9773 certID (base64url AKI keyIdentifier "." base64url
 * serial DER content) into the serial as lower-case hex.
 */
int
acme_ari_parse(const char *certid, char *serial_hex, size_t hexlen)
{
	const char *dot = strchr(certid, '.');
	unsigned char *aki = NULL, *ser = NULL;
	size_t akilen, serlen;
	char *left = NULL;
	int rc = MF_ERR_ACME_MALFORMED;

	if (dot == NULL || dot == certid || strlen(certid) > 200)
		return rc;
	if ((left = strndup(certid, (size_t)(dot - certid))) == NULL)
		return MF_ERR_NOMEM;
	if (mf_b64u_decode(left, &aki, &akilen) != 0 || mf_b64u_decode(dot + 1, &ser, &serlen) != 0)
		goto out;
	if (serlen == 0 || serlen > MF_SERIAL_MAX + 1 || 2 * serlen + 1 > hexlen)
		goto out;
	/* The DER content may carry a leading zero octet; the log's key does not. */
	if (serlen > 1 && ser[0] == 0)
		mf_hex(ser + 1, serlen - 1, serial_hex);
	else
		mf_hex(ser, serlen, serial_hex);
	rc = 0;
out:
	free(left);
	free(aki);
	free(ser);
	return rc;
}

int
acme_ari_certid(X509 *cert, char **out)
{
	const ASN1_OCTET_STRING *akid;
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	unsigned char *der = NULL;
	char *a = NULL, *s = NULL;
	int n, rc = MF_ERR_INVAL;

	*out = NULL;
	akid = X509_get0_authority_key_id(cert);
	if (akid == NULL || sn == NULL)
		return rc;
	/* The serial's DER content octets: the encoding after tag and length. */
	if ((n = i2d_ASN1_INTEGER((ASN1_INTEGER *)sn, &der)) < 3)
		goto out;
	a = mf_b64u_encode(ASN1_STRING_get0_data(akid), (size_t)ASN1_STRING_length(akid));
	s = mf_b64u_encode(der + 2, (size_t)n - 2);
	if (a == NULL || s == NULL || asprintf(out, "%s.%s", a, s) < 0) {
		*out = NULL;
		rc = MF_ERR_NOMEM;
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	free(a);
	free(s);
	return rc;
}

/* Finds the log's record for a hex serial written with or without its leading zero. */
static int
cert_get_hex(struct mf_acme *a, const char *hex, struct mf_cert_rec **rec)
{
	char alt[2 * MF_SERIAL_MAX + 4];
	int rc = mf_db_cert_get(a->db, hex, rec);

	if (rc != MF_ERR_NOTFOUND || strlen(hex) > 2 * MF_SERIAL_MAX)
		return rc;
	snprintf(alt, sizeof(alt), "00%s", hex);
	return mf_db_cert_get(a->db, alt, rec);
}

int
acme_h_cert(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct mf_cert_rec *rec = NULL;
	const unsigned char *p;
	const char *slash = strchr(c->arg, '/');
	char serial[2 * MF_SERIAL_MAX + 4], *chain = NULL, *root = NULL;
	BIO *bio = NULL;
	BUF_MEM *bm;
	int64_t n;
	long dlen;
	int tag, xclass;
	size_t i;
	int rc;

	if ((slash ? (size_t)(slash - c->arg) : strlen(c->arg)) >= sizeof(serial))
		return acme_fail(c, MF_ERR_NOTFOUND, "no such certificate");
	snprintf(serial, sizeof(serial), "%.*s", slash ? (int)(slash - c->arg) : (int)strlen(c->arg),
	    c->arg);
	if (slash != NULL)
		root = (char *)slash + 1;
	if ((rc = acme_sq_count(a->sq, &n, "SELECT count(*) FROM acme_issued WHERE serial = ? "
	    "AND account_id = ?", "ss", serial, c->acct->id)) != 0 || n == 0)
		return acme_fail(c, MF_ERR_NOTFOUND, "no such certificate");
	if ((rc = mf_db_cert_get(a->db, serial, &rec)) != 0)
		return acme_fail(c, rc, "no such certificate");
	/*
	 * The stored DER goes out as it is, without decoding it into an X509
	 * (which cost as much as a signature, a tenth of the listener's CPU in
	 * the full ACME flow); a row that is not one whole DER SEQUENCE is
	 * refused rather than handed out.
	 */
	p = rec->der;
	if (rec->der_len == 0 || ASN1_get_object(&p, &dlen, &tag, &xclass,
	    (long)rec->der_len) != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
	    (size_t)(p - rec->der) + (size_t)dlen != rec->der_len) {
		rc = acme_fail(c, MF_ERR_DB, "stored certificate unreadable");
		goto out;
	}
	if ((rc = acme_ca_chain_pem(a, root, &chain)) != 0) {
		rc = acme_fail(c, rc == MF_ERR_NOTFOUND || rc == MF_ERR_CA_NOTFOUND ?
		    MF_ERR_NOTFOUND : rc, "no chain to %s", root ? root : "the primary root");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(bio, PEM_STRING_X509, "", rec->der, (long)rec->der_len) <= 0 ||
	    BIO_write(bio, chain, (int)strlen(chain)) != (int)strlen(chain)) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	BIO_get_mem_ptr(bio, &bm);
	if ((c->r->body = malloc(bm->length)) == NULL) {
		rc = acme_fail(c, MF_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(c->r->body, bm->data, bm->length);
	c->r->len = bm->length;
	c->r->ctype = "application/pem-certificate-chain";
	c->r->status = 200;
	/* 7.4.2: offer the chains through the other roots (cross-signed) as alternates. */
	for (i = 0; i < a->cfg->nroots; i++) {
		const char *rn = a->cfg->roots[i].name;
		char *alt = NULL;

		if (root != NULL && strcmp(rn, root) == 0)
			continue;
		if (acme_ca_chain_pem(a, rn, &alt) == 0) {
			char *u = acme_url(a, "/cert/%s/%s", serial, rn);

			if (u != NULL && (root != NULL || strcmp(alt, chain) != 0))
				acme_link(c, "<%s>;rel=\"alternate\"", u);
			free(u);
		}
		free(alt);
	}
	rc = 0;
out:
	BIO_free(bio);
	free(chain);
	mf_cert_rec_free(rec);
	return rc;
}

/*
 * 7.6: an account other than the one that ordered the certificate may revoke
 * it when it holds valid, unexpired authorisations for every name in it.
 * *ok is 1 if so; a certificate without names is nobody's by this rule.
 */
static int
acct_holds_names(struct acme_ctx *c, X509 *cert, int *ok)
{
	char **names = NULL;
	size_t n = 0, i;
	int64_t k = 0;
	int rc;

	*ok = 0;
	if ((rc = acme_cert_names(cert, &names, &n)) != 0)
		return rc == MF_ERR_NOMEM ? rc : 0;
	for (i = 0; i < n; i++) {
		int wild = strncmp(names[i], "*.", 2) == 0;

		if ((rc = acme_sq_count(c->a->sq, &k, "SELECT count(*) FROM acme_authzs z JOIN "
		    "acme_orders o ON o.id = z.order_id WHERE o.account_id = ? AND z.status = 'valid' "
		    "AND z.expires > ? AND z.value = lower(?) AND z.wildcard = ?", "sisi",
		    c->acct->id, c->now, wild ? names[i] + 2 : names[i], (int64_t)wild)) != 0 ||
		    k == 0)
			goto out;
	}
	*ok = n > 0;
out:
	acme_names_free(names, n);
	return rc;
}

int
acme_h_revoke(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct mf_cert_rec *rec = NULL;
	const char *b64 = c->jws->body ? json_string_value(json_object_get(c->jws->body,
	    "certificate")) : NULL;
	json_t *reason_j = c->jws->body ? json_object_get(c->jws->body, "reason") : NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen;
	X509 *cert = NULL;
	EVP_PKEY *jk = NULL;
	char serial[2 * MF_SERIAL_MAX + 1], actor[64];
	int reason = 0, rc, holds = 0;
	int64_t n;

	if (b64 == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "revokeCert needs \"certificate\"");
	if (reason_j != NULL) {
		if (!json_is_integer(reason_j))
			return acme_fail(c, MF_ERR_ACME_BADREASON, "reason must be an integer");
		reason = (int)json_integer_value(reason_j);
		/* RFC 5280 codes a subscriber may give; no CA compromise, no hold. */
		if (reason != 0 && reason != 1 && reason != 3 && reason != 4 && reason != 5 &&
		    reason != 9)
			return acme_fail(c, MF_ERR_ACME_BADREASON, "reason %d not allowed", reason);
	}
	if (mf_b64u_decode(b64, &der, &derlen) != 0 || (p = der, cert = d2i_X509(NULL, &p,
	    (long)derlen)) == NULL || p != der + derlen) {
		rc = acme_fail(c, MF_ERR_ACME_MALFORMED, "certificate is not base64url DER");
		goto out;
	}
	if ((rc = mf_serial_hex(X509_get0_serialNumber(cert), serial, sizeof(serial))) != 0 ||
	    (rc = mf_db_cert_get(a->db, serial, &rec)) != 0 || rec->der_len != derlen ||
	    memcmp(rec->der, der, derlen) != 0) {
		rc = acme_fail(c, MF_ERR_NOTFOUND, "certificate not issued by this CA");
		goto out;
	}
	if (c->acct != NULL) {
		/* 7.6: the account that ordered it, or one authorised for all its names. */
		if ((rc = acme_sq_count(a->sq, &n, "SELECT count(*) FROM acme_issued WHERE "
		    "serial = ? AND account_id = ?", "ss", serial, c->acct->id)) == 0 && n == 0)
			rc = acct_holds_names(c, cert, &holds);
		if (rc != 0) {
			rc = acme_fail(c, rc, "cannot check who may revoke the certificate");
			goto out;
		}
		if (n == 0 && !holds) {
			rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "certificate not issued to this "
			    "account, which is not authorised for all its names");
			goto out;
		}
		snprintf(actor, sizeof(actor), "acme:acct/%s", c->acct->id);
	} else {
		/* 7.6: or whoever holds the certificate's private key. */
		if (mf_jwk_to_pkey(c->jws->jwk, &jk) != 0 ||
		    EVP_PKEY_eq(jk, X509_get0_pubkey(cert)) != 1) {
			rc = acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "JWS key is not the certificate's");
			goto out;
		}
		snprintf(actor, sizeof(actor), "acme:certkey");
	}
	/* Answered "revoked" only once the revocation survives a crash. */
	if ((rc = acme_sq_durable(a->sq, 1)) == 0)
		rc = mf_db_cert_revoke(a->db, serial, reason, c->now, actor);
	if (acme_sq_durable(a->sq, 0) != 0 && rc == 0)
		rc = MF_ERR_DB;
	if (rc == MF_ERR_REVOKED) {
		rc = acme_fail(c, MF_ERR_ACME_REVOKED, "certificate already revoked");
		goto out;
	}
	if (rc != 0) {
		rc = acme_fail(c, rc, "cannot record the revocation");
		goto out;
	}
	mf_info("serial=%s reason=%d actor=%s msg=\"certificate revoked over ACME\"", serial,
	    reason, actor);
	c->r->status = 200;
out:
	EVP_PKEY_free(jk);
	X509_free(cert);
	free(der);
	mf_cert_rec_free(rec);
	return rc;
}

void
acme_ari_window(int64_t not_before, int64_t not_after, int revoked, int64_t now,
    const char *serial, int64_t *start, int64_t *end)
{
	int64_t life = not_after - not_before, left = not_after - now, width, slot;
	uint32_t h = 2166136261u;

	if (revoked) {
		/* A window in the past: renew now. */
		*start = now - 3600;
		*end = now - 60;
		return;
	}
	/* Around two thirds of the lifetime, a tenth of it wide. */
	*start = not_before + life * 2 / 3 - life / 20;
	*end = not_before + life * 2 / 3 + life / 20;
	if (now < *end || left <= 0)
		return;
	/*
	 * Missed (the CA was down, or the server was). Every such server would
	 * otherwise see a window in the past and come at once. Give each a
	 * window of the usual width (at most a quarter of what is left of its
	 * life) starting at an offset from now chosen by its serial: the
	 * serials are random, so the starts are spread evenly, and a client
	 * that picks a random time inside its window spreads further.
	 */
	width = life / 10;
	if (width > left / 4)
		width = left / 4;
	if (width < 60)
		width = left > 120 ? 60 : left / 2;
	for (; serial != NULL && *serial != '\0'; serial++)
		h = (h ^ (unsigned char)*serial) * 16777619u;
	slot = width > 0 ? (int64_t)(h % (uint32_t)width) : 0;
	*start = now + slot;
	*end = *start + width;
}

int
acme_h_renewal_info(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct mf_cert_rec *rec = NULL;
	char serial[2 * MF_SERIAL_MAX + 4], s1[32], s2[32];
	int64_t life, start, end, retry;
	int rc;

	if (acme_ari_parse(c->arg, serial, sizeof(serial)) != 0)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "not an RFC 9773 certID");
	if ((rc = cert_get_hex(a, serial, &rec)) != 0)
		return acme_fail(c, rc == MF_ERR_NOTFOUND ? rc : rc, "no such certificate");
	life = rec->not_after - rec->not_before;
	acme_ari_window(rec->not_before, rec->not_after, rec->revoked_at != 0, c->now, rec->serial,
	    &start, &end);
	acme_rfc3339(start, s1);
	acme_rfc3339(end, s2);
	c->r->json = json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start", s1, "end", s2);
	retry = life / 12;
	c->r->retry_after = (int)(retry < 60 ? 60 : retry > 21600 ? 21600 : retry);
	c->r->status = 200;
	mf_cert_rec_free(rec);
	return 0;
}
