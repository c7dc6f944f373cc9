#!/bin/sh
# retention.sh: mayflyd prunes its own log while it keeps issuing
# (daemon.retention, RETENTION in mayflyd(8)), and the OCSP responses of
# expired certificates leave its memory.
#
# Certificates live 10 s (issuance.backdate 0s), the daemon prunes those
# expired for more than 1 s every 2 s in batches of 50, and a bounded load
# (mayfly-issue-load: ISSUE_THREADS connections for ISSUE_SECONDS) issues
# through POST /v1/sign the whole time. The listener's own TLS certificate
# is issued beforehand by the CLI for an hour, so it outlives the test.
# Checked:
#  - the daemon pruned while the load ran, in several batches, and no
#    issuance failed;
#  - the log agrees with the metrics: as many pruned rows as
#    mayflyd_prune_rows_total, one "prune" audit row by mayflyd:retention
#    per batch, no failed run;
#  - once every certificate of the load has expired, the OCSP cache holds
#    no more responses than there are live certificates, and
#    mayflyd_ocsp_cache_expired_total counted the drops;
#  - `mayfly audit verify` passes afterwards (chain and certificate rows).
# Printed: issued/failed, rows pruned, batches, the longest time one batch
# held the write lock, the cache and the network process's RSS at the end
# of the load and after the expiry.
#
# With MAYFLY_TEST_ON_PG=1 (tests/pg/on-pg.sh, ONPG_TESTS=this file) the
# log is on PostgreSQL.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in openssl sqlite3 python3 curl; do
	command -v $t >/dev/null 2>&1 || { echo "retention.sh: $t is not installed" >&2; exit 1; }
done
[ -x "$top_builddir/mayfly-issue-load" ] || { echo "retention.sh: mayfly-issue-load is not built" >&2; exit 1; }
ISSUE_THREADS=${ISSUE_THREADS:-4}
ISSUE_SECONDS=${ISSUE_SECONDS:-20}
LIFE=10

LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"
mfdt_tempdir retention lpid

ca=$work/ca
mfdt_init_ca "$ca" --dns .acme.test --dns localhost
y=$ca/mayfly.yaml
sed -i -e 's/^  backdate: 5m$/  backdate: 0s/' \
	-e "0,/^    default-lifetime: 24h$/s//    default-lifetime: ${LIFE}s/" "$y"
grep -q '"127.0.0.1:0"' "$y" && grep -q '^  backdate: 0s$' "$y" &&
	grep -q "^    default-lifetime: ${LIFE}s$" "$y" || fail "could not edit mayfly.yaml"
token=tok-$(openssl rand -hex 16)
printf '%s\n' "$token" > "$ca/api.token"
chmod 600 "$ca/api.token"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ca/listener.key" \
	-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-out "$work/listener.csr" 2>/dev/null
"$top_builddir/mayfly" -c "$y" issue --csr "$work/listener.csr" --lifetime 1h \
	--out "$ca/listener.pem" >"$work/issue.log" 2>&1 || { cat "$work/issue.log" >&2; exit 1; }
# daemon: is the file's last section, so the retention block goes under it.
cat >> "$y" <<EOT
  retention:
    prune-expired-after: 1s
    prune-interval: 2s
    prune-batch: 50
acme:
  host: 127.0.0.1
  port: 0
  tls-cert: listener.pem
  tls-key: listener.key
  api-token-file: api.token
  threads: 16
  per-ip-connections: 16
EOT
. "$top_srcdir/tests/pg/onpg.sh"
onpg_setup "$y" retention || fail "cannot move the log to PostgreSQL"
root=$ca/certs/root-a.pem

"$top_builddir/mayflyd" -c "$y" >"$work/d.log" 2>&1 &
dpid=$!
P=$(bound_port)
AP=$(bound_port acme)
[ -n "$P" ] && [ -n "$AP" ] || fail "no listening ports in the log"
wait_log "event=presigned"
ok "mayflyd ($ONPG_BACKEND): OCSP on $P, ACME on $AP, certificates live ${LIFE}s"

metric() { curl -sS --max-time 10 "http://127.0.0.1:$P/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status"; }
[ "$(metric mayflyd_prune_enabled)" = 1 ] || fail "mayflyd_prune_enabled is not 1"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/load.key" \
	-subj "/CN=load.acme.test" -addext "subjectAltName=DNS:load.acme.test" \
	-out "$work/load.csr" 2>/dev/null
"$top_builddir/mayfly-issue-load" "https://127.0.0.1:$AP/v1/sign" "$root" "$ca/api.token" \
	"$work/load.csr" "$ISSUE_THREADS" "$ISSUE_SECONDS" >"$work/load.out" 2>&1 &
