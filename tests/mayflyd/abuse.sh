#!/bin/sh
# abuse.sh: the policy-abuse table of issue 11 (tests/abuse/cases.txt) through
# every issuance path of one CA: `mayfly issue`, POST /v1/sign, ACME
# (newOrder, http-01, finalize: tests/acme/acme_try.c), EST simpleenroll
# (HTTP basic) and EST simplereenroll (mutual TLS with a certificate for
# a.example.com, b.example.com, xn--bcher-kva.example.com and 127.0.0.1).
# Each row must be refused on each path with its specific error (the CLI's
# error name, the problem type of the HTTP paths, and the policy's words in
# both) and leave the log as it was: the count of certificates, the count of audit rows of event "issue"
# and the audit chain's head are compared before and after every attempt.
# Control rows must be issued everywhere, with nothing of the CSR but its key
# and names in the certificate. Prints the table (row x path) at the end.
#
#   sh tests/mayflyd/abuse.sh          (from the build directory; KEEP=1 keeps $work)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
cases=${ABUSE_CASES:-$top_srcdir/tests/abuse/cases.txt}
for t in openssl sqlite3 python3 curl; do
	command -v $t >/dev/null 2>&1 || { echo "abuse.sh: $t is not installed" >&2; exit 1; }
done
[ -x "$top_builddir/mayfly-acme-try" ] || { echo "abuse.sh: build mayfly-acme-try first (make check)" >&2; exit 1; }

LOGTAIL=30
. "$top_srcdir/tests/mayflyd/lib.sh"
mfdt_tempdir abuse apid

hold_port H01
ca=$work/ca
mfdt_init_ca "$ca" --dns .example.com --dns allowed.example --dns localhost
grep -q '^    ip: \[127.0.0.0/8, "::1/128"\]' "$ca/mayfly.yaml" || fail "init's profile has no IP range"
token=tok-$(openssl rand -hex 16)
printf '%s\n' "$token" > "$ca/api.token"
printf 'pw-%s\n' "$(openssl rand -hex 8)" > "$ca/est.password"
chmod 600 "$ca/api.token" "$ca/est.password"
estpw=$(cat "$ca/est.password")
cat >> "$ca/mayfly.yaml" <<EOT
acme:
  host: 127.0.0.1
  port: 0
  api-token-file: api.token
  est:
    user: fleet
    password-file: est.password
  challenges: [http-01]
  test-resolve: [.example.com, allowed.example]
  test-http01-port: $H01
  orders-per-hour: 0
  certs-per-name-per-hour: 0
  accounts-per-ip-per-hour: 0
EOT
root=$ca/certs/root-a.pem
db=$ca/mayfly.db
"$top_builddir/mayflyd" -c "$ca/mayfly.yaml" >"$work/d.log" 2>&1 &
dpid=$!
AP=$(bound_port acme)
[ -n "$AP" ] || fail "no ACME port in the log"
base=https://127.0.0.1:$AP

# What must not move on a refusal: certificates, issue rows, the chain's head.
snap() {
	sqlite3 "$db" "SELECT (SELECT count(*) FROM certificates) || ' ' ||
		(SELECT count(*) FROM audit_log WHERE event = 'issue') || ' ' ||
		(SELECT hex(hash) FROM audit_log ORDER BY id DESC LIMIT 1)"
}

# ---- keys, one per kind ----------------------------------------------------------
k=$work/keys
mkdir "$k"
gk() { openssl genpkey "$@" 2>"$k/err" || { cat "$k/err" >&2; fail "cannot make key $*"; }; }
gk -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/ec256"
gk -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/rsa2048"
gk -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$k/rsa1024"
gk -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out "$k/rsa2048e3"
gk -algorithm EC -pkeyopt ec_paramgen_curve:P-192 -out "$k/ec192"
gk -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$k/k1"
gk -algorithm EC -pkeyopt ec_paramgen_curve:brainpoolP256r1 -out "$k/bp256"
gk -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:explicit -out "$k/ecexplicit"
gk -algorithm ED448 -out "$k/ed448"

