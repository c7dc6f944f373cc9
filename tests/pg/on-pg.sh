#!/bin/sh
# on-pg.sh: the ACME client test (tests/acme/clients.sh: certbot standalone
# and webroot, EAB, uacme, ualpn) and the daemon test with EST
# (tests/mayflyd/acme-daemon.sh: certbot, EST enrol and re-enrol over
# mutual TLS, /v1/sign, revocation while running) with the issuance log on
# PostgreSQL: a private cluster (tests/pg/pgcluster.sh) and
# MAYFLY_TEST_ON_PG=1, so each moves its log there right after `mayfly
# init` (tests/pg/onpg.sh) and checks it there. Both run even when the
# first fails; PostgreSQL's log is searched for errors other than those
# the tests provoke on purpose (a second use of a nonce, a spent token).
# Skipped (77) when the PostgreSQL 15 server binaries are not installed.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
export top_srcdir top_builddir
. "$top_srcdir/tests/pg/pgcluster.sh"
if ! pg_available 2>/dev/null; then
	echo "on-pg.sh: SKIP: $(pg_available 2>&1)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-on-pg.XXXXXX")
chmod 711 "$work"
cleanup() {
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pg_start "$work/pg" >/dev/null || { echo "FAIL: PostgreSQL did not start" >&2; exit 1; }
MAYFLY_TEST_ON_PG=1
MAYFLY_TEST_PSQL=$PGC_BINDIR/psql
export MAYFLY_TEST_ON_PG MAYFLY_TEST_PSQL

failed=0
passed=0
for t in ${ONPG_TESTS:-tests/acme/clients.sh tests/mayflyd/acme-daemon.sh}; do
	start=$(date +%s)
	rc=0
	sh "$top_srcdir/$t" >"$work/out" 2>&1 || rc=$?
	grep -q "onpg.sh: the log is on PostgreSQL" "$work/out" || { rc=1; echo "FAIL: $t did not move its log"; }
	sed "s|^|$t: |" "$work/out"
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		echo "PASS: $t on PostgreSQL ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1))
		echo "FAIL: $t on PostgreSQL (exit $rc, $(($(date +%s) - start)) s)"
	fi
done
# SQL the tests did not mean to fail: a statement PostgreSQL refused is a
# dialect difference the code above hides (a refresh that silently did nothing).
# The refusals the tests provoke: a spent nonce or EST token used again, one
# EAB key for a second account.
grep "ERROR:" "$PGC_LOG" |
	grep -v 'duplicate key value violates unique constraint "\(acme_nonces_pkey\|est_tokens_used_pkey\|acme_accounts_eab_kid_key\)"' \
	>"$work/pgerr" || true
if [ -s "$work/pgerr" ]; then
	echo "FAIL: PostgreSQL refused statements:"
	head -20 "$work/pgerr"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
