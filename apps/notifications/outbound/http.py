"""One outbound HTTP POST to a user-supplied URL, safely, reusing connections (keep-alive).

- The URL goes through ``ssrf.check_url`` on every call and the connection is made to one of
  the addresses it checked: the original host name is used only for the ``Host`` header, TLS SNI
  and the certificate check, never for a second DNS lookup.
- Keep-alive: each thread keeps a few idle connections, keyed by (scheme, connected address,
  port, host name). A pooled connection is reused only if its address is among those the
  current check returned, so a name that now resolves elsewhere (or to a refused address) never
  gets the old connection. Idle connections older than ``OUTBOUND_KEEPALIVE_IDLE_SECONDS`` are
  closed; a response with ``Connection: close``, a body not read to its end, or any error closes
  the connection instead of pooling it. A reused connection the receiver had already closed
  (the request never reached it: reset or EOF before any response byte) is retried once on a
  fresh connection. Per thread, so no lock: the workers run sends in threads, and a connection
  is only ever used by the thread that holds it.
- Redirects are never followed (a 3xx comes back as a response; ``retry.classify`` fails it).
- A hard total deadline covers resolve + connect + send + read, on fresh and reused connections.
  urllib3/requests only offer per-socket-operation timeouts, which a receiver dripping one byte
  at a time defeats, so a timer shuts the socket down when the deadline passes.
- At most ``OUTBOUND_MAX_RESPONSE_BYTES`` of the body are read; the connection is then closed.
- A request that cannot be encoded (a header value outside Latin-1, a CR/LF in a header, …)
  raises ``InvalidMessage`` before anything is sent.
- Tracing: each POST is a client span (no instrumentor sees these hand-made connections). The
  trace context is not sent to the receiver: webhook receivers are other parties' systems.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.ssl_match_hostname import CertificateError

from apps.core import tracing

from .errors import ConnectFailed, ConnectTimedOut, DeadlineExceeded, InvalidMessage
from .ssrf import CheckedURL, check_url

USER_AGENT = "MarketplaceRatings-Outbound/1"
_CHUNK = 16 * 1024
# Idle connections kept per destination and per thread. A thread makes one request at a time,
# so more than one per key only accumulates from retries; the total bounds a thread that talks
# to many hosts.
_MAX_IDLE_PER_KEY = 2
_MAX_IDLE_PER_THREAD = 16
# RFC 9110 token (header field name); values must not carry CR, LF or NUL.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\r\n\x00]")
# What a reused connection raises when the receiver closed it while it sat idle: the request
# never reached the receiver, so sending it again on a fresh connection is safe.
_STALE_ERRORS = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)

PoolKey = tuple[str, str, int, str, str | None]


@dataclass(frozen=True, kw_only=True)
class OutboundResponse:
    """What a receiver answered, enough for classification and the delivery log."""

    status: int
    headers: dict[str, str]
    body: str
    truncated: bool
    elapsed: float
    address: str

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup (e.g. ``Retry-After``)."""
        return self.headers.get(name.lower())


class _Idle(threading.local):
    """This thread's idle connections: key → [(idle since (monotonic), connection)], oldest first."""

    def __init__(self) -> None:
        self.connections: dict[PoolKey, list[tuple[float, HTTPConnection]]] = {}


_idle = _Idle()


class _Deadline:
    """Shuts the current socket down when the deadline passes, waking a blocked send or recv."""

    def __init__(self, deadline: float) -> None:
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._done = False
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired.is_set() and sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired.set()
            if self._sock is not None:
                # shutdown() wakes a recv()/send() blocked in another thread; close() alone does not.
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> bool:
        """Stop the timer; True if the deadline had already shut the socket down."""
        self._timer.cancel()
        with self._lock:
            self._done = True
            return self.expired.is_set()


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    connect_timeout: float | None = None,
    total_timeout: float | None = None,
    max_response_bytes: int | None = None,
) -> OutboundResponse:
    """POST ``body`` to ``url`` and return the response, without following redirects.

    Timeouts and the body cap default to the ``OUTBOUND_*`` settings. Raises ``UnsafeURL``
    (refused by the SSRF guard, nothing was sent), ``InvalidMessage`` (the request cannot be
    encoded, nothing was sent), ``ResolutionFailed``, ``ConnectFailed`` or ``DeadlineExceeded``.
    """
    with tracing.span("POST", kind="client", attributes=_span_attributes(url)) as span:
        try:
            response = _post(
                url,
                body=body,
                headers=headers,
                connect_timeout=connect_timeout,
                total_timeout=total_timeout,
                max_response_bytes=max_response_bytes,
            )
        except UnicodeError as exc:
            # Validation should have caught it; whatever slipped through is this message's defect.
            raise InvalidMessage(f"the request cannot be encoded: {exc}") from exc
        if span is not None:
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 400:
                tracing.record_error(span, f"HTTP {response.status}")
        return response


