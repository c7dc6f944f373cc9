/*
 * mayfly-verify.c - host command line around libmayfly-verify.
 *
 * Lets operators, CI jobs of device vendors and our own tests ask "would a
 * device accept this chain?" with exactly the code a device runs.  OpenSSL
 * is used here only to decode PEM (base64 and armour), never to parse a
 * certificate: the library sees the raw bytes, malformed ones included.
 *
 * Exit status: 0 accepted, 1 refused (one line on stderr naming the stable
 * error), 2 usage error or input that could not be read.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <curl/curl.h>
#include "mayfly_verify.h"

#define MAX_PEM 16
#define MAX_BUNDLES 8
#define MAX_BUNDLE_SIZE 16384
/* A /trust/since/N answer: every bundle after N (a few KiB each). */
#define MAX_SINCE_SIZE (1024 * 1024)

struct pemset {
	unsigned char *der[MAX_PEM];
	long len[MAX_PEM];
	size_t n;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mayfly-verify (--roots FILE | --root-hash HEX)... --chain FILE\n"
	    "                     [--time UNIX] [--lkgt UNIX] [--skew SECONDS]\n"
	    "                     [--host NAME | --ip ADDR] [--max-lifetime SECONDS]\n"
	    "                     [--ocsp FILE] [--client] [--bundle FILE]...\n"
	    "                     [--bundles-from FILE|URL] [--repeat N]\n");
}

static void
pemset_free(struct pemset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		OPENSSL_free(s->der[i]);
	s->n = 0;
}

/* Read every CERTIFICATE block of a PEM file, appending to s.  Returns 0 or
 * -1 with a message printed. */
