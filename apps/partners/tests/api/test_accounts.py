import pytest

from apps.accounts.models import User
from apps.customers.models import Customer
from apps.partners.models import PartnerCustomer, PartnerProvider
from apps.partners.selectors import NOT_FOUND
from apps.partners.tests.conftest import own_customer
from apps.providers.models import Provider
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "model"), [("/v1/customers", Customer), ("/v1/service-providers", Provider)], ids=["customer", "provider"]
)
def test_create_then_get_an_account_without_a_password(partner, path, model):
    response = partner.post(path, {"name": "Ada Lovelace", "email": "Ada@Example.com"})

    assert response.status_code == 201
    account = model.objects.select_related("user").get()
    assert response.json() == {
        "id": str(account.pk),
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "created_at": account.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": account.updated_at.isoformat().replace("+00:00", "Z"),
    }
    assert account.user.name == "Ada Lovelace"
    # Nobody can sign in with it: the partner acts for the account.
    assert not account.user.has_usable_password()

    fetched = partner.get(f"{path}/{account.pk}")
    assert fetched.status_code == 200
    assert fetched.json() == response.json()


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/service-providers"])
def test_an_email_its_owner_signs_in_with_is_409_and_creates_nothing(partner, path):
    ProviderFactory(user__email="taken@example.com")
    assert User.objects.get().has_usable_password()

    response = partner.post(path, {"name": "Someone", "email": "TAKEN@example.com"})

    assert response.status_code == 409
    assert response.json() == {"status": 409, "message": "An account with this email already exists."}
    assert User.objects.count() == 1
    assert Customer.objects.count() == 0
    assert Provider.objects.count() == 1
    assert not PartnerCustomer.objects.exists() and not PartnerProvider.objects.exists()


@pytest.mark.parametrize(
    ("path", "model", "link"),
    [("/v1/customers", Customer, PartnerCustomer), ("/v1/service-providers", Provider, PartnerProvider)],
    ids=["customer", "provider"],
)
def test_creation_is_idempotent_per_partner(partner, other_partner, path, model, link):
    first = partner.post(path, {"name": "Ada", "email": "ada@example.com"})
    again = partner.post(path, {"name": "Ada L.", "email": "ADA@example.com"})

    # Homerun answers every creation 201; a re-run gets the record it made the first time.
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert model.objects.count() == 1
    assert link.objects.filter(partner=partner.key.partner).count() == 1

    # Another partner with the same address (nobody signed in to it) gets its own link to it,
    # and may read it; the first partner's record is unchanged.
    theirs = other_partner.post(path, {"name": "Ada", "email": "ada@example.com"})
    assert theirs.status_code == 201
    assert theirs.json()["id"] == first.json()["id"]
    assert link.objects.count() == 2
    assert other_partner.get(f"{path}/{theirs.json()['id']}").status_code == 200


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/service-providers"])
def test_invalid_bodies_are_400_with_field_details_and_create_nothing(partner, path):
    response = partner.post(path, {"name": "", "email": "not-an-email"})

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "message": "The request is invalid.",
        "details": [
            {"field": "name", "error": "This field may not be blank."},
            {"field": "email", "error": "Enter a valid email address."},
        ],
    }
    wrong_type = partner.post(path, {"name": 5, "email": "a@example.com"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["details"] == [{"field": "name", "error": "Must be a JSON string."}]
    assert User.objects.count() == 0


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/service-providers"])
@pytest.mark.parametrize("account_id", ["9b7c5a8e-0000-4000-8000-000000000000", "not-a-uuid"])
def test_unknown_account_is_404_with_homeruns_text(partner, path, account_id):
    response = partner.get(f"{path}/{account_id}")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": NOT_FOUND}


def test_a_customer_id_is_not_a_provider_id(partner):
    customer = own_customer(partner.key)

    assert partner.get(f"/v1/service-providers/{customer.pk}").status_code == 404
    assert partner.get(f"/v1/customers/{customer.pk}").status_code == 200
