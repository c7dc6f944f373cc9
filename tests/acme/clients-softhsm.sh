#!/bin/sh
# clients-softhsm.sh: certbot (register, certonly, renew, revoke) against the
# listener on a `mayfly init --keys softhsm` setup: every leaf is signed by
# the issuing key inside a real SoftHSM2 token.
MAYFLY_INIT=1 QUICK=1 exec sh "$(dirname "$0")/clients.sh"
