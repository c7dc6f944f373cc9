#!/usr/bin/env python3
"""hostile.py: the two sides of tests/mayflyd/hostile.sh.

  hostile.py measure --ocsp-port P --acme-port A --cafile ROOT --ocsp-req DER
                     --seconds S --out JSON
      Well-behaved clients, one thread per kind, each sending one request
      after another on a fresh connection (as nginx fetches OCSP): OCSP GET
      (RFC 5019) and POST (RFC 6960), the ACME directory, a HEAD of
      new-nonce, and a signed ACME request (new-account with
      onlyReturnExisting, JWS ES256, nonce from new-nonce). Every attempt
      is counted: success, and its latency (a failure counts with the time
      it took, so p99 is not flattered by dropping the slow ones).

  hostile.py attack --ocsp-port P --acme-port A --idle N --seconds S
                    --ready FILE --out JSON
      The attacker, from addresses 127.1.x.y (never 127.0.0.1, which the
      well-behaved clients use, so that per-address limits alone cannot
      be what saves them): N idle connections (half per listener, a few
      per address) that send nothing and reconnect as soon as they are
      dropped; slow-header clients (a header byte every 2 s, under any
      idle timeout); oversized bodies (1 GB declared, and 1 GB streamed
      chunked); malformed chunked bodies. TLS on the ACME listener for all
      but the idle ones (which never start a handshake). FILE is written
      once the idle connections have been opened.

Every loop is bounded by --seconds; the script exits by itself.
"""
import argparse
import asyncio
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

H = "127.0.0.1"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


# ---- well-behaved clients ------------------------------------------------------


class Tally:
    def __init__(self):
        self.ok = 0
        self.fail = 0
        self.ms = []
        self.why = {}

    def add(self, ok, ms, why=None):
        self.ms.append(ms)
        if ok:
            self.ok += 1
        else:
            self.fail += 1
            self.why[why] = self.why.get(why, 0) + 1

    def summary(self):
        n = self.ok + self.fail
        return {"n": n, "ok": self.ok, "rate": (100.0 * self.ok / n) if n else 0.0,
                "p50": pct(self.ms, 50), "p99": pct(self.ms, 99),
                "max": max(self.ms) if self.ms else 0.0, "why": self.why}


def ocsp_ok(status, body):
    # OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED (0 = successful), ... }
    return status == 200 and len(body) > 8 and body[0] == 0x30 and b"\x0a\x01\x00" in body[:8]


def http_once(port, method, path, headers, body, timeout, tlsctx=None):
    if tlsctx is None:
        c = http.client.HTTPConnection(H, port, timeout=timeout)
    else:
        c = http.client.HTTPSConnection(H, port, timeout=timeout, context=tlsctx)
    try:
        hd = {"Connection": "close"}
        hd.update(headers)
        c.request(method, path, body=body, headers=hd)
        r = c.getresponse()
        data = r.read()
        return r.status, r.getheaders(), data
    finally:
        c.close()


def run_kind(name, fn, deadline, pace, tally):
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            ok, why = fn()
        except Exception as e:  # a refused, reset or timed-out connection
            ok, why = False, type(e).__name__
        tally.add(ok, (time.monotonic() - t0) * 1000.0, why)
        time.sleep(pace)


