/*
 * acme_http.c: the HTTPS side of the renewal listener: libmicrohttpd with
 * GnuTLS, request bodies read in bounded chunks, the route table, the
 * common steps every ACME POST goes through (RFC 8555 6.2-6.5: content
 * type, JWS shape, "url" equal to the request URL, key by "jwk" or "kid",
 * signature, single-use nonce), and the conversion of a handler's answer
 * into a response with a fresh Replay-Nonce and, on refusal, an RFC 7807
 * problem document with the ACME error type of section 6.7.
 *
 * Database work happens under one lock on one connection (mf_db is not
 * shared between threads); TLS, body reading and JWS parsing happen
 * outside it in libmicrohttpd's thread pool.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdint.h>
#include <unistd.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/err.h>

#include "acme/acme_int.h"
#include "httpguard.h"
#include "issuer.h"
#include "mferr.h"
#include "util.h"

/* How a route authenticates its caller. */
enum route_auth {
	AUTH_NONE,		/* GET resources: directory, nonce, renewal info */
	AUTH_JWK,		/* newAccount: the key itself */
	AUTH_KID,		/* everything an account does */
	AUTH_EITHER,		/* revokeCert: the account or the certificate's key */
	AUTH_EST,		/* EST: basic, token or client certificate, checked by the handler */
};

struct route {
	const char *method;
	const char *prefix;	/* exact path, or a prefix ending in '/' */
	enum route_auth auth;
	int (*fn)(struct acme_ctx *);
	int waits;		/* may wait for the signer or a challenge check (req_waits) */
};

static int h_directory(struct acme_ctx *c);
static int h_nonce(struct acme_ctx *c);

static const struct route routes[] = {
	{ "GET", "/directory", AUTH_NONE, h_directory, 0 },
	{ "HEAD", "/new-nonce", AUTH_NONE, h_nonce, 0 },
	{ "GET", "/new-nonce", AUTH_NONE, h_nonce, 0 },
	{ "POST", "/new-account", AUTH_JWK, acme_h_new_account, 0 },
	{ "POST", "/acct/", AUTH_KID, acme_h_account, 0 },
	{ "POST", "/key-change", AUTH_KID, acme_h_key_change, 0 },
	{ "POST", "/new-order", AUTH_KID, acme_h_new_order, 0 },
	{ "POST", "/order/", AUTH_KID, acme_h_order, 1 },
	{ "POST", "/authz/", AUTH_KID, acme_h_authz, 0 },
	{ "POST", "/chall/", AUTH_KID, acme_h_challenge, 1 },
	{ "POST", "/cert/", AUTH_KID, acme_h_cert, 0 },
	{ "POST", "/revoke-cert", AUTH_EITHER, acme_h_revoke, 1 },
	{ "GET", "/renewal-info/", AUTH_NONE, acme_h_renewal_info, 0 },
	{ "GET", "/.well-known/est/cacerts", AUTH_EST, est_h_cacerts, 0 },
	{ "POST", "/.well-known/est/simpleenroll", AUTH_EST, est_h_simpleenroll, 1 },
	{ "POST", "/.well-known/est/simplereenroll", AUTH_EST, est_h_simplereenroll, 1 },
	{ "POST", "/v1/sign", AUTH_EST, api_h_sign, 1 },
};

/* Per-request state, allocated on the first call, freed in on_completed. */
/*
 * One request. libmicrohttpd's threads read it (TLS, headers, body) and
 * send its answer; in between, a handler thread runs it while its
 * connection is suspended (see mhd_start).
 */
struct httpreq {
	char *buf;
	size_t len;
	size_t seen;			/* body bytes received, kept or not */
	int too_large;
	/* Taken from the connection once the request is complete (req_collect). */
	char *path, *method, *authorization, *ctype;
	char client_ip[64];
	X509 *client_cert;		/* the TLS client certificate, for EST routes */
	const struct route *rt;		/* NULL: no such resource */
	int wrong_method;
	/* At a handler thread: the listener it counts in, and the queue. */
	struct acme_lsn *lsn;
	struct MHD_Connection *conn;
	struct httpreq *next;
	/* The answer (req_run). */
	int done;
	struct acme_resp r;
	int has_nonce;
	char nonce[ACME_NONCE_LEN + 1];
};

/* One libmicrohttpd daemon: the first, then one per listener certificate renewal. */
struct acme_lsn {
	struct mf_acme *a;
	struct MHD_Daemon *d;
	unsigned jobs;			/* its requests handed over and not answered (a->jlock) */
	int draining;			/* being stopped: requests run in its own threads */
};

