#!/bin/sh
# hsm-concurrent.sh: mayfly processes sharing one SoftHSM2 token at once.
#
# Every C_Login rewrites SoftHSM2's token.object (it clears the "PIN count
# low" flag), and SoftHSM2 2.6.1 drops its lock on the file after
# truncating it but before the new bytes reach it. Another process reading
# the token in that window saw an empty token and failed: hsm-unavailable,
# or key-load with the module's CKR_GENERAL_ERROR, about one process in
# twelve. `mayfly init --keys softhsm` once, then ROUNDS rounds (default
# 30) of three `mayfly issue` started together, all signing with the
# issuing key in the same token; every one of them must succeed. Before
# that, a key in a missing token must fail naming the PKCS#11 cause.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
for t in openssl; do
	command -v $t >/dev/null 2>&1 || { echo "hsm-concurrent.sh: $t is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-hsmc.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

M=$top_builddir/mayfly
ca=$work/ca
C=$ca/mayfly.yaml
export SOFTHSM2_CONF=$ca/softhsm2.conf
cd "$work"

"$M" init --dir "$ca" --keys softhsm >init.log 2>&1 || { cat init.log >&2; exit 1; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost -out s.csr 2>/dev/null
"$M" -c "$C" issue --csr s.csr --out one.pem >one.log 2>&1 || fail "issue alone: $(cat one.log)"

# A failure names what the module answered, not the noise SoftHSM2 leaves
# on OpenSSL's error queue when it starts (its rdrand probe's "dso not
# found", which is how the race above used to read).
sed 's/token=mayfly-main;object=issuing-1/token=no-such;object=issuing-1/' "$C" >bad.yaml
grep -q "token=no-such" bad.yaml || fail "could not point issuing-1 at a missing token"
cp bad.yaml "$ca/bad.yaml"
! "$M" -c "$ca/bad.yaml" issue --csr s.csr --out no.pem >no.log 2>&1 || fail "issued from a missing token"
grep -q "hsm-unavailable: .*mayfly PKCS#11::no initialised token with that label" no.log ||
	fail "missing token: $(cat no.log)"
! grep -q "dso not found" no.log || fail "SoftHSM2's start-up noise as the reason: $(cat no.log)"
ok "a missing token is named as such"

rounds=${ROUNDS:-30}
bad=0
i=0
while [ $i -lt "$rounds" ]; do
	i=$((i + 1))
	pids=
	for p in a b c; do
		"$M" -c "$C" issue --csr s.csr --out $p.pem >$p.log 2>&1 &
		pids="$pids $!"
	done
	n=0
	for pid in $pids; do
		n=$((n + 1))
		if ! wait "$pid"; then
			bad=$((bad + 1))
			echo "round $i, process $n: $(cat "$(echo abc | cut -c$n).log")" >&2
		fi
	done
done
[ "$bad" = 0 ] || fail "$bad of $((3 * rounds)) concurrent issuances failed"
ok "$((3 * rounds)) issuances, three at a time on one token"
