#!/bin/sh
# clients.sh: real ACME clients against mayflyd on 127.0.0.1.
#
# `mayfly init --dir CA --keys file` (clients-softhsm.sh: --keys softhsm), an
# acme: section appended to the generated mayfly.yaml, then the daemon:
#
#   certbot --standalone: register, certonly, renew --force-renewal, revoke,
#     certificates (certbot's OCSP check); a second account revokes the
#     first certificate once it is authorised for all its names (RFC 8555 7.6)
#   certbot --webroot (a python http.server serving the webroot), RSA key,
#     the alternate chain through root-b: certonly, renew --force-renewal,
#     revoke signed with the certificate's own key; then update_account
#     (contact) and unregister (deactivation)
#   uacme with a hook script: new account, issue, forced re-issue, revoke
#     (with the account key, then with the certificate key); an IP address
#     identifier (RFC 8738) over http-01; tls-alpn-01 (RFC 8737) answered by
#     ualpn; deactivate
#
# Every certificate a client receives must be in the issuance log (the same
# DER), verify against root-a (root-b for the alternate chain) with the
# chain the client saved and carry the names asked for. Every revocation
# must be in the log with its reason and who asked, mayflyd's own OCSP
# responder must answer revoked for it (certbot asks it too, through the AIA
# URL) and mayflyd's CRL must list it. At the end mayflyd logged no internal
# error and stops with exit 0 on SIGTERM.
#
# The listener's test options send every *.acme.test name to 127.0.0.1 and
# http-01 checks to the port the client listens on. uacme trusts only the
# CA bundle built into libcurl-gnutls (it has no option for another): it
# runs with tests/acme/uacme-cainfo.c preloaded, which sets CURLOPT_CAINFO
# to root-a on each of its curl handles, so neither the machine's bundle
# nor a mount namespace is involved (a sandbox that refuses unshare runs
# the uacme, ualpn, tls-alpn-01 and IP-identifier checks too).
#
# Environment: MAYFLY_KEYS (file, the default, or softhsm), KEEP=1 (keep
# the work directory), MAYFLY_TEST_ON_PG=1 (the log on PostgreSQL, see
# tests/pg/onpg.sh and tests/pg/on-pg.sh).
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in certbot uacme ualpn openssl sqlite3 python3 curl; do
	command -v $t >/dev/null 2>&1 || { echo "clients.sh: $t is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-acme-clients.XXXXXX")
pids=
dpid=
cleanup() {
	for p in $pids $dpid; do kill "$p" 2>/dev/null || true; done
	for p in $pids $dpid; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

. "$top_srcdir/tests/mayflyd/lib.sh"

# The OCSP port is in the URLs of every certificate (certbot asks it), so
# it is chosen before the start; H01 and TA are bound by the clients
# (certbot and python's http.server, ualpn), which mayflyd must know first.
# hold_port keeps each for this test, so nothing else can take it in
# between. The ACME listener binds port 0 and logs the port it got.
hold_port P
hold_port H01
hold_port TA
ca=$work/ca
"$top_builddir/mayfly" init --dir "$ca" --keys "${MAYFLY_KEYS:-file}" --port "$P" \
	--dns .acme.test --dns localhost >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
# MAYFLY_TEST_ON_PG=1 (tests/pg/on-pg.sh): the log moves to PostgreSQL now.
. "$top_srcdir/tests/pg/onpg.sh"
onpg_setup "$ca/mayfly.yaml" clients || fail "cannot move the log to PostgreSQL"
cat >> "$ca/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  test-resolve: [127.0.0.1, .acme.test]
  test-http01-port: $H01
  test-tlsalpn01-port: $TA
EOT
root=$ca/certs/root-a.pem
rootb=$ca/certs/root-b.pem
ica=$ca/certs/issuing-1.pem

"$top_builddir/mayflyd" -c "$ca/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
wait_log "event=listening host=127.0.0.1 port=$P\$"
AP=$(bound_port acme)
[ -n "$AP" ] || fail "no ACME port in the log"
dirurl=https://127.0.0.1:$AP/directory
ok "mayflyd (${MAYFLY_KEYS:-file} keys, $ONPG_BACKEND log): OCSP on $P, ACME on $AP, http-01 on $H01"

# The serial as the issuance log stores it (lower-case hex, no sign byte).
serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f'
}

