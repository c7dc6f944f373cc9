/*
 * signer.c: the signer process (see signer.h); the network process's side
 * is in sigclient.c.
 *
 * Wire format, host byte order (both ends are the same binary):
 *   request:  struct mfd_sig_hdr { op, len } then len bytes (len <= 64,
 *             except ISSUE_BATCH: struct mfd_sig_batch_req { n }, then n
 *             items, each a struct mfd_sig_issue_req { lifetime, lengths,
 *             not_before } followed by the CSR DER, the profile name and
 *             the requester, lengths as in the struct; at most
 *             MFD_SIG_BATCH_REQ_MAX in all)
 *   response: struct mfd_sig_rhdr { rc, len } then len bytes (for a
 *             refused request: a one-line reason). For ISSUE_BATCH with
 *             rc 0: n answers in request order, each a struct
 *             mfd_sig_issue_ans { rc, len, ocsp_len, issuer, serial, meta }
 *             then len bytes (the certificate DER, or the item's reason
 *             when its rc is not 0) and ocsp_len bytes (its pre-signed
 *             OCSP response; 0 when there is none). A batch refused as a
 *             whole (no acme:, keys gone) has rc != 0 and one reason.
 * The structs are in sigwire.h. A request whose header or payload does not
 * have the exact size its op demands ends the signer: the only writer is
 * our own network process, so such a request means that process is no
 * longer ours.
 */
#include "mf_build.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include "store/sql.h"

#include "acme/acme.h"
#include "crl.h"
#include "db.h"
#include "issuer.h"
#include "keystore.h"
#include "policy.h"
#include "mferr.h"
#include "ocspreq.h"
#include "sign.h"
#include "signer.h"
#include "sigwire.h"
#include "util.h"

/* ---- the signer process ------------------------------------------------------- */

struct sig_ca {
	const char *name;		/* borrowed from cfg */
	X509 *cert;
	EVP_PKEY *key;			/* keystore handle */
	X509 *rcert;			/* delegated responder, or NULL */
	EVP_PKEY *rkey;
	int64_t rotate_at;
	int64_t r_not_after;		/* responder certificate's notAfter */
};

struct sig_state {
	struct mf_config *cfg;
	struct mf_keystore *ks;
	struct mf_db *db;
	struct sig_ca *ca;
	size_t nca;
	struct mf_issuer *issuer;	/* active intermediate for ISSUE_BATCH; NULL without acme: */
	int issuer_ca;			/* its index in ca, for pre-signed OCSP; -1: none */
	int64_t ping_at;
	int ping_rc;
	/* The last write to the log that failed for want of space or rights. */
	int dbw_rc;			/* MF_ERR_DB_FULL, MF_ERR_DB_READONLY or 0 */
	int64_t dbw_at;
	char dbw_why[256];
};

/*
 * Below this much free space on the database's filesystem the log counts
 * as full: a batch of certificates with their audit rows, the WAL and a
 * checkpoint need a few hundred KiB at most.
 */
#define SIG_DB_MIN_FREE		(256 * 1024)
/* A failed write keeps /health at 503 this long, unless a write succeeds. */
#define SIG_DB_FAIL_HOLD	10

static void
sig_state_free(struct sig_state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nca; i++) {
		X509_free(st->ca[i].cert);
		EVP_PKEY_free(st->ca[i].key);
		X509_free(st->ca[i].rcert);
		EVP_PKEY_free(st->ca[i].rkey);
	}
	free(st->ca);
	mf_issuer_free(st->issuer);
	mf_db_close(st->db);
	mf_keystore_free(st->ks);
	mf_config_free(st->cfg);
	free(st);
}

static int
sig_read_cert(const char *path, X509 **out)
{
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return MF_ERR_IO;
	*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return *out != NULL ? 0 : MF_ERR_CRYPTO;
}

/*
 * Whether the filesystem of the database has room and takes writes, from
 * its own statistics (statvfs): MF_ERR_DB_READONLY for a read-only mount,
 * MF_ERR_DB_FULL below SIG_DB_MIN_FREE (counting the blocks reserved for
 * root when we are root, since we may use them), else 0.
 */
