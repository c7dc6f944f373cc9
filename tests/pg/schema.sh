#!/bin/sh
# schema.sh: the PostgreSQL migrations (sql/pg/) against the SQLite ones.
#
# A private PostgreSQL cluster (tests/pg/pgcluster.sh, Unix socket only)
# applies every sql/pg migration in order, each in one transaction, and
# the sqlite3 CLI builds a database from sql/*.sql. Then:
#  - the same statements run against both, and each must succeed or fail
#    as written below in both: the append-only triggers (and TRUNCATE on
#    PostgreSQL) with SQLite's message, "versions only go up", the length,
#    range and CHECK constraints, foreign keys and their cascade, the ids
#    both fill in, and the CRL number upsert of src/db.c;
#  - every failure on PostgreSQL is a constraint violation (SQLSTATE 23xxx),
#    as every one on SQLite is SQLITE_CONSTRAINT;
#  - tables, columns (type, NOT NULL, place in the primary key, default),
#    UNIQUE constraints, foreign keys and indexes are the same in both, and
#    the comparison is shown to see a column added on one side only;
#  - src/db_schema.h and src/db_schema_pg.h compile in one file and list
#    the same migrations.
# Skipped (77) when the PostgreSQL 15 server binaries are not installed.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/pg/pgcluster.sh"

if ! why=$(pg_available 2>&1); then
	echo "schema.sh: SKIP: $why"
	exit 77
