/*
 * mayfly.c: the admin CLI. Each subcommand parses its own options, loads the
 * config, does one thing and prints one clear line on failure.
 */
#include "mf_build.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mferr.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: mayfly [-c FILE] COMMAND [ARGS]\n"
	    "commands: init, root, intermediate, issue, revoke, list, show, audit\n"
	    "see mayfly(1)\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return MF_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mayfly %s\n", PACKAGE_VERSION);
		return MF_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return MF_EXIT_OK;
	}
	fprintf(stderr, "mayfly: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return MF_EXIT_USAGE;
}
