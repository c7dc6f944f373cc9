/*
 * http.c: the libmicrohttpd side of mayflyd.
 *
 * One MHD daemon per listen socket, each with its own internal thread pool
 * on epoll. Per request, a struct mfd_req is allocated on the first call
 * into *req_cls and freed in the completed callback (which always runs).
 * Bodies (POST /ocsp, POST /admin/revoke) are collected in bounded chunks
 * and refused with 413 above max_body; nothing is answered before the
 * upload is complete except early refusals (404, 405, 413 on a declared
 * Content-Length). Responses for OCSP, CRLs and CA files come from
 * immutable reference-counted buffers handed to MHD without a copy.
 *
 * Bad input gets a 4xx or an OCSP error status (HTTP 200, RFC 6960 A.1),
 * never a 5xx; a 503 only means the service itself is impaired.
 */
#include "mf_build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include "store/sql.h"

#include "daemon.h"
#include "httpguard.h"
#include "trust.h"
#include "mferr.h"
#include "util.h"

#define MFD_MAX_DAEMONS	8

struct mfd_http {
	struct mfd_ctx *ctx;
	struct MHD_Daemon *d[MFD_MAX_DAEMONS];
	size_t nd;
	struct mf_hguard *guard;	/* request deadlines, eviction near the limit */
};

struct mfd_req {
	struct mfd_route r;
	unsigned char *body;
	size_t len, cap;
	size_t max;
	size_t seen;			/* body bytes received, kept or not */
	int too_big;
	int answered;
};

static void
mfd_free_blob_cb(void *cls)
{
	mfd_blob_unref(cls);
}

static enum MHD_Result
mfd_queue(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq, int code,
    struct MHD_Response *resp)
{
	enum MHD_Result r;

	if (resp == NULL) {
		/* Out of memory: nothing sensible to send; drop the connection. */
		return MHD_NO;
	}
	mfd_metrics_req(ctx, rq->r.ep, code);
	rq->answered = 1;
	r = MHD_queue_response(c, (unsigned)code, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
mfd_text(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq, int code,
    const char *text)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp != NULL) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		if (code == 405)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
			    rq->r.ep == MFD_EP_OCSP_POST || rq->r.ep == MFD_EP_OCSP_GET ?
			    "GET, HEAD, POST" : rq->r.ep == MFD_EP_ADMIN_REVOKE ? "POST" : "GET, HEAD");
		if (code == 401)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
		/* A 503 is the service's state, not the request's fault: come back. */
		if (code == 503)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	}
	return mfd_queue(ctx, c, rq, code, resp);
}

/*
 * A cached object with the caching headers of RFC 5019 6.2 / RFC 9111:
 * max-age never runs past nextUpdate.
 */
static enum MHD_Result
mfd_send_blob(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq,
    struct mfd_blob *b, int64_t default_age)
{
	struct MHD_Response *resp;
	const char *inm;
	char cc[96];
	int64_t now = (int64_t)time(NULL), age = default_age;

	if (b->next_update != 0) {
		age = b->next_update - now;
		if (age < 0)
			age = 0;
	}
	snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, must-revalidate",
	    (long long)age);
	inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm != NULL && strcmp(inm, b->etag) == 0 && rq->r.ep != MFD_EP_OCSP_POST) {
		mfd_blob_unref(b);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (resp != NULL) {
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, inm);
		}
		return mfd_queue(ctx, c, rq, 304, resp);
	}
	resp = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data,
	    mfd_free_blob_cb, b);
	if (resp == NULL) {
		mfd_blob_unref(b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, b->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, b->last_modified);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, b->etag);
	if (b->expires[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_EXPIRES, b->expires);
	return mfd_queue(ctx, c, rq, 200, resp);
}

