#!/bin/sh
# bundle.sh: trust bundles from the CA to devices, end to end on 127.0.0.1.
#
# `mayfly init --keys softhsm` makes roots A, B and C in three SoftHSM2
# tokens and publishes bundle 1 (all three, threshold 2). Bundle 2 is
# created, signed by A and by C (each from its own token), checked by
# `mayfly bundle verify` (the device library) and published. Before that,
# publish refuses, each with its own error and without touching the
# database: a bundle signed by one root only, an old version, a bundle
# listing a root the CA has not recorded, a bundle with one byte changed,
# and a file that is not a bundle. Bundle 3 follows; then the real mayflyd
# serves /trust/latest, /trust/v/N and /trust/since/N with ETag and caching
# headers, answers 304 to If-None-Match, and a device holding version 1
# walks /trust/since/1 with mayfly-verify to anchor a leaf under the new
# roots. A publish while mayflyd runs shows at once; the export directory
# holds the same bytes; the C export compiles to the same bytes.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in openssl sqlite3 python3 curl pkcs11-tool cc; do
	command -v $t >/dev/null 2>&1 || { echo "bundle.sh: $t is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-bundle.XXXXXX")
dpid=
cleanup() {
	if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

. "$top_srcdir/tests/mayflyd/lib.sh"

M=$top_builddir/mayfly
ca=$work/ca
C=$ca/mayfly.yaml
export SOFTHSM2_CONF=$ca/softhsm2.conf
cd "$work"

# mayflyd binds port 0 and logs the port it got (bound_port); the 8080 of
# init only names the URLs in the certificates.
"$M" init --dir "$ca" --keys softhsm --port 8080 >init.log 2>&1 || { cat init.log >&2; exit 1; }
sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/' "$C"
grep -q '"127.0.0.1:0"' "$C" || fail "no listen address to set to port 0"
# The static copies go to the export directory.
sed -i 's/^    responder-lifetime: 4d$/&\n    export-dir: export/' "$C"
grep -q "export-dir: export" "$C" || fail "could not set export-dir"

# Three roots, three tokens: each root's key is in its token only.
pin=$(cat "$ca/hsm.pin")
mod=$(sed -n 's/^  module: //p' "$C")
for t in mayfly-main:root-a mayfly-backup:root-b mayfly-root-c:root-c; do
	objs=$(pkcs11-tool --module "$mod" \
		--token-label "${t%%:*}" --login --pin "$pin" --list-objects --type privkey 2>&1)
	for r in root-a root-b root-c; do
		if [ "$r" = "${t#*:}" ]; then
			echo "$objs" | grep -q "label: *$r\$" || fail "$r not in token ${t%%:*}"
		else
			! echo "$objs" | grep -q "label: *$r\$" || fail "$r in token ${t%%:*}"
		fi
	done
done
ok "roots A, B, C in three tokens"

"$M" -c "$C" bundle export --format der --out v1.der
"$M" -c "$C" bundle show v1.der > show1.txt
grep -q "^threshold    2 " show1.txt || fail "factory threshold: $(cat show1.txt)"
[ "$(grep -c '^root ' show1.txt)" = 3 ] || fail "factory roots: $(cat show1.txt)"
ok "factory bundle 1: three roots, threshold 2"

# What a refusal must leave alone: the published bundles and the audit log
# (not one row more).
state() {
	sqlite3 "$ca/mayfly.db" "SELECT group_concat(version || ':' || sha256, ' ') FROM trust_bundles;
		SELECT count(*) FROM audit_log;"
}
# refuse NAME FILE: publish must fail with exit 1 and error NAME, changing nothing.
refuse() {
	before=$(state)
	if "$M" -c "$C" bundle publish "$2" >out.txt 2>&1; then fail "published $2: $(cat out.txt)"; else rc=$?; fi
	[ "$rc" = 1 ] || fail "publish $2: exit $rc: $(cat out.txt)"
	grep -q "mayfly: bundle publish: $1: " out.txt || fail "publish $2: not $1: $(cat out.txt)"
	[ "$(state)" = "$before" ] || fail "publish $2 changed the database"
	ok "publish refuses $2: $1"
}

"$M" -c "$C" bundle create --version 2 --roots root-a,root-b,root-c --threshold 2 --out v2.der >/dev/null
cp v2.der v2-unsigned.der
"$M" -c "$C" bundle sign v2.der --root root-a >/dev/null
cp v2.der v2-one.der
if "$M" -c "$C" bundle sign v2.der --root root-a >out.txt 2>&1; then fail "signed twice"; fi
grep -q "bundle-already-signed" out.txt || fail "second signature by root-a: $(cat out.txt)"
"$M" -c "$C" bundle sign v2.der --root root-c >/dev/null
"$M" -c "$C" bundle show v2.der > show2.txt
grep -q "^signature    root-a .*: valid$" show2.txt && grep -q "^signature    root-c .*: valid$" show2.txt ||
	fail "signatures: $(cat show2.txt)"
"$M" -c "$C" bundle verify v2.der > out.txt || fail "verify v2: $(cat out.txt)"
grep -q "a device holding version 1 applies version 2" out.txt || fail "verify: $(cat out.txt)"
if "$M" -c "$C" bundle verify v2-one.der >out.txt 2>&1; then fail "verify passed one signature"; fi
grep -q "bundle-too-few-signatures" out.txt || fail "verify v2-one: $(cat out.txt)"
ok "bundle 2 signed by root-a and root-c, verified by the device library"

refuse bundle-too-few-signatures v2-unsigned.der
refuse bundle-too-few-signatures v2-one.der
refuse bundle-version-not-above v1.der
# A root the CA has not recorded, though signed by two trusted roots.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout foreign.key \
	-subj /CN=foreign -days 30 -out foreign.pem 2>/dev/null
"$M" -c "$C" bundle create --version 2 --roots root-a,root-b,file:foreign.pem --threshold 2 \
	--out v2-foreign.der >/dev/null
"$M" -c "$C" bundle sign v2-foreign.der --root root-a >/dev/null
"$M" -c "$C" bundle sign v2-foreign.der --root root-b >/dev/null
refuse bundle-unknown-root v2-foreign.der
# One byte changed inside what was signed: the last octet of the first pin.
python3 - v2.der v2-tampered.der <<'EOP'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.find(b'\x04\x20') + 2 + 31          # first OCTET STRING (32) in the roots
d[i] ^= 0x01
open(sys.argv[2], 'wb').write(d)
EOP
refuse bundle-bad-signature v2-tampered.der
head -c 100 v2.der > v2-short.der
refuse bundle-malformed v2-short.der

"$M" -c "$C" bundle publish v2.der >/dev/null
[ "$(sqlite3 "$ca/mayfly.db" 'SELECT max(version) FROM trust_bundles')" = 2 ] || fail "v2 not recorded"
refuse bundle-version-not-above v2.der
# No ceremony for a version already published.
cp v2-one.der v2-late.der
if "$M" -c "$C" bundle sign v2-late.der --root root-b >out.txt 2>&1; then fail "signed a published version"; fi
grep -q "bundle-version-not-above" out.txt || fail "sign of a published version: $(cat out.txt)"
cmp -s v2-late.der v2-one.der || fail "a refused sign changed the file"
for e in bundle-create bundle-sign bundle-publish; do
	sqlite3 "$ca/mayfly.db" "SELECT detail FROM audit_log WHERE event = '$e'" | grep -q "version=2" ||
		fail "no $e audit row for version 2"
done
"$M" -c "$C" audit verify >/dev/null || fail "audit chain"
before=$(state)
"$M" -c "$C" bundle show v2.der >/dev/null
"$M" -c "$C" bundle verify v2.der >/dev/null
"$M" -c "$C" bundle export --format der >/dev/null
[ "$(state)" = "$before" ] || fail "show, verify or export wrote to the database"
ok "bundle 2 published; create, sign and publish audited; show, verify, export write nothing"

# Version 3 drops root-c; a device holding 1 walks 2 then 3.
"$M" -c "$C" bundle create --version 3 --roots root-a,root-b --threshold 2 --out v3.der >/dev/null
"$M" -c "$C" bundle sign v3.der --root root-b >/dev/null
"$M" -c "$C" bundle sign v3.der --root root-c >/dev/null
"$M" -c "$C" bundle publish v3.der >/dev/null
# root-c signed but is not listed any more: its signature counts for version 2's threshold.
"$M" -c "$C" bundle show v3.der > show3.txt
grep -q "^signature    root-c .*: valid$" show3.txt || fail "show v3: $(cat show3.txt)"
ok "bundle 3 published (signed by root-b and root-c)"

"$top_builddir/mayflyd" -c "$C" >"$work/d.log" 2>&1 &
dpid=$!
P=$(bound_port)
[ -n "$P" ] || fail "no listening port in the log"
U=http://127.0.0.1:$P

# get PATH FILE: 200, body into FILE, headers into FILE.h
get() {
	code=$(curl -s -o "$2" -D "$2.h" -w '%{http_code}' "$U$1")
	[ "$code" = 200 ] || fail "GET $1: $code"
}
header() { grep -i "^$1:" "$2" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

get /trust/latest latest.der
cmp -s latest.der v3.der || fail "/trust/latest is not bundle 3"
get /trust/v/1 got1.der
cmp -s got1.der v1.der || fail "/trust/v/1 is not bundle 1"
get /trust/since/0 since0.der
cat v1.der v2.der v3.der > want0.der
cmp -s since0.der want0.der || fail "/trust/since/0 is not 1, 2, 3 concatenated"
get /trust/since/1 since1.der
cat v2.der v3.der > want1.der
cmp -s since1.der want1.der || fail "/trust/since/1 is not 2, 3 concatenated"
get /trust/since/3 since3.der
[ ! -s since3.der ] || fail "/trust/since/3 is not empty"
ok "GET /trust/latest, /trust/v/1, /trust/since/0, /since/1, /since/3 (empty)"

etag=$(header ETag latest.der.h)
[ -n "$etag" ] || fail "no ETag on /trust/latest"
header Cache-Control latest.der.h | grep -q '^max-age=300, public, no-transform, must-revalidate$' ||
	fail "Cache-Control of latest: $(header Cache-Control latest.der.h)"
header Cache-Control got1.der.h | grep -q '^max-age=604800, public' ||
	fail "Cache-Control of v/1: $(header Cache-Control got1.der.h)"
[ -n "$(header Last-Modified latest.der.h)" ] || fail "no Last-Modified"
header Content-Type latest.der.h | grep -q '^application/octet-stream$' || fail "Content-Type"
[ "$(header ETag got1.der.h)" != "$etag" ] || fail "v/1 and latest share an ETag"
code=$(curl -s -I -o head.txt -w '%{http_code}' "$U/trust/latest")
[ "$code" = 200 ] && [ "$(header ETag head.txt)" = "$etag" ] || fail "HEAD /trust/latest: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$U/trust/latest")
[ "$code" = 304 ] || fail "If-None-Match: $code"
ok "ETag $etag, Cache-Control, Last-Modified; 304 on If-None-Match"

for p in /trust/v/9 /trust/v/0 /trust/v/01 /trust/v/2147483648 /trust/since/-1 /trust/since/ \
	/trust/v/1/x /trust/; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$U$p")
	[ "$code" = 404 ] || fail "GET $p: $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/trust/latest")
