/*
 * check_acme_server.c: the ACME listener end to end on 127.0.0.1, driven by
 * the independent test client (tc.c) with a real CA (tests/acme/mkca.sh),
 * a real SQLite log and a real http-01 responder (libmicrohttpd, in this
 * process). Each refusal is checked for its exact ACME problem type and
 * HTTP status, a fresh nonce, and that nothing changed.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <jose/jwk.h>
#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "acme/acme_int.h"
#include "acme/acme_jws.h"
#include "config.h"
#include "db.h"
#include "fixtures.h"
#include "store/sql.h"
#include "keystore.h"
#include "mferr.h"
#include "suites_acme.h"
#include "tc.h"
#include "util.h"

/* ---- fixture: a CA, a listener, an http-01 responder --------------------------- */

#define MAX_TOKENS 8

struct responder {
	pthread_mutex_t lock;
	char token[MAX_TOKENS][128];
	char keyauth[MAX_TOKENS][160];
	int n;
	int wrong;		/* answer with garbage */
	char redirect[512];	/* non-empty: answer 302 to this Location */
	unsigned hits;
};

static char *dir;
static struct mf_config *cfg;
/* Called between loading the config and starting the listener, if set (restart_with). */
static void (*before_start)(struct mf_config *);
static struct mf_keystore *ks;
static struct mf_acme *srv;
static struct MHD_Daemon *h01;
static struct responder resp;
static struct tc_acme s;

static enum MHD_Result
h01_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct responder *r = cls;
	const char *prefix = "/.well-known/acme-challenge/";
	struct MHD_Response *mr;
	const char *body = "not found";
	unsigned code = 404;
	enum MHD_Result ret;
	int i;

	pthread_mutex_lock(&r->lock);
	r->hits++;
	if (strncmp(url, prefix, strlen(prefix)) == 0)
		for (i = 0; i < r->n; i++)
			if (strcmp(url + strlen(prefix), r->token[i]) == 0) {
				body = r->wrong ? "wrong" : r->keyauth[i];
				code = 200;
			}
	if (r->redirect[0] != '\0' && strstr(url, "/moved") == NULL) {
		body = "moved";
		code = 302;
	} else if (strncmp(url, "/moved", 6) == 0) {
		/* The target of a redirect serves the first key authorisation. */
		body = r->n > 0 ? r->keyauth[0] : "none";
		code = 200;
	}
	mr = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (code == 302)
		MHD_add_response_header(mr, "Location", r->redirect);
	pthread_mutex_unlock(&r->lock);
	ret = MHD_queue_response(conn, code, mr);
	MHD_destroy_response(mr);
	return ret;
}

void
start_server(const char *extra_acme)
{
	char cmd[1024], *p, err[512];
	const union MHD_DaemonInfo *di;
	struct mf_keystore_conf kc;
	struct sockaddr_in lo;
	unsigned port;

	/* Check's forked test process: responders write to peers that may hang up. */
	signal(SIGPIPE, SIG_IGN);
	dir = strdup("/tmp/mayfly-acme-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&resp, 0, sizeof(resp));
	pthread_mutex_init(&resp.lock, NULL);
	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h01 = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	    h01_handler, &resp, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&lo, MHD_OPTION_END);
	ck_assert_ptr_nonnull(h01);
	di = MHD_get_daemon_info(h01, MHD_DAEMON_INFO_BIND_PORT);
	port = di->port;
	snprintf(cmd, sizeof(cmd), "HTTP01_PORT=%u EXTRA_ACME='%s' sh %s/tests/acme/mkca.sh %s",
	    port, extra_acme ? extra_acme : "", MF_TEST_SRCDIR, dir);
	ck_assert_int_eq(system(cmd), 0);
	/* On PostgreSQL: a database of this directory's own, migrated as mkca.sh's empty file is at open. */
	if (mft_on_pg()) {
		char target[600];

		ck_assert_int_eq(mft_db_target(dir, 1, target, sizeof(target)), 0);
		snprintf(cmd, sizeof(cmd), "%s/mayfly.yaml", dir);
		ck_assert_int_eq(mft_yaml_db(cmd, target), 0);
	}
	/* EST credentials (the suite in check_acme_est.c uses them). */
	snprintf(cmd, sizeof(cmd), "cd %s && printf 'device-secret\\n' > est.pass && "
	    "printf '# one-time tokens\\ntok-0123456789abcdef\\n' > est.tokens && "
	    "printf 'api-token-0123456789\\n' > api.token && "
	    "chmod 600 est.pass est.tokens api.token", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/mayfly.yaml", dir);
	ck_assert_msg(mf_config_load(cmd, &cfg, err, sizeof(err)) == 0, "%s", err);
	if (before_start != NULL)
		before_start(cfg);
	memset(&kc, 0, sizeof(kc));
	ck_assert_int_eq(mf_keystore_new(&kc, &ks), 0);
	ck_assert_int_eq(mf_acme_start(cfg, ks, &srv), 0);
	memset(&s, 0, sizeof(s));
	snprintf(s.base, sizeof(s.base), "https://127.0.0.1:%u", mf_acme_port(srv));
	snprintf(s.cafile, sizeof(s.cafile), "%s/certs/root-a.pem", dir);
	s.key = tc_key_new("ES256");
	ck_assert_ptr_nonnull(s.key);
	p = NULL;
	(void)p;
}

static void
setup(void)
{
	start_server(NULL);
}

void
teardown(void)
{
	char cmd[600];

	mf_acme_stop(srv);
	srv = NULL;
	if (h01 != NULL)
		MHD_stop_daemon(h01);
	h01 = NULL;
	mf_keystore_free(ks);
	ks = NULL;
	mf_config_free(cfg);
	cfg = NULL;
	tc_key_free(s.key);
	s.key = NULL;
	if (dir != NULL && strstr(dir, "mayfly-acme-test.") != NULL) {
		mft_db_drop(dir);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	free(dir);
	dir = NULL;
}

/*
 * Replaces the fixture's server with a fresh one (new directory, CA and
 * database) whose loaded configuration fn changes before the listener
 * starts: for what mkca.sh's YAML does not reach, such as a profile's
 * lifetime in seconds or a test-resolve list taken away.
 */
static void
restart_with(void (*fn)(struct mf_config *))
{
	teardown();
	before_start = fn;
	start_server(NULL);
	before_start = NULL;
}

/* ---- helpers ------------------------------------------------------------------ */

const char *
ft_dir(void)
{
	return dir;
}

const char *
ft_base(void)
{
	return s.base;
}

static void
url(char *out, size_t n, const char *path)
{
	snprintf(out, n, "%s%s", s.base, path);
}

static json_t *
body_json(const struct tc_resp *r)
{
	json_error_t jerr;

	return r->body ? json_loads(r->body, 0, &jerr) : NULL;
}

/* Asserts a problem document of the given type and status with a fresh nonce. */
static void
assert_problem(const struct tc_resp *r, const char *type, long status)
{
	char buf[64];

	ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status,
	    r->body ? r->body : "");
	ck_assert_str_eq(tc_problem(r, buf, sizeof(buf)), type);
	ck_assert_str_eq(r->ctype, "application/problem+json");
	ck_assert_msg(r->nonce[0] != '\0', "no Replay-Nonce on an error");
}

static int64_t
db_count(const char *sql)
{
	return mft_db_int(dir, sql);
}

/* Runs one statement on the database from outside the listener, as another process would. */
static void
db_write(const char *sql, const char *a1, const char *a2, const char *a3)
{
	const char *args[3] = { a1, a2, a3 };
	int n = 0;

	while (n < 3 && args[n] != NULL)
		n++;
	ck_assert_int_eq(mft_db_exec(dir, sql, args, n), 1);
}

static void
new_account(void)
{
	struct tc_resp r;
	char u[300];

	url(u, sizeof(u), "/new-account");
	ck_assert_int_eq(tc_post(&s, u, "{\"termsOfServiceAgreed\":true}", &r), 0);
	ck_assert_msg(r.status == 201, "newAccount: %ld %s", r.status, r.body);
	ck_assert_int_ne(r.location[0], '\0');
	strcpy(s.kid, r.location);
	tc_resp_clear(&r);
}

/* Creates an order for names (JSON identifiers array text); returns the order URL. */
static json_t *
new_order(const char *ids, char *order_url, size_t n)
{
	struct tc_resp r;
	char u[300], payload[1024];
	json_t *o;

	url(u, sizeof(u), "/new-order");
	snprintf(payload, sizeof(payload), "{\"identifiers\":%s}", ids);
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	ck_assert_msg(r.status == 201, "newOrder: %ld %s", r.status, r.body);
	snprintf(order_url, n, "%s", r.location);
	o = body_json(&r);
	tc_resp_clear(&r);
	return o;
}

/* Serves every http-01 challenge of the order and waits (bounded) for "ready". */
static void
solve_order(json_t *order, const char *order_url)
{
	json_t *azs = json_object_get(order, "authorizations"), *az;
	struct tc_resp r;
	json_t *thp = jose_jwk_thp(NULL, s.key->pub, "S256");
	size_t i, j;
	int tries;

	ck_assert_ptr_nonnull(thp);
	for (i = 0; i < json_array_size(azs); i++) {
		const char *au = json_string_value(json_array_get(azs, i));
		json_t *chs, *ch;
		const char *cu = NULL, *tok = NULL;

		ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
		ck_assert_int_eq(r.status, 200);
		az = body_json(&r);
		tc_resp_clear(&r);
		chs = json_object_get(az, "challenges");
		for (j = 0; j < json_array_size(chs); j++) {
			ch = json_array_get(chs, j);
			if (strcmp(json_string_value(json_object_get(ch, "type")), "http-01") == 0) {
				cu = json_string_value(json_object_get(ch, "url"));
				tok = json_string_value(json_object_get(ch, "token"));
			}
		}
		ck_assert_ptr_nonnull(cu);
		pthread_mutex_lock(&resp.lock);
		snprintf(resp.token[resp.n], sizeof(resp.token[0]), "%s", tok);
		snprintf(resp.keyauth[resp.n], sizeof(resp.keyauth[0]), "%s.%s", tok,
		    json_string_value(thp));
		resp.n++;
		pthread_mutex_unlock(&resp.lock);
		ck_assert_int_eq(tc_post(&s, cu, "{}", &r), 0);
		ck_assert_msg(r.status == 200, "challenge: %ld %s", r.status, r.body);
		ck_assert_msg(strstr(r.links[0], "rel=\"up\"") != NULL || strstr(r.links[1],
		    "rel=\"up\"") != NULL, "no Link rel=up on the challenge");
		tc_resp_clear(&r);
		/* Poll the authorisation: at most 10 s. */
		for (tries = 0; tries < 100; tries++) {
			json_t *a2;
			const char *st;
			int done;

			ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
			a2 = body_json(&r);
			tc_resp_clear(&r);
			st = json_string_value(json_object_get(a2, "status"));
			done = st != NULL && strcmp(st, "pending") != 0;
			if (done)
				ck_assert_msg(strcmp(st, "valid") == 0 || resp.wrong, "authz %s", st);
			json_decref(a2);
			if (done)
				break;
			usleep(100000);
		}
		ck_assert_int_lt(tries, 100);
		json_decref(az);
	}
	json_decref(thp);
	(void)order_url;
}

/*
 * A ready order for one DNS name: newOrder, its challenges answered, its
 * finalize URL in fu and a finalize payload with a fresh CSR for the name
 * (key in *k) in payload.
 */
static void
ready_order(const char *name, char *ou, size_t oulen, char *fu, size_t fulen, char *payload,
    size_t plen, EVP_PKEY **k)
{
	char ids[300], *csr;
	json_t *o;

	snprintf(ids, sizeof(ids), "[{\"type\":\"dns\",\"value\":\"%s\"}]", name);
	o = new_order(ids, ou, oulen);
	snprintf(fu, fulen, "%s", json_string_value(json_object_get(o, "finalize")));
	solve_order(o, ou);
	json_decref(o);
	csr = tc_csr_b64u(name, k);
	ck_assert_ptr_nonnull(csr);
	snprintf(payload, plen, "{\"csr\":\"%s\"}", csr);
	free(csr);
}

static json_t *
get_order(const char *order_url)
{
	struct tc_resp r;
	json_t *o;

	ck_assert_int_eq(tc_post(&s, order_url, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	o = body_json(&r);
	tc_resp_clear(&r);
	return o;
}

static const char *
status_of(json_t *o)
{
	return json_string_value(json_object_get(o, "status"));
}

/* Verifies a PEM chain (leaf first) against a root file. */
static int
verify_chain(const char *pem, const char *rootfile)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL), *x;
	STACK_OF(X509) *rest = sk_X509_new_null();
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(rest, x);
	ERR_clear_error();
	X509_STORE_load_file(st, rootfile);
	X509_STORE_CTX_init(ctx, st, leaf, rest);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_pop_free(rest, X509_free);
	X509_free(leaf);
	BIO_free(b);
	return ok;
}

/* RFC 9773 4.1, computed here independently of the server. */
static int
ari_certid(X509 *x, char **out)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	ASN1_INTEGER *sn = X509_get_serialNumber(x);
	unsigned char *der = NULL;
	char *a, *b;
	int n = i2d_ASN1_INTEGER(sn, &der);

	if (aki == NULL || n < 3)
		return -1;
	a = mf_b64u_encode(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki));
	b = mf_b64u_encode(der + 2, (size_t)n - 2);
	if (asprintf(out, "%s.%s", a, b) < 0)
		*out = NULL;
	free(a);
	free(b);
	OPENSSL_free(der);
	return *out ? 0 : -1;
}

/* ---- the tests ---------------------------------------------------------------- */

static void
four_threads(struct mf_config *c)
{
	c->acme.threads = 4;
}

/*
 * A TLS connection that has closed leaves nothing behind in the listener.
 * With a thread per connection it left 192 bytes: GnuTLS 3.7 gives each new
 * thread its own random-generator state on its first handshake and frees it
 * only at library deinit, so memory rose with every connection (the soak's
 * rise, issue 11). mallinfo2 counts the bytes in use in every arena of
 * this process, the listener's threads included.
 */
