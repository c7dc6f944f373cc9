#!/bin/sh
# rotation.sh - a fleet living through root and intermediate rotations, end
# to end (issue 13): the real CLI on SoftHSM2 tokens, the real mayflyd
# serving /trust/ and OCSP on 127.0.0.1, nginx serving the servers' chains,
# and the device side (contrib/device-example on mbedTLS, mayfly-verify).
#
# `mayfly init --keys softhsm` gives roots A, B, C in three tokens and
# bundle 1 (A, B, C; threshold 2). Two devices are provisioned with it:
# "awake" and "sleeper". Their trust state is a file standing in for flash.
#
#   1. A's key is stolen. The thief signs a bundle 9 (A and a root of his,
#      threshold 1) with it. The operator adds root D in a token of its own
#      (root add), moves issuance to an intermediate certified by B
#      (intermediate rotate --root root-b), retires A (root retire: bundle 2,
#      B, C, D, threshold 2), has bundle 2 signed by B and C, publishes it.
#      Emergency (scenario 2): servers offer the path through the
#      intermediate cross-signed by B, which the server got from mayflyd
#      as ACME's alternate chain (RFC 8555 7.4.2, certbot
#      --preferred-chain); "awake", still on bundle 1, connects
#      with no update; once it has fetched bundle 2 from mayflyd, a leaf
#      chaining only to A is refused.
#   2. C's token is destroyed (and C can sign no more). Root E is added,
#      C retired (bundle 3: B, D, E), bundle 3 signed by B and D and
#      published; issuance moves to an intermediate certified by E, and the
#      server serves a leaf chaining to E.
#   3. "sleeper" wakes (scenario 1): its chain does not anchor, it fetches
#      /trust/since/1 from mayflyd, applies 2 and 3, stores 3 and completes
#      the handshake. Devices still on bundle 1 are then fed, from a hostile
#      server, bundle 9, and forged, reordered, truncated, one-signature-
#      short, replayed and cut answers: each is refused, the stored state
#      stays as it was (or, for a cut answer, moves only to the last good
#      bundle), and the real answer still works afterwards.
#   4. Intermediate rotation (scenario 3): leaves are issued through
#      mayflyd's POST /v1/sign and ACME orders (uacme, http-01) while
#      `intermediate rotate` runs, none fails, all verify;
#      after the switch mayflyd answers OCSP for leaves of both
#      intermediates and serves both CRLs.
#   5. CA outage of 48 hours (scenario 4): with issuance.forward-horizon
#      72h, contrib/est-renew (WINDOWS=2) orders the next two days'
#      certificates over ACME newOrder notBefore/notAfter, mayflyd is
#      stopped, and the device, its clock moved forward, accepts each day's
#      certificate in turn, and always finds one valid; est-renew, its clock
#      moved too (EST_RENEW_NOW), swaps each in when it starts.
# Not covered here: EST cacerts offering the B-cross, HSM replacement.
set -u
build=$(pwd)
srcdir=$(cd "${srcdir:-.}" && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
M="$build/mayfly" D="$build/mayflyd" MV="$build/mayfly-verify"
dev="$build/mayfly-device-client"
for b in "$NGINX" "$M" "$D" "$MV"; do [ -x "$b" ] || { echo "SKIP: $b missing"; exit 77; }; done
[ -x "$dev" ] || { echo "FAIL: $dev not built"; exit 99; }
for t in softhsm2-util python3 perl curl openssl jq uacme certbot; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t missing"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfv-rotation-XXXXXX") || exit 99
chmod 755 "$tmp"
npid="" dpid=""
# shellcheck source=lib.sh
. "$srcdir/tests/verify/device/lib.sh"
cleanup() {
	stop_pid npid
	stop_pid dpid
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
cd "$tmp" || exit 99
HOST=device-api.test
C=ca/mayfly.yaml
export SOFTHSM2_CONF="$tmp/ca/softhsm2.conf"
fail=0 pass=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# die WHAT LOG: a step the rest depends on failed.
die() { echo "FAIL $1"; [ -f "${2:-}" ] && sed 's/^/     /' "$2"; keep=1; exit 1; }
# run LOG CMD...: a CA step; its output goes to LOG, a failure ends the test.
run() { rl=$1; shift; "$@" > "$rl" 2>&1 || die "$*" "$rl"; }
pin() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }

# ---- configuration edits, as the operator pastes what the CLI prints ----------
# edit AWKPROG [ARGS...]: rewrite the config with an awk program.
edit() {
	awk "$@" > "$C.new" && mv "$C.new" "$C" || die "config edit: $*"
}
# paste SECTION LOG: insert the indented lines that follow the CLI's
# "... under SECTION: ..." line in LOG (up to the first unindented line)
# at the end of SECTION's list in the config.
paste() {
	grep -q "under $1:" "$2" || die "nothing to paste under $1" "$2"
	edit -v s="$1" '
		NR == FNR { if (grab && /^  /) { e = e $0 "\n"; next } grab = 0
			if (index($0, "under " s ":")) grab = 1; next }
		in_s && $0 == "" { blanks = blanks "\n"; next }
		in_s && /^ / { printf "%s", blanks; blanks = ""; print; next }
		in_s { printf "%s%s", e, blanks; blanks = ""; in_s = 0 }
		{ print } $0 == s ":" { in_s = 1 }
		END { if (in_s) printf "%s%s", e, blanks }' "$2" "$C"
}
# unlist NAME: remove the entry NAME (a root or an intermediate).
unlist() {
	grep -q "^  - name: $1\( \|\$\)" "$C" || die "no entry $1 in the config"
	edit -v n="$1" 'skip && /^    / { next } { skip = 0 }
		$0 == "  - name: " n || index($0, "  - name: " n " ") == 1 { skip = 1; next } { print }' "$C"
}
# uncross PATH: remove a cross: path of an intermediate (and cross: itself
# once empty).
uncross() {
	edit -v p="$1" '$0 == "      - " p { next }
		held != "" { if (/^      - /) print held; held = "" }
		$0 == "    cross:" { held = $0; next } { print }' "$C"
}
# setconf OLD NEW: replace a whole line of the config.
setconf() {
	grep -q "^$1\$" "$C" || die "no line '$1' in the config"
	sed -i "s|^$1\$|$2|" "$C"
}
# token LABEL: a new SoftHSM2 token, for one root's key.
token() {
	softhsm2-util --init-token --free --label "$1" --pin "$(cat ca/hsm.pin)" \
		--so-pin "$(cat ca/hsm.so-pin)" > "token-$1.log" 2>&1 || die "token $1" "token-$1.log"
}
# leaf NAME: a 24-hour server certificate for $HOST from the active
# intermediate (extra arguments go to mayfly issue).
leaf() {
	n=$1
	shift
	[ -f srv.key ] || openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout srv.key -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" -out srv.csr 2>/dev/null
	"$M" -c $C issue --csr srv.csr --no-chain --out "$n.pem" "$@" > "$n.log" 2>&1
}

# ---- the CA, the devices -----------------------------------------------------
# mayflyd's port (named in the certificates before it starts), the hostile
# server's, and one per TLS server: a (chain to A), bx (through the B-cross),
# e (chain to E, and today's certificate in the outage), d1, d2 (the next
# two days').
hold_ports OPORT EVIL H01 P_a P_bx P_e P_d1 P_d2 || die "no port to hold"
for n in a bx e d1 d2; do eval "echo \$P_$n" > "port.$n"; done
run init.log "$M" init --dir ca --keys softhsm --port "$OPORT"
run export.log "$M" -c $C bundle export --format der --version 1 --out v1.der
cp v1.der awake.state
cp v1.der sleeper.state
PA=$(pin ca/certs/root-a.pem) PB=$(pin ca/certs/root-b.pem)
leaf la || die "issue under issuing-1" la.log
cat la.pem ca/certs/issuing-1.pem ca/certs/root-a.pem > a.chain
# ACME from the start: the B-cross chain of scenario 2 is ordered over it.
# http-01 for *.test is checked at nginx's webroot server on 127.0.0.1.
openssl rand -hex 16 > ca/api.token && chmod 600 ca/api.token
printf 'acme:\n  host: 127.0.0.1\n  port: 0\n  api-token-file: api.token\n  test-resolve: [.test]\n  test-http01-port: %s\n' \
	"$H01" >> $C

start_mayflyd() {
	"$D" -c $C > mayflyd.log 2>&1 &
	dpid=$!
	wait_listen "$dpid" "$OPORT" || die "mayflyd did not start" mayflyd.log
}
# acme_port: the port the ACME listener got (it binds port 0), from the log.
acme_port() {
	n=0
	until AP=$(grep -o 'event=listening what=acme host=[^ ]* port=[0-9]*' mayflyd.log |
		sed 's/.*port=//') && [ -n "$AP" ]; do
		n=$((n + 1)); [ $n -le 300 ] || die "no ACME listener in the log" mayflyd.log; sleep 0.1
	done
}
start_mayflyd
acme_port
TRUST=http://127.0.0.1:$OPORT/trust

# nginx: one TLS server per chain that exists (NAME.chain), and a plain HTTP
# server for the hostile answers under evil/. Ports are held for the whole
# test, so a restart finds them free.
start_nginx() {
	{
		nginx_head
		for c in *.chain; do
			n=${c%.chain}
			[ -f "port.$n" ] || return 1
			echo "  server { listen 127.0.0.1:$(cat "port.$n") ssl; server_name $HOST;"
			k=$tmp/srv.key
			[ ! -f "$n.key" ] || k=$tmp/$n.key
			echo "    ssl_certificate $tmp/$c; ssl_certificate_key $k;"
			echo "    ssl_protocols TLSv1.2; location / { return 200 \"mayfly $n\"; } }"
		done
		echo "  server { listen 127.0.0.1:$EVIL; location / { root $tmp/evil; } }"
		echo "  server { listen 127.0.0.1:$H01; location / { root $tmp/webroot; } }"
		echo "}"
	} > nginx.conf
	nginx_run
	ports="$EVIL $H01"
	for c in *.chain; do ports="$ports $(cat "port.${c%.chain}")"; done
	# shellcheck disable=SC2086 # a list of ports
	wait_listen "$npid" $ports
}
restart_nginx() {
	stop_pid npid
	start_nginx || { cat error.log; die "nginx did not start"; }
}
mkdir -p evil webroot
restart_nginx
port() { cat "port.$1"; }

