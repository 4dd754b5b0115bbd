import socket
import threading
import time

import pytest

from apps.notifications.outbound import http
from apps.notifications.outbound.errors import DeadlineExceeded, InvalidMessage, UnsafeURL
from apps.notifications.outbound.retry import Outcome, classify

from .servers import Receiver, drip, reply


def _post(receiver, path="/hook"):
    return http.post(receiver.url(path), body=b'{"n":1}', headers={"X-Test": "yes"})


def test_posts_to_one_host_reuse_one_connection(receiver_factory):
    receiver = receiver_factory(reply(200, b"ok"), keep_alive=True)

    responses = [_post(receiver, f"/hook/{n}") for n in range(5)]

    assert [r.status for r in responses] == [200] * 5
    assert [r.path for r in receiver.requests] == [f"/hook/{n}" for n in range(5)]
    assert receiver.connections == 1
    assert "connection" not in receiver.requests[0].headers  # HTTP/1.1 keep-alive by default


def test_the_body_of_every_response_is_read_before_the_next_request(receiver_factory):
    receiver = receiver_factory(keep_alive=True)
    bodies = [b"first", b"", b"third" * 1000]
    for body in bodies:
        receiver.behaviour = reply(201, body)
        assert _post(receiver).body == body.decode()
    assert receiver.connections == 1


def test_chunked_responses_are_reused_too(receiver_factory):
    def chunked(handler, _request):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(b"3\r\nabc\r\n0\r\n\r\n")

    receiver = receiver_factory(chunked, keep_alive=True)
    assert [_post(receiver).body for _ in range(3)] == ["abc"] * 3
    assert receiver.connections == 1


def test_a_connection_the_receiver_closes_is_not_reused(receiver_factory):
    receiver = receiver_factory(reply(200, headers={"Connection": "close"}), keep_alive=True)

    for _ in range(3):
        assert _post(receiver).status == 200
    assert receiver.connections == 3


def test_a_truncated_body_closes_the_connection(settings, receiver_factory):
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 10
    receiver = receiver_factory(reply(200, b"x" * 100), keep_alive=True)

    assert _post(receiver).truncated is True
    assert _post(receiver).truncated is True
    assert receiver.connections == 2


def test_idle_connections_expire(settings, receiver_factory):
    settings.OUTBOUND_KEEPALIVE_IDLE_SECONDS = 0.2
    receiver = receiver_factory(keep_alive=True)

    _post(receiver)
    _post(receiver)
    assert receiver.connections == 1
    time.sleep(0.3)
    _post(receiver)
    assert receiver.connections == 2


def test_keep_alive_can_be_switched_off(settings, receiver_factory):
    settings.OUTBOUND_KEEPALIVE_IDLE_SECONDS = 0
    receiver = receiver_factory(keep_alive=True)

    for _ in range(3):
        _post(receiver)
    assert receiver.connections == 3
    assert receiver.requests[0].headers["connection"] == "close"


def test_a_stale_connection_is_retried_once_on_a_fresh_one(receiver_factory):
    receiver = receiver_factory(keep_alive=True)
    assert _post(receiver, "/first").status == 200
    receiver.drop_reused = True  # resets the kept connection when the next request arrives

    response = _post(receiver, "/second")

    assert response.status == 200
    assert [r.path for r in receiver.requests] == ["/first", "/second"]  # delivered once
    assert receiver.connections == 2


def test_no_reuse_when_the_name_resolves_to_another_address(receiver_factory, monkeypatch):
    # Connections are pooled per connected address: when the check returns another address set,
    # the kept connection (to an address this check did not return) is not used, and when the
    # name resolves back it is.
    first_home = receiver_factory(keep_alive=True)
    second_home = Receiver(keep_alive=True, host="127.0.0.2", port=first_home.port)
    try:
        url = f"http://hooks.localhost:{first_home.port}/hook"
        answer = ["127.0.0.1"]
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[0], port))],
        )

        addresses = []
        for address in ("127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2"):
            answer[0] = address
            addresses.append(http.post(url, body=b"{}", headers={}).address)

        assert addresses == ["127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2"]
        assert (len(first_home.requests), len(second_home.requests)) == (2, 2)
        assert (first_home.connections, second_home.connections) == (1, 1)
        host = f"hooks.localhost:{first_home.port}"
        assert [r.headers["host"] for r in first_home.requests + second_home.requests] == [host] * 4
    finally:
        http.close_idle_connections()
        second_home.close()


def test_no_reuse_once_the_address_is_refused(settings, receiver_factory):
    receiver = receiver_factory(keep_alive=True)
    _post(receiver)
    settings.OUTBOUND_ALLOW_LOOPBACK = False

    with pytest.raises(UnsafeURL) as excinfo:
        _post(receiver)

    assert classify(excinfo.value) is Outcome.DEAD
    assert len(receiver.requests) == 1


def test_the_deadline_holds_on_a_reused_connection(settings, receiver_factory):
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.5
    receiver = receiver_factory(keep_alive=True)
    assert _post(receiver).status == 200

    def stall(handler, _request):
        receiver.stop.wait(10)

    receiver.behaviour = stall
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        _post(receiver)
    assert 0.45 <= time.monotonic() - started < 1.5
    assert receiver.connections == 1  # it was the reused connection that stalled

    receiver.behaviour = reply(200)
    assert _post(receiver).status == 200  # the stalled connection was closed, not pooled
    assert receiver.connections == 2


def test_a_dripping_body_is_cut_at_the_deadline_on_a_reused_connection(settings, receiver_factory):
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.6
    receiver = receiver_factory(keep_alive=True)
    assert _post(receiver).status == 200
    receiver.behaviour = drip(receiver.stop)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        _post(receiver)
    assert 0.55 <= time.monotonic() - started < 1.3


def test_each_thread_has_its_own_connections(receiver_factory):
    receiver = receiver_factory(keep_alive=True)

    def two_posts():
        _post(receiver)
        _post(receiver)
        http.close_idle_connections()

    threads = [threading.Thread(target=two_posts) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(receiver.requests) == 6
    assert receiver.connections == 3


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Name": "José 😀"},
        {"X-Split": "a\r\nInjected: yes"},
        {"Bad Name": "x"},
        {"X-Null": "a\x00b"},
    ],
)
def test_a_header_that_cannot_be_sent_is_a_dead_message_and_nothing_is_sent(receiver, headers):
    with pytest.raises(InvalidMessage) as excinfo:
        http.post(receiver.url(), body=b"{}", headers=headers)

    assert classify(excinfo.value) is Outcome.DEAD
    assert receiver.requests == []
    assert receiver.connections == 0
