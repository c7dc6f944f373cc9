/*
 * acme_int.h: what the files of the renewal listener share with each other
 * and with its tests; nothing here is for other modules.
 */
#ifndef MF_ACME_INT_H
#define MF_ACME_INT_H

#include <pthread.h>
#include <sys/socket.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>
#include "store/sql.h"

#include "acme/acme.h"
#include "acme/acme_jws.h"
#include "config.h"
#include "db.h"

struct mf_issuer;
struct MHD_Daemon;
struct acme_local;
struct acme_sq;

/* Random URL-safe identifiers: 16 bytes -> 22 base64url characters. */
#define ACME_ID_LEN	22

/* Account keys kept in OpenSSL form between requests (acme_jws.h). */
#define ACME_KEY_CACHE	1024

/* Challenge checks running at once, over all accounts. */
#define ACME_MAX_CHECKS	64

struct acme_vacct {
	char id[ACME_ID_LEN + 1];	/* account */
	unsigned n;			/* its running checks; 0: slot free */
};

struct mf_acme {
	const struct mf_config *cfg;
	const struct mf_acme_conf *conf;
	struct mf_acme_issuer iss;	/* where certificates are signed */
	struct acme_local *local;	/* in-process issuer of mf_acme_start(), or NULL */
	struct mf_db *db;		/* one connection, used under lock */
	struct acme_sq *sq;		/* mf_db_handle(db) with its statement cache */
	struct mf_issuer *issuer;	/* certificates and chains only: no key */
	pthread_mutex_t lock;		/* serialises all database use */
	struct acme_lsn *lsn;		/* the libmicrohttpd daemon serving (acme_http.c) */
	char *tls_cert_pem;		/* listener certificate chain */
	char *tls_key_pem;
	char *trust_pem;		/* CA certificates client certificates must chain to */
	int64_t tls_renew_at;		/* self-issued certificate: when to renew; 0: never */
	unsigned mhd_flags;		/* MHD_USE_IPv6 or 0 */
	pthread_t renew_tid;
	int renew_started;
	char *base;			/* base URL, no trailing slash */
	char *est_password;		/* read from est.password-file */
	char *api_token;		/* read from api-token-file */
	unsigned port;
	int64_t last_cleanup;
	struct acme_nonces *nonces;	/* Replay-Nonce state, in memory only */
	struct mf_jwk_cache *keys;	/* account keys as EVP_PKEY, under lock */

	/* Running challenge checks, so that stop can cancel and wait for them. */
	pthread_mutex_t vlock;
	pthread_cond_t vcond;
	unsigned nvalidators;
	struct acme_vacct vacct[ACME_MAX_CHECKS];	/* running checks per account */
	/* The last checks that finished, by challenge id: acme_chall_wait(). */
	char vdone[ACME_MAX_CHECKS][ACME_ID_LEN + 1];
	unsigned vdone_next;
	int stopping;			/* set under vlock; checks read it atomically */

	/* Request deadlines and eviction near the limit (src/httpguard.h). */
	struct mf_hguard *guard;

	/* Complete requests, handed to the handler threads (acme_http.c, mhd_start). */
	pthread_mutex_t jlock;
	pthread_cond_t jcond;		/* one queued, or closing */
	pthread_cond_t jdone;		/* a draining daemon's last one answered */
	struct httpreq *jhead, *jtail;
	int jclosing;
	pthread_t *jtid;
	unsigned njt;
};

/* The answer a handler builds; acme_http.c turns it into an MHD response. */
struct acme_resp {
	int status;			/* HTTP status when err == 0 */
	json_t *json;			/* body as JSON, owned */
	char *body;			/* or a raw body, owned */
	size_t len;
	const char *ctype;		/* content type of body */
	char *location;			/* owned */
	char *links[6];			/* full Link header values, owned */
	int nlinks;
	int retry_after;		/* seconds; 0: none */
	const char *www_authenticate;	/* static string, for a 401 */
	int err;			/* a negative mf_err: answer with a problem document */
	char why[256];			/* the problem's detail */
	json_t *problem_extra;		/* extra members of the problem, owned */
};

