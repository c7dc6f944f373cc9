#!/bin/sh
# size.sh CC SRCDIR OUTDIR - cross-compile the libmayfly-verify core for a
# Cortex-M4 and report what it costs: .text (code and constants), .data and
# .bss, the worst-case stack, and the size of the context struct, against
# the targets in the project brief.  With MFV_SIZE_STRICT=1 (make size
# SIZE_STRICT=1) a missed target makes the exit status 1.
#
# Method: the stub (stub.c) provides an entry point, mem* and a backend
# that does nothing; it is linked with --gc-sections in three variants
# (calling nothing, the chain verification, everything, the trust bundles
# alone) and the .text the
# core adds is the difference to the first.  Firmware options
# (MFV_NO_RSA, MFV_NO_ED25519, MFV_NO_ERROR_TEXT, MFV_NO_ERROR_STRINGS)
# are measured as separate builds of the core.
set -eu
CC=$1 SRC=$2 OUT=$3
SIZE=${CC%gcc}size
NM=${CC%gcc}nm
V=$(cd "$SRC" && pwd)/src/verify
CFLAGS="-std=c99 -Os -mthumb -mcpu=cortex-m4 -ffunction-sections -fdata-sections
	-fstack-usage -fcallgraph-info=su -Wall -Wextra -Wconversion -Werror -I$V"
LDFLAGS="-mthumb -mcpu=cortex-m4 -nostdlib -Wl,--gc-sections -Wl,-e,mfv_size_entry"
CORE="der alg x509 name chain ocsp bundle since errors"

rm -rf "$OUT"
mkdir -p "$OUT/default"
OUT=$(cd "$OUT" && pwd)
# The default build; its .ci files feed the stack analysis.
for f in $CORE; do
	(cd "$OUT/default" && $CC $CFLAGS -c "$V/$f.c" -o "$f.o")
done
for v in 0 1 2 3; do
	(cd "$OUT" && $CC $CFLAGS -DMFV_SIZE_VARIANT=$v -c "$V/size/stub.c" -o "stub$v.o" &&
	 mv stub$v.ci stub$v.ci.x)
done

# build NAME [-DOPTION...]: the core with firmware options, in OUT/NAME.
build() {
	name=$1
	shift
	mkdir -p "$OUT/$name"
	for f in $CORE; do
		(cd "$OUT/$name" && $CC $CFLAGS "$@" -c "$V/$f.c" -o "$f.o")
	done
}
# text BUILD VARIANT: .text of the stub variant linked with that build,
# minus the bare stub.  -nostdlib: the core may use nothing of libc but the
# mem* the stub provides (libgcc stays for compiler helpers).
text() {
	objs=""
	for f in $CORE; do objs="$objs $OUT/$1/$f.o"; done
	$CC $LDFLAGS -o "$OUT/$1-$2.elf" "$OUT/stub$2.o" $objs -lgcc
	echo $(( $($SIZE -B "$OUT/$1-$2.elf" | awk 'NR == 2 { print $1 }') - ${base:-0} ))
}
build ecdsa -DMFV_NO_RSA -DMFV_NO_ED25519
build notext -DMFV_NO_ERROR_TEXT
build nostrings -DMFV_NO_ERROR_STRINGS
build nostrings-ecdsa -DMFV_NO_ERROR_STRINGS -DMFV_NO_RSA -DMFV_NO_ED25519
base=
base=$(text default 0)
chain=$(text default 1)
chain_ec=$(text ecdsa 1)
all=$(text default 2)
bundles=$(text default 3)
notext=$(text notext 2)
nostr=$(text nostrings 2)
nostr_ec=$(text nostrings-ecdsa 2)

databss=0
for f in $CORE; do
	n=$($SIZE -B "$OUT/default/$f.o" | awk 'NR == 2 { print $2 + $3 }')
	databss=$((databss + n))
done
printf '#include "mayfly_verify.h"\nchar mfv_size_ctx[sizeof(struct mfv_ctx)];\nchar mfv_size_res[sizeof(struct mfv_result)];\n' |
	$CC $CFLAGS -x c -c -o "$OUT/ctx.o" -
