/*
 * cli_db.c: `mayfly db prune` and `db compact`, retention of the issuance
 * log, and `db migrate`.
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
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "db.h"
#include "mferr.h"
#include "store/sql.h"
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

/* Size in bytes of the SQLite log and its WAL, or -1. */
static int64_t
lite_size(const char *path)
{
	char wal[4096];
	struct stat st;
	int64_t n;

	if (stat(path, &st) != 0)
		return -1;
	n = (int64_t)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0)
		n += (int64_t)st.st_size;
	return n;
}

/*
 * `mayfly db compact`: gives back the space a prune freed. On SQLite a
 * prune empties the DER inside its pages, where rows written later (at
 * the end of the table) never go, so the file keeps its size: VACUUM
 * rewrites it. It takes the write lock for as long as it runs (seconds
 * for 10^6 certificates), so mayflyd's issuance would wait and then fail:
 * run it with mayflyd stopped. It needs about twice the file's size free
 * on its file system for as long as it runs (the copy and the WAL), and
 * refuses to start without that. On PostgreSQL the server's (auto)vacuum
 * already lets new rows reuse the space; this runs VACUUM ANALYZE, which
 * does not block issuance, and the files keep their size.
 */
static int
db_compact(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct mf_sql *h;
	struct statvfs vfs;
	char dir[4096], detail[200], *slash;
	int64_t before, after, t0, freeb;
	int ch, rc, ex;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		default: return mf_cli_usage(c, "");
		}
	}
	if (optind != argc)
		return mf_cli_usage(c, "");
	if ((ex = mf_cli_open(c, MF_NEED_DB)) != MF_EXIT_OK)
		return ex;
	h = mf_db_handle(c->db);
	t0 = mf_mono_us();
	if (mf_db_is_pg(c->db)) {
		if (mf_sql_exec(h, "VACUUM (ANALYZE)") != MF_SQL_OK)
			return mf_cli_fail(c, MF_ERR_DB, "VACUUM: %s", mf_sql_errmsg(h));
		printf("vacuumed %s in %.1f s: the space of pruned rows is reused by new rows; "
		    "PostgreSQL's files keep their size\n", mf_db_shown(c->cfg->database),
		    (double)(mf_mono_us() - t0) / 1e6);
		return MF_EXIT_OK;
	}
	if ((before = lite_size(c->cfg->database)) < 0)
		return mf_cli_fail(c, MF_ERR_IO, "%s: %s", c->cfg->database, strerror(errno));
	snprintf(dir, sizeof(dir), "%s", c->cfg->database);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (statvfs(dir, &vfs) != 0)
		return mf_cli_fail(c, MF_ERR_IO, "%s: %s", dir, strerror(errno));
	freeb = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	if (freeb < 2 * before)
		return mf_cli_fail(c, MF_ERR_DB_FULL, "compacting %s needs about %lld MB free on "
		    "%s, which has %lld MB; nothing was changed", c->cfg->database,
		    (long long)(2 * before / 1000000), dir, (long long)(freeb / 1000000));
	/* Recorded first, so the rewritten log carries the record of its making. */
	snprintf(detail, sizeof(detail), "db-compact bytes_before=%lld", (long long)before);
	if ((rc = mf_db_audit_append(c->db, "db-compact", c->actor, detail)) != MF_OK)
		return mf_cli_fail(c, rc, "cannot record the compaction: %s", mf_db_errmsg(c->db));
	/* All or nothing: a VACUUM that fails leaves the log as it was. */
	if (mf_sql_exec(h, "VACUUM") != MF_SQL_OK)
		return mf_cli_fail(c, MF_ERR_DB, "VACUUM: %s (is mayflyd running? stop it first)",
		    mf_sql_errmsg(h));
	if (mf_sql_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)") != MF_SQL_OK)
		return mf_cli_fail(c, MF_ERR_DB, "checkpoint: %s", mf_sql_errmsg(h));
	after = lite_size(c->cfg->database);
	printf("compacted %s in %.1f s: %.1f MB -> %.1f MB\n", c->cfg->database,
	    (double)(mf_mono_us() - t0) / 1e6, (double)before / 1e6, (double)after / 1e6);
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
	if (argc >= 2 && strcmp(argv[1], "compact") == 0) {
		c->cmd = "db compact";
		return db_compact(c, argc - 1, argv + 1);
	}
	return mf_cli_usage(c, "prune --expired-before DURATION [--archive FILE] [--batch N] "
	    "[--dry-run] | compact | migrate --to postgresql://HOST/DB");
}