struct acme_account {
	char id[ACME_ID_LEN + 1];
	char thumbprint[44];
	json_t *jwk;			/* owned */
	char status[16];
	json_t *contact;		/* owned */
};

/* Everything a handler gets: the verified request and where to answer. */
struct acme_ctx {
	struct mf_acme *a;
	const char *path;		/* e.g. "/order/abc" */
	const char *method;
	const char *arg;		/* the path after the route's prefix */
	struct mf_jws *jws;		/* verified, or NULL for GET */
	struct acme_account *acct;	/* the kid's account, or NULL for jwk requests */
	int64_t now;
	struct acme_resp *r;
	/* For EST and the sign API: */
	const char *upload;
	size_t upload_len;
	X509 *client_cert;		/* the TLS client certificate, if any, owned by the request */
	const char *authorization;	/* Authorization header */
	char client_ip[64];		/* the client's address as text, or "" */
};

void acme_account_free(struct acme_account *acct);

/*
 * acme_nonce.c: Replay-Nonces that cost no write until used: HMAC under a
 * key, the listener's own spent ones a bitmap over the last
 * ACME_NONCE_WINDOW. Alone (db NULL) the key is drawn at each start and
 * nothing is written; shared (db: a log several nodes use) the key is the
 * log's and every use inserts a row, so any node accepts a nonce once.
 */
#define ACME_NONCE_LEN		54		/* base64url of 40 bytes */
#define ACME_NONCE_WINDOW	(1u << 20)	/* nonces minted that stay usable */
#define ACME_NONCE_SKEW		300		/* seconds a spent row outlives its nonce */
struct acme_nonces;
/*
 * db (borrowed, must outlive the result) is used here and by every
 * acme_nonce_use, under the lock that serialises its use.
 */
int acme_nonces_new(struct acme_sq *db, struct acme_nonces **out);
void acme_nonces_free(struct acme_nonces *n);	/* NULL ok */
int acme_nonce_new(struct acme_nonces *n, int64_t now, int64_t lifetime,
    char out[ACME_NONCE_LEN + 1]);
/*
 * 0 and spent, or MF_ERR_ACME_BADNONCE (unknown, forged, spent here or on
 * another node, expired), or a database error when shared.
 */
int acme_nonce_use(struct acme_nonces *n, const char *nonce, int64_t now);

/*
 * acme_sq.c: SQLite helpers; types is a string of 's' text, 'i' int64,
 * 'b' blob+len, 'n' null. A struct acme_sq is one connection (borrowed,
 * not closed by acme_sq_free) with a cache of prepared statements keyed by
 * the address of their SQL text, which is always a string literal here:
 * preparing each statement on every request cost a fifth of the
 * listener's CPU. Used under the listener's lock, like the connection.
 * A statement from acme_sq_prepare goes back with acme_sq_done, never
 * mf_sql_finalize.
 */
#define ACME_SQ_CACHE	96
struct acme_sq {
	struct mf_sql *h;
	struct {
		const char *sql;
		mf_sql_stmt *st;
		int busy;
	} c[ACME_SQ_CACHE];
	size_t n;
};
struct acme_sq *acme_sq_new(struct mf_sql *h);
void acme_sq_free(struct acme_sq *q);
void acme_sq_done(struct acme_sq *q, mf_sql_stmt *st);
int acme_sq_exec(struct acme_sq *db, const char *sql, const char *types, ...);
/*
 * The listener's connection commits protocol state (accounts, orders,
 * authorizations, challenges, rate counters) without an fsync of its own:
 * losing the last of it in a power cut only makes a client retry. What must
 * survive a crash once answered (a revocation, a spent EST token, a
 * deactivated account or rolled-over key) is written between
 * acme_sq_durable(db, 1) and acme_sq_durable(db, 0), which commit with a
 * full sync. The certificate record itself is committed by the issuer's own
 * connection, always with a full sync, before the certificate leaves.
 */
