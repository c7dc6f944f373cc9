/*
 * sigclient.c: the network process's side of the signer (see signer.h):
 * starting, replacing and stopping the signer process, and the typed
 * requests, one exchange at a time on the socket. Issuance requests of
 * concurrent callers are combined into ISSUE_BATCH requests here, so that
 * the signer commits each batch once (group commit). The wire format is
 * described in signer.c, its structs are in sigwire.h.
 */
#include "mf_build.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acme/acme.h"
#include "mferr.h"
#include "signer.h"
#include "sigwire.h"

static void
sig_copy_why(const unsigned char *p, size_t n, char *why, size_t wl)
{
	if (why == NULL || wl == 0)
		return;
	if (n >= wl)
		n = wl - 1;
	memcpy(why, p != NULL ? (const char *)p : "", p != NULL ? n : 0);
	why[p != NULL ? n : 0] = '\0';
}

/* One caller's issuance, queued until a leader sends it (mfd_signer_issue). */
enum sig_job_state { SIG_JOB_QUEUED, SIG_JOB_SENT, SIG_JOB_DONE };

struct sig_job {
	unsigned char *item;		/* struct mfd_sig_issue_req and its strings */
	size_t item_len;
	enum sig_job_state state;
	int rc;
	struct mfd_sig_issued *out;
	char why[256];
	struct sig_job *next;
};

struct mfd_signer {
	pthread_mutex_t lock;		/* the socket: one exchange at a time */
	int fd;
	pid_t pid;
	atomic_int dead;		/* written under lock; read without (metrics, health) */
	char exe[4096];			/* our own binary, for fork + exec */
	char *cfg_path;

	/* Issuances waiting for a batch; qlock is never held across I/O. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;		/* CLOCK_MONOTONIC; a batch was answered */
	struct sig_job *qhead, **qtail;
	int leading;			/* a batch is in flight */
	unsigned long queued;		/* jobs in the queue */
	unsigned long batches, batch_items, batch_max;
};

int
mfd_signer_dead(struct mfd_signer *s)
{
	/* Without the socket lock: a slow batch must not hold up /metrics. */
	return atomic_load(&s->dead);
}

/* One round trip; *resp gets the payload (malloc'ed, NUL-terminated). */
static int
sig_call_wait(struct mfd_signer *s, uint32_t op, const void *req, size_t reqlen,
    unsigned char **resp, size_t *resplen, int lock_sec);

static int
sig_call(struct mfd_signer *s, uint32_t op, const void *req, size_t reqlen,
    unsigned char **resp, size_t *resplen)
{
	return sig_call_wait(s, op, req, reqlen, resp, resplen, 10);
}

/* One round trip, waiting at most lock_sec seconds for the channel. */
static int
sig_call_wait(struct mfd_signer *s, uint32_t op, const void *req, size_t reqlen,
    unsigned char **resp, size_t *resplen, int lock_sec)
{
	struct mfd_sig_hdr h;
	struct mfd_sig_rhdr rh;
	unsigned char *buf = NULL;
	int rc;

	*resp = NULL;
	*resplen = 0;
	h.op = op;
	h.len = (uint32_t)reqlen;
	{
		/* Bounded: an HTTP thread must not queue forever behind a slow token. */
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += lock_sec;
		if (pthread_mutex_timedlock(&s->lock, &dl) != 0)
			return MF_ERR_SIGNER;
	}
	if (s->dead) {
		rc = MF_ERR_SIGNER;
		goto out;
	}
	if (mfd_sig_write_all(s->fd, &h, sizeof(h)) != 0 ||
	    (reqlen && mfd_sig_write_all(s->fd, req, reqlen) != 0) ||
	    mfd_sig_read_all(s->fd, &rh, sizeof(rh), MFD_SIG_TIMEOUT_MS) != 0 ||
	    rh.len > MFD_SIG_RESP_MAX) {
		rc = MF_ERR_SIGNER;
		s->dead = 1;
		goto out;
	}
	if ((buf = malloc((size_t)rh.len + 1)) == NULL) {
		/* We cannot skip the payload without reading it: the stream is lost. */
		rc = MF_ERR_SIGNER;
		s->dead = 1;
		goto out;
	}
	if (mfd_sig_read_all(s->fd, buf, rh.len, MFD_SIG_TIMEOUT_MS) != 0) {
		free(buf);
		buf = NULL;
		rc = MF_ERR_SIGNER;
		s->dead = 1;
		goto out;
	}
	buf[rh.len] = '\0';
	*resp = buf;
	*resplen = rh.len;
	rc = rh.rc;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}


