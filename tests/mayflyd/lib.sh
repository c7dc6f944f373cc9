# lib.sh: what the shell tests that run the real mayflyd share. Sourced
# after $work (the test's temporary directory) is set; mayflyd logs to
# $work/d.log and its pid is $dpid.

# hold_port VAR: sets VAR to a port on 127.0.0.1 held for this test, for a
# server that cannot bind port 0 and say which port it got, or whose port
# must be known before it starts: certbot's and python's http.server on the
# http-01 port, ualpn on the tls-alpn-01 port (mayflyd must have both in its
# configuration first), mayflyd's OCSP port when the certificates' URLs
# name it. A helper process binds port 0 with SO_REUSEADDR and never
# listens, until this test's shell ($$) has exited. While it holds the
# port, the kernel gives it to no one else: a bind to port 0 and the local
# end of an outgoing connection skip a port that is bound, and an explicit
# bind without SO_REUSEADDR fails. A server that sets SO_REUSEADDR (all of
# those above do) may bind it and listen, as Linux lets sockets that all
# set it share a port while no other one listens. So nothing can take the
# port between the choice and the server's bind, and a server started on
# it again later finds it free: nothing to retry. The helper is detached,
# so that the test's own `wait` does not wait for it.
hold_port() {
	_hp=$work/held-port.$1
	( python3 -c '
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    try:
        os.kill(int(sys.argv[2]), 0)
    except ProcessLookupError:
        break
    time.sleep(0.5)
' "$_hp" "$$" </dev/null >/dev/null 2>&1 & )
	wait_until 30 "could not hold a port for $1" test -s "$_hp"
	eval "$1=\$(cat \"\$_hp\")"
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
