/*
 * signer.c: the signer process (see signer.h) and the client the network
 * process uses to talk to it.
 *
 * Wire format, host byte order (both ends are the same binary):
 *   request:  struct mfd_sig_hdr { op, len } then len bytes (len <= 64,
 *             except ISSUE: struct mfd_sig_issue_req, then the CSR DER,
 *             the profile name and the requester, lengths as in the
 *             struct, at most MFD_SIG_ISSUE_MAX in all)
 *   response: struct mfd_sig_rhdr { rc, len } then len bytes (for a
 *             refused ISSUE: a one-line reason)
 * A request whose header or payload does not have the exact size its op
 * demands ends the signer: the only writer is our own network process, so
 * such a request means that process is no longer ours.
 */
#include "mf_build.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include "acme/acme.h"
#include "db.h"
#include "issuer.h"
#include "keystore.h"
#include "policy.h"
#include "mferr.h"
#include "ocspreq.h"
#include "sign.h"
#include "signer.h"
#include "util.h"

struct mfd_sig_hdr {
	uint32_t op;
	uint32_t len;
};

struct mfd_sig_rhdr {
	int32_t rc;
	uint32_t len;
};

struct mfd_sig_ocsp_req {
	uint16_t issuer;
	uint8_t alg;
	uint8_t serial_len;
	unsigned char serial[20];
};

struct mfd_sig_crl_req {
	uint16_t issuer;
	uint16_t pad;
};

struct mfd_sig_issue_req {
	int64_t lifetime;		/* seconds; 0: the profile's default */
	uint32_t csr_len;		/* 1..MF_ACME_CSR_MAX */
	uint16_t profile_len;		/* 1..MF_ACME_PROFILE_MAX */
	uint16_t requester_len;		/* 1..MF_ACME_REQUESTER_MAX */
};

#define MFD_SIG_REQ_MAX		64
#define MFD_SIG_ISSUE_MAX	(sizeof(struct mfd_sig_issue_req) + MF_ACME_CSR_MAX + \
	MF_ACME_PROFILE_MAX + MF_ACME_REQUESTER_MAX)
#define MFD_SIG_RESP_MAX	(256u * 1024 * 1024)	/* a CRL of a few million entries */
#define MFD_SIG_TIMEOUT_MS	30000

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
	struct mf_issuer *issuer;	/* the active intermediate, for ISSUE; NULL without acme: */
	int64_t ping_at;
	int ping_rc;
};

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
		snprintf(why, wl, "database %s: %s", cfg->database, mf_strerror(rc));
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
		if (cfg->ocsp_delegated && (rc = sig_responder_new(st, ca, now, why, wl)) != 0)
			goto out;
	}
	/* Leaf issuance (ISSUE) only for the renewal listener. */
	if (cfg->acme.enabled && (rc = mf_issuer_new(cfg, st->ks, NULL, &st->issuer)) != 0) {
		snprintf(why, wl, "issuing CA: %s", mf_strerror(rc));
		goto out;
	}
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

