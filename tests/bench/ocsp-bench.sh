#!/bin/bash
# ocsp-bench.sh: throughput of mayflyd's OCSP GET and POST against nginx
# serving a static file of the same size, plus the time to sign responses
# and build CRLs. Not a test: run it from the build tree after `make check`
# (it needs ./mayflyd, ./check_mayflyd and ./mfd_bench), with wrk and nginx
# installed:   bash tests/bench/ocsp-bench.sh [N]   (N: signatures, 100000)
# Everything listens on 127.0.0.1 only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILDDIR:-$(pwd)}
n=${1:-100000}
threads=2 conns=64 secs=${BENCH_SECONDS:-10}

for b in "$build/mayflyd" "$build/check_mayflyd" "$build/mfd_bench"; do
	[ -x "$b" ] || { echo "missing $b: run from the build tree after make check" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 2; }
[ -x /usr/sbin/nginx ] || { echo "nginx not installed" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-bench.XXXXXX")
mpid= npid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null || true
	[ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null || true
	rm -rf "$tmp"
}
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

# A port nobody answers on (bounded tries).
freeport() {
	i=0
	while [ $i -lt 50 ]; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
		i=$((i + 1))
	done
	exit 1
}
port=$(freeport)
nport=$(freeport)

"$build/check_mayflyd" --setup "$tmp" "$port"
"$build/mayflyd" -c "$tmp/mayfly.yaml" 2>"$tmp/mayflyd.log" &
mpid=$!
i=0
until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$tmp/mayflyd.log"; exit 1; }; sleep 0.1
done

cd "$tmp"
openssl ocsp -issuer certs/issuing-1.pem -cert leaf01.pem -no_nonce -reqout req.der >/dev/null 2>&1
b64=$(openssl base64 -A < req.der | sed 's,+,%2B,g; s,/,%2F,g; s,=,%3D,g')
geturl="http://127.0.0.1:$port/ocsp/$b64"
curl -sf -o resp.der "$geturl"
size=$(wc -c < resp.der)
openssl ocsp -respin resp.der -issuer certs/issuing-1.pem -cert leaf01.pem \
	-CAfile certs/root-a.pem 2>&1 | grep -q "leaf01.pem: good"
mkdir -p www ngx
head -c "$size" /dev/urandom > www/static.bin

user=""
[ "$(id -u)" = 0 ] && user="user root root;"
cat > nginx.conf <<NGX
$user
daemon off;
worker_processes $threads;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/ngx/b; proxy_temp_path $tmp/ngx/p;
	fastcgi_temp_path $tmp/ngx/f; uwsgi_temp_path $tmp/ngx/u; scgi_temp_path $tmp/ngx/s;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$nport;
		location / { root $tmp/www; default_type application/ocsp-response; }
	}
}
NGX
/usr/sbin/nginx -p "$tmp/ngx" -c "$tmp/nginx.conf" &
npid=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$nport/static.bin"; do
	i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1
done

# wrk's summary: requests/s, p50 and p99 latency.
run() {
	wrk -t$threads -c$conns -d${secs}s --latency "$@" > wrk.out 2>&1
	rps=$(awk '/^Requests\/sec:/ {print $2}' wrk.out)
	p50=$(awk '$1 == "50%" {print $2}' wrk.out)
	p99=$(awk '$1 == "99%" {print $2}' wrk.out)
	non2xx=$(awk '/Non-2xx/ {print $NF}' wrk.out)
	echo "$rps $p50 $p99 ${non2xx:-0}"
}

# The three targets take turns, $rounds times, and each reports its median
# round: the machine may be shared, and turns spread the noise evenly.
rounds=${BENCH_ROUNDS:-3}
median() { sort -n | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }'; }
: > g.txt; : > p.txt; : > n.txt
r=0
while [ $r -lt "$rounds" ]; do
	run "$geturl" >> g.txt
	MFD_REQ="$tmp/req.der" run -s "$here/post.lua" "http://127.0.0.1:$port/ocsp" >> p.txt
	run "http://127.0.0.1:$nport/static.bin" >> n.txt
	r=$((r + 1))
done
pick() { rps=$(cut -d' ' -f1 "$1" | median); grep "^$rps " "$1" | head -1; }
set -- $(pick g.txt); g_rps=$1 g_p50=$2 g_p99=$3 g_bad=$4
set -- $(pick p.txt); p_rps=$1 p_p50=$2 p_p99=$3 p_bad=$4
set -- $(pick n.txt); n_rps=$1 n_p50=$2 n_p99=$3 n_bad=$4

echo "response size: $size bytes; wrk -t$threads -c$conns -d${secs}s, median of $rounds rounds; mayflyd threads: 2, nginx workers: 2"
printf '%-22s %12s %10s %10s %8s\n' target req/s p50 p99 non-2xx
printf '%-22s %12s %10s %10s %8s\n' "mayflyd OCSP GET" "$g_rps" "$g_p50" "$g_p99" "$g_bad"
printf '%-22s %12s %10s %10s %8s\n' "mayflyd OCSP POST" "$p_rps" "$p_p50" "$p_p99" "$p_bad"
printf '%-22s %12s %10s %10s %8s\n' "nginx static file" "$n_rps" "$n_p50" "$n_p99" "$n_bad"
echo "all rounds (req/s): GET $(cut -d' ' -f1 g.txt | tr '\n' ' ')| POST $(cut -d' ' -f1 p.txt | tr '\n' ' ')| nginx $(cut -d' ' -f1 n.txt | tr '\n' ' ')"
awk -v g="$g_rps" -v p="$p_rps" -v n="$n_rps" 'BEGIN {
	printf "ratio GET/nginx  %.2f (target >= 0.70)\n", g / n
	printf "ratio POST/nginx %.2f\n", p / n }'

kill "$npid"; wait "$npid" 2>/dev/null || true; npid=

echo "--- signing (in-process, P-256 responder key, file keys) ---"
"$build/mfd_bench" "$tmp" "$n"

echo "--- pre-signing $n responses through the signer process and the SQLite log ---"
kill "$mpid"; wait "$mpid" 2>/dev/null || true; mpid=
"$build/mfd_bench" --fill "$tmp" "$n"
: > mayflyd.log
"$build/mayflyd" -c "$tmp/mayfly.yaml" 2>"$tmp/mayflyd.log" &
mpid=$!
i=0
until grep -q "event=presigned" mayflyd.log; do
	i=$((i + 1)); [ $i -lt 6000 ] || { echo "pre-signing did not finish in 10 min"; exit 1; }
	sleep 0.1
done
grep -o "event=presigned.*" mayflyd.log