const char *
acme_problem_type(int err, int *status)
{
	static const struct { int err; const char *type; int status; } map[] = {
		{ MF_ERR_ACME_MALFORMED, "malformed", 400 },
		{ MF_ERR_ACME_SIGNATURE, "malformed", 400 },
		{ MF_ERR_ACME_TOOLARGE, "malformed", 413 },
		{ MF_ERR_ACME_BADNONCE, "badNonce", 400 },
		{ MF_ERR_ACME_BADALG, "badSignatureAlgorithm", 400 },
		{ MF_ERR_ACME_UNAUTHORIZED, "unauthorized", 403 },
		{ MF_ERR_ACME_NOACCOUNT, "accountDoesNotExist", 400 },
		{ MF_ERR_ACME_BADCSR, "badCSR", 400 },
		{ MF_ERR_ACME_NOTREADY, "orderNotReady", 403 },
		{ MF_ERR_ACME_RATELIMIT, "rateLimited", 429 },
		{ MF_ERR_ACME_REJECTEDID, "rejectedIdentifier", 400 },
		{ MF_ERR_ACME_EAB, "externalAccountRequired", 400 },
		{ MF_ERR_ACME_BADKEY, "badPublicKey", 400 },
		{ MF_ERR_ACME_CHALLENGE, "incorrectResponse", 400 },
		{ MF_ERR_ACME_CONNECTION, "connection", 400 },
		{ MF_ERR_ACME_REVOKED, "alreadyRevoked", 400 },
		{ MF_ERR_ACME_BADREASON, "badRevocationReason", 400 },
		{ MF_ERR_ACME_UNSUPPORTEDID, "unsupportedIdentifier", 400 },
		{ MF_ERR_ACME_CONFLICT, "alreadyReplaced", 409 },
		{ MF_ERR_NOTFOUND, "malformed", 404 },
		{ MF_ERR_EXISTS, "malformed", 409 },
		{ MF_ERR_EST_AUTH, "unauthorized", 401 },
		{ MF_ERR_EST_NAMES, "rejectedIdentifier", 403 },
		{ MF_ERR_AUTH, "unauthorized", 401 },
		/*
		 * Nothing wrong with the request: the CA cannot sign just now
		 * (signer restarting, token gone, log busy). RFC 8555 has no
		 * type for that; 503 with Retry-After tells the client to
		 * come back rather than to give up.
		 */
		{ MF_ERR_SIGNER, "serverInternal", 503 },
		{ MF_ERR_HSM, "serverInternal", 503 },
		{ MF_ERR_DB_BUSY, "serverInternal", 503 },
		{ MF_ERR_DB_FULL, "serverInternal", 503 },
		{ MF_ERR_DB_READONLY, "serverInternal", 503 },
		{ MF_ERR_DB_UNAVAILABLE, "serverInternal", 503 },
		{ MF_ERR_CA_REVOKED, "serverInternal", 503 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].err == err) {
			*status = map[i].status;
			return map[i].type;
		}
	*status = 500;
	return "serverInternal";
}

char *
acme_log_safe(const char *in, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return out;
	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];

		out[i] = ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	out[i] = '\0';
	return out;
}

int
acme_fail(struct acme_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	c->r->err = err;
	va_start(ap, fmt);
	vsnprintf(c->r->why, sizeof(c->r->why), fmt, ap);
	va_end(ap);
	return err;
}

void
acme_link(struct acme_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (c->r->nlinks >= (int)(sizeof(c->r->links) / sizeof(c->r->links[0])))
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n >= 0)
		c->r->links[c->r->nlinks++] = s;
}

char *
acme_url(struct mf_acme *a, const char *fmt, ...)
{
	va_list ap;
	char *path, *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&path, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if (asprintf(&s, "%s%s", a->base, path) < 0)
		s = NULL;
	free(path);
	return s;
}

static int
h_directory(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	json_t *d, *meta;

	meta = json_pack("{s:b}", "externalAccountRequired", a->conf->eab_required);
	d = json_pack("{s:s+, s:s+, s:s+, s:s+, s:s+, s:s+, s:o*}",
	    "newNonce", a->base, "/new-nonce",
	    "newAccount", a->base, "/new-account",
	    "newOrder", a->base, "/new-order",
	    "revokeCert", a->base, "/revoke-cert",
	    "keyChange", a->base, "/key-change",
	    "renewalInfo", a->base, "/renewal-info",
	    "meta", meta);
	if (d == NULL)
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	c->r->status = 200;
	c->r->json = d;
	return 0;
}

static int
h_nonce(struct acme_ctx *c)
{
	/* RFC 8555 7.2: 200 for HEAD, 204 for GET; the nonce is added for every answer. */
	c->r->status = strcmp(c->method, "HEAD") == 0 ? 200 : 204;
	return 0;
}

static const struct route *
route_find(const char *method, const char *path, int *wrong_method)
{
	size_t i, n;

	*wrong_method = 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = strlen(routes[i].prefix);
		if (routes[i].prefix[n - 1] == '/' ? strncmp(path, routes[i].prefix, n) != 0 ||
		    path[n] == '\0' : strcmp(path, routes[i].prefix) != 0)
			continue;
		if (strcmp(method, routes[i].method) == 0)
			return &routes[i];
		*wrong_method = 1;
	}
	return NULL;
}

/*
 * The checks of RFC 8555 6.2-6.5 that need neither the database nor the
 * listener's lock: content type, JWS syntax, the signed URL and the key
 * or account URL's form. On success c->jws is set.
 */
static int
acme_jws_precheck(struct acme_ctx *c, const struct route *rt, const char *ctype,
    const char *body, size_t len)
{
	struct mf_acme *a = c->a;
	struct mf_jws *j = NULL;
	char *url = NULL, why[200];
	size_t blen = strlen(a->base);
	int rc;

	if (ctype == NULL || strncmp(ctype, "application/jose+json", 21) != 0 ||
	    (ctype[21] != '\0' && ctype[21] != ';'))
		return acme_fail(c, MF_ERR_ACME_MALFORMED,
		    "Content-Type must be application/jose+json");
	if ((rc = mf_jws_parse(body, len, 0, &j, why, sizeof(why))) != 0)
		return acme_fail(c, rc, "%s", why);
	c->jws = j;
	if ((url = acme_url(a, "%s", c->path)) == NULL)
		return acme_fail(c, MF_ERR_NOMEM, "out of memory");
	/* 6.4: the signed URL must be this one, so a request cannot be replayed elsewhere. */
	rc = strcmp(j->url, url) == 0 ? 0 : MF_ERR_ACME_UNAUTHORIZED;
	free(url);
	if (rc != 0)
		return acme_fail(c, rc, "JWS \"url\" does not match the request URL");
	if (rt->auth == AUTH_JWK && j->jwk == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "this request must be signed with \"jwk\"");
	if (rt->auth == AUTH_KID && j->kid == NULL)
		return acme_fail(c, MF_ERR_ACME_MALFORMED, "this request must be signed with \"kid\"");
	if (j->jwk != NULL) {
		if ((rc = mf_jwk_check(j->jwk, why, sizeof(why))) != 0)
			return acme_fail(c, rc, "%s", why);
	} else if (strncmp(j->kid, a->base, blen) != 0 ||
	    strncmp(j->kid + blen, "/acct/", 6) != 0) {
		return acme_fail(c, MF_ERR_ACME_NOACCOUNT, "\"kid\" is not an account URL here");
	}
	return 0;
}

