/*
 * check_signer.c: the signer process of mayflyd on its own. Each test
 * starts the real binary in signer mode ("mayflyd -S fd -c mayfly.yaml",
 * as mayflyd does) on one end of a socketpair, for a CA made by `mayfly
 * init` with an acme: section, and talks the wire format of sigwire.h to
 * it: an ISSUE_BATCH whose items the signer answers one by one (issued
 * with a pre-signed OCSP response, refused by its own policy, an
 * unparsable CSR), a batch whose commit fails (the test-only fault hook
 * of signer.c: every item refused, none logged), and malformed requests
 * that must end the signer before it signs anything.
 */
#include "mf_build.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "db.h"
#include "fixtures.h"
#include "mferr.h"
#include "mfdt.h"
#include "sigwire.h"

struct sig {
	int fd;
	pid_t pid;
};

/* A CA by `mayfly init` in dir with an acme: section, and CSRs (DER) in dir. */
static void
ca_setup(const char *dir)
{
	char *cmd, *mayfly = mft_buildpath("mayfly");

	ck_assert_int_gt(asprintf(&cmd,
	    "set -e; cd '%s'; exec >setup.log 2>&1; "
	    "'%s' init --dir ca --keys file --port %d --dns .acme.test --dns localhost; "
	    "printf 'acme:\\n  host: 127.0.0.1\\n  port: 0\\n' >> ca/mayfly.yaml; "
	    "for n in ok.acme.test evil.example.com; do "
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key "
	    "-subj /CN=$n -addext subjectAltName=DNS:$n -outform DER -out $n.der; done",
	    dir, mayfly, mfdt_hold_port()), 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	free(mayfly);
	ck_assert_int_gt(asprintf(&cmd, "%s/ca", dir), 0);
	ck_assert_int_eq(mft_db_onpg(cmd), 0);
	free(cmd);
}

static int
read_all(int fd, void *buf, size_t n, int timeout_ms)
{
	unsigned char *p = buf;

	while (n > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		if ((r = read(fd, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one answer: its rc, and its payload (caller frees). */
static int
sig_answer(struct sig *s, int32_t *rc, unsigned char **p, size_t *len)
{
	struct mfd_sig_rhdr rh;

	*p = NULL;
	if (read_all(s->fd, &rh, sizeof(rh), 30000) != 0 || rh.len > (1u << 24) ||
	    (*p = malloc(rh.len + 1)) == NULL || read_all(s->fd, *p, rh.len, 30000) != 0)
		return -1;
	(*p)[rh.len] = '\0';
	*rc = rh.rc;
	*len = rh.len;
	return 0;
}

/*
 * mayflyd -S for dir/ca/mayfly.yaml; returns once it answered its first
 * PING. With fault set, the signer runs with MAYFLY_FAULT=signer-batch and
 * MAYFLY_FAULT_FILE=fault (see signer.c).
 */
static void
sig_start_fault(const char *dir, const char *fault, struct sig *s)
{
	char *exe = mft_buildpath("mayflyd"), cfg[600], fdstr[16];
	unsigned char *p;
	size_t len;
	int32_t rc;
	int sv[2];

	snprintf(cfg, sizeof(cfg), "%s/ca/mayfly.yaml", dir);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		if (fault != NULL && (setenv("MAYFLY_FAULT", "signer-batch", 1) != 0 ||
		    setenv("MAYFLY_FAULT_FILE", fault, 1) != 0))
			_exit(127);
		execl(exe, "mayflyd-signer", "-S", fdstr, "-c", cfg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	free(exe);
	s->fd = sv[0];
	ck_assert_int_eq(sig_answer(s, &rc, &p, &len), 0);
	ck_assert_msg(rc == 0, "signer did not come up: %s", p);
	free(p);
}

static void
sig_start(const char *dir, struct sig *s)
{
	sig_start_fault(dir, NULL, s);
}

/* Closes our end and reaps the signer; its exit status, or -1 if it had to be killed. */
static int
sig_stop(struct sig *s)
{
	int st, i;

	close(s->fd);
	for (i = 0; i < 500; i++) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	return -1;
}

static void
sig_send(struct sig *s, uint32_t op, const void *p, size_t len)
{
	struct mfd_sig_hdr h = { op, (uint32_t)len };

	ck_assert_int_eq(write(s->fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	if (len > 0)
		ck_assert_int_eq(write(s->fd, p, len), (ssize_t)len);
}

/* Nonzero once the signer closed its end (it ended itself) within 10 s. */
static int
sig_ended(struct sig *s)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	unsigned char c;

	return poll(&pfd, 1, 10000) == 1 && read(s->fd, &c, 1) == 0;
}

/* Appends one ISSUE_BATCH item to buf at *off, with a notBefore (0: none). */
static void
item_add_at(unsigned char *buf, size_t *off, const unsigned char *csr, size_t csr_len,
    const char *profile, const char *requester, int64_t not_before)
{
	struct mfd_sig_issue_req q;

	memset(&q, 0, sizeof(q));
	q.not_before = not_before;
	q.csr_len = (uint32_t)csr_len;
	q.profile_len = (uint16_t)strlen(profile);
	q.requester_len = (uint16_t)strlen(requester);
	memcpy(buf + *off, &q, sizeof(q));
	*off += sizeof(q);
	memcpy(buf + *off, csr, csr_len);
	*off += csr_len;
	memcpy(buf + *off, profile, strlen(profile));
	*off += strlen(profile);
	memcpy(buf + *off, requester, strlen(requester));
	*off += strlen(requester);
}

static void
item_add(unsigned char *buf, size_t *off, const unsigned char *csr, size_t csr_len,
    const char *profile, const char *requester)
{
	item_add_at(buf, off, csr, csr_len, profile, requester, 0);
}

static void
batch_head(unsigned char *buf, size_t *off, uint32_t n)
{
	struct mfd_sig_batch_req b = { n, 0 };

	memcpy(buf, &b, sizeof(b));
	*off = sizeof(b);
}

static int
count_cb(const struct mf_cert_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

/* Records in dir's log whose SANs mention name (all records with name ""). */
static int
logged(const char *dir, const char *name)
{
	struct mf_db *db = NULL;
	char ca[600], path[600];
	int n = 0;

	snprintf(ca, sizeof(ca), "%s/ca", dir);
	ck_assert_int_eq(mft_db_target(ca, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, MF_DB_READONLY, &db), 0);
	ck_assert_int_eq(mf_db_cert_list(db, MF_LIST_ALL, name[0] ? name : NULL, time(NULL),
	    count_cb, &n), 0);
	mf_db_close(db);
	return n;
}

/* ---- a batch answered item by item ----------------------------------------------- */

START_TEST(test_batch_items)
{
	char *dir = mft_tmpdir();
	struct sig s;
	unsigned char *ok, *evil, *p, *buf;
	unsigned char garbage[40];
	size_t ok_len, evil_len, len, off;
	struct mfd_sig_issue_ans a;
	int32_t rc;
	int before;

	ck_assert_ptr_nonnull(dir);
	ca_setup(dir);
	ok = mfdt_read(dir, "ok.acme.test.der", &ok_len);
	evil = mfdt_read(dir, "evil.example.com.der", &evil_len);
	ck_assert_ptr_nonnull(ok);
	ck_assert_ptr_nonnull(evil);
	memset(garbage, 0x30, sizeof(garbage));
	sig_start(dir, &s);
	before = logged(dir, "");

	buf = malloc(3 * (sizeof(struct mfd_sig_issue_req) + 4096 + 64) + 64);
	ck_assert_ptr_nonnull(buf);
	batch_head(buf, &off, 3);
	item_add(buf, &off, ok, ok_len, "server", "test:ok");
	item_add(buf, &off, evil, evil_len, "server", "test:evil");
	item_add(buf, &off, garbage, sizeof(garbage), "server", "test:garbage");
	sig_send(&s, MFD_SIG_ISSUE_BATCH, buf, off);
	ck_assert_int_eq(sig_answer(&s, &rc, &p, &len), 0);
	ck_assert_int_eq(rc, 0);

	/* 1: issued, committed, with a good OCSP response for its SHA-1 CertID. */
	off = 0;
	ck_assert_uint_ge(len, sizeof(a));
	memcpy(&a, p, sizeof(a));
	off += sizeof(a);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_uint_gt(a.len, 0);
	ck_assert_uint_gt(a.ocsp_len, 0);
	ck_assert_uint_le(off + a.len + a.ocsp_len, len);
	{
		const unsigned char *q = p + off;
		X509 *cert = d2i_X509(NULL, &q, a.len), *ica = NULL;
		OCSP_RESPONSE *resp;
		OCSP_BASICRESP *bs;
		OCSP_CERTID *id;
		ASN1_INTEGER *sn;
		BIGNUM *bn;
		unsigned char sb[20];
		char path[600];
		FILE *f;
		int status = -1, reason;

		ck_assert_ptr_nonnull(cert);
		ck_assert_int_eq(X509_check_host(cert, "ok.acme.test", 0, 0, NULL), 1);
		/* The serial in the answer is the certificate's. */
		sn = (ASN1_INTEGER *)X509_get0_serialNumber(cert);
		bn = ASN1_INTEGER_to_BN(sn, NULL);
		ck_assert_int_eq(BN_num_bytes(bn), a.serial_len);
		BN_bn2bin(bn, sb);
		ck_assert_mem_eq(sb, a.serial, a.serial_len);
		BN_free(bn);
		snprintf(path, sizeof(path), "%s/ca/certs/issuing-1.pem", dir);
		ck_assert_ptr_nonnull(f = fopen(path, "r"));
		ica = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		ck_assert_ptr_nonnull(ica);
		q = p + off + a.len;
		resp = d2i_OCSP_RESPONSE(NULL, &q, a.ocsp_len);
		ck_assert_ptr_nonnull(resp);
		ck_assert_int_eq(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
		ck_assert_ptr_nonnull(bs = OCSP_response_get1_basic(resp));
		id = OCSP_cert_to_id(EVP_sha1(), cert, ica);
		ck_assert_int_eq(OCSP_resp_find_status(bs, id, &status, &reason, NULL, NULL, NULL),
		    1);
		ck_assert_int_eq(status, V_OCSP_CERTSTATUS_GOOD);
		ck_assert_int_eq(a.meta.status, V_OCSP_CERTSTATUS_GOOD);
		ck_assert_int_gt(a.meta.next_update, a.meta.this_update);
		OCSP_CERTID_free(id);
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		X509_free(ica);
		X509_free(cert);
	}
	off += a.len + a.ocsp_len;

	/* 2: refused by the signer's own policy, alone. */
	memcpy(&a, p + off, sizeof(a));
	off += sizeof(a);
	ck_assert_int_eq(a.rc, MF_ERR_NAME_POLICY);
	ck_assert_uint_eq(a.ocsp_len, 0);
	ck_assert_ptr_nonnull(memmem(p + off, a.len, "evil.example.com", 16));
	off += a.len;

	/* 3: not a CSR. */
	memcpy(&a, p + off, sizeof(a));
	off += sizeof(a);
	ck_assert_int_eq(a.rc, MF_ERR_CSR_PARSE);
	off += a.len;
	ck_assert_uint_eq(off, len);
	free(p);

	ck_assert_int_eq(logged(dir, ""), before + 1);
	ck_assert_int_eq(logged(dir, "ok.acme.test"), 1);
	ck_assert_int_eq(logged(dir, "evil.example.com"), 0);

	/* Still serving. */
	sig_send(&s, MFD_SIG_PING, NULL, 0);
	ck_assert_int_eq(sig_answer(&s, &rc, &p, &len), 0);
	ck_assert_int_eq(rc, 0);
	free(p);
	ck_assert_int_eq(sig_stop(&s), 0);
	free(buf);
	free(ok);
	free(evil);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- a notBefore carried to the signer ------------------------------------------ */

/*
 * A notBefore asked for (ACME newOrder) travels to the signer and is taken
 * exactly: with issuance.forward-horizon 1h, one ten minutes ahead comes
 * out as is; one two hours ahead is refused by the signer's own policy.
 */
START_TEST(test_batch_not_before)
{
	char *dir = mft_tmpdir(), *cmd;
	struct sig s;
	unsigned char *ok, *p, *buf;
	size_t ok_len, len, off;
	struct mfd_sig_issue_ans a;
	const unsigned char *q;
	int64_t now;
	int32_t rc;
	X509 *cert;

	ck_assert_ptr_nonnull(dir);
	ca_setup(dir);
	ck_assert_int_gt(asprintf(&cmd, "sed -i 's/^  backdate: 5m$/&\\n  forward-horizon: 1h/' "
	    "'%s/ca/mayfly.yaml' && grep -q '^  forward-horizon: 1h$' '%s/ca/mayfly.yaml'", dir,
	    dir), 0);
	ck_assert_int_eq(mft_run(cmd, NULL), 0);
	free(cmd);
	ok = mfdt_read(dir, "ok.acme.test.der", &ok_len);
	ck_assert_ptr_nonnull(ok);
	sig_start(dir, &s);
	buf = malloc(2 * (sizeof(struct mfd_sig_issue_req) + 4096 + 64) + 64);
	ck_assert_ptr_nonnull(buf);
	now = (int64_t)time(NULL);
	batch_head(buf, &off, 2);
	item_add_at(buf, &off, ok, ok_len, "server", "test:nb", now + 600);
	item_add_at(buf, &off, ok, ok_len, "server", "test:ahead", now + 7200);
	sig_send(&s, MFD_SIG_ISSUE_BATCH, buf, off);
	ck_assert_int_eq(sig_answer(&s, &rc, &p, &len), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_ge(len, sizeof(a));
	memcpy(&a, p, sizeof(a));
	off = sizeof(a);
	ck_assert_int_eq(a.rc, 0);
	q = p + off;
	ck_assert_ptr_nonnull(cert = d2i_X509(NULL, &q, a.len));
	ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), (time_t)(now + 600)), 0);
	X509_free(cert);
	off += a.len + a.ocsp_len;
	memcpy(&a, p + off, sizeof(a));
	off += sizeof(a);
	ck_assert_int_eq(a.rc, MF_ERR_NOT_BEFORE_FUTURE);
	ck_assert_ptr_nonnull(memmem(p + off, a.len, "forward-horizon", 15));
	off += a.len;
	ck_assert_uint_eq(off, len);
	free(p);
	ck_assert_int_eq(sig_stop(&s), 0);
	free(buf);
	free(ok);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- a commit that fails refuses the whole batch ---------------------------------- */

#ifdef MF_FAULT_INJECTION
START_TEST(test_batch_commit_fails)
{
	char *dir = mft_tmpdir(), fault[600];
	struct sig s;
	unsigned char *ok, *p, buf[2 * (sizeof(struct mfd_sig_issue_req) + 1024) + 64];
	size_t ok_len, len, off, k, reqlen;
	struct mfd_sig_issue_ans a;
	int32_t rc;
	int before;

	ck_assert_ptr_nonnull(dir);
	ca_setup(dir);
	ok = mfdt_read(dir, "ok.acme.test.der", &ok_len);
	ck_assert_ptr_nonnull(ok);
	ck_assert_uint_lt(ok_len, 1024);
	snprintf(fault, sizeof(fault), "%s/fault", dir);
	ck_assert_int_eq(mft_write(dir, "fault", "nocommit\n"), 0);
	sig_start_fault(dir, fault, &s);
	before = logged(dir, "");

	/* Both items pass the policy and are signed; the commit fails: both refused. */
	batch_head(buf, &off, 2);
	item_add(buf, &off, ok, ok_len, "server", "test:one");
	item_add(buf, &off, ok, ok_len, "server", "test:two");
	reqlen = off;
	sig_send(&s, MFD_SIG_ISSUE_BATCH, buf, reqlen);
	ck_assert_int_eq(sig_answer(&s, &rc, &p, &len), 0);
	ck_assert_int_eq(rc, 0);
	for (k = 0, off = 0; k < 2; k++) {
		memcpy(&a, p + off, sizeof(a));
		off += sizeof(a);
		ck_assert_int_eq(a.rc, MF_ERR_DB);
		ck_assert_uint_eq(a.ocsp_len, 0);
		ck_assert_ptr_nonnull(memmem(p + off, a.len, "cannot record", 13));
		off += a.len;
	}
	ck_assert_uint_eq(off, len);
	free(p);
	ck_assert_int_eq(access(fault, F_OK), -1);
	ck_assert_int_eq(logged(dir, ""), before);

	/* The next batch commits: the connection was left usable. */
	sig_send(&s, MFD_SIG_ISSUE_BATCH, buf, reqlen);
	ck_assert_int_eq(sig_answer(&s, &rc, &p, &len), 0);
	ck_assert_int_eq(rc, 0);
	for (k = 0, off = 0; k < 2; k++) {
		memcpy(&a, p + off, sizeof(a));
		ck_assert_int_eq(a.rc, 0);
		off += sizeof(a) + a.len + a.ocsp_len;
	}
	ck_assert_uint_eq(off, len);
	free(p);
	ck_assert_int_eq(logged(dir, ""), before + 2);
	ck_assert_int_eq(sig_stop(&s), 0);
	free(ok);
	mft_rmtree(dir);
	free(dir);
}
END_TEST
#endif

/* ---- malformed requests end the signer ----------------------------------------- */

enum bad_kind {
	BAD_ZERO_ITEMS, BAD_TOO_MANY, BAD_SHORT, BAD_TRAILING, BAD_PROFILE_CHAR,
	BAD_NO_CSR, BAD_CSR_TOO_BIG, BAD_PAD, BAD_NEGATIVE_LIFETIME, BAD_TOO_LONG,
	BAD_NEGATIVE_NOT_BEFORE, BAD_N_
};

START_TEST(test_batch_malformed)
{
	char *dir = mft_tmpdir();
	unsigned char *ok, *buf;
	size_t ok_len, off, bufsz = MF_ACME_CSR_MAX + 4096;
	int k, before;

	ck_assert_ptr_nonnull(dir);
	ca_setup(dir);
	ok = mfdt_read(dir, "ok.acme.test.der", &ok_len);
	ck_assert_ptr_nonnull(ok);
	ck_assert_ptr_nonnull(buf = calloc(1, bufsz));
	before = logged(dir, "");
	for (k = 0; k < BAD_N_; k++) {
		struct mfd_sig_issue_req q;
		struct sig s;

		sig_start(dir, &s);
		batch_head(buf, &off, 1);
		item_add(buf, &off, ok, ok_len, "server", "test:bad");
		switch (k) {
		case BAD_ZERO_ITEMS:
			batch_head(buf, &off, 0);
			break;
		case BAD_TOO_MANY:
			/* 33 items announced (only one present: the count is checked first). */
			memcpy(buf, &(struct mfd_sig_batch_req){ MFD_SIG_ISSUE_BATCH_MAX + 1, 0 },
			    sizeof(struct mfd_sig_batch_req));
			break;
		case BAD_SHORT:
			off--;		/* the requester is one byte shorter than announced */
			break;
		case BAD_TRAILING:
			buf[off++] = 'x';
			break;
		case BAD_PROFILE_CHAR:
			buf[sizeof(struct mfd_sig_batch_req) + sizeof(q) + ok_len + 2] = '\n';
			break;
		case BAD_NO_CSR:
		case BAD_CSR_TOO_BIG:
		case BAD_NEGATIVE_LIFETIME:
		case BAD_NEGATIVE_NOT_BEFORE:
			memcpy(&q, buf + sizeof(struct mfd_sig_batch_req), sizeof(q));
			if (k == BAD_NO_CSR)
				q.csr_len = 0;
			else if (k == BAD_CSR_TOO_BIG)
				q.csr_len = MF_ACME_CSR_MAX + 1;
			else if (k == BAD_NEGATIVE_LIFETIME)
				q.lifetime = -1;
			else
				q.not_before = -1;
			memcpy(buf + sizeof(struct mfd_sig_batch_req), &q, sizeof(q));
			break;
		case BAD_PAD:
			memcpy(buf, &(struct mfd_sig_batch_req){ 1, 1 },
			    sizeof(struct mfd_sig_batch_req));
			break;
		case BAD_TOO_LONG: {
			/* A header announcing more than any batch can hold: ends before reading. */
			struct mfd_sig_hdr h = { MFD_SIG_ISSUE_BATCH,
			    (uint32_t)MFD_SIG_BATCH_REQ_MAX + 1 };

			ck_assert_int_eq(write(s.fd, &h, sizeof(h)), (ssize_t)sizeof(h));
			break;
		}
		}
		if (k != BAD_TOO_LONG)
			sig_send(&s, MFD_SIG_ISSUE_BATCH, buf, off);
		ck_assert_msg(sig_ended(&s), "case %d: the signer did not end itself", k);
		ck_assert_int_eq(sig_stop(&s), 0);
	}
	/* None of them was signed. */
	ck_assert_int_eq(logged(dir, ""), before);
	free(buf);
	free(ok);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

Suite *
suite_mfd_signer(void)
{
	Suite *s = suite_create("mayflyd signer");
	TCase *tc = tcase_create("wire");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_batch_items);
	tcase_add_test(tc, test_batch_not_before);
#ifdef MF_FAULT_INJECTION
	tcase_add_test(tc, test_batch_commit_fails);	/* needs the fault hook */
#endif
	tcase_add_test(tc, test_batch_malformed);
	suite_add_tcase(s, tc);
	return s;
}
