/*
 * acme_chall.c: the checks behind ACME challenges: http-01 (RFC 8555 8.3)
 * with libcurl, tls-alpn-01 (RFC 8737) with OpenSSL.
 *
 * Each check runs in its own thread so a slow or hostile responder ties up
 * nothing but itself; it is bounded by one deadline (fetch-timeout from its
 * start, across redirects, connects and the TLS handshake), the number of
 * redirects and the size of the body it will read, and it ends within a
 * second when the listener stops. At most ACME_MAX_CHECKS run at once, and
 * at most checks-per-account for one account. The thread takes the
 * listener's lock only to write the result.
 *
 * An identifier chooses where the CA connects, so the checks connect only
 * to public addresses: every address actually connected (of every DNS
 * answer, after every redirect) is judged by acme_addr_allowed(), and
 * redirects go to ports 80 and 443 only. Both http-01 and tls-alpn-01
 * connect through libcurl, so both get its resolver under the deadline.
 *
 * The testing options (acme.test_resolve, test_http01_port,
 * test_tlsalpn01_port) point the checks at 127.0.0.1 and at the ports a
 * client such as certbot --standalone listens on, the way Pebble does; only
 * a name listed in test-resolve may be checked at a loopback address. In
 * production they are empty and names resolve through the system resolver.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <errno.h>
#include <fcntl.h>
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

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
acme_chk_init(struct acme_chk *k, const struct mf_acme_conf *conf, const int *stop)
{
	k->conf = conf;
	k->stop = stop;
	k->deadline_ms = now_ms() + conf->fetch_timeout * 1000;
}

static int
chk_stopping(const struct acme_chk *k)
{
	return k->stop != NULL && __atomic_load_n(k->stop, __ATOMIC_RELAXED) != 0;
}

/* Milliseconds left before the check's deadline; 0 when it has passed. */
static long
chk_left(const struct acme_chk *k)
{
	int64_t left = k->deadline_ms - now_ms();

	return left > 0 ? (long)left : 0;
}

static int
in4(uint32_t x, uint32_t net, unsigned len)
{
	uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);

	return (x & mask) == net;
}

static int
v4_public(const unsigned char *a)
{
	/* RFC 6890 special-purpose ranges, multicast and the reserved 240/4. */
	static const struct { uint32_t net; unsigned len; } special[] = {
		{ 0x00000000, 8 }, { 0x0a000000, 8 }, { 0x64400000, 10 }, { 0x7f000000, 8 },
		{ 0xa9fe0000, 16 }, { 0xac100000, 12 }, { 0xc0000000, 24 }, { 0xc0000200, 24 },
		{ 0xc0586300, 24 }, { 0xc0a80000, 16 }, { 0xc6120000, 15 }, { 0xc6336400, 24 },
		{ 0xcb007100, 24 }, { 0xe0000000, 4 }, { 0xf0000000, 4 },
	};
	uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	size_t i;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (in4(x, special[i].net, special[i].len))
			return 0;
	return 1;
}

static int
v6_public(const unsigned char *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };

	/* Forms that carry an IPv4 address are judged by that address. */
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return v4_public(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)		/* 6to4 */
		return v4_public(a + 2);
	/* Only global unicast (2000::/3), less documentation and 2001::/23. */
	if ((a[0] & 0xe0) != 0x20)
		return 0;
	if (a[0] == 0x20 && a[1] == 0x01 && (a[2] < 0x02 || (a[2] == 0x0d && a[3] == 0xb8)))
		return 0;
	return 1;
}

int
acme_addr_allowed(const struct sockaddr *sa, int loopback_ok)
{
	const unsigned char *a;

	if (sa->sa_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		return v4_public(a) || (loopback_ok && a[0] == 127);
	}
	if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		return v6_public(a) || (loopback_ok &&
		    IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr));
	}
	return 0;
}

static void
addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *p = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, p, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

struct fetch {
	const struct acme_chk *k;
	int loopback_ok;		/* this hop's host is a test-resolve name */
	char refused[INET6_ADDRSTRLEN];	/* an address not connected to */
	char buf[HTTP01_MAX_BODY + 1];
	size_t len;
	int overflow;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;

