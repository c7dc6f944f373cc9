/*
 * limbo.c - run the x509-limbo SERVER test cases through libmayfly-verify.
 *
 * x509-limbo (C2SP) is a public corpus of path-validation cases with an
 * expected SUCCESS or FAILURE each.  The library is not a general-purpose
 * validator, so a disagreement is only a bug when the case is inside what
 * mayfly_verify.h says it checks.  Every case lands in one bucket:
 *
 *   pass             same verdict as expected
 *   stricter-scope   expected SUCCESS, refused for a documented reason:
 *                    no serverAuth EKU on the leaf, name constraints,
 *                    an algorithm outside the list, a MFV_MAX_* limit,
 *                    strict DER, an unprocessed critical extension
 *   looser-scope     expected FAILURE, accepted, and the case is about
 *                    something the header lists as not checked (CRLs,
 *                    policies, max depth parameters, public suffixes)
 *   stricter-other   expected SUCCESS, refused for another reason (reported)
 *   looser-other     expected FAILURE, accepted, inside the documented
 *                    scope: these are bugs and make the test fail
 *
 * The input is limbo.json: the first argument, else $MFV_LIMBO, else
 * ../shared/x509-limbo/limbo.json next to the source tree.  Without it the
 * test is skipped (exit 77).  Set MFV_LIMBO_VERBOSE=1 to list every case
 * outside `pass`, =2 to list the passes too, with the library's verdict.
 *
 * Each case: the trusted certificates are pinned (SHA-256 of the DER) and
 * handed over with the peer certificate and the untrusted intermediates;
 * the validation time, the expected peer name (DNS or IP) are set; no
 * lifetime cap (limbo's certificates live for years).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "mayfly_verify.h"

#define MAXC 512

struct pem {
	unsigned char *der[MAXC];
	size_t len[MAXC];
	size_t n;
};

static void
pem_free(struct pem *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		OPENSSL_free(p->der[i]);
	p->n = 0;
}

/* Append the certificates of a PEM string; -1 if there are too many. */
static int
pem_add(struct pem *p, const char *text)
{
	BIO *b = BIO_new_mem_buf(text, -1);
	char *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	long len;
	int rc = 0;

	if (b == NULL)
		return -1;
	while (PEM_read_bio(b, &name, &hdr, &data, &len) == 1) {
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		if (p->n == MAXC) {
			OPENSSL_free(data);
			rc = -1;
			break;
		}
		p->der[p->n] = data;
		p->len[p->n++] = (size_t)len;
	}
	ERR_clear_error();
	BIO_free(b);
	return rc;
}

/* "2024-01-01T00:00:00+00:00" or "...Z" into seconds since 1970 (UTC). */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, se;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6)
		return -1;
	/* Fractions of a second are dropped: the library counts seconds. */
	s += 19;
	if (*s == '.')
		s += 1 + strspn(s + 1, "0123456789");
	if (*s != '\0' && strcmp(s, "+00:00") != 0 && strcmp(s, "Z") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int
has_feature(json_t *tc, const char *f)
{
	json_t *a = json_object_get(tc, "features"), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), f) == 0)
			return 1;
	return 0;
}

/* Expected FAILURE, accepted: is the case about something mayfly_verify.h
 * lists under WHAT IT DOES NOT CHECK? */
static const char *
looser_scope(json_t *tc, const char *id)
{
	json_t *crls = json_object_get(tc, "crls");

	if (has_feature(tc, "has-crl") || (json_is_array(crls) && json_array_size(crls) > 0))
		return "CRLs are not checked";
	if (has_feature(tc, "has-policy-constraints"))
		return "certificate policies are not checked";
	if (json_is_integer(json_object_get(tc, "max_chain_depth")))
		return "no caller-set depth limit (MFV_MAX_PATH only)";
	/* A wildcard over a public suffix is refused only when the CN
	 * gives it away (libmayfly-verify(3) says why no list is kept). */
	if (has_feature(tc, "pedantic-public-suffix-wildcard"))
		return "no public-suffix list";
	if (has_feature(tc, "name-constraint-dn"))
		return "name constraints (refused, but DN forms not parsed)";
	/* Everything else the header once left to issuance profiles (key
	 * identifiers, CN against SAN, dNSName syntax, criticality rules,
	 * serial zero, RSA granularity, malformed AIA, root EKU...) is now
	 * refused: an acceptance there is a LOOSER case. */
	return NULL;
}

