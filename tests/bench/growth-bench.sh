#!/bin/bash
# growth-bench.sh: how mayflyd and the CLI behave as the issuance log grows.
# For each size N: a CA made by `mayfly init --keys file`, its log filled
# with N certificates by mayfly-mklog (LIVE of them valid now, default
# 5,000, the rest expired, 1 % of all revoked; NOT real issuance, see
# tests/bench/README.md), then
#   - the fill time and the database size;
#   - mayflyd's start-up time to a 200 from /health, to event=presigned and
#     to event=ocsp-persisted (the pre-signed responses stored), and the
#     time its CRL took to build (event=crl-built ms=);
#   - once both processes are quiet: OCSP GET throughput (wrk) for one live
#     serial's pre-signed response, CRL GET throughput, /v1/sign issuance
#     at concurrency 1 and 32 (mayfly-issue-load), the resident memory of
#     the network process and its signer child after those loads; and
#     the disk under the issuance loads (the database file's pages in the
#     page cache, the machine's dirty pages, the signer's bytes read and
#     written), to tell a log that has left the page cache from one that
#     writes more per commit;
#   - `mayfly db prune --expired-before 1s` and `mayfly db compact`
#     (mayflyd stopped), and the same figures again after them;
#   - at the end, the smallest log again from a copy taken after its fill.
# The references, in the same run: nginx serving a file of the OCSP
# response's size and one of the CRL's size, with the same wrk settings;
# `openssl speed ecdsap256` for the signing bound of an issuance (one CSR
# verify, one leaf sign, one check of the fresh signature, one OCSP sign:
# two signs and two verifies, on every CPU). At the end it compares the
# largest size with the smallest (the mean of its two rounds): issuance and OCSP GET within 20 %.
#
#   bash tests/bench/growth-bench.sh [SIZES]     (default "10000 100000";
#   1000000 takes about 15 minutes, 10000000 only if you mean it)
# From the build tree; needs wrk, nginx, sqlite3, curl, openssl.
# BENCH_SECONDS (default 5) is the length of each load; LIVE (default 5000)
# the certificates valid now at every size (LIVE_FRACTION=F instead makes
# that fraction of each log live); SIGN_LIFETIME (default 20) the seconds
# the loads' own certificates live. PLOT=1 also writes growth.png with
# gnuplot if it is installed. Everything listens on 127.0.0.1 only.
set -eu

sizes=${*:-10000 100000}
secs=${BENCH_SECONDS:-5}
live=${LIVE:-5000}
signlife=${SIGN_LIFETIME:-20}
first_n=${sizes%% *}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
B=$top_builddir
for b in mayfly mayflyd mayfly-mklog mayfly-issue-load; do
	[ -x "$B/$b" ] || { echo "missing $B/$b: make $b first" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 2; }