/*
 * The rest of 6.2-6.5 after acme_jws_precheck(): the account, the
 * signature and the nonce; on success c->acct is set (kid requests).
 * Called with the listener's lock held; the signature is checked without
 * it, so requests of different clients verify in parallel.
 */
static int
acme_authenticate(struct acme_ctx *c)
{
	struct mf_acme *a = c->a;
	struct mf_jws *j = c->jws;
	const json_t *key;
	EVP_PKEY *pk = NULL;
	size_t blen = strlen(a->base);
	int rc;

	if (j->jwk != NULL) {
		key = j->jwk;
	} else {
		rc = acme_account_get(a->sq, j->kid + blen + 6, NULL, &c->acct);
		if (rc != 0)
			return acme_fail(c, rc, "no account %.60s", j->kid + blen + 6);
		if (strcmp(c->acct->status, "valid") != 0)
			return acme_fail(c, MF_ERR_ACME_UNAUTHORIZED, "account is %s", c->acct->status);
		key = c->acct->jwk;
		/*
		 * The account's key in OpenSSL form, kept from its last request:
		 * rebuilding it from the JWK was an eighth of the listener's CPU.
		 * The cache is keyed by the thumbprint just read with the status
		 * above, so a rolled-over key is never used.
		 */
		if ((rc = mf_jwk_cache_get(a->keys, c->acct->id, c->acct->thumbprint, key,
		    &pk)) != 0)
			return acme_fail(c, MF_ERR_ACME_SIGNATURE, "the account key is not usable");
	}
	/* key and pk belong to this request (pk is a reference of its own). */
	pthread_mutex_unlock(&a->lock);
	rc = pk != NULL ? mf_jws_verify_pkey(j, key, pk) : mf_jws_verify(j, key);
	EVP_PKEY_free(pk);
	pthread_mutex_lock(&a->lock);
	if (rc != 0) {
		/* With kid, an algorithm that does not fit means another key signed. */
		if (rc == MF_ERR_ACME_BADALG && j->kid != NULL)
			rc = MF_ERR_ACME_SIGNATURE;
		return acme_fail(c, rc, rc == MF_ERR_ACME_BADALG ?
		    "algorithm %s does not fit the key" : "JWS signature (%s) does not verify "
		    "with the account key", j->alg);
	}
	/* Only now spend the nonce, so a forged request cannot burn one. */
	if ((rc = acme_nonce_use(a->nonces, j->nonce, c->now)) != 0)
		return acme_fail(c, rc, "nonce unknown, used or expired");
	return 0;
}

static void
resp_clear(struct acme_resp *r)
{
	int i;

	json_decref(r->json);
	free(r->body);
	free(r->location);
	for (i = 0; i < r->nlinks; i++)
		free(r->links[i]);
	json_decref(r->problem_extra);
}

