#!/bin/sh
# nginx.sh - the device example and the OpenSSL adapter in real handshakes.
#
# Builds a small PKI with the openssl command line (a P-256 root, an
# issuing intermediate, 24-hour and 25-hour leaves, OCSP responses made
# with `openssl ocsp`), starts nginx on 127.0.0.1 with one server block per
# scenario, and checks the verdicts:
#   mbedTLS device example (contrib/device-example):
#     24-hour leaf, right pin                    -> VERIFIED
#     25-hour leaf                               -> MFV_ERR_LIFETIME_TOO_LONG
#     wrong root pinned                          -> MFV_ERR_UNTRUSTED_ROOT
#     wrong host name                            -> MFV_ERR_NAME_MISMATCH
#     OCSP response handed in (--ocsp): good     -> VERIFIED ocsp-good
#     ... revoked                                -> MFV_ERR_OCSP_REVOKED
#     must-staple leaf without a response        -> MFV_ERR_OCSP_REQUIRED
#   (mbedTLS 2.28 has no OCSP stapling, so the staple path runs through)
#   the OpenSSL adapter, TLS 1.2 and TLS 1.3, staples from ssl_stapling_file:
#     good staple                                -> VERIFIED ocsp-good
#     revoked leaf with its revoked staple       -> MFV_ERR_OCSP_REVOKED
#     must-staple leaf, good staple              -> VERIFIED ocsp-good
#     must-staple leaf, nginx without stapling   -> MFV_ERR_OCSP_REQUIRED
#     25-hour leaf                               -> MFV_ERR_LIFETIME_TOO_LONG
# Every server listens on 127.0.0.1 only; nginx runs in the foreground from
# a temporary prefix and is stopped by its PID.
set -u
build=$(pwd)
srcdir=$(cd "${srcdir:-.}" && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "SKIP: no nginx at $NGINX"; exit 77; }
dev="$build/mayfly-device-client"
osc="$build/mfv_ossl_client"
for b in "$dev" "$osc"; do [ -x "$b" ] || { echo "FAIL: $b not built"; exit 99; }; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfv-nginx-XXXXXX") || exit 99
chmod 755 "$tmp"
npid=""
# shellcheck source=lib.sh
. "$srcdir/tests/verify/device/lib.sh"
cleanup() {
	stop_pid npid
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
cd "$tmp" || exit 99

# ---- PKI ---------------------------------------------------------------------
NOW=$(date -u +%s)
t() { date -u -d "@$((NOW + $1))" +%Y%m%d%H%M%SZ; }
mkdir -p new db
cat > ca.cnf <<'EOF'
[ ca ]
default_ca = dflt
[ dflt ]
database = $ENV::IDX
serial = $ENV::IDX.serial
new_certs_dir = new
default_md = sha256
policy = pol
unique_subject = no
[ pol ]
commonName = supplied
[ root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ inter ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:device-api.example.test
[ staple ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:device-api.example.test
tlsfeature = status_request
EOF
printf '[ req ]\ndistinguished_name = dn\n[ dn ]\n' > req.cnf
# mk NAME CN ISSUER|self START END EXT
mk() {
	[ -f "$1.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" || return 1
	openssl req -new -config req.cnf -key "$1.key" -subj "/CN=$2" -out "$1.csr" || return 1
	if [ "$3" = self ]; then
		touch "db/$1"
		IDX="db/$1" openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" \
			-out "$1.pem" -startdate "$(t "$4")" -enddate "$(t "$5")" -extensions "$6" \
			-extfile ca.cnf -notext -rand_serial 2>/dev/null
	else
		touch "db/$3"
		IDX="db/$3" openssl ca -batch -config ca.cnf -keyfile "$3.key" -cert "$3.pem" -in "$1.csr" \
			-out "$1.pem" -startdate "$(t "$4")" -enddate "$(t "$5")" -extensions "$6" \
			-extfile ca.cnf -notext -rand_serial 2>/dev/null
	fi
}
gen() {
	mk root "Device Test Root" self -864000 315360000 root &&
	mk other "Another Root" self -864000 315360000 root &&
	mk inter "Device Issuing CA" root -432000 31536000 inter &&
	mk leaf24 device-api.example.test inter -3600 82800 leaf &&
	cp leaf24.key leaf25.key && mk leaf25 device-api.example.test inter -3600 86400 leaf &&
	mk revoked device-api.example.test inter -3600 82800 leaf &&
	mk staple device-api.example.test inter -3600 82800 staple &&
	IDX=db/inter openssl ca -config ca.cnf -keyfile inter.key -cert inter.pem -revoke revoked.pem 2>/dev/null &&
	for c in leaf24 leaf25 revoked staple; do
		cat "$c.pem" inter.pem root.pem > "$c.chain" || return 1
		openssl ocsp -issuer inter.pem -cert "$c.pem" -no_nonce -reqout "$c.req" 2>/dev/null &&
		openssl ocsp -index db/inter -CA inter.pem -rsigner inter.pem -rkey inter.key \
			-resp_no_certs -ndays 1 -reqin "$c.req" -respout "$c.ocsp" >/dev/null 2>&1 || return 1
	done
}
if ! gen > gen.log 2>&1; then cat gen.log; echo "FAIL: PKI generation"; exit 99; fi
pin() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
PIN=$(pin root.pem)
OTHER=$(pin other.pem)
HOST=device-api.example.test

# ---- nginx -------------------------------------------------------------------
# Scenarios, one port each: NAME CHAIN STAPLEFILE|-
set -- good:leaf24:leaf24.ocsp long:leaf25:- rev:revoked:revoked.ocsp \
	mstaple:staple:staple.ocsp nostaple:staple:-
start_nginx() {
	{
		nginx_head
		for s in "$@"; do
			name=${s%%:*} rest=${s#*:}; chain=${rest%%:*} st=${rest#*:}
			hold_port port || return 1
			echo "$port" > "port.$name"
			echo "  server { listen 127.0.0.1:$port ssl; server_name $HOST;"
			echo "    ssl_certificate $tmp/$chain.chain; ssl_certificate_key $tmp/$chain.key;"
			echo "    ssl_protocols TLSv1.2 TLSv1.3;"
			[ "$st" != - ] && echo "    ssl_stapling on; ssl_stapling_file $tmp/$st;"
			printf '    location / { return 200 "mayfly %s\\n"; } }\n' "$name"
		done
		echo "}"
	} > nginx.conf
	nginx_run
	ports=""
	for s in "$@"; do ports="$ports $(cat "port.${s%%:*}")"; done
	# shellcheck disable=SC2086 # a list of ports
	wait_listen "$npid" $ports
}
start_nginx "$@" || { cat error.log; echo "FAIL: nginx did not start"; exit 99; }
port() { cat "port.$1"; }

# ---- checks -------------------------------------------------------------------
fail=0 pass=0
expect "device: 24 h leaf" "VERIFIED path=3 anchor=$PIN *" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$PIN"
out=$(timeout 20 "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$PIN" 2>&1)
if echo "$out" | grep -q '^HTTP HTTP/1.1 200'; then
	pass=$((pass + 1)); echo "ok   device: HTTP 200 after VERIFIED"
else
	fail=$((fail + 1)); echo "FAIL device: no HTTP 200 after VERIFIED: $out"
fi
expect "device: 25 h leaf" "REFUSED MFV_ERR_LIFETIME_TOO_LONG depth=0*" "$dev" --connect 127.0.0.1 --port "$(port long)" --host $HOST --root-hash "$PIN"
expect "device: 25 h leaf, no cap" "VERIFIED*" "$dev" --connect 127.0.0.1 --port "$(port long)" --host $HOST --root-hash "$PIN" --max-lifetime 0
expect "device: wrong root pinned" "REFUSED MFV_ERR_UNTRUSTED_ROOT*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$OTHER"
expect "device: two pins, one right" "VERIFIED*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$OTHER" --root-hash "$PIN"
expect "device: wrong host" "REFUSED MFV_ERR_NAME_MISMATCH*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host www.example.test --root-hash "$PIN"
expect "device: OCSP handed in" "VERIFIED* ocsp-good*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$PIN" --ocsp leaf24.ocsp
expect "device: revoked (OCSP handed in)" "REFUSED MFV_ERR_OCSP_REVOKED*" "$dev" --connect 127.0.0.1 --port "$(port rev)" --host $HOST --root-hash "$PIN" --ocsp revoked.ocsp
expect "device: OCSP for another leaf" "REFUSED MFV_ERR_OCSP_NO_MATCH*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$PIN" --ocsp revoked.ocsp
expect "device: must-staple, none" "REFUSED MFV_ERR_OCSP_REQUIRED*" "$dev" --connect 127.0.0.1 --port "$(port mstaple)" --host $HOST --root-hash "$PIN"
expect "device: no clock, LKGT only" "VERIFIED* time-unknown*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$PIN" --lkgt "$((NOW - 60))"
expect "device: clock after notAfter" "REFUSED MFV_ERR_EXPIRED*" "$dev" --connect 127.0.0.1 --port "$(port good)" --host $HOST --root-hash "$PIN" --time "$((NOW + 86400))"

for v in tls1.2 tls1.3; do
	expect "openssl $v: good staple" "VERIFIED path=3 TLSv1.[23] ocsp-good" "$osc" 127.0.0.1 "$(port good)" $HOST "$PIN" 86400 $v
	expect "openssl $v: revoked staple" "REFUSED MFV_ERR_OCSP_REVOKED*" "$osc" 127.0.0.1 "$(port rev)" $HOST "$PIN" 86400 $v
	expect "openssl $v: must-staple, stapled" "VERIFIED* ocsp-good" "$osc" 127.0.0.1 "$(port mstaple)" $HOST "$PIN" 86400 $v
	expect "openssl $v: must-staple, no staple" "REFUSED MFV_ERR_OCSP_REQUIRED*" "$osc" 127.0.0.1 "$(port nostaple)" $HOST "$PIN" 86400 $v
	expect "openssl $v: 25 h leaf" "REFUSED MFV_ERR_LIFETIME_TOO_LONG*" "$osc" 127.0.0.1 "$(port long)" $HOST "$PIN" 86400 $v
	expect "openssl $v: wrong pin" "REFUSED MFV_ERR_UNTRUSTED_ROOT*" "$osc" 127.0.0.1 "$(port good)" $HOST "$OTHER" 86400 $v
done

echo "nginx: $pass passed, $fail failed"
[ $fail -eq 0 ] || keep=1
[ $fail -eq 0 ]