# check_cert ROOT CERT CHAIN NAME...: verifies to ROOT with CHAIN, is in the
# issuance log, unrevoked, carries every NAME; prints the serial.
check_cert() {
	vroot=$1 cert=$2 chain=$3
	shift 3
	openssl verify -CAfile "$vroot" -untrusted "$chain" "$cert" >/dev/null ||
		fail "$cert: openssl verify against $(basename "$vroot")"
	serial=$(serial_of "$cert")
	if [ "$ONPG_BACKEND" = postgresql ]; then
		logged=$(dbq "SELECT upper(encode(der, 'hex')) FROM certificates WHERE serial = '$serial'")
	else
		logged=$(dbq "SELECT hex(der) FROM certificates WHERE serial = '$serial'")
	fi
	[ -n "$logged" ] || fail "$cert: serial $serial not in the issuance log"
	got=$(openssl x509 -in "$cert" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
	[ "$logged" = "$got" ] || fail "$cert: the issuance log holds another certificate for $serial"
	n=$(dbq "SELECT count(*) FROM revocations WHERE serial = '$serial'")
	[ "$n" = 0 ] || fail "$1: serial $serial is already revoked"
	san=$(openssl x509 -in "$cert" -noout -ext subjectAltName)
	for name in "$@"; do
		# NAME is a DNS name, or "IP Address:..." as openssl prints it.
		case "$name" in *:*) ;; *) name=DNS:$name ;; esac
		printf '%s\n' "$san" | grep -q "$name\(,\|\$\)" || fail "$cert: $name missing from the SAN"
	done
	echo "$serial"
}

# check_revoked CERT CHAIN REASON_CODE ACTOR WHO: the revocation is logged
# with the reason and by ACTOR (an SQL LIKE pattern: the account that asked,
# or acme:certkey for a request signed with the certificate's key), and
# mayflyd's OCSP responder answers revoked (it re-signs the response
# asynchronously: ask until a generous deadline; speed is the benchmark's).
check_revoked() {
	serial=$(serial_of "$1")
	n=$(dbq "SELECT count(*) FROM revocations WHERE serial = '$serial' AND reason = $3 AND actor LIKE '$4'")
	[ "$n" = 1 ] || fail "$5: revocation of $serial not logged with reason $3 by $4"
	set -- "$1" "$2" "$3" "$5"
	end=$(($(date +%s) + 30))
	while :; do
		openssl ocsp -issuer "$ica" -cert "$1" -url "http://127.0.0.1:$P/ocsp" \
			-CAfile "$root" -timeout 5 >"$work/ocsp.out" 2>&1 ||
			fail_file "$work/ocsp.out" "$4: openssl ocsp"
		grep -q "Response verify OK" "$work/ocsp.out" ||
			fail_file "$work/ocsp.out" "$4: OCSP response does not verify"
		grep -q ": revoked" "$work/ocsp.out" && break
		[ "$(date +%s)" -lt "$end" ] ||
			fail_file "$work/ocsp.out" "$4: OCSP does not say revoked for $serial"
		sleep 0.2
	done
	echo "$serial"
}

cb() {
	REQUESTS_CA_BUNDLE=$root timeout 120 certbot --config-dir "$work/cb/etc" \
		--work-dir "$work/cb/work" --logs-dir "$work/cb/log" --server "$dirurl" \
		--non-interactive "$@" >"$work/cb.out" 2>&1 || fail_file "$work/cb.out" "certbot $*"
}

# ---- certbot standalone ------------------------------------------------------
cb register --agree-tos --register-unsafely-without-email
ok "certbot register"
cb certonly --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 \
	-d www.acme.test -d api.acme.test --cert-name sa
live=$work/cb/etc/live/sa
s1=$(check_cert "$root" "$live/cert.pem" "$live/chain.pem" www.acme.test api.acme.test)
ok "certbot standalone certonly: serial $s1"
cb renew --cert-name sa --force-renewal --no-random-sleep-on-renew --standalone \
	--http-01-port "$H01" --http-01-address 127.0.0.1