/* Builds the MHD response from r; the nonce and index link only for ACME routes. */
static enum MHD_Result
send_resp(struct MHD_Connection *conn, struct mf_acme *a, struct acme_resp *r,
    const char *nonce)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL, num[24];
	const char *ctype = r->ctype;
	size_t len = 0;
	int status = r->status, i;

	if (r->err != 0) {
		json_t *p;
		const char *type = acme_problem_type(r->err, &status);

		if (status == 503 && r->retry_after <= 0)
			r->retry_after = 5;

		p = json_pack("{s:s+, s:s, s:i}", "type", "urn:ietf:params:acme:error:", type,
		    "detail", r->why, "status", status);
		if (p != NULL && r->problem_extra != NULL)
			json_object_update(p, r->problem_extra);
		text = p ? json_dumps(p, JSON_INDENT(2)) : NULL;
		json_decref(p);
		ctype = "application/problem+json";
		len = text ? strlen(text) : 0;
	} else if (r->json != NULL) {
		text = json_dumps(r->json, JSON_INDENT(2));
		ctype = "application/json";
		len = text ? strlen(text) : 0;
	} else if (r->body != NULL) {
		text = r->body;
		r->body = NULL;
		len = r->len;
	}
	resp = MHD_create_response_from_buffer(len, text ? text : (char *)"",
	    MHD_RESPMEM_MUST_COPY);
	free(text);
	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL && len > 0)
		MHD_add_response_header(resp, "Content-Type", ctype);
	if (nonce != NULL) {
		char *idx = acme_url(a, "/directory");

		MHD_add_response_header(resp, "Replay-Nonce", nonce);
		if (idx != NULL) {
			char *l;

			if (asprintf(&l, "<%s>;rel=\"index\"", idx) >= 0) {
				MHD_add_response_header(resp, "Link", l);
				free(l);
			}
			free(idx);
		}
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	}
	if (r->location != NULL)
		MHD_add_response_header(resp, "Location", r->location);
	for (i = 0; i < r->nlinks; i++)
		MHD_add_response_header(resp, "Link", r->links[i]);
	if (r->www_authenticate != NULL)
		MHD_add_response_header(resp, "WWW-Authenticate", r->www_authenticate);
	if (r->retry_after > 0) {
		snprintf(num, sizeof(num), "%d", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", num);
	}
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The TLS client certificate as an OpenSSL object, or NULL. */
static X509 *
client_cert(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	const unsigned char *p;
	unsigned int n = 0;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return NULL;
	peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (peers == NULL || n == 0 || peers[0].size > 65536)
		return NULL;
	p = peers[0].data;
	return d2i_X509(NULL, &p, (long)peers[0].size);
}

/*
 * Takes from the connection what running the request needs, in
 * libmicrohttpd's thread: a handler thread must not touch the connection.
 */
static int
req_collect(struct MHD_Connection *conn, struct mf_acme *a, const char *url, const char *method,
    struct httpreq *hr)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	const char *v;

	if ((hr->path = strdup(url)) == NULL || (hr->method = strdup(method)) == NULL)
		return -1;
	if ((v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION)) != NULL && (hr->authorization = strdup(v)) == NULL)
		return -1;
	if ((v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE)) != NULL && (hr->ctype = strdup(v)) == NULL)
		return -1;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci != NULL ? ci->client_addr : NULL;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, hr->client_ip,
		    sizeof(hr->client_ip));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, hr->client_ip,
		    sizeof(hr->client_ip));

	hr->rt = route_find(method, url, &hr->wrong_method);
	/* HEAD of a GET resource is answered like GET; MHD drops the body. */
	if (hr->rt == NULL && strcmp(method, "HEAD") == 0)
		hr->rt = route_find("GET", url, &hr->wrong_method);
	/* acme.est.enabled: false takes the EST resources away (404), re-enrolment too. */
	if (hr->rt != NULL && !a->conf->est_enabled &&
	    strncmp(hr->rt->prefix, "/.well-known/est/", 17) == 0)
		hr->rt = NULL;
	if (hr->rt != NULL && hr->rt->auth == AUTH_EST)
		hr->client_cert = client_cert(conn);
	return 0;
}

/* Runs a complete request into hr->r, without the connection (a handler thread). */
static void
req_run(struct mf_acme *a, struct httpreq *hr)
{
	struct acme_resp *r = &hr->r;
	struct acme_ctx c;
	const struct route *rt = hr->rt;
	const char *path = hr->path, *method = hr->method;
	int is_acme, jws_route, pre = 0;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.path = path;
	c.method = method;
	c.r = r;
	c.now = (int64_t)time(NULL);
	c.upload = hr->buf ? hr->buf : "";
	c.upload_len = hr->len;
	c.authorization = hr->authorization;
	c.client_cert = hr->client_cert;
	memcpy(c.client_ip, hr->client_ip, sizeof(c.client_ip));
	is_acme = strncmp(path, "/.well-known/est/", 17) != 0 && strcmp(path, "/v1/sign") != 0;
	if (rt != NULL) {
		size_t pl = strlen(rt->prefix);

		c.arg = rt->prefix[pl - 1] == '/' ? path + pl : "";
	}

	if (rt != NULL && rt->auth == AUTH_EST && !hr->too_large) {
		/*
		 * EST and /v1/sign: no nonces, no ACME state; the handlers lock
		 * around their database work, so CSR checks run in parallel and
		 * issuances share group commits.
		 */
		rt->fn(&c);
		goto answer;
	}
	/* JWS syntax and form first, without the lock; what failed is answered below. */
	jws_route = rt != NULL && !hr->too_large && (rt->auth == AUTH_JWK ||
	    rt->auth == AUTH_KID || rt->auth == AUTH_EITHER);
	if (jws_route)
		pre = acme_jws_precheck(&c, rt, hr->ctype, c.upload, c.upload_len);
	pthread_mutex_lock(&a->lock);
	if (c.now - a->last_cleanup > 60) {
		if (acme_cleanup(a->sq, c.now) != 0)
			mf_warn("msg=\"cleanup of expired ACME state failed\"");
		a->last_cleanup = c.now;
	}
	if (rt == NULL) {
		r->status = hr->wrong_method ? 405 : 404;
		acme_fail(&c, MF_ERR_ACME_MALFORMED, hr->wrong_method ? "method not allowed" :
		    "no such resource");
		r->err = hr->wrong_method ? MF_ERR_ACME_MALFORMED : MF_ERR_NOTFOUND;
	} else if (hr->too_large) {
		acme_fail(&c, MF_ERR_ACME_TOOLARGE, "request body above %zu bytes",
		    a->conf->max_body);
	} else if (jws_route) {
		if (pre == 0 && acme_authenticate(&c) == 0)
			rt->fn(&c);
	} else {
		rt->fn(&c);
	}
	pthread_mutex_unlock(&a->lock);
	/* Minting writes nothing (acme_nonce.c): a 404 costs the database nothing. */
	hr->has_nonce = is_acme && acme_nonce_new(a->nonces, c.now, a->conf->nonce_lifetime,
	    hr->nonce) == 0;
answer:
	if (r->err != 0) {
		char spath[200], swhy[sizeof(r->why)], smethod[16];
		int st;

		/* The path and the detail carry what the client sent: escaped. */
		mf_info("path=%s method=%s problem=%s err=%s detail=\"%s\"",
		    acme_log_safe(path, spath, sizeof(spath)),
		    acme_log_safe(method, smethod, sizeof(smethod)),
		    acme_problem_type(r->err, &st), mf_errname(r->err),
		    acme_log_safe(r->why, swhy, sizeof(swhy)));
	}
	mf_jws_free(c.jws);
	acme_account_free(c.acct);
	ERR_clear_error();
	hr->done = 1;
}

