/*
 * config.h: mayfly.yaml, parsed with libyaml into plain structs.
 *
 * Every key is documented in mayfly.yaml(5) and shown in conf/mayfly.yaml.
 * An unknown key, a wrong type or a bad value is an error that names the
 * file, line and column. Relative paths in the file are taken relative to
 * the directory holding the file, and are stored here already resolved.
 * Durations are stored in seconds.
 */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Key types a profile may allow (bit mask). */
#define MF_KT_EC_P256	0x01u
#define MF_KT_EC_P384	0x02u
#define MF_KT_RSA	0x04u
#define MF_KT_ED25519	0x08u

/* Extended key usages a profile may grant (bit mask). */
#define MF_EKU_SERVER	0x01u
#define MF_EKU_CLIENT	0x02u

/* The absolute ceiling for any leaf, whatever the config says: 24 hours. */
#define MF_HARD_CAP_MAX	(24 * 3600)
#define MF_FORWARD_HORIZON_MAX	(30 * 24 * 3600)

/*
 * daemon.retention.prune-batch: each batch holds the database's write lock
 * while it commits, and issuance waits behind it. On an SQLite log of
 * 130,000 certificates a batch of 1,000 held it 0.1 s (0.22 s at most), one
 * of 10,000 0.7 s at most: the bound keeps it under a second.
 */
#define MF_RETENTION_BATCH_MAX	10000
#define MF_RETENTION_AFTER_MAX	((int64_t)100 * 365 * 86400)

struct mf_iprange {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network address, host bits zero */
	unsigned prefix;		/* prefix length in bits */
};

struct mf_profile {
	char *name;			/* "server", "client", ... */
	unsigned key_types;		/* MF_KT_* allowed; default EC P-256|P-384|RSA|Ed25519 */
	unsigned rsa_min_bits;		/* default 2048; never below 2048 */
	char **dns;			/* allowed DNS patterns, see policy.h */
	size_t ndns;
	int wildcard;			/* single-label wildcards allowed; default 0 */
	struct mf_iprange *ip;		/* allowed IP ranges */
	size_t nip;
	unsigned eku;			/* MF_EKU_*; default SERVER for "server", CLIENT for "client" */
	int must_staple;		/* add the RFC 7633 TLS feature status_request */
	int64_t default_lifetime;	/* default max_lifetime, <= max_lifetime */
	int64_t max_lifetime;		/* default the hard cap (24h), <= hard cap */
};

struct mf_ca_conf {
	char *name;			/* "root-a", "issuing-1", ... (also in URLs) */
	char *key;			/* key URI: file:PATH or pkcs11:... */
	char *cert;			/* PEM certificate path */
	char **cross;			/* intermediates only: cross-signed certificate paths */
	size_t ncross;
	char *root;			/* intermediates only: name of the signing root */
};

struct mf_listen {
	char *host;			/* "127.0.0.1", "::1", ... */
	unsigned port;
};

/* Challenge types (bit mask). */
#define MF_ACME_HTTP01		0x1u
#define MF_ACME_TLSALPN01	0x2u
#define MF_ACME_DNS01		0x4u

struct mf_acme_eab {
	char *kid;			/* key identifier given to the customer */
	unsigned char *key;		/* raw HMAC key (base64url in the config) */
	size_t keylen;
};

/* The acme: section: the renewal listener of mayflyd (ACME and EST), see mayfly-acme(7). */
struct mf_acme_conf {
	int enabled;			/* 1 if the acme: section is present */
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
	unsigned threads;		/* handler threads for requests that wait; default 64 */
	unsigned max_connections;	/* open at once, at least threads; default 512 */
	int64_t fetch_timeout;		/* challenge fetches, default 10s */
	unsigned checks_per_account;	/* challenge checks running at once per account; default 8 */
	unsigned per_ip_connections;	/* connections per client address; default 8 */
	int64_t request_timeout;	/* deadline of a whole request; default 30s */
	unsigned accounts_per_ip_per_hour;	/* new accounts without EAB per address; default 20; 0: unlimited */

	/* Testing only: never use in production. */
	char **test_resolve;		/* names (".suffix" or "*") resolved to 127.0.0.1 */
	size_t ntest_resolve;
	unsigned test_http01_port;	/* 0: 80 */
	unsigned test_tlsalpn01_port;	/* 0: 443 */
	char *test_dns_server;		/* dns-01 queries to this IPv4 address[:port] */

