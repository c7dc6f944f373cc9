/*
 * signer.h: the signer process and the typed requests it accepts.
 *
 * mayflyd forks the signer before it reads a byte from the network. The
 * signer alone creates the keystore (PKCS#11 sessions do not survive a
 * fork, and the network process must never hold a key handle), opens its
 * own database connection, issues the delegated OCSP responder
 * certificates, and then answers, over a socketpair, exactly these
 * requests:
 *
 *   PING            are the keys (HSM session) and the database usable?
 *   OCSP i alg s    sign the OCSP response for serial s of intermediate i
 *                   with a CertID hashed by alg; the signer reads the
 *                   status from the database itself, so the network side
 *                   cannot make it sign a status of its choosing
 *   CRL i           build and sign the CRL of intermediate i
 *   RELOAD          re-read the configuration and keys (SIGHUP)
 *   ISSUE csr p r l issue a leaf for the CSR (DER, at most 16 KiB) under
 *                   profile p, for requester r, lifetime l (0: the
 *                   profile's); only with an acme: section. The signer
 *                   runs the policy check itself, never trusting the
 *                   network side's, and commits the record to the log
 *                   before it answers with the certificate
 *
 * Every request is a fixed header and a payload of the exact size its op
 * demands (ISSUE: a fixed part giving the lengths of the bounded variable
 * ones); anything else ends the signer. It signs nothing else.
 */
#ifndef MFD_SIGNER_H
#define MFD_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

enum mfd_sig_op {
	MFD_SIG_PING = 1,
	MFD_SIG_OCSP = 2,
	MFD_SIG_CRL = 3,
	MFD_SIG_RELOAD = 4,
	MFD_SIG_ISSUE = 5
};

/* What comes back with a signed object. */
struct mfd_sig_meta {
	int64_t this_update;
	int64_t next_update;
	int64_t not_after;		/* OCSP: the certificate's, 0 if unknown */
	int64_t revoked_at;
	int32_t status;			/* OCSP: V_OCSP_CERTSTATUS_* */
	int32_t reason;
};

struct mfd_signer;

/*
 * Starts the signer for cfg->path: fork, then exec of our own binary with
 * "-S fd -c path" (see mfd_signer_main). Returns once the signer has loaded
 * its keys and answered a first PING; on failure the child is reaped and
 * the code it reported is returned (MF_ERR_HSM, MF_ERR_KEY_LOAD, MF_ERR_DB,
 * ...), with a reason in why.
 */
int mfd_signer_start(const struct mf_config *cfg, struct mfd_signer **out, char *why,
    size_t whylen);

/*
 * Starts a new signer and, once it answered, replaces the current one
 * (which is then closed and reaped). For a signer that died, or whose token
 * vanished and came back: a PKCS#11 module cannot re-attach a token in the
 * same process. On failure the current signer stays.
 */
int mfd_signer_respawn(struct mfd_signer *s, char *why, size_t whylen);

/* The signer process: serves requests on fd until EOF; returns the exit code. */
int mfd_signer_main(int fd, const char *config_path);

/* Closes the socket (the signer exits on EOF) and reaps it. NULL ok. */
void mfd_signer_stop(struct mfd_signer *s);

/*
 * Requests. Thread-safe (one request at a time on the socket). A timeout,
 * short read or a dead signer gives MF_ERR_SIGNER and marks it dead.
 * *der is malloc'ed; caller frees.
 */
int mfd_signer_ping(struct mfd_signer *s, char *why, size_t whylen);
int mfd_signer_ocsp(struct mfd_signer *s, unsigned issuer, int alg, const unsigned char *serial,
    size_t serial_len, struct mfd_sig_meta *meta, unsigned char **der, size_t *len);
/*
 * Pipelined OCSP requests: writes up to MFD_SIG_BATCH requests, then reads
 * the answers in order, calling cb(arg, i, rc, meta, der, len) for each
 * (der is handed over, NULL when rc != 0). Returns MF_ERR_SIGNER if the
 * exchange broke, else 0; per-item failures go to cb.
 */
#define MFD_SIG_BATCH	32
struct mfd_sig_item {
	unsigned issuer;
	int alg;
	const unsigned char *serial;
	size_t serial_len;
};
typedef void (*mfd_sig_batch_cb)(void *arg, size_t i, int rc, const struct mfd_sig_meta *meta,
    unsigned char *der, size_t len);
int mfd_signer_ocsp_batch(struct mfd_signer *s, const struct mfd_sig_item *items, size_t n,
    mfd_sig_batch_cb cb, void *arg);

int mfd_signer_crl(struct mfd_signer *s, unsigned issuer, struct mfd_sig_meta *meta,
    unsigned char **der, size_t *len);
int mfd_signer_reload(struct mfd_signer *s, char *why, size_t whylen);
/*
 * ISSUE: the certificate DER in *der (malloc'ed; caller frees), or the
 * signer's code (a policy code, MF_ERR_INVAL without acme:, ...) with its
 * reason in why. Bounds as in acme.h (MF_ACME_*_MAX); strings printable.
 */
int mfd_signer_issue(struct mfd_signer *s, const unsigned char *csr, size_t csr_len,
    const char *profile, const char *requester, int64_t lifetime, unsigned char **der,
    size_t *len, char *why, size_t whylen);

/* Nonzero once the signer is known to be gone. */
int mfd_signer_dead(struct mfd_signer *s);

/*
 * Drops root to user (setgroups, setgid, setuid) and checks that it cannot
 * be regained. A no-op when user is NULL or we are not root.
 */
int mfd_privdrop(const char *user);

#endif
