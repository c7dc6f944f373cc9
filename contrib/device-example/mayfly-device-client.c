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
 * its RTC or its persisted last-known-good time, and store the pins in
 * flash; this example takes them from the command line.  mbedTLS 2.28 has
 * no OCSP stapling in its client: --ocsp FILE lends a response the device
 * fetched separately (for example over HTTP from the CA's responder) and
 * the verifier checks it against the leaf like a staple.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include "adapt_mbedtls.h"
#include "mayfly_verify.h"

#define TIMEOUT_MS 10000

static int
usage(void)
{
	fprintf(stderr,
	        "usage: mayfly-device-client --connect ADDR --port PORT --host NAME\n"
	        "         --root-hash HEX [--root-hash HEX]... [--max-lifetime SECONDS]\n"
	        "         [--ocsp FILE] [--time SECONDS | --lkgt SECONDS] [--skew SECONDS]\n");
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

int
main(int argc, char **argv)
{
	/* Static, as firmware would have them: the verifier's context is a
	 * few KiB and the staple buffer is sized by the library's limit. */
	static struct mfv_ctx ctx;
	static struct mfv_mbedtls ad;
	static uint8_t ocsp[MFV_MAX_OCSP_SIZE];
	const char *addr = NULL, *port = NULL, *host = NULL, *ocsp_file = NULL;
	long long maxlife = 86400, t = -1, lkgt = -1, skew = 0, v;
	uint8_t pin[MFV_HASH_LEN];
	int npins = 0, i, r, rc = 2, verdict;
	size_t ocsp_len = 0;
	mbedtls_net_context net;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct mfv_result res;
	char ebuf[160], req[512];
	unsigned char resp[512];

	mfv_init(&ctx);
	mbedtls_net_init(&net);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

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
	if (addr == NULL || port == NULL || host == NULL || npins == 0) {
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

	mfv_mbedtls_init(&ad, &ctx);
	if (ocsp_file != NULL) {
		FILE *f = fopen(ocsp_file, "rb");

		if (f == NULL) {
			fprintf(stderr, "ERROR %s: %s\n", ocsp_file, strerror(errno));
			goto out;
		}
		ocsp_len = fread(ocsp, 1, sizeof(ocsp), f);
		r = ferror(f) || !feof(f);
		fclose(f);
		if (r || ocsp_len == 0) {
			fprintf(stderr, "ERROR %s: unreadable or larger than %d bytes\n", ocsp_file,
			        MFV_MAX_OCSP_SIZE);
			goto out;
		}
		mfv_mbedtls_set_ocsp(&ad, ocsp, ocsp_len);
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
	/* The host name goes out as SNI; the name check is the verifier's. */
	if ((r = mbedtls_ssl_setup(&ssl, &conf)) != 0 || (r = mbedtls_ssl_set_hostname(&ssl, host)) != 0 ||
	    (r = mbedtls_net_connect(&net, addr, port, MBEDTLS_NET_PROTO_TCP)) != 0) {
		mbedtls_strerror(r, ebuf, sizeof(ebuf));
		fprintf(stderr, "ERROR connect %s:%s: %s\n", addr, port, ebuf);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	do
		r = mbedtls_ssl_handshake(&ssl);
	while (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE);

	/* The verdict is the adapter's, whatever mbedTLS says. */
	verdict = mfv_mbedtls_result(&ad, &res);
	if (verdict != 0) {
		if (verdict == MFV_ERR_INVALID_ARG && r != 0) {
			mbedtls_strerror(r, ebuf, sizeof(ebuf));
			printf("ERROR handshake failed before verification: %s\n", ebuf);
			goto out;
		}
		printf("REFUSED %s depth=%d: %s\n", mfv_errname(verdict), res.depth,
		       mfv_strerror(verdict));
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
	printf(" lkgt=%" PRId64 " not-after=%" PRId64 "%s%s%s\n", res.lkgt, res.leaf_not_after,
	       res.flags & MFV_RES_OCSP_GOOD ? " ocsp-good" : "",
	       res.flags & MFV_RES_TIME_UNKNOWN ? " time-unknown" : "",
	       res.flags & MFV_RES_LKGT_ADVANCED ? " lkgt-advanced" : "");

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
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	mbedtls_net_free(&net);
	return rc;
}