s2=$(check_cert "$root" "$live/cert.pem" "$live/chain.pem" www.acme.test api.acme.test)
[ "$s1" != "$s2" ] || fail "renew returned the same certificate"
ok "certbot renew --force-renewal: serial $s2"
cb revoke --cert-path "$live/cert.pem" --reason superseded --no-delete-after-revoke
check_revoked "$live/cert.pem" "$live/chain.pem" 4 "acme:acct/%" "certbot revoke" >/dev/null
ok "certbot revoke: $s2 revoked (superseded), OCSP says revoked"
# certbot's own OCSP check, through the AIA URL of the certificate.
cb certificates --cert-name sa
grep -q "REVOKED" "$work/cb.out" || fail_file "$work/cb.out" "certbot certificates does not see $s2 revoked"
ok "certbot certificates: REVOKED (mayflyd's OCSP through the AIA URL)"

# RFC 8555 7.6: another account may revoke a certificate once it holds
# authorisations for all its names (from any of its orders); with only some
# of them it may not. The first certificate ($s1, www and api), replaced by
# the renewal, is still good.
cb2() {
	REQUESTS_CA_BUNDLE=$root timeout 120 certbot --config-dir "$work/cb2/etc" \
		--work-dir "$work/cb2/work" --logs-dir "$work/cb2/log" --server "$dirurl" \
		--non-interactive "$@" >"$work/cb2.out" 2>&1
}
first=$work/cb/etc/archive/sa/cert1.pem
[ "$(serial_of "$first")" = "$s1" ] || fail "certbot's archive/sa/cert1.pem is not $s1"
cb2 register --agree-tos --register-unsafely-without-email ||
	fail_file "$work/cb2.out" "certbot register (second account)"
cb2 certonly --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 \
	-d www.acme.test --cert-name other-www ||
	fail_file "$work/cb2.out" "certbot certonly www (second account)"
o=$work/cb2/etc/live/other-www
check_cert "$root" "$o/cert.pem" "$o/chain.pem" www.acme.test >/dev/null
if cb2 revoke --cert-path "$first" --reason affiliationchanged --no-delete-after-revoke; then
	fail "an account authorised for www.acme.test only revoked $s1"
fi
# certbot 2.1 on Python 3.11 crashes while it prints an ACME error
# ("AttributeError: can't set attribute"): the problem the server sent is in
# its log.
grep -q "urn:ietf:params:acme:error:unauthorized" "$work/cb2/log/letsencrypt.log" ||
	fail_file "$work/cb2.out" "refusal is not unauthorized"
n=$(dbq "SELECT count(*) FROM revocations WHERE serial = '$s1'")
[ "$n" = 0 ] || fail "$s1 revoked by an account authorised for some of its names only"
ok "certbot revoke by another account authorised for some of the names: refused"
cb2 certonly --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 \
	-d api.acme.test --cert-name other-api ||
	fail_file "$work/cb2.out" "certbot certonly api (second account)"
o=$work/cb2/etc/live/other-api
check_cert "$root" "$o/cert.pem" "$o/chain.pem" api.acme.test >/dev/null
cb2 revoke --cert-path "$first" --reason affiliationchanged --no-delete-after-revoke ||
	fail_file "$work/cb2.out" "certbot revoke by an account holding the authorisations"
acct1=$(dbq "SELECT actor FROM revocations WHERE serial = '$s2'")
check_revoked "$first" "$live/chain.pem" 3 "acme:acct/%" "certbot revoke (second account)" >/dev/null
n=$(dbq "SELECT count(*) FROM revocations WHERE serial = '$s1' AND actor <> '$acct1'")
[ "$n" = 1 ] || fail "$s1 not revoked by the second account"
ok "certbot revoke by another account authorised for all the names: $s1 revoked (affiliationChanged), OCSP says revoked"

# ---- certbot with an external account binding from `mayfly acme eab add` ----------
# Made while mayflyd runs (the key lives in the database): certbot's binding
# (HS256 over its account key, RFC 8555 7.3.4) is accepted and recorded; the
# same key for another certbot account, and a removed key, are refused.
# The key is base64url: it may begin with '-', so it is passed as --opt=value.
cbe() {
	REQUESTS_CA_BUNDLE=$root timeout 120 certbot --config-dir "$work/$1/etc" \
		--work-dir "$work/$1/work" --logs-dir "$work/$1/log" --server "$dirurl" \
		--non-interactive register --agree-tos --register-unsafely-without-email \
		--eab-kid="$2" --eab-hmac-key="$3" >"$work/$1.out" 2>&1
}
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" acme eab add --label "clients.sh" >"$work/eab.out" ||
	fail "mayfly acme eab add"
