# pgcluster.sh: a private PostgreSQL cluster for tests, to be sourced (sh).
#
# The cluster lives in one directory: DIR/data (initdb), DIR/sock (the only
# way in: a Unix socket, listen_addresses is empty, so nothing listens on
# the network), DIR/postgres.log. The superuser is "mayfly" with trust
# authentication on the socket; the socket directory is 0700, so only the
# server's user (and root) can reach it. fsync stays on, so a crash test
# (pg_kill9, pg_restart) sees what a real server would keep.
#
# PostgreSQL refuses to run as root. Run by root (CI is), the server runs
# as the "postgres" system user if there is one, else as "nobody", through
# runuser or setpriv; DIR is made theirs, so its parents must be searchable
# by that user (a mktemp -d directory in /tmp needs chmod 711).
#
#   pg_available        0 if the PostgreSQL >= 15 server binaries are here;
#                       else 1 and the reason on stderr (tests exit 77)
#   pg_start DIR        initdb in DIR, start, wait until ready; exports
#                       MAYFLY_TEST_PG=postgresql:///postgres?host=DIR/sock&user=mayfly
#   pg_createdb NAME    create an empty database NAME; prints its URI
#   pg_stop             fast shutdown; does nothing if not running
#   pg_kill9            SIGKILL the postmaster (its children die with it)
#   pg_restart          start again on the same data directory, wait
#   pg_tls_uri DB [OPTS] with PGC_TLS=1: the TCP URI of database DB,
#                       postgresql://localhost:PORT/DB?user=mayfly&passfile=..
#                       then &OPTS (e.g. "sslmode=verify-full&sslrootcert=F")
#
# PGC_TLS=1 before pg_start: the server also listens on 127.0.0.1 with
# ssl=on, on a port held free for it (tests/hold-port.py; the Unix socket
# takes the same number). openssl makes, in DIR/tls, a test root ca.pem,
# the server's certificate from it for the DNS name "localhost" only (so
# host=127.0.0.1 with sslmode=verify-full is a name mismatch), and an
# unrelated root other-ca.pem. Over TCP only TLS with a password
# (scram-sha-256) gets in; the superuser's password is random and lives in
# DIR/tls/passfile (0600, a libpq password file) and nowhere else. Every
# connection is logged (log_connections), so a test can see that TLS was
# used. Needs top_srcdir (for tests/hold-port.py) and python3.
#
# Each returns non-zero with a message on stderr on failure and never
# exits, so the caller decides; the caller sets the trap, e.g.
#   trap 'pg_stop; rm -rf "$work"' EXIT INT TERM
# Shell variables set for the caller: PGC_BINDIR (server binaries), PGC_DIR,
# PGC_SOCK, PGC_LOG, PGC_USER (who runs the server, empty: ourselves),
# PGC_PORT (5432 unless PGC_TLS=1 chose one), PGC_TLSDIR, PGC_PASSFILE.
# Everything else is prefixed pgc_.

PGC_BINDIR=
PGC_DIR=
PGC_SOCK=
PGC_LOG=
PGC_USER=
PGC_PORT=5432
PGC_TLSDIR=
PGC_PASSFILE=
pgc_runas=

pgc_say() { echo "pgcluster: $*" >&2; }

# pgc_major BINDIR: the major version of the server in BINDIR, or nothing.
pgc_major() {
	[ -x "$1/postgres" ] || return 0
	"$1/postgres" --version 2>/dev/null | sed -n 's/^postgres (PostgreSQL) \([0-9][0-9]*\).*/\1/p'
}

pg_available() {
	pgc_why=
	PGC_BINDIR=
	for pgc_d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/15/bin; do
		[ -n "$pgc_d" ] || continue
		pgc_v=$(pgc_major "$pgc_d")
		if [ -z "$pgc_v" ]; then
			pgc_why="no PostgreSQL server in $pgc_d"
			continue
		fi
		if [ "$pgc_v" -lt 15 ]; then
			pgc_why="PostgreSQL $pgc_v in $pgc_d; 15 or later is needed"
			continue
		fi
		for pgc_b in initdb pg_ctl pg_isready psql; do
			[ -x "$pgc_d/$pgc_b" ] || { pgc_why="$pgc_d/$pgc_b is missing"; continue 2; }
		done
		PGC_BINDIR=$pgc_d
		break
	done
	if [ -z "$PGC_BINDIR" ]; then
		echo "${pgc_why:-pg_config not found}; install postgresql-15" >&2
		return 1
	fi
	pgc_runas=
	PGC_USER=
	[ "$(id -u)" = 0 ] || return 0
	if id -u postgres >/dev/null 2>&1; then
		PGC_USER=postgres
	elif id -u nobody >/dev/null 2>&1; then
		PGC_USER=nobody
	else
		echo "running as root with neither a postgres nor a nobody user" >&2
		return 1
	fi
	if command -v runuser >/dev/null 2>&1; then
		pgc_runas="runuser -u $PGC_USER --"
	elif command -v setpriv >/dev/null 2>&1; then
		pgc_runas="setpriv --reuid=$PGC_USER --regid=$(id -g "$PGC_USER") --init-groups --"
	else
		echo "running as root without runuser or setpriv to become $PGC_USER" >&2
		return 1
	fi
	return 0
}