def _span_attributes(url: str) -> dict | None:
    """Method, host and port only: a webhook URL's path or query often carries the receiver's secret."""
    if not tracing.enabled():
        return None
    try:
        parts = urlsplit(url)
        return {
            "http.request.method": "POST",
            "url.scheme": parts.scheme,
            "server.address": parts.hostname or "",
            "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        }
    except ValueError:
        return {"http.request.method": "POST"}


def _post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    connect_timeout: float | None,
    total_timeout: float | None,
    max_response_bytes: int | None,
) -> OutboundResponse:
    connect_timeout = settings.OUTBOUND_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    total_timeout = settings.OUTBOUND_TOTAL_TIMEOUT if total_timeout is None else total_timeout
    max_bytes = settings.OUTBOUND_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
    idle_seconds = settings.OUTBOUND_KEEPALIVE_IDLE_SECONDS
    started = time.monotonic()
    deadline = started + total_timeout
    target = check_url(url)
    request_headers = {
        "User-Agent": USER_AGENT,
        # Identity only: we never decompress a receiver's body (no zip bombs, exact byte cap).
        "Accept-Encoding": "identity",
        **headers,
        "Host": target.host_header,
        "Content-Length": str(len(body)),
    }
    if idle_seconds <= 0:
        request_headers["Connection"] = "close"
    _validate_headers(request_headers)

    _close_expired(idle_seconds)
    reused = _checkout(target)
    if reused is not None:
        conn, address = reused
    else:
        conn, address = _connect(target, connect_timeout=connect_timeout, deadline=deadline)
    timer = _Deadline(deadline)
    timer.watch(conn.sock)
    timer.start()
    response = None
    poolable = False
    try:
        try:
            try:
                response = _exchange(conn, target, body, request_headers, deadline)
            except _STALE_ERRORS:
                if reused is None or timer.expired.is_set() or time.monotonic() >= deadline:
                    raise
                # The receiver closed the idle connection: this request never reached it.
                conn.close()
                conn, address = _connect(target, connect_timeout=connect_timeout, deadline=deadline)
                timer.watch(conn.sock)
                response = _exchange(conn, target, body, request_headers, deadline)
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while True:
                if time.monotonic() >= deadline:
                    raise DeadlineExceeded(f"total deadline of {total_timeout:g}s exceeded while reading the body")
                chunk = response.read1(_CHUNK, decode_content=False)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size >= max_bytes:
                    truncated = size > max_bytes or bool(response.read1(1, decode_content=False))
                    break
            # Reusable only if the body was read to its end and the receiver keeps the connection
            # open (http.client drops the socket of a "Connection: close" response).
            poolable = idle_seconds > 0 and not truncated and response.closed and conn.sock is not None
        except (OSError, Urllib3Error, ProtocolError, http.client.HTTPException) as exc:
            if timer.expired.is_set() or time.monotonic() >= deadline:
                raise DeadlineExceeded(f"total deadline of {total_timeout:g}s exceeded") from exc
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            if timer.expired.is_set():
                # A socket shut down by the deadline can surface as "I/O operation on closed file".
                raise DeadlineExceeded(f"total deadline of {total_timeout:g}s exceeded") from exc
            # http.client's own checks (InvalidURL, header syntax) that _validate_headers missed.
            raise InvalidMessage(f"the request cannot be encoded: {exc}") from exc
        if timer.finish():
            poolable = False
            raise DeadlineExceeded(f"total deadline of {total_timeout:g}s exceeded")
    finally:
        if timer.finish():
            poolable = False
        if response is not None:
            response.close()
        if poolable:
            _checkin(_pool_key(target, address), conn)
        else:
            conn.close()

    return OutboundResponse(
        status=response.status,
        headers={name.lower(): value for name, value in response.headers.items()},
        body=b"".join(chunks)[:max_bytes].decode("utf-8", errors="replace"),
        truncated=truncated,
        elapsed=time.monotonic() - started,
        address=address,
    )


