/*
 * util.c: durations, key=value logging, careful file I/O and hex.
 */
#include "mf_build.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "mferr.h"
#include "util.h"

static enum mf_loglevel mf_loglevel_max = MF_LOG_INFO;

int
mf_duration_parse(const char *s, int64_t *seconds)
{
	int64_t total = 0, n, mult;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return MF_ERR_DURATION;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return MF_ERR_DURATION;
		n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n > (INT64_MAX - 9) / 10)
				return MF_ERR_DURATION;
			n = n * 10 + (*p - '0');
			p++;
		}
		switch (*p) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		case 'y': mult = 365 * 86400; break;
		default: return MF_ERR_DURATION;	/* a bare number is ambiguous */
		}
		p++;
		if (n > INT64_MAX / mult || total > INT64_MAX - n * mult)
			return MF_ERR_DURATION;
		total += n * mult;
	}
	if (total <= 0)
		return MF_ERR_DURATION;
	*seconds = total;
	return MF_OK;
}

char *
mf_duration_fmt(int64_t seconds, char *buf, size_t buflen)
{
	static const struct { int64_t mult; char unit; } units[] = {
		{ 365 * 86400, 'y' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' }
	};
	size_t i, off = 0;

	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	if (seconds <= 0) {
		snprintf(buf, buflen, "%llds", (long long)seconds);
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && seconds > 0; i++) {
		int64_t q = seconds / units[i].mult;
		int w;

		if (q == 0)
			continue;
		w = snprintf(buf + off, buflen - off, "%lld%c", (long long)q, units[i].unit);
		if (w < 0 || (size_t)w >= buflen - off)
			break;
		off += (size_t)w;
		seconds -= q * units[i].mult;
	}
	return buf;
}

void
mf_log_set_level(enum mf_loglevel level)
{
	mf_loglevel_max = level;
}

static const char *
mf_levelname(enum mf_loglevel level)
{
	switch (level) {
	case MF_LOG_ERR: return "err";
	case MF_LOG_WARN: return "warn";
	case MF_LOG_INFO: return "info";
	default: return "debug";
	}
}

/*
 * Log lines are key=value pairs that operators grep and scripts parse (the
 * audit head is copied from "event=audit-head" lines). Values often come
 * from the network or from files (identifiers, paths, CSR names), so every
 * %s argument is escaped here, in the one place all log lines pass through,
 * rather than at each call site: a value can never end the line, open a new
 * key or close its quotes.
 *
 * Inside quotes written by the format (why="%s") a value keeps its spaces
 * and gets \" \\ and \n \r \t \xHH escapes. Elsewhere a value made only of
 * plain characters is written as it is; any other value is quoted the same
 * way, so "a=b c" cannot pass for two fields. Bytes outside printable ASCII
 * are always written as \xHH.
 */
static int
mf_log_plain(int ch)
{
	return isalnum(ch) || strchr("-_.:/@+,~%[]()*#!?^", ch) != NULL;
}

static void
mf_log_put(char *buf, size_t len, size_t *off, const char *s, size_t n)
{
	size_t room;

	if (*off + 1 >= len)
		return;
	room = len - 1 - *off;
	if (n > room)
		n = room;
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
}

size_t
mf_log_escape(char *buf, size_t len, const char *v, size_t vlen, int quote)
{
	size_t off = 0, i;
	char tmp[8];

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (quote)
		mf_log_put(buf, len, &off, "\"", 1);
	for (i = 0; i < vlen; i++) {
		unsigned char ch = (unsigned char)v[i];

		switch (ch) {
		case '"': mf_log_put(buf, len, &off, "\\\"", 2); continue;
		case '\\': mf_log_put(buf, len, &off, "\\\\", 2); continue;
		case '\n': mf_log_put(buf, len, &off, "\\n", 2); continue;
		case '\r': mf_log_put(buf, len, &off, "\\r", 2); continue;
		case '\t': mf_log_put(buf, len, &off, "\\t", 2); continue;
		default: break;
		}
		if (ch < 0x20 || ch >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
			mf_log_put(buf, len, &off, tmp, 4);
		} else
			mf_log_put(buf, len, &off, (const char *)&v[i], 1);
	}
	if (quote)
		mf_log_put(buf, len, &off, "\"", 1);
	return off;
}

/* Escapes one %s value at *off; inq says whether the format quotes it. */
static void
mf_log_value(char *buf, size_t len, size_t *off, const char *v, size_t vlen, int inq)
{
	size_t i;
	int plain = vlen > 0;

	for (i = 0; i < vlen && plain; i++)
		plain = mf_log_plain((unsigned char)v[i]);
	if (inq || plain) {
		/* Plain or already quoted by the format: escape without new quotes. */
		*off += mf_log_escape(buf + *off, len - *off, v, vlen, 0);
		return;
	}
	*off += mf_log_escape(buf + *off, len - *off, v, vlen, 1);
}

void
mf_log_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	char spec[32], tmp[256];
	const char *p, *start;
	size_t off = 0, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (p = fmt; *p != '\0' && off + 1 < len; ) {
		int prec = -1, lng = 0, inq;

		if (*p != '%') {
			start = p;
			while (*p != '\0' && *p != '%')
				p++;
			mf_log_put(buf, len, &off, start, (size_t)(p - start));
			continue;
		}
		start = p++;
		if (*p == '%') {
			mf_log_put(buf, len, &off, "%", 1);
			p++;
			continue;
		}
		while (*p != '\0' && strchr("-+ #0", *p) != NULL)
			p++;
		if (*p == '*') {
			(void)va_arg(ap, int);	/* a width: not used by log lines */
			p++;
		} else
			while (isdigit((unsigned char)*p))
				p++;
		if (*p == '.') {
			p++;
			if (*p == '*') {
				prec = va_arg(ap, int);
				p++;
			} else {
				prec = 0;
				while (isdigit((unsigned char)*p))
					prec = prec * 10 + (*p++ - '0');
			}
		}
		/* lng: 0 int, 1 long, 2 long long, or the letter of z, j, t. */
		for (; *p != '\0' && strchr("hlzjt", *p) != NULL; p++) {
			if (*p == 'l')
				lng++;
			else if (*p != 'h')
				lng = *p;
		}
		if (*p == '\0')
			break;
		n = (size_t)(p - start) + 1;
		if (n >= sizeof(spec))
			break;	/* no conversion of ours is this long */
		memcpy(spec, start, n);
		spec[n] = '\0';
		switch (*p++) {
		case 's': {
			const char *v = va_arg(ap, const char *);
			size_t vlen;

			if (v == NULL)
				v = "(null)";
			vlen = strlen(v);
			if (prec >= 0 && (size_t)prec < vlen)
				vlen = (size_t)prec;
			inq = start > fmt && start[-1] == '"' && *p == '"';
			mf_log_value(buf, len, &off, v, vlen, inq);
			continue;
		}
		case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
		case 'f': case 'g': case 'e': case 'p':
			if (strchr(spec, '*') != NULL) {
				/* Only %.*s takes its width from the arguments here. */
				mf_log_put(buf, len, &off, "?", 1);
				return;
			}
			/*
			 * spec is one conversion copied from the caller's format,
			 * which the compiler checked against its arguments at the
			 * mf_log call (the format attribute in util.h).
			 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			if (p[-1] == 'p')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, void *));
			else if (strchr("feg", p[-1]) != NULL)
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, double));
			else if (lng == 'z')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, size_t));
			else if (lng == 'j')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, intmax_t));
			else if (lng == 't')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, ptrdiff_t));
			else if (lng == 2)
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, long long));
			else if (lng == 1)
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, long));
			else
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, int));
#pragma GCC diagnostic pop
			break;
		case 'c': {
			char ch = (char)va_arg(ap, int);

			mf_log_value(buf, len, &off, &ch, 1, 1);
			continue;
		}
		default:
			/* Unknown conversion: stop rather than misread the arguments. */
			mf_log_put(buf, len, &off, "?", 1);
			return;
		}
		mf_log_put(buf, len, &off, tmp, strlen(tmp));
	}
}

