/*
 * acme_conf.c: defaults and release of the acme: section of mayfly.yaml
 * (parsed in config.c; documented in mayfly-acme(7)).
 */
#include "mf_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acme/acme.h"

void
mf_acme_conf_defaults(struct mf_acme_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->port = 8443;
	conf->challenges = MF_ACME_HTTP01 | MF_ACME_TLSALPN01;
	conf->nonce_lifetime = 3600;
	conf->order_lifetime = 3600;
	conf->orders_per_hour = 300;
	conf->certs_per_name_per_hour = 50;
	conf->max_body = 65536;
	conf->threads = 4;
	conf->fetch_timeout = 10;
	conf->est_enabled = 1;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
mf_acme_conf_clear(struct mf_acme_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	free(conf->host);
	free(conf->base_url);
	free(conf->tls_cert);
	free(conf->tls_key);
	strv_free(conf->tls_names, conf->ntls_names);
	free(conf->profile);
	for (i = 0; i < conf->neab; i++) {
		free(conf->eab[i].kid);
		if (conf->eab[i].key != NULL) {
			OPENSSL_cleanse(conf->eab[i].key, conf->eab[i].keylen);
			free(conf->eab[i].key);
		}
	}
	free(conf->eab);
	strv_free(conf->test_resolve, conf->ntest_resolve);
	free(conf->est_profile);
	free(conf->est_user);
	secret_free(conf->est_password);
	free(conf->est_tokens_file);
	secret_free(conf->api_token);
	memset(conf, 0, sizeof(*conf));
}
