"""The web server (config/server.py: granian) as the entrypoint runs it, over real sockets.

Graceful shutdown, the stuck-request timeout and the edge limits (header timeout, header size,
Content-Length with Transfer-Encoding) of the web role (WSGI) and the stream role (ASGI).
A request is held in flight by locking the provider's summary row from the test: POST rating
updates that row, so it waits on PostgreSQL until the test lets go.
"""

import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import psycopg
import pytest

from tests.system import harness

pytestmark = pytest.mark.system


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (whichever of its threads started them)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                children.add(int(entry.name))
    return children


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _read_until_closed(sock: socket.socket, *, timeout: float) -> tuple[bytes, bool]:
    """Everything the server sends within ``timeout``, and whether it closed the connection."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


class HeldSummary:
    """A transaction holding the provider's summary row, so a POST rating for it waits."""

    def __init__(self, database_url: str, provider_id: str):
        self.conn = psycopg.connect(database_url)
        self.conn.execute("SELECT 1 FROM ratings_ratingsummary WHERE provider_id = %s FOR UPDATE", [provider_id])

    def waiting(self) -> int:
        with psycopg.connect(self.conn.info.dsn, autocommit=True) as other:
            return other.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def _post_in_background(base: str, customer: dict, provider: dict) -> tuple[threading.Thread, dict]:
    outcome = {}

    def post():
        try:
            outcome["status"], outcome["body"] = harness.http(
                "POST",
                base + "/api/v1/ratings/",
                token=customer["token"],
                body={"provider_id": provider["id"], "score": 5, "comment": "in flight"},
                timeout=60,
            )
        except OSError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread, outcome


@pytest.fixture
def web_env(stack, make_db):
    return stack.env(DATABASE_URL=make_db(), CELERY_BROKER_URL="memory://")


def test_sigterm_lets_the_request_in_flight_finish_and_refuses_new_ones(stack, web_env):
    base = stack.web("web", web_env, extra=("--graceful-timeout", "20"))
    seeded = harness.seed(web_env, customers=1, providers=1)
    held = HeldSummary(web_env["DATABASE_URL"], seeded["providers"][0]["id"])
    thread, outcome = _post_in_background(base, seeded["customers"][0], seeded["providers"][0])
    try:
        harness.wait_until(lambda: held.waiting() == 1, timeout=20, what="the POST waiting on the row")
        server = stack.processes["web"]
        stopped_at = time.monotonic()
        server.send_signal(signal.SIGTERM)
        # The listening socket goes at once: a new client is refused, not queued.
        harness.wait_until(
            lambda: socket.socket().connect_ex(("127.0.0.1", _port(base))) != 0, timeout=5, what="socket closed"
        )
        time.sleep(2)
        assert server.poll() is None  # still finishing the request in flight
    finally:
        held.release()
    thread.join(timeout=30)
    assert outcome.get("status") == 201, outcome
    assert server.wait(timeout=20) == 0
    assert time.monotonic() - stopped_at < 20
    assert harness.scalar(web_env["DATABASE_URL"], "SELECT count(*) FROM ratings_rating") == 1


def test_a_stuck_request_ends_its_worker_which_is_replaced(stack, web_env):
    base = stack.web("web", web_env, extra=("--timeout", "3"))
    server = stack.processes["web"].pid
    seeded = harness.seed(web_env, customers=1, providers=1)
    held = HeldSummary(web_env["DATABASE_URL"], seeded["providers"][0]["id"])
    workers = _children(server)
    thread, outcome = _post_in_background(base, seeded["customers"][0], seeded["providers"][0])
    try:
        thread.join(timeout=30)
        assert outcome.get("status", 0) == 0, outcome  # the connection closed without an answer
        harness.wait_until(lambda: len(_children(server)) == 2, timeout=20, what="the replacement worker")
        assert len(_children(server) - workers) == 1
    finally:
        held.release()
    log = (stack.workdir / "web.log").read_text()
    assert "request timeout: POST /api/v1/ratings/" in log
    assert harness.http("GET", base + "/healthz")[0] == 200
    # The killed request's transaction was rolled back with its connection.
    assert harness.scalar(web_env["DATABASE_URL"], "SELECT count(*) FROM ratings_rating") == 0


def _keep_alive_get(sock: socket.socket, *, timeout: float) -> bytes:
    """One GET /healthz on an open keep-alive connection: the response head and body."""
    sock.settimeout(timeout)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_keep_alive_connections_beyond_the_threads_are_each_served_at_once(stack, web_env):
    # 2 workers x 4 threads: twenty idle keep-alive connections (a proxy's pool) must not keep
    # a twenty-first client, or their own next requests, waiting for an idle one to time out.
    base = stack.web("web", web_env)
    port = _port(base)
    pool = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
    try:
        for _round in range(2):
            for sock in pool:
                started = time.monotonic()
                assert _keep_alive_get(sock, timeout=5).startswith(b"HTTP/1.1 200 ")
                assert time.monotonic() - started < 3
        with socket.create_connection(("127.0.0.1", port), timeout=5) as late:
            started = time.monotonic()
            assert _keep_alive_get(late, timeout=5).startswith(b"HTTP/1.1 200 ")
            assert time.monotonic() - started < 3
    finally:
        for sock in pool:
            sock.close()


