"""Exceptions raised by the outbound building blocks, one hierarchy so callers can classify them."""


class OutboundError(Exception):
    """Base class of every error raised by ``apps.notifications.outbound``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeURL(OutboundError):
    """The URL is malformed, uses a forbidden scheme or resolves to a non-public address.

    Permanent: retrying the same URL would be refused again.
    """


class InvalidMessage(OutboundError):
    """The request itself cannot be encoded (a header that is not Latin-1, a CR/LF in a value…).

    Permanent for this message: nothing was sent, and sending it again would fail the same way.
    """


class ResolutionFailed(OutboundError):
    """The host name did not resolve (DNS failure). Transient: DNS may recover."""


class ConnectFailed(OutboundError):
    """No TCP/TLS connection could be made to any checked address (refused, reset, TLS error)."""


class DeadlineExceeded(OutboundError):
    """The connect timeout or the total deadline ran out before the response was read."""


class ConnectTimedOut(DeadlineExceeded):
    """No connection was made before the connect timeout (or the deadline) ran out.

    A failure of the origin (scheme, host, port), like ``ConnectFailed``: nothing reached any
    endpoint there, whereas a deadline that runs out after connecting is the endpoint's.
    """