[ -x /usr/sbin/nginx ] || { echo "nginx not installed" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-growth.XXXXXX")
mpid= npid=
stop_mfd() {
	[ -n "$mpid" ] || return 0
	kill "$mpid" 2>/dev/null || true
	wait "$mpid" 2>/dev/null || true
	mpid=
}
cleanup() {
	stop_mfd
	[ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null || true
	rm -rf "$work"
}
# A signal ends the test (through the EXIT trap); a trap on it that only
# cleaned up would let the script run on without its directory and daemon.
trap cleanup EXIT
trap 'echo "$0: stopped by a signal" >&2; exit 1' HUP INT TERM

# hold_port VAR: a port held for this run (tests/hold-port.py), for nginx,
# which cannot bind port 0 and report it.
hold_port() {
	( python3 "$top_srcdir/tests/hold-port.py" "$work/held-port.$1" "$$" </dev/null \
		>/dev/null 2>&1 & )
	local i=0
	until [ -s "$work/held-port.$1" ]; do
		i=$((i + 1)); [ $i -le 300 ] || { echo "could not hold a port" >&2; exit 1; }
		sleep 0.1
	done
	eval "$1=\$(cat \"$work/held-port.$1\")"
}
now_ms() { date +%s%3N; }
cpu_ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# wrk for $secs s: requests/s.
wrk_rps() {
	wrk -t2 -c32 -d"${secs}s" "$1" > "$work/wrk.out" 2>&1 || true
	if grep -q "Non-2xx" "$work/wrk.out"; then echo "non-2xx answers from $1" >&2; exit 1; fi
	awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$work/wrk.out"
}

echo "== machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
# The signing bound: per issuance one CSR verify, one leaf sign, one check
# of the fresh signature and one OCSP sign, on every CPU at once.
sp=$(openssl speed -seconds 3 -mr ecdsap256 2>/dev/null | grep '^+F4:')
ssign=$(echo "$sp" | cut -d: -f4)
sverify=$(echo "$sp" | cut -d: -f5)
bound=$(awk -v s="$ssign" -v v="$sverify" -v n="$(nproc)" \
	'BEGIN { printf "%.0f", n / (2 / s + 2 / v) }')
echo "== openssl speed ecdsap256: $(printf '%.0f' "$ssign") sign/s, $(printf '%.0f' "$sverify") verify/s" \
	"per CPU; signing bound of an issuance on $(nproc) CPUs: $bound/s"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/k.pem" \
	-subj /CN=bench.acme.test -addext subjectAltName=DNS:bench.acme.test -outform DER \
	-out "$work/csr.der" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/listener.key" \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-out "$work/listener.csr" 2>/dev/null

# ---- nginx, the reference: started once, serves a file per response size ----
hold_port nport
mkdir -p "$work/www" "$work/ngx"
user=""
[ "$(id -u)" = 0 ] && user="user root root;"
cat > "$work/nginx.conf" <<NGX
$user
daemon off;
worker_processes 2;
pid $work/ngx/nginx.pid;
error_log $work/ngx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $work/ngx/b; proxy_temp_path $work/ngx/p;
	fastcgi_temp_path $work/ngx/f; uwsgi_temp_path $work/ngx/u; scgi_temp_path $work/ngx/s;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$nport;
		location / { root $work/www; default_type application/ocsp-response; }
	}
}
NGX
head -c 1 /dev/urandom > "$work/www/probe"
/usr/sbin/nginx -p "$work/ngx" -c "$work/nginx.conf" &
npid=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$nport/probe"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "nginx did not start" >&2; exit 1; }; sleep 0.1
done

