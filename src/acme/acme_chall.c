/*
 * acme_chall.c: the checks behind ACME challenges: http-01 (RFC 8555 8.3)
 * with libcurl, tls-alpn-01 (RFC 8737) with OpenSSL.
 *
 * Each check runs in its own thread so a slow or hostile responder ties up
 * nothing but itself; it is bounded by the fetch timeout, the number of
 * redirects and the size of the body it will read. The thread takes the
 * listener's lock only to write the result.
 *
 * The testing options (acme.test_resolve, test_http01_port,
 * test_tlsalpn01_port) point the checks at 127.0.0.1 and at the ports a
 * client such as certbot --standalone listens on, the way Pebble does; in
 * production they are empty and names resolve through the system resolver.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "mferr.h"
#include "util.h"

#define WHY(...) do { if (why != NULL && whylen > 0) snprintf(why, whylen, __VA_ARGS__); } while (0)

/* A key authorisation is 87 characters; anything much larger is not one. */
#define HTTP01_MAX_BODY	1024
#define HTTP01_MAX_REDIRECTS	5

static int
test_resolved(const struct mf_acme_conf *conf, const char *host)
{
	size_t i, hl = strlen(host), pl;

	for (i = 0; i < conf->ntest_resolve; i++) {
		const char *p = conf->test_resolve[i];

		pl = strlen(p);
		if (strcmp(p, "*") == 0 || strcasecmp(p, host) == 0)
			return 1;
		if (p[0] == '.' && hl > pl && strcasecmp(host + hl - pl, p) == 0)
			return 1;
	}
	return 0;
}