/* A request handed over is answered, or its connection gone: its listener may stop. */
static void
req_release(struct httpreq *hr)
{
	struct acme_lsn *l = hr->lsn;
	struct mf_acme *a;

	if (l == NULL)
		return;
	a = l->a;
	hr->lsn = NULL;
	pthread_mutex_lock(&a->jlock);
	if (--l->jobs == 0 && l->draining)
		pthread_cond_broadcast(&a->jdone);
	pthread_mutex_unlock(&a->jlock);
}

/* Sends what req_run made (libmicrohttpd's thread). */
static enum MHD_Result
req_answer(struct MHD_Connection *conn, struct mf_acme *a, struct httpreq *hr)
{
	enum MHD_Result ret;

	ret = send_resp(conn, a, &hr->r, hr->has_nonce ? hr->nonce : NULL);
	/* The client's time again: it has request-timeout to read the answer. */
	mf_hguard_mark(conn, MF_HG_REQUEST);
	resp_clear(&hr->r);
	memset(&hr->r, 0, sizeof(hr->r));
	req_release(hr);
	return ret;
}

/* Whether a request may wait: of an order's URLs only finalize does, not the polls. */
static int
req_waits(const struct httpreq *hr)
{
	size_t n;

	if (hr->rt == NULL || !hr->rt->waits || hr->too_large)
		return 0;
	if (strcmp(hr->rt->prefix, "/order/") != 0)
		return 1;
	n = strlen(hr->path);
	return n > 9 && strcmp(hr->path + n - 9, "/finalize") == 0;
}

/*
 * Hands a complete request that may wait (an issuance, a challenge check)
 * to the handler threads and suspends its connection until one has run
 * it; 0 if it runs here instead (it does not wait, or the listener is
 * being stopped).
 */
static int
req_submit(struct acme_lsn *l, struct MHD_Connection *conn, struct httpreq *hr)
{
	struct mf_acme *a = l->a;

	/*
	 * What cannot wait long runs here: handing it over would cost more (two
	 * thread switches) than it does.
	 */
	if (!req_waits(hr))
		return 0;
	pthread_mutex_lock(&a->jlock);
	if (l->draining || a->jclosing || a->njt == 0) {
		pthread_mutex_unlock(&a->jlock);
		return 0;
	}
	l->jobs++;
	hr->lsn = l;
	hr->conn = conn;
	hr->next = NULL;
	/* Before the queue: no handler thread can resume it first. */
	MHD_suspend_connection(conn);
	if (a->jtail != NULL)
		a->jtail->next = hr;
	else
		a->jhead = hr;
	a->jtail = hr;
	pthread_cond_signal(&a->jcond);
	pthread_mutex_unlock(&a->jlock);
	return 1;
}

static void *
req_thread(void *arg)
{
	struct mf_acme *a = arg;
	struct MHD_Connection *conn;
	struct httpreq *hr;

	pthread_mutex_lock(&a->jlock);
	for (;;) {
		while (a->jhead == NULL && !a->jclosing)
			pthread_cond_wait(&a->jcond, &a->jlock);
		if ((hr = a->jhead) == NULL)
			break;		/* closing, and nothing left to run */
		if ((a->jhead = hr->next) == NULL)
			a->jtail = NULL;
		pthread_mutex_unlock(&a->jlock);
		conn = hr->conn;
		req_run(a, hr);
		/* From here the request is its connection's again, and may be freed. */
		MHD_resume_connection(conn);
		pthread_mutex_lock(&a->jlock);
	}
	pthread_mutex_unlock(&a->jlock);
	return NULL;
}

