/*
 * check_cli.c: the admin CLI end to end. Each test runs the built `mayfly`
 * binary against a fresh set-up in a temporary directory, with file keys or
 * a real SoftHSM2 token, and checks what it produced with the real openssl
 * and GnuTLS command-line verifiers.
 */
#include "mf_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "fixtures.h"
#include "suites.h"
#include "util.h"

struct cli_env {
	char *dir;		/* temporary directory, removed at the end */
	char *ca;		/* dir/ca: the set-up */
	char *mayfly;		/* the binary under test */
};

/* Runs a shell command built from fmt in the test's directory, stdout+stderr into *out. */
static int
sh(struct cli_env *e, char **out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
sh(struct cli_env *e, char **out, const char *fmt, ...)
{
	char *cmd = NULL, *full = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(rc, 0);
	rc = asprintf(&full, "cd '%s' && M='%s' && C='%s/mayfly.yaml' && export SOFTHSM2_CONF='%s/softhsm2.conf' && (%s) 2>&1",
	    e->dir, e->mayfly, e->ca, e->ca, cmd);
	ck_assert_int_ge(rc, 0);
	rc = mft_run(full, out);
	free(cmd);
	free(full);
	return rc;
}

static void
env_setup(struct cli_env *e, const char *keys)
{
	char *out = NULL;
	int rc;

	memset(e, 0, sizeof(*e));
	e->dir = mft_tmpdir();
	ck_assert_ptr_nonnull(e->dir);
	e->ca = mf_path_join(e->dir, "ca");
	e->mayfly = mft_buildpath("mayfly");
	rc = sh(e, &out, "$M init --dir ca --keys %s --port 18080", keys);
	ck_assert_msg(rc == 0, "init failed (%d): %s", rc, out);
	free(out);
	/* A server key and CSR for localhost, as a web server would make them. */
	rc = sh(e, &out, "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout srv.key -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -out srv.csr");
	ck_assert_msg(rc == 0, "openssl req: %s", out);
	free(out);
}

static void
env_teardown(struct cli_env *e)
{
	mft_rmtree(e->dir);
	free(e->dir);
	free(e->ca);
	free(e->mayfly);
}

/* The serial of a PEM certificate file, lower-case hex as mayfly prints it. */
static char *
serial_of(struct cli_env *e, const char *file)
{
	char *out = NULL, *s;
	int rc = sh(e, &out, "openssl x509 -in %s -noout -serial | cut -d= -f2 | tr A-F a-f | "
	    "sed 's/^0*//'", file);

	ck_assert_int_eq(rc, 0);
	s = out;
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void
issue_and_verify(struct cli_env *e)
{
	char *out = NULL;
	int rc;

	rc = sh(e, &out, "$M -c $C issue --csr srv.csr --out srv.pem");
	ck_assert_msg(rc == 0, "issue: %s", out);
	free(out);
	/* The leaf as a web server would use it, against the primary root. */
	rc = sh(e, &out, "openssl verify -x509_strict -purpose sslserver -CAfile ca/certs/root-a.pem "
	    "-untrusted ca/certs/issuing-1.pem srv.pem");
	ck_assert_msg(rc == 0, "openssl verify (root-a): %s", out);
	free(out);
	/* ... and through the cross-signed intermediate, against the backup root. */
	rc = sh(e, &out, "openssl verify -x509_strict -purpose sslserver -CAfile ca/certs/root-b.pem "
	    "-untrusted ca/certs/issuing-1.root-b.pem srv.pem");
	ck_assert_msg(rc == 0, "openssl verify (root-b): %s", out);
	free(out);
	/* GnuTLS walks the chain too: leaf, intermediate, root in one file. */
	rc = sh(e, &out, "openssl x509 -in srv.pem > chain.pem && cat ca/certs/issuing-1.pem "
	    "ca/certs/root-a.pem >> chain.pem && certtool --verify-chain --infile chain.pem");
	ck_assert_msg(rc == 0, "certtool --verify-chain: %s", out);
	free(out);
	/* 24 hours exactly: notAfter - notBefore. */
	rc = sh(e, &out, "nb=$(date -d \"$(openssl x509 -in srv.pem -noout -startdate | cut -d= -f2)\" +%%s); "
	    "na=$(date -d \"$(openssl x509 -in srv.pem -noout -enddate | cut -d= -f2)\" +%%s); "
	    "test $((na - nb)) -le 86400 && test $((na - nb)) -gt 86000");
	ck_assert_msg(rc == 0, "lifetime not within 24h: %s", out);
	free(out);
}

START_TEST(init_issue_file_keys)
{
	struct cli_env e;
	struct stat st;
	char *p, *out = NULL;
	int rc;

	env_setup(&e, "file");
	p = mf_path_join(e.ca, "keys/root-a.pem");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(p);
	issue_and_verify(&e);
	/* A second init on the same directory refuses and changes nothing. */
	rc = sh(&e, &out, "cp ca/certs/root-a.pem before.pem && $M init --dir ca --keys file; "
	    "echo rc=$?; cmp before.pem ca/certs/root-a.pem && echo same");
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(out, "already-initialised"));
	ck_assert_ptr_nonnull(strstr(out, "rc=1"));
	ck_assert_ptr_nonnull(strstr(out, "same"));
	free(out);
	env_teardown(&e);
}
END_TEST

START_TEST(init_issue_softhsm)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "softhsm");
	/* No key files: the keys are objects in the token, private and not extractable. */
	rc = sh(&e, &out, "test ! -e ca/keys/root-a.pem && pkcs11-tool --module " MF_SOFTHSM_MODULE
	    " --token-label mayfly-main --login --pin \"$(cat ca/hsm.pin)\" --list-objects --type privkey");
	ck_assert_msg(rc == 0, "pkcs11-tool: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "label:      root-a"));
	ck_assert_ptr_nonnull(strstr(out, "label:      issuing-1"));
	ck_assert_ptr_null(strstr(out, "label:      root-b"));	/* kept apart */
	free(out);
	rc = sh(&e, &out, "pkcs11-tool --module " MF_SOFTHSM_MODULE " --token-label mayfly-backup "
	    "--login --pin \"$(cat ca/hsm.pin)\" --list-objects --type privkey");
	ck_assert_msg(rc == 0 && strstr(out, "label:      root-b") != NULL, "backup token: %s", out);
	ck_assert_msg(strstr(out, "label:      root-c") == NULL, "backup token: %s", out);
	free(out);
	/* The second backup root has a token of its own. */
	rc = sh(&e, &out, "pkcs11-tool --module " MF_SOFTHSM_MODULE " --token-label mayfly-root-c "
	    "--login --pin \"$(cat ca/hsm.pin)\" --list-objects --type privkey");
	ck_assert_msg(rc == 0 && strstr(out, "label:      root-c") != NULL &&
	    strstr(out, "label:      root-b") == NULL && strstr(out, "label:      root-a") == NULL,
	    "third token: %s", out);
	free(out);
	/* The factory trust state: bundle 1 lists the three roots, threshold 2,
	 * signed by each, published. */
	rc = sh(&e, &out, "$M -c $C bundle export --format der --out v1.der && "
	    "$M -c $C bundle show v1.der");
	ck_assert_msg(rc == 0, "bundle show: %s", out);
	ck_assert_msg(strstr(out, "version      1\n") != NULL && strstr(out, "threshold    2 ") != NULL &&
	    strstr(out, " root-a\n") != NULL && strstr(out, " root-b\n") != NULL &&
	    strstr(out, " root-c\n") != NULL, "factory bundle: %s", out);
	ck_assert_msg(strstr(out, "root-a /O=mayfly/CN=mayfly demo root A: valid") != NULL &&
	    strstr(out, "root-c /O=mayfly/CN=mayfly demo root C: valid") != NULL, "signatures: %s", out);
	free(out);
	issue_and_verify(&e);
	env_teardown(&e);
}
END_TEST