# ---- the client certificate for simplereenroll --------------------------------
openssl req -new -key "$k/ec256" -subj /CN=a.example.com \
	-addext subjectAltName=DNS:a.example.com,DNS:b.example.com,DNS:xn--bcher-kva.example.com,IP:127.0.0.1 \
	-out "$work/client.csr" 2>/dev/null
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" issue --csr "$work/client.csr" --no-chain \
	--out "$work/client.pem" 2>"$work/client.err" || fail_file "$work/client.err" "no client certificate"


# csr ID KEY SUBJECT EXTS MODS: $work/ID.der
csr() {
	set -- "$1" "$2" "$3" "$4" "$5"
	_id=$1 _key=$2 _subj=$3 _exts=$4 _mods=$5
	[ "$_subj" = - ] && _subj=/
	_md=-sha256
	case "$_mods" in *sha1*) _md=-sha1 ;; *md5*) _md=-md5 ;; esac
	case "$_key" in ed448) _md= ;; esac
	if [ "$_exts" != - ]; then
		printf '%s\n' "$_exts" | sed 's/ + /\n/g' > "$work/$_id.exts"
	else
		: > "$work/$_id.exts"
	fi
	set --
	while IFS= read -r _e; do set -- "$@" -addext "$_e"; done < "$work/$_id.exts"
	openssl req -new -key "$k/$_key" $_md -subj "$_subj" "$@" -outform DER \
		-out "$work/$_id.der" 2>"$work/$_id.gen" || fail_file "$work/$_id.gen" "$_id: openssl req failed"
	case "$_mods" in
	*badsig*)
		python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[1], "wb").write(b)' "$work/$_id.der" ;;
	esac
	openssl base64 -in "$work/$_id.der" > "$work/$_id.b64"
}

# names EXTS SUBJECT: the CSR's names for the ACME order, comma-separated,
# from the table: its subjectAltName's DNS names and IP addresses ("dns:",
# "ip:"; others dropped, as an ACME client could not order them), else the
# subject's CN
names() {
	_n=
	case $1 in
	subjectAltName=*)
		_s=${1#subjectAltName=}
		_rest=${_s%% + *}
		while [ -n "$_rest" ]; do
			_e=${_rest%%,*}
			case $_rest in *,*) _rest=${_rest#*,} ;; *) _rest= ;; esac
			case $_e in
			DNS:*) _n=$_n${_n:+,}dns:${_e#DNS:} ;;
			IP:*) _n=$_n${_n:+,}ip:${_e#IP:} ;;
			esac
		done ;;
	esac
	if [ -z "$_n" ]; then _n=${2##*/CN=}; _n=${_n%%/*}; fi
	printf '%s' "$_n"
}

# plain FILE: FILE without quotes and backslashes (JSON escapes them, the
# CLI quotes names); the table's words hold neither.
plain() { tr -d '"\\' < "$1"; }
adq() { printf '%s' "$1" | tr -d '"\\'; }

# http PATHNAME ID: POSTs $work/ID.der; body to $work/ID.PATHNAME.out, prints the HTTP status
http() {
	_o=$work/$2.$1.out
	case $1 in
	sign) set -- -H "Authorization: Bearer $token" -H "Content-Type: application/pkcs10" \
		--data-binary @"$work/$2.der" "$base/v1/sign" ;;
	enrol) set -- -u "fleet:$estpw" -H "Content-Type: application/pkcs10" \
		-H "Content-Transfer-Encoding: base64" --data-binary @"$work/$2.b64" \
		"$base/.well-known/est/simpleenroll" ;;
	reenrol) set -- --cert "$work/client.pem" --key "$k/ec256" -H "Content-Type: application/pkcs10" \
		-H "Content-Transfer-Encoding: base64" --data-binary @"$work/$2.b64" \
		"$base/.well-known/est/simplereenroll" ;;
	esac
	curl -sS --max-time 20 --cacert "$root" -o "$_o" -w '%{http_code}' "$@" 2>"$_o.err" || echo 000
}

# Expected ACME problem type of a policy error name.
acme_type() {
	case $1 in name-not-allowed|wildcard-not-allowed) echo rejectedIdentifier ;; *) echo badCSR ;; esac
}

