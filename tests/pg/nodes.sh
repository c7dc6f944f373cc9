#!/bin/sh
# nodes.sh: the issuance log on PostgreSQL and two mayflyd nodes on it.
#
# A private PostgreSQL cluster (tests/pg/pgcluster.sh, Unix socket only):
#  1. `mayfly init` makes a CA on SQLite, which issues and revokes, and
#     mayfly-mklog adds 4,000 more (half expired, 5% revoked); `mayfly
#     db migrate --to` copies the log into an empty PostgreSQL database and
#     proves it; a second migrate into the same database is refused; the
#     CLI then runs on PostgreSQL (list, revoke, audit verify).
#  2. Two mayflyd nodes share that database and one intermediate: each
#     issues (/v1/sign); a certificate issued by node 1 and revoked through
#     node 2's admin API is answered "revoked" by node 1's OCSP (openssl
#     ocsp), and the time that took is printed; node 2's CRL lists it.
#  3. kill -9 of node 2: node 1 goes on issuing. kill -9 of PostgreSQL:
#     node 1 refuses to issue (503 with Retry-After), its OCSP still
#     answers (for node 2's certificates too: each node signs responses
#     for what the others log), /health says why; PostgreSQL restarts and node 1 issues
#     again without a restart.
#  4. The same kills (node 2, then PostgreSQL, then a restart) while three
#     clients on each node issue without pause. Every certificate a client
#     received, in every phase, is in the log, and the audit chain verifies.
# Skipped (77) when the PostgreSQL 15 server binaries are not installed.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
. "$top_srcdir/tests/pg/pgcluster.sh"
if ! pg_available 2>/dev/null; then
	echo "nodes.sh: SKIP: $(pg_available 2>&1)"
	exit 77
fi
for t in openssl psql curl; do
	command -v $t >/dev/null 2>&1 || [ -x "$PGC_BINDIR/$t" ] ||
		{ echo "nodes.sh: $t is not installed" >&2; exit 1; }
done
PSQL=$PGC_BINDIR/psql

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-pg-nodes.XXXXXX")
chmod 711 "$work"
dpid=
d2pid=
cleanup() {
	for p in $dpid $d2pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	pg_stop
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"

M=$top_builddir/mayfly
ca=$work/ca
C=$ca/mayfly.yaml
cd "$work"
pg_start "$work/pg" >/dev/null || fail "PostgreSQL did not start"
U=$(pg_createdb mayfly) || fail "createdb"

"$M" init --dir "$ca" --keys file --port 8080 --dns .node.test --dns localhost >init.log 2>&1 ||
	{ cat init.log >&2; fail "init"; }
root=$ca/certs/root-a.pem
ica=$ca/certs/issuing-1.pem
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -out "$work/$1.csr" 2>/dev/null
}
serial() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f'; }
q() { "$PSQL" -X -A -t -q -d "$U" -c "$1"; }

# ---- 1. SQLite, then migrate ------------------------------------------------------------------
for n in a1 a2 a3; do
	csr $n.node.test
	"$M" -c "$C" issue --csr $n.node.test.csr --out $n.pem >/dev/null 2>&1 || fail "issue $n"
done
"$M" -c "$C" revoke "$(serial a2.pem)" >/dev/null 2>&1 || fail "revoke on SQLite"
# Thousands more, half of them expired and some revoked, each with its audit row.
"$top_builddir/mayfly-mklog" "$C" 4000 --expired-fraction 0.5 --revoked-fraction 0.05 >mklog.out 2>&1 ||
	{ cat mklog.out >&2; fail "mayfly-mklog"; }
t0=$(date +%s%N)
"$M" -c "$C" db migrate --to "$U" >mig.out 2>&1 || { cat mig.out >&2; fail "db migrate"; }
mig_ms=$((($(date +%s%N) - t0) / 1000000))
grep -q "(4003 certificates)" mig.out || fail "migrate: $(cat mig.out)"
grep -q "tables identical" mig.out || fail "migrate proof: $(cat mig.out)"
head=$(sed -n 's/.*same head, row \([0-9]*\) \([0-9a-f]*\)$/\1:\2/p' mig.out)
[ -n "$head" ] || fail "no head in $(cat mig.out)"
"$M" -c "$C" audit verify >sq.out 2>&1 || fail "audit verify on SQLite"
grep -q "^head: $head\$" sq.out || fail "SQLite head $(cat sq.out), copy $head"
if "$M" -c "$C" db migrate --to "$U" >mig2.out 2>&1; then fail "second migrate accepted"; fi
grep -q "destination is not empty" mig2.out || fail "second migrate: $(cat mig2.out)"
[ "$(q 'SELECT count(*) FROM certificates')" = 4003 ] || fail "second migrate changed the copy"
ok "db migrate: 4003 certificates ($(sed -n 's/^copied \([0-9]*\) rows.*/\1/p' mig.out) rows) copied and proven in $mig_ms ms, head $head; a second copy refused"

