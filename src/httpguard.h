/*
 * httpguard.h: what both of mayflyd's listeners (the OCSP/HTTP one,
 * src/mayflyd/http.c, and the ACME/EST one, src/acme/acme_http.c) do
 * against clients that hold connections without finishing requests.
 *
 * libmicrohttpd 0.9.75 limits connections in all and per address and
 * closes connections idle for its timeout, but every byte resets that
 * timeout, and a listener at its limit stops serving anyone new: the
 * thread-per-connection ACME listener accepts and closes, the epoll OCSP
 * one leaves them in the kernel's backlog until clients time out. So the
 * guard keeps a list of a listener's connections (its
 * MHD_OPTION_NOTIFY_CONNECTION callback) and a thread that
 *  - cuts (shutdown(2)) a connection whose current request has taken the
 *    client longer than request-timeout: headers trickled a byte at a time,
 *    a body streamed for ever. Time a handler runs (an issuance waiting for
 *    its commit) is the server's and does not count;
 *  - near the limit (above 7/8 of it) evicts connections that are between
 *    requests (not one whose request headers have arrived) until 3/4 are
 *    left: first those that never sent a byte, then those silent longest
 *    (the kernel's TCP_INFO says both), so that an idle or slow flood gives
 *    way to clients that are talking, which would otherwise wait behind it.
 * A cut connection's own thread sees end of input and closes it;
 * libmicrohttpd reports a connection closed before it closes its socket,
 * and the list is changed and read under one lock, so a listed fd is
 * always that connection's.
 */
#ifndef MF_HTTPGUARD_H
#define MF_HTTPGUARD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct mf_hguard;

/* Where a connection is; set by the listener's handlers. */
enum mf_hguard_state {
	MF_HG_IDLE = 0,		/* before its request's headers are in: may be evicted */
	MF_HG_REQUEST,		/* headers in (body, or the answer going out): client's time */
	MF_HG_BUSY		/* a handler runs: the server's time */
};

/*
 * A guard for a listener whose libmicrohttpd daemon(s) take at most limit
 * connections, cutting requests at request_timeout seconds; name ("ocsp",
 * "acme") goes into its log lines. Starts its thread. Returns 0 or a
 * negative MF_ERR_*; free with mf_hguard_free() once the daemons are
 * stopped (their closing connections still report to the guard).
 */
int mf_hguard_new(const char *name, unsigned limit, int64_t request_timeout,
    struct mf_hguard **out);
void mf_hguard_free(struct mf_hguard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback; its closure is the guard. */
void mf_hguard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe);

/* The connection's state changes (and its request clock restarts). */
void mf_hguard_mark(struct MHD_Connection *c, enum mf_hguard_state st);

/*
 * A body above its limit is read on (and discarded), so that the client
 * gets its 413 rather than a reset, but only up to this many bytes in all;
 * past them the listener drops the connection (1 GB streamed must not cost
 * a gigabyte of reading).
 */
#define MF_HG_BODY_DRAIN(max)	((size_t)(max) * 2 + 65536)

/*
 * Calls fn for every guard of the process with its name and the
 * connections it has cut for request-timeout and evicted near the limit so
 * far (mayflyd_connections_cut_total in /metrics). fn must not create or
 * free a guard.
 */
void mf_hguard_each(void (*fn)(const char *name, uint64_t timed_out, uint64_t evicted, void *arg),
    void *arg);

#endif
