#!/bin/sh
# acme-nodes.sh: ACME state shared by two mayflyd nodes on one PostgreSQL log.
#
# A private PostgreSQL cluster (tests/pg/pgcluster.sh); `mayfly init` on
# SQLite, `mayfly db migrate --to` the cluster, then two mayflyd nodes with
# the same configuration behind a load balancer: a small TCP forwarder
# (TLS passes through) that sends new connections to the node the test
# names and, when the test switches, cuts the open ones, so the client's
# next request reconnects to the other node with the nonce the first one
# gave it. Both nodes have the balancer's base-url, as in production.
#
#  1. certbot registers and issues through node 1, then revokes through
#     node 2 with the same account; node 1's OCSP (openssl ocsp) says
#     revoked, and how long that took is printed.
#  2. certbot's ACME library: an account made on node 1 orders there and
#     its authorisation is validated there; the order is finalized on node
#     2 with a nonce node 1 minted, without a badNonce. Replays are refused
#     as badNonce both ways: a request spent on node 1 sent to node 2, and
#     the finalize spent on node 2 sent to node 2 and to node 1.
#  3. Rate limits count across nodes: with orders-per-hour: 4, orders made
#     alternately on the two nodes reach the limit together, and the fifth
#     is rateLimited.
# Every certificate is in the shared log and the audit chain verifies.
# Skipped (77) when the PostgreSQL 15 server binaries are not installed.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/pg/pgcluster.sh"
if ! pg_available 2>/dev/null; then
	echo "acme-nodes.sh: SKIP: $(pg_available 2>&1)"
	exit 77
fi
for t in certbot openssl python3 curl; do
	command -v $t >/dev/null 2>&1 || { echo "acme-nodes.sh: $t is not installed" >&2; exit 1; }
