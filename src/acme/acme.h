/*
 * acme.h: the renewal listener of mayflyd: an ACME server (RFC 8555, with
 * RFC 8737 tls-alpn-01, RFC 8738 IP identifiers and RFC 9773 renewal
 * information) and an EST server (RFC 7030 cacerts, simpleenroll,
 * simplereenroll over mutual TLS), on one HTTPS port served by
 * libmicrohttpd.
 *
 * Every certificate it hands out comes from the one issuance path of the
 * CA: the request becomes a struct mf_request, mf_policy_check() approves
 * it, mf_issuer_issue() signs and logs it. The listener adds only what the
 * protocols need on top: who may ask (accounts, authorisations, enrolment
 * credentials) and for which names.
 *
 * Protocol state (accounts, orders, authorisations, challenges, nonces,
 * used enrolment tokens) lives in the CA's SQLite database, in the tables
 * of sql/200-acme.sql.
 */
#ifndef MF_ACME_H
#define MF_ACME_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keystore.h"

/* Challenge types (bit mask). */
#define MF_ACME_HTTP01		0x1u
#define MF_ACME_TLSALPN01	0x2u
#define MF_ACME_DNS01		0x4u

struct mf_acme_eab {
	char *kid;			/* key identifier given to the customer */
	unsigned char *key;		/* raw HMAC key (base64url in the config) */
	size_t keylen;
};

struct mf_acme_conf {
	int enabled;			/* default 0: no acme: section */
	char *host;			/* listen address, default 127.0.0.1 */
	unsigned port;			/* default 8443 */
	char *base_url;			/* default https://HOST:PORT; no trailing slash */
	char *tls_cert;			/* PEM chain for the listener; NULL: self-issued */
	char *tls_key;			/* its key (PEM); NULL: self-issued */
	char **tls_names;		/* names of the self-issued certificate; default localhost */
	size_t ntls_names;
	char *profile;			/* profile of ACME certificates, default "server" */
	unsigned challenges;		/* MF_ACME_*; default http-01 | tls-alpn-01 */
	int eab_required;		/* newAccount needs an external account binding */
	struct mf_acme_eab *eab;
	size_t neab;
	int64_t nonce_lifetime;		/* default 1h */
	int64_t order_lifetime;		/* pending orders and authorisations; default 1h */
	unsigned orders_per_hour;	/* per account; default 300; 0: unlimited */
	unsigned certs_per_name_per_hour;	/* per identifier; default 50; 0: unlimited */
	size_t max_body;		/* default 65536 */
	unsigned threads;		/* default 4 */
	int64_t fetch_timeout;		/* challenge fetches, default 10s */

	/* Testing only: never use in production. */
	char **test_resolve;		/* names (".suffix" or "*") resolved to 127.0.0.1 */
	size_t ntest_resolve;
	unsigned test_http01_port;	/* 0: 80 */
	unsigned test_tlsalpn01_port;	/* 0: 443 */

	/* EST (RFC 7030) under /.well-known/est/ */
	int est_enabled;		/* default 1 when acme is enabled */
	char *est_profile;		/* default: profile */
	char *est_user;			/* HTTP basic credentials for simpleenroll */
	char *est_password;
	char *est_tokens_file;		/* one-time enrolment tokens, one per line */

	/* Bearer-token issuance API (POST /v1/sign), for automation and the benchmark. */
	char *api_token;		/* NULL: disabled */
};

/* Fills conf with the defaults above (strings NULL). */
void mf_acme_conf_defaults(struct mf_acme_conf *conf);
/* Frees the members of conf (not conf itself). */
void mf_acme_conf_clear(struct mf_acme_conf *conf);

struct mf_acme;

/*
 * Opens the database and the issuing CA (keys through ks, borrowed for the
 * listener's life), gets or self-issues the TLS certificate, binds and
 * starts serving. cfg and conf are borrowed and must outlive the listener.
 * *out is freed by mf_acme_stop().
 */
int mf_acme_start(const struct mf_config *cfg, const struct mf_acme_conf *conf,
    struct mf_keystore *ks, struct mf_acme **out);

/* Stops serving, waits for running challenge checks, frees everything. NULL ok. */
void mf_acme_stop(struct mf_acme *a);

/* The port actually bound (useful with port 0). */
unsigned mf_acme_port(const struct mf_acme *a);

#endif