[ "$code" = 405 ] || fail "POST /trust/latest: $code"
ok "unknown versions and bad paths: 404; POST: 405"

# A device that holds version 1 walks /trust/since/1: it splits the answer
# at each DER SEQUENCE and applies the pieces in order with the device
# library, then anchors a leaf issued today.
python3 - since1.der <<'EOP'
import sys
d = open(sys.argv[1], 'rb').read()
i = n = 0
while i < len(d):
    assert d[i] == 0x30
    l = d[i + 1]
    h = 2
    if l & 0x80:
        k = l & 0x7f
        l = int.from_bytes(d[i + 2:i + 2 + k], 'big')
        h = 2 + k
    n += 1
    open('piece%d.der' % n, 'wb').write(d[i:i + h + l])
    i += h + l
assert n == 2, n
EOP
cmp -s piece1.der v2.der && cmp -s piece2.der v3.der || fail "since/1 does not split into 2, 3"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost -out srv.csr 2>/dev/null
"$M" -c "$C" issue --csr srv.csr --out srv.pem >/dev/null 2>&1
cat srv.pem "$ca/certs/issuing-1.pem" "$ca/certs/root-a.pem" > chain.pem
"$top_builddir/mayfly-verify" --roots "$ca/certs/root-a.pem" --roots "$ca/certs/root-b.pem" \
	--roots "$ca/certs/root-c.pem" --bundle piece1.der --bundle piece2.der --chain chain.pem \
	--host localhost --time "$(date +%s)" > walk.txt 2>&1 || fail "device walk: $(cat walk.txt)"