# Every node's configuration: the PostgreSQL log, port 0, an API and admin token.
grep -v '^database:' "$C" > c.tmp
{ echo "database: \"$U\""; cat c.tmp; } > "$C"
sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/; s/"\[::1\]:8080"/"[::1]:0"/' "$C"
token=tok-$(openssl rand -hex 16)
printf '%s\n' "$token" > "$ca/api.token"
adm=$(sed -n 's/^  admin-token-file: //p' "$C")
[ -n "$adm" ] || fail "init wrote no admin-token-file"
printf '%s\n' "adm-$token" > "$ca/$adm"
chmod 600 "$ca/api.token" "$ca/$adm"
cat >> "$C" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
EOT
# A password in the URI is refused, and never repeated.
{ echo "database: \"$U&password=s3cret-pw\""; cat c.tmp; } > "$ca/pw.yaml"
if "$M" -c "$ca/pw.yaml" list >pw.out 2>&1; then fail "a URI with a password was accepted"; fi
grep -q "passfile=" pw.out || fail "password refusal: $(cat pw.out)"
! grep -q "s3cret-pw" pw.out || fail "the password was printed: $(cat pw.out)"
ok "a URI holding a password is refused without repeating it"
"$M" -c "$C" audit verify >pg.out 2>&1 || { cat pg.out >&2; fail "audit verify on PostgreSQL"; }
"$M" -c "$C" list >list.out 2>&1 || fail "list on PostgreSQL"
[ "$(grep -c node.test list.out)" = 3 ] || fail "list: $(cat list.out)"
grep "$(serial a2.pem)" list.out | grep -q revoked || fail "a2 not revoked in the copy"
"$M" -c "$C" db compact >vac.out 2>&1 || { cat vac.out >&2; fail "db compact on PostgreSQL"; }
grep -q "^vacuumed .*reused by new rows" vac.out || fail "db compact: $(cat vac.out)"
"$M" -c "$C" audit verify >pg.out 2>&1 || { cat pg.out >&2; fail "audit verify after db compact"; }
ok "the CLI on PostgreSQL: list, audit verify, db compact (VACUUM ANALYZE)"

# ---- 2. two nodes -------------------------------------------------------------------------
cp "$C" "$ca/node2.yaml"
"$top_builddir/mayflyd" -c "$C" >"$work/d.log" 2>&1 &
dpid=$!
P1=$(bound_port); A1=$(bound_port acme)
wait_log "event=presigned"
"$top_builddir/mayflyd" -c "$ca/node2.yaml" >"$work/d2.log" 2>&1 &
d2pid=$!
wait_until 60 "node 2 did not start" grep -q "event=presigned" "$work/d2.log"
P2=$(grep -o 'event=listening host=[^ ]* port=[0-9]*' d2.log | head -1 | sed 's/.*port=//')
A2=$(grep -o 'event=listening what=acme host=[^ ]* port=[0-9]*' d2.log | head -1 | sed 's/.*port=//')
[ -n "$P2" ] && [ -n "$A2" ] || fail "node 2 ports"
ok "node 1: OCSP $P1, API $A1; node 2: OCSP $P2, API $A2"

# sign NAME PORT: POST /v1/sign; the answer in NAME.pem, the HTTP code in NAME.code
sign() {
	curl -sS --max-time 30 --cacert "$root" -H "Authorization: Bearer $token" \
		-H "Content-Type: application/pkcs10" --data-binary @"$work/$1.csr" -D "$work/$1.hdr" \
		-o "$work/$1.pem" -w '%{http_code}' "https://127.0.0.1:$2/v1/sign" \
		> "$work/$1.code" 2>/dev/null || true
}
got=
issue() {
	csr "$1"
	sign "$1" "$2"
	[ "$(cat "$work/$1.code")" = 200 ] || return 1
	got="$got $1"
}
issue n1.node.test "$A1" || fail "node 1 did not issue: $(cat n1.node.test.code)"
issue n2.node.test "$A2" || fail "node 2 did not issue: $(cat n2.node.test.code)"
for n in n1 n2; do
	s=$(serial $n.node.test.pem)
	[ "$(q "SELECT count(*) FROM certificates WHERE serial IN ('$s', '00$s')")" = 1 ] ||
		fail "$n's certificate is not in the shared log"
