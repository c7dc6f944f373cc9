/*
 * mayflyd.c: the daemon's main: configuration, process layout, signals and
 * systemd notification.
 *
 * Order of start, so that the process reading network input never holds a
 * key and runs without root, and so that a start that fails signs and
 * records nothing:
 *   1. read the configuration;
 *   2. bind the listen sockets, open the database, read the CA
 *      certificates and the admin token, check that `user` exists;
 *   3. start the signer (signer.c: fork, then exec of this binary with
 *      -S), which alone opens the keystore and logs in to the token, opens
 *      its own database connection, drops root itself and answers a first
 *      PING; it signs nothing until asked (the delegated OCSP responder
 *      comes with the first response);
 *   3b. with an acme: section, start the ACME/EST listener (src/acme/),
 *      whose every certificate, its own TLS certificate included, is an
 *      ISSUE request to the signer;
 *   4. drop root (if `user` is set);
 *   5. start the refresher thread, the retention thread (with
 *      daemon.retention, on a database connection of its own opened in
 *      step 2) and the HTTP thread pools;
 *   6. tell systemd READY=1 and wait for signals: SIGHUP reloads, SIGTERM
 *      and SIGINT drain and exit 0.
 */
#include "mf_build.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "acme/acme.h"

#include "daemon.h"
#include "trust.h"
#include "mferr.h"
#include "util.h"

#define MFD_DRAIN_MS	5000

static void
usage(void)
{
	fprintf(stderr, "usage: mayflyd [-d] [-c mayfly.yaml]\n");
}

/* Binds l; *bound is the port the socket got (l->port, or the kernel's pick for 0). */
static int
mfd_bind(const struct mf_listen *l, int *fd, unsigned *bound)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	struct addrinfo hints, *ai = NULL;
	char port[16];
	int s = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", l->port);
	if ((rc = getaddrinfo(l->host, port, &hints, &ai)) != 0)
		return MF_ERR_CONFIG_VALUE;
	if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, 1024) != 0) {
		if (s >= 0)
			close(s);
		freeaddrinfo(ai);
		return MF_ERR_IO;
	}
	freeaddrinfo(ai);
	*bound = l->port;
	if (getsockname(s, (struct sockaddr *)&sa, &sl) == 0)
		*bound = ntohs(sa.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&sa)->sin6_port : ((struct sockaddr_in *)&sa)->sin_port);
	*fd = s;
	return 0;
}

/*
 * The renewal listener's issuer: a request to the signer, never a key here.
 * The certificate's first OCSP response comes with it and goes into the
 * cache, so that the first status request for it is already a hit.
 */
static int
mfd_acme_issue(void *arg, const unsigned char *csr, size_t csr_len, const char *profile,
    const char *requester, int64_t lifetime, int64_t not_before, unsigned char **cert,
    size_t *cert_len, char *why, size_t whylen)
{
	struct mfd_ctx *ctx = arg;
	struct mfd_sig_issued r;
	int rc;

	*cert = NULL;
	*cert_len = 0;
	if ((rc = mfd_signer_issue(ctx->signer, csr, csr_len, profile, requester, lifetime,
	    not_before, &r, why, whylen)) != 0) {
		if (rc == MF_ERR_DB_FULL || rc == MF_ERR_DB_READONLY) {
			/* /health must say so now, not after its cached second. */
			pthread_mutex_lock(&ctx->health_lock);
			ctx->health_at = 0;
			pthread_mutex_unlock(&ctx->health_lock);
		}
		return rc;
	}
	if (r.ocsp == NULL)
		mf_warn("event=ocsp-presign-missing requester=%s", requester);
	else if ((rc = mfd_ocsp_presigned(ctx, &r)) != 0 && rc != MF_ERR_EXISTS)
		mf_warn("event=ocsp-presign-dropped requester=%s err=%s", requester,
		    mf_errname(rc));
	*cert = r.cert;
	*cert_len = r.cert_len;
	r.cert = NULL;
	mfd_sig_issued_clear(&r);
	return 0;
}

