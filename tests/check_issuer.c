/* check_issuer.c: tests for the issuer module; not written yet. */
#include "suites.h"

Suite *
suite_issuer(void)
{
	return suite_create("issuer");
}
