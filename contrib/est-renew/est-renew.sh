#!/bin/sh
# est-renew: renews a mayfly certificate over EST simplereenroll (RFC 7030
# 4.2.2), and optionally holds the next certificates ahead of time so a CA
# outage of a day or two goes unnoticed. The current certificate and key
# authenticate the EST request (mutual TLS); the new certificate carries the
# same names with a fresh key. Needs only sh, curl and openssl (and jq for
# the forward windows).
#
#   est-renew [CONFIG]          (default /etc/mayfly/est-renew.conf)
#
# CONFIG is a shell fragment setting:
#   EST_URL   https://ca.example:8443/.well-known/est
#   CERT      certificate to renew; rewritten as leaf + intermediate
#   KEY       its private key; replaced by a new key
#   CA        the mayfly root(s) to trust, PEM
#   RENEW_AT  renew once this percentage of the lifetime has passed (default 66)
#   RELOAD    command run after a renewal, e.g. "systemctl reload nginx"
# Forward windows (issuance.forward-horizon on the CA must allow them):
#   WINDOWS   hold this many certificates dated after the current one
#             (default 0: none)
#   OVERLAP   seconds each window starts before the previous one ends
#             (default 3600); each lasts as long as the current certificate,
#             in whole hours
#   ACME_URL  the CA's ACME directory, https://ca.example:8443/directory
#   ACCOUNT_KEY  the ACME account key (RSA, PEM), made on first use
#   WEBROOT   directory the web server serves as /.well-known/acme-challenge/
#             (http-01)
# EST has no way to ask for a notBefore in the future (RFC 7030 takes only a
# CSR), and neither has mayfly's /v1/sign, so the windows come from ACME
# newOrder notBefore/notAfter (RFC 8555 7.4). Window k is stored beside the
# certificate as CERT.next.T and KEY.next.T (T: its notBefore, unix time);
# each run first swaps in the newest stored window that has started, so a
# run during an outage still moves the server to the right certificate.
# FORCE=1 in the environment renews regardless of RENEW_AT. EST_RENEW_NOW
# (unix time) replaces the clock, for tests.
# Exit status: 0 renewed or not due, 1 failure (the old files are kept).
set -eu

conf=${1:-/etc/mayfly/est-renew.conf}
case $conf in */*) ;; *) conf=./$conf ;; esac	# "." searches PATH otherwise
# shellcheck disable=SC1090
[ -r "$conf" ] && . "$conf"
: "${EST_URL:?EST_URL not set}" "${CERT:?CERT not set}" "${KEY:?KEY not set}" "${CA:?CA not set}"
RENEW_AT=${RENEW_AT:-66}
RELOAD=${RELOAD:-}
WINDOWS=${WINDOWS:-0}
OVERLAP=${OVERLAP:-3600}

log() { echo "est-renew: $*" >&2; }
now=${EST_RENEW_NOW:-$(date +%s)}
# certdate FILE start|end: a certificate's notBefore or notAfter, unix time.
certdate() { date -d "$(openssl x509 -in "$1" -noout -"$2"date | cut -d= -f2)" +%s; }
reload() {
	if [ -n "$RELOAD" ]; then
		sh -c "$RELOAD" || { log "reload command failed: $RELOAD"; exit 1; }
	fi
}

# The swap: the newest stored window that has started and not ended
# replaces the current pair; windows already over are removed.
swapped=0
for c in "$CERT".next.*; do
	[ -f "$c" ] || continue
	t=${c##*.next.}
	k="$KEY.next.$t"
	e=$(certdate "$c" end)
	if [ "$e" -le "$now" ] || [ ! -f "$k" ]; then
		log "dropping window $t: ended or without its key"
		rm -f "$c" "$k"
		continue
	fi
	[ "$t" -le "$now" ] || continue
	[ "$t" -gt "$(certdate "$CERT" start)" ] || { rm -f "$c" "$k"; continue; }
	mv -f "$k" "$KEY" && mv -f "$c" "$CERT"
	swapped=1
	log "swapped in window $t: $(openssl x509 -in "$CERT" -noout -serial), valid until $(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)"
done
[ $swapped = 0 ] || reload

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

# The same names as now: "DNS:a, IP Address:1.2.3.4" becomes "DNS:a,IP:1.2.3.4".
names() {
	openssl x509 -in "$CERT" -noout -ext subjectAltName | tail -n +2 |
		sed -e 's/^ *//' -e 's/IP Address:/IP:/g' -e 's/, /,/g'
}
# newcsr DIR: a fresh P-256 key DIR/key.pem and a CSR DIR/csr.der for the
# current names.
newcsr() {
	san=$(names)
	[ -n "$san" ] || { log "no subjectAltName in $CERT"; exit 1; }
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1/key.pem" 2>/dev/null
	cn=$(echo "$san" | cut -d, -f1 | sed 's/^[A-Za-z]*://')
	openssl req -new -key "$1/key.pem" -subj "/CN=$cn" -addext "subjectAltName=$san" \
		-outform DER -out "$1/csr.der" 2>/dev/null
}

