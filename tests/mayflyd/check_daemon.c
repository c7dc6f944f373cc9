/*
 * check_daemon.c: integration tests that run the real mayflyd binary on
 * 127.0.0.1 with a free port against a real setup (certificates made with
 * the openssl CLI, records in a real SQLite log through the db API, file
 * keys), and talk to it with real peers: openssl ocsp, curl, openssl crl,
 * and a raw socket client for the misbehaving ones.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "db.h"
#include "store/sql.h"
#include "fixtures.h"
#include "mferr.h"
#include "mfdt.h"
#include "ocspreq.h"
#include "route.h"
#include "util.h"

#define SERIAL_BASE	"4a1b2c3d4e5f60718293a4b5c6d7e8"

int
mfdt_hold_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int s, one = 1, port = -1;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	/* Left open on purpose (see mfdt.h): the port is released when the test's process ends. */
	if (port < 0)
		close(s);
	return port;
}

int64_t
mfdt_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
mfdt_connect(int port)
{
	struct sockaddr_in a;
	int s;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(s);
		return -1;
	}
	return s;
}

int
mfdt_http(int port, const char *req, size_t reqlen, int timeout_ms, int *status,
    unsigned char **body, size_t *bodylen)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int64_t end = mfdt_ms() + timeout_ms;
	char *hend;
	int s, rc = -1;

	*status = 0;
	if (body != NULL)
		*body = NULL;
	if ((s = mfdt_connect(port)) < 0)
		return -1;
	if (write(s, req, reqlen) != (ssize_t)reqlen)
		goto out;
	for (;;) {
		struct pollfd p = { s, POLLIN, 0 };
		int64_t left = end - mfdt_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			goto out;	/* timeout */
		if (len + 4096 + 1 > cap) {
			unsigned char *nb = realloc(buf, cap = (len + 4096) * 2);

			if (nb == NULL)
				goto out;
			buf = nb;
		}
		if ((n = read(s, buf + len, 4096)) < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL)
		goto out;
	buf[len] = '\0';
	if (sscanf((char *)buf, "HTTP/1.%*d %d", status) != 1)
		goto out;
	if ((hend = strstr((char *)buf, "\r\n\r\n")) == NULL)
		goto out;
	if (body != NULL) {
		size_t off = (size_t)(hend + 4 - (char *)buf);

		*bodylen = len - off;
		*body = malloc(*bodylen + 1);
		memcpy(*body, buf + off, *bodylen);
		(*body)[*bodylen] = '\0';
		/* Keep the headers reachable for tests: append after the body's NUL. */
	}
	rc = 0;
out:
	free(buf);
	close(s);
	return rc;
}

/* GET path (HTTP/1.0, so the server closes); returns status or -1. */
int
mfdt_get(int port, const char *path, unsigned char **body, size_t *len)
{
	char req[8192];
	int st;

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (mfdt_http(port, req, strlen(req), 5000, &st, body, len) != 0)
		return -1;
	return st;
}

static int
mfdt_insert(struct mf_db *db, const char *dir, const char *file, const char *issuer)
{
	char path[600];
	FILE *f;
	X509 *x;
	struct mf_cert_rec r;
	struct tm tm;
	unsigned char *der = NULL;
	int n, rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	{
		const ASN1_INTEGER *s = X509_get0_serialNumber(x);

		mf_hex(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), r.serial);
	}
	r.issuer = (char *)issuer;
	r.subject = (char *)"CN=test";
	r.sans = (char *)"IP:127.0.0.1";
	r.profile = (char *)"server";
	ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
	r.not_before = (int64_t)timegm(&tm);
	ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
	r.not_after = (int64_t)timegm(&tm);
	r.requester = (char *)"test";
	if ((n = i2d_X509(x, &der)) <= 0)
		goto out;
	r.der = der;
	r.der_len = (size_t)n;
	r.issued_at = (int64_t)time(NULL);
	rc = mf_db_cert_insert(db, &r);
out:
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

/*
 * Writes dir/mayfly.yaml. With hsm set, the intermediate's key is the
 * object "issuing-1" in the SoftHSM2 token "mayfly" configured in dir.
 */
