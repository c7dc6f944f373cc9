/*
 * mayfly-device-client.c - an mbedTLS TLS client that trusts servers the
 * way a mayfly device does.
 *
 * It connects to a server, runs the TLS handshake with mbedTLS 2.28, and
 * lets libmayfly-verify (mbedTLS backend, through adapt_mbedtls) decide
 * whether to trust the server: the chain must end in a root whose SHA-256
 * is pinned, the leaf may live at most --max-lifetime seconds (24 h by
 * default), and it must be valid for the host name.  On success it sends
 * one HTTP/1.0 GET and prints the status line; either way it prints the
 * verdict on one line:
 *
 *   VERIFIED path=3 anchor=<hex> lkgt=<t> flags=...   exit 0
 *   REFUSED MFV_ERR_LIFETIME_TOO_LONG depth=0: <why>  exit 1
 *   ERROR <what>                                      exit 2 (usage, network)
 *
 * Firmware would keep the context in static storage, take the time from
 * its RTC or its persisted last-known-good time, and store its trust state
 * in flash; this example takes pins from the command line, or the trust
 * state from a file (--trust-state) that stands in for flash.  mbedTLS
 * 2.28 has no OCSP stapling in its client: --ocsp FILE lends a response
 * the device fetched separately (for example over HTTP from the CA's
 * responder) and the verifier checks it against the leaf like a staple.
 *
 * Root rotation (mayfly-rotation(7)): with --trust-state FILE (the last
 * trust bundle the device applied, at first the factory bundle) and
 * --trust-url, a device that cannot anchor the server's chain fetches
 * URL/since/<its version> from mayflyd over plain HTTP, applies the answer
 * with mfv_bundle_apply_since(), stores the last bundle applied in FILE
 * and retries the handshake once.  With --update-first it fetches before
 * the first handshake too, as a device would at its update interval.
 * The bundles are signed, so the fetch needs no TLS: it is exactly the
 * case where TLS to the server fails.  Extra output lines:
 *
 *   UNANCHORED MFV_ERR_UNTRUSTED_ROOT version=1     (then the fetch)
 *   TRUST applied=2 version=3 stored                (or "unchanged")
 *   TRUST REFUSED MFV_ERR_BUNDLE_THRESHOLD applied=0 version=1
 *   TRUST ERROR <what>                              (network, answer)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include "adapt_mbedtls.h"
#include "mayfly_verify.h"

#define TIMEOUT_MS 10000
/* The stored trust bundle: a few pins and signatures, well under 4 KiB. */
#define STATE_MAX 8192
/* A whole /trust/since/N answer with its HTTP header.  A device further
 * behind than this holds would fetch again from the version it reached;
 * this example just refuses the answer. */
#define ANSWER_MAX 65536

static int
usage(void)
{
	fprintf(stderr,
	        "usage: mayfly-device-client --connect ADDR --port PORT --host NAME\n"
	        "         --root-hash HEX [--root-hash HEX]... [--max-lifetime SECONDS]\n"
	        "         [--ocsp FILE] [--time SECONDS | --lkgt SECONDS] [--skew SECONDS]\n"
	        "         [--trust-state FILE [--trust-url http://HOST:PORT/PATH] [--update-first]]\n");
	return 2;
}

