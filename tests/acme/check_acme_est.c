/*
 * check_acme_est.c: EST (RFC 7030) on the renewal listener, driven by the
 * curl and openssl command-line tools: enrolment with HTTP basic
 * credentials and with a one-time token, re-enrolment over mutual TLS with
 * the current certificate (same names or fewer), and the refusals: wrong
 * password, spent token, new name, no client certificate, revoked
 * certificate. Plus the bearer-token /v1/sign API.
 */
#include "mf_build.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "db.h"
#include "fixtures.h"
#include "mferr.h"
#include "suites_acme.h"

#define EST_CONF "  est:\n    profile: server\n    user: device\n" \
	"    password-file: est.pass\n    tokens-file: est.tokens\n" \
	"  api-token-file: api.token\n" \
	"  per-ip-connections: 32"	/* the load test runs 16 clients from 127.0.0.1 */

/* Runs a shell command in the test directory; returns its exit status. */
static int
sh(const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && { %s ; } >>est.log 2>&1", ft_dir(), cmd);
	rc = system(full);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* An HTTP status written by curl -w into file name in the test directory. */
static int
status_of(const char *name)
{
	char path[600];
	FILE *f;
	int code = -1;

	snprintf(path, sizeof(path), "%s/%s", ft_dir(), name);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &code) != 1)
			code = -1;
		fclose(f);
	}
	return code;
}

static int64_t
count_certs(void)
{
	return mft_db_int(ft_dir(), "SELECT count(*) FROM certificates");
}

/* A key NAME.key and base64 DER CSR NAME.b64 for the comma-separated SAN list. */
static void
make_csr(const char *name, const char *san)
{
	ck_assert_int_eq(sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout %s.key -subj /O=device -addext subjectAltName=%s -outform DER -out %s.der && "
	    "openssl base64 -in %s.der -out %s.b64", name, san, name, name, name), 0);
}

/* POSTs NAME.b64 to an EST path with extra curl options; the status goes to NAME.code. */
static int
est_post(const char *path, const char *name, const char *out, const char *opts)
{
	sh("curl -sS --cacert certs/root-a.pem %s -H 'Content-Type: application/pkcs10' "
	    "--data-binary @%s.b64 -o %s.p7 -w '%%{http_code}' %s/.well-known/est/%s > %s.code",
	    opts, name, out, ft_base(), path, out);
	return status_of(strcat(strcpy((char[128]){ 0 }, out), ".code"));
}

/* Turns OUT.p7 (base64 certs-only PKCS#7) into OUT.pem and verifies it against root-a. */
static void
est_cert_ok(const char *out, const char *names)
{
	ck_assert_int_eq(sh("openssl base64 -d -in %s.p7 -out %s.p7der && openssl pkcs7 -inform DER "
	    "-in %s.p7der -print_certs -out %s.pem && openssl verify -CAfile certs/root-a.pem "
	    "-untrusted certs/issuing-1.pem %s.pem", out, out, out, out, out), 0);
	ck_assert_int_eq(sh("openssl x509 -in %s.pem -noout -ext subjectAltName | grep -q '%s'", out,
	    names), 0);
}

static void
est_setup(void)
{
	start_server(EST_CONF);
}

START_TEST(t_cacerts)
{
	ck_assert_int_eq(sh("curl -sS --cacert certs/root-a.pem -o ca.p7 -w '%%{http_code}' "
	    "%s/.well-known/est/cacerts > ca.code", ft_base()), 0);
	ck_assert_int_eq(status_of("ca.code"), 200);
	/* issuing-1, its cross-certificate from root-b, root-a, root-b. */
	ck_assert_int_eq(sh("openssl base64 -d -in ca.p7 | openssl pkcs7 -inform DER -print_certs "
	    "> ca.pem && grep -c '^subject=' ca.pem | grep -qx 4"), 0);
	/* A client that trusts only root-b finds its way to issuing-1 in the answer. */
	ck_assert_int_eq(sh("grep -c 'issuer=.*CN = root-b' ca.pem | grep -qx 2"), 0);
	ck_assert_int_eq(sh("grep -c 'subject=.*CN = issuing-1' ca.pem | grep -qx 2"), 0);
}
END_TEST

