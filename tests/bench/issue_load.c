/*
 * issue_load.c: load generator for tests/bench/issue-bench.sh. N threads,
 * each with its own kept-alive HTTPS connection (libcurl), POST the same
 * CSR to the bearer-token issuance API for a fixed time and count the
 * certificates they get back.
 *
 *   mayfly-issue-load URL CAFILE TOKENFILE CSRFILE THREADS SECONDS
 */
#include "mf_build.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct job {
	const char *url, *cafile, *csr;
	size_t csrlen;
	struct curl_slist *hdr;
	double deadline;
	unsigned long ok, bad;
	int why_curl;			/* the last failure: curl's code, or ... */
	long why_http;			/* ... the HTTP status that was not 200 */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static void *
run(void *arg)
{
	struct job *j = arg;
	CURL *cu = curl_easy_init();
	long code;

	if (cu == NULL)
		return NULL;
	curl_easy_setopt(cu, CURLOPT_URL, j->url);
	curl_easy_setopt(cu, CURLOPT_CAINFO, j->cafile);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, j->csr);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)j->csrlen);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 30L);
	while (now() < j->deadline) {
		CURLcode cc;

		code = 0;
		if ((cc = curl_easy_perform(cu)) == CURLE_OK &&
		    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
			j->ok++;
			continue;
		}
		j->bad++;
		j->why_curl = (int)cc;
		j->why_http = code;
	}
	curl_easy_cleanup(cu);
	return NULL;
}

int
main(int argc, char **argv)
{
	static char auth[512], csr[65536];
	struct curl_slist *hdr = NULL;
	struct job *jobs;
	pthread_t *tids;
	unsigned long ok = 0, bad = 0;
	double t0, t1, secs;
	int n, i;
	size_t len;
	FILE *f;

	if (argc != 7) {
		fprintf(stderr, "usage: mayfly-issue-load URL CAFILE TOKENFILE CSRFILE THREADS SECONDS\n");
		return 2;
	}
	if ((f = fopen(argv[3], "r")) == NULL || fgets(auth + 22, sizeof(auth) - 22, f) == NULL)
		return 1;
	fclose(f);
	memcpy(auth, "Authorization: Bearer ", 22);
	auth[strcspn(auth, "\r\n")] = '\0';
	if ((f = fopen(argv[4], "rb")) == NULL)
		return 1;
	len = fread(csr, 1, sizeof(csr), f);
	fclose(f);
	n = atoi(argv[5]);
	secs = atof(argv[6]);
	if (n < 1 || n > 1024 || secs <= 0 || secs > 600)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hdr = curl_slist_append(hdr, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/pkcs10");
	jobs = calloc((size_t)n, sizeof(*jobs));
	tids = calloc((size_t)n, sizeof(*tids));
	t0 = now();
	for (i = 0; i < n; i++) {
		jobs[i].url = argv[1];
		jobs[i].cafile = argv[2];
		jobs[i].csr = csr;
		jobs[i].csrlen = len;
		jobs[i].hdr = hdr;
		jobs[i].deadline = t0 + secs;
		pthread_create(&tids[i], NULL, run, &jobs[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tids[i], NULL);
		ok += jobs[i].ok;
		bad += jobs[i].bad;
	}
	t1 = now();
	printf("concurrency=%d issued=%lu failed=%lu seconds=%.2f rate=%.1f\n", n, ok, bad, t1 - t0,
	    (double)ok / (t1 - t0));
	/* Say why, so a rate with failures is not read as a clean one. */
	for (i = 0; i < n; i++)
		if (jobs[i].bad > 0) {
			if (jobs[i].why_curl != CURLE_OK)
				fprintf(stderr, "mayfly-issue-load: a request failed: %s\n",
				    curl_easy_strerror((CURLcode)jobs[i].why_curl));
			else
				fprintf(stderr, "mayfly-issue-load: a request got HTTP %ld\n",
				    jobs[i].why_http);
			break;
		}
	curl_slist_free_all(hdr);
	curl_global_cleanup();
	free(jobs);
	free(tids);
	return bad == 0 ? 0 : 1;
}
