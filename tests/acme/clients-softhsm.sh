#!/bin/sh
# clients-softhsm.sh: clients.sh (certbot standalone and webroot, uacme:
# issue, renew, revoke, OCSP) against mayflyd on a `mayfly init --keys
# softhsm` setup: every leaf the clients get is signed by the issuing key
# inside a real SoftHSM2 token, by mayflyd's signer process alone.
MAYFLY_KEYS=softhsm exec sh "$(dirname "$0")/clients.sh"
