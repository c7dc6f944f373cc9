#!/bin/sh
# est-renew: renews a mayfly certificate over EST simplereenroll (RFC 7030
# 4.2.2). The current certificate and key authenticate the request (mutual
# TLS); the new certificate carries the same names with a fresh key. Needs
# only sh, curl and openssl.
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
# FORCE=1 in the environment renews regardless of RENEW_AT.
# Exit status: 0 renewed or not due, 1 failure (the old files are kept).
set -eu

conf=${1:-/etc/mayfly/est-renew.conf}
case $conf in */*) ;; *) conf=./$conf ;; esac	# "." searches PATH otherwise
# shellcheck disable=SC1090
[ -r "$conf" ] && . "$conf"
: "${EST_URL:?EST_URL not set}" "${CERT:?CERT not set}" "${KEY:?KEY not set}" "${CA:?CA not set}"
RENEW_AT=${RENEW_AT:-66}
RELOAD=${RELOAD:-}

log() { echo "est-renew: $*" >&2; }

# Is renewal due? Lifetimes are short (24 h), so compare seconds.
nb=$(date -d "$(openssl x509 -in "$CERT" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)" +%s)
now=$(date +%s)
if [ "${FORCE:-0}" != 1 ] && [ $((now - nb)) -lt $(((na - nb) * RENEW_AT / 100)) ]; then
	log "not due: $(((now - nb) * 100 / (na - nb)))% of the lifetime used, renewing at $RENEW_AT%"
	exit 0
fi
[ "$now" -lt "$na" ] || { log "certificate expired: EST re-enrolment is no longer possible"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077

# The same names as now: "DNS:a, IP Address:1.2.3.4" becomes "DNS:a,IP:1.2.3.4".
san=$(openssl x509 -in "$CERT" -noout -ext subjectAltName | tail -n +2 |
	sed -e 's/^ *//' -e 's/IP Address:/IP:/g' -e 's/, /,/g')
[ -n "$san" ] || { log "no subjectAltName in $CERT"; exit 1; }

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key.pem" 2>/dev/null
cn=$(echo "$san" | cut -d, -f1 | sed 's/^[A-Za-z]*://')
openssl req -new -key "$tmp/key.pem" -subj "/CN=$cn" -addext "subjectAltName=$san" \
	-outform DER -out "$tmp/csr.der" 2>/dev/null
openssl base64 -in "$tmp/csr.der" -out "$tmp/csr.b64"

code=$(curl -sS --cacert "$CA" --cert "$CERT" --key "$KEY" --max-time 30 \
	-H 'Content-Type: application/pkcs10' --data-binary @"$tmp/csr.b64" \
	-o "$tmp/resp.b64" -w '%{http_code}' "$EST_URL/simplereenroll") || code=000
if [ "$code" != 200 ]; then
	log "simplereenroll answered HTTP $code: $(head -c 300 "$tmp/resp.b64" 2>/dev/null)"
	exit 1
fi
code=$(curl -sS --cacert "$CA" --max-time 30 -o "$tmp/ca.b64" -w '%{http_code}' \
	"$EST_URL/cacerts") || code=000
[ "$code" = 200 ] || { log "cacerts answered HTTP $code"; exit 1; }

openssl base64 -d -in "$tmp/resp.b64" | openssl pkcs7 -inform DER -print_certs |
	openssl x509 -out "$tmp/leaf.pem"
openssl base64 -d -in "$tmp/ca.b64" | openssl pkcs7 -inform DER -print_certs > "$tmp/ca.pem"
# The intermediates: every CA certificate that is not self-issued.
awk -v dir="$tmp" '/BEGIN CERT/{n++} {print > (dir "/ca-" n ".pem")}' "$tmp/ca.pem"
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
if [ -n "$RELOAD" ]; then
	sh -c "$RELOAD" || { log "reload command failed: $RELOAD"; exit 1; }
fi