# measure LABEL: starts mayflyd on $d, prints one row of figures, stops it.
measure() {
	local label=$1 t0 t1 t2 stored nload port kid rss_n rss_s size serial b64 url get ngx c1 c32 dbsz walsz
	local idle0 idle1 npre crlms crlget crlngx crlsz crlurl q io0 io1 ioline
	# The log's size as mayflyd finds it (database and WAL), before this
	# round's issuance load adds its own certificates.
	dbsz=$(stat -c %s "$d/mayfly.db")
	walsz=$(stat -c %s "$d/mayfly.db-wal" 2>/dev/null || echo 0)
	: > "$work/d.log"
	t0=$(now_ms)
	"$B/mayflyd" -c "$d/mayfly.yaml" > "$work/d.log" 2>&1 &
	mpid=$!
	i=0
	until grep -q "event=listening host=[^ ]* port=[0-9]" "$work/d.log"; do
		i=$((i + 1))
		[ $i -le 6000 ] && kill -0 "$mpid" 2>/dev/null || { tail "$work/d.log" >&2; exit 1; }
		sleep 0.05
	done
	port=$(grep -o "event=listening host=[^ ]* port=[0-9]*" "$work/d.log" | head -1 | sed 's/.*port=//')
	# The ACME listener binds port 0 too; it is up before the OCSP one.
	AP=$(grep -o "event=listening what=acme host=[^ ]* port=[0-9]*" "$work/d.log" | head -1 |
		sed 's/.*port=//')
	[ -n "$AP" ] || { echo "no ACME port in the log" >&2; exit 1; }
	until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do
		i=$((i + 1)); [ $i -le 12000 ] || { tail "$work/d.log" >&2; exit 1; }; sleep 0.05
	done
	t1=$(now_ms)
	until grep -q "event=presigned" "$work/d.log"; do
		i=$((i + 1)); [ $i -le 24000 ] || { echo "no event=presigned in 20 min" >&2; exit 1; }
		sleep 0.1
	done
	t2=$(now_ms)
	# A pass of 2,000 responses or more is stored in the database in the
	# background and logged when done (event=ocsp-persisted); issuance
	# shares the disk with it meanwhile (mayflyd(8)), so wait for it.
	# Responses loaded from the database at start need no storing.
	npre=$(grep -o "event=presigned responses=[0-9]*" "$work/d.log" | head -1 | sed 's/.*=//')
	nload=$(grep -o "event=ocsp-loaded responses=[0-9]*" "$work/d.log" | head -1 | sed 's/.*=//')
	stored=-
	if [ $(( ${npre:-0} - ${nload:-0} )) -ge 2000 ]; then
		q=0
		until grep -q "event=ocsp-persisted" "$work/d.log"; do
			q=$((q + 1))
			[ $q -le 3000 ] || { echo "no event=ocsp-persisted in 300 s" >&2; break; }
			sleep 0.1
		done
		grep -q "event=ocsp-persisted" "$work/d.log" && stored=$(( $(now_ms) - t0 ))
	fi
	crlms=$(grep -o "event=crl-built issuer=0 entries=[0-9]* bytes=[0-9]* ms=[0-9.]*" "$work/d.log" |
		head -1 | sed 's/.*ms=//')
	# Then until both processes are quiet (under 5 % of a core for a
	# second, at most 60 s), and the CPU they use in 2 s of no load:
	# background work that grows with the log shows there.
	kid=$(awk '{print $1}' "/proc/$mpid/task/$mpid/children" 2>/dev/null)
	for q in $(seq 60); do
		idle0=$(( $(cpu_ticks "$mpid") + $(cpu_ticks "$kid") ))
		sleep 1
		idle1=$(( $(cpu_ticks "$mpid") + $(cpu_ticks "$kid") ))
		[ $((idle1 - idle0)) -ge $(( $(getconf CLK_TCK) / 20 )) ] || break
	done
	idle0=$(( $(cpu_ticks "$mpid") + $(cpu_ticks "$kid") ))
	sleep 2
	idle1=$(( $(cpu_ticks "$mpid") + $(cpu_ticks "$kid") ))

	# One live, unrevoked serial: its pre-signed response is what GET serves.
	serial=$(sqlite3 "$d/mayfly.db" "SELECT serial FROM certificates c WHERE not_after >
		strftime('%s','now') + 600 AND NOT EXISTS (SELECT 1 FROM revocations r WHERE
		r.serial = c.serial) LIMIT 1")
	openssl ocsp -issuer "$d/certs/issuing-1.pem" -serial "0x$serial" -no_nonce \
		-reqout "$work/req.der" >/dev/null 2>&1
	b64=$(openssl base64 -A < "$work/req.der" | sed 's,+,%2B,g; s,/,%2F,g; s,=,%3D,g')
	url="http://127.0.0.1:$port/ocsp/$b64"
	curl -sf -o "$work/resp.der" "$url"
	openssl ocsp -respin "$work/resp.der" -resp_text 2>/dev/null | grep -q "Cert Status: good" ||
		{ echo "OCSP answer for $serial is not good" >&2; exit 1; }
	size=$(wc -c < "$work/resp.der")
	head -c "$size" /dev/urandom > "$work/www/resp.bin"

	get=$(wrk_rps "$url")
	ngx=$(wrk_rps "http://127.0.0.1:$nport/resp.bin")
	# The CRL of the intermediate (1 % of the live certificates).
	crlurl="http://127.0.0.1:$port/crl/$(basename "$d"/certs/issuing-1.pem .pem).crl"
	curl -sf -o "$work/crl.der" "$crlurl" || { echo "no CRL at $crlurl" >&2; exit 1; }
	openssl crl -inform DER -in "$work/crl.der" -noout 2>/dev/null ||
		{ echo "$crlurl is not a CRL" >&2; exit 1; }
	crlsz=$(wc -c < "$work/crl.der")
	head -c "$crlsz" /dev/urandom > "$work/www/crl.bin"
	crlget=$(wrk_rps "$crlurl")
	crlngx=$(wrk_rps "http://127.0.0.1:$nport/crl.bin")
	# What the disk does under the issuance loads, to tell a log that has
	# left the page cache (reads) from one that writes more per commit:
	# the database file's pages in the page cache, the machine's dirty
	# pages, the signer's bytes read from and written to the disk.
	io0=$(io_bytes "$kid")
	ioline="$N $label db_cached_MiB=$(cached_mib "$d/mayfly.db")"
	ioline="$ioline dirty_MiB=$(awk '/^(Dirty|Writeback):/ { k += $2 } END { print int(k / 1024) }' /proc/meminfo)"
	c1=$(sign_rate 1)
	c32=$(sign_rate 32)
	io1=$(io_bytes "$kid")
	echo "$ioline $(echo "$io0 $io1" | awk '{ printf "signer_read_MiB=%.1f signer_write_MiB=%.1f", ($3 - $1) / 1048576, ($4 - $2) / 1048576 }')" >> "$work/io"
	# Memory after the loads: the network process and its signer child.
	rss_n=$(rss_kb "$mpid")
	rss_s=$([ -n "$kid" ] && rss_kb "$kid" || echo 0)
	stop_mfd
	printf "$rowfmt" "$N" "$label" \
		"$(awk -v b="$dbsz" 'BEGIN { printf "%.1f", b / 1048576 }')" \
		"$(awk -v b="$walsz" 'BEGIN { printf "%.1f", b / 1048576 }')" \
		"$((t1 - t0))" "$((t2 - t0))" "$stored" \
		"$(awk -v t=$((idle1 - idle0)) -v h="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", 100 * t / h / 2 }')" \
		"$((rss_n / 1024))" "$((rss_s / 1024))" \
		"$get" "$ngx" "$(awk -v g="$get" -v n="$ngx" 'BEGIN { printf "%.2f", g / n }')" \
		"${crlms:-?}" "$crlsz" "$crlget" "$crlngx" \
		"$(awk -v g="$crlget" -v n="$crlngx" 'BEGIN { printf "%.2f", g / n }')" \
		"$c1" "$c32" "$(awk -v r="$c32" -v b="$bound" 'BEGIN { printf "%.2f", r / b }')" |
		tee -a "$work/rows"
}

# The bytes process $1 has read from and written to the disk ("0 0" if gone).
io_bytes() {
	awk '/^read_bytes:/ { r = $2 } /^write_bytes:/ { w = $2 } END { print r + 0, w + 0 }' \
		"/proc/$1/io" 2>/dev/null || echo "0 0"
}
# MiB of file $1 in the page cache, and the file's size: CACHED/SIZE.
cached_mib() {
	fincore -b -n -o RES,SIZE "$1" 2>/dev/null |
		awk '{ printf "%d/%d\n", $1 / 1048576, $2 / 1048576 } END { if (NR == 0) print "?" }'
}

# /v1/sign for $secs s at concurrency $1: issuances per second. A rate
# with failed requests is not a figure: the run stops and says why.
sign_rate() {
	local out
	out=$("$B/mayfly-issue-load" "https://127.0.0.1:$AP/v1/sign" "$d/certs/root-a.pem" \
		"$d/api.token" "$work/csr.der" "$1" "$secs" 2>&1) ||
		{ echo "/v1/sign at concurrency $1: $out" >&2; exit 1; }
	echo "$out" | sed -n 's/.*rate=//p'
}

rowfmt='%-8s %-6s %7s %7s %6s %7s %7s %4s %5s %5s %7s %7s %5s %7s %7s %7s %7s %5s %6s %6s %5s\n'
rows_head() {
	printf "$rowfmt" N when db_MiB wal_MiB ready presig stored idle net_M sig_M GET/s \
		nginx/s ratio crl_ms crl_B CRL/s nginx/s ratio c1/s c32/s bound
}

: > "$work/rows"
: > "$work/fills"
for N in $sizes; do
	d=$work/ca-$N
	"$B/mayfly" init --dir "$d" --keys file --port 8999 --dns .acme.test --dns localhost \
		> "$work/init.log" 2>&1 || { cat "$work/init.log" >&2; exit 1; }
	sed -i 's/listen: \["127.0.0.1:8999"\]/listen: ["127.0.0.1:0"]/' "$d/mayfly.yaml"
	printf 'bench-token-0123456789\n' > "$d/api.token"
	chmod 600 "$d/api.token"
	# The loads' certificates live $signlife s (the server profile's
	# default), so that they have expired and are pruned before the second
	# round, which then finds the same live certificates as the first; with
	# 24 h ones it found the first round's 10,000 or so beside the 5,000.
	# The ACME listener's own certificate comes from the CLI with 2 h (a
	# self-issued one would take the profile's lifetime).
	sed -i "0,/^    default-lifetime: 24h\$/s//    default-lifetime: ${signlife}s/" "$d/mayfly.yaml"
	grep -q "^    default-lifetime: ${signlife}s\$" "$d/mayfly.yaml" ||
		{ echo "cannot set the profile's lifetime in $d/mayfly.yaml" >&2; exit 1; }
	"$B/mayfly" -c "$d/mayfly.yaml" issue --csr "$work/listener.csr" --lifetime 2h \
		--out "$d/listener.pem" > "$work/issue.log" 2>&1 || { cat "$work/issue.log" >&2; exit 1; }
	cat "$d/listener.pem" "$d/certs/issuing-1.pem" > "$d/listener-chain.pem"
	# per-ip-connections above the 32 clients (all from 127.0.0.1): past
	# it a connection is closed at once and the load tool fails requests;
	# threads at 64, so that the 32 issuances can share commits.
	cat >> "$d/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  threads: 64
  per-ip-connections: 64
  tls-cert: listener-chain.pem
  tls-key: $work/listener.key
EOT
	if [ -n "${LIVE_FRACTION:-}" ]; then
		fexp=$(awk -v f="$LIVE_FRACTION" 'BEGIN { printf "%.6f", 1 - f }')
	else
		[ "$N" -ge "$live" ] || { echo "N=$N is below LIVE=$live" >&2; exit 2; }
		fexp=$(awk -v n="$N" -v l="$live" 'BEGIN { printf "%.6f", 1 - l / n }')
	fi
	t0=$(now_ms)
	"$B/mayfly-mklog" "$d/mayfly.yaml" "$N" --expired-fraction "$fexp" --revoked-fraction 0.01 >&2
	t1=$(now_ms)
	"$B/mayfly" -c "$d/mayfly.yaml" audit verify > "$work/verify.out" 2>&1 ||
		{ cat "$work/verify.out" >&2; exit 1; }
	t2=$(now_ms)
	fillsz=$(stat -c %s "$d/mayfly.db")
	[ -s "$work/rows" ] || rows_head
	# A copy of the smallest log, measured again at the end (below).
	[ "$N" != "$first_n" ] || [ -e "$work/first" ] || cp -a "$d" "$work/first"
	measure before
	# The first round's certificates expire before the prune (see above).
	sleep $((signlife + 3))
	t3=$(now_ms)
	"$B/mayfly" -c "$d/mayfly.yaml" db prune --expired-before 1s > "$work/prune.out" 2>&1 ||
		{ cat "$work/prune.out" >&2; exit 1; }
	t4=$(now_ms)
	# A prune empties DER but does not shrink the file: its pages go to
	# the free list for later rows to reuse.
	freed=$(sqlite3 "$d/mayfly.db" "SELECT f.freelist_count * p.page_size FROM
		pragma_freelist_count f, pragma_page_size p")
	# db compact gives the emptied space back (mayflyd is stopped here).
	t5=$(now_ms)
	"$B/mayfly" -c "$d/mayfly.yaml" db compact > "$work/compact.out" 2>&1 ||
		{ cat "$work/compact.out" >&2; exit 1; }
	t6=$(now_ms)
	measure pruned
	echo "$N fill_s=$(awk -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", t / 1000 }')" \
		"fill_rate=$(awk -v n="$N" -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / t }')/s" \
		"audit_verify_s=$(awk -v t=$((t2 - t1)) 'BEGIN { printf "%.1f", t / 1000 }')" \
		"prune_s=$(awk -v t=$((t4 - t3)) 'BEGIN { printf "%.1f", t / 1000 }')" \
		"db_after_fill_MiB=$(awk -v b="$fillsz" 'BEGIN { printf "%.1f", b / 1048576 }')" \
		"free_after_prune_MiB=$(awk -v b="$freed" 'BEGIN { printf "%.1f", b / 1048576 }')" \
		"compact_s=$(awk -v t=$((t6 - t5)) 'BEGIN { printf "%.1f", t / 1000 }')" \
		"compact: $(tr '\n' ' ' < "$work/compact.out")" \
		"prune: $(tr '\n' ' ' < "$work/prune.out")" >> "$work/fills"
	rm -rf "$d"