/*
 * fork + exec of our own binary in signer mode ("-S fd"): the signer starts
 * as a fresh process image, never a copy of a threaded one, and a token that
 * vanished can be used again by a new signer (libp11 cannot re-attach within
 * one process). Waits for its first answer.
 */
static int
sig_spawn(const char *exe, const char *cfg_path, int *fdp, pid_t *pidp, char *why, size_t wl)
{
	struct mfd_sig_rhdr rh;
	unsigned char *buf = NULL;
	int sv[2], rc;
	pid_t pid;

	snprintf(why, wl, "starting the signer failed");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return MF_ERR_IO;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return MF_ERR_IO;
	}
	if (pid == 0) {
		char fdstr[16];

		/* Only async-signal-safe calls between fork and exec. */
		if (fcntl(sv[1], F_SETFD, 0) != 0)
			_exit(127);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		execl(exe, "mayflyd-signer", "-S", fdstr, "-c", cfg_path, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	/* A token may take a while to log in; wait for the first answer. */
	rc = mfd_sig_read_all(sv[0], &rh, sizeof(rh), 120000);
	if (rc == 0 && rh.len < 4096 && (buf = malloc(rh.len + 1)) != NULL &&
	    mfd_sig_read_all(sv[0], buf, rh.len, MFD_SIG_TIMEOUT_MS) == 0) {
		sig_copy_why(buf, rh.len, why, wl);
		rc = rh.rc;
	} else {
		rc = MF_ERR_SIGNER;
	}
	free(buf);
	if (rc != 0) {
		close(sv[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return rc;
	}
	*fdp = sv[0];
	*pidp = pid;
	return 0;
}

static void
sig_reap(int fd, pid_t pid)
{
	int st, i;

	close(fd);
	if (pid <= 0)
		return;
	/* EOF makes it exit; give it a moment, then insist. */
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int
mfd_signer_start(const struct mf_config *cfg, struct mfd_signer **out, char *why, size_t wl)
{
	struct mfd_signer *s;
	ssize_t n;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MF_ERR_NOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->qcond, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->qtail = &s->qhead;
	s->fd = -1;
	if ((n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1)) <= 0 ||
	    (s->cfg_path = strdup(cfg->path)) == NULL) {
		snprintf(why, wl, "cannot find our own binary");
		mfd_signer_stop(s);
		return MF_ERR_IO;
	}
	s->exe[n] = '\0';
	if ((rc = sig_spawn(s->exe, s->cfg_path, &s->fd, &s->pid, why, wl)) != 0) {
		mfd_signer_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
mfd_signer_respawn(struct mfd_signer *s, char *why, size_t wl)
{
	int fd, ofd, rc;
	pid_t pid, opid;

	if ((rc = sig_spawn(s->exe, s->cfg_path, &fd, &pid, why, wl)) != 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	ofd = s->fd;
	opid = s->pid;
	s->fd = fd;
	s->pid = pid;
	s->dead = 0;
	pthread_mutex_unlock(&s->lock);
	sig_reap(ofd, opid);
	return 0;
}

void
mfd_signer_stop(struct mfd_signer *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		sig_reap(s->fd, s->pid);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	free(s->cfg_path);
	free(s);
}

int
mfd_signer_ping(struct mfd_signer *s, char *why, size_t wl)
{
	unsigned char *p;
	size_t n;
	int rc;

	/* A health check answers within about a second, busy signer or not. */
	rc = sig_call_wait(s, MFD_SIG_PING, NULL, 0, &p, &n, 1);
	sig_copy_why(p, n, why, wl);
	if (rc == MF_ERR_SIGNER && !mfd_signer_dead(s)) {
		/*
		 * The channel stayed taken past sig_call's wait: a call is in
		 * flight (a long batch, a slow token). The signer is busy, not
		 * gone, and must not be respawned under that call; if it hangs,
		 * the call itself times out (MFD_SIG_TIMEOUT_MS) and marks it dead.
		 */
		if (why != NULL)
			snprintf(why, wl, "busy with a request");
		free(p);
		return 0;
	}
	if (rc == MF_ERR_SIGNER && why != NULL)
		snprintf(why, wl, "signer process is gone");
	free(p);
	return rc;
}

int
mfd_signer_reload(struct mfd_signer *s, char *why, size_t wl)
{
	unsigned char *p;
	size_t n;
	int rc;

	rc = sig_call(s, MFD_SIG_RELOAD, NULL, 0, &p, &n);
	sig_copy_why(p, n, why, wl);
	free(p);
	return rc;
}

static int
sig_split(int rc, unsigned char *p, size_t n, struct mfd_sig_meta *meta, unsigned char **der,
    size_t *len)
{
	*der = NULL;
	*len = 0;
	if (rc == 0 && n <= sizeof(*meta))
		rc = MF_ERR_SIGNER;
	if (rc != 0) {
		free(p);
		return rc;
	}
	memcpy(meta, p, sizeof(*meta));
	memmove(p, p + sizeof(*meta), n - sizeof(*meta));
	*der = p;
	*len = n - sizeof(*meta);
	return 0;
}

int
mfd_signer_ocsp(struct mfd_signer *s, unsigned issuer, int alg, const unsigned char *serial,
    size_t serial_len, struct mfd_sig_meta *meta, unsigned char **der, size_t *len)
{
	struct mfd_sig_ocsp_req q;
	unsigned char *p;
	size_t n;
	int rc;

	if (serial_len == 0 || serial_len > sizeof(q.serial) || issuer > 0xffff)
		return MF_ERR_INVAL;
	memset(&q, 0, sizeof(q));
	q.issuer = (uint16_t)issuer;
	q.alg = (uint8_t)alg;
	q.serial_len = (uint8_t)serial_len;
	memcpy(q.serial, serial, serial_len);
	rc = sig_call(s, MFD_SIG_OCSP, &q, sizeof(q), &p, &n);
	return sig_split(rc, p, n, meta, der, len);
}

int
mfd_signer_ocsp_batch(struct mfd_signer *s, const struct mfd_sig_item *items, size_t n,
    mfd_sig_batch_cb cb, void *arg)
{
	unsigned char req[MFD_SIG_BATCH * (sizeof(struct mfd_sig_hdr) +
	    sizeof(struct mfd_sig_ocsp_req))], *p = req;
	struct timespec dl;
	size_t i;
	int rc = 0;

	if (n == 0 || n > MFD_SIG_BATCH)
		return MF_ERR_INVAL;
	for (i = 0; i < n; i++) {
		struct mfd_sig_hdr h = { MFD_SIG_OCSP, sizeof(struct mfd_sig_ocsp_req) };
		struct mfd_sig_ocsp_req q;

		if (items[i].serial_len == 0 || items[i].serial_len > sizeof(q.serial) ||
		    items[i].issuer > 0xffff)
			return MF_ERR_INVAL;
		memset(&q, 0, sizeof(q));
		q.issuer = (uint16_t)items[i].issuer;
		q.alg = (uint8_t)items[i].alg;
		q.serial_len = (uint8_t)items[i].serial_len;
		memcpy(q.serial, items[i].serial, items[i].serial_len);
		memcpy(p, &h, sizeof(h));
		memcpy(p + sizeof(h), &q, sizeof(q));
		p += sizeof(h) + sizeof(q);
	}
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	if (pthread_mutex_timedlock(&s->lock, &dl) != 0)
		return MF_ERR_SIGNER;
	/*
	 * The requests (under 2 KiB) fit the socket buffer, so writing them all
	 * before reading cannot deadlock with the signer writing answers.
	 */
	if (s->dead || mfd_sig_write_all(s->fd, req, (size_t)(p - req)) != 0) {
		s->dead = 1;
		rc = MF_ERR_SIGNER;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct mfd_sig_rhdr rh;
		struct mfd_sig_meta m;
		unsigned char *buf;

		if (mfd_sig_read_all(s->fd, &rh, sizeof(rh), MFD_SIG_TIMEOUT_MS) != 0 ||
		    rh.len > MFD_SIG_RESP_MAX || (rh.rc == 0 && rh.len <= sizeof(m)) ||
		    (buf = malloc((size_t)rh.len + 1)) == NULL) {
			s->dead = 1;
			rc = MF_ERR_SIGNER;
			goto out;
		}
		if (mfd_sig_read_all(s->fd, buf, rh.len, MFD_SIG_TIMEOUT_MS) != 0) {
			free(buf);
			s->dead = 1;
			rc = MF_ERR_SIGNER;
			goto out;
		}
		if (rh.rc != 0) {
			free(buf);
			cb(arg, i, rh.rc, NULL, NULL, 0);
			continue;
		}
		memcpy(&m, buf, sizeof(m));
		memmove(buf, buf + sizeof(m), rh.len - sizeof(m));
		cb(arg, i, 0, &m, buf, rh.len - sizeof(m));
	}
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
mfd_sig_issued_clear(struct mfd_sig_issued *r)
{
	if (r == NULL)
		return;
	free(r->cert);
	free(r->ocsp);
	memset(r, 0, sizeof(*r));
}

static void
sig_jobs_fail(struct sig_job **jobs, size_t n, int rc, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		jobs[i]->rc = rc;
		snprintf(jobs[i]->why, sizeof(jobs[i]->why), "%s", why);
	}
}

/*
 * Checks that p (the signer's answer to a batch of n) holds exactly n
 * well-formed answers; anything else means the stream is not to be trusted.
 */
static int
sig_batch_check(const unsigned char *p, size_t len, size_t n)
{
	struct mfd_sig_issue_ans a;
	size_t i, off = 0;

	for (i = 0; i < n; i++) {
		if (len - off < sizeof(a))
			return MF_ERR_SIGNER;
		memcpy(&a, p + off, sizeof(a));
		off += sizeof(a);
		if ((size_t)a.len + a.ocsp_len > len - off ||
		    (a.rc == 0 && (a.len == 0 || a.serial_len == 0 || a.serial_len > 20)) ||
		    (a.rc != 0 && a.ocsp_len != 0))
			return MF_ERR_SIGNER;
		off += (size_t)a.len + a.ocsp_len;
	}
	return off == len ? 0 : MF_ERR_SIGNER;
}

/* Hands answer p (checked by sig_batch_check) to the job it belongs to. */
static size_t
sig_batch_give(const unsigned char *p, struct sig_job *j)
{
	struct mfd_sig_issue_ans a;
	struct mfd_sig_issued *o = j->out;

	memcpy(&a, p, sizeof(a));
	p += sizeof(a);
	if (a.rc != 0) {
		j->rc = a.rc;
		sig_copy_why(p, a.len, j->why, sizeof(j->why));
		return sizeof(a) + a.len;
	}
	if ((o->cert = malloc(a.len)) == NULL) {
		/* XXX logged but lost: the client asks again and gets a new one. */
		j->rc = MF_ERR_NOMEM;
		snprintf(j->why, sizeof(j->why), "out of memory");
		return sizeof(a) + a.len + a.ocsp_len;
	}
	memcpy(o->cert, p, a.len);
	o->cert_len = a.len;
	/* Without its OCSP response the certificate still goes out. */
	if (a.ocsp_len > 0 && (o->ocsp = malloc(a.ocsp_len)) != NULL) {
		memcpy(o->ocsp, p + a.len, a.ocsp_len);
		o->ocsp_len = a.ocsp_len;
	}
	o->meta = a.meta;
	o->issuer = a.issuer;
	memcpy(o->serial, a.serial, a.serial_len);
	o->serial_len = a.serial_len;
	j->rc = 0;
	return sizeof(a) + a.len + a.ocsp_len;
}

/* One ISSUE_BATCH exchange for jobs[0..n); every job gets an rc (and an answer). */
static void
sig_batch_call(struct mfd_signer *s, struct sig_job **jobs, size_t n)
{
	struct mfd_sig_hdr h;
	struct mfd_sig_batch_req b;
	struct mfd_sig_rhdr rh;
	struct timespec dl;
	unsigned char *req = NULL, *resp = NULL, *p;
	size_t i, len = sizeof(h) + sizeof(b), off;

	for (i = 0; i < n; i++)
		len += jobs[i]->item_len;
	if ((req = malloc(len)) == NULL) {
		sig_jobs_fail(jobs, n, MF_ERR_NOMEM, "out of memory");
		return;
	}
	h.op = MFD_SIG_ISSUE_BATCH;
	h.len = (uint32_t)(len - sizeof(h));
	memset(&b, 0, sizeof(b));
	b.n = (uint32_t)n;
	memcpy(req, &h, sizeof(h));
	memcpy(req + sizeof(h), &b, sizeof(b));
	for (i = 0, p = req + sizeof(h) + sizeof(b); i < n; i++) {
		memcpy(p, jobs[i]->item, jobs[i]->item_len);
		p += jobs[i]->item_len;
	}
	/* Bounded: an HTTP thread must not queue forever behind a slow token. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	if (pthread_mutex_timedlock(&s->lock, &dl) != 0) {
		sig_jobs_fail(jobs, n, MF_ERR_SIGNER, "signer busy");
		free(req);
		return;
	}
	/*
	 * The signer reads the whole request before it answers, so writing it
	 * all first cannot deadlock however large it is.
	 */
	if (s->dead || mfd_sig_write_all(s->fd, req, len) != 0 ||
	    mfd_sig_read_all(s->fd, &rh, sizeof(rh), MFD_SIG_TIMEOUT_MS) != 0 ||
	    rh.len > MFD_SIG_RESP_MAX || (resp = malloc((size_t)rh.len + 1)) == NULL ||
	    mfd_sig_read_all(s->fd, resp, rh.len, MFD_SIG_TIMEOUT_MS) != 0 ||
	    (rh.rc == 0 && sig_batch_check(resp, rh.len, n) != 0)) {
		s->dead = 1;
		pthread_mutex_unlock(&s->lock);
		sig_jobs_fail(jobs, n, MF_ERR_SIGNER, "signer process is gone");
		free(req);
		free(resp);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	free(req);
	resp[rh.len] = '\0';
	if (rh.rc != 0) {
		/* Refused as a whole (no acme:, keys gone): the same reason for all. */
		sig_jobs_fail(jobs, n, rh.rc, (const char *)resp);
	} else {
		for (i = 0, off = 0; i < n; i++)
			off += sig_batch_give(resp + off, jobs[i]);
	}
	free(resp);
}

/*
 * The leader's part, entered and left with qlock held: takes the oldest
 * queued jobs (not necessarily including its own), sends them as one
 * batch without the queue lock, and wakes their callers.
 */
static void
sig_lead(struct mfd_signer *s)
{
	struct sig_job *batch[MFD_SIG_ISSUE_BATCH_MAX];
	size_t n = 0, i;

	s->leading = 1;
	while (n < MFD_SIG_ISSUE_BATCH_MAX && s->qhead != NULL) {
		batch[n] = s->qhead;
		s->qhead = batch[n]->next;
		batch[n]->state = SIG_JOB_SENT;
		n++;
	}
	s->queued -= n;
	if (s->qhead == NULL)
		s->qtail = &s->qhead;
	s->batches++;
	s->batch_items += n;
	if (n > s->batch_max)
		s->batch_max = n;
	pthread_mutex_unlock(&s->qlock);
	sig_batch_call(s, batch, n);
	pthread_mutex_lock(&s->qlock);
	/* Once DONE, a job may vanish with its caller's stack: not touched again. */
	for (i = 0; i < n; i++)
		batch[i]->state = SIG_JOB_DONE;
	s->leading = 0;
	pthread_cond_broadcast(&s->qcond);
}

int
mfd_signer_issue(struct mfd_signer *s, const unsigned char *csr, size_t csr_len,
    const char *profile, const char *requester, int64_t lifetime, int64_t not_before,
    struct mfd_sig_issued *out, char *why, size_t wl)
{
	struct mfd_sig_issue_req q;
	struct sig_job job, **pp;
	struct timespec dl;
	size_t pl = strlen(profile), rl = strlen(requester);

	memset(out, 0, sizeof(*out));
	/* The signer would end itself on an out-of-bounds request: refuse here. */
	if (csr_len == 0 || csr_len > MF_ACME_CSR_MAX || pl == 0 || pl > MF_ACME_PROFILE_MAX ||
	    rl == 0 || rl > MF_ACME_REQUESTER_MAX || lifetime < 0 || not_before < 0 ||
	    !mfd_sig_printable((const unsigned char *)profile, pl) ||
	    !mfd_sig_printable((const unsigned char *)requester, rl)) {
		sig_copy_why((const unsigned char *)"request out of bounds", 21, why, wl);
		return MF_ERR_INVAL;
	}
	memset(&q, 0, sizeof(q));
	q.lifetime = lifetime;
	q.csr_len = (uint32_t)csr_len;
	q.profile_len = (uint16_t)pl;
	q.requester_len = (uint16_t)rl;
	q.not_before = not_before;
	memset(&job, 0, sizeof(job));
	job.item_len = sizeof(q) + csr_len + pl + rl;
	if ((job.item = malloc(job.item_len)) == NULL)
		return MF_ERR_NOMEM;
	memcpy(job.item, &q, sizeof(q));
	memcpy(job.item + sizeof(q), csr, csr_len);
	memcpy(job.item + sizeof(q) + csr_len, profile, pl);
	memcpy(job.item + sizeof(q) + csr_len + pl, requester, rl);
	job.out = out;
	job.state = SIG_JOB_QUEUED;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&s->qlock);
	*s->qtail = &job;
	s->qtail = &job.next;
	s->queued++;
	while (job.state != SIG_JOB_DONE) {
		if (!s->leading) {
			sig_lead(s);
			continue;
		}
		if (job.state == SIG_JOB_SENT) {
			/* Sent: the answer comes, or the socket timeouts end the exchange. */
			pthread_cond_wait(&s->qcond, &s->qlock);
			continue;
		}
		if (pthread_cond_timedwait(&s->qcond, &s->qlock, &dl) == ETIMEDOUT &&
		    job.state == SIG_JOB_QUEUED) {
			/* Still queued after 10 s: give up, taking it out of the queue. */
			for (pp = &s->qhead; *pp != &job; pp = &(*pp)->next)
				;
			*pp = job.next;
			if (s->qtail == &job.next)
				s->qtail = pp;
			s->queued--;
			job.rc = MF_ERR_SIGNER;
			snprintf(job.why, sizeof(job.why), "signer busy");
			break;
		}
	}
	pthread_mutex_unlock(&s->qlock);
	free(job.item);
	if (job.rc != 0) {
		mfd_sig_issued_clear(out);
		sig_copy_why((const unsigned char *)job.why, strlen(job.why), why, wl);
	}
	return job.rc;
}

void
mfd_signer_batch_stats(struct mfd_signer *s, unsigned long *queued, unsigned long *batches,
    unsigned long *items, unsigned long *largest)
{
	pthread_mutex_lock(&s->qlock);
	*queued = s->queued;
	*batches = s->batches;
	*items = s->batch_items;
	*largest = s->batch_max;
	pthread_mutex_unlock(&s->qlock);
}

int
mfd_signer_crl(struct mfd_signer *s, unsigned issuer, struct mfd_sig_meta *meta,
    unsigned char **der, size_t *len)
{
	struct mfd_sig_crl_req q;
	unsigned char *p;
	size_t n;
	int rc;

	if (issuer > 0xffff)
		return MF_ERR_INVAL;
	memset(&q, 0, sizeof(q));
	q.issuer = (uint16_t)issuer;
	rc = sig_call(s, MFD_SIG_CRL, &q, sizeof(q), &p, &n);
	return sig_split(rc, p, n, meta, der, len);
}