int acme_sq_durable(struct acme_sq *db, int on);
int acme_sq_prepare(struct acme_sq *db, mf_sql_stmt **st, const char *sql, const char *types, ...);
int acme_sq_count(struct acme_sq *db, int64_t *n, const char *sql, const char *types, ...);
int acme_random_id(char out[ACME_ID_LEN + 1]);
/* base64url of nbytes random bytes into out (4 * nbytes / 3 + 2 bytes). */
int acme_b64u_random(char *out, size_t nbytes);
int acme_rate_check(struct acme_sq *db, const char *key, unsigned limit, int64_t now, int *retry);
int acme_rate_add(struct acme_sq *db, const char *key, int64_t now);
int acme_cleanup(struct acme_sq *db, int64_t now);
int acme_account_get(struct acme_sq *db, const char *id, const char *thumbprint,
    struct acme_account **out);

/* acme_account.c */
int acme_h_new_account(struct acme_ctx *c);
int acme_h_account(struct acme_ctx *c);
int acme_h_key_change(struct acme_ctx *c);

/* acme_order.c (orders, authorisations, challenges) and acme_cert.c (certificates) */
int acme_h_new_order(struct acme_ctx *c);
int acme_h_order(struct acme_ctx *c);
int acme_h_authz(struct acme_ctx *c);
int acme_h_challenge(struct acme_ctx *c);
int acme_h_finalize(struct acme_ctx *c);
int acme_h_cert(struct acme_ctx *c);
int acme_h_revoke(struct acme_ctx *c);
int acme_h_renewal_info(struct acme_ctx *c);
/* acme_cert.c */
/* The RFC 9773 certID of a certificate: base64url(AKI).base64url(serial). */
int acme_ari_certid(X509 *cert, char **out);
/* Its serial part as lower-case hex, without a leading zero octet. */
int acme_ari_parse(const char *certid, char *serial_hex, size_t hexlen);
/*
 * The ARI window (RFC 9773) for a certificate valid from not_before to
 * not_after, asked at now: around two thirds of its life; for a revoked
 * one, already open. Once the usual window has passed unused (after a CA
 * outage every server's has), the window opens later for each certificate
 * by an offset taken from its serial, so the fleet's renewals spread over
 * the window rather than arriving at once.
 */
void acme_ari_window(int64_t not_before, int64_t not_after, int revoked, int64_t now,
    const char *serial, int64_t *start, int64_t *end);
/* RFC 3339 UTC time. */
void acme_rfc3339(int64_t t, char out[32]);

/* Recomputes an order's status from its authorisations and expiry. */
int acme_order_refresh(struct mf_acme *a, const char *order_id, int64_t now);

/* acme_chall.c: challenge checks run in their own threads. */
struct acme_chall_job {
	char chall_id[ACME_ID_LEN + 1];
	char authz_id[ACME_ID_LEN + 1];
	char order_id[ACME_ID_LEN + 1];
	char type[16];			/* http-01, tls-alpn-01, dns-01 */
	char ident_type[8];		/* dns, ip */
	char value[256];		/* the identifier */
	char keyauth[128];		/* token "." thumbprint */
	char token[64];
	char account_id[ACME_ID_LEN + 1];	/* whose check it is */
};
int acme_chall_start(struct mf_acme *a, const struct acme_chall_job *job);
/*
 * Waits up to ms milliseconds for the check of chall_id started by
 * acme_chall_start() to finish (its result is then in the database); 1 if
 * it did, 0 if it still runs. Called without the listener's lock.
 */
int acme_chall_wait(struct mf_acme *a, const char *chall_id, long ms);
/* How long a challenge POST waits for its check before answering "processing". */
#define ACME_CHALL_WAIT_MS	500

