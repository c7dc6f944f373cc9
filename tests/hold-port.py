#!/usr/bin/env python3
# hold-port.py FILE PID: holds a TCP port on 127.0.0.1 for a test and
# writes its number to FILE (atomically), then keeps it until process PID
# (the test's shell) has exited. Used by hold_port in tests/mayflyd/lib.sh
# and tests/verify/device/lib.sh, for servers that cannot bind port 0 and
# report the port they got (certbot, ualpn, nginx, python's http.server) or
# whose port must be known before they start (mayflyd's OCSP port, named
# in the certificates' URLs).
#
# The socket is bound to port 0 with SO_REUSEADDR and never listens. While
# it is bound the kernel gives the port to no one else: a bind to port 0
# and the local end of an outgoing connection skip a bound port, and an
# explicit bind without SO_REUSEADDR fails. A server that sets SO_REUSEADDR
# (all of those above do) may still bind it and listen: Linux lets sockets
# that all set it share a port as long as no other one listens. So nothing
# can take the port between the choice and the server's bind, and a server
# restarted on it finds it free again.
import os
import socket
import sys
import time

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
owner = int(sys.argv[2])
while True:
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        break
    time.sleep(0.5)