START_TEST(lifetime_cap_refused)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --lifetime 25h --out long.pem");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "lifetime-above-cap") != NULL, "wrong refusal: %s", out);
	free(out);
	/* Nothing written, nothing logged. */
	rc = sh(&e, &out, "test ! -e long.pem && test $($M -c $C list | wc -l) -eq 1");
	ck_assert_msg(rc == 0, "a refused request left traces: %s", out);
	free(out);
	/* A name outside the profile is refused by name too. */
	rc = sh(&e, &out, "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout o.key -subj /CN=evil.example.org -addext subjectAltName=DNS:evil.example.org "
	    "-out o.csr 2>/dev/null && $M -c $C issue --csr o.csr");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "name-not-allowed") != NULL, "wrong refusal: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --lifetime 12x");
	ck_assert_int_eq(rc, 3);
	ck_assert_ptr_nonnull(strstr(out, "bad-duration"));
	free(out);
	env_teardown(&e);
}
END_TEST

START_TEST(revoke_list_show)
{
	struct cli_env e;
	char *out = NULL, *serial;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out srv.pem");
	ck_assert_msg(rc == 0, "issue: %s", out);
	free(out);
	serial = serial_of(&e, "srv.pem");
	rc = sh(&e, &out, "$M -c $C list --valid");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, serial) != NULL, "serial %s not listed: %s", serial, out);
	free(out);
	rc = sh(&e, &out, "$M -c $C show %s", serial);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(out, "state: valid"));
	ck_assert_ptr_nonnull(strstr(out, "DNS:localhost"));
	free(out);
	rc = sh(&e, &out, "$M -c $C revoke %s --reason keyCompromise", serial);
	ck_assert_msg(rc == 0, "revoke: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C list --revoked");
	ck_assert_msg(rc == 0 && strstr(out, serial) != NULL, "not in --revoked: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C list --valid");
	ck_assert_msg(rc == 0 && strstr(out, serial) == NULL, "still in --valid: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C revoke %s", serial);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "already-revoked"));
	free(out);
	rc = sh(&e, &out, "$M -c $C revoke 0123456789abcdef");
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "not-found"));
	free(out);
	rc = sh(&e, &out, "$M -c $C revoke %s --reason because", serial);
	ck_assert_int_eq(rc, 2);
	free(out);
	env_teardown(&e);
}
END_TEST

/* `mayfly acme eab`: a key shown once, listed without its bytes, removed once, audited. */
START_TEST(acme_eab_keys)
{
	struct cli_env e;
	char *out = NULL, kid[64], key[64], *p;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C acme eab add --label 'customer 7'");
	ck_assert_msg(rc == 0, "eab add: %s", out);
	ck_assert_int_eq(sscanf(out, "kid: %63s\nhmac-key: %63s", kid, key), 2);
	ck_assert_int_eq(strlen(kid), MF_EAB_KID_LEN);
	ck_assert_int_eq(strlen(key), 43);	/* 32 octets, base64url without padding */
	free(out);
	rc = sh(&e, &out, "$M -c $C acme eab list");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg((p = strstr(out, kid)) != NULL, "kid not listed: %s", out);
	ck_assert_ptr_nonnull(strstr(p, "live"));
	ck_assert_ptr_nonnull(strstr(p, "label=\"customer 7\""));
	ck_assert_ptr_null(strstr(out, key));
	free(out);
	/* Neither the database's audit rows nor anything else printed holds the key. */
	rc = sh(&e, &out, "sqlite3 ca/mayfly.db \"SELECT event, detail FROM audit_log\"");
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(out, "eab-add|kid="));
	ck_assert_ptr_null(strstr(out, key));
	free(out);
	rc = sh(&e, &out, "$M -c $C acme eab remove %s", kid);
	ck_assert_msg(rc == 0, "eab remove: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C acme eab remove %s", kid);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "not-found"));
	free(out);
	rc = sh(&e, &out, "$M -c $C acme eab list");
	ck_assert_msg(rc == 0 && strstr(out, "removed") != NULL, "not shown removed: %s", out);
	free(out);
	/* Bad input changes nothing. */
	rc = sh(&e, &out, "$M -c $C acme eab add --label 'say \"hi\"'");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "$M -c $C acme eab remove nothex");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "$M -c $C acme eab frobnicate");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "sqlite3 ca/mayfly.db \"SELECT count(*) FROM acme_eab_keys\"");
	ck_assert_msg(rc == 0 && atoi(out) == 1, "keys: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C audit verify");
	ck_assert_msg(rc == 0, "audit verify: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * A head recorded outside the database catches what the chain cannot: rows
 * cut off its end (the chain up to the new end still holds) and a chain
 * rewritten from some row on.
 */
START_TEST(audit_recorded_head)
{
	struct cli_env e;
	char *out = NULL, head[128], *p;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out a.pem && $M -c $C audit verify");
	ck_assert_msg(rc == 0, "issue/verify: %s", out);
	ck_assert_msg((p = strstr(out, "head: ")) != NULL, "no head printed: %s", out);
	ck_assert_int_eq(sscanf(p, "head: %127s", head), 1);
	free(out);
	/* Later rows do not disturb the recorded one. */
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out b.pem && "
	    "$M -c $C audit verify --head %s", head);
	ck_assert_msg(rc == 0 && strstr(out, "matches") != NULL, "recorded head refused: %s", out);
	free(out);
	/* Cut the log back to before the recorded head (triggers dropped first). */
	rc = sh(&e, &out, "for t in $(sqlite3 ca/mayfly.db \"SELECT name FROM sqlite_master WHERE "
	    "type='trigger' AND tbl_name='audit_log'\"); do sqlite3 ca/mayfly.db \"DROP TRIGGER $t\"; done; "
	    "sqlite3 ca/mayfly.db \"DELETE FROM audit_log WHERE id >= %.*s\"",
	    (int)strcspn(head, ":"), head);
	ck_assert_msg(rc == 0, "cut: %s", out);
	free(out);
	/*
	 * The chain alone still holds, but its issue rows no longer answer
	 * the certificates in the log...
	 */
	rc = sh(&e, &out, "$M -c $C audit verify");
	ck_assert_int_eq(rc, 6);
	ck_assert_msg(strstr(out, "has no issue row in the audit chain") != NULL,
	    "cut not caught through the certificates: %s", out);
	free(out);
	/* ...the recorded head does not. */
	rc = sh(&e, &out, "$M -c $C audit verify --head %s", head);
	ck_assert_int_eq(rc, 6);
	ck_assert_msg(strstr(out, "the log was cut") != NULL, "cut not named: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C audit verify --head 1:00");
	ck_assert_int_eq(rc, 2);
	free(out);
	env_teardown(&e);
}
END_TEST