rm -f "$OUT/ctx.ci" "$OUT/ctx.su"
ctx=$(( 0x$($NM -S "$OUT/ctx.o" | awk '$4 == "mfv_size_ctx" { print $2 }') ))
res=$(( 0x$($NM -S "$OUT/ctx.o" | awk '$4 == "mfv_size_res" { print $2 }') ))
# Undefined symbols of the core once linked together: what it needs from
# outside besides the backend.
$CC -nostdlib -r -o "$OUT/core-r.o" $(for f in $CORE; do echo "$OUT/default/$f.o"; done)
ext=$($NM -u "$OUT/core-r.o" | awk 'NF == 2 { print $2 }' | grep -v '^mfv_be_' | sort -u | tr '\n' ' ')

echo "libmayfly-verify core, arm-none-eabi-gcc -Os -mthumb -mcpu=cortex-m4 (no crypto backend):"
echo "per object (text data bss):"
for f in $CORE; do
	$SIZE -B "$OUT/default/$f.o" | awk -v f="$f" 'NR == 2 { printf "  %-8s %6d %4d %4d\n", f, $1, $2, $3 }'
done
echo "stack, chain verification (entry calling mfv_verify_chain):"
cat "$OUT"/default/*.ci "$OUT/stub1.ci.x" | awk -v root=mfv_size_entry -f "$V/size/stack.awk" > "$OUT/stack1.txt"
cat "$OUT/stack1.txt"
echo "stack, everything (entry calling mfv_verify with OCSP, bundles):"
cat "$OUT"/default/*.ci "$OUT/stub2.ci.x" | awk -v root=mfv_size_entry -f "$V/size/stack.awk" > "$OUT/stack2.txt"
cat "$OUT/stack2.txt"
echo "stack, trust bundles (entry calling mfv_bundle_load, mfv_bundle_apply_since):"
cat "$OUT"/default/*.ci "$OUT/stub3.ci.x" | awk -v root=mfv_size_entry -f "$V/size/stack.awk" > "$OUT/stack3.txt"
cat "$OUT/stack3.txt"
stack=$(awk '/worst-case/ { print $3 }' "$OUT/stack2.txt")
stack3=$(awk '/worst-case/ { print $3 }' "$OUT/stack3.txt")
[ "$stack3" -le "$stack" ] || stack=$stack3

fail=0
check() { # name value limit unit
	if [ "$2" -le "$3" ]; then r=ok; else r="OVER TARGET"; fail=1; fi
	printf '%-44s %6d %s (target <= %d)  %s\n' "$1" "$2" "$4" "$3" "$r"
}
opt() {
	printf '%-44s %6d bytes (firmware option)\n' "$1" "$2"
}
echo "summary:"
check ".text chain verification alone" "$chain" 6144 bytes
opt "  same, MFV_NO_RSA MFV_NO_ED25519" "$chain_ec"
# The budget for everything is with error strings off (issue 12): firmware
# that logs numbers; the strings are reported apart.
check ".text everything, MFV_NO_ERROR_STRINGS" "$nostr" 10240 bytes
opt "  same, with error strings" "$all"
opt "  same, MFV_NO_ERROR_TEXT" "$notext"
opt "  same, no strings, MFV_NO_RSA MFV_NO_ED25519" "$nostr_ec"
printf '%-44s %6d bytes\n' ".text trust bundles alone (load, since/N)" "$bundles"
check ".data + .bss" "$databss" 0 bytes
check "worst-case stack (core, no backend)" "$stack" 1536 bytes
check "sizeof(struct mfv_ctx)" "$ctx" 3072 bytes
printf '%-44s %6d bytes\n' "sizeof(struct mfv_result)" "$res"
printf '%-44s %s\n' "libc/libgcc symbols used by the core" "${ext:-none}"
for s in $ext; do
	case $s in
	memcpy|memmove|memset|memcmp|__aeabi_*) ;;
	*) echo "core uses $s: only mem* allowed"; fail=1 ;;
	esac
done
# Over a target is reported; it fails the build only with SIZE_STRICT=1.
[ "${MFV_SIZE_STRICT:-}" = 1 ] || exit 0
exit $fail
