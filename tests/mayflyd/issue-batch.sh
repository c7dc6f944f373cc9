#!/bin/sh
# issue-batch.sh: group commit and pre-signed OCSP through mayflyd's signer,
# end to end on 127.0.0.1 with the real daemon, curl and openssl.
#
# The daemon runs with the test-only fault hook MAYFLY_FAULT=signer-batch:
# each batch that finds the file $MAYFLY_FAULT_FILE takes its first word,
# "hold" (the signer waits for $MAYFLY_FAULT_FILE.go, so the requests sent
# meanwhile queue up in the network process, which /metrics shows, and go
# as one batch) or "die" (the signer is killed after logging a batch,
# before its commit). A hold is released only by the .go file this test
# writes: one that waits 20 s for it is an error in the signer (the batch
# fails, event=fault-hold-expired), never a silent release, and the test
# fails on it. Checked:
#  (a) 16 concurrent POST /v1/sign: 16 distinct certificates that verify,
#      all in the log, and the daemon batched them (metrics and the
#      signer's event=issued-batch line);
#  (b) a batch with one CSR the signer refuses (its policy, narrowed by a
#      reload, no longer allows the name; the listener's still does): only
#      that one is refused and not logged, the others are issued;
#  (c) the first OCSP request for a new certificate answers good from the
#      cache: no miss, no signing on request (the response came with the
#      certificate), and the response is persisted like refreshed ones;
#  (d) the signer killed between logging a batch and committing it: those
#      clients get errors and no certificate, none of their names is in the
#      log, the daemon starts a new signer and the next request works.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in openssl sqlite3 python3 curl; do
	command -v $t >/dev/null 2>&1 || { echo "issue-batch.sh: $t is not installed" >&2; exit 1; }
done
if ! grep -q 'define MF_FAULT_INJECTION 1' "$top_builddir/mf_build.h"; then
	echo "issue-batch.sh: built without fault injection, skipped"
	exit 77
fi

LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"
mfdt_tempdir issue-batch

# The listeners bind port 0 and log the ports they got (bound_port).
ca=$work/ca
mfdt_init_ca "$ca" --dns .acme.test --dns localhost
token=tok-$(openssl rand -hex 16)
printf '%s\n' "$token" > "$ca/api.token"
chmod 600 "$ca/api.token"
cat >> "$ca/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  threads: 32
  per-ip-connections: 32
EOT
root=$ca/certs/root-a.pem
ica=$ca/certs/issuing-1.pem
fault=$work/fault
db=$ca/mayfly.db

MAYFLY_FAULT=signer-batch MAYFLY_FAULT_FILE=$fault "$top_builddir/mayflyd" -c "$ca/mayfly.yaml" \
	>"$work/d.log" 2>&1 &
dpid=$!
P=$(bound_port)
AP=$(bound_port acme)
[ -n "$P" ] && [ -n "$AP" ] || fail "no listening ports in the log"
wait_log "event=presigned"
ok "mayflyd: OCSP on $P, ACME on $AP"

count() { sqlite3 "$db" "SELECT count(*) FROM certificates $1"; }
metric() { curl -sS --max-time 10 "http://127.0.0.1:$P/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# csr NAME: a fresh P-256 key and a CSR for NAME in $work/NAME.csr
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -out "$work/$1.csr" 2>/dev/null
}
# sign NAME: POST /v1/sign; the answer in $work/NAME.pem, the HTTP code in $work/NAME.code
sign() {
	curl -sS --max-time 30 --cacert "$root" -H "Authorization: Bearer $token" \
		-H "Content-Type: application/pkcs10" --data-binary @"$work/$1.csr" \
		-o "$work/$1.pem" -w '%{http_code}' "https://127.0.0.1:$AP/v1/sign" \
		> "$work/$1.code" 2>/dev/null || true
}
# serial FILE: the certificate's serial, lower-case hex as the log keeps it
serial() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f'; }
logged() {
	s=$1
	sqlite3 "$db" "SELECT count(*) FROM certificates WHERE serial = '$s' OR serial = '00$s' OR '00' || serial = '$s'"
}
# batch WARMUP NAME...: a warm-up request that the signer holds, then
# NAME..., all in flight at once; once they all wait in the queue, the
# signer goes on and they go as one batch. Each is sent only once the one
# before is queued: the listener's worker threads each serve their own
# connections, and a worker waiting for the signer cannot take a new one,
# so every request gets a worker of its own (32) instead of waiting behind
# another on a busy one.
batch() {
	w=$1
	shift
	sign "$w" &
	wpid=$!
	wait_until 15 "the signer did not take the hold" hold_taken
	pids=
	k=0
	for n in "$@"; do
		sign "$n" &
		pids="$pids $!"
		k=$((k + 1))
		wait_until 15 "$n did not queue up" queued $k
	done
	touch "$fault.go"
	wait $wpid $pids || true
	! grep -q "event=fault-hold-expired" "$work/d.log" ||
		fail "the signer's hold expired before the test released it"
}
hold_taken() { [ ! -e "$fault" ] || [ "$(head -c 4 "$fault" 2>/dev/null)" != hold ]; }
queued() { [ "$(metric mayflyd_issue_queued)" = "$1" ]; }