# ---- ACME, for the forward windows --------------------------------------------
# RS256 with an RSA account key: openssl dgst -sign gives the JWS signature
# as it is (ES256 would need the DER signature taken apart).
b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# hex2bin: hex digits on stdin to bytes (POSIX printf takes octal escapes).
hex2bin() {
	tr -d ' \n' | fold -w 2 | awk 'BEGIN { for (i = 0; i < 16; i++) h[sprintf("%x", i)] = i }
		{ c = tolower($0); printf "\\%03o", h[substr(c, 1, 1)] * 16 + h[substr(c, 2, 1)] }
		END { print "" }' |
		{ read -r o; printf "$o"; }
}
acme_init() {
	: "${ACME_URL:?ACME_URL not set}" "${ACCOUNT_KEY:?ACCOUNT_KEY not set}" "${WEBROOT:?WEBROOT not set}"
	command -v jq >/dev/null || { log "jq is needed for the forward windows"; exit 1; }
	[ -f "$ACCOUNT_KEY" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$ACCOUNT_KEY" 2>/dev/null || { log "cannot make $ACCOUNT_KEY"; exit 1; }
	n=$(openssl rsa -in "$ACCOUNT_KEY" -noout -modulus | cut -d= -f2 | hex2bin | b64u)
	jwk="{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"$n\"}"
	thumb=$(printf '%s' "$jwk" | openssl dgst -sha256 -binary | b64u)
	acurl "$ACME_URL" -o "$tmp/dir.json" || { log "ACME directory: $ACME_URL"; exit 1; }
	kid=
	nonce=$(acurl -I "$(jq -r .newNonce "$tmp/dir.json")" | tr -d '\r' |
		sed -n 's/^[Rr]eplay-[Nn]once: *//p')
	apost "$(jq -r .newAccount "$tmp/dir.json")" '{"termsOfServiceAgreed":true}' acct ||
		{ log "ACME account: $(cat "$tmp/acct.body")"; exit 1; }
	kid=$(hdr acct Location)
}
acurl() { curl -sS --cacert "$CA" --max-time 30 "$@"; }
# hdr NAME HEADER: a header of the response saved as NAME.
hdr() { tr -d '\r' < "$tmp/$1.hdr" | sed -n "s/^$2: *//Ip" | tail -n 1; }
# apost URL PAYLOAD NAME: a JWS POST (PAYLOAD empty: POST-as-GET); the
# response in NAME.body and NAME.hdr; fails unless 2xx. A badNonce is
# retried once, as RFC 8555 6.5 asks.
apost() {
	for try in 1 2; do
		if [ -n "$kid" ]; then key="\"kid\":\"$kid\""; else key="\"jwk\":$jwk"; fi
		p=$(printf '{"alg":"RS256",%s,"nonce":"%s","url":"%s"}' "$key" "$nonce" "$1" | b64u)
		if [ -n "$2" ]; then b=$(printf '%s' "$2" | b64u); else b=; fi
		s=$(printf '%s.%s' "$p" "$b" | openssl dgst -sha256 -sign "$ACCOUNT_KEY" | b64u)
		code=$(acurl -H 'Content-Type: application/jose+json' -D "$tmp/$3.hdr" -o "$tmp/$3.body" \
			-w '%{http_code}' --data-binary \
			"{\"protected\":\"$p\",\"payload\":\"$b\",\"signature\":\"$s\"}" "$1") || code=000
		nonce=$(hdr "$3" Replay-Nonce)
		case $code in 2??) return 0 ;; esac
		grep -q badNonce "$tmp/$3.body" 2>/dev/null || return 1
	done
	return 1
}
# poll URL NAME STATUS...: POST-as-GET URL until its status is one of
# STATUS (bounded: 60 tries, a second apart); fails on "invalid".
poll() {
	u=$1 nm=$2
	shift 2
	i=0
	while [ $i -lt 60 ]; do
		apost "$u" "" "$nm" || return 1
		st=$(jq -r .status "$tmp/$nm.body")
		for ps in "$@"; do [ "$st" = "$ps" ] && return 0; done
		[ "$st" != invalid ] || return 1
		i=$((i + 1))
		sleep 1
	done
	return 1
}
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# window NB NA: order a certificate valid from NB to NA (unix time) for the
# current names, answer its http-01 challenges from WEBROOT, store it as
# CERT.next.NB with its key.
window() {
	w=$tmp/w$1
	mkdir -p "$w"
	newcsr "$w"
	ids=$(names | tr ',' '\n' | sed -e 's/^DNS:\(.*\)/{"type":"dns","value":"\1"}/' \
		-e 's/^IP:\(.*\)/{"type":"ip","value":"\1"}/' | paste -sd, -)
	apost "$(jq -r .newOrder "$tmp/dir.json")" \
		"{\"identifiers\":[$ids],\"notBefore\":\"$(rfc3339 "$1")\",\"notAfter\":\"$(rfc3339 "$2")\"}" \
		order || { log "newOrder for $(rfc3339 "$1"): $(cat "$tmp/order.body")"; return 1; }
	ourl=$(hdr order Location)
	for az in $(jq -r '.authorizations[]' "$tmp/order.body"); do
		apost "$az" "" authz || { log "authorization $az: $(cat "$tmp/authz.body")"; return 1; }
		[ "$(jq -r .status "$tmp/authz.body")" != valid ] || continue
		tok=$(jq -r '.challenges[] | select(.type == "http-01") | .token' "$tmp/authz.body")
		ch=$(jq -r '.challenges[] | select(.type == "http-01") | .url' "$tmp/authz.body")
		[ -n "$tok" ] || { log "no http-01 challenge in $az"; return 1; }
		# Public by design, and read by the web server's own user.
		( umask 022 && mkdir -p "$WEBROOT/.well-known/acme-challenge" &&
			printf '%s.%s' "$tok" "$thumb" > "$WEBROOT/.well-known/acme-challenge/$tok" )
		apost "$ch" '{}' chall || { log "challenge $ch: $(cat "$tmp/chall.body")"; return 1; }
		poll "$az" authz valid || { log "authorization $az: $(cat "$tmp/authz.body")"; return 1; }
		rm -f "$WEBROOT/.well-known/acme-challenge/$tok"
	done
	poll "$ourl" order ready valid || { log "order $ourl: $(cat "$tmp/order.body")"; return 1; }
	if [ "$(jq -r .status "$tmp/order.body")" = ready ]; then
		apost "$(jq -r .finalize "$tmp/order.body")" "{\"csr\":\"$(b64u < "$w/csr.der")\"}" fin ||
			{ log "finalize: $(cat "$tmp/fin.body")"; return 1; }
		poll "$ourl" order valid || { log "order $ourl: $(cat "$tmp/order.body")"; return 1; }
	fi
	apost "$(jq -r .certificate "$tmp/order.body")" "" cert ||
		{ log "certificate: $(cat "$tmp/cert.body")"; return 1; }
	openssl x509 -in "$tmp/cert.body" -out "$w/leaf.pem" 2>/dev/null ||
		{ log "the ACME server sent no certificate"; return 1; }
	[ "$(openssl x509 -in "$w/leaf.pem" -noout -pubkey)" = "$(openssl pkey -in "$w/key.pem" -pubout)" ] &&
		[ "$(certdate "$w/leaf.pem" start)" = "$1" ] ||
		{ log "window $1: the certificate does not match the key or the notBefore"; return 1; }
	openssl verify -CAfile "$CA" -untrusted "$tmp/cert.body" "$w/leaf.pem" >/dev/null 2>&1 ||
		openssl verify -attime "$1" -CAfile "$CA" -untrusted "$tmp/cert.body" "$w/leaf.pem" >/dev/null ||
		{ log "window $1 does not verify against $CA"; return 1; }
	cp "$w/key.pem" "$KEY.next.$1.new" && cp "$tmp/cert.body" "$CERT.next.$1.new"
	mv -f "$KEY.next.$1.new" "$KEY.next.$1" && mv -f "$CERT.next.$1.new" "$CERT.next.$1"
	log "window $(rfc3339 "$1") .. $(rfc3339 "$2") stored: $(openssl x509 -in "$w/leaf.pem" -noout -serial)"
}

