# lib.sh: what the shell tests that run the real mayflyd share. The test's
# temporary directory is $work (mfdt_tempdir makes it, or the test sets it
# before calling anything here); mayflyd logs to $work/d.log and its pid is
# $dpid.

# mfdt_tempdir NAME [VAR...]: sets $work to a new temporary directory and
# traps EXIT so that the processes whose pids the variables VAR hold (the
# test's helpers) and then mayflyd ($dpid) are stopped and waited for, and
# $work is removed (KEEP=1 keeps it). A signal ends the test through the
# EXIT trap: a trap on it that only cleaned up would let the script run on
# without its directory and daemon.
mfdt_tempdir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-$1.XXXXXX")
	shift
	mfdt_pidvars="$* dpid"
	for _v in $mfdt_pidvars; do eval "$_v="; done
	trap mfdt_cleanup EXIT
	trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM
}

mfdt_cleanup() {
	for _v in $mfdt_pidvars; do
		eval "_p=\${$_v:-}"
		[ -n "$_p" ] || continue
		kill "$_p" 2>/dev/null || true
		wait "$_p" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}

# mfdt_init_ca DIR ARGS...: `mayfly init --dir DIR --keys file ARGS...` (its
# output in $work/init.log, shown if it fails), with the OCSP listener of
# DIR/mayfly.yaml moved to port 0 (bound_port reads the port mayflyd got).
mfdt_init_ca() {
	_dir=$1
	shift
	"$top_builddir/mayfly" init --dir "$_dir" --keys file --port 8080 "$@" \
		>"$work/init.log" 2>&1 || fail_file "$work/init.log" "mayfly init"
	sed -i 's/"127.0.0.1:8080"/"127.0.0.1:0"/' "$_dir/mayfly.yaml"
	grep -q '"127.0.0.1:0"' "$_dir/mayfly.yaml" || fail "no listen address to set to port 0"
}

# hold_port VAR: sets VAR to a port on 127.0.0.1 held for this test
# (tests/hold-port.py says how), for a server that cannot bind port 0 and
# say which port it got, or whose port must be known before it starts:
# certbot's and python's http.server on the http-01 port and ualpn on the
# tls-alpn-01 port (mayflyd must have both in its configuration first),
# mayflyd's OCSP port when the certificates' URLs name it. Nothing can take
# the port between the choice and the server's bind: nothing to retry. The
# helper is detached, so that the test's own `wait` does not wait for it;
# it exits once this shell ($$) has.
hold_port() {
	_hp=$work/held-port.$1
	( python3 "$top_srcdir/tests/hold-port.py" "$_hp" "$$" </dev/null >/dev/null 2>&1 & )
	wait_until 30 "could not hold a port for $1" test -s "$_hp"
	eval "$1=\$(cat \"\$_hp\")"
	rm -f "$_hp"		# the next call waits for a file of its own
}

# Fails the test with the tail of mayflyd's log (LOGTAIL lines, default 20).
fail() { echo "FAIL: $*" >&2; [ -f "$work/d.log" ] && tail -"${LOGTAIL:-20}" "$work/d.log" >&2; exit 1; }
ok() { echo "ok: $*"; }
# fail_file FILE WHAT...: fail, showing FILE (a client's output) first. Under
# set -e a bare `cat FILE` that fails would end the test without a word;
# a missing FILE is said, with whether $work itself is gone.
fail_file() {
	_ff=$1
	shift
	if [ -f "$_ff" ]; then cat "$_ff" >&2
	elif [ -d "$work" ]; then echo "($_ff is missing)" >&2
	else echo "($work has been removed under the test)" >&2
	fi
	fail "$@"
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND (0.1 s apart) until it
# succeeds; fails the test with WHAT once SECONDS have passed, or if
# mayflyd ($dpid, when set) exits meanwhile. Deadlines are generous on
# purpose: a functional test asserts the outcome, not how fast it came.
wait_until() {
	_end=$(($(date +%s) + $1))
	_what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || fail "$_what"
		[ -z "${dpid:-}" ] || kill -0 "$dpid" 2>/dev/null || fail "mayflyd exited ($_what)"
		sleep 0.1
	done
}

# wait_log PATTERN [SECONDS]: waits (default 60 s) until mayflyd has
# logged PATTERN; fails if it does not, or if mayflyd exits meanwhile.
wait_log() {
	wait_until "${2:-60}" "mayflyd did not log $1" grep -q -- "$1" "$work/d.log"
}

# bound_port [acme]: the port mayflyd logged for its OCSP listener (the
# first listen: address), or with "acme" for the ACME/EST listener; for a
# configuration that asks for port 0. Waits for the line.
bound_port() {
	case "${1:-}" in
	acme) _re='event=listening what=acme host=[^ ]* port=' ;;
	*) _re='event=listening host=[^ ]* port=' ;;
	esac
	wait_log "$_re[0-9]"
	grep -o "$_re[0-9]*" "$work/d.log" | head -1 | sed 's/.*port=//'
}
