/*
 * h01.h: the http-01 responder of the ACME load tools (mayfly-acme-bench,
 * mayfly-acme-try): token -> key authorisation, served on 127.0.0.1.
 */
#ifndef MF_TESTS_ACME_H01_H
#define MF_TESTS_ACME_H01_H

struct MHD_Daemon;

/* Publishes keyauth under tok (a later put of the same token replaces it). */
void h01_put(const char *tok, const char *keyauth);
/* Serves /.well-known/acme-challenge/TOKEN on 127.0.0.1:port; NULL if it cannot bind. */
struct MHD_Daemon *h01_start(int port);

#endif