START_TEST(audit_catches_edit)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out a.pem && $M -c $C issue --csr srv.csr --out b.pem");
	ck_assert_msg(rc == 0, "issue: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C audit verify");
	ck_assert_msg(rc == 0, "intact log refused: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "intact"));
	free(out);
	/* An operator with write access to the file edits one row (dropping the
	 * append-only triggers first): the chain check must name that row. */
	rc = sh(&e, &out, "for t in $(sqlite3 ca/mayfly.db \"SELECT name FROM sqlite_master WHERE "
	    "type='trigger' AND tbl_name='audit_log'\"); do sqlite3 ca/mayfly.db \"DROP TRIGGER $t\"; done; "
	    "sqlite3 ca/mayfly.db \"UPDATE audit_log SET actor='someone-else' WHERE id=3\"");
	ck_assert_msg(rc == 0, "tamper: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C audit verify");
	ck_assert_int_eq(rc, 6);
	ck_assert_msg(strstr(out, "audit-chain-broken") != NULL && strstr(out, "row 3") != NULL,
	    "did not name row 3: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

START_TEST(crash_between_sign_and_commit)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	/* The issuer dies right after signing, before the record is committed:
	 * the certificate must not appear anywhere. */
	rc = sh(&e, &out, "MAYFLY_FAULT=after-sign $M -c $C issue --csr srv.csr > stdout.pem; echo rc=$?");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, "rc=0") == NULL, "issue survived the fault: %s", out);
	free(out);
	rc = sh(&e, &out, "test ! -s stdout.pem && ! grep -q CERTIFICATE stdout.pem && "
	    "test $($M -c $C list | wc -l) -eq 1");
	ck_assert_msg(rc == 0, "an unlogged certificate escaped: %s", out);
	free(out);
	/* The CA still works afterwards. */
	issue_and_verify(&e);
	env_teardown(&e);
}
END_TEST

START_TEST(bad_config_named)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "sed 's/^database:/databse:/' $C > bad.yaml && $M -c bad.yaml list");
	ck_assert_int_eq(rc, 3);
	ck_assert_msg(strstr(out, "bad.yaml:") != NULL && strstr(out, "databse") != NULL,
	    "error does not name file and key: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c missing.yaml list");
	ck_assert_int_eq(rc, 3);
	free(out);
	rc = sh(&e, &out, "$M frobnicate");
	ck_assert_int_eq(rc, 2);
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * `mayfly intermediate revoke`: each root's offline CRL lists the CA
 * certificates it signed for that intermediate (root-a: issuing-1, root-b:
 * its cross-certificate), and openssl refuses the intermediate with it.
 */
START_TEST(intermediate_revoke_crl)
{
	struct cli_env e;
	char *out = NULL, *sa, *sb;
	int rc;

	env_setup(&e, "file");
	sa = serial_of(&e, "ca/certs/issuing-1.pem");
	sb = serial_of(&e, "ca/certs/issuing-1.root-b.pem");
	rc = sh(&e, &out, "$M -c $C crl root --name root-a && openssl crl -inform DER "
	    "-in ca/crl/root-a.crl -out a0.pem && openssl verify -crl_check -CAfile "
	    "ca/certs/root-a.pem -CRLfile a0.pem ca/certs/issuing-1.pem");
	ck_assert_msg(rc == 0, "before: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C intermediate revoke issuing-1 --reason keyCompromise");
	ck_assert_msg(rc == 0 && strstr(out, "revoked 2 certificates") != NULL, "revoke: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C crl root --name root-a && $M -c $C crl root --name root-b && "
	    "openssl crl -inform DER -in ca/crl/root-a.crl -CAfile ca/certs/root-a.pem -noout "
	    "-text | tr A-F a-f && echo ---- && openssl crl -inform DER -in ca/crl/root-b.crl "
	    "-CAfile ca/certs/root-b.pem -noout -text | tr A-F a-f");
	ck_assert_msg(rc == 0, "crl root: %s", out);
	ck_assert_msg(strstr(out, sa) != NULL && strstr(out, sa) < strstr(out, "----"),
	    "root-a's CRL lacks %s: %s", sa, out);
	ck_assert_msg(strstr(out, sb) != NULL && strstr(out, sb) > strstr(out, "----"),
	    "root-b's CRL lacks %s: %s", sb, out);
	ck_assert_ptr_nonnull(strstr(out, "Key compromise"));	/* after tr A-F a-f */
	free(out);
	rc = sh(&e, &out, "openssl crl -inform DER -in ca/crl/root-a.crl -out a1.pem && "
	    "openssl verify -crl_check -CAfile ca/certs/root-a.pem -CRLfile a1.pem "
	    "ca/certs/issuing-1.pem");
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(out, "certificate revoked") != NULL, "not refused as revoked: %s", out);
	free(out);
	/* Fail closed: no leaf goes out under the revoked intermediate, none is logged. */
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out srv.pem");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "ca-revoked") != NULL, "not refused as ca-revoked: %s", out);
	free(out);
	rc = sh(&e, &out, "test ! -s srv.pem && sqlite3 ca/mayfly.db "
	    "\"SELECT count(*) FROM certificates\"");
	ck_assert_msg(rc == 0 && atoi(out) == 0, "a leaf went out or was logged: %s", out);
	free(out);
	/* Twice, an unknown name, an unknown reason: refused, nothing changes. */
	rc = sh(&e, &out, "$M -c $C intermediate revoke issuing-1");
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "already-revoked"));
	free(out);
	rc = sh(&e, &out, "$M -c $C intermediate revoke nosuch");
	ck_assert_int_eq(rc, 1);
	free(out);
	rc = sh(&e, &out, "$M -c $C intermediate revoke issuing-1 --reason because");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "sqlite3 ca/mayfly.db \"SELECT count(*) FROM ca_revocations\" && "
	    "$M -c $C audit verify");
	ck_assert_msg(rc == 0 && atoi(out) == 2, "revocations/audit: %s", out);
	free(out);
	free(sa);
	free(sb);
	env_teardown(&e);
}
END_TEST