static int
sig_db_space(const struct sig_state *st, char *why, size_t wl)
{
	struct statvfs v;
	char dir[4096], *slash;
	unsigned long long avail;

	if (mf_sql_is_pg_uri(st->cfg->database))
		return 0;	/* the server's disk: PostgreSQL says so itself (53100) */
	if (snprintf(dir, sizeof(dir), "%s", st->cfg->database) >= (int)sizeof(dir))
		return 0;
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (statvfs(dir, &v) != 0)
		return 0;
	if (v.f_flag & ST_RDONLY) {
		snprintf(why, wl, "database is read-only (read-only filesystem)");
		return MF_ERR_DB_READONLY;
	}
	avail = (unsigned long long)(geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
	if (avail < SIG_DB_MIN_FREE) {
		snprintf(why, wl, "database disk full (%llu KiB free)", avail / 1024);
		return MF_ERR_DB_FULL;
	}
	return 0;
}

/*
 * SQLite opens the log read-only when its filesystem is read-only at that
 * moment, and such a connection stays so; so does any connection this
 * process opens to the same file while it exists (SQLite shares the
 * read-only -shm mapping among them). Once the filesystem takes writes
 * again, close it and open it anew, so that issuance resumes without a
 * restart. If it cannot be opened at all, the signer ends and the network
 * process starts a fresh one. Returns MF_ERR_DB_READONLY while the
 * connection is still read-only.
 */
static int
sig_db_reopen(struct sig_state *st)
{
	char why[128];
	int rc;

	if (mf_sql_readonly(mf_db_handle(st->db)) != 1)
		return 0;
	if (sig_db_space(st, why, sizeof(why)) == MF_ERR_DB_READONLY)
		return MF_ERR_DB_READONLY;
	mf_db_close(st->db);
	st->db = NULL;
	if ((rc = mf_db_open(st->cfg->database, 0, &st->db)) != 0) {
		mf_err("event=database-reopen-failed err=%s", mf_errname(rc));
		exit(1);
	}
	if (mf_sql_readonly(mf_db_handle(st->db)) == 1)
		return MF_ERR_DB_READONLY;
	mf_info("event=database-reopened msg=\"the database takes writes again\"");
	return 0;
}

/*
 * A write to the log failed with rc: says whether for want of space or of
 * write access (SQLite's code, the errno of its failed call, the
 * filesystem's statistics), remembers that for /health, and returns the
 * code to report: MF_ERR_DB_FULL or MF_ERR_DB_READONLY (503 with
 * Retry-After to clients: nothing is wrong with their request), else rc.
 */
static int
sig_db_failed(struct sig_state *st, int rc)
{
	struct mf_sql *h = mf_db_handle(st->db);
	char why[256];
	int code = 0, e = h != NULL ? mf_sql_errcode(h) & 0xff : 0;

	why[0] = '\0';
	if (rc == MF_ERR_DB_FULL || e == MF_SQL_FULL)
		code = MF_ERR_DB_FULL;
	else if (rc == MF_ERR_DB_READONLY || e == MF_SQL_READONLY)
		code = MF_ERR_DB_READONLY;
	else if (rc == MF_ERR_IO && h != NULL) {
		int en = mf_sql_system_errno(h);

		if (en == ENOSPC || en == EDQUOT)
			code = MF_ERR_DB_FULL;
		else if (en == EROFS)
			code = MF_ERR_DB_READONLY;
	}
	if (rc == MF_ERR_IO || rc == MF_ERR_DB || code != 0) {
		int c2 = sig_db_space(st, why, sizeof(why));

		if (code == 0)
			code = c2;
	}
	if (code == 0)
		return rc;
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "%s", mf_strerror(code));
	st->dbw_rc = code;
	st->dbw_at = (int64_t)time(NULL);
	snprintf(st->dbw_why, sizeof(st->dbw_why), "%s", why);
	return code;
}

/*
 * A fresh delegated responder for ca: a P-256 key that lives only in this
 * process's memory, certified by the intermediate and recorded in the log.
 */
static int
sig_responder_new(struct sig_state *st, struct sig_ca *ca, int64_t now, char *why, size_t wl)
{
	EVP_PKEY *k;
	X509 *c = NULL;
	struct mf_ca_rec rec;
	unsigned char *der = NULL;
	char name[128];
	int rc, n;

	if ((k = EVP_EC_gen("P-256")) == NULL) {
		snprintf(why, wl, "responder key generation failed");
		return MF_ERR_KEYGEN;
	}
	rc = mfd_responder_cert(ca->cert, ca->key, k, ca->name, now,
	    st->cfg->ocsp_responder_lifetime, &c);
	if (rc != 0) {
		snprintf(why, wl, "responder certificate for %s: %s", ca->name, mf_strerror(rc));
		EVP_PKEY_free(k);
		return rc;
	}
	if ((n = i2d_X509(c, &der)) <= 0) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(name, sizeof(name), "%s-ocsp", ca->name);
	rec.name = name;
	rec.kind = (char *)"ocsp";
	rec.signed_by = (char *)ca->name;
	rec.key_uri = (char *)"memory:";	/* generated in the signer, never stored */
	rec.der = der;
	rec.der_len = (size_t)n;
	rec.not_before = now - 300;
	rec.not_after = now + st->cfg->ocsp_responder_lifetime;
	if ((rc = mf_db_ca_insert(st->db, &rec, "mayflyd")) != 0) {
		rc = sig_db_failed(st, rc);
		snprintf(why, wl, "recording responder certificate: %s", mf_strerror(rc));
		goto out;
	}
	X509_free(ca->rcert);
	EVP_PKEY_free(ca->rkey);
	ca->rcert = c;
	ca->rkey = k;
	c = NULL;
	k = NULL;
	/* Rotate at half life, so every response outlives nothing it relies on. */
	ca->rotate_at = now + st->cfg->ocsp_responder_lifetime / 2;
	ca->r_not_after = now + st->cfg->ocsp_responder_lifetime;
	{
		struct tm tm;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(ca->rcert), &tm))
			ca->r_not_after = (int64_t)timegm(&tm);
	}
	mf_info("event=ocsp-responder ca=%s lifetime=%lld", ca->name,
	    (long long)st->cfg->ocsp_responder_lifetime);
out:
	OPENSSL_free(der);
	X509_free(c);
	EVP_PKEY_free(k);
	return rc;
}

/*
 * A reload keeps the delegated responders of intermediates whose
 * certificate did not change: a new one would be one more certificate in
 * the log per SIGHUP, for nothing.
 */
static void
sig_responders_keep(struct sig_state *from, struct sig_state *to)
{
	size_t i, j;

	if (!to->cfg->ocsp_delegated)
		return;
	for (i = 0; i < to->nca; i++)
		for (j = 0; j < from->nca; j++) {
			struct sig_ca *a = &from->ca[j], *b = &to->ca[i];

			if (a->rcert == NULL || b->rcert != NULL || strcmp(a->name, b->name) != 0 ||
			    X509_cmp(a->cert, b->cert) != 0)
				continue;
			b->rcert = a->rcert;
			b->rkey = a->rkey;
			b->rotate_at = a->rotate_at;
			b->r_not_after = a->r_not_after;
			a->rcert = NULL;
			a->rkey = NULL;
		}
}

