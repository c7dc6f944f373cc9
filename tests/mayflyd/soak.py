#!/usr/bin/env python3
"""soak.py: the load and the sampler of tests/mayflyd/soak.sh.

  soak.py --seconds S --sample S --warmup S --ocsp-port P --acme-port A
          --cafile ROOT --issuer ICA --leaf PEM --token FILE --admin-token FILE
          --mayfly BIN --config YAML --net-pid N --signer-pid N --out JSON

Mixed load on one mayflyd for S seconds, each kind in its own thread:
  - OCSP reads: GET and POST for a long-lived certificate, POST for the
    newest certificate issued by the soak (answered good or revoked);
  - issuance: POST /v1/sign of a fresh P-256 CSR (the profile's lifetime
    is short, so certificates keep expiring during the run);
  - revocation: POST /admin/revoke of a certificate issued a little
    earlier, about once a second;
  - pruning: `mayfly db prune --expired-before 1s` every 10 s, while the
    rest goes on.
Every --sample seconds the RSS (kB) and open descriptors of the network
and the signer process are read from /proc. Any unexpected answer or
exception is an error. The trend of each series is judged on the samples
after --warmup (by then the live certificates have reached their steady
number): the mean of the last third against the mean of the first third;
beyond max(5 %, 2048 kB) for RSS or 4 for descriptors is an upward trend.
Writes counts, samples and verdicts to --out; exits 1 on an error or a trend.
"""
import argparse
import base64
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

H = "127.0.0.1"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = []
        self.issued = []		# (serial, cert) of /v1/sign, newest last
        self.revoked = set()

    def count(self, k, n=1):
        with self.lock:
            self.counts[k] = self.counts.get(k, 0) + n

    def error(self, what):
        with self.lock:
            self.counts["errors"] = self.counts.get("errors", 0) + 1
            if len(self.errors) < 20:
                self.errors.append(what)


def http_once(port, method, path, headers, body, tlsctx=None, timeout=10):
    if tlsctx is None:
        c = http.client.HTTPConnection(H, port, timeout=timeout)
    else:
        c = http.client.HTTPSConnection(H, port, timeout=timeout, context=tlsctx)
    try:
        hd = {"Connection": "close"}
        hd.update(headers)
        c.request(method, path, body=body, headers=hd)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def ocsp_status(body):
    r = ocsp.load_der_ocsp_response(body)
    if r.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return "status-%s" % r.response_status.name
    return r.certificate_status.name


