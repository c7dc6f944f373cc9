#!/bin/sh
# mkca.sh DIR: a complete, file-key mayfly setup for the renewal listener's
# tests, made with the openssl command line only (so these tests do not
# depend on the CLI): root-a and a backup root-b, the issuing intermediate
# issuing-1 signed by root-a and cross-signed by root-b, and a mayfly.yaml
# whose acme: section points every test name at 127.0.0.1.
#
# Environment: HTTP01_PORT, TLSALPN01_PORT (test challenge ports, default
# 5002/5001), ACME_PORT (default 0: any free port), EXTRA_ACME (more lines
# for the acme: section, indented by two spaces).
set -eu
dir=$1
mkdir -p "$dir/certs" "$dir/keys"
chmod 700 "$dir" "$dir/keys"
cd "$dir"
umask 077

ext=$(mktemp)
trap 'rm -f "$ext"' EXIT
cat > "$ext" <<EOT
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOT

for r in root-a root-b; do
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out keys/$r.pem 2>/dev/null
	openssl req -new -x509 -key keys/$r.pem -subj "/O=mayfly test/CN=$r" -days 7300 \
		-extensions ca -config "$ext" -out certs/$r.pem 2>/dev/null
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out keys/issuing-1.pem 2>/dev/null
openssl req -new -key keys/issuing-1.pem -subj "/O=mayfly test/CN=issuing-1" \
	-config "$ext" -out issuing-1.csr 2>/dev/null
openssl x509 -req -in issuing-1.csr -CA certs/root-a.pem -CAkey keys/root-a.pem \
	-CAcreateserial -days 365 -extfile "$ext" -extensions inter -out certs/issuing-1.pem 2>/dev/null
openssl x509 -req -in issuing-1.csr -CA certs/root-b.pem -CAkey keys/root-b.pem \
	-CAcreateserial -days 365 -extfile "$ext" -extensions inter \
	-out certs/issuing-1.root-b.pem 2>/dev/null
rm -f issuing-1.csr certs/*.srl
chmod 600 keys/*.pem
# An empty database: the listener migrates it at open (the CLI's init would too).
: > mayfly.db
umask 022
chmod 644 certs/*.pem

cat > mayfly.yaml <<EOT
database: mayfly.db
urls:
  base: http://127.0.0.1:8080
roots:
  - name: root-a
    key: file:keys/root-a.pem
    cert: certs/root-a.pem
  - name: root-b
    key: file:keys/root-b.pem
    cert: certs/root-b.pem
intermediates:
  - name: issuing-1
    root: root-a
    key: file:keys/issuing-1.pem
    cert: certs/issuing-1.pem
    cross:
      - certs/issuing-1.root-b.pem
issuance:
  active: issuing-1
  hard-cap: 24h
profiles:
  server:
    dns: [localhost, .acme.test]
    wildcard: true
    ip: [127.0.0.0/8]
    default-lifetime: 24h
    max-lifetime: 24h
  client:
    dns: [.devices.acme.test]
    eku: [client-auth]
    default-lifetime: 24h
    max-lifetime: 24h
acme:
  host: 127.0.0.1
  port: ${ACME_PORT:-0}
  tls-names: [localhost, 127.0.0.1]
  profile: server
  challenges: [http-01, tls-alpn-01]
  test-resolve: [localhost, 127.0.0.1, .acme.test]
  test-http01-port: ${HTTP01_PORT:-5002}
  test-tlsalpn01-port: ${TLSALPN01_PORT:-5001}
  fetch-timeout: 5s
${EXTRA_ACME:-}
EOT
