import pytest
from prometheus_client import REGISTRY
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.api.throttling import LoginAccountThrottle, LoginIPThrottle
from tests.errors import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
IP_A = "203.0.113.1"
IP_B = "203.0.113.2"


@pytest.fixture
def rates(settings, monkeypatch):
    """Set throttle rates for one test. DRF reads them into a class attribute at import."""

    def apply(**rates):
        full = {
            "anon": "1000/min",
            "user": "1000/min",
            "rating_submit": "1000/min",
            "login_account": "1000/min",
            "login_ip": "1000/min",
            **rates,
        }
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": full}
        api_settings.reload()
        for cls in (SimpleRateThrottle, LoginAccountThrottle, LoginIPThrottle):
            monkeypatch.setattr(cls, "THROTTLE_RATES", full)

    yield apply
    api_settings.reload()


def _sign_in(email, password=DEFAULT_PASSWORD, ip=IP_A):
    return APIClient(REMOTE_ADDR=ip).post(TOKEN_URL, {"email": email, "password": password}, format="json")


def _assert_throttled(response):
    assert_error(response, 429, "throttled", attr=None, type_="client_error")
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.django_db
def test_past_the_account_limit_even_the_right_password_is_429_and_no_token_is_issued(rates):
    rates(login_account="10/min")
    UserFactory(email="ann@example.com")
    for _ in range(10):
        assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")

    _assert_throttled(_sign_in("ann@example.com", "wrong"))
    # Refused before the password is checked: the right one is refused too, from another IP.
    _assert_throttled(_sign_in("ann@example.com", ip=IP_B))
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_by_default_the_tenth_wrong_password_in_a_minute_is_429_and_other_accounts_still_sign_in(rates, settings):
    # The shipped default, not a rate made up for the test.
    rates(login_account=settings.THROTTLE_LOGIN_ACCOUNT)
    UserFactory(email="ann@example.com")
    UserFactory(email="bob@example.com")
    for _ in range(9):
        assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    _assert_throttled(_sign_in("ann@example.com", "wrong"))
    # The right password from another IP still signs in another account.
    assert _sign_in("bob@example.com", ip=IP_B).status_code == 200


@pytest.mark.django_db
def test_successful_sign_ins_do_not_count_against_the_account(rates):
    rates(login_account="2/min")
    UserFactory(email="ann@example.com")
    for _ in range(5):
        assert _sign_in("ann@example.com").status_code == 200
    assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    _assert_throttled(_sign_in("ann@example.com"))
    assert OutstandingToken.objects.count() == 5


@pytest.mark.django_db
def test_the_account_is_the_email_whatever_its_letter_case(rates):
    rates(login_account="2/min")
    UserFactory(email="ann@example.com")
    assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    assert_error(_sign_in("  ANN@Example.COM ", "wrong", ip=IP_B), 401, "no_active_account")
    _assert_throttled(_sign_in("Ann@EXAMPLE.com"))
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_email_is_limited_like_a_known_one(rates):
    # Otherwise the 429 would tell which addresses have an account.
    rates(login_account="1/min")
    assert_error(_sign_in("nobody@example.com", "wrong"), 401, "no_active_account")
    _assert_throttled(_sign_in("nobody@example.com", "wrong"))


@pytest.mark.django_db
def test_a_throttled_account_leaves_other_accounts_signing_in(rates):
    rates(login_account="1/min")
    UserFactory(email="ann@example.com")
    UserFactory(email="bob@example.com")
    assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    _assert_throttled(_sign_in("ann@example.com"))

    assert _sign_in("bob@example.com", ip=IP_B).status_code == 200
    assert _sign_in("bob@example.com", ip=IP_A).status_code == 200


@pytest.mark.django_db
def test_past_the_ip_limit_every_account_is_429_from_that_ip_only(rates):
    rates(login_ip="3/min")
    UserFactory(email="ann@example.com")
    for n in range(3):
        assert_error(_sign_in(f"guess{n}@example.com", "wrong"), 401, "no_active_account")

    _assert_throttled(_sign_in("ann@example.com"))
    assert OutstandingToken.objects.count() == 0
    assert _sign_in("ann@example.com", ip=IP_B).status_code == 200


@pytest.mark.django_db
def test_token_refresh_is_not_limited_by_sign_in_failures(rates):
    rates(login_account="1/min", login_ip="1/min")
    UserFactory(email="ann@example.com")
    pair = _sign_in("ann@example.com").json()
    assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    _assert_throttled(_sign_in("ann@example.com"))

    for _ in range(3):
        response = APIClient(REMOTE_ADDR=IP_A).post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
        assert response.status_code == 200
        pair = response.json()


def _fail_open_count(scope: str) -> float:
    return REGISTRY.get_sample_value("throttle_fail_open_total", {"scope": scope}) or 0


@pytest.mark.django_db
def test_with_redis_down_sign_in_fails_open(redis_down, rates):
    rates(login_account="1/min", login_ip="1/min")
    UserFactory(email="ann@example.com")
    before = {scope: _fail_open_count(scope) for scope in ("login_account", "login_ip")}
    for _ in range(2):
        assert_error(_sign_in("ann@example.com", "wrong"), 401, "no_active_account")
    assert _sign_in("ann@example.com").status_code == 200
    assert _fail_open_count("login_account") == before["login_account"] + 3
    assert _fail_open_count("login_ip") == before["login_ip"] + 3
