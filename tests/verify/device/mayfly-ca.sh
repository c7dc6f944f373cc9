#!/bin/sh
# mayfly-ca.sh - the device side against the real mayfly CA.
#
# `mayfly init` makes a CA (file keys), `mayfly issue` a 24-hour server
# certificate for device-api.example.test, and mayflyd answers OCSP on
# 127.0.0.1.  nginx serves the certificate with `ssl_stapling on`, fetching
# its staples from mayflyd through the certificate's AIA OCSP URL.  Then:
#   device example (mbedTLS), pinned root-a           -> VERIFIED
#   device example, only some other pin               -> MFV_ERR_UNTRUSTED_ROOT
#   device example, OCSP fetched from mayflyd apart   -> VERIFIED ocsp-good
#   mayfly-verify, cross-signed path to root-b; an IP-only leaf with an
#   empty subject                                     -> OK
#   OpenSSL adapter, TLS 1.2 and 1.3, nginx's staple  -> VERIFIED ocsp-good
#   must-staple leaf (profile must-staple: true), with nginx's staple
#                                                     -> VERIFIED ocsp-good
#   `mayfly revoke` of both, nginx restarted:
#   nginx 1.22 never staples a "revoked" response (it logs an error and
#   sends none), so
#     plain leaf, OpenSSL adapter                     -> VERIFIED, no staple:
#                                                        revocation is missed
#     must-staple leaf, OpenSSL adapter               -> MFV_ERR_OCSP_REQUIRED
#     mayflyd's revoked response via ssl_stapling_file -> MFV_ERR_OCSP_REVOKED
#     device example, fresh OCSP fetched apart        -> MFV_ERR_OCSP_REVOKED
#   This is why mayfly devices should require must-staple leaves.
# Skipped (77) when mayfly, mayflyd or nginx are not there.  nginx fetches
# a staple only after the first handshake asks for one, so the staple
# checks retry a bounded number of times.
set -u
build=$(pwd)
srcdir=$(cd "${srcdir:-.}" && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
M="$build/mayfly" D="$build/mayflyd"
dev="$build/mayfly-device-client"
osc="$build/mfv_ossl_client"
for b in "$NGINX" "$M" "$D"; do [ -x "$b" ] || { echo "SKIP: $b missing"; exit 77; }; done
for b in "$dev" "$osc"; do [ -x "$b" ] || { echo "FAIL: $b not built"; exit 99; }; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfv-mayfly-XXXXXX") || exit 99
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
HOST=device-api.example.test

# ---- the CA ------------------------------------------------------------------
hold_port OPORT || { echo "FAIL: no port to hold"; exit 99; }
if ! { "$M" init --dir ca --keys file --port "$OPORT" &&
       openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
           -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" -out srv.csr &&
       "$M" -c ca/mayfly.yaml issue --csr srv.csr --out srv.pem &&
       sed 's/must-staple: false/must-staple: true/' ca/mayfly.yaml > ca/ms.yaml &&
       "$M" -c ca/ms.yaml issue --csr srv.csr --out ms.pem &&
       openssl x509 -in ms.pem -noout -ext tlsfeature | grep -q status_request; } > ca.log 2>&1; then
	cat ca.log
	echo "FAIL: mayfly init/issue"
	exit 99
fi
cat srv.pem ca/certs/issuing-1.pem ca/certs/root-a.pem > srv.chain
cat ms.pem ca/certs/issuing-1.pem ca/certs/root-a.pem > ms.chain
SERIAL=$(openssl x509 -in srv.pem -noout -serial | cut -d= -f2)
MSSERIAL=$(openssl x509 -in ms.pem -noout -serial | cut -d= -f2)
pin() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
PIN=$(pin ca/certs/root-a.pem)
PINB=$(pin ca/certs/root-b.pem)

"$D" -c ca/mayfly.yaml > mayflyd.log 2>&1 &
dpid=$!
wait_listen "$dpid" "$OPORT" || { cat mayflyd.log; echo "FAIL: mayflyd did not start"; exit 99; }

# fetch_ocsp OUT [CERT]: an OCSP response fetched the way a device without
# stapling would.
fetch_ocsp() {
	timeout 20 openssl ocsp -issuer ca/certs/issuing-1.pem -cert "${2:-srv.pem}" -no_nonce \
		-url "http://127.0.0.1:$OPORT/ocsp" -noverify -respout "$1" > "$1.txt" 2>&1
}

# ---- nginx with stapling from mayflyd ---------------------------------------------
# Three servers: the plain leaf and the must-staple leaf with staples
# fetched by nginx from mayflyd, and (once rev.der exists) the plain leaf
# with a response given as ssl_stapling_file. Their ports are held for the
# whole test (hold_port), so the restart below finds them free.
hold_port NPORT && hold_port MPORT && hold_port FPORT || { echo "FAIL: no port to hold"; exit 99; }
start_nginx() {
	{
		nginx_head
		for s in "$NPORT:srv" "$MPORT:ms"; do
			echo "  server { listen 127.0.0.1:${s%%:*} ssl; server_name $HOST;"
			echo "    ssl_certificate $tmp/${s#*:}.chain; ssl_certificate_key $tmp/srv.key;"
			echo "    ssl_protocols TLSv1.2 TLSv1.3; ssl_stapling on;"
			echo "    location / { return 200 \"mayfly\"; } }"
		done
		if [ -f rev.der ]; then
			echo "  server { listen 127.0.0.1:$FPORT ssl; server_name $HOST;"
			echo "    ssl_certificate $tmp/srv.chain; ssl_certificate_key $tmp/srv.key;"
			echo "    ssl_protocols TLSv1.2 TLSv1.3; ssl_stapling on; ssl_stapling_file $tmp/rev.der;"
			echo "    location / { return 200 \"mayfly\"; } }"
		fi
		echo "}"
	} > nginx.conf
	nginx_run
	if [ -f rev.der ]; then wait_listen "$npid" "$NPORT" "$MPORT" "$FPORT"
	else wait_listen "$npid" "$NPORT" "$MPORT"; fi
}
start_nginx_or_fail() {
	start_nginx || { cat error.log; echo "FAIL: nginx did not start"; exit 99; }
}
start_nginx_or_fail

fail=0 pass=0
expect "device: mayfly leaf, root-a pinned" "VERIFIED path=3 anchor=$PIN *" \
	"$dev" --connect 127.0.0.1 --port "$NPORT" --host $HOST --root-hash "$PIN"
expect "device: only root-b pinned (server sends root-a)" "REFUSED MFV_ERR_UNTRUSTED_ROOT*" \
	"$dev" --connect 127.0.0.1 --port "$NPORT" --host $HOST --root-hash "$PINB"
if fetch_ocsp good.der; then
	expect "device: OCSP from mayflyd, handed in" "VERIFIED* ocsp-good*" \
		"$dev" --connect 127.0.0.1 --port "$NPORT" --host $HOST --root-hash "$PIN" --ocsp good.der
else
	fail=$((fail + 1)); echo "FAIL: OCSP fetch from mayflyd"; cat good.der.txt
fi
for v in tls1.2 tls1.3; do
	expect_within 30 "openssl $v: staple from mayflyd via nginx" "VERIFIED path=3 TLSv1.[23] ocsp-good" \
		"$osc" 127.0.0.1 "$NPORT" $HOST "$PIN" 86400 $v
	expect_within 30 "openssl $v: must-staple leaf, staple via nginx" "VERIFIED path=3 TLSv1.[23] ocsp-good" \
		"$osc" 127.0.0.1 "$MPORT" $HOST "$PIN" 86400 $v
done

# What mayfly issues meets the verifier's profile rules (libmayfly-verify(3)):
# the leaf through the intermediate cross-signed by root-b, and a leaf for
# an IP address only (empty subject, critical SAN).
mv="$build/mayfly-verify"
cat srv.pem ca/certs/issuing-1.pem ca/certs/issuing-1.root-b.pem > cross.chain
expect "mayfly-verify: cross-certificate, root-b pinned" "OK path=3 *" \
	"$mv" --roots ca/certs/root-b.pem --chain cross.chain --host $HOST --max-lifetime 86400 \
	--time "$(date +%s)"
if openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ip.key -subj / \
	-addext "subjectAltName=IP:127.0.0.1" -out ip.csr > ip.log 2>&1 &&
   "$M" -c ca/mayfly.yaml issue --csr ip.csr --out ip.pem >> ip.log 2>&1; then
	expect "mayfly-verify: IP-only leaf, empty subject" "OK path=3 *" \
		"$mv" --roots ca/certs/root-a.pem --chain ip.pem --ip 127.0.0.1 --max-lifetime 86400 \
		--time "$(date +%s)"
else
	fail=$((fail + 1)); echo "FAIL: mayfly issue for an IP address"; cat ip.log
fi

# ---- revoke ------------------------------------------------------------------------
if ! { "$M" -c ca/mayfly.yaml revoke "$SERIAL" --reason keyCompromise &&
       "$M" -c ca/mayfly.yaml revoke "$MSSERIAL" --reason keyCompromise; } > revoke.log 2>&1; then
	cat revoke.log; echo "FAIL: mayfly revoke"; exit 1
fi
# mayflyd re-signs at once on revocation (wait for it, bounded); nginx
# keeps a cached staple until it expires, so start it afresh.
n=0
until { fetch_ocsp rev.der && grep -q ': revoked' rev.der.txt; } || [ $n -ge 20 ]; do sleep 0.3; n=$((n + 1)); done
stop_pid npid
start_nginx_or_fail
# The first handshakes make nginx ask mayflyd; wait (bounded) until it has
# seen the revoked status of both leaves, so that what follows is not just
# the first handshake's missing staple.
n=0
while [ "$(grep -c 'certificate status "revoked"' error.log)" -lt 2 ] && [ $n -lt 30 ]; do
	timeout 20 "$osc" 127.0.0.1 "$NPORT" $HOST "$PIN" 86400 > /dev/null 2>&1
	timeout 20 "$osc" 127.0.0.1 "$MPORT" $HOST "$PIN" 86400 > /dev/null 2>&1
	sleep 0.3
	n=$((n + 1))
done
if [ "$(grep -c 'certificate status "revoked"' error.log)" -ge 2 ]; then
	pass=$((pass + 1)); echo "ok   nginx fetched the revoked status of both leaves (and staples none)"
else
	fail=$((fail + 1)); echo "FAIL nginx did not see the revoked status"
fi
for v in tls1.2 tls1.3; do
	expect "openssl $v: must-staple leaf after revoke" "REFUSED MFV_ERR_OCSP_REQUIRED*" \
		"$osc" 127.0.0.1 "$MPORT" $HOST "$PIN" 86400 $v
	expect "openssl $v: plain leaf after revoke (nginx staples nothing)" "VERIFIED path=3 TLSv1.[23]" \
		"$osc" 127.0.0.1 "$NPORT" $HOST "$PIN" 86400 $v
	expect "openssl $v: mayflyd's revoked response as ssl_stapling_file" "REFUSED MFV_ERR_OCSP_REVOKED*" \
		"$osc" 127.0.0.1 "$FPORT" $HOST "$PIN" 86400 $v
done
expect "device: OCSP from mayflyd after revoke" "REFUSED MFV_ERR_OCSP_REVOKED*" \
	"$dev" --connect 127.0.0.1 --port "$NPORT" --host $HOST --root-hash "$PIN" --ocsp rev.der
echo "mayfly-ca: $pass passed, $fail failed"
[ $fail -eq 0 ] || keep=1
[ $fail -eq 0 ]
