#!/bin/sh
# check-pg.sh: check_mayfly's storage tests (suite db-pg: the certificate,
# revocation, CRL-number, CA, group-commit, two-writer, audit and prune tests of
# tests/check_db.c) on a private PostgreSQL cluster, each test in a fresh
# database of its own. Skipped (77) without the PostgreSQL 15 server.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/pg/pgcluster.sh"
if ! pg_available 2>/dev/null; then
	echo "check-pg.sh: SKIP: $(pg_available 2>&1)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-check-pg.XXXXXX")
chmod 711 "$work"
cleanup() {
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pg_start "$work/pg" >/dev/null || { echo "FAIL: PostgreSQL did not start" >&2; exit 1; }
out=$work/out
CK_RUN_SUITE=db-pg "$top_builddir/check_mayfly" >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
cat "$out"
# The suite ran, and ran every test: a registration lost must not pass.
grep -q "^100%: Checks: 15, Failures: 0, Errors: 0" "$out" ||
	{ echo "FAIL: db-pg did not run its 15 tests" >&2; exit 1; }