static int
parse_hex(const char *s, uint8_t out[MFV_HASH_LEN])
{
	size_t i;
	unsigned v;

	if (strlen(s) != 2 * MFV_HASH_LEN)
		return -1;
	for (i = 0; i < MFV_HASH_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int
parse_num(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* Read a whole small file into buf; -1 if it is missing, unreadable,
 * empty or larger than cap. */
static int
read_small(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	int bad;

	if (f == NULL)
		return -1;
	*len = fread(buf, 1, cap, f);
	bad = ferror(f) || !feof(f) || *len == 0;
	fclose(f);
	return bad ? -1 : 0;
}

/* Store the trust state the way flash should be written: all of it or
 * nothing.  A power cut must leave either the old bundle or the new one,
 * never half of each, or the device would boot with no trust at all; so
 * write a copy, flush it to the disk, then rename it over the old one. */
static int
store_state(const char *path, const uint8_t *der, size_t len)
{
	char tmp[4096];
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return -1;
	ok = write(fd, der, len) == (ssize_t)len && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * GET URL/since/VERSION over plain HTTP/1.0 and leave the body in
 * ans[*off..*off+*len).  Firmware has no libcurl: this is the few lines a
 * device would have on top of its TCP stack (here mbedTLS's net layer).
 * Only http://HOST[:PORT][/PATH] is understood; the body is taken up to
 * the end of the connection and must match a Content-Length if there is
 * one.  The answer is not trusted in any way: the library checks every
 * bundle in it.  Returns 0, or -1 with a reason in why.
 */
static int
http_since(const char *url, uint32_t version, uint8_t *ans, size_t cap, size_t *off, size_t *len,
           const char **why)
{
	char host[256], port[8] = "80", req[768];
	const char *h, *p, *path;
	size_t n = 0, hl;
	mbedtls_net_context net;
	uint8_t *body;
	unsigned long cl;
	int r, rc = -1;

	*why = "bad --trust-url (http://HOST[:PORT][/PATH])";
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	path = h + strcspn(h, "/");
	p = memchr(h, ':', (size_t)(path - h));
	hl = (size_t)((p != NULL ? p : path) - h);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (p != NULL) {
		if ((size_t)(path - p - 1) == 0 || (size_t)(path - p - 1) >= sizeof(port))
			return -1;
		memcpy(port, p + 1, (size_t)(path - p - 1));
		port[path - p - 1] = '\0';
	}
	if (snprintf(req, sizeof(req),
	             "GET %s/since/%" PRIu32 " HTTP/1.0\r\nHost: %.*s\r\nConnection: close\r\n\r\n",
	             *path != '\0' ? path : "", version, (int)(path - h), h) >= (int)sizeof(req)) {
		*why = "--trust-url too long";
		return -1;
	}
	mbedtls_net_init(&net);
	*why = "cannot connect";
	if (mbedtls_net_connect(&net, host, port, MBEDTLS_NET_PROTO_TCP) != 0)
		goto out;
	*why = "send failed";
	for (hl = 0; hl < strlen(req); hl += (size_t)r)
		if ((r = mbedtls_net_send(&net, (const unsigned char *)req + hl, strlen(req) - hl)) <= 0)
			goto out;
	/* Read to the end: bounded by the buffer and by a timeout per read. */
	*why = "answer too large or timed out";
	for (;;) {
		if (n == cap - 1)
			goto out;
		r = mbedtls_net_recv_timeout(&net, ans + n, cap - 1 - n, TIMEOUT_MS);
		if (r == 0 || r == MBEDTLS_ERR_NET_CONN_RESET)
			break;
		if (r < 0)
			goto out;
		n += (size_t)r;
	}
	ans[n] = '\0';
	*why = "not an HTTP answer";
	if ((body = (uint8_t *)strstr((char *)ans, "\r\n\r\n")) == NULL ||
	    strncmp((char *)ans, "HTTP/1.", 7) != 0 || n < 12)
		goto out;
	body += 4;
	if (strncmp((char *)ans + 8, " 200", 4) != 0) {
		*why = "HTTP status not 200";
		goto out;
	}
	*off = (size_t)(body - ans);
	*len = n - *off;
	/* A cut connection would only cost progress (the library refuses a
	 * truncated bundle), but say so rather than "malformed". */
	for (h = strstr((char *)ans, "\r\n"); h != NULL && h < (char *)body; h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, "Content-Length:", 15) != 0)
			continue;
		if ((cl = strtoul(h + 17, NULL, 10)) != *len) {
			*why = "answer shorter than its Content-Length";
			goto out;
		}
	}
	rc = 0;
out:
	mbedtls_net_free(&net);
	return rc;
}

/*
 * Fetch what the device missed and apply it.  Whatever the library
 * applied stays applied (each bundle in it was vouched for by the roots
 * trusted at that step, so an attacker cannot have forged it), and is
 * stored before anything else happens.  Returns how many bundles were
 * applied (0 if none, or on any error).
 */
static size_t
trust_update(struct mfv_ctx *ctx, const char *url, const char *state)
{
	static uint8_t ans[ANSWER_MAX];
	uint32_t from = mfv_bundle_version(ctx);
	size_t off = 0, len = 0, applied = 0;
	struct mfv_buf last;
	const char *why;
	int r;

	if (http_since(url, from, ans, sizeof(ans), &off, &len, &why) != 0) {
		printf("TRUST ERROR %s/since/%" PRIu32 ": %s\n", url, from, why);
		return 0;
	}
	r = mfv_bundle_apply_since(ctx, ans + off, len, &applied, &last);
	if (applied > 0 && store_state(state, last.p, last.len) != 0) {
		/* Applied in RAM, lost at the next boot: not fatal now, and the
		 * next update fetches the same bundles again. */
		printf("TRUST ERROR storing %s: %s\n", state, strerror(errno));
	}
	if (r != 0)
		printf("TRUST REFUSED %s applied=%zu version=%" PRIu32 "\n", mfv_errname(r), applied,
		       mfv_bundle_version(ctx));
	else
		printf("TRUST applied=%zu version=%" PRIu32 " %s\n", applied, mfv_bundle_version(ctx),
		       applied > 0 ? "stored" : "unchanged");
	return applied;
}

/* One connection: handshake, and on success one HTTP GET.  Returns 0
 * verified, 1 refused (the error in *verdict), 2 network error. */
static int
connect_once(mbedtls_ssl_config *conf, struct mfv_mbedtls *ad, struct mfv_ctx *ctx,
             const uint8_t *ocsp, size_t ocsp_len, const char *addr, const char *port,
             const char *host, int quiet_unanchored, int *verdict)
{
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	struct mfv_result res;
	char ebuf[160], req[512];
	unsigned char resp[512];
	int r, i, rc = 2;

	mbedtls_net_init(&net);
	mbedtls_ssl_init(&ssl);
	/* A verdict is never carried over from an earlier handshake. */
	mfv_mbedtls_init(ad, ctx);
	if (ocsp_len > 0)
		mfv_mbedtls_set_ocsp(ad, ocsp, ocsp_len);
	*verdict = MFV_ERR_INVALID_ARG;
	/* The host name goes out as SNI; the name check is the verifier's. */
	if ((r = mbedtls_ssl_setup(&ssl, conf)) != 0 || (r = mbedtls_ssl_set_hostname(&ssl, host)) != 0 ||
	    (r = mbedtls_net_connect(&net, addr, port, MBEDTLS_NET_PROTO_TCP)) != 0) {
		mbedtls_strerror(r, ebuf, sizeof(ebuf));
		printf("ERROR connect %s:%s: %s\n", addr, port, ebuf);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	do
		r = mbedtls_ssl_handshake(&ssl);
	while (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);

	/* The verdict is the adapter's, whatever mbedTLS says. */
	*verdict = mfv_mbedtls_result(ad, &res);
	if (*verdict != 0) {
		if (*verdict == MFV_ERR_INVALID_ARG && r != 0) {
			mbedtls_strerror(r, ebuf, sizeof(ebuf));
			printf("ERROR handshake failed before verification: %s\n", ebuf);
			goto out;
		}
		if (quiet_unanchored)
			printf("UNANCHORED %s version=%" PRIu32 "\n", mfv_errname(*verdict),
			       mfv_bundle_version(ctx));
		else
			printf("REFUSED %s depth=%d: %s\n", mfv_errname(*verdict), res.depth,
			       mfv_strerror(*verdict));
		rc = 1;
		goto out;
	}
	if (r != 0) {
		mbedtls_strerror(r, ebuf, sizeof(ebuf));
		printf("ERROR handshake failed after verification: %s\n", ebuf);
		goto out;
	}
	printf("VERIFIED path=%u anchor=", res.path_len);
	for (i = 0; i < MFV_HASH_LEN; i++)
		printf("%02x", res.anchor[i]);
	printf(" lkgt=%" PRId64 " not-after=%" PRId64 "%s%s%s", res.lkgt, res.leaf_not_after,
	       res.flags & MFV_RES_OCSP_GOOD ? " ocsp-good" : "",
	       res.flags & MFV_RES_TIME_UNKNOWN ? " time-unknown" : "",
	       res.flags & MFV_RES_LKGT_ADVANCED ? " lkgt-advanced" : "");
	if (mfv_bundle_version(ctx) > 0)
		printf(" bundle=%" PRIu32, mfv_bundle_version(ctx));
	printf("\n");

	snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
	while ((r = mbedtls_ssl_write(&ssl, (const unsigned char *)req, strlen(req))) <= 0)
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
	memset(resp, 0, sizeof(resp));
	r = r > 0 ? mbedtls_ssl_read(&ssl, resp, sizeof(resp) - 1) : r;
	if (r > 0) {
		char *nl = strpbrk((char *)resp, "\r\n");
		if (nl != NULL)
			*nl = '\0';
		printf("HTTP %s\n", (char *)resp);
	} else {
		printf("HTTP (no response)\n");
	}
	mbedtls_ssl_close_notify(&ssl);
	rc = 0;
out:
	mbedtls_ssl_free(&ssl);
	mbedtls_net_free(&net);
	return rc;
}

/* The chain ends in a root the device does not pin, or in nothing it
 * knows: what a root rotation it slept through looks like. */
static int
unanchored(int verdict)
{
	return verdict == MFV_ERR_UNTRUSTED_ROOT || verdict == MFV_ERR_ISSUER_NOT_FOUND;
}

int
main(int argc, char **argv)
{
	/* Static, as firmware would have them: the verifier's context is a
	 * few KiB and the staple buffer is sized by the library's limit. */
	static struct mfv_ctx ctx;
	static struct mfv_mbedtls ad;
	static uint8_t ocsp[MFV_MAX_OCSP_SIZE], state[STATE_MAX];
	const char *addr = NULL, *port = NULL, *host = NULL, *ocsp_file = NULL;
	const char *state_file = NULL, *trust_url = NULL;
	long long maxlife = 86400, t = -1, lkgt = -1, skew = 0, v;
	uint8_t pin[MFV_HASH_LEN];
	int npins = 0, i, r, rc = 2, verdict, update_first = 0, fetched = 0;
	size_t ocsp_len = 0, state_len = 0;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	char ebuf[160];

	mfv_init(&ctx);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--update-first") == 0) {
			update_first = 1;
			continue;
		}
		if (a == NULL) {
			rc = usage();
			goto out;
		}
		i++;
		if (strcmp(o, "--connect") == 0)
			addr = a;
		else if (strcmp(o, "--port") == 0)
			port = a;
		else if (strcmp(o, "--host") == 0)
			host = a;
		else if (strcmp(o, "--ocsp") == 0)
			ocsp_file = a;
		else if (strcmp(o, "--trust-state") == 0)
			state_file = a;
		else if (strcmp(o, "--trust-url") == 0)
			trust_url = a;
		else if (strcmp(o, "--root-hash") == 0) {
			if (parse_hex(a, pin) != 0 || mfv_add_root(&ctx, pin) != 0) {
				fprintf(stderr, "ERROR bad or too many --root-hash: %s\n", a);
				goto out;
			}
			npins++;
		} else if (strcmp(o, "--max-lifetime") == 0 && parse_num(a, &v) == 0 && v >= 0 &&
		           v <= UINT32_MAX)
			maxlife = v;
		else if (strcmp(o, "--time") == 0 && parse_num(a, &v) == 0)
			t = v;
		else if (strcmp(o, "--lkgt") == 0 && parse_num(a, &v) == 0)
			lkgt = v;
		else if (strcmp(o, "--skew") == 0 && parse_num(a, &v) == 0 && v >= 0 && v <= 86400)
			skew = v;
		else {
			rc = usage();
			goto out;
		}
	}
	/* Pins or a trust state, not both: a stored bundle replaces the pins. */
	if (addr == NULL || port == NULL || host == NULL || (npins == 0) == (state_file == NULL) ||
	    (trust_url != NULL && state_file == NULL) || (update_first && trust_url == NULL)) {
		rc = usage();
		goto out;
	}
	if (mfv_set_host(&ctx, host, strlen(host)) != 0) {
		fprintf(stderr, "ERROR bad host name: %s\n", host);
		goto out;
	}
	mfv_set_max_lifetime(&ctx, (uint32_t)maxlife);
	mfv_set_skew(&ctx, (uint32_t)skew);
	/* A device without a clock passes only --lkgt; this host has one. */
	if (lkgt >= 0)
		mfv_set_lkgt(&ctx, lkgt);
	if (t >= 0)
		mfv_set_time(&ctx, t);
	else if (lkgt < 0)
		mfv_set_time(&ctx, (int64_t)time(NULL));
	/* At boot: the trust state in flash (at first the factory bundle),
	 * trusted as it is because only a verified bundle is ever stored. */
	if (state_file != NULL) {
		if (read_small(state_file, state, sizeof(state), &state_len) != 0 ||
		    (r = mfv_bundle_load(&ctx, state, state_len)) != 0) {
			fprintf(stderr, "ERROR trust state %s: unreadable or not a bundle\n", state_file);
			goto out;
		}
	}

	if (ocsp_file != NULL && read_small(ocsp_file, ocsp, sizeof(ocsp), &ocsp_len) != 0) {
		fprintf(stderr, "ERROR %s: missing, unreadable or larger than %d bytes\n", ocsp_file,
		        MFV_MAX_OCSP_SIZE);
		goto out;
	}

	if ((r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
	                               (const unsigned char *)"mayfly-device", 13)) != 0 ||
	    (r = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                     MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		mbedtls_strerror(r, ebuf, sizeof(ebuf));
		fprintf(stderr, "ERROR mbedtls setup: %s\n", ebuf);
		goto out;
	}
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_read_timeout(&conf, TIMEOUT_MS);
	mfv_mbedtls_setup(&conf, &ad);

	if (update_first) {
		(void)trust_update(&ctx, trust_url, state_file);
		fetched = 1;
	}
	rc = connect_once(&conf, &ad, &ctx, ocsp, ocsp_len, addr, port, host,
	                  trust_url != NULL && !fetched, &verdict);
	/* Cannot anchor: fetch what the device missed, and retry once if
	 * that changed its trust (otherwise the answer would be the same). */
	if (rc == 1 && unanchored(verdict) && trust_url != NULL && !fetched) {
		struct mfv_result res;

		(void)mfv_mbedtls_result(&ad, &res);
		if (trust_update(&ctx, trust_url, state_file) > 0)
			rc = connect_once(&conf, &ad, &ctx, ocsp, ocsp_len, addr, port, host, 0, &verdict);
		else
			printf("REFUSED %s depth=%d: %s\n", mfv_errname(verdict), res.depth,
			       mfv_strerror(verdict));
	}
out:
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}
