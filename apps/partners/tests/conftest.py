import pytest
from rest_framework.test import APIClient

from apps.partners.models import PartnerCustomer, PartnerProvider
from apps.ratings.tests.conftest import events  # noqa: F401 - the ratings events fixture
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory, partner_key_create


def key_client(secret: str, key=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    client.key = key
    return client


def own_customer(key, **kwargs):
    """A customer the key's partner created (as through POST /v1/customers)."""
    customer = CustomerFactory(**kwargs)
    PartnerCustomer.objects.create(partner=key.partner, customer=customer)
    return customer


def own_provider(key, **kwargs):
    provider = ProviderFactory(**kwargs)
    PartnerProvider.objects.create(partner=key.partner, provider=provider)
    return provider


@pytest.fixture
def partner_key(db):
    return partner_key_create()


@pytest.fixture
def partner(partner_key) -> APIClient:
    return key_client(partner_key[1], partner_key[0])


@pytest.fixture
def other_partner(db) -> APIClient:
    key, secret = partner_key_create(name="Other marketplace")
    return key_client(secret, key)


@pytest.fixture
def customer(partner_key):
    return own_customer(partner_key[0])


@pytest.fixture
def provider(partner_key):
    return own_provider(partner_key[0])


@pytest.fixture
def jwt_client(db) -> APIClient:
    return auth_client(CustomerFactory().user)