done
PSQL=$PGC_BINDIR/psql

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-pg-acme-nodes.XXXXXX")
chmod 711 "$work"
dpid=
d2pid=
lbpid=
cleanup() {
	for p in $dpid $d2pid $lbpid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"
t_start=$(date +%s)

M=$top_builddir/mayfly
ca=$work/ca
C=$ca/mayfly.yaml
cd "$work"
pg_start "$work/pg" >/dev/null || fail "PostgreSQL did not start"
U=$(pg_createdb mayfly) || fail "createdb"
q() { "$PSQL" -X -A -t -q -d "$U" -c "$1"; }

hold_port H01
hold_port LB
"$M" init --dir "$ca" --keys file --port 8080 --dns .acme.test --dns localhost >init.log 2>&1 ||
	{ cat init.log >&2; fail "init"; }
"$M" -c "$C" db migrate --to "$U" >mig.out 2>&1 || { cat mig.out >&2; fail "db migrate"; }
grep -v '^database:' "$C" > c.tmp
{ echo "database: \"$U\""; cat c.tmp; } > "$C"
sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/; s/"\[::1\]:8080"/"[::1]:0"/' "$C"
cat >> "$C" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  base-url: https://127.0.0.1:$LB
  orders-per-hour: 4
  test-resolve: [127.0.0.1, .acme.test]
  test-http01-port: $H01
EOT
root=$ca/certs/root-a.pem
ica=$ca/certs/issuing-1.pem
cp "$C" "$ca/node2.yaml"

"$top_builddir/mayflyd" -c "$C" >"$work/d.log" 2>&1 &
dpid=$!
P1=$(bound_port); A1=$(bound_port acme)
wait_log "event=presigned"
"$top_builddir/mayflyd" -c "$ca/node2.yaml" >"$work/d2.log" 2>&1 &
d2pid=$!
wait_until 60 "node 2 did not start" grep -q "event=presigned" "$work/d2.log"
A2=$(grep -o 'event=listening what=acme host=[^ ]* port=[0-9]*' d2.log | head -1 | sed 's/.*port=//')
[ -n "$A2" ] || fail "node 2 ports"
[ "$(q 'SELECT count(*) FROM acme_nonce_key')" = 1 ] || fail "the nodes did not store one nonce key"

# ---- the load balancer ------------------------------------------------------------------
# lb.target holds the port new connections go to; a new value cuts every
# open connection, then lb.ack repeats it.
cat > lb.py <<'EOP'
import os, socket, sys, threading, time
port, tfile, owner = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
conns = []
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(64)
def target():
    with open(tfile) as f:
        return int(f.read().split()[0])
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def watch():
    seen = None
    while True:
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        try:
            t = target()
        except (OSError, ValueError, IndexError):
            t = seen
        if t != seen:
            with lock:
                for s in conns:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                conns.clear()
            seen = t
            with open(tfile + ".ack.tmp", "w") as f:
                f.write("%d\n" % t)
            os.rename(tfile + ".ack.tmp", tfile + ".ack")
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
while True:
    c, _ = ls.accept()
    t = target()
    try:
        u = socket.create_connection(("127.0.0.1", t), 10)
    except OSError:
        c.close()
        continue
    with lock:
        conns.extend((c, u))
    print("connection to %d" % t, flush=True)
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
EOP
# to PORT: later connections go to PORT, open ones are cut
to() {
	echo "$1" > lb.target.tmp && mv lb.target.tmp lb.target
	wait_until 10 "the balancer did not switch to $1" acked "$1"
}
acked() { grep -qx "$1" lb.target.ack 2>/dev/null; }
echo "$A1" > lb.target
python3 lb.py "$LB" "$work/lb.target" "$$" >lb.log 2>&1 &
lbpid=$!
wait_until 10 "the balancer did not start" acked "$A1"
dirurl=https://127.0.0.1:$LB/directory
ok "node 1: OCSP $P1, ACME $A1; node 2: ACME $A2; both behind the balancer on $LB"

serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f'; }
in_log() {
	s=$(serial_of "$1")
	[ "$(q "SELECT count(*) FROM certificates WHERE serial IN ('$s', '00$s')")" = 1 ]
}
cb() {
	REQUESTS_CA_BUNDLE=$root timeout 120 certbot --config-dir "$work/cb/etc" \
		--work-dir "$work/cb/work" --logs-dir "$work/cb/log" --server "$dirurl" \
		--non-interactive "$@" >"$work/cb.out" 2>&1 || { cat "$work/cb.out" >&2; fail "certbot $*"; }
}

# ---- 1. certbot: register and issue through node 1, revoke through node 2 -----------------------
cb register --agree-tos --register-unsafely-without-email
cb certonly --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 -d www.acme.test --cert-name n
cert=$work/cb/etc/live/n/cert.pem
in_log "$cert" || fail "certbot's certificate is not in the shared log"
grep -q 'msg="ACME account created"' d.log || fail "node 1 did not create the account"
grep -q 'msg="ACME certificate issued"' d.log || fail "node 1 did not issue"
if grep -q 'msg="ACME \(account\|order\|certificate\)' d2.log; then fail "node 2 served certbot before the switch"; fi
s=$(serial_of "$cert")
ok "certbot register and certonly through node 1: serial $s"

# ocsp1 STATUS [OUT]: node 1's OCSP responder answers STATUS for the certificate.
ocsp1() {
	_o=${2:-$work/ocsp.out}
	openssl ocsp -issuer "$ica" -cert "$cert" -url "http://127.0.0.1:$P1/ocsp" \
		-CAfile "$root" -timeout 10 >"$_o" 2>&1 || return 1
	grep -q "Response verify OK" "$_o" && grep -q "cert.pem: $1" "$_o"
}
ocsp1 good || fail "node 1 OCSP before the revocation: $(cat ocsp.out)"
to "$A2"
# Two watchers, 20 ms apart, for at most a minute each: when node 2 logs the
# revocation, and when node 1's OCSP first says revoked.
(
	i=0
	while [ $i -lt 3000 ]; do
		grep -q "serial=$s .*msg=\"certificate revoked over ACME\"" d2.log &&
			{ date +%s%N > t.rev; break; }
		i=$((i + 1)); sleep 0.02
	done
) &
(
	i=0
	while [ $i -lt 1500 ]; do
		ocsp1 revoked "$work/ocsp.bg" && { date +%s%N > t.seen; break; }
		i=$((i + 1)); sleep 0.02
	done
) &
t0=$(date +%s%N)
cb revoke --cert-path "$cert" --reason keycompromise --no-delete-after-revoke
t1=$(date +%s%N)
grep -q "serial=$s .*msg=\"certificate revoked over ACME\"" d2.log ||
	fail "node 2 did not revoke $s: $(grep -c . d2.log) lines"
wait_until 60 "node 1's OCSP never said revoked" test -s t.seen
wait_until 10 "no time for node 2's revocation" test -s t.rev
vis=$((($(cat t.seen) - $(cat t.rev)) / 1000000))
ok "certbot revoke through node 2 (same account, $(((t1 - t0) / 1000000)) ms); node 1's OCSP says revoked $vis ms after node 2 logged the revocation"
grep -q "event=revocation-visible" d.log &&
	echo "   node 1 logged: $(grep -o 'event=revocation-visible[^"]*' d.log | tail -1)"
