"""Loopback-only CONNECT proxy + fake token endpoint for testing sccache's GCS backend.

sccache 0.16 has no GCS endpoint setting (always https://storage.googleapis.com).
Run sccache with HTTPS_PROXY/HTTP_PROXY/ALL_PROXY=http://127.0.0.1:PROXY_PORT: every
CONNECT to storage.googleapis.com:443 is tunnelled to fake-gcs-server (TLS, cert signed
by a local CA given to sccache via SSL_CERT_FILE) on 127.0.0.1:GCS_PORT. Everything else
is refused with 403 and logged; nothing is ever forwarded off the machine.
GET /token on the same port returns a TaskCluster-style token for SCCACHE_GCS_CREDENTIALS_URL.
usage: python gcs_loopback_proxy.py PROXY_PORT GCS_PORT [FAKE_GCS_BIN DATA_DIR CERT KEY]
With the 4 optional args it also runs fake-gcs-server (https, 127.0.0.1:GCS_PORT) as a
child: in this process's process group (the tests kill the group), stopped when this
process gets SIGTERM/SIGINT, and killed by the kernel when this process dies
(PR_SET_PDEATHSIG), so it never outlives the proxy.
"""
import ctypes, socket, sys, threading, select, json, signal, subprocess, os

def _die_with_parent():
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

PROXY_PORT, GCS_PORT = int(sys.argv[1]), int(sys.argv[2])
child = None
if len(sys.argv) >= 7:
    fg, data, cert, key = sys.argv[3:7]
    child = subprocess.Popen([fg, "-scheme", "https", "-host", "127.0.0.1", "-port", str(GCS_PORT),
        "-backend", "filesystem", "-filesystem-root", data, "-cert-location", cert,
        "-private-key-location", key, "-public-host", "storage.googleapis.com", "-log-level", "info"],
        preexec_fn=_die_with_parent,
        stdout=open(os.path.join(os.path.dirname(data.rstrip("/")), "fake-gcs.log"), "ab"), stderr=subprocess.STDOUT)
def _stop(*_):
    if child:
        child.terminate()
        try: child.wait(5)
        except Exception: child.kill()
    os._exit(0)
signal.signal(signal.SIGTERM, _stop); signal.signal(signal.SIGINT, _stop)
ALLOWED = {"storage.googleapis.com:443"}

def log(*a):
    print(*a, flush=True)

def pipe(a, b):
    socks = [a, b]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 120)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    finally:
        a.close(); b.close()

def handle(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                c.close(); return
            buf += d
        line = buf.split(b"\r\n", 1)[0].decode("latin1")
        method, target = line.split(" ")[:2]
        if method == "CONNECT" and target in ALLOWED:
            log("TUNNEL", target, "-> 127.0.0.1:%d" % GCS_PORT)
            u = socket.create_connection(("127.0.0.1", GCS_PORT))
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pipe(c, u)
            return
        if method == "GET" and target.split("?")[0] in ("/token", "http://127.0.0.1:%d/token" % PROXY_PORT):
            body = json.dumps({"accessToken": "fake-token", "expireTime": "2099-01-01T00:00:00Z"}).encode()
            log("TOKEN", target)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        else:
            log("REFUSED", method, target)
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        c.close()
    except Exception as e:
        log("ERR", repr(e)); c.close()

s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", PROXY_PORT)); s.listen(64)
log("listening", PROXY_PORT, "->", GCS_PORT)
while True:
    conn, _ = s.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