# The server's path through the B-cross, as a server gets it: certbot orders
# a certificate for $HOST under issuing-1 (http-01 from nginx's webroot) and
# picks, among the chains mayflyd offers (the default one through A, and
# the alternates its certificate URL names in Link: rel="alternate"), the
# one whose top certificate root B issued (RFC 8555 7.4.2).
cat ca/certs/root-a.pem ca/certs/root-b.pem ca/certs/root-c.pem > cb-roots.pem
REQUESTS_CA_BUNDLE=$tmp/cb-roots.pem timeout 120 certbot --config-dir "$tmp/cb/etc" \
	--work-dir "$tmp/cb/work" --logs-dir "$tmp/cb/log" --server "https://127.0.0.1:$AP/directory" \
	--non-interactive --agree-tos --register-unsafely-without-email certonly \
	--webroot -w "$tmp/webroot" -d $HOST --cert-name bx \
	--preferred-chain "$(openssl x509 -in ca/certs/root-b.pem -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= *//p')" > certbot.log 2>&1 || die "certbot: the B-cross chain" certbot.log
cb=cb/etc/live/bx
# The chain is the B-cross of issuing-1, not issuing-1 itself; the server
# sends root B after it, as before.
if [ "$(openssl x509 -in $cb/chain.pem -outform DER | openssl dgst -sha256 -r)" = \
     "$(openssl x509 -in ca/certs/issuing-1.root-b.pem -outform DER | openssl dgst -sha256 -r)" ] &&
   [ "$(grep -c 'BEGIN CERTIFICATE' $cb/chain.pem)" = 1 ]; then
	ok "certbot --preferred-chain: mayflyd's alternate chain is issuing-1 cross-signed by B"
else bad "certbot's chain is not the B-cross: $(openssl x509 -in $cb/chain.pem -noout -subject -issuer)"; fi
openssl verify -CAfile ca/certs/root-b.pem -untrusted $cb/chain.pem $cb/cert.pem > bx.v 2>&1 &&
	! openssl verify -CAfile ca/certs/root-a.pem -untrusted $cb/chain.pem $cb/cert.pem > /dev/null 2>&1 &&
	ok "... the ACME leaf verifies to root B through it, not to root A" || bad "B-cross chain: $(cat bx.v)"
cat $cb/fullchain.pem ca/certs/root-b.pem > bx.chain
cp $cb/privkey.pem bx.key
restart_nginx
# device STATE SERVER [ARGS]: the device example, holding the trust state
# in STATE, connecting to the nginx server of SERVER.chain; all its output.
device() {
	d_st=$1 d_srv=$2
	shift 2
	timeout 30 "$dev" --connect 127.0.0.1 --port "$(port "$d_srv")" --host $HOST \
		--trust-state "$d_st" "$@" 2>&1
}
# check WHAT PATTERN OUTPUT: some line of OUTPUT matches the grep -E PATTERN.
check() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"
	else bad "$1: no line '$2' in:"; printf '%s\n' "$3" | sed 's/^/     /'; fi
}
# nocheck WHAT PATTERN OUTPUT: no line of OUTPUT matches.
nocheck() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		bad "$1: a line '$2' in:"; printf '%s\n' "$3" | sed 's/^/     /'
	else ok "$1"; fi
}
same() { if cmp -s "$2" "$3"; then ok "$1"; else bad "$1 ($2 differs from $3)"; fi; }

out=$(device awake.state a --trust-url "$TRUST")
check "bundle 1, chain to A: verified without a fetch" "^VERIFIED path=3 anchor=$PA .* bundle=1\$" "$out"
nocheck "... and nothing fetched" "^TRUST" "$out"
out=$(device awake.state a --trust-url "$TRUST" --update-first)
check "update at start, nothing new" "^TRUST applied=0 version=1 unchanged\$" "$out"
same "... the stored state is untouched" awake.state v1.der

# ---- 1. root A's key is stolen ----------------------------------------------------
# The thief signs bundle 9 with A while bundle 1 is the published one.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout x.key \
	-subj /CN=thief -days 30 -out x.pem 2>/dev/null
run v9.log "$M" -c $C bundle create --version 9 --roots root-a,file:x.pem --threshold 1 --out v9.der
run v9s.log "$M" -c $C bundle sign v9.der --root root-a

