"""Real HTTP servers on 127.0.0.1 for the outbound tests: they record what they receive."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


# A behaviour gets the handler (to write a response itself) and the recorded request.
Behaviour = Callable[[BaseHTTPRequestHandler, Received], None]


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    def behave(handler: BaseHTTPRequestHandler, _request: Received) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behave


def drip(stop: threading.Event, *, size: int = 1000, every: float = 0.05) -> Behaviour:
    """Announce ``size`` bytes and send one every ``every`` seconds until ``stop`` is set.

    Each byte arrives well within any per-read timeout: only a total deadline stops the read.
    """

    def behave(handler: BaseHTTPRequestHandler, _request: Received) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for _ in range(size):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            if stop.wait(every):
                return

    return behave


class Receiver:
    """A ThreadingHTTPServer in a daemon thread; ``behaviour`` may be swapped between requests.

    By default each connection serves one request. With ``keep_alive`` it serves requests until
    the client closes it; ``connections`` counts the TCP connections accepted. ``drop_reused``
    makes it reset a kept-alive connection when the next request arrives, unread, as a receiver
    closing an idle connection at the moment the client reuses it would.
    """

    def __init__(
        self, behaviour: Behaviour | None = None, *, keep_alive: bool = False, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.behaviour = behaviour or reply(200, b"ok")
        self.requests: list[Received] = []
        self.stop = threading.Event()
        self.keep_alive = keep_alive
        self.drop_reused = False
        self.connections = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            served = 0

            def setup(self) -> None:
                receiver.connections += 1
                super().setup()

            def handle_one_request(self) -> None:
                if self.served:
                    # Decide when the next request (or EOF) arrives, not while the connection idles.
                    select.select([self.connection], [], [], 10)
                    if receiver.drop_reused:
                        # SO_LINGER 0: close() sends a reset, with the request still unread.
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.close_connection = True
                        return
                super().handle_one_request()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                receiver.requests.append(request)
                # OSError: the client gave up (deadline, byte cap), which is what tests provoke.
                with contextlib.suppress(OSError):
                    receiver.behaviour(self, request)
                self.served += 1
                if not receiver.keep_alive:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
