/*
 * mayfly.c: the admin CLI's entry point and what its subcommands share:
 * loading the config, opening the keystore and the database, turning error
 * codes into one clear line and an exit code.
 *
 * Each subcommand lives in a cli_*.c file, parses its own options, does one
 * thing, and prints one line on failure: "mayfly: CMD: NAME: detail", where
 * NAME is the stable token from mf_errname() that scripts can match.
 */
#include "mf_build.h"

#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "mferr.h"
#include "util.h"

#define MF_DEFAULT_CONFIG	MF_SYSCONFDIR "/mayfly.yaml"

int
mf_cli_exit(int err)
{
	switch (err) {
	case MF_OK:
		return MF_EXIT_OK;
	case MF_ERR_INVAL:
		return MF_EXIT_USAGE;
	case MF_ERR_CONFIG: case MF_ERR_CONFIG_KEY: case MF_ERR_CONFIG_VALUE:
	case MF_ERR_CONFIG_MISSING: case MF_ERR_DURATION:
		return MF_EXIT_CONFIG;
	case MF_ERR_KEY_URI: case MF_ERR_KEY_LOAD: case MF_ERR_KEY_PERMS: case MF_ERR_HSM:
	case MF_ERR_PIN: case MF_ERR_KEYGEN: case MF_ERR_KEYTYPE: case MF_ERR_CA_MISMATCH:
		return MF_EXIT_KEY;
	case MF_ERR_DB: case MF_ERR_DB_SCHEMA: case MF_ERR_DB_BUSY:
		return MF_EXIT_DB;
	case MF_ERR_AUDIT_CHAIN:
		return MF_EXIT_AUDIT;
	default:
		if ((err <= -80 && err > -110) ||	/* every policy refusal */
		    (err <= -180 && err > -200))	/* and every trust-bundle refusal */
			return MF_EXIT_REFUSED;
		if (err == MF_ERR_NOTFOUND || err == MF_ERR_REVOKED || err == MF_ERR_EXISTS ||
		    err == MF_ERR_ALREADY_INIT || err == MF_ERR_CA_NOTFOUND ||
		    err == MF_ERR_CA_EXPIRED || err == MF_ERR_CA_REVOKED || err == MF_ERR_SERIAL_DUP)
			return MF_EXIT_REFUSED;
		return MF_EXIT_OTHER;
	}
}

/* Rewrites control characters in s as '?' so a message stays one line on the terminal. */
static void
mf_cli_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

int
mf_cli_fail(const struct mf_cli *c, int err, const char *fmt, ...)
{
	char detail[1024], ssl[1024];
	va_list ap;

	detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	/* Names from files and arguments may hold control characters: show them escaped. */
	mf_cli_sanitize(detail);
	mf_ssl_errors(ssl, sizeof(ssl));
	fprintf(stderr, "mayfly: %s: %s: %s%s%s%s\n", c->cmd, mf_errname(err),
	    detail[0] ? detail : mf_strerror(err),
	    ssl[0] ? " (openssl: " : "", ssl, ssl[0] ? ")" : "");
	return mf_cli_exit(err);
}

int
mf_cli_usage(const struct mf_cli *c, const char *usage)
{
	fprintf(stderr, "usage: mayfly %s %s\n", c->cmd, usage);
	return MF_EXIT_USAGE;
}

/* Logs the config file's hash in the audit chain whenever it has changed. */
static int
mf_cli_audit_config(struct mf_cli *c)
{
	unsigned char *buf = NULL, md[32];
	size_t len;
	int rc;

	if ((rc = mf_file_read(c->cfg->path, 1 << 20, &buf, &len)) != MF_OK)
		return rc;
	rc = EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL) == 1 ?
	    mf_db_audit_config(c->db, c->cfg->path, md, c->actor, NULL) : MF_ERR_CRYPTO;
	free(buf);
	return rc;
}

int
mf_cli_open(struct mf_cli *c, int need)
{
	char err[512];
	int rc;

	if (c->cfg == NULL) {
		rc = mf_config_load(c->config_path, &c->cfg, err, sizeof(err));
		if (rc != MF_OK)
			return mf_cli_fail(c, rc, "%s", err);
	}
	if ((need & MF_NEED_KEYS) && c->ks == NULL) {
		struct mf_keystore_conf kc = {
			.module = c->cfg->pkcs11_module,
			.pin_source = c->cfg->pkcs11_pin_source,
			.softhsm2_conf = c->cfg->softhsm2_conf,
		};

		if ((rc = mf_keystore_new(&kc, &c->ks)) != MF_OK)
			return mf_cli_fail(c, rc, "cannot set up the keystore");
	}
	if ((need & (MF_NEED_DB | MF_NEED_DB_RO | MF_NEED_DB_NEW)) && c->db == NULL) {
		/*
		 * Only `mayfly init` creates a log: a mistyped database path
		 * must not turn into an empty CA that lists nothing and checks
		 * "intact". Commands that only read open the file read-only and
		 * record nothing, so an auditor can check a copy unchanged.
		 */
		int flags = (need & MF_NEED_DB_NEW) ? MF_DB_CREATE :
		    (need & MF_NEED_DB) ? 0 : MF_DB_READONLY;

		if ((rc = mf_db_open(c->cfg->database, flags, &c->db)) != MF_OK) {
			if (rc == MF_ERR_NOTFOUND)
				return mf_cli_fail(c, MF_ERR_DB, "no issuance log at %s (database: in "
				    "%s); only `mayfly init` creates one", mf_db_shown(c->cfg->database),
				    c->cfg->path);
			return mf_cli_fail(c, rc, "cannot open database %s: %s",
			    mf_db_shown(c->cfg->database), mf_db_open_why(c->cfg->database, rc));
		}
		if ((need & (MF_NEED_DB | MF_NEED_DB_NEW)) &&
		    (rc = mf_cli_audit_config(c)) != MF_OK)
			return mf_cli_fail(c, rc, "cannot record the configuration in the audit "
			    "log: %s", mf_db_errmsg(c->db));
	}
	return MF_EXIT_OK;
}