def measure(a):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    req = open(a.ocsp_req, "rb").read()
    get_path = "/ocsp/" + base64.b64encode(req).decode().replace("+", "%2B").replace(
        "/", "%2F").replace("=", "%3D")
    tls = ssl.create_default_context(cafile=a.cafile)
    tls.check_hostname = False  # the listener's certificate names localhost
    to = a.timeout

    # The directory's paths and the account key come from the first run
    # (the warm-up, before any attack) and are kept in --state for the next.
    if os.path.exists(a.state):
        stt = json.load(open(a.state))
        key = serialization.load_pem_private_key(stt["key"].encode(), None)
    else:
        status, _, d = http_once(a.acme_port, "GET", "/directory", {}, None, to, tls)
        if status != 200:
            sys.exit("directory: HTTP %d" % status)
        stt = json.loads(d)
        key = ec.generate_private_key(ec.SECP256R1())
        stt["key"] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()).decode()
    path = lambda u: "/" + u.split("/", 3)[3]
    nonce_path, acct_path, acct_url = path(stt["newNonce"]), path(stt["newAccount"]), stt["newAccount"]
    nums = key.public_key().public_numbers()
    jwk = {"crv": "P-256", "kty": "EC", "x": b64u(nums.x.to_bytes(32, "big")),
           "y": b64u(nums.y.to_bytes(32, "big"))}

    def nonce():
        st, hd, _ = http_once(a.acme_port, "HEAD", nonce_path, {}, None, to, tls)
        n = dict((k.lower(), v) for k, v in hd).get("replay-nonce")
        return st, n

    def jws(payload):
        st, n = nonce()
        if n is None:
            return None
        prot = b64u(json.dumps({"alg": "ES256", "jwk": jwk, "nonce": n, "url": acct_url}).encode())
        pl = b64u(json.dumps(payload).encode())
        r, s = decode_dss_signature(key.sign((prot + "." + pl).encode(), ec.ECDSA(hashes.SHA256())))
        sig = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return json.dumps({"protected": prot, "payload": pl, "signature": sig})

    if not os.path.exists(a.state):
        # The account the signed requests look up (one new account of this address).
        st, _, body = http_once(a.acme_port, "POST", acct_path,
                                {"Content-Type": "application/jose+json"},
                                jws({"termsOfServiceAgreed": True}), to, tls)
        if st not in (200, 201):
            sys.exit("new-account: HTTP %d %s" % (st, body[:200]))
        json.dump(stt, open(a.state, "w"))

    def k_ocsp_get():
        st, _, b = http_once(a.ocsp_port, "GET", get_path, {}, None, to)
        return ocsp_ok(st, b), "http-%d" % st

    def k_ocsp_post():
        st, _, b = http_once(a.ocsp_port, "POST", "/ocsp",
                             {"Content-Type": "application/ocsp-request"}, req, to)
        return ocsp_ok(st, b), "http-%d" % st

    def k_dir():
        st, _, b = http_once(a.acme_port, "GET", "/directory", {}, None, to, tls)
        return st == 200 and b"newNonce" in b, "http-%d" % st

    def k_nonce():
        st, n = nonce()
        return st == 200 and n is not None, "http-%d" % st

    def k_signed():
        j = jws({"onlyReturnExisting": True})
        if j is None:
            return False, "no-nonce"
        st, _, b = http_once(a.acme_port, "POST", acct_path,
                             {"Content-Type": "application/jose+json"}, j, to, tls)
        return st == 200 and b'"valid"' in b, "http-%d" % st

    kinds = [("ocsp-get", k_ocsp_get, 0.02), ("ocsp-post", k_ocsp_post, 0.02),
             ("acme-directory", k_dir, 0.05), ("acme-nonce", k_nonce, 0.05),
             ("acme-signed", k_signed, 0.1)]
    tallies = dict((k, Tally()) for k, _, _ in kinds)
    deadline = time.monotonic() + a.seconds
    th = [threading.Thread(target=run_kind, args=(k, f, deadline, p, tallies[k]))
          for k, f, p in kinds]
    for t in th:
        t.start()
    for t in th:
        t.join()
    out = dict((k, t.summary()) for k, t in tallies.items())
    json.dump(out, open(a.out, "w"), indent=1)


# ---- the attacker ------------------------------------------------------------------


