/*
 * h01.c: the http-01 responder of the ACME load tools. Tokens sit in an
 * open-addressed table of TOKENS_MAX slots keyed by their hash, so a long
 * benchmark can keep publishing without a slot going stale too early.
 */
#include "mf_build.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "h01.h"

#define TOKENS_MAX	4096

static struct {
	pthread_mutex_t lock;
	char token[TOKENS_MAX][64];
	char keyauth[TOKENS_MAX][160];
} h01 = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned
slot_of(const char *tok)
{
	unsigned h = 2166136261u;

	for (; *tok != '\0'; tok++)
		h = (h ^ (unsigned char)*tok) * 16777619u;
	return h % TOKENS_MAX;
}

void
h01_put(const char *tok, const char *keyauth)
{
	unsigned i = slot_of(tok), k;

	pthread_mutex_lock(&h01.lock);
	for (k = 0; k < TOKENS_MAX; k++, i = (i + 1) % TOKENS_MAX)
		if (h01.token[i][0] == '\0' || strcmp(h01.token[i], tok) == 0)
			break;
	snprintf(h01.token[i], sizeof(h01.token[i]), "%.63s", tok);
	snprintf(h01.keyauth[i], sizeof(h01.keyauth[i]), "%.159s", keyauth);
	pthread_mutex_unlock(&h01.lock);
}

static enum MHD_Result
h01_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	static const char prefix[] = "/.well-known/acme-challenge/";
	char body[160] = "not found";
	struct MHD_Response *mr;
	unsigned code = 404, i, k;
	enum MHD_Result ret;

	(void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)req_cls;
	if (strncmp(url, prefix, sizeof(prefix) - 1) == 0) {
		const char *tok = url + sizeof(prefix) - 1;

		pthread_mutex_lock(&h01.lock);
		for (k = 0, i = slot_of(tok); k < TOKENS_MAX && h01.token[i][0] != '\0';
		    k++, i = (i + 1) % TOKENS_MAX)
			if (strcmp(h01.token[i], tok) == 0) {
				snprintf(body, sizeof(body), "%s", h01.keyauth[i]);
				code = 200;
				break;
			}
		pthread_mutex_unlock(&h01.lock);
	}
	mr = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	ret = MHD_queue_response(conn, code, mr);
	MHD_destroy_response(mr);
	return ret;
}

struct MHD_Daemon *
h01_start(int port)
{
	struct sockaddr_in lo;

	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	lo.sin_port = htons((uint16_t)port);
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port,
	    NULL, NULL, h01_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&lo,
	    MHD_OPTION_CONNECTION_LIMIT, 1024U, MHD_OPTION_END);
}
