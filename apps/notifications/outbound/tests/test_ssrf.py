import socket

import pytest

from apps.notifications.outbound import http, ssrf
from apps.notifications.outbound.errors import ResolutionFailed, UnsafeURL
from apps.notifications.outbound.retry import Outcome, classify, describe

from .servers import reply

REFUSED_HOSTS = [
    "127.0.0.1",
    "[::1]",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "[fc00::1]",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::]",
    "localhost",
    # Spellings the resolver turns into 127.0.0.1.
    "2130706433",
    "127.1",
]


@pytest.fixture
def no_connect(monkeypatch):
    """Fail the test if the client so much as tries to open a connection."""

    def tripwire(*args, **kwargs):
        raise AssertionError("a connection was attempted to a refused address")

    monkeypatch.setattr(http, "_connect", tripwire)


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_refused_without_a_request(settings, receiver, no_connect, host):
    settings.OUTBOUND_ALLOW_LOOPBACK = False

    with pytest.raises(UnsafeURL) as excinfo:
        http.post(f"http://{host}:{receiver.port}/hook", body=b"{}", headers={})

    assert classify(excinfo.value) is Outcome.DEAD
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "IPv4-mapped of 127.0.0.1: 127.0.0.1 is loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254: 169.254.169.254 is link-local"),
        ("2002:7f00:1::", "6to4 of 127.0.0.1: 127.0.0.1 is loopback"),
        ("64:ff9b:1::5db8:d822", "local-use NAT64"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("::7f00:1", "IPv4-compatible"),
        ("100.64.0.1", "not globally routable"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("fe80::1", "link-local"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
    ],
)
def test_check_address_names_the_reason(address, reason):
    with pytest.raises(UnsafeURL) as excinfo:
        ssrf.check_address(address, allow_loopback=False)
    assert reason in excinfo.value.reason


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:2800:220:1::1", "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1"],
)
def test_public_addresses_pass(address):
    ssrf.check_address(address, allow_loopback=False)


def test_allowing_loopback_allows_nothing_else():
    ssrf.check_address("127.0.0.1", allow_loopback=True)
    ssrf.check_address("::1", allow_loopback=True)
    for address in ("10.0.0.1", "192.168.1.1", "169.254.169.254", "fc00::1", "0.0.0.0", "::ffff:10.0.0.1"):
        with pytest.raises(UnsafeURL):
            ssrf.check_address(address, allow_loopback=True)


def _fake_getaddrinfo(*answers):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers
        ]

    return getaddrinfo


def test_public_name_passes_the_guard(settings, monkeypatch):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    settings.OUTBOUND_REQUIRE_HTTPS = True
    monkeypatch.setattr(socket, "getaddrinfo", _fake_getaddrinfo("93.184.216.34"))

    checked = ssrf.check_url("https://hooks.example.com/in?x=1")

    assert checked.addresses == ("93.184.216.34",)
    assert (checked.host, checked.port, checked.request_target) == ("hooks.example.com", 443, "/in?x=1")
    assert checked.host_header == "hooks.example.com"


def test_one_private_answer_among_public_ones_refuses_the_name(settings, monkeypatch):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    monkeypatch.setattr(socket, "getaddrinfo", _fake_getaddrinfo("93.184.216.34", "10.1.2.3"))

    with pytest.raises(UnsafeURL, match=r"hooks\.example\.com resolves to 10\.1\.2\.3 is private"):
        ssrf.check_url("https://hooks.example.com/")


