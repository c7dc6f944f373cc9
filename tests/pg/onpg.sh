# onpg.sh: lets a test written for an SQLite log run on PostgreSQL too; to
# be sourced (sh) by that test after `mayfly init`.
#
#   onpg_setup CONFIG NAME   with MAYFLY_TEST_ON_PG=1: copies the log of
#                            CONFIG into a fresh database named NAME plus
#                            a random suffix (`mayfly db migrate --to`,
#                            which proves the copy) and points CONFIG's
#                            database: at it; without it, does nothing.
#                            The caller then never touches the SQLite file.
#   dbq SQL                  runs SQL on the log, whichever it is; rows one
#                            a line, columns separated by "|" (sqlite3's
#                            and psql -A's default alike).
#   ONPG_BACKEND             "sqlite" or "postgresql", for messages and the
#                            rare query that differs (hex of a blob).
#
# MAYFLY_TEST_ON_PG=1 needs MAYFLY_TEST_PG (the cluster's postgres database,
# as tests/pg/pgcluster.sh's pg_start exports it) and MAYFLY_TEST_PSQL
# (psql of that cluster's version, else the one on PATH). tests/pg/on-pg.sh
# starts a cluster and runs the tests that source this file that way.
# Everything else is prefixed onpg_.

ONPG_BACKEND=sqlite
onpg_db=
onpg_uri=

onpg_setup() {
	onpg_db=$(sed -n 's/^database: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1")
	case $onpg_db in
	/*) ;;
	*) onpg_db=$(dirname "$1")/${onpg_db:-mayfly.db} ;;
	esac
	[ "${MAYFLY_TEST_ON_PG:-0}" = 1 ] || return 0
	[ -n "${MAYFLY_TEST_PG:-}" ] || { echo "onpg.sh: MAYFLY_TEST_ON_PG=1 without MAYFLY_TEST_PG" >&2; return 1; }
	onpg_psql=${MAYFLY_TEST_PSQL:-psql}
	onpg_name=$2_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	echo "CREATE DATABASE $onpg_name TEMPLATE template0;" |
		"$onpg_psql" -X -q -v ON_ERROR_STOP=1 -d "$MAYFLY_TEST_PG" -f - >/dev/null || return 1
	# The cluster's URI names the postgres database: the same with ours.
	onpg_uri=$(printf '%s\n' "$MAYFLY_TEST_PG" | sed "s|^\(postgresql://[^/?]*\)/[^?]*|\1/$onpg_name|")
	"${top_builddir:-.}/mayfly" -c "$1" db migrate --to "$onpg_uri" >"$1.migrate" 2>&1 ||
		{ cat "$1.migrate" >&2; return 1; }
	grep -q "tables identical" "$1.migrate" || { cat "$1.migrate" >&2; return 1; }
	grep -v '^database:' "$1" > "$1.tmp"
	{ echo "database: \"$onpg_uri\""; cat "$1.tmp"; } > "$1"
	rm -f "$1.tmp"
	ONPG_BACKEND=postgresql
	echo "onpg.sh: the log is on PostgreSQL, database $onpg_name"
}

dbq() {
	if [ "$ONPG_BACKEND" = postgresql ]; then
		"$onpg_psql" -X -A -t -q -v ON_ERROR_STOP=1 -d "$onpg_uri" -c "$1"
	else
		sqlite3 "$onpg_db" "$1"
	fi
}
