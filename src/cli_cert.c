/*
 * cli_cert.c: the day-to-day subcommands: issue, revoke, list, show and
 * audit verify. Issuance goes through the same policy check and issuer as
 * every other path (ACME, EST), so the CLI is no back door around the caps.
 */
#include "mf_build.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "issuer.h"
#include "mferr.h"
#include "policy.h"
#include "util.h"

#define MF_CSR_MAX	(64 * 1024)

static void mf_fmt_time(int64_t t, char *buf, size_t len);

int
mf_cli_issue(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "csr", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "no-chain", no_argument, NULL, 'n' },
		{ "not-before", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "--csr FILE [--profile server|client] [--lifetime DURATION] "
	    "[--not-before TIME|+DURATION] [--out FILE] [--no-chain]";
	const char *nbarg = NULL;
	int64_t now = (int64_t)time(NULL), not_before = 0;
	const char *csrpath = NULL, *profile = "server", *out = NULL;
	unsigned char *buf = NULL;
	size_t len;
	int64_t lifetime = 0;
	int ch, rc, ex, chain = 1;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	struct mf_issuer *is = NULL;
	struct mf_approved *a = NULL;
	struct mf_request req;
	char why[512], *pem = NULL;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'r': csrpath = optarg; break;
		case 'p': profile = optarg; break;
		case 'o': out = optarg; break;
		case 'n': chain = 0; break;
		case 'b': nbarg = optarg; break;
		case 'l':
			if (mf_duration_parse(optarg, &lifetime) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION, "--lifetime '%s': write e.g. 24h, 90m",
				    optarg);
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (csrpath == NULL || optind != argc)
		return mf_cli_usage(c, use);
	/*
	 * --not-before: an RFC 3339 time, or +DURATION from now. The policy
	 * judges it against issuance.forward-horizon and issuance.backdate.
	 */
	if (nbarg != NULL) {
		int64_t d;

		if (nbarg[0] == '+') {
			if (mf_duration_parse(nbarg + 1, &d) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION, "--not-before '%s': write "
				    "+DURATION (e.g. +48h) or an RFC 3339 time (2026-12-05T10:00:00Z)",
				    nbarg);
			not_before = now + d;
		} else if (mf_time_rfc3339(nbarg, &not_before) != MF_OK)
			return mf_cli_fail(c, MF_ERR_INVAL, "--not-before '%s': write an RFC 3339 "
			    "time (2026-12-05T10:00:00Z) or +DURATION (e.g. +48h)", nbarg);
		if (not_before == 0)
			not_before = 1;	/* 0 means "not asked"; 1970 is refused as past anyway */
	}
	if ((ex = mf_cli_open(c, MF_NEED_KEYS | MF_NEED_DB)) != MF_EXIT_OK)
		return ex;

	if ((rc = mf_file_read(csrpath, MF_CSR_MAX, &buf, &len)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot read CSR %s", csrpath);
		goto out;
	}
	if ((rc = mf_csr_parse(buf, len, &csr)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s is not a PEM or DER CSR", csrpath);
		goto out;
	}
	memset(&req, 0, sizeof(req));	/* skip_signature stays 0: the CLI signs */
	req.csr = csr;
	req.profile = profile;
	req.lifetime = lifetime;
	req.requester = c->actor;
	req.not_before = not_before;
	req.now = now;
	why[0] = '\0';
	if ((rc = mf_policy_check(c->cfg, &req, &a, why, sizeof(why))) != MF_OK) {
		ex = mf_cli_fail(c, rc, "refused: %s", why[0] ? why : mf_strerror(rc));
		goto out;
	}
	why[0] = '\0';
	if ((rc = mf_issuer_new_why(c->cfg, c->ks, NULL, &is, why, sizeof(why))) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot load the issuing CA: %s",
		    why[0] ? why : mf_strerror(rc));
		goto out;
	}
	/* The issuer commits the record before it hands the certificate back. */
	if ((rc = mf_issuer_issue(is, c->db, a, now, &cert)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "issuance failed: %s", rc == MF_ERR_DB ||
		    rc == MF_ERR_IO || rc == MF_ERR_DB_BUSY ? mf_db_errmsg(c->db) : mf_strerror(rc));
		goto out;
	}
	if (chain && (rc = mf_issuer_chain_pem(is, NULL, &pem)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot build the chain");
		goto out;
	}
	{
		BIO *b = BIO_new(BIO_s_mem());
		BUF_MEM *mem;

		if (b == NULL || !PEM_write_bio_X509(b, cert) ||
		    (pem != NULL && BIO_puts(b, pem) < 0)) {
			BIO_free(b);
			ex = mf_cli_fail(c, MF_ERR_CRYPTO, "cannot encode the certificate");
			goto out;
		}
		BIO_get_mem_ptr(b, &mem);
		if (out != NULL)
			rc = mf_file_write(out, mem->data, mem->length, 0644, 0);
		else
			rc = fwrite(mem->data, 1, mem->length, stdout) == mem->length ? MF_OK : MF_ERR_IO;
		BIO_free(b);
		if (rc != MF_OK) {
			ex = mf_cli_fail(c, rc, "cannot write %s (the certificate is logged; "
			    "`mayfly show` prints it)", out ? out : "stdout");
			goto out;
		}
	}
	if (out != NULL) {
		char serial[2 * MF_SERIAL_MAX + 1], dur[32];

		mf_serial_hex(X509_get0_serialNumber(cert), serial, sizeof(serial));
		fprintf(stderr, "mayfly: issued serial=%s lifetime=%s out=%s\n", serial,
		    mf_duration_fmt(a->lifetime, dur, sizeof(dur)), out);
		if (a->not_before > now) {
			char nb[32];

			mf_fmt_time(a->not_before, nb, sizeof(nb));
			fprintf(stderr, "mayfly: forward-dated: valid from %s\n", nb);
		}
	}
	ex = MF_EXIT_OK;
out:
	free(buf);
	free(pem);
	X509_REQ_free(csr);
	X509_free(cert);
	mf_approved_free(a);
	mf_issuer_free(is);
	return ex;
}

static const struct {
	const char *name;
	int code;
} mf_reasons[] = {
	{ "unspecified", 0 }, { "keyCompromise", 1 }, { "cACompromise", 2 },
	{ "affiliationChanged", 3 }, { "superseded", 4 }, { "cessationOfOperation", 5 },
	{ "privilegeWithdrawn", 9 },
};

int
mf_cli_reason(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mf_reasons) / sizeof(mf_reasons[0]); i++)
		if (strcasecmp(name, mf_reasons[i].name) == 0)
			return mf_reasons[i].code;
	return -1;
}

