#!/bin/sh
# issue-bench.sh: issuance throughput of the renewal listener through its
# fastest authenticated path (POST /v1/sign with the API token: TLS with
# keep-alive, CSR parse + signature verify, policy, sign, durable log
# commit), at concurrency 1 and 32, next to `openssl speed ecdsap256` on
# the same machine in the same run.
#
#   sh tests/bench/issue-bench.sh [SECONDS]     (from the build directory)
set -eu
secs=${1:-10}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

EXTRA_ACME="  api-token-file: api.token
  threads: ${THREADS:-32}" sh "$top_srcdir/tests/acme/mkca.sh" "$work/ca" >/dev/null
printf 'bench-token-0123456789\n' > "$work/ca/api.token"
chmod 600 "$work/ca/api.token"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
	-subj /O=bench -addext subjectAltName=DNS:bench.acme.test -outform DER -out "$work/csr.der" 2>/dev/null
"$top_builddir/mayfly-acme-server" -c "$work/ca/mayfly.yaml" -r "$work/port" 2>"$work/server.log" &
pid=$!
i=0
while [ ! -s "$work/port" ]; do i=$((i + 1)); [ $i -le 100 ] || exit 1; sleep 0.1; done
url=https://127.0.0.1:$(cat "$work/port")/v1/sign

echo "== machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "== openssl speed -seconds 3 ecdsap256"
sp=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | grep '256 bits ecdsa (nistp256)')
echo "$sp"
sign=$(echo "$sp" | awk '{print $(NF-1)}')
verify=$(echo "$sp" | awk '{print $NF}')
bound=$(awk -v s="$sign" -v v="$verify" 'BEGIN { printf "%.0f", 1 / (1 / v + 2 / s) }')
echo "crypto bound per core (1 verify + 2 signs per issuance): $bound/s"

before=$(sqlite3 "$work/ca/mayfly.db" 'SELECT count(*) FROM certificates')
for c in 1 32; do
	out=$("$top_builddir/mayfly-issue-load" "$url" "$work/ca/certs/root-a.pem" \
		"$work/ca/api.token" "$work/csr.der" "$c" "$secs")
	rate=$(echo "$out" | sed 's/.*rate=//')
	echo "$out ratio_to_bound=$(awk -v r="$rate" -v b="$bound" 'BEGIN { printf "%.2f", r / b }')"
done
after=$(sqlite3 "$work/ca/mayfly.db" 'SELECT count(*) FROM certificates')
echo "certificates in the log: $((after - before)) new (every one committed before its response)"
