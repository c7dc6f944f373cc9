/*
 * check_main.c: the one runner for the CA core's suites. CK_RUN_SUITE and
 * CK_RUN_CASE narrow a run as usual with Check.
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(suite_util());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_keystore());
	srunner_add_suite(sr, suite_db());
	srunner_add_suite(sr, suite_policy());
	srunner_add_suite(sr, suite_issuer());
	srunner_add_suite(sr, suite_bundle());
	srunner_add_suite(sr, suite_cli());
	/* Only where tests/pg/check-pg.sh started a PostgreSQL cluster. */
	if (getenv("MAYFLY_TEST_PG") != NULL)
		srunner_add_suite(sr, suite_db_pg());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