/* An unsigned OCSP error status (static bytes, never cached by proxies). */
static enum MHD_Result
mfd_ocsp_error(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq,
    const unsigned char *der, enum mfd_ocsp_kind kind)
{
	struct MHD_Response *resp;

	atomic_fetch_add_explicit(&ctx->m.ocsp[kind], 1, memory_order_relaxed);
	resp = MHD_create_response_from_buffer(5, (void *)der, MHD_RESPMEM_PERSISTENT);
	if (resp != NULL) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/ocsp-response");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	return mfd_queue(ctx, c, rq, 200, resp);
}

static enum MHD_Result
mfd_ocsp(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq,
    const unsigned char *der, size_t len)
{
	struct mfd_certid id;
	struct mfd_cache_key k;
	struct mfd_blob *b;
	int rc, idx;

	if ((rc = mfd_ocsp_req_parse(der, len, &id)) != 0)
		return mfd_ocsp_error(ctx, c, rq, rc == MF_ERR_OCSP_UNAUTHORIZED ?
		    mfd_ocsp_unauthorized : mfd_ocsp_malformed, rc == MF_ERR_OCSP_UNAUTHORIZED ?
		    MFD_OK_UNAUTHORIZED : MFD_OK_MALFORMED);
	pthread_rwlock_rdlock(&ctx->lock);
	idx = mfd_issuer_find(ctx->pub->ids, ctx->pub->niss, &id);
	pthread_rwlock_unlock(&ctx->lock);
	if (idx < 0)
		return mfd_ocsp_error(ctx, c, rq, mfd_ocsp_unauthorized, MFD_OK_UNAUTHORIZED);
	mfd_cache_key_set(&k, (unsigned)idx, id.alg, id.serial, id.serial_len);
	b = mfd_cache_get(ctx->cache, &k);
	if (b != NULL && b->next_update <= (int64_t)time(NULL)) {
		mfd_blob_unref(b);	/* never serve a stale response */
		b = NULL;
	}
	if (b != NULL) {
		atomic_fetch_add_explicit(&ctx->m.cache_hits, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&ctx->m.cache_misses, 1, memory_order_relaxed);
		rc = mfd_ocsp_refresh(ctx, &k, &b);
		if (rc == MF_ERR_OCSP_UNAUTHORIZED) {
			/*
			 * Not a certificate of this issuer in the log: the unsigned
			 * unauthorized, the same five bytes for every such serial, so
			 * that random serials cost no signature (RFC 5019 2.2.3).
			 */
			return mfd_ocsp_error(ctx, c, rq, mfd_ocsp_unauthorized, MFD_OK_UNAUTHORIZED);
		}
		if (rc != 0) {
			/* Signing failed (keys gone, signer down): fail closed. */
			mf_warn("event=ocsp-sign-failed err=%s", mf_errname(rc));
			return mfd_ocsp_error(ctx, c, rq, mfd_ocsp_trylater, MFD_OK_TRYLATER);
		}
	}
	switch (b->cert_status) {
	case V_OCSP_CERTSTATUS_GOOD:
		atomic_fetch_add_explicit(&ctx->m.ocsp[MFD_OK_GOOD], 1, memory_order_relaxed);
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		atomic_fetch_add_explicit(&ctx->m.ocsp[MFD_OK_REVOKED], 1, memory_order_relaxed);
		break;
	default:
		atomic_fetch_add_explicit(&ctx->m.ocsp[MFD_OK_UNKNOWN], 1, memory_order_relaxed);
		break;
	}
	return mfd_send_blob(ctx, c, rq, b, 0);
}

static enum MHD_Result
mfd_ocsp_get(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	unsigned char der[MFD_OCSP_REQ_MAX];
	size_t len;

	if (mfd_b64_decode(rq->r.arg, rq->r.arglen, der, sizeof(der), &len) != 0 || len == 0)
		return mfd_ocsp_error(ctx, c, rq, mfd_ocsp_malformed, MFD_OK_MALFORMED);
	return mfd_ocsp(ctx, c, rq, der, len);
}