fi
command -v sqlite3 >/dev/null 2>&1 || { echo "schema.sh: sqlite3 is not installed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-pg-schema.XXXXXX")
cleanup() {
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# The server's user (when run by root) must reach the cluster directory.
chmod 711 "$work"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

pg_start "$work/pg"
db=$(pg_createdb schema)
lite=$work/schema.db
psql() { "$PGC_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" "$@"; }

# ---- the migrations, in order, one transaction each --------------------------
names() { for f in "$@"; do basename "$f"; done; }
lite_files=$(ls "$top_srcdir"/sql/[0-9]*.sql | sort)
pg_files=$(ls "$top_srcdir"/sql/pg/[0-9]*.sql | sort)
# shellcheck disable=SC2086
[ "$(names $lite_files)" = "$(names $pg_files)" ] ||
	fail "sql/ and sql/pg/ hold different migrations"
for f in $pg_files; do
	psql -1 -f "$f" >"$work/apply.log" 2>&1 ||
		{ cat "$work/apply.log" >&2; echo "FAIL: $f does not apply" >&2; exit 1; }
done
for f in $lite_files; do
	sqlite3 -bail "$lite" <"$f" || { echo "FAIL: $f does not apply to SQLite" >&2; exit 1; }
done
echo "applied $(echo "$pg_files" | wc -l) migrations to PostgreSQL and SQLite"

# ---- the same statements against both ------------------------------------------
# Each line: what must happen, a tab, one statement. "ok" succeeds; "fail"
# fails; any other text is the exact message the statement must fail with.
# A "pg:" prefix runs the line on PostgreSQL only. @blob(N) is N zero bytes.
# A SELECT cannot fail on a wrong answer, so answers are checked by storing
# them in crl_numbers, whose number must be > 0. Lines starting with "#"
# are comments.
cat >"$work/cases" <<'EOF'
ok	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('01', 'issuing-1', 'CN=a', 'DNS:a', 'device', 100, 200, 'test', @blob(32), @blob(10), 100)
ok	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('02', 'issuing-1', 'CN=b', 'DNS:b', 'device', 100, 200, 'test', @blob(32), @blob(10), 100)
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'ids 1 and 2', count(*) - 1 FROM certificates WHERE id IN (1, 2)
fail	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('03', 'issuing-1', 'CN=c', 'DNS:c', 'device', 100, 200, 'test', @blob(31), @blob(10), 100)
fail	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('03', 'issuing-1', 'CN=c', 'DNS:c', 'device', 100, 200, 'test', @blob(33), @blob(10), 100)
fail	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('03', 'issuing-1', 'CN=c', 'DNS:c', 'device', 200, 200, 'test', @blob(32), @blob(10), 100)
fail	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('02', 'issuing-1', 'CN=c', 'DNS:c', 'device', 100, 200, 'test', @blob(32), @blob(10), 100)
fail	INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, requester, csr_sha256, der, issued_at) VALUES ('03', 'issuing-1', 'CN=c', 'DNS:c', 'device', 100, 200, 'test', @blob(32), NULL, 100)
ok	UPDATE certificates SET der = @blob(0), der_sha256 = @blob(32), pruned_at = 300 WHERE serial = '01'
fail	UPDATE certificates SET der_sha256 = @blob(31) WHERE serial = '02'
ok	INSERT INTO revocations (serial, revoked_at, reason, actor) VALUES ('01', 150, 1, 'test')
fail	INSERT INTO revocations (serial, revoked_at, reason, actor) VALUES ('02', 150, 7, 'test')
fail	INSERT INTO revocations (serial, revoked_at, reason, actor) VALUES ('99', 150, 1, 'test')
fail	INSERT INTO revocations (serial, revoked_at, reason, actor) VALUES ('01', 150, 1, 'test')
ok	INSERT INTO revocations (serial, revoked_at, reason, actor) VALUES ('02', 150, 9, 'test')
# A failed insert uses up an identity value in PostgreSQL, not in SQLite:
# the ids only go up.
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'revocation ids', count(*) FROM revocations a, revocations b WHERE a.serial = '01' AND b.serial = '02' AND b.id > a.id
# The upsert of mf_db_crl_number_next; "SET number = number + 1" is
# ambiguous in PostgreSQL (the row or EXCLUDED), so it names the table.
ok	INSERT INTO crl_numbers (issuer, number) VALUES ('issuing-1', 1) ON CONFLICT (issuer) DO UPDATE SET number = crl_numbers.number + 1 RETURNING number
ok	INSERT INTO crl_numbers (issuer, number) VALUES ('issuing-1', 1) ON CONFLICT (issuer) DO UPDATE SET number = crl_numbers.number + 1 RETURNING number
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'upsert', count(*) FROM crl_numbers WHERE issuer = 'issuing-1' AND number = 2
fail	INSERT INTO crl_numbers (issuer, number) VALUES ('zero', 0)
ok	INSERT INTO ca_certificates (name, kind, signed_by, key_uri, der, not_before, not_after, created_at) VALUES ('root-a', 'root', 'root-a', 'file:root-a.key', @blob(10), 100, 200, 100)
fail	INSERT INTO ca_certificates (name, kind, signed_by, key_uri, der, not_before, not_after, created_at) VALUES ('x', 'leaf', 'root-a', 'file:x.key', @blob(10), 100, 200, 100)
ok	INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash) VALUES (1, 100, 'init', 'test', '', @blob(32), @blob(32))
fail	INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash) VALUES (2, 100, 'init', 'test', '', @blob(32), @blob(31))
fail	INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash) VALUES (2, 100, 'init', 'test', '', @blob(33), @blob(32))
fail	INSERT INTO audit_log (id, time, event, actor, detail, prev_hash, hash) VALUES (1, 100, 'init', 'test', '', @blob(32), @blob(32))
audit_log is append-only	UPDATE audit_log SET event = 'tampered'
audit_log is append-only	UPDATE audit_log SET id = 5 WHERE id = 1
audit_log is append-only	DELETE FROM audit_log
audit_log is append-only	DELETE FROM audit_log WHERE id = 1
pg:audit_log is append-only	TRUNCATE audit_log
ok	UPDATE audit_log SET event = 'tampered' WHERE id = 42
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'audit kept', count(*) FROM audit_log WHERE id = 1 AND event = 'init'
ok	INSERT INTO ca_revocations (ca_id, revoked_at, reason, actor) VALUES (1, 150, 1, 'test')
fail	INSERT INTO ca_revocations (ca_id, revoked_at, reason, actor) VALUES (99, 150, 1, 'test')
fail	INSERT INTO ca_revocations (ca_id, revoked_at, reason, actor) VALUES (1, 150, 1, 'test')
ca_revocations is append-only	UPDATE ca_revocations SET reason = 4
ca_revocations is append-only	DELETE FROM ca_revocations
pg:ca_revocations is append-only	TRUNCATE ca_revocations
ok	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (1, @blob(10), 'aa', 100, 100, 'test')
ok	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (3, @blob(10), 'aa', 100, 100, 'test')
trust bundle versions only go up	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (2, @blob(10), 'aa', 100, 100, 'test')
trust bundle versions only go up	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (3, @blob(10), 'aa', 100, 100, 'test')
trust bundle versions only go up	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (0, @blob(10), 'aa', 100, 100, 'test')
fail	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (2147483648, @blob(10), 'aa', 100, 100, 'test')
ok	INSERT INTO trust_bundles (version, der, sha256, issued_at, published_at, actor) VALUES (2147483647, @blob(10), 'aa', 100, 100, 'test')
trust_bundles is append-only	UPDATE trust_bundles SET actor = 'x'
trust_bundles is append-only	DELETE FROM trust_bundles WHERE version = 1
pg:trust_bundles is append-only	TRUNCATE trust_bundles
ok	INSERT INTO ocsp_responses (issuer, alg, serial, status, this_update, next_update, not_after, der) VALUES ('issuing-1', 2, '1', 0, 100, 200, 200, @blob(10))
fail	INSERT INTO ocsp_responses (issuer, alg, serial, status, this_update, next_update, not_after, der) VALUES ('issuing-1', 2, '1', 1, 100, 200, 200, @blob(10))
ok	INSERT INTO acme_accounts (id, thumbprint, jwk, status, created_at) VALUES ('a1', 't1', '{}', 'valid', 100)
fail	INSERT INTO acme_accounts (id, thumbprint, jwk, status, created_at) VALUES ('a2', 't1', '{}', 'valid', 100)
fail	INSERT INTO acme_accounts (id, thumbprint, jwk, status, created_at) VALUES ('a2', 't2', '{}', 'sleeping', 100)
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'contact default', count(*) FROM acme_accounts WHERE contact = '[]'
ok	INSERT INTO acme_orders (id, account_id, status, identifiers, expires, created_at, not_before, not_after) VALUES ('o1', 'a1', 'pending', '[]', 200, 100, 150, 250)
ok	INSERT INTO acme_orders (id, account_id, status, identifiers, expires, created_at) VALUES ('o2', 'a1', 'pending', '[]', 200, 100)
fail	INSERT INTO acme_orders (id, account_id, status, identifiers, expires, created_at, not_after) VALUES ('o3', 'a1', 'pending', '[]', 200, 100, 250)
fail	INSERT INTO acme_orders (id, account_id, status, identifiers, expires, created_at, not_before, not_after) VALUES ('o3', 'a1', 'pending', '[]', 200, 100, 250, 250)
fail	INSERT INTO acme_orders (id, account_id, status, identifiers, expires, created_at) VALUES ('o3', 'nobody', 'pending', '[]', 200, 100)
fail	INSERT INTO acme_orders (id, account_id, status, identifiers, expires, created_at) VALUES ('o3', 'a1', 'done', '[]', 200, 100)
ok	INSERT INTO acme_authzs (id, order_id, pos, type, value, wildcard, status, expires) VALUES ('z1', 'o1', 0, 'dns', 'example.com', 0, 'pending', 200)
fail	INSERT INTO acme_authzs (id, order_id, pos, type, value, wildcard, status, expires) VALUES ('z2', 'o1', 1, 'email', 'a@example.com', 0, 'pending', 200)
ok	INSERT INTO acme_challenges (id, authz_id, type, token, status) VALUES ('c1', 'z1', 'http-01', 'tok', 'pending')
fail	INSERT INTO acme_challenges (id, authz_id, type, token, status) VALUES ('c2', 'z1', 'http-02', 'tok', 'pending')
ok	DELETE FROM acme_orders WHERE id = 'o1'
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'cascade', 1 - count(*) FROM acme_challenges
ok	INSERT INTO acme_issued (serial, account_id, order_id) VALUES ('02', 'a1', 'o2')
fail	INSERT INTO acme_issued (serial, account_id, order_id) VALUES ('99', 'a1', 'o2')
ok	INSERT INTO acme_nonces (value, expires) VALUES ('n1', 200)
# The nonce key of a shared log: one row, 64 hex digits, the first of two kept.
ok	INSERT INTO acme_nonce_key (id, secret, created) VALUES (1, 'abababababababababababababababababababababababababababababababab', 100) ON CONFLICT (id) DO NOTHING
ok	INSERT INTO acme_nonce_key (id, secret, created) VALUES (1, 'cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', 100) ON CONFLICT (id) DO NOTHING
ok	INSERT INTO crl_numbers (issuer, number) SELECT 'nonce key kept', count(*) FROM acme_nonce_key WHERE secret LIKE 'ab%'
fail	INSERT INTO acme_nonce_key (id, secret, created) VALUES (2, 'abababababababababababababababababababababababababababababababab', 100)
fail	INSERT INTO acme_nonce_key (id, secret, created) VALUES (1, 'abcd', 100)
ok	INSERT INTO acme_nonces (value, expires) VALUES ('node-and-counter', 200)
fail	INSERT INTO acme_nonces (value, expires) VALUES ('node-and-counter', 300)
ok	INSERT INTO acme_rate (key, at) VALUES ('order:a1', 100)
ok	INSERT INTO acme_rate (key, at) VALUES ('order:a1', 100)
ok	INSERT INTO est_tokens_used (token_sha256, used_at) VALUES (@blob(32), 100)
fail	INSERT INTO est_tokens_used (token_sha256, used_at) VALUES (@blob(32), 100)
ok	INSERT INTO acme_eab_keys (kid, hmac_key, created_at, created_by) VALUES ('k1', @blob(32), 100, 'test')
fail	INSERT INTO acme_eab_keys (kid, hmac_key, created_at, created_by) VALUES ('k2', @blob(31), 100, 'test')
EOF

