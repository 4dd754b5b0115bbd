"""SSRF guard: decide whether an outbound URL may be contacted, and which addresses to use.

A URL given by a user (a webhook endpoint, a push gateway) must never make this server talk to
itself, to the cloud metadata service or to the private network. The guard resolves the host
once, checks every address, and hands the checked addresses to ``http.post``, which connects to
exactly those (no second lookup, so DNS rebinding between check and connect cannot succeed).

Written here rather than taken from a library: the client must connect to the very addresses
that were checked (see ``http.py``), so the check has to hand them over; the SSRF helpers we know
of wrap their own ``requests`` session instead and do not cover the IPv6 transition forms below.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .errors import ResolutionFailed, UnsafeURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 6052 well-known NAT64 prefix: the last 32 bits are the IPv4 address the translator reaches.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215 local-use NAT64 prefix. The IPv4 position depends on the operator's prefix length
# (/48../96), so it cannot be extracted reliably; IANA marks the block "not globally reachable",
# so it is refused whole.
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
# Deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1): ::a.b.c.d, never routable today.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


@dataclass(frozen=True, kw_only=True)
class ParsedURL:
    """A syntactically valid outbound URL, split into what the HTTP client needs."""

    url: str
    scheme: str
    host: str
    port: int
    request_target: str

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: the original name, bracketed if an IPv6 literal."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class CheckedURL(ParsedURL):
    """A URL whose host resolved only to allowed addresses; connect to ``addresses`` only."""

    addresses: tuple[str, ...]


def parse_url(url: str, *, require_https: bool | None = None) -> ParsedURL:
    """Validate the URL's syntax and scheme without any network access.

    Suitable for serializer validation when a user registers an endpoint. ``require_https``
    defaults to ``settings.OUTBOUND_REQUIRE_HTTPS``. Raises ``UnsafeURL``.
    """
    if require_https is None:
        require_https = settings.OUTBOUND_REQUIRE_HTTPS
    if not isinstance(url, str) or not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("URL is empty or contains whitespace/control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    allowed = ("https",) if require_https else ("http", "https")
    if scheme not in allowed:
        raise UnsafeURL(f"scheme {scheme or '(none)'!r} not allowed, use {' or '.join(allowed)}")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would be silently dropped by the client; refusing is clearer.
        raise UnsafeURL("credentials in the URL are not supported")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("URL has no host")
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise UnsafeURL(f"invalid host name {host!r}") from exc
    if port == 0:
        raise UnsafeURL("port 0 is not allowed")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return ParsedURL(
        url=url,
        scheme=scheme,
        host=host,
        port=port or _DEFAULT_PORTS[scheme],
        request_target=target,
    )


def check_address(address: str | IPAddress, *, allow_loopback: bool | None = None) -> None:
    """Raise ``UnsafeURL`` unless ``address`` is a public unicast address.

    Loopback passes only when ``allow_loopback`` (default ``settings.OUTBOUND_ALLOW_LOOPBACK``)
    is true; private, link-local and every other non-global range never pass.
    """
    if allow_loopback is None:
        allow_loopback = settings.OUTBOUND_ALLOW_LOOPBACK
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            form, v4 = embedded
            try:
                check_address(v4, allow_loopback=allow_loopback)
            except UnsafeURL as exc:
                raise UnsafeURL(f"{ip} is {form} of {v4}: {exc.reason}") from None
            if form != "6to4":
                # The translated IPv4 is what gets reached, and it is public; the IPv6 wrapper
                # itself sits in ::/8, which ipaddress reports as reserved.
                return
    reason = _non_global_reason(ip)
    if reason == "loopback" and allow_loopback:
        return
    if reason:
        raise UnsafeURL(f"{ip} is {reason}")


def check_url(url: str) -> CheckedURL:
    """Parse ``url``, resolve its host once and check every resolved address.

    Returns the URL with the checked addresses, in resolver order, to connect to. Refuses the
    whole URL if ANY address is not allowed, since the client could otherwise be steered to it.
    Raises ``UnsafeURL`` (permanent) or ``ResolutionFailed`` (DNS failure, transient).
    """
    parsed = parse_url(url)
    try:
        infos = socket.getaddrinfo(parsed.host, parsed.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionFailed(f"cannot resolve {parsed.host!r}: {exc}") from exc
    addresses: list[str] = []
    for family, *_rest, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Strip an IPv6 zone ("fe80::1%eth0"): the check is on the address itself.
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolutionFailed(f"{parsed.host!r} resolved to no IPv4/IPv6 address")
    for address in addresses:
        try:
            check_address(address)
        except UnsafeURL as exc:
            raise UnsafeURL(f"{parsed.host} resolves to {exc.reason}") from None
    return CheckedURL(**vars(parsed), addresses=tuple(addresses))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """Return (form, IPv4) for IPv6 forms that carry an IPv4 address a packet may end up at."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None


def _non_global_reason(ip: IPAddress) -> str | None:
    """Name the first special-purpose range ``ip`` belongs to, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            # The client address inside is obfuscated and the relay is chosen by the network;
            # nothing legitimate needs a webhook delivered over Teredo.
            return "a Teredo tunnel address"
        if ip in _NAT64_LOCAL_USE:
            return "a local-use NAT64 address (64:ff9b:1::/48)"
        if ip in _IPV4_COMPATIBLE and not (ip.is_unspecified or ip.is_loopback):
            return "an IPv4-compatible address (deprecated, not routable)"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        # Python 3.11 has no is_site_local on IPv4; on IPv6 fec0::/10 is deprecated site-local.
        ("site-local", getattr(ip, "is_site_local", False)),
        # Catches the rest of the special-purpose registry (100.64/10 shared space, 192.0.0/24…).
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)
