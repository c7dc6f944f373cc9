/*
 * ossl_client.c - a TLS client for the tests: OpenSSL with the mayfly
 * checks through adapt_openssl, so that the stapled-OCSP path (which the
 * mbedTLS 2.28 client cannot exercise: it has no status_request) runs in
 * a real handshake against nginx.
 *
 * Usage: ossl_client ADDR PORT HOST ROOTHASH_HEX MAX_LIFETIME [tls1.2|tls1.3]
 * Prints VERIFIED ... (exit 0), REFUSED MFV_ERR_... (exit 1) or ERROR (2),
 * like the device example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "adapt_openssl.h"

int
main(int argc, char **argv)
{
	static struct mfv_ctx ctx;
	static struct mfv_openssl ad;
	struct mfv_result res;
	SSL_CTX *sctx = NULL;
	SSL *ssl = NULL;
	BIO *bio = NULL;
	uint8_t pin[32];
	char target[300];
	unsigned v;
	int i, r, rc = 2, err;

	if (argc < 6 || strlen(argv[4]) != 64) {
		fprintf(stderr, "usage: ossl_client ADDR PORT HOST ROOTHASH MAXLIFE [tls1.2|tls1.3]\n");
		return 2;
	}
	for (i = 0; i < 32; i++) {
		if (sscanf(argv[4] + 2 * i, "%2x", &v) != 1)
			return 2;
		pin[i] = (uint8_t)v;
	}
	mfv_init(&ctx);
	if (mfv_add_root(&ctx, pin) != 0 || mfv_set_host(&ctx, argv[3], strlen(argv[3])) != 0)
		return 2;
	mfv_set_max_lifetime(&ctx, (uint32_t)strtoul(argv[5], NULL, 10));
	mfv_set_time(&ctx, (int64_t)time(NULL));
	mfv_openssl_init(&ad, &ctx);

	if ((sctx = SSL_CTX_new(TLS_client_method())) == NULL || mfv_openssl_setup(sctx, &ad) != 0)
		goto out;
	if (argc > 6) {
		int ver = strcmp(argv[6], "tls1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
		SSL_CTX_set_min_proto_version(sctx, ver);
		SSL_CTX_set_max_proto_version(sctx, ver);
	}
	snprintf(target, sizeof(target), "%s:%s", argv[1], argv[2]);
	if ((bio = BIO_new_ssl_connect(sctx)) == NULL || BIO_get_ssl(bio, &ssl) != 1 ||
	    BIO_set_conn_hostname(bio, target) != 1 || SSL_set_tlsext_host_name(ssl, argv[3]) != 1)
		goto out;
	r = BIO_do_handshake(bio);
	err = mfv_openssl_result(&ad, &res);
	if (err != 0) {
		if (err == MFV_ERR_INVALID_ARG && r <= 0) {
			printf("ERROR handshake failed before verification\n");
			ERR_print_errors_fp(stdout);
			goto out;
		}
		printf("REFUSED %s depth=%d: %s\n", mfv_errname(err), res.depth, mfv_strerror(err));
		rc = 1;
		goto out;
	}
	if (r <= 0) {
		printf("ERROR handshake failed after verification\n");
		ERR_print_errors_fp(stdout);
		goto out;
	}
	printf("VERIFIED path=%u %s%s\n", res.path_len, SSL_get_version(ssl),
	       res.flags & MFV_RES_OCSP_GOOD ? " ocsp-good" : "");
	rc = 0;
out:
	BIO_free_all(bio);
	SSL_CTX_free(sctx);
	return rc;
}