	if (f->len + n > HTTP01_MAX_BODY) {
		f->overflow = 1;
		return 0;	/* aborts the transfer */
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	f->buf[f->len] = '\0';
	return n;
}

/*
 * Every socket curl opens, for the first URL, each redirect and each
 * address of each DNS answer, passes here: the address actually connected
 * is the one judged, so neither a redirect nor a DNS answer can point the
 * check at the CA's own network.
 */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *ca)
{
	struct fetch *f = arg;

	(void)purpose;
	if (!acme_addr_allowed(&ca->addr, f->loopback_ok)) {
		addr_text(&ca->addr, f->refused, sizeof(f->refused));
		return CURL_SOCKET_BAD;
	}
	return socket(ca->family, ca->socktype, ca->protocol);
}

/* Called about once a second and on progress: ends a check at its deadline or at stop. */
static int
fetch_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct fetch *f = arg;

	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return chk_stopping(f->k) || chk_left(f->k) == 0;
}

/* A redirect may go to the standard ports only (or, in tests, the test port). */
static int
port_allowed(const struct mf_acme_conf *conf, const char *port)
{
	long p = strtol(port, NULL, 10);

	return p == 80 || p == 443 || (conf->test_http01_port != 0 &&
	    p == (long)conf->test_http01_port);
}

