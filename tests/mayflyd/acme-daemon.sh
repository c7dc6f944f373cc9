#!/bin/sh
# acme-daemon.sh: mayflyd with its ACME/EST listener, end to end on 127.0.0.1.
#
# `mayfly init --keys file` (or softhsm), an acme: section added to the generated
# mayfly.yaml, then the real daemon: certbot (standalone) gets a certificate
# from mayflyd's ACME directory, it verifies against root-a, and mayflyd's
# own OCSP responder says good for it; EST cacerts hands out issuing-1 and
# both roots; a bearer-token POST /v1/sign and an
# EST simpleenroll (HTTP basic) through the same listener give certificates
# that verify too. EST simplereenroll over mutual TLS with that certificate
# gets a new one for the same name; it is refused for a name the client
# certificate does not hold, without a client certificate, with a
# self-signed one, and once the client certificate is revoked with `mayfly
# revoke` while mayflyd runs (whose OCSP responder then says revoked); the
# re-enrolled certificate re-enrols in turn. A forward-dated ACME order
# (newOrder notBefore/notAfter within issuance.forward-horizon, through
# certbot's ACME library) gets exactly those dates from the signer; one
# beyond the horizon is refused as malformed.
# Every issuance is an ISSUE request to the signer
# process: the test checks that each certificate is in the issuance log
# with the requester the listener named, and that the signer refuses a CSR
# the policy refuses (a name outside the profile), with the error the
# client sees.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in certbot openssl sqlite3 python3 curl; do
	command -v $t >/dev/null 2>&1 || { echo "acme-daemon.sh: $t is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-acme-daemon.XXXXXX")
dpid=
cleanup() {
	if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

. "$top_srcdir/tests/mayflyd/lib.sh"

# mayflyd's listeners bind port 0 and log the ports they got (bound_port);
# the port in the URLs `mayfly init` writes is only a name here (the tests
# give openssl ocsp the URL). certbot binds H01 itself, which mayflyd must
# know first: hold_port keeps it for this test.
hold_port H01
ca=$work/ca
# MAYFLY_KEYS=softhsm (acme-daemon-softhsm.sh): the CA keys in a real SoftHSM2
# token of its own, so the signer's ISSUE signs through PKCS#11.
"$top_builddir/mayfly" init --dir "$ca" --keys "${MAYFLY_KEYS:-file}" --port 8080 --dns .acme.test \
	--dns localhost >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
# MAYFLY_TEST_ON_PG=1 (tests/pg/on-pg.sh): the log moves to PostgreSQL now.
. "$top_srcdir/tests/pg/onpg.sh"
onpg_setup "$ca/mayfly.yaml" daemon || { echo "FAIL: cannot move the log to PostgreSQL" >&2; exit 1; }
sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/' "$ca/mayfly.yaml"
# Forward-dated certificates (ACME newOrder notBefore) up to 3 hours ahead.
sed -i 's/^  backdate: 5m$/&\n  forward-horizon: 3h/' "$ca/mayfly.yaml"
grep -q '^  forward-horizon: 3h$' "$ca/mayfly.yaml" || { echo "FAIL: cannot set forward-horizon" >&2; exit 1; }
grep -q '"127.0.0.1:0"' "$ca/mayfly.yaml" || { echo "FAIL: no listen address to set to port 0" >&2; exit 1; }
token=tok-$(openssl rand -hex 16)
printf '%s\n' "$token" > "$ca/api.token"
printf 'pw-%s\n' "$(openssl rand -hex 8)" > "$ca/est.password"
chmod 600 "$ca/api.token" "$ca/est.password"
estpw=$(cat "$ca/est.password")
cat >> "$ca/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  est:
    user: fleet
    password-file: est.password
  test-resolve: [.acme.test]
  test-http01-port: $H01
  per-ip-connections: 32
EOT
root=$ca/certs/root-a.pem
ica=$ca/certs/issuing-1.pem

"$top_builddir/mayflyd" -c "$ca/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
AP=$(bound_port acme)
P=$(bound_port)
[ "$AP" -gt 0 ] && [ "$P" -gt 0 ] && [ "$AP" != "$P" ] || fail "listening on ports '$P' and '$AP'"
ok "mayflyd: OCSP on $P, ACME on $AP (both picked by the kernel)"

# The listener's own TLS certificate came from the signer (ISSUE).
n=$(dbq "SELECT count(*) FROM certificates WHERE requester = 'acme:listener'")
[ "$n" = 1 ] || fail "listener certificate not in the log ($n)"
# The keys live in the signer, a separate child process of mayflyd.
spid=$(pgrep -P "$dpid" mayflyd || true)
[ -n "$spid" ] || fail "no signer process under mayflyd"
if [ "${MAYFLY_KEYS:-file}" = softhsm ]; then
	# The PKCS#11 module is loaded by the signer only: the process serving
	# ACME and EST cannot hold a key handle.
	grep -q softhsm "/proc/$spid/maps" || fail "the signer has no PKCS#11 module loaded"
	! grep -q softhsm "/proc/$dpid/maps" || fail "the network process loaded the PKCS#11 module"
	ok "PKCS#11 module in the signer only"
fi
ok "listener certificate issued through the signer (pid $spid)"

# Clients that connect and say nothing (one thread each) hold up only
# themselves: the directory answers while all 16 are still open. Asserted
# by order, not by a stopwatch: the holder says when its 16 connections
# are up, the listener's side shows 16 established (ss), the directory
# answers, and the 16 are still established after (a listener that served
# the request only once it had dropped the idle ones would fail here).
estab() { ss -Htn state established "( sport = :$AP )" | wc -l; }
python3 - "$AP" "$work/idle.ready" "$work/idle.stop" <<'EOP' &
import os, socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5) for _ in range(16)]
open(sys.argv[2], "w").write("%d\n" % len(held))
end = time.monotonic() + 60
while not os.path.exists(sys.argv[3]) and time.monotonic() < end:
    time.sleep(0.05)