# PostgreSQL runs them all in one session (a connection per statement is
# slow): after each, psql echoes its number, the SQLSTATE (00000: success)
# and the message of an error.
pgblob() { sed "s/@blob(\([0-9]*\))/decode(repeat('00', \1), 'hex')/g"; }
liteblob() { sed 's/@blob(\([0-9]*\))/zeroblob(\1)/g'; }
tab=$(printf '\t')
n=0
while IFS=$tab read -r expect sql; do
	case $expect in '#'*|'') continue ;; esac
	n=$((n + 1))
	printf '%s;\n' "$sql" | pgblob
	printf '\\if :ERROR\n\\echo @@ %d :SQLSTATE :LAST_ERROR_MESSAGE\n' $n
	printf '\\else\n\\echo @@ %d :SQLSTATE\n\\endif\n' $n
done <"$work/cases" >"$work/cases.psql"
"$PGC_BINDIR/psql" -X -q -v ON_ERROR_STOP=0 -d "$db" -f "$work/cases.psql" \
	>"$work/cases.pg" 2>"$work/cases.pg.err" || true

n=0
while IFS=$tab read -r expect sql; do
	case $expect in '#'*|'') continue ;; esac
	n=$((n + 1))
	engines="pg lite"
	case $expect in pg:*) expect=${expect#pg:}; engines=pg ;; esac
	for e in $engines; do
		if [ $e = pg ]; then
			r=$(sed -n "s/^@@ $n //p" "$work/cases.pg")
			state=${r%% *}
			err=${r#"$state"}; err=${err# }
			[ -n "$state" ] || { fail "pg: no result for: $sql"; continue; }
			[ "$state" = 00000 ] && ok=1 || ok=0
		else
			printf 'PRAGMA foreign_keys = ON;\n%s;\n' "$sql" | liteblob |
				sqlite3 -bail "$lite" >/dev/null 2>"$work/err" && ok=1 || ok=0
			err=$(cat "$work/err")
		fi
		if [ $ok = 1 ]; then
			[ "$expect" = ok ] || fail "$e: succeeded, expected $expect: $sql"
			continue
		fi
		case $expect in
		ok)	fail "$e: failed: $sql: $err"; continue ;;
		fail)	;;
		*)	case $err in
			*"$expect"*) ;;
			*) fail "$e: expected \"$expect\": $sql: $err"; continue ;;
			esac ;;
		esac
		case $e:$state in
		pg:23*|lite:*) ;;
		*) fail "pg: not a constraint violation ($state): $sql: $err" ;;
		esac
	done
