/* check_db.c: tests for the db module; not written yet. */
#include "suites.h"

Suite *
suite_db(void)
{
	return suite_create("db");
}