def test_unresolvable_name_is_a_resolution_failure(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    with pytest.raises(ResolutionFailed):
        ssrf.check_url("http://no-such-host.invalid/")
    assert classify(ResolutionFailed("x")) is Outcome.RETRY


@pytest.mark.parametrize(
    ("url", "require_https", "message"),
    [
        ("http://hooks.example.com/", True, "scheme 'http' not allowed"),
        ("ftp://hooks.example.com/", False, "scheme 'ftp' not allowed"),
        ("file:///etc/passwd", False, "scheme 'file' not allowed"),
        ("https://user:pw@hooks.example.com/", True, "credentials"),
        ("https:///path", True, "no host"),
        ("https://hooks.example.com:99999/", True, "malformed"),
        ("https://hooks.example.com/a b", True, "whitespace"),
        ("", True, "empty"),
    ],
)
def test_parse_url_refusals(url, require_https, message):
    with pytest.raises(UnsafeURL, match=message):
        ssrf.parse_url(url, require_https=require_https)


def test_https_required_setting(settings):
    settings.OUTBOUND_REQUIRE_HTTPS = True
    with pytest.raises(UnsafeURL, match="use https"):
        ssrf.parse_url("http://hooks.example.com/")
    settings.OUTBOUND_REQUIRE_HTTPS = False
    assert ssrf.parse_url("http://hooks.example.com:8080").host_header == "hooks.example.com:8080"


def test_redirect_to_loopback_is_not_followed(receiver_factory):
    target = receiver_factory()
    redirector = receiver_factory(reply(302, headers={"Location": target.url("/internal")}))

    response = http.post(redirector.url(), body=b"{}", headers={})

    assert response.status == 302
    assert classify(response) is Outcome.DEAD
    assert describe(response) == f"HTTP 302: redirect not followed (to {target.url('/internal')})"
    assert len(redirector.requests) == 1
    assert target.requests == []


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://hooks.example.com/in", "https://hooks.example.com/in"),
        ("HTTPS://Hooks.Example.COM", "https://hooks.example.com/"),
        ("https://hooks.example.com:8443/a?b=1#c", "https://hooks.example.com:8443/a?b=1#c"),
        ("https://bücher.example/pfad/ü?q=ä#frag-é", "https://xn--bcher-kva.example/pfad/%C3%BC?q=%C3%A4#frag-%C3%A9"),
        ("https://hooks.example.com/a%20b/ü", "https://hooks.example.com/a%20b/%C3%BC"),
        ("https://hooks.example.com/{x}|^", "https://hooks.example.com/%7Bx%7D%7C%5E"),
        ("https://93.184.216.34/hook", "https://93.184.216.34/hook"),
        ("https://[2606:2800:220:1::1]:8443/", "https://[2606:2800:220:1::1]:8443/"),
    ],
)
def test_normalize_url(settings, url, normalized):
    settings.OUTBOUND_REQUIRE_HTTPS = True
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    assert ssrf.normalize_url(url) == normalized
    assert ssrf.normalize_url(normalized) == normalized


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://hooks_1.example.com/", "not a valid URL"),
        ("http://vm/", "not a valid URL"),
        ("http://-a.example/", "not a valid URL"),
        ("http://a-.example/", "not a valid URL"),
        ("http://2130706433/", "not a valid URL"),
        ("http://127.1/", "not a valid URL"),
        ("http://0x7f.0.0.1/", "not a valid URL"),
        ("http://017700000001/", "not a valid URL"),
        ("https://xn--.com/", "not a valid URL"),
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://localhost:8000/", "loopback"),
        ("http://api.localhost/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("https://a..example.com/", "invalid host name"),
        ("http://%31%32%37.0.0.1/", "invalid host name"),
        ("http://[zz]/", "malformed"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("ftp://hooks.example.com/", "scheme 'ftp' not allowed"),
        ("https://hooks.example.com/\ud800", "cannot be encoded"),
        ("https://hooks.example.com/#\ud800", "cannot be encoded"),
        ("https://hooks.example.com/\x7f", "control"),
        ("https://" + "a" * 64 + ".example.com/", "invalid host name"),
    ],
)
def test_normalize_url_refusals(settings, url, message):
    settings.OUTBOUND_REQUIRE_HTTPS = False
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    with pytest.raises(UnsafeURL, match=message):
        ssrf.normalize_url(url)


def test_loopback_allowing_settings_accept_the_local_receivers(settings):
    # config.settings.test and local: tests and `make run` post to receivers on loopback.
    settings.OUTBOUND_REQUIRE_HTTPS = False
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    for url in ("http://127.0.0.1:8123/hook?x=1", "http://localhost:8123/", "http://[::1]:8123/in"):
        assert ssrf.normalize_url(url) == url
    for url in ("http://10.0.0.1/", "http://2130706433/", "http://127.1/", "http://vm/"):
        with pytest.raises(UnsafeURL):
            ssrf.normalize_url(url)


HOSTILE = [
    None,
    b"https://hooks.example.com/",
    42,
    "",
    "https://",
    "https://[",
    "https://]/",
    "https://[::1",
    "https://[fe80::1%25eth0]/",
    "https://h:port/",
    "https://h:-1/",
    "https://h:99999999999999999999/",
    "https://:80/",
    "https://@/",
    "https://\u200b/",
    "https://\ud800.example/",
    "https://a\x00b.example/",
    "https://exa\u0000mple.com/",
    "https://" + "a." * 200 + "com/",
    "https://ex%41mple.com/",
    "https://exam ple.com/",
    "https://例え.テスト/パス",
    "https:/\\evil.example/",
    "https://evil.example\\@good.example/",
    "javascript:alert(1)",
    "//hooks.example.com/",
    "hooks.example.com",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_any_input_is_a_url_or_unsafe_url_never_another_error(settings, url):
    settings.OUTBOUND_REQUIRE_HTTPS = False
    for check in (ssrf.parse_url, ssrf.normalize_url):
        try:
            result = check(url)
        except UnsafeURL:
            continue
        # Accepted: then what goes on the wire is ASCII.
        text = result if isinstance(result, str) else f"{result.host} {result.request_target}"
        assert text.isascii()


def test_check_url_on_a_host_the_resolver_refuses_is_unsafe_not_transient(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise UnicodeError("label too long")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    with pytest.raises(UnsafeURL):
        ssrf.check_url("http://hooks.example.com/")


def test_a_non_ascii_url_stored_before_normalization_is_delivered_percent_encoded(receiver):
    response = http.post(f"http://localhost:{receiver.port}/hook/ü?name=José", body=b"{}", headers={})

    assert response.status == 200
    assert receiver.requests[0].path == "/hook/%C3%BC?name=Jos%C3%A9"