START_TEST(root_crl)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C crl root && $M -c $C crl root --validity 7d && "
	    "openssl crl -inform DER -in ca/crl/root-a.crl -CAfile ca/certs/root-a.pem -noout -text");
	ck_assert_msg(rc == 0, "crl root: %s", out);
	ck_assert_msg(strstr(out, "verify OK") != NULL, "CRL does not verify: %s", out);
	/* The number keeps counting: the second run made CRL 2. */
	ck_assert_msg(strstr(out, "CRL Number: \n                2") != NULL, "number: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C crl root --name nosuch");
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "ca-not-found"));
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * Commands that only read write nothing: `list` and `audit verify` used to
 * append a configuration row first, so they failed on a read-only or full
 * log and changed an auditor's copy. They also work on a copy that cannot
 * be written at all.
 */
START_TEST(readonly_commands_write_nothing)
{
	struct cli_env e;
	char *out = NULL, *serial;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out a.pem && $M -c $C acme eab add");
	ck_assert_msg(rc == 0, "issue: %s", out);
	free(out);
	serial = serial_of(&e, "a.pem");
	/* A changed configuration is what made the old code write. */
	rc = sh(&e, &out, "echo '# edited' >> $C && "
	    "sqlite3 ca/mayfly.db 'SELECT count(*), max(id) FROM audit_log' > before && "
	    "$M -c $C list > /dev/null && $M -c $C show %s > /dev/null && "
	    "$M -c $C audit verify > /dev/null && $M -c $C acme eab list > /dev/null && "
	    "sqlite3 ca/mayfly.db 'SELECT count(*), max(id) FROM audit_log' > after && "
	    "cmp before after", serial);
	ck_assert_msg(rc == 0, "a read-only command wrote to the log: %s", out);
	free(out);
	/* A writing command still records the new configuration. */
	rc = sh(&e, &out, "$M -c $C revoke %s && "
	    "test $(sqlite3 ca/mayfly.db \"SELECT count(*) FROM audit_log WHERE event='config'\") "
	    "-ge 2", serial);
	ck_assert_msg(rc == 0, "revoke did not record the config: %s", out);
	free(out);
	/*
	 * An auditor's copy that nobody can write: immutable where the file
	 * system allows it (root ignores modes), else read-only modes.
	 */
	rc = sh(&e, &out, "mkdir ro && sqlite3 ca/mayfly.db 'PRAGMA wal_checkpoint(TRUNCATE)' "
	    ">/dev/null && cp ca/mayfly.db ro/mayfly.db && "
	    "sed 's|^database:.*|database: %s/ro/mayfly.db|' $C > ro.yaml && "
	    "{ chattr +i ro/mayfly.db 2>/dev/null || chmod 0444 ro/mayfly.db; } && chmod 0555 ro && "
	    "$M -c ro.yaml audit verify && $M -c ro.yaml list | grep -q %s && "
	    "$M -c ro.yaml show %s | grep -q revoked; st=$?; "
	    "chattr -i ro/mayfly.db 2>/dev/null; chmod 0755 ro; exit $st", e.dir, serial, serial);
	ck_assert_msg(rc == 0, "read-only copy: %s", out);
	ck_assert_msg(strstr(out, "intact") != NULL, "no verdict: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * A mistyped database path used to create an empty log: `list` printed
 * nothing and `audit verify` said intact. Only `mayfly init` creates one.
 */
START_TEST(missing_database_refused)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "sed 's|^database:.*|database: %s/ca/mayfyl.db|' $C > typo.yaml", e.dir);
	ck_assert_int_eq(rc, 0);
	free(out);
	rc = sh(&e, &out, "$M -c typo.yaml list");
	ck_assert_int_eq(rc, 5);
	ck_assert_msg(strstr(out, "mayfyl.db") != NULL && strstr(out, "mayfly init") != NULL,
	    "error does not name the path: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c typo.yaml audit verify");
	ck_assert_int_eq(rc, 5);
	free(out);
	rc = sh(&e, &out, "$M -c typo.yaml issue --csr srv.csr --out x.pem");
	ck_assert_int_eq(rc, 5);
	free(out);
	rc = sh(&e, &out, "$M -c typo.yaml revoke 01");
	ck_assert_int_eq(rc, 5);
	free(out);
	rc = sh(&e, &out, "test ! -e ca/mayfyl.db && test ! -e x.pem");
	ck_assert_msg(rc == 0, "a log was created: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * Errors name the file and the cause: a missing intermediate certificate
 * was "ca-not-found: cannot load the issuing CA", and a log that cannot be
 * written "database: issuance failed" with no reason.
 */
START_TEST(errors_name_file_and_cause)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "mv ca/certs/issuing-1.pem moved.pem && $M -c $C issue --csr srv.csr; "
	    "st=$?; mv moved.pem ca/certs/issuing-1.pem; exit $st");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "ca/certs/issuing-1.pem: no such file") != NULL,
	    "missing file not named: %s", out);
	free(out);
	/* A log nobody may write: immutable (root ignores modes) or mode 0444. */
	rc = sh(&e, &out, "{ chattr +i ca/mayfly.db 2>/dev/null || chmod 0444 ca/mayfly.db; } && "
	    "$M -c $C issue --csr srv.csr --out x.pem; st=$?; chattr -i ca/mayfly.db 2>/dev/null; "
	    "chmod 0600 ca/mayfly.db; test ! -e x.pem || st=99; exit $st");
	ck_assert_msg(rc == 5, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "ca/mayfly.db: ") != NULL && strstr(out, "no error") == NULL,
	    "cause not named: %s", out);
	free(out);
	/* It issues again once the file can be written. */
	issue_and_verify(&e);
	env_teardown(&e);
}
END_TEST

/*
 * Retention: `db prune` drops the DER of long-expired certificates, keeps
 * the row and its hash, writes an archive first, and `audit verify` still
 * passes, checks the archive against the chain, and still catches an
 * edited or deleted certificate row.
 */