const char *
mf_cli_reason_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(mf_reasons) / sizeof(mf_reasons[0]); i++)
		if (mf_reasons[i].code == code)
			return mf_reasons[i].name;
	return "unknown";
}

/* The unexpired, unrevoked certificates of one key, collected by a walk. */
struct mf_bykey {
	unsigned char spki[32];
	char (*serials)[2 * MF_SERIAL_MAX + 1];
	size_t n, cap;
	int rc;
};

static int
mf_bykey_cb(const struct mf_cert_rec *r, void *arg)
{
	struct mf_bykey *k = arg;
	unsigned char h[32];
	void *v;

	/*
	 * A row whose DER does not parse is the log's own; it cannot be the
	 * key's, and one bad row must not hide the others from a revocation.
	 */
	if (r->der == NULL || mf_cert_spki_sha256(r->der, r->der_len, h) != MF_OK ||
	    CRYPTO_memcmp(h, k->spki, sizeof(h)) != 0)
		return 0;
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 16;
		if ((v = realloc(k->serials, k->cap * sizeof(*k->serials))) == NULL) {
			k->rc = MF_ERR_NOMEM;
			return 1;
		}
		k->serials = v;
	}
	snprintf(k->serials[k->n++], sizeof(k->serials[0]), "%s", r->serial);
	return 0;
}

/*
 * revoke --key: every unexpired certificate of the key (forward-dated ones
 * included) in one transaction, each with its own audited revoke row. The
 * walk goes through the not_after index (MF_LIST_VALID), so it costs the
 * live certificates, not the whole log; the SPKI hash is computed from each
 * DER on the way (no column, no migration).
 */
