/*
 * acme_bench.c: the full ACME issuance flow as a web server's client runs
 * it, from N threads at once, for tests/bench/acme-bench.sh.
 *
 * Each thread has its own account key and one kept-alive HTTPS connection
 * (as certbot and uacme keep theirs) and, per issuance: newOrder for a
 * fresh name, POST-as-GET of the authorization, the http-01 key
 * authorization published on this program's own responder, the challenge
 * POST, polls of the authorization until valid, finalize with a fresh
 * P-256 key and CSR, polls of the order until valid, and the certificate
 * download. Nonces come from each response's Replay-Nonce, as RFC 8555
 * 7.2 lets a client do.
 *
 * Polling: the first poll goes out at once and later ones after 5, 10, 20
 * ... ms (at most 100 ms), or after the server's Retry-After with
 * --honour-retry-after. The issue's reference figures came from a client
 * that did not wait a full second either.
 *
 *   mayfly-acme-bench BASEURL CAFILE HTTP01PORT THREADS SECONDS [--honour-retry-after]
 *
 * Prints one line: n=, rate=/s, p50=, p99= (ms per issuance), failed=.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <jose/jose.h>
#include <microhttpd.h>
#include <openssl/evp.h>

#include "h01.h"
#include "tc.h"

#define LAT_MAX		200000

/* ---- HTTP over one kept-alive connection per thread ------------------------- */

struct resp {
	long status;
	char *body;
	size_t len;
	char nonce[128];
	char location[512];
	long retry_after;
};

static size_t
on_body(char *p, size_t s, size_t n, void *arg)
{
	struct resp *r = arg;
	char *nb = realloc(r->body, r->len + s * n + 1);

	if (nb == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, s * n);
	r->len += s * n;
	r->body[r->len] = '\0';
	return s * n;
}

/* Copies the value of header name (case-insensitive) from line, trimmed. */
static int
header(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), i;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	line += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = line[i];
	out[i] = '\0';
	return 1;
}

static size_t
on_header(char *p, size_t s, size_t n, void *arg)
{
	struct resp *r = arg;
	char ra[32];

	header(p, s * n, "Replay-Nonce", r->nonce, sizeof(r->nonce));
	header(p, s * n, "Location", r->location, sizeof(r->location));
	if (header(p, s * n, "Retry-After", ra, sizeof(ra)))
		r->retry_after = strtol(ra, NULL, 10);
	return s * n;
}

struct worker {
	pthread_t t;
	CURL *cu;
	struct curl_slist *hdr;
	struct tc_key *key;
	char thp[64];
	char kid[512];
	char nonce[128];
	unsigned id;
	/* results */
	double *lat;
	size_t nlat, maxlat;
	unsigned long failed;
	char lasterr[256];
};