START_TEST(t_enroll_basic_and_token)
{
	int64_t n0 = count_certs();

	make_csr("d1", "DNS:d1.acme.test,DNS:d2.acme.test");
	/* Wrong password, then no credentials at all: 401, nothing issued. */
	ck_assert_int_eq(est_post("simpleenroll", "d1", "bad", "-u device:wrong"), 401);
	ck_assert_int_eq(est_post("simpleenroll", "d1", "none", ""), 401);
	ck_assert_int_eq(count_certs(), n0);
	ck_assert_int_eq(est_post("simpleenroll", "d1", "c1", "-u device:device-secret"), 200);
	est_cert_ok("c1", "d2.acme.test");
	ck_assert_int_eq(count_certs(), n0 + 1);
	/* A one-time token works once. */
	make_csr("d9", "DNS:d9.acme.test");
	ck_assert_int_eq(est_post("simpleenroll", "d9", "t1",
	    "-H 'Authorization: Bearer tok-0123456789abcdef'"), 200);
	est_cert_ok("t1", "d9.acme.test");
	ck_assert_int_eq(est_post("simpleenroll", "d9", "t2",
	    "-H 'Authorization: Bearer tok-0123456789abcdef'"), 401);
	ck_assert_int_eq(count_certs(), n0 + 2);
	/* A name outside the profile is refused by the policy, not signed. */
	make_csr("ev", "DNS:evil.example");
	ck_assert_int_eq(est_post("simpleenroll", "ev", "e1", "-u device:device-secret"), 400);
	ck_assert_int_eq(count_certs(), n0 + 2);
}
END_TEST