int
mfdt_yaml(const char *dir, int port, const char *hsm)
{
	char path[600], db[600];
	FILE *f;

	if (mft_db_target(dir, 0, db, sizeof(db)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/mayfly.yaml", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (hsm != NULL)
		fprintf(f, "pkcs11:\n  module: %s\n  pin-source: file:hsm.pin\n"
		    "  softhsm2-conf: softhsm2.conf\n", hsm);
	fprintf(f,
	    "database: \"%s\"\n"
	    "urls: { base: \"http://127.0.0.1:%d\" }\n"
	    "roots:\n"
	    "  - { name: root-a, key: \"file:keys/root-a.key\", cert: certs/root-a.pem }\n"
	    "  - { name: root-b, key: \"file:keys/root-b.key\", cert: certs/root-b.pem }\n"
	    "intermediates:\n"
	    "  - name: issuing-1\n"
	    "    root: root-a\n"
	    "    key: %s\n"
	    "    cert: certs/issuing-1.pem\n"
	    "    cross: [certs/issuing-1.root-b.pem]\n"
	    "daemon:\n"
	    "  listen: [\"127.0.0.1:%d\"]\n"
	    "  threads: 2\n"
	    "  per-ip-connections: 200\n"
	    "  connection-timeout: 3s\n"
	    "  request-timeout: 3s\n"
	    "  max-body: 4096\n"
	    "  admin-token-file: admin.token\n"
	    "  ocsp:\n"
	    "    validity: 4h\n"
	    "    export-dir: ocsp-export\n"
	    "  crl:\n"
	    "    validity: 24h\n"
	    "    interval: 1h\n", mft_on_pg() ? db : "mayfly.db", port,
	    hsm != NULL ? "\"pkcs11:token=mayfly;object=issuing-1\"" : "file:keys/issuing-1.key",
	    port);
	fclose(f);
	return 0;
}

int
mfdt_setup(const char *dir, int port)
{
	char *cmd;
	char path[600];
	struct mf_db *db = NULL;
	int rc, i;

	if (asprintf(&cmd,
	    "set -e; cd '%s'; exec >setup.log 2>&1; mkdir -p certs keys; "
	    "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'; "
	    "printf 'basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\n"
	    "subjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid:always\\n' > ca.ext; "
	    "printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
	    "extendedKeyUsage=serverAuth\\nsubjectAltName=IP:127.0.0.1,DNS:localhost\\n"
	    "authorityInfoAccess=OCSP;URI:http://127.0.0.1:%d/ocsp\\n' > leaf.ext; "
	    "for r in a b; do openssl req -x509 $ec -keyout keys/root-$r.key -out certs/root-$r.pem "
	    "-subj \"/CN=Test Root $r\" -days 3650 -addext basicConstraints=critical,CA:TRUE "
	    "-addext keyUsage=critical,keyCertSign,cRLSign; done; "
	    "openssl req -new $ec -keyout keys/issuing-1.key -out i1.csr -subj '/CN=Test Issuing 1'; "
	    "openssl x509 -req -in i1.csr -CA certs/root-a.pem -CAkey keys/root-a.key -set_serial 0x1001 "
	    "-days 365 -extfile ca.ext -out certs/issuing-1.pem; "
	    "openssl x509 -req -in i1.csr -CA certs/root-b.pem -CAkey keys/root-b.key -set_serial 0x1002 "
	    "-days 365 -extfile ca.ext -out certs/issuing-1.root-b.pem; "
	    "openssl req -x509 $ec -keyout other.key -out other.pem -subj '/CN=Other CA' -days 30 "
	    "-addext basicConstraints=critical,CA:TRUE; "
	    "for n in 01 02 03 04 05 06 07 08; do "
	    "openssl req -new $ec -keyout leaf$n.key -out leaf$n.csr -subj \"/CN=leaf$n\"; "
	    "openssl x509 -req -in leaf$n.csr -CA certs/issuing-1.pem -CAkey keys/issuing-1.key "
	    "-set_serial 0x" SERIAL_BASE "$n -days 1 -extfile leaf.ext -out leaf$n.pem; done; "
	    "openssl x509 -req -in leaf01.csr -CA other.pem -CAkey other.key -set_serial 0x77 -days 1 "
	    "-out leaf-other.pem; "
	    "cat certs/issuing-1.pem certs/root-a.pem > chain.pem; "
	    "chmod 600 keys/* *.key; printf 'test-admin-token-0123456789\\n' > admin.token; "
	    "chmod 600 admin.token; mkdir -p ocsp-export",
	    dir, port) < 0)
		return -1;
	rc = mft_run(cmd, NULL);
	free(cmd);
	if (rc != 0)
		return -1;
	if (mfdt_yaml(dir, port, NULL) != 0 || mft_db_target(dir, 0, path, sizeof(path)) != 0)
		return -1;
	if (mf_db_open(path, MF_DB_CREATE, &db) != 0)
		return -1;
	/* leaf08 stays out of the log: it must come back "unauthorized". */
	for (i = 1; i <= 7; i++) {
		char name[32];

		snprintf(name, sizeof(name), "leaf%02d.pem", i);
		if (mfdt_insert(db, dir, name, "issuing-1") != 0) {
			mf_db_close(db);
			return -1;
		}
	}
	mf_db_close(db);
	return 0;
}

/* Where mfdt_start() points NOTIFY_SOCKET (NULL: unset), and the watchdog period. */
static const char *notify_path;
static const char *watchdog_usec;

/* Starts build/mayflyd -c dir/mayfly.yaml, its output appended to dir/mayflyd.log. */
static pid_t
mfdt_spawn(const char *dir)
{
	char *bin = mft_buildpath("mayflyd"), cfg[600], log[600];
	pid_t pid;

	snprintf(cfg, sizeof(cfg), "%s/mayfly.yaml", dir);
	snprintf(log, sizeof(log), "%s/mayflyd.log", dir);
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		unsetenv("NOTIFY_SOCKET");
		if (notify_path != NULL)
			setenv("NOTIFY_SOCKET", notify_path, 1);
		if (watchdog_usec != NULL)
			setenv("WATCHDOG_USEC", watchdog_usec, 1);
		execl(bin, "mayflyd", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	free(bin);
	return pid;
}

/* pid once /health on port answers want, at most 15 s; else kills it and -1. */
static pid_t
mfdt_wait_health(pid_t pid, int port, int want)
{
	int i;

	if (pid < 0)
		return -1;
	for (i = 0; port > 0 && i < 150; i++) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			return -1;
		if (mfdt_get(port, "/health", NULL, NULL) == want)
			return pid;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* As mfdt_start, but waits for /health to answer want. */
static pid_t
mfdt_start_health(const char *dir, int port, int want)
{
	return mfdt_wait_health(mfdt_spawn(dir), port, want);
}

/*
 * As mfdt_start_health for a configuration whose listeners bind port 0:
 * *port gets the OCSP port mayflyd logged. Nothing can take the port
 * between a choice and the bind, so there is nothing to retry.
 */
static pid_t
mfdt_start_port0(const char *dir, int want, int *port)
{
	pid_t pid = mfdt_spawn(dir);

	*port = pid > 0 ? mfdt_log_port(dir, 0, 15000) : -1;
	return mfdt_wait_health(pid, *port, want);
}

pid_t
mfdt_start(const char *dir, int port)
{
	return mfdt_start_health(dir, port, 200);
}

int
mfdt_log_port(const char *dir, int acme, int timeout_ms)
{
	const char *tag = acme ? "event=listening what=acme host=" : "event=listening host=";
	int64_t end = mfdt_ms() + timeout_ms;
	char path[600], line[1024];

	snprintf(path, sizeof(path), "%s/mayflyd.log", dir);
	do {
		FILE *f = fopen(path, "r");
		int port = -1;

		while (f != NULL && port < 0 && fgets(line, sizeof(line), f) != NULL) {
			const char *p = strstr(line, tag), *q;

			if (p != NULL && (q = strstr(p, " port=")) != NULL && atoi(q + 6) > 0)
				port = atoi(q + 6);
		}
		if (f != NULL)
			fclose(f);
		if (port > 0)
			return port;
		usleep(20000);
	} while (mfdt_ms() < end);
	return -1;
}

int
mfdt_port_was_taken(const char *dir)
{
	char path[600], line[1024];
	FILE *f;
	int taken = 0;

	snprintf(path, sizeof(path), "%s/mayflyd.log", dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!taken && fgets(line, sizeof(line), f) != NULL)
		taken = (strstr(line, "event=bind-failed") != NULL ||
		    strstr(line, "event=acme-failed") != NULL) &&
		    strstr(line, strerror(EADDRINUSE)) != NULL;
	fclose(f);
	return taken;
}

pid_t
mfdt_setup_start(const char *dir, int *port)
{
	return mfdt_setup_start_with(dir, port, NULL, NULL);
}

pid_t
mfdt_setup_start_with(const char *dir, int *port, int (*prep)(const char *, int, void *),
    void *arg)
{
	if ((*port = mfdt_hold_port()) <= 0 || mfdt_setup(dir, *port) != 0 ||
	    (prep != NULL && prep(dir, *port, arg) != 0))
		return -1;
	return mfdt_start(dir, *port);
}

/*
 * Runs mayflyd on dir/mayfly.yaml and waits up to timeout_ms for it to exit
 * by itself; returns its exit status, or -1 if it was still running (it is
 * killed then) or died of a signal. For configurations it must refuse: a
 * daemon that hangs is as wrong as one that starts.
 */
static int
mfdt_exit_status(const char *dir, int timeout_ms)
{
	char *bin = mft_buildpath("mayflyd"), cfg[600], log[600];
	int64_t end = mfdt_ms() + timeout_ms;
	pid_t pid;
	int st;

	snprintf(cfg, sizeof(cfg), "%s/mayfly.yaml", dir);
	snprintf(log, sizeof(log), "%s/mayflyd.log", dir);
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		unsetenv("NOTIFY_SOCKET");
		execl(bin, "mayflyd", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	free(bin);
	if (pid < 0)
		return -1;
	while (mfdt_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* SIGTERM and wait (bounded); returns the exit status or -1. */
int
mfdt_stop(pid_t pid, int timeout_ms)
{
	int64_t end = mfdt_ms() + timeout_ms;
	int st;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	while (mfdt_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* ---- the shared daemon of the "daemon" test case ------------------------------ */

static char *d_dir;
static int d_port;
static pid_t d_pid;

static void
daemon_setup(void)
{
	d_dir = mft_tmpdir();
	ck_assert_ptr_nonnull(d_dir);
	d_pid = mfdt_setup_start(d_dir, &d_port);
	ck_assert_int_gt(d_pid, 0);
}

static void
daemon_teardown(void)
{
	if (d_pid > 0)
		mfdt_stop(d_pid, 8000);
	d_pid = 0;
	mft_rmtree(d_dir);
	free(d_dir);
	d_dir = NULL;
}

/* Runs `openssl ocsp` against the daemon; returns its output. */
static char *
ocsp_cli(const char *leaf, const char *extra)
{
	char *cmd, *out = NULL;

	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp %s -issuer certs/issuing-1.pem -cert %s "
	    "-url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 2>&1",
	    d_dir, extra, leaf, d_port) > 0);
	mft_run(cmd, &out);
	free(cmd);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(test_ocsp_post_good_unknown)
{
	char *out;

	out = ocsp_cli("leaf01.pem", "");
	ck_assert_msg(strstr(out, "Response verify OK") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "leaf01.pem: good") != NULL, "%s", out);
	free(out);
	/* SHA-256 CertIDs (the first request above carried a nonce, which is ignored). */
	out = ocsp_cli("leaf02.pem", "-no_nonce -sha256");
	ck_assert_msg(strstr(out, "Response verify OK") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "leaf02.pem: good") != NULL, "%s", out);
	free(out);
	/* Not in the log: the unsigned unauthorized, no signature spent on it. */
	out = ocsp_cli("leaf08.pem", "-no_nonce");
	ck_assert_msg(strstr(out, "Responder Error: unauthorized") != NULL, "%s", out);
	free(out);
	/* Verified through the cross-signed path to root-b as well. */
	{
		char *cmd;

		ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -issuer certs/issuing-1.root-b.pem "
		    "-cert leaf01.pem -url http://127.0.0.1:%d/ocsp -CAfile certs/root-b.pem "
		    "-verify_other certs/issuing-1.root-b.pem -no_nonce -timeout 5 2>&1",
		    d_dir, d_port) > 0);
		ck_assert_int_eq(mft_run(cmd, &out), 0);
		free(cmd);
		ck_assert_msg(strstr(out, "Response verify OK") != NULL, "%s", out);
		ck_assert_msg(strstr(out, "leaf01.pem: good") != NULL, "%s", out);
		free(out);
	}
}
END_TEST

START_TEST(test_ocsp_get_curl)
{
	char *cmd, *out = NULL;

	/* RFC 5019 GET: base64 of the DER request in the path, escaped by curl's caller. */
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -issuer certs/issuing-1.pem "
	    "-cert leaf03.pem -no_nonce -reqout get.req >/dev/null 2>&1 && "
	    "b64=$(openssl base64 -A < get.req | sed 's,+,%%2B,g; s,/,%%2F,g; s,=,%%3D,g') && "
	    "curl -sS -D get.hdr -o get.resp --max-time 5 http://127.0.0.1:%d/ocsp/$b64 && "
	    "raw=$(openssl base64 -A < get.req) && "
	    "curl -sS -o get2.resp --max-time 5 \"http://127.0.0.1:%d/ocsp/$raw\" && "
	    "cmp get.resp get2.resp && "
	    "openssl ocsp -respin get.resp -issuer certs/issuing-1.pem -cert leaf03.pem "
	    "-CAfile certs/root-a.pem 2>&1 && cat get.hdr", d_dir, d_port, d_port) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	free(cmd);
	ck_assert_msg(strstr(out, "Response verify OK") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "leaf03.pem: good") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "public, no-transform, must-revalidate") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Cache-Control: max-age=") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "ETag: \"") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Last-Modified: ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Expires: ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Content-Type: application/ocsp-response") != NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * How long a functional test waits for something the daemon does in the
 * background (a revocation reaching OCSP, a CRL rebuilt). Generous on
 * purpose: these tests assert the outcome; how fast it comes is the
 * benchmark's business, not theirs (a loaded machine must not fail them).
 */
#define WAIT_MS	20000

/* Polls `openssl ocsp` until want shows up; returns the elapsed ms or -1. */
static int64_t
ocsp_wait_for(const char *leaf, const char *want, int64_t budget_ms)
{
	int64_t t0 = mfdt_ms();

	while (mfdt_ms() - t0 < budget_ms) {
		char *out = ocsp_cli(leaf, "-no_nonce");
		int hit = strstr(out, want) != NULL && strstr(out, "Response verify OK") != NULL;

		free(out);
		if (hit)
			return mfdt_ms() - t0;
		usleep(50000);
	}
	return -1;
}

START_TEST(test_revoke_from_cli_db)
{
	struct mf_db *db;
	char path[600], serial[64], *out;
	int64_t ms;

	out = ocsp_cli("leaf04.pem", "-no_nonce");
	ck_assert_msg(strstr(out, "leaf04.pem: good") != NULL, "%s", out);
	free(out);
	/* A revocation by another process on the same log, as `mayfly revoke` does. */
	ck_assert_int_eq(mft_db_target(d_dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	snprintf(serial, sizeof(serial), SERIAL_BASE "04");
	ck_assert_int_eq(mf_db_cert_revoke(db, serial, 1, (int64_t)time(NULL), "cli:test"), 0);
	mf_db_close(db);
	ms = ocsp_wait_for("leaf04.pem", "leaf04.pem: revoked", WAIT_MS);
	ck_assert_msg(ms >= 0, "the revocation did not reach OCSP within %d ms", WAIT_MS);
	out = ocsp_cli("leaf04.pem", "-no_nonce");
	ck_assert_msg(strstr(out, "Reason: keyCompromise") != NULL, "%s", out);
	free(out);

	/* The CRL is rebuilt on revocation; openssl verifies it and lists the serial. */
	{
		char *cmd;
		int64_t t0 = mfdt_ms();
		int ok = 0;

		while (!ok && mfdt_ms() - t0 < WAIT_MS) {
			ck_assert(asprintf(&cmd, "cd '%s' && curl -sS --max-time 5 -o i1.crl "
			    "http://127.0.0.1:%d/crl/issuing-1.crl && openssl crl -inform DER -in i1.crl "
			    "-CAfile chain.pem -noout -text 2>&1", d_dir, d_port) > 0);
			out = NULL;
			mft_run(cmd, &out);
			free(cmd);
			ok = out != NULL && strstr(out, "verify OK") != NULL &&
			    strcasestr(out, SERIAL_BASE "04") != NULL;
			if (!ok) {
				free(out);
				usleep(100000);
			}
		}
		ck_assert_msg(ok, "CRL does not list the revoked serial");
		ck_assert_ptr_nonnull(strstr(out, "Key Compromise"));
		ck_assert_ptr_nonnull(strstr(out, "X509v3 CRL Number"));
		ck_assert_ptr_nonnull(strstr(out, "X509v3 Authority Key Identifier"));
		free(out);
	}
}
END_TEST

START_TEST(test_admin_revoke)
{
	char req[1024];
	const char *body = "serial=" SERIAL_BASE "05&reason=4";
	int st;
	unsigned char *resp;
	size_t len;
	int64_t ms;

	snprintf(req, sizeof(req), "POST /admin/revoke HTTP/1.0\r\nContent-Length: %zu\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n\r\n%s", strlen(body), body);
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 401);
	snprintf(req, sizeof(req), "POST /admin/revoke HTTP/1.0\r\nContent-Length: %zu\r\n"
	    "Authorization: Bearer wrong-token-0123456789\r\n\r\n%s", strlen(body), body);
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 401);
	snprintf(req, sizeof(req), "POST /admin/revoke HTTP/1.0\r\nContent-Length: 9\r\n"
	    "Authorization: Bearer test-admin-token-0123456789\r\n\r\nserial=zz");
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 400);
	snprintf(req, sizeof(req), "POST /admin/revoke HTTP/1.0\r\nContent-Length: %zu\r\n"
	    "Authorization: Bearer test-admin-token-0123456789\r\n\r\n%s", strlen(body), body);
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, &resp, &len), 0);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(strstr((char *)resp, "revoked serial=" SERIAL_BASE "05"));
	free(resp);
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 409);
	ms = ocsp_wait_for("leaf05.pem", "leaf05.pem: revoked", WAIT_MS);
	ck_assert_msg(ms >= 0, "the revocation did not reach OCSP within %d ms", WAIT_MS);
	/* Unknown serial: 404. */
	body = "serial=abcdef";
	snprintf(req, sizeof(req), "POST /admin/revoke HTTP/1.0\r\nContent-Length: %zu\r\n"
	    "Authorization: Bearer test-admin-token-0123456789\r\n\r\n%s", strlen(body), body);
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 404);
}
END_TEST

/* The value of the /metrics line that starts with series (name and labels), or -1. */
static double
metric_value(const char *series)
{
	unsigned char *resp;
	size_t len, sl = strlen(series);
	const char *p;
	double v = -1;

	if (mfdt_get(d_port, "/metrics", &resp, &len) != 200) {
		free(resp);
		return -1;
	}
	for (p = (const char *)resp; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, series, sl) == 0 && p[sl] == ' ') {
			v = strtod(p + sl + 1, NULL);
			break;
		}
	free(resp);
	return v;
}

/* Waits (bounded) until series reads want; returns what it read last. */
static double
metric_wait(const char *series, double want)
{
	int64_t t0 = mfdt_ms();
	double v;

	while ((v = metric_value(series)) != want && mfdt_ms() - t0 < WAIT_MS)
		usleep(50000);
	return v;
}

#define VIS_COUNT(src)	"mayflyd_revocation_visible_seconds_count{source=\"" src "\"}"

/*
 * Issue 14: how long a revocation takes to reach OCSP is measured inside the
 * daemon, per source, and each revocation counts once under its own source.
 * Not a timing assertion: that is tests/bench/revocation-latency.sh's.
 */
