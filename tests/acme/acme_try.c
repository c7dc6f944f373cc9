/*
 * acme_try.c: one ACME order per input line, finalized with a CSR file as
 * it stands, for tests that must see what a real ACME client would see
 * when it sends a hostile request (tests/mayflyd/abuse.sh).
 *
 *   mayfly-acme-try BASEURL CAFILE HTTP01PORT < rows
 *
 * Each row is "ID NAMES CSRFILE SPAN": NAMES the order's identifiers,
 * comma-separated (an IP literal becomes an "ip" identifier, unless
 * written "dns:NAME"; "ip:ADDR" says it too); CSRFILE the
 * DER CSR sent to finalize, byte for byte (a broken signature stays
 * broken); SPAN 0, or N seconds for a newOrder with notBefore = now and
 * notAfter = now + N. One account (a fresh P-256 key) serves every row;
 * http-01 is answered by this program's own responder on HTTP01PORT, the
 * port mayflyd's acme.test-http01-port names.
 *
 * For each row it prints one line:
 *   ID|issued
 *   ID|refused|STEP|TYPE|DETAIL
 * STEP is the request that was refused (newOrder, authz, finalize, order:
 * an order that went invalid after finalize), TYPE the problem type
 * without its urn prefix, DETAIL the problem's detail. Exit status 0 once
 * every row has its line, 1 if the ACME exchange itself broke (no
 * account, no answer, a challenge that never validates).
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

/* ---- ACME ----------------------------------------------------------------------- */

static struct tc_acme s;
static char thp[100];