START_TEST(t_connection_memory)
{
	struct mallinfo2 m0, m1;
	struct tc_resp r;
	char u[300];
	size_t grown;
	int i, n = 1000, warm = 300;

	restart_with(four_threads);
	url(u, sizeof(u), "/directory");
	memset(&m0, 0, sizeof(m0));
	for (i = 0; i < warm + n; i++) {
		/* The first ones warm libcurl, OpenSSL, every thread and its arena. */
		if (i == warm)
			m0 = mallinfo2();
		ck_assert_int_eq(tc_http("GET", u, s.cafile, NULL, NULL, 0, &r), 0);
		ck_assert_int_eq(r.status, 200);
		tc_resp_clear(&r);
	}
	m1 = mallinfo2();
	grown = m1.uordblks > m0.uordblks ? m1.uordblks - m0.uordblks : 0;
	/* Half the old leak; caches and arenas that settle add some 15 bytes. */
	ck_assert_msg(grown < (size_t)n * 96, "%zu bytes still in use after %d connections "
	    "(%zu per connection)", grown, n, grown / (size_t)n);
}
END_TEST

START_TEST(t_directory_and_nonce)
{
	struct tc_resp r;
	char u[300];
	json_t *d;

	url(u, sizeof(u), "/directory");
	ck_assert_int_eq(tc_http("GET", u, s.cafile, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	d = body_json(&r);
	ck_assert_ptr_nonnull(json_object_get(d, "newNonce"));
	ck_assert_ptr_nonnull(json_object_get(d, "renewalInfo"));
	ck_assert(json_is_false(json_object_get(json_object_get(d, "meta"),
	    "externalAccountRequired")));
	json_decref(d);
	tc_resp_clear(&r);
	url(u, sizeof(u), "/new-nonce");
	ck_assert_int_eq(tc_http("HEAD", u, s.cafile, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(strlen(r.nonce), ACME_NONCE_LEN);
	/* Canonical base64url: certbot decodes and re-encodes nonces before use. */
	{
		unsigned char *raw;
		size_t rl;
		char *again;

		ck_assert_int_eq(mf_b64u_decode(r.nonce, &raw, &rl), 0);
		ck_assert_uint_eq(rl, 40);	/* node, counter, expiry, MAC */
		again = mf_b64u_encode(raw, rl);
		ck_assert_str_eq(again, r.nonce);
		free(again);
		free(raw);
	}
	tc_resp_clear(&r);
	ck_assert_int_eq(tc_http("GET", u, s.cafile, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 204);
	ck_assert_uint_eq(strlen(r.nonce), ACME_NONCE_LEN);
	tc_resp_clear(&r);
	url(u, sizeof(u), "/nope");
	ck_assert_int_eq(tc_http("GET", u, s.cafile, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 404);
	tc_resp_clear(&r);
}
END_TEST

START_TEST(t_account_lifecycle)
{
	struct tc_resp r;
	char u[300], kid[512];
	struct tc_key *other;

	url(u, sizeof(u), "/new-account");
	new_account();
	strcpy(kid, s.kid);
	/* The same key again: 200 and the same account. */
	s.kid[0] = '\0';
	ck_assert_int_eq(tc_post(&s, u, "{\"onlyReturnExisting\":true}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.location, kid);
	tc_resp_clear(&r);
	/* Another key with onlyReturnExisting: accountDoesNotExist, and no account made. */
	other = tc_key_new("EdDSA");
	tc_key_free(s.key);
	s.key = other;
	ck_assert_int_eq(tc_post(&s, u, "{\"onlyReturnExisting\":true}", &r), 0);
	assert_problem(&r, "accountDoesNotExist", 400);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_accounts"), 1);
	/* EdDSA, ES384 and RS256 keys can register too. */
	ck_assert_int_eq(tc_post(&s, u, "{\"contact\":[\"mailto:ops@acme.test\"]}", &r), 0);
	ck_assert_int_eq(r.status, 201);
	strcpy(s.kid, r.location);
	tc_resp_clear(&r);
	/* Update the contact, then deactivate; afterwards the key is refused. */
	ck_assert_int_eq(tc_post(&s, s.kid, "{\"contact\":[\"mailto:new@acme.test\"]}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "new@acme.test"));
	tc_resp_clear(&r);
	ck_assert_int_eq(tc_post(&s, s.kid, "{\"status\":\"deactivated\"}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "deactivated"));
	tc_resp_clear(&r);
	url(u, sizeof(u), "/new-order");
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"a.acme.test\"}]}", &r), 0);
	assert_problem(&r, "unauthorized", 403);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
	tc_key_free(other);
	s.key = tc_key_new("ES256");
}
END_TEST

START_TEST(t_bad_nonce)
{
	struct tc_resp r;
	char u[300], used[64], *body;

	new_account();
	url(u, sizeof(u), "/new-order");
	strcpy(used, s.nonce);
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"a.acme.test\"}]}", &r), 0);
	ck_assert_int_eq(r.status, 201);
	tc_resp_clear(&r);
	/* The same request with the same (spent) nonce: badNonce, no second order. */
	body = tc_sign(s.key, u, used, s.kid, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"b.acme.test\"}]}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), &r), 0);
	assert_problem(&r, "badNonce", 400);
	tc_resp_clear(&r);
	free(body);
	/* A nonce that was never issued. */
	body = tc_sign(s.key, u, "AAAAAAAAAAAAAAAAAAAAAA", s.kid, "{\"identifiers\":[{\"type\":"
	    "\"dns\",\"value\":\"b.acme.test\"}]}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), &r), 0);
	assert_problem(&r, "badNonce", 400);
	/* The error carries a fresh nonce that works. */
	strcpy(s.nonce, r.nonce);
	tc_resp_clear(&r);
	free(body);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 1);
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"b.acme.test\"}]}", &r), 0);
	ck_assert_int_eq(r.status, 201);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 2);
}
END_TEST

START_TEST(t_wrong_url)
{
	struct tc_resp r;
	char u[300], other[300], *body;

	new_account();
	url(u, sizeof(u), "/new-order");
	url(other, sizeof(other), "/new-account");
	ck_assert_int_eq(tc_new_nonce(&s), 0);
	/* Signed for newAccount, sent to newOrder. */
	body = tc_sign(s.key, other, s.nonce, s.kid, "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.acme.test\"}]}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), &r), 0);
	assert_problem(&r, "unauthorized", 403);
	tc_resp_clear(&r);
	free(body);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
	/* The nonce was not spent by the refused request: it still works. */
	body = tc_sign(s.key, u, s.nonce, s.kid, "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.acme.test\"}]}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), &r), 0);
	ck_assert_msg(r.status == 201, "newOrder with the unspent nonce: %ld %s", r.status, r.body);
	tc_resp_clear(&r);
	free(body);
}
END_TEST

START_TEST(t_oversized_and_shape)
{
	struct tc_resp r;
	char u[300], *big, *body;
	json_t *j;
	size_t n = 70000;

	new_account();
	url(u, sizeof(u), "/new-order");
	big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, big, n, &r), 0);
	assert_problem(&r, "malformed", 413);
	tc_resp_clear(&r);
	free(big);
	/* Wrong content type. */
	ck_assert_int_eq(tc_new_nonce(&s), 0);
	body = tc_sign(s.key, u, s.nonce, s.kid, "{\"identifiers\":[]}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, "application/json", body, strlen(body), &r), 0);
	assert_problem(&r, "malformed", 400);
	tc_resp_clear(&r);
	free(body);
	/* An unknown member in the JWS object. */
	ck_assert_int_eq(tc_new_nonce(&s), 0);
	j = tc_sign_json(s.key, u, s.nonce, s.kid, "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.acme.test\"}]}");
	json_object_set_new(j, "unknown", json_string("x"));
	body = json_dumps(j, JSON_COMPACT);
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), &r), 0);
	assert_problem(&r, "malformed", 400);
	tc_resp_clear(&r);
	free(body);
	json_decref(j);
	/* jwk where kid is required. */
	ck_assert_int_eq(tc_new_nonce(&s), 0);
	body = tc_sign(s.key, u, s.nonce, NULL, "{}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), &r), 0);
	assert_problem(&r, "malformed", 400);
	tc_resp_clear(&r);
	free(body);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
}
END_TEST

START_TEST(t_rejected_identifiers)
{
	struct tc_resp r;
	char u[300];

	new_account();
	url(u, sizeof(u), "/new-order");
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"a.acme.test\"},{\"type\":\"dns\",\"value\":\"evil.example\"}]}", &r), 0);
	assert_problem(&r, "rejectedIdentifier", 400);
	tc_resp_clear(&r);
	/* No dns-01 here, so no wildcard. */
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"*.acme.test\"}]}", &r), 0);
	assert_problem(&r, "rejectedIdentifier", 400);
	tc_resp_clear(&r);
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"email\",\"value\":"
	    "\"a@acme.test\"}]}", &r), 0);
	assert_problem(&r, "unsupportedIdentifier", 400);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
}
END_TEST