/* Expected SUCCESS, refused: a documented refusal? */
static const char *
stricter_scope(int rc)
{
	switch (rc) {
	case MFV_ERR_EKU: return "leaf must carry serverAuth";
	case MFV_ERR_LEAF_IS_CA: return "the leaf must not be a CA";
	case MFV_ERR_NAME_CONSTRAINTS: return "name constraints are refused";
	case MFV_ERR_UNSUPPORTED_ALG:
	case MFV_ERR_WEAK_KEY: return "algorithm outside the supported list";
	case MFV_ERR_TOO_MANY:
	case MFV_ERR_CHAIN_TOO_LONG:
	case MFV_ERR_CERT_TOO_LARGE: return "MFV_MAX_* limit";
	case MFV_ERR_UNSUPPORTED_CRITICAL_EXT: return "critical extension not processed";
	case MFV_ERR_DER_TRUNCATED:
	case MFV_ERR_DER_TRAILING:
	case MFV_ERR_DER_LENGTH:
	case MFV_ERR_DER_TAG:
	case MFV_ERR_DER_VALUE:
	case MFV_ERR_BAD_INTEGER:
	case MFV_ERR_BAD_SERIAL:
	case MFV_ERR_BAD_TIME:
	case MFV_ERR_BAD_VERSION: return "strict DER / X.509 v3 only";
	case MFV_ERR_NO_ROOTS: return "more trusted certificates than MFV_MAX_ROOTS";
	case MFV_ERR_PROFILE: return "RFC 5280 / Baseline Requirements profile rule (CN among the SANs...)";
	}
	return NULL;
}

/*
 * The profile classes of issue 12 (libmayfly-verify(3), "Profile"): which
 * expected-FAILURE cases belong to each, so that a run prints how many of
 * them the library accepts.  A case id matches an entry ending in ':' or
 * '-' as a prefix, any other entry exactly.  The same class names as the
 * per-class counts of mfv_diffgen.
 */
static const struct pclass {
	const char *name;
	const char *ids[8];
} pclasses[] = {
	{ "cn-not-in-san", { "webpki::cn::" } },
	{ "aki-ski", { "rfc5280::aki::", "rfc5280::ski::" } },
	{ "root-eku-aki", { "webpki::aki::root-with-", "webpki::eku::root-has-eku" } },
	{ "leaf-keycertsign", { "rfc5280::leaf-ku-keycertsign" } },
	{ "serial-zero", { "rfc5280::serial::zero" } },
	{ "empty-issuer-subject", { "rfc5280::ca-empty-subject", "rfc5280::ee-empty-issuer" } },
	{ "bc-noncrit-root", { "rfc5280::root-non-critical-basic-constraints" } },
	{ "leaf-anyeku-crit-eku", { "webpki::eku::ee-anyeku", "webpki::eku::ee-critical-eku" } },
	{ "rsa-not-8", { "webpki::forbidden-rsa-not-divisible-by-8-in-root",
	                 "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf" } },
	{ "ps-wildcard", { "webpki::san::public-suffix-" } },
	{ "underscore-san", { "rfc5280::san::underscore-dns" } },
	{ "bad-aia", { "webpki::malformed-aia" } },
	{ "pc-noncrit", { "rfc5280::pc::ica-noncritical-pc" } },
	/* Not in the list, refused by the same work. */
	{ "san-crit-vs-subject", { "rfc5280::san::noncritical-with-empty-subject",
	                           "webpki::san::san-critical-with-nonempty-subject" } },
};
#define NPCLASS (sizeof(pclasses) / sizeof(pclasses[0]))

static int
pclass_of(const char *id)
{
	size_t c, k, l;

	for (c = 0; c < NPCLASS; c++)
		for (k = 0; k < 8 && pclasses[c].ids[k] != NULL; k++) {
			l = strlen(pclasses[c].ids[k]);
			if (strchr(":-", pclasses[c].ids[k][l - 1]) != NULL
			    ? strncmp(id, pclasses[c].ids[k], l) == 0 : strcmp(id, pclasses[c].ids[k]) == 0)
				return (int)c;
		}
	return -1;
}