def main():
    p = argparse.ArgumentParser()
    for k in ("cafile", "issuer", "leaf", "token", "admin-token", "mayfly", "config", "out"):
        p.add_argument("--" + k, required=True)
    for k in ("ocsp-port", "acme-port", "net-pid", "signer-pid"):
        p.add_argument("--" + k, type=int, required=True)
    for k in ("seconds", "sample", "warmup"):
        p.add_argument("--" + k, type=float, required=True)
    a = p.parse_args()

    st = State()
    tls = ssl.create_default_context(cafile=a.cafile)
    tls.check_hostname = False
    token = open(a.token).read().strip()
    admin = open(a.admin_token).read().strip()
    ica = x509.load_pem_x509_certificate(open(a.issuer, "rb").read())
    leaf = x509.load_pem_x509_certificate(open(a.leaf, "rb").read())
    end = time.monotonic() + a.seconds

    def req_der(cert):
        return ocsp.OCSPRequestBuilder().add_certificate(cert, ica, hashes.SHA1()).build().public_bytes(
            serialization.Encoding.DER)

    leaf_req = req_der(leaf)
    leaf_get = "/ocsp/" + base64.b64encode(leaf_req).decode().replace("+", "%2B").replace(
        "/", "%2F").replace("=", "%3D")

    def guarded(kind, fn, pace):
        while time.monotonic() < end:
            try:
                fn()
            except Exception as e:
                st.error("%s: %s: %s" % (kind, type(e).__name__, e))
            time.sleep(pace)

    def ocsp_reads():
        s1, b1 = http_once(a.ocsp_port, "GET", leaf_get, {}, None)
        s2, b2 = http_once(a.ocsp_port, "POST", "/ocsp", {"Content-Type": "application/ocsp-request"},
                           leaf_req)
        for s, b in ((s1, b1), (s2, b2)):
            if s != 200 or ocsp_status(b) != "GOOD":
                st.error("ocsp leaf: HTTP %d %s" % (s, ocsp_status(b) if s == 200 else b[:80]))
        st.count("ocsp", 2)
        with st.lock:
            newest = st.issued[-1] if st.issued else None
        if newest is not None:
            s, b = http_once(a.ocsp_port, "POST", "/ocsp",
                             {"Content-Type": "application/ocsp-request"}, req_der(newest[1]))
            # Issued moments ago: good, or revoked by the revoker meanwhile.
            if s != 200 or ocsp_status(b) not in ("GOOD", "REVOKED"):
                st.error("ocsp %s: HTTP %d %s" % (newest[0], s,
                                                  ocsp_status(b) if s == 200 else b[:80]))
            st.count("ocsp")

    def issue():
        key = ec.generate_private_key(ec.SECP256R1())
        name = "soak-%d.acme.test" % (st.counts.get("issued", 0) + 1)
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
               .sign(key, hashes.SHA256()))
        s, b = http_once(a.acme_port, "POST", "/v1/sign",
                         {"Authorization": "Bearer " + token, "Content-Type": "application/pkcs10"},
                         csr.public_bytes(serialization.Encoding.PEM), tls)
        if s != 200:
            st.error("sign: HTTP %d %s" % (s, b[:120]))
            return
        cert = x509.load_pem_x509_certificate(b)
        with st.lock:
            st.issued.append(("%x" % cert.serial_number, cert))
            del st.issued[:-200]
        st.count("issued")

    def revoke():
        with st.lock:
            cand = [x for x in st.issued[-20:-5] if x[0] not in st.revoked]
            if not cand:
                return
            serial = cand[0][0]
            st.revoked.add(serial)
        s, b = http_once(a.ocsp_port, "POST", "/admin/revoke",
                         {"Authorization": "Bearer " + admin,
                          "Content-Type": "application/x-www-form-urlencoded"},
                         ("serial=%s&reason=1" % serial).encode())
        if s != 200:
            st.error("revoke %s: HTTP %d %s" % (serial, s, b[:120]))
            return
        st.count("revoked")

    def prune():
        r = subprocess.run([a.mayfly, "-c", a.config, "db", "prune", "--expired-before", "1s"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            st.error("prune: exit %d %s" % (r.returncode, (r.stdout + r.stderr)[-200:]))
            return
        st.count("prune-runs")
        for w in r.stdout.split():
            if w.isdigit():
                st.count("pruned", int(w))
                break

    samples = []

    def proc(pid):
        rss = 0
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        return rss, len(os.listdir("/proc/%d/fd" % pid))

    def sampler():
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            try:
                nr, nf = proc(a.net_pid)
                sr, sf = proc(a.signer_pid)
            except OSError as e:
                st.error("sample: %s (a process is gone)" % e)
                return
            # The responses the network process holds: they should follow
            # the live certificates, not the issued ones.
            cached = -1
            try:
                _, m = http_once(a.ocsp_port, "GET", "/metrics", {}, None)
                for line in m.decode().splitlines():
                    if line.startswith("mayflyd_ocsp_cache_responses "):
                        cached = int(line.split()[1])
            except Exception as e:
                st.error("metrics: %s" % e)
            samples.append({"t": round(t, 1), "net_rss": nr, "net_fd": nf, "signer_rss": sr,
                            "signer_fd": sf, "cached": cached})
            if time.monotonic() + a.sample > end + 0.5:
                return
            time.sleep(max(0, t0 + (len(samples)) * a.sample - time.monotonic()))

    th = [threading.Thread(target=guarded, args=("ocsp", ocsp_reads, 0.01)),
          threading.Thread(target=guarded, args=("sign", issue, 0.1)),
          threading.Thread(target=guarded, args=("revoke", revoke, 1.0)),
          threading.Thread(target=guarded, args=("prune", prune, 10.0)),
          threading.Thread(target=sampler)]
    for t in th:
        t.start()
    for t in th:
        t.join()

    trend = {}
    bad = list(st.errors)
    steady = [s for s in samples if s["t"] >= a.warmup]
    if len(steady) < 3:
        bad.append("only %d samples after the warm-up" % len(steady))
    else:
        k = len(steady) // 3
        for key in ("net_rss", "signer_rss", "net_fd", "signer_fd"):
            first = sum(s[key] for s in steady[:k]) / k
            last = sum(s[key] for s in steady[-k:]) / k
            tol = max(0.05 * first, 2048) if key.endswith("rss") else 4
            trend[key] = {"first": round(first, 1), "last": round(last, 1), "tolerance": round(tol, 1),
                          "min": min(s[key] for s in samples), "max": max(s[key] for s in samples)}
            if last - first > tol:
                bad.append("%s: upward trend, %.0f -> %.0f (tolerance %.0f)" % (key, first, last, tol))
    json.dump({"counts": st.counts, "samples": samples, "trend": trend, "bad": bad},
              open(a.out, "w"), indent=1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