struct sink {
	char buf[HTTP01_MAX_BODY + 1];
	size_t len;
	int overflow;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->len + n > HTTP01_MAX_BODY) {
		s->overflow = 1;
		return 0;	/* aborts the transfer */
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

int
acme_http01_fetch(const struct mf_acme_conf *conf, const char *host, const char *token,
    const char *expected, char *why, size_t whylen)
{
	unsigned port = conf->test_http01_port ? conf->test_http01_port : 80;
	struct curl_slist *resolve = NULL;
	struct sink *s = NULL;
	char *url = NULL, *entry = NULL;
	long code = 0;
	CURL *cu = NULL;
	CURLcode cc;
	int rc = MF_ERR_ACME_CONNECTION;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MF_ERR_NOMEM;
	if (asprintf(&url, strchr(host, ':') ? "http://[%s]:%u/.well-known/acme-challenge/%s" :
	    "http://%s:%u/.well-known/acme-challenge/%s", host, port, token) < 0) {
		url = NULL;
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if ((cu = curl_easy_init()) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	if (test_resolved(conf, host)) {
		if (asprintf(&entry, "%s:%u:127.0.0.1", host, port) < 0) {
			entry = NULL;
			rc = MF_ERR_NOMEM;
			goto out;
		}
		resolve = curl_slist_append(NULL, entry);
		curl_easy_setopt(cu, CURLOPT_RESOLVE, resolve);
	}
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(cu, CURLOPT_MAXREDIRS, (long)HTTP01_MAX_REDIRECTS);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, (long)(conf->fetch_timeout * 1000));
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, (long)(conf->fetch_timeout * 500));
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	/* 8.3: a redirect to https is followed without checking its certificate. */
	curl_easy_setopt(cu, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(cu, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, "mayfly-acme/" PACKAGE_VERSION);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(cu, CURLOPT_MAXFILESIZE, (long)HTTP01_MAX_BODY);
	cc = curl_easy_perform(cu);
	if (s->overflow) {
		WHY("response body from %s is larger than %d bytes", host, HTTP01_MAX_BODY);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	if (cc != CURLE_OK) {
		WHY("fetching %s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		WHY("%s answered HTTP %ld", url, code);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	/* 8.3: trailing whitespace is ignored. */
	while (s->len > 0 && (s->buf[s->len - 1] == '\n' || s->buf[s->len - 1] == '\r' ||
	    s->buf[s->len - 1] == ' ' || s->buf[s->len - 1] == '\t'))
		s->buf[--s->len] = '\0';
	if (strlen(s->buf) != s->len || strcmp(s->buf, expected) != 0) {
		WHY("key authorization from %s does not match", url);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(cu);
	curl_slist_free_all(resolve);
	free(url);
	free(entry);
	free(s);
	return rc;
}

/* Connects to host:port within timeout seconds; returns the socket or -1. */
static int
connect_to(const struct mf_acme_conf *conf, const char *host, unsigned port, char *why,
    size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd pfd;
	struct timeval tv;
	char ps[16];
	const char *target = test_resolved(conf, host) ? "127.0.0.1" : host;
	int fd = -1, err;
	socklen_t el;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(target, ps, &hints, &res) != 0) {
		WHY("cannot resolve %s", host);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			el = sizeof(err);
			if (poll(&pfd, 1, (int)(conf->fetch_timeout * 500)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		WHY("cannot connect to %s port %u", host, port);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tv.tv_sec = (time_t)conf->fetch_timeout;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* RFC 8737 3: exactly one SAN, the identifier, and the critical acmeIdentifier. */
static int
alpn_cert_ok(X509 *cert, const char *host, const char *keyauth, char *why, size_t whylen)
{
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *g;
	ASN1_OBJECT *oid = NULL;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	unsigned char md[32], ip[16];
	const unsigned char *p;
	ASN1_OCTET_STRING *inner = NULL;
	int idx, iplen = 0, rc = MF_ERR_ACME_CHALLENGE;

	if (inet_pton(AF_INET, host, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, host, ip) == 1)
		iplen = 16;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1) {
		WHY("certificate must have exactly one subjectAltName");
		goto out;
	}
	g = sk_GENERAL_NAME_value(gens, 0);
	if (iplen == 0 ? g->type != GEN_DNS || (size_t)ASN1_STRING_length(g->d.dNSName) !=
	    strlen(host) || strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName), host,
	    strlen(host)) != 0 : g->type != GEN_IPADD || ASN1_STRING_length(g->d.iPAddress) !=
	    iplen || memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip, (size_t)iplen) != 0) {
		WHY("subjectAltName is not %s", host);
		goto out;
	}
	oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	if (oid == NULL || (idx = X509_get_ext_by_OBJ(cert, oid, -1)) < 0 ||
	    (ext = X509_get_ext(cert, idx)) == NULL || !X509_EXTENSION_get_critical(ext)) {
		WHY("no critical acmeIdentifier extension");
		goto out;
	}
	data = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(data);
	if (EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(), NULL) != 1 ||
	    (inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(data))) == NULL ||
	    ASN1_STRING_length(inner) != 32 || memcmp(ASN1_STRING_get0_data(inner), md, 32) != 0) {
		WHY("acmeIdentifier does not match the key authorization");
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(inner);
	return rc;
}

int
acme_tlsalpn01_check(const struct mf_acme_conf *conf, const char *host, const char *keyauth,
    char *why, size_t whylen)
{
	static const unsigned char alpn[] = "\x0a" "acme-tls/1";
	unsigned port = conf->test_tlsalpn01_port ? conf->test_tlsalpn01_port : 443;
	const unsigned char *sel = NULL;
	unsigned int sellen = 0;
	unsigned char ip[16];
	char sni[128];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *peer = NULL;
	int fd, rc = MF_ERR_ACME_CONNECTION;

	if ((fd = connect_to(conf, host, port, why, whylen)) < 0)
		return rc;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL || (ssl = SSL_new(ctx)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
	/* RFC 8738 6: for an IP address the SNI is its reverse-DNS name. */
	if (inet_pton(AF_INET, host, ip) == 1)
		snprintf(sni, sizeof(sni), "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
	else if (strchr(host, ':') == NULL)
		snprintf(sni, sizeof(sni), "%s", host);
	else
		sni[0] = '\0';
	if (sni[0] != '\0')
		SSL_set_tlsext_host_name(ssl, sni);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		WHY("TLS handshake with %s port %u failed", host, port);
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &sel, &sellen);
	if (sellen != 10 || memcmp(sel, "acme-tls/1", 10) != 0) {
		WHY("%s did not negotiate acme-tls/1", host);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL) {
		WHY("%s sent no certificate", host);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	rc = alpn_cert_ok(peer, host, keyauth, why, whylen);
out:
	X509_free(peer);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
	return rc;
}

/*
 * dns-01 (RFC 8555 8.4): a TXT record at _acme-challenge.NAME holding
 * base64url(SHA-256(key authorisation)). Resolved with the system resolver
 * (libresolv), or with acme.test-dns-server in tests.
 */
int
acme_dns01_check(const struct mf_acme_conf *conf, const char *host, const char *keyauth,
    char *why, size_t whylen)
{
	struct __res_state st;
	unsigned char ans[4096], md[32];
	char qname[300], *want = NULL;
	ns_msg msg;
	ns_rr rr;
	int n, i, rc = MF_ERR_ACME_CONNECTION;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		WHY("resolver unavailable");
		return rc;
	}
	if (conf->test_dns_server != NULL) {
		char addr[64], *colon;
		struct in_addr ia;

		snprintf(addr, sizeof(addr), "%s", conf->test_dns_server);
		colon = strchr(addr, ':');
		if (colon != NULL)
			*colon = '\0';
		if (inet_pton(AF_INET, addr, &ia) == 1) {
			st.nsaddr_list[0].sin_family = AF_INET;
			st.nsaddr_list[0].sin_addr = ia;
			st.nsaddr_list[0].sin_port = htons(colon ? (uint16_t)atoi(colon + 1) : 53);
			st.nscount = 1;
		}
	}
	st.retrans = (int)(conf->fetch_timeout / 2 > 0 ? conf->fetch_timeout / 2 : 1);
	st.retry = 2;
	snprintf(qname, sizeof(qname), "_acme-challenge.%s", host);
	if (EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(), NULL) != 1 ||
	    (want = mf_b64u_encode(md, sizeof(md))) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	n = res_nquery(&st, qname, ns_c_in, ns_t_txt, ans, sizeof(ans));
	if (n < 0 || ns_initparse(ans, n, &msg) != 0) {
		WHY("no TXT record at %s", qname);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	rc = MF_ERR_ACME_CHALLENGE;
	WHY("no TXT record at %s matches the key authorization", qname);
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		const unsigned char *d;
		int len;

		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		d = ns_rr_rdata(rr);
		len = ns_rr_rdlen(rr);
		/* One character-string: a length octet and the text. */
		if (len >= 1 && d[0] == len - 1 && (size_t)d[0] == strlen(want) &&
		    memcmp(d + 1, want, d[0]) == 0) {
			rc = 0;
			break;
		}
	}
	if (rc == 0 && why != NULL && whylen > 0)
		why[0] = '\0';
out:
	free(want);
	res_nclose(&st);
	return rc;
}

struct chall_thread {
	struct mf_acme *a;
	struct acme_chall_job job;
};

static void *
chall_run(void *arg)
{
	struct chall_thread *t = arg;
	struct mf_acme *a = t->a;
	const struct acme_chall_job *j = &t->job;
	char why[256] = "", *errtext = NULL;
	sigset_t pipe;
	int64_t now;
	int rc;

	/*
	 * A responder that hangs up mid-handshake must not kill the daemon:
	 * with SIGPIPE blocked in this thread, writes fail with EPIPE instead.
	 */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	if (strcmp(j->type, "http-01") == 0)
		rc = acme_http01_fetch(a->conf, j->value, j->token, j->keyauth, why, sizeof(why));
	else if (strcmp(j->type, "tls-alpn-01") == 0)
		rc = acme_tlsalpn01_check(a->conf, j->value, j->keyauth, why, sizeof(why));
	else if (strcmp(j->type, "dns-01") == 0)
		rc = acme_dns01_check(a->conf, j->value, j->keyauth, why, sizeof(why));
	else {
		rc = MF_ERR_ACME_CHALLENGE;
		snprintf(why, sizeof(why), "%s is not supported by this server", j->type);
	}
	if (rc != 0) {
		int status;
		json_t *e = json_pack("{s:s+, s:s, s:i}", "type", "urn:ietf:params:acme:error:",
		    acme_problem_type(rc, &status), "detail", why, "status", status);

		errtext = e ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(e);
	}
	now = (int64_t)time(NULL);
	pthread_mutex_lock(&a->lock);
	/* 8.2: one failed check fails the authorisation; no retries here. */
	if (acme_sq_exec(a->sq, "UPDATE acme_challenges SET status = ?, validated = ?, error = ? "
	    "WHERE id = ? AND status = 'processing'", "siss", rc == 0 ? "valid" : "invalid",
	    now, errtext, j->chall_id) == 0 &&
	    acme_sq_exec(a->sq, "UPDATE acme_authzs SET status = ? WHERE id = ? AND "
	    "status = 'pending'", "ss", rc == 0 ? "valid" : "invalid", j->authz_id) == 0)
		acme_order_refresh(a, j->order_id, now);
	pthread_mutex_unlock(&a->lock);
	mf_info("challenge=%s type=%s identifier=%s result=%s detail=\"%s\"", j->chall_id,
	    j->type, j->value, rc == 0 ? "valid" : "invalid", why);
	free(errtext);
	free(t);

	pthread_mutex_lock(&a->vlock);
	a->nvalidators--;
	pthread_cond_broadcast(&a->vcond);
	pthread_mutex_unlock(&a->vlock);
	return NULL;
}

int
acme_chall_start(struct mf_acme *a, const struct acme_chall_job *job)
{
	struct chall_thread *t;
	pthread_attr_t attr;
	pthread_t tid;
	int rc = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MF_ERR_NOMEM;
	t->a = a;
	t->job = *job;
	pthread_mutex_lock(&a->vlock);
	/* Bounded: a flood of challenge POSTs cannot create unbounded threads. */
	if (a->stopping || a->nvalidators >= 64)
		rc = MF_ERR_ACME_RATELIMIT;
	else
		a->nvalidators++;
	pthread_mutex_unlock(&a->vlock);
	if (rc != 0) {
		free(t);
		return rc;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, chall_run, t) != 0) {
		free(t);
		pthread_mutex_lock(&a->vlock);
		a->nvalidators--;
		pthread_cond_broadcast(&a->vcond);
		pthread_mutex_unlock(&a->vlock);
		rc = MF_ERR_INTERNAL;
	}
	pthread_attr_destroy(&attr);
	return rc;
}
