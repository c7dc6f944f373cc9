#!/bin/sh
# man-options.sh: the man pages name no option the programs do not take.
#
# Every option in the SYNOPSIS of mayfly(1), mayflyd(8) and
# mayfly-verify(1), and in each command line of mayfly(1)'s COMMANDS, is
# run alone against the built program (with a configuration file that does
# not exist, so nothing is created or started) and must not be refused as
# unknown by getopt. So that this can fail, each program and command is
# first given an option that does not exist and must refuse it as unknown:
# that proves its options are parsed before anything else can fail.
# (Every key of mayfly.yaml(5) is checked against the parser in
# tests/check_config.c, test_man_keys.)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-man-options.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
export MAYFLY_CONFIG="$work/none/mayfly.yaml"
pass=0
fail=0

# plain FILE: the troff text with the escapes that matter here undone.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/ /g' "$1"; }
# opts: the options (-x, --xyz) named in standard input, one a line, once each.
opts() { grep -oE '(^|[] [(|])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[] [(|]//' | sort -u; }

# refused PROG-AND-WORDS... OPT: prints getopt's complaint about OPT, if any.
try() {
	timeout 10 "$@" </dev/null >"$work/out" 2>&1 || true
}
unknown() {
	grep -E "unrecognized option|invalid option|unknown option" "$work/out" >/dev/null
}

# check WHAT OPTS PROG [WORDS...]: OPTS (a list) accepted by PROG WORDS.
check() {
	what=$1
	list=$2
	shift 2
	try "$@" --no-such-option-x
	if unknown; then :; else
		fail=$((fail + 1))
		echo "FAIL $what: an unknown option is not refused, so this proves nothing:"
		sed 's/^/     /' "$work/out"
		return
	fi
	for o in $list; do
		try "$@" "$o"
		if unknown; then
			fail=$((fail + 1))
			echo "FAIL $what: $o is in the man page but refused:"
			sed 's/^/     /' "$work/out"
		else
			pass=$((pass + 1))
			echo "ok   $what $o"
		fi
	done
}

synopsis() { plain "$1" | sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' | opts; }

# mayflyd: -c first, so that an accepted option never starts a daemon on
# the default configuration.
check "mayflyd" "$(synopsis "$top_srcdir/man/mayflyd.8" | grep -vx -- -c)" \
	"$top_builddir/mayflyd" -c "$work/none/mayfly.yaml"
try "$top_builddir/mayflyd" -c
unknown && { fail=$((fail + 1)); echo "FAIL mayflyd: -c refused"; } || pass=$((pass + 1))
check "mayfly-verify" "$(synopsis "$top_srcdir/man/mayfly-verify.1")" "$top_builddir/mayfly-verify"
check "mayfly" "$(synopsis "$top_srcdir/man/mayfly.1")" "$top_builddir/mayfly"

# mayfly's commands: the words before the first option or argument name
# the command ("intermediate cross-sign", "acme eab add").
plain "$top_srcdir/man/mayfly.1" |
	awk '/^\.SH COMMANDS/ { f = 1; next } /^\.SH/ { f = 0 } f && prev == ".TP" && /^\.B / { print } { prev = $0 }' |
	sed 's/^\.B //' > "$work/commands"
[ -s "$work/commands" ] || { echo "FAIL: no commands found in mayfly(1)"; exit 1; }
while read -r line; do
	words=
	for w in $line; do
		case $w in
		[a-z]*) words="$words $w" ;;
		*) break ;;
		esac
	done
	# "root add [same options]": the options of "root init".
	list=$(printf '%s\n' "$line" | opts)
	[ -n "$list" ] || continue
	# shellcheck disable=SC2086 # the command words
	check "mayfly$words" "$list" "$top_builddir/mayfly" $words
done < "$work/commands"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
