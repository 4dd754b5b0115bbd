import pytest

from apps.accounts.models import User
from apps.customers.models import Customer
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import CustomerFactory, UserFactory

URL = "/api/v1/customers/"
STRONG = "a-long-enough-secret"


@pytest.mark.django_db
def test_register_creates_a_customer(api_client):
    response = api_client.post(URL, {"email": "Ann@Example.com", "password": STRONG, "name": "Ann"}, format="json")
    assert response.status_code == 201
    customer = Customer.objects.select_related("user").get()
    assert response.json() == {
        "id": str(customer.pk),
        "email": "ann@example.com",
        "email_verified": False,
        "email_verified_at": None,
        "name": "Ann",
        "locale": "en",
        "created_at": customer.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert customer.user.check_password(STRONG)
    assert customer.user.roles == ["customer"]


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["ann@example.com", "ANN@EXAMPLE.COM", "Ann@example.com"])
def test_register_with_a_taken_email_is_409_and_writes_nothing(api_client, email):
    UserFactory(email="ann@example.com")
    response = api_client.post(URL, {"email": email, "password": STRONG, "name": "Ann"}, format="json")
    assert_error(response, 409, "already_exists", attr=None, type_="client_error")
    assert User.objects.count() == 1
    assert Customer.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("password", "password_too_common"),
        ("48201938475612", "password_entirely_numeric"),
        ("ann@example.com", "password_too_similar"),
    ],
)
def test_register_with_a_weak_password_is_400_and_writes_nothing(api_client, password, code):
    response = api_client.post(URL, {"email": "ann@example.com", "password": password, "name": "Ann"}, format="json")
    assert_error(response, 400, code, attr="password", type_="validation_error")
    assert User.objects.count() == 0
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_me_returns_the_own_profile(customer, customer_client):
    response = customer_client.get(URL + "me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(customer.pk),
        "email": customer.user.email,
        "email_verified": False,
        "email_verified_at": None,
        "name": customer.user.name,
        "locale": "en",
        "created_at": customer.created_at.isoformat().replace("+00:00", "Z"),
    }


@pytest.mark.django_db
def test_me_is_403_for_a_provider_and_401_for_anonymous(provider_client, api_client):
    assert_error(provider_client.get(URL + "me/"), 403, "permission_denied")
    assert_error(api_client.get(URL + "me/"), 401, "not_authenticated")


@pytest.mark.django_db
def test_detail_is_visible_to_self_and_staff(customer, customer_client, staff_client):
    for client in (customer_client, staff_client):
        response = client.get(f"{URL}{customer.pk}/")
        assert response.status_code == 200
        assert response.json()["id"] == str(customer.pk)
        assert response.json()["email"] == customer.user.email


@pytest.mark.django_db
def test_detail_of_another_customer_is_404_not_403(customer, provider_client):
    other = CustomerFactory()
    assert_error(auth_client(other.user).get(f"{URL}{customer.pk}/"), 404, "not_found")
    assert_error(provider_client.get(f"{URL}{customer.pk}/"), 404, "not_found")


@pytest.mark.django_db
def test_detail_of_an_unknown_customer_is_404(staff_client):
    assert_error(staff_client.get(f"{URL}00000000-0000-0000-0000-000000000000/"), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Eve\r\nBcc: all@example.com", "Eve\nSmith", "Eve\x1b[31m"])
def test_register_refuses_control_characters_in_the_name_and_writes_nothing(api_client, name):
    response = api_client.post(URL, {"email": "eve@example.com", "password": STRONG, "name": name}, format="json")
    assert response.status_code == 400
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("control_characters", "name")]
    assert not User.objects.filter(email="eve@example.com").exists()