START_TEST(t_reenroll_mtls)
{
	char path[600];
	struct mf_db *db = NULL;
	char serial[64];
	int64_t n0;

	make_csr("d1", "DNS:d1.acme.test,DNS:d2.acme.test");
	ck_assert_int_eq(est_post("simpleenroll", "d1", "c1", "-u device:device-secret"), 200);
	est_cert_ok("c1", "d1.acme.test");
	n0 = count_certs();
	/* Same names with a new key, over mutual TLS with the current certificate. */
	make_csr("r1", "DNS:d1.acme.test,DNS:d2.acme.test");
	ck_assert_int_eq(est_post("simplereenroll", "r1", "c2", "--cert c1.pem --key d1.key"), 200);
	est_cert_ok("c2", "d2.acme.test");
	/* Fewer names: allowed. */
	make_csr("r2", "DNS:d1.acme.test");
	ck_assert_int_eq(est_post("simplereenroll", "r2", "c3", "--cert c2.pem --key r1.key"), 200);
	est_cert_ok("c3", "d1.acme.test");
	ck_assert_int_eq(count_certs(), n0 + 2);
	/* A new name: refused. */
	make_csr("r3", "DNS:d1.acme.test,DNS:d3.acme.test");
	ck_assert_int_eq(est_post("simplereenroll", "r3", "c4", "--cert c2.pem --key r1.key"), 403);
	/* No client certificate: refused. */
	ck_assert_int_eq(est_post("simplereenroll", "r2", "c5", ""), 401);
	ck_assert_int_eq(count_certs(), n0 + 2);
	/* Revoke c2 in the log; it no longer authorises anything. */
	ck_assert_int_eq(sh("openssl x509 -in c2.pem -noout -serial | sed 's/serial=//' | "
	    "tr A-F a-f > c2.serial"), 0);
	snprintf(path, sizeof(path), "%s/c2.serial", ft_dir());
	{
		FILE *f = fopen(path, "r");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fscanf(f, "%63s", serial), 1);
		fclose(f);
	}
	ck_assert_int_eq(mft_db_target(ft_dir(), 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	ck_assert_int_eq(mf_db_cert_revoke(db, serial, 1, (int64_t)time(NULL), "test"), 0);
	mf_db_close(db);
	ck_assert_int_eq(est_post("simplereenroll", "r2", "c6", "--cert c2.pem --key r1.key"), 401);
	ck_assert_int_eq(count_certs(), n0 + 2);
	/* A certificate from another CA (self-signed, same names) is refused too. */
	ck_assert_int_eq(sh("openssl req -x509 -new -key d1.key -subj /CN=d1.acme.test -addext "
	    "subjectAltName=DNS:d1.acme.test -days 1 -out self.pem"), 0);
	ck_assert_int_eq(est_post("simplereenroll", "r2", "c7", "--cert self.pem --key d1.key"), 401);
	ck_assert_int_eq(count_certs(), n0 + 2);
}
END_TEST

START_TEST(t_sign_api)
{
	int64_t n0 = count_certs();

	ck_assert_int_eq(sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout a.key -subj /O=api -addext subjectAltName=DNS:api.acme.test -out a.csr"), 0);
	sh("curl -sS --cacert certs/root-a.pem -H 'Authorization: Bearer wrong-token-000000' "
	    "--data-binary @a.csr -o a0.pem -w '%%{http_code}' %s/v1/sign > a0.code", ft_base());
	ck_assert_int_eq(status_of("a0.code"), 401);
	ck_assert_int_eq(count_certs(), n0);
	sh("curl -sS --cacert certs/root-a.pem -H 'Authorization: Bearer api-token-0123456789' "
	    "--data-binary @a.csr -o a1.pem -w '%%{http_code}' %s/v1/sign > a1.code", ft_base());
	ck_assert_int_eq(status_of("a1.code"), 200);
	ck_assert_int_eq(sh("openssl verify -CAfile certs/root-a.pem -untrusted certs/issuing-1.pem "
	    "a1.pem"), 0);
	ck_assert_int_eq(count_certs(), n0 + 1);
}
END_TEST

/* contrib/est-renew: not due, then forced; the new pair verifies and is in the log. */
START_TEST(t_contrib_est_renew)
{
	int64_t n0;

	make_csr("d1", "DNS:d1.acme.test,DNS:d2.acme.test");
	ck_assert_int_eq(est_post("simpleenroll", "d1", "c1", "-u device:device-secret"), 200);
	est_cert_ok("c1", "d1.acme.test");
	ck_assert_int_eq(sh("cp c1.pem host.pem && cp d1.key host.key && "
	    "openssl x509 -in host.pem -noout -serial > serial.0 && "
	    "printf 'EST_URL=%s/.well-known/est\\nCERT=host.pem\\nKEY=host.key\\n"
	    "CA=certs/root-a.pem\\nRELOAD=\"touch reloaded\"\\n' > renew.conf", ft_base()), 0);
	n0 = count_certs();
	ck_assert_int_eq(sh("sh %s/contrib/est-renew/est-renew.sh renew.conf", MF_TEST_SRCDIR), 0);
	ck_assert_int_eq(count_certs(), n0);
	ck_assert_int_ne(sh("test -e reloaded"), 0);
	ck_assert_int_eq(sh("FORCE=1 sh %s/contrib/est-renew/est-renew.sh renew.conf",
	    MF_TEST_SRCDIR), 0);
	ck_assert_int_eq(count_certs(), n0 + 1);
	ck_assert_int_eq(sh("test -e reloaded"), 0);
	ck_assert_int_eq(sh("openssl x509 -in host.pem -noout -serial > serial.1 && "
	    "! cmp -s serial.0 serial.1"), 0);
	ck_assert_int_eq(sh("openssl verify -CAfile certs/root-a.pem -untrusted host.pem host.pem && "
	    "openssl x509 -in host.pem -noout -ext subjectAltName | grep -q d2.acme.test && "
	    "test \"$(openssl x509 -in host.pem -noout -pubkey)\" = "
	    "\"$(openssl pkey -in host.key -pubout)\""), 0);
	/* And the renewed pair authenticates the next renewal. */
	ck_assert_int_eq(sh("FORCE=1 sh %s/contrib/est-renew/est-renew.sh renew.conf",
	    MF_TEST_SRCDIR), 0);
	ck_assert_int_eq(count_certs(), n0 + 2);
}
END_TEST

/*
 * Group commit under load: 16 concurrent clients for 2 s; every 200 answer
 * is a certificate in the log, nothing was logged that was not answered,
 * and commits were shared: the issuer's event=issued-batch lines (one per
 * commit, captured from this process's stderr) add up to the certificates
 * issued in fewer commits than certificates, at least one holding several.
 */
START_TEST(t_sign_concurrent_group_commit)
{
	char path[600], line[512];
	unsigned long issued = 0, failed = 1, batches = 0, inbatches = 0, max = 0;
	int64_t n0 = count_certs();
	int saved, fd;
	FILE *f;

	ck_assert_int_eq(sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout l.key -subj /O=load -addext subjectAltName=DNS:load.acme.test -outform DER "
	    "-out l.der"), 0);
	snprintf(path, sizeof(path), "%s/server.log", ft_dir());
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
	ck_assert_int_eq(sh("%s/mayfly-issue-load %s/v1/sign certs/root-a.pem api.token l.der 16 2 "
	    "> load.out 2>load.err", MF_TEST_BUILDDIR, ft_base()), 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, "event=issued-batch n=");
		unsigned long n;

		if (p == NULL || sscanf(p, "event=issued-batch n=%lu", &n) != 1)
			continue;
		batches++;
		inbatches += n;
		if (n > max)
			max = n;
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/load.out", ft_dir());
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "concurrency=16 issued=%lu failed=%lu", &issued, &failed), 2);
	fclose(f);
	ck_assert_uint_eq(failed, 0);
	ck_assert_uint_gt(issued, 16);
	ck_assert_int_eq(count_certs(), n0 + (int64_t)issued);
	ck_assert_msg(inbatches == issued, "batches hold %lu issuances, %lu issued", inbatches, issued);
	ck_assert_msg(batches < issued && max > 1, "%lu commits for %lu issuances (largest %lu): "
	    "no commit was shared", batches, issued, max);
}
END_TEST