EOP
idle=$!
wait_until 30 "the 16 idle connections did not open" test -s "$work/idle.ready"
kill -0 "$idle" 2>/dev/null || fail "the holder of the idle connections exited"
wait_until 30 "the listener does not show 16 established connections ($(estab))" \
	test "$(estab)" -ge 16
t0=$(date +%s%N)
curl -sS --max-time 20 --cacert "$ca/certs/root-a.pem" -o /dev/null \
	"https://127.0.0.1:$AP/directory" || fail "the directory did not answer beside 16 idle connections"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
n=$(estab)
[ "$n" -ge 16 ] || fail "the directory answered only once idle connections were dropped ($n left)"
touch "$work/idle.stop"
wait "$idle" || fail "the holder of the idle connections failed"
ok "16 idle connections, all open throughout, do not hold up a request ($ms ms)"

# Checks a PEM certificate: verifies to root-a, in the log with requester $2; prints the serial.
check_cert() {
	openssl verify -CAfile "$root" -untrusted "$ica" "$1" >/dev/null || fail "$1: openssl verify"
	serial=$(openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f')
	r=$(dbq "SELECT requester FROM certificates WHERE serial = '$serial' OR serial = '00$serial' OR '00' || serial = '$serial'")
	case "$r" in
	$2) ;;
	*) fail "$1: serial $serial logged with requester '$r', want $2" ;;
	esac
	echo "$serial"
}

# ---- certbot standalone against mayflyd's directory --------------------------------
REQUESTS_CA_BUNDLE=$root timeout 120 certbot --config-dir "$work/cb/etc" \
	--work-dir "$work/cb/work" --logs-dir "$work/cb/log" \
	--server "https://127.0.0.1:$AP/directory" --non-interactive certonly --agree-tos \
	--register-unsafely-without-email --standalone --http-01-port "$H01" \
	--http-01-address 127.0.0.1 -d www.acme.test -d api.acme.test --cert-name sa \
	>"$work/cb.out" 2>&1 || fail_file "$work/cb.out" "certbot certonly"
live=$work/cb/etc/live/sa
openssl verify -CAfile "$root" -untrusted "$live/chain.pem" "$live/cert.pem" >/dev/null ||
	fail "certbot certificate does not verify with its chain"
s1=$(check_cert "$live/cert.pem" 'acme:acct/*')
ok "certbot certonly: serial $s1"

openssl ocsp -issuer "$ica" -cert "$live/cert.pem" -url "http://127.0.0.1:$P/ocsp" \
	-CAfile "$root" -timeout 10 >"$work/ocsp.out" 2>&1 || fail_file "$work/ocsp.out" "openssl ocsp"
