# lib.sh - shell helpers for the device integration tests (sourced, not run).
# shellcheck shell=sh disable=SC2154,SC2034 # $tmp, $NGINX come from the caller; npid goes back to it
# The caller sets $tmp (a private directory) and $NGINX; every server binds
# 127.0.0.1 only, every wait is bounded, and processes are stopped by PID.

# in_use PORT: something listens on TCP PORT (read from /proc/net, so no
# iproute2 needed; state 0A is LISTEN).
in_use() {
	awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# hold_port VAR: sets VAR to a port on 127.0.0.1 held until this test's
# shell ($$) exits, for nginx, which cannot bind port 0 ("invalid port"),
# and for mayflyd's OCSP port, which the certificates name before it
# starts. tests/hold-port.py keeps the port bound (SO_REUSEADDR, never
# listening): the kernel gives it to no one else, while nginx and mayflyd,
# which set SO_REUSEADDR, bind it and listen, again after a restart.
# Nothing can take it in between, so nothing is retried.
hold_port() {
	hp_f=$tmp/held-port.$1
	( python3 "$srcdir/tests/hold-port.py" "$hp_f" "$$" </dev/null >/dev/null 2>&1 & )
	hp_n=0
	until [ -s "$hp_f" ]; do
		hp_n=$((hp_n + 1))
		[ $hp_n -le 300 ] || return 1
		sleep 0.1
	done
	eval "$1=\$(cat \"\$hp_f\")"
	rm -f "$hp_f"		# the next call waits for a file of its own
}

# hold_ports VAR...: hold_port for several ports at once (the helpers
# start together, which saves a python start-up per port on a busy machine).
hold_ports() {
	for hp_v; do
		( python3 "$srcdir/tests/hold-port.py" "$tmp/held-port.$hp_v" "$$" </dev/null >/dev/null 2>&1 & )
	done
	for hp_v; do
		hp_f=$tmp/held-port.$hp_v hp_n=0
		until [ -s "$hp_f" ]; do
			hp_n=$((hp_n + 1))
			[ $hp_n -le 300 ] || return 1
			sleep 0.1
		done
		eval "$hp_v=\$(cat \"\$hp_f\")"
		rm -f "$hp_f"
	done
}

# wait_listen PID PORT...: wait (10 s at most) until every PORT listens;
# fails at once if PID has exited.
wait_listen() {
	wl_pid=$1
	shift
	wl_n=0
	while [ $wl_n -lt 100 ]; do
		kill -0 "$wl_pid" 2>/dev/null || return 1
		wl_ok=1
		for wl_p in "$@"; do in_use "$wl_p" || wl_ok=0; done
		[ $wl_ok = 1 ] && return 0
		sleep 0.1
		wl_n=$((wl_n + 1))
	done
	return 1
}

# nginx_head: the top of an nginx.conf that keeps everything in $tmp;
# the caller writes the server blocks and the closing brace.
nginx_head() {
	echo "worker_processes 1; pid $tmp/nginx.pid; error_log $tmp/error.log info;"
	echo "events { worker_connections 64; }"
	echo "http { access_log off; client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy;"
	echo "  fastcgi_temp_path $tmp/fcgi; uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;"
}

# nginx_run: start nginx on $tmp/nginx.conf in the foreground, in the
# background of this shell; its PID goes to $npid.
nginx_run() {
	"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" -g 'daemon off;' \
		2>>"$tmp/nginx.stderr" &
	npid=$!
}

# stop_pid VAR: kill the process whose PID is in $VAR, reap it, clear VAR.
stop_pid() {
	eval "sp_pid=\${$1}"
	if [ -n "$sp_pid" ]; then
		kill "$sp_pid" 2>/dev/null
		wait "$sp_pid" 2>/dev/null
	fi
	eval "$1="
}

# expect WHAT PATTERN COMMAND...: run COMMAND (20 s limit) and match the
# first line of its output against the glob PATTERN; counts pass/fail.
expect() {
	ex_what=$1 ex_pat=$2
	shift 2
	ex_out=$(timeout 20 "$@" 2>&1)
	ex_first=$(echo "$ex_out" | head -n 1)
	# shellcheck disable=SC2254 # the pattern is a glob on purpose
	case $ex_first in
	$ex_pat) pass=$((pass + 1)); echo "ok   $ex_what: $ex_first" ;;
	*) fail=$((fail + 1)); echo "FAIL $ex_what: want '$ex_pat'"; echo "$ex_out" | sed 's/^/     /' ;;
	esac
}

# expect_within TRIES WHAT PATTERN COMMAND...: like expect, but first retries
# (0.3 s apart) until the first line matches, for staples nginx fetches lazily.
expect_within() {
	ew_tries=$1 ew_what=$2 ew_pat=$3
	shift 3
	ew_i=0
	while [ $ew_i -lt "$ew_tries" ]; do
		ew_first=$(timeout 20 "$@" 2>&1 | head -n 1)
		# shellcheck disable=SC2254 # the pattern is a glob on purpose
		case $ew_first in $ew_pat) break ;; esac
		sleep 0.3
		ew_i=$((ew_i + 1))
	done
	expect "$ew_what" "$ew_pat" "$@"
}
