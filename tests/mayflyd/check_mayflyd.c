/*
 * check_mayflyd.c: the runner for the daemon's Check suites (unit tests of
 * routing, parsing, cache and signing; integration tests that run the real
 * mayflyd binary).
 */
#include "mf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfdt.h"

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	/* `check_mayflyd --setup DIR PORT`: the test setup, for the benchmark. */
	if (argc == 4 && strcmp(argv[1], "--setup") == 0) {
		if (mfdt_setup(argv[2], atoi(argv[3])) != 0) {
			fprintf(stderr, "setup in %s failed\n", argv[2]);
			return EXIT_FAILURE;
		}
		return EXIT_SUCCESS;
	}

	sr = srunner_create(suite_mfd_unit());
	srunner_add_suite(sr, suite_mfd_daemon());
	srunner_add_suite(sr, suite_mfd_signer());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
