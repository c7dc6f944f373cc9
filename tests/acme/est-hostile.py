#!/usr/bin/env python3
# est-hostile.py DIR PORTFILE: an EST server on 127.0.0.1 (TLS, a port of
# its own choice written to PORTFILE) that answers contrib/est-renew the
# way a broken or hostile server might. Used by est-renew-hostile.sh, which
# made DIR's files: server.pem/server.key (its TLS pair), ica.pem/ica.key
# (the issuing CA the client trusts), ica2.pem/ica2.key/root2.pem (a CA
# under another root), other.csr (a CSR for a key the client does not
# hold), and the certs-only PKCS#7 answers cacerts.p7 and cacerts2.p7 (DER).
#
# The first path element is the mode, the rest the EST path:
#   /MODE/.well-known/est/simplereenroll    POST, a base64 PKCS#10
#   /MODE/.well-known/est/cacerts           GET
# Modes: good (what a conforming server answers), oneline (the same
# base64 without line breaks, which RFC 7030 allows), truncated, garbage,
# b64garbage, nocerts, otherkey, otherroot, empty, huge, wrongtype,
# cacertsgarbage. Every request is bounded: bodies of at most 64 KiB,
# openssl runs of at most 20 s, the huge answer at most 64 MiB.
import base64
import http.server
import os
import ssl
import subprocess
import sys
import tempfile

DIR = sys.argv[1]
PORTFILE = sys.argv[2]
P7 = 'application/pkcs7-mime; smime-type=certs-only'
HUGE = 64 << 20


def path(name):
    return os.path.join(DIR, name)


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, timeout=20).stdout


def b64(der):
    return base64.encodebytes(der)


def p7(*pems):
    args = ['openssl', 'crl2pkcs7', '-nocrl', '-outform', 'DER']
    for p in pems:
        args += ['-certfile', p]
    return run(*args)


def issue(csr_der, ca, key):
    """A one-day leaf for the CSR (DER), signed by ca/key, as PEM in a file."""
    with tempfile.NamedTemporaryFile(dir=DIR, suffix='.csr', delete=False) as f:
        f.write(csr_der)
    leaf = f.name + '.pem'
    run('openssl', 'x509', '-req', '-inform', 'DER', '-in', f.name, '-CA', ca, '-CAkey', key,
        '-set_serial', str(int.from_bytes(os.urandom(8), 'big')), '-days', '1',
        '-copy_extensions', 'copy', '-out', leaf)
    os.unlink(f.name)
    return leaf


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write('est-hostile: ' + (fmt % args) + '\n')

    def answer(self, body, ctype=P7, code=200):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def split(self):
        parts = self.path.split('/', 2)
        if len(parts) < 3:
            return None, None
        return parts[1], '/' + parts[2]

    def do_GET(self):
        mode, rest = self.split()
        if rest != '/.well-known/est/cacerts':
            return self.answer(b'not found\n', 'text/plain', 404)
        if mode == 'cacertsgarbage':
            return self.answer(os.urandom(1500))
        with open(path('cacerts2.p7' if mode == 'otherroot' else 'cacerts.p7'), 'rb') as f:
            return self.answer(b64(f.read()))

    def do_POST(self):
        mode, rest = self.split()
        n = int(self.headers.get('Content-Length', '0'))
        if n < 0 or n > 65536:
            return self.answer(b'too large\n', 'text/plain', 413)
        body = self.rfile.read(n)
        if rest != '/.well-known/est/simplereenroll':
            return self.answer(b'not found\n', 'text/plain', 404)
        if mode == 'empty':
            return self.answer(b'')
        if mode == 'garbage':
            return self.answer(os.urandom(2000))
        if mode == 'b64garbage':
            return self.answer(b64(os.urandom(1500)))
        if mode == 'nocerts':
            return self.answer(b64(p7()))
        if mode == 'huge':
            # No Content-Length: the body ends when the connection closes,
            # so the client cannot know its size in advance.
            self.send_response(200)
            self.send_header('Content-Type', P7)
            self.send_header('Connection', 'close')
            self.end_headers()
            line = b'A' * 64 + b'\n'
            try:
                for _ in range(HUGE // len(line)):
                    self.wfile.write(line)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            self.close_connection = True
            return None
        csr = base64.b64decode(body)
        if mode == 'otherkey':
            csr = run('openssl', 'req', '-in', path('other.csr'), '-outform', 'DER')
        if mode == 'otherroot':
            leaf = issue(csr, path('ica2.pem'), path('ica2.key'))
        else:
            leaf = issue(csr, path('ica.pem'), path('ica.key'))
        der = p7(leaf)
        os.unlink(leaf)
        if mode == 'truncated':
            enc = b64(der)
            return self.answer(enc[:len(enc) // 2])
        if mode == 'oneline':
            return self.answer(base64.b64encode(der))
        if mode == 'wrongtype':
            return self.answer(b64(der), 'text/html; charset=utf-8')
        return self.answer(b64(der))


def main():
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(path('server.pem'), path('server.key'))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = PORTFILE + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % srv.server_address[1])
    os.rename(tmp, PORTFILE)
    srv.serve_forever()


if __name__ == '__main__':
    main()
