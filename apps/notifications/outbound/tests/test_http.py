import time

import pytest

from apps.notifications.outbound import http
from apps.notifications.outbound.errors import ConnectFailed, DeadlineExceeded
from apps.notifications.outbound.retry import Outcome, classify

from .servers import drip, reply


def _hang(receiver):
    """Accept the request, never answer (until the test ends)."""

    def behave(handler, _request):
        receiver.stop.wait(10)

    return behave


def test_posts_body_and_headers_and_returns_the_response(receiver_factory):
    receiver = receiver_factory(reply(503, b"busy", {"Retry-After": "120"}))

    response = http.post(receiver.url("/in?x=1"), body=b'{"a":1}', headers={"X-Test": "yes"})

    assert (response.status, response.body, response.truncated) == (503, "busy", False)
    assert response.header("Retry-After") == "120"
    assert response.address == "127.0.0.1"
    assert response.elapsed < 2
    [request] = receiver.requests
    assert (request.path, request.body) == ("/in?x=1", b'{"a":1}')
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["x-test"] == "yes"
    assert request.headers["accept-encoding"] == "identity"


def test_name_is_sent_as_host_header_while_the_checked_address_is_used(receiver):
    response = http.post(f"http://localhost:{receiver.port}/hook", body=b"{}", headers={})

    assert response.status == 200
    assert response.address in ("127.0.0.1", "::1")
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_silent_server_is_cut_at_the_total_deadline(settings, receiver_factory):
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.5
    receiver = receiver_factory()
    receiver.behaviour = _hang(receiver)

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as excinfo:
        http.post(receiver.url(), body=b"{}", headers={})

    assert 0.45 <= time.monotonic() - started < 1.5
    assert classify(excinfo.value) is Outcome.RETRY
    assert len(receiver.requests) == 1


def test_dripping_server_is_cut_at_the_total_deadline_not_per_read(settings, receiver_factory):
    # Each byte arrives well within any per-read timeout; only a total deadline stops this.
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.8
    receiver = receiver_factory()
    receiver.behaviour = drip(receiver.stop)

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        http.post(receiver.url(), body=b"{}", headers={})
    assert 0.75 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize("chunked", [False, True])
def test_huge_body_is_cut_at_the_byte_cap(settings, receiver_factory, chunked):
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024
    block = b"y" * 65536

    def stream(handler, _request):
        handler.send_response(200)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(len(block) * 1600))
        handler.end_headers()
        for _ in range(1600):  # 100 MiB at most, bounded even if the client kept reading
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)

    receiver = receiver_factory(stream)

    started = time.monotonic()
    response = http.post(receiver.url(), body=b"{}", headers={})

    assert response.status == 200
    assert response.truncated is True
    assert response.body == "y" * 64 * 1024
    assert time.monotonic() - started < 2


def test_connection_refused_is_a_retryable_connect_failure(closed_port):
    with pytest.raises(ConnectFailed) as excinfo:
        http.post(f"http://127.0.0.1:{closed_port}/", body=b"{}", headers={})
    assert classify(excinfo.value) is Outcome.RETRY