START_TEST(db_prune_archive_verify)
{
	struct cli_env e;
	char *out = NULL, *s1, *live;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --lifetime 1s --out a.pem && "
	    "$M -c $C issue --csr srv.csr --lifetime 1s --out b.pem && "
	    "$M -c $C issue --csr srv.csr --out live.pem");
	ck_assert_msg(rc == 0, "issue: %s", out);
	free(out);
	s1 = serial_of(&e, "a.pem");
	live = serial_of(&e, "live.pem");
	/* Bad arguments change nothing. */
	rc = sh(&e, &out, "$M -c $C db prune");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "$M -c $C db prune --expired-before soon");
	ck_assert_int_eq(rc, 3);
	free(out);
	rc = sh(&e, &out, "$M -c $C db prune --expired-before 1s --batch 0");
	ck_assert_int_eq(rc, 2);
	free(out);
	/* Wait (bounded) until both 1-second certificates are past the cutoff. */
	rc = sh(&e, &out, "i=0; until $M -c $C db prune --expired-before 1s --dry-run | "
	    "grep -q 'would prune 2 '; do i=$((i+1)); test $i -lt 100 || exit 1; sleep 0.2; done");
	ck_assert_msg(rc == 0, "the certificates never expired: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C db prune --expired-before 1s --batch 1 --archive arch.pem");
	ck_assert_msg(rc == 0 && strstr(out, "pruned 2 certificates") != NULL, "prune: %s", out);
	free(out);
	/* Rows stay, DER goes; the live certificate keeps its DER. */
	rc = sh(&e, &out, "$M -c $C show %s | grep -q '^der: pruned' && "
	    "$M -c $C show %s | grep -q 'BEGIN CERTIFICATE' && "
	    "test $($M -c $C list | wc -l) -eq 4 && "
	    "test $(grep -c 'BEGIN CERTIFICATE' arch.pem) -eq 2 && "
	    "test $(sqlite3 ca/mayfly.db \"SELECT count(*) FROM audit_log WHERE event='prune'\") -eq 2",
	    s1, live);
	ck_assert_msg(rc == 0, "after prune: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C audit verify --archive arch.pem");
	ck_assert_msg(rc == 0 && strstr(out, "archive matches the chain: 2") != NULL &&
	    strstr(out, "certificates match the chain: 3") != NULL, "verify: %s", out);
	free(out);
	/* A second prune finds nothing. */
	rc = sh(&e, &out, "$M -c $C db prune --expired-before 1s");
	ck_assert_msg(rc == 0 && strstr(out, "pruned 0 ") != NULL, "second prune: %s", out);
	free(out);
	/* An archive holding another certificate is refused. */
	rc = sh(&e, &out, "cat arch.pem live.pem > bad.pem && $M -c $C audit verify --archive bad.pem");
	ck_assert_int_eq(rc, 6);
	ck_assert_msg(strstr(out, "is not a pruned certificate") != NULL, "%s", out);
	free(out);
	/* An edited kept hash, then a deleted certificate row, are caught. */
	rc = sh(&e, &out, "cp ca/mayfly.db keep.db && sqlite3 ca/mayfly.db \"UPDATE certificates "
	    "SET der_sha256 = zeroblob(32) WHERE serial = '%s'\" && $M -c $C audit verify", s1);
	ck_assert_int_eq(rc, 6);
	ck_assert_msg(strstr(out, "row edited") != NULL, "%s", out);
	free(out);
	rc = sh(&e, &out, "cp keep.db ca/mayfly.db && rm -f ca/mayfly.db-wal ca/mayfly.db-shm && "
	    "sqlite3 ca/mayfly.db \"PRAGMA foreign_keys=OFF; DELETE FROM certificates "
	    "WHERE serial = '%s'\" && $M -c $C audit verify", s1);
	ck_assert_int_eq(rc, 6);
	free(out);
	rc = sh(&e, &out, "cp keep.db ca/mayfly.db && rm -f ca/mayfly.db-wal ca/mayfly.db-shm && "
	    "sqlite3 ca/mayfly.db \"UPDATE certificates SET not_after = not_after + 86400 "
	    "WHERE serial = '%s'\" && $M -c $C audit verify", live);
	ck_assert_int_eq(rc, 6);
	ck_assert_msg(strstr(out, "validity differs") != NULL, "%s", out);
	free(out);
	free(s1);
	free(live);
	env_teardown(&e);
}
END_TEST

/*
 * `db compact`: on SQLite a prune empties the DER inside its pages and the
 * file keeps its size; compact gives the space back, the chain still
 * verifies and records the compaction, and bad arguments change nothing.
 */
