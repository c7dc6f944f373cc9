/*
 * cli.h: what the subcommands of the `mayfly` admin CLI share.
 *
 * Exit codes (documented in mayfly(1)):
 *   0 success, 1 refused by policy, not found or already done, 2 usage error,
 *   3 configuration error, 4 key or HSM error, 5 database error,
 *   6 audit chain broken, 7 other failure.
 */
#ifndef MF_CLI_H
#define MF_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "config.h"
#include "db.h"
#include "keystore.h"

#define MF_EXIT_OK	0
#define MF_EXIT_REFUSED	1
#define MF_EXIT_USAGE	2
#define MF_EXIT_CONFIG	3
#define MF_EXIT_KEY	4
#define MF_EXIT_DB	5
#define MF_EXIT_AUDIT	6
#define MF_EXIT_OTHER	7

/* What a subcommand asks mf_cli_open() to prepare. */
#define MF_NEED_KEYS	0x1
#define MF_NEED_DB	0x2	/* the existing log, to change it (records the config) */
#define MF_NEED_DB_RO	0x4	/* the existing log, read-only: writes nothing, works on a copy */
#define MF_NEED_DB_NEW	0x8	/* create the log (mayfly init only) */

struct mf_cli {
	const char *cmd;		/* "issue", "root init", ... for messages */
	const char *config_path;
	struct mf_config *cfg;
	struct mf_keystore *ks;
	struct mf_db *db;
	char actor[64];			/* "cli:USER" for the audit log */
};

/* Maps an mferr code to the CLI exit code above. */
int mf_cli_exit(int err);

/*
 * Prints "mayfly: CMD: NAME: detail" on stderr (NAME from mf_errname, plus
 * any OpenSSL errors queued) and returns the exit code for err.
 */
int mf_cli_fail(const struct mf_cli *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* RFC 5280 reason codes by name (case-insensitive) and back; -1 / "unknown". */
int mf_cli_reason(const char *name);
const char *mf_cli_reason_name(int code);

/* Prints a usage error for the subcommand; returns MF_EXIT_USAGE. */
int mf_cli_usage(const struct mf_cli *c, const char *usage);

/*
 * A --key-type argument (ec-p256, rsa3072, ... as mf_keytype_parse knows
 * them) into *keytype, the int that mf_cli_make_root and
 * mf_cli_make_intermediate take. An unknown name is reported once, the
 * same way for every subcommand: returns the exit code mf_cli_fail gives,
 * else MF_EXIT_OK.
 */
int mf_cli_keytype_opt(const struct mf_cli *c, const char *s, int *keytype);

/* Loads the config and opens what need asks for; prints and returns an exit code on failure. */
int mf_cli_open(struct mf_cli *c, int need);
void mf_cli_close(struct mf_cli *c);

/* Writes a certificate as PEM to path (0644) or stdout if path is NULL. */
int mf_cli_write_pem(const char *path, X509 *const *certs, size_t n, int excl);

/*
 * The ceremony steps shared by `mayfly init` and the root/intermediate
 * subcommands. Each generates (or, with keytype 0, loads) the key at the
 * configured URI, builds and signs the certificate, writes it to the
 * configured path (refusing to overwrite) and records it in the database
 * with a "ceremony" audit row. On failure *what names the failing step.
 */
int mf_cli_make_root(struct mf_cli *c, const struct mf_ca_conf *root, int keytype,
    const char *subject, int64_t lifetime, const char **permit, size_t npermit,
    const char **what);
int mf_cli_make_intermediate(struct mf_cli *c, const struct mf_ca_conf *ic,
    const struct mf_ca_conf *root, int keytype, const char *subject, int64_t lifetime,
    const char **what);
int mf_cli_cross_sign(struct mf_cli *c, const struct mf_ca_conf *ic,
    const struct mf_ca_conf *other, const char *out, int64_t lifetime, const char **what);
/*
 * Loads a CA's certificate and (if key is not NULL) its key, checking that
 * they match (MF_ERR_CA_MISMATCH). On failure *what names the culprit.
 */
int mf_cli_load_ca(struct mf_cli *c, const struct mf_ca_conf *ca, X509 **cert, EVP_PKEY **key,
    const char **what);

/*
 * The trust-bundle steps (cli_bundle.c), shared by `mayfly init` (which
 * makes, signs and publishes the factory bundle) and `mayfly bundle`. Each
 * audits what it did. mf_cli_bundle_make: an unsigned bundle listing the
 * configured roots named in names; mf_cli_bundle_sign_root: one root's
 * signature; mf_cli_bundle_publish: the checks a device would make against
 * the published version, then the record. der/len is the encoded bundle.
 */
struct mf_bundle;
int mf_cli_bundle_make(struct mf_cli *c, uint32_t version, const char *const *names,
    size_t n, uint32_t threshold, int64_t not_after, struct mf_bundle **out,
    const char **what);
int mf_cli_bundle_sign_root(struct mf_cli *c, struct mf_bundle *b, const char *root,
    const char **what);
int mf_cli_bundle_publish(struct mf_cli *c, const unsigned char *der, size_t len,
    char *why, size_t whylen);

/* Subcommands; argv[0] is the subcommand's own name. */
int mf_cli_init(struct mf_cli *c, int argc, char **argv);
int mf_cli_root(struct mf_cli *c, int argc, char **argv);
int mf_cli_intermediate(struct mf_cli *c, int argc, char **argv);
int mf_cli_issue(struct mf_cli *c, int argc, char **argv);
int mf_cli_revoke(struct mf_cli *c, int argc, char **argv);
int mf_cli_list(struct mf_cli *c, int argc, char **argv);
int mf_cli_show(struct mf_cli *c, int argc, char **argv);
int mf_cli_audit(struct mf_cli *c, int argc, char **argv);
int mf_cli_crl(struct mf_cli *c, int argc, char **argv);
int mf_cli_acme(struct mf_cli *c, int argc, char **argv);
int mf_cli_db(struct mf_cli *c, int argc, char **argv);
int mf_cli_bundle(struct mf_cli *c, int argc, char **argv);
/* cli_rotate.c: `root retire` and `intermediate rotate` (argv[0] is "retire"/"rotate"). */
int mf_cli_root_retire_cmd(struct mf_cli *c, int argc, char **argv);
int mf_cli_int_rotate_cmd(struct mf_cli *c, int argc, char **argv);

#endif
