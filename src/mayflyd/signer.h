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
 *                   cannot make it sign a status of its choosing; a
 *                   serial that is not in the log for i is refused with
 *                   MF_ERR_OCSP_UNAUTHORIZED and costs no signature
 *   CRL i           build and sign the CRL of intermediate i
 *   RELOAD          re-read the configuration and keys (SIGHUP)
 *   ISSUE_BATCH n   issue up to MFD_SIG_ISSUE_BATCH_MAX leaves, each a CSR
 *                   (DER, at most 16 KiB) under profile p, for requester
 *                   r, lifetime l (0: the profile's); only with an acme:
 *                   section. The signer runs the policy check itself for
 *                   each, never trusting the network side's, signs the
 *                   approved ones, logs them in one transaction and
 *                   commits it once (one fsync for the batch: group
 *                   commit). Only after the commit does it answer, per
 *                   item, with the certificate and the first OCSP response
 *                   for it (status good, SHA-1 CertID), pre-signed; an
 *                   item it refuses is answered with its code and reason
 *                   and does not affect the others; if the commit fails,
 *                   every item is refused
 *
 * Every request is a fixed header and a payload of the exact size its op
 * demands (ISSUE_BATCH: a count, then per item a fixed part giving the
 * lengths of the bounded variable ones); anything else ends the signer.
 * It signs nothing else.
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
	/* 5 was a single ISSUE: now a batch of one. */
	MFD_SIG_ISSUE_BATCH = 6
};

/* Most issuance requests the network side combines into one ISSUE_BATCH. */
#define MFD_SIG_ISSUE_BATCH_MAX	32

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
 * What an issuance gives back: the certificate and, unless pre-signing
 * failed (ocsp NULL: the refresher signs it later), its first OCSP
 * response, for the cache key (issuer index, SHA-1, serial magnitude).
 */
struct mfd_sig_issued {
	unsigned char *cert;		/* DER, malloc'ed */
	size_t cert_len;
	unsigned char *ocsp;		/* DER, malloc'ed, or NULL */
	size_t ocsp_len;
	struct mfd_sig_meta meta;	/* of the OCSP response */
	unsigned issuer;		/* index of the issuing intermediate in the config */
	unsigned char serial[20];	/* magnitude, big-endian */
	size_t serial_len;
};

/* Frees the buffers of r and zeroes it. NULL ok. */
void mfd_sig_issued_clear(struct mfd_sig_issued *r);

/*
 * Issues a leaf through the signer: fills *out (caller clears it with
 * mfd_sig_issued_clear), or returns the signer's code (a policy code,
 * MF_ERR_INVAL without acme:, MF_ERR_SIGNER if the signer is gone or did
 * not answer, ...) with its reason in why. Bounds as in acme.h
 * (MF_ACME_*_MAX); strings printable.
 *
 * Concurrent callers are combined: the first caller that finds no batch in
 * flight leads, sends up to MFD_SIG_ISSUE_BATCH_MAX queued requests as one
 * ISSUE_BATCH, and hands each answer to its caller; the others wait for
 * it. A request still queued after 10 s is given up (MF_ERR_SIGNER); one
 * already sent waits for its answer, which the socket timeouts bound.
 */
int mfd_signer_issue(struct mfd_signer *s, const unsigned char *csr, size_t csr_len,
    const char *profile, const char *requester, int64_t lifetime, int64_t not_before,
    struct mfd_sig_issued *out, char *why, size_t whylen);

/*
 * For metrics: issuance requests waiting now, batches sent, requests in
 * them, and the largest batch so far.
 */
void mfd_signer_batch_stats(struct mfd_signer *s, unsigned long *queued,
    unsigned long *batches, unsigned long *items, unsigned long *largest);

/* Nonzero once the signer is known to be gone. */
int mfd_signer_dead(struct mfd_signer *s);

/*
 * Drops root to user (setgroups, setgid, setuid) and checks that it cannot
 * be regained. A no-op when user is NULL or we are not root.
 */
int mfd_privdrop(const char *user);

#endif
