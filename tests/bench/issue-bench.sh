#!/bin/sh
# issue-bench.sh: issuance throughput through the fastest authenticated path
# (POST /v1/sign with the API token: TLS with keep-alive, CSR parse +
# signature verify, policy, sign, durable log commit), at concurrency 1 and
# 32, next to `openssl speed ecdsap256` on the same machine in the same run.
#
# First mayflyd itself, set up by `mayfly init --keys file` with an acme:
# section: every certificate is an issuance request to the signer process
# (group-committed there), and its first OCSP response is pre-signed. Then,
# for comparison, the standalone listener mayfly-acme-server, which signs
# and commits in its own process (set NO_STANDALONE=1 to skip it).
#
# The crypto bound is 1 / (1/verify + 2/sign) from `openssl speed` on one
# core (a CSR signature check, the certificate and its first OCSP
# response), and that times the CPUs for the machine; every rate is given
# as a ratio to both. KEYS=softhsm puts the CA keys of the mayflyd run in a
# SoftHSM2 token (the production layout) instead of files.
#
#   sh tests/bench/issue-bench.sh [SECONDS]     (from the build directory)
set -eu
secs=${1:-10}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-bench.XXXXXX")
dpid=
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

# fail, wait_log, bound_port (mayflyd logs to $work/d.log, its pid is $dpid).
. "$top_srcdir/tests/mayflyd/lib.sh"

echo "== machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "== openssl speed -seconds 3 ecdsap256"
sp=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | grep '256 bits ecdsa (nistp256)')
echo "$sp"
sign=$(echo "$sp" | awk '{print $(NF-1)}')
verify=$(echo "$sp" | awk '{print $NF}')
bound=$(awk -v s="$sign" -v v="$verify" 'BEGIN { printf "%.0f", 1 / (1 / v + 2 / s) }')
ncpu=$(nproc)
mbound=$((bound * ncpu))
echo "crypto bound (1 verify + 2 signs per issuance): $bound/s per core, $mbound/s for $ncpu CPUs"

# load LABEL URL ROOT TOKEN DB: both concurrencies against one server.
load() {
	before=$(sqlite3 "$5" 'SELECT count(*) FROM certificates')
	for c in 1 32; do
		out=$("$top_builddir/mayfly-issue-load" "$2" "$3" "$4" "$work/csr.der" "$c" "$secs")
		rate=$(echo "$out" | sed 's/.*rate=//')
		echo "$1: $out ratio_to_core_bound=$(awk -v r="$rate" -v b="$bound" 'BEGIN { printf "%.2f", r / b }')" \
			"ratio_to_machine_bound=$(awk -v r="$rate" -v b="$mbound" 'BEGIN { printf "%.2f", r / b }')"
	done
	after=$(sqlite3 "$5" 'SELECT count(*) FROM certificates')
	echo "$1: certificates in the log: $((after - before)) new (every one committed before its response)"
}

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
	-subj /CN=bench.acme.test -addext subjectAltName=DNS:bench.acme.test -outform DER \
	-out "$work/csr.der" 2>/dev/null

# ---- mayflyd ---------------------------------------------------------------------------
# The listeners bind port 0 and log the ports they got (bound_port), so
# nothing can take them between a choice and the bind. The 8080 of init
# only names the URLs in the certificates, which the bench never fetches.
d=$work/mfd
"$top_builddir/mayfly" init --dir "$d" --keys "${KEYS:-file}" --port 8080 --dns .acme.test \
	--dns localhost >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/' "$d/mayfly.yaml"
grep -q '"127.0.0.1:0"' "$d/mayfly.yaml" || { echo "no listen address to set to port 0" >&2; exit 1; }
printf 'bench-token-0123456789\n' > "$d/api.token"
chmod 600 "$d/api.token"
cat >> "$d/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  threads: ${THREADS:-64}
  per-ip-connections: ${THREADS:-64}
EOT
"$top_builddir/mayflyd" -c "$d/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
P=$(bound_port)
AP=$(bound_port acme)
[ -n "$P" ] && [ -n "$AP" ] || fail "no listening ports in the log"
load "mayflyd (${KEYS:-file} keys)" "https://127.0.0.1:$AP/v1/sign" "$d/certs/root-a.pem" "$d/api.token" "$d/mayfly.db"
if curl -s --max-time 5 "http://127.0.0.1:$P/metrics" > "$work/metrics" 2>/dev/null; then
	grep -E '^mayflyd_issue_batch' "$work/metrics" | sed 's/^/mayflyd: /' || true
fi
kill "$dpid"
wait "$dpid" 2>/dev/null || true
dpid=

[ "${NO_STANDALONE:-0}" = 1 ] && exit 0

# ---- the standalone listener, for comparison -----------------------------------------------
EXTRA_ACME="  api-token-file: api.token
  threads: ${THREADS:-64}
  per-ip-connections: ${THREADS:-64}" sh "$top_srcdir/tests/acme/mkca.sh" "$work/ca" >/dev/null
printf 'bench-token-0123456789\n' > "$work/ca/api.token"
chmod 600 "$work/ca/api.token"
"$top_builddir/mayfly-acme-server" -c "$work/ca/mayfly.yaml" -r "$work/port" 2>"$work/server.log" &
dpid=$!
i=0
while [ ! -s "$work/port" ]; do i=$((i + 1)); [ $i -le 100 ] || exit 1; sleep 0.1; done
load standalone "https://127.0.0.1:$(cat "$work/port")/v1/sign" "$work/ca/certs/root-a.pem" \
	"$work/ca/api.token" "$work/ca/mayfly.db"