grep -q "Response verify OK" "$work/ocsp.out" || fail_file "$work/ocsp.out" "OCSP response does not verify"
grep -q "cert.pem: good" "$work/ocsp.out" || fail_file "$work/ocsp.out" "OCSP status is not good"
ok "mayflyd OCSP: good for $s1"

# ---- a forward-dated order (newOrder notBefore/notAfter) through the signer ---------
# certbot cannot ask for notBefore; its ACME library (python3-acme, with
# certbot's interpreter) can, with the two fields added to its NewOrder.
# The certificate must carry exactly the dates asked for; one beyond the
# horizon is refused as malformed and nothing is logged.
py=$(sed -n '1s/^#! *//p' "$(command -v certbot)")
[ -x "$py" ] || py=python3
nb=$(( $(date +%s) + 7200 )); na=$(( nb + 86400 ))
before=$(dbq "SELECT count(*) FROM certificates")
timeout 120 "$py" - "https://127.0.0.1:$AP/directory" "$root" "$H01" "$nb" "$na" \
	"$work/fwd.pem" >"$work/fwd.out" 2>&1 <<'EOP' || fail_file "$work/fwd.out" "forward-dated ACME order"
import datetime, http.server, sys, threading, time
from typing import Optional
import josepy as jose
from acme import challenges, client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

directory, cafile, h01, nb, na, out = sys.argv[1:7]
h01, nb, na = int(h01), int(nb), int(na)

def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

class DatedOrder(messages.NewOrder):
    not_before: Optional[str] = jose.field("notBefore", omitempty=True)
    not_after: Optional[str] = jose.field("notAfter", omitempty=True)

tokens = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = tokens.get(self.path.rsplit("/", 1)[-1])
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write((body or "no").encode())
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", h01), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()

key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=cafile)
acme = client.ClientV2(client.ClientV2.get_directory(directory, net), net)
acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
ident = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value="fwd.acme.test")]

# Beyond the 3h horizon: malformed, no order.
try:
    acme._post(acme.directory["newOrder"], DatedOrder(identifiers=ident,
        not_before=rfc3339(nb + 3 * 3600), not_after=rfc3339(na + 3 * 3600)))
    sys.exit("an order beyond the horizon was accepted")
except messages.Error as e:
    if e.typ != "urn:ietf:params:acme:error:malformed" or "forward-horizon" not in e.detail:
        sys.exit("beyond the horizon: %s" % e)

