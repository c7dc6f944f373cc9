/*
 * cli_init.c: `mayfly init --dir DIR`, a complete working CA in one step.
 *
 * It makes, inside DIR: the config (mayfly.yaml), either SoftHSM2 tokens
 * of its own (softhsm2.conf, tokens/, hsm.pin) or key files (keys/), a root
 * A, two backup roots B and C, an issuing intermediate signed by A and
 * cross-signed by B, the database with every CA certificate recorded, the
 * factory trust bundle (version 1: roots A, B and C, threshold 2) signed
 * and published, and an admin token for mayflyd's revocation API. A second
 * run on the same directory refuses rather than overwrites anything.
 *
 * Each root's key goes into a token (or file) of its own, so that in a
 * real deployment each can be kept offline apart from the others: with
 * threshold 2, one stolen root key cannot sign a bundle devices accept,
 * and one lost root key does not stop a rotation.
 */
#include "mf_build.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bundle.h"
#include "cli.h"
#include "mferr.h"
#include "util.h"

#define MF_INIT_MAX_DNS	16

/* A random secret as hex (PINs, tokens); caller frees with mf_secret_free. */
static char *
mf_random_hex(size_t bytes)
{
	unsigned char raw[32];
	char *s;

	if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
		return NULL;
	if ((s = malloc(2 * bytes + 1)) != NULL)
		mf_hex(raw, bytes, s);
	OPENSSL_cleanse(raw, sizeof(raw));
	return s;
}

static int
mf_init_secret_file(const char *dir, const char *name, const char *secret)
{
	char *p = mf_path_join(dir, name), *text = NULL;
	int rc;

	if (p == NULL || asprintf(&text, "%s\n", secret) < 0) {
		free(p);
		return MF_ERR_NOMEM;
	}
	rc = mf_file_write(p, text, strlen(text), 0600, 1);
	mf_secret_free(text);
	free(p);
	return rc;
}

static int
mf_init_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *p = mf_path_join(dir, name);
	int rc;

	if (p == NULL)
		return MF_ERR_NOMEM;
	rc = mf_file_write(p, text, strlen(text), mode, 1);
	free(p);
	return rc;
}

/* Writes mayfly.yaml for the set-up; every value here is one the config
 * parser checks again when the file is loaded a moment later. */
static int
mf_init_config(const char *dir, int softhsm, unsigned port, const char **dns, size_t ndns)
{
	char *y = NULL, *keys[4], dnslist[1024];
	static const char *names[4] = { "root-a", "root-b", "issuing-1", "root-c" };
	static const char *tokens[4] = { "mayfly-main", "mayfly-backup", "mayfly-main",
	    "mayfly-root-c" };
	size_t i, off = 0;
	int rc;

	for (i = 0; i < 4; i++) {
		if (softhsm)
			rc = asprintf(&keys[i], "pkcs11:token=%s;object=%s", tokens[i], names[i]);
		else
			rc = asprintf(&keys[i], "file:keys/%s.pem", names[i]);
		if (rc < 0) {
			while (i-- > 0)
				free(keys[i]);
			return MF_ERR_NOMEM;
		}
	}
	dnslist[0] = '\0';
	for (i = 0; i < ndns; i++)
		off += (size_t)snprintf(dnslist + off, sizeof(dnslist) - off, "%s\"%s\"",
		    i ? ", " : "", dns[i]);
	rc = asprintf(&y,
	    "# mayfly.yaml written by `mayfly init`; every key is described in mayfly.yaml(5).\n"
	    "# Relative paths are taken from this file's directory.\n"
	    "database: mayfly.db\n"
	    "\n"
	    "%s"
	    "urls:\n"
	    "  base: http://127.0.0.1:%u\n"
	    "\n"
	    "roots:\n"
	    "  - name: root-a\n"
	    "    key: %s\n"
	    "    cert: certs/root-a.pem\n"
	    "  - name: root-b                  # backup root: its key lives apart\n"
	    "    key: %s\n"
	    "    cert: certs/root-b.pem\n"
	    "  - name: root-c                  # second backup root, in a third token\n"
	    "    key: %s\n"
	    "    cert: certs/root-c.pem\n"
	    "\n"
	    "intermediates:\n"
	    "  - name: issuing-1\n"
	    "    root: root-a\n"
	    "    key: %s\n"
	    "    cert: certs/issuing-1.pem\n"
	    "    cross:\n"
	    "      - certs/issuing-1.root-b.pem\n"
	    "\n"
	    "issuance:\n"
	    "  active: issuing-1\n"
	    "  hard-cap: 24h\n"
	    "  backdate: 5m\n"
	    "\n"
	    "profiles:\n"
	    "  server:\n"
	    "    key-types: [ec-p256, ec-p384, rsa, ed25519]\n"
	    "    rsa-min-bits: 2048\n"
	    "    dns: [%s]\n"
	    "    wildcard: false\n"
	    "    ip: [127.0.0.0/8, \"::1/128\"]\n"
	    "    eku: [server-auth]\n"
	    "    must-staple: false\n"
	    "    default-lifetime: 24h\n"
	    "    max-lifetime: 24h\n"
	    "  client:\n"
	    "    key-types: [ec-p256, ec-p384, ed25519]\n"
	    "    dns: [%s]\n"
	    "    eku: [client-auth]\n"
	    "    default-lifetime: 24h\n"
	    "    max-lifetime: 24h\n"
	    "\n"
	    "daemon:\n"
	    "  listen: [\"127.0.0.1:%u\"]\n"
	    "  threads: 0\n"
	    "  admin-token-file: admin.token\n"
	    "  ocsp:\n"
	    "    validity: 4h\n"
	    "    signer: delegated\n"
	    "    responder-lifetime: 4d\n"
	    "  crl:\n"
	    "    validity: 24h\n"
	    "    interval: 1h\n",
	    softhsm ?
	    "pkcs11:\n"
	    "  module: " MF_SOFTHSM_MODULE "\n"
	    "  pin-source: file:hsm.pin\n"
	    "  softhsm2-conf: softhsm2.conf\n"
	    "\n" : "",
	    port, keys[0], keys[1], keys[3], keys[2], dnslist, dnslist, port);
	for (i = 0; i < 4; i++)
		free(keys[i]);
	if (rc < 0)
		return MF_ERR_NOMEM;
	rc = mf_init_write(dir, "mayfly.yaml", y, 0644);
	free(y);
	return rc;
}