done <"$work/cases"
echo "ran $n statements against both"

# ---- the same tables, columns, keys and indexes ----------------------------------
# SQLite types become PostgreSQL's (INTEGER BIGINT, BLOB BYTEA); a primary
# key column is NOT NULL in PostgreSQL (and in SQLite in effect, but a
# rowid table's pragma does not say so); defaults lose their cast.
lite_schema() {
	sqlite3 -batch -noheader -separator '|' "$lite" "
	SELECT 'column', m.name, p.name,
	    CASE upper(p.type) WHEN 'INTEGER' THEN 'bigint' WHEN 'TEXT' THEN 'text'
	        WHEN 'BLOB' THEN 'bytea' ELSE 'unknown ' || p.type END,
	    p.\"notnull\" OR p.pk > 0, p.pk, coalesce(p.dflt_value, '')
	FROM sqlite_schema m, pragma_table_info(m.name) p
	WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
	UNION ALL
	SELECT 'unique', m.name, (SELECT group_concat(name, ',') FROM
	    (SELECT ii.name FROM pragma_index_info(il.name) ii ORDER BY ii.seqno)), '', '', '', ''
	FROM sqlite_schema m, pragma_index_list(m.name) il
	WHERE m.type = 'table' AND il.origin = 'u'
	UNION ALL
	SELECT 'index', m.tbl_name, m.name, (SELECT group_concat(name, ',') FROM
	    (SELECT ii.name FROM pragma_index_info(m.name) ii ORDER BY ii.seqno)), '', '', ''
	FROM sqlite_schema m WHERE m.type = 'index' AND m.sql IS NOT NULL
	UNION ALL
	SELECT 'fkey', m.name, f.\"from\", f.\"table\", f.\"to\", f.on_delete, ''
	FROM sqlite_schema m, pragma_foreign_key_list(m.name) f
	WHERE m.type = 'table'
	ORDER BY 1, 2, 3, 4;"
}
pg_schema() {
	psql -A -t -F '|' -c "
	SELECT 'column', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
	    a.attnotnull::int::text, coalesce(array_position(k.conkey, a.attnum), 0)::text,
	    coalesce(regexp_replace(pg_get_expr(d.adbin, d.adrelid), '::text\$', ''), '')
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
	LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	WHERE n.nspname = 'public' AND c.relkind = 'r'
	UNION ALL
	SELECT 'unique', c.relname, (SELECT string_agg(a.attname, ',' ORDER BY u.i)
	    FROM unnest(k.conkey) WITH ORDINALITY u(num, i)
	    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.num), '', '', '', ''
	FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND k.contype = 'u'
	UNION ALL
	SELECT 'index', c.relname, i.relname, (SELECT string_agg(a.attname, ',' ORDER BY u.i)
	    FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(num, i)
	    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.num), '', '', ''
	FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public'
	    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
	UNION ALL
	SELECT 'fkey', c.relname, a.attname, r.relname, ra.attname,
	    CASE k.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'c' THEN 'CASCADE'
	        WHEN 'r' THEN 'RESTRICT' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END, ''
	FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_class r ON r.oid = k.confrelid
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
	JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.confkey[1]
	WHERE n.nspname = 'public' AND k.contype = 'f'
	ORDER BY 1, 2, 3, 4;"
}
lite_schema >"$work/lite.schema"
pg_schema >"$work/pg.schema"
if ! diff -u "$work/lite.schema" "$work/pg.schema" >"$work/schema.diff"; then
	cat "$work/schema.diff" >&2
	fail "the PostgreSQL schema is not the SQLite schema (- SQLite, + PostgreSQL)"
