/* suites_acme.h: the Check suites of check_acme (the renewal listener). */
#ifndef MF_SUITES_ACME_H
#define MF_SUITES_ACME_H
#include <check.h>
Suite *suite_acme_jws(void);
Suite *suite_acme_server(void);
Suite *suite_acme_est(void);

/* The listener fixture of check_acme_server.c: a CA in a fresh directory,
 * the listener on a free port, extra lines for its acme: section. */
void start_server(const char *extra_acme);
void teardown(void);
const char *ft_dir(void);
const char *ft_base(void);
#endif
