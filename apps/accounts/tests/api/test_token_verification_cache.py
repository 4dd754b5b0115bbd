"""A token verified once is not verified again on the next request, yet nothing it would refuse
gets through: expiry is checked on every use, other bytes are verified anew, and the revocation
check runs every time."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import authentication
from apps.accounts.services import user_deactivate
from tests.errors import assert_error
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
INBOX = "/api/v1/notifications/"


@pytest.fixture(autouse=True)
def _empty_cache():
    authentication._verified.clear()
    yield
    authentication._verified.clear()


def _get(token: str, path: str = INBOX):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(path)


def test_a_verified_token_is_kept_and_still_expires_on_time():
    token = RefreshToken.for_user(CustomerFactory().user).access_token
    assert _get(str(token)).status_code == 200
    assert len(authentication._verified) == 1
    assert _get(str(token)).status_code == 200
    expires = datetime.fromtimestamp(token["exp"], tz=UTC)
    with time_machine.travel(expires + timedelta(seconds=1), tick=False):
        assert_error(_get(str(token)), 401, "token_not_valid")
    assert authentication._verified == {}


def test_other_bytes_are_verified_anew():
    token = str(RefreshToken.for_user(CustomerFactory().user).access_token)
    assert _get(token).status_code == 200
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert_error(_get(tampered), 401, "token_not_valid")
    assert len(authentication._verified) == 1


def test_the_revocation_check_still_runs_on_every_use(django_capture_on_commit_callbacks):
    user = CustomerFactory().user
    token = str(RefreshToken.for_user(user).access_token)
    for path in (INBOX, "/api/v1/customers/me/"):
        assert _get(token, path).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=user)
    for path in (INBOX, "/api/v1/customers/me/"):
        assert_error(_get(token, path), 401, "token_not_valid")
