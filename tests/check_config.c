/*
 * check_config.c: mayfly.yaml parsing. The shipped example and a file with
 * every key (tests/data/config/) must load with the values they say; each
 * class of mistake must be refused with its own code and a message that
 * points at the right line and column; relative paths must come back
 * resolved against the file's directory; defaults must be applied.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "fixtures.h"
#include "mferr.h"
#include "suites.h"
#include "util.h"

static char *tdir;
static char *tdir_real;

static void
setup(void)
{
	tdir = mft_tmpdir();
	ck_assert_ptr_nonnull(tdir);
	tdir_real = realpath(tdir, NULL);	/* TMPDIR may be behind a symlink */
	ck_assert_ptr_nonnull(tdir_real);
}

static void
teardown(void)
{
	mft_rmtree(tdir);
	free(tdir);
	free(tdir_real);
	tdir = tdir_real = NULL;
}

/* Lines 1-10: the smallest valid file. Tests append from line 11 on. */
static const char base_yaml[] =
    "database: ca.db\n"
    "urls:\n"
    "  base: http://127.0.0.1:8080\n"
    "roots:\n"
    "  - name: root-a\n"
    "    key: file:keys/root-a.pem\n"
    "    cert: certs/root-a.pem\n"
    "intermediates:\n"
    "  - name: issuing-1\n"
    "    key: file:keys/issuing-1.pem\n"
    "    cert: certs/issuing-1.pem\n";

static int
load_text(const char *text, struct mf_config **cfg, char *err, size_t errlen)
{
	char *path;
	int rc;

	ck_assert_int_eq(mft_write(tdir, "mayfly.yaml", text), 0);
	path = mf_path_join(tdir, "mayfly.yaml");
	ck_assert_ptr_nonnull(path);
	rc = mf_config_load(path, cfg, err, errlen);
	free(path);
	return rc;
}

/* Loads base_yaml + extra and expects code with "mayfly.yaml:L:C: " in the message. */
static void
expect_error(const char *extra, int code, const char *where)
{
	struct mf_config *cfg = (struct mf_config *)&cfg;
	char *text, err[512], want[64];
	int rc;

	ck_assert_int_ge(asprintf(&text, "%s%s", base_yaml, extra), 0);
	rc = load_text(text, &cfg, err, sizeof(err));
	free(text);
	ck_assert_msg(rc == code, "got %d (%s), want %d; err: %s", rc, mf_errname(rc), code, err);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "mayfly.yaml:%s: ", where);
	ck_assert_msg(strstr(err, want) != NULL, "err '%s' lacks '%s'", err, want);
}

/* Loads a whole text (not based on base_yaml). */
static void
expect_error_text(const char *text, int code, const char *where)
{
	struct mf_config *cfg = NULL;
	char err[512], want[64];
	int rc;

	rc = load_text(text, &cfg, err, sizeof(err));
	ck_assert_msg(rc == code, "got %d (%s), want %d; err: %s", rc, mf_errname(rc), code, err);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "mayfly.yaml:%s", where);
	ck_assert_msg(strstr(err, want) != NULL, "err '%s' lacks '%s'", err, want);
}

static char *
under(const char *dir, const char *rel)
{
	char *p = mf_path_join(dir, rel);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* ---- files that must load ------------------------------------------------------- */

START_TEST(test_example)
{
	struct mf_config *cfg = NULL;
	const struct mf_profile *p;
	const struct mf_ca_conf *ca;
	char err[512] = "", *path, *dir, *want;

	path = mft_srcpath("conf/mayfly.yaml");
	ck_assert_int_eq(mf_config_load(path, &cfg, err, sizeof(err)), MF_OK);
	ck_assert_str_eq(err, "");
	free(path);
	path = mft_srcpath("conf");
	dir = realpath(path, NULL);
	free(path);
	ck_assert_ptr_nonnull(dir);
	ck_assert_str_eq(cfg->dir, dir);

	want = under(dir, "mayfly.db");
	ck_assert_str_eq(cfg->database, want);
	free(want);
	ck_assert_str_eq(cfg->pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
	want = under(dir, "hsm.pin");
	ck_assert_str_eq(cfg->pkcs11_pin_source + 5, want);
	ck_assert_int_eq(strncmp(cfg->pkcs11_pin_source, "file:", 5), 0);
	free(want);
	ck_assert_ptr_null(cfg->softhsm2_conf);
	ck_assert_str_eq(cfg->url_base, "http://127.0.0.1:8080");

	ck_assert_uint_eq(cfg->nroots, 3);
	ck_assert_str_eq(cfg->roots[2].key, "pkcs11:token=mayfly-root-c;object=root-c");
	ck_assert_str_eq(cfg->roots[1].name, "root-b");
	ck_assert_str_eq(cfg->roots[1].key, "pkcs11:token=mayfly-backup;object=root-b");
	want = under(dir, "certs/root-b.pem");
	ck_assert_str_eq(cfg->roots[1].cert, want);
	free(want);
	ck_assert_uint_eq(cfg->nintermediates, 1);
	ca = mf_config_intermediate(cfg, "issuing-1");
	ck_assert_ptr_eq(ca, &cfg->intermediates[0]);
	ck_assert_str_eq(ca->root, "root-a");
	ck_assert_uint_eq(ca->ncross, 1);
	want = under(dir, "certs/issuing-1.root-b.pem");
	ck_assert_str_eq(ca->cross[0], want);
	free(want);
	ck_assert_ptr_eq(mf_config_root(cfg, "root-a"), &cfg->roots[0]);
	ck_assert_ptr_null(mf_config_root(cfg, "issuing-1"));
	ck_assert_ptr_null(mf_config_intermediate(cfg, "root-a"));

	ck_assert_str_eq(cfg->active_intermediate, "issuing-1");
	ck_assert_int_eq(cfg->hard_cap, 24 * 3600);
	ck_assert_int_eq(cfg->backdate, 300);

	ck_assert_uint_eq(cfg->nprofiles, 2);
	p = mf_config_profile(cfg, "server");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->key_types, MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_RSA | MF_KT_ED25519);
	ck_assert_uint_eq(p->rsa_min_bits, 2048);
	ck_assert_uint_eq(p->ndns, 2);
	ck_assert_str_eq(p->dns[0], "localhost");
	ck_assert_str_eq(p->dns[1], ".example.com");
	ck_assert_int_eq(p->wildcard, 0);
	ck_assert_uint_eq(p->nip, 2);
	ck_assert_int_eq(p->ip[0].family, AF_INET);
	ck_assert_uint_eq(p->ip[0].prefix, 8);
	ck_assert_uint_eq(p->ip[0].addr[0], 127);
	ck_assert_int_eq(p->ip[1].family, AF_INET6);
	ck_assert_uint_eq(p->ip[1].prefix, 128);
	ck_assert_uint_eq(p->ip[1].addr[15], 1);
	ck_assert_uint_eq(p->eku, MF_EKU_SERVER);
	ck_assert_int_eq(p->must_staple, 0);
	ck_assert_int_eq(p->default_lifetime, 86400);
	ck_assert_int_eq(p->max_lifetime, 86400);
	p = mf_config_profile(cfg, "client");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->key_types, MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_ED25519);
	ck_assert_uint_eq(p->eku, MF_EKU_CLIENT);
	ck_assert_str_eq(p->dns[0], ".devices.example.com");
	ck_assert_ptr_null(mf_config_profile(cfg, "nope"));

	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(cfg->listen[0].port, 8080);
	ck_assert_uint_eq(cfg->threads, 0);
	ck_assert_ptr_null(cfg->user);
	ck_assert_uint_eq(cfg->max_connections, 1024);
	ck_assert_uint_eq(cfg->per_ip_connections, 64);
	ck_assert_int_eq(cfg->connection_timeout, 10);
	ck_assert_int_eq(cfg->request_timeout, 30);
	ck_assert_uint_eq(cfg->max_body, 65536);
	ck_assert_ptr_null(cfg->admin_token_file);
	ck_assert_int_eq(cfg->ocsp_validity, 4 * 3600);
	ck_assert_int_eq(cfg->ocsp_delegated, 1);
	ck_assert_int_eq(cfg->ocsp_responder_lifetime, 4 * 86400);
	ck_assert_ptr_null(cfg->ocsp_export_dir);
	ck_assert_int_eq(cfg->crl_validity, 86400);
	ck_assert_int_eq(cfg->crl_interval, 3600);
	mf_config_free(cfg);
	free(dir);
}
END_TEST

