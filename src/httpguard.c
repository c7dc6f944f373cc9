/*
 * httpguard.c: request deadlines and eviction near the connection limit,
 * for both of mayflyd's listeners (httpguard.h says what and why).
 *
 * Each connection's entry is written by that connection's own thread (its
 * state and clock, as atomics) and read by the guard's thread under the
 * list lock; it is freed only when libmicrohttpd reports the connection
 * closed, in that same thread, after it has left the list.
 */
#include "mf_build.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>		/* tcp_info with tcpi_bytes_received; glibc's lacks it */

#include "httpguard.h"
#include "mferr.h"
#include "util.h"

/* The thread looks at the list this often, and at once when asked. */
#define HG_TICK_MS	250
/* After an eviction pass that found nothing to evict, the next waits this long. */
#define HG_IDLE_PASS_MS	100
/* A summary line at most this often while the guard acts. */
#define HG_LOG_MS	10000

struct hg_conn {
	struct hg_conn *prev, *next;
	int fd;				/* the connection's socket, open while listed */
	int cut;			/* already shut down (under the list lock) */
	_Atomic int state;		/* enum mf_hguard_state */
	_Atomic int64_t since_ms;	/* when the current state began (monotonic) */
};

struct mf_hguard {
	const char *name;
	pthread_mutex_t lock;		/* the list, n, ncut, wake, stopping */
	pthread_cond_t cond;
	struct hg_conn *conns;
	unsigned n, ncut;		/* listed; of them already cut */
	unsigned limit, high, low;	/* evict above high, down to low */
	int64_t timeout_ms;
	int wake, stopping;
	pthread_t tid;
	_Atomic uint64_t timed_out, evicted;
	uint64_t logged_to, logged_ev;
	int64_t logged_at;
	struct hg_cand *cand;		/* scratch for the eviction pass, limit + 64 */
	size_t ncand_max;
};

struct hg_cand {
	struct hg_conn *c;
	int talked;			/* the client has sent at least a byte */
	uint32_t silent_ms;		/* since the last byte it sent */
};

/*
 * The guards of this process (one per listener), so that /metrics can
 * report what they cut without the listeners handing them around.
 */
#define HG_MAX_GUARDS	8
static pthread_mutex_t hg_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mf_hguard *hg_reg[HG_MAX_GUARDS];

static void
hg_register(struct mf_hguard *g, int add)
{
	size_t i;

	pthread_mutex_lock(&hg_reg_lock);
	for (i = 0; i < HG_MAX_GUARDS; i++) {
		if (add && hg_reg[i] == NULL) {
			hg_reg[i] = g;
			break;
		}
		if (!add && hg_reg[i] == g) {
			hg_reg[i] = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&hg_reg_lock);
}

static int64_t
hg_now_ms(void)
{
	return mf_mono_us() / 1000;
}

void
mf_hguard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct mf_hguard *g = cls;
	const union MHD_ConnectionInfo *ci;
	struct hg_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (c = calloc(1, sizeof(*c))) == NULL)
			return;		/* unguarded; libmicrohttpd's own timeout still applies */
		c->fd = ci->connect_fd;
		atomic_store(&c->state, MF_HG_IDLE);
		atomic_store(&c->since_ms, hg_now_ms());
		pthread_mutex_lock(&g->lock);
		c->next = g->conns;
		if (g->conns != NULL)
			g->conns->prev = c;
		g->conns = c;
		g->n++;
		if (g->n - g->ncut > g->high && !g->wake) {
			g->wake = 1;
			pthread_cond_signal(&g->cond);
		}
		pthread_mutex_unlock(&g->lock);
		*socket_context = c;
		return;
	}
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	g->n--;
	if (c->cut)
		g->ncut--;
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_context = NULL;
}

void
mf_hguard_mark(struct MHD_Connection *conn, enum mf_hguard_state st)
{
	const union MHD_ConnectionInfo *ci;
	struct hg_conn *c;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (c = ci->socket_context) == NULL)
		return;
	atomic_store(&c->since_ms, hg_now_ms());
	atomic_store(&c->state, (int)st);
}

/* Under g->lock. */
static void
hg_cut(struct mf_hguard *g, struct hg_conn *c)
{
	/* The connection's thread sees end of input and closes it. */
	shutdown(c->fd, SHUT_RDWR);
	c->cut = 1;
	g->ncut++;
}

/* Never-talked first, then the longest silent. */
static int
hg_cand_cmp(const void *a, const void *b)
{
	const struct hg_cand *x = a, *y = b;

	if (x->talked != y->talked)
		return x->talked - y->talked;
	return x->silent_ms > y->silent_ms ? -1 : x->silent_ms < y->silent_ms;
}

/* Under g->lock: cuts what is past its deadline; returns how many are left uncut. */
static unsigned
hg_deadlines(struct mf_hguard *g, int64_t now)
{
	struct hg_conn *c;

	for (c = g->conns; c != NULL; c = c->next) {
		if (c->cut || atomic_load(&c->state) == MF_HG_BUSY)
			continue;
		if (now - atomic_load(&c->since_ms) > g->timeout_ms) {
			hg_cut(g, c);
			atomic_fetch_add(&g->timed_out, 1);
		}
	}
	return g->n - g->ncut;
}