START_TEST(test_revocation_visible_metric)
{
	const char *body = "serial=" SERIAL_BASE "02&reason=1";
	char req[1024], path[600];
	struct mf_db *db;
	double admin0, cli0, v;
	int st;

	admin0 = metric_value(VIS_COUNT("admin-api"));
	cli0 = metric_value(VIS_COUNT("poll"));
	ck_assert_msg(admin0 >= 0 && cli0 >= 0, "no mayflyd_revocation_visible_seconds_count");

	/* As `mayfly revoke` does: another process on the same log. */
	ck_assert_int_eq(mft_db_target(d_dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	ck_assert_int_eq(mf_db_cert_revoke(db, SERIAL_BASE "07", 1, (int64_t)time(NULL),
	    "cli:test"), 0);
	mf_db_close(db);
	ck_assert_int_ge(ocsp_wait_for("leaf07.pem", "leaf07.pem: revoked", WAIT_MS), 0);
	v = metric_wait(VIS_COUNT("poll"), cli0 + 1);
	ck_assert_msg(v == cli0 + 1, "poll count %g, want %g", v, cli0 + 1);
	ck_assert(metric_value(VIS_COUNT("admin-api")) == admin0);

	snprintf(req, sizeof(req), "POST /admin/revoke HTTP/1.0\r\nContent-Length: %zu\r\n"
	    "Authorization: Bearer test-admin-token-0123456789\r\n\r\n%s", strlen(body), body);
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 200);
	ck_assert_int_ge(ocsp_wait_for("leaf02.pem", "leaf02.pem: revoked", WAIT_MS), 0);
	v = metric_wait(VIS_COUNT("admin-api"), admin0 + 1);
	ck_assert_msg(v == admin0 + 1, "admin-api count %g, want %g", v, admin0 + 1);
	ck_assert(metric_value(VIS_COUNT("poll")) == cli0 + 1);

	/* The histogram agrees with its count, and a delay was recorded. */
	ck_assert(metric_value("mayflyd_revocation_visible_seconds_bucket{source=\"admin-api\","
	    "le=\"+Inf\"}") == admin0 + 1);
	ck_assert(metric_value("mayflyd_revocation_visible_seconds_bucket{source=\"poll\","
	    "le=\"+Inf\"}") == cli0 + 1);
	ck_assert(metric_value("mayflyd_revocation_visible_seconds_max{source=\"admin-api\"}") > 0);
	ck_assert(metric_value("mayflyd_revocation_visible_seconds_max{source=\"poll\"}") > 0);
	ck_assert(metric_value("mayflyd_revocation_visible_seconds_sum{source=\"poll\"}") > 0);
}
END_TEST

START_TEST(test_bad_input)
{
	static const unsigned char malformed[5] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
	static const unsigned char unauthorized[5] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };
	char req[8192], *big;
	unsigned char *resp;
	size_t len;
	int st;

	ck_assert_int_eq(mfdt_get(d_port, "/nope", NULL, NULL), 404);
	ck_assert_int_eq(mfdt_get(d_port, "/crl/nope.crl", NULL, NULL), 404);
	ck_assert_int_eq(mfdt_get(d_port, "/ca/nope.pem", NULL, NULL), 404);
	ck_assert_int_eq(mfdt_get(d_port, "/ca/chain.der", NULL, NULL), 404);
	ck_assert_int_eq(mfdt_get(d_port, "/admin/revoke", NULL, NULL), 405);
	snprintf(req, sizeof(req), "DELETE /ocsp HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 405);
	/* Garbage GET and POST: an OCSP malformedRequest, HTTP 200. */
	st = mfdt_get(d_port, "/ocsp/!!!notbase64", &resp, &len);
	ck_assert_int_eq(st, 200);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(resp, malformed, 5) == 0);
	free(resp);
	st = mfdt_get(d_port, "/ocsp/QUJDREVGR0g=", &resp, &len);
	ck_assert_int_eq(st, 200);
	ck_assert(len == 5 && memcmp(resp, malformed, 5) == 0);
	free(resp);
	len = (size_t)snprintf(req, sizeof(req), "POST /ocsp HTTP/1.0\r\n"
	    "Content-Type: application/ocsp-request\r\nContent-Length: 4\r\n\r\n");
	memcpy(req + len, "\x30\x02\x30\x00", 4);	/* an empty-ish SEQUENCE: not a request */
	ck_assert_int_eq(mfdt_http(d_port, req, len + 4, 5000, &st, &resp, &len), 0);
	ck_assert_int_eq(st, 200);
	ck_assert(len == 5 && memcmp(resp, malformed, 5) == 0);
	free(resp);
	/* Wrong content type: 415. */
	snprintf(req, sizeof(req), "POST /ocsp HTTP/1.0\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 2\r\n\r\nhi");
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 415);
	/* A body above max-body (4096): 413, announced or not. */
	snprintf(req, sizeof(req), "POST /ocsp HTTP/1.0\r\nContent-Type: application/ocsp-request\r\n"
	    "Content-Length: 100000\r\n\r\n");
	ck_assert_int_eq(mfdt_http(d_port, req, strlen(req), 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 413);
	big = malloc(20000);
	ck_assert_ptr_nonnull(big);
	len = (size_t)snprintf(big, 20000, "POST /ocsp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/ocsp-request\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "2710\r\n");
	memset(big + len, 'A', 10000);
	len += 10000;
	len += (size_t)snprintf(big + len, 20000 - len, "\r\n0\r\n\r\n");
	ck_assert_int_eq(mfdt_http(d_port, big, len, 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 413);
	free(big);
	/* A request for another CA's certificate: unauthorized. */
	{
		char *cmd, *out = NULL;

		ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -issuer other.pem -cert leaf-other.pem "
		    "-no_nonce -reqout other.req >/dev/null 2>&1 && curl -sS --max-time 5 "
		    "--data-binary @other.req -H 'Content-Type: application/ocsp-request' "
		    "-o other.resp http://127.0.0.1:%d/ocsp && od -An -tx1 other.resp", d_dir,
		    d_port) > 0);
		ck_assert_int_eq(mft_run(cmd, &out), 0);
		free(cmd);
		ck_assert_msg(strstr(out, "30 03 0a 01 06") != NULL, "%s", out);
		free(out);
		(void)unauthorized;
	}
	/* The daemon is still fine. */
	ck_assert_int_eq(mfdt_get(d_port, "/health", NULL, NULL), 200);
}
END_TEST

START_TEST(test_ca_files_and_metrics)
{
	unsigned char *resp, *file;
	size_t len, flen;
	char *cmd, *out = NULL;

	ck_assert_int_eq(mfdt_get(d_port, "/ca/root-a.pem", &resp, &len), 200);
	file = mfdt_read(d_dir, "certs/root-a.pem", &flen);
	ck_assert_ptr_nonnull(file);
	/* Same certificate (PEM re-encoded by OpenSSL is byte-identical here). */
	ck_assert_uint_eq(len, flen);
	ck_assert(memcmp(resp, file, len) == 0);
	free(resp);
	free(file);
	ck_assert_int_eq(mfdt_get(d_port, "/ca/issuing-1.root-b.der", &resp, &len), 200);
	ck_assert(len > 100 && resp[0] == 0x30);
	free(resp);
	ck_assert(asprintf(&cmd, "curl -sS --max-time 5 http://127.0.0.1:%d/ca/chain.p7c | "
	    "openssl pkcs7 -inform DER -print_certs -noout", d_port) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	free(cmd);
	ck_assert_msg(strstr(out, "Test Issuing 1") && strstr(out, "Test Root a"), "%s", out);
	free(out);
	ck_assert_int_eq(mfdt_get(d_port, "/ca/issuing-1.root-b-chain.pem", &resp, &len), 200);
	ck_assert_ptr_nonnull(strstr((char *)resp, "BEGIN CERTIFICATE"));
	free(resp);

	ck_assert_int_eq(mfdt_get(d_port, "/metrics", &resp, &len), 200);
	ck_assert_ptr_nonnull(strstr((char *)resp, "mayflyd_http_requests_total{endpoint=\"ca\",code=\"200\"}"));
	ck_assert_ptr_nonnull(strstr((char *)resp, "mayflyd_ocsp_sign_seconds_bucket{le=\"+Inf\"}"));
	ck_assert_ptr_nonnull(strstr((char *)resp, "mayflyd_ocsp_cache_responses "));
	ck_assert_ptr_nonnull(strstr((char *)resp, "mayflyd_ocsp_cache_oldest_age_seconds "));
	ck_assert_ptr_nonnull(strstr((char *)resp, "mayflyd_certs_revoked_total "));
	ck_assert_ptr_nonnull(strstr((char *)resp, "mayflyd_ocsp_responses_total{status=\"good\"}"));
	free(resp);
}
END_TEST

START_TEST(test_export_dir)
{
	char *cmd, *out = NULL;

	/* The exported file is named by the GET path and holds a verifiable response. */
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -issuer certs/issuing-1.pem -cert leaf06.pem "
	    "-no_nonce -reqout exp.req >/dev/null 2>&1 && "
	    "name=$(openssl base64 -A < exp.req | sed 's,+,%%2B,g; s,/,%%2F,g; s,=,%%3D,g') && "
	    "for i in 1 2 3 4 5 6 7 8 9 10; do [ -f \"ocsp-export/$name\" ] && break; sleep 0.3; done; "
	    "openssl ocsp -respin \"ocsp-export/$name\" -issuer certs/issuing-1.pem -cert leaf06.pem "
	    "-CAfile certs/root-a.pem 2>&1", d_dir) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	free(cmd);
	ck_assert_msg(strstr(out, "leaf06.pem: good") != NULL, "%s", out);
	free(out);
}
END_TEST

