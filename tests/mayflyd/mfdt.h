/* mfdt.h: the Check suites of check_mayflyd and helpers they share. */
#ifndef MFDT_H
#define MFDT_H

#include <check.h>
#include <stddef.h>

Suite *suite_mfd_unit(void);
Suite *suite_mfd_daemon(void);
Suite *suite_mfd_signer(void);

#include <stdint.h>
#include <sys/types.h>

/*
 * A TCP port on 127.0.0.1 held for the rest of the test's process, for a
 * server whose port must be chosen before it starts (it is in the
 * certificates' URLs) or that cannot report the port it got (nginx): a
 * socket bound to port 0 with SO_REUSEADDR that never listens and is never
 * closed (close-on-exec). The kernel gives a bound port to no one else,
 * neither to a bind to port 0 nor to an outgoing connection, and an
 * explicit bind without SO_REUSEADDR fails; mayflyd and nginx set it, so
 * they may bind the port and listen, again after a restart. Nothing can
 * take the port in between: nothing to retry. With CK_FORK=no the sockets
 * of all tests stay open until the runner exits.
 */
int mfdt_hold_port(void);
int64_t mfdt_ms(void);
int mfdt_connect(int port);
/* Sends req raw, reads to EOF within timeout_ms; status and body (caller frees). */
int mfdt_http(int port, const char *req, size_t reqlen, int timeout_ms, int *status,
    unsigned char **body, size_t *bodylen);
int mfdt_get(int port, const char *path, unsigned char **body, size_t *len);
/* dir/mayfly.yaml for port; hsm: PKCS#11 module for the intermediate's key, or NULL. */
int mfdt_yaml(const char *dir, int port, const char *hsm);
/* A complete setup in dir for a daemon on port (openssl CLI, file keys, SQLite log). */
int mfdt_setup(const char *dir, int port);
/* Starts build/mayflyd -c dir/mayfly.yaml; returns its pid once /health is 200, or -1. */
pid_t mfdt_start(const char *dir, int port);
/*
 * The port mayflyd reported in dir/mayflyd.log (event=listening) for its
 * first OCSP listener, or with acme for its ACME listener: for a daemon
 * configured with port 0, which binds whatever is free. Waits up to
 * timeout_ms for the line; -1 if it did not come.
 */
int mfdt_log_port(const char *dir, int acme, int timeout_ms);
/* Whether dir/mayflyd.log says a listen address was in use (EADDRINUSE). */
int mfdt_port_was_taken(const char *dir);
/*
 * mfdt_setup and mfdt_start in the empty dir, for tests whose certificates
 * name the OCSP port in their AIA, so that it is chosen before the start
 * and held until then (mfdt_hold_port). *port gets the port; pid or -1.
 */
pid_t mfdt_setup_start(const char *dir, int *port);
/* The same, with prep(dir, port, arg) run after each setup, before the start (0: go on). */
pid_t mfdt_setup_start_with(const char *dir, int *port, int (*prep)(const char *, int, void *),
    void *arg);
/* SIGTERM, bounded wait; exit status or -1. */
int mfdt_stop(pid_t pid, int timeout_ms);

/*
 * Makes a small PKI with the openssl CLI in dir: ca.pem/ca.key (EC P-256),
 * leaf.pem issued by it, other.pem/other.key (another CA), and the OCSP
 * requests req-sha1.der, req-sha256.der (no nonce), req-nonce.der and
 * req-two.der (two CertIDs). Returns 0 or -1.
 */
int mfdt_pki(const char *dir);

/* Reads dir/name into a new buffer; caller frees. */
unsigned char *mfdt_read(const char *dir, const char *name, size_t *len);

#endif