# The next WINDOWS certificates: each starts OVERLAP before the previous one
# ends and lasts as long as the current one.
if [ "$WINDOWS" -gt 0 ]; then
	nb=$(certdate "$CERT" start)
	last=$(certdate "$CERT" end)
	# Whole hours: a certificate backdated a few minutes at issuance
	# would otherwise ask for more than the CA's cap.
	life=$((last - nb))
	[ $life -lt 7200 ] || life=$((life / 3600 * 3600))
	have=0
	for c in "$CERT".next.*; do
		[ -f "$c" ] || continue
		have=$((have + 1))
		e=$(certdate "$c" end)
		[ "$e" -le "$last" ] || last=$e
	done
	if [ $have -lt "$WINDOWS" ]; then
		acme_init
		while [ $have -lt "$WINDOWS" ]; do
			window $((last - OVERLAP)) $((last - OVERLAP + life)) || exit 1
			last=$((last - OVERLAP + life))
			have=$((have + 1))
		done
	fi
fi

# Is renewal due? Lifetimes are short (24 h), so compare seconds.
nb=$(certdate "$CERT" start)
na=$(certdate "$CERT" end)
if [ "${FORCE:-0}" != 1 ] && [ $((now - nb)) -lt $(((na - nb) * RENEW_AT / 100)) ]; then
	log "not due: $(((now - nb) * 100 / (na - nb)))% of the lifetime used, renewing at $RENEW_AT%"
	exit 0
