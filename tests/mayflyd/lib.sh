# lib.sh: what the shell tests that run the real mayflyd share. Sourced
# after $work (the test's temporary directory) is set; mayflyd logs to
# $work/d.log and its pid is $dpid.

# A port nothing listens on now, on 127.0.0.1. Only for ports a client of
# the test binds later (certbot's http-01 port, ualpn's): a server of ours
# listens on port 0 and reports the port it got (bound_port below), so
# that no other process can take it between the choice and the bind.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Fails the test with the tail of mayflyd's log (LOGTAIL lines, default 20).
fail() { echo "FAIL: $*" >&2; [ -f "$work/d.log" ] && tail -"${LOGTAIL:-20}" "$work/d.log" >&2; exit 1; }
ok() { echo "ok: $*"; }

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