kid=$(sed -n 's/^kid: //p' "$work/eab.out")
hkey=$(sed -n 's/^hmac-key: //p' "$work/eab.out")
[ -n "$kid" ] && [ -n "$hkey" ] || fail "mayfly acme eab add printed no key"
cbe cbe1 "$kid" "$hkey" || fail_file "$work/cbe1.out" "certbot register with EAB"
n=$(dbq "SELECT count(*) FROM acme_accounts WHERE eab_kid = '$kid' AND status = 'valid'")
[ "$n" = 1 ] || fail "the EAB account is not recorded with its key identifier"
if cbe cbe2 "$kid" "$hkey"; then fail "one EAB key bound a second account"; fi
grep -q "urn:ietf:params:acme:error:unauthorized" "$work/cbe2/log/letsencrypt.log" ||
	fail_file "$work/cbe2.out" "second binding with one key: not unauthorized"
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" acme eab add >"$work/eab2.out" || fail "mayfly acme eab add (2)"
kid2=$(sed -n 's/^kid: //p' "$work/eab2.out")
hkey2=$(sed -n 's/^hmac-key: //p' "$work/eab2.out")
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" acme eab remove "$kid2" >/dev/null || fail "mayfly acme eab remove"
if cbe cbe3 "$kid2" "$hkey2"; then fail "a removed EAB key bound an account"; fi
n=$(dbq "SELECT count(*) FROM acme_accounts WHERE eab_kid IS NOT NULL")
[ "$n" = 1 ] || fail "refused bindings changed the accounts ($n bound)"
ok "certbot register with an EAB key from mayfly acme eab add; reuse and a removed key refused"

# ---- certbot webroot ---------------------------------------------------------
mkdir -p "$work/webroot"
python3 -m http.server "$H01" --bind 127.0.0.1 --directory "$work/webroot" \
	>"$work/http.log" 2>&1 &
pids="$pids $!"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $H01), 1)" 2>/dev/null; do
	i=$((i + 1)); [ $i -le 100 ] || fail "webroot server did not start"
	sleep 0.1
done
wr=$work/cb/etc/live/wr
# An RSA key this time (certbot's default is ECDSA P-256), and the
# alternate chain through root-b's cross-certificate (RFC 8555 7.4.2).
cb certonly --webroot -w "$work/webroot" -d web.acme.test --cert-name wr \
	--key-type rsa --rsa-key-size 2048 --preferred-chain "mayfly demo root B"
s3=$(check_cert "$rootb" "$wr/cert.pem" "$wr/chain.pem" web.acme.test)
openssl x509 -in "$wr/chain.pem" -noout -issuer | grep -q "mayfly demo root B" ||
	fail "certbot --preferred-chain did not get the chain through root-b"
if openssl verify -CAfile "$root" -untrusted "$wr/chain.pem" "$wr/cert.pem" >/dev/null 2>&1; then
	fail "the root-b chain verifies against root-a"
fi
# The same leaf chains to root-a through the default chain.
openssl verify -CAfile "$root" -untrusted "$ica" "$wr/cert.pem" >/dev/null ||
	fail "the webroot certificate does not verify against root-a through issuing-1"
ok "certbot webroot certonly (RSA, chain through root-b): serial $s3"
cb renew --cert-name wr --force-renewal --no-random-sleep-on-renew
s4=$(check_cert "$rootb" "$wr/cert.pem" "$wr/chain.pem" web.acme.test)
[ "$s3" != "$s4" ] || fail "webroot renew returned the same certificate"
openssl x509 -in "$wr/chain.pem" -noout -issuer | grep -q "mayfly demo root B" ||
	fail "certbot renew lost the preferred chain"
