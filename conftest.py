"""Fixtures shared by every test package."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


def pytest_configure(config):
    # CI sets REQUIRE_POSTGRES=1 so a missing DATABASE_URL fails loudly instead of
    # silently testing against SQLite.
    if os.environ.get("REQUIRE_POSTGRES") == "1" and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL is not a PostgreSQL URL")
    # Notices in German need the compiled message files; a bare `pytest` (not `make test`)
    # compiles them too. Once, in the controller: xdist's workers find them ready.
    if not hasattr(config, "workerinput"):
        script = Path(__file__).resolve().parent / "bin" / "compile-messages"
        subprocess.run([sys.executable, str(script)], check=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` (PostgreSQL SQL, row locks) are skipped on the embedded SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason=f"needs PostgreSQL (this run is on {connection.vendor}): set DATABASE_URL=postgres://…"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _require_postgres(request):
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        from django.db import connection

        assert connection.vendor == "postgresql", f"tests must run on PostgreSQL, not {connection.vendor}"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters and cached values must not leak from one test into another."""
    from django.core.cache import cache

    from apps.accounts import revocation
    from apps.core import throttling

    cache.clear()
    # No account is revoked when a test starts: the revocation marks are loaded (an empty set),
    # as a running server's are, so a test's first request does not reload them.
    cache.set(revocation.LOADED_KEY, 0, timeout=None)
    # Nor a pause of the throttle cache after a test that took Redis down.
    throttling._redis_paused_until = 0.0
    yield
    throttling._redis_paused_until = 0.0
    cache.clear()


@pytest.fixture(autouse=True)
def _email_url_breaker_closed():
    """The EMAIL_URL relay's breaker has one fixed key (a provider row's is new in each test):
    a test whose SMTP is down must not leave it open, or its failures counted, for the next."""
    from apps.notifications.delivery.channels.email.channel import EMAIL_URL_BREAKER
    from apps.notifications.outbound import breakers

    breakers.forget(EMAIL_URL_BREAKER)
    yield
    breakers.forget(EMAIL_URL_BREAKER)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(settings, closed_port):
    """The cache (and every other REDIS_URL user) points at a closed port: Redis is down."""
    url = f"redis://127.0.0.1:{closed_port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    return url


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def auth_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def customer(db):
    from tests.factories import CustomerFactory

    return CustomerFactory()


@pytest.fixture
def provider(db):
    from tests.factories import ProviderFactory

    return ProviderFactory()


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True)


@pytest.fixture
def customer_client(customer) -> APIClient:
    return auth_client(customer.user)


@pytest.fixture
def provider_client(provider) -> APIClient:
    return auth_client(provider.user)


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return auth_client(staff_user)


@pytest.fixture
def send_task(monkeypatch):
    """Records every task sent by name instead of talking to a broker."""
    from unittest import mock

    recorder = mock.Mock()
    monkeypatch.setattr("apps.notifications.delivery.engine.current_app.send_task", recorder)
    return recorder


@pytest.fixture
def json_log():
    """The JSON lines logged while the test runs, through the production formatter and filter.

    Returns a function giving the lines parsed so far.
    """
    import io
    import json
    import logging

    from apps.core.logging import JsonFormatter, RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
