/*
 * fixtures.c: see fixtures.h.
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixtures.h"
#include "store/sql.h"
#include "keystore.h"
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
