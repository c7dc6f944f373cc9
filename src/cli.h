/*
 * cli.h: what the subcommands of the `mayfly` admin CLI share.
 *
 * Exit codes (documented in mayfly(1)):
 *   0 success, 1 refused by policy or not found, 2 usage error,
 *   3 configuration error, 4 key or HSM error, 5 database error,
 *   6 audit chain broken, 7 other failure.
 */
#ifndef MF_CLI_H
#define MF_CLI_H

#define MF_EXIT_OK	0
#define MF_EXIT_REFUSED	1
#define MF_EXIT_USAGE	2
#define MF_EXIT_CONFIG	3
#define MF_EXIT_KEY	4
#define MF_EXIT_DB	5
#define MF_EXIT_AUDIT	6
#define MF_EXIT_OTHER	7

/* Maps an mferr code to the CLI exit code above. */
int mf_cli_exit(int err);

/* `mayfly init`: argv starts at "init". */
int mf_cli_init(int argc, char **argv);

#endif