done
ok "both nodes issue into the shared log"

ocsp() {
	openssl ocsp -issuer "$ica" -cert "$work/$1.pem" -url "http://127.0.0.1:$2/ocsp" \
		-CAfile "$root" -timeout 10 >"$work/ocsp.out" 2>&1 || return 1
	grep -q "Response verify OK" "$work/ocsp.out" && grep -q "$1.pem: $3" "$work/ocsp.out"
}
ocsp n1.node.test "$P1" good || fail "node 1 OCSP: $(cat ocsp.out)"
s1=$(serial n1.node.test.pem)
t0=$(date +%s%N)
code=$(curl -sS --max-time 10 -o revoke.out -w '%{http_code}' -H "Authorization: Bearer adm-$token" \
	--data "serial=$s1&reason=1" "http://127.0.0.1:$P2/admin/revoke")
[ "$code" = 200 ] || fail "node 2 admin revoke: $code $(cat revoke.out)"
wait_until 30 "node 1 never said revoked" ocsp n1.node.test "$P1" revoked
ms=$((($(date +%s%N) - t0) / 1000000))
ok "revoked through node 2, node 1's OCSP says revoked after $ms ms (openssl ocsp polling)"
metric1() { curl -sS --max-time 10 "http://127.0.0.1:$P1/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
n=$(metric1 mayflyd_revocation_notifications_total)
[ "${n:-0}" -ge 1 ] || fail "node 1 got no NOTIFY for the revocation (metric: ${n:-none})"
grep -q "event=notify-listening" d.log || fail "node 1 never listened"
echo "   node 1 was woken by NOTIFY ($n notification(s))"
grep -q "event=revocation-visible" d.log && \
	echo "   node 1 logged: $(grep -o 'event=revocation-visible[^"]*' d.log | tail -1)"
crl_has() {
	curl -sS --max-time 10 -o crl2.der "http://127.0.0.1:$P2/crl/issuing-1.crl" &&
	openssl crl -inform DER -in crl2.der -noout -text | tr 'a-f' 'A-F' | tr -d ' :' |
		grep -q "$(echo "$s1" | tr 'a-f' 'A-F')"
}
wait_until 30 "node 2's CRL does not list the revocation" crl_has
ok "node 2's CRL lists it"

# ---- 3. failures -------------------------------------------------------------------------
kill -9 "$d2pid"; wait "$d2pid" 2>/dev/null || true; d2pid=
issue n3.node.test "$A1" || fail "node 1 stopped issuing when node 2 died: $(cat n3.node.test.code)"
ok "kill -9 of node 2: node 1 issues on"

# Node 1 has seen node 2's certificate in the log (and signed its response).
id2=$(q "SELECT id FROM certificates WHERE serial IN ('$(serial n2.node.test.pem)', '00$(serial n2.node.test.pem)')")
seen2() {
	_l=$(grep -o 'event=certificates-seen count=[0-9]* last_id=[0-9]*' d.log | tail -1 | sed 's/.*last_id=//')
	[ -n "$_l" ] && [ "$_l" -ge "$id2" ]
}
wait_until 30 "node 1 never saw node 2's certificate (id $id2) in the log" seen2
pg_kill9 || fail "pg_kill9"
csr down.node.test
sign down.node.test "$A1"
code=$(cat down.node.test.code)
[ "$code" = 503 ] || fail "issuance with PostgreSQL down answered $code"
grep -qi "^Retry-After:" down.node.test.hdr || fail "503 without Retry-After"
ok "PostgreSQL killed: issuance refused with 503 and Retry-After"
# Node 1 holds a response for every certificate of the log: its own, node 2's
# (signed when its poll saw them), and the revocation.
ocsp n3.node.test "$P1" good || fail "node 1 OCSP with PostgreSQL down: $(cat ocsp.out)"
ocsp n2.node.test "$P1" good || fail "node 1 OCSP for node 2's certificate with PostgreSQL down: $(cat ocsp.out)"
ocsp n1.node.test "$P1" revoked || fail "node 1 OCSP (revoked) with PostgreSQL down: $(cat ocsp.out)"
ok "PostgreSQL killed: node 1's OCSP still answers, good and revoked, for its own and node 2's certificates"
curl -sS --max-time 10 "http://127.0.0.1:$P1/health" >health.out 2>&1 || true
echo "   /health: $(head -c 300 health.out | tr '\n' ' ')"