static int
mf_cli_revoke_key(struct mf_cli *c, const char *hex, int code)
{
	struct mf_bykey k;
	size_t i, n;
	int rc, ex;
	int64_t now = (int64_t)time(NULL);

	char norm[2 * sizeof(k.spki) + 1];
	const char *h;

	memset(&k, 0, sizeof(k));
	/* 64 hex digits, any case, colons allowed (openssl dgst -c writes them). */
	for (h = hex, n = 0; *h != '\0' && n < sizeof(norm) - 1; h++)
		if (*h != ':')
			norm[n++] = (char)tolower((unsigned char)*h);
	norm[n] = '\0';
	if (*h != '\0' || mf_unhex(norm, k.spki, sizeof(k.spki), &n) != MF_OK ||
	    n != sizeof(k.spki))
		return mf_cli_fail(c, MF_ERR_INVAL, "--key: write the SHA-256 of the "
		    "SubjectPublicKeyInfo as 64 hex digits (see mayfly(1))");
	hex = norm;
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	/* The write lock first: nothing is issued for the key between walk and revoke. */
	if ((rc = mf_db_begin(c->db)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot open a transaction: %s", mf_db_errmsg(c->db));
	rc = mf_db_cert_list(c->db, MF_LIST_VALID, NULL, now, mf_bykey_cb, &k);
	if (rc == MF_OK || rc == 1)
		rc = k.rc;
	if (rc != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot walk the log: %s", mf_db_errmsg(c->db));
		goto out;
	}
	if (k.n == 0) {
		ex = mf_cli_fail(c, MF_ERR_NOTFOUND, "no unexpired, unrevoked certificate of key %s",
		    hex);
		goto out;
	}
	for (i = 0; i < k.n; i++)
		if ((rc = mf_db_cert_revoke(c->db, k.serials[i], code, now, c->actor)) != MF_OK) {
			ex = mf_cli_fail(c, rc, "serial %s: nothing was revoked", k.serials[i]);
			goto out;
		}
	if ((rc = mf_db_commit(c->db)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "commit failed, nothing was revoked: %s",
		    mf_db_errmsg(c->db));
		goto out;
	}
	for (i = 0; i < k.n; i++)
		fprintf(stderr, "mayfly: revoked serial=%s reason=%s\n", k.serials[i],
		    mf_cli_reason_name(code));
	printf("%zu\n", k.n);
	fprintf(stderr, "mayfly: revoked %zu certificate%s of key %s\n", k.n, k.n == 1 ? "" : "s",
	    hex);
	ex = MF_EXIT_OK;
out:
	if (ex != MF_EXIT_OK)
		mf_db_rollback(c->db);
	free(k.serials);
	return ex;
}

int
mf_cli_revoke(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "SERIAL|--key SPKI-SHA256 [--reason unspecified|keyCompromise|"
	    "cACompromise|affiliationChanged|superseded|cessationOfOperation|privilegeWithdrawn]";
	const char *reason = "unspecified", *key = NULL;
	int ch, rc, ex, code = -1;
	size_t i;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'r': reason = optarg; break;
		case 'k': key = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind + (key == NULL) != argc)
		return mf_cli_usage(c, use);
	if ((code = mf_cli_reason(reason)) < 0)
		return mf_cli_fail(c, MF_ERR_INVAL, "unknown reason '%s'", reason);
	if (key != NULL)
		return mf_cli_revoke_key(c, key, code);
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	rc = mf_db_cert_revoke(c->db, argv[optind], code, (int64_t)time(NULL), c->actor);
	if (rc != MF_OK)
		return mf_cli_fail(c, rc, "serial %s", argv[optind]);
	/* Serials are stored and listed in lower case; say it the same way. */
	for (i = 0; argv[optind][i] != '\0'; i++)
		argv[optind][i] = (char)tolower((unsigned char)argv[optind][i]);
	fprintf(stderr, "mayfly: revoked serial=%s reason=%s\n", argv[optind], mf_cli_reason_name(code));
	return MF_EXIT_OK;
}

static void
mf_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
mf_rec_state(const struct mf_cert_rec *r, int64_t now)
{
	if (r->revoked_at != 0)
		return "revoked";
	if (now >= r->not_after)
		return "expired";
	if (now < r->not_before)
		return "future";
	return "valid";
}

static int
mf_list_one(const struct mf_cert_rec *r, void *arg)
{
	char nb[32], na[32];

	mf_fmt_time(r->not_before, nb, sizeof(nb));
	mf_fmt_time(r->not_after, na, sizeof(na));
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", r->serial, mf_rec_state(r, *(int64_t *)arg), nb, na,
	    r->profile, r->sans);
	return 0;
}

