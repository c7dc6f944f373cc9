#!/bin/bash
# revocation-latency.sh: how long a revocation takes to show in OCSP (the
# promise: within one second), measured twice, side by side:
#  - inside mayflyd: mayflyd_revocation_visible_seconds on /metrics, from the
#    admin request (source="admin-api"), or for `mayfly revoke` from the
#    refresher's last look at the log that did not find it yet (source=
#    "poll", an upper bound); it stops when the revoked response is cached;
#  - from outside: from just before `mayfly revoke` or `curl POST
#    /admin/revoke` starts to the first `openssl ocsp` answer that says
#    revoked and verifies. That includes the CLI's own start and commit, the
#    HTTP round trips and the polling granularity (one openssl run, some ms).
# N certificates are revoked one at a time each way, one after the other.
# Not a test: run it from the build tree after `make check` (it needs
# ./mayflyd, ./mayfly and ./check_mayflyd):
#     bash tests/bench/revocation-latency.sh [N]     (N: 10, at most 100)
# Everything listens on 127.0.0.1 only; each wait is bounded (10 s).
set -eu

build=${BUILDDIR:-$(pwd)}
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
n=${1:-10}
case $n in '' | *[!0-9]*) echo "N must be a number" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 100 ] || { echo "N must be 1..100" >&2; exit 2; }
for b in "$build/mayflyd" "$build/mayfly" "$build/check_mayflyd"; do
	[ -x "$b" ] || { echo "missing $b: run from the build tree after make check" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-bench.XXXXXX")
mpid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null || true
	rm -rf "$tmp"
}
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

# The port goes into the certificates' AIA, so it is chosen before the
# start, and held until mayflyd binds it (tests/hold-port.py): nothing can
# take it in between.
( python3 "$srcdir/tests/hold-port.py" "$tmp/held-port" "$$" </dev/null >/dev/null 2>&1 & )
i=0
until [ -s "$tmp/held-port" ]; do
	i=$((i + 1)); [ $i -le 300 ] || { echo "could not hold a port" >&2; exit 1; }
	sleep 0.1
done
port=$(cat "$tmp/held-port")
rm -f "$tmp/held-port"
"$build/check_mayflyd" --setup "$tmp" "$port"
# Names the benchmark's certificates may carry.
cat >> "$tmp/mayfly.yaml" <<EOF
profiles:
  server:
    key-types: [ec-p256]
    dns: [localhost]
    eku: [server-auth]
    default-lifetime: 24h
    max-lifetime: 24h
EOF
"$build/mayflyd" -c "$tmp/mayfly.yaml" 2>"$tmp/mayflyd.log" &
mpid=$!
i=0
until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] && kill -0 "$mpid" 2>/dev/null || { tail -20 "$tmp/mayflyd.log" >&2; exit 1; }
	sleep 0.1
done
cd "$tmp"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ocsp CERT: the status line of one `openssl ocsp` request, if it verified.
ocsp() {
	openssl ocsp -no_nonce -issuer certs/issuing-1.pem -cert "$1" \
		-url "http://127.0.0.1:$port/ocsp" -CAfile certs/root-a.pem -timeout 5 2>&1 |
		awk -v c="$1:" '$1 == c { s = $2 } /Response verify OK/ { ok = 1 } END { if (ok) print s }'
}

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.key -out c.csr \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
serials=()
for i in $(seq 1 $((2 * n))); do
	out=$("$build/mayfly" -c mayfly.yaml issue --csr c.csr --out "c$i.pem" 2>&1)
	s=$(echo "$out" | sed -n 's/.*serial=\([0-9a-fA-F]*\).*/\1/p' | head -1)
	[ -n "$s" ] || { echo "mayfly issue: $out" >&2; exit 1; }
	serials[i]=$s
	[ "$(ocsp "c$i.pem")" = good ] || { echo "c$i.pem is not good in OCSP" >&2; exit 1; }
done

token=$(cat admin.token)
# revoke WAY I: revokes certificate i; prints the ms until OCSP said
# revoked, the ms the revoking command itself took, and how many probes.
revoke() {
	t0=$(now_ms)
	if [ "$1" = cli ]; then
		"$build/mayfly" -c mayfly.yaml revoke "${serials[$2]}" >/dev/null 2>&1
	else
		curl -sf -o /dev/null -H "Authorization: Bearer $token" \
			--data "serial=${serials[$2]}" "http://127.0.0.1:$port/admin/revoke"
	fi
	t1=$(now_ms)
	k=1
	until [ "$(ocsp "c$2.pem")" = revoked ]; do
		[ $(($(now_ms) - t0)) -lt 10000 ] || { echo "c$2.pem: not revoked after 10 s" >&2; exit 1; }
		k=$((k + 1))
	done
	echo "$(($(now_ms) - t0)) $((t1 - t0)) $k"
}

# summary WHAT < lines of revoke(): min, median, max of the first column.
summary() {
	sort -n | awk -v w="$1" '{ v[NR] = $1; s += $1; c += $2; p += $3 }
	    END { printf "%-9s external: n=%d min=%d median=%d max=%d mean=%.0f ms " \
	        "(of which the command %.0f ms, %.1f probes per revocation)\n",
	        w, NR, v[1], v[int((NR + 1) / 2)], v[NR], s / NR, c / NR, p / NR }'
}

echo "== $n revocations each way, one at a time (mayflyd on 127.0.0.1:$port)"
for i in $(seq 1 "$n"); do revoke cli "$i"; done > cli.ms
for i in $(seq $((n + 1)) $((2 * n))); do revoke admin "$i"; done > admin.ms
summary cli < cli.ms
summary admin-api < admin.ms
# What one probe costs on this machine now: the external figures cannot be
# finer than that (mostly openssl's own start-up).
for i in 1 2 3 4 5; do
	t0=$(now_ms); ocsp c1.pem >/dev/null; echo $(($(now_ms) - t0))
done | sort -n | awk '{ v[NR] = $1 } END { printf "one openssl ocsp probe: median %d ms\n", v[3] }'

echo "== inside mayflyd (/metrics)"
curl -sf "http://127.0.0.1:$port/metrics" | grep '^mayflyd_revocation_visible_seconds' |
	grep -v '_bucket' || true
curl -sf "http://127.0.0.1:$port/metrics" | awk '
	/^mayflyd_revocation_visible_seconds_(sum|count)/ {
		split($1, a, "source=\""); split(a[2], b, "\""); k = b[1]
		if ($1 ~ /_sum/) sum[k] = $2; else cnt[k] = $2
	}
	END { for (k in cnt) if (cnt[k] > 0)
		printf "%-9s inside:   n=%d mean=%.0f ms\n", k, cnt[k], 1000 * sum[k] / cnt[k] }'