/* Base64url without padding; caller frees. */
static char *
b64u_file(const char *path)
{
	unsigned char buf[65536];
	char *out, *p;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == 0 || n == sizeof(buf) || (out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, buf, (int)n);
	for (p = out; *p != '\0'; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=')
			*p = '\0';
	return out;
}

/* Signed POST, once more on badNonce (RFC 8555 6.5). */
static int
post(const char *url, const char *payload, struct tc_resp *r)
{
	char t[64];

	if (tc_post(&s, url, payload, r) != 0)
		return -1;
	if (r->status == 400 && strcmp(tc_problem(r, t, sizeof(t)), "badNonce") == 0) {
		tc_resp_clear(r);
		return tc_post(&s, url, payload, r);
	}
	return 0;
}

static json_t *
body_json(const struct tc_resp *r)
{
	json_error_t e;

	return r->body != NULL ? json_loads(r->body, 0, &e) : NULL;
}

/* Prints the refusal line for a problem document (or a non-JSON answer). */
static void
refused(const char *id, const char *step, const struct tc_resp *r, json_t *problem)
{
	json_t *j = problem != NULL ? json_incref(problem) : body_json(r);
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *detail = json_string_value(json_object_get(j, "detail"));

	if (type != NULL && strncmp(type, "urn:ietf:params:acme:error:", 27) == 0)
		type += 27;
	printf("%s|refused|%s|%s|%s\n", id, step, type != NULL ? type : "(none)",
	    detail != NULL ? detail : "(no detail)");
	json_decref(j);
}

/* POST-as-GET url until its status is one of want ("a|b"); the object in *out. */
static int
poll_until(const char *url, const char *want, json_t **out)
{
	struct tc_resp r;
	int i;

	*out = NULL;
	for (i = 0; i < 300; i++) {
		const char *st;
		json_t *o;

		if (post(url, NULL, &r) != 0 || r.status != 200) {
			fprintf(stderr, "acme-try: poll %s: %ld %s\n", url, r.status,
			    r.body ? r.body : "");
			tc_resp_clear(&r);
			return -1;
		}
		o = body_json(&r);
		tc_resp_clear(&r);
		st = json_string_value(json_object_get(o, "status"));
		if (st != NULL && strstr(want, st) != NULL) {
			*out = o;
			return 0;
		}
		json_decref(o);
		usleep(i < 10 ? 10000 : 50000);
	}
	fprintf(stderr, "acme-try: %s never became %s\n", url, want);
	return -1;
}

/* Solves every pending authorization of order o with http-01. */
static int
solve(const char *id, json_t *o, int *refusal)
{
	json_t *azs = json_object_get(o, "authorizations"), *az = NULL, *done = NULL, *ch;
	struct tc_resp r;
	size_t i, j;
	int rc = -1;

	*refusal = 0;
	for (i = 0; i < json_array_size(azs); i++) {
		const char *au = json_string_value(json_array_get(azs, i)), *cu = NULL, *tok = NULL;
		char ka[200];

		if (au == NULL || post(au, NULL, &r) != 0 || r.status != 200) {
			fprintf(stderr, "acme-try: %s: authorization: %ld\n", id, r.status);
			tc_resp_clear(&r);
			return -1;
		}
		az = body_json(&r);
		tc_resp_clear(&r);
		if (strcmp(json_string_value(json_object_get(az, "status")), "valid") == 0) {
			json_decref(az);
			continue;	/* reused by this account */
		}
		for (j = 0; j < json_array_size(json_object_get(az, "challenges")); j++) {
			ch = json_array_get(json_object_get(az, "challenges"), j);
			if (strcmp(json_string_value(json_object_get(ch, "type")), "http-01") == 0) {
				cu = json_string_value(json_object_get(ch, "url"));
				tok = json_string_value(json_object_get(ch, "token"));
			}
		}
		if (cu == NULL || tok == NULL) {
			fprintf(stderr, "acme-try: %s: no http-01 challenge\n", id);
			goto out;
		}
		snprintf(ka, sizeof(ka), "%s.%s", tok, thp);
		h01_put(tok, ka);
		if (post(cu, "{}", &r) != 0 || r.status != 200) {
			refused(id, "authz", &r, NULL);
			tc_resp_clear(&r);
			*refusal = 1;
			goto out;
		}
		tc_resp_clear(&r);
		if (poll_until(au, "valid invalid", &done) != 0)
			goto out;
		if (strcmp(json_string_value(json_object_get(done, "status")), "invalid") == 0) {
			refused(id, "authz", NULL, json_object_get(json_array_get(
			    json_object_get(done, "challenges"), 0), "error"));
			*refusal = 1;
			goto out;
		}
		json_decref(done);
		done = NULL;
		json_decref(az);
		az = NULL;
	}
	rc = 0;
out:
	json_decref(az);
	json_decref(done);
	return rc;
}

static void
rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One row; 0 when its line is printed, -1 when the exchange broke. */
static int
row(const char *id, const char *names, const char *csrfile, long span)
{
	json_t *ids = json_array(), *payload = NULL, *o = NULL, *done = NULL;
	char *copy = strdup(names), *p, *save = NULL, *text = NULL, *csr = NULL, url[600];
	char order[600], nb[40], na[40];
	unsigned char ip[16];
	struct tc_resp r = { 0 };
	const char *fin, *cert;
	int rc = -1, refusal;

	for (p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		int isip = inet_pton(AF_INET, p, ip) == 1 || inet_pton(AF_INET6, p, ip) == 1;

		/* "dns:" or "ip:" says the type, e.g. a DNS name that looks like an IP. */
		if (strncmp(p, "dns:", 4) == 0 || strncmp(p, "ip:", 3) == 0) {
			isip = p[0] == 'i';
			p += isip ? 3 : 4;
		}
		json_array_append_new(ids, json_pack("{s:s, s:s}", "type", isip ? "ip" : "dns",
		    "value", p));
	}
	payload = json_pack("{s:O}", "identifiers", ids);
	if (span > 0) {
		time_t now = time(NULL);

		rfc3339(now, nb, sizeof(nb));
		rfc3339(now + span, na, sizeof(na));
		json_object_set_new(payload, "notBefore", json_string(nb));
		json_object_set_new(payload, "notAfter", json_string(na));
	}
	if ((text = json_dumps(payload, JSON_COMPACT)) == NULL)
		goto out;
	snprintf(url, sizeof(url), "%s/new-order", s.base);
	if (post(url, text, &r) != 0)
		goto out;
	if (r.status != 201) {
		refused(id, "newOrder", &r, NULL);
		rc = 0;
		goto out;
	}
	snprintf(order, sizeof(order), "%s", r.location);
	o = body_json(&r);
	tc_resp_clear(&r);
	if (solve(id, o, &refusal) != 0) {
		rc = refusal ? 0 : -1;
		goto out;
	}
	if (poll_until(order, "ready invalid", &done) != 0)
		goto out;
	if ((fin = json_string_value(json_object_get(done, "finalize"))) == NULL ||
	    (csr = b64u_file(csrfile)) == NULL) {
		fprintf(stderr, "acme-try: %s: no finalize URL, or cannot read %s\n", id, csrfile);
		goto out;
	}
	free(text);
	if ((text = malloc(strlen(csr) + 16)) == NULL)
		goto out;
	sprintf(text, "{\"csr\":\"%s\"}", csr);
	if (post(fin, text, &r) != 0)
		goto out;
	if (r.status != 200) {
		refused(id, "finalize", &r, NULL);
		rc = 0;
		goto out;
	}
	tc_resp_clear(&r);
	json_decref(done);
	if (poll_until(order, "valid invalid", &done) != 0)
		goto out;
	if (strcmp(json_string_value(json_object_get(done, "status")), "invalid") == 0) {
		refused(id, "order", NULL, json_object_get(done, "error"));
		rc = 0;
		goto out;
	}
	cert = json_string_value(json_object_get(done, "certificate"));
	if (cert == NULL || post(cert, NULL, &r) != 0 || r.status != 200 || r.body == NULL ||
	    strstr(r.body, "BEGIN CERTIFICATE") == NULL) {
		fprintf(stderr, "acme-try: %s: order valid but no certificate\n", id);
		goto out;
	}
	printf("%s|issued\n", id);
	rc = 0;
out:
	tc_resp_clear(&r);
	json_decref(ids);
	json_decref(payload);
	json_decref(o);
	json_decref(done);
	free(copy);
	free(text);
	free(csr);
	return rc;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	struct tc_resp r;
	char line[2048], id[128], names[1024], csrfile[1024], url[600];
	json_t *t;
	long span;
	int port, bad = 0;

	if (argc != 4 || (port = atoi(argv[3])) <= 0 || port > 65535) {
		fprintf(stderr, "usage: mayfly-acme-try BASEURL CAFILE HTTP01PORT < rows\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((d = h01_start(port)) == NULL) {
		fprintf(stderr, "acme-try: cannot serve http-01 on 127.0.0.1:%d\n", port);
		return 1;
	}
	snprintf(s.base, sizeof(s.base), "%s", argv[1]);
	snprintf(s.cafile, sizeof(s.cafile), "%s", argv[2]);
	if ((s.key = tc_key_new("ES256")) == NULL ||
	    (t = jose_jwk_thp(NULL, s.key->pub, "S256")) == NULL) {
		fprintf(stderr, "acme-try: no account key\n");
		return 1;
	}
	snprintf(thp, sizeof(thp), "%s", json_string_value(t));
	json_decref(t);
	snprintf(url, sizeof(url), "%s/new-account", s.base);
	if (post(url, "{\"termsOfServiceAgreed\":true}", &r) != 0 ||
	    (r.status != 201 && r.status != 200) || r.location[0] == '\0') {
		fprintf(stderr, "acme-try: newAccount: %ld %s\n", r.status, r.body ? r.body : "");
		return 1;
	}
	snprintf(s.kid, sizeof(s.kid), "%s", r.location);
	tc_resp_clear(&r);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127s %1023s %1023s %ld", id, names, csrfile, &span) != 4) {
			fprintf(stderr, "acme-try: bad row: %s", line);
			bad = 1;
			continue;
		}
		if (row(id, names, csrfile, span) != 0) {
			printf("%s|broken\n", id);
			bad = 1;
		}
		fflush(stdout);
	}
	MHD_stop_daemon(d);
	tc_key_free(s.key);
	curl_global_cleanup();
	return bad;
}