static const char *base, *cafile;
static double deadline;
static int honour_retry;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A signed POST (payload NULL: POST-as-GET) to url; r gets the answer. */
static int
post(struct worker *w, const char *url, const char *payload, struct resp *r)
{
	char *body;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if ((body = tc_sign(w->key, url, w->nonce, w->kid[0] ? w->kid : NULL, payload)) == NULL)
		return -1;
	curl_easy_setopt(w->cu, CURLOPT_URL, url);
	curl_easy_setopt(w->cu, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->cu, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(w->cu, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(w->cu, CURLOPT_HEADERDATA, r);
	cc = curl_easy_perform(w->cu);
	free(body);
	curl_easy_getinfo(w->cu, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->nonce[0] != '\0')
		snprintf(w->nonce, sizeof(w->nonce), "%s", r->nonce);
	return cc == CURLE_OK ? 0 : -1;
}

static void
resp_clear(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

static json_t *
resp_json(const struct resp *r)
{
	json_error_t e;

	return r->body != NULL ? json_loads(r->body, 0, &e) : NULL;
}

/* Posts, retrying once on badNonce (RFC 8555 6.5: the answer carries a fresh one). */
static int
post_retry(struct worker *w, const char *url, const char *payload, struct resp *r)
{
	if (post(w, url, payload, r) != 0)
		return -1;
	if (r->status == 400 && r->body != NULL && strstr(r->body, "badNonce") != NULL) {
		resp_clear(r);
		return post(w, url, payload, r);
	}
	return 0;
}

static void
poll_wait(int i, long retry_after)
{
	long ms = i == 0 ? 0 : 5L << (i - 1 < 5 ? i - 1 : 5);

	if (ms > 100)
		ms = 100;
	if (honour_retry && retry_after > 0)
		ms = retry_after * 1000;
	if (ms > 0)
		usleep((useconds_t)ms * 1000);
}

/* POST-as-GET url until its "status" leaves the given states; 0 when it reads want. */
static int
poll_status(struct worker *w, const char *url, const char *want, json_t **out)
{
	struct resp r;
	long ra = 0;
	int i;

	for (i = 0; i < 400 && now() < deadline + 30; i++) {
		json_t *o;
		const char *st;

		poll_wait(i, ra);
		if (post_retry(w, url, NULL, &r) != 0 || r.status != 200) {
			snprintf(w->lasterr, sizeof(w->lasterr), "poll %s: %ld %.150s", url, r.status,
			    r.body ? r.body : "");
			resp_clear(&r);
			return -1;
		}
		ra = r.retry_after;
		o = resp_json(&r);
		resp_clear(&r);
		st = json_string_value(json_object_get(o, "status"));
		if (st != NULL && strcmp(st, want) == 0) {
			if (out != NULL)
				*out = o;
			else
				json_decref(o);
			return 0;
		}
		if (st == NULL || (strcmp(st, "pending") != 0 && strcmp(st, "processing") != 0 &&
		    strcmp(st, "ready") != 0)) {
			snprintf(w->lasterr, sizeof(w->lasterr), "%s is %s", url, st ? st : "?");
			json_decref(o);
			return -1;
		}
		json_decref(o);
	}
	snprintf(w->lasterr, sizeof(w->lasterr), "%s never became %s", url, want);
	return -1;
}

static int
issue_one(struct worker *w, unsigned long seq)
{
	char url[600], payload[600], name[128], *csr = NULL;
	json_t *order = NULL, *az = NULL, *done = NULL;
	const char *au, *cu = NULL, *tok = NULL, *fin, *cert;
	EVP_PKEY *pk = NULL;
	struct resp r = { 0 };
	size_t j;
	int rc = -1;

	snprintf(name, sizeof(name), "w%u-%lu.bench.test", w->id, seq);
	snprintf(url, sizeof(url), "%s/new-order", base);
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}",
	    name);
	if (post_retry(w, url, payload, &r) != 0 || r.status != 201)
		goto fail;
	order = resp_json(&r);
	snprintf(url, sizeof(url), "%s", r.location);	/* the order */
	resp_clear(&r);
	au = json_string_value(json_array_get(json_object_get(order, "authorizations"), 0));
	if (au == NULL || post_retry(w, au, NULL, &r) != 0 || r.status != 200)
		goto fail;
	az = resp_json(&r);
	resp_clear(&r);
	for (j = 0; j < json_array_size(json_object_get(az, "challenges")); j++) {
		json_t *ch = json_array_get(json_object_get(az, "challenges"), j);

		if (strcmp(json_string_value(json_object_get(ch, "type")), "http-01") == 0) {
			cu = json_string_value(json_object_get(ch, "url"));
			tok = json_string_value(json_object_get(ch, "token"));
		}
	}
	if (cu == NULL || tok == NULL)
		goto fail;
	snprintf(payload, sizeof(payload), "%s.%s", tok, w->thp);
	h01_put(tok, payload);
	if (post_retry(w, cu, "{}", &r) != 0 || r.status != 200)
		goto fail;
	resp_clear(&r);
	if (poll_status(w, au, "valid", NULL) != 0)
		goto out;
	if (poll_status(w, url, "ready", &done) != 0)
		goto out;
	fin = json_string_value(json_object_get(done, "finalize"));
	if (fin == NULL || (csr = tc_csr_b64u(name, &pk)) == NULL)
		goto fail;
	snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	if (post_retry(w, fin, payload, &r) != 0 || r.status != 200)
		goto fail;
	resp_clear(&r);
	json_decref(done);
	done = NULL;
	if (poll_status(w, url, "valid", &done) != 0)
		goto out;
	cert = json_string_value(json_object_get(done, "certificate"));
	if (cert == NULL || post_retry(w, cert, NULL, &r) != 0 || r.status != 200 ||
	    r.body == NULL || strstr(r.body, "BEGIN CERTIFICATE") == NULL)
		goto fail;
	rc = 0;
	goto out;
fail:
	snprintf(w->lasterr, sizeof(w->lasterr), "step answered %ld: %.200s", r.status,
	    r.body ? r.body : "(no body)");
out:
	resp_clear(&r);
	json_decref(order);
	json_decref(az);
	json_decref(done);
	free(csr);
	EVP_PKEY_free(pk);
	return rc;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	struct resp r = { 0 };
	char url[600];
	unsigned long seq = 0;
	double t0;

	snprintf(url, sizeof(url), "%s/new-nonce", base);
	curl_easy_setopt(w->cu, CURLOPT_URL, url);
	curl_easy_setopt(w->cu, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(w->cu, CURLOPT_HEADERDATA, &r);
	if (curl_easy_perform(w->cu) != CURLE_OK || r.nonce[0] == '\0') {
		snprintf(w->lasterr, sizeof(w->lasterr), "no nonce from %.200s", url);
		w->failed++;
		return NULL;
	}
	snprintf(w->nonce, sizeof(w->nonce), "%s", r.nonce);
	curl_easy_setopt(w->cu, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(w->cu, CURLOPT_POST, 1L);
	snprintf(url, sizeof(url), "%s/new-account", base);
	if (post_retry(w, url, "{\"termsOfServiceAgreed\":true}", &r) != 0 ||
	    (r.status != 201 && r.status != 200) || r.location[0] == '\0') {
		snprintf(w->lasterr, sizeof(w->lasterr), "newAccount: %ld %.200s", r.status,
		    r.body ? r.body : "");
		resp_clear(&r);
		w->failed++;
		return NULL;
	}
	snprintf(w->kid, sizeof(w->kid), "%s", r.location);
	resp_clear(&r);
	while ((t0 = now()) < deadline) {
		if (issue_one(w, seq++) != 0) {
			w->failed++;
			if (w->failed > 20)
				break;	/* something is wrong; stop rather than spin */
			continue;
		}
		if (w->nlat < w->maxlat)
			w->lat[w->nlat++] = (now() - t0) * 1000.0;
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	struct worker *w;
	double *all, t0, el;
	size_t n = 0, i, nthreads;
	unsigned long failed = 0;
	int secs, port;

	if (argc < 6 || argc > 7 || (argc == 7 && strcmp(argv[6], "--honour-retry-after") != 0)) {
		fprintf(stderr, "usage: mayfly-acme-bench BASEURL CAFILE HTTP01PORT THREADS SECONDS "
		    "[--honour-retry-after]\n");
		return 2;
	}
	base = argv[1];
	cafile = argv[2];
	port = atoi(argv[3]);
	nthreads = (size_t)atoi(argv[4]);
	secs = atoi(argv[5]);
	honour_retry = argc == 7;
	if (port <= 0 || port > 65535 || nthreads < 1 || nthreads > 256 || secs < 1 || secs > 3600) {
		fprintf(stderr, "acme-bench: bad port, threads (1..256) or seconds (1..3600)\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* The client's own signatures by OpenSSL with a kept key: less of the shared CPU. */
	tc_sign_with_openssl = 1;
	if ((d = h01_start(port)) == NULL) {
		fprintf(stderr, "acme-bench: cannot serve http-01 on 127.0.0.1:%d\n", port);
		return 1;
	}
	if ((w = calloc(nthreads, sizeof(*w))) == NULL)
		return 1;
	for (i = 0; i < nthreads; i++) {
		json_t *thp;

		w[i].id = (unsigned)i;
		w[i].maxlat = LAT_MAX / nthreads;
		w[i].lat = calloc(w[i].maxlat, sizeof(double));
		w[i].key = tc_key_new("ES256");
		w[i].cu = curl_easy_init();
		if (w[i].lat == NULL || w[i].key == NULL || w[i].cu == NULL ||
		    (thp = jose_jwk_thp(NULL, w[i].key->pub, "S256")) == NULL) {
			fprintf(stderr, "acme-bench: out of memory or keys\n");
			return 1;
		}
		snprintf(w[i].thp, sizeof(w[i].thp), "%s", json_string_value(thp));
		json_decref(thp);
		w[i].hdr = curl_slist_append(NULL, "Content-Type: application/jose+json");
		curl_easy_setopt(w[i].cu, CURLOPT_CAINFO, cafile);
		curl_easy_setopt(w[i].cu, CURLOPT_HTTPHEADER, w[i].hdr);
		curl_easy_setopt(w[i].cu, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(w[i].cu, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(w[i].cu, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(w[i].cu, CURLOPT_TIMEOUT, 30L);
	}
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < nthreads; i++)
		pthread_create(&w[i].t, NULL, run, &w[i]);
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].t, NULL);
	el = now() - t0;
	MHD_stop_daemon(d);
	for (i = 0; i < nthreads; i++)
		n += w[i].nlat;
	if ((all = calloc(n + 1, sizeof(double))) == NULL)
		return 1;
	for (n = 0, i = 0; i < nthreads; i++) {
		memcpy(all + n, w[i].lat, w[i].nlat * sizeof(double));
		n += w[i].nlat;
		failed += w[i].failed;
		if (w[i].failed > 0 && w[i].lasterr[0] != '\0')
			fprintf(stderr, "acme-bench: thread %zu: %s\n", i, w[i].lasterr);
	}
	qsort(all, n, sizeof(double), cmp_double);
	printf("threads=%zu n=%zu rate=%.1f p50=%.1f p99=%.1f failed=%lu\n", nthreads, n,
	    (double)n / el, n ? all[n / 2] : 0.0, n ? all[(n * 99) / 100] : 0.0, failed);
	for (i = 0; i < nthreads; i++) {
		curl_slist_free_all(w[i].hdr);
		curl_easy_cleanup(w[i].cu);
		tc_key_free(w[i].key);
		free(w[i].lat);
	}
	free(w);
	free(all);
	curl_global_cleanup();
	return failed > 0 && n == 0 ? 1 : 0;
}