k = ec.generate_private_key(ec.SECP256R1())
csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
    x509.SubjectAlternativeName([x509.DNSName("fwd.acme.test")]), critical=False).sign(
    k, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

resp = acme._post(acme.directory["newOrder"], DatedOrder(identifiers=ident,
    not_before=rfc3339(nb), not_after=rfc3339(na)))
o = resp.json()
if o.get("notBefore") != rfc3339(nb) or o.get("notAfter") != rfc3339(na):
    sys.exit("the order does not return the dates: %s" % o)
body = messages.Order.from_json(o)
authzs = [acme._authzr_from_response(acme._post_as_get(u), uri=u) for u in body.authorizations]
orderr = messages.OrderResource(body=body, uri=resp.headers.get("Location"),
    authorizations=authzs, csr_pem=csr)
for a in authzs:
    for cb in a.body.challenges:
        if isinstance(cb.chall, challenges.HTTP01):
            r, validation = cb.response_and_validation(key)
            tokens[cb.chall.encode("token")] = validation
            acme.answer_challenge(cb, r)
deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
orderr = acme.poll_and_finalize(orderr, deadline)
open(out, "w").write(orderr.fullchain_pem)
EOP
openssl x509 -in "$work/fwd.pem" -noout -startdate -enddate >"$work/fwd.dates"
want_nb=$(TZ=UTC date -d "@$nb" '+%b %e %H:%M:%S %Y GMT')
want_na=$(TZ=UTC date -d "@$na" '+%b %e %H:%M:%S %Y GMT')
grep -qx "notBefore=$want_nb" "$work/fwd.dates" && grep -qx "notAfter=$want_na" "$work/fwd.dates" ||
	fail_file "$work/fwd.dates" "forward-dated certificate: want $want_nb to $want_na"
# Not valid yet: verified as of its notBefore; logged like any other.
openssl verify -attime "$nb" -CAfile "$root" -untrusted "$ica" "$work/fwd.pem" >/dev/null ||
	fail "forward-dated certificate: openssl verify -attime"
serial=$(openssl x509 -in "$work/fwd.pem" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f')
n=$(dbq "SELECT count(*) FROM certificates WHERE (serial = '$serial' OR
	serial = '00$serial') AND requester LIKE 'acme:acct/%' AND not_before = $nb AND not_after = $na")
[ "$n" = 1 ] || fail "forward-dated certificate $serial not logged with its dates"
after=$(dbq "SELECT count(*) FROM certificates")
[ "$after" = $((before + 1)) ] || fail "forward-dated orders logged $((after - before)) certificates, want 1"
ok "forward-dated ACME order through the signer: $want_nb to $want_na; beyond the horizon malformed"

# ---- POST /v1/sign with the bearer token ---------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k1.pem" \
	-subj /CN=dev1.acme.test -addext subjectAltName=DNS:dev1.acme.test -out "$work/r1.csr" 2>/dev/null
code=$(curl -sS --max-time 20 --cacert "$root" -H "Authorization: Bearer $token" \
	-H "Content-Type: application/pkcs10" --data-binary @"$work/r1.csr" \
	-o "$work/v1.pem" -w '%{http_code}' "https://127.0.0.1:$AP/v1/sign")
[ "$code" = 200 ] || fail "/v1/sign answered $code"
s2=$(check_cert "$work/v1.pem" 'api:*')
ok "/v1/sign: serial $s2"

# A name outside the profile: refused by the policy (the signer checks it too).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k2.pem" \
	-subj /CN=evil.example.com -addext subjectAltName=DNS:evil.example.com \
	-out "$work/r2.csr" 2>/dev/null
before=$(dbq "SELECT count(*) FROM certificates")
code=$(curl -sS --max-time 20 --cacert "$root" -H "Authorization: Bearer $token" \
	-H "Content-Type: application/pkcs10" --data-binary @"$work/r2.csr" \
	-o "$work/v2.out" -w '%{http_code}' "https://127.0.0.1:$AP/v1/sign")
[ "$code" = 400 ] || [ "$code" = 403 ] || fail "/v1/sign of evil.example.com answered $code"
after=$(dbq "SELECT count(*) FROM certificates")
[ "$before" = "$after" ] || fail "a refused CSR was logged"
ok "/v1/sign refuses a name outside the profile ($code)"

# ---- EST cacerts (RFC 7030 4.1): the issuing CA, its cross-certificate, the roots ----------
code=$(curl -sS --max-time 20 --cacert "$root" -o "$work/cacerts.b64" -w '%{http_code}' \
	"https://127.0.0.1:$AP/.well-known/est/cacerts")
[ "$code" = 200 ] || fail "EST cacerts answered $code"
{ echo "-----BEGIN PKCS7-----"; cat "$work/cacerts.b64"; echo "-----END PKCS7-----"; } > "$work/cacerts.p7"
openssl pkcs7 -in "$work/cacerts.p7" -print_certs -out "$work/cacerts.pem" 2>/dev/null ||
	fail "EST cacerts answer is not a PKCS#7 certs-only"
# One file per certificate of the bundle, then one fingerprint per line.
awk -v dir="$work" '/BEGIN CERT/ { n++ } n { print > (dir "/cacert." n ".pem") }' "$work/cacerts.pem"
for c in "$work"/cacert.*.pem; do
	openssl x509 -in "$c" -noout -fingerprint -sha256
done > "$work/cacerts.fp"
for f in "$ica" "$ca/certs/issuing-1.root-b.pem" "$root" "$ca/certs/root-b.pem"; do
	grep -qxF "$(openssl x509 -in "$f" -noout -fingerprint -sha256)" "$work/cacerts.fp" ||
		fail "EST cacerts lacks $(basename "$f")"
done
# A device that trusts only the backup root builds a chain from this answer alone.
openssl verify -CAfile "$ca/certs/root-b.pem" -untrusted "$work/cacerts.pem" \
	"$ca/certs/issuing-1.root-b.pem" >/dev/null || fail "EST cacerts: no chain to root-b"
ok "EST cacerts: issuing-1, its cross-certificate from root-b, root-a and root-b"

# ---- EST simpleenroll (RFC 7030, HTTP basic) ----------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k3.pem" \
	-subj /CN=dev3.acme.test -addext subjectAltName=DNS:dev3.acme.test -outform DER \
	-out "$work/r3.der" 2>/dev/null
openssl base64 -in "$work/r3.der" > "$work/r3.b64"
code=$(curl -sS --max-time 20 --cacert "$root" -u "fleet:$estpw" \
	-H "Content-Type: application/pkcs10" -H "Content-Transfer-Encoding: base64" \
	--data-binary @"$work/r3.b64" -o "$work/est.b64" -w '%{http_code}' \
	"https://127.0.0.1:$AP/.well-known/est/simpleenroll")
[ "$code" = 200 ] || fail "EST simpleenroll answered $code"
{ echo "-----BEGIN PKCS7-----"; cat "$work/est.b64"; echo "-----END PKCS7-----"; } > "$work/est.p7"
openssl pkcs7 -in "$work/est.p7" -print_certs -out "$work/est.pem" 2>/dev/null ||
	fail "EST answer is not a PKCS#7 certs-only"
s3=$(check_cert "$work/est.pem" 'est:fleet')
ok "EST simpleenroll: serial $s3"

# ---- EST simplereenroll (mutual TLS with the current certificate) ----------------------
# reenroll CSR_DER OUT: POSTs the CSR with est.pem/k3.pem as the client
# certificate; prints the HTTP status.
reenroll() {
	openssl base64 -in "$1" > "$1.b64"
	curl -sS --max-time 20 --cacert "$root" --cert "$work/est.pem" --key "$work/k3.pem" \
		-H "Content-Type: application/pkcs10" -H "Content-Transfer-Encoding: base64" \
		--data-binary @"$1.b64" -o "$2" -w '%{http_code}' \
		"https://127.0.0.1:$AP/.well-known/est/simplereenroll"
}
ncerts() { dbq "SELECT count(*) FROM certificates"; }
# Same name, new key: a new certificate, logged as a re-enrolment of s3.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k4.pem" \
	-subj /CN=dev3.acme.test -addext subjectAltName=DNS:dev3.acme.test -outform DER \
	-out "$work/r4.der" 2>/dev/null
code=$(reenroll "$work/r4.der" "$work/re.b64")
[ "$code" = 200 ] || fail_file "$work/re.b64" "EST simplereenroll answered $code"
{ echo "-----BEGIN PKCS7-----"; cat "$work/re.b64"; echo "-----END PKCS7-----"; } > "$work/re.p7"
openssl pkcs7 -in "$work/re.p7" -print_certs -out "$work/re.pem" 2>/dev/null ||
	fail "EST re-enrol answer is not a PKCS#7 certs-only"
s4=$(check_cert "$work/re.pem" "est:reenroll/$s3")
[ "$s4" != "$s3" ] || fail "re-enrolment returned the client's own certificate"
openssl x509 -in "$work/re.pem" -noout -ext subjectAltName | grep -q "DNS:dev3.acme.test" ||
	fail "re-enrolled certificate lacks DNS:dev3.acme.test"
openssl x509 -in "$work/re.pem" -noout -pubkey > "$work/re.pub"
openssl pkey -in "$work/k4.pem" -pubout > "$work/k4.pub"
cmp -s "$work/re.pub" "$work/k4.pub" || fail "re-enrolled certificate is not for the CSR's key"
ok "EST simplereenroll: serial $s4 for $s3"

# A name the client certificate does not hold: refused, nothing logged.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k5.pem" \
	-subj /CN=dev3.acme.test -addext subjectAltName=DNS:dev3.acme.test,DNS:dev9.acme.test \
	-outform DER -out "$work/r5.der" 2>/dev/null
before=$(ncerts)
code=$(reenroll "$work/r5.der" "$work/re5.out")
case "$code" in 4??) ;; *) fail "re-enrolment with a new name answered $code" ;; esac
grep -q "dev9.acme.test" "$work/re5.out" || fail_file "$work/re5.out" "refusal does not name dev9.acme.test"
[ "$(ncerts)" = "$before" ] || fail "a refused re-enrolment was logged"
ok "EST simplereenroll refuses a name not in the client certificate ($code)"