/* Under g->lock: evicts idle connections down to g->low; returns how many. */
static unsigned
hg_evict(struct mf_hguard *g)
{
	struct hg_conn *c;
	size_t nc = 0, i, want;

	if (g->n - g->ncut <= g->high)
		return 0;
	want = g->n - g->ncut - g->low;
	for (c = g->conns; c != NULL && nc < g->ncand_max; c = c->next) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (c->cut || atomic_load(&c->state) != MF_HG_IDLE)
			continue;
		memset(&ti, 0, sizeof(ti));
		g->cand[nc].c = c;
		if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
		    tl >= offsetof(struct tcp_info, tcpi_bytes_received) +
		    sizeof(ti.tcpi_bytes_received)) {
			g->cand[nc].talked = ti.tcpi_bytes_received > 0;
			g->cand[nc].silent_ms = ti.tcpi_last_data_recv;
		} else {
			/* Not TCP, or an old kernel: its age in this state stands in. */
			g->cand[nc].talked = 1;
			g->cand[nc].silent_ms = (uint32_t)(hg_now_ms() - atomic_load(&c->since_ms));
		}
		nc++;
	}
	if (nc == 0)
		return 0;
	qsort(g->cand, nc, sizeof(g->cand[0]), hg_cand_cmp);
	for (i = 0; i < nc && i < want; i++)
		hg_cut(g, g->cand[i].c);
	atomic_fetch_add(&g->evicted, i);
	return (unsigned)i;
}

static void *
hg_thread(void *arg)
{
	struct mf_hguard *g = arg;
	struct timespec ts;
	int64_t now, next_pass = 0;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		if (!g->wake) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += HG_TICK_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&g->cond, &g->lock, &ts);
		}
		g->wake = 0;
		if (g->stopping)
			break;
		now = hg_now_ms();
		hg_deadlines(g, now);
		if (now >= next_pass && hg_evict(g) == 0 && g->n - g->ncut > g->high)
			next_pass = now + HG_IDLE_PASS_MS;	/* all busy: don't spin */
		if (now - g->logged_at >= HG_LOG_MS) {
			uint64_t to = atomic_load(&g->timed_out), ev = atomic_load(&g->evicted);

			if (to != g->logged_to || ev != g->logged_ev)
				mf_warn("event=connections-cut listener=%s request_timeout=%llu "
				    "evicted=%llu open=%u limit=%u", g->name,
				    (unsigned long long)(to - g->logged_to),
				    (unsigned long long)(ev - g->logged_ev), g->n - g->ncut, g->limit);
			g->logged_to = to;
			g->logged_ev = ev;
			g->logged_at = now;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int
mf_hguard_new(const char *name, unsigned limit, int64_t request_timeout, struct mf_hguard **out)
{
	struct mf_hguard *g;

	*out = NULL;
	if (limit == 0 || request_timeout <= 0)
		return MF_ERR_INVAL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return MF_ERR_NOMEM;
	g->name = name;
	g->limit = limit;
	g->high = limit - (limit / 8 > 1 ? limit / 8 : 1);
	g->low = limit - (limit / 4 > 2 ? limit / 4 : 2);
	if (limit < 4)
		g->high = g->low = limit;	/* too few to keep any in reserve */
	g->timeout_ms = request_timeout * 1000;
	g->ncand_max = (size_t)limit + 64;
	if ((g->cand = calloc(g->ncand_max, sizeof(*g->cand))) == NULL) {
		free(g);
		return MF_ERR_NOMEM;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->logged_at = hg_now_ms();
	if (pthread_create(&g->tid, NULL, hg_thread, g) != 0) {
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->cond);
		free(g->cand);
		free(g);
		return MF_ERR_INTERNAL;
	}
	hg_register(g, 1);
	*out = g;
	return 0;
}

void
mf_hguard_each(void (*fn)(const char *name, uint64_t timed_out, uint64_t evicted, void *arg),
    void *arg)
{
	size_t i;

	pthread_mutex_lock(&hg_reg_lock);
	for (i = 0; i < HG_MAX_GUARDS; i++)
		if (hg_reg[i] != NULL)
			fn(hg_reg[i]->name, atomic_load(&hg_reg[i]->timed_out),
			    atomic_load(&hg_reg[i]->evicted), arg);
	pthread_mutex_unlock(&hg_reg_lock);
}

void
mf_hguard_free(struct mf_hguard *g)
{
	struct hg_conn *c, *n;

	if (g == NULL)
		return;
	hg_register(g, 0);
	pthread_mutex_lock(&g->lock);
	g->stopping = 1;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->tid, NULL);
	/* Left only if a daemon was not stopped first; their sockets are not ours. */
	for (c = g->conns; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g->cand);
	free(g);
}