static void
mf_vlog(enum mf_loglevel level, const char *fn, const char *ssl, const char *fmt, va_list ap)
{
	char msg[2048], essl[1024];

	if (level > mf_loglevel_max)
		return;
	mf_log_vformat(msg, sizeof(msg), fmt, ap);
	if (ssl != NULL && *ssl != '\0') {
		mf_log_escape(essl, sizeof(essl), ssl, strlen(ssl), 1);
		fprintf(stderr, "level=%s fn=%s %s ssl=%s\n", mf_levelname(level), fn, msg, essl);
	} else
		fprintf(stderr, "level=%s fn=%s %s\n", mf_levelname(level), fn, msg);
}

void
mf_log(enum mf_loglevel level, const char *fn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mf_vlog(level, fn, NULL, fmt, ap);
	va_end(ap);
}

void
mf_log_ssl(enum mf_loglevel level, const char *fn, const char *fmt, ...)
{
	char ssl[1024];
	va_list ap;

	mf_ssl_errors(ssl, sizeof(ssl));
	va_start(ap, fmt);
	mf_vlog(level, fn, ssl, fmt, ap);
	va_end(ap);
}

char *
mf_ssl_errors(char *buf, size_t buflen)
{
	unsigned long e;
	size_t off = 0;

	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		int w;

		ERR_error_string_n(e, one, sizeof(one));
		/* Quotes would break the key="value" framing of the log line. */
		for (char *q = one; *q; q++)
			if (*q == '"')
				*q = '\'';
		w = snprintf(buf + off, buflen - off, "%s%s", off ? ";" : "", one);
		if (w < 0 || (size_t)w >= buflen - off)
			off = buflen - 1;
		else
			off += (size_t)w;
	}
	return buf;
}