grep -q "bundle=3" walk.txt || fail "device did not reach bundle 3: $(cat walk.txt)"
ok "a device holding version 1 applies /trust/since/1 and anchors a leaf"

# A publish while mayflyd runs: /trust/latest follows without a reload.
"$M" -c "$C" bundle create --version 4 --roots root-a,root-b --threshold 1 --out v4.der >/dev/null
"$M" -c "$C" bundle sign v4.der --root root-a >/dev/null
"$M" -c "$C" bundle sign v4.der --root root-b >/dev/null
"$M" -c "$C" bundle publish v4.der >/dev/null
i=0
until curl -s -o latest4.der "$U/trust/latest" && cmp -s latest4.der v4.der; do
	i=$((i + 1)); [ $i -le 30 ] || fail "/trust/latest still not bundle 4"
	sleep 0.1
done
wait_log "event=trust-bundles latest=4"
ok "bundle 4 served at once after publish"

# The export directory holds the same bytes, for a static server.
cmp -s "$ca"/export/trust/latest v4.der || fail "export/trust/latest"
cmp -s "$ca"/export/trust/v/2 v2.der || fail "export/trust/v/2"
cat v1.der v2.der v3.der v4.der > want.der
cmp -s "$ca"/export/trust/since/0 want.der || fail "export/trust/since/0"
cat v4.der > want.der
cmp -s "$ca"/export/trust/since/3 want.der || fail "export/trust/since/3"
curl -s -o since3.der "$U/trust/since/3"
cmp -s since3.der "$ca"/export/trust/since/3 || fail "mayflyd and the export differ on since/3"
ok "export directory: trust/latest, v/N, since/N"

# The firmware export: a C array with the same bytes as the DER export.
"$M" -c "$C" bundle export --format c --version 1 --out factory.c
"$M" -c "$C" bundle export --format der --version 1 --out factory.der
cat > dump.c <<'EOC'
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
extern const uint8_t mayfly_factory_bundle[];
extern const size_t mayfly_factory_bundle_len;
int main(void) { return fwrite(mayfly_factory_bundle, 1, mayfly_factory_bundle_len, stdout) !=
    mayfly_factory_bundle_len; }
EOC
cc -Wall -Werror -o dump dump.c factory.c
./dump > dumped.der
cmp -s dumped.der factory.der && cmp -s factory.der v1.der || fail "C export differs"
ok "bundle export --format c compiles to the factory bundle's bytes"
echo "bundle.sh: all passed"
