/* check_cli.c: tests for the cli module; not written yet. */
#include "suites.h"

Suite *
suite_cli(void)
{
	return suite_create("cli");
}
