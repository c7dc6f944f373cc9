/* check_keystore.c: tests for the keystore module; not written yet. */
#include "suites.h"

Suite *
suite_keystore(void)
{
	return suite_create("keystore");
}