# Without a client certificate: refused.
code=$(curl -sS --max-time 20 --cacert "$root" -H "Content-Type: application/pkcs10" \
	-H "Content-Transfer-Encoding: base64" --data-binary @"$work/r4.der.b64" -o /dev/null \
	-w '%{http_code}' "https://127.0.0.1:$AP/.well-known/est/simplereenroll")
case "$code" in 4??) ;; *) fail "re-enrolment without a client certificate answered $code" ;; esac
[ "$(ncerts)" = "$before" ] || fail "a re-enrolment without a client certificate was logged"
ok "EST simplereenroll refuses a request without a client certificate ($code)"

# The client certificate revoked with the CLI, while mayflyd runs: refused.
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" revoke "$s3" --reason keyCompromise \
	>"$work/revoke.out" 2>&1 || fail_file "$work/revoke.out" "mayfly revoke $s3"
n=$(dbq "SELECT count(*) FROM revocations WHERE serial IN ('$s3', '00$s3') AND reason = 1")
[ "$n" = 1 ] || fail "revocation of $s3 not logged with reason keyCompromise"
code=$(reenroll "$work/r4.der" "$work/re6.out")
case "$code" in 4??) ;; *) fail "re-enrolment with a revoked certificate answered $code" ;; esac
grep -q "revoked" "$work/re6.out" || fail_file "$work/re6.out" "refusal does not say revoked"
[ "$(ncerts)" = "$before" ] || fail "a re-enrolment with a revoked certificate was logged"
ok "EST simplereenroll refuses the revoked client certificate $s3 ($code)"
# mayflyd picks the CLI's revocation up for OCSP too (how fast is the
# benchmark's business; this waits up to a generous deadline).
ocsp_revoked() {
	openssl ocsp -issuer "$ica" -cert "$work/est.pem" -url "http://127.0.0.1:$P/ocsp" \
		-CAfile "$root" -timeout 5 >"$work/ocsp3.out" 2>&1 ||
		fail_file "$work/ocsp3.out" "openssl ocsp for $s3"
	grep -q "est.pem: revoked" "$work/ocsp3.out"
}
wait_until 30 "OCSP does not say revoked for $s3: $(cat "$work/ocsp3.out" 2>/dev/null)" ocsp_revoked
grep -q "Response verify OK" "$work/ocsp3.out" || fail_file "$work/ocsp3.out" "OCSP response for $s3 does not verify"
ok "mayflyd OCSP: revoked for $s3"