START_TEST(t_issue_badcsr_revoke_ari)
{
	struct tc_resp r;
	char ou[512], fu[600], payload[4096], certurl[600], *csr, pem_root_b[600], ari[700];
	char *certid = NULL;
	EVP_PKEY *k = NULL, *k2 = NULL;
	json_t *o;
	X509 *leaf;
	BIO *b;
	int64_t before;

	new_account();
	o = new_order("[{\"type\":\"dns\",\"value\":\"www.acme.test\"},{\"type\":\"ip\","
	    "\"value\":\"127.0.0.1\"}]", ou, sizeof(ou));
	snprintf(fu, sizeof(fu), "%s", json_string_value(json_object_get(o, "finalize")));
	/* Finalize before the challenges: orderNotReady. */
	csr = tc_csr_b64u("www.acme.test,127.0.0.1", &k);
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
	assert_problem(&r, "orderNotReady", 403);
	tc_resp_clear(&r);
	solve_order(o, ou);
	json_decref(o);
	o = get_order(ou);
	ck_assert_str_eq(status_of(o), "ready");
	json_decref(o);
	/* A CSR with a name not in the order: badCSR, order still ready, nothing logged. */
	before = db_count("SELECT count(*) FROM certificates");
	{
		char *bad = tc_csr_b64u("www.acme.test,127.0.0.1,x.acme.test", &k2);

		snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", bad);
		ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
		assert_problem(&r, "badCSR", 400);
		tc_resp_clear(&r);
		free(bad);
		EVP_PKEY_free(k2);
		bad = tc_csr_b64u("www.acme.test", &k2);
		snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", bad);
		ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
		assert_problem(&r, "badCSR", 400);
		tc_resp_clear(&r);
		free(bad);
		EVP_PKEY_free(k2);
		/*
		 * The order's names, but the CSR's signature broken (last octet
		 * of s): only the issuer verifies it, and refuses.
		 */
		{
			unsigned char *der = NULL;
			size_t dl = 0;

			bad = tc_csr_b64u("www.acme.test,127.0.0.1", &k2);
			ck_assert_int_eq(mf_b64u_decode(bad, &der, &dl), 0);
			der[dl - 1] ^= 0x01;
			free(bad);
			bad = mf_b64u_encode(der, dl);
			free(der);
		}
		snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", bad);
		ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
		assert_problem(&r, "badCSR", 400);
		ck_assert_ptr_nonnull(strstr(r.body, "signature"));
		tc_resp_clear(&r);
		free(bad);
		EVP_PKEY_free(k2);
	}
	ck_assert_int_eq(db_count("SELECT count(*) FROM certificates"), before);
	o = get_order(ou);
	ck_assert_str_eq(status_of(o), "ready");
	json_decref(o);
	/* The right CSR. */
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
	ck_assert_msg(r.status == 200, "finalize: %ld %s", r.status, r.body);
	o = body_json(&r);
	tc_resp_clear(&r);
	ck_assert_str_eq(status_of(o), "valid");
	snprintf(certurl, sizeof(certurl), "%s", json_string_value(json_object_get(o,
	    "certificate")));
	json_decref(o);
	ck_assert_int_eq(db_count("SELECT count(*) FROM certificates"), before + 1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_issued"), 1);
	/* Download: a PEM chain that verifies to root-a; the alternate to root-b. */
	ck_assert_int_eq(tc_post(&s, certurl, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.ctype, "application/pem-certificate-chain");
	ck_assert(verify_chain(r.body, s.cafile));
	b = BIO_new_mem_buf(r.body, -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(leaf);
	ck_assert_int_eq(X509_check_private_key(leaf, k), 1);
	{
		int i, found = 0;

		for (i = 0; i < r.nlinks; i++)
			if (strstr(r.links[i], "rel=\"alternate\"") != NULL) {
				char alt[512], *e;

				snprintf(alt, sizeof(alt), "%s", r.links[i] + 1);
				e = strchr(alt, '>');
				ck_assert_ptr_nonnull(e);
				*e = '\0';
				tc_resp_clear(&r);
				ck_assert_int_eq(tc_post(&s, alt, NULL, &r), 0);
				ck_assert_int_eq(r.status, 200);
				snprintf(pem_root_b, sizeof(pem_root_b), "%s/certs/root-b.pem", dir);
				ck_assert(verify_chain(r.body, pem_root_b));
				found = 1;
				break;
			}
		ck_assert_msg(found, "no alternate chain link");
	}
	tc_resp_clear(&r);
	/* ARI before revocation: a window around two thirds of the lifetime. */
	ck_assert_int_eq(ari_certid(leaf, &certid), 0);
	snprintf(ari, sizeof(ari), "%s/renewal-info/%s", s.base, certid);
	ck_assert_int_eq(tc_http("GET", ari, s.cafile, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "suggestedWindow"));
	ck_assert_int_ne(r.retry_after[0], '\0');
	{
		json_t *doc = body_json(&r), *w = json_object_get(doc, "suggestedWindow");
		struct tm tm;
		time_t start;
		const ASN1_TIME *nb = X509_get0_notBefore(leaf), *na = X509_get0_notAfter(leaf);
		struct tm tnb, tna;
		time_t tb, ta;

		memset(&tm, 0, sizeof(tm));
		ck_assert_ptr_nonnull(strptime(json_string_value(json_object_get(w, "start")),
		    "%Y-%m-%dT%H:%M:%SZ", &tm));
		start = timegm(&tm);
		ASN1_TIME_to_tm(nb, &tnb);
		ASN1_TIME_to_tm(na, &tna);
		tb = timegm(&tnb);
		ta = timegm(&tna);
		ck_assert_int_gt(start, tb + (ta - tb) / 2);
		ck_assert_int_lt(start, tb + (ta - tb) * 3 / 4);
		json_decref(doc);
	}
	tc_resp_clear(&r);
	/* Revoke by the account; a second time: alreadyRevoked. */
	{
		unsigned char *der = NULL;
		int n = i2d_X509(leaf, &der);
		char *b64 = mf_b64u_encode(der, (size_t)n);
		char ru[300];

		url(ru, sizeof(ru), "/revoke-cert");
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":7}", b64);
		ck_assert_int_eq(tc_post(&s, ru, payload, &r), 0);
		assert_problem(&r, "badRevocationReason", 400);
		tc_resp_clear(&r);
		ck_assert_int_eq(db_count("SELECT count(*) FROM revocations"), 0);
		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\",\"reason\":4}", b64);
		ck_assert_int_eq(tc_post(&s, ru, payload, &r), 0);
		ck_assert_msg(r.status == 200, "revoke: %ld %s", r.status, r.body);
		tc_resp_clear(&r);
		ck_assert_int_eq(db_count("SELECT count(*) FROM revocations"), 1);
		ck_assert_int_eq(tc_post(&s, ru, payload, &r), 0);
		assert_problem(&r, "alreadyRevoked", 400);
		tc_resp_clear(&r);
		OPENSSL_free(der);
		free(b64);
	}
	/* ARI after revocation: renew now (a window already begun). */
	ck_assert_int_eq(tc_http("GET", ari, s.cafile, NULL, NULL, 0, &r), 0);
	{
		json_t *doc = body_json(&r), *w = json_object_get(doc, "suggestedWindow");
		struct tm tm;

		memset(&tm, 0, sizeof(tm));
		ck_assert_ptr_nonnull(strptime(json_string_value(json_object_get(w, "start")),
		    "%Y-%m-%dT%H:%M:%SZ", &tm));
		ck_assert_int_le(timegm(&tm), time(NULL));
		json_decref(doc);
	}
	tc_resp_clear(&r);
	free(certid);
	free(csr);
	X509_free(leaf);
	EVP_PKEY_free(k);
}
END_TEST

/* Revocation signed with the certificate's own key (jwk), by someone without the account. */
START_TEST(t_revoke_by_cert_key)
{
	struct tc_resp r;
	char ou[512], fu[600], payload[4096], ru[300];
	EVP_PKEY *k = NULL;
	json_t *o;
	X509 *leaf;
	BIO *b;
	struct tc_key *acct, *ck;

	new_account();
	ready_order("r.acme.test", ou, sizeof(ou), fu, sizeof(fu), payload, sizeof(payload), &k);
	ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
	ck_assert_int_eq(r.status, 200);
	o = body_json(&r);
	tc_resp_clear(&r);
	ck_assert_int_eq(tc_post(&s, json_string_value(json_object_get(o, "certificate")), NULL,
	    &r), 0);
	json_decref(o);
	b = BIO_new_mem_buf(r.body, -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	tc_resp_clear(&r);
	{
		unsigned char *der = NULL;
		int n = i2d_X509(leaf, &der);
		char *b64 = mf_b64u_encode(der, (size_t)n);

		snprintf(payload, sizeof(payload), "{\"certificate\":\"%s\"}", b64);
		OPENSSL_free(der);
		free(b64);
	}
	url(ru, sizeof(ru), "/revoke-cert");
	/* A stranger's key: unauthorized. */
	acct = s.key;
	s.key = tc_key_new("ES256");
	s.kid[0] = '\0';
	ck_assert_int_eq(tc_post(&s, ru, payload, &r), 0);
	assert_problem(&r, "unauthorized", 403);
	tc_resp_clear(&r);
	tc_key_free(s.key);
	ck_assert_int_eq(db_count("SELECT count(*) FROM revocations"), 0);
	/* The certificate's key. */
	ck = tc_key_from_pkey(k);
	s.key = ck;
	ck_assert_int_eq(tc_post(&s, ru, payload, &r), 0);
	ck_assert_msg(r.status == 200, "revoke: %ld %s", r.status, r.body);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM revocations"), 1);
	tc_key_free(ck);
	s.key = acct;
	X509_free(leaf);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(t_challenge_fails)
{
	struct tc_resp r;
	char ou[512];
	json_t *o;

	new_account();
	o = new_order("[{\"type\":\"dns\",\"value\":\"f.acme.test\"}]", ou, sizeof(ou));
	resp.wrong = 1;
	solve_order(o, ou);
	json_decref(o);
	o = get_order(ou);
	ck_assert_str_eq(status_of(o), "invalid");
	json_decref(o);
	ck_assert_uint_gt(resp.hits, 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_challenges WHERE status = 'invalid' "
	    "AND error LIKE '%incorrectResponse%'"), 1);
	(void)r;
}
END_TEST

START_TEST(t_other_account_cannot_read)
{
	struct tc_resp r;
	char ou[512];
	json_t *o;
	struct tc_key *first;
	char kid[512];

	new_account();
	o = new_order("[{\"type\":\"dns\",\"value\":\"p.acme.test\"}]", ou, sizeof(ou));
	json_decref(o);
	first = s.key;
	strcpy(kid, s.kid);
	s.key = tc_key_new("ES256");
	s.kid[0] = '\0';
	new_account();
	ck_assert_int_eq(tc_post(&s, ou, NULL, &r), 0);
	assert_problem(&r, "malformed", 404);
	tc_resp_clear(&r);
	/* Nor use the other's account URL. */
	ck_assert_int_eq(tc_post(&s, kid, NULL, &r), 0);
	assert_problem(&r, "unauthorized", 403);
	tc_resp_clear(&r);
	tc_key_free(s.key);
	s.key = first;
}
END_TEST

START_TEST(t_key_rollover)
{
	struct tc_resp r;
	char u[300], payload[4096], *inner_s, old_kid[512];
	struct tc_key *newk = tc_key_new("ES384"), *oldk;
	json_t *inner, *pl;
	char *pls;

	new_account();
	strcpy(old_kid, s.kid);
	url(u, sizeof(u), "/key-change");
	pl = json_pack("{s:s, s:O}", "account", s.kid, "oldKey", s.key->pub);
	pls = json_dumps(pl, JSON_COMPACT);
	inner = tc_sign_json(newk, u, NULL, NULL, pls);
	inner_s = json_dumps(inner, JSON_COMPACT);
	snprintf(payload, sizeof(payload), "%s", inner_s);
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	ck_assert_msg(r.status == 200, "keyChange: %ld %s", r.status, r.body);
	tc_resp_clear(&r);
	/* The old key no longer signs for the account; the new one does. */
	oldk = s.key;
	ck_assert_int_eq(tc_post(&s, s.kid, NULL, &r), 0);
	assert_problem(&r, "malformed", 400);	/* signature by the wrong key */
	tc_resp_clear(&r);
	s.key = newk;
	ck_assert_int_eq(tc_post(&s, s.kid, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	tc_resp_clear(&r);
	ck_assert_str_eq(s.kid, old_kid);
	s.key = oldk;
	tc_key_free(newk);
	json_decref(pl);
	json_decref(inner);
	free(pls);
	free(inner_s);
}
END_TEST

/* A POST-as-GET of the account with key k: the HTTP status. */
static long
acct_get_with(struct tc_key *k, char *type, size_t typelen)
{
	struct tc_key *keep = s.key;
	struct tc_resp r;
	long st;

	s.key = k;
	ck_assert_int_eq(tc_post(&s, s.kid, NULL, &r), 0);
	s.key = keep;
	st = r.status;
	type[0] = '\0';
	if (st != 200)
		tc_problem(&r, type, typelen);
	tc_resp_clear(&r);
	return st;
}

/*
 * The listener keeps account keys between requests (mf_jwk_cache). A key
 * it has used must stop working the moment the account's key changes or
 * the account is deactivated, by keyChange or by another process writing
 * the database; the new key is of the same algorithm, so only the key
 * itself can tell them apart.
 */
START_TEST(t_key_cache)
{
	struct tc_resp r;
	struct tc_key *k1 = s.key, *k2 = tc_key_new("ES256"), *k3 = tc_key_new("ES256");
	struct tc_key *k4 = tc_key_new("RS256");
	char u[300], type[64], tp[44], *inner_s, *pls, *jwk_s, id[64];
	json_t *inner, *pl;

	ck_assert_ptr_nonnull(k2);
	ck_assert_ptr_nonnull(k3);
	ck_assert_ptr_nonnull(k4);
	new_account();
	snprintf(id, sizeof(id), "%s", strrchr(s.kid, '/') + 1);
	ck_assert_int_eq(acct_get_with(k1, type, sizeof(type)), 200);
	ck_assert_int_eq(acct_get_with(k1, type, sizeof(type)), 200);

	/* keyChange to k2: k1, cached, is refused; k2 works; k1 still refused. */
	url(u, sizeof(u), "/key-change");
	pl = json_pack("{s:s, s:O}", "account", s.kid, "oldKey", k1->pub);
	pls = json_dumps(pl, JSON_COMPACT);
	inner = tc_sign_json(k2, u, NULL, NULL, pls);
	inner_s = json_dumps(inner, JSON_COMPACT);
	ck_assert_int_eq(tc_post(&s, u, inner_s, &r), 0);
	ck_assert_msg(r.status == 200, "keyChange: %ld %s", r.status, r.body);
	tc_resp_clear(&r);
	ck_assert_int_eq(acct_get_with(k1, type, sizeof(type)), 400);
	ck_assert_str_eq(type, "malformed");
	ck_assert_int_eq(acct_get_with(k2, type, sizeof(type)), 200);
	ck_assert_int_eq(acct_get_with(k2, type, sizeof(type)), 200);
	ck_assert_int_eq(acct_get_with(k1, type, sizeof(type)), 400);

	/* Another process puts k3 in (a restore, say): k2, cached, is refused. */
	ck_assert_int_eq(mf_jwk_thumbprint(k3->pub, tp), 0);
	jwk_s = json_dumps(k3->pub, JSON_SORT_KEYS | JSON_COMPACT);
	db_write("UPDATE acme_accounts SET jwk = ?, thumbprint = ? WHERE id = ?", jwk_s, tp, id);
	ck_assert_int_eq(acct_get_with(k2, type, sizeof(type)), 400);
	ck_assert_str_eq(type, "malformed");
	ck_assert_int_eq(acct_get_with(k3, type, sizeof(type)), 200);

	/* Deactivated by another process: the cached k3 is refused. */
	db_write("UPDATE acme_accounts SET status = 'deactivated' WHERE id = ?", id, NULL, NULL);
	ck_assert_int_eq(acct_get_with(k3, type, sizeof(type)), 403);
	ck_assert_str_eq(type, "unauthorized");

	/* A second account (RS256), deactivated through ACME after use. */
	s.key = k4;
	s.kid[0] = '\0';
	new_account();
	ck_assert_int_eq(acct_get_with(k4, type, sizeof(type)), 200);
	ck_assert_int_eq(tc_post(&s, s.kid, "{\"status\":\"deactivated\"}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	tc_resp_clear(&r);
	ck_assert_int_eq(acct_get_with(k4, type, sizeof(type)), 403);
	ck_assert_str_eq(type, "unauthorized");

	s.key = k1;
	tc_key_free(k2);
	tc_key_free(k3);
	tc_key_free(k4);
	json_decref(pl);
	json_decref(inner);
	free(pls);
	free(inner_s);
	free(jwk_s);
}
END_TEST

/* POST-as-GET of u: the "status" of the object answered (200 asserted). */
static void
resource_status(const char *u, char *out, size_t n)
{
	struct tc_resp r;
	json_t *o;

	ck_assert_int_eq(tc_post(&s, u, NULL, &r), 0);
	ck_assert_msg(r.status == 200, "%s: %ld %s", u, r.status, r.body);
	o = body_json(&r);
	snprintf(out, n, "%s", json_string_value(json_object_get(o, "status")));
	json_decref(o);
	tc_resp_clear(&r);
}

/*
 * An order poll refreshes the order from its authorisations only when
 * something can change; these are the changes a poll must still see: an
 * authorisation that expired or became valid behind the poller (another
 * process, or time), and an order already valid, which stays valid while
 * its authorisation expires. (An order past its own expiry is not tried
 * here: the minute's cleanup may delete it first.)
 */
START_TEST(t_order_poll_refresh)
{
	char ou[512], au[512], st[32], oid[64];
	json_t *o;

	new_account();
	/* The authorisation expired: the order dies with it. */
	o = new_order("[{\"type\":\"dns\",\"value\":\"r1.acme.test\"}]", ou, sizeof(ou));
	snprintf(au, sizeof(au), "%s", json_string_value(json_array_get(json_object_get(o,
	    "authorizations"), 0)));
	json_decref(o);
	resource_status(ou, st, sizeof(st));
	ck_assert_str_eq(st, "pending");
	snprintf(oid, sizeof(oid), "%s", strrchr(ou, '/') + 1);
	db_write("UPDATE acme_authzs SET expires = 1 WHERE order_id = ?", oid, NULL, NULL);
	resource_status(ou, st, sizeof(st));
	ck_assert_str_eq(st, "invalid");
	resource_status(au, st, sizeof(st));
	ck_assert_str_eq(st, "expired");

	/* The authorisation became valid: ready; then, once valid, it stays valid. */
	o = new_order("[{\"type\":\"dns\",\"value\":\"r3.acme.test\"}]", ou, sizeof(ou));
	snprintf(au, sizeof(au), "%s", json_string_value(json_array_get(json_object_get(o,
	    "authorizations"), 0)));
	json_decref(o);
	snprintf(oid, sizeof(oid), "%s", strrchr(ou, '/') + 1);
	resource_status(ou, st, sizeof(st));
	ck_assert_str_eq(st, "pending");
	db_write("UPDATE acme_authzs SET status = 'valid' WHERE order_id = ?", oid, NULL, NULL);
	resource_status(ou, st, sizeof(st));
	ck_assert_str_eq(st, "ready");
	db_write("UPDATE acme_orders SET status = 'valid' WHERE id = ?", oid, NULL, NULL);
	db_write("UPDATE acme_authzs SET expires = 1 WHERE order_id = ?", oid, NULL, NULL);
	resource_status(ou, st, sizeof(st));
	ck_assert_str_eq(st, "valid");
	resource_status(au, st, sizeof(st));
	ck_assert_str_eq(st, "expired");
	resource_status(ou, st, sizeof(st));
	ck_assert_str_eq(st, "valid");
}
END_TEST

START_TEST(t_rate_limit)
{
	struct tc_resp r;
	char u[300];
	int i;

	teardown();
	start_server("  orders-per-hour: 2");
	new_account();
	url(u, sizeof(u), "/new-order");
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
		    "\"a.acme.test\"}]}", &r), 0);
		ck_assert_int_eq(r.status, 201);
		tc_resp_clear(&r);
	}
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"a.acme.test\"}]}", &r), 0);
	assert_problem(&r, "rateLimited", 429);
	ck_assert_int_gt(atoi(r.retry_after), 0);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 2);
}
END_TEST