/*
 * acme.est.enabled: false was parsed and ignored: EST still answered and
 * enrolled. Off, every EST resource is 404 and nothing is issued, while
 * the /v1/sign API (not EST) keeps working.
 */
static void
est_off_setup(void)
{
	start_server("  est:\n    enabled: false\n    profile: server\n    user: device\n"
	    "    password-file: est.pass\n    tokens-file: est.tokens\n"
	    "  api-token-file: api.token");
}

START_TEST(t_est_disabled)
{
	int64_t n0 = count_certs();

	sh("curl -sS --cacert certs/root-a.pem -o ca.p7 -w '%%{http_code}' "
	    "%s/.well-known/est/cacerts > ca.code", ft_base());
	ck_assert_int_eq(status_of("ca.code"), 404);
	make_csr("d1", "DNS:d1.acme.test");
	ck_assert_int_eq(est_post("simpleenroll", "d1", "c1", "-u device:device-secret"), 404);
	ck_assert_int_eq(est_post("simpleenroll", "d1", "t1",
	    "-H 'Authorization: Bearer tok-0123456789abcdef'"), 404);
	ck_assert_int_eq(count_certs(), n0);
	/* The bearer-token API is not EST: it still signs. */
	ck_assert_int_eq(sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout a.key -subj /O=api -addext subjectAltName=DNS:api.acme.test -out a.csr"), 0);
	sh("curl -sS --cacert certs/root-a.pem -H 'Authorization: Bearer api-token-0123456789' "
	    "--data-binary @a.csr -o a1.pem -w '%%{http_code}' %s/v1/sign > a1.code", ft_base());
	ck_assert_int_eq(status_of("a1.code"), 200);
	/* Re-enrolment with that certificate is refused too: the resource is gone. */
	make_csr("r1", "DNS:api.acme.test");
	ck_assert_int_eq(est_post("simplereenroll", "r1", "c2", "--cert a1.pem --key a.key"), 404);
	ck_assert_int_eq(count_certs(), n0 + 1);
}
END_TEST

Suite *
suite_acme_est(void)
{
	Suite *s = suite_create("acme_est");
	TCase *tc = tcase_create("est");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, est_setup, teardown);
	tcase_add_test(tc, t_cacerts);
	tcase_add_test(tc, t_enroll_basic_and_token);
	tcase_add_test(tc, t_reenroll_mtls);
	tcase_add_test(tc, t_sign_api);
	tcase_add_test(tc, t_contrib_est_renew);
	tcase_add_test(tc, t_sign_concurrent_group_commit);
	suite_add_tcase(s, tc);
	tc = tcase_create("est-off");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, est_off_setup, teardown);
	tcase_add_test(tc, t_est_disabled);
	suite_add_tcase(s, tc);
	return s;
}
