/*
 * corpus_run.c - run the verifier's case table and print every outcome.
 *
 * The same source is linked twice, once with the OpenSSL backend and once
 * with the mbedTLS backend (the backend is a link-time choice); the test
 * script backends.sh runs both over one corpus and compares the outputs
 * line by line, so any case where the two backends disagree shows up by
 * name.  The case format is tests/verify/cases.txt (see its header); this
 * program reads it independently of check_verify so that it can print what
 * happened rather than assert.
 *
 * Usage: corpus_run CORPUS_DIR CASES_FILE
 * Output, one line per case:  NAME EXPECTED GOT depth=D flags=0xF lkgt=T
 * Exit status 0 if every case ran (whatever its result), 2 on a usage or
 * input error.  Loading PEM and hashing pins uses OpenSSL in both builds:
 * that is test plumbing, not the code under test.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "mayfly_verify.h"
#include "corpus_case.h"

static const char *corpus;
static int64_t test_now;

int
main(int argc, char **argv)
{
	char path[512], line[1024], name[64], chainf[128], expect[64], why[256], *p;
	long long now;
	FILE *f;
	int off, rc, bad = 0;
	struct mfv_result res;

	if (argc != 3) {
		fprintf(stderr, "usage: corpus_run CORPUS_DIR CASES_FILE\n");
		return 2;
	}
	corpus = argv[1];
	snprintf(path, sizeof(path), "%s/tnow", corpus);
	if ((f = fopen(path, "r")) == NULL || fscanf(f, "%lld", &now) != 1) {
		fprintf(stderr, "corpus_run: cannot read %s\n", path);
		return 2;
	}
	fclose(f);
	test_now = now;
	if ((f = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((p = strchr(line, '\n')) != NULL)
			*p = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		off = 0;
		if (sscanf(line, "%63s %127s %63s %n", name, chainf, expect, &off) < 3) {
			fprintf(stderr, "corpus_run: bad line: %s\n", line);
			bad = 1;
			continue;
		}
		rc = mfvt_run_case(corpus, test_now, off > 0 ? line + off : line + strlen(line), chainf,
		                   &res, why, sizeof(why));
		if (rc == 1) {
			fprintf(stderr, "corpus_run: case %s: %s\n", name, why);
			bad = 1;
			continue;
		}
		printf("%s %s %s depth=%d flags=0x%02" PRIx32 " lkgt=%" PRId64 "\n", name, expect,
		       mfvt_case_name(rc), res.depth, res.flags, res.lkgt);
	}
	fclose(f);
	return bad ? 2 : 0;
}