static int
sig_do_ocsp(struct sig_state *st, const struct mfd_sig_ocsp_req *q, struct mfd_sig_meta *m,
    unsigned char **der, size_t *len)
{
	struct mfd_ocsp_in in;
	struct mf_cert_rec *r = NULL;
	struct sig_ca *ca;
	int64_t now = (int64_t)time(NULL);
	int rc;
	char why[256];

	if (q->issuer >= st->nca || (q->alg != MFD_ALG_SHA1 && q->alg != MFD_ALG_SHA256) ||
	    q->serial_len == 0 || q->serial_len > 20)
		return MF_ERR_INVAL;
	if ((rc = sig_keys_ok(st, 0)) != 0)
		return rc;
	ca = &st->ca[q->issuer];
	if (st->cfg->ocsp_delegated && now >= ca->rotate_at &&
	    (rc = sig_responder_new(st, ca, now, why, sizeof(why))) != 0) {
		/* The old responder still covers half its life: keep using it. */
		mf_err("event=ocsp-responder-rotate ca=%s err=%s why=\"%s\"", ca->name,
		    mf_errname(rc), why);
	}
	memset(m, 0, sizeof(*m));
	memset(&in, 0, sizeof(in));
	rc = sig_lookup(st, q->serial, q->serial_len, &r);
	if (rc == MF_ERR_NOTFOUND || (rc == 0 && strcmp(r->issuer, ca->name) != 0)) {
		in.status = V_OCSP_CERTSTATUS_UNKNOWN;
	} else if (rc != 0) {
		return rc;
	} else if (r->revoked_at != 0) {
		in.status = V_OCSP_CERTSTATUS_REVOKED;
		in.revoked_at = r->revoked_at;
		in.reason = r->reason;
		m->not_after = r->not_after;
	} else {
		in.status = V_OCSP_CERTSTATUS_GOOD;
		m->not_after = r->not_after;
	}
	mf_cert_rec_free(r);
	in.issuer = ca->cert;
	in.signer = ca->rcert != NULL ? ca->rcert : ca->cert;
	in.key = ca->rkey != NULL ? ca->rkey : ca->key;
	in.alg = q->alg;
	in.serial = q->serial;
	in.serial_len = q->serial_len;
	in.this_update = now;
	in.next_update = now + st->cfg->ocsp_validity;
	/* A response must not outlive the certificate that signed it. */
	if (ca->rcert != NULL && in.next_update > ca->r_not_after)
		in.next_update = ca->r_not_after;
	if ((rc = mfd_ocsp_sign(&in, der, len)) != 0) {
		ERR_clear_error();
		return rc;
	}
	m->this_update = in.this_update;
	m->next_update = in.next_update;
	m->revoked_at = in.revoked_at;
	m->status = in.status;
	m->reason = in.reason;
	return 0;
}

struct sig_crl_acc {
	struct mfd_crl_entry *e;
	size_t n, cap;
};