/* Applies a new configuration: the signer first, then what we publish. */
static void
mfd_reload(struct mfd_ctx *ctx, const char *path)
{
	struct mf_config *cfg = NULL;
	struct mfd_pub *np = NULL, *old;
	struct mfd_blob **ncrl, **ocrl;
	size_t oncrl, i;
	char err[512], why[512];
	int rc;

	sd_notify(0, "RELOADING=1");
	if ((rc = mf_config_load(path, &cfg, err, sizeof(err))) != 0) {
		mf_err("event=reload-failed err=%s why=\"%s\"", mf_errname(rc), err);
		goto out;
	}
	if ((rc = mfd_signer_reload(ctx->signer, why, sizeof(why))) != 0) {
		mf_err("event=reload-failed err=%s why=\"%s\"", mf_errname(rc), why);
		mf_config_free(cfg);
		goto out;
	}
	if ((rc = mfd_pub_new(cfg, &np, why, sizeof(why))) != 0) {
		mf_err("event=reload-failed err=%s why=\"%s\"", mf_errname(rc), why);
		goto out;
	}
	if ((ncrl = calloc(np->niss + 1, sizeof(*ncrl))) == NULL) {
		mfd_pub_free(np);
		goto out;
	}
	pthread_rwlock_wrlock(&ctx->lock);
	old = ctx->pub;
	ocrl = ctx->crl;
	oncrl = ctx->ncrl;
	ctx->pub = np;
	ctx->crl = ncrl;
	ctx->ncrl = np->niss;
	pthread_rwlock_unlock(&ctx->lock);
	/* Listen addresses, threads and limits apply at the next restart only. */
	mfd_pub_free(old);
	for (i = 0; i < oncrl; i++)
		mfd_blob_unref(ocrl[i]);
	free(ocrl);
	pthread_mutex_lock(&ctx->kick_lock);
	ctx->flush = 1;
	pthread_mutex_unlock(&ctx->kick_lock);
	mfd_kick(ctx);
	pthread_mutex_lock(&ctx->health_lock);
	ctx->health_at = 0;
	pthread_mutex_unlock(&ctx->health_lock);
	if (ctx->prune_db == NULL && np->cfg->retention)
		mf_warn("event=prune-needs-restart msg=\"daemon.retention takes effect at the next "
		    "start: its database connection is opened before root is dropped\"");
	mf_info("event=reloaded config=%s", path);
out:
	sd_notify(0, "READY=1");
}