fi
[ "$now" -lt "$na" ] || { log "certificate expired: EST re-enrolment is no longer possible"; exit 1; }

# est_get OP URL [CURL-ARGS...]: an EST answer as RFC 7030 4.1.3 has it:
# HTTP 200, Content-Type application/pkcs7-mime, a base64 certs-only PKCS#7
# of at most MAXANSWER bytes. Its certificates go to $tmp/OP.pem; anything
# else fails with a line saying what came instead, and nothing installed
# is touched. The body goes through head -c because curl's --max-filesize
# cannot stop a body whose length the server does not announce.
MAXANSWER=1048576
est_get() {
	op=$1 u=$2
	shift 2
	{
		rc=0
		curl -sS --cacert "$CA" --max-time 30 -D "$tmp/$op.hdr" -o - "$@" "$u" \
			2> "$tmp/$op.err" || rc=$?
		echo $rc > "$tmp/$op.rc"
	} | head -c $((MAXANSWER + 1)) > "$tmp/$op.b64"
	size=$(wc -c < "$tmp/$op.b64")
	code=$(tr -d '\r' 2>/dev/null < "$tmp/$op.hdr" | sed -n 's/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | tail -n 1)
	ctype=$(tr -d '\r' 2>/dev/null < "$tmp/$op.hdr" | sed -n 's/^content-type: *//Ip' | tail -n 1 |
		tr -cd '[:print:]\n')
	if [ "$size" -gt $MAXANSWER ]; then
		log "$op: the answer is over $MAXANSWER bytes"
		return 1
	fi
	if [ "$(cat "$tmp/$op.rc")" != 0 ] || [ -z "$code" ]; then
		log "$op: no answer: $(tail -n 1 "$tmp/$op.err")"
		return 1
	fi
	if [ "$code" != 200 ]; then
		log "$op answered HTTP $code: $(head -c 300 "$tmp/$op.b64" | tr -c '[:print:]' ' ')"
		return 1
	fi
	case $(echo "$ctype" | tr 'A-Z' 'a-z') in
	application/pkcs7-mime | "application/pkcs7-mime;"*) ;;
	*)
		log "$op: answered Content-Type ${ctype:-(none)}, not application/pkcs7-mime"
		return 1
		;;
	esac
	if [ "$size" = 0 ]; then
		log "$op: the answer is empty"
		return 1
	fi
	# Base64 with or without line breaks (openssl base64 -d without -A
	# silently yields nothing for a line over 64 characters).
	if ! tr -d ' \t\r\n' < "$tmp/$op.b64" | openssl base64 -d -A > "$tmp/$op.der" 2>/dev/null ||
		! openssl pkcs7 -inform DER -in "$tmp/$op.der" -print_certs -out "$tmp/$op.pem" 2>/dev/null; then
		log "$op: the answer is not a base64 PKCS#7"
		return 1
	fi
	grep -q -e '-----BEGIN CERTIFICATE-----' "$tmp/$op.pem" ||
		{ log "$op: the answer holds no certificate"; return 1; }
}