/* Opens keystore, database and keys for cfg (taken over by st). */
static int
sig_state_load(struct mf_config *cfg, struct sig_state **out, char *why, size_t wl)
{
	struct sig_state *st;
	struct mf_keystore_conf kc;
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		mf_config_free(cfg);
		return MF_ERR_NOMEM;
	}
	st->cfg = cfg;
	memset(&kc, 0, sizeof(kc));
	kc.module = cfg->pkcs11_module;
	kc.pin_source = cfg->pkcs11_pin_source;
	kc.softhsm2_conf = cfg->softhsm2_conf;
	if ((rc = mf_keystore_new(&kc, &st->ks)) != 0) {
		snprintf(why, wl, "keystore: %s", mf_strerror(rc));
		goto out;
	}
	if ((rc = mf_db_open(cfg->database, 0, &st->db)) != 0) {
		snprintf(why, wl, "database %s: %s", mf_db_shown(cfg->database), mf_strerror(rc));
		goto out;
	}
	if (cfg->nintermediates == 0 || cfg->nintermediates > 0xffff) {
		rc = MF_ERR_CA_NOTFOUND;
		snprintf(why, wl, "no intermediates configured");
		goto out;
	}
	if ((st->ca = calloc(cfg->nintermediates, sizeof(*st->ca))) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < cfg->nintermediates; i++) {
		struct sig_ca *ca = &st->ca[i];

		st->nca++;
		ca->name = cfg->intermediates[i].name;
		if ((rc = sig_read_cert(cfg->intermediates[i].cert, &ca->cert)) != 0) {
			snprintf(why, wl, "certificate %s: %s", cfg->intermediates[i].cert,
			    mf_strerror(rc));
			goto out;
		}
		if ((rc = mf_keystore_load(st->ks, cfg->intermediates[i].key, &ca->key)) != 0) {
			snprintf(why, wl, "key of %s: %s", ca->name, mf_strerror(rc));
			goto out;
		}
		if (X509_check_private_key(ca->cert, ca->key) != 1) {
			rc = MF_ERR_CA_MISMATCH;
			snprintf(why, wl, "key of %s does not match its certificate", ca->name);
			goto out;
		}
		/*
		 * No responder yet: it is made (signed and recorded) when the
		 * first response is signed (sig_ocsp_sign), never by a start or
		 * a reload alone, so a start that fails later, or is repeated
		 * in a loop, records nothing.
		 */
	}
	/* Leaf issuance (ISSUE) only for the renewal listener. */
	if (cfg->acme.enabled && (rc = mf_issuer_new(cfg, st->ks, NULL, &st->issuer)) != 0) {
		snprintf(why, wl, "issuing CA: %s", mf_strerror(rc));
		goto out;
	}
	st->issuer_ca = -1;
	for (i = 0; st->issuer != NULL && i < st->nca; i++)
		if (strcmp(st->ca[i].name, mf_issuer_name(st->issuer)) == 0)
			st->issuer_ca = (int)i;
	/* Say it once, up front: every issuance would be refused (ca-revoked). */
	if (st->issuer != NULL && mf_issuer_revoked(st->issuer, st->db) == MF_ERR_CA_REVOKED)
		mf_err("event=issuer-revoked ca=%s msg=\"issuance.active names a revoked "
		    "intermediate: every issuance is refused\"", mf_issuer_name(st->issuer));
	st->ping_at = now;
	st->ping_rc = 0;
	*out = st;
	st = NULL;
	rc = 0;
out:
	ERR_clear_error();
	sig_state_free(st);
	return rc;
}

/*
 * Fail closed: if the token stopped answering, refuse to sign. The check is
 * repeated at most once a second so that re-signing in bulk stays cheap.
 */
static int
sig_keys_ok(struct sig_state *st, int force)
{
	int64_t now = (int64_t)time(NULL);

	if (force || now != st->ping_at) {
		st->ping_rc = mf_keystore_ping(st->ks);
		st->ping_at = now;
	}
	return st->ping_rc;
}

static int
sig_lookup(struct sig_state *st, const unsigned char *serial, size_t n, struct mf_cert_rec **r)
{
	char hex[2 * MF_SERIAL_MAX + 3];
	int rc;

	/* The log may keep the DER form with its leading zero octet; try both. */
	mf_hex(serial, n, hex + 2);
	rc = mf_db_cert_get(st->db, hex + 2, r);
	if (rc == MF_ERR_NOTFOUND && (serial[0] & 0x80) && n < MF_SERIAL_MAX) {
		hex[0] = '0';
		hex[1] = '0';
		rc = mf_db_cert_get(st->db, hex, r);
	}
	return rc;
}

/*
 * Signs the response in (status, serial and hash set by the caller) as
 * intermediate i: the delegated responder if configured (rotated here once
 * due), else the intermediate itself. Fills the rest of in and *m.
 */
