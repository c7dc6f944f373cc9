/*
 * util.h: small helpers every mayfly module uses: durations, logging in
 * key=value lines, whole-file I/O with safe modes, hex.
 */
#ifndef MF_UTIL_H
#define MF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Durations are written as a sequence of <number><unit> with units
 * s, m, h, d, w, y (365 days), e.g. "24h", "90m", "20y", "1h30m".
 * Returns MF_ERR_DURATION on anything else, including overflow and "0".
 */
int mf_duration_parse(const char *s, int64_t *seconds);

/* Formats seconds the shortest way ("24h", "1h30m", "20y"); returns buf. */
char *mf_duration_fmt(int64_t seconds, char *buf, size_t buflen);

/*
 * Logging. One line per event on stderr: "level=err fn=NAME msg..." where
 * the message is written as key=value pairs by the caller. Lower layers do
 * not log; they return codes. mf_log_ssl() appends the drained OpenSSL error
 * queue as ssl="..." and leaves the queue empty.
 */
enum mf_loglevel { MF_LOG_ERR = 0, MF_LOG_WARN, MF_LOG_INFO, MF_LOG_DEBUG };
void mf_log_set_level(enum mf_loglevel level);
void mf_log(enum mf_loglevel level, const char *fn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mf_log_ssl(enum mf_loglevel level, const char *fn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The formatting behind mf_log: printf conversions, except that every %s
 * value is escaped so it cannot end the line, start a new key=value field
 * or close the quotes around it (see util.c). buf is always terminated.
 * mf_log_escape writes v[0..vlen) with \" \\ \n \r \t \xHH escapes, inside
 * quotes when quote is set; returns the bytes written (truncated to fit).
 */
void mf_log_vformat(char *buf, size_t len, const char *fmt, va_list ap);
size_t mf_log_escape(char *buf, size_t len, const char *v, size_t vlen, int quote);
#define mf_err(...)	mf_log(MF_LOG_ERR, __func__, __VA_ARGS__)
#define mf_warn(...)	mf_log(MF_LOG_WARN, __func__, __VA_ARGS__)
#define mf_info(...)	mf_log(MF_LOG_INFO, __func__, __VA_ARGS__)
#define mf_debug(...)	mf_log(MF_LOG_DEBUG, __func__, __VA_ARGS__)

/* Drains the OpenSSL error queue into buf (";"-separated); returns buf. */
char *mf_ssl_errors(char *buf, size_t buflen);

/*
 * Reads a whole file (at most maxlen bytes, else MF_ERR_IO). *buf is
 * NUL-terminated for convenience (not counted in *len); caller frees it.
 */
int mf_file_read(const char *path, size_t maxlen, unsigned char **buf, size_t *len);

/*
 * Writes buf to path atomically (temporary file, fsync, rename, fsync of the
 * directory) with the given mode. With excl, refuses (MF_ERR_EXISTS) if path
 * already exists.
 */
int mf_file_write(const char *path, const void *buf, size_t len, mode_t mode, int excl);

/* Makes a directory and its parents with mode (like mkdir -p). */
int mf_mkdir_p(const char *path, mode_t mode);

/* Lower-case hex of in[0..n) into out (2n+1 bytes). */
void mf_hex(const unsigned char *in, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int mf_hexdigit(int c);
/* Parses hex (either case, even length) into out; MF_ERR_INVAL if malformed. */
int mf_unhex(const char *hex, unsigned char *out, size_t outmax, size_t *outlen);

/* Joins dir and a relative path; an absolute path is returned as is. Caller frees. */
char *mf_path_join(const char *dir, const char *path);

/* Test-only fault injection: returns nonzero if env MAYFLY_FAULT equals name. */
int mf_fault(const char *name);

/* Zeroes and frees a NUL-terminated secret (may be NULL). */
void mf_secret_free(char *s);

/* Microseconds on CLOCK_MONOTONIC, for durations. */
int64_t mf_mono_us(void);

#endif
