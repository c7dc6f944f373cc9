/*
 * uacme-cainfo.c: an LD_PRELOAD shim for the uacme run in clients.sh.
 *
 * uacme (libcurl-gnutls) has no option for the CA bundle and trusts only
 * the one built into libcurl. Rather than bind-mount a test root over the
 * machine's bundle (which needs a mount namespace that a CI sandbox may
 * refuse), this shim wraps curl_easy_init() and sets CURLOPT_CAINFO to the
 * file named by MAYFLY_TEST_CAINFO on every handle uacme makes. Nothing
 * else changes: the TLS checks are libcurl's and GnuTLS's own. A handle on
 * which the option cannot be set is refused (NULL), so uacme fails loudly
 * instead of trusting the system bundle.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#include <curl/curl.h>

CURL *
curl_easy_init(void)
{
	CURL *(*real)(void) = (CURL *(*)(void))dlsym(RTLD_NEXT, "curl_easy_init");
	const char *ca = getenv("MAYFLY_TEST_CAINFO");
	CURL *h;

	if (real == NULL || (h = real()) == NULL)
		return NULL;
	if (ca != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, ca) != CURLE_OK) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}