int
mf_cli_list(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "valid", no_argument, NULL, 'V' },
		{ "expired", no_argument, NULL, 'E' },
		{ "revoked", no_argument, NULL, 'R' },
		{ "subject", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "[--valid|--expired|--revoked] [--subject S]";
	int ch, rc, ex, which = MF_LIST_ALL, nsel = 0;
	const char *subject = NULL;
	int64_t now = (int64_t)time(NULL);

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'V': which = MF_LIST_VALID; nsel++; break;
		case 'E': which = MF_LIST_EXPIRED; nsel++; break;
		case 'R': which = MF_LIST_REVOKED; nsel++; break;
		case 's': subject = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind != argc || nsel > 1)
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	printf("serial\tstate\tnot_before\tnot_after\tprofile\tnames\n");
	if ((rc = mf_db_cert_list(c->db, which, subject, now, mf_list_one, &now)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot list certificates");
	return MF_EXIT_OK;
}

int
mf_cli_show(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct mf_cert_rec *r = NULL;
	const unsigned char *p;
	X509 *x = NULL;
	char nb[32], na[32], ia[32], hash[65];
	int ch, rc, ex;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (ch != 'c')
			return mf_cli_usage(c, "SERIAL");
		c->config_path = optarg;
	}
	if (optind + 1 != argc)
		return mf_cli_usage(c, "SERIAL");
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	if ((rc = mf_db_cert_get(c->db, argv[optind], &r)) != MF_OK)
		return mf_cli_fail(c, rc, "serial %s", argv[optind]);
	mf_fmt_time(r->not_before, nb, sizeof(nb));
	mf_fmt_time(r->not_after, na, sizeof(na));
	mf_fmt_time(r->issued_at, ia, sizeof(ia));
	mf_hex(r->csr_sha256, sizeof(r->csr_sha256), hash);
	printf("serial: %s\nstate: %s\nissuer: %s\nsubject: %s\nnames: %s\nprofile: %s\n"
	    "not_before: %s\nnot_after: %s\nissued_at: %s\nrequester: %s\ncsr_sha256: %s\n",
	    r->serial, mf_rec_state(r, (int64_t)time(NULL)), r->issuer, r->subject, r->sans,
	    r->profile, nb, na, ia, r->requester, hash);
	if (r->revoked_at != 0) {
		char ra[32];

		mf_fmt_time(r->revoked_at, ra, sizeof(ra));
		printf("revoked_at: %s\nreason: %s\n", ra, mf_cli_reason_name(r->reason));
	}
	p = r->der;
	if (r->der_len == 0) {
		/* `mayfly db prune` kept the row and the DER's hash, not the DER. */
		printf("der: pruned\n");
		ex = MF_EXIT_OK;
	} else if ((x = d2i_X509(NULL, &p, (long)r->der_len)) != NULL) {
		ex = mf_cli_write_pem(NULL, &x, 1, 0) == MF_OK ? MF_EXIT_OK : MF_EXIT_OTHER;
		X509_free(x);
	} else
		ex = mf_cli_fail(c, MF_ERR_CRYPTO, "stored certificate does not parse");
	mf_cert_rec_free(r);
	return ex;
}

/*
 * Every certificate in an archive written by `mayfly db prune --archive`
 * must be one the log pruned, with the DER hash the log (and so the audit
 * chain) kept for it. Certificates appear once or more (a prune that
 * stopped before its commit writes a batch again on the next run).
 */
static int
mf_cli_archive_each(void *arg, const char *serial, const unsigned char md[32], char *why,
    size_t whylen)
{
	struct mf_cli *c = arg;
	unsigned char kept[32];
	int rc;

	rc = mf_db_cert_pruned_sha256(c->db, serial, kept);
	if (rc == MF_ERR_NOTFOUND) {
		snprintf(why, whylen, "serial %s is not a pruned certificate of the log", serial);
		return MF_ERR_AUDIT_CHAIN;
	}
	if (rc != MF_OK) {
		snprintf(why, whylen, "%s", mf_db_errmsg(c->db));
		return rc;
	}
	if (CRYPTO_memcmp(md, kept, 32) != 0) {
		snprintf(why, whylen, "serial %s is not the certificate the chain recorded "
		    "(archive edited)", serial);
		return MF_ERR_AUDIT_CHAIN;
	}
	return MF_OK;
}

