#!/bin/sh
# acme-daemon-softhsm.sh: acme-daemon.sh on a `mayfly init --keys softhsm`
# setup: every leaf mayflyd hands out is signed inside a real SoftHSM2 token,
# by the signer process alone.
MAYFLY_KEYS=softhsm exec sh "$(dirname "$0")/acme-daemon.sh"