int
mf_file_read(const char *path, size_t maxlen, unsigned char **buf, size_t *len)
{
	FILE *f = NULL;
	unsigned char *b = NULL;
	size_t cap = 4096, n = 0, r;
	int rc = MF_ERR_IO;

	if ((f = fopen(path, "rb")) == NULL)
		return errno == ENOENT ? MF_ERR_NOTFOUND : MF_ERR_IO;
	if ((b = malloc(cap + 1)) == NULL) {
		rc = MF_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if (n == cap) {
			unsigned char *nb;

			if (cap >= maxlen)
				goto out;	/* too big */
			cap = cap * 2 > maxlen ? maxlen : cap * 2;
			if ((nb = realloc(b, cap + 1)) == NULL) {
				rc = MF_ERR_NOMEM;
				goto out;
			}
			b = nb;
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				goto out;
			break;
		}
	}
	if (n > maxlen)
		goto out;
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	rc = MF_OK;
out:
	free(b);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
mf_fsync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, rc = MF_OK;

	if (dir == NULL)
		return MF_ERR_NOMEM;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		rc = MF_ERR_IO;
	else {
		if (fsync(fd) != 0)
			rc = MF_ERR_IO;
		close(fd);
	}
	free(dir);
	return rc;
}

int
mf_file_write(const char *path, const void *buf, size_t len, mode_t mode, int excl)
{
	char *tmp = NULL;
	const unsigned char *p = buf;
	int fd = -1, rc = MF_ERR_IO;
	size_t off = 0;
	struct stat st;

	if (excl && lstat(path, &st) == 0)
		return MF_ERR_EXISTS;
	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return MF_ERR_NOMEM;
	/* O_EXCL on the temporary name: never follow a planted symlink. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		goto out;
	if (fchmod(fd, mode) != 0)
		goto out;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (excl) {
		/* link() fails if path appeared meanwhile: no overwrite race. */
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST ? MF_ERR_EXISTS : MF_ERR_IO;
			goto out;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	rc = mf_fsync_dir(path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

int
mf_mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path), *s;
	int rc = MF_OK;

	if (p == NULL)
		return MF_ERR_NOMEM;
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				rc = MF_ERR_IO;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

void
mf_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
mf_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
mf_unhex(const char *hex, unsigned char *out, size_t outmax, size_t *outlen)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n / 2 > outmax)
		return MF_ERR_INVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = mf_hexdigit((unsigned char)hex[2 * i]);
		int lo = mf_hexdigit((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return MF_ERR_INVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return MF_OK;
}

char *
mf_path_join(const char *dir, const char *path)
{
	char *r;

	if (path == NULL)
		return NULL;
	if (path[0] == '/' || dir == NULL || *dir == '\0')
		return strdup(path);
	if (asprintf(&r, "%s/%s", dir, path) < 0)
		return NULL;
	return r;
}

int
mf_fault(const char *name)
{
#ifdef MF_FAULT_INJECTION
	const char *f = getenv("MAYFLY_FAULT");

	return f != NULL && strcmp(f, name) == 0;
#else
	(void)name;
	return 0;
#endif
}

void
mf_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

int64_t
mf_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