static enum MHD_Result
mfd_crl(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	struct mfd_blob *b = NULL;
	size_t i, j;
	int root = 0;

	pthread_rwlock_rdlock(&ctx->lock);
	for (i = 0; i < ctx->pub->niss && i < ctx->ncrl; i++) {
		if (strlen(ctx->pub->iss[i].name) == rq->r.arglen &&
		    memcmp(ctx->pub->iss[i].name, rq->r.arg, rq->r.arglen) == 0) {
			if ((b = ctx->crl[i]) != NULL)
				mfd_blob_ref(b);
			break;
		}
	}
	if (i == ctx->pub->niss || i == ctx->ncrl) {
		/* Not an issuer of ours: perhaps a root, whose CRL is a file. */
		for (j = 0; j < ctx->pub->cfg->nroots; j++) {
			const char *rn = ctx->pub->cfg->roots[j].name;

			if (strlen(rn) == rq->r.arglen && memcmp(rn, rq->r.arg, rq->r.arglen) == 0) {
				if ((b = ctx->pub->rootcrl[j]) != NULL)
					mfd_blob_ref(b);
				root = 1;
				break;
			}
		}
	}
	pthread_rwlock_unlock(&ctx->lock);
	if (b == NULL && root)
		return mfd_text(ctx, c, rq, 404, "no CRL published for this root "
		    "(make one with `mayfly crl root`)\n");
	if (b == NULL)
		return mfd_text(ctx, c, rq, i < ctx->ncrl ? 503 : 404,
		    i < ctx->ncrl ? "CRL not built yet\n" : "no such CRL\n");
	return mfd_send_blob(ctx, c, rq, b, 0);
}

static enum MHD_Result
mfd_ca(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	struct mfd_blob *b = NULL;
	size_t i;

	pthread_rwlock_rdlock(&ctx->lock);
	for (i = 0; i < ctx->pub->nca; i++) {
		const struct mfd_cafile *f = &ctx->pub->ca[i];

		if (strlen(f->name) == rq->r.arglen && memcmp(f->name, rq->r.arg, rq->r.arglen) == 0) {
			b = rq->r.fmt == MFD_CA_PEM ? f->pem : rq->r.fmt == MFD_CA_DER ? f->der :
			    f->p7c;
			if (b != NULL)
				mfd_blob_ref(b);
			break;
		}
	}
	pthread_rwlock_unlock(&ctx->lock);
	if (b == NULL)
		return mfd_text(ctx, c, rq, 404, "no such certificate\n");
	return mfd_send_blob(ctx, c, rq, b, 3600);
}

static enum MHD_Result
mfd_trust_h(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	struct mfd_blob *b = NULL;
	int64_t age = 0;
	int rc;

	if ((rc = mfd_trust_get(ctx, rq->r.trust, rq->r.num, &b, &age)) == MF_ERR_NOTFOUND)
		return mfd_text(ctx, c, rq, 404, "no such trust bundle published\n");
	if (rc != 0) {
		mf_err("event=trust-failed err=%s", mf_errname(rc));
		return mfd_text(ctx, c, rq, 503, "database unavailable\n");
	}
	return mfd_send_blob(ctx, c, rq, b, age);
}

int
mfd_health(struct mfd_ctx *ctx, char *why, size_t wl)
{
	int64_t now = (int64_t)time(NULL);
	int rc;

	pthread_mutex_lock(&ctx->health_lock);
	if (ctx->health_at != now) {
		char w[256];

		rc = mfd_signer_ping(ctx->signer, w, sizeof(w));
		ctx->health_rc = rc;
		atomic_store(&ctx->health_last, rc);
		snprintf(ctx->health_why, sizeof(ctx->health_why), "%s",
		    rc == 0 ? "ok" : (w[0] != '\0' ? w : mf_strerror(rc)));
		ctx->health_at = now;
	}
	rc = ctx->health_rc;
	snprintf(why, wl, "%s", ctx->health_why);
	pthread_mutex_unlock(&ctx->health_lock);
	return rc;
}