fi
echo "compared $(grep -c '^column' "$work/pg.schema") columns in" \
	"$(cut -d'|' -f2 "$work/pg.schema" | sort -u | wc -l) tables," \
	"$(grep -c '^index' "$work/pg.schema") indexes," \
	"$(grep -c '^unique' "$work/pg.schema") unique constraints," \
	"$(grep -c '^fkey' "$work/pg.schema") foreign keys"
# The comparison sees a column that only one side has.
psql -c "ALTER TABLE acme_nonces ADD COLUMN extra BIGINT"
pg_schema >"$work/pg2.schema"
if diff "$work/lite.schema" "$work/pg2.schema" >/dev/null; then
	fail "the schema comparison does not see an added column"
fi

# ---- both generated headers in one file -----------------------------------------
if [ -f "$top_builddir/src/db_schema_pg.h" ] && command -v cc >/dev/null 2>&1; then
	cat >"$work/headers.c" <<'EOF'
#include <stdio.h>
#include "db_schema.h"
#include "db_schema_pg.h"
#define N(a) (sizeof(a) / sizeof((a)[0]))
int
main(void)
{
	size_t i;

	for (i = 0; i < N(mf_migrations); i++)
		printf("%d %s.sql\n", mf_migrations[i].version, mf_migrations[i].name);
	for (i = 0; i < N(mf_migrations_pg); i++)
		printf("pg %d %s.sql\n", mf_migrations_pg[i].version, mf_migrations_pg[i].name);
	return 0;
}
EOF
	cc -Wall -Werror -I"$top_builddir/src" -o "$work/headers" "$work/headers.c" ||
		fail "src/db_schema.h and src/db_schema_pg.h do not compile together"
	if [ -x "$work/headers" ]; then
		"$work/headers" >"$work/headers.out"
		grep -v '^pg ' "$work/headers.out" >"$work/h.lite"
		sed -n 's/^pg //p' "$work/headers.out" >"$work/h.pg"
		diff -u "$work/h.lite" "$work/h.pg" >&2 ||
			fail "the two headers list different migrations"
		# shellcheck disable=SC2086
		[ "$(cut -d' ' -f2 "$work/h.pg")" = "$(names $pg_files)" ] ||
			fail "src/db_schema_pg.h is not sql/pg/*.sql (run make)"
	fi
else
	echo "src/db_schema_pg.h not built or no cc: header check skipped"
fi

if [ $fails -gt 0 ]; then
	echo "schema.sh: $fails failures"
	exit 1
fi
echo "schema.sh: ok"