token mayfly-root-d
run add-d.log "$M" -c $C root add root-d --key "pkcs11:token=mayfly-root-d;object=root-d"
paste roots add-d.log
run rot2-dry.log "$M" -c $C intermediate rotate --root root-b --dry-run
[ ! -f ca/certs/issuing-2.pem ] && grep -q 'nothing changed' rot2-dry.log &&
	ok "intermediate rotate --dry-run changes nothing" || bad "rotate --dry-run: $(cat rot2-dry.log)"
run rot2.log "$M" -c $C intermediate rotate --root root-b
paste intermediates rot2.log
setconf "  active: issuing-1" "  active: issuing-2"
run retire-a-dry.log "$M" -c $C root retire root-a --dry-run
grep -q 'would write unsigned bundle version 2 .*roots root-b,root-c,root-d, threshold 2' retire-a-dry.log &&
	[ ! -f v2.der ] && ok "root retire --dry-run names bundle 2 and changes nothing" ||
	bad "retire --dry-run: $(cat retire-a-dry.log)"
run retire-a.log "$M" -c $C root retire root-a --out v2.der
run v2b.log "$M" -c $C bundle sign v2.der --root root-b
cp v2.der v2-short.der
run v2c.log "$M" -c $C bundle sign v2.der --root root-c
run v2p.log "$M" -c $C bundle publish v2.der
# mayflyd looks for newly published bundles once a second: wait until it
# serves version 2 (bounded) rather than racing it.
i=0
until curl -sf -o /dev/null "$TRUST/v/2"; do
	i=$((i + 1))
	[ $i -le 100 ] || die "mayflyd did not serve bundle 2 within 10 s" v2p.log
	sleep 0.1
done
# The retired root leaves the configuration, with what it certified
# (issuing-1 is revoked by the retirement; its B-cross stays valid).
unlist root-a
unlist issuing-1
uncross certs/issuing-2.root-a.pem

# Scenario 2: the B-cross reaches "awake" (bundle 1) with no update.
out=$(device awake.state bx --trust-url "$TRUST")
check "emergency: bundle 1, path through the B-cross: verified" "^VERIFIED path=3 anchor=$PB .* bundle=1\$" "$out"
nocheck "... with no update" "^TRUST" "$out"
out=$(device awake.state a --trust-url "$TRUST" --update-first)
check "emergency: bundle 2 fetched from mayflyd" "^TRUST applied=1 version=2 stored\$" "$out"
check "... then a leaf chaining only to A is refused" "^REFUSED MFV_ERR_UNTRUSTED_ROOT" "$out"
curl -s -o got-v2.der "$TRUST/v/2"
same "... and the device stored bundle 2" awake.state got-v2.der
out=$(device awake.state bx --trust-url "$TRUST")
check "... the B-cross still verifies under bundle 2" "^VERIFIED path=3 anchor=$PB .* bundle=2\$" "$out"

# ---- 2. root C's token is destroyed; E comes, servers move to E ----------------------
softhsm2-util --delete-token --token mayfly-root-c > del-c.log 2>&1 || die "delete token C" del-c.log
run v3try.log "$M" -c $C bundle create --version 3 --roots root-b,root-d --threshold 2 --out v3-try.der
"$M" -c $C bundle sign v3-try.der --root root-c > sign-c.log 2>&1
rc=$?
if [ $rc = 4 ]; then ok "root C cannot sign any more: $(head -n 1 sign-c.log)"
else bad "bundle sign with the destroyed root C: exit $rc: $(cat sign-c.log)"; fi
token mayfly-root-e
run add-e.log "$M" -c $C root add root-e --key "pkcs11:token=mayfly-root-e;object=root-e"
paste roots add-e.log
run retire-c.log "$M" -c $C root retire root-c --out v3.der
grep -q 'bundle version 3' retire-c.log || bad "retire root-c: $(cat retire-c.log)"
run v3b.log "$M" -c $C bundle sign v3.der --root root-b
run v3d.log "$M" -c $C bundle sign v3.der --root root-d
run v3p.log "$M" -c $C bundle publish v3.der
run show3.log "$M" -c $C bundle show v3.der
[ "$(grep -c '^root ' show3.log)" = 3 ] && grep -q 'root-b$' show3.log && grep -q 'root-d$' show3.log &&
	grep -q 'root-e$' show3.log && ok "bundle 3 lists B, D, E" || bad "bundle 3: $(cat show3.log)"
unlist root-c
uncross certs/issuing-2.root-c.pem
PE=$(pin ca/certs/root-e.pem)

