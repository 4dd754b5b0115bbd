"""One outbound HTTP POST to a user-supplied URL, safely.

- The URL goes through ``ssrf.check_url`` and the connection is made to one of the addresses
  it checked: the original host name is used only for the ``Host`` header, TLS SNI and the
  certificate check, never for a second DNS lookup.
- Redirects are never followed (a 3xx comes back as a response; ``retry.classify`` fails it).
- A hard total deadline covers resolve + connect + send + read. urllib3/requests only offer
  per-socket-operation timeouts, which a receiver dripping one byte at a time defeats, so a
  timer shuts the socket down when the deadline passes.
- At most ``OUTBOUND_MAX_RESPONSE_BYTES`` of the body are read; the connection is then closed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.ssl_match_hostname import CertificateError

from .errors import ConnectFailed, DeadlineExceeded
from .ssrf import CheckedURL, check_url

USER_AGENT = "MarketplaceRatings-Outbound/1"
_CHUNK = 16 * 1024


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
    (refused by the SSRF guard, nothing was sent), ``ResolutionFailed``, ``ConnectFailed``
    or ``DeadlineExceeded``.
    """
    connect_timeout = settings.OUTBOUND_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    total_timeout = settings.OUTBOUND_TOTAL_TIMEOUT if total_timeout is None else total_timeout
    max_bytes = settings.OUTBOUND_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
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
        # A connection per request: deliveries go to many hosts, and reuse would skip the check.
        "Connection": "close",
    }

    conn, address = _connect(target, connect_timeout=connect_timeout, deadline=deadline)
    # Kept here: http.client detaches the socket from ``conn`` once the response is read.
    sock = conn.sock
    expired = threading.Event()

    def _expire() -> None:
        expired.set()
        # shutdown() wakes a recv()/send() blocked in another thread; close() alone does not.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(deadline - time.monotonic(), 0), _expire)
    timer.daemon = True
    timer.start()
    response = None
    try:
        try:
            # urllib3 applies conn.timeout to every socket operation from here on.
            conn.timeout = max(deadline - time.monotonic(), 0.001)
            conn.request(
                "POST",
                target.request_target,
                body=body,
                headers=request_headers,
                preload_content=False,
                decode_content=False,
            )
            response = conn.getresponse()
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
        except (OSError, Urllib3Error, ProtocolError) as exc:
            if expired.is_set() or time.monotonic() >= deadline:
                raise DeadlineExceeded(f"total deadline of {total_timeout:g}s exceeded") from exc
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from exc
        if expired.is_set():
            raise DeadlineExceeded(f"total deadline of {total_timeout:g}s exceeded")
    finally:
        timer.cancel()
        if response is not None:
            response.close()
        conn.close()

    return OutboundResponse(
        status=response.status,
        headers={name.lower(): value for name, value in response.headers.items()},
        body=b"".join(chunks)[:max_bytes].decode("utf-8", errors="replace"),
        truncated=truncated,
        elapsed=time.monotonic() - started,
        address=address,
    )


def _connect(target: CheckedURL, *, connect_timeout: float, deadline: float) -> tuple[HTTPConnection, str]:
    """Open a connection to the first checked address that accepts, within the deadline."""
    errors: list[tuple[bool, str]] = []
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("total deadline exceeded before a connection was made")
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
        raise DeadlineExceeded(f"connect timed out: {message}")
    raise ConnectFailed(f"connection failed: {message}")