@pytest.fixture(params=["web", "stream"])
def edge(request, stack, web_env):
    start = stack.web if request.param == "web" else stack.stream
    return _port(start(request.param, web_env, extra=("--header-timeout", "2")))


def test_a_client_that_sends_its_head_slowly_is_disconnected(edge):
    sock = socket.create_connection(("127.0.0.1", edge), timeout=5)
    started = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed_after = None
    for _ in range(10):
        time.sleep(0.5)
        try:
            sock.sendall(b"X-Slow: 1\r\n")
        except OSError:
            closed_after = time.monotonic() - started
            break
    if closed_after is None:
        data, closed = _read_until_closed(sock, timeout=3)
        assert closed, data
        closed_after = time.monotonic() - started
    sock.close()
    assert closed_after < 5


def test_a_head_over_the_size_limit_is_refused(edge):
    with socket.create_connection(("127.0.0.1", edge), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        data, closed = _read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 431 "), data[:100]
    assert closed
    # A head of ordinary size (16 KB) is served.
    with socket.create_connection(("127.0.0.1", edge), timeout=5) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: " + b"a" * 16_000 + b"\r\n\r\n"
        )
        data, _ = _read_until_closed(sock, timeout=5)
    assert data.startswith(b"HTTP/1.1 200 "), data[:100]


def test_content_length_with_transfer_encoding_closes_the_connection(edge):
    smuggled = b"GET /healthz?smuggled=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    request = (
        b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
        % len(body)
    ) + body
    with socket.create_connection(("127.0.0.1", edge), timeout=5) as sock:
        sock.sendall(request)
        data, closed = _read_until_closed(sock, timeout=5)
    # One answer (the POST's), then the connection closes: the bytes after the chunked body are
    # never read as a second request (RFC 9112 section 6.1).
    assert data.count(b"HTTP/1.1 ") == 1, data
    assert closed
    status = int(data.split(b" ", 2)[1])
    assert 400 <= status < 500
    head, _, payload = data.partition(b"\r\n\r\n")
    if b"application/json" in head.lower() and payload:
        assert "type" in json.loads(payload.split(b"\r\n")[-1] if b"chunked" in head.lower() else payload)


def _post_rating(base: str, customer: dict, provider: dict, key: str) -> tuple[int, Message, dict]:
    request = urllib.request.Request(
        base + "/api/v1/ratings/",
        data=json.dumps({"provider_id": provider["id"], "score": 3, "comment": "retried"}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {customer['token']}",
            "Idempotency-Key": key,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_a_lost_database_connection_answers_503_and_the_retry_succeeds_once(stack, web_env):
    base = stack.web("web", web_env, workers=1)
    seeded = harness.seed(web_env, customers=1, providers=1)
    customer, provider = seeded["customers"][0], seeded["providers"][0]
    database = web_env["DATABASE_URL"]
    held = HeldSummary(database, provider["id"])
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(answer=_post_rating(base, customer, provider, "k-1")))
    thread.start()
    try:
        harness.wait_until(lambda: held.waiting() == 1, timeout=20, what="the POST waiting on the row")
        # The backend serving the request goes away mid-flight (a restart, a failover, an
        # administrator's pg_terminate_backend).
        terminated = harness.query(
            database,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        assert terminated == [(True,)]
        thread.join(timeout=30)
    finally:
        held.release()
    status, headers, body = outcome["answer"]
    assert status == 503
    assert headers["Retry-After"] == "2"
    assert body == {
        "type": "server_error",
        "errors": [
            {
                "code": "database_unavailable",
                "detail": "The database did not complete the request. Retry it (with the same Idempotency-Key).",
                "attr": None,
            }
        ],
    }
    assert harness.scalar(database, "SELECT count(*) FROM ratings_rating") == 0

    # The retry, on the same worker (whose connection was the one lost), succeeds; its replay
    # answers the same rating without writing another.
    status, headers, created = _post_rating(base, customer, provider, "k-1")
    assert status == 201, created
    status, headers, replayed = _post_rating(base, customer, provider, "k-1")
    assert (status, headers.get("Idempotent-Replayed"), replayed) == (201, "true", created)
    assert harness.scalar(database, "SELECT count(*) FROM ratings_rating") == 1