# A leaf under issuing-2 before the rotation to E, for scenario 3.
leaf l2 || die "issue under issuing-2" l2.log
# Scenario 3: issuance through mayflyd (POST /v1/sign, its signer holding
# the token) goes on while the CLI rotates the intermediate.
stop_pid dpid
start_mayflyd
acme_port
# ACME orders too: uacme (libcurl-gnutls, the CA bundle set through
# tests/acme/uacme-cainfo.c as in tests/acme/clients.sh), http-01 answered
# from nginx's webroot by its hook. The account exists before the rotation.
cat ca/certs/root-b.pem ca/certs/root-e.pem > ua-roots.pem
cat > ua-hook.sh <<EOT
#!/bin/sh
[ "\$2" = http-01 ] || exit 1
d="$tmp/webroot/.well-known/acme-challenge"
case "\$1" in
begin) mkdir -p "\$d" && printf '%s' "\$5" > "\$d/\$4" ;;
done|failed) rm -f "\$d/\$4" ;;
esac
EOT
chmod +x ua-hook.sh
${CC:-cc} -shared -fPIC -o uacme-cainfo.so "$srcdir/tests/acme/uacme-cainfo.c" -ldl > shim.log 2>&1 ||
	die "cannot build the uacme CA shim" shim.log
ua() {
	MAYFLY_TEST_CAINFO=$tmp/ua-roots.pem LD_PRELOAD=$tmp/uacme-cainfo.so timeout 120 \
		uacme -c "$tmp/ua" -a "https://127.0.0.1:$AP/directory" -h "$tmp/ua-hook.sh" -t EC "$@"
}
ua -y new > ua-new.log 2>&1 || die "uacme new account" ua-new.log
( i=0; while [ $i -lt 4 ]; do
	if ua -f issue acme$i.$HOST > "ua$i.log" 2>&1 && cp ua/acme$i.$HOST/cert.pem "acme$i.pem"; then :
	else echo "acme$i failed: $(cat "ua$i.log")"; fi
	i=$((i + 1))
done ) > ua-load.log 2>&1 &
upid=$!
( i=0; while [ $i -lt 8 ]; do
	code=$(curl -sS -k --max-time 20 -H "Authorization: Bearer $(cat ca/api.token)" \
		-H "Content-Type: application/pkcs10" --data-binary @srv.csr -o "load$i.pem" \
		-w '%{http_code}' "https://127.0.0.1:$AP/v1/sign")
	[ "$code" = 200 ] || echo "load$i failed: HTTP $code"
	i=$((i + 1))
done ) > load.log 2>&1 &
lpid=$!
run rot3.log "$M" -c $C intermediate rotate --root root-e
wait "$lpid"
wait "$upid"
paste intermediates rot3.log
setconf "  active: issuing-2" "  active: issuing-3"
leaf le || die "issue under issuing-3" le.log
cat le.pem ca/certs/issuing-3.pem ca/certs/root-e.pem > e.chain
# For scenario 5, the server holds the next two days' certificates:
# contrib/est-renew with WINDOWS=2 orders them over ACME (newOrder
# notBefore/notAfter: EST cannot ask for a future notBefore), each starting
# an hour before the one before it ends, and answers http-01 from the
# webroot nginx serves.
sed -i 's/^  hard-cap: 24h$/&\n  forward-horizon: 72h/' $C
grep -q 'forward-horizon: 72h' $C || die "could not set forward-horizon"
stop_pid dpid
start_mayflyd
acme_port
na() { date -u -d "$(openssl x509 -in "$1" -noout -"${2:-end}"date | cut -d= -f2)" +%s; }
mkdir -p srv
cat le.pem ca/certs/issuing-3.pem > srv/cert.pem
cp srv.key srv/key.pem
cat ca/certs/root-b.pem ca/certs/root-e.pem > srv/roots.pem
cat > srv/est-renew.conf <<EOT
EST_URL=https://127.0.0.1:$AP/.well-known/est
CERT=$tmp/srv/cert.pem
KEY=$tmp/srv/key.pem
CA=$tmp/srv/roots.pem
RELOAD="echo reloaded >> $tmp/srv/reloads"
WINDOWS=2
ACME_URL=https://127.0.0.1:$AP/directory
ACCOUNT_KEY=$tmp/srv/account.key
WEBROOT=$tmp/webroot
EOT
ER=$srcdir/contrib/est-renew/est-renew.sh
timeout 120 sh "$ER" srv/est-renew.conf > est-renew1.log 2>&1 || die "est-renew: the forward windows" est-renew1.log
set -- srv/cert.pem.next.*
if [ $# = 2 ] && [ -f "$1" ] && [ -f "srv/key.pem.${1#srv/cert.pem.}" ] &&
   [ -f "srv/key.pem.${2#srv/cert.pem.}" ]; then
	ok "est-renew: two forward windows ordered over ACME and stored"
else die "est-renew stored: $*" est-renew1.log; fi
for d in d1 d2; do
	openssl x509 -in "$1" -out $d.pem
	cp "srv/key.pem.${1#srv/cert.pem.}" $d.key
	cp "$1" $d.cert
	shift
done
# Each window is in the issuance log, and its notBefore is the one asked.
[ "$(na d1.pem start)" = $(($(na le.pem) - 3600)) ] && [ "$(na d2.pem start)" = $(($(na d1.pem) - 3600)) ] &&
	life=$((($(na le.pem) - $(na le.pem start)) / 3600 * 3600)) &&
	[ $(($(na d1.pem) - $(na d1.pem start))) = $life ] && [ $(($(na d2.pem) - $(na d2.pem start))) = $life ] &&
	ok "est-renew: windows start $(($(na d1.pem start) - $(date +%s)))s and $(($(na d2.pem start) - $(date +%s)))s ahead, ${life}s each" ||
	bad "est-renew windows: d1 $(na d1.pem start)..$(na d1.pem), d2 $(na d2.pem start)..$(na d2.pem), le ends $(na le.pem)"
timeout 60 sh "$ER" srv/est-renew.conf > est-renew2.log 2>&1 && grep -q 'not due' est-renew2.log &&
	! grep -q 'window .* stored' est-renew2.log && ok "est-renew: a second run orders nothing" ||
	bad "est-renew second run: $(cat est-renew2.log)"
for d in d1 d2; do cat $d.cert ca/certs/root-e.pem > $d.chain; done
restart_nginx

# ---- 3. the sleeper wakes -------------------------------------------------------------
out=$(device sleeper.state e --trust-url "$TRUST")
check "sleeper: cannot anchor the chain to E on bundle 1" "^UNANCHORED MFV_ERR_UNTRUSTED_ROOT version=1\$" "$out"
check "sleeper: /trust/since/1 applied: 2 and 3" "^TRUST applied=2 version=3 stored\$" "$out"
check "sleeper: then the handshake completes" "^VERIFIED path=3 anchor=$PE .* bundle=3\$" "$out"
check "sleeper: and HTTP answers" "^HTTP HTTP/1.1 200" "$out"
curl -s -o got-v3.der "$TRUST/v/3"
same "sleeper: stored bundle 3" sleeper.state got-v3.der
out=$(device sleeper.state e --trust-url "$TRUST")
check "sleeper, next boot: verified from the stored state, no fetch" "^VERIFIED .* bundle=3\$" "$out"
nocheck "... no fetch" "^(TRUST|UNANCHORED)" "$out"
out=$(device awake.state e --trust-url "$TRUST")
check "awake (bundle 2): fetches 3 only" "^TRUST applied=1 version=3 stored\$" "$out"
check "... and verifies" "^VERIFIED .* bundle=3\$" "$out"
curl -s -o since1.der "$TRUST/since/1"
cat v2.der v3.der > want1.der
same "mayflyd's /trust/since/1 is bundles 2 and 3" since1.der want1.der
out=$(timeout 20 "$MV" --roots ca/certs/root-a.pem --roots ca/certs/root-b.pem --roots ca/certs/root-c.pem \
	--bundle v1.der --bundles-from "$TRUST/since/1" --chain e.chain --host $HOST --max-lifetime 86400 2>&1)
check "mayfly-verify --bundles-from URL: bundle 1 to 3, chain to E" "^OK path=3 anchor=$PE bundle=3 " "$out"

# Hostile answers. evil/NAME/since/N holds each (mkevil NAME N FILE...); a
# device on bundle 1 (a fresh copy) must refuse it and keep its stored state.
# flip FILE OUT: one bit changed inside the first pin (signed content).
flip() {
	perl -e 'open(F, "<:raw", $ARGV[0]) or die; local $/; my $d = <F>;
		my $i = index($d, "\x04\x20") + 2 + 31; substr($d, $i, 1) = chr(ord(substr($d, $i, 1)) ^ 1);
		open(O, ">:raw", $ARGV[1]) or die; print O $d' "$1" "$2"
}
mkevil() {
	n=$1
	v=$2
	shift 2
	mkdir -p "evil/$n/since"
	cat "$@" > "evil/$n/since/$v"
}
flip v2.der v2-forged.der
head -c 100 v2.der > v2-cut.der
head -c $(($(wc -c < v3.der) - 7)) v3.der > v3-cut.der
mkevil stolen 1 v9.der
mkevil stolen-first 1 v9.der v2.der v3.der
mkevil forged 1 v2-forged.der v3.der
mkevil reordered 1 v3.der v2.der
mkevil truncated 1 v2-cut.der
mkevil one-short 1 v2-short.der v3.der
mkevil replayed 1 v1.der
for v in stolen:MFV_ERR_BUNDLE_THRESHOLD stolen-first:MFV_ERR_BUNDLE_THRESHOLD \
	forged:MFV_ERR_BAD_SIGNATURE reordered:MFV_ERR_BUNDLE_THRESHOLD \
	truncated:MFV_ERR_BUNDLE_MALFORMED one-short:MFV_ERR_BUNDLE_THRESHOLD; do
	n=${v%%:*} e=${v#*:}
	cp v1.der "dev-$n.state"
	out=$(device "dev-$n.state" e --trust-url "http://127.0.0.1:$EVIL/$n")
	check "hostile answer '$n': refused" "^TRUST REFUSED $e[A-Z_]* applied=0 version=1\$" "$out"
	check "hostile answer '$n': no handshake" "^REFUSED MFV_ERR_UNTRUSTED_ROOT" "$out"
	same "hostile answer '$n': stored state unchanged" "dev-$n.state" v1.der
done
out=$(device dev-stolen.state e --trust-url "$TRUST")
check "after bundle 9, the real answer still applies" "^TRUST applied=2 version=3 stored\$" "$out"
check "... and the device connects" "^VERIFIED .* bundle=3\$" "$out"
# Bundle 9 to a device that already dropped A.
mkevil stolen-late 3 v9.der
cp got-v3.der dev-late.state
out=$(device dev-late.state e --trust-url "http://127.0.0.1:$EVIL/stolen-late" --update-first)
check "bundle 9 on bundle 3: refused" "^TRUST REFUSED MFV_ERR_BUNDLE_[A-Z_]* applied=0 version=3\$" "$out"
check "... the device stays on 3" "^VERIFIED .* bundle=3\$" "$out"
same "... stored state unchanged" dev-late.state got-v3.der
# Replays: bundle 1 to a device on 1, bundles 1 and 2 to one on 3.
cp v1.der dev-replayed.state
out=$(device dev-replayed.state e --trust-url "http://127.0.0.1:$EVIL/replayed")
check "replayed bundle 1 on bundle 1: nothing applied" "^TRUST applied=0 version=1 unchanged\$" "$out"
same "... stored state unchanged" dev-replayed.state v1.der
mkevil rollback 3 v1.der v2.der
cp sleeper.state dev-rollback.state
out=$(device dev-rollback.state e --trust-url "http://127.0.0.1:$EVIL/rollback" --update-first)
check "bundles 1 and 2 replayed on bundle 3: nothing applied" "^TRUST applied=0 version=3 unchanged\$" "$out"
check "... the device stays on 3" "^VERIFIED .* bundle=3\$" "$out"
same "... stored state unchanged" dev-rollback.state got-v3.der
# A cut answer: bundle 2 complete, bundle 3 cut. 2 is progress nobody
# could forge, so it is kept; the real answer brings 3.
mkevil cut 1 v2.der v3-cut.der
cp v1.der dev-cut.state
out=$(device dev-cut.state e --trust-url "http://127.0.0.1:$EVIL/cut")
check "cut answer: bundle 2 kept, 3 refused" "^TRUST REFUSED MFV_ERR_[A-Z_]* applied=1 version=2\$" "$out"
same "cut answer: bundle 2 stored" dev-cut.state got-v2.der
check "cut answer: the retry still cannot anchor" "^REFUSED MFV_ERR_UNTRUSTED_ROOT" "$out"
out=$(device dev-cut.state e --trust-url "$TRUST")
check "then the real /trust/since/2" "^TRUST applied=1 version=3 stored\$" "$out"
check "... verifies" "^VERIFIED .* bundle=3\$" "$out"
# Not an answer at all.
cp v1.der dev-404.state
out=$(device dev-404.state e --trust-url "http://127.0.0.1:$OPORT/nothing")
check "HTTP 404 from the trust URL: an error, no change" "^TRUST ERROR .*: HTTP status not 200\$" "$out"
check "... and the chain is refused" "^REFUSED MFV_ERR_UNTRUSTED_ROOT" "$out"
same "... stored state unchanged" dev-404.state v1.der

# ---- 4. the intermediate rotation, seen from outside ---------------------------------
# Every leaf issued while it rotated, under the intermediate then active.
n=$(ls load?.pem 2>/dev/null | wc -l)
if [ "$n" = 8 ] && ! grep -q failed load.log &&
   openssl verify -CAfile ca/certs/root-b.pem -untrusted ca/certs/issuing-2.pem load?.pem > load.v 2>&1 &&
   [ "$(grep -c ': OK$' load.v)" = 8 ]; then
	ok "8 leaves issued while the intermediate rotated: none failed, all verify"
else bad "issuance during the rotation: $n issued: $(cat load.log load.v)"; fi
# The ACME orders made meanwhile, each with the chain uacme saved.
n=0 good=0
for i in 0 1 2 3; do
	[ -f acme$i.pem ] || continue
	n=$((n + 1))
	openssl x509 -in acme$i.pem -out acme$i.leaf
	openssl verify -CAfile ua-roots.pem -untrusted acme$i.pem acme$i.leaf > /dev/null 2>&1 &&
		good=$((good + 1))
done
if [ $n = 4 ] && [ $good = 4 ] && ! grep -q failed ua-load.log; then
	ok "4 ACME orders (uacme) while the intermediate rotated: none failed, all verify"
else bad "ACME during the rotation: $n issued, $good verify: $(cat ua-load.log)"; fi
stop_pid dpid
start_mayflyd
# ocsp_of NAME ISSUER: mayflyd's OCSP answer for NAME.pem, as the device or
# nginx would fetch it.
ocsp_of() {
	timeout 20 openssl ocsp -issuer "ca/certs/$2.pem" -cert "$1.pem" -no_nonce \
		-url "http://127.0.0.1:$OPORT/ocsp" -CAfile "$3" -respout "$1.ocsp" > "$1.ocsp.txt" 2>&1
}
ocsp_of l2 issuing-2 ca/certs/root-b.pem && grep -q "l2.pem: good" l2.ocsp.txt &&
	ok "OCSP: a leaf of the old intermediate is answered good" || bad "OCSP for issuing-2: $(cat l2.ocsp.txt)"
ocsp_of le issuing-3 ca/certs/root-e.pem && grep -q "le.pem: good" le.ocsp.txt &&
	ok "OCSP: a leaf of the new one too" || bad "OCSP for issuing-3: $(cat le.ocsp.txt)"
out=$(device sleeper.state e --ocsp le.ocsp)
check "the device takes mayflyd's OCSP answer for the new leaf" "^VERIFIED .* ocsp-good.* bundle=3\$" "$out"
for i in issuing-2 issuing-3; do
	code=$(curl -s -o "$i.crl" -w '%{http_code}' "http://127.0.0.1:$OPORT/crl/$i.crl")
	if [ "$code" = 200 ] && openssl crl -inform DER -in "$i.crl" -CAfile "ca/certs/$i.pem" -noout \
		> "$i.crl.txt" 2>&1 && grep -q 'verify OK' "$i.crl.txt"; then
		ok "CRL of $i served and signed by it"
	else bad "CRL of $i: HTTP $code $(cat "$i.crl.txt" 2>/dev/null)"; fi
done

# ---- 5. a CA outage of 48 hours -------------------------------------------------------
# mayflyd goes down; the server holds today's certificate (e) and those of
# the next two days (d1, d2, made above). Time is moved with the device's
# clock, not by sleeping.
stop_pid dpid
T0=$(date +%s)
for v in 12:e:VERIFIED 12:d1:REFUSED.MFV_ERR_NOT_YET_VALID 36:d1:VERIFIED 36:e:REFUSED.MFV_ERR_EXPIRED \
	60:d2:VERIFIED 60:d1:REFUSED.MFV_ERR_EXPIRED; do
	h=${v%%:*} rest=${v#*:}
	out=$(device sleeper.state "${rest%%:*}" --time $((T0 + h * 3600)))
	check "outage, hour $h: ${rest%%:*}" "^${rest#*:}" "$out"
done
# Every second of the 48 hours (and of the third day) is covered: each
# certificate starts before the one before it ends, and the device accepts
# each from its first second to its last.
if [ "$(na d1.pem start)" -lt "$(na le.pem)" ] && [ "$(na d2.pem start)" -lt "$(na d1.pem)" ] &&
   [ "$(na d2.pem)" -ge $((T0 + 67 * 3600)) ]; then
	ok "outage: the three certificates overlap and cover 67 hours"
else bad "outage: a gap:$(for d in le d1 d2; do printf ' %s..%s' "$(na $d.pem start)" "$(na $d.pem)"; done)"; fi
for d in d1 d2; do
	out=$(device sleeper.state $d --time "$(na $d.pem start)")
	check "outage: $d at its first second" "^VERIFIED" "$out"
	out=$(device sleeper.state $d --time "$(na $d.pem)")
	check "outage: $d at its last second" "^VERIFIED" "$out"
done

# The server side of the outage: est-renew, run by its timer with the CA
# down, swaps each window in when it starts (and says it cannot order the
# next: mayflyd is down).
for v in 12:le 36:d1 60:d2; do
	h=${v%%:*} want=${v#*:}
	EST_RENEW_NOW=$((T0 + h * 3600)) timeout 60 sh "$ER" srv/est-renew.conf > "est-renew-$h.log" 2>&1
	[ "$want" = le ] || grep -q "swapped in window $(na $want.pem start)" "est-renew-$h.log" ||
		bad "outage, hour $h: est-renew did not swap in $want: $(cat "est-renew-$h.log")"
	if [ "$(openssl x509 -in srv/cert.pem -noout -serial)" = "$(openssl x509 -in $want.pem -noout -serial)" ] &&
	   [ "$(openssl pkey -in srv/key.pem -pubout)" = "$(openssl x509 -in $want.pem -noout -pubkey)" ]; then
		ok "outage, hour $h: est-renew serves $want"
	else bad "outage, hour $h: est-renew serves $(openssl x509 -in srv/cert.pem -noout -serial), not $want"; fi
done
[ "$(wc -l < srv/reloads 2>/dev/null)" = 2 ] && ok "outage: the server was reloaded at each swap" ||
	bad "outage: reloads: $(cat srv/reloads 2>/dev/null)"

echo "rotation: $pass passed, $fail failed"
[ $fail -eq 0 ] || keep=1
[ $fail -eq 0 ]
