#!/bin/sh
# run.sh BIN SECONDS MAXLEN SEEDDIR... - runs the libFuzzer target BIN for
# SECONDS on a fresh working corpus (BIN.corpus) seeded from the SEEDDIRs,
# with the output in BIN.log; tests/fuzz/NAME.dict, if there is one, is
# its dictionary. Prints the executions and the final coverage;
# on a crash, leak or timeout prints the end of the log and fails (the
# input that did it is left next to BIN as crash-*, leak-* or timeout-*).
set -eu
bin=${1:?usage: run.sh BIN SECONDS MAXLEN SEEDDIR...}
secs=${2:?}
maxlen=${3:?}
shift 3
name=$(basename "$bin")
dir=$(dirname "$bin")
here=$(cd "$(dirname "$0")" && pwd)
dict=
[ -f "$here/$name.dict" ] && dict=-dict=$here/$name.dict
rm -rf "$bin.corpus"
mkdir -p "$bin.corpus"
for s in "$@"; do
	cp "$s"/* "$bin.corpus/"
done
echo "  FUZZ     $name for $secs s"
if ! (cd "$dir" && "./$name" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 \
    -rss_limit_mb=1024 -print_final_stats=1 $dict "$name.corpus") > "$bin.log" 2>&1; then
	tail -n 40 "$bin.log"
	echo "  FAIL     $name: see $bin.log"
	exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$bin.log")
cov=$(grep -E '(DONE|INITED) +cov:' "$bin.log" | tail -n 1 | sed 's/.*cov: \([0-9]*\).*/\1/')
echo "  DONE     $name: $runs runs, cov $cov"