pg_restart >/dev/null || fail "PostgreSQL did not restart"
back() { issue n4.node.test "$A1"; }
wait_until 60 "node 1 did not issue again after PostgreSQL came back" back
wait_log "event=revocation-poll-recovered" 30
nfail=$(grep -c "event=revocation-poll-failed" d.log || true)
[ "$nfail" -le 2 ] || fail "the outage was logged $nfail times, not once"
ok "PostgreSQL back: node 1 issues again without a restart; the outage was logged once, its end too"

# ---- 4. kill -9 under load --------------------------------------------------------------------
# Three clients on each node for about 9 s (each stops after 300 requests
# or at the deadline); node 2 is killed at 2 s, PostgreSQL at 4 s and
# started again at 5.5 s. Every certificate a client got must be logged.
"$top_builddir/mayflyd" -c "$ca/node2.yaml" >"$work/d2.log" 2>&1 &
d2pid=$!
wait_until 60 "node 2 did not start again" grep -q "event=presigned" "$work/d2.log"
A2=$(grep -o 'event=listening what=acme host=[^ ]* port=[0-9]*' d2.log | tail -1 | sed 's/.*port=//')
csr load.node.test
mkdir -p load
loader() {
	_end=$(($(date +%s) + 9))
	_i=0
	while [ $_i -lt 300 ] && [ "$(date +%s)" -lt $_end ]; do
		_i=$((_i + 1))
		_c=$(curl -sS --max-time 10 --cacert "$root" -H "Authorization: Bearer $token" \
			-H "Content-Type: application/pkcs10" --data-binary @"$work/load.node.test.csr" \
			-o "load/$1.$_i.pem" -w '%{http_code}' "https://127.0.0.1:$2/v1/sign" 2>/dev/null) || _c=000
		[ "$_c" = 200 ] || rm -f "load/$1.$_i.pem"
		echo "$_c" >> "load/$1.codes"
	done
}
lpids=
for k in 1 2 3; do
	loader "a$k" "$A1" & lpids="$lpids $!"
	loader "b$k" "$A2" & lpids="$lpids $!"
done
sleep 2
kill -9 "$d2pid"; wait "$d2pid" 2>/dev/null || true; d2pid=
sleep 2
pg_kill9 || fail "pg_kill9 under load"
sleep 1.5
pg_restart >/dev/null || fail "PostgreSQL did not restart under load"
wait $lpids
nrecv=$(ls load/*.pem 2>/dev/null | wc -l)
codes=$(cat load/*.codes | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')
[ "$nrecv" -gt 0 ] || fail "no certificate was issued under load ($codes)"
grep -q 503 load/a1.codes load/a2.codes load/a3.codes ||
	echo "   (no 503 seen on node 1 while PostgreSQL was down: its clients were between requests)"
list=
for f in load/*.pem; do
	s=$(serial "$f")
	list="$list${list:+,}'$s','00$s'"
done
inlog=$(q "SELECT count(*) FROM certificates WHERE serial IN ($list)")
[ "$inlog" = "$nrecv" ] || fail "$nrecv certificates received under load, $inlog of them in the log"
ok "kill -9 of node 2 and of PostgreSQL under load: $nrecv certificates received, all in the log (answers: $codes)"

for n in $got; do
	s=$(serial "$n.pem")
	[ "$(q "SELECT count(*) FROM certificates WHERE serial IN ('$s', '00$s')")" = 1 ] ||
		fail "$n was received by a client and is not in the log"
done
"$M" -c "$C" audit verify >pg2.out 2>&1 || { cat pg2.out >&2; fail "audit verify at the end"; }
ok "every certificate received ($(echo $got | wc -w) one by one, $nrecv under load) is in the log; $(head -1 pg2.out)"