table=$work/table
printf '%-22s %-30s %-26s %-30s %-26s %-26s\n' case "mayfly issue" "POST /v1/sign" \
	"ACME" "EST simpleenroll" "EST simplereenroll" > "$table"
nrows=0
nfail=0
bad() { echo "FAIL: $*" >&2; nfail=$((nfail + 1)); }

# check_http PATH ID EXPECT TYPE DETAIL CODE: asserts a problem document
check_http() {
	_f=$work/$2.$1.out
	if [ "$3" = issued ]; then
		[ "$6" = 200 ] || { bad "$2 $1: answered $6, want 200: $(head -c 300 "$_f")"; return 1; }
		return 0
	fi
	case $6 in 4??) ;; *) bad "$2 $1: answered $6, want 4xx: $(head -c 300 "$_f" 2>/dev/null)"; return 1 ;; esac
	_p=$(plain "$_f")
	case $_p in *"urn:ietf:params:acme:error:$4,"*) ;; *) bad "$2 $1: problem type is not $4: $_p"; return 1 ;; esac
	case $_p in *"$5"*) ;; *) bad "$2 $1: detail lacks '$5': $_p"; return 1 ;; esac
}

# issued_ok ID PEMFILE: only the key and names of the CSR reach the certificate
issued_ok() {
	_t=$(openssl x509 -in "$2" -noout -text 2>/dev/null) || { bad "$1: no certificate in $2"; return 1; }
	printf '%s' "$_t" | grep -q 'CA:FALSE' || bad "$1: certificate is not CA:FALSE"
	printf '%s' "$_t" | grep -q 'Code Signing' && bad "$1: requested codeSigning was copied"
	printf '%s' "$_t" | grep -q 'Evil' && bad "$1: subject O= of the CSR was copied"
	printf '%s' "$_t" | grep -q 'Certificate Sign' && bad "$1: keyCertSign in a leaf"
	return 0
}

p7pem() { { echo "-----BEGIN PKCS7-----"; cat "$1"; echo "-----END PKCS7-----"; } |
	openssl pkcs7 -print_certs 2>/dev/null; }

# One ACME client for every row (one account, so an authorisation once won
# serves the later orders for the same name), fed a row at a time through a
# FIFO so that the log is compared around each row's order.
mkfifo "$work/acme.in" "$work/acme.out"
"$top_builddir/mayfly-acme-try" "$base" "$root" "$H01" <"$work/acme.in" >"$work/acme.out" \
	2>"$work/acme.err" &
apid=$!
exec 4>"$work/acme.in" 5<"$work/acme.out"

t0=$(date +%s)
while IFS= read -r line <&3; do
	case $line in ''|'#'*) continue ;; esac
	IFS='|' read -r id key subj exts mods expect detail acme reen <<EOF
