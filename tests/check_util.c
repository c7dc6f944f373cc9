/*
 * check_util.c: durations, hex, atomic file writes, error names.
 */
#include "mf_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "mferr.h"
#include "suites.h"
#include "util.h"

START_TEST(duration_good)
{
	int64_t s;

	ck_assert_int_eq(mf_duration_parse("24h", &s), 0);
	ck_assert_int_eq(s, 86400);
	ck_assert_int_eq(mf_duration_parse("90m", &s), 0);
	ck_assert_int_eq(s, 5400);
	ck_assert_int_eq(mf_duration_parse("20y", &s), 0);
	ck_assert_int_eq(s, 20LL * 365 * 86400);
	ck_assert_int_eq(mf_duration_parse("1h30m15s", &s), 0);
	ck_assert_int_eq(s, 5415);
	ck_assert_int_eq(mf_duration_parse("2w", &s), 0);
	ck_assert_int_eq(s, 14 * 86400);
}
END_TEST

START_TEST(duration_bad)
{
	int64_t s = 42;
	static const char *bad[] = {
		"", "24", "h", "24x", "-1h", "0h", "1.5h", "24h ", " 24h",
		"99999999999999999999y", "9223372036854775807y", "1h-", NULL
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(mf_duration_parse(bad[i], &s) == MF_ERR_DURATION, "accepted '%s'", bad[i]);
	ck_assert_int_eq(s, 42);	/* untouched on failure */
	ck_assert_int_eq(mf_duration_parse(NULL, &s), MF_ERR_DURATION);
}
END_TEST

START_TEST(duration_fmt_roundtrip)
{
	static const int64_t v[] = { 1, 59, 60, 3600, 5415, 86400, 90000, 20LL * 365 * 86400 };
	char buf[64];
	int64_t back;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		mf_duration_fmt(v[i], buf, sizeof(buf));
		ck_assert_int_eq(mf_duration_parse(buf, &back), 0);
		ck_assert_int_eq(back, v[i]);
	}
	ck_assert_str_eq(mf_duration_fmt(86400, buf, sizeof(buf)), "1d");
	ck_assert_str_eq(mf_duration_fmt(5400, buf, sizeof(buf)), "1h30m");
}
END_TEST