done
# The smallest log once more, from the copy taken before its first
# round: the machine's speed drifts over the minutes between the sizes
# (here, 10-15 % for a 5-s issuance figure), and the check below compares
# the largest size with the mean of the smallest's two rounds around it.
if [ "$first_n" != "$N" ]; then
	N=$first_n
	d=$work/first
	measure again
	rm -rf "$d"
fi
echo "-- per size: fill, audit verify and prune times"
cat "$work/fills"
echo "-- table (db_MiB, wal_MiB: database file and its WAL at start-up, before the round's loads;"
echo "   ready, presig, stored: ms from start to /health 200, to event=presigned, to the pre-signed"
echo "   responses stored (event=ocsp-persisted; - when fewer than 2,000 were signed); idle: % of a core"
echo "   both processes use in 2 s without load once quiet; net_M, sig_M: RSS in MiB of the network"
echo "   process and the signer after the loads; GET/s: OCSP GET of one pre-signed response, nginx/s"
echo "   a static file of its size, ratio the two; crl_ms: the CRL build at start (event=crl-built),"
echo "   crl_B its size, CRL/s GET of it beside nginx/s for a file of that size; c1/s, c32/s: /v1/sign"
echo "   issuances per second at concurrency 1 and 32; bound: c32 / the signing bound of $bound/s;"
echo "   ${secs} s per load; wrk -t2 -c32)"
rows_head
cat "$work/rows"
echo "-- the disk under the /v1/sign loads of each round (db_cached_MiB: of the database file, in the"
echo "   page cache at their start / the file's size then; dirty_MiB: the machine's dirty and writeback"
echo "   pages then; signer_read/write_MiB: what the signer read from and wrote to the disk during them)"
cat "$work/io"

