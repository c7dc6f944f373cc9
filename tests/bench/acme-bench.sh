#!/bin/sh
# acme-bench.sh: the full ACME issuance flow against mayflyd (newOrder,
# authorization, http-01 answered by the load generator's own responder,
# challenge, polls, finalize with a fresh P-256 CSR, download) at
# concurrency 1, 8 and 32, with the server's CPU time per issuance, and the
# /v1/sign rate of the same mayflyd as the reference: the gap between the
# two is what the ACME layer costs.
#
# The CA comes from `mayfly init --keys file`; rate limits are off
# (orders-per-hour: 0, certs-per-name-per-hour: 0), as a fleet operator who
# sizes them for the fleet would set them high. Every certificate is still
# committed to the log before it is returned.
#
#   sh tests/bench/acme-bench.sh [SECONDS]     (from the build directory)
set -eu
secs=${1:-10}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-acme-bench.XXXXXX")
dpid=
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

# fail, wait_log, bound_port, hold_port (mayflyd logs to $work/d.log, its pid is $dpid).
. "$top_srcdir/tests/mayflyd/lib.sh"

# CPU seconds (user + system) of mayflyd and its signer so far.
cpu_of() {
	t=0
	for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}

echo "== machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
# The load generator's http-01 responder binds HP in each run; mayflyd must
# know it first, so hold_port keeps it for the whole bench.
hold_port HP
d=$work/ca
# mayflyd's listeners bind port 0 and log the ports they got (bound_port),
# so nothing can take them between a choice and the bind. The 8080 of init
# only names the URLs in the certificates, which the bench never fetches.
"$top_builddir/mayfly" init --dir "$d" --keys "${KEYS:-file}" --port 8080 --dns .bench.test \
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
  challenges: [http-01]
  orders-per-hour: 0
  certs-per-name-per-hour: 0
  test-resolve: [.bench.test]
  test-http01-port: $HP
  per-ip-connections: 64
  accounts-per-ip-per-hour: 0
EOT
# With MAYFLY_TEST_ON_PG=1 (ONPG_TESTS=tests/bench/acme-bench.sh tests/pg/on-pg.sh)
# the log moves to PostgreSQL; dbq counts on whichever it is.
. "$top_srcdir/tests/pg/onpg.sh"
onpg_setup "$d/mayfly.yaml" acmebench || fail "cannot move the log to PostgreSQL"
echo "== log: $ONPG_BACKEND"
"$top_builddir/mayflyd" -c "$d/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
P=$(bound_port)
AP=$(bound_port acme)
[ -n "$P" ] && [ -n "$AP" ] || fail "no listening ports in the log"
base="https://127.0.0.1:$AP"
root="$d/certs/root-a.pem"

for c in ${CONC:-1 8 32}; do
	n0=$(dbq 'SELECT count(*) FROM certificates')
	c0=$(cpu_of "$dpid")
	out=$("$top_builddir/mayfly-acme-bench" "$base" "$root" "$HP" "$c" "$secs")
	c1=$(cpu_of "$dpid")
	n1=$(dbq 'SELECT count(*) FROM certificates')
	ms=$(awk -v a="$c0" -v b="$c1" -v n=$((n1 - n0)) 'BEGIN { printf "%.2f", n ? (b - a) * 1000 / n : 0 }')
	echo "acme full flow: $out server_cpu_ms_per_issuance=$ms logged=$((n1 - n0))"
done

# Whether finalizes shared group commits: the batch counters before the
# /v1/sign reference adds its own.
if curl -s --max-time 5 "http://127.0.0.1:$P/metrics" > "$work/metrics" 2>/dev/null; then
	grep -E '^mayflyd_issue_batch' "$work/metrics" | sed 's/^/mayflyd after the ACME runs: /' || true
fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
	-subj /CN=api.bench.test -addext subjectAltName=DNS:api.bench.test -outform DER \
	-out "$work/csr.der" 2>/dev/null
for c in ${CONC:-1 8 32}; do
	out=$("$top_builddir/mayfly-issue-load" "$base/v1/sign" "$root" "$d/api.token" \
		"$work/csr.der" "$c" "$secs")
	echo "reference /v1/sign: threads=$c $out"
done
if curl -s --max-time 5 "http://127.0.0.1:$P/metrics" > "$work/metrics" 2>/dev/null; then
	grep -E '^mayflyd_issue_batch' "$work/metrics" | sed 's/^/mayflyd at the end: /' || true
fi
echo "reference figures from the issue (same machine kind, Python client):"
echo "  step-ca 0.19: c1 48-56/s, c8 120-132/s; Pebble 2.4: c1 40-49/s, c8 69/s"
