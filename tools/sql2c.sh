#!/bin/sh
# Turns the numbered SQL migrations into a C table, in order, so the schema
# travels inside the binaries. Each file NNN-name.sql becomes migration NNN.
set -e
echo "/* Generated from the sql/NNN-name.sql files by tools/sql2c.sh; do not edit. */"
echo "struct mf_migration { int version; const char *name; const char *sql; };"
echo "static const struct mf_migration mf_migrations[] = {"
for f in "$@"; do
	b=$(basename "$f" .sql)
	v=$(echo "$b" | sed 's/^0*\([0-9][0-9]*\).*/\1/')
	printf '\t{ %s, "%s",\n' "$v" "$b"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo "};"