int
acme_http01_fetch(const struct acme_chk *k, const char *host, const char *token,
    const char *expected, char *why, size_t whylen)
{
	const struct mf_acme_conf *conf = k->conf;
	unsigned port = conf->test_http01_port ? conf->test_http01_port : 80;
	struct curl_slist *resolve = NULL;
	struct fetch *f = NULL;
	char *url = NULL, *h = NULL, *ps = NULL, *scheme = NULL, *redir, hostpart[300];
	char path[128], portstr[16], entry[400];
	long code = 0;
	CURLU *u = NULL;
	CURL *cu = NULL;
	CURLcode cc = CURLE_FAILED_INIT;
	int hop, rc = MF_ERR_ACME_CONNECTION;

	if ((f = calloc(1, sizeof(*f))) == NULL || (u = curl_url()) == NULL ||
	    (cu = curl_easy_init()) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	f->k = k;
	/* The URL is built by libcurl's URL API from its parts, never by pasting text. */
	snprintf(hostpart, sizeof(hostpart), strchr(host, ':') ? "[%s]" : "%s", host);
	snprintf(portstr, sizeof(portstr), "%u", port);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", token);
	if (curl_url_set(u, CURLUPART_SCHEME, "http", 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, hostpart, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PORT, portstr, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, path, 0) != CURLUE_OK) {
		WHY("%s is not a host name for a URL", host);
		rc = MF_ERR_ACME_MALFORMED;
		goto out;
	}
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are followed here, one by one, so that each can be judged. */
	curl_easy_setopt(cu, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(cu, CURLOPT_PROXY, "");	/* no proxy from the environment */
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	/* 8.3: a redirect to https is followed without checking its certificate. */
	curl_easy_setopt(cu, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(cu, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, "mayfly-acme/" PACKAGE_VERSION);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(cu, CURLOPT_MAXFILESIZE, (long)HTTP01_MAX_BODY);
	curl_easy_setopt(cu, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(cu, CURLOPT_OPENSOCKETDATA, f);
	curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, fetch_progress);
	curl_easy_setopt(cu, CURLOPT_XFERINFODATA, f);
	curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
	for (hop = 0;; hop++) {
		curl_free(url);
		curl_free(h);
		curl_free(ps);
		curl_free(scheme);
		url = h = ps = scheme = NULL;
		if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_PORT, &ps, CURLU_DEFAULT_PORT) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
			WHY("redirect to an unusable URL");
			goto out;
		}
		if (hop > 0 && ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
		    !port_allowed(conf, ps))) {
			WHY("redirect to %.200s refused: only http and https on ports 80 and 443",
			    url);
			goto out;
		}
		/* The test option: this name is served at 127.0.0.1, and only it may be. */
		f->loopback_ok = 0;
		if (h[0] != '[' && test_resolved(conf, h)) {
			f->loopback_ok = 1;
			snprintf(entry, sizeof(entry), "%s:%s:127.0.0.1", h, ps);
			curl_slist_free_all(resolve);
			resolve = curl_slist_append(NULL, entry);
			curl_easy_setopt(cu, CURLOPT_RESOLVE, resolve);
		} else if (h[0] == '[' && test_resolved(conf, host) && strcmp(h, hostpart) == 0) {
			f->loopback_ok = 1;
		}
		if (chk_left(k) == 0)
			break;
		f->len = 0;
		f->buf[0] = '\0';
		f->refused[0] = '\0';
		curl_easy_setopt(cu, CURLOPT_URL, url);
		curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, chk_left(k));
		curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, chk_left(k));
		cc = curl_easy_perform(cu);
		if (f->overflow) {
			WHY("response body from %.200s is larger than %d bytes", url,
			    HTTP01_MAX_BODY);
			rc = MF_ERR_ACME_CHALLENGE;
			goto out;
		}
		if (cc != CURLE_OK)
			break;
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
		if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308)
			break;
		redir = NULL;
		curl_easy_getinfo(cu, CURLINFO_REDIRECT_URL, &redir);
		if (hop >= HTTP01_MAX_REDIRECTS) {
			WHY("more than %d redirects from %.200s", HTTP01_MAX_REDIRECTS, url);
			goto out;
		}
		if (redir == NULL || curl_url_set(u, CURLUPART_URL, redir, 0) != CURLUE_OK) {
			WHY("%.200s answered HTTP %ld without a usable Location", url, code);
			goto out;
		}
	}
	if (chk_stopping(k)) {
		WHY("check of %s cancelled: the server is stopping", host);
		goto out;
	}
	if (chk_left(k) == 0) {
		WHY("no answer from %.200s within %llds", url, (long long)conf->fetch_timeout);
		goto out;
	}
	if (f->refused[0] != '\0') {
		WHY("refused to connect to %s for %.200s: not a public address", f->refused, url);
		goto out;
	}
	if (cc != CURLE_OK) {
		WHY("fetching %.200s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	if (code != 200) {
		WHY("%.200s answered HTTP %ld", url, code);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	/* 8.3: trailing whitespace is ignored. */
	while (f->len > 0 && (f->buf[f->len - 1] == '\n' || f->buf[f->len - 1] == '\r' ||
	    f->buf[f->len - 1] == ' ' || f->buf[f->len - 1] == '\t'))
		f->buf[--f->len] = '\0';
	if (strlen(f->buf) != f->len || strcmp(f->buf, expected) != 0) {
		WHY("key authorization from %.200s does not match", url);
		rc = MF_ERR_ACME_CHALLENGE;
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(cu);
	curl_url_cleanup(u);
	curl_slist_free_all(resolve);
	curl_free(url);
	curl_free(h);
	curl_free(ps);
	curl_free(scheme);
	free(f);
	return rc;
}

/* Waits until fd is ready for ev, the deadline passes or the listener stops. */
static int
wait_fd(const struct acme_chk *k, int fd, short ev)
{
	struct pollfd pfd;
	long left;
	int n;

	for (;;) {
		if (chk_stopping(k) || (left = chk_left(k)) == 0)
			return -1;
		pfd.fd = fd;
		pfd.events = ev;
		pfd.revents = 0;
		/* Short slices, so that a stop is seen within 100 ms. */
		n = poll(&pfd, 1, (int)(left < 100 ? left : 100));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * Connects to host:port before the check's deadline, through libcurl
 * (CURLOPT_CONNECT_ONLY on an http URL: a plain TCP connection), so that
 * name resolution gets the same deadline and cancellation and every address
 * of the answer the same judgement (open_socket) as http-01. On success
 * *cup holds the connection (curl_easy_cleanup closes it) and the socket is
 * returned, non-blocking; -1 otherwise.
 */
static int
connect_to(const struct acme_chk *k, const char *host, unsigned port, CURL **cup, char *why,
    size_t whylen)
{
	const struct mf_acme_conf *conf = k->conf;
	struct curl_slist *resolve = NULL;
	struct fetch *f = NULL;
	char hostpart[300], ps[16], entry[400], *url = NULL;
	curl_socket_t sock = CURL_SOCKET_BAD;
	CURLU *u = NULL;
	CURL *cu = NULL;
	CURLcode cc;

	*cup = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL || (u = curl_url()) == NULL ||
	    (cu = curl_easy_init()) == NULL)
		goto out;
	f->k = k;
	f->loopback_ok = test_resolved(conf, host);
	snprintf(hostpart, sizeof(hostpart), strchr(host, ':') ? "[%s]" : "%s", host);
	snprintf(ps, sizeof(ps), "%u", port);
	if (curl_url_set(u, CURLUPART_SCHEME, "http", 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, hostpart, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PORT, ps, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		WHY("%s is not a host name", host);
		goto out;
	}
	if (f->loopback_ok && strchr(host, ':') == NULL) {
		snprintf(entry, sizeof(entry), "%s:%s:127.0.0.1", host, ps);
		resolve = curl_slist_append(NULL, entry);
		curl_easy_setopt(cu, CURLOPT_RESOLVE, resolve);
	}
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(cu, CURLOPT_PROXY, "");
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(cu, CURLOPT_OPENSOCKETDATA, f);
	curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, fetch_progress);
	curl_easy_setopt(cu, CURLOPT_XFERINFODATA, f);
	curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
	if (chk_left(k) == 0)
		goto out;
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, chk_left(k));
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, chk_left(k));
	cc = curl_easy_perform(cu);
	if (cc == CURLE_OK && curl_easy_getinfo(cu, CURLINFO_ACTIVESOCKET, &sock) == CURLE_OK &&
	    sock != CURL_SOCKET_BAD) {
		fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
		*cup = cu;
		cu = NULL;
		goto out;
	}
	sock = CURL_SOCKET_BAD;
	if (chk_stopping(k))
		WHY("check of %s cancelled: the server is stopping", host);
	else if (chk_left(k) == 0)
		WHY("cannot connect to %s port %u within %llds", host, port,
		    (long long)conf->fetch_timeout);
	else if (f->refused[0] != '\0')
		WHY("refused to connect to %s for %s: not a public address", f->refused, host);
	else
		WHY("cannot connect to %s port %u: %s", host, port, curl_easy_strerror(cc));
out:
	curl_easy_cleanup(cu);
	curl_url_cleanup(u);
	curl_slist_free_all(resolve);
	curl_free(url);
	free(f);
	return sock == CURL_SOCKET_BAD ? -1 : (int)sock;
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
acme_tlsalpn01_check(const struct acme_chk *k, const char *host, const char *keyauth,
    char *why, size_t whylen)
{
	static const unsigned char alpn[] = "\x0a" "acme-tls/1";
	const struct mf_acme_conf *conf = k->conf;
	unsigned port = conf->test_tlsalpn01_port ? conf->test_tlsalpn01_port : 443;
	const unsigned char *sel = NULL;
	unsigned int sellen = 0;
	unsigned char ip[16];
	char sni[128];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *peer = NULL;
	CURL *conn = NULL;
	int fd, r, e, rc = MF_ERR_ACME_CONNECTION;

	if ((fd = connect_to(k, host, port, &conn, why, whylen)) < 0)
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
	/*
	 * Non-blocking, against the check's one deadline: a responder that
	 * sends a byte every few seconds ends at fetch-timeout like any other.
	 */
	for (;;) {
		if ((r = SSL_connect(ssl)) == 1)
			break;
		e = SSL_get_error(ssl, r);
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_fd(k, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) != 0) {
			if (chk_stopping(k))
				WHY("check of %s cancelled: the server is stopping", host);
			else if (chk_left(k) == 0)
				WHY("no TLS handshake with %s port %u within %llds", host, port,
				    (long long)conf->fetch_timeout);
			else
				WHY("TLS handshake with %s port %u failed", host, port);
			goto out;
		}
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
	curl_easy_cleanup(conn);	/* closes fd */
	ERR_clear_error();
	return rc;
}

/*
 * dns-01 (RFC 8555 8.4): a TXT record at _acme-challenge.NAME holding
 * base64url(SHA-256(key authorisation)). Resolved with the system resolver
 * (libresolv), or with acme.test-dns-server in tests.
 */
int
acme_dns01_check(const struct acme_chk *k, const char *host, const char *keyauth,
    char *why, size_t whylen)
{
	const struct mf_acme_conf *conf = k->conf;
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
	/*
	 * libresolv has no overall deadline: spread fetch-timeout over the
	 * tries (retry per server) so that the query ends within it.
	 */
	st.retry = 2;
	st.retrans = (int)(conf->fetch_timeout / (st.retry * (st.nscount > 0 ? st.nscount : 1)));
	if (st.retrans < 1)
		st.retrans = 1;
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

/* The running-check count of an account (vlock held); NULL if there is no room. */
static struct acme_vacct *
vacct_find(struct mf_acme *a, const char *account_id, int add)
{
	struct acme_vacct *free_slot = NULL;
	size_t i;

	for (i = 0; i < ACME_MAX_CHECKS; i++) {
		if (a->vacct[i].n > 0 && strcmp(a->vacct[i].id, account_id) == 0)
			return &a->vacct[i];
		if (a->vacct[i].n == 0 && free_slot == NULL)
			free_slot = &a->vacct[i];
	}
	if (!add || free_slot == NULL)
		return NULL;
	snprintf(free_slot->id, sizeof(free_slot->id), "%s", account_id);
	return free_slot;
}

static void *
chall_run(void *arg)
{
	struct chall_thread *t = arg;
	struct mf_acme *a = t->a;
	const struct acme_chall_job *j = &t->job;
	struct acme_chk k;
	struct acme_vacct *va;
	char why[256] = "", safe[256], *errtext = NULL;
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

	/* One deadline for the whole check (redirects, DNS, handshake), and stop ends it. */
	acme_chk_init(&k, a->conf, &a->stopping);
	if (strcmp(j->type, "http-01") == 0)
		rc = acme_http01_fetch(&k, j->value, j->token, j->keyauth, why, sizeof(why));
	else if (strcmp(j->type, "tls-alpn-01") == 0)
		rc = acme_tlsalpn01_check(&k, j->value, j->keyauth, why, sizeof(why));
	else if (strcmp(j->type, "dns-01") == 0)
		rc = acme_dns01_check(&k, j->value, j->keyauth, why, sizeof(why));
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
	/* why may quote a Location header the responder chose: escaped. */
	mf_info("challenge=%s type=%s identifier=%s result=%s detail=\"%s\"", j->chall_id,
	    j->type, j->value, rc == 0 ? "valid" : "invalid",
	    acme_log_safe(why, safe, sizeof(safe)));
	free(errtext);

	pthread_mutex_lock(&a->vlock);
	a->nvalidators--;
	if ((va = vacct_find(a, j->account_id, 0)) != NULL)
		va->n--;
	memcpy(a->vdone[a->vdone_next++ % ACME_MAX_CHECKS], j->chall_id, sizeof(j->chall_id));
	pthread_cond_broadcast(&a->vcond);
	pthread_mutex_unlock(&a->vlock);
	free(t);
	return NULL;
}

static int
vdone_has(const struct mf_acme *a, const char *chall_id)
{
	size_t i;

	for (i = 0; i < ACME_MAX_CHECKS; i++)
		if (strcmp(a->vdone[i], chall_id) == 0)
			return 1;
	return 0;
}

int
acme_chall_wait(struct mf_acme *a, const char *chall_id, long ms)
{
	struct timespec dl;
	int done;

	/* Monotonic: a step of the wall clock neither ends nor stretches the wait. */
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->vlock);
	while (!(done = vdone_has(a, chall_id)) && !a->stopping)
		if (pthread_cond_clockwait(&a->vcond, &a->vlock, CLOCK_MONOTONIC, &dl) != 0)
			break;
	if (!done)
		done = vdone_has(a, chall_id);
	pthread_mutex_unlock(&a->vlock);
	return done;
}

int
acme_chall_start(struct mf_acme *a, const struct acme_chall_job *job)
{
	struct chall_thread *t;
	struct acme_vacct *va;
	pthread_attr_t attr;
	pthread_t tid;
	int rc = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MF_ERR_NOMEM;
	t->a = a;
	t->job = *job;
	pthread_mutex_lock(&a->vlock);
	/*
	 * Bounded: a flood of challenge POSTs cannot create unbounded threads,
	 * and one account (slow responders of its own) cannot take every slot.
	 */
	va = vacct_find(a, job->account_id, 1);
	if (a->stopping)
		rc = MF_ERR_SIGNER;
	else if (a->nvalidators >= ACME_MAX_CHECKS || va == NULL ||
	    va->n >= a->conf->checks_per_account)
		rc = MF_ERR_ACME_RATELIMIT;
	else {
		a->nvalidators++;
		va->n++;
	}
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
		if ((va = vacct_find(a, job->account_id, 0)) != NULL)
			va->n--;
		pthread_cond_broadcast(&a->vcond);
		pthread_mutex_unlock(&a->vlock);
		rc = MF_ERR_INTERNAL;
	}
	pthread_attr_destroy(&attr);
	return rc;
}
