#!/bin/sh
# tls.sh: the issuance log reached over TLS. A private PostgreSQL cluster
# (tests/pg/pgcluster.sh, PGC_TLS=1) also listens on 127.0.0.1 with
# ssl=on, a server certificate for "localhost" from a test root, and only
# TLS with a password over TCP. With sslmode=verify-full and that root,
# `mayfly db migrate --to` copies a log in, the CLI reads it, mayflyd
# starts on it and PostgreSQL logged TLS connections. A wrong root, a
# host name the certificate does not name, and no TLS each fail closed:
# non-zero, a clear reason, nothing written, and the password (from a
# passfile) printed nowhere. Skipped (77) without the PostgreSQL server.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
export top_srcdir
. "$top_srcdir/tests/pg/pgcluster.sh"
if ! pg_available 2>/dev/null; then
	echo "tls.sh: SKIP: $(pg_available 2>&1)"
	exit 77
fi
command -v python3 >/dev/null 2>&1 || { echo "tls.sh: SKIP: no python3 (tests/hold-port.py)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-pg-tls.XXXXXX")
chmod 711 "$work"
dpid=
cleanup() {
	[ -z "$dpid" ] || { kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null || true; }
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top_srcdir/tests/mayflyd/lib.sh"

PGC_TLS=1
pg_start "$work/pg" >/dev/null || fail "PostgreSQL did not start with TLS"
[ "$PGC_PORT" != 5432 ] && [ -s "$PGC_PASSFILE" ] || fail "no TLS port or passfile"
pw=$(sed -n '1s/.*://p' "$PGC_PASSFILE")
[ ${#pw} = 32 ] || fail "no password in the passfile"
root=$(pgc_enc "$PGC_TLSDIR/ca.pem")
other=$(pgc_enc "$PGC_TLSDIR/other-ca.pem")
psql() { "$PGC_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }
# tables DB: how many tables database DB holds (over the socket).
tables() { psql -d "$(pgc_uri "$1")" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"; }
# set_db URI: mayfly.yaml's database: (sed would read the URI's "&").
set_db() {
	grep -v '^database:' "$ca/mayfly.yaml" >"$ca/mayfly.yaml.tmp"
	{ echo "database: \"$1\""; cat "$ca/mayfly.yaml.tmp"; } >"$ca/mayfly.yaml"
	rm -f "$ca/mayfly.yaml.tmp"
}
# no_secret FILE: the password appears nowhere in FILE.
no_secret() { ! grep -qF "$pw" "$1" || fail "$1 shows the database password"; }

ca=$work/ca
M="$top_builddir/mayfly -c $ca/mayfly.yaml"
"$top_builddir/mayfly" init --dir "$ca" --keys file --port 8080 --dns localhost >"$work/init.out" 2>&1 ||
	fail_file "$work/init.out" "mayfly init"

# 1. verify-full with the right root: the copy, then the CLI and mayflyd on it.
pg_createdb tlsdb >/dev/null || fail "createdb tlsdb"
good=$(pg_tls_uri tlsdb "sslmode=verify-full&sslrootcert=$root")
$M db migrate --to "$good" >"$work/migrate.out" 2>&1 || fail_file "$work/migrate.out" "db migrate over TLS"
grep -q "tables identical" "$work/migrate.out" || fail_file "$work/migrate.out" "the copy was not proven"
no_secret "$work/migrate.out"
grep -q "connection authorized: user=mayfly database=tlsdb application_name=mayfly SSL enabled" \
	"$PGC_LOG" || fail_file "$PGC_LOG" "PostgreSQL logged no TLS connection of mayfly's"
ok "db migrate --to over TLS (verify-full): copied and proven"
set_db "$good"
sed -i 's|"127.0.0.1:8080"|"127.0.0.1:0"|' "$ca/mayfly.yaml"
grep -q '"127.0.0.1:0"' "$ca/mayfly.yaml" || fail "no listen address to change in mayfly.yaml"
$M audit verify >"$work/verify.out" 2>&1 || fail_file "$work/verify.out" "audit verify over TLS"
no_secret "$work/verify.out"
ok "audit verify over TLS"
"$top_builddir/mayflyd" -c "$ca/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
port=$(bound_port)
wait_until 30 "/health is not 200 over TLS" \
	sh -c "curl -sf -o /dev/null --max-time 5 http://127.0.0.1:$port/health"
kill "$dpid"
wait "$dpid" || fail "mayflyd did not stop cleanly"
dpid=
no_secret "$work/d.log"
ok "mayflyd serves with its log over TLS"

# 2. Each way in that must fail closed, into an empty database it must leave empty.
pg_createdb tlsbad >/dev/null || fail "createdb tlsbad"
# try NAME PATTERN URI: db migrate --to URI fails, says PATTERN, writes nothing.
try() {
	if $M db migrate --to "$3" >"$work/$1.out" 2>&1; then
		fail_file "$work/$1.out" "$1: db migrate succeeded"
	fi
	grep -q "$2" "$work/$1.out" || fail_file "$work/$1.out" "$1: no \"$2\""
	no_secret "$work/$1.out"
	# libpq's message is the reason; OpenSSL's leftovers are not shown as one.
	! grep -q "(openssl:" "$work/$1.out" || fail_file "$work/$1.out" "$1: a stale OpenSSL error"
	[ "$(tables tlsbad)" = 0 ] || fail "$1: tables were made in tlsbad"
	ok "$1: refused ($(grep -o "$2" "$work/$1.out" | head -1))"
}
try wrong-root "certificate verify failed" \
	"$(pg_tls_uri tlsbad "sslmode=verify-full&sslrootcert=$other")"
try host-mismatch 'does not match host name' \
	"$(pg_tls_uri tlsbad "sslmode=verify-full&sslrootcert=$root" | sed 's|//localhost:|//127.0.0.1:|')"
try no-tls 'no encryption' "$(pg_tls_uri tlsbad "sslmode=disable")"
# mayflyd on a wrong root: it does not serve on a log it cannot trust (it
# exits, as when the log cannot be opened; 124 would be timeout's).
set_db "$(pg_tls_uri tlsbad "sslmode=verify-full&sslrootcert=$other")"
rc=0
timeout 60 "$top_builddir/mayflyd" -c "$ca/mayfly.yaml" >"$work/d-bad.log" 2>&1 || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail_file "$work/d-bad.log" "mayflyd started on an untrusted server"
grep -q "certificate verify failed" "$work/d-bad.log" || fail_file "$work/d-bad.log" "mayflyd: no reason"
no_secret "$work/d-bad.log"
[ "$(tables tlsbad)" = 0 ] || fail "mayflyd made tables through an untrusted connection"
ok "mayflyd with the wrong root: exit $rc, certificate verify failed"
no_secret "$PGC_LOG"
echo "PASS: tls.sh"