/* What bounds one check: its deadline, and the listener's stop flag. */
struct acme_chk {
	const struct mf_acme_conf *conf;
	const int *stop;		/* non-zero: give up now; NULL: never */
	int64_t deadline_ms;		/* CLOCK_MONOTONIC milliseconds */
};
/* Deadline fetch-timeout from now; stop borrowed for the check's life. */
void acme_chk_init(struct acme_chk *k, const struct mf_acme_conf *conf, const int *stop);
/* Whether a check may connect to sa: public addresses, loopback only if loopback_ok. */
int acme_addr_allowed(const struct sockaddr *sa, int loopback_ok);
/* Expected key authorisation: token "." thumbprint. */
int acme_http01_fetch(const struct acme_chk *k, const char *host, const char *token,
    const char *expected, char *why, size_t whylen);
int acme_dns01_check(const struct acme_chk *k, const char *host, const char *keyauth,
    char *why, size_t whylen);
int acme_tlsalpn01_check(const struct acme_chk *k, const char *host,
    const char *keyauth, char *why, size_t whylen);

/*
 * acme_ca.c: the one issuance path (policy, issuer, log). Returns once the
 * record is durable, with the certificate's DER in *der (free()); callers
 * that need an X509 decode it (OpenSSL 3.0 makes that cost more than the
 * signature, so the ACME and /v1/sign paths do without).
 */
int acme_ca_issue(struct mf_acme *a, X509_REQ *csr, const char *profile,
    const char *requester, unsigned char **der, size_t *len, char *why, size_t whylen);
/*
 * The same with a lifetime (0: the profile's default) and a notBefore in
 * unix seconds (0: at issuance, backdated), as an ACME order asked.
 */
int acme_ca_issue_at(struct mf_acme *a, X509_REQ *csr, const char *profile,
    const char *requester, int64_t lifetime, int64_t not_before, unsigned char **der,
    size_t *len, char *why, size_t whylen);
/* The serial of a certificate in DER as lower-case hex without leading zeros. */
int acme_der_serial(const unsigned char *der, size_t len, char *hex, size_t hexlen);
/* The chain above a leaf to root (NULL: the primary root), PEM; free(). */
int acme_ca_chain_pem(struct mf_acme *a, const char *root, char **pem);
int acme_ca_tls_setup(struct mf_acme *a);
/* The in-process issuer behind mf_acme_start(): its own database connection. */
int acme_local_new(const struct mf_config *cfg, struct mf_keystore *ks, struct acme_local **out);
void acme_local_free(struct acme_local *l);
int acme_local_issue(void *arg, const unsigned char *csr, size_t csr_len, const char *profile,
    const char *requester, int64_t lifetime, int64_t not_before, unsigned char **cert,
    size_t *cert_len, char *why, size_t whylen);
/* Names (DNS lower-case or IP text) of a CSR: SAN, or CN if there is none. */
int acme_csr_names(X509_REQ *csr, char ***names, size_t *n);
int acme_cert_names(X509 *cert, char ***names, size_t *n);
void acme_names_free(char **names, size_t n);
/* Maps a policy/issuer code to the ACME code used in the problem document. */
int acme_ca_map_err(int rc);
/*
 * acme_csr_names() returned rc for csr: the problem code to answer with
 * and its detail in why, the policy's (mf_policy_check, profile) when it
 * refuses csr too, else a line that says what acme_csr_names() found.
 */
int acme_csr_refusal(struct mf_acme *a, X509_REQ *csr, const char *profile, int rc, char *why,
    size_t whylen);

/* est.c: these handlers run without the lock and take it for database work. */
int est_h_cacerts(struct acme_ctx *c);
int est_h_simpleenroll(struct acme_ctx *c);
int est_h_simplereenroll(struct acme_ctx *c);
int api_h_sign(struct acme_ctx *c);

/*
 * A client-supplied string made safe for a key="value" log field: bytes
 * outside printable ASCII, '"' and '\\' become '?'; cut to outlen - 1.
 * Returns out.
 */
char *acme_log_safe(const char *in, char *out, size_t outlen);

/* Helpers for handlers (acme_http.c). */
int acme_fail(struct acme_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void acme_link(struct acme_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *acme_url(struct mf_acme *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *acme_problem_type(int err, int *status);

#endif
