/*
 * fixtures.c: see fixtures.h.
 */
#include "mf_build.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "fixtures.h"
#include "store/sql.h"
#include "keystore.h"
#include "mferr.h"
#include "util.h"

char *
mft_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *t;

	if (asprintf(&t, "%s/mayfly-test.XXXXXX", base ? base : "/tmp") < 0)
		return NULL;
	if (mkdtemp(t) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
mft_rmtree(const char *dir)
{
	char *cmd;

	if (dir == NULL || strstr(dir, "mayfly-test.") == NULL)
		return;		/* never remove anything we did not make */
	if (mft_on_pg()) {
		glob_t g;
		size_t i;

		/* dir's own database, and those of directories in it (`mayfly init --dir`). */
		mft_db_drop(dir);
		if (asprintf(&cmd, "%s/*/pg.db", dir) >= 0) {
			if (glob(cmd, 0, NULL, &g) == 0) {
				for (i = 0; i < g.gl_pathc; i++) {
					*strrchr(g.gl_pathv[i], '/') = '\0';
					mft_db_drop(g.gl_pathv[i]);
				}
				globfree(&g);
			}
			free(cmd);
		}
	}
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		return;
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	free(cmd);
}

char *
mft_srcpath(const char *rel)
{
	return mf_path_join(MF_TEST_SRCDIR, rel);
}

char *
mft_buildpath(const char *rel)
{
	return mf_path_join(MF_TEST_BUILDDIR, rel);
}

int
mft_write(const char *dir, const char *name, const char *text)
{
	char *p = mf_path_join(dir, name);
	int rc;

	if (p == NULL)
		return -1;
	rc = mf_file_write(p, text, strlen(text), 0600, 0) == 0 ? 0 : -1;
	free(p);
	return rc;
}

int
mft_softhsm_setup(const char *dir, const char *label)
{
	char *conf = NULL, *tokens = NULL, *text = NULL;
	int rc = -1;

	if (access(MF_SOFTHSM_MODULE, R_OK) != 0)
		return -1;
	if ((tokens = mf_path_join(dir, "tokens")) == NULL ||
	    (conf = mf_path_join(dir, "softhsm2.conf")) == NULL)
		goto out;
	if (mkdir(tokens, 0700) != 0)
		goto out;
	if (asprintf(&text, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
	    tokens) < 0) {
		text = NULL;
		goto out;
	}
	if (mft_write(dir, "softhsm2.conf", text) != 0 || mft_write(dir, "hsm.pin", "1234\n") != 0)
		goto out;
	setenv("SOFTHSM2_CONF", conf, 1);
	if (mf_keystore_init_token(MF_SOFTHSM_MODULE, conf, label, "5678", "1234") != 0)
		goto out;
	rc = 0;
out:
	free(conf);
	free(tokens);
	free(text);
	return rc;
}

int
mft_run(const char *cmd, char **out)
{
	FILE *p;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int st;

	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	for (;;) {
		char chunk[4096];
		size_t n = fread(chunk, 1, sizeof(chunk), p);

		if (n == 0)
			break;
		if (out != NULL) {
			if (len + n + 1 > cap) {
				char *nb;

				cap = (len + n + 1) * 2;
				if ((nb = realloc(buf, cap)) == NULL)
					break;
				buf = nb;
			}
			memcpy(buf + len, chunk, n);
			len += n;
			buf[len] = '\0';
		}
	}
	st = pclose(p);
	if (out != NULL)
		*out = buf ? buf : strdup("");
	else
		free(buf);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* admin with its database name replaced by name. */
static char *
mft_pg_uri(const char *admin, const char *name)
{
	const char *p = strstr(admin, "/postgres");
	char *out;

	if (p == NULL || (p[9] != '\0' && p[9] != '?'))
		return NULL;
	if (asprintf(&out, "%.*s/%s%s", (int)(p - admin), admin, name, p + 9) < 0)
		return NULL;
	return out;
}

static int
mft_pg_admin(const char *admin, const char *verb, const char *name)
{
	struct mf_sql *h = NULL;
	char sql[160];
	int rc;

	if (admin == NULL || mf_sql_open_pg(admin, 0, &h, NULL, 0) != MF_SQL_OK)
		return -1;
	/* a name made by the test itself: letters, digits and underscores */
	snprintf(sql, sizeof(sql), "%s DATABASE %s%s", verb, name,
	    strcmp(verb, "DROP") == 0 ? " WITH (FORCE)" : "");
	rc = mf_sql_exec(h, sql);
	mf_sql_close(h);
	return rc == MF_SQL_OK ? 0 : -1;
}

int
mft_pg_createdb(const char *admin, const char *name, char **uri)
{
	*uri = NULL;
	if (mft_pg_admin(admin, "CREATE", name) != 0)
		return -1;
	return (*uri = mft_pg_uri(admin, name)) != NULL ? 0 : -1;
}

int
mft_pg_dropdb(const char *admin, const char *name)
{
	return mft_pg_admin(admin, "DROP", name);
}

int
mft_on_pg(void)
{
	const char *on = getenv("MAYFLY_TEST_ON_PG");

	return on != NULL && strcmp(on, "1") == 0 && getenv("MAYFLY_TEST_PG") != NULL;
}

/* The name of dir's PostgreSQL database from dir/pg.db into name, or -1 if none yet. */
static int
mft_pg_name(const char *dir, char *name, size_t len)
{
	char *p = mf_path_join(dir, "pg.db");
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc = -1;

	if (p != NULL && mf_file_read(p, 63, &buf, &n) == 0 && n > 0 && n < len) {
		memcpy(name, buf, n);
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		rc = name[0] != '\0' ? 0 : -1;
	}
	free(buf);
	free(p);
	return rc;
}

int
mft_db_target(const char *dir, int schema, char *buf, size_t len)
{
	const char *admin = getenv("MAYFLY_TEST_PG");
	static unsigned seq;
	char name[64], *uri = NULL;
	int rc = -1;

	if (!mft_on_pg()) {
		if (snprintf(buf, len, "%s/mayfly.db", dir) >= (int)len)
			return -1;
		return 0;
	}
	if (mft_pg_name(dir, name, sizeof(name)) != 0) {
		unsigned char r[4];
		FILE *f = fopen("/dev/urandom", "r");

		if (f == NULL || fread(r, 1, sizeof(r), f) != sizeof(r)) {
			if (f != NULL)
				fclose(f);
			return -1;
		}
		fclose(f);
		snprintf(name, sizeof(name), "mft_%ld_%u_%02x%02x%02x%02x", (long)getpid(), seq++,
		    r[0], r[1], r[2], r[3]);
		if (mft_pg_createdb(admin, name, &uri) != 0)
			return -1;
		if (mft_write(dir, "pg.db", name) != 0)
			goto out;
		/* tests/pg/check-suites.sh counts these: the suites did run on PostgreSQL. */
		fprintf(stderr, "mft: the log is on PostgreSQL, database %s\n", name);
		if (schema) {
			struct mf_db *db = NULL;

			if (mf_db_open(uri, MF_DB_CREATE, &db) != MF_OK)
				goto out;
			mf_db_close(db);
		}
	} else if ((uri = mft_pg_uri(admin, name)) == NULL) {
		return -1;
	}
	if (snprintf(buf, len, "%s", uri) < (int)len)
		rc = 0;
out:
	free(uri);
	return rc;
}

void
mft_db_drop(const char *dir)
{
	char name[64];

	if (mft_on_pg() && mft_pg_name(dir, name, sizeof(name)) == 0)
		mft_pg_dropdb(getenv("MAYFLY_TEST_PG"), name);
}

int
mft_yaml_db(const char *yaml, const char *target)
{
	unsigned char *text = NULL;
	size_t n = 0;
	char *out = NULL, *line, *save = NULL;
	size_t cap, len = 0;
	int rc = -1;

	if (mf_file_read(yaml, 1 << 20, &text, &n) != 0)
		return -1;
	cap = n + strlen(target) + 32;
	if ((out = malloc(cap)) == NULL)
		goto done;
	len = (size_t)snprintf(out, cap, "database: \"%s\"\n", target);
	for (line = strtok_r((char *)text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "database:", 9) == 0)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
	}
	rc = mf_file_write(yaml, out, len, 0600, 0) == 0 ? 0 : -1;
done:
	free(out);
	free(text);
	return rc;
}

int
mft_db_onpg(const char *dir)
{
	char target[600], *yaml = NULL, *mayfly = NULL, *cmd = NULL, *out = NULL;
	int rc = -1;

	if (!mft_on_pg())
		return 0;
	if (mft_db_target(dir, 0, target, sizeof(target)) != 0 ||
	    (yaml = mf_path_join(dir, "mayfly.yaml")) == NULL ||
	    (mayfly = mft_buildpath("mayfly")) == NULL ||
	    asprintf(&cmd, "'%s' -c '%s' db migrate --to '%s' 2>&1", mayfly, yaml, target) < 0) {
		cmd = NULL;
		goto done;
	}
	if (mft_run(cmd, &out) != 0 || out == NULL || strstr(out, "tables identical") == NULL) {
		fprintf(stderr, "mft_db_onpg: mayfly db migrate --to failed in %s:\n%s\n", dir,
		    out != NULL ? out : "");
		goto done;
	}
	rc = mft_yaml_db(yaml, target);
done:
	free(out);
	free(cmd);
	free(mayfly);
	free(yaml);
	return rc;
}

int64_t
mft_db_int(const char *dir, const char *sql)
{
	char target[600];
	struct mf_db *db = NULL;
	mf_sql_stmt *st = NULL;
	int64_t v = -1;

	if (mft_db_target(dir, 0, target, sizeof(target)) != 0 ||
	    mf_db_open(target, 0, &db) != MF_OK)
		return -1;
	if (mf_sql_prepare(mf_db_handle(db), sql, 0, &st) == MF_SQL_OK &&
	    mf_sql_step(st) == MF_SQL_ROW)
		v = mf_sql_column_int64(st, 0);
	mf_sql_finalize(st);
	mf_db_close(db);
	return v;
}

int
mft_db_exec(const char *dir, const char *sql, const char *const *args, int nargs)
{
	char target[600];
	struct mf_db *db = NULL;
	mf_sql_stmt *st = NULL;
	int i, rc = -1;

	if (mft_db_target(dir, 0, target, sizeof(target)) != 0 ||
	    mf_db_open(target, 0, &db) != MF_OK)
		return -1;
	if (mf_sql_prepare(mf_db_handle(db), sql, 0, &st) == MF_SQL_OK) {
		for (i = 0; i < nargs; i++)
			mf_sql_bind_text(st, i + 1, args[i], -1, MF_SQL_TRANSIENT);
		if (mf_sql_step(st) == MF_SQL_DONE)
			rc = mf_sql_changes(mf_db_handle(db));
	}
	mf_sql_finalize(st);
	mf_db_close(db);
	return rc;
}