$(printf '%s' "$line" | sed 's/[[:space:]]*|[[:space:]]*/|/g; s/^[[:space:]]*//; s/[[:space:]]*$//')
EOF
	csr "$id" "$key" "$subj" "$exts" "$mods"
	nrows=$((nrows + 1))
	type=$(acme_type "$expect")
	lt=
	case $mods in *lifetime=*) lt=$(printf '%s' "$mods" | sed 's/.*lifetime=\([0-9a-z]*\).*/\1/') ;; esac
	cells=

	# -- mayfly issue. s0 is the log before each attempt, s1 after it.
	[ -n "${s0:-}" ] || s0=$(snap)
	if [ -n "$lt" ]; then set -- --lifetime "$lt"; else set --; fi
	if "$top_builddir/mayfly" -c "$ca/mayfly.yaml" issue --csr "$work/$id.der" --no-chain \
	    --out "$work/$id.cli.pem" "$@" 2>"$work/$id.cli.err"; then
		if [ "$expect" = issued ]; then issued_ok "$id" "$work/$id.cli.pem"; cell=issued
		else bad "$id cli: ISSUED ($(cat "$work/$id.cli.err"))"; cell=ISSUED; fi
	else
		cell="refused $expect"
		[ "$expect" != issued ] || { bad "$id cli: refused: $(cat "$work/$id.cli.err")"; cell=REFUSED; }
		if [ "$expect" != issued ]; then
			_p=$(plain "$work/$id.cli.err")
			case $_p in
			*"mayfly: issue: $expect: refused: "*"$detail"*) ;;
			*) bad "$id cli: want $expect '$detail', got: $_p"; cell="WRONG" ;;
			esac
		fi
	fi
	s1=$(snap)
	[ "$expect" = issued ] || [ "$s1" = "$s0" ] || { bad "$id cli: the log changed"; cell="LOGGED"; }
	s0=$s1
	cells=$(printf '%-30s ' "$cell")

	# -- /v1/sign, EST simpleenroll, EST simplereenroll (no lifetime in these requests)
	for p in sign enrol reenrol; do
		if [ -n "$lt" ]; then eval "c_$p='n/a (no lifetime)'"; continue; fi
		code=$(http $p "$id")
		ptype=$type pdetail=$detail
		if [ $p = reenrol ] && [ "$reen" != - ]; then
			ptype=${reen%% *} pdetail=${reen#* }
		fi
		cell="refused $ptype"
		if check_http $p "$id" "$expect" "$ptype" "$pdetail" "$code"; then
			if [ "$expect" = issued ]; then
				cell=issued
				if [ $p = sign ]; then issued_ok "$id" "$work/$id.$p.out"
				else p7pem "$work/$id.$p.out" > "$work/$id.$p.pem"; issued_ok "$id" "$work/$id.$p.pem"; fi
			fi
		else
			cell=WRONG
		fi
		s1=$(snap)
		if [ "$expect" != issued ] && [ "$s1" != "$s0" ]; then
			bad "$id $p: the log changed"; cell=LOGGED
		fi
		s0=$s1
		eval "c_$p=\$cell"
	done

	# -- ACME: newOrder for the CSR's names, http-01, finalize with the CSR as it is
	span=0
	[ -z "$lt" ] || span=$(( ${lt%h} * 3600 ))
	printf '%s %s %s %s\n' "$id" "$(names "$exts" "$subj")" "$work/$id.der" "$span" >&4
	IFS= read -r got <&5 || fail_file "$work/acme.err" "$id acme: mayfly-acme-try stopped"
	got=$(adq "$got")
	if [ "$acme" = - ]; then astep=finalize atype=$type adetail=$detail
	else astep=${acme%% *} rest=${acme#* } atype=${rest%% *} adetail=${rest#* }
	fi
	if [ "$expect" = issued ]; then
		if [ "$got" = "$id|issued" ]; then cell=issued; else bad "$id acme: $got"; cell=WRONG; fi
	else
		case $got in
		"$id|refused|$astep|$atype|"*"$(adq "$adetail")"*) cell="refused $atype ($astep)" ;;
		*) bad "$id acme: want $astep $atype '$adetail', got: $got"
		   cell=WRONG ;;
		esac
	fi
	s1=$(snap)
	[ "$expect" = issued ] || [ "$s1" = "$s0" ] || { bad "$id acme: the log changed"; cell=LOGGED; }
	s0=$s1
	printf '%-22s %s%-26s %-30s %-26s %-26s\n' "$id" "$cells" "$c_sign" "$cell" "$c_enrol" \
		"$c_reenrol" >> "$table"
done 3< "$cases"
exec 4>&-
wait "$apid" || bad "mayfly-acme-try: $(cat "$work/acme.err")"
exec 5<&-

# The chain as a whole still verifies.
"$top_builddir/mayfly" -c "$ca/mayfly.yaml" audit verify >"$work/audit.out" 2>&1 ||
	{ cat "$work/audit.out" >&2; bad "mayfly audit verify failed"; }
cat "$table"
echo "rows=$nrows paths=5 seconds=$(($(date +%s) - t0)) failures=$nfail"
[ "$nrows" -gt 0 ] || fail "no rows in $cases"
[ "$nfail" -eq 0 ] || fail "$nfail refusal(s) not as the table says"
ok "every row of $cases refused (or issued, for controls) on every path as the table says"