static enum MHD_Result
mfd_health_h(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	char why[300], line[320];
	int rc;

	/*
	 * Until the refresher's first round has built the CRLs and pre-signed
	 * the log's OCSP responses, a request for them would get a 503 or cost
	 * a signature: a load balancer that asks /health sends nothing yet.
	 * On PostgreSQL that round is long enough for clients to notice.
	 */
	if (!atomic_load(&ctx->presigned))
		return mfd_text(ctx, c, rq, 503, "starting: CRLs and OCSP responses not signed yet\n");
	rc = mfd_health(ctx, why, sizeof(why));
	snprintf(line, sizeof(line), "%s\n", why);
	return mfd_text(ctx, c, rq, rc == 0 ? 200 : 503, line);
}

static enum MHD_Result
mfd_metrics_h(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	struct MHD_Response *resp;
	size_t len;
	char *t;

	if ((t = mfd_metrics_text(ctx, &len)) == NULL)
		return mfd_text(ctx, c, rq, 503, "out of memory\n");
	resp = MHD_create_response_from_buffer(len, t, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(t);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	return mfd_queue(ctx, c, rq, 200, resp);
}

static enum MHD_Result
mfd_admin_revoke(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	unsigned char want[32], got[32];
	const char *hdr, *tok;
	char serial[41], msg[128];
	size_t tlen;
	int have, reason, rc;
	int64_t t0 = mf_mono_us();	/* the request is complete: the latency metric starts */

	pthread_rwlock_rdlock(&ctx->lock);
	have = ctx->pub->have_token;
	memcpy(want, ctx->pub->token_sha256, sizeof(want));
	pthread_rwlock_unlock(&ctx->lock);
	if (!have)
		return mfd_text(ctx, c, rq, 404, "admin API disabled\n");
	hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if ((tok = mfd_bearer(hdr, &tlen)) == NULL ||
	    !EVP_Digest(tok, tlen, got, NULL, EVP_sha256(), NULL) ||
	    CRYPTO_memcmp(got, want, sizeof(got)) != 0) {
		mf_warn("event=admin-auth-failed");
		return mfd_text(ctx, c, rq, 401, "bad or missing bearer token\n");
	}
	if (mfd_revoke_body_parse((const char *)rq->body, rq->len, serial, sizeof(serial),
	    &reason) != 0)
		return mfd_text(ctx, c, rq, 400, "body must be serial=HEX[&reason=N]\n");
	pthread_mutex_lock(&ctx->db_lock);
	rc = mf_db_cert_revoke(ctx->db, serial, reason, (int64_t)time(NULL), "admin-api");
	if (rc == 0)
		mfd_revnote_add(ctx, serial, t0);
	if (rc != 0 && rc != MF_ERR_NOTFOUND && rc != MF_ERR_REVOKED) {
		/* Out of space or write access is the server's state: say which. */
		struct mf_sql *h = mf_db_handle(ctx->db);
		int en = mf_sql_system_errno(h), e = mf_sql_errcode(h) & 0xff;

		if (e == MF_SQL_FULL || (rc == MF_ERR_IO && (en == ENOSPC || en == EDQUOT)))
			rc = MF_ERR_DB_FULL;
		else if (e == MF_SQL_READONLY || (rc == MF_ERR_IO && en == EROFS) ||
		    mf_sql_readonly(h) == 1)
			rc = MF_ERR_DB_READONLY;
	}
	pthread_mutex_unlock(&ctx->db_lock);
	if (rc == MF_ERR_NOTFOUND)
		return mfd_text(ctx, c, rq, 404, "no such certificate\n");
	if (rc == MF_ERR_REVOKED)
		return mfd_text(ctx, c, rq, 409, "already revoked\n");
	if (rc != 0) {
		mf_err("event=admin-revoke-failed serial=%s err=%s", serial, mf_errname(rc));
		snprintf(msg, sizeof(msg), "cannot record the revocation: %s\n",
		    rc == MF_ERR_DB_FULL || rc == MF_ERR_DB_READONLY ||
		    rc == MF_ERR_DB_UNAVAILABLE ? mf_strerror(rc) :
		    "database unavailable");
		return mfd_text(ctx, c, rq, 503, msg);
	}
	mf_info("event=revoked actor=admin-api serial=%s reason=%d", serial, reason);
	mfd_kick(ctx);
	snprintf(msg, sizeof(msg), "revoked serial=%s reason=%d\n", serial, reason);
	return mfd_text(ctx, c, rq, 200, msg);
}

static enum MHD_Result
mfd_dispatch(struct mfd_ctx *ctx, struct MHD_Connection *c, struct mfd_req *rq)
{
	switch (rq->r.ep) {
	case MFD_EP_OCSP_POST: {
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE);

		if (ct == NULL || strncasecmp(ct, "application/ocsp-request", 24) != 0)
			return mfd_text(ctx, c, rq, 415, "Content-Type must be application/ocsp-request\n");
		return mfd_ocsp(ctx, c, rq, rq->body, rq->len);
	}
	case MFD_EP_OCSP_GET:
		return mfd_ocsp_get(ctx, c, rq);
	case MFD_EP_CRL:
		return mfd_crl(ctx, c, rq);
	case MFD_EP_CA:
		return mfd_ca(ctx, c, rq);
	case MFD_EP_HEALTH:
		return mfd_health_h(ctx, c, rq);
	case MFD_EP_METRICS:
		return mfd_metrics_h(ctx, c, rq);
	case MFD_EP_ADMIN_REVOKE:
		return mfd_admin_revoke(ctx, c, rq);
	case MFD_EP_TRUST:
		return mfd_trust_h(ctx, c, rq);
	default:
		return mfd_text(ctx, c, rq, 404, "not found\n");
	}
}

