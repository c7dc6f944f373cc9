/* suites.h: every Check suite of check_mayfly, one per module. */
#ifndef MF_SUITES_H
#define MF_SUITES_H
#include <check.h>
Suite *suite_util(void);
Suite *suite_config(void);
Suite *suite_keystore(void);
Suite *suite_db(void);
Suite *suite_db_pg(void);
Suite *suite_policy(void);
Suite *suite_issuer(void);
Suite *suite_cli(void);
Suite *suite_bundle(void);
#endif
