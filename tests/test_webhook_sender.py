"""One webhook attempt over real sockets on loopback: pinned address, no redirects, a hard timeout."""
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.events import destinations, sender


class Receiver:
    """A loopback HTTP server answering each POST from a list of (status, headers), recording requests."""

    def __init__(self, answers=((200, {}),), tls: ssl.SSLContext | None = None):
        self.answers, self.requests = list(answers), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.requests.append((self.path, dict(self.headers), body))
                status, headers = outer.answers.pop(0) if outer.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def target(url: str, resolved=("127.0.0.1",)):
    """A URL checked on the local stage, its name answered by a stub."""
    host = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    return destinations.check(url, allow_loopback=True, resolve=lambda h, p: list(resolved) if h == host else [])


def test_a_post_goes_to_the_checked_address_with_the_name_in_the_host_header():
    receiver = Receiver()
    try:
        checked = target(f"http://hooks.example:{receiver.port}/in?x=1")
        # hooks.example resolves nowhere but in the stub: the sender never looks it up again.
        attempt = sender.post(checked, {"webhook-id": "evt_1", "content-type": "application/json"}, '{"a":"é"}')
        assert attempt.succeeded and attempt.status == 200 and attempt.error is None
        path, headers, body = receiver.requests[0]
        assert (path, body) == ("/in?x=1", '{"a":"é"}'.encode())
        assert headers["Host"] == f"hooks.example:{receiver.port}" and headers["webhook-id"] == "evt_1"
    finally:
        receiver.close()


def test_a_redirect_is_never_followed():
    receiver = Receiver([(302, {"location": "/elsewhere"}), (307, {"location": "http://127.0.0.1:1/"})])
    try:
        checked = target(f"http://127.0.0.1:{receiver.port}/hook")
        for status in (302, 307):
            attempt = sender.post(checked, {}, "{}")
            assert (attempt.status, attempt.succeeded) == (status, False)
        assert [r[0] for r in receiver.requests] == ["/hook", "/hook"]
    finally:
        receiver.close()


def test_410_means_gone_and_other_answers_are_failures():
    receiver = Receiver([(410, {}), (500, {}), (429, {}), (204, {})])
    try:
        checked = target(f"http://127.0.0.1:{receiver.port}/")
        outcomes = [sender.post(checked, {}, "{}") for _ in range(4)]
        assert [(a.status, a.gone, a.succeeded) for a in outcomes] == [
            (410, True, False), (500, False, False), (429, False, False), (204, False, True)]
    finally:
        receiver.close()


def test_a_refused_connection_is_an_error_not_an_exception():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        attempt = sender.post(target(f"http://127.0.0.1:{port}/"), {}, "{}")
    assert (attempt.status, attempt.error) == (None, "connection refused")


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 100:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)  # each byte within any per-read timeout

    threading.Thread(target=trickle, daemon=True).start()
    try:
        started = time.monotonic()
        attempt = sender.post(target(f"http://127.0.0.1:{listener.getsockname()[1]}/"), {}, "{}", timeout=1.0)
        took = time.monotonic() - started
        assert (attempt.status, attempt.error) == (None, "timed out")
        assert 0.9 <= took < 3
    finally:
        stop.set()
        listener.close()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA, and a certificate it signed for hooks.example (openssl, as Debian ships it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    run = lambda *args: subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=test ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "host.key", "-out", "host.csr", "-subj", "/CN=hooks.example")
    (d / "ext").write_text("subjectAltName=DNS:hooks.example\n")
    run("x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "host.pem", "-days", "2", "-extfile", "ext")
    return d


def test_https_speaks_tls_to_the_urls_name_at_the_checked_address(certificates):
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(certificates / "host.pem", certificates / "host.key")
    client_tls = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    receiver = Receiver(tls=server_tls)
    try:
        good = sender.post(target(f"https://hooks.example:{receiver.port}/"), {}, "{}", tls=client_tls)
        assert good.status == 200
        # The same address under another name: the certificate does not match, nothing is sent.
        other = sender.post(target(f"https://other.example:{receiver.port}/"), {}, "{}", tls=client_tls)
        assert other.status is None and other.error.startswith("TLS failed")
        assert len(receiver.requests) == 1
    finally:
        receiver.close()
