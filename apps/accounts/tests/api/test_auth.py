import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from conftest import auth_client
from tests.errors import assert_error
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, UserFactory

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"


def _obtain(client, email, password=DEFAULT_PASSWORD):
    return client.post(TOKEN_URL, {"email": email, "password": password}, format="json")


@pytest.mark.django_db
def test_token_obtain_returns_a_pair_that_authenticates(api_client):
    customer = CustomerFactory(user__email="ann@example.com")
    response = _obtain(api_client, "ann@example.com")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    me = api_client.get("/api/v1/customers/me/")
    assert me.status_code == 200
    assert me.json()["id"] == str(customer.pk)


@pytest.mark.django_db
def test_token_obtain_ignores_email_case(api_client):
    UserFactory(email="ann@example.com")
    response = _obtain(api_client, "  ANN@Example.COM ")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.django_db
def test_token_obtain_wrong_password_is_401_in_the_error_shape(api_client):
    UserFactory(email="ann@example.com")
    response = _obtain(api_client, "ann@example.com", "not-the-password")
    assert_error(response, 401, "no_active_account", attr=None, type_="client_error")


@pytest.mark.django_db
def test_token_obtain_unknown_email_is_401(api_client):
    response = _obtain(api_client, "nobody@example.com")
    assert_error(response, 401, "no_active_account", attr=None, type_="client_error")


@pytest.mark.django_db
def test_token_obtain_inactive_user_is_401(api_client):
    UserFactory(email="ann@example.com", is_active=False)
    assert_error(_obtain(api_client, "ann@example.com"), 401, "no_active_account")


@pytest.mark.django_db
def test_refresh_rotates_and_the_used_refresh_token_is_rejected(api_client):
    UserFactory(email="ann@example.com")
    first = _obtain(api_client, "ann@example.com").json()

    rotated = api_client.post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    pair = rotated.json()
    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != first["refresh"]
    assert BlacklistedToken.objects.count() == 1

    reused = api_client.post(REFRESH_URL, {"refresh": first["refresh"]}, format="json")
    assert_error(reused, 401, "token_not_valid", type_="client_error")

    again = api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 200


@pytest.mark.django_db
def test_refresh_with_garbage_is_401(api_client):
    assert_error(api_client.post(REFRESH_URL, {"refresh": "garbage"}, format="json"), 401, "token_not_valid")


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token(api_client):
    user = UserFactory(email="ann@example.com")
    pair = _obtain(api_client, "ann@example.com").json()

    response = auth_client(user).post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 204
    assert response.content == b""
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1

    reused = api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
    assert_error(reused, 401, "token_not_valid")


@pytest.mark.django_db
def test_logout_with_another_users_refresh_token_is_rejected_and_blacklists_nothing(api_client):
    UserFactory(email="ann@example.com")
    other = UserFactory(email="bob@example.com")
    anns = _obtain(api_client, "ann@example.com").json()

    response = auth_client(other).post(LOGOUT_URL, {"refresh": anns["refresh"]}, format="json")
    assert_error(response, 400, "token_not_valid", attr=None)
    assert BlacklistedToken.objects.count() == 0
    assert api_client.post(REFRESH_URL, {"refresh": anns["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db
def test_logout_requires_authentication(api_client):
    UserFactory(email="ann@example.com")
    pair = _obtain(api_client, "ann@example.com").json()
    assert_error(api_client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json"), 401, "not_authenticated")
    assert BlacklistedToken.objects.count() == 0


@pytest.mark.django_db
def test_logout_without_refresh_is_400(customer_client):
    assert_error(customer_client.post(LOGOUT_URL, {}, format="json"), 400, "required", attr="refresh")