# ---- (a) 16 concurrent requests, one batch ----------------------------------------------------
names=
for i in $(seq 1 16); do
	csr "a$i.acme.test"
	names="$names a$i.acme.test"
done
csr warm-a.acme.test
b0=$(metric mayflyd_issue_batches_total)
echo hold > "$fault"
batch warm-a.acme.test $names
[ "$(cat "$work/warm-a.acme.test.code")" = 200 ] || fail "warm-up request answered $(cat "$work/warm-a.acme.test.code")"
: > "$work/serials"
for n in $names; do
	[ "$(cat "$work/$n.code")" = 200 ] || fail "$n: /v1/sign answered $(cat "$work/$n.code")"
	openssl verify -CAfile "$root" -untrusted "$ica" "$work/$n.pem" >/dev/null 2>&1 ||
		fail "$n: certificate does not verify"
	openssl x509 -in "$work/$n.pem" -noout -ext subjectAltName | grep -q "DNS:$n" ||
		fail "$n: certificate is not for $n"
	s=$(serial "$work/$n.pem")
	[ "$(logged "$s")" = 1 ] || fail "$n: serial $s not in the log"
	echo "$s" >> "$work/serials"
done
[ "$(sort -u "$work/serials" | wc -l)" = 16 ] || fail "serials are not distinct"
b1=$(metric mayflyd_issue_batches_total)
max=$(metric mayflyd_issue_batch_max)
# 17 requests: the held warm-up alone, then the 16 queued behind it.
[ "$max" = 16 ] || fail "largest batch $max: the requests were not combined"
[ $((b1 - b0)) = 2 ] || fail "17 requests took $((b1 - b0)) batches"
grep -q "event=issued-batch n=16 issued=16 refused=0" "$work/d.log" ||
	fail "the signer logged no batch of 16"
ok "16 concurrent requests: 16 certificates, $((b1 - b0)) batches, largest $max"

# ---- (c) the first OCSP response came with the certificate ----------------------------------
n=a7.acme.test
h0=$(metric mayflyd_ocsp_cache_hits_total)
m0=$(metric mayflyd_ocsp_cache_misses_total)
c0=$(metric mayflyd_ocsp_sign_seconds_count)
pre=$(metric mayflyd_ocsp_presigned_total)
[ "$pre" -ge 17 ] || fail "only $pre responses pre-signed for 17 new certificates"
openssl ocsp -issuer "$ica" -cert "$work/$n.pem" -url "http://127.0.0.1:$P/ocsp" -no_nonce \
	-CAfile "$root" -timeout 10 >"$work/ocsp.out" 2>&1 || fail_file "$work/ocsp.out" "openssl ocsp"
grep -q "Response verify OK" "$work/ocsp.out" || fail_file "$work/ocsp.out" "OCSP response does not verify"
grep -q "$n.pem: good" "$work/ocsp.out" || fail_file "$work/ocsp.out" "OCSP status is not good"
h1=$(metric mayflyd_ocsp_cache_hits_total)
m1=$(metric mayflyd_ocsp_cache_misses_total)
c1=$(metric mayflyd_ocsp_sign_seconds_count)
[ "$m1" = "$m0" ] || fail "the first OCSP request missed the cache ($m0 -> $m1)"
[ "$c1" = "$c0" ] || fail "the first OCSP request was signed on request ($c0 -> $c1)"
[ "$h1" = $((h0 + 1)) ] || fail "the first OCSP request was not a cache hit ($h0 -> $h1)"
s=$(serial "$work/$n.pem" | sed 's/^0*//')
persisted() { [ "$(sqlite3 "$db" "SELECT count(*) FROM ocsp_responses WHERE serial = '$s' AND status = 0")" = 1 ]; }
wait_until 30 "the pre-signed response was not persisted" persisted
ok "first OCSP request for $n: good, a cache hit, persisted"

# ---- (b) one CSR in the batch the signer refuses --------------------------------------------
# After SIGHUP the signer enforces the narrowed profile; the listener keeps
# the one it started with, so the CSR for bad.acme.test reaches the signer.
sed 's/dns: \[".acme.test", "localhost"\]/dns: [".ok.acme.test", "localhost"]/' \
	"$ca/mayfly.yaml" > "$ca/mayfly.yaml.new"
grep -q '".ok.acme.test"' "$ca/mayfly.yaml.new" || fail "could not narrow the profile"
mv "$ca/mayfly.yaml.new" "$ca/mayfly.yaml"
kill -HUP "$dpid"
wait_log "event=reloaded"
names=
for i in 1 2 3 4 5 6 7; do
	csr "b$i.ok.acme.test"
	names="$names b$i.ok.acme.test"