START_TEST(t_eab_required)
{
	struct tc_resp r;
	char u[300], payload[2048], *eab_s;
	unsigned char key[32];
	json_t *eab;

	teardown();
	/* base64url of 32 bytes 0x42 */
	start_server("  eab-required: true\n  eab-keys:\n    kid-1: QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI");
	memset(key, 0x42, sizeof(key));
	url(u, sizeof(u), "/new-account");
	ck_assert_int_eq(tc_post(&s, u, "{\"termsOfServiceAgreed\":true}", &r), 0);
	assert_problem(&r, "externalAccountRequired", 400);
	tc_resp_clear(&r);
	{
		char *pk = json_dumps(s.key->pub, JSON_COMPACT);
		unsigned char bad[32];

		memset(bad, 0x41, sizeof(bad));
		eab = tc_sign_hmac(bad, sizeof(bad), "kid-1", u, pk);
		eab_s = json_dumps(eab, JSON_COMPACT);
		snprintf(payload, sizeof(payload), "{\"externalAccountBinding\":%s}", eab_s);
		ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
		assert_problem(&r, "unauthorized", 403);
		tc_resp_clear(&r);
		json_decref(eab);
		free(eab_s);
		ck_assert_int_eq(db_count("SELECT count(*) FROM acme_accounts"), 0);
		eab = tc_sign_hmac(key, sizeof(key), "kid-1", u, pk);
		eab_s = json_dumps(eab, JSON_COMPACT);
		snprintf(payload, sizeof(payload), "{\"externalAccountBinding\":%s}", eab_s);
		ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
		ck_assert_msg(r.status == 201, "EAB newAccount: %ld %s", r.status, r.body);
		tc_resp_clear(&r);
		json_decref(eab);
		free(eab_s);
		free(pk);
	}
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_accounts WHERE eab_kid = 'kid-1'"), 1);
}
END_TEST

/* newAccount with a binding key made by `mayfly acme eab add` (kept in the database). */
static long
eab_new_account(const char *kid, const unsigned char *key, size_t keylen, char *type,
    size_t typelen)
{
	struct tc_resp r;
	char u[300], payload[2048], *eab_s, *pk;
	json_t *eab;
	long status;

	url(u, sizeof(u), "/new-account");
	pk = json_dumps(s.key->pub, JSON_COMPACT);
	eab = tc_sign_hmac(key, keylen, kid, u, pk);
	eab_s = json_dumps(eab, JSON_COMPACT);
	snprintf(payload, sizeof(payload), "{\"externalAccountBinding\":%s}", eab_s);
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	status = r.status;
	type[0] = '\0';
	if (status >= 400)
		tc_problem(&r, type, typelen);
	tc_resp_clear(&r);
	json_decref(eab);
	free(eab_s);
	free(pk);
	return status;
}

START_TEST(t_eab_database)
{
	struct mf_db *db = NULL;
	unsigned char key[MF_EAB_KEY_LEN], key2[MF_EAB_KEY_LEN];
	char kid[MF_EAB_KID_LEN + 1], kid2[MF_EAB_KID_LEN + 1], path[600], type[64], q[400];
	struct tc_key *first;

	teardown();
	/* eab-required with no key in the configuration: the database has them. */
	start_server("  eab-required: true");
	ck_assert_int_eq(mft_db_target(dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	ck_assert_int_eq(mf_db_eab_add(db, "customer 1", "test", kid, key), 0);
	ck_assert_int_eq(mf_db_eab_add(db, "customer 2", "test", kid2, key2), 0);
	ck_assert_int_eq(strlen(kid), MF_EAB_KID_LEN);
	ck_assert_str_ne(kid, kid2);
	/* A key made after the listener started binds an account at once. */
	ck_assert_int_eq(eab_new_account(kid, key, sizeof(key), type, sizeof(type)), 201);
	snprintf(q, sizeof(q), "SELECT count(*) FROM acme_accounts WHERE eab_kid = '%s'", kid);
	ck_assert_int_eq(db_count(q), 1);
	/* The same key for another account key: refused, it binds one account. */
	first = s.key;
	s.key = tc_key_new("ES256");
	s.kid[0] = '\0';
	ck_assert_int_eq(eab_new_account(kid, key, sizeof(key), type, sizeof(type)), 403);
	ck_assert_str_eq(type, "unauthorized");
	/* A removed key binds nothing more. */
	ck_assert_int_eq(mf_db_eab_remove(db, kid2, "test"), 0);
	ck_assert_int_eq(mf_db_eab_remove(db, kid2, "test"), MF_ERR_NOTFOUND);
	ck_assert_int_eq(eab_new_account(kid2, key2, sizeof(key2), type, sizeof(type)), 403);
	ck_assert_str_eq(type, "unauthorized");
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_accounts"), 1);
	/* The audit log names the keys, never their bytes. */
	ck_assert_int_eq(db_count("SELECT count(*) FROM audit_log WHERE event IN "
	    "('eab-add', 'eab-remove')"), 3);
	{
		char hex[2 * MF_EAB_KEY_LEN + 1], *b64 = mf_b64u_encode(key, sizeof(key));

		mf_hex(key, sizeof(key), hex);
		snprintf(q, sizeof(q), "SELECT count(*) FROM audit_log WHERE instr(detail, '%s') > 0 "
		    "OR instr(detail, '%s') > 0 OR instr(detail, '%.8s') > 0", hex, b64, b64);
		ck_assert_int_eq(db_count(q), 0);
		free(b64);
	}
	tc_key_free(s.key);
	s.key = first;
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(key2, sizeof(key2));
	mf_db_close(db);
}
END_TEST

/* ---- tls-alpn-01 (RFC 8737): a TLS responder in this process -------------------- */

struct alpn_srv {
	int fd;
	SSL_CTX *ctx;
	int served;
};

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x0a" "acme-tls/1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, want, sizeof(want) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* Serves one TLS handshake on the listening socket (bounded by 15 s). */
static void *
alpn_serve(void *arg)
{
	struct alpn_srv *as = arg;
	struct pollfd pfd = { as->fd, POLLIN, 0 };
	SSL *ssl;
	int c;

	if (poll(&pfd, 1, 15000) != 1 || (c = accept(as->fd, NULL, NULL)) < 0)
		return NULL;
	ssl = SSL_new(as->ctx);
	SSL_set_fd(ssl, c);
	if (SSL_accept(ssl) == 1) {
		as->served = 1;
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(c);
	return NULL;
}

/* The RFC 8737 validation certificate for name and key authorisation. */
static X509 *
alpn_cert(const char *name, const char *keyauth, EVP_PKEY *key)
{
	unsigned char md[32], der[34];
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	char san[300];

	EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(), NULL);
	der[0] = 0x04;
	der[1] = 32;
	memcpy(der + 2, md, 32);
	ASN1_OCTET_STRING_set(val, der, sizeof(der));
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	snprintf(san, sizeof(san), "DNS:%s", name);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(val);
	X509_sign(x, key, EVP_sha256());
	return x;
}

static void
alpn_case(const char *name, int corrupt, const char *want_status)
{
	struct tc_resp r;
	struct alpn_srv as;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_t tid;
	char ou[512], keyauth[200];
	const char *cu = NULL, *tok = NULL, *au, *st = NULL;
	json_t *o, *az, *chs, *thp;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x;
	size_t j;
	int tries;

	snprintf(ou, sizeof(ou), "[{\"type\":\"dns\",\"value\":\"%s\"}]", name);
	o = new_order(ou, ou, sizeof(ou));
	au = json_string_value(json_array_get(json_object_get(o, "authorizations"), 0));
	ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
	az = body_json(&r);
	tc_resp_clear(&r);
	chs = json_object_get(az, "challenges");
	for (j = 0; j < json_array_size(chs); j++)
		if (strcmp(json_string_value(json_object_get(json_array_get(chs, j), "type")),
		    "tls-alpn-01") == 0) {
			cu = json_string_value(json_object_get(json_array_get(chs, j), "url"));
			tok = json_string_value(json_object_get(json_array_get(chs, j), "token"));
		}
	ck_assert_ptr_nonnull(cu);
	thp = jose_jwk_thp(NULL, s.key->pub, "S256");
	snprintf(keyauth, sizeof(keyauth), "%s.%s%s", tok, json_string_value(thp),
	    corrupt ? "x" : "");
	json_decref(thp);
	x = alpn_cert(name, keyauth, key);
	memset(&as, 0, sizeof(as));
	as.ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(as.ctx, x);
	SSL_CTX_use_PrivateKey(as.ctx, key);
	SSL_CTX_set_alpn_select_cb(as.ctx, alpn_select, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	as.fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(as.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(as.fd, 4), 0);
	getsockname(as.fd, (struct sockaddr *)&sa, &sl);
	/* The listener reads its test port at check time. */
	cfg->acme.test_tlsalpn01_port = ntohs(sa.sin_port);
	pthread_create(&tid, NULL, alpn_serve, &as);
	ck_assert_int_eq(tc_post(&s, cu, "{}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	tc_resp_clear(&r);
	for (tries = 0; tries < 100; tries++) {
		json_t *a2;

		ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
		a2 = body_json(&r);
		tc_resp_clear(&r);
		st = json_string_value(json_object_get(a2, "status"));
		if (st != NULL && strcmp(st, "pending") != 0) {
			ck_assert_str_eq(st, want_status);
			json_decref(a2);
			break;
		}
		json_decref(a2);
		usleep(100000);
	}
	ck_assert_int_lt(tries, 100);
	pthread_join(tid, NULL);
	ck_assert_int_eq(as.served, 1);
	close(as.fd);
	SSL_CTX_free(as.ctx);
	X509_free(x);
	EVP_PKEY_free(key);
	json_decref(az);
	json_decref(o);
}

START_TEST(t_tls_alpn_01)
{
	new_account();
	alpn_case("alpn.acme.test", 0, "valid");
	alpn_case("alpn2.acme.test", 1, "invalid");
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_challenges WHERE type = 'tls-alpn-01' "
	    "AND status = 'valid'"), 1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders WHERE status = 'ready'"), 1);
}
END_TEST

/* Orders, solves and finalizes ids; returns the leaf. payload_extra goes into newOrder. */
static X509 *
issue_cert(const char *ids, const char *csr_names, const char *extra)
{
	struct tc_resp r;
	char u[300], ou[600], fu[600], payload[4096], *csr;
	EVP_PKEY *k = NULL;
	json_t *o;
	X509 *leaf;
	BIO *b;

	url(u, sizeof(u), "/new-order");
	snprintf(payload, sizeof(payload), "{\"identifiers\":%s%s}", ids, extra ? extra : "");
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	ck_assert_msg(r.status == 201, "newOrder: %ld %s", r.status, r.body);
	snprintf(ou, sizeof(ou), "%s", r.location);
	o = body_json(&r);
	tc_resp_clear(&r);
	snprintf(fu, sizeof(fu), "%s", json_string_value(json_object_get(o, "finalize")));
	solve_order(o, ou);
	json_decref(o);
	csr = tc_csr_b64u(csr_names, &k);
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	EVP_PKEY_free(k);
	ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
	ck_assert_msg(r.status == 200, "finalize: %ld %s", r.status, r.body);
	o = body_json(&r);
	tc_resp_clear(&r);
	ck_assert_int_eq(tc_post(&s, json_string_value(json_object_get(o, "certificate")), NULL,
	    &r), 0);
	json_decref(o);
	b = BIO_new_mem_buf(r.body, -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	tc_resp_clear(&r);
	ck_assert_ptr_nonnull(leaf);
	return leaf;
}

/* RFC 9773 5: "replaces" names a certificate of this account, replaced at most once. */
START_TEST(t_ari_replaces)
{
	struct tc_resp r;
	char u[300], extra[400], payload[1024], *certid = NULL;
	X509 *old, *new1;

	new_account();
	old = issue_cert("[{\"type\":\"dns\",\"value\":\"ari.acme.test\"}]", "ari.acme.test", NULL);
	ck_assert_int_eq(ari_certid(old, &certid), 0);
	url(u, sizeof(u), "/new-order");
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"ari.acme.test\"}],\"replaces\":\"AAAA.AAAA\"}", &r), 0);
	assert_problem(&r, "malformed", 400);
	tc_resp_clear(&r);
	snprintf(extra, sizeof(extra), ",\"replaces\":\"%s\"", certid);
	new1 = issue_cert("[{\"type\":\"dns\",\"value\":\"ari.acme.test\"}]", "ari.acme.test", extra);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_issued WHERE replaced_by IS NOT NULL"),
	    1);
	/* Replaced once: a second order replacing it is a conflict. */
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"ari.acme.test\"}]%s}", extra);
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	assert_problem(&r, "alreadyReplaced", 409);
	tc_resp_clear(&r);
	free(certid);
	X509_free(old);
	X509_free(new1);
}
END_TEST

/* ---- newOrder notBefore/notAfter (RFC 8555 7.4, issuance.forward-horizon) ------ */

static void
horizon_3h(struct mf_config *c)
{
	c->forward_horizon = 3 * 3600;
}

static void
rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A newOrder with these dates (NULL: left out) is refused as malformed, why containing want. */
static void
order_refused(const char *nb, const char *na, const char *want)
{
	struct tc_resp r;
	char u[300], payload[512];

	url(u, sizeof(u), "/new-order");
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"fwd.acme.test\"}]%s%s%s%s%s%s}", nb ? ",\"notBefore\":\"" : "", nb ? nb : "",
	    nb ? "\"" : "", na ? ",\"notAfter\":\"" : "", na ? na : "", na ? "\"" : "");
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	assert_problem(&r, "malformed", 400);
	ck_assert_msg(r.body != NULL && strstr(r.body, want) != NULL, "%s: want \"%s\" in %s",
	    payload, want, r.body ? r.body : "");
	tc_resp_clear(&r);
}