	/* EST (RFC 7030) under /.well-known/est/ */
	int est_enabled;		/* default 1 when acme is enabled */
	char *est_profile;		/* default: profile */
	char *est_user;			/* HTTP basic credentials for simpleenroll */
	char *est_password_file;	/* the password, in a file (0600) */
	char *est_tokens_file;		/* one-time enrolment tokens, one per line */

	/* Bearer-token issuance API (POST /v1/sign), for automation and the benchmark. */
	char *api_token_file;		/* the token, in a file (0600); NULL: disabled */
};

struct mf_config {
	char *path;			/* the file read */
	char *dir;			/* its directory */

	char *database;			/* SQLite path (resolved) */

	/* pkcs11: */
	char *pkcs11_module;		/* path of the PKCS#11 module */
	char *pkcs11_pin_source;	/* "file:PATH" or "env:NAME"; never the PIN */
	char *softhsm2_conf;		/* optional: SOFTHSM2_CONF to set before loading */

	/* urls: the base under which mayflyd publishes, e.g. http://ca.example:8080 */
	char *url_base;			/* OCSP at base/ocsp, CA certs at base/ca/N.der, CRLs at base/crl/N.crl */

	struct mf_ca_conf *roots;
	size_t nroots;
	struct mf_ca_conf *intermediates;
	size_t nintermediates;
	char *active_intermediate;	/* name of the intermediate that signs leaves; default the first */

	/* issuance: */
	int64_t hard_cap;		/* default 24h; a value above MF_HARD_CAP_MAX is an error */
	int64_t backdate;		/* default 5m; at most 5m */
	/*
	 * issuance.forward-horizon: how far ahead of now a certificate's
	 * notBefore may be asked for (riding out a CA outage); default 0 (none),
	 * at most MF_FORWARD_HORIZON_MAX.
	 */
	int64_t forward_horizon;

	struct mf_profile *profiles;
	size_t nprofiles;

	/* daemon: */
	struct mf_listen *listen;	/* default 127.0.0.1:8080 */
	size_t nlisten;
	unsigned threads;		/* 0: one per CPU */
	char *user;			/* drop to this user after binding; NULL: stay */
	unsigned max_connections;	/* default 1024 */
	unsigned per_ip_connections;	/* default 64 */
	int64_t connection_timeout;	/* default 10s */
	int64_t request_timeout;	/* a whole request (client's time); default 30s */
	size_t max_body;		/* default 65536 bytes */
	char *admin_token_file;		/* bearer token for POST /admin/revoke; NULL disables */

	/* daemon.ocsp: */
	int64_t ocsp_validity;		/* nextUpdate - thisUpdate, default 4h */
	int ocsp_delegated;		/* 1: delegated responder cert (default); 0: the intermediate signs */
	int64_t ocsp_responder_lifetime;/* default 4d */
	char *ocsp_export_dir;		/* optional: write responses as files here */

	/* daemon.crl: */
	int64_t crl_validity;		/* nextUpdate - thisUpdate, default 24h */
	int64_t crl_interval;		/* rebuild timer, default 1h */

	/*
	 * daemon.retention: mayflyd prunes the log itself (db_prune.c), in
	 * batches of prune_batch rows every prune_interval, dropping the DER
	 * of certificates expired for longer than prune_expired_after. Never
	 * archives: that stays `mayfly db prune --archive`.
	 */
	int retention;			/* 1 if daemon.retention is present */
	int64_t prune_expired_after;	/* required with the block; 1s to 100y */
	int64_t prune_interval;		/* default 1h; 1s to 7d */
	unsigned prune_batch;		/* default 1000; 1 to MF_RETENTION_BATCH_MAX */

	struct mf_acme_conf acme;	/* acme: */
};

/*
 * Loads and validates path. On failure returns a code and writes a one-line
 * message naming file:line:column into err. *out is owned by the caller.
 * Codes: MF_ERR_CONFIG (unreadable, not YAML, several documents),
 * MF_ERR_CONFIG_KEY (unknown or duplicate key), MF_ERR_CONFIG_VALUE (wrong
 * type, out of range, dangling CA reference), MF_ERR_CONFIG_MISSING.
 */
int mf_config_load(const char *path, struct mf_config **out, char *err, size_t errlen);
void mf_config_free(struct mf_config *cfg);

/* Borrowed lookups; NULL if absent. */
const struct mf_profile *mf_config_profile(const struct mf_config *cfg, const char *name);
const struct mf_ca_conf *mf_config_root(const struct mf_config *cfg, const char *name);
const struct mf_ca_conf *mf_config_intermediate(const struct mf_config *cfg, const char *name);

#endif