static int
mf_cli_archive_check(struct mf_cli *c, const char *path, int64_t *n, char *why, size_t whylen)
{
	BIO *b;
	int rc;

	*n = 0;
	if ((b = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		snprintf(why, whylen, "cannot read it");
		return MF_ERR_IO;
	}
	rc = mf_cert_archive_read(b, mf_cli_archive_each, c, n, why, whylen);
	BIO_free(b);
	return rc;
}

int
mf_cli_audit(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "head", required_argument, NULL, 'H' },
		{ "archive", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "verify [--head ID:SHA256] [--archive FILE]";
	const char *archive = NULL;
	int64_t certs = 0, archived = 0;
	unsigned char hash[32], want[32];
	int64_t rows = 0, bad = 0, id = 0, want_id = 0;
	const char *head = NULL;
	char why[512], hex[65];
	size_t wl = 0;
	int ch, rc, ex, n = 0;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'H': head = optarg; break;
		case 'A': archive = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "verify") != 0)
		return mf_cli_usage(c, use);
	if (head != NULL && (sscanf(head, "%" SCNd64 ":%n", &want_id, &n) != 1 || n == 0 ||
	    want_id <= 0 || mf_unhex(head + n, want, sizeof(want), &wl) != MF_OK ||
	    wl != sizeof(want)))
		return mf_cli_fail(c, MF_ERR_INVAL, "--head wants ID:SHA256 (64 hex digits), "
		    "as mayflyd logs it (event=audit-head) and this command prints it");
	if ((ex = mf_cli_open(c, MF_NEED_DB_RO)) != MF_EXIT_OK)
		return ex;
	/*
	 * One snapshot for the walk and the head: under load, rows appended
	 * between the two would print a head this run never checked.
	 */
	if ((rc = mf_db_read_begin(c->db)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot read %s", mf_db_errmsg(c->db));
	why[0] = '\0';
	rc = mf_db_audit_verify(c->db, &rows, &bad, why, sizeof(why));
	if (rc != MF_OK)
		return mf_cli_fail(c, rc, "%s", why[0] ? why : "audit log check failed");
	/* The chain holds; a head recorded elsewhere shows a cut or rewritten log. */
	if (head != NULL) {
		rc = mf_db_audit_hash_at(c->db, want_id, hash);
		if (rc == MF_ERR_NOTFOUND)
			return mf_cli_fail(c, MF_ERR_AUDIT_CHAIN, "row %" PRId64 " of the recorded "
			    "head is gone: the log was cut", want_id);
		if (rc != MF_OK)
			return mf_cli_fail(c, rc, "cannot read row %" PRId64, want_id);
		if (CRYPTO_memcmp(hash, want, sizeof(hash)) != 0)
			return mf_cli_fail(c, MF_ERR_AUDIT_CHAIN, "row %" PRId64 " does not carry "
			    "the recorded hash: the log was rewritten up to it", want_id);
	}
	/* Every certificate row must be the one it recorded. */
	why[0] = '\0';
	if ((rc = mf_db_certs_verify(c->db, &certs, why, sizeof(why))) != MF_OK)
		return mf_cli_fail(c, rc, "%s", why[0] ? why : "certificate check failed");
	if (archive != NULL && (rc = mf_cli_archive_check(c, archive, &archived, why,
	    sizeof(why))) != MF_OK)
		return mf_cli_fail(c, rc, "archive %s: %s", archive, why);
	if ((rc = mf_db_audit_head(c->db, &id, hash)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot read the newest row");
	mf_db_read_end(c->db);
	mf_hex(hash, sizeof(hash), hex);
	printf("audit log intact: %lld rows\n", (long long)rows);
	printf("certificates match the chain: %lld\n", (long long)certs);
	if (archive != NULL)
		printf("archive matches the chain: %lld certificates\n", (long long)archived);
	if (head != NULL)
		printf("recorded head %" PRId64 " matches\n", want_id);
	printf("head: %" PRId64 ":%s\n", id, hex);
	return MF_EXIT_OK;
}