# pgc_as CMD...: CMD as the server's user, in a directory it may enter.
pgc_as() { (cd / && $pgc_runas "$@"); }

# pgc_enc STRING: STRING percent-encoded but for letters, digits, "/._-".
pgc_enc() {
	printf %s "$1" | od -An -tx1 -v | tr -s ' ' '\n' | while read -r pgc_x; do
		case $pgc_x in
		'') ;;
		2d|2e|2f|3[0-9]|4[1-9a-f]|5[0-9a]|5f|6[1-9a-f]|7[0-9a])
			# shellcheck disable=SC2059
			printf "\\$(printf %o "0x$pgc_x")" ;;
		*)	printf %%%s "$pgc_x" ;;
		esac
	done
}

# pgc_uri DB: the URI of database DB in the cluster (on its Unix socket).
pgc_uri() {
	if [ "$PGC_PORT" = 5432 ]; then
		printf 'postgresql:///%s?host=%s&user=mayfly\n' "$(pgc_enc "$1")" "$(pgc_enc "$PGC_SOCK")"
	else
		printf 'postgresql:///%s?host=%s&port=%s&user=mayfly\n' "$(pgc_enc "$1")" \
			"$(pgc_enc "$PGC_SOCK")" "$PGC_PORT"
	fi
}

pg_tls_uri() {
	[ -n "$PGC_PASSFILE" ] || { pgc_say "pg_tls_uri: the cluster has no TLS (PGC_TLS=1)"; return 1; }
	printf 'postgresql://localhost:%s/%s?user=mayfly&passfile=%s%s\n' "$PGC_PORT" \
		"$(pgc_enc "$1")" "$(pgc_enc "$PGC_PASSFILE")" "${2:+&$2}"
}

# pgc_tls_setup: the certificates, the port, the configuration and the
# access rules of PGC_TLS=1 (after initdb, before the first start).
pgc_tls_setup() {
	PGC_TLSDIR=$PGC_DIR/tls
	command -v python3 >/dev/null 2>&1 || { pgc_say "PGC_TLS=1 needs python3"; return 1; }
	[ -n "${top_srcdir:-}" ] && [ -f "$top_srcdir/tests/hold-port.py" ] ||
		{ pgc_say "PGC_TLS=1 needs top_srcdir (tests/hold-port.py)"; return 1; }
	mkdir -m 700 "$PGC_TLSDIR" || return 1
	if ! (
		cd "$PGC_TLSDIR" || exit 1
		ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
		for r in ca other-ca; do
			# shellcheck disable=SC2086
			openssl req -x509 $ec -keyout $r.key -out $r.pem -days 2 -subj "/CN=pgcluster $r" \
				-addext basicConstraints=critical,CA:TRUE \
				-addext keyUsage=critical,keyCertSign,cRLSign || exit 1
		done
		# shellcheck disable=SC2086
		openssl req -new $ec -keyout server.key -out server.csr -subj /CN=localhost || exit 1
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n%s\n' \
			extendedKeyUsage=serverAuth subjectAltName=DNS:localhost > server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 0x5a01 -days 2 \
			-extfile server.ext -out server.pem || exit 1
	) >"$PGC_DIR/tls.log" 2>&1; then
		pgc_say "openssl could not make the server's certificate:"
		cat "$PGC_DIR/tls.log" >&2
		return 1
	fi
	# The key must belong to the server's user, mode 0600.
	cp "$PGC_TLSDIR/server.pem" "$PGC_DIR/data/server.crt" &&
		cp "$PGC_TLSDIR/server.key" "$PGC_DIR/data/server.key" &&
		chmod 600 "$PGC_DIR/data/server.key" || return 1
	if [ -n "$PGC_USER" ]; then
		chown "$PGC_USER:" "$PGC_DIR/data/server.crt" "$PGC_DIR/data/server.key" || return 1
	fi
	# A port held free until this shell exits; PostgreSQL sets SO_REUSEADDR.
	rm -f "$PGC_TLSDIR/port"
	( python3 "$top_srcdir/tests/hold-port.py" "$PGC_TLSDIR/port" "$$" </dev/null >/dev/null 2>&1 & )
	pgc_i=0
	while [ ! -s "$PGC_TLSDIR/port" ]; do
		pgc_i=$((pgc_i + 1))
		[ $pgc_i -le 100 ] || { pgc_say "no free port for PostgreSQL"; return 1; }
		sleep 0.05
	done
	PGC_PORT=$(cat "$PGC_TLSDIR/port")
	cat >>"$PGC_DIR/data/postgresql.conf" <<EOF

# pgcluster.sh, PGC_TLS=1: also TLS on 127.0.0.1.
listen_addresses = '127.0.0.1'
port = $PGC_PORT
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
log_connections = on
EOF
	cat >"$PGC_DIR/data/pg_hba.conf" <<EOF
# pgcluster.sh, PGC_TLS=1: the socket trusts its owner; TCP wants TLS and a password.
local   all all                 trust
hostssl all all 127.0.0.1/32    scram-sha-256
host    all all all             reject
EOF
}

