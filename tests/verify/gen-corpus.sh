#!/bin/sh
# gen-corpus.sh OUTDIR - build the libmayfly-verify test corpus with the
# openssl command line: real roots, intermediates, leaves and OCSP
# responses, each made to break exactly one rule.  tests/verify/cases.txt
# says which chain must give which result.  Times are relative to the
# moment of generation, written to OUTDIR/now (seconds since 1970).
# `openssl ocsp` stamps responses with the current time, so the moment just
# after the responses were made is written to OUTDIR/tnow: the tests' clock
# starts there.
set -eu

out=${1:?usage: gen-corpus.sh OUTDIR}
mkdir -p "$out"
cd "$out"
mkdir -p db new

NOW=$(date -u +%s)
echo "$NOW" > now
DAY=86400

# GeneralizedTime for NOW + $1 seconds (GNU date).
t() { date -u -d "@$((NOW + $1))" +%Y%m%d%H%M%SZ; }

cat > ca.cnf <<'EOF'
[ ca ]
default_ca = CA_default
[ CA_default ]
database = $ENV::MFV_DB
serial = $ENV::MFV_DB.serial
new_certs_dir = new
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = none
[ pol ]
commonName = supplied
EOF
printf '[ req ]\ndistinguished_name = dn\n[ dn ]\n' > req.cnf