class Attack:
    def __init__(self, a):
        self.a = a
        self.end = time.monotonic() + a.seconds
        self.st = {}
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE
        self.nextaddr = 0

    def count(self, k, n=1):
        self.st[k] = self.st.get(k, 0) + n

    def src(self):
        # A new source address every 4 connections, below any per-address limit.
        i = self.nextaddr // 4
        self.nextaddr += 1
        return "127.1.%d.%d" % ((i // 250) % 250, i % 250 + 1)

    def left(self):
        return self.end - time.monotonic()

    async def connect(self, port, tls, src):
        # At most 256 connects in flight: thousands at once starve the
        # event loop until every one of them times out.
        async with self.sem:
            return await asyncio.wait_for(asyncio.open_connection(
                H, port, local_addr=(src, 0), ssl=self.tls if tls else None,
                server_hostname="" if tls else None), timeout=max(0.1, min(3, self.left())))

    async def hold(self, r):
        # Wait until the server drops us (or the attack ends).
        while self.left() > 0:
            try:
                d = await asyncio.wait_for(r.read(4096), timeout=max(0.1, min(1, self.left())))
            except asyncio.TimeoutError:
                continue
            except (ConnectionError, OSError):
                return True
            if not d:
                return True
        return False

    async def idle(self, who, port, opened):
        src = self.src()
        first = True
        while self.left() > 0:
            try:
                r, w = await self.connect(port, False, src)
            except (OSError, asyncio.TimeoutError) as e:
                self.count(who + ".connect-failed." + type(e).__name__)
                if first:
                    first = False
                    opened()
                await asyncio.sleep(0.05)
                continue
            self.count(who + ".opened")
            if first:
                first = False
                opened()
            t0 = time.monotonic()
            dropped = await self.hold(r)
            if dropped:
                self.count(who + ".dropped")
                self.st[who + ".max-held-s"] = max(self.st.get(who + ".max-held-s", 0),
                                                   round(time.monotonic() - t0, 1))
            w.close()

    async def slow(self, who, port, tls, path):
        src = self.src()
        while self.left() > 0:
            try:
                r, w = await self.connect(port, tls, src)
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                self.count(who + ".connect-failed." + type(e).__name__)
                await asyncio.sleep(0.2)
                continue
            self.count(who + ".opened")
            t0 = time.monotonic()
            head = ("GET %s HTTP/1.1\r\nHost: x\r\nX-Slow: " % path).encode()
            try:
                w.write(head)
                await w.drain()
                while self.left() > 0:
                    # One byte every 2 s, and see whether the server gave up on us.
                    try:
                        d = await asyncio.wait_for(r.read(4096), timeout=min(2, max(0.1, self.left())))
                        if not d:
                            break
                    except asyncio.TimeoutError:
                        pass
                    w.write(b"a")
                    await w.drain()
            except (ConnectionError, OSError, ssl.SSLError):
                pass
            held = time.monotonic() - t0
            if self.left() > 0:
                self.count(who + ".dropped")
                self.st[who + ".max-held-s"] = max(self.st.get(who + ".max-held-s", 0),
                                                   round(held, 1))
            w.close()

    async def big(self, who, port, tls, path, chunked):
        src = self.src()
        blk = b"A" * 65536
        while self.left() > 0:
            try:
                r, w = await self.connect(port, tls, src)
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                self.count(who + ".connect-failed." + type(e).__name__)
                await asyncio.sleep(0.2)
                continue
            sent = 0
            hd = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n" % path
            hd += "Transfer-Encoding: chunked\r\n\r\n" if chunked else "Content-Length: 1000000000\r\n\r\n"
            answer = b""
            try:
                w.write(hd.encode())
                await w.drain()
                while sent < 1000000000 and self.left() > 0:
                    w.write(b"10000\r\n" + blk + b"\r\n" if chunked else blk)
                    await asyncio.wait_for(w.drain(), timeout=max(0.1, min(2, self.left())))
                    sent += len(blk)
                    if sent % (1 << 22) == 0:
                        await asyncio.sleep(0)  # let the others run
                        try:
                            answer = await asyncio.wait_for(r.read(64), timeout=0.001)
                            if answer or r.at_eof():
                                break
                        except asyncio.TimeoutError:
                            pass
                if not answer:
                    answer = await asyncio.wait_for(r.read(64), timeout=max(0.1, min(2, self.left())))
            except (ConnectionError, OSError, ssl.SSLError, asyncio.TimeoutError):
                pass
            code = answer[9:12].decode("ascii", "replace") if answer.startswith(b"HTTP/1.1 ") else "cut"
            self.count("%s.answer-%s" % (who, code))
            self.count(who + ".mb-sent", sent >> 20)
            self.st[who + ".max-mb-one"] = max(self.st.get(who + ".max-mb-one", 0), sent >> 20)
            w.close()
            await asyncio.sleep(0.05)

    async def badchunk(self, who, port, tls, path):
        src = self.src()
        bodies = [b"zz\r\nabc\r\n0\r\n\r\n", b"ffffffffffffffffffff\r\nabc\r\n",
                  b"-5\r\nabcde\r\n0\r\n\r\n", b"3\r\nabcdef0\r\n\r\n", b"3;" + b"x" * 9000 + b"\r\nabc\r\n",
                  b"\r\n\r\n\r\n"]
        i = 0
        while self.left() > 0:
            try:
                r, w = await self.connect(port, tls, src)
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                self.count(who + ".connect-failed." + type(e).__name__)
                await asyncio.sleep(0.2)
                continue
            b = bodies[i % len(bodies)]
            i += 1
            answer = b""
            try:
                w.write(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n" % path).encode() + b)
                await w.drain()
                answer = await asyncio.wait_for(r.read(64), timeout=max(0.1, min(2, self.left())))
            except (ConnectionError, OSError, ssl.SSLError, asyncio.TimeoutError):
                pass
            code = answer[9:12].decode("ascii", "replace") if answer.startswith(b"HTTP/1.1 ") else "none"
            self.count("%s.answer-%s" % (who, code))
            w.close()
            await asyncio.sleep(0.05)

    def stop(self):
        self.end = time.monotonic()

    async def run(self):
        a = self.a
        # SIGTERM ends the attack early; the report is still written.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.stop)
        self.sem = asyncio.Semaphore(256)
        n = a.idle // 2
        left = [2 * n]
        ready = asyncio.Event()

        def opened():
            left[0] -= 1
            if left[0] == 0:
                ready.set()

        tasks = []
        for who, port in (("ocsp", a.ocsp_port), ("acme", a.acme_port)):
            tls = who == "acme"
            p = "/ocsp" if who == "ocsp" else "/new-account"
            for _ in range(n):
                tasks.append(self.idle(who + ".idle", port, opened))
            for _ in range(a.slow):
                tasks.append(self.slow(who + ".slow", port, tls, "/directory" if tls else "/health"))
            tasks.append(self.big(who + ".big-declared", port, tls, p, False))
            tasks.append(self.big(who + ".big-chunked", port, tls, p, True))
            tasks.append(self.badchunk(who + ".bad-chunked", port, tls, p))
        ts = [asyncio.ensure_future(t) for t in tasks]
        try:
            await asyncio.wait_for(ready.wait(), timeout=15)
        except asyncio.TimeoutError:
            pass
        open(a.ready, "w").write("%d\n" % (2 * n - left[0]))
        await asyncio.gather(*ts, return_exceptions=True)


def attack(a):
    at = Attack(a)
    try:
        asyncio.run(at.run())
    finally:
        json.dump(at.st, open(a.out, "w"), indent=1, sort_keys=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["measure", "attack"])
    p.add_argument("--ocsp-port", type=int, required=True)
    p.add_argument("--acme-port", type=int, required=True)
    p.add_argument("--cafile")
    p.add_argument("--ocsp-req")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--idle", type=int, default=5000)
    p.add_argument("--slow", type=int, default=50)
    p.add_argument("--ready")
    p.add_argument("--state")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    measure(a) if a.mode == "measure" else attack(a)


if __name__ == "__main__":
    main()
