"""The remote systems the notifications talk to, stood in for on loopback.

What the product spends per rating is the figure; the SMTP server and the webhook receivers
are somebody else's machines in production. So, when installed, they are C programs that cost
next to nothing and whose CPU is reported apart from the product's: Postfix's ``smtp-sink``
(Debian ``postfix``; the Postfix daemon itself never runs) and nginx answering 204 (Debian
``nginx-light``). Without them the bench falls back to Python stand-ins (aiosmtpd's ``Sink``,
``http.server``) in their own processes, still billed apart.

The latency scenarios need the arrival time of each webhook at the receiver, which nginx cannot
log without reading the body, so they use ``ArrivalReceivers``: ``http.server`` threads in the
bench process, one per host, with HTTP/1.1 keep-alive as a real receiver would have.
``HangingHost`` is the receiver that accepts connections and never answers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/body;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 204; }}
  }}
}}
"""


@dataclass
class Receiver:
    kind: str  # the program that stands in for the remote system
    port: int
    process: subprocess.Popen


def _python() -> str:
    return str(Path(sys.executable))


def start_smtp(stack, *, port: int, env: dict, workdir: Path) -> Receiver:
    """An SMTP server that accepts and drops every message."""
    smtp_sink = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None)
    if smtp_sink:
        # smtp-sink refuses to run as root without a user to drop to.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        cmd = [smtp_sink, *user, f"127.0.0.1:{port}", "1000"]
        return Receiver("smtp-sink", port, stack.start(cmd, env=env, log_path=workdir / "smtp.log"))
    cmd = [_python(), "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    return Receiver("aiosmtpd", port, stack.start(cmd, env=env, log_path=workdir / "smtp.log"))


def start_http_204(stack, *, port: int, env: dict, workdir: Path) -> Receiver:
    """A webhook receiver that answers every request 204, keep-alive."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:
        conf_dir = workdir / "nginx"
        (conf_dir / "body").mkdir(parents=True, exist_ok=True)
        conf = conf_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(workdir=conf_dir, port=port))
        # -e: nginx opens its compiled-in error log before reading the config; keep it in ours.
        cmd = [nginx, "-c", str(conf), "-p", str(conf_dir), "-e", str(conf_dir / "nginx-error.log")]
        return Receiver("nginx", port, stack.start(cmd, env=env, log_path=workdir / "nginx.log"))
    cmd = [_python(), str(Path(__file__).resolve()), str(port)]
    return Receiver("python http.server", port, stack.start(cmd, env=env, log_path=workdir / "http204.log"))


def wait_port(host: str, port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")
        time.sleep(0.1)


class _NoContent(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def find_rating_id(payload) -> str | None:
    if isinstance(payload, dict):
        if "rating_id" in payload:
            return str(payload["rating_id"])
        for value in payload.values():
            found = find_rating_id(value)
            if found:
                return found
    return None


class ArrivalReceivers:
    """One HTTP server per (address, name): records when each rating's webhook arrived.

    With ``hang_path`` a request to that path is read and never answered (held until ``close``):
    one hanging endpoint beside the healthy ones on the same origin.
    """

    HANG_SECONDS = 120  # a held request's bound, even if close is never called

    def __init__(self, addresses: list[str], *, hang_path: str | None = None) -> None:
        self.arrivals: dict[str, tuple[str, float]] = {}  # rating id -> (host, arrival time)
        self.lock = threading.Lock()
        self.hang_path = hang_path
        self.closing = threading.Event()
        self.servers: list[ThreadingHTTPServer] = []
        for address in addresses:
            server = ThreadingHTTPServer((address, 0), self._handler(address))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def urls(self, path: str = "/hook") -> list[str]:
        return [f"http://{s.server_address[0]}:{s.server_address[1]}{path}" for s in self.servers]

    def _handler(self, host: str):
        receivers = self

        class Handler(_NoContent):
            def do_POST(self):
                received = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receivers.hang_path is not None and self.path == receivers.hang_path:
                    receivers.closing.wait(receivers.HANG_SECONDS)
                    self.close_connection = True
                    return
                self.send_response(204)
                self.end_headers()
                with suppress(ValueError):
                    rating_id = find_rating_id(json.loads(body or b"{}"))
                    if rating_id:
                        with receivers.lock:
                            receivers.arrivals.setdefault(rating_id, (host, received))

        return Handler

    def close(self) -> None:
        self.closing.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


class HangingHost:
    """Accepts TCP connections on ``address`` and never reads or answers (at most 10 000 held)."""

    MAX_HELD = 10_000

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(1024)
        self.held: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        address, port = self.sock.getsockname()
        return f"http://{address}:{port}/hook"

    def _accept(self) -> None:
        self.sock.settimeout(0.5)
        while not self._closed.is_set() and len(self.held) < self.MAX_HELD:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        """From now on connections are refused: later retries fail fast instead of hanging."""
        self._closed.set()
        self.sock.close()
        for conn in self.held:
            with suppress(OSError):
                conn.close()


class ArrivalProcess:
    """``ArrivalReceivers`` for one address in a process of its own: under load the driver's
    own threads (the open-loop POSTs) would delay the receiver's answers and so the sends and
    their slots. Arrivals go to a file, one ``rating_id<TAB>time`` line each, read on demand."""

    def __init__(self, address: str, workdir: Path) -> None:
        self.port = _free_port(address)
        self.path = workdir / f"arrivals-{address}-{self.port}.tsv"
        self.path.touch()
        self.process = subprocess.Popen(
            [_python(), str(Path(__file__).resolve()), "--arrivals", address, str(self.port), str(self.path)]
        )
        self.address = address
        self.lock = threading.Lock()
        self._arrivals: dict[str, tuple[str, float]] = {}
        self._offset = 0
        wait_port(address, self.port)

    def urls(self) -> list[str]:
        return [f"http://{self.address}:{self.port}/hook"]

    @property
    def arrivals(self) -> dict[str, tuple[str, float]]:
        with self.path.open() as lines:
            lines.seek(self._offset)
            chunk = lines.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self._offset += len(complete.encode())
        for line in complete.splitlines():
            rating_id, _, when = line.partition("\t")
            self._arrivals.setdefault(rating_id, (self.address, float(when)))
        return self._arrivals

    def close(self) -> None:
        self.process.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _serve_arrivals(address: str, port: int, path: str) -> None:
    out = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    lock = threading.Lock()

    class Handler(_NoContent):
        def do_POST(self):
            received = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()
            with suppress(ValueError):
                rating_id = find_rating_id(json.loads(body or b"{}"))
                if rating_id:
                    with lock:
                        out.write(f"{rating_id}\t{received}\n")

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "--arrivals":
        # python receivers.py --arrivals ADDRESS PORT PATH
        _serve_arrivals(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        # Fallback 204 receiver when nginx is not installed: python receivers.py PORT
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _NoContent).serve_forever()
