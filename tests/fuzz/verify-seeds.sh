#!/bin/sh
# verify-seeds.sh OUTDIR - seed corpora for the libmayfly-verify fuzz
# targets, cut from the test corpus that tests/verify/gen-corpus.sh makes:
# OUTDIR/der (single certificates), OUTDIR/chain (policy octet plus
# length-prefixed chains), OUTDIR/ocsp (leaf, issuer, response) and, if
# MKBUNDLE names the mfv-mkbundle tool, OUTDIR/bundle (length-prefixed
# trust bundles) and OUTDIR/since (bundles concatenated, as mayflyd's
# /trust/since/N answers).
set -eu
out=${1:?usage: verify-seeds.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/der" "$out/chain" "$out/ocsp" "$out/bundle" "$out/since"
sh "$here/../verify/gen-corpus.sh" "$out/corpus" > "$out/gen.log" 2>&1
c=$out/corpus

# split_pem FILE DIR: the certificates of a PEM file as DIR/p1.der, p2.der...
# (base64 decoding only: broken certificates must survive).
split_pem() {
	mkdir -p "$2"
	awk -v dir="$2" '/-----END/ { close(f); f = "" } f { print > f } /-----BEGIN/ { n++; f = dir "/p" n ".b64" }' "$1"
	for p in "$2"/p*.b64; do
		openssl base64 -d -in "$p" -out "${p%.b64}.der"
		rm -f "$p"
	done
}
# pack OUT FILE...: two-octet length before each file.
pack() {
	o=$1
	shift
	perl -e 'binmode STDOUT; for (@ARGV) { open(F, "<:raw", $_) or die; local $/; my $d = <F>; print pack("n", length $d), $d }' "$@" >> "$o"
}

tmp=$out/tmp
for f in "$c"/c-*.pem; do
	name=$(basename "$f" .pem)
	rm -rf "$tmp" && mkdir -p "$tmp"
	split_pem "$f" "$tmp"
	split_pem "$c/root.pem" "$tmp/root"
	cp "$tmp/p1.der" "$out/der/$name"
	printf '\057' > "$out/chain/$name"
	pack "$out/chain/$name" $(ls "$tmp"/p*.der | sort) "$tmp/root/p1.der"
done
rm -rf "$tmp"
split_pem "$c/leaf24.pem" "$tmp/l"
split_pem "$c/revoked.pem" "$tmp/r"
split_pem "$c/inter.pem" "$tmp/i"
for f in "$c"/o-*.der; do
	name=$(basename "$f" .der)
	leaf=$tmp/l/p1.der
	[ "$name" = o-revoked ] && leaf=$tmp/r/p1.der
	: > "$out/ocsp/$name"
	pack "$out/ocsp/$name" "$leaf" "$tmp/i/p1.der"
	cat "$f" >> "$out/ocsp/$name"
done
rm -rf "$tmp"

if [ -n "${MKBUNDLE:-}" ]; then
	now=$(cat "$c/tnow")
	"$MKBUNDLE" --version 2 --issued-at "$now" --threshold 1 --pin-cert "$c/root.pem" \
		--pin-cert "$c/rootb.pem" --sign "$c/root.pem" "$c/root.key" --out "$out/b2"
	"$MKBUNDLE" --version 3 --issued-at "$now" --not-after $((now + 86400)) --threshold 2 \
		--pin-cert "$c/rootb.pem" --pin-spki "$c/eroot.pem" --sign "$c/root.pem" "$c/root.key" \
		--sign "$c/rootb.pem" "$c/rootb.key" --out "$out/b3"
	"$MKBUNDLE" --version 4 --issued-at "$now" --threshold 1 --pin-spki "$c/eroot.pem" \
		--sign "$c/rootb.pem" "$c/rootb.key" --sign "$c/eroot.pem" "$c/eroot.key" \
		--sign "$c/rroot.pem" "$c/rroot.key" --out "$out/b4"
	pack "$out/bundle/one" "$out/b2"
	pack "$out/bundle/walk" "$out/b2" "$out/b3" "$out/b4"
	cat "$out/b2" > "$out/since/one"
	cat "$out/b2" "$out/b3" "$out/b4" > "$out/since/walk"
	cat "$out/b3" "$out/b2" > "$out/since/reordered"
	: > "$out/since/empty"
	rm -f "$out/b2" "$out/b3" "$out/b4"
fi