newcsr "$tmp"
openssl base64 -in "$tmp/csr.der" -out "$tmp/csr.b64"

est_get simplereenroll "$EST_URL/simplereenroll" --cert "$CERT" --key "$KEY" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$tmp/csr.b64" || exit 1
est_get cacerts "$EST_URL/cacerts" || exit 1
# RFC 7030 4.2.3: the answer holds the issued certificate alone.
openssl x509 -in "$tmp/simplereenroll.pem" -out "$tmp/leaf.pem" ||
	{ log "simplereenroll: the certificate does not parse"; exit 1; }
# The intermediates: every CA certificate that is not self-issued.
awk -v dir="$tmp" '/BEGIN CERT/{n++} {print > (dir "/ca-" n ".pem")}' "$tmp/cacerts.pem"
: > "$tmp/chain.pem"
for f in "$tmp"/ca-*.pem; do
	grep -q 'BEGIN CERT' "$f" || continue
	s=$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253 | cut -d= -f2-)
	i=$(openssl x509 -in "$f" -noout -issuer -nameopt RFC2253 | cut -d= -f2-)
	[ "$s" = "$i" ] || openssl x509 -in "$f" >> "$tmp/chain.pem"
done

# Check before installing: chains to our root, and matches the new key.
openssl verify -CAfile "$CA" -untrusted "$tmp/chain.pem" "$tmp/leaf.pem" >/dev/null ||
	{ log "new certificate does not verify against $CA"; exit 1; }
[ "$(openssl x509 -in "$tmp/leaf.pem" -noout -pubkey)" = "$(openssl pkey -in "$tmp/key.pem" -pubout)" ] ||
	{ log "new certificate does not match the new key"; exit 1; }

cat "$tmp/leaf.pem" "$tmp/chain.pem" > "$tmp/fullchain.pem"
# Same directory, then rename: readers see the old pair or the new one.
cp "$tmp/key.pem" "$KEY.new" && cp "$tmp/fullchain.pem" "$CERT.new"
mv -f "$KEY.new" "$KEY" && mv -f "$CERT.new" "$CERT"
log "renewed $(openssl x509 -in "$CERT" -noout -serial), valid until $(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)"
reload
