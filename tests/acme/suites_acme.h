/* suites_acme.h: the Check suites of check_acme (the renewal listener). */
#ifndef MF_SUITES_ACME_H
#define MF_SUITES_ACME_H
#include <check.h>
Suite *suite_acme_jws(void);
Suite *suite_acme_server(void);
#endif
