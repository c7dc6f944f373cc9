#!/bin/sh
# acme-seeds.sh DIR: seed corpus for fuzz-acme-jws: JWS bodies signed by
# real keys (outer and inner, every algorithm) and CSRs, each prefixed with
# the byte that selects the fuzzer's path; a nonce and identifiers.
set -eu
out=$1
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
i=0
for alg in ES256 ES384 RS256 EdDSA; do
	case $alg in
	ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/k" ;;
	ES384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/k" ;;
	RS256) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/k" ;;
	EdDSA) openssl genpkey -algorithm ED25519 -out "$tmp/k" ;;
	esac 2>/dev/null
	hdr=$(printf '{"alg":"%s","kid":"https://127.0.0.1/acct/x","nonce":"AAAAAAAAAAAAAAAAAAAAAA","url":"https://127.0.0.1/new-order"}' "$alg" | b64u)
	pay=$(printf '{"identifiers":[{"type":"dns","value":"a.acme.test"}]}' | b64u)
	sig=$(printf '%s.%s' "$hdr" "$pay" | openssl dgst -sha256 -sign "$tmp/k" 2>/dev/null | b64u || true)
	i=$((i + 1))
	printf '\000{"protected":"%s","payload":"%s","signature":"%s"}' "$hdr" "$pay" "$sig" > "$out/jws-$i"
	printf '\001{"protected":"%s","payload":"%s","signature":"%s"}' "$hdr" "$pay" "$sig" > "$out/inner-$i"
	openssl req -new -key "$tmp/k" -subj "/CN=a.acme.test" \
		-addext "subjectAltName=DNS:a.acme.test,DNS:b.acme.test,IP:127.0.0.1" \
		-outform DER -out "$tmp/csr" 2>/dev/null
	{ printf '\002'; cat "$tmp/csr"; } > "$out/csr-$i"
done
hdr=$(printf '{"alg":"HS256","kid":"kid-1","url":"https://127.0.0.1/new-account"}' | b64u)
printf '\201{"protected":"%s","payload":"e30","signature":"AAAA"}' "$hdr" > "$out/eab"
# A nonce of the right shape, and identifiers good and bad.
printf '\376%s' "$(head -c 32 /dev/urandom | b64u)" > "$out/nonce"
printf '\377a.acme.test' > "$out/ident-1"
printf '\377127.0.0.9/#x.acme.test' > "$out/ident-2"
printf '\377*.w.acme.test' > "$out/ident-3"
