#!/bin/sh
# check-suites.sh: the daemon's and the ACME/EST listener's Check suites
# (check_mayflyd: tests/mayflyd/*.c; check_acme: tests/acme/*.c, the EST
# tests included) with the issuance log on PostgreSQL. A private cluster
# (tests/pg/pgcluster.sh) and MAYFLY_TEST_ON_PG=1, so that the fixtures
# (tests/fixtures.h, mft_db_target) give every test directory a fresh
# database of its own where they would make dir/mayfly.db, move the log of
# `mayfly init` there (`mayfly db migrate --to`), and drop it afterwards.
# The two suites run side by side (about 2 minutes, against 4 one after the
# other). Skipped on PostgreSQL, saying so: test_database_full and
# test_database_readonly (an SQLite file on a tmpfs the test fills or makes
# read-only), and the file-size half of t_nonce_costs_no_write (its row
# count still runs). PostgreSQL's log is searched for statements it refused
# other than those the tests provoke on purpose. Skipped (77) without the
# PostgreSQL 15 server binaries.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/pg/pgcluster.sh"
if ! pg_available 2>/dev/null; then
	echo "check-suites.sh: SKIP: $(pg_available 2>&1)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-check-suites.XXXXXX")
chmod 711 "$work"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pg_start "$work/pg" >/dev/null || { echo "FAIL: PostgreSQL did not start" >&2; exit 1; }
# max_connections 40 is the cluster's: two suites, each a daemon or a
# listener with its pool and the test's own connections, stay well below.
MAYFLY_TEST_ON_PG=1
export MAYFLY_TEST_ON_PG

# The number of tests each binary has at least; fewer means a lost registration.
min_mayflyd=34
min_acme=63
start=$(date +%s)
for t in check_mayflyd check_acme; do
	"$top_builddir/$t" >"$work/$t.out" 2>&1 &
	pids="$pids $!"
	eval "pid_$t=\$!"
done
failed=0
for t in check_mayflyd check_acme; do
	rc=0
	eval "wait \$pid_$t" || rc=$?
	eval "min=\$min_${t#check_}"
	grep -E '^[0-9]+%: Checks: |:[FE]:|SKIPPED' "$work/$t.out" | sed "s|^|$t: |"
	n=$(sed -n 's/^100%: Checks: \([0-9]*\), Failures: 0, Errors: 0$/\1/p' "$work/$t.out")
	dbs=$(grep -c '^mft: the log is on PostgreSQL' "$work/$t.out" || true)
	if [ $rc != 0 ] || [ -z "$n" ]; then
		echo "FAIL: $t on PostgreSQL (exit $rc); its output:"
		tail -n 60 "$work/$t.out"
		failed=1
	elif [ "$n" -lt "$min" ]; then
		echo "FAIL: $t ran $n tests, fewer than $min"
		failed=1
	elif [ "$dbs" -lt 10 ]; then
		echo "FAIL: $t made $dbs PostgreSQL databases: did its tests run on SQLite?"
		failed=1
	else
		echo "PASS: $t on PostgreSQL: $n tests, $dbs databases"
	fi
done
pids=
echo "both suites: $(($(date +%s) - start)) s"
# The skips, exactly those two: any other would hide a test.
skips=$(cat "$work/check_mayflyd.out" "$work/check_acme.out" | grep -c 'SKIPPED on PostgreSQL' || true)
[ "$skips" = 2 ] || { echo "FAIL: $skips tests skipped on PostgreSQL, 2 expected"; failed=1; }
# SQL the tests did not mean to fail: a statement PostgreSQL refused is a
# dialect difference the code hides. The refusals the tests provoke: a
# spent nonce or EST token used again, one EAB key for a second account.
grep "ERROR:" "$PGC_LOG" |
	grep -v 'duplicate key value violates unique constraint "\(acme_nonces_pkey\|est_tokens_used_pkey\|acme_accounts_eab_kid_key\)"' \
	>"$work/pgerr" || true
if [ -s "$work/pgerr" ]; then
	echo "FAIL: PostgreSQL refused statements:"
	head -20 "$work/pgerr"
	failed=1
fi
# Every test dropped its database (a failed test may leave its own).
left=$("$PGC_BINDIR/psql" -X -A -t -q -d "$(pgc_uri postgres)" \
	-c "SELECT count(*) FROM pg_database WHERE datname LIKE 'mft\_%'" 2>/dev/null || echo '?')
echo "databases left behind: $left"
[ $failed = 0 ]
