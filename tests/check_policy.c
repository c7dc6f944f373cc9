/* check_policy.c: tests for the policy module; not written yet. */
#include "suites.h"

Suite *
suite_policy(void)
{
	return suite_create("policy");
}
