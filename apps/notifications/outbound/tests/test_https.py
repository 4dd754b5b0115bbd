import http.server
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from apps.notifications.outbound import http as outbound_http
from apps.notifications.outbound.errors import ConnectFailed

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture
def tls_server(tmp_path, settings, monkeypatch):
    """HTTPS on 127.0.0.1 with a certificate for hooks.test; hooks.test/other.test resolve to it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=hooks.test", "-addext", "subjectAltName=DNS:hooks.test"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    settings.OUTBOUND_CA_BUNDLE = str(cert)
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real("127.0.0.1" if host.endswith(".test") else host, *a, **k),
    )
    hosts = []
    connections = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            connections.append(1)
            super().setup()

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1], hosts, connections
    server.shutdown()
    server.server_close()


def test_pinned_address_with_sni_and_certificate_of_the_original_name(tls_server):
    port, hosts, _connections = tls_server

    response = outbound_http.post(f"https://hooks.test:{port}/in", body=b"{}", headers={})

    assert (response.status, response.address) == (204, "127.0.0.1")
    assert hosts == [f"hooks.test:{port}"]


def test_certificate_for_another_name_is_refused(tls_server):
    port, hosts, _connections = tls_server

    with pytest.raises(ConnectFailed, match="doesn't match"):
        outbound_http.post(f"https://other.test:{port}/in", body=b"{}", headers={})
    assert hosts == []


def test_a_tls_connection_is_reused_for_the_same_name_and_not_for_another(tls_server):
    port, hosts, connections = tls_server

    for _ in range(3):
        assert outbound_http.post(f"https://hooks.test:{port}/in", body=b"{}", headers={}).status == 204
    assert (hosts, len(connections)) == ([f"hooks.test:{port}"] * 3, 1)

    # Same address and port, another name: another key (SNI and certificate are per name), so a
    # new connection, whose certificate check fails.
    with pytest.raises(ConnectFailed, match="doesn't match"):
        outbound_http.post(f"https://other.test:{port}/in", body=b"{}", headers={})
    assert len(hosts) == 3
