/*
 * mayfly_acme_server.c: runs the renewal listener alone, for the
 * integration tests (certbot, uacme, curl EST) and the benchmark, until
 * SIGINT or SIGTERM. mayflyd runs the same listener with mf_acme_start()
 * from its own main.
 *
 *   mayfly-acme-server -c mayfly.yaml [-p PORT] [-r PORTFILE]
 *
 * -p overrides acme.port (0 picks a free port); the port bound is written
 * to PORTFILE once the listener accepts connections.
 */
#include "mf_build.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "acme/acme.h"
#include "config.h"
#include "keystore.h"
#include "mferr.h"
#include "util.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int
main(int argc, char **argv)
{
	struct mf_config *cfg = NULL;
	struct mf_keystore *ks = NULL;
	struct mf_keystore_conf kc;
	struct mf_acme *a = NULL;
	const char *path = NULL, *portfile = NULL;
	char err[512], buf[32];
	struct sigaction sa;
	long port = -1;
	int c, rc;

	while ((c = getopt(argc, argv, "c:p:r:v")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'r': portfile = optarg; break;
		case 'v': mf_log_set_level(MF_LOG_DEBUG); break;
		default:
			fprintf(stderr, "usage: mayfly-acme-server -c FILE [-p PORT] [-r PORTFILE]\n");
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: mayfly-acme-server -c FILE [-p PORT] [-r PORTFILE]\n");
		return 2;
	}
	if ((rc = mf_config_load(path, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "mayfly-acme-server: %s\n", err);
		return 1;
	}
	if (port >= 0 && port <= 65535)
		cfg->acme.port = (unsigned)port;
	memset(&kc, 0, sizeof(kc));
	kc.module = cfg->pkcs11_module;
	kc.pin_source = cfg->pkcs11_pin_source;
	kc.softhsm2_conf = cfg->softhsm2_conf;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((rc = mf_keystore_new(&kc, &ks)) != 0 || (rc = mf_acme_start(cfg, ks, &a)) != 0) {
		fprintf(stderr, "mayfly-acme-server: cannot start: %s\n", mf_strerror(rc));
		goto out;
	}
	if (portfile != NULL) {
		snprintf(buf, sizeof(buf), "%u\n", mf_acme_port(a));
		if ((rc = mf_file_write(portfile, buf, strlen(buf), 0644, 0)) != 0)
			goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	while (!stop_flag)
		sleep(1);
	rc = 0;
out:
	mf_acme_stop(a);
	mf_keystore_free(ks);
	mf_config_free(cfg);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}