static int
sig_ocsp_sign(struct sig_state *st, unsigned i, struct mfd_ocsp_in *in, struct mfd_sig_meta *m,
    unsigned char **der, size_t *len)
{
	struct sig_ca *ca = &st->ca[i];
	int64_t now = (int64_t)time(NULL);
	int rc;
	char why[256];

	if (st->cfg->ocsp_delegated && now >= ca->rotate_at &&
	    (rc = sig_responder_new(st, ca, now, why, sizeof(why))) != 0) {
		/*
		 * The old responder still covers half its life: keep using it.
		 * Without one (the log cannot record a new one: disk full,
		 * read-only), the intermediate signs, as RFC 6960 4.2.2.2
		 * allows; try again in a minute, not on every response.
		 */
		mf_err("event=ocsp-responder-rotate ca=%s err=%s why=\"%s\"", ca->name,
		    mf_errname(rc), why);
		ca->rotate_at = now + 60;
		if (ca->rcert != NULL && ca->rotate_at > ca->r_not_after - 60)
			ca->rotate_at = now;
		if (ca->rcert != NULL && now >= ca->r_not_after) {
			X509_free(ca->rcert);
			EVP_PKEY_free(ca->rkey);
			ca->rcert = NULL;
			ca->rkey = NULL;
		}
	}
	in->issuer = ca->cert;
	in->signer = ca->rcert != NULL ? ca->rcert : ca->cert;
	in->key = ca->rkey != NULL ? ca->rkey : ca->key;
	in->this_update = now;
	in->next_update = now + st->cfg->ocsp_validity;
	/* A response must not outlive the certificate that signed it. */
	if (ca->rcert != NULL && in->next_update > ca->r_not_after)
		in->next_update = ca->r_not_after;
	if ((rc = mfd_ocsp_sign(in, der, len)) != 0) {
		ERR_clear_error();
		return rc;
	}
	m->this_update = in->this_update;
	m->next_update = in->next_update;
	m->revoked_at = in->revoked_at;
	m->status = in->status;
	m->reason = in->reason;
	return 0;
}

static int
sig_do_ocsp(struct sig_state *st, const struct mfd_sig_ocsp_req *q, struct mfd_sig_meta *m,
    unsigned char **der, size_t *len)
{
	struct mfd_ocsp_in in;
	struct mf_cert_rec *r = NULL;
	int rc;

	if (q->issuer >= st->nca || (q->alg != MFD_ALG_SHA1 && q->alg != MFD_ALG_SHA256) ||
	    q->serial_len == 0 || q->serial_len > 20)
		return MF_ERR_INVAL;
	memset(m, 0, sizeof(*m));
	memset(&in, 0, sizeof(in));
	/*
	 * A serial this intermediate never issued costs no signature: the OCSP
	 * port is open to anyone, and a flood of random serials must not
	 * become a flood of HSM operations. The network process answers it
	 * with the unsigned "unauthorized" (RFC 6960 2.3, RFC 5019 2.2.3: we
	 * hold no authoritative status for it).
	 */
	rc = sig_lookup(st, q->serial, q->serial_len, &r);
	if (rc == MF_ERR_NOTFOUND || (rc == 0 && strcmp(r->issuer, st->ca[q->issuer].name) != 0)) {
		mf_cert_rec_free(r);
		return MF_ERR_OCSP_UNAUTHORIZED;
	}
	if (rc != 0)
		return rc;
	if ((rc = sig_keys_ok(st, 0)) != 0) {
		mf_cert_rec_free(r);
		return rc;
	}
	if (r->revoked_at != 0) {
		in.status = V_OCSP_CERTSTATUS_REVOKED;
		in.revoked_at = r->revoked_at;
		in.reason = r->reason;
		m->not_after = r->not_after;
	} else {
		in.status = V_OCSP_CERTSTATUS_GOOD;
		m->not_after = r->not_after;
	}
	mf_cert_rec_free(r);
	in.alg = q->alg;
	in.serial = q->serial;
	in.serial_len = q->serial_len;
	return sig_ocsp_sign(st, q->issuer, &in, m, der, len);
}

struct sig_crl_acc {
	struct mf_crl_entry *e;
	size_t n, cap;
};

static int
sig_crl_cb(const struct mf_cert_rec *r, void *arg)
{
	struct sig_crl_acc *a = arg;
	struct mf_crl_entry *e;
	char hex[2 * MF_SERIAL_MAX + 2];
	size_t hl = strlen(r->serial);

	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		struct mf_crl_entry *ne = realloc(a->e, nc * sizeof(*ne));

		if (ne == NULL)
			return MF_ERR_NOMEM;
		a->e = ne;
		a->cap = nc;
	}
	e = &a->e[a->n];
	memset(e, 0, sizeof(*e));
	if (hl == 0 || hl > 2 * MF_SERIAL_MAX)
		return 0;		/* cannot be one of ours; skip */
	hex[0] = '0';
	memcpy(hex + 1, r->serial, hl + 1);
	if (mf_unhex((hl & 1) ? hex : hex + 1, e->serial, sizeof(e->serial), &e->serial_len) != 0)
		return 0;
	e->revoked_at = r->revoked_at;
	e->reason = r->reason;
	a->n++;
	return 0;
}

static int
sig_do_crl(struct sig_state *st, unsigned issuer, struct mfd_sig_meta *m, unsigned char **der,
    size_t *len)
{
	struct sig_crl_acc a = { NULL, 0, 0 };
	int64_t now = (int64_t)time(NULL);
	uint64_t number;
	int rc;

	if (issuer >= st->nca)
		return MF_ERR_INVAL;
	if ((rc = sig_keys_ok(st, 1)) != 0)
		return rc;
	if ((rc = mf_db_revoked_list(st->db, st->ca[issuer].name, now, sig_crl_cb, &a)) != 0)
		goto out;
	if ((rc = mf_db_crl_number_next(st->db, st->ca[issuer].name, &number)) != 0) {
		rc = sig_db_failed(st, rc);
		goto out;
	}
	rc = mf_crl_build(st->ca[issuer].cert, st->ca[issuer].key, a.e, a.n, number, now,
	    st->cfg->crl_validity, der, len);
	if (rc != 0)
		ERR_clear_error();
	memset(m, 0, sizeof(*m));
	m->this_update = now;
	m->next_update = now + st->cfg->crl_validity;
	m->status = (int32_t)a.n;
out:
	free(a.e);
	return rc;
}