static int
read_pem(const char *path, struct pemset *s)
{
	BIO *bio = BIO_new_file(path, "r");
	char *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	long len = 0;
	size_t before = s->n;
	int rc = -1;

	if (bio == NULL) {
		fprintf(stderr, "mayfly-verify: cannot open %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (PEM_read_bio(bio, &name, &hdr, &data, &len) == 1) {
		if (strcmp(name, "CERTIFICATE") != 0) {
			fprintf(stderr, "mayfly-verify: %s: unexpected PEM block %s\n", path, name);
			goto out;
		}
		if (s->n >= MAX_PEM) {
			fprintf(stderr, "mayfly-verify: %s: too many certificates\n", path);
			goto out;
		}
		s->der[s->n] = data;
		s->len[s->n++] = len;
		data = NULL;
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		name = hdr = NULL;
	}
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		fprintf(stderr, "mayfly-verify: %s: bad PEM\n", path);
		goto out;
	}
	if (s->n == before) {
		fprintf(stderr, "mayfly-verify: %s: no certificate\n", path);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

static int
read_file(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "mayfly-verify: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, cap, f);
	if (ferror(f) || (!feof(f) && fgetc(f) != EOF)) {
		fprintf(stderr, "mayfly-verify: %s: unreadable or larger than %zu bytes\n", path, cap);
		fclose(f);
		return -1;
	}
	fclose(f);
	*len = n;
	return 0;
}

struct fetch {
	unsigned char *buf;
	size_t len, cap;
};

static size_t
fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;

	if (n > 0 && size > (f->cap - f->len) / n)
		return 0; /* larger than the cap: libcurl fails the transfer */
	memcpy(f->buf + f->len, p, size * n);
	f->len += size * n;
	return size * n;
}

/* Read a /trust/since/N answer from a file, or fetch it with libcurl when
 * src is a URL (http, https, file).  Returns 0 or -1 with a message. */
static int
read_since(const char *src, unsigned char *buf, size_t cap, size_t *len)
{
	struct fetch f = { buf, 0, cap };
	char err[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	CURL *c;

	if (strstr(src, "://") == NULL)
		return read_file(src, buf, cap, len);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (c = curl_easy_init()) == NULL) {
		fprintf(stderr, "mayfly-verify: cannot initialise libcurl\n");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, src);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (cc != CURLE_OK) {
		fprintf(stderr, "mayfly-verify: %s: %s\n", src,
		        cc == CURLE_WRITE_ERROR ? "answer too large" : err[0] ? err : curl_easy_strerror(cc));
		return -1;
	}
	*len = f.len;
	return 0;
}

static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
parse_hex32(const char *s, uint8_t out[MFV_HASH_LEN])
{
	unsigned i, v;

	if (strlen(s) != 2 * MFV_HASH_LEN)
		return -1;
	for (i = 0; i < MFV_HASH_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int
run(struct mfv_ctx *ctx, const struct pemset *chain, const struct pemset *extra, size_t only,
    const struct mfv_buf *ocsp, struct mfv_result *res)
{
	struct mfv_buf certs[MFV_MAX_CERTS];
	size_t i, n = 0;

	for (i = 0; i < chain->n; i++) {
		certs[n].p = chain->der[i];
		certs[n++].len = (size_t)chain->len[i];
	}
	for (i = 0; i < extra->n; i++) {
		if (only != (size_t)-1 && i != only)
			continue;
		certs[n].p = extra->der[i];
		certs[n++].len = (size_t)extra->len[i];
	}
	return mfv_verify(ctx, certs, n, ocsp, res);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "roots", required_argument, NULL, 'r' },
		{ "root-hash", required_argument, NULL, 'R' },
		{ "chain", required_argument, NULL, 'c' },
		{ "time", required_argument, NULL, 't' },
		{ "lkgt", required_argument, NULL, 'l' },
		{ "skew", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "ip", required_argument, NULL, 'i' },
		{ "max-lifetime", required_argument, NULL, 'm' },
		{ "ocsp", required_argument, NULL, 'o' },
		{ "client", no_argument, NULL, 'C' },
		{ "bundle", required_argument, NULL, 'B' },
		{ "bundles-from", required_argument, NULL, 'F' },
		{ "repeat", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct mfv_ctx ctx;
	static unsigned char ocspbuf[MFV_MAX_OCSP_SIZE];
	static unsigned char bundlebuf[MAX_BUNDLES][MAX_BUNDLE_SIZE];
	static unsigned char sincebuf[MAX_SINCE_SIZE];
	const char *since_src = NULL;
	struct mfv_buf bundles[MAX_BUNDLES];
	const char *bundle_path[MAX_BUNDLES];
	size_t n_bundles = 0, applied;
	struct pemset chain = { { 0 }, { 0 }, 0 }, roots = { { 0 }, { 0 }, 0 }, none = { { 0 }, { 0 }, 0 };
	struct mfv_buf ocsp = { NULL, 0 };
	struct mfv_result res;
	const char *chain_path = NULL, *host = NULL, *ip = NULL, *ocsp_path = NULL;
	uint8_t hash[MFV_HASH_LEN], ipbuf[16];
	int64_t v;
	int ch, rc, ret = 2, have_roots = 0;
	long repeat = 1, r;
	size_t i;
	unsigned k;

	mfv_init(&ctx);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (read_pem(optarg, &roots) != 0)
				goto out;
			have_roots = 1;
			break;
		case 'R':
			if (parse_hex32(optarg, hash) != 0) {
				fprintf(stderr, "mayfly-verify: --root-hash wants 64 hex digits\n");
				goto out;
			}
			if (mfv_add_root(&ctx, hash) != 0) {
				fprintf(stderr, "mayfly-verify: more than %d roots\n", MFV_MAX_ROOTS);
				goto out;
			}
			have_roots = 1;
			break;
		case 'c': chain_path = optarg; break;
		case 't':
			if (parse_i64(optarg, &v) != 0)
				goto bad;
			mfv_set_time(&ctx, v);
			break;
		case 'l':
			if (parse_i64(optarg, &v) != 0 || v < 0)
				goto bad;
			mfv_set_lkgt(&ctx, v);
			break;
		case 's':
			if (parse_i64(optarg, &v) != 0 || v < 0 || v > 86400 * 365)
				goto bad;
			mfv_set_skew(&ctx, (uint32_t)v);
			break;
		case 'm':
			if (parse_i64(optarg, &v) != 0 || v <= 0 || v > UINT32_MAX)
				goto bad;
			mfv_set_max_lifetime(&ctx, (uint32_t)v);
			break;
		case 'H': host = optarg; break;
		case 'i': ip = optarg; break;
		case 'o': ocsp_path = optarg; break;
		case 'C': mfv_set_flags(&ctx, MFV_FLAG_CLIENT_AUTH); break;
		case 'N':
			if (parse_i64(optarg, &v) != 0 || v < 1 || v > 1000000)
				goto bad;
			repeat = (long)v;
			break;
		case 'B':
			if (n_bundles >= MAX_BUNDLES) {
				fprintf(stderr, "mayfly-verify: more than %d bundles\n", MAX_BUNDLES);
				goto out;
			}
			bundle_path[n_bundles++] = optarg;
			break;
		case 'F': since_src = optarg; break;
		case 'h': usage(stdout); ret = 0; goto out;
		default: goto bad;
		}
	}
	if (optind != argc || chain_path == NULL || !have_roots || (host != NULL && ip != NULL))
		goto bad;
	if (read_pem(chain_path, &chain) != 0)
		goto out;
	if (chain.n > MFV_MAX_CERTS) {
		fprintf(stderr, "mayfly-verify: more than %d certificates in %s\n", MFV_MAX_CERTS,
		        chain_path);
		goto out;
	}
	/* Pin each root certificate by the hash of its DER. */
	for (i = 0; i < roots.n; i++) {
		if (EVP_Digest(roots.der[i], (size_t)roots.len[i], hash, NULL, EVP_sha256(), NULL) != 1 ||
		    mfv_add_root(&ctx, hash) != 0) {
			fprintf(stderr, "mayfly-verify: more than %d roots\n", MFV_MAX_ROOTS);
			goto out;
		}
	}
	if (host != NULL && mfv_set_host(&ctx, host, strlen(host)) != 0) {
		fprintf(stderr, "mayfly-verify: invalid host name %s\n", host);
		goto out;
	}
	if (ip != NULL) {
		if (inet_pton(AF_INET, ip, ipbuf) == 1)
			rc = mfv_set_ip(&ctx, ipbuf, 4);
		else if (inet_pton(AF_INET6, ip, ipbuf) == 1)
			rc = mfv_set_ip(&ctx, ipbuf, 16);
		else
			rc = -1;
		if (rc != 0) {
			fprintf(stderr, "mayfly-verify: invalid IP address %s\n", ip);
			goto out;
		}
	}
	if (ocsp_path != NULL) {
		if (read_file(ocsp_path, ocspbuf, sizeof(ocspbuf), &ocsp.len) != 0)
			goto out;
		ocsp.p = ocspbuf;
	}
	/* Trust bundles first: they replace the pins, oldest first. */
	for (i = 0; i < n_bundles; i++) {
		if (read_file(bundle_path[i], bundlebuf[i], sizeof(bundlebuf[i]), &bundles[i].len) != 0)
			goto out;
		bundles[i].p = bundlebuf[i];
	}
	if (n_bundles > 0 && (rc = mfv_bundle_apply(&ctx, bundles, n_bundles, &applied)) != 0) {
		fprintf(stderr, "mayfly-verify: REJECT %s: %s (bundle %s)\n", mfv_errname(rc),
		        mfv_strerror(rc), bundle_path[applied]);
		ret = 1;
		goto out;
	}
	/* Then an answer of /trust/since/N, as a device applies it: the
	 * bundles before a bad one stay applied, but here the verdict is a
	 * refusal all the same, so that scripts notice. */
	if (since_src != NULL) {
		size_t len;
		if (read_since(since_src, sincebuf, sizeof(sincebuf), &len) != 0)
			goto out;
		if ((rc = mfv_bundle_apply_since(&ctx, sincebuf, len, &applied, NULL)) != 0) {
			fprintf(stderr, "mayfly-verify: REJECT %s: %s (%s: %zu bundles applied, "
			        "then this; holding version %" PRIu32 ")\n", mfv_errname(rc),
			        mfv_strerror(rc), since_src, applied, mfv_bundle_version(&ctx));
			ret = 1;
			goto out;
		}
	}

	/* The device holds only hashes, so the root certificate must be in
	 * the chain; with --roots we add the root certificates ourselves, all
	 * at once if they fit, else one at a time. */
	/* --repeat: the same verification again, for profiling (the
	 * backend's one-time set-up then no longer dominates). */
	for (r = 1; r < repeat; r++)
		(void)run(&ctx, &chain, chain.n + roots.n <= MFV_MAX_CERTS ? &roots : &none, (size_t)-1,
		          ocsp_path ? &ocsp : NULL, &res);
	if (chain.n + roots.n <= MFV_MAX_CERTS) {
		rc = run(&ctx, &chain, &roots, (size_t)-1, ocsp_path ? &ocsp : NULL, &res);
	} else {
		rc = run(&ctx, &chain, &none, (size_t)-1, ocsp_path ? &ocsp : NULL, &res);
		for (i = 0; rc != 0 && i < roots.n && chain.n < MFV_MAX_CERTS; i++)
			rc = run(&ctx, &chain, &roots, i, ocsp_path ? &ocsp : NULL, &res);
	}
	if (rc != 0) {
		fprintf(stderr, "mayfly-verify: REJECT %s: %s", mfv_errname(rc), mfv_strerror(rc));
		if (res.depth >= 0)
			fprintf(stderr, " (certificate %d)", res.depth);
		fputc('\n', stderr);
		ret = 1;
		goto out;
	}
	printf("OK path=%u anchor=", res.path_len);
	for (k = 0; k < MFV_HASH_LEN; k++)
		printf("%02x", res.anchor[k]);
	if (n_bundles > 0 || since_src != NULL)
		printf(" bundle=%" PRIu32, mfv_bundle_version(&ctx));
	printf(" lkgt=%" PRId64 "%s%s%s%s\n", res.lkgt,
	       (res.flags & MFV_RES_TIME_UNKNOWN) ? " time-unknown" : "",
	       (res.flags & MFV_RES_NAME_UNCHECKED) ? " name-unchecked" : "",
	       (res.flags & MFV_RES_OCSP_GOOD) ? " ocsp-good" : "",
	       (res.flags & MFV_RES_MUST_STAPLE) ? " must-staple" : "");
	ret = 0;
	goto out;
bad:
	usage(stderr);
out:
	pemset_free(&chain);
	pemset_free(&roots);
	return ret;
}
