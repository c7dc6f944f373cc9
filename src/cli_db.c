/*
 * cli_db.c: `mayfly db prune`, retention of the issuance log.
 *
 * A log of 24-hour certificates grows by the fleet's size every day. The
 * prune keeps every row and what an auditor needs of it (serial, names,
 * issuer, validity, requester, the SHA-256 of the DER, which the audit
 * chain also carries) and drops the DER of certificates that expired
 * before the cutoff. With --archive, the removed certificates are first
 * appended to FILE as PEM and synced, so `mayfly audit verify --archive
 * FILE` can later show they are the ones the chain recorded.
 */
#include "mf_build.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "db.h"
#include "mferr.h"
#include "util.h"

#define PRUNE_BATCH_DEFAULT	1000

struct archive {
	const char *path;
	int fd;
};

static int
archive_each(const char *serial, const unsigned char *der, size_t len, void *arg)
{
	struct archive *ar = arg;
	const unsigned char *p = der;
	X509 *x = NULL;
	BIO *b = NULL;
	BUF_MEM *mem;
	size_t off;
	ssize_t w;
	int rc = MF_ERR_CRYPTO;

	(void)serial;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;	/* the log's DER must parse: refuse to archive garbage */
	if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x))
		goto out;
	BIO_get_mem_ptr(b, &mem);
	for (off = 0; off < mem->length; off += (size_t)w) {
		w = write(ar->fd, mem->data + off, mem->length - off);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			rc = MF_ERR_IO;
			goto out;
		}
	}
	rc = MF_OK;
out:
	BIO_free(b);
	X509_free(x);
	return rc;
}

static int
archive_flush(void *arg)
{
	struct archive *ar = arg;

	return fsync(ar->fd) == 0 ? MF_OK : MF_ERR_IO;
}

static int
db_prune(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "expired-before", required_argument, NULL, 'e' },
		{ "archive", required_argument, NULL, 'a' },
		{ "batch", required_argument, NULL, 'b' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "--expired-before DURATION [--archive FILE] [--batch N] [--dry-run]";
	struct archive ar = { NULL, -1 };
	struct mf_prune_sink sink = { archive_each, archive_flush, &ar };
	int64_t age = -1, now = (int64_t)time(NULL), n = 0;
	unsigned long batch = PRUNE_BATCH_DEFAULT;
	char *end;
	int ch, rc, ex, dry = 0;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'e':
			if (mf_duration_parse(optarg, &age) != MF_OK)
				return mf_cli_fail(c, MF_ERR_DURATION,
				    "--expired-before '%s': write e.g. 90d, 1y", optarg);
			break;
		case 'a': ar.path = optarg; break;
		case 'b':
			errno = 0;
			batch = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || batch == 0 || batch > MF_PRUNE_BATCH_MAX)
				return mf_cli_fail(c, MF_ERR_INVAL, "--batch '%s': 1 to %d rows",
				    optarg, MF_PRUNE_BATCH_MAX);
			break;
		case 'n': dry = 1; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (age < 0 || optind != argc)
		return mf_cli_usage(c, use);
	if ((ex = mf_cli_open(c, dry ? MF_NEED_DB_RO : MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if (dry) {
		if ((rc = mf_db_prune_count(c->db, now - age, &n)) != MF_OK)
			return mf_cli_fail(c, rc, "cannot count: %s", mf_db_errmsg(c->db));
		printf("would prune %lld certificates that expired before %lld\n", (long long)n,
		    (long long)(now - age));
		return MF_EXIT_OK;
	}
	if (ar.path != NULL &&
	    (ar.fd = open(ar.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return mf_cli_fail(c, MF_ERR_IO, "archive %s: %s", ar.path, strerror(errno));
	rc = mf_db_prune(c->db, now - age, batch, now, c->actor, ar.path != NULL ? &sink : NULL,
	    &n);
	if (ar.fd >= 0 && close(ar.fd) != 0 && rc == MF_OK)
		rc = MF_ERR_IO;
	if (rc != MF_OK)
		return mf_cli_fail(c, rc, "stopped after %lld certificates: %s", (long long)n,
		    rc == MF_ERR_IO && ar.path != NULL ? "cannot write the archive" :
		    mf_db_errmsg(c->db));
	printf("pruned %lld certificates that expired before %lld%s%s\n", (long long)n,
	    (long long)(now - age), ar.path != NULL ? "; archived in " : "",
	    ar.path != NULL ? ar.path : "");
	return MF_EXIT_OK;
}

/*
 * `mayfly db migrate --to URI`: the log of this configuration copied into
 * an empty database (PostgreSQL, for several nodes) and proven equal.
 * The configuration is left alone: the operator switches database: when
 * the nodes are ready, and can go back to the file until then.
 */
static int
db_migrate(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "--to postgresql://HOST/DB";
	struct mf_db_copy_report rep;
	struct mf_db *dst = NULL;
	const char *to = NULL;
	char where[256], detail[400], why[512], hex[65];
	int ch, rc, ex;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 't': to = optarg; break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (to == NULL || optind != argc)
		return mf_cli_usage(c, use);
	snprintf(where, sizeof(where), "%s", mf_db_shown(to));
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	if (strcmp(to, c->cfg->database) == 0)
		return mf_cli_fail(c, MF_ERR_INVAL, "--to names the log itself (%s)", where);
	if ((rc = mf_db_open(to, MF_DB_CREATE, &dst)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot open %s: %s", where, mf_db_open_why(to, rc));
	/* Recorded first, so the copy carries the record of its own making. */
	snprintf(detail, sizeof(detail), "db-migrate to=%s", where);
	if ((rc = mf_db_audit_append(c->db, "db-migrate", c->actor, detail)) != MF_OK) {
		mf_db_close(dst);
		return mf_cli_fail(c, rc, "cannot record the migration: %s", mf_db_errmsg(c->db));
	}
	rc = mf_db_copy(c->db, dst, &rep, why, sizeof(why));
	mf_db_close(dst);
	if (rc == MF_ERR_EXISTS)
		return mf_cli_fail(c, rc, "%s: %s; nothing was copied", where, why);
	if (rc != MF_OK)
		return mf_cli_fail(c, rc, "the copy to %s failed: %s", where,
		    why[0] != '\0' ? why : mf_strerror(rc));
	mf_hex(rep.head, sizeof(rep.head), hex);
	printf("copied %lld rows (%lld certificates) to %s\n", (long long)rep.rows,
	    (long long)rep.certificates, where);
	printf("proof: %zu tables identical row by row (SHA-256 of each table in key order); "
	    "audit chain verifies (%lld rows); same head, row %lld %s\n", rep.tables,
	    (long long)rep.audit_rows, (long long)rep.head_id, hex);
	printf("next: set database: to the new URI in %s on every node and restart mayflyd\n",
	    c->cfg->path);
	return MF_EXIT_OK;
}

int
mf_cli_db(struct mf_cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "migrate") == 0) {
		c->cmd = "db migrate";
		return db_migrate(c, argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "prune") == 0) {
		c->cmd = "db prune";
		return db_prune(c, argc - 1, argv + 1);
	}
	return mf_cli_usage(c, "prune --expired-before DURATION [--archive FILE] [--batch N] "
	    "[--dry-run] | migrate --to postgresql://HOST/DB");
}
