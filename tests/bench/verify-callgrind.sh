#!/bin/sh
# verify-callgrind.sh [BUILDDIR] - where does libmayfly-verify spend its
# instructions?  Runs mayfly-verify under callgrind on chains of the test
# corpus and splits the instructions executed inside mfv_verify() into the
# crypto backend (mfv_be_*: hashing and signature checks, here OpenSSL) and
# everything else (DER parsing, path building, policy).  The target is
# parsing + policy below 5% of the verification.  KEEP=1 keeps the
# temporary directory (corpus and callgrind files).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfv-bench-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM
sh "$here/../verify/gen-corpus.sh" "$tmp/c" > "$tmp/gen.log" 2>&1
now=$(cat "$tmp/c/tnow")

# run NAME ROOTS CHAIN [extra options]
run() {
	name=$1 roots=$2 chain=$3
	shift 3
	(cd "$tmp/c" && "$build/libtool" --mode=execute valgrind --tool=callgrind \
		--callgrind-out-file="$tmp/$name.out" "$build/mayfly-verify" --roots "$roots" \
		--chain "$chain" --time "$now" --host www.example.test --max-lifetime 86400 \
		--repeat "$REPEAT" "$@" \
		> "$tmp/$name.stdout" 2> "$tmp/$name.log") || { cat "$tmp/$name.log"; exit 1; }
	# One line per function ("Ir (pct) file:function [object]"); a
	# function may appear under several file names (inlined headers):
	# keep the largest count per function.
	callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$tmp/$name.out" 2>/dev/null |
	awk -v name="$name" '
		$1 ~ /^[0-9,]+$/ {
			f = ""
			for (i = 2; i <= NF; i++) if ($i ~ /:mfv_/) f = $i
			if (f == "") next
			n = $1; gsub(/,/, "", n); sub(/^.*:/, "", f)
			if (!(f in ir) || n + 0 > ir[f]) ir[f] = n + 0
		}
		END {
			total = ir["mfv_verify"]; be = 0
			for (f in ir) if (f ~ /^mfv_be_/) be += ir[f]
			if (total == 0) { print name ": mfv_verify not found"; exit 1 }
			core = total - be
			printf "%-22s verify %11d Ir  crypto backend %11d (%5.1f%%)  parsing+policy %9d (%4.2f%%)%s\n",
			       name, total, be, 100 * be / total, core, 100 * core / total,
			       (100 * core / total < 5) ? "" : "  OVER 5%"
		}'
}
# Several verifications per run, so that the backend's one-time set-up
# (OpenSSL provider and method loading) does not flatter the ratio.
REPEAT=${REPEAT:-20}
echo "instructions (Ir) inside mfv_verify(), $REPEAT verifications per run, callgrind:"
run p256-chain root.pem c-leaf24.pem
run p256-chain+ocsp root.pem c-leaf24.pem --ocsp o-good.der
run p256-ocsp-delegated root.pem c-leaf24.pem --ocsp o-deleg.der
run p384-chain proot.pem c-p384.pem
run rsa-pkcs1-chain rroot.pem c-rsa.pem
run rsa-pss-chain rroot.pem c-rpss.pem
run ed25519-chain eroot.pem c-ed25519.pem