ok "certbot webroot renew --force-renewal: serial $s4"
# Signed with the certificate's own key (a jwk request, no account).
cb revoke --cert-path "$wr/cert.pem" --key-path "$wr/privkey.pem" \
	--reason keycompromise --no-delete-after-revoke
check_revoked "$wr/cert.pem" "$wr/chain.pem" 1 acme:certkey "certbot webroot revoke" >/dev/null
ok "certbot revoke with the certificate key: $s4 revoked (keyCompromise), OCSP says revoked"
openssl x509 -in "$wr/cert.pem" -noout -text | grep -q "rsaEncryption" ||
	fail "the webroot certificate does not carry certbot's RSA key"

# The account: a contact update, then deactivation (RFC 8555 7.3.2, 7.3.6).
cb update_account --email ops@acme.test
n=$(dbq "SELECT count(*) FROM acme_accounts WHERE contact LIKE '%mailto:ops@acme.test%'")
[ "$n" = 1 ] || fail "certbot update_account: contact not stored"
ok "certbot update_account: contact stored"
cb unregister
n=$(dbq "SELECT count(*) FROM acme_accounts WHERE contact LIKE '%mailto:ops@acme.test%' AND status = 'deactivated'")
[ "$n" = 1 ] || fail "certbot unregister: account not deactivated"
ok "certbot unregister: account deactivated"

# ---- uacme with a hook -------------------------------------------------------
cat > "$work/hook.sh" <<EOF
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN KEYAUTH; http-01 only, through the webroot.
[ "\$2" = http-01 ] || exit 1
d="$work/webroot/.well-known/acme-challenge"
case "\$1" in
begin) mkdir -p "\$d" && printf '%s' "\$5" > "\$d/\$4" ;;
done|failed) rm -f "\$d/\$4" ;;
esac
EOF
chmod +x "$work/hook.sh"
${CC:-cc} -shared -fPIC -o "$work/uacme-cainfo.so" "$top_srcdir/tests/acme/uacme-cainfo.c" -ldl \
	>"$work/shim.log" 2>&1 || fail_file "$work/shim.log" "cannot build the uacme CA shim"
{
	ua() {
		MAYFLY_TEST_CAINFO=$root LD_PRELOAD=$work/uacme-cainfo.so timeout 120 \
			uacme -c "$work/ua" -a "$dirurl" -h "$work/hook.sh" -t EC "$@" \
			>"$work/ua.out" 2>&1 || fail_file "$work/ua.out" "uacme $*"
	}
	uc=$work/ua/ua.acme.test/cert.pem
	ua -y new
	ok "uacme new account"
	ua issue ua.acme.test www.ua.acme.test
	s5=$(check_cert "$root" "$uc" "$uc" ua.acme.test www.ua.acme.test)
	ok "uacme issue: serial $s5"
	ua -f issue ua.acme.test www.ua.acme.test
	s6=$(check_cert "$root" "$uc" "$uc" ua.acme.test www.ua.acme.test)
	[ "$s5" != "$s6" ] || fail "uacme re-issue returned the same certificate"
	ok "uacme forced re-issue: serial $s6"
	# uacme renames the file it revoked: keep a copy for the checks.
	cp "$uc" "$work/ua-revoked.pem"
	ua -r 5 revoke "$uc"
	check_revoked "$work/ua-revoked.pem" "$work/ua-revoked.pem" 5 "acme:acct/%" "uacme revoke" >/dev/null
	ok "uacme revoke: $s6 revoked (cessationOfOperation), OCSP says revoked"
	# The first certificate is still good: revocation hit only the one named.
	n=$(dbq "SELECT count(*) FROM revocations WHERE serial = '$s5'")
	[ "$n" = 0 ] || fail "uacme revoke also revoked $s5"
	# The first one, revoked with its own key (uacme kept it as cert-TIMESTAMP.pem).
	old=
	for f in "$work"/ua/ua.acme.test/cert-*.pem; do
		[ -f "$f" ] && [ "$(serial_of "$f")" = "$s5" ] && old=$f
	done
	[ -n "$old" ] || fail "uacme did not keep the certificate it replaced"
	cp "$old" "$work/ua-revoked-1.pem"
	ua revoke "$old" "$work/ua/private/ua.acme.test/key.pem"
	check_revoked "$work/ua-revoked-1.pem" "$work/ua-revoked-1.pem" 0 acme:certkey "uacme revoke (certificate key)" >/dev/null
	ok "uacme revoke with the certificate key: $s5 revoked (unspecified), OCSP says revoked"

	# An IP address identifier (RFC 8738), http-01 through the webroot.
	ua issue 127.0.0.1
	s7=$(check_cert "$root" "$work/ua/127.0.0.1/cert.pem" "$work/ua/127.0.0.1/cert.pem" "IP Address:127.0.0.1")
	ok "uacme issue for the IP address 127.0.0.1: serial $s7"

	# tls-alpn-01 (RFC 8737): ualpn answers the challenge on the test port,
	# fed by uacme's hook through its unix socket.
	ualpn -b "127.0.0.1@$TA" -c "127.0.0.1@$P" -P 0 -n 1 -p "$work/ualpn.pid" \
		-s "$work/ualpn.sock" -v >"$work/ualpn.log" 2>&1 &
	pids="$pids $!"
	i=0
	until [ -S "$work/ualpn.sock" ]; do
		i=$((i + 1)); [ $i -le 100 ] || fail "ualpn did not start"
		sleep 0.1
	done
	cat > "$work/alpn-hook.sh" <<EOF
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN AUTH; tls-alpn-01 only, through ualpn.
[ "\$2" = tls-alpn-01 ] || exit 1
case "\$1" in
begin) out=\$(echo "auth \$3 \$5" | ualpn -s "$work/ualpn.sock") ;;
done|failed) out=\$(echo "unauth \$3" | ualpn -s "$work/ualpn.sock") ;;
*) exit 1 ;;
esac
[ "\$out" = OK ]
EOF
	chmod +x "$work/alpn-hook.sh"
	ua -h "$work/alpn-hook.sh" issue alpn.acme.test
	s8=$(check_cert "$root" "$work/ua/alpn.acme.test/cert.pem" "$work/ua/alpn.acme.test/cert.pem" alpn.acme.test)
	grep -q "type=tls-alpn-01 identifier=alpn.acme.test result=valid" "$work/d.log" ||
		fail "alpn.acme.test was not validated with tls-alpn-01"
	ok "uacme + ualpn tls-alpn-01: serial $s8"

	ua -y deactivate
	n=$(dbq "SELECT count(*) FROM acme_accounts WHERE status = 'deactivated'")
	[ "$n" = 2 ] || fail "uacme deactivate: account not deactivated ($n deactivated)"
	ok "uacme deactivate: account deactivated"
}