static void
req_free(struct httpreq *hr)
{
	req_release(hr);
	resp_clear(&hr->r);
	X509_free(hr->client_cert);
	free(hr->path);
	free(hr->method);
	free(hr->authorization);
	free(hr->ctype);
	free(hr->buf);
	free(hr);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct acme_lsn *l = cls;
	struct mf_acme *a = l->a;
	struct httpreq *hr = *req_cls;

	if (hr == NULL) {
		if ((hr = calloc(1, sizeof(*hr))) == NULL)
			return MHD_NO;
		*req_cls = hr;
		/* Its headers are in: no longer a connection to evict. */
		mf_hguard_mark(conn, MF_HG_REQUEST);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		hr->seen += *upload_size;
		if (hr->seen > MF_HG_BODY_DRAIN(a->conf->max_body)) {
			mf_info("msg=\"request body far above %zu bytes: connection dropped\"",
			    a->conf->max_body);
			return MHD_NO;
		}
		/* Keep reading past the limit but keep nothing: answer 413 at the end. */
		if (!hr->too_large && hr->len + *upload_size <= a->conf->max_body) {
			char *nb = realloc(hr->buf, hr->len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			hr->buf = nb;
			memcpy(hr->buf + hr->len, upload, *upload_size);
			hr->len += *upload_size;
			hr->buf[hr->len] = '\0';
		} else {
			hr->too_large = 1;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	(void)version;
	/* Called again once a handler thread has run it and resumed the connection. */
	if (hr->done)
		return req_answer(conn, a, hr);
	if (req_collect(conn, a, url, method, hr) != 0)
		return MHD_NO;
	mf_hguard_mark(conn, MF_HG_BUSY);
	if (req_submit(l, conn, hr))
		return MHD_YES;
	req_run(a, hr);
	return req_answer(conn, a, hr);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct httpreq *hr = *req_cls;

	(void)cls;
	(void)toe;
	/* Between requests: request-timeout again for the next, and it may be evicted. */
	mf_hguard_mark(conn, MF_HG_IDLE);
	if (hr == NULL)
		return;
	req_free(hr);
	*req_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	mf_debug("mhd=\"%s\"", buf);
}

/* The acme.threads handler threads; on failure none is left running. */
static int
req_threads_start(struct mf_acme *a)
{
	unsigned n = a->conf->threads > 1 ? a->conf->threads : 1u;

	if ((a->jtid = calloc(n, sizeof(*a->jtid))) == NULL)
		return MF_ERR_NOMEM;
	for (a->njt = 0; a->njt < n; a->njt++)
		if (pthread_create(&a->jtid[a->njt], NULL, req_thread, a) != 0) {
			mf_err("threads=%u msg=\"cannot start the ACME handler threads\"", n);
			return MF_ERR_INTERNAL;	/* mf_acme_stop() ends those started */
		}
	return 0;
}

/* After every daemon has stopped: nothing is queued, and nothing can be. */
static void
req_threads_stop(struct mf_acme *a)
{
	unsigned i;

	pthread_mutex_lock(&a->jlock);
	a->jclosing = 1;
	pthread_cond_broadcast(&a->jcond);
	pthread_mutex_unlock(&a->jlock);
	for (i = 0; i < a->njt; i++)
		pthread_join(a->jtid[i], NULL);
	free(a->jtid);
	a->jtid = NULL;
	a->njt = 0;
}

/* Connections the listener holds open at once (config.c: at least threads). */
static unsigned
mhd_limit(const struct mf_acme_conf *conf)
{
	return conf->max_connections;
}

/*
 * Starts libmicrohttpd on the listening socket fd (bound at start, or
 * handed back by the daemon a renewal replaces). A few threads, one per
 * CPU, hold all the connections (acme.max-connections) with epoll and do
 * what costs no waiting: TLS, headers, bodies, answers, and the requests
 * that need the database only briefly. A complete request that may wait
 * goes to one of the acme.threads handler threads (req_submit), and its
 * connection is suspended until the handler is done: an issuance blocks
 * its handler until the record is committed (in mayflyd, until the
 * signer's batch commits), and it must hold up nothing else, so that
 * concurrent requests reach the signer together and share a commit.
 *
 * Every thread lives as long as the listener. A thread per connection
 * leaked: GnuTLS 3.7 gives every thread that handshakes its own
 * random-generator state and frees it only when the library is unloaded,
 * 192 bytes per connection (test t_connection_memory).
 */
static struct acme_lsn *
mhd_start(struct mf_acme *a, int fd)
{
	const struct mf_acme_conf *conf = a->conf;
	unsigned flags = a->mhd_flags | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TLS | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	unsigned limit = mhd_limit(conf);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned pool = ncpu < 1 ? 1u : ncpu > 16 ? 16u : (unsigned)ncpu;
	/* Well below the total, so that one address cannot hold every connection. */
	unsigned per_ip = conf->per_ip_connections < limit ? conf->per_ip_connections : limit;
	unsigned idle = (unsigned)conf->request_timeout;
	struct acme_lsn *l;

	if (pool > limit)
		pool = limit;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->a = a;
	l->d = MHD_start_daemon(flags, (uint16_t)conf->port, NULL, NULL, on_request, l,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_HTTPS_MEM_CERT, a->tls_cert_pem,
	    MHD_OPTION_HTTPS_MEM_KEY, a->tls_key_pem,
	    MHD_OPTION_HTTPS_MEM_TRUST, a->trust_pem,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, mf_hguard_notify, a->guard,
	    MHD_OPTION_CONNECTION_TIMEOUT, idle,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_THREAD_POOL_SIZE, pool,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_END);
	if (l->d == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

/*
 * Stops a daemon: its requests at handler threads are answered first (new
 * ones run in its own threads meanwhile), because libmicrohttpd must not
 * be stopped with a connection suspended.
 */
static void
mhd_stop(struct acme_lsn *l)
{
	struct mf_acme *a;

	if (l == NULL)
		return;
	a = l->a;
	pthread_mutex_lock(&a->jlock);
	l->draining = 1;
	while (l->jobs > 0)
		pthread_cond_wait(&a->jdone, &a->jlock);
	pthread_mutex_unlock(&a->jlock);
	MHD_stop_daemon(l->d);
	free(l);
}


static void
pem_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/*
 * Renews the self-issued listener certificate at two thirds of its life:
 * issue a new one, stop accepting on the old daemon (MHD_quiesce_daemon
 * hands back the listening socket), start a new daemon on that socket with
 * the new certificate, then stop the old one. The port never closes.
 */
static void *
tls_renewer(void *arg)
{
	struct mf_acme *a = arg;
	struct acme_lsn *old, *nd;
	struct timespec ts;
	char *old_cert, *old_key;
	MHD_socket fd;
	int rc;

	pthread_mutex_lock(&a->vlock);
	while (!a->stopping && a->lsn != NULL) {
		if ((int64_t)time(NULL) < a->tls_renew_at) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&a->vcond, &a->vlock, &ts);
			continue;
		}
		pthread_mutex_unlock(&a->vlock);
		old_cert = a->tls_cert_pem;
		old_key = a->tls_key_pem;
		a->tls_cert_pem = NULL;
		a->tls_key_pem = NULL;
		if ((rc = acme_ca_tls_setup(a)) != 0) {
			pem_free(a->tls_cert_pem);
			pem_free(a->tls_key_pem);
			a->tls_cert_pem = old_cert;
			a->tls_key_pem = old_key;
			a->tls_renew_at = (int64_t)time(NULL) + 60;
			mf_err("msg=\"listener certificate renewal failed; retrying in 60 s\" err=%s",
			    mf_errname(rc));
		} else if ((fd = MHD_quiesce_daemon(a->lsn->d)) == MHD_INVALID_SOCKET) {
			pem_free(a->tls_cert_pem);
			pem_free(a->tls_key_pem);
			a->tls_cert_pem = old_cert;
			a->tls_key_pem = old_key;
			a->tls_renew_at = (int64_t)time(NULL) + 60;
			mf_err("msg=\"cannot hand over the listening socket; retrying in 60 s\"");
		} else {
			if ((nd = mhd_start(a, (int)fd)) == NULL) {
				/* Keep serving with the old certificate rather than not at all. */
				pem_free(a->tls_cert_pem);
				pem_free(a->tls_key_pem);
				a->tls_cert_pem = old_cert;
				a->tls_key_pem = old_key;
				old_cert = old_key = NULL;
				nd = mhd_start(a, (int)fd);
				a->tls_renew_at = (int64_t)time(NULL) + 60;
				mf_err("msg=\"cannot start with the renewed certificate\"");
			}
			if (nd == NULL)
				mf_err("msg=\"cannot restart the ACME listener: it is closed\"");
			old = a->lsn;
			a->lsn = nd;
			mhd_stop(old);
			pem_free(old_cert);
			pem_free(old_key);
			mf_info("msg=\"listener certificate renewed\" next_renewal=%lld",
			    (long long)a->tls_renew_at);
		}
		pthread_mutex_lock(&a->vlock);
	}
	pthread_mutex_unlock(&a->vlock);
	return NULL;
}

/* Reads a one-line secret from a file (trailing newline dropped). */
static int
read_secret(const char *path, char **out)
{
	unsigned char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (path == NULL)
		return 0;
	if ((rc = mf_file_read(path, 4096, &buf, &len)) != 0) {
		mf_err("file=%s err=%s msg=\"cannot read secret\"", path, mf_errname(rc));
		return rc;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0) {
		free(buf);
		mf_err("file=%s msg=\"secret file is empty\"", path);
		return MF_ERR_CONFIG_VALUE;
	}
	*out = (char *)buf;
	return 0;
}

int
mf_acme_start(const struct mf_config *cfg, struct mf_keystore *ks, struct mf_acme **out)
{
	struct mf_acme_issuer iss;
	struct acme_local *l = NULL;
	int rc;

	*out = NULL;
	if ((rc = acme_local_new(cfg, ks, &l)) != 0) {
		mf_err("msg=\"cannot load the issuing CA\" err=%s", mf_errname(rc));
		return rc;
	}
	iss.issue = acme_local_issue;
	iss.arg = l;
	if ((rc = mf_acme_start_with(cfg, &iss, out)) != 0) {
		acme_local_free(l);
		return rc;
	}
	(*out)->local = l;
	return 0;
}

int
mf_acme_start_with(const struct mf_config *cfg, const struct mf_acme_issuer *iss,
    struct mf_acme **out)
{
	const struct mf_acme_conf *conf = &cfg->acme;
	struct mf_acme *a;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	unsigned flags;
	int rc, lfd = -1, one = 1;
	uint16_t bound = 0;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return MF_ERR_NOMEM;
	a->cfg = cfg;
	a->conf = conf;
	a->iss = *iss;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->vlock, NULL);
	pthread_cond_init(&a->vcond, NULL);
	pthread_mutex_init(&a->jlock, NULL);
	pthread_cond_init(&a->jcond, NULL);
	pthread_cond_init(&a->jdone, NULL);

	if ((rc = mf_jwk_cache_new(ACME_KEY_CACHE, &a->keys)) != 0)
		goto fail;
	if ((rc = read_secret(conf->est_password_file, &a->est_password)) != 0 ||
	    (rc = read_secret(conf->api_token_file, &a->api_token)) != 0)
		goto fail;
	memset(&ss, 0, sizeof(ss));
	if (conf->host == NULL) {
		rc = MF_ERR_CONFIG_MISSING;
		mf_err("msg=\"no acme: section in the config\"");
		goto fail;
	}
	if (inet_pton(AF_INET, conf->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)conf->port);
		flags = 0;
	} else if (inet_pton(AF_INET6, conf->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)conf->port);
		flags = MHD_USE_IPv6;
	} else {
		rc = MF_ERR_CONFIG_VALUE;
		mf_err("host=%s msg=\"listen address must be a literal IP address\"", conf->host);
		goto fail;
	}
	if ((rc = mf_db_open(cfg->database, 0, &a->db)) != 0) {
		mf_err("db=%s err=%s", mf_db_shown(cfg->database), mf_errname(rc));
		goto fail;
	}
	if ((a->sq = acme_sq_new(mf_db_handle(a->db))) == NULL) {
		rc = MF_ERR_NOMEM;
		goto fail;
	}
	/* Protocol state commits without its own fsync; see acme_sq_durable(). */
	if ((rc = acme_sq_durable(a->sq, 0)) != 0) {
		mf_err("db=%s err=%s msg=\"cannot set synchronous\"", mf_db_shown(cfg->database),
		    mf_errname(rc));
		goto fail;
	}
	/*
	 * A WAL checkpoint (copy back and fsync) is run by whichever connection
	 * commits once the WAL passes its limit. Here that would run under the
	 * listener's lock and stall every ACME request for the fsync; at 4000
	 * pages instead of SQLite's 1000 the issuer's connection, which commits
	 * after every batch of certificates, nearly always gets there first.
	 * The limit still bounds the WAL when nothing else writes.
	 */
	mf_sql_checkpoint_pages(mf_db_handle(a->db), 4000);
	/*
	 * On PostgreSQL other nodes may share the log and a load balancer may
	 * send a client to any of them: nonces are then the log's (acme_nonce.c).
	 */
	if ((rc = acme_nonces_new(mf_sql_backend(mf_db_handle(a->db)) == MF_SQL_PG ? a->sq : NULL,
	    &a->nonces)) != 0) {
		mf_err("err=%s msg=\"cannot set up Replay-Nonces\"", mf_errname(rc));
		goto fail;
	}
	/* Certificates only: the key stays with whoever is behind iss. */
	if ((rc = mf_issuer_new(cfg, NULL, NULL, &a->issuer)) != 0) {
		mf_err("msg=\"cannot read the issuing CA certificates\" err=%s", mf_errname(rc));
		goto fail;
	}
	/*
	 * Bind before the TLS certificate is issued (and logged): a start that
	 * fails on a taken port must leave nothing in the log, however often
	 * Restart=on-failure repeats it.
	 */
	{
		socklen_t sl = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in);
		struct sockaddr_storage got;
		socklen_t gl = sizeof(got);

		if ((lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    (ss.ss_family == AF_INET6 &&
		    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
		    bind(lfd, (struct sockaddr *)&ss, sl) != 0 || listen(lfd, 128) != 0 ||
		    getsockname(lfd, (struct sockaddr *)&got, &gl) != 0) {
			rc = MF_ERR_HTTP;
			mf_err("host=%s port=%u msg=\"cannot bind the ACME listener\"", conf->host,
			    conf->port);
			goto fail;
		}
		bound = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port :
		    ((struct sockaddr_in *)&got)->sin_port);
	}
	if ((rc = acme_ca_tls_setup(a)) != 0)
		goto fail;

	a->mhd_flags = flags;
	if ((rc = mf_hguard_new("acme", mhd_limit(conf), conf->request_timeout, &a->guard)) != 0)
		goto fail;
	if ((rc = req_threads_start(a)) != 0)
		goto fail;
	a->lsn = mhd_start(a, lfd);
	if (a->lsn != NULL)
		lfd = -1;		/* MHD's now */
	if (a->lsn == NULL) {
		rc = MF_ERR_HTTP;
		mf_err("host=%s port=%u msg=\"cannot start the ACME listener\"", conf->host,
		    conf->port);
		goto fail;
	}
	di = MHD_get_daemon_info(a->lsn->d, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di != NULL && di->port != 0 ? di->port : bound;
	if (conf->base_url != NULL) {
		a->base = strdup(conf->base_url);
	} else if (asprintf(&a->base, flags ? "https://[%s]:%u" : "https://%s:%u", conf->host,
	    a->port) < 0) {
		a->base = NULL;
	}
	if (a->base == NULL) {
		rc = MF_ERR_NOMEM;
		goto fail;
	}
	if (a->tls_renew_at != 0) {
		if (pthread_create(&a->renew_tid, NULL, tls_renewer, a) != 0) {
			rc = MF_ERR_INTERNAL;
			goto fail;
		}
		a->renew_started = 1;
	}
	mf_info("url=%s/directory msg=\"ACME listener started\"", a->base);
	*out = a;
	return 0;
fail:
	if (lfd >= 0)
		close(lfd);
	mf_acme_stop(a);
	return rc;
}

unsigned
mf_acme_port(const struct mf_acme *a)
{
	return a->port;
}

void
mf_acme_stop(struct mf_acme *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->vlock);
	/* Running checks see this within a second and give up (acme_chall.c). */
	__atomic_store_n(&a->stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&a->vcond);
	pthread_mutex_unlock(&a->vlock);
	if (a->renew_started)
		pthread_join(a->renew_tid, NULL);
	mhd_stop(a->lsn);
	mf_hguard_free(a->guard);	/* after the daemon: its connections report closing */
	req_threads_stop(a);
	/* Challenge checks end at their deadline or, cancelled above, within a second. */
	pthread_mutex_lock(&a->vlock);
	while (a->nvalidators > 0)
		pthread_cond_wait(&a->vcond, &a->vlock);
	pthread_mutex_unlock(&a->vlock);
	mf_issuer_free(a->issuer);
	acme_local_free(a->local);
	acme_sq_free(a->sq);	/* its statements go before their connection */
	mf_db_close(a->db);
	acme_nonces_free(a->nonces);
	mf_jwk_cache_free(a->keys);
	free(a->tls_cert_pem);
	pem_free(a->tls_key_pem);
	free(a->trust_pem);
	free(a->base);
	mf_secret_free(a->est_password);
	mf_secret_free(a->api_token);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->vlock);
	pthread_cond_destroy(&a->vcond);
	pthread_mutex_destroy(&a->jlock);
	pthread_cond_destroy(&a->jcond);
	pthread_cond_destroy(&a->jdone);
	free(a);
}