lpid=$!
wait "$lpid" || true
lpid=
cat "$work/load.out"
issued=$(sed -n 's/.* issued=\([0-9]*\) .*/\1/p' "$work/load.out")
failed=$(sed -n 's/.* failed=\([0-9]*\) .*/\1/p' "$work/load.out")
[ -n "$issued" ] && [ "$issued" -gt 0 ] || fail_file "$work/load.out" "the load issued nothing"
[ "$failed" = 0 ] || fail_file "$work/load.out" "$failed issuances failed while the daemon pruned"
during=$(metric mayflyd_prune_rows_total)
[ "$during" -gt 0 ] || fail "nothing was pruned during the ${ISSUE_SECONDS}s of load"
rss_load=$(rss)
cache_load=$(metric mayflyd_ocsp_cache_responses)
bytes_load=$(metric mayflyd_ocsp_cache_bytes)
ok "issued $issued, failed 0; $during rows pruned while issuing"

# Every certificate of the load has expired LIFE s after its end (the
# clock is what they wait for); then the cache sweep (every 5 s) and the
# prune (every 2 s) must catch up: no more responses held than live
# certificates (the listener's), no expired row unpruned.
load_end=$(date +%s)
all_expired() { [ "$(date +%s)" -gt $((load_end + LIFE + 1)) ]; }
wait_until $((LIFE + 5)) "the clock stood still" all_expired
live() { dbq "SELECT count(*) FROM certificates WHERE not_after >= $(date +%s)"; }
unpruned() { dbq "SELECT count(*) FROM certificates WHERE pruned_at IS NULL AND not_after < $(($(date +%s) - 1))"; }
settled() {
	[ "$(metric mayflyd_ocsp_cache_responses)" -le "$(live)" ] && [ "$(unpruned)" = 0 ]
}
wait_until 20 "expired responses stayed in the cache, or expired rows unpruned" settled
sleep 1	# a prune under way at the check finishes
rss_after=$(rss)
cache_after=$(metric mayflyd_ocsp_cache_responses)
bytes_after=$(metric mayflyd_ocsp_cache_bytes)
expired=$(metric mayflyd_ocsp_cache_expired_total)
[ "$expired" -gt 0 ] || fail "mayflyd_ocsp_cache_expired_total is $expired"
[ "$cache_after" -le "$(live)" ] || fail "$cache_after responses held for $(live) live certificates"
ok "OCSP cache: $cache_load responses ($bytes_load bytes) at the end of the load, $cache_after ($bytes_after bytes) after expiry; $expired dropped as expired; RSS ${rss_load} kB -> ${rss_after} kB"

rows=$(metric mayflyd_prune_rows_total)
batches=$(metric mayflyd_prune_batches_total)
errors=$(metric mayflyd_prune_errors_total)
hold=$(metric mayflyd_prune_batch_hold_seconds_max)
holdsum=$(metric mayflyd_prune_batch_hold_seconds_sum)
[ "$errors" = 0 ] || fail "$errors prune runs failed"
[ "$batches" -ge 3 ] || fail "only $batches prune batches"
grep -q "event=prune actor=mayflyd:retention rows=[1-9]" "$work/d.log" || fail "no event=prune line with rows"
kill "$dpid"
wait "$dpid" || fail "mayflyd did not exit 0 on SIGTERM"
dpid=
pruned=$(dbq "SELECT count(*) FROM certificates WHERE pruned_at IS NOT NULL")
audited=$(dbq "SELECT count(*) FROM audit_log WHERE event = 'prune' AND actor = 'mayflyd:retention'")
[ "$pruned" = "$rows" ] || fail "the log has $pruned pruned rows, the metric says $rows"
[ "$audited" = "$batches" ] || fail "$audited prune audit rows for $batches batches"
[ "$(dbq "SELECT count(*) FROM certificates WHERE pruned_at IS NOT NULL AND length(der) > 0")" = 0 ] ||
	fail "a pruned row kept its DER"
"$top_builddir/mayfly" -c "$y" audit verify >"$work/verify.out" 2>&1 ||
	fail_file "$work/verify.out" "mayfly audit verify failed after the prune"
ok "pruned $rows rows in $batches batches (one audit row each), audit verify passes"
echo "RESULT backend=$ONPG_BACKEND issued=$issued failed=$failed pruned=$rows batches=$batches pruned_during_load=$during max_hold_s=$hold hold_sum_s=$holdsum cache_expired=$expired cache_load=$cache_load cache_after=$cache_after cache_bytes_load=$bytes_load cache_bytes_after=$bytes_after rss_load_kb=$rss_load rss_after_kb=$rss_after"