done
csr bad.acme.test
csr warm-b.ok.acme.test
echo hold > "$fault"
batch warm-b.ok.acme.test b1.ok.acme.test b2.ok.acme.test b3.ok.acme.test bad.acme.test \
	b4.ok.acme.test b5.ok.acme.test b6.ok.acme.test b7.ok.acme.test
code=$(cat "$work/bad.acme.test.code")
[ "$code" = 400 ] || [ "$code" = 403 ] || fail "bad.acme.test answered $code"
grep -q "bad.acme.test" "$work/bad.acme.test.pem" || fail "the refusal does not name the CSR's name"
[ "$(count "WHERE sans LIKE '%bad.acme.test%'")" = 0 ] || fail "the refused CSR was logged"
for n in $names; do
	[ "$(cat "$work/$n.code")" = 200 ] || fail "$n: /v1/sign answered $(cat "$work/$n.code")"
	openssl verify -CAfile "$root" -untrusted "$ica" "$work/$n.pem" >/dev/null 2>&1 ||
		fail "$n: certificate does not verify"
	[ "$(logged "$(serial "$work/$n.pem")")" = 1 ] || fail "$n: not in the log"
done
grep -q 'event=issue-refused requester=api:token profile=server err=name-not-allowed' "$work/d.log" ||
	fail "the refusal did not come from the signer"
grep -q "event=issued-batch n=8 issued=7 refused=1 " "$work/d.log" ||
	fail "no batch of 8 with 7 issued and 1 refused"
ok "a refused CSR in a batch: refused alone ($code), 7 issued with it"

grep -q "serverInternal" "$work/d.log" && fail "serverInternal in the log"

# ---- (d) the signer dies between logging a batch and its commit --------------------------------
# The listener answers these with 503 (serverInternal, "signer process is
# gone", Retry-After): the request was fine, the CA could not sign just then.
names=
for i in 1 2 3 4 5 6; do
	csr "d$i.ok.acme.test"
	names="$names d$i.ok.acme.test"
done
csr warm-d.ok.acme.test
csr after.ok.acme.test
r0=$(grep -c "event=signer-restarted" "$work/d.log" || true)
echo "hold die" > "$fault"
batch warm-d.ok.acme.test $names
[ "$(cat "$work/warm-d.ok.acme.test.code")" = 200 ] || fail "warm-up answered $(cat "$work/warm-d.ok.acme.test.code")"
[ ! -e "$fault" ] || fail "the signer did not die"
for n in $names; do
	code=$(cat "$work/$n.code")
	[ "$code" = 503 ] || fail "$n: answered $code although its batch died (want 503)"
	! grep -q "BEGIN CERTIFICATE" "$work/$n.pem" || fail "$n: a certificate came with the error"
	[ "$(count "WHERE sans LIKE '%$n%'")" = 0 ] || fail "$n: logged, but its batch died"
done
grep -q "event=issued-batch n=6 " "$work/d.log" && fail "the batch of 6 was answered"
restarted() { [ "$(grep -c "event=signer-restarted" "$work/d.log" || true)" -gt "$r0" ]; }
wait_until 30 "mayflyd did not start a new signer" restarted
sign after.ok.acme.test
[ "$(cat "$work/after.ok.acme.test.code")" = 200 ] || fail "after the restart: /v1/sign answered $(cat "$work/after.ok.acme.test.code")"
[ "$(logged "$(serial "$work/after.ok.acme.test.pem")")" = 1 ] || fail "after the restart: not logged"
ok "signer killed before the commit: all 6 refused ($code), none logged; a new signer issues"

# ---- (e) a batch held longer than the health check waits for the signer ------------------------
# The health check waits 10 s for the signer's channel. A batch that takes
# longer (a slow token) used to be taken for a dead signer, which was then
# respawned under it. Hold one batch for 12 s: /health stays 200 and the
# signer is neither declared gone nor restarted.
csr slow.ok.acme.test
u0=$(grep -c "event=signer-unhealthy" "$work/d.log" || true)
echo hold > "$fault"
sign slow.ok.acme.test &
spid=$!
wait_until 15 "the signer did not take the hold" hold_taken
end=$(($(date +%s) + 12))
while [ "$(date +%s)" -lt "$end" ]; do
	st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P/health" || true)
	[ "$st" = 200 ] || { touch "$fault.go"; fail "/health answered $st while a batch was held"; }
	sleep 1
done
touch "$fault.go"
wait $spid || true
[ "$(cat "$work/slow.ok.acme.test.code")" = 200 ] || fail "the held request answered $(cat "$work/slow.ok.acme.test.code")"
[ "$(grep -c "event=signer-unhealthy" "$work/d.log" || true)" = "$u0" ] ||
	fail "a busy signer was taken for a dead one"
ok "a batch held 12 s: /health stayed 200, the signer was not respawned, the request was issued"

kill "$dpid"
wait "$dpid" || fail "mayflyd did not exit 0 on SIGTERM"
dpid=
ok "mayflyd stopped cleanly"