cat > ext.cnf <<'EOF'
[ root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ inter ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
[ inter_pl0 ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
[ inter_open ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ inter_noca ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
[ inter_noca_kcs ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyCertSign,cRLSign
[ inter_noski ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = none
[ inter_bcnc ]
basicConstraints = CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ inter_pc ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
policyConstraints = requireExplicitPolicy:0
[ root_eku ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
extendedKeyUsage = serverAuth
[ root_aki ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
authorityKeyIdentifier = keyid:always
[ inter_noku ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
[ inter_nc ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
nameConstraints = critical,permitted;DNS:example.test
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test,DNS:*.api.example.test,IP:192.0.2.1,IP:2001:db8::1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:8080/ocsp
[ leaf_rsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
[ leaf_crit ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
1.3.6.1.4.1.55555.1 = critical,ASN1:NULL
[ leaf_noncrit ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
1.3.6.1.4.1.55555.1 = ASN1:NULL
[ leaf_client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:device-1.example.test
[ leaf_noeku ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:www.example.test
[ leaf_anyeku ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = anyExtendedKeyUsage
subjectAltName = DNS:www.example.test
[ leaf_badku ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyAgreement
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
[ leaf_ca ]
basicConstraints = critical,CA:TRUE
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
[ leaf_nosan ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
[ leaf_wildtld ]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:*.test
[ leaf_partial ]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:w*.example.test
[ leaf_staple ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
tlsfeature = status_request
[ leaf_noaki ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
authorityKeyIdentifier = none
[ leaf_akiissuer ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
authorityKeyIdentifier = keyid:always,issuer:always
[ leaf_kcs ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
[ leaf_ekucrit ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,serverAuth
subjectAltName = DNS:www.example.test
[ leaf_ekuany ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,anyExtendedKeyUsage
subjectAltName = DNS:www.example.test
[ leaf_underscore ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test,DNS:foo_bar.example.test
[ leaf_badaia ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.test
authorityInfoAccess = ASN1:NULL
[ leaf_sancrit ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = critical,DNS:www.example.test
[ leaf_psl ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:*.co.uk
[ ocsp_signer ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
[ ocsp_noeku ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
EOF

# key NAME TYPE: ec256 ec384 rsa2048 rsa3072 rsa1024 ed25519
key() {
	case $2 in
	ec256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
	ec384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1.key" ;;
	rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2#rsa}" -out "$1.key" 2>/dev/null ;;
	ed25519) openssl genpkey -algorithm ED25519 -out "$1.key" ;;
	esac
}

# cert NAME CN ISSUER START END EXT [extra openssl ca options...]
# ISSUER is "self" or the name of an existing key/cert pair.  The CSR uses
# NAME.key, made beforehand with key(), or else the shared leaf.key.
cert() {
	name=$1 cn=$2 iss=$3 start=$4 end=$5 ext=$6
	shift 6
	[ -f "$name.key" ] || cp leaf.key "$name.key"
	openssl req -new -config req.cnf -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
	if [ "$iss" = self ]; then
		touch "db/$name.idx"
		MFV_DB="db/$name.idx" openssl ca -batch -config ca.cnf -selfsign -keyfile "$name.key" \
			-in "$name.csr" -out "$name.pem" -startdate "$(t "$start")" -enddate "$(t "$end")" \
			${ext:+-extfile ext.cnf -extensions "$ext"} -notext -rand_serial "$@" 2>/dev/null
	else
		touch "db/$iss.idx"
		MFV_DB="db/$iss.idx" openssl ca -batch -config ca.cnf -keyfile "$iss.key" -cert "$iss.pem" \
			-in "$name.csr" -out "$name.pem" -startdate "$(t "$start")" -enddate "$(t "$end")" \
			${ext:+-extfile ext.cnf -extensions "$ext"} -notext -rand_serial "$@" 2>/dev/null
	fi
	rm -f "$name.csr"
}

# cat-chain OUT CERT...: a PEM chain file, leaf first.
chain() {
	o=$1
	shift
	cat "$@" > "$o"
}

# mangle IN OUT PERLEXPR: rewrite the DER of a PEM certificate.
mangle() {
	openssl x509 -in "$1" -outform DER -out "$1.der.tmp"
	perl -0777 -pe "$3" < "$1.der.tmp" > "$2.der.tmp"
	{ echo "-----BEGIN CERTIFICATE-----"; openssl base64 -in "$2.der.tmp"; echo "-----END CERTIFICATE-----"; } > "$2"
	rm -f "$1.der.tmp" "$2.der.tmp"
}

V0=-$((10 * DAY)) V1=$((3650 * DAY))        # roots
I0=-$((5 * DAY)) I1=$((365 * DAY))          # intermediates
L0=-3600 L1=$((DAY - 3600))                 # a 24-hour leaf, valid now

# ---- the main P-256 hierarchy --------------------------------------------
key root ec256;   cert root "Mayfly Test Root A" self $V0 $V1 root
key rootb ec256;  cert rootb "Mayfly Test Root B" self $V0 $V1 root
key other ec256;  cert other "Some Other Root" self $V0 $V1 root
key inter ec256;  cert inter "Mayfly Issuing CA" root $I0 $I1 inter
# The same intermediate key and name, cross-signed by root B.
cp inter.key interx.key; cert interx "Mayfly Issuing CA" rootb $I0 $I1 inter

key leaf ec256
cert leaf24 www.example.test inter $L0 $L1 leaf
cert leaf25 www.example.test inter $L0 $((L0 + 25 * 3600)) leaf
cert expired www.example.test inter -$((3 * DAY)) -$((2 * DAY)) leaf
cert justexp www.example.test inter -$((DAY + 600)) -600 leaf
cert future www.example.test inter $DAY $((2 * DAY)) leaf
cert crit www.example.test inter $L0 $L1 leaf_crit
cert noncrit www.example.test inter $L0 $L1 leaf_noncrit
cert client device-1.example.test inter $L0 $L1 leaf_client
cert noeku www.example.test inter $L0 $L1 leaf_noeku
cert anyeku www.example.test inter $L0 $L1 leaf_anyeku
cert badku www.example.test inter $L0 $L1 leaf_badku
cert leafca www.example.test inter $L0 $L1 leaf_ca
cert nosan www.example.test inter $L0 $L1 leaf_nosan
cert wildtld www.example.test inter $L0 $L1 leaf_wildtld
cert partial www.example.test inter $L0 $L1 leaf_partial
cert staple www.example.test inter $L0 $L1 leaf_staple
cert v1 www.example.test inter $L0 $L1 ""
cert sha1 www.example.test inter $L0 $L1 leaf -md sha1
cert revoked www.example.test inter $L0 $L1 leaf

for c in leaf24 leaf25 expired justexp future crit noncrit client noeku anyeku badku \
	leafca nosan wildtld partial staple v1 sha1 revoked; do
	chain "c-$c.pem" "$c.pem" inter.pem
done
chain c-full.pem leaf24.pem inter.pem root.pem
chain c-leafonly.pem leaf24.pem
chain c-cross.pem leaf24.pem inter.pem interx.pem

# Broken encodings of the good leaf.
mangle leaf24.pem badsig.pem 'substr($_, -1, 1) = chr(ord(substr($_, -1, 1)) ^ 1)'
mangle leaf24.pem trunc.pem 'chop'
mangle leaf24.pem padded.pem '$_ .= "\0"'
mangle leaf24.pem nonmin.pem 's/\A\x30\x82/\x30\x83\x00/'
mangle inter.pem interbad.pem 'substr($_, -1, 1) = chr(ord(substr($_, -1, 1)) ^ 1)'
# Two subjectKeyIdentifiers: rename the authorityKeyIdentifier's OID.
mangle leaf24.pem dupext.pem 's/\x06\x03\x55\x1d\x23/\x06\x03\x55\x1d\x0e/'
for c in badsig trunc padded nonmin dupext; do chain "c-$c.pem" "$c.pem" inter.pem; done
chain c-interbad.pem leaf24.pem interbad.pem

# Serial numbers: negative and 21 octets (openssl x509 signs what it is told).
openssl req -new -config req.cnf -key leaf.key -subj /CN=www.example.test -out s.csr
openssl x509 -req -in s.csr -CA inter.pem -CAkey inter.key -set_serial -5 -days 1 \
	-extfile ext.cnf -extensions leaf -out negserial.pem 2>/dev/null
openssl x509 -req -in s.csr -CA inter.pem -CAkey inter.key \
	-set_serial 0x0102030405060708090a0b0c0d0e0f101112131415 -days 1 \
	-extfile ext.cnf -extensions leaf -out longserial.pem 2>/dev/null
rm -f s.csr
chain c-negserial.pem negserial.pem inter.pem
chain c-longserial.pem longserial.pem inter.pem

# Intermediates that must not issue.
key bad ec256
for i in inoca inoku inc iexp; do cp bad.key "$i.key"; done
cert inoca "Mayfly Issuing CA" root $I0 $I1 inter_noca
cert inoku "Mayfly Issuing CA" root $I0 $I1 inter_noku
cert inc "Mayfly Issuing CA" root $I0 $I1 inter_nc
cert iexp "Mayfly Issuing CA" root -$((400 * DAY)) -$((30 * DAY)) inter
for i in inoca inoku inc iexp; do
	key "l$i" ec256
	cert "l$i" www.example.test "$i" $L0 $L1 leaf
	chain "c-$i.pem" "l$i.pem" "$i.pem"
done
# pathLen: root -> ipl0 (pathlen 0) -> isub -> leaf.
key ipl0 ec256; cert ipl0 "Mayfly Policy CA" root $I0 $I1 inter_pl0
key isub ec256; cert isub "Mayfly Sub CA" ipl0 $I0 $I1 inter_open
key lpl ec256;  cert lpl www.example.test isub $L0 $L1 leaf
chain c-pathlen.pem lpl.pem isub.pem ipl0.pem
# The same shape under an open intermediate is fine.
key iopen ec256; cert iopen "Mayfly Open CA" root $I0 $I1 inter_open
key isub2 ec256; cert isub2 "Mayfly Sub CA 2" iopen $I0 $I1 inter_open
key lpl2 ec256;  cert lpl2 www.example.test isub2 $L0 $L1 leaf
chain c-depth3.pem lpl2.pem isub2.pem iopen.pem
# Two more levels: leaf + 4 intermediates + root is one more than MFV_MAX_PATH.
key ideep1 ec256; cert ideep1 "Mayfly Deep CA 1" isub2 $I0 $I1 inter_open
key ideep2 ec256; cert ideep2 "Mayfly Deep CA 2" ideep1 $I0 $I1 inter_open
key ldeep ec256;  cert ldeep www.example.test ideep2 $L0 $L1 leaf
chain c-deep.pem ldeep.pem ideep2.pem ideep1.pem isub2.pem iopen.pem
# Five self-signed certificates of one CA name and key: every one verifies
# every other, so an unpinned path search would try them in every order.
key loop1 ec256
for i in 2 3 4 5; do cp loop1.key "loop$i.key"; done
for i in 1 2 3 4 5; do cert "loop$i" "Mayfly Loop CA" self $I0 $I1 inter_open; done
key lloop ec256; cert lloop www.example.test loop1 $L0 $L1 leaf
chain c-loop.pem lloop.pem loop1.pem loop2.pem loop3.pem loop4.pem loop5.pem

# ---- RFC 5280 / Baseline Requirements profile rules (libmayfly-verify(3)) --
# Leaves under the main intermediate, each breaking one rule.
cert cnother other.example.test inter $L0 $L1 leaf
cert cncase WWW.example.test inter $L0 $L1 leaf
cert cnip 192.0.2.1 inter $L0 $L1 leaf
cert noaki www.example.test inter $L0 $L1 leaf_noaki
cert akiissuer www.example.test inter $L0 $L1 leaf_akiissuer
cert kcs www.example.test inter $L0 $L1 leaf_kcs
cert ekucrit www.example.test inter $L0 $L1 leaf_ekucrit
cert ekuany www.example.test inter $L0 $L1 leaf_ekuany
cert underscore www.example.test inter $L0 $L1 leaf_underscore
cert badaia www.example.test inter $L0 $L1 leaf_badaia
cert sancrit www.example.test inter $L0 $L1 leaf_sancrit
# Still accepted, and pinned here: a wildcard over a public suffix.
cert psl "*.co.uk" inter $L0 $L1 leaf_psl
# ...and a client certificate whose CN is no DNS name (BR 7.1.4.3 is a
# server rule).
cert clientcn "Device 1" inter $L0 $L1 leaf_client
for c in clientcn cnother cncase cnip noaki akiissuer kcs ekucrit ekuany underscore badaia sancrit psl; do
	chain "c-$c.pem" "$c.pem" inter.pem
done
# Empty subjects (openssl x509 signs what it is told): with a critical SAN,
# as mayfly issues a leaf without a DNS name; with a non-critical one.
openssl req -new -config req.cnf -key leaf.key -subj / -out e.csr
openssl x509 -req -in e.csr -CA inter.pem -CAkey inter.key -days 1 \
	-extfile ext.cnf -extensions leaf_sancrit -out emptysubj.pem 2>/dev/null
openssl x509 -req -in e.csr -CA inter.pem -CAkey inter.key -days 1 \
	-extfile ext.cnf -extensions leaf_rsa -out emptysubjnc.pem 2>/dev/null
# Serial number zero.
openssl x509 -req -in e.csr -CA inter.pem -CAkey inter.key -set_serial 0 -days 1 \
	-subj /CN=www.example.test -extfile ext.cnf -extensions leaf -out zeroserial.pem 2>/dev/null
rm -f e.csr
for c in emptysubj emptysubjnc zeroserial; do chain "c-$c.pem" "$c.pem" inter.pem; done
# CAs: no SKI, non-critical basicConstraints, policy constraints, CA:FALSE
# with keyCertSign; a root with EKU; a root naming its own key (fine).
for i in inoski ibcnc ipc inokcs; do cp bad.key "$i.key"; done
cert inoski "Mayfly Issuing CA" root $I0 $I1 inter_noski
cert ibcnc "Mayfly Issuing CA" root $I0 $I1 inter_bcnc
cert ipc "Mayfly Issuing CA" root $I0 $I1 inter_pc
cert inokcs "Mayfly Issuing CA" root $I0 $I1 inter_noca_kcs
key reku ec256; cert reku "Mayfly EKU Root" self $V0 $V1 root_eku
# `openssl ca -selfsign` cannot name the key it signs with; `req -x509` can.
key raki ec256
{ cat req.cnf; sed -n '/^\[ root_aki \]/,/^authorityKeyIdentifier/p' ext.cnf; } > raki.cnf
openssl req -x509 -new -config raki.cnf -extensions root_aki -key raki.key \
	-subj "/CN=Mayfly AKI Root" -days 3650 -out raki.pem
# A root with serial number zero (public ones exist): accepted.
key rzero ec256
openssl req -x509 -new -config raki.cnf -extensions root_aki -key rzero.key \
	-subj "/CN=Mayfly Zero Root" -set_serial 0 -days 3650 -out rzero.pem
for i in inoski ibcnc ipc inokcs reku raki rzero; do
	key "l$i" ec256
	cert "l$i" www.example.test "$i" $L0 $L1 leaf
	chain "c-$i.pem" "l$i.pem" "$i.pem"
done

# ---- other algorithms ------------------------------------------------------
key rroot rsa2048; cert rroot "RSA Root" self $V0 $V1 root
key rinter rsa3072; cert rinter "RSA Issuing CA" rroot $I0 $I1 inter
key rleaf rsa2048; cert rleaf www.example.test rinter $L0 $L1 leaf_rsa
cert rpss www.example.test rinter $L0 $L1 leaf_rsa -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
cert rpssmax www.example.test rinter $L0 $L1 leaf_rsa -md sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max
key rweak rsa1024; cert rweak www.example.test rinter $L0 $L1 leaf_rsa
chain c-rsa.pem rleaf.pem rinter.pem
chain c-rpss.pem rpss.pem rinter.pem
chain c-rpssmax.pem rpssmax.pem rinter.pem
chain c-rweak.pem rweak.pem rinter.pem
key r2052 rsa2052; cert r2052 www.example.test rinter $L0 $L1 leaf_rsa
chain c-r2052.pem r2052.pem rinter.pem

key proot ec384; cert proot "P-384 Root" self $V0 $V1 root -md sha384
key pinter ec384; cert pinter "P-384 Issuing CA" proot $I0 $I1 inter -md sha384
key pleaf ec256; cert pleaf www.example.test pinter $L0 $L1 leaf -md sha384
chain c-p384.pem pleaf.pem pinter.pem

key eroot ed25519; cert eroot "Ed25519 Root" self $V0 $V1 root -md default
key einter ed25519; cert einter "Ed25519 Issuing CA" eroot $I0 $I1 inter -md default
key eleaf ed25519; cert eleaf www.example.test einter $L0 $L1 leaf -md default
chain c-ed25519.pem eleaf.pem einter.pem

# ---- OCSP --------------------------------------------------------------------
key ocsp ec256; cert ocsp "Mayfly OCSP Responder" inter $I0 $I1 ocsp_signer
key ocspnoeku ec256; cert ocspnoeku "Mayfly OCSP Responder" inter $I0 $I1 ocsp_noeku
MFV_DB=db/inter.idx openssl ca -config ca.cnf -keyfile inter.key -cert inter.pem \
	-revoke revoked.pem 2>/dev/null

# resp NAME CERT [request options] -- [responder options]
resp() {
	n=$1 c=$2
	shift 2
	ropts=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ropts="$ropts $1"; shift; done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086
	openssl ocsp -issuer inter.pem $ropts -cert "$c" -no_nonce -reqout "$n.req" 2>/dev/null
	openssl ocsp -index db/inter.idx -CA inter.pem -reqin "$n.req" -respout "$n.der" "$@" 2>/dev/null >/dev/null
	rm -f "$n.req"
}
resp o-good leaf24.pem -- -rsigner inter.pem -rkey inter.key -resp_no_certs -ndays 1
resp o-good256 leaf24.pem -sha256 -- -rsigner inter.pem -rkey inter.key -resp_no_certs -ndays 1
resp o-bykey leaf24.pem -- -rsigner inter.pem -rkey inter.key -resp_no_certs -resp_key_id -ndays 1
resp o-deleg leaf24.pem -- -rsigner ocsp.pem -rkey ocsp.key -ndays 1
resp o-noeku leaf24.pem -- -rsigner ocspnoeku.pem -rkey ocspnoeku.key -ndays 1
resp o-root leaf24.pem -- -rsigner root.pem -rkey root.key -ndays 1
resp o-revoked revoked.pem -- -rsigner inter.pem -rkey inter.key -resp_no_certs -ndays 1
resp o-stale leaf24.pem -- -rsigner inter.pem -rkey inter.key -resp_no_certs -nmin 1
resp o-nonext leaf24.pem -- -rsigner inter.pem -rkey inter.key -resp_no_certs
resp o-staple staple.pem -- -rsigner inter.pem -rkey inter.key -resp_no_certs -ndays 1
perl -0777 -pe 'substr($_, -1, 1) = chr(ord(substr($_, -1, 1)) ^ 1)' < o-good.der > o-badsig.der
chain c-revoked.pem revoked.pem inter.pem
date -u +%s > tnow

rm -rf new db/*.old db/*.attr.old