START_TEST(test_full)
{
	struct mf_config *cfg = NULL;
	const struct mf_profile *p;
	char err[512] = "", *path, *dir, *want;
	unsigned char v6[16];

	path = mft_srcpath("tests/data/config/full.yaml");
	ck_assert_msg(mf_config_load(path, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(path);
	path = mft_srcpath("tests/data/config");
	dir = realpath(path, NULL);
	free(path);
	ck_assert_ptr_nonnull(dir);

	want = under(dir, "state/mayfly.db");
	ck_assert_str_eq(cfg->database, want);
	free(want);
	ck_assert_str_eq(cfg->pkcs11_pin_source, "env:MAYFLY_PIN");
	want = under(dir, "hsm/softhsm2.conf");
	ck_assert_str_eq(cfg->softhsm2_conf, want);
	free(want);
	ck_assert_str_eq(cfg->url_base, "https://ca.example.com:8443");	/* slash dropped */
	/* file:REL resolved, file:/ABS kept, pkcs11: untouched */
	ck_assert_int_eq(strncmp(cfg->roots[0].key, "file:", 5), 0);
	want = under(dir, "keys/root-a.pem");
	ck_assert_str_eq(cfg->roots[0].key + 5, want);
	free(want);
	ck_assert_str_eq(cfg->roots[1].cert, "/etc/mayfly/root-b.pem");
	ck_assert_str_eq(cfg->roots[1].key, "pkcs11:token=backup;object=root-b");
	ck_assert_str_eq(cfg->intermediates[0].key, "file:/var/lib/mayfly/issuing-1.pem");
	ck_assert_str_eq(cfg->intermediates[0].root, "root-a");	/* defaults to the first root */
	ck_assert_uint_eq(cfg->intermediates[0].ncross, 0);
	ck_assert_str_eq(cfg->intermediates[1].root, "root-b");
	ck_assert_uint_eq(cfg->intermediates[1].ncross, 1);
	want = under(dir, "certs/issuing-2.root-a.pem");
	ck_assert_str_eq(cfg->intermediates[1].cross[0], want);
	free(want);
	ck_assert_str_eq(cfg->active_intermediate, "issuing-2");
	ck_assert_int_eq(cfg->hard_cap, 12 * 3600);
	ck_assert_int_eq(cfg->backdate, 0);

	p = mf_config_profile(cfg, "web");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->key_types, MF_KT_EC_P384);
	ck_assert_uint_eq(p->rsa_min_bits, 3072);
	ck_assert_str_eq(p->dns[0], "www.example.com");
	ck_assert_str_eq(p->dns[1], ".api.example.com");
	ck_assert_int_eq(p->wildcard, 1);
	ck_assert_uint_eq(p->nip, 3);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::", v6), 1);
	ck_assert_mem_eq(p->ip[1].addr, v6, 16);
	ck_assert_uint_eq(p->ip[1].prefix, 32);
	ck_assert_uint_eq(p->ip[2].prefix, 32);
	ck_assert_uint_eq(p->eku, MF_EKU_SERVER | MF_EKU_CLIENT);
	ck_assert_int_eq(p->must_staple, 1);
	ck_assert_int_eq(p->default_lifetime, 6 * 3600);
	ck_assert_int_eq(p->max_lifetime, 12 * 3600);	/* follows the hard cap */
	p = mf_config_profile(cfg, "client");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->eku, MF_EKU_CLIENT);
	ck_assert_int_eq(p->max_lifetime, 12 * 3600);
	ck_assert_int_eq(p->default_lifetime, 12 * 3600);

	ck_assert_uint_eq(cfg->nlisten, 3);
	ck_assert_str_eq(cfg->listen[0].host, "::1");
	ck_assert_uint_eq(cfg->listen[0].port, 8443);
	ck_assert_str_eq(cfg->listen[2].host, "localhost");
	ck_assert_uint_eq(cfg->listen[2].port, 9000);
	ck_assert_uint_eq(cfg->threads, 4);
	ck_assert_str_eq(cfg->user, "mayfly");
	ck_assert_uint_eq(cfg->max_connections, 200);
	ck_assert_uint_eq(cfg->per_ip_connections, 0);
	ck_assert_int_eq(cfg->connection_timeout, 30);
	ck_assert_int_eq(cfg->request_timeout, 45);
	ck_assert_uint_eq(cfg->max_body, 4096);
	want = under(dir, "admin.token");
	ck_assert_str_eq(cfg->admin_token_file, want);
	free(want);
	ck_assert_int_eq(cfg->ocsp_validity, 3600);
	ck_assert_int_eq(cfg->ocsp_delegated, 0);
	ck_assert_int_eq(cfg->ocsp_responder_lifetime, 7200);
	want = under(dir, "ocsp-out");
	ck_assert_str_eq(cfg->ocsp_export_dir, want);
	free(want);
	ck_assert_int_eq(cfg->crl_validity, 2 * 86400);
	ck_assert_int_eq(cfg->crl_interval, 1800);
	mf_config_free(cfg);
	free(dir);
}
END_TEST