static int
sig_crl_cb(const struct mf_cert_rec *r, void *arg)
{
	struct sig_crl_acc *a = arg;
	struct mfd_crl_entry *e;
	char hex[2 * MF_SERIAL_MAX + 2];
	size_t hl = strlen(r->serial);

	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		struct mfd_crl_entry *ne = realloc(a->e, nc * sizeof(*ne));

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
	if ((rc = mf_db_crl_number_next(st->db, st->ca[issuer].name, &number)) != 0)
		goto out;
	rc = mfd_crl_build(st->ca[issuer].cert, st->ca[issuer].key, a.e, a.n, number, now,
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

/* Printable ASCII only: these strings end up in the log and in log lines. */
static int
sig_printable(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * ISSUE: the network process asks for a leaf. It is a request, not an
 * order: the policy is checked here again against our own configuration,
 * and the record is committed (autocommit, on our connection) before the
 * certificate goes back.
 */
static int
sig_do_issue(struct sig_state *st, const struct mfd_sig_issue_req *q, const unsigned char *csr,
    const char *profile, const char *requester, unsigned char **der, size_t *len, char *why,
    size_t wl)
{
	struct mf_request req;
	struct mf_approved *ap = NULL;
	X509_REQ *x = NULL;
	X509 *cert = NULL;
	unsigned char *p = NULL;
	int rc, n;

	*der = NULL;
	*len = 0;
	why[0] = '\0';
	if (st->issuer == NULL) {
		snprintf(why, wl, "issuance is off (no acme: section)");
		return MF_ERR_INVAL;
	}
	if ((rc = sig_keys_ok(st, 0)) != 0) {
		snprintf(why, wl, "keys: %s", mf_strerror(rc));
		return rc;
	}
	if ((rc = mf_csr_parse(csr, q->csr_len, &x)) != 0) {
		snprintf(why, wl, "CSR does not parse");
		return rc;
	}
	memset(&req, 0, sizeof(req));
	req.csr = x;
	req.profile = profile;
	req.lifetime = q->lifetime;
	req.requester = requester;
	if ((rc = mf_policy_check(st->cfg, &req, &ap, why, wl)) != 0)
		goto out;
	if ((rc = mf_issuer_issue(st->issuer, st->db, ap, (int64_t)time(NULL), &cert)) != 0) {
		snprintf(why, wl, "issuance failed: %s", mf_strerror(rc));
		goto out;
	}
	if ((n = i2d_X509(cert, &p)) <= 0 || (*der = malloc((size_t)n)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	mf_info("event=issued requester=%s profile=%s", requester, profile);
out:
	if (rc != 0)
		mf_warn("event=issue-refused requester=%s profile=%s err=%s why=\"%s\"", requester,
		    profile, mf_errname(rc), why);
	OPENSSL_free(p);
	X509_free(cert);
	X509_REQ_free(x);
	mf_approved_free(ap);
	ERR_clear_error();
	return rc;
}

static int
sig_write_all(int fd, const void *buf, size_t n)
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

/* Reads exactly n bytes; timeout_ms < 0 waits forever. */
static int
sig_read_all(int fd, void *buf, size_t n, int timeout_ms)
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
	if (sig_write_all(fd, &h, sizeof(h)) != 0 || (alen && sig_write_all(fd, a, alen) != 0) ||
	    (blen && sig_write_all(fd, b, blen) != 0))
		return MF_ERR_IO;
	return 0;
}

static int
sig_ping(struct sig_state *st, char *why, size_t wl)
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
	return 0;
}

static void
sig_loop(int fd, struct sig_state **stp)
{
	struct sig_state *st = *stp;

	for (;;) {
		struct mfd_sig_hdr h;
		unsigned char req[MFD_SIG_ISSUE_MAX];
		struct mfd_sig_meta m;
		unsigned char *der = NULL;
		size_t len = 0;
		char why[512];
		int rc;

		if (sig_read_all(fd, &h, sizeof(h), -1) != 0)
			return;		/* the network process closed: we are done */
		if (h.len > (h.op == MFD_SIG_ISSUE ? MFD_SIG_ISSUE_MAX : MFD_SIG_REQ_MAX) ||
		    sig_read_all(fd, req, h.len, MFD_SIG_TIMEOUT_MS) != 0)
			return;
		switch (h.op) {
		case MFD_SIG_PING:
			if (h.len != 0)
				return;
			rc = sig_ping(st, why, sizeof(why));
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
		case MFD_SIG_ISSUE: {
			struct mfd_sig_issue_req q;
			char prof[MF_ACME_PROFILE_MAX + 1], rq[MF_ACME_REQUESTER_MAX + 1];
			const unsigned char *v = req + sizeof(q);

			if (h.len < sizeof(q))
				return;
			memcpy(&q, req, sizeof(q));
			/* Exact sizes, within bounds, or this is not our network process. */
			if (q.csr_len == 0 || q.csr_len > MF_ACME_CSR_MAX || q.profile_len == 0 ||
			    q.profile_len > MF_ACME_PROFILE_MAX || q.requester_len == 0 ||
			    q.requester_len > MF_ACME_REQUESTER_MAX || q.lifetime < 0 ||
			    h.len != sizeof(q) + q.csr_len + q.profile_len + q.requester_len ||
			    !sig_printable(v + q.csr_len, q.profile_len) ||
			    !sig_printable(v + q.csr_len + q.profile_len, q.requester_len))
				return;
			memcpy(prof, v + q.csr_len, q.profile_len);
			prof[q.profile_len] = '\0';
			memcpy(rq, v + q.csr_len + q.profile_len, q.requester_len);
			rq[q.requester_len] = '\0';
			rc = sig_do_issue(st, &q, v, prof, rq, &der, &len, why, sizeof(why));
			if (rc == 0)
				rc = sig_reply(fd, 0, der, len, NULL, 0);
			else
				rc = sig_reply(fd, rc, why, strlen(why), NULL, 0);
			free(der);
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
		rc = sig_ping(st, why, sizeof(why));
	/* The first answer tells the parent whether we came up. */
	if (sig_reply(fd, rc, why, strlen(why), NULL, 0) != 0 || rc != 0) {
		sig_state_free(st);
		return 1;
	}
	sig_loop(fd, &st);
	sig_state_free(st);
	return 0;
}

static void
sig_copy_why(const unsigned char *p, size_t n, char *why, size_t wl)
{
	if (why == NULL || wl == 0)
		return;
	if (n >= wl)
		n = wl - 1;
	memcpy(why, p != NULL ? (const char *)p : "", p != NULL ? n : 0);
	why[p != NULL ? n : 0] = '\0';
}

/* ---- the client side ---------------------------------------------------------- */

struct mfd_signer {
	pthread_mutex_t lock;
	int fd;
	pid_t pid;
	int dead;
	char exe[4096];			/* our own binary, for fork + exec */
	char *cfg_path;
};

int
mfd_signer_dead(struct mfd_signer *s)
{
	int d;

	pthread_mutex_lock(&s->lock);
	d = s->dead;
	pthread_mutex_unlock(&s->lock);
	return d;
}

/* One round trip; *resp gets the payload (malloc'ed, NUL-terminated). */
static int
sig_call(struct mfd_signer *s, uint32_t op, const void *req, size_t reqlen,
    unsigned char **resp, size_t *resplen)
{
	struct mfd_sig_hdr h;
	struct mfd_sig_rhdr rh;
	unsigned char *buf = NULL;
	int rc;

	*resp = NULL;
	*resplen = 0;
	h.op = op;
	h.len = (uint32_t)reqlen;
	{
		/* Bounded: an HTTP thread must not queue forever behind a slow token. */
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 10;
		if (pthread_mutex_timedlock(&s->lock, &dl) != 0)
			return MF_ERR_SIGNER;
	}
	if (s->dead) {
		rc = MF_ERR_SIGNER;
		goto out;
	}
	if (sig_write_all(s->fd, &h, sizeof(h)) != 0 ||
	    (reqlen && sig_write_all(s->fd, req, reqlen) != 0) ||
	    sig_read_all(s->fd, &rh, sizeof(rh), MFD_SIG_TIMEOUT_MS) != 0 ||
	    rh.len > MFD_SIG_RESP_MAX) {
		rc = MF_ERR_SIGNER;
		s->dead = 1;
		goto out;
	}
	if ((buf = malloc((size_t)rh.len + 1)) == NULL) {
		/* We cannot skip the payload without reading it: the stream is lost. */
		rc = MF_ERR_SIGNER;
		s->dead = 1;
		goto out;
	}
	if (sig_read_all(s->fd, buf, rh.len, MFD_SIG_TIMEOUT_MS) != 0) {
		free(buf);
		buf = NULL;
		rc = MF_ERR_SIGNER;
		s->dead = 1;
		goto out;
	}
	buf[rh.len] = '\0';
	*resp = buf;
	*resplen = rh.len;
	rc = rh.rc;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}


/*
 * fork + exec of our own binary in signer mode ("-S fd"): the signer starts
 * as a fresh process image, never a copy of a threaded one, and a token that
 * vanished can be used again by a new signer (libp11 cannot re-attach within
 * one process). Waits for its first answer.
 */
static int
sig_spawn(const char *exe, const char *cfg_path, int *fdp, pid_t *pidp, char *why, size_t wl)
{
	struct mfd_sig_rhdr rh;
	unsigned char *buf = NULL;
	int sv[2], rc;
	pid_t pid;

	snprintf(why, wl, "starting the signer failed");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return MF_ERR_IO;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return MF_ERR_IO;
	}
	if (pid == 0) {
		char fdstr[16];

		/* Only async-signal-safe calls between fork and exec. */
		if (fcntl(sv[1], F_SETFD, 0) != 0)
			_exit(127);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		execl(exe, "mayflyd-signer", "-S", fdstr, "-c", cfg_path, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	/* A token may take a while to log in; wait for the first answer. */
	rc = sig_read_all(sv[0], &rh, sizeof(rh), 120000);
	if (rc == 0 && rh.len < 4096 && (buf = malloc(rh.len + 1)) != NULL &&
	    sig_read_all(sv[0], buf, rh.len, MFD_SIG_TIMEOUT_MS) == 0) {
		sig_copy_why(buf, rh.len, why, wl);
		rc = rh.rc;
	} else {
		rc = MF_ERR_SIGNER;
	}
	free(buf);
	if (rc != 0) {
		close(sv[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return rc;
	}
	*fdp = sv[0];
	*pidp = pid;
	return 0;
}

static void
sig_reap(int fd, pid_t pid)
{
	int st, i;

	close(fd);
	if (pid <= 0)
		return;
	/* EOF makes it exit; give it a moment, then insist. */
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int
mfd_signer_start(const struct mf_config *cfg, struct mfd_signer **out, char *why, size_t wl)
{
	struct mfd_signer *s;
	ssize_t n;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MF_ERR_NOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->fd = -1;
	if ((n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1)) <= 0 ||
	    (s->cfg_path = strdup(cfg->path)) == NULL) {
		snprintf(why, wl, "cannot find our own binary");
		mfd_signer_stop(s);
		return MF_ERR_IO;
	}
	s->exe[n] = '\0';
	if ((rc = sig_spawn(s->exe, s->cfg_path, &s->fd, &s->pid, why, wl)) != 0) {
		mfd_signer_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
mfd_signer_respawn(struct mfd_signer *s, char *why, size_t wl)
{
	int fd, ofd, rc;
	pid_t pid, opid;

	if ((rc = sig_spawn(s->exe, s->cfg_path, &fd, &pid, why, wl)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	ofd = s->fd;
	opid = s->pid;
	s->fd = fd;
	s->pid = pid;
	s->dead = 0;
	pthread_mutex_unlock(&s->lock);
	sig_reap(ofd, opid);
	return 0;
}

void
mfd_signer_stop(struct mfd_signer *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		sig_reap(s->fd, s->pid);
	pthread_mutex_destroy(&s->lock);
	free(s->cfg_path);
	free(s);
}

int
mfd_signer_ping(struct mfd_signer *s, char *why, size_t wl)
{
	unsigned char *p;
	size_t n;
	int rc;

	rc = sig_call(s, MFD_SIG_PING, NULL, 0, &p, &n);
	sig_copy_why(p, n, why, wl);
	if (rc == MF_ERR_SIGNER && why != NULL)
		snprintf(why, wl, "signer process is gone");
	free(p);
	return rc;
}

int
mfd_signer_reload(struct mfd_signer *s, char *why, size_t wl)
{
	unsigned char *p;
	size_t n;
	int rc;

	rc = sig_call(s, MFD_SIG_RELOAD, NULL, 0, &p, &n);
	sig_copy_why(p, n, why, wl);
	free(p);
	return rc;
}

static int
sig_split(int rc, unsigned char *p, size_t n, struct mfd_sig_meta *meta, unsigned char **der,
    size_t *len)
{
	*der = NULL;
	*len = 0;
	if (rc == 0 && n <= sizeof(*meta))
		rc = MF_ERR_SIGNER;
	if (rc != 0) {
		free(p);
		return rc;
	}
	memcpy(meta, p, sizeof(*meta));
	memmove(p, p + sizeof(*meta), n - sizeof(*meta));
	*der = p;
	*len = n - sizeof(*meta);
	return 0;
}

int
mfd_signer_ocsp(struct mfd_signer *s, unsigned issuer, int alg, const unsigned char *serial,
    size_t serial_len, struct mfd_sig_meta *meta, unsigned char **der, size_t *len)
{
	struct mfd_sig_ocsp_req q;
	unsigned char *p;
	size_t n;
	int rc;

	if (serial_len == 0 || serial_len > sizeof(q.serial) || issuer > 0xffff)
		return MF_ERR_INVAL;
	memset(&q, 0, sizeof(q));
	q.issuer = (uint16_t)issuer;
	q.alg = (uint8_t)alg;
	q.serial_len = (uint8_t)serial_len;
	memcpy(q.serial, serial, serial_len);
	rc = sig_call(s, MFD_SIG_OCSP, &q, sizeof(q), &p, &n);
	return sig_split(rc, p, n, meta, der, len);
}

int
mfd_signer_ocsp_batch(struct mfd_signer *s, const struct mfd_sig_item *items, size_t n,
    mfd_sig_batch_cb cb, void *arg)
{
	unsigned char req[MFD_SIG_BATCH * (sizeof(struct mfd_sig_hdr) +
	    sizeof(struct mfd_sig_ocsp_req))], *p = req;
	struct timespec dl;
	size_t i;
	int rc = 0;

	if (n == 0 || n > MFD_SIG_BATCH)
		return MF_ERR_INVAL;
	for (i = 0; i < n; i++) {
		struct mfd_sig_hdr h = { MFD_SIG_OCSP, sizeof(struct mfd_sig_ocsp_req) };
		struct mfd_sig_ocsp_req q;

		if (items[i].serial_len == 0 || items[i].serial_len > sizeof(q.serial) ||
		    items[i].issuer > 0xffff)
			return MF_ERR_INVAL;
		memset(&q, 0, sizeof(q));
		q.issuer = (uint16_t)items[i].issuer;
		q.alg = (uint8_t)items[i].alg;
		q.serial_len = (uint8_t)items[i].serial_len;
		memcpy(q.serial, items[i].serial, items[i].serial_len);
		memcpy(p, &h, sizeof(h));
		memcpy(p + sizeof(h), &q, sizeof(q));
		p += sizeof(h) + sizeof(q);
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	if (pthread_mutex_timedlock(&s->lock, &dl) != 0)
		return MF_ERR_SIGNER;
	/*
	 * The requests (under 2 KiB) fit the socket buffer, so writing them all
	 * before reading cannot deadlock with the signer writing answers.
	 */
	if (s->dead || sig_write_all(s->fd, req, (size_t)(p - req)) != 0) {
		s->dead = 1;
		rc = MF_ERR_SIGNER;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct mfd_sig_rhdr rh;
		struct mfd_sig_meta m;
		unsigned char *buf;

		if (sig_read_all(s->fd, &rh, sizeof(rh), MFD_SIG_TIMEOUT_MS) != 0 ||
		    rh.len > MFD_SIG_RESP_MAX || (rh.rc == 0 && rh.len <= sizeof(m)) ||
		    (buf = malloc((size_t)rh.len + 1)) == NULL) {
			s->dead = 1;
			rc = MF_ERR_SIGNER;
			goto out;
		}
		if (sig_read_all(s->fd, buf, rh.len, MFD_SIG_TIMEOUT_MS) != 0) {
			free(buf);
			s->dead = 1;
			rc = MF_ERR_SIGNER;
			goto out;
		}
		if (rh.rc != 0) {
			free(buf);
			cb(arg, i, rh.rc, NULL, NULL, 0);
			continue;
		}
		memcpy(&m, buf, sizeof(m));
		memmove(buf, buf + sizeof(m), rh.len - sizeof(m));
		cb(arg, i, 0, &m, buf, rh.len - sizeof(m));
	}
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
mfd_signer_issue(struct mfd_signer *s, const unsigned char *csr, size_t csr_len,
    const char *profile, const char *requester, int64_t lifetime, unsigned char **der,
    size_t *len, char *why, size_t wl)
{
	struct mfd_sig_issue_req q;
	unsigned char *buf = NULL, *p = NULL;
	size_t pl = strlen(profile), rl = strlen(requester), n = 0;
	int rc;

	*der = NULL;
	*len = 0;
	/* The signer would end itself on an out-of-bounds request: refuse here. */
	if (csr_len == 0 || csr_len > MF_ACME_CSR_MAX || pl == 0 || pl > MF_ACME_PROFILE_MAX ||
	    rl == 0 || rl > MF_ACME_REQUESTER_MAX || lifetime < 0 ||
	    !sig_printable((const unsigned char *)profile, pl) ||
	    !sig_printable((const unsigned char *)requester, rl)) {
		sig_copy_why((const unsigned char *)"request out of bounds", 21, why, wl);
		return MF_ERR_INVAL;
	}
	memset(&q, 0, sizeof(q));
	q.lifetime = lifetime;
	q.csr_len = (uint32_t)csr_len;
	q.profile_len = (uint16_t)pl;
	q.requester_len = (uint16_t)rl;
	if ((buf = malloc(sizeof(q) + csr_len + pl + rl)) == NULL)
		return MF_ERR_NOMEM;
	memcpy(buf, &q, sizeof(q));
	memcpy(buf + sizeof(q), csr, csr_len);
	memcpy(buf + sizeof(q) + csr_len, profile, pl);
	memcpy(buf + sizeof(q) + csr_len + pl, requester, rl);
	rc = sig_call(s, MFD_SIG_ISSUE, buf, sizeof(q) + csr_len + pl + rl, &p, &n);
	free(buf);
	if (rc == 0 && n > 0) {
		*der = p;
		*len = n;
		return 0;
	}
	sig_copy_why(p, n, why, wl);
	free(p);
	return rc != 0 ? rc : MF_ERR_SIGNER;
}

int
mfd_signer_crl(struct mfd_signer *s, unsigned issuer, struct mfd_sig_meta *meta,
    unsigned char **der, size_t *len)
{
	struct mfd_sig_crl_req q;
	unsigned char *p;
	size_t n;
	int rc;

	if (issuer > 0xffff)
		return MF_ERR_INVAL;
	memset(&q, 0, sizeof(q));
	q.issuer = (uint16_t)issuer;
	rc = sig_call(s, MFD_SIG_CRL, &q, sizeof(q), &p, &n);
	return sig_split(rc, p, n, meta, der, len);
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
