/*
 * check_mayflyd.c: the runner for the daemon's Check suites (unit tests of
 * routing, parsing, cache and signing; integration tests that run the real
 * mayflyd binary).
 */
#include "mf_build.h"

#include <stdlib.h>

#include "mfdt.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(suite_mfd_unit());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