START_TEST(test_defaults)
{
	struct mf_config *cfg = NULL;
	const struct mf_profile *p;
	char err[512] = "", *path;

	path = mft_srcpath("tests/data/config/minimal.yaml");
	ck_assert_msg(mf_config_load(path, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(path);
	ck_assert_ptr_null(cfg->pkcs11_module);
	ck_assert_ptr_null(cfg->pkcs11_pin_source);
	ck_assert_str_eq(cfg->active_intermediate, "issuing-1");
	ck_assert_str_eq(cfg->intermediates[0].root, "root-a");
	ck_assert_int_eq(cfg->hard_cap, MF_HARD_CAP_MAX);
	ck_assert_int_eq(cfg->backdate, 5 * 60);
	ck_assert_uint_eq(cfg->nprofiles, 1);
	p = mf_config_profile(cfg, "server");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->key_types, MF_KT_EC_P256 | MF_KT_EC_P384 | MF_KT_RSA | MF_KT_ED25519);
	ck_assert_uint_eq(p->rsa_min_bits, 2048);
	ck_assert_uint_eq(p->eku, MF_EKU_SERVER);
	ck_assert_int_eq(p->wildcard, 0);
	ck_assert_int_eq(p->must_staple, 0);
	ck_assert_uint_eq(p->ndns, 0);
	ck_assert_uint_eq(p->nip, 0);
	ck_assert_int_eq(p->default_lifetime, 24 * 3600);
	ck_assert_int_eq(p->max_lifetime, 24 * 3600);
	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(cfg->listen[0].port, 8080);
	ck_assert_uint_eq(cfg->max_connections, 1024);
	ck_assert_uint_eq(cfg->per_ip_connections, 64);
	ck_assert_int_eq(cfg->connection_timeout, 10);
	ck_assert_int_eq(cfg->request_timeout, 30);
	ck_assert_uint_eq(cfg->max_body, 65536);
	ck_assert_int_eq(cfg->ocsp_validity, 4 * 3600);
	ck_assert_int_eq(cfg->ocsp_delegated, 1);
	ck_assert_int_eq(cfg->ocsp_responder_lifetime, 4 * 86400);
	ck_assert_int_eq(cfg->crl_validity, 24 * 3600);
	ck_assert_int_eq(cfg->crl_interval, 3600);
	ck_assert_int_eq(cfg->retention, 0);
	ck_assert_int_eq(cfg->prune_expired_after, 0);
	ck_assert_int_eq(cfg->prune_interval, 3600);
	ck_assert_uint_eq(cfg->prune_batch, 1000);
	mf_config_free(cfg);
	mf_config_free(NULL);
	ck_assert_ptr_null(mf_config_profile(NULL, "server"));
	ck_assert_ptr_null(mf_config_root(NULL, "root-a"));
}
END_TEST

START_TEST(test_relative_paths)
{
	struct mf_config *cfg = NULL;
	char err[512] = "", *path, *sub;
	char want[1024];

	sub = under(tdir, "etc");
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mft_write(sub, "mayfly.yaml",
	    "database: ../var/ca.db\n"
	    "pkcs11: { module: lib/p11.so, pin-source: 'file:secret/pin' }\n"
	    "urls: { base: 'http://[::1]:8080' }\n"
	    "roots: [ { name: r, key: 'file:k/r.pem', cert: /abs/r.pem } ]\n"
	    "intermediates: [ { name: i, key: 'pkcs11:object=i', cert: i.pem,"
	    " cross: [x1.pem, /abs/x2.pem] } ]\n"), 0);
	path = under(sub, "mayfly.yaml");
	ck_assert_msg(mf_config_load(path, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	snprintf(want, sizeof(want), "%s/etc", tdir_real);
	ck_assert_str_eq(cfg->dir, want);
	snprintf(want, sizeof(want), "%s/etc/../var/ca.db", tdir_real);
	ck_assert_str_eq(cfg->database, want);
	snprintf(want, sizeof(want), "%s/etc/lib/p11.so", tdir_real);
	ck_assert_str_eq(cfg->pkcs11_module, want);
	snprintf(want, sizeof(want), "file:%s/etc/secret/pin", tdir_real);
	ck_assert_str_eq(cfg->pkcs11_pin_source, want);
	snprintf(want, sizeof(want), "file:%s/etc/k/r.pem", tdir_real);
	ck_assert_str_eq(cfg->roots[0].key, want);
	ck_assert_str_eq(cfg->roots[0].cert, "/abs/r.pem");
	ck_assert_str_eq(cfg->intermediates[0].key, "pkcs11:object=i");
	snprintf(want, sizeof(want), "%s/etc/i.pem", tdir_real);
	ck_assert_str_eq(cfg->intermediates[0].cert, want);
	snprintf(want, sizeof(want), "%s/etc/x1.pem", tdir_real);
	ck_assert_str_eq(cfg->intermediates[0].cross[0], want);
	ck_assert_str_eq(cfg->intermediates[0].cross[1], "/abs/x2.pem");
	ck_assert_str_eq(cfg->url_base, "http://[::1]:8080");
	mf_config_free(cfg);
	free(path);
	free(sub);
}
END_TEST

/* Port 0 asks the kernel for a free port (tests); mayflyd logs the one it got. */
START_TEST(test_listen_port_zero)
{
	struct mf_config *cfg = NULL;
	char *text, err[512];

	ck_assert_int_ge(asprintf(&text, "%sdaemon: { listen: ['127.0.0.1:0', '[::1]:0'] }\n",
	    base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(cfg->nlisten, 2);
	ck_assert_uint_eq(cfg->listen[0].port, 0);
	ck_assert_str_eq(cfg->listen[1].host, "::1");
	ck_assert_uint_eq(cfg->listen[1].port, 0);
	mf_config_free(cfg);
}
END_TEST

/* acme.tls-names as mayfly-acme(7) has it: a list, or one name alone; never empty. */
START_TEST(test_acme_tls_names)
{
	struct mf_config *cfg = NULL;
	char *text, err[512];

	ck_assert_int_ge(asprintf(&text, "%sacme: { tls-names: [ca.example.com, '::1'] }\n",
	    base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(cfg->acme.ntls_names, 2);
	ck_assert_str_eq(cfg->acme.tls_names[0], "ca.example.com");
	ck_assert_str_eq(cfg->acme.tls_names[1], "::1");
	mf_config_free(cfg);

	ck_assert_int_ge(asprintf(&text, "%sacme: { tls-names: ca.example.com }\n", base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(cfg->acme.ntls_names, 1);
	ck_assert_str_eq(cfg->acme.tls_names[0], "ca.example.com");
	mf_config_free(cfg);

	/* Absent: none configured, the listener falls back to localhost and host. */
	ck_assert_int_ge(asprintf(&text, "%sacme: { port: 0 }\n", base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(cfg->acme.ntls_names, 0);
	mf_config_free(cfg);

	expect_error("acme:\n  tls-names: []\n", MF_ERR_CONFIG_VALUE, "13:14");
}
END_TEST

/* acme.threads and acme.max-connections: every thread needs a connection to serve. */
START_TEST(test_acme_connections)
{
	struct mf_config *cfg;
	char err[512], *text;

	ck_assert_int_ge(asprintf(&text, "%sacme: { port: 0 }\n", base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(cfg->acme.threads, 64);
	ck_assert_uint_eq(cfg->acme.max_connections, 512);
	mf_config_free(cfg);

	ck_assert_int_ge(asprintf(&text, "%sacme: { threads: 8, max-connections: 8 }\n",
	    base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(cfg->acme.max_connections, 8);
	mf_config_free(cfg);

	/* Below threads, where it is said, or where threads is when it is not. */
	expect_error("acme:\n  threads: 8\n  max-connections: 7\n", MF_ERR_CONFIG_VALUE, "14:20");
	expect_error("acme:\n  threads: 600\n", MF_ERR_CONFIG_VALUE, "13:12");
	expect_error("acme:\n  max-connections: 0\n", MF_ERR_CONFIG_VALUE, "13:20");
}
END_TEST

START_TEST(test_hard_cap_lowered)
{
	struct mf_config *cfg = NULL;
	char err[512] = "", *text;

	ck_assert_int_ge(asprintf(&text, "%sissuance: { hard-cap: 6h, backdate: 1m }\n",
	    base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_int_eq(cfg->hard_cap, 6 * 3600);
	ck_assert_int_eq(cfg->backdate, 60);
	ck_assert_int_eq(cfg->profiles[0].max_lifetime, 6 * 3600);
	ck_assert_int_eq(cfg->profiles[0].default_lifetime, 6 * 3600);
	mf_config_free(cfg);
}
END_TEST

/*
 * daemon.retention: the block turns mayflyd's pruning on and must then say
 * after how long; interval and batch have defaults and bounds.
 */
START_TEST(test_retention)
{
	struct mf_config *cfg = NULL;
	char err[512] = "", *text;

	ck_assert_int_ge(asprintf(&text, "%sdaemon:\n  retention:\n    prune-expired-after: 90d\n",
	    base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_int_eq(cfg->retention, 1);
	ck_assert_int_eq(cfg->prune_expired_after, 90 * 86400);
	ck_assert_int_eq(cfg->prune_interval, 3600);
	ck_assert_uint_eq(cfg->prune_batch, 1000);
	mf_config_free(cfg);
	cfg = NULL;

	ck_assert_int_ge(asprintf(&text, "%sdaemon:\n  retention: { prune-expired-after: 1s,"
	    " prune-interval: 2s, prune-batch: 10000 }\n", base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_int_eq(cfg->retention, 1);
	ck_assert_int_eq(cfg->prune_expired_after, 1);
	ck_assert_int_eq(cfg->prune_interval, 2);
	ck_assert_uint_eq(cfg->prune_batch, MF_RETENTION_BATCH_MAX);
	mf_config_free(cfg);
	cfg = NULL;

	ck_assert_int_ge(asprintf(&text, "%sdaemon:\n  retention: { prune-expired-after: 100y,"
	    " prune-interval: 7d, prune-batch: 1 }\n", base_yaml), 0);
	ck_assert_msg(load_text(text, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	free(text);
	ck_assert_int_eq(cfg->prune_expired_after, MF_RETENTION_AFTER_MAX);
	ck_assert_uint_eq(cfg->prune_batch, 1);
	mf_config_free(cfg);

	/* Present without its required key, empty, or not a mapping. */
	expect_error("daemon:\n  retention: { prune-interval: 1h }\n", MF_ERR_CONFIG_MISSING,
	    "13:14");
	expect_error("daemon:\n  retention: {}\n", MF_ERR_CONFIG_MISSING, "13:14");
	expect_error("daemon:\n  retention: 90d\n", MF_ERR_CONFIG_VALUE, "13:14");
	/* Bounds, and a zero that would prune a certificate the moment it expires. */
	expect_error("daemon:\n  retention: { prune-expired-after: 0 }\n", MF_ERR_CONFIG_VALUE,
	    "13:37");
	expect_error("daemon:\n  retention: { prune-expired-after: 101y }\n",
	    MF_ERR_CONFIG_VALUE, "13:37");
	expect_error("daemon:\n  retention: { prune-expired-after: soon }\n",
	    MF_ERR_CONFIG_VALUE, "13:37");
	expect_error("daemon:\n  retention: { prune-expired-after: 1d, prune-interval: 8d }\n",
	    MF_ERR_CONFIG_VALUE, "13:57");
	expect_error("daemon:\n  retention: { prune-expired-after: 1d, prune-interval: 0s }\n",
	    MF_ERR_CONFIG_VALUE, "13:57");
	expect_error("daemon:\n  retention: { prune-expired-after: 1d, prune-batch: 0 }\n",
	    MF_ERR_CONFIG_VALUE, "13:54");
	expect_error("daemon:\n  retention: { prune-expired-after: 1d, prune-batch: 10001 }\n",
	    MF_ERR_CONFIG_VALUE, "13:54");
	/* A key it does not know, or one given twice, is refused, not ignored. */
	expect_error("daemon:\n  retention: { prune-expired-after: 1d, archive: x.pem }\n",
	    MF_ERR_CONFIG_KEY, "13:41");
	expect_error("daemon:\n  retention:\n    prune-expired-after: 1d\n"
	    "    prune-expired-after: 2d\n", MF_ERR_CONFIG_KEY, "15:5");
}
END_TEST

/* The complete example in mayfly.yaml(5) must stay a file that loads. */
START_TEST(test_man_example)
{
	struct mf_config *cfg = NULL;
	unsigned char *man = NULL;
	char err[512] = "", *path, *start, *end;
	size_t len;

	path = mft_srcpath("man/mayfly.yaml.5");
	ck_assert_int_eq(mf_file_read(path, 1 << 20, &man, &len), MF_OK);
	free(path);
	start = strstr((char *)man, "\n.SH EXAMPLE\n");
	ck_assert_ptr_nonnull(start);
	start = strstr(start, "\n.nf\n");
	ck_assert_ptr_nonnull(start);
	start += 5;
	end = strstr(start, "\n.fi\n");
	ck_assert_ptr_nonnull(end);
	end[1] = '\0';
	ck_assert_ptr_null(strchr(start, '\\'));	/* no troff escapes to undo */
	ck_assert_msg(load_text(start, &cfg, err, sizeof(err)) == MF_OK, "%s", err);
	ck_assert_uint_eq(cfg->nroots, 2);
	ck_assert_uint_eq(cfg->nprofiles, 2);
	ck_assert_int_eq(mf_config_profile(cfg, "client")->max_lifetime, 12 * 3600);
	ck_assert_int_eq(mf_config_profile(cfg, "client")->default_lifetime, 12 * 3600);
	ck_assert_uint_eq(cfg->nlisten, 2);
	mf_config_free(cfg);
	free(man);
}
END_TEST

/*
 * Every key that mayfly.yaml(5) documents is known to the parser. Each key,
 * under the section (.SS) that documents it, goes into an otherwise valid
 * file with the value "x"; the parser may refuse the value but must not
 * call the key unknown. So that this can fail, the same file with an
 * undocumented key in that section must be refused as unknown first: that
 * shows the parser reached the section at all.
 */
static const char man_keys_yaml[] =
    "database: ca.db\n"
    "urls: { base: 'http://127.0.0.1:8080' @urls@ }\n"
    "roots:\n"
    "  - { name: root-a, key: 'file:keys/root-a.pem', cert: certs/root-a.pem @roots@ }\n"
    "intermediates:\n"
    "  - { name: issuing-1, key: 'file:keys/issuing-1.pem', cert: certs/issuing-1.pem"
    " @intermediates@ }\n"
    "pkcs11: { module: /nonexistent.so, pin-source: 'env:X' @pkcs11@ }\n"
    "issuance: { @issuance@ }\n"
    "profiles: { server: { @profiles@ } }\n"
    "daemon: { ocsp: { @daemon.ocsp@ }, crl: { @daemon.crl@ },"
    " retention: { prune-expired-after: 90d @daemon.retention@ } @daemon@ }\n"
    "@top@\n"
    "@acme@\n"
    "@acme.est@\n";

/* The file above with "KEY: x" in section sec, the other placeholders empty. */
static char *
man_keys_text(const char *sec, const char *key)
{
	char *out = malloc(4096), *o = out;
	const char *p = man_keys_yaml;

	ck_assert_ptr_nonnull(out);
	while (*p != '\0') {
		const char *end;

		if (*p != '@' || (end = strchr(p + 1, '@')) == NULL) {
			*o++ = *p++;
			continue;
		}
		if ((size_t)(end - p - 1) == strlen(sec) && strncmp(p + 1, sec, strlen(sec)) == 0)
			o += sprintf(o, strcmp(sec, "top") == 0 ? "%s: x" :
			    strcmp(sec, "acme") == 0 ? "acme: { %s: x }" :
			    strcmp(sec, "acme.est") == 0 ? "acme: { est: { %s: x } }" : ", %s: x", key);
		p = end + 1;
	}
	*o = '\0';
	/* "{ , k: x }": a flow mapping may not start with a comma. */
	for (o = out; (o = strstr(o, "{ , ")) != NULL; )
		memmove(o + 2, o + 4, strlen(o + 4) + 1);
	return out;
}

/* Loads the file with KEY in SEC; 1 if the parser called KEY unknown. */
static int
man_key_unknown(const char *sec, const char *key, char *err, size_t errlen)
{
	struct mf_config *cfg = NULL;
	char *text = man_keys_text(sec, key), want[128];
	int rc;

	rc = load_text(text, &cfg, err, errlen);
	free(text);
	mf_config_free(cfg);
	snprintf(want, sizeof(want), "unknown key '%s'", key);
	return rc == MF_ERR_CONFIG_KEY && strstr(err, want) != NULL;
}

/*
 * The keys of one table of the parser (static const struct cfg_key
 * NAME[] in src/config.c), read from the source: the parser keeps them
 * to itself, and a key it knows but no page documents is what the tests
 * below must catch (acme.tls-names was one). Each entry of the table
 * starts a line with '{ "key",'. The count; at most max.
 */
static int
parser_keys(const char *table, char keys[][64], int max)
{
	char *path = mft_srcpath("src/config.c"), line[512], head[128];
	FILE *f = fopen(path, "r");
	int in = 0, n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	snprintf(head, sizeof(head), "static const struct cfg_key %s[] = {", table);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (!in) {
			in = strcmp(line, head) == 0;
			continue;
		}
		if (strcmp(line, "};") == 0)
			break;
		ck_assert_int_lt(n, max);
		if (sscanf(line, "\t{ \"%63[a-z0-9-]\",", keys[n]) == 1)
			n++;
	}
	fclose(f);
	ck_assert_msg(in, "no table %s in %s", table, path);
	free(path);
	return n;
}

/* Documented keys, "section key" each, as the man page tests find them. */
struct man_seen {
	char	key[128][80];
	int	n;
};

static void
man_seen_add(struct man_seen *s, const char *sec, const char *key)
{
	ck_assert_int_lt(s->n, 128);
	ck_assert_int_lt(snprintf(s->key[s->n++], sizeof(s->key[0]), "%s %s", sec, key),
	    sizeof(s->key[0]));
}

/* Every key of the parser's table is documented in sec (a .TP entry of its own). */
static void
man_seen_all(const struct man_seen *s, const char *page, const char *table, const char *sec)
{
	char keys[64][64], want[sizeof(s->key[0])];
	int n = parser_keys(table, keys, 64), i, j;

	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_lt(snprintf(want, sizeof(want), "%s %s", sec, keys[i]), sizeof(want));
		for (j = 0; j < s->n; j++)
			if (strcmp(s->key[j], want) == 0)
				break;
		ck_assert_msg(j < s->n, "the parser knows '%s' in %s, %s does not document it "
		    "in a .TP entry of its own", keys[i], sec, page);
	}
}

START_TEST(test_man_keys)
{
	static const char *const secs[] = { "top", "pkcs11", "urls", "roots", "intermediates",
		"issuance", "profiles", "daemon", "daemon.ocsp", "daemon.crl", "daemon.retention",
		NULL };
	/* The parser's table of each section (src/config.c). */
	static const char *const tables[] = { "cfg_top_keys", "cfg_pkcs11_keys",
		"cfg_urls_keys", "cfg_root_keys", "cfg_inter_keys", "cfg_issuance_keys",
		"cfg_profile_keys", "cfg_daemon_keys", "cfg_ocsp_keys", "cfg_crl_keys",
		"cfg_retention_keys" };
	char *path = mft_srcpath("man/mayfly.yaml.5"), line[512], prev[512] = "", sec[64] = "";
	char err[512];
	FILE *f = fopen(path, "r");
	int nkeys = 0, seen[16] = { 0 }, i;
	struct man_seen keys = { .n = 0 };

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char key[64];
		int si = -1;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".SH ", 4) == 0) {
			sec[0] = '\0';
		} else if (strncmp(line, ".SS ", 4) == 0) {
			snprintf(sec, sizeof(sec), "%.63s", strcmp(line + 4, "Top level") == 0 ?
			    "top" : line + 4);
			if (strcmp(sec, "Values") == 0) {
				sec[0] = '\0';
				continue;
			}
			for (i = 0; secs[i] != NULL; i++)
				if (strcmp(secs[i], sec) == 0)
					break;
			ck_assert_msg(secs[i] != NULL, "mayfly.yaml(5) has a section '%s' this test "
			    "does not know: add it to man_keys_yaml", sec);
		} else if (sec[0] != '\0' && strcmp(prev, ".TP") == 0 &&
		    (sscanf(line, ".BI %63[a-z0-9-]:", key) == 1 ||
		    sscanf(line, ".B %63[a-z0-9-]:", key) == 1)) {
			for (i = 0; secs[i] != NULL; i++)
				if (strcmp(secs[i], sec) == 0)
					si = i;
			if (!seen[si]) {
				ck_assert_msg(man_key_unknown(sec, "no-such-key-x", err, sizeof(err)),
				    "section %s: an unknown key is not refused as unknown (%s), so "
				    "this proves nothing", sec, err);
				seen[si] = 1;
			}
			ck_assert_msg(!man_key_unknown(sec, key, err, sizeof(err)),
			    "mayfly.yaml(5) documents '%s' in %s, the parser does not know it: %s",
			    key, sec, err);
			man_seen_add(&keys, sec, key);
			nkeys++;
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	fclose(f);
	free(path);
	/* The page documents dozens of keys; a parse of it that found few is broken. */
	ck_assert_int_ge(nkeys, 30);
	/*
	 * Documented without an entry in this page's own section: acme: has
	 * mayfly-acme(7) (test_man_keys_acme), and an intermediate's name,
	 * key and cert are "as for roots".
	 */
	man_seen_add(&keys, "top", "acme");
	man_seen_add(&keys, "intermediates", "name");
	man_seen_add(&keys, "intermediates", "key");
	man_seen_add(&keys, "intermediates", "cert");
	for (i = 0; secs[i] != NULL; i++) {
		ck_assert_msg(seen[i], "no key found in section %s of mayfly.yaml(5)", secs[i]);
		man_seen_all(&keys, "mayfly.yaml(5)", tables[i], secs[i]);
	}
}
END_TEST

/*
 * The roff arguments of a macro line after the macro name: words, or
 * "quoted" strings; at most max, each at most 127 bytes. The count.
 */
static int
roff_args(const char *line, char args[][128], int max)
{
	const char *p = strchr(line, ' ');
	int n = 0;

	while (p != NULL && *p != '\0' && n < max) {
		size_t l = 0;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++)
				if (l < 127)
					args[n][l++] = *p;
			if (*p == '"')
				p++;
		} else {
			for (; *p != '\0' && *p != ' '; p++)
				if (l < 127)
					args[n][l++] = *p;
		}
		args[n++][l] = '\0';
	}
	return n;
}

/* One key documented in mayfly-acme(7) under sec; counts it in *nkeys. */
static void
man_acme_key(const char *sec, const char *key, int *proved, int *nkeys, struct man_seen *seen)
{
	char err[512];

	if (!*proved) {
		ck_assert_msg(man_key_unknown(sec, "no-such-key-x", err, sizeof(err)),
		    "section %s: an unknown key is not refused as unknown (%s), so this proves "
		    "nothing", sec, err);
		*proved = 1;
	}
	ck_assert_msg(!man_key_unknown(sec, key, err, sizeof(err)),
	    "mayfly-acme(7) documents '%s' in %s, the parser does not know it: %s", key, sec, err);
	(*nkeys)++;
	man_seen_add(seen, sec, key);
}

/*
 * The same for the acme: section, documented in mayfly-acme(7) under
 * CONFIGURATION: each tagged paragraph (.TP) names its keys in bold, several
 * to a line (".BR host \" (...), \" port \" (...)\"), and a key that is a
 * section itself ("est:") lists its keys in the roman text after it. The
 * other way round, every key of the parser's acme and acme.est tables must
 * be among them: a key named only in the prose of another entry is not
 * documented.
 */
START_TEST(test_man_keys_acme)
{
	char *path = mft_srcpath("man/mayfly-acme.7"), line[512], prev[512] = "";
	char args[16][128];
	FILE *f = fopen(path, "r");
	int in = 0, nkeys = 0, proved_acme = 0, proved_est = 0, est = 0, n, i;
	struct man_seen seen = { .n = 0 };

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".SH ", 4) == 0)
			in = strcmp(line + 4, "CONFIGURATION") == 0;
		else if (in && strcmp(prev, ".TP") == 0 &&
		    (strncmp(line, ".B ", 3) == 0 || strncmp(line, ".BR ", 4) == 0)) {
			/* .B: every argument bold; .BR: bold and roman alternate. */
			int step = line[2] == 'R' ? 2 : 1;

			n = roff_args(line, args, 16);
			for (i = 0; i < n; i += step) {
				size_t l = strlen(args[i]);

				if (l == 0 || strspn(args[i], "abcdefghijklmnopqrstuvwxyz0123456789-:") != l)
					continue;
				if (args[i][l - 1] == ':') {
					char *k, *save = NULL;

					args[i][l - 1] = '\0';
					man_acme_key("acme", args[i], &proved_acme, &nkeys, &seen);
					if (i + 1 >= n)
						continue;
					for (k = strtok_r(args[i + 1], " ,", &save); k != NULL;
					    k = strtok_r(NULL, " ,", &save)) {
						man_acme_key("acme.est", k, &proved_est, &nkeys, &seen);
						est++;
					}
					ck_assert_str_eq(args[i], "est");
				} else {
					man_acme_key("acme", args[i], &proved_acme, &nkeys, &seen);
				}
			}
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	fclose(f);
	free(path);
	/* About thirty keys are documented; a parse of the page that found few is broken. */
	ck_assert_int_ge(nkeys, 25);
	ck_assert_int_ge(est, 4);
	man_seen_all(&seen, "mayfly-acme(7)", "cfg_acme_keys", "acme");
	man_seen_all(&seen, "mayfly-acme(7)", "cfg_est_keys", "acme.est");
}
END_TEST

/* ---- each class of error ----------------------------------------------------------- */

START_TEST(test_err_unknown_key)
{
	expect_error("databse: x.db\n", MF_ERR_CONFIG_KEY, "12:1");
	expect_error("daemon:\n  ocsp:\n    valdity: 4h\n", MF_ERR_CONFIG_KEY, "14:5");
	expect_error("profiles:\n  server:\n    max_lifetime: 1h\n", MF_ERR_CONFIG_KEY, "14:5");
	expect_error_text("database: a.db\nurls: { base: 'http://x', mirror: 'http://y' }\n",
	    MF_ERR_CONFIG_KEY, "2:27");
	/* cross belongs to intermediates only */
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\nroots:\n"
	    "  - { name: r, key: 'file:r', cert: r.pem, cross: [c.pem] }\n",
	    MF_ERR_CONFIG_KEY, "4:44");
}
END_TEST

START_TEST(test_err_duplicate_key)
{
	expect_error("database: other.db\n", MF_ERR_CONFIG_KEY, "12:1");
	expect_error("issuance:\n  hard-cap: 1h\n  hard-cap: 2h\n", MF_ERR_CONFIG_KEY, "14:3");
	expect_error("profiles:\n  a: {}\n  a: {}\n", MF_ERR_CONFIG_KEY, "14:3");
}
END_TEST

START_TEST(test_err_bad_value)
{
	/* Line 12 is the first line after base_yaml. */
	expect_error("issuance:\n  hard-cap: 25h\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("issuance:\n  hard-cap: 24x\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("issuance:\n  backdate: 6m\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("issuance:\n  active: issuing-9\n", MF_ERR_CONFIG_VALUE, "13:11");
	expect_error("profiles:\n  s:\n    max-lifetime: 25h\n", MF_ERR_CONFIG_VALUE, "14:19");
	expect_error("issuance: { hard-cap: 12h }\nprofiles:\n  s:\n    max-lifetime: 13h\n",
	    MF_ERR_CONFIG_VALUE, "15:19");
	expect_error("profiles:\n  s:\n    max-lifetime: 2h\n    default-lifetime: 3h\n",
	    MF_ERR_CONFIG_VALUE, "15:23");
	expect_error("profiles:\n  s: { rsa-min-bits: 1024 }\n", MF_ERR_CONFIG_VALUE, "13:22");
	expect_error("profiles:\n  s: { key-types: [rsa, dsa] }\n", MF_ERR_CONFIG_VALUE, "13:25");
	expect_error("profiles:\n  s: { eku: [code-signing] }\n", MF_ERR_CONFIG_VALUE, "13:14");
	expect_error("profiles:\n  s: { eku: [] }\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("profiles:\n  s: { wildcard: maybe }\n", MF_ERR_CONFIG_VALUE, "13:18");
	expect_error("profiles:\n  s: { dns: ['*.example.com'] }\n", MF_ERR_CONFIG_VALUE,
	    "13:14");
	expect_error("profiles:\n  s: { dns: [example.com.] }\n", MF_ERR_CONFIG_VALUE, "13:14");
	expect_error("profiles:\n  s: { ip: [10.0.0.1/8] }\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("profiles:\n  s: { ip: ['2001:db8::1/32'] }\n", MF_ERR_CONFIG_VALUE,
	    "13:13");
	expect_error("profiles:\n  s: { ip: [10.0.0.0/33] }\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("profiles:\n  s: { ip: [10.0.0.0] }\n", MF_ERR_CONFIG_VALUE, "13:13");
	expect_error("daemon: { listen: ['::1:8080'] }\n", MF_ERR_CONFIG_VALUE, "12:20");
	expect_error("daemon: { listen: ['127.0.0.1:70000'] }\n", MF_ERR_CONFIG_VALUE, "12:20");
	expect_error("daemon: { listen: ['[::1]'] }\n", MF_ERR_CONFIG_VALUE, "12:20");
	expect_error("daemon: { listen: ['127.0.0.1:'] }\n", MF_ERR_CONFIG_VALUE, "12:20");
	expect_error("daemon: { listen: ['127.0.0.1:-1'] }\n", MF_ERR_CONFIG_VALUE, "12:20");
	expect_error("daemon: { threads: -1 }\n", MF_ERR_CONFIG_VALUE, "12:20");
	expect_error("daemon: { max-body: 10M }\n", MF_ERR_CONFIG_VALUE, "12:21");
	expect_error("daemon:\n  ocsp: { signer: myself }\n", MF_ERR_CONFIG_VALUE, "13:19");
	expect_error("daemon:\n  ocsp: { validity: 5d }\n", MF_ERR_CONFIG_VALUE, "13:21");
	expect_error("daemon:\n  crl: { interval: 2d }\n", MF_ERR_CONFIG_VALUE, "13:20");
	/* Wrong types: a list where a value belongs, a value where a list of CAs belongs. */
	expect_error_text("database: [a.db, b.db]\n", MF_ERR_CONFIG_VALUE, "1:11");
	expect_error_text("database: a.db\nurls: { base: 'ftp://x' }\n", MF_ERR_CONFIG_VALUE,
	    "2:15");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\nroots: root-a\n",
	    MF_ERR_CONFIG_VALUE, "3:8");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\npkcs11:\n"
	    "  module: /m.so\n  pin-source: '1234'\n", MF_ERR_CONFIG_VALUE, "5:15");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\nroots:\n"
	    "  - { name: r, key: '/k.pem', cert: r.pem }\n", MF_ERR_CONFIG_VALUE, "4:21");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\nroots:\n"
	    "  - { name: 'r/../x', key: 'file:k', cert: r.pem }\n", MF_ERR_CONFIG_VALUE, "4:13");
	expect_error_text("database:\n", MF_ERR_CONFIG_VALUE, "1:10");
}
END_TEST

START_TEST(test_err_cross_refs)
{
	/* An intermediate naming a root that is not there; a CA name used twice. */
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\n"
	    "roots: [ { name: r, key: 'file:k', cert: r.pem } ]\n"
	    "intermediates:\n  - { name: i, root: q, key: 'file:k', cert: i.pem }\n",
	    MF_ERR_CONFIG_VALUE, "5:22");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\n"
	    "roots: [ { name: r, key: 'file:k', cert: r.pem } ]\n"
	    "intermediates:\n  - { name: r, key: 'file:k', cert: i.pem }\n",
	    MF_ERR_CONFIG_VALUE, "5:13");
}
END_TEST

START_TEST(test_err_missing)
{
	expect_error_text("urls: { base: 'http://x' }\n", MF_ERR_CONFIG_MISSING, "1:1");
	expect_error_text("database: a.db\n", MF_ERR_CONFIG_MISSING, "1:1");
	expect_error_text("database: a.db\nurls: {}\n", MF_ERR_CONFIG_MISSING, "2:7");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\n",
	    MF_ERR_CONFIG_MISSING, "1:1");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\nroots: []\n",
	    MF_ERR_CONFIG_MISSING, "3:8");
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\n"
	    "roots: [ { name: r, key: 'file:k', cert: r.pem } ]\n", MF_ERR_CONFIG_MISSING, "1:1");
	/* A root without its certificate: the message points at that root. */
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\nroots:\n"
	    "  - name: r\n    key: 'file:k'\n", MF_ERR_CONFIG_MISSING, "4:5");
	/* pkcs11: keys need the pkcs11 section */
	expect_error_text("database: a.db\nurls: { base: 'http://x' }\n"
	    "roots: [ { name: r, key: 'pkcs11:object=r', cert: r.pem } ]\n"
	    "intermediates: [ { name: i, key: 'file:k', cert: i.pem } ]\n",
	    MF_ERR_CONFIG_MISSING, "1:1");
	expect_error_text("", MF_ERR_CONFIG_MISSING, "");
}
END_TEST

START_TEST(test_err_not_yaml)
{
	struct mf_config *cfg = NULL;
	char err[512], *path;

	expect_error_text("database: a.db\nroots: [ {name: r\n", MF_ERR_CONFIG, "3:1");
	expect_error_text("- just\n- a list\n", MF_ERR_CONFIG_VALUE, "1:1");
	expect_error_text("database: a.db\n---\ndatabase: b.db\n", MF_ERR_CONFIG, "");
	path = under(tdir, "absent.yaml");
	ck_assert_int_eq(mf_config_load(path, &cfg, err, sizeof(err)), MF_ERR_CONFIG);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(err, "absent.yaml"));
	free(path);
}
END_TEST

Suite *
suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_hard_cap_lowered);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_listen_port_zero);
	tcase_add_test(tc, test_acme_tls_names);
	tcase_add_test(tc, test_acme_connections);
	tcase_add_test(tc, test_man_keys);
	tcase_add_test(tc, test_man_keys_acme);
	tcase_add_test(tc, test_man_example);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_err_unknown_key);
	tcase_add_test(tc, test_err_duplicate_key);
	tcase_add_test(tc, test_err_bad_value);
	tcase_add_test(tc, test_err_cross_refs);
	tcase_add_test(tc, test_err_missing);
	tcase_add_test(tc, test_err_not_yaml);
	suite_add_tcase(s, tc);
	return s;
}