# The issue's bar: issuance and OCSP at the largest size within 20 % of the
# smallest (the rows before a prune; a ratio below 0.8 is a FAIL). The
# smallest size's figure is the mean of its first round and the one at the
# end ("again"), which bracket the others in time.
first=$(grep ' before ' "$work/rows" | head -1)
last=$(grep ' before ' "$work/rows" | tail -1)
again=$(grep ' again ' "$work/rows" | tail -1)
if [ -n "$again" ]; then
	first=$(printf '%s\n%s\n' "$first" "$again" | awk 'NR == 1 { for (i = 1; i <= NF; i++) a[i] = $i }
		NR == 2 { for (i = 1; i <= NF; i++) if (i >= 5) $i = ($i + a[i]) / 2; $2 = "mean"; print }')
	echo "-- $(echo "$last" | awk '{print $1}') against the mean of $(echo "$first" | awk '{print $1}')'s first round and its round at the end (within 20 %: ratio at least 0.80)"
	bad=0
	for col in "11 OCSP_GET" "19 sign_c1" "20 sign_c32"; do
		set -- $col
		r=$(printf '%s\n%s\n' "$first" "$last" | awk -v c="$1" 'NR == 1 { a = $c } NR == 2 { printf "%.2f", $c / a }')
		v=$(awk -v r="$r" 'BEGIN { print (r >= 0.8 ? "PASS" : "FAIL") }')
		[ "$v" = PASS ] || bad=1
		echo "$2: $(echo "$first" | awk -v c="$1" '{printf "%.1f", $c}') -> $(echo "$last" | awk -v c="$1" '{print $c}') ratio $r $v"
	done
	[ "$bad" = 0 ] && echo "growth: PASS" || echo "growth: FAIL"
fi

if [ "${PLOT:-0}" = 1 ] && command -v gnuplot >/dev/null; then
	out=${PLOT_OUT:-growth.png}
	b=$(echo "$first" | awk '{print $11, $19, $20, $16}')
	set -- $b
	gnuplot <<GP
set terminal pngcairo size 900,800
set output "$out"
set multiplot layout 2,1 title "mayflyd as the log grows (live certificates fixed; 2-core VM)"
set logscale x
set format x "10^{%L}"
set grid
set xlabel "certificates in the log"
set ylabel "rate / mean of the smallest size's rounds"
set yrange [0:1.5]
set key bottom left
plot "< grep ' before ' $work/rows" using 1:(\$11/$1) with linespoints title "OCSP GET", \
     "< grep ' before ' $work/rows" using 1:(\$19/$2) with linespoints title "/v1/sign c=1", \
     "< grep ' before ' $work/rows" using 1:(\$20/$3) with linespoints title "/v1/sign c=32", \
     "< grep ' before ' $work/rows" using 1:(\$16/$4) with linespoints title "CRL GET", \
     "< grep ' again ' $work/rows" using 1:(\$11/$1) with points pt 6 lc 1 title "OCSP GET, smallest at the end", \
     "< grep ' again ' $work/rows" using 1:(\$19/$2) with points pt 6 lc 2 title "c=1, smallest at the end", \
     "< grep ' again ' $work/rows" using 1:(\$20/$3) with points pt 6 lc 3 title "c=32, smallest at the end", \
     0.8 with lines dashtype 2 title "-20 %"
set ylabel "ms (log)"
set logscale y
set autoscale y
set key top left
plot "< grep ' before ' $work/rows" using 1:5 with linespoints title "ready (/health 200)", \
     "< grep ' before ' $work/rows" using 1:6 with linespoints title "pre-signed", \
     "< grep ' before ' $work/rows" using 1:(\$7 > 0 ? \$7 : 1/0) with linespoints title "responses stored", \
     "< grep ' before ' $work/rows" using 1:(\$14 > 0 ? \$14 : 0.1) with linespoints title "CRL build"
unset multiplot
GP
	echo "plot: $out"
fi