START_TEST(db_compact_shrinks)
{
	struct cli_env e;
	char *out = NULL;
	long long before, after;
	int rc;

	env_setup(&e, "file");
	/* 3,000 certificates, nine in ten expired: what a year's log mostly is. */
	rc = sh(&e, &out, "'%s/mayfly-mklog' $C 3000 --expired-fraction 0.9", MF_TEST_BUILDDIR);
	ck_assert_msg(rc == 0, "mklog: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C db compact extra");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "$M -c $C db compact");
	ck_assert_msg(rc == 0 && strstr(out, "compacted ") != NULL, "first compact: %s", out);
	free(out);
	rc = sh(&e, &out, "stat -c %%s ca/mayfly.db");
	ck_assert_int_eq(rc, 0);
	before = atoll(out);
	free(out);
	rc = sh(&e, &out, "$M -c $C db prune --expired-before 1s >/dev/null && "
	    "$M -c $C db compact >/dev/null && stat -c %%s ca/mayfly.db");
	ck_assert_int_eq(rc, 0);
	after = atoll(out);
	free(out);
	/* The DER is about half of a row with its audit entry and indexes. */
	ck_assert_msg(after < before * 8 / 10, "compact kept %lld of %lld bytes", after, before);
	rc = sh(&e, &out, "$M -c $C audit verify && "
	    "test $(sqlite3 ca/mayfly.db \"SELECT count(*) FROM audit_log WHERE event='db-compact'\") "
	    "-eq 2 && test ! -s ca/mayfly.db-wal");
	ck_assert_msg(rc == 0 && strstr(out, "certificates match the chain: 3000") != NULL,
	    "after compact: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

/* Shell: a certificate file's notBefore / notAfter in seconds since the epoch. */
#define NB_OF(f) "$(date -d \"$(openssl x509 -in " f " -noout -startdate | cut -d= -f2)\" +%%s)"
#define NA_OF(f) "$(date -d \"$(openssl x509 -in " f " -noout -enddate | cut -d= -f2)\" +%%s)"

/*
 * issuance.forward-horizon (issue 13): a certificate dated into the future
 * rides out a CA outage. Refused while the horizon is 0 (the default),
 * accepted within it, refused beyond it and before the backdate, still at
 * most the cap long, and logged before it is written like any other.
 */
START_TEST(forward_dated_issue)
{
	struct cli_env e;
	char *out = NULL, *serial;
	int rc;

	env_setup(&e, "file");
	/* Horizon 0: even one hour ahead is refused, by name, and leaves nothing. */
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --not-before +1h --out f.pem");
	ck_assert_msg(rc == 1, "rc %d: %s", rc, out);
	ck_assert_msg(strstr(out, "not-before-beyond-horizon") != NULL, "wrong refusal: %s", out);
	free(out);
	rc = sh(&e, &out, "test ! -e f.pem && test $($M -c $C list | wc -l) -eq 1");
	ck_assert_msg(rc == 0, "a refused request left traces: %s", out);
	free(out);

	/* A horizon above 30 days is a configuration error (exit 3), named. */
	rc = sh(&e, &out, "cp ca/mayfly.yaml far.yaml && "
	    "sed -i 's/^  backdate: 5m$/&\\n  forward-horizon: 31d/' far.yaml && "
	    "cp far.yaml ca/far.yaml && $M -c ca/far.yaml list");
	ck_assert_msg(rc == 3 && strstr(out, "forward-horizon") != NULL, "31d: %s", out);
	free(out);
	rc = sh(&e, &out, "sed -i 's/^  backdate: 5m$/&\\n  forward-horizon: 72h/' ca/mayfly.yaml && "
	    "grep -q 'forward-horizon: 72h' ca/mayfly.yaml");
	ck_assert_msg(rc == 0, "config edit: %s", out);
	free(out);

	/* +48h: notBefore is 48 hours ahead (give or take the test's own run time), 24h long. */
	rc = sh(&e, &out, "t0=$(date +%%s) && $M -c $C issue --csr srv.csr --not-before +48h "
	    "--out f48.pem && nb=" NB_OF("f48.pem") " && na=" NA_OF("f48.pem") " && "
	    "test $((nb - t0)) -ge 172800 && test $((nb - t0)) -le 172860 && "
	    "test $((na - nb)) -eq 86400");
	ck_assert_msg(rc == 0, "+48h: %s", out);
	ck_assert_msg(strstr(out, "forward-dated: valid from") != NULL, "not announced: %s", out);
	free(out);
	/* Not yet valid for openssl now; valid at notBefore, chained as usual. */
	rc = sh(&e, &out, "openssl verify -CAfile ca/certs/root-a.pem -untrusted "
	    "ca/certs/issuing-1.pem f48.pem");
	ck_assert_msg(rc != 0 && strstr(out, "not yet valid") != NULL, "valid now? %s", out);
	free(out);
	rc = sh(&e, &out, "openssl verify -attime $((" NB_OF("f48.pem") " + 60)) -CAfile "
	    "ca/certs/root-a.pem -untrusted ca/certs/issuing-1.pem f48.pem");
	ck_assert_msg(rc == 0, "not valid at its notBefore: %s", out);
	free(out);

	/* An RFC 3339 time is taken to the second. */
	rc = sh(&e, &out, "t=$(date -u -d '+60 hours' +%%Y-%%m-%%dT%%H:%%M:%%SZ) && "
	    "$M -c $C issue --csr srv.csr --not-before $t --lifetime 6h --out f60.pem && "
	    "nb=" NB_OF("f60.pem") " && na=" NA_OF("f60.pem") " && "
	    "test $nb -eq $(date -d $t +%%s) && test $((na - nb)) -eq 21600");
	ck_assert_msg(rc == 0, "RFC 3339: %s", out);
	free(out);

	/* Logged before release: listed as future, in the audit chain. */
	serial = serial_of(&e, "f48.pem");
	rc = sh(&e, &out, "$M -c $C list | grep '^%s' && $M -c $C audit verify", serial);
	ck_assert_msg(rc == 0 && strstr(out, "future") != NULL, "not logged: %s", out);
	free(out);
	free(serial);

	/* Beyond the horizon, before the backdate, above the cap: refused, nothing written. */
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --not-before +73h --out x.pem");
	ck_assert_msg(rc == 1 && strstr(out, "not-before-beyond-horizon") != NULL, "+73h: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out x.pem "
	    "--not-before $(date -u -d '+4 days' +%%Y-%%m-%%dT%%H:%%M:%%SZ)");
	ck_assert_msg(rc == 1 && strstr(out, "not-before-beyond-horizon") != NULL, "4d: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --out x.pem "
	    "--not-before $(date -u -d '-1 hour' +%%Y-%%m-%%dT%%H:%%M:%%SZ)");
	ck_assert_msg(rc == 1 && strstr(out, "not-before-in-past") != NULL, "-1h: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --not-before +48h --lifetime 25h --out x.pem");
	ck_assert_msg(rc == 1 && strstr(out, "lifetime-above-cap") != NULL, "25h: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C issue --csr srv.csr --not-before tomorrow --out x.pem");
	ck_assert_msg(rc == 2 && strstr(out, "RFC 3339") != NULL, "syntax: %s", out);
	free(out);
	rc = sh(&e, &out, "test ! -e x.pem && test $($M -c $C list | wc -l) -eq 3");
	ck_assert_msg(rc == 0, "a refused request left traces: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

/* Shell: the SHA-256 of a certificate file's SubjectPublicKeyInfo, as mayfly(1) says. */
#define SPKI_OF(f) "$(openssl x509 -in " f " -pubkey -noout | openssl pkey -pubin -outform DER " \
	"| openssl dgst -sha256 | sed 's/.*= //')"

/*
 * revoke --key: every unexpired certificate of a key at once (forward-dated
 * included, expired and other keys' left alone), each audited, the count
 * printed; no match is exit 1 and changes nothing.
 */
START_TEST(revoke_by_key)
{
	struct cli_env e;
	char *out = NULL, *other, *old;
	int rc;

	env_setup(&e, "file");
	rc = sh(&e, &out, "sed -i 's/^  backdate: 5m$/&\\n  forward-horizon: 72h/' ca/mayfly.yaml && "
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key "
	    "-subj /CN=localhost -out o.csr 2>/dev/null && "
	    "$M -c $C issue --csr srv.csr --lifetime 1s --out old.pem && "
	    "$M -c $C issue --csr srv.csr --out a.pem && $M -c $C issue --csr srv.csr --out b.pem && "
	    "$M -c $C issue --csr srv.csr --not-before +24h --out f.pem && "
	    "$M -c $C issue --csr o.csr --out other.pem");
	ck_assert_msg(rc == 0, "issue: %s", out);
	free(out);
	other = serial_of(&e, "other.pem");
	old = serial_of(&e, "old.pem");
	/* The hash two ways: from the certificate, and from the server's key. */
	rc = sh(&e, &out, "test " SPKI_OF("a.pem") " = $(openssl pkey -in srv.key -pubout "
	    "-outform DER | sha256sum | cut -c1-64)");
	ck_assert_msg(rc == 0, "hashes differ: %s", out);
	free(out);
	/* Bounded wait until the 1-second certificate is expired. */
	rc = sh(&e, &out, "i=0; until $M -c $C list --expired | grep -q %s; do i=$((i+1)); "
	    "test $i -lt 100 || exit 1; sleep 0.2; done", old);
	ck_assert_msg(rc == 0, "never expired: %s", out);
	free(out);

	/* Bad arguments and an unknown key change nothing. */
	rc = sh(&e, &out, "$M -c $C revoke --key 1234");
	ck_assert_msg(rc == 2 && strstr(out, "64 hex digits") != NULL, "short: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C revoke --key " SPKI_OF("a.pem") " 1234");
	ck_assert_int_eq(rc, 2);
	free(out);
	rc = sh(&e, &out, "$M -c $C revoke --key $(echo x | sha256sum | cut -c1-64)");
	ck_assert_msg(rc == 1 && strstr(out, "no unexpired") != NULL, "unknown: %s", out);
	free(out);
	rc = sh(&e, &out, "test $($M -c $C list --revoked | wc -l) -eq 1");
	ck_assert_msg(rc == 0, "something was revoked: %s", out);
	free(out);

	/* Upper case with colons, as openssl dgst -c writes it. */
	rc = sh(&e, &out, "$M -c $C revoke --reason keyCompromise --key "
	    "$(openssl x509 -in a.pem -pubkey -noout | openssl pkey -pubin -outform DER | "
	    "openssl dgst -sha256 -c | sed 's/.*= //' | tr a-f A-F)");
	ck_assert_msg(rc == 0, "revoke --key: %s", out);
	ck_assert_msg(strncmp(out, "3\n", 2) == 0 || strstr(out, "\n3\n") != NULL, "count: %s", out);
	ck_assert_msg(strstr(out, "revoked 3 certificates of key") != NULL, "count: %s", out);
	free(out);
	/* a, b and the forward-dated f are revoked; the expired one and the other key are not. */
	rc = sh(&e, &out, "for f in a b f; do s=$(openssl x509 -in $f.pem -noout -serial | "
	    "cut -d= -f2 | tr A-F a-f | sed 's/^0*//'); $M -c $C list --revoked | grep -q \"^$s\" "
	    "|| exit 1; done; test $($M -c $C list --revoked | wc -l) -eq 4 && "
	    "! $M -c $C list --revoked | grep -e %s -e %s", other, old);
	ck_assert_msg(rc == 0, "wrong set revoked: %s", out);
	free(out);
	/* Each one audited as a revoke (reason 1: keyCompromise), and the chain holds. */
	rc = sh(&e, &out, "test $(sqlite3 ca/mayfly.db \"SELECT count(*) FROM audit_log WHERE "
	    "event = 'revoke' AND detail LIKE '%%reason=1 %%'\") -eq 3 && $M -c $C audit verify");
	ck_assert_msg(rc == 0, "audit: %s", out);
	free(out);
	/* Nothing left to revoke: exit 1. */
	rc = sh(&e, &out, "$M -c $C revoke --key " SPKI_OF("a.pem"));
	ck_assert_msg(rc == 1 && strstr(out, "no unexpired") != NULL, "again: %s", out);
	free(out);
	free(other);
	free(old);
	env_teardown(&e);
}
END_TEST

/* Shell: what a dry run must leave as it was: the audit log's last row and every file. */
#define SNAP "{ sqlite3 ca/mayfly.db 'SELECT max(id), count(*) FROM audit_log; " \
	"SELECT count(*) FROM ca_revocations'; ls -R ca | sort; ls | grep -v -x -e before -e after; }"

/*
 * Every ceremony that takes --key-type refuses an unknown one the same way
 * (one parser, mf_cli_keytype_opt): the same message, exit 4 (a
 * configuration or argument error), and nothing written.
 */
START_TEST(keytype_refused_alike)
{
	static const char *const cmds[][2] = {
		{ "root init", "" }, { "root add", "root-d --key file:keys/d.pem" },
		{ "intermediate create", "" }, { "intermediate rotate", "" }, { NULL, NULL } };
	struct cli_env e;
	char *out = NULL, want[160];
	int rc, i;

	env_setup(&e, "file");
	for (i = 0; cmds[i][0] != NULL; i++) {
		rc = sh(&e, &out, SNAP " > before && { $M -c $C %s %s --key-type ec-p255; st=$?; } && "
		    SNAP " > after && cmp before after >&2 && exit $st", cmds[i][0], cmds[i][1]);
		snprintf(want, sizeof(want), "mayfly: %s: key-type: unknown key type 'ec-p255'\n",
		    cmds[i][0]);
		ck_assert_msg(rc == 4 && strcmp(out, want) == 0, "%s: exit %d: %s", cmds[i][0], rc,
		    out);
		free(out);
	}
	/* init has no configuration yet; the same words. */
	rc = sh(&e, &out, "$M init --dir ca2 --keys file --key-type ec-p255; st=$?; "
	    "test ! -e ca2 && exit $st");
	ck_assert_msg(rc == 4 && strcmp(out, "mayfly: init: key-type: unknown key type "
	    "'ec-p255'\n") == 0, "init: exit %d: %s", rc, out);
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * The rotation ceremonies of mayfly-rotation(7), end to end with file keys:
 * root add NAME (a root the config does not name yet, with the entry to
 * paste), intermediate rotate (a new issuing key certified by every active
 * root), root retire NAME (its certificates of intermediates revoked and on
 * its CRL, the retirement audited, the next bundle prepared without it).
 * Every --dry-run leaves the log and the files as they were.
 */
START_TEST(rotation_ceremonies)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "file");
	/* root add: a dry run first, then the ceremony. */
	rc = sh(&e, &out, SNAP " > before && $M -c $C root add root-d --key file:keys/root-d.pem "
	    "--dry-run && " SNAP " > after && cmp before after");
	ck_assert_msg(rc == 0 && strstr(out, "would make root root-d") != NULL &&
	    strstr(out, "  - name: root-d\n    key: file:keys/root-d.pem\n    cert: certs/root-d.pem")
	    != NULL, "root add --dry-run: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C root add root-d");
	ck_assert_msg(rc == 2 && strstr(out, "--key") != NULL, "no --key: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C root add root-d --key file:keys/root-d.pem && "
	    "openssl x509 -in ca/certs/root-d.pem -noout -subject && "
	    "test $(stat -c %%a ca/keys/root-d.pem) = 600 && "
	    "test $(sqlite3 ca/mayfly.db \"SELECT count(*) FROM ca_certificates WHERE "
	    "name = 'root-d' AND kind = 'root'\") -eq 1");
	ck_assert_msg(rc == 0 && strstr(out, "add this entry under roots:") != NULL, "root add: %s",
	    out);
	free(out);
	rc = sh(&e, &out, "$M -c $C root add root-d --key file:keys/root-d.pem");
	ck_assert_msg(rc == 1 && strstr(out, "exists already") != NULL, "twice: %s", out);
	free(out);
	/* The operator pastes the entry. */
	rc = sh(&e, &out, "sed -i 's|^    cert: certs/root-c.pem$|&\\n  - name: root-d\\n"
	    "    key: file:keys/root-d.pem\\n    cert: certs/root-d.pem|' ca/mayfly.yaml && "
	    "$M -c $C list >/dev/null");
	ck_assert_msg(rc == 0, "config: %s", out);
	free(out);

	/* intermediate rotate: root-d is not in the published bundle, so not active yet. */
	rc = sh(&e, &out, SNAP " > before && $M -c $C intermediate rotate --dry-run && "
	    SNAP " > after && cmp before after");
	ck_assert_msg(rc == 0 && strstr(out, "would make intermediate issuing-2") != NULL &&
	    strstr(out, "by root-b") != NULL && strstr(out, "by root-c") != NULL &&
	    strstr(out, "root-d") == NULL, "rotate --dry-run: %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C intermediate rotate");
	ck_assert_msg(rc == 0 && strstr(out, "  active: issuing-2") != NULL, "rotate: %s", out);
	free(out);
	rc = sh(&e, &out, "sed -i -e 's|^intermediates:$|&\\n  - name: issuing-2\\n    root: root-a\\n"
	    "    key: file:keys/issuing-2.pem\\n    cert: certs/issuing-2.pem\\n    cross:\\n"
	    "      - certs/issuing-2.root-b.pem\\n      - certs/issuing-2.root-c.pem|' "
	    "-e 's|^  active: issuing-1$|  active: issuing-2|' ca/mayfly.yaml && "
	    "$M -c $C issue --csr srv.csr --out new.pem && "
	    "openssl verify -CAfile ca/certs/root-a.pem -untrusted ca/certs/issuing-2.pem new.pem && "
	    "openssl verify -CAfile ca/certs/root-c.pem -untrusted ca/certs/issuing-2.root-c.pem "
	    "new.pem && openssl x509 -in new.pem -noout -issuer | grep -q 'issuing CA issuing-2'");
	ck_assert_msg(rc == 0, "issuing-2 does not issue: %s", out);
	free(out);

	/* root retire: not the root of the active intermediate; a dry run; then for real. */
	rc = sh(&e, &out, "$M -c $C root retire root-a");
	ck_assert_msg(rc == 2 && strstr(out, "intermediate rotate") != NULL, "root-a: %s", out);
	free(out);
	rc = sh(&e, &out, SNAP " > before && $M -c $C root retire root-c --dry-run && "
	    SNAP " > after && cmp before after");
	ck_assert_msg(rc == 0 && strstr(out, "would revoke cross issuing-2") != NULL &&
	    strstr(out, "roots root-a,root-b,root-d, threshold 2") != NULL, "retire --dry-run: %s",
	    out);
	free(out);
	rc = sh(&e, &out, "$M -c $C root retire root-c --out v2.der");
	ck_assert_msg(rc == 0 && strstr(out, "1 CA certificate it signed revoked") != NULL,
	    "retire: %s", out);
	free(out);
	/* Its CRL names the cross certificate it made; the audit log the retirement. */
	rc = sh(&e, &out, "$M -c $C crl root --name root-c --out c.crl && "
	    "openssl crl -in c.crl -noout -text | grep -q \"Serial Number: $(openssl x509 -in "
	    "ca/certs/issuing-2.root-c.pem -noout -serial | cut -d= -f2)\" && "
	    "test $(sqlite3 ca/mayfly.db \"SELECT count(*) FROM audit_log WHERE event = "
	    "'root-retire' AND detail LIKE 'name=root-c %%'\") -eq 1 && $M -c $C audit verify");
	ck_assert_msg(rc == 0, "CRL or audit: %s", out);
	free(out);
	/* The prepared bundle: version 2 without root-c, unsigned; two of version 1 sign it. */
	rc = sh(&e, &out, "$M -c $C bundle show v2.der && $M -c $C bundle sign v2.der --root root-a "
	    "&& $M -c $C bundle sign v2.der --root root-b && $M -c $C bundle publish v2.der");
	ck_assert_msg(rc == 0 && strstr(out, "version      2") != NULL &&
	    strstr(out, " root-d\n") != NULL && strstr(out, " root-c\n") == NULL, "bundle: %s", out);
	free(out);
	/* Retired is retired: a second time is refused and changes nothing. */
	rc = sh(&e, &out, SNAP " > before && $M -c $C root retire root-c --out v3.der; st=$?; "
	    SNAP " > after && cmp before after && exit $st");
	ck_assert_msg(rc == 1 && strstr(out, "retired already") != NULL, "again: %s", out);
	free(out);
	/* From now on root-d is active and root-c is not: the next rotation follows. */
	rc = sh(&e, &out, "$M -c $C intermediate rotate --dry-run --root root-b");
	ck_assert_msg(rc == 0 && strstr(out, "certified by root-b") != NULL &&
	    strstr(out, "by root-d") != NULL && strstr(out, "root-c") == NULL, "next: %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

/*
 * The same ceremonies with SoftHSM2: root add puts the key into a token of
 * its own, intermediate rotate puts the new issuing key next to the old one
 * (object=issuing-2 in its token) and no private key leaves a token.
 */
START_TEST(rotation_ceremonies_softhsm)
{
	struct cli_env e;
	char *out = NULL;
	int rc;

	env_setup(&e, "softhsm");
	rc = sh(&e, &out, "softhsm2-util --init-token --free --label mayfly-root-d "
	    "--pin $(cat ca/hsm.pin) --so-pin $(openssl rand -hex 8) >/dev/null && "
	    "$M -c $C root add root-d --key 'pkcs11:token=mayfly-root-d;object=root-d' && "
	    "pkcs11-tool --module " MF_SOFTHSM_MODULE " --token-label mayfly-root-d --login "
	    "--pin $(cat ca/hsm.pin) --list-objects --type privkey | grep -q root-d && "
	    "test ! -e ca/keys/root-d.pem");
	ck_assert_msg(rc == 0 && strstr(out, "    key: pkcs11:token=mayfly-root-d;object=root-d\n")
	    != NULL, "root add (token): %s", out);
	free(out);
	rc = sh(&e, &out, "$M -c $C intermediate rotate && "
	    "pkcs11-tool --module " MF_SOFTHSM_MODULE " --token-label mayfly-main --login "
	    "--pin $(cat ca/hsm.pin) --list-objects --type privkey | grep -q issuing-2 && "
	    "openssl verify -CAfile ca/certs/root-a.pem ca/certs/issuing-2.pem && "
	    "openssl verify -CAfile ca/certs/root-b.pem ca/certs/issuing-2.root-b.pem");
	ck_assert_msg(rc == 0 && strstr(out, "    key: pkcs11:token=mayfly-main;object=issuing-2\n")
	    != NULL, "rotate (token): %s", out);
	free(out);
	env_teardown(&e);
}
END_TEST

Suite *
suite_cli(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("end-to-end");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, init_issue_file_keys);
	tcase_add_test(tc, init_issue_softhsm);
	tcase_add_test(tc, lifetime_cap_refused);
	tcase_add_test(tc, revoke_list_show);
	tcase_add_test(tc, audit_catches_edit);
	tcase_add_test(tc, crash_between_sign_and_commit);
	tcase_add_test(tc, bad_config_named);
	tcase_add_test(tc, root_crl);
	tcase_add_test(tc, intermediate_revoke_crl);
	tcase_add_test(tc, acme_eab_keys);
	tcase_add_test(tc, audit_recorded_head);
	tcase_add_test(tc, readonly_commands_write_nothing);
	tcase_add_test(tc, missing_database_refused);
	tcase_add_test(tc, errors_name_file_and_cause);
	tcase_add_test(tc, db_prune_archive_verify);
	tcase_add_test(tc, db_compact_shrinks);
	suite_add_tcase(s, tc);
	/* Rotation and outage (issue 13); CK_RUN_CASE=rotation runs these alone. */
	tc = tcase_create("rotation");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, forward_dated_issue);
	tcase_add_test(tc, revoke_by_key);
	tcase_add_test(tc, keytype_refused_alike);
	tcase_add_test(tc, rotation_ceremonies);
	tcase_add_test(tc, rotation_ceremonies_softhsm);
	suite_add_tcase(s, tc);
	return s;
}
