# lib.sh: what the shell tests that run the real mayflyd share. Sourced
# after $work (the test's temporary directory) is set; mayflyd logs to
# $work/d.log and its pid is $dpid.

# A port nothing listens on now, on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Fails the test with the tail of mayflyd's log (LOGTAIL lines, default 20).
fail() { echo "FAIL: $*" >&2; [ -f "$work/d.log" ] && tail -"${LOGTAIL:-20}" "$work/d.log" >&2; exit 1; }
ok() { echo "ok: $*"; }

# wait_log PATTERN [TRIES]: waits (0.1 s a try, default 100) until mayflyd
# has logged PATTERN; fails if it does not, or if mayflyd exits meanwhile.
wait_log() {
	_i=0
	until grep -q -- "$1" "$work/d.log"; do
		_i=$((_i + 1)); [ $_i -le "${2:-100}" ] || fail "mayflyd did not log $1"
		kill -0 "$dpid" 2>/dev/null || fail "mayflyd exited"
		sleep 0.1
	done
}
