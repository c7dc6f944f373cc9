#!/bin/sh
# Turns the numbered SQL migrations into a C table, in order, so the schema
# travels inside the binaries. Each file NNN-name.sql becomes migration NNN.
#
#   sql2c.sh [-n ARRAY] FILE...
#
# ARRAY is the name of the table (default mf_migrations; the PostgreSQL
# migrations of sql/pg/ are mf_migrations_pg). The struct is defined once,
# so the SQLite and the PostgreSQL headers can be included in one file.
set -e
name=mf_migrations
if [ "$1" = -n ]; then
	name=$2
	shift 2
fi
echo "/* Generated from the sql/NNN-name.sql files by tools/sql2c.sh; do not edit. */"
echo "#ifndef MF_MIGRATION_DEFINED"
echo "#define MF_MIGRATION_DEFINED"
echo "struct mf_migration { int version; const char *name; const char *sql; };"
echo "#endif"
echo "static const struct mf_migration $name[] = {"
for f in "$@"; do
	b=$(basename "$f" .sql)
	v=$(echo "$b" | sed 's/^0*\([0-9][0-9]*\).*/\1/')
	printf '\t{ %s, "%s",\n' "$v" "$b"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo "};"