int
mfd_sig_printable(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * ISSUE_BATCH: the network process asks for leaves. Each is a request,
 * not an order: the policy is checked here again against our own
 * configuration. The approved ones are signed before the transaction opens
 * (signing needs no database, so the write lock is held only for the
 * inserts), logged in one transaction, and committed once; only then do
 * the certificates, with their first OCSP responses, go back.
 */
struct sig_item {
	int64_t lifetime;
	int64_t not_before;		/* 0: at issuance, backdated */
	const unsigned char *csr;	/* borrowed from the request buffer */
	size_t csr_len;
	char profile[MF_ACME_PROFILE_MAX + 1];
	char requester[MF_ACME_REQUESTER_MAX + 1];
	struct mf_approved *ap;
	X509 *cert;			/* signed; goes out only once committed */
	int rc;
	char why[256];
	struct mfd_sig_issue_ans ans;
	unsigned char *der;		/* the certificate, after the commit */
	unsigned char *ocsp;		/* its first OCSP response, or NULL */
};

static void
sig_items_free(struct sig_item *it, size_t n)
{
	size_t i;

	for (i = 0; it != NULL && i < n; i++) {
		mf_approved_free(it[i].ap);
		X509_free(it[i].cert);
		OPENSSL_free(it[i].der);
		free(it[i].ocsp);
	}
	free(it);
}

/*
 * Splits an ISSUE_BATCH payload into items, checking every length exactly.
 * MF_ERR_INVAL means the request is malformed (the caller ends the
 * signer); *out points into p, which must outlive it.
 */
static int
sig_batch_parse(const unsigned char *p, size_t len, struct sig_item **out, size_t *nout)
{
	struct mfd_sig_batch_req b;
	struct sig_item *it;
	size_t off, i;

	*out = NULL;
	*nout = 0;
	if (len < sizeof(b))
		return MF_ERR_INVAL;
	memcpy(&b, p, sizeof(b));
	if (b.n == 0 || b.n > MFD_SIG_ISSUE_BATCH_MAX || b.pad != 0)
		return MF_ERR_INVAL;
	if ((it = calloc(b.n, sizeof(*it))) == NULL)
		return MF_ERR_NOMEM;
	off = sizeof(b);
	for (i = 0; i < b.n; i++) {
		struct mfd_sig_issue_req q;
		const unsigned char *v;

		if (len - off < sizeof(q))
			goto bad;
		memcpy(&q, p + off, sizeof(q));
		off += sizeof(q);
		v = p + off;
		/* Exact sizes, within bounds, or this is not our network process. */
		if (q.csr_len == 0 || q.csr_len > MF_ACME_CSR_MAX || q.profile_len == 0 ||
		    q.profile_len > MF_ACME_PROFILE_MAX || q.requester_len == 0 ||
		    q.requester_len > MF_ACME_REQUESTER_MAX || q.lifetime < 0 || q.not_before < 0 ||
		    len - off < (size_t)q.csr_len + q.profile_len + q.requester_len ||
		    !mfd_sig_printable(v + q.csr_len, q.profile_len) ||
		    !mfd_sig_printable(v + q.csr_len + q.profile_len, q.requester_len))
			goto bad;
		it[i].lifetime = q.lifetime;
		it[i].not_before = q.not_before;
		it[i].csr = v;
		it[i].csr_len = q.csr_len;
		memcpy(it[i].profile, v + q.csr_len, q.profile_len);
		memcpy(it[i].requester, v + q.csr_len + q.profile_len, q.requester_len);
		off += (size_t)q.csr_len + q.profile_len + q.requester_len;
	}
	if (off != len)
		goto bad;
	*out = it;
	*nout = b.n;
	return 0;
bad:
	free(it);
	return MF_ERR_INVAL;
}

/* Parses, checks and signs one item; on failure its rc and why are set. */
static void
sig_item_sign(struct sig_state *st, struct sig_item *it, int64_t now)
{
	struct mf_request req;
	X509_REQ *x = NULL;

	if ((it->rc = mf_csr_parse(it->csr, it->csr_len, &x)) != 0) {
		snprintf(it->why, sizeof(it->why), "CSR does not parse");
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.csr = x;
	req.profile = it->profile;
	req.lifetime = it->lifetime;
	req.requester = it->requester;
	req.not_before = it->not_before;
	req.now = now;
	if ((it->rc = mf_policy_check(st->cfg, &req, &it->ap, it->why, sizeof(it->why))) != 0)
		goto out;
	if ((it->rc = mf_issuer_sign(st->issuer, it->ap, now, &it->cert)) != 0)
		snprintf(it->why, sizeof(it->why), "issuance failed: %s", mf_strerror(it->rc));
out:
	X509_REQ_free(x);
	ERR_clear_error();
}

/* Logs one signed item in the open transaction; a serial taken already is drawn again. */
static void
sig_item_log(struct sig_state *st, struct sig_item *it, int64_t now)
{
	int tries;

	for (tries = 0; tries < 3; tries++) {
		if ((it->rc = mf_issuer_log(st->issuer, st->db, it->ap, it->cert, now)) !=
		    MF_ERR_SERIAL_DUP)
			break;
		X509_free(it->cert);
		it->cert = NULL;
		if ((it->rc = mf_issuer_sign(st->issuer, it->ap, now, &it->cert)) != 0)
			break;
	}
	if (it->rc != 0) {
		it->rc = sig_db_failed(st, it->rc);
		snprintf(it->why, sizeof(it->why), "issuance failed: %.200s",
		    st->dbw_rc == it->rc ? st->dbw_why : mf_strerror(it->rc));
		X509_free(it->cert);
		it->cert = NULL;
	}
	ERR_clear_error();
}

/*
 * After the commit: the certificate's DER, serial and its first OCSP
 * response (status good: it was just logged; SHA-1 CertID, which stapling
 * servers ask for). A failure to pre-sign is logged only; the refresher or
 * the first request signs it later.
 */
static void
sig_item_finish(struct sig_state *st, struct sig_item *it)
{
	struct mfd_ocsp_in in;
	BIGNUM *bn = NULL;
	struct tm tm;
	size_t len = 0;
	int n, rc;

	if ((n = i2d_X509(it->cert, &it->der)) <= 0) {
		/* Committed but not encodable: cannot happen for a leaf we just signed. */
		it->rc = MF_ERR_CRYPTO;
		snprintf(it->why, sizeof(it->why), "cannot encode the certificate");
		return;
	}
	it->ans.len = (uint32_t)n;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(it->cert), NULL)) == NULL ||
	    BN_is_negative(bn) || BN_num_bytes(bn) < 1 || BN_num_bytes(bn) > 20) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	it->ans.serial_len = (uint8_t)BN_bn2bin(bn, it->ans.serial);
	if (st->issuer_ca < 0) {
		rc = MF_ERR_CA_NOTFOUND;
		goto out;
	}
	it->ans.issuer = (uint16_t)st->issuer_ca;
	memset(&in, 0, sizeof(in));
	in.status = V_OCSP_CERTSTATUS_GOOD;
	in.alg = MFD_ALG_SHA1;
	in.serial = it->ans.serial;
	in.serial_len = it->ans.serial_len;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(it->cert), &tm))
		it->ans.meta.not_after = (int64_t)timegm(&tm);
	if ((rc = sig_ocsp_sign(st, (unsigned)st->issuer_ca, &in, &it->ans.meta, &it->ocsp,
	    &len)) == 0)
		it->ans.ocsp_len = (uint32_t)len;