/* How many of the n sockets the server has not closed (no EOF, no error). */
static int
open_count(const int *s, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++) {
		struct pollfd p = { s[i], POLLIN, 0 };
		char c;

		if (poll(&p, 1, 0) == 0 ||
		    ((p.revents & POLLIN) && recv(s[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0))
			k++;
	}
	return k;
}

START_TEST(test_half_open_clients)
{
	int s[24], i, n = 0, st;

	/* Clients that connect and say nothing, or half a request, or half a body. */
	for (i = 0; i < 8; i++)
		if ((s[n] = mfdt_connect(d_port)) >= 0)
			n++;
	for (i = 0; i < 8; i++) {
		if ((s[n] = mfdt_connect(d_port)) >= 0) {
			ck_assert_int_gt(write(s[n], "GET /ocsp/MEU", 13), 0);
			n++;
		}
	}
	for (i = 0; i < 8; i++) {
		static const char h[] = "POST /ocsp HTTP/1.1\r\nHost: x\r\n"
		    "Content-Type: application/ocsp-request\r\nContent-Length: 1000\r\n\r\n0123456789";

		if ((s[n] = mfdt_connect(d_port)) >= 0) {
			ck_assert_int_gt(write(s[n], h, sizeof(h) - 1), 0);
			n++;
		}
	}
	ck_assert_int_eq(n, 24);
	/*
	 * Everyone else is served while they hang on: asserted by order, not by
	 * a stopwatch. A server that served others only once it had dropped the
	 * idle clients (connection-timeout) would answer only after their
	 * sockets were closed; each answer here must come while all 24 are
	 * still open.
	 */
	for (i = 0; i < 5; i++) {
		char *out;

		ck_assert_int_eq(mfdt_get(d_port, "/health", NULL, NULL), 200);
		if (i == 0)
			ck_assert_msg(open_count(s, n) == n, "/health answered only after %d of the "
			    "idle connections were dropped", n - open_count(s, n));
		out = ocsp_cli("leaf01.pem", "-no_nonce");
		ck_assert_msg(strstr(out, "leaf01.pem: good") != NULL, "%s", out);
		free(out);
	}
	/* Disconnect mid-body, then check again. */
	for (i = 0; i < n; i++)
		close(s[i]);
	ck_assert_int_eq(mfdt_http(d_port, "GET /health HTTP/1.0\r\n\r\n", 24, 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 200);
}
END_TEST

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Headers trickled a byte every 300 ms never let connection-timeout (3 s
 * idle) fire; request-timeout (3 s for the whole request) closes the
 * connection (src/httpguard.c), and not before it is due.
 */
START_TEST(test_slow_headers)
{
	static const char h[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	long long t0, end;
	int s, closed = 0;

	ck_assert_int_ge(s = mfdt_connect(d_port), 0);
	t0 = ms_now();
	ck_assert_int_gt(write(s, h, sizeof(h) - 1), 0);
	end = t0 + 8000;
	while (ms_now() < end) {
		struct pollfd p = { s, POLLIN, 0 };
		char c;

		if (poll(&p, 1, 300) == 1 && recv(s, &c, 1, 0) <= 0) {
			closed = 1;
			break;
		}
		if (send(s, "a", 1, MSG_NOSIGNAL) != 1) {
			closed = 1;
			break;
		}
	}
	ck_assert_msg(closed, "a request trickling its headers was still open after 8 s");
	ck_assert_int_ge(ms_now() - t0, 2900);
	ck_assert_int_lt(ms_now() - t0, 6000);
	close(s);
}
END_TEST

/*
 * A body streamed far past max-body (4096) is not read to its end: the
 * connection is dropped once MF_HG_BODY_DRAIN(4096) bytes have come, long
 * before the 64 MB this client would send (the socket buffers on both sides
 * hold a few MB of it).
 */
START_TEST(test_endless_body)
{
	static const char h[] = "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/ocsp-request\r\nTransfer-Encoding: chunked\r\n\r\n";
	char chunk[4096 + 16];
	struct timeval tv = { 10, 0 };
	size_t sent = 0;
	int s, n, st, sndbuf = 65536;

	memset(chunk, 'A', sizeof(chunk));
	n = snprintf(chunk, sizeof(chunk), "%x\r\n", 4096);
	chunk[n + 4096] = '\r';
	chunk[n + 4097] = '\n';
	ck_assert_int_ge(s = mfdt_connect(d_port), 0);
	/* Little in the socket buffers, and no send blocking for ever. */
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_gt(write(s, h, sizeof(h) - 1), 0);
	while (sent < 64u * 1024 * 1024) {
		ssize_t w = send(s, chunk, (size_t)n + 4098, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	/* Before the guard, all 64 MB were read (and thrown away) for one 413. */
	ck_assert_msg(sent < 64u * 1024 * 1024, "64 MB of body were all taken");
	close(s);
	/* The listener is still there for others. */
	ck_assert_int_eq(mfdt_http(d_port, "GET /health HTTP/1.0\r\n\r\n", 24, 5000, &st, NULL, NULL), 0);
	ck_assert_int_eq(st, 200);
}
END_TEST


/* ---- nginx stapling ------------------------------------------------------------ */

/* nginx on nport serving cert (full chain) and key, stapling, trusting trusted. */
static pid_t
nginx_start(const char *dir, int nport, const char *cert, const char *key, const char *trusted)
{
	char conf[600];
	FILE *f;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f,
	    "%s"
	    "daemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
	    "error_log %s/nginx-error.log info;\n"
	    "events { worker_connections 64; }\n"
	    "http {\n"
	    "  access_log off;\n"
	    "  client_body_temp_path %s/ngx-body; proxy_temp_path %s/ngx-proxy;\n"
	    "  fastcgi_temp_path %s/ngx-fcgi; uwsgi_temp_path %s/ngx-uwsgi; scgi_temp_path %s/ngx-scgi;\n"
	    "  server {\n"
	    "    listen 127.0.0.1:%d ssl;\n"
	    "    ssl_certificate %s/%s;\n"
	    "    ssl_certificate_key %s/%s;\n"
	    "    ssl_stapling on;\n"
	    "    ssl_stapling_verify on;\n"
	    "    ssl_trusted_certificate %s/%s;\n"
	    "    location / { return 200 \"ok\\n\"; }\n"
	    "  }\n"
	    "}\n", geteuid() == 0 ? "user root root;\n" : "", dir, dir, dir, dir, dir, dir, dir,
	    nport, dir, cert, dir, key, dir, trusted);
	fclose(f);
	if ((pid = fork()) == 0) {
		char log[600];
		int fd;

		snprintf(log, sizeof(log), "%s/nginx-stderr.log", dir);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/sbin/nginx", "nginx", "-p", dir, "-c", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
nginx_stop(pid_t pid)
{
	int64_t end = mfdt_ms() + 5000;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (mfdt_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* s_client -status until the staple contains want (bounded); returns the last output. */
static char *
staple_wait(const char *dir, int nport, const char *want)
{
	char *cmd, *out = NULL;
	int i;

	ck_assert(asprintf(&cmd, "cd '%s' && echo | timeout 10 openssl s_client -connect "
	    "127.0.0.1:%d -status -CAfile certs/root-a.pem 2>&1", dir, nport) > 0);
	for (i = 0; i < 40; i++) {
		free(out);
		out = NULL;
		mft_run(cmd, &out);
		if (out != NULL && strstr(out, want) != NULL)
			break;
		usleep(250000);
	}
	free(cmd);
	return out;
}



/* ---- against a setup made by `mayfly init` -------------------------------------- */

/* Runs a shell command in dir with ./mayfly as $MAYFLY; returns its exit status. */
static int
in_dir(const char *dir, char **out, const char *fmt, ...)
{
	char *mayfly = mft_buildpath("mayfly"), *body, *cmd;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	ck_assert(vasprintf(&body, fmt, ap) > 0);
	va_end(ap);
	ck_assert(asprintf(&cmd, "cd '%s' && MAYFLY='%s -c %s/mayfly.yaml' && { %s ; } 2>&1", dir,
	    mayfly, dir, body) > 0);
	rc = mft_run(cmd, out);
	free(cmd);
	free(body);
	free(mayfly);
	return rc;
}

/*
 * `mayfly init --dir dir --keys keys --port P`, then the shell command then
 * (if any) in dir, then mayflyd. The port goes into the certificates, so it
 * is chosen first, and held (mfdt_hold_port) until mayflyd binds it.
 * *port gets it.
 */
static pid_t
init_start(const char *dir, const char *keys, const char *then, int *port)
{
	char *mayfly = mft_buildpath("mayfly"), *cmd;

	*port = mfdt_hold_port();
	ck_assert_int_gt(*port, 0);
	ck_assert(asprintf(&cmd, "rm -rf '%s' && '%s' init --dir '%s' --keys %s --port %d "
	    ">/dev/null 2>&1", dir, mayfly, dir, keys, *port) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	free(mayfly);
	ck_assert_int_eq(mft_db_onpg(dir), 0);
	if (then != NULL)
		ck_assert_int_eq(in_dir(dir, NULL, "%s", then), 0);
	return mfdt_start(dir, *port);
}

/* `mayfly issue` of a fresh localhost certificate into name.pem (+ chain); serial in hex. */
static void
cli_issue(const char *dir, const char *name, char *serial, size_t serlen)
{
	char *out = NULL, *p;

	ck_assert_int_eq(in_dir(dir, &out, "openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s.key -out %s.csr -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 && "
	    "$MAYFLY issue --csr %s.csr --out %s.pem", name, name, name, name), 0);
	ck_assert_ptr_nonnull(p = strstr(out, "serial="));
	p += 7;
	snprintf(serial, serlen, "%.*s", (int)strspn(p, "0123456789abcdefABCDEF"), p);
	ck_assert_uint_ge(strlen(serial), 16);
	free(out);
}

static char *
cli_ocsp(const char *dir, int port, const char *cert, const char *extra)
{
	char *out = NULL;

	in_dir(dir, &out, "openssl ocsp %s -issuer certs/issuing-1.pem -cert %s "
	    "-url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5", extra, cert, port);
	ck_assert_ptr_nonnull(out);
	return out;
}

static int64_t
cli_wait_status(const char *dir, int port, const char *cert, const char *want, int64_t budget)
{
	int64_t t0 = mfdt_ms();

	while (mfdt_ms() - t0 < budget) {
		char *out = cli_ocsp(dir, port, cert, "-no_nonce");
		int hit = strstr(out, want) != NULL && strstr(out, "Response verify OK") != NULL;

		free(out);
		if (hit)
			return mfdt_ms() - t0;
		usleep(50000);
	}
	return -1;
}

START_TEST(test_cli_init_file)
{
	char *tmp = mft_tmpdir(), dir[600], serial[64], *out = NULL, want[128];
	int port, nport = mfdt_hold_port(), i;
	int64_t ms, t0;
	pid_t pid, ng;
	size_t len;

	ck_assert_ptr_nonnull(tmp);
	snprintf(dir, sizeof(dir), "%s/ca", tmp);
	/* The root's CRL, signed offline, is what intermediates point to. */
	pid = init_start(dir, "file", "$MAYFLY crl root >/dev/null", &port);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(in_dir(dir, &out, "curl -sS --max-time 5 -o root.crl "
	    "http://127.0.0.1:%d/crl/root-a.crl && openssl crl -inform DER -in root.crl "
	    "-CAfile certs/root-a.pem -noout && curl -s -o /dev/null -w '%%{http_code}' "
	    "http://127.0.0.1:%d/crl/root-b.crl", port, port), 0);
	ck_assert_msg(strstr(out, "verify OK") != NULL, "root CRL: %s", out);
	ck_assert_msg(strstr(out, "404") != NULL, "root-b has no CRL file: %s", out);
	free(out);

	/* Issued after the daemon started: answered on first request, POST and GET. */
	cli_issue(dir, "srv", serial, sizeof(serial));
	out = cli_ocsp(dir, port, "srv.pem", "");
	ck_assert_msg(strstr(out, "srv.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);
	ck_assert_int_eq(in_dir(dir, &out, "openssl ocsp -issuer certs/issuing-1.pem -cert srv.pem "
	    "-no_nonce -reqout g.req >/dev/null && curl -sS --max-time 5 -o g.resp "
	    "\"http://127.0.0.1:%d/ocsp/$(openssl base64 -A < g.req)\" && openssl ocsp -respin g.resp "
	    "-issuer certs/issuing-1.pem -cert srv.pem -CAfile certs/root-a.pem", port), 0);
	ck_assert_msg(strstr(out, "srv.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);
	/* Signed by the intermediate but never logged: unauthorized, unsigned. */
	ck_assert_int_eq(in_dir(dir, NULL, "openssl x509 -req -in srv.csr -CA certs/issuing-1.pem "
	    "-CAkey keys/issuing-1.pem -set_serial 0x1234567890 -days 1 -out rogue.pem"), 0);
	out = cli_ocsp(dir, port, "rogue.pem", "-no_nonce");
	ck_assert_msg(strstr(out, "Responder Error: unauthorized") != NULL, "%s", out);
	free(out);

	/* nginx staples it. */
	ck_assert_int_eq(in_dir(dir, NULL, "cat certs/issuing-1.pem certs/root-a.pem > trust.pem"), 0);
	ng = nginx_start(dir, nport, "srv.pem", "srv.key", "trust.pem");
	ck_assert_int_gt(ng, 0);
	out = staple_wait(dir, nport, "Cert Status: good");
	ck_assert_msg(strstr(out, "OCSP Response Status: successful") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Cert Status: good") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "Verify return code: 0 (ok)") != NULL, "%s", out);
	free(out);

	/* `mayfly revoke`: OCSP says so within a second. */
	ck_assert_int_eq(in_dir(dir, NULL, "$MAYFLY revoke %s --reason keyCompromise", serial), 0);
	ms = cli_wait_status(dir, port, "srv.pem", "srv.pem: revoked", WAIT_MS);
	ck_assert_msg(ms >= 0, "the revocation did not reach OCSP within %d ms", WAIT_MS);

	/* The CRL verifies and lists the serial (bounded wait for the rebuild). */
	for (t0 = mfdt_ms(); mfdt_ms() - t0 < WAIT_MS; ) {
		out = NULL;
		in_dir(dir, &out, "curl -sS --max-time 5 -o i1.crl http://127.0.0.1:%d/crl/issuing-1.crl "
		    "&& openssl crl -inform DER -in i1.crl -CAfile trust.pem -noout -text", port);
		if (out != NULL && strstr(out, "verify OK") && strcasestr(out, serial))
			break;
		free(out);
		out = NULL;
		usleep(100000);
	}
	ck_assert_msg(out != NULL, "CRL never listed %s", serial);
	ck_assert_ptr_nonnull(strstr(out, "Key Compromise"));
	free(out);

	/*
	 * nginx, restarted to drop its staple cache, fetches the revoked answer
	 * and, as it does with any status but good, logs it and staples nothing.
	 */
	nginx_stop(ng);
	ng = nginx_start(dir, nport, "srv.pem", "srv.key", "trust.pem");
	ck_assert_int_gt(ng, 0);
	snprintf(want, sizeof(want), "certificate status \"revoked\" in the OCSP response");
	for (i = 0; i < 40; i++) {
		char *log;

		free(staple_wait(dir, nport, "OCSP response:"));
		log = (char *)mfdt_read(dir, "nginx-error.log", &len);
		if (log != NULL && strstr(log, want) != NULL) {
			free(log);
			break;
		}
		free(log);
		usleep(250000);
	}
	ck_assert_int_lt(i, 40);
	out = staple_wait(dir, nport, "OCSP response:");
	ck_assert_msg(strstr(out, "OCSP response: no response sent") != NULL, "%s", out);
	free(out);
	nginx_stop(ng);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(tmp);
	free(tmp);
}
END_TEST

START_TEST(test_cli_init_softhsm)
{
	char *tmp = mft_tmpdir(), dir[600], serial[64], *out = NULL, tokens[700], gone[700];
	int port, i, st = 0;
	unsigned char *resp = NULL;
	size_t len;
	pid_t pid;

	ck_assert_ptr_nonnull(tmp);
	snprintf(dir, sizeof(dir), "%s/ca", tmp);
	pid = init_start(dir, "softhsm", NULL, &port);
	ck_assert_int_gt(pid, 0);
	cli_issue(dir, "srv", serial, sizeof(serial));
	out = cli_ocsp(dir, port, "srv.pem", "-no_nonce");
	ck_assert_msg(strstr(out, "srv.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);

	/* The token directory goes away. */
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(gone, sizeof(gone), "%s/tokens.away", dir);
	ck_assert_int_eq(rename(tokens, gone), 0);
	for (i = 0; i < 50; i++) {
		free(resp);
		resp = NULL;
		if ((st = mfdt_get(port, "/health", &resp, &len)) == 503)
			break;
		usleep(100000);
	}
	ck_assert_int_eq(st, 503);
	ck_assert_msg(strstr((char *)resp, "keys") != NULL, "%s", resp);
	free(resp);
	/* Still-valid responses are served; new signing fails closed. */
	out = cli_ocsp(dir, port, "srv.pem", "-no_nonce");
	ck_assert_msg(strstr(out, "srv.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);
	out = cli_ocsp(dir, port, "srv.pem", "-no_nonce -sha256");
	ck_assert_msg(strstr(out, "Responder Error: trylater") != NULL, "%s", out);
	free(out);
	/* Issuance from the CLI fails closed too (exit 4: key or HSM error). */
	ck_assert_int_eq(in_dir(dir, NULL, "$MAYFLY issue --csr srv.csr --out srv2.pem"), 4);
	/* Back: healthy, and signing again. */
	ck_assert_int_eq(rename(gone, tokens), 0);
	for (i = 0; i < 80; i++) {
		if ((st = mfdt_get(port, "/health", NULL, NULL)) == 200)
			break;
		usleep(100000);
	}
	ck_assert_int_eq(st, 200);
	out = cli_ocsp(dir, port, "srv.pem", "-no_nonce -sha256");
	ck_assert_msg(strstr(out, "srv.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(tmp);
	free(tmp);
}
END_TEST

/* The epoch of "LABEL: Mon DD HH:MM:SS YYYY GMT" in openssl ocsp's text, or -1. */
static int64_t
ocsp_time(const char *out, const char *label)
{
	const char *p = strstr(out, label);
	struct tm tm;

	if (p == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (strptime(p + strlen(label), " %b %d %H:%M:%S %Y GMT", &tm) == NULL)
		return -1;
	return (int64_t)timegm(&tm);
}

/*
 * The 40 % rule: a response valid for 1 min (the least allowed) is not
 * re-signed before 24 s of its life and is re-signed, unasked, before it
 * goes stale. Polls (no blind sleep) until the answer changes and asserts
 * on the two responses' own times: the signer sets thisUpdate to the time
 * of signing, so the gap between them is when the refresher acted. Fails
 * on a refresher that re-signs at once, or only once responses expired.
 */
static int
prep_short_validity(const char *dir, int port, void *arg)
{
	char *cmd;
	int rc;

	(void)port;
	(void)arg;
	if (asprintf(&cmd, "sed -i 's/validity: 4h/validity: 1m/' '%s/mayfly.yaml'", dir) < 0)
		return -1;
	rc = mft_run(cmd, NULL);
	free(cmd);
	return rc;
}

static double metric(int port, const char *name);

START_TEST(test_resign_before_half_life)
{
	char *dir = mft_tmpdir(), *cmd, *out = NULL;
	int port;
	int64_t t1, nu1, t2 = -1, t0;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start_with(dir, &port, prep_short_validity, NULL);
	ck_assert_int_gt(pid, 0);
	/*
	 * /health said 200: the first round has pre-signed, so the first
	 * request is a hit too (on PostgreSQL that round took long enough
	 * for it to be a miss while /health answered 200 from the start).
	 * The round logs event=presigned before /health may say 200.
	 */
	{
		size_t len;
		char *log = (char *)mfdt_read(dir, "mayflyd.log", &len);

		ck_assert_msg(log != NULL && strstr(log, "event=presigned ") != NULL,
		    "/health said 200 before the first pre-sign round: %.300s", log ? log : "");
		free(log);
	}
	ck_assert_int_eq(mfdt_get(port, "/crl/issuing-1.crl", NULL, NULL), 200);
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -no_nonce -issuer certs/issuing-1.pem "
	    "-cert leaf01.pem -url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 "
	    "-resp_text 2>&1", dir, port) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	t1 = ocsp_time(out, "This Update:");
	nu1 = ocsp_time(out, "Next Update:");
	ck_assert_msg(t1 > 0 && nu1 > 0, "%s", out);
	ck_assert_int_eq(nu1 - t1, 60);
	free(out);
	/* A deadline well past the response's expiry, polled once a second. */
	for (t0 = mfdt_ms(); mfdt_ms() - t0 < 90000; usleep(1000000)) {
		ck_assert_int_eq(mft_run(cmd, &out), 0);
		ck_assert_msg(strstr(out, "leaf01.pem: good") && strstr(out, "Response verify OK"),
		    "%s", out);
		t2 = ocsp_time(out, "This Update:");
		ck_assert_msg(t2 > 0, "%s", out);
		free(out);
		if (t2 != t1)
			break;
	}
	free(cmd);
	ck_assert_msg(t2 != t1, "the response was never re-signed");
	ck_assert_msg(t2 - t1 >= 24, "re-signed after %lld s, before 40 %% of its 60 s",
	    (long long)(t2 - t1));
	ck_assert_msg(t2 < nu1, "re-signed only after it went stale (%lld s)", (long long)(t2 - t1));
	/* And that came from the cache: the refresher did it, not a miss. */
	{
		double misses = metric(port, "mayflyd_ocsp_cache_misses_total");

		ck_assert_msg(misses == 0, "mayflyd_ocsp_cache_misses_total %g, want 0", misses);
	}
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* A second intermediate under root-b, with a leaf of its own in the log. */
static int
prep_issuing_2(const char *dir, int port, void *arg)
{
	char *cmd, path[600];
	struct mf_db *db;

	(void)port;
	(void)arg;
	ck_assert(asprintf(&cmd, "cd '%s' && exec >i2.log 2>&1 && "
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout keys/issuing-2.key -out i2.csr -subj '/CN=Test Issuing 2' && "
	    "openssl x509 -req -in i2.csr -CA certs/root-b.pem -CAkey keys/root-b.key -set_serial 0x2001 "
	    "-days 365 -extfile ca.ext -out certs/issuing-2.pem && chmod 600 keys/issuing-2.key && "
	    "openssl x509 -req -in leaf08.csr -CA certs/issuing-2.pem -CAkey keys/issuing-2.key "
	    "-set_serial 0x" SERIAL_BASE "99 -days 1 -extfile leaf.ext -out leaf-i2.pem", dir) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	ck_assert(asprintf(&cmd, "cd '%s' && sed -i 's|^daemon:|  - name: issuing-2\\n    root: root-b\\n"
	    "    key: file:keys/issuing-2.key\\n    cert: certs/issuing-2.pem\\ndaemon:|' mayfly.yaml",
	    dir) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	ck_assert_int_eq(mft_db_target(dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	ck_assert_int_eq(mfdt_insert(db, dir, "leaf-i2.pem", "issuing-2"), 0);
	mf_db_close(db);
	return 0;
}

START_TEST(test_two_intermediates)
{
	char *dir = mft_tmpdir(), *cmd, *out = NULL;
	int port;
	unsigned char *resp;
	size_t len;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start_with(dir, &port, prep_issuing_2, NULL);
	ck_assert_int_gt(pid, 0);
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -no_nonce -issuer certs/issuing-2.pem "
	    "-cert leaf-i2.pem -url http://127.0.0.1:%d/ocsp -CAfile certs/root-b.pem -timeout 5 2>&1 && "
	    "openssl ocsp -no_nonce -issuer certs/issuing-1.pem -cert leaf01.pem "
	    "-url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 2>&1 && "
	    "openssl ocsp -no_nonce -issuer certs/issuing-2.pem -serial 0x" SERIAL_BASE "01 "
	    "-url http://127.0.0.1:%d/ocsp -CAfile certs/root-b.pem -timeout 5 2>&1; true",
	    dir, port, port, port) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	free(cmd);
	ck_assert_msg(strstr(out, "leaf-i2.pem: good") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "leaf01.pem: good") != NULL, "%s", out);
	/* A serial of issuing-1 asked under issuing-2 is not issuing-2's: unauthorized. */
	ck_assert_msg(strstr(out, "Responder Error: unauthorized") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(mfdt_get(port, "/ca/issuing-2-chain.pem", &resp, &len), 200);
	free(resp);
	{
		int64_t t0 = mfdt_ms();
		int st = 0;

		while (st != 200 && mfdt_ms() - t0 < WAIT_MS) {
			if ((st = mfdt_get(port, "/crl/issuing-2.crl", NULL, NULL)) != 200)
				usleep(100000);
		}
		ck_assert_int_eq(st, 200);
	}
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- the HSM goes away ------------------------------------------------------- */

/* A real SoftHSM2 token in dir holding the intermediate's key, named in mayfly.yaml. */
static int
prep_softhsm(const char *dir, int port, void *arg)
{
	char *cmd;

	(void)arg;
	ck_assert_int_eq(mft_softhsm_setup(dir, "mayfly"), 0);
	ck_assert(asprintf(&cmd, "cd '%s' && SOFTHSM2_CONF='%s/softhsm2.conf' softhsm2-util --import "
	    "keys/issuing-1.key --token mayfly --label issuing-1 --id 01 --pin 1234 >import.log 2>&1 "
	    "&& rm keys/issuing-1.key", dir, dir) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	return mfdt_yaml(dir, port, MF_SOFTHSM_MODULE);
}

START_TEST(test_softhsm_token_vanishes)
{
	char *dir = mft_tmpdir(), *cmd, *out = NULL, tokens[600], gone[600];
	int port, i, st = 0;
	pid_t pid;
	unsigned char *resp;
	size_t len;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start_with(dir, &port, prep_softhsm, NULL);
	ck_assert_int_gt(pid, 0);

	/* Served and cached while the token is there. */
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -no_nonce -issuer certs/issuing-1.pem "
	    "-cert leaf01.pem -url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 2>&1",
	    dir, port) > 0);
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	ck_assert_msg(strstr(out, "leaf01.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);
	ck_assert_int_eq(mfdt_get(port, "/crl/issuing-1.crl", NULL, NULL), 200);

	/* The token vanishes. */
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(gone, sizeof(gone), "%s/tokens.gone", dir);
	ck_assert_int_eq(rename(tokens, gone), 0);
	for (i = 0; i < 50; i++) {
		st = mfdt_get(port, "/health", &resp, &len);
		if (st == 503)
			break;
		free(resp);
		usleep(100000);
	}
	ck_assert_int_eq(st, 503);
	ck_assert_msg(strstr((char *)resp, "keys") != NULL, "%s", resp);
	free(resp);
	/* Still-valid responses keep being served... */
	ck_assert_int_eq(mft_run(cmd, &out), 0);
	ck_assert_msg(strstr(out, "leaf01.pem: good") && strstr(out, "Response verify OK"), "%s", out);
	free(out);
	free(cmd);
	/* ...but nothing new is signed: a response not cached yet gets tryLater. */
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -no_nonce -sha256 -issuer certs/issuing-1.pem "
	    "-cert leaf02.pem -url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 2>&1",
	    dir, port) > 0);
	mft_run(cmd, &out);
	free(cmd);
	ck_assert_msg(strstr(out, "Responder Error: trylater") != NULL, "%s", out);
	free(out);
	/* The token is back: healthy again. */
	ck_assert_int_eq(rename(gone, tokens), 0);
	for (i = 0; i < 50; i++) {
		if ((st = mfdt_get(port, "/health", NULL, NULL)) == 200)
			break;
		usleep(100000);
	}
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- start, reload, stop ------------------------------------------------------ */

START_TEST(test_lifecycle)
{
	char *dir = mft_tmpdir(), *out;
	int port, st;
	pid_t pid;
	unsigned char *resp;
	size_t len;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start(dir, &port);
	ck_assert_int_gt(pid, 0);
	/* The signer is a separate process: the daemon has a child. */
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "pgrep -P %d >/dev/null", (int)pid);
		ck_assert_int_eq(mft_run(cmd, NULL), 0);
	}
	/* SIGHUP: reload while serving. */
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	usleep(300000);
	ck_assert_int_eq(mfdt_get(port, "/health", NULL, NULL), 200);
	st = mfdt_get(port, "/crl/issuing-1.crl", &resp, &len);
	for (int i = 0; i < 50 && st != 200; i++) {
		free(resp);
		usleep(100000);
		st = mfdt_get(port, "/crl/issuing-1.crl", &resp, &len);
	}
	ck_assert_int_eq(st, 200);
	free(resp);
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
	/* The responses reach the database (bounded wait). */
	{
		int64_t t0 = mfdt_ms(), n = 0;

		while (n < 7 && mfdt_ms() - t0 < WAIT_MS) {
			n = mft_db_int(dir, "SELECT count(*) FROM ocsp_responses");
			if (n < 7)
				usleep(100000);
		}
		ck_assert_int_ge(n, 7);
	}
	/* SIGTERM: drains and exits 0. */
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	out = (char *)mfdt_read(dir, "mayflyd.log", &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(strstr(out, "event=reloaded"));
	ck_assert_ptr_nonnull(strstr(out, "event=stopped"));
	free(out);

	/*
	 * Restart: the stored responses are served at once, except that a
	 * revocation made while the daemon was down is not hidden by them.
	 */
	{
		struct mf_db *db;
		char path[600], *cmd;

		ck_assert_int_eq(mft_db_target(dir, 0, path, sizeof(path)), 0);
		ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
		ck_assert_int_eq(mf_db_cert_revoke(db, SERIAL_BASE "03", 4, (int64_t)time(NULL),
		    "cli:test"), 0);
		mf_db_close(db);
		ck_assert_int_eq(mft_write(dir, "mayflyd.log", ""), 0);
		pid = mfdt_start(dir, port);
		ck_assert_int_gt(pid, 0);
		ck_assert(asprintf(&cmd, "cd '%s' && for l in leaf01 leaf03; do openssl ocsp -no_nonce "
		    "-issuer certs/issuing-1.pem -cert $l.pem -url http://127.0.0.1:%d/ocsp "
		    "-CAfile certs/root-a.pem -timeout 5 2>&1; done", dir, port) > 0);
		ck_assert_int_eq(mft_run(cmd, &out), 0);
		free(cmd);
		ck_assert_msg(strstr(out, "leaf01.pem: good") != NULL, "%s", out);
		ck_assert_msg(strstr(out, "leaf03.pem: revoked") != NULL, "%s", out);
		free(out);
		out = (char *)mfdt_read(dir, "mayflyd.log", &len);
		ck_assert_msg(strstr(out, "event=ocsp-loaded responses=") != NULL, "%s", out);
		free(out);
		ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	}
	/*
	 * A configuration error exits 3, as mayflyd(8) says, and does not hang:
	 * one the parser finds, and one found after start-up (the admin token
	 * file named but gone).
	 */
	{
		char *cmd;

		ck_assert(asprintf(&cmd, "rm -f '%s/admin.token'", dir) > 0);
		ck_assert_int_eq(mft_run(cmd, NULL), 0);
		free(cmd);
		ck_assert_int_eq(mfdt_exit_status(dir, 30000), 3);
		out = (char *)mfdt_read(dir, "mayflyd.log", &len);
		ck_assert_msg(strstr(out, "event=config-failed") != NULL, "%s", out);
		free(out);
	}
	ck_assert_int_eq(mft_write(dir, "mayfly.yaml", "database: [\n"), 0);
	ck_assert_int_eq(mfdt_exit_status(dir, 30000), 3);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * Asks dir's daemon on port for leaf's status with both CertID hashes, by
 * POST (openssl ocsp) and by GET (curl, then openssl ocsp -respin); returns
 * the four outputs, one after the other.
 */
static char *
ocsp_four_ways(const char *dir, int port, const char *leaf)
{
	char *cmd, *out = NULL;

	ck_assert(asprintf(&cmd, "cd '%s' && for h in -sha1 -sha256; do "
	    "openssl ocsp -no_nonce $h -issuer certs/issuing-1.pem -cert %s.pem "
	    "-url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 2>&1; "
	    "openssl ocsp -no_nonce $h -issuer certs/issuing-1.pem -cert %s.pem -reqout g$h.req "
	    ">/dev/null 2>&1 && curl -sS --max-time 5 -o g$h.resp "
	    "\"http://127.0.0.1:%d/ocsp/$(openssl base64 -A < g$h.req | "
	    "sed 's,+,%%2B,g; s,/,%%2F,g; s,=,%%3D,g')\" && openssl ocsp $h -respin g$h.resp "
	    "-issuer certs/issuing-1.pem -cert %s.pem -CAfile certs/root-a.pem 2>&1; done",
	    dir, leaf, port, leaf, port, leaf) > 0);
	mft_run(cmd, &out);
	free(cmd);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* `openssl ocsp` (POST, SHA-1) for dir/leaf.pem against the daemon on port. */
static char *
ocsp_cli_at(const char *dir, int port, const char *leaf)
{
	char *cmd, *out = NULL;

	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -no_nonce -issuer certs/issuing-1.pem "
	    "-cert %s.pem -url http://127.0.0.1:%d/ocsp -CAfile certs/root-a.pem -timeout 5 2>&1",
	    dir, leaf, port) > 0);
	mft_run(cmd, &out);
	free(cmd);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* Occurrences of needle in hay. */
static int
count_str(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* A single integer from an SQL query on dir's log, or -1. */
static int64_t
db_int(const char *dir, const char *sql)
{
	return mft_db_int(dir, sql);
}

/*
 * Issue 9 item 1: a certificate revoked while the daemon is down is
 * revoked for every CertID hash and both methods once it is back, although
 * "good" responses for it were stored in the database, SHA-256 ones too.
 */
START_TEST(test_revoked_while_down)
{
	char *dir = mft_tmpdir(), *out;
	int port, i;
	struct mf_db *db;
	char path[600];
	size_t len;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start(dir, &port);
	ck_assert_int_gt(pid, 0);
	out = ocsp_four_ways(dir, port, "leaf06");
	ck_assert_msg(count_str(out, "leaf06.pem: good") == 4, "%s", out);
	ck_assert_msg(count_str(out, "Response verify OK") == 4, "%s", out);
	free(out);
	/* Both hashes of leaf06 are stored (bounded wait for the exporter). */
	for (i = 0; i < 60 && db_int(dir, "SELECT count(*) FROM ocsp_responses WHERE alg = 2 "
	    "AND status = 0 AND serial = '" SERIAL_BASE "06'") != 1; i++)
		usleep(100000);
	ck_assert_int_lt(i, 60);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);

	/* `mayfly revoke` while the daemon is stopped, as another process on the log. */
	ck_assert_int_eq(mft_db_target(dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	ck_assert_int_eq(mf_db_cert_revoke(db, SERIAL_BASE "06", 1, (int64_t)time(NULL),
	    "cli:test"), 0);
	mf_db_close(db);
	ck_assert_int_eq(mft_write(dir, "mayflyd.log", ""), 0);
	pid = mfdt_start(dir, port);
	ck_assert_int_gt(pid, 0);
	out = ocsp_four_ways(dir, port, "leaf06");
	ck_assert_msg(count_str(out, "leaf06.pem: revoked") == 4, "%s", out);
	ck_assert_msg(count_str(out, "Response verify OK") == 4, "%s", out);
	ck_assert_msg(strstr(out, ": good") == NULL, "%s", out);
	free(out);
	/* The other stored responses were still used. */
	out = (char *)mfdt_read(dir, "mayflyd.log", &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strstr(out, "event=ocsp-loaded responses=") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* The value of a metric line "name value" from /metrics, or -1. */
static double
metric(int port, const char *name)
{
	unsigned char *m = NULL;
	size_t len, nl = strlen(name);
	double v = -1;
	char *p;

	if (mfdt_get(port, "/metrics", &m, &len) != 200) {
		free(m);
		return -1;
	}
	for (p = (char *)m; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			v = strtod(p + nl + 1, NULL);
			break;
		}
	free(m);
	return v;
}

/*
 * Issue 9 item 2: a flood of never-issued serials, by GET and POST, with
 * both CertID hashes, costs no signature: each gets the unsigned
 * unauthorized, and the daemon's signing counter does not move. Bounded:
 * 2,000 requests, 120 s.
 */
START_TEST(test_unknown_serial_flood)
{
	static const unsigned char unauthorized[5] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };
	char *dir = mft_tmpdir(), path[600], *out;
	int port, i, bad = 0;
	struct mfd_issuer_id iid;
	double signed0, signed1, unauth0, unauth1;
	int64_t t0;
	X509 *ica;
	FILE *f;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start(dir, &port);
	ck_assert_int_gt(pid, 0);
	snprintf(path, sizeof(path), "%s/certs/issuing-1.pem", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ica = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(ica);
	ck_assert_int_eq(mfd_issuer_id_of(ica, &iid), 0);
	X509_free(ica);
	/* The pre-sign pass is over once the 7 logged certificates are cached. */
	for (i = 0; i < 100 && metric(port, "mayflyd_ocsp_cache_responses") < 7; i++)
		usleep(100000);
	ck_assert_int_lt(i, 100);
	signed0 = metric(port, "mayflyd_ocsp_sign_seconds_count");
	unauth0 = metric(port, "mayflyd_ocsp_responses_total{status=\"unauthorized\"}");
	ck_assert(signed0 >= 7 && unauth0 >= 0);
	t0 = mfdt_ms();
	for (i = 0; i < 2000 && mfdt_ms() - t0 < 120000; i++) {
		struct mfd_certid id;
		unsigned char *der = NULL, *resp = NULL;
		size_t len, rlen = 0;
		char req[3072], b64[1024], esc[2048];
		int st = 0, o = 0, j;

		memset(&id, 0, sizeof(id));
		id.alg = i % 2 == 0 ? MFD_ALG_SHA1 : MFD_ALG_SHA256;
		id.hlen = id.alg == MFD_ALG_SHA1 ? 20 : 32;
		memcpy(id.name_hash, id.alg == MFD_ALG_SHA1 ? iid.sha1_name : iid.sha256_name, id.hlen);
		memcpy(id.key_hash, id.alg == MFD_ALG_SHA1 ? iid.sha1_key : iid.sha256_key, id.hlen);
		id.serial_len = 16;
		ck_assert_int_eq(RAND_bytes(id.serial, 16), 1);
		id.serial[0] = (unsigned char)(0x10 | (id.serial[0] & 0x6f));
		ck_assert_int_eq(mfd_ocsp_req_encode(&id, &der, &len), 0);
		if ((i / 2) % 2 == 0) {
			mfd_b64_encode(der, len, b64);
			for (j = 0; b64[j] != '\0'; j++) {
				if (b64[j] == '/' || b64[j] == '+' || b64[j] == '=')
					o += snprintf(esc + o, sizeof(esc) - (size_t)o, "%%%02X", b64[j]);
				else
					esc[o++] = b64[j];
			}
			esc[o] = '\0';
			snprintf(req, sizeof(req), "GET /ocsp/%s HTTP/1.0\r\n\r\n", esc);
			len = strlen(req);
		} else {
			int h = snprintf(req, sizeof(req), "POST /ocsp HTTP/1.0\r\nContent-Type: "
			    "application/ocsp-request\r\nContent-Length: %zu\r\n\r\n", len);

			memcpy(req + h, der, len);
			len += (size_t)h;
		}
		OPENSSL_free(der);
		if (mfdt_http(port, req, len, 5000, &st, &resp, &rlen) != 0 || st != 200 ||
		    rlen != 5 || memcmp(resp, unauthorized, 5) != 0)
			bad++;
		free(resp);
	}
	ck_assert_msg(i == 2000, "only %d requests in 120 s", i);
	signed1 = metric(port, "mayflyd_ocsp_sign_seconds_count");
	unauth1 = metric(port, "mayflyd_ocsp_responses_total{status=\"unauthorized\"}");
	/* Flat: not one signature per serial (before the fix: 2,000 more). */
	ck_assert_msg(signed1 - signed0 < 5, "signatures went from %.0f to %.0f", signed0,
	    signed1);
	ck_assert_msg(bad == 0, "%d answers were not the unsigned unauthorized", bad);
	ck_assert_msg(unauth1 - unauth0 >= 2000, "%.0f unauthorized", unauth1 - unauth0);
	/* Certificates in the log are still answered, signed. */
	out = ocsp_four_ways(dir, port, "leaf02");
	ck_assert_msg(count_str(out, "leaf02.pem: good") == 4, "%s", out);
	free(out);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

#define RESPONDERS	"SELECT count(*) FROM ca_certificates WHERE kind = 'ocsp'"
#define AUDIT_ROWS	"SELECT count(*) FROM audit_log"

/*
 * Issue 9 item 12: a start that fails (listen port taken, a root file
 * missing) exits with its code and leaves the log as it was: no delegated
 * responder certificate signed and recorded, no audit row. A good start
 * records one responder, and a reload keeps it.
 */
START_TEST(test_failed_start_writes_nothing)
{
	char *dir = mft_tmpdir(), *out, a[700], b[700];
	int port = mfdt_hold_port(), s, one = 1, i;
	int64_t resp0, audit0;
	struct sockaddr_in sa;
	size_t len;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(mfdt_setup(dir, port), 0);
	resp0 = db_int(dir, RESPONDERS);
	audit0 = db_int(dir, AUDIT_ROWS);
	ck_assert(resp0 == 0 && audit0 >= 0);

	/* The OCSP port is taken by someone else. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s, 4), 0);
	for (i = 0; i < 3; i++)		/* as Restart=on-failure would */
		ck_assert_int_eq(mfdt_exit_status(dir, 20000), 1);
	close(s);
	out = (char *)mfdt_read(dir, "mayflyd.log", &len);
	ck_assert_msg(out != NULL && strstr(out, "event=bind-failed") != NULL, "%s", out);
	free(out);
	/* What mfdt_setup_start() retries on, and only on that (below: a config error). */
	ck_assert(mfdt_port_was_taken(dir));
	ck_assert_int_eq(db_int(dir, RESPONDERS), resp0);
	ck_assert_int_eq(db_int(dir, AUDIT_ROWS), audit0);

	/* A root certificate file is missing: a configuration error. */
	snprintf(a, sizeof(a), "%s/certs/root-b.pem", dir);
	snprintf(b, sizeof(b), "%s/root-b.pem.away", dir);
	ck_assert_int_eq(rename(a, b), 0);
	ck_assert_int_eq(mft_write(dir, "mayflyd.log", ""), 0);
	ck_assert_int_eq(mfdt_exit_status(dir, 20000), 3);
	out = (char *)mfdt_read(dir, "mayflyd.log", &len);
	ck_assert_msg(out != NULL && strstr(out, "event=config-failed") != NULL &&
	    strstr(out, "root-b.pem") != NULL, "%s", out);
	free(out);
	ck_assert(!mfdt_port_was_taken(dir));
	ck_assert_int_eq(db_int(dir, RESPONDERS), resp0);
	ck_assert_int_eq(db_int(dir, AUDIT_ROWS), audit0);

	/* Everything in place: one responder, once responses are signed; a reload keeps it. */
	ck_assert_int_eq(rename(b, a), 0);
	pid = mfdt_start(dir, port);
	ck_assert_int_gt(pid, 0);
	out = ocsp_cli_at(dir, port, "leaf01");
	ck_assert_msg(strstr(out, "leaf01.pem: good") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(db_int(dir, RESPONDERS), resp0 + 1);
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	for (i = 0; i < 50; i++) {
		out = (char *)mfdt_read(dir, "mayflyd.log", &len);
		if (out != NULL && strstr(out, "event=reloaded") != NULL) {
			free(out);
			break;
		}
		free(out);
		usleep(100000);
	}
	ck_assert_int_lt(i, 50);
	out = ocsp_cli_at(dir, port, "leaf02");
	ck_assert_msg(strstr(out, "leaf02.pem: good") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(db_int(dir, RESPONDERS), resp0 + 1);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * POST /v1/sign of dir/NAME.csr to the listener on aport; the HTTP code
 * (or -1), the headers in dir/NAME.hdr and the body in dir/NAME.out.
 */
static int
api_sign_ca(const char *dir, int aport, const char *name, const char *cafile)
{
	char *out = NULL;
	int code = -1;

	in_dir(dir, &out, "curl -sS --max-time 30 --cacert %s -H \"Authorization: "
	    "Bearer $(cat api.token)\" -H 'Content-Type: application/pkcs10' --data-binary @%s.csr "
	    "-D %s.hdr -o %s.out -w 'code=%%{http_code}\\n' https://127.0.0.1:%d/v1/sign", cafile,
	    name, name, name, aport);
	if (out != NULL && strstr(out, "code=") != NULL)
		code = atoi(strstr(out, "code=") + 5);
	free(out);
	return code;
}

static int
api_sign(const char *dir, int aport, const char *name)
{
	return api_sign_ca(dir, aport, name, "certs/root-a.pem");
}

/*
 * What the two tests of an unwritable database share. In a mount namespace
 * of the test's own (Check runs each test in a child process; the daemon
 * inherits the namespace): a CA from `mayfly init` in TMP/ca whose database
 * lives on a tmpfs of the given size at dir/dbfs, an API token, CSRs a, b
 * and c for localhost, and both listeners on port 0 (mayflyd logs the ports
 * it got, mfdt_start_port0). The acme: section comes last, so a test can
 * add keys to it. 0 with *tmp (the caller removes and frees it) and dir
 * set; 1 when the test cannot run here, having said why on stderr: it
 * needs CK_FORK and CAP_SYS_ADMIN (CI runs as root).
 */
static int
dbfs_setup(const char *test, const char *size, char **tmp, char *dir, size_t dirlen)
{
	char path[700], opts[64], *mayfly, *cmd;

	*tmp = NULL;
	if (mft_on_pg()) {
		fprintf(stderr, "%s: SKIPPED on PostgreSQL: the log is an SQLite file on a "
		    "filesystem the test fills or makes read-only\n", test);
		return 1;
	}
	if (getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0) {
		fprintf(stderr, "%s: SKIPPED: needs CK_FORK (a mount namespace of its own)\n", test);
		return 1;
	}
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		fprintf(stderr, "%s: SKIPPED: no mount namespace (%s); run as root to test an "
		    "unwritable database\n", test, strerror(errno));
		return 1;
	}
	*tmp = mft_tmpdir();
	ck_assert_ptr_nonnull(*tmp);
	snprintf(dir, dirlen, "%s/ca", *tmp);
	/* init's port only names the URLs in the certificates; the listeners get 0. */
	mayfly = mft_buildpath("mayfly");
	ck_assert(asprintf(&cmd, "'%s' init --dir '%s' --keys file --port 8080 --dns localhost "
	    ">/dev/null 2>&1", mayfly, dir) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	free(mayfly);
	snprintf(path, sizeof(path), "%s/dbfs", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", path, "tmpfs", 0, opts) != 0) {
		fprintf(stderr, "%s: SKIPPED: cannot mount a tmpfs (%s)\n", test, strerror(errno));
		mft_rmtree(*tmp);
		free(*tmp);
		*tmp = NULL;
		return 1;
	}
	ck_assert_int_eq(in_dir(dir, NULL, "mv mayfly.db dbfs/ && "
	    "sed -i 's|^database: .*|database: dbfs/mayfly.db|' mayfly.yaml && "
	    "sed -i 's|\"127.0.0.1:8080\"|\"127.0.0.1:0\"|' mayfly.yaml && "
	    "grep -q '\"127.0.0.1:0\"' mayfly.yaml && "
	    "openssl rand -hex 16 > api.token && chmod 600 api.token && "
	    "printf 'acme:\\n  host: 127.0.0.1\\n  port: 0\\n  api-token-file: api.token\\n' "
	    ">> mayfly.yaml && for n in a b c; do openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost >/dev/null 2>&1 || exit 1; done"), 0);
	return 0;
}

/* Undoes dbfs_setup once the daemon is stopped. */
static void
dbfs_teardown(char *tmp, const char *dir)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/dbfs", dir);
	umount2(path, MNT_DETACH);
	mft_rmtree(tmp);
	free(tmp);
}

/*
 * Issue 9 item 9: the database's disk fills up while mayflyd runs. The
 * database lives on a 2 MiB tmpfs, mounted in a mount namespace of this
 * test's own (Check runs each test in a child process; the daemon
 * inherits the namespace). Issuance gets 503 with Retry-After and the
 * reason, /health says so, the metric and the log too; once space is
 * back, issuance resumes by itself. Needs CAP_SYS_ADMIN (CI runs as
 * root); skipped, saying why, otherwise.
 */
START_TEST(test_database_full)
{
	char *tmp, dir[600], path[700], *out = NULL;
	int port, aport, i, code = 0, fd;
	static char chunk[65536];
	size_t len;
	pid_t pid;

	if (dbfs_setup("test_database_full", "2m", &tmp, dir, sizeof(dir)) != 0)
		return;
	pid = mfdt_start_port0(dir, 200, &port);
	ck_assert_int_gt(pid, 0);
	/* The ACME listener binds whatever port is free and says which. */
	ck_assert_int_gt(aport = mfdt_log_port(dir, 1, 10000), 0);
	ck_assert_int_eq(api_sign(dir, aport, "a"), 200);
	ck_assert_int_eq(in_dir(dir, NULL, "cp a.out a.pem"), 0);

	/* The disk fills up. */
	snprintf(path, sizeof(path), "%s/dbfs/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 64 && write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk); i++)
		;
	while (write(fd, chunk, 512) > 0)
		;
	close(fd);
	/* Issuance: 503 with Retry-After and the reason, at the latest once the WAL is used up. */
	for (i = 0; i < 40 && (code = api_sign(dir, aport, "b")) == 200; i++)
		;
	ck_assert_int_eq(code, 503);
	out = (char *)mfdt_read(dir, "b.hdr", &len);
	ck_assert_msg(out != NULL && strcasestr(out, "\nRetry-After: ") != NULL, "%s", out);
	free(out);
	out = (char *)mfdt_read(dir, "b.out", &len);
	ck_assert_msg(out != NULL && strstr(out, "database disk full") != NULL, "%s", out);
	free(out);
	/* /health, the metrics and the log say so. */
	{
		unsigned char *h = NULL;

		ck_assert_int_eq(mfdt_get(port, "/health", &h, &len), 503);
		ck_assert_msg(strstr((char *)h, "database disk full") != NULL, "%s", h);
		free(h);
	}
	ck_assert(metric(port, "mayflyd_database_writable") == 0);
	ck_assert(metric(port, "mayflyd_database_full") == 1);
	for (i = 0; i < 30; i++) {
		out = (char *)mfdt_read(dir, "mayflyd.log", &len);
		if (out != NULL && strstr(out, "event=database-unwritable err=database-full") != NULL)
			break;
		free(out);
		out = NULL;
		usleep(100000);
	}
	ck_assert_msg(out != NULL, "no event=database-unwritable in the log");
	free(out);
	/* A revocation cannot be recorded either: 503, Retry-After, the reason. */
	ck_assert_int_eq(in_dir(dir, &out, "s=$(openssl x509 -in a.out -noout -serial | cut -d= -f2) "
	    "&& curl -sS --max-time 10 -D - -H \"Authorization: Bearer $(cat admin.token)\" "
	    "--data \"serial=$s\" http://127.0.0.1:%d/admin/revoke", port), 0);
	ck_assert_msg(strstr(out, " 503 ") != NULL && strcasestr(out, "\nRetry-After: ") != NULL &&
	    strstr(out, "database disk full") != NULL, "%s", out);
	free(out);
	/* OCSP for what is logged is still answered. */
	out = ocsp_cli_at(dir, port, "a");
	ck_assert_msg(strstr(out, "a.pem: good") != NULL && strstr(out, "Response verify OK"),
	    "%s", out);
	free(out);

	/* Space is back: healthy again, and issuance resumes by itself. */
	ck_assert_int_eq(unlink(path), 0);
	for (i = 0; i < 150 && mfdt_get(port, "/health", NULL, NULL) != 200; i++)
		usleep(100000);
	ck_assert_int_lt(i, 150);
	ck_assert_int_eq(api_sign(dir, aport, "c"), 200);
	ck_assert(metric(port, "mayflyd_database_writable") == 1);
	for (i = 0; i < 30; i++) {
		out = (char *)mfdt_read(dir, "mayflyd.log", &len);
		if (out != NULL && strstr(out, "event=database-writable") != NULL)
			break;
		free(out);
		out = NULL;
		usleep(100000);
	}
	ck_assert_msg(out != NULL, "no event=database-writable in the log");
	free(out);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	dbfs_teardown(tmp, dir);
}
END_TEST

/*
 * Issue 9 item 9, the other half: the database's filesystem is read-only
 * (mounted so by the operator, or by the kernel after an I/O error). The
 * database, with its -wal and -shm files, sits on a tmpfs in this test's
 * own mount namespace, remounted read-only before mayflyd starts (a
 * filesystem with files open for writing cannot be remounted read-only,
 * and root ignores file modes, so this is what really fails). mayflyd
 * serves OCSP, answers issuance 503 with Retry-After and the reason, and
 * says so in /health, the metric and the log; remounted read-write, it
 * issues again without a restart.
 */
START_TEST(test_database_readonly)
{
	char *tmp, dir[600], path[700], *out = NULL;
	int port, aport, i, code;
	size_t len;
	pid_t pid;

	if (dbfs_setup("test_database_readonly", "4m", &tmp, dir, sizeof(dir)) != 0)
		return;
	/* The listener's TLS certificate from files: it cannot be recorded now. */
	ck_assert_int_eq(in_dir(dir, NULL, "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.pem -subj /CN=127.0.0.1 "
	    "-addext subjectAltName=IP:127.0.0.1 -days 1 >/dev/null 2>&1 && chmod 600 tls.key && "
	    "printf '  tls-cert: tls.pem\\n  tls-key: tls.key\\n' >> mayfly.yaml && "
	    "cp tls.pem certs/tls-root.pem"), 0);
	/* A certificate in the log, and the -wal and -shm files left in place. */
	ck_assert_int_eq(in_dir(dir, &out, "$MAYFLY issue --csr a.csr --out a.pem"), 0);
	free(out);
	{
		pid_t c = fork();

		if (c == 0) {
			struct mf_db *db;
			int v;

			snprintf(path, sizeof(path), "%s/dbfs/mayfly.db", dir);
			/* Open and read, then leave without closing: the files stay. */
			_exit(mf_db_open(path, 0, &db) == 0 && mf_db_schema_version(db, &v) == 0 ?
			    0 : 1);
		}
		ck_assert_int_gt(c, 0);
		ck_assert_int_eq(waitpid(c, &i, 0), c);
		ck_assert(WIFEXITED(i) && WEXITSTATUS(i) == 0);
	}
	snprintf(path, sizeof(path), "%s/dbfs", dir);
	ck_assert_int_eq(mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY, "size=4m,mode=0700"), 0);

	pid = mfdt_start_port0(dir, 503, &port);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_gt(aport = mfdt_log_port(dir, 1, 10000), 0);
	/* OCSP for the logged certificate is answered (signed by the intermediate itself). */
	out = ocsp_cli_at(dir, port, "a");
	ck_assert_msg(strstr(out, "a.pem: good") != NULL && strstr(out, "Response verify OK"),
	    "%s", out);
	free(out);
	code = api_sign_ca(dir, aport, "b", "certs/tls-root.pem");
	ck_assert_int_eq(code, 503);
	out = (char *)mfdt_read(dir, "b.hdr", &len);
	ck_assert_msg(out != NULL && strcasestr(out, "\nRetry-After: ") != NULL, "%s", out);
	free(out);
	out = (char *)mfdt_read(dir, "b.out", &len);
	ck_assert_msg(out != NULL && strstr(out, "read-only") != NULL, "%s", out);
	free(out);
	{
		unsigned char *h = NULL;

		ck_assert_int_eq(mfdt_get(port, "/health", &h, &len), 503);
		ck_assert_msg(strstr((char *)h, "read-only") != NULL, "%s", h);
		free(h);
	}
	ck_assert(metric(port, "mayflyd_database_readonly") == 1);
	ck_assert(metric(port, "mayflyd_database_writable") == 0);
	for (i = 0; i < 30; i++) {
		out = (char *)mfdt_read(dir, "mayflyd.log", &len);
		if (out != NULL && strstr(out, "event=database-unwritable err=database-read-only") !=
		    NULL)
			break;
		free(out);
		out = NULL;
		usleep(100000);
	}
	ck_assert_msg(out != NULL, "no event=database-unwritable in the log");
	free(out);

	/* Writable again: issuance resumes without a restart. */
	ck_assert_int_eq(mount(NULL, path, NULL, MS_REMOUNT, "size=4m,mode=0700"), 0);
	for (i = 0; i < 150 && mfdt_get(port, "/health", NULL, NULL) != 200; i++)
		usleep(100000);
	ck_assert_int_lt(i, 150);
	code = api_sign_ca(dir, aport, "b", "certs/tls-root.pem");
	out = (char *)mfdt_read(dir, "b.out", &len);
	ck_assert_msg(code == 200, "%d %s", code, out);
	free(out);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	dbfs_teardown(tmp, dir);
}
END_TEST

/*
 * The same defect as item 12 in the ACME listener: it used to issue (and
 * log) its own TLS certificate before binding its port, so each start on
 * a taken ACME port added a certificate and audit rows. Now it binds
 * first; the start fails and the log is unchanged. Freed, the port is
 * bound and served.
 */
START_TEST(test_acme_port_taken)
{
	char *tmp = mft_tmpdir(), dir[600], *mayfly, *cmd, *out;
	int port = mfdt_hold_port(), aport = mfdt_hold_port(), s, one = 1;
	int64_t certs0, audit0;
	struct sockaddr_in sa;
	size_t len;
	pid_t pid;

	ck_assert_ptr_nonnull(tmp);
	snprintf(dir, sizeof(dir), "%s/ca", tmp);
	mayfly = mft_buildpath("mayfly");
	ck_assert(asprintf(&cmd, "'%s' init --dir '%s' --keys file --port %d --dns localhost "
	    ">/dev/null 2>&1", mayfly, dir, port) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	free(mayfly);
	ck_assert_int_eq(mft_db_onpg(dir), 0);
	ck_assert_int_eq(in_dir(dir, NULL, "openssl rand -hex 16 > api.token && chmod 600 "
	    "api.token && printf 'acme:\\n  host: 127.0.0.1\\n  port: %d\\n  api-token-file: "
	    "api.token\\n' >> mayfly.yaml && openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout a.key -out a.csr -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost >/dev/null 2>&1", aport), 0);
	certs0 = db_int(dir, "SELECT count(*) FROM certificates");
	audit0 = db_int(dir, AUDIT_ROWS);
	ck_assert(certs0 == 0 && audit0 >= 0);
	s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)aport);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s, 4), 0);
	ck_assert_int_eq(mfdt_exit_status(dir, 20000), 1);
	ck_assert_int_eq(mfdt_exit_status(dir, 20000), 1);
	close(s);
	out = (char *)mfdt_read(dir, "mayflyd.log", &len);
	ck_assert_msg(out != NULL && strstr(out, "event=acme-failed") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM certificates"), certs0);
	ck_assert_int_eq(db_int(dir, AUDIT_ROWS), audit0);
	ck_assert_int_eq(db_int(dir, RESPONDERS), 0);
	/* The port free: the listener binds it, gets its certificate and serves. */
	pid = mfdt_start(dir, port);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(api_sign(dir, aport, "a"), 200);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(tmp);
	free(tmp);
}
END_TEST

/*
 * Item 1's rule at run time: a revocation that cannot be signed (the token
 * is gone) withdraws the cached "good" and its exported file; a request
 * gets tryLater, never the old "good". Back, the token signs "revoked".
 */
START_TEST(test_revoked_while_hsm_gone)
{
	char *dir = mft_tmpdir(), *cmd, *out = NULL, tokens[600], gone[600], path[600];
	int port, i, st = 0;
	struct mf_db *db;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	pid = mfdt_setup_start_with(dir, &port, prep_softhsm, NULL);
	ck_assert_int_gt(pid, 0);
	out = ocsp_cli_at(dir, port, "leaf03");
	ck_assert_msg(strstr(out, "leaf03.pem: good") != NULL, "%s", out);
	free(out);
	/* Its exported file is there (bounded wait). */
	ck_assert(asprintf(&cmd, "cd '%s' && openssl ocsp -issuer certs/issuing-1.pem -cert leaf03.pem "
	    "-no_nonce -reqout x.req >/dev/null 2>&1 && n=$(openssl base64 -A < x.req | "
	    "sed 's,+,%%2B,g; s,/,%%2F,g; s,=,%%3D,g') && printf '%%s' \"ocsp-export/$n\" > x.name",
	    dir) > 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	{
		size_t len;
		char *name = (char *)mfdt_read(dir, "x.name", &len);

		ck_assert_ptr_nonnull(name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		free(name);
	}
	for (i = 0; i < 50 && access(path, F_OK) != 0; i++)
		usleep(100000);
	ck_assert_int_eq(access(path, F_OK), 0);

	/* The token vanishes; then the certificate is revoked in the log. */
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(gone, sizeof(gone), "%s/tokens.gone", dir);
	ck_assert_int_eq(rename(tokens, gone), 0);
	for (i = 0; i < 50 && (st = mfdt_get(port, "/health", NULL, NULL)) != 503; i++)
		usleep(100000);
	ck_assert_int_eq(st, 503);
	{
		char dbp[600];

		ck_assert_int_eq(mft_db_target(dir, 0, dbp, sizeof(dbp)), 0);
		ck_assert_int_eq(mf_db_open(dbp, 0, &db), 0);
		ck_assert_int_eq(mf_db_cert_revoke(db, SERIAL_BASE "03", 1, (int64_t)time(NULL),
		    "cli:test"), 0);
		mf_db_close(db);
	}
	for (i = 0; i < 30; i++) {
		out = ocsp_cli_at(dir, port, "leaf03");
		if (strstr(out, "leaf03.pem: good") == NULL)
			break;
		free(out);
		out = NULL;
		usleep(200000);
	}
	ck_assert_msg(out != NULL, "still \"good\" 6 s after the revocation");
	ck_assert_msg(strstr(out, "Responder Error: trylater") != NULL, "%s", out);
	free(out);
	ck_assert_msg(access(path, F_OK) != 0, "the exported \"good\" is still there");
	/* The token is back: "revoked", signed. */
	ck_assert_int_eq(rename(gone, tokens), 0);
	for (i = 0; i < 80; i++) {
		out = ocsp_cli_at(dir, port, "leaf03");
		if (strstr(out, "leaf03.pem: revoked") != NULL)
			break;
		free(out);
		out = NULL;
		usleep(200000);
	}
	ck_assert_msg(out != NULL, "never revoked");
	free(out);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* Reads datagrams from the notify socket for up to ms; appends them to acc. */
static void
notify_drain(int fd, char *acc, size_t accsz, int ms)
{
	int64_t end = mfdt_ms() + ms;

	while (mfdt_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[512];
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		if (strlen(acc) + (size_t)n + 2 < accsz) {
			strcat(acc, buf);
			strcat(acc, "\n");
		}
	}
}

/* The notify socket dir/notify.sock, bound afresh in *(int *)arg after each setup. */
static int
prep_notify(const char *dir, int port, void *arg)
{
	struct sockaddr_un sa;
	int *fd = arg;

	(void)port;
	if (*fd >= 0)
		close(*fd);
	*fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(*fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ck_assert_int_lt(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir),
	    (int)sizeof(sa.sun_path));
	ck_assert_int_eq(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return 0;
}

START_TEST(test_systemd_notify)
{
	char *dir = mft_tmpdir(), path[600], acc[8192] = "";
	struct sockaddr_un sa;
	int port, fd = -1;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/notify.sock", dir);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	notify_path = path;
	watchdog_usec = "400000";
	pid = mfdt_setup_start_with(dir, &port, prep_notify, &fd);
	notify_path = NULL;
	watchdog_usec = NULL;
	ck_assert_int_gt(pid, 0);
	notify_drain(fd, acc, sizeof(acc), 1000);
	ck_assert_msg(strstr(acc, "READY=1") != NULL, "%s", acc);
	ck_assert_msg(strstr(acc, "WATCHDOG=1") != NULL, "%s", acc);
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	notify_drain(fd, acc, sizeof(acc), 600);
	ck_assert_msg(strstr(acc, "RELOADING=1") != NULL, "%s", acc);
	ck_assert_int_eq(mfdt_stop(pid, 8000), 0);
	notify_drain(fd, acc, sizeof(acc), 200);
	ck_assert_msg(strstr(acc, "STOPPING=1") != NULL, "%s", acc);
	close(fd);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

Suite *
suite_mfd_daemon(void)
{
	Suite *s = suite_create("mayflyd-daemon");
	TCase *tc;

	tc = tcase_create("daemon");
	tcase_add_unchecked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ocsp_post_good_unknown);
	tcase_add_test(tc, test_ocsp_get_curl);
	tcase_add_test(tc, test_revoke_from_cli_db);
	tcase_add_test(tc, test_admin_revoke);
	tcase_add_test(tc, test_revocation_visible_metric);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_ca_files_and_metrics);
	tcase_add_test(tc, test_export_dir);
	tcase_add_test(tc, test_half_open_clients);
	tcase_add_test(tc, test_slow_headers);
	tcase_add_test(tc, test_endless_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli-init");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_cli_init_file);
	tcase_add_test(tc, test_cli_init_softhsm);
	suite_add_tcase(s, tc);

	tc = tcase_create("softhsm");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_softhsm_token_vanishes);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 150);	/* the 40 % test waits out a 1-min response */
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_systemd_notify);
	tcase_add_test(tc, test_resign_before_half_life);
	tcase_add_test(tc, test_two_intermediates);
	suite_add_tcase(s, tc);

	/* Issue 9: defects found by attacking the daemon on purpose. */
	tc = tcase_create("hardening");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_revoked_while_down);
	tcase_add_test(tc, test_unknown_serial_flood);
	tcase_add_test(tc, test_failed_start_writes_nothing);
	tcase_add_test(tc, test_database_full);
	tcase_add_test(tc, test_database_readonly);
	tcase_add_test(tc, test_acme_port_taken);
	tcase_add_test(tc, test_revoked_while_hsm_gone);
	suite_add_tcase(s, tc);
	return s;
}
