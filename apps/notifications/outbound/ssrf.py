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
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.encoding import iri_to_uri

from .errors import ResolutionFailed, UnsafeURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}

# What a host may contain once IDNA-encoded, at send time. Looser than URLValidator (which
# ``normalize_url`` applies at registration): underscores and single labels resolve in DNS and
# endpoints registered before the stricter check must keep working; anything else ("%", "<",
# NUL…) is no host name at all and would only fail in the resolver.
_HOST_CHARS = re.compile(r"[a-z0-9_.-]+")

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

    ``host`` is the IDNA (ASCII) form of the name and ``request_target`` the path and query with
    non-ASCII characters percent-encoded (RFC 3987 IRI → URI), so what goes on the wire is
    always ASCII. ``require_https`` defaults to ``settings.OUTBOUND_REQUIRE_HTTPS``. Any input
    that is not such a URL raises ``UnsafeURL``, never another exception.
    """
    if require_https is None:
        require_https = settings.OUTBOUND_REQUIRE_HTTPS
    if not isinstance(url, str) or not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeURL("URL is empty or contains whitespace/control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        username, password, hostname = parts.username, parts.password, parts.hostname
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    allowed = ("https",) if require_https else ("http", "https")
    if scheme not in allowed:
        raise UnsafeURL(f"scheme {scheme or '(none)'!r} not allowed, use {' or '.join(allowed)}")
    if username is not None or password is not None:
        # Credentials in the URL would be silently dropped by the client; refusing is clearer.
        raise UnsafeURL("credentials in the URL are not supported")
    host = _ascii_host((hostname or "").rstrip("."))
    if port == 0:
        raise UnsafeURL("port 0 is not allowed")
    try:
        target = iri_to_uri(parts.path or "/")
        if parts.query:
            target = f"{target}?{iri_to_uri(parts.query)}"
    except (UnicodeError, ValueError) as exc:  # lone surrogates cannot be encoded as UTF-8
        raise UnsafeURL(f"the path or query cannot be encoded: {exc}") from exc
    return ParsedURL(
        url=url,
        scheme=scheme,
        host=host,
        port=port or _DEFAULT_PORTS[scheme],
        request_target=target,
    )


def _ascii_host(host: str) -> str:
    """The host as sent on the wire: IDNA for names, the bare literal for IPv6 addresses."""
    if not host:
        raise UnsafeURL("URL has no host")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError as exc:
            raise UnsafeURL(f"invalid IPv6 address {host!r}") from exc
        return host
    try:
        # The stdlib IDNA 2003 codec, as Django's URLValidator uses.
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UnsafeURL(f"invalid host name {host!r}") from exc
    if not _HOST_CHARS.fullmatch(ascii_host):
        raise UnsafeURL(f"invalid host name {host!r}")
    return ascii_host


def normalize_url(url: str, *, require_https: bool | None = None) -> str:
    """Return the URI form of ``url`` to store, or raise ``UnsafeURL``.

    For registration (a user's webhook URL): the host becomes its IDNA form, non-ASCII in the
    path, query and fragment is percent-encoded (``iri_to_uri``), an empty path becomes "/".
    Then the stricter registration rules apply: Django's ``URLValidator`` with the allowed
    schemes (no underscores or single labels in names, no decimal or shortened IPv4 such as
    ``2130706433`` or ``127.1``, no label starting with "-"), ``parse_url``'s rules, and the SSRF
    rules that need no DNS: an address literal, or ``localhost``, must pass ``check_address``
    (so loopback passes only with ``OUTBOUND_ALLOW_LOOPBACK``). Names are resolved and checked
    again at every send (``check_url``).
    """
    if require_https is None:
        require_https = settings.OUTBOUND_REQUIRE_HTTPS
    parsed = parse_url(url, require_https=require_https)
    parts = urlsplit(url)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    try:
        fragment = iri_to_uri(parts.fragment)
    except (UnicodeError, ValueError) as exc:
        raise UnsafeURL(f"the fragment cannot be encoded: {exc}") from exc
    path, _, query = parsed.request_target.partition("?")
    normalized = urlunsplit((parsed.scheme, netloc, path, query, fragment))
    schemes = ["https"] if require_https else ["http", "https"]
    try:
        URLValidator(schemes=schemes)(normalized)
    except ValidationError:
        raise UnsafeURL(f"{normalized!r} is not a valid URL") from None
    literal = parsed.host.split("%", 1)[0]
    try:
        check_address(literal)
    except ValueError:
        # A name, not an address literal: only localhost is known to be loopback without DNS.
        if literal == "localhost" or literal.endswith(".localhost"):
            check_address("127.0.0.1")
    return normalized


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
    except (UnicodeError, ValueError) as exc:
        # parse_url lets only ASCII names through, so this is a name the resolver refuses.
        raise UnsafeURL(f"invalid host name {parsed.host!r}: {exc}") from exc
    except OSError as exc:  # socket.gaierror and its kin
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