# A self-signed certificate for the same name and key: not ours, refused.
openssl req -new -x509 -key "$work/k3.pem" -subj /CN=dev3.acme.test \
	-addext subjectAltName=DNS:dev3.acme.test -days 1 -out "$work/self.pem" 2>/dev/null
code=$(curl -sS --max-time 20 --cacert "$root" --cert "$work/self.pem" --key "$work/k3.pem" \
	-H "Content-Type: application/pkcs10" -H "Content-Transfer-Encoding: base64" \
	--data-binary @"$work/r4.der.b64" -o "$work/re7.out" -w '%{http_code}' \
	"https://127.0.0.1:$AP/.well-known/est/simplereenroll")
case "$code" in 4??) ;; *) fail "re-enrolment with a self-signed certificate answered $code" ;; esac
[ "$(ncerts)" = "$before" ] || fail "a re-enrolment with a self-signed certificate was logged"
ok "EST simplereenroll refuses a client certificate it did not issue ($code)"

# The certificate re-enrolment gave ($s4) is not revoked: it re-enrols in turn.
openssl req -new -key "$work/k4.pem" -subj /CN=dev3.acme.test \
	-addext subjectAltName=DNS:dev3.acme.test -outform DER -out "$work/r8.der" 2>/dev/null
openssl base64 -in "$work/r8.der" > "$work/r8.b64"
code=$(curl -sS --max-time 20 --cacert "$root" --cert "$work/re.pem" --key "$work/k4.pem" \
	-H "Content-Type: application/pkcs10" -H "Content-Transfer-Encoding: base64" \
	--data-binary @"$work/r8.b64" -o "$work/re8.b64" -w '%{http_code}' \
	"https://127.0.0.1:$AP/.well-known/est/simplereenroll")
[ "$code" = 200 ] || fail_file "$work/re8.b64" "re-enrolment with $s4 answered $code"
{ echo "-----BEGIN PKCS7-----"; cat "$work/re8.b64"; echo "-----END PKCS7-----"; } > "$work/re8.p7"
openssl pkcs7 -in "$work/re8.p7" -print_certs -out "$work/re8.pem" 2>/dev/null ||
	fail "EST re-enrol answer is not a PKCS#7 certs-only"