START_TEST(hex_roundtrip)
{
	unsigned char in[] = { 0x00, 0x7f, 0x80, 0xff, 0x12 }, out[8];
	char hex[11];
	size_t n;

	mf_hex(in, sizeof(in), hex);
	ck_assert_str_eq(hex, "007f80ff12");
	ck_assert_int_eq(mf_unhex("007F80ff12", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, sizeof(in));
	ck_assert_mem_eq(in, out, n);
	ck_assert_int_eq(mf_unhex("abc", out, sizeof(out), &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_unhex("zz", out, sizeof(out), &n), MF_ERR_INVAL);
	ck_assert_int_eq(mf_unhex("00112233445566778899", out, sizeof(out), &n), MF_ERR_INVAL);
}
END_TEST

START_TEST(file_write_modes)
{
	char *dir = mft_tmpdir(), *p;
	unsigned char *buf;
	size_t len;
	struct stat st;

	ck_assert_ptr_nonnull(dir);
	p = mf_path_join(dir, "secret.pem");
	ck_assert_int_eq(mf_file_write(p, "abc", 3, 0600, 1), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* Exclusive creation refuses to overwrite and leaves the file alone. */
	ck_assert_int_eq(mf_file_write(p, "xyz", 3, 0600, 1), MF_ERR_EXISTS);
	ck_assert_int_eq(mf_file_read(p, 1024, &buf, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_str_eq((char *)buf, "abc");
	free(buf);
	/* A file over the limit is refused, not truncated. */
	ck_assert_int_eq(mf_file_read(p, 2, &buf, &len), MF_ERR_IO);
	ck_assert_int_eq(mf_file_write(p, "xyz", 3, 0644, 0), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	free(p);
	p = mf_path_join(dir, "missing");
	ck_assert_int_eq(mf_file_read(p, 1024, &buf, &len), MF_ERR_NOTFOUND);
	free(p);
	mft_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(errnames_distinct)
{
	static const int codes[] = {
		MF_ERR_LIFETIME_CAP, MF_ERR_LIFETIME_PROFILE, MF_ERR_NAME_POLICY, MF_ERR_NAME_EMPTY,
		MF_ERR_NAME_DUP, MF_ERR_KEY_WEAK, MF_ERR_KEY_CURVE, MF_ERR_CSR_CA,
		MF_ERR_CSR_KEYCERTSIGN, MF_ERR_CSR_SIGNATURE, MF_ERR_WILDCARD, MF_ERR_KEY_ALG
	};
	size_t i, j;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ck_assert_str_ne(mf_errname(codes[i]), "unknown");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(mf_errname(codes[i]), mf_errname(codes[j]));
	}
	ck_assert_str_eq(mf_errname(MF_ERR_LIFETIME_CAP), "lifetime-above-cap");
	ck_assert_str_eq(mf_errname(12345), "unknown");
}
END_TEST

START_TEST(path_join)
{
	char *p;

	p = mf_path_join("/etc/mayfly", "db.sqlite");
	ck_assert_str_eq(p, "/etc/mayfly/db.sqlite");
	free(p);
	p = mf_path_join("/etc/mayfly", "/var/lib/x");
	ck_assert_str_eq(p, "/var/lib/x");
	free(p);
}
END_TEST

static void
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	mf_log_vformat(buf, len, f, ap);
	va_end(ap);
}

/*
 * A value from the network must not forge a log line or a field: a newline
 * used to plant "event=audit-head ..." as a line of its own (issue: log
 * values written unescaped).
 */
START_TEST(log_values_escaped)
{
	char buf[512];

	fmt(buf, sizeof(buf), "path=%s n=%d", "/a/b.pem", 7);
	ck_assert_str_eq(buf, "path=/a/b.pem n=7");
	/* A newline cannot start a line of its own. */
	fmt(buf, sizeof(buf), "id=%s", "x\nlevel=info fn=x event=audit-head id=9 sha256=00");
	ck_assert_ptr_null(strchr(buf, '\n'));
	ck_assert_str_eq(buf, "id=\"x\\nlevel=info fn=x event=audit-head id=9 sha256=00\"");
	/* '=' and spaces outside quotes are quoted: no second field. */
	fmt(buf, sizeof(buf), "id=%s ok", "a event=audit-head");
	ck_assert_str_eq(buf, "id=\"a event=audit-head\" ok");
	fmt(buf, sizeof(buf), "id=%s", "a=b");
	ck_assert_str_eq(buf, "id=\"a=b\"");
	/* Inside the format's own quotes: quotes and backslashes escaped. */
	fmt(buf, sizeof(buf), "why=\"%s\" x=1", "say \"hi\" \\ now\r\t\x01\x7f\xc3");
	ck_assert_str_eq(buf, "why=\"say \\\"hi\\\" \\\\ now\\r\\t\\x01\\x7f\\xc3\" x=1");
	/* Empty and NULL values stay visible. */
	fmt(buf, sizeof(buf), "a=%s b=%s", "", (const char *)NULL);
	ck_assert_str_eq(buf, "a=\"\" b=(null)");
	/* Numbers, precision and %% as printf. */
	fmt(buf, sizeof(buf), "n=%zu l=%lld u=%u p=%.1f s=%.3s %%", (size_t)42, -5LL, 3u, 0.25,
	    "abcdef");
	ck_assert_str_eq(buf, "n=42 l=-5 u=3 p=0.2 s=abc %");
	/* Truncation keeps the buffer terminated. */
	fmt(buf, 8, "k=%s", "0123456789");
	ck_assert_uint_eq(strlen(buf), 7);
}
END_TEST

/* The same through mf_log itself: what reaches stderr is one line. */
START_TEST(log_line_single)
{
	char path[] = "/tmp/mf-logXXXXXX", got[1024];
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	mf_log(MF_LOG_INFO, "t", "event=refused id=%s why=\"%s\"", "evil\nevent=audit-head id=1",
	    "bad\"\nname");
	mf_log_ssl(MF_LOG_ERR, "t", "x=%d", 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	unlink(path);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got, "level=info fn=t event=refused "
	    "id=\"evil\\nevent=audit-head id=1\" why=\"bad\\\"\\nname\"\n"
	    "level=err fn=t x=1\n");
}
END_TEST

/* The monotonic clock moves forward by at least what was slept. */
START_TEST(mono_clock)
{
	int64_t a = mf_mono_us(), b;

	ck_assert_int_gt(a, 0);
	usleep(2000);
	b = mf_mono_us();
	ck_assert_int_ge(b - a, 2000);
	ck_assert_int_lt(b - a, 10 * 1000000);
}
END_TEST

Suite *
suite_util(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, duration_good);
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, duration_fmt_roundtrip);
	tcase_add_test(tc, hex_roundtrip);
	tcase_add_test(tc, file_write_modes);
	tcase_add_test(tc, errnames_distinct);
	tcase_add_test(tc, path_join);
	tcase_add_test(tc, log_values_escaped);
	tcase_add_test(tc, log_line_single);
	tcase_add_test(tc, mono_clock);
	suite_add_tcase(s, tc);
	return s;
}