int
main(int argc, char **argv)
{
	static struct mfv_ctx ctx;
	const char *path = argc > 1 ? argv[1] : getenv("MFV_LIMBO");
	int verbose = getenv("MFV_LIMBO_VERBOSE") ? atoi(getenv("MFV_LIMBO_VERBOSE")) : 0;
	unsigned long n_server = 0, pass = 0, stricter_scope_n = 0, looser_scope_n = 0;
	unsigned long stricter_other = 0, looser_other = 0, skipped = 0;
	unsigned long pc_n[NPCLASS] = { 0 }, pc_acc[NPCLASS] = { 0 };
	json_error_t jerr;
	json_t *root, *cases, *tc;
	size_t idx;
	FILE *f;

	if (path == NULL)
		path = MFV_LIMBO_DEFAULT;
	if ((f = fopen(path, "r")) == NULL) {
		printf("SKIP: no x509-limbo corpus at %s\n", path);
		return 77;
	}
	root = json_loadf(f, 0, &jerr);
	fclose(f);
	if (root == NULL || !json_is_array(cases = json_object_get(root, "testcases"))) {
		printf("FAIL: %s: %s (line %d)\n", path, root ? "no testcases" : jerr.text, jerr.line);
		json_decref(root);
		return 1;
	}

	json_array_foreach(cases, idx, tc) {
		const char *kind = json_string_value(json_object_get(tc, "validation_kind"));
		const char *id = json_string_value(json_object_get(tc, "id"));
		const char *exp = json_string_value(json_object_get(tc, "expected_result"));
		const char *vt = json_string_value(json_object_get(tc, "validation_time"));
		json_t *name = json_object_get(tc, "expected_peer_name"), *v;
		static struct pem leaf, inter, trust;
		static struct mfv_buf bufs[3 * MAXC];
		struct mfv_result res;
		uint8_t h[32], ip[16];
		int64_t t = 0;
		size_t i, n = 0;
		int rc, want_ok, bad = 0, pc;
		const char *why;

		if (kind == NULL || strcmp(kind, "SERVER") != 0 || id == NULL || exp == NULL)
			continue;
		n_server++;
		want_ok = strcmp(exp, "SUCCESS") == 0;
		if ((pc = want_ok ? -1 : pclass_of(id)) >= 0)
			pc_n[pc]++;
		mfv_init(&ctx);
		if (vt != NULL) {
			if (parse_time(vt, &t) != 0)
				bad = 1;
			mfv_set_time(&ctx, t);
		} else
			mfv_set_time(&ctx, (int64_t)time(NULL));
		if (json_is_object(name)) {
			const char *nk = json_string_value(json_object_get(name, "kind"));
			const char *nv = json_string_value(json_object_get(name, "value"));
			if (nk == NULL || nv == NULL)
				bad = 1;
			else if (strcmp(nk, "DNS") == 0)
				rc = mfv_set_host(&ctx, nv, strlen(nv));
			else if (strcmp(nk, "IP") == 0) {
				if (inet_pton(AF_INET, nv, ip) == 1)
					rc = mfv_set_ip(&ctx, ip, 4);
				else
					rc = inet_pton(AF_INET6, nv, ip) == 1 ? mfv_set_ip(&ctx, ip, 16)
					                                       : MFV_ERR_INVALID_ARG;
			} else
				rc = MFV_ERR_INVALID_ARG;
			/* A name the library cannot even take (e.g. a wildcard or
			 * an empty label) can never be matched: a refusal. */
			if (!bad && rc != 0) {
				if (want_ok) {
					stricter_other++;
					printf("stricter-other %s: peer name refused by mfv_set_*: %s\n", id,
					       mfv_errname(rc));
				} else
					pass++;
				continue;
			}
		}
		if (pem_add(&leaf, json_string_value(json_object_get(tc, "peer_certificate"))) != 0 ||
		    leaf.n != 1)
			bad = 1;
		json_array_foreach(json_object_get(tc, "untrusted_intermediates"), i, v)
			if (pem_add(&inter, json_string_value(v)) != 0)
				bad = 1;
		json_array_foreach(json_object_get(tc, "trusted_certs"), i, v)
			if (pem_add(&trust, json_string_value(v)) != 0)
				bad = 1;
		if (bad) {
			skipped++;
			printf("skipped %s: input the runner cannot load (leaf %zu, time %s)\n", id, leaf.n,
			       vt ? vt : "none");
			goto next;
		}
		for (i = 0; i < trust.n; i++) {
			EVP_Digest(trust.der[i], trust.len[i], h, NULL, EVP_sha256(), NULL);
			(void)mfv_add_root(&ctx, h); /* past MFV_MAX_ROOTS: fewer pins */
		}
		bufs[n].p = leaf.der[0];
		bufs[n++].len = leaf.len[0];
		for (i = 0; i < inter.n; i++) {
			bufs[n].p = inter.der[i];
			bufs[n++].len = inter.len[i];
		}
		for (i = 0; i < trust.n; i++) {
			bufs[n].p = trust.der[i];
			bufs[n++].len = trust.len[i];
		}
		rc = mfv_verify(&ctx, bufs, n, NULL, &res);
		if (pc >= 0 && rc == 0)
			pc_acc[pc]++;
		if ((rc == 0) == want_ok) {
			pass++;
			if (verbose > 1)
				printf("pass %s: %s\n", id, mfv_errname(rc));
		} else if (want_ok) {
			if ((why = stricter_scope(rc)) != NULL) {
				stricter_scope_n++;
				if (verbose)
					printf("stricter-scope %s: %s (%s)\n", id, mfv_errname(rc), why);
			} else {
				stricter_other++;
				printf("stricter-other %s: %s depth %d\n", id, mfv_errname(rc), res.depth);
			}
		} else {
			if ((why = looser_scope(tc, id)) != NULL) {
				looser_scope_n++;
				if (verbose)
					printf("looser-scope %s: accepted (%s)\n", id, why);
			} else {
				looser_other++;
				printf("LOOSER %s: accepted, expected FAILURE\n", id);
			}
		}
next:
		pem_free(&leaf);
		pem_free(&inter);
		pem_free(&trust);
	}
	json_decref(root);
	printf("limbo: %lu SERVER cases: pass %lu, stricter (documented scope) %lu, looser "
	       "(documented scope) %lu, stricter (other) %lu, looser (other) %lu, skipped %lu\n",
	       n_server, pass, stricter_scope_n, looser_scope_n, stricter_other, looser_other, skipped);
	printf("  profile classes (accepted/expected-FAILURE cases):");
	for (idx = 0; idx < NPCLASS; idx++)
		printf(" %s=%lu/%lu", pclasses[idx].name, pc_acc[idx], pc_n[idx]);
	printf("\n");
	return looser_other == 0 && n_server > 0 ? 0 : 1;
}