# ---- the CRL mayflyd publishes lists every revocation ------------------------------
crlurl=$(openssl x509 -in "$live/cert.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p')
revoked=$(dbq "SELECT serial FROM revocations")
[ -n "$revoked" ] || fail "no revocations in the log"
end=$(($(date +%s) + 30))
while :; do
	curl -sS --max-time 10 -o "$work/crl.der" "$crlurl" || fail "GET $crlurl"
	openssl crl -inform DER -in "$work/crl.der" -CAfile "$ica" -noout 2>"$work/crl.err" ||
		fail_file "$work/crl.err" "the CRL does not verify"
	listed=$(openssl crl -inform DER -in "$work/crl.der" -noout -text |
		sed -n 's/^ *Serial Number: *//p' | tr 'A-F' 'a-f')
	missing=
	for r in $revoked; do
		printf '%s\n' "$listed" | grep -qx "$r" || missing="$missing $r"
	done
	[ -n "$missing" ] || break
	[ "$(date +%s)" -lt "$end" ] || fail "the CRL at $crlurl lacks$missing"
	sleep 0.2
done
ok "the CRL lists all $(printf '%s\n' "$revoked" | wc -l) revocations"

# ---- the daemon served all of that without an internal error, and stops ----------
if grep -q serverInternal "$work/d.log"; then fail "serverInternal in mayflyd's log"; fi
kill "$dpid"
rc=0; wait "$dpid" || rc=$?
[ "$rc" = 0 ] || fail "mayflyd exited $rc on SIGTERM, not 0"
dpid=
grep -q "event=stopped" "$work/d.log" || fail "mayflyd did not log its stop"
ok "all clients served; mayflyd stopped cleanly"
