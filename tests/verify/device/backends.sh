#!/bin/sh
# backends.sh - the OpenSSL and mbedTLS backends must agree on the corpus.
#
# Builds one corpus with tests/verify/gen-corpus.sh, runs the case table
# tests/verify/cases.txt through corpus_run linked with each backend, and
# compares the two outputs case by case (result code, depth, flags, LKGT).
# The only difference allowed is Ed25519: mbedTLS 2.28 has no EdDSA, so
# the mbedTLS build refuses a chain signed with Ed25519 with
# UNSUPPORTED_ALG where OpenSSL accepts it.  Such a case is printed as
# SKIP with that reason, and only if the chain really holds an Ed25519
# key; every other difference fails the test.  The OpenSSL results must
# also match the expected column (as check_verify asserts).
set -u
srcdir=${srcdir:-.}
build=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfv-backends-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

if ! sh "$srcdir/tests/verify/gen-corpus.sh" "$tmp" > "$tmp/gen.log" 2>&1; then
	cat "$tmp/gen.log"
	echo "FAIL: gen-corpus.sh"
	exit 99
fi
cases="$srcdir/tests/verify/cases.txt"
"$build/mfv_corpus_openssl" "$tmp" "$cases" > "$tmp/openssl.out" || { echo "FAIL: openssl run"; exit 1; }
"$build/mfv_corpus_mbedtls" "$tmp" "$cases" > "$tmp/mbedtls.out" || { echo "FAIL: mbedtls run"; exit 1; }

fail=0 same=0 skip=0 total=0
while read -r name want got rest; do
	total=$((total + 1))
	if [ "$want" != "$got" ]; then
		echo "FAIL $name: openssl backend gave $got, expected $want"
		fail=$((fail + 1))
	fi
	mline=$(awk -v n="$name" '$1 == n { print; exit }' "$tmp/mbedtls.out")
	if [ "$mline" = "$name $want $got $rest" ]; then
		same=$((same + 1))
		continue
	fi
	mgot=$(echo "$mline" | awk '{ print $3 }')
	chain=$(awk -v n="$name" '$1 == n { print $2; exit }' "$cases")
	if [ "$mgot" = UNSUPPORTED_ALG ] &&
	   openssl crl2pkcs7 -nocrl -certfile "$tmp/$chain" 2>/dev/null |
	   openssl pkcs7 -print_certs -text -noout 2>/dev/null | grep -q ED25519; then
		echo "SKIP $name: Ed25519 chain; mbedTLS 2.28 has no EdDSA (openssl: $got, mbedtls: $mgot)"
		skip=$((skip + 1))
		continue
	fi
	echo "FAIL $name: backends disagree"
	echo "  openssl: $name $want $got $rest"
	echo "  mbedtls: $mline"
	fail=$((fail + 1))
done < "$tmp/openssl.out"

echo "backends: $total cases, $same identical, $skip skipped (Ed25519), $fail failed"
[ "$total" -gt 0 ] && [ "$fail" -eq 0 ]