[ "$vis" -le 1000 ] || fail "node 1 took $vis ms (> 1 s) to say revoked"
[ "$(q "SELECT count(*) FROM revocations WHERE serial IN ('$s', '00$s') AND reason = 1")" = 1 ] ||
	fail "the revocation is not in the log"

# ---- 2. and 3. certbot's ACME library: finalize on another node, replays, rate limits ------
# The library with certbot's interpreter (python3-acme), as acme-daemon.sh does.
py=$(sed -n '1s/^#! *//p' "$(command -v certbot)")
[ -x "$py" ] || py=python3
to "$A1"
timeout 180 "$py" - "$work" "$A1" "$A2" "$LB" "$root" "$H01" <<'EOP' >py.out 2>&1 || { cat py.out >&2; fail "the ACME library client"; }
import base64, datetime, http.server, json, os, sys, threading, time
import requests
import josepy as jose
from acme import challenges, client, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

work, a1, a2, lb, root, h01 = sys.argv[1:7]
base = "https://127.0.0.1:%s" % lb

def to(port):
    with open(work + "/lb.target.tmp", "w") as f:
        f.write(port + "\n")
    os.rename(work + "/lb.target.tmp", work + "/lb.target")
    for _ in range(200):
        try:
            if open(work + "/lb.target.ack").read().split()[0] == port:
                return
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    sys.exit("the balancer did not switch to %s" % port)

def node_of(nonce):
    """The minting node's id: the first 8 bytes of the nonce (the library keeps them decoded)."""
    if isinstance(nonce, bytes):
        return nonce[:8]
    return base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))[:8]

def node_id(port):
    r = requests.head("https://127.0.0.1:%s/new-nonce" % port, verify=root, timeout=10)
    return node_of(r.headers["Replay-Nonce"])

id1, id2 = node_id(a1), node_id(a2)
assert id1 != id2, "both nodes mint under one id"

tokens = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = tokens.get(self.path.rsplit("/", 1)[-1])
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write((body or "no").encode())
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", int(h01)), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()

key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=root)
# Every signed request: its URL, body, nonce, and the answer.
sent = []
wrap, send = net._wrap_in_jws, net._send_request
def wrap_in_jws(obj, nonce, url, *a, **k):
    sent.append({"url": url, "nonce": nonce})
    body = wrap(obj, nonce, url, *a, **k)
    sent[-1]["body"] = body
    return body
def send_request(method, url, *a, **k):
    r = send(method, url, *a, **k)
    if method == "POST" and sent and sent[-1]["url"] == url and "status" not in sent[-1]:
        sent[-1]["status"] = r.status_code
        sent[-1]["type"] = r.json().get("type") if r.status_code >= 400 else None
    return r