void
mf_cli_close(struct mf_cli *c)
{
	mf_db_close(c->db);
	c->db = NULL;
	mf_keystore_free(c->ks);
	c->ks = NULL;
	mf_config_free(c->cfg);
	c->cfg = NULL;
}

int
mf_cli_write_pem(const char *path, X509 *const *certs, size_t n, int excl)
{
	BIO *b = NULL;
	BUF_MEM *mem;
	size_t i;
	int rc = MF_ERR_CRYPTO;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return MF_ERR_NOMEM;
	for (i = 0; i < n; i++)
		if (!PEM_write_bio_X509(b, certs[i]))
			goto out;
	BIO_get_mem_ptr(b, &mem);
	if (path == NULL) {
		rc = fwrite(mem->data, 1, mem->length, stdout) == mem->length &&
		    fflush(stdout) == 0 ? MF_OK : MF_ERR_IO;
	} else
		rc = mf_file_write(path, mem->data, mem->length, 0644, excl);
out:
	BIO_free(b);
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mayfly [-c FILE] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "  init --dir DIR [--keys softhsm|file]   create a complete CA set-up in DIR\n"
	    "  root init|add|retire ...                make, add or retire a root\n"
	    "  intermediate create|cross-sign|revoke|rotate   make, cross-sign, revoke or rotate an issuing CA\n"
	    "  issue --csr FILE [--profile P] [--lifetime D] [--not-before T] [--out FILE]\n"
	    "  revoke SERIAL|--key SPKI-SHA256 [--reason R]\n"
	    "  list [--valid|--expired|--revoked] [--subject S]\n"
	    "  show SERIAL\n"
	    "  audit verify [--head ID:SHA256] [--archive FILE]\n"
	    "  crl root [--name ROOT] [--validity 30d] [--out FILE]\n"
	    "  acme eab add [--label TEXT] | eab list | eab remove KID\n"
	    "  db prune --expired-before DURATION [--archive FILE] [--batch N] [--dry-run]\n"
	    "  db migrate --to postgresql://HOST/DB\n"
	    "  bundle create|sign|show|verify|publish|export   trust bundles for devices\n"
	    "\n"
	    "-c FILE defaults to %s. See mayfly(1).\n", MF_DEFAULT_CONFIG);
}

static const struct {
	const char *name;
	int (*fn)(struct mf_cli *, int, char **);
} commands[] = {
	{ "init", mf_cli_init },
	{ "root", mf_cli_root },
	{ "intermediate", mf_cli_intermediate },
	{ "issue", mf_cli_issue },
	{ "revoke", mf_cli_revoke },
	{ "list", mf_cli_list },
	{ "show", mf_cli_show },
	{ "audit", mf_cli_audit },
	{ "crl", mf_cli_crl },
	{ "acme", mf_cli_acme },
	{ "db", mf_cli_db },
	{ "bundle", mf_cli_bundle },
};

int
main(int argc, char **argv)
{
	struct mf_cli c = { .cmd = "mayfly", .config_path = MF_DEFAULT_CONFIG };
	struct passwd *pw;
	const char *env;
	size_t i;
	int ch, rc;

	if ((env = getenv("MAYFLY_CONFIG")) != NULL && *env != '\0')
		c.config_path = env;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	/* '+': stop at the first non-option, which is the subcommand. */
	while ((ch = getopt_long(argc, argv, "+c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'v':
			mf_log_set_level(MF_LOG_DEBUG);
			break;
		case 'V':
			printf("mayfly %s\n", PACKAGE_VERSION);
			return MF_EXIT_OK;
		case 'h':
			usage(stdout);
			return MF_EXIT_OK;
		default:
			usage(stderr);
			return MF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return MF_EXIT_USAGE;
	}
	pw = getpwuid(getuid());
	snprintf(c.actor, sizeof(c.actor), "cli:%s", pw != NULL ? pw->pw_name : "unknown");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			c.cmd = commands[i].name;
			/* Subcommands run getopt again from their own argv[0]. */
			argc -= optind;
			argv += optind;
			optind = 0;
			rc = commands[i].fn(&c, argc, argv);
			mf_cli_close(&c);
			return rc;
		}
	}
	fprintf(stderr, "mayfly: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return MF_EXIT_USAGE;
}