START_TEST(t_order_not_before)
{
	struct tc_resp r;
	char u[300], ou[600], nb[32], na[32], t1[32], t2[32], extra[200], payload[512], q[300];
	int64_t now, certs, orders;
	json_t *o;
	X509 *leaf;

	restart_with(horizon_3h);
	new_account();
	now = (int64_t)time(NULL);
	certs = db_count("SELECT count(*) FROM certificates");

	/* Refused at newOrder, and nothing stored or issued. */
	rfc3339(now + 4 * 3600, t1);
	rfc3339(now + 28 * 3600, t2);
	order_refused(t1, t2, "forward-horizon");
	rfc3339(now - 3600, t1);
	order_refused(t1, NULL, "backdate");
	rfc3339(now + 2 * 3600, t1);
	rfc3339(now + 26 * 3600 + 1, t2);
	order_refused(t1, t2, "above");
	rfc3339(now + 3600, t2);
	order_refused(t1, t2, "not after notBefore");
	order_refused(t1, t1, "not after notBefore");
	order_refused(NULL, t2, "notAfter needs a notBefore");
	order_refused("tomorrow", NULL, "RFC 3339");
	order_refused("2026-02-30T10:00:00Z", NULL, "RFC 3339");
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM certificates"), certs);

	/* The order echoes the dates it was given. */
	rfc3339(now + 2 * 3600, nb);
	rfc3339(now + 26 * 3600, na);
	url(u, sizeof(u), "/new-order");
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"fwd.acme.test\"}],\"notBefore\":\"%s\",\"notAfter\":\"%s\"}", nb, na);
	ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
	ck_assert_msg(r.status == 201, "newOrder: %ld %s", r.status, r.body);
	snprintf(ou, sizeof(ou), "%s", r.location);
	o = body_json(&r);
	tc_resp_clear(&r);
	ck_assert_str_eq(json_string_value(json_object_get(o, "notBefore")), nb);
	ck_assert_str_eq(json_string_value(json_object_get(o, "notAfter")), na);
	json_decref(o);
	ck_assert_int_eq(tc_post(&s, ou, NULL, &r), 0);
	o = body_json(&r);
	tc_resp_clear(&r);
	ck_assert_str_eq(json_string_value(json_object_get(o, "notBefore")), nb);
	json_decref(o);

	/* Issued with exactly those dates, to the second, and logged so. */
	snprintf(extra, sizeof(extra), ",\"notBefore\":\"%s\",\"notAfter\":\"%s\"", nb, na);
	leaf = issue_cert("[{\"type\":\"dns\",\"value\":\"fwd.acme.test\"}]", "fwd.acme.test",
	    extra);
	ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), (time_t)(now + 2 * 3600)),
	    0);
	ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), (time_t)(now + 26 * 3600)),
	    0);
	X509_free(leaf);
	snprintf(q, sizeof(q), "SELECT count(*) FROM certificates WHERE not_before = %lld AND "
	    "not_after = %lld", (long long)(now + 2 * 3600), (long long)(now + 26 * 3600));
	ck_assert_int_eq(db_count(q), 1);

	/* notBefore alone: the profile's lifetime from it. */
	rfc3339(now + 3600, t1);
	snprintf(extra, sizeof(extra), ",\"notBefore\":\"%s\"", t1);
	leaf = issue_cert("[{\"type\":\"dns\",\"value\":\"fwd2.acme.test\"}]",
	    "fwd2.acme.test", extra);
	ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), (time_t)(now + 3600)), 0);
	X509_free(leaf);

	/* Without notBefore, as before: backdated, starting now or a little earlier. */
	orders = db_count("SELECT count(*) FROM acme_orders WHERE not_before IS NULL");
	leaf = issue_cert("[{\"type\":\"dns\",\"value\":\"now.acme.test\"}]", "now.acme.test",
	    NULL);
	ck_assert_int_le(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), time(NULL)), 0);
	ck_assert_int_le(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), time(NULL) + 24 * 3600), 0);
	X509_free(leaf);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders WHERE not_before IS NULL"),
	    orders + 1);
}
END_TEST

/* forward-horizon 0 (the default): any notBefore ahead is refused. */
START_TEST(t_order_not_before_no_horizon)
{
	char t1[32], t2[32];
	int64_t now = (int64_t)time(NULL);

	new_account();
	rfc3339(now + 600, t1);
	rfc3339(now + 3600, t2);
	order_refused(t1, t2, "forward-horizon of 0s");
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
}
END_TEST

/* ---- dns-01: a UDP DNS responder in this process ------------------------------ */

struct dns_srv {
	int fd;
	pthread_mutex_t lock;
	char name[4][160];		/* _acme-challenge.NAME, lower case */
	char txt[4][64];
	int n;
	int stop;
	unsigned queries;
};

/* Answers TXT queries for the names in the table (bounded: 30 s). */
static void *
dns_serve(void *arg)
{
	struct dns_srv *d = arg;
	unsigned char q[512], a[1024];
	struct sockaddr_in from;
	socklen_t fl;
	struct pollfd pfd = { d->fd, POLLIN, 0 };
	time_t end = time(NULL) + 30;
	char qname[256];
	ssize_t n;
	size_t off, qend, al, l;
	int i, hit;

	while (!d->stop && time(NULL) < end) {
		if (poll(&pfd, 1, 200) != 1)
			continue;
		fl = sizeof(from);
		n = recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 17)
			continue;
		/* The question name, as dotted text. */
		qname[0] = '\0';
		for (off = 12; off < (size_t)n && q[off] != 0; off += q[off] + 1) {
			l = strlen(qname);
			if (l + q[off] + 2 >= sizeof(qname) || off + 1 + q[off] > (size_t)n)
				break;
			snprintf(qname + l, sizeof(qname) - l, "%s%.*s", l ? "." : "", q[off],
			    (const char *)q + off + 1);
		}
		qend = off + 5;		/* zero octet, QTYPE, QCLASS */
		if (qend > (size_t)n)
			continue;
		pthread_mutex_lock(&d->lock);
		d->queries++;
		hit = -1;
		for (i = 0; i < d->n; i++)
			if (strcasecmp(d->name[i], qname) == 0)
				hit = i;
		memcpy(a, q, qend);
		a[2] = 0x84;		/* response, authoritative */
		a[3] = hit >= 0 ? 0x00 : 0x03;	/* NXDOMAIN when unknown */
		a[4] = 0; a[5] = 1;	/* QDCOUNT */
		a[6] = 0; a[7] = hit >= 0 ? 1 : 0;
		memset(a + 8, 0, 4);
		al = qend;
		if (hit >= 0) {
			l = strlen(d->txt[hit]);
			a[al++] = 0xc0; a[al++] = 12;		/* the question's name */
			a[al++] = 0; a[al++] = 16;		/* TXT */
			a[al++] = 0; a[al++] = 1;		/* IN */
			a[al++] = 0; a[al++] = 0; a[al++] = 0; a[al++] = 60;
			a[al++] = 0; a[al++] = (unsigned char)(l + 1);
			a[al++] = (unsigned char)l;
			memcpy(a + al, d->txt[hit], l);
			al += l;
		}
		pthread_mutex_unlock(&d->lock);
		sendto(d->fd, a, al, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

START_TEST(t_dns_01_wildcard)
{
	struct dns_srv d;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_t tid;
	struct tc_resp r;
	char extra[200], ou[600], payload[4096], *csr;
	const char *au, *cu = NULL, *tok = NULL, *st = NULL, *names[2] = { "*.w.acme.test",
	    "w.acme.test" };
	json_t *o, *az, *chs, *thp;
	unsigned char md[32];
	EVP_PKEY *k = NULL;
	size_t i, j;
	int tries;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	d.fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(d.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(d.fd, (struct sockaddr *)&sa, &sl);
	teardown();
	snprintf(extra, sizeof(extra), "  test-dns-server: 127.0.0.1:%u", ntohs(sa.sin_port));
	start_server(extra);
	/* mkca.sh enables http-01 and tls-alpn-01 only: add dns-01 for this test. */
	cfg->acme.challenges |= MF_ACME_DNS01;
	pthread_create(&tid, NULL, dns_serve, &d);
	new_account();
	o = new_order("[{\"type\":\"dns\",\"value\":\"*.w.acme.test\"},{\"type\":\"dns\","
	    "\"value\":\"w.acme.test\"}]", ou, sizeof(ou));
	thp = jose_jwk_thp(NULL, s.key->pub, "S256");
	for (i = 0; i < 2; i++) {
		int wildcard;

		au = json_string_value(json_array_get(json_object_get(o, "authorizations"), i));
		ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
		az = body_json(&r);
		tc_resp_clear(&r);
		wildcard = json_is_true(json_object_get(az, "wildcard"));
		ck_assert_int_eq(wildcard, i == 0);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(az, "identifier"),
		    "value")), "w.acme.test");
		chs = json_object_get(az, "challenges");
		/* A wildcard is offered dns-01 alone. */
		if (wildcard)
			ck_assert_uint_eq(json_array_size(chs), 1);
		cu = NULL;
		for (j = 0; j < json_array_size(chs); j++)
			if (strcmp(json_string_value(json_object_get(json_array_get(chs, j), "type")),
			    "dns-01") == 0) {
				cu = json_string_value(json_object_get(json_array_get(chs, j), "url"));
				tok = json_string_value(json_object_get(json_array_get(chs, j), "token"));
			}
		ck_assert_ptr_nonnull(cu);
		{
			char ka[200], *b;

			snprintf(ka, sizeof(ka), "%s.%s", tok, json_string_value(thp));
			EVP_Digest(ka, strlen(ka), md, NULL, EVP_sha256(), NULL);
			b = mf_b64u_encode(md, 32);
			pthread_mutex_lock(&d.lock);
			/* Both authorisations share the name: the latest record answers. */
			snprintf(d.name[0], sizeof(d.name[0]), "_acme-challenge.w.acme.test");
			snprintf(d.txt[0], sizeof(d.txt[0]), "%s", b);
			d.n = 1;
			pthread_mutex_unlock(&d.lock);
			free(b);
		}
		ck_assert_int_eq(tc_post(&s, cu, "{}", &r), 0);
		tc_resp_clear(&r);
		for (tries = 0; tries < 100; tries++) {
			json_t *a2;

			ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
			a2 = body_json(&r);
			tc_resp_clear(&r);
			st = json_string_value(json_object_get(a2, "status"));
			if (st != NULL && strcmp(st, "pending") != 0) {
				ck_assert_str_eq(st, "valid");
				json_decref(a2);
				break;
			}
			json_decref(a2);
			usleep(100000);
		}
		ck_assert_int_lt(tries, 100);
		json_decref(az);
	}
	json_decref(thp);
	ck_assert_uint_ge(d.queries, 2);
	/* The wildcard certificate. */
	csr = tc_csr_b64u("*.w.acme.test,w.acme.test", &k);
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	ck_assert_int_eq(tc_post(&s, json_string_value(json_object_get(o, "finalize")), payload,
	    &r), 0);
	ck_assert_msg(r.status == 200, "finalize: %ld %s", r.status, r.body);
	tc_resp_clear(&r);
	ck_assert_int_eq(db_count("SELECT count(*) FROM certificates WHERE sans LIKE '%*.w.acme.test%'"),
	    1);
	d.stop = 1;
	pthread_join(tid, NULL);
	close(d.fd);
	free(csr);
	EVP_PKEY_free(k);
	json_decref(o);
	(void)names;
}
END_TEST

/* ---- the self-issued listener certificate renews itself -------------------------- */

static void
short_life(struct mf_config *c)
{
	/* A 6-second certificate without backdating: renewal due after 4 s. */
	c->backdate = 0;
	c->profiles[0].default_lifetime = 6;
}