static int
mf_init_softhsm(const char *dir, const char **what)
{
	char *conf = NULL, *tokens = NULL, *text = NULL, *pin = NULL, *so = NULL;
	int rc;

	*what = "SoftHSM2 token";
	if ((tokens = mf_path_join(dir, "tokens")) == NULL ||
	    (conf = mf_path_join(dir, "softhsm2.conf")) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (mkdir(tokens, 0700) != 0) {
		rc = MF_ERR_IO;
		*what = tokens;
		goto out;
	}
	if (asprintf(&text, "# SoftHSM2 configuration for this mayfly set-up only.\n"
	    "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n", tokens) < 0) {
		text = NULL;
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((rc = mf_init_write(dir, "softhsm2.conf", text, 0644)) != MF_OK) {
		*what = conf;
		goto out;
	}
	if ((pin = mf_random_hex(8)) == NULL || (so = mf_random_hex(8)) == NULL) {
		rc = MF_ERR_CRYPTO;
		goto out;
	}
	if ((rc = mf_init_secret_file(dir, "hsm.pin", pin)) != MF_OK ||
	    (rc = mf_init_secret_file(dir, "hsm.so-pin", so)) != MF_OK) {
		*what = "PIN files";
		goto out;
	}
	/* Three tokens: each backup root's key lives apart from the others. */
	if ((rc = mf_keystore_init_token(MF_SOFTHSM_MODULE, conf, "mayfly-main", so, pin)) != MF_OK)
		goto out;
	if ((rc = mf_keystore_init_token(MF_SOFTHSM_MODULE, conf, "mayfly-backup", so, pin)) != MF_OK)
		goto out;
	if ((rc = mf_keystore_init_token(MF_SOFTHSM_MODULE, conf, "mayfly-root-c", so, pin)) != MF_OK)
		goto out;
	rc = MF_OK;
out:
	mf_secret_free(pin);
	mf_secret_free(so);
	free(text);
	free(conf);
	free(tokens);
	return rc;
}

/*
 * The factory trust state: bundle version 1 lists the three roots with
 * threshold 2, signed by each of them, and is published. Devices are
 * provisioned with it (mayfly bundle export), never with raw pins.
 */
static int
mf_init_bundle(struct mf_cli *c, const char **what)
{
	static const char *const roots[3] = { "root-a", "root-b", "root-c" };
	struct mf_bundle *b = NULL;
	unsigned char *der = NULL;
	size_t len, i;
	char why[512];
	int rc;

	if ((rc = mf_cli_bundle_make(c, 1, roots, 3, 2, 0, &b, what)) != MF_OK)
		return rc;
	for (i = 0; i < 3; i++)
		if ((rc = mf_cli_bundle_sign_root(c, b, roots[i], what)) != MF_OK)
			goto out;
	if ((rc = mf_bundle_encode(b, &der, &len)) != MF_OK) {
		*what = "encode the bundle";
		goto out;
	}
	if ((rc = mf_cli_bundle_publish(c, der, len, why, sizeof(why))) != MF_OK)
		*what = "publish the bundle";
out:
	free(der);
	mf_bundle_free(b);
	return rc;
}

int
mf_cli_init(struct mf_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "keys", required_argument, NULL, 'k' },
		{ "key-type", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "dns", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *use = "--dir DIR [--keys softhsm|file] [--key-type ec-p256|ec-p384|"
	    "rsa3072|rsa4096] [--port 8080] [--dns PATTERN]...";
	const char *dirarg = NULL, *keys = "softhsm", *dns[MF_INIT_MAX_DNS], *what = "";
	char *dir = NULL, *cfgpath = NULL, *token = NULL, *probe = NULL;
	size_t ndns = 0;
	unsigned long port = 8080;
	int ch, rc, ex = MF_EXIT_OTHER, softhsm, keytype = MF_KEY_EC_P256;
	enum mf_keytype kt;
	char *end;
	struct stat st;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dirarg = optarg; break;
		case 'k': keys = optarg; break;
		case 't':
			if (mf_keytype_parse(optarg, &kt) != MF_OK)
				return mf_cli_fail(c, MF_ERR_KEYTYPE, "unknown key type '%s'", optarg);
			keytype = (int)kt;
			break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
				return mf_cli_fail(c, MF_ERR_INVAL, "--port '%s' is not a TCP port", optarg);
			break;
		case 'n':
			if (ndns == MF_INIT_MAX_DNS)
				return mf_cli_fail(c, MF_ERR_INVAL, "at most %d --dns", MF_INIT_MAX_DNS);
			if (strpbrk(optarg, "\"\\\n") != NULL)
				return mf_cli_fail(c, MF_ERR_INVAL, "--dns '%s'", optarg);
			dns[ndns++] = optarg;
			break;
		default: return mf_cli_usage(c, use);
		}
	}
	if (dirarg == NULL || optind != argc)
		return mf_cli_usage(c, use);
	if (strcmp(keys, "softhsm") == 0)
		softhsm = 1;
	else if (strcmp(keys, "file") == 0)
		softhsm = 0;
	else
		return mf_cli_fail(c, MF_ERR_INVAL, "--keys '%s': say softhsm or file", keys);
	if (ndns == 0) {
		dns[ndns++] = "localhost";
		dns[ndns++] = ".test";
	}

	/* Refuse before touching anything if a set-up is already there. */
	if ((probe = mf_path_join(dirarg, "mayfly.yaml")) == NULL)
		return mf_cli_fail(c, MF_ERR_NOMEM, NULL);
	rc = lstat(probe, &st);
	free(probe);
	if (rc == 0)
		return mf_cli_fail(c, MF_ERR_ALREADY_INIT, "%s already holds a mayfly set-up; "
		    "refusing to overwrite it", dirarg);
	if ((probe = mf_path_join(dirarg, "mayfly.db")) == NULL)
		return mf_cli_fail(c, MF_ERR_NOMEM, NULL);
	rc = lstat(probe, &st);
	free(probe);
	if (rc == 0)
		return mf_cli_fail(c, MF_ERR_ALREADY_INIT, "%s already holds a mayfly database; "
		    "refusing to overwrite it", dirarg);

	if (mf_mkdir_p(dirarg, 0700) != MF_OK)
		return mf_cli_fail(c, MF_ERR_IO, "cannot create %s", dirarg);
	if ((dir = realpath(dirarg, NULL)) == NULL)
		return mf_cli_fail(c, MF_ERR_IO, "cannot resolve %s", dirarg);
	{
		char *certs = mf_path_join(dir, "certs"), *kdir = mf_path_join(dir, "keys");

		rc = MF_OK;
		if (certs == NULL || kdir == NULL)
			rc = MF_ERR_NOMEM;
		else if ((mkdir(certs, 0755) != 0 && errno != EEXIST) ||
		    (!softhsm && mkdir(kdir, 0700) != 0 && errno != EEXIST))
			rc = MF_ERR_IO;
		free(certs);
		free(kdir);
		if (rc != MF_OK) {
			ex = mf_cli_fail(c, rc, "cannot create directories in %s", dir);
			goto out;
		}
	}
	if (softhsm && (rc = mf_init_softhsm(dir, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto out;
	}
	if ((token = mf_random_hex(32)) == NULL ||
	    (rc = mf_init_secret_file(dir, "admin.token", token)) != MF_OK) {
		ex = mf_cli_fail(c, token ? rc : MF_ERR_CRYPTO, "cannot write the admin token");
		goto out;
	}
	if ((rc = mf_init_config(dir, softhsm, (unsigned)port, dns, ndns)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "cannot write %s/mayfly.yaml", dir);
		goto out;
	}
	if ((cfgpath = mf_path_join(dir, "mayfly.yaml")) == NULL) {
		ex = mf_cli_fail(c, MF_ERR_NOMEM, NULL);
		goto out;
	}
	c->config_path = cfgpath;
	if ((ex = mf_cli_open(c, MF_NEED_KEYS | MF_NEED_DB_NEW)) != MF_EXIT_OK)
		goto fail;
	ex = MF_EXIT_OTHER;

	c->cmd = "init: root";
	if ((rc = mf_cli_make_root(c, &c->cfg->roots[0], keytype, "CN=mayfly demo root A,O=mayfly",
	    20LL * 365 * 86400, NULL, 0, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto fail;
	}
	c->cmd = "init: backup root";
	if ((rc = mf_cli_make_root(c, &c->cfg->roots[1], keytype, "CN=mayfly demo root B,O=mayfly",
	    20LL * 365 * 86400, NULL, 0, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto fail;
	}
	c->cmd = "init: second backup root";
	if ((rc = mf_cli_make_root(c, &c->cfg->roots[2], keytype, "CN=mayfly demo root C,O=mayfly",
	    20LL * 365 * 86400, NULL, 0, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto fail;
	}
	c->cmd = "init: intermediate";
	if ((rc = mf_cli_make_intermediate(c, &c->cfg->intermediates[0], &c->cfg->roots[0], keytype,
	    "CN=mayfly demo issuing CA 1,O=mayfly", 365LL * 86400, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto fail;
	}
	c->cmd = "init: cross-sign";
	if ((rc = mf_cli_cross_sign(c, &c->cfg->intermediates[0], &c->cfg->roots[1],
	    c->cfg->intermediates[0].cross[0], 365LL * 86400, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto fail;
	}
	c->cmd = "init: trust bundle";
	if ((rc = mf_init_bundle(c, &what)) != MF_OK) {
		ex = mf_cli_fail(c, rc, "%s", what);
		goto fail;
	}
	printf("mayfly: made a CA in %s\n"
	    "  config         %s\n"
	    "  keys           %s\n"
	    "  root           certs/root-a.pem (20 years)\n"
	    "  backup root    certs/root-b.pem (20 years, key kept apart)\n"
	    "  backup root    certs/root-c.pem (20 years, key kept apart)\n"
	    "  intermediate   certs/issuing-1.pem (1 year, signed by root-a)\n"
	    "  cross-signed   certs/issuing-1.root-b.pem (same key, signed by root-b)\n"
	    "  trust bundle   version 1: roots A, B, C, threshold 2 (for devices:\n"
	    "                 mayfly bundle export --format c)\n"
	    "  database       mayfly.db\n"
	    "  admin token    admin.token (for mayflyd's POST /admin/revoke)\n"
	    "next:\n"
	    "  mayfly -c %s issue --csr server.csr --out server.pem\n"
	    "  mayflyd -c %s\n",
	    dir, cfgpath,
	    softhsm ? "SoftHSM2 tokens 'mayfly-main', 'mayfly-backup' and 'mayfly-root-c' "
	    "(softhsm2.conf, PIN in hsm.pin)" :
	    "files in keys/ (0600)", cfgpath, cfgpath);
	ex = MF_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "mayfly: init: stopped half-way; remove %s before trying again\n", dir);
out:
	mf_secret_free(token);
	c->config_path = NULL;
	free(cfgpath);
	free(dir);
	return ex;
}