static enum MHD_Result
mfd_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct mfd_ctx *ctx = cls;
	struct mfd_req *rq = *req_cls;

	if (rq == NULL) {
		const char *cl;

		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*req_cls = rq;
		/* Its headers are in: no longer a connection to evict. */
		mf_hguard_mark(c, MF_HG_REQUEST);
		mfd_route_match(method, url, &rq->r);
		/*
		 * Answer on the next call, as for a body: queuing a response in
		 * the first call makes libmicrohttpd 0.9.75 finish the request a
		 * poll round later (GETs ran at a fifth of POST throughput).
		 * Refusals of requests that may carry a body go out at once, so
		 * that body is never read.
		 */
		if (rq->r.status != 0 && !rq->r.head && strcmp(method, "GET") != 0)
			return mfd_text(ctx, c, rq, rq->r.status, rq->r.status == 404 ?
			    "not found\n" : "method not allowed\n");
		if (rq->r.status != 0 ||
		    (rq->r.ep != MFD_EP_OCSP_POST && rq->r.ep != MFD_EP_ADMIN_REVOKE))
			return MHD_YES;
		pthread_rwlock_rdlock(&ctx->lock);
		rq->max = ctx->pub->cfg->max_body;
		pthread_rwlock_unlock(&ctx->lock);
		if (rq->r.ep == MFD_EP_ADMIN_REVOKE && rq->max > 4096)
			rq->max = 4096;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > rq->max)
			return mfd_text(ctx, c, rq, 413, "request body too large\n");
		return MHD_YES;
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;

		rq->seen += n;
		if (rq->seen > MF_HG_BODY_DRAIN(rq->max)) {
			mf_info("event=body-dropped max=%zu msg=\"request body far above the "
			    "limit: connection dropped\"", rq->max);
			return MHD_NO;
		}

		if (!rq->too_big && rq->len + n > rq->max) {
			rq->too_big = 1;	/* keep reading, then say 413 */
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		if (!rq->too_big) {
			if (rq->len + n > rq->cap) {
				size_t nc = rq->cap ? rq->cap : 1024;
				unsigned char *nb;

				while (nc < rq->len + n)
					nc *= 2;
				if (nc > rq->max)
					nc = rq->max;
				if ((nb = realloc(rq->body, nc)) == NULL)
					return MHD_NO;
				rq->body = nb;
				rq->cap = nc;
			}
			memcpy(rq->body + rq->len, upload, n);
			rq->len += n;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	if (rq->r.status != 0)
		return mfd_text(ctx, c, rq, rq->r.status, rq->r.status == 404 ?
		    "not found\n" : "method not allowed\n");
	if (rq->too_big)
		return mfd_text(ctx, c, rq, 413, "request body too large\n");
	return mfd_dispatch(ctx, c, rq);
}

static void
mfd_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct mfd_req *rq = *req_cls;

	/* Between requests: request-timeout again for the next, and it may be evicted. */
	mf_hguard_mark(c, MF_HG_IDLE);
	if (rq == NULL)
		return;
	free(rq->body);
	free(rq);
	*req_cls = NULL;
}

