#!/bin/sh
# est-renew-hostile.sh: contrib/est-renew against an EST server that
# answers wrong (tests/acme/est-hostile.py on 127.0.0.1, TLS).
#
# For each wrong answer - truncated base64, raw garbage, base64 of garbage,
# a PKCS#7 without certificates, a certificate for a key the client does
# not hold, a certificate chaining to another root, an empty body, a body
# of 64 MiB of unknown length, a right body with a wrong Content-Type, and
# a garbage cacerts answer, and no server at all - est-renew must exit non-zero, say what was
# wrong in its own words (the line it logs is matched here), not run the
# reload command, and leave the installed certificate and key as they were
# with no half-written file beside them. A conforming answer from the same
# server renews (mode good, and oneline: its base64 in one line, which
# openssl base64 -d without -A silently decodes to nothing), so the
# refusals are the answers' doing.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
for t in openssl python3 curl timeout; do
	command -v $t >/dev/null 2>&1 || { echo "est-renew-hostile.sh: $t is not installed" >&2; exit 1; }
done
ER=$top_srcdir/contrib/est-renew/est-renew.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-est-hostile.XXXXXX")
spid=
cleanup() {
	for p in $spid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM
cd "$work"

fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- the PKI: root -> ica -> the installed leaf; root2 -> ica2 elsewhere -------------
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
root() {	# root NAME
	ec "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$1" -days 30 -out "$1.pem" 2>/dev/null
}
signed() {	# signed NAME CA SUBJ EXTFILE
	ec "$1.key"
	openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 2 -extfile "$4" -out "$1.pem" 2>/dev/null
}
root root
root root2
signed ica root /CN=ica ca.ext
signed ica2 root2 /CN=ica2 ca.ext
printf 'subjectAltName=IP:127.0.0.1\n' > server.ext
signed server root /CN=127.0.0.1 server.ext
printf 'subjectAltName=DNS:host.test,DNS:www.host.test\n' > host.ext
signed host ica /CN=host.test host.ext
ec other.key
openssl req -new -key other.key -subj /CN=host.test \
	-addext subjectAltName=DNS:host.test,DNS:www.host.test -out other.csr 2>/dev/null
openssl crl2pkcs7 -nocrl -certfile ica.pem -certfile root.pem -outform DER -out cacerts.p7
openssl crl2pkcs7 -nocrl -certfile ica2.pem -certfile root2.pem -outform DER -out cacerts2.p7

# ---- the server -------------------------------------------------------------------
python3 "$top_srcdir/tests/acme/est-hostile.py" "$work" port 2> server.log &
spid=$!
i=0
while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s port ] || { cat server.log; echo "FAIL: est-hostile.py did not start"; exit 1; }
port=$(cat port)

# install: the certificate in use (leaf + intermediate) and its key, fresh.
install() {
	cat host.pem ica.pem > cert.pem
	cp host.key key.pem
	rm -f cert.pem.new key.pem.new reloaded
	sha256sum cert.pem key.pem > installed.sum
}
conf() {	# conf MODE
	printf 'EST_URL=https://127.0.0.1:%s/%s/.well-known/est\nCERT=cert.pem\nKEY=key.pem\nCA=root.pem\nRELOAD="touch reloaded"\n' \
		"$port" "$1" > "$1.conf"
}

# The controls: a conforming answer renews, with line breaks in its base64
# or without.
good() {	# good MODE
	install
	conf "$1"
	if FORCE=1 timeout 60 sh "$ER" "$1.conf" > "$1.log" 2>&1 &&
		! sha256sum -c --quiet installed.sum > /dev/null 2>&1 &&
		[ "$(openssl x509 -in cert.pem -noout -pubkey)" = "$(openssl pkey -in key.pem -pubout)" ] &&
		openssl verify -CAfile root.pem -untrusted cert.pem cert.pem > /dev/null && [ -e reloaded ]; then
		ok "$1: renewed, the new pair matches and verifies, reloaded"
	else
		bad "$1: $(cat "$1.log")"
	fi
}
good good
good oneline

# hostile MODE PATTERN: est-renew fails, logs PATTERN, changes nothing.
hostile() {
	install
	conf "$1"
	start=$(date +%s)
	rc=0
	FORCE=1 timeout 60 sh "$ER" "$1.conf" > "$1.log" 2>&1 || rc=$?
	took=$(($(date +%s) - start))
	if [ $rc = 0 ]; then
		bad "$1: est-renew exited 0: $(cat "$1.log")"
	elif [ $rc = 124 ]; then
		bad "$1: est-renew still running after 60 s"
	elif ! grep -q "^est-renew: $2" "$1.log"; then
		bad "$1: exit $rc without 'est-renew: $2': $(head -c 600 "$1.log")"
	elif ! sha256sum -c --quiet installed.sum > /dev/null 2>&1; then
		bad "$1: the installed certificate or key changed"
	elif [ -e cert.pem.new ] || [ -e key.pem.new ] || [ -e reloaded ]; then
		bad "$1: left $(ls cert.pem.new key.pem.new reloaded 2>/dev/null | tr '\n' ' ')"
	else
		ok "$1: exit $rc in ${took}s, $(grep "^est-renew: $2" "$1.log" | head -n 1)"
	fi
}
hostile truncated 'simplereenroll: the answer is not a base64 PKCS#7'
hostile garbage 'simplereenroll: the answer is not a base64 PKCS#7'
hostile b64garbage 'simplereenroll: the answer is not a base64 PKCS#7'
hostile nocerts 'simplereenroll: the answer holds no certificate'
hostile otherkey 'new certificate does not match the new key'
hostile otherroot 'new certificate does not verify against root.pem'
hostile empty 'simplereenroll: the answer is empty'
hostile huge 'simplereenroll: the answer is over [0-9]* bytes'
hostile wrongtype 'simplereenroll: answered Content-Type text/html; charset=utf-8, not application/pkcs7-mime'
hostile cacertsgarbage 'cacerts: the answer is not a base64 PKCS#7'
# No server at all: a port held bound by tests/hold-port.py, never listening.
python3 "$top_srcdir/tests/hold-port.py" downport $$ &
spid="$spid $!"
i=0
while [ ! -s downport ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat downport)
hostile down 'simplereenroll: no answer: curl: (7)'

[ $fails = 0 ] || { echo "est-renew-hostile.sh: $fails failed"; exit 1; }
echo "est-renew-hostile.sh: all passed"