net._wrap_in_jws, net._send_request = wrap_in_jws, send_request

acme = client.ClientV2(client.ClientV2.get_directory(base + "/directory", net), net)
acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))

def csr(name):
    k = ec.generate_private_key(ec.SECP256R1())
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(
        k, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

# Node 1: the order, its challenge answered and its authorisation valid.
orderr = acme.new_order(csr("fin.acme.test"))
for a in orderr.authorizations:
    for cb in a.body.challenges:
        if isinstance(cb.chall, challenges.HTTP01):
            r, validation = cb.response_and_validation(key)
            tokens[cb.chall.encode("token")] = validation
            acme.answer_challenge(cb, r)
deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
orderr = acme.poll_authorizations(orderr, deadline)
local = sent[-1]		# a POST-as-GET spent on node 1, with a nonce node 1 minted
assert node_of(local["nonce"]) == id1 and local["status"] == 200, local
print("ok: account, order and valid authorisation on node 1")

# Node 2: the finalize, with the nonce node 1 handed out last.
to(a2)
n0 = len(sent)
orderr = acme.finalize_order(orderr, deadline)
fin = sent[n0]
assert "/finalize/" in fin["url"] or "finalize" in fin["url"], fin["url"]
assert node_of(fin["nonce"]) == id1, "the finalize did not carry a nonce of node 1"
assert fin["status"] == 200, fin
bad = [s for s in sent[n0:] if s.get("type") == "urn:ietf:params:acme:error:badNonce"]
assert not bad, "badNonce on node 2: %s" % bad
with open(work + "/fin.pem", "w") as f:
    f.write(orderr.fullchain_pem)
print("ok: finalized on node 2 with a nonce node 1 minted, no badNonce")

def replay(req, port, what):
    to(port)
    r = requests.post(req["url"], data=req["body"], verify=root, timeout=10,
                      headers={"Content-Type": "application/jose+json"})
    t = r.json().get("type") if r.status_code >= 400 else None
    if r.status_code != 400 or t != "urn:ietf:params:acme:error:badNonce":
        sys.exit("replay %s: %d %s" % (what, r.status_code, r.text[:200]))
replay(local, a2, "of a request spent on node 1, to node 2")
replay(fin, a2, "of the finalize spent on node 2, to node 2")
replay(fin, a1, "of the finalize spent on node 2, to node 1")
print("ok: replays refused as badNonce: node 1's spend on node 2, node 2's on node 2 and on node 1")

# orders-per-hour: 4 for this account; the finalized order was the first.
made = {a1: 1, a2: 0}
for i, port in enumerate([a2, a1, a2]):
    to(port)
    acme.new_order(csr("rate%d.acme.test" % i))
    made[port] += 1
to(a1)
try:
    acme.new_order(csr("rate9.acme.test"))
    sys.exit("a fifth order in the hour was accepted")
except messages.Error as e:
    if e.typ != "urn:ietf:params:acme:error:rateLimited":
        sys.exit("the fifth order: %s" % e)
print("ok: orders-per-hour 4 counted across nodes: %d on node 1, %d on node 2, the fifth rateLimited"
      % (made[a1], made[a2]))
EOP
cat py.out
in_log "$work/fin.pem" || fail "the certificate finalized on node 2 is not in the shared log"
grep -q 'msg="ACME certificate issued"' d2.log || fail "node 2 did not log the issuance"
openssl verify -CAfile "$root" -untrusted "$ica" "$work/fin.pem" >/dev/null || fail "fin.pem does not verify"
n=$(q "SELECT count(*) FROM acme_nonces")
ok "spent nonces in the shared log: $n rows"

if grep -q serverInternal d.log d2.log; then fail "serverInternal in a node's log"; fi
"$M" -c "$C" audit verify >av.out 2>&1 || { cat av.out >&2; fail "audit verify"; }
ok "$(head -1 av.out); done in $(($(date +%s) - t_start)) s"
