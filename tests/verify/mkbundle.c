/*
 * mkbundle.c - mfv-mkbundle, a tool that makes signed trust bundles
 * (mayfly-bundle(5)) from certificate and key files, for tests and for
 * trying the format by hand.  The mayfly admin CLI is where production
 * bundles are made; this tool exists so the verifier can be tested
 * without it.
 *
 *   mfv-mkbundle --version N --issued-at UNIX [--not-after UNIX]
 *                --threshold K (--pin-cert PEM | --pin-spki PEM | --pin-hash HEX)...
 *                --sign CERT.pem KEY.pem [--sign ...] --out FILE
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bundle_make.h"

#define MAXN 8

static int
usage(void)
{
	fprintf(stderr, "usage: mfv-mkbundle --version N --issued-at UNIX [--not-after UNIX] --threshold K\n"
	        "       (--pin-cert PEM | --pin-spki PEM | --pin-hash HEX)... --sign CERT KEY... --out FILE\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "issued-at", required_argument, NULL, 'i' },
		{ "not-after", required_argument, NULL, 'n' },
		{ "threshold", required_argument, NULL, 't' },
		{ "pin-cert", required_argument, NULL, 'c' },
		{ "pin-spki", required_argument, NULL, 's' },
		{ "pin-hash", required_argument, NULL, 'h' },
		{ "sign", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t roots[MAXN][32];
	const char *certs[MAXN], *keys[MAXN], *outpath = NULL;
	struct mkb_spec spec;
	unsigned char *der = NULL;
	size_t len, k;
	unsigned v;
	FILE *f;
	int ch;

	memset(&spec, 0, sizeof(spec));
	spec.roots = (const uint8_t (*)[32])roots;
	spec.signer_certs = certs;
	spec.signer_keys = keys;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'v': spec.version = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'i': spec.issued_at = strtoll(optarg, NULL, 10); break;
		case 'n': spec.not_after = strtoll(optarg, NULL, 10); break;
		case 't': spec.threshold = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c':
		case 's':
			if (spec.n_roots >= MAXN || mkb_pin(optarg, ch == 's', roots[spec.n_roots]) != 0)
				return usage();
			spec.n_roots++;
			break;
		case 'h':
			if (spec.n_roots >= MAXN || strlen(optarg) != 64)
				return usage();
			for (k = 0; k < 32; k++) {
				if (sscanf(optarg + 2 * k, "%2x", &v) != 1)
					return usage();
				roots[spec.n_roots][k] = (uint8_t)v;
			}
			spec.n_roots++;
			break;
		case 'S':
			/* --sign CERT KEY: the key is the next argument. */
			if (spec.n_signers >= MAXN || optind >= argc)
				return usage();
			certs[spec.n_signers] = optarg;
			keys[spec.n_signers++] = argv[optind++];
			break;
		case 'o': outpath = optarg; break;
		default: return usage();
		}
	}
	if (optind != argc || outpath == NULL || spec.version == 0 || spec.issued_at == 0)
		return usage();
	if (mkb_make(&spec, &der, &len) != 0) {
		fprintf(stderr, "mfv-mkbundle: cannot sign (unreadable certificate or key?)\n");
		return 1;
	}
	if ((f = fopen(outpath, "wb")) == NULL || fwrite(der, 1, len, f) != len || fclose(f) != 0) {
		perror(outpath);
		free(der);
		return 1;
	}
	free(der);
	return 0;
}