def _exchange(conn: HTTPConnection, target: CheckedURL, body: bytes, headers: dict[str, str], deadline: float):
    # urllib3 applies conn.timeout to every socket operation from here on.
    conn.timeout = max(deadline - time.monotonic(), 0.001)
    conn.request(
        "POST",
        target.request_target,
        body=body,
        headers=headers,
        preload_content=False,
        decode_content=False,
    )
    return conn.getresponse()


def _validate_headers(headers: Mapping[str, str]) -> None:
    """Refuse, before connecting, a header http.client would refuse mid-request."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidMessage(f"invalid header name {name!r}")
        if not isinstance(value, str) or _HEADER_VALUE_FORBIDDEN.search(value):
            raise InvalidMessage(f"invalid value for header {name}")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise InvalidMessage(f"the value of header {name} is not Latin-1: {exc}") from exc


def _pool_key(target: CheckedURL, address: str) -> PoolKey:
    # The CA bundle is part of an https key: a connection verified against another bundle must
    # not serve a send made under this one.
    ca = settings.OUTBOUND_CA_BUNDLE if target.scheme == "https" else None
    return (target.scheme, address, target.port, target.host, ca)


def _checkout(target: CheckedURL) -> tuple[HTTPConnection, str] | None:
    """An idle connection to one of the addresses the check returned, most recent first."""
    for address in target.addresses:
        idle = _idle.connections.get(_pool_key(target, address))
        while idle:
            _since, conn = idle.pop()
            # Readable while idle means the receiver closed it (or sent junk): not reusable.
            if conn.is_connected:
                return conn, address
            conn.close()
    return None


def _checkin(key: PoolKey, conn: HTTPConnection) -> None:
    connections = _idle.connections
    idle = connections.setdefault(key, [])
    idle.append((time.monotonic(), conn))
    while len(idle) > _MAX_IDLE_PER_KEY:
        idle.pop(0)[1].close()
    total = sum(len(v) for v in connections.values())
    while total > _MAX_IDLE_PER_THREAD:
        oldest_key = min((k for k, v in connections.items() if v), key=lambda k: connections[k][0][0])
        connections[oldest_key].pop(0)[1].close()
        total -= 1
    for stale_key in [k for k, v in connections.items() if not v]:
        del connections[stale_key]


def _close_expired(idle_seconds: float) -> None:
    now = time.monotonic()
    for key, idle in list(_idle.connections.items()):
        keep = []
        for since, conn in idle:
            if now - since < idle_seconds:
                keep.append((since, conn))
            else:
                conn.close()
        if keep:
            _idle.connections[key] = keep
        else:
            del _idle.connections[key]


def close_idle_connections() -> int:
    """Close this thread's idle connections (tests; a worker thread about to exit). Returns how many."""
    closed = 0
    for idle in _idle.connections.values():
        for _since, conn in idle:
            conn.close()
            closed += 1
    _idle.connections.clear()
    return closed


def _connect(target: CheckedURL, *, connect_timeout: float, deadline: float) -> tuple[HTTPConnection, str]:
    """Open a connection to the first checked address that accepts, within the deadline."""
    errors: list[tuple[bool, str]] = []
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConnectTimedOut("total deadline exceeded before a connection was made")
        timeout = min(connect_timeout, remaining)
        if target.scheme == "https":
            conn: HTTPConnection = HTTPSConnection(
                address,
                target.port,
                timeout=timeout,
                # SNI and certificate verification use the name the user gave, not the IP.
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                ca_certs=settings.OUTBOUND_CA_BUNDLE,
            )
        else:
            conn = HTTPConnection(address, target.port, timeout=timeout)
        try:
            conn.connect()
        except (OSError, Urllib3Error, CertificateError) as exc:
            conn.close()
            # urllib3 derives NewConnectionError (refused, unreachable) from ConnectTimeoutError.
            timed_out = isinstance(exc, TimeoutError) or (
                isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError)
            )
            errors.append((timed_out, f"{address}: {type(exc).__name__}: {exc}"))
            continue
        return conn, address
    message = "; ".join(text for _, text in errors)
    if all(timed_out for timed_out, _ in errors):
        raise ConnectTimedOut(f"connect timed out: {message}")
    raise ConnectFailed(f"connection failed: {message}")
