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

struct mf_acme;

/*
 * Opens the database and the issuing CA (keys through ks, borrowed for the
 * listener's life), gets or self-issues the TLS certificate, binds
 * cfg->acme.host:port and starts serving. cfg is borrowed and must outlive
 * the listener. *out is freed by mf_acme_stop(). The settings are those of
 * the acme: section (struct mf_acme_conf in config.h, mayfly-acme(7)).
 */
int mf_acme_start(const struct mf_config *cfg, struct mf_keystore *ks, struct mf_acme **out);

/* Stops serving, waits for running challenge checks, frees everything. NULL ok. */
void mf_acme_stop(struct mf_acme *a);

/* The port actually bound (useful with port 0). */
unsigned mf_acme_port(const struct mf_acme *a);

#endif