static void
mfd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	mf_debug("event=mhd msg=\"%s\"", msg);
}

int
mfd_http_start(struct mfd_ctx *ctx, const int *fds, size_t nfds, struct mfd_http **out)
{
	struct mfd_http *h;
	unsigned threads, maxconn, perip, timeout;
	int64_t reqtimeout;
	size_t i;
	int rc;

	*out = NULL;
	if (nfds == 0 || nfds > MFD_MAX_DAEMONS)
		return MF_ERR_INVAL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return MF_ERR_NOMEM;
	h->ctx = ctx;
	pthread_rwlock_rdlock(&ctx->lock);
	threads = ctx->pub->cfg->threads;
	maxconn = ctx->pub->cfg->max_connections;
	perip = ctx->pub->cfg->per_ip_connections;
	timeout = (unsigned)ctx->pub->cfg->connection_timeout;
	reqtimeout = ctx->pub->cfg->request_timeout;
	pthread_rwlock_unlock(&ctx->lock);
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	threads = (threads + (unsigned)nfds - 1) / (unsigned)nfds;
	if (maxconn == 0)
		maxconn = 1024;
	/* One guard for all the sockets: MHD's limit is per daemon, hence nfds times. */
	if ((rc = mf_hguard_new("ocsp", maxconn * (unsigned)nfds, reqtimeout, &h->guard)) != 0) {
		free(h);
		return rc;
	}
	for (i = 0; i < nfds; i++) {
		h->d[i] = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		    MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		    mfd_handler, ctx,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fds[i],
		    MHD_OPTION_THREAD_POOL_SIZE, threads,
		    MHD_OPTION_CONNECTION_LIMIT, maxconn,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, perip,
		    MHD_OPTION_CONNECTION_TIMEOUT, timeout,
		    /*
		     * Each connection's pool is zeroed for every request; the
		     * default 32 KiB made that memset the largest cost of a GET.
		     * 8 KiB holds any request line and headers we accept (a longer
		     * one gets 414 from libmicrohttpd).
		     */
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)8192,
		    MHD_OPTION_NOTIFY_COMPLETED, mfd_completed, ctx,
		    MHD_OPTION_NOTIFY_CONNECTION, mf_hguard_notify, h->guard,
		    MHD_OPTION_EXTERNAL_LOGGER, mfd_mhd_log, ctx,
		    MHD_OPTION_END);
		if (h->d[i] == NULL) {
			mfd_http_stop(h, 0);
			return MF_ERR_HTTP;
		}
		h->nd++;
	}
	*out = h;
	return 0;
}

void
mfd_http_stop(struct mfd_http *h, int drain_ms)
{
	size_t i;
	int waited = 0;

	if (h == NULL)
		return;
	for (i = 0; i < h->nd; i++)
		MHD_quiesce_daemon(h->d[i]);
	/* Drain: let open requests finish, within a bound. */
	while (waited < drain_ms) {
		unsigned open = 0;

		for (i = 0; i < h->nd; i++) {
			const union MHD_DaemonInfo *inf = MHD_get_daemon_info(h->d[i],
			    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

			if (inf != NULL)
				open += inf->num_connections;
		}
		if (open == 0)
			break;
		usleep(50000);
		waited += 50;
	}
	for (i = 0; i < h->nd; i++)
		MHD_stop_daemon(h->d[i]);
	mf_hguard_free(h->guard);	/* after the daemons: their connections report closing */
	free(h);
}