/* The serial (hex) of the certificate the listener serves now. */
static void
served_serial(char *out, size_t outlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	BIO *b;
	X509 *x;
	BIGNUM *bn;
	char *hex, hp[64];

	out[0] = '\0';
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", mf_acme_port(srv));
	b = BIO_new_connect(hp);
	ck_assert_ptr_nonnull(b);
	SSL_set_bio(ssl, b, b);
	if (SSL_connect(ssl) == 1 && (x = SSL_get1_peer_certificate(ssl)) != NULL) {
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		hex = BN_bn2hex(bn);
		snprintf(out, outlen, "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
		X509_free(x);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
}

START_TEST(t_listener_cert_renewal)
{
	struct tc_resp r;
	char s1[80], s2[80], u[300];
	int i;

	restart_with(short_life);
	served_serial(s1, sizeof(s1));
	ck_assert_int_ne(s1[0], '\0');
	for (i = 0; i < 60; i++) {
		usleep(250000);
		served_serial(s2, sizeof(s2));
		if (s2[0] != '\0' && strcmp(s1, s2) != 0)
			break;
	}
	ck_assert_msg(i < 60, "listener certificate not renewed (still %s)", s1);
	/* The port stayed open and the new certificate verifies with the root. */
	url(u, sizeof(u), "/directory");
	ck_assert_int_eq(tc_http("GET", u, s.cafile, NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	tc_resp_clear(&r);
	ck_assert_int_ge(db_count("SELECT count(*) FROM certificates WHERE requester = 'acme:listener'"),
	    2);
}
END_TEST

/* certs-per-name-per-hour: the second certificate for a name within the hour waits. */
START_TEST(t_rate_limit_per_name)
{
	struct tc_resp r;
	char ou[600], fu[600], payload[4096];
	EVP_PKEY *k = NULL;
	json_t *o;
	X509 *x;

	teardown();
	start_server("  certs-per-name-per-hour: 1");
	new_account();
	x = issue_cert("[{\"type\":\"dns\",\"value\":\"rl.acme.test\"}]", "rl.acme.test", NULL);
	X509_free(x);
	ready_order("rl.acme.test", ou, sizeof(ou), fu, sizeof(fu), payload, sizeof(payload), &k);
	ck_assert_int_eq(tc_post(&s, fu, payload, &r), 0);
	assert_problem(&r, "rateLimited", 429);
	ck_assert_int_gt(atoi(r.retry_after), 0);
	tc_resp_clear(&r);
	/* Nothing issued, the order still ready for later. */
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_issued"), 1);
	o = get_order(ou);
	ck_assert_str_eq(status_of(o), "ready");
	json_decref(o);
	EVP_PKEY_free(k);
}
END_TEST

/* Expired nonces are refused and, with expired orders and their authorisations, deleted. */
START_TEST(t_cleanup_expired)
{
	char path[600];
	struct mf_db *db = NULL;
	struct acme_sq *sq;
	int64_t now = (int64_t)time(NULL);

	ck_assert_int_eq(mft_db_target(dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db), 0);
	sq = acme_sq_new(mf_db_handle(db));
	ck_assert_ptr_nonnull(sq);
	/* Rows a version that stored nonces left behind go once expired. */
	ck_assert_int_eq(acme_sq_exec(sq, "INSERT INTO acme_nonces(value, expires) VALUES "
	    "('old-nonce', ?), ('new-nonce', ?)", "ii", now - 1, now + 600), 0);
	ck_assert_int_eq(acme_sq_exec(sq, "INSERT INTO acme_accounts(id, thumbprint, jwk, status, "
	    "created_at) VALUES ('a1', 't1', '{}', 'valid', ?)", "i", now), 0);
	ck_assert_int_eq(acme_sq_exec(sq, "INSERT INTO acme_orders(id, account_id, status, "
	    "identifiers, expires, created_at) VALUES ('o-old', 'a1', 'pending', '[]', ?, ?), "
	    "('o-new', 'a1', 'pending', '[]', ?, ?), ('o-valid', 'a1', 'valid', '[]', ?, ?)",
	    "iiiiii", now - 10, now - 4000, now + 600, now, now - 10, now - 4000), 0);
	ck_assert_int_eq(acme_sq_exec(sq, "INSERT INTO acme_authzs(id, order_id, pos, type, value, "
	    "wildcard, status, expires) VALUES ('z-old', 'o-old', 0, 'dns', 'x.acme.test', 0, "
	    "'pending', ?)", "i", now - 10), 0);
	ck_assert_int_eq(acme_sq_exec(sq, "INSERT INTO acme_challenges(id, authz_id, type, token, "
	    "status) VALUES ('c-old', 'z-old', 'http-01', 'tok', 'pending')", ""), 0);
	ck_assert_int_eq(acme_cleanup(sq, now), 0);
	acme_sq_free(sq);
	mf_db_close(db);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces WHERE value = 'old-nonce'"), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces WHERE value = 'new-nonce'"), 1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders WHERE id = 'o-old'"), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_authzs WHERE id = 'z-old'"), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_challenges WHERE id = 'c-old'"), 0);
	/* Pending orders not yet expired, and valid ones (they name a certificate), stay. */
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders WHERE id IN ('o-new', 'o-valid')"),
	    2);
}
END_TEST

/* Size of a file, or -1. */
static long long
file_size(const char *name)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/*
 * Issue 9, item 7: every ACME answer carries a nonce, 404s included, and
 * minting one must write nothing, or unauthenticated requests grow the
 * database.
 */
START_TEST(t_nonce_costs_no_write)
{
	struct tc_resp r;
	char u[300], seen[3][ACME_NONCE_LEN + 1];
	long long db0, wal0;
	int i;

	/* One request first: the minute's cleanup of expired state runs on it. */
	url(u, sizeof(u), "/directory");
	ck_assert_int_eq(tc_http("GET", u, s.cafile, NULL, NULL, 0, &r), 0);
	tc_resp_clear(&r);
	db0 = file_size("mayfly.db");
	wal0 = file_size("mayfly.db-wal");
	for (i = 0; i < 30; i++) {
		url(u, sizeof(u), i % 3 == 0 ? "/nope" : i % 3 == 1 ? "/new-nonce" : "/directory");
		ck_assert_int_eq(tc_http(i % 3 == 1 ? "HEAD" : "GET", u, s.cafile, NULL, NULL, 0, &r),
		    0);
		ck_assert_uint_eq(strlen(r.nonce), ACME_NONCE_LEN);
		if (i < 3)
			strcpy(seen[i], r.nonce);
		tc_resp_clear(&r);
	}
	ck_assert_str_ne(seen[0], seen[1]);
	ck_assert_str_ne(seen[1], seen[2]);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces"), 0);
	/* The files of an SQLite log; on PostgreSQL the count above is the check. */
	if (!mft_on_pg()) {
		ck_assert_int_eq(file_size("mayfly.db"), db0);
		ck_assert_int_eq(file_size("mayfly.db-wal"), wal0);
	}
}
END_TEST

/* The nonce state itself: single use, expiry, forgery, another key. */
START_TEST(t_nonce_rules)
{
	struct acme_nonces *n = NULL, *other = NULL;
	char a[ACME_NONCE_LEN + 1], b[ACME_NONCE_LEN + 1], c[ACME_NONCE_LEN + 1];
	int64_t now = (int64_t)time(NULL);

	ck_assert_int_eq(acme_nonces_new(NULL, &n), 0);
	ck_assert_int_eq(acme_nonces_new(NULL, &other), 0);
	ck_assert_int_eq(acme_nonce_new(n, now, 60, a), 0);
	ck_assert_int_eq(acme_nonce_new(n, now, 60, b), 0);
	ck_assert_str_ne(a, b);
	/* Out of order is fine; the second use of either is a replay. */
	ck_assert_int_eq(acme_nonce_use(n, b, now), 0);
	ck_assert_int_eq(acme_nonce_use(n, a, now), 0);
	ck_assert_int_eq(acme_nonce_use(n, a, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n, b, now + 1), MF_ERR_ACME_BADNONCE);
	/* Expired. */
	ck_assert_int_eq(acme_nonce_new(n, now, 60, c), 0);
	ck_assert_int_eq(acme_nonce_use(n, c, now + 60), MF_ERR_ACME_BADNONCE);
	/* Forged: one character changed (the MAC no longer verifies). */
	ck_assert_int_eq(acme_nonce_new(n, now, 60, c), 0);
	c[5] = c[5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(acme_nonce_use(n, c, now), MF_ERR_ACME_BADNONCE);
	/* Minted under another key (another run of the listener). */
	ck_assert_int_eq(acme_nonce_new(other, now, 60, c), 0);
	ck_assert_int_eq(acme_nonce_use(n, c, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n, "", now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n, "AAAAAAAAAAAAAAAAAAAAAA", now), MF_ERR_ACME_BADNONCE);
	acme_nonces_free(n);
	acme_nonces_free(other);
}
END_TEST

/*
 * Nonces on a log several nodes share: each node (a struct acme_nonces on a
 * connection of its own) accepts every node's nonce exactly once, whichever
 * node spends it first; a forged one, one under another key and an
 * expired one are refused without a row. Minting writes nothing; each use
 * writes one row. A node restarted on the log keeps its key.
 */
START_TEST(t_nonce_shared)
{
	struct acme_nonces *n1 = NULL, *n2 = NULL, *n3 = NULL, *alone = NULL;
	struct mf_db *db1 = NULL, *db2 = NULL;
	struct acme_sq *sq1, *sq2;
	char a[ACME_NONCE_LEN + 1], b[ACME_NONCE_LEN + 1], c[ACME_NONCE_LEN + 1];
	char path[600];
	int64_t now = (int64_t)time(NULL), rows0;
	int i;

	ck_assert_int_eq(mft_db_target(dir, 0, path, sizeof(path)), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db1), 0);
	ck_assert_int_eq(mf_db_open(path, 0, &db2), 0);
	ck_assert_ptr_nonnull(sq1 = acme_sq_new(mf_db_handle(db1)));
	ck_assert_ptr_nonnull(sq2 = acme_sq_new(mf_db_handle(db2)));
	ck_assert_int_eq(acme_nonces_new(sq1, &n1), 0);
	ck_assert_int_eq(acme_nonces_new(sq2, &n2), 0);
	ck_assert_int_eq(acme_nonces_new(NULL, &alone), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonce_key"), 1);
	rows0 = db_count("SELECT count(*) FROM acme_nonces");
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(acme_nonce_new(i % 2 ? n1 : n2, now, 60, c), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces"), rows0);

	/* Minted on node 1, spent on node 2: then refused on both. */
	ck_assert_int_eq(acme_nonce_new(n1, now, 60, a), 0);
	ck_assert_int_eq(acme_nonce_use(n2, a, now), 0);
	ck_assert_int_eq(acme_nonce_use(n2, a, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n1, a, now), MF_ERR_ACME_BADNONCE);
	/* Spent on node 1 where it was minted: node 2 refuses it too. */
	ck_assert_int_eq(acme_nonce_new(n1, now, 60, b), 0);
	ck_assert_int_eq(acme_nonce_use(n1, b, now), 0);
	ck_assert_int_eq(acme_nonce_use(n2, b, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n1, b, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces"), rows0 + 2);
	/* Another spelling of the same bytes (the last character's spare bits) is the same nonce. */
	strcpy(c, a);
	c[ACME_NONCE_LEN - 1] = c[ACME_NONCE_LEN - 1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(acme_nonce_use(n2, c, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n1, c, now), MF_ERR_ACME_BADNONCE);

	/* Forged on node 2's way in: one character of the MAC changed. */
	ck_assert_int_eq(acme_nonce_new(n1, now, 60, c), 0);
	c[40] = c[40] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(acme_nonce_use(n2, c, now), MF_ERR_ACME_BADNONCE);
	/* The node field changed: the MAC covers it. */
	ck_assert_int_eq(acme_nonce_new(n1, now, 60, c), 0);
	c[0] = c[0] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(acme_nonce_use(n1, c, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n2, c, now), MF_ERR_ACME_BADNONCE);
	/* Under another key: a listener alone, and the other way round. */
	ck_assert_int_eq(acme_nonce_new(alone, now, 60, c), 0);
	ck_assert_int_eq(acme_nonce_use(n2, c, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_new(n2, now, 60, c), 0);
	ck_assert_int_eq(acme_nonce_use(alone, c, now), MF_ERR_ACME_BADNONCE);
	/* Expired by the clock of the node that gets it. */
	ck_assert_int_eq(acme_nonce_new(n1, now, 60, c), 0);
	ck_assert_int_eq(acme_nonce_use(n2, c, now + 60), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces"), rows0 + 2);
	/* Its row outlives the nonce by the margin for clocks, then cleanup takes it. */
	snprintf(path, sizeof(path), "SELECT count(*) FROM acme_nonces WHERE expires = %lld",
	    (long long)(now + 60 + ACME_NONCE_SKEW));
	ck_assert_int_eq(db_count(path), 2);
	ck_assert_int_eq(acme_cleanup(sq1, now + 60 + ACME_NONCE_SKEW - 1), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces"), rows0 + 2);
	ck_assert_int_eq(acme_cleanup(sq1, now + 60 + ACME_NONCE_SKEW), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonces"), 0);

	/* Node 1 restarted on the log: the same key, a new node; node 1's old nonce is good once. */
	ck_assert_int_eq(acme_nonce_new(n1, now, 60, c), 0);
	ck_assert_int_eq(acme_nonces_new(sq1, &n3), 0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_nonce_key"), 1);
	ck_assert_int_eq(acme_nonce_use(n3, c, now), 0);
	ck_assert_int_eq(acme_nonce_use(n3, c, now), MF_ERR_ACME_BADNONCE);
	ck_assert_int_eq(acme_nonce_use(n1, c, now), MF_ERR_ACME_BADNONCE);

	acme_nonces_free(n1);
	acme_nonces_free(n2);
	acme_nonces_free(n3);
	acme_nonces_free(alone);
	acme_sq_free(sq1);
	acme_sq_free(sq2);
	mf_db_close(db1);
	mf_db_close(db2);
}
END_TEST

/* POSTs a newOrder for a.acme.test signed with nonce; the status, and r.nonce for the next. */
static long
order_with_nonce(const char *nonce, struct tc_resp *r)
{
	char u[300], *body;

	url(u, sizeof(u), "/new-order");
	body = tc_sign(s.key, u, nonce, s.kid, "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.acme.test\"}]}");
	ck_assert_int_eq(tc_http("POST", u, s.cafile, NULL, body, strlen(body), r), 0);
	free(body);
	return r->status;
}

/*
 * After a restart, a nonce spent before it stays spent (badNonce, and a
 * fresh one). One minted before it and never used: with an SQLite log the
 * key was drawn at start and is gone, so badNonce; with a PostgreSQL log
 * the key is the log's (acme_nonce.c: any node takes any node's nonces),
 * so it is good, once.
 */
START_TEST(t_nonce_restart)
{
	struct tc_resp r;
	char u[300], old[ACME_NONCE_LEN + 1], spent[ACME_NONCE_LEN + 1];

	new_account();
	ck_assert_int_eq(tc_new_nonce(&s), 0);
	strcpy(spent, s.nonce);
	ck_assert_int_eq(order_with_nonce(spent, &r), 201);
	tc_resp_clear(&r);
	ck_assert_int_eq(tc_new_nonce(&s), 0);
	strcpy(old, s.nonce);
	mf_acme_stop(srv);
	srv = NULL;
	ck_assert_int_eq(mf_acme_start(cfg, ks, &srv), 0);
	snprintf(s.base, sizeof(s.base), "https://127.0.0.1:%u", mf_acme_port(srv));
	snprintf(u, 64, "%s", strrchr(s.kid, '/') + 1);
	snprintf(s.kid, sizeof(s.kid), "%s/acct/%.64s", s.base, u);
	order_with_nonce(spent, &r);
	assert_problem(&r, "badNonce", 400);
	tc_resp_clear(&r);
	if (mft_on_pg()) {
		ck_assert_msg(order_with_nonce(old, &r) == 201, "an unused nonce of the log's key "
		    "after the restart: %ld %s", r.status, r.body);
		tc_resp_clear(&r);
	}
	order_with_nonce(old, &r);
	assert_problem(&r, "badNonce", 400);
	strcpy(s.nonce, r.nonce);
	tc_resp_clear(&r);
	url(u, sizeof(u), "/new-order");
	ck_assert_int_eq(tc_post(&s, u, "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
	    "\"a.acme.test\"}]}", &r), 0);
	ck_assert_msg(r.status == 201, "newOrder after the restart: %ld %s", r.status, r.body);
	tc_resp_clear(&r);
}
END_TEST

/* ---- issue 9, items 3 and 5: where and how long challenge checks connect ------ */

/* The URL of the challenge of type in the authorisation au. */
static void
chall_of(const char *au, const char *type, char *out, size_t n)
{
	struct tc_resp r;
	json_t *az, *chs;
	size_t j;

	out[0] = '\0';
	ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
	az = body_json(&r);
	tc_resp_clear(&r);
	chs = json_object_get(az, "challenges");
	for (j = 0; j < json_array_size(chs); j++)
		if (strcmp(json_string_value(json_object_get(json_array_get(chs, j), "type")),
		    type) == 0)
			snprintf(out, n, "%s", json_string_value(json_object_get(json_array_get(chs,
			    j), "url")));
	json_decref(az);
	ck_assert_msg(out[0] != '\0', "no %s challenge", type);
}

/* Milliseconds on the monotonic clock. */
static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls au until it leaves "pending" or max_ms pass; the status and its error detail. */
static void
wait_authz(const char *au, long long max_ms, char *status, size_t slen, char *detail,
    size_t dlen)
{
	long long end = mono_ms() + max_ms;
	struct tc_resp r;

	snprintf(status, slen, "pending");
	if (detail != NULL)
		detail[0] = '\0';
	while (mono_ms() < end) {
		json_t *a2, *chs;
		const char *st;
		size_t j;

		ck_assert_int_eq(tc_post(&s, au, NULL, &r), 0);
		a2 = body_json(&r);
		tc_resp_clear(&r);
		st = json_string_value(json_object_get(a2, "status"));
		if (st != NULL && strcmp(st, "pending") != 0) {
			snprintf(status, slen, "%s", st);
			chs = json_object_get(a2, "challenges");
			for (j = 0; detail != NULL && j < json_array_size(chs); j++) {
				json_t *e = json_object_get(json_array_get(chs, j), "error");

				if (e != NULL)
					snprintf(detail, dlen, "%s",
					    json_string_value(json_object_get(e, "detail")));
			}
			json_decref(a2);
			return;
		}
		json_decref(a2);
		usleep(50000);
	}
}

/*
 * Starts the check of a one-identifier order; returns its authorisation URL,
 * and if cstatus is not NULL, the status the challenge POST answered with
 * and how long that answer took.
 */
static void
start_check2(const char *type, const char *idtype, const char *value, char *au, size_t n,
    char *cstatus, size_t cslen, long long *ms)
{
	struct tc_resp r;
	long long t0;
	char ids[300], ou[512], cu[512];
	json_t *o, *thp;
	const char *tok;

	snprintf(ids, sizeof(ids), "[{\"type\":\"%s\",\"value\":\"%s\"}]", idtype, value);
	o = new_order(ids, ou, sizeof(ou));
	snprintf(au, n, "%s", json_string_value(json_array_get(json_object_get(o,
	    "authorizations"), 0)));
	json_decref(o);
	chall_of(au, type, cu, sizeof(cu));
	tok = strrchr(cu, '/');
	(void)tok;
	/* Serve the right key authorisation, so that only the connection decides. */
	{
		struct tc_resp r2;
		json_t *az, *chs;
		size_t j;

		ck_assert_int_eq(tc_post(&s, au, NULL, &r2), 0);
		az = body_json(&r2);
		tc_resp_clear(&r2);
		chs = json_object_get(az, "challenges");
		thp = jose_jwk_thp(NULL, s.key->pub, "S256");
		for (j = 0; j < json_array_size(chs); j++)
			if (strcmp(json_string_value(json_object_get(json_array_get(chs, j), "type")),
			    "http-01") == 0) {
				const char *tk = json_string_value(json_object_get(json_array_get(chs,
				    j), "token"));

				pthread_mutex_lock(&resp.lock);
				snprintf(resp.token[resp.n], sizeof(resp.token[0]), "%s", tk);
				snprintf(resp.keyauth[resp.n], sizeof(resp.keyauth[0]), "%s.%s", tk,
				    json_string_value(thp));
				resp.n++;
				pthread_mutex_unlock(&resp.lock);
			}
		json_decref(thp);
		json_decref(az);
	}
	t0 = mono_ms();
	ck_assert_int_eq(tc_post(&s, cu, "{}", &r), 0);
	if (ms != NULL)
		*ms = mono_ms() - t0;
	ck_assert_msg(r.status == 200, "challenge: %ld %s", r.status, r.body);
	if (cstatus != NULL) {
		json_t *ch = body_json(&r);

		snprintf(cstatus, cslen, "%s", json_string_value(json_object_get(ch, "status")));
		json_decref(ch);
	}
	tc_resp_clear(&r);
}

static void
start_check(const char *type, const char *idtype, const char *value, char *au, size_t n)
{
	start_check2(type, idtype, value, au, n, NULL, 0, NULL);
}

/* Identifiers get the CLI's syntax check at newOrder, not only the suffix check. */
START_TEST(t_identifier_syntax)
{
	static const char *bad[] = { "127.0.0.9/#x.acme.test", "a..acme.test", "a_b.acme.test",
	    "x.acme.test:81", "x.acme.test.", "-x.acme.test", "x y.acme.test", "x.acme.test/p" };
	struct tc_resp r;
	char u[300], payload[300];
	size_t i;

	new_account();
	url(u, sizeof(u), "/new-order");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
		    "\"%s\"}]}", bad[i]);
		ck_assert_int_eq(tc_post(&s, u, payload, &r), 0);
		ck_assert_msg(r.status == 400, "%s: %ld %s", bad[i], r.status, r.body);
		assert_problem(&r, "rejectedIdentifier", 400);
		tc_resp_clear(&r);
	}
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_orders"), 0);
}
END_TEST

static void
no_test_resolve(struct mf_config *c)
{
	size_t i;

	for (i = 0; i < c->acme.ntest_resolve; i++)
		free(c->acme.test_resolve[i]);
	c->acme.ntest_resolve = 0;
}

/* Without the test option, a check never connects to a loopback address. */
START_TEST(t_check_not_loopback)
{
	char au[512], st[32], detail[300];

	restart_with(no_test_resolve);
	new_account();
	start_check("http-01", "ip", "127.0.0.1", au, sizeof(au));
	wait_authz(au, 8000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_str_eq(st, "invalid");
	ck_assert_msg(strstr(detail, "not a public address") != NULL, "%s", detail);
	ck_assert_uint_eq(resp.hits, 0);
	start_check("tls-alpn-01", "dns", "localhost", au, sizeof(au));
	wait_authz(au, 8000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_str_eq(st, "invalid");
	ck_assert_msg(strstr(detail, "not a public address") != NULL, "%s", detail);
}
END_TEST

/* The address filter itself. */
START_TEST(t_addr_allowed)
{
	static const struct { const char *a; int ok; } cases[] = {
		{ "8.8.8.8", 1 }, { "127.0.0.1", 0 }, { "10.1.2.3", 0 }, { "172.16.0.1", 0 },
		{ "172.32.0.1", 1 }, { "192.168.1.1", 0 }, { "169.254.169.254", 0 },
		{ "100.64.0.1", 0 }, { "0.0.0.0", 0 }, { "224.0.0.1", 0 }, { "255.255.255.255", 0 },
		{ "2606:4700::1", 1 }, { "::1", 0 }, { "::", 0 }, { "fe80::1", 0 }, { "fc00::1", 0 },
		{ "::ffff:127.0.0.1", 0 }, { "::ffff:8.8.8.8", 1 }, { "64:ff9b::a00:1", 0 },
		{ "2002:7f00:1::", 0 }, { "2001:db8::1", 0 }, { "ff02::1", 0 },
	};
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(cases[i].a, ':') != NULL) {
			ss.ss_family = AF_INET6;
			ck_assert_int_eq(inet_pton(AF_INET6, cases[i].a,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		} else {
			ss.ss_family = AF_INET;
			ck_assert_int_eq(inet_pton(AF_INET, cases[i].a,
			    &((struct sockaddr_in *)&ss)->sin_addr), 1);
		}
		ck_assert_msg(acme_addr_allowed((struct sockaddr *)&ss, 0) == cases[i].ok, "%s",
		    cases[i].a);
	}
}
END_TEST

/* What a client sends is escaped before it reaches a key="value" log field. */
START_TEST(t_log_safe)
{
	char out[16];

	ck_assert_str_eq(acme_log_safe("/a\"b\\c\nd\x01\xc3\xa9", out, sizeof(out)),
	    "/a?b?c?d???");
	ck_assert_str_eq(acme_log_safe("0123456789abcdefghij", out, sizeof(out)),
	    "0123456789abcde");
	ck_assert_str_eq(acme_log_safe(NULL, out, sizeof(out)), "");
}
END_TEST

/* Redirects: followed to 80/443 (here the test port) only, and judged by address. */
START_TEST(t_http01_redirects)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_in lo;
	struct MHD_Daemon *other;
	char au[512], st[32], detail[300];

	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	other = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	    h01_handler, &resp, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&lo, MHD_OPTION_END);
	ck_assert_ptr_nonnull(other);
	di = MHD_get_daemon_info(other, MHD_DAEMON_INFO_BIND_PORT);
	new_account();
	/* Another port: refused, though the target (a test-resolve address) would answer. */
	snprintf(resp.redirect, sizeof(resp.redirect), "http://127.0.0.1:%u/moved", di->port);
	start_check("http-01", "dns", "r1.acme.test", au, sizeof(au));
	wait_authz(au, 8000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_str_eq(st, "invalid");
	ck_assert_msg(strstr(detail, "ports 80 and 443") != NULL, "%s", detail);
	/* A name outside test-resolve that is a loopback address: refused at connect. */
	snprintf(resp.redirect, sizeof(resp.redirect), "http://127.0.0.2:%u/moved",
	    cfg->acme.test_http01_port);
	start_check("http-01", "dns", "r2.acme.test", au, sizeof(au));
	wait_authz(au, 8000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_str_eq(st, "invalid");
	ck_assert_msg(strstr(detail, "not a public address") != NULL, "%s", detail);
	/* Allowed: a test-resolve name on the test port. */
	pthread_mutex_lock(&resp.lock);
	resp.n = 0;
	pthread_mutex_unlock(&resp.lock);
	snprintf(resp.redirect, sizeof(resp.redirect), "http://r.acme.test:%u/moved",
	    cfg->acme.test_http01_port);
	start_check("http-01", "dns", "r3.acme.test", au, sizeof(au));
	wait_authz(au, 8000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_msg(strcmp(st, "valid") == 0, "%s: %s", st, detail);
	MHD_stop_daemon(other);
}
END_TEST

/* A responder that sends prefix, then one byte every 200 ms, for at most 8 s. */
struct trickler {
	int fd;
	const char *prefix;
	volatile int stop;
	pthread_t tid;
};

static void *
trickle(void *arg)
{
	struct trickler *t = arg;
	struct pollfd pfd = { t->fd, POLLIN, 0 };
	long long end = mono_ms() + 8000;
	char junk[4096];
	int c;

	if (poll(&pfd, 1, 8000) != 1 || (c = accept(t->fd, NULL, NULL)) < 0)
		return NULL;
	usleep(100000);
	if (recv(c, junk, sizeof(junk), MSG_DONTWAIT) < 0)
		junk[0] = '\0';
	if (send(c, t->prefix, strlen(t->prefix), MSG_NOSIGNAL) < 0)
		end = 0;
	while (!t->stop && mono_ms() < end) {
		if (send(c, "a", 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(200000);
	}
	close(c);
	return NULL;
}

static unsigned
trickler_start(struct trickler *t, const char *prefix)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(t, 0, sizeof(*t));
	t->prefix = prefix;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(t->fd, 8), 0);
	getsockname(t->fd, (struct sockaddr *)&sa, &sl);
	ck_assert_int_eq(pthread_create(&t->tid, NULL, trickle, t), 0);
	return ntohs(sa.sin_port);
}

static void
trickler_stop(struct trickler *t)
{
	t->stop = 1;
	shutdown(t->fd, SHUT_RDWR);
	pthread_join(t->tid, NULL);
	close(t->fd);
}

/* A TLS record header announcing 16 KiB, so that every byte that follows is awaited. */
#define TLS_TRICKLE	"\x16\x03\x03\x40\x00"
#define HTTP_TRICKLE	"HTTP/1.1 200 OK\r\nX-Slow: "

static void
fetch_timeout_1s(struct mf_config *c)
{
	c->acme.fetch_timeout = 1;
}

/* A byte every 200 ms does not hold a check past fetch-timeout (1 s here). */
START_TEST(t_slow_responder)
{
	struct trickler t;
	char au[512], st[32], detail[300];
	long long t0;

	restart_with(fetch_timeout_1s);
	new_account();
	cfg->acme.test_tlsalpn01_port = trickler_start(&t, TLS_TRICKLE);
	start_check("tls-alpn-01", "dns", "slow1.acme.test", au, sizeof(au));
	t0 = mono_ms();
	wait_authz(au, 4000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_msg(strcmp(st, "invalid") == 0, "tls-alpn-01 still %s after %lld ms", st,
	    mono_ms() - t0);
	ck_assert_int_lt(mono_ms() - t0, 3000);
	trickler_stop(&t);
	cfg->acme.test_http01_port = trickler_start(&t, HTTP_TRICKLE);
	start_check("http-01", "dns", "slow2.acme.test", au, sizeof(au));
	t0 = mono_ms();
	wait_authz(au, 4000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_msg(strcmp(st, "invalid") == 0, "http-01 still %s after %lld ms", st,
	    mono_ms() - t0);
	ck_assert_int_lt(mono_ms() - t0, 3000);
	trickler_stop(&t);
}
END_TEST

/*
 * The challenge POST waits a little for its check: a quick one is answered
 * with its result, a slow one "processing" once ACME_CHALL_WAIT_MS passed,
 * and the check goes on to its own end.
 */
START_TEST(t_challenge_answer_waits)
{
	struct trickler t;
	char au[512], st[32], cst[32], detail[300];
	unsigned port;
	long long ms;

	restart_with(fetch_timeout_1s);
	new_account();
	start_check2("http-01", "dns", "quick.acme.test", au, sizeof(au), cst, sizeof(cst), &ms);
	/* Under a heavy load the check may outlast the wait; then the whole wait passed. */
	ck_assert_msg(strcmp(cst, "valid") == 0 || (strcmp(cst, "processing") == 0 &&
	    ms >= ACME_CHALL_WAIT_MS), "quick check answered %s after %lld ms", cst, ms);
	wait_authz(au, 4000, st, sizeof(st), NULL, 0);
	ck_assert_str_eq(st, "valid");
	port = cfg->acme.test_http01_port;
	cfg->acme.test_http01_port = trickler_start(&t, HTTP_TRICKLE);
	start_check2("http-01", "dns", "slow3.acme.test", au, sizeof(au), cst, sizeof(cst), &ms);
	ck_assert_str_eq(cst, "processing");
	ck_assert_msg(ms >= ACME_CHALL_WAIT_MS - 50 && ms < 1000 + 500,
	    "slow check answered after %lld ms", ms);
	wait_authz(au, 4000, st, sizeof(st), detail, sizeof(detail));
	ck_assert_msg(strcmp(st, "invalid") == 0, "slow check ended %s", st);
	trickler_stop(&t);
	cfg->acme.test_http01_port = port;
}
END_TEST

/* The setting a connection's commits wait under: SQLite synchronous, PostgreSQL synchronous_commit. */
static void
sync_setting(struct mf_sql *h, char *out, size_t outlen)
{
	mf_sql_stmt *st = NULL;

	out[0] = '\0';
	ck_assert_int_eq(mf_sql_prepare(h, mf_sql_backend(h) == MF_SQL_PG ?
	    "SELECT current_setting('synchronous_commit')" : "PRAGMA synchronous", 0, &st),
	    MF_SQL_OK);
	ck_assert_int_eq(mf_sql_step(st), MF_SQL_ROW);
	snprintf(out, outlen, "%s", (const char *)mf_sql_column_text(st, 0));
	mf_sql_finalize(st);
}

/*
 * Protocol state commits without waiting for the disk and what must
 * survive waits for it, on either backend (on PostgreSQL every ACME
 * commit waited for a WAL flush: c=8 60/s against 87-104/s without).
 */
START_TEST(t_durable_switch)
{
	struct mf_db *db = NULL;
	struct acme_sq *q;
	char v[32];
	int pg;

	ck_assert_int_eq(mf_db_open(cfg->database, 0, &db), MF_OK);
	pg = mf_sql_backend(mf_db_handle(db)) == MF_SQL_PG;
	ck_assert_ptr_nonnull(q = acme_sq_new(mf_db_handle(db)));
	ck_assert_int_eq(acme_sq_durable(q, 0), 0);
	sync_setting(mf_db_handle(db), v, sizeof(v));
	ck_assert_str_eq(v, pg ? "off" : "1");
	ck_assert_int_eq(acme_sq_durable(q, 1), 0);
	sync_setting(mf_db_handle(db), v, sizeof(v));
	ck_assert_str_eq(v, pg ? "on" : "2");
	acme_sq_free(q);
	mf_db_close(db);
}
END_TEST

struct fin_race {
	struct tc_acme s;
	const char *url;
	const char *payload;
	long status;
	char problem[64];
};

static void *
fin_one(void *arg)
{
	struct fin_race *f = arg;
	struct tc_resp r;

	memset(&r, 0, sizeof(r));
	if (tc_post(&f->s, f->url, f->payload, &r) == 0) {
		f->status = r.status;
		tc_problem(&r, f->problem, sizeof(f->problem));
	}
	tc_resp_clear(&r);
	return NULL;
}

/*
 * Finalize gives the listener's lock up while the certificate is signed:
 * of several finalizes of one order sent at once, one issues and the
 * others are told the order is not ready; one certificate is logged.
 */
START_TEST(t_finalize_once)
{
	struct fin_race f[6];
	pthread_t tid[6];
	char ou[512], fu[600], payload[4096];
	EVP_PKEY *k = NULL;
	int64_t before;
	json_t *o;
	int i, ok = 0, notready = 0;

	/*
	 * Room for six connections at once from 127.0.0.1 beside ones still
	 * closing (the default is 8 per address): a finalize refused a
	 * connection would answer nothing, which is not what this tests.
	 */
	teardown();
	start_server("  per-ip-connections: 32");
	new_account();
	ready_order("race.acme.test", ou, sizeof(ou), fu, sizeof(fu), payload, sizeof(payload), &k);
	before = db_count("SELECT count(*) FROM certificates");
	for (i = 0; i < 6; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].s = s;
		f[i].url = fu;
		f[i].payload = payload;
		/* Nonces first, one at a time, so the six POSTs are what races. */
		ck_assert_int_eq(tc_new_nonce(&f[i].s), 0);
	}
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(pthread_create(&tid[i], NULL, fin_one, &f[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(tid[i], NULL);
		if (f[i].status == 200)
			ok++;
		else if (f[i].status == 403 && strcmp(f[i].problem, "orderNotReady") == 0)
			notready++;
		else
			ck_abort_msg("finalize %d answered %ld %s", i, f[i].status, f[i].problem);
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(notready, 5);
	ck_assert_int_eq(db_count("SELECT count(*) FROM certificates"), before + 1);
	o = get_order(ou);
	ck_assert_str_eq(status_of(o), "valid");
	json_decref(o);
	EVP_PKEY_free(k);
}
END_TEST

static void
slow_checks(struct mf_config *c)
{
	c->acme.fetch_timeout = 20;
	c->acme.checks_per_account = 2;
}

/* One account runs at most checks-per-account checks (2 here) at once. */
START_TEST(t_checks_per_account)
{
	struct trickler t;
	struct tc_resp r;
	char ids[300], ou[512], cu[512], au[512];
	json_t *o;
	int i;

	restart_with(slow_checks);
	new_account();
	cfg->acme.test_tlsalpn01_port = trickler_start(&t, TLS_TRICKLE);
	snprintf(ids, sizeof(ids), "[{\"type\":\"dns\",\"value\":\"c1.acme.test\"},{\"type\":"
	    "\"dns\",\"value\":\"c2.acme.test\"},{\"type\":\"dns\",\"value\":\"c3.acme.test\"}]");
	o = new_order(ids, ou, sizeof(ou));
	for (i = 0; i < 3; i++) {
		snprintf(au, sizeof(au), "%s", json_string_value(json_array_get(
		    json_object_get(o, "authorizations"), (size_t)i)));
		chall_of(au, "tls-alpn-01", cu, sizeof(cu));
		ck_assert_int_eq(tc_post(&s, cu, "{}", &r), 0);
		if (i < 2)
			ck_assert_msg(r.status == 200, "check %d: %ld %s", i, r.status, r.body);
		else
			assert_problem(&r, "rateLimited", 429);
		tc_resp_clear(&r);
	}
	json_decref(o);
	/* The third stays pending and can be tried again later. */
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_challenges WHERE status = "
	    "'processing'"), 2);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_challenges WHERE status = "
	    "'pending' AND type = 'tls-alpn-01'"), 1);
	trickler_stop(&t);
}
END_TEST

static void
fetch_timeout_8s(struct mf_config *c)
{
	c->acme.fetch_timeout = 8;
}

/* A stop (SIGTERM in mayflyd) cancels a running check instead of waiting for it. */
START_TEST(t_stop_cancels_checks)
{
	struct trickler t;
	char au[512];
	long long t0;

	restart_with(fetch_timeout_8s);
	new_account();
	cfg->acme.test_tlsalpn01_port = trickler_start(&t, TLS_TRICKLE);
	start_check("tls-alpn-01", "dns", "stop.acme.test", au, sizeof(au));
	usleep(300000);
	t0 = mono_ms();
	mf_acme_stop(srv);
	srv = NULL;
	ck_assert_msg(mono_ms() - t0 < 2000, "stop took %lld ms", mono_ms() - t0);
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_challenges WHERE status = "
	    "'invalid' AND error LIKE '%stopping%'"), 1);
	trickler_stop(&t);
}
END_TEST

/* Without a binding, new accounts from one address are limited: each is a row. */
START_TEST(t_accounts_per_ip)
{
	struct tc_resp r;
	char u[300];
	int i;

	teardown();
	start_server("  accounts-per-ip-per-hour: 2");
	url(u, sizeof(u), "/new-account");
	for (i = 0; i < 3; i++) {
		tc_key_free(s.key);
		s.key = tc_key_new("ES256");
		s.kid[0] = '\0';
		ck_assert_int_eq(tc_post(&s, u, "{\"termsOfServiceAgreed\":true}", &r), 0);
		if (i < 2)
			ck_assert_msg(r.status == 201, "account %d: %ld %s", i, r.status, r.body);
		else {
			assert_problem(&r, "rateLimited", 429);
			ck_assert_int_gt(atoi(r.retry_after), 0);
		}
		tc_resp_clear(&r);
	}
	ck_assert_int_eq(db_count("SELECT count(*) FROM acme_accounts"), 2);
}
END_TEST

/* ---- issue 9, item 6: one address cannot hold the listener --------------------- */

static int
tcp_connect(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* 1 if the peer closed fd within ms milliseconds. */
static int
closed_within(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char b;

	return poll(&pfd, 1, ms) == 1 && recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

START_TEST(t_per_ip_limit)
{
	int fd[3], i;

	teardown();
	start_server("  per-ip-connections: 2\n  request-timeout: 3s");
	for (i = 0; i < 3; i++)
		fd[i] = tcp_connect(mf_acme_port(srv));
	/*
	 * One of the three is closed at once and two are kept. Which one is
	 * the third to be counted depends on which of the listener's threads
	 * accepts first, not on the order of the connects.
	 */
	{
		struct pollfd pfd[3];
		int64_t end = mono_ms() + 1500;
		int nclosed = 0, left;

		while (nclosed == 0 && (left = (int)(end - mono_ms())) > 0) {
			for (i = 0; i < 3; i++)
				pfd[i] = (struct pollfd){ fd[i], POLLIN, 0 };
			if (poll(pfd, 3, left) > 0)
				for (i = 0; i < 3; i++)
					nclosed += pfd[i].revents != 0 && closed_within(fd[i], 0);
		}
		ck_assert_msg(nclosed >= 1, "three connections from one address were all kept");
		for (i = 0; i < 3; i++)
			if (!closed_within(fd[i], 0))
				ck_assert_msg(!closed_within(fd[i], 300), "a kept connection was closed");
		nclosed = 0;
		for (i = 0; i < 3; i++)
			nclosed += closed_within(fd[i], 0);
		ck_assert_msg(nclosed == 1, "%d of three connections from one address were closed "
		    "with a limit of 2", nclosed);
	}
	for (i = 0; i < 3; i++)
		close(fd[i]);
}
END_TEST

/* Headers sent one byte at a time do not hold a connection past request-timeout (2 s). */
START_TEST(t_slow_headers)
{
	const char *req = "GET /directory HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	SSL_CTX *ctx;
	SSL *ssl;
	long long t0, end;
	int fd, closed = 0;
	char b;

	teardown();
	start_server("  request-timeout: 2s");
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = SSL_new(ctx);
	fd = tcp_connect(mf_acme_port(srv));
	SSL_set_fd(ssl, fd);
	ck_assert_int_eq(SSL_connect(ssl), 1);
	t0 = mono_ms();
	ck_assert_int_gt(SSL_write(ssl, req, (int)strlen(req)), 0);
	end = t0 + 6000;
	while (mono_ms() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, 200) == 1 && SSL_read(ssl, &b, 1) <= 0) {
			closed = 1;
			break;
		}
		if (SSL_write(ssl, "a", 1) <= 0) {
			closed = 1;
			break;
		}
	}
	ck_assert_msg(closed, "a request trickling its headers was still open after 6 s");
	ck_assert_int_lt(mono_ms() - t0, 4000);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
}
END_TEST

Suite *
suite_acme_server(void)
{
	Suite *s_ = suite_create("acme_server");
	TCase *tc = tcase_create("server");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_directory_and_nonce);
	tcase_add_test(tc, t_connection_memory);
	tcase_add_test(tc, t_account_lifecycle);
	tcase_add_test(tc, t_bad_nonce);
	tcase_add_test(tc, t_wrong_url);
	tcase_add_test(tc, t_oversized_and_shape);
	tcase_add_test(tc, t_rejected_identifiers);
	tcase_add_test(tc, t_issue_badcsr_revoke_ari);
	tcase_add_test(tc, t_revoke_by_cert_key);
	tcase_add_test(tc, t_challenge_fails);
	tcase_add_test(tc, t_other_account_cannot_read);
	tcase_add_test(tc, t_key_rollover);
	tcase_add_test(tc, t_key_cache);
	tcase_add_test(tc, t_order_poll_refresh);
	tcase_add_test(tc, t_rate_limit);
	tcase_add_test(tc, t_eab_required);
	tcase_add_test(tc, t_eab_database);
	tcase_add_test(tc, t_tls_alpn_01);
	tcase_add_test(tc, t_ari_replaces);
	tcase_add_test(tc, t_order_not_before);
	tcase_add_test(tc, t_order_not_before_no_horizon);
	tcase_add_test(tc, t_dns_01_wildcard);
	tcase_add_test(tc, t_listener_cert_renewal);
	tcase_add_test(tc, t_rate_limit_per_name);
	tcase_add_test(tc, t_cleanup_expired);
	tcase_add_test(tc, t_nonce_costs_no_write);
	tcase_add_test(tc, t_nonce_rules);
	tcase_add_test(tc, t_nonce_shared);
	tcase_add_test(tc, t_nonce_restart);
	tcase_add_test(tc, t_identifier_syntax);
	tcase_add_test(tc, t_check_not_loopback);
	tcase_add_test(tc, t_addr_allowed);
	tcase_add_test(tc, t_log_safe);
	tcase_add_test(tc, t_http01_redirects);
	tcase_add_test(tc, t_slow_responder);
	tcase_add_test(tc, t_challenge_answer_waits);
	tcase_add_test(tc, t_finalize_once);
	tcase_add_test(tc, t_durable_switch);
	tcase_add_test(tc, t_checks_per_account);
	tcase_add_test(tc, t_stop_cancels_checks);
	tcase_add_test(tc, t_accounts_per_ip);
	tcase_add_test(tc, t_per_ip_limit);
	tcase_add_test(tc, t_slow_headers);
	suite_add_tcase(s_, tc);
	return s_;
}
