/* check_config.c: tests for the config module; not written yet. */
#include "suites.h"

Suite *
suite_config(void)
{
	return suite_create("config");
}