s5=$(check_cert "$work/re8.pem" "est:reenroll/$s4")
ok "EST simplereenroll with the re-enrolled certificate $s4: serial $s5"

# ---- the signer checks the policy itself ------------------------------------------------
# After SIGHUP the signer runs the new configuration while the listener
# keeps the one it started with (acme: settings apply at restart): narrow
# the profile so that .acme.test is no longer allowed. The listener's own
# check still passes; only the signer's can refuse.
sed 's/dns: \[".acme.test", "localhost"\]/dns: [".other.test", "localhost"]/' \
	"$ca/mayfly.yaml" > "$ca/mayfly.yaml.new"
grep -q '".other.test"' "$ca/mayfly.yaml.new" || fail "could not narrow the profile"
mv "$ca/mayfly.yaml.new" "$ca/mayfly.yaml"
kill -HUP "$dpid"
wait_log "event=reloaded"
before=$(dbq "SELECT count(*) FROM certificates")
code=$(curl -sS --max-time 20 --cacert "$root" -H "Authorization: Bearer $token" \
	-H "Content-Type: application/pkcs10" --data-binary @"$work/r1.csr" \
	-o "$work/v3.out" -w '%{http_code}' "https://127.0.0.1:$AP/v1/sign")
[ "$code" = 400 ] || [ "$code" = 403 ] || fail "/v1/sign after narrowing answered $code"
grep -q "dev1.acme.test" "$work/v3.out" || fail_file "$work/v3.out" "refusal does not name the CSR's name"
grep -q 'event=issue-refused requester=api:token profile=server err=name-not-allowed' "$work/d.log" ||
	fail "the refusal did not come from the signer"
after=$(dbq "SELECT count(*) FROM certificates")
[ "$before" = "$after" ] || fail "a CSR the signer refused was logged"
ok "the signer refuses what its own policy refuses ($code)"

grep -q "serverInternal" "$work/d.log" && fail "serverInternal in the log"

# ---- the audit head, copied into mayflyd's log -------------------------------------------
# mayflyd logs each new head (at most once a second); the newest one it
# logged matches the database, checked with the CLI.
want=$(dbq "SELECT max(id) FROM audit_log")
wait_log "event=audit-head id=$want " 30
head=$(grep -o "event=audit-head id=$want sha256=[0-9a-f]*" "$work/d.log" | tail -1 |
	sed 's/.*id=\([0-9]*\) sha256=\([0-9a-f]*\)/\1:\2/')
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" audit verify --head "$head" >"$work/av.out" 2>&1 ||
	fail_file "$work/av.out" "mayfly audit verify --head $head"
ok "audit head $want in mayflyd's log matches the database"

# ---- a revoked intermediate signs nothing more (fail closed) -----------------------------
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" intermediate revoke issuing-1 --reason keyCompromise \
	>"$work/irev.out" 2>&1 || fail_file "$work/irev.out" "mayfly intermediate revoke"
# (localhost: a name both the listener's and the signer's narrowed profile allow)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k5.pem" \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost -out "$work/r5.csr" 2>/dev/null
before=$(dbq "SELECT count(*) FROM certificates")
code=$(curl -sS --max-time 20 --cacert "$root" -H "Authorization: Bearer $token" \
	-H "Content-Type: application/pkcs10" --data-binary @"$work/r5.csr" \
	-o "$work/v4.out" -w '%{http_code}' "https://127.0.0.1:$AP/v1/sign")
[ "$code" = 503 ] || fail "/v1/sign under a revoked intermediate answered $code"
grep -q "revoked" "$work/v4.out" || fail_file "$work/v4.out" "the refusal does not say revoked"
after=$(dbq "SELECT count(*) FROM certificates")
[ "$before" = "$after" ] || fail "a leaf under a revoked intermediate was logged"
ok "issuing-1 revoked: /v1/sign refused ($code), nothing logged"
# A reload (or restart) says so up front, in the log.
kill -HUP "$dpid"
wait_log "event=issuer-revoked ca=issuing-1"
ok "the reloaded signer reports issuance.active revoked"
kill "$dpid"
rc=0; wait "$dpid" || rc=$?
[ "$rc" = 0 ] || fail "mayflyd exited $rc on SIGTERM, not 0"
dpid=
grep -q "event=stopped" "$work/d.log" || fail "mayflyd did not log its stop"
ok "mayflyd stopped cleanly"