int
main(int argc, char **argv)
{
	struct mfd_ctx ctx;
	struct mf_config *cfg = NULL, *acfg = NULL;
	struct mfd_http *http = NULL;
	struct mf_acme *acme = NULL;
	pthread_t refresher, exporter, notifier, retention;
	sigset_t sigs;
	uint64_t wd_usec = 0;
	const char *path = MF_SYSCONFDIR "/mayfly.yaml";
	char err[512], why[512];
	unsigned bound[8];
	int fds[8], nfds = 0, rc, ch, started = 0, exitcode = 1, i, signer_fd = -1;
	int ret_started = 0;
	int64_t last_respawn = 0;
	int db_state = 0;		/* MF_ERR_DB_FULL or _READONLY while the log takes no writes */

	memset(&ctx, 0, sizeof(ctx));
	while ((ch = getopt(argc, argv, "c:dhS:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'S':
			/* Internal: we are the signer, talking over this descriptor. */
			signer_fd = atoi(optarg);
			break;
		case 'd':
			mf_log_set_level(MF_LOG_DEBUG);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	/*
	 * glibc gives the top of a thread's heap back to the kernel whenever
	 * more than 128 KiB of it is free: with SQLite's page caches and the
	 * listeners' many threads that was a madvise() and a TLB shootdown on
	 * every other core many times per request (4 % of the network
	 * process's CPU in the full ACME flow). Keep up to 8 MiB per heap;
	 * the retention task's malloc_trim() still returns what expired.
	 */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	if (signer_fd >= 0)
		return mfd_signer_main(signer_fd, path);
	if ((rc = mf_config_load(path, &cfg, err, sizeof(err))) != 0) {
		mf_err("event=config-failed err=%s why=\"%s\"", mf_errname(rc), err);
		return 3;
	}
	if (cfg->nlisten == 0 || cfg->nlisten > 8) {
		mf_err("event=config-failed why=\"need 1 to 8 listen addresses\"");
		mf_config_free(cfg);
		return 3;
	}
	/* Signals are taken synchronously by the main thread; block them everywhere. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/*
	 * Locks and the response cache first: the ACME listener, started
	 * below, issues its own certificate, whose OCSP response is cached.
	 */
	pthread_rwlock_init(&ctx.lock, NULL);
	pthread_mutex_init(&ctx.db_lock, NULL);
	pthread_mutex_init(&ctx.kick_lock, NULL);
	pthread_cond_init(&ctx.kick_cond, NULL);
	pthread_mutex_init(&ctx.health_lock, NULL);
	pthread_mutex_init(&ctx.ret_lock, NULL);
	pthread_cond_init(&ctx.ret_cond, NULL);
	if ((rc = mfd_cache_new(&ctx.cache)) != 0 || (rc = mfd_trust_new(&ctx.trust)) != 0) {
		mf_err("event=start-failed err=%s", mf_errname(rc));
		mf_config_free(cfg);
		return 1;
	}
	/*
	 * Everything that can fail without signing or writing comes first:
	 * the listen sockets, the database, the CA files and admin token, the
	 * user to drop to. Only then is the signer started, and the signer
	 * itself signs and records nothing at start (its delegated responder
	 * is made when the first response is signed). A start that fails
	 * here, repeated by Restart=on-failure every few seconds, thus leaves
	 * no trace in the log: no responder certificate, no audit row.
	 */
	for (i = 0; (size_t)i < cfg->nlisten; i++) {
		if ((rc = mfd_bind(&cfg->listen[i], &fds[nfds], &bound[nfds])) != 0) {
			mf_err("event=bind-failed host=%s port=%u err=%s errno=\"%s\"",
			    cfg->listen[i].host, cfg->listen[i].port, mf_errname(rc), strerror(errno));
			goto out;
		}
		nfds++;
	}
	if ((rc = mf_db_open(cfg->database, 0, &ctx.db)) != 0) {
		mf_err("event=db-failed path=%s err=%s", mf_db_shown(cfg->database), mf_errname(rc));
		exitcode = 4;
		goto out;
	}
	/* The retention task writes on a connection of its own (retention.c). */
	if (cfg->retention && (rc = mf_db_open(cfg->database, 0, &ctx.prune_db)) != 0) {
		mf_err("event=db-failed path=%s err=%s what=retention", mf_db_shown(cfg->database),
		    mf_errname(rc));
		exitcode = 4;
		goto out;
	}
	if (cfg->user != NULL && geteuid() == 0 && getpwnam(cfg->user) == NULL) {
		mf_err("event=config-failed err=%s why=\"no such user: %s\"",
		    mf_errname(MF_ERR_NOTFOUND), cfg->user);
		exitcode = 3;
		goto out;
	}
	{
		const char *user = cfg->user != NULL ? strdup(cfg->user) : NULL;

		if ((rc = mfd_pub_new(cfg, &ctx.pub, why, sizeof(why))) != 0) {
			cfg = NULL;
			mf_err("event=config-failed err=%s why=\"%s\"", mf_errname(rc), why);
			free((char *)user);
			exitcode = 3;	/* a configuration error, as mayflyd(8) says */
			goto out;
		}
		cfg = NULL;		/* owned by ctx.pub now */
		if ((rc = mfd_signer_start(ctx.pub->cfg, &ctx.signer, why, sizeof(why))) != 0) {
			mf_err("event=signer-failed err=%s why=\"%s\"", mf_errname(rc), why);
			free((char *)user);
			exitcode = 4;
			goto out;
		}
		if (ctx.pub->cfg->acme.enabled) {
			struct mf_acme_issuer iss;

			/*
			 * The listener keeps its own copy of the configuration:
			 * a reload replaces ctx.pub, and acme: settings apply at
			 * the next restart only. It binds now, while we may still
			 * be root. XXX: its threads accept before the drop below;
			 * the window is this block's few milliseconds.
			 */
			if ((rc = mf_config_load(path, &acfg, err, sizeof(err))) != 0) {
				mf_err("event=config-failed err=%s why=\"%s\"", mf_errname(rc), err);
				free((char *)user);
				exitcode = 3;
				goto out;
			}
			curl_global_init(CURL_GLOBAL_DEFAULT);
			iss.issue = mfd_acme_issue;
			iss.arg = &ctx;
			if ((rc = mf_acme_start_with(acfg, &iss, &acme)) != 0) {
				mf_err("event=acme-failed err=%s", mf_errname(rc));
				free((char *)user);
				goto out;
			}
			mf_info("event=listening what=acme host=%s port=%u", acfg->acme.host,
			    mf_acme_port(acme));
		}
		/* Ports bound, database and certificates open, keys in the signer: drop root. */
		rc = mfd_privdrop(user);
		if (rc != 0) {
			mf_err("event=privdrop-failed user=%s err=%s", user, mf_errname(rc));
			free((char *)user);
			goto out;
		}
		free((char *)user);
	}
	if ((ctx.crl = calloc(ctx.pub->niss + 1, sizeof(*ctx.crl))) == NULL) {
		mf_err("event=start-failed err=%s", mf_errname(MF_ERR_NOMEM));
		goto out;
	}
	ctx.ncrl = ctx.pub->niss;
	if (pthread_create(&refresher, NULL, mfd_refresher, &ctx) != 0) {
		mf_err("event=start-failed why=\"refresher thread\"");
		goto out;
	}
	if (pthread_create(&exporter, NULL, mfd_exporter, &ctx) != 0) {
		mf_err("event=start-failed why=\"exporter thread\"");
		ctx.stop = 1;
		mfd_kick(&ctx);
		pthread_join(refresher, NULL);
		goto out;
	}
	if (pthread_create(&notifier, NULL, mfd_notifier, &ctx) != 0) {
		mf_err("event=start-failed why=\"notifier thread\"");
		ctx.stop = 1;
		mfd_kick(&ctx);
		pthread_join(refresher, NULL);
		pthread_join(exporter, NULL);
		pthread_join(notifier, NULL);
		goto out;
	}
	started = 1;
	if (ctx.prune_db != NULL) {
		if (pthread_create(&retention, NULL, mfd_retention, &ctx) != 0) {
			mf_err("event=start-failed why=\"retention thread\"");
			goto out;
		}
		ret_started = 1;
		atomic_store(&ctx.m.prune_enabled, 1);
	}
	if ((rc = mfd_http_start(&ctx, fds, (size_t)nfds, &http)) != 0) {
		mf_err("event=start-failed err=%s why=\"libmicrohttpd\"", mf_errname(rc));
		goto out;
	}
	for (i = 0; (size_t)i < ctx.pub->cfg->nlisten; i++)
		mf_info("event=listening host=%s port=%u", ctx.pub->cfg->listen[i].host, bound[i]);
	sd_notifyf(0, "READY=1\nSTATUS=serving OCSP for %zu issuer(s)\nMAINPID=%lu",
	    ctx.pub->niss, (unsigned long)getpid());
	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;

	for (;;) {
		struct timespec ts;
		int sig;
		uint64_t wait_us = wd_usec && wd_usec / 2 < 1000000 ? wd_usec / 2 : 1000000;

		ts.tv_sec = (time_t)(wait_us / 1000000);
		ts.tv_nsec = (long)(wait_us % 1000000) * 1000;
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGHUP) {
			mfd_reload(&ctx, path);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			mf_info("event=stopping signal=%d", sig);
			exitcode = 0;
			break;
		}
		{
			int64_t now = (int64_t)time(NULL);
			int hrc = mfd_health(&ctx, why, sizeof(why));

			/* Say once when the log stops and starts taking writes again. */
			if ((hrc == MF_ERR_DB_FULL || hrc == MF_ERR_DB_READONLY) && hrc != db_state) {
				mf_err("event=database-unwritable err=%s path=%s why=\"%s\" msg=\"issuance "
				    "is answered 503 with Retry-After until the database takes writes\"",
				    mf_errname(hrc), mf_db_shown(ctx.pub->cfg->database), why);
				db_state = hrc;
			} else if (hrc == 0 && db_state != 0) {
				mf_info("event=database-writable");
				db_state = 0;
			}

			/*
			 * A dead signer, or a token that went away: cached responses
			 * are still served; try a fresh signer every few seconds.
			 */
			if ((hrc == MF_ERR_HSM || hrc == MF_ERR_SIGNER || mfd_signer_dead(ctx.signer)) &&
			    now - last_respawn >= 3) {
				last_respawn = now;
				mf_warn("event=signer-unhealthy err=%s why=\"%s\"", mf_errname(hrc), why);
				if (mfd_signer_respawn(ctx.signer, why, sizeof(why)) == 0) {
					mf_info("event=signer-restarted");
					pthread_mutex_lock(&ctx.health_lock);
					ctx.health_at = 0;
					pthread_mutex_unlock(&ctx.health_lock);
					mfd_kick(&ctx);
				} else {
					mf_warn("event=signer-restart-failed why=\"%s\"", why);
				}
			}
			if (wd_usec != 0 && !mfd_signer_dead(ctx.signer))
				sd_notify(0, "WATCHDOG=1");
		}
	}
	sd_notify(0, "STOPPING=1");
out:
	mf_acme_stop(acme);
	mfd_http_stop(http, MFD_DRAIN_MS);
	if (started) {
		pthread_mutex_lock(&ctx.kick_lock);
		ctx.stop = 1;
		pthread_cond_signal(&ctx.kick_cond);
		pthread_mutex_unlock(&ctx.kick_lock);
		pthread_join(refresher, NULL);
		pthread_join(exporter, NULL);
	}
	if (ret_started) {
		mfd_retention_wake(&ctx);	/* ctx.stop is set: a batch under way finishes */
		pthread_join(retention, NULL);
	}
	mfd_signer_stop(ctx.signer);
	if (acfg != NULL) {
		mf_config_free(acfg);
		curl_global_cleanup();
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ctx.crl != NULL)
		for (i = 0; (size_t)i < ctx.ncrl; i++)
			mfd_blob_unref(ctx.crl[i]);
	free(ctx.crl);
	mfd_cache_free(ctx.cache);
	mfd_trust_free(ctx.trust);
	mfd_pub_free(ctx.pub);
	mf_config_free(cfg);
	mf_db_close(ctx.db);
	mf_db_close(ctx.prune_db);
	if (exitcode == 0)
		mf_info("event=stopped");
	return exitcode;
}
