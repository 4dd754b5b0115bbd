"""A deleted or deactivated account's access tokens stop at once, on every Bearer path, without
a database query per request (a revocation mark in Redis, the database the source of truth)."""

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.authentication import JWTAuthentication, JWTStatelessAuthentication
from apps.accounts.revocation import LOADED_KEY
from apps.accounts.services import user_deactivate, user_erase
from tests.errors import assert_error
from tests.factories import DEFAULT_PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db

# The inbox, its badges and its live stream (stateless: no users query), and a path that loads
# the user.
PATHS = [
    "/api/v1/notifications/",
    "/api/v1/notifications/unread-count/",
    "/api/v1/notifications/counts/",
    "/api/v1/notifications/stream/",
    "/api/v1/customers/me/",
]


def _client(user) -> tuple[APIClient, str]:
    token = str(RefreshToken.for_user(user).access_token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client, token


def _delete(client, capture) -> None:
    with capture(execute=True):
        response = client.delete("/api/v1/customers/me/", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204, response.content


@pytest.fixture
def customer_token():
    customer = CustomerFactory()
    client, token = _client(customer.user)
    for path in PATHS:
        assert client.get(path).status_code == 200, path
    return customer, client, token


def test_a_deleted_accounts_token_is_refused_on_every_path(customer_token, django_capture_on_commit_callbacks):
    _customer, client, _token = customer_token

    _delete(client, django_capture_on_commit_callbacks)

    for path in PATHS:
        assert_error(client.get(path), 401, "token_not_valid")


def test_a_deactivated_accounts_token_is_refused(customer_token, django_capture_on_commit_callbacks):
    customer, client, _token = customer_token

    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=customer.user)

    for path in PATHS:
        assert_error(client.get(path), 401)


@pytest.mark.parametrize("auth_class", [JWTStatelessAuthentication, JWTAuthentication])
def test_the_check_costs_no_query_once_the_marks_are_loaded(customer_token, auth_class):
    customer, _unused, token = customer_token
    assert caches["default"].get(LOADED_KEY) is not None
    with CaptureQueriesContext(connection) as queries:
        validated = auth_class().get_validated_token(token.encode())
    assert len(queries) == 0
    assert validated["user_id"] == str(customer.user_id)


def test_a_revoked_token_is_refused_without_a_query(customer_token, django_capture_on_commit_callbacks):
    _customer, client, token = customer_token
    _delete(client, django_capture_on_commit_callbacks)

    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
        JWTStatelessAuthentication().get_validated_token(token.encode())
    assert len(queries) == 0


def test_after_a_redis_flush_the_marks_are_loaded_again_from_the_database(
    customer_token, django_capture_on_commit_callbacks
):
    _customer, client, _token = customer_token
    _delete(client, django_capture_on_commit_callbacks)

    caches["default"].clear()

    assert_error(client.get("/api/v1/notifications/"), 401, "token_not_valid")
    assert caches["default"].get(LOADED_KEY) is not None


def test_a_mark_lost_at_commit_is_written_by_the_next_reload(customer_token, django_capture_on_commit_callbacks):
    _customer, client, _token = customer_token
    _delete(client, django_capture_on_commit_callbacks)
    # As if Redis had been down when the deletion committed: the mark is missing, the
    # loaded flag still there until it lapses (ACCOUNT_REVOCATION_RELOAD_SECONDS).
    caches["default"].delete(f"auth:revoked:{_customer.user_id}")
    caches["default"].delete(LOADED_KEY)

    assert_error(client.get("/api/v1/notifications/"), 401, "token_not_valid")


def test_with_redis_down_the_check_reads_the_database_and_still_refuses(
    customer_token, django_capture_on_commit_callbacks, redis_down
):
    _customer, client, _token = customer_token
    other = CustomerFactory()
    other_client, _ = _client(other.user)

    _delete(client, django_capture_on_commit_callbacks)

    assert_error(client.get("/api/v1/notifications/counts/"), 401, "token_not_valid")
    assert other_client.get("/api/v1/notifications/counts/").status_code == 200


def test_without_redis_the_process_that_revokes_refuses_at_once(
    settings, customer_token, django_capture_on_commit_callbacks
):
    # make run: a per-process cache.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _customer, client, token = customer_token
    assert client.get("/api/v1/notifications/counts/").status_code == 200
    _delete(client, django_capture_on_commit_callbacks)

    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
        JWTStatelessAuthentication().get_validated_token(token.encode())
    assert len(queries) == 0


@pytest.mark.django_db(transaction=True)
def test_an_open_live_stream_ends_at_the_first_heartbeat_after_the_deletion(settings):
    settings.NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS = 0.3
    settings.NOTIFICATIONS_STREAM_POLL_SECONDS = 0.2
    customer = CustomerFactory()
    _unused, token = _client(customer.user)

    async def scenario():
        response = await AsyncClient().get(
            "/api/v1/notifications/stream/", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        chunks = []
        reader = response.streaming_content.__aiter__()
        chunks.append(await asyncio.wait_for(reader.__anext__(), timeout=5))  # retry
        chunks.append(await asyncio.wait_for(reader.__anext__(), timeout=5))  # unread count
        chunks.append(await asyncio.wait_for(reader.__anext__(), timeout=5))  # a heartbeat: still valid
        await sync_to_async(user_erase, thread_sensitive=False)(user=customer.user, password=DEFAULT_PASSWORD)
        rest = []
        with contextlib.suppress(StopAsyncIteration):
            while True:
                rest.append(await asyncio.wait_for(reader.__anext__(), timeout=5))
        return chunks, rest

    chunks, rest = asyncio.run(scenario())
    assert chunks[2] == b": heartbeat\n\n"
    # Ended, with at most the heartbeat that was already due when the deletion committed.
    assert rest in ([], [b": heartbeat\n\n"])


def test_the_notifications_deployment_reads_only_the_marks(
    settings, customer_token, django_capture_on_commit_callbacks
):
    # It has no users table to read: the marks the main deployment writes decide, even when the
    # loaded flag has lapsed.
    _customer, client, token = customer_token
    _delete(client, django_capture_on_commit_callbacks)
    settings.ACCOUNT_REVOCATION_FROM_DATABASE = False
    caches["default"].delete(LOADED_KEY)

    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidToken):
        JWTStatelessAuthentication().get_validated_token(token.encode())
    assert len(queries) == 0


def test_the_notifications_deployment_fails_closed_with_redis_down(settings, customer_token, redis_down):
    _customer, client, _token = customer_token
    settings.ACCOUNT_REVOCATION_FROM_DATABASE = False
    # A 5xx is also reported as an exception (to Django's got_request_exception), which the test
    # client would re-raise; the answer is what a real client gets.
    client.raise_request_exception = False

    response = client.get("/api/v1/notifications/counts/")

    assert_error(response, 503, "revocation_unavailable")
