#!/bin/sh
# clients.sh: the ACME listener against real clients on 127.0.0.1.
#
#   certbot --standalone: register, certonly, renew --force-renewal, revoke
#   certbot --webroot (a python http.server serving the webroot)
#   uacme with a hook script: new account, issue, forced re-issue
#
# Every certificate a client receives must be in the issuance log and verify
# against root-a with openssl verify. The listener's test options send every
# *.acme.test name to 127.0.0.1 and http-01 checks to the port the client
# listens on. uacme trusts only the system CA bundle (libcurl-gnutls, no
# option): it runs in a private mount namespace where root-a is bind-mounted
# over that bundle, so the machine's own bundle is never touched.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
server=$top_builddir/mayfly-acme-server
for t in certbot uacme openssl sqlite3 python3; do
	command -v $t >/dev/null 2>&1 || { echo "clients.sh: $t is not installed" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-acme-clients.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

fail() { echo "FAIL: $*" >&2; [ -f "$work/server.log" ] && tail -20 "$work/server.log" >&2; exit 1; }
ok() { echo "ok: $*"; }

H01=$(free_port)
ca=$work/ca
if [ "${MAYFLY_INIT:-0}" = 1 ]; then
	# The setup of `mayfly init --keys softhsm`: CA keys in a real SoftHSM2
	# token (its own token directory), plus the listener's acme: section.
	"$top_builddir/mayfly" init --dir "$ca" --keys softhsm --port "$(free_port)" \
		--dns .acme.test --dns localhost >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
	cat >> "$ca/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  test-resolve: [.acme.test]
  test-http01-port: $H01
EOT
else
	HTTP01_PORT=$H01 sh "$top_srcdir/tests/acme/mkca.sh" "$ca" >/dev/null
fi
root=$ca/certs/root-a.pem

"$server" -c "$ca/mayfly.yaml" -r "$work/port" 2>"$work/server.log" &
pids="$pids $!"
i=0
while [ ! -s "$work/port" ]; do
	i=$((i + 1)); [ $i -le 100 ] || fail "listener did not start"
	sleep 0.1
done
P=$(cat "$work/port")
dirurl=https://127.0.0.1:$P/directory
ok "listener on $P, http-01 on $H01"

# Checks one PEM certificate (+ chain): in the log, unrevoked, verifies to root-a.
check_cert() {
	cert=$1 chain=$2 name=$3
	openssl verify -CAfile "$root" -untrusted "$chain" "$cert" >/dev/null ||
		fail "$name: openssl verify"
	serial=$(openssl x509 -in "$cert" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f')
	n=$(sqlite3 "$ca/mayfly.db" "SELECT count(*) FROM certificates WHERE serial = '$serial' OR serial = '00$serial' OR '00' || serial = '$serial'")
	[ "$n" = 1 ] || fail "$name: serial $serial not in the issuance log"
	openssl x509 -in "$cert" -noout -ext subjectAltName | grep -q "$name" ||
		fail "$name: SAN missing"
	echo "$serial"
}

cb() {
	REQUESTS_CA_BUNDLE=$root certbot --config-dir "$work/cb/etc" --work-dir "$work/cb/work" \
		--logs-dir "$work/cb/log" --server "$dirurl" --non-interactive "$@" \
		>"$work/cb.out" 2>&1 || { cat "$work/cb.out" >&2; fail "certbot $*"; }
}

# ---- certbot standalone ------------------------------------------------------
cb register --agree-tos --register-unsafely-without-email
ok "certbot register"
cb certonly --standalone --http-01-port "$H01" --http-01-address 127.0.0.1 \
	-d www.acme.test -d api.acme.test --cert-name sa
live=$work/cb/etc/live/sa
s1=$(check_cert "$live/cert.pem" "$live/chain.pem" www.acme.test)
ok "certbot standalone certonly: serial $s1"
cb renew --force-renewal --no-random-sleep-on-renew --standalone --http-01-port "$H01" --http-01-address 127.0.0.1
s2=$(check_cert "$live/cert.pem" "$live/chain.pem" api.acme.test)
[ "$s1" != "$s2" ] || fail "renew returned the same certificate"
ok "certbot renew --force-renewal: serial $s2"
cb revoke --cert-path "$live/cert.pem" --reason superseded --no-delete-after-revoke
n=$(sqlite3 "$ca/mayfly.db" "SELECT count(*) FROM revocations r JOIN certificates c ON c.serial = r.serial WHERE c.serial IN ('$s2', '00$s2') AND r.reason = 4")
[ "$n" = 1 ] || fail "revocation of $s2 not logged with reason superseded"
ok "certbot revoke: $s2 revoked (superseded)"

if [ "${QUICK:-0}" = 1 ]; then
	grep -q serverInternal "$work/server.log" && fail "serverInternal in the log"
	ok "certbot served (quick run)"
	exit 0
fi

# ---- certbot webroot ---------------------------------------------------------
mkdir -p "$work/webroot"
python3 -m http.server "$H01" --bind 127.0.0.1 --directory "$work/webroot" \
	>"$work/http.log" 2>&1 &
web=$!
pids="$pids $web"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $H01), 1)" 2>/dev/null; do
	i=$((i + 1)); [ $i -le 100 ] || fail "webroot server did not start"
	sleep 0.1
done
cb certonly --webroot -w "$work/webroot" -d web.acme.test --cert-name wr
s3=$(check_cert "$work/cb/etc/live/wr/cert.pem" "$work/cb/etc/live/wr/chain.pem" web.acme.test)
ok "certbot webroot: serial $s3"

# ---- uacme with a hook ----------------------------------------------------------
cat > "$work/hook.sh" <<EOF
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN KEYAUTH; http-01 only, through the webroot.
[ "\$2" = http-01 ] || exit 1
d="$work/webroot/.well-known/acme-challenge"
case "\$1" in
begin) mkdir -p "\$d" && printf '%s' "\$5" > "\$d/\$4" ;;
done|failed) rm -f "\$d/\$4" ;;
esac
EOF
chmod +x "$work/hook.sh"
if ! unshare --mount true 2>/dev/null; then
	echo "SKIP: uacme needs a private mount namespace (unshare --mount) for its CA bundle" >&2
	exit 77
fi
ua() {
	unshare --mount sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' \
		sh "$root" uacme -c "$work/ua" -a "$dirurl" -h "$work/hook.sh" -t EC "$@" \
		>"$work/ua.out" 2>&1 || { cat "$work/ua.out" >&2; fail "uacme $*"; }
}
ua -y new
ok "uacme new account"
ua issue ua.acme.test
s4=$(check_cert "$work/ua/ua.acme.test/cert.pem" "$work/ua/ua.acme.test/cert.pem" ua.acme.test)
ok "uacme issue: serial $s4"
ua -f issue ua.acme.test
s5=$(check_cert "$work/ua/ua.acme.test/cert.pem" "$work/ua/ua.acme.test/cert.pem" ua.acme.test)
[ "$s4" != "$s5" ] || fail "uacme re-issue returned the same certificate"
ok "uacme forced re-issue: serial $s5"

# The listener logged no internal errors while serving all of that.
if grep -q serverInternal "$work/server.log"; then fail "serverInternal in the log"; fi
ok "all clients served"
