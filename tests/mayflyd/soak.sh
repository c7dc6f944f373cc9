#!/bin/sh
# soak.sh [SECONDS]: mayflyd under mixed load for SECONDS (default 60; `make
# bench-soak` runs 600), watched for leaks.
#
# tests/mayflyd/soak.py drives it: OCSP GET and POST reads, issuance through
# POST /v1/sign with a 15 s certificate lifetime (so certificates keep
# expiring), a revocation through POST /admin/revoke about once a second,
# and `mayfly db prune --expired-before 1s` every 10 s while the rest goes
# on. It samples the RSS and open descriptors of the network and the
# signer process every SAMPLE seconds (default 3, 10 from 300 s on), and
# the OCSP responses the network process holds (its /metrics).
#
# Fails on any error (an unexpected HTTP status, an OCSP answer that is not
# good or revoked, a failed prune, a process gone) or an upward trend: after
# a warm-up (WARMUP, default a sixth of the run and at least 20 s, by which
# the live certificates have reached their steady number), the mean of the
# last third of the samples against the mean of the first third, beyond
# max(5 %, 2048 kB) for RSS and 4 for descriptors. Ends with `mayfly audit
# verify` on the log, which has been pruned meanwhile.
#
# The figures depend on the machine's load (the load generator shares its
# cores with mayflyd).
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in openssl python3; do
	command -v $t >/dev/null 2>&1 || { echo "soak.sh: $t is not installed" >&2; exit 1; }
done
python3 -c 'import cryptography' 2>/dev/null || { echo "soak.sh: python3-cryptography is not installed" >&2; exit 1; }

SECONDS_RUN=${1:-60}
if [ "$SECONDS_RUN" -ge 300 ]; then SAMPLE=${SAMPLE:-10}; else SAMPLE=${SAMPLE:-3}; fi
WARMUP=${WARMUP:-$((SECONDS_RUN / 6 > 20 ? SECONDS_RUN / 6 : 20))}

LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"
mfdt_tempdir soak

ca=$work/ca
mfdt_init_ca "$ca" --dns .acme.test --dns localhost
# The server profile (the first) issues 15 s certificates by default.
sed -i '0,/^    default-lifetime: 24h$/s//    default-lifetime: 15s/' "$ca/mayfly.yaml"
grep -q '"127.0.0.1:0"' "$ca/mayfly.yaml" && grep -q '^    default-lifetime: 15s$' "$ca/mayfly.yaml" &&
	grep -q '^  admin-token-file: admin.token$' "$ca/mayfly.yaml" ||
	{ echo "FAIL: cannot adapt the generated mayfly.yaml" >&2; exit 1; }
# `mayfly init` made admin.token (POST /admin/revoke); the API token of /v1/sign:
printf 'tok-%s\n' "$(openssl rand -hex 16)" > "$ca/api.token"
chmod 600 "$ca/api.token"
root=$ca/certs/root-a.pem
ica=$ca/certs/issuing-1.pem

# Two certificates of 2 h from the CLI: the one the OCSP reads ask about, and
# the ACME listener's own (its self-issued one would take the profile's 15 s).
for n in leaf listener; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/$n.key" \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-out "$work/$n.csr" 2>/dev/null
	"$top_builddir/mayfly" -c "$ca/mayfly.yaml" issue --csr "$work/$n.csr" --lifetime 2h \
		--out "$work/$n.pem" >"$work/issue.log" 2>&1 || { cat "$work/issue.log" >&2; exit 1; }
done
cat "$work/listener.pem" "$ica" > "$work/listener-chain.pem"
cat >> "$ca/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  tls-cert: $work/listener-chain.pem
  tls-key: $work/listener.key
EOT

"$top_builddir/mayflyd" -c "$ca/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
P=$(bound_port)
AP=$(bound_port acme)
wait_log "event=presigned"
spid=$(pgrep -P "$dpid" mayflyd || true)
[ -n "$spid" ] || fail "no signer process under mayflyd"
ok "mayflyd: OCSP on $P, ACME on $AP, network pid $dpid, signer pid $spid; $SECONDS_RUN s, samples every $SAMPLE s, warm-up $WARMUP s"

rc=0
python3 "$top_srcdir/tests/mayflyd/soak.py" --seconds "$SECONDS_RUN" --sample "$SAMPLE" \
	--warmup "$WARMUP" --ocsp-port "$P" --acme-port "$AP" --cafile "$root" --issuer "$ica" \
	--leaf "$work/leaf.pem" --token "$ca/api.token" --admin-token "$ca/admin.token" \
	--mayfly "$top_builddir/mayfly" --config "$ca/mayfly.yaml" --net-pid "$dpid" \
	--signer-pid "$spid" --out "$work/soak.json" 2>"$work/soak.err" || rc=$?
[ -s "$work/soak.json" ] || fail_file "$work/soak.err" "the soak driver wrote no report"
kill -0 "$dpid" 2>/dev/null || fail "mayflyd exited during the soak"
kill "$dpid"
wait "$dpid" || fail "mayflyd did not stop cleanly"
dpid=

python3 - "$work/soak.json" <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))
print("counts: " + ", ".join("%s=%s" % kv for kv in sorted(r["counts"].items())))
print("%6s %10s %7s %11s %10s %7s" % ("t/s", "net_rss", "net_fd", "signer_rss", "signer_fd",
      "cached"))
for s in r["samples"]:
    print("%6.0f %10d %7d %11d %10d %7d" % (s["t"], s["net_rss"], s["net_fd"], s["signer_rss"],
          s["signer_fd"], s["cached"]))
for k, v in r["trend"].items():
    print("%-10s first third %.0f, last third %.0f (tolerance %.0f), min %d, max %d" % (
        k, v["first"], v["last"], v["tolerance"], v["min"], v["max"]))
for b in r["bad"]:
    print("FAIL: " + b)
EOP
[ "$rc" = 0 ] || fail "the soak found errors or an upward trend (above)"

"$top_builddir/mayfly" -c "$ca/mayfly.yaml" audit verify >"$work/audit.out" 2>&1 ||
	fail_file "$work/audit.out" "mayfly audit verify after the soak"
ok "audit verify: $(tail -1 "$work/audit.out")"