# pgc_tls_password: a random password for the superuser, in PGC_PASSFILE only.
pgc_tls_password() {
	pgc_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	PGC_PASSFILE=$PGC_TLSDIR/passfile
	(umask 077 && printf 'localhost:%s:*:mayfly:%s\n127.0.0.1:%s:*:mayfly:%s\n' \
		"$PGC_PORT" "$pgc_pw" "$PGC_PORT" "$pgc_pw" > "$PGC_PASSFILE") || return 1
	# On stdin, not in a command line another user could read.
	printf "ALTER ROLE mayfly PASSWORD '%s';\n" "$pgc_pw" |
		"$PGC_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$(pgc_uri postgres)" -f - >/dev/null
}

# pgc_pid: the postmaster's pid from its lock file, or nothing.
pgc_pid() {
	[ -f "$PGC_DIR/data/postmaster.pid" ] && sed -n 1p "$PGC_DIR/data/postmaster.pid" 2>/dev/null
}

# pgc_alive PID: the process exists and is not a zombie. A postmaster
# killed after pg_ctl left it stays a zombie where pid 1 does not reap.
pgc_alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	pgc_s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$pgc_s" ] && [ "$pgc_s" != Z ]
}

# pgc_children PID: the pids whose parent is PID (the kernel's list if it
# keeps one, else a walk of /proc, slower).
pgc_children() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		cat "/proc/$1/task/$1/children"
		return 0
	fi
	for pgc_f in /proc/[0-9]*/stat; do
		pgc_pp=$(sed 's/.*) //' "$pgc_f" 2>/dev/null | cut -d' ' -f2)
		[ "$pgc_pp" = "$1" ] && { pgc_p=${pgc_f#/proc/}; echo "${pgc_p%/stat}"; }
	done
	return 0
}

# pgc_wait_ready: bounded (30 s) wait for the server to accept connections;
# gives up at once if the postmaster died.
pgc_wait_ready() {
	pgc_i=0
	while ! "$PGC_BINDIR/pg_isready" -q -h "$PGC_SOCK" -p "$PGC_PORT" -U mayfly -d postgres; do
		pgc_i=$((pgc_i + 1))
		if [ $pgc_i -gt 150 ]; then
			pgc_say "not ready after 30 s; see $PGC_LOG"
			return 1
		fi
		if [ $pgc_i -gt 10 ] && ! pgc_alive "$(pgc_pid)"; then
			pgc_say "the server did not start:"
			tail -n 20 "$PGC_LOG" >&2
			return 1
		fi
		sleep 0.2
	done
}

# pgc_launch: start the postmaster on PGC_DIR/data and wait until ready.
pgc_launch() {
	# Lock files left by a killed postmaster: PostgreSQL itself ignores them
	# unless their pid is alive, which a zombie still is to kill(2).
	for pgc_f in "$PGC_DIR/data/postmaster.pid" "$PGC_SOCK/.s.PGSQL.$PGC_PORT.lock"; do
		[ -f "$pgc_f" ] || continue
		pgc_p=$(sed -n 1p "$pgc_f")
		pgc_alive "$pgc_p" || rm -f "$pgc_f"
	done
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_LOG" -W start >/dev/null ||
		{ pgc_say "pg_ctl start failed; see $PGC_LOG"; return 1; }
	pgc_wait_ready
}

pg_start() {
	[ $# = 1 ] && [ -n "$1" ] || { pgc_say "usage: pg_start DIR"; return 1; }
	pg_available || return 1
	mkdir -p "$1" || return 1
	PGC_DIR=$(cd "$1" && pwd) || return 1
	PGC_SOCK=$PGC_DIR/sock
	PGC_LOG=$PGC_DIR/postgres.log
	PGC_PORT=5432
	PGC_TLSDIR=
	PGC_PASSFILE=
	if [ -e "$PGC_DIR/data" ]; then
		pgc_say "$PGC_DIR/data exists already"
		return 1
	fi
	# sockaddr_un holds 107 bytes: DIR/sock/.s.PGSQL.5432 must fit.
	if [ ${#PGC_SOCK} -gt 90 ]; then
		pgc_say "$PGC_SOCK is too long for a Unix socket path"
		return 1
	fi
	mkdir -m 700 "$PGC_SOCK" || return 1
	if [ -n "$PGC_USER" ]; then
		chown -R "$PGC_USER:" "$PGC_DIR" || return 1
		if ! pgc_as test -w "$PGC_DIR"; then
			pgc_say "$PGC_USER cannot write $PGC_DIR: are its parents searchable (chmod 711)?"
			return 1
		fi
	fi
	# --no-sync only spares initdb's own flush of the fresh files; the
	# server runs with fsync on.
	if ! pgc_as "$PGC_BINDIR/initdb" -D "$PGC_DIR/data" -U mayfly \
	    --auth-local=trust --auth-host=reject -E UTF8 --locale=C --no-sync \
	    >"$PGC_DIR/initdb.log" 2>&1; then
		pgc_say "initdb failed:"
		cat "$PGC_DIR/initdb.log" >&2
		return 1
	fi
	cat >>"$PGC_DIR/data/postgresql.conf" <<EOF

# pgcluster.sh: a private test cluster, reachable on its Unix socket only.
listen_addresses = ''
unix_socket_directories = '$PGC_SOCK'
unix_socket_permissions = 0700
port = 5432
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 32MB
max_connections = 40
logging_collector = off
EOF
	if [ "${PGC_TLS:-0}" = 1 ]; then
		pgc_tls_setup || return 1
	fi
	pgc_launch || return 1
	if [ "${PGC_TLS:-0}" = 1 ]; then
		pgc_tls_password || { pgc_say "could not set the password"; return 1; }
	fi
	MAYFLY_TEST_PG=$(pgc_uri postgres)
	export MAYFLY_TEST_PG
}

pg_createdb() {
	[ $# = 1 ] && [ -n "$1" ] || { pgc_say "usage: pg_createdb NAME"; return 1; }
	[ -n "$PGC_DIR" ] || { pgc_say "pg_createdb: no cluster (pg_start first)"; return 1; }
	# psql quotes the name (:"name"); it does not interpolate -c, hence stdin.
	echo 'CREATE DATABASE :"name" TEMPLATE template0;' |
		"$PGC_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -v "name=$1" -d "$(pgc_uri postgres)" \
		-f - >/dev/null || return 1
	pgc_uri "$1"
}

pg_stop() {
	[ -n "$PGC_DIR" ] && [ -d "$PGC_DIR/data" ] || return 0
	pgc_alive "$(pgc_pid)" || return 0
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -m fast -w -t 30 stop >/dev/null && return 0
	pgc_say "fast shutdown failed; immediate"
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -m immediate -w -t 30 stop >/dev/null
}

pg_kill9() {
	pgc_p=$(pgc_pid)
	pgc_alive "$pgc_p" || { pgc_say "pg_kill9: no postmaster running"; return 1; }
	pgc_kids=$(pgc_children "$pgc_p")
	kill -9 "$pgc_p" || return 1
	# The children notice the postmaster's death and exit; a new postmaster
	# refuses to start while they hold the old shared memory. Bounded: 10 s,
	# then they are killed too.
	pgc_i=0
	while :; do
		pgc_left=
		for pgc_k in $pgc_p $pgc_kids; do
			pgc_alive "$pgc_k" && pgc_left="$pgc_left $pgc_k"
		done
		[ -z "$pgc_left" ] && return 0
		pgc_i=$((pgc_i + 1))
		if [ $pgc_i -gt 50 ]; then
			pgc_say "children of the postmaster still alive:$pgc_left; killing them"
			# shellcheck disable=SC2086
			kill -9 $pgc_left 2>/dev/null
			sleep 0.5
			return 0
		fi
		sleep 0.2
	done
}

pg_restart() {
	[ -n "$PGC_DIR" ] && [ -d "$PGC_DIR/data" ] || { pgc_say "pg_restart: no cluster"; return 1; }
	if pgc_alive "$(pgc_pid)"; then
		pgc_say "pg_restart: the postmaster is running; pg_stop or pg_kill9 first"
		return 1
	fi
	pgc_launch
}
