/*
 * check_acme_main.c: the runner for the renewal listener's suites.
 * CK_RUN_SUITE and CK_RUN_CASE narrow a run as usual with Check.
 */
#include "mf_build.h"

#include <signal.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "suites_acme.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	/* Test responders write to peers that may hang up. */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sr = srunner_create(suite_acme_jws());
	srunner_add_suite(sr, suite_acme_server());
	srunner_add_suite(sr, suite_acme_est());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
