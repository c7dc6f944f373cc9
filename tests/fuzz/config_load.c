/*
 * config_load.c: libFuzzer target for the configuration loader,
 * mf_config_load() (libyaml, then our walk over the document), which reads
 * mayfly.yaml for the CLI, the daemon and its signer.
 *
 * The loader reads only from a path, so each input is written to one file
 * in a private temporary directory and loaded from there. A load that
 * succeeds must give a configuration that keeps the promises of config.h
 * (the hard cap, profile lifetimes within it, RSA never below 2048 bits),
 * or the target aborts; a load that fails must leave a message and no
 * configuration.
 *
 *   make fuzz-smoke-core      (clang, ASan+UBSan, FUZZ_SECONDS on its corpus)
 */
#include "mf_build.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mferr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/mayfly-fuzz-config.XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/mayfly.yaml", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mf_config *cfg = NULL;
	char err[512];
	size_t i;
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	rc = mf_config_load(path, &cfg, err, sizeof(err));
	if (rc != MF_OK) {
		if (cfg != NULL || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		return 0;
	}
	if (cfg == NULL || cfg->database == NULL || cfg->nroots == 0)
		__builtin_trap();
	if (cfg->hard_cap <= 0 || cfg->hard_cap > MF_HARD_CAP_MAX)
		__builtin_trap();
	for (i = 0; i < cfg->nprofiles; i++) {
		const struct mf_profile *p = &cfg->profiles[i];

		if (p->max_lifetime <= 0 || p->max_lifetime > cfg->hard_cap ||
		    p->default_lifetime > p->max_lifetime || p->rsa_min_bits < 2048 ||
		    mf_config_profile(cfg, p->name) == NULL)
			__builtin_trap();
	}
	for (i = 0; i < cfg->nroots; i++)
		if (mf_config_root(cfg, cfg->roots[i].name) == NULL)
			__builtin_trap();
	for (i = 0; i < cfg->nintermediates; i++)
		if (mf_config_intermediate(cfg, cfg->intermediates[i].name) == NULL)
			__builtin_trap();
	mf_config_free(cfg);
	return 0;
}