out:
	if (rc != 0) {
		mf_warn("event=ocsp-presign-failed requester=%s err=%s", it->requester,
		    mf_errname(rc));
		free(it->ocsp);
		it->ocsp = NULL;
		it->ans.ocsp_len = 0;
	}
	BN_free(bn);
	ERR_clear_error();
}

/*
 * Test-only (MAYFLY_FAULT=signer-batch, MAYFLY_FAULT_FILE=PATH): each batch
 * that finds PATH takes the first word of it, rewriting the file with the
 * rest (removing it once empty). "hold" holds the batch until PATH.go
 * appears (it is removed then), so that the test can let the requests it
 * sends meanwhile queue up (it watches the queue in /metrics) and go as
 * one batch. A hold that sees no PATH.go within 20 s (two thirds of the
 * network process's wait for an answer) is an error, not a
 * silent release: it logs event=fault-hold-expired and the batch fails as
 * "nocommit" does, so a test that lost its "go" fails where it did;
 * "die" kills the signer between logging the batch
 * and its commit; "nocommit" rolls the batch back where it would commit,
 * as a failed commit does, and reports MF_ERR_DB for it.
 */
static int
sig_fault_hold(const char *path)
{
	struct timespec t0, t;
	char go[4096];

	if (snprintf(go, sizeof(go), "%s.go", path) >= (int)sizeof(go))
		return -1;
	/*
	 * A deadline on the clock, not a count of sleeps: on a loaded machine
	 * 2,000 sleeps of 10 ms took longer than the network process waits for
	 * an answer (MFD_SIG_TIMEOUT_MS), which then declared the signer gone
	 * instead of this hold saying it expired.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (access(go, F_OK) == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
		    MFD_SIG_TIMEOUT_MS * 2 / 3)
			break;
		usleep(10000);
	}
	if (unlink(go) != 0) {
		mf_err("event=fault-hold-expired after=%ds", MFD_SIG_TIMEOUT_MS * 2 / 3 / 1000);
		return -1;
	}
	return 0;
}

/* 0, or 'D' for "die" and 'C' for "nocommit" or an expired hold (see above). */
static int
sig_fault_step(void)
{
	const char *path;
	char buf[256], *w, *rest;
	FILE *f;
	int act = 0;

	if (!mf_fault("signer-batch") || (path = getenv("MAYFLY_FAULT_FILE")) == NULL ||
	    (f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	w = buf + strspn(buf, " \n");
	rest = w + strcspn(w, " \n");
	if (*rest != '\0')
		*rest++ = '\0';
	rest += strspn(rest, " \n");
	if (*rest == '\0' || (f = fopen(path, "w")) == NULL) {
		unlink(path);
	} else {
		fputs(rest, f);
		fclose(f);
	}
	if (strcmp(w, "hold") == 0)
		act = sig_fault_hold(path) == 0 ? 0 : 'C';
	else if (strcmp(w, "die") == 0)
		act = 'D';
	else if (strcmp(w, "nocommit") == 0)
		act = 'C';
	return act;
}

static int
sig_do_issue_batch(struct sig_state *st, struct sig_item *it, size_t n, char *why, size_t wl)
{
	struct timespec t0, t1;
	int64_t now = (int64_t)time(NULL);
	size_t i, nlogged = 0, nok = 0;
	int rc, fault;

	why[0] = '\0';
	if (st->issuer == NULL) {
		snprintf(why, wl, "issuance is off (no acme: section)");
		return MF_ERR_INVAL;
	}
	if ((rc = sig_keys_ok(st, 0)) != 0) {
		snprintf(why, wl, "keys: %s", mf_strerror(rc));
		return rc;
	}
	sig_db_reopen(st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fault = sig_fault_step();
	for (i = 0; i < n; i++)
		sig_item_sign(st, &it[i], now);
	for (i = 0; i < n; i++)
		if (it[i].rc == 0)
			break;
	if (i < n && (rc = mf_db_begin(st->db)) != 0) {
		rc = sig_db_failed(st, rc);
		/* Nothing logged: every signed leaf is dropped unsent. */
		for (; i < n; i++) {
			if (it[i].rc != 0)
				continue;
			it[i].rc = rc;
			snprintf(it[i].why, sizeof(it[i].why), "cannot record the certificate: %.200s",
			    st->dbw_rc == rc ? st->dbw_why : mf_strerror(rc));
			X509_free(it[i].cert);
			it[i].cert = NULL;
		}
	} else if (i < n) {
		/*
		 * An insert that fails undoes only itself (a savepoint in
		 * mf_db_cert_insert), so one bad item does not spoil the batch.
		 */
		for (; i < n; i++) {
			if (it[i].rc != 0)
				continue;
			sig_item_log(st, &it[i], now);
			if (it[i].rc == 0)
				nlogged++;
		}
		if (fault == 'D')
			kill(getpid(), SIGKILL);	/* test-only: nothing is committed */
		if (fault == 'C' && nlogged > 0)
			rc = mf_db_rollback(st->db) == 0 ? MF_ERR_DB : MF_ERR_INTERNAL;
		else
			rc = nlogged > 0 ? mf_db_commit(st->db) : mf_db_rollback(st->db);
		if (rc != 0)
			rc = sig_db_failed(st, rc);
		else if (nlogged > 0)
			st->dbw_rc = 0;		/* the log takes writes again */
		if (rc != 0) {
			/* A failed commit rolls the batch back: none of it may go out. */
			for (i = 0; i < n; i++) {
				if (it[i].rc != 0)
					continue;
				it[i].rc = rc;
				snprintf(it[i].why, sizeof(it[i].why),
				    "cannot record the certificate: %.200s",
				    st->dbw_rc == rc ? st->dbw_why : mf_strerror(rc));
				X509_free(it[i].cert);
				it[i].cert = NULL;
			}
		}
	}
	/* Committed: now the certificates and their first OCSP responses. */
	for (i = 0; i < n; i++) {
		if (it[i].rc == 0)
			sig_item_finish(st, &it[i]);
		if (it[i].rc == 0) {
			nok++;
			mf_info("event=issued requester=%s profile=%s", it[i].requester,
			    it[i].profile);
		} else {
			mf_warn("event=issue-refused requester=%s profile=%s err=%s why=\"%s\"",
			    it[i].requester, it[i].profile, mf_errname(it[i].rc), it[i].why);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mf_info("event=issued-batch n=%zu issued=%zu refused=%zu ms=%.1f", n, nok, n - nok,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

/* The answers of a batch, in request order (see the wire format above). */
static int
sig_batch_answer(struct sig_item *it, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *buf, *p;
	size_t i, total = 0;

	for (i = 0; i < n; i++) {
		if (it[i].rc != 0) {
			memset(&it[i].ans, 0, sizeof(it[i].ans));
			it[i].ans.rc = it[i].rc;
			it[i].ans.len = (uint32_t)strlen(it[i].why);
		}
		total += sizeof(it[i].ans) + it[i].ans.len + it[i].ans.ocsp_len;
	}
	if ((buf = malloc(total)) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0, p = buf; i < n; i++) {
		memcpy(p, &it[i].ans, sizeof(it[i].ans));
		p += sizeof(it[i].ans);
		memcpy(p, it[i].rc == 0 ? it[i].der : (unsigned char *)it[i].why, it[i].ans.len);
		p += it[i].ans.len;
		if (it[i].ans.ocsp_len > 0)
			memcpy(p, it[i].ocsp, it[i].ans.ocsp_len);
		p += it[i].ans.ocsp_len;
	}
	*out = buf;
	*outlen = total;
	return 0;
}

int
mfd_sig_write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MF_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
mfd_sig_read_all(int fd, void *buf, size_t n, int timeout_ms)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r;

		if (timeout_ms >= 0) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			int pr = poll(&pfd, 1, timeout_ms);

			if (pr < 0 && errno == EINTR)
				continue;
			if (pr <= 0)
				return MF_ERR_SIGNER;
		}
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return MF_ERR_SIGNER;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
sig_reply(int fd, int rc, const void *a, size_t alen, const void *b, size_t blen)
{
	struct mfd_sig_rhdr h;

	h.rc = rc;
	h.len = (uint32_t)(alen + blen);
	if (mfd_sig_write_all(fd, &h, sizeof(h)) != 0 ||
	    (alen && mfd_sig_write_all(fd, a, alen) != 0) ||
	    (blen && mfd_sig_write_all(fd, b, blen) != 0))
		return MF_ERR_IO;
	return 0;
}

/*
 * PING: keys and database usable? With writes set, also whether the log
 * takes writes; the first answer at start leaves that out, so that a
 * signer on a full or read-only log still comes up and signs OCSP.
 */
static int
sig_ping(struct sig_state *st, int writes, char *why, size_t wl)
{
	int rc, v;

	why[0] = '\0';
	if ((rc = sig_keys_ok(st, 1)) != 0) {
		snprintf(why, wl, "keys: %s", mf_strerror(rc));
		return rc;
	}
	if ((rc = mf_db_schema_version(st->db, &v)) != 0) {
		snprintf(why, wl, "database: %s", mf_strerror(rc));
		return rc;
	}
	/*
	 * Readable is not enough: a log that cannot take the next issuance
	 * (disk full, read-only) makes us unhealthy, with the reason, until
	 * it can again.
	 */
	if (!writes)
		return 0;
	if ((rc = sig_db_space(st, why, wl)) != 0)
		return rc;
	if (sig_db_reopen(st) != 0) {
		snprintf(why, wl, "database is read-only (opened read-only)");
		return MF_ERR_DB_READONLY;
	}
	if (st->dbw_rc != 0 && (int64_t)time(NULL) - st->dbw_at < SIG_DB_FAIL_HOLD) {
		snprintf(why, wl, "%s", st->dbw_why);
		return st->dbw_rc;
	}
	return 0;
}

static void
sig_loop(int fd, struct sig_state **stp)
{
	struct sig_state *st = *stp;

	for (;;) {
		struct mfd_sig_hdr h;
		unsigned char req[MFD_SIG_REQ_MAX], *big = NULL;
		struct mfd_sig_meta m;
		unsigned char *der = NULL;
		size_t len = 0;
		char why[512];
		int rc;

		if (mfd_sig_read_all(fd, &h, sizeof(h), -1) != 0)
			return;		/* the network process closed: we are done */
		if (h.op == MFD_SIG_ISSUE_BATCH) {
			/* Up to half a MiB: read into a buffer of the exact size. */
			if (h.len < sizeof(struct mfd_sig_batch_req) ||
			    h.len > MFD_SIG_BATCH_REQ_MAX || (big = malloc(h.len)) == NULL)
				return;
			if (mfd_sig_read_all(fd, big, h.len, MFD_SIG_TIMEOUT_MS) != 0) {
				free(big);
				return;
			}
		} else if (h.len > MFD_SIG_REQ_MAX || mfd_sig_read_all(fd, req, h.len,
		    MFD_SIG_TIMEOUT_MS) != 0) {
			return;
		}
		switch (h.op) {
		case MFD_SIG_PING:
			if (h.len != 0)
				return;
			rc = sig_ping(st, 1, why, sizeof(why));
			if (sig_reply(fd, rc, why, strlen(why), NULL, 0) != 0)
				return;
			break;
		case MFD_SIG_OCSP: {
			struct mfd_sig_ocsp_req q;

			if (h.len != sizeof(q))
				return;
			memcpy(&q, req, sizeof(q));
			rc = sig_do_ocsp(st, &q, &m, &der, &len);
			rc = sig_reply(fd, rc, &m, rc == 0 ? sizeof(m) : 0, der, rc == 0 ? len : 0);
			free(der);
			if (rc != 0)
				return;
			break;
		}
		case MFD_SIG_CRL: {
			struct mfd_sig_crl_req q;

			if (h.len != sizeof(q))
				return;
			memcpy(&q, req, sizeof(q));
			rc = sig_do_crl(st, q.issuer, &m, &der, &len);
			rc = sig_reply(fd, rc, &m, rc == 0 ? sizeof(m) : 0, der, rc == 0 ? len : 0);
			free(der);
			if (rc != 0)
				return;
			break;
		}
		case MFD_SIG_ISSUE_BATCH: {
			struct sig_item *it = NULL;
			unsigned char *ans = NULL;
			size_t n = 0, alen = 0;

			if ((rc = sig_batch_parse(big, h.len, &it, &n)) == MF_ERR_INVAL) {
				free(big);
				return;
			}
			if (rc == 0)
				rc = sig_do_issue_batch(st, it, n, why, sizeof(why));
			else
				snprintf(why, sizeof(why), "out of memory");
			if (rc == 0 && (rc = sig_batch_answer(it, n, &ans, &alen)) != 0)
				snprintf(why, sizeof(why), "out of memory");
			/*
			 * XXX Out of memory after the commit: the batch is logged
			 * but refused; its certificates are never sent.
			 */
			if (rc == 0)
				rc = sig_reply(fd, 0, ans, alen, NULL, 0);
			else
				rc = sig_reply(fd, rc, why, strlen(why), NULL, 0);
			sig_items_free(it, n);
			free(ans);
			free(big);
			big = NULL;
			if (rc != 0)
				return;
			break;
		}
		case MFD_SIG_RELOAD: {
			struct mf_config *cfg = NULL;
			struct sig_state *nst = NULL;
			char err[400];

			if (h.len != 0)
				return;
			why[0] = '\0';
			rc = mf_config_load(st->cfg->path, &cfg, err, sizeof(err));
			if (rc != 0)
				snprintf(why, sizeof(why), "config: %s", err);
			else if ((rc = sig_state_load(cfg, &nst, why, sizeof(why))) == 0) {
				/* Swap only on success: a bad reload keeps the running keys. */
				sig_responders_keep(st, nst);
				sig_state_free(st);
				st = *stp = nst;
			}
			if (sig_reply(fd, rc, why, strlen(why), NULL, 0) != 0)
				return;
			break;
		}
		default:
			return;
		}
	}
}

int
mfd_signer_main(int fd, const char *path)
{
	struct mf_config *cfg = NULL;
	struct sig_state *st = NULL;
	sigset_t all;
	char why[512], err[400];
	int rc;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* If the network process dies, so do we: no orphaned key holder. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 1;
	why[0] = '\0';
	rc = mf_config_load(path, &cfg, err, sizeof(err));
	if (rc != 0)
		snprintf(why, sizeof(why), "config: %s", err);
	else
		rc = sig_state_load(cfg, &st, why, sizeof(why));
	if (rc == 0) {
		/* Keys are open and the log is open: the signer needs root no longer. */
		if ((rc = mfd_privdrop(st->cfg->user)) != 0)
			snprintf(why, sizeof(why), "cannot drop privileges to %s", st->cfg->user);
	}
	if (rc == 0)
		rc = sig_ping(st, 0, why, sizeof(why));
	/* The first answer tells the parent whether we came up. */
	if (sig_reply(fd, rc, why, strlen(why), NULL, 0) != 0 || rc != 0) {
		sig_state_free(st);
		return 1;
	}
	sig_loop(fd, &st);
	sig_state_free(st);
	return 0;
}

int
mfd_privdrop(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL)
		return MF_ERR_NOTFOUND;
	if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return MF_ERR_PERM;
	/* Make sure root cannot be regained. */
	if (setuid(0) == 0)
		return MF_ERR_PERM;
	return 0;
}
