#!/bin/sh
# pg-bench.sh: issuance rate (POST /v1/sign, as tests/bench/issue-bench.sh)
# with the log on SQLite, on PostgreSQL with one mayflyd node, and on
# PostgreSQL with two nodes, in the same run, at concurrency 1 and 32;
# prints each rate and its ratio to the SQLite one.
#
# PostgreSQL is a private cluster of this script (tests/pg/pgcluster.sh,
# Unix socket, fsync on, synchronous_commit on), on the same machine: the
# figures are of one machine's disk and CPUs shared by every process. With
# two nodes, each node gets the stated concurrency (twice the clients in
# all) and the rate is the sum.
#
#   sh tests/bench/pg-bench.sh [SECONDS]     (from the build directory)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
secs=${1:-10}
. "$top_srcdir/tests/pg/pgcluster.sh"
pg_available || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-pg-bench.XXXXXX")
chmod 711 "$work"
dpid=
d2pid=
cleanup() {
	for p in $dpid $d2pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$top_srcdir/tests/mayflyd/lib.sh"
pg_start "$work/pg" >/dev/null || fail "PostgreSQL did not start"
U=$(pg_createdb bench)

d=$work/mfd
"$top_builddir/mayfly" init --dir "$d" --keys file --port 8080 --dns .acme.test \
	--dns localhost >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/; s/"\[::1\]:8080"/"[::1]:0"/' "$d/mayfly.yaml"
printf 'bench-token-0123456789\n' > "$d/api.token"
chmod 600 "$d/api.token"
cat >> "$d/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  threads: 64
  per-ip-connections: 64
EOT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
	-subj /CN=bench.acme.test -addext subjectAltName=DNS:bench.acme.test -outform DER \
	-out "$work/csr.der" 2>/dev/null
root=$d/certs/root-a.pem

# start CONF LOG: a node; its API port in $ap
start() {
	"$top_builddir/mayflyd" -c "$1" >"$2" 2>&1 &
	last=$!
	wait_until 60 "mayflyd did not start" grep -q "event=presigned" "$2"
	ap=$(grep -o 'event=listening what=acme host=[^ ]* port=[0-9]*' "$2" | head -1 | sed 's/.*port=//')
}
rate() { echo "$1" | sed 's/.*rate=//'; }
# run C PORT...: C clients on each port at once; the summed rate
run() {
	c=$1
	shift
	i=0
	for p in "$@"; do
		"$top_builddir/mayfly-issue-load" "https://127.0.0.1:$p/v1/sign" "$root" "$d/api.token" \
			"$work/csr.der" "$c" "$secs" > "$work/load.$i" &
		i=$((i + 1))
	done
	wait $(jobs -p | grep -v -e "^$dpid\$" -e "^$d2pid\$" || true) 2>/dev/null || true
	tot=0
	for f in "$work"/load.*; do tot=$(awk -v a="$tot" -v b="$(rate "$(cat "$f")")" 'BEGIN { print a + b }'); done
	rm -f "$work"/load.*
	echo "$tot"
}

start "$d/mayfly.yaml" "$work/d.log"; dpid=$last
s1=$(run 1 "$ap"); s32=$(run 32 "$ap")
kill "$dpid"; wait "$dpid" 2>/dev/null || true; dpid=
echo "sqlite, 1 node:       c=1 $s1/s   c=32 $s32/s"

"$top_builddir/mayfly" -c "$d/mayfly.yaml" db migrate --to "$U" >/dev/null
grep -v '^database:' "$d/mayfly.yaml" > "$work/c.tmp"
{ echo "database: \"$U\""; cat "$work/c.tmp"; } > "$d/mayfly.yaml"
cp "$d/mayfly.yaml" "$d/node2.yaml"

start "$d/mayfly.yaml" "$work/d.log"; dpid=$last; a1=$ap
p1=$(run 1 "$a1"); p32=$(run 32 "$a1")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "postgresql, 1 node:   c=1 $p1/s ($(ratio "$p1" "$s1") of sqlite)   c=32 $p32/s ($(ratio "$p32" "$s32") of sqlite)"

start "$d/node2.yaml" "$work/d2.log"; d2pid=$last; a2=$ap
q1=$(run 1 "$a1" "$a2"); q32=$(run 32 "$a1" "$a2")
echo "postgresql, 2 nodes:  c=1 $q1/s ($(ratio "$q1" "$s1") of sqlite)   c=32 $q32/s ($(ratio "$q32" "$s32") of sqlite)   (c clients on each node)"
n=$("$PGC_BINDIR/psql" -X -A -t -q -d "$U" -c 'SELECT count(*) FROM certificates')
"$top_builddir/mayfly" -c "$d/mayfly.yaml" audit verify > "$work/verify.out" 2>&1 ||
	{ cat "$work/verify.out" >&2; exit 1; }
echo "log: $n certificates on PostgreSQL; $(head -1 "$work/verify.out")"
